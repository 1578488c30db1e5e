/* The backend interface and the shared driver.
 *
 * Like redis' ae.c over ae_epoll.c/ae_select.c, the driver (common/driver.c) owns
 * everything that is the same for every backend: argument parsing, input generation or
 * loading, warm-up and timed repeats, verification against the serial kernel, the
 * checksum and the result record.  A backend only decides how workers are created and
 * pinned, how the work is partitioned among them and how data moves.  Each backend's
 * main is one line: return tvp_driver_main(argc, argv, &tvp_backend_X);
 *
 * Hooks left NULL fall back to the single-process behaviour (as hwloc's binding hooks
 * fall back to ENOSYS): init/fini/agree/start/stop do nothing, alloc uses
 * tvp_alloc_touched.
 *
 * Who calls what: the driver calls every hook on every process the backend has when the
 * driver starts (all MPI ranks; the one parent process otherwise).  "Root" is rank 0 /
 * the parent.  Forked children and OpenMP threads never return into the driver. */
#ifndef TVP_BACKEND_H
#define TVP_BACKEND_H

#include "lenc.h"
#include "pin.h"
#include "tvp.h"
#include "workload.h"

struct tvp_probe_ctx;  /* probes: common/probe.h */
struct tvp_probe_sink;

struct tvp_world {
    int rank, size;      /* MPI_COMM_WORLD; 0 and 1 elsewhere */
    int local_rank;      /* index among the processes on this node */
    int local_size;
    double t_init;       /* backend-wide one-off start cost (MPI_Init) */
    char transport[128]; /* how workers talk: "pml=ob1 btl=self,vader"; for backends with
                            TVP_BACKEND_IPC the record says the --ipc choice instead */
};

/* Everything a backend needs for one invocation; built by the driver. */
struct tvp_job {
    const struct tvp_options *opt;
    const struct tvp_workload *wl;
    const struct tvp_world *world;
    const struct tvp_topo *topo;
    struct tvp_source src; /* generator, or items loaded from --in.  items are present at
                              the root, and on every process when data is local. */
    uint64_t n;
    int workers;
    uint64_t chunk;      /* dynamic schedule: items per chunk (always >= 1) */
    const int *pu_plan;  /* [workers]: PU for each worker, -1 = leave it where it is */
    /* Scatter mode, at the root: the whole input (filled) and output (to be written),
     * allocated through the alloc hook.  NULL in local mode and on non-root ranks. */
    void *in, *out;
    /* Local mode, at the root: the backend stores here the checksum of each piece of the
     * output, which the driver concatenates in order.  Static: piece w = worker w's
     * block (tvp_partition(n, workers, w)); dynamic: piece k = chunk k. */
    struct tvp_checksum *pieces;
    uint64_t npieces;
    /* Stencil workloads: the grid and its passes.  job->in and job->out (root, scatter)
     * then hold grid->height rows of grid->stride bytes: the input image and the place for
     * the output; src.items is the loaded image, packed (width * channels[0] per row). */
    const struct tvp_grid *grid;
    /* Table workloads (labelencode): the table every process built from the same header
     * bytes; the input's text (header included) where this process holds it (always at
     * the root; elsewhere NULL: MPI ranks read or make their own part); without --in, the
     * generator, from which any process can make any rows. */
    const struct tvp_lenc_table *table;
    const char *text;
    size_t text_len;
    const struct tvp_lenc_gen *gen;
    /* at the root after each table run: part w's records as text ([workers], valid until
     * the next run or stop); FIT: the merged classes ([nsel], set up by the backend, which
     * frees the last run's first); the run's error, when it failed with TVP_EINPUT */
    struct tvp_label *parts_out;
    struct tvp_labels *classes;
    struct tvp_table_error *error;
    void *state; /* the backend's own */
    int timed;   /* the run about to start is a timed one (not a warm-up); set by the driver */
};

/* One timed run as the root sees it.  Times are seconds; on MPI the maximum over ranks.
 * With a static schedule the phases are separated by barriers; with a dynamic schedule
 * they overlap, so t_distribute and t_collect are the time the busiest worker spent
 * moving data (in local mode: making its chunks' input, and 0) and t_compute is the
 * rest of the work window.
 *
 * Local data: each worker keeps its output; after the timed phases (untimed) it sends
 * the checksum of each piece it holds to the root (static: its block; dynamic: every
 * chunk it did, kept in a tvp_chunk_store).  Scatter data: the root's job->out is the
 * output and the driver checksums it. */
