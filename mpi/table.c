/* The MPI backend for table workloads (labelencode): rank r is worker r and owns part r of
 * the records (tvp_csv_split's cuts, whichever way they are found).
 *
 * Where a part's bytes come from:
 *   --in, local data: every rank opens the file itself (a shared file system is the
 *       cluster norm) and, in start, reads and scans only its window of the data
 *       (tvp_csv_window_begin/scan); the windows' summaries are exchanged (MPI_Allgather)
 *       and every rank computes all the parts (tvp_csv_cuts).  In each run's distribute
 *       phase a rank reads its exact part [begin, end) into its own buffer (pread, timed).
 *   generated, local data: in start (untimed, reported as t_touch) each rank makes the
 *       rows tvp_partition(rows, size, rank) into its own buffer; the generator's rows are
 *       one line each, so the part's first line is the table's data line + its first row.
 *   scatter data: the root cuts job->text (tvp_table_parts) in start and broadcasts the
 *       parts; in distribute it sends each other rank its part's bytes (MPI_Scatterv, or
 *       point to point in pieces when a count or offset would not fit an int).  The root
 *       reads its own part in place.
 *
 * The compute phase: parse and fit (tvp_table_fit); every rank's error and the size of its
 * packed sets (FIT, tvp_lenc_pack_sets) go to the root in one MPI_Gather; the root picks
 * the error to report (tvp_table_error_pick) and broadcasts the verdict.  FIT: the sets go
 * to the root (MPI_Gatherv; the root's own are used where they are), which unpacks them,
 * merges (tvp_table_merge: the classes into job->classes) and sends each rank the map of
 * its local ids (MPI_Scatterv of uint32; again a verdict first, so a failed merge stops
 * every rank).  Then encode and format (tvp_table_finish), whose errors and output sizes
 * are gathered and agreed the same way.  The collect phase gathers the parts' text to the
 * root in rank order (MPI_Gatherv into one root buffer kept across runs; the root's own
 * part is not copied): job->parts_out[r] points at part r.
 *
 * An error of any step (a CSV error, a bad value, a failed read, no memory) stops its
 * rank's work but not its part in the collectives: the errors are agreed before the next
 * step, every rank returns the picked error's code and the root copies it to *job->error.
 *
 * Timing, as for the other shapes: a barrier before each phase, the maximum over ranks.
 * t_touch (start, untimed in the runs) is what start does to give each rank its part's
 * place: reading and scanning its window, making its rows, or the split at the root and
 * the first touch of the part's buffer.  t_parse, t_fit, t_encode and t_format are the
 * slowest rank's steps; t_merge runs from a rank's end of fit to its map received, so it
 * also holds the wait for the slowest rank's fit (0 for TRANSFORM and INVERSE).
 *
 * merge_bytes counts the packed sets the other ranks sent and the maps they got back;
 * bytes_moved that plus the input bytes scattered and the output bytes gathered.  Every
 * transfer is of a contiguous datatype (bytes, or uint32 for maps) in messages of at most
 * TVP_MPI_MSG_MAX bytes.  Whether a transfer goes in one collective (every count and
 * displacement an int, every piece one message) or point to point in pieces is decided
 * where the sizes are known, the same way on every rank: from the parts everybody holds,
 * or by the root, which says so in the verdict it broadcasts before the transfer. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tvp_mpi.h"

enum table_source { SRC_FILE, SRC_GEN, SRC_ROOT };

/* What a rank tells the root after a step (gathered as bytes). */
struct table_note {
    struct tvp_table_error e;
    uint64_t bytes; /* after fit: packed sets; after finish: output text */
};

/* What the root tells every rank after a step (broadcast as bytes). */
struct table_verdict {
    int32_t err;        /* 0: go on */
    int32_t collective; /* the next transfer fits MPI_Gatherv / MPI_Scatterv */
};

