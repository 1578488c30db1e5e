/* The labelencode engine: the table, each worker's steps (parse, fit, encode, format), the
 * merge of the workers' label sets, their byte form for other processes, and the serial
 * reference.  See lenc.h.
 *
 * Memory: a worker keeps its cells, ids, arena chunks, output buffer and label sets from
 * run to run (tvp_lenc_worker_reset keeps their capacity; the sets are emptied with
 * tvp_labels_clear, which keeps their tables and chunks); arrays grow by doubling, so a
 * run allocates nothing per field or per row, and a run like the last one nothing at all.
 * The same holds for sets that tvp_lenc_unpack_sets refills. */
#include "lenc.h"

#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_CHUNK ((size_t)64 << 10) /* an arena chunk's bytes (more for a longer field) */
#define SHOW_CAP 128                   /* a label shown in a message */

/* ---- messages ------------------------------------------------------------------------- */

static const char *show(char *dst, size_t cap, const void *data, size_t len)
{
    return tvp_label_show(dst, cap, data, len, 1);
}

/* The name of column c, shown quoted. */
static const char *show_col(char *dst, size_t cap, const struct tvp_lenc_table *t, size_t c)
{
    struct tvp_label l = tvp_labels_get(&t->names, c);
    return show(dst, cap, l.p, l.len);
}

/* A CSV reader's error ("line N: what") as "NAME:N: what". */
static int csv_error(int rc, const char *name, const char *msg, char *err, size_t errlen)
{
    if (rc == TVP_ENOMEM)
        return tvp_errorf(rc, err, errlen, "%s: out of memory", name);
    if (strncmp(msg, "line ", 5) == 0 && msg[5] >= '0' && msg[5] <= '9') {
        char *end;
        unsigned long long n = strtoull(msg + 5, &end, 10);
        if (end[0] == ':' && end[1] == ' ')
            return tvp_errorf(rc, err, errlen, "%s:%llu: %s", name, n, end + 2);
    }
    return tvp_errorf(rc, err, errlen, "%s: %s", name, msg);
}

/* Keeps the worker's first error (its message is already in w->msg). */
static int fail(struct tvp_lenc_worker *w, int rc)
{
    w->err = rc;
    return rc;
}

static int fail_nomem(const struct tvp_lenc_table *t, struct tvp_lenc_worker *w)
{
    return fail(w, tvp_errorf(TVP_ENOMEM, w->msg, sizeof w->msg, "%s: out of memory", t->name));
}

/* ---- buffers ---------------------------------------------------------------------------- */

static int buf_add(struct tvp_csv_buf *b, const void *p, size_t n)
{
    if (n == 0)
        return 0;
    int rc = tvp_csv_buf_reserve(b, n);
    if (rc)
        return rc;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

/* Grows *arr (of *cap elements of size el) to at least need elements, by doubling. */
static int grow(void **arr, size_t *cap, size_t need, size_t el, size_t min)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : min;
    while (c < need) {
        if (c > SIZE_MAX / 2 / el)
            return TVP_ENOMEM;
        c *= 2;
    }
    void *p = realloc(*arr, c * el);
    if (!p)
        return TVP_ENOMEM;
    *arr = p;
    *cap = c;
    return 0;
}

/* ---- the table ---------------------------------------------------------------------------- */

/* Skips what the reader skips before a record (blank lines; a lone CR that ends the input)
 * and returns the line number of what follows.  Writing pos and line between records is
 * what the reader would do itself at its next call. */
static uint64_t skip_blank(struct tvp_csv_reader *r)
{
    const char *b = r->buf;
    size_t p = r->pos, e = r->end;
    uint64_t line = r->line;
    for (;;) {
        if (p < e && b[p] == '\n') {
            p++;
            line++;
        } else if (e - p >= 2 && b[p] == '\r' && b[p + 1] == '\n') {
            p += 2;
            line++;
        } else if (e - p == 1 && b[p] == '\r') {
            p++;
        } else {
            break;
        }
    }
    r->pos = p;
    r->line = line;
    return line;
}

void tvp_lenc_table_free(struct tvp_lenc_table *t)
{
    if (t->classes) {
        for (size_t k = 0; k < t->nsel; k++)
            tvp_labels_free(&t->classes[k]);
        free(t->classes);
    }
    tvp_labels_free(&t->names);
    free(t->sel);
    free(t->sel_of);
    free(t->header.data);
    free((char *)t->name);
    free((char *)t->classes_name);
    memset(t, 0, sizeof *t);
    tvp_labels_init(&t->names);
}

