/* The generated table of the labelencode workload (no --in).  See lenc.h.
 *
 * Row i, column c: a counter-based hash of (seed, i, c) picks the label's rank r in
 * [0, cardinality): uniformly for skew 0, otherwise by binary search in the cumulative
 * Zipf weights (rank r has weight 1/(r+1)^skew).  The rank becomes the column's label in
 * two steps, both bijections, so distinct ranks give distinct labels:
 *
 *   v = (r * a_c + b_c) mod cardinality     a_c coprime to the cardinality (per column)
 *   label(v) = "" for v == 0 when the cardinality is at least GEN_EMPTY_MIN, otherwise
 *              the base-128 digits of v, least significant first, as many as v needs
 *              (at least one), each digit d at position k written as the word
 *              WORDS[perm_{c,k}(d)], the words joined by single spaces.
 *
 * No word is empty or holds a space, and the words are distinct, so the label splits back
 * into its words, hence its digits, hence v: label is injective.  perm_{c,k} is a keyed
 * bijection of 7 bits, so each column (and digit position) has its own vocabulary, and
 * neither byte order nor frequency order follows v or r.  A few words hold a comma or a
 * '"' (quoted by the writer), a few are not ASCII; no word holds CR or LF. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lenc.h"

#define GEN_MAX_COLUMNS 4096u
#define GEN_MAX_CARDINALITY (UINT32_C(1) << 31)
#define GEN_EMPTY_MIN 20u /* cardinalities from here on have the empty label (v == 0) */
#define GEN_DIGITS 5      /* base-128 digits of v < 2^31 */
#define GOLDEN UINT64_C(0x9e3779b97f4a7c15)
/* The guide to the weights: guide[j] = the first rank whose cumulative weight is above
 * j / GUIDE, so a draw u in [j / GUIDE, (j + 1) / GUIDE) has its rank in
 * [guide[j], guide[j + 1]]: a short search instead of one over every rank.  It lies in
 * the same allocation, after the weights. */
#define GUIDE_BITS 12
#define GUIDE (1u << GUIDE_BITS)

struct word {
    const char *s;
    unsigned char len;
};
#define W(s) {s, sizeof(s) - 1}

/* 128 distinct words, none empty or holding a space, CR or LF; each at most 16 bytes */
static const struct word WORDS[] = {
    W("red"),       W("green"),     W("blue"),      W("amber"),    W("crimson"),
    W("teal"),      W("violet"),    W("ochre"),     W("ivory"),    W("slate"),
    W("falcon"),    W("otter"),     W("badger"),    W("heron"),    W("lynx"),
    W("walrus"),    W("gecko"),     W("marten"),    W("osprey"),   W("bison"),
    W("oak"),       W("maple"),     W("birch"),     W("cedar"),    W("willow"),
    W("spruce"),    W("hazel"),     W("juniper"),   W("acacia"),   W("sequoia"),
    W("Berlin"),    W("Lisbon"),    W("Oslo"),      W("Nairobi"),  W("Santiago"),
    W("Toronto"),   W("Hanoi"),     W("Perth"),     W("Dakar"),    W("Quito"),
    W("wood"),      W("metal"),     W("plastic"),   W("glass"),    W("ceramic"),
    W("granite"),   W("leather"),   W("copper"),    W("bronze"),   W("nylon"),
    W("small"),     W("medium"),    W("large"),     W("tiny"),     W("huge"),
    W("compact"),   W("oversized"), W("standard"),  W("premium"),  W("economy"),
    W("apple"),     W("mango"),     W("papaya"),    W("quince"),   W("apricot"),
    W("lychee"),    W("kumquat"),   W("tangerine"), W("plum"),     W("fig"),
    W("north"),     W("south"),     W("east"),      W("west"),     W("upstream"),
    W("downtown"),  W("harbor"),    W("uptown"),    W("riverside"), W("midtown"),
    W("alpha"),     W("bravo"),     W("charlie"),   W("delta"),    W("echo"),
    W("foxtrot"),   W("golf"),      W("hotel"),     W("india"),    W("juliet"),
    W("pending"),   W("shipped"),   W("returned"),  W("cancelled"), W("delivered"),
    W("refunded"),  W("archived"),  W("on-hold"),   W("in_transit"), W("backorder"),
    /* for the writer: a comma or a '"' (quoted), an apostrophe (not quoted) */
    W("1,000"),     W("Smith,J."),  W("12\""),      W("\"best\""), W("a,b,c"),
    W("O'Neil"),
    /* not ASCII: 2-, 3- and 4-byte UTF-8 sequences */
    W("caf\xc3\xa9"),                          /* café */
    W("M\xc3\xbcller"),                        /* Müller */
    W("na\xc3\xafve"),                         /* naïve */
    W("\xe6\x97\xa5\xe6\x9c\xac"),             /* 日本 */
    W("\xe6\x9d\xb1\xe4\xba\xac\xe9\x83\xbd"), /* 東京都 */
    W("\xf0\x9f\x9a\x80"),                     /* rocket emoji */
    W("S\xc3\xa3o_Paulo"),                     /* São_Paulo */
    W("Z\xc3\xbcrich"),                        /* Zürich */
    W("cr\xc3\xa8me"),                         /* crème */
    W("\xce\x95\xce\xbb\xce\xbb\xce\xac\xce\xb4\xce\xb1"), /* Ελλάδα */
    W("\xce\xa9mega"),                         /* Ωmega */
    W("jalape\xc3\xb1o"),                      /* jalapeño */
    W("quartz"),    W("zephyr"),    W("nebula"),    W("pixel"),    W("vortex"),
    W("tundra"),    W("savanna"),   W("lagoon"),    W("glacier"),  W("canyon"),
};
_Static_assert(sizeof WORDS / sizeof WORDS[0] == 128, "128 words: 7 bits a digit");
#define WORD_MAX 16
#define LABEL_MAX (GEN_DIGITS * (WORD_MAX + 1))

