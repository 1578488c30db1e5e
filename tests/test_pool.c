/* Unit tests of posix/pool.c, the process pool library: real fork, real pipes, real
 * signals.  Map of squares against the serial loop for many sizes, chunks and worker
 * counts (pipes, shared memory with copies, shared memory in place); apply_async and get,
 * with and without a timeout; workers that kill themselves (SIGKILL, SIGSEGV, _exit(7)),
 * hang or fail mid-map, with and without replacement; close, join, terminate and destroy
 * leaving no child; SIGPIPE left alone; stdio of the workers; pinning; opt.init (in every
 * worker and replacement; failing at create or in a replacement); tvp_pool_submit (targeted,
 * in place or copied); tvp_pool_here; opt.shared regions used in place; tvp_pool_stats;
 * opt.on_lost.
 *
 * usage: test_pool DATA_FOLDER [SECTION]   (no section: every section but bench)
 *        test_pool DATA_FOLDER bench [N]   map of N squares (10M): pipes, shm copied, shm
 *                                          in place, 2 workers, median of 5 in ms */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "pool.h"
#include "tvp.h"

/* ---- helpers ---------------------------------------------------------------------------- */

/* This process has no child: not running, not a zombie (waitpid would reap one). */
static void check_no_child(const char *when)
{
    int status;
    errno = 0;
    pid_t r = waitpid(-1, &status, WNOHANG);
    CHECKF(r == -1 && errno == ECHILD, "%s: a child is left (waitpid -> %ld, errno %d)", when,
           (long)r, errno);
}

static struct tvp_pool *mkpool(int workers, int replace, int shm, double timeout)
{
    struct tvp_pool_options o = TVP_POOL_OPTIONS_DEFAULT;
    o.replace = replace;
    o.shm = shm;
    o.task_timeout_s = timeout;
    struct tvp_pool *p = tvp_pool_create(workers, &o);
    CHECKF(p != NULL, "create(%d, replace %d, shm %d): %s", workers, replace, shm, strerror(errno));
    CHECK(tvp_pool_workers(p) == workers);
    return p;
}

/* closes, joins (which must succeed), destroys, and checks that nothing is left */
static void endpool(struct tvp_pool *p)
{
    tvp_pool_close(p);
    int err = tvp_pool_join(p);
    CHECKF(err == 0, "join: %d %s", err, tvp_pool_last_error(p));
    CHECK(tvp_pool_workers(p) == 0);
    tvp_pool_destroy(p);
    check_no_child("after join");
}

static int contains(const char *s, const char *part)
{
    return strstr(s, part) != NULL;
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* ---- task functions (they run in the workers) -------------------------------------------- */

static int fn_square(const void *in, void *out, size_t count, void *arg)
{
    (void)arg;
    const int64_t *x = in;
    int64_t *y = out;
    for (size_t i = 0; i < count; i++)
        y[i] = x[i] * x[i];
    return 0;
}

/* int32 in, int64 out: x*x + 1 */
static int fn_widen(const void *in, void *out, size_t count, void *arg)
{
    (void)arg;
    const int32_t *x = in;
    int64_t *y = out;
    for (size_t i = 0; i < count; i++)
        y[i] = (int64_t)x[i] * x[i] + 1;
    return 0;
}

/* no input: every item's result is the size of its chunk */
static int fn_count(const void *in, void *out, size_t count, void *arg)
{
    (void)in;
    (void)arg;
    for (size_t i = 0; i < count; i++)
        ((uint64_t *)out)[i] = count;
    return 0;
}

/* the address each item was read from, in the worker */
static int fn_where(const void *in, void *out, size_t count, void *arg)
{
    (void)arg;
    for (size_t i = 0; i < count; i++)
        ((uint64_t *)out)[i] = (uint64_t)(uintptr_t)((const int64_t *)in + i);
    return 0;
}

/* x[0] + *arg, after sleeping x[1] milliseconds */
static int fn_slow(const void *in, void *out, size_t count, void *arg)
{
    const int64_t *x = in;
    (void)count;
    sleep_s((double)x[1] / 1000.0);
    *(int64_t *)out = x[0] + (arg ? *(const int64_t *)arg : 0);
    return 0;
}

/* the number of PUs this worker may run on, and its pid */
static int fn_affinity(const void *in, void *out, size_t count, void *arg)
{
    (void)in;
    (void)arg;
    cpu_set_t set;
    CPU_ZERO(&set);
    int n = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : -1;
    for (size_t i = 0; i < count; i++) {
        ((int64_t *)out)[2 * i] = n;
        ((int64_t *)out)[2 * i + 1] = getpid();
    }
    sleep_s(0.05); /* so that every worker gets a chunk */
    return 0;
}

/* one item of big_bytes: its int64s squared (the size through arg: it exists before create) */
static const size_t big_bytes = 1 << 21;
static int fn_big(const void *in, void *out, size_t count, void *arg)
{
    return fn_square(in, out, count * *(const size_t *)arg / 8, NULL);
}

static int fn_print(const void *in, void *out, size_t count, void *arg)
{
    (void)out;
    (void)arg;
    for (size_t i = 0; i < count; i++)
        printf("item %" PRId64 "\n", ((const int64_t *)in)[i]);
    return 0;
}

/* Squares, and misbehaves on the chunk that holds item value `at`: on its first run only,
 * or on every run.  Lives in a MAP_SHARED page made before any pool, so the workers'
 * counts reach the test. */
enum fault_kind { FAULT_KILL, FAULT_SEGV, FAULT_EXIT7, FAULT_RET5, FAULT_HANG };
struct fault {
    int64_t at;
    int kind;
    int always;
    int runs; /* runs of the chunk holding `at` */
    int hits; /* of which misbehaved */
    pid_t pid; /* the worker that misbehaved last */
};
static struct fault *fault_page;

static struct fault *fault_arm(int64_t at, int kind, int always)
{
    if (!fault_page) {
        void *a = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        CHECK(a != MAP_FAILED);
        fault_page = a;
    }
    *fault_page = (struct fault){.at = at, .kind = kind, .always = always};
    return fault_page;
}

static int fn_fault(const void *in, void *out, size_t count, void *arg)
{
    struct fault *f = arg;
    const int64_t *x = in;
    int64_t *y = out;
    for (size_t i = 0; i < count; i++)
        y[i] = x[i] * x[i];
    for (size_t i = 0; i < count; i++) {
        if (x[i] != f->at)
            continue;
        int n = __atomic_fetch_add(&f->runs, 1, __ATOMIC_SEQ_CST);
        if (!f->always && n > 0)
            break;
        f->pid = getpid();
        __atomic_fetch_add(&f->hits, 1, __ATOMIC_SEQ_CST);
        switch (f->kind) {
        case FAULT_KILL:
            raise(SIGKILL);
            break;
        case FAULT_SEGV: {
            volatile int *volatile p = NULL; /* a real invalid store, not a raise() */
            *p = 1;
            break;
        }
        case FAULT_EXIT7:
            _exit(7);
        case FAULT_RET5:
            return 5;
        case FAULT_HANG:
            for (;;)
                pause();
        }
        break;
    }
    return 0;
}

static int64_t *iota(size_t n)
{
    int64_t *a = xmalloc(n * sizeof *a);
    for (size_t i = 0; i < n; i++)
        a[i] = (int64_t)i;
    return a;
}

static void check_squares(const int64_t *in, const int64_t *out, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++)
        CHECKF(out[i] == in[i] * in[i], "%s: item %zu: %" PRId64 " for %" PRId64, what, i, out[i],
               in[i]);
}

/* ---- map ------------------------------------------------------------------------------------- */

enum mode { MODE_PIPE, MODE_SHM_COPY, MODE_SHM_INPLACE };
static const char *mode_name[] = {"pipe", "shm copied", "shm in place"};

static void map_case(struct tvp_pool *p, enum mode mode, int workers, size_t n, size_t chunk)
{
    int64_t *in, *out;
    if (mode == MODE_SHM_INPLACE) {
        in = tvp_pool_shared_alloc(p, n * sizeof *in);
        out = tvp_pool_shared_alloc(p, n * sizeof *out);
        CHECK(in && out);
    } else {
        in = xmalloc(n * sizeof *in);
        out = xmalloc(n * sizeof *out);
    }
    for (size_t i = 0; i < n; i++) {
        in[i] = (int64_t)rnd_below(UINT64_C(1) << 31) - (INT64_C(1) << 30);
        out[i] = -1;
    }
    int err = tvp_pool_map(p, fn_square, in, out, n, sizeof *in, sizeof *out, chunk, NULL);
    CHECKF(err == 0, "%s, %d workers, n %zu, chunk %zu: %s", mode_name[mode], workers, n, chunk,
           tvp_pool_last_error(p));
    char what[96];
    snprintf(what, sizeof what, "%s, %d workers, n %zu, chunk %zu", mode_name[mode], workers, n, chunk);
    check_squares(in, out, n, what);
    if (mode == MODE_SHM_INPLACE) {
        tvp_pool_shared_free(p, in);
        tvp_pool_shared_free(p, out);
    } else {
        free(in);
        free(out);
    }
}

