/* tvp-openmp: workers are the threads of one OpenMP team sharing the root's memory. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* sched_setaffinity, CPU_SET */
#endif
#include <omp.h>
#include <sched.h>
#include <stdlib.h>

#include "inproc.h"

/* The shared-memory state of one workload shape (common/inproc.c). */
struct team_ops {
    int (*create)(struct tvp_job *job);
    int (*worker_start)(struct tvp_job *job, int w);
    double (*max_touch)(const struct tvp_job *job);
    int (*destroy)(struct tvp_job *job);
};

static int openmp_team_start(struct tvp_job *job, struct tvp_start *st, const struct team_ops *ops)
{
    double t0 = tvp_now(); /* t_init: all of it but what max_touch() accounts for */
    int rc = ops->create(job), team = 0;
    if (rc)
        return rc;
    omp_set_dynamic(0);
    /* the first region creates the threads; each pins itself and touches its own pages */
#pragma omp parallel num_threads(job->workers) reduction(min : rc)
    {
        if (omp_get_thread_num() == 0)
            team = omp_get_num_threads();
        rc = ops->worker_start(job, omp_get_thread_num());
    }
    st->t_touch = ops->max_touch(job);
    st->t_init = tvp_now() - t0 - st->t_touch;
    if (!rc && team != job->workers)
        rc = TVP_ENOSYS; /* the runtime would not give us the team (OMP_THREAD_LIMIT?) */
    if (rc)
        ops->destroy(job);
    return rc;
}

static int openmp_start(struct tvp_job *job, struct tvp_start *st)
{
    static const struct team_ops map = {tvp_inproc_create, tvp_inproc_worker_start,
                                        tvp_inproc_max_touch, tvp_inproc_destroy};
    return openmp_team_start(job, st, &map);
}

static int openmp_run(struct tvp_job *job, struct tvp_run *run)
{
    double t[5];
    int rc = 0;
    int dynamic = job->opt->schedule == TVP_SCHED_DYNAMIC;
    uint64_t chunks = tvp_chunk_count(job->n, job->chunk);
    t[0] = tvp_now();
#pragma omp parallel num_threads(job->workers) reduction(min : rc)
    {
        int w = omp_get_thread_num();
#pragma omp barrier
        if (w == 0)
            t[1] = tvp_now(); /* startup: the team is awake */
#pragma omp barrier
        if (w == 0)
            t[2] = tvp_now(); /* distribute: shared memory, nothing moves */
        if (dynamic) {
            /* schedule(dynamic, C) over items, written over chunk numbers so that the
             * kernel sees whole chunks */
#pragma omp for schedule(dynamic, 1) nowait
            for (uint64_t k = 0; k < chunks; k++)
                tvp_inproc_worker_chunk(job, w, k);
        } else {
            tvp_inproc_worker_block(job, w);
        }
#pragma omp barrier
        if (w == 0)
            t[3] = tvp_now();
#pragma omp barrier
        if (w == 0)
            t[4] = tvp_now(); /* collect: nothing moves either */
        rc = tvp_inproc_worker_report(job, w, run);
    }
    if (dynamic) /* local data: making chunks' input; scatter: nothing moves */
        tvp_run_dynamic(run, t[1] - t[0], t[4] - t[1], tvp_inproc_take_dist(job), 0);
    else
        tvp_run_static(run, t[1] - t[0], t[2] - t[1], t[3] - t[2], t[4] - t[3]);
    run->peak_rss_kb = tvp_peak_rss_kb();
    return rc;
}

static int openmp_stencil_start(struct tvp_job *job, struct tvp_start *st)
{
    static const struct team_ops stencil = {
        tvp_inproc_stencil_create, tvp_inproc_stencil_worker_start, tvp_inproc_stencil_max_touch,
        tvp_inproc_stencil_destroy};
    return openmp_team_start(job, st, &stencil);
}

/* Every pass inside one parallel region: the rows of a pass are shared, so the halo is
 * simply read from the neighbours' rows after the barrier that ends the pass before. */
