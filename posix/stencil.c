/* The POSIX backend's stencil shape (the filter workload): the same pool of fork()ed
 * workers and the same messages as the map shape (posix.h), with static row blocks
 * always (TVP_BACKEND_STENCIL_STATIC).
 *
 * The first `active` = tvp_stencil_active(job) workers own the row blocks
 * tvp_partition(height, active, w); the others are forked too and answer every command
 * at once, so that every worker has a PU in the record.  A run is five lockstep rounds,
 * as in posix.c, each a command to every worker and then every reply (the replies are
 * poll()ed, so that a worker that dies is seen whichever it is):
 *
 *   RUN      startup; the worker zeroes its halo count
 *   INPUT    distribute.  data=scatter ipc=pipe: the command carries the owner's rows
 *            [b - max_halo, e + max_halo) (clamped) of the input; otherwise nothing
 *   COMPUTE  every pass.  The halo rows of each pass travel as described below
 *   OUTPUT   collect.  ipc=pipe: the reply carries the owner's output rows [b,e)
 *   REPORT   untimed: PU, peak RSS, halo bytes written, checksum of the block (local)
 *
 * Where the rows live:
 *
 * - data=scatter ipc=shm: job->in, job->out and a third grid, tmp, all MAP_SHARED and
 *   made before the fork, hold the whole image; every owner computes its rows of pass p
 *   from the shared grid p into the shared grid p+1, alternating buffers as
 *   common/inproc.c does (the last pass writes job->out), and waits at a process-shared
 *   barrier of the active workers between passes.  No halo is copied: halo_bytes = 0.
 *   A worker stuck at that barrier does not see closed pipes, so a broken pool is ended
 *   with SIGKILL (posix_pool.kill_if_broken) and the workers die with the parent
 *   (PR_SET_PDEATHSIG).
 * - otherwise each owner keeps private buffers of its block plus max_halo rows each side
 *   (rows [lo,hi)).  Before each pass p > 0 neighbours swap their halo[p] edge rows of
 *   grid p directly, child to child, through two pipes between w and w+1 made before the
 *   fork (pass 0's halo came with the input).  Both ends are non-blocking and one poll()
 *   loop moves the (up to) four transfers together, so halo rows larger than a pipe
 *   cannot deadlock.  data=local uses this path whatever --ipc says: each worker makes
 *   its own input rows in start (tvp_job_fill_rows), and its rows are its own, not in
 *   shared grids.
 *
 * A worker that dies is end of file (or POLLHUP) on its result pipe for the parent, and
 * end of file or EPIPE on the halo pipes for its neighbours, which then _exit too.  With
 * recovery on (--inject, --task-timeout: a round not answered within the timeout is a hung
 * worker) the parent then ends every worker, starts a new pool and runs the whole run again
 * (posix_pool_abandon, posix_stencil_run). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "posix.h"

/* the two pipes between neighbours w and w+1 */
struct stencil_link {
    int down[2]; /* w writes its last rows into down[1]; w+1 reads its top halo from down[0] */
    int up[2];   /* w+1 writes its first rows into up[1]; w reads its bottom halo from up[0] */
};

/* job->state: the parent's view (a forked worker inherits a copy) */
struct posix_stencil {
    struct posix_pool *pool;
    enum posix_path path;
    int active;                 /* workers that own rows */
    int nlinks;                 /* active - 1 with private rows, else 0 */
    struct stencil_link *links; /* [nlinks]; the parent closes its ends after the forks */
    size_t grid_bytes;          /* height * stride */
    void *tmp;                  /* shm: the third shared grid */
    pthread_barrier_t *barrier; /* shm, active > 1: in its own shared mapping */
    int barrier_ready;
    pid_t parent;
    char *replied;              /* [workers]: the reply of the current round arrived */
    uint32_t failed_round;      /* the round a run was in when it failed */
};

/* a worker's own state, in the child */
struct stencil_child {
    const struct tvp_job *job;
    struct posix_stencil *s;      /* the child's copy of the parent's */
    int index, owner;             /* owner: index < active */
    int cmd, res;
    uint32_t b, e;                /* its block */
    uint32_t lo, hi;              /* rows its private buffers hold (the block and halo) */
    struct tvp_rows in, tmp, out; /* grid 0, and the two a pass writes (see grid_dst) */
    void *bufs[3];                /* what it allocated */
    int from_above, to_above, from_below, to_below; /* halo pipe ends, -1 for none */
    uint64_t halo_bytes;          /* written to neighbours in the current run */
    long rss_base_kb;
    int pu;
};