/* splitmix64's output function (a bijection of 64 bits) */
static inline uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* a keyed bijection of [0, 128): each step (add, multiply by an odd number, xor with a
 * right shift, all mod 128) is one */
static inline unsigned perm7(unsigned x, uint32_t k)
{
    x = (x + k) & 127u;
    x = (x * ((k >> 7) | 1u)) & 127u;
    x ^= x >> 3;
    x = (x * ((k >> 14) | 1u)) & 127u;
    x ^= x >> 4;
    return (x + (k >> 21)) & 127u;
}

/* what a column needs, derived from (seed, column) */
struct gen_col {
    uint64_t key;           /* the rank hash's key */
    uint64_t a, b;          /* v = (r * a + b) mod cardinality */
    uint32_t wk[GEN_DIGITS]; /* perm7 keys of the digit positions */
};

static uint64_t gcd64(uint64_t x, uint64_t y)
{
    while (y) {
        uint64_t t = x % y;
        x = y;
        y = t;
    }
    return x;
}

static void gen_col_init(const struct tvp_lenc_gen *g, uint32_t c, struct gen_col *p)
{
    uint64_t card = g->cardinality;
    uint64_t k = mix64(g->seed ^ mix64(((uint64_t)c + 1) * UINT64_C(0xd1b54a32d192ed03)));
    p->key = k;
    uint64_t k2 = mix64(k + GOLDEN);
    p->b = k2 % card;
    uint64_t a = mix64(k2 + GOLDEN) % card;
    if (a == 0)
        a = 1;
    while (gcd64(a, card) != 1) /* a coprime exists: 1 */
        a = a + 1 < card ? a + 1 : 1;
    p->a = a;
    uint64_t k3 = mix64(k2 + 2 * GOLDEN), k4 = mix64(k2 + 3 * GOLDEN);
    p->wk[0] = (uint32_t)k3;
    p->wk[1] = (uint32_t)(k3 >> 32);
    p->wk[2] = (uint32_t)k4;
    p->wk[3] = (uint32_t)(k4 >> 32);
    p->wk[4] = (uint32_t)mix64(k2 + 4 * GOLDEN);
}

/* the label of value v of a column into o (LABEL_MAX bytes); its length */
static inline size_t gen_label(char *o, uint64_t v, const struct gen_col *p, int has_empty)
{
    if (v == 0 && has_empty)
        return 0;
    char *s = o;
    int k = 0;
    do {
        const struct word *w = &WORDS[perm7((unsigned)(v & 127u), p->wk[k])];
        if (k)
            *o++ = ' ';
        memcpy(o, w->s, w->len);
        o += w->len;
        v >>= 7;
        k++;
    } while (v);
    return (size_t)(o - s);
}

