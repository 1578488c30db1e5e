/* Unit tests of common/labels.c: the label set (random labels with "", NUL bytes, 1 KiB
 * labels, 200k labels through many growths; cleared and refilled in the same memory), the
 * merge of 1..8 random sets against qsort
 * of all labels, byte order, the acceptance example (colors, sizes, materials), the JSON
 * classes file (round trips of nasty labels, hand-written JSON with whitespace and \u
 * escapes, every error with its message) and atomic writes that leave no file behind
 * when they fail.  Random cases come from a fixed seed, printed at the start, which
 * TVP_TEST_SEED overrides.
 *
 * usage: test_labels DATA_FOLDER [SECTION]   (no section: every section but bench)
 *        test_labels DATA_FOLDER bench        speed of lookup, insert and merge */
#include <dirent.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "labels.h"
#include "tvp.h"

/* ---- helpers ---------------------------------------------------------------------------- */

#define L(s) (s), (sizeof(s) - 1) /* a string literal as (pointer, length), NULs included */

/* A random label: mostly short, from a small alphabet (so that there are repeats), with
 * NUL bytes and high bytes now and then, sometimes empty, rarely 1 KiB or more. */
static struct lab rnd_label(void)
{
    size_t len;
    uint64_t r = rnd_below(100);
    if (r < 3)
        len = 0;
    else if (r < 5)
        len = 1024 + rnd_below(100);
    else
        len = 1 + rnd_below(r < 60 ? 3 : 20);
    struct lab l = {xmalloc(len), len};
    for (size_t i = 0; i < len; i++) {
        uint64_t k = rnd_below(20);
        l.p[i] = k == 0 ? 0 : k == 1 ? (char)(0x80 + rnd_below(128)) : (char)('a' + rnd_below(4));
    }
    return l;
}

static size_t sort_unique(struct lab *a, size_t n)
{
    qsort(a, n, sizeof *a, lab_cmp);
    size_t u = 0;
    for (size_t i = 0; i < n; i++)
        if (u == 0 || lab_cmp(&a[u - 1], &a[i]) != 0)
            a[u++] = a[i];
    return u;
}

static int dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

static void write_file(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    CHECK(fwrite(data, 1, len, f) == len);
    CHECK(fclose(f) == 0);
}

static void set_of(struct tvp_labels *s, const char *const *l, size_t n)
{
    tvp_labels_init(s);
    for (size_t i = 0; i < n; i++)
        CHECK(tvp_labels_insert(s, l[i], strlen(l[i])) >= 0);
}

/* ---- sections --------------------------------------------------------------------------- */

static void test_set(void)
{
    /* empty set */
    struct tvp_labels s;
    tvp_labels_init(&s);
    CHECK(tvp_labels_lookup(&s, L("")) == -1);
    CHECK(tvp_labels_lookup(&s, L("a")) == -1);
    CHECK_EQ_U64(tvp_labels_count(&s), 0);
    /* "", NUL bytes: distinct labels */
    CHECK(tvp_labels_insert(&s, L("")) == 0);
    CHECK(tvp_labels_insert(&s, L("\0")) == 1);
    CHECK(tvp_labels_insert(&s, L("\0\0")) == 2);
    CHECK(tvp_labels_insert(&s, L("a\0b")) == 3);
    CHECK(tvp_labels_insert(&s, L("a")) == 4);
    CHECK(tvp_labels_insert(&s, L("")) == 0);
    CHECK(tvp_labels_insert(&s, L("a\0b")) == 3);
    CHECK(tvp_labels_lookup(&s, L("a\0")) == -1);
    CHECK(tvp_labels_lookup(&s, L("a\0b")) == 3);
    CHECK(tvp_labels_lookup(&s, L("\0\0")) == 2);
    CHECK(label_is(tvp_labels_get(&s, 3), L("a\0b")));
    CHECK_EQ_U64(tvp_labels_count(&s), 5);
    tvp_labels_free(&s);
    CHECK_EQ_U64(tvp_labels_count(&s), 0);
    CHECK(tvp_labels_lookup(&s, L("a")) == -1);

    /* random labels with repeats, against qsort */
    for (int round = 0; round < 20; round++) {
        size_t n = 1 + rnd_below(round < 10 ? 50 : 5000);
        struct lab *a = xmalloc(n * sizeof *a), *u = xmalloc(n * sizeof *u);
        int64_t *id = xmalloc(n * sizeof *id);
        tvp_labels_init(&s);
        for (size_t i = 0; i < n; i++) {
            a[i] = u[i] = rnd_label();
            id[i] = tvp_labels_insert(&s, a[i].p, a[i].len);
            CHECKF(id[i] >= 0 && (size_t)id[i] <= i, "round %d label %zu", round, i);
        }
        size_t nu = sort_unique(u, n);
        CHECK_EQ_U64(tvp_labels_count(&s), nu);
        uint8_t *seen = calloc(nu, 1);
        CHECK(seen);
        size_t next = 0;
        for (size_t i = 0; i < n; i++) {
            CHECKF(tvp_labels_lookup(&s, a[i].p, a[i].len) == id[i], "round %d label %zu",
                   round, i);
            CHECK(label_is(tvp_labels_get(&s, (size_t)id[i]), a[i].p, a[i].len));
            if (!seen[id[i]]) { /* ids come in insertion order */
                CHECK_EQ_U64(id[i], next);
                seen[id[i]] = 1;
                next++;
            }
            /* a label with one more byte is absent unless it was inserted too */
            struct lab longer = {xmalloc(a[i].len + 1), a[i].len + 1};
            memcpy(longer.p, a[i].p, a[i].len);
            longer.p[a[i].len] = 'z';
            CHECK(tvp_labels_lookup(&s, longer.p, longer.len) == -1);
            free(longer.p);
        }
        free(seen);
        tvp_labels_free(&s);
        for (size_t i = 0; i < n; i++)
            free(a[i].p);
        free(a);
        free(u);
        free(id);
    }

    /* 200k distinct labels (the index in binary, NULs and all, then random bytes): many
     * growths, and every label still found with its id; every other one left out */
    size_t n = 200000;
    struct lab *a = xmalloc(n * sizeof *a);
    tvp_labels_init(&s);
    for (size_t i = 0; i < n; i++) {
        size_t len = 4 + rnd_below(i % 1000 == 0 ? 1100 : 12);
        a[i] = (struct lab){xmalloc(len), len};
        uint32_t v = (uint32_t)i;
        memcpy(a[i].p, &v, 4);
        for (size_t k = 4; k < len; k++)
            a[i].p[k] = (char)rnd();
        if (i % 2 == 0)
            CHECK(tvp_labels_insert(&s, a[i].p, a[i].len) == (int64_t)(i / 2));
    }
    CHECK_EQ_U64(tvp_labels_count(&s), n / 2);
    for (size_t i = 0; i < n; i++) {
        int64_t want = i % 2 ? -1 : (int64_t)(i / 2);
        CHECKF(tvp_labels_lookup(&s, a[i].p, a[i].len) == want, "label %zu", i);
        if (i % 2 == 0)
            CHECK(label_is(tvp_labels_get(&s, i / 2), a[i].p, a[i].len));
    }
    for (size_t i = 0; i < n; i++)
        free(a[i].p);
    free(a);
    tvp_labels_free(&s);
}

