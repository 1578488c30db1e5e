/* tvp-openmp probes (common/probe.h): the real mechanisms of an OpenMP team.
 *
 *   spawn   the first parallel region of a process, which creates the team's threads: the
 *           binary re-executes itself (fork + execve of /proc/self/exe) with
 *           TVP_PROBE_FIRST_REGION set, times its first region and reports it through a
 *           pipe, bound (OMP_PROC_BIND=close, OMP_PLACES = the --bind plan's PUs) and
 *           unbound (OMP_PROC_BIND=false); then, in this process, the steady-state empty
 *           parallel region and barrier (EPCC syncbench PARALLEL and BARRIER), with the
 *           threads pinned by the --bind plan
 *   ipc     two threads (pinned by the plan) hand a shared buffer over: a futex flag
 *           (acquire/release, spin then sleep) or an OpenMP barrier
 *   switch  two threads ping-ponging through futex flags without spinning (each wait
 *           sleeps), both pinned to one PU, then to PUs of two cores
 *   memory  one process: W threads read the shared --size-mib input, write X/W of their
 *           own, then write a byte in every page of the input (no copy: one address space)
 */

#include <errno.h>
#include <fcntl.h>
#include <omp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backend.h"
#include "probe.h"

extern char **environ;

#define FIRST_REGION_ENV "TVP_PROBE_FIRST_REGION" /* "FD:WORKERS": be the timed child */

#define PERR(rc, ...) tvp_errorf((rc), out->err, sizeof out->err, __VA_ARGS__)


/* ---- spawn: the first region, in a fresh process ------------------------------------- */

struct first_result {
    double seconds;
    int32_t team, err;
};

/* The re-executed child: its first parallel region, timed, into the pipe; never returns. */
_Noreturn static void first_region_child(const char *spec)
{
    int fd = -1, workers = 0;
    struct first_result r = {0, 0, 0};
    if (sscanf(spec, "%d:%d", &fd, &workers) != 2 || fd < 0 || workers < 1)
        _exit(2);
    omp_set_dynamic(0);
    int team = 0;
    double t0 = tvp_now();
#pragma omp parallel num_threads(workers)
    {
        if (omp_get_thread_num() == 0)
            team = omp_get_num_threads();
    }
    r.seconds = tvp_now() - t0;
    r.team = team;
    _exit(tvp_write_full(fd, &r, sizeof r) == 0 ? 0 : 3);
}

struct first {
    int workers;
    char **envp;   /* the child's environment; envp[slot] is the FIRST_REGION_ENV entry */
    int slot;
    char spec[64];
};

/* the environment minus the binding variables, plus bind (and places) and our entry */
static char **first_env(const char *bind, const char *places, struct first *f)
{
    size_t n = 0;
    while (environ[n])
        n++;
    char **e = calloc(n + 4, sizeof *e);
    if (!e)
        return NULL;
    size_t k = 0;
    static const char *const drop[] = {"OMP_PROC_BIND=", "OMP_PLACES=", "GOMP_CPU_AFFINITY=",
                                       FIRST_REGION_ENV "="};
    for (size_t i = 0; i < n; i++) {
        int keep = 1;
        for (size_t d = 0; d < sizeof drop / sizeof drop[0]; d++)
            keep &= strncmp(environ[i], drop[d], strlen(drop[d])) != 0;
        if (keep)
            e[k++] = environ[i];
    }
    e[k++] = (char *)bind;
    if (places)
        e[k++] = (char *)places;
    f->slot = (int)k;
    e[k++] = f->spec;
    e[k] = NULL;
    return e;
}

