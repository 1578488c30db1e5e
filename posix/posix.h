/* The POSIX backend's shared pieces.  The map shape (map.c) runs on the process pool
 * library (pool.h).  The stencil shape (stencil.c) and the table shape (table.c), whose
 * workers keep state between lockstep rounds and depend on each other, run on the message
 * pool here (posix.c): the message every pipe carries, the pipes, and the pool of fork()ed
 * workers, to which each gives its own worker main and protocol. */
#ifndef TVP_POSIX_H
#define TVP_POSIX_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* F_SETPIPE_SZ, F_GETPIPE_SZ */
#endif

#include <limits.h>
#include <poll.h>
#include <sys/types.h>

#include "backend.h"

#define POSIX_PIPE_BYTES (1 << 20) /* 1.3 GB/s through a default 64 KiB pipe, 3.2 after */

/* how a worker ends; the parent wants POSIX_EXIT_OK from every worker */
enum posix_exit { POSIX_EXIT_OK = 0, POSIX_EXIT_SETUP = 1, POSIX_EXIT_PROTOCOL = 2 };

enum posix_msg_type {
    POSIX_MSG_READY = 1,
    POSIX_MSG_RUN,
    POSIX_MSG_INPUT,
    POSIX_MSG_COMPUTE,
    POSIX_MSG_OUTPUT,
    POSIX_MSG_REPORT,
    POSIX_MSG_EXIT,
    POSIX_MSG_FIT,    /* table: parse and fit the part; the reply carries the local sets */
    POSIX_MSG_FINISH, /* table: encode (through the map the command carries) and format */
};

struct posix_msg {
    uint32_t type;
    int32_t err;              /* reply: 0 or a TVP_E* code */
    uint64_t chunk;           /* RUN: 1 when the run is a timed one */
    uint64_t payload;         /* bytes of items that follow this header */
    double t_touch;           /* READY */
    int64_t rss_kb;           /* REPORT */
    int32_t pu, pad;          /* REPORT: PU right after the last compute */
    struct tvp_checksum sum;  /* REPORT, stencil with local data: its rows' checksum */
    uint64_t halo_bytes;      /* REPORT, stencil: halo bytes this worker wrote to others */
};
/* one write() of at most PIPE_BUF bytes is atomic: a header never arrives in pieces */
_Static_assert(sizeof(struct posix_msg) <= PIPE_BUF, "posix_msg must fit in PIPE_BUF");

/* where a worker's data lives */
enum posix_path {
    POSIX_PATH_LOCAL, /* data=local: made by the worker, only checksums come back */
    POSIX_PATH_PIPE,  /* data=scatter ipc=pipe: through the pipes, into private buffers */
    POSIX_PATH_SHM,   /* data=scatter ipc=shm: in place in the parent's shared arrays */
};
enum posix_path posix_path_of(const struct tvp_job *job);

/* The life of worker w after fork() (see the pool below) */
typedef void posix_child_fn(const struct tvp_job *job, int w, int cmd, int res, void *arg);

/* the parent's view of one worker */
struct posix_worker {
    pid_t pid;
    int cmd;      /* write end of its command pipe */
    int res;      /* read end of its result pipe */
    /* fault isolation (--inject, --task-timeout) */
    double sent;        /* when it was last handed work or last answered: a worker silent
                           for --task-timeout seconds since, with work, is hung */
    int gone, hung;     /* the last I/O with it saw it dead (end of file, EPIPE) or hung */
};

struct posix_pool {
    int count;           /* workers forked so far */
    int broken;          /* the error that broke a run: the protocol state is lost */
    int kill_if_broken;  /* workers may wait on each other outside the pipes (a shared
                            barrier): when broken, destroy SIGKILLs them before reaping */
    struct posix_worker *w;
    struct pollfd *pfd;  /* [count]: for polling the result pipes */
    int *pfd_worker;
    /* fault isolation: what forks a replacement, and whether to */
    posix_child_fn *child;
    void *arg;
    int recover;         /* replace a dead or hung worker and re-run its work */
    double timeout;      /* --task-timeout seconds, 0 = wait for ever */
};

/* at most this many replacements of one worker in one run; then the run fails */
#define POSIX_MAX_RESTARTS 3

/* ---- messages ---------------------------------------------------------------------- */
/* Writes the header, then m->payload bytes from payload in one large write. */
int posix_msg_send(int fd, const struct posix_msg *m, const void *payload);
/* Reads one header; end of file means the other side is gone (TVP_EWORKER). */
int posix_msg_recv(int fd, struct posix_msg *m);
/* Reads the payload that follows header m, which must be exactly len bytes. */
int posix_payload_recv(int fd, const struct posix_msg *m, void *buf, size_t len);

/* ---- pipes ------------------------------------------------------------------------- */
/* A pipe raised to POSIX_PIPE_BYTES where the system allows; its capacity to *capacity. */
int posix_pipe_open(int fds[2], size_t *capacity);
void posix_fd_close(int *fd); /* closes *fd if open (errno kept), sets it to -1 */

/* ---- the pool ------------------------------------------------------------------------ */
/* A posix_child_fn (above) is the life of worker w after fork(), given its read end of the
 * command pipe and write end of the result pipe (every other pool pipe is already closed):
 * it sends READY, serves commands, and ends with _exit, never returning. */

