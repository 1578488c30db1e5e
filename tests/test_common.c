/* Unit tests of common/: the partition, the chunks, the squares workload (kernel,
 * generator, loader), the checksum and the command line.  Linked to tvp_common; no
 * parallel runtime.  Random cases come from a fixed seed, printed at the start, which
 * TVP_TEST_SEED overrides to reproduce a run.
 *
 * usage: test_common [SECTION]   (no argument: every section) */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "pin.h"
#include "tvp.h"
#include "workload.h"



/* ---- reference implementations, written independently of common/ ---------------- */

/* CRC-64/XZ bit by bit: reflected ECMA-182, init and xorout all ones. */
static uint64_t ref_crc64(const unsigned char *p, size_t len)
{
    uint64_t crc = ~(uint64_t)0;
    for (size_t i = 0; i < len; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = (crc & 1) ? (crc >> 1) ^ UINT64_C(0xc96c5795d7870f42) : crc >> 1;
    }
    return ~crc;
}

/* sum of little-endian 64-bit words, a short last word padded with zero bytes */
static uint64_t ref_sum(const unsigned char *p, size_t len)
{
    uint64_t s = 0;
    for (size_t i = 0; i < len; i++)
        s += (uint64_t)p[i] << (8 * (i % 8));
    return s;
}

/* the documented generator: item i is the top 32 bits of splitmix64(seed + (i+1)*golden)
 * as a signed 32-bit value */
static int64_t ref_item(uint64_t seed, uint64_t i)
{
    uint64_t z = seed + (i + 1) * UINT64_C(0x9e3779b97f4a7c15);
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    z ^= z >> 31;
    return (int64_t)(int32_t)(uint32_t)(z >> 32);
}

/* ---- partition ---------------------------------------------------------------------- */

static void check_partition(uint64_t n, int parts)
{
    uint64_t base = n / (uint64_t)parts, extra = n % (uint64_t)parts;
    uint64_t prev_end = 0, min = UINT64_MAX, max = 0;
    for (int i = 0; i < parts; i++) {
        uint64_t b = UINT64_MAX, e = UINT64_MAX;
        tvp_partition(n, parts, i, &b, &e);
        CHECKF(b == prev_end, "n=%" PRIu64 " parts=%d block %d begins at %" PRIu64
               ", previous ended at %" PRIu64, n, parts, i, b, prev_end);
        CHECKF(e >= b && e <= n, "n=%" PRIu64 " parts=%d block %d = [%" PRIu64 ",%" PRIu64 ")",
               n, parts, i, b, e);
        uint64_t size = e - b;
        /* documented: the first n % parts blocks get the extra item */
        CHECKF(size == base + ((uint64_t)i < extra), "n=%" PRIu64 " parts=%d block %d size %" PRIu64,
               n, parts, i, size);
        min = size < min ? size : min;
        max = size > max ? size : max;
        prev_end = e;
    }
    CHECKF(prev_end == n, "n=%" PRIu64 " parts=%d: blocks end at %" PRIu64, n, parts, prev_end);
    CHECKF(max - min <= 1, "n=%" PRIu64 " parts=%d: sizes from %" PRIu64 " to %" PRIu64, n, parts,
           min, max);
}

static void test_partition(void)
{
    static const uint64_t ns[] = {0, 1, 2, 3, 4, 5, 7, 8, 13, 17, 31, 97, 100, 1000, 7919,
                                  100003, 1000000, 20000000};
    for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++)
        for (int parts = 1; parts <= 24; parts++)
            check_partition(ns[k], parts);
    /* n < parts: some blocks are empty, still contiguous */
    check_partition(3, 64);
    check_partition(1, 65536);
    check_partition(0, 65536);
    check_partition(100003, 65536);
    /* large n: i * base must not overflow */
    check_partition(((uint64_t)1 << 56) + 12345, 3);
    check_partition(((uint64_t)1 << 56) - 1, 65536);
    /* random sizes */
    for (int t = 0; t < 2000; t++)
        check_partition(rnd_below(1000000), 1 + (int)rnd_below(300));
    /* exactly once: mark every item of every block */
    uint64_t n = 1009;
    unsigned char *seen = xmalloc(n);
    for (int parts = 1; parts <= 40; parts++) {
        memset(seen, 0, n);
        for (int i = 0; i < parts; i++) {
            uint64_t b, e;
            tvp_partition(n, parts, i, &b, &e);
            for (uint64_t j = b; j < e; j++)
                seen[j]++;
        }
        for (uint64_t j = 0; j < n; j++)
            CHECKF(seen[j] == 1, "parts=%d item %" PRIu64 " covered %d times", parts, j, seen[j]);
    }
    free(seen);
}

/* ---- chunks ------------------------------------------------------------------------- */

static void check_chunks(uint64_t n, uint64_t chunk)
{
    uint64_t count = tvp_chunk_count(n, chunk);
    uint64_t want = n / chunk + (n % chunk != 0);
    CHECKF(count == want, "n=%" PRIu64 " chunk=%" PRIu64 ": %" PRIu64 " chunks, want %" PRIu64, n,
           chunk, count, want);
    uint64_t prev_end = 0;
    for (uint64_t k = 0; k < count; k++) {
        uint64_t b = UINT64_MAX, e = UINT64_MAX;
        tvp_chunk_range(n, chunk, k, &b, &e);
        CHECKF(b == prev_end && b == k * chunk,
               "n=%" PRIu64 " chunk=%" PRIu64 " k=%" PRIu64 ": begins at %" PRIu64, n, chunk, k, b);
        uint64_t want_e = n - b < chunk ? n : b + chunk;
        CHECKF(e == want_e && e > b,
               "n=%" PRIu64 " chunk=%" PRIu64 " k=%" PRIu64 ": [%" PRIu64 ",%" PRIu64 ")", n, chunk,
               k, b, e);
        prev_end = e;
    }
    CHECKF(prev_end == n, "n=%" PRIu64 " chunk=%" PRIu64 ": chunks end at %" PRIu64, n, chunk,
           prev_end);
}

