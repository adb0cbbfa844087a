/* Shortest round-trip text of doubles, for distance matrices written as text (lsmat).
 *
 * Each value gets the fewest significant digits that read back as the same double, and of
 * those the digits nearest to it (ties to even): the digits of Python's repr(). The layout is
 * the one soilbiome's lsmat files have had since they were formatted by Arrow's float-to-string
 * cast (double-conversion's ToShortest): positional notation for decimal exponents -6..9
 * ("0.000001", "123456789.5", whole numbers without a point: "0", "100"), otherwise "d.ddde+X"
 * / "d.ddde-X" without zero padding ("1e-7", "1.5e+10"); "-0", "nan", "inf", "-inf".
 *
 * The digits come from the Ryu method: U. Adams, "Ryu: fast float-to-string conversion",
 * PLDI 2018, doi:10.1145/3192366.3192369. This file follows the paper and the steps of its
 * reference implementation (github.com/ulfjack/ryu, d2s.c, Apache-2.0 / BSL-1.0); the code is
 * written for soilbiome. The two tables of 125-bit powers of five are computed exactly in
 * Python (soilbiome.io.float_text) and handed over once by sb_float_tables().
 *
 * Plain C with unsigned __int128 (GCC, Clang); no Python API; loaded with ctypes, so the GIL is
 * released while a block of rows is formatted.
 */
#include <stdint.h>
#include <string.h>

#define POW5_INV_COUNT 342
#define POW5_COUNT 326
#define POW5_BITS 125 /* both tables */

typedef unsigned __int128 u128;

static uint64_t pow5_inv[POW5_INV_COUNT][2]; /* ceil-ish 2^k / 5^q, low word first */
static uint64_t pow5[POW5_COUNT][2];         /* 5^i cut to its top 125 bits */
static int tables_ready = 0;

int sb_float_tables(const uint64_t *inv, const uint64_t *pos) {
    memcpy(pow5_inv, inv, sizeof pow5_inv);
    memcpy(pow5, pos, sizeof pow5);
    tables_ready = 1;
    return POW5_INV_COUNT * 1000 + POW5_COUNT;
}

/* floor(log10(2^e)), floor(log10(5^e)), and the bit length of 5^e, for the exponents used */
static inline uint32_t log10_pow2(int32_t e) { return ((uint32_t)e * 78913u) >> 18; }
static inline uint32_t log10_pow5(int32_t e) { return ((uint32_t)e * 732923u) >> 20; }
static inline int32_t pow5_bits(int32_t e) { return (int32_t)((((uint32_t)e * 1217359u) >> 19) + 1); }

/* how many times 5 divides v (v > 0) */
static inline uint32_t fives_in(uint64_t v) {
    uint32_t n = 0;
    while (v % 5 == 0) {
        v /= 5;
        ++n;
    }
    return n;
}

/* (m * mul) >> j for a 125-bit mul (two words) and 64 < j */
static inline uint64_t mul_shift(uint64_t m, const uint64_t *mul, int32_t j) {
    u128 low = (u128)m * mul[0];
    u128 high = (u128)m * mul[1];
    return (uint64_t)(((low >> 64) + high) >> (j - 64));
}

/* One digit off the value and both ends of its interval, keeping the digit dropped from the
 * value and whether every digit dropped from it before was a zero. */
static inline void drop_digit(uint64_t *at, uint64_t *hi, uint64_t *lo, uint32_t *last,
                              int *at_exact) {
    *at_exact &= *last == 0;
    *last = (uint32_t)(*at % 10);
    *at /= 10;
    *hi /= 10;
    *lo /= 10;
}

