/* tvp-posix probes (common/probe.h): the real mechanisms of fork()ed processes.
 *
 *   spawn   fork + _exit + waitpid of W children, per construct; again after the parent
 *           touched --touch MiB (fork copies the page tables of everything the parent has)
 *   ipc     the parent (worker 0) and one forked child (worker 1), pinned by the --bind
 *           plan: a pipe pair (the pool's pipes, enlarged to 1 MiB), and a MAP_SHARED
 *           buffer handed over with a futex flag (spin, then sleep)
 *   switch  the same two processes ping-ponging with blocking handovers (a byte through
 *           pipes; a futex flag in a shared mapping, no spinning), both pinned to one PU,
 *           then to PUs of two cores
 *   memory  W children of a parent holding a --size-mib input: RSS and PSS of each after
 *           reading it, after writing an output of X/W of their own, and after writing one
 *           byte in every page of the input (copy on write: Python's reference counts do
 *           this to every object a child reads)
 *
 * The pair's commands go through a tvp_probe_pair in the shared mapping; the child serves
 * them.  The child dies with the parent (PR_SET_PDEATHSIG), and both notice the other's
 * end within 100 ms while waiting (a watch on the flags, EOF or EPIPE on the pipes). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "posix.h"
#include "probe.h"

int posix_probe(const struct tvp_probe_ctx *ctx, const char *name, struct tvp_probe_sink *out);

#define ERR(rc, ...) tvp_errorf((rc), out->err, sizeof out->err, __VA_ARGS__)


/* ---- spawn ------------------------------------------------------------------------------ */

struct spawn {
    int workers;
    pid_t *pids;
};

/* inner times: fork W children that _exit(0) at once, then waitpid each */
static int spawn_loop(void *arg, uint64_t inner, double *seconds)
{
    struct spawn *s = arg;
    int rc = 0;
    double t0 = tvp_now();
    for (uint64_t i = 0; i < inner && !rc; i++) {
        int n = 0;
        for (; n < s->workers; n++) {
            pid_t pid = fork();
            if (pid == 0)
                _exit(0);
            if (pid < 0) {
                rc = TVP_ESYS;
                break;
            }
            s->pids[n] = pid;
        }
        for (int w = 0; w < n; w++) {
            int r = tvp_probe_reap(s->pids[w]);
            rc = rc ? rc : r;
        }
    }
    *seconds = tvp_now() - t0;
    return rc;
}

static int probe_spawn(const struct tvp_probe_ctx *ctx, struct tvp_probe_sink *out)
{
    struct spawn s = {ctx->workers, calloc((size_t)ctx->workers, sizeof(pid_t))};
    if (!s.pids)
        return ERR(TVP_ENOMEM, "out of memory");
    int rc = 0;
    for (int pass = 0; pass < 2 && !rc; pass++) {
        size_t touch = pass ? (size_t)ctx->touch_bytes : 0;
        if (pass && touch == 0)
            break;
        void *mem = touch ? tvp_probe_map(touch) : NULL;
        if (touch && !mem) {
            rc = ERR(TVP_ENOMEM, "--touch: cannot map %zu MiB", touch >> 20);
            break;
        }
        tvp_probe_touch(mem, touch);
        struct tvp_probe_row row;
        tvp_probe_row_init(&row, "fork+_exit+waitpid", ctx->workers, "unbound");
        row.size_bytes = touch;
        rc = tvp_probe_epcc(ctx, spawn_loop, tvp_probe_ref_empty, &s, 0, &row);
        if (rc)
            ERR(rc, "fork+_exit+waitpid: %s", strerror(errno));
        snprintf(row.notes, sizeof row.notes,
                 "per construct: %d children forked and reaped; parent touched %zu MiB (4 KiB "
                 "pages)", ctx->workers, touch >> 20);
        if (!rc)
            rc = tvp_probe_emit(out, &row);
        tvp_probe_unmap(mem, touch);
    }
    free(s.pids);
    return rc;
}

/* ---- the pair: the parent and one forked child -------------------------------------------- */

enum { OP_PIN = 1, OP_PIPE_RTT, OP_PIPE_BW, OP_SHM_RTT, OP_SHM_BW, OP_PIPE_SWITCH, OP_FUTEX_SWITCH };

