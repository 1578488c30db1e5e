/* A pool of fork()ed worker processes, as a library: Python's multiprocessing.Pool in C.
 *
 *     struct tvp_pool *pool = tvp_pool_create(4, NULL);
 *     tvp_pool_map(pool, square, in, out, n, sizeof *in, sizeof *out, 0, NULL);
 *     struct tvp_task *t = tvp_pool_apply_async(pool, square, &x, sizeof x, sizeof y, NULL);
 *     tvp_result_get(t, &y, 1.0);
 *     tvp_task_free(t);
 *     tvp_pool_close(pool);
 *     tvp_pool_join(pool);
 *     tvp_pool_destroy(pool);
 *
 * ---- functions and their data -------------------------------------------------------------
 * A task is a tvp_pool_fn run in a worker process.  Workers are fork()ed copies of the
 * caller, so a function pointer means the same code in them: any function of the program
 * (or of a library loaded before tvp_pool_create) can be a task; nothing is pickled.  What
 * a worker sees of the caller's memory is what there was when it was forked (at create, or
 * when it replaced a dead worker): `arg` must point to data that existed before the pool was
 * created and that the caller has not changed since, or to memory from
 * tvp_pool_shared_alloc (shared, so always current).  Data that changes goes through `in`.
 * A worker's writes to its own memory (globals, arg) never reach the caller: results go
 * through `out` only.  The pool flushes stdio before every fork and after every task, so
 * printf in a task works and nothing is printed twice.
 *
 * ---- transports -----------------------------------------------------------------------------
 * Pipes (default): every worker has a command pipe and a result pipe (1 MiB where the system
 * allows).  A task is a fixed-size header followed by its input; the reply a header
 * followed by its output.  Map's chunks are sent from `in` and read into `out` in place,
 * without pickling; from 64 KiB on, a payload is vmspliced (the pipe refers to the
 * writer's pages), so that each byte is copied once, by the reader.
 *
 * Shared memory (opt.shm): one MAP_SHARED|MAP_ANONYMOUS arena of opt.shm_bytes, mapped
 * before the first fork, so every worker (replacements too) sees it at the same address.
 * Map's in and out are copied once, by the caller's process, into arena buffers (a chunk's
 * input just before the chunk is sent, its output back as soon as it is done), or not at
 * all when the caller allocated them with tvp_pool_shared_alloc: then workers read and write
 * the caller's arrays in place and only headers cross the pipes.  A map or task that does
 * not fit in the arena's free space goes through the pipes instead.
 *
 * ---- progress ----------------------------------------------------------------------------------
 * The pool has no thread of its own: tasks are sent, results read and dead or hung workers
 * dealt with while the caller is inside tvp_pool_map, tvp_pool_apply_async,
 * tvp_result_get, tvp_task_ready and tvp_pool_join.  A worker that finishes a task while
 * the caller is elsewhere waits (its result in its pipe) until the next such call.
 *
 * ---- failures -------------------------------------------------------------------------------------
 * A worker that dies (a signal, _exit(non-zero), the end of its pipes) is seen at once
 * (end of file on its result pipe, EPIPE on its command pipe; SIGPIPE is blocked while the
 * pool writes, never ignored process-wide) and reaped, its wait status decoded.  A task
 * that runs longer than opt.task_timeout_s gets its worker SIGKILLed and is then a death.
 * Then:
 *   - opt.replace off: the task fails with TVP_EWORKER (TVP_ETASKTIME when it timed out),
 *     the pool goes on with one worker less (tasks fail with TVP_EWORKER when none is left);
 *   - opt.replace on: a new worker is forked in the dead one's place and the task is sent
 *     again, up to opt.max_attempts runs in all; map still returns the complete result.
 * (A task that went to a worker already dead, not one byte of it sent, is no failure: it
 * goes to another worker.)  The error names the task, its items, the worker and the
 * cause, for example
 *     task 3 (items 300..399): worker 1 (pid 1234) killed by SIGKILL
 *     task 7: timed out after 0.20 s; worker 0 (pid 1240) killed by SIGKILL (attempt 3 of 3)
 * in tvp_pool_last_error() and, field by field, in tvp_pool_last_error_info().  Nothing
 * waits on a worker without a bound (Python's Pool.map waits for ever once a worker is
 * killed), except on a task that never returns when there is no opt.task_timeout_s.
 * Workers are SIGKILLed when the thread that created the pool ends (PR_SET_PDEATHSIG), so
 * that none outlives it, busy or not; a process forked from the caller must not use or
 * destroy the caller's pool (destroy there only frees memory).
 *
 * Functions return 0 or a negative code: TVP_EUSAGE (bad arguments, pool closed),
 * TVP_ENOMEM, TVP_ESYS (errno kept), TVP_EWORKER (common/tvp.h) or one of these: */
