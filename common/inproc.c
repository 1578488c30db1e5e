/* The work of one worker sharing the root's memory; see inproc.h. */
#include <stdlib.h>
#include <string.h>

#include "inproc.h"

static struct tvp_inproc_worker *worker(const struct tvp_job *job, int w)
{
    return (struct tvp_inproc_worker *)job->state + w;
}

static int local(const struct tvp_job *job) { return job->opt->data == TVP_DATA_LOCAL; }
static int dynamic(const struct tvp_job *job) { return job->opt->schedule == TVP_SCHED_DYNAMIC; }

int tvp_inproc_create(struct tvp_job *job)
{
    job->state = calloc((size_t)job->workers, sizeof(struct tvp_inproc_worker));
    return job->state ? 0 : TVP_ENOMEM;
}

int tvp_inproc_destroy(struct tvp_job *job)
{
    if (!job->state)
        return 0;
    for (int w = 0; w < job->workers; w++) {
        tvp_free(worker(job, w)->in);
        tvp_free(worker(job, w)->out);
        tvp_chunk_store_free(&worker(job, w)->kept);
    }
    free(job->state);
    job->state = NULL;
    return 0;
}

int tvp_inproc_worker_start(struct tvp_job *job, int w)
{
    struct tvp_inproc_worker *me = worker(job, w);
    int rc = tvp_pin_thread(job->topo, job->pu_plan[w]);
    if (rc || !local(job))
        return rc; /* scatter: the root's arrays are shared, nothing of its own */
    double t0 = tvp_now();
    uint64_t b, e;
    if (dynamic(job)) {
        b = 0, e = job->chunk < job->n ? job->chunk : job->n;
        tvp_chunk_store_init(&me->kept, tvp_job_out_bytes(job, e));
        me->in = tvp_alloc_touched(tvp_job_in_bytes(job, e));
        if (!me->in)
            return TVP_ENOMEM;
    } else {
        tvp_partition(job->n, job->workers, w, &b, &e);
        me->in = tvp_alloc_touched(tvp_job_in_bytes(job, e - b));
        me->out = tvp_alloc_touched(tvp_job_out_bytes(job, e - b));
        if (!me->in || !me->out)
            return TVP_ENOMEM;
        tvp_job_fill(job, b, e, me->in);
    }
    me->t_touch = tvp_now() - t0;
    return 0;
}

/* the input and output of items [b,e): own buffers, or slices of the root's arrays */
static void slices(const struct tvp_job *job, struct tvp_inproc_worker *me, uint64_t b,
                   const void **in, void **out)
{
    if (local(job)) {
        *in = me->in;
        *out = me->out;
    } else {
        *in = (const char *)job->in + tvp_job_in_bytes(job, b);
        *out = (char *)job->out + tvp_job_out_bytes(job, b);
    }
}

void tvp_inproc_worker_block(struct tvp_job *job, int w)
{
    struct tvp_inproc_worker *me = worker(job, w);
    uint64_t b, e;
    const void *in;
    void *out;
    tvp_partition(job->n, job->workers, w, &b, &e);
    slices(job, me, b, &in, &out);
    tvp_inject_worker(w); /* --inject: the task is worker w's */
    tvp_job_kernel(job, in, out, b, e);
    me->pu = tvp_pin_last_pu(job->topo);
}

void tvp_inproc_worker_chunk(struct tvp_job *job, int w, uint64_t k)
{
    struct tvp_inproc_worker *me = worker(job, w);
    uint64_t b, e;
    const void *in;
    void *out;
    tvp_chunk_range(job->n, job->chunk, k, &b, &e);
    slices(job, me, b, &in, &out);
    if (local(job)) { /* the worker makes the chunk's input and keeps its output */
        double t0 = tvp_now();
        tvp_job_fill(job, b, e, me->in);
        me->t_dist += tvp_now() - t0;
        if (!(out = tvp_chunk_store_take(&me->kept, k))) {
            me->err = me->err ? me->err : TVP_ENOMEM;
            return;
        }
    }
    tvp_inject_worker(w);
    tvp_job_kernel(job, in, out, b, e);
    me->pu = tvp_pin_last_pu(job->topo);
}

