/* The POSIX backend's message pool, for the shapes whose workers depend on each other.
 *
 * The map shape (map.c) runs on the process pool library (pool.h), whose tasks are
 * independent: any worker may run any of them, and a lost one is simply run again.  The
 * stencil shape (stencil.c: halo rows between neighbours, a shared barrier between
 * passes) and the table shape (table.c: parse and fit, merge at the parent, encode and
 * format with the merged map) need something else: lockstep rounds in which every worker
 * gets a command and the parent waits for every reply, with state kept in each worker
 * from one round to the next.  That is this pool.
 *
 * Worker w has two pipes of its own: the parent writes commands into `cmd` and reads
 * replies from `res`.  Every message is one fixed-size struct posix_msg (as in redis'
 * childinfo.c), followed by `payload` bytes when it carries data.  A worker sends READY
 * once after fork (pinned, buffers touched: t_touch), then answers every command except
 * EXIT with a reply of the same type; EXIT (or end of file) makes it _exit.
 *
 * A worker that dies is end of file on its result pipe, POLLHUP, or EPIPE on its command
 * pipe (SIGPIPE is ignored): the shape's hook returns TVP_EWORKER and the pool is marked
 * broken; stop() then closes every pipe, which ends the remaining workers, and reaps them.
 * With recovery on (--inject or --task-timeout) the run is retried whole on a new pool
 * (posix_shape_run), at most POSIX_MAX_RESTARTS times: these workers' state depends on
 * each other's, so one cannot be replaced alone.  Under a task timeout a worker silent
 * that long while it has work is hung (posix_pool_poll). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "posix.h"

/* ---- the job ------------------------------------------------------------------ */

enum posix_path posix_path_of(const struct tvp_job *job)
{
    if (job->opt->data == TVP_DATA_LOCAL)
        return POSIX_PATH_LOCAL;
    return job->opt->ipc == TVP_IPC_SHM ? POSIX_PATH_SHM : POSIX_PATH_PIPE;
}

/* ---- messages -------------------------------------------------------------------- */

/* Writes the header, then m->payload bytes from payload in one large write. */
int posix_msg_send(int fd, const struct posix_msg *m, const void *payload)
{
    if (tvp_write_full(fd, m, sizeof *m) == 0 &&
        (m->payload == 0 || tvp_write_full(fd, payload, (size_t)m->payload) == 0))
        return 0;
    return errno == EPIPE ? TVP_EWORKER : TVP_ESYS;
}

/* Reads one header; end of file means the other side is gone. */
int posix_msg_recv(int fd, struct posix_msg *m)
{
    ssize_t got = tvp_read_full(fd, m, sizeof *m);
    if (got < 0)
        return TVP_ESYS;
    return (size_t)got == sizeof *m ? 0 : TVP_EWORKER;
}

/* Reads the payload that follows header m, which must be exactly len bytes. */
int posix_payload_recv(int fd, const struct posix_msg *m, void *buf, size_t len)
{
    if (m->payload != len)
        return TVP_EWORKER;
    if (len == 0)
        return 0;
    ssize_t got = tvp_read_full(fd, buf, len);
    if (got < 0)
        return TVP_ESYS;
    return (size_t)got == len ? 0 : TVP_EWORKER;
}

/* ---- pipes ------------------------------------------------------------------------- */

/* A pipe raised to POSIX_PIPE_BYTES where the system allows; its capacity to *capacity. */
int posix_pipe_open(int fds[2], size_t *capacity)
{
    if (pipe(fds) < 0)
        return TVP_ESYS;
    (void)fcntl(fds[1], F_SETPIPE_SZ, POSIX_PIPE_BYTES); /* a wish: the default works too */
    int cap = fcntl(fds[1], F_GETPIPE_SZ);
    *capacity = cap > 0 ? (size_t)cap : PIPE_BUF;
    return 0;
}

void posix_fd_close(int *fd)
{
    if (*fd >= 0) {
        int saved = errno;
        close(*fd);
        errno = saved;
    }
    *fd = -1;
}

/* ---- the worker (child side) ------------------------------------------------------- */

