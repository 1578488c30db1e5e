/* Unit tests of common/lenc.c, the labelencode engine: the acceptance example (exact CSV
 * bytes and classes file), the CSV dialect (quoting, newlines and delimiters in fields,
 * CRLF, BOM, empty labels, non-ASCII labels in byte order, --columns, other delimiters),
 * split invariance (random tables cut into 1..8 parts, with the label sets passed as bytes
 * the way processes pass them, against an independent oracle and the serial reference),
 * fit then transform then inverse, every error with its text and line number, each part
 * keeping its own first error, the sets' byte form, and workers reused across runs.
 * Random cases come from a fixed seed, printed at the start, which TVP_TEST_SEED overrides.
 *
 * usage: test_lenc DATA_FOLDER [SECTION]   (no section: every section but bench)
 *        test_lenc DATA_FOLDER bench [ROWS] speed of parse, fit+encode and format */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "csv.h"
#include "labels.h"
#include "lenc.h"
#include "tvp.h"

/* ---- helpers ---------------------------------------------------------------------------- */

#define NAME "in.csv"
#define CNAME "cls.json"
#define MAXP 8

/* The classes as the JSON file tvp_lenc_write_classes writes (malloc'd, NUL-terminated). */
static char *classes_json(const struct tvp_lenc_table *t, const struct tvp_labels *classes)
{
    char path[128], err[512] = "";
    snprintf(path, sizeof path, "%s/classes.json", test_tmpdir());
    CHECKF(tvp_lenc_write_classes(t, classes, path, err, sizeof err) == 0, "%s", err);
    size_t len;
    char *text = slurp(path, &len);
    CHECK(unlink(path) == 0);
    return text;
}

static int table(struct tvp_lenc_table *t, const char *text, size_t len, char delim,
                 const char *columns, enum tvp_lenc_mode mode, const char *json, char *err)
{
    return tvp_lenc_table_init(t, NAME, text, len, delim, columns, mode, json,
                               json ? strlen(json) : 0, CNAME, err, 512);
}

static void init_sets(struct tvp_labels *s, size_t n)
{
    for (size_t k = 0; k < n; k++)
        tvp_labels_init(&s[k]);
}

static void free_sets(struct tvp_labels *s, size_t n)
{
    for (size_t k = 0; k < n; k++)
        tvp_labels_free(&s[k]);
}

/* w (set up) gets the whole of buf[0, len) as its part: the data records after t's header */
static void whole_part(struct tvp_lenc_worker *w, const struct tvp_lenc_table *t,
                       const char *buf, size_t len)
{
    w->buf = buf;
    w->begin = t->data_begin;
    w->end = len;
    w->line = t->data_line;
}

/* The first error of the workers, in part order (how backends agree on a step's errors). */
static int agree(struct tvp_lenc_worker *w, int n, char *msg)
{
    for (int i = 0; i < n; i++)
        if (w[i].err) {
            snprintf(msg, 512, "%s", w[i].msg);
            return w[i].err;
        }
    return 0;
}

/* The job in nparts parts as a backend runs it: each step on every part, errors agreed
 * between steps.  procs: as processes do: every part a private copy (begin = 0), the FIT
 * sets passed through tvp_lenc_pack_sets/unpack_sets.  out gets the header and the parts'
 * text; classes (FIT, [nsel], or NULL) the merged classes.  0 or the error (msg). */
static int run_parts(const struct tvp_lenc_table *t, const char *buf, size_t len, int nparts,
                     int procs, struct tvp_csv_buf *out, struct tvp_labels *classes, char *msg)
{
    struct tvp_csv_part part[MAXP];
    struct tvp_lenc_worker w[MAXP];
    char *copy[MAXP] = {0};
    CHECK(nparts >= 1 && nparts <= MAXP);
    CHECK(tvp_csv_split(buf, len, t->data_begin, t->data_line, nparts, part) == 0);
    for (int i = 0; i < nparts; i++) {
        tvp_lenc_worker_init(&w[i]);
        if (procs) {
            copy[i] = exact(buf + part[i].begin, part[i].end - part[i].begin);
            w[i].buf = copy[i];
            w[i].begin = 0;
            w[i].end = part[i].end - part[i].begin;
        } else {
            w[i].buf = buf;
            w[i].begin = part[i].begin;
            w[i].end = part[i].end;
        }
        w[i].line = part[i].line;
    }
    int rc;
    for (int i = 0; i < nparts; i++)
        tvp_lenc_worker_parse(t, &w[i]);
    rc = agree(w, nparts, msg);
    if (!rc) {
        for (int i = 0; i < nparts; i++)
            tvp_lenc_worker_fit(t, &w[i]);
        rc = agree(w, nparts, msg);
    }
    if (!rc && t->mode == TVP_LENC_FIT) {
        struct tvp_labels *sets[MAXP], *own[MAXP] = {0};
        uint32_t *maps[MAXP];
        for (int i = 0; i < nparts; i++) {
            sets[i] = w[i].sets;
            if (procs) {
                struct tvp_csv_buf b = {0};
                CHECK(tvp_lenc_pack_sets(t, w[i].sets, &b) == 0);
                char *bytes = exact(b.data, b.len);
                own[i] = xmalloc((t->nsel + 1) * sizeof *own[i]);
                init_sets(own[i], t->nsel);
                CHECK(tvp_lenc_unpack_sets(t, bytes, b.len, own[i]) == 0);
                sets[i] = own[i];
                free(bytes);
                free(b.data);
            }
            size_t n = tvp_lenc_map_len(t, sets[i]);
            maps[i] = xmalloc((n + 1) * sizeof **maps);
        }
        struct tvp_labels *cl = classes ? classes : xmalloc((t->nsel + 1) * sizeof *cl);
        for (size_t k = 0; k < t->nsel; k++)
            CHECK(tvp_lenc_merge_column(t, k, (const struct tvp_labels *const *)sets, nparts,
                                        &cl[k], maps) == 0);
        for (int i = 0; i < nparts; i++) {
            CHECK(tvp_lenc_worker_encode(t, &w[i], maps[i]) == 0);
            free(maps[i]);
            if (own[i]) {
                free_sets(own[i], t->nsel);
                free(own[i]);
            }
        }
        if (!classes) {
            free_sets(cl, t->nsel);
            free(cl);
        }
    }
    if (!rc) {
        for (int i = 0; i < nparts; i++)
            tvp_lenc_worker_format(t, &w[i]);
        rc = agree(w, nparts, msg);
        CHECK(rc == 0);
        buf_add(out, t->header.data, t->header.len);
        for (int i = 0; i < nparts; i++)
            buf_add(out, w[i].out.data, w[i].out.len);
    }
    for (int i = 0; i < nparts; i++) {
        tvp_lenc_worker_free(&w[i]);
        free(copy[i]);
    }
    return rc;
}

/* The job on text (an exact copy), by the reference and in 1..8 parts (threads' and
 * processes' way): all must give the same output, classes and classes file.  Returns the
 * output (NUL-terminated) and, for FIT, the classes file's text in *json. */