/* "a, b, c": the header's names for a message, cut with "..." */
static void names_list(const struct tvp_lenc_table *t, char *dst, size_t cap)
{
    size_t o = 0;
    dst[0] = 0;
    for (size_t c = 0; c < t->ncols; c++) {
        char s[SHOW_CAP];
        struct tvp_label l = tvp_labels_get(&t->names, c);
        tvp_label_show(s, sizeof s, l.p, l.len, 0);
        size_t n = strlen(s);
        if (o + n + 8 >= cap) {
            snprintf(dst + o, cap - o, "%s...", c ? ", " : "");
            return;
        }
        o += (size_t)snprintf(dst + o, cap - o, "%s%s", c ? ", " : "", s);
    }
}

/* --columns: marks the columns it names in mark[ncols]. */
static int parse_columns(const struct tvp_lenc_table *t, const char *columns, unsigned char *mark,
                         char *err, size_t errlen)
{
    struct tvp_csv_reader r;
    const struct tvp_csv_field *f;
    char emsg[256], s[SHOW_CAP];
    size_t len = strlen(columns);
    int rc = tvp_csv_reader_init(&r, columns, 0, len, ',', 1);
    if (rc)
        return tvp_errorf(TVP_EUSAGE, err, errlen, "--columns: cannot read the list");
    r.pos = 0; /* a list is no file: nothing is a byte-order mark */
    int n = tvp_csv_next(&r, &f, emsg, sizeof emsg);
    if (n == 0) {
        rc = tvp_errorf(TVP_EUSAGE, err, errlen, "--columns: the list is empty");
    } else if (n < 0) {
        const char *what = emsg;
        if (strncmp(emsg, "line ", 5) == 0 && strstr(emsg, ": "))
            what = strstr(emsg, ": ") + 2;
        rc = n == TVP_ENOMEM ? tvp_errorf(TVP_ENOMEM, err, errlen, "--columns: out of memory")
                             : tvp_errorf(TVP_EUSAGE, err, errlen, "--columns: %s", what);
    } else {
        for (int i = 0; i < n && !rc; i++) {
            int64_t c = tvp_labels_lookup(&t->names, f[i].p, f[i].len);
            if (c < 0) {
                char list[320];
                names_list(t, list, sizeof list);
                rc = tvp_errorf(TVP_EUSAGE, err, errlen, "--columns: no column %s in %s (it has: %s)",
                                show(s, sizeof s, f[i].p, f[i].len), t->name, list);
            } else if (mark[c]) {
                rc = tvp_errorf(TVP_EUSAGE, err, errlen, "--columns: column %s is given twice",
                                show(s, sizeof s, f[i].p, f[i].len));
            } else {
                mark[c] = 1;
            }
        }
        if (!rc && tvp_csv_next(&r, &f, emsg, sizeof emsg) != 0)
            rc = tvp_errorf(TVP_EUSAGE, err, errlen,
                            "--columns: one line of names expected (a newline in the list)");
    }
    tvp_csv_reader_free(&r);
    return rc;
}

