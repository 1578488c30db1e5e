/* The POSIX backend's map shape (squares and every workload over items) on the process
 * pool library (pool.h): the same pool a C program would use as Python's
 * multiprocessing.Pool, so what tvp-posix measures is what that library costs.
 *
 *   start    tvp_pool_create: W fork()ed workers; each one's initializer (map_init) pins
 *            it to its PU of the plan and allocates and touches its own buffers (with
 *            local data and a static schedule: makes its block's input).
 *   static   one task per worker, for that worker (tvp_pool_submit, worker = w, in
 *            place): its block [b, e) of tvp_partition.  Scatter over pipes: the block's
 *            input goes from job->in down the worker's pipe and its output comes back
 *            straight into job->out; over shared memory (job->in/out are MAP_SHARED,
 *            given to the pool as shared regions) only addresses cross; with local data
 *            the worker computes on what it made.  Like Pool.map with one chunk per
 *            worker: the workers receive, compute and send back side by side.
 *   dynamic  tvp_pool_map in chunks of --chunk items: each idle worker is handed the next
 *            chunk (through the pipes, in place in shared memory, or made by the worker
 *            itself with local data, which keeps the output).
 *   report   untimed, local data only: a task per worker returns the checksums of the
 *            outputs it holds (its block, or every chunk it did).
 *
 * The phases come from the pool's own accounts (tvp_pool_stats): a run is one work
 * window; t_distribute and t_collect are the busiest worker's time receiving input and
 * sending output back (from the first byte sent to the last byte received, on the one
 * clock), t_compute the rest of the window (tvp_run_dynamic).  With local data a dynamic
 * worker makes each chunk's input inside its task: that counts as compute.
 *
 * Fault isolation is the pool's: with --inject or --task-timeout it replaces a worker that
 * died or ran past the timeout (opt.replace) and runs its task again, on the replacement
 * (a block: the same slot, whose initializer makes the block's input again) or on any
 * worker (a chunk); the parent says so in one line on stderr (on_lost).  With local data
 * and a dynamic schedule a lost worker also takes the output of the chunks it had done:
 * the report finds them missing and they are done again.  Without recovery a lost worker
 * fails the run (TVP_EWORKER). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "pool.h"
#include "posix.h"

/* What the parent tells every worker without a message: which run is on and whether it is
 * timed (--inject counts the timed runs' tasks).  One MAP_SHARED page, mapped before the
 * pool. */
struct map_page {
    volatile uint64_t run;
    volatile int timed;
};

/* A report's payload: how many pieces, then the pieces (static: 1, its block's). */
struct map_piece {
    uint64_t k;
    struct tvp_checksum sum;
};
struct map_report {
    uint64_t count;
    struct map_piece piece[];
};

/* The work a loss interrupts, for the parent's line. */
enum map_step { MAP_WORK, MAP_REPORT, MAP_REDO };

/* job->state */
struct posix_map {
    struct tvp_job *job;
    struct tvp_pool *pool;
    struct map_page *page;
    enum posix_path path;
    int dynamic;
    int recover;
    enum map_step step;
    int lost;                    /* without recovery: a worker was lost (the run fails) */
    struct tvp_task **task;      /* [workers] */
    struct map_report **report;  /* [workers], local data */
    size_t report_bytes;
    uint8_t *got;                /* [npieces]: reported in this run */
    struct tvp_pool_worker_stats *ws;
};

/* ---- in a worker -------------------------------------------------------------------- */

/* A worker's own buffers: its block (static local) or one chunk's input (dynamic local),
 * and with local dynamic data the output of every chunk it did. */
static struct {
    void *in, *out;
    struct tvp_chunk_store kept;
    uint64_t run;       /* the last run a task of it saw */
    uint64_t block_run; /* static local: the run its block was computed in */
} me;