struct mpi_table {
    enum table_source src;
    int fd;                     /* SRC_FILE: the input, open from start to stop */
    struct tvp_csv_part *parts; /* [size] every rank's part (SRC_FILE, SRC_ROOT) */
    struct tvp_csv_part part;   /* this rank's, in `buf` (the root's SRC_ROOT: in job->text) */
    char *buf;                  /* this rank's part's bytes (SRC_FILE, SRC_ROOT but root) */
    struct tvp_csv_buf gen;     /* SRC_GEN: this rank's rows */
    struct tvp_lenc_worker lw;
    struct tvp_table_error failed; /* this run: an error before fit (a failed read) */
    struct mpi_lane bytes, codes;  /* bytes; uint32 map entries */
    int in_collective;             /* SRC_ROOT: the parts fit MPI_Scatterv */
    int out_collective;            /* this run: the output fits MPI_Gatherv */
    struct tvp_csv_buf packed;     /* not root, FIT: this rank's sets as bytes */
    uint32_t *map;                 /* not root, FIT: the map received */
    size_t map_cap;
    /* root */
    struct table_note *notes;     /* [size] */
    struct tvp_table_error *errs; /* [size] the notes' errors, for tvp_table_error_pick */
    uint64_t *count, *at;         /* [size] the transfer at hand: items, offset in items */
    uint64_t *in_count, *in_at;   /* [size] SRC_ROOT: the parts in job->text */
    int *icount, *idispl;         /* [size] the same as ints, for the collectives */
    char *sets_in;                /* the packed sets received */
    size_t sets_cap;
    struct tvp_labels *unpacked;  /* [size * nsel]: rank r's sets at r * nsel (r >= 1), kept
                                     from run to run: unpack refills them */
    size_t nunpacked;
    const struct tvp_labels **sets; /* [size] */
    uint32_t *maps_all;           /* every rank's map, in rank order */
    size_t maps_cap;
    uint32_t **maps;              /* [size] into maps_all */
    char *out_in;                 /* the other ranks' output text, in rank order */
    size_t out_cap;
    uint64_t moved_in;            /* SRC_ROOT: input bytes a run sends */
    uint64_t merge_bytes, out_bytes; /* this run */
};

/* ---- helpers ------------------------------------------------------------------------- */

static int grow_to(void **p, size_t *cap, size_t need, size_t el)
{
    if (need <= *cap && *p)
        return TVP_OK;
    size_t n = need > *cap * 2 ? need : *cap * 2;
    void *q = realloc(*p, (n ? n : 1) * el);
    if (!q)
        return TVP_ENOMEM;
    *p = q;
    *cap = n;
    return TVP_OK;
}

/* len bytes at offset off of fd, retrying short reads and EINTR.  TVP_ESYS (errno kept,
 * EIO for a file that ended early). */
static int pread_full(int fd, char *buf, size_t len, size_t off)
{
    while (len > 0) {
        ssize_t got = pread(fd, buf, len, (off_t)off);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            if (got == 0)
                errno = EIO;
            return TVP_ESYS;
        }
        buf += got, off += (size_t)got, len -= (size_t)got;
    }
    return TVP_OK;
}

/* Whether every other rank's count[r] items at at[r] fit one message and int counts and
 * displacements. */
static int fits_collective(const struct mpi_lane *l, const uint64_t *count, const uint64_t *at,
                           int size)
{
    for (int r = 1; r < size; r++)
        if (count[r] > l->max_items || at[r] + count[r] > INT_MAX)
            return 0;
    return 1;
}

/* Every other rank's items between its `mine` (n_mine items) and the root's whole + at[r]
 * (count[r] items; both read at the root only): to the root (gather) or from it.  The
 * root's own items never move.  `collective` must be the same on every rank. */
static int table_move(struct mpi_state *s, struct mpi_table *t, int gather, int collective,
                      const struct mpi_lane *l, void *mine, uint64_t n_mine, void *whole,
                      const uint64_t *count, const uint64_t *at)
{
    int root = s->rank == 0, rc;
    if (collective) {
        for (int r = 0; root && r < s->size; r++) {
            t->icount[r] = r ? (int)count[r] : 0;
            t->idispl[r] = r ? (int)at[r] : 0;
        }
        if (gather)
            rc = MPI_Gatherv(root ? MPI_IN_PLACE : mine, root ? 0 : (int)n_mine, l->type, whole,
                             t->icount, t->idispl, l->type, 0, MPI_COMM_WORLD);
        else
            rc = MPI_Scatterv(whole, t->icount, t->idispl, l->type, root ? MPI_IN_PLACE : mine,
                              root ? 0 : (int)n_mine, l->type, 0, MPI_COMM_WORLD);
        return mpi_comm_err(rc);
    }
    if (!root)
        return mpi_items_move(gather, mine, n_mine, l, 0, TAG_TABLE, NULL);
    for (int r = 1; r < s->size; r++) {
        void *p = whole ? (char *)whole + (size_t)at[r] * l->size : NULL;
        if ((rc = mpi_items_move(!gather, p, count[r], l, r, TAG_TABLE, NULL)))
            return rc;
    }
    return TVP_OK;
}

