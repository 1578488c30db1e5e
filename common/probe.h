/* Probes: `tvp-BACKEND probe NAME [options]` measures what separates processes from
 * threads (creating workers, moving bytes between two of them, switching between them,
 * the memory they hold), each backend with its own real mechanism.
 *
 * The driver (common/driver.c) routes `probe NAME` here before any workload: it checks the
 * options, plans the pinning, fills a struct tvp_probe_ctx and calls the backend's probe
 * hook (struct tvp_backend.probe), which measures and appends rows to a struct
 * tvp_probe_sink; the root then writes the rows in ONE format shared by every probe and
 * backend (text table, CSV, JSON lines; tvp_probe_write).  A backend without the hook, or
 * whose hook returns TVP_ENOSYS for a probe, has no such probe (exit 3).
 *
 * What this file gives backends, all runtime-free:
 *   - the EPCC timing loop (tvp_probe_epcc): inner repetitions grown until a target time,
 *     outer repetitions, an empty reference loop subtracted, statistics in µs;
 *   - statistics (mean, median, min, max, sample sd, 95 % CI from Student's t);
 *   - a futex flag for handing over between two workers, threads or processes (through a
 *     MAP_SHARED mapping), spinning first or blocking at once;
 *   - a command channel for a pair of workers built on it (one runs the timing loop, the
 *     other serves), the RSS/PSS reader (/proc/PID/smaps_rollup, or summing
 *     /proc/PID/smaps);
 *   - the message sizes of `ipc` and the placement names;
 *   - the rows every backend makes alike: ipc's size sweep (latency and MB/s per size and
 *     mechanism), switch's round trip and context switch rows, the memory rows, and the
 *     dispatch of `probe NAME` to a backend's table of probes.
 *
 * Under MPI the ranks are the workers and rank 0 emits the rows (other ranks may call
 * tvp_probe_emit too: the driver writes only the root's sink).  tvp_probe_epcc's decisions
 * (how many inner repetitions) depend on the seconds its loop function returns, so a loop
 * that every rank runs must return the same seconds on every rank (for example the
 * MPI_MAX over ranks, or rank 0's broadcast); or rank 0 alone runs tvp_probe_epcc and
 * tells the other ranks what to do (as the pair's server does here).
 *
 * Like everything in common/: functions return 0 or a negative TVP_E* code, never print. */
#ifndef TVP_PROBE_H
#define TVP_PROBE_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "tvp.h"

struct tvp_topo;
struct tvp_world;

#define TVP_PROBE_SCHEMA_VERSION 1 /* the probe record's own schema (not the run record's) */

enum tvp_probe_id { TVP_PROBE_SPAWN, TVP_PROBE_IPC, TVP_PROBE_SWITCH, TVP_PROBE_MEMORY, TVP_PROBE_COUNT };
extern const char *const tvp_probe_names[TVP_PROBE_COUNT]; /* "spawn", "ipc", "switch", "memory" */
/* The probe called name, or -1. */
int tvp_probe_find(const char *name);
/* "spawn, ipc, switch, memory", for messages. */
void tvp_probe_known(char *buf, size_t len);

/* A backend's probe, one of its table (tvp_probe_run). */
struct tvp_probe_ctx;
struct tvp_probe_sink;
typedef int tvp_probe_fn(const struct tvp_probe_ctx *ctx, struct tvp_probe_sink *out);
/* The backend's probe for ctx->id: probes[ctx->id](ctx, out), or TVP_ENOSYS (no such probe:
 * ctx->id out of range or its entry NULL). */
int tvp_probe_run(const struct tvp_probe_ctx *ctx, tvp_probe_fn *const probes[TVP_PROBE_COUNT],
                  struct tvp_probe_sink *out);

