/* Unit tests of common/image.c: PNG and PGM/PPM reading and writing, bad input of every
 * kind (each must give TVP_EINPUT and one line naming the file and the problem, never a
 * crash), atomic writes, and the synthetic image.  Test files are made at run time in a
 * mkdtemp folder under /tmp (PNGs of special kinds with libpng directly), which is
 * removed at the end; tests/data holds two hand-written plain netpbm files.  Random cases
 * come from a fixed seed, printed at the start, which TVP_TEST_SEED overrides.
 *
 * usage: test_image DATA_FOLDER [SECTION]   (no section: every section) */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <png.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "image.h"
#include "tvp.h"

static const char *data_dir;
static char tmp_dir[64];


/* ---- files ------------------------------------------------------------------------------- */


/* tmp_dir/name, in one of a few rotating buffers */
static const char *tpath(const char *name)
{
    static char bufs[8][256];
    static int next;
    char *b = bufs[next++ % 8];
    snprintf(b, sizeof bufs[0], "%s/%s", tmp_dir, name);
    return b;
}

static void put_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    CHECKF(f != NULL, "%s: %s", path, strerror(errno));
    CHECK(fwrite(data, 1, len, f) == len);
    CHECK(fclose(f) == 0);
}

static void put_text(const char *path, const char *text)
{
    put_file(path, text, strlen(text));
}

/* header text followed by len bytes of data */
static void put_pnm(const char *path, const char *header, const uint8_t *data, size_t len)
{
    size_t hl = strlen(header);
    uint8_t *b = xmalloc(hl + len);
    memcpy(b, header, hl);
    if (len)
        memcpy(b + hl, data, len);
    put_file(path, b, hl + len);
    free(b);
}

static uint8_t *get_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    CHECKF(f != NULL, "%s: %s", path, strerror(errno));
    size_t cap = 4096, n = 0;
    uint8_t *b = xmalloc(cap);
    size_t got;
    while ((got = fread(b + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            cap *= 2;
            b = realloc(b, cap);
            CHECK(b != NULL);
        }
    }
    CHECK(!ferror(f));
    fclose(f);
    *len = n;
    return b;
}

static int exists(const char *path)
{
    struct stat sb;
    return lstat(path, &sb) == 0;
}

/* entries of tmp_dir whose name contains ".tmp." (left by a write) */
static int count_temporaries(void)
{
    DIR *d = opendir(tmp_dir);
    CHECK(d != NULL);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += strstr(e->d_name, ".tmp.") != NULL;
    closedir(d);
    return n;
}

static void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char p[512];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat sb;
        if (lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode)) {
            chmod(p, 0700);
            remove_tree(p);
        } else {
            unlink(p);
        }
    }
    closedir(d);
    rmdir(dir);
}

/* ---- images ------------------------------------------------------------------------------ */

/* An image of random pixels whose rows are `pad` bytes longer than needed (the padding
 * holds 0xAB, which no check may see). */
static struct tvp_image random_image(uint32_t w, uint32_t h, uint32_t c, size_t pad)
{
    struct tvp_image im = {w, h, c, (size_t)w * c + pad, NULL};
    im.pix = xmalloc(im.stride * h);
    memset(im.pix, 0xAB, im.stride * h);
    for (uint32_t y = 0; y < h; y++)
        for (size_t i = 0; i < (size_t)w * c; i++)
            im.pix[y * im.stride + i] = (uint8_t)rnd();
    return im;
}

static void check_same(const struct tvp_image *a, const struct tvp_image *b, const char *what)
{
    CHECKF(a->width == b->width && a->height == b->height && a->channels == b->channels,
           "%s: %ux%ux%u vs %ux%ux%u", what, a->width, a->height, a->channels, b->width,
           b->height, b->channels);
    size_t row = (size_t)a->width * a->channels;
    for (uint32_t y = 0; y < a->height; y++)
        CHECKF(memcmp(a->pix + y * a->stride, b->pix + y * b->stride, row) == 0,
               "%s: row %u differs", what, y);
}

/* An image read from a file has stride width * channels. */
static void read_ok(const char *path, struct tvp_image *im)
{
    char err[512] = "";
    int rc = tvp_image_read(path, TVP_IMAGE_MAX_PIXELS_DEFAULT, im, err, sizeof err);
    CHECKF(rc == 0, "%s: rc %d: %s", path, rc, err);
    CHECK(im->pix != NULL);
    CHECK_EQ_U64(im->stride, (uint64_t)im->width * im->channels);
}

static int is_zeroed(const struct tvp_image *im)
{
    return im->width == 0 && im->height == 0 && im->channels == 0 && im->stride == 0 &&
           im->pix == NULL;
}

/* A one-line message "PATH: ..." that contains every word given (case-insensitive). */
static void check_message(const char *err, const char *path, const char *w1, const char *w2)
{
    size_t pl = strlen(path);
    CHECKF(strncmp(err, path, pl) == 0 && err[pl] == ':' && err[pl + 1] == ' ',
           "message '%s' does not start with '%s: '", err, path);
    CHECKF(strchr(err, '\n') == NULL && strchr(err, '\r') == NULL, "message '%s' has a line break",
           err);
    CHECKF(strlen(err) > pl + 3, "message '%s' says nothing", err);
    CHECKF(!w1 || strcasestr(err, w1), "message '%s' lacks '%s'", err, w1);
    CHECKF(!w2 || strcasestr(err, w2), "message '%s' lacks '%s'", err, w2);
}

/* Reading path must fail with TVP_EINPUT and a message with those words. */
static void expect_bad_max(const char *path, uint64_t max_pixels, const char *w1, const char *w2)
{
    struct tvp_image im = {7, 7, 7, 7, (uint8_t *)&im}; /* garbage: must come back zeroed */
    char err[512];
    memset(err, 'x', sizeof err);
    err[sizeof err - 1] = 0;
    int rc = tvp_image_read(path, max_pixels, &im, err, sizeof err);
    CHECKF(rc == TVP_EINPUT, "%s: rc %d, want TVP_EINPUT (message '%s')", path, rc,
           rc ? err : "");
    CHECKF(is_zeroed(&im), "%s: image not zeroed after a failure", path);
    check_message(err, path, w1, w2);
}

static void expect_bad(const char *path, const char *w1, const char *w2)
{
    expect_bad_max(path, TVP_IMAGE_MAX_PIXELS_DEFAULT, w1, w2);
}

/* ---- PNG files made with libpng directly, and raw chunk surgery --------------------------- */

struct raw_png {
    uint32_t w, h;
    int depth, type, interlace;
    const uint8_t *data; /* rows, packed as PNG stores them (rowbytes each) */
    size_t rowbytes;
    const png_color *palette;
    int npalette;
    const uint8_t *trans; /* palette alpha */
    int ntrans;
    const png_color_16 *trans_color; /* gray or RGB key */
};

static void png_fatal(png_structp png, png_const_charp msg)
{
    (void)png;
    fprintf(stderr, "test's own libpng write failed: %s\n", msg);
    exit(1);
}