/* Every rank's note to the root (t->notes there). */
static int notes_gather(struct mpi_table *t, const struct table_note *mine)
{
    return mpi_comm_err(MPI_Gather(mine, (int)sizeof *mine, MPI_BYTE, t->notes,
                                   (int)sizeof *mine, MPI_BYTE, 0, MPI_COMM_WORLD));
}

static int verdict_share(struct table_verdict *v)
{
    return mpi_comm_err(MPI_Bcast(v, (int)sizeof *v, MPI_BYTE, 0, MPI_COMM_WORLD));
}

/* At the root, after a step's notes came: the error to report (copied to job->error) as
 * the verdict; when there is none, the transfer table of the notes' bytes (the root's own
 * count 0: its data never moves). */
static void notes_judge(struct tvp_job *job, struct mpi_state *s, struct mpi_table *t,
                        struct table_verdict *v)
{
    for (int r = 0; r < s->size; r++) {
        t->errs[r] = t->notes[r].e;
        t->errs[r].msg[sizeof t->errs[r].msg - 1] = 0; /* it came as bytes */
    }
    const struct tvp_table_error *e = tvp_table_error_pick(t->errs, (size_t)s->size);
    *v = (struct table_verdict){0, 0};
    if (e) {
        *job->error = *e;
        v->err = e->err;
        return;
    }
    uint64_t sum = 0;
    for (int r = 0; r < s->size; r++) {
        t->count[r] = r ? t->notes[r].bytes : 0;
        t->at[r] = sum;
        sum += t->count[r];
    }
    v->collective = fits_collective(&t->bytes, t->count, t->at, s->size);
}

/* At the root: room for `bytes` bytes of the other ranks' data, or the verdict that
 * stops every rank. */
static void room_for(struct tvp_job *job, char **p, size_t *cap, uint64_t bytes,
                     struct table_verdict *v)
{
    if (!v->err && grow_to((void **)p, cap, (size_t)bytes, 1)) {
        *job->error = (struct tvp_table_error){TVP_ENOMEM, TVP_TABLE_LATER, 0, "out of memory"};
        v->err = TVP_ENOMEM;
    }
}

static struct tvp_table_error error_of(int err, int step, int part, const char *msg)
{
    struct tvp_table_error e = {err, step, part, ""};
    snprintf(e.msg, sizeof e.msg, "%s", msg);
    return e;
}

/* ---- start / stop ------------------------------------------------------------------- */

void mpi_table_close(struct mpi_table *t)
{
    if (!t)
        return;
    if (t->fd >= 0)
        close(t->fd);
    free(t->parts);
    tvp_free(t->buf);
    free(t->gen.data);
    tvp_lenc_worker_free(&t->lw);
    free(t->packed.data);
    free(t->map);
    free(t->notes);
    free(t->errs);
    free(t->count);
    free(t->at);
    free(t->in_count);
    free(t->in_at);
    free(t->icount);
    free(t->idispl);
    free(t->sets_in);
    for (size_t i = 0; t->unpacked && i < t->nunpacked; i++)
        tvp_labels_free(&t->unpacked[i]);
    free(t->unpacked);
    free(t->sets);
    free(t->maps_all);
    free(t->maps);
    free(t->out_in);
    free(t);
}

