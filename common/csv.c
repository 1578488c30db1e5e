/* CSV reader, splitter and writer.  See csv.h. */
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch.h"
#include "csv.h"

/* '\n' bytes in [p, e): a plain loop that gcc vectorizes */
static uint64_t count_lf(const char *p, const char *e)
{
    uint64_t n = 0;
    for (; p < e; p++)
        n += *p == '\n';
    return n;
}

/* The first byte in [p, e) that stops an unquoted field (delim, '"', CR, LF), or e: the
 * architecture's fast skip (arch.h), then the class table. */
static inline const char *scan_special(const char *p, const char *e, const unsigned char *cls,
                                       char delim)
{
    p = tvp_skip_none_of4(p, e, delim, '"', '\n', '\r');
    while (p < e && !cls[(unsigned char)*p])
        p++;
    return p;
}

/* What follows a field at *pp: another field (0; *pp past the delimiter), the end of the
 * record (1; *pp past its LF, CRLF or final CR, or at the end of the input), or a byte
 * that may not follow a field (-1; *pp on it). */
static int field_next(const char **pp, const char *e, char delim, uint64_t *line)
{
    const char *p = *pp;
    if (p == e)
        return 1;
    if (*p == delim) {
        *pp = p + 1;
        return 0;
    }
    if (*p == '\n') {
        *pp = p + 1;
        ++*line;
        return 1;
    }
    if (*p == '\r' && (p + 1 == e || p[1] == '\n')) {
        if (p + 1 < e)
            ++*line;
        *pp = p + (p + 1 < e ? 2 : 1);
        return 1;
    }
    return -1;
}

/* ---- reader ----------------------------------------------------------------------------- */