static void png_quiet(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

static void write_raw_png(const char *path, const struct raw_png *r)
{
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, png_fatal, png_quiet);
    CHECK(png != NULL);
    png_infop info = png_create_info_struct(png);
    CHECK(info != NULL);
    png_init_io(png, f);
    png_set_IHDR(png, info, r->w, r->h, r->depth, r->type, r->interlace,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (r->palette)
        png_set_PLTE(png, info, r->palette, r->npalette);
    if (r->trans || r->trans_color)
        png_set_tRNS(png, info, r->trans, r->ntrans, r->trans_color);
    png_write_info(png, info);
    png_bytep *rows = xmalloc(r->h * sizeof *rows);
    for (uint32_t y = 0; y < r->h; y++)
        rows[y] = (png_bytep)(r->data + y * r->rowbytes);
    png_write_image(png, rows); /* all passes when interlaced */
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(rows);
    CHECK(fclose(f) == 0);
}

static uint32_t crc32_of(const uint8_t *p, size_t len)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < len; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ 0xedb88320u : c >> 1;
    }
    return ~c;
}

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Offset of the first chunk of that type (at its length field); its data length. */
static size_t find_chunk(const uint8_t *b, size_t len, const char *type, uint32_t *dlen)
{
    size_t off = 8;
    while (off + 12 <= len) {
        uint32_t n = get_be32(b + off);
        if (memcmp(b + off + 4, type, 4) == 0) {
            *dlen = n;
            return off;
        }
        off += 12 + (size_t)n;
    }
    CHECKF(0, "no %s chunk", type);
    return 0;
}

static void fix_crc(uint8_t *b, size_t off)
{
    uint32_t n = get_be32(b + off);
    put_be32(b + off + 8 + n, crc32_of(b + off + 4, 4 + (size_t)n));
}

/* A PNG of only a signature, an IHDR of that size and an IDAT of a few bytes: enough for
 * a reader to learn the size (no real image data). */
static void put_png_header_only(const char *path, uint32_t w, uint32_t h, int depth, int type)
{
    uint8_t b[8 + 25 + 12 + 4 + 12];
    memcpy(b, "\x89PNG\r\n\x1a\n", 8);
    put_be32(b + 8, 13);
    memcpy(b + 12, "IHDR", 4);
    put_be32(b + 16, w);
    put_be32(b + 20, h);
    b[24] = (uint8_t)depth;
    b[25] = (uint8_t)type;
    b[26] = b[27] = b[28] = 0;
    fix_crc(b, 8);
    size_t o = 33;
    put_be32(b + o, 4);
    memcpy(b + o + 4, "IDAT", 4);
    memcpy(b + o + 8, "\x78\x9c\x03\x00", 4);
    fix_crc(b, o);
    o += 16;
    put_be32(b + o, 0);
    memcpy(b + o + 4, "IEND", 4);
    fix_crc(b, o);
    put_file(path, b, sizeof b);
}

/* ---- round trips ------------------------------------------------------------------------- */

static void roundtrip(const char *name, uint32_t w, uint32_t h, uint32_t c, size_t pad)
{
    const char *path = tpath(name);
    struct tvp_image im = random_image(w, h, c, pad), back;
    char err[512] = "";
    int rc = tvp_image_write(path, &im, err, sizeof err);
    CHECKF(rc == 0, "%s %ux%ux%u pad %zu: rc %d: %s", name, w, h, c, pad, rc, err);
    read_ok(path, &back);
    char what[300];
    snprintf(what, sizeof what, "%s %ux%ux%u pad %zu", name, w, h, c, pad);
    check_same(&im, &back, what);
    tvp_image_free(&im);
    tvp_image_free(&back);
    CHECK(unlink(path) == 0);
}

static void test_roundtrip(void)
{
    static const uint32_t sizes[][2] = {{1, 1}, {3, 7}, {64, 33}, {257, 5}, {1, 300}, {300, 1}};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (size_t pad = 0; pad <= 5; pad += 5) {
            uint32_t w = sizes[s][0], h = sizes[s][1];
            for (uint32_t c = 1; c <= 4; c++)
                roundtrip("rt.png", w, h, c, pad);
            roundtrip("rt.pgm", w, h, 1, pad);
            roundtrip("rt.ppm", w, h, 3, pad);
        }
    /* extensions are case-insensitive */
    roundtrip("UPPER.PNG", 5, 4, 4, 3);
    roundtrip("Mixed.Pgm", 5, 4, 1, 0);
    roundtrip("x.y.pPm", 5, 4, 3, 1);
    roundtrip("no-folder-part.png", 2, 2, 2, 0);

    /* the PGM/PPM written are binary P5/P6 with the plain header, and nothing more */
    struct tvp_image im = random_image(3, 2, 1, 4);
    char err[512];
    CHECK(tvp_image_write(tpath("exact.pgm"), &im, err, sizeof err) == 0);
    size_t len;
    uint8_t *b = get_file(tpath("exact.pgm"), &len);
    CHECK_EQ_U64(len, 11 + 6);
    CHECK(memcmp(b, "P5\n3 2\n255\n", 11) == 0);
    CHECK(memcmp(b + 11, im.pix, 3) == 0 && memcmp(b + 14, im.pix + im.stride, 3) == 0);
    free(b);
    tvp_image_free(&im);
    im = random_image(2, 1, 3, 0);
    CHECK(tvp_image_write(tpath("exact.ppm"), &im, err, sizeof err) == 0);
    b = get_file(tpath("exact.ppm"), &len);
    CHECK_EQ_U64(len, 11 + 6);
    CHECK(memcmp(b, "P6\n2 1\n255\n", 11) == 0 && memcmp(b + 11, im.pix, 6) == 0);
    free(b);
    tvp_image_free(&im);

    /* writing over an existing file replaces it */
    struct tvp_image a = random_image(9, 9, 3, 0), a2 = random_image(4, 5, 3, 2), back;
    CHECK(tvp_image_write(tpath("over.png"), &a, err, sizeof err) == 0);
    CHECK(tvp_image_write(tpath("over.png"), &a2, err, sizeof err) == 0);
    read_ok(tpath("over.png"), &back);
    check_same(&a2, &back, "over.png");
    tvp_image_free(&back);
    /* a big one (many IDAT chunks), made by the synthesizer */
    struct tvp_image big = {1000, 700, 3, 1000 * 3, NULL};
    big.pix = xmalloc(big.stride * big.height);
    tvp_image_synth_rows(5, big.width, big.height, 3, 0, big.height, big.pix, big.stride);
    CHECK(tvp_image_write(tpath("big.png"), &big, err, sizeof err) == 0);
    read_ok(tpath("big.png"), &back);
    check_same(&big, &back, "big.png");
    tvp_image_free(&back);
    tvp_image_free(&big);
    tvp_image_free(&a);
    tvp_image_free(&a2);
    CHECK(count_temporaries() == 0);
}

/* ---- netpbm input ------------------------------------------------------------------------ */

static void check_pixels(const struct tvp_image *im, uint32_t w, uint32_t h, uint32_t c,
                         const uint8_t *want, const char *what)
{
    CHECKF(im->width == w && im->height == h && im->channels == c, "%s: %ux%ux%u", what,
           im->width, im->height, im->channels);
    CHECKF(memcmp(im->pix, want, (size_t)w * h * c) == 0, "%s: pixels differ", what);
}