static char *encode_all(const char *text, size_t len, char delim, const char *columns,
                        enum tvp_lenc_mode mode, const char *in_json, char **json, size_t *outlen)
{
    struct tvp_lenc_table t;
    char err[512] = "", msg[512] = "";
    char *buf = exact(text, len);
    CHECKF(table(&t, buf, len, delim, columns, mode, in_json, err) == 0, "%s", err);
    struct tvp_csv_buf ref = {0};
    struct tvp_labels *cl = xmalloc((t.nsel + 1) * sizeof *cl);
    CHECKF(tvp_lenc_reference(&t, buf, len, &ref, mode == TVP_LENC_FIT ? cl : NULL, err,
                              sizeof err) == 0,
           "%s", err);
    char *js = mode == TVP_LENC_FIT ? classes_json(&t, cl) : NULL;
    for (int procs = 0; procs < 2; procs++)
        for (int parts = 1; parts <= MAXP; parts++) {
            struct tvp_csv_buf out = {0};
            struct tvp_labels *pc = xmalloc((t.nsel + 1) * sizeof *pc);
            CHECKF(run_parts(&t, buf, len, parts, procs, &out, mode == TVP_LENC_FIT ? pc : NULL,
                             msg) == 0,
                   "%s", msg);
            CHECKF(same(out.data, out.len, ref.data, ref.len), "parts %d procs %d", parts, procs);
            if (mode == TVP_LENC_FIT) {
                for (size_t k = 0; k < t.nsel; k++) {
                    CHECK_EQ_U64(tvp_labels_count(&pc[k]), tvp_labels_count(&cl[k]));
                    for (size_t i = 0; i < tvp_labels_count(&cl[k]); i++) {
                        struct tvp_label a = tvp_labels_get(&pc[k], i);
                        CHECK(label_is(tvp_labels_get(&cl[k], i), a.p, a.len));
                    }
                }
                free_sets(pc, t.nsel);
            }
            free(pc);
            free(out.data);
        }
    if (mode == TVP_LENC_FIT)
        free_sets(cl, t.nsel);
    free(cl);
    if (json)
        *json = js;
    else
        free(js);
    tvp_lenc_table_free(&t);
    free(buf);
    buf_add(&ref, "", 1);
    if (outlen)
        *outlen = ref.len - 1;
    return ref.data;
}

static void expect_out(const char *text, size_t len, char delim, const char *columns,
                       enum tvp_lenc_mode mode, const char *in_json, const char *want)
{
    size_t n;
    char *out = encode_all(text, len, delim, columns, mode, in_json, NULL, &n);
    CHECKF(same(out, n, want, strlen(want)), "input:\n%.*s\ngot:\n%s\nwant:\n%s", (int)len, text,
           out, want);
    free(out);
}

#define EXPECT_FIT(text, delim, columns, want)                                                  \
    expect_out(text, sizeof(text) - 1, delim, columns, TVP_LENC_FIT, NULL, want)

/* The job fails with rc and exactly msg: at table_init, or (the same for every split and
 * both ways of running parts) in a step. */
static void expect_err(const char *text, size_t len, char delim, const char *columns,
                       enum tvp_lenc_mode mode, const char *in_json, int rc, const char *msg)
{
    struct tvp_lenc_table t;
    char err[512] = "";
    char *buf = exact(text, len);
    int r = table(&t, buf, len, delim, columns, mode, in_json, err);
    if (r) {
        CHECKF(r == rc && strcmp(err, msg) == 0, "rc %d\ngot:  %s\nwant: %s", r, err, msg);
        CHECK(t.ncols == 0 && t.sel == NULL && t.classes == NULL && t.header.data == NULL);
        tvp_lenc_table_free(&t); /* harmless */
        free(buf);
        return;
    }
    struct tvp_csv_buf out = {0};
    r = tvp_lenc_reference(&t, buf, len, &out, NULL, err, sizeof err);
    CHECKF(r == rc && strcmp(err, msg) == 0, "rc %d\ngot:  %s\nwant: %s", r, err, msg);
    for (int procs = 0; procs < 2; procs++)
        for (int parts = 1; parts <= MAXP; parts++) {
            char m[512] = "";
            r = run_parts(&t, buf, len, parts, procs, &out, NULL, m);
            CHECKF(r == rc && strcmp(m, msg) == 0, "parts %d procs %d\ngot:  %s\nwant: %s",
                   parts, procs, m, msg);
        }
    free(out.data);
    tvp_lenc_table_free(&t);
    free(buf);
}

#define EXPECT_ERR(text, delim, columns, mode, json, rc, msg)                                   \
    expect_err(text, sizeof(text) - 1, delim, columns, mode, json, rc, msg)

/* ---- accept: the example of the task ----------------------------------------------------- */

static void test_accept(void)
{
    static const char in[] = "colors,sizes,materials\n"
                             "red,small,wood\n"
                             "green,medium,metal\n"
                             "blue,large,plastic\n"
                             "red,medium,metal\n"
                             "green,small,plastic\n"
                             "blue,large,wood\n";
    /* colors [2 1 0 2 1 0], sizes [2 1 0 1 2 0], materials [2 0 1 0 1 2] */
    static const char want[] = "colors,sizes,materials\n"
                               "2,2,2\n"
                               "1,1,0\n"
                               "0,0,1\n"
                               "2,1,0\n"
                               "1,2,1\n"
                               "0,0,2\n";
    static const char want_json[] = "{\n"
                                    "  \"colors\": [\"blue\", \"green\", \"red\"],\n"
                                    "  \"sizes\": [\"large\", \"medium\", \"small\"],\n"
                                    "  \"materials\": [\"metal\", \"plastic\", \"wood\"]\n"
                                    "}\n";
    char *json;
    size_t n;
    char *out = encode_all(in, sizeof in - 1, ',', NULL, TVP_LENC_FIT, NULL, &json, &n);
    CHECKF(same(out, n, want, sizeof want - 1), "got:\n%s", out);
    CHECKF(strcmp(json, want_json) == 0, "got:\n%s", json);

    /* the table */
    struct tvp_lenc_table t;
    char err[512];
    CHECK(table(&t, in, sizeof in - 1, ',', NULL, TVP_LENC_FIT, NULL, err) == 0);
    CHECK_EQ_U64(t.ncols, 3);
    CHECK_EQ_U64(t.nsel, 3);
    CHECK_EQ_U64(t.data_begin, 23);
    CHECK_EQ_U64(t.data_line, 2);
    CHECK(t.classes == NULL);
    CHECK(strcmp(t.name, NAME) == 0);
    CHECK(same(t.header.data, t.header.len, in, 23));
    for (size_t c = 0; c < 3; c++) {
        CHECK_EQ_U64(t.sel[c], c);
        CHECK(t.sel_of[c] == (int64_t)c);
    }
    /* a worker's ids: local ids (first seen first), then class indices through the map */
    struct tvp_lenc_worker w;
    tvp_lenc_worker_init(&w);
    whole_part(&w, &t, in, sizeof in - 1);
    CHECK(tvp_lenc_worker_parse(&t, &w) == 0);
    CHECK_EQ_U64(w.rows, 6);
    CHECK(w.cells[3 * 5 + 2].len == 4 && memcmp(w.cells[3 * 5 + 2].p, "wood", 4) == 0);
    CHECK(tvp_lenc_worker_fit(&t, &w) == 0);
    static const uint32_t local[6][3] = {{0, 0, 0}, {1, 1, 1}, {2, 2, 2},
                                         {0, 1, 1}, {1, 0, 2}, {2, 2, 0}};
    for (int i = 0; i < 6; i++)
        for (int k = 0; k < 3; k++)
            CHECK_EQ_U64(w.ids[i * 3 + k], local[i][k]);
    CHECK_EQ_U64(tvp_lenc_map_len(&t, w.sets), 9);
    struct tvp_labels cl[3];
    uint32_t map[9];
    uint32_t *maps[1] = {map};
    const struct tvp_labels *sets[1] = {w.sets};
    for (size_t k = 0; k < 3; k++)
        CHECK(tvp_lenc_merge_column(&t, k, sets, 1, &cl[k], maps) == 0);
    static const uint32_t want_map[9] = {2, 1, 0, 2, 1, 0, 2, 0, 1};
    for (int i = 0; i < 9; i++)
        CHECK_EQ_U64(map[i], want_map[i]);
    CHECK(tvp_lenc_worker_encode(&t, &w, map) == 0);
    static const uint32_t codes[3][6] = {
        {2, 1, 0, 2, 1, 0}, {2, 1, 0, 1, 2, 0}, {2, 0, 1, 0, 1, 2}};
    for (int i = 0; i < 6; i++)
        for (int k = 0; k < 3; k++)
            CHECK_EQ_U64(w.ids[i * 3 + k], codes[k][i]);
    CHECK(tvp_lenc_worker_format(&t, &w) == 0);
    CHECK(same(w.out.data, w.out.len, want + 23, sizeof want - 1 - 23));
    CHECK(w.t.parse >= 0 && w.t.fit >= 0 && w.t.encode >= 0 && w.t.format >= 0);
    free_sets(cl, 3);
    tvp_lenc_worker_free(&w);
    tvp_lenc_table_free(&t);

    /* transform with that file gives the same codes; inverse gives the labels back */
    expect_out(in, sizeof in - 1, ',', NULL, TVP_LENC_TRANSFORM, json, want);
    expect_out(want, sizeof want - 1, ',', NULL, TVP_LENC_INVERSE, json, in);
    /* one column, by name, from the same file: the others are copied */
    expect_out(in, sizeof in - 1, ',', "sizes", TVP_LENC_TRANSFORM, json,
               "colors,sizes,materials\nred,2,wood\ngreen,1,metal\nblue,0,plastic\n"
               "red,1,metal\ngreen,2,plastic\nblue,0,wood\n");
    free(json);
    free(out);
}