static int root_open(const struct tvp_job *job, struct mpi_state *s, struct mpi_table *t)
{
    size_t n = (size_t)s->size, nsel = job->table->nsel;
    s->reports = calloc(n, sizeof *s->reports);
    t->notes = calloc(n, sizeof *t->notes);
    t->errs = calloc(n, sizeof *t->errs);
    t->count = calloc(n, sizeof *t->count);
    t->at = calloc(n, sizeof *t->at);
    t->icount = calloc(n, sizeof *t->icount);
    t->idispl = calloc(n, sizeof *t->idispl);
    t->unpacked = calloc(n * (nsel ? nsel : 1), sizeof *t->unpacked);
    t->sets = calloc(n, sizeof *t->sets);
    t->maps = calloc(n, sizeof *t->maps);
    if (!s->reports || !t->notes || !t->errs || !t->count || !t->at || !t->icount || !t->idispl ||
        !t->unpacked || !t->sets || !t->maps)
        return TVP_ENOMEM;
    for (size_t i = 0; i < n * nsel; i++)
        tvp_labels_init(&t->unpacked[i]);
    t->nunpacked = n * nsel;
    return TVP_OK;
}

/* This rank's own buffer for its part, first touched. */
static int part_buffer(struct mpi_table *t)
{
    t->buf = tvp_alloc_touched(t->part.end - t->part.begin);
    return t->buf ? TVP_OK : TVP_ENOMEM;
}

/* --in, local data: this rank's window read and scanned, the summaries exchanged, every
 * part computed; then the buffer for this rank's part.  Collective. */
static int file_open(struct tvp_job *job, struct mpi_state *s, struct mpi_table *t)
{
    const struct tvp_lenc_table *tab = job->table;
    size_t len = job->text_len;
    struct tvp_csv_window mine = {0}, *all = NULL;
    char *win = NULL;
    int rc = TVP_OK;
    t->fd = open(job->opt->in_path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (t->fd < 0 || fstat(t->fd, &st) != 0)
        rc = TVP_ESYS;
    else if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != (uint64_t)len)
        rc = TVP_EINPUT; /* not the file the root read */
    size_t wb = tvp_csv_window_begin(len, tab->data_begin, s->size, s->rank);
    size_t we = tvp_csv_window_begin(len, tab->data_begin, s->size, s->rank + 1);
    if (!rc && !(win = malloc(we - wb ? we - wb : 1)))
        rc = TVP_ENOMEM;
    if (!rc)
        rc = pread_full(t->fd, win, we - wb, wb);
    if (!rc)
        tvp_csv_window_scan(win, we - wb, &mine);
    free(win);
    if (!(all = calloc((size_t)s->size, sizeof *all)) && !rc)
        rc = TVP_ENOMEM;
    if (!(t->parts = calloc((size_t)s->size, sizeof *t->parts)) && !rc)
        rc = TVP_ENOMEM;
    if ((rc = mpi_errors_agree(rc)) == TVP_OK)
        rc = mpi_comm_err(MPI_Allgather(&mine, (int)sizeof mine, MPI_BYTE, all, (int)sizeof mine,
                                        MPI_BYTE, MPI_COMM_WORLD));
    if (!rc) /* a pure function of the summaries: the same answer everywhere */
        rc = tvp_csv_cuts(all, len, tab->data_begin, tab->data_line, s->size, t->parts);
    free(all);
    if (rc)
        return rc;
    t->part = t->parts[s->rank];
    return part_buffer(t);
}

/* Generated, local data: this rank makes its own rows. */
static int gen_open(struct tvp_job *job, struct mpi_state *s, struct mpi_table *t)
{
    uint64_t b, e;
    tvp_partition(job->gen->rows, s->size, s->rank, &b, &e);
    int rc = tvp_lenc_gen_rows(job->gen, b, e, &t->gen);
    t->part = (struct tvp_csv_part){0, t->gen.len, job->table->data_line + b};
    return rc;
}

/* Scatter data: the root's parts of job->text reach every rank; each but the root gets a
 * buffer for its part.  Collective. */
