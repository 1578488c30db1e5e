/* A pool of fork()ed worker processes as a library (pool.h): Python's multiprocessing.Pool.
 *
 * Worker w has two pipes: the parent writes tasks into `cmd`, the worker writes results
 * into `res`.  Every message is one fixed-size struct pool_msg (fits in PIPE_BUF), then
 * `payload` bytes: a task's input, a result's output, when they travel by pipe; when they
 * lie in memory every worker shares (the arena, opt.shared) the header carries their
 * addresses instead, which the worker checks against that memory before using them.
 *
 *   READY   once, before the first task, with opt.init: rc (what init returned), t_fn
 *           (its time); the parent waits for it in pool_fork
 *   TASK    id, task/first (tvp_pool_here), fn, arg, count, item sizes, in_at/out_at (or
 *           POOL_NO_AT), t_sent (the parent's clock when it began sending), payload: input
 *   RESULT  id (echoed), rc (what fn returned), err (the worker's own), the measurements
 *           (t_in, t_fn, pu, rss_kb, t_sent: the worker's clock), payload: output
 *   EXIT    no reply: the worker _exit(0)s (end of file on cmd does the same)
 *
 * A payload of 64 KiB or more is vmspliced: the pipe holds references to the writer's
 * pages and the reader's read() is the one copy.  With the arena and a caller's private
 * in/out, a chunk's input is copied into the arena just before the chunk is sent and its
 * output back as soon as it is done, while the workers compute the others.
 *
 * The parent has no thread of its own.  Inside the API calls it runs an event loop
 * (pool_step): hands queued work to idle workers (one task in flight per worker), then
 * poll()s every worker's result pipe (busy or not: an idle worker's end of file is its
 * death) and the command pipes it is still writing to.  Its ends of the pipes are
 * non-blocking, so a worker that stops reading or writing never stops the loop, and the
 * per-task deadlines are poll's timeout.
 *
 * A death (end of file, EPIPE, a deadline, a protocol error) goes to pool_lost: the
 * worker is killed if it is not dead yet, reaped with a bound on the wait, its wait status
 * decoded into the message, its task re-queued (opt.replace, attempts left) or failed, and
 * opt.on_lost told.  With opt.replace a new worker is forked in its slot. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* F_SETPIPE_SZ, vmsplice */
#endif

#include "pool.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "pin.h"

#define POOL_NO_OFF UINT64_MAX /* no arena block */
#define POOL_NO_AT UINT64_MAX  /* in a message: not in shared memory, through the pipe */
#define POOL_PIPE_BYTES (1 << 20)
#define POOL_ARENA_DEFAULT ((size_t)1 << 30)
#define POOL_ALIGN 64
#define POOL_REAP_GRACE_S 2.0 /* a worker whose pipe ended has this long to be reapable */
#define POOL_JOIN_GRACE_S 10.0 /* join: an idle worker told to exit has this long */

enum pool_msg_type { POOL_MSG_TASK = 1, POOL_MSG_RESULT, POOL_MSG_EXIT, POOL_MSG_READY };
enum pool_exit { POOL_EXIT_OK = 0, POOL_EXIT_PROTOCOL = 2, POOL_EXIT_INIT = 3 };

struct pool_msg {
    uint32_t type;
    int32_t err; /* RESULT: 0, or the worker's own failure (TVP_ENOMEM) */
    int32_t rc;  /* RESULT: what fn returned; READY: what init returned */
    int32_t pu;  /* RESULT: sched_getcpu() right after fn, -1: unknown */
    uint64_t id; /* TASK: a number of its own per send; RESULT: the same */
    uint64_t fn, arg;
    uint64_t count, in_size, out_size;
    uint64_t in_at, out_at; /* addresses in the shared memory, or POOL_NO_AT: the pipe */
    uint64_t payload;       /* bytes that follow */
    int64_t task;           /* TASK: what tvp_pool_here says */
    uint64_t first;
    int64_t rss_kb; /* RESULT: peak RSS now less peak RSS at fork */
    double t_sent;  /* TASK: the parent's tvp_now() when it began sending it; RESULT: the
                       worker's when it began sending the result */
    double t_in, t_fn; /* RESULT: the task's input time, fn's time; READY: t_fn, init's */
};
_Static_assert(sizeof(struct pool_msg) <= PIPE_BUF, "pool_msg must fit in PIPE_BUF");

enum pool_task_state { TASK_QUEUED, TASK_RUNNING, TASK_DONE, TASK_FAILED };

struct tvp_task {
    struct tvp_pool *pool;
    int64_t id;
    tvp_pool_fn *fn;
    void *arg;
    size_t count, in_size, out_size;
    uint64_t first;
    int worker;   /* the slot that must run it, -1: any */
    int in_place; /* in and out are the caller's (tvp_pool_call.in_place) */
    int items;    /* tvp_pool_submit's: its errors name items first..first + count - 1 */
    char *in, *out;           /* private copies (copying, through the pipes), or NULL */
    uint64_t in_off, out_off; /* arena blocks of its own (copying, opt.shm), or POOL_NO_OFF */
    const char *in_sh;        /* in and out where the workers see them (arena, opt.shared), */
    char *out_sh;             /* or NULL: through the pipes, */
    const char *in_src;       /* from in_src */
    char *out_dst;            /* to out_dst */
    double t_lost; /* re-queued after a loss: when that was noticed (t_recovery); 0: not */
    enum pool_task_state state;
    int attempts;
    int orphan; /* freed by the caller while running: dropped when it ends */
    struct tvp_pool_error err;
    struct tvp_task *qnext;      /* the queue */
    struct tvp_task *prev, *next; /* every task the caller holds */
};

/* one map at a time: the caller is inside tvp_pool_map */
struct pool_retry {
    uint64_t chunk;
    int attempts;  /* runs so far */
    double t_lost; /* when its loss was noticed */
};
struct pool_map {
    tvp_pool_fn *fn;
    void *arg;
    const char *in;
    char *out;
    size_t n, in_size, out_size, chunk;
    char *in_sh, *out_sh;    /* in[0] and out[0] where the workers see them, or NULL: pipes */
    int stage_in, stage_out; /* those are the pool's copies of in/out, chunk by chunk */
    uint64_t nchunks, next, done, running;
    struct pool_retry *retry; /* chunks to run again, at most one per worker */
    size_t nretry;
    int stopped; /* a chunk failed: nothing more is sent */
    struct tvp_pool_error err;
};

struct pool_worker {
    pid_t pid; /* 0: the slot is empty */
    int cmd, res;
    int busy;
    struct tvp_task *task; /* the work in flight: an async task, or map chunk `chunk` */
    uint64_t chunk;
    int attempts; /* of the work in flight, this run included */
    double start, deadline;
    double t_lost; /* the work in flight was lost before: when that was noticed; else 0 */
    struct pool_msg sh; /* sending: header, then slen bytes from sp; sdone of both */
    const char *sp;
    size_t slen, sdone;
    struct pool_msg rh; /* receiving: header, then rlen bytes to rdst (NULL: dropped) */
    char *rdst;
    size_t rlen, rdone;
};

/* What outlives the workers of a slot: its measurements, and why it was emptied. */
struct pool_slot {
    struct tvp_pool_worker_stats st; /* pid: not kept here (pool_worker's) */
    char note[224];                  /* the last loss in the slot */
};

struct pool_block {
    size_t off, len;
    int used;
};

struct tvp_pool {
    struct tvp_pool_options opt; /* opt.shared: the pool's own copy, `regions` */
    struct tvp_pool_region *regions;
    int nworkers;
    struct pool_worker *w;
    struct pool_slot *slot;     /* [nworkers] */
    struct tvp_pool_stats st;
    struct pollfd *pfd; /* [2 * nworkers] */
    size_t pipe_cap;    /* the smallest capacity of its pipes */
    int *pfd_w;
    struct tvp_topo *topo;
    int *pu;
    pid_t parent;
    /* the arena (opt.shm) and its blocks, in order of offset */
    char *arena;
    size_t arena_size;
    struct pool_block *blk;
    size_t nblk, capblk;
    /* work */
    struct tvp_task *qhead, *qtail; /* async tasks not yet sent */
    struct tvp_task *tasks;         /* every task the caller holds */
    int64_t next_id;
    uint64_t next_wire;
    struct pool_map *map;
    int closed, terminated, joined;
    char dead_note[160]; /* the last death of a worker, for "no worker left" */
    struct tvp_pool_error last;
    sigset_t caller_mask; /* inside a call: the caller's signal mask, for new workers */
};

/* ---- errors ------------------------------------------------------------------------------ */

const char *tvp_pool_strerror(int err)
{
    switch (err) {
    case TVP_ETIMEOUT: return "timed out waiting for the result";
    case TVP_ETASKTIME: return "the task ran past its timeout";
    case TVP_ETASK: return "the task's function failed";
    case TVP_ECANCELED: return "the task was canceled";
    default: return tvp_strerror(err);
    }
}