struct pair {
    const struct tvp_probe_ctx *ctx;
    struct tvp_probe_pair *p; /* in the shared mapping, followed by the two buffers */
    size_t map_bytes, buf_bytes;
    unsigned char *a, *b;     /* shared: a carries client -> server, b back */
    unsigned char *src, *dst; /* the side's own buffers */
    int to_child[2], to_parent[2];
    pid_t child, parent;
    int child_status; /* reaped early by the watch: its result */
    int reaped;
    struct tvp_probe_pair_end me;
    struct tvp_probe_watch watch;
    /* the current measurement */
    uint32_t op;
    uint64_t size;
};

static int child_gone(void *arg) /* the parent's watch */
{
    struct pair *s = arg;
    if (s->reaped)
        return 1;
    int st;
    pid_t r = waitpid(s->child, &st, WNOHANG);
    if (r == s->child) {
        s->reaped = 1;
        s->child_status = WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : TVP_EWORKER;
        return 1;
    }
    return r < 0;
}

static int parent_gone(void *arg) /* the child's */
{
    struct pair *s = arg;
    return getppid() != s->parent;
}

/* the child's half of each measurement; returns its error */
static int serve_one(struct pair *s, const struct tvp_probe_cmd *c)
{
    int rd = s->to_child[0], wr = s->to_parent[1], rc = 0;
    unsigned char byte = 0;
    size_t n = (size_t)c->size;
    switch (c->op) {
    case OP_PIN:
        return tvp_pin_process(s->ctx->topo, c->pu);
    case OP_PIPE_RTT:
    case OP_PIPE_SWITCH:
        for (uint64_t i = 0; i < c->inner && !rc; i++) {
            ssize_t got = tvp_read_full(rd, s->dst, n);
            rc = got < 0 ? (int)got : (size_t)got != n ? TVP_EWORKER : tvp_write_full(wr, s->dst, n);
        }
        return rc;
    case OP_PIPE_BW:
        for (uint64_t i = 0; i < c->inner && !rc; i++) {
            ssize_t got = tvp_read_full(rd, s->dst, n);
            rc = got < 0 ? (int)got : (size_t)got != n ? TVP_EWORKER : tvp_write_full(wr, &byte, 1);
        }
        return rc;
    case OP_SHM_RTT:
        for (uint64_t i = 0; i < c->inner && !rc; i++) {
            if ((rc = tvp_probe_pair_recv(s->p, &s->me, 1)))
                break;
            memcpy(s->dst, s->a, n); /* copy out into its own memory, then back in */
            memcpy(s->b, s->dst, n);
            tvp_probe_pair_send(s->p, 1);
        }
        return rc;
    case OP_SHM_BW:
        for (uint64_t i = 0; i < c->inner && !rc; i++) {
            if ((rc = tvp_probe_pair_recv(s->p, &s->me, 1)))
                break;
            memcpy(s->dst, s->a, n);
            tvp_probe_pair_send(s->p, 1);
        }
        return rc;
    case OP_FUTEX_SWITCH:
        for (uint64_t i = 0; i < c->inner && !rc; i++)
            if (!(rc = tvp_probe_pair_recv(s->p, &s->me, 1)))
                tvp_probe_pair_send(s->p, 1);
        return rc;
    default:
        return TVP_EWORKER;
    }
}

_Noreturn static void pair_child(struct pair *s)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != s->parent)
        _exit(POSIX_EXIT_SETUP);
    posix_fd_close(&s->to_child[1]);
    posix_fd_close(&s->to_parent[0]);
    s->me = (struct tvp_probe_pair_end){.watch = &s->watch};
    s->watch = (struct tvp_probe_watch){parent_gone, s};
    struct tvp_probe_cmd c;
    while (tvp_probe_pair_next(s->p, &s->me, &c) == 0 && c.op != TVP_PROBE_OP_EXIT) {
        tvp_probe_pair_ready(s->p, &s->me);
        tvp_probe_pair_reply(s->p, &s->me, serve_one(s, &c));
    }
    _exit(0);
}