static int table_build(struct tvp_lenc_table *t, const char *buf, size_t len, const char *columns,
                       const char *classes_json, size_t classes_len, unsigned char **markp,
                       char *err, size_t errlen)
{
    struct tvp_csv_reader r;
    const struct tvp_csv_field *f;
    char emsg[256], s[SHOW_CAP];
    int rc;

    /* the header: the file's first record (a byte-order mark skipped) */
    if ((rc = tvp_csv_reader_init(&r, buf, 0, len, t->delim, 1)))
        return tvp_errorf(TVP_EUSAGE, err, errlen,
                          "the delimiter cannot be '\"', CR or LF");
    uint64_t hline = skip_blank(&r);
    int n = tvp_csv_next(&r, &f, emsg, sizeof emsg);
    if (n <= 0) {
        tvp_csv_reader_free(&r);
        if (n == 0)
            return tvp_errorf(TVP_EINPUT, err, errlen, "%s:1: empty file", t->name);
        return csv_error(n, t->name, emsg, err, errlen);
    }
    t->ncols = (size_t)n;
    for (size_t c = 0; c < t->ncols && !rc; c++) {
        int64_t id = tvp_labels_insert(&t->names, f[c].p, f[c].len);
        if (id < 0)
            rc = tvp_errorf(TVP_ENOMEM, err, errlen, "%s: out of memory", t->name);
        else if ((size_t)id != c)
            rc = tvp_errorf(TVP_EINPUT, err, errlen, "%s:%" PRIu64 ": duplicate column name %s",
                            t->name, hline, show(s, sizeof s, f[c].p, f[c].len));
    }
    if (!rc && tvp_csv_put_record(&t->header, f, t->ncols, t->delim))
        rc = tvp_errorf(TVP_ENOMEM, err, errlen, "%s: out of memory", t->name);
    t->data_begin = r.pos;
    t->data_line = r.line;
    tvp_csv_reader_free(&r);
    if (rc)
        return rc;

    t->sel_of = malloc(t->ncols * sizeof *t->sel_of);
    t->sel = malloc(t->ncols * sizeof *t->sel);
    unsigned char *mark = *markp = calloc(t->ncols, 1); /* mark[c]: column c is encoded */
    if (!t->sel_of || !t->sel || !mark)
        return tvp_errorf(TVP_ENOMEM, err, errlen, "%s: out of memory", t->name);

    if (columns && (rc = parse_columns(t, columns, mark, err, errlen)))
        return rc;

    struct tvp_labels_file file;
    size_t nfile = 0;
    if (t->mode != TVP_LENC_FIT) {
        if (!classes_json)
            return tvp_errorf(TVP_EUSAGE, err, errlen,
                              "transform and inverse need the classes (--classes-in)");
        if ((rc = tvp_labels_parse_json(classes_json, classes_len, t->classes_name, &file, err,
                                        errlen)))
            return rc;
        nfile = tvp_labels_count(&file.names);
        for (size_t i = 0; i < nfile && !rc; i++) {
            struct tvp_label nm = tvp_labels_get(&file.names, i);
            int64_t c = tvp_labels_lookup(&t->names, nm.p, nm.len);
            if (c < 0)
                rc = tvp_errorf(TVP_EINPUT, err, errlen, "%s: column %s is not in %s",
                                t->classes_name, show(s, sizeof s, nm.p, nm.len), t->name);
            else if (!columns)
                mark[c] = 1;
        }
        for (size_t c = 0; c < t->ncols && !rc; c++) {
            struct tvp_label nm = tvp_labels_get(&t->names, c);
            if (mark[c] && tvp_labels_lookup(&file.names, nm.p, nm.len) < 0)
                rc = tvp_errorf(TVP_EINPUT, err, errlen, "%s: no classes for column %s",
                                t->classes_name, show(s, sizeof s, nm.p, nm.len));
        }
        if (rc) {
            tvp_labels_file_free(&file);
            return rc;
        }
    } else if (!columns) {
        memset(mark, 1, t->ncols);
    }

    for (size_t c = 0; c < t->ncols; c++) {
        t->sel_of[c] = mark[c] ? (int64_t)t->nsel : -1;
        if (mark[c])
            t->sel[t->nsel++] = c;
    }
    if (t->mode != TVP_LENC_FIT) {
        /* each encoded column's classes move from the file to the table */
        t->classes = malloc((t->nsel ? t->nsel : 1) * sizeof *t->classes);
        if (!t->classes) {
            tvp_labels_file_free(&file);
            t->nsel = 0; /* no sets to free */
            return tvp_errorf(TVP_ENOMEM, err, errlen, "%s: out of memory", t->name);
        }
        for (size_t k = 0; k < t->nsel; k++) {
            struct tvp_label nm = tvp_labels_get(&t->names, t->sel[k]);
            int64_t i = tvp_labels_lookup(&file.names, nm.p, nm.len);
            t->classes[k] = file.classes[i];
            tvp_labels_init(&file.classes[i]);
        }
        tvp_labels_file_free(&file);
    }
    return 0;
}

int tvp_lenc_table_init(struct tvp_lenc_table *t, const char *name, const char *buf, size_t len,
                        char delim, const char *columns, enum tvp_lenc_mode mode,
                        const char *classes_json, size_t classes_len, const char *classes_name,
                        char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    tvp_labels_init(&t->names);
    t->delim = delim;
    t->mode = mode;
    t->name = strdup(name ? name : "generated");
    t->classes_name = strdup(classes_name ? classes_name : "classes");
    if (!t->name || !t->classes_name) {
        tvp_lenc_table_free(t);
        return tvp_errorf(TVP_ENOMEM, err, errlen, "out of memory");
    }
    unsigned char *mark = NULL;
    int rc = table_build(t, buf, len, columns, classes_json, classes_len, &mark, err, errlen);
    free(mark);
    if (rc)
        tvp_lenc_table_free(t);
    return rc;
}

/* ---- the worker --------------------------------------------------------------------------- */

void tvp_lenc_worker_init(struct tvp_lenc_worker *w)
{
    memset(w, 0, sizeof *w);
}

/* Empties the worker's sets, keeping their memory (release: frees it). */
static void clear_sets(struct tvp_lenc_worker *w, int release)
{
    for (size_t k = 0; k < w->nsets; k++) {
        if (release)
            tvp_labels_free(&w->sets[k]);
        else
            tvp_labels_clear(&w->sets[k]);
    }
}

