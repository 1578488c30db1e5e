/* Unit tests of common/csv.c: the reader (RFC 4180, CRLF, BOM, empty fields, byte-exact
 * UTF-8, every error with its line number), the writer (quoting, round trips), the
 * parallel split (parts' records == the whole file's, also where a naive newline cut
 * would land inside quotes), and a fuzz loop of mutated files (never a crash or an
 * out-of-bounds read: every input buffer is malloc'd at its exact size, so valgrind and
 * ASan see any overrun).  Random cases come from a fixed seed, printed at the start, which
 * TVP_TEST_SEED overrides.
 *
 * usage: test_csv DATA_FOLDER [SECTION]   (no section: every section but bench)
 *        test_csv DATA_FOLDER bench [ROWS]  speed of reader, split and writer */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "csv.h"
#include "tvp.h"

/* ---- helpers ---------------------------------------------------------------------------- */

static void buf_add(struct tvp_csv_buf *b, const void *p, size_t n)
{
    if (b->cap - b->len < n) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap - b->len < n)
            cap *= 2;
        b->data = realloc(b->data, cap);
        CHECK(b->data != NULL);
        b->cap = cap;
    }
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
}

static void buf_u64(struct tvp_csv_buf *b, uint64_t v)
{
    buf_add(b, &v, sizeof v);
}