_Noreturn void posix_child_loop(int cmd, int res, int setup_err, double t_touch,
                                posix_serve_fn *serve, void *child)
{
    struct posix_msg m = {.type = POSIX_MSG_READY, .err = setup_err, .t_touch = t_touch};
    if (posix_msg_send(res, &m, NULL) != 0 || m.err)
        _exit(POSIX_EXIT_SETUP);
    for (;;) {
        if (posix_msg_recv(cmd, &m) != 0) /* the parent is gone */
            _exit(POSIX_EXIT_PROTOCOL);
        if (m.type == POSIX_MSG_EXIT)
            _exit(POSIX_EXIT_OK);
        if (serve(child, &m) != 0)
            _exit(POSIX_EXIT_PROTOCOL);
    }
}

/* ---- the pool (parent side) ------------------------------------------------------ */

/* Creates worker w (a new one, or the replacement of a lost one): its two pipes, then
 * fork().  The child keeps only its own ends of the pool's pipes and runs child(). */
static int posix_pool_fork(struct tvp_job *job, struct posix_pool *p, int w, posix_child_fn *child,
                           void *arg)
{
    int cmd[2], res[2];
    size_t unused;

    if (posix_pipe_open(cmd, &unused) != 0)
        return TVP_ESYS;
    if (posix_pipe_open(res, &unused) != 0) {
        posix_fd_close(&cmd[0]);
        posix_fd_close(&cmd[1]);
        return TVP_ESYS;
    }
    fflush(NULL); /* nothing buffered is written twice */
    pid_t pid = fork();
    if (pid < 0) {
        for (int i = 0; i < 2; i++) {
            posix_fd_close(&cmd[i]);
            posix_fd_close(&res[i]);
        }
        return TVP_ESYS;
    }
    if (pid == 0) {
        close(cmd[1]);
        close(res[0]);
        for (int i = 0; i < p->count; i++) { /* else a sibling's death would never read as EOF */
            if (i == w)
                continue;
            if (p->w[i].cmd >= 0)
                close(p->w[i].cmd);
            if (p->w[i].res >= 0)
                close(p->w[i].res);
        }
        tvp_inject_worker(w);
        child(job, w, cmd[0], res[1], arg);
        _exit(POSIX_EXIT_PROTOCOL); /* a child main does not return */
    }
    close(cmd[0]);
    close(res[1]);
    p->w[w] = (struct posix_worker){.pid = pid, .cmd = cmd[1], .res = res[0]};
    if (w >= p->count)
        p->count = w + 1;
    return 0;
}

/* Reads worker w's READY: no payload, its t_touch in m. */
static int posix_ready_recv(struct posix_pool *p, int w, struct posix_msg *m)
{
    int err = posix_msg_recv(p->w[w].res, m);
    if (err)
        return err;
    if (m->err)
        return m->err < 0 ? m->err : TVP_EWORKER;
    if (m->type != POSIX_MSG_READY)
        return TVP_EWORKER;
    return posix_payload_recv(p->w[w].res, m, NULL, 0);
}

/* ---- fault isolation: lost workers ---------------------------------------------------------- */

