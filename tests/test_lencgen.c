/* Unit tests of common/lenc_gen.c, the generated table of the labelencode workload:
 * determinism and random access by row (any split of the rows gives the same bytes),
 * seeds, the text read back by the CSV reader (rows x columns, one line per row, written
 * canonically), distinct ranks giving distinct labels (every one of `cardinality` labels
 * seen for many uniform rows), per-column vocabularies whose byte order is not their rank
 * order, the Zipf frequencies of the top labels, labels that need quotes, non-ASCII UTF-8
 * and the empty label, and init's errors.  Random cases come from a fixed seed, printed at
 * the start, which TVP_TEST_SEED overrides.
 *
 * usage: test_lencgen DATA_FOLDER [SECTION]     (no section: every section but bench)
 *        test_lencgen DATA_FOLDER bench [ROWS]  speed of the generator (default 2000000 x 3) */
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "csv.h"
#include "lenc.h"
#include "tvp.h"

/* ---- helpers ---------------------------------------------------------------------------- */

static struct tvp_lenc_gen mkgen(uint64_t rows, uint64_t seed, uint32_t columns,
                                 uint32_t card, double skew, char delim)
{
    struct tvp_lenc_gen g;
    memset(&g, 0, sizeof g);
    g.rows = rows;
    g.seed = seed;
    g.columns = columns;
    g.cardinality = card;
    g.skew = skew;
    g.delim = delim;
    char err[200] = "";
    int rc = tvp_lenc_gen_init(&g, err, sizeof err);
    CHECKF(rc == 0, "init: %d %s", rc, err);
    return g;
}

/* header and rows [b, e) appended to a new buffer */
static struct tvp_csv_buf gen_text(const struct tvp_lenc_gen *g, int header, uint64_t b,
                                   uint64_t e)
{
    struct tvp_csv_buf out = {0};
    if (header)
        CHECK(tvp_lenc_gen_header(g, &out) == 0);
    CHECK(tvp_lenc_gen_rows(g, b, e, &out) == 0);
    return out;
}

/* A generated table read back: the header's names and, per column, every row's label in
 * row order.  Checks the shape on the way: rows + 1 records of `columns` fields, as many
 * lines, and that writing the records again gives the same bytes. */
struct table {
    uint32_t columns;
    uint64_t rows;
    struct lab *names;  /* [columns] */
    struct lab **cells; /* [columns][rows] */
};

static struct table read_table(const struct tvp_lenc_gen *g, const struct tvp_csv_buf *text)
{
    struct table t = {g->columns, 0, NULL, NULL};
    t.names = xmalloc(g->columns * sizeof *t.names);
    t.cells = xmalloc(g->columns * sizeof *t.cells);
    for (uint32_t c = 0; c < g->columns; c++)
        t.cells[c] = xmalloc((size_t)g->rows * sizeof **t.cells);
    /* an exact-size copy, so that the reader cannot pass its end unseen */
    char *buf = xmalloc(text->len);
    memcpy(buf, text->data, text->len);
    uint64_t lines = 0;
    for (size_t i = 0; i < text->len; i++) {
        lines += buf[i] == '\n';
        CHECKF(buf[i] != '\r', "a CR at byte %zu", i);
    }
    CHECK(text->len > 0 && buf[text->len - 1] == '\n');
    CHECK_EQ_U64(lines, g->rows + 1);

    struct tvp_csv_reader r;
    CHECK(tvp_csv_reader_init(&r, buf, 0, text->len, g->delim, 1) == 0);
    struct tvp_csv_buf again = {0};
    const struct tvp_csv_field *f;
    char err[200] = "";
    int n;
    uint64_t rec = 0;
    while ((n = tvp_csv_next(&r, &f, err, sizeof err)) > 0) {
        CHECKF(n == (int)g->columns, "record %" PRIu64 ": %d fields, want %u", rec, n,
               g->columns);
        CHECKF(rec <= g->rows, "more than %" PRIu64 " records", g->rows + 1);
        CHECK_EQ_U64(r.line, rec + 2); /* one line per record */
        for (int c = 0; c < n; c++) {
            struct lab l = {xmalloc(f[c].len), f[c].len};
            if (f[c].len)
                memcpy(l.p, f[c].p, f[c].len);
            if (rec == 0)
                t.names[c] = l;
            else
                t.cells[c][rec - 1] = l;
        }
        CHECK(tvp_csv_put_record(&again, f, (size_t)n, g->delim) == 0);
        rec++;
    }
    CHECKF(n == 0, "reader: %d %s", n, err);
    CHECK_EQ_U64(rec, g->rows + 1);
    CHECK(same_buf(&again, text));
    t.rows = g->rows;
    tvp_csv_reader_free(&r);
    free(again.data);
    free(buf);
    return t;
}

