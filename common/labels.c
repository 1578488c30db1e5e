/* Label sets, their merge into sorted classes, and the JSON classes file: see labels.h. */
#include "labels.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- hash: wyhash's structure (multiply-and-fold of 64-bit reads) ---------------------- */

#define H_K0 UINT64_C(0xa0761d6478bd642f)
#define H_K1 UINT64_C(0xe7037ed1a0b428db)
#define H_K2 UINT64_C(0x8ebc6af09c88c6e3)

static inline uint64_t rd8(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static inline uint64_t rd4(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static inline uint64_t mum(uint64_t a, uint64_t b)
{
    unsigned __int128 r = (unsigned __int128)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint64_t label_hash(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t seed = H_K0, a, b;
    if (len <= 16) {
        if (len >= 4) {
            size_t q = (len >> 3) << 2;
            a = (rd4(p) << 32) | rd4(p + q);
            b = (rd4(p + len - 4) << 32) | rd4(p + len - 4 - q);
        } else if (len > 0) {
            a = ((uint64_t)p[0] << 16) | ((uint64_t)p[len >> 1] << 8) | p[len - 1];
            b = 0;
        } else {
            a = b = 0;
        }
    } else {
        size_t i = len;
        while (i > 16) {
            seed = mum(rd8(p) ^ H_K1, rd8(p + 8) ^ seed);
            p += 16;
            i -= 16;
        }
        a = rd8(p + i - 16);
        b = rd8(p + i - 8);
    }
    return mum(H_K2 ^ len, mum(a ^ H_K1, b ^ seed));
}

/* ---- the set ----------------------------------------------------------------------------- */

#define SLOTS_MIN 16u
#define CHUNK_MIN ((size_t)4096)
#define CHUNK_MAX ((size_t)1 << 20)
#define LABELS_MAX ((size_t)UINT32_MAX - 1)

void tvp_labels_init(struct tvp_labels *s)
{
    memset(s, 0, sizeof *s);
}

struct tvp_labels_chunk {
    struct tvp_labels_chunk *next;
    size_t size;    /* of bytes */
    char bytes[];
};

void tvp_labels_free(struct tvp_labels *s)
{
    for (struct tvp_labels_chunk *c = s->chunks, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    free(s->items);
    free(s->slots);
    tvp_labels_init(s);
}

void tvp_labels_clear(struct tvp_labels *s)
{
    if (s->slots && s->count) /* an empty set's slots are all 0 already */
        memset(s->slots, 0, (s->mask + 1) * sizeof *s->slots);
    s->count = 0;
    s->last = NULL;
    s->cur = NULL;
    s->cur_left = 0;
}

int tvp_label_cmp(const void *a, size_t alen, const void *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    if (c)
        return c;
    return alen < blen ? -1 : alen > blen;
}

/* The slot of the label: the one holding it (*found = 1) or the empty one where it goes. */
static inline size_t probe(const struct tvp_labels *s, const void *p, size_t len, uint64_t h,
                           int *found)
{
    size_t i = (size_t)h & s->mask;
    uint64_t tag = h >> 32;
    for (;;) {
        uint64_t e = s->slots[i];
        if (!e) {
            *found = 0;
            return i;
        }
        if ((e >> 32) == tag) {
            const struct tvp_label *it = &s->items[(uint32_t)e - 1];
            if (it->len == len && (len == 0 || memcmp(it->p, p, len) == 0)) {
                *found = 1;
                return i;
            }
        }
        i = (i + 1) & s->mask;
    }
}

/* Fills a zeroed table of mask + 1 slots with items [0, count). */
static void rehash(struct tvp_labels *s)
{
    for (size_t id = 0; id < s->count; id++) {
        uint64_t h = label_hash(s->items[id].p, s->items[id].len);
        size_t i = (size_t)h & s->mask;
        while (s->slots[i])
            i = (i + 1) & s->mask;
        s->slots[i] = (h >> 32 << 32) | (uint64_t)(id + 1);
    }
}

static int grow_table(struct tvp_labels *s)
{
    size_t n = s->slots ? (s->mask + 1) * 2 : SLOTS_MIN;
    uint64_t *slots = calloc(n, sizeof *slots);
    if (!slots)
        return TVP_ENOMEM;
    free(s->slots);
    s->slots = slots;
    s->mask = n - 1;
    rehash(s);
    return 0;
}

/* A copy of the label's bytes in the arena, or NULL when out of memory.  The chunks are
 * filled in list order; one kept by tvp_labels_clear is filled again when the label fits
 * in it, and replaced by a larger one when it does not. */
static const char *arena_put(struct tvp_labels *s, const void *p, size_t len)
{
    if (len == 0)
        return "";
    if (len > s->cur_left) {
        struct tvp_labels_chunk **at = s->last ? &s->last->next : &s->chunks, *c = *at;
        if (!c || c->size < len) {
            size_t size = s->next_chunk ? s->next_chunk : CHUNK_MIN;
            s->next_chunk = size < CHUNK_MAX ? size * 2 : CHUNK_MAX;
            if (size < len)
                size = len;
            if (size > SIZE_MAX - sizeof *c)
                return NULL;
            struct tvp_labels_chunk *n = malloc(sizeof *n + size);
            if (!n)
                return NULL;
            n->size = size;
            n->next = c ? c->next : NULL;
            if (c)
                free(c); /* kept, but too small for this label */
            else
                s->nchunks++;
            *at = c = n;
        }
        s->last = c;
        s->cur = c->bytes;
        s->cur_left = c->size;
    }
    char *q = s->cur;
    memcpy(q, p, len);
    s->cur += len;
    s->cur_left -= len;
    return q;
}

int64_t tvp_labels_lookup(const struct tvp_labels *s, const void *p, size_t len)
{
    if (!s->count)
        return -1;
    uint64_t h = label_hash(p, len);
    size_t i = (size_t)h & s->mask;
    uint64_t tag = h >> 32;
    for (;;) {
        uint64_t e = s->slots[i];
        if (!e)
            return -1;
        if ((e >> 32) == tag) {
            uint32_t id = (uint32_t)e - 1;
            const struct tvp_label *it = &s->items[id];
            if (it->len == len && (len == 0 || memcmp(it->p, p, len) == 0))
                return id;
        }
        i = (i + 1) & s->mask;
    }
}

int64_t tvp_labels_insert(struct tvp_labels *s, const void *p, size_t len)
{
    int found;
    uint64_t h = label_hash(p, len);
    if (!s->slots && grow_table(s))
        return TVP_ENOMEM;
    size_t i = probe(s, p, len, h, &found);
    if (found)
        return (uint32_t)s->slots[i] - 1;
    if (s->count >= LABELS_MAX)
        return TVP_EINPUT;
    if (s->count + 1 > (s->mask + 1) / 2) {
        if (grow_table(s))
            return TVP_ENOMEM;
        i = probe(s, p, len, h, &found);
    }
    if (s->count == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        struct tvp_label *it = realloc(s->items, cap * sizeof *it);
        if (!it)
            return TVP_ENOMEM;
        s->items = it;
        s->cap = cap;
    }
    const char *q = arena_put(s, p, len);
    if (!q)
        return TVP_ENOMEM;
    size_t id = s->count++;
    s->items[id] = (struct tvp_label){q, len};
    s->slots[i] = (h >> 32 << 32) | (uint64_t)(id + 1);
    return (int64_t)id;
}

/* ---- sort and merge ------------------------------------------------------------------------ */

struct sort_ent {
    const char *p;
    size_t len;
    size_t id;
};

static int sort_ent_cmp(const void *a, const void *b)
{
    const struct sort_ent *x = a, *y = b;
    return tvp_label_cmp(x->p, x->len, y->p, y->len);
}

int tvp_labels_sort(struct tvp_labels *s, uint32_t *rank)
{
    size_t n = s->count;
    if (n == 0)
        return 0;
    struct sort_ent *e = malloc(n * sizeof *e);
    if (!e)
        return TVP_ENOMEM;
    for (size_t i = 0; i < n; i++)
        e[i] = (struct sort_ent){s->items[i].p, s->items[i].len, i};
    qsort(e, n, sizeof *e, sort_ent_cmp);
    for (size_t i = 0; i < n; i++) {
        s->items[i] = (struct tvp_label){e[i].p, e[i].len};
        if (rank)
            rank[e[i].id] = (uint32_t)i;
    }
    free(e);
    memset(s->slots, 0, (s->mask + 1) * sizeof *s->slots);
    rehash(s);
    return 0;
}

int tvp_labels_merge(struct tvp_labels *out, const struct tvp_labels *const *sets,
                     size_t nsets, uint32_t *const *maps)
{
    tvp_labels_init(out);
    for (size_t k = 0; k < nsets; k++) {
        uint32_t *map = maps ? maps[k] : NULL;
        for (size_t j = 0; j < sets[k]->count; j++) {
            int64_t id = tvp_labels_insert(out, sets[k]->items[j].p, sets[k]->items[j].len);
            if (id < 0) {
                tvp_labels_free(out);
                return (int)id;
            }
            if (map)
                map[j] = (uint32_t)id;
        }
    }
    uint32_t *rank = malloc((out->count ? out->count : 1) * sizeof *rank);
    if (!rank || tvp_labels_sort(out, rank)) {
        free(rank);
        tvp_labels_free(out);
        return TVP_ENOMEM;
    }
    for (size_t k = 0; k < nsets; k++) {
        uint32_t *map = maps ? maps[k] : NULL;
        if (map)
            for (size_t j = 0; j < sets[k]->count; j++)
                map[j] = rank[map[j]];
    }
    free(rank);
    return 0;
}

/* ---- UTF-8 ---------------------------------------------------------------------------------- */

/* See labels.h; show() in lenc.c uses it too. */
size_t tvp_utf8_seq(const unsigned char *p, size_t n)
{
    unsigned c = p[0];
    if (c < 0x80)
        return 1;
    size_t k;
    unsigned lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
        k = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        k = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        k = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else
        return 0;
    if (n < k || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < k; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    return k;
}

/* The offset of the first byte that is not valid UTF-8, or len. */
static size_t utf8_check(const void *data, size_t len)
{
    const unsigned char *p = data;
    size_t i = 0;
    while (i < len) {
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        size_t k = tvp_utf8_seq(p + i, len - i);
        if (!k)
            return i;
        i += k;
    }
    return len;
}

/* See labels.h. */
const char *tvp_label_show(char *dst, size_t cap, const void *data, size_t len, int quoted)
{
    const unsigned char *p = data;
    size_t o = 0, i = 0;
    if (quoted)
        dst[o++] = '"';
    while (i < len) {
        if (i >= 40 || o + 12 >= cap) {
            memcpy(dst + o, "...", 3);
            o += 3;
            break;
        }
        unsigned c = p[i];
        size_t k = c >= 0x80 ? tvp_utf8_seq(p + i, len - i) : 1;
        if (c == '"' || c == '\\') {
            dst[o++] = '\\';
            dst[o++] = (char)c;
            i++;
        } else if (c < 0x20 || c == 0x7F) {
            o += (size_t)snprintf(dst + o, cap - o, "\\u%04x", c);
            i++;
        } else if (c >= 0x80 && !k) {
            o += (size_t)snprintf(dst + o, cap - o, "\\x%02x", c);
            i++;
        } else {
            memcpy(dst + o, p + i, k);
            o += k;
            i += k;
        }
    }
    if (quoted)
        dst[o++] = '"';
    dst[o] = 0;
    return dst;
}

/* A label in a message, quoted. */
static const char *show(char *dst, size_t cap, const void *data, size_t len)
{
    return tvp_label_show(dst, cap, data, len, 1);
}

#define SHOW_CAP 80

/* ---- JSON writer ------------------------------------------------------------------------- */

struct obuf {
    char *d;
    size_t len, cap;
};

static int ob_put(struct obuf *b, const void *p, size_t n)
{
    if (n == 0)
        return 0;
    if (b->cap - b->len < n) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap - b->len < n)
            cap *= 2;
        char *d = realloc(b->d, cap);
        if (!d)
            return TVP_ENOMEM;
        b->d = d;
        b->cap = cap;
    }
    memcpy(b->d + b->len, p, n);
    b->len += n;
    return 0;
}

static int ob_str(struct obuf *b, const char *p, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    if (ob_put(b, "\"", 1))
        return TVP_ENOMEM;
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        if (ob_put(b, p + run, i - run))
            return TVP_ENOMEM;
        char e[6] = {'\\', (char)c, 0, 0, 0, 0};
        size_t n = 2;
        if (c < 0x20) {
            memcpy(e, "\\u00", 4);
            e[4] = hex[c >> 4];
            e[5] = hex[c & 15];
            n = 6;
        }
        if (ob_put(b, e, n))
            return TVP_ENOMEM;
        run = i + 1;
    }
    if (ob_put(b, p + run, len - run) || ob_put(b, "\"", 1))
        return TVP_ENOMEM;
    return 0;
}

static int build_json(const char *path, const struct tvp_labels_column *cols, size_t ncols,
                      struct obuf *b, char *err, size_t errlen)
{
    char s1[SHOW_CAP], s2[SHOW_CAP];
    struct tvp_labels names;
    tvp_labels_init(&names);
    int rc = 0;
    for (size_t c = 0; c < ncols && !rc; c++) {
        const struct tvp_label nm = cols[c].name;
        const struct tvp_labels *cl = cols[c].classes;
        size_t bad = utf8_check(nm.p, nm.len);
        if (bad < nm.len) {
            rc = tvp_errorf(TVP_EINPUT, err, errlen,
                            "%s: the name of column %zu, %s, is not valid UTF-8 (byte %zu)",
                            path, c, show(s1, sizeof s1, nm.p, nm.len), bad);
            break;
        }
        int64_t id = tvp_labels_insert(&names, nm.p, nm.len);
        if (id < 0) {
            rc = tvp_errorf(TVP_ENOMEM, err, errlen, "%s: out of memory", path);
            break;
        }
        if ((size_t)id != c) {
            rc = tvp_errorf(TVP_EINPUT, err, errlen, "%s: duplicate column %s", path,
                            show(s1, sizeof s1, nm.p, nm.len));
            break;
        }
        show(s1, sizeof s1, nm.p, nm.len);
        for (size_t i = 0; i < cl->count; i++) {
            const struct tvp_label l = cl->items[i];
            bad = utf8_check(l.p, l.len);
            if (bad < l.len) {
                rc = tvp_errorf(TVP_EINPUT, err, errlen,
                                "%s: column %s: class %zu, %s, is not valid UTF-8 (byte %zu)",
                                path, s1, i, show(s2, sizeof s2, l.p, l.len), bad);
                break;
            }
            if (i && tvp_label_cmp(cl->items[i - 1].p, cl->items[i - 1].len, l.p, l.len) >= 0) {
                rc = tvp_errorf(TVP_EINPUT, err, errlen,
                                "%s: column %s: class %zu, %s, does not sort after class %zu: "
                                "not sorted as LabelEncoder's classes_",
                                path, s1, i, show(s2, sizeof s2, l.p, l.len), i - 1);
                break;
            }
        }
    }
    tvp_labels_free(&names);
    if (rc)
        return rc;
    rc = ob_put(b, ncols ? "{\n" : "{", ncols ? 2 : 1);
    for (size_t c = 0; c < ncols && !rc; c++) {
        const struct tvp_labels *cl = cols[c].classes;
        rc = ob_put(b, "  ", 2);
        rc = rc ? rc : ob_str(b, cols[c].name.p, cols[c].name.len);
        rc = rc ? rc : ob_put(b, ": [", 3);
        for (size_t i = 0; i < cl->count && !rc; i++) {
            if (i)
                rc = ob_put(b, ", ", 2);
            rc = rc ? rc : ob_str(b, cl->items[i].p, cl->items[i].len);
        }
        rc = rc ? rc : ob_put(b, c + 1 < ncols ? "],\n" : "]\n", c + 1 < ncols ? 3 : 2);
    }
    rc = rc ? rc : ob_put(b, "}\n", 2);
    if (rc)
        return tvp_errorf(TVP_ENOMEM, err, errlen, "%s: out of memory", path);
    return 0;
}

int tvp_labels_write_json(const char *path, const struct tvp_labels_column *cols,
                          size_t ncols, char *err, size_t errlen)
{
    struct obuf b = {0};
    int rc = build_json(path, cols, ncols, &b, err, errlen);
    if (rc) {
        free(b.d);
        return rc;
    }
    struct tvp_atomic a;
    rc = tvp_atomic_open(&a, path);
    if (rc == 0) {
        errno = 0;
        int wrote = fwrite(b.d, 1, b.len, a.f) == b.len, e = errno ? errno : EIO;
        rc = tvp_atomic_close(&a, wrote);
        if (rc == 0 && !wrote) {
            rc = TVP_ESYS;
            errno = e;
        }
    }
    if (rc)
        rc = tvp_errorf(rc, err, errlen, "%s: cannot write: %s", path,
                        rc == TVP_ENOMEM ? "out of memory" : strerror(errno));
    free(b.d);
    return rc;
}

/* ---- JSON reader ------------------------------------------------------------------------ */

struct jp {
    const unsigned char *b;
    size_t len, pos;
    const char *fname;
    char *err;
    size_t errlen;
    char *sc; /* the string being read, decoded */
    size_t slen, scap;
};

__attribute__((format(printf, 3, 4))) static int jp_fail(struct jp *j, size_t at,
                                                         const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    size_t line = 1;
    for (size_t i = 0; i < at && i < j->len; i++)
        line += j->b[i] == '\n';
    return tvp_errorf(TVP_EINPUT, j->err, j->errlen, "%s:%zu: %s", j->fname, line, msg);
}

static void jp_ws(struct jp *j)
{
    while (j->pos < j->len) {
        unsigned char c = j->b[j->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            return;
        j->pos++;
    }
}

/* Skips whitespace; 1 (and consumes it) when the next byte is c. */
static int jp_eat(struct jp *j, unsigned char c)
{
    jp_ws(j);
    if (j->pos < j->len && j->b[j->pos] == c) {
        j->pos++;
        return 1;
    }
    return 0;
}

static int jp_add(struct jp *j, const void *p, size_t n)
{
    if (n == 0)
        return 0;
    if (j->scap - j->slen < n) {
        size_t cap = j->scap ? j->scap : 256;
        while (cap - j->slen < n)
            cap *= 2;
        char *d = realloc(j->sc, cap);
        if (!d)
            return tvp_errorf(TVP_ENOMEM, j->err, j->errlen, "%s: out of memory", j->fname);
        j->sc = d;
        j->scap = cap;
    }
    memcpy(j->sc + j->slen, p, n);
    j->slen += n;
    return 0;
}

static int hex4(const unsigned char *p, unsigned *v)
{
    unsigned r = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = p[i], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return -1;
        r = r * 16 + d;
    }
    *v = r;
    return 0;
}

/* The string whose opening quote is at j->pos, decoded into j->sc[0, j->slen). */
static int jp_string(struct jp *j)
{
    size_t start = j->pos++;
    j->slen = 0;
    int rc;
    for (;;) {
        size_t run = j->pos;
        while (j->pos < j->len) {
            unsigned char c = j->b[j->pos];
            if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80)
                break;
            j->pos++;
        }
        if ((rc = jp_add(j, j->b + run, j->pos - run)))
            return rc;
        if (j->pos >= j->len)
            return jp_fail(j, start, "unterminated string");
        unsigned char c = j->b[j->pos];
        if (c == '"') {
            j->pos++;
            return 0;
        }
        if (c < 0x20)
            return jp_fail(j, j->pos,
                           "raw control character 0x%02x in a string (write it as \\u%04x)", c,
                           c);
        if (c >= 0x80) {
            size_t k = tvp_utf8_seq(j->b + j->pos, j->len - j->pos);
            if (!k)
                return jp_fail(j, j->pos, "invalid UTF-8 in a string (byte 0x%02x)", c);
            if ((rc = jp_add(j, j->b + j->pos, k)))
                return rc;
            j->pos += k;
            continue;
        }
        /* a backslash */
        size_t at = j->pos;
        if (j->pos + 1 >= j->len)
            return jp_fail(j, start, "unterminated string");
        unsigned char e = j->b[j->pos + 1];
        const char *simple = strchr("\"\\/bfnrt", e);
        if (e && simple) {
            static const char to[] = "\"\\/\b\f\n\r\t";
            j->pos += 2;
            if ((rc = jp_add(j, &to[simple - "\"\\/bfnrt"], 1)))
                return rc;
            continue;
        }
        if (e != 'u')
            return jp_fail(j, at, "bad escape in a string");
        unsigned cp, lo;
        if (j->len - j->pos < 6 || hex4(j->b + j->pos + 2, &cp))
            return jp_fail(j, at, "bad \\u escape (\\u and four hex digits)");
        j->pos += 6;
        if (cp >= 0xDC00 && cp <= 0xDFFF)
            return jp_fail(j, at, "lone surrogate \\u%04x in a string", cp);
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (j->len - j->pos < 6 || j->b[j->pos] != '\\' || j->b[j->pos + 1] != 'u' ||
                hex4(j->b + j->pos + 2, &lo) || lo < 0xDC00 || lo > 0xDFFF)
                return jp_fail(j, at, "lone surrogate \\u%04x in a string", cp);
            j->pos += 6;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        unsigned char u[4];
        size_t n;
        if (cp < 0x80) {
            u[0] = (unsigned char)cp;
            n = 1;
        } else if (cp < 0x800) {
            u[0] = (unsigned char)(0xC0 | cp >> 6);
            u[1] = (unsigned char)(0x80 | (cp & 0x3F));
            n = 2;
        } else if (cp < 0x10000) {
            u[0] = (unsigned char)(0xE0 | cp >> 12);
            u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
            u[2] = (unsigned char)(0x80 | (cp & 0x3F));
            n = 3;
        } else {
            u[0] = (unsigned char)(0xF0 | cp >> 18);
            u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
            u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
            u[3] = (unsigned char)(0x80 | (cp & 0x3F));
            n = 4;
        }
        if ((rc = jp_add(j, u, n)))
            return rc;
    }
}

static int jp_nomem(struct jp *j)
{
    return tvp_errorf(TVP_ENOMEM, j->err, j->errlen, "%s: out of memory", j->fname);
}

static int jp_file(struct jp *j, struct tvp_labels_file *f)
{
    char s1[SHOW_CAP], s2[SHOW_CAP];
    size_t ncap = 0;
    int rc;
    if (j->len == 0)
        return tvp_errorf(TVP_EINPUT, j->err, j->errlen, "%s: empty file", j->fname);
    if (!jp_eat(j, '{'))
        return jp_fail(j, j->pos, "expected '{'");
    if (!jp_eat(j, '}')) {
        for (;;) {
            if (!jp_eat(j, '"'))
                return jp_fail(j, j->pos, "expected '\"' (a column name)");
            j->pos--;
            size_t name_at = j->pos;
            if ((rc = jp_string(j)))
                return rc;
            size_t c = f->names.count;
            if (tvp_labels_lookup(&f->names, j->sc, j->slen) >= 0)
                return jp_fail(j, name_at, "duplicate column %s",
                               show(s1, sizeof s1, j->sc, j->slen));
            if (c == ncap) {
                size_t cap = ncap ? ncap * 2 : 8;
                struct tvp_labels *cl = realloc(f->classes, cap * sizeof *cl);
                if (!cl)
                    return jp_nomem(j);
                f->classes = cl;
                ncap = cap;
            }
            tvp_labels_init(&f->classes[c]);
            if (tvp_labels_insert(&f->names, j->sc, j->slen) < 0)
                return jp_nomem(j);
            struct tvp_labels *cl = &f->classes[c];
            show(s1, sizeof s1, f->names.items[c].p, f->names.items[c].len);
            if (!jp_eat(j, ':'))
                return jp_fail(j, j->pos, "expected ':'");
            if (!jp_eat(j, '['))
                return jp_fail(j, j->pos, "expected '[' (column %s's classes)", s1);
            if (!jp_eat(j, ']')) {
                for (;;) {
                    if (!jp_eat(j, '"'))
                        return jp_fail(j, j->pos, "expected '\"' (a class)");
                    j->pos--;
                    size_t at = j->pos;
                    if ((rc = jp_string(j)))
                        return rc;
                    size_t i = cl->count;
                    if (i) {
                        struct tvp_label prev = cl->items[i - 1];
                        int cmp = tvp_label_cmp(prev.p, prev.len, j->sc, j->slen);
                        if (cmp >= 0)
                            return jp_fail(j, at,
                                           "column %s: class %zu, %s, %s class %zu: not sorted "
                                           "as LabelEncoder's classes_",
                                           s1, i, show(s2, sizeof s2, j->sc, j->slen),
                                           cmp ? "sorts before" : "repeats", i - 1);
                    }
                    if (tvp_labels_insert(cl, j->sc, j->slen) < 0)
                        return jp_nomem(j);
                    if (jp_eat(j, ']'))
                        break;
                    if (!jp_eat(j, ','))
                        return jp_fail(j, j->pos, "expected ',' or ']'");
                }
            }
            if (jp_eat(j, '}'))
                break;
            if (!jp_eat(j, ','))
                return jp_fail(j, j->pos, "expected ',' or '}'");
        }
    }
    jp_ws(j);
    if (j->pos != j->len)
        return jp_fail(j, j->pos, "trailing garbage after the object");
    return 0;
}

void tvp_labels_file_free(struct tvp_labels_file *f)
{
    for (size_t i = 0; i < f->names.count; i++)
        tvp_labels_free(&f->classes[i]);
    free(f->classes);
    f->classes = NULL;
    tvp_labels_free(&f->names);
}

int tvp_labels_parse_json(const char *buf, size_t len, const char *fname,
                          struct tvp_labels_file *f, char *err, size_t errlen)
{
    tvp_labels_init(&f->names);
    f->classes = NULL;
    struct jp j = {(const unsigned char *)buf, len, 0, fname, err, errlen, NULL, 0, 0};
    int rc = jp_file(&j, f);
    free(j.sc);
    if (rc)
        tvp_labels_file_free(f);
    return rc;
}

int tvp_labels_read_json(const char *path, struct tvp_labels_file *f, char *err,
                         size_t errlen)
{
    tvp_labels_init(&f->names);
    f->classes = NULL;
    char *buf;
    size_t len;
    int rc = tvp_read_file(path, "a classes file", &buf, &len, err, errlen);
    if (rc)
        return rc;
    rc = tvp_labels_parse_json(buf, len, path, f, err, errlen);
    free(buf);
    return rc;
}