/* Ends the child: EXIT, or after a failure (it may be waiting on a flag) SIGKILL. */
static void pair_close(struct pair *s, int failed)
{
    int rc = 0;
    if (s->child > 0 && failed && !s->reaped)
        kill(s->child, SIGKILL);
    if (s->child > 0) {
        struct tvp_probe_cmd c = {.op = TVP_PROBE_OP_EXIT};
        s->p->c = c; /* no answer to wait for: post the command only */
        tvp_probe_flag_post(&s->p->cmd, 1);
        posix_fd_close(&s->to_child[1]); /* EOF for a child blocked in a pipe */
        posix_fd_close(&s->to_parent[0]);
        if (!s->reaped)
            rc = tvp_probe_reap(s->child);
        (void)rc;
    }
    for (int i = 0; i < 2; i++) {
        posix_fd_close(&s->to_child[i]);
        posix_fd_close(&s->to_parent[i]);
    }
    if (s->p)
        tvp_probe_unmap(s->p, s->map_bytes);
    tvp_probe_unmap(s->src, s->buf_bytes);
    tvp_probe_unmap(s->dst, s->buf_bytes);
}

/* The shared mapping (the pair, then buffers a and b of buf bytes), both sides' own
 * buffers, the pipes, and the child. */
static int pair_open(struct pair *s, const struct tvp_probe_ctx *ctx, size_t buf, int spins,
                     struct tvp_probe_sink *out)
{
    memset(s, 0, sizeof *s);
    s->ctx = ctx;
    s->to_child[0] = s->to_child[1] = s->to_parent[0] = s->to_parent[1] = -1;
    s->buf_bytes = buf ? buf : 1;
    size_t head = 4096;
    s->map_bytes = head + 2 * s->buf_bytes;
    s->p = tvp_probe_map_shared(s->map_bytes);
    s->src = tvp_probe_map(s->buf_bytes);
    s->dst = tvp_probe_map(s->buf_bytes);
    if (!s->p || !s->src || !s->dst) {
        pair_close(s, 1);
        return ERR(TVP_ENOMEM, "cannot map 4 x %zu bytes", s->buf_bytes);
    }
    tvp_probe_pair_init(s->p, 1, spins);
    s->a = (unsigned char *)s->p + head;
    s->b = s->a + s->buf_bytes;
    memset(s->a, 1, 2 * s->buf_bytes); /* every buffer present before anything is timed */
    memset(s->src, 2, s->buf_bytes);
    memset(s->dst, 3, s->buf_bytes);
    size_t cap;
    if (posix_pipe_open(s->to_child, &cap) || posix_pipe_open(s->to_parent, &cap)) {
        pair_close(s, 1);
        return ERR(TVP_ESYS, "pipe: %s", strerror(errno));
    }
    signal(SIGPIPE, SIG_IGN); /* a child gone is EPIPE, not a signal */
    s->parent = getpid();
    fflush(NULL);
    s->child = fork();
    if (s->child < 0) {
        pair_close(s, 1);
        return ERR(TVP_ESYS, "fork: %s", strerror(errno));
    }
    if (s->child == 0)
        pair_child(s);
    posix_fd_close(&s->to_child[0]);
    posix_fd_close(&s->to_parent[1]);
    s->watch = (struct tvp_probe_watch){child_gone, s};
    s->me = (struct tvp_probe_pair_end){.watch = &s->watch};
    return 0;
}

/* both sides onto their PUs: the child by command, the parent itself */
static int pair_pin(struct pair *s, int pu_parent, int pu_child)
{
    struct tvp_probe_cmd c = {.op = OP_PIN, .pu = pu_child};
    int rc = tvp_probe_pair_call(s->p, &s->me, &c);
    rc = rc ? rc : tvp_probe_pair_done(s->p, &s->me);
    return rc ? rc : tvp_pin_process(s->ctx->topo, pu_parent);
}

