/* The shared driver: the main of every backend.  It parses the command line, prepares the
 * input, runs warm-ups and timed repeats through the backend's hooks, verifies against
 * the serial kernel and writes the record.  It is the only code in common/ that prints. */
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "backend.h"
#include "probe.h"
#include "record.h"

/* ---- fault injection (backend.h) ----------------------------------------------------------- */

_Thread_local int tvp_inject_self = -1;
volatile int tvp_inject_armed;

static struct {
    enum tvp_inject_kind kind;
    int worker;
    uint64_t task; /* 0: after seconds */
    double after;
    int hosts_all;  /* the workers are this process's threads */
    int started;    /* the first timed run has begun here */
    int spent;      /* fired, or replaced: never again */
    uint64_t count; /* tasks worker I started in the timed runs */
} inj;

/* async-signal-safe formatting for the one line a firing worker writes */
static char *put_str(char *p, char *end, const char *s)
{
    while (*s && p < end)
        *p++ = *s++;
    return p;
}
static char *put_u64(char *p, char *end, uint64_t v, int width)
{
    char d[24];
    int n = 0;
    do
        d[n++] = (char)('0' + v % 10), v /= 10;
    while (v && n < 24);
    while (n < width && n < 24)
        d[n++] = '0';
    while (n > 0 && p < end)
        *p++ = d[--n];
    return p;
}

static volatile int *volatile inject_nowhere; /* NULL: the crash writes through it */

/* The fault, now, in the calling thread: one line on stderr (worker, pid, what, when as
 * CLOCK_REALTIME, so that a script can time how long the others take to notice), then a
 * SIGSEGV from an invalid write, or sleep forever.  Async-signal-safe (the after= timer). */
static void inject_fire(const char *why)
{
    inj.spent = 1;
    tvp_inject_armed = 0;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    char line[256], *p = line, *end = line + sizeof line - 1;
    p = put_str(p, end, "tvp: --inject: worker ");
    p = put_u64(p, end, (uint64_t)inj.worker, 1);
    p = put_str(p, end, " (pid ");
    p = put_u64(p, end, (uint64_t)getpid(), 1);
    p = put_str(p, end, inj.kind == TVP_INJECT_CRASH ? ") crashes (SIGSEGV) " : ") hangs ");
    p = put_str(p, end, why);
    p = put_str(p, end, " at ");
    p = put_u64(p, end, (uint64_t)now.tv_sec, 1);
    p = put_str(p, end, ".");
    p = put_u64(p, end, (uint64_t)now.tv_nsec / 1000, 6);
    p = put_str(p, end, " (CLOCK_REALTIME)\n");
    ssize_t unused = write(STDERR_FILENO, line, (size_t)(p - line));
    (void)unused;
    if (inj.kind == TVP_INJECT_HANG) {
        for (;;)
            pause(); /* stops answering; only a signal that kills ends it */
    }
    /* a real invalid write; a runtime's own SIGSEGV handler (Open MPI prints a backtrace)
     * is taken out of the way first, so the process dies of the signal itself */
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    sigemptyset(&dfl.sa_mask);
    sigaction(SIGSEGV, &dfl, NULL);
    sigset_t segv;
    sigemptyset(&segv);
    sigaddset(&segv, SIGSEGV);
    sigprocmask(SIG_UNBLOCK, &segv, NULL);
    *inject_nowhere = 1;
    raise(SIGSEGV);
    abort();
}

void tvp_inject_point_slow(void)
{
    if (inj.spent || tvp_inject_self != inj.worker || inj.task == 0)
        return;
    if (++inj.count == inj.task)
        inject_fire(inj.task == 1 ? "at the start of its first task" : "at the start of its task");
}

static void inject_alarm(int sig)
{
    (void)sig;
    if (!inj.spent)
        inject_fire("on its after= timer");
}

static int inject_hosted_here(void)
{
    return inj.hosts_all || tvp_inject_self == inj.worker;
}

void tvp_inject_run(int timed)
{
    if (inj.kind == TVP_INJECT_NONE || inj.spent)
        return;
    int here = inject_hosted_here();
    tvp_inject_armed = timed && here && inj.task > 0;
    if (!timed || inj.started || !here)
        return;
    inj.started = 1;
    if (inj.task > 0)
        return;
    if (inj.after < 1e-6) {
        inject_fire("at the start of its first timed run");
        return;
    }
    struct sigaction sa = {.sa_handler = inject_alarm};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {{0, 0}, {(time_t)inj.after, (suseconds_t)((inj.after - (double)(time_t)inj.after) * 1e6)}};
    if (it.it_value.tv_sec == 0 && it.it_value.tv_usec == 0)
        it.it_value.tv_usec = 1;
    setitimer(ITIMER_REAL, &it, NULL);
}

void tvp_inject_end(void)
{
    tvp_inject_armed = 0;
    if (inj.kind != TVP_INJECT_NONE && inj.task == 0 && inj.started && !inj.spent) {
        struct itimerval off = {{0, 0}, {0, 0}};
        setitimer(ITIMER_REAL, &off, NULL);
    }
    inj.spent = 1;
}

void tvp_inject_spend(void)
{
    inj.spent = 1;
    tvp_inject_armed = 0;
}

struct driver {
    const struct tvp_backend *be;
    const char *prog;
    struct tvp_world world;
    struct tvp_options opt;
    struct tvp_topo *topo;
    struct tvp_job job;
    int *pu_plan;
    const char *bind_name;
    int oversubscribed;
    void *loaded; /* items read from --in */
    int stencil;  /* the workload's shape is a stencil (filter) */
    int table;    /* the workload's shape is a table (labelencode) */
    struct tvp_lenc_table tab;
    struct tvp_lenc_gen gen;
    char *text; /* the table's whole input text, at the root */
    size_t text_len;
    struct tvp_labels *classes; /* [nsel] FIT: the merged classes of the last run */
    struct tvp_label *parts_out;
    struct tvp_table_error table_error;
    char *class_counts; /* the record's classes field */
    struct tvp_grid grid;
    struct tvp_image image; /* stencil: the --in image */
    const char *record_path;
    /* the hooks for the workload's shape */
    int (*start)(struct tvp_job *, struct tvp_start *);
    int (*run)(struct tvp_job *, struct tvp_run *);
    int (*stop)(struct tvp_job *);
    struct tvp_row *rows;
    char err[512];
};

#define ROOT(d) ((d)->world.rank == 0)

/* Print a one-line error at the root; other ranks stay quiet. */
static int fail(struct driver *d, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct driver *d, int rc, const char *fmt, ...)
{
    if (ROOT(d)) {
        va_list ap;
        va_start(ap, fmt);
        fprintf(stderr, "%s: ", d->prog);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
    }
    return rc;
}

static int agree(struct driver *d, int rc)
{
    return d->be->agree ? d->be->agree(rc) : rc;
}

static int share(struct driver *d, void *buf, size_t bytes)
{
    return d->be->share ? d->be->share(buf, bytes) : 0;
}

static void *arr_alloc(struct driver *d, size_t bytes)
{
    return d->be->alloc ? d->be->alloc(&d->job, bytes) : tvp_alloc_touched(bytes);
}

