/* The result record: CSV with a header, JSON lines, or a human table. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "record.h"

const char tvp_record_csv_header[] =
    "schema,tool_version,git_commit,timestamp_utc,host,backend,workload,input,n,seed,"
    "width,height,channels,filters,iterations,columns,fields,classes,"
    "schedule,chunk,data,ipc,workers,bind,cpus,oversubscribed,transport,repeat,warmup,"
    "t_init,t_touch,t_startup,t_distribute,t_compute,t_collect,t_total,"
    "t_parse,t_fit,t_merge,t_encode,t_format,items_per_s,"
    "bytes_per_s,pixels_per_s,rows_per_s,fields_per_s,bytes_moved,halo_bytes,merge_bytes,"
    "peak_rss_kb,checksum_sum,checksum_crc64,verified,recovered,t_detect,t_recovery";

/* One table drives CSV and JSON, so the two can never disagree on a field. */
enum field_kind { F_STR, F_U64, F_U32, F_INT, F_LONG, F_SEC, F_RATE, F_HEX };
struct field {
    const char *name;
    enum field_kind kind;
    size_t offset;
};
#define FLD(name, kind, member) {name, kind, offsetof(struct tvp_row, member)}
#define FLD_PTR(name, member) {name, F_STR, offsetof(struct tvp_row, member)}

static const struct field fields[] = {
    FLD_PTR("backend", backend),
    FLD_PTR("workload", workload),
    FLD_PTR("input", input),
    FLD("n", F_U64, n),
    FLD("seed", F_U64, seed),
    FLD("width", F_U32, width),
    FLD("height", F_U32, height),
    FLD("channels", F_U32, channels),
    FLD_PTR("filters", filters),
    FLD("iterations", F_INT, iterations),
    FLD("columns", F_U32, columns),
    FLD("fields", F_U64, fields),
    FLD_PTR("classes", classes),
    FLD_PTR("schedule", schedule),
    FLD("chunk", F_U64, chunk),
    FLD_PTR("data", data),
    FLD_PTR("ipc", ipc),
    FLD("workers", F_INT, workers),
    FLD_PTR("bind", bind),
    FLD("oversubscribed", F_INT, oversubscribed),
    FLD("repeat", F_INT, repeat),
    FLD("warmup", F_INT, warmup),
    FLD("t_init", F_SEC, t_init),
    FLD("t_touch", F_SEC, t_touch),
    FLD("t_startup", F_SEC, t_startup),
    FLD("t_distribute", F_SEC, t_distribute),
    FLD("t_compute", F_SEC, t_compute),
    FLD("t_collect", F_SEC, t_collect),
    FLD("t_total", F_SEC, t_total),
    FLD("t_parse", F_SEC, t_parse),
    FLD("t_fit", F_SEC, t_fit),
    FLD("t_merge", F_SEC, t_merge),
    FLD("t_encode", F_SEC, t_encode),
    FLD("t_format", F_SEC, t_format),
    FLD("items_per_s", F_RATE, items_per_s),
    FLD("bytes_per_s", F_RATE, bytes_per_s),
    FLD("pixels_per_s", F_RATE, pixels_per_s),
    FLD("rows_per_s", F_RATE, rows_per_s),
    FLD("fields_per_s", F_RATE, fields_per_s),
    FLD("bytes_moved", F_U64, bytes_moved),
    FLD("halo_bytes", F_U64, halo_bytes),
    FLD("merge_bytes", F_U64, merge_bytes),
    FLD("peak_rss_kb", F_LONG, peak_rss_kb),
    FLD("checksum_sum", F_HEX, checksum.sum),
    FLD("checksum_crc64", F_HEX, checksum.crc64),
    FLD("verified", F_INT, verified),
    FLD("recovered", F_INT, recovered),
    FLD("t_detect", F_SEC, t_detect),
    FLD("t_recovery", F_SEC, t_recovery),
};
#define NFIELDS (sizeof fields / sizeof fields[0])