static void table_free(struct table *t)
{
    for (uint32_t c = 0; c < t->columns; c++) {
        free(t->names[c].p);
        for (uint64_t i = 0; i < t->rows; i++)
            free(t->cells[c][i].p);
        free(t->cells[c]);
    }
    free(t->names);
    free(t->cells);
}

/* A column's distinct labels with their counts, in byte order. */
struct freq {
    struct lab *labs; /* distinct, sorted (pointers into the table) */
    uint64_t *count;
    size_t n;
};

static struct freq column_freq(const struct table *t, uint32_t c)
{
    struct lab *s = xmalloc((size_t)t->rows * sizeof *s);
    memcpy(s, t->cells[c], (size_t)t->rows * sizeof *s);
    qsort(s, (size_t)t->rows, sizeof *s, lab_cmp);
    struct freq f = {xmalloc((size_t)t->rows * sizeof *f.labs),
                     xmalloc((size_t)t->rows * sizeof *f.count), 0};
    for (uint64_t i = 0; i < t->rows; i++) {
        if (f.n && lab_cmp(&f.labs[f.n - 1], &s[i]) == 0) {
            f.count[f.n - 1]++;
        } else {
            f.labs[f.n] = s[i];
            f.count[f.n++] = 1;
        }
    }
    free(s);
    return f;
}

static void freq_free(struct freq *f)
{
    free(f->labs);
    free(f->count);
}

/* index of the k-th most frequent label (k = 0: the most frequent); ties: byte order */
static size_t freq_rank(const struct freq *f, size_t k)
{
    CHECK(k < f->n);
    char *taken = calloc(f->n, 1);
    CHECK(taken != NULL);
    size_t best = 0;
    for (size_t j = 0; j <= k; j++) {
        best = f->n;
        for (size_t i = 0; i < f->n; i++)
            if (!taken[i] && (best == f->n || f->count[i] > f->count[best]))
                best = i;
        taken[best] = 1;
    }
    free(taken);
    return best;
}

static int has_byte(const struct lab *l, char ch)
{
    return l->len && memchr(l->p, ch, l->len) != NULL;
}

/* strict UTF-8 (no overlong forms, surrogates or code points above U+10FFFF) */
static int valid_utf8(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t k;
        uint32_t cp, min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            k = 1, cp = c & 0x1f, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            k = 2, cp = c & 0x0f, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            k = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return 0;
        }
        if (n - i <= k)
            return 0;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + j] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += k + 1;
    }
    return 1;
}

/* sum of 1/r^s for r = 1..n */
static double zipf_h(uint32_t n, double s)
{
    double h = 0;
    for (uint32_t r = n; r >= 1; r--) /* smallest first */
        h += pow((double)r, -s);
    return h;
}

/* ---- sections --------------------------------------------------------------------------- */

/* the same settings give the same bytes; any split of the rows gives the same bytes as the
 * whole range; the table's row count does not change a row */