/* the client's half: inner handovers of s->size bytes with mechanism s->op */
static int pair_loop(void *arg, uint64_t inner, double *seconds)
{
    struct pair *s = arg;
    struct tvp_probe_cmd c = {.op = s->op, .inner = inner, .size = s->size};
    int rd = s->to_parent[0], wr = s->to_child[1];
    size_t n = (size_t)s->size;
    unsigned char byte;
    int rc = tvp_probe_pair_call(s->p, &s->me, &c);
    if (rc)
        return rc;
    double t0 = tvp_now();
    for (uint64_t i = 0; i < inner && !rc; i++) {
        ssize_t got;
        switch (s->op) {
        case OP_PIPE_RTT:
        case OP_PIPE_SWITCH:
            rc = tvp_write_full(wr, s->src, n);
            got = rc ? 0 : tvp_read_full(rd, s->dst, n);
            rc = rc ? rc : got < 0 ? (int)got : (size_t)got != n ? TVP_EWORKER : 0;
            break;
        case OP_PIPE_BW:
            rc = tvp_write_full(wr, s->src, n);
            got = rc ? 0 : tvp_read_full(rd, &byte, 1);
            rc = rc ? rc : got < 0 ? (int)got : got != 1 ? TVP_EWORKER : 0;
            break;
        case OP_SHM_RTT:
            memcpy(s->a, s->src, n);
            tvp_probe_pair_send(s->p, 0);
            if (!(rc = tvp_probe_pair_recv(s->p, &s->me, 0)))
                memcpy(s->dst, s->b, n);
            break;
        case OP_SHM_BW:
            memcpy(s->a, s->src, n);
            tvp_probe_pair_send(s->p, 0);
            rc = tvp_probe_pair_recv(s->p, &s->me, 0);
            break;
        case OP_FUTEX_SWITCH:
            tvp_probe_pair_send(s->p, 0);
            rc = tvp_probe_pair_recv(s->p, &s->me, 0);
            break;
        }
    }
    *seconds = tvp_now() - t0;
    int done = rc == TVP_EWORKER ? rc : tvp_probe_pair_done(s->p, &s->me);
    return rc ? rc : done;
}

static int pair_failed(struct pair *s, int rc, const char *what, struct tvp_probe_sink *out)
{
    if (rc == TVP_EWORKER || s->reaped)
        return ERR(TVP_EWORKER, "%s: the child process ended or broke the protocol", what);
    return ERR(rc, "%s: %s", what, rc == TVP_ESYS ? strerror(errno) : tvp_strerror(rc));
}

static void pair_set(void *arg, uint32_t op, uint64_t size)
{
    struct pair *s = arg;
    s->op = op;
    s->size = size;
}

static int pair_failed_any(void *arg, int rc, const char *what, struct tvp_probe_sink *out)
{
    return pair_failed(arg, rc, what, out);
}

/* ---- ipc -------------------------------------------------------------------------------- */

static int probe_ipc(const struct tvp_probe_ctx *ctx, struct tvp_probe_sink *out)
{
    struct pair s;
    int pus[2] = {ctx->pu_plan[0], ctx->pu_plan[1]};
    /* on one PU a spinning waiter only keeps its peer from running: sleep at once */
    int spins = pus[0] >= 0 && pus[0] == pus[1] ? 0 : TVP_PROBE_SPINS;
    int rc = pair_open(&s, ctx, (size_t)ctx->max_size, spins, out);
    if (rc)
        return rc;
    if ((rc = pair_pin(&s, pus[0], pus[1])))
        rc = pair_failed(&s, rc, "pinning", out);
    static const struct tvp_probe_mech mech[] = {
        {"pipe", OP_PIPE_RTT, OP_PIPE_BW,
         "pipes of 1 MiB; latency: round trip of size bytes; MB/s: size / one-way "
         "transfer (write, read, 1-byte ack)"},
        {"shm+flag", OP_SHM_RTT, OP_SHM_BW,
         "MAP_SHARED buffer + futex flag (spin, then sleep); latency: round trip; MB/s: "
         "copy in, flag, copy out, flag back"}};
    const struct tvp_probe_runner r = {pair_loop, pair_set, pair_failed_any, &s, 1};
    if (!rc)
        rc = tvp_probe_ipc_rows(ctx, &r, mech, 2, pus, tvp_probe_placement(pus[0], pus[1]), out);
    pair_close(&s, rc != 0);
    return rc;
}

/* ---- switch ------------------------------------------------------------------------------ */