int tvp_csv_reader_init(struct tvp_csv_reader *r, const char *buf, size_t begin, size_t end,
                        char delim, uint64_t line)
{
    memset(r, 0, sizeof *r);
    if (delim == '"' || delim == '\n' || delim == '\r' || begin > end)
        return TVP_EUSAGE;
    r->buf = buf;
    r->pos = begin;
    r->end = end;
    r->line = line;
    r->delim = delim;
    r->cls[(unsigned char)delim] = 1;
    r->cls['\n'] = 1;
    r->cls['\r'] = 1;
    r->cls['"'] = 1;
    if (begin == 0 && end >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
        r->pos = 3;
    return 0;
}

void tvp_csv_reader_free(struct tvp_csv_reader *r)
{
    free(r->fields);
    free(r->soff);
    free(r->scratch);
    r->fields = NULL;
    r->soff = NULL;
    r->scratch = NULL;
    r->fcap = r->scap = 0;
}

static int grow_fields(struct tvp_csv_reader *r)
{
    size_t cap = r->fcap ? 2 * r->fcap : 16;
    struct tvp_csv_field *f = realloc(r->fields, cap * sizeof *f);
    if (!f)
        return TVP_ENOMEM;
    r->fields = f;
    size_t *o = realloc(r->soff, cap * sizeof *o);
    if (!o)
        return TVP_ENOMEM;
    r->soff = o;
    r->fcap = cap;
    return 0;
}

/* appends [p, p+n) to the scratch buffer at *slen */
static int scratch_add(struct tvp_csv_reader *r, size_t *slen, const char *p, size_t n)
{
    if (n == 0)
        return 0;
    if (r->scap - *slen < n) {
        size_t cap = r->scap ? r->scap : 256;
        while (cap - *slen < n)
            cap *= 2;
        char *s = realloc(r->scratch, cap);
        if (!s)
            return TVP_ENOMEM;
        r->scratch = s;
        r->scap = cap;
    }
    memcpy(r->scratch + *slen, p, n);
    *slen += n;
    return 0;
}

int tvp_csv_next(struct tvp_csv_reader *r, const struct tvp_csv_field **fields, char *err,
                 size_t errlen)
{
    const char *const e = r->buf + r->end;
    const char *p = r->buf + r->pos;
    const unsigned char *cls = r->cls;
    const char delim = r->delim;
    uint64_t line = r->line;

    /* blank lines are no record */
    for (;;) {
        if (p < e && *p == '\n') {
            p++;
            line++;
        } else if (e - p >= 2 && p[0] == '\r' && p[1] == '\n') {
            p += 2;
            line++;
        } else if (e - p == 1 && *p == '\r') {
            p++;
        } else {
            break;
        }
    }
    if (p >= e) {
        r->pos = r->end;
        r->line = line;
        return 0;
    }

    size_t n = 0, slen = 0, nesc = 0;
    int rc;
    for (;;) {
        if (n == r->fcap && (rc = grow_fields(r)) < 0)
            return rc;
        struct tvp_csv_field *f = &r->fields[n++];
        if (p < e && *p == '"') {
            /* quoted field */
            const char *start = p + 1, *seg = start, *q = start;
            int escaped = 0;
            size_t off = 0;
            for (;;) {
                const char *c = memchr(q, '"', (size_t)(e - q));
                if (!c) {
                    r->pos = (size_t)(e - r->buf);
                    return tvp_errorf(TVP_EINPUT, err, errlen,
                                "line %" PRIu64 ": unterminated quoted field", line);
                }
                if (c + 1 < e && c[1] == '"') {
                    if (!escaped) {
                        escaped = 1;
                        off = slen;
                    }
                    if ((rc = scratch_add(r, &slen, seg, (size_t)(c + 1 - seg))) < 0)
                        return rc;
                    seg = q = c + 2;
                    continue;
                }
                if (escaped) {
                    if ((rc = scratch_add(r, &slen, seg, (size_t)(c - seg))) < 0)
                        return rc;
                    f->p = NULL;
                    f->len = slen - off;
                    r->soff[n - 1] = off;
                    nesc++;
                } else {
                    f->p = start;
                    f->len = (size_t)(c - start);
                }
                line += count_lf(start, c);
                p = c + 1;
                break;
            }
            int next = field_next(&p, e, delim, &line);
            if (next == 0)
                continue;
            if (next == 1)
                break;
            r->pos = (size_t)(p - r->buf);
            return tvp_errorf(TVP_EINPUT, err, errlen,
                        "line %" PRIu64 ": text after a closing quote", line);
        }
        /* unquoted field: the fast path */
        const char *s = p;
        for (;;) {
            p = scan_special(p, e, cls, delim);
            /* a CR that ends no record is data */
            if (p < e && *p == '\r' && p + 1 < e && p[1] != '\n' && delim != '\r') {
                p++;
                continue;
            }
            break;
        }
        f->p = s;
        f->len = (size_t)(p - s);
        int next = field_next(&p, e, delim, &line);
        if (next == 0)
            continue;
        if (next == 1)
            break;
        /* *p == '"' */
        r->pos = (size_t)(p - r->buf);
        return tvp_errorf(TVP_EINPUT, err, errlen,
                    "line %" PRIu64 ": '\"' inside an unquoted field", line);
    }
    /* the scratch buffer is final now: point the escaped fields into it */
    if (nesc)
        for (size_t i = 0; i < n; i++)
            if (!r->fields[i].p)
                r->fields[i].p = r->scratch + r->soff[i];
    if (n > INT_MAX)
        return tvp_errorf(TVP_EINPUT, err, errlen, "line %" PRIu64 ": more than %d fields", r->line,
                    INT_MAX);
    r->pos = (size_t)(p - r->buf);
    r->line = line;
    *fields = r->fields;
    return (int)n;
}

/* ---- split ------------------------------------------------------------------------------ */

int tvp_csv_split(const char *buf, size_t len, size_t data_begin, uint64_t data_line,
                  int parts, struct tvp_csv_part *part)
{
    if (parts < 1 || data_begin > len)
        return TVP_EUSAGE;
    size_t size = len - data_begin;
    size_t pos = data_begin;   /* counted up to here */
    uint64_t quotes = 0;       /* '"' in [data_begin, pos) */
    uint64_t line = data_line; /* line number at pos */
    size_t cut = data_begin;   /* the previous cut */
    uint64_t cut_line = data_line;
    part[0].begin = data_begin;
    part[0].line = data_line;
    for (int k = 1; k < parts; k++) {
        /* the target, then the first record start at or after it */
        size_t t = data_begin + size / (size_t)parts * (size_t)k +
                   size % (size_t)parts * (size_t)k / (size_t)parts;
        if (t > cut) {
            /* count up to t-1: a record starts at t if buf[t-1] is a '\n' outside quotes */
            size_t upto = t - 1;
            uint64_t q = 0, nl = 0;
            for (size_t i = pos; i < upto; i++) {
                q += buf[i] == '"';
                nl += buf[i] == '\n';
            }
            quotes += q;
            line += nl;
            pos = upto;
            /* scan on for a '\n' outside quotes */
            size_t i = pos;
            for (; i < len; i++) {
                char c = buf[i];
                if (c == '"')
                    quotes++;
                else if (c == '\n') {
                    line++;
                    if (!(quotes & 1))
                        break;
                }
            }
            if (i < len) {
                cut = i + 1;
                pos = cut;
            } else {
                cut = len;
                pos = len;
            }
            cut_line = line;
        }
        part[k - 1].end = cut;
        part[k].begin = cut;
        part[k].line = cut_line;
    }
    part[parts - 1].end = len;
    return 0;
}

/* ---- writer ----------------------------------------------------------------------------- */

static int reserve(struct tvp_csv_buf *b, size_t more)
{
    if (b->cap - b->len >= more)
        return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->len < more) {
        if (cap > SIZE_MAX / 2)
            return TVP_ENOMEM;
        cap *= 2;
    }
    char *d = realloc(b->data, cap);
    if (!d)
        return TVP_ENOMEM;
    b->data = d;
    b->cap = cap;
    return 0;
}