static void test_determinism(void)
{
    const uint64_t N = 3000;
    struct tvp_lenc_gen g = mkgen(N, 7, 4, 300, 0.8, ',');
    struct tvp_lenc_gen g2 = mkgen(N, 7, 4, 300, 0.8, ',');
    struct tvp_csv_buf whole = gen_text(&g, 1, 0, N), whole2 = gen_text(&g2, 1, 0, N);
    CHECK(whole.len > N * 4);
    CHECK(same_buf(&whole, &whole2));
    struct tvp_csv_buf rows = gen_text(&g, 0, 0, N), head = gen_text(&g, 1, 0, 0);
    CHECK(head.len > 0 && rows.len + head.len == whole.len);
    CHECK(memcmp(whole.data, head.data, head.len) == 0);
    CHECK(memcmp(whole.data + head.len, rows.data, rows.len) == 0);

    /* row by row, appended to the same buffer */
    struct tvp_csv_buf one = {0};
    for (uint64_t i = 0; i < N; i++)
        CHECK(tvp_lenc_gen_rows(&g, i, i + 1, &one) == 0);
    CHECK(same_buf(&one, &rows));
    free(one.data);

    /* random [a, b) + [b, c) == [a, c), after a prefix already in the buffer */
    for (int k = 0; k < 200; k++) {
        uint64_t x[3] = {rnd_below(N + 1), rnd_below(N + 1), rnd_below(N + 1)};
        for (int i = 0; i < 3; i++)
            for (int j = i + 1; j < 3; j++)
                if (x[j] < x[i]) {
                    uint64_t t = x[i];
                    x[i] = x[j];
                    x[j] = t;
                }
        struct tvp_csv_buf ac = {0}, abc = {0};
        buf_add(&ac, "prefix\n", 7);
        buf_add(&abc, "prefix\n", 7);
        CHECK(tvp_lenc_gen_rows(&g, x[0], x[2], &ac) == 0);
        CHECK(tvp_lenc_gen_rows(&g, x[0], x[1], &abc) == 0);
        CHECK(tvp_lenc_gen_rows(&g, x[1], x[2], &abc) == 0);
        CHECKF(same_buf(&ac, &abc), "[%" PRIu64 ", %" PRIu64 ") + [%" PRIu64 ", %" PRIu64 ")",
               x[0], x[1], x[1], x[2]);
        /* and it is the slice of the whole: count lines up to x[0] */
        size_t off = 0;
        for (uint64_t l = 0; l < x[0]; l++)
            off = (size_t)((char *)memchr(rows.data + off, '\n', rows.len - off) - rows.data) + 1;
        CHECK(off + ac.len - 7 <= rows.len);
        CHECK(memcmp(rows.data + off, ac.data + 7, ac.len - 7) == 0);
        free(ac.data);
        free(abc.data);
    }

    /* row i does not depend on the table's row count */
    struct tvp_lenc_gen small = mkgen(10, 7, 4, 300, 0.8, ',');
    struct tvp_csv_buf ten = gen_text(&small, 1, 0, 10);
    CHECK(ten.len < whole.len && memcmp(ten.data, whole.data, ten.len) == 0);
    CHECK(whole.data[ten.len - 1] == '\n');

    free(ten.data);
    tvp_lenc_gen_free(&small);
    free(rows.data);
    free(head.data);
    free(whole.data);
    free(whole2.data);
    tvp_lenc_gen_free(&g);
    tvp_lenc_gen_free(&g2);
}

/* different seeds give different rows and different vocabularies */
static void test_seeds(void)
{
    const uint64_t N = 2000;
    for (int skewed = 0; skewed < 2; skewed++) {
        double skew = skewed ? 1.0 : 0;
        struct tvp_lenc_gen a = mkgen(N, 42, 3, 200, skew, ',');
        struct tvp_lenc_gen b = mkgen(N, 43, 3, 200, skew, ',');
        struct tvp_csv_buf ta = gen_text(&a, 1, 0, N), tb = gen_text(&b, 1, 0, N);
        CHECK(!same_buf(&ta, &tb));
        struct table xa = read_table(&a, &ta), xb = read_table(&b, &tb);
        /* the header is the same; few rows are */
        for (uint32_t c = 0; c < 3; c++)
            CHECK(lab_cmp(&xa.names[c], &xb.names[c]) == 0);
        uint64_t equal_rows = 0;
        for (uint64_t i = 0; i < N; i++) {
            int eq = 1;
            for (uint32_t c = 0; c < 3; c++)
                eq &= lab_cmp(&xa.cells[c][i], &xb.cells[c][i]) == 0;
            equal_rows += (uint64_t)eq;
        }
        CHECKF(equal_rows < N / 20, "%" PRIu64 " equal rows of %" PRIu64, equal_rows, N);
        /* the vocabulary of column 0 differs */
        struct freq fa = column_freq(&xa, 0), fb = column_freq(&xb, 0);
        size_t common = 0;
        for (size_t i = 0, j = 0; i < fa.n && j < fb.n;) {
            int cmp = lab_cmp(&fa.labs[i], &fb.labs[j]);
            common += cmp == 0;
            i += cmp <= 0;
            j += cmp >= 0;
        }
        CHECKF(common < fa.n, "seeds 42 and 43: the same %zu labels", common);
        freq_free(&fa);
        freq_free(&fb);
        table_free(&xa);
        table_free(&xb);
        free(ta.data);
        free(tb.data);
        tvp_lenc_gen_free(&a);
        tvp_lenc_gen_free(&b);
    }
}