/* ---- dialect ------------------------------------------------------------------------------- */

static void test_dialect(void)
{
    /* quoted fields with delimiters, quotes and newlines */
    static const char q[] = "name,desc,size\n"
                            "\"Smith, J\",\"say \"\"hi\"\"\",big\n"
                            "\"multi\nline\",plain,small\n";
    EXPECT_FIT(q, ',', NULL, "name,desc,size\n0,1,0\n1,0,1\n");
    /* the others copied, quoted again where needed */
    EXPECT_FIT(q, ',', "size",
               "name,desc,size\n\"Smith, J\",\"say \"\"hi\"\"\",0\n\"multi\nline\",plain,1\n");
    EXPECT_FIT(q, ',', "desc,name", "name,desc,size\n0,1,big\n1,0,small\n");
    /* quotes that are not needed are dropped; "" is the empty label */
    EXPECT_FIT("a,b,c\n\"x\",\"plain\",\"\"\n", ',', "a", "a,b,c\n0,plain,\n");
    /* CRLF, a blank line, no final newline */
    EXPECT_FIT("a,b\r\nx,y\r\n\r\nz,y", ',', NULL, "a,b\n0,0\n1,0\n");
    EXPECT_FIT("a,b\r\nx,y\r\nz,y\r\n", ',', "a", "a,b\n0,y\n1,y\n");
    /* BOM: skipped before the header only */
    EXPECT_FIT("\xEF\xBB\xBF" "a,b\nx,1\n", ',', "a", "a,b\n0,1\n");
    EXPECT_FIT("\xEF\xBB\xBF" "a\nx\n\xEF\xBB\xBFx\n", ',', NULL, "a\n0\n1\n");
    /* empty fields are the label "" (first in byte order) */
    EXPECT_FIT("a,b\n,x\ny,\n,\n", ',', NULL, "a,b\n0,1\n1,0\n0,0\n");
    EXPECT_FIT("a\n\"\"\nz\n", ',', NULL, "a\n0\n1\n");
    /* a copied empty field alone in its record stays "" (not a blank line) */
    expect_out("a\n\"\"\nz\n", 7, ',', NULL, TVP_LENC_TRANSFORM, "{}", "a\n\"\"\nz\n");
    /* non-ASCII labels, byte order: e < z < é < 日本 < 😀 */
    EXPECT_FIT("l\n\xF0\x9F\x98\x80\n\xC3\xA9\nz\n\xE6\x97\xA5\xE6\x9C\xAC\ne\n", ',', NULL,
               "l\n4\n2\n1\n3\n0\n");
    /* ';' */
    EXPECT_FIT("a;b\nx,1;p\ny;\"q;r\"\n", ';', NULL, "a;b\n0;0\n1;1\n");
    EXPECT_FIT("a;b\nx,1;p\ny;\"q;r\"\n", ';', "b", "a;b\nx,1;0\ny;1\n");
    EXPECT_FIT("a;b\nx,1;p\ny;\"q;r\"\n", ';', "a", "a;b\n0;p\n1;\"q;r\"\n");
    /* tab; and a digit as the delimiter: codes are quoted then */
    EXPECT_FIT("a\tb\nx y\t1\n", '\t', "a", "a\tb\n0\t1\n");
    EXPECT_FIT("a1b\nx1y\nz1w\n", '1', NULL, "a1b\n01\"1\"\n\"1\"10\n");
    /* header only, and a header without a final newline */
    char *json;
    size_t n;
    char *out = encode_all("a,b\n", 4, ',', NULL, TVP_LENC_FIT, NULL, &json, &n);
    CHECK(same(out, n, "a,b\n", 4));
    CHECKF(strcmp(json, "{\n  \"a\": [],\n  \"b\": []\n}\n") == 0, "%s", json);
    free(out);
    free(json);
    EXPECT_FIT("a,b", ',', NULL, "a,b\n");
    /* column names that need quoting, --columns quoting them */
    EXPECT_FIT("\"a,1\",\"b\"\"\"\nx,y\n", ',', "\"b\"\"\"", "\"a,1\",\"b\"\"\"\nx,0\n");
    EXPECT_FIT("\"a,1\",\"b\"\"\"\nx,y\n", ',', "\"a,1\"", "\"a,1\",\"b\"\"\"\n0,y\n");
    /* many classes: codes of several digits */
    struct tvp_csv_buf in = {0}, want = {0};
    buf_str(&in, "n,m\n");
    buf_str(&want, "n,m\n");
    for (int i = 0; i < 12345; i++) {
        char line[64];
        /* labels "v00000".."v12344" in reverse: code = the number */
        int v = 12344 - i;
        snprintf(line, sizeof line, "v%05d,%d\n", v, i % 7);
        buf_str(&in, line);
        snprintf(line, sizeof line, "%d,%d\n", v, i % 7);
        buf_str(&want, line);
    }
    buf_add(&want, "", 1);
    expect_out(in.data, in.len, ',', "n", TVP_LENC_FIT, NULL, want.data);
    free(in.data);
    free(want.data);
}

/* ---- random tables ---------------------------------------------------------------------- */

static const char *const pool[] = {
    "red", "green", "blue", "", "a b", " lead", "trail ", "x,y", "q\"q", "\"", "l1\nl2",
    "l1\r\nl2", "\n\n\n", "cr\rin", "semi;colon", "tab\there", "\xC3\xA9", "\xE6\x97\xA5\xE6\x9C\xAC",
    "\xF0\x9F\x98\x80", "nul\0byte", "0", "12", "a long label of more than forty bytes, with a comma",
};
static const size_t pool_len[] = {3, 5, 4, 0, 3, 5, 6, 3, 3, 1, 5, 6, 3, 5, 10, 8, 2, 6, 4, 8, 1, 2, 51};
#define NPOOL (sizeof pool / sizeof pool[0])

struct rtable {
    size_t ncols, nrows;
    size_t *lab; /* [nrows * ncols]: pool index */
};

static struct rtable rnd_table(size_t maxrows)
{
    struct rtable r;
    r.ncols = 1 + rnd_below(4);
    r.nrows = rnd_below(maxrows + 1);
    r.lab = xmalloc((r.nrows * r.ncols + 1) * sizeof *r.lab);
    size_t span = 2 + rnd_below(NPOOL - 1); /* labels of this table: pool[0, span) */
    for (size_t i = 0; i < r.nrows * r.ncols; i++)
        r.lab[i] = rnd_below(span);
    return r;
}