/* defaults of the probe options */
#define TVP_PROBE_DEFAULT_WORKERS 2
#define TVP_PROBE_DEFAULT_OUTER 20
#define TVP_PROBE_DEFAULT_TARGET_MS 1.0 /* EPCC's default target test time, 1000 µs */
#define TVP_PROBE_DEFAULT_MAX_SIZE ((uint64_t)64 << 20)
#define TVP_PROBE_DEFAULT_TOUCH_MIB 0
#define TVP_PROBE_DEFAULT_SIZE_MIB 256

/* Everything a backend's probe needs; built by the driver on every process it has. */
struct tvp_probe_ctx {
    const struct tvp_options *opt;
    const struct tvp_world *world; /* MPI: ranks are the workers, rank 0 emits */
    const struct tvp_topo *topo;
    const char *backend;    /* "openmp", "posix", "mpi" */
    enum tvp_probe_id id;   /* the probe asked for (its name is the hook's name argument) */
    int workers;            /* spawn, memory: --workers (default 2; tvp-mpi: the ranks).
                               ipc and switch use workers 0 and 1 */
    const int *pu_plan;     /* [workers]: the --bind plan, PU per worker, -1 = not bound
                               (tvp-mpi on several ranks: only pu_plan[rank] is set) */
    const char *bind;       /* the plan's name: core, scatter, list, none, launcher */
    /* switch: one PU that both workers share ("same-core"), and one on another core
     * (pu_other < 0: this process may use only one core, so no different-cores row) */
    int pu_same, pu_other;
    int outer;              /* --outer: outer repetitions (default 20) */
    double target_s;        /* --target-ms / 1000: the inner loop's target time */
    uint64_t max_size;      /* ipc: the largest message (--max-size, default 64 MiB) */
    uint64_t touch_bytes;   /* spawn: memory the parent touches first (--touch MiB) */
    int touch_given;        /* --touch was on the command line */
    uint64_t size_bytes;    /* memory: the shared input (--size-mib, default 256 MiB) */
};

/* ---- statistics --------------------------------------------------------------------- */
/* All in the samples' unit.  sd is the sample standard deviation (n - 1); the 95 %
 * confidence interval of the mean is mean -+ t(0.975, n - 1) sd / sqrt(n), Student's t
 * (exact table to 30 degrees of freedom, a Cornish-Fisher expansion beyond).  With one
 * sample sd and the interval are NaN. */
struct tvp_probe_stats {
    int n;
    double mean, median, min, max, sd, ci95_lo, ci95_hi;
};
void tvp_probe_stats_of(const double *samples, int n, struct tvp_probe_stats *st);
double tvp_probe_t975(int df); /* Student's t, two-sided 95 % (one-sided 0.975) */

/* ---- the record: one row per measured thing ---------------------------------------------- */
struct tvp_probe_row {
    char what[64];      /* "fork+_exit+waitpid", "first region (bound)", "pipe", ... */
    int workers;
    char placement[24]; /* same-core, different-cores, bound, unbound, - */
    uint64_t size_bytes;
    int outer;          /* 0: not a timing row */
    uint64_t inner;
    struct tvp_probe_stats us; /* µs per construct, reference subtracted; NaN: none */
    double bandwidth_MBps;     /* 10^6 bytes/s, from the median; NaN: none */
    long rss_kb, pss_kb;       /* -1: none */
    char notes[192];
    char timestamp[32];        /* UTC, set by tvp_probe_emit */
};
/* A row with no values (NaN times and bandwidth, -1 memory), what and placement set. */
void tvp_probe_row_init(struct tvp_probe_row *r, const char *what, int workers,
                        const char *placement);

/* Where a backend's rows go; the driver writes them at the root. */
struct tvp_probe_sink {
    struct tvp_probe_row *rows;
    size_t count, cap;
    char err[256]; /* a one-line reason, when the hook fails (the driver prints it) */
};
/* Appends a copy of *r (timestamped now).  TVP_ENOMEM. */
int tvp_probe_emit(struct tvp_probe_sink *s, const struct tvp_probe_row *r);
void tvp_probe_sink_free(struct tvp_probe_sink *s);

