/* The MPI backend for stencil workloads (filter): static blocks of rows, halo rows
 * exchanged between neighbouring ranks before every pass.
 *
 * The first `active` = tvp_stencil_active(job) ranks own the row blocks [b,e) =
 * tvp_partition(height, active, rank), whatever --schedule says; the other ranks own
 * nothing but take part in every barrier and collective.  An owner holds rows [lo,hi) =
 * [b - H, e + H) clamped to the image (H: the widest halo) of a grid in each of two private
 * buffers, and the passes ping-pong between them: pass p reads grid p from one buffer and
 * writes rows [b,e) of grid p+1 into the other.  With local data a third buffer keeps the
 * input, made once in start, which the first pass reads.  Before every pass but the first,
 * neighbouring owners swap the halo[p] edge rows of grid p with MPI_Sendrecv (first rows
 * up, last rows down).  The first pass finds its halo already there: with scatter data the
 * root sent each owner its rows [lo,hi) in distribute (the blocks with MPI_Scatterv, the
 * halo rows around them point to point); with local data each owner made them in start.
 *
 * With scatter data the root works in place, as in the map shape: pass 0 reads job->in and
 * the last pass writes job->out, so its own rows neither go out nor come back
 * (MPI_IN_PLACE), and its private buffers hold only the grids in between.
 *
 * Rows travel as a datatype of one row's pixels (width x the channels of that grid) whose
 * extent is the buffers' stride, so only pixel bytes move (a gray grid moves a third of an
 * RGB one), counts are in rows and no message exceeds TVP_MPI_MSG_MAX bytes.  A row longer
 * than that (or than INT_MAX bytes) goes as bytes, in pieces.  bytes_moved and halo_bytes
 * count pixel bytes: bytes_moved the input rows (with their halo) the root sent to the
 * other owners and the output rows it got back; halo_bytes the rows neighbours sent each
 * other in compute, summed over ranks. */
#include <limits.h>
#include <stdlib.h>

#include "tvp_mpi.h"

/* bytes in one message when a row goes in pieces */
#define PIECE_BYTES (TVP_MPI_MSG_MAX < (size_t)INT_MAX ? TVP_MPI_MSG_MAX : (size_t)INT_MAX)

/* How the rows of the grids with one channel count travel. */
struct rows_lane {
    uint32_t channels;
    size_t row_bytes;  /* pixel bytes of one row */
    size_t stride;     /* bytes from one row to the next in every buffer */
    uint64_t max_rows; /* rows in one message; 0: a row is too long, it goes as bytes */
    MPI_Datatype type; /* one row: row_bytes bytes, extent stride (when max_rows > 0) */
};

struct mpi_stencil {
    int active;            /* ranks that own rows */
    int owner;             /* this rank is one of them */
    uint32_t lo, hi;       /* the rows its buffers hold: [b,e) with the halo, clamped */
    int up, down;          /* the neighbouring owners; MPI_PROC_NULL at the ends */
    struct tvp_rows in;    /* grid 0: `input`, tmp[0], or job->in at the root (scatter) */
    struct tvp_rows out;   /* the last grid: a tmp, or job->out at the root (scatter) */
    struct tvp_rows tmp[2]; /* private buffers the passes ping-pong between (data NULL when
                               not needed) */
    struct tvp_rows input;  /* local data: the input rows, made in start and kept */
    struct rows_lane *lanes; /* one per channel count among the grids */
    int nlanes;
    uint64_t moved; /* root, scatter: pixel bytes a run sends to and gets from other ranks */
};

/* Rank r's block [*b,*e) and the rows [*lo,*hi) it holds; empty for a rank owning none. */
static void block_of(const struct tvp_grid *g, int active, int r, uint32_t *b, uint32_t *e,
                     uint32_t *lo, uint32_t *hi)
{
    uint64_t b64 = 0, e64 = 0;
    if (r < active)
        tvp_partition(g->height, active, r, &b64, &e64);
    *b = (uint32_t)b64, *e = (uint32_t)e64;
    uint32_t h = (uint32_t)g->max_halo;
    *lo = *b > h ? *b - h : 0;
    *hi = g->height - *e > h ? *e + h : g->height;
    if (b64 == e64)
        *lo = *hi = *b;
}

/* ---- lanes and their pieces ------------------------------------------------------------ */

static const struct rows_lane *lane_of(const struct mpi_stencil *st, uint32_t channels)
{
    for (int i = 0; i < st->nlanes; i++)
        if (st->lanes[i].channels == channels)
            return &st->lanes[i];
    return NULL; /* not reached: lanes_open made one for every grid */
}