int tvp_lenc_gen_init(struct tvp_lenc_gen *g, char *err, size_t errlen)
{
    g->cdf = NULL;
    if (g->columns < 1 || g->columns > GEN_MAX_COLUMNS)
        return tvp_errorf(TVP_EUSAGE, err, errlen,
                          "--columns-count %u: must be between 1 and %u", g->columns,
                          GEN_MAX_COLUMNS);
    if (g->cardinality < 1 || g->cardinality > GEN_MAX_CARDINALITY)
        return tvp_errorf(TVP_EUSAGE, err, errlen,
                          "--cardinality %u: must be between 1 and %u", g->cardinality,
                          GEN_MAX_CARDINALITY);
    if (!isfinite(g->skew) || g->skew < 0)
        return tvp_errorf(TVP_EUSAGE, err, errlen,
                          "--skew %g: must be a finite number >= 0", g->skew);
    if (g->delim == '"' || g->delim == '\r' || g->delim == '\n')
        return tvp_errorf(TVP_EUSAGE, err, errlen,
                          "--delimiter: may not be '\"', CR or LF");
    if (g->skew == 0)
        return 0; /* uniform: no weights needed */
    size_t n = g->cardinality;
    /* the weights, then the guide (GUIDE + 1 ranks) */
    double *cdf = malloc(n * sizeof *cdf + (GUIDE + 1) * sizeof(uint32_t));
    if (!cdf)
        return tvp_errorf(TVP_ENOMEM, err, errlen,
                          "--cardinality %u: out of memory for the weights (%zu MiB)",
                          g->cardinality, n * sizeof *cdf >> 20);
    double sum = 0;
    for (size_t r = 0; r < n; r++) {
        sum += pow((double)(r + 1), -g->skew);
        cdf[r] = sum;
    }
    for (size_t r = 0; r < n; r++)
        cdf[r] /= sum; /* nondecreasing, as the partial sums */
    cdf[n - 1] = 1.0;  /* above every u in [0, 1) */
    uint32_t *guide = (uint32_t *)(cdf + n), r = 0;
    for (uint32_t j = 0; j <= GUIDE; j++) {
        while (r < n - 1 && cdf[r] <= (double)j / GUIDE)
            r++;
        guide[j] = r;
    }
    g->cdf = cdf;
    return 0;
}

void tvp_lenc_gen_free(struct tvp_lenc_gen *g)
{
    free(g->cdf);
    g->cdf = NULL;
}

int tvp_lenc_gen_header(const struct tvp_lenc_gen *g, struct tvp_csv_buf *out)
{
    if (g->columns < 1 || g->columns > GEN_MAX_COLUMNS)
        return TVP_EUSAGE;
    size_t len0 = out->len;
    for (uint32_t c = 0; c < g->columns; c++) {
        char name[16], *e = name + sizeof name, *p = e;
        uint32_t v = c;
        do {
            *--p = (char)('0' + v % 10);
            v /= 10;
        } while (v);
        *--p = 'c';
        unsigned flags = (c == 0 ? TVP_CSV_FIRST : 0u) | (c + 1 == g->columns ? TVP_CSV_LAST : 0u);
        int rc = tvp_csv_put(out, p, (size_t)(e - p), g->delim, flags);
        if (rc < 0) {
            out->len = len0;
            return rc;
        }
    }
    return 0;
}

int tvp_lenc_gen_rows(const struct tvp_lenc_gen *g, uint64_t b, uint64_t e,
                      struct tvp_csv_buf *out)
{
    if (b > e || e > g->rows || g->columns < 1 || g->columns > GEN_MAX_COLUMNS ||
        g->cardinality < 1 || g->cardinality > GEN_MAX_CARDINALITY ||
        (g->skew != 0 && !g->cdf))
        return TVP_EUSAGE;
    if (b == e)
        return 0;
    const uint32_t ncol = g->columns;
    struct gen_col *cols = malloc(ncol * sizeof *cols);
    if (!cols)
        return TVP_ENOMEM;
    for (uint32_t c = 0; c < ncol; c++)
        gen_col_init(g, c, &cols[c]);
    const uint64_t card = g->cardinality;
    const double *cdf = g->cdf;
    const uint32_t *guide = cdf ? (const uint32_t *)(cdf + card) : NULL;
    const int has_empty = card >= GEN_EMPTY_MIN;
    const char delim = g->delim;
    size_t len0 = out->len;
    int rc = 0;
    char label[LABEL_MAX];
    for (uint64_t i = b; i < e && rc == 0; i++) {
        const uint64_t base = (i + 1) * GOLDEN;
        for (uint32_t c = 0; c < ncol; c++) {
            const struct gen_col *p = &cols[c];
            uint64_t h = mix64(base ^ p->key), r;
            if (!cdf) {
                r = ((h >> 32) * card) >> 32;
            } else { /* the first rank whose cumulative weight is above u */
                uint64_t m = h >> 11, j = m >> (53 - GUIDE_BITS);
                double u = (double)m * 0x1.0p-53; /* in [j / GUIDE, (j + 1) / GUIDE) */
                uint64_t lo = guide[j], hi = guide[j + 1];
                while (lo < hi) {
                    uint64_t mid = lo + (hi - lo) / 2;
                    if (cdf[mid] > u)
                        hi = mid;
                    else
                        lo = mid + 1;
                }
                r = lo;
            }
            uint64_t v = (r * p->a + p->b) % card;
            size_t len = gen_label(label, v, p, has_empty);
            unsigned flags = (c == 0 ? TVP_CSV_FIRST : 0u) | (c + 1 == ncol ? TVP_CSV_LAST : 0u);
            rc = tvp_csv_put(out, label, len, delim, flags);
            if (rc < 0)
                break;
        }
    }
    free(cols);
    if (rc < 0)
        out->len = len0;
    return rc;
}
