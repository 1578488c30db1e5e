/* Images for the filter workload: PNG through libpng, netpbm PGM/PPM by hand, and the
 * synthetic image.  See image.h. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <png.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image.h"

/* ---- messages ------------------------------------------------------------------------ */

/* The first bytes of a file, for "starts with '...'": printable ASCII as it is, the
 * rest as \xNN. */
static void show_bytes(const unsigned char *b, size_t n, char *out, size_t outlen)
{
    size_t k = 0;
    out[0] = 0;
    for (size_t i = 0; i < n && k + 5 < outlen; i++) {
        if (b[i] >= 0x20 && b[i] < 0x7f && b[i] != '\'' && b[i] != '\\')
            out[k++] = (char)b[i];
        else
            k += (size_t)snprintf(out + k, outlen - k, "\\x%02x", b[i]);
    }
    out[k] = 0;
}

/* Checks the dimensions of an image to be read: not zero, bytes that fit in size_t, and
 * at most max_pixels pixels.  *bytes = width * height * channels. */
static int check_size(const char *path, uint64_t width, uint64_t height, uint32_t channels,
                      uint64_t max_pixels, size_t *bytes, char *err, size_t errlen)
{
    if (width == 0 || height == 0)
        return tvp_errorf(TVP_EINPUT, err, errlen, "%s: zero %s (%" PRIu64 " x %" PRIu64 " pixels)",
                    path, width == 0 ? "width" : "height", width, height);
    if (width > UINT32_MAX || height > UINT32_MAX)
        return tvp_errorf(TVP_EINPUT, err, errlen,
                    "%s: %" PRIu64 " x %" PRIu64 " pixels is too large (at most %" PRIu32
                    " on a side)",
                    path, width, height, UINT32_MAX);
    uint64_t pixels = width * height; /* both < 2^32: no overflow */
    uint64_t limit = SIZE_MAX < UINT64_MAX ? (uint64_t)SIZE_MAX : UINT64_MAX;
    if (pixels > limit / channels)
        return tvp_errorf(TVP_EINPUT, err, errlen,
                    "%s: %" PRIu64 " x %" PRIu64 " pixels x %" PRIu32
                    " channels is too large (the size overflows)",
                    path, width, height, channels);
    if (pixels > max_pixels)
        return tvp_errorf(TVP_EINPUT, err, errlen,
                    "%s: %" PRIu64 " x %" PRIu64 " = %" PRIu64
                    " pixels is above the limit of %" PRIu64 " pixels",
                    path, width, height, pixels, max_pixels);
    *bytes = (size_t)(pixels * channels);
    return 0;
}

/* ---- PNG reading ------------------------------------------------------------------------ */

/* What libpng's error and warning functions store (they never print). */
struct png_box {
    char msg[256];     /* the last error */
    char warning[256]; /* the last warning: not a failure, but told with one */
    int eof;           /* the read function met the end of the file */
    int sys_errno;     /* the read or write function failed with this errno */
};

static void png_error_fn(png_structp png, png_const_charp msg)
{
    struct png_box *b = png_get_error_ptr(png);
    snprintf(b->msg, sizeof b->msg, "%s", msg ? msg : "unknown libpng error");
    png_longjmp(png, 1);
}

static void png_warning_fn(png_structp png, png_const_charp msg)
{
    struct png_box *b = png_get_error_ptr(png);
    snprintf(b->warning, sizeof b->warning, "%s", msg ? msg : "");
}

struct png_rd {
    struct png_box box;
    png_structp png;
    png_infop info;
    FILE *f;
    const char *path;
    uint64_t max_pixels;
    uint8_t *pix;
    png_bytep *rows;
    uint32_t width, height, channels;
    int rc; /* a failure of our own (not libpng's), message already in err */
    char *err;
    size_t errlen;
};

static void png_read_fn(png_structp png, png_bytep data, png_size_t len)
{
    struct png_rd *st = png_get_io_ptr(png);
    size_t got = fread(data, 1, len, st->f);
    if (got == len)
        return;
    if (ferror(st->f)) {
        st->box.sys_errno = errno ? errno : EIO;
        png_error(png, "read error");
    }
    st->box.eof = 1;
    png_error(png, "unexpected end of file");
}

/* Everything between setjmp and the end of the image.  Only *st is changed (it lives in
 * the caller's frame), so nothing here is left indeterminate by a longjmp.  Returns 0,
 * -1 after a libpng error (message in st->box), or -2 after one of ours (st->rc). */