#ifndef TVP_POOL_H
#define TVP_POOL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "tvp.h"

enum tvp_pool_err {
    TVP_ETIMEOUT = -20,  /* tvp_result_get: not done within timeout_s; the task goes on */
    TVP_ETASKTIME = -21, /* the task ran past opt.task_timeout_s; its worker was killed */
    TVP_ETASK = -22,     /* the task's function returned non-zero (info.fn_rc) */
    TVP_ECANCELED = -23, /* tvp_pool_terminate ended the task before it was done */
};
const char *tvp_pool_strerror(int err); /* these and tvp_strerror's */

/* A task: count items of in_size bytes at in, results of out_size bytes each to out.
 * 0 on success; anything else fails the task with TVP_ETASK (fn_rc: the value). */
typedef int tvp_pool_fn(const void *in, void *out, size_t count, void *arg);

/* Python's Pool(initializer=): run in every worker right after its fork (and in every
 * replacement), before its first task, with its slot (0..workers-1).  Non-zero fails the
 * worker: tvp_pool_create fails (errno EIO), a replacement counts as one more death. */
typedef int tvp_pool_init_fn(int worker, void *arg);

/* Memory the caller mapped MAP_SHARED before tvp_pool_create: every worker sees it at the
 * same address, so tasks and maps whose in or out lie wholly inside it copy nothing, as
 * with the arena's blocks (only the addresses cross the pipes). */
struct tvp_pool_region {
    void *base;
    size_t bytes;
};

struct tvp_pool_error; /* below */
/* Told in the caller's process, inside an API call, each time a worker is lost (dead,
 * killed at its task timeout, or ended by a protocol error), once it is reaped and
 * before its replacement is forked: e says which worker, its pid, the signal or exit
 * status, the task (map: the chunk and its items) and e->code TVP_ETASKTIME when it timed
 * out; `replacing` is 1 when a replacement follows and the work is run again. */
typedef void tvp_pool_lost_fn(const struct tvp_pool_error *e, int replacing, void *arg);

struct tvp_pool_options {
    int pin;               /* 1: worker w bound to core w (hwloc; wraps past the cores) */
    int replace;           /* 1: fork a new worker for a dead one, re-run its task */
    int max_attempts;      /* with replace: runs of one task at most (0: 3) */
    double task_timeout_s; /* > 0: a task running longer is killed (then as a death) */
    int shm;               /* 1: data through the shared arena, not the pipes */
    size_t shm_bytes;      /* the arena's size (0: 1 GiB); pages are used only once touched */
    tvp_pool_init_fn *init; /* NULL: none */
    void *init_arg;
    const struct tvp_pool_region *shared; /* [nshared], copied by create */
    int nshared;
    tvp_pool_lost_fn *on_lost; /* NULL: none */
    void *on_lost_arg;
};
#define TVP_POOL_OPTIONS_DEFAULT ((struct tvp_pool_options){.pin = 0})