static const struct rows_lane *lane_of_grid(const struct tvp_job *job, const struct mpi_stencil *st,
                                            int p)
{
    return lane_of(st, job->grid->channels[p]);
}

static int lane_open(struct rows_lane *l, const struct tvp_grid *g, uint32_t channels)
{
    MPI_Datatype row = MPI_DATATYPE_NULL;
    l->channels = channels;
    l->row_bytes = (size_t)g->width * channels;
    l->stride = g->stride;
    l->max_rows =
        g->stride <= TVP_MPI_MSG_MAX && g->stride <= INT_MAX ? TVP_MPI_MSG_MAX / g->stride : 0;
    if (l->max_rows > INT_MAX)
        l->max_rows = INT_MAX;
    if (!l->max_rows)
        return TVP_OK;
    int rc = MPI_Type_contiguous((int)l->row_bytes, MPI_BYTE, &row);
    if (rc == MPI_SUCCESS)
        rc = MPI_Type_create_resized(row, 0, (MPI_Aint)l->stride, &l->type);
    if (rc == MPI_SUCCESS)
        rc = MPI_Type_commit(&l->type);
    if (row != MPI_DATATYPE_NULL)
        MPI_Type_free(&row);
    return mpi_local_err(rc);
}

static int lanes_open(const struct tvp_job *job, struct mpi_stencil *st)
{
    const struct tvp_grid *g = job->grid;
    int rc = TVP_OK;
    st->lanes = calloc((size_t)g->npasses + 1, sizeof *st->lanes);
    if (!st->lanes)
        return TVP_ENOMEM;
    for (int p = 0; p <= g->npasses; p++)
        st->lanes[p].type = MPI_DATATYPE_NULL;
    for (int p = 0; !rc && p <= g->npasses; p++)
        if (!lane_of(st, g->channels[p]))
            rc = lane_open(&st->lanes[st->nlanes++], g, g->channels[p]);
    return rc;
}

/* A transfer of n rows is lane_pieces() messages; piece i starts at *at and holds *count
 * of *type.  Both ends of a transfer cut it the same way. */
static uint64_t lane_pieces(const struct rows_lane *l, uint64_t n)
{
    if (l->max_rows)
        return (n + l->max_rows - 1) / l->max_rows;
    return n * ((l->row_bytes + PIECE_BYTES - 1) / PIECE_BYTES);
}

static void lane_piece(const struct rows_lane *l, uint8_t *rows, uint64_t n, uint64_t i, void **at,
                       int *count, MPI_Datatype *type)
{
    uint64_t c;
    size_t offset;
    if (l->max_rows) {
        uint64_t first = i * l->max_rows;
        c = n - first < l->max_rows ? n - first : l->max_rows;
        offset = (size_t)first * l->stride;
        *type = l->type;
    } else {
        uint64_t per_row = (l->row_bytes + PIECE_BYTES - 1) / PIECE_BYTES, j = i % per_row;
        c = l->row_bytes - j * PIECE_BYTES < PIECE_BYTES ? l->row_bytes - j * PIECE_BYTES
                                                           : PIECE_BYTES;
        offset = (size_t)(i / per_row) * l->stride + (size_t)j * PIECE_BYTES;
        *type = MPI_BYTE;
    }
    *at = rows ? rows + offset : NULL;
    *count = (int)c;
}