static int png_decode(struct png_rd *st)
{
    if (setjmp(png_jmpbuf(st->png)))
        return -1;
    png_structp png = st->png;
    png_infop info = st->info;
    png_set_read_fn(png, st, png_read_fn);
    png_set_sig_bytes(png, 8);
    /* PNG's own limit (2^31 - 1) on a side; tvp's is max_pixels, checked below */
    png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
    png_read_info(png, info);

    png_uint_32 w, h;
    int depth, type, interlace;
    png_get_IHDR(png, info, &w, &h, &depth, &type, &interlace, NULL, NULL);
    if (depth > 8) {
        st->rc = tvp_errorf(TVP_EINPUT, st->err, st->errlen,
                      "%s: 16-bit samples are not supported (only 8-bit PNG)", st->path);
        return -2;
    }
    if (type == PNG_COLOR_TYPE_PALETTE)
        png_set_palette_to_rgb(png);
    if (type == PNG_COLOR_TYPE_GRAY && depth < 8)
        png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS))
        png_set_tRNS_to_alpha(png);
    (void)png_set_interlace_handling(png);
    png_read_update_info(png, info);

    uint32_t ch = png_get_channels(png, info);
    size_t bytes;
    if (ch < 1 || ch > 4 || png_get_bit_depth(png, info) != 8) {
        st->rc = tvp_errorf(TVP_EINPUT, st->err, st->errlen,
                      "%s: unsupported PNG layout (%u channels of %d bits after expansion)",
                      st->path, (unsigned)ch, (int)png_get_bit_depth(png, info));
        return -2;
    }
    st->rc = check_size(st->path, w, h, ch, st->max_pixels, &bytes, st->err, st->errlen);
    if (st->rc)
        return -2;
    size_t stride = (size_t)w * ch;
    if (png_get_rowbytes(png, info) != stride) {
        st->rc = tvp_errorf(TVP_EINPUT, st->err, st->errlen,
                      "%s: unexpected PNG row size %zu (expected %zu)", st->path,
                      (size_t)png_get_rowbytes(png, info), stride);
        return -2;
    }
    st->pix = malloc(bytes);
    st->rows = malloc((size_t)h * sizeof *st->rows);
    if (!st->pix || !st->rows) {
        st->rc = tvp_errorf(TVP_ENOMEM, st->err, st->errlen,
                      "%s: out of memory (%zu bytes for %" PRIu32 " x %" PRIu32 " pixels)",
                      st->path, bytes, (uint32_t)w, (uint32_t)h);
        return -2;
    }
    for (size_t y = 0; y < h; y++)
        st->rows[y] = st->pix + y * stride;
    /* Problems in the image data itself (a zlib stream that fails its check or has extra
     * data) are "benign" to libpng, which would only warn; here they are errors.  Outside
     * the image data (ancillary chunks) libpng's leniency is kept. */
    png_set_benign_errors(png, 0);
    png_read_image(png, st->rows);
    png_set_benign_errors(png, 1);
    png_read_end(png, NULL); /* the rest of the file up to IEND: a cut file fails here */
    st->width = w;
    st->height = h;
    st->channels = ch;
    return 0;
}

static int read_png(FILE *f, const char *path, uint64_t max_pixels, struct tvp_image *im,
                    char *err, size_t errlen)
{
    struct png_rd st;
    memset(&st, 0, sizeof st);
    st.f = f;
    st.path = path;
    st.max_pixels = max_pixels;
    st.err = err;
    st.errlen = errlen;
    st.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &st.box, png_error_fn, png_warning_fn);
    if (st.png)
        st.info = png_create_info_struct(st.png);
    if (!st.png || !st.info) {
        png_destroy_read_struct(st.png ? &st.png : NULL, NULL, NULL);
        return tvp_errorf(TVP_ENOMEM, err, errlen, "%s: out of memory (libpng)", path);
    }
    int r = png_decode(&st);
    png_destroy_read_struct(&st.png, &st.info, NULL);
    free(st.rows);
    if (r == 0) {
        im->width = st.width;
        im->height = st.height;
        im->channels = st.channels;
        im->stride = (size_t)st.width * st.channels;
        im->pix = st.pix;
        return 0;
    }
    free(st.pix);
    if (r == -2)
        return st.rc;
    if (st.box.sys_errno)
        return tvp_errorf(TVP_EINPUT, err, errlen, "%s: read error: %s", path,
                    strerror(st.box.sys_errno));
    if (st.box.eof)
        return tvp_errorf(TVP_EINPUT, err, errlen, "%s: truncated PNG (unexpected end of file)", path);
    if (strcasestr(st.box.msg, "out of memory"))
        return tvp_errorf(TVP_ENOMEM, err, errlen, "%s: out of memory (libpng: %s)", path, st.box.msg);
    if (st.box.warning[0]) /* "Invalid IHDR data" says why only in a warning */
        return tvp_errorf(TVP_EINPUT, err, errlen, "%s: corrupt PNG: %s (libpng warned: %s)", path,
                    st.box.msg, st.box.warning);
    return tvp_errorf(TVP_EINPUT, err, errlen, "%s: corrupt PNG: %s", path, st.box.msg);
}