static int scatter_open(struct tvp_job *job, struct mpi_state *s, struct mpi_table *t)
{
    size_t n = (size_t)s->size;
    int rc = (t->parts = calloc(n, sizeof *t->parts)) ? TVP_OK : TVP_ENOMEM;
    if (!rc && s->rank == 0)
        rc = tvp_table_parts(job, t->parts);
    if ((rc = mpi_errors_agree(rc)))
        return rc;
    if (n * sizeof *t->parts > INT_MAX)
        return TVP_ENOSYS;
    if ((rc = mpi_comm_err(MPI_Bcast(t->parts, (int)(n * sizeof *t->parts), MPI_BYTE, 0,
                                     MPI_COMM_WORLD))))
        return rc;
    t->part = t->parts[s->rank];
    /* the root's table of the parts, and whether they go in one MPI_Scatterv (the same
     * decision everywhere: every rank knows every part) */
    uint64_t *count = calloc(n, sizeof *count), *at = calloc(n, sizeof *at);
    if (!count || !at) {
        free(count);
        free(at);
        return TVP_ENOMEM;
    }
    for (size_t r = 0; r < n; r++) {
        count[r] = t->parts[r].end - t->parts[r].begin;
        at[r] = t->parts[r].begin;
        t->moved_in += r ? count[r] : 0;
    }
    t->in_collective = fits_collective(&t->bytes, count, at, s->size);
    t->in_count = count, t->in_at = at;
    return s->rank == 0 ? TVP_OK : part_buffer(t);
}

static int table_open(struct tvp_job *job, struct mpi_state *s, double *t_touch)
{
    const struct tvp_world *w = job->world;
    s->lane_in.type = s->lane_out.type = MPI_DATATYPE_NULL; /* the map shape's, unused */
    s->rank = w->rank;
    s->size = w->size;
    s->scatter = job->opt->data == TVP_DATA_SCATTER;
    s->dynamic = 0; /* tables are always static */
    s->inplace = s->scatter && s->rank == 0;
    struct mpi_table *t = s->table = calloc(1, sizeof *t);
    if (!t)
        return mpi_errors_agree(TVP_ENOMEM);
    t->fd = -1;
    tvp_lenc_worker_init(&t->lw);
    t->src = s->scatter ? SRC_ROOT : job->gen ? SRC_GEN : SRC_FILE;
    uint64_t most = TVP_MPI_MSG_MAX < INT_MAX ? TVP_MPI_MSG_MAX : INT_MAX;
    t->bytes = (struct mpi_lane){MPI_BYTE, 1, most};
    t->codes = (struct mpi_lane){MPI_UINT32_T, sizeof(uint32_t), most / sizeof(uint32_t)};
    if (!t->codes.max_items)
        t->codes.max_items = 1;
    int rc = job->workers != s->size ? TVP_EUSAGE : TVP_OK;
    if (!rc)
        rc = tvp_pin_process(job->topo, job->pu_plan ? job->pu_plan[s->rank] : -1);
    if (!rc && s->rank == 0)
        rc = root_open(job, s, t);
    /* the steps below communicate: everybody must get there */
    if ((rc = mpi_errors_agree(rc)))
        return rc;
    double t0 = tvp_now();
    rc = t->src == SRC_FILE ? file_open(job, s, t)
         : t->src == SRC_GEN ? gen_open(job, s, t)
                             : scatter_open(job, s, t);
    *t_touch = tvp_now() - t0;
    return rc;
}

int mpi_table_start(struct tvp_job *job, struct tvp_start *st)
{
    return mpi_start_with(job, st, table_open);
}

int mpi_table_stop(struct tvp_job *job)
{
    mpi_state_close(job->state);
    job->state = NULL;
    return TVP_OK;
}

/* ---- the phases ---------------------------------------------------------------------- */

static int table_distribute(struct tvp_job *job, struct mpi_state *s, struct mpi_table *t)
{
    size_t len = t->part.end - t->part.begin;
    t->failed = (struct tvp_table_error){0, TVP_TABLE_OK, 0, ""};
    if (t->src == SRC_ROOT)
        return table_move(s, t, 0, t->in_collective, &t->bytes, t->buf, len, (void *)job->text,
                          t->in_count, t->in_at);
    if (t->src == SRC_FILE && pread_full(t->fd, t->buf, len, t->part.begin)) {
        char msg[TVP_LENC_MSG];
        snprintf(msg, sizeof msg, "%s: cannot read bytes %zu to %zu: %s", job->table->name,
                 t->part.begin, t->part.end, strerror(errno));
        t->failed = error_of(TVP_ESYS, TVP_TABLE_PARSE, s->rank, msg);
    }
    return TVP_OK; /* a failed read is agreed with fit's errors */
}

/* FIT, once fit went well everywhere: the sets to the root, the merge there, each rank's
 * map back (*map: this rank's).  A failed merge stops every rank by a verdict before the
 * maps go. */