struct tvp_run {
    double t_startup, t_distribute, t_compute, t_collect, t_total;
    uint64_t bytes_moved;
    uint64_t halo_bytes; /* stencils: bytes of halo rows that crossed between processes */
    int *pu;          /* [workers], filled by the backend: PU each worker last ran on */
    long peak_rss_kb; /* summed over every process that held a worker */
    /* tables: the steps inside t_compute (the slowest worker's), and the bytes of local
     * sets and maps that crossed between processes in the merge */
    double t_parse, t_fit, t_merge, t_encode, t_format;
    uint64_t merge_bytes;
    uint64_t rows; /* tables: the records of every part */
    /* fault isolation (tvp-posix): workers replaced during the run; the time from sending
     * the lost work to noticing the loss (end of file, or --task-timeout), summed; and
     * from noticing it to having the lost work done again, summed */
    int recovered;
    double t_detect, t_recovery;
};

/* The phases of a run with a static schedule: each measured, t_total their sum. */
static inline void tvp_run_static(struct tvp_run *run, double startup, double distribute,
                                  double compute, double collect)
{
    run->t_startup = startup;
    run->t_distribute = distribute;
    run->t_compute = compute;
    run->t_collect = collect;
    run->t_total = startup + distribute + compute + collect;
}

/* With a dynamic schedule: startup, then a work window in which the busiest worker spent
 * `distribute` and `collect` moving data; compute is the rest of the window. */
static inline void tvp_run_dynamic(struct tvp_run *run, double startup, double window,
                                   double distribute, double collect)
{
    double rest = window - distribute - collect;
    run->t_startup = startup;
    run->t_distribute = distribute;
    run->t_compute = rest > 0 ? rest : 0;
    run->t_collect = collect;
    run->t_total = startup + window;
}

/* One-off costs reported by start(). */
struct tvp_start {
    double t_init;  /* creating the workers (fork of the pool, first parallel region) */
    double t_touch; /* first touch of the workers' own buffers and local input */
};

#define TVP_BACKEND_FIXED_WORKERS 1u /* workers = world size (MPI) or 1 (serial) */
#define TVP_BACKEND_LOAD_EVERYWHERE 2u /* with --in and local data, every process loads */
#define TVP_BACKEND_IPC 4u /* --ipc selects how data moves (posix); else recorded "none" */
#define TVP_BACKEND_STENCIL_STATIC 8u /* stencils always run static row blocks */
#define TVP_BACKEND_THREADS 16u /* workers are threads of the driver's own process */