void tvp_lenc_worker_reset(struct tvp_lenc_worker *w)
{
    w->rows = 0;
    clear_sets(w, 0);
    w->out.len = 0;
    memset(&w->t, 0, sizeof w->t);
    w->err = 0;
    w->msg[0] = 0;
    w->arena_used = 0;
    w->arena_left = 0;
}

void tvp_lenc_worker_free(struct tvp_lenc_worker *w)
{
    clear_sets(w, 1);
    free(w->sets);
    free(w->cells);
    free(w->ids);
    free(w->out.data);
    for (size_t i = 0; i < w->narena; i++)
        free(w->arena[i]);
    free(w->arena);
    memset(w, 0, sizeof *w);
}

/* An arena chunk: its size (a size_t) then its bytes. */
static size_t chunk_size(const char *c)
{
    size_t n;
    memcpy(&n, c, sizeof n);
    return n;
}

/* A new arena chunk of `size` bytes, or NULL. */
static char *chunk_new(size_t size)
{
    if (size > SIZE_MAX - sizeof(size_t))
        return NULL;
    char *c = malloc(sizeof(size_t) + size);
    if (c)
        memcpy(c, &size, sizeof size);
    return c;
}

/* A copy of len > 0 bytes at p in the arena, or NULL.  Chunks arena[0, arena_used) are in
 * use this run, the last with arena_left bytes free at its end; chunks left from earlier
 * runs are reused (a too-small one is replaced). */
static const char *arena_copy(struct tvp_lenc_worker *w, const char *p, size_t len)
{
    if (len > w->arena_left) {
        size_t want = len > ARENA_CHUNK ? len : ARENA_CHUNK;
        size_t i = w->arena_used;
        if (i < w->narena && chunk_size(w->arena[i]) < len) {
            /* a chunk from an earlier run, too small for this field: replaced */
            char *c = chunk_new(want);
            if (!c)
                return NULL;
            free(w->arena[i]);
            w->arena[i] = c;
        }
        if (i == w->narena) {
            if (w->narena == w->arena_cap) {
                size_t cap = w->arena_cap ? 2 * w->arena_cap : 8;
                char **a = realloc(w->arena, cap * sizeof *a);
                if (!a)
                    return NULL;
                w->arena = a;
                w->arena_cap = cap;
            }
            char *c = chunk_new(want);
            if (!c)
                return NULL;
            w->arena[w->narena++] = c;
        }
        w->arena_used = i + 1;
        w->arena_left = chunk_size(w->arena[i]);
    }
    char *c = w->arena[w->arena_used - 1];
    char *q = c + sizeof(size_t) + (chunk_size(c) - w->arena_left);
    memcpy(q, p, len);
    w->arena_left -= len;
    return q;
}

/* A reader over the worker's part.  The part is never the start of a file: the reader
 * skips a byte-order mark when begin == 0 (as with a private copy of the part), so pos is
 * set back to begin. */
static int part_reader(const struct tvp_lenc_table *t, const struct tvp_lenc_worker *w,
                       struct tvp_csv_reader *r)
{
    int rc = tvp_csv_reader_init(r, w->buf, w->begin, w->end, t->delim, w->line);
    if (rc)
        return rc;
    r->pos = w->begin;
    return 0;
}

/* The line number where record `row` of the part starts, read again from the part's start
 * (for error messages only: the rows before it were read without error). */
static uint64_t row_line(const struct tvp_lenc_table *t, const struct tvp_lenc_worker *w,
                         uint64_t row)
{
    struct tvp_csv_reader r;
    const struct tvp_csv_field *f;
    char emsg[128];
    if (part_reader(t, w, &r))
        return w->line;
    uint64_t line = w->line;
    for (uint64_t i = 0;; i++) {
        line = skip_blank(&r);
        if (i == row || tvp_csv_next(&r, &f, emsg, sizeof emsg) <= 0)
            break;
    }
    tvp_csv_reader_free(&r);
    return line;
}

