/* Probes: the parts every backend's probes share (see probe.h).  No runtime, no printing
 * except into the FILE a caller hands to tvp_probe_write. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/futex.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "probe.h"
#include "record.h"

const char *const tvp_probe_names[TVP_PROBE_COUNT] = {"spawn", "ipc", "switch", "memory"};

int tvp_probe_find(const char *name)
{
    for (int i = 0; name && i < TVP_PROBE_COUNT; i++)
        if (strcmp(name, tvp_probe_names[i]) == 0)
            return i;
    return -1;
}

void tvp_probe_known(char *buf, size_t len)
{
    size_t used = 0;
    if (len)
        buf[0] = 0;
    for (int i = 0; i < TVP_PROBE_COUNT && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "", tvp_probe_names[i]);
}

/* ---- statistics ------------------------------------------------------------------------ */

double tvp_probe_t975(int df)
{
    static const double t[] = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262,
                               2.228,  2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101,
                               2.093,  2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052,
                               2.048,  2.045, 2.042};
    if (df < 1)
        return NAN;
    if (df <= 30)
        return t[df - 1];
    /* Cornish-Fisher expansion of t around the normal quantile (error < 1e-4 for df > 30) */
    double z = 1.959963984540054, v = df, z3 = z * z * z, z5 = z3 * z * z;
    return z + (z3 + z) / (4 * v) + (5 * z5 + 16 * z3 + 3 * z) / (96 * v * v);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void tvp_probe_stats_of(const double *samples, int n, struct tvp_probe_stats *st)
{
    st->n = n;
    st->mean = st->median = st->min = st->max = st->sd = st->ci95_lo = st->ci95_hi = NAN;
    if (n <= 0)
        return;
    double *v = malloc((size_t)n * sizeof *v);
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += samples[i];
    st->mean = sum / n;
    if (v) {
        memcpy(v, samples, (size_t)n * sizeof *v);
        qsort(v, (size_t)n, sizeof *v, cmp_double);
        st->median = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
        st->min = v[0];
        st->max = v[n - 1];
        free(v);
    } else { /* no memory for the sort: min and max still, the median not */
        st->min = st->max = samples[0];
        for (int i = 1; i < n; i++)
            st->min = fmin(st->min, samples[i]), st->max = fmax(st->max, samples[i]);
    }
    if (n < 2)
        return;
    double ss = 0;
    for (int i = 0; i < n; i++)
        ss += (samples[i] - st->mean) * (samples[i] - st->mean);
    st->sd = sqrt(ss / (n - 1));
    double half = tvp_probe_t975(n - 1) * st->sd / sqrt((double)n);
    st->ci95_lo = st->mean - half;
    st->ci95_hi = st->mean + half;
}

/* ---- rows and the sink ---------------------------------------------------------------- */

int tvp_probe_run(const struct tvp_probe_ctx *ctx, tvp_probe_fn *const probes[TVP_PROBE_COUNT],
                  struct tvp_probe_sink *out)
{
    if ((int)ctx->id < 0 || ctx->id >= TVP_PROBE_COUNT || !probes[ctx->id])
        return TVP_ENOSYS;
    return probes[ctx->id](ctx, out);
}

void tvp_probe_row_init(struct tvp_probe_row *r, const char *what, int workers,
                        const char *placement)
{
    memset(r, 0, sizeof *r);
    snprintf(r->what, sizeof r->what, "%s", what ? what : "");
    snprintf(r->placement, sizeof r->placement, "%s", placement ? placement : "-");
    r->workers = workers;
    tvp_probe_stats_of(NULL, 0, &r->us);
    r->bandwidth_MBps = NAN;
    r->rss_kb = r->pss_kb = -1;
}