static void stencil_block(const struct tvp_job *job, int active, int w, uint32_t *b, uint32_t *e)
{
    uint64_t b64, e64;
    tvp_partition(job->grid->height, active, w, &b64, &e64);
    *b = (uint32_t)b64, *e = (uint32_t)e64;
}

/* The rows [lo,hi) an owner's private buffers hold: its block and max_halo rows each side,
 * clamped to the image. */
static void stencil_span(const struct tvp_job *job, uint32_t b, uint32_t e, uint32_t *lo,
                         uint32_t *hi)
{
    uint32_t h = (uint32_t)job->grid->max_halo, height = job->grid->height;
    *lo = b > h ? b - h : 0;
    *hi = height - e > h ? e + h : height;
}

static int io_err(void)
{
    return errno == EPIPE ? TVP_EWORKER : TVP_ESYS;
}

/* Rows [b,e) of r, row_bytes each, to fd back to back: one write when they are contiguous. */
static int rows_write(int fd, const struct tvp_rows *r, uint32_t b, uint32_t e, size_t row_bytes)
{
    if (b >= e || row_bytes == 0)
        return 0;
    if (r->stride == row_bytes)
        return tvp_write_full(fd, tvp_rows_at(r, b), (size_t)(e - b) * row_bytes) ? io_err() : 0;
    for (uint32_t y = b; y < e; y++)
        if (tvp_write_full(fd, tvp_rows_at(r, y), row_bytes))
            return io_err();
    return 0;
}

/* The payload after header m, which must be rows [b,e) of row_bytes each, into r. */
static int rows_read(int fd, const struct posix_msg *m, const struct tvp_rows *r, uint32_t b,
                     uint32_t e, size_t row_bytes)
{
    size_t len = b < e ? (size_t)(e - b) * row_bytes : 0;
    if (m->payload != len)
        return TVP_EWORKER;
    if (len == 0)
        return 0;
    int contiguous = r->stride == row_bytes;
    for (uint32_t y = b; y < e; y++) {
        size_t n = contiguous ? len : row_bytes;
        ssize_t got = tvp_read_full(fd, tvp_rows_at(r, y), n);
        if (got < 0)
            return TVP_ESYS;
        if ((size_t)got != n)
            return TVP_EWORKER;
        if (contiguous)
            break;
    }
    return 0;
}

/* Header m announcing rows [b,e) of r, then the rows. */
static int rows_send(int fd, struct posix_msg *m, const struct tvp_rows *r, uint32_t b, uint32_t e,
                     size_t row_bytes)
{
    m->payload = b < e ? (uint64_t)(e - b) * row_bytes : 0;
    if (tvp_write_full(fd, m, sizeof *m))
        return io_err();
    return rows_write(fd, r, b, e, row_bytes);
}

/* ---- the worker (child side) --------------------------------------------------------- */

/* The grid pass p writes: out when (last - p) is even, else tmp, so that the last pass
 * writes out; pass p reads grid p, which is in for p = 0 and what pass p-1 wrote after. */
static const struct tvp_rows *grid_dst(const struct stencil_child *c, int p)
{
    return (c->job->grid->npasses - 1 - p) % 2 == 0 ? &c->out : &c->tmp;
}

static const struct tvp_rows *grid_src(const struct stencil_child *c, int p)
{
    return p == 0 ? &c->in : grid_dst(c, p - 1);
}

static struct tvp_rows whole(const struct tvp_job *job, void *buf)
{
    return (struct tvp_rows){buf, job->grid->stride, 0, job->grid->height};
}

/* Pins the worker, then (an owner with private rows) allocates and touches its buffers
 * and, with local data, makes its input rows. */