int tvp_csv_put(struct tvp_csv_buf *b, const char *p, size_t len, char delim, unsigned flags)
{
    int quote = len == 0 && (flags & (TVP_CSV_FIRST | TVP_CSV_LAST)) ==
                                (TVP_CSV_FIRST | TVP_CSV_LAST);
    size_t nq = 0;
    for (size_t i = 0; i < len; i++) {
        char c = p[i];
        nq += c == '"';
        quote |= c == delim || c == '"' || c == '\r' || c == '\n';
    }
    if (len > SIZE_MAX / 4)
        return TVP_ENOMEM;
    size_t need = 1 + len + nq + 2 + 1;
    int rc = reserve(b, need);
    if (rc < 0)
        return rc;
    char *o = b->data + b->len;
    if (!(flags & TVP_CSV_FIRST))
        *o++ = delim;
    if (!quote) {
        if (len)
            memcpy(o, p, len);
        o += len;
    } else {
        *o++ = '"';
        if (!nq && len) {
            memcpy(o, p, len);
            o += len;
        } else {
            for (size_t i = 0; i < len; i++) {
                *o++ = p[i];
                if (p[i] == '"')
                    *o++ = '"';
            }
        }
        *o++ = '"';
    }
    if (flags & TVP_CSV_LAST)
        *o++ = '\n';
    b->len = (size_t)(o - b->data);
    return 0;
}

int tvp_csv_put_record(struct tvp_csv_buf *b, const struct tvp_csv_field *f, size_t n,
                       char delim)
{
    for (size_t i = 0; i < n; i++) {
        unsigned flags = (i == 0 ? TVP_CSV_FIRST : 0u) | (i + 1 == n ? TVP_CSV_LAST : 0u);
        int rc = tvp_csv_put(b, f[i].p, f[i].len, delim, flags);
        if (rc < 0)
            return rc;
    }
    return 0;
}