static void test_pnm(void)
{
    char path[512];
    struct tvp_image im;

    /* the hand-written plain files: comments, tabs, values over several lines */
    snprintf(path, sizeof path, "%s/gray-comments.pgm", data_dir);
    read_ok(path, &im);
    static const uint8_t gray[] = {0, 1, 2, 3, 64, 128, 192, 255, 10, 20, 30, 40};
    check_pixels(&im, 4, 3, 1, gray, "gray-comments.pgm");
    tvp_image_free(&im);
    snprintf(path, sizeof path, "%s/rgb-comments.ppm", data_dir);
    read_ok(path, &im);
    static const uint8_t rgb[] = {255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255};
    check_pixels(&im, 2, 2, 3, rgb, "rgb-comments.ppm");
    tvp_image_free(&im);

    /* plain, made here: CR LF, form feeds, vertical tabs, a comment inside the values,
     * leading zeros, a comment glued to a number, no newline at the end */
    put_text(tpath("p2.pgm"), "P2\r\n#c\r\n3\f2\v255\r\n000 7 #x\r\n 255\t\t0\r\n9#end\r\n1");
    read_ok(tpath("p2.pgm"), &im);
    static const uint8_t p2[] = {0, 7, 255, 0, 9, 1};
    check_pixels(&im, 3, 2, 1, p2, "p2.pgm");
    tvp_image_free(&im);
    put_text(tpath("p3.ppm"), "P3 1 2 # one column\n255 1 2 3\n\n\n4 5 6 \n\n");
    read_ok(tpath("p3.ppm"), &im);
    static const uint8_t p3[] = {1, 2, 3, 4, 5, 6};
    check_pixels(&im, 1, 2, 3, p3, "p3.ppm");
    tvp_image_free(&im);

    /* binary: comments and odd whitespace in the header; raster bytes that look like
     * whitespace or a comment ('\n', ' ', '#', '\r') are pixels */
    static const uint8_t raster[] = {'\n', ' ', '#', '\r', '\t', 0, 255, '5', '#', '\n', 1, 2};
    put_pnm(tpath("p5.pgm"), "P5 #c1\n# c2\n\t3 \r\n# c3\n4\v255\n", raster, 12);
    read_ok(tpath("p5.pgm"), &im);
    check_pixels(&im, 3, 4, 1, raster, "p5.pgm");
    tvp_image_free(&im);
    /* maxval ended by a comment: the comment's end of line is the one separator */
    put_pnm(tpath("p6.ppm"), "P6\n2 2 255# comment\n", raster, 12);
    read_ok(tpath("p6.ppm"), &im);
    check_pixels(&im, 2, 2, 3, raster, "p6.ppm");
    tvp_image_free(&im);
    /* maxval ended by a space; after it, the raster at once (its first byte a '\n') */
    put_pnm(tpath("p6b.ppm"), "P6\t4\t1\t255 ", raster, 12);
    read_ok(tpath("p6b.ppm"), &im);
    check_pixels(&im, 4, 1, 3, raster, "p6b.ppm");
    tvp_image_free(&im);
    /* CR LF after maxval: the CR is the separator and the LF the first pixel (netpbm) */
    put_pnm(tpath("crlf.pgm"), "P5\r\n3 1\r\n255\r", raster, 3);
    read_ok(tpath("crlf.pgm"), &im);
    check_pixels(&im, 3, 1, 1, raster, "crlf.pgm");
    tvp_image_free(&im);
    /* bytes after the raster are ignored (netpbm allows several images in a file) */
    put_pnm(tpath("more.pgm"), "P5 2 1 255\n", raster, 5);
    read_ok(tpath("more.pgm"), &im);
    check_pixels(&im, 2, 1, 1, raster, "more.pgm");
    tvp_image_free(&im);
    /* the format is told by the bytes, not the name */
    put_pnm(tpath("gray.png"), "P5 2 1 255\n", raster, 2);
    read_ok(tpath("gray.png"), &im);
    check_pixels(&im, 2, 1, 1, raster, "gray.png");
    tvp_image_free(&im);
    /* exactly max_pixels is allowed */
    uint8_t *zeros = calloc(10000, 1);
    CHECK(zeros != NULL);
    put_pnm(tpath("limit.pgm"), "P5 100 100 255\n", zeros, 10000);
    char err[512];
    CHECK(tvp_image_read(tpath("limit.pgm"), 10000, &im, err, sizeof err) == 0);
    CHECK(im.width == 100 && im.height == 100);
    tvp_image_free(&im);
    expect_bad_max(tpath("limit.pgm"), 9999, "10000", "limit");
    free(zeros);
}

/* ---- PNG input of special kinds ------------------------------------------------------------- */

static void test_png(void)
{
    struct tvp_image im;
    /* palette, 4 bits per index: becomes RGB */
    static const png_color pal[5] = {{0, 0, 0}, {255, 0, 0}, {0, 255, 0}, {1, 2, 3}, {9, 8, 7}};
    static const uint8_t idx[3][5] = {{0, 1, 2, 3, 4}, {4, 3, 2, 1, 0}, {1, 1, 4, 4, 2}};
    uint8_t packed[3][3];
    memset(packed, 0, sizeof packed);
    for (int y = 0; y < 3; y++)
        for (int x = 0; x < 5; x++)
            packed[y][x / 2] |= (uint8_t)(idx[y][x] << (x % 2 ? 0 : 4));
    struct raw_png r = {5, 3, 4, PNG_COLOR_TYPE_PALETTE, PNG_INTERLACE_NONE, &packed[0][0], 3,
                        pal, 5, NULL, 0, NULL};
    write_raw_png(tpath("pal.png"), &r);
    read_ok(tpath("pal.png"), &im);
    uint8_t want[5 * 3 * 4];
    for (int i = 0; i < 15; i++) {
        const png_color *p = &pal[idx[i / 5][i % 5]];
        want[3 * i] = p->red, want[3 * i + 1] = p->green, want[3 * i + 2] = p->blue;
    }
    check_pixels(&im, 5, 3, 3, want, "pal.png");
    tvp_image_free(&im);

    /* palette with tRNS: RGBA, entries past the tRNS list opaque */
    static const uint8_t alpha[3] = {0, 128, 77};
    uint8_t idx8[15];
    for (int i = 0; i < 15; i++)
        idx8[i] = idx[i / 5][i % 5];
    r = (struct raw_png){5, 3, 8, PNG_COLOR_TYPE_PALETTE, PNG_INTERLACE_NONE, idx8, 5, pal, 5,
                         alpha, 3, NULL};
    write_raw_png(tpath("palt.png"), &r);
    read_ok(tpath("palt.png"), &im);
    for (int i = 0; i < 15; i++) {
        const png_color *p = &pal[idx8[i]];
        want[4 * i] = p->red, want[4 * i + 1] = p->green, want[4 * i + 2] = p->blue;
        want[4 * i + 3] = idx8[i] < 3 ? alpha[idx8[i]] : 255;
    }
    check_pixels(&im, 5, 3, 4, want, "palt.png");
    tvp_image_free(&im);

    /* gray at 1 and 2 bits: scaled to 8 bits */
    static const uint8_t g1[2] = {0xA0, 0x40}; /* 1010 0000, 0100 0000: 4x2 */
    r = (struct raw_png){4, 2, 1, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE, g1, 1, NULL, 0, NULL, 0,
                         NULL};
    write_raw_png(tpath("g1.png"), &r);
    read_ok(tpath("g1.png"), &im);
    static const uint8_t g1want[8] = {255, 0, 255, 0, 0, 255, 0, 0};
    check_pixels(&im, 4, 2, 1, g1want, "g1.png");
    tvp_image_free(&im);
    static const uint8_t g2[1] = {0x1B}; /* 00 01 10 11 */
    r = (struct raw_png){4, 1, 2, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE, g2, 1, NULL, 0, NULL, 0,
                         NULL};
    write_raw_png(tpath("g2.png"), &r);
    read_ok(tpath("g2.png"), &im);
    static const uint8_t g2want[4] = {0, 85, 170, 255};
    check_pixels(&im, 4, 1, 1, g2want, "g2.png");
    tvp_image_free(&im);

    /* gray with a tRNS key: gray + alpha */
    static const uint8_t gk[4] = {10, 20, 10, 30};
    png_color_16 key = {0, 0, 0, 0, 10};
    r = (struct raw_png){4, 1, 8, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE, gk, 4, NULL, 0, NULL, 0,
                         &key};
    write_raw_png(tpath("gk.png"), &r);
    read_ok(tpath("gk.png"), &im);
    static const uint8_t gkwant[8] = {10, 0, 20, 255, 10, 0, 30, 255};
    check_pixels(&im, 4, 1, 2, gkwant, "gk.png");
    tvp_image_free(&im);
    /* RGB with a tRNS key: RGBA */
    static const uint8_t ck[6] = {1, 2, 3, 4, 5, 6};
    png_color_16 ckey = {0, 4, 5, 6, 0};
    r = (struct raw_png){2, 1, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, ck, 6, NULL, 0, NULL, 0,
                         &ckey};
    write_raw_png(tpath("ck.png"), &r);
    read_ok(tpath("ck.png"), &im);
    static const uint8_t ckwant[8] = {1, 2, 3, 255, 4, 5, 6, 0};
    check_pixels(&im, 2, 1, 4, ckwant, "ck.png");
    tvp_image_free(&im);

    /* interlaced (Adam7), every 8-bit colour type */
    static const int types[5] = {0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA,
                                 PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGB_ALPHA};
    for (uint32_t c = 1; c <= 4; c++) {
        struct tvp_image src = random_image(37, 23, c, 0);
        r = (struct raw_png){37, 23, 8, types[c], PNG_INTERLACE_ADAM7, src.pix, src.stride,
                             NULL, 0, NULL, 0, NULL};
        write_raw_png(tpath("adam7.png"), &r);
        read_ok(tpath("adam7.png"), &im);
        check_same(&src, &im, "adam7.png");
        tvp_image_free(&im);
        tvp_image_free(&src);
    }
}