/* read back with the CSV reader for several delimiters and shapes (read_table checks the
 * record and field counts, one line per record and the canonical writing) */
static void test_parse(void)
{
    static const char delims[] = {',', ';', '\t', ' ', '|', 'a', 'c', '0'};
    static const uint32_t cols[] = {1, 2, 3, 17};
    static const uint32_t cards[] = {1, 5, 25, 1000, 70000};
    for (size_t d = 0; d < sizeof delims; d++)
        for (size_t ci = 0; ci < sizeof cols / sizeof cols[0]; ci++)
            for (size_t k = 0; k < sizeof cards / sizeof cards[0]; k++) {
                double skew = (d + ci + k) % 2 ? 1.1 : 0;
                uint64_t rows = 1 + rnd_below(600);
                struct tvp_lenc_gen g = mkgen(rows, rnd(), cols[ci], cards[k], skew, delims[d]);
                struct tvp_csv_buf text = gen_text(&g, 1, 0, rows);
                struct table t = read_table(&g, &text);
                char name[16];
                for (uint32_t c = 0; c < cols[ci]; c++) {
                    int n = snprintf(name, sizeof name, "c%u", c);
                    CHECKF(t.names[c].len == (size_t)n &&
                               memcmp(t.names[c].p, name, (size_t)n) == 0,
                           "column %u: [%.*s]", c, (int)t.names[c].len, t.names[c].p);
                }
                for (uint32_t c = 0; c < cols[ci]; c++)
                    for (uint64_t i = 0; i < rows; i++)
                        CHECK(!has_byte(&t.cells[c][i], '\n') && !has_byte(&t.cells[c][i], '\r'));
                table_free(&t);
                free(text.data);
                tvp_lenc_gen_free(&g);
            }
    /* zero rows: the header alone */
    struct tvp_lenc_gen g = mkgen(0, 1, 5, 10, 0, ',');
    struct tvp_csv_buf text = gen_text(&g, 1, 0, 0);
    const char *want = "c0,c1,c2,c3,c4\n";
    CHECK(text.len == strlen(want) && memcmp(text.data, want, text.len) == 0);
    free(text.data);
    tvp_lenc_gen_free(&g);
}

/* distinct ranks give distinct labels: with 20 uniform draws per label every one of the
 * `cardinality` labels is seen (a label missed by chance: cardinality * e^-20 < 1e-4), so
 * two ranks sharing a label would show as fewer distinct labels; with skew never more */
static void test_distinct(void)
{
    static const uint32_t cards[] = {1, 2, 7, 19, 20, 127, 128, 129, 1000, 16384, 20000};
    for (size_t k = 0; k < sizeof cards / sizeof cards[0]; k++) {
        uint32_t card = cards[k];
        uint64_t rows = (uint64_t)card * 20 < 1000 ? 1000 : (uint64_t)card * 20;
        struct tvp_lenc_gen g = mkgen(rows, 1000 + k, 2, card, 0, ',');
        struct tvp_csv_buf text = gen_text(&g, 1, 0, rows);
        struct table t = read_table(&g, &text);
        for (uint32_t c = 0; c < 2; c++) {
            struct freq f = column_freq(&t, c);
            CHECKF(f.n == card, "cardinality %u column %u: %zu distinct labels", card, c, f.n);
            /* the empty label from 20 labels on, never before */
            int empty = f.labs[0].len == 0;
            CHECKF(empty == (card >= 20), "cardinality %u: empty label %d", card, empty);
            freq_free(&f);
        }
        table_free(&t);
        free(text.data);
        tvp_lenc_gen_free(&g);
    }
    /* skewed: at most cardinality, fewer than it for few rows */
    struct tvp_lenc_gen g = mkgen(3000, 5, 2, 5000, 1.3, ',');
    struct tvp_csv_buf text = gen_text(&g, 1, 0, 3000);
    struct table t = read_table(&g, &text);
    for (uint32_t c = 0; c < 2; c++) {
        struct freq f = column_freq(&t, c);
        CHECKF(f.n > 10 && f.n < 3000, "%zu distinct labels", f.n);
        freq_free(&f);
    }
    table_free(&t);
    free(text.data);
    tvp_lenc_gen_free(&g);
}

