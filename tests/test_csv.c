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

static void buf_u64(struct tvp_csv_buf *b, uint64_t v)
{
    buf_add(b, &v, sizeof v);
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
        CHECK(same_buf(&got, &want));
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
        CHECKF(recs == nrec && same_buf(&got, &want),
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
        CHECKF(same_buf(&whole, &cat),
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

static const char fuzz_bytes[] = {'"', ',', '\n', '\r', ';', 'a', ' ', '\0', '\xEF',
                                  '\xBB', '\xBF', '\xC3', '\xA9'};

/* pure noise of the interesting bytes, up to max of them */
static void noise(struct tvp_csv_buf *b, size_t max)
{
    size_t n = rnd_below(max);
    for (size_t i = 0; i < n; i++)
        buf_add(b, &fuzz_bytes[rnd_below(sizeof fuzz_bytes)], 1);
}

/* 1 to 4 random mutations: overwrite, random byte, insert, delete, truncate, duplicate */
static void mutate(struct tvp_csv_buf *b)
{
    int nmut = 1 + (int)rnd_below(4);
    for (int m = 0; m < nmut; m++) {
        size_t at = b->len ? rnd_below(b->len + 1) : 0;
        switch (rnd_below(6)) {
        case 0: /* overwrite */
            if (at < b->len)
                b->data[at] = fuzz_bytes[rnd_below(sizeof fuzz_bytes)];
            break;
        case 1: /* random byte */
            if (at < b->len)
                b->data[at] = (char)rnd_below(256);
            break;
        case 2: /* insert */
            buf_add(b, "", 1);
            memmove(b->data + at + 1, b->data + at, b->len - 1 - at);
            b->data[at] = fuzz_bytes[rnd_below(sizeof fuzz_bytes)];
            break;
        case 3: /* delete */
            if (at < b->len) {
                memmove(b->data + at, b->data + at + 1, b->len - at - 1);
                b->len--;
            }
            break;
        case 4: /* truncate */
            b->len = at;
            break;
        default: { /* duplicate a chunk */
            size_t n = rnd_below(16);
            if (at + n <= b->len) {
                char tmp[16];
                memcpy(tmp, b->data + at, n);
                buf_add(b, tmp, n);
                memmove(b->data + at + n, b->data + at, b->len - n - at);
                memcpy(b->data + at, tmp, n);
            }
        }
        }
    }
}

static void test_fuzz(void)
{
    size_t ok = 0, bad = 0;
    for (int iter = 0; iter < 4000; iter++) {
        struct tvp_csv_buf b = {0};
        char delim = rnd_below(4) ? ',' : ';';
        if (iter % 10 == 9) {
            noise(&b, 200);
        } else {
            random_file(&b, delim, 1);
            mutate(&b);
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

/* ---- windows ---------------------------------------------------------------------------- */

/* tvp_csv_split as it was before the window functions (one loop, scanning from each
 * target to its cut), kept as the reference that split and the windows must equal */
static void ref_split(const char *buf, size_t len, size_t data_begin, uint64_t data_line,
                      int parts, struct tvp_csv_part *part)
{
    size_t size = len - data_begin;
    size_t pos = data_begin;
    uint64_t quotes = 0, line = data_line, cut_line = data_line;
    size_t cut = data_begin;
    part[0].begin = data_begin;
    part[0].line = data_line;
    for (int k = 1; k < parts; k++) {
        size_t t = data_begin + size / (size_t)parts * (size_t)k +
                   size % (size_t)parts * (size_t)k / (size_t)parts;
        if (t > cut) {
            for (; pos < t - 1; pos++) {
                quotes += buf[pos] == '"';
                line += buf[pos] == '\n';
            }
            size_t i = pos;
            for (; i < len; i++) {
                if (buf[i] == '"') {
                    quotes++;
                } else if (buf[i] == '\n') {
                    line++;
                    if (!(quotes & 1))
                        break;
                }
            }
            cut = pos = i < len ? i + 1 : len;
            cut_line = line;
        }
        part[k - 1].end = cut;
        part[k].begin = cut;
        part[k].line = cut_line;
    }
    part[parts - 1].end = len;
}

/* a window's summary byte by byte, from its definition */
static void ref_scan(const char *p, size_t len, struct tvp_csv_window *w)
{
    memset(w, 0, sizeof *w);
    w->bytes = len;
    w->cut[0] = w->cut[1] = TVP_CSV_NO_CUT;
    for (size_t i = 0; i < len; i++) {
        w->quotes += p[i] == '"';
        if (p[i] != '\n')
            continue;
        w->newlines++;
        for (uint64_t s = 0; s < 2; s++)
            if (w->cut[s] == TVP_CSV_NO_CUT && (s + w->quotes) % 2 == 0) {
                w->cut[s] = i + 1;
                w->cut_newlines[s] = w->newlines;
            }
    }
}

/* tvp_csv_window_scan of len bytes at p (an exact-size copy) equals ref_scan */
static void check_scan(const char *p, size_t len, struct tvp_csv_window *got)
{
    char *copy = exact(p, len);
    if (!len)
        copy[0] = 'x'; /* (the 1 byte xmalloc gives: quiets gcc's maybe-uninitialized) */
    struct tvp_csv_window want;
    memset(got, 0xA5, sizeof *got); /* every field must be written */
    tvp_csv_window_scan(copy, len, got);
    ref_scan(copy, len, &want);
    free(copy);
    CHECKF(got->bytes == want.bytes && got->quotes == want.quotes &&
               got->newlines == want.newlines && got->cut[0] == want.cut[0] &&
               got->cut[1] == want.cut[1] && got->cut_newlines[0] == want.cut_newlines[0] &&
               got->cut_newlines[1] == want.cut_newlines[1],
           "window of %zu bytes [%.*s]: got q %" PRIu64 " nl %" PRIu64 " cut %" PRIu64
           "/%" PRIu64 " %" PRIu64 "/%" PRIu64 ", want q %" PRIu64 " nl %" PRIu64
           " cut %" PRIu64 "/%" PRIu64 " %" PRIu64 "/%" PRIu64,
           len, (int)(len < 200 ? len : 200), p, got->quotes, got->newlines, got->cut[0],
           got->cut_newlines[0], got->cut[1], got->cut_newlines[1], want.quotes,
           want.newlines, want.cut[0], want.cut_newlines[0], want.cut[1],
           want.cut_newlines[1]);
}

#define MAX_PARTS 16

static void expect_same_parts(const struct tvp_csv_part *got, const struct tvp_csv_part *want,
                              int parts, const char *what, size_t len, size_t data_begin)
{
    for (int k = 0; k < parts; k++)
        CHECKF(got[k].begin == want[k].begin && got[k].end == want[k].end &&
                   got[k].line == want[k].line,
               "%s: len %zu data_begin %zu parts %d: part %d is [%zu,%zu) line %" PRIu64
               ", want [%zu,%zu) line %" PRIu64,
               what, len, data_begin, parts, k, got[k].begin, got[k].end, got[k].line,
               want[k].begin, want[k].end, want[k].line);
}

/* what the checks ran into, so that a section that stops reaching a case fails */
struct window_stats {
    size_t runs, cuts, searches, beyond, at_window_end, at_target, both_cuts, empty_windows,
        no_cut_found, clamped;
};

/* tvp_csv_split, and tvp_csv_cuts over windows scanned one by one from exact-size copies,
 * both equal ref_split; every window's bounds and summary are checked on the way */
static void check_windows(const char *buf, size_t len, size_t data_begin, uint64_t data_line,
                          int parts, struct window_stats *st)
{
    struct tvp_csv_part want[MAX_PARTS], got[MAX_PARTS], fromw[MAX_PARTS];
    struct tvp_csv_window w[MAX_PARTS];
    CHECK(parts >= 1 && parts <= MAX_PARTS && data_begin <= len);
    ref_split(buf, len, data_begin, data_line, parts, want);
    memset(got, 0xA5, sizeof got);
    CHECK(tvp_csv_split(buf, len, data_begin, data_line, parts, got) == 0);
    expect_same_parts(got, want, parts, "tvp_csv_split", len, data_begin);

    size_t size = len - data_begin, wb[MAX_PARTS + 1];
    for (int k = 0; k <= parts; k++) {
        size_t t = data_begin + size / (size_t)parts * (size_t)k +
                   size % (size_t)parts * (size_t)k / (size_t)parts;
        size_t expect = k == 0 ? data_begin : k == parts ? len : t > data_begin ? t - 1
                                                                                : data_begin;
        wb[k] = tvp_csv_window_begin(len, data_begin, parts, k);
        CHECKF(wb[k] == expect, "len %zu data_begin %zu parts %d: window %d begins at %zu, "
               "want %zu", len, data_begin, parts, k, wb[k], expect);
        CHECK(k == 0 || wb[k] >= wb[k - 1]);
        st->clamped += k > 0 && k < parts && t == data_begin;
    }
    for (int k = 0; k < parts; k++) {
        check_scan(buf + wb[k], wb[k + 1] - wb[k], &w[k]);
        st->both_cuts += w[k].cut[0] != TVP_CSV_NO_CUT && w[k].cut[1] != TVP_CSV_NO_CUT;
        st->empty_windows += wb[k] == wb[k + 1];
    }
    memset(fromw, 0xA5, sizeof fromw);
    CHECK(tvp_csv_cuts(w, len, data_begin, data_line, parts, fromw) == 0);
    expect_same_parts(fromw, want, parts, "tvp_csv_cuts", len, data_begin);

    /* where the cuts fell, relative to the windows */
    st->runs++;
    for (int k = 1; k < parts; k++) {
        size_t c = want[k].begin;
        if (c == want[k - 1].begin && k > 1)
            continue;
        st->cuts++;
        if (c == data_begin)
            continue;
        st->searches++;
        st->no_cut_found += c == len;
        st->at_target += c == wb[k] + 1;
        int j = k;
        while (j + 1 < parts && wb[j + 1] < c)
            j++;
        st->beyond += j > k;
        st->at_window_end += c == wb[j + 1] && c < len;
    }
}

/* check_windows over several data_begin values: 0, the header's end, random, len */
static void check_windows_all(const char *buf, size_t len, char delim, int max_parts,
                              struct window_stats *st)
{
    size_t db[4] = {0, 0, len ? rnd_below(len + 1) : 0, len};
    uint64_t dl[4] = {1, 1, 1 + rnd_below(1000), UINT64_C(1) << 40};
    struct tvp_csv_reader r;
    CHECK(tvp_csv_reader_init(&r, buf, 0, len, delim, 1) == 0);
    const struct tvp_csv_field *f;
    if (tvp_csv_next(&r, &f, NULL, 0) >= 0) {
        db[1] = r.pos;
        dl[1] = r.line;
    }
    tvp_csv_reader_free(&r);
    for (int d = 0; d < 4; d++)
        for (int parts = 1; parts <= max_parts; parts++)
            check_windows(buf, len, db[d], dl[d], parts, st);
}

/* the parts of a hand-written case, as begins (the ends follow) and lines */
static void expect_parts(const char *text, size_t len, size_t data_begin, uint64_t data_line,
                         int parts, const size_t *begin, const uint64_t *line)
{
    struct window_stats st = {0};
    char *buf = exact(text, len);
    check_windows(buf, len, data_begin, data_line, parts, &st);
    struct tvp_csv_part p[MAX_PARTS];
    CHECK(tvp_csv_split(buf, len, data_begin, data_line, parts, p) == 0);
    for (int k = 0; k < parts; k++)
        CHECKF(p[k].begin == begin[k] && p[k].end == (k + 1 < parts ? begin[k + 1] : len) &&
                   p[k].line == line[k],
               "[%.*s] data_begin %zu parts %d: part %d [%zu,%zu) line %" PRIu64
               ", want begin %zu line %" PRIu64,
               (int)len, text, data_begin, parts, k, p[k].begin, p[k].end, p[k].line,
               begin[k], line[k]);
    free(buf);
}

#define PARTS(text, data_begin, data_line, parts, begins, lines)                           \
    do {                                                                                   \
        static const size_t b_[] = {begins};                                               \
        static const uint64_t l_[] = {lines};                                              \
        CHECK(sizeof b_ / sizeof *b_ == (parts) && sizeof l_ / sizeof *l_ == (parts));     \
        expect_parts(text, sizeof(text) - 1, data_begin, data_line, parts, b_, l_);        \
    } while (0)
#define L(...) __VA_ARGS__

static void test_windows(void)
{
    struct window_stats st = {0};

    /* ---- hand-written cases, with the parts worked out by hand ---- */
    /* size 8: targets 4 (parts 2); 2, 4, 6 (parts 4); each just after a '\n' */
    PARTS("a\nb\nc\nd\n", 0, 1, 2, L(0, 4), L(1, 3));
    PARTS("a\nb\nc\nd\n", 0, 1, 4, L(0, 2, 4, 6), L(1, 2, 3, 4));
    /* targets 2 and 4 of 7 bytes (parts 3): '\n' at 1 and 3, and none after "dd" */
    PARTS("a\nb\ncdd", 0, 1, 3, L(0, 2, 4), L(1, 2, 3));
    /* no final newline and no '\n' after the target: the cut is the end */
    PARTS("a\nbbbbbbbb", 0, 7, 2, L(0, 10), L(7, 8));
    /* empty data: every part empty, at data_begin, on data_line */
    PARTS("", 0, 1, 5, L(0, 0, 0, 0, 0), L(1, 1, 1, 1, 1));
    PARTS("h\n", 2, 2, 3, L(2, 2, 2), L(2, 2, 2));
    /* parts > bytes: targets 0,0,1,1,2,2,3,3 for k = 1..8 of 4 bytes (parts 9): targets at
     * data_begin stay there, 1 and 2 give 2, 3 gives 4 */
    PARTS("a\nb\n", 0, 1, 9, L(0, 0, 0, 2, 2, 2, 2, 4, 4), L(1, 1, 1, 2, 2, 2, 2, 3, 3));
    /* t - 1 before data_begin: data_begin 3, size 4, parts 8: targets 3,4,4,5,5,6,6; the
     * first is data_begin itself (no search), 4 cuts after the '\n' at 5, the rest stay */
    PARTS("xx\nab\nc", 3, 2, 8, L(3, 3, 6, 6, 6, 6, 6, 6), L(2, 2, 3, 3, 3, 3, 3, 3));
    /* CRLF: the '\n' ends the record; a target on the '\n' cuts right after it */
    PARTS("ab\r\ncd\r\nef\r\n", 0, 1, 3, L(0, 4, 8), L(1, 2, 3));
    PARTS("ab\r\ncd\r\nef\r\n", 0, 1, 2, L(0, 8), L(1, 3));
    /* quoted newlines are skipped, but counted in the lines */
    PARTS("\"a\nb\nc\"\nd\ne\n", 0, 1, 2, L(0, 8), L(1, 4));
    PARTS("x\n\"a\nb\nc\nd\ne\nf\"\ng\n", 2, 2, 3, L(2, 16, 16), L(2, 8, 8));
    /* an unterminated quote: nothing after it is a record start */
    PARTS("a\n\"b\nc\nd\ne\n", 0, 1, 4, L(0, 2, 11, 11), L(1, 2, 6, 6));
    /* "" inside quotes is two quotes: the parity is kept */
    PARTS("\"a\"\"\nb\"\nc\nd\n", 0, 1, 2, L(0, 8), L(1, 3));
    /* a stray quote in an unquoted field flips the parity as split always did */
    PARTS("a\"b\nc\nd\"\ne\nf\n", 0, 1, 2, L(0, 9), L(1, 4));

    /* one quoted field over every window: all cuts after it, found windows later */
    {
        struct tvp_csv_buf b = {0};
        buf_add(&b, "h\n\"", 3);
        for (int j = 0; j < 3000; j++)
            buf_add(&b, j % 3 ? "x\n" : "y\r\n", j % 3 ? 2 : 3);
        buf_add(&b, "\"\nlast\n", 7);
        size_t after = b.len - 5;
        char *buf = exact(b.data, b.len);
        struct window_stats s = {0};
        for (int parts = 1; parts <= MAX_PARTS; parts++) {
            check_windows(buf, b.len, 2, 2, parts, &s);
            struct tvp_csv_part p[MAX_PARTS];
            CHECK(tvp_csv_split(buf, b.len, 2, 2, parts, p) == 0);
            for (int k = 1; k < parts; k++)
                CHECK(p[k].begin == after && p[k].line == 2 + 3000 + 1);
        }
        CHECK(s.beyond == MAX_PARTS - 2); /* parts >= 3: the cut lay windows beyond */
        st.beyond += s.beyond;
        /* the same with the field unterminated: no cut, the end on the last line */
        for (int parts = 1; parts <= MAX_PARTS; parts++) {
            check_windows(buf, b.len - 6, 2, 2, parts, &s);
            struct tvp_csv_part p[MAX_PARTS];
            CHECK(tvp_csv_split(buf, b.len - 6, 2, 2, parts, p) == 0);
            for (int k = 1; k < parts; k++)
                CHECK(p[k].begin == b.len - 6 && p[k].line == 2 + 3000);
        }
        free(buf);
        free(b.data);
    }

    /* ---- the scan alone: random bytes of every density, at every length ---- */
    {
        static const char alpha[] = {'"', '\n', 'a', '\r', ',', '\0'};
        struct tvp_csv_window w;
        size_t found[2] = {0, 0};
        for (int iter = 0; iter < 3000; iter++) {
            size_t len = iter < 600 ? (size_t)iter % 70 : rnd_below(iter % 50 ? 600 : 40000);
            uint64_t pq = rnd_below(40), pn = rnd_below(40); /* in 1/256 */
            char *b = xmalloc(len);
            for (size_t i = 0; i < len; i++) {
                uint64_t r = rnd_below(256);
                b[i] = r < pq ? '"' : r < pq + pn ? '\n' : alpha[2 + rnd_below(4)];
            }
            check_scan(b, len, &w);
            found[0] += w.cut[0] != TVP_CSV_NO_CUT;
            found[1] += w.cut[1] != TVP_CSV_NO_CUT;
            free(b);
        }
        CHECK(found[0] > 1000 && found[1] > 1000);
        /* long stretches without quotes, then one quote near the end (the second cut
         * comes last), and the other way round; windows of quotes only and of '\n' only */
        for (size_t len = 1; len < 70000; len = len * 3 + 1) {
            char *b = xmalloc(len + 4);
            memset(b, 'x', len + 4);
            for (size_t i = 5; i < len; i += 7)
                b[i] = '\n';
            memcpy(b + len, "\"a\nb", 4);
            check_scan(b, len + 4, &w);
            CHECK(w.cut[1] == len + 3);
            check_scan(b + 1, len + 3, &w);
            b[0] = '"';
            check_scan(b, len + 4, &w);
            memset(b, '"', len);
            check_scan(b, len + 4, &w);
            CHECK(w.cut[(len & 1) ^ 1] == len + 3 && w.cut[len & 1] == TVP_CSV_NO_CUT);
            memset(b, '\n', len);
            check_scan(b, len, &w);
            CHECK(w.cut[0] == 1 && w.cut[1] == TVP_CSV_NO_CUT && w.newlines == len);
            free(b);
        }
        /* both cuts at once, then long runs of one byte: the counting after the cuts
         * (every one of its byte counters hits 255 and more) */
        for (int k = 0; k < 4; k++) {
            static const char *const fill[] = {"\n", "\"", "\"\n", "a\n\"\"\"bcdefg"};
            size_t len = 3 + 40000 + (size_t)k * 8191, fl = strlen(fill[k]);
            char *b = xmalloc(len);
            memcpy(b, "\n\"\n", 3);
            for (size_t i = 3; i < len; i++)
                b[i] = fill[k][(i - 3) % fl];
            check_scan(b, len, &w);
            CHECK(w.cut[0] == 1 && w.cut[1] == 3);
            CHECK(w.newlines > 4000 || w.quotes > 4000);
            free(b);
        }
    }

    /* ---- random files: valid, nasty, mutated, noise; then bigger ones ---- */
    static const char delims[] = {',', ';', '\t'};
    for (int iter = 0; iter < 400; iter++) {
        struct tvp_csv_buf b = {0};
        char delim = delims[rnd_below(3)];
        if (iter % 8 == 7)
            noise(&b, 300);
        else
            random_file(&b, delim, iter % 4 != 0);
        if (iter % 3 == 2)
            mutate(&b);
        char *buf = exact(b.data, b.len);
        check_windows_all(buf, b.len, delim, 9, &st);
        free(buf);
        free(b.data);
    }
    for (int iter = 0; iter < 12; iter++) {
        struct tvp_csv_buf b = {0};
        size_t want = 20000 + rnd_below(100000);
        while (b.len < want) {
            if (iter % 4 == 3)
                noise(&b, 300);
            else
                random_file(&b, ',', iter % 4 != 0);
            if (rnd_below(20) == 0)
                mutate(&b);
        }
        char *buf = exact(b.data, b.len);
        check_windows_all(buf, b.len, ',', MAX_PARTS, &st);
        free(buf);
        free(b.data);
    }

    /* ---- summaries that cannot be their windows' are refused ---- */
    {
        static const char t[] = "h\n\"a\nb\",c\nd\ne\"f\n\"g\nh\n";
        size_t len = sizeof t - 1;
        struct tvp_csv_window w[4], bad[4];
        struct tvp_csv_part p[4], want[4];
        for (int k = 0; k < 4; k++) {
            size_t b = tvp_csv_window_begin(len, 2, 4, k);
            tvp_csv_window_scan(t + b, tvp_csv_window_begin(len, 2, 4, k + 1) - b, &w[k]);
        }
        CHECK(tvp_csv_cuts(w, len, 2, 2, 4, p) == 0);
        ref_split(t, len, 2, 2, 4, want);
        expect_same_parts(p, want, 4, "tvp_csv_cuts", len, 2);
        CHECK(tvp_csv_cuts(w, len, 2, 2, 0, p) == TVP_EUSAGE);
        CHECK(tvp_csv_cuts(w, 1, 2, 2, 4, p) == TVP_EUSAGE);
        CHECK(tvp_csv_cuts(w, len + 1, 2, 2, 4, p) == TVP_EUSAGE); /* other windows */
        CHECK(tvp_csv_cuts(w, len, 3, 2, 4, p) == TVP_EUSAGE);
        int refused = 0;
        for (int k = 0; k < 4; k++)
            for (int field = 0; field < 9; field++) {
                memcpy(bad, w, sizeof w);
                struct tvp_csv_window *x = &bad[k];
                switch (field) {
                case 0: x->bytes++; break;
                case 1: x->bytes--; break;
                case 2: x->quotes = x->bytes + 1; break;
                case 3: x->newlines = x->bytes - x->quotes + 1; break;
                case 4: x->cut[k & 1] = 0; x->cut_newlines[k & 1] = 0; break;
                case 5: x->cut[k & 1] = x->bytes + 1; x->cut_newlines[k & 1] = 1; break;
                case 6: x->cut[0] = 1; x->cut_newlines[0] = 0; break;
                case 7: x->cut[1] = x->bytes; x->cut_newlines[1] = x->newlines + 1; break;
                default: x->cut[0] = TVP_CSV_NO_CUT; x->cut_newlines[0] = 1; break;
                }
                int rc = tvp_csv_cuts(bad, len, 2, 2, 4, p);
                CHECKF(rc == TVP_EUSAGE, "window %d field %d: rc %d", k, field, rc);
                refused++;
            }
        CHECK(refused == 36);
        /* window_begin's edges */
        CHECK(tvp_csv_window_begin(len, 2, 4, -1) == 2);
        CHECK(tvp_csv_window_begin(len, 2, 4, 0) == 2);
        CHECK(tvp_csv_window_begin(len, 2, 4, 4) == len);
        CHECK(tvp_csv_window_begin(len, 2, 4, 5) == len);
        CHECK(tvp_csv_window_begin(len, 2, 0, 0) == 2);
        CHECK(tvp_csv_window_begin(len, 2, 0, 1) == len);
        CHECK(tvp_csv_window_begin(len, len + 5, 4, 0) == len);
        CHECK(tvp_csv_window_begin(len, len + 5, 4, 2) == len);
        CHECK(tvp_csv_window_begin(0, 0, 8, 3) == 0);
        CHECK(tvp_csv_window_begin(3, 0, 8, 3) == 0); /* t = 1 */
        CHECK(tvp_csv_window_begin(3, 0, 8, 6) == 1); /* t = 2 */
        CHECK(tvp_csv_window_begin(SIZE_MAX, 0, 3, 2) == SIZE_MAX / 3 * 2 - 1);
        CHECK(tvp_csv_window_begin(SIZE_MAX, SIZE_MAX - 10, 1000, 99) == SIZE_MAX - 10);
        CHECK(tvp_csv_window_begin(SIZE_MAX, SIZE_MAX - 10, 1000, 999) == SIZE_MAX - 2);
    }

    printf("windows: %zu splits, %zu cuts (%zu searched: %zu at the target, %zu at a "
           "window's end, %zu windows beyond, %zu none found), %zu clamped windows, %zu "
           "empty, %zu with both cuts\n",
           st.runs, st.cuts, st.searches, st.at_target, st.at_window_end, st.beyond,
           st.no_cut_found, st.clamped, st.empty_windows, st.both_cuts);
    CHECK(st.searches > 10000 && st.at_target > 500 && st.at_window_end > 100 &&
          st.beyond > 500 && st.no_cut_found > 500 && st.clamped > 500 &&
          st.empty_windows > 500 && st.both_cuts > 500);
}

/* ---- bench ------------------------------------------------------------------------------ */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* best of 5 */
#define BEST(t, stmt)                                                                       \
    do {                                                                                   \
        t = 1e30;                                                                          \
        for (int rep_ = 0; rep_ < 5; rep_++) {                                             \
            double t0_ = now();                                                            \
            stmt;                                                                          \
            double dt_ = now() - t0_;                                                      \
            if (dt_ < t)                                                                   \
                t = dt_;                                                                   \
        }                                                                                  \
    } while (0)

/* the window scan (the whole data as one window, and as 8 windows plus tvp_csv_cuts, as 8
 * ranks would do it one after the other), then tvp_csv_split against ref_split */
static void bench_split(const char *name, const char *buf, size_t len, size_t data_begin)
{
    double mb = (double)(len - data_begin) / 1e6, t;
    struct tvp_csv_window w[8];
    struct tvp_csv_part p[8], want[8];
    BEST(t, tvp_csv_window_scan(buf + data_begin, len - data_begin, &w[0]));
    printf("%s, %.1f MB: window scan %.4f s, %.0f MB/s (%" PRIu64 " quotes, %" PRIu64
           " newlines)\n", name, mb, t, mb / t, w[0].quotes, w[0].newlines);
    BEST(t, for (int k = 0; k < 8; k++) {
        size_t b = tvp_csv_window_begin(len, data_begin, 8, k);
        tvp_csv_window_scan(buf + b, tvp_csv_window_begin(len, data_begin, 8, k + 1) - b,
                            &w[k]);
    } CHECK(tvp_csv_cuts(w, len, data_begin, 2, 8, p) == 0));
    ref_split(buf, len, data_begin, 2, 8, want);
    expect_same_parts(p, want, 8, "bench", len, data_begin);
    printf("  8 windows + tvp_csv_cuts: %.4f s, %.0f MB/s\n", t, mb / t);
    for (int parts = 2; parts <= 8; parts *= 2) {
        double tr;
        BEST(t, CHECK(tvp_csv_split(buf, len, data_begin, 2, parts, p) == 0));
        BEST(tr, ref_split(buf, len, data_begin, 2, parts, want));
        expect_same_parts(p, want, parts, "bench", len, data_begin);
        printf("  split into %d: %.4f s, %.0f MB/s (the loop before the windows: %.4f s, "
               "%.0f MB/s)\n", parts, t, mb / t, tr, mb / tr);
    }
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
    bench_split("plain", b.data, b.len, 20);

    /* the same fields, every one quoted */
    struct tvp_csv_buf qa = {0};
    buf_add(&qa, "\"color\",\"size\",\"material\"\n", 26);
    for (uint64_t i = 0; i < rows; i++) {
        const char *f[3] = {c1[rnd_below(6)], c2[rnd_below(4)], c3[rnd_below(5)]};
        for (int j = 0; j < 3; j++) {
            buf_add(&qa, "\"", 1);
            buf_add(&qa, f[j], strlen(f[j]));
            buf_add(&qa, j < 2 ? "\"," : "\"\n", 2);
        }
    }
    bench_split("all quoted", qa.data, qa.len, 26);
    free(qa.data);

    /* random_file's nasty labels: quoted newlines, "" and CRLF */
    struct tvp_csv_buf nasty = {0};
    while (nasty.len < b.len)
        random_file(&nasty, ',', 1);
    bench_split("nasty", nasty.data, nasty.len, 0);
    free(nasty.data);
    free(b.data);
}

TEST_MAIN("test_csv", UINT64_C(0x5eed0c5f), bench, 2000000, {"accept", test_accept},
          {"errors", test_errors}, {"writer", test_writer}, {"split", test_split},
          {"fuzz", test_fuzz}, {"windows", test_windows})
