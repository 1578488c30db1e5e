/* The POSIX backend: a persistent pool of fork()ed worker processes driven over pipes.
 *
 * Worker w has two pipes of its own: the parent writes commands into `cmd` and reads
 * replies from `res`.  Every message is one fixed-size struct posix_msg (as in redis'
 * childinfo.c), followed by `payload` bytes of items when it carries data.  A worker
 * answers every command except EXIT with a reply of the same type:
 *
 *   READY                 once, unasked, after fork: pinned, buffers touched (t_touch)
 *   RUN                   the startup handshake of every run
 *   INPUT COMPUTE OUTPUT  static schedule: the distribute, compute and collect phases,
 *                         each a lockstep round (command to all, then all replies)
 *   CHUNK k               dynamic schedule: do chunk k.  The parent keeps one or two
 *                         chunks in flight per worker, poll()s the result pipes and
 *                         hands a new chunk to whoever reports one done
 *   REPORT                untimed, ends every run: PU, peak RSS, checksum of the block
 *                         (local static), time spent moving data (dynamic); with local
 *                         data and a dynamic schedule its payload is a posix_piece for
 *                         every chunk the worker did and kept
 *   EXIT                  no reply: the worker _exit(0)s
 *
 * Items travel only with data=scatter ipc=pipe: the input with INPUT and CHUNK, the
 * output with the replies to OUTPUT and CHUNK.  With ipc=shm job->in/out are MAP_SHARED
 * (see posix_alloc) and workers work on them in place; with data=local each worker makes
 * its own input with the workload's fill, keeps its output and sends back checksums
 * only, after the timed window.
 *
 * A worker that dies is end of file on its result pipe, POLLHUP, or EPIPE on its command
 * pipe (SIGPIPE is ignored): the hook returns TVP_EWORKER and the pool is marked broken;
 * stop() then closes every pipe, which ends the remaining workers, and reaps them.
 *
 * Unless recovery is on (--inject or --task-timeout given): then a lost worker (dead, or
 * silent for --task-timeout seconds while it has work: SIGKILLed) is reaped, named on
 * stderr with its pid, its wait status and the work it held, and replaced by a new one
 * forked into its place (pinned to the same PU: the plan is by worker index).  Static: the
 * replacement is sent the commands of the run it missed (RUN, INPUT, ... up to the round it
 * was lost in), so it redoes its block, and the round goes on.  Dynamic: the chunks it had
 * in flight, and with local data the chunks it had done (their output lived in it), go back
 * on the list and are handed out again, to whoever has room.  The run's record counts the
 * replacements (recovered), the time from handing out the lost work to noticing the loss
 * (t_detect) and from then until the lost work was done again (t_recovery); both are also
 * inside the phase they happened in.  Under a task timeout the parent's command pipes are
 * non-blocking and every read and write waits at most that long, so a hung worker cannot
 * block the parent.  At most POSIX_MAX_RESTARTS replacements of one worker per run.
 *
 * This file is the map shape and the pool; stencil.c runs the stencil shape and table.c
 * the table shape on the same pool and messages (posix.h). */
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

/* REPORT payload, local data with a dynamic schedule: a chunk and its output's checksum */
struct posix_piece {
    uint64_t k;
    struct tvp_checksum sum;
};

/* a worker's own state, in the child */
struct posix_child {
    const struct tvp_job *job;
    enum posix_path path;
    int index;
    int cmd, res;          /* read end of its command pipe, write end of its result pipe */
    void *in, *out;        /* own buffers: its block (static) or one chunk (dynamic) */
    struct tvp_chunk_store kept; /* local dynamic: the output of every chunk it did */
    struct posix_piece *pieces;  /* local dynamic: REPORT's payload */
    size_t pieces_cap;
    long rss_base_kb;      /* peak RSS right after fork: pages inherited from the parent */
    int pu;
    double t_dist, t_coll; /* dynamic: accumulated over the current run */
};

/* ---- the job ------------------------------------------------------------------ */

enum posix_path posix_path_of(const struct tvp_job *job)
{
    if (job->opt->data == TVP_DATA_LOCAL)
        return POSIX_PATH_LOCAL;
    return job->opt->ipc == TVP_IPC_SHM ? POSIX_PATH_SHM : POSIX_PATH_PIPE;
}

static int posix_dynamic(const struct tvp_job *job)
{
    return job->opt->schedule == TVP_SCHED_DYNAMIC;
}

/* items in one chunk at most */
static uint64_t posix_chunk_items(const struct tvp_job *job)
{
    return job->chunk < job->n ? job->chunk : job->n;
}

/* ---- messages -------------------------------------------------------------------- */

/* The items a message is about: chunk k for CHUNK, otherwise worker w's block. */
static int posix_msg_range(const struct tvp_job *job, int w, const struct posix_msg *m,
                           uint64_t *b, uint64_t *e)
{
    if (m->type != POSIX_MSG_CHUNK) {
        tvp_partition(job->n, job->workers, w, b, e);
        return 0;
    }
    if (m->chunk >= tvp_chunk_count(job->n, job->chunk))
        return TVP_EWORKER;
    tvp_chunk_range(job->n, job->chunk, m->chunk, b, e);
    return 0;
}

/* With POSIX_PATH_PIPE, the commands that carry their range's input and the replies
 * that carry its output. */
static int posix_msg_carries_input(uint32_t type)
{
    return type == POSIX_MSG_INPUT || type == POSIX_MSG_CHUNK;
}