static int probe_switch(const struct tvp_probe_ctx *ctx, struct tvp_probe_sink *out)
{
    struct pair s;
    int rc = pair_open(&s, ctx, 4096, 0, out); /* spins 0: every wait sleeps */
    if (rc)
        return rc;
    int pus[2][2] = {{ctx->pu_same, ctx->pu_same}, {ctx->pu_same, ctx->pu_other}};
    const struct tvp_probe_runner r = {pair_loop, pair_set, pair_failed_any, &s, 1};
    for (int k = 0; k < 2 && !rc; k++) {
        if (pus[k][1] < 0)
            break; /* one core only */
        const char *place = k == 0 ? "same-core" : "different-cores";
        if ((rc = pair_pin(&s, pus[k][0], pus[k][1]))) {
            rc = pair_failed(&s, rc, "pinning", out);
            break;
        }
        /* a round trip row each, and on one PU a switch row: half of it */
        rc = tvp_probe_switch_rows(ctx, &r, OP_PIPE_SWITCH, 1, "pipe", place, pus[k], 1,
                                   "round trip, blocking (1 byte through two pipes)", out);
        rc = rc ? rc
                : tvp_probe_switch_rows(ctx, &r, OP_FUTEX_SWITCH, 1, "futex", place, pus[k], 0,
                                        "round trip, blocking (futex flags in a MAP_SHARED page)",
                                        out);
    }
    pair_close(&s, rc != 0);
    return rc;
}

/* ---- memory -------------------------------------------------------------------------------- */

enum { MEM_READ = 1, MEM_WRITE, MEM_TOUCH, MEM_MEASURE, MEM_EXIT };
struct mem_msg {
    int32_t op, err;
    struct tvp_probe_mem mem;
};
static const char *const mem_phase[] = {"", "read", "write", "touch"};

_Noreturn static void mem_child(const struct tvp_probe_ctx *ctx, int w, int cmd, int res,
                                const uint64_t *in, size_t bytes)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    size_t words = bytes / 8;
    uint64_t b, e;
    tvp_partition(words, ctx->workers, w, &b, &e);
    uint64_t *outbuf = NULL;
    size_t out_bytes = (size_t)(e - b) * 8;
    volatile uint64_t sink = 0;
    struct mem_msg m;
    while (tvp_read_full(cmd, &m, sizeof m) == (ssize_t)sizeof m) {
        m.err = 0;
        switch (m.op) {
        case MEM_READ: { /* the whole shared input */
            uint64_t sum = 0;
            for (size_t i = 0; i < words; i++)
                sum += in[i];
            sink = sum;
            break;
        }
        case MEM_WRITE: /* an output of its own, X/W, from its part of the input */
            outbuf = tvp_probe_map(out_bytes);
            if (!outbuf) {
                m.err = TVP_ENOMEM;
                break;
            }
            for (uint64_t i = b; i < e; i++)
                outbuf[i - b] = in[i] * in[i];
            break;
        case MEM_TOUCH: /* a byte in every page of the input: its pages are copied */
            tvp_probe_touch((void *)in, bytes);
            break;
        case MEM_MEASURE:
            m.err = tvp_probe_mem_read(0, &m.mem);
            break;
        default:
            _exit(0);
        }
        if (tvp_write_full(res, &m, sizeof m) != 0)
            _exit(POSIX_EXIT_PROTOCOL);
    }
    (void)sink;
    _exit(0);
}

/* one command to every child, then every answer (a memory measure into mem[w]) */
static int mem_round(int workers, const int *cmd, const int *res, int op, struct tvp_probe_mem *mem)
{
    struct mem_msg m = {.op = op};
    for (int w = 0; w < workers; w++)
        if (tvp_write_full(cmd[w], &m, sizeof m) != 0)
            return errno == EPIPE ? TVP_EWORKER : TVP_ESYS;
    int rc = 0;
    for (int w = 0; w < workers; w++) {
        ssize_t got = tvp_read_full(res[w], &m, sizeof m);
        if (got != (ssize_t)sizeof m)
            return got < 0 ? TVP_ESYS : TVP_EWORKER;
        rc = rc ? rc : m.err;
        if (mem)
            mem[w] = m.mem;
    }
    return rc;
}