/* A worker's life after its setup: READY (with setup_err and t_touch), then every command
 * read from cmd goes to serve(child, m), until EXIT or the parent's end; never returns. */
typedef int posix_serve_fn(void *child, struct posix_msg *m);
_Noreturn void posix_child_loop(int cmd, int res, int setup_err, double t_touch,
                                posix_serve_fn *serve, void *child);

/* Forks job->workers workers running child(job, w, cmd, res, arg) and waits for every
 * READY (st: the largest t_touch, and the rest of the time as t_init).  SIGPIPE is
 * ignored from here on.  On failure nothing is left: the forked workers are reaped. */
int posix_pool_start(struct tvp_job *job, posix_child_fn *child, void *arg, struct tvp_start *st,
                     struct posix_pool **out);
/* Ends every worker (EXIT when healthy, closed pipes otherwise) and reaps them all;
 * TVP_EWORKER (or the error that broke the pool) when one did not exit with status 0. */
int posix_pool_destroy(struct posix_pool *p);

/* ---- fault isolation ------------------------------------------------------------------------ */
/* Run-level retry (stencil and table shapes, whose workers depend on each other): after a
 * run failed with err, decides whether the pool is to be restarted.  When the failure is a
 * lost worker (end of file, EPIPE, --task-timeout: replied[w] == 0 for the silent ones)
 * and recovery is on, it kills and reaps every worker, logs one line on stderr naming the
 * worker that failed first (the one a signal killed, else the first silent or dead one),
 * its pid, the cause and `during`, and returns 1; the caller then frees its pool and
 * starts a new one.  0: not recoverable (the pool is left as it was, broken). */
int posix_pool_abandon(struct posix_pool *p, int err, const char *replied, const char *during);
/* Per-worker recovery (table.c): ends lost worker w (SIGKILL, then reaps it), says what
 * happened to it in why ("killed by SIGSEGV", "did not answer within 1 s
 * (--task-timeout)"), forks a new worker in its slot and waits for its READY.  The caller
 * then brings it up to the current round.  0, or the error (TVP_EWORKER with gone set:
 * the new one died in its setup). */
int posix_pool_replace(struct tvp_job *job, struct posix_pool *p, int w, char *why, size_t len);
/* A shape whose workers depend on each other (stencil, table): what the run-level retry
 * (posix_shape_run) and posix_shape_stop need of it.  job->state is the shape's state. */
struct posix_shape {
    /* One attempt at a run: 0 or the error.  phase: the run's startup, distribute, compute
     * and collect seconds (tvp_run_static), read on success.  *failed (0 before): a worker's
     * own error (bad input), the pool still in protocol: not retried, the pool not broken. */
    int (*once)(struct tvp_job *job, struct tvp_run *run, double phase[4], int *failed);
    /* job->state's pool, and (when replied and during are not NULL) its replied flags and
     * the round it failed in, in words */
    struct posix_pool **(*pool)(struct tvp_job *job, const char **replied, const char **during);
    /* Frees job->state (its pool destroyed already) and sets it to NULL; clean: the workers
     * ended well (stencil: a barrier a worker died in is only unmapped). */
    void (*drop)(struct tvp_job *job, int clean);
    int (*start)(struct tvp_job *job, struct tvp_start *st); /* the shape's start hook */
};
/* The run hook of such a shape: attempts until one succeeds; after a lost worker, with
 * recovery on, posix_pool_abandon, then the state dropped and the shape started again (at
 * most POSIX_MAX_RESTARTS times).  The row has the last attempt's phases; run->recovered,
 * t_detect, t_recovery and t_total (the failed attempts and the new pools added). */
int posix_shape_run(struct tvp_job *job, struct tvp_run *run, const struct posix_shape *shape);
/* The stop hook: destroys the pool, drops the state; the pool's error. */
int posix_shape_stop(struct tvp_job *job, const struct posix_shape *shape);
/* Waits for replies from the workers whose replied[w] is 0: poll(), for at most the task
 * timeout counted from each one's `sent` (set it when sending).  0 when something is
 * readable (p->pfd[0..*nfd), with p->pfd_worker) or poll() was interrupted; TVP_EWORKER
 * with p->w[w].hung set on every worker silent for the timeout; TVP_ESYS. */
int posix_pool_poll(struct posix_pool *p, const char *replied, nfds_t *nfd);

/* ---- map hooks (map.c: on the pool library, pool.h) ----------------------------------- */
int posix_map_start(struct tvp_job *job, struct tvp_start *st);
int posix_map_run(struct tvp_job *job, struct tvp_run *run);
int posix_map_stop(struct tvp_job *job);

/* ---- stencil hooks (stencil.c) -------------------------------------------------------- */
int posix_stencil_start(struct tvp_job *job, struct tvp_start *st);
int posix_stencil_run(struct tvp_job *job, struct tvp_run *run);
int posix_stencil_stop(struct tvp_job *job);

/* ---- table hooks (table.c) ------------------------------------------------------------ */
int posix_table_start(struct tvp_job *job, struct tvp_start *st);
int posix_table_run(struct tvp_job *job, struct tvp_run *run);
int posix_table_stop(struct tvp_job *job);

#endif