int tvp_lenc_worker_parse(const struct tvp_lenc_table *t, struct tvp_lenc_worker *w)
{
    double t0 = tvp_now();
    struct tvp_csv_reader r;
    const struct tvp_csv_field *f;
    char emsg[256];
    const size_t ncols = t->ncols;
    w->rows = 0;
    if (part_reader(t, w, &r))
        return fail(w, tvp_errorf(TVP_EUSAGE, w->msg, sizeof w->msg,
                                  "%s: bad part [%zu, %zu) or delimiter", t->name, w->begin,
                                  w->end));
    /* fields outside the part are in the reader's scratch buffer ("" escapes): copied */
    const uintptr_t base = (uintptr_t)(w->buf + w->begin);
    const size_t span = w->end - w->begin;
    int rc = 0;
    uint64_t rows = 0;
    for (;;) {
        int n = tvp_csv_next(&r, &f, emsg, sizeof emsg);
        if (n == 0)
            break;
        if (n < 0) {
            rc = fail(w, csv_error(n, t->name, emsg, w->msg, sizeof w->msg));
            break;
        }
        if ((size_t)n != ncols) {
            w->rows = rows;
            uint64_t line = row_line(t, w, rows);
            rc = fail(w, tvp_errorf(TVP_EINPUT, w->msg, sizeof w->msg,
                                    "%s:%" PRIu64 ": row has %d field%s, the header has %zu",
                                    t->name, line, n, n == 1 ? "" : "s", ncols));
            break;
        }
        if ((rows + 1) * ncols > w->cells_cap &&
            grow((void **)&w->cells, &w->cells_cap, (rows + 1) * ncols, sizeof *w->cells, 1024)) {
            rc = fail_nomem(t, w);
            break;
        }
        struct tvp_csv_field *c = w->cells + rows * ncols;
        for (size_t i = 0; i < ncols; i++) {
            c[i] = f[i];
            if ((uintptr_t)f[i].p - base >= span) {
                if (f[i].len == 0) {
                    c[i].p = w->buf + w->begin;
                } else if (!(c[i].p = arena_copy(w, f[i].p, f[i].len))) {
                    rc = fail_nomem(t, w);
                    break;
                }
            }
        }
        if (rc)
            break;
        rows++;
    }
    tvp_csv_reader_free(&r);
    if (!rc)
        w->rows = rows;
    w->t.parse = tvp_now() - t0;
    return rc;
}

/* The worker's FIT sets, one per encoded column, empty. */
static int ensure_sets(const struct tvp_lenc_table *t, struct tvp_lenc_worker *w)
{
    if (w->sets && w->nsets == t->nsel) {
        clear_sets(w, 0);
        return 0;
    }
    clear_sets(w, 1);
    free(w->sets);
    w->nsets = 0;
    w->sets = malloc((t->nsel ? t->nsel : 1) * sizeof *w->sets);
    if (!w->sets)
        return TVP_ENOMEM;
    w->nsets = t->nsel;
    for (size_t k = 0; k < t->nsel; k++)
        tvp_labels_init(&w->sets[k]);
    return 0;
}

/* INVERSE: the code a cell holds: decimal digits only (no sign, no spaces; leading zeros
 * are accepted, "007" is 7, as pandas reads such a column as integers), below count;
 * -1 otherwise. */
static int64_t parse_code(const char *p, size_t len, size_t count)
{
    if (len == 0)
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned d = (unsigned char)p[i] - (unsigned)'0';
        if (d > 9)
            return -1;
        v = v * 10 + d;
        if (v >= count)
            return -1; /* also keeps v from overflowing: count < 2^32 */
    }
    return (int64_t)v;
}