static int openmp_stencil_run(struct tvp_job *job, struct tvp_run *run)
{
    double t[5];
    int dynamic = job->opt->schedule == TVP_SCHED_DYNAMIC, npasses = job->grid->npasses;
    uint64_t chunks = tvp_inproc_stencil_chunks(job);
    t[0] = tvp_now();
#pragma omp parallel num_threads(job->workers)
    {
        int w = omp_get_thread_num();
#pragma omp barrier
        if (w == 0)
            t[1] = t[2] = tvp_now(); /* startup; distribute: nothing moves */
#pragma omp barrier /* nobody starts before t[1] (a preempted thread 0 would take it late) */
        for (int p = 0; p < npasses; p++) {
            if (dynamic) {
#pragma omp for schedule(dynamic, 1)
                for (uint64_t k = 0; k < chunks; k++)
                    tvp_inproc_stencil_chunk(job, w, p, k);
            } else {
                tvp_inproc_stencil_block(job, w, p);
#pragma omp barrier
            }
        }
        if (w == 0)
            t[3] = t[4] = tvp_now(); /* collect: nothing moves either */
        tvp_inproc_stencil_report(job, w, run);
    }
    tvp_run_static(run, t[1] - t[0], t[2] - t[1], t[3] - t[2], t[4] - t[3]);
    run->peak_rss_kb = tvp_peak_rss_kb();
    return 0;
}

static int openmp_table_start(struct tvp_job *job, struct tvp_start *st)
{
    static const struct team_ops tab = {tvp_inproc_table_create, tvp_inproc_table_worker_start,
                                        tvp_inproc_table_max_touch, tvp_inproc_table_destroy};
    return openmp_team_start(job, st, &tab);
}

/* One region: each thread parses and fits its part; one thread checks for errors; the
 * columns are merged in parallel (a thread per column); each thread encodes and formats
 * its part.  Nothing moves: the parts' text stays where the threads wrote it. */
static int openmp_table_run(struct tvp_job *job, struct tvp_run *run)
{
    double t[3];
    int failed = 0;
    t[0] = tvp_now();
#pragma omp parallel num_threads(job->workers)
    {
        int w = omp_get_thread_num();
#pragma omp barrier
        if (w == 0)
            t[1] = tvp_now(); /* startup; distribute: nothing moves */
#pragma omp barrier /* nobody starts before t[1] (a preempted thread 0 would take it late) */
        tvp_inproc_table_fit(job, w);
#pragma omp barrier
#pragma omp single
        failed = tvp_inproc_table_check(job);
        if (!failed) {
            tvp_inproc_table_merge(job, w);
#pragma omp barrier
            tvp_inproc_table_finish(job, w);
        }
#pragma omp barrier
        if (w == 0)
            t[2] = tvp_now(); /* collect: nothing moves either */
    }
    tvp_run_static(run, t[1] - t[0], 0, t[2] - t[1], 0);
    run->peak_rss_kb = tvp_peak_rss_kb();
    return tvp_inproc_table_done(job, run);
}

/* With OMP_PROC_BIND (and OMP_PLACES) set, as batch scripts do, libgomp binds the initial
 * thread to the first place before main, so the driver would see a one-core process and
 * plan every worker there.  The places are what this process may use: its affinity
 * becomes their union again, and tvp pins each thread itself as with any --bind. */
static int openmp_init(int *argc, char ***argv, struct tvp_world *w)
{
    (void)argc, (void)argv, (void)w;
    int np = omp_get_num_places();
    if (omp_get_proc_bind() == omp_proc_bind_false || np <= 0)
        return 0;
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int p = 0; p < np; p++) {
        int n = omp_get_place_num_procs(p);
        int *ids = n > 0 ? malloc((size_t)n * sizeof *ids) : NULL;
        if (!ids)
            continue;
        omp_get_place_proc_ids(p, ids);
        for (int i = 0; i < n; i++)
            if (ids[i] >= 0 && ids[i] < CPU_SETSIZE)
                CPU_SET(ids[i], &set);
        free(ids);
    }
    if (CPU_COUNT(&set) > 0)
        (void)sched_setaffinity(0, sizeof set, &set); /* best effort: else as bound */
    return 0;
}

/* probes: openmp/probe.c */
int openmp_probe(const struct tvp_probe_ctx *ctx, const char *name, struct tvp_probe_sink *out);

static const struct tvp_backend tvp_backend_openmp = {
    .name = "openmp",
    .init = openmp_init,
    .flags = TVP_BACKEND_THREADS, /* --inject: every worker is a thread of this process */
    .start = openmp_start,
    .run = openmp_run,
    .stop = tvp_inproc_destroy,
    .stencil_start = openmp_stencil_start,
    .stencil_run = openmp_stencil_run,
    .stencil_stop = tvp_inproc_stencil_destroy,
    .table_start = openmp_table_start,
    .table_run = openmp_table_run,
    .table_stop = tvp_inproc_table_destroy,
    .probe = openmp_probe, /* probes */
};

int main(int argc, char **argv)
{
    return tvp_driver_main(argc, argv, &tvp_backend_openmp);
}