/* What the record says beside every row. */
struct tvp_probe_meta {
    const char *backend, *probe;
    char host[256];
};
void tvp_probe_meta_init(struct tvp_probe_meta *m, const char *backend, const char *probe);
/* The rows as fmt: text (a table: the columns any row has), CSV with a header line, or JSON
 * lines; empty CSV fields and JSON nulls where a row has no value.  0 or TVP_ESYS. */
int tvp_probe_write(FILE *f, enum tvp_format fmt, const struct tvp_probe_meta *m,
                    const struct tvp_probe_sink *s);
/* Same, into path atomically (tvp_atomic_open/close). */
int tvp_probe_write_file(const char *path, enum tvp_format fmt, const struct tvp_probe_meta *m,
                         const struct tvp_probe_sink *s);
extern const char tvp_probe_csv_header[];

/* ---- the EPCC timing loop ----------------------------------------------------------------
 * As the EPCC OpenMP micro-benchmarks (syncbench): test(arg, inner, &s) runs the construct
 * inner times in a loop and puts the elapsed seconds in s (or returns an error); ref(arg,
 * inner, &s) runs the same loop without the construct (NULL: nothing is subtracted).
 *   0. one construct, untimed (a warm-up: the first pays for cold caches and faults);
 *   1. inner = 1, doubled until one test loop takes target_s (or inner reaches inner_max;
 *      inner_max 1: a construct that happens once per loop call, no calibration);
 *   2. outer test loops and outer reference loops of that many inner repetitions;
 *   3. sample i = test_i / inner - mean(ref) / inner, in µs (EPCC subtracts the
 *      reference mean);  statistics over the outer samples into row->us, with row->outer
 *      and row->inner.
 * A sample may be negative when the construct costs less than the noise of the loop. */
typedef int tvp_probe_loop_fn(void *arg, uint64_t inner, double *seconds);
int tvp_probe_epcc(const struct tvp_probe_ctx *ctx, tvp_probe_loop_fn *test, tvp_probe_loop_fn *ref,
                   void *arg, uint64_t inner_max, struct tvp_probe_row *row);
/* The reference most constructs want: an empty loop the compiler keeps. */
int tvp_probe_ref_empty(void *arg, uint64_t inner, double *seconds);

/* ---- a futex flag: a counter two workers hand over with -------------------------------
 * post() adds one and wakes a sleeper; wait() returns once the counter has reached want
 * (counters are compared modulo 2^32), spinning `spins` times first (0: block at once, so
 * that the two really switch; a spinning waiter on the same PU only delays its peer).
 * shared: the flag lives in a MAP_SHARED mapping between processes (no FUTEX_PRIVATE).
 * watch (NULL for threads, which cannot die alone): while asleep, every 100 ms, ask
 * watch->gone(watch->arg) whether the peer process is gone; if so return TVP_EWORKER. */
struct tvp_probe_flag {
    _Alignas(64) _Atomic uint32_t seq; /* a cache line of its own */
    _Atomic uint32_t sleepers;
    char pad[56];
};
struct tvp_probe_watch {
    int (*gone)(void *arg);
    void *arg;
};
void tvp_probe_flag_post(struct tvp_probe_flag *f, int shared);
int tvp_probe_flag_wait(struct tvp_probe_flag *f, uint32_t want, int spins, int shared,
                        const struct tvp_probe_watch *watch);
#define TVP_PROBE_SPINS 20000 /* about 0.1-1 ms of pause instructions, then sleep */

/* ---- a pair of workers: one (the client, worker 0) runs the timing loop, the other (the
 * server, worker 1) does what each command says.  The pair lives where both see it: plain
 * memory for threads, a MAP_SHARED mapping for processes (shared = 1).  Each side keeps its
 * own counters (struct tvp_probe_pair_end), so the pair itself is only the flags.
 *
 *   client: tvp_probe_pair_call(p, &me, &cmd)      post the command, wait until served
 *           ... the timed loop, which the server runs its half of ...
 *           tvp_probe_pair_done(p, &me)            wait for the server's end; its err
 *   server: while (tvp_probe_pair_next(p, &me, &cmd) == 0 && cmd.op != TVP_PROBE_OP_EXIT)
 *               { tvp_probe_pair_ready(p, &me); ...its half...; tvp_probe_pair_reply(p, &me, err); }
 */