/* ---- bad input ------------------------------------------------------------------------------ */

/* A valid PNG of a synthetic image, as bytes. */
static uint8_t *valid_png(uint32_t w, uint32_t h, uint32_t c, size_t *len)
{
    struct tvp_image im = {w, h, c, (size_t)w * c, NULL};
    im.pix = xmalloc(im.stride * h);
    tvp_image_synth_rows(77, w, h, c, 0, h, im.pix, im.stride);
    char err[512];
    CHECK(tvp_image_write(tpath("valid.png"), &im, err, sizeof err) == 0);
    tvp_image_free(&im);
    return get_file(tpath("valid.png"), len);
}

static void test_bad(void)
{
    char err[512];
    /* files that are not there or not files */
    expect_bad(tpath("missing.png"), "cannot open", "no such file");
    expect_bad(tmp_dir, "directory", NULL);
    CHECK(mkdir(tpath("d.pgm"), 0700) == 0);
    expect_bad(tpath("d.pgm"), "directory", NULL);
    if (geteuid() != 0) { /* root reads anything */
        put_text(tpath("noperm.pgm"), "P2 1 1 255 0");
        CHECK(chmod(tpath("noperm.pgm"), 0) == 0);
        expect_bad(tpath("noperm.pgm"), "cannot open", "permission");
    }

    /* not an image we read */
    put_text(tpath("empty.png"), "");
    expect_bad(tpath("empty.png"), "empty", NULL);
    put_text(tpath("gif.png"), "GIF89a\x01\x00\x01\x00");
    expect_bad(tpath("gif.png"), "not a PNG or netpbm image", "(starts with 'GIF8')");
    put_file(tpath("bin.pgm"), "\x00\x01\xff", 3);
    expect_bad(tpath("bin.pgm"), "not a PNG or netpbm", "'\\x00\\x01\\xff'");
    put_text(tpath("p.pgm"), "P");
    expect_bad(tpath("p.pgm"), "not a PNG or netpbm", NULL);
    put_text(tpath("p4.pgm"), "P4 1 1\n\x80");
    expect_bad(tpath("p4.pgm"), "P4", "not supported");
    put_text(tpath("p7.pam"), "P7\nWIDTH 1\n");
    expect_bad(tpath("p7.pam"), "P7", "not supported");
    put_text(tpath("p8.pgm"), "P8 1 1 255 0");
    expect_bad(tpath("p8.pgm"), "not a PNG or netpbm", NULL);
    put_file(tpath("sig.png"), "\x89PNG\n\x1a\n\n", 8); /* a text-mode transfer */
    expect_bad(tpath("sig.png"), "signature", NULL);
    put_file(tpath("sig4.png"), "\x89PNG", 4);
    expect_bad(tpath("sig4.png"), "truncated", NULL);

    /* netpbm headers */
    static const char *const trunc_headers[] = {"P5", "P5\n", "P5 3", "P6 3 ", "P6 3 2",
                                                "P2 3 2 ", "P3 3 2 # maxval missing\n"};
    for (size_t i = 0; i < sizeof trunc_headers / sizeof trunc_headers[0]; i++) {
        put_text(tpath("th.pgm"), trunc_headers[i]);
        expect_bad(tpath("th.pgm"), "truncated header", NULL);
    }
    put_text(tpath("nan.pgm"), "P5 x 2 255\n");
    expect_bad(tpath("nan.pgm"), "width 'x' is not a number", NULL);
    put_text(tpath("neg.pgm"), "P5 3 -2 255\n");
    expect_bad(tpath("neg.pgm"), "height '-2' is not a number", NULL);
    put_text(tpath("glued.pgm"), "P5 3x 2 255\n");
    expect_bad(tpath("glued.pgm"), "width '3'", "not whitespace");
    put_text(tpath("noterm.pgm"), "P5 3 2 255");
    expect_bad(tpath("noterm.pgm"), "truncated pixel data", "expected 6 bytes, got 0");
    put_text(tpath("maxval.pgm"), "P5 3 2 65535\n");
    expect_bad(tpath("maxval.pgm"), "maxval 65535 is not supported (only 255)", NULL);
    CHECK(tvp_image_read(tpath("maxval.pgm"), 100, &(struct tvp_image){0}, err, sizeof err) ==
          TVP_EINPUT);
    CHECK(strcmp(strchr(err, ':'), ": maxval 65535 is not supported (only 255)") == 0);
    put_text(tpath("maxval100.ppm"), "P3 1 1 100 1 2 3");
    expect_bad(tpath("maxval100.ppm"), "maxval 100", "only 255");
    put_text(tpath("maxval0.pgm"), "P2 1 1 0 0");
    expect_bad(tpath("maxval0.pgm"), "maxval 0", NULL);
    put_text(tpath("maxvalbig.pgm"), "P2 1 1 123456789012345678901234567890 0");
    expect_bad(tpath("maxvalbig.pgm"), "maxval 123456789012345678901234567890", NULL);
    put_text(tpath("w0.pgm"), "P5 0 5 255\n");
    expect_bad(tpath("w0.pgm"), "zero width", NULL);
    put_text(tpath("h0.ppm"), "P3 5 0 255\n");
    expect_bad(tpath("h0.ppm"), "zero height", NULL);
    put_text(tpath("huge.ppm"), "P6 70000 70000 255\n");
    expect_bad(tpath("huge.ppm"), "70000 x 70000 = 4900000000 pixels", "limit of 268435456");
    put_text(tpath("small.pgm"), "P5 101 100 255\n");
    expect_bad_max(tpath("small.pgm"), 10000, "10100 pixels", "limit of 10000");
    put_text(tpath("ovf.ppm"), "P6 4294967295 4294967295 255\n");
    expect_bad_max(tpath("ovf.ppm"), UINT64_MAX, "overflow", NULL);
    expect_bad(tpath("ovf.ppm"), NULL, NULL); /* and with the default limit */
    put_text(tpath("w33.pgm"), "P5 4294967296 1 255\n");
    expect_bad_max(tpath("w33.pgm"), UINT64_MAX, "width 4294967296 is too large", NULL);
    put_text(tpath("w65.pgm"), "P5 1 99999999999999999999999 255\n");
    expect_bad_max(tpath("w65.pgm"), UINT64_MAX, "height 99999999999999999999999", "too large");

    /* netpbm pixel data */
    uint8_t bytes[120];
    for (int i = 0; i < 120; i++)
        bytes[i] = (uint8_t)(i * 7);
    put_pnm(tpath("a.pgm"), "P5\n10 12\n255\n", bytes, 57);
    expect_bad(tpath("a.pgm"), NULL, NULL);
    CHECK(tvp_image_read(tpath("a.pgm"), 1000, &(struct tvp_image){0}, err, sizeof err) ==
          TVP_EINPUT);
    char want[600];
    snprintf(want, sizeof want, "%s: truncated pixel data (expected 120 bytes, got 57)",
             tpath("a.pgm"));
    CHECKF(strcmp(err, want) == 0, "'%s'", err);
    put_pnm(tpath("b.ppm"), "P6 2 20 255\n", bytes, 119);
    expect_bad(tpath("b.ppm"), "truncated pixel data", "expected 120 bytes, got 119");
    put_text(tpath("c.pgm"), "P2 2 2 255\n1 2 3");
    expect_bad(tpath("c.pgm"), "truncated pixel data", "expected 4 values, got 3");
    put_text(tpath("c.ppm"), "P3 1 1 255\n1 2 # the blue is missing\n");
    expect_bad(tpath("c.ppm"), "truncated pixel data", "expected 3 values, got 2");
    put_text(tpath("v256.ppm"), "P3 1 1 255\n1 256 3\n");
    expect_bad(tpath("v256.ppm"), "256", "above maxval");
    put_text(tpath("vbig.pgm"), "P2 1 1 255\n99999999999999999999999999\n");
    expect_bad(tpath("vbig.pgm"), "above maxval", NULL);
    put_text(tpath("vneg.pgm"), "P2 2 1 255\n1 -1\n");
    expect_bad(tpath("vneg.pgm"), "'-1'", "not a number");
    put_text(tpath("vx.pgm"), "P2 2 1 255\n1 12x\n");
    expect_bad(tpath("vx.pgm"), "'12x'", "not a number");

    /* every cut of a netpbm file is bad */
    struct tvp_image small = random_image(5, 3, 3, 0);
    CHECK(tvp_image_write(tpath("cut.ppm"), &small, err, sizeof err) == 0);
    size_t len;
    uint8_t *whole = get_file(tpath("cut.ppm"), &len);
    for (size_t n = 0; n < len; n++) {
        put_file(tpath("cut.ppm"), whole, n);
        expect_bad(tpath("cut.ppm"), NULL, NULL);
    }
    free(whole);
    tvp_image_free(&small);

    /* PNG: cut in half, and at every length of a small one */
    whole = valid_png(64, 64, 3, &len);
    put_file(tpath("half.png"), whole, len / 2);
    expect_bad(tpath("half.png"), "truncated", NULL);
    free(whole);
    whole = valid_png(9, 4, 2, &len);
    for (size_t n = 0; n < len; n++) {
        put_file(tpath("cut.png"), whole, n);
        expect_bad(tpath("cut.png"), NULL, NULL);
    }
    free(whole);

    /* PNG: bytes flipped in the image data, with the chunk's CRC made right again: the
     * zlib stream is broken (an error, not a crash, not a quiet success) */
    whole = valid_png(64, 64, 4, &len);
    uint32_t dlen;
    size_t idat = find_chunk(whole, len, "IDAT", &dlen);
    CHECK(dlen > 64);
    uint8_t *bad = xmalloc(len);
    for (int t = 0; t < 24; t++) {
        memcpy(bad, whole, len);
        size_t at = idat + 8 + 2 + (size_t)t * (dlen - 8) / 24; /* past the zlib header */
        bad[at] ^= 0xff;
        bad[at + 1] ^= 0x55;
        fix_crc(bad, idat);
        put_file(tpath("flip.png"), bad, len);
        expect_bad(tpath("flip.png"), "corrupt PNG", NULL);
    }
    /* the zlib header itself, and the Adler-32 at the end of the stream */
    memcpy(bad, whole, len);
    bad[idat + 8] ^= 0x0f;
    fix_crc(bad, idat);
    put_file(tpath("zhdr.png"), bad, len);
    expect_bad(tpath("zhdr.png"), "corrupt PNG", NULL);
    memcpy(bad, whole, len);
    bad[idat + 8 + dlen - 1] ^= 0x01;
    fix_crc(bad, idat);
    put_file(tpath("adler.png"), bad, len);
    expect_bad(tpath("adler.png"), "corrupt PNG", NULL);
    /* data after the end of the zlib stream (libpng would only warn) */
    bad = realloc(bad, len + 8);
    CHECK(bad != NULL);
    memcpy(bad, whole, idat + 8 + dlen);
    memcpy(bad + idat + 8 + dlen, "junkjunk", 8);
    memcpy(bad + idat + 8 + dlen + 8, whole + idat + 8 + dlen, len - idat - 8 - dlen);
    put_be32(bad + idat, dlen + 8);
    fix_crc(bad, idat);
    put_file(tpath("extra.png"), bad, len + 8);
    expect_bad(tpath("extra.png"), "corrupt PNG", NULL);
    /* a bad CRC: the data untouched, the CRC wrong */
    memcpy(bad, whole, len);
    bad[idat + 8 + dlen] ^= 0x01;
    put_file(tpath("crc.png"), bad, len);
    expect_bad(tpath("crc.png"), "corrupt PNG", "CRC");
    memcpy(bad, whole, len);
    bad[8 + 8 + 13] ^= 0x80; /* IHDR's */
    put_file(tpath("crc2.png"), bad, len);
    expect_bad(tpath("crc2.png"), "corrupt PNG", "CRC");
    /* a bad colour type */
    memcpy(bad, whole, len);
    bad[8 + 8 + 9] = 5;
    fix_crc(bad, 8);
    put_file(tpath("type.png"), bad, len);
    expect_bad(tpath("type.png"), "corrupt PNG", NULL);
    free(bad);
    /* too small for the limit */
    put_file(tpath("lim.png"), whole, len);
    expect_bad_max(tpath("lim.png"), 64 * 64 - 1, "64 x 64 = 4096 pixels", "limit of 4095");
    free(whole);

    /* PNG: sizes in the header */
    put_png_header_only(tpath("w0.png"), 0, 5, 8, PNG_COLOR_TYPE_RGB);
    expect_bad(tpath("w0.png"), "corrupt PNG", "width is zero");
    put_png_header_only(tpath("h0.png"), 5, 0, 8, PNG_COLOR_TYPE_GRAY);
    expect_bad(tpath("h0.png"), "corrupt PNG", "height is zero");
    put_png_header_only(tpath("huge.png"), 100000, 100000, 8, PNG_COLOR_TYPE_RGB_ALPHA);
    expect_bad(tpath("huge.png"), "100000 x 100000 = 10000000000 pixels", "limit");
    put_png_header_only(tpath("wide.png"), 2000000, 1, 8, PNG_COLOR_TYPE_GRAY);
    expect_bad(tpath("wide.png"), NULL, NULL); /* past libpng's default width limit: ours */
    CHECK(tvp_image_read(tpath("wide.png"), UINT64_MAX, &(struct tvp_image){0}, err,
                         sizeof err) == TVP_EINPUT);
    CHECKF(!strcasestr(err, "limit"), "'%s'", err); /* not refused by width, cut short */
    put_png_header_only(tpath("big31.png"), 0x80000000u, 1, 8, PNG_COLOR_TYPE_GRAY);
    expect_bad_max(tpath("big31.png"), UINT64_MAX, "corrupt PNG", NULL);

    /* 16-bit samples: refused, not stripped */
    uint16_t g16[6] = {0x0102, 0xfffe, 0, 1, 0x8000, 0x7fff};
    struct raw_png r = {3, 2, 16, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE, (uint8_t *)g16, 6,
                        NULL, 0, NULL, 0, NULL};
    write_raw_png(tpath("g16.png"), &r);
    expect_bad(tpath("g16.png"), "16-bit samples are not supported", NULL);
    r = (struct raw_png){1, 1, 16, PNG_COLOR_TYPE_RGB_ALPHA, PNG_INTERLACE_NONE, (uint8_t *)g16,
                         8, NULL, 0, NULL, 0, NULL};
    write_raw_png(tpath("rgba16.png"), &r);
    expect_bad(tpath("rgba16.png"), "16-bit", NULL);
}