static void put(struct tvp_csv_buf *b, const char *p, size_t n, char delim, size_t c, size_t nc)
{
    CHECK(tvp_csv_put(b, p, n, delim,
                      (c == 0 ? TVP_CSV_FIRST : 0u) | (c + 1 == nc ? TVP_CSV_LAST : 0u)) == 0);
}

/* The table as CSV: canonical (tvp_csv_put), or nasty: fields quoted that need not be,
 * CRLF line ends, blank lines, a BOM, no final newline. */
static void write_rtable(const struct rtable *r, char delim, int nasty, struct tvp_csv_buf *b)
{
    if (nasty && rnd_below(4) == 0)
        buf_str(b, "\xEF\xBB\xBF");
    for (size_t c = 0; c < r->ncols; c++) {
        char h[24];
        snprintf(h, sizeof h, "c%zu", c);
        put(b, h, strlen(h), delim, c, r->ncols);
    }
    for (size_t i = 0; i < r->nrows; i++) {
        for (size_t c = 0; c < r->ncols; c++) {
            size_t j = r->lab[i * r->ncols + c];
            if (nasty && rnd_below(4) == 0) {
                if (c)
                    buf_add(b, &delim, 1);
                buf_add(b, "\"", 1);
                for (size_t k = 0; k < pool_len[j]; k++)
                    buf_add(b, pool[j][k] == '"' ? "\"\"" : pool[j] + k, pool[j][k] == '"' ? 2 : 1);
                buf_add(b, "\"\n", 1 + (c + 1 == r->ncols));
            } else {
                put(b, pool[j], pool_len[j], delim, c, r->ncols);
            }
        }
        if (nasty && b->data[b->len - 1] == '\n' && rnd_below(3) == 0) {
            b->len--;
            buf_str(b, "\r\n");
        }
        if (nasty && rnd_below(8) == 0)
            buf_str(b, rnd_below(2) ? "\n" : "\r\n");
    }
    if (nasty && rnd_below(4) == 0 && b->data[b->len - 1] == '\n') {
        b->len--;
        if (b->data[b->len - 1] == '\r')
            b->len--;
    }
}

static int pool_cmp(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return tvp_label_cmp(pool[x], pool_len[x], pool[y], pool_len[y]);
}

/* The oracle: the encoded table (canonical CSV) and each encoded column's classes (pool
 * indices, sorted), computed with qsort, independently of the engine. */
static void oracle(const struct rtable *r, const unsigned char *sel, char delim,
                   struct tvp_csv_buf *out, size_t classes[][NPOOL], size_t *nclasses)
{
    size_t code[4][NPOOL];
    for (size_t c = 0; c < r->ncols; c++) {
        char h[24];
        snprintf(h, sizeof h, "c%zu", c);
        put(out, h, strlen(h), delim, c, r->ncols);
        int seen[NPOOL] = {0};
        nclasses[c] = 0;
        for (size_t i = 0; i < r->nrows; i++) {
            size_t j = r->lab[i * r->ncols + c];
            if (!seen[j]++)
                classes[c][nclasses[c]++] = j;
        }
        qsort(classes[c], nclasses[c], sizeof classes[c][0], pool_cmp);
        for (size_t k = 0; k < nclasses[c]; k++)
            code[c][classes[c][k]] = k;
    }
    for (size_t i = 0; i < r->nrows; i++)
        for (size_t c = 0; c < r->ncols; c++) {
            size_t j = r->lab[i * r->ncols + c];
            if (sel[c]) {
                char d[24];
                snprintf(d, sizeof d, "%zu", code[c][j]);
                put(out, d, strlen(d), delim, c, r->ncols);
            } else {
                put(out, pool[j], pool_len[j], delim, c, r->ncols);
            }
        }
}

/* a random --columns list (NULL: all), and which columns it selects */
static const char *rnd_columns(size_t ncols, unsigned char *sel, char *list)
{
    if (rnd_below(3) == 0) {
        memset(sel, 1, ncols);
        return NULL;
    }
    memset(sel, 0, ncols);
    list[0] = 0;
    size_t want = 1 + rnd_below(ncols);
    while (want) {
        size_t c = rnd_below(ncols);
        if (sel[c])
            continue;
        sel[c] = 1;
        want--;
        sprintf(list + strlen(list), "%sc%zu", list[0] ? "," : "", c);
    }
    return list;
}

static void test_split(void)
{
    static const char delims[] = {',', ';', '\t', '|'};
    for (int iter = 0; iter < 300; iter++) {
        struct rtable r = rnd_table(iter % 10 == 0 ? 400 : 30);
        char delim = delims[rnd_below(4)];
        struct tvp_csv_buf in = {0}, want = {0};
        write_rtable(&r, delim, iter % 3 != 0, &in);
        unsigned char sel[4];
        char list[32];
        const char *columns = rnd_columns(r.ncols, sel, list);
        size_t classes[4][NPOOL], ncl[4];
        oracle(&r, sel, delim, &want, classes, ncl);
        /* encode_all: the reference == every split, threads' and processes' way */
        char *json;
        size_t n;
        char *out = encode_all(in.data, in.len, delim, columns, TVP_LENC_FIT, NULL, &json, &n);
        CHECKF(same(out, n, want.data, want.len), "iter %d\ninput:\n%.*s\ngot:\n%s\nwant:\n%.*s",
               iter, (int)in.len, in.data, out, (int)want.len, want.data);
        /* the classes, through the file */
        struct tvp_labels_file f;
        char err[512];
        CHECKF(tvp_labels_parse_json(json, strlen(json), CNAME, &f, err, sizeof err) == 0, "%s",
               err);
        size_t k = 0;
        for (size_t c = 0; c < r.ncols; c++) {
            if (!sel[c])
                continue;
            CHECK_EQ_U64(tvp_labels_count(&f.classes[k]), ncl[c]);
            for (size_t i = 0; i < ncl[c]; i++)
                CHECK(label_is(tvp_labels_get(&f.classes[k], i), pool[classes[c][i]],
                               pool_len[classes[c][i]]));
            k++;
        }
        CHECK_EQ_U64(tvp_labels_count(&f.names), k);
        tvp_labels_file_free(&f);
        free(json);
        free(out);
        free(in.data);
        free(want.data);
        free(r.lab);
    }
    /* a quoted field of many lines, so that the parts' targets land inside it */
    struct tvp_csv_buf in = {0}, want = {0};
    buf_str(&in, "id,text\n");
    buf_str(&want, "id,text\n");
    for (int i = 0; i < 20; i++) {
        char line[64];
        snprintf(line, sizeof line, "%d,\"", i % 3);
        buf_str(&in, line);
        for (int j = 0; j < 30; j++)
            buf_str(&in, j % 2 ? "ab\n" : "c,\"\"\r\n");
        buf_str(&in, i % 2 ? "\"\n" : "x\"\n");
        snprintf(line, sizeof line, "%d,%d\n", i % 3, (i + 1) % 2); /* "...\n" < "...\nx" */
        buf_str(&want, line);
    }
    buf_add(&want, "", 1);
    for (int parts = 2; parts <= MAXP; parts++) {
        struct tvp_lenc_table t;
        char err[512];
        struct tvp_csv_part p[MAXP];
        CHECK(table(&t, in.data, in.len, ',', NULL, TVP_LENC_FIT, NULL, err) == 0);
        CHECK(tvp_csv_split(in.data, in.len, t.data_begin, t.data_line, parts, p) == 0);
        for (int i = 1; i < parts; i++) /* every cut is at a record's start "N,\"" */
            CHECK(p[i].begin == in.len || (in.data[p[i].begin + 1] == ',' &&
                                           in.data[p[i].begin + 2] == '"'));
        tvp_lenc_table_free(&t);
    }
    expect_out(in.data, in.len, ',', NULL, TVP_LENC_FIT, NULL, want.data);
    free(in.data);
    free(want.data);
}