/* one fresh process, its first region (inner is 1: a first region happens once) */
static int first_loop(void *arg, uint64_t inner, double *seconds)
{
    struct first *f = arg;
    static char *const argv[] = {"tvp-openmp", "probe", "spawn", "--workers", "1", NULL};
    double total = 0;
    for (uint64_t i = 0; i < inner; i++) {
        int fds[2];
        if (pipe(fds) != 0)
            return TVP_ESYS;
        fcntl(fds[0], F_SETFD, FD_CLOEXEC);
        snprintf(f->spec, sizeof f->spec, FIRST_REGION_ENV "=%d:%d", fds[1], f->workers);
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) {
            execve("/proc/self/exe", argv, f->envp);
            _exit(127);
        }
        close(fds[1]);
        struct first_result r = {0, 0, 0};
        ssize_t got = pid < 0 ? -1 : tvp_read_full(fds[0], &r, sizeof r);
        int saved = errno;
        close(fds[0]);
        if (pid < 0) {
            errno = saved;
            return TVP_ESYS;
        }
        int rc = tvp_probe_reap(pid);
        if (got != (ssize_t)sizeof r || rc)
            return TVP_EWORKER;
        if (r.team != f->workers)
            return TVP_ENOSYS;
        total += r.seconds;
    }
    *seconds = total;
    return 0;
}

/* OMP_PLACES from the plan: one place per distinct PU, in the workers' order */
static void plan_places(const struct tvp_probe_ctx *ctx, char *buf, size_t len)
{
    size_t used = (size_t)snprintf(buf, len, "OMP_PLACES=");
    for (int w = 0; w < ctx->workers; w++) {
        int pu = ctx->pu_plan[w], seen = 0;
        if (pu < 0) {
            snprintf(buf, len, "OMP_PLACES=cores");
            return;
        }
        for (int v = 0; v < w; v++)
            seen |= ctx->pu_plan[v] == pu;
        if (!seen && used < len)
            used += (size_t)snprintf(buf + used, len - used, "%s{%d}", used > 11 ? "," : "", pu);
    }
}

/* ---- spawn: steady state, in this process (EPCC syncbench) ---------------------------- */

static int region_loop(void *arg, uint64_t inner, double *seconds)
{
    int workers = *(const int *)arg;
    double t0 = tvp_now();
    for (uint64_t i = 0; i < inner; i++) {
#pragma omp parallel num_threads(workers)
        {
            __asm__ __volatile__("" ::: "memory");
        }
    }
    *seconds = tvp_now() - t0;
    return 0;
}

static int barrier_loop(void *arg, uint64_t inner, double *seconds)
{
    int workers = *(const int *)arg;
    double t0 = 0, t1 = 0;
#pragma omp parallel num_threads(workers)
    {
#pragma omp barrier
#pragma omp master
        t0 = tvp_now();
        for (uint64_t i = 0; i < inner; i++) {
#pragma omp barrier
        }
#pragma omp master
        t1 = tvp_now();
    }
    *seconds = t1 - t0;
    return 0;
}