static int stencil_child_setup(struct stencil_child *c, double *t_touch)
{
    const struct tvp_job *job = c->job;
    const struct tvp_grid *g = job->grid;
    int err = tvp_pin_process(job->topo, job->pu_plan ? job->pu_plan[c->index] : -1);
    if (err)
        return err;
    double t0 = tvp_now();
    if (c->owner && c->s->path == POSIX_PATH_SHM) {
        c->in = whole(job, job->in);
        c->tmp = whole(job, c->s->tmp);
        c->out = whole(job, job->out);
    } else if (c->owner) {
        size_t bytes = (size_t)(c->hi - c->lo) * g->stride;
        /* with pipe data the input comes again every run, so it can share a buffer with
         * the grid that pass 0 does not write and pass 1 writes at the earliest; local
         * input is made once and must stay */
        int nbufs = c->s->path == POSIX_PATH_LOCAL ? 3 : 2;
        for (int i = 0; i < nbufs; i++)
            if (!(c->bufs[i] = tvp_alloc_touched(bytes)))
                return TVP_ENOMEM;
        c->tmp = (struct tvp_rows){c->bufs[0], g->stride, c->lo, c->hi - c->lo};
        c->out = c->tmp, c->out.data = c->bufs[1];
        if (nbufs == 3)
            c->in = c->tmp, c->in.data = c->bufs[2];
        else /* npasses odd: pass 0 writes out, 1 tmp; even: 0 writes tmp, 1 out */
            c->in = g->npasses % 2 ? c->tmp : c->out;
        if (c->s->path == POSIX_PATH_LOCAL)
            tvp_job_fill_rows(job, c->lo, c->hi, &c->in);
    }
    *t_touch = tvp_now() - t0;
    c->pu = tvp_pin_last_pu(job->topo);
    return 0;
}

/* One direction of a halo swap: rows of `row_bytes` bytes, `stride` apart from base,
 * moved through a non-blocking pipe end a piece at a time. */
struct xfer {
    int fd, writing;
    uint8_t *base;
    size_t row_bytes, stride, total, done;
};

/* Moves what the pipe takes (or has) now: 1 if something moved, 0 if it would block. */
static int xfer_step(struct xfer *x)
{
    size_t row = x->done / x->row_bytes, off = x->done % x->row_bytes;
    uint8_t *at = x->base + row * x->stride + off;
    size_t len = x->stride == x->row_bytes ? x->total - x->done : x->row_bytes - off;
    ssize_t n = x->writing ? write(x->fd, at, len) : read(x->fd, at, len);
    if (n > 0) {
        x->done += (size_t)n;
        return 1;
    }
    if (n == 0) /* read: the neighbour is gone; write: cannot happen with len > 0 */
        return TVP_EWORKER;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
        return 0;
    return io_err();
}

static struct xfer xfer_rows(int fd, int writing, const struct tvp_rows *r, uint32_t b,
                             uint32_t rows, size_t row_bytes)
{
    return (struct xfer){fd, writing, tvp_rows_at(r, b), row_bytes, r->stride,
                         (size_t)rows * row_bytes, 0};
}

/* Before pass p: the halo[p] edge rows of grid p (in src) to both neighbours, and theirs
 * into src's halo rows.  All four transfers move together: whatever a pipe takes or has,
 * then poll() when none can move. */
static int stencil_exchange(struct stencil_child *c, const struct tvp_rows *src, int p)
{
    const struct tvp_grid *g = c->job->grid;
    uint32_t h = (uint32_t)g->halo[p];
    size_t rb = tvp_grid_row_bytes(g, p);
    struct xfer x[4];
    int n = 0;

    if (h == 0 || rb == 0)
        return 0;
    /* every block is at least max_halo rows (tvp_stencil_active), so [b, b+h) and [e-h, e)
     * are this worker's own rows and the neighbours' are inside the image */
    if (c->to_above >= 0) {
        x[n++] = xfer_rows(c->to_above, 1, src, c->b, h, rb);
        x[n++] = xfer_rows(c->from_above, 0, src, c->b - h, h, rb);
    }
    if (c->to_below >= 0) {
        x[n++] = xfer_rows(c->to_below, 1, src, c->e - h, h, rb);
        x[n++] = xfer_rows(c->from_below, 0, src, c->e, h, rb);
    }
    for (;;) {
        struct pollfd pfd[4];
        int pending = 0, moved = 0;
        for (int i = 0; i < n; i++) {
            if (x[i].done == x[i].total)
                continue;
            int r = xfer_step(&x[i]);
            if (r < 0)
                return r;
            moved |= r;
            if (x[i].done < x[i].total)
                pfd[pending++] = (struct pollfd){x[i].fd, x[i].writing ? POLLOUT : POLLIN, 0};
        }
        if (!pending)
            break;
        if (moved)
            continue; /* try again before sleeping */
        /* POLLHUP/POLLERR/POLLNVAL wake it too: the next step sees them */
        if (poll(pfd, (nfds_t)pending, -1) < 0 && errno != EINTR)
            return TVP_ESYS;
    }
    for (int i = 0; i < n; i++)
        if (x[i].writing)
            c->halo_bytes += x[i].total;
    return 0;
}