int tvp_probe_emit(struct tvp_probe_sink *s, const struct tvp_probe_row *r)
{
    if (s->count == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        struct tvp_probe_row *rows = realloc(s->rows, cap * sizeof *rows);
        if (!rows)
            return TVP_ENOMEM;
        s->rows = rows;
        s->cap = cap;
    }
    struct tvp_probe_row *dst = &s->rows[s->count++];
    *dst = *r;
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(dst->timestamp, sizeof dst->timestamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return 0;
}

void tvp_probe_sink_free(struct tvp_probe_sink *s)
{
    free(s->rows);
    s->rows = NULL;
    s->count = s->cap = 0;
}

void tvp_probe_meta_init(struct tvp_probe_meta *m, const char *backend, const char *probe)
{
    m->backend = backend;
    m->probe = probe;
    memset(m->host, 0, sizeof m->host);
    if (gethostname(m->host, sizeof m->host - 1) != 0)
        strcpy(m->host, "unknown");
}

/* ---- the record ---------------------------------------------------------------------------- */

const char tvp_probe_csv_header[] =
    "schema,tool_version,git_commit,timestamp_utc,host,backend,probe,what,workers,placement,"
    "size_bytes,outer,inner,mean_us,median_us,min_us,max_us,sd_us,ci95_lo_us,ci95_hi_us,"
    "bandwidth_MBps,rss_kb,pss_kb,notes";

enum col_kind { C_STR, C_INT, C_U64, C_US, C_RATE, C_KB };
struct col {
    const char *name;
    enum col_kind kind;
};
static const struct col cols[] = {
    {"schema", C_INT},     {"tool_version", C_STR}, {"git_commit", C_STR}, {"timestamp_utc", C_STR},
    {"host", C_STR},       {"backend", C_STR},      {"probe", C_STR},      {"what", C_STR},
    {"workers", C_INT},    {"placement", C_STR},    {"size_bytes", C_U64}, {"outer", C_INT},
    {"inner", C_U64},      {"mean_us", C_US},       {"median_us", C_US},   {"min_us", C_US},
    {"max_us", C_US},      {"sd_us", C_US},         {"ci95_lo_us", C_US},  {"ci95_hi_us", C_US},
    {"bandwidth_MBps", C_RATE}, {"rss_kb", C_KB},   {"pss_kb", C_KB},      {"notes", C_STR}};
#define NCOLS (sizeof cols / sizeof cols[0])

/* Column k of row r as text; NULL when the row has no value there (CSV: empty, JSON: null). */
static const char *col_text(const struct tvp_probe_meta *m, const struct tvp_probe_row *r, size_t k,
                            char *buf, size_t len)
{
    const struct tvp_probe_stats *s = &r->us;
    double us = NAN;
    switch (k) {
    case 0: snprintf(buf, len, "%d", TVP_PROBE_SCHEMA_VERSION); return buf;
    case 1: return tvp_version;
    case 2: return tvp_git_commit;
    case 3: return r->timestamp;
    case 4: return m->host;
    case 5: return m->backend;
    case 6: return m->probe;
    case 7: return r->what;
    case 8: snprintf(buf, len, "%d", r->workers); return buf;
    case 9: return r->placement;
    case 10: snprintf(buf, len, "%" PRIu64, r->size_bytes); return buf;
    case 11: if (!r->outer) return NULL; snprintf(buf, len, "%d", r->outer); return buf;
    case 12: if (!r->outer) return NULL; snprintf(buf, len, "%" PRIu64, r->inner); return buf;
    case 13: us = s->mean; break;
    case 14: us = s->median; break;
    case 15: us = s->min; break;
    case 16: us = s->max; break;
    case 17: us = s->sd; break;
    case 18: us = s->ci95_lo; break;
    case 19: us = s->ci95_hi; break;
    case 20:
        if (isnan(r->bandwidth_MBps))
            return NULL;
        snprintf(buf, len, "%.6g", r->bandwidth_MBps);
        return buf;
    case 21:
    case 22: {
        long kb = k == 21 ? r->rss_kb : r->pss_kb;
        if (kb < 0)
            return NULL;
        snprintf(buf, len, "%ld", kb);
        return buf;
    }
    case 23: return r->notes;
    default: return NULL;
    }
    if (isnan(us))
        return NULL;
    snprintf(buf, len, "%.4f", us);
    return buf;
}


/* µs with a precision that suits its size, in a field of width w */
static void text_us(FILE *f, double us, int w)
{
    if (isnan(us))
        fprintf(f, " %*s", w, "-");
    else if (fabs(us) >= 10000)
        fprintf(f, " %*.0f", w, us);
    else if (fabs(us) >= 100)
        fprintf(f, " %*.1f", w, us);
    else
        fprintf(f, " %*.3f", w, us);
}

static void text_write(FILE *f, const struct tvp_probe_meta *m, const struct tvp_probe_sink *s)
{
    int times = 0, bw = 0, mem = 0, sizes = 0;
    for (size_t i = 0; i < s->count; i++) {
        const struct tvp_probe_row *r = &s->rows[i];
        times |= r->outer > 0;
        bw |= !isnan(r->bandwidth_MBps);
        mem |= r->rss_kb >= 0 || r->pss_kb >= 0;
        sizes |= r->size_bytes > 0;
    }
    fprintf(f, "tvp %s (%s)  %s  backend=%s probe=%s\n", tvp_version, tvp_git_commit, m->host,
            m->backend, m->probe);
    if (times)
        fprintf(f, "times: us per construct, empty reference loop subtracted (EPCC); median, "
                   "mean, min, max, sd over the outer repetitions; 95%% CI of the mean "
                   "(Student's t)\n");
    if (bw)
        fprintf(f, "MB/s: 10^6 bytes per second, size / median one-way transfer time\n");
    fprintf(f, "%-30s %-15s %3s", "what", "placement", "W");
    if (sizes)
        fprintf(f, " %10s", "size");
    if (times)
        fprintf(f, " %5s %9s %10s %10s %10s %10s %9s %23s", "outer", "inner", "median_us",
                "mean_us", "min_us", "max_us", "sd_us", "95% CI (us)");
    if (bw)
        fprintf(f, " %10s", "MB/s");
    if (mem)
        fprintf(f, " %10s %10s", "rss_kB", "pss_kB");
    fprintf(f, "  notes\n");
    for (size_t i = 0; i < s->count; i++) {
        const struct tvp_probe_row *r = &s->rows[i];
        fprintf(f, "%-30s %-15s %3d", r->what, r->placement, r->workers);
        if (sizes)
            fprintf(f, " %10" PRIu64, r->size_bytes);
        if (times) {
            if (r->outer) {
                fprintf(f, " %5d %9" PRIu64, r->outer, r->inner);
                text_us(f, r->us.median, 10);
                text_us(f, r->us.mean, 10);
                text_us(f, r->us.min, 10);
                text_us(f, r->us.max, 10);
                text_us(f, r->us.sd, 9);
                if (isnan(r->us.ci95_lo)) {
                    fprintf(f, " %23s", "-");
                } else {
                    char ci[64];
                    snprintf(ci, sizeof ci, "[%.3f, %.3f]", r->us.ci95_lo, r->us.ci95_hi);
                    fprintf(f, " %23s", ci);
                }
            } else {
                fprintf(f, " %5s %9s %10s %10s %10s %10s %9s %23s", "-", "-", "-", "-", "-", "-",
                        "-", "-");
            }
        }
        if (bw) {
            if (isnan(r->bandwidth_MBps))
                fprintf(f, " %10s", "-");
            else
                fprintf(f, " %10.1f", r->bandwidth_MBps);
        }
        if (mem) {
            if (r->rss_kb >= 0)
                fprintf(f, " %10ld", r->rss_kb);
            else
                fprintf(f, " %10s", "-");
            if (r->pss_kb >= 0)
                fprintf(f, " %10ld", r->pss_kb);
            else
                fprintf(f, " %10s", "-");
        }
        fprintf(f, "  %s\n", r->notes);
    }
}

int tvp_probe_write(FILE *f, enum tvp_format fmt, const struct tvp_probe_meta *m,
                    const struct tvp_probe_sink *s)
{
    char buf[64];
    if (fmt == TVP_FMT_TEXT) {
        text_write(f, m, s);
    } else if (fmt == TVP_FMT_CSV) {
        fprintf(f, "%s\n", tvp_probe_csv_header);
        for (size_t i = 0; i < s->count; i++) {
            for (size_t k = 0; k < NCOLS; k++) {
                const char *v = col_text(m, &s->rows[i], k, buf, sizeof buf);
                if (k)
                    fputc(',', f);
                if (v)
                    tvp_record_csv_put(f, v);
            }
            fputc('\n', f);
        }
    } else {
        for (size_t i = 0; i < s->count; i++) {
            fputc('{', f);
            for (size_t k = 0; k < NCOLS; k++) {
                const char *v = col_text(m, &s->rows[i], k, buf, sizeof buf);
                fprintf(f, "%s\"%s\":", k ? "," : "", cols[k].name);
                if (!v)
                    fputs("null", f);
                else if (cols[k].kind == C_STR)
                    tvp_record_json_put(f, v);
                else
                    fputs(v, f);
            }
            fputs("}\n", f);
        }
    }
    return fflush(f) == 0 && !ferror(f) ? 0 : TVP_ESYS;
}

int tvp_probe_write_file(const char *path, enum tvp_format fmt, const struct tvp_probe_meta *m,
                         const struct tvp_probe_sink *s)
{
    struct tvp_atomic a;
    int rc = tvp_atomic_open(&a, path);
    if (rc)
        return rc;
    rc = tvp_probe_write(a.f, fmt, m, s);
    int closed = tvp_atomic_close(&a, rc == 0);
    return rc ? rc : closed;
}

/* ---- the EPCC timing loop ------------------------------------------------------------------ */

int tvp_probe_ref_empty(void *arg, uint64_t inner, double *seconds)
{
    (void)arg;
    double t0 = tvp_now();
    for (uint64_t i = 0; i < inner; i++)
        __asm__ __volatile__("" ::: "memory"); /* a loop the compiler keeps */
    *seconds = tvp_now() - t0;
    return 0;
}

#define INNER_LIMIT ((uint64_t)1 << 30)

int tvp_probe_epcc(const struct tvp_probe_ctx *ctx, tvp_probe_loop_fn *test, tvp_probe_loop_fn *ref,
                   void *arg, uint64_t inner_max, struct tvp_probe_row *row)
{
    int outer = ctx->outer > 0 ? ctx->outer : 1, rc;
    uint64_t limit = inner_max && inner_max < INNER_LIMIT ? inner_max : INNER_LIMIT, inner = 1;
    double t = 0;
    double *samples = malloc((size_t)outer * sizeof *samples);
    if (!samples)
        return TVP_ENOMEM;
    /* 0. one untimed construct: the first one pays for cold caches and page faults */
    if ((rc = test(arg, 1, &t)))
        goto out;
    /* 1. calibrate: double inner until one test loop reaches the target time */
    if (limit > 1) {
        for (;;) {
            if ((rc = test(arg, inner, &t)))
                goto out;
            if (t >= ctx->target_s || inner >= limit)
                break;
            inner = inner * 2 <= limit ? inner * 2 : limit;
        }
    }
    /* 2. the reference, then the construct, outer times each */
    double ref_mean = 0;
    if (ref) {
        for (int i = 0; i < outer; i++) {
            if ((rc = ref(arg, inner, &t)))
                goto out;
            ref_mean += t / outer;
        }
    }
    for (int i = 0; i < outer; i++) {
        if ((rc = test(arg, inner, &t)))
            goto out;
        samples[i] = 1e6 * (t - ref_mean) / (double)inner; /* 3. µs per construct */
    }
    tvp_probe_stats_of(samples, outer, &row->us);
    row->outer = outer;
    row->inner = inner;
    rc = 0;
out:
    free(samples);
    return rc;
}

/* ---- the pair's rows ------------------------------------------------------------------------ */

int tvp_probe_ipc_rows(const struct tvp_probe_ctx *ctx, const struct tvp_probe_runner *r,
                       const struct tvp_probe_mech *mech, size_t nmech, const int pus[2],
                       const char *place, struct tvp_probe_sink *out)
{
    uint64_t sizes[64];
    int nsizes = tvp_probe_sizes(ctx->max_size, sizes, 64), rc = 0;
    for (size_t m = 0; m < nmech && !rc; m++) {
        for (int k = 0; k < nsizes && !rc; k++) {
            struct tvp_probe_row row, bw;
            tvp_probe_row_init(&row, mech[m].what, 2, place);
            tvp_probe_row_init(&bw, mech[m].what, 2, place);
            r->set(r->arg, mech[m].rtt, sizes[k]);
            if ((rc = tvp_probe_epcc(ctx, r->loop, tvp_probe_ref_empty, r->arg, 0, &row)))
                break;
            r->set(r->arg, mech[m].bw, sizes[k]);
            if ((rc = tvp_probe_epcc(ctx, r->loop, tvp_probe_ref_empty, r->arg, 0, &bw)))
                break;
            row.size_bytes = sizes[k];
            row.bandwidth_MBps = bw.us.median > 0 ? (double)sizes[k] / bw.us.median : NAN;
            snprintf(row.notes, sizeof row.notes, "PUs %d,%d; %s", pus[0], pus[1], mech[m].notes);
            if (r->emits)
                rc = tvp_probe_emit(out, &row);
        }
        if (rc && !out->err[0])
            rc = r->failed(r->arg, rc, mech[m].what, out);
    }
    return rc;
}

int tvp_probe_switch_rows(const struct tvp_probe_ctx *ctx, const struct tvp_probe_runner *r,
                          uint32_t op, uint64_t size, const char *what, const char *place,
                          const int pus[2], uint64_t row_size, const char *notes,
                          struct tvp_probe_sink *out)
{
    struct tvp_probe_row row;
    tvp_probe_row_init(&row, what, 2, place);
    r->set(r->arg, op, size);
    int rc = tvp_probe_epcc(ctx, r->loop, tvp_probe_ref_empty, r->arg, 0, &row);
    if (rc)
        return r->failed(r->arg, rc, what, out);
    if (!r->emits)
        return 0;
    row.size_bytes = row_size;
    snprintf(row.notes, sizeof row.notes, "PUs %d,%d; %s", pus[0], pus[1], notes);
    if ((rc = tvp_probe_emit(out, &row)) || pus[0] != pus[1])
        return rc;
    snprintf(row.what, sizeof row.what, "context switch (%s)", what);
    struct tvp_probe_stats *u = &row.us;
    u->mean /= 2, u->median /= 2, u->min /= 2, u->max /= 2, u->sd /= 2;
    u->ci95_lo /= 2, u->ci95_hi /= 2;
    snprintf(row.notes, sizeof row.notes,
             "PUs %d,%d: one PU, so a round trip is two switches; this row is it / 2", pus[0],
             pus[1]);
    return tvp_probe_emit(out, &row);
}

/* ---- the futex flag ------------------------------------------------------------------------- */

static long futex(_Atomic uint32_t *addr, int op, uint32_t val, int shared,
                  const struct timespec *timeout)
{
    return syscall(SYS_futex, (uint32_t *)addr, shared ? op : (op | FUTEX_PRIVATE_FLAG), val,
                   timeout, NULL, 0);
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __asm__ __volatile__("pause" ::: "memory");
#elif defined(__aarch64__)
    __asm__ __volatile__("yield" ::: "memory");
#else
    __asm__ __volatile__("" ::: "memory");
#endif
}

void tvp_probe_flag_post(struct tvp_probe_flag *f, int shared)
{
    /* seq first, then sleepers (both sequentially consistent): a waiter that registers
     * after this load sees the new seq in its futex_wait and does not sleep */
    atomic_fetch_add(&f->seq, 1);
    if (atomic_load(&f->sleepers))
        futex(&f->seq, FUTEX_WAKE, INT_MAX, shared, NULL);
}

int tvp_probe_flag_wait(struct tvp_probe_flag *f, uint32_t want, int spins, int shared,
                        const struct tvp_probe_watch *watch)
{
    for (int i = 0; i < spins; i++) {
        if ((int32_t)(atomic_load_explicit(&f->seq, memory_order_acquire) - want) >= 0)
            return 0;
        cpu_relax();
    }
    const struct timespec tick = {0, 100 * 1000 * 1000};
    for (;;) {
        uint32_t cur = atomic_load(&f->seq);
        if ((int32_t)(cur - want) >= 0)
            return 0;
        atomic_fetch_add(&f->sleepers, 1);
        cur = atomic_load(&f->seq);
        long r = 0;
        if ((int32_t)(cur - want) < 0) /* EAGAIN when seq moved meanwhile: look again */
            r = futex(&f->seq, FUTEX_WAIT, cur, shared, watch ? &tick : NULL);
        atomic_fetch_sub(&f->sleepers, 1);
        if (r != 0 && errno == ETIMEDOUT && watch && watch->gone(watch->arg)) {
            if ((int32_t)(atomic_load(&f->seq) - want) >= 0)
                return 0;
            return TVP_EWORKER;
        }
    }
}

/* ---- the pair ---------------------------------------------------------------------------- */

void tvp_probe_pair_init(struct tvp_probe_pair *p, int shared, int spins)
{
    memset(p, 0, sizeof *p);
    p->shared = shared;
    p->spins = spins;
}

int tvp_probe_pair_call(struct tvp_probe_pair *p, struct tvp_probe_pair_end *me,
                        const struct tvp_probe_cmd *cmd)
{
    p->c = *cmd;
    p->c.err = 0;
    tvp_probe_flag_post(&p->cmd, p->shared);
    return tvp_probe_flag_wait(&p->back, me->back += 1, p->spins, p->shared, me->watch);
}

int tvp_probe_pair_done(struct tvp_probe_pair *p, struct tvp_probe_pair_end *me)
{
    int rc = tvp_probe_flag_wait(&p->back, me->back += 1, p->spins, p->shared, me->watch);
    return rc ? rc : p->c.err;
}

int tvp_probe_pair_next(struct tvp_probe_pair *p, struct tvp_probe_pair_end *me,
                        struct tvp_probe_cmd *cmd)
{
    int rc = tvp_probe_flag_wait(&p->cmd, me->cmd += 1, p->spins, p->shared, me->watch);
    if (!rc)
        *cmd = p->c;
    return rc;
}

void tvp_probe_pair_ready(struct tvp_probe_pair *p, struct tvp_probe_pair_end *me)
{
    (void)me;
    tvp_probe_flag_post(&p->back, p->shared);
}

void tvp_probe_pair_reply(struct tvp_probe_pair *p, struct tvp_probe_pair_end *me, int err)
{
    (void)me;
    p->c.err = err;
    tvp_probe_flag_post(&p->back, p->shared);
}

/* ---- memory -------------------------------------------------------------------------------- */

/* the value of a "Name:   123 kB" line whose name is exactly `name` */
static int kb_line(const char *line, const char *name, long *kb)
{
    size_t n = strlen(name);
    if (strncmp(line, name, n) != 0 || line[n] != ':')
        return 0;
    char *end;
    long v = strtol(line + n + 1, &end, 10);
    if (end == line + n + 1)
        return 0;
    *kb += v;
    return 1;
}

int tvp_probe_mem_parse(const char *text, struct tvp_probe_mem *m)
{
    memset(m, 0, sizeof *m);
    int seen = 0;
    for (const char *line = text; line && *line;) {
        seen |= kb_line(line, "Rss", &m->rss_kb);
        seen |= kb_line(line, "Pss", &m->pss_kb) << 1;
        kb_line(line, "Shared_Clean", &m->shared_kb);
        kb_line(line, "Shared_Dirty", &m->shared_kb);
        kb_line(line, "Private_Clean", &m->private_kb);
        kb_line(line, "Private_Dirty", &m->private_kb);
        line = strchr(line, '\n');
        line = line ? line + 1 : NULL;
    }
    return seen == 3 ? 0 : TVP_EINPUT;
}

int tvp_probe_emit_mem(struct tvp_probe_sink *out, const char *phase, const char *who,
                       int workers, uint64_t size, long rss, long pss, const char *notes)
{
    struct tvp_probe_row row;
    char what[64];
    snprintf(what, sizeof what, "after %s: %s", phase, who);
    tvp_probe_row_init(&row, what, workers, "-");
    row.size_bytes = size;
    row.rss_kb = rss;
    row.pss_kb = pss;
    snprintf(row.notes, sizeof row.notes, "%s", notes);
    return tvp_probe_emit(out, &row);
}

int tvp_probe_emit_mem_total(struct tvp_probe_sink *out, const char *phase, int workers,
                             uint64_t size, long rss, long pss, const char *notes)
{
    int rc = tvp_probe_emit_mem(out, phase, "total", workers, size, rss, pss, notes);
    return rc ? rc : tvp_probe_emit_mem(out, phase, "per worker", workers, size, rss / workers,
                                        pss / workers, "total / workers");
}

/* a whole /proc file (their size is 0 to stat) into a malloc'd, NUL-terminated buffer */
static int slurp(const char *path, char **out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return TVP_ESYS;
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    int rc = buf ? 0 : TVP_ENOMEM;
    while (!rc) {
        if (cap - len < 4096) {
            char *b = realloc(buf, cap * 2);
            if (!b) {
                rc = TVP_ENOMEM;
                break;
            }
            buf = b, cap *= 2;
        }
        ssize_t got = read(fd, buf + len, cap - len - 1);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            rc = TVP_ESYS;
        else if (got == 0)
            break;
        else
            len += (size_t)got;
    }
    int saved = errno;
    close(fd);
    errno = saved;
    if (rc) {
        free(buf);
        return rc;
    }
    buf[len] = 0;
    *out = buf;
    return 0;
}

int tvp_probe_mem_read_files(const char *rollup, const char *smaps, struct tvp_probe_mem *m)
{
    char *text = NULL;
    int rc = rollup ? slurp(rollup, &text) : TVP_ESYS;
    if (rc && smaps)
        rc = slurp(smaps, &text);
    if (rc)
        return rc;
    rc = tvp_probe_mem_parse(text, m);
    free(text);
    return rc;
}

int tvp_probe_mem_read(pid_t pid, struct tvp_probe_mem *m)
{
    char rollup[64], smaps[64];
    if (pid > 0) {
        snprintf(rollup, sizeof rollup, "/proc/%ld/smaps_rollup", (long)pid);
        snprintf(smaps, sizeof smaps, "/proc/%ld/smaps", (long)pid);
    } else {
        snprintf(rollup, sizeof rollup, "/proc/self/smaps_rollup");
        snprintf(smaps, sizeof smaps, "/proc/self/smaps");
    }
    return tvp_probe_mem_read_files(rollup, smaps, m);
}

static void *map_flags(size_t bytes, int flags)
{
    void *p = mmap(NULL, bytes ? bytes : 1, PROT_READ | PROT_WRITE, flags | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
#ifdef MADV_NOHUGEPAGE
    madvise(p, bytes ? bytes : 1, MADV_NOHUGEPAGE); /* advice: ignored where unsupported */
#endif
    return p;
}

void *tvp_probe_map(size_t bytes) { return map_flags(bytes, MAP_PRIVATE); }
void *tvp_probe_map_shared(size_t bytes) { return map_flags(bytes, MAP_SHARED); }

void tvp_probe_unmap(void *p, size_t bytes)
{
    if (p)
        munmap(p, bytes ? bytes : 1);
}

void tvp_probe_touch(void *p, size_t bytes)
{
    volatile unsigned char *c = p;
    for (size_t i = 0; i < bytes; i += 4096)
        c[i] = (unsigned char)(c[i] + 1);
}

/* ---- sizes and placement --------------------------------------------------------------------- */

int tvp_probe_sizes(uint64_t max, uint64_t *sizes, int cap)
{
    int n = 0;
    if (cap <= 0)
        return 0;
    if (max < 8) {
        sizes[n++] = max ? max : 1;
        return n;
    }
    for (uint64_t s = 8; s <= max && n < cap; s *= 2) {
        sizes[n++] = s;
        if (s > max / 2)
            break;
    }
    if (sizes[n - 1] != max && n < cap)
        sizes[n++] = max;
    return n;
}

/* does a cpulist ("0-3,8,10-11") hold cpu? */
static int list_has(const char *s, int cpu)
{
    while (*s) {
        char *end;
        long a = strtol(s, &end, 10), b = a;
        if (end == s)
            return 0;
        s = end;
        if (*s == '-') {
            b = strtol(s + 1, &end, 10);
            s = end;
        }
        if (cpu >= a && cpu <= b)
            return 1;
        while (*s == ',' || *s == '\n' || *s == ' ')
            s++;
    }
    return 0;
}

int tvp_probe_same_core(int a, int b)
{
    if (a < 0 || b < 0)
        return -1;
    if (a == b)
        return 1;
    char path[128], buf[256];
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d/topology/thread_siblings_list", a);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t got = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (got <= 0)
        return -1;
    buf[got] = 0;
    return list_has(buf, b);
}

const char *tvp_probe_placement(int pu_a, int pu_b)
{
    if (pu_a < 0 || pu_b < 0)
        return "unbound";
    int same = tvp_probe_same_core(pu_a, pu_b);
    return same > 0 ? "same-core" : same == 0 ? "different-cores" : "-";
}

int tvp_probe_reap(pid_t pid)
{
    int st;
    pid_t r;
    while ((r = waitpid(pid, &st, 0)) < 0 && errno == EINTR)
        ;
    if (r < 0)
        return TVP_ESYS;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : TVP_EWORKER;
}