static int field_index(const char *name)
{
    for (size_t i = 0; i < NFIELDS; i++)
        if (strcmp(fields[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* value of a field as text; strings are returned as they are (callers quote) */
static const char *field_text(const struct tvp_row *r, const struct field *f, char *buf, size_t len)
{
    const char *p = (const char *)r + f->offset;
    switch (f->kind) {
    case F_STR: return *(const char *const *)p ? *(const char *const *)p : "";
    case F_U64: snprintf(buf, len, "%" PRIu64, *(const uint64_t *)p); break;
    case F_U32: snprintf(buf, len, "%" PRIu32, *(const uint32_t *)p); break;
    case F_INT: snprintf(buf, len, "%d", *(const int *)p); break;
    case F_LONG: snprintf(buf, len, "%ld", *(const long *)p); break;
    case F_SEC: snprintf(buf, len, "%.9f", *(const double *)p); break;
    case F_RATE: snprintf(buf, len, "%.6g", *(const double *)p); break;
    case F_HEX: snprintf(buf, len, "0x%016" PRIx64, *(const uint64_t *)p); break;
    }
    return buf;
}

/* The fields in record order: fixed provenance first, then the table's. */
static const char *const order[] = {
    "schema", "tool_version", "git_commit", "timestamp_utc", "host", "backend", "workload",
    "input", "n", "seed", "width", "height", "channels", "filters", "iterations", "columns",
    "fields", "classes", "schedule", "chunk", "data", "ipc", "workers", "bind", "cpus",
    "oversubscribed", "transport", "repeat", "warmup", "t_init", "t_touch", "t_startup",
    "t_distribute", "t_compute", "t_collect", "t_total", "t_parse", "t_fit", "t_merge",
    "t_encode", "t_format", "items_per_s", "bytes_per_s", "pixels_per_s", "rows_per_s",
    "fields_per_s", "bytes_moved", "halo_bytes", "merge_bytes", "peak_rss_kb", "checksum_sum",
    "checksum_crc64", "verified", "recovered", "t_detect", "t_recovery"};
#define NORDER (sizeof order / sizeof order[0])

/* Text of any record field by name; numeric fields set *numeric. */
static const char *row_value(const struct tvp_row *r, const char *name, char *buf, size_t len,
                             int *numeric)
{
    *numeric = 0;
    if (strcmp(name, "schema") == 0) {
        *numeric = 1;
        snprintf(buf, len, "%d", TVP_SCHEMA_VERSION);
        return buf;
    }
    if (strcmp(name, "tool_version") == 0) return tvp_version;
    if (strcmp(name, "git_commit") == 0) return tvp_git_commit;
    if (strcmp(name, "timestamp_utc") == 0) return r->timestamp;
    if (strcmp(name, "host") == 0) return r->host;
    if (strcmp(name, "cpus") == 0) return r->cpus;
    if (strcmp(name, "transport") == 0) return r->transport;
    int i = field_index(name);
    if (i < 0)
        return "";
    *numeric = fields[i].kind != F_STR && fields[i].kind != F_HEX;
    return field_text(r, &fields[i], buf, len);
}

void tvp_record_csv_put(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

void tvp_record_json_put(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static void text_write(FILE *f, const struct tvp_row *rows, int nrows)
{
    if (nrows <= 0)
        return;
    const struct tvp_row *r0 = &rows[0];
    fprintf(f, "tvp %s (%s)  %s  backend=%s workload=%s n=%" PRIu64 " workers=%d\n", tvp_version,
            tvp_git_commit, r0->host, r0->backend, r0->workload, r0->n, r0->workers);
    fprintf(f, "schedule=%s chunk=%" PRIu64 " data=%s ipc=%s bind=%s cpus=[%s]%s transport=%s\n",
            r0->schedule, r0->chunk, r0->data, r0->ipc, r0->bind, r0->cpus,
            r0->oversubscribed ? " OVERSUBSCRIBED" : "", r0->transport);
    if (r0->width)
        fprintf(f, "image %ux%ux%u (%s) filters=%s iterations=%d halo_bytes=%" PRIu64
                   " bytes_moved=%" PRIu64 "\n",
                r0->width, r0->height, r0->channels, r0->input, r0->filters ? r0->filters : "",
                r0->iterations, r0->halo_bytes, r0->bytes_moved);
    if (r0->columns)
        fprintf(f, "table %s: %" PRIu64 " rows x %u columns, classes per encoded column [%s] "
                   "merge_bytes=%" PRIu64 " bytes_moved=%" PRIu64 "\n",
                r0->input, r0->n, r0->columns, r0->classes ? r0->classes : "", r0->merge_bytes,
                r0->bytes_moved);
    fprintf(f, "one-off: init %.3f ms, first touch %.3f ms\n", 1e3 * r0->t_init, 1e3 * r0->t_touch);
    fprintf(f, "%6s %10s %10s %10s %10s %10s %10s %10s %12s %9s\n", "repeat", "startup_ms",
            "distrib_ms", "compute_ms", "collect_ms", "total_ms", "Mitems/s", "GB/s",
            "peak_rss_MB", "verified");
    double *tot = malloc((size_t)nrows * sizeof *tot);
    for (int i = 0; i < nrows; i++) {
        const struct tvp_row *r = &rows[i];
        fprintf(f, "%6d %10.3f %10.3f %10.3f %10.3f %10.3f %10.1f %10.2f %12.1f %9s\n", r->repeat,
                1e3 * r->t_startup, 1e3 * r->t_distribute, 1e3 * r->t_compute, 1e3 * r->t_collect,
                1e3 * r->t_total, r->items_per_s / 1e6, r->bytes_per_s / 1e9,
                r->peak_rss_kb / 1024.0,
                r->verified > 0 ? "yes" : r->verified == 0 ? "NO" : "-");
        if (tot)
            tot[i] = r->t_total;
    }
    if (tot) {
        double lo = tot[0], hi = tot[0];
        for (int i = 1; i < nrows; i++)
            lo = tot[i] < lo ? tot[i] : lo, hi = tot[i] > hi ? tot[i] : hi;
        fprintf(f, "t_total median %.3f ms (min %.3f, max %.3f) over %d runs\n",
                1e3 * median(tot, nrows), 1e3 * lo, 1e3 * hi, nrows);
        if (r0->columns) { /* labelencode: the steps inside compute */
            static const size_t step[] = {offsetof(struct tvp_row, t_parse),
                                          offsetof(struct tvp_row, t_fit),
                                          offsetof(struct tvp_row, t_merge),
                                          offsetof(struct tvp_row, t_encode),
                                          offsetof(struct tvp_row, t_format)};
            double med[5];
            for (int k = 0; k < 5; k++) {
                for (int i = 0; i < nrows; i++)
                    tot[i] = *(const double *)((const char *)&rows[i] + step[k]);
                med[k] = median(tot, nrows);
            }
            fprintf(f, "steps (median ms): parse %.3f fit %.3f merge %.3f encode %.3f format "
                       "%.3f\n", 1e3 * med[0], 1e3 * med[1], 1e3 * med[2], 1e3 * med[3],
                    1e3 * med[4]);
        }
        free(tot);
    }
    for (int i = 0; i < nrows; i++) /* fault isolation: the runs in which workers were replaced */
        if (rows[i].recovered)
            fprintf(f, "repeat %d: %d worker%s replaced; loss noticed after %.3f ms, lost work "
                       "done again %.3f ms later\n",
                    rows[i].repeat, rows[i].recovered, rows[i].recovered > 1 ? "s" : "",
                    1e3 * rows[i].t_detect, 1e3 * rows[i].t_recovery);
    fprintf(f, "checksum sum=0x%016" PRIx64 " crc64=0x%016" PRIx64 " (CRC-64/XZ of %" PRIu64
               " output bytes)\n",
            r0->checksum.sum, r0->checksum.crc64, r0->checksum.bytes);
}

int tvp_record_write(FILE *f, enum tvp_format fmt, const struct tvp_row *rows, int nrows)
{
    char buf[64];
    int numeric;
    if (fmt == TVP_FMT_TEXT) {
        text_write(f, rows, nrows);
    } else if (fmt == TVP_FMT_CSV) {
        fprintf(f, "%s\n", tvp_record_csv_header);
        for (int i = 0; i < nrows; i++) {
            for (size_t k = 0; k < NORDER; k++) {
                if (k)
                    fputc(',', f);
                tvp_record_csv_put(f, row_value(&rows[i], order[k], buf, sizeof buf, &numeric));
            }
            fputc('\n', f);
        }
    } else {
        for (int i = 0; i < nrows; i++) {
            fputc('{', f);
            for (size_t k = 0; k < NORDER; k++) {
                const char *v = row_value(&rows[i], order[k], buf, sizeof buf, &numeric);
                fprintf(f, "%s\"%s\":", k ? "," : "", order[k]);
                if (numeric)
                    fputs(v, f);
                else
                    tvp_record_json_put(f, v);
            }
            fputs("}\n", f);
        }
    }
    return fflush(f) == 0 && !ferror(f) ? 0 : TVP_ESYS;
}

int tvp_record_write_file(const char *path, enum tvp_format fmt, const struct tvp_row *rows,
                          int nrows)
{
    struct tvp_atomic a;
    int rc = tvp_atomic_open(&a, path);
    if (rc)
        return rc;
    rc = tvp_record_write(a.f, fmt, rows, nrows);
    int closed = tvp_atomic_close(&a, rc == 0);
    return rc ? rc : closed;
}