/* Every pass over the worker's block. */
static int stencil_compute(struct stencil_child *c)
{
    const struct tvp_job *job = c->job;
    const struct tvp_grid *g = job->grid;
    int shm = c->s->path == POSIX_PATH_SHM, err;

    for (int p = 0; p < g->npasses; p++) {
        const struct tvp_rows *src = grid_src(c, p), *dst = grid_dst(c, p);
        if (!shm && p > 0 && (err = stencil_exchange(c, src, p)))
            return err;
        tvp_job_pass(job, p, src, dst, c->b, c->e);
        /* the next pass reads what the neighbours wrote in this one, and then writes the
         * grid this one read: everybody must be done */
        if (shm && p < g->npasses - 1 && c->s->barrier) {
            int r = pthread_barrier_wait(c->s->barrier);
            if (r != 0 && r != PTHREAD_BARRIER_SERIAL_THREAD)
                return TVP_ESYS;
        }
    }
    return 0;
}

/* Does what command m asks and answers with a reply of the same type. */
static int stencil_child_serve(struct stencil_child *c, struct posix_msg *m)
{
    const struct tvp_job *job = c->job;
    const struct tvp_grid *g = job->grid;
    int pipe_data = c->owner && c->s->path == POSIX_PATH_PIPE, err;

    if (m->payload != 0 && !(pipe_data && m->type == POSIX_MSG_INPUT))
        return TVP_EWORKER; /* only INPUT carries rows, and only to pipe owners */
    switch (m->type) {
    case POSIX_MSG_RUN:
        c->halo_bytes = 0;
        tvp_inject_run(m->chunk != 0); /* RUN says whether the run is a timed one */
        break;
    case POSIX_MSG_INPUT:
        if (pipe_data) {
            if ((err = rows_read(c->cmd, m, &c->in, c->lo, c->hi, tvp_grid_row_bytes(g, 0))))
                return err;
        }
        break;
    case POSIX_MSG_COMPUTE:
        if (c->owner && (err = stencil_compute(c)))
            return err;
        c->pu = tvp_pin_last_pu(job->topo);
        break;
    case POSIX_MSG_OUTPUT:
        if (pipe_data) {
            struct posix_msg r = {.type = POSIX_MSG_OUTPUT};
            return rows_send(c->res, &r, &c->out, c->b, c->e, tvp_grid_row_bytes(g, g->npasses));
        }
        break;
    case POSIX_MSG_REPORT:
        break;
    default:
        return TVP_EWORKER;
    }
    struct posix_msg r = {.type = m->type};
    if (m->type == POSIX_MSG_REPORT) {
        if (c->owner && c->s->path == POSIX_PATH_LOCAL)
            r.sum = tvp_job_rows_checksum(job, &c->out, c->b, c->e);
        r.pu = c->pu;
        long rss = tvp_peak_rss_kb() - c->rss_base_kb;
        r.rss_kb = rss > 0 ? rss : 0;
        r.halo_bytes = c->halo_bytes;
    }
    return posix_msg_send(c->res, &r, NULL);
}

/* Keeps worker w's ends of its halo pipes (non-blocking) and closes every other one, so
 * that a neighbour's death reads as end of file or EPIPE. */