static int probe_spawn(const struct tvp_probe_ctx *ctx, struct tvp_probe_sink *out)
{
    int rc = 0, W = ctx->workers;
    if (ctx->touch_given)
        return PERR(TVP_EUSAGE, "--touch: threads are not forked (only tvp-posix's spawn "
                                "takes it)");
    char places[512], pus[256] = "";
    plan_places(ctx, places, sizeof places);
    for (int w = 0, used = 0; w < W && used < (int)sizeof pus - 12; w++)
        used += snprintf(pus + used, sizeof pus - (size_t)used, "%s%d", w ? " " : "", ctx->pu_plan[w]);
    /* 1. first regions, before this process runs any region of its own */
    for (int bound = 1; bound >= 0 && !rc; bound--) {
        struct first f = {.workers = W};
        f.envp = first_env(bound ? "OMP_PROC_BIND=close" : "OMP_PROC_BIND=false",
                           bound ? places : NULL, &f);
        if (!f.envp)
            return PERR(TVP_ENOMEM, "out of memory");
        struct tvp_probe_row row;
        tvp_probe_row_init(&row, bound ? "first region (bound)" : "first region (unbound)", W,
                           bound ? "bound" : "unbound");
        rc = tvp_probe_epcc(ctx, first_loop, NULL, &f, 1, &row);
        free(f.envp);
        if (rc == TVP_ENOSYS)
            return PERR(rc, "the runtime would not give a first region %d threads "
                            "(OMP_THREAD_LIMIT?)", W);
        if (rc)
            return PERR(rc, "first region: the re-executed tvp-openmp failed (%s)",
                        rc == TVP_ESYS ? strerror(errno) : tvp_strerror(rc));
        snprintf(row.notes, sizeof row.notes,
                 "a fresh process (fork+exec, not timed) times its first region (no reference "
                 "loop); %s%.60s",
                 bound ? "OMP_PROC_BIND=close " : "OMP_PROC_BIND=false", bound ? places : "");
        if ((rc = tvp_probe_emit(out, &row)))
            return rc;
    }
    /* 2. the team, pinned by the plan, then the steady state */
    omp_set_dynamic(0);
    int team = 0;
#pragma omp parallel num_threads(W)
    {
        if (omp_get_thread_num() == 0)
            team = omp_get_num_threads();
        tvp_pin_thread(ctx->topo, ctx->pu_plan[omp_get_thread_num()]);
    }
    if (team != W)
        return PERR(TVP_ENOSYS, "the runtime would not give %d threads (OMP_THREAD_LIMIT?)", W);
    const char *place = ctx->pu_plan[0] >= 0 ? "bound" : "unbound";
    struct {
        const char *what;
        tvp_probe_loop_fn *fn;
    } steady[] = {{"empty region", region_loop}, {"barrier", barrier_loop}};
    for (size_t k = 0; k < 2; k++) {
        struct tvp_probe_row row;
        tvp_probe_row_init(&row, steady[k].what, W, place);
        if ((rc = tvp_probe_epcc(ctx, steady[k].fn, tvp_probe_ref_empty, &W, 0, &row)))
            return PERR(rc, "%s: %s", steady[k].what, tvp_strerror(rc));
        snprintf(row.notes, sizeof row.notes, "steady state (EPCC %s); threads pinned by tvp "
                 "(--bind %s): PUs %s", k ? "BARRIER" : "PARALLEL", ctx->bind, pus);
        if ((rc = tvp_probe_emit(out, &row)))
            return rc;
    }
    return 0;
}

/* ---- two threads: one measures, the other serves ---------------------------------------- */

enum { OP_FLAG_RTT = 1, OP_FLAG_BW, OP_BARRIER_RTT, OP_BARRIER_BW, OP_FUTEX_SWITCH };

struct team2 {
    const struct tvp_probe_ctx *ctx;
    struct tvp_probe_pair p;
    struct tvp_probe_pair_end me[2];
    unsigned char *a, *b;         /* shared: a carries thread 0 -> 1, b back */
    unsigned char *own[2][2];     /* each thread's own source and destination */
    size_t bytes;
    uint32_t op;
    uint64_t size;
};

static void serve_one(struct team2 *t, const struct tvp_probe_cmd *c)
{
    size_t n = (size_t)c->size;
    unsigned char *mine = t->own[1][1];
    for (uint64_t i = 0; i < c->inner; i++) {
        switch (c->op) {
        case OP_FLAG_RTT:
            tvp_probe_pair_recv(&t->p, &t->me[1], 1);
            memcpy(mine, t->a, n); /* copy out into its own memory, then back in */
            memcpy(t->b, mine, n);
            tvp_probe_pair_send(&t->p, 1);
            break;
        case OP_FLAG_BW:
            tvp_probe_pair_recv(&t->p, &t->me[1], 1);
            memcpy(mine, t->a, n);
            tvp_probe_pair_send(&t->p, 1);
            break;
        case OP_BARRIER_RTT: {
#pragma omp barrier
            memcpy(mine, t->a, n);
            memcpy(t->b, mine, n);
#pragma omp barrier
            break;
        }
        case OP_BARRIER_BW: {
#pragma omp barrier
            memcpy(mine, t->a, n);
#pragma omp barrier
            break;
        }
        case OP_FUTEX_SWITCH:
            tvp_probe_pair_recv(&t->p, &t->me[1], 1);
            tvp_probe_pair_send(&t->p, 1);
            break;
        }
    }
}

