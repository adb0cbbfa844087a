/*
 * Unweighted UniFrac kernels in C, loaded with ctypes by soilbiome.diversity.native.
 *
 * They compute exactly what the numba kernels of soilbiome.diversity.unweighted_jit and
 * soilbiome.diversity.kernels (RAW_SUM, no dense columns) compute, in the same order: the
 * presence bit sets of the samples per node, the samples holding each node and the length
 * each sample spans, the sparse columns of the rare and nearly universal branches, the 0/1
 * rows of the dense part, and the shared length of every pair of samples over the sparse
 * branches. All sums are of whole numbers below 2^52 (fixed-point branch lengths), so they
 * are exact whatever the order; the two engines give the same bits (tests/test_unifrac_native.py).
 *
 * Why C: a fresh `soilbiome beta matrix` on 1,000 samples spent ~0.35 s importing numba and
 * loading its cached kernels, more than the matrix itself (docs/diversity.md, "Speed").
 *
 * Arrays are C-contiguous int64 / uint64 / float64 as the Python side passes them; the bit
 * set of node k is bits[k * words .. k * words + words), bit (i & 63) of word (i >> 6) set when
 * sample i holds a feature below node k. Threads: OpenMP, the count passed by the caller.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

/* Bit sets of a CSR table's samples over the nodes (postorder: children before parents). */
void sb_presence(int64_t n, const int64_t *indptr, const int64_t *indices,
                 const int64_t *tip_of, const int64_t *parent, int64_t n_nodes,
                 uint64_t *bits)
{
    int64_t words = (n + 63) / 64;
    memset(bits, 0, (size_t)(n_nodes * words) * sizeof(uint64_t));
    for (int64_t i = 0; i < n; i++) {
        uint64_t b = (uint64_t)1 << (i & 63);
        int64_t w = i >> 6;
        for (int64_t p = indptr[i]; p < indptr[i + 1]; p++)
            bits[tip_of[indices[p]] * words + w] |= b;
    }
    for (int64_t node = 0; node < n_nodes; node++) {
        int64_t up = parent[node];
        if (up < 0)
            continue;
        uint64_t *dst = bits + up * words;
        const uint64_t *src = bits + node * words;
        for (int64_t w = 0; w < words; w++)
            dst[w] |= src[w];
    }
}

/* Samples holding each node (occ) and the length each sample spans (span, zeroed here). */
void sb_counts(const uint64_t *bits, int64_t n_nodes, int64_t words, int64_t n,
               const double *length, int64_t *occ, double *span, int threads)
{
    int64_t k, w;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (k = 0; k < n_nodes; k++) {
        int64_t c = 0;
        for (int64_t v = 0; v < words; v++)
            c += __builtin_popcountll(bits[k * words + v]);
        occ[k] = c;
    }
    memset(span, 0, (size_t)n * sizeof(double));
    /* one word of samples per thread: no two threads add into the same span entry */
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
    for (w = 0; w < words; w++) {
        for (int64_t node = 0; node < n_nodes; node++) {
            uint64_t x = bits[node * words + w];
            if (x == 0 || length[node] == 0.0)
                continue;
            while (x) {
                int b = __builtin_ctzll(x);
                span[w * 64 + b] += length[node];
                x &= x - 1;
            }
        }
    }
}

/* Word w of node k's bit set, inverted within the n samples if `lacking`. */
static inline uint64_t word_of(const uint64_t *bits, int64_t words, int64_t k, int64_t w,
                               int lacking, int64_t n)
{
    uint64_t x = bits[k * words + w];
    if (lacking) {
        x = ~x;
        int64_t last = n - 64 * w;
        if (last < 64)
            x &= ((uint64_t)1 << last) - 1;
    }
    return x;
}

/* Column pointers (m + 1) of the sparse part; returns the number of entries. */
int64_t sb_columns_ptr(const uint64_t *bits, int64_t words, const int64_t *nodes, int64_t m,
                       const uint8_t *lacking, int64_t n, int64_t *ptr)
{
    ptr[0] = 0;
    for (int64_t c = 0; c < m; c++) {
        int64_t t = 0;
        for (int64_t w = 0; w < words; w++)
            t += __builtin_popcountll(word_of(bits, words, nodes[c], w, lacking[c], n));
        ptr[c + 1] = ptr[c] + t;
    }
    return ptr[m];
}

