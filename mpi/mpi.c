/* The MPI backend: one worker per rank of MPI_COMM_WORLD.
 *
 * Every hook runs on every rank, collectively; rank 0 is the root.  Timing follows the
 * ParRes Kernels' MPI1 versions: a barrier before each phase, each rank times the phase
 * with tvp_now() alone, and the root keeps the maximum over ranks.
 *
 * Static schedule: rank r owns block tvp_partition(n, size, r).  Scatter data moves with
 * MPI_Scatterv / MPI_Gatherv; the root works on its own block in place in job->in/out
 * (MPI_IN_PLACE), so only the other ranks' items cross between processes.
 *
 * Dynamic schedule, master/worker: a worker sends a request that carries the result of
 * the chunk it last did (scatter: the output items; local: nothing, the worker keeps its
 * output; nothing the first time) and gets back the next chunk's number (NO_CHUNK: stop),
 * followed in scatter mode by that chunk's input items.  With local data, after the
 * window and untimed, every rank sends the root the checksum of each chunk it kept.  The
 * root answers requests and, whenever none is pending, computes the next chunk itself, so
 * one rank does everything and two ranks keep two cores busy.  The root knows which chunk
 * each worker holds, so results are received straight into job->out / job->pieces.
 * Distribute and collect count the time each rank spends moving or making data (the root:
 * serving requests, and its own chunks' input); a worker's wait for the root's attention
 * is in neither, so it is part of the compute rest of the window.
 *
 * Stencil workloads (filter) are in stencil.c: static row blocks whatever the schedule,
 * halo rows exchanged between neighbouring ranks before every pass.  Table workloads
 * (labelencode) are in table.c: a part of the records per rank, the label sets merged at
 * the root.
 *
 * Messages never exceed TVP_MPI_MSG_MAX bytes (larger transfers go in pieces, in order)
 * and counts are in items of a contiguous datatype, so no count overflows an int.  When a
 * transfer fails a peer may be stuck in a matching call, so the backend marks itself
 * broken: agree() then answers without communicating and fini() calls MPI_Abort. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tvp_mpi.h"

#define NO_CHUNK UINT64_MAX

/* The life of the MPI runtime in this process, for the hooks that get no job. */
static struct {
    int up;     /* MPI_Init succeeded */
    int broken; /* a transfer failed: peers may be waiting in a matching call */
} mpi_life;

/* local dynamic, after the window: which chunk, and the checksum of its output */
struct mpi_piece {
    uint64_t k;
    struct tvp_checksum sum;
};

/* ---- errors ----------------------------------------------------------------------- */

/* A failed call that only concerns this process (no peer waits on it). */
int mpi_local_err(int rc)
{
    int cls = MPI_ERR_OTHER;
    if (rc == MPI_SUCCESS)
        return TVP_OK;
    MPI_Error_class(rc, &cls);
    return cls == MPI_ERR_NO_MEM ? TVP_ENOMEM : TVP_ESYS;
}

/* A failed transfer or collective: peers may be stuck, so no more communication. */
int mpi_comm_err(int rc)
{
    if (rc == MPI_SUCCESS)
        return TVP_OK;
    mpi_life.broken = 1;
    return TVP_EWORKER;
}

int mpi_barrier_wait(void) { return mpi_comm_err(MPI_Barrier(MPI_COMM_WORLD)); }

/* ---- init / agree / fini ---------------------------------------------------------- */

static void mpi_transport_describe(char *buf, size_t len)
{
    static const char *const keys[] = {"pml", "btl"};
    size_t used = 0;
    buf[0] = 0;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        char var[32];
        snprintf(var, sizeof var, "OMPI_MCA_%s", keys[i]);
        const char *v = getenv(var);
        if (v && *v && used < len)
            used +=
                (size_t)snprintf(buf + used, len - used, "%s%s=%s", used ? " " : "", keys[i], v);
    }
    if (!buf[0])
        snprintf(buf, len, "default");
}