/* e->msg from its fields: "task 3 (items 300..399): " then what happened (cause) */
static void pool_err_msg(struct tvp_pool_error *e, const char *cause)
{
    char task[96] = "";
    if (e->task >= 0 && e->last >= e->first && e->first != UINT64_MAX)
        snprintf(task, sizeof task, "task %" PRId64 " (items %" PRIu64 "..%" PRIu64 "): ",
                 e->task, e->first, e->last);
    else if (e->task >= 0)
        snprintf(task, sizeof task, "task %" PRId64 ": ", e->task);
    snprintf(e->msg, sizeof e->msg, "%s%.223s", task, cause);
}

static void pool_err_init(struct tvp_pool_error *e, int code, int64_t task)
{
    *e = (struct tvp_pool_error){.code = code, .task = task, .first = UINT64_MAX,
                                 .worker = -1, .exit_status = -1};
}

static int pool_fail_call(struct tvp_pool *p, int code, const char *msg)
{
    pool_err_init(&p->last, code, -1);
    snprintf(p->last.msg, sizeof p->last.msg, "%s", msg);
    return code;
}

const char *tvp_pool_last_error(const struct tvp_pool *pool)
{
    return pool ? pool->last.msg : "no pool";
}

const struct tvp_pool_error *tvp_pool_last_error_info(const struct tvp_pool *pool)
{
    return &pool->last;
}

/* ---- SIGPIPE: blocked while the pool writes, one it caused taken back -------------------- */

struct pool_sig {
    sigset_t old;
    int pending_before;
};

static void pool_sig_block(struct tvp_pool *p, struct pool_sig *s)
{
    sigset_t set, pend;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, &s->old);
    p->caller_mask = s->old;
    s->pending_before = sigpending(&pend) == 0 && sigismember(&pend, SIGPIPE);
}

static void pool_sig_restore(struct pool_sig *s)
{
    sigset_t set, pend;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    if (!s->pending_before && sigpending(&pend) == 0 && sigismember(&pend, SIGPIPE)) {
        struct timespec zero = {0, 0};
        int saved = errno;
        while (sigtimedwait(&set, NULL, &zero) < 0 && errno == EINTR)
            ;
        errno = saved;
    }
    pthread_sigmask(SIG_SETMASK, &s->old, NULL);
}

/* ---- the arena --------------------------------------------------------------------------- */

static int pool_arena_open(struct tvp_pool *p)
{
    size_t size = p->opt.shm_bytes ? p->opt.shm_bytes : POOL_ARENA_DEFAULT;
    size = (size + 4095) & ~(size_t)4095;
    void *a = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    if (a == MAP_FAILED)
        return TVP_ESYS;
    p->blk = malloc(16 * sizeof *p->blk);
    if (!p->blk) {
        munmap(a, size);
        return TVP_ENOMEM;
    }
    p->arena = a;
    p->arena_size = size;
    p->capblk = 16;
    p->nblk = 1;
    p->blk[0] = (struct pool_block){0, size, 0};
    return 0;
}

/* First fit; the offset of a block of `bytes`, or POOL_NO_OFF when none is free. */
static uint64_t pool_arena_take(struct tvp_pool *p, size_t bytes)
{
    if (!p->arena || bytes > p->arena_size)
        return POOL_NO_OFF;
    size_t len = (bytes + POOL_ALIGN - 1) & ~(size_t)(POOL_ALIGN - 1);
    if (len == 0)
        len = POOL_ALIGN;
    for (size_t i = 0; i < p->nblk; i++) {
        struct pool_block *b = &p->blk[i];
        if (b->used || b->len < len)
            continue;
        if (b->len > len) { /* split: the rest becomes a free block right after */
            if (p->nblk == p->capblk) {
                struct pool_block *nb = realloc(p->blk, 2 * p->capblk * sizeof *nb);
                if (!nb)
                    return POOL_NO_OFF;
                p->blk = nb;
                p->capblk *= 2;
                b = &p->blk[i];
            }
            memmove(&p->blk[i + 2], &p->blk[i + 1], (p->nblk - i - 1) * sizeof *b);
            p->blk[i + 1] = (struct pool_block){b->off + len, b->len - len, 0};
            b->len = len;
            p->nblk++;
        }
        b->used = 1;
        return b->off;
    }
    return POOL_NO_OFF;
}

static void pool_arena_give(struct tvp_pool *p, uint64_t off)
{
    if (off == POOL_NO_OFF)
        return;
    for (size_t i = 0; i < p->nblk; i++) {
        if (p->blk[i].off != off || !p->blk[i].used)
            continue;
        p->blk[i].used = 0;
        if (i + 1 < p->nblk && !p->blk[i + 1].used) { /* merge with the next */
            p->blk[i].len += p->blk[i + 1].len;
            memmove(&p->blk[i + 1], &p->blk[i + 2], (p->nblk - i - 2) * sizeof p->blk[0]);
            p->nblk--;
        }
        if (i > 0 && !p->blk[i - 1].used) { /* and with the previous */
            p->blk[i - 1].len += p->blk[i].len;
            memmove(&p->blk[i], &p->blk[i + 1], (p->nblk - i - 1) * sizeof p->blk[0]);
            p->nblk--;
        }
        return;
    }
}

/* [x, x + len) lies inside [base, base + bytes) */
static int pool_within(uintptr_t base, size_t bytes, uintptr_t x, size_t len)
{
    return x >= base && x - base <= bytes && len <= bytes - (x - base);
}

/* 1 when [ptr, ptr + len) lies inside one block taken from the arena, or inside one of
 * opt.shared: memory every worker sees at the same address, as it is now. */
static int pool_shared(const struct tvp_pool *p, const void *ptr, size_t len)
{
    if (!ptr)
        return 0;
    uintptr_t x = (uintptr_t)ptr;
    if (p->arena && pool_within((uintptr_t)p->arena, p->arena_size, x, len)) {
        size_t off = x - (uintptr_t)p->arena;
        for (size_t i = 0; i < p->nblk; i++)
            if (p->blk[i].used && pool_within(p->blk[i].off, p->blk[i].len, off, len))
                return 1;
    }
    for (int i = 0; i < p->opt.nshared; i++)
        if (pool_within((uintptr_t)p->regions[i].base, p->regions[i].bytes, x, len))
            return 1;
    return 0;
}

void *tvp_pool_shared_alloc(struct tvp_pool *pool, size_t bytes)
{
    uint64_t off = pool ? pool_arena_take(pool, bytes) : POOL_NO_OFF;
    return off == POOL_NO_OFF ? NULL : pool->arena + off;
}

void tvp_pool_shared_free(struct tvp_pool *pool, void *ptr)
{
    if (pool && ptr && pool->arena)
        pool_arena_give(pool, (uint64_t)((char *)ptr - pool->arena));
}

/* ---- large payloads: vmsplice ------------------------------------------------------------------ */

/* A payload of this size or more goes into the pipe by reference (vmsplice): the reader's
 * read() is then the only copy.  Safe here because the writer never changes the bytes
 * before the reader has them all: the parent's map input is the caller's, who is inside
 * tvp_pool_map until every chunk is back, an async task's copy of its input is freed only
 * when its result is back (an in-place task's input is the caller's until then, by
 * contract), and a worker gets its next task (and only then overwrites its output
 * buffer) after the parent has read all of its last result. */
#define POOL_SPLICE_MIN (64 << 10)

/* vmsplice of one iovec (not waiting for room in the pipe when nonblock), or writev
 * where the system has no vmsplice */
static ssize_t pool_vmsplice(int fd, const struct iovec *iov, int nonblock)
{
#ifdef SPLICE_F_NONBLOCK
    ssize_t r = vmsplice(fd, iov, 1, nonblock ? SPLICE_F_NONBLOCK : 0);
    if (r >= 0 || (errno != EINVAL && errno != ENOSYS))
        return r;
#else
    (void)nonblock;
#endif
    return writev(fd, iov, 1);
}

/* Writes all of buf to the blocking fd, by reference when large. */
static int pool_write_payload(int fd, const void *buf, size_t len)
{
    if (len < POOL_SPLICE_MIN)
        return tvp_write_full(fd, buf, len);
    size_t done = 0;
    while (done < len) {
        struct iovec iov = {(char *)buf + done, len - done};
        ssize_t r = pool_vmsplice(fd, &iov, 0);
        if (r > 0)
            done += (size_t)r;
        else if (r == 0 || errno != EINTR)
            return TVP_ESYS;
    }
    return 0;
}

/* ---- the worker (child side) --------------------------------------------------------------- */

static int pool_grow(char **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    char *b = realloc(*buf, need);
    if (!b)
        return TVP_ENOMEM;
    *buf = b;
    *cap = need;
    return 0;
}

/* tvp_pool_here's answer: set in a worker while fn runs only */
static struct tvp_pool_here pool_here_now;
static int pool_here_set;

const struct tvp_pool_here *tvp_pool_here(void)
{
    return pool_here_set ? &pool_here_now : NULL;
}

/* A worker's view of an address from a TASK: where len bytes at `at` lie wholly inside
 * the arena or one of opt.shared (as inherited at fork), else NULL: the parent sent
 * something no worker may touch. */
