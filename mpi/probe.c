/* tvp-mpi probes (common/probe.h): the real mechanisms of MPI ranks.  The ranks are the
 * workers (mpirun -np W; --workers, when given, must equal W, as for workloads); every rank
 * runs the hook, rank 0's rows are written.  ipc and switch run between exactly two ranks.
 *
 *   spawn   MPI_Init cannot run twice in one process, so: this launch's MPI_Init (each rank
 *           timed its own in the init hook; the slowest), then whole launches that rank 0
 *           starts and times from outside, one at a time: `mpirun -np W true` (the launcher
 *           alone) and `mpirun -np W tvp-mpi probe spawn` with TVP_PROBE_MPI_LAUNCH set
 *           (MPI_Init, tvp's own start -- the hwloc topology --, MPI_Finalize, the exits; the
 *           nested rank 0 prints its job's MPI_Init, which becomes a row of its own), with
 *           Open MPI's default transports and with pml ob1 + btl self,vader.  Open MPI
 *           refuses an mpirun started from inside a job ("mpirun does not support recursive
 *           calls"), so the nested mpirun gets this environment without the job's OMPI_*,
 *           PMIX_* (and ORTE_, OPAL_, PRTE_) variables (OMPI_MCA_btl_* and OMPI_MCA_pml_*,
 *           component settings, are kept), --oversubscribe --bind-to none, every PU, stdin
 *           from /dev/null; posix_spawn, not fork, so no atfork handler of the MPI library
 *           runs.  The other ranks sleep meanwhile.  A launch that fails leaves a row saying
 *           why instead of times.  MPI_Comm_spawn is not used.
 *   ipc     ranks 0 and 1 (pinned by the --bind plan) ping-pong with MPI_Send/MPI_Recv,
 *           8 B .. --max-size: the columns of tvp-posix's pipe rows (latency: the round trip,
 *           which osu_latency halves; MB/s: size / one-way transfer, send + 1-byte ack); the
 *           transport (OMPI_MCA_pml, OMPI_MCA_btl) in the notes
 *   switch  a ping-pong of 1 byte, both ranks pinned to one PU, then to PUs of two cores:
 *           MPI_Irecv + MPI_Test + sched_yield() ("MPI+yield"), then MPI_Send/MPI_Recv as
 *           the runtime waits.  Open MPI polls while it waits unless mpi_yield_when_idle is
 *           set (read through MPI_T, said in the notes; OMPI_MCA_mpi_yield_when_idle=1, or
 *           oversubscribed nodes, set it): polling on one PU, a round trip is two of the
 *           scheduler's time slices, not two switches.  The loop's barrier and the agreement
 *           on its time are nonblocking and yield, so that only the timed loop polls.
 *   memory  each rank makes and reads its own copy of the --size-mib input, writes an output
 *           of X/W of its own, writes a byte in every page of its input; then rank 0 alone
 *           makes the input and MPI_Bcast's it into every rank's buffer.  RSS and PSS of every
 *           rank (/proc/self/smaps_rollup, gathered), their total and total / W.
 *
 * Every rank takes the same steps: a failure that concerns one rank is agreed on before the
 * next communication, so that no rank waits for a peer that left.  The EPCC loops run on
 * both ranks of a pair with the seconds agreed (MPI_MAX), so both pick the same inner count. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "probe.h"
#include "tvp_mpi.h"

extern char **environ;

#define ERR(rc, ...) tvp_errorf((rc), out->err, sizeof out->err, __VA_ARGS__)

#define TAG_PROBE 64                      /* beyond enum mpi_tag */
#define LAUNCH_ENV "TVP_PROBE_MPI_LAUNCH" /* set: a nested launch; report MPI_Init, no probe */
#define LAUNCH_TAG "tvp-mpi launch: t_init_s="
#define LAUNCH_TIMEOUT_S 60.0

/* ---- communication and agreement ------------------------------------------------------- */

static int broken; /* a transfer failed here: no more collectives (mpi.c aborts at the end) */

static int comm(int mpirc)
{
    int rc = mpi_comm_err(mpirc);
    broken |= rc != 0;
    return rc;
}

/* Every rank gets the worst of everybody's rc: after local work, before communicating. */
static int agree(int rc)
{
    return broken ? (rc ? rc : TVP_EWORKER) : mpi_errors_agree(rc);
}

/* A barrier for ranks with nothing to do: they sleep instead of polling, so that they take
 * no PU from the ranks that measure. */
static int sleepy_barrier(void)
{
    MPI_Request req;
    int done = 0, rc = comm(MPI_Ibarrier(MPI_COMM_WORLD, &req));
    const struct timespec ms = {0, 1000 * 1000};
    while (!rc && !done) {
        rc = comm(MPI_Test(&req, &done, MPI_STATUS_IGNORE));
        if (!rc && !done)
            nanosleep(&ms, NULL);
    }
    return rc;
}

