/* tvp: threads vs processes.  Shared declarations for common/ and every backend.
 *
 * Rules for everything in common/: functions return 0 (or a count) on success and a
 * negative TVP_E* code on failure; they never print.  Only the mains print. */
#ifndef TVP_H
#define TVP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define TVP_SCHEMA_VERSION 4

/* ---- errors ---------------------------------------------------------------- */
enum tvp_err {
    TVP_OK = 0,
    TVP_EUSAGE = -1,  /* bad command line                    -> exit 2 */
    TVP_EINPUT = -2,  /* bad input (file contents, values)   -> exit 2 */
    TVP_EVERIFY = -3, /* result differs from serial kernel   -> exit 1 */
    TVP_ENOMEM = -4,  /* allocation failed                   -> exit 3 */
    TVP_ESYS = -5,    /* a system call failed (errno kept)   -> exit 3 */
    TVP_EWORKER = -6, /* a worker died or broke the protocol -> exit 3 */
    TVP_ENOSYS = -7,  /* not supported by this backend/host  -> exit 3 */
};
enum tvp_exit { TVP_EXIT_OK = 0, TVP_EXIT_VERIFY = 1, TVP_EXIT_USAGE = 2, TVP_EXIT_RUNTIME = 3 };
int tvp_exit_code(int err);
/* Formats a one-line message into err (newlines in it become spaces; nothing when err is
 * NULL) and returns rc, for "return tvp_errorf(TVP_EINPUT, err, len, ...)". */