static int table_merge(struct tvp_job *job, struct mpi_state *s, struct mpi_table *t,
                       int collective, const uint32_t **map)
{
    const struct tvp_lenc_table *tab = job->table;
    int root = s->rank == 0, rc;
    size_t nsel = tab->nsel;
    if ((rc = table_move(s, t, 1, collective, &t->bytes, t->packed.data, t->packed.len,
                         t->sets_in, t->count, t->at)))
        return rc;
    struct table_verdict v = {0, 0};
    if (root) {
        for (int r = 1; r < s->size; r++)
            t->merge_bytes += t->count[r];
        t->sets[0] = t->lw.sets; /* the root's own, where they are */
        for (int r = 1; !rc && r < s->size; r++) {
            struct tvp_labels *sets = &t->unpacked[(size_t)r * nsel];
            rc = tvp_lenc_unpack_sets(tab, t->sets_in + t->at[r], (size_t)t->count[r], sets);
            t->sets[r] = sets;
        }
        uint64_t sum = 0; /* every map in one buffer, in rank order */
        for (int r = 0; !rc && r < s->size; r++) {
            t->count[r] = tvp_lenc_map_len(tab, t->sets[r]);
            t->at[r] = sum;
            sum += t->count[r];
        }
        if (!rc)
            rc = grow_to((void **)&t->maps_all, &t->maps_cap, (size_t)sum, sizeof *t->maps_all);
        for (int r = 0; !rc && r < s->size; r++)
            t->maps[r] = t->maps_all + t->at[r];
        if (!rc)
            rc = tvp_table_merge(job, t->sets, t->maps);
        if (rc == TVP_EINPUT) /* bytes tvp_lenc_pack_sets made did not unpack */
            rc = TVP_EWORKER;
        if (rc) {
            *job->error = error_of(rc, TVP_TABLE_LATER, 0,
                                   rc == TVP_ENOMEM ? "out of memory"
                                                    : "a rank's label sets arrived damaged");
            v.err = rc;
        } else {
            v.collective = fits_collective(&t->codes, t->count, t->at, s->size);
            for (int r = 1; r < s->size; r++)
                t->merge_bytes += t->count[r] * sizeof(uint32_t);
        }
    }
    if ((rc = verdict_share(&v)))
        return rc;
    if (v.err)
        return v.err;
    if ((rc = table_move(s, t, 0, v.collective, &t->codes, t->map,
                         tvp_lenc_map_len(tab, t->lw.sets), t->maps_all, t->count, t->at)))
        return rc;
    *map = root ? t->maps[0] : t->map;
    return TVP_OK;
}

/* After fit, on a rank but the root, FIT: its sets as bytes and room for its map. */
static int fit_ready(const struct tvp_lenc_table *tab, struct mpi_table *t, int rank,
                     struct table_note *note)
{
    int rc;
    t->packed.len = 0;
    if ((rc = tvp_lenc_pack_sets(tab, t->lw.sets, &t->packed)) ||
        (rc = grow_to((void **)&t->map, &t->map_cap, tvp_lenc_map_len(tab, t->lw.sets),
                      sizeof *t->map))) {
        note->e = error_of(rc, TVP_TABLE_LATER, rank,
                           rc == TVP_ENOMEM ? "out of memory"
                                            : "a label of 4 GiB or more cannot be sent");
        return rc;
    }
    note->bytes = t->packed.len;
    return TVP_OK;
}