static int probe_memory(const struct tvp_probe_ctx *ctx, struct tvp_probe_sink *out)
{
    int W = ctx->workers, rc = 0;
    size_t bytes = (size_t)ctx->size_bytes;
    int *cmd = malloc((size_t)W * sizeof *cmd), *res = malloc((size_t)W * sizeof *res);
    pid_t *pid = calloc((size_t)W, sizeof *pid);
    struct tvp_probe_mem *mem = calloc((size_t)W, sizeof *mem);
    uint64_t *in = tvp_probe_map(bytes);
    if (!cmd || !res || !pid || !mem || !in) {
        rc = ERR(TVP_ENOMEM, "cannot allocate the %zu MiB input", bytes >> 20);
        goto out;
    }
    for (int w = 0; w < W; w++)
        cmd[w] = res[w] = -1;
    for (size_t i = 0; i < bytes / 8; i++) /* the parent's data, before the children exist */
        in[i] = i * 0x9e3779b97f4a7c15u;
    signal(SIGPIPE, SIG_IGN);
    fflush(NULL);
    int started = 0;
    for (; started < W; started++) {
        int c[2], r[2];
        if (pipe(c) != 0)
            break;
        if (pipe(r) != 0) {
            close(c[0]), close(c[1]);
            break;
        }
        pid_t p = fork();
        if (p == 0) {
            for (int v = 0; v < started; v++) /* not its siblings' pipes */
                close(cmd[v]), close(res[v]);
            close(c[1]), close(r[0]);
            mem_child(ctx, started, c[0], r[1], in, bytes);
        }
        close(c[0]), close(r[1]);
        if (p < 0) {
            close(c[1]), close(r[0]);
            break;
        }
        pid[started] = p, cmd[started] = c[1], res[started] = r[0];
    }
    if (started < W) {
        rc = ERR(TVP_ESYS, "cannot start worker %d: %s", started, strerror(errno));
        goto stop;
    }
    char notes[192];
    for (int phase = MEM_READ; phase <= MEM_TOUCH && !rc; phase++) {
        struct tvp_probe_mem self;
        if ((rc = mem_round(W, cmd, res, phase, NULL)) || (rc = mem_round(W, cmd, res, MEM_MEASURE, mem)))
            break;
        if ((rc = tvp_probe_mem_read(0, &self)))
            break;
        long rss = self.rss_kb, pss = self.pss_kb;
        rc = tvp_probe_emit_mem(out, mem_phase[phase], "parent", W, bytes, self.rss_kb,
                                self.pss_kb, "holds the input it made before the fork");
        for (int w = 0; w < W && !rc; w++) {
            char who[32];
            snprintf(who, sizeof who, "child %d", w);
            snprintf(notes, sizeof notes, "pid %ld", (long)pid[w]);
            rss += mem[w].rss_kb, pss += mem[w].pss_kb;
            rc = tvp_probe_emit_mem(out, mem_phase[phase], who, W, bytes, mem[w].rss_kb,
                                    mem[w].pss_kb, notes);
        }
        snprintf(notes, sizeof notes, "parent + %d children (RSS counts shared pages in each)", W);
        rc = rc ? rc : tvp_probe_emit_mem_total(out, mem_phase[phase], W, bytes, rss, pss, notes);
    }
    if (rc && !out->err[0])
        ERR(rc, "%s", rc == TVP_EWORKER ? "a worker process ended or broke the protocol"
                      : rc == TVP_ESYS  ? strerror(errno)
                                        : tvp_strerror(rc));
stop:
    for (int w = 0; w < started; w++) {
        struct mem_msg m = {.op = MEM_EXIT};
        if (tvp_write_full(cmd[w], &m, sizeof m) != 0) { /* gone already: reaped below */
        }
        close(cmd[w]), close(res[w]);
    }
    for (int w = 0; w < started; w++) {
        int r = tvp_probe_reap(pid[w]);
        if (r && !rc)
            rc = ERR(r, "worker %d did not exit cleanly", w);
    }
out:
    tvp_probe_unmap(in, bytes);
    free(cmd), free(res), free(pid), free(mem);
    return rc;
}

int posix_probe(const struct tvp_probe_ctx *ctx, const char *name, struct tvp_probe_sink *out)
{
    (void)name;
    signal(SIGCHLD, SIG_DFL); /* an inherited SIG_IGN would reap the children for us */
    static tvp_probe_fn *const probes[TVP_PROBE_COUNT] = {
        [TVP_PROBE_SPAWN] = probe_spawn, [TVP_PROBE_IPC] = probe_ipc,
        [TVP_PROBE_SWITCH] = probe_switch, [TVP_PROBE_MEMORY] = probe_memory};
    return tvp_probe_run(ctx, probes, out);
}