static int bytes_move(int send, void *buf, uint64_t n, int peer)
{
    static const struct mpi_lane bytes = {MPI_BYTE, 1,
                                          TVP_MPI_MSG_MAX < INT_MAX ? TVP_MPI_MSG_MAX : INT_MAX};
    int rc = mpi_items_move(send, buf, n, &bytes, peer, TAG_PROBE, NULL);
    broken |= rc != 0;
    return rc;
}

/* The end of every probe: the worst rc everywhere, and at rank 0 the reason of the first
 * rank that failed (the driver prints rank 0's). */
static int probe_end(const struct tvp_probe_ctx *ctx, int rc, struct tvp_probe_sink *out)
{
    int worst = agree(rc);
    if (!worst || broken)
        return worst;
    int rank = ctx->world->rank, mine = rc && out->err[0] ? rank : INT_MAX, first = INT_MAX;
    if (comm(MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD)))
        return worst;
    if (first > 0 && first != INT_MAX) {
        char msg[sizeof out->err];
        memcpy(msg, out->err, sizeof msg);
        if (comm(MPI_Bcast(msg, (int)sizeof msg, MPI_CHAR, first, MPI_COMM_WORLD)) == 0 &&
            rank == 0) {
            msg[sizeof msg - 1] = 0;
            ERR(worst, "rank %d: %s", first, msg);
        }
    }
    return worst;
}

/* PUs of ranks 0 and 1: each knows only its own plan */
static int pair_pus(int mine, int pus[2])
{
    int all[2] = {-1, -1};
    int rc = comm(MPI_Allgather(&mine, 1, MPI_INT, all, 1, MPI_INT, MPI_COMM_WORLD));
    pus[0] = all[0], pus[1] = all[1];
    return rc;
}

static const char *pair_placement(const struct tvp_probe_ctx *ctx, const int pus[2])
{
    if ((pus[0] < 0 || pus[1] < 0) && strcmp(ctx->bind, "launcher") == 0)
        return "launcher";
    return tvp_probe_placement(pus[0], pus[1]);
}

/* ---- spawn: whole launches, from rank 0 -------------------------------------------------- */

struct launch {
    char **argv, **envp;
    int reports;        /* the children are tvp-mpi: each launch reports its MPI_Init */
    double *t_init;     /* [calls] */
    int calls, cap;
    char err[160];
};

/* The environment of a nested mpirun: this one without the job's OMPI_* and PMIX_*
 * (component settings OMPI_MCA_btl_* and OMPI_MCA_pml_* kept), plus extra. */
static char **launch_env(const char *const *extra, size_t nextra)
{
    size_t n = 0;
    while (environ[n])
        n++;
    char **e = calloc(n + nextra + 1, sizeof *e);
    if (!e)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const char *v = environ[i];
        int job = strncmp(v, "OMPI_", 5) == 0 || strncmp(v, "PMIX_", 5) == 0 ||
                  strncmp(v, "ORTE_", 5) == 0 || strncmp(v, "OPAL_", 5) == 0 ||
                  strncmp(v, "PRTE_", 5) == 0 ||
                  strncmp(v, LAUNCH_ENV "=", strlen(LAUNCH_ENV) + 1) == 0;
        if (strncmp(v, "OMPI_MCA_btl_", 13) == 0 || strncmp(v, "OMPI_MCA_pml_", 13) == 0)
            job = 0;
        if (!job)
            e[k++] = (char *)v;
    }
    for (size_t i = 0; i < nextra; i++)
        e[k++] = (char *)extra[i];
    e[k] = NULL;
    return e;
}

/* the first line of a launcher's output that says something (not a rule of dashes) */
static void first_line(const char *text, char *buf, size_t len)
{
    buf[0] = 0;
    for (const char *l = text; l && *l;) {
        const char *end = strchr(l, '\n');
        size_t n = end ? (size_t)(end - l) : strlen(l);
        int words = 0;
        for (size_t i = 0; i < n; i++)
            words |= (l[i] >= 'a' && l[i] <= 'z') || (l[i] >= 'A' && l[i] <= 'Z');
        if (words && strncmp(l, LAUNCH_TAG, strlen(LAUNCH_TAG)) != 0) {
            snprintf(buf, len, "%.*s", (int)n, l);
            return;
        }
        l = end ? end + 1 : NULL;
    }
}