/* ---- netpbm reading ------------------------------------------------------------------------ */

struct pnm {
    FILE *f;
    const char *path;
    char *err;
    size_t errlen;
};

static int is_ws(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* The next character, a comment ('#' to the end of the line) read as one '\n', as
 * netpbm's pm_getc does. */
static int pnm_getc(FILE *f)
{
    int c = getc_unlocked(f);
    if (c != '#')
        return c;
    do
        c = getc_unlocked(f);
    while (c != EOF && c != '\n' && c != '\r');
    return '\n';
}

/* An unsigned decimal number after optional whitespace and comments.  *term gets the
 * character that ended it (consumed; EOF at the end of the file); text gets its digits
 * (for messages).  Returns 1, 0 at the end of the file before any digit, -1 when what is
 * there is not a number (text holds it), -2 on a read error. */
static int pnm_number(FILE *f, uint64_t *val, int *term, char *text, size_t textlen)
{
    int c;
    do
        c = pnm_getc(f);
    while (is_ws(c));
    size_t k = 0;
    if (c == EOF)
        return ferror(f) ? -2 : 0;
    if (c < '0' || c > '9') {
        while (c != EOF && !is_ws(c) && k + 1 < textlen) {
            text[k++] = (char)c;
            c = getc_unlocked(f);
        }
        text[k] = 0;
        return -1;
    }
    uint64_t v = 0;
    int over = 0;
    for (; c >= '0' && c <= '9'; c = pnm_getc(f)) {
        if (k + 1 < textlen)
            text[k++] = (char)c;
        if (v > (UINT64_MAX - 9) / 10)
            over = 1;
        else
            v = v * 10 + (uint64_t)(c - '0');
    }
    text[k] = 0;
    if (c == EOF && ferror(f))
        return -2;
    *val = over ? UINT64_MAX : v;
    *term = c;
    return 1;
}

static int pnm_read_error(const struct pnm *p)
{
    return tvp_errorf(TVP_EINPUT, p->err, p->errlen, "%s: read error: %s", p->path,
                strerror(errno ? errno : EIO));
}

/* One header number: width, height or maxval (its digits in text, for messages). */
static int pnm_header_number(const struct pnm *p, const char *name, uint64_t *val, int *term,
                             char *text, size_t textlen)
{
    int r = pnm_number(p->f, val, term, text, textlen);
    if (r == -2)
        return pnm_read_error(p);
    if (r == 0)
        return tvp_errorf(TVP_EINPUT, p->err, p->errlen, "%s: truncated header (no %s)", p->path,
                    name);
    if (r < 0)
        return tvp_errorf(TVP_EINPUT, p->err, p->errlen, "%s: bad header: %s '%s' is not a number",
                    p->path, name, text);
    if (*term != EOF && !is_ws(*term)) {
        char bad[8];
        unsigned char tc = (unsigned char)*term;
        show_bytes(&tc, 1, bad, sizeof bad);
        return tvp_errorf(TVP_EINPUT, p->err, p->errlen,
                    "%s: bad header: %s '%s' is followed by '%s', not whitespace", p->path, name,
                    text, bad);
    }
    if (strcmp(name, "maxval") != 0 && *val > UINT32_MAX)
        return tvp_errorf(TVP_EINPUT, p->err, p->errlen,
                    "%s: bad header: %s %s is too large (at most %" PRIu32 ")", p->path, name,
                    text, UINT32_MAX);
    return 0;
}

/* After the magic number "Px" (already read). */
static int read_pnm(FILE *f, const char *path, char kind, uint64_t max_pixels,
                    struct tvp_image *im, char *err, size_t errlen)
{
    struct pnm p = {f, path, err, errlen};
    uint32_t ch = (kind == '3' || kind == '6') ? 3 : 1;
    int binary = kind == '5' || kind == '6';
    uint64_t w, h, maxval;
    int term;
    char text[32];
    int rc = pnm_header_number(&p, "width", &w, &term, text, sizeof text);
    if (!rc && term == EOF)
        rc = tvp_errorf(TVP_EINPUT, err, errlen, "%s: truncated header (no height)", path);
    if (!rc)
        rc = pnm_header_number(&p, "height", &h, &term, text, sizeof text);
    if (!rc && term == EOF)
        rc = tvp_errorf(TVP_EINPUT, err, errlen, "%s: truncated header (no maxval)", path);
    if (!rc)
        rc = pnm_header_number(&p, "maxval", &maxval, &term, text, sizeof text);
    if (rc)
        return rc;
    if (maxval != 255)
        return tvp_errorf(TVP_EINPUT, err, errlen, "%s: maxval %s is not supported (only 255)", path,
                    text);
    size_t bytes;
    rc = check_size(path, w, h, ch, max_pixels, &bytes, err, errlen);
    if (rc)
        return rc;
    uint8_t *pix = malloc(bytes);
    if (!pix)
        return tvp_errorf(TVP_ENOMEM, err, errlen,
                    "%s: out of memory (%zu bytes for %" PRIu64 " x %" PRIu64 " pixels)", path,
                    bytes, w, h);
    /* The raster starts after the single whitespace character that ended maxval (a
     * comment there counts as that character, as in netpbm). */
    if (binary) {
        size_t got = term == EOF ? 0 : fread(pix, 1, bytes, f);
        if (got < bytes) {
            if (ferror(f))
                rc = pnm_read_error(&p);
            else
                rc = tvp_errorf(TVP_EINPUT, err, errlen,
                          "%s: truncated pixel data (expected %zu bytes, got %zu)", path, bytes,
                          got);
        }
    } else {
        for (size_t i = 0; i < bytes; i++) {
            uint64_t v = 0;
            int t = EOF;
            int r = pnm_number(f, &v, &t, text, sizeof text);
            if (r == -2) {
                rc = pnm_read_error(&p);
            } else if (r == 0) {
                rc = tvp_errorf(TVP_EINPUT, err, errlen,
                          "%s: truncated pixel data (expected %zu values, got %zu)", path, bytes,
                          i);
            } else if (r < 0 || (t != EOF && !is_ws(t))) {
                char bad[8] = "";
                unsigned char tc = (unsigned char)t;
                if (r > 0)
                    show_bytes(&tc, 1, bad, sizeof bad);
                rc = tvp_errorf(TVP_EINPUT, err, errlen,
                          "%s: bad pixel value '%s%s' (value %zu of %zu): not a number", path,
                          text, bad, i + 1, bytes);
            } else if (v > 255) {
                rc = tvp_errorf(TVP_EINPUT, err, errlen,
                          "%s: pixel value %s (value %zu of %zu) is above maxval 255", path, text,
                          i + 1, bytes);
            }
            if (rc)
                break;
            pix[i] = (uint8_t)v;
        }
    }
    if (rc) {
        free(pix);
        return rc;
    }
    im->width = (uint32_t)w;
    im->height = (uint32_t)h;
    im->channels = ch;
    im->stride = (size_t)w * ch;
    im->pix = pix;
    return 0;
}

/* ---- reading: the format by its first bytes ----------------------------------------------- */

int tvp_image_read(const char *path, uint64_t max_pixels, struct tvp_image *im, char *err,
                   size_t errlen)
{
    memset(im, 0, sizeof *im);
    /* any file but a directory: the image is streamed, its size not needed */
    int fd = tvp_open_input(path, "an image file", 0, NULL, err, errlen);
    if (fd < 0)
        return fd;
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        int e = errno;
        close(fd);
        return tvp_errorf(e == ENOMEM ? TVP_ENOMEM : TVP_EINPUT, err, errlen, "%s: cannot open: %s",
                    path, strerror(e));
    }
    unsigned char magic[8];
    errno = 0;
    size_t n = fread(magic, 1, 2, f);
    int rc;
    char shown[48];
    if (ferror(f)) {
        rc = tvp_errorf(TVP_EINPUT, err, errlen, "%s: read error: %s", path,
                  strerror(errno ? errno : EIO));
    } else if (n == 0) {
        rc = tvp_errorf(TVP_EINPUT, err, errlen, "%s: empty file (not a PNG or netpbm image)", path);
    } else if (n == 2 && magic[0] == 'P' && magic[1] >= '1' && magic[1] <= '7') {
        if (magic[1] == '2' || magic[1] == '3' || magic[1] == '5' || magic[1] == '6')
            rc = read_pnm(f, path, (char)magic[1], max_pixels, im, err, errlen);
        else
            rc = tvp_errorf(TVP_EINPUT, err, errlen,
                      "%s: netpbm format P%c is not supported (only P2, P3, P5, P6)", path,
                      magic[1]);
    } else if (magic[0] == 0x89 && (n < 2 || magic[1] == 'P')) {
        n += fread(magic + n, 1, 8 - n, f);
        if (ferror(f))
            rc = tvp_errorf(TVP_EINPUT, err, errlen, "%s: read error: %s", path,
                      strerror(errno ? errno : EIO));
        else if (png_sig_cmp(magic, 0, n) != 0) {
            show_bytes(magic, n, shown, sizeof shown);
            rc = tvp_errorf(TVP_EINPUT, err, errlen,
                      "%s: corrupt PNG signature ('%s'; changed by a text-mode transfer?)", path,
                      shown);
        } else if (n < 8)
            rc = tvp_errorf(TVP_EINPUT, err, errlen, "%s: truncated PNG (%zu bytes of its signature)",
                      path, n);
        else
            rc = read_png(f, path, max_pixels, im, err, errlen);
    } else {
        n += fread(magic + n, 1, 4 - n, f);
        show_bytes(magic, n, shown, sizeof shown);
        rc = tvp_errorf(TVP_EINPUT, err, errlen, "%s: not a PNG or netpbm image (starts with '%s')", path,
                  shown);
    }
    fclose(f);
    if (rc)
        memset(im, 0, sizeof *im);
    return rc;
}

