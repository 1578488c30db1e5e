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
 * This file is the map shape and the pool; stencil.c runs the stencil shape and table.c
 * the table shape on the same pool and messages (posix.h). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
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

/* Creates worker w: its two pipes, then fork().  The child keeps only its own ends of the
 * pool's pipes and runs child(). */
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
        for (int i = 0; i < w; i++) { /* else a sibling's death would never read as EOF */
            close(p->w[i].cmd);
            close(p->w[i].res);
        }
        child(job, w, cmd[0], res[1], arg);
        _exit(POSIX_EXIT_PROTOCOL); /* a child main does not return */
    }
    close(cmd[0]);
    close(res[1]);
    p->w[w] = (struct posix_worker){.pid = pid, .cmd = cmd[1], .res = res[0]};
    p->count = w + 1;
    if (cap < p->cmd_capacity)
        p->cmd_capacity = cap;
    return 0;
}

/* Sends command m to worker w, with the input of its range when items travel by pipe. */
static int posix_worker_send(struct tvp_job *job, struct posix_pool *p, int w,
                             struct posix_msg *m, struct tvp_run *run)
{
    const void *payload = NULL;
    uint64_t b, e;
    int err;

    m->payload = 0;
    if (posix_path_of(job) == POSIX_PATH_PIPE && posix_msg_carries_input(m->type)) {
        if ((err = posix_msg_range(job, w, m, &b, &e)))
            return err;
        payload = (const char *)job->in + tvp_job_in_bytes(job, b);
        m->payload = tvp_job_in_bytes(job, e - b);
        run->bytes_moved += m->payload;
    }
    if (m->type == POSIX_MSG_CHUNK)
        p->w[w].inflight++;
    return posix_msg_send(p->w[w].cmd, m, payload);
}