/* each column its own vocabulary; byte order is not rank (frequency) order */
static void test_vocab(void)
{
    const uint64_t N = 60000;
    const uint32_t C = 5;
    struct tvp_lenc_gen g = mkgen(N, 99, C, 40, 0, ',');
    struct tvp_csv_buf text = gen_text(&g, 1, 0, N);
    struct table t = read_table(&g, &text);
    struct freq f[5];
    for (uint32_t c = 0; c < C; c++) {
        f[c] = column_freq(&t, c);
        CHECK(f[c].n == 40);
    }
    for (uint32_t a = 0; a < C; a++)
        for (uint32_t b = a + 1; b < C; b++) {
            int all_same = 1;
            for (size_t i = 0; i < 40; i++)
                all_same &= lab_cmp(&f[a].labs[i], &f[b].labs[i]) == 0;
            CHECKF(!all_same, "columns %u and %u: the same labels", a, b);
        }
    for (uint32_t c = 0; c < C; c++)
        freq_free(&f[c]);
    table_free(&t);
    free(text.data);
    tvp_lenc_gen_free(&g);

    /* skewed: frequency order reveals rank order; in byte order it must be shuffled */
    g = mkgen(N, 99, C, 30, 1.5, ',');
    text = gen_text(&g, 1, 0, N);
    t = read_table(&g, &text);
    int top_not_smallest = 0, top5_unsorted = 0, top_differs = 0;
    struct lab first_top = {0};
    for (uint32_t c = 0; c < C; c++) {
        struct freq fr = column_freq(&t, c);
        size_t top[5];
        for (size_t k = 0; k < 5; k++)
            top[k] = freq_rank(&fr, k);
        top_not_smallest += top[0] != 0;
        for (size_t k = 1; k < 5; k++)
            top5_unsorted |= top[k] < top[k - 1];
        if (c == 0)
            first_top = fr.labs[top[0]];
        else
            top_differs |= lab_cmp(&first_top, &fr.labs[top[0]]) != 0;
        freq_free(&fr);
    }
    CHECKF(top_not_smallest >= 2, "%d columns", top_not_smallest);
    CHECK(top5_unsorted);
    CHECK(top_differs);
    table_free(&t);
    free(text.data);
    tvp_lenc_gen_free(&g);
}

/* the top labels' frequencies follow the Zipf weights 1/r^skew / H */
static void test_skew(void)
{
    const uint64_t N = 200000;
    static const double skews[] = {0, 0.5, 1.0, 1.2, 3.0};
    const uint32_t card = 1000;
    for (size_t k = 0; k < sizeof skews / sizeof skews[0]; k++) {
        double s = skews[k];
        struct tvp_lenc_gen g = mkgen(N, 3 + k, 2, card, s, ';');
        struct tvp_csv_buf text = gen_text(&g, 1, 0, N);
        struct table t = read_table(&g, &text);
        double h = zipf_h(card, s);
        for (uint32_t c = 0; c < 2; c++) {
            struct freq f = column_freq(&t, c);
            double p1 = (double)f.count[freq_rank(&f, 0)] / (double)N;
            double p2 = (double)f.count[freq_rank(&f, 1)] / (double)N;
            if (s == 0) {
                /* uniform: 200 expected per label, sd 14; the top one well below 2x */
                CHECKF(p1 < 2.0 / card && f.n == card, "skew 0: top %.5f, %zu labels", p1, f.n);
            } else {
                double w1 = 1 / h, w2 = pow(2, -s) / h;
                CHECKF(fabs(p1 - w1) < 0.05 * w1 + 4 * sqrt(w1 / (double)N),
                       "skew %g column %u: top label %.5f, Zipf %.5f", s, c, p1, w1);
                CHECKF(fabs(p2 - w2) < 0.05 * w2 + 4 * sqrt(w2 / (double)N),
                       "skew %g column %u: second label %.5f, Zipf %.5f", s, c, p2, w2);
                CHECKF(p1 > 5.0 / card, "skew %g: top label %.5f not much above uniform", s, p1);
            }
            freq_free(&f);
        }
        table_free(&t);
        free(text.data);
        tvp_lenc_gen_free(&g);
    }
}