int tvp_errorf(int rc, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
const char *tvp_strerror(int err);

/* ---- options (one command line for every backend) --------------------------- */
enum tvp_schedule { TVP_SCHED_STATIC, TVP_SCHED_DYNAMIC };
enum tvp_data { TVP_DATA_LOCAL, TVP_DATA_SCATTER };
enum tvp_ipc { TVP_IPC_PIPE, TVP_IPC_SHM };
enum tvp_bind { TVP_BIND_AUTO, TVP_BIND_NONE, TVP_BIND_CORE, TVP_BIND_SCATTER, TVP_BIND_LIST };
enum tvp_format { TVP_FMT_TEXT, TVP_FMT_CSV, TVP_FMT_JSON };
/* --inject: the fault a worker is made to suffer (fault isolation) */
enum tvp_inject_kind { TVP_INJECT_NONE, TVP_INJECT_CRASH, TVP_INJECT_HANG };

#define TVP_BIND_LIST_MAX 1024
#define TVP_DEFAULT_N 20000000u
#define TVP_DEFAULT_CHUNK 65536u
#define TVP_DEFAULT_SEED 42u
#define TVP_DEFAULT_SIDE 8192u   /* filter: width and height of the generated image */
#define TVP_DEFAULT_ROWS_CHUNK 16u /* filter, dynamic schedule: rows per chunk */
#define TVP_DEFAULT_TABLE_ROWS 2000000u /* labelencode: rows of the generated table */
#define TVP_DEFAULT_TABLE_COLUMNS 3u
#define TVP_DEFAULT_CARDINALITY 1000u
#define TVP_DEFAULT_SKEW 1.0

/* options that belong to one kind of workload (tvp_options.given), so that the driver can
 * refuse them for the others */
enum tvp_opt_bit {
    TVP_OPT_N = 1u << 0,
    TVP_OPT_CHUNK = 1u << 1,
    TVP_OPT_FILTER = 1u << 2,
    TVP_OPT_ITERATIONS = 1u << 3,
    TVP_OPT_WIDTH = 1u << 4,
    TVP_OPT_HEIGHT = 1u << 5,
    TVP_OPT_CHANNELS = 1u << 6,
    TVP_OPT_MAX_PIXELS = 1u << 7,
    TVP_OPT_ROWS = 1u << 8,
    TVP_OPT_COLUMNS_COUNT = 1u << 9,
    TVP_OPT_CARDINALITY = 1u << 10,
    TVP_OPT_SKEW = 1u << 11,
    TVP_OPT_COLUMNS = 1u << 12,
    TVP_OPT_CLASSES_IN = 1u << 13,
    TVP_OPT_CLASSES_OUT = 1u << 14,
    TVP_OPT_INVERSE = 1u << 15,
    TVP_OPT_DELIMITER = 1u << 16,
    /* ---- probes (tvp-BACKEND probe NAME; common/probe.h) ---- */
    TVP_OPT_OUTER = 1u << 17,
    TVP_OPT_TARGET_MS = 1u << 18,
    TVP_OPT_MAX_SIZE = 1u << 19,
    TVP_OPT_TOUCH = 1u << 20,
    TVP_OPT_SIZE_MIB = 1u << 21,
    /* ---- end probes ---- */
};
#define TVP_OPT_PROBE                                                                         \
    (TVP_OPT_OUTER | TVP_OPT_TARGET_MS | TVP_OPT_MAX_SIZE | TVP_OPT_TOUCH | TVP_OPT_SIZE_MIB)
#define TVP_OPT_IMAGE                                                                         \
    (TVP_OPT_FILTER | TVP_OPT_ITERATIONS | TVP_OPT_WIDTH | TVP_OPT_HEIGHT | TVP_OPT_CHANNELS |  \
     TVP_OPT_MAX_PIXELS)
#define TVP_OPT_TABLE                                                                         \
    (TVP_OPT_ROWS | TVP_OPT_COLUMNS_COUNT | TVP_OPT_CARDINALITY | TVP_OPT_SKEW |             \
     TVP_OPT_COLUMNS | TVP_OPT_CLASSES_IN | TVP_OPT_CLASSES_OUT | TVP_OPT_INVERSE |           \
     TVP_OPT_DELIMITER)

struct tvp_options {
    const char *workload; /* first positional argument */
    uint64_t n;
    int n_set;
    uint64_t seed;
    const char *in_path; /* --in FILE, NULL: generate */
    int workers;         /* --workers, 0 = backend default */
    enum tvp_schedule schedule;
    uint64_t chunk;
    enum tvp_data data;
    enum tvp_ipc ipc;
    enum tvp_bind bind;
    int bind_list[TVP_BIND_LIST_MAX];
    int bind_count;
    int repeat, warmup;
    int verify;
    enum tvp_format format;
    const char *out_path;    /* squares: the record; filter: the output image; labelencode:
                                the output CSV */
    const char *record_path; /* --record FILE: the record, for every workload */
    /* filter */
    const char *filters; /* --filter NAME[,NAME...] (default gaussian3) */
    int iterations;      /* the whole list this many times */
    uint32_t width, height, channels; /* the generated image */
    uint64_t max_pixels;
    /* labelencode */
    uint64_t rows;              /* the generated table: --rows, --columns-count, */
    uint32_t columns_count;     /* --cardinality, --skew */
    uint32_t cardinality;
    double skew;
    const char *columns;     /* --columns a,b,... (NULL: all) */
    const char *classes_in;  /* --classes-in FILE.json: transform (or --inverse) with these */
    const char *classes_out; /* --classes-out FILE.json */
    int inverse;             /* --inverse */
    char delimiter;          /* --delimiter (default ',') */
    /* fault isolation: --inject crash|hang:worker=I,task=K|after=T, --task-timeout S */
    enum tvp_inject_kind inject;
    int inject_worker;       /* I */
    uint64_t inject_task;    /* K >= 1: when worker I starts its K-th task of the timed runs;
                                0: after inject_after seconds instead */
    double inject_after;     /* seconds from the start of worker I's first timed run */
    double task_timeout;     /* seconds a tvp-posix worker may take to answer; 0 = off */
    /* ---- probes (tvp-BACKEND probe NAME; common/probe.h) ---- */
    const char *probe;      /* the positional after the workload "probe" */
    int outer;              /* --outer R (default 20) */
    double target_ms;       /* --target-ms T (default 1) */
    uint64_t max_size;      /* --max-size BYTES (default 64 MiB) */
    uint64_t touch_mib;     /* --touch MiB (default 0) */
    uint64_t size_mib;      /* --size-mib X (default 256) */
    const char *run_opt;    /* the first option given that only workloads take (as written, */
    int run_opt_len;        /* run_opt_len characters of it), for the probes' refusal */
    /* ---- end probes ---- */
    unsigned given; /* TVP_OPT_* bits of the options on the command line */
    int help, version;
};

void tvp_options_default(struct tvp_options *o);
/* Parses argv[1..argc).  On failure returns TVP_EUSAGE and a one-line reason in err. */
int tvp_options_parse(struct tvp_options *o, int argc, char **argv, char *err, size_t errlen);
const char *tvp_schedule_name(enum tvp_schedule s);
const char *tvp_data_name(enum tvp_data d);
const char *tvp_ipc_name(enum tvp_ipc i);
const char *tvp_bind_name(enum tvp_bind b);
const char *tvp_format_name(enum tvp_format f);
/* the --help text, shared by every backend */
extern const char tvp_usage_text[];

/* ---- version (generated at build time) ------------------------------------- */
extern const char tvp_version[];    /* e.g. "0.1.0" */
extern const char tvp_git_commit[]; /* short hash, "-dirty" suffix, or "unknown" */
extern const char tvp_build_flags[]; /* compiler, version and flags */
extern const char tvp_build_deps[];  /* hwloc, OpenMP and MPI versions built against */

/* ---- clock: one clock for everything (CLOCK_MONOTONIC, seconds) -------------- */
double tvp_now(void);

/* ---- partition: the one way work is split ------------------------------------ */
/* Balanced contiguous blocks: part `index` of `parts` over [0,n) is [*begin,*end).
 * The first n % parts blocks get one extra item; empty blocks are allowed (n < parts). */
void tvp_partition(uint64_t n, int parts, int index, uint64_t *begin, uint64_t *end);
/* Fixed-size chunks for dynamic schedules: chunk k is [k*chunk, min(n,(k+1)*chunk)). */
uint64_t tvp_chunk_count(uint64_t n, uint64_t chunk);
void tvp_chunk_range(uint64_t n, uint64_t chunk, uint64_t k, uint64_t *begin, uint64_t *end);

/* ---- rows of a 2-D grid (images) held by one buffer: row r, for first <= r < first +
 * count, starts at data + (r - first) * stride.  Stencil workloads work on these. ---- */
struct tvp_rows {
    uint8_t *data;
    size_t stride;
    uint32_t first, count;
};

/* ---- memory ------------------------------------------------------------------ */
/* 64-byte aligned (2 MiB for large sizes, so transparent huge pages can back them) and
 * first-touched (zeroed), so page faults are paid here, not in a timed region.  No
 * MADV_HUGEPAGE: with defrag=madvise it made the kernel compact memory for up to a
 * second on this kind of machine. */
void *tvp_alloc_touched(size_t bytes);
void tvp_free(void *p);
long tvp_peak_rss_kb(void); /* getrusage(RUSAGE_SELF).ru_maxrss */

/* How a process ended, in words.  tvp_signal_name: "SIGSEGV", or NULL when the signal has
 * no name here.  tvp_end_text: "killed by SIGSEGV" (signal > 0; "killed by signal 40" for
 * one without a name), "exited with status 2" (exit_status >= 0), else "ended".
 * tvp_wait_text: the same from a waitpid status ("ended (wait status 0x...)" otherwise). */
const char *tvp_signal_name(int sig);
void tvp_end_text(int signal, int exit_status, char *buf, size_t len);
void tvp_wait_text(int status, char *buf, size_t len);

/* ---- where a worker keeps the output of the chunks it was given (dynamic schedule, local
 * data): one buffer per chunk, kept across runs, so a run allocates only when a worker
 * gets more chunks than it ever had.  Checksums are taken after the timed window. */
struct tvp_chunk_store {
    size_t buf_bytes; /* one chunk's output */
    void **bufs;
    uint64_t *ids; /* chunk number held in bufs[i], for i < count */
    size_t count, cap;
};
void tvp_chunk_store_init(struct tvp_chunk_store *s, size_t buf_bytes);
/* Buffer for chunk k (recorded as the next one held), or NULL when out of memory. */
void *tvp_chunk_store_take(struct tvp_chunk_store *s, uint64_t k);
void tvp_chunk_store_reset(struct tvp_chunk_store *s); /* forget the chunks, keep buffers */
void tvp_chunk_store_free(struct tvp_chunk_store *s);

/* ---- writing a file atomically: a temporary file in the same folder (so that rename is
 * atomic), then rename; a reader never sees half a file, a failure leaves nothing. */
struct tvp_atomic {
    char *tmp; /* PATH.tmp.XXXXXX */
    const char *path;
    FILE *f; /* write here */
};
/* Creates the temporary file (mode 0666 & ~umask, as an ordinary new file) and opens it
 * for writing.  A path that exists and is not a regular file (/dev/null, a FIFO) is
 * written directly instead (tmp stays NULL): nothing is renamed over it.  TVP_ESYS with errno kept (ENOENT: the folder is missing), or TVP_ENOMEM. */
int tvp_atomic_open(struct tvp_atomic *a, const char *path);
/* With ok: flush, fsync, close and rename into place; otherwise, or when any of that
 * fails, close and remove the temporary file.  0, or TVP_ESYS with errno kept. */
int tvp_atomic_close(struct tvp_atomic *a, int ok);

/* ---- I/O helpers ---------------------------------------------------------------- */
/* Move exactly len bytes, retrying on EINTR and short transfers.  read_full returns the
 * number of bytes read (less than len only at end of file) or TVP_ESYS. */
ssize_t tvp_read_full(int fd, void *buf, size_t len);
int tvp_write_full(int fd, const void *buf, size_t len);
/* Opens an input file for reading: the file descriptor (>= 0), or TVP_EINPUT with "PATH:
 * cannot open: why", "PATH: is a directory, not WHAT", or (regular set: only a regular
 * file will do) "PATH: not a regular file, not WHAT".  *size (NULL: not wanted): its size. */
int tvp_open_input(const char *path, const char *what, int regular, size_t *size, char *err,
                   size_t errlen);
/* A whole regular file into a malloc'd *buf (one byte more, a NUL after the *len bytes).
 * TVP_EINPUT with "PATH: cannot open: why" or "PATH: is a directory, not WHAT"; TVP_ENOMEM;
 * TVP_ESYS "PATH: cannot read: why" (errno kept). */
int tvp_read_file(const char *path, const char *what, char **buf, size_t *len, char *err,
                  size_t errlen);

/* ---- checksum of an output: sum of its 64-bit little-endian words (mod 2^64) and its
 * CRC-64/XZ (ECMA-182 polynomial, reflected, init and xorout all ones; the check the xz
 * file format uses).  Both are combinable, so pieces computed by different workers
 * concatenate to the checksum of the whole. ------------------------------------ */
struct tvp_checksum {
    uint64_t sum;
    uint64_t crc64;
    uint64_t bytes;
};
#define TVP_CHECKSUM_EMPTY ((struct tvp_checksum){0, 0, 0})
/* The checksum of data that begins the output (byte 0). */
struct tvp_checksum tvp_checksum_of(const void *data, size_t len);
/* Appends len bytes to *c, a piece of the output that begins at byte `start` of the whole
 * (the sum's words are aligned to the whole output, not to the piece). */
void tvp_checksum_add(struct tvp_checksum *c, uint64_t start, const void *data, size_t len);
/* The checksum of a||b from those of a and b, b being the piece right after a. */
struct tvp_checksum tvp_checksum_cat(struct tvp_checksum a, struct tvp_checksum b);
int tvp_checksum_equal(struct tvp_checksum a, struct tvp_checksum b);

#endif