/* Random damage to valid files: any outcome but a crash, a leak (valgrind) or a success
 * with a wrong-sized image; failures are TVP_EINPUT with one line. */
static void test_fuzz(void)
{
    char err[512];
    size_t len;
    uint8_t *files[3];
    size_t lens[3];
    files[0] = valid_png(23, 17, 3, &lens[0]);
    struct tvp_image im = random_image(6, 5, 3, 0);
    CHECK(tvp_image_write(tpath("f.ppm"), &im, err, sizeof err) == 0);
    files[1] = get_file(tpath("f.ppm"), &lens[1]);
    tvp_image_free(&im);
    put_text(tpath("f.pgm"), "P2 3 2 255\n1 2 3\n4 5 6\n");
    files[2] = get_file(tpath("f.pgm"), &lens[2]);
    int ok = 0, bad = 0;
    for (int t = 0; t < 600; t++) {
        int k = t % 3;
        len = lens[k];
        uint8_t *b = xmalloc(len + 8);
        memcpy(b, files[k], len);
        int flips = 1 + (int)rnd_below(4);
        for (int i = 0; i < flips; i++)
            b[rnd_below(len)] ^= (uint8_t)(1 + rnd_below(255));
        if (k == 0 && rnd_below(2)) { /* half the time, CRCs made right: deeper damage */
            for (size_t off = 8; off + 12 <= len;) {
                uint32_t n = get_be32(b + off);
                if (n > len - off - 12)
                    break;
                fix_crc(b, off);
                off += 12 + (size_t)n;
            }
        }
        if (rnd_below(4) == 0)
            len = rnd_below(len + 1);
        put_file(tpath("fuzz"), b, len);
        free(b);
        memset(err, 0, sizeof err);
        int rc = tvp_image_read(tpath("fuzz"), 1 << 20, &im, err, sizeof err);
        if (rc == 0) {
            CHECK(im.pix != NULL && im.width > 0 && im.height > 0 && im.channels >= 1 &&
                  im.channels <= 4);
            ok++;
        } else {
            CHECKF(rc == TVP_EINPUT, "case %d: rc %d (%s)", t, rc, err);
            CHECK(is_zeroed(&im));
            check_message(err, tpath("fuzz"), NULL, NULL);
            bad++;
        }
        tvp_image_free(&im);
    }
    printf("fuzz: %d read, %d refused\n", ok, bad);
    for (int k = 0; k < 3; k++)
        free(files[k]);
}