static void test_map(void)
{
    static const size_t ns[] = {1, 2, 7, 100, 1000, 4097, 65537, 300001};
    for (int mode = MODE_PIPE; mode <= MODE_SHM_INPLACE; mode++) {
        for (int workers = 1; workers <= 4; workers++) {
            struct tvp_pool *p = mkpool(workers, 0, mode != MODE_PIPE, 0);
            for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
                size_t n = ns[i];
                size_t chunks[] = {0, 1, 3, 64, 1000, n, n + 5, 1 + rnd_below(n)};
                for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
                    if (chunks[c] && n / chunks[c] > 20000)
                        continue; /* 100k round trips of a few items: slow, nothing new */
                    map_case(p, mode, workers, n, chunks[c]);
                }
            }
            endpool(p);
        }
    }

    /* other item sizes: int32 in, int64 out; no input at all; n = 0 */
    for (int shm = 0; shm <= 1; shm++) {
        struct tvp_pool *p = mkpool(3, 0, shm, 0);
        size_t n = 10007;
        int32_t *x = xmalloc(n * sizeof *x);
        int64_t *y = xmalloc(n * sizeof *y);
        for (size_t i = 0; i < n; i++)
            x[i] = (int32_t)rnd_below(1u << 30) - (1 << 29);
        CHECK(tvp_pool_map(p, fn_widen, x, y, n, sizeof *x, sizeof *y, 333, NULL) == 0);
        for (size_t i = 0; i < n; i++)
            CHECKF(y[i] == (int64_t)x[i] * x[i] + 1, "widen, shm %d, item %zu", shm, i);
        uint64_t *c = (uint64_t *)y;
        CHECK(tvp_pool_map(p, fn_count, NULL, c, n, 0, sizeof *c, 1000, NULL) == 0);
        for (size_t i = 0; i < n; i++)
            CHECKF(c[i] == (i < 10000 ? 1000u : 7u), "count, shm %d, item %zu: %" PRIu64, shm, i, c[i]);
        /* the default chunk: about n / (4 * workers) */
        CHECK(tvp_pool_map(p, fn_count, NULL, c, n, 0, sizeof *c, 0, NULL) == 0);
        CHECKF(c[0] == (n + 11) / 12, "default chunk %" PRIu64, c[0]);
        /* ... but through the pipes, at most a pipe's capacity of items */
        size_t m = 1 << 22;
        uint64_t *d = xmalloc(m * sizeof *d);
        CHECK(tvp_pool_map(p, fn_count, NULL, d, m, 0, sizeof *d, 0, NULL) == 0);
        int fds[2];
        CHECK(pipe(fds) == 0);
        (void)fcntl(fds[1], F_SETPIPE_SZ, 1 << 20);
        uint64_t cap = (uint64_t)fcntl(fds[1], F_GETPIPE_SZ) / sizeof *d;
        close(fds[0]);
        close(fds[1]);
        CHECKF(d[0] == (shm ? (m + 11) / 12 : cap), "default chunk of %zu items, shm %d: %" PRIu64,
               m, shm, d[0]);
        free(d);
        CHECK(tvp_pool_map(p, fn_square, NULL, NULL, 0, 8, 8, 0, NULL) == 0);
        /* bad arguments */
        CHECK(tvp_pool_map(p, NULL, x, y, n, 4, 8, 0, NULL) == TVP_EUSAGE);
        CHECK(tvp_pool_map(p, fn_square, NULL, y, n, 8, 8, 0, NULL) == TVP_EUSAGE);
        CHECK(contains(tvp_pool_last_error(p), "bad arguments"));
        free(x);
        free(y);
        endpool(p);
    }
}

/* shared memory: in place means in place, copies when not, pipes when it does not fit */
static void test_shm(void)
{
    /* no arena without opt.shm */
    struct tvp_pool *p = mkpool(2, 0, 0, 0);
    CHECK(tvp_pool_shared_alloc(p, 64) == NULL);
    endpool(p);

    struct tvp_pool_options o = TVP_POOL_OPTIONS_DEFAULT;
    o.shm = 1;
    o.shm_bytes = 1 << 20;
    p = tvp_pool_create(2, &o);
    CHECK(p != NULL);
    size_t n = 20000;
    int64_t *in = tvp_pool_shared_alloc(p, n * sizeof *in);
    uint64_t *out = tvp_pool_shared_alloc(p, n * sizeof *out);
    CHECK(in && out && ((uintptr_t)in % 64) == 0 && ((uintptr_t)out % 64) == 0);
    CHECK((char *)out >= (char *)in + n * sizeof *in || (char *)in >= (char *)out + n * sizeof *out);
    /* in place: the workers read the caller's array at its own address */
    CHECK(tvp_pool_map(p, fn_where, in, out, n, sizeof *in, sizeof *out, 777, NULL) == 0);
    for (size_t i = 0; i < n; i++)
        CHECKF(out[i] == (uint64_t)(uintptr_t)&in[i], "in place: item %zu read elsewhere", i);
    /* private in: copied into the arena, so read elsewhere, but out still in place */
    int64_t *priv = xmalloc(n * sizeof *priv);
    CHECK(tvp_pool_map(p, fn_where, priv, out, n, sizeof *in, sizeof *out, 777, NULL) == 0);
    for (size_t i = 0; i < n; i++)
        CHECK(out[i] != (uint64_t)(uintptr_t)&priv[i] && out[i] != (uint64_t)(uintptr_t)&in[i]);
    /* a range that runs past the end of its block is not used in place: copied */
    uint64_t *where = xmalloc(n * sizeof *where);
    CHECK(tvp_pool_map(p, fn_where, in + n / 2, where, n, 8, 8, 0, NULL) == 0);
    for (size_t i = 0; i < n; i++)
        CHECK(where[i] != (uint64_t)(uintptr_t)&in[n / 2 + i]);
    CHECK(tvp_pool_map(p, fn_where, in + n / 2, where, n / 2, 8, 8, 0, NULL) == 0);
    for (size_t i = 0; i < n / 2; i++)
        CHECK(where[i] == (uint64_t)(uintptr_t)&in[n / 2 + i]);
    free(where);
    /* full: NULL, and a map too large for the arena goes through the pipes, correct */
    CHECK(tvp_pool_shared_alloc(p, 1 << 20) == NULL);
    size_t big = 300000; /* 4.8 MB in and out, the arena 1 MiB */
    int64_t *bi = iota(big), *bo = xmalloc(big * sizeof *bo);
    CHECK(tvp_pool_map(p, fn_square, bi, bo, big, 8, 8, 0, NULL) == 0);
    check_squares(bi, bo, big, "too large for the arena");
    /* freed blocks come back: alloc/free many times, then the whole arena in one */
    tvp_pool_shared_free(p, in);
    tvp_pool_shared_free(p, out);
    for (int i = 0; i < 1000; i++) {
        void *a = tvp_pool_shared_alloc(p, 1 + rnd_below(100000));
        void *b = tvp_pool_shared_alloc(p, 1 + rnd_below(100000));
        CHECK(a && b && a != b);
        tvp_pool_shared_free(p, i % 2 ? a : b);
        tvp_pool_shared_free(p, i % 2 ? b : a);
    }
    void *all = tvp_pool_shared_alloc(p, 1 << 20);
    CHECK(all != NULL);
    tvp_pool_shared_free(p, all);
    /* apply_async through the arena, and through the pipes when the arena is full */
    all = tvp_pool_shared_alloc(p, 1 << 20);
    static int64_t arg = 1000; /* before create: the workers see it (a local made now would not be) */
    int64_t x[2] = {5, 0}, y = 0;
    struct tvp_task *t = tvp_pool_apply_async(p, fn_slow, x, sizeof x, sizeof y, &arg);
    CHECK(t != NULL);
    int err = tvp_result_get(t, &y, 5);
    CHECKF(err == 0 && y == 1005, "arena full: %d, y %" PRId64 ": %s", err, y, tvp_pool_last_error(p));
    tvp_task_free(t);
    tvp_pool_shared_free(p, all);
    t = tvp_pool_apply_async(p, fn_slow, x, sizeof x, sizeof y, &arg);
    CHECK(t && tvp_result_get(t, &y, 5) == 0 && y == 1005);
    tvp_task_free(t);
    free(priv);
    free(bi);
    free(bo);
    endpool(p);
}

/* ---- apply_async and get ------------------------------------------------------------------------ */

static void test_async(void)
{
    for (int shm = 0; shm <= 1; shm++) {
        int64_t arg = 7; /* exists before create: the workers see it */
        struct tvp_pool *p = mkpool(3, 0, shm, 0);
        enum { T = 300 };
        struct tvp_task *t[T];
        for (int i = 0; i < T; i++) {
            int64_t x[2] = {i, 0};
            t[i] = tvp_pool_apply_async(p, fn_slow, x, sizeof x, sizeof(int64_t), &arg);
            CHECK(t[i] != NULL);
            x[0] = -1; /* copied at submission */
            CHECK(tvp_task_id(t[i]) == i);
        }
        for (int i = T - 1; i >= 0; i--) { /* any order */
            int64_t y = -1;
            int err = tvp_result_get(t[i], &y, 10);
            CHECKF(err == 0 && y == i + 7, "shm %d, task %d: err %d, y %" PRId64 ": %s", shm, i,
                   err, y, tvp_pool_last_error(p));
            CHECK(tvp_task_ready(t[i]) == 1);
        }
        /* get again: the same result */
        int64_t y = -1;
        CHECK(tvp_result_get(t[5], &y, 0) == 0 && y == 12);
        for (int i = 0; i < T; i++)
            tvp_task_free(t[i]);

        /* big inputs and outputs through an async task: count 1 of a large item */
        size_t big = big_bytes;
        int64_t *in = iota(big / 8), *out = xmalloc(big);
        struct tvp_task *b = tvp_pool_apply_async(p, fn_big, in, big, big, (void *)&big_bytes);
        CHECK(b != NULL);
        CHECK(tvp_result_get(b, out, 10) == 0);
        check_squares(in, out, big / 8, "one task of 2 MiB");
        tvp_task_free(b);
        free(in);
        free(out);

        /* freed while queued or running: never run, or its result dropped; the pool goes on */
        int64_t slow[2] = {1, 300};
        struct tvp_task *a[6];
        for (int i = 0; i < 6; i++)
            a[i] = tvp_pool_apply_async(p, fn_slow, slow, sizeof slow, 8, NULL);
        for (int i = 0; i < 6; i++)
            tvp_task_free(a[i]);
        int64_t x[2] = {41, 0};
        struct tvp_task *c = tvp_pool_apply_async(p, fn_slow, x, sizeof x, 8, &arg);
        CHECK(tvp_result_get(c, &y, 10) == 0 && y == 48);
        tvp_task_free(c);

        /* closed: no new task */
        tvp_pool_close(p);
        errno = 0;
        CHECK(tvp_pool_apply_async(p, fn_slow, x, sizeof x, 8, NULL) == NULL && errno == EINVAL);
        CHECK(contains(tvp_pool_last_error(p), "closed"));
        int64_t arr[4] = {1, 2, 3, 4};
        CHECK(tvp_pool_map(p, fn_square, arr, arr, 4, 8, 8, 1, NULL) == TVP_EUSAGE);
        CHECK(tvp_pool_join(p) == 0);
        tvp_pool_destroy(p);
        check_no_child("async");
    }
}