static void serve(struct team2 *t)
{
    struct tvp_probe_cmd c;
    while (tvp_probe_pair_next(&t->p, &t->me[1], &c) == 0 && c.op != TVP_PROBE_OP_EXIT) {
        tvp_probe_pair_ready(&t->p, &t->me[1]);
        serve_one(t, &c);
        tvp_probe_pair_reply(&t->p, &t->me[1], 0);
    }
}

static int team_loop(void *arg, uint64_t inner, double *seconds)
{
    struct team2 *t = arg;
    struct tvp_probe_cmd c = {.op = t->op, .inner = inner, .size = t->size};
    size_t n = (size_t)t->size;
    unsigned char *src = t->own[0][0], *dst = t->own[0][1];
    tvp_probe_pair_call(&t->p, &t->me[0], &c);
    double t0 = tvp_now();
    for (uint64_t i = 0; i < inner; i++) {
        switch (t->op) {
        case OP_FLAG_RTT:
            memcpy(t->a, src, n);
            tvp_probe_pair_send(&t->p, 0);
            tvp_probe_pair_recv(&t->p, &t->me[0], 0);
            memcpy(dst, t->b, n);
            break;
        case OP_FLAG_BW:
            memcpy(t->a, src, n);
            tvp_probe_pair_send(&t->p, 0);
            tvp_probe_pair_recv(&t->p, &t->me[0], 0);
            break;
        case OP_BARRIER_RTT: {
            memcpy(t->a, src, n);
#pragma omp barrier
#pragma omp barrier
            memcpy(dst, t->b, n);
            break;
        }
        case OP_BARRIER_BW: {
            memcpy(t->a, src, n);
#pragma omp barrier
#pragma omp barrier
            break;
        }
        case OP_FUTEX_SWITCH:
            tvp_probe_pair_send(&t->p, 0);
            tvp_probe_pair_recv(&t->p, &t->me[0], 0);
            break;
        }
    }
    *seconds = tvp_now() - t0;
    return tvp_probe_pair_done(&t->p, &t->me[0]);
}

/* What thread 0 measures while thread 1 serves. */
typedef int team_fn(struct team2 *t, const int pus[2], struct tvp_probe_sink *out);

/* A team of two threads pinned to pus, buffers of `bytes` (shared a and b, each thread's
 * own two, first touched by their owner), fn run by thread 0. */
static int team_run(const struct tvp_probe_ctx *ctx, const int pus[2], size_t bytes, int spins,
                    team_fn *fn, struct tvp_probe_sink *out)
{
    struct team2 t = {.ctx = ctx, .bytes = bytes ? bytes : 1};
    tvp_probe_pair_init(&t.p, 0, spins);
    int rc = 0, team = 0, nomem = 0;
    omp_set_dynamic(0);
#pragma omp parallel num_threads(2) reduction(| : nomem)
    {
        int w = omp_get_thread_num();
        if (w == 0)
            team = omp_get_num_threads();
        tvp_pin_thread(ctx->topo, pus[w]);
        for (int k = 0; k < 2; k++) {
            t.own[w][k] = tvp_probe_map(t.bytes);
            if (t.own[w][k])
                memset(t.own[w][k], 2 + k, t.bytes);
            else
                nomem = 1;
        }
        if (w == 0) {
            t.a = tvp_probe_map(t.bytes);
            t.b = tvp_probe_map(t.bytes);
            if (t.a && t.b) {
                memset(t.a, 1, t.bytes);
                memset(t.b, 1, t.bytes);
            }
        }
#pragma omp barrier
        int ok = team == 2 && t.a && t.b && t.own[0][0] && t.own[0][1] && t.own[1][0] && t.own[1][1];
        if (ok && w == 1)
            serve(&t);
        if (ok && w == 0) {
            rc = fn(&t, pus, out);
            struct tvp_probe_cmd bye = {.op = TVP_PROBE_OP_EXIT};
            t.p.c = bye;
            tvp_probe_flag_post(&t.p.cmd, 0);
        }
        for (int k = 0; k < 2; k++)
            tvp_probe_unmap(t.own[w][k], t.bytes);
    }
    tvp_probe_unmap(t.a, t.bytes);
    tvp_probe_unmap(t.b, t.bytes);
    if (team != 2)
        return PERR(TVP_ENOSYS, "the runtime would not give 2 threads (OMP_THREAD_LIMIT?)");
    if (nomem || !t.a || !t.b)
        return PERR(TVP_ENOMEM, "cannot map 6 x %zu bytes", t.bytes);
    return rc;
}