/* ---- fit, transform, inverse ------------------------------------------------------------- */

static void test_roundtrip(void)
{
    for (int iter = 0; iter < 200; iter++) {
        struct rtable r = rnd_table(iter % 10 == 0 ? 300 : 25);
        char delim = iter % 2 ? ',' : ';';
        struct tvp_csv_buf in = {0};
        write_rtable(&r, delim, 0, &in); /* canonical: inverse gives these bytes back */
        unsigned char sel[4];
        char list[32];
        const char *columns = rnd_columns(r.ncols, sel, list);
        char *json;
        size_t n1, n2, n3;
        char *enc = encode_all(in.data, in.len, delim, columns, TVP_LENC_FIT, NULL, &json, &n1);
        /* transform with the classes fitted: the same codes (default columns: the file's) */
        char *tr = encode_all(in.data, in.len, delim, rnd_below(2) ? columns : NULL,
                              TVP_LENC_TRANSFORM, json, NULL, &n2);
        CHECKF(same(tr, n2, enc, n1), "iter %d\nfit:\n%s\ntransform:\n%s", iter, enc, tr);
        /* inverse of the codes: the input */
        char *inv = encode_all(enc, n1, delim, columns, TVP_LENC_INVERSE, json, NULL, &n3);
        CHECKF(same(inv, n3, in.data, in.len), "iter %d\ninput:\n%.*s\ninverse:\n%s", iter,
               (int)in.len, in.data, inv);
        free(inv);
        free(tr);
        free(enc);
        free(json);
        free(in.data);
        free(r.lab);
    }
    /* leading zeros are codes too (pandas reads "01" as 1) */
    expect_out("a,b\n01,x\n000,y\n", 15, ',', NULL, TVP_LENC_INVERSE, "{\"a\": [\"p\", \"q\"]}",
               "a,b\nq,x\np,y\n");
    /* transform: columns the file names, in header order, whatever the file's order */
    expect_out("a,b,c\nx,y,z\n", 12, ',', NULL, TVP_LENC_TRANSFORM,
               "{\"c\": [\"z\"], \"a\": [\"w\", \"x\"]}", "a,b,c\n1,y,0\n");
    /* inverse: labels quoted where needed */
    expect_out("a;b\n1;0\n0;1\n", 12, ';', NULL, TVP_LENC_INVERSE,
               "{\"a\": [\"\", \"x;y\"], \"b\": [\"\\\"\", \"l\\nm\"]}",
               "a;b\n\"x;y\";\"\"\"\"\n;\"l\nm\"\n");
}

/* ---- errors -------------------------------------------------------------------------------- */

static void test_errors(void)
{
    const enum tvp_lenc_mode F = TVP_LENC_FIT, T = TVP_LENC_TRANSFORM, I = TVP_LENC_INVERSE;
    /* field counts, line numbers after quoted newlines, CRLF and blank lines */
    EXPECT_ERR("a,b,c\n1,2,3\n1,2,3,4\n", ',', NULL, F, NULL, TVP_EINPUT,
               NAME ":3: row has 4 fields, the header has 3");
    EXPECT_ERR("a,b\n\"x\ny\nz\",1\n\r\n\n1,2,3\n", ',', NULL, F, NULL, TVP_EINPUT,
               NAME ":7: row has 3 fields, the header has 2");
    EXPECT_ERR("a,b\r\n1,2\r\n\"p\"\"\nq\",1\r\n3", ',', "a", F, NULL, TVP_EINPUT,
               NAME ":5: row has 1 field, the header has 2");
    EXPECT_ERR("a\n1\n2;3\n4,5\n", ';', NULL, F, NULL, TVP_EINPUT,
               NAME ":3: row has 2 fields, the header has 1");
    /* CSV errors of the reader, with their lines */
    EXPECT_ERR("a,b\n1,2\n\"x\n,3\n", ',', NULL, F, NULL, TVP_EINPUT,
               NAME ":3: unterminated quoted field");
    EXPECT_ERR("a,b\n1,2\n\n3,x\"y\n", ',', NULL, F, NULL, TVP_EINPUT,
               NAME ":4: '\"' inside an unquoted field");
    EXPECT_ERR("a,b\n\"1\nz\"q,2\n", ',', NULL, F, NULL, TVP_EINPUT,
               NAME ":3: text after a closing quote");
    EXPECT_ERR("a,\"b\n", ',', NULL, F, NULL, TVP_EINPUT, NAME ":1: unterminated quoted field");
    /* structural errors come first, whatever the split (a field count error after an
     * unseen label) */
    EXPECT_ERR("a\nzz\n1,2\n", ',', NULL, T, "{\"a\": [\"x\"]}", TVP_EINPUT,
               NAME ":3: row has 2 fields, the header has 1");
    /* the header */
    EXPECT_ERR("a,b,a\n1,2,3\n", ',', NULL, F, NULL, TVP_EINPUT,
               NAME ":1: duplicate column name \"a\"");
    EXPECT_ERR("\n\nx,,\n", ',', NULL, F, NULL, TVP_EINPUT, NAME ":3: duplicate column name \"\"");
    EXPECT_ERR("", ',', NULL, F, NULL, TVP_EINPUT, NAME ":1: empty file");
    EXPECT_ERR("\n\r\n\n", ',', NULL, F, NULL, TVP_EINPUT, NAME ":1: empty file");
    EXPECT_ERR("\xEF\xBB\xBF", ',', NULL, F, NULL, TVP_EINPUT, NAME ":1: empty file");
    EXPECT_ERR("\xEF\xBB\xBF\n", ',', NULL, F, NULL, TVP_EINPUT, NAME ":1: empty file");
    EXPECT_ERR("a\n", '"', NULL, F, NULL, TVP_EUSAGE, "the delimiter cannot be '\"', CR or LF");
    /* --columns */
    EXPECT_ERR("a,b,c\n1,2,3\n", ',', "a,x", F, NULL, TVP_EUSAGE,
               "--columns: no column \"x\" in " NAME " (it has: a, b, c)");
    EXPECT_ERR("a,b,c\n1,2,3\n", ',', "b,a,b", F, NULL, TVP_EUSAGE,
               "--columns: column \"b\" is given twice");
    EXPECT_ERR("a,b,c\n1,2,3\n", ',', "", F, NULL, TVP_EUSAGE, "--columns: the list is empty");
    EXPECT_ERR("a,b,c\n1,2,3\n", ',', "a,\"b", F, NULL, TVP_EUSAGE,
               "--columns: unterminated quoted field");
    EXPECT_ERR("a,b,c\n1,2,3\n", ',', "a\nb", F, NULL, TVP_EUSAGE,
               "--columns: one line of names expected (a newline in the list)");
    EXPECT_ERR("a;b\n1;2\n", ';', "a;b", F, NULL, TVP_EUSAGE,
               "--columns: no column \"a;b\" in " NAME " (it has: a, b)");
    /* the classes file */
    EXPECT_ERR("a,b\n1,2\n", ',', NULL, T, "{\"a\": [\"x\", }", TVP_EINPUT,
               CNAME ":1: expected '\"' (a class)");
    EXPECT_ERR("a,b\n1,2\n", ',', NULL, T, "", TVP_EINPUT, CNAME ": empty file");
    EXPECT_ERR("a,b\n1,2\n", ',', NULL, I, "{\"a\": [\"y\", \"x\"]}", TVP_EINPUT,
               CNAME ":1: column \"a\": class 1, \"x\", sorts before class 0: not sorted as "
                     "LabelEncoder's classes_");
    EXPECT_ERR("a,b\n1,2\n", ',', NULL, T, NULL, TVP_EUSAGE,
               "transform and inverse need the classes (--classes-in)");
    EXPECT_ERR("a,b\n1,2\n", ',', "a,b", T, "{\"a\": [\"1\"]}", TVP_EINPUT,
               CNAME ": no classes for column \"b\"");
    EXPECT_ERR("a,b\n1,2\n", ',', NULL, I, "{\"a\": [\"1\"], \"zz\": []}", TVP_EINPUT,
               CNAME ": column \"zz\" is not in " NAME);
    /* unseen labels: the column, the label (escaped, cut), the line */
    static const char *const js = "{\"a\": [\"x\", \"y\"], \"b\": [\"1\", \"2\"]}";
    EXPECT_ERR("a,b\nx,1\n\"q\nq\",2\ny,3\n", ',', NULL, T, js, TVP_EINPUT,
               NAME ":3: column \"a\": unseen label \"q\\u000aq\" (not in " CNAME ")");
    EXPECT_ERR("a,b\nx,1\ny,2\ny,3\n", ',', NULL, T, js, TVP_EINPUT,
               NAME ":4: column \"b\": unseen label \"3\" (not in " CNAME ")");
    EXPECT_ERR("a,b\nx,1\n\ny,\n", ',', "b", T, js, TVP_EINPUT,
               NAME ":4: column \"b\": unseen label \"\" (not in " CNAME ")");
    EXPECT_ERR("a,b\nx,1\n\"a\"\"b\\c\xC3\xA9\xFF\",1\n", ',', NULL, T, js, TVP_EINPUT,
               NAME ":3: column \"a\": unseen label \"a\\\"b\\\\c\xC3\xA9\\xff\" (not in " CNAME ")");
    EXPECT_ERR("a,b\nx,1\n0123456789012345678901234567890123456789012345678901234567890,1\n", ',',
               NULL, T, js, TVP_EINPUT,
               NAME ":3: column \"a\": unseen label \"0123456789012345678901234567890123456789...\" "
                    "(not in " CNAME ")");
    /* codes: plain decimal numbers below the count */
    static const char *const ji = "{\"a\": [\"x\", \"y\", \"z\"]}";
    EXPECT_ERR("a\n0\n7\n", ',', NULL, I, ji, TVP_EINPUT,
               NAME ":3: column \"a\": \"7\" is not a code: the column has 3 classes, codes 0 to 2");
    static const char *const bad[] = {"3", "-1", "+1", " 1", "1 ", "1.0", "x", "", "0x1",
                                      "99999999999999999999999", "4294967296"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char in[64], msg[256];
        snprintf(in, sizeof in, "b,a\nq,2\nq,\"%s\"\n", bad[i]);
        snprintf(msg, sizeof msg,
                 NAME ":3: column \"a\": \"%s\" is not a code: the column has 3 classes, codes 0 "
                      "to 2",
                 bad[i]);
        expect_err(in, strlen(in), ',', NULL, I, ji, TVP_EINPUT, msg);
    }
    EXPECT_ERR("a\n0\n1\n", ',', NULL, I, "{\"a\": [\"x\"]}", TVP_EINPUT,
               NAME ":3: column \"a\": \"1\" is not a code: the column has 1 class, code 0");
    EXPECT_ERR("a\n0\n", ',', NULL, I, "{\"a\": []}", TVP_EINPUT,
               NAME ":2: column \"a\": \"0\" is not a code: the column has no classes");
}