static int map_init(int w, void *arg)
{
    const struct posix_map *s = arg;
    const struct tvp_job *job = s->job;
    tvp_inject_worker(w);
    int err = tvp_pin_process(job->topo, job->pu_plan ? job->pu_plan[w] : -1);
    if (err || s->path != POSIX_PATH_LOCAL)
        return err;
    uint64_t b = 0, e = job->chunk < job->n ? job->chunk : job->n;
    if (!s->dynamic)
        tvp_partition(job->n, job->workers, w, &b, &e);
    me.in = tvp_alloc_touched(tvp_job_in_bytes(job, e - b));
    me.out = s->dynamic ? NULL : tvp_alloc_touched(tvp_job_out_bytes(job, e - b));
    if (!me.in || (!s->dynamic && !me.out))
        return TVP_ENOMEM;
    tvp_chunk_store_init(&me.kept, tvp_job_out_bytes(job, e - b));
    if (!s->dynamic)
        tvp_job_fill(job, b, e, me.in);
    me.block_run = UINT64_MAX;
    return 0;
}

/* The first task of a run in this worker: the fault injection learns whether it is timed. */
static void map_run_seen(const struct posix_map *s)
{
    uint64_t run = s->page->run;
    if (me.run != run) {
        me.run = run;
        tvp_inject_run(s->page->timed);
    }
}

/* Items [first, first + count): a block (static) or a chunk (dynamic).  in/out are the
 * pool's (pipes: its buffers; shared memory: job->in/out in place); with local data the
 * worker's own. */
static int map_task(const void *in, void *out, size_t count, void *arg)
{
    const struct posix_map *s = arg;
    const struct tvp_job *job = s->job;
    uint64_t b = tvp_pool_here()->first, e = b + count;
    map_run_seen(s);
    if (s->path == POSIX_PATH_LOCAL) {
        in = me.in;
        out = me.out;
        if (s->dynamic) {
            tvp_job_fill(job, b, e, me.in);
            if (!(out = tvp_chunk_store_take(&me.kept, b / job->chunk)))
                return TVP_ENOMEM;
        } else {
            me.block_run = me.run;
        }
    }
    tvp_job_kernel(job, in, out, b, e);
    return 0;
}

/* Local data, untimed: the checksums of what this worker holds.  A replacement that has
 * not done its block in this run (its predecessor was lost after the block) does it now. */
static int map_report_task(const void *in, void *out, size_t count, void *arg)
{
    const struct posix_map *s = arg;
    const struct tvp_job *job = s->job;
    struct map_report *r = out;
    (void)in;
    (void)count;
    map_run_seen(s);
    r->count = 0;
    if (!s->dynamic) {
        uint64_t b, e;
        int w = tvp_pool_here()->worker;
        tvp_partition(job->n, job->workers, w, &b, &e);
        if (me.block_run != me.run) {
            tvp_job_kernel(job, me.in, me.out, b, e);
            me.block_run = me.run;
        }
        r->piece[r->count++] = (struct map_piece){(uint64_t)w, tvp_job_checksum(job, me.out, b, e)};
        return 0;
    }
    for (size_t i = 0; i < me.kept.count; i++) {
        uint64_t b, e;
        tvp_chunk_range(job->n, job->chunk, me.kept.ids[i], &b, &e);
        r->piece[r->count++] = (struct map_piece){me.kept.ids[i],
                                                  tvp_job_checksum(job, me.kept.bufs[i], b, e)};
    }
    tvp_chunk_store_reset(&me.kept);
    return 0;
}

/* ---- in the parent ---------------------------------------------------------------------- */

/* A lost worker, in one line: "tvp-posix: worker 1 (pid 1234) killed by SIGSEGV during
 * block 1 (items 100000..199999); restarting it and re-running the block".  Without
 * recovery nothing is said here: the run fails and the driver says so. */