int posix_pool_replace(struct tvp_job *job, struct posix_pool *p, int w, char *why, size_t len)
{
    struct posix_worker *x = &p->w[w];
    int status = 0, hung = x->hung;
    pid_t r;
    (void)kill(x->pid, SIGKILL); /* dead already (a zombie: no effect), or hung */
    posix_fd_close(&x->cmd);
    posix_fd_close(&x->res);
    do
        r = waitpid(x->pid, &status, 0);
    while (r < 0 && errno == EINTR);
    if (hung && r >= 0 && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        snprintf(why, len, "did not answer within %g s (--task-timeout)", p->timeout);
    else if (r < 0)
        snprintf(why, len, "was lost (%s)", strerror(errno));
    else
        tvp_wait_text(status, why, len);
    x->pid = -1;
    tvp_inject_spend(); /* the replacement never fires the injected fault again */
    int err = posix_pool_fork(job, p, w, p->child, p->arg);
    struct posix_msg m;
    if (!err && (err = posix_ready_recv(p, w, &m)) == TVP_EWORKER)
        p->w[w].gone = 1; /* died in its setup */
    return err;
}

int posix_pool_poll(struct posix_pool *p, const char *replied, nfds_t *nfd)
{
    double first = 0, now;
    int any = 0, ms = -1;
    *nfd = 0;
    for (int w = 0; w < p->count; w++) {
        struct posix_worker *x = &p->w[w];
        if (replied[w])
            continue;
        p->pfd[*nfd] = (struct pollfd){.fd = x->res, .events = POLLIN};
        p->pfd_worker[(*nfd)++] = w;
        if (!any || x->sent < first)
            first = x->sent;
        any = 1;
    }
    if (*nfd == 0)
        return 0;
    if (p->timeout > 0) {
        double left = first + p->timeout - tvp_now();
        ms = left > 0 ? (int)(left * 1e3) + 1 : 0;
    }
    int r = poll(p->pfd, *nfd, ms);
    if (r < 0) {
        for (nfds_t i = 0; i < *nfd; i++)
            p->pfd[i].revents = 0;
        return errno == EINTR ? 0 : TVP_ESYS;
    }
    if (r > 0 || p->timeout <= 0)
        return 0;
    now = tvp_now();
    for (nfds_t i = 0; i < *nfd; i++) {
        struct posix_worker *x = &p->w[p->pfd_worker[i]];
        if (now - x->sent >= p->timeout)
            x->hung = 1;
    }
    return TVP_EWORKER;
}

/* Ends every worker: EXIT when the pool is healthy; otherwise closing its pipes is
 * enough (it reads end of file or gets EPIPE and _exits).  Then reaps them all.  Returns
 * TVP_EWORKER when one did not exit with status 0 (with recovery on, a worker that died
 * after the last run is only reported: the results are whole). */
int posix_pool_destroy(struct posix_pool *p)
{
    int err = p->broken;

    /* a worker waiting at a shared barrier for one that died would never read the closed
     * pipes: those pools are ended by force once broken (our own children, by pid) */
    for (int w = 0; p->broken && p->kill_if_broken && w < p->count; w++)
        (void)kill(p->w[w].pid, SIGKILL);

    for (int w = 0; w < p->count; w++) {
        struct posix_msg m = {.type = POSIX_MSG_EXIT};
        if (!p->broken && p->w[w].cmd >= 0 && posix_msg_send(p->w[w].cmd, &m, NULL) != 0 &&
            !p->recover)
            err = TVP_EWORKER;
        posix_fd_close(&p->w[w].cmd);
        posix_fd_close(&p->w[w].res);
    }
    for (int w = 0; w < p->count; w++) {
        int status = 0;
        pid_t r;
        do
            r = waitpid(p->w[w].pid, &status, 0);
        while (r < 0 && errno == EINTR);
        if (r >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == POSIX_EXIT_OK)
            continue;
        if (p->recover && !p->broken && r >= 0) {
            char why[96];
            tvp_wait_text(status, why, sizeof why);
            fprintf(stderr, "tvp-posix: worker %d (pid %d) %s after its last run; nothing was "
                            "lost\n", w, (int)p->w[w].pid, why);
            continue;
        }
        err = err ? err : TVP_EWORKER;
    }
    free(p->w);
    free(p->pfd);
    free(p->pfd_worker);
    free(p);
    return err;
}

/* ---- run-level retry (stencil.c, table.c) ------------------------------------------------- */

int posix_pool_abandon(struct posix_pool *p, int err, const char *replied, const char *during)
{
    int culprit = -1, silent = -1, dead = -1, nlost = 0;
    int *status = NULL;
    char *waited = NULL;

    if (!p->recover || err != TVP_EWORKER)
        return 0;
    for (int w = 0; w < p->count; w++)
        if (p->w[w].gone || p->w[w].hung)
            nlost++;
    if (!nlost)
        return 0; /* a protocol error, not a loss */
    status = calloc((size_t)p->count, sizeof *status);
    waited = calloc((size_t)p->count, 1);
    if (!status || !waited) {
        free(status);
        free(waited);
        return 0;
    }
    /* those already dead first (give a worker that died a moment to be reaped), then the
     * rest by force: a worker that died of a signal of its own is the cause; the others
     * died of its loss (end of file on a halo pipe) or were waiting for it */
    for (int pass = 0; pass < 20; pass++) {
        int more = 0;
        for (int w = 0; w < p->count; w++) {
            if (waited[w])
                continue;
            pid_t r = waitpid(p->w[w].pid, &status[w], WNOHANG);
            if (r == p->w[w].pid)
                waited[w] = 1;
            else if (p->w[w].gone)
                more = 1;
        }
        if (!more)
            break;
        struct timespec ms = {0, 5000000};
        nanosleep(&ms, NULL);
    }
    for (int w = 0; w < p->count; w++) {
        if (waited[w]) {
            if (WIFSIGNALED(status[w]) && culprit < 0)
                culprit = w;
            else if (dead < 0)
                dead = w;
        } else if (silent < 0 && (p->w[w].hung || (replied && !replied[w]))) {
            silent = w;
        }
    }
    for (int w = 0; w < p->count; w++) {
        if (!waited[w]) {
            (void)kill(p->w[w].pid, SIGKILL);
            pid_t r;
            do
                r = waitpid(p->w[w].pid, &status[w], 0);
            while (r < 0 && errno == EINTR);
        }
        posix_fd_close(&p->w[w].cmd);
        posix_fd_close(&p->w[w].res);
    }
    int w = culprit >= 0 ? culprit : dead >= 0 ? dead : silent >= 0 ? silent : 0;
    char who[256], why[160];
    int hung = culprit < 0 && dead < 0;
    size_t used = (size_t)snprintf(who, sizeof who, "worker %d (pid %d)", w, (int)p->w[w].pid);
    for (int i = 0; hung && i < p->count && used < sizeof who; i++) /* every silent one */
        if (i != w && (p->w[i].hung || (replied && !replied[i])))
            used += (size_t)snprintf(who + used, sizeof who - used, ", worker %d (pid %d)", i,
                                     (int)p->w[i].pid);
    if (hung)
        snprintf(why, sizeof why, "did not answer within %g s (--task-timeout)", p->timeout);
    else
        tvp_wait_text(status[w], why, sizeof why);
    fprintf(stderr, "tvp-posix: %s %s %s; %srestarting every worker and running the whole run "
                    "again (this workload's workers depend on each other)\n",
            who, why, during, hung ? "killed with SIGKILL; " : "");
    fflush(stderr);
    free(status);
    free(waited);
    for (int i = 0; i < p->count; i++) /* reaped: destroy has nothing left to do */
        p->w[i].pid = -1;
    p->count = 0;
    tvp_inject_spend();
    return 1;
}

int posix_shape_run(struct tvp_job *job, struct tvp_run *run, const struct posix_shape *shape)
{
    double phase[4] = {0, 0, 0, 0}, t_begin = tvp_now(), t_retry = t_begin, loss_at = 0;
    int err, failed = 0;

    if (!job->state)
        return TVP_EWORKER;
    struct posix_pool **pool = shape->pool(job, NULL, NULL);
    if ((*pool)->broken)
        return (*pool)->broken;
    for (int attempt = 0;; attempt++) {
        failed = 0;
        err = shape->once(job, run, phase, &failed);
        if (!err || failed)
            break;
        const char *replied, *during;
        pool = shape->pool(job, &replied, &during);
        struct posix_pool *p = *pool;
        double now = tvp_now(), sent = now;
        for (int w = 0; w < p->count; w++)
            sent = p->w[w].sent > 0 && p->w[w].sent < sent ? p->w[w].sent : sent;
        if (attempt >= POSIX_MAX_RESTARTS || !posix_pool_abandon(p, err, replied, during))
            break;
        run->recovered++;
        run->t_detect += now - sent;
        if (!loss_at)
            loss_at = now;
        (void)posix_pool_destroy(p); /* reaped already: frees it */
        *pool = NULL;
        shape->drop(job, 0);
        struct tvp_start st;
        if ((err = shape->start(job, &st)))
            return err;
        t_retry = tvp_now();
    }
    if (err) {
        if (!failed) /* the protocol's state is lost */
            (*shape->pool(job, NULL, NULL))->broken = err;
        return err;
    }
    tvp_run_static(run, phase[0], phase[1], phase[2], phase[3]);
    if (loss_at) {
        run->t_recovery += tvp_now() - loss_at;
        run->t_total += t_retry - t_begin; /* the failed attempts and the new pool */
    }
    run->peak_rss_kb += tvp_peak_rss_kb();
    return 0;
}

int posix_shape_stop(struct tvp_job *job, const struct posix_shape *shape)
{
    if (!job->state)
        return 0;
    struct posix_pool **pool = shape->pool(job, NULL, NULL);
    int err = posix_pool_destroy(*pool);
    *pool = NULL;
    shape->drop(job, err == 0);
    return err;
}

/* ---- hooks ---------------------------------------------------------------------- */

/* With ipc=shm the parent's arrays are shared mappings, made before the fork so every
 * worker inherits them; otherwise ordinary private memory. */
static void *posix_alloc(struct tvp_job *job, size_t bytes)
{
    if (job->opt->ipc != TVP_IPC_SHM)
        return tvp_alloc_touched(bytes);
    size_t len = bytes ? bytes : 1;
    void *a = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (a == MAP_FAILED)
        return NULL;
    memset(a, 0, len);
    return a;
}

static void posix_release(struct tvp_job *job, void *a, size_t bytes)
{
    if (job->opt->ipc != TVP_IPC_SHM)
        tvp_free(a);
    else if (a)
        munmap(a, bytes ? bytes : 1);
}

int posix_pool_start(struct tvp_job *job, posix_child_fn *child, void *arg, struct tvp_start *st,
                     struct posix_pool **out)
{
    struct posix_pool *p;
    int err = 0;

    *out = NULL;
    if (job->workers < 1)
        return TVP_EUSAGE;
    if (!(p = calloc(1, sizeof *p)) || !(p->w = calloc((size_t)job->workers, sizeof *p->w)) ||
        !(p->pfd = calloc((size_t)job->workers, sizeof *p->pfd)) ||
        !(p->pfd_worker = calloc((size_t)job->workers, sizeof *p->pfd_worker))) {
        if (p) {
            free(p->w);
            free(p->pfd);
        }
        free(p);
        return TVP_ENOMEM;
    }
    for (int w = 0; w < job->workers; w++)
        p->w[w].cmd = p->w[w].res = -1;
    p->child = child;
    p->arg = arg;
    p->recover = tvp_job_recovers(job);
    p->timeout = job->opt->task_timeout;
    signal(SIGPIPE, SIG_IGN); /* a dead worker's pipe: EPIPE, not death */

    double t0 = tvp_now();
    for (int w = 0; w < job->workers && !err; w++)
        err = posix_pool_fork(job, p, w, child, arg);
    st->t_touch = 0;
    for (int w = 0; w < p->count && !err; w++) {
        struct posix_msg m;
        err = posix_ready_recv(p, w, &m);
        if (!err && m.t_touch > st->t_touch)
            st->t_touch = m.t_touch;
    }
    st->t_init = tvp_now() - t0 - st->t_touch; /* the forks and handshakes, not the touching */
    if (err) {
        p->broken = err;
        (void)posix_pool_destroy(p);
        return err;
    }
    *out = p;
    return 0;
}

/* ---- probes (posix/probe.c, common/probe.h) ---- */
int posix_probe(const struct tvp_probe_ctx *ctx, const char *name, struct tvp_probe_sink *out);
/* ---- end probes ---- */

const struct tvp_backend tvp_backend_posix = {
    .name = "posix",
    .flags = TVP_BACKEND_IPC | TVP_BACKEND_STENCIL_STATIC,
    .alloc = posix_alloc,
    .release = posix_release,
    .start = posix_map_start,
    .run = posix_map_run,
    .stop = posix_map_stop,
    .stencil_start = posix_stencil_start,
    .stencil_run = posix_stencil_run,
    .stencil_stop = posix_stencil_stop,
    .table_start = posix_table_start,
    .table_run = posix_table_run,
    .table_stop = posix_table_stop,
    .probe = posix_probe, /* probes */
};