/* The shortest decimal digits of a finite positive double: value = digits * 10^exp10. */
static void shortest(uint64_t fraction, uint32_t biased, uint64_t *digits, int32_t *exp10) {
    int32_t e2;
    uint64_t m2;
    if (biased == 0) { /* subnormal; two extra bits for the interval's ends */
        e2 = 1 - 1023 - 52 - 2;
        m2 = fraction;
    } else {
        e2 = (int32_t)biased - 1023 - 52 - 2;
        m2 = (1ull << 52) | fraction;
    }
    /* whole numbers below 2^53: their digits are the integer's, trailing zeros moved out */
    if (biased != 0 && e2 + 2 <= 0 && e2 + 2 >= -52) {
        int32_t shift = -(e2 + 2);
        if ((m2 & ((1ull << shift) - 1)) == 0) {
            uint64_t v = m2 >> shift;
            int32_t e = 0;
            while (v % 10 == 0) {
                v /= 10;
                ++e;
            }
            *digits = v;
            *exp10 = e;
            return;
        }
    }
    const int accept_ends = (m2 & 1) == 0; /* round-to-even: an even mantissa owns its ends */
    const uint64_t mid = 4 * m2;           /* the value, and its interval (lower end closer */
    const uint32_t lower_gap = fraction != 0 || biased <= 1; /* at powers of two) */
    uint64_t lo, hi, at;
    int32_t e10;
    int lo_exact = 0, at_exact = 0; /* the dropped part of lo / at is all zeros */
    if (e2 >= 0) {
        const uint32_t q = log10_pow2(e2) - (e2 > 3);
        e10 = (int32_t)q;
        const int32_t k = POW5_BITS + pow5_bits((int32_t)q) - 1;
        const int32_t i = -e2 + (int32_t)q + k;
        at = mul_shift(mid, pow5_inv[q], i);
        hi = mul_shift(mid + 2, pow5_inv[q], i);
        lo = mul_shift(mid - 1 - lower_gap, pow5_inv[q], i);
        if (q <= 21) { /* only one of the three can be a multiple of 5 */
            if (mid % 5 == 0) {
                at_exact = fives_in(mid) >= q;
            } else if (accept_ends) {
                lo_exact = fives_in(mid - 1 - lower_gap) >= q;
            } else {
                hi -= fives_in(mid + 2) >= q;
            }
        }
    } else {
        const uint32_t q = log10_pow5(-e2) - (-e2 > 1);
        e10 = (int32_t)q + e2;
        const int32_t i = -e2 - (int32_t)q;
        const int32_t k = pow5_bits(i) - POW5_BITS;
        const int32_t j = (int32_t)q - k;
        at = mul_shift(mid, pow5[i], j);
        hi = mul_shift(mid + 2, pow5[i], j);
        lo = mul_shift(mid - 1 - lower_gap, pow5[i], j);
        if (q <= 1) { /* mid has two trailing zero bits, mid + 2 one */
            at_exact = 1;
            if (accept_ends) {
                lo_exact = lower_gap == 1;
            } else {
                --hi;
            }
        } else if (q < 63) {
            at_exact = (mid & ((1ull << q) - 1)) == 0;
        }
    }
    /* drop digits while the interval still holds a shorter number */
    int32_t dropped = 0;
    uint32_t last = 0; /* the last digit dropped from at */
    uint64_t out;
    if (lo_exact || at_exact) { /* rare: an end or the value is exact; track ties */
        while (hi / 10 > lo / 10) {
            lo_exact &= lo % 10 == 0;
            drop_digit(&at, &hi, &lo, &last, &at_exact);
            ++dropped;
        }
        if (lo_exact) {
            while (lo % 10 == 0) {
                drop_digit(&at, &hi, &lo, &last, &at_exact);
                ++dropped;
            }
        }
        if (at_exact && last == 5 && at % 2 == 0) {
            last = 4; /* exactly half way: to even */
        }
        out = at + ((at == lo && (!accept_ends || !lo_exact)) || last >= 5);
    } else {
        int round_up = 0;
        if (hi / 100 > lo / 100) {
            round_up = at % 100 >= 50;
            at /= 100;
            hi /= 100;
            lo /= 100;
            dropped += 2;
        }
        while (hi / 10 > lo / 10) {
            round_up = at % 10 >= 5;
            at /= 10;
            hi /= 10;
            lo /= 10;
            ++dropped;
        }
        out = at + (at == lo || round_up);
    }
    *digits = out;
    *exp10 = e10 + dropped;
}