/* ---- ipc ------------------------------------------------------------------------------ */

static void team_set(void *arg, uint32_t op, uint64_t size)
{
    struct team2 *t = arg;
    t->op = op;
    t->size = size;
}

static int ipc_failed(void *arg, int rc, const char *what, struct tvp_probe_sink *out)
{
    (void)arg, (void)what;
    return PERR(rc, "ipc: %s", tvp_strerror(rc));
}

static int switch_failed(void *arg, int rc, const char *what, struct tvp_probe_sink *out)
{
    (void)arg, (void)what;
    return PERR(rc, "switch: %s", tvp_strerror(rc));
}

static int ipc_fn(struct team2 *t, const int pus[2], struct tvp_probe_sink *out)
{
    static const struct tvp_probe_mech mech[] = {
        {"flag", OP_FLAG_RTT, OP_FLAG_BW,
         "shared buffer + futex flag (acquire/release spin, then sleep); latency: round trip; "
         "MB/s: copy in, flag, copy out, flag back"},
        {"barrier", OP_BARRIER_RTT, OP_BARRIER_BW,
         "shared buffer + omp barrier; latency: round trip (2 barriers); MB/s: copy in, "
         "barrier, copy out, barrier"}};
    const struct tvp_probe_runner r = {team_loop, team_set, ipc_failed, t, 1};
    return tvp_probe_ipc_rows(t->ctx, &r, mech, 2, pus, tvp_probe_placement(pus[0], pus[1]), out);
}

static int probe_ipc(const struct tvp_probe_ctx *ctx, struct tvp_probe_sink *out)
{
    int pus[2] = {ctx->pu_plan[0], ctx->pu_plan[1]};
    /* on one PU a spinning waiter only keeps its peer from running: sleep at once */
    int spins = pus[0] >= 0 && pus[0] == pus[1] ? 0 : TVP_PROBE_SPINS;
    return team_run(ctx, pus, (size_t)ctx->max_size, spins, ipc_fn, out);
}

/* ---- switch ------------------------------------------------------------------------------ */

static int switch_fn(struct team2 *t, const int pus[2], struct tvp_probe_sink *out)
{
    const struct tvp_probe_runner r = {team_loop, team_set, switch_failed, t, 1};
    return tvp_probe_switch_rows(t->ctx, &r, OP_FUTEX_SWITCH, 0, "futex",
                                 pus[0] == pus[1] ? "same-core" : "different-cores", pus, 0,
                                 "round trip, blocking (private futex flags, no spinning)", out);
}

static int probe_switch(const struct tvp_probe_ctx *ctx, struct tvp_probe_sink *out)
{
    int same[2] = {ctx->pu_same, ctx->pu_same}, diff[2] = {ctx->pu_same, ctx->pu_other};
    int rc = team_run(ctx, same, 64, 0, switch_fn, out); /* spins 0: every wait sleeps */
    if (!rc && ctx->pu_other >= 0)
        rc = team_run(ctx, diff, 64, 0, switch_fn, out);
    return rc;
}

/* ---- memory ------------------------------------------------------------------------------ */