static int mpi_world_init(int *argc, char ***argv, struct tvp_world *w)
{
    double t = tvp_now();
    if (MPI_Init(argc, argv) != MPI_SUCCESS)
        return TVP_ESYS;
    double mine = tvp_now() - t;
    mpi_life.up = 1;
    MPI_Comm node = MPI_COMM_NULL;
    int rc = MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    if (rc == MPI_SUCCESS)
        rc = MPI_Comm_rank(MPI_COMM_WORLD, &w->rank);
    if (rc == MPI_SUCCESS)
        rc = MPI_Comm_size(MPI_COMM_WORLD, &w->size);
    if (rc == MPI_SUCCESS)
        rc = MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
    if (rc == MPI_SUCCESS)
        rc = MPI_Comm_rank(node, &w->local_rank);
    if (rc == MPI_SUCCESS)
        rc = MPI_Comm_size(node, &w->local_size);
    if (node != MPI_COMM_NULL)
        MPI_Comm_free(&node);
    if (rc == MPI_SUCCESS)
        rc = MPI_Allreduce(&mine, &w->t_init, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    mpi_transport_describe(w->transport, sizeof w->transport);
    return rc == MPI_SUCCESS ? TVP_OK : mpi_comm_err(rc);
}

int mpi_errors_agree(int err)
{
    int worst = err;
    if (!mpi_life.up)
        return err;
    if (mpi_life.broken) /* no collective now: the others may be stuck elsewhere */
        return err ? err : TVP_EWORKER;
    if (MPI_Allreduce(&err, &worst, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD) != MPI_SUCCESS)
        return mpi_comm_err(MPI_ERR_OTHER);
    return worst;
}

static int mpi_root_share(void *buf, size_t bytes)
{
    if (!mpi_life.up)
        return TVP_OK;
    if (mpi_life.broken || bytes > INT_MAX)
        return TVP_EWORKER;
    return mpi_comm_err(MPI_Bcast(buf, (int)bytes, MPI_BYTE, 0, MPI_COMM_WORLD));
}

static void mpi_world_fini(int err)
{
    int done = 0;
    if (!mpi_life.up || MPI_Finalized(&done) != MPI_SUCCESS || done)
        return;
    if (mpi_life.broken)
        MPI_Abort(MPI_COMM_WORLD, tvp_exit_code(err ? err : TVP_EWORKER));
    MPI_Finalize();
}

/* ---- transfers -------------------------------------------------------------------- */

static void *mpi_item_at(void *base, uint64_t i, size_t size)
{
    return (char *)base + (size_t)i * size;
}

static int mpi_lane_open(struct mpi_lane *l, size_t size)
{
    l->size = size;
    l->max_items = TVP_MPI_MSG_MAX / size ? TVP_MPI_MSG_MAX / size : 1;
    if (l->max_items > INT_MAX)
        l->max_items = INT_MAX;
    int rc = MPI_Type_contiguous((int)size, MPI_BYTE, &l->type);
    if (rc == MPI_SUCCESS)
        rc = MPI_Type_commit(&l->type);
    return mpi_local_err(rc);
}

static void mpi_lane_close(struct mpi_lane *l)
{
    if (l->type != MPI_DATATYPE_NULL)
        MPI_Type_free(&l->type);
}

/* Sends or receives `items` items as one or more messages; always at least one, so an
 * empty transfer still makes a message (a request with no result in it).  With `posted`
 * NULL it returns when done; otherwise it only starts the transfers and leaves one
 * request per message there, for MPI_Waitall. */
int mpi_items_move(int send, void *buf, uint64_t items, const struct mpi_lane *l, int peer,
                   int tag, MPI_Request *posted)
{
    do {
        uint64_t c = items < l->max_items ? items : l->max_items;
        int rc;
        if (posted)
            rc = send ? MPI_Isend(buf, (int)c, l->type, peer, tag, MPI_COMM_WORLD, posted++)
                      : MPI_Irecv(buf, (int)c, l->type, peer, tag, MPI_COMM_WORLD, posted++);
        else
            rc = send
                     ? MPI_Send(buf, (int)c, l->type, peer, tag, MPI_COMM_WORLD)
                     : MPI_Recv(buf, (int)c, l->type, peer, tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        if (rc != MPI_SUCCESS)
            return mpi_comm_err(rc);
        if (c)
            buf = mpi_item_at(buf, c, l->size);
        items -= c;
    } while (items > 0);
    return TVP_OK;
}

/* Static scatter mode: every rank's block from the root (gather = 0) or back to it.  The
 * root's own block stays where it is. */
static int mpi_blocks_move(struct tvp_job *job, struct mpi_state *s, int gather)
{
    const struct mpi_lane *l = gather ? &s->lane_out : &s->lane_in;
    void *whole = gather ? job->out : job->in, *own = gather ? s->out : s->in;
    int root = s->rank == 0, rc = MPI_SUCCESS;
    if (s->collective && gather)
        rc = MPI_Gatherv(root ? MPI_IN_PLACE : own, (int)(s->e - s->b), l->type, whole, s->counts,
                         s->displs, l->type, 0, MPI_COMM_WORLD);
    else if (s->collective)
        rc = MPI_Scatterv(whole, s->counts, s->displs, l->type, root ? MPI_IN_PLACE : own,
                          (int)(s->e - s->b), l->type, 0, MPI_COMM_WORLD);
    if (s->collective)
        return mpi_comm_err(rc);
    if (!root)
        return mpi_items_move(gather, own, s->e - s->b, l, 0, TAG_BLOCK, NULL);
    for (int r = 1; r < s->size; r++) {
        uint64_t b, e;
        tvp_partition(job->n, s->size, r, &b, &e);
        rc = mpi_items_move(!gather, mpi_item_at(whole, b, l->size), e - b, l, r, TAG_BLOCK, NULL);
        if (rc)
            return rc;
    }
    return TVP_OK;
}

/* ---- start / stop ----------------------------------------------------------------- */

void mpi_state_close(struct mpi_state *s)
{
    if (!s)
        return;
    mpi_stencil_close(s->stencil);
    mpi_table_close(s->table);
    tvp_free(s->in);
    tvp_free(s->out);
    tvp_chunk_store_free(&s->kept);
    mpi_lane_close(&s->lane_in);
    mpi_lane_close(&s->lane_out);
    free(s->counts);
    free(s->displs);
    free(s->owed);
    free(s->sending);
    free(s->reports);
    free(s);
}

/* The root's bookkeeping: reports, block table (static scatter), chunk owners. */
static int mpi_root_open(struct tvp_job *job, struct mpi_state *s)
{
    size_t size = (size_t)s->size;
    s->reports = calloc(size, sizeof *s->reports);
    if (!s->reports)
        return TVP_ENOMEM;
    if (s->dynamic) {
        s->owed = calloc(size, sizeof *s->owed);
        return s->owed ? TVP_OK : TVP_ENOMEM;
    }
    if (!s->collective)
        return TVP_OK;
    s->counts = calloc(size, sizeof *s->counts);
    s->displs = calloc(size, sizeof *s->displs);
    if (!s->counts || !s->displs)
        return TVP_ENOMEM;
    for (int r = 0; r < s->size; r++) {
        uint64_t b, e;
        tvp_partition(job->n, s->size, r, &b, &e);
        s->counts[r] = (int)(e - b);
        s->displs[r] = (int)b;
    }
    return TVP_OK;
}

/* This rank's buffers, first touched here; *t_touch is the time that took. */
static int mpi_buffers_open(struct tvp_job *job, struct mpi_state *s, double *t_touch)
{
    uint64_t items = s->dynamic ? (job->chunk < job->n ? job->chunk : job->n) : s->e - s->b;
    double t = tvp_now();
    if (!s->inplace) {
        s->in = tvp_alloc_touched(tvp_job_in_bytes(job, items));
        s->out = tvp_alloc_touched(tvp_job_out_bytes(job, items));
        if (!s->in || !s->out)
            return TVP_ENOMEM;
    }
    if (!s->scatter && !s->dynamic) /* local input is made before the runs, as t_touch */
        tvp_job_fill(job, s->b, s->e, s->in);
    *t_touch = tvp_now() - t;
    if (s->dynamic && s->rank != 0) { /* one request per message of a result in flight */
        uint64_t pieces =
            s->scatter ? (items + s->lane_out.max_items - 1) / s->lane_out.max_items : 1;
        s->nsending = pieces > 1 ? (int)pieces : 1;
        if (!(s->sending = calloc((size_t)s->nsending, sizeof *s->sending)))
            return TVP_ENOMEM;
    }
    tvp_chunk_store_init(&s->kept, tvp_job_out_bytes(job, items));
    return TVP_OK;
}

static int mpi_state_open(struct tvp_job *job, struct mpi_state *s, double *t_touch)
{
    const struct tvp_world *w = job->world;
    s->rank = w->rank;
    s->size = w->size;
    s->scatter = job->opt->data == TVP_DATA_SCATTER;
    s->dynamic = job->opt->schedule == TVP_SCHED_DYNAMIC;
    s->inplace = s->scatter && s->rank == 0;
    s->lane_in.type = s->lane_out.type = MPI_DATATYPE_NULL;
    s->lane_index =
        (struct mpi_lane){.type = MPI_UINT64_T, .size = sizeof(uint64_t), .max_items = 1};
    if (job->workers != s->size)
        return TVP_EUSAGE;
    tvp_partition(job->n, s->size, s->rank, &s->b, &s->e);
    int rc = tvp_pin_process(job->topo, job->pu_plan ? job->pu_plan[s->rank] : -1);
    if (!rc)
        rc = mpi_lane_open(&s->lane_in, job->wl->in_size);
    if (!rc)
        rc = mpi_lane_open(&s->lane_out, job->wl->out_size);
    /* the biggest block is the first; displacements reach at most n */
    uint64_t biggest = job->n / (uint64_t)s->size + (job->n % (uint64_t)s->size != 0);
    s->collective =
        job->n <= INT_MAX && biggest <= s->lane_in.max_items && biggest <= s->lane_out.max_items;
    if (!rc && s->rank == 0)
        rc = mpi_root_open(job, s);
    if (!rc)
        rc = mpi_buffers_open(job, s, t_touch);
    return rc;
}

/* The start of either shape: this rank's state by `open`, then agreement and the slowest
 * rank's first-touch time. */
int mpi_start_with(struct tvp_job *job, struct tvp_start *st,
                   int (*open)(struct tvp_job *, struct mpi_state *, double *))
{
    struct mpi_state *s = calloc(1, sizeof *s);
    double t_touch = 0;
    int rc = s ? open(job, s, &t_touch) : TVP_ENOMEM;
    if ((rc = mpi_errors_agree(rc)) == TVP_OK)
        rc = mpi_comm_err(
            MPI_Allreduce(&t_touch, &st->t_touch, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD));
    if (rc) {
        mpi_state_close(s);
        return rc;
    }
    st->t_init = 0; /* MPI_Init is in world.t_init */
    job->state = s;
    return TVP_OK;
}

static int mpi_job_start(struct tvp_job *job, struct tvp_start *st)
{
    return mpi_start_with(job, st, mpi_state_open);
}

static int mpi_job_stop(struct tvp_job *job)
{
    mpi_state_close(job->state);
    job->state = NULL;
    return TVP_OK;
}

/* ---- the work on one range -------------------------------------------------------- */

/* Items [b,e) (chunk k, when dynamic) through the kernel on this rank.  With local data
 * and a dynamic schedule the input is made first, timed as distribute, and the output is
 * kept in its own buffer (a static schedule makes its input in start). */
static int mpi_range_work(const struct tvp_job *job, struct mpi_state *s, uint64_t k, uint64_t b,
                          uint64_t e, struct mpi_report *me)
{
    void *in = s->inplace ? mpi_item_at(job->in, b, job->wl->in_size) : s->in;
    void *out = s->inplace ? mpi_item_at(job->out, b, job->wl->out_size) : s->out;
    if (!s->scatter && s->dynamic) {
        double t = tvp_now();
        tvp_job_fill(job, b, e, in);
        me->t[PHASE_DISTRIBUTE] += tvp_now() - t;
        if (!(out = tvp_chunk_store_take(&s->kept, k)))
            return TVP_ENOMEM;
    }
    tvp_job_kernel(job, in, out, b, e);
    return TVP_OK;
}

/* ---- static schedule ---------------------------------------------------------------- */

static int mpi_static_phase(struct tvp_job *job, struct mpi_state *s, enum mpi_phase ph,
                            struct mpi_report *me)
{
    switch (ph) {
    case PHASE_STARTUP:
        return mpi_barrier_wait();
    case PHASE_DISTRIBUTE:
        return s->scatter ? mpi_blocks_move(job, s, 0) : TVP_OK;
    case PHASE_COMPUTE:
        return mpi_range_work(job, s, 0, s->b, s->e, me);
    case PHASE_COLLECT:
        return s->scatter ? mpi_blocks_move(job, s, 1) : TVP_OK;
    default:
        return TVP_OK;
    }
}

int mpi_phases_run(struct tvp_job *job, struct mpi_state *s, mpi_phase_fn phase,
                   struct mpi_report *me)
{
    for (int ph = 0; ph < PHASE_COUNT; ph++) {
        int rc = mpi_barrier_wait();
        double t = tvp_now();
        if (!rc)
            rc = phase(job, s, (enum mpi_phase)ph, me);
        me->t[ph] = tvp_now() - t;
        if (ph == PHASE_COMPUTE)
            me->pu = tvp_pin_last_pu(job->topo);
        if (rc)
            return rc;
    }
    return TVP_OK;
}

static int mpi_static_run(struct tvp_job *job, struct mpi_state *s, struct mpi_report *me,
                          uint64_t *moved)
{
    int rc = mpi_phases_run(job, s, mpi_static_phase, me);
    if (rc)
        return rc;
    if (!s->scatter) /* untimed: the checksum of this rank's piece */
        me->sum = tvp_job_checksum(job, s->out, s->b, s->e);
    if (s->scatter && s->rank == 0)
        *moved = (job->n - (s->e - s->b)) * (job->wl->in_size + job->wl->out_size);
    return TVP_OK;
}

/* ---- dynamic schedule --------------------------------------------------------------- */

/* The request a worker sends (send = 1, started only: its requests go to s->sending) or
 * the root receives from `peer`: in scatter mode the output of chunk k (nothing when k is
 * NO_CHUNK); with local data always an empty message. */
static int mpi_result_move(struct tvp_job *job, struct mpi_state *s, int send, int peer, uint64_t k)
{
    uint64_t b = 0, e = 0;
    MPI_Request *posted = send ? s->sending : NULL;
    if (k != NO_CHUNK && s->scatter)
        tvp_chunk_range(job->n, job->chunk, k, &b, &e);
    return mpi_items_move(send, send ? s->out : mpi_item_at(job->out, b, s->lane_out.size), e - b,
                          &s->lane_out, peer, TAG_REQUEST, posted);
}

/* The assignment: the chunk's number (NO_CHUNK: stop), then ... */
static int mpi_index_move(struct mpi_state *s, int send, int peer, uint64_t *k)
{
    return mpi_items_move(send, k, 1, &s->lane_index, peer, TAG_ASSIGN, NULL);
}

/* ... in scatter mode, the chunk's input items. */
static int mpi_input_move(struct tvp_job *job, struct mpi_state *s, int send, int peer, uint64_t k)
{
    uint64_t b, e;
    if (!s->scatter || k == NO_CHUNK)
        return TVP_OK;
    tvp_chunk_range(job->n, job->chunk, k, &b, &e);
    return mpi_items_move(send, send ? mpi_item_at(job->in, b, s->lane_in.size) : s->in, e - b,
                          &s->lane_in, peer, TAG_INPUT, NULL);
}

/* A worker: request (with the last result), wait for the root, take the chunk, work.
 * Only moving and making data is timed as distribute and collect: the wait for the
 * root's attention is not, so it ends up in the compute rest of the window.  The result
 * goes out with MPI_Isend, so the worker does not wait in a send either; the copy itself
 * is timed by the root, which receives it. */
static int mpi_worker_loop(struct tvp_job *job, struct mpi_state *s, struct mpi_report *me)
{
    uint64_t k = NO_CHUNK;
    for (;;) {
        for (int i = 0; i < s->nsending; i++)
            s->sending[i] = MPI_REQUEST_NULL;
        double t = tvp_now();
        int rc = mpi_result_move(job, s, 1, 0, k);
        me->t[PHASE_COLLECT] += tvp_now() - t;
        if (!rc)
            rc = mpi_index_move(s, 0, 0, &k);
        t = tvp_now();
        if (!rc) /* done by now: the root took the result before it answered */
            rc = mpi_comm_err(MPI_Waitall(s->nsending, s->sending, MPI_STATUSES_IGNORE));
        me->t[PHASE_COLLECT] += tvp_now() - t;
        t = tvp_now();
        if (!rc)
            rc = mpi_input_move(job, s, 0, 0, k);
        me->t[PHASE_DISTRIBUTE] += tvp_now() - t;
        if (rc || k == NO_CHUNK)
            return rc;
        uint64_t b, e;
        tvp_chunk_range(job->n, job->chunk, k, &b, &e);
        if ((rc = mpi_range_work(job, s, k, b, e, me)))
            return rc;
    }
}

struct mpi_dispatch {
    uint64_t next, count; /* next chunk to hand out, of count */
    int busy;             /* workers not yet told to stop */
    uint64_t moved;
};

/* The root answers one request from `peer`: takes its result, gives it the next chunk. */
static int mpi_request_serve(struct tvp_job *job, struct mpi_state *s, struct mpi_dispatch *d,
                             int peer, struct mpi_report *me)
{
    uint64_t k = s->owed[peer], b, e;
    double t = tvp_now();
    int rc = mpi_result_move(job, s, 0, peer, k);
    me->t[PHASE_COLLECT] += tvp_now() - t;
    if (rc)
        return rc;
    if (k != NO_CHUNK && s->scatter) {
        tvp_chunk_range(job->n, job->chunk, k, &b, &e);
        d->moved += (e - b) * (s->lane_in.size + s->lane_out.size);
    }
    k = d->next < d->count ? d->next++ : NO_CHUNK;
    d->busy -= k == NO_CHUNK;
    s->owed[peer] = k;
    t = tvp_now();
    rc = mpi_index_move(s, 1, peer, &k);
    if (!rc)
        rc = mpi_input_move(job, s, 1, peer, k);
    me->t[PHASE_DISTRIBUTE] += tvp_now() - t;
    return rc;
}

static int mpi_root_loop(struct tvp_job *job, struct mpi_state *s, struct mpi_report *me,
                         uint64_t *moved)
{
    struct mpi_dispatch d = {0, tvp_chunk_count(job->n, job->chunk), s->size - 1, 0};
    for (int r = 0; r < s->size; r++)
        s->owed[r] = NO_CHUNK;
    while (d.busy > 0 || d.next < d.count) {
        MPI_Status st;
        int pending = 0, rc = MPI_SUCCESS;
        if (d.next >= d.count) { /* nothing left to compute: wait for the stragglers */
            rc = MPI_Probe(MPI_ANY_SOURCE, TAG_REQUEST, MPI_COMM_WORLD, &st);
            pending = 1;
        } else if (d.busy > 0) /* work left: only look */
            rc = MPI_Iprobe(MPI_ANY_SOURCE, TAG_REQUEST, MPI_COMM_WORLD, &pending, &st);
        if (rc != MPI_SUCCESS)
            return mpi_comm_err(rc);
        if (pending) {
            if ((rc = mpi_request_serve(job, s, &d, st.MPI_SOURCE, me)))
                return rc;
            continue;
        }
        uint64_t b, e, k = d.next++;
        tvp_chunk_range(job->n, job->chunk, k, &b, &e);
        if ((rc = mpi_range_work(job, s, k, b, e, me)))
            return rc;
    }
    *moved = d.moved;
    return TVP_OK;
}

/* Local data, after the window (untimed): every rank's (chunk, checksum) pairs to the
 * root, which files them in job->pieces. */
static int mpi_pieces_gather(struct tvp_job *job, struct mpi_state *s)
{
    size_t count = s->kept.count;
    struct mpi_piece *mine = malloc((count ? count : 1) * sizeof *mine), *all = NULL;
    int *counts = NULL, *displs = NULL, rc = mine ? TVP_OK : TVP_ENOMEM;
    for (size_t i = 0; mine && i < count; i++) {
        uint64_t b, e, k = s->kept.ids[i];
        tvp_chunk_range(job->n, job->chunk, k, &b, &e);
        mine[i] = (struct mpi_piece){k, tvp_job_checksum(job, s->kept.bufs[i], b, e)};
    }
    tvp_chunk_store_reset(&s->kept);
    int bytes = (int)(count * sizeof *mine);
    if (s->rank == 0) {
        counts = calloc((size_t)s->size, sizeof *counts);
        displs = calloc((size_t)s->size, sizeof *displs);
        all = malloc((size_t)job->npieces * sizeof *all + 1);
        if (!counts || !displs || !all)
            rc = TVP_ENOMEM;
    }
    if ((rc = mpi_errors_agree(rc)) == TVP_OK)
        rc = mpi_comm_err(
            MPI_Gather(&bytes, 1, MPI_INT, counts, 1, MPI_INT, 0, MPI_COMM_WORLD));
    for (int r = 1; !rc && s->rank == 0 && r < s->size; r++)
        displs[r] = displs[r - 1] + counts[r - 1];
    if (!rc)
        rc = mpi_comm_err(MPI_Gatherv(mine, bytes, MPI_BYTE, all, counts, displs, MPI_BYTE, 0,
                                      MPI_COMM_WORLD));
    for (uint64_t i = 0; !rc && s->rank == 0 && i < job->npieces; i++)
        job->pieces[all[i].k] = all[i].sum;
    free(mine);
    free(all);
    free(counts);
    free(displs);
    return rc;
}

static int mpi_dynamic_run(struct tvp_job *job, struct mpi_state *s, struct mpi_report *me,
                           uint64_t *moved, double *window)
{
    int rc = mpi_barrier_wait();
    double t = tvp_now();
    if (!rc)
        rc = mpi_barrier_wait();
    me->t[PHASE_STARTUP] = tvp_now() - t;
    if (rc)
        return rc;
    t = tvp_now();
    rc = s->rank == 0 ? mpi_root_loop(job, s, me, moved) : mpi_worker_loop(job, s, me);
    *window = tvp_now() - t;
    me->pu = tvp_pin_last_pu(job->topo);
    rc = mpi_errors_agree(rc);
    return rc || s->scatter ? rc : mpi_pieces_gather(job, s);
}

/* ---- one run ------------------------------------------------------------------------ */

/* At the root: the maximum of each phase over ranks, PUs, memory, halo bytes and local
 * pieces. */
static void mpi_reports_merge(struct tvp_job *job, const struct mpi_state *s, double window,
                              struct tvp_run *run)
{
    double t[PHASE_COUNT] = {0};
    run->peak_rss_kb = 0;
    run->halo_bytes = 0;
    for (int r = 0; r < s->size; r++) {
        const struct mpi_report *rep = &s->reports[r];
        for (int ph = 0; ph < PHASE_COUNT; ph++)
            t[ph] = rep->t[ph] > t[ph] ? rep->t[ph] : t[ph];
        run->pu[r] = rep->pu;
        run->peak_rss_kb += rep->rss_kb;
        run->halo_bytes += rep->halo_bytes;
        if (!s->scatter && !s->dynamic && (uint64_t)r < job->npieces)
            job->pieces[r] = rep->sum;
    }
    if (s->dynamic)
        tvp_run_dynamic(run, t[PHASE_STARTUP], window, t[PHASE_DISTRIBUTE], t[PHASE_COLLECT]);
    else
        tvp_run_static(run, t[PHASE_STARTUP], t[PHASE_DISTRIBUTE], t[PHASE_COMPUTE],
                       t[PHASE_COLLECT]);
}

int mpi_run_finish(struct tvp_job *job, struct mpi_state *s, struct mpi_report *me,
                   uint64_t moved, double window, struct tvp_run *run)
{
    me->rss_kb = tvp_peak_rss_kb();
    int rc = mpi_comm_err(MPI_Gather(me, (int)sizeof *me, MPI_BYTE, s->reports, (int)sizeof *me,
                                     MPI_BYTE, 0, MPI_COMM_WORLD));
    if (rc)
        return rc;
    if (s->rank == 0) {
        mpi_reports_merge(job, s, window, run);
        run->bytes_moved = moved;
    }
    return TVP_OK;
}

static int mpi_job_run(struct tvp_job *job, struct tvp_run *run)
{
    struct mpi_state *s = job->state;
    struct mpi_report me = {.sum = TVP_CHECKSUM_EMPTY, .pu = -1};
    uint64_t moved = 0;
    double window = 0;
    int rc = s->dynamic ? mpi_dynamic_run(job, s, &me, &moved, &window)
                        : mpi_static_run(job, s, &me, &moved);
    return rc ? rc : mpi_run_finish(job, s, &me, moved, window, run);
}

const struct tvp_backend tvp_backend_mpi = {
    .name = "mpi",
    .flags = TVP_BACKEND_FIXED_WORKERS | TVP_BACKEND_LOAD_EVERYWHERE | TVP_BACKEND_STENCIL_STATIC,
    .init = mpi_world_init,
    .agree = mpi_errors_agree,
    .share = mpi_root_share,
    .start = mpi_job_start,
    .run = mpi_job_run,
    .stop = mpi_job_stop,
    .stencil_start = mpi_stencil_start,
    .stencil_run = mpi_stencil_run,
    .stencil_stop = mpi_stencil_stop,
    .table_start = mpi_table_start,
    .table_run = mpi_table_run,
    .table_stop = mpi_table_stop,
    .probe = mpi_probe,
    .fini = mpi_world_fini,
};