int tvp_inproc_worker_report(struct tvp_job *job, int w, struct tvp_run *run)
{
    struct tvp_inproc_worker *me = worker(job, w);
    uint64_t b, e;
    if (local(job) && !dynamic(job)) {
        tvp_partition(job->n, job->workers, w, &b, &e);
        job->pieces[w] = tvp_job_checksum(job, me->out, b, e);
    }
    for (size_t i = 0; local(job) && dynamic(job) && i < me->kept.count; i++) {
        tvp_chunk_range(job->n, job->chunk, me->kept.ids[i], &b, &e);
        job->pieces[me->kept.ids[i]] = tvp_job_checksum(job, me->kept.bufs[i], b, e);
    }
    tvp_chunk_store_reset(&me->kept);
    run->pu[w] = me->pu;
    int err = me->err;
    me->err = 0;
    return err;
}

double tvp_inproc_max_touch(const struct tvp_job *job)
{
    double m = 0;
    for (int w = 0; w < job->workers; w++)
        m = worker(job, w)->t_touch > m ? worker(job, w)->t_touch : m;
    return m;
}

double tvp_inproc_take_dist(const struct tvp_job *job)
{
    double dist = 0;
    for (int w = 0; w < job->workers; w++) {
        struct tvp_inproc_worker *me = worker(job, w);
        dist = me->t_dist > dist ? me->t_dist : dist;
        me->t_dist = 0;
    }
    return dist;
}

/* ---- stencil workloads ---------------------------------------------------------------- */

struct inproc_stencil {
    void *in, *out, *tmp; /* whole grids; in/out are job->in/out with scatter data */
    int own;              /* in and out are ours (local data) */
    double t_alloc;       /* allocating and first-touching the grids */
    struct tvp_inproc_worker *workers;
};

static struct inproc_stencil *stencil(const struct tvp_job *job)
{
    return job->state;
}

int tvp_inproc_stencil_create(struct tvp_job *job)
{
    size_t bytes = (size_t)job->grid->height * job->grid->stride;
    struct inproc_stencil *s = calloc(1, sizeof *s);
    if (!s)
        return TVP_ENOMEM;
    job->state = s;
    s->own = local(job);
    s->workers = calloc((size_t)job->workers, sizeof *s->workers);
    double t0 = tvp_now();
    s->tmp = tvp_alloc_touched(bytes);
    s->in = s->own ? tvp_alloc_touched(bytes) : job->in;
    s->out = s->own ? tvp_alloc_touched(bytes) : job->out;
    s->t_alloc = tvp_now() - t0;
    if (!s->workers || !s->tmp || !s->in || !s->out) {
        tvp_inproc_stencil_destroy(job);
        return TVP_ENOMEM;
    }
    return 0;
}

int tvp_inproc_stencil_destroy(struct tvp_job *job)
{
    struct inproc_stencil *s = stencil(job);
    if (!s)
        return 0;
    if (s->own) {
        tvp_free(s->in);
        tvp_free(s->out);
    }
    tvp_free(s->tmp);
    free(s->workers);
    free(s);
    job->state = NULL;
    return 0;
}

static struct tvp_rows stencil_rows(const struct tvp_job *job, void *buf)
{
    return (struct tvp_rows){buf, job->grid->stride, 0, job->grid->height};
}

int tvp_inproc_stencil_worker_start(struct tvp_job *job, int w)
{
    struct inproc_stencil *s = stencil(job);
    int rc = tvp_pin_thread(job->topo, job->pu_plan[w]);
    if (rc || !s->own || w >= tvp_stencil_active(job))
        return rc;
    double t0 = tvp_now();
    uint32_t b, e;
    uint64_t b64, e64;
    tvp_partition(job->grid->height, tvp_stencil_active(job), w, &b64, &e64);
    b = (uint32_t)b64, e = (uint32_t)e64;
    struct tvp_rows in = stencil_rows(job, s->in);
    tvp_job_fill_rows(job, b, e, &in);
    s->workers[w].t_touch = tvp_now() - t0;
    return 0;
}

/* Pass p over rows [b,e): grid p is the input (p = 0) or the buffer pass p-1 wrote; the
 * buffers alternate so that the last pass writes the output. */