static void test_chunks(void)
{
    static const uint64_t ns[] = {0, 1, 2, 3, 7, 999, 1000, 1001, 65536, 65537, 100003};
    static const uint64_t chunks[] = {1, 2, 3, 7, 1000, 65536};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        for (size_t j = 0; j < sizeof chunks / sizeof chunks[0]; j++)
            check_chunks(ns[i], chunks[j]);
        if (ns[i]) {
            check_chunks(ns[i], ns[i]);     /* one chunk */
            check_chunks(ns[i], ns[i] + 1); /* one short chunk */
            check_chunks(ns[i], ns[i] > 1 ? ns[i] - 1 : 1); /* a last chunk of one */
        }
    }
    CHECK_EQ_U64(tvp_chunk_count(0, 1000), 0);
    /* the largest --chunk and a large n */
    check_chunks(((uint64_t)1 << 40) * 3 + 5, (uint64_t)1 << 40);
    for (int t = 0; t < 2000; t++)
        check_chunks(rnd_below(200000), 1 + rnd_below(5000));
}

/* ---- the chunk store (dynamic schedule, local data) ------------------------------------ */

static void test_chunkstore(void)
{
    struct tvp_chunk_store s;
    const size_t bytes = 8 * 1000;
    tvp_chunk_store_init(&s, bytes);
    CHECK(s.count == 0);
    enum { TAKES = 40 }; /* more than one growth of the arrays */
    void *first[TAKES];
    for (int i = 0; i < TAKES; i++) {
        uint64_t k = (uint64_t)(7 * i + 3);
        void *p = tvp_chunk_store_take(&s, k);
        CHECKF(p != NULL, "take %d", i);
        CHECKF(((uintptr_t)p & 63) == 0, "take %d: buffer at %p", i, p);
        memset(p, i + 1, bytes); /* the whole buffer is ours */
        first[i] = p;
        for (int j = 0; j < i; j++)
            CHECKF(first[j] != p, "takes %d and %d share a buffer", j, i);
        CHECK(s.count == (size_t)i + 1);
    }
    for (int i = 0; i < TAKES; i++) {
        CHECKF(s.ids[i] == (uint64_t)(7 * i + 3), "slot %d holds chunk %" PRIu64, i, s.ids[i]);
        CHECKF(s.bufs[i] == first[i], "slot %d", i);
        const unsigned char *p = first[i];
        CHECKF(p[0] == (unsigned char)(i + 1) && p[bytes - 1] == (unsigned char)(i + 1),
               "buffer %d was overwritten", i);
    }
    /* reset keeps the buffers: the next run reuses them in order */
    tvp_chunk_store_reset(&s);
    CHECK(s.count == 0);
    for (int i = 0; i < 10; i++) {
        void *p = tvp_chunk_store_take(&s, (uint64_t)i);
        CHECKF(p == first[i], "after reset, take %d got a new buffer", i);
        CHECK(s.ids[i] == (uint64_t)i);
    }
    CHECK(s.count == 10);
    tvp_chunk_store_free(&s);
    CHECK(s.count == 0 && s.bufs == NULL && s.ids == NULL);
}

/* ---- the squares workload ------------------------------------------------------------- */

static void test_generator(void)
{
    const struct tvp_workload *wl = &tvp_workload_squares;
    CHECK(tvp_workload_find("squares") == wl);
    CHECK(tvp_workload_find("cubes") == NULL);
    CHECK(tvp_workload_find(NULL) == NULL);
    CHECK(wl->in_size == 8 && wl->out_size == 8);

    static const uint64_t seeds[] = {0, 1, 42, UINT64_MAX};
    const uint64_t n = 10007;
    int64_t *whole = xmalloc(n * 8), *again = xmalloc(n * 8), *other = xmalloc(n * 8);
    int64_t *piece = xmalloc((n + 2) * 8);
    for (size_t s = 0; s < sizeof seeds / sizeof seeds[0]; s++) {
        struct tvp_source src = {.seed = seeds[s], .items = NULL, .n = n};
        wl->fill(&src, 0, n, whole);
        wl->fill(&src, 0, n, again);
        CHECKF(memcmp(whole, again, n * 8) == 0, "seed %" PRIu64 ": two fills differ", seeds[s]);
        int64_t lo = INT64_MAX, hi = INT64_MIN;
        for (uint64_t i = 0; i < n; i++) {
            CHECKF(whole[i] >= -(INT64_C(1) << 31) && whole[i] < (INT64_C(1) << 31),
                   "seed %" PRIu64 " item %" PRIu64 " = %" PRId64 " outside [-2^31, 2^31)", seeds[s],
                   i, whole[i]);
            CHECKF(whole[i] == ref_item(seeds[s], i),
                   "seed %" PRIu64 " item %" PRIu64 " = %" PRId64 ", documented generator %" PRId64,
                   seeds[s], i, whole[i], ref_item(seeds[s], i));
            lo = whole[i] < lo ? whole[i] : lo;
            hi = whole[i] > hi ? whole[i] : hi;
        }
        /* 10^4 draws over 2^32 values: both ends of the range are reached */
        CHECKF(lo < -(INT64_C(1) << 30) && hi > (INT64_C(1) << 30),
               "seed %" PRIu64 ": values only from %" PRId64 " to %" PRId64, seeds[s], lo, hi);
        /* random access: [a,b) alone equals that slice of [0,n), and nothing around it
         * is written */
        for (int t = 0; t < 300; t++) {
            uint64_t a = rnd_below(n + 1), b = rnd_below(n + 1);
            if (a > b) {
                uint64_t x = a;
                a = b;
                b = x;
            }
            if (t % 10 == 0)
                b = a; /* empty range */
            piece[0] = piece[b - a + 1] = INT64_C(0x5a5a5a5a5a5a5a5a);
            wl->fill(&src, a, b, piece + 1);
            CHECKF(memcmp(piece + 1, whole + a, (b - a) * 8) == 0,
                   "seed %" PRIu64 ": fill [%" PRIu64 ",%" PRIu64 ") differs from the slice", seeds[s],
                   a, b);
            CHECKF(piece[0] == INT64_C(0x5a5a5a5a5a5a5a5a) &&
                       piece[b - a + 1] == INT64_C(0x5a5a5a5a5a5a5a5a),
                   "fill [%" PRIu64 ",%" PRIu64 ") wrote outside its range", a, b);
        }
        /* another seed, another sequence */
        struct tvp_source src2 = {.seed = seeds[s] ^ 1, .items = NULL, .n = n};
        wl->fill(&src2, 0, n, other);
        uint64_t same = 0;
        for (uint64_t i = 0; i < n; i++)
            same += other[i] == whole[i];
        CHECKF(same < 10, "seeds %" PRIu64 " and %" PRIu64 " share %" PRIu64 " of %" PRIu64 " items",
               seeds[s], seeds[s] ^ 1, same, n);
    }
    /* loaded items: fill copies items [a,b) */
    struct tvp_source loaded = {.seed = 0, .items = whole, .n = n};
    wl->fill(&loaded, 17, 4000, piece);
    CHECK(memcmp(piece, whole + 17, (4000 - 17) * 8) == 0);
    free(whole);
    free(again);
    free(other);
    free(piece);
}