/* ---- writing ---------------------------------------------------------------------------- */

enum out_kind { OUT_NONE, OUT_PNG, OUT_PGM, OUT_PPM };

/* The format PATH's extension names, and the extension (with its dot) or NULL. */
static enum out_kind out_kind(const char *path, const char **ext)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash + 1 : path, '.');
    *ext = dot;
    if (!dot)
        return OUT_NONE;
    if (strcasecmp(dot, ".png") == 0)
        return OUT_PNG;
    if (strcasecmp(dot, ".pgm") == 0)
        return OUT_PGM;
    if (strcasecmp(dot, ".ppm") == 0)
        return OUT_PPM;
    return OUT_NONE;
}

/* The extension and channel checks shared by check_out and write. */
static int check_kind(const char *path, uint32_t channels, enum out_kind *kind, char *err,
                      size_t errlen)
{
    const char *ext;
    *kind = out_kind(path, &ext);
    if (*kind == OUT_NONE) {
        if (ext && ext[1])
            return tvp_errorf(TVP_EUSAGE, err, errlen,
                        "%s: unknown image extension '%.16s' (use .png, .pgm or .ppm)", path, ext);
        return tvp_errorf(TVP_EUSAGE, err, errlen, "%s: no image extension (use .png, .pgm or .ppm)",
                    path);
    }
    if (channels < 1 || channels > 4)
        return tvp_errorf(TVP_EUSAGE, err, errlen, "%s: cannot write an image of %" PRIu32 " channels",
                    path, channels);
    if (*kind == OUT_PGM && channels != 1)
        return tvp_errorf(TVP_EUSAGE, err, errlen, "%s: a PGM holds 1 channel, this image has %" PRIu32,
                    path, channels);
    if (*kind == OUT_PPM && channels != 3)
        return tvp_errorf(TVP_EUSAGE, err, errlen,
                    "%s: a PPM holds 3 channels, this image has %" PRIu32, path, channels);
    return 0;
}