static void stencil_pass(struct tvp_job *job, int p, uint32_t b, uint32_t e)
{
    struct inproc_stencil *s = stencil(job);
    int last = job->grid->npasses - 1;
    void *dst = (last - p) % 2 == 0 ? s->out : s->tmp;
    void *src = p == 0 ? s->in : (last - p) % 2 == 0 ? s->tmp : s->out;
    struct tvp_rows from = stencil_rows(job, src), to = stencil_rows(job, dst);
    if (b < e)
        tvp_job_pass(job, p, &from, &to, b, e);
}

void tvp_inproc_stencil_block(struct tvp_job *job, int w, int p)
{
    int active = tvp_stencil_active(job);
    if (w < active) {
        uint64_t b, e;
        tvp_partition(job->grid->height, active, w, &b, &e);
        tvp_inject_worker(w);
        stencil_pass(job, p, (uint32_t)b, (uint32_t)e);
    }
    stencil(job)->workers[w].pu = tvp_pin_last_pu(job->topo);
}

uint64_t tvp_inproc_stencil_chunks(const struct tvp_job *job)
{
    return tvp_chunk_count(job->grid->height, job->chunk);
}

void tvp_inproc_stencil_chunk(struct tvp_job *job, int w, int p, uint64_t k)
{
    uint64_t b, e;
    tvp_chunk_range(job->grid->height, job->chunk, k, &b, &e);
    tvp_inject_worker(w);
    stencil_pass(job, p, (uint32_t)b, (uint32_t)e);
    stencil(job)->workers[w].pu = tvp_pin_last_pu(job->topo);
}

void tvp_inproc_stencil_report(struct tvp_job *job, int w, struct tvp_run *run)
{
    struct inproc_stencil *s = stencil(job);
    int active = tvp_stencil_active(job);
    if (s->own && w < active) {
        uint64_t b, e;
        tvp_partition(job->grid->height, active, w, &b, &e);
        struct tvp_rows out = stencil_rows(job, s->out);
        job->pieces[w] = tvp_job_rows_checksum(job, &out, (uint32_t)b, (uint32_t)e);
    }
    run->pu[w] = s->workers[w].pu;
}

double tvp_inproc_stencil_max_touch(const struct tvp_job *job)
{
    double m = 0; /* the grids' allocation, then the slowest worker's input rows */
    for (int w = 0; w < job->workers; w++)
        m = stencil(job)->workers[w].t_touch > m ? stencil(job)->workers[w].t_touch : m;
    return stencil(job)->t_alloc + m;
}

/* ---- table workloads ---------------------------------------------------------------------- */

struct inproc_table {
    struct tvp_csv_part *parts;
    struct tvp_lenc_worker *lw;
    struct tvp_table_error *errs;
    const struct tvp_labels **sets; /* [workers]: each worker's nsel sets */
    uint32_t **maps;
    size_t *map_cap;
    double *t_merge;
    int *pu;
};

static struct inproc_table *table(const struct tvp_job *job)
{
    return job->state;
}

int tvp_inproc_table_create(struct tvp_job *job)
{
    size_t n = (size_t)job->workers;
    struct inproc_table *t = calloc(1, sizeof *t);
    job->state = t;
    if (!t)
        return TVP_ENOMEM;
    t->parts = calloc(n, sizeof *t->parts);
    t->lw = calloc(n, sizeof *t->lw);
    t->errs = calloc(n, sizeof *t->errs);
    t->sets = calloc(n, sizeof *t->sets);
    t->maps = calloc(n, sizeof *t->maps);
    t->map_cap = calloc(n, sizeof *t->map_cap);
    t->t_merge = calloc(n, sizeof *t->t_merge);
    t->pu = calloc(n, sizeof *t->pu);
    if (!t->parts || !t->lw || !t->errs || !t->sets || !t->maps || !t->map_cap || !t->t_merge ||
        !t->pu) {
        tvp_inproc_table_destroy(job);
        return TVP_ENOMEM;
    }
    for (size_t w = 0; w < n; w++)
        tvp_lenc_worker_init(&t->lw[w]);
    int rc = tvp_table_parts(job, t->parts);
    if (rc)
        tvp_inproc_table_destroy(job);
    return rc;
}

