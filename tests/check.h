/* Assertions for the C tests that are never compiled out (unlike assert.h under
 * -DNDEBUG, which the Release build sets).  In the spirit of libuv's test/task.h: a failed
 * check prints file:line and the expression (and, for the typed variants, both values)
 * and exits 1 at once. */
#ifndef TVP_TEST_CHECK_H
#define TVP_TEST_CHECK_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

#endif