static void arr_release(struct driver *d, void *p, size_t bytes)
{
    if (!p)
        return;
    if (d->be->release)
        d->be->release(&d->job, p, bytes);
    else
        tvp_free(p);
}

static int resolve_workers(struct driver *d)
{
    int fixed = !(d->be->flags & TVP_BACKEND_FIXED_WORKERS) ? 0 : d->world.size;
    if (fixed) {
        if (d->opt.workers && d->opt.workers != fixed)
            return fail(d, TVP_EUSAGE,
                        d->world.size > 1 || strcmp(d->be->name, "mpi") == 0
                            ? "--workers %d disagrees with the %d ranks the launcher started"
                            : "--workers %d: this backend runs exactly %d worker",
                        d->opt.workers, fixed);
        d->job.workers = fixed;
    } else {
        d->job.workers = d->opt.workers ? d->opt.workers : tvp_topo_pus(d->topo);
    }
    return 0;
}

static int plan_pinning(struct driver *d)
{
    int workers = d->job.workers;
    int multi = (d->be->flags & TVP_BACKEND_FIXED_WORKERS) && d->world.size > 1;
    int local = multi ? d->world.local_size : workers; /* workers sharing this node */
    int mine = multi ? d->world.local_rank : 0;
    int *plan = malloc((size_t)local * sizeof *plan);
    d->pu_plan = malloc((size_t)workers * sizeof *d->pu_plan);
    if (!plan || !d->pu_plan) {
        free(plan);
        return fail(d, TVP_ENOMEM, "out of memory");
    }
    enum tvp_bind mode = d->opt.bind;
    char cur[256];
    d->bind_name = tvp_bind_name(mode);
    if (mode == TVP_BIND_AUTO) {
        if (multi && tvp_pin_bound_by_launcher(d->topo, cur, sizeof cur)) {
            mode = TVP_BIND_NONE; /* keep what mpirun/srun did, and report it */
            d->bind_name = "launcher";
        } else {
            mode = TVP_BIND_CORE;
            d->bind_name = "core";
        }
    }
    for (int i = 0; mode == TVP_BIND_LIST && i < d->opt.bind_count; i++) {
        if (!tvp_topo_has_pu(d->topo, d->opt.bind_list[i])) {
            free(plan);
            tvp_topo_allowed_list(d->topo, cur, sizeof cur);
            return fail(d, TVP_EUSAGE, "--bind: PU %d is not available to this process (it may use %s)",
                        d->opt.bind_list[i], cur);
        }
    }
    int rc = tvp_pin_plan(d->topo, mode, d->opt.bind_list, d->opt.bind_count, local, plan);
    if (rc) {
        free(plan);
        return fail(d, rc, "cannot plan the binding: %s", tvp_strerror(rc));
    }
    for (int w = 0; w < workers; w++)
        d->pu_plan[w] = multi ? -1 : plan[w];
    if (multi)
        d->pu_plan[d->world.rank] = plan[mine];
    free(plan);
    d->oversubscribed = local > tvp_topo_pus(d->topo);
    if (d->oversubscribed && ROOT(d))
        fprintf(stderr, "%s: warning: %d workers on %d PUs: oversubscribed\n", d->prog, local,
                tvp_topo_pus(d->topo));
    return 0;
}

/* --inject: the worker must exist; then this process learns what to inject, and which
 * worker it is where its processes are the workers. */
static int setup_inject(struct driver *d)
{
    const struct tvp_options *o = &d->opt;
    if (o->inject == TVP_INJECT_NONE)
        return 0;
    if (o->inject_worker >= d->job.workers)
        return fail(d, TVP_EUSAGE, "--inject: worker %d does not exist (%d worker%s: 0 to %d)",
                    o->inject_worker, d->job.workers, d->job.workers > 1 ? "s" : "",
                    d->job.workers - 1);
    inj.kind = o->inject;
    inj.worker = o->inject_worker;
    inj.task = o->inject_task;
    inj.after = o->inject_after;
    inj.hosts_all = (d->be->flags & TVP_BACKEND_THREADS) != 0;
    if (d->be->flags & TVP_BACKEND_FIXED_WORKERS) /* MPI ranks, the serial worker */
        tvp_inject_self = d->world.rank;
    return 0;
}

/* The bytes of the whole input or output at the root. */
static size_t whole_bytes(const struct driver *d, int out)
{
    const struct tvp_job *job = &d->job;
    if (d->stencil)
        return (size_t)d->grid.height * d->grid.stride;
    return out ? tvp_job_out_bytes(job, job->n) : tvp_job_in_bytes(job, job->n);
}

/* The rows of a whole-image buffer. */
static struct tvp_rows whole_rows(const struct driver *d, void *buf)
{
    return (struct tvp_rows){buf, d->grid.stride, 0, d->grid.height};
}

/* The whole input, made (or copied from the loaded file) into buf. */
static void fill_whole(const struct driver *d, void *buf)
{
    const struct tvp_job *job = &d->job;
    if (d->stencil) {
        struct tvp_rows r = whole_rows(d, buf);
        tvp_job_fill_rows(job, 0, d->grid.height, &r);
    } else {
        tvp_job_fill(job, 0, job->n, buf);
    }
}

/* Stencil input: the --in image (read by the root, and by every process when each reads
 * its own rows) or the generated one's size; then the passes. */
static int load_image(struct driver *d)
{
    struct tvp_job *job = &d->job;
    const struct tvp_stencil_ops *ops = job->wl->stencil;
    uint32_t width = d->opt.width, height = d->opt.height, channels = d->opt.channels;
    int rc = 0;
    if (d->opt.in_path) {
        if (d->opt.given & (TVP_OPT_WIDTH | TVP_OPT_HEIGHT | TVP_OPT_CHANNELS))
            return fail(d, TVP_EUSAGE, "--width, --height and --channels describe the generated "
                                       "image; --in gives its own");
        /* the root reads it, and with local data every process that makes its own rows */
        int everywhere = (d->be->flags & TVP_BACKEND_LOAD_EVERYWHERE) &&
                         d->opt.data == TVP_DATA_LOCAL;
        if (ROOT(d) || everywhere)
            rc = ops->load(d->opt.in_path, d->opt.max_pixels, &d->image, d->err, sizeof d->err);
        if (agree(d, rc))
            return fail(d, rc ? rc : TVP_EINPUT, "%s",
                        rc ? d->err : "another process could not read --in");
        uint32_t size[3] = {d->image.width, d->image.height, d->image.channels};
        if ((rc = agree(d, share(d, size, sizeof size))))
            return fail(d, rc, "cannot share the image's size: %s", tvp_strerror(rc));
        width = size[0], height = size[1], channels = size[2];
        job->src.items = d->image.pix;
    } else if ((uint64_t)width * height > d->opt.max_pixels) {
        return fail(d, TVP_EUSAGE, "--width %u --height %u: %" PRIu64 " pixels is more than "
                    "--max-pixels %" PRIu64, width, height, (uint64_t)width * height,
                    d->opt.max_pixels);
    }
    rc = ops->plan(&d->opt, width, height, channels, &d->grid, d->err, sizeof d->err);
    if (rc)
        return fail(d, rc, "%s", d->err);
    job->grid = &d->grid;
    job->src.seed = d->opt.seed;
    job->src.n = job->n = (uint64_t)width * height;
    uint32_t out_channels = d->grid.channels[d->grid.npasses];
    if (d->opt.out_path && d->opt.data != TVP_DATA_SCATTER)
        return fail(d, TVP_EUSAGE, "--out: the filtered image is gathered only with --data scatter");
    if (d->opt.out_path) { /* the root writes it; every rank takes the same way out */
        rc = ROOT(d) ? ops->check_out(d->opt.out_path, out_channels, d->err, sizeof d->err) : 0;
        if ((rc = agree(d, rc)))
            return fail(d, rc, "%s", d->err);
    }
    return 0;
}