/* n rows from `rows` to peer, or from peer into `rows`. */
static int rows_move(int send, uint8_t *rows, uint64_t n, const struct rows_lane *l, int peer,
                     int tag)
{
    for (uint64_t i = 0, count = lane_pieces(l, n); i < count; i++) {
        void *at;
        int c;
        MPI_Datatype t;
        lane_piece(l, rows, n, i, &at, &c, &t);
        int rc = send ? MPI_Send(at, c, t, peer, tag, MPI_COMM_WORLD)
                      : MPI_Recv(at, c, t, peer, tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        if (rc != MPI_SUCCESS)
            return mpi_comm_err(rc);
    }
    return TVP_OK;
}

/* n rows from `from` to dest while n rows come from source into `into` (either peer may be
 * MPI_PROC_NULL, its rows NULL: nothing goes that way). */
static int rows_swap(const struct rows_lane *l, uint8_t *from, int dest, uint8_t *into, int source,
                     uint64_t n, int tag)
{
    for (uint64_t i = 0, count = lane_pieces(l, n); i < count; i++) {
        void *out_at, *in_at;
        int c_out, c_in;
        MPI_Datatype t;
        lane_piece(l, from, n, i, &out_at, &c_out, &t);
        lane_piece(l, into, n, i, &in_at, &c_in, &t);
        int rc = MPI_Sendrecv(out_at, from ? c_out : 0, t, dest, tag, in_at, into ? c_in : 0, t,
                              source, tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        if (rc != MPI_SUCCESS)
            return mpi_comm_err(rc);
    }
    return TVP_OK;
}

/* ---- start / stop ------------------------------------------------------------------------ */

void mpi_stencil_close(struct mpi_stencil *st)
{
    if (!st)
        return;
    tvp_free(st->tmp[0].data);
    tvp_free(st->tmp[1].data);
    tvp_free(st->input.data);
    for (int i = 0; st->lanes && i < st->nlanes; i++)
        if (st->lanes[i].type != MPI_DATATYPE_NULL)
            MPI_Type_free(&st->lanes[i].type);
    free(st->lanes);
    free(st);
}

/* The root's bookkeeping: reports, the block table (in rows) and the bytes a run moves. */
static int stencil_root_open(const struct tvp_job *job, struct mpi_state *s, struct mpi_stencil *st)
{
    const struct tvp_grid *g = job->grid;
    size_t in_row = tvp_grid_row_bytes(g, 0), out_row = tvp_grid_row_bytes(g, g->npasses);
    s->reports = calloc((size_t)s->size, sizeof *s->reports);
    if (!s->reports)
        return TVP_ENOMEM;
    if (s->collective) {
        s->counts = calloc((size_t)s->size, sizeof *s->counts);
        s->displs = calloc((size_t)s->size, sizeof *s->displs);
        if (!s->counts || !s->displs)
            return TVP_ENOMEM;
    }
    for (int r = 0; r < s->size; r++) {
        uint32_t b, e, lo, hi;
        block_of(g, st->active, r, &b, &e, &lo, &hi);
        if (s->collective)
            s->counts[r] = (int)(e - b), s->displs[r] = (int)b;
        if (r > 0 && s->scatter)
            st->moved += (uint64_t)(hi - lo) * in_row + (uint64_t)(e - b) * out_row;
    }
    return TVP_OK;
}

/* One buffer of this owner's rows [lo,hi), first touched. */
static int rows_open(const struct tvp_grid *g, struct mpi_stencil *st, struct tvp_rows *r)
{
    *r = (struct tvp_rows){NULL, g->stride, st->lo, st->hi - st->lo};
    r->data = tvp_alloc_touched((size_t)(st->hi - st->lo) * g->stride);
    return r->data ? TVP_OK : TVP_ENOMEM;
}

/* An owner's buffers, and with local data its input rows [lo,hi).  Pass p > 0 reads
 * tmp[p % 2]; pass p < last writes tmp[(p + 1) % 2], so the last pass writes tmp[passes % 2]
 * unless the root writes job->out in place. */
static int stencil_buffers_open(struct tvp_job *job, struct mpi_state *s, struct mpi_stencil *st)
{
    const struct tvp_grid *g = job->grid;
    int passes = g->npasses, rc = TVP_OK;
    int need[2] = {1, 1}; /* scatter, not the root: tmp[0] receives the input every run */
    if (s->inplace) /* pass 0 reads job->in, the last writes job->out */
        need[0] = passes >= 3, need[1] = passes >= 2;
    if (!s->scatter) /* the input has its own buffer: the passes must not overwrite it */
        need[0] = passes >= 2;
    for (int i = 0; !rc && i < 2; i++)
        rc = need[i] ? rows_open(g, st, &st->tmp[i]) : TVP_OK;
    if (!rc && !s->scatter)
        rc = rows_open(g, st, &st->input);
    if (rc)
        return rc;
    if (s->inplace) {
        st->in = (struct tvp_rows){job->in, g->stride, 0, g->height};
        st->out = (struct tvp_rows){job->out, g->stride, 0, g->height};
    } else {
        st->in = s->scatter ? st->tmp[0] : st->input;
        st->out = st->tmp[passes % 2];
    }
    if (!s->scatter)
        tvp_job_fill_rows(job, st->lo, st->hi, &st->input);
    return TVP_OK;
}

static int stencil_open(struct tvp_job *job, struct mpi_state *s, double *t_touch)
{
    const struct tvp_grid *g = job->grid;
    const struct tvp_world *w = job->world;
    s->lane_in.type = s->lane_out.type = MPI_DATATYPE_NULL; /* the map shape's, unused */
    s->rank = w->rank;
    s->size = w->size;
    s->scatter = job->opt->data == TVP_DATA_SCATTER;
    s->dynamic = 0; /* TVP_BACKEND_STENCIL_STATIC */
    s->inplace = s->scatter && s->rank == 0;
    if (job->workers != s->size)
        return TVP_EUSAGE;
    struct mpi_stencil *st = s->stencil = calloc(1, sizeof *st);
    if (!st)
        return TVP_ENOMEM;
    int rc = tvp_pin_process(job->topo, job->pu_plan ? job->pu_plan[s->rank] : -1);
    if (rc)
        return rc;
    st->active = tvp_stencil_active(job);
    st->owner = s->rank < st->active;
    uint32_t b, e;
    block_of(g, st->active, s->rank, &b, &e, &st->lo, &st->hi);
    s->b = b, s->e = e;
    st->up = st->owner && s->rank > 0 ? s->rank - 1 : MPI_PROC_NULL;
    st->down = st->owner && s->rank + 1 < st->active ? s->rank + 1 : MPI_PROC_NULL;
    if ((rc = lanes_open(job, st)))
        return rc;
    /* blocks go in one collective when every count and displacement fits an int and every
     * block one message; the biggest block is the first */
    const struct rows_lane *in = lane_of_grid(job, st, 0), *out = lane_of_grid(job, st, g->npasses);
    uint64_t biggest = g->height / (uint64_t)st->active + (g->height % (uint64_t)st->active != 0);
    s->collective = g->height <= INT_MAX && biggest <= in->max_rows && biggest <= out->max_rows;
    if (s->rank == 0 && (rc = stencil_root_open(job, s, st)))
        return rc;
    double t = tvp_now();
    if (st->owner)
        rc = stencil_buffers_open(job, s, st);
    *t_touch = tvp_now() - t;
    return rc;
}

int mpi_stencil_start(struct tvp_job *job, struct tvp_start *st)
{
    return mpi_start_with(job, st, stencil_open);
}

int mpi_stencil_stop(struct tvp_job *job)
{
    mpi_state_close(job->state);
    job->state = NULL;
    return TVP_OK;
}

/* ---- the phases -------------------------------------------------------------------------- */

/* Scatter data: every owner's rows [lo,hi) of the input from the root.  The blocks go
 * with MPI_Scatterv (or point to point when it cannot take them), then the root sends
 * each other owner the halo rows above and below its block. */
static int stencil_distribute(struct tvp_job *job, struct mpi_state *s, struct mpi_stencil *st)
{
    const struct tvp_grid *g = job->grid;
    const struct rows_lane *l = lane_of_grid(job, st, 0);
    uint8_t *own = st->owner ? tvp_rows_at(&st->in, (uint32_t)s->b) : NULL;
    int root = s->rank == 0, rc = TVP_OK;
    if (s->collective)
        rc = mpi_comm_err(MPI_Scatterv(job->in, s->counts, s->displs, l->type,
                                       root ? MPI_IN_PLACE : own, (int)(s->e - s->b), l->type, 0,
                                       MPI_COMM_WORLD));
    else if (!root && st->owner)
        rc = rows_move(0, own, s->e - s->b, l, 0, TAG_BLOCK);
    if (!root && st->owner) {
        if (!rc && st->lo < s->b)
            rc = rows_move(0, tvp_rows_at(&st->in, st->lo), s->b - st->lo, l, 0, TAG_HALO);
        if (!rc && s->e < st->hi)
            rc = rows_move(0, tvp_rows_at(&st->in, (uint32_t)s->e), st->hi - s->e, l, 0, TAG_HALO);
        return rc;
    }
    struct tvp_rows whole = {job->in, g->stride, 0, g->height};
    for (int r = 1; root && !rc && r < st->active; r++) {
        uint32_t b, e, lo, hi;
        block_of(g, st->active, r, &b, &e, &lo, &hi);
        if (!s->collective)
            rc = rows_move(1, tvp_rows_at(&whole, b), e - b, l, r, TAG_BLOCK);
        if (!rc && lo < b)
            rc = rows_move(1, tvp_rows_at(&whole, lo), b - lo, l, r, TAG_HALO);
        if (!rc && e < hi)
            rc = rows_move(1, tvp_rows_at(&whole, e), hi - e, l, r, TAG_HALO);
    }
    return rc;
}

/* Before pass p: the first halo[p] rows of this owner's block of grid p go to the owner
 * above while that one's last rows come into the halo above the block, and the same
 * downwards. */
static int stencil_exchange(const struct tvp_job *job, struct mpi_state *s, struct mpi_stencil *st,
                            int p, const struct tvp_rows *src, struct mpi_report *me)
{
    uint32_t h = (uint32_t)job->grid->halo[p], b = (uint32_t)s->b, e = (uint32_t)s->e;
    const struct rows_lane *l = lane_of_grid(job, st, p);
    int has_up = st->up != MPI_PROC_NULL, has_down = st->down != MPI_PROC_NULL;
    if (h == 0 || (!has_up && !has_down))
        return TVP_OK;
    uint8_t *first = has_up ? tvp_rows_at(src, b) : NULL;
    uint8_t *above = has_up ? tvp_rows_at(src, b - h) : NULL;
    uint8_t *last = has_down ? tvp_rows_at(src, e - h) : NULL;
    uint8_t *below = has_down ? tvp_rows_at(src, e) : NULL;
    int rc = rows_swap(l, first, st->up, below, st->down, h, TAG_UP);
    if (!rc)
        rc = rows_swap(l, last, st->down, above, st->up, h, TAG_DOWN);
    me->halo_bytes += (uint64_t)h * l->row_bytes * (uint64_t)(has_up + has_down);
    return rc;
}

/* Every pass over this owner's block; grid p is `in` (p = 0) or the buffer the pass before
 * wrote, and the last pass writes `out`. */
static int stencil_compute(struct tvp_job *job, struct mpi_state *s, struct mpi_stencil *st,
                           struct mpi_report *me)
{
    int last = job->grid->npasses - 1;
    for (int p = 0; st->owner && p <= last; p++) {
        const struct tvp_rows *src = p == 0 ? &st->in : &st->tmp[p % 2];
        const struct tvp_rows *dst = p == last ? &st->out : &st->tmp[(p + 1) % 2];
        int rc = p > 0 ? stencil_exchange(job, s, st, p, src, me) : TVP_OK;
        if (rc)
            return rc;
        tvp_job_pass(job, p, src, dst, (uint32_t)s->b, (uint32_t)s->e);
    }
    return TVP_OK;
}

/* Scatter data: every owner's block of the output to the root's job->out. */
static int stencil_collect(struct tvp_job *job, struct mpi_state *s, struct mpi_stencil *st)
{
    const struct tvp_grid *g = job->grid;
    const struct rows_lane *l = lane_of_grid(job, st, g->npasses);
    uint8_t *own = st->owner ? tvp_rows_at(&st->out, (uint32_t)s->b) : NULL;
    int root = s->rank == 0, rc = TVP_OK;
    if (s->collective)
        return mpi_comm_err(MPI_Gatherv(root ? MPI_IN_PLACE : own, (int)(s->e - s->b), l->type,
                                        job->out, s->counts, s->displs, l->type, 0,
                                        MPI_COMM_WORLD));
    if (!root)
        return st->owner ? rows_move(1, own, s->e - s->b, l, 0, TAG_BLOCK) : TVP_OK;
    struct tvp_rows whole = {job->out, g->stride, 0, g->height};
    for (int r = 1; !rc && r < st->active; r++) {
        uint32_t b, e, lo, hi;
        block_of(g, st->active, r, &b, &e, &lo, &hi);
        rc = rows_move(0, tvp_rows_at(&whole, b), e - b, l, r, TAG_BLOCK);
    }
    return rc;
}

static int stencil_phase(struct tvp_job *job, struct mpi_state *s, enum mpi_phase ph,
                         struct mpi_report *me)
{
    switch (ph) {
    case PHASE_STARTUP:
        return mpi_barrier_wait();
    case PHASE_DISTRIBUTE:
        return s->scatter ? stencil_distribute(job, s, s->stencil) : TVP_OK;
    case PHASE_COMPUTE:
        return stencil_compute(job, s, s->stencil, me);
    case PHASE_COLLECT:
        return s->scatter ? stencil_collect(job, s, s->stencil) : TVP_OK;
    default:
        return TVP_OK;
    }
}

int mpi_stencil_run(struct tvp_job *job, struct tvp_run *run)
{
    struct mpi_state *s = job->state;
    struct mpi_stencil *st = s->stencil;
    struct mpi_report me = {.sum = TVP_CHECKSUM_EMPTY, .pu = -1};
    int rc = mpi_phases_run(job, s, stencil_phase, &me);
    if (rc)
        return rc;
    if (!s->scatter && st->owner) /* untimed: the checksum of this rank's block */
        me.sum = tvp_job_rows_checksum(job, &st->out, (uint32_t)s->b, (uint32_t)s->e);
    return mpi_run_finish(job, s, &me, s->rank == 0 ? st->moved : 0, 0, run);
}