/* One launch: spawn the launcher, read what it prints until it closes, reap it. */
static int launch_once(struct launch *L, double *seconds)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        snprintf(L->err, sizeof L->err, "pipe: %s", strerror(errno));
        return TVP_ESYS;
    }
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
    posix_spawnattr_init(&at);
    sigset_t none, dfl;
    sigemptyset(&none);
    sigemptyset(&dfl);
    static const int sigs[] = {SIGPIPE, SIGCHLD, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaddset(&dfl, sigs[i]);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &dfl);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid;
    double t0 = tvp_now();
    int e = posix_spawnp(&pid, L->argv[0], &fa, &at, L->argv, L->envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    close(fds[1]);
    if (e) {
        close(fds[0]);
        snprintf(L->err, sizeof L->err, "cannot start %s: %s", L->argv[0], strerror(e));
        return TVP_ENOSYS;
    }
    size_t cap = 1 << 16, len = 0;
    char *text = malloc(cap);
    char chunk[4096];
    int killed = 0;
    double deadline = t0 + LAUNCH_TIMEOUT_S;
    for (;;) {
        double left = deadline - tvp_now();
        if (left <= 0) {
            if (killed == 2)
                break; /* something else holds the pipe: stop reading */
            kill(pid, killed ? SIGKILL : SIGTERM); /* SIGTERM: mpirun takes its ranks along */
            killed++;
            deadline = tvp_now() + 5;
            continue;
        }
        struct pollfd p = {fds[0], POLLIN, 0};
        int r = poll(&p, 1, (int)(left * 1000) + 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0)
            continue;
        ssize_t got = r < 0 ? -1 : read(fds[0], chunk, sizeof chunk);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        if (text && len + (size_t)got < cap) {
            memcpy(text + len, chunk, (size_t)got);
            len += (size_t)got;
        }
    }
    close(fds[0]);
    int st = 0;
    pid_t w;
    while ((w = waitpid(pid, &st, 0)) < 0 && errno == EINTR)
        ;
    *seconds = tvp_now() - t0;
    if (text)
        text[len] = 0;
    int rc = 0;
    char line[128];
    first_line(text ? text : "", line, sizeof line);
    if (w < 0) {
        snprintf(L->err, sizeof L->err, "waitpid: %s", strerror(errno));
        rc = TVP_ESYS;
    } else if (killed) {
        snprintf(L->err, sizeof L->err, "%s took more than %.0f s", L->argv[0], LAUNCH_TIMEOUT_S);
        rc = TVP_EWORKER;
    } else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        snprintf(L->err, sizeof L->err, "%s %s %d%s%s", L->argv[0],
                 WIFEXITED(st) ? "exited" : "died of signal",
                 WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st), line[0] ? ": " : "", line);
        rc = TVP_EWORKER;
    } else if (L->reports) {
        const char *tag = text ? strstr(text, LAUNCH_TAG) : NULL;
        char *end = NULL;
        double t = tag ? strtod(tag + strlen(LAUNCH_TAG), &end) : NAN;
        if (!tag || end == tag + strlen(LAUNCH_TAG) || !(t >= 0)) {
            snprintf(L->err, sizeof L->err, "the nested tvp-mpi did not report its MPI_Init%s%s",
                     line[0] ? ": " : "", line);
            rc = TVP_EWORKER;
        } else if (L->calls < L->cap) {
            L->t_init[L->calls++] = t;
        }
    }
    free(text);
    return rc;
}

static int launch_loop(void *arg, uint64_t inner, double *seconds)
{
    struct launch *L = arg;
    double total = 0, s = 0;
    for (uint64_t i = 0; i < inner; i++) {
        int rc = launch_once(L, &s);
        if (rc)
            return rc;
        total += s;
    }
    *seconds = total;
    return 0;
}