/* an exact-size heap copy, so that any read past the end is caught */
/* a and b hold the same bytes (either may be empty with a NULL data) */
static int same(const struct tvp_csv_buf *a, const struct tvp_csv_buf *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

static char *exact(const char *p, size_t n)
{
    char *c = xmalloc(n);
    if (n)
        memcpy(c, p, n);
    return c;
}

/* Parses buf[begin,end) into a dump: per record its field count, each field's length and
 * bytes, and the reader's pos and line after it.  Returns the reader's final code (0 or
 * an error), the record count in *nrec. */
static int parse_dump(const char *buf, size_t begin, size_t end, char delim, uint64_t line,
                      struct tvp_csv_buf *dump, size_t *nrec, char *err, size_t errlen)
{
    struct tvp_csv_reader r;
    CHECK(tvp_csv_reader_init(&r, buf, begin, end, delim, line) == 0);
    const struct tvp_csv_field *f;
    int n;
    size_t count = 0;
    while ((n = tvp_csv_next(&r, &f, err, errlen)) > 0) {
        count++;
        buf_u64(dump, (uint64_t)n);
        for (int i = 0; i < n; i++) {
            CHECK(f[i].p != NULL);
            buf_u64(dump, f[i].len);
            buf_add(dump, f[i].p, f[i].len);
        }
        buf_u64(dump, r.pos);
        buf_u64(dump, r.line);
        CHECK(r.pos <= end);
    }
    if (nrec)
        *nrec = count;
    tvp_csv_reader_free(&r);
    return n;
}

/* The records of text (whole file), as fields, must be `want`: fields, NULL after each
 * record, a second NULL at the end. */
static void expect_records(const char *text, size_t len, char delim, const char *const *want)
{
    char *buf = exact(text, len);
    struct tvp_csv_reader r;
    CHECK(tvp_csv_reader_init(&r, buf, 0, len, delim, 1) == 0);
    const struct tvp_csv_field *f;
    char err[200] = "";
    size_t w = 0, rec = 0;
    int n;
    while ((n = tvp_csv_next(&r, &f, err, sizeof err)) > 0) {
        for (int i = 0; i < n; i++) {
            CHECKF(want[w] != NULL, "record %zu: more fields than expected in [%.*s]", rec,
                   (int)len, text);
            CHECKF(f[i].len == strlen(want[w]) && memcmp(f[i].p, want[w], f[i].len) == 0,
                   "record %zu field %d: got [%.*s] want [%s]", rec, i, (int)f[i].len,
                   f[i].p, want[w]);
            w++;
        }
        CHECKF(want[w] == NULL, "record %zu: fewer fields than expected", rec);
        w++;
        rec++;
    }
    CHECKF(n == 0, "error %d: %s", n, err);
    CHECKF(want[w] == NULL, "fewer records than expected (%zu)", rec);
    tvp_csv_reader_free(&r);
    free(buf);
}

#define EXPECT(text, ...)                                                                  \
    do {                                                                                   \
        static const char *const want_[] = {__VA_ARGS__, NULL};                            \
        expect_records(text, sizeof(text) - 1, ',', want_);                                \
    } while (0)

/* parse then write (canonical form) */
static char *canonical(const char *text, size_t len, char delim, size_t *outlen, int *rc)
{
    char *buf = exact(text, len);
    struct tvp_csv_reader r;
    CHECK(tvp_csv_reader_init(&r, buf, 0, len, delim, 1) == 0);
    struct tvp_csv_buf out = {0};
    const struct tvp_csv_field *f;
    char err[200];
    int n;
    while ((n = tvp_csv_next(&r, &f, err, sizeof err)) > 0)
        CHECK(tvp_csv_put_record(&out, f, (size_t)n, delim) == 0);
    *rc = n;
    tvp_csv_reader_free(&r);
    free(buf);
    *outlen = out.len;
    buf_add(&out, "", 1);
    return out.data;
}

static void expect_canonical(const char *text, size_t len, const char *want)
{
    size_t n;
    int rc;
    char *got = canonical(text, len, ',', &n, &rc);
    CHECK(rc == 0);
    CHECKF(n == strlen(want) && memcmp(got, want, n) == 0, "got [%s] want [%s]", got, want);
    free(got);
}

static void expect_error(const char *text, size_t len, const char *msg)
{
    char *buf = exact(text, len);
    struct tvp_csv_reader r;
    CHECK(tvp_csv_reader_init(&r, buf, 0, len, ',', 1) == 0);
    const struct tvp_csv_field *f;
    char err[200] = "";
    int n;
    while ((n = tvp_csv_next(&r, &f, err, sizeof err)) > 0)
        ;
    CHECKF(n == TVP_EINPUT, "input [%.*s]: rc %d", (int)len, text, n);
    CHECKF(strcmp(err, msg) == 0, "input [%.*s]: got \"%s\" want \"%s\"", (int)len, text,
           err, msg);
    CHECK(strchr(err, '\n') == NULL);
    tvp_csv_reader_free(&r);
    free(buf);
}

#define CANON(text, want) expect_canonical(text, sizeof(text) - 1, want)
#define ERR(text, msg) expect_error(text, sizeof(text) - 1, msg)

/* ---- sections --------------------------------------------------------------------------- */

static void test_accept(void)
{
    EXPECT("color,size,material\nred,small,wood\nblue,large,metal\nred,medium,wood\n",
           "color", "size", "material", NULL, "red", "small", "wood", NULL, "blue", "large",
           "metal", NULL, "red", "medium", "wood", NULL);
    /* no final newline, CRLF, BOM */
    EXPECT("a,b\nc,d", "a", "b", NULL, "c", "d", NULL);
    EXPECT("a,b\r\nc,d\r\n", "a", "b", NULL, "c", "d", NULL);
    EXPECT("a,b\r\nc,d\r", "a", "b", NULL, "c", "d", NULL);
    EXPECT("\xEF\xBB\xBF" "a,b\nc,d\n", "a", "b", NULL, "c", "d", NULL);
    EXPECT("\xEF\xBB\xBF", NULL);
    EXPECT("", NULL);
    EXPECT("\n\n\r\n", NULL);
    /* a BOM later on is data */
    EXPECT("a\n\xEF\xBB\xBF" "b\n", "a", NULL, "\xEF\xBB\xBF" "b", NULL);
    /* empty fields */
    EXPECT(",,\n", "", "", "", NULL);
    EXPECT("a,\n,b\n", "a", "", NULL, "", "b", NULL);
    EXPECT("a,", "a", "", NULL);
    EXPECT("\"\"\n", "", NULL);
    EXPECT("\"\",\"\"\n", "", "", NULL);
    /* blank lines are skipped */
    EXPECT("a\n\nb\r\n\r\nc\n\n", "a", NULL, "b", NULL, "c", NULL);
    /* quoting */
    EXPECT("\"a,b\",c\n", "a,b", "c", NULL);
    EXPECT("\"say \"\"hi\"\"\",x\n", "say \"hi\"", "x", NULL);
    EXPECT("\"\"\"\"\n", "\"", NULL);
    EXPECT("\"a\nb\",c\n", "a\nb", "c", NULL);
    EXPECT("\"a\r\nb\",c\r\n", "a\r\nb", "c", NULL);
    EXPECT("\"a\"\"\nb\"\"\",\"c\"\"\"\nd\n", "a\"\nb\"", "c\"", NULL, "d", NULL);
    EXPECT("\"x\"", "x", NULL);
    EXPECT("\"x\"\r", "x", NULL);
    /* spaces are data; a bare CR inside an unquoted field is data */
    EXPECT(" a , b \n", " a ", " b ", NULL);
    EXPECT("a\rb,c\n", "a\rb", "c", NULL);
    /* non-ASCII, byte-exact */
    EXPECT("caf\xC3\xA9,\xE6\x97\xA5\xE6\x9C\xAC,\xF0\x9F\x98\x80\n"
           "\"\xC3\xA9,\xF0\x9F\x98\x80\"\n",
           "caf\xC3\xA9", "\xE6\x97\xA5\xE6\x9C\xAC", "\xF0\x9F\x98\x80", NULL,
           "\xC3\xA9,\xF0\x9F\x98\x80", NULL);
    /* NUL and high bytes are data */
    {
        static const char t[] = "a\0b,\xff\n";
        char *buf = exact(t, sizeof t - 1);
        struct tvp_csv_reader r;
        CHECK(tvp_csv_reader_init(&r, buf, 0, sizeof t - 1, ',', 1) == 0);
        const struct tvp_csv_field *f;
        CHECK(tvp_csv_next(&r, &f, NULL, 0) == 2);
        CHECK(f[0].len == 3 && memcmp(f[0].p, "a\0b", 3) == 0);
        CHECK(f[1].len == 1 && (unsigned char)f[1].p[0] == 0xff);
        CHECK(tvp_csv_next(&r, &f, NULL, 0) == 0);
        tvp_csv_reader_free(&r);
        free(buf);
    }
    /* other delimiters; a comma is then data */
    {
        static const char *const want[] = {"a,b", "c", NULL, "d\"", "", NULL, NULL};
        static const char t1[] = "a,b;c\n\"d\"\"\";\n";
        expect_records(t1, sizeof t1 - 1, ';', want);
        static const char *const want2[] = {"a b", "c", NULL, NULL};
        static const char t2[] = "a b\tc\n";
        expect_records(t2, sizeof t2 - 1, '\t', want2);
    }
    /* unquoted and plain quoted fields point into the input; escaped ones do not */
    {
        static const char t[] = "ab,\"cd\",\"e\"\"f\"\n";
        char *buf = exact(t, sizeof t - 1);
        struct tvp_csv_reader r;
        CHECK(tvp_csv_reader_init(&r, buf, 0, sizeof t - 1, ',', 1) == 0);
        const struct tvp_csv_field *f;
        CHECK(tvp_csv_next(&r, &f, NULL, 0) == 3);
        CHECK(f[0].p == buf && f[0].len == 2);
        CHECK(f[1].p == buf + 4 && f[1].len == 2);
        CHECK(f[2].len == 3 && memcmp(f[2].p, "e\"f", 3) == 0);
        CHECK(!(f[2].p >= buf && f[2].p < buf + sizeof t));
        tvp_csv_reader_free(&r);
        free(buf);
    }
    /* many fields and long escaped fields: the arrays grow, pointers stay right */
    {
        struct tvp_csv_buf in = {0}, want = {0};
        for (int i = 0; i < 1000; i++) {
            char fld[64];
            int n = snprintf(fld, sizeof fld, "f\"%d\"%s", i, i % 7 ? "" : ",x");
            CHECK(tvp_csv_put(&in, fld, (size_t)n, ',', (i ? 0u : TVP_CSV_FIRST) |
                              (i == 999 ? TVP_CSV_LAST : 0u)) == 0);
            buf_u64(&want, (uint64_t)n);
            buf_add(&want, fld, (size_t)n);
        }
        char *buf = exact(in.data, in.len);
        struct tvp_csv_reader r;
        CHECK(tvp_csv_reader_init(&r, buf, 0, in.len, ',', 1) == 0);
        const struct tvp_csv_field *f;
        CHECK(tvp_csv_next(&r, &f, NULL, 0) == 1000);
        struct tvp_csv_buf got = {0};
        for (int i = 0; i < 1000; i++) {
            buf_u64(&got, f[i].len);
            buf_add(&got, f[i].p, f[i].len);
        }
        CHECK(same(&got, &want));
        CHECK(tvp_csv_next(&r, &f, NULL, 0) == 0);
        tvp_csv_reader_free(&r);
        free(buf);
        free(in.data);
        free(want.data);
        free(got.data);
    }
    /* unquoted fields of every length around the 16-byte steps, ended by each stop byte */
    {
        static const char *const ends[] = {",", "\n", "\r\n", "\"", "\rx\n", ""};
        for (size_t len = 0; len < 50; len++)
            for (size_t k = 0; k < sizeof ends / sizeof *ends; k++) {
                char t[64];
                memset(t, 'x', len);
                size_t el = strlen(ends[k]);
                memcpy(t + len, ends[k], el);
                char *buf = exact(t, len + el);
                struct tvp_csv_reader r;
                CHECK(tvp_csv_reader_init(&r, buf, 0, len + el, ',', 1) == 0);
                const struct tvp_csv_field *f;
                int n = tvp_csv_next(&r, &f, NULL, 0);
                if (len == 0 && (k == 1 || k == 2 || k == 5)) { /* blank, empty */
                    CHECK(n == 0);
                } else if (k == 3) {
                    CHECK(n == TVP_EINPUT);
                } else if (k == 4) { /* a bare CR is data */
                    CHECK(n == 1 && f[0].len == len + 2 && f[0].p[len] == '\r');
                } else {
                    CHECKF(n == (k == 0 ? 2 : 1) && f[0].len == len && f[0].p == buf,
                           "len %zu end %zu: n %d", len, k, n);
                    CHECK(tvp_csv_next(&r, &f, NULL, 0) == 0);
                    CHECK(r.line == (k == 1 || k == 2 ? 2u : 1u));
                }
                tvp_csv_reader_free(&r);
                free(buf);
            }
    }
    /* header, then where the data start */
    {
        static const char t[] = "\xEF\xBB\xBF\"x\ny\",b\n\n1,2\n";
        struct tvp_csv_reader r;
        CHECK(tvp_csv_reader_init(&r, t, 0, sizeof t - 1, ',', 1) == 0);
        const struct tvp_csv_field *f;
        CHECK(tvp_csv_next(&r, &f, NULL, 0) == 2);
        CHECK(r.pos == 11 && r.line == 3);
        CHECK(tvp_csv_next(&r, &f, NULL, 0) == 2);
        CHECK(r.line == 5);
        tvp_csv_reader_free(&r);
    }
    /* bad arguments */
    {
        struct tvp_csv_reader r;
        CHECK(tvp_csv_reader_init(&r, "", 0, 0, '"', 1) == TVP_EUSAGE);
        CHECK(tvp_csv_reader_init(&r, "", 0, 0, '\n', 1) == TVP_EUSAGE);
        CHECK(tvp_csv_reader_init(&r, "", 0, 0, '\r', 1) == TVP_EUSAGE);
        CHECK(tvp_csv_reader_init(&r, "ab", 2, 1, ',', 1) == TVP_EUSAGE);
        struct tvp_csv_part p[2];
        CHECK(tvp_csv_split("ab", 2, 0, 1, 0, p) == TVP_EUSAGE);
        CHECK(tvp_csv_split("ab", 2, 3, 1, 2, p) == TVP_EUSAGE);
    }
}

static void test_errors(void)
{
    ERR("a\"b\n", "line 1: '\"' inside an unquoted field");
    ERR("a,b\nc,d\"\n", "line 2: '\"' inside an unquoted field");
    ERR("a\nb\n\"x\ny\"z\n", "line 4: text after a closing quote");
    ERR("\"a\" ,b\n", "line 1: text after a closing quote");
    ERR("\"a\"\rb\n", "line 1: text after a closing quote");
    ERR("a\n\n\"b", "line 3: unterminated quoted field");
    ERR("a\n\"b\n\n", "line 2: unterminated quoted field");
    ERR("\"", "line 1: unterminated quoted field");
    ERR("\"\"\"", "line 1: unterminated quoted field");
    ERR("x\r\ny\r\n\"a\r\nb\"\r\nc\"d\r\n", "line 5: '\"' inside an unquoted field");
    ERR("\xEF\xBB\xBF" "a\"\n", "line 1: '\"' inside an unquoted field");
    /* the 12th line */
    ERR("h\n1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n\"oops\n", "line 12: unterminated quoted field");
    /* with no err buffer: the code only */
    struct tvp_csv_reader r;
    const struct tvp_csv_field *f;
    CHECK(tvp_csv_reader_init(&r, "a\"", 0, 2, ',', 1) == 0);
    CHECK(tvp_csv_next(&r, &f, NULL, 0) == TVP_EINPUT);
    tvp_csv_reader_free(&r);
    /* a worker's range: line numbers count from the part's line */
    static const char t[] = "h\nok\nbad\"\n";
    char err[100];
    CHECK(tvp_csv_reader_init(&r, t, 2, sizeof t - 1, ',', 2) == 0);
    CHECK(tvp_csv_next(&r, &f, err, sizeof err) == 1);
    CHECK(tvp_csv_next(&r, &f, err, sizeof err) == TVP_EINPUT);
    CHECK(strcmp(err, "line 3: '\"' inside an unquoted field") == 0);
    tvp_csv_reader_free(&r);
}

static void test_writer(void)
{
    struct tvp_csv_buf b = {0};
    CHECK(tvp_csv_put(&b, "a", 1, ',', TVP_CSV_FIRST) == 0);
    CHECK(tvp_csv_put(&b, "", 0, ',', 0) == 0);
    CHECK(tvp_csv_put(&b, "b,c", 3, ',', 0) == 0);
    CHECK(tvp_csv_put(&b, "say \"x\"", 7, ',', 0) == 0);
    CHECK(tvp_csv_put(&b, "l1\nl2", 5, ',', 0) == 0);
    CHECK(tvp_csv_put(&b, "cr\r", 3, ',', 0) == 0);
    CHECK(tvp_csv_put(&b, "", 0, ',', TVP_CSV_LAST) == 0);
    CHECK(tvp_csv_put(&b, "", 0, ',', TVP_CSV_FIRST | TVP_CSV_LAST) == 0);
    CHECK(tvp_csv_put(&b, " sp ", 4, ',', TVP_CSV_FIRST | TVP_CSV_LAST) == 0);
    CHECK(tvp_csv_put(&b, "a,b", 3, ';', TVP_CSV_FIRST) == 0);
    CHECK(tvp_csv_put(&b, "c;d", 3, ';', TVP_CSV_LAST) == 0);
    static const char want[] = "a,,\"b,c\",\"say \"\"x\"\"\",\"l1\nl2\",\"cr\r\",\n"
                               "\"\"\n sp \na,b;\"c;d\"\n";
    CHECKF(b.len == sizeof want - 1 && memcmp(b.data, want, b.len) == 0, "got [%.*s]",
           (int)b.len, b.data);
    free(b.data);

    /* parse then write gives the canonical form */
    CANON("color,size\r\nred,\"small\"\r\n\r\n\"a,b\",\"\"\"\"\n",
                     "color,size\nred,small\n\"a,b\",\"\"\"\"\n");
    CANON("\xEF\xBB\xBF\"\"\n,\n\"x\ny\"", "\"\"\n,\n\"x\ny\"\n");
    CANON("a\rb,\"\"\n", "\"a\rb\",\n");

    /* parse(write(fields)) == fields for random fields of a nasty alphabet */
    static const char *const alpha[] = {",", "\"", "\r", "\n", " ", "\r\n", "\"\"",
                                        "\xC3\xA9", "\xE6\x97\xA5\xE6\x9C\xAC",
                                        "\xF0\x9F\x98\x80", "a", "zz", ";", "\t", ""};
    static const char delims[] = {',', ';', '\t', ' ', 'a'};
    for (int iter = 0; iter < 3000; iter++) {
        char delim = delims[rnd_below(sizeof delims)];
        struct tvp_csv_buf out = {0}, want = {0};
        size_t nrec = 1 + rnd_below(6);
        for (size_t i = 0; i < nrec; i++) {
            size_t nf = 1 + rnd_below(5);
            buf_u64(&want, nf);
            for (size_t j = 0; j < nf; j++) {
                char fld[128];
                size_t len = 0, np = rnd_below(7);
                for (size_t k = 0; k < np; k++) {
                    const char *a = alpha[rnd_below(sizeof alpha / sizeof *alpha)];
                    memcpy(fld + len, a, strlen(a));
                    len += strlen(a);
                }
                /* a leading BOM would be read as one: the writer does not guard it */
                CHECK(tvp_csv_put(&out, fld, len, delim,
                                  (j == 0 ? TVP_CSV_FIRST : 0u) |
                                      (j + 1 == nf ? TVP_CSV_LAST : 0u)) == 0);
                buf_u64(&want, len);
                buf_add(&want, fld, len);
            }
        }
        char *in = exact(out.data, out.len);
        struct tvp_csv_reader r;
        CHECK(tvp_csv_reader_init(&r, in, 0, out.len, delim, 1) == 0);
        struct tvp_csv_buf got = {0};
        const struct tvp_csv_field *f;
        int n;
        char err[200] = "";
        size_t recs = 0;
        while ((n = tvp_csv_next(&r, &f, err, sizeof err)) > 0) {
            recs++;
            buf_u64(&got, (uint64_t)n);
            for (int j = 0; j < n; j++) {
                buf_u64(&got, f[j].len);
                buf_add(&got, f[j].p, f[j].len);
            }
        }
        CHECKF(n == 0, "iter %d: %s", iter, err);
        CHECKF(recs == nrec && same(&got, &want),
               "iter %d delim '%c': [%.*s]", iter, delim, (int)out.len, out.data);
        /* the line count: one per '\n' written */
        uint64_t lf = 0;
        for (size_t i = 0; i < out.len; i++)
            lf += out.data[i] == '\n';
        CHECK(r.line == 1 + lf);
        /* writing again gives the same bytes */
        size_t clen;
        int rc;
        char *c = canonical(out.data, out.len, delim, &clen, &rc);
        CHECK(rc == 0 && clen == out.len && memcmp(c, out.data, clen) == 0);
        free(c);
        tvp_csv_reader_free(&r);
        free(in);
        free(out.data);
        free(want.data);
        free(got.data);
    }
}

/* ---- split ------------------------------------------------------------------------------ */

/* Reads the header, splits the rest into `parts` and checks the parts' records (with their
 * positions and line numbers) against the whole file's; with an error, that the first part
 * with one reports the whole file's error.  Returns how many cuts differ from a naive one
 * (the first '\n' at or after the target, or its end). */
static int check_split(const char *buf, size_t len, char delim, int parts)
{
    char err[200] = "", perr[200] = "";
    struct tvp_csv_reader r;
    CHECK(tvp_csv_reader_init(&r, buf, 0, len, delim, 1) == 0);
    const struct tvp_csv_field *f;
    int hn = tvp_csv_next(&r, &f, err, sizeof err);
    size_t data = r.pos;
    uint64_t line = r.line;
    tvp_csv_reader_free(&r);
    if (hn < 0)
        return 0;

    struct tvp_csv_buf whole = {0}, cat = {0};
    int wrc = parse_dump(buf, data, len, delim, line, &whole, NULL, err, sizeof err);
    struct tvp_csv_part part[8];
    CHECK(tvp_csv_split(buf, len, data, line, parts, part) == 0);
    CHECK(part[0].begin == data && part[parts - 1].end == len);
    int prc = 0, naive_diff = 0;
    size_t size = len - data;
    for (int k = 0; k < parts; k++) {
        CHECK(part[k].begin <= part[k].end);
        if (k)
            CHECK(part[k].begin == part[k - 1].end);
        if (k) {
            size_t t = data + size / (size_t)parts * (size_t)k +
                       size % (size_t)parts * (size_t)k / (size_t)parts;
            const char *nl =
                t > data && t <= len ? memchr(buf + t - 1, '\n', len - (t - 1)) : NULL;
            size_t naive = t <= data ? data : nl ? (size_t)(nl - buf) + 1 : len;
            naive_diff += naive != part[k].begin && naive >= part[k - 1].begin;
        }
        if (prc == 0) {
            char *copy = exact(buf + part[k].begin, part[k].end - part[k].begin);
            /* the reader sees only its part: an exact-size copy, addressed at the same
             * offsets (a base pointer outside the copy: formally out of bounds, fine with
             * gcc and clang), so that ASan and valgrind see any read outside the part */
            int rc = parse_dump(copy - part[k].begin, part[k].begin, part[k].end, delim,
                                part[k].line, &cat, NULL, perr, sizeof perr);
            free(copy);
            if (rc < 0)
                prc = rc;
        }
    }
    if (wrc == 0) {
        CHECKF(prc == 0, "parts %d: part error %s", parts, perr);
        CHECKF(same(&whole, &cat),
               "parts %d: records differ for [%.*s]", parts, (int)len, buf);
    } else {
        CHECKF(prc == wrc && strcmp(err, perr) == 0,
               "parts %d: whole \"%s\" (%d) parts \"%s\" (%d) for [%.*s]", parts, err, wrc,
               perr, prc, (int)len, buf);
    }
    free(whole.data);
    free(cat.data);
    return naive_diff;
}

/* a random valid file: header, then records of labels, some quoted with newlines */
static void random_file(struct tvp_csv_buf *out, char delim, int nasty)
{
    static const char *const labels[] = {"red", "blue", "", "a b", "\xC3\xA9t\xC3\xA9",
                                         "x,y", "q\"q", "l1\nl2", "l1\r\nl2\r\n",
                                         "\n\n\n\n", "\"\n\"", "long label here"};
    size_t nf = 1 + rnd_below(4);
    for (size_t j = 0; j < nf; j++)
        CHECK(tvp_csv_put(out, "h", 1, delim, (j == 0 ? TVP_CSV_FIRST : 0u) |
                                                  (j + 1 == nf ? TVP_CSV_LAST : 0u)) == 0);
    size_t nrec = rnd_below(40);
    for (size_t i = 0; i < nrec; i++) {
        for (size_t j = 0; j < nf; j++) {
            const char *l = labels[rnd_below(nasty ? 12 : 5)];
            CHECK(tvp_csv_put(out, l, strlen(l), delim,
                              (j == 0 ? TVP_CSV_FIRST : 0u) |
                                  (j + 1 == nf ? TVP_CSV_LAST : 0u)) == 0);
        }
        if (rnd_below(8) == 0) /* a CRLF line end, a blank line */
            buf_add(out, rnd_below(2) ? "\r\n" : "\n", rnd_below(2) ? 2 : 1);
    }
    if (out->len && rnd_below(4) == 0 && out->data[out->len - 1] == '\n')
        out->len--; /* no final newline */
}

static void test_split(void)
{
    int naive_diff = 0;
    /* by construction: quoted fields of many short lines, so a naive cut lands inside */
    {
        struct tvp_csv_buf b = {0};
        buf_add(&b, "id,text\n", 8);
        for (int i = 0; i < 20; i++) {
            char line[64];
            int n = snprintf(line, sizeof line, "%d,\"", i);
            buf_add(&b, line, (size_t)n);
            for (int j = 0; j < 30; j++)
                buf_add(&b, j % 2 ? "ab\n" : "c,\"\"\r\n", j % 2 ? 3 : 6);
            buf_add(&b, "\"\n", 2);
        }
        int d = 0;
        for (int parts = 1; parts <= 8; parts++)
            d += check_split(b.data, b.len, ',', parts);
        CHECK(d >= 7); /* every cut but ones that happen to land between records */
        naive_diff += d;
        /* one huge quoted field: every part but one is empty */
        b.len = 0;
        buf_add(&b, "h\n\"", 3);
        for (int j = 0; j < 200; j++)
            buf_add(&b, "x\n", 2);
        buf_add(&b, "\"\nlast\n", 7);
        for (int parts = 1; parts <= 8; parts++) {
            check_split(b.data, b.len, ',', parts);
            struct tvp_csv_part p[8];
            CHECK(tvp_csv_split(b.data, b.len, 2, 2, parts, p) == 0);
            for (int k = 1; k < parts; k++)
                CHECK(p[k].begin == 2 + 1 + 400 + 2 || p[k].begin == b.len);
        }
        free(b.data);
    }
    /* fewer records than parts; header only; empty file */
    {
        static const char t[] = "h\na\nb\n";
        for (int parts = 1; parts <= 8; parts++)
            check_split(t, sizeof t - 1, ',', parts);
        check_split("h\n", 2, ',', 8);
        check_split("h", 1, ',', 8);
        check_split("", 0, ',', 8);
        struct tvp_csv_part p[8];
        CHECK(tvp_csv_split(t, sizeof t - 1, 2, 2, 8, p) == 0);
        int nonempty = 0;
        for (int k = 0; k < 8; k++)
            nonempty += p[k].end > p[k].begin;
        CHECK(nonempty == 2);
    }
    /* random files */
    static const char delims[] = {',', ';', '\t'};
    for (int iter = 0; iter < 600; iter++) {
        struct tvp_csv_buf b = {0};
        char delim = delims[rnd_below(3)];
        random_file(&b, delim, iter % 4 != 0);
        char *buf = exact(b.data, b.len);
        for (int parts = 1; parts <= 8; parts++)
            naive_diff += check_split(buf, b.len, delim, parts);
        free(buf);
        free(b.data);
    }
    printf("split: %d cuts differ from a naive newline cut\n", naive_diff);
    CHECK(naive_diff > 100);
}

/* ---- fuzz ------------------------------------------------------------------------------- */

static void test_fuzz(void)
{
    static const char interesting[] = {'"', ',', '\n', '\r', ';', 'a', ' ', '\0', '\xEF',
                                       '\xBB', '\xBF', '\xC3', '\xA9'};
    size_t ok = 0, bad = 0;
    for (int iter = 0; iter < 4000; iter++) {
        struct tvp_csv_buf b = {0};
        char delim = rnd_below(4) ? ',' : ';';
        if (iter % 10 == 9) {
            /* pure noise of the interesting bytes */
            size_t n = rnd_below(200);
            for (size_t i = 0; i < n; i++)
                buf_add(&b, &interesting[rnd_below(sizeof interesting)], 1);
        } else {
            random_file(&b, delim, 1);
            int nmut = 1 + (int)rnd_below(4);
            for (int m = 0; m < nmut; m++) {
                size_t at = b.len ? rnd_below(b.len + 1) : 0;
                switch (rnd_below(6)) {
                case 0: /* overwrite */
                    if (at < b.len)
                        b.data[at] = interesting[rnd_below(sizeof interesting)];
                    break;
                case 1: /* random byte */
                    if (at < b.len)
                        b.data[at] = (char)rnd_below(256);
                    break;
                case 2: /* insert */
                    buf_add(&b, "", 1);
                    memmove(b.data + at + 1, b.data + at, b.len - 1 - at);
                    b.data[at] = interesting[rnd_below(sizeof interesting)];
                    break;
                case 3: /* delete */
                    if (at < b.len) {
                        memmove(b.data + at, b.data + at + 1, b.len - at - 1);
                        b.len--;
                    }
                    break;
                case 4: /* truncate */
                    b.len = at;
                    break;
                default: { /* duplicate a chunk */
                    size_t n = rnd_below(16);
                    if (at + n <= b.len) {
                        char tmp[16];
                        memcpy(tmp, b.data + at, n);
                        buf_add(&b, tmp, n);
                        memmove(b.data + at + n, b.data + at, b.len - n - at);
                        memcpy(b.data + at, tmp, n);
                    }
                }
                }
            }
        }
        char *buf = exact(b.data, b.len);
        struct tvp_csv_buf dump = {0};
        char err[200] = "";
        int rc = parse_dump(buf, 0, b.len, delim, 1, &dump, NULL, err, sizeof err);
        CHECK(rc == 0 || rc == TVP_EINPUT);
        if (rc == 0) {
            ok++;
            /* round trip of what was read */
            size_t clen;
            int crc;
            char *c = canonical(buf, b.len, delim, &clen, &crc);
            CHECK(crc == 0);
            struct tvp_csv_buf dump2 = {0};
            char *c2 = exact(c, clen);
            /* the same fields (positions differ) */
            struct tvp_csv_reader r1, r2;
            CHECK(tvp_csv_reader_init(&r1, buf, 0, b.len, delim, 1) == 0);
            CHECK(tvp_csv_reader_init(&r2, c2, 0, clen, delim, 1) == 0);
            const struct tvp_csv_field *f1, *f2;
            int n1, n2;
            /* a first field that starts with a BOM is no round trip: skip such cases */
            int bom = clen >= 3 && memcmp(c2, "\xEF\xBB\xBF", 3) == 0;
            while (!bom && (n1 = tvp_csv_next(&r1, &f1, NULL, 0)) > 0) {
                n2 = tvp_csv_next(&r2, &f2, NULL, 0);
                CHECK(n1 == n2);
                for (int i = 0; i < n1; i++)
                    CHECK(f1[i].len == f2[i].len && memcmp(f1[i].p, f2[i].p, f1[i].len) == 0);
            }
            if (!bom)
                CHECK(tvp_csv_next(&r2, &f2, NULL, 0) == 0);
            tvp_csv_reader_free(&r1);
            tvp_csv_reader_free(&r2);
            free(c);
            free(c2);
            free(dump2.data);
        } else {
            bad++;
            CHECK(strncmp(err, "line ", 5) == 0 && strchr(err, '\n') == NULL);
        }
        check_split(buf, b.len, delim, 1 + (int)rnd_below(8));
        free(dump.data);
        free(buf);
        free(b.data);
    }
    printf("fuzz: %zu inputs read, %zu rejected\n", ok, bad);
    CHECK(ok > 100 && bad > 100);
}

/* ---- bench ------------------------------------------------------------------------------ */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void bench(uint64_t rows)
{
    static const char *const c1[] = {"red", "green", "blue", "yellow", "black", "white"};
    static const char *const c2[] = {"small", "medium", "large", "xl"};
    static const char *const c3[] = {"wood", "metal", "plastic", "glass", "stone"};
    struct tvp_csv_buf b = {0};
    CHECK(tvp_csv_put(&b, "color", 5, ',', TVP_CSV_FIRST) == 0);
    CHECK(tvp_csv_put(&b, "size", 4, ',', 0) == 0);
    CHECK(tvp_csv_put(&b, "material", 8, ',', TVP_CSV_LAST) == 0);
    /* reserve first, so that the timing leaves realloc out */
    b.data = realloc(b.data, rows * 32 + 64);
    CHECK(b.data != NULL);
    b.cap = rows * 32 + 64;
    double t0 = now();
    for (uint64_t i = 0; i < rows; i++) {
        const char *a = c1[rnd_below(6)], *s = c2[rnd_below(4)], *m = c3[rnd_below(5)];
        CHECK(tvp_csv_put(&b, a, strlen(a), ',', TVP_CSV_FIRST) == 0);
        CHECK(tvp_csv_put(&b, s, strlen(s), ',', 0) == 0);
        CHECK(tvp_csv_put(&b, m, strlen(m), ',', TVP_CSV_LAST) == 0);
    }
    double tw = now() - t0;
    double mb = (double)b.len / 1e6;
    printf("file: %" PRIu64 " rows x 3 columns, %.1f MB\n", rows, mb);
    printf("writer: %.3f s, %.1f Mrecords/s, %.0f MB/s (incl. the PRNG)\n", tw,
           (double)rows / tw / 1e6, mb / tw);

    for (int rep = 0; rep < 3; rep++) {
        struct tvp_csv_reader r;
        CHECK(tvp_csv_reader_init(&r, b.data, 0, b.len, ',', 1) == 0);
        const struct tvp_csv_field *f;
        char err[200];
        t0 = now();
        uint64_t recs = 0, sum = 0;
        int n;
        while ((n = tvp_csv_next(&r, &f, err, sizeof err)) > 0) {
            recs++;
            for (int i = 0; i < n; i++)
                sum += f[i].len + (unsigned char)f[i].p[0];
        }
        double tr = now() - t0;
        CHECK(n == 0 && recs == rows + 1);
        printf("reader: %.3f s, %.1f Mrecords/s, %.0f MB/s (checksum %" PRIu64 ")\n", tr,
               (double)recs / tr / 1e6, mb / tr, sum);
        tvp_csv_reader_free(&r);
    }
    struct tvp_csv_part p[8];
    for (int parts = 2; parts <= 8; parts *= 2) {
        t0 = now();
        CHECK(tvp_csv_split(b.data, b.len, 20, 2, parts, p) == 0);
        double ts = now() - t0;
        printf("split into %d: %.4f s, %.0f MB/s\n", parts, ts, mb / ts);
    }
    free(b.data);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_csv DATA_FOLDER [SECTION]\n");
        return 2;
    }
    const char *section = argc > 2 ? argv[2] : NULL;
    test_seed("test_csv", UINT64_C(0x5eed0c5f));
    if (section && strcmp(section, "bench") == 0) {
        bench(argc > 3 ? strtoull(argv[3], NULL, 10) : 2000000);
        return 0;
    }
    static const struct test_section sections[] = {{"accept", test_accept}, {"errors", test_errors}, {"writer", test_writer},
                    {"split", test_split},   {"fuzz", test_fuzz}};
    return test_run(sections, sizeof sections / sizeof sections[0], section);
}