/* ---- each part keeps its own first error -------------------------------------------------- */

static void set_part(struct tvp_lenc_worker *w, const char *buf, size_t b, size_t e,
                     uint64_t line, int copy, char **own)
{
    tvp_lenc_worker_init(w);
    if (copy) {
        *own = exact(buf + b, e - b);
        w->buf = *own;
        w->begin = 0;
        w->end = e - b;
    } else {
        *own = NULL;
        w->buf = buf;
        w->begin = b;
        w->end = e;
    }
    w->line = line;
}

static void test_parts(void)
{
    /* lines 2-4 part 0, 5-7 part 1, 8-10 part 2 */
    static const char p0[] = "1,2\nx\n1,2,3\n", p1[] = "3,4\n5,6\n7,8\n",
                      p2[] = "1,2\n\"m\nn\",5,6\n7\n";
    struct tvp_csv_buf in = {0};
    buf_str(&in, "a,b\n");
    buf_str(&in, p0);
    buf_str(&in, p1);
    buf_str(&in, p2);
    size_t cut[4] = {4, 4 + strlen(p0), 4 + strlen(p0) + strlen(p1), in.len};
    uint64_t line[3] = {2, 5, 8};
    struct tvp_lenc_table t;
    char err[512];
    CHECK(table(&t, in.data, in.len, ',', NULL, TVP_LENC_FIT, NULL, err) == 0);
    for (int copy = 0; copy < 2; copy++) {
        struct tvp_lenc_worker w[3];
        char *own[3];
        for (int i = 2; i >= 0; i--) { /* in any order */
            set_part(&w[i], in.data, cut[i], cut[i + 1], line[i], copy, &own[i]);
            tvp_lenc_worker_parse(&t, &w[i]);
        }
        CHECK(w[0].err == TVP_EINPUT);
        CHECKF(strcmp(w[0].msg, NAME ":3: row has 1 field, the header has 2") == 0, "%s", w[0].msg);
        CHECK(w[1].err == 0 && w[1].rows == 3);
        CHECK(w[2].err == TVP_EINPUT);
        /* the record starts on line 9 ("1,2" is line 8) */
        CHECKF(strcmp(w[2].msg, NAME ":9: row has 3 fields, the header has 2") == 0, "%s",
               w[2].msg);
        for (int i = 0; i < 3; i++) {
            tvp_lenc_worker_free(&w[i]);
            free(own[i]);
        }
    }
    tvp_lenc_table_free(&t);

    /* value errors: unseen labels in parts 0 and 2 */
    static const char v0[] = "x\n\"q\"\"\"\nz\n", v1[] = "x\nx\nx\n", v2[] = "x\n\"p\nq\"\nw\n";
    in.len = 0;
    buf_str(&in, "a\n");
    buf_str(&in, v0);
    buf_str(&in, v1);
    buf_str(&in, v2);
    size_t vcut[4] = {2, 2 + strlen(v0), 2 + strlen(v0) + strlen(v1), in.len};
    CHECK(table(&t, in.data, in.len, ',', NULL, TVP_LENC_TRANSFORM, "{\"a\": [\"x\"]}", err) == 0);
    for (int copy = 0; copy < 2; copy++) {
        struct tvp_lenc_worker w[3];
        char *own[3];
        for (int i = 0; i < 3; i++) {
            set_part(&w[i], in.data, vcut[i], vcut[i + 1], line[i], copy, &own[i]);
            CHECK(tvp_lenc_worker_parse(&t, &w[i]) == 0);
        }
        for (int i = 2; i >= 0; i--)
            tvp_lenc_worker_fit(&t, &w[i]);
        CHECKF(strcmp(w[0].msg, NAME ":3: column \"a\": unseen label \"q\\\"\" (not in " CNAME ")") ==
                   0,
               "%s", w[0].msg);
        CHECK(w[1].err == 0 && w[1].ids[0] == 0 && w[1].ids[2] == 0);
        CHECKF(strcmp(w[2].msg, NAME ":9: column \"a\": unseen label \"p\\u000aq\" (not in " CNAME
                                     ")") == 0,
               "%s", w[2].msg);
        /* reset forgets the error */
        tvp_lenc_worker_reset(&w[0]);
        CHECK(w[0].err == 0 && w[0].msg[0] == 0 && w[0].rows == 0);
        for (int i = 0; i < 3; i++) {
            tvp_lenc_worker_free(&w[i]);
            free(own[i]);
        }
    }
    tvp_lenc_table_free(&t);

    /* a part that starts with the bytes of a BOM keeps them (private copy: begin = 0) */
    static const char bom[] = "a\nx\n\xEF\xBB\xBFx\n";
    CHECK(table(&t, bom, sizeof bom - 1, ',', NULL, TVP_LENC_FIT, NULL, err) == 0);
    struct tvp_lenc_worker w;
    char *own;
    set_part(&w, bom, 4, sizeof bom - 1, 3, 1, &own);
    CHECK(tvp_lenc_worker_parse(&t, &w) == 0);
    CHECK(tvp_lenc_worker_fit(&t, &w) == 0);
    CHECK_EQ_U64(w.rows, 1);
    CHECK(label_is(tvp_labels_get(&w.sets[0], 0), "\xEF\xBB\xBFx", 4));
    tvp_lenc_worker_free(&w);
    free(own);
    tvp_lenc_table_free(&t);
    free(in.data);
}