enum { TVP_PROBE_OP_EXIT = 0 }; /* backends number their other ops from 1 */
struct tvp_probe_cmd {
    uint32_t op, mech;
    uint64_t inner, size;
    int32_t pu, err;
};
struct tvp_probe_pair {
    struct tvp_probe_flag cmd;  /* client -> server: a command is in c */
    struct tvp_probe_flag back; /* server -> client: ready, then done */
    struct tvp_probe_flag ping; /* the data handover, for mechanisms that use flags */
    struct tvp_probe_flag pong;
    struct tvp_probe_cmd c;
    int shared, spins;
};
struct tvp_probe_pair_end {
    _Alignas(64) uint32_t cmd, back, ping, pong; /* the counts this side has seen or made
                                                    (a cache line of its own: threads) */
    const struct tvp_probe_watch *watch; /* processes: is the other side gone? */
};
void tvp_probe_pair_init(struct tvp_probe_pair *p, int shared, int spins);
/* These return 0, or TVP_EWORKER when the watch says the other side is gone. */
int tvp_probe_pair_call(struct tvp_probe_pair *p, struct tvp_probe_pair_end *me,
                        const struct tvp_probe_cmd *cmd);
/* ... or the err the server replied with */
int tvp_probe_pair_done(struct tvp_probe_pair *p, struct tvp_probe_pair_end *me);
int tvp_probe_pair_next(struct tvp_probe_pair *p, struct tvp_probe_pair_end *me,
                        struct tvp_probe_cmd *cmd);
void tvp_probe_pair_ready(struct tvp_probe_pair *p, struct tvp_probe_pair_end *me);
void tvp_probe_pair_reply(struct tvp_probe_pair *p, struct tvp_probe_pair_end *me, int err);
/* The data handover on ping/pong: send = post ping (client) or pong (server); recv =
 * wait for the next pong (client) or ping (server). */
static inline void tvp_probe_pair_send(struct tvp_probe_pair *p, int server)
{
    tvp_probe_flag_post(server ? &p->pong : &p->ping, p->shared);
}
static inline int tvp_probe_pair_recv(struct tvp_probe_pair *p, struct tvp_probe_pair_end *me,
                                      int server)
{
    return server ? tvp_probe_flag_wait(&p->ping, me->ping += 1, p->spins, p->shared, me->watch)
                  : tvp_probe_flag_wait(&p->pong, me->pong += 1, p->spins, p->shared, me->watch);
}

/* ---- the pair's rows: ipc and switch, alike in every backend ---------------------------
 * A backend's pair measures with one loop function whose handover (pipe, flag, MPI_Send,
 * ...) is one of its own ops, of a message size; the rows are made here. */
struct tvp_probe_runner {
    tvp_probe_loop_fn *loop;                            /* inner handovers (EPCC's test) */
    void (*set)(void *arg, uint32_t op, uint64_t size); /* what the next loops hand over */
    /* the measurement called what failed with rc: its reason into out->err; returns the rc
     * the probe is to return */
    int (*failed)(void *arg, int rc, const char *what, struct tvp_probe_sink *out);
    void *arg;
    int emits; /* this worker emits the rows (tvp-mpi: rank 0, while both ranks measure) */
};
/* One mechanism of ipc. */
struct tvp_probe_mech {
    const char *what;  /* the rows' what */
    uint32_t rtt, bw;  /* the backend's ops: a round trip of size bytes; size bytes one way,
                          then an acknowledgement */
    const char *notes; /* the rows' notes, after "PUs a,b; " */
};
/* ipc: for each mechanism, for each size of tvp_probe_sizes(ctx->max_size), one row: the
 * round trip (tvp_probe_epcc, the empty reference subtracted), and MB/s = size / the median
 * of the one-way loop.  A failure (measuring or emitting) stops it: r->failed with the
 * mechanism's what, when out->err is still empty. */