/* PATH must not be a folder, and its folder must exist (and, when check_writable, be
 * writable). */
static int check_folder(const char *path, int check_writable, char *err, size_t errlen)
{
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
        return tvp_errorf(TVP_EUSAGE, err, errlen, "%s: is a directory", path);
    const char *slash = strrchr(path, '/');
    char *dir;
    if (!slash)
        dir = strdup(".");
    else if (slash == path)
        dir = strdup("/");
    else
        dir = strndup(path, (size_t)(slash - path));
    if (!dir)
        return tvp_errorf(TVP_ENOMEM, err, errlen, "%s: out of memory", path);
    int rc = 0;
    if (stat(dir, &sb) != 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            rc = tvp_errorf(TVP_EUSAGE, err, errlen, "%s: the folder does not exist", path);
        else
            rc = tvp_errorf(TVP_EUSAGE, err, errlen, "%s: cannot reach the folder: %s", path,
                      strerror(errno));
    } else if (!S_ISDIR(sb.st_mode)) {
        rc = tvp_errorf(TVP_EUSAGE, err, errlen, "%s: the folder does not exist (%s is not a folder)",
                  path, dir);
    } else if (check_writable && access(dir, W_OK | X_OK) != 0) {
        rc = tvp_errorf(TVP_EUSAGE, err, errlen, "%s: the folder is not writable: %s", path,
                  strerror(errno));
    }
    free(dir);
    return rc;
}