static void test_kernel(void)
{
    const struct tvp_workload *wl = &tvp_workload_squares;
    const uint64_t n = 100003;
    struct tvp_source src = {.seed = 42, .items = NULL, .n = n};
    int64_t *in = xmalloc(n * 8), *whole = xmalloc(n * 8), *split = xmalloc(n * 8),
            *fresh = xmalloc(n * 8);
    int64_t *pin = xmalloc(n * 8), *pout = xmalloc(n * 8);
    wl->fill(&src, 0, n, in);
    wl->kernel(in, whole, 0, n);
    for (uint64_t i = 0; i < n; i++)
        CHECKF(whole[i] == in[i] * in[i], "item %" PRIu64 ": %" PRId64 "^2 gave %" PRId64, i, in[i],
               whole[i]);
    struct tvp_checksum want = tvp_checksum_of(whole, n * 8);

    for (int round = 0; round < 20; round++) {
        memset(split, 0xa5, n * 8);
        memset(fresh, 0x5a, n * 8);
        struct tvp_checksum cat = TVP_CHECKSUM_EMPTY;
        uint64_t b = 0, pieces = 0, empties = 0;
        while (b < n) {
            uint64_t len = rnd_below(5) == 0 ? 0 : 1 + rnd_below(round < 10 ? 3000 : 20);
            uint64_t e = n - b < len ? n : b + len;
            /* the same input, in place, piece by piece */
            wl->kernel(in + b, split + b, b, e);
            /* the piece made from scratch, as a worker with its own buffers does */
            wl->fill(&src, b, e, pin);
            wl->kernel(pin, pout, b, e);
            memcpy(fresh + b, pout, (e - b) * 8);
            cat = tvp_checksum_cat(cat, tvp_checksum_of(pout, (e - b) * 8));
            pieces++;
            empties += e == b;
            b = e;
        }
        CHECKF(memcmp(split, whole, n * 8) == 0, "round %d: %" PRIu64 " pieces in place differ", round,
               pieces);
        CHECKF(memcmp(fresh, whole, n * 8) == 0, "round %d: %" PRIu64 " pieces from scratch differ",
               round, pieces);
        CHECKF(tvp_checksum_equal(cat, want), "round %d: checksum of %" PRIu64 " pieces differs",
               round, pieces);
        CHECK(empties > 0);
    }
    /* the extremes a file may hold */
    int64_t edge_in[] = {0, 1, -1, INT64_C(3037000499), -INT64_C(3037000499), INT32_MIN, INT32_MAX};
    int64_t edge_want[] = {0, 1, 1, INT64_C(9223372030926249001), INT64_C(9223372030926249001),
                           INT64_C(4611686018427387904), INT64_C(4611686014132420609)};
    int64_t edge_out[7];
    wl->kernel(edge_in, edge_out, 0, 7);
    for (int i = 0; i < 7; i++)
        CHECKF(edge_out[i] == edge_want[i], "%" PRId64 "^2 gave %" PRId64, edge_in[i], edge_out[i]);
    free(in);
    free(whole);
    free(split);
    free(fresh);
    free(pin);
    free(pout);
}

/* ---- the loader (real files in a temporary folder) --------------------------------------- */

static char tmpdir[256];

static const char *write_file(const char *name, const char *text)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    CHECK(fputs(text, f) >= 0);
    CHECK(fclose(f) == 0);
    return path;
}

static int load(const char *path, int64_t **v, uint64_t *n, char *err, size_t errlen)
{
    void *items = NULL;
    err[0] = 0;
    int rc = tvp_workload_squares.load(path, &items, n, err, errlen);
    *v = items;
    return rc;
}