static int posix_msg_carries_output(uint32_t type)
{
    return type == POSIX_MSG_OUTPUT || type == POSIX_MSG_CHUNK;
}

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

static void *posix_child_in(const struct posix_child *c, uint64_t b)
{
    if (c->path == POSIX_PATH_SHM)
        return (char *)c->job->in + tvp_job_in_bytes(c->job, b);
    return c->in;
}

static void *posix_child_out(const struct posix_child *c, uint64_t b)
{
    if (c->path == POSIX_PATH_SHM)
        return (char *)c->job->out + tvp_job_out_bytes(c->job, b);
    return c->out;
}

/* Pins the worker, then allocates and touches its own buffers (and fills its block of
 * local input), so that their pages are local to where it runs. */
static int posix_child_setup(struct posix_child *c, double *t_touch)
{
    const struct tvp_job *job = c->job;
    int err = tvp_pin_process(job->topo, job->pu_plan ? job->pu_plan[c->index] : -1);
    if (err)
        return err;
    double t0 = tvp_now();
    if (c->path != POSIX_PATH_SHM) {
        uint64_t b = 0, e = posix_chunk_items(job);
        if (!posix_dynamic(job))
            tvp_partition(job->n, job->workers, c->index, &b, &e);
        /* local dynamic: outputs go to one kept buffer per chunk, not to `out` */
        int keeps = c->path == POSIX_PATH_LOCAL && posix_dynamic(job);
        c->in = tvp_alloc_touched(tvp_job_in_bytes(job, e - b));
        c->out = keeps ? NULL : tvp_alloc_touched(tvp_job_out_bytes(job, e - b));
        if (!c->in || (!keeps && !c->out))
            return TVP_ENOMEM;
        tvp_chunk_store_init(&c->kept, tvp_job_out_bytes(job, e - b));
        if (c->path == POSIX_PATH_LOCAL && !posix_dynamic(job))
            tvp_job_fill(job, b, e, c->in);
    }
    *t_touch = tvp_now() - t0;
    c->pu = tvp_pin_last_pu(job->topo);
    return 0;
}

/* The checksum of every chunk this worker kept, for REPORT. */
static int posix_child_pieces(struct posix_child *c)
{
    const struct tvp_job *job = c->job;
    if (c->kept.count > c->pieces_cap) {
        struct posix_piece *p = realloc(c->pieces, c->kept.count * sizeof *p);
        if (!p)
            return TVP_ENOMEM;
        c->pieces = p;
        c->pieces_cap = c->kept.count;
    }
    for (size_t i = 0; i < c->kept.count; i++) {
        uint64_t b, e;
        tvp_chunk_range(job->n, job->chunk, c->kept.ids[i], &b, &e);
        c->pieces[i] = (struct posix_piece){c->kept.ids[i], tvp_job_checksum(job, c->kept.bufs[i], b, e)};
    }
    return 0;
}

/* Does what command m asks, then answers with a reply of the same type: input in,
 * kernel, output (or its checksum) out, each step only where the command calls for it. */
static int posix_child_serve(struct posix_child *c, struct posix_msg *m)
{
    const struct tvp_job *job = c->job;
    int chunk = m->type == POSIX_MSG_CHUNK, pipe_data = c->path == POSIX_PATH_PIPE;
    uint64_t b, e;
    int err;

    switch (m->type) {
    case POSIX_MSG_RUN:
        c->t_dist = c->t_coll = 0;
        tvp_inject_run(m->chunk != 0); /* RUN says whether the run is a timed one */
        break;
    case POSIX_MSG_INPUT:
    case POSIX_MSG_COMPUTE:
    case POSIX_MSG_OUTPUT:
    case POSIX_MSG_CHUNK:
    case POSIX_MSG_REPORT:
        break;
    default:
        return TVP_EWORKER;
    }
    if ((err = posix_msg_range(job, c->index, m, &b, &e)))
        return err;
    void *in = posix_child_in(c, b), *out = posix_child_out(c, b);

    /* input: with the command (pipe) or made here (local, dynamic) */
    double t0 = tvp_now();
    size_t in_len = pipe_data && posix_msg_carries_input(m->type) ? tvp_job_in_bytes(job, e - b) : 0;
    if ((err = posix_payload_recv(c->cmd, m, in, in_len)))
        return err;
    if (chunk && c->path == POSIX_PATH_LOCAL)
        tvp_job_fill(job, b, e, in);
    if (chunk && c->path != POSIX_PATH_SHM)
        c->t_dist += tvp_now() - t0;
    if (chunk && c->path == POSIX_PATH_LOCAL && !(out = tvp_chunk_store_take(&c->kept, m->chunk)))
        return TVP_ENOMEM;

    if (chunk || m->type == POSIX_MSG_COMPUTE) {
        tvp_job_kernel(job, in, out, b, e);
        c->pu = tvp_pin_last_pu(job->topo);
    }

    /* output: with the reply (pipe); with local data its checksums, in REPORT */
    t0 = tvp_now();
    m->sum = TVP_CHECKSUM_EMPTY;
    m->payload = pipe_data && posix_msg_carries_output(m->type) ? tvp_job_out_bytes(job, e - b) : 0;
    const void *payload = out;
    if (m->type == POSIX_MSG_REPORT) {
        if (c->path == POSIX_PATH_LOCAL && !posix_dynamic(job))
            m->sum = tvp_job_checksum(job, out, b, e);
        if (c->path == POSIX_PATH_LOCAL && posix_dynamic(job)) {
            if ((err = posix_child_pieces(c)))
                return err;
            payload = c->pieces;
            m->payload = c->kept.count * sizeof *c->pieces;
            tvp_chunk_store_reset(&c->kept);
        }
        m->pu = c->pu;
        long rss = tvp_peak_rss_kb() - c->rss_base_kb;
        m->rss_kb = rss > 0 ? rss : 0;
        m->t_dist = c->t_dist;
        m->t_coll = c->t_coll;
    }
    m->err = 0;
    err = posix_msg_send(c->res, m, payload);
    if (chunk && pipe_data)
        c->t_coll += tvp_now() - t0;
    return err;
}