/* What made the last call fail (tvp_pool_last_error_info). */
struct tvp_pool_error {
    int code;          /* TVP_E*, 0 when nothing failed */
    int64_t task;      /* map: the chunk index; apply_async, submit: tvp_task_id; -1: none */
    uint64_t first;    /* map: the chunk's items first..last; submit: call.first and on */
    uint64_t last;
    int worker;        /* the worker's slot (0..workers-1), -1: none */
    pid_t pid;         /* its pid, 0: none */
    int signal;        /* the signal that killed it, 0: none */
    int exit_status;   /* its exit status, -1: it did not exit */
    int fn_rc;         /* TVP_ETASK: what fn returned */
    int attempts;      /* runs of the task, this one included */
    char msg[320];     /* the one-line message, as tvp_pool_last_error */
};

struct tvp_pool;
struct tvp_task;

/* Forks `workers` workers (1 or more).  opt may be NULL (the defaults).  NULL on failure
 * (errno: EINVAL for bad arguments, ENOMEM, or the failed call's), nothing left behind. */
struct tvp_pool *tvp_pool_create(int workers, const struct tvp_pool_options *opt);

/* Python's Pool.map: out[i] = the result for in[i], for i < n.  The items go to the workers
 * in chunks of `chunk` items, each chunk one fn(in + k*chunk*in_size, out +
 * k*chunk*out_size, items, arg) call in a worker.  chunk 0: Python's chunksize, n / (4 *
 * workers) rounded up, but no more input or output than a pipe holds (1 MiB) where the
 * items go through the pipes (larger chunks only make each side wait for the other).
 * Tasks queued by apply_async before run first.  Returns once every chunk is done, or the
 * first failure once the chunks in flight have ended (out is then partly written).
 * in_size or out_size may be 0. */
int tvp_pool_map(struct tvp_pool *pool, tvp_pool_fn *fn, const void *in, void *out, size_t n,
                 size_t in_size, size_t out_size, size_t chunk, void *arg);

/* Python's Pool.apply_async: fn(copy of in, out, 1, arg) in a worker.  `in` is copied now
 * (the caller may reuse it at once).  The handle is the caller's until tvp_task_free (or
 * tvp_pool_destroy).  NULL when the pool is closed (errno EINVAL) or out of memory. */
struct tvp_task *tvp_pool_apply_async(struct tvp_pool *pool, tvp_pool_fn *fn, const void *in,
                                      size_t in_size, size_t out_size, void *arg);
/* Python's AsyncResult.get: waits up to timeout_s seconds (< 0: no limit, 0: only looks)
 * for the task, then copies its out_size bytes of result to out.  TVP_ETIMEOUT when it is
 * not done yet (call again later), or the task's failure (the same every time). */
int tvp_result_get(struct tvp_task *task, void *out, double timeout_s);
int tvp_task_ready(struct tvp_task *task); /* 1: done or failed (makes progress, no wait) */
int64_t tvp_task_id(const struct tvp_task *task); /* 0, 1, 2, ... per pool */
/* Forgets the task: a queued one is not run, a running one's result is dropped. */
void tvp_task_free(struct tvp_task *task);

/* The general form of apply_async: fn(in, out, count, arg) in a worker, `count` items of
 * in_size and out_size bytes.
 *   worker  -1: any worker; w: only the worker in slot w (and, should it die, its
 *           replacement), for work that needs what that worker holds (made by init)
 *   in_place 0: in is copied now and the result kept by the task until tvp_result_get, as
 *           apply_async; 1: nothing is copied: in is sent from where it is and the result
 *           written straight to out, both the caller's until the task is done or failed
 *           (Pool.map's buffers, one task at a time)
 *   first   what tvp_pool_here()->first says in the worker (map: the chunk's first item)
 * Tasks are sent in the order submitted, each to the first idle worker that may run it.
 * A task for a slot left empty (its worker lost, no replacement) fails with TVP_EWORKER.
 * NULL when the pool is closed or the arguments are bad (errno EINVAL), or out of memory. */
struct tvp_pool_call {
    tvp_pool_fn *fn;
    void *arg;
    const void *in;
    void *out;
    size_t count, in_size, out_size;
    uint64_t first;
    int worker;
    int in_place;
};
struct tvp_task *tvp_pool_submit(struct tvp_pool *pool, const struct tvp_pool_call *call);