/* Rank 0: the nested launches, a row (or two) for each kind. */
static int spawn_launches(const struct tvp_probe_ctx *ctx, struct tvp_probe_sink *out)
{
    int W = ctx->workers, rc = 0;
    char exe[4096], np[16];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return ERR(TVP_ESYS, "cannot find this executable (/proc/self/exe): %s", strerror(errno));
    exe[n] = 0;
    snprintf(np, sizeof np, "%d", W);
    /* the launcher: TVP_MPIRUN (default mpirun), then TVP_MPIRUN_ARGS, as scripts/tvp does */
    const char *mpirun = getenv("TVP_MPIRUN");
    mpirun = mpirun && *mpirun ? mpirun : "mpirun";
    char *words = strdup(getenv("TVP_MPIRUN_ARGS") ? getenv("TVP_MPIRUN_ARGS") : "");
    char *argv[96];
    int argc = 0, base;
    if (!words)
        return ERR(TVP_ENOMEM, "out of memory");
    argv[argc++] = (char *)mpirun;
    for (char *save = NULL, *w = strtok_r(words, " \t", &save); w && argc < 64;
         w = strtok_r(NULL, " \t", &save))
        argv[argc++] = w;
    if (geteuid() == 0)
        argv[argc++] = "--allow-run-as-root";
    static char *const common_args[] = {"--oversubscribe", "--bind-to", "none", "-np"};
    for (size_t i = 0; i < sizeof common_args / sizeof common_args[0]; i++)
        argv[argc++] = common_args[i];
    argv[argc++] = np;
    base = argc;
    /* every PU for the nested job, whatever this rank was bound to */
    cpu_set_t saved, all;
    int widened = sched_getaffinity(0, sizeof saved, &saved) == 0;
    CPU_ZERO(&all);
    for (int c = 0; c < CPU_SETSIZE; c++)
        CPU_SET(c, &all);
    if (widened)
        sched_setaffinity(0, sizeof all, &all);
    static const char *const ob1[] = {"OMPI_MCA_pml=ob1", "OMPI_MCA_btl=self,vader",
                                      LAUNCH_ENV "=1"};
    static const char *const dflt[] = {LAUNCH_ENV "=1"};
    const struct {
        const char *launch, *init, *transport;
        const char *const *env;
        size_t nenv;
        int tvp;
    } kinds[] = {
        {"mpirun true", NULL, "no MPI", NULL, 0, 0},
        {"mpirun tvp-mpi (default)", "MPI_Init (default)", "Open MPI's default pml and btl",
         dflt, 1, 1},
        {"mpirun tvp-mpi (ob1+vader)", "MPI_Init (ob1+vader)", "pml=ob1 btl=self,vader", ob1, 3, 1},
    };
    int outer = ctx->outer > 0 ? ctx->outer : 1;
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0] && !rc; k++) {
        struct launch L = {.reports = kinds[k].tvp, .cap = outer + 1};
        argc = base;
        if (kinds[k].tvp) {
            static char *const tail[] = {"probe", "spawn", "--format", "csv"};
            argv[argc++] = exe;
            for (size_t i = 0; i < 4; i++)
                argv[argc++] = tail[i];
        } else {
            argv[argc++] = "true";
        }
        argv[argc] = NULL;
        L.argv = argv;
        L.envp = launch_env(kinds[k].env, kinds[k].nenv);
        L.t_init = calloc((size_t)L.cap, sizeof *L.t_init);
        if (!L.envp || !L.t_init) {
            free(L.envp), free(L.t_init);
            rc = ERR(TVP_ENOMEM, "out of memory");
            break;
        }
        struct tvp_probe_row row;
        tvp_probe_row_init(&row, kinds[k].launch, W, "unbound");
        int lrc = tvp_probe_epcc(ctx, launch_loop, NULL, &L, 1, &row);
        if (lrc == TVP_ENOMEM) {
            rc = ERR(lrc, "out of memory");
        } else if (lrc) { /* the row says what went wrong; the probe goes on */
            tvp_probe_row_init(&row, kinds[k].launch, W, "unbound");
            snprintf(row.notes, sizeof row.notes, "not measured: %s", L.err);
            rc = tvp_probe_emit(out, &row);
        } else {
            snprintf(row.notes, sizeof row.notes,
                     "%s; a whole launch timed by rank 0, spawn to exit: %.48s -np %d "
                     "--oversubscribe --bind-to none %s", kinds[k].transport, mpirun, W,
                     kinds[k].tvp ? "tvp-mpi probe spawn" : "true");
            rc = tvp_probe_emit(out, &row);
            if (!rc && kinds[k].tvp && L.calls == outer + 1) {
                /* the first launch was the warm-up: its MPI_Init is left out as its time is */
                tvp_probe_row_init(&row, kinds[k].init, W, "unbound");
                tvp_probe_stats_of(L.t_init + 1, outer, &row.us);
                struct tvp_probe_stats *u = &row.us;
                u->mean *= 1e6, u->median *= 1e6, u->min *= 1e6, u->max *= 1e6, u->sd *= 1e6;
                u->ci95_lo *= 1e6, u->ci95_hi *= 1e6;
                row.outer = outer;
                row.inner = 1;
                snprintf(row.notes, sizeof row.notes,
                         "%s; MPI_Init inside each launch above, the slowest of its %d ranks",
                         kinds[k].transport, W);
                rc = tvp_probe_emit(out, &row);
            }
        }
        free(L.envp);
        free(L.t_init);
    }
    if (widened)
        sched_setaffinity(0, sizeof saved, &saved);
    free(words);
    return rc;
}