/* Parse and fit, the merge (FIT), encode and format, each step's errors agreed. */
static int table_compute(struct tvp_job *job, struct mpi_state *s, struct mpi_table *t,
                         struct mpi_report *rep)
{
    const struct tvp_lenc_table *tab = job->table;
    struct tvp_lenc_worker *me = &t->lw;
    int root = s->rank == 0, fit = tab->mode == TVP_LENC_FIT, in_place = root && t->src == SRC_ROOT;
    struct table_note note = {.bytes = 0};
    struct table_verdict v = {0, 0};
    tvp_lenc_worker_reset(me);
    me->buf = in_place ? job->text : t->src == SRC_GEN ? t->gen.data : t->buf;
    me->begin = in_place ? t->part.begin : 0;
    me->end = me->begin + (t->part.end - t->part.begin);
    me->line = t->part.line;
    if (t->failed.err)
        note.e = t->failed;
    tvp_inject_point(); /* --inject: a table worker's task is its part's fit */
    int rc = t->failed.err ? t->failed.err : tvp_table_fit(job, me, s->rank, &note.e);
    double fitted = tvp_now();
    if (!rc && fit && !root)
        fit_ready(tab, t, s->rank, &note);
    /* fit's errors and the sets' sizes to the root; its verdict to everybody */
    if ((rc = notes_gather(t, &note)))
        return rc;
    if (root)
        notes_judge(job, s, t, &v);
    if (root && fit)
        room_for(job, &t->sets_in, &t->sets_cap, t->at[s->size - 1] + t->count[s->size - 1], &v);
    if ((rc = verdict_share(&v)))
        return rc;
    if (v.err)
        return v.err;
    const uint32_t *map = NULL;
    if (fit) {
        if ((rc = table_merge(job, s, t, v.collective, &map)))
            return rc;
        rep->steps[2] = tvp_now() - fitted;
    }
    /* encode and format; their errors and the output's size to the root */
    note = (struct table_note){.bytes = 0};
    if (!tvp_table_finish(job, me, map, s->rank, &note.e))
        note.bytes = me->out.len;
    if ((rc = notes_gather(t, &note)))
        return rc;
    if (root) {
        notes_judge(job, s, t, &v);
        room_for(job, &t->out_in, &t->out_cap, t->at[s->size - 1] + t->count[s->size - 1], &v);
    }
    if ((rc = verdict_share(&v)))
        return rc;
    t->out_collective = v.collective;
    rep->rows = me->rows;
    rep->steps[0] = me->t.parse;
    rep->steps[1] = me->t.fit;
    rep->steps[3] = me->t.encode;
    rep->steps[4] = me->t.format;
    return v.err;
}

/* Every part's text to the root, in rank order; the root's own stays where it is. */
static int table_collect(struct tvp_job *job, struct mpi_state *s, struct mpi_table *t)
{
    struct tvp_lenc_worker *me = &t->lw;
    int rc = table_move(s, t, 1, t->out_collective, &t->bytes, me->out.data, me->out.len,
                        t->out_in, t->count, t->at);
    if (rc || s->rank != 0)
        return rc;
    job->parts_out[0] = (struct tvp_label){me->out.data, me->out.len};
    for (int r = 1; r < s->size; r++) {
        job->parts_out[r] = (struct tvp_label){t->out_in + t->at[r], (size_t)t->count[r]};
        t->out_bytes += t->count[r];
    }
    return TVP_OK;
}

static int table_phase(struct tvp_job *job, struct mpi_state *s, enum mpi_phase ph,
                       struct mpi_report *me)
{
    switch (ph) {
    case PHASE_STARTUP:
        return mpi_barrier_wait();
    case PHASE_DISTRIBUTE:
        return table_distribute(job, s, s->table);
    case PHASE_COMPUTE:
        return table_compute(job, s, s->table, me);
    case PHASE_COLLECT:
        return table_collect(job, s, s->table);
    default:
        return TVP_OK;
    }
}

int mpi_table_run(struct tvp_job *job, struct tvp_run *run)
{
    struct mpi_state *s = job->state;
    struct mpi_table *t = s->table;
    struct mpi_report me = {.sum = TVP_CHECKSUM_EMPTY, .pu = -1};
    t->merge_bytes = t->out_bytes = 0;
    int rc = mpi_phases_run(job, s, table_phase, &me);
    if (!rc) /* untimed: a rank's output stays until the next run; the root points at it */
        rc = mpi_run_finish(job, s, &me, t->moved_in + t->merge_bytes + t->out_bytes, 0, run);
    if (rc || s->rank != 0)
        return rc;
    double step[5] = {0};
    run->rows = 0;
    for (int r = 0; r < s->size; r++) {
        for (int i = 0; i < 5; i++)
            step[i] = s->reports[r].steps[i] > step[i] ? s->reports[r].steps[i] : step[i];
        run->rows += s->reports[r].rows;
    }
    run->t_parse = step[0], run->t_fit = step[1], run->t_merge = step[2];
    run->t_encode = step[3], run->t_format = step[4];
    run->merge_bytes = t->merge_bytes;
    return TVP_OK;
}