int tvp_inproc_table_destroy(struct tvp_job *job)
{
    struct inproc_table *t = table(job);
    if (!t)
        return 0;
    for (int w = 0; w < job->workers; w++) {
        if (t->lw)
            tvp_lenc_worker_free(&t->lw[w]);
        if (t->maps)
            free(t->maps[w]);
    }
    free(t->parts);
    free(t->lw);
    free(t->errs);
    free(t->sets);
    free(t->maps);
    free(t->map_cap);
    free(t->t_merge);
    free(t->pu);
    free(t);
    job->state = NULL;
    return 0;
}

int tvp_inproc_table_worker_start(struct tvp_job *job, int w)
{
    return tvp_pin_thread(job->topo, job->pu_plan[w]);
}

void tvp_inproc_table_fit(struct tvp_job *job, int w)
{
    struct inproc_table *t = table(job);
    struct tvp_lenc_worker *me = &t->lw[w];
    tvp_lenc_worker_reset(me);
    me->buf = job->text;
    me->begin = t->parts[w].begin;
    me->end = t->parts[w].end;
    me->line = t->parts[w].line;
    t->t_merge[w] = 0;
    tvp_inject_worker(w); /* --inject: a table worker's task is its part's fit */
    tvp_inject_point();
    if (tvp_table_fit(job, me, w, &t->errs[w]) || job->table->mode != TVP_LENC_FIT)
        return;
    /* room for the map the merge will fill */
    size_t len = tvp_lenc_map_len(job->table, me->sets);
    if (len > t->map_cap[w]) {
        free(t->maps[w]);
        t->maps[w] = malloc(len * sizeof **t->maps);
        t->map_cap[w] = t->maps[w] ? len : 0;
        if (!t->maps[w])
            t->errs[w] = (struct tvp_table_error){TVP_ENOMEM, TVP_TABLE_LATER, w, "out of memory"};
    }
    t->sets[w] = me->sets;
}

int tvp_inproc_table_check(struct tvp_job *job)
{
    const struct tvp_table_error *e = tvp_table_error_pick(table(job)->errs, (size_t)job->workers);
    if (!e)
        return 0;
    *job->error = *e;
    return e->err;
}

void tvp_inproc_table_merge(struct tvp_job *job, int w)
{
    struct inproc_table *t = table(job);
    const struct tvp_lenc_table *tab = job->table;
    if (tab->mode != TVP_LENC_FIT)
        return;
    double t0 = tvp_now();
    int rc = tvp_table_merge_columns(job, t->sets, t->maps, (size_t)w, (size_t)job->workers);
    if (rc && !t->errs[w].err)
        t->errs[w] = (struct tvp_table_error){rc, TVP_TABLE_LATER, w, "out of memory"};
    t->t_merge[w] = tvp_now() - t0;
}

void tvp_inproc_table_finish(struct tvp_job *job, int w)
{
    struct inproc_table *t = table(job);
    struct tvp_lenc_worker *me = &t->lw[w];
    tvp_table_finish(job, me, t->maps[w], w, &t->errs[w]);
    t->pu[w] = tvp_pin_last_pu(job->topo);
}

static double max_of(double a, double b)
{
    return a > b ? a : b;
}

int tvp_inproc_table_done(struct tvp_job *job, struct tvp_run *run)
{
    struct inproc_table *t = table(job);
    int rc = tvp_inproc_table_check(job);
    for (int w = 0; w < job->workers; w++) {
        const struct tvp_lenc_worker *me = &t->lw[w];
        run->t_parse = max_of(run->t_parse, me->t.parse);
        run->t_fit = max_of(run->t_fit, me->t.fit);
        run->t_merge = max_of(run->t_merge, t->t_merge[w]);
        run->t_encode = max_of(run->t_encode, me->t.encode);
        run->t_format = max_of(run->t_format, me->t.format);
        run->rows += me->rows;
        run->pu[w] = t->pu[w];
        job->parts_out[w] = (struct tvp_label){me->out.data, me->out.len};
    }
    return rc;
}

double tvp_inproc_table_max_touch(const struct tvp_job *job)
{
    (void)job;
    return 0;
}