/* Label i of a clear round: tag, then i's 4 bytes, then filler; the length depends only
 * on i (5..41 bytes, every 500th 5000: longer than the first chunks), so two rounds of
 * different tags need the same arena. */
static struct lab clear_label(char tag, size_t i)
{
    size_t len = i % 500 == 250 ? 5000 : 5 + i % 37;
    struct lab l = {xmalloc(len), len};
    uint32_t v = (uint32_t)i;
    l.p[0] = tag;
    memcpy(l.p + 1, &v, 4);
    for (size_t k = 5; k < len; k++)
        l.p[k] = (char)rnd();
    return l;
}

static void test_clear(void)
{
    struct tvp_labels s;
    tvp_labels_init(&s);
    /* a set that never held anything: clear is harmless and allocates nothing */
    tvp_labels_clear(&s);
    CHECK_EQ_U64(tvp_labels_count(&s), 0);
    CHECK(s.slots == NULL && s.items == NULL && s.chunks == NULL);
    CHECK(tvp_labels_insert(&s, L("x")) == 0);

    size_t n = 3000;
    struct lab *a = xmalloc(n * sizeof *a), *b = xmalloc(n * sizeof *b);
    for (size_t i = 0; i < n; i++) {
        a[i] = clear_label('a', i);
        b[i] = clear_label('b', i);
    }
    tvp_labels_clear(&s);
    for (size_t i = 0; i < n; i++)
        CHECK(tvp_labels_insert(&s, a[i].p, a[i].len) == (int64_t)i);
    const void *slots = s.slots, *items = s.items;
    size_t mask = s.mask, cap = s.cap, nchunks = s.nchunks;
    CHECK(nchunks >= 4);
    for (int round = 0; round < 3; round++) {
        /* cleared: empty, nothing found, the memory kept */
        tvp_labels_clear(&s);
        CHECK_EQ_U64(tvp_labels_count(&s), 0);
        for (size_t i = 0; i < n; i++) {
            CHECK(tvp_labels_lookup(&s, a[i].p, a[i].len) == -1);
            CHECK(tvp_labels_lookup(&s, b[i].p, b[i].len) == -1);
        }
        CHECK(s.slots == slots && s.items == items && s.mask == mask && s.cap == cap);
        CHECK_EQ_U64(s.nchunks, nchunks);
        /* other labels of the same lengths: ids from 0 again, the old labels gone, and no
         * new memory (the same table, id array and chunks) */
        struct lab *now = round % 2 ? a : b, *old = round % 2 ? b : a;
        for (size_t i = 0; i < n; i++)
            CHECKF(tvp_labels_insert(&s, now[i].p, now[i].len) == (int64_t)i, "round %d %zu",
                   round, i);
        for (size_t i = 0; i < n; i++) {
            CHECK(tvp_labels_insert(&s, now[i].p, now[i].len) == (int64_t)i);
            CHECK(tvp_labels_lookup(&s, now[i].p, now[i].len) == (int64_t)i);
            CHECK(tvp_labels_lookup(&s, old[i].p, old[i].len) == -1);
            CHECK(label_is(tvp_labels_get(&s, i), now[i].p, now[i].len));
        }
        CHECK_EQ_U64(tvp_labels_count(&s), n);
        CHECK(s.slots == slots && s.items == items && s.mask == mask && s.cap == cap);
        CHECK_EQ_U64(s.nchunks, nchunks);
    }
    /* a sorted set refilled: sort works on what it holds now */
    tvp_labels_clear(&s);
    CHECK(tvp_labels_insert(&s, L("m")) == 0);
    CHECK(tvp_labels_insert(&s, L("")) == 1);
    CHECK(tvp_labels_insert(&s, L("b")) == 2);
    CHECK(tvp_labels_sort(&s, NULL) == 0);
    CHECK(label_is(tvp_labels_get(&s, 0), L("")));
    CHECK(label_is(tvp_labels_get(&s, 2), L("m")));
    CHECK(tvp_labels_lookup(&s, L("b")) == 1);
    /* more than before: the set grows past its kept memory as usual */
    tvp_labels_clear(&s);
    for (size_t i = 0; i < n; i++) {
        CHECK(tvp_labels_insert(&s, a[i].p, a[i].len) == (int64_t)(2 * i));
        CHECK(tvp_labels_insert(&s, b[i].p, b[i].len) == (int64_t)(2 * i + 1));
    }
    CHECK(s.nchunks > nchunks && s.mask > mask);
    for (size_t i = 0; i < n; i++)
        CHECK(tvp_labels_lookup(&s, b[i].p, b[i].len) == (int64_t)(2 * i + 1));
    tvp_labels_free(&s);

    /* a kept chunk too small for the next label is replaced (the labels in it stay whole) */
    tvp_labels_init(&s);
    for (size_t i = 0; i < 200; i++) /* about 4.6 KB: two chunks */
        CHECK(tvp_labels_insert(&s, a[i].p, a[i].len) == (int64_t)i);
    CHECK_EQ_U64(s.nchunks, 2);
    tvp_labels_clear(&s);
    struct lab big = {xmalloc(100000), 100000};
    for (size_t k = 0; k < big.len; k++)
        big.p[k] = (char)rnd();
    CHECK(tvp_labels_insert(&s, L("x")) == 0); /* in the first chunk */
    CHECK(tvp_labels_insert(&s, big.p, big.len) == 1); /* the second is replaced */
    CHECK_EQ_U64(s.nchunks, 2);
    CHECK(tvp_labels_insert(&s, L("y")) == 2); /* the big one is full: a third */
    CHECK_EQ_U64(s.nchunks, 3);
    CHECK(label_is(tvp_labels_get(&s, 0), L("x")));
    CHECK(label_is(tvp_labels_get(&s, 1), big.p, big.len));
    CHECK(label_is(tvp_labels_get(&s, 2), L("y")));
    CHECK(tvp_labels_lookup(&s, a[0].p, a[0].len) == -1);
    tvp_labels_free(&s);
    CHECK_EQ_U64(tvp_labels_count(&s), 0);
    tvp_labels_clear(&s); /* harmless after free */
    free(big.p);
    for (size_t i = 0; i < n; i++) {
        free(a[i].p);
        free(b[i].p);
    }
    free(a);
    free(b);
}