static int posix_child_serve_any(void *c, struct posix_msg *m)
{
    return posix_child_serve(c, m);
}

/* The life of worker w after fork(): never returns (a posix_child_fn). */
static _Noreturn void posix_child_main(const struct tvp_job *job, int w, int cmd, int res,
                                       void *arg)
{
    (void)arg;
    struct posix_child c = {.job = job,
                            .path = posix_path_of(job),
                            .index = w,
                            .cmd = cmd,
                            .res = res,
                            .pu = -1,
                            .rss_base_kb = tvp_peak_rss_kb()};
    double t_touch = 0;
    int err = posix_child_setup(&c, &t_touch);
    posix_child_loop(cmd, res, err, t_touch, posix_child_serve_any, &c);
}

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
    size_t cap, unused;

    if (posix_pipe_open(cmd, &cap) != 0)
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
    int restarts = p->w[w].restarts;
    p->w[w] = (struct posix_worker){.pid = pid, .cmd = cmd[1], .res = res[0], .restarts = restarts};
    if (w >= p->count)
        p->count = w + 1;
    if (cap < p->cmd_capacity)
        p->cmd_capacity = cap;
    return 0;
}

/* ---- I/O with one worker, under --task-timeout ------------------------------------------ */

/* Waits until fd has `events` or `seconds` pass (for ever without a task timeout): 1 ready,
 * 0 timed out, TVP_ESYS. */
static int pool_wait_fd(const struct posix_pool *p, int fd, short events, double seconds)
{
    double deadline = tvp_now() + seconds;
    for (;;) {
        int ms = -1;
        if (p->timeout > 0) {
            double left = deadline - tvp_now();
            if (left <= 0)
                return 0;
            ms = (int)(left * 1e3) + 1;
        }
        struct pollfd pfd = {.fd = fd, .events = events};
        int r = poll(&pfd, 1, ms);
        if (r > 0)
            return 1; /* POLLHUP/POLLERR too: the read or write sees it */
        if (r < 0 && errno != EINTR)
            return TVP_ESYS;
    }
}

/* Exactly len bytes from worker w: 0; TVP_EWORKER with gone (end of file) or hung (silent
 * for the task timeout) set; TVP_ESYS. */
static int pool_read(struct posix_pool *p, int w, void *buf, size_t len)
{
    struct posix_worker *x = &p->w[w];
    size_t done = 0;
    while (done < len) {
        if (p->timeout > 0) {
            int r = pool_wait_fd(p, x->res, POLLIN, p->timeout);
            if (r < 0)
                return r;
            if (r == 0) {
                x->hung = 1;
                return TVP_EWORKER;
            }
        }
        ssize_t n = read(x->res, (char *)buf + done, len - done);
        if (n > 0) {
            done += (size_t)n;
        } else if (n == 0) {
            x->gone = 1;
            return TVP_EWORKER;
        } else if (errno != EINTR && errno != EAGAIN) {
            return TVP_ESYS;
        }
    }
    return 0;
}

/* Exactly len bytes to worker w (its command pipe is non-blocking under a task timeout). */
static int pool_write(struct posix_pool *p, int w, const void *buf, size_t len)
{
    struct posix_worker *x = &p->w[w];
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(x->cmd, (const char *)buf + done, len - done);
        if (n > 0) {
            done += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EPIPE) {
            x->gone = 1;
            return TVP_EWORKER;
        }
        if (n < 0 && errno == EAGAIN) {
            int r = pool_wait_fd(p, x->cmd, POLLOUT, p->timeout);
            if (r < 0)
                return r;
            if (r == 0) {
                x->hung = 1;
                return TVP_EWORKER;
            }
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        return TVP_ESYS;
    }
    return 0;
}

static int pool_send(struct posix_pool *p, int w, const struct posix_msg *m, const void *payload)
{
    int err = pool_write(p, w, m, sizeof *m);
    if (!err && m->payload)
        err = pool_write(p, w, payload, (size_t)m->payload);
    return err;
}

static int pool_payload(struct posix_pool *p, int w, const struct posix_msg *m, void *buf, size_t len)
{
    if (m->payload != len)
        return TVP_EWORKER;
    return len ? pool_read(p, w, buf, len) : 0;
}

/* The error is the loss of worker w (dead or hung) and the pool replaces lost workers. */
static int pool_recoverable(const struct posix_pool *p, int w, int err)
{
    return p->recover && err == TVP_EWORKER && (p->w[w].gone || p->w[w].hung);
}

/* ---- the map shape's protocol -------------------------------------------------------- */

/* Sends command m to worker w, with the input of its range when items travel by pipe.  A
 * chunk counts as in flight from here, so that it is sent again if w is lost. */
static int posix_worker_send(struct tvp_job *job, struct posix_pool *p, int w,
                             struct posix_msg *m, struct tvp_run *run)
{
    struct posix_worker *x = &p->w[w];
    const void *payload = NULL;
    uint64_t b, e;
    int err;

