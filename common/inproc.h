/* Workers that share the root's memory (threads, or the one serial worker).  The work a
 * worker does, written once for tvp-serial and tvp-openmp: the backends differ only in
 * whether a team of threads calls these functions or a plain loop does.  No runtime here. */
#ifndef TVP_INPROC_H
#define TVP_INPROC_H

#include "backend.h"

struct tvp_inproc_worker {
    void *in, *out;    /* local static: own block; local dynamic: in is one chunk */
    struct tvp_chunk_store kept; /* local dynamic: the output of each chunk it did */
    double t_touch;    /* first touch of the buffers (and filling local input) */
    double t_dist;     /* local dynamic: time spent making chunks' input */
    int pu;            /* where it ran */
    int err;           /* first error of this worker in the run */
    char pad[64];      /* keep workers' hot fields on separate cache lines */
};

/* job->state becomes an array of job->workers workers. */
int tvp_inproc_create(struct tvp_job *job);
int tvp_inproc_destroy(struct tvp_job *job);
/* Called by worker w itself (so pages are first touched by the thread that uses them):
 * pins it, allocates its buffers and, for local static data, fills its input block. */
int tvp_inproc_worker_start(struct tvp_job *job, int w);
/* Static schedule: worker w's whole block. */
void tvp_inproc_worker_block(struct tvp_job *job, int w);
/* Dynamic schedule: chunk k, done by worker w. */
void tvp_inproc_worker_chunk(struct tvp_job *job, int w, uint64_t k);
/* After the timed phases: the checksums of w's output (local data) and its PU; returns
 * the worker's error of the run, if any. */
int tvp_inproc_worker_report(struct tvp_job *job, int w, struct tvp_run *run);
/* Largest per-worker first-touch time; largest time spent making chunks' input (local
 * dynamic) in the run just done, which it resets. */
double tvp_inproc_max_touch(const struct tvp_job *job);
double tvp_inproc_take_dist(const struct tvp_job *job);


/* ---- stencil workloads: the grids are whole, shared by every worker ----------------- */
/* job->state becomes the shared grids and per-worker state.  Scatter: the input is job->in
 * and the output job->out; local data: the workers' own whole-size grids. */
int tvp_inproc_stencil_create(struct tvp_job *job);
int tvp_inproc_stencil_destroy(struct tvp_job *job);
/* Called by worker w itself: pins it and, with local data, makes its input rows. */
int tvp_inproc_stencil_worker_start(struct tvp_job *job, int w);
/* Pass p over worker w's block (static; nothing for a worker that owns no rows). */
void tvp_inproc_stencil_block(struct tvp_job *job, int w, int p);
/* Pass p over chunk k of job->chunk rows (dynamic), done by worker w. */
void tvp_inproc_stencil_chunk(struct tvp_job *job, int w, int p, uint64_t k);
uint64_t tvp_inproc_stencil_chunks(const struct tvp_job *job);
/* After the timed phases: the checksum of w's block (local data) and its PU. */
void tvp_inproc_stencil_report(struct tvp_job *job, int w, struct tvp_run *run);
double tvp_inproc_stencil_max_touch(const struct tvp_job *job);

/* ---- table workloads: the root's text is shared; worker w reads part w ------------------ */
/* One run: every worker calls fit(w); then one thread check() (the earliest error into
 * job->error); when it returned 0, every worker merge(w) and, after all merges, finish(w);
 * then one thread done(), which fills run's steps and job->parts_out. */
int tvp_inproc_table_create(struct tvp_job *job);
int tvp_inproc_table_destroy(struct tvp_job *job);
int tvp_inproc_table_worker_start(struct tvp_job *job, int w); /* pins it */
void tvp_inproc_table_fit(struct tvp_job *job, int w);
int tvp_inproc_table_check(struct tvp_job *job);
/* FIT: worker w merges the encoded columns k with k % workers == w */
void tvp_inproc_table_merge(struct tvp_job *job, int w);
void tvp_inproc_table_finish(struct tvp_job *job, int w);
int tvp_inproc_table_done(struct tvp_job *job, struct tvp_run *run);
double tvp_inproc_table_max_touch(const struct tvp_job *job); /* nothing to touch: 0 */

#endif