static int probe_spawn(const struct tvp_probe_ctx *ctx, struct tvp_probe_sink *out)
{
    const struct tvp_world *w = ctx->world;
    if (getenv(LAUNCH_ENV)) { /* a nested launch's child: its MPI_Init is all it reports */
        if (w->rank == 0) {
            printf(LAUNCH_TAG "%.9f\n", w->t_init);
            fflush(stdout);
        }
        return 0;
    }
    if (ctx->touch_given)
        return ERR(TVP_EUSAGE, "--touch: ranks are not forked (only tvp-posix's spawn takes it)");
    int rc = 0;
    if (w->rank == 0) {
        struct tvp_probe_row row;
        tvp_probe_row_init(&row, "MPI_Init (this launch)", ctx->workers, "-");
        double us = w->t_init * 1e6;
        tvp_probe_stats_of(&us, 1, &row.us);
        row.outer = 1;
        row.inner = 1;
        snprintf(row.notes, sizeof row.notes,
                 "once per process, so one sample: the slowest of the %d ranks of this job; %.60s",
                 w->size, w->transport);
        rc = tvp_probe_emit(out, &row);
        if (!rc)
            rc = spawn_launches(ctx, out);
    }
    int brc = sleepy_barrier(); /* the other ranks sleep meanwhile */
    return probe_end(ctx, rc ? rc : brc, out);
}

/* ---- the pair: ranks 0 and 1 ---------------------------------------------------------------- */

enum { OP_RTT = 1, OP_BW, OP_YIELD };

struct pair {
    int rank, peer;
    unsigned char *src, *dst;
    size_t bytes;
    uint32_t op;
    uint64_t size;
    int yield; /* OP_YIELD: sched_yield() between tests (not when the runtime does) */
};

/* Waits for req with MPI_Test, calling sched_yield() between tests when `yield` (on one PU,
 * a rank that polls without yielding keeps its peer off the PU for a whole time slice). */
static int test_wait(MPI_Request *req, int yield)
{
    int done = 0, rc = 0;
    while (!rc && !done) {
        rc = comm(MPI_Test(req, &done, MPI_STATUS_IGNORE));
        if (!rc && !done && yield)
            sched_yield();
    }
    return rc;
}

/* MPI_Irecv, then MPI_Test (and sched_yield(), unless the runtime yields itself) */
static int yield_recv(void *buf, int n, int peer, int yield)
{
    MPI_Request req;
    int rc = comm(MPI_Irecv(buf, n, MPI_BYTE, peer, TAG_PROBE, MPI_COMM_WORLD, &req));
    return rc ? rc : test_wait(&req, yield);
}

/* inner handovers of p->size bytes with p->op, both ranks; the seconds are the slower's.
 * The barrier before and the MAX after are nonblocking and yield while they wait, so that
 * whatever the runtime's wait does, only the timed loop has it. */
static int pair_loop(void *arg, uint64_t inner, double *seconds)
{
    struct pair *p = arg;
    unsigned char ack = 0;
    MPI_Request req;
    int first = p->rank == 0, rc = comm(MPI_Ibarrier(MPI_COMM_WORLD, &req));
    if (rc || (rc = test_wait(&req, 1)))
        return rc;
    double t0 = tvp_now();
    for (uint64_t i = 0; i < inner && !rc; i++) {
        switch (p->op) {
        case OP_RTT: /* rank 1 sends back what it received */
            if (first) {
                rc = bytes_move(1, p->src, p->size, p->peer);
                rc = rc ? rc : bytes_move(0, p->dst, p->size, p->peer);
            } else {
                rc = bytes_move(0, p->dst, p->size, p->peer);
                rc = rc ? rc : bytes_move(1, p->dst, p->size, p->peer);
            }
            break;
        case OP_BW:
            if (first) {
                rc = bytes_move(1, p->src, p->size, p->peer);
                rc = rc ? rc : bytes_move(0, &ack, 1, p->peer);
            } else {
                rc = bytes_move(0, p->dst, p->size, p->peer);
                rc = rc ? rc : bytes_move(1, &ack, 1, p->peer);
            }
            break;
        case OP_YIELD:
            if (first) {
                rc = bytes_move(1, p->src, 1, p->peer);
                rc = rc ? rc : yield_recv(p->dst, 1, p->peer, p->yield);
            } else {
                rc = yield_recv(p->dst, 1, p->peer, p->yield);
                rc = rc ? rc : bytes_move(1, p->dst, 1, p->peer);
            }
            break;
        }
    }
    double t = tvp_now() - t0;
    if (rc || (rc = comm(MPI_Iallreduce(&t, seconds, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD, &req))))
        return rc;
    return test_wait(&req, 1);
}

/* Both ranks' buffers of `bytes`, touched; agreed on. */
static int pair_open(const struct tvp_probe_ctx *ctx, struct pair *p, size_t bytes,
                     struct tvp_probe_sink *out)
{
    memset(p, 0, sizeof *p);
    p->rank = ctx->world->rank;
    p->peer = 1 - p->rank;
    p->bytes = bytes ? bytes : 1;
    p->src = tvp_probe_map(p->bytes);
    p->dst = tvp_probe_map(p->bytes);
    int rc = 0;
    if (p->src && p->dst) {
        memset(p->src, 2, p->bytes);
        memset(p->dst, 3, p->bytes);
    } else {
        rc = ERR(TVP_ENOMEM, "cannot map 2 x %zu bytes", p->bytes);
    }
    return agree(rc);
}