int tvp_probe_ipc_rows(const struct tvp_probe_ctx *ctx, const struct tvp_probe_runner *r,
                       const struct tvp_probe_mech *mech, size_t nmech, const int pus[2],
                       const char *place, struct tvp_probe_sink *out);
/* switch: a row of the round trip of op (loops of size bytes; the row says row_size), notes
 * "PUs a,b; " + notes; and when pus[0] == pus[1] (one PU: a round trip is two switches)
 * another, "context switch (what)", with every time halved.  A failed measurement:
 * r->failed's rc. */
int tvp_probe_switch_rows(const struct tvp_probe_ctx *ctx, const struct tvp_probe_runner *r,
                          uint32_t op, uint64_t size, const char *what, const char *place,
                          const int pus[2], uint64_t row_size, const char *notes,
                          struct tvp_probe_sink *out);

/* ---- memory -------------------------------------------------------------------------- */
/* A row of the memory probe: "after PHASE: WHO", size the input, RSS and PSS in kB. */
int tvp_probe_emit_mem(struct tvp_probe_sink *out, const char *phase, const char *who,
                       int workers, uint64_t size, long rss, long pss, const char *notes);
/* The rows "after PHASE: total" (rss and pss, with notes) and "after PHASE: per worker"
 * (total / workers). */
int tvp_probe_emit_mem_total(struct tvp_probe_sink *out, const char *phase, int workers,
                             uint64_t size, long rss, long pss, const char *notes);

struct tvp_probe_mem {
    long rss_kb, pss_kb;
    long shared_kb, private_kb; /* Shared_Clean + Shared_Dirty, Private_Clean + _Dirty */
};
/* Sums the Rss:, Pss:, Shared_*: and Private_*: lines of an smaps or smaps_rollup text. */
int tvp_probe_mem_parse(const char *text, struct tvp_probe_mem *m);
/* /proc/PID/smaps_rollup (pid 0: self), or, where the kernel has none (before 4.14),
 * /proc/PID/smaps summed.  TVP_ESYS (errno kept) when neither can be read. */
int tvp_probe_mem_read(pid_t pid, struct tvp_probe_mem *m);
/* The same from given files (rollup may be NULL), for tests. */
int tvp_probe_mem_read_files(const char *rollup, const char *smaps, struct tvp_probe_mem *m);

/* Anonymous private memory on 4 KiB pages (MADV_NOHUGEPAGE: the pages a heap of small
 * objects has, and what fork copies page-table entries for), untouched; NULL on failure.
 * Release with tvp_probe_unmap. */
void *tvp_probe_map(size_t bytes);
void *tvp_probe_map_shared(size_t bytes); /* MAP_SHARED | MAP_ANONYMOUS, for processes */
void tvp_probe_unmap(void *p, size_t bytes);
/* Writes one byte per 4 KiB page of [p, p + bytes), so every page is present. */
void tvp_probe_touch(void *p, size_t bytes);

/* ---- ipc sizes and placement ----------------------------------------------------------- */
/* The message sizes of `ipc`: 8, 16, 32, ... (powers of 2) up to max, and max itself when it
 * is not one.  Returns the count (at most cap written). */
int tvp_probe_sizes(uint64_t max, uint64_t *sizes, int cap);
/* 1 when PUs a and b share a core (same PU, or SMT siblings), 0 when not, -1 unknown
 * (reads /sys/devices/system/cpu/cpuA/topology/thread_siblings_list). */
int tvp_probe_same_core(int a, int b);
/* waitpid, retried on EINTR: 0 when the child exited with status 0, TVP_EWORKER when it
 * did not, TVP_ESYS when waitpid failed */
int tvp_probe_reap(pid_t pid);
/* "same-core", "different-cores", or "unbound" (either < 0) for two workers' PUs. */
const char *tvp_probe_placement(int pu_a, int pu_b);

#endif