static void test_order(void)
{
    /* the brief's example: byte order, which is code-point order for UTF-8 */
    static const struct {
        const char *p;
        size_t len;
    } in[] = {{L("a")},          {L("")},         {L("B")},
              {L("\xc3\xa9")} /* é */, {L("\xe6\x97\xa5\xe6\x9c\xac")} /* 日本 */,
              {L("\xf0\x9f\x98\x80")} /* 😀 */, {L("ab")}, {L("a\0")}};
    static const int want[] = {1, 2, 0, 7, 6, 3, 4, 5}; /* "", B, a, a\0, ab, é, 日本, 😀 */
    struct tvp_labels s;
    tvp_labels_init(&s);
    for (size_t i = 0; i < 8; i++)
        CHECK(tvp_labels_insert(&s, in[i].p, in[i].len) == (int64_t)i);
    uint32_t rank[8];
    CHECK(tvp_labels_sort(&s, rank) == 0);
    for (size_t i = 0; i < 8; i++) {
        CHECKF(label_is(tvp_labels_get(&s, i), in[want[i]].p, in[want[i]].len), "class %zu", i);
        CHECK_EQ_U64(rank[want[i]], i);
        CHECK(tvp_labels_lookup(&s, in[want[i]].p, in[want[i]].len) == (int64_t)i);
    }
    tvp_labels_free(&s);
    CHECK(tvp_label_cmp(L(""), L("")) == 0);
    CHECK(tvp_label_cmp(L("a"), L("a\0")) < 0);
    CHECK(tvp_label_cmp(L("b"), L("a\0")) > 0);
    CHECK(tvp_label_cmp(L("\x7f"), L("\x80")) < 0); /* unsigned bytes */
}

static void test_merge(void)
{
    for (int round = 0; round < 40; round++) {
        size_t nsets = 1 + (size_t)round % 8;
        struct tvp_labels sets[8];
        const struct tvp_labels *ptr[8];
        uint32_t *maps[8];
        size_t total = 0, cap = 0;
        struct lab *all = NULL;
        for (size_t k = 0; k < nsets; k++) {
            tvp_labels_init(&sets[k]);
            ptr[k] = &sets[k];
            size_t n = rnd_below(round < 20 ? 30 : 3000); /* empty sets too */
            for (size_t i = 0; i < n; i++) {
                struct lab l = rnd_label();
                CHECK(tvp_labels_insert(&sets[k], l.p, l.len) >= 0);
                if (total == cap) {
                    cap = cap ? cap * 2 : 64;
                    all = realloc(all, cap * sizeof *all);
                    CHECK(all);
                }
                all[total++] = l;
            }
            maps[k] = xmalloc((tvp_labels_count(&sets[k]) + 1) * sizeof **maps);
        }
        struct lab *copy = xmalloc((total + 1) * sizeof *copy);
        if (total)
            memcpy(copy, all, total * sizeof *copy);
        size_t nu = sort_unique(copy, total);
        struct tvp_labels out;
        CHECK(tvp_labels_merge(&out, ptr, nsets, (uint32_t *const *)maps) == 0);
        CHECK_EQ_U64(tvp_labels_count(&out), nu);
        for (size_t i = 0; i < nu; i++) {
            CHECKF(label_is(tvp_labels_get(&out, i), copy[i].p, copy[i].len), "round %d class %zu",
                   round, i);
            CHECK(tvp_labels_lookup(&out, copy[i].p, copy[i].len) == (int64_t)i);
        }
        for (size_t k = 0; k < nsets; k++)
            for (size_t j = 0; j < tvp_labels_count(&sets[k]); j++) {
                struct tvp_label l = tvp_labels_get(&sets[k], j);
                CHECK(maps[k][j] < nu);
                CHECKF(label_is(tvp_labels_get(&out, maps[k][j]), l.p, l.len),
                       "round %d set %zu id %zu", round, k, j);
            }
        /* without maps, and with some maps left out: the same classes */
        struct tvp_labels out2;
        CHECK(tvp_labels_merge(&out2, ptr, nsets, NULL) == 0);
        CHECK_EQ_U64(tvp_labels_count(&out2), nu);
        for (size_t i = 0; i < nu; i++)
            CHECK(label_is(tvp_labels_get(&out2, i), copy[i].p, copy[i].len));
        tvp_labels_free(&out2);
        free(maps[0]);
        maps[0] = NULL;
        CHECK(tvp_labels_merge(&out2, ptr, nsets, (uint32_t *const *)maps) == 0);
        CHECK_EQ_U64(tvp_labels_count(&out2), nu);
        tvp_labels_free(&out2);
        tvp_labels_free(&out);
        for (size_t k = 0; k < nsets; k++) {
            tvp_labels_free(&sets[k]);
            free(maps[k]);
        }
        for (size_t i = 0; i < total; i++)
            free(all[i].p);
        free(all);
        free(copy);
    }
}