/* get with a timeout: TVP_ETIMEOUT on time, the task goes on and its result comes later */
static void test_timeout(void)
{
    struct tvp_pool *p = mkpool(2, 0, 0, 0);
    int64_t x[2] = {3, 600}, y = -1;
    struct tvp_task *t = tvp_pool_apply_async(p, fn_slow, x, sizeof x, sizeof y, NULL);
    double t0 = tvp_now();
    int err = tvp_result_get(t, &y, 0.1);
    double waited = tvp_now() - t0;
    CHECKF(err == TVP_ETIMEOUT, "get(0.1) of a 0.6 s task: %d", err);
    CHECKF(waited >= 0.09 && waited < 1.0, "get(0.1) waited %.3f s", waited);
    CHECK(y == -1);
    CHECK(tvp_pool_last_error_info(p)->code == TVP_ETIMEOUT);
    CHECK(contains(tvp_pool_last_error(p), "task 0: not done after"));
    CHECK(tvp_task_ready(t) == 0);
    CHECK(tvp_result_get(t, &y, 0) == TVP_ETIMEOUT); /* only a look */
    t0 = tvp_now();
    CHECK(tvp_result_get(t, &y, 5) == 0 && y == 3);
    waited = tvp_now() - t0;
    CHECKF(waited > 0.3 && waited < 5, "the rest of the task: %.3f s", waited);
    CHECK(tvp_pool_last_error(p)[0] == 0);
    tvp_task_free(t);
    /* a quick task, done before get: get(0) has it */
    x[1] = 0;
    t = tvp_pool_apply_async(p, fn_slow, x, sizeof x, sizeof y, NULL);
    while (!tvp_task_ready(t))
        sleep_s(0.001);
    CHECK(tvp_result_get(t, &y, 0) == 0 && y == 3);
    tvp_task_free(t);
    endpool(p);
}

/* ---- workers that die ----------------------------------------------------------------------------- */

static const char *kind_signal[] = {"killed by SIGKILL", "killed by SIGSEGV", "exited with status 7"};

/* chunk 3 of 10 (items 300..399) dies on its first run: an error naming it (replace off),
 * or the complete result (replace on); the other workers and the pool go on */
static void death_case(int kind, int replace, int shm)
{
    struct fault *f = fault_arm(350, kind, 0);
    struct tvp_pool *p = mkpool(2, replace, shm, 0);
    pid_t before[2] = {tvp_pool_worker_pid(p, 0), tvp_pool_worker_pid(p, 1)};
    size_t n = 1000;
    int64_t *in = iota(n), *out = xmalloc(n * sizeof *out);
    char what[64];
    snprintf(what, sizeof what, "%s, replace %d, shm %d", kind_signal[kind], replace, shm);
    double t0 = tvp_now();
    int err = tvp_pool_map(p, fn_fault, in, out, n, 8, 8, 100, f);
    CHECKF(tvp_now() - t0 < 10, "%s: map took %.1f s", what, tvp_now() - t0);
    CHECKF(f->hits == 1 && f->pid != 0, "%s: the fault did not happen (%d)", what, f->hits);
    const struct tvp_pool_error *e = tvp_pool_last_error_info(p);
    if (!replace) {
        char pid[32];
        snprintf(pid, sizeof pid, "(pid %ld)", (long)f->pid);
        CHECKF(err == TVP_EWORKER, "%s: map returned %d", what, err);
        CHECKF(contains(tvp_pool_last_error(p), "task 3 (items 300..399): worker ") &&
                   contains(tvp_pool_last_error(p), pid) &&
                   contains(tvp_pool_last_error(p), kind_signal[kind]),
               "%s: message: %s", what, tvp_pool_last_error(p));
        CHECK(e->code == TVP_EWORKER && e->task == 3 && e->first == 300 && e->last == 399);
        CHECK(e->pid == f->pid && e->attempts == 1);
        CHECK(e->worker == (f->pid == before[0] ? 0 : 1) && (f->pid == before[0] || f->pid == before[1]));
        if (kind == FAULT_EXIT7)
            CHECK(e->signal == 0 && e->exit_status == 7);
        else
            CHECK(e->signal == (kind == FAULT_KILL ? SIGKILL : SIGSEGV) && e->exit_status == -1);
        CHECK(tvp_pool_workers(p) == 1);
        CHECK(tvp_pool_worker_pid(p, e->worker) == 0);
        /* the pool goes on with the other worker */
        memset(out, 0, n * sizeof *out);
        CHECK(tvp_pool_map(p, fn_fault, in, out, n, 8, 8, 100, f) == 0);
        check_squares(in, out, n, what);
        CHECK(f->hits == 1 && f->runs == 2);
    } else {
        CHECKF(err == 0, "%s: map returned %d: %s", what, err, tvp_pool_last_error(p));
        check_squares(in, out, n, what);
        CHECK(f->runs == 2); /* the lost chunk ran again */
        CHECK(tvp_pool_workers(p) == 2);
        int slot = f->pid == before[0] ? 0 : 1;
        CHECK(f->pid == before[slot]);
        pid_t now = tvp_pool_worker_pid(p, slot);
        CHECKF(now != 0 && now != before[slot], "%s: no new worker in slot %d", what, slot);
        CHECK(tvp_pool_worker_pid(p, 1 - slot) == before[1 - slot]);
    }
    free(in);
    free(out);
    endpool(p);
}

static void test_kill(void)
{
    for (int shm = 0; shm <= 1; shm++)
        for (int replace = 0; replace <= 1; replace++)
            death_case(FAULT_KILL, replace, shm);

    /* an async task whose worker is killed: named with its task id */
    struct fault *f = fault_arm(42, FAULT_KILL, 0);
    struct tvp_pool *p = mkpool(2, 0, 0, 0);
    int64_t x = 41, y;
    struct tvp_task *ok = tvp_pool_apply_async(p, fn_fault, &x, 8, 8, f);
    x = 42;
    struct tvp_task *t = tvp_pool_apply_async(p, fn_fault, &x, 8, 8, f);
    CHECK(tvp_result_get(t, &y, 10) == TVP_EWORKER);
    CHECKF(contains(tvp_pool_last_error(p), "task 1: worker ") &&
               contains(tvp_pool_last_error(p), "killed by SIGKILL") &&
               !contains(tvp_pool_last_error(p), "items"),
           "%s", tvp_pool_last_error(p));
    CHECK(tvp_result_get(t, &y, 10) == TVP_EWORKER); /* the same, every time */
    CHECK(tvp_pool_last_error_info(p)->task == 1);
    CHECK(tvp_result_get(ok, &y, 10) == 0 && y == 41 * 41);
    tvp_task_free(t);
    tvp_task_free(ok);
    endpool(p);
    /* with replace: the task runs again, get has the result */
    f = fault_arm(42, FAULT_KILL, 0);
    p = mkpool(1, 1, 0, 0);
    t = tvp_pool_apply_async(p, fn_fault, &x, 8, 8, f);
    CHECK(tvp_result_get(t, &y, 10) == 0 && y == 42 * 42);
    CHECK(f->hits == 1 && f->runs == 2);
    tvp_task_free(t);
    endpool(p);

    /* every run dies: with replace, an error after max_attempts runs */
    for (int shm = 0; shm <= 1; shm++) {
        f = fault_arm(250, FAULT_KILL, 1);
        p = mkpool(2, 1, shm, 0);
        size_t n = 1000;
        int64_t *in = iota(n), *out = xmalloc(n * sizeof *out);
        CHECK(tvp_pool_map(p, fn_fault, in, out, n, 8, 8, 100, f) == TVP_EWORKER);
        CHECKF(contains(tvp_pool_last_error(p), "task 2 (items 200..299): worker ") &&
                   contains(tvp_pool_last_error(p), "killed by SIGKILL (attempt 3 of 3)"),
               "%s", tvp_pool_last_error(p));
        CHECK(f->hits == 3 && tvp_pool_last_error_info(p)->attempts == 3);
        CHECK(tvp_pool_workers(p) == 2);
        free(in);
        free(out);
        endpool(p);
    }

    /* every worker dies, replace off: then an error, not a hang */
    f = fault_arm(5, FAULT_KILL, 1);
    p = mkpool(2, 0, 0, 0);
    int64_t *in = iota(100), *out = xmalloc(100 * sizeof *out);
    CHECK(tvp_pool_map(p, fn_fault, in, out, 100, 8, 8, 10, f) == TVP_EWORKER);
    CHECK(tvp_pool_workers(p) == 1);
    CHECK(tvp_pool_map(p, fn_fault, in, out, 100, 8, 8, 10, f) == TVP_EWORKER);
    CHECK(tvp_pool_workers(p) == 0);
    CHECK(contains(tvp_pool_last_error(p), "task 0 (items 0..9): worker "));
    CHECK(tvp_pool_map(p, fn_fault, in, out, 100, 8, 8, 10, f) == TVP_EWORKER);
    CHECKF(contains(tvp_pool_last_error(p), "no worker left") &&
               contains(tvp_pool_last_error(p), "killed by SIGKILL"),
           "%s", tvp_pool_last_error(p));
    t = tvp_pool_apply_async(p, fn_square, &x, 8, 8, NULL);
    CHECK(t && tvp_result_get(t, &y, 1) == TVP_EWORKER);
    tvp_task_free(t);
    free(in);
    free(out);
    endpool(p);

    /* killed from outside while idle: replace off, join says so; replace on, a new one */
    p = mkpool(2, 0, 0, 0);
    pid_t victim = tvp_pool_worker_pid(p, 1);
    CHECK(kill(victim, SIGKILL) == 0);
    tvp_pool_close(p);
    CHECK(tvp_pool_join(p) == TVP_EWORKER);
    CHECKF(contains(tvp_pool_last_error(p), "worker 1") &&
               contains(tvp_pool_last_error(p), "killed by SIGKILL"),
           "%s", tvp_pool_last_error(p));
    tvp_pool_destroy(p);
    check_no_child("after a join with a killed worker");
    p = mkpool(2, 1, 0, 0);
    victim = tvp_pool_worker_pid(p, 0);
    CHECK(kill(victim, SIGKILL) == 0);
    sleep_s(0.05);
    in = iota(1000);
    out = xmalloc(1000 * sizeof *out);
    CHECK(tvp_pool_map(p, fn_square, in, out, 1000, 8, 8, 10, NULL) == 0);
    check_squares(in, out, 1000, "after an idle worker was killed");
    CHECK(tvp_pool_workers(p) == 2 && tvp_pool_worker_pid(p, 0) != victim);
    free(in);
    free(out);
    endpool(p);
}