int tvp_image_check_out(const char *path, uint32_t channels, char *err, size_t errlen)
{
    enum out_kind kind;
    int rc = check_kind(path, channels, &kind, err, errlen);
    return rc ? rc : check_folder(path, 1, err, errlen);
}

struct png_wr {
    struct png_box box;
    FILE *f;
    const struct tvp_image *im;
};

static void png_write_fn(png_structp png, png_bytep data, png_size_t len)
{
    struct png_wr *st = png_get_io_ptr(png);
    if (fwrite(data, 1, len, st->f) != len) {
        st->box.sys_errno = errno ? errno : EIO;
        png_error(png, "write error");
    }
}

static void png_flush_fn(png_structp png)
{
    (void)png; /* the file is flushed and synced once at the end */
}

/* As png_decode: only *st changes after setjmp.  0, or -1 after a libpng error. */
static int png_encode(struct png_wr *st, png_structp png, png_infop info)
{
    if (setjmp(png_jmpbuf(png)))
        return -1;
    static const int types[5] = {0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA,
                                 PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGB_ALPHA};
    const struct tvp_image *im = st->im;
    png_set_write_fn(png, st, png_write_fn, png_flush_fn);
    png_set_IHDR(png, info, im->width, im->height, 8, types[im->channels], PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (uint32_t y = 0; y < im->height; y++)
        png_write_row(png, im->pix + (size_t)y * im->stride);
    png_write_end(png, NULL);
    return 0;
}

static int write_png(FILE *f, const char *path, const struct tvp_image *im, char *err,
                     size_t errlen)
{
    struct png_wr st;
    memset(&st, 0, sizeof st);
    st.f = f;
    st.im = im;
    png_structp png =
        png_create_write_struct(PNG_LIBPNG_VER_STRING, &st.box, png_error_fn, png_warning_fn);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        png_destroy_write_struct(png ? &png : NULL, NULL);
        return tvp_errorf(TVP_ENOMEM, err, errlen, "%s: out of memory (libpng)", path);
    }
    int r = png_encode(&st, png, info);
    png_destroy_write_struct(&png, &info);
    if (r == 0)
        return 0;
    if (st.box.sys_errno)
        return tvp_errorf(TVP_ESYS, err, errlen, "%s: cannot write: %s", path,
                    strerror(st.box.sys_errno));
    if (strcasestr(st.box.msg, "out of memory"))
        return tvp_errorf(TVP_ENOMEM, err, errlen, "%s: out of memory (libpng: %s)", path, st.box.msg);
    return tvp_errorf(TVP_ESYS, err, errlen, "%s: cannot write the PNG: %s", path, st.box.msg);
}

static int write_pnm(FILE *f, const char *path, const struct tvp_image *im, char *err,
                     size_t errlen)
{
    size_t row = (size_t)im->width * im->channels;
    int ok = fprintf(f, "P%c\n%" PRIu32 " %" PRIu32 "\n255\n", im->channels == 1 ? '5' : '6',
                     im->width, im->height) > 0;
    if (ok && im->stride == row)
        ok = fwrite(im->pix, 1, row * im->height, f) == row * im->height;
    else
        for (uint32_t y = 0; ok && y < im->height; y++)
            ok = fwrite(im->pix + (size_t)y * im->stride, 1, row, f) == row;
    if (!ok)
        return tvp_errorf(TVP_ESYS, err, errlen, "%s: cannot write: %s", path,
                    strerror(errno ? errno : EIO));
    return 0;
}

