/*
 * soilbiome's Newick reader in C: the rules of soilbiome.io.newick.parse_flat (the one
 * parser, in Python), run on plain ASCII text without a Python object per token.
 *
 * sb_newick_parse reads one tree into postorder arrays: the parent of each node, its branch
 * length and whether one was given, and its label (written, unescaped, into one buffer with a
 * NUL after each). It takes only what it can read exactly as the Python reader does: text of
 * printable ASCII, tabs and line ends, and branch lengths written as plain decimals. For
 * anything else -- every malformed tree, a length such as "inf" or "1_0", a control or
 * non-ASCII character -- it returns SB_NEWICK_DECLINED and writes nothing that is used, and
 * the caller reads the text with the Python reader, which accepts it or names the problem.
 *
 * Loaded with ctypes by soilbiome.io.newick_native; built by setup.py (optional).
 */
#define _GNU_SOURCE
#include <locale.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SB_NEWICK_DECLINED (-1)
#define SB_NEWICK_NO_MEMORY (-2)

enum { HAS_LENGTH = 1, HAS_NAME = 2 };

/* Character classes: whitespace (Python's \s within the characters accepted here), and the
 * characters that end an unquoted label or a length (Python: the class (),:;[]' ). */
enum { SPACE = 1, SPECIAL = 2 };
static const unsigned char char_class[256] = {
    ['\t'] = SPACE, ['\n'] = SPACE, ['\r'] = SPACE, [' '] = SPACE,
    ['('] = SPECIAL, [')'] = SPECIAL, [','] = SPECIAL, [':'] = SPECIAL, [';'] = SPECIAL,
    ['['] = SPECIAL, [']'] = SPECIAL, ['\''] = SPECIAL,
};

#define is_space(c) (char_class[(unsigned char)(c)] == SPACE)
#define is_special(c) (char_class[(unsigned char)(c)] == SPECIAL)

/* Exact powers of ten as doubles (10^22 is the largest). */
static const double pow10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                 1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/*
 * The value of s[0..n) when it is a plain decimal, [+-]? (d+ (. d*)? | . d+) ([eE] [+-]? d+)?,
 * correctly rounded as Python's float() rounds it; 0 when it is not one. With at most 15
 * significant digits and a decimal exponent within +-22, the digits and the power of ten are
 * both exact doubles and one multiplication or division rounds correctly (Clinger 1990, "How
 * to read floating point numbers accurately"); otherwise strtod (correctly rounded in glibc)
 * in the C locale.
 */
static int read_length(const char *s, int64_t n, locale_t c_locale, double *out) {
    int64_t i = 0, digits = 0, significant = 0, exp10 = 0;
    uint64_t mantissa = 0;
    int negative = 0;
    if (i < n && (s[i] == '+' || s[i] == '-')) negative = s[i++] == '-';
    for (int point = 0; i < n; i++) {
        if (s[i] == '.' && !point) {
            point = 1;
            continue;
        }
        if (s[i] < '0' || s[i] > '9') break;
        digits++;
        if (significant || s[i] != '0') {
            if (++significant <= 15) mantissa = mantissa * 10 + (uint64_t)(s[i] - '0');
        }
        if (point) exp10--;
        if (significant > 15 && !point) exp10++;  /* a digit left out before the point */
    }
    if (!digits) return 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        int64_t exp_digits = 0, value = 0;
        int exp_negative = 0;
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) exp_negative = s[i++] == '-';
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
            exp_digits++;
            if (value < 100000) value = value * 10 + (s[i] - '0');
        }
        if (!exp_digits) return 0;
        exp10 += exp_negative ? -value : value;
    }
    if (i != n) return 0;
    if (significant <= 15 && exp10 >= -22 && exp10 <= 22) {
        double v = (double)mantissa;
        v = exp10 < 0 ? v / pow10[-exp10] : v * pow10[exp10];
        *out = negative ? -v : v;
        return 1;
    }
    char buf[128];
    if (n >= (int64_t)sizeof buf) return 0;
    memcpy(buf, s, (size_t)n);
    buf[n] = '\0';
    *out = strtod_l(buf, NULL, c_locale);
    return 1;
}

/*
 * Parse text[0..n) (the caller checked it is ASCII). cap: at least the number of nodes
 * (1 + the count of '(' and ','). Outputs, in postorder (children left to right, then their
 * parent; the root last), cap entries each: parent (-1 for the root), length, flags
 * (HAS_LENGTH, HAS_NAME); names: every label in postorder, each followed by a NUL (at most
 * n + cap bytes); *names_size: the bytes written there. underscores: read '_' in unquoted
 * labels as a space. Returns the number of nodes, SB_NEWICK_DECLINED or SB_NEWICK_NO_MEMORY.
 */