static void test_segv(void)
{
    for (int shm = 0; shm <= 1; shm++)
        for (int replace = 0; replace <= 1; replace++)
            death_case(FAULT_SEGV, replace, shm);
    death_case(FAULT_EXIT7, 0, 0);
    death_case(FAULT_EXIT7, 1, 0);

    /* fn returns non-zero: TVP_ETASK with its value, the worker lives, no re-run */
    struct fault *f = fault_arm(150, FAULT_RET5, 1);
    struct tvp_pool *p = mkpool(2, 1, 0, 0);
    pid_t w0 = tvp_pool_worker_pid(p, 0), w1 = tvp_pool_worker_pid(p, 1);
    int64_t *in = iota(1000), *out = xmalloc(1000 * sizeof *out);
    CHECK(tvp_pool_map(p, fn_fault, in, out, 1000, 8, 8, 100, f) == TVP_ETASK);
    CHECKF(contains(tvp_pool_last_error(p), "task 1 (items 100..199): fn returned 5 in worker "),
           "%s", tvp_pool_last_error(p));
    CHECK(tvp_pool_last_error_info(p)->fn_rc == 5 && f->runs == 1);
    CHECK(tvp_pool_worker_pid(p, 0) == w0 && tvp_pool_worker_pid(p, 1) == w1);
    int64_t x = 150, y;
    struct tvp_task *t = tvp_pool_apply_async(p, fn_fault, &x, 8, 8, f);
    CHECK(tvp_result_get(t, &y, 5) == TVP_ETASK);
    CHECK(contains(tvp_pool_last_error(p), "task 0: fn returned 5"));
    tvp_task_free(t);
    free(in);
    free(out);
    endpool(p);
}

/* a task that never returns: the timeout kills its worker, then as a death */
static void test_hang(void)
{
    for (int replace = 0; replace <= 1; replace++) {
        for (int shm = 0; shm <= 1; shm++) {
            struct fault *f = fault_arm(250, FAULT_HANG, 0);
            struct tvp_pool *p = mkpool(2, replace, shm, 0.3);
            int64_t *in = iota(1000), *out = xmalloc(1000 * sizeof *out);
            double t0 = tvp_now();
            int err = tvp_pool_map(p, fn_fault, in, out, 1000, 8, 8, 100, f);
            double took = tvp_now() - t0;
            CHECKF(took >= 0.29 && took < 5, "replace %d: map took %.2f s", replace, took);
            CHECK(f->hits == 1);
            if (!replace) {
                CHECK(err == TVP_ETASKTIME);
                char pid[32];
                snprintf(pid, sizeof pid, "(pid %ld)", (long)f->pid);
                const char *m = tvp_pool_last_error(p);
                CHECKF(contains(m, "task 2 (items 200..299): timed out after 0.30 s; worker ") &&
                           contains(m, pid) && contains(m, "killed by SIGKILL"),
                       "%s", m);
                CHECK(tvp_pool_last_error_info(p)->signal == SIGKILL);
                CHECK(tvp_pool_workers(p) == 1);
            } else {
                CHECKF(err == 0, "%s", tvp_pool_last_error(p));
                check_squares(in, out, 1000, "hang, replaced");
                CHECK(f->runs == 2 && tvp_pool_workers(p) == 2);
            }
            free(in);
            free(out);
            endpool(p);
        }
    }
    /* async: get returns TVP_ETASKTIME, not TVP_ETIMEOUT */
    struct fault *f = fault_arm(9, FAULT_HANG, 1);
    struct tvp_pool *p = mkpool(1, 1, 0, 0.2);
    int64_t x = 9, y;
    struct tvp_task *t = tvp_pool_apply_async(p, fn_fault, &x, 8, 8, f);
    double t0 = tvp_now();
    CHECK(tvp_result_get(t, &y, 10) == TVP_ETASKTIME);
    CHECKF(tvp_now() - t0 > 0.55 && tvp_now() - t0 < 5, "3 attempts of 0.2 s: %.2f s", tvp_now() - t0);
    CHECKF(contains(tvp_pool_last_error(p), "task 0: timed out after 0.20 s; worker 0") &&
               contains(tvp_pool_last_error(p), "(attempt 3 of 3)"),
           "%s", tvp_pool_last_error(p));
    CHECK(f->hits == 3);
    tvp_task_free(t);
    endpool(p);
}

/* ---- the pool's life ------------------------------------------------------------------------------- */

static void test_life(void)
{
    check_no_child("at the start");
    errno = 0;
    CHECK(tvp_pool_create(0, NULL) == NULL && errno == EINVAL);
    struct tvp_pool_options bad = TVP_POOL_OPTIONS_DEFAULT;
    bad.task_timeout_s = -1;
    CHECK(tvp_pool_create(2, &bad) == NULL && errno == EINVAL);
    check_no_child("after failed creates");

    /* close + join: every queued task runs first */
    struct tvp_pool *p = mkpool(2, 0, 0, 0);
    CHECK(tvp_pool_join(p) == TVP_EUSAGE); /* not closed */
    CHECK(contains(tvp_pool_last_error(p), "not closed"));
    int64_t x[2] = {1, 50}, y;
    struct tvp_task *t[8];
    for (int i = 0; i < 8; i++) {
        x[0] = i;
        t[i] = tvp_pool_apply_async(p, fn_slow, x, sizeof x, 8, NULL);
    }
    tvp_pool_close(p);
    double t0 = tvp_now();
    CHECK(tvp_pool_join(p) == 0);
    CHECKF(tvp_now() - t0 > 0.15, "join returned before the tasks ran (%.3f s)", tvp_now() - t0);
    check_no_child("after close + join");
    CHECK(tvp_pool_join(p) == 0); /* again: nothing to do */
    for (int i = 0; i < 8; i++) {
        CHECK(tvp_result_get(t[i], &y, 0) == 0 && y == i); /* results outlive the workers */
        tvp_task_free(t[i]);
    }
    tvp_pool_destroy(p);

    /* terminate: running and queued tasks canceled at once, no child left */
    for (int shm = 0; shm <= 1; shm++) {
        p = mkpool(3, 1, shm, 0);
        x[1] = 10000;
        for (int i = 0; i < 8; i++)
            t[i] = tvp_pool_apply_async(p, fn_slow, x, sizeof x, 8, NULL);
        sleep_s(0.05);
        t0 = tvp_now();
        CHECK(tvp_pool_terminate(p) == 0);
        CHECKF(tvp_now() - t0 < 1, "terminate took %.2f s", tvp_now() - t0);
        check_no_child("after terminate");
        CHECK(tvp_pool_workers(p) == 0);
        for (int i = 0; i < 8; i++) {
            CHECK(tvp_result_get(t[i], &y, -1) == TVP_ECANCELED);
            CHECK(contains(tvp_pool_last_error(p), "canceled by tvp_pool_terminate"));
        }
        tvp_task_free(t[0]); /* the rest: destroy frees them */
        CHECK(tvp_pool_join(p) == 0);
        CHECK(tvp_pool_apply_async(p, fn_slow, x, sizeof x, 8, NULL) == NULL);
        tvp_pool_destroy(p);
    }

    /* destroy without join: terminates; a task handle left to destroy */
    p = mkpool(4, 0, 1, 0);
    x[1] = 10000;
    t[0] = tvp_pool_apply_async(p, fn_slow, x, sizeof x, 8, NULL);
    tvp_pool_destroy(p);
    check_no_child("after destroy");
    tvp_pool_destroy(NULL);

    /* many pools, one after another and side by side */
    struct tvp_pool *q[4];
    for (int i = 0; i < 4; i++)
        q[i] = mkpool(2, i % 2, i / 2, 0);
    for (int i = 0; i < 4; i++) {
        int64_t *in = iota(5000), *out = xmalloc(5000 * sizeof *out);
        CHECK(tvp_pool_map(q[i], fn_square, in, out, 5000, 8, 8, 0, NULL) == 0);
        check_squares(in, out, 5000, "pools side by side");
        free(in);
        free(out);
    }
    for (int i = 3; i >= 0; i--) {
        tvp_pool_close(q[i]);
        CHECK(tvp_pool_join(q[i]) == 0);
        tvp_pool_destroy(q[i]);
    }
    check_no_child("after four pools");
}

/* SIGPIPE: never ignored process-wide, and a write to a dead worker does not kill us; a
 * task sent to a worker already dead was never run, so it runs elsewhere */
static void test_sigpipe(void)
{
    struct sigaction sa;
    CHECK(sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL);
    struct tvp_pool *p = mkpool(2, 0, 0, 0);
    pid_t victim = tvp_pool_worker_pid(p, 0);
    CHECK(kill(victim, SIGKILL) == 0);
    /* wait for it to be a zombie: its pipes are closed */
    for (int i = 0; i < 1000; i++) {
        char path[64], st[256];
        snprintf(path, sizeof path, "/proc/%ld/stat", (long)victim);
        FILE *fp = fopen(path, "r");
        CHECK(fp != NULL);
        size_t len = fread(st, 1, sizeof st - 1, fp);
        fclose(fp);
        st[len] = 0;
        char *c = strrchr(st, ')');
        if (c && c[1] == ' ' && c[2] == 'Z')
            break;
        sleep_s(0.001);
    }
    int64_t x[2] = {6, 0}, y;
    struct tvp_task *t = tvp_pool_apply_async(p, fn_slow, x, sizeof x, 8, NULL); /* to worker 0 */
    CHECK(t != NULL);
    CHECKF(tvp_result_get(t, &y, 5) == 0 && y == 6, "%s", tvp_pool_last_error(p));
    CHECK(tvp_pool_workers(p) == 1 && tvp_pool_worker_pid(p, 0) == 0);
    tvp_task_free(t);
    sigset_t pend;
    CHECK(sigpending(&pend) == 0 && !sigismember(&pend, SIGPIPE));
    CHECK(sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL);
    sigset_t mask;
    CHECK(pthread_sigmask(SIG_SETMASK, NULL, &mask) == 0 && !sigismember(&mask, SIGPIPE));
    endpool(p);
}