/* CSC entries of the sparse part: column c holds values[c] at the samples holding (or,
 * lacking[c], not holding) node nodes[c], samples ascending. */
void sb_columns_fill(const uint64_t *bits, int64_t words, const int64_t *nodes, int64_t m,
                     const uint8_t *lacking, int64_t n, const double *values,
                     const int64_t *ptr, int64_t *idx, double *val)
{
    for (int64_t c = 0; c < m; c++) {
        int64_t q = ptr[c];
        for (int64_t w = 0; w < words; w++) {
            uint64_t x = word_of(bits, words, nodes[c], w, lacking[c], n);
            while (x) {
                idx[q] = 64 * w + __builtin_ctzll(x);
                val[q] = values[c];
                q++;
                x &= x - 1;
            }
        }
    }
}

/* a[c, i] = values[c] and b[c, i] = 1 where sample i holds node nodes[c], else 0 (m x n). */
void sb_unpack(const uint64_t *bits, int64_t words, const int64_t *nodes, int64_t m,
               const double *values, int64_t n, double *a, double *b, int threads)
{
    int64_t c;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (c = 0; c < m; c++) {
        const uint64_t *row = bits + nodes[c] * words;
        double v = values[c];
        double *ar = a + c * n, *br = b + c * n;
        for (int64_t i = 0; i < n; i++) {
            int on = (int)((row[i >> 6] >> (i & 63)) & 1);
            ar[i] = on ? v : 0.0;
            br[i] = on ? 1.0 : 0.0;
        }
    }
}

/* Row i's overlaps with the column samples lo.. added into acc (sum of minima). */
static inline void scatter(int64_t i, const int64_t *r_indptr, const int64_t *r_indices,
                           const double *r_data, const int64_t *c_indptr,
                           const int64_t *c_indices, const double *c_data, double *acc,
                           int64_t lo)
{
    for (int64_t p = r_indptr[i]; p < r_indptr[i + 1]; p++) {
        int64_t k = r_indices[p];
        double x = r_data[p];
        int64_t a = c_indptr[k], b = c_indptr[k + 1], stop = b;
        while (a < b) { /* the column's samples are sorted: skip those before lo */
            int64_t mid = (a + b) / 2;
            if (c_indices[mid] < lo)
                a = mid + 1;
            else
                b = mid;
        }
        for (int64_t q = a; q < stop; q++) {
            double y = c_data[q];
            acc[c_indices[q]] += x < y ? x : y;
        }
    }
}

/* Sum of minima between the m row samples (CSR) and the n column samples (CSC of the
 * columns' table), m x n into out (zeroed here). With upper (the same samples) only j > i is
 * computed, rows t and m - 1 - t in one task, and the lower triangle mirrored; the diagonal
 * is 0. Returns 0, or -1 when a thread's accumulator could not be allocated. */
int sb_raw_rectangle(int64_t m, const int64_t *indptr, const int64_t *indices,
                     const double *data, int64_t n, const int64_t *c_indptr,
                     const int64_t *c_indices, const double *c_data, int upper,
                     double *out, int threads)
{
    int failed = 0;
    int64_t steps = upper ? (m + 1) / 2 : m;
    memset(out, 0, (size_t)(m * n) * sizeof(double));
#pragma omp parallel num_threads(threads) reduction(| : failed)
    {
        /* every thread meets the loop (its barrier), with or without its accumulator */
        double *acc = calloc((size_t)(n > 0 ? n : 1), sizeof(double));
        failed |= acc == NULL;
        int64_t t;
#pragma omp for schedule(dynamic, 1)
        for (t = 0; t < steps; t++) {
            if (acc == NULL)
                continue;
            for (int s = 0; s < (upper ? 2 : 1); s++) {
                int64_t i = s == 0 ? t : m - 1 - t;
                if (s == 1 && i == t)
                    continue;
                int64_t lo = upper ? i + 1 : 0;
                scatter(i, indptr, indices, data, c_indptr, c_indices, c_data, acc, lo);
                double *row = out + i * n;
                for (int64_t j = lo; j < n; j++) {
                    row[j] = acc[j];
                    acc[j] = 0.0;
                }
            }
        }
        free(acc);
    }
    if (failed)
        return -1;
    if (upper)
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < i; j++)
                out[i * n + j] = out[j * n + i];
    return 0;
}