static int probe_memory(const struct tvp_probe_ctx *ctx, struct tvp_probe_sink *out)
{
    int W = ctx->workers, rc = 0, team = 0, nomem = 0;
    size_t bytes = (size_t)ctx->size_bytes, words = bytes / 8;
    uint64_t *in = tvp_probe_map(bytes);
    if (!in)
        return PERR(TVP_ENOMEM, "cannot allocate the %zu MiB input", bytes >> 20);
    for (size_t i = 0; i < words; i++) /* the master's data, before the team */
        in[i] = i * 0x9e3779b97f4a7c15u;
    static const char *const phase[] = {"read", "write", "touch"};
    struct tvp_probe_mem mem[3];
    int merr[3] = {0, 0, 0};
    volatile uint64_t sink = 0;
    omp_set_dynamic(0);
#pragma omp parallel num_threads(W) reduction(| : nomem)
    {
        int w = omp_get_thread_num();
        if (w == 0)
            team = omp_get_num_threads();
        tvp_pin_thread(ctx->topo, ctx->pu_plan[w]);
        uint64_t b, e, sum = 0;
        tvp_partition(words, W, w, &b, &e);
        for (size_t i = 0; i < words; i++) /* read: the whole shared input */
            sum += in[i];
        sink += sum & 1;
#pragma omp barrier
#pragma omp master
        merr[0] = tvp_probe_mem_read(0, &mem[0]);
#pragma omp barrier
        size_t own = (size_t)(e - b) * 8; /* write: an output of its own, X/W */
        uint64_t *o = tvp_probe_map(own);
        if (o)
            for (uint64_t i = b; i < e; i++)
                o[i - b] = in[i] * in[i];
        else
            nomem = 1;
#pragma omp barrier
#pragma omp master
        merr[1] = tvp_probe_mem_read(0, &mem[1]);
#pragma omp barrier
        /* touch: every thread writes a byte in every page of the input, as each child of
         * tvp-posix does; atomically, since they are the same bytes */
        unsigned char *c = (unsigned char *)in;
        for (size_t i = 0; i < bytes; i += 4096)
            __atomic_fetch_add(&c[i], 1, __ATOMIC_RELAXED);
#pragma omp barrier
#pragma omp master
        merr[2] = tvp_probe_mem_read(0, &mem[2]);
#pragma omp barrier
        tvp_probe_unmap(o, own);
    }
    (void)sink;
    tvp_probe_unmap(in, bytes);
    if (team != W)
        return PERR(TVP_ENOSYS, "the runtime would not give %d threads (OMP_THREAD_LIMIT?)", W);
    if (nomem)
        return PERR(TVP_ENOMEM, "cannot allocate the threads' output");
    char notes[192];
    for (int k = 0; k < 3 && !rc; k++) {
        if (merr[k])
            return PERR(merr[k], "cannot read /proc/self/smaps_rollup or smaps: %s", strerror(errno));
        snprintf(notes, sizeof notes, "one process: %d threads share its memory", W);
        rc = tvp_probe_emit_mem_total(out, phase[k], W, bytes, mem[k].rss_kb, mem[k].pss_kb,
                                      notes);
    }
    return rc;
}

int openmp_probe(const struct tvp_probe_ctx *ctx, const char *name, struct tvp_probe_sink *out)
{
    (void)name;
    const char *spec = getenv(FIRST_REGION_ENV);
    if (spec)
        first_region_child(spec); /* the re-executed child of probe spawn */
    signal(SIGCHLD, SIG_DFL);     /* an inherited SIG_IGN would reap the children for us */
    static tvp_probe_fn *const probes[TVP_PROBE_COUNT] = {
        [TVP_PROBE_SPAWN] = probe_spawn, [TVP_PROBE_IPC] = probe_ipc,
        [TVP_PROBE_SWITCH] = probe_switch, [TVP_PROBE_MEMORY] = probe_memory};
    return tvp_probe_run(ctx, probes, out);
}

