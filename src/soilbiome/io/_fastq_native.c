/*
 * The FASTQ check's scan of a block of text, in C (loaded by soilbiome.io.fastq_native).
 *
 * sb_fastq_scan walks the whole records of a buffer: four lines each, the first starting with
 * '@', the third with '+', the sequence and quality lines of equal length (the '\r's before a
 * line's '\n' are not part of it). It counts the records, their bases and, when asked,
 * the bases of Phred >= 30 and the G/C bases, and writes a 64-bit hash of each record's read
 * name (the first word after '@', without a trailing "/1" or "/2") for the mates' check, and
 * adds up the quality letters when asked (sylph's sketching pass).
 *
 * It never names a problem: at the first malformed record it stops and says so, and the
 * Python check (soilbiome.io.fastq) reads the sample again and names the file, the record and
 * what is wrong. So the C scan decides only how fast a good file is checked.
 */
#include <stdint.h>
#include <string.h>

typedef struct {
    int64_t records;  /* whole records scanned */
    int64_t consumed; /* bytes up to the end of the last whole record */
    int64_t bases;    /* sequence letters */
    int64_t q30;      /* quality letters >= '?' (Phred 30, offset 33), when counted */
    int64_t gc;       /* G, C, g and c letters of the sequences, when counted */
    int32_t bad;      /* 1: a malformed record at records + 1 (or the text ends inside one) */
} sb_fastq_counts;

/* The end of the line starting at p (the '\n', or end when there is none) */
static const char *line_end(const char *p, const char *end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    return nl ? nl : end;
}

/* A line's length without the '\r's that end it (as the Python check strips them) */
static int64_t content_length(const char *start, const char *nl) {
    int64_t n = nl - start;
    while (n > 0 && start[n - 1] == '\r') n--;
    return n;
}

static int is_space(unsigned char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* The read name of a header line of length n (after '@'): its first word, less "/1" or "/2" */
static uint64_t name_hash(const char *header, int64_t n) {
    int64_t i = 1;
    while (i < n && is_space((unsigned char)header[i])) i++;
    int64_t start = i;
    while (i < n && !is_space((unsigned char)header[i])) i++;
    int64_t len = i - start;
    if (len >= 2 && header[start + len - 2] == '/' &&
        (header[start + len - 1] == '1' || header[start + len - 1] == '2')) {
        len -= 2;
    }
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a, then a 64-bit finaliser (splitmix64) */
    for (int64_t k = 0; k < len; k++) {
        h ^= (unsigned char)header[start + k];
        h *= 0x100000001b3ULL;
    }
    h ^= (uint64_t)len;
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return h;
}

/*
 * Scan buf[0:len]. final: no more text follows (a last line may lack its '\n'; text left
 * over is a malformed record). count_bases: also count q30 and gc. hashes: room for
 * max_records name hashes, or NULL. quality_letters: 256 counters to which each quality
 * letter of the scanned records is added (sylph's read accuracy), or NULL. Returns the
 * number of records scanned (out->records).
 */
int64_t sb_fastq_scan(const char *buf, int64_t len, int final, int count_bases,
                      uint64_t *hashes, int64_t max_records, int64_t *quality_letters,
                      sb_fastq_counts *out) {
    const char *p = buf, *end = buf + len;
    int64_t records = 0, bases = 0, q30 = 0, gc = 0;
    out->bad = 0;
    while (p < end && records < max_records) {
        const char *starts[4], *ends[4];
        const char *q = p;
        int lines = 0;
        for (; lines < 4 && q < end; lines++) {
            const char *nl = line_end(q, end);
            if (nl == end && !final) break; /* the line goes on in the next block */
            starts[lines] = q;
            ends[lines] = nl;
            q = nl < end ? nl + 1 : end;
        }
        if (lines < 4) {
            if (final) out->bad = 1; /* the text ends inside a record */
            break;
        }
        int64_t header_len = content_length(starts[0], ends[0]);
        int64_t seq_len = content_length(starts[1], ends[1]);
        int64_t plus_len = content_length(starts[2], ends[2]);
        int64_t qual_len = content_length(starts[3], ends[3]);
        if (header_len < 1 || starts[0][0] != '@' || plus_len < 1 || starts[2][0] != '+' ||
            seq_len != qual_len) {
            out->bad = 1;
            break;
        }
        if (hashes) hashes[records] = name_hash(starts[0], header_len);
        if (count_bases) {
            const unsigned char *s = (const unsigned char *)starts[1];
            const unsigned char *u = (const unsigned char *)starts[3];
            int64_t g = 0, h = 0;
            for (int64_t k = 0; k < seq_len; k++) {
                unsigned char c = s[k] | 0x20; /* lower case */
                g += (c == 'g') | (c == 'c');
                h += u[k] >= 63;
            }
            gc += g;
            q30 += h;
        }
        if (quality_letters) {
            const unsigned char *u = (const unsigned char *)starts[3];
            for (int64_t k = 0; k < qual_len; k++) quality_letters[u[k]]++;
        }
        bases += seq_len;
        records++;
        p = q;
    }
    out->records = records;
    out->consumed = p - buf;
    out->bases = bases;
    out->q30 = q30;
    out->gc = gc;
    return records;
}