    m->payload = 0;
    if (m->type == POSIX_MSG_RUN)
        m->chunk = (uint64_t)job->timed;
    if (posix_path_of(job) == POSIX_PATH_PIPE && posix_msg_carries_input(m->type)) {
        if ((err = posix_msg_range(job, w, m, &b, &e)))
            return err;
        payload = (const char *)job->in + tvp_job_in_bytes(job, b);
        m->payload = tvp_job_in_bytes(job, e - b);
        run->bytes_moved += m->payload;
    }
    if (m->type != POSIX_MSG_CHUNK || x->inflight == 0)
        x->sent = tvp_now(); /* it has work from now on */
    if (m->type == POSIX_MSG_CHUNK)
        x->flight[x->inflight++] = m->chunk;
    return pool_send(p, w, m, payload);
}

/* What a reply tells the parent, besides its payload. */
static void posix_reply_note(struct tvp_job *job, struct posix_pool *p, int w,
                             const struct posix_msg *m, struct tvp_run *run)
{
    int local = posix_path_of(job) == POSIX_PATH_LOCAL;
    (void)p;

    if (m->type == POSIX_MSG_REPORT) {
        run->pu[w] = m->pu;
        run->peak_rss_kb += (long)m->rss_kb;
        if (local && !posix_dynamic(job) && (uint64_t)w < job->npieces)
            job->pieces[w] = m->sum;
        if (posix_dynamic(job)) {
            run->t_distribute = m->t_dist > run->t_distribute ? m->t_dist : run->t_distribute;
            run->t_collect = m->t_coll > run->t_collect ? m->t_coll : run->t_collect;
        }
    }
}

/* REPORT with local data and a dynamic schedule: the checksums of the chunks worker w
 * kept, filed in job->pieces. */
static int posix_pieces_recv(struct tvp_job *job, struct posix_pool *p, int w,
                             const struct posix_msg *m, struct tvp_run *run)
{
    size_t count = (size_t)(m->payload / sizeof(struct posix_piece));
    if (m->payload % sizeof(struct posix_piece) || count > job->npieces)
        return TVP_EWORKER;
    struct posix_piece *got = malloc((count ? count : 1) * sizeof *got);
    if (!got)
        return TVP_ENOMEM;
    int err = pool_payload(p, w, m, got, (size_t)m->payload);
    for (size_t i = 0; !err && i < count; i++) {
        if (got[i].k >= job->npieces)
            err = TVP_EWORKER;
        else
            job->pieces[got[i].k] = got[i].sum;
    }
    free(got);
    if (!err)
        posix_reply_note(job, p, w, m, run);
    return err;
}

/* Reads worker w's reply, which must be of the given type, with its payload: the output
 * of its range, straight into place in job->out. */
static int posix_worker_recv(struct tvp_job *job, struct posix_pool *p, int w, uint32_t type,
                             struct posix_msg *m, struct tvp_run *run)
{
    struct posix_worker *x = &p->w[w];
    void *dst = NULL;
    size_t len = 0;
    uint64_t b, e;
    int err;