static void map_lost(const struct tvp_pool_error *e, int replacing, void *arg)
{
    struct posix_map *s = arg;
    const struct tvp_job *job = s->job;
    char why[128], during[160], redo[160];
    if (!s->recover) { /* the run fails, even when the pool could go on with one less */
        s->lost = 1;
        return;
    }
    if (e->code == TVP_ETASKTIME) {
        snprintf(why, sizeof why, "did not answer within %g s (--task-timeout)",
                 job->opt->task_timeout);
    } else if (e->signal || e->exit_status >= 0) {
        tvp_end_text(e->signal, e->exit_status, why, sizeof why);
    } else {
        snprintf(why, sizeof why, "was lost");
    }
    const char *what = s->dynamic ? "chunk" : "block";
    int64_t k = s->dynamic ? (int64_t)(e->first / job->chunk) : e->worker;
    redo[0] = 0;
    if (e->task < 0) {
        snprintf(during, sizeof during, "between tasks");
    } else if (s->step == MAP_REPORT) {
        snprintf(during, sizeof during, "while reporting on its %ss", what);
        snprintf(redo, sizeof redo, " and re-running the report");
    } else {
        snprintf(during, sizeof during, "during %s %" PRId64 " (items %" PRIu64 "..%" PRIu64 ")",
                 what, k, e->first, e->last);
        snprintf(redo, sizeof redo, " and re-running the %s", what);
    }
    if (s->dynamic && s->path == POSIX_PATH_LOCAL && e->task >= 0)
        snprintf(redo + strlen(redo), sizeof redo - strlen(redo),
                 ", and the chunks it had done (their output was in its memory)");
    if (replacing) {
        fprintf(stderr, "tvp-posix: worker %d (pid %d) %s %s; %srestarting it%s\n", e->worker,
                (int)e->pid, why, during, e->code == TVP_ETASKTIME ? "killed it (SIGKILL), " : "",
                redo);
        tvp_inject_spend(); /* its replacement, forked next, never fires the fault again */
    } else {
        fprintf(stderr, "tvp-posix: worker %d (pid %d) %s %s; it was lost %d times: giving up\n",
                e->worker, (int)e->pid, why, during, e->attempts);
    }
    fflush(stderr);
}

static void map_free(struct posix_map *s)
{
    if (!s)
        return;
    tvp_pool_destroy(s->pool);
    if (s->page)
        munmap(s->page, sizeof *s->page);
    for (int w = 0; s->report && w < s->job->workers; w++)
        free(s->report[w]);
    free(s->report);
    free(s->task);
    free(s->got);
    free(s->ws);
    free(s);
}