static char *pool_child_at(const struct tvp_pool *p, uint64_t at, size_t len)
{
    uintptr_t x = (uintptr_t)at;
    if (p->arena && pool_within((uintptr_t)p->arena, p->arena_size, x, len))
        return (char *)x;
    for (int i = 0; i < p->opt.nshared; i++)
        if (pool_within((uintptr_t)p->regions[i].base, p->regions[i].bytes, x, len))
            return (char *)x;
    return NULL;
}

/* The life of worker `slot` after fork(): opt.init and its READY, then tasks from cmd,
 * results to res, until EXIT or the parent's end.  Never returns. */
static _Noreturn void pool_child(struct tvp_pool *p, int slot, int cmd, int res)
{
    signal(SIGPIPE, SIG_IGN); /* the parent gone: EPIPE, then _exit */
    pthread_sigmask(SIG_SETMASK, &p->caller_mask, NULL);
#ifdef __linux__
    (void)prctl(PR_SET_PDEATHSIG, SIGKILL); /* a worker busy in fn must not outlive us */
#endif
    if (getppid() != p->parent)
        _exit(POOL_EXIT_PROTOCOL);
    if (p->topo && p->pu)
        (void)tvp_pin_process(p->topo, p->pu[slot]); /* a wish: unpinned works too */
    long rss0 = tvp_peak_rss_kb(); /* the caller's pages we share count as ours already */
    if (p->opt.init) {
        double t0 = tvp_now();
        int rc = p->opt.init(slot, p->opt.init_arg);
        struct pool_msg r = {.type = POOL_MSG_READY, .rc = rc, .t_fn = tvp_now() - t0};
        fflush(NULL);
        if (tvp_write_full(res, &r, sizeof r) != 0)
            _exit(POOL_EXIT_PROTOCOL);
        if (rc != 0) /* the parent reaps us and says why */
            _exit(POOL_EXIT_INIT);
    }

    char *inb = NULL, *outb = NULL;
    size_t incap = 0, outcap = 0;
    for (;;) {
        struct pool_msg m;
        ssize_t got = tvp_read_full(cmd, &m, sizeof m);
        if (got == 0) /* the parent closed the pipe: the end */
            _exit(POOL_EXIT_OK);
        if (got != (ssize_t)sizeof m)
            _exit(POOL_EXIT_PROTOCOL);
        if (m.type == POOL_MSG_EXIT)
            _exit(POOL_EXIT_OK);
        if (m.type != POOL_MSG_TASK || (m.in_size && m.count > SIZE_MAX / m.in_size) ||
            (m.out_size && m.count > SIZE_MAX / m.out_size))
            _exit(POOL_EXIT_PROTOCOL);
        size_t in_len = (size_t)(m.count * m.in_size), out_len = (size_t)(m.count * m.out_size);
        int err = 0;
        const char *in;
        char *out;
        if (m.in_at != POOL_NO_AT) {
            if (m.payload || !(in = pool_child_at(p, m.in_at, in_len)))
                _exit(POOL_EXIT_PROTOCOL);
        } else {
            if (m.payload != in_len)
                _exit(POOL_EXIT_PROTOCOL);
            err = pool_grow(&inb, &incap, in_len);
            if (err) { /* out of memory: read the input away all the same */
                char sink[4096];
                for (size_t left = in_len; left;) {
                    size_t k = left < sizeof sink ? left : sizeof sink;
                    if (tvp_read_full(cmd, sink, k) != (ssize_t)k)
                        _exit(POOL_EXIT_PROTOCOL);
                    left -= k;
                }
            } else if (tvp_read_full(cmd, inb, in_len) != (ssize_t)in_len) {
                _exit(POOL_EXIT_PROTOCOL);
            }
            in = inb;
        }
        struct pool_msg r = {.type = POOL_MSG_RESULT, .id = m.id, .pu = -1,
                             .t_in = tvp_now() - m.t_sent};
        if (m.out_at != POOL_NO_AT) {
            if (!(out = pool_child_at(p, m.out_at, out_len)))
                _exit(POOL_EXIT_PROTOCOL);
        } else {
            if (!err)
                err = pool_grow(&outb, &outcap, out_len);
            out = outb;
        }
        r.err = err;
        if (!err) {
            tvp_pool_fn *fn = (tvp_pool_fn *)(uintptr_t)m.fn; /* same code: a fork of ours */
            pool_here_now = (struct tvp_pool_here){slot, m.task, m.first};
            pool_here_set = 1;
            double t0 = tvp_now();
            r.rc = fn(in, out, (size_t)m.count, (void *)(uintptr_t)m.arg);
            r.t_fn = tvp_now() - t0;
            pool_here_set = 0;
            r.pu = sched_getcpu(); /* -1 where unknown */
            fflush(NULL); /* what fn printed, now: _exit would drop it */
        }
        r.rss_kb = tvp_peak_rss_kb() - rss0;
        r.payload = !err && r.rc == 0 && m.out_at == POOL_NO_AT ? out_len : 0;
        r.t_sent = tvp_now();
        if (tvp_write_full(res, &r, sizeof r) != 0 ||
            (r.payload && pool_write_payload(res, out, out_len) != 0))
            _exit(POOL_EXIT_PROTOCOL); /* the parent is gone */
    }
}

/* ---- workers (parent side) ------------------------------------------------------------------ */

static void pool_fd_close(int *fd)
{
    if (*fd >= 0) {
        int saved = errno;
        close(*fd);
        errno = saved;
    }
    *fd = -1;
}

/* A pipe raised to POOL_PIPE_BYTES where the system allows; the smallest capacity of
 * the pool's pipes goes to *cap. */
static int pool_pipe(int fds[2], size_t *cap)
{
    if (pipe(fds) < 0)
        return TVP_ESYS;
    (void)fcntl(fds[1], F_SETPIPE_SZ, POOL_PIPE_BYTES); /* a wish: the default works too */
    int c = fcntl(fds[1], F_GETPIPE_SZ);
    size_t got = c > 0 ? (size_t)c : PIPE_BUF;
    if (got < *cap)
        *cap = got;
    return 0;
}

static void pool_fd_parent(int fd) /* the parent's end: non-blocking, not across exec */
{
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        (void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
}

/* Waits for pid for up to grace seconds, then SIGKILLs it and waits for good.  1 when it
 * had to be killed, 0 when it ended by itself, TVP_ESYS when waitpid failed. */
static int pool_reap(pid_t pid, double grace, int *status)
{
    double end = tvp_now() + grace;
    long ns = 20000;
    for (;;) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid)
            return 0;
        if (r < 0 && errno != EINTR)
            return TVP_ESYS;
        if (tvp_now() >= end)
            break;
        struct timespec ts = {0, ns};
        nanosleep(&ts, NULL);
        ns = ns < 10000000 ? 2 * ns : ns;
    }
    (void)kill(pid, SIGKILL);
    pid_t r;
    do
        r = waitpid(pid, status, 0);
    while (r < 0 && errno == EINTR);
    return r == pid ? 1 : TVP_ESYS;
}

/* "worker 1 (pid 1234) killed by SIGKILL" and its fields, from a wait status */
static void pool_describe(struct tvp_pool_error *e, int slot, pid_t pid, int reaped, int status,
                          char *buf, size_t len)
{
    int n = snprintf(buf, len, "worker %d (pid %ld) ", slot, (long)pid);
    e->worker = slot;
    e->pid = pid;
    if (reaped < 0) {
        snprintf(buf + n, len - (size_t)n, "could not be reaped: %s", strerror(errno));
        return;
    }
    if (WIFSIGNALED(status))
        e->signal = WTERMSIG(status);
    else if (WIFEXITED(status))
        e->exit_status = WEXITSTATUS(status);
    tvp_wait_text(status, buf + n, len - (size_t)n);
    if (reaped == 1 && e->signal) {
        size_t used = strlen(buf);
        snprintf(buf + used, len - used, " (by the pool: it closed its pipes without exiting)");
    }
}

/* Waits for the READY of the worker just forked in slot (opt.init), at most
 * opt.task_timeout_s when that is set.  0, or TVP_EWORKER (TVP_ETASKTIME when it timed
 * out): init failed, or the worker died in it or sent something else; then it is killed
 * if need be, reaped, e says why, and the slot is left empty. */