/* ---- the sets as bytes ------------------------------------------------------------------- */

static void test_pack(void)
{
    struct tvp_lenc_table t;
    char err[512];
    static const char in[] = "a,b,c\nx,1,bc\ny,2,\n";
    CHECK(table(&t, in, sizeof in - 1, ',', "a,c", TVP_LENC_FIT, NULL, err) == 0);
    struct tvp_lenc_worker w;
    tvp_lenc_worker_init(&w);
    whole_part(&w, &t, in, sizeof in - 1);
    CHECK(tvp_lenc_worker_parse(&t, &w) == 0 && tvp_lenc_worker_fit(&t, &w) == 0);
    struct tvp_csv_buf b = {0};
    buf_str(&b, "pre"); /* appended */
    CHECK(tvp_lenc_pack_sets(&t, w.sets, &b) == 0);
    static const char want[] = "pre"
                               "\x02\0\0\0\0\0\0\0" "\x01\0\0\0x" "\x01\0\0\0y"
                               "\x02\0\0\0\0\0\0\0" "\x02\0\0\0bc" "\0\0\0\0";
    CHECK(same(b.data, b.len, want, sizeof want - 1));
    struct tvp_labels s[2];
    init_sets(s, 2); /* unpack wants sets set up */
    char *bytes = exact(b.data + 3, b.len - 3);
    size_t n = b.len - 3;
    /* twice into the same sets: the second unpack clears and refills them, in the memory
     * of the first (valgrind sees a leak if it does not) */
    const void *slots[2] = {NULL, NULL};
    for (int again = 0; again < 2; again++) {
        CHECK(tvp_lenc_unpack_sets(&t, bytes, n, s) == 0);
        CHECK_EQ_U64(tvp_labels_count(&s[0]), 2);
        CHECK_EQ_U64(tvp_labels_count(&s[1]), 2);
        CHECK(label_is(tvp_labels_get(&s[0], 0), "x", 1));
        CHECK(label_is(tvp_labels_get(&s[0], 1), "y", 1));
        CHECK(label_is(tvp_labels_get(&s[1], 0), "bc", 2));
        CHECK(label_is(tvp_labels_get(&s[1], 1), "", 0));
        CHECK(tvp_labels_lookup(&s[0], "bc", 2) < 0);
        for (int k = 0; k < 2; k++) {
            if (again)
                CHECK(s[k].slots == slots[k]);
            slots[k] = s[k].slots;
        }
    }
    free(bytes);
    /* every truncation, trailing bytes, and garbage are refused, never read past len; the
     * sets are left empty (and set up) */
    for (size_t cut = 0; cut < n; cut++) {
        bytes = exact(b.data + 3, cut);
        CHECKF(tvp_lenc_unpack_sets(&t, bytes, cut, s) == TVP_EINPUT, "cut %zu", cut);
        CHECK_EQ_U64(tvp_labels_count(&s[0]) + tvp_labels_count(&s[1]), 0);
        free(bytes);
    }
    bytes = exact(want + 3, n + 1); /* one more byte (the NUL) */
    CHECK(tvp_lenc_unpack_sets(&t, bytes, n + 1, s) == TVP_EINPUT);
    free(bytes);
    char g[sizeof want];
    memcpy(g, want + 3, n);
    g[8] = (char)0xFF; /* a huge label length */
    CHECK(tvp_lenc_unpack_sets(&t, g, n, s) == TVP_EINPUT);
    memcpy(g, want + 3, n);
    g[7] = 0x7F; /* a huge count */
    CHECK(tvp_lenc_unpack_sets(&t, g, n, s) == TVP_EINPUT);
    memcpy(g, want + 3, n);
    g[12 + 4 + 4] = 'x'; /* "x" twice */
    CHECK(tvp_lenc_unpack_sets(&t, g, n, s) == TVP_EINPUT);
    /* random sets: pack, unpack, pack again gives the same bytes; same ids */
    for (int iter = 0; iter < 50; iter++) {
        struct tvp_labels r[2];
        for (int k = 0; k < 2; k++) {
            tvp_labels_init(&r[k]);
            size_t m = rnd_below(200);
            for (size_t i = 0; i < m; i++) {
                size_t j = rnd_below(NPOOL);
                char lab[80];
                size_t len = pool_len[j];
                memcpy(lab, pool[j], len);
                len += (size_t)snprintf(lab + len, 16, "%d", (int)rnd_below(50));
                CHECK(tvp_labels_insert(&r[k], lab, len) >= 0);
            }
        }
        struct tvp_csv_buf p1 = {0}, p2 = {0};
        CHECK(tvp_lenc_pack_sets(&t, r, &p1) == 0);
        bytes = exact(p1.data, p1.len);
        CHECK(tvp_lenc_unpack_sets(&t, bytes, p1.len, s) == 0);
        for (int k = 0; k < 2; k++) {
            CHECK_EQ_U64(tvp_labels_count(&s[k]), tvp_labels_count(&r[k]));
            for (size_t i = 0; i < tvp_labels_count(&r[k]); i++) {
                struct tvp_label l = tvp_labels_get(&r[k], i);
                CHECK(label_is(tvp_labels_get(&s[k], i), l.p, l.len));
            }
        }
        CHECK(tvp_lenc_pack_sets(&t, s, &p2) == 0);
        CHECK(same(p1.data, p1.len, p2.data, p2.len));
        free_sets(r, 2); /* s: refilled by the next round's unpack */
        free(bytes);
        free(p1.data);
        free(p2.data);
    }
    free_sets(s, 2);
    free(b.data);
    tvp_lenc_worker_free(&w);
    tvp_lenc_table_free(&t);
}

/* ---- a worker reused across runs; fields copied out of the reader's scratch ------------------- */

/* Runs the whole job on worker w (reset first): returns the output without the header. */
static void run_on(const struct tvp_lenc_table *t, struct tvp_lenc_worker *w, const char *buf,
                   size_t len, struct tvp_csv_buf *out)
{
    tvp_lenc_worker_reset(w);
    whole_part(w, t, buf, len);
    CHECKF(tvp_lenc_worker_parse(t, w) == 0, "%s", w->msg);
    CHECKF(tvp_lenc_worker_fit(t, w) == 0, "%s", w->msg);
    struct tvp_labels *cl = xmalloc((t->nsel + 1) * sizeof *cl);
    uint32_t *map = NULL;
    if (t->mode == TVP_LENC_FIT) {
        map = xmalloc((tvp_lenc_map_len(t, w->sets) + 1) * sizeof *map);
        const struct tvp_labels *sets[1] = {w->sets};
        for (size_t k = 0; k < t->nsel; k++)
            CHECK(tvp_lenc_merge_column(t, k, sets, 1, &cl[k], &map) == 0);
        free_sets(cl, t->nsel);
    }
    CHECK(tvp_lenc_worker_encode(t, w, map) == 0);
    CHECK(tvp_lenc_worker_format(t, w) == 0);
    out->len = 0;
    buf_add(out, w->out.data, w->out.len);
    free(map);
    free(cl);
}