/* printf in a task reaches stdout once; what the parent had buffered is printed once */
static void test_stdio(void)
{
    char path[128];
    snprintf(path, sizeof path, "%s/out", test_tmpdir());
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK(saved >= 0 && fd >= 0 && dup2(fd, STDOUT_FILENO) == STDOUT_FILENO);
    close(fd);
    setvbuf(stdout, NULL, _IOFBF, 1 << 16); /* a file: fully buffered */
    printf("buffered before create\n");
    struct tvp_pool *p = mkpool(3, 0, 0, 0);
    int64_t *in = iota(40);
    int err = tvp_pool_map(p, fn_print, in, NULL, 40, 8, 0, 3, NULL);
    tvp_pool_close(p);
    int jerr = tvp_pool_join(p);
    tvp_pool_destroy(p);
    fflush(stdout);
    CHECK(dup2(saved, STDOUT_FILENO) == STDOUT_FILENO);
    close(saved);
    setvbuf(stdout, NULL, _IOLBF, 0);
    CHECK(err == 0 && jerr == 0);
    size_t len;
    char *text = slurp(path, &len);
    CHECKF(strstr(text, "buffered before create\n") == text &&
               !strstr(text + 1, "buffered before create"),
           "parent's line not exactly once at the start:\n%s", text);
    for (int i = 0; i < 40; i++) {
        char line[32];
        snprintf(line, sizeof line, "item %d\n", i);
        char *at = strstr(text, line);
        CHECKF(at && !strstr(at + 1, line), "'item %d' not exactly once", i);
    }
    int lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += text[i] == '\n';
    CHECK(lines == 41);
    free(text);
    free(in);
    CHECK(unlink(path) == 0);
}

/* opt.pin: each worker on one PU; without it, on all the process may use */
static void test_pin(void)
{
    cpu_set_t set;
    CHECK(sched_getaffinity(0, sizeof set, &set) == 0);
    int allowed = CPU_COUNT(&set);
    for (int pin = 0; pin <= 1; pin++) {
        struct tvp_pool_options o = TVP_POOL_OPTIONS_DEFAULT;
        o.pin = pin;
        struct tvp_pool *p = tvp_pool_create(2, &o);
        CHECK(p != NULL);
        int64_t out[8 * 2];
        CHECK(tvp_pool_map(p, fn_affinity, NULL, out, 8, 0, 2 * sizeof(int64_t), 1, NULL) == 0);
        for (int i = 0; i < 8; i++)
            CHECKF(out[2 * i] == (pin ? 1 : allowed), "pin %d: worker %" PRId64 " may run on %" PRId64
                   " PUs", pin, out[2 * i + 1], out[2 * i]);
        endpool(p);
    }
    CHECK(sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) == allowed);
}

/* ---- init, submit, here, shared regions, measurements, on_lost ------------------------------ */

/* a page every process sees (MAP_SHARED, made before any pool), for counts and switches */
static void *shared_page(void)
{
    void *a = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(a != MAP_FAILED);
    memset(a, 0, 4096);
    return a;
}

/* what init does, switched from the test */
struct initctl {
    int calls;      /* inits run, in every worker */
    int fail_slot;  /* init in this slot returns fail_rc (-1: none) */
    int fail_rc;
    int crash_slot; /* ... SIGKILLs itself */
    int hang_slot;  /* ... never returns */
    int die_at;     /* fn_whoami: SIGKILL itself once on the item of this value (0: never) */
    int died;
};
static struct initctl *initctl;
static int init_slot = -1; /* the worker's own memory: set by init, read by fn_whoami */

static struct initctl *initctl_arm(void)
{
    if (!initctl)
        initctl = shared_page();
    *initctl = (struct initctl){.fail_slot = -1, .crash_slot = -1, .hang_slot = -1};
    return initctl;
}

static int fn_init(int worker, void *arg)
{
    struct initctl *c = arg;
    __atomic_fetch_add(&c->calls, 1, __ATOMIC_SEQ_CST);
    if (worker == c->fail_slot)
        return c->fail_rc;
    if (worker == c->crash_slot)
        raise(SIGKILL);
    if (worker == c->hang_slot)
        for (;;)
            pause();
    sleep_s(0.005); /* so that t_init is seen */
    init_slot = worker;
    return 0;
}

/* out: init_slot, tvp_pool_here()'s worker, task and first, getpid() (-1s: no here);
 * SIGKILLs itself once when its input is initctl->die_at */
static int fn_whoami(const void *in, void *out, size_t count, void *arg)
{
    (void)count;
    struct initctl *c = arg;
    if (c && in && *(const int64_t *)in == c->die_at &&
        __atomic_fetch_add(&c->died, 1, __ATOMIC_SEQ_CST) == 0)
        raise(SIGKILL);
    const struct tvp_pool_here *h = tvp_pool_here();
    int64_t *y = out;
    y[0] = init_slot;
    y[1] = h ? h->worker : -1;
    y[2] = h ? h->task : -1;
    y[3] = h ? (int64_t)h->first : -1;
    y[4] = getpid();
    return 0;
}
#define WHO_SIZE (5 * sizeof(int64_t))

/* what on_lost was told (it runs in the test's process) */
struct lost_note {
    struct tvp_pool_error e;
    int replacing;
};
static struct lost_note lost_log[16];
static int lost_calls;

static void on_lost_log(const struct tvp_pool_error *e, int replacing, void *arg)
{
    CHECK(arg == (void *)lost_log);
    CHECK(tvp_pool_here() == NULL); /* the caller's process */
    if (lost_calls < 16)
        lost_log[lost_calls] = (struct lost_note){*e, replacing};
    lost_calls++;
}

static struct tvp_pool *mkpool_init(int workers, int replace, double timeout, struct initctl *c)
{
    struct tvp_pool_options o = TVP_POOL_OPTIONS_DEFAULT;
    o.replace = replace;
    o.task_timeout_s = timeout;
    o.init = fn_init;
    o.init_arg = c;
    o.on_lost = on_lost_log;
    o.on_lost_arg = lost_log;
    lost_calls = 0;
    return tvp_pool_create(workers, &o);
}

static struct tvp_task *submit_to(struct tvp_pool *p, tvp_pool_fn *fn, const void *in,
                                  size_t in_size, size_t out_size, int worker, void *arg)
{
    struct tvp_pool_call c = {.fn = fn, .arg = arg, .in = in, .count = 1, .in_size = in_size,
                              .out_size = out_size, .worker = worker};
    struct tvp_task *t = tvp_pool_submit(p, &c);
    CHECKF(t != NULL, "submit to worker %d: %s", worker, tvp_pool_last_error(p));
    return t;
}

/* opt.init: in every worker with its slot, before its first task, in replacements too;
 * a failed init fails create (EIO, nothing left) or empties the slot of a replacement */
static void test_init(void)
{
    struct initctl *c = initctl_arm();
    struct tvp_pool *p = mkpool_init(3, 1, 0, c);
    CHECKF(p != NULL, "create with init: %s", strerror(errno));
    CHECK(c->calls == 3); /* create waited for every init */
    struct tvp_pool_worker_stats ws[3];
    tvp_pool_stats(p, NULL, ws);
    for (int w = 0; w < 3; w++) {
        CHECKF(ws[w].t_init >= 0.004 && ws[w].t_init < 2, "worker %d: t_init %.4f", w, ws[w].t_init);
        CHECK(ws[w].pid == tvp_pool_worker_pid(p, w) && ws[w].pid > 0);
    }
    /* submit for each slot: its own init ran there */
    for (int round = 0; round < 2; round++) {
        for (int w = 2; w >= 0; w--) {
            int64_t who[5];
            struct tvp_task *t = submit_to(p, fn_whoami, NULL, 0, WHO_SIZE, w, NULL);
            CHECK(tvp_result_get(t, who, 5) == 0);
            CHECKF(who[0] == w && who[1] == w && who[4] == tvp_pool_worker_pid(p, w),
                   "targeted at %d: init slot %" PRId64 ", here %" PRId64, w, who[0], who[1]);
            CHECK(who[2] == tvp_task_id(t));
            tvp_task_free(t);
        }
    }
    /* the worker of slot 1 dies in a task targeted at it: its replacement ran init (in
     * slot 1) and the task again, there */
    c->die_at = 77;
    pid_t old = tvp_pool_worker_pid(p, 1);
    int64_t x = 77, who[5];
    struct tvp_task *t = submit_to(p, fn_whoami, &x, 8, WHO_SIZE, 1, c);
    CHECKF(tvp_result_get(t, who, 5) == 0, "%s", tvp_pool_last_error(p));
    pid_t now = tvp_pool_worker_pid(p, 1);
    CHECKF(c->died == 2 && now != old && now > 0 && who[4] == now, "died %d", c->died);
    CHECK(who[0] == 1 && who[1] == 1);
    CHECK(c->calls == 4);
    struct tvp_pool_stats st;
    tvp_pool_stats(p, &st, ws);
    CHECK(st.lost == 1 && st.replaced == 1);
    CHECK(ws[1].pid == now && ws[1].t_init >= 0.004);
    CHECK(lost_calls == 1 && lost_log[0].replacing == 1 && lost_log[0].e.worker == 1 &&
          lost_log[0].e.pid == old && lost_log[0].e.task == tvp_task_id(t));
    tvp_task_free(t);

    /* a replacement whose init fails: one more loss, the slot stays empty, the task
     * targeted at it fails naming it, the others go on */
    c->die_at = 78;
    c->died = 0;
    c->fail_slot = 1;
    c->fail_rc = 9;
    x = 78;
    old = tvp_pool_worker_pid(p, 1);
    t = submit_to(p, fn_whoami, &x, 8, WHO_SIZE, 1, c);
    CHECK(tvp_result_get(t, who, 5) == TVP_EWORKER);
    const struct tvp_pool_error *e = tvp_pool_last_error_info(p);
    CHECKF(e->worker == 1 && contains(e->msg, "worker 1 is gone") &&
               contains(e->msg, "init returned 9 in worker 1"),
           "%s", e->msg);
    CHECK(c->died == 1 && tvp_pool_workers(p) == 2 && tvp_pool_worker_pid(p, 1) == 0);
    tvp_pool_stats(p, &st, NULL);
    CHECK(st.lost == 3 && st.replaced == 1);
    CHECKF(lost_calls == 3 && lost_log[1].e.pid == old && lost_log[1].replacing == 1 &&
               lost_log[2].replacing == 0 && lost_log[2].e.fn_rc == 9 && lost_log[2].e.task == -1,
           "on_lost: %d calls", lost_calls);
    tvp_task_free(t);
    t = submit_to(p, fn_whoami, NULL, 0, WHO_SIZE, 1, NULL); /* the slot is empty */
    CHECK(tvp_result_get(t, who, 5) == TVP_EWORKER && tvp_pool_last_error_info(p)->worker == 1);
    tvp_task_free(t);
    t = submit_to(p, fn_whoami, NULL, 0, WHO_SIZE, -1, NULL); /* any: fine */
    CHECK(tvp_result_get(t, who, 5) == 0 && (who[0] == 0 || who[0] == 2) && who[0] == who[1]);
    tvp_task_free(t);
    endpool(p);

    /* init fails at create: NULL, errno EIO, no child left; on_lost says why */
    static const char *how[] = {"returns 5", "SIGKILL", "hangs"};
    for (int k = 0; k < 3; k++) {
        c = initctl_arm();
        if (k == 0) {
            c->fail_slot = 2;
            c->fail_rc = 5;
        } else if (k == 1) {
            c->crash_slot = 1;
        } else {
            c->hang_slot = 0;
        }
        errno = 0;
        double t0 = tvp_now();
        CHECKF(mkpool_init(4, 1, k == 2 ? 0.2 : 0, c) == NULL && errno == EIO,
               "init %s: errno %d", how[k], errno);
        CHECKF(tvp_now() - t0 < 5, "init %s: create took %.2f s", how[k], tvp_now() - t0);
        check_no_child("after create with a failing init");
        CHECK(lost_calls == 1 && lost_log[0].replacing == 0);
        const char *m = lost_log[0].e.msg;
        if (k == 0)
            CHECKF(contains(m, "init returned 5 in worker 2") && c->calls == 3, "%s", m);
        else if (k == 1)
            CHECKF(contains(m, "in init: worker 1") && contains(m, "killed by SIGKILL") &&
                       lost_log[0].e.signal == SIGKILL && c->calls == 2,
                   "%s", m);
        else
            CHECKF(contains(m, "init timed out after 0.20 s") &&
                       lost_log[0].e.code == TVP_ETASKTIME && tvp_now() - t0 >= 0.19,
                   "%s", m);
    }
}