static void test_accept(void)
{
    /* rows split over two workers; the classes, the encoding, and the file */
    static const char *colors[] = {"red", "green", "blue"};
    static const char *sizes[] = {"small", "medium", "large"};
    static const char *materials[] = {"wood", "metal", "plastic"};
    static const char *const *cols[] = {colors, sizes, materials};
    static const char *names[] = {"colors", "sizes", "materials"};
    static const char *want[3][3] = {
        {"blue", "green", "red"}, {"large", "medium", "small"}, {"metal", "plastic", "wood"}};
    static const uint32_t codes[3][3] = {{2, 1, 0}, {2, 1, 0}, {2, 0, 1}};
    struct tvp_labels classes[3];
    struct tvp_labels_column jc[3];
    for (int c = 0; c < 3; c++) {
        struct tvp_labels w[2];
        set_of(&w[0], cols[c], 2);     /* worker 0: rows 0, 1 */
        set_of(&w[1], cols[c] + 2, 1); /* worker 1: row 2 */
        const struct tvp_labels *ptr[2] = {&w[0], &w[1]};
        uint32_t m0[2], m1[1];
        uint32_t *maps[2] = {m0, m1};
        CHECK(tvp_labels_merge(&classes[c], ptr, 2, maps) == 0);
        CHECK_EQ_U64(tvp_labels_count(&classes[c]), 3);
        for (size_t i = 0; i < 3; i++) {
            CHECK(label_is(tvp_labels_get(&classes[c], i), want[c][i], strlen(want[c][i])));
            CHECK(tvp_labels_lookup(&classes[c], cols[c][i], strlen(cols[c][i])) ==
                  (int64_t)codes[c][i]);
        }
        CHECK_EQ_U64(m0[0], codes[c][0]);
        CHECK_EQ_U64(m0[1], codes[c][1]);
        CHECK_EQ_U64(m1[0], codes[c][2]);
        tvp_labels_free(&w[0]);
        tvp_labels_free(&w[1]);
        jc[c] = (struct tvp_labels_column){{names[c], strlen(names[c])}, &classes[c]};
    }
    const char *tmpdir = test_tmpdir();
    char path[128], err[256] = "";
    snprintf(path, sizeof path, "%s/classes.json", tmpdir);
    CHECK(tvp_labels_write_json(path, jc, 3, err, sizeof err) == 0);
    size_t len;
    char *text = slurp(path, &len);
    static const char expect[] = "{\n"
                                 "  \"colors\": [\"blue\", \"green\", \"red\"],\n"
                                 "  \"sizes\": [\"large\", \"medium\", \"small\"],\n"
                                 "  \"materials\": [\"metal\", \"plastic\", \"wood\"]\n"
                                 "}\n";
    CHECKF(len == strlen(expect) && memcmp(text, expect, len) == 0, "got:\n%s", text);
    free(text);
    /* mode 0666 & ~umask */
    mode_t mask = umask(022);
    CHECK(tvp_labels_write_json(path, jc, 3, err, sizeof err) == 0);
    struct stat sb;
    CHECK(stat(path, &sb) == 0);
    CHECK_EQ_U64(sb.st_mode & 0777, 0644);
    umask(mask);
    struct tvp_labels_file f;
    CHECK(tvp_labels_read_json(path, &f, err, sizeof err) == 0);
    CHECK_EQ_U64(tvp_labels_count(&f.names), 3);
    for (size_t c = 0; c < 3; c++) {
        CHECK(label_is(tvp_labels_get(&f.names, c), names[c], strlen(names[c])));
        CHECK_EQ_U64(tvp_labels_count(&f.classes[c]), 3);
        for (size_t i = 0; i < 3; i++)
            CHECK(label_is(tvp_labels_get(&f.classes[c], i), want[c][i], strlen(want[c][i])));
    }
    tvp_labels_file_free(&f);
    /* no columns: {} */
    CHECK(tvp_labels_write_json(path, NULL, 0, err, sizeof err) == 0);
    text = slurp(path, &len);
    CHECK(len == 3 && memcmp(text, "{}\n", 3) == 0);
    free(text);
    CHECK(tvp_labels_read_json(path, &f, err, sizeof err) == 0);
    CHECK_EQ_U64(tvp_labels_count(&f.names), 0);
    tvp_labels_file_free(&f);
    CHECK(unlink(path) == 0);
    test_tmpdir_done();
    for (int c = 0; c < 3; c++)
        tvp_labels_free(&classes[c]);
}

/* A random valid UTF-8 string of n code points (all planes, no surrogates; controls,
 * quotes and backslashes likely). */