static void check_load_fails(const char *name, const char *text, const char *want_in_err)
{
    const char *path = write_file(name, text);
    int64_t *v = NULL;
    uint64_t n = 12345;
    char err[512];
    int rc = load(path, &v, &n, err, sizeof err);
    CHECKF(rc == TVP_EINPUT, "%s: load returned %d", name, rc);
    CHECKF(strstr(err, path) != NULL, "%s: message '%s' does not name the file", name, err);
    CHECKF(strstr(err, want_in_err) != NULL, "%s: message '%s' lacks '%s'", name, err, want_in_err);
    CHECKF(strchr(err, '\n') == NULL, "%s: message '%s' is not one line", name, err);
}

static void test_load(void)
{
    snprintf(tmpdir, sizeof tmpdir, "%s/tvp-test-common.XXXXXX",
             getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    CHECK(mkdtemp(tmpdir) != NULL);

    int64_t *v;
    uint64_t n;
    char err[512];
    const char *good = write_file("good.txt", "3\n-4\n  5  \n+6\r\n3037000499\n-3037000499\n0");
    CHECK(load(good, &v, &n, err, sizeof err) == 0);
    CHECK_EQ_U64(n, 7);
    int64_t want[] = {3, -4, 5, 6, INT64_C(3037000499), -INT64_C(3037000499), 0};
    for (int i = 0; i < 7; i++)
        CHECKF(v[i] == want[i], "item %d = %" PRId64, i, v[i]);
    free(v);

    /* more than the first allocation of the loader */
    char *big = xmalloc(10000 * 8 + 1), *p = big;
    for (int i = 0; i < 10000; i++)
        p += sprintf(p, "%d\n", i - 5000);
    CHECK(load(write_file("big.txt", big), &v, &n, err, sizeof err) == 0);
    CHECK_EQ_U64(n, 10000);
    for (int i = 0; i < 10000; i++)
        CHECKF(v[i] == i - 5000, "item %d = %" PRId64, i, v[i]);
    free(v);
    free(big);

    check_load_fails("word.txt", "1\n2\nabc\n4\n", ":3:");
    check_load_fails("trailing.txt", "1\n2x\n", ":2:");
    check_load_fails("two.txt", "1 2\n", ":1:");
    check_load_fails("overflow.txt", "1\n2\n3\n3037000500\n", ":4:");
    check_load_fails("underflow.txt", "-3037000500\n", ":1:");
    check_load_fails("huge.txt", "5\n99999999999999999999\n", ":2:");
    check_load_fails("empty-line.txt", "1\n\n2\n", ":2:");
    check_load_fails("empty.txt", "", "no values");

    char missing[512];
    snprintf(missing, sizeof missing, "%s/does-not-exist.txt", tmpdir);
    CHECK(load(missing, &v, &n, err, sizeof err) == TVP_EINPUT);
    CHECKF(strstr(err, missing) != NULL, "message '%s'", err);
    CHECK(load(tmpdir, &v, &n, err, sizeof err) == TVP_EINPUT); /* a folder */
    CHECKF(strstr(err, tmpdir) != NULL, "message '%s'", err);

    static const char *const names[] = {"good.txt", "big.txt", "word.txt", "trailing.txt",
                                        "two.txt", "overflow.txt", "underflow.txt", "huge.txt",
                                        "empty-line.txt", "empty.txt"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", tmpdir, names[i]);
        CHECK(unlink(path) == 0);
    }
    CHECK(rmdir(tmpdir) == 0);
}

/* ---- checksum ------------------------------------------------------------------------- */

static void check_against_ref(const unsigned char *p, size_t len)
{
    struct tvp_checksum c = tvp_checksum_of(p, len);
    CHECKF(c.crc64 == ref_crc64(p, len), "crc64 of %zu bytes at offset %zu", len,
           (size_t)((uintptr_t)p & 7));
    CHECKF(c.sum == ref_sum(p, len), "sum of %zu bytes", len);
    CHECK_EQ_U64(c.bytes, len);
}

static void test_checksum(void)
{
    /* the CRC-64/XZ check value */
    struct tvp_checksum c = tvp_checksum_of("123456789", 9);
    CHECK_EQ_U64(c.crc64, UINT64_C(0x995dc9bbdf1939fa));
    CHECK_EQ_U64(ref_crc64((const unsigned char *)"123456789", 9), UINT64_C(0x995dc9bbdf1939fa));
    CHECK_EQ_U64(c.bytes, 9);
    CHECK_EQ_U64(c.sum, UINT64_C(0x3837363534333231) + UINT64_C(0x39));
    /* nothing */
    c = tvp_checksum_of("", 0);
    CHECK(tvp_checksum_equal(c, TVP_CHECKSUM_EMPTY));
    /* 1..8 zero bytes are not the empty checksum */
    static const unsigned char zeros[8] = {0};
    for (size_t len = 1; len <= 8; len++) {
        c = tvp_checksum_of(zeros, len);
        CHECK(c.crc64 == ref_crc64(zeros, len) && c.crc64 != 0 && c.bytes == len);
    }

    /* the slicing-by-8 path against the bitwise one: every length to 80 at every
     * alignment, then random lengths */
    size_t cap = (1u << 20) + 64;
    unsigned char *buf = xmalloc(cap);
    for (size_t i = 0; i < cap; i++)
        buf[i] = (unsigned char)rnd();
    for (size_t off = 0; off < 8; off++)
        for (size_t len = 0; len <= 80; len++)
            check_against_ref(buf + off, len);
    /* around the 64-byte blocks of a carry-less-multiply path (two blocks at least) */
    for (size_t off = 0; off < 8; off++)
        for (size_t len = 100; len <= 420; len++)
            check_against_ref(buf + off, len);
    for (int t = 0; t < 50; t++)
        check_against_ref(buf + rnd_below(8), rnd_below(70000));
    check_against_ref(buf + 3, cap - 64);

    /* concatenation: random splits whose left pieces are whole words and whose last piece
     * is any length; empty pieces too */
    for (int t = 0; t < 400; t++) {
        size_t len = t < 50 ? (size_t)t : (size_t)rnd_below(t < 390 ? 20000 : cap - 64);
        struct tvp_checksum whole = tvp_checksum_of(buf, len), acc = TVP_CHECKSUM_EMPTY;
        size_t b = 0;
        int pieces = 0;
        while (b < len) {
            size_t words = (len - b) / 8, piece;
            int r = (int)rnd_below(6);
            if (r == 0)
                piece = 0;
            else if (r == 1 || words == 0)
                piece = len - b; /* the rest, whatever its length */
            else
                piece = 8 * (1 + rnd_below(words < 600 ? words : 600));
            acc = tvp_checksum_cat(acc, tvp_checksum_of(buf + b, piece));
            b += piece;
            pieces++;
        }
        CHECKF(acc.crc64 == whole.crc64, "%zu bytes in %d pieces: crc64 0x%016" PRIx64
               ", whole 0x%016" PRIx64, len, pieces, acc.crc64, whole.crc64);
        CHECKF(acc.sum == whole.sum, "%zu bytes in %d pieces: sum", len, pieces);
        CHECKF(acc.bytes == len, "%zu bytes in %d pieces: bytes %" PRIu64, len, pieces, acc.bytes);
        CHECK(tvp_checksum_equal(acc, whole));
    }
    /* two pieces, the right one not a whole number of words, at every split point */
    for (size_t len = 0; len <= 67; len++)
        for (size_t a = 0; a <= len; a += 8) {
            struct tvp_checksum x = tvp_checksum_cat(tvp_checksum_of(buf, a),
                                                     tvp_checksum_of(buf + a, len - a));
            CHECKF(tvp_checksum_equal(x, tvp_checksum_of(buf, len)), "%zu bytes split at %zu", len, a);
        }
    /* the empty checksum is the identity on both sides; cat is associative */
    for (int t = 0; t < 100; t++) {
        size_t a = 8 * rnd_below(500), b = 8 * rnd_below(500), c3 = rnd_below(4000);
        struct tvp_checksum A = tvp_checksum_of(buf, a), B = tvp_checksum_of(buf + a, b),
                            C = tvp_checksum_of(buf + a + b, c3);
        CHECK(tvp_checksum_equal(tvp_checksum_cat(TVP_CHECKSUM_EMPTY, C), C));
        CHECK(tvp_checksum_equal(tvp_checksum_cat(A, TVP_CHECKSUM_EMPTY), A));
        CHECK(tvp_checksum_equal(tvp_checksum_cat(tvp_checksum_cat(A, B), C),
                                 tvp_checksum_cat(A, tvp_checksum_cat(B, C))));
        CHECK(tvp_checksum_equal(tvp_checksum_cat(tvp_checksum_cat(A, B), C),
                                 tvp_checksum_of(buf, a + b + c3)));
    }
    /* a change anywhere changes the crc, and the sum unless it is a carry-neutral swap */
    {
        size_t len = 4096;
        struct tvp_checksum before = tvp_checksum_of(buf, len);
        for (int t = 0; t < 200; t++) {
            size_t at = rnd_below(len);
            unsigned char bit = (unsigned char)(1u << rnd_below(8));
            buf[at] ^= bit;
            struct tvp_checksum after = tvp_checksum_of(buf, len);
            buf[at] ^= bit;
            CHECKF(after.crc64 != before.crc64 && after.sum != before.sum, "bit flip at %zu", at);
        }
    }
    /* equality compares every member */
    struct tvp_checksum x = {1, 2, 8}, y = x;
    CHECK(tvp_checksum_equal(x, y));
    y.sum++;
    CHECK(!tvp_checksum_equal(x, y));
    y = x;
    y.crc64++;
    CHECK(!tvp_checksum_equal(x, y));
    y = x;
    y.bytes += 8;
    CHECK(!tvp_checksum_equal(x, y));
    free(buf);
}

/* ---- options ---------------------------------------------------------------------------- */

#define MAXARGS 40

/* Parses a NULL-terminated argument list (argv[0] is added). */
static int parse_list(struct tvp_options *o, char *err, size_t errlen, const char *first, va_list ap)
{
    char *argv[MAXARGS + 2];
    int argc = 0;
    argv[argc++] = (char *)"tvp-test";
    for (const char *a = first; a; a = va_arg(ap, const char *)) {
        CHECK(argc <= MAXARGS);
        argv[argc++] = (char *)a;
    }
    argv[argc] = NULL;
    tvp_options_default(o);
    memset(err, 'x', errlen - 1); /* the parser must overwrite it */
    err[errlen - 1] = 0;
    return tvp_options_parse(o, argc, argv, err, errlen);
}

static struct tvp_options opt;
static char opt_err[256];

static void parse_ok(int line, const char *first, ...)
{
    va_list ap;
    va_start(ap, first);
    int rc = parse_list(&opt, opt_err, sizeof opt_err, first, ap);
    va_end(ap);
    if (rc != 0 || opt_err[0] != 0) {
        fprintf(stderr, "%s:%d: a good command line (from '%s') was refused: rc %d, '%s'\n",
                __FILE__, line, first ? first : "", rc, opt_err);
        exit(1);
    }
}

static void parse_bad(int line, const char *must_mention, const char *first, ...)
{
    va_list ap;
    va_start(ap, first);
    int rc = parse_list(&opt, opt_err, sizeof opt_err, first, ap);
    va_end(ap);
    if (rc != TVP_EUSAGE || opt_err[0] == 0 || opt_err[0] == 'x' || strchr(opt_err, '\n') ||
        (must_mention && !strstr(opt_err, must_mention))) {
        fprintf(stderr,
                "%s:%d: a bad command line was not refused properly: rc %d (want %d), message '%s'"
                " (must be one line naming '%s')\n",
                __FILE__, line, rc, TVP_EUSAGE, opt_err, must_mention ? must_mention : "");
        exit(1);
    }
}

#define OK(...) parse_ok(__LINE__, __VA_ARGS__, (const char *)NULL)
#define BAD(mention, ...) parse_bad(__LINE__, mention, __VA_ARGS__, (const char *)NULL)

static void test_options(void)
{
    /* defaults */
    OK("squares");
    CHECK(strcmp(opt.workload, "squares") == 0);
    CHECK_EQ_U64(opt.n, TVP_DEFAULT_N);
    CHECK(!opt.n_set);
    CHECK_EQ_U64(opt.seed, TVP_DEFAULT_SEED);
    CHECK_EQ_U64(opt.chunk, TVP_DEFAULT_CHUNK);
    CHECK(opt.in_path == NULL && opt.out_path == NULL);
    CHECK(opt.workers == 0 && opt.schedule == TVP_SCHED_STATIC && opt.data == TVP_DATA_LOCAL);
    CHECK(opt.ipc == TVP_IPC_PIPE && opt.bind == TVP_BIND_AUTO && opt.format == TVP_FMT_TEXT);
    CHECK(opt.repeat == 5 && opt.warmup == 1 && !opt.verify && !opt.help && !opt.version);

    /* numbers and suffixes */
    OK("squares", "--n", "5M");
    CHECK_EQ_U64(opt.n, 5000000);
    CHECK(opt.n_set);
    OK("squares", "--n=5M");
    CHECK_EQ_U64(opt.n, 5000000);
    OK("--n", "7k", "squares");
    CHECK_EQ_U64(opt.n, 7000);
    OK("squares", "--n=3K");
    CHECK_EQ_U64(opt.n, 3000);
    OK("squares", "--n", "2G");
    CHECK_EQ_U64(opt.n, 2000000000);
    OK("squares", "--n", "1");
    CHECK_EQ_U64(opt.n, 1);
    OK("squares", "--n", "100003");
    CHECK_EQ_U64(opt.n, 100003);
    OK("squares", "--seed", "0");
    CHECK_EQ_U64(opt.seed, 0);
    OK("squares", "--seed=18446744073709551615");
    CHECK_EQ_U64(opt.seed, UINT64_MAX);

    /* every option, both forms */
    OK("squares", "--workers", "3", "--schedule", "dynamic", "--chunk", "1000", "--data",
       "scatter", "--ipc", "shm", "--bind", "list:0,2,5", "--warmup", "0", "--repeat", "2");
    CHECK(opt.workers == 3 && opt.schedule == TVP_SCHED_DYNAMIC && opt.chunk == 1000);
    CHECK(opt.data == TVP_DATA_SCATTER && opt.ipc == TVP_IPC_SHM && opt.bind == TVP_BIND_LIST);
    CHECK(opt.bind_count == 3 && opt.bind_list[0] == 0 && opt.bind_list[1] == 2 &&
          opt.bind_list[2] == 5);
    CHECK(opt.warmup == 0 && opt.repeat == 2);
    OK("squares", "--workers=4", "--schedule=static", "--chunk=7", "--data=local", "--ipc=pipe",
       "--bind=scatter", "--warmup=3", "--repeat=1", "--format=json", "--out=r.json",
       "--in=x.txt", "--verify");
    CHECK(opt.workers == 4 && opt.schedule == TVP_SCHED_STATIC && opt.chunk == 7);
    CHECK(opt.data == TVP_DATA_LOCAL && opt.ipc == TVP_IPC_PIPE && opt.bind == TVP_BIND_SCATTER);
    CHECK(opt.warmup == 3 && opt.repeat == 1 && opt.format == TVP_FMT_JSON && opt.verify);
    CHECK(strcmp(opt.out_path, "r.json") == 0 && strcmp(opt.in_path, "x.txt") == 0);
    CHECK(!opt.n_set);
    OK("squares", "--bind", "none");
    CHECK(opt.bind == TVP_BIND_NONE);
    OK("squares", "--bind", "core");
    CHECK(opt.bind == TVP_BIND_CORE);
    OK("squares", "--bind", "list:7");
    CHECK(opt.bind == TVP_BIND_LIST && opt.bind_count == 1 && opt.bind_list[0] == 7);
    OK("squares", "--format", "csv");
    CHECK(opt.format == TVP_FMT_CSV);
    OK("squares", "--format", "text");
    CHECK(opt.format == TVP_FMT_TEXT);
    OK("squares", "--workers", "65536");
    CHECK(opt.workers == 65536);
    OK("squares", "--out", "a=b.csv"); /* '=' in a separate value is part of it */
    CHECK(strcmp(opt.out_path, "a=b.csv") == 0);
    OK("--help");
    CHECK(opt.help && opt.workload == NULL);
    OK("-h");
    CHECK(opt.help);
    OK("--version");
    CHECK(opt.version);
    /* the names the record uses */
    CHECK(strcmp(tvp_schedule_name(TVP_SCHED_DYNAMIC), "dynamic") == 0);
    CHECK(strcmp(tvp_data_name(TVP_DATA_SCATTER), "scatter") == 0);
    CHECK(strcmp(tvp_ipc_name(TVP_IPC_SHM), "shm") == 0);
    CHECK(strcmp(tvp_bind_name(TVP_BIND_LIST), "list") == 0);
    CHECK(strcmp(tvp_format_name(TVP_FMT_JSON), "json") == 0);

    /* --n: non-numeric, negative, zero, junk, too large, missing */
    BAD("--n", "squares", "--n", "abc");
    BAD("abc", "squares", "--n", "abc");
    BAD("--n", "squares", "--n", "-5");
    BAD("-5", "squares", "--n=-5");
    BAD("--n", "squares", "--n", "0");
    BAD("--n", "squares", "--n", "0k");
    BAD("--n", "squares", "--n", "5x");
    BAD("--n", "squares", "--n", "5MB");
    BAD("--n", "squares", "--n", "1.5");
    BAD("--n", "squares", "--n", " 5");
    BAD("--n", "squares", "--n", "0x10");
    BAD("--n", "squares", "--n", "");
    BAD("--n", "squares", "--n=");
    BAD("--n", "squares", "--n", "99999999999999999999");
    BAD("--n", "squares", "--n", "18446744073709551615");
    BAD("--n", "squares", "--n", "72057594037927937"); /* 2^56 + 1 */
    BAD("--n", "squares", "--n", "100000000G");
    BAD("--n", "squares", "--n"); /* missing value */
    /* --workers */
    BAD("--workers", "squares", "--workers", "0");
    BAD("--workers", "squares", "--workers=0");
    BAD("--workers", "squares", "--workers", "-2");
    BAD("--workers", "squares", "--workers", "two");
    BAD("--workers", "squares", "--workers", "65537");
    BAD("--workers", "squares", "--workers");
    /* unknown options */
    BAD("--frobnicate", "squares", "--frobnicate");
    BAD("--frobnicate", "squares", "--frobnicate", "3");
    BAD("--frobnicate", "squares", "--frobnicate=3");
    BAD("-x", "squares", "-x");
    BAD("--verify", "squares", "--verify=yes");
    BAD(NULL, "squares", "--a-very-long-option-name-of-more-than-thirty-two-characters");
    /* --bind */
    BAD("--bind", "squares", "--bind", "sideways");
    BAD("--bind", "squares", "--bind", "list:");
    BAD("--bind", "squares", "--bind", "list:0,,1");
    BAD("--bind", "squares", "--bind", "list:0,");
    BAD("--bind", "squares", "--bind", "list:,0");
    BAD("--bind", "squares", "--bind", "list:a");
    BAD("--bind", "squares", "--bind", "list:-1");
    BAD("--bind", "squares", "--bind", "list:1048577");
    BAD("--bind", "squares", "--bind", "list:00000000000000000000000000000000001");
    BAD("--bind", "squares", "--bind");
    /* the other values */
    BAD("--schedule", "squares", "--schedule", "guided");
    BAD("--schedule", "squares", "--schedule");
    BAD("--chunk", "squares", "--chunk", "0");
    BAD("--chunk", "squares", "--chunk", "-1");
    BAD("--data", "squares", "--data", "remote");
    BAD("--ipc", "squares", "--ipc", "socket");
    BAD("--format", "squares", "--format", "xml");
    BAD("--repeat", "squares", "--repeat", "0");
    BAD("--repeat", "squares", "--repeat", "1000001");
    BAD("--warmup", "squares", "--warmup", "-1");
    BAD("--seed", "squares", "--seed", "-1");
    BAD("--seed", "squares", "--seed", "18446744073709551616");
    BAD("--in", "squares", "--in");
    BAD("--in", "squares", "--in=");
    BAD("--out", "squares", "--out");
    BAD("--out", "squares", "--out", "");
    /* positional arguments */
    BAD("squares", "squares", "squares");
    BAD("cubes", "squares", "cubes");
    BAD("workload", "--n", "5");
    BAD("workload", "--verify");

    /* a list of more PUs than fit is refused, not overflowed */
    {
        size_t cap = 8 * (TVP_BIND_LIST_MAX + 2) + 16;
        char *list = xmalloc(cap), *p = list;
        p += sprintf(p, "list:");
        for (int i = 0; i <= TVP_BIND_LIST_MAX; i++)
            p += sprintf(p, "%s%d", i ? "," : "", i % 2);
        BAD("--bind", "squares", "--bind", list);
        /* exactly the most is accepted */
        *strrchr(list, ',') = 0;
        OK("squares", "--bind", list);
        CHECK(opt.bind_count == TVP_BIND_LIST_MAX);
        free(list);
    }
}

/* ---- small things: exit codes, allocation, full reads and writes ----------------------- */

/* The atomic writer on a path that is not a file (a FIFO here; /dev/null in real use):
 * written through, never replaced by a renamed regular file. */
static void test_atomic_fifo(void)
{
    char dir[] = "/tmp/tvp-test-fifo.XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[64];
    snprintf(path, sizeof path, "%s/fifo", dir);
    CHECK(mkfifo(path, 0600) == 0);
    int pfd[2];
    CHECK(pipe(pfd) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) { /* the reader: counts the bytes, reports them through the pipe */
        FILE *f = fopen(path, "rb");
        long n = 0;
        while (f && fgetc(f) != EOF)
            n++;
        if (write(pfd[1], &n, sizeof n) != sizeof n)
            _exit(2);
        _exit(f ? 0 : 1);
    }
    struct tvp_atomic a;
    CHECK(tvp_atomic_open(&a, path) == 0);
    CHECK(a.tmp == NULL);
    CHECK(fputs("twelve bytes", a.f) >= 0);
    CHECK(tvp_atomic_close(&a, 1) == 0);
    long got = -1;
    CHECK(read(pfd[0], &got, sizeof got) == sizeof got);
    CHECK_EQ_U64((uint64_t)got, 12);
    int st;
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    struct stat sb;
    CHECK(stat(path, &sb) == 0 && S_ISFIFO(sb.st_mode)); /* still the FIFO */
    close(pfd[0]);
    close(pfd[1]);
    unlink(path);
    rmdir(dir);
}

static void test_misc(void)
{
    test_atomic_fifo();
    CHECK(tvp_exit_code(TVP_OK) == 0);
    CHECK(tvp_exit_code(TVP_EVERIFY) == 1);
    CHECK(tvp_exit_code(TVP_EUSAGE) == 2);
    CHECK(tvp_exit_code(TVP_EINPUT) == 2);
    CHECK(tvp_exit_code(TVP_ENOMEM) == 3);
    CHECK(tvp_exit_code(TVP_ESYS) == 3);
    CHECK(tvp_exit_code(TVP_EWORKER) == 3);
    CHECK(tvp_exit_code(TVP_ENOSYS) == 3);
    for (int e = TVP_OK; e >= TVP_ENOSYS; e--)
        CHECK(tvp_strerror(e) && *tvp_strerror(e));

    static const size_t sizes[] = {0, 1, 64, 1000, (2u << 20) - 8, 2u << 20, (2u << 20) + 8};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        unsigned char *p = tvp_alloc_touched(sizes[i]);
        CHECK(p != NULL);
        CHECKF(((uintptr_t)p & 63) == 0, "%zu bytes at %p", sizes[i], (void *)p);
        for (size_t k = 0; k < sizes[i]; k++)
            CHECKF(p[k] == 0, "%zu bytes: byte %zu not zeroed", sizes[i], k);
        memset(p, 0xff, sizes[i]);
        tvp_free(p);
    }
    double t0 = tvp_now(), t1 = tvp_now();
    CHECK(t0 > 0 && t1 >= t0);

    /* a pipe: write more than it holds from a child, read it all back */
    int fds[2];
    CHECK(pipe(fds) == 0);
    size_t len = 1u << 20;
    unsigned char *out = xmalloc(len), *in = xmalloc(len + 8);
    for (size_t i = 0; i < len; i++)
        out[i] = (unsigned char)(i * 7 + 3);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        _exit(tvp_write_full(fds[1], out, len) == 0 ? 0 : 1);
    }
    close(fds[1]);
    CHECK(tvp_read_full(fds[0], in, len + 8) == (ssize_t)len); /* short only at end of file */
    CHECK(memcmp(in, out, len) == 0);
    CHECK(tvp_read_full(fds[0], in, 8) == 0);
    close(fds[0]);
    int status;
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(tvp_read_full(-1, in, 8) == TVP_ESYS);
    CHECK(tvp_write_full(-1, out, 8) == TVP_ESYS);
    free(out);
    free(in);
}