int tvp_lenc_worker_fit(const struct tvp_lenc_table *t, struct tvp_lenc_worker *w)
{
    double t0 = tvp_now();
    const size_t ncols = t->ncols, nsel = t->nsel;
    const uint64_t rows = w->rows;
    char s1[SHOW_CAP], s2[SHOW_CAP], s3[SHOW_CAP];
    int rc = 0;
    if (grow((void **)&w->ids, &w->ids_cap, rows * nsel, sizeof *w->ids, 1024))
        return fail_nomem(t, w);
    uint32_t *ids = w->ids;
    const struct tvp_csv_field *cells = w->cells;
    if (t->mode == TVP_LENC_FIT) {
        if (ensure_sets(t, w))
            return fail_nomem(t, w);
        /* row by row: the cells and the input are read once, in order (the sets of a few
         * columns together are small enough to stay in cache) */
        struct tvp_labels *sets = w->sets;
        const size_t *sel = t->sel;
        for (uint64_t i = 0; i < rows && !rc; i++) {
            const struct tvp_csv_field *row = cells + i * ncols;
            uint32_t *id = ids + i * nsel;
            for (size_t k = 0; k < nsel; k++) {
                const struct tvp_csv_field *f = &row[sel[k]];
                int64_t v = tvp_labels_insert(&sets[k], f->p, f->len);
                if (v < 0) {
                    if (v == TVP_ENOMEM)
                        rc = fail_nomem(t, w);
                    else
                        rc = fail(w, tvp_errorf(TVP_EINPUT, w->msg, sizeof w->msg,
                                                "%s:%" PRIu64 ": column %s: more than %" PRIu32
                                                " distinct labels",
                                                t->name, row_line(t, w, i),
                                                show_col(s1, sizeof s1, t, sel[k]),
                                                UINT32_MAX - 1));
                    break;
                }
                id[k] = (uint32_t)v;
            }
        }
    } else if (t->mode == TVP_LENC_TRANSFORM) {
        /* row by row, so that the first error is the first in the part */
        for (uint64_t i = 0; i < rows && !rc; i++) {
            const struct tvp_csv_field *row = cells + i * ncols;
            for (size_t k = 0; k < nsel; k++) {
                const struct tvp_csv_field *f = &row[t->sel[k]];
                int64_t v = tvp_labels_lookup(&t->classes[k], f->p, f->len);
                if (v < 0) {
                    rc = fail(w, tvp_errorf(TVP_EINPUT, w->msg, sizeof w->msg,
                                            "%s:%" PRIu64 ": column %s: unseen label %s (not in %s)",
                                            t->name, row_line(t, w, i),
                                            show_col(s1, sizeof s1, t, t->sel[k]),
                                            show(s2, sizeof s2, f->p, f->len), t->classes_name));
                    break;
                }
                ids[i * nsel + k] = (uint32_t)v;
            }
        }
    } else {
        for (uint64_t i = 0; i < rows && !rc; i++) {
            const struct tvp_csv_field *row = cells + i * ncols;
            for (size_t k = 0; k < nsel; k++) {
                const struct tvp_csv_field *f = &row[t->sel[k]];
                size_t count = tvp_labels_count(&t->classes[k]);
                int64_t v = parse_code(f->p, f->len, count);
                if (v < 0) {
                    if (count == 0)
                        snprintf(s3, sizeof s3, "the column has no classes");
                    else if (count == 1)
                        snprintf(s3, sizeof s3, "the column has 1 class, code 0");
                    else
                        snprintf(s3, sizeof s3, "the column has %zu classes, codes 0 to %zu",
                                 count, count - 1);
                    rc = fail(w, tvp_errorf(TVP_EINPUT, w->msg, sizeof w->msg,
                                            "%s:%" PRIu64 ": column %s: %s is not a code: %s",
                                            t->name, row_line(t, w, i),
                                            show_col(s1, sizeof s1, t, t->sel[k]),
                                            show(s2, sizeof s2, f->p, f->len), s3));
                    break;
                }
                ids[i * nsel + k] = (uint32_t)v;
            }
        }
    }
    w->t.fit = tvp_now() - t0;
    return rc;
}

int tvp_lenc_worker_encode(const struct tvp_lenc_table *t, struct tvp_lenc_worker *w,
                           const uint32_t *map)
{
    double t0 = tvp_now();
    if (t->mode == TVP_LENC_FIT) {
        const size_t nsel = t->nsel;
        const uint64_t rows = w->rows;
        for (size_t k = 0; k < nsel; k++) {
            uint32_t *id = w->ids + k;
            for (uint64_t i = 0; i < rows; i++, id += nsel)
                *id = map[*id];
            map += tvp_labels_count(&w->sets[k]);
        }
    }
    w->t.encode = tvp_now() - t0;
    return 0;
}

/* "00".."99" for writing codes two digits at a time */
static const char digits2[201] = "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
                                 "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
                                 "8081828384858687888990919293949596979899";

/* v in decimal at o (at most 10 bytes); returns the end */
static inline char *put_u32(char *o, uint32_t v)
{
    size_t n = v < 10 ? 1 : v < 100 ? 2 : v < 1000 ? 3 : v < 10000 ? 4 : v < 100000 ? 5
             : v < 1000000 ? 6 : v < 10000000 ? 7 : v < 100000000 ? 8 : v < 1000000000 ? 9 : 10;
    char *p = o + n;
    while (v >= 100) {
        uint32_t q = v / 100;
        p -= 2;
        memcpy(p, digits2 + 2 * (v - q * 100), 2);
        v = q;
    }
    if (v >= 10)
        memcpy(p - 2, digits2 + 2 * v, 2);
    else
        p[-1] = (char)('0' + v);
    return o + n;
}