static void stencil_child_links(struct stencil_child *c)
{
    struct posix_stencil *s = c->s;
    int w = c->index;
    c->from_above = c->to_above = c->from_below = c->to_below = -1;
    for (int i = 0; i < s->nlinks; i++) {
        struct stencil_link *l = &s->links[i];
        if (i == w - 1) { /* w is below link i */
            c->from_above = l->down[0], l->down[0] = -1;
            c->to_above = l->up[1], l->up[1] = -1;
        } else if (i == w) { /* w is above link i */
            c->to_below = l->down[1], l->down[1] = -1;
            c->from_below = l->up[0], l->up[0] = -1;
        }
        for (int k = 0; k < 2; k++) {
            posix_fd_close(&l->down[k]);
            posix_fd_close(&l->up[k]);
        }
    }
}

static int stencil_child_serve_any(void *c, struct posix_msg *m)
{
    return stencil_child_serve(c, m);
}

/* The life of worker w after fork() (a posix_child_fn): never returns. */
static void stencil_child_main(const struct tvp_job *job, int w, int cmd, int res, void *arg)
{
    struct posix_stencil *s = arg;
    struct stencil_child c = {.job = job,
                              .s = s,
                              .index = w,
                              .owner = w < s->active,
                              .cmd = cmd,
                              .res = res,
                              .pu = -1,
                              .rss_base_kb = tvp_peak_rss_kb()};

    stencil_child_links(&c);
    /* shm: a worker waiting at the barrier reads no pipe, so it would outlive a parent
     * that died; the kernel ends it instead */
    if (s->path == POSIX_PATH_SHM &&
        (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != s->parent))
        _exit(POSIX_EXIT_SETUP);
    if (c.owner) {
        stencil_block(job, s->active, w, &c.b, &c.e);
        stencil_span(job, c.b, c.e, &c.lo, &c.hi);
    }
    double t_touch = 0;
    int err = stencil_child_setup(&c, &t_touch);
    posix_child_loop(cmd, res, err, t_touch, stencil_child_serve_any, &c);
}

/* ---- the parent -------------------------------------------------------------------- */

/* Command `type` to worker w: with pipe data, INPUT carries its rows and their halo. */
static int stencil_send(struct tvp_job *job, struct posix_stencil *s, int w, uint32_t type,
                        struct tvp_run *run)
{
    struct posix_msg m = {.type = type, .chunk = type == POSIX_MSG_RUN ? (uint64_t)job->timed : 0};
    int fd = s->pool->w[w].cmd;
    s->pool->w[w].sent = tvp_now(); /* --task-timeout counts from here */
    if (type == POSIX_MSG_INPUT && s->path == POSIX_PATH_PIPE && w < s->active) {
        uint32_t b, e, lo, hi;
        size_t rb = tvp_grid_row_bytes(job->grid, 0);
        stencil_block(job, s->active, w, &b, &e);
        stencil_span(job, b, e, &lo, &hi);
        struct tvp_rows in = whole(job, job->in);
        run->bytes_moved += (uint64_t)(hi - lo) * rb;
        return rows_send(fd, &m, &in, lo, hi, rb);
    }
    return posix_msg_send(fd, &m, NULL);
}

/* Worker w's reply to `type`, with what it carries. */
static int stencil_recv(struct tvp_job *job, struct posix_stencil *s, int w, uint32_t type,
                        struct tvp_run *run)
{
    const struct tvp_grid *g = job->grid;
    int fd = s->pool->w[w].res, err;
    struct posix_msg m;

    if ((err = posix_msg_recv(fd, &m)))
        return err;
    if (m.err)
        return m.err < 0 ? m.err : TVP_EWORKER;
    if (m.type != type)
        return TVP_EWORKER;
    if (type == POSIX_MSG_OUTPUT && s->path == POSIX_PATH_PIPE && w < s->active) {
        uint32_t b, e;
        size_t rb = tvp_grid_row_bytes(g, g->npasses);
        stencil_block(job, s->active, w, &b, &e);
        struct tvp_rows out = whole(job, job->out);
        if ((err = rows_read(fd, &m, &out, b, e, rb)))
            return err;
        run->bytes_moved += (uint64_t)(e - b) * rb;
        return 0;
    }
    if ((err = posix_payload_recv(fd, &m, NULL, 0)))
        return err;
    if (type == POSIX_MSG_REPORT) {
        run->pu[w] = m.pu;
        run->peak_rss_kb += (long)m.rss_kb;
        run->halo_bytes += m.halo_bytes;
        if (s->path == POSIX_PATH_LOCAL && w < s->active && (uint64_t)w < job->npieces)
            job->pieces[w] = m.sum;
    }
    return 0;
}