struct tvp_backend {
    const char *name;
    unsigned flags;
    int (*init)(int *argc, char ***argv, struct tvp_world *w);
    /* All processes get the lowest (worst) of everybody's err. */
    int (*agree)(int err);
    /* The root's `bytes` at buf reach every process (what only the root read, such as the
     * size of an input file). */
    int (*share)(void *buf, size_t bytes);
    void *(*alloc)(struct tvp_job *job, size_t bytes);
    void (*release)(struct tvp_job *job, void *p, size_t bytes);
    /* start() cleans up after itself when it fails; stop() is called only after a
     * successful start(), and reports workers that ended badly. */
    int (*start)(struct tvp_job *job, struct tvp_start *st);
    int (*run)(struct tvp_job *job, struct tvp_run *run);
    int (*stop)(struct tvp_job *job);
    /* The same three for stencil workloads; NULL: this backend does not run them.
     *
     * Static schedule: the first tvp_stencil_active(job) workers own the row blocks
     * tvp_partition(height, active, w) (fewer workers than rows would leave blocks thinner
     * than the halo, so the rest idle).  t_distribute: the input rows, with their halo, reach
     * their owners (scatter; local data: each worker made its own rows in start, with
     * tvp_job_fill_rows).  t_compute: every pass, with the halo rows of each pass exchanged
     * between neighbours before it (halo_bytes counts those that crossed between
     * processes).  t_collect: the output rows reach job->out (scatter); local data: each
     * owner's block stays, and its checksum goes to job->pieces[w] after the timed phases
     * (tvp_job_rows_checksum).  A dynamic schedule hands out chunks of job->chunk rows on
     * every pass where memory is shared; backends whose workers own private rows run
     * static blocks and say so through TVP_BACKEND_STENCIL_STATIC. */
    int (*stencil_start)(struct tvp_job *job, struct tvp_start *st);
    int (*stencil_run)(struct tvp_job *job, struct tvp_run *run);
    int (*stencil_stop)(struct tvp_job *job);
    /* The same three for table workloads (labelencode); NULL: not run here.  Always static:
     * worker w owns part w of the records (tvp_table_parts: cuts at record starts).
     * t_distribute: each part's bytes reach its worker (local data: read from the file or
     * made by the worker itself; scatter: sent by the root).  t_compute: parse and fit
     * (tvp_table_fit), the merge of the local sets (FIT; the sets go to whoever merges, the
     * map of each worker's local ids comes back), encode and format (tvp_table_finish).
     * t_collect: every part's text reaches the root, job->parts_out.  Errors: a failed step
     * stops its worker; the root takes the earliest (tvp_table_error_pick), puts it in
     * job->error and every process returns TVP_EINPUT (or what failed). */
    int (*table_start)(struct tvp_job *job, struct tvp_start *st);
    int (*table_run)(struct tvp_job *job, struct tvp_run *run);
    int (*table_stop)(struct tvp_job *job);
    /* ---- probes (common/probe.h) ----
     * `tvp-BACKEND probe NAME`: measure probe `name` (ctx->id) with this backend's own
     * mechanism and append rows to out (the driver writes the root's).  Called on every
     * process the driver has (all MPI ranks); returns 0, or a TVP_E* code with a one-line
     * reason in out->err; TVP_ENOSYS: no such probe here.  NULL: no probes (exit 3). */
    int (*probe)(const struct tvp_probe_ctx *ctx, const char *name, struct tvp_probe_sink *out);
    /* ---- end probes ---- */
    void (*fini)(int err);
};

int tvp_driver_main(int argc, char **argv, const struct tvp_backend *be);

/* ---- fault injection: --inject crash|hang:worker=I,task=K|after=T (common/driver.c) ----
 * The driver sets it up from the options in its own process; forked workers inherit it.
 * Which worker a thread or process is: tvp_inject_self, set by the driver for backends
 * whose processes are workers (MPI ranks, serial), by a forked worker for itself, and by
 * the shared-memory workers (common/inproc.c) before each task.  The fault fires once per
 * invocation: a SIGSEGV from a real invalid write (crash), or sleeping forever (hang). */
extern _Thread_local int tvp_inject_self; /* -1: not a worker */
extern volatile int tvp_inject_armed;     /* a task may fire the fault in this process */
void tvp_inject_point_slow(void);
/* A worker starts a task: a block or chunk (map), a pass over rows (stencil), a part's
 * fit (table).  The fault fires at worker I's K-th task of the timed runs. */
static inline void tvp_inject_point(void)
{
    if (tvp_inject_armed)
        tvp_inject_point_slow();
}
static inline void tvp_inject_worker(int w)
{
    tvp_inject_self = w;
}
/* A run starts in this process (timed = 1 after the warm-ups).  The first timed run starts
 * the clock of after=T where this process hosts worker I. */
void tvp_inject_run(int timed);
/* The runs are over: nothing fires here any more (the verification runs the kernel too). */
void tvp_inject_end(void);
/* The fault happened and its worker is being replaced: replacements, forked after this,
 * never fire it again. */
void tvp_inject_spend(void);
/* Recovery of lost workers is asked for (tvp-posix): --inject or --task-timeout given. */
static inline int tvp_job_recovers(const struct tvp_job *job)
{
    return job->opt->inject != TVP_INJECT_NONE || job->opt->task_timeout > 0;
}