int tvp_lenc_worker_format(const struct tvp_lenc_table *t, struct tvp_lenc_worker *w)
{
    double t0 = tvp_now();
    const size_t ncols = t->ncols, nsel = t->nsel;
    const char delim = t->delim;
    const int inverse = t->mode == TVP_LENC_INVERSE;
    /* codes are digits: written as they are, unless the delimiter is a digit (then
     * tvp_csv_put quotes them) */
    const int fast = !(delim >= '0' && delim <= '9');
    struct tvp_csv_buf *out = &w->out;
    out->len = 0;
    /* a first guess: the part's size */
    if (tvp_csv_buf_reserve(out, w->end - w->begin + 16))
        return fail_nomem(t, w);
    for (uint64_t i = 0; i < w->rows; i++) {
        const struct tvp_csv_field *row = w->cells + i * ncols;
        const uint32_t *id = w->ids + i * nsel;
        for (size_t c = 0; c < ncols; c++) {
            unsigned flags = (c == 0 ? TVP_CSV_FIRST : 0u) | (c + 1 == ncols ? TVP_CSV_LAST : 0u);
            int64_t k = t->sel_of[c];
            int rc;
            if (k < 0) {
                rc = tvp_csv_put(out, row[c].p, row[c].len, delim, flags);
            } else if (inverse) {
                struct tvp_label l = tvp_labels_get(&t->classes[k], id[k]);
                rc = tvp_csv_put(out, l.p, l.len, delim, flags);
            } else if (fast) {
                if ((rc = tvp_csv_buf_reserve(out, 12)) == 0) {
                    char *o = out->data + out->len;
                    if (!(flags & TVP_CSV_FIRST))
                        *o++ = delim;
                    o = put_u32(o, id[k]);
                    if (flags & TVP_CSV_LAST)
                        *o++ = '\n';
                    out->len = (size_t)(o - out->data);
                }
            } else {
                char d[10];
                size_t n = (size_t)(put_u32(d, id[k]) - d);
                rc = tvp_csv_put(out, d, n, delim, flags);
            }
            if (rc) {
                w->t.format = tvp_now() - t0;
                return fail_nomem(t, w);
            }
        }
    }
    w->t.format = tvp_now() - t0;
    return 0;
}

/* ---- merge ------------------------------------------------------------------------------------ */

size_t tvp_lenc_map_len(const struct tvp_lenc_table *t, const struct tvp_labels *sets)
{
    size_t n = 0;
    for (size_t k = 0; k < t->nsel; k++)
        n += tvp_labels_count(&sets[k]);
    return n;
}

int tvp_lenc_merge_column(const struct tvp_lenc_table *t, size_t k,
                          const struct tvp_labels *const *sets, int nworkers,
                          struct tvp_labels *classes, uint32_t *const *maps)
{
    size_t n = nworkers > 0 ? (size_t)nworkers : 0;
    const struct tvp_labels **col = malloc((n ? n : 1) * sizeof *col);
    uint32_t **m = malloc((n ? n : 1) * sizeof *m);
    if (!col || !m) {
        free(col);
        free(m);
        tvp_labels_init(classes);
        return TVP_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        col[i] = &sets[i][k];
        size_t off = 0;
        for (size_t j = 0; j < k && j < t->nsel; j++)
            off += tvp_labels_count(&sets[i][j]);
        m[i] = maps && maps[i] ? maps[i] + off : NULL;
    }
    int rc = tvp_labels_merge(classes, col, n, m);
    free(col);
    free(m);
    return rc;
}

/* ---- sets as bytes ---------------------------------------------------------------------------- */

static inline void put_le(char *o, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        o[i] = (char)(v >> (8 * i));
}