static void test_reuse(void)
{
    /* 30000 fields with "" escapes (about 300 KiB of copies: several arena chunks) */
    struct tvp_csv_buf a = {0}, wa = {0}, b = {0}, wb = {0}, out = {0};
    buf_str(&a, "k,v\n");
    for (int i = 0; i < 30000; i++) {
        char line[64];
        snprintf(line, sizeof line, "%d,\"v\"\"%d\"\n", i % 3, i);
        buf_str(&a, line);
        snprintf(line, sizeof line, "%d,\"v\"\"%d\"\n", i % 3, i);
        buf_str(&wa, line);
    }
    /* one field of 200 KiB with escapes (longer than a chunk), then short ones */
    buf_str(&b, "k,v\n1,\"");
    buf_str(&wb, "0,\"");
    for (int i = 0; i < 20000; i++) {
        buf_str(&b, "\"\"abcdefgh");
        buf_str(&wb, "\"\"abcdefgh");
    }
    buf_str(&b, "\"\n2,\"a\"\"\"\n");
    buf_str(&wb, "\"\n1,\"a\"\"\"\n");
    struct tvp_lenc_table t;
    char err[512];
    CHECK(table(&t, a.data, a.len, ',', "k", TVP_LENC_FIT, NULL, err) == 0);
    struct tvp_lenc_worker w;
    tvp_lenc_worker_init(&w);
    run_on(&t, &w, a.data, a.len, &out);
    CHECK(same(out.data, out.len, wa.data, wa.len));
    size_t narena = w.narena, cells_cap = w.cells_cap, out_cap = w.out.cap;
    const void *cells = w.cells;
    CHECK(narena >= 4);
    /* the sets: reset clears them (tvp_labels_clear), the table and chunks stay */
    const struct tvp_labels *sets = w.sets;
    const void *slots = w.sets[0].slots, *items = w.sets[0].items;
    size_t nchunks = w.sets[0].nchunks;
    CHECK_EQ_U64(tvp_labels_count(&w.sets[0]), 3);
    CHECK(nchunks >= 1);
    /* the same again: no new memory */
    run_on(&t, &w, a.data, a.len, &out);
    CHECK(same(out.data, out.len, wa.data, wa.len));
    CHECK_EQ_U64(w.narena, narena);
    CHECK(w.cells == cells && w.cells_cap == cells_cap && w.out.cap == out_cap);
    CHECK(w.sets == sets && w.sets[0].slots == slots && w.sets[0].items == items);
    CHECK_EQ_U64(w.sets[0].nchunks, nchunks);
    CHECK_EQ_U64(tvp_labels_count(&w.sets[0]), 3);
    tvp_lenc_worker_reset(&w);
    CHECK_EQ_U64(tvp_labels_count(&w.sets[0]), 0);
    CHECK(tvp_labels_lookup(&w.sets[0], "1", 1) < 0);
    /* the long field: a chunk is replaced; then the first input again */
    run_on(&t, &w, b.data, b.len, &out);
    CHECK(same(out.data, out.len, wb.data, wb.len));
    CHECK_EQ_U64(w.rows, 2);
    run_on(&t, &w, a.data, a.len, &out);
    CHECK(same(out.data, out.len, wa.data, wa.len));
    CHECK_EQ_U64(w.narena, narena);
    CHECK(w.cells == cells);
    tvp_lenc_table_free(&t);
    /* the same worker with another table and mode (the sets follow the table) */
    static const char c3[] = "p,q,r\nx,y,z\nz,y,x\n";
    CHECK(table(&t, c3, sizeof c3 - 1, ',', NULL, TVP_LENC_FIT, NULL, err) == 0);
    run_on(&t, &w, c3, sizeof c3 - 1, &out);
    CHECK(same(out.data, out.len, "0,0,1\n1,0,0\n", 12));
    CHECK_EQ_U64(w.nsets, 3);
    tvp_lenc_table_free(&t);
    CHECK(table(&t, c3, sizeof c3 - 1, ',', NULL, TVP_LENC_TRANSFORM, "{\"r\": [\"x\", \"z\"]}",
                err) == 0);
    run_on(&t, &w, c3, sizeof c3 - 1, &out);
    CHECK(same(out.data, out.len, "x,y,1\nz,y,0\n", 12));
    tvp_lenc_table_free(&t);
    tvp_lenc_worker_free(&w);
    tvp_lenc_worker_free(&w); /* harmless twice */
    free(a.data);
    free(wa.data);
    free(b.data);
    free(wb.data);
    free(out.data);
}

/* ---- bench -------------------------------------------------------------------------------- */

static void bench(uint64_t rows)
{
    /* 3 columns of 1000 labels (4..12 letters), drawn with a skew (rank ~ 1000 * u^3) */
    enum { NL = 1000, NC = 3 };
    static char lab[NC][NL][16];
    for (int c = 0; c < NC; c++)
        for (int i = 0; i < NL; i++) {
            int len = 4 + (int)rnd_below(9);
            int n = snprintf(lab[c][i], 16, "%d", i); /* distinct */
            if (len > n)
                rnd_letters(lab[c][i] + n, (size_t)(len - n));
            lab[c][i][len > n ? len : n] = 0;
        }
    struct tvp_csv_buf in = {0};
    buf_str(&in, "color,size,material\n");
    for (uint64_t r = 0; r < rows; r++)
        for (int c = 0; c < NC; c++) {
            double u = (double)(rnd() >> 11) / 9007199254740992.0;
            int i = (int)(NL * u * u * u);
            buf_str(&in, lab[c][i]);
            buf_add(&in, c + 1 < NC ? "," : "\n", 1);
        }
    struct tvp_lenc_table t;
    char err[512];
    CHECK(table(&t, in.data, in.len, ',', NULL, TVP_LENC_FIT, NULL, err) == 0);
    struct tvp_lenc_worker w;
    tvp_lenc_worker_init(&w);
    printf("bench: %" PRIu64 " rows x %d columns, %.1f MB, 1000 skewed labels a column, one worker\n",
           rows, NC, in.len / 1e6);
    for (int rep = 0; rep < 4; rep++) {
        tvp_lenc_worker_reset(&w);
        whole_part(&w, &t, in.data, in.len);
        CHECK(tvp_lenc_worker_parse(&t, &w) == 0);
        CHECK(tvp_lenc_worker_fit(&t, &w) == 0);
        double t0 = tvp_now();
        uint32_t *map = xmalloc(tvp_lenc_map_len(&t, w.sets) * sizeof *map);
        struct tvp_labels cl[NC];
        const struct tvp_labels *sets[1] = {w.sets};
        for (size_t k = 0; k < NC; k++)
            CHECK(tvp_lenc_merge_column(&t, k, sets, 1, &cl[k], &map) == 0);
        double merge = tvp_now() - t0;
        CHECK(tvp_lenc_worker_encode(&t, &w, map) == 0);
        CHECK(tvp_lenc_worker_format(&t, &w) == 0);
        double strings = (double)rows * NC;
        printf("  parse %.0f MB/s (%.3f s) | fit+encode %.1f M strings/s (fit %.3f s, encode "
               "%.3f s) | merge %.4f s | format %.0f MB/s out\n",
               (in.len - t.data_begin) / w.t.parse / 1e6, w.t.parse,
               strings / (w.t.fit + w.t.encode) / 1e6, w.t.fit, w.t.encode, merge,
               w.out.len / w.t.format / 1e6);
        free_sets(cl, NC);
        free(map);
    }
    tvp_lenc_worker_free(&w);
    tvp_lenc_table_free(&t);
    free(in.data);
}

TEST_MAIN("test_lenc", UINT64_C(0x1e9c0de), bench, 2000000, {"accept", test_accept},
          {"dialect", test_dialect}, {"split", test_split}, {"roundtrip", test_roundtrip},
          {"errors", test_errors}, {"parts", test_parts}, {"pack", test_pack},
          {"reuse", test_reuse})