static int pool_ready(struct tvp_pool *p, int slot, struct tvp_pool_error *e)
{
    struct pool_worker *w = &p->w[slot];
    struct pool_msg r;
    size_t got = 0;
    double deadline = p->opt.task_timeout_s > 0 ? tvp_now() + p->opt.task_timeout_s : -1;
    int timed_out = 0, eof = 0;
    const char *why = NULL;
    while (got < sizeof r) {
        int ms = -1;
        if (deadline >= 0) {
            double left = deadline - tvp_now();
            if (left <= 0) {
                timed_out = 1;
                break;
            }
            ms = left > 86400 ? 86400000 : (int)(left * 1000.0) + 1;
        }
        struct pollfd pf = {.fd = w->res, .events = POLLIN};
        int n = poll(&pf, 1, ms);
        if (n < 0 && errno != EINTR) {
            why = "poll failed";
            break;
        }
        if (n <= 0)
            continue;
        ssize_t k = read(w->res, (char *)&r + got, sizeof r - got);
        if (k > 0) {
            got += (size_t)k;
        } else if (k == 0) {
            eof = 1;
            break;
        } else if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
            why = "reading its result pipe failed";
            break;
        }
    }
    int ready = got == sizeof r && r.type == POOL_MSG_READY;
    if (ready)
        p->slot[slot].st.t_init = r.t_fn;
    if (ready && r.rc == 0)
        return 0;

    pid_t pid = w->pid;
    if (!ready && !eof) /* it would not say (in time): it is not coming */
        (void)kill(pid, SIGKILL);
    pool_fd_close(&w->cmd);
    pool_fd_close(&w->res);
    w->pid = 0;
    int status = 0;
    int reaped = pool_reap(pid, POOL_REAP_GRACE_S, &status);
    char cause[160], full[224];
    pool_err_init(e, timed_out ? TVP_ETASKTIME : TVP_EWORKER, -1);
    pool_describe(e, slot, pid, reaped, status, cause, sizeof cause);
    if (ready) {
        e->fn_rc = r.rc;
        snprintf(full, sizeof full, "init returned %d in worker %d (pid %ld)", r.rc, slot,
                 (long)pid);
    } else if (timed_out) {
        snprintf(full, sizeof full, "init timed out after %.2f s; %s", p->opt.task_timeout_s,
                 cause);
    } else if (eof && got == 0) {
        snprintf(full, sizeof full, "in init: %s", cause);
    } else {
        snprintf(full, sizeof full, "init: %s; %s", why ? why : "not a READY message", cause);
    }
    pool_err_msg(e, full);
    snprintf(p->slot[slot].note, sizeof p->slot[slot].note, "%.223s", e->msg);
    return TVP_EWORKER;
}

/* Forks the worker of slot w and, with opt.init, waits until it ran init.  0, TVP_ESYS
 * (errno: pipe or fork failed), or pool_ready's TVP_EWORKER (e says why; nothing left). */
static int pool_fork(struct tvp_pool *p, int slot, struct tvp_pool_error *e)
{
    int cmd[2], res[2];
    if (pool_pipe(cmd, &p->pipe_cap) != 0)
        return TVP_ESYS;
    if (pool_pipe(res, &p->pipe_cap) != 0) {
        pool_fd_close(&cmd[0]);
        pool_fd_close(&cmd[1]);
        return TVP_ESYS;
    }
    fflush(NULL); /* else the child's copy of a stdio buffer would be printed twice */
    pid_t pid = fork();
    if (pid < 0) {
        for (int i = 0; i < 2; i++) {
            pool_fd_close(&cmd[i]);
            pool_fd_close(&res[i]);
        }
        return TVP_ESYS;
    }
    if (pid == 0) {
        close(cmd[1]);
        close(res[0]);
        for (int i = 0; i < p->nworkers; i++) { /* the other workers' pipes are not ours */
            if (p->w[i].pid) {
                close(p->w[i].cmd);
                close(p->w[i].res);
            }
        }
        pool_child(p, slot, cmd[0], res[1]);
    }
    close(cmd[0]);
    close(res[1]);
    pool_fd_parent(cmd[1]);
    pool_fd_parent(res[0]);
    p->w[slot] = (struct pool_worker){.pid = pid, .cmd = cmd[1], .res = res[0]};
    return p->opt.init ? pool_ready(p, slot, e) : 0;
}

static int pool_live(const struct tvp_pool *p)
{
    int n = 0;
    for (int i = 0; i < p->nworkers; i++)
        n += p->w[i].pid != 0;
    return n;
}

int tvp_pool_workers(const struct tvp_pool *pool)
{
    return pool ? pool_live(pool) : 0;
}

pid_t tvp_pool_worker_pid(const struct tvp_pool *pool, int w)
{
    return pool && w >= 0 && w < pool->nworkers ? pool->w[w].pid : 0;
}

/* ---- tasks and map chunks: ending them ------------------------------------------------------ */

static void pool_queue_push(struct tvp_pool *p, struct tvp_task *t, int front)
{
    t->state = TASK_QUEUED;
    t->qnext = NULL;
    if (front) {
        t->qnext = p->qhead;
        p->qhead = t;
        if (!p->qtail)
            p->qtail = t;
    } else {
        if (p->qtail)
            p->qtail->qnext = t;
        else
            p->qhead = t;
        p->qtail = t;
    }
}

static void pool_queue_remove(struct tvp_pool *p, struct tvp_task *t)
{
    struct tvp_task **pp = &p->qhead, *prev = NULL;
    while (*pp && *pp != t) {
        prev = *pp;
        pp = &(*pp)->qnext;
    }
    if (!*pp)
        return;
    *pp = t->qnext;
    if (p->qtail == t)
        p->qtail = prev;
    t->qnext = NULL;
}

static void pool_task_release(struct tvp_task *t)
{
    struct tvp_pool *p = t->pool;
    if (t->prev)
        t->prev->next = t->next;
    else if (p->tasks == t)
        p->tasks = t->next;
    if (t->next)
        t->next->prev = t->prev;
    pool_arena_give(p, t->in_off);
    pool_arena_give(p, t->out_off);
    free(t->in);
    free(t->out);
    free(t);
}

static void pool_task_end(struct tvp_task *t, const struct tvp_pool_error *e)
{
    if (e) {
        t->err = *e;
        t->state = TASK_FAILED;
    } else {
        t->state = TASK_DONE;
    }
    if (t->orphan)
        pool_task_release(t);
}

static void pool_map_range(const struct pool_map *m, uint64_t k, uint64_t *first, uint64_t *count)
{
    *first = k * m->chunk;
    *count = m->n - *first < m->chunk ? m->n - *first : m->chunk;
}

static void pool_map_fail(struct pool_map *m, const struct tvp_pool_error *e)
{
    if (!m->stopped) {
        m->stopped = 1;
        m->err = *e;
    }
    m->nretry = 0;
}

/* The error of task t, named after it (and its items: submit's, count > 0). */
static void pool_task_err(struct tvp_pool_error *e, int code, const struct tvp_task *t)
{
    pool_err_init(e, code, t->id);
    if (t->items && t->count) {
        e->first = t->first;
        e->last = t->first + t->count - 1;
    }
}

/* The error of the work in flight on worker w, named after it. */
static void pool_work_err(struct tvp_pool *p, const struct pool_worker *w, int code,
                          struct tvp_pool_error *e)
{
    if (w->task) {
        pool_task_err(e, code, w->task);
    } else {
        uint64_t first, count;
        pool_map_range(p->map, w->chunk, &first, &count);
        pool_err_init(e, code, (int64_t)w->chunk);
        e->first = first;
        e->last = first + count - 1;
    }
    e->attempts = w->attempts;
}

/* ---- sending and receiving ------------------------------------------------------------------ */

static void pool_lost(struct tvp_pool *p, int slot, int timed_out, const char *why);

/* Writes what the pipe takes of worker slot's task (the header, then the payload); at
 * EPIPE the worker is lost. */
static void pool_send_more(struct tvp_pool *p, int slot)
{
    struct pool_worker *w = &p->w[slot];
    size_t total = sizeof w->sh + w->slen;
    int splice = w->slen >= POOL_SPLICE_MIN;
    while (w->sdone < total) {
        struct iovec iov[2];
        int n = 0;
        if (w->sdone < sizeof w->sh)
            iov[n++] = (struct iovec){(char *)&w->sh + w->sdone, sizeof w->sh - w->sdone};
        size_t pd = w->sdone > sizeof w->sh ? w->sdone - sizeof w->sh : 0;
        if (w->slen > pd && !(splice && n))
            iov[n++] = (struct iovec){(char *)w->sp + pd, w->slen - pd};
        ssize_t r = splice && pd < w->slen && w->sdone >= sizeof w->sh
                        ? pool_vmsplice(w->cmd, iov, 1)
                        : writev(w->cmd, iov, n);
        if (r > 0) {
            w->sdone += (size_t)r;
        } else if (r < 0 && errno == EINTR) {
            continue;
        } else if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;
        } else {
            char why[96];
            snprintf(why, sizeof why, "writing to its command pipe: %s", strerror(errno));
            pool_lost(p, slot, 0, errno == EPIPE ? NULL : why);
            return;
        }
    }
}