/* x*x, after sleeping arg milliseconds when arg is set */
static int fn_square_slow(const void *in, void *out, size_t count, void *arg)
{
    if (arg)
        sleep_s((double)*(const int *)arg / 1000.0);
    return fn_square(in, out, count, NULL);
}

/* tvp_pool_submit: targeted, in place or copied, count, first; order and bad arguments */
static void test_submit(void)
{
    static const int slow_ms = 200; /* before create: the workers see it */
    struct tvp_pool *p = mkpool(3, 0, 0, 0);
    size_t n = 5000;
    int64_t *in = iota(n), *out = xmalloc(n * sizeof *out);

    /* in place: no copy of in at submission (changed after submit, before it runs: the
     * change is seen), out written straight into the caller's array */
    struct tvp_task *busy = submit_to(p, fn_square_slow, in, 8, 8, 2, (void *)&slow_ms);
    struct tvp_pool_call c = {.fn = fn_square, .in = in, .out = out, .count = n,
                              .in_size = 8, .out_size = 8, .worker = 2, .in_place = 1};
    memset(out, 0xff, n * sizeof *out);
    struct tvp_task *t = tvp_pool_submit(p, &c);
    CHECK(t != NULL);
    for (size_t i = 0; i < n; i++)
        in[i] = (int64_t)i + 1; /* worker 2 is busy: the task has not run yet */
    CHECK(tvp_task_ready(t) == 0);
    CHECK(tvp_result_get(t, NULL, 5) == 0);
    for (size_t i = 0; i < n; i++)
        CHECKF(out[i] == (int64_t)(i + 1) * (int64_t)(i + 1), "in place: item %zu: %" PRId64, i, out[i]);
    int64_t *again = xmalloc(n * sizeof *again);
    CHECK(tvp_result_get(t, again, 0) == 0 && memcmp(again, out, n * sizeof *out) == 0);
    tvp_task_free(t);
    CHECK(tvp_result_get(busy, NULL, 5) == 0);
    tvp_task_free(busy);

    /* copied (in_place 0): in copied at submission, the result kept by the task */
    busy = submit_to(p, fn_square_slow, in, 8, 8, 2, (void *)&slow_ms);
    c.in_place = 0;
    memset(out, 0, n * sizeof *out);
    t = tvp_pool_submit(p, &c);
    CHECK(t != NULL);
    for (size_t i = 0; i < n; i++)
        in[i] = -7;
    CHECK(tvp_result_get(t, NULL, 5) == 0);
    for (size_t i = 0; i < n; i++)
        CHECK(out[i] == 0); /* not written */
    CHECK(tvp_result_get(t, again, 0) == 0);
    for (size_t i = 0; i < n; i++)
        CHECKF(again[i] == (int64_t)(i + 1) * (int64_t)(i + 1), "copied: item %zu", i);
    tvp_task_free(t);
    tvp_task_free(busy);

    /* first and the task id reach tvp_pool_here; count 0 is a task too */
    int64_t who[5];
    struct tvp_pool_call w = {.fn = fn_whoami, .out = who, .count = 1, .out_size = WHO_SIZE,
                              .first = 123456789, .worker = -1, .in_place = 1};
    t = tvp_pool_submit(p, &w);
    CHECK(t && tvp_result_get(t, NULL, 5) == 0);
    CHECK(who[3] == 123456789 && who[2] == tvp_task_id(t) && who[1] >= 0 && who[1] < 3);
    CHECK(who[4] == tvp_pool_worker_pid(p, (int)who[1]));
    tvp_task_free(t);
    t = tvp_pool_apply_async(p, fn_whoami, NULL, 0, WHO_SIZE, NULL);
    CHECK(t && tvp_result_get(t, who, 5) == 0 && who[3] == 0 && who[2] == tvp_task_id(t));
    tvp_task_free(t);
    struct tvp_pool_call z = {.fn = fn_count, .count = 0, .in_size = 8, .out_size = 8,
                              .worker = 1, .in_place = 1};
    t = tvp_pool_submit(p, &z);
    CHECK(t && tvp_result_get(t, NULL, 5) == 0);
    tvp_task_free(t);

    /* a task for a busy worker waits for it, while the others take the tasks after it */
    busy = submit_to(p, fn_square_slow, in, 8, 8, 0, (void *)&slow_ms);
    struct tvp_task *forw0 = submit_to(p, fn_whoami, NULL, 0, WHO_SIZE, 0, NULL);
    struct tvp_task *any = submit_to(p, fn_whoami, NULL, 0, WHO_SIZE, -1, NULL);
    double t0 = tvp_now();
    CHECK(tvp_result_get(any, who, 5) == 0 && who[1] != 0);
    CHECKF(tvp_now() - t0 < 0.15, "the task for any worker waited %.3f s", tvp_now() - t0);
    CHECK(tvp_task_ready(forw0) == 0);
    CHECK(tvp_result_get(forw0, who, 5) == 0 && who[1] == 0);
    CHECK(tvp_task_ready(busy) == 1);
    tvp_task_free(busy);
    tvp_task_free(forw0);
    tvp_task_free(any);

    /* bad arguments */
    struct tvp_pool_call bad = c;
    bad.worker = 3;
    errno = 0;
    CHECK(tvp_pool_submit(p, &bad) == NULL && errno == EINVAL);
    CHECK(contains(tvp_pool_last_error(p), "tvp_pool_submit: bad arguments"));
    bad.worker = -2;
    CHECK(tvp_pool_submit(p, &bad) == NULL);
    bad = c;
    bad.fn = NULL;
    CHECK(tvp_pool_submit(p, &bad) == NULL);
    bad = c;
    bad.in_place = 1;
    bad.out = NULL;
    CHECK(tvp_pool_submit(p, &bad) == NULL);
    bad = c;
    bad.count = SIZE_MAX / 4;
    CHECK(tvp_pool_submit(p, &bad) == NULL);
    CHECK(tvp_pool_submit(p, NULL) == NULL && tvp_pool_submit(NULL, &c) == NULL);

    /* a task for a slot left empty (no replacement) fails naming it; others run */
    pid_t victim = tvp_pool_worker_pid(p, 1);
    CHECK(kill(victim, SIGKILL) == 0);
    t0 = tvp_now();
    while (tvp_pool_worker_pid(p, 1) != 0 && tvp_now() - t0 < 5) { /* noticed in a call */
        t = submit_to(p, fn_whoami, NULL, 0, WHO_SIZE, 0, NULL);
        CHECK(tvp_result_get(t, who, 5) == 0);
        tvp_task_free(t);
    }
    CHECK(tvp_pool_worker_pid(p, 1) == 0);
    t = submit_to(p, fn_whoami, NULL, 0, WHO_SIZE, 1, NULL);
    CHECK(tvp_result_get(t, who, 5) == TVP_EWORKER);
    {
        const struct tvp_pool_error *e = tvp_pool_last_error_info(p);
        CHECKF(e->worker == 1 && e->task == tvp_task_id(t) && contains(e->msg, "worker 1 is gone") &&
                   contains(e->msg, "killed by SIGKILL"),
               "%s", e->msg);
    }
    tvp_task_free(t);
    c.in_place = 1;
    c.worker = 2;
    for (size_t i = 0; i < n; i++)
        in[i] = (int64_t)i;
    t = tvp_pool_submit(p, &c);
    CHECK(t && tvp_result_get(t, NULL, 5) == 0);
    check_squares(in, out, n, "in place on worker 2, worker 1 gone");
    tvp_task_free(t);
    free(in);
    free(out);
    free(again);
    endpool(p);
}

/* out[i]: fn_whoami's for every item of the chunk */
static int fn_here_map(const void *in, void *out, size_t count, void *arg)
{
    (void)in;
    for (size_t i = 0; i < count; i++)
        fn_whoami(NULL, (int64_t *)out + 5 * i, 1, arg);
    return 0;
}

/* tvp_pool_here: in map, the chunk and its first item; NULL in the caller */
static void test_here(void)
{
    CHECK(tvp_pool_here() == NULL);
    int64_t me[5];
    fn_whoami(NULL, me, 1, NULL);
    CHECK(me[1] == -1 && me[2] == -1 && me[3] == -1);
    for (int shm = 0; shm <= 1; shm++) {
        struct tvp_pool *p = mkpool(3, 0, shm, 0);
        size_t n = 1001, chunk = 7;
        int64_t *out = xmalloc(n * WHO_SIZE);
        CHECK(tvp_pool_map(p, fn_here_map, NULL, out, n, 0, WHO_SIZE, chunk, NULL) == 0);
        int used[3] = {0, 0, 0};
        for (size_t i = 0; i < n; i++) {
            int64_t *y = out + 5 * i;
            CHECKF(y[2] == (int64_t)(i / chunk) && y[3] == (int64_t)(i / chunk * chunk),
                   "shm %d, item %zu: task %" PRId64 ", first %" PRId64, shm, i, y[2], y[3]);
            CHECK(y[1] >= 0 && y[1] < 3 && y[4] == tvp_pool_worker_pid(p, (int)y[1]));
            used[y[1]] = 1;
        }
        CHECK(used[0] + used[1] + used[2] >= 1);
        CHECK(tvp_pool_here() == NULL);
        free(out);
        endpool(p);
    }
}