int tvp_image_write(const char *path, const struct tvp_image *im, char *err, size_t errlen)
{
    enum out_kind kind;
    int rc = check_kind(path, im->channels, &kind, err, errlen);
    if (rc)
        return rc;
    if (im->width == 0 || im->height == 0 || !im->pix ||
        im->stride < (size_t)im->width * im->channels)
        return tvp_errorf(TVP_EUSAGE, err, errlen,
                    "%s: not an image to write (%" PRIu32 " x %" PRIu32 ", stride %zu)", path,
                    im->width, im->height, im->stride);
    if (kind == OUT_PNG && (im->width > 0x7fffffffu || im->height > 0x7fffffffu))
        return tvp_errorf(TVP_EUSAGE, err, errlen,
                    "%s: %" PRIu32 " x %" PRIu32 " pixels is too large for a PNG", path,
                    im->width, im->height);
    rc = check_folder(path, 0, err, errlen);
    if (rc)
        return rc;

    struct tvp_atomic a;
    rc = tvp_atomic_open(&a, path);
    if (rc == TVP_ENOMEM)
        return tvp_errorf(rc, err, errlen, "%s: out of memory", path);
    if (rc && (errno == ENOENT || errno == ENOTDIR))
        return tvp_errorf(TVP_EUSAGE, err, errlen, "%s: the folder does not exist", path);
    if (rc)
        return tvp_errorf(rc, err, errlen, "%s: cannot create a temporary file: %s", path,
                          strerror(errno));
    errno = 0;
    rc = kind == OUT_PNG ? write_png(a.f, path, im, err, errlen)
                         : write_pnm(a.f, path, im, err, errlen);
    if (tvp_atomic_close(&a, rc == 0) != 0 && !rc)
        rc = tvp_errorf(TVP_ESYS, err, errlen, "%s: cannot write: %s", path, strerror(errno));
    return rc;
}

void tvp_image_free(struct tvp_image *im)
{
    if (!im)
        return;
    free(im->pix);
    memset(im, 0, sizeof *im);
}

/* ---- the synthetic image -------------------------------------------------------------- */

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

#define SYNTH_GOLDEN UINT64_C(0x9e3779b97f4a7c15)
#define SYNTH_SHAPES 7

/* A shape: a circle (r > 0) or a rectangle [x0,x1) x [y0,y1), with its own colour. */
struct synth_shape {
    int64_t cx, cy, r;
    int64_t x0, x1, y0, y1;
    uint8_t color[4];
};

/* The shapes of an image, from the seed and the size only. */
static void synth_shapes(uint64_t seed, uint32_t width, uint32_t height,
                         struct synth_shape *s)
{
    uint64_t state = mix64(seed ^ UINT64_C(0x5ca1ab1e0ddba11));
    int64_t w = width, h = height, m = width < height ? width : height;
    for (int k = 0; k < SYNTH_SHAPES; k++) {
        uint64_t a = mix64(state += SYNTH_GOLDEN), b = mix64(state += SYNTH_GOLDEN);
        memset(&s[k], 0, sizeof s[k]);
        memcpy(s[k].color, &b, 4);
        if (k % 2 == 0) { /* circles: radius from m/16 to m/4 */
            s[k].cx = (int64_t)((a & 0xffffffff) % (uint64_t)w);
            s[k].cy = (int64_t)((a >> 32) % (uint64_t)h);
            s[k].r = m / 16 + (int64_t)((b >> 32) % (uint64_t)(m / 4 - m / 16 + 1));
            if (s[k].r < 1)
                s[k].r = 1;
        } else { /* rectangles: sides from 1/8 to 1/2 of the image's */
            int64_t rw = w / 8 + (int64_t)((b >> 32) % (uint64_t)(w / 2 - w / 8 + 1));
            int64_t rh = h / 8 + (int64_t)((b >> 48) % (uint64_t)(h / 2 - h / 8 + 1));
            s[k].x0 = (int64_t)((a & 0xffffffff) % (uint64_t)w) - rw / 2;
            s[k].y0 = (int64_t)((a >> 32) % (uint64_t)h) - rh / 2;
            s[k].x1 = s[k].x0 + (rw > 0 ? rw : 1);
            s[k].y1 = s[k].y0 + (rh > 0 ? rh : 1);
        }
    }
}

/* floor(sqrt(q)), bit by bit: integers only (no libm), once per row and shape */
static uint64_t isqrt64(uint64_t q)
{
    uint64_t root = 0, bit = UINT64_C(1) << 62;
    while (bit > q)
        bit >>= 2;
    while (bit) {
        if (q >= root + bit) {
            q -= root + bit;
            root = (root >> 1) + bit;
        } else {
            root >>= 1;
        }
        bit >>= 2;
    }
    return root;
}

/* The columns [*x0,*x1) shape s covers on row y (empty when x0 >= x1). */
static void synth_span(const struct synth_shape *s, int64_t y, int64_t w, int64_t *x0,
                       int64_t *x1)
{
    *x0 = *x1 = 0;
    if (s->r > 0) {
        int64_t dy = y - s->cy;
        if (dy <= -s->r || dy >= s->r)
            return;
        uint64_t dx = isqrt64((uint64_t)(s->r * s->r - dy * dy));
        *x0 = s->cx - (int64_t)dx;
        *x1 = s->cx + (int64_t)dx + 1;
    } else {
        if (y < s->y0 || y >= s->y1)
            return;
        *x0 = s->x0;
        *x1 = s->x1;
    }
    *x0 = *x0 < 0 ? 0 : *x0 > w ? w : *x0;
    *x1 = *x1 < 0 ? 0 : *x1 > w ? w : *x1;
}