/* labels are realistic text that exercises the writer */
static void test_text(void)
{
    const uint64_t N = 50000;
    struct tvp_lenc_gen g = mkgen(N, 2024, 3, 3000, 0, ',');
    struct tvp_csv_buf text = gen_text(&g, 1, 0, N);
    struct table t = read_table(&g, &text);
    uint64_t comma = 0, quote = 0, nonascii = 0, emoji = 0, empty = 0, total = 0, bytes = 0;
    uint64_t words2 = 0; /* labels of two words or more (3000 > 128 labels of one word) */
    size_t minlen = SIZE_MAX, maxlen = 0;
    for (uint32_t c = 0; c < 3; c++)
        for (uint64_t i = 0; i < N; i++) {
            const struct lab *l = &t.cells[c][i];
            total++;
            bytes += l->len;
            comma += (uint64_t)has_byte(l, ',');
            words2 += (uint64_t)has_byte(l, ' ');
            quote += (uint64_t)has_byte(l, '"');
            empty += l->len == 0;
            int hi = 0, four = 0;
            for (size_t j = 0; j < l->len; j++) {
                hi |= (unsigned char)l->p[j] >= 0x80;
                four |= ((unsigned char)l->p[j] & 0xf8) == 0xf0;
            }
            nonascii += (uint64_t)hi;
            emoji += (uint64_t)four;
            CHECKF(valid_utf8((const unsigned char *)l->p, l->len), "row %" PRIu64 ": [%.*s]",
                   i, (int)l->len, l->p);
            if (l->len) {
                minlen = l->len < minlen ? l->len : minlen;
                maxlen = l->len > maxlen ? l->len : maxlen;
            }
        }
    printf("  labels: %.1f%% with ',', %.1f%% with '\"', %.1f%% not ASCII, %.2f%% 4-byte "
           "UTF-8, %.3f%% empty; %zu to %zu bytes, %.1f on average\n",
           100.0 * comma / total, 100.0 * quote / total, 100.0 * nonascii / total,
           100.0 * emoji / total, 100.0 * empty / total, minlen, maxlen,
           (double)bytes / total);
    CHECK(comma > total / 100 && comma < total / 5);
    CHECK(quote > total / 200 && quote < total / 5);
    CHECK(nonascii > total / 100 && nonascii < total / 3);
    CHECK(emoji > 0);
    CHECK(words2 > total / 2);
    CHECK(empty > 0 && empty < total / 100);
    CHECK(minlen >= 2 && maxlen <= 40);
    CHECK((double)bytes / total > 5 && (double)bytes / total < 25);
    /* quoted fields in the text: a '"' right after a delimiter or at a line's start */
    uint64_t quoted = 0;
    for (size_t i = 0; i < text.len; i++)
        quoted += text.data[i] == '"' &&
                  (i == 0 || text.data[i - 1] == ',' || text.data[i - 1] == '\n');
    CHECK(quoted >= comma && quoted > 0);
    table_free(&t);
    free(text.data);
    tvp_lenc_gen_free(&g);

    /* one column: the empty label is a record of its own, written "" (not a blank line) */
    g = mkgen(2000, 11, 1, 20, 0, ',');
    text = gen_text(&g, 1, 0, 2000);
    CHECK(text.len > 4);
    int lone_empty = 0;
    for (size_t i = 0; i + 3 < text.len; i++)
        lone_empty |= memcmp(text.data + i, "\n\"\"\n", 4) == 0;
    CHECK(lone_empty);
    t = read_table(&g, &text); /* 2000 records: no blank line was skipped */
    table_free(&t);
    free(text.data);
    tvp_lenc_gen_free(&g);
}

static void expect_init_error(uint32_t columns, uint32_t card, double skew, char delim,
                              const char *want)
{
    struct tvp_lenc_gen g;
    memset(&g, 0, sizeof g);
    g.rows = 10;
    g.columns = columns;
    g.cardinality = card;
    g.skew = skew;
    g.delim = delim;
    g.cdf = (double *)&g; /* init must not trust what was there */
    char err[200] = "";
    int rc = tvp_lenc_gen_init(&g, err, sizeof err);
    CHECKF(rc == TVP_EUSAGE, "columns %u cardinality %u skew %g: rc %d", columns, card, skew, rc);
    CHECKF(strstr(err, want) != NULL && strchr(err, '\n') == NULL, "[%s] lacks [%s]", err, want);
    CHECK(g.cdf == NULL);
    tvp_lenc_gen_free(&g); /* harmless */
    tvp_lenc_gen_free(&g);
}