static void pair_close(struct pair *p)
{
    tvp_probe_unmap(p->src, p->bytes);
    tvp_probe_unmap(p->dst, p->bytes);
}

/* ranks 0 and 1 exactly: a probe between two workers, as --workers 2 elsewhere */
static int pair_check(const struct tvp_probe_ctx *ctx, struct tvp_probe_sink *out)
{
    if (ctx->world->size != 2)
        return ERR(TVP_EUSAGE, "runs between two ranks (mpirun -np 2), not %d (--workers, "
                   "the ranks)", ctx->world->size);
    return 0;
}

/* ---- ipc ------------------------------------------------------------------------------------ */

static void pair_set(void *arg, uint32_t op, uint64_t size)
{
    struct pair *p = arg;
    p->op = op;
    p->size = size;
}

static int pair_failed(void *arg, int rc, const char *what, struct tvp_probe_sink *out)
{
    (void)arg;
    return ERR(rc, "%s: %s", what, tvp_strerror(rc));
}

static int probe_ipc(const struct tvp_probe_ctx *ctx, struct tvp_probe_sink *out)
{
    int rc = pair_check(ctx, out), pus[2];
    if (rc)
        return rc;
    int mine = ctx->pu_plan[ctx->world->rank];
    rc = agree(tvp_pin_process(ctx->topo, mine));
    if (rc)
        return ERR(rc, "cannot pin the ranks to PUs of the --bind plan");
    if ((rc = pair_pus(mine, pus)))
        return ERR(rc, "the ranks cannot talk");
    struct pair p;
    if ((rc = pair_open(ctx, &p, (size_t)ctx->max_size, out)))
        return probe_end(ctx, rc, out);
    char notes[sizeof out->rows->notes];
    snprintf(notes, sizeof notes,
             "%.40s; latency: round trip of size bytes (osu_latency prints half); "
             "MB/s: size / one-way (send, recv, 1-byte ack)", ctx->world->transport);
    const struct tvp_probe_mech mech = {"MPI_Send/Recv", OP_RTT, OP_BW, notes};
    const struct tvp_probe_runner r = {pair_loop, pair_set, pair_failed, &p, ctx->world->rank == 0};
    rc = tvp_probe_ipc_rows(ctx, &r, &mech, 1, pus, pair_placement(ctx, pus), out);
    pair_close(&p);
    return probe_end(ctx, rc, out);
}

/* ---- switch ------------------------------------------------------------------------------- */

/* Open MPI's mpi_yield_when_idle as the runtime has it (MPI_T): 1, 0, or -1 unknown. */
static int yield_when_idle(void)
{
    int provided, idx, count = 0, yes = -1;
    if (MPI_T_init_thread(MPI_THREAD_SINGLE, &provided) != MPI_SUCCESS)
        return -1;
    if (MPI_T_cvar_get_index("mpi_yield_when_idle", &idx) == MPI_SUCCESS) {
        char name[256], desc[1024];
        int nlen = sizeof name, dlen = sizeof desc, verb, bind, scope;
        MPI_Datatype type = MPI_DATATYPE_NULL;
        MPI_T_enum en;
        MPI_T_cvar_handle h;
        if (MPI_T_cvar_get_info(idx, name, &nlen, &verb, &type, &en, desc, &dlen, &bind,
                                &scope) == MPI_SUCCESS &&
            MPI_T_cvar_handle_alloc(idx, NULL, &h, &count) == MPI_SUCCESS) {
            union {
                int i;
                unsigned char b;
                char pad[64];
            } v;
            memset(&v, 0, sizeof v);
            if (count == 1 && MPI_T_cvar_read(h, &v) == MPI_SUCCESS) {
                if (type == MPI_C_BOOL)
                    yes = v.b != 0;
                else if (type == MPI_INT || type == MPI_UNSIGNED)
                    yes = v.i != 0;
            }
            MPI_T_cvar_handle_free(&h);
        }
    }
    MPI_T_finalize();
    return yes;
}