    if ((err = pool_read(p, w, m, sizeof *m)))
        return err;
    if (m->err)
        return m->err < 0 ? m->err : TVP_EWORKER;
    if (m->type != type)
        return TVP_EWORKER;
    if (type == POSIX_MSG_CHUNK && (x->inflight == 0 || m->chunk != x->flight[0]))
        return TVP_EWORKER; /* chunks are done in the order they were sent */
    if (posix_path_of(job) == POSIX_PATH_PIPE && posix_msg_carries_output(type)) {
        if ((err = posix_msg_range(job, w, m, &b, &e)))
            return err;
        dst = (char *)job->out + tvp_job_out_bytes(job, b);
        len = tvp_job_out_bytes(job, e - b);
        run->bytes_moved += len;
    }
    if (type == POSIX_MSG_REPORT && posix_path_of(job) == POSIX_PATH_LOCAL && posix_dynamic(job))
        return posix_pieces_recv(job, p, w, m, run);
    if ((err = pool_payload(p, w, m, dst, len)))
        return err;
    if (type == POSIX_MSG_CHUNK) { /* done: the next one in flight starts now */
        x->flight[0] = x->flight[1];
        x->inflight--;
        x->sent = tvp_now();
    }
    posix_reply_note(job, p, w, m, run);
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

void posix_status_text(int status, char *buf, size_t len)
{
    if (WIFSIGNALED(status)) {
        const char *name = tvp_signal_name(WTERMSIG(status));
        if (name)
            snprintf(buf, len, "killed by %s", name);
        else
            snprintf(buf, len, "killed by signal %d", WTERMSIG(status));
    } else if (WIFEXITED(status)) {
        snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
    } else {
        snprintf(buf, len, "ended (wait status 0x%x)", (unsigned)status);
    }
}

/* Ends lost worker w (SIGKILL, our own child by pid), closes its pipes and reaps it; what
 * happened to it in words into why. */
static void pool_reap(struct posix_pool *p, int w, char *why, size_t len)
{
    struct posix_worker *x = &p->w[w];
    int status = 0;
    pid_t r;
    (void)kill(x->pid, SIGKILL); /* dead already (a zombie: no effect), or hung */
    posix_fd_close(&x->cmd);
    posix_fd_close(&x->res);
    do
        r = waitpid(x->pid, &status, 0);
    while (r < 0 && errno == EINTR);
    if (x->hung && r >= 0 && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        snprintf(why, len, "did not answer within %g s (--task-timeout)", p->timeout);
    else if (r < 0)
        snprintf(why, len, "was lost (%s)", strerror(errno));
    else
        posix_status_text(status, why, len);
}

/* The items of block w (static) or chunk k, for the messages. */
static void lost_block(const struct tvp_job *job, int w, char *buf, size_t len)
{
    uint64_t b, e;
    tvp_partition(job->n, job->workers, w, &b, &e);
    snprintf(buf, len, "block %d (items %" PRIu64 "..%" PRIu64 ")", w, b, e ? e - 1 : 0);
}

static void lost_chunk(const struct tvp_job *job, uint64_t k, char *buf, size_t len)
{
    uint64_t b, e;
    tvp_chunk_range(job->n, job->chunk, k, &b, &e);
    snprintf(buf, len, "chunk %" PRIu64 " (items %" PRIu64 "..%" PRIu64 ")", k, b, e ? e - 1 : 0);
}

static const uint32_t static_seq[] = {POSIX_MSG_RUN, POSIX_MSG_INPUT, POSIX_MSG_COMPUTE,
                                      POSIX_MSG_OUTPUT, POSIX_MSG_REPORT};

/* Worker w is lost: reaps it, says so on stderr ("tvp-posix: worker 1 (pid 1234) killed by
 * SIGSEGV during chunk 7 (items ...); restarting it and re-running the chunk"), forks a
 * replacement (pinned as it was: the plan is by index), replays to it the commands of this
 * run it has missed (replay[0..nreplay), each answered) and sends it `type` (0: nothing).
 * A replacement lost in turn is replaced again, up to POSIX_MAX_RESTARTS per run. */
static int pool_replace(struct tvp_job *job, struct posix_pool *p, int w, struct tvp_run *run,
                        const uint32_t *replay, int nreplay, uint32_t type, const char *during,
                        const char *redo)
{
    for (;;) {
        struct posix_worker *x = &p->w[w];
        double now = tvp_now(), since = x->since ? x->since : now;
        double detect = x->sent > 0 && now > x->sent ? now - x->sent : 0;
        pid_t pid = x->pid;
        char why[160];
        int err;

        pool_reap(p, w, why, sizeof why);
        run->recovered++;
        run->t_detect += detect;
        if (++x->restarts > POSIX_MAX_RESTARTS) {
            fprintf(stderr, "tvp-posix: worker %d (pid %d) %s %s; it was lost %d times in this "
                            "run: giving up\n", w, (int)pid, why, during, x->restarts);
            return TVP_EWORKER;
        }
        fprintf(stderr, "tvp-posix: worker %d (pid %d) %s %s; %srestarting it%s%s\n", w,
                (int)pid, why, during, x->hung ? "killed it (SIGKILL), " : "",
                redo ? " and re-running " : "", redo ? redo : "");
        fflush(stderr);
        tvp_inject_spend(); /* a replacement never fires the injected fault again */
        if ((err = posix_pool_fork(job, p, w, p->child, p->arg)))
            return err;
        x->since = since;
        struct posix_msg m;
        if ((err = posix_ready_recv(p, w, &m))) {
            if (err != TVP_EWORKER)
                return err;
            x->gone = 1; /* died in its setup */
        }
        if (!err && p->timeout > 0 && fcntl(x->cmd, F_SETFL, O_NONBLOCK) < 0)
            return TVP_ESYS;
        for (int i = 0; !err && i < nreplay; i++) {
            m = (struct posix_msg){.type = replay[i]};
            err = posix_worker_send(job, p, w, &m, run);
            if (!err)
                err = posix_worker_recv(job, p, w, replay[i], &m, run);
        }
        if (!err && type) {
            m = (struct posix_msg){.type = type};
            err = posix_worker_send(job, p, w, &m, run);
        }
        if (!err)
            return 0;
        if (!pool_recoverable(p, w, err))
            return err;
        during = "while it replaced a lost worker";
    }
}

/* Worker w was lost during the static round `type`: replaced, brought to this point of the
 * run and sent `type` again; its reply comes with the others'. */
static int posix_static_lost(struct tvp_job *job, struct posix_pool *p, int w, uint32_t type,
                             struct tvp_run *run)
{
    char block[96], during[160];
    int at = 0;
    while (static_seq[at] != type)
        at++;
    lost_block(job, w, block, sizeof block);
    switch (type) {
    case POSIX_MSG_RUN: snprintf(during, sizeof during, "between runs (seen at the start of one)"); break;
    case POSIX_MSG_INPUT: snprintf(during, sizeof during, "while taking in %s", block); break;
    case POSIX_MSG_COMPUTE: snprintf(during, sizeof during, "during %s", block); break;
    case POSIX_MSG_OUTPUT: snprintf(during, sizeof during, "while sending back %s", block); break;
    default: snprintf(during, sizeof during, "while reporting on %s", block); break;
    }
    return pool_replace(job, p, w, run, static_seq, at, type, during,
                        type == POSIX_MSG_RUN ? NULL : "the block");
}

/* The dynamic schedule's work list: chunks not yet handed out, chunks lost with a worker
 * (handed out again first) and, with local data, the chunks each worker did in this run
 * (their output lives in it until REPORT, so a lost worker loses them too). */
struct posix_feed {
    uint64_t total, next, done;
    uint64_t *redo;
    size_t nredo, redo_cap;
    uint8_t *marked;  /* [total]: lost, not yet done again (the recovery time ends with the last) */
    uint64_t pending;
    double loss_at;
    uint64_t **held;  /* [workers], local data with recovery */
    size_t *nheld, *held_cap;
};

static void feed_free(struct posix_feed *f, int workers)
{
    free(f->redo);
    free(f->marked);
    for (int w = 0; f->held && w < workers; w++)
        free(f->held[w]);
    free(f->held);
    free(f->nheld);
    free(f->held_cap);
    memset(f, 0, sizeof *f);
}

static int feed_push(uint64_t **a, size_t *n, size_t *cap, uint64_t k)
{
    if (*n == *cap) {
        size_t c = *cap ? 2 * *cap : 64;
        uint64_t *q = realloc(*a, c * sizeof *q);
        if (!q)
            return TVP_ENOMEM;
        *a = q;
        *cap = c;
    }
    (*a)[(*n)++] = k;
    return 0;
}

static int feed_take(struct posix_feed *f, uint64_t *k)
{
    if (f->nredo) {
        *k = f->redo[--f->nredo];
        return 1;
    }
    if (f->next < f->total) {
        *k = f->next++;
        return 1;
    }
    return 0;
}

/* Chunk k goes back on the list, to be done again. */
static int feed_lose(struct posix_feed *f, uint64_t k, double now)
{
    int err = feed_push(&f->redo, &f->nredo, &f->redo_cap, k);
    if (err)
        return err;
    if (!f->marked && !(f->marked = calloc((size_t)f->total, 1)))
        return TVP_ENOMEM;
    if (!f->marked[k]) {
        f->marked[k] = 1;
        if (f->pending++ == 0)
            f->loss_at = now;
    }
    return 0;
}

/* Worker w reported chunk k done. */
static int feed_done(struct posix_feed *f, struct tvp_run *run, int w, uint64_t k)
{
    f->done++;
    if (f->marked && f->marked[k]) {
        f->marked[k] = 0;
        if (--f->pending == 0)
            run->t_recovery += tvp_now() - f->loss_at;
    }
    return f->held ? feed_push(&f->held[w], &f->nheld[w], &f->held_cap[w], k) : 0;
}

/* Worker w is lost in the dynamic schedule (`round`: RUN or REPORT, or 0 in the work
 * window): what it held goes back on the list, it is replaced and sent RUN (and `round`). */
static int posix_dynamic_lost(struct tvp_job *job, struct posix_pool *p, int w, uint32_t round,
                              struct tvp_run *run, struct posix_feed *f)
{
    struct posix_worker *x = &p->w[w];
    double now = tvp_now();
    size_t held = f->held ? f->nheld[w] : 0, lost = (size_t)x->inflight + held;
    char during[160], redo[160];
    int err;

    if (x->inflight > 0) {
        char c[96];
        lost_chunk(job, x->flight[0], c, sizeof c);
        snprintf(during, sizeof during, "during %s", c);
    } else {
        snprintf(during, sizeof during, "%s",
                 round == POSIX_MSG_RUN      ? "between runs (seen at the start of one)"
                 : round == POSIX_MSG_REPORT ? "while reporting its chunks"
                                             : "between chunks");
    }
    {
        size_t used = 0, queued = x->inflight > 1 ? (size_t)x->inflight - 1 : 0;
        redo[0] = 0;
        if (x->inflight > 0)
            used += (size_t)snprintf(redo + used, sizeof redo - used, "the chunk");
        if (queued)
            used += (size_t)snprintf(redo + used, sizeof redo - used, "%s the %zu queued behind it",
                                     held ? "," : " and", queued);
        if (held && used < sizeof redo)
            snprintf(redo + used, sizeof redo - used, "%sthe %zu it had done (their output was in "
                     "its memory)", used ? " and " : "", held);
    }
    for (int i = x->inflight - 1; i >= 0; i--) /* the oldest is taken again first */
        if ((err = feed_lose(f, x->flight[i], now)))
            return err;
    for (size_t i = held; i-- > 0;)
        if ((err = feed_lose(f, f->held[w][i], now)))
            return err;
    f->done -= held;
    x->inflight = 0;
    if (f->held)
        f->nheld[w] = 0;
    static const uint32_t run_only[] = {POSIX_MSG_RUN};
    err = pool_replace(job, p, w, run, run_only, round == POSIX_MSG_RUN ? 0 : 1,
                       round, during, lost ? redo : NULL);
    p->w[w].since = 0; /* the feed times the recovery, by the chunks lost */
    return err;
}

/* Waits for a reply from the workers with replied[w] == 0 (replied NULL: those with chunks
 * in flight).  0 when something is readable (p->pfd[0..*nfd)); TVP_EWORKER with hung set on
 * every worker silent for the task timeout since its `sent`; TVP_ESYS. */
static int pool_poll_some(struct posix_pool *p, const char *replied, nfds_t *nfd)
{
    double first = 0, now;
    int any = 0, ms = -1;
    *nfd = 0;
    for (int w = 0; w < p->count; w++) {
        struct posix_worker *x = &p->w[w];
        if (replied ? replied[w] != 0 : x->inflight == 0)
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

int posix_pool_poll(struct posix_pool *p, const char *replied, nfds_t *nfd)
{
    return pool_poll_some(p, replied, nfd);
}

/* One lockstep round: the command to every worker, then every worker's reply as it comes.
 * A worker lost in it is replaced, brought up to this round and sent the command again. */
static int posix_pool_round(struct tvp_job *job, struct posix_pool *p, uint32_t type,
                            struct tvp_run *run, struct posix_feed *f, char *replied)
{
    struct posix_msg m;
    int err, left = p->count;

    for (int w = 0; w < p->count; w++) {
        replied[w] = 0;
        m = (struct posix_msg){.type = type};
        if ((err = posix_worker_send(job, p, w, &m, run)) && !pool_recoverable(p, w, err))
            return err;
    }
    while (left > 0) {
        for (int w = 0; w < p->count; w++) {
            if (replied[w] || !(p->w[w].gone || p->w[w].hung))
                continue;
            err = posix_dynamic(job) ? posix_dynamic_lost(job, p, w, type, run, f)
                                     : posix_static_lost(job, p, w, type, run);
            if (err)
                return err;
        }
        nfds_t nfd;
        if ((err = pool_poll_some(p, replied, &nfd))) {
            if (err == TVP_EWORKER && p->recover)
                continue; /* the silent ones are hung: replaced above */
            return err;
        }
        for (nfds_t i = 0; i < nfd; i++) {
            if (!p->pfd[i].revents) /* POLLHUP/POLLERR too: the read below sees the EOF */
                continue;
            int w = p->pfd_worker[i];
            if ((err = posix_worker_recv(job, p, w, type, &m, run))) {
                if (pool_recoverable(p, w, err))
                    continue;
                return err;
            }
            replied[w] = 1;
            left--;
            if (p->w[w].since) { /* a replacement has done what was lost */
                run->t_recovery += tvp_now() - p->w[w].since;
                p->w[w].since = 0;
            }
        }
    }
    return 0;
}

static int posix_pool_round_timed(struct tvp_job *job, struct posix_pool *p, uint32_t type,
                                  struct tvp_run *run, struct posix_feed *f, char *replied,
                                  double *t)
{
    double t0 = tvp_now();
    int err = posix_pool_round(job, p, type, run, f, replied);
    *t = tvp_now() - t0;
    return err;
}

/* Chunks kept in flight per worker.  A second one hides the round trip, but it reaches a
 * worker that may be blocked writing its last reply while the parent writes the chunk;
 * with items in the command, that is safe only if the whole command fits in the pipe. */
static int posix_pool_depth(const struct tvp_job *job, const struct posix_pool *p)
{
    if (posix_path_of(job) != POSIX_PATH_PIPE)
        return 2;
    size_t cmd = sizeof(struct posix_msg) + tvp_job_in_bytes(job, posix_chunk_items(job));
    return cmd <= p->cmd_capacity ? 2 : 1;
}

static int posix_chunk_send(struct tvp_job *job, struct posix_pool *p, int w, uint64_t k,
                            struct tvp_run *run)
{
    struct posix_msg m = {.type = POSIX_MSG_CHUNK, .chunk = k};
    return posix_worker_send(job, p, w, &m, run);
}

/* The dynamic schedule's work window: `depth` chunks to every worker, then the next chunk
 * to whichever worker reports one done, until every chunk is done.  A lost worker's chunks
 * go back on the list and its replacement takes chunks like the others. */
static int posix_pool_feed(struct tvp_job *job, struct posix_pool *p, struct tvp_run *run,
                           struct posix_feed *f)
{
    int depth = posix_pool_depth(job, p), err;
    uint64_t k;

    for (int d = 1; d <= depth; d++)
        for (int w = 0; w < p->count; w++)
            if (p->w[w].inflight < d && !p->w[w].gone && feed_take(f, &k) &&
                (err = posix_chunk_send(job, p, w, k, run)) && !pool_recoverable(p, w, err))
                return err;
    while (f->done < f->total) {
        for (int w = 0; w < p->count; w++) {
            if ((p->w[w].gone || p->w[w].hung) &&
                (err = posix_dynamic_lost(job, p, w, 0, run, f)))
                return err;
            /* a replacement, or chunks lost by another: whoever has room takes them */
            while (p->w[w].inflight < depth && !p->w[w].gone && !p->w[w].hung &&
                   (f->nredo || p->w[w].inflight == 0) && feed_take(f, &k))
                if ((err = posix_chunk_send(job, p, w, k, run)) && !pool_recoverable(p, w, err))
                    return err;
        }
        nfds_t nfd;
        if ((err = pool_poll_some(p, NULL, &nfd))) {
            if (err == TVP_EWORKER && p->recover)
                continue;
            return err;
        }
        if (nfd == 0) /* cannot happen: chunks are left but none is in flight */
            return TVP_EWORKER;
        for (nfds_t i = 0; i < nfd; i++) {
            if (!p->pfd[i].revents) /* POLLHUP/POLLERR too: the read below sees the EOF */
                continue;
            int w = p->pfd_worker[i];
            struct posix_msg m;
            if ((err = posix_worker_recv(job, p, w, POSIX_MSG_CHUNK, &m, run))) {
                if (pool_recoverable(p, w, err))
                    continue;
                return err;
            }
            if ((err = feed_done(f, run, w, m.chunk)))
                return err;
            if (!p->w[w].gone && feed_take(f, &k) && (err = posix_chunk_send(job, p, w, k, run)) &&
                !pool_recoverable(p, w, err))
                return err;
        }
    }
    return 0;
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
            posix_status_text(status, why, sizeof why);
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
        posix_status_text(status[w], why, sizeof why);
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
    p->cmd_capacity = SIZE_MAX;
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

/* job->state of the map shape */
struct posix_map {
    struct posix_pool *pool;
    char *replied;        /* [workers]: this round's reply arrived */
    struct posix_feed feed;
};

static int posix_start(struct tvp_job *job, struct tvp_start *st)
{
    struct posix_map *s = calloc(1, sizeof *s);
    if (!s || !(s->replied = calloc((size_t)(job->workers > 0 ? job->workers : 1), 1))) {
        free(s);
        return TVP_ENOMEM;
    }
    int err = posix_pool_start(job, posix_child_main, NULL, st, &s->pool);
    /* under a task timeout the parent's writes must never block on a hung worker */
    for (int w = 0; !err && s->pool->timeout > 0 && w < s->pool->count; w++)
        if (fcntl(s->pool->w[w].cmd, F_SETFL, O_NONBLOCK) < 0)
            err = TVP_ESYS;
    if (err) {
        if (s->pool) {
            s->pool->broken = err;
            (void)posix_pool_destroy(s->pool);
        }
        free(s->replied);
        free(s);
        return err;
    }
    job->state = s;
    return 0;
}

/* The dynamic schedule's list for a new run. */
static int posix_feed_reset(struct tvp_job *job, struct posix_pool *p, struct posix_feed *f)
{
    f->total = tvp_chunk_count(job->n, job->chunk);
    f->next = f->done = f->pending = 0;
    f->nredo = 0;
    if (f->marked)
        memset(f->marked, 0, (size_t)f->total);
    if (p->recover && posix_dynamic(job) && posix_path_of(job) == POSIX_PATH_LOCAL && !f->held) {
        f->held = calloc((size_t)job->workers, sizeof *f->held);
        f->nheld = calloc((size_t)job->workers, sizeof *f->nheld);
        f->held_cap = calloc((size_t)job->workers, sizeof *f->held_cap);
        if (!f->held || !f->nheld || !f->held_cap)
            return TVP_ENOMEM;
    }
    for (int w = 0; f->nheld && w < job->workers; w++)
        f->nheld[w] = 0;
    return 0;
}

static int posix_run(struct tvp_job *job, struct tvp_run *run)
{
    struct posix_map *s = job->state;
    struct posix_pool *p = s ? s->pool : NULL;
    struct posix_feed *f = s ? &s->feed : NULL;
    double window = 0;
    int err;

    if (!p)
        return TVP_EWORKER;
    if (p->broken)
        return p->broken;
    run->t_startup = run->t_distribute = run->t_compute = run->t_collect = run->t_total = 0;
    run->bytes_moved = 0;
    run->peak_rss_kb = 0;
    for (int w = 0; w < p->count; w++) {
        p->w[w].restarts = 0;
        p->w[w].since = 0;
    }
    if ((err = posix_feed_reset(job, p, f)))
        return err;

    err = posix_pool_round_timed(job, p, POSIX_MSG_RUN, run, f, s->replied, &run->t_startup);
    if (posix_dynamic(job)) {
        /* with local data a worker lost while reporting takes its chunks' output with it:
         * they are done again, and the workers that did them report again */
        do {
            double t0 = tvp_now();
            if (!err)
                err = posix_pool_feed(job, p, run, f);
            window += tvp_now() - t0;
            run->peak_rss_kb = 0;
            if (!err) /* untimed */
                err = posix_pool_round(job, p, POSIX_MSG_REPORT, run, f, s->replied);
            for (int w = 0; !err && f->nheld && f->done == f->total && w < job->workers; w++)
                f->nheld[w] = 0; /* reported: their checksums are in job->pieces */
        } while (!err && f->done < f->total);
    } else {
        if (!err)
            err = posix_pool_round_timed(job, p, POSIX_MSG_INPUT, run, f, s->replied,
                                         &run->t_distribute);
        if (!err)
            err = posix_pool_round_timed(job, p, POSIX_MSG_COMPUTE, run, f, s->replied,
                                         &run->t_compute);
        if (!err)
            err = posix_pool_round_timed(job, p, POSIX_MSG_OUTPUT, run, f, s->replied,
                                         &run->t_collect);
        if (!err) /* untimed */
            err = posix_pool_round(job, p, POSIX_MSG_REPORT, run, f, s->replied);
    }
    if (err) {
        p->broken = err;
        return err;
    }
    if (posix_dynamic(job))
        tvp_run_dynamic(run, run->t_startup, window, run->t_distribute, run->t_collect);
    else
        tvp_run_static(run, run->t_startup, run->t_distribute, run->t_compute, run->t_collect);
    run->peak_rss_kb += tvp_peak_rss_kb();
    return 0;
}

static int posix_stop(struct tvp_job *job)
{
    struct posix_map *s = job->state;
    job->state = NULL;
    if (!s)
        return 0;
    int err = posix_pool_destroy(s->pool);
    feed_free(&s->feed, job->workers);
    free(s->replied);
    free(s);
    return err;
}

/* ---- probes (posix/probe.c, common/probe.h) ---- */
int posix_probe(const struct tvp_probe_ctx *ctx, const char *name, struct tvp_probe_sink *out);
/* ---- end probes ---- */

const struct tvp_backend tvp_backend_posix = {
    .name = "posix",
    .flags = TVP_BACKEND_IPC | TVP_BACKEND_STENCIL_STATIC,
    .alloc = posix_alloc,
    .release = posix_release,
    .start = posix_start,
    .run = posix_run,
    .stop = posix_stop,
    .stencil_start = posix_stencil_start,
    .stencil_run = posix_stencil_run,
    .stencil_stop = posix_stencil_stop,
    .table_start = posix_table_start,
    .table_run = posix_table_run,
    .table_stop = posix_table_stop,
    .probe = posix_probe, /* probes */
};
