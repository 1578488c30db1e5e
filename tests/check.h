/* Assertions for the C tests that are never compiled out (unlike assert.h under
 * -DNDEBUG, which the Release build sets).  In the spirit of libuv's test/task.h: a failed
 * check prints file:line and the expression (and, for the typed variants, both values)
 * and exits 1 at once.
 *
 * Then what the test programs share: a PRNG, sections and main, byte buffers, labels,
 * files and a temporary folder.  All static (inline), so a program compiles what it uses. */
#ifndef TVP_TEST_CHECK_H
#define TVP_TEST_CHECK_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "csv.h"
#include "labels.h"

#define CHECK(expr)                                                                        \
    do {                                                                                   \
        if (!(expr)) {                                                                     \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #expr);       \
            fflush(stderr);                                                                \
            exit(1);                                                                       \
        }                                                                                  \
    } while (0)

/* As CHECK, with a printf-style note of the case that failed (the loop variables). */
#define CHECKF(expr, ...)                                                                  \
    do {                                                                                   \
        if (!(expr)) {                                                                     \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n  case: ", __FILE__, __LINE__, #expr); \
            fprintf(stderr, __VA_ARGS__);                                                  \
            fputc('\n', stderr);                                                           \
            fflush(stderr);                                                                \
            exit(1);                                                                       \
        }                                                                                  \
    } while (0)

/* Two unsigned 64-bit values must be equal; both are printed when they are not. */
#define CHECK_EQ_U64(a, b)                                                                 \
    do {                                                                                   \
        uint64_t check_a_ = (uint64_t)(a), check_b_ = (uint64_t)(b);                       \
        if (check_a_ != check_b_) {                                                        \
            fprintf(stderr,                                                                \
                    "%s:%d: CHECK failed: %s == %s\n  left:  %" PRIu64 " (0x%016" PRIx64   \
                    ")\n  right: %" PRIu64 " (0x%016" PRIx64 ")\n",                        \
                    __FILE__, __LINE__, #a, #b, check_a_, check_a_, check_b_, check_b_);   \
            fflush(stderr);                                                                \
            exit(1);                                                                       \
        }                                                                                  \
    } while (0)


/* ---- shared by the test programs: a PRNG of their own (xorshift64*), independent of
 * the generators under test, and an allocation that cannot fail quietly ---- */
static uint64_t rng_state;

static inline uint64_t rnd(void)
{
    uint64_t x = rng_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return x * UINT64_C(0x2545f4914f6cdd1d);
}

/* uniform in [0, bound), bound > 0 */
static inline uint64_t rnd_below(uint64_t bound)
{
    return rnd() % bound;
}

/* Seeds rnd() from TVP_TEST_SEED, or `fallback`, and says which, so that a failing run
 * can be repeated. */
static inline void test_seed(const char *prog, uint64_t fallback)
{
    const char *env = getenv("TVP_TEST_SEED");
    uint64_t seed = env && *env ? strtoull(env, NULL, 0) : fallback;
    rng_state = seed ? seed : 1;
    printf("%s: seed %" PRIu64 " (set TVP_TEST_SEED to repeat)\n", prog, seed);
}

/* A test program is a table of sections; argv names one, or none runs them all. */
struct test_section {
    const char *name;
    void (*fn)(void);
};

static inline int test_run(const struct test_section *sections, size_t n, const char *only)
{
    int ran = 0;
    for (size_t i = 0; i < n; i++) {
        if (only && strcmp(only, sections[i].name) != 0)
            continue;
        sections[i].fn();
        printf("ok %s\n", sections[i].name);
        fflush(stdout);
        ran++;
    }
    CHECKF(ran > 0, "no section named '%s'", only ? only : "");
    return 0;
}

static inline void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    CHECK(p != NULL);
    return p;
}

/* ---- bytes and buffers ---- */

/* a[0, alen) and b[0, blen) hold the same bytes (either may be NULL when empty) */
static inline int same(const void *a, size_t alen, const void *b, size_t blen)
{
    return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

static inline int same_buf(const struct tvp_csv_buf *a, const struct tvp_csv_buf *b)
{
    return same(a->data, a->len, b->data, b->len);
}

/* the label holds exactly len bytes at p */
static inline int label_is(struct tvp_label l, const void *p, size_t len)
{
    return same(l.p, l.len, p, len);
}

/* An exact-size heap copy, so that any read past the end is caught (valgrind, ASan). */
static inline char *exact(const void *p, size_t n)
{
    char *c = xmalloc(n);
    if (n)
        memcpy(c, p, n);
    return c;
}

/* Appends n bytes to b, growing it by doubling (from 256 bytes); never fails quietly. */
static inline void buf_add(struct tvp_csv_buf *b, const void *p, size_t n)
{
    if (b->cap - b->len < n) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap - b->len < n)
            cap *= 2;
        b->data = realloc(b->data, cap);
        CHECK(b->data != NULL);
        b->cap = cap;
    }
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
}

static inline void buf_str(struct tvp_csv_buf *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

/* n random letters 'a'..'z' at p */
static inline void rnd_letters(char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (char)('a' + rnd_below(26));
}

/* A label the test owns (malloc'd bytes), and byte order of such labels for qsort:
 * memcmp over the common length, then the shorter first (an oracle of its own, not
 * tvp_label_cmp). */
struct lab {
    char *p;
    size_t len;
};

static inline int lab_cmp(const void *a, const void *b)
{
    const struct lab *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = n ? memcmp(x->p, y->p, n) : 0;
    if (c)
        return c;
    return x->len < y->len ? -1 : x->len > y->len;
}

/* ---- files ---- */

/* The whole file at path, NUL-terminated (malloc'd; *len without the NUL). */
static inline char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    CHECKF(f != NULL, "%s", path);
    struct tvp_csv_buf b = {0};
    char tmp[4096];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        buf_add(&b, tmp, n);
    fclose(f);
    buf_add(&b, "", 1);
    *len = b.len - 1;
    return b.data;
}

/* A temporary folder of the test program's own, /tmp/PROG.XXXXXX: made at the first
 * test_tmpdir() (PROG as test_main names it), removed by test_tmpdir_done() (it must be
 * empty by then; the next test_tmpdir() makes a new one), and by test_main at the end. */
static const char *test_prog = "test";
static char test_tmpdir_path[96];

static inline const char *test_tmpdir(void)
{
    if (!test_tmpdir_path[0]) {
        snprintf(test_tmpdir_path, sizeof test_tmpdir_path, "/tmp/%s.XXXXXX", test_prog);
        CHECK(mkdtemp(test_tmpdir_path) != NULL);
    }
    return test_tmpdir_path;
}

static inline void test_tmpdir_done(void)
{
    if (test_tmpdir_path[0]) {
        CHECKF(rmdir(test_tmpdir_path) == 0, "%s", test_tmpdir_path);
        test_tmpdir_path[0] = 0;
    }
}

/* ---- a test program's main ---- */

/* usage: PROG DATA_FOLDER [SECTION]    runs the section, or every section (not bench)
 *        PROG DATA_FOLDER bench [N]    runs bench(N), N bench_n by default
 * Seeds rnd() first (test_seed(prog, seed)); removes the temporary folder at the end. */
static inline int test_main(int argc, char **argv, const char *prog, uint64_t seed,
                            const struct test_section *sections, size_t nsections,
                            void (*bench)(uint64_t), uint64_t bench_n)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s DATA_FOLDER [SECTION]\n", prog);
        return 2;
    }
    test_prog = prog;
    const char *section = argc > 2 ? argv[2] : NULL;
    test_seed(prog, seed);
    int rc = 0;
    if (bench && section && strcmp(section, "bench") == 0)
        bench(argc > 3 ? strtoull(argv[3], NULL, 0) : bench_n);
    else
        rc = test_run(sections, nsections, section);
    test_tmpdir_done();
    return rc;
}

/* A test program's main: TEST_MAIN("test_x", seed, bench, bench_n, {"name", fn}, ...),
 * the sections in the order they run (bench: NULL or the bench, see test_main). */
#define TEST_MAIN(prog, seed, bench, bench_n, ...)                                         \
    int main(int argc, char **argv)                                                        \
    {                                                                                      \
        static const struct test_section sections_[] = {__VA_ARGS__};                      \
        return test_main(argc, argv, prog, seed, sections_,                                \
                         sizeof sections_ / sizeof sections_[0], bench, bench_n);          \
    }

#endif