static inline uint64_t get_le(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

int tvp_lenc_pack_sets(const struct tvp_lenc_table *t, const struct tvp_labels *sets,
                       struct tvp_csv_buf *b)
{
    size_t need = 0;
    for (size_t k = 0; k < t->nsel; k++) {
        size_t n = tvp_labels_count(&sets[k]);
        need += 8;
        for (size_t j = 0; j < n; j++) {
            struct tvp_label l = tvp_labels_get(&sets[k], j);
            if (l.len > UINT32_MAX)
                return TVP_EINPUT;
            need += 4 + l.len;
        }
    }
    if (tvp_csv_buf_reserve(b, need))
        return TVP_ENOMEM;
    char *o = b->data + b->len;
    for (size_t k = 0; k < t->nsel; k++) {
        size_t n = tvp_labels_count(&sets[k]);
        put_le(o, n, 8);
        o += 8;
        for (size_t j = 0; j < n; j++) {
            struct tvp_label l = tvp_labels_get(&sets[k], j);
            put_le(o, l.len, 4);
            o += 4;
            if (l.len)
                memcpy(o, l.p, l.len);
            o += l.len;
        }
    }
    b->len = (size_t)(o - b->data);
    return 0;
}

int tvp_lenc_unpack_sets(const struct tvp_lenc_table *t, const void *p, size_t len,
                         struct tvp_labels *sets)
{
    const unsigned char *b = p;
    size_t pos = 0;
    int rc = 0;
    for (size_t k = 0; k < t->nsel; k++)
        tvp_labels_clear(&sets[k]);
    for (size_t k = 0; k < t->nsel && !rc; k++) {
        if (len - pos < 8) {
            rc = TVP_EINPUT;
            break;
        }
        uint64_t n = get_le(b + pos, 8);
        pos += 8;
        if (n > (len - pos) / 4) { /* each label takes 4 bytes at least */
            rc = TVP_EINPUT;
            break;
        }
        for (uint64_t j = 0; j < n; j++) {
            if (len - pos < 4) {
                rc = TVP_EINPUT;
                break;
            }
            uint64_t l = get_le(b + pos, 4);
            pos += 4;
            if (l > len - pos) {
                rc = TVP_EINPUT;
                break;
            }
            int64_t id = tvp_labels_insert(&sets[k], b + pos, (size_t)l);
            if (id < 0) {
                rc = (int)id;
                break;
            }
            if ((uint64_t)id != j) { /* a label twice */
                rc = TVP_EINPUT;
                break;
            }
            pos += (size_t)l;
        }
    }
    if (!rc && pos != len)
        rc = TVP_EINPUT; /* bytes after the last set */
    if (rc)
        for (size_t k = 0; k < t->nsel; k++)
            tvp_labels_clear(&sets[k]);
    return rc;
}

/* ---- the classes file --------------------------------------------------------------------------- */

int tvp_lenc_write_classes(const struct tvp_lenc_table *t, const struct tvp_labels *classes,
                           const char *path, char *err, size_t errlen)
{
    if (!classes)
        classes = t->classes;
    if (!classes && t->nsel)
        return tvp_errorf(TVP_EUSAGE, err, errlen, "%s: no classes to write", path);
    struct tvp_labels_column *cols = malloc((t->nsel ? t->nsel : 1) * sizeof *cols);
    if (!cols)
        return tvp_errorf(TVP_ENOMEM, err, errlen, "%s: out of memory", path);
    for (size_t k = 0; k < t->nsel; k++) {
        cols[k].name = tvp_labels_get(&t->names, t->sel[k]);
        cols[k].classes = &classes[k];
    }
    int rc = tvp_labels_write_json(path, cols, t->nsel, err, errlen);
    free(cols);
    return rc;
}

/* ---- the serial reference ------------------------------------------------------------------------ */

int tvp_lenc_reference(const struct tvp_lenc_table *t, const char *buf, size_t len,
                       struct tvp_csv_buf *out, struct tvp_labels *classes, char *err,
                       size_t errlen)
{
    struct tvp_lenc_worker w;
    struct tvp_labels *cl = NULL;
    uint32_t *map = NULL;
    int rc = 0;
    tvp_lenc_worker_init(&w);
    w.buf = buf;
    w.begin = t->data_begin;
    w.end = len;
    w.line = t->data_line;
    if (t->mode == TVP_LENC_FIT) {
        cl = classes;
        if (!cl && !(cl = malloc((t->nsel ? t->nsel : 1) * sizeof *cl)))
            rc = tvp_errorf(TVP_ENOMEM, err, errlen, "%s: out of memory", t->name);
        for (size_t k = 0; cl && k < t->nsel; k++)
            tvp_labels_init(&cl[k]);
    }
    if (!rc && (tvp_lenc_worker_parse(t, &w) || tvp_lenc_worker_fit(t, &w)))
        rc = tvp_errorf(w.err, err, errlen, "%s", w.msg);
    if (!rc && t->mode == TVP_LENC_FIT) {
        size_t n = tvp_lenc_map_len(t, w.sets);
        map = malloc((n ? n : 1) * sizeof *map);
        const struct tvp_labels *sets[1] = {w.sets};
        uint32_t *maps[1] = {map};
        if (!map)
            rc = TVP_ENOMEM;
        for (size_t k = 0; !rc && k < t->nsel; k++)
            rc = tvp_lenc_merge_column(t, k, sets, 1, &cl[k], maps);
        if (rc)
            rc = tvp_errorf(rc, err, errlen, "%s: out of memory", t->name);
    }
    if (!rc && (tvp_lenc_worker_encode(t, &w, map) || tvp_lenc_worker_format(t, &w)))
        rc = tvp_errorf(w.err, err, errlen, "%s", w.msg);
    if (!rc && (buf_add(out, t->header.data, t->header.len) || buf_add(out, w.out.data, w.out.len)))
        rc = tvp_errorf(TVP_ENOMEM, err, errlen, "%s: out of memory", t->name);
    free(map);
    if (cl && (rc || cl != classes)) {
        for (size_t k = 0; k < t->nsel; k++)
            tvp_labels_free(&cl[k]);
        if (cl != classes)
            free(cl);
    }
    tvp_lenc_worker_free(&w);
    return rc;
}