/* ---- pinning plans ------------------------------------------------------------------------- */

static void test_pin(void)
{
    /* plans name PUs this process may use; with two cores or more, core and scatter put
     * the first two workers on different PUs */
    struct tvp_topo *topo = NULL;
    CHECK(tvp_topo_open(&topo) == 0 && topo != NULL);
    int pus = tvp_topo_pus(topo);
    CHECK(pus >= 1 && tvp_topo_cores(topo) >= 1 && tvp_topo_cores(topo) <= pus);
    int workers = 2 * pus + 1, *plan = xmalloc((size_t)workers * sizeof *plan);
    static const enum tvp_bind modes[] = {TVP_BIND_CORE, TVP_BIND_SCATTER, TVP_BIND_AUTO};
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
        CHECK(tvp_pin_plan(topo, modes[m], NULL, 0, workers, plan) == 0);
        for (int w = 0; w < workers; w++)
            CHECKF(plan[w] >= 0, "mode %d worker %d on PU %d", (int)modes[m], w, plan[w]);
        if (tvp_topo_cores(topo) >= 2)
            CHECKF(plan[0] != plan[1], "mode %d puts workers 0 and 1 on PU %d", (int)modes[m], plan[0]);
    }
    CHECK(tvp_pin_plan(topo, TVP_BIND_NONE, NULL, 0, workers, plan) == 0);
    for (int w = 0; w < workers; w++)
        CHECK(plan[w] == -1);
    int first = plan[0];
    CHECK(tvp_pin_plan(topo, TVP_BIND_CORE, NULL, 0, 1, &first) == 0);
    int list[] = {first};
    CHECK(tvp_pin_plan(topo, TVP_BIND_LIST, list, 1, workers, plan) == 0);
    for (int w = 0; w < workers; w++)
        CHECK(plan[w] == first);
    int bad_list[] = {first, 1 << 20};
    CHECK(tvp_pin_plan(topo, TVP_BIND_LIST, bad_list, 2, 2, plan) == TVP_EUSAGE);
    free(plan);
    tvp_topo_close(topo);
}

/* ---- main ------------------------------------------------------------------------------ */

static const struct test_section sections[] = {
    {"partition", test_partition}, {"chunks", test_chunks},     {"generator", test_generator},
    {"kernel", test_kernel},       {"load", test_load},         {"checksum", test_checksum},
    {"options", test_options},     {"misc", test_misc},         {"chunkstore", test_chunkstore},
    {"pin", test_pin},
};

int main(int argc, char **argv)
{
    test_seed("test_common", UINT64_C(20240601));
    return test_run(sections, sizeof sections / sizeof sections[0], argc > 1 ? argv[1] : NULL);
}