/* opt.shared: a map or an in-place task whose in/out lie in a region copies nothing (the
 * workers use the caller's addresses, no byte through the pipes); one outside goes
 * through the pipes, correct */
static void test_region(void)
{
    /* in and out in the region, then n items of tail mapped after it but not in it */
    size_t n = 50000, bytes = 2 * n * sizeof(int64_t);
    int64_t *reg = mmap(NULL, bytes + n * 8, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                        -1, 0);
    CHECK(reg != MAP_FAILED);
    int64_t *in = reg, *out = reg + n, *tail = reg + 2 * n;
    struct tvp_pool_region r = {reg, bytes};

    /* bad lists */
    struct tvp_pool_options o = TVP_POOL_OPTIONS_DEFAULT;
    o.nshared = 1;
    errno = 0;
    CHECK(tvp_pool_create(2, &o) == NULL && errno == EINVAL);
    struct tvp_pool_region null_base = {NULL, 64};
    o.shared = &null_base;
    CHECK(tvp_pool_create(2, &o) == NULL && errno == EINVAL);
    o.nshared = -1;
    CHECK(tvp_pool_create(2, &o) == NULL && errno == EINVAL);
    check_no_child("after bad regions");

    for (int shm = 0; shm <= 1; shm++) {
        struct tvp_pool_region copy = r; /* create copies the list: this one goes away */
        o = TVP_POOL_OPTIONS_DEFAULT;
        o.shm = shm;
        o.shm_bytes = 1 << 20;
        o.shared = &copy;
        o.nshared = 1;
        struct tvp_pool *p = tvp_pool_create(3, &o);
        CHECK(p != NULL);
        memset(&copy, 0, sizeof copy);
        for (size_t i = 0; i < n; i++)
            in[i] = (int64_t)rnd_below(1u << 30) - (1 << 29);
        /* in place: read at the caller's address */
        CHECK(tvp_pool_map(p, fn_where, in, out, n, 8, 8, 999, NULL) == 0);
        for (size_t i = 0; i < n; i++)
            CHECKF(out[i] == (int64_t)(uintptr_t)&in[i], "shm %d: item %zu read elsewhere", shm, i);
        tvp_pool_stats_reset(p);
        CHECK(tvp_pool_map(p, fn_square, in, out, n, 8, 8, 0, NULL) == 0);
        check_squares(in, out, n, "in a region");
        struct tvp_pool_worker_stats ws[3];
        tvp_pool_stats(p, NULL, ws);
        uint64_t tasks = 0;
        for (int w = 0; w < 3; w++) {
            CHECKF(ws[w].bytes_in == 0 && ws[w].bytes_out == 0, "shm %d, worker %d: %" PRIu64
                   " bytes in, %" PRIu64 " out", shm, w, ws[w].bytes_in, ws[w].bytes_out);
            tasks += ws[w].tasks;
        }
        CHECK(tasks == 12); /* n / (4 * 3) per chunk */

        /* in in the region, out private (and the reverse): half the bytes through pipes,
         * none staged in the arena */
        int64_t *priv = xmalloc(n * sizeof *priv);
        tvp_pool_stats_reset(p);
        CHECK(tvp_pool_map(p, fn_where, in, priv, n, 8, 8, 0, NULL) == 0);
        for (size_t i = 0; i < n; i++)
            CHECK(priv[i] == (int64_t)(uintptr_t)&in[i]);
        uint64_t bin = 0, bout = 0;
        tvp_pool_stats(p, NULL, ws);
        for (int w = 0; w < 3; w++) {
            bin += ws[w].bytes_in;
            bout += ws[w].bytes_out;
        }
        CHECKF(bin == 0 && bout == (shm ? 0 : n * 8), "shm %d: %" PRIu64 " in, %" PRIu64 " out",
               shm, bin, bout);
        for (size_t i = 0; i < n; i++)
            priv[i] = (int64_t)i - 17;
        CHECK(tvp_pool_map(p, fn_square, priv, out, n, 8, 8, 0, NULL) == 0);
        check_squares(priv, out, n, "private in, out in a region");

        /* a range running past the region's end: not in place, through the pipes (or
         * the arena), still right */
        int64_t *where = xmalloc(n * sizeof *where);
        CHECK(tvp_pool_map(p, fn_where, out + n / 2, where, n, 8, 8, 0, NULL) == 0);
        for (size_t i = 0; i < n; i++)
            CHECK(where[i] != (int64_t)(uintptr_t)&out[n / 2 + i]);
        for (size_t i = 0; i < n; i++) {
            out[i] = (int64_t)i;
            tail[i] = -(int64_t)i;
        }
        tvp_pool_stats_reset(p);
        CHECK(tvp_pool_map(p, fn_square, out + n / 2, where, n, 8, 8, 0, NULL) == 0);
        for (size_t i = 0; i < n; i++) {
            int64_t x = out[n / 2 + i];
            CHECKF(where[i] == x * x, "past the region, item %zu", i);
        }
        tvp_pool_stats(p, NULL, ws);
        bin = 0;
        for (int w = 0; w < 3; w++)
            bin += ws[w].bytes_in;
        CHECKF(bin == (shm ? 0 : n * 8), "past the region: %" PRIu64 " bytes in", bin);

        /* an in-place task in the region: nothing through the pipes */
        tvp_pool_stats_reset(p);
        struct tvp_pool_call c = {.fn = fn_where, .in = in + 10, .out = out + 10, .count = 100,
                                  .in_size = 8, .out_size = 8, .worker = -1, .in_place = 1};
        struct tvp_task *t = tvp_pool_submit(p, &c);
        CHECK(t && tvp_result_get(t, NULL, 5) == 0);
        for (size_t i = 0; i < 100; i++)
            CHECK(out[10 + i] == (int64_t)(uintptr_t)&in[10 + i]);
        tvp_task_free(t);
        tvp_pool_stats(p, NULL, ws);
        for (int w = 0; w < 3; w++)
            CHECK(ws[w].bytes_in == 0 && ws[w].bytes_out == 0);
        /* copied (in_place 0), though in the region: a copy, read elsewhere */
        c.in_place = 0;
        t = tvp_pool_submit(p, &c);
        CHECK(t && tvp_result_get(t, where, 5) == 0);
        CHECK(where[0] != (int64_t)(uintptr_t)&in[10]);
        tvp_task_free(t);
        free(where);
        free(priv);
        endpool(p);
    }
    CHECK(munmap(reg, bytes + n * 8) == 0);
}

/* touches arg MiB of fresh memory, frees it */
static int fn_alloc(const void *in, void *out, size_t count, void *arg)
{
    (void)in;
    (void)out;
    (void)count;
    size_t bytes = (size_t)*(const int *)arg << 20;
    char *m = malloc(bytes);
    if (!m)
        return 1;
    for (size_t i = 0; i < bytes; i += 4096)
        ((volatile char *)m)[i] = 1;
    free(m);
    return 0;
}

/* tvp_pool_stats: tasks, bytes and times per worker, PU, RSS; reset */
static void test_stats(void)
{
    static const int mib = 48; /* before create */
    struct fault *f = fault_arm(3, FAULT_RET5, 1); /* its page too */
    cpu_set_t set;
    CHECK(sched_getaffinity(0, sizeof set, &set) == 0);
    struct tvp_pool *p = mkpool(3, 0, 0, 0);
    struct tvp_pool_stats st;
    struct tvp_pool_worker_stats ws[3];
    tvp_pool_stats(p, &st, ws);
    CHECK(st.lost == 0 && st.replaced == 0 && st.t_detect == 0 && st.t_recovery == 0);
    for (int w = 0; w < 3; w++)
        CHECK(ws[w].tasks == 0 && ws[w].pu == -1 && ws[w].t_init == 0 &&
              ws[w].pid == tvp_pool_worker_pid(p, w));

    size_t n = 30000;
    int64_t *in = iota(n), *out = xmalloc(n * sizeof *out);
    CHECK(tvp_pool_map(p, fn_square, in, out, n, 8, 8, 1000, NULL) == 0);
    CHECK(tvp_pool_map(p, fn_square, in, out, n, 8, 8, 3000, NULL) == 0);
    tvp_pool_stats(p, &st, ws);
    uint64_t tasks = 0, bin = 0, bout = 0;
    for (int w = 0; w < 3; w++) {
        tasks += ws[w].tasks;
        bin += ws[w].bytes_in;
        bout += ws[w].bytes_out;
        if (ws[w].tasks) {
            CHECKF(ws[w].t_in > 0 && ws[w].t_fn > 0 && ws[w].t_out > 0 && ws[w].t_in < 5 &&
                       ws[w].t_fn < 5 && ws[w].t_out < 5,
                   "worker %d: t_in %g, t_fn %g, t_out %g", w, ws[w].t_in, ws[w].t_fn, ws[w].t_out);
            CHECKF(ws[w].pu >= 0 && ws[w].pu < CPU_SETSIZE && CPU_ISSET(ws[w].pu, &set),
                   "worker %d on PU %d", w, ws[w].pu);
            CHECK(ws[w].rss_kb >= 0 && ws[w].rss_kb < 100000);
        }
    }
    CHECK_EQ_U64(tasks, 30 + 10);
    CHECK_EQ_U64(bin, 2 * n * 8);
    CHECK_EQ_U64(bout, 2 * n * 8);
    CHECK(st.lost == 0 && st.replaced == 0);

    /* fn that returns non-zero still counts (it returned); RSS of what a task allocated */
    int64_t x = 3, y;
    struct tvp_task *t = submit_to(p, fn_fault, &x, 8, 8, 2, f);
    CHECK(tvp_result_get(t, &y, 5) == TVP_ETASK);
    tvp_task_free(t);
    t = submit_to(p, fn_alloc, NULL, 0, 0, 1, (void *)&mib);
    CHECK(tvp_result_get(t, NULL, 5) == 0);
    tvp_task_free(t);
    struct tvp_pool_worker_stats after[3];
    tvp_pool_stats(p, NULL, after);
    CHECK(after[2].tasks == ws[2].tasks + 1 && after[2].bytes_in == ws[2].bytes_in + 8 &&
          after[2].bytes_out == ws[2].bytes_out);
    CHECKF(after[1].rss_kb >= (mib - 8) * 1024, "worker 1 touched %d MiB: rss_kb %ld", mib,
           after[1].rss_kb);

    /* reset: every count back to none, pid kept */
    tvp_pool_stats_reset(p);
    tvp_pool_stats(p, &st, ws);
    for (int w = 0; w < 3; w++)
        CHECK(ws[w].tasks == 0 && ws[w].bytes_in == 0 && ws[w].bytes_out == 0 && ws[w].t_in == 0 &&
              ws[w].t_fn == 0 && ws[w].t_out == 0 && ws[w].rss_kb == 0 && ws[w].pu == -1 &&
              ws[w].pid == tvp_pool_worker_pid(p, w) && ws[w].pid > 0);
    CHECK(tvp_pool_map(p, fn_square, in, out, 100, 8, 8, 10, NULL) == 0);
    tvp_pool_stats(p, NULL, ws);
    CHECK(ws[0].tasks + ws[1].tasks + ws[2].tasks == 10);
    tvp_pool_stats(p, NULL, NULL); /* both may be NULL */
    tvp_pool_stats(NULL, &st, NULL);
    CHECK(st.lost == 0);
    free(in);
    free(out);
    endpool(p);
}