/* One lockstep round: the command to every worker, then every reply, in the order they
 * come (poll()), so that a dead worker is noticed even while the others wait for it. */
static int stencil_round(struct tvp_job *job, struct posix_stencil *s, uint32_t type,
                         struct tvp_run *run)
{
    struct posix_pool *p = s->pool;
    int err, left = p->count;

    s->failed_round = type;
    for (int w = 0; w < p->count; w++)
        s->replied[w] = 0;
    for (int w = 0; w < p->count; w++) {
        if ((err = stencil_send(job, s, w, type, run))) {
            p->w[w].gone = err == TVP_EWORKER; /* EPIPE: it is dead */
            return err;
        }
    }
    while (left > 0) {
        nfds_t nfd;
        if ((err = posix_pool_poll(p, s->replied, &nfd))) /* TVP_EWORKER: hung, past the timeout */
            return err;
        for (nfds_t i = 0; i < nfd; i++) {
            if (!p->pfd[i].revents) /* POLLHUP/POLLERR too: the read sees the end of file */
                continue;
            int w = p->pfd_worker[i];
            if ((err = stencil_recv(job, s, w, type, run))) {
                p->w[w].gone = err == TVP_EWORKER; /* end of file, or a broken reply */
                return err;
            }
            s->replied[w] = 1;
            left--;
        }
    }
    return 0;
}

static int stencil_round_timed(struct tvp_job *job, struct posix_stencil *s, uint32_t type,
                               struct tvp_run *run, double *t)
{
    double t0 = tvp_now();
    int err = stencil_round(job, s, type, run);
    *t = tvp_now() - t0;
    return err;
}

/* Everything but the pool (reaped before: no worker uses the barrier any more).
 * pthread_barrier_destroy waits for every process that entered the barrier to leave it,
 * which one killed inside never does: after a broken run (clean = 0) it is only unmapped. */
static void stencil_free(struct posix_stencil *s, int clean)
{
    for (int i = 0; s->links && i < s->nlinks; i++)
        for (int k = 0; k < 2; k++) {
            posix_fd_close(&s->links[i].down[k]);
            posix_fd_close(&s->links[i].up[k]);
        }
    free(s->links);
    if (s->barrier_ready && clean)
        pthread_barrier_destroy(s->barrier);
    if (s->barrier)
        munmap(s->barrier, sizeof *s->barrier);
    if (s->tmp)
        munmap(s->tmp, s->grid_bytes ? s->grid_bytes : 1);
    free(s->replied);
    free(s);
}

static void *shared_map(size_t bytes)
{
    void *a = mmap(NULL, bytes ? bytes : 1, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                   -1, 0);
    return a == MAP_FAILED ? NULL : a;
}

/* The shared tmp grid and the barrier (shm), or the halo pipes (private rows). */
static int stencil_prepare(struct posix_stencil *s)
{
    if (s->path == POSIX_PATH_SHM) {
        if (!(s->tmp = shared_map(s->grid_bytes)))
            return TVP_ENOMEM;
        memset(s->tmp, 0, s->grid_bytes); /* its page faults here, not in a timed pass */
        if (s->active < 2)
            return 0;
        if (!(s->barrier = shared_map(sizeof *s->barrier)))
            return TVP_ENOMEM;
        pthread_barrierattr_t attr;
        if (pthread_barrierattr_init(&attr) != 0)
            return TVP_ESYS;
        int rc = pthread_barrierattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
        if (rc == 0)
            rc = pthread_barrier_init(s->barrier, &attr, (unsigned)s->active);
        pthread_barrierattr_destroy(&attr);
        if (rc != 0)
            return TVP_ESYS;
        s->barrier_ready = 1;
        return 0;
    }
    s->nlinks = s->active - 1;
    if (s->nlinks == 0)
        return 0;
    if (!(s->links = calloc((size_t)s->nlinks, sizeof *s->links)))
        return TVP_ENOMEM;
    for (int i = 0; i < s->nlinks; i++)
        s->links[i] = (struct stencil_link){{-1, -1}, {-1, -1}};
    for (int i = 0; i < s->nlinks; i++) {
        struct stencil_link *l = &s->links[i];
        size_t cap;
        if (posix_pipe_open(l->down, &cap) || posix_pipe_open(l->up, &cap))
            return TVP_ESYS;
        for (int k = 0; k < 2; k++) /* the open file descriptions the workers inherit */
            if (fcntl(l->down[k], F_SETFL, O_NONBLOCK) < 0 || fcntl(l->up[k], F_SETFL, O_NONBLOCK) < 0)
                return TVP_ESYS;
    }
    return 0;
}