static struct lab rnd_utf8(size_t n)
{
    struct lab l = {xmalloc(4 * n + 1), 0};
    unsigned char *p = (unsigned char *)l.p;
    for (size_t i = 0; i < n; i++) {
        uint64_t r = rnd_below(10);
        uint32_t cp = r < 3   ? (uint32_t)rnd_below(0x80)
                      : r < 4 ? (uint32_t)"\"\\/\0\n"[rnd_below(5)]
                      : r < 6 ? 0x80 + (uint32_t)rnd_below(0x800 - 0x80)
                      : r < 8 ? 0x800 + (uint32_t)rnd_below(0x10000 - 0x800)
                              : 0x10000 + (uint32_t)rnd_below(0x110000 - 0x10000);
        if (cp >= 0xD800 && cp <= 0xDFFF)
            cp = 0xE000;
        if (cp < 0x80)
            p[l.len++] = (unsigned char)cp;
        else if (cp < 0x800) {
            p[l.len++] = (unsigned char)(0xC0 | cp >> 6);
            p[l.len++] = (unsigned char)(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            p[l.len++] = (unsigned char)(0xE0 | cp >> 12);
            p[l.len++] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
            p[l.len++] = (unsigned char)(0x80 | (cp & 0x3F));
        } else {
            p[l.len++] = (unsigned char)(0xF0 | cp >> 18);
            p[l.len++] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
            p[l.len++] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
            p[l.len++] = (unsigned char)(0x80 | (cp & 0x3F));
        }
    }
    return l;
}

static void round_trip(const struct tvp_labels_column *cols, size_t ncols, const char *path)
{
    char err[256] = "";
    int rc = tvp_labels_write_json(path, cols, ncols, err, sizeof err);
    CHECKF(rc == 0, "%s", err);
    struct tvp_labels_file f;
    rc = tvp_labels_read_json(path, &f, err, sizeof err);
    CHECKF(rc == 0, "%s", err);
    CHECK_EQ_U64(tvp_labels_count(&f.names), ncols);
    for (size_t c = 0; c < ncols; c++) {
        CHECK(label_is(tvp_labels_get(&f.names, c), cols[c].name.p, cols[c].name.len));
        CHECK_EQ_U64(tvp_labels_count(&f.classes[c]), tvp_labels_count(cols[c].classes));
        for (size_t i = 0; i < tvp_labels_count(cols[c].classes); i++) {
            struct tvp_label l = tvp_labels_get(cols[c].classes, i);
            CHECKF(label_is(tvp_labels_get(&f.classes[c], i), l.p, l.len), "column %zu class %zu",
                   c, i);
        }
    }
    tvp_labels_file_free(&f);
}

static void test_json(void)
{
    const char *tmpdir = test_tmpdir();
    char path[128], err[256] = "";
    snprintf(path, sizeof path, "%s/classes.json", tmpdir);

    /* nasty labels, and a nasty column name */
    static const struct {
        const char *p;
        size_t len;
    } nasty[] = {{L("")},
                 {L("\"")},
                 {L("\\")},
                 {L("a\"b\\c\"")},
                 {L("\\u0041")},
                 {L("\n\t\r\b\f")},
                 {L("\x01\x1f\x7f")},
                 {L("\0")},
                 {L("a\0b")},
                 {L("/")},
                 {L("\xc3\xa9t\xc3\xa9")},
                 {L("\xe6\x97\xa5\xe6\x9c\xac")},
                 {L("\xf0\x9f\x98\x80")},
                 {L("\xe2\x80\xa8")}, /* U+2028 */
                 {L("\xef\xbf\xbf")}, /* U+FFFF */
                 {L("\xf4\x8f\xbf\xbf")}, /* U+10FFFF */
                 {L("  spaces  ")},
                 {L("}],{[:")}};
    size_t nn = sizeof nasty / sizeof *nasty;
    struct tvp_labels s, empty, names;
    tvp_labels_init(&s);
    tvp_labels_init(&empty);
    tvp_labels_init(&names);
    for (size_t i = 0; i < nn; i++)
        CHECK(tvp_labels_insert(&s, nasty[i].p, nasty[i].len) == (int64_t)i);
    CHECK(tvp_labels_sort(&s, NULL) == 0);
    struct tvp_labels_column cols[3] = {{{L("c\"o\\l\n\0\xf0\x9f\x98\x80")}, &s},
                                        {{L("")}, &empty},
                                        {{L("x")}, &s}};
    round_trip(cols, 3, path);

    /* random UTF-8 labels and names */
    for (int round = 0; round < 30; round++) {
        size_t ncols = 1 + rnd_below(5);
        struct tvp_labels sets[5];
        struct tvp_labels_column rc[5];
        struct lab nm[5];
        tvp_labels_free(&names);
        for (size_t c = 0; c < ncols; c++) {
            tvp_labels_init(&sets[c]);
            size_t n = rnd_below(200);
            for (size_t i = 0; i < n; i++) {
                struct lab l = rnd_utf8(rnd_below(8));
                CHECK(tvp_labels_insert(&sets[c], l.p, l.len) >= 0);
                free(l.p);
            }
            CHECK(tvp_labels_sort(&sets[c], NULL) == 0);
            do { /* distinct names */
                nm[c] = rnd_utf8(rnd_below(6));
            } while (tvp_labels_lookup(&names, nm[c].p, nm[c].len) >= 0 && (free(nm[c].p), 1));
            CHECK(tvp_labels_insert(&names, nm[c].p, nm[c].len) >= 0);
            rc[c] = (struct tvp_labels_column){{nm[c].p, nm[c].len}, &sets[c]};
        }
        round_trip(rc, ncols, path);
        for (size_t c = 0; c < ncols; c++) {
            tvp_labels_free(&sets[c]);
            free(nm[c].p);
        }
    }
    CHECK(unlink(path) == 0);

    /* hand-written JSON: whitespace, every escape, a surrogate pair, \u0000, upper-case hex */
    static const char hand[] =
        " \r\n{\t\"c\\u006fl\"  :\n [ \"\\u0041\" ,\"\\u00e9\\/\",\n"
        "\t\"\\ud83d\\uDE00\"\n]\n ,\n\"\\u0000\\\"\\\\\\b\\f\\n\\r\\t\": [],\"e\":[\"\"]}\n\n ";
    struct tvp_labels_file f;
    int rc = tvp_labels_parse_json(L(hand), "hand.json", &f, err, sizeof err);
    CHECKF(rc == 0, "%s", err);
    CHECK_EQ_U64(tvp_labels_count(&f.names), 3);
    CHECK(label_is(tvp_labels_get(&f.names, 0), L("col")));
    CHECK(label_is(tvp_labels_get(&f.names, 1), L("\0\"\\\b\f\n\r\t")));
    CHECK(label_is(tvp_labels_get(&f.names, 2), L("e")));
    CHECK_EQ_U64(tvp_labels_count(&f.classes[0]), 3);
    CHECK(label_is(tvp_labels_get(&f.classes[0], 0), L("A")));
    CHECK(label_is(tvp_labels_get(&f.classes[0], 1), L("\xc3\xa9/")));
    CHECK(label_is(tvp_labels_get(&f.classes[0], 2), L("\xf0\x9f\x98\x80")));
    CHECK(tvp_labels_lookup(&f.classes[0], L("\xc3\xa9/")) == 1);
    CHECK_EQ_U64(tvp_labels_count(&f.classes[1]), 0);
    CHECK_EQ_U64(tvp_labels_count(&f.classes[2]), 1);
    CHECK(label_is(tvp_labels_get(&f.classes[2], 0), L("")));
    tvp_labels_file_free(&f);
    /* the same through a file */
    write_file(path, hand, sizeof hand - 1);
    rc = tvp_labels_read_json(path, &f, err, sizeof err);
    CHECKF(rc == 0, "%s", err);
    CHECK_EQ_U64(tvp_labels_count(&f.names), 3);
    tvp_labels_file_free(&f);
    CHECK(unlink(path) == 0);
    test_tmpdir_done();
    tvp_labels_free(&s);
    tvp_labels_free(&empty);
    tvp_labels_free(&names);
}

static void test_jsonerr(void)
{
    static const struct {
        const char *text;
        size_t len;
        const char *msg;
    } cases[] = {
        {L(""), "classes.json: empty file"},
        {L("  \n "), "classes.json:2: expected '{'"},
        {L("[]"), "classes.json:1: expected '{'"},
        {L("\xef\xbb\xbf{}"), "classes.json:1: expected '{'"},
        {L("{"), "classes.json:1: expected '\"' (a column name)"},
        {L("{,}"), "classes.json:1: expected '\"' (a column name)"},
        {L("{\"a\": [],}"), "classes.json:1: expected '\"' (a column name)"},
        {L("{\"a\" []}"), "classes.json:1: expected ':'"},
        {L("{\"a\":\n\"x\"}"), "classes.json:2: expected '[' (column \"a\"'s classes)"},
        {L("{\"a\": [\"x\",]}"), "classes.json:1: expected '\"' (a class)"},
        {L("{\"a\": [1]}"), "classes.json:1: expected '\"' (a class)"},
        {L("{\n\"a\": [\"x\"\n\"y\"]}"), "classes.json:3: expected ',' or ']'"},
        {L("{\"a\": [\"x\"] \"b\": []}"), "classes.json:1: expected ',' or '}'"},
        {L("{\"a\": [\"x\"]"), "classes.json:1: expected ',' or '}'"},
        {L("{\"a\": [], \n\"a\": []}"), "classes.json:2: duplicate column \"a\""},
        {L("{\"a\": [\"b\",\n \"a\"]}"),
         "classes.json:2: column \"a\": class 1, \"a\", sorts before class 0: not sorted as "
         "LabelEncoder's classes_"},
        {L("{\"a\": [\"\", \"b\", \"b\"]}"),
         "classes.json:1: column \"a\": class 2, \"b\", repeats class 1: not sorted as "
         "LabelEncoder's classes_"},
        {L("{\"a\": [\"\\u00e9\", \"\xc3\xa9\"]}"),
         "classes.json:1: column \"a\": class 1, \"\xc3\xa9\", repeats class 0: not sorted as "
         "LabelEncoder's classes_"},
        {L("{\"a\": []}\n x"), "classes.json:2: trailing garbage after the object"},
        {L("{\"a\": []}{}"), "classes.json:1: trailing garbage after the object"},
        {L("{\"a\": []}\0"), "classes.json:1: trailing garbage after the object"},
        {L("{\"a\": [\"x"), "classes.json:1: unterminated string"},
        {L("{\"a\": [\"x\\"), "classes.json:1: unterminated string"},
        {L("{\"a\": [\"\\x\"]}"), "classes.json:1: bad escape in a string"},
        {L("{\"a\": [\"\\u12\"]}"), "classes.json:1: bad \\u escape (\\u and four hex digits)"},
        {L("{\"a\": [\"\\u12g4\"]}"), "classes.json:1: bad \\u escape (\\u and four hex digits)"},
        {L("{\"a\": [\"\\ud83d\"]}"), "classes.json:1: lone surrogate \\ud83d in a string"},
        {L("{\"a\": [\"\\ud83d\\u0041\"]}"), "classes.json:1: lone surrogate \\ud83d in a string"},
        {L("{\"a\": [\"\\ude00\"]}"), "classes.json:1: lone surrogate \\ude00 in a string"},
        {L("{\"a\": [\"x\ny\"]}"),
         "classes.json:1: raw control character 0x0a in a string (write it as \\u000a)"},
        {L("{\"a\": [\"\xff\"]}"), "classes.json:1: invalid UTF-8 in a string (byte 0xff)"},
        {L("{\"a\": [\"\xc0\x80\"]}"), "classes.json:1: invalid UTF-8 in a string (byte 0xc0)"},
        {L("{\"a\": [\"\xed\xa0\x80\"]}"), "classes.json:1: invalid UTF-8 in a string (byte 0xed)"},
        {L("{\"a\": [\"\xf4\x90\x80\x80\"]}"),
         "classes.json:1: invalid UTF-8 in a string (byte 0xf4)"},
        {L("{\"a\": [\"\xe6\x97\"]}"), "classes.json:1: invalid UTF-8 in a string (byte 0xe6)"},
    };
    char err[256];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct tvp_labels_file f;
        /* the input at its exact size, so an overrun is visible to valgrind and ASan */
        char *buf = xmalloc(cases[i].len);
        memcpy(buf, cases[i].text, cases[i].len);
        strcpy(err, "(none)");
        int rc = tvp_labels_parse_json(buf, cases[i].len, "classes.json", &f, err, sizeof err);
        CHECKF(rc == TVP_EINPUT, "case %zu: rc %d", i, rc);
        CHECKF(strcmp(err, cases[i].msg) == 0, "case %zu:\n  got:  %s\n  want: %s", i, err,
               cases[i].msg);
        CHECK_EQ_U64(tvp_labels_count(&f.names), 0);
        tvp_labels_file_free(&f);
        free(buf);
    }