/* The result on worker slot is complete: the task or chunk is done (or fn failed). */
static void pool_done(struct tvp_pool *p, int slot)
{
    struct pool_worker *w = &p->w[slot];
    struct tvp_pool_error e;
    int failed = w->rh.err || w->rh.rc;
    double now = tvp_now();
    struct tvp_pool_worker_stats *st = &p->slot[slot].st;
    st->bytes_in += w->slen;
    st->bytes_out += w->rlen;
    st->t_in += w->rh.t_in;
    st->t_out += now - w->rh.t_sent;
    st->rss_kb = (long)w->rh.rss_kb;
    if (!w->rh.err) { /* fn ran and returned, whatever it returned: its time counts */
        st->tasks++;
        st->t_fn += w->rh.t_fn;
        st->pu = w->rh.pu;
    }
    if (!failed && w->t_lost > 0) /* lost work, done again at last */
        p->st.t_recovery += now - w->t_lost;
    if (failed) {
        char why[200];
        pool_work_err(p, w, w->rh.err ? w->rh.err : TVP_ETASK, &e);
        e.worker = slot;
        e.pid = w->pid;
        e.fn_rc = w->rh.rc;
        if (w->rh.err)
            snprintf(why, sizeof why, "worker %d (pid %ld): %s", slot, (long)w->pid,
                     tvp_pool_strerror(w->rh.err));
        else
            snprintf(why, sizeof why, "fn returned %d in worker %d (pid %ld)", w->rh.rc, slot,
                     (long)w->pid);
        pool_err_msg(&e, why);
    }
    w->busy = 0;
    if (w->task) {
        struct tvp_task *t = w->task;
        w->task = NULL;
        pool_task_end(t, failed ? &e : NULL);
    } else {
        struct pool_map *m = p->map;
        m->running--;
        if (failed) {
            pool_map_fail(m, &e);
        } else {
            m->done++;
            if (m->stage_out) { /* back to the caller now, while the other chunks run */
                size_t at = (size_t)(w->chunk * m->chunk * m->out_size);
                memcpy(m->out + at, m->out_sh + at, (size_t)(w->sh.count * m->out_size));
            }
        }
    }
}

/* Checks a result header: the work in flight, the payload it must carry.  0 or -1. */
static int pool_result_header(struct tvp_pool *p, struct pool_worker *w)
{
    const struct pool_msg *r = &w->rh;
    if (!w->busy || w->sdone < sizeof w->sh + w->slen || r->type != POOL_MSG_RESULT ||
        r->id != w->sh.id)
        return -1;
    size_t want = 0;
    w->rdst = NULL;
    if (!r->err && !r->rc && w->sh.out_at == POOL_NO_AT) {
        want = (size_t)(w->sh.count * w->sh.out_size);
        if (w->task) { /* a freed in-place task's out may be gone: its result is dropped */
            w->rdst = w->task->orphan && w->task->in_place ? NULL : w->task->out_dst;
        } else {
            uint64_t first, count;
            pool_map_range(p->map, w->chunk, &first, &count);
            w->rdst = p->map->out + first * p->map->out_size;
        }
    }
    if (r->payload != want)
        return -1;
    w->rlen = want;
    return 0;
}

/* Reads what worker slot's result pipe holds: a result, end of file (its death), or
 * bytes it should not have sent (a protocol error: it is killed). */
static void pool_recv_more(struct tvp_pool *p, int slot)
{
    struct pool_worker *w = &p->w[slot];
    for (;;) {
        ssize_t r;
        if (w->rdone < sizeof w->rh) {
            r = read(w->res, (char *)&w->rh + w->rdone, sizeof w->rh - w->rdone);
        } else if (w->rdst) {
            size_t pd = w->rdone - sizeof w->rh;
            r = read(w->res, w->rdst + pd, w->rlen - pd);
        } else { /* a result nobody wants any more: read away */
            char sink[16384];
            size_t left = w->rlen - (w->rdone - sizeof w->rh);
            r = read(w->res, sink, left < sizeof sink ? left : sizeof sink);
        }
        if (r == 0) {
            pool_lost(p, slot, 0, NULL);
            return;
        }
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                char why[96];
                snprintf(why, sizeof why, "reading its result pipe: %s", strerror(errno));
                pool_lost(p, slot, 0, why);
            }
            return;
        }
        int header_was_partial = w->rdone < sizeof w->rh;
        w->rdone += (size_t)r;
        if (header_was_partial && w->rdone == sizeof w->rh && pool_result_header(p, w) != 0) {
            pool_lost(p, slot, 0, "a result it was not asked for");
            return;
        }
        if (w->rdone == sizeof w->rh + w->rlen && w->rdone >= sizeof w->rh) {
            w->rdone = 0;
            pool_done(p, slot);
            return;
        }
    }
}

/* Starts sending to idle worker slot: async task t, or chunk k of the map.  t_lost: the
 * work was lost before, noticed then (0: it was not). */
static void pool_send_start(struct tvp_pool *p, int slot, struct tvp_task *t, uint64_t k,
                            int attempts, double t_lost)
{
    struct pool_worker *w = &p->w[slot];
    struct pool_msg *m = &w->sh;
    *m = (struct pool_msg){.type = POOL_MSG_TASK, .id = ++p->next_wire};
    w->busy = 1;
    w->task = t;
    w->chunk = k;
    w->attempts = attempts;
    w->t_lost = t_lost;
    w->sdone = w->rdone = 0;
    w->rlen = 0;
    if (t) {
        t->state = TASK_RUNNING;
        t->attempts = attempts;
        m->task = t->id;
        m->first = t->first;
        m->fn = (uint64_t)(uintptr_t)t->fn;
        m->arg = (uint64_t)(uintptr_t)t->arg;
        m->count = t->count;
        m->in_size = t->in_size;
        m->out_size = t->out_size;
        m->in_at = t->in_sh ? (uint64_t)(uintptr_t)t->in_sh : POOL_NO_AT;
        m->out_at = t->out_sh ? (uint64_t)(uintptr_t)t->out_sh : POOL_NO_AT;
        w->sp = t->in_src;
        w->slen = t->in_sh ? 0 : t->count * t->in_size;
    } else {
        struct pool_map *mp = p->map;
        uint64_t first, count;
        pool_map_range(mp, k, &first, &count);
        mp->running++;
        m->task = (int64_t)k;
        m->first = first;
        m->fn = (uint64_t)(uintptr_t)mp->fn;
        m->arg = (uint64_t)(uintptr_t)mp->arg;
        m->count = count;
        m->in_size = mp->in_size;
        m->out_size = mp->out_size;
        size_t in_at = (size_t)(first * mp->in_size), in_len = (size_t)(count * mp->in_size);
        m->in_at = mp->in_sh ? (uint64_t)(uintptr_t)(mp->in_sh + in_at) : POOL_NO_AT;
        if (mp->stage_in) /* copied now, while the workers compute the chunks before it */
            memcpy(mp->in_sh + in_at, mp->in + in_at, in_len);
        m->out_at = mp->out_sh ? (uint64_t)(uintptr_t)(mp->out_sh + first * mp->out_size)
                               : POOL_NO_AT;
        w->sp = mp->in ? mp->in + in_at : NULL;
        w->slen = mp->in_sh ? 0 : in_len;
    }
    m->payload = w->slen;
    w->start = tvp_now();
    m->t_sent = w->start;
    w->deadline = p->opt.task_timeout_s > 0 ? w->start + p->opt.task_timeout_s : -1;
    pool_send_more(p, slot);
}

/* Some slot is empty, for good (a loss is replaced before the loop goes on): fail the
 * queued tasks for an empty slot, and, when no worker is left, everything waiting.  1 when
 * it ended something (the caller has news: no waiting), else 0. */
static int pool_starve(struct tvp_pool *p)
{
    int ended = 0;
    int live = pool_live(p);
    char why[240];
    snprintf(why, sizeof why, "no worker left to run it%s%s%s", p->dead_note[0] ? " (last: " : "",
             p->dead_note, p->dead_note[0] ? ")" : "");
    for (struct tvp_task *t = p->qhead, *next; t; t = next) {
        next = t->qnext;
        if (live && (t->worker < 0 || p->w[t->worker].pid))
            continue;
        pool_queue_remove(p, t);
        struct tvp_pool_error e;
        pool_task_err(&e, TVP_EWORKER, t);
        e.attempts = t->attempts;
        if (live) {
            char gone[240];
            const char *note = p->slot[t->worker].note;
            snprintf(gone, sizeof gone, "worker %d is gone, not replaced%s%.180s%s", t->worker,
                     note[0] ? " (last: " : "", note, note[0] ? ")" : "");
            e.worker = t->worker;
            pool_err_msg(&e, gone);
        } else {
            pool_err_msg(&e, why);
        }
        pool_task_end(t, &e);
        ended = 1;
    }
    struct pool_map *m = p->map;
    if (!live && m && !m->stopped && (m->nretry || m->next < m->nchunks)) {
        uint64_t k = m->nretry ? m->retry[0].chunk : m->next, first, count;
        pool_map_range(m, k, &first, &count);
        struct tvp_pool_error e;
        pool_err_init(&e, TVP_EWORKER, (int64_t)k);
        e.first = first;
        e.last = first + count - 1;
        pool_err_msg(&e, why);
        pool_map_fail(m, &e);
        ended = 1;
    }
    return ended;
}

/* The first queued task worker slot may run (one for any worker, or for it), or NULL. */
static struct tvp_task *pool_queue_for(const struct tvp_pool *p, int slot)
{
    for (struct tvp_task *t = p->qhead; t; t = t->qnext)
        if (t->worker < 0 || t->worker == slot)
            return t;
    return NULL;
}