static int probe_switch(const struct tvp_probe_ctx *ctx, struct tvp_probe_sink *out)
{
    int rc = pair_check(ctx, out);
    if (rc)
        return rc;
    struct pair p;
    if ((rc = pair_open(ctx, &p, 64, out)))
        return probe_end(ctx, rc, out);
    int yield = yield_when_idle();
    char how[192];
    snprintf(how, sizeof how, "round trip of 1 byte; MPI_Send + MPI_Recv: %s; %.40s",
             yield > 0    ? "mpi_yield_when_idle=1: a waiting rank polls and sched_yield()s"
             : yield == 0 ? "Open MPI polls while it waits (mpi_yield_when_idle=0): on one PU, "
                            "time slices"
                          : "Open MPI's wait (mpi_yield_when_idle unknown)",
             ctx->world->transport);
    /* the runtime's own yield, when it has one, is enough: not two per test */
    p.yield = yield <= 0;
    const char *yield_how =
        p.yield ? "round trip of 1 byte; MPI_Irecv, then MPI_Test + sched_yield() until it "
                  "arrives (what mpi_yield_when_idle=1 does); measured before the polling row"
                : "round trip of 1 byte; MPI_Irecv, then MPI_Test until it arrives "
                  "(mpi_yield_when_idle=1: the runtime yields in it)";
    const struct tvp_probe_runner r = {pair_loop, pair_set, pair_failed, &p, ctx->world->rank == 0};
    int placed[2][2] = {{ctx->pu_same, ctx->pu_same}, {ctx->pu_same, ctx->pu_other}};
    for (int k = 0; k < 2 && !rc; k++) {
        if (placed[k][1] < 0)
            break; /* one core only */
        const char *place = k == 0 ? "same-core" : "different-cores";
        rc = agree(tvp_pin_process(ctx->topo, placed[k][ctx->world->rank]));
        if (rc) {
            ERR(rc, "cannot pin the ranks to PUs %d,%d", placed[k][0], placed[k][1]);
            break;
        }
        /* yielding first: a rank that polled a whole time slice away has used more CPU than
         * its peer, and the scheduler then lets it keep the PU across a few sched_yield()s */
        rc = tvp_probe_switch_rows(ctx, &r, OP_YIELD, 1, "MPI+yield", place, placed[k], 1,
                                   yield_how, out);
        rc = rc ? rc : tvp_probe_switch_rows(ctx, &r, OP_RTT, 1, "MPI_Send/Recv", place,
                                             placed[k], 1, how, out);
    }
    pair_close(&p);
    return probe_end(ctx, rc, out);
}

/* ---- memory -------------------------------------------------------------------------------- */

struct mem_report {
    struct tvp_probe_mem mem;
    int64_t pid;
    int32_t err, pu;
};

/* every rank's memory, on every rank (so that all see a failure and stop together) */
static int mem_gather(struct mem_report *all, struct tvp_probe_sink *out)
{
    struct mem_report me = {.pid = getpid(), .pu = -1};
    int rc = comm(MPI_Barrier(MPI_COMM_WORLD)); /* every rank is done with the phase */
    if (rc)
        return ERR(rc, "the ranks cannot talk");
    me.err = tvp_probe_mem_read(0, &me.mem);
    me.pu = sched_getcpu();
    rc = comm(MPI_Allgather(&me, (int)sizeof me, MPI_BYTE, all, (int)sizeof me, MPI_BYTE,
                            MPI_COMM_WORLD));
    if (rc)
        return ERR(rc, "the ranks cannot talk");
    int size;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    for (int r = 0; r < size; r++)
        if (all[r].err)
            return ERR(all[r].err, "rank %d cannot read /proc/self/smaps_rollup or smaps", r);
    return 0;
}

/* the rows of one phase, at rank 0 */
static int mem_rows(const struct tvp_probe_ctx *ctx, const char *phase, const struct mem_report *all,
                    const char *root_note, const char *rank_note, const char *total_note,
                    struct tvp_probe_sink *out)
{
    int W = ctx->workers, rc = 0;
    long rss = 0, pss = 0;
    char notes[192];
    if (ctx->world->rank != 0)
        return 0;
    for (int r = 0; r < W && !rc; r++) {
        char who[32];
        snprintf(who, sizeof who, "rank %d", r);
        snprintf(notes, sizeof notes, "pid %ld, PU %d; %s", (long)all[r].pid, (int)all[r].pu,
                 r == 0 && root_note ? root_note : rank_note);
        rss += all[r].mem.rss_kb, pss += all[r].mem.pss_kb;
        rc = tvp_probe_emit_mem(out, phase, who, W, ctx->size_bytes, all[r].mem.rss_kb,
                                all[r].mem.pss_kb, notes);
    }
    return rc ? rc : tvp_probe_emit_mem_total(out, phase, W, ctx->size_bytes, rss, pss, total_note);
}

static void make_input(uint64_t *in, size_t words)
{
    for (size_t i = 0; i < words; i++)
        in[i] = i * 0x9e3779b97f4a7c15u;
}

static uint64_t read_input(const uint64_t *in, size_t words)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < words; i++)
        sum += in[i];
    return sum;
}