/* The root's bytes at *buf (len of them) reach every process: the size first, then the
 * bytes, into a malloc'd buffer elsewhere. */
static int share_bytes(struct driver *d, char **buf, size_t *len)
{
    if (!d->be->share)
        return 0;
    uint64_t n = *len;
    int rc = agree(d, share(d, &n, sizeof n));
    if (rc)
        return rc;
    if (!ROOT(d)) {
        *buf = malloc(n + 1);
        rc = *buf ? 0 : TVP_ENOMEM;
        *len = (size_t)n;
    }
    if ((rc = agree(d, rc)))
        return rc;
    if (n)
        rc = share(d, *buf, (size_t)n);
    if (!ROOT(d))
        (*buf)[n] = 0;
    return agree(d, rc);
}

/* Fails early, before minutes of runs, when a file to write cannot be written: a folder,
 * or a folder that is missing or not writable. */
static int check_writable(struct driver *d, const char *path, const char *opt)
{
    struct stat sb;
    int rc = 0;
    if (path && ROOT(d) && stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
        rc = TVP_EUSAGE;
    else if (path && ROOT(d) && access(path, F_OK) != 0) {
        char *dir = strdup(path), *slash = dir ? strrchr(dir, '/') : NULL;
        if (dir && access(slash ? (slash == dir ? "/" : (*slash = 0, dir)) : ".", W_OK) != 0)
            rc = TVP_EUSAGE;
        free(dir);
    }
    if ((rc = agree(d, rc)))
        return fail(d, rc, "%s %s: is a folder, or its folder does not exist or is not writable",
                    opt, path);
    return 0;
}

/* Table input: the --in file or the generated table, whole at the root; the table (header
 * and classes) built from the same bytes on every process. */
static int load_table(struct driver *d)
{
    struct tvp_job *job = &d->job;
    const struct tvp_options *o = &d->opt;
    int root = ROOT(d), rc = 0;
    if (o->in_path && (o->given & (TVP_OPT_ROWS | TVP_OPT_COLUMNS_COUNT | TVP_OPT_CARDINALITY |
                                   TVP_OPT_SKEW)))
        return fail(d, TVP_EUSAGE, "--rows, --columns-count, --cardinality and --skew describe "
                                   "the generated table; --in gives its own");
    if (o->inverse && !o->classes_in)
        return fail(d, TVP_EUSAGE, "--inverse needs --classes-in (the classes the codes index)");
    if (!o->in_path) {
        d->gen = (struct tvp_lenc_gen){.rows = o->rows, .seed = o->seed, .columns = o->columns_count,
                                       .cardinality = o->cardinality, .skew = o->skew,
                                       .delim = o->delimiter};
        if ((rc = agree(d, tvp_lenc_gen_init(&d->gen, d->err, sizeof d->err))))
            return fail(d, rc, "%s", d->err);
        job->gen = &d->gen;
    }
    /* the root reads (or makes) the whole input and the classes file */
    char *classes = NULL;
    size_t classes_len = 0;
    if (root && o->in_path) {
        rc = tvp_read_file(o->in_path, "a CSV file", &d->text, &d->text_len, d->err, sizeof d->err);
    } else if (root) {
        struct tvp_csv_buf b = {0};
        rc = tvp_lenc_gen_header(&d->gen, &b);
        rc = rc ? rc : tvp_lenc_gen_rows(&d->gen, 0, d->gen.rows, &b);
        d->text = b.data, d->text_len = b.len;
        if (rc)
            snprintf(d->err, sizeof d->err, "cannot make the generated table: %s", tvp_strerror(rc));
    }
    if (root && !rc && o->classes_in)
        rc = tvp_read_file(o->classes_in, "a classes file", &classes, &classes_len, d->err,
                           sizeof d->err);
    enum tvp_lenc_mode mode = !o->classes_in ? TVP_LENC_FIT
                              : o->inverse   ? TVP_LENC_INVERSE
                                             : TVP_LENC_TRANSFORM;
    const char *name = o->in_path ? o->in_path : "generated";
    if (root && !rc)
        rc = tvp_lenc_table_init(&d->tab, name, d->text, d->text_len, o->delimiter, o->columns, mode,
                                 classes, classes_len, o->classes_in, d->err, sizeof d->err);
    if ((rc = agree(d, rc))) {
        free(classes);
        return fail(d, rc, "%s", root ? d->err : "");
    }
    /* the other processes build the same table from the header's and classes' bytes */
    if (d->be->share) {
        char *head = root ? d->text : NULL;
        size_t head_len = root ? d->tab.data_begin : 0;
        uint64_t text_len = d->text_len;
        rc = agree(d, share(d, &text_len, sizeof text_len));
        rc = rc ? rc : share_bytes(d, &head, &head_len);
        rc = rc ? rc : share_bytes(d, &classes, &classes_len);
        if (!rc && !root)
            rc = tvp_lenc_table_init(&d->tab, name, head, head_len, o->delimiter, o->columns, mode,
                                     classes, classes_len, o->classes_in, d->err, sizeof d->err);
        if (!root) {
            free(head);
            d->text_len = (size_t)text_len; /* the input's size; its bytes stay at the root */
        }
        if ((rc = agree(d, rc))) {
            free(classes);
            return fail(d, rc, "cannot share the table's header: %s", tvp_strerror(rc));
        }
    }
    free(classes);
    job->table = &d->tab;
    job->text = root ? d->text : NULL;
    job->text_len = d->text_len;
    job->src.seed = o->seed;
    job->n = job->src.n = o->in_path ? 0 : d->gen.rows; /* --in: counted by the runs */
    if ((rc = check_writable(d, o->out_path, "--out")) ||
        (rc = check_writable(d, o->classes_out, "--classes-out")))
        return rc;
    return 0;
}

static int load_input(struct driver *d)
{
    struct tvp_job *job = &d->job;
    if (d->stencil)
        return load_image(d);
    if (d->table)
        return load_table(d);
    job->src.seed = d->opt.seed;
    job->src.n = job->n = d->opt.n;
    if (!d->opt.in_path)
        return 0;
    if (d->opt.n_set)
        return fail(d, TVP_EUSAGE, "--n and --in cannot be used together (--in sets n)");
    int everywhere = (d->be->flags & TVP_BACKEND_LOAD_EVERYWHERE) && d->opt.data == TVP_DATA_LOCAL;
    int rc = 0;
    uint64_t n = 0;
    if (ROOT(d) || everywhere)
        rc = job->wl->load(d->opt.in_path, &d->loaded, &n, d->err, sizeof d->err);
    int all = agree(d, rc);
    if (all) {
        if (ROOT(d))
            fprintf(stderr, "%s: %s\n", d->prog, rc ? d->err : "another process could not read --in");
        return all;
    }
    /* the other ranks get their data from the root, and n with it */
    if ((rc = agree(d, share(d, &n, sizeof n))))
        return fail(d, rc, "cannot share the input's size: %s", tvp_strerror(rc));
    job->src.items = d->loaded;
    job->src.n = job->n = n;
    return 0;
}

static void row_fill(struct driver *d, struct tvp_row *row, const struct tvp_run *run,
                     const struct tvp_start *st, int repeat, struct tvp_checksum sum)
{
    const struct tvp_job *job = &d->job;
    memset(row, 0, sizeof *row);
    row->backend = d->be->name;
    row->workload = job->wl->name;
    row->input = d->opt.in_path ? d->opt.in_path : "generated";
    if (gethostname(row->host, sizeof row->host - 1) != 0)
        strcpy(row->host, "unknown");
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(row->timestamp, sizeof row->timestamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
    row->n = job->n;
    row->seed = d->opt.in_path ? 0 : d->opt.seed;
    if (d->table) {
        row->n = run->rows;
        row->columns = (uint32_t)d->tab.ncols;
        row->fields = run->rows * d->tab.ncols;
        row->classes = d->class_counts;
        row->t_parse = run->t_parse;
        row->t_fit = run->t_fit;
        row->t_merge = run->t_merge;
        row->t_encode = run->t_encode;
        row->t_format = run->t_format;
        row->merge_bytes = run->merge_bytes;
    }
    if (d->stencil) {
        row->width = d->grid.width;
        row->height = d->grid.height;
        row->channels = d->grid.channels[0];
        row->filters = d->opt.filters;
        row->iterations = d->opt.iterations;
        row->halo_bytes = run->halo_bytes;
    }
    /* what ran: process backends run stencils as static blocks whatever was asked */
    enum tvp_schedule sched = d->table || (d->stencil && (d->be->flags & TVP_BACKEND_STENCIL_STATIC))
                                  ? TVP_SCHED_STATIC
                                  : d->opt.schedule;
    row->chunk = sched == TVP_SCHED_DYNAMIC ? job->chunk : 0;
    row->schedule = tvp_schedule_name(sched);
    row->data = tvp_data_name(d->opt.data);
    row->ipc = d->be->flags & TVP_BACKEND_IPC ? tvp_ipc_name(d->opt.ipc) : "none";
    row->bind = d->bind_name;
    row->workers = job->workers;
    size_t used = 0;
    for (int w = 0; w < job->workers && used + 12 < sizeof row->cpus; w++)
        used += (size_t)snprintf(row->cpus + used, sizeof row->cpus - used, "%s%d", w ? " " : "",
                                 run->pu[w]);
    row->oversubscribed = d->oversubscribed;
    snprintf(row->transport, sizeof row->transport, "%s",
             d->be->flags & TVP_BACKEND_IPC ? tvp_ipc_name(d->opt.ipc) : d->world.transport);
    row->repeat = repeat;
    row->warmup = d->opt.warmup;
    row->t_init = d->world.t_init + st->t_init;
    row->t_touch = st->t_touch;
    row->t_startup = run->t_startup;
    row->t_distribute = run->t_distribute;
    row->t_compute = run->t_compute;
    row->t_collect = run->t_collect;
    row->t_total = run->t_total;
    double bytes = d->table     ? (double)job->text_len + (double)sum.bytes
                   : d->stencil ? (double)job->n * (d->grid.channels[0] +
                                                    d->grid.channels[d->grid.npasses])
                                : (double)job->n * (double)(job->wl->in_size + job->wl->out_size);
    row->items_per_s = run->t_total > 0 ? (double)row->n / run->t_total : 0;
    row->rows_per_s = d->table ? row->items_per_s : 0;
    row->fields_per_s = d->table && run->t_total > 0 ? (double)row->fields / run->t_total : 0;
    row->pixels_per_s = d->stencil ? row->items_per_s : 0;
    row->bytes_per_s = run->t_total > 0 ? bytes / run->t_total : 0;
    row->bytes_moved = run->bytes_moved;
    row->peak_rss_kb = run->peak_rss_kb;
    row->recovered = run->recovered;
    row->t_detect = run->t_detect;
    row->t_recovery = run->t_recovery;
    row->checksum = sum;
    row->verified = -1;
}

/* The checksum of the run's whole output, at the root. */
static struct tvp_checksum run_checksum(const struct driver *d)
{
    const struct tvp_job *job = &d->job;
    if (d->table) { /* the header, then every part's records */
        struct tvp_checksum c = tvp_checksum_of(d->tab.header.data, d->tab.header.len);
        for (int w = 0; w < job->workers; w++)
            tvp_checksum_add(&c, 0, job->parts_out[w].p, job->parts_out[w].len);
        return c;
    }
    if (job->out && d->stencil) {
        struct tvp_rows r = whole_rows(d, job->out);
        return tvp_job_rows_checksum(job, &r, 0, d->grid.height);
    }
    if (job->out)
        return tvp_checksum_of(job->out, tvp_job_out_bytes(job, job->n));
    struct tvp_checksum c = TVP_CHECKSUM_EMPTY;
    for (uint64_t k = 0; k < job->npieces; k++)
        c = tvp_checksum_cat(c, job->pieces[k]);
    return c;
}

/* A stencil's serial reference: every pass over the whole grid, ping-ponging between ref
 * and tmp so that the last pass lands in ref. */
static void stencil_reference(const struct driver *d, void *in, void *ref, void *tmp)
{
    const struct tvp_grid *g = &d->grid;
    struct tvp_rows src = whole_rows(d, in);
    for (int p = 0; p < g->npasses; p++) {
        struct tvp_rows dst = whole_rows(d, (g->npasses - 1 - p) % 2 == 0 ? ref : tmp);
        tvp_job_pass(&d->job, p, &src, &dst, 0, g->height);
        src = dst;
    }
}

/* A table's serial reference: the whole text on one worker; every run's checksum, and the
 * bytes of the last one, must equal it. */
static int verify_table(struct driver *d, int nrows)
{
    struct tvp_csv_buf ref = {0};
    int rc = tvp_lenc_reference(&d->tab, d->text, d->text_len, &ref, NULL, d->err, sizeof d->err);
    if (rc) {
        free(ref.data);
        return fail(d, rc == TVP_EINPUT ? TVP_EVERIFY : rc, "the serial reference failed: %s",
                    d->err);
    }
    struct tvp_checksum want = tvp_checksum_of(ref.data, ref.len);
    for (int i = 0; i < nrows; i++) {
        int ok = tvp_checksum_equal(d->rows[i].checksum, want);
        if (ok && i == nrows - 1) { /* and the bytes themselves */
            size_t at = d->tab.header.len;
            ok = ref.len >= at && memcmp(ref.data, d->tab.header.data, at) == 0;
            for (int w = 0; ok && w < d->job.workers; w++) {
                const struct tvp_label *p = &d->parts_out[w];
                ok = ref.len - at >= p->len && memcmp(ref.data + at, p->p, p->len) == 0;
                at += p->len;
            }
            ok = ok && at == ref.len;
        }
        d->rows[i].verified = ok;
        if (!ok && !rc)
            rc = fail(d, TVP_EVERIFY,
                      "verification failed: repeat %d gives crc64 0x%016" PRIx64
                      " over %" PRIu64 " bytes, the serial run 0x%016" PRIx64 " over %zu",
                      d->rows[i].repeat, d->rows[i].checksum.crc64, d->rows[i].checksum.bytes,
                      want.crc64, ref.len);
    }
    free(ref.data);
    return rc;
}

/* The table's output: the header and every part, atomically. */
static int write_table(struct driver *d, const char *path)
{
    struct tvp_atomic a;
    int rc = tvp_atomic_open(&a, path);
    if (rc)
        return fail(d, rc, "--out %s: cannot write: %m", path);
    int ok = fwrite(d->tab.header.data, 1, d->tab.header.len, a.f) == d->tab.header.len;
    for (int w = 0; ok && w < d->job.workers; w++)
        ok = fwrite(d->parts_out[w].p, 1, d->parts_out[w].len, a.f) == d->parts_out[w].len;
    if ((rc = tvp_atomic_close(&a, ok)) || !ok)
        return fail(d, TVP_ESYS, "--out %s: cannot write: %m", path);
    return 0;
}

/* The serial reference: the whole input through the kernel in one call (a stencil: every
 * pass over the whole grid).  Compares the checksum of every timed run and, in scatter
 * mode, the bytes of the last one. */
static int verify(struct driver *d, int nrows)
{
    struct tvp_job *job = &d->job;
    if (d->table)
        return verify_table(d, nrows);
    size_t in_bytes = whole_bytes(d, 0), out_bytes = whole_bytes(d, 1);
    void *in = job->in, *ref = tvp_alloc_touched(out_bytes);
    void *tmp = d->stencil ? tvp_alloc_touched(out_bytes) : NULL;
    if (!in)
        in = tvp_alloc_touched(in_bytes);
    if (!in || !ref || (d->stencil && !tmp)) {
        if (in != job->in)
            tvp_free(in);
        tvp_free(ref);
        tvp_free(tmp);
        return fail(d, TVP_ENOMEM, "out of memory for the serial reference");
    }
    if (in != job->in)
        fill_whole(d, in);
    if (d->stencil)
        stencil_reference(d, in, ref, tmp);
    else
        tvp_job_kernel(job, in, ref, 0, job->n);
    tvp_free(tmp);
    struct tvp_rows ref_rows = whole_rows(d, ref);
    struct tvp_checksum want = d->stencil ? tvp_job_rows_checksum(job, &ref_rows, 0, d->grid.height)
                                          : tvp_checksum_of(ref, out_bytes);
    int rc = 0;
    for (int i = 0; i < nrows; i++) {
        int ok = tvp_checksum_equal(d->rows[i].checksum, want);
        if (ok && i == nrows - 1 && job->out && !d->stencil && memcmp(job->out, ref, out_bytes) != 0)
            ok = 0;
        for (uint32_t r = 0; ok && i == nrows - 1 && job->out && d->stencil && r < d->grid.height; r++)
            ok = memcmp((uint8_t *)job->out + r * d->grid.stride, (uint8_t *)ref + r * d->grid.stride,
                        tvp_grid_row_bytes(&d->grid, d->grid.npasses)) == 0;
        d->rows[i].verified = ok;
        if (!ok && !rc)
            rc = fail(d, TVP_EVERIFY,
                      "verification failed: repeat %d gives crc64 0x%016" PRIx64
                      ", the serial kernel 0x%016" PRIx64,
                      d->rows[i].repeat, d->rows[i].checksum.crc64, want.crc64);
    }
    if (in != job->in)
        tvp_free(in);
    tvp_free(ref);
    return rc;
}

/* Refuses, before anything is allocated, a size whose arrays cannot fit in this
 * machine's memory: allocation would succeed (overcommit) and the kernel would kill the
 * process while it touches the pages. */
static int check_memory(struct driver *d)
{
    const struct tvp_job *job = &d->job;
    if (d->table) { /* text, output and reference; 20 bytes a field for cells and ids, with
                       fields of 8 bytes of text on average */
        double len = (double)job->text_len, need = 3 * len + 20 * (len / 8);
        long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
        double have = pages > 0 && page > 0 ? (double)pages * (double)page : 0;
        if (have > 0 && need > have && ROOT(d))
            return fail(d, TVP_EUSAGE, "a table of %.1f GiB needs about %.1f GiB of memory "
                        "here; this machine has %.1f GiB", len / (1u << 30), need / (1u << 30),
                        have / (1u << 30));
        return 0;
    }
    /* a stencil holds input and output grids and a third to ping-pong */
    double item = d->stencil ? 3.0 * (double)d->grid.stride / d->grid.width
                             : (double)(job->wl->in_size + job->wl->out_size);
    double n = (double)job->n, need = 0;
    int one_node = !(d->be->flags & TVP_BACKEND_FIXED_WORKERS) || d->world.size == 1;
    if (ROOT(d) && d->opt.data == TVP_DATA_SCATTER)
        need += n * item;              /* the root's whole input and output */
    if (one_node && d->opt.data == TVP_DATA_LOCAL)
        need += n * item;              /* every worker's block, all on this node */
    if (one_node && d->opt.data == TVP_DATA_SCATTER && (d->be->flags & TVP_BACKEND_IPC) &&
        d->opt.ipc == TVP_IPC_PIPE)
        need += n * item;              /* the workers' private copies of their blocks */
    if (ROOT(d) && d->opt.verify)
        need += n * item;              /* the serial reference */
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    double have = pages > 0 && page > 0 ? (double)pages * (double)page : 0;
    if (have > 0 && need > have)
        return fail(d, TVP_EUSAGE,
                    "%s %" PRIu64 " needs about %.1f GiB of memory here; this machine has %.1f GiB",
                    d->stencil ? "an image of" : "--n", job->n, need / (1u << 30),
                    have / (1u << 30));
    return 0;
}

/* The record's classes field: the distinct classes of each encoded column. */
static int class_counts(struct driver *d)
{
    const struct tvp_labels *cl = d->tab.mode == TVP_LENC_FIT ? d->classes : d->tab.classes;
    size_t cap = 21 * d->tab.nsel + 1, used = 0;
    d->class_counts = malloc(cap);
    if (!d->class_counts)
        return fail(d, TVP_ENOMEM, "out of memory");
    d->class_counts[0] = 0;
    for (size_t k = 0; k < d->tab.nsel; k++)
        used += (size_t)snprintf(d->class_counts + used, cap - used, "%s%zu", k ? " " : "",
                                 tvp_labels_count(&cl[k]));
    return 0;
}

static int run_all(struct driver *d)
{
    struct tvp_job *job = &d->job;
    int scatter = d->opt.data == TVP_DATA_SCATTER, root = ROOT(d);
    size_t in_bytes = whole_bytes(d, 0), out_bytes = whole_bytes(d, 1); /* tables: 0 */
    int rc = agree(d, check_memory(d));
    if (rc)
        return rc;

    job->chunk = d->stencil && !(d->opt.given & TVP_OPT_CHUNK) ? TVP_DEFAULT_ROWS_CHUNK : d->opt.chunk;
    if (d->table) { /* the parts' text and the classes come to the root */
        d->parts_out = calloc((size_t)job->workers, sizeof *d->parts_out);
        d->classes = calloc(d->tab.nsel ? d->tab.nsel : 1, sizeof *d->classes);
        rc = d->parts_out && d->classes ? 0 : TVP_ENOMEM;
        for (size_t k = 0; !rc && k < d->tab.nsel; k++)
            tvp_labels_init(&d->classes[k]);
        job->parts_out = d->parts_out;
        job->classes = d->classes;
        job->error = &d->table_error;
    } else if (root && scatter) { /* the parent holds the whole input and receives all output */
        job->in = arr_alloc(d, in_bytes);
        job->out = arr_alloc(d, out_bytes);
        if (job->in && job->out)
            fill_whole(d, job->in);
        else
            rc = TVP_ENOMEM;
    }
    if (root && !scatter && !d->table) {
        /* the pieces of the output the workers keep: static blocks (a stencil: the active
         * workers' row blocks), or chunks */
        job->npieces = d->stencil ? (uint64_t)tvp_stencil_active(job)
                       : d->opt.schedule == TVP_SCHED_STATIC ? (uint64_t)job->workers
                                                              : tvp_chunk_count(job->n, job->chunk);
        job->pieces = calloc(job->npieces, sizeof *job->pieces);
        rc = job->pieces ? rc : TVP_ENOMEM;
    }
    struct tvp_run run = {0};
    run.pu = calloc((size_t)job->workers, sizeof *run.pu);
    d->rows = calloc((size_t)d->opt.repeat, sizeof *d->rows);
    if (!run.pu || !d->rows)
        rc = TVP_ENOMEM;
    if ((rc = agree(d, rc)))
        return fail(d, rc, "out of memory for %" PRIu64 " items", job->n);

    struct tvp_start st = {0};
    rc = agree(d, d->start ? d->start(job, &st) : 0);
    if (rc) {
        fail(d, rc, "cannot start the %d worker%s: %s", job->workers, job->workers > 1 ? "s" : "",
             tvp_strerror(rc));
        goto out;
    }
    int nrows = 0;
    for (int r = 0; r < d->opt.warmup + d->opt.repeat; r++) {
        if (root && scatter && job->out)
            memset(job->out, 0xa5, out_bytes); /* no stale result can pass for a new one */
        if (root && job->pieces)
            memset(job->pieces, 0, job->npieces * sizeof *job->pieces);
        if (d->table) {
            memset(d->parts_out, 0, (size_t)job->workers * sizeof *d->parts_out);
            memset(&d->table_error, 0, sizeof d->table_error);
            run.t_parse = run.t_fit = run.t_merge = run.t_encode = run.t_format = 0;
            run.merge_bytes = run.rows = 0;
        }
        for (int w = 0; w < job->workers; w++)
            run.pu[w] = -1;
        run.peak_rss_kb = 0;
        run.bytes_moved = 0;
        run.halo_bytes = 0;
        run.recovered = 0;
        run.t_detect = run.t_recovery = 0;
        job->timed = r >= d->opt.warmup;
        tvp_inject_run(job->timed);
        rc = agree(d, d->run(job, &run));
        if (rc && d->table_error.err) { /* bad input found by a worker: its own message */
            fail(d, rc, "%s", d->table_error.msg);
            break;
        }
        if (rc) {
            fail(d, rc, "run %d failed: %s", r, tvp_strerror(rc));
            break;
        }
        if (root && r >= d->opt.warmup) {
            if (d->table && !d->class_counts && (rc = class_counts(d)))
                break;
            row_fill(d, &d->rows[nrows], &run, &st, nrows, run_checksum(d));
            nrows++;
        }
    }
    tvp_inject_end(); /* the verification below runs the kernel too */
    /* a table's parts stay in the workers' buffers until stop: it comes after the output */
    int stopped = !d->stop;
    if (!d->table && !stopped) {
        stopped = 1;
        int stop_rc = d->stop(job);
        if (stop_rc && !rc)
            rc = fail(d, stop_rc, "a worker did not end cleanly: %s", tvp_strerror(stop_rc));
    }
    if ((rc = agree(d, rc)))
        goto stop;
    if (root && d->opt.verify)
        rc = verify(d, nrows);
    if (root && d->table && d->opt.out_path && !rc)
        rc = write_table(d, d->opt.out_path);
    if (root && d->table && d->opt.classes_out && !rc) {
        const struct tvp_labels *cl = d->tab.mode == TVP_LENC_FIT ? d->classes : d->tab.classes;
        int wr = tvp_lenc_write_classes(&d->tab, cl, d->opt.classes_out, d->err, sizeof d->err);
        if (wr)
            rc = fail(d, wr, "%s", d->err);
    }
    if (root && d->stencil && d->opt.out_path) { /* the filtered image, as the last run left it */
        struct tvp_image im = {d->grid.width, d->grid.height, d->grid.channels[d->grid.npasses],
                               d->grid.stride, job->out};
        int wr = job->wl->stencil->save(d->opt.out_path, &im, d->err, sizeof d->err);
        if (wr)
            rc = rc ? rc : fail(d, wr, "%s", d->err);
    }
    if (root) {
        int wr = d->record_path
                     ? tvp_record_write_file(d->record_path, d->opt.format, d->rows, nrows)
                     : tvp_record_write(stdout, d->opt.format, d->rows, nrows);
        if (wr) {
            fail(d, wr, "cannot write the record to %s: %m",
                 d->record_path ? d->record_path : "standard output");
            rc = rc ? rc : wr;
        }
    }
stop:
    if (!stopped) {
        int stop_rc = d->stop(job);
        if (stop_rc && !rc)
            rc = fail(d, stop_rc, "a worker did not end cleanly: %s", tvp_strerror(stop_rc));
    }
    rc = agree(d, rc);
out:
    free(run.pu);
    return rc;
}

/* The hooks and options for the workload's shape. */
static int choose_shape(struct driver *d)
{
    const struct tvp_backend *be = d->be;
    const struct tvp_options *o = &d->opt;
    d->stencil = d->job.wl->shape == TVP_SHAPE_STENCIL;
    d->table = d->job.wl->shape == TVP_SHAPE_TABLE;
    static const struct { unsigned bit; const char *name; } table_opts[] = {
        {TVP_OPT_ROWS, "--rows"}, {TVP_OPT_COLUMNS_COUNT, "--columns-count"},
        {TVP_OPT_CARDINALITY, "--cardinality"}, {TVP_OPT_SKEW, "--skew"},
        {TVP_OPT_COLUMNS, "--columns"}, {TVP_OPT_CLASSES_IN, "--classes-in"},
        {TVP_OPT_CLASSES_OUT, "--classes-out"}, {TVP_OPT_INVERSE, "--inverse"},
        {TVP_OPT_DELIMITER, "--delimiter"}};
    for (size_t i = 0; !d->table && i < sizeof table_opts / sizeof table_opts[0]; i++)
        if (o->given & table_opts[i].bit)
            return fail(d, TVP_EUSAGE, "%s: only the labelencode workload takes it",
                        table_opts[i].name);
    if (d->table) {
        if (o->given & TVP_OPT_N)
            return fail(d, TVP_EUSAGE, "--n: the %s workload's size is --rows, or --in", o->workload);
        if (o->given & TVP_OPT_IMAGE)
            return fail(d, TVP_EUSAGE, "%s: only the filter workload takes it",
                        o->given & TVP_OPT_FILTER ? "--filter" : "--width/--height/--channels/"
                        "--iterations/--max-pixels");
        if (!be->table_run)
            return fail(d, TVP_ENOSYS, "the %s backend does not run the %s workload", be->name,
                        o->workload);
        d->record_path = o->record_path;
        d->start = be->table_start, d->run = be->table_run, d->stop = be->table_stop;
        return 0;
    }
    if (!d->stencil) {
        static const struct { unsigned bit; const char *name; } image_opts[] = {
            {TVP_OPT_FILTER, "--filter"}, {TVP_OPT_ITERATIONS, "--iterations"},
            {TVP_OPT_WIDTH, "--width"},   {TVP_OPT_HEIGHT, "--height"},
            {TVP_OPT_CHANNELS, "--channels"}, {TVP_OPT_MAX_PIXELS, "--max-pixels"}};
        for (size_t i = 0; i < sizeof image_opts / sizeof image_opts[0]; i++)
            if (o->given & image_opts[i].bit)
                return fail(d, TVP_EUSAGE, "%s: only the filter workload takes it", image_opts[i].name);
        if (o->out_path && o->record_path)
            return fail(d, TVP_EUSAGE, "--out and --record both name the record of %s; give one",
                        o->workload);
        d->record_path = o->record_path ? o->record_path : o->out_path;
        d->start = be->start, d->run = be->run, d->stop = be->stop;
        return 0;
    }
    if (o->given & TVP_OPT_N)
        return fail(d, TVP_EUSAGE, "--n: the %s workload's size is --width and --height, or --in",
                    o->workload);
    if (!be->stencil_run)
        return fail(d, TVP_ENOSYS, "the %s backend does not run the %s workload", be->name,
                    o->workload);
    d->record_path = o->record_path;
    d->start = be->stencil_start, d->run = be->stencil_run, d->stop = be->stencil_stop;
    return 0;
}

/* ---- probes: tvp-BACKEND probe NAME (common/probe.h) ------------------------------------ */

static const struct {
    unsigned bit;
    const char *name;
} probe_opts[] = {{TVP_OPT_OUTER, "--outer"},       {TVP_OPT_TARGET_MS, "--target-ms"},
                  {TVP_OPT_MAX_SIZE, "--max-size"}, {TVP_OPT_TOUCH, "--touch"},
                  {TVP_OPT_SIZE_MIB, "--size-mib"}};

/* A workload run was asked for: refuse the probes' options. */
static int refuse_probe_opts(struct driver *d)
{
    for (size_t i = 0; i < sizeof probe_opts / sizeof probe_opts[0]; i++)
        if (d->opt.given & probe_opts[i].bit)
            return fail(d, TVP_EUSAGE, "%s: only probes take it (tvp-%s probe NAME)",
                        probe_opts[i].name, d->be->name);
    return 0;
}

/* Checks the command line, plans the pinning, runs the backend's probe hook and writes the
 * root's rows. */
static int run_probe(struct driver *d)
{
    const struct tvp_options *o = &d->opt;
    const struct tvp_backend *be = d->be;
    char known[128];
    tvp_probe_known(known, sizeof known);
    int id = tvp_probe_find(o->probe);
    if (!o->probe)
        return fail(d, TVP_EUSAGE, "probe: which probe? (known: %s)", known);
    if (id < 0)
        return fail(d, TVP_EUSAGE, "unknown probe '%s' (known: %s)", o->probe, known);
    if (o->run_opt)
        return fail(d, TVP_EUSAGE, "%.*s: only workloads take it, not probe %s", o->run_opt_len,
                    o->run_opt, o->probe);
    if (o->verify || (o->given & TVP_OPT_INVERSE))
        return fail(d, TVP_EUSAGE, "%s: only workloads take it, not probe %s",
                    o->verify ? "--verify" : "--inverse", o->probe);
    static const unsigned takes[TVP_PROBE_COUNT] = {
        [TVP_PROBE_SPAWN] = TVP_OPT_OUTER | TVP_OPT_TARGET_MS | TVP_OPT_TOUCH,
        [TVP_PROBE_IPC] = TVP_OPT_OUTER | TVP_OPT_TARGET_MS | TVP_OPT_MAX_SIZE,
        [TVP_PROBE_SWITCH] = TVP_OPT_OUTER | TVP_OPT_TARGET_MS,
        [TVP_PROBE_MEMORY] = TVP_OPT_SIZE_MIB};
    for (size_t i = 0; i < sizeof probe_opts / sizeof probe_opts[0]; i++)
        if ((o->given & probe_opts[i].bit) && !(takes[id] & probe_opts[i].bit))
            return fail(d, TVP_EUSAGE, "%s: probe %s does not take it", probe_opts[i].name,
                        o->probe);
    if (!be->probe)
        return fail(d, TVP_ENOSYS, "this backend has no probes; use tvp-openmp, tvp-posix or "
                    "tvp-mpi");
    int rc = tvp_topo_open(&d->topo);
    if ((rc = agree(d, rc)))
        return fail(d, rc, "cannot read the hardware topology (hwloc)");
    d->job.topo = d->topo;
    if (!(be->flags & TVP_BACKEND_FIXED_WORKERS) || d->world.size == 1)
        rc = tvp_topo_use_binding(d->topo);
    int pair = id == TVP_PROBE_IPC || id == TVP_PROBE_SWITCH;
    if (!(be->flags & TVP_BACKEND_FIXED_WORKERS)) {
        if (pair && o->workers && o->workers != 2)
            rc = rc ? rc : fail(d, TVP_EUSAGE, "--workers %d: probe %s runs between two workers",
                                o->workers, o->probe);
        d->opt.workers = o->workers ? o->workers : TVP_PROBE_DEFAULT_WORKERS;
    }
    if ((rc = agree(d, rc)) || (rc = agree(d, resolve_workers(d))))
        return rc;
    if (pair && d->job.workers < 2)
        return fail(d, TVP_EUSAGE, "probe %s needs two workers (here: %d)", o->probe,
                    d->job.workers);
    if ((rc = agree(d, plan_pinning(d))))
        return rc;
    if ((rc = check_writable(d, o->record_path, "--record")))
        return rc;
    /* memory the probe will touch: the input, W copies of it and the outputs (memory), or the
     * parent's --touch (spawn) */
    double need = id == TVP_PROBE_MEMORY ? (double)(o->size_mib << 20) * (d->job.workers + 2)
                  : id == TVP_PROBE_SPAWN ? (double)(o->touch_mib << 20)
                                          : 0;
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    double have = pages > 0 && page > 0 ? (double)pages * (double)page : 0;
    if (have > 0 && need > have)
        return fail(d, TVP_EUSAGE, "%s: probe %s needs about %.1f GiB of memory here; this "
                    "machine has %.1f GiB", id == TVP_PROBE_MEMORY ? "--size-mib" : "--touch",
                    o->probe, need / (1u << 30), have / (1u << 30));
    /* switch: one PU for both, and the first PU of another core */
    int two[2] = {-1, -1};
    rc = tvp_pin_plan(d->topo, TVP_BIND_CORE, NULL, 0, 2, two);
    if ((rc = agree(d, rc)))
        return fail(d, rc, "cannot plan the binding: %s", tvp_strerror(rc));
    struct tvp_probe_ctx ctx = {
        .opt = o,
        .world = &d->world,
        .topo = d->topo,
        .backend = be->name,
        .id = (enum tvp_probe_id)id,
        .workers = d->job.workers,
        .pu_plan = d->pu_plan,
        .bind = d->bind_name,
        .pu_same = two[0],
        .pu_other = two[1] != two[0] && tvp_probe_same_core(two[0], two[1]) == 0 ? two[1] : -1,
        .outer = o->outer,
        .target_s = o->target_ms / 1e3,
        .max_size = o->max_size,
        .touch_bytes = o->touch_mib << 20,
        .touch_given = (o->given & TVP_OPT_TOUCH) != 0,
        .size_bytes = o->size_mib << 20,
    };
    struct tvp_probe_sink sink = {0};
    rc = agree(d, be->probe(&ctx, o->probe, &sink));
    if (rc == TVP_ENOSYS && !sink.err[0])
        fail(d, rc, "tvp-%s has no probe %s", be->name, o->probe);
    else if (rc)
        fail(d, rc, "probe %s: %s", o->probe, sink.err[0] ? sink.err : tvp_strerror(rc));
    if (!rc && ROOT(d)) {
        struct tvp_probe_meta meta;
        tvp_probe_meta_init(&meta, be->name, o->probe);
        rc = o->record_path ? tvp_probe_write_file(o->record_path, o->format, &meta, &sink)
                            : tvp_probe_write(stdout, o->format, &meta, &sink);
        if (rc)
            fail(d, rc, "cannot write the record to %s: %m",
                 o->record_path ? o->record_path : "standard output");
    }
    tvp_probe_sink_free(&sink);
    return agree(d, rc);
}
/* ---- end probes ---- */

static void print_version(const struct driver *d)
{
    printf("tvp-%s %s (commit %s)\nbuilt with: %s\nhwloc API %s\nflags: %s\n", d->be->name,
           tvp_version, tvp_git_commit, tvp_build_deps, tvp_topo_hwloc_version(), tvp_build_flags);
    printf("record schema %d\n", TVP_SCHEMA_VERSION);
}

int tvp_driver_main(int argc, char **argv, const struct tvp_backend *be)
{
    static struct driver drv; /* large (bind list, rows); one per process */
    struct driver *d = &drv;
    char prog[64];
    snprintf(prog, sizeof prog, "tvp-%s", be->name);
    d->be = be;
    d->prog = prog;
    d->world = (struct tvp_world){.rank = 0, .size = 1, .local_rank = 0, .local_size = 1};
    snprintf(d->world.transport, sizeof d->world.transport, "none");

    int rc = be->init ? be->init(&argc, &argv, &d->world) : 0;
    if (rc) {
        fprintf(stderr, "%s: cannot start the %s runtime: %s\n", prog, be->name, tvp_strerror(rc));
        if (be->fini)
            be->fini(rc);
        return tvp_exit_code(rc);
    }
    tvp_options_default(&d->opt);
    rc = agree(d, tvp_options_parse(&d->opt, argc, argv, d->err, sizeof d->err));
    if (rc) {
        fail(d, rc, "%s", d->err);
        goto done;
    }
    if (d->opt.help || d->opt.version) {
        if (ROOT(d))
            d->opt.help ? (void)fputs(tvp_usage_text, stdout) : print_version(d);
        goto done;
    }
    d->job.opt = &d->opt;
    d->job.world = &d->world;
    /* ---- probes: tvp-BACKEND probe NAME, before any workload ---- */
    if (strcmp(d->opt.workload, "probe") == 0) {
        rc = run_probe(d);
        goto done;
    }
    if ((rc = agree(d, refuse_probe_opts(d))))
        goto done;
    /* ---- end probes ---- */
    d->job.wl = tvp_workload_find(d->opt.workload);
    if (!d->job.wl) {
        char known[256] = "";
        for (int i = 0; tvp_workloads[i]; i++)
            snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", i ? ", " : "",
                     tvp_workloads[i]->name);
        rc = fail(d, TVP_EUSAGE, "unknown workload '%s' (known: %s)", d->opt.workload, known);
        goto done;
    }
    if ((rc = agree(d, choose_shape(d))))
        goto done;
    if ((rc = agree(d, tvp_topo_open(&d->topo)))) {
        fail(d, rc, "cannot read the hardware topology (hwloc)");
        goto done;
    }
    d->job.topo = d->topo;
    /* threads and forked children live inside this process's allocation; MPI ranks each
     * got a piece of the node from their launcher, so they plan over the whole node */
    if (!(be->flags & TVP_BACKEND_FIXED_WORKERS) || d->world.size == 1)
        rc = tvp_topo_use_binding(d->topo);
    if ((rc = agree(d, rc)) || (rc = agree(d, resolve_workers(d))) || (rc = agree(d, setup_inject(d))) ||
        (rc = agree(d, plan_pinning(d))) || (rc = load_input(d)))
        goto done;
    d->job.pu_plan = d->pu_plan;
    /* fail early, before minutes of runs, when the record cannot be written */
    if ((rc = check_writable(d, d->record_path,
                             d->record_path == d->opt.out_path ? "--out" : "--record")))
        goto done;
    if (d->table && d->opt.schedule == TVP_SCHED_DYNAMIC && ROOT(d))
        fprintf(stderr, "%s: note: %s runs one part of the records per worker (the merge needs "
                        "every worker's sets); the record says schedule=static\n", prog,
                d->opt.workload);
    if (d->stencil && d->opt.schedule == TVP_SCHED_DYNAMIC &&
        (be->flags & TVP_BACKEND_STENCIL_STATIC) && ROOT(d))
        fprintf(stderr, "%s: note: %s runs static blocks of rows here (each worker keeps its own "
                        "rows); the record says schedule=static\n", prog, d->opt.workload);
    rc = run_all(d);

done:
    if (d->job.in)
        arr_release(d, d->job.in, whole_bytes(d, 0));
    if (d->job.out)
        arr_release(d, d->job.out, whole_bytes(d, 1));
    tvp_grid_free(&d->grid);
    for (size_t k = 0; d->classes && k < d->tab.nsel; k++)
        tvp_labels_free(&d->classes[k]);
    free(d->classes);
    free(d->parts_out);
    free(d->class_counts);
    free(d->text);
    tvp_lenc_table_free(&d->tab);
    tvp_lenc_gen_free(&d->gen);
    tvp_image_free(&d->image);
    free(d->job.pieces);
    free(d->rows);
    free(d->pu_plan);
    free(d->loaded);
    tvp_topo_close(d->topo);
    if (be->fini)
        be->fini(rc);
    return tvp_exit_code(rc);
}