/* Helpers for backends: the work any worker does on a range, through the workload. */
static inline void tvp_job_fill(const struct tvp_job *job, uint64_t b, uint64_t e, void *in)
{
    job->wl->fill(&job->src, b, e, in);
}
static inline void tvp_job_kernel(const struct tvp_job *job, const void *in, void *out, uint64_t b,
                                  uint64_t e)
{
    tvp_inject_point();
    job->wl->kernel(in, out, b, e);
}
static inline struct tvp_checksum tvp_job_checksum(const struct tvp_job *job, const void *out,
                                                   uint64_t b, uint64_t e)
{
    return tvp_checksum_of(out, (size_t)(e - b) * job->wl->out_size);
}
static inline size_t tvp_job_in_bytes(const struct tvp_job *job, uint64_t items)
{
    return (size_t)items * job->wl->in_size;
}
static inline size_t tvp_job_out_bytes(const struct tvp_job *job, uint64_t items)
{
    return (size_t)items * job->wl->out_size;
}

/* Stencil helpers (common/stencil.c). */
/* Workers that own rows: no block may be thinner than the widest halo. */
int tvp_stencil_active(const struct tvp_job *job);
/* Row r of a buffer. */
static inline uint8_t *tvp_rows_at(const struct tvp_rows *r, uint32_t row)
{
    return r->data + (size_t)(row - r->first) * r->stride;
}
/* Input rows [b,e) (grid 0) into dst: from the loaded image, or generated. */
void tvp_job_fill_rows(const struct tvp_job *job, uint32_t b, uint32_t e, const struct tvp_rows *dst);
/* Pass p over rows [b,e). */
static inline void tvp_job_pass(const struct tvp_job *job, int p, const struct tvp_rows *src,
                                const struct tvp_rows *dst, uint32_t b, uint32_t e)
{
    tvp_inject_point();
    job->wl->stencil->pass(job->grid, p, src, dst, b, e);
}
/* The checksum of output rows [b,e), packed (the output's row bytes, no stride padding),
 * positioned where they lie in the whole output. */
struct tvp_checksum tvp_job_rows_checksum(const struct tvp_job *job, const struct tvp_rows *out,
                                          uint32_t b, uint32_t e);

/* ---- table helpers (common/table.c) ---- */

/* A part's error as it travels to the root (fixed size: a pipe or MPI message as bytes). */
enum tvp_table_step { TVP_TABLE_OK = 0, TVP_TABLE_PARSE = 1, TVP_TABLE_FIT = 2, TVP_TABLE_LATER = 3 };
struct tvp_table_error {
    int32_t err;  /* 0 or a TVP_E* code */
    int32_t step; /* enum tvp_table_step: where it happened */
    int64_t part; /* the worker's part */
    char msg[TVP_LENC_MSG];
};

/* The parts of job->text (at the root, or wherever the whole text is): part w of
 * job->workers, cut at record starts (tvp_csv_split). */
int tvp_table_parts(const struct tvp_job *job, struct tvp_csv_part *parts);
/* Parse then fit worker me's part (set in me by the caller), timing both into me->t.  On
 * failure *e says where (e->part = part). */
int tvp_table_fit(const struct tvp_job *job, struct tvp_lenc_worker *me, int part,
                  struct tvp_table_error *e);
/* FIT: encode through map (NULL for TRANSFORM and INVERSE), then format. */
int tvp_table_finish(const struct tvp_job *job, struct tvp_lenc_worker *me, const uint32_t *map,
                     int part, struct tvp_table_error *e);
/* The error to report of n parts' errors: the earliest step, then the earliest part; NULL
 * when none failed. */
const struct tvp_table_error *tvp_table_error_pick(const struct tvp_table_error *e, size_t n);
/* Per column, over every worker's sets (sets[w] = worker w's nsel sets): the classes into
 * job->classes (the last run's freed first) and each worker's map into maps[w] (each of
 * tvp_lenc_map_len entries).  The merge a root does for workers in other processes. */
int tvp_table_merge(const struct tvp_job *job, const struct tvp_labels *const *sets,
                    uint32_t *const *maps);
/* The same for the columns first, first + step, ... only: threads that share the sets
 * merge different columns at once. */
int tvp_table_merge_columns(const struct tvp_job *job, const struct tvp_labels *const *sets,
                            uint32_t *const *maps, size_t first, size_t step);

#endif