static void test_errors(void)
{
    expect_init_error(0, 10, 0, ',', "--columns-count");
    expect_init_error(4097, 10, 0, ',', "--columns-count");
    expect_init_error(UINT32_MAX, 10, 0, ',', "--columns-count");
    expect_init_error(3, 0, 0, ',', "--cardinality");
    expect_init_error(3, (UINT32_C(1) << 31) + 1, 0, ',', "--cardinality");
    expect_init_error(3, UINT32_MAX, 1, ',', "--cardinality");
    expect_init_error(3, 10, -0.5, ',', "--skew");
    expect_init_error(3, 10, -INFINITY, ',', "--skew");
    expect_init_error(3, 10, INFINITY, ',', "--skew");
    expect_init_error(3, 10, NAN, ',', "--skew");
    expect_init_error(3, 10, 0, '"', "--delimiter");
    expect_init_error(3, 10, 0, '\n', "--delimiter");

    /* the limits themselves are accepted */
    struct tvp_lenc_gen g = mkgen(3, 1, 4096, 1, 0, ',');
    struct tvp_csv_buf text = gen_text(&g, 1, 0, 3);
    struct table t = read_table(&g, &text);
    table_free(&t);
    free(text.data);
    tvp_lenc_gen_free(&g);
    g = mkgen(3, 1, 1, UINT32_C(1) << 31, 0, ','); /* uniform: no weights allocated */
    CHECK(g.cdf == NULL);
    text = gen_text(&g, 1, 0, 3);
    CHECK(text.len > 3);
    free(text.data);
    tvp_lenc_gen_free(&g);
    g = mkgen(3, 1, 1, 5, 0, ',');
    tvp_lenc_gen_free(&g);
    g = mkgen(3, 1, 1, 5, 1e300, ','); /* every weight but the first is 0 */
    CHECK(g.cdf != NULL);
    text = gen_text(&g, 0, 0, 3);
    size_t third = text.len / 3;
    CHECK(text.len == 3 * third && memcmp(text.data, text.data + third, third) == 0 &&
          memcmp(text.data, text.data + 2 * third, third) == 0);
    free(text.data);

    /* rows outside [0, rows) or b > e: refused, the buffer unchanged */
    struct tvp_csv_buf out = {0};
    buf_add(&out, "x", 1);
    CHECK(tvp_lenc_gen_rows(&g, 2, 1, &out) == TVP_EUSAGE);
    CHECK(tvp_lenc_gen_rows(&g, 0, 4, &out) == TVP_EUSAGE);
    CHECK(tvp_lenc_gen_rows(&g, 4, 4, &out) == TVP_EUSAGE);
    CHECK(out.len == 1);
    CHECK(tvp_lenc_gen_rows(&g, 3, 3, &out) == 0 && out.len == 1);
    free(out.data);
    tvp_lenc_gen_free(&g);
    CHECK(g.cdf == NULL);
}

static double now(void)
{
    return tvp_now();
}

static void bench(uint64_t rows)
{
    static const double skews[] = {0, 1.0};
    static const uint32_t cards[] = {1000, 100000};
    for (size_t s = 0; s < 2; s++)
        for (size_t k = 0; k < 2; k++) {
            double t0 = now();
            struct tvp_lenc_gen g = mkgen(rows, 42, 3, cards[k], skews[s], ',');
            double ti = now() - t0;
            struct tvp_csv_buf out = {0};
            double best = 1e30;
            for (int rep = 0; rep < 3; rep++) {
                out.len = 0;
                t0 = now();
                CHECK(tvp_lenc_gen_header(&g, &out) == 0);
                CHECK(tvp_lenc_gen_rows(&g, 0, rows, &out) == 0);
                double t = now() - t0;
                best = t < best ? t : best;
            }
            printf("%" PRIu64 " rows x 3, cardinality %u, skew %g: init %.4f s, rows %.3f s "
                   "(best of 3), %.1f MB, %.0f MB/s\n",
                   rows, cards[k], skews[s], ti, best, out.len / 1e6, out.len / 1e6 / best);
            free(out.data);
            tvp_lenc_gen_free(&g);
        }
}

TEST_MAIN("test_lencgen", UINT64_C(0x1e2c6e2), bench, 2000000,
          {"determinism", test_determinism}, {"seeds", test_seeds}, {"parse", test_parse},
          {"distinct", test_distinct}, {"vocab", test_vocab}, {"skew", test_skew},
          {"text", test_text}, {"errors", test_errors})