/* Hands queued work to the idle workers: async tasks first (they were queued before the
 * map began), then the map's chunks to run again, then its next chunks.  1 when work
 * that cannot run was failed instead (pool_starve), else 0. */
static int pool_dispatch(struct tvp_pool *p)
{
    int ended = 0;
    if (pool_live(p) < p->nworkers) {
        ended = pool_starve(p);
        if (pool_live(p) == 0)
            return ended;
    }
    for (int s = 0; s < p->nworkers; s++) {
        if (!p->w[s].pid || p->w[s].busy)
            continue;
        struct pool_map *m = p->map;
        struct tvp_task *t = p->qhead ? pool_queue_for(p, s) : NULL;
        if (t) {
            pool_queue_remove(p, t);
            pool_send_start(p, s, t, 0, t->attempts + 1, t->t_lost);
        } else if (m && !m->stopped && m->nretry) {
            struct pool_retry r = m->retry[--m->nretry];
            pool_send_start(p, s, NULL, r.chunk, r.attempts + 1, r.t_lost);
        } else if (m && !m->stopped && m->next < m->nchunks) {
            pool_send_start(p, s, NULL, m->next++, 1, 0);
        } else if (!p->qhead) {
            break; /* nothing for the others either */
        }
    }
    return ended;
}

/* Worker slot is gone or must go: killed (unless its pipe ended: it died by itself),
 * reaped, its work re-queued or failed, opt.on_lost told, and a new worker forked with
 * opt.replace.  timed_out: its task ran past the timeout; why: a failure of the pool's
 * own, else NULL. */
static void pool_lost(struct tvp_pool *p, int slot, int timed_out, const char *why)
{
    struct pool_worker *w = &p->w[slot];
    pid_t pid = w->pid;
    if (!pid)
        return;
    double noticed = tvp_now();
    p->st.lost++;
    if (timed_out || why)
        (void)kill(pid, SIGKILL);
    pool_fd_close(&w->cmd);
    pool_fd_close(&w->res);
    int status = 0;
    int reaped = pool_reap(pid, POOL_REAP_GRACE_S, &status);
    struct tvp_pool_error e;
    char cause[160], full[224];
    pool_err_init(&e, timed_out ? TVP_ETASKTIME : TVP_EWORKER, -1);
    pool_describe(&e, slot, pid, reaped, status, cause, sizeof cause);
    if (timed_out)
        snprintf(full, sizeof full, "timed out after %.2f s; %s", p->opt.task_timeout_s, cause);
    else if (why)
        snprintf(full, sizeof full, "%.60s; %s", why, cause);
    else
        snprintf(full, sizeof full, "%s", cause);
    pool_err_msg(&e, full);
    snprintf(p->dead_note, sizeof p->dead_note, "%s", cause);
    snprintf(p->slot[slot].note, sizeof p->slot[slot].note, "%s", full);

    int refork = p->opt.replace && !p->terminated && !p->joined;
    int again = 0;
    struct pool_worker gone = *w;
    w->pid = 0;
    w->busy = 0;
    w->task = NULL;
    struct tvp_pool_error te;
    if (gone.busy) {
        p->st.t_detect += noticed - gone.start;
        pool_work_err(p, &gone, e.code, &te);
        te.worker = e.worker;
        te.pid = e.pid;
        te.signal = e.signal;
        te.exit_status = e.exit_status;
        /* not one byte of it went out: the worker was dead before, the task never ran */
        int unsent = !timed_out && gone.sdone == 0 && !p->terminated;
        if (unsent)
            gone.attempts--;
        again = unsent ||
                (p->opt.replace && !p->terminated && gone.attempts < p->opt.max_attempts);
        if (p->opt.replace && !again && !p->terminated) {
            char more[224];
            snprintf(more, sizeof more, "%.180s (attempt %d of %d)", full, gone.attempts,
                     p->opt.max_attempts);
            pool_err_msg(&te, more);
        } else {
            pool_err_msg(&te, full);
        }
        /* t_recovery runs from the first loss of the work to its end */
        double t_lost = gone.t_lost > 0 ? gone.t_lost : noticed;
        if (gone.task && gone.task->orphan) /* freed: its result was to be dropped anyway, */
            again = 0;                      /* and an in-place one's buffers may be gone */
        if (gone.task) {
            gone.task->attempts = gone.attempts;
            if (again) {
                gone.task->t_lost = t_lost;
                pool_queue_push(p, gone.task, 1); /* a targeted one waits for the new worker */
            } else {
                pool_task_end(gone.task, &te);
            }
        } else {
            struct pool_map *m = p->map;
            m->running--;
            if (again && !m->stopped)
                m->retry[m->nretry++] = (struct pool_retry){gone.chunk, gone.attempts, t_lost};
            else
                pool_map_fail(m, &te);
        }
    }
    /* (the callback may read the pool's state; gone.task may be freed by now: not used) */
    if (p->opt.on_lost)
        p->opt.on_lost(gone.busy ? &te : &e, refork && (!gone.busy || again),
                       p->opt.on_lost_arg);
    if (refork) {
        struct tvp_pool_error ie;
        int err = pool_fork(p, slot, &ie);
        if (err == 0) {
            p->st.replaced++;
        } else if (err == TVP_EWORKER) { /* its init failed: one more loss, not replaced */
            p->st.lost++;
            snprintf(p->dead_note, sizeof p->dead_note, "%.150s", ie.msg);
            if (p->opt.on_lost)
                p->opt.on_lost(&ie, 0, p->opt.on_lost_arg);
        } else {
            snprintf(p->dead_note, sizeof p->dead_note, "%.100s; no new worker: fork: %.30s", cause,
                     strerror(errno));
            snprintf(p->slot[slot].note, sizeof p->slot[slot].note, "%s", p->dead_note);
        }
    }
}

/* One round of the event loop: hand out work, wait for the pipes until `until` (tvp_now()
 * time; < 0: no limit) or the nearest task deadline, move what they allow, and kill the
 * workers past their deadline.  0, or TVP_ESYS when poll fails. */
static int pool_step(struct tvp_pool *p, double until)
{
    if (pool_dispatch(p))
        return 0; /* failed work: the caller may be waiting for it */
    nfds_t nfd = 0;
    double wake = until;
    for (int s = 0; s < p->nworkers; s++) {
        struct pool_worker *w = &p->w[s];
        if (!w->pid)
            continue;
        if (w->busy && w->sdone < sizeof w->sh + w->slen) {
            p->pfd[nfd] = (struct pollfd){.fd = w->cmd, .events = POLLOUT};
            p->pfd_w[nfd++] = s;
        }
        p->pfd[nfd] = (struct pollfd){.fd = w->res, .events = POLLIN};
        p->pfd_w[nfd++] = s;
        if (w->busy && w->deadline >= 0 && (wake < 0 || w->deadline < wake))
            wake = w->deadline;
    }
    if (nfd == 0)
        return 0;
    int ms = -1;
    if (wake >= 0) {
        double left = wake - tvp_now();
        ms = left <= 0 ? 0 : left > 86400 ? 86400000 : (int)(left * 1000.0) + 1;
    }
    int r = poll(p->pfd, nfd, ms);
    if (r < 0 && errno != EINTR)
        return TVP_ESYS;
    for (nfds_t i = 0; r > 0 && i < nfd; i++) {
        struct pool_worker *w = &p->w[p->pfd_w[i]];
        if (!p->pfd[i].revents || !w->pid)
            continue;
        if (p->pfd[i].fd == w->cmd && (p->pfd[i].events & POLLOUT))
            pool_send_more(p, p->pfd_w[i]);
        else if (p->pfd[i].fd == w->res)
            pool_recv_more(p, p->pfd_w[i]);
    }
    double now = tvp_now();
    for (int s = 0; s < p->nworkers; s++)
        if (p->w[s].pid && p->w[s].busy && p->w[s].deadline >= 0 && now >= p->w[s].deadline)
            pool_lost(p, s, 1, NULL);
    return 0;
}

/* ---- the pool ---------------------------------------------------------------------------------- */

/* opt.shared: a list, each region a real range */
static int pool_regions_ok(const struct tvp_pool_options *o)
{
    if (o->nshared < 0 || (o->nshared > 0 && !o->shared))
        return 0;
    for (int i = 0; i < o->nshared; i++)
        if (!o->shared[i].base || o->shared[i].bytes > UINTPTR_MAX - (uintptr_t)o->shared[i].base)
            return 0;
    return 1;
}