int posix_stencil_start(struct tvp_job *job, struct tvp_start *st)
{
    struct posix_stencil *s = calloc(1, sizeof *s);
    int err;

    if (!s)
        return TVP_ENOMEM;
    if (job->workers < 1) {
        free(s);
        return TVP_EUSAGE;
    }
    s->path = posix_path_of(job);
    s->active = tvp_stencil_active(job);
    s->grid_bytes = (size_t)job->grid->height * job->grid->stride;
    s->parent = getpid();
    if (!(s->replied = calloc((size_t)job->workers, 1)))
        err = TVP_ENOMEM;
    else
        err = stencil_prepare(s);
    if (!err)
        err = posix_pool_start(job, stencil_child_main, s, st, &s->pool);
    /* the workers have their halo pipe ends: the parent's copies would keep a dead
     * worker's neighbours from seeing end of file */
    for (int i = 0; s->links && i < s->nlinks; i++)
        for (int k = 0; k < 2; k++) {
            posix_fd_close(&s->links[i].down[k]);
            posix_fd_close(&s->links[i].up[k]);
        }
    if (err) {
        stencil_free(s, 1); /* the workers never reached the barrier */
        return err;
    }
    s->pool->kill_if_broken = s->path == POSIX_PATH_SHM;
    job->state = s;
    return 0;
}

/* One attempt at a run: five lockstep rounds. */
static int stencil_run_once(struct tvp_job *job, struct tvp_run *run, double t[4], int *failed)
{
    struct posix_stencil *s = job->state;
    int err = 0;
    (void)failed; /* every failure here is the run's: the pool is restarted or broken */
    run->bytes_moved = run->halo_bytes = 0;
    run->peak_rss_kb = 0;
    static const uint32_t timed[4] = {POSIX_MSG_RUN, POSIX_MSG_INPUT, POSIX_MSG_COMPUTE,
                                      POSIX_MSG_OUTPUT};
    for (int i = 0; i < 4 && !err; i++)
        err = stencil_round_timed(job, s, timed[i], run, &t[i]);
    if (!err) /* untimed */
        err = stencil_round(job, s, POSIX_MSG_REPORT, run);
    return err;
}

static const char *stencil_round_name(uint32_t type)
{
    switch (type) {
    case POSIX_MSG_RUN: return "at the start of a run";
    case POSIX_MSG_INPUT: return "while its rows came in";
    case POSIX_MSG_COMPUTE: return "during the passes";
    case POSIX_MSG_OUTPUT: return "while its rows went back";
    default: return "while reporting";
    }
}

static struct posix_pool **stencil_pool(struct tvp_job *job, const char **replied,
                                        const char **during)
{
    struct posix_stencil *s = job->state;
    if (replied)
        *replied = s->replied;
    if (during)
        *during = stencil_round_name(s->failed_round);
    return &s->pool;
}

static void stencil_drop(struct tvp_job *job, int clean)
{
    stencil_free(job->state, clean); /* a barrier a worker died in is only unmapped */
    job->state = NULL;
}

static const struct posix_shape stencil_shape = {stencil_run_once, stencil_pool, stencil_drop,
                                                 posix_stencil_start};

/* A worker lost mid-run takes its rows' state with it and its neighbours wait for its halo
 * rows (or at the shared barrier): with recovery on (--inject, --task-timeout) every worker
 * is ended, a new pool is started and the whole run is run again (a run-level retry,
 * posix_shape_run).  The row then has the retried run's phases, t_total with the lost time
 * added. */
int posix_stencil_run(struct tvp_job *job, struct tvp_run *run)
{
    return posix_shape_run(job, run, &stencil_shape);
}

int posix_stencil_stop(struct tvp_job *job)
{
    return posix_shape_stop(job, &stencil_shape);
}