/* "00".."99" */
static const char PAIRS[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

static inline int digit_count(uint64_t v) {
    int n = 1;
    while (v >= 10000) {
        v /= 10000;
        n += 4;
    }
    if (v >= 100) {
        v /= 100;
        n += 2;
    }
    return n + (v >= 10);
}

/* the decimal digits of v, ending just before end */
static inline void put_digits(uint64_t v, char *end) {
    while (v >= 100) {
        const uint32_t pair = (uint32_t)(v % 100);
        v /= 100;
        end -= 2;
        memcpy(end, PAIRS + 2 * pair, 2);
    }
    if (v >= 10) {
        memcpy(end - 2, PAIRS + 2 * v, 2);
    } else {
        end[-1] = (char)('0' + v);
    }
}

/* One double as text at p; returns the bytes written (at most 25). */
static int format_double(double value, char *p) {
    uint64_t bits;
    memcpy(&bits, &value, sizeof bits);
    const int negative = (int)(bits >> 63);
    const uint64_t fraction = bits & ((1ull << 52) - 1);
    const uint32_t biased = (uint32_t)((bits >> 52) & 0x7ff);
    char *start = p;
    if (biased == 0x7ff) {
        if (fraction != 0) {
            memcpy(p, "nan", 3);
            return 3;
        }
        if (negative) *p++ = '-';
        memcpy(p, "inf", 3);
        return (int)(p - start) + 3;
    }
    if (negative) *p++ = '-';
    if (biased == 0 && fraction == 0) {
        *p++ = '0';
        return (int)(p - start);
    }
    uint64_t digits;
    int32_t exp10;
    shortest(fraction, biased, &digits, &exp10);
    const int n = digit_count(digits);
    const int32_t sci = exp10 + n - 1; /* the exponent in d.ddd x 10^sci */
    if (sci >= -6 && sci < 10) {
        if (sci < 0) { /* 0.000ddd */
            *p++ = '0';
            *p++ = '.';
            for (int32_t z = 0; z < -sci - 1; ++z) *p++ = '0';
            p += n;
            put_digits(digits, p);
        } else if (n <= sci + 1) { /* ddd000 */
            p += n;
            put_digits(digits, p);
            for (int32_t z = 0; z < sci + 1 - n; ++z) *p++ = '0';
        } else { /* ddd.ddd */
            put_digits(digits, p + n);
            memmove(p + sci + 2, p + sci + 1, (size_t)(n - sci - 1));
            p[sci + 1] = '.';
            p += n + 1;
        }
        return (int)(p - start);
    }
    put_digits(digits, p + 1 + n); /* d.ddd, the first digit then moved before the point */
    p[0] = p[1];
    if (n > 1) {
        p[1] = '.';
        p += n + 1;
    } else {
        p += 1;
    }
    *p++ = 'e';
    int32_t e = sci;
    *p++ = e < 0 ? '-' : '+';
    if (e < 0) e = -e;
    if (e >= 100) *p++ = (char)('0' + e / 100);
    if (e >= 10) *p++ = (char)('0' + e / 10 % 10);
    *p++ = (char)('0' + e % 10);
    return (int)(p - start);
}

/* Bytes one value can take: "-0.0000012345678901234567" is 25. */
#define VALUE_MAX 25

int64_t sb_value_max(void) { return VALUE_MAX; }

/* `rows` lines "id<TAB>v1<TAB>...<TAB>v_cols<LF>" of a row-major block of doubles into out
 * (room for the ids' bytes + rows * (cols * (VALUE_MAX + 1) + 1)); id r is
 * ids[id_ends[r - 1] .. id_ends[r]) (id_ends[-1] taken as 0). Returns the bytes written, or
 * -1 before sb_float_tables(). */
int64_t sb_lsmat_rows(const double *values, int64_t rows, int64_t cols, const char *ids,
                      const int64_t *id_ends, char *out) {
    if (!tables_ready) return -1;
    char *p = out;
    int64_t from = 0;
    for (int64_t r = 0; r < rows; ++r) {
        memcpy(p, ids + from, (size_t)(id_ends[r] - from));
        p += id_ends[r] - from;
        from = id_ends[r];
        const double *row = values + r * cols;
        for (int64_t c = 0; c < cols; ++c) {
            *p++ = '\t';
            p += format_double(row[c], p);
        }
        *p++ = '\n';
    }
    return (int64_t)(p - out);
}

/* n doubles, each followed by `sep` (one byte), into out (n * (VALUE_MAX + 1) bytes). */
int64_t sb_format_doubles(const double *values, int64_t n, char sep, char *out) {
    if (!tables_ready) return -1;
    char *p = out;
    for (int64_t k = 0; k < n; ++k) {
        p += format_double(values[k], p);
        *p++ = sep;
    }
    return (int64_t)(p - out);
}