    /* files: missing, a folder, an error on line 3 */
    const char *tmpdir = test_tmpdir();
    char path[128], want[256];
    struct tvp_labels_file f;
    snprintf(path, sizeof path, "%s/missing.json", tmpdir);
    CHECK(tvp_labels_read_json(path, &f, err, sizeof err) == TVP_EINPUT);
    snprintf(want, sizeof want, "%s: cannot open: No such file or directory", path);
    CHECKF(strcmp(err, want) == 0, "got: %s", err);
    CHECK(tvp_labels_read_json(tmpdir, &f, err, sizeof err) == TVP_EINPUT);
    snprintf(want, sizeof want, "%s: is a directory, not a classes file", tmpdir);
    CHECKF(strcmp(err, want) == 0, "got: %s", err);
    snprintf(path, sizeof path, "%s/bad.json", tmpdir);
    write_file(path, L("{\n  \"a\": [\"x\",\n  \"y\" \"z\"]\n}\n"));
    CHECK(tvp_labels_read_json(path, &f, err, sizeof err) == TVP_EINPUT);
    snprintf(want, sizeof want, "%s:3: expected ',' or ']'", path);
    CHECKF(strcmp(err, want) == 0, "got: %s", err);
    write_file(path, L(""));
    CHECK(tvp_labels_read_json(path, &f, err, sizeof err) == TVP_EINPUT);
    snprintf(want, sizeof want, "%s: empty file", path);
    CHECKF(strcmp(err, want) == 0, "got: %s", err);
    CHECK(unlink(path) == 0);
    test_tmpdir_done();
}