/* What a reply tells the parent, besides its payload. */
static void posix_reply_note(struct tvp_job *job, struct posix_pool *p, int w,
                             const struct posix_msg *m, struct tvp_run *run)
{
    int local = posix_path_of(job) == POSIX_PATH_LOCAL;

    if (m->type == POSIX_MSG_CHUNK) {
        p->w[w].inflight--;
    } else if (m->type == POSIX_MSG_REPORT) {
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
    int err = posix_payload_recv(p->w[w].res, m, got, (size_t)m->payload);
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
    void *dst = NULL;
    size_t len = 0;
    uint64_t b, e;
    int err;

    if ((err = posix_msg_recv(p->w[w].res, m)))
        return err;
    if (m->err)
        return m->err < 0 ? m->err : TVP_EWORKER;
    if (m->type != type)
        return TVP_EWORKER;
    if (posix_path_of(job) == POSIX_PATH_PIPE && posix_msg_carries_output(type)) {
        if ((err = posix_msg_range(job, w, m, &b, &e)))
            return err;
        dst = (char *)job->out + tvp_job_out_bytes(job, b);
        len = tvp_job_out_bytes(job, e - b);
        run->bytes_moved += len;
    }
    if (type == POSIX_MSG_REPORT && posix_path_of(job) == POSIX_PATH_LOCAL && posix_dynamic(job))
        return posix_pieces_recv(job, p, w, m, run);
    if ((err = posix_payload_recv(p->w[w].res, m, dst, len)))
        return err;
    if (run)
        posix_reply_note(job, p, w, m, run);
    return 0;
}

/* One lockstep round: the command to every worker, then every worker's reply. */
static int posix_pool_round(struct tvp_job *job, struct posix_pool *p, uint32_t type,
                            struct tvp_run *run)
{
    struct posix_msg m;
    int err;

    for (int w = 0; w < p->count; w++) {
        m = (struct posix_msg){.type = type};
        if ((err = posix_worker_send(job, p, w, &m, run)))
            return err;
    }
    for (int w = 0; w < p->count; w++)
        if ((err = posix_worker_recv(job, p, w, type, &m, run)))
            return err;
    return 0;
}

static int posix_pool_round_timed(struct tvp_job *job, struct posix_pool *p, uint32_t type,
                                  struct tvp_run *run, double *t)
{
    double t0 = tvp_now();
    int err = posix_pool_round(job, p, type, run);
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
 * to whichever worker reports one done, until every chunk is done. */
static int posix_pool_feed(struct tvp_job *job, struct posix_pool *p, struct tvp_run *run)
{
    uint64_t total = tvp_chunk_count(job->n, job->chunk), next = 0, done = 0;
    int depth = posix_pool_depth(job, p), err;

    for (int d = 0; d < depth; d++)
        for (int w = 0; w < p->count && next < total; w++)
            if ((err = posix_chunk_send(job, p, w, next++, run)))
                return err;
    while (done < total) {
        nfds_t nfd = 0;
        for (int w = 0; w < p->count; w++) {
            if (p->w[w].inflight > 0) {
                p->pfd[nfd] = (struct pollfd){.fd = p->w[w].res, .events = POLLIN};
                p->pfd_worker[nfd++] = w;
            }
        }
        if (nfd == 0) /* cannot happen: chunks are left but none is in flight */
            return TVP_EWORKER;
        if (poll(p->pfd, nfd, -1) < 0) {
            if (errno == EINTR)
                continue;
            return TVP_ESYS;
        }
        for (nfds_t i = 0; i < nfd; i++) {
            if (!p->pfd[i].revents) /* POLLHUP/POLLERR too: the read below sees the EOF */
                continue;
            int w = p->pfd_worker[i];
            struct posix_msg m;
            if ((err = posix_worker_recv(job, p, w, POSIX_MSG_CHUNK, &m, run)))
                return err;
            done++;
            if (next < total && (err = posix_chunk_send(job, p, w, next++, run)))
                return err;
        }
    }
    return 0;
}

/* Ends every worker: EXIT when the pool is healthy; otherwise closing its pipes is
 * enough (it reads end of file or gets EPIPE and _exits).  Then reaps them all.  Returns
 * TVP_EWORKER when one did not exit with status 0. */
int posix_pool_destroy(struct posix_pool *p)
{
    int err = p->broken;

    /* a worker waiting at a shared barrier for one that died would never read the closed
     * pipes: those pools are ended by force once broken (our own children, by pid) */
    for (int w = 0; p->broken && p->kill_if_broken && w < p->count; w++)
        (void)kill(p->w[w].pid, SIGKILL);

    for (int w = 0; w < p->count; w++) {
        struct posix_msg m = {.type = POSIX_MSG_EXIT};
        if (!p->broken && posix_msg_send(p->w[w].cmd, &m, NULL) != 0)
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
        if (r < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != POSIX_EXIT_OK)
            err = err ? err : TVP_EWORKER;
    }
    free(p->w);
    free(p->pfd);
    free(p->pfd_worker);
    free(p);
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
    p->cmd_capacity = SIZE_MAX;
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

static int posix_start(struct tvp_job *job, struct tvp_start *st)
{
    struct posix_pool *p;
    int err = posix_pool_start(job, posix_child_main, NULL, st, &p);
    if (!err)
        job->state = p;
    return err;
}

static int posix_run(struct tvp_job *job, struct tvp_run *run)
{
    struct posix_pool *p = job->state;
    double window = 0;
    int err;

    if (!p)
        return TVP_EWORKER;
    if (p->broken)
        return p->broken;
    run->t_startup = run->t_distribute = run->t_compute = run->t_collect = run->t_total = 0;
    run->bytes_moved = 0;
    run->peak_rss_kb = 0;

    err = posix_pool_round_timed(job, p, POSIX_MSG_RUN, run, &run->t_startup);
    if (posix_dynamic(job)) {
        double t0 = tvp_now();
        if (!err)
            err = posix_pool_feed(job, p, run);
        window = tvp_now() - t0;
    } else {
        if (!err)
            err = posix_pool_round_timed(job, p, POSIX_MSG_INPUT, run, &run->t_distribute);
        if (!err)
            err = posix_pool_round_timed(job, p, POSIX_MSG_COMPUTE, run, &run->t_compute);
        if (!err)
            err = posix_pool_round_timed(job, p, POSIX_MSG_OUTPUT, run, &run->t_collect);
    }
    if (!err) /* untimed */
        err = posix_pool_round(job, p, POSIX_MSG_REPORT, run);
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
    struct posix_pool *p = job->state;
    job->state = NULL;
    return p ? posix_pool_destroy(p) : 0;
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