static inline uint8_t clamp255(int v)
{
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

/* Pixel (x, y), channel c:
 *   noise   n = a byte of mix64(seed' + (y * 2^32 + x) * golden), one byte per channel,
 *               as a value in [-24, 23]
 *   inside a shape (the last one drawn wins):  colour[c] of the shape + n
 *   elsewhere, gradients: colour channel 0 (or gray) left to right, 1 top to bottom,
 *               2 along the diagonal, alpha 255 at the top falling to about 128 at the
 *               bottom; + n
 *   clamped to [0, 255]. */
void tvp_image_synth_rows(uint64_t seed, uint32_t width, uint32_t height, uint32_t channels,
                          uint32_t row_begin, uint32_t row_end, uint8_t *rows, size_t stride)
{
    if (width == 0 || height == 0 || channels < 1 || channels > 4)
        return;
    if (row_end > height)
        row_end = height;
    struct synth_shape shapes[SYNTH_SHAPES];
    synth_shapes(seed, width, height, shapes);
    uint64_t key = mix64(seed + UINT64_C(0x243f6a8885a308d3));
    /* gradients in 8.24 fixed point: value = (x * kx) >> 24, about 0..255 across */
    uint64_t kx = ((uint64_t)256 << 24) / width, ky = ((uint64_t)256 << 24) / height;
    uint64_t kd = ((uint64_t)256 << 24) / ((uint64_t)width + height);
    int alpha = channels == 2 || channels == 4;
    uint32_t colors = channels - (uint32_t)alpha;
    for (uint32_t y = row_begin; y < row_end; y++) {
        uint8_t *out = rows + (size_t)(y - row_begin) * stride;
        int gy = (int)(((uint64_t)y * ky) >> 24);
        int ga = 255 - gy / 2;
        /* the row's breakpoints: where some shape starts or ends */
        int64_t lo[SYNTH_SHAPES], hi[SYNTH_SHAPES], cut[2 * SYNTH_SHAPES + 2];
        int ncut = 0;
        cut[ncut++] = 0;
        cut[ncut++] = width;
        for (int k = 0; k < SYNTH_SHAPES; k++) {
            synth_span(&shapes[k], y, width, &lo[k], &hi[k]);
            if (lo[k] < hi[k]) {
                cut[ncut++] = lo[k];
                cut[ncut++] = hi[k];
            }
        }
        for (int i = 1; i < ncut; i++) /* insertion sort of at most 16 */
            for (int j = i; j > 0 && cut[j - 1] > cut[j]; j--) {
                int64_t t = cut[j];
                cut[j] = cut[j - 1];
                cut[j - 1] = t;
            }
        for (int i = 0; i + 1 < ncut; i++) {
            int64_t x0 = cut[i], x1 = cut[i + 1];
            if (x0 >= x1)
                continue;
            int top = -1;
            for (int k = 0; k < SYNTH_SHAPES; k++)
                if (lo[k] <= x0 && x1 <= hi[k])
                    top = k;
            uint64_t h0 = key + (((uint64_t)y << 32) | (uint64_t)x0) * SYNTH_GOLDEN;
            uint8_t *p = out + (size_t)x0 * channels;
            if (top >= 0) {
                const uint8_t *col = shapes[top].color;
                for (int64_t x = x0; x < x1; x++, h0 += SYNTH_GOLDEN, p += channels) {
                    uint64_t r = mix64(h0);
                    for (uint32_t c = 0; c < channels; c++)
                        p[c] = clamp255(col[c] + (int)((r >> (8 * c)) % 48) - 24);
                }
            } else {
                for (int64_t x = x0; x < x1; x++, h0 += SYNTH_GOLDEN, p += channels) {
                    uint64_t r = mix64(h0);
                    int gx = (int)(((uint64_t)x * kx) >> 24);
                    int gd = (int)((((uint64_t)x + y) * kd) >> 24);
                    int base[4] = {colors == 1 ? (gx + gy) / 2 : gx, gy, gd, 0};
                    base[colors] = ga;
                    for (uint32_t c = 0; c < channels; c++)
                        p[c] = clamp255(base[c] + (int)((r >> (8 * c)) % 48) - 24);
                }
            }
        }
    }
}