int64_t sb_newick_parse(const char *text, int64_t n, int64_t cap, int underscores,
                        int64_t *parent, double *length, uint8_t *flags, char *names,
                        int64_t *names_size) {
    for (int64_t i = 0; i < n; i++) {  /* control and non-ASCII characters: the Python reader */
        unsigned char c = (unsigned char)text[i];
        if (c >= 0x7f || (c < 0x20 && !is_space(c))) return SB_NEWICK_DECLINED;
    }
    /* by creation (preorder) number: the parent, and (once finished) the postorder rank.
     * A node's label and length are set only while it is the current node, and it stays
     * current until it is finished ('(' needs a node without either), so they are kept in
     * cur_* and written, in postorder, when it is finished. */
    int64_t *up = malloc(sizeof(int64_t) * (size_t)cap);
    int64_t *post = malloc(sizeof(int64_t) * (size_t)cap);
    locale_t c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    int64_t result = SB_NEWICK_DECLINED;
    if (!up || !post || !c_locale) {
        result = SB_NEWICK_NO_MEMORY;
        goto done;
    }
    int64_t nodes = 1, current = 0, finished = 0, written = 0, i = 0;
    int64_t cur_from = 0, cur_to = 0;
    double cur_length = 0.0;
    uint8_t cur_flags = 0;
    int cur_quoted = 0, fresh = 1;
    up[0] = -1;
#define NEW_NODE(p)                                       \
    do {                                                  \
        if (nodes >= cap) goto done;                      \
        up[nodes] = (p);                                  \
        current = nodes++;                                \
    } while (0)
    for (;;) {
        while (i < n && is_space(text[i])) i++;
        if (i >= n) goto done;  /* no ';' */
        char c = text[i];
        if (c == ',' || c == ')' || c == ';') {  /* the current node is finished */
            if (c == ';' ? current != 0 : up[current] < 0) goto done;
            post[current] = finished;
            parent[finished] = up[current];  /* a creation number until the end */
            length[finished] = cur_length;
            flags[finished] = cur_flags;
            if (cur_flags & HAS_NAME) {
                for (int64_t j = cur_from; j < cur_to; j++) {
                    char ch = text[j];
                    if (cur_quoted) {
                        if (ch == '\'') j++;  /* '' -> ' */
                    } else if (underscores && ch == '_') {
                        ch = ' ';
                    }
                    names[written++] = ch;
                }
                names[written++] = '\0';
            }
            finished++;
            cur_flags = 0;
            cur_length = 0.0;
            i++;
            if (c == ',') {
                NEW_NODE(up[current]);
                fresh = 1;
            } else if (c == ')') {
                current = up[current];
                fresh = 0;
            } else {
                break;
            }
        } else if (c == '(') {
            if (!fresh) goto done;
            NEW_NODE(current);
            i++;
        } else if (c == ':') {  /* whitespace and comments may come before the number */
            i++;
            for (;;) {
                if (i < n && is_space(text[i])) {
                    i++;
                } else if (i < n && text[i] == '[') {
                    const char *end = memchr(text + i + 1, ']', (size_t)(n - i - 1));
                    if (!end) goto done;
                    i = end - text + 1;
                } else {
                    break;
                }
            }
            int64_t start = i;
            while (i < n && !char_class[(unsigned char)text[i]]) i++;
            if (cur_flags & HAS_LENGTH) goto done;
            if (!read_length(text + start, i - start, c_locale, &cur_length)) goto done;
            cur_flags |= HAS_LENGTH;
            fresh = 0;
        } else if (c == '[') {  /* a comment */
            const char *end = memchr(text + i + 1, ']', (size_t)(n - i - 1));
            if (!end) goto done;
            i = end - text + 1;
        } else if (c == '\'') {  /* a quoted label; '' is a quote inside it */
            int64_t start = ++i;
            for (;;) {
                const char *q = memchr(text + i, '\'', (size_t)(n - i));
                if (!q) goto done;
                i = q - text;
                if (i + 1 < n && text[i + 1] == '\'') { i += 2; continue; }
                break;
            }
            if (cur_flags) goto done;  /* already a label or a length */
            cur_from = start;
            cur_to = i;
            cur_quoted = 1;
            cur_flags = HAS_NAME;
            fresh = 0;
            i++;
        } else if (c == ']') {
            goto done;
        } else {  /* an unquoted label: to the next special character, trailing space cut */
            int64_t start = i;
            while (i < n && !is_special(text[i])) i++;
            int64_t end = i;
            while (end > start && is_space(text[end - 1])) end--;
            if (cur_flags) goto done;
            cur_from = start;
            cur_to = end;
            cur_quoted = 0;
            cur_flags = HAS_NAME;
            fresh = 0;
        }
    }
    for (;;) {  /* after the ';': only whitespace and comments */
        while (i < n && is_space(text[i])) i++;
        if (i < n && text[i] == '[') {
            const char *end = memchr(text + i + 1, ']', (size_t)(n - i - 1));
            if (!end) goto done;
            i = end - text + 1;
            continue;
        }
        break;
    }
    if (i < n) goto done;
    for (int64_t k = 0; k < finished; k++)  /* parents' creation numbers -> postorder ranks */
        if (parent[k] >= 0) parent[k] = post[parent[k]];
    *names_size = written;
    result = finished;
done:
#undef NEW_NODE
    free(up);
    free(post);
    if (c_locale) freelocale(c_locale);
    return result;
}