/* ---- writing: modes, refusals, nothing left behind ---------------------------------------- */

static void expect_write_refused(const char *path, const struct tvp_image *im, int want_rc,
                                 const char *w1, const char *w2)
{
    char err[512] = "";
    int existed = exists(path);
    int rc = tvp_image_write(path, im, err, sizeof err);
    CHECKF(rc == want_rc, "%s: rc %d, want %d (%s)", path, rc, want_rc, err);
    check_message(err, path, w1, w2);
    CHECKF(existed || !exists(path), "%s: created by a failed write", path);
    CHECKF(count_temporaries() == 0, "%s: a temporary file was left", path);
}

static void expect_check_out(const char *path, uint32_t channels, int want_rc, const char *w1,
                             const char *w2)
{
    char err[512] = "";
    int existed = exists(path);
    int rc = tvp_image_check_out(path, channels, err, sizeof err);
    CHECKF(rc == want_rc, "%s (%u channels): rc %d, want %d (%s)", path, channels, rc, want_rc,
           err);
    if (rc)
        check_message(err, path, w1, w2);
    CHECKF(existed || !exists(path), "%s: created by check_out", path);
}

static void test_write(void)
{
    char err[512];
    struct tvp_image rgb = random_image(8, 6, 3, 0), gray = random_image(8, 6, 1, 2);
    struct tvp_image rgba = random_image(8, 6, 4, 0);

    /* the final mode is 0666 & ~umask, whatever mkstemp made */
    static const mode_t masks[] = {022, 077, 0, 027, 002};
    mode_t old = umask(0);
    for (size_t i = 0; i < sizeof masks / sizeof masks[0]; i++) {
        umask(masks[i]);
        static const char *const names[] = {"m.png", "m.ppm"};
        for (int k = 0; k < 2; k++) {
            const char *p = tpath(names[k]);
            unlink(p);
            CHECK(tvp_image_write(p, &rgb, err, sizeof err) == 0);
            struct stat sb;
            CHECK(stat(p, &sb) == 0);
            CHECKF((sb.st_mode & 07777) == (0666 & ~masks[i]), "%s: mode %o under umask %03o",
                   p, (unsigned)(sb.st_mode & 07777), (unsigned)masks[i]);
        }
    }
    umask(old);

    /* refusals: TVP_EUSAGE, nothing created, nothing left */
    char want[600];
    CHECK(tvp_image_write(tpath("out.pgm"), &rgb, err, sizeof err) == TVP_EUSAGE);
    snprintf(want, sizeof want, "%s: a PGM holds 1 channel, this image has 3", tpath("out.pgm"));
    CHECKF(strcmp(err, want) == 0, "'%s'", err);
    expect_write_refused(tpath("out.pgm"), &rgb, TVP_EUSAGE, "PGM holds 1 channel", "has 3");
    expect_write_refused(tpath("out.ppm"), &gray, TVP_EUSAGE, "PPM holds 3 channels", "has 1");
    expect_write_refused(tpath("out.PPM"), &rgba, TVP_EUSAGE, "PPM holds 3 channels", "has 4");
    expect_write_refused(tpath("out.jpg"), &rgb, TVP_EUSAGE, "unknown image extension '.jpg'",
                         ".png");
    expect_write_refused(tpath("out"), &rgb, TVP_EUSAGE, "no image extension", NULL);
    expect_write_refused(tpath("out."), &rgb, TVP_EUSAGE, "no image extension", NULL);
    expect_write_refused(tpath("png"), &rgb, TVP_EUSAGE, "no image extension", NULL);
    expect_write_refused(tpath("dir.png/out"), &rgb, TVP_EUSAGE, "extension", NULL);
    expect_write_refused(tpath("nofolder/out.png"), &rgb, TVP_EUSAGE, "folder does not exist",
                         NULL);
    CHECK(mkdir(tpath("dir.png"), 0700) == 0);
    expect_write_refused(tpath("dir.png"), &rgb, TVP_EUSAGE, "directory", NULL);
    put_text(tpath("file"), "x");
    expect_write_refused(tpath("file/out.png"), &rgb, TVP_EUSAGE, "folder does not exist", NULL);
    struct tvp_image odd = rgb;
    odd.channels = 5;
    expect_write_refused(tpath("odd.png"), &odd, TVP_EUSAGE, "5 channels", NULL);
    odd.channels = 0;
    expect_write_refused(tpath("odd.png"), &odd, TVP_EUSAGE, "0 channels", NULL);
    odd = rgb;
    odd.stride = 8 * 3 - 1;
    expect_write_refused(tpath("odd.png"), &odd, TVP_EUSAGE, "stride", NULL);
    odd = rgb;
    odd.width = 0;
    expect_write_refused(tpath("odd.ppm"), &odd, TVP_EUSAGE, NULL, NULL);
    odd = rgb;
    odd.pix = NULL;
    expect_write_refused(tpath("odd.png"), &odd, TVP_EUSAGE, NULL, NULL);

    /* a refused write leaves an existing file as it was */
    CHECK(tvp_image_write(tpath("keep.pgm"), &gray, err, sizeof err) == 0);
    expect_write_refused(tpath("keep.pgm"), &rgb, TVP_EUSAGE, "PGM", NULL);
    struct tvp_image back;
    read_ok(tpath("keep.pgm"), &back);
    check_same(&gray, &back, "keep.pgm");
    tvp_image_free(&back);

    /* a write that fails half-way (the file size limit: EFBIG): TVP_ESYS, nothing left,
     * the old file kept */
    struct tvp_image big = random_image(300, 200, 3, 0);
    struct rlimit rl, small;
    CHECK(getrlimit(RLIMIT_FSIZE, &rl) == 0);
    void (*oldsig)(int) = signal(SIGXFSZ, SIG_IGN);
    small = rl;
    small.rlim_cur = 4096;
    CHECK(setrlimit(RLIMIT_FSIZE, &small) == 0);
    expect_write_refused(tpath("efbig.png"), &big, TVP_ESYS, "cannot write", "too large");
    expect_write_refused(tpath("efbig.ppm"), &big, TVP_ESYS, "cannot write", "too large");
    expect_write_refused(tpath("keep.pgm"), &(struct tvp_image){300, 200, 1, 300, big.pix},
                         TVP_ESYS, "cannot write", NULL);
    CHECK(setrlimit(RLIMIT_FSIZE, &rl) == 0);
    signal(SIGXFSZ, oldsig);
    read_ok(tpath("keep.pgm"), &back);
    check_same(&gray, &back, "keep.pgm after EFBIG");
    tvp_image_free(&back);
    tvp_image_free(&big);

    /* a folder that cannot be written (root writes anyway) */
    CHECK(mkdir(tpath("ro"), 0500) == 0);
    if (geteuid() != 0) {
        expect_write_refused(tpath("ro/x.png"), &rgb, TVP_ESYS, "temporary", "permission");
        expect_check_out(tpath("ro/x.png"), 3, TVP_EUSAGE, "not writable", NULL);
    }

    /* check_out: the same rules, nothing written */
    expect_check_out(tpath("c.png"), 1, 0, NULL, NULL);
    expect_check_out(tpath("c.png"), 2, 0, NULL, NULL);
    expect_check_out(tpath("c.PNG"), 3, 0, NULL, NULL);
    expect_check_out(tpath("c.png"), 4, 0, NULL, NULL);
    expect_check_out(tpath("c.pgm"), 1, 0, NULL, NULL);
    expect_check_out(tpath("c.ppm"), 3, 0, NULL, NULL);
    expect_check_out(tpath("keep.pgm"), 1, 0, NULL, NULL); /* an existing file is fine */
    expect_check_out("relative-name.png", 3, 0, NULL, NULL);
    expect_check_out(tpath("c.pgm"), 3, TVP_EUSAGE, "a PGM holds 1 channel, this image has 3",
                     NULL);
    expect_check_out(tpath("c.ppm"), 4, TVP_EUSAGE, "PPM holds 3 channels", NULL);
    expect_check_out(tpath("c.ppm"), 2, TVP_EUSAGE, "PPM", NULL);
    expect_check_out(tpath("c.png"), 5, TVP_EUSAGE, "5 channels", NULL);
    expect_check_out(tpath("c.png"), 0, TVP_EUSAGE, "0 channels", NULL);
    expect_check_out(tpath("c.tiff"), 3, TVP_EUSAGE, "unknown image extension", NULL);
    expect_check_out(tpath("c"), 3, TVP_EUSAGE, "no image extension", NULL);
    expect_check_out(tpath("nofolder/c.png"), 3, TVP_EUSAGE, "folder does not exist", NULL);
    expect_check_out(tpath("file/c.png"), 3, TVP_EUSAGE, "folder does not exist", NULL);
    expect_check_out(tpath("dir.png"), 3, TVP_EUSAGE, "directory", NULL);
    CHECK(count_temporaries() == 0);

    tvp_image_free(&rgb);
    tvp_image_free(&gray);
    tvp_image_free(&rgba);
}