struct tvp_pool *tvp_pool_create(int workers, const struct tvp_pool_options *opt)
{
    if (workers < 1 ||
        (opt && (opt->task_timeout_s < 0 || opt->max_attempts < 0 || !pool_regions_ok(opt)))) {
        errno = EINVAL;
        return NULL;
    }
    struct tvp_pool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->opt = opt ? *opt : TVP_POOL_OPTIONS_DEFAULT;
    if (p->opt.nshared > 0) { /* ours: the caller's list may go */
        p->regions = malloc((size_t)p->opt.nshared * sizeof *p->regions);
        if (!p->regions) {
            free(p);
            errno = ENOMEM;
            return NULL;
        }
        memcpy(p->regions, p->opt.shared, (size_t)p->opt.nshared * sizeof *p->regions);
    }
    p->opt.shared = p->regions;
    if (p->opt.max_attempts == 0)
        p->opt.max_attempts = 3;
    if (!p->opt.replace)
        p->opt.max_attempts = 1;
    p->nworkers = workers;
    p->parent = getpid();
    p->pipe_cap = SIZE_MAX;
    pool_err_init(&p->last, 0, -1);
    int err = 0;
    if (!(p->w = calloc((size_t)workers, sizeof *p->w)) ||
        !(p->slot = calloc((size_t)workers, sizeof *p->slot)) ||
        !(p->pfd = calloc(2 * (size_t)workers, sizeof *p->pfd)) ||
        !(p->pfd_w = calloc(2 * (size_t)workers, sizeof *p->pfd_w)))
        err = TVP_ENOMEM;
    for (int s = 0; s < workers && p->w; s++)
        p->w[s].cmd = p->w[s].res = -1;
    for (int s = 0; s < workers && p->slot; s++)
        p->slot[s].st.pu = -1;
    if (!err && p->opt.shm)
        err = pool_arena_open(p);
    if (!err && p->opt.pin) {
        if (!(p->pu = calloc((size_t)workers, sizeof *p->pu)))
            err = TVP_ENOMEM;
        else if (!(err = tvp_topo_open(&p->topo)))
            err = tvp_topo_use_binding(p->topo);
        if (!err)
            err = tvp_pin_plan(p->topo, TVP_BIND_CORE, NULL, 0, workers, p->pu);
    }
    struct pool_sig sig;
    pool_sig_block(p, &sig);
    struct tvp_pool_error ie;
    for (int s = 0; s < workers && !err; s++)
        err = pool_fork(p, s, &ie);
    if (err == TVP_EWORKER && p->opt.on_lost) /* the one way to learn why init failed */
        p->opt.on_lost(&ie, 0, p->opt.on_lost_arg);
    pool_sig_restore(&sig);
    if (err) {
        int e = err == TVP_ENOMEM ? ENOMEM : err == TVP_EWORKER ? EIO : errno ? errno : EAGAIN;
        p->terminated = 1; /* no replacements */
        tvp_pool_destroy(p);
        errno = e;
        return NULL;
    }
    return p;
}

/* The default chunk: Python's (n / (4 * workers), rounded up), and no more than a pipe
 * holds when items go through the pipes, so that neither side waits for the other to
 * empty it (a map of 10M int64 over 2 workers: 24 ms in chunks of 1.25M, 13 in 128k). */
static size_t pool_map_chunk(const struct tvp_pool *p, const struct pool_map *m)
{
    size_t w4 = 4 * (size_t)p->nworkers, chunk = (m->n + w4 - 1) / w4;
    size_t piped = 0;
    if (!m->in_sh && m->in_size > piped)
        piped = m->in_size;
    if (!m->out_sh && m->out_size > piped)
        piped = m->out_size;
    if (piped && p->pipe_cap / piped < chunk)
        chunk = p->pipe_cap / piped;
    return chunk ? chunk : 1;
}

int tvp_pool_map(struct tvp_pool *pool, tvp_pool_fn *fn, const void *in, void *out, size_t n,
                 size_t in_size, size_t out_size, size_t chunk, void *arg)
{
    struct tvp_pool *p = pool;
    if (!p)
        return TVP_EUSAGE;
    if (!fn || (n && ((in_size && !in) || (out_size && !out))) ||
        (in_size && n > SIZE_MAX / in_size) || (out_size && n > SIZE_MAX / out_size))
        return pool_fail_call(p, TVP_EUSAGE, "tvp_pool_map: bad arguments");
    if (p->closed)
        return pool_fail_call(p, TVP_EUSAGE, "tvp_pool_map: the pool is closed");
    if (p->map)
        return pool_fail_call(p, TVP_EUSAGE, "tvp_pool_map: a map is already running");
    pool_err_init(&p->last, 0, -1);
    if (n == 0)
        return 0;

    struct pool_map m = {.fn = fn, .arg = arg, .in = in, .out = out, .n = n, .in_size = in_size,
                         .out_size = out_size};
    if (!(m.retry = malloc((size_t)p->nworkers * sizeof *m.retry)))
        return pool_fail_call(p, TVP_ENOMEM, "tvp_pool_map: out of memory");

    /* in place when in/out lie in the arena's blocks or opt.shared, else with the arena
     * copied once through it, else through the pipes (as are empty ones) */
    size_t in_len = n * in_size, out_len = n * out_size;
    if (in_len && pool_shared(p, in, in_len))
        m.in_sh = (char *)(uintptr_t)in; /* only read, by the workers */
    if (out_len && pool_shared(p, out, out_len))
        m.out_sh = out;
    uint64_t stage_in = POOL_NO_OFF, stage_out = POOL_NO_OFF;
    if (p->arena && in_len && !m.in_sh && (stage_in = pool_arena_take(p, in_len)) != POOL_NO_OFF)
        m.in_sh = p->arena + stage_in;
    if (p->arena && out_len && !m.out_sh &&
        (stage_out = pool_arena_take(p, out_len)) != POOL_NO_OFF)
        m.out_sh = p->arena + stage_out;
    m.stage_in = stage_in != POOL_NO_OFF;
    m.stage_out = stage_out != POOL_NO_OFF;
    m.chunk = chunk ? chunk : pool_map_chunk(p, &m);
    m.nchunks = (n + m.chunk - 1) / m.chunk;

    struct pool_sig sig;
    pool_sig_block(p, &sig);
    p->map = &m;
    int err = 0;
    while (!err && (m.running || (!m.stopped && (m.nretry || m.next < m.nchunks))))
        err = pool_step(p, -1);
    p->map = NULL;
    pool_sig_restore(&sig);

    pool_arena_give(p, stage_in);
    pool_arena_give(p, stage_out);
    free(m.retry);
    if (err)
        return pool_fail_call(p, err, "tvp_pool_map: poll failed");
    if (m.stopped) {
        p->last = m.err;
        return m.err.code;
    }
    return 0;
}

/* submit's work, its messages naming `who`; items: its errors name its items */
static struct tvp_task *pool_submit(struct tvp_pool *p, const struct tvp_pool_call *c,
                                    const char *who, int items)
{
    char msg[96];
    if (!p) {
        errno = EINVAL;
        return NULL;
    }
    size_t in_len = c ? c->count * c->in_size : 0, out_len = c ? c->count * c->out_size : 0;
    if (!c || !c->fn || (c->in_size && c->count > SIZE_MAX / c->in_size) ||
        (c->out_size && c->count > SIZE_MAX / c->out_size) || (in_len && !c->in) ||
        (c->in_place && out_len && !c->out) || c->worker < -1 || c->worker >= p->nworkers ||
        p->closed) {
        snprintf(msg, sizeof msg, "%s: %s", who,
                 p->closed ? "the pool is closed" : "bad arguments");
        pool_fail_call(p, TVP_EUSAGE, msg);
        errno = EINVAL;
        return NULL;
    }
    struct tvp_task *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    *t = (struct tvp_task){.pool = p, .id = p->next_id++, .fn = c->fn, .arg = c->arg,
                           .count = c->count, .in_size = c->in_size, .out_size = c->out_size,
                           .first = c->first, .worker = c->worker, .in_place = !!c->in_place,
                           .items = items,
                           .in_off = POOL_NO_OFF, .out_off = POOL_NO_OFF};
    if (t->in_place) { /* the caller's buffers: in place where the workers see them */
        if (in_len && pool_shared(p, c->in, in_len))
            t->in_sh = c->in;
        else
            t->in_src = c->in;
        if (out_len && pool_shared(p, c->out, out_len))
            t->out_sh = c->out;
        else
            t->out_dst = c->out;
    } else { /* copies of its own: in the arena when it has room, else private */
        if (p->arena) {
            t->in_off = in_len ? pool_arena_take(p, in_len) : POOL_NO_OFF;
            t->out_off = out_len ? pool_arena_take(p, out_len) : POOL_NO_OFF;
        }
        if (t->in_off != POOL_NO_OFF) {
            memcpy(p->arena + t->in_off, c->in, in_len);
            t->in_sh = p->arena + t->in_off;
        } else if (in_len && (t->in = malloc(in_len))) {
            memcpy(t->in, c->in, in_len);
            t->in_src = t->in;
        }
        if (t->out_off != POOL_NO_OFF)
            t->out_sh = p->arena + t->out_off;
        else if (out_len)
            t->out_dst = t->out = malloc(out_len);
        if ((in_len && !t->in_sh && !t->in) || (out_len && !t->out_sh && !t->out)) {
            pool_arena_give(p, t->in_off);
            pool_arena_give(p, t->out_off);
            free(t->in);
            free(t->out);
            free(t);
            errno = ENOMEM;
            return NULL;
        }
    }
    t->next = p->tasks;
    if (p->tasks)
        p->tasks->prev = t;
    p->tasks = t;
    pool_queue_push(p, t, 0);

    struct pool_sig sig;
    pool_sig_block(p, &sig);
    (void)pool_step(p, 0); /* sent now when a worker is idle; no waiting */
    pool_sig_restore(&sig);
    return t;
}