int posix_map_start(struct tvp_job *job, struct tvp_start *st)
{
    struct posix_map *s = calloc(1, sizeof *s);
    int W = job->workers;
    if (!s)
        return TVP_ENOMEM;
    s->job = job;
    s->path = posix_path_of(job);
    s->dynamic = job->opt->schedule == TVP_SCHED_DYNAMIC;
    s->recover = tvp_job_recovers(job);
    s->page = mmap(NULL, sizeof *s->page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (s->page == MAP_FAILED) {
        s->page = NULL;
        map_free(s);
        return TVP_ESYS;
    }
    s->task = calloc((size_t)W, sizeof *s->task);
    s->ws = calloc((size_t)W, sizeof *s->ws);
    if (!s->task || !s->ws) {
        map_free(s);
        return TVP_ENOMEM;
    }
    if (s->path == POSIX_PATH_LOCAL) {
        uint64_t pieces = s->dynamic ? tvp_chunk_count(job->n, job->chunk) : 1;
        s->report_bytes = sizeof(struct map_report) + (size_t)pieces * sizeof(struct map_piece);
        s->report = calloc((size_t)W, sizeof *s->report);
        s->got = calloc((size_t)(job->npieces ? job->npieces : 1), 1);
        int short_of_memory = !s->report || !s->got;
        for (int w = 0; s->report && w < W; w++)
            if (!(s->report[w] = malloc(s->report_bytes)))
                short_of_memory = 1;
        if (short_of_memory) {
            map_free(s);
            return TVP_ENOMEM;
        }
    }

    struct tvp_pool_region shared[2];
    struct tvp_pool_options o = TVP_POOL_OPTIONS_DEFAULT;
    o.init = map_init;
    o.init_arg = s;
    o.on_lost = map_lost;
    o.on_lost_arg = s;
    o.replace = s->recover;
    o.max_attempts = 1 + POSIX_MAX_RESTARTS;
    o.task_timeout_s = job->opt->task_timeout;
    if (s->path == POSIX_PATH_SHM) { /* posix_alloc mapped them MAP_SHARED */
        shared[0] = (struct tvp_pool_region){job->in, tvp_job_in_bytes(job, job->n)};
        shared[1] = (struct tvp_pool_region){job->out, tvp_job_out_bytes(job, job->n)};
        o.shared = shared;
        o.nshared = 2;
    }
    double t0 = tvp_now();
    errno = 0;
    s->pool = tvp_pool_create(W, &o);
    if (!s->pool) {
        int err = errno == ENOMEM ? TVP_ENOMEM : errno == EIO ? TVP_EWORKER : TVP_ESYS;
        map_free(s);
        return err;
    }
    double t_all = tvp_now() - t0;
    tvp_pool_stats(s->pool, NULL, s->ws);
    st->t_touch = 0;
    for (int w = 0; w < W; w++)
        st->t_touch = s->ws[w].t_init > st->t_touch ? s->ws[w].t_init : st->t_touch;
    st->t_init = t_all > st->t_touch ? t_all - st->t_touch : 0; /* forks, not the touching */
    job->state = s;
    return 0;
}

/* Waits for the tasks in s->task (those submitted: a NULL one failed to be) and frees them;
 * 0, or the first failure. */
static int map_wait(struct posix_map *s, int err)
{
    for (int w = 0; w < s->job->workers; w++) {
        if (!s->task[w])
            continue;
        int e = tvp_result_get(s->task[w], NULL, -1);
        tvp_task_free(s->task[w]);
        s->task[w] = NULL;
        err = err ? err : e;
    }
    return err;
}

/* Local data: every worker's report, its checksums filed in job->pieces. */
static int map_reports(struct tvp_job *job, struct posix_map *s)
{
    int W = job->workers, err = 0;
    s->step = MAP_REPORT;
    for (int w = 0; w < W; w++) {
        struct tvp_pool_call c = {.fn = map_report_task, .arg = s, .out = s->report[w],
                                  .count = 1, .out_size = s->report_bytes, .worker = w,
                                  .in_place = 1};
        if (!(s->task[w] = tvp_pool_submit(s->pool, &c)))
            err = TVP_ENOMEM;
    }
    if ((err = map_wait(s, err)))
        return err == TVP_ENOMEM || err == TVP_ESYS ? err : TVP_EWORKER;
    for (int w = 0; w < W; w++) {
        const struct map_report *r = s->report[w];
        for (uint64_t i = 0; i < r->count; i++) {
            if (r->piece[i].k >= job->npieces)
                return TVP_EWORKER;
            job->pieces[r->piece[i].k] = r->piece[i].sum;
            s->got[r->piece[i].k] = 1;
        }
    }
    return 0;
}

/* Local data, dynamic: the chunks no report had (their worker was lost after doing them)
 * are done again, as tasks for any worker.  The number of them, or an error. */
static int64_t map_redo(struct tvp_job *job, struct posix_map *s)
{
    int64_t missing = 0;
    int err = 0;
    s->step = MAP_REDO;
    for (uint64_t k = 0; k < job->npieces; k++) {
        if (s->got[k])
            continue;
        uint64_t b, e;
        tvp_chunk_range(job->n, job->chunk, k, &b, &e);
        struct tvp_pool_call c = {.fn = map_task, .arg = s, .count = (size_t)(e - b),
                                  .first = b, .worker = -1, .in_place = 1};
        struct tvp_task *t = tvp_pool_submit(s->pool, &c);
        if (!t)
            return TVP_ENOMEM;
        int e2 = tvp_result_get(t, NULL, -1);
        tvp_task_free(t);
        if (e2)
            err = err ? err : e2;
        missing++;
    }
    return err < 0 ? (err == TVP_ENOMEM ? err : TVP_EWORKER) : missing;
}

int posix_map_run(struct tvp_job *job, struct tvp_run *run)
{
    struct posix_map *s = job->state;
    int W = job->workers, err = 0;
    if (!s)
        return TVP_EWORKER;
    const struct tvp_workload *wl = job->wl;
    int data = s->path != POSIX_PATH_LOCAL;
    size_t in_size = data ? wl->in_size : 0, out_size = data ? wl->out_size : 0;

    run->t_startup = run->t_distribute = run->t_compute = run->t_collect = run->t_total = 0;
    run->bytes_moved = 0;
    run->peak_rss_kb = 0;
    tvp_pool_stats_reset(s->pool);
    s->page->timed = job->timed;
    s->page->run++;
    s->step = MAP_WORK;
    if (s->got)
        memset(s->got, 0, (size_t)job->npieces);

    double t0 = tvp_now();
    if (s->dynamic) {
        err = tvp_pool_map(s->pool, map_task, data ? job->in : NULL, data ? job->out : NULL,
                           (size_t)job->n, in_size, out_size, (size_t)job->chunk, s);
    } else {
        for (int w = 0; w < W; w++) {
            uint64_t b, e;
            tvp_partition(job->n, W, w, &b, &e);
            struct tvp_pool_call c = {
                .fn = map_task, .arg = s,
                .in = data ? (const char *)job->in + tvp_job_in_bytes(job, b) : NULL,
                .out = data ? (char *)job->out + tvp_job_out_bytes(job, b) : NULL,
                .count = (size_t)(e - b), .in_size = in_size, .out_size = out_size,
                .first = b, .worker = w, .in_place = 1};
            if (!(s->task[w] = tvp_pool_submit(s->pool, &c)))
                err = err ? err : TVP_ENOMEM;
        }
        err = map_wait(s, err);
    }
    double window = tvp_now() - t0;
    double redo_s = 0;
    /* the window's own accounts, before the reports move their checksums */
    struct tvp_pool_stats ps;
    tvp_pool_stats(s->pool, &ps, s->ws);
    double dist = 0, coll = 0;
    for (int w = 0; w < W; w++) {
        const struct tvp_pool_worker_stats *x = &s->ws[w];
        if (x->t_in + x->t_out > dist + coll) { /* the busiest worker's: its own intervals */
            dist = x->t_in;                      /* never overlap, so they fit its window */
            coll = x->t_out;
        }
        run->bytes_moved += data ? x->bytes_in + x->bytes_out : 0;
    }
    if (!err && s->path == POSIX_PATH_LOCAL) { /* untimed, but for chunks done again */
        err = map_reports(job, s);
        for (int round = 0; !err && s->dynamic && round <= POSIX_MAX_RESTARTS; round++) {
            double r0 = tvp_now();
            int64_t missing = map_redo(job, s);
            if (missing < 0) {
                err = (int)missing;
                break;
            }
            if (missing == 0)
                break;
            err = map_reports(job, s);
            redo_s += tvp_now() - r0;
        }
        for (uint64_t k = 0; !err && k < job->npieces; k++)
            if (!s->got[k])
                err = TVP_EWORKER;
    }
    if (!err && (s->lost || tvp_pool_workers(s->pool) < W))
        err = TVP_EWORKER;
    if (err)
        return err < 0 && err != TVP_ENOMEM && err != TVP_ESYS ? TVP_EWORKER : err;

    tvp_pool_stats(s->pool, &ps, s->ws); /* the losses and recoveries of the whole run */
    for (int w = 0; w < W; w++) {
        run->peak_rss_kb += s->ws[w].rss_kb > 0 ? s->ws[w].rss_kb : 0;
        if (run->pu)
            run->pu[w] = s->ws[w].pu;
    }
    if (!data)
        dist = coll = 0; /* only headers moved: no data */
    tvp_run_dynamic(run, 0, window + redo_s, dist, coll);
    run->recovered = ps.replaced;
    run->t_detect = ps.t_detect;
    run->t_recovery = ps.t_recovery + redo_s;
    run->peak_rss_kb += tvp_peak_rss_kb();
    return 0;
}

int posix_map_stop(struct tvp_job *job)
{
    struct posix_map *s = job->state;
    job->state = NULL;
    if (!s)
        return 0;
    tvp_pool_close(s->pool);
    int err = tvp_pool_join(s->pool);
    if (err && s->recover) { /* lost after its last run: the results are whole */
        fprintf(stderr, "tvp-posix: %s; nothing was lost\n", tvp_pool_last_error(s->pool));
        err = 0;
    }
    map_free(s);
    return err ? TVP_EWORKER : 0;
}