/* ---- the synthetic image ------------------------------------------------------------------ */

static uint8_t *synth(uint64_t seed, uint32_t w, uint32_t h, uint32_t c)
{
    uint8_t *p = xmalloc((size_t)w * h * c);
    tvp_image_synth_rows(seed, w, h, c, 0, h, p, (size_t)w * c);
    return p;
}

/* channel ch of the 3x3 neighbourhood of (x, y), inside the image */
static void neighbourhood(const uint8_t *p, uint32_t w, uint32_t c, uint32_t x, uint32_t y,
                          uint32_t ch, int v[9])
{
    for (int dy = -1; dy <= 1; dy++)
        for (int dx = -1; dx <= 1; dx++)
            v[(dy + 1) * 3 + dx + 1] = p[((size_t)(y + dy) * w + x + dx) * c + ch];
}

static int cmp_int(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

static int under_valgrind(void)
{
    const char *p = getenv("LD_PRELOAD");
    return p && strstr(p, "vgpreload");
}

static void test_synth(void)
{
    /* deterministic, and the same bytes whichever rows are asked for */
    for (uint32_t c = 1; c <= 4; c++) {
        const uint32_t w = 97, h = 61;
        uint8_t *a = synth(42, w, h, c), *b = synth(42, w, h, c);
        size_t row = (size_t)w * c;
        CHECK(memcmp(a, b, row * h) == 0);
        free(b);
        for (int t = 0; t < 60; t++) {
            uint32_t r0 = (uint32_t)rnd_below(h), r1 = r0 + 1 + (uint32_t)rnd_below(h - r0);
            size_t stride = row + (size_t)rnd_below(9);
            size_t n = stride * (r1 - r0) + 16;
            uint8_t *part = xmalloc(n);
            memset(part, 0xCD, n);
            tvp_image_synth_rows(42, w, h, c, r0, r1, part, stride);
            for (uint32_t y = r0; y < r1; y++) {
                const uint8_t *got = part + (size_t)(y - r0) * stride;
                CHECKF(memcmp(got, a + (size_t)y * row, row) == 0,
                       "c=%u rows [%u,%u) stride %zu: row %u differs", c, r0, r1, stride, y);
                for (size_t i = row; i < stride && y + 1 < r1; i++)
                    CHECKF(got[i] == 0xCD, "c=%u: padding written", c);
            }
            for (size_t i = stride * (r1 - r0 - 1) + row; i < n; i++)
                CHECKF(part[i] == 0xCD, "c=%u rows [%u,%u): written past the end", c, r0, r1);
            free(part);
        }
        /* an empty range writes nothing; one past the end is clamped */
        uint8_t guard[4] = {1, 2, 3, 4};
        tvp_image_synth_rows(42, w, h, c, 5, 5, guard, row);
        CHECK(guard[0] == 1 && guard[3] == 4);
        uint8_t *tail = xmalloc(2 * row + 16);
        memset(tail, 0xCD, 2 * row + 16);
        tvp_image_synth_rows(42, w, h, c, h - 2, h + 5, tail, row);
        CHECK(memcmp(tail, a + (size_t)(h - 2) * row, 2 * row) == 0);
        for (size_t i = 2 * row; i < 2 * row + 16; i++)
            CHECK(tail[i] == 0xCD);
        free(tail);

        /* not constant: every channel (alpha too) spans a wide range */
        for (uint32_t ch = 0; ch < c; ch++) {
            int seen[256] = {0}, distinct = 0, lo = 255, hi = 0;
            for (size_t i = ch; i < row * h; i += c) {
                distinct += !seen[a[i]]++;
                lo = a[i] < lo ? a[i] : lo;
                hi = a[i] > hi ? a[i] : hi;
            }
            CHECKF(distinct >= 64 && hi - lo >= 128, "c=%u channel %u: %d values in [%d,%d]",
                   c, ch, distinct, lo, hi);
        }
        /* another seed, another image */
        uint8_t *o = synth(43, w, h, c);
        size_t differ = 0;
        for (size_t i = 0; i < row * h; i++)
            differ += a[i] != o[i];
        CHECKF(differ > row * h / 2, "c=%u: seeds 42 and 43 differ in %zu of %zu bytes", c,
               differ, row * h);
        free(o);
        free(a);
    }

    /* every filter changes many pixels: box blur, median and sobel (channel 0 and the
     * last one), over the inside of a 256 x 256 image */
    for (uint32_t c = 1; c <= 4; c++) {
        const uint32_t w = 256, h = 256;
        uint8_t *p = synth(7, w, h, c);
        uint32_t chans[2] = {0, c - 1};
        for (int k = 0; k < 2; k++) {
            size_t box = 0, med = 0, sob = 0, edges = 0, n = 0;
            for (uint32_t y = 1; y + 1 < h; y++)
                for (uint32_t x = 1; x + 1 < w; x++) {
                    int v[9], s[9], sum = 0;
                    neighbourhood(p, w, c, x, y, chans[k], v);
                    for (int i = 0; i < 9; i++)
                        sum += v[i];
                    memcpy(s, v, sizeof s);
                    qsort(s, 9, sizeof s[0], cmp_int);
                    int gx = v[2] + 2 * v[5] + v[8] - v[0] - 2 * v[3] - v[6];
                    int gy = v[6] + 2 * v[7] + v[8] - v[0] - 2 * v[1] - v[2];
                    box += (sum + 4) / 9 != v[4];
                    med += s[4] != v[4];
                    sob += gx != 0 || gy != 0;
                    edges += abs(gx) + abs(gy) > 400;
                    n++;
                }
            CHECKF(box > n * 3 / 4 && med > n / 2 && sob > n * 9 / 10,
                   "c=%u channel %u: box changes %zu, median %zu, sobel %zu of %zu", c, chans[k],
                   box, med, sob, n);
            CHECKF(edges > 100 && edges < n / 4, "c=%u channel %u: %zu strong edges of %zu", c,
                   chans[k], edges, n);
        }
        free(p);
    }

    /* tiny and thin images */
    for (uint32_t c = 1; c <= 4; c++) {
        static const uint32_t dims[][2] = {{1, 1}, {1, 50}, {50, 1}, {2, 3}};
        for (int i = 0; i < 4; i++) {
            uint8_t *a = synth(1, dims[i][0], dims[i][1], c), *b = synth(1, dims[i][0], dims[i][1], c);
            CHECK(memcmp(a, b, (size_t)dims[i][0] * dims[i][1] * c) == 0);
            free(a);
            free(b);
        }
    }

    /* fast: 4096 x 4096 x 3 (50 MB) in well under a second */
    if (!under_valgrind()) {
        const uint32_t w = 4096, h = 4096;
        uint8_t *p = xmalloc((size_t)w * h * 3);
        memset(p, 0, (size_t)w * h * 3);
        double t0 = tvp_now();
        tvp_image_synth_rows(42, w, h, 3, 0, h, p, (size_t)w * 3);
        double dt = tvp_now() - t0;
        printf("synth: 4096 x 4096 x 3 in %.3f s\n", dt);
        CHECKF(dt < 2.0, "synth took %.3f s", dt); /* generous: a loaded CI machine */
        free(p);
    }
}

static void test_free(void)
{
    struct tvp_image im;
    memset(&im, 0, sizeof im);
    tvp_image_free(&im);
    CHECK(is_zeroed(&im));
    im = random_image(3, 3, 3, 1);
    tvp_image_free(&im);
    CHECK(is_zeroed(&im));
    tvp_image_free(&im); /* twice is fine */
    CHECK(is_zeroed(&im));
}

static void remove_tmp_dir(void)
{
    remove_tree(tmp_dir);
}

/* ---- main ------------------------------------------------------------------------------ */

static const struct test_section sections[] = {
    {"roundtrip", test_roundtrip}, {"pnm", test_pnm},     {"png", test_png},
    {"bad", test_bad},             {"fuzz", test_fuzz},   {"write", test_write},
    {"synth", test_synth},         {"free", test_free},
};

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_image DATA_FOLDER [SECTION]\n");
        return 2;
    }
    data_dir = argv[1];
    test_seed("test_image", UINT64_C(20240601));
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/test_image.XXXXXX");
    CHECK(mkdtemp(tmp_dir) != NULL);
    atexit(remove_tmp_dir); /* a failed CHECK exits too */
    return test_run(sections, sizeof sections / sizeof sections[0], argc > 2 ? argv[2] : NULL);
}