struct tvp_task *tvp_pool_submit(struct tvp_pool *pool, const struct tvp_pool_call *call)
{
    return pool_submit(pool, call, "tvp_pool_submit", 1);
}

struct tvp_task *tvp_pool_apply_async(struct tvp_pool *pool, tvp_pool_fn *fn, const void *in,
                                      size_t in_size, size_t out_size, void *arg)
{
    struct tvp_pool_call c = {.fn = fn, .arg = arg, .in = in, .count = 1, .in_size = in_size,
                              .out_size = out_size, .worker = -1};
    return pool_submit(pool, &c, "tvp_pool_apply_async", 0); /* "task 3: ...", as ever */
}

static int pool_task_pending(const struct tvp_task *t)
{
    return t->state == TASK_QUEUED || t->state == TASK_RUNNING;
}

int tvp_task_ready(struct tvp_task *task)
{
    if (!task)
        return 0;
    if (pool_task_pending(task)) {
        struct pool_sig sig;
        pool_sig_block(task->pool, &sig);
        (void)pool_step(task->pool, 0);
        pool_sig_restore(&sig);
    }
    return !pool_task_pending(task);
}

int64_t tvp_task_id(const struct tvp_task *task)
{
    return task ? task->id : -1;
}

int tvp_result_get(struct tvp_task *task, void *out, double timeout_s)
{
    if (!task)
        return TVP_EUSAGE;
    struct tvp_pool *p = task->pool;
    double t0 = tvp_now(), until = timeout_s < 0 ? -1 : t0 + timeout_s;
    int err = 0;
    if (pool_task_pending(task)) {
        struct pool_sig sig;
        pool_sig_block(p, &sig);
        for (;;) {
            err = pool_step(p, until);
            if (err || !pool_task_pending(task) || (until >= 0 && tvp_now() >= until))
                break;
        }
        pool_sig_restore(&sig);
    }
    if (err)
        return pool_fail_call(p, err, "tvp_result_get: poll failed");
    if (pool_task_pending(task)) {
        pool_err_init(&p->last, TVP_ETIMEOUT, task->id);
        char why[80];
        snprintf(why, sizeof why, "not done after %.2f s", tvp_now() - t0);
        pool_err_msg(&p->last, why);
        return TVP_ETIMEOUT;
    }
    if (task->state == TASK_FAILED) {
        p->last = task->err;
        return task->err.code;
    }
    pool_err_init(&p->last, 0, -1);
    const char *res = task->out_sh ? task->out_sh : task->out_dst; /* in place: call.out */
    if (out && res && out != res)
        memmove(out, res, task->count * task->out_size);
    return 0;
}

void tvp_task_free(struct tvp_task *task)
{
    if (!task)
        return;
    struct tvp_pool *p = task->pool;
    if (task->state == TASK_QUEUED)
        pool_queue_remove(p, task);
    if (task->state == TASK_RUNNING) {
        /* released when its worker is done with it (an in-place task's in and out are in
         * use until then: the caller's promise), not run again if that worker is lost */
        task->orphan = 1;
        for (int s = 0; task->in_place && s < p->nworkers; s++)
            if (p->w[s].task == task) /* out is the caller's again: its result is dropped */
                p->w[s].rdst = NULL;
    } else
        pool_task_release(task);
}

void tvp_pool_close(struct tvp_pool *pool)
{
    if (pool)
        pool->closed = 1;
}

static int pool_busy(const struct tvp_pool *p)
{
    if (p->qhead)
        return 1;
    for (int s = 0; s < p->nworkers; s++)
        if (p->w[s].pid && p->w[s].busy)
            return 1;
    return 0;
}

int tvp_pool_join(struct tvp_pool *pool)
{
    struct tvp_pool *p = pool;
    if (!p)
        return TVP_EUSAGE;
    if (!p->closed)
        return pool_fail_call(p, TVP_EUSAGE, "tvp_pool_join: the pool is not closed");
    if (p->joined)
        return 0;
    struct pool_sig sig;
    pool_sig_block(p, &sig);
    int err = 0;
    while (!err && pool_busy(p))
        err = pool_step(p, -1);
    if (err) { /* poll itself failed: end them by force */
        pool_sig_restore(&sig);
        (void)tvp_pool_terminate(p);
        return pool_fail_call(p, err, "tvp_pool_join: poll failed; the workers were killed");
    }
    p->joined = 1; /* no replacements from here on */
    for (int s = 0; s < p->nworkers; s++) { /* idle, their pipes empty: EXIT fits */
        struct pool_worker *w = &p->w[s];
        if (!w->pid)
            continue;
        struct pool_msg m = {.type = POOL_MSG_EXIT};
        ssize_t r;
        do
            r = write(w->cmd, &m, sizeof m);
        while (r < 0 && errno == EINTR);
        pool_fd_close(&w->cmd); /* end of file does the same where EXIT did not go */
        pool_fd_close(&w->res);
    }
    pool_sig_restore(&sig);
    pool_err_init(&p->last, 0, -1);
    for (int s = 0; s < p->nworkers; s++) {
        struct pool_worker *w = &p->w[s];
        if (!w->pid)
            continue;
        int status = 0;
        int reaped = pool_reap(w->pid, POOL_JOIN_GRACE_S, &status);
        if (reaped != 0 || !WIFEXITED(status) || WEXITSTATUS(status) != POOL_EXIT_OK) {
            if (!err) {
                char cause[200];
                err = TVP_EWORKER;
                pool_err_init(&p->last, err, -1);
                pool_describe(&p->last, s, w->pid, reaped, status, cause, sizeof cause);
                snprintf(p->last.msg, sizeof p->last.msg, "tvp_pool_join: %s", cause);
            }
        }
        w->pid = 0;
    }
    return err;
}

int tvp_pool_terminate(struct tvp_pool *pool)
{
    struct tvp_pool *p = pool;
    if (!p)
        return TVP_EUSAGE;
    p->closed = p->terminated = 1;
    int err = 0;
    for (int s = 0; s < p->nworkers; s++)
        if (p->w[s].pid)
            (void)kill(p->w[s].pid, SIGKILL);
    for (int s = 0; s < p->nworkers; s++) {
        struct pool_worker *w = &p->w[s];
        if (!w->pid)
            continue;
        pool_fd_close(&w->cmd);
        pool_fd_close(&w->res);
        int status;
        pid_t r;
        do
            r = waitpid(w->pid, &status, 0);
        while (r < 0 && errno == EINTR);
        if (r != w->pid)
            err = TVP_ESYS;
        if (w->busy && w->task) {
            struct tvp_pool_error e;
            pool_task_err(&e, TVP_ECANCELED, w->task);
            pool_err_msg(&e, "canceled by tvp_pool_terminate");
            pool_task_end(w->task, &e);
        }
        w->pid = 0;
        w->busy = 0;
        w->task = NULL;
    }
    while (p->qhead) {
        struct tvp_task *t = p->qhead;
        pool_queue_remove(p, t);
        struct tvp_pool_error e;
        pool_task_err(&e, TVP_ECANCELED, t);
        pool_err_msg(&e, "canceled by tvp_pool_terminate");
        pool_task_end(t, &e);
    }
    p->joined = 1;
    if (err)
        pool_fail_call(p, err, "tvp_pool_terminate: waitpid failed");
    return err;
}

void tvp_pool_destroy(struct tvp_pool *pool)
{
    struct tvp_pool *p = pool;
    if (!p)
        return;
    if (p->w && pool_live(p) && getpid() == p->parent) /* not from a fork of the caller */
        (void)tvp_pool_terminate(p);
    while (p->tasks)
        pool_task_release(p->tasks);
    if (p->arena)
        munmap(p->arena, p->arena_size);
    if (p->topo)
        tvp_topo_close(p->topo);
    free(p->blk);
    free(p->pu);
    free(p->regions);
    free(p->slot);
    free(p->w);
    free(p->pfd);
    free(p->pfd_w);
    free(p);
}

/* ---- measurements ------------------------------------------------------------------------- */

void tvp_pool_stats(const struct tvp_pool *pool, struct tvp_pool_stats *st,
                    struct tvp_pool_worker_stats *w)
{
    if (st)
        *st = pool ? pool->st : (struct tvp_pool_stats){0};
    for (int s = 0; pool && w && s < pool->nworkers; s++) {
        w[s] = pool->slot[s].st;
        w[s].pid = pool->w[s].pid;
    }
}

/* Everything back to none, but t_init and pid, which say what the slots hold now; pu to
 * -1 (unknown), its none.  Work lost before and done after adds to the new t_recovery. */
void tvp_pool_stats_reset(struct tvp_pool *pool)
{
    if (!pool)
        return;
    pool->st = (struct tvp_pool_stats){0};
    for (int s = 0; s < pool->nworkers; s++)
        pool->slot[s].st = (struct tvp_pool_worker_stats){.t_init = pool->slot[s].st.t_init,
                                                          .pu = -1};
}