static void test_writefail(void)
{
    const char *tmpdir = test_tmpdir();
    char path[128], err[256], want[512];
    snprintf(path, sizeof path, "%s/classes.json", tmpdir);
    static const char *ok[] = {"a", "b"};
    struct tvp_labels good, bad, unsorted;
    set_of(&good, ok, 2);
    static const char *uns[] = {"b", "a"};
    set_of(&unsorted, uns, 2);
    tvp_labels_init(&bad);
    CHECK(tvp_labels_insert(&bad, L("a")) == 0);
    CHECK(tvp_labels_insert(&bad, L("b\xff\"")) == 1);
    struct {
        struct tvp_labels_column cols[2];
        size_t n;
        const char *msg; /* after "PATH: " */
    } cases[] = {
        {{{{L("c")}, &good}, {{L("d\n")}, &bad}},
         2,
         "column \"d\\u000a\": class 1, \"b\\xff\\\"\", is not valid UTF-8 (byte 1)"},
        {{{{L("c\xe2\x82")}, &good}}, 1,
         "the name of column 0, \"c\\xe2\\x82\", is not valid UTF-8 (byte 1)"},
        {{{{L("c")}, &good}, {{L("c")}, &good}}, 2, "duplicate column \"c\""},
        {{{{L("c")}, &unsorted}},
         1,
         "column \"c\": class 1, \"a\", does not sort after class 0: not sorted as "
         "LabelEncoder's classes_"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        strcpy(err, "(none)");
        CHECKF(tvp_labels_write_json(path, cases[i].cols, cases[i].n, err, sizeof err) ==
                   TVP_EINPUT,
               "case %zu", i);
        snprintf(want, sizeof want, "%s: %s", path, cases[i].msg);
        CHECKF(strcmp(err, want) == 0, "case %zu:\n  got:  %s\n  want: %s", i, err, want);
        CHECK_EQ_U64(dir_entries(tmpdir), 0);
    }
    /* a failed write leaves an existing file as it was */
    struct tvp_labels_column gc = {{L("c")}, &good};
    CHECK(tvp_labels_write_json(path, &gc, 1, err, sizeof err) == 0);
    size_t len0, len1;
    char *before = slurp(path, &len0);
    CHECK(tvp_labels_write_json(path, cases[0].cols, 2, err, sizeof err) == TVP_EINPUT);
    char *after = slurp(path, &len1);
    CHECK(len0 == len1 && memcmp(before, after, len0) == 0);
    free(before);
    free(after);
    CHECK_EQ_U64(dir_entries(tmpdir), 1);
    CHECK(unlink(path) == 0);
    /* a missing folder: TVP_ESYS */
    snprintf(path, sizeof path, "%s/no/classes.json", tmpdir);
    CHECK(tvp_labels_write_json(path, &gc, 1, err, sizeof err) == TVP_ESYS);
    snprintf(want, sizeof want, "%s: cannot write: No such file or directory", path);
    CHECKF(strcmp(err, want) == 0, "got: %s", err);
    CHECK_EQ_U64(dir_entries(tmpdir), 0);
    /* the rename fails (path is a folder that is not empty): the temporary file is gone */
    snprintf(path, sizeof path, "%s/sub", tmpdir);
    CHECK(mkdir(path, 0700) == 0);
    char inner[160];
    snprintf(inner, sizeof inner, "%s/keep", path);
    write_file(inner, L("x"));
    CHECK(tvp_labels_write_json(path, &gc, 1, err, sizeof err) == TVP_ESYS);
    CHECKF(strncmp(err, path, strlen(path)) == 0 && strstr(err, ": cannot write: "), "got: %s",
           err);
    CHECK_EQ_U64(dir_entries(tmpdir), 1);
    CHECK_EQ_U64(dir_entries(path), 1);
    CHECK(unlink(inner) == 0);
    CHECK(rmdir(path) == 0);
    test_tmpdir_done();
    tvp_labels_free(&good);
    tvp_labels_free(&bad);
    tvp_labels_free(&unsorted);
}

/* ---- bench ------------------------------------------------------------------------------- */

static void bench(uint64_t unused)
{
    (void)unused;
    /* 1000 short labels (3..12 bytes, like CSV categories), 16M lookups of them */
    struct tvp_labels s;
    tvp_labels_init(&s);
    size_t nl = 1000;
    struct lab *l = xmalloc(nl * sizeof *l);
    for (size_t i = 0; i < nl; i++) {
        size_t len = 3 + rnd_below(10);
        l[i] = (struct lab){xmalloc(len + 1), len};
        rnd_letters(l[i].p, len);
        if (tvp_labels_insert(&s, l[i].p, l[i].len) != (int64_t)tvp_labels_count(&s) - 1)
            i--; /* a repeat: draw again */
    }
    size_t nq = (size_t)1 << 24;
    /* the queries' bytes back to back, as fields of a CSV buffer would be */
    char *buf = xmalloc(nq * 13);
    struct tvp_label *q = xmalloc(nq * sizeof *q);
    size_t off = 0;
    for (size_t i = 0; i < nq; i++) {
        struct lab *x = &l[rnd_below(nl)];
        memcpy(buf + off, x->p, x->len);
        q[i] = (struct tvp_label){buf + off, x->len};
        off += x->len + 1;
        buf[off - 1] = ',';
    }
    for (int rep = 0; rep < 3; rep++) {
        uint64_t sum = 0;
        double t0 = tvp_now();
        for (size_t i = 0; i < nq; i++)
            sum += (uint64_t)tvp_labels_lookup(&s, q[i].p, q[i].len);
        double t = tvp_now() - t0;
        printf("lookup, 1000 labels of 3..12 bytes: %.1f M lookups/s (%.2f ns each; sum %" PRIu64
               ")\n",
               nq / t / 1e6, t / nq * 1e9, sum);
    }
    /* inserting the same stream into a fresh set (a worker's local set) */
    for (int rep = 0; rep < 2; rep++) {
        struct tvp_labels w;
        tvp_labels_init(&w);
        double t0 = tvp_now();
        for (size_t i = 0; i < nq; i++)
            CHECK(tvp_labels_insert(&w, q[i].p, q[i].len) >= 0);
        double t = tvp_now() - t0;
        printf("insert of 16M rows into a fresh set (1000 distinct): %.1f M rows/s\n",
               nq / t / 1e6);
        tvp_labels_free(&w);
    }
    /* 1M distinct labels: insert, sort, merge of 8 sets of 250k overlapping */
    size_t nd = 1000000;
    char *db = xmalloc(nd * 16);
    struct tvp_labels big;
    tvp_labels_init(&big);
    double t0 = tvp_now();
    for (size_t i = 0; i < nd; i++) {
        int n = snprintf(db + 16 * i, 16, "id%zu", (size_t)rnd_below(UINT64_C(1) << 40));
        CHECK(tvp_labels_insert(&big, db + 16 * i, (size_t)n) >= 0);
    }
    double t = tvp_now() - t0;
    printf("insert of 1M random ids: %.1f M/s (%zu distinct)\n", nd / t / 1e6,
           tvp_labels_count(&big));
    t0 = tvp_now();
    CHECK(tvp_labels_sort(&big, NULL) == 0);
    printf("sort of %zu labels: %.3f s\n", tvp_labels_count(&big), tvp_now() - t0);
    struct tvp_labels parts[8];
    const struct tvp_labels *ptr[8];
    uint32_t *maps[8];
    for (int k = 0; k < 8; k++) {
        tvp_labels_init(&parts[k]);
        ptr[k] = &parts[k];
        for (size_t i = 0; i < 250000; i++) {
            struct tvp_label x = tvp_labels_get(&big, rnd_below(tvp_labels_count(&big)));
            CHECK(tvp_labels_insert(&parts[k], x.p, x.len) >= 0);
        }
        maps[k] = xmalloc(tvp_labels_count(&parts[k]) * sizeof **maps);
    }
    struct tvp_labels out;
    t0 = tvp_now();
    CHECK(tvp_labels_merge(&out, ptr, 8, (uint32_t *const *)maps) == 0);
    printf("merge of 8 sets of ~220k labels into %zu classes, with maps: %.3f s\n",
           tvp_labels_count(&out), tvp_now() - t0);
    tvp_labels_free(&out);
    for (int k = 0; k < 8; k++) {
        tvp_labels_free(&parts[k]);
        free(maps[k]);
    }
    tvp_labels_free(&big);
    tvp_labels_free(&s);
    for (size_t i = 0; i < nl; i++)
        free(l[i].p);
    free(l);
    free(buf);
    free(q);
    free(db);
}

TEST_MAIN("test_labels", UINT64_C(0x5eed1abe), bench, 0, {"set", test_set},
          {"clear", test_clear}, {"order", test_order}, {"merge", test_merge},
          {"accept", test_accept}, {"json", test_json}, {"jsonerr", test_jsonerr},
          {"writefail", test_writefail})