/* opt.on_lost, and the losses in tvp_pool_stats */
static void test_lost(void)
{
    for (int replace = 0; replace <= 1; replace++) {
        struct fault *f = fault_arm(350, FAULT_KILL, 0);
        struct tvp_pool_options o = TVP_POOL_OPTIONS_DEFAULT;
        o.replace = replace;
        o.on_lost = on_lost_log;
        o.on_lost_arg = lost_log;
        lost_calls = 0;
        struct tvp_pool *p = tvp_pool_create(2, &o);
        CHECK(p != NULL);
        pid_t before[2] = {tvp_pool_worker_pid(p, 0), tvp_pool_worker_pid(p, 1)};
        size_t n = 1000;
        int64_t *in = iota(n), *out = xmalloc(n * sizeof *out);
        int err = tvp_pool_map(p, fn_fault, in, out, n, 8, 8, 100, f);
        CHECKF(err == (replace ? 0 : TVP_EWORKER), "replace %d: %d", replace, err);
        CHECKF(lost_calls == 1, "replace %d: on_lost called %d times", replace, lost_calls);
        const struct tvp_pool_error *e = &lost_log[0].e;
        int slot = f->pid == before[0] ? 0 : 1;
        CHECK(f->pid == before[slot]);
        CHECKF(e->worker == slot && e->pid == f->pid && e->signal == SIGKILL &&
                   e->exit_status == -1 && e->code == TVP_EWORKER && e->task == 3 &&
                   e->first == 300 && e->last == 399 && e->attempts == 1,
               "replace %d: %s", replace, e->msg);
        CHECK(contains(e->msg, "task 3 (items 300..399): worker ") &&
              contains(e->msg, "killed by SIGKILL"));
        CHECK(lost_log[0].replacing == replace);
        struct tvp_pool_stats st;
        tvp_pool_stats(p, &st, NULL);
        CHECK(st.lost == 1 && st.replaced == replace);
        CHECKF(st.t_detect > 0 && st.t_detect < 5, "t_detect %g", st.t_detect);
        if (replace) {
            check_squares(in, out, n, "lost, replaced");
            CHECKF(st.t_recovery > 0 && st.t_recovery < 5, "t_recovery %g", st.t_recovery);
        } else {
            CHECK(st.t_recovery == 0);
        }
        tvp_pool_stats_reset(p);
        tvp_pool_stats(p, &st, NULL);
        CHECK(st.lost == 0 && st.replaced == 0 && st.t_detect == 0 && st.t_recovery == 0);
        free(in);
        free(out);
        endpool(p);
    }

    /* an idle worker killed from outside: task -1; every run of a task lost: the last
     * loss is not followed by a re-run (replacing 0), though by a new worker */
    struct fault *f = fault_arm(5, FAULT_KILL, 1);
    struct tvp_pool_options o = TVP_POOL_OPTIONS_DEFAULT;
    o.replace = 1;
    o.max_attempts = 2;
    o.on_lost = on_lost_log;
    o.on_lost_arg = lost_log;
    lost_calls = 0;
    struct tvp_pool *p = tvp_pool_create(2, &o);
    CHECK(p != NULL);
    pid_t victim = tvp_pool_worker_pid(p, 1);
    CHECK(kill(victim, SIGKILL) == 0);
    sleep_s(0.05);
    int64_t x = 4, y;
    struct tvp_task *t = tvp_pool_apply_async(p, fn_fault, &x, 8, 8, f);
    CHECK(tvp_result_get(t, &y, 5) == 0 && y == 16);
    tvp_task_free(t);
    CHECKF(lost_calls == 1 && lost_log[0].e.task == -1 && lost_log[0].e.pid == victim &&
               lost_log[0].e.worker == 1 && lost_log[0].replacing == 1,
           "%d calls", lost_calls);
    CHECK(tvp_pool_worker_pid(p, 1) != victim && tvp_pool_workers(p) == 2);
    x = 5;
    t = tvp_pool_apply_async(p, fn_fault, &x, 8, 8, f);
    CHECK(tvp_result_get(t, &y, 5) == TVP_EWORKER);
    CHECKF(lost_calls == 3 && lost_log[1].replacing == 1 && lost_log[2].replacing == 0 &&
               lost_log[1].e.task == tvp_task_id(t) && lost_log[2].e.attempts == 2,
           "%d calls", lost_calls);
    CHECK(contains(lost_log[2].e.msg, "(attempt 2 of 2)"));
    CHECK(tvp_pool_workers(p) == 2);
    tvp_task_free(t);
    struct tvp_pool_stats st;
    tvp_pool_stats(p, &st, NULL);
    CHECK(st.lost == 3 && st.replaced == 3);
    endpool(p);

    /* a timeout: TVP_ETASKTIME */
    f = fault_arm(9, FAULT_HANG, 1);
    o.max_attempts = 1;
    o.task_timeout_s = 0.2;
    lost_calls = 0;
    p = tvp_pool_create(1, &o);
    CHECK(p != NULL);
    x = 9;
    t = tvp_pool_apply_async(p, fn_fault, &x, 8, 8, f);
    CHECK(tvp_result_get(t, &y, 5) == TVP_ETASKTIME);
    CHECK(lost_calls == 1 && lost_log[0].e.code == TVP_ETASKTIME && lost_log[0].e.signal == SIGKILL &&
          lost_log[0].replacing == 0 && contains(lost_log[0].e.msg, "timed out after 0.20 s"));
    tvp_task_free(t);
    endpool(p);

    /* a submitted task's loss names its items, first..first + count - 1 */
    f = fault_arm(505, FAULT_KILL, 1);
    o = TVP_POOL_OPTIONS_DEFAULT;
    o.on_lost = on_lost_log;
    o.on_lost_arg = lost_log;
    lost_calls = 0;
    p = tvp_pool_create(2, &o);
    CHECK(p != NULL);
    int64_t *in = iota(600), sq[10];
    struct tvp_pool_call c = {.fn = fn_fault, .arg = f, .in = in + 500, .out = sq, .count = 10,
                              .in_size = 8, .out_size = 8, .first = 500, .worker = -1};
    t = tvp_pool_submit(p, &c);
    CHECK(t && tvp_result_get(t, sq, 5) == TVP_EWORKER);
    const struct tvp_pool_error *e = tvp_pool_last_error_info(p);
    CHECKF(e->first == 500 && e->last == 509 && e->task == tvp_task_id(t) &&
               contains(e->msg, "(items 500..509): worker "),
           "%s", e->msg);
    CHECK(lost_calls == 1 && lost_log[0].e.first == 500 && lost_log[0].e.last == 509);
    tvp_task_free(t);
    free(in);
    CHECK(tvp_pool_workers(p) == 1);
    endpool(p);
}

/* ---- bench -------------------------------------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void bench(uint64_t n)
{
    if (n == 0)
        n = 10000000;
    printf("tvp_pool_map of squares over %" PRIu64 " int64, 2 workers, default chunk, median of 5"
           " (after one untimed map)\n", n);
    for (int mode = MODE_PIPE; mode <= MODE_SHM_INPLACE; mode++) {
        struct tvp_pool_options o = TVP_POOL_OPTIONS_DEFAULT;
        o.shm = mode != MODE_PIPE;
        o.shm_bytes = 4 * n * sizeof(int64_t);
        double tc0 = tvp_now();
        struct tvp_pool *p = tvp_pool_create(2, &o);
        double tc = tvp_now() - tc0;
        CHECK(p != NULL);
        int64_t *in, *out;
        if (mode == MODE_SHM_INPLACE) {
            in = tvp_pool_shared_alloc(p, n * sizeof *in);
            out = tvp_pool_shared_alloc(p, n * sizeof *out);
        } else {
            in = tvp_alloc_touched(n * sizeof *in);
            out = tvp_alloc_touched(n * sizeof *out);
        }
        CHECK(in && out);
        for (uint64_t i = 0; i < n; i++)
            in[i] = (int64_t)i;
        double t[6];
        for (int r = 0; r < 6; r++) {
            double t0 = tvp_now();
            int err = tvp_pool_map(p, fn_square, in, out, n, 8, 8, 0, NULL);
            t[r] = tvp_now() - t0;
            CHECKF(err == 0, "%s", tvp_pool_last_error(p));
        }
        check_squares(in, out, n, "bench");
        qsort(t + 1, 5, sizeof t[0], cmp_double);
        printf("  %-13s %8.1f ms  (min %.1f, max %.1f; first %.1f; create %.1f ms)\n",
               mode_name[mode], t[3] * 1e3, t[1] * 1e3, t[5] * 1e3, t[0] * 1e3, tc * 1e3);
        if (mode != MODE_SHM_INPLACE) {
            tvp_free(in);
            tvp_free(out);
        }
        endpool(p);
    }
}

TEST_MAIN("test_pool", UINT64_C(0x9001), bench, 10000000, {"map", test_map}, {"shm", test_shm},
          {"async", test_async}, {"timeout", test_timeout}, {"kill", test_kill},
          {"segv", test_segv}, {"hang", test_hang}, {"life", test_life},
          {"sigpipe", test_sigpipe}, {"stdio", test_stdio}, {"pin", test_pin},
          {"init", test_init}, {"submit", test_submit}, {"here", test_here},
          {"region", test_region}, {"stats", test_stats}, {"lost", test_lost})