/* Inside fn, in a worker: which worker this is and what it runs.  NULL in the caller's
 * process (so a function can tell whether it runs as a task). */
struct tvp_pool_here {
    int worker;     /* its slot, 0..workers-1 */
    int64_t task;   /* apply_async/submit: tvp_task_id; map: the chunk's index */
    uint64_t first; /* map: the chunk's first item; submit: call.first; apply_async: 0 */
};
const struct tvp_pool_here *tvp_pool_here(void);

/* ---- measurements ------------------------------------------------------------------------- */
/* What each worker slot did since create or the last tvp_pool_stats_reset.  Times are
 * CLOCK_MONOTONIC seconds (the one clock of every process here), summed over its tasks
 * and map chunks. */
struct tvp_pool_worker_stats {
    uint64_t tasks;    /* tasks and chunks it finished (fn returned) */
    uint64_t bytes_in, bytes_out; /* payload through its pipes (not the shared memory) */
    double t_in;  /* from the caller starting to send a task until the worker had all of
                     its input (the header and the pipe's payload) */
    double t_fn;  /* in fn */
    double t_out; /* from the worker starting to send a result until the caller had all of
                     it */
    double t_init; /* its init (the latest worker in the slot; 0 without init) */
    int pu;        /* the PU it was on when fn last returned; -1: unknown */
    long rss_kb;   /* its peak RSS at its last result, less its peak RSS at fork: what it
                      allocated itself */
    pid_t pid;     /* the worker in the slot now; 0: none */
};
/* Losses and recoveries since create or the last reset. */
struct tvp_pool_stats {
    int lost;          /* workers lost (dead, timed out) */
    int replaced;      /* workers forked in place of lost ones */
    double t_detect;   /* summed over losses of a busy worker: from starting to send it the
                          work it was lost with until the loss was noticed */
    double t_recovery; /* summed: from noticing a loss until the lost work was done again */
};
/* st and w ([workers]) may each be NULL. */
void tvp_pool_stats(const struct tvp_pool *pool, struct tvp_pool_stats *st,
                    struct tvp_pool_worker_stats *w);
void tvp_pool_stats_reset(struct tvp_pool *pool); /* t_init and pid are kept */

/* Memory shared with every worker, from the arena (opt.shm only; NULL otherwise, or when
 * full).  64-byte aligned; like malloc's, not cleared (fresh pages are zero).  Valid until
 * freed or tvp_pool_destroy; a map whose in and out are such blocks copies nothing. */
void *tvp_pool_shared_alloc(struct tvp_pool *pool, size_t bytes);
void tvp_pool_shared_free(struct tvp_pool *pool, void *p);

/* Python's close: no new tasks; the queued ones still run. */
void tvp_pool_close(struct tvp_pool *pool);
/* Python's join, after close or terminate: runs every queued task to its end, then ends
 * and reaps every worker.  TVP_EWORKER when one did not exit with status 0. */
int tvp_pool_join(struct tvp_pool *pool);
/* Python's terminate: SIGKILLs every worker and reaps it; unfinished tasks fail with
 * TVP_ECANCELED.  The pool is closed. */
int tvp_pool_terminate(struct tvp_pool *pool);
/* Terminates the pool if it was not joined, frees every task not yet freed, the arena and
 * the pool.  NULL does nothing. */
void tvp_pool_destroy(struct tvp_pool *pool);

/* The last failure of this pool's calls: one line ("" when none), and its fields. */
const char *tvp_pool_last_error(const struct tvp_pool *pool);
const struct tvp_pool_error *tvp_pool_last_error_info(const struct tvp_pool *pool);
int tvp_pool_workers(const struct tvp_pool *pool); /* workers alive now */
pid_t tvp_pool_worker_pid(const struct tvp_pool *pool, int w); /* 0: slot w is empty */

#endif