static int probe_memory(const struct tvp_probe_ctx *ctx, struct tvp_probe_sink *out)
{
    int W = ctx->workers, rank = ctx->world->rank, rc;
    size_t bytes = (size_t)ctx->size_bytes, words = bytes / 8;
    uint64_t b, e, *in = NULL, *o = NULL;
    tvp_partition(words, W, rank, &b, &e);
    size_t own = (size_t)(e - b) * 8;
    volatile uint64_t sink = 0;
    struct mem_report *all = calloc((size_t)W, sizeof *all);
    char total_note[192];
    snprintf(total_note, sizeof total_note, "%d ranks (RSS counts the pages they share, the MPI "
             "library's shared-memory segments, in each); mpirun itself not counted", W);
    rc = tvp_pin_process(ctx->topo, ctx->pu_plan[rank]);
    if (rc)
        ERR(rc, "cannot pin rank %d to PU %d", rank, ctx->pu_plan[rank]);
    else if (!all || !(in = tvp_probe_map(bytes)))
        rc = ERR(TVP_ENOMEM, "cannot allocate the %zu MiB input", bytes >> 20);
    if ((rc = agree(rc)))
        goto out;
    /* read: every rank makes its own copy of the input (as tvp-mpi's local data), reads it */
    make_input(in, words);
    sink += read_input(in, words);
    if ((rc = mem_gather(all, out)) ||
        (rc = mem_rows(ctx, "read", all, NULL, "its own copy of the input", total_note, out)))
        goto out;
    /* write: an output of its own, X/W, from its part of the input */
    o = tvp_probe_map(own ? own : 1);
    if (!o)
        rc = ERR(TVP_ENOMEM, "cannot allocate rank %d's output", rank);
    else
        for (uint64_t i = b; i < e; i++)
            o[i - b] = in[i] * in[i];
    if ((rc = agree(rc)) || (rc = mem_gather(all, out)) ||
        (rc = mem_rows(ctx, "write", all, NULL, "+ its output, X/W", total_note, out)))
        goto out;
    /* touch: a byte in every page of its input, as tvp-posix's children do to theirs (here
     * the pages are its own already: nothing is copied) */
    tvp_probe_touch(in, bytes);
    if ((rc = mem_gather(all, out)) ||
        (rc = mem_rows(ctx, "touch", all, NULL, "wrote into its own input: nothing copied", total_note,
                       out)))
        goto out;
    tvp_probe_unmap(o, own ? own : 1);
    tvp_probe_unmap(in, bytes);
    o = in = NULL;
    /* bcast: rank 0 alone makes the input; MPI_Bcast puts a copy in every rank's buffer */
    in = tvp_probe_map(bytes);
    if (!in)
        rc = ERR(TVP_ENOMEM, "cannot allocate the %zu MiB input", bytes >> 20);
    else if (rank == 0)
        make_input(in, words);
    if ((rc = agree(rc)) || (rc = comm(MPI_Barrier(MPI_COMM_WORLD))))
        goto out;
    double t0 = tvp_now(), t = 0;
    for (size_t at = 0; at < bytes && !rc;) {
        size_t piece = bytes - at < TVP_MPI_MSG_MAX ? bytes - at : TVP_MPI_MSG_MAX;
        piece = piece < INT_MAX ? piece : INT_MAX;
        rc = comm(MPI_Bcast((char *)in + at, (int)piece, MPI_BYTE, 0, MPI_COMM_WORLD));
        at += piece;
    }
    double mine = tvp_now() - t0;
    rc = rc ? rc : comm(MPI_Allreduce(&mine, &t, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD));
    if (rc) {
        ERR(rc, "MPI_Bcast: %s", tvp_strerror(rc));
        goto out;
    }
    sink += read_input(in, words);
    snprintf(total_note, sizeof total_note, "%d ranks; MPI_Bcast of %zu MiB from rank 0 took "
             "%.1f ms (the slowest rank); RSS counts shared pages in each", W, bytes >> 20, t * 1e3);
    if ((rc = mem_gather(all, out)) ||
        (rc = mem_rows(ctx, "bcast", all, "made the input alone, broadcast it",
                       "its copy, from rank 0's MPI_Bcast, read", total_note, out)))
        goto out;
out:
    (void)sink;
    tvp_probe_unmap(o, own ? own : 1);
    tvp_probe_unmap(in, bytes);
    free(all);
    return probe_end(ctx, rc, out);
}

int mpi_probe(const struct tvp_probe_ctx *ctx, const char *name, struct tvp_probe_sink *out)
{
    (void)name;
    broken = 0;
    static tvp_probe_fn *const probes[TVP_PROBE_COUNT] = {
        [TVP_PROBE_SPAWN] = probe_spawn, [TVP_PROBE_IPC] = probe_ipc,
        [TVP_PROBE_SWITCH] = probe_switch, [TVP_PROBE_MEMORY] = probe_memory};
    return tvp_probe_run(ctx, probes, out);
}
