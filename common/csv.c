/* CSV reader, splitter and writer.  See csv.h. */
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch.h"
#include "csv.h"

/* '\n' bytes in [p, e): 64 byte lanes of 8-bit counters, flushed every 255 rounds, which
 * gcc and clang turn into vector compares and subtracts */
static uint64_t count_lf(const char *p, const char *e)
{
    uint64_t n = 0;
    while (e - p >= 64) {
        unsigned char a[64] = {0};
        size_t rounds = (size_t)(e - p) / 64;
        if (rounds > 255)
            rounds = 255;
        for (size_t r = 0; r < rounds; r++, p += 64)
            for (int j = 0; j < 64; j++)
                a[j] += p[j] == '\n';
        for (int j = 0; j < 64; j++)
            n += a[j];
    }
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

_Static_assert(sizeof(struct tvp_csv_window) == 7 * sizeof(uint64_t),
               "struct tvp_csv_window: no padding, it travels as bytes");

#define ONES UINT64_C(0x0101010101010101)

/* 8 bytes as a little-endian word (gcc and clang make it one load where that is right) */
static inline uint64_t load_le64(const unsigned char *p)
{
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
           (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 |
           (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
}

/* '"' and '\n' bytes in [p, e), added to *q and *n: as count_lf */
static void count_qn(const char *p, const char *e, uint64_t *q, uint64_t *n)
{
    uint64_t nq = 0, nn = 0;
    while (e - p >= 64) {
        unsigned char aq[64] = {0}, an[64] = {0};
        size_t rounds = (size_t)(e - p) / 64;
        if (rounds > 255)
            rounds = 255;
        for (size_t r = 0; r < rounds; r++, p += 64)
            for (int j = 0; j < 64; j++) {
                aq[j] += p[j] == '"';
                an[j] += p[j] == '\n';
            }
        for (int j = 0; j < 64; j++) {
            nq += aq[j];
            nn += an[j];
        }
    }
    for (; p < e; p++) {
        nq += *p == '"';
        nn += *p == '\n';
    }
    *q += nq;
    *n += nn;
}

/* The scan of one window.  want: bit s set when cut[s] is wanted (an unwanted one is left
 * at TVP_CSV_NO_CUT).  stop: return as soon as the wanted cuts are found, the counts left
 * short (for the last window of tvp_csv_split, whose counts nothing reads then).
 *
 * A '\n' at local quote parity s (quotes since the window's start) is a record start for
 * the start state s, so the first '\n' of the window is one for one of the two states
 * (memchr, then the quotes before it), and the other state's is the first '\n' after it at
 * the other parity.  That one is sought 64 bytes at a time, a word at a time in them: per
 * byte the quotes before it (a prefix sum by one multiply) and from that the '\n's at the
 * parity sought; a byte loop goes over the rare block that holds one.  A block without
 * quotes that ends at the other parity hands over to memchr, which skips to the next '"'
 * (the '\n's skipped counted apart).  Then, or where no cut is wanted: plain counting. */
static void window_scan(const char *p, size_t len, struct tvp_csv_window *w, unsigned want,
                        int stop)
{
    const unsigned char *u = (const unsigned char *)p;
    const uint64_t H = ONES << 7;
    uint64_t qt = 0, nl = 0; /* quotes and '\n's in [0, i) */
    size_t i = 0;
    w->bytes = len;
    w->cut[0] = w->cut[1] = TVP_CSV_NO_CUT;
    w->cut_newlines[0] = w->cut_newlines[1] = 0;
    if (want == 3) { /* both: the first '\n' is one of them */
        const char *n1 = memchr(p, '\n', len);
        i = n1 ? (size_t)(n1 - p) : len;
        count_qn(p, p + i, &qt, &nl);
        if (n1) {
            w->cut[qt & 1] = i + 1;
            w->cut_newlines[qt & 1] = nl = 1;
            want ^= 1u << (qt & 1);
            i++;
        }
    }
    if (want == 1 || want == 2) {
        const uint64_t s = want >> 1;     /* the parity sought */
        const uint64_t s1 = s ^ 1;
        size_t found = 0;                 /* the cut + 1, once found */
        while (i < len && !found) {
            if ((qt & 1) != s) {          /* nothing to find before the next '"' */
                const char *q = memchr(p + i, '"', len - i);
                size_t e = q ? (size_t)(q - p) : len;
                nl += count_lf(p + i, p + e);
                qt += q != NULL;
                i = q ? e + 1 : len;
            }
            for (; len - i >= 64; i += 64) {
                uint64_t q0 = qt, n0 = nl, hit = 0, nacc = 0;
                /* (unrolled, gcc runs out of registers: 4.8 GB/s rolled, 3.9 unrolled) */
#pragma GCC unroll 1
                for (int k = 0; k < 8; k++) {
                    uint64_t x = load_le64(u + i + 8 * (size_t)k);
                    uint64_t tq = x ^ (ONES * '"'), tn = x ^ (ONES * '\n');
                    uint64_t qm = ~(((tq | H) - ONES) | tq) & H; /* 0x80 at each '"' */
                    uint64_t nm = ~(((tn | H) - ONES) | tn) & H; /* and at each '\n' */
                    uint64_t ps = (qm >> 7) * ONES; /* byte b: the '"'s in bytes 0..b */
                    /* bit 7 of byte b: (qt + ps_b) has parity s */
                    hit |= nm & ((ps ^ (0 - ((qt ^ s1) & 1))) << 7);
                    qt += ps >> 56;
                    nacc += nm >> 7;
                }
                nl += nacc * ONES >> 56;
                if (hit) {
                    uint64_t qq = q0, nn = n0;
                    for (size_t b = i; b < i + 64; b++) {
                        qq += u[b] == '"';
                        if (u[b] == '\n' && (++nn, (qq & 1) == s)) {
                            found = b + 2;
                            w->cut_newlines[s] = nn;
                            break;
                        }
                    }
                    i += 64;
                    break;
                }
                if (qt == q0 && (qt & 1) != s) {
                    i += 64;
                    break;
                }
            }
            if (!found && len - i < 64) { /* the tail, byte by byte */
                for (; i < len; i++) {
                    if (u[i] == '"') {
                        qt++;
                    } else if (u[i] == '\n') {
                        nl++;
                        if ((qt & 1) == s && !found) {
                            found = i + 2;
                            w->cut_newlines[s] = nl;
                            if (stop)
                                break;
                        }
                    }
                }
            }
        }
        if (found)
            w->cut[s] = found - 1;
        if (found && stop)
            return; /* the counts short: nothing reads them */
    }
    count_qn(p + i, p + len, &qt, &nl);
    w->quotes = qt;
    w->newlines = nl;
}

void tvp_csv_window_scan(const char *p, size_t len, struct tvp_csv_window *w)
{
    window_scan(p, len, w, 3, 0);
}

/* split's k-th target (0 < k < parts, data_begin <= len), in 64 bits: the product stays
 * below parts^2 < 2^62 also where size_t is narrower */
static size_t target(size_t len, size_t data_begin, int parts, int k)
{
    uint64_t size = len - data_begin, n = (uint64_t)parts, kk = (uint64_t)k;
    return data_begin + (size_t)(size / n * kk + size % n * kk / n);
}

size_t tvp_csv_window_begin(size_t len, size_t data_begin, int parts, int k)
{
    if (data_begin > len)
        data_begin = len;
    if (k <= 0)
        return data_begin;
    if (parts < 1 || k >= parts)
        return len;
    size_t t = target(len, data_begin, parts, k);
    return t > data_begin ? t - 1 : data_begin;
}

/* Window j's summary, asked for once per window and in order; parity: the quote state at
 * its start; search: whether its cut for that state is needed (else only its counts). */
typedef const struct tvp_csv_window *(*window_fn)(void *ctx, int j, unsigned parity,
                                                   int search);

/* The one definition of where the parts fall.  For target k beyond the previous cut, the
 * cut is the first record start in windows k, k+1, ... (window k begins at t - 1) at the
 * quote state there: the parity of the windows before.  A search starts at a window past
 * the previous cut's, so the windows are visited once, in order. */
static int cut_parts(window_fn get, void *ctx, size_t len, size_t data_begin,
                     uint64_t data_line, int parts, struct tvp_csv_part *part)
{
    size_t cut = data_begin; /* the previous cut and its line */
    uint64_t cut_line = data_line;
    int j = 0;               /* the next window; windows [0, j) are summed in q, nl */
    uint64_t q = 0, nl = 0;
    const struct tvp_csv_window *wj = NULL; /* window j, once asked for */
    part[0].begin = data_begin;
    part[0].line = data_line;
    for (int k = 1; k < parts; k++) {
        if (target(len, data_begin, parts, k) > cut) {
            for (;;) {
                if (j == parts) { /* no record start after the target */
                    cut = len;
                    cut_line = data_line + nl;
                    break;
                }
                if (!wj)
                    wj = get(ctx, j, (unsigned)(q & 1), j >= k);
                if (j >= k && wj->cut[q & 1] != TVP_CSV_NO_CUT) {
                    cut = tvp_csv_window_begin(len, data_begin, parts, j) +
                          (size_t)wj->cut[q & 1];
                    cut_line = data_line + nl + wj->cut_newlines[q & 1];
                    break;
                }
                q += wj->quotes;
                nl += wj->newlines;
                j++;
                wj = NULL;
            }
        }
        part[k - 1].end = cut;
        part[k].begin = cut;
        part[k].line = cut_line;
    }
    part[parts - 1].end = len;
    return 0;
}

static const struct tvp_csv_window *given_window(void *ctx, int j, unsigned parity,
                                                 int search)
{
    (void)parity, (void)search;
    return (const struct tvp_csv_window *)ctx + j;
}

int tvp_csv_cuts(const struct tvp_csv_window *w, size_t len, size_t data_begin,
                 uint64_t data_line, int parts, struct tvp_csv_part *part)
{
    if (parts < 1 || data_begin > len)
        return TVP_EUSAGE;
    for (int j = 0; j < parts; j++) {
        uint64_t bytes = tvp_csv_window_begin(len, data_begin, parts, j + 1) -
                         tvp_csv_window_begin(len, data_begin, parts, j);
        if (w[j].bytes != bytes || w[j].quotes > bytes || w[j].newlines > bytes - w[j].quotes)
            return TVP_EUSAGE;
        for (int s = 0; s < 2; s++)
            if (w[j].cut[s] == TVP_CSV_NO_CUT
                    ? w[j].cut_newlines[s] != 0
                    : w[j].cut[s] < 1 || w[j].cut[s] > bytes || w[j].cut_newlines[s] < 1 ||
                          w[j].cut_newlines[s] > w[j].newlines ||
                          w[j].cut_newlines[s] > w[j].cut[s])
                return TVP_EUSAGE;
    }
    return cut_parts(given_window, (void *)(uintptr_t)w, len, data_begin, data_line, parts,
                     part);
}

/* tvp_csv_split: the windows scanned in order as cut_parts asks for them, each for the
 * one quote state it starts in, the last one only up to its cut */
struct split_ctx {
    const char *buf;
    size_t len, data_begin;
    int parts;
    struct tvp_csv_window w;
};

static const struct tvp_csv_window *scan_window(void *ctx, int j, unsigned parity,
                                                int search)
{
    struct split_ctx *c = ctx;
    size_t b = tvp_csv_window_begin(c->len, c->data_begin, c->parts, j);
    size_t e = tvp_csv_window_begin(c->len, c->data_begin, c->parts, j + 1);
    window_scan(c->buf + b, e - b, &c->w, search ? 1u << parity : 0, j == c->parts - 1);
    return &c->w;
}

int tvp_csv_split(const char *buf, size_t len, size_t data_begin, uint64_t data_line,
                  int parts, struct tvp_csv_part *part)
{
    if (parts < 1 || data_begin > len)
        return TVP_EUSAGE;
    struct split_ctx c = {buf, len, data_begin, parts, {0}};
    return cut_parts(scan_window, &c, len, data_begin, data_line, parts, part);
}

/* ---- writer ----------------------------------------------------------------------------- */

int tvp_csv_buf_reserve(struct tvp_csv_buf *b, size_t more)
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
    int rc = tvp_csv_buf_reserve(b, need);
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
