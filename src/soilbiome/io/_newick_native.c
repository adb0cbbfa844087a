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

static int is_space(unsigned char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Ends an unquoted label or a length (Python: the class (),:;[]' ). */
static int is_special(unsigned char c) {
    return c == '(' || c == ')' || c == ',' || c == ':' || c == ';' || c == '[' || c == ']' ||
           c == '\'';
}

/* A plain decimal: [+-]? (d+ (. d*)? | . d+) ([eE] [+-]? d+)?, the whole of s[0..n). */
static int plain_decimal(const char *s, int64_t n) {
    int64_t i = 0, digits = 0;
    if (i < n && (s[i] == '+' || s[i] == '-')) i++;
    while (i < n && s[i] >= '0' && s[i] <= '9') { i++; digits++; }
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9') { i++; digits++; }
    }
    if (!digits) return 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        int64_t exp_digits = 0;
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) i++;
        while (i < n && s[i] >= '0' && s[i] <= '9') { i++; exp_digits++; }
        if (!exp_digits) return 0;
    }
    return i == n;
}

/* The value of a plain decimal, correctly rounded as Python's float() rounds it. */
static int read_length(const char *s, int64_t n, locale_t c_locale, double *out) {
    char buf[128];
    if (n <= 0 || n >= (int64_t)sizeof buf || !plain_decimal(s, n)) return 0;
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
        if (c >= 0x7f || (c < 0x20 && c != '\t' && c != '\n' && c != '\r'))
            return SB_NEWICK_DECLINED;
    }
    /* by creation (preorder) number: parent, length, flags and the label's place in text */
    int64_t *up = malloc(sizeof(int64_t) * (size_t)cap);
    int64_t *post = malloc(sizeof(int64_t) * (size_t)cap);  /* creation -> postorder */
    int64_t *from = malloc(sizeof(int64_t) * (size_t)cap), *to = malloc(sizeof(int64_t) * (size_t)cap);
    double *len = malloc(sizeof(double) * (size_t)cap);
    uint8_t *fl = malloc((size_t)cap), *quoted = malloc((size_t)cap);
    locale_t c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    int64_t result = SB_NEWICK_DECLINED;
    if (!up || !post || !from || !to || !len || !fl || !quoted || !c_locale) {
        result = SB_NEWICK_NO_MEMORY;
        goto done;
    }
    int64_t nodes = 1, current = 0, finished = 0, i = 0;
    int fresh = 1;
    up[0] = -1;
    fl[0] = 0;
#define NEW_NODE(p)                                       \
    do {                                                  \
        if (nodes >= cap) goto done;                      \
        up[nodes] = (p);                                  \
        fl[nodes] = 0;                                    \
        current = nodes++;                                \
    } while (0)
#define FINISH(node) (post[(node)] = finished, parent[finished] = (node), finished++)
    for (;;) {
        while (i < n && is_space((unsigned char)text[i])) i++;
        if (i >= n) goto done;  /* no ';' */
        char c = text[i];
        if (c == '(') {
            if (!fresh) goto done;
            NEW_NODE(current);
            i++;
        } else if (c == ',') {
            if (up[current] < 0) goto done;
            FINISH(current);
            NEW_NODE(up[current]);
            fresh = 1;
            i++;
        } else if (c == ')') {
            if (up[current] < 0) goto done;
            FINISH(current);
            current = up[current];
            fresh = 0;
            i++;
        } else if (c == ';') {
            if (current != 0) goto done;
            FINISH(0);
            i++;
            break;
        } else if (c == ':') {  /* whitespace and comments may come before the number */
            i++;
            for (;;) {
                if (i < n && is_space((unsigned char)text[i])) {
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
            while (i < n && !is_space((unsigned char)text[i]) && !is_special((unsigned char)text[i]))
                i++;
            if (fl[current] & HAS_LENGTH) goto done;
            if (!read_length(text + start, i - start, c_locale, &len[current])) goto done;
            fl[current] |= HAS_LENGTH;
            fresh = 0;
        } else if (c == '[') {  /* a comment */
            const char *end = memchr(text + i + 1, ']', (size_t)(n - i - 1));
            if (!end) goto done;
            i = end - text + 1;
        } else if (c == '\'') {  /* a quoted label; '' is a quote inside it */
            int64_t start = ++i;
            for (;;) {
                if (i >= n) goto done;
                if (text[i] == '\'') {
                    if (i + 1 < n && text[i + 1] == '\'') { i += 2; continue; }
                    break;
                }
                i++;
            }
            if (fl[current]) goto done;  /* already a label or a length */
            from[current] = start;
            to[current] = i;
            quoted[current] = 1;
            fl[current] |= HAS_NAME;
            fresh = 0;
            i++;
        } else if (c == ']') {
            goto done;
        } else {  /* an unquoted label: to the next special character, trailing space cut */
            int64_t start = i;
            while (i < n && !is_special((unsigned char)text[i])) i++;
            int64_t end = i;
            while (end > start && is_space((unsigned char)text[end - 1])) end--;
            if (fl[current]) goto done;
            from[current] = start;
            to[current] = end;
            quoted[current] = 0;
            fl[current] |= HAS_NAME;
            fresh = 0;
        }
    }
    for (;;) {  /* after the ';': only whitespace and comments */
        while (i < n && is_space((unsigned char)text[i])) i++;
        if (i < n && text[i] == '[') {
            const char *end = memchr(text + i + 1, ']', (size_t)(n - i - 1));
            if (!end) goto done;
            i = end - text + 1;
            continue;
        }
        break;
    }
    if (i < n) goto done;
    /* parent[k] holds node k's creation number: its attributes, then its parent's rank */
    int64_t written = 0;
    for (int64_t k = 0; k < finished; k++) {
        int64_t node = parent[k];
        flags[k] = fl[node];
        length[k] = (fl[node] & HAS_LENGTH) ? len[node] : 0.0;
        if (fl[node] & HAS_NAME) {
            for (int64_t j = from[node]; j < to[node]; j++) {
                char ch = text[j];
                if (quoted[node]) {
                    if (ch == '\'') j++;  /* '' -> ' */
                } else if (underscores && ch == '_') {
                    ch = ' ';
                }
                names[written++] = ch;
            }
            names[written++] = '\0';
        }
        parent[k] = up[node] >= 0 ? up[node] : -1;
    }
    for (int64_t k = 0; k < finished; k++)
        if (parent[k] >= 0) parent[k] = post[parent[k]];
    *names_size = written;
    result = finished;
done:
#undef NEW_NODE
#undef FINISH
    free(up);
    free(post);
    free(from);
    free(to);
    free(len);
    free(fl);
    free(quoted);
    if (c_locale) freelocale(c_locale);
    return result;
}
