/* tvp-serial: one worker, no parallel runtime.  The baseline of every speedup. */
#include "inproc.h"

static int serial_start(struct tvp_job *job, struct tvp_start *st)
{
    int rc = tvp_inproc_create(job);
    if (rc)
        return rc;
    rc = tvp_inproc_worker_start(job, 0);
    st->t_touch = tvp_inproc_max_touch(job);
    if (rc)
        tvp_inproc_destroy(job);
    return rc;
}

static int serial_run(struct tvp_job *job, struct tvp_run *run)
{
    double t0 = tvp_now(); /* no workers to start, no data to move: the phases are empty */
    double t2 = tvp_now();
    if (job->opt->schedule == TVP_SCHED_STATIC) {
        tvp_inproc_worker_block(job, 0);
    } else {
        uint64_t chunks = tvp_chunk_count(job->n, job->chunk);
        for (uint64_t k = 0; k < chunks; k++)
            tvp_inproc_worker_chunk(job, 0, k);
    }
    double t3 = tvp_now();
    if (job->opt->schedule == TVP_SCHED_DYNAMIC)
        tvp_run_dynamic(run, t2 - t0, t3 - t2, tvp_inproc_take_dist(job), 0);
    else
        tvp_run_static(run, t2 - t0, 0, t3 - t2, 0);
    run->peak_rss_kb = tvp_peak_rss_kb();
    return tvp_inproc_worker_report(job, 0, run);
}

static int serial_stencil_start(struct tvp_job *job, struct tvp_start *st)
{
    int rc = tvp_inproc_stencil_create(job);
    if (!rc && (rc = tvp_inproc_stencil_worker_start(job, 0)))
        tvp_inproc_stencil_destroy(job);
    if (!rc)
        st->t_touch = tvp_inproc_stencil_max_touch(job);
    return rc;
}

static int serial_stencil_run(struct tvp_job *job, struct tvp_run *run)
{
    double t0 = tvp_now();
    for (int p = 0; p < job->grid->npasses; p++) {
        if (job->opt->schedule == TVP_SCHED_STATIC) {
            tvp_inproc_stencil_block(job, 0, p);
        } else {
            for (uint64_t k = 0; k < tvp_inproc_stencil_chunks(job); k++)
                tvp_inproc_stencil_chunk(job, 0, p, k);
        }
    }
    tvp_run_static(run, 0, 0, tvp_now() - t0, 0);
    tvp_inproc_stencil_report(job, 0, run);
    run->peak_rss_kb = tvp_peak_rss_kb();
    return 0;
}

static int serial_table_start(struct tvp_job *job, struct tvp_start *st)
{
    (void)st;
    int rc = tvp_inproc_table_create(job);
    if (!rc && (rc = tvp_inproc_table_worker_start(job, 0)))
        tvp_inproc_table_destroy(job);
    return rc;
}

static int serial_table_run(struct tvp_job *job, struct tvp_run *run)
{
    double t0 = tvp_now();
    tvp_inproc_table_fit(job, 0);
    if (!tvp_inproc_table_check(job)) {
        tvp_inproc_table_merge(job, 0);
        tvp_inproc_table_finish(job, 0);
    }
    tvp_run_static(run, 0, 0, tvp_now() - t0, 0);
    run->peak_rss_kb = tvp_peak_rss_kb();
    return tvp_inproc_table_done(job, run);
}

static const struct tvp_backend tvp_backend_serial = {
    .name = "serial",
    .flags = TVP_BACKEND_FIXED_WORKERS,
    .start = serial_start,
    .run = serial_run,
    .stop = tvp_inproc_destroy,
    .stencil_start = serial_stencil_start,
    .stencil_run = serial_stencil_run,
    .stencil_stop = tvp_inproc_stencil_destroy,
    .table_start = serial_table_start,
    .table_run = serial_table_run,
    .table_stop = tvp_inproc_table_destroy,
};

int main(int argc, char **argv)
{
    return tvp_driver_main(argc, argv, &tvp_backend_serial);
}
