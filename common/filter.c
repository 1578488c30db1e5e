/* The image filters (filter.h): the names, the list parser and the kernel.
 *
 * How the kernel is built.  A row of an image with c interleaved channels is treated as
 * width * c bytes; the same channel of the pixel to the left or right is c bytes away, so
 * one byte-wise loop filters every channel at once (alpha too, which is then put back from
 * the source row).  Each filter is one "row operation" that computes n output bytes from
 * the 2*halo + 1 input rows around it, and may read each of those rows from halo*c bytes
 * before its start to halo*c bytes past its end: no clamping inside, so the loops are
 * plain and gcc vectorizes them.  For the interior columns the input rows are the image's
 * own; for the halo columns at each edge the needed pixels are first copied, replicated,
 * into a few bytes of stack, and the same row operation runs there.
 *
 * The separable filters (gaussian3, gaussian5, box3) and sobel go through a vertical pass
 * into 16-bit sums on the stack, a strip of the row at a time (no allocation), then a
 * horizontal pass; all their sums fit 16 bits (gaussian5: 16 * 16 * 255 + 128 < 65536), so
 * the vectors hold 16-bit lanes.  sharpen and median3 read their neighbours directly;
 * median3 works on bytes with min and max only. */
#include <stdio.h>
#include <string.h>

#include "filter.h"

#define MAX_HALO 2
#define MAX_CHANNELS 4
#define STRIP 1024 /* output bytes per strip of the vertical-then-horizontal filters */

#define ALWAYS_INLINE static inline __attribute__((always_inline))

static const struct {
    const char *name;
    int halo;
} filter_info[TVP_FILTER_COUNT] = {
    [TVP_FILTER_GAUSSIAN3] = {"gaussian3", 1}, [TVP_FILTER_GAUSSIAN5] = {"gaussian5", 2},
    [TVP_FILTER_BOX3] = {"box3", 1},           [TVP_FILTER_SHARPEN] = {"sharpen", 1},
    [TVP_FILTER_SOBEL] = {"sobel", 1},         [TVP_FILTER_MEDIAN3] = {"median3", 1},
    [TVP_FILTER_GRAY] = {"gray", 0},
};

static int valid_id(enum tvp_filter_id id)
{
    return (unsigned)id < TVP_FILTER_COUNT;
}

const char *tvp_filter_name(enum tvp_filter_id id)
{
    return valid_id(id) ? filter_info[id].name : "unknown";
}

int tvp_filter_halo(enum tvp_filter_id id)
{
    return valid_id(id) ? filter_info[id].halo : 0;
}

uint32_t tvp_filter_channels_out(enum tvp_filter_id id, uint32_t channels)
{
    if (!valid_id(id) || channels < 1 || channels > MAX_CHANNELS)
        return 0;
    if (id == TVP_FILTER_GRAY)
        return channels == 3 ? 1 : channels == 4 ? 2 : 0;
    return channels;
}

int tvp_filter_parse(const char *list, enum tvp_filter_id *ids, int max, int *count, char *err,
                     size_t errlen)
{
    *count = 0;
    if (!list || !*list) {
        snprintf(err, errlen, "empty filter list (filters: gaussian3, gaussian5, box3, "
                              "sharpen, sobel, median3, gray)");
        return TVP_EUSAGE;
    }
    for (const char *p = list;; p++) {
        size_t len = strcspn(p, ",");
        if (len == 0) {
            snprintf(err, errlen, "empty name in filter list '%s'", list);
            return TVP_EUSAGE;
        }
        int found = -1;
        for (int i = 0; i < TVP_FILTER_COUNT; i++)
            if (strlen(filter_info[i].name) == len && memcmp(filter_info[i].name, p, len) == 0)
                found = i;
        if (found < 0) {
            snprintf(err, errlen, "unknown filter '%.*s' (filters: gaussian3, gaussian5, box3, "
                                  "sharpen, sobel, median3, gray)", (int)len, p);
            return TVP_EUSAGE;
        }
        if (*count >= max) {
            snprintf(err, errlen, "too many filters in '%s' (at most %d)", list, max);
            return TVP_EUSAGE;
        }
        ids[(*count)++] = (enum tvp_filter_id)found;
        p += len;
        if (!*p)
            return 0;
    }
}

/* ---- row operations: n output bytes from the rows r[0..2*halo], each readable from
 * r[k] - halo*c to r[k] + n + halo*c; r[halo] is the output's own row. ------------------ */

/* How a separable filter's 16-bit sum becomes a byte. */
enum norm { NORM_SHIFT4, NORM_SHIFT8, NORM_DIV9 };

ALWAYS_INLINE uint8_t normalize(uint16_t s, enum norm m)
{
    switch (m) {
    case NORM_SHIFT4: return (uint8_t)((uint16_t)(s + 8) >> 4);
    case NORM_SHIFT8: return (uint8_t)((uint16_t)(s + 128) >> 8);
    default: return (uint8_t)((uint16_t)(s + 4) / 9);
    }
}

/* v[i] = sum over k < taps of tap[k] * r[k][from + i], for i < len */
ALWAYS_INLINE void vertical_sum(const uint8_t *const *r, const uint8_t *tap, int taps,
                                ptrdiff_t from, size_t len, uint16_t *v)
{
    for (size_t i = 0; i < len; i++) {
        uint16_t s = 0;
        for (int k = 0; k < taps; k++)
            s = (uint16_t)(s + tap[k] * r[k][from + (ptrdiff_t)i]);
        v[i] = s;
    }
}

/* out[i] = normalize(sum over k < taps of tap[k] * v[i + k*c]), for i < len */
ALWAYS_INLINE void horizontal_sum(const uint16_t *v, const uint8_t *tap, int taps, size_t c,
                                  enum norm m, size_t len, uint8_t *out)
{
    for (size_t i = 0; i < len; i++) {
        uint16_t s = 0;
        for (int k = 0; k < taps; k++)
            s = (uint16_t)(s + tap[k] * v[i + (size_t)k * c]);
        out[i] = normalize(s, m);
    }
}

/* A separable filter with the same taps (2*h + 1 of them) vertically and horizontally. */
ALWAYS_INLINE void separable_row(const uint8_t *const *r, uint8_t *out, size_t n, size_t c, int h,
                                 const uint8_t *tap, enum norm m)
{
    uint16_t v[STRIP + 2 * MAX_HALO * MAX_CHANNELS];
    size_t margin = (size_t)h * c;
    for (size_t x = 0; x < n; x += STRIP) {
        size_t len = n - x < STRIP ? n - x : STRIP;
        vertical_sum(r, tap, 2 * h + 1, (ptrdiff_t)x - (ptrdiff_t)margin, len + 2 * margin, v);
        horizontal_sum(v, tap, 2 * h + 1, c, m, len, out + x);
    }
}

static const uint8_t taps_121[3] = {1, 2, 1};
static const uint8_t taps_111[3] = {1, 1, 1};
static const uint8_t taps_14641[5] = {1, 4, 6, 4, 1};

static void gaussian3_row(const uint8_t *const *r, uint8_t *out, size_t n, size_t c)
{
    separable_row(r, out, n, c, 1, taps_121, NORM_SHIFT4);
}

static void gaussian5_row(const uint8_t *const *r, uint8_t *out, size_t n, size_t c)
{
    separable_row(r, out, n, c, 2, taps_14641, NORM_SHIFT8);
}

static void box3_row(const uint8_t *const *r, uint8_t *out, size_t n, size_t c)
{
    separable_row(r, out, n, c, 1, taps_111, NORM_DIV9);
}

/* sobel: gx = horizontal difference of the vertical [1 2 1] smoothing, gy = horizontal
 * [1 2 1] smoothing of the vertical difference. */
static void sobel_row(const uint8_t *const *r, uint8_t *out, size_t n, size_t c)
{
    uint16_t smooth[STRIP + 2 * MAX_CHANNELS];
    int16_t diff[STRIP + 2 * MAX_CHANNELS];
    const uint8_t *up = r[0], *mid = r[1], *down = r[2];
    for (size_t x = 0; x < n; x += STRIP) {
        size_t len = n - x < STRIP ? n - x : STRIP;
        ptrdiff_t from = (ptrdiff_t)x - (ptrdiff_t)c;
        for (size_t i = 0; i < len + 2 * c; i++) {
            ptrdiff_t j = from + (ptrdiff_t)i;
            smooth[i] = (uint16_t)(up[j] + 2 * mid[j] + down[j]);
            diff[i] = (int16_t)(down[j] - up[j]);
        }
        for (size_t i = 0; i < len; i++) {
            int16_t gx = (int16_t)(smooth[i + 2 * c] - smooth[i]);
            int16_t gy = (int16_t)(diff[i] + 2 * diff[i + c] + diff[i + 2 * c]);
            uint16_t g = (uint16_t)((gx < 0 ? -gx : gx) + (gy < 0 ? -gy : gy));
            out[x + i] = (uint8_t)(g < 255 ? g : 255);
        }
    }
}

static void sharpen_row(const uint8_t *const *r, uint8_t *restrict out, size_t n, size_t c)
{
    const uint8_t *restrict up = r[0], *restrict mid = r[1], *restrict down = r[2];
    const uint8_t *restrict left = r[1] - c, *restrict right = r[1] + c;
    for (size_t i = 0; i < n; i++) {
        int16_t s = (int16_t)(5 * mid[i] - left[i] - right[i] - up[i] - down[i]);
        out[i] = (uint8_t)(s < 0 ? 0 : s > 255 ? 255 : s);
    }
}

ALWAYS_INLINE uint8_t min8(uint8_t a, uint8_t b)
{
    return a < b ? a : b;
}

ALWAYS_INLINE uint8_t max8(uint8_t a, uint8_t b)
{
    return a > b ? a : b;
}

ALWAYS_INLINE uint8_t median3_of(uint8_t a, uint8_t b, uint8_t c)
{
    return max8(min8(a, b), min8(max8(a, b), c));
}

/* Sorts a column of three: *lo <= *mid <= *hi. */
ALWAYS_INLINE void sort3(uint8_t a, uint8_t b, uint8_t c, uint8_t *lo, uint8_t *mid, uint8_t *hi)
{
    uint8_t l = min8(a, b), h = max8(a, b);
    *lo = min8(l, c);
    *hi = max8(h, c);
    *mid = max8(l, min8(h, c));
}

/* median of 3x3: with each column sorted, it is the median of (the largest of the column
 * minima, the median of the column medians, the smallest of the column maxima). */
static void median3_row(const uint8_t *const *r, uint8_t *restrict out, size_t n, size_t c)
{
    const uint8_t *restrict up = r[0] - c, *restrict mid = r[1] - c, *restrict down = r[2] - c;
    for (size_t i = 0; i < n; i++) {
        uint8_t l0, m0, h0, l1, m1, h1, l2, m2, h2;
        sort3(up[i], mid[i], down[i], &l0, &m0, &h0);
        sort3(up[i + c], mid[i + c], down[i + c], &l1, &m1, &h1);
        sort3(up[i + 2 * c], mid[i + 2 * c], down[i + 2 * c], &l2, &m2, &h2);
        out[i] = median3_of(max8(max8(l0, l1), l2), median3_of(m0, m1, m2),
                            min8(min8(h0, h1), h2));
    }
}

typedef void row_op(const uint8_t *const *r, uint8_t *out, size_t n, size_t c);

static row_op *const row_ops[TVP_FILTER_COUNT] = {
    [TVP_FILTER_GAUSSIAN3] = gaussian3_row, [TVP_FILTER_GAUSSIAN5] = gaussian5_row,
    [TVP_FILTER_BOX3] = box3_row,           [TVP_FILTER_SHARPEN] = sharpen_row,
    [TVP_FILTER_SOBEL] = sobel_row,         [TVP_FILTER_MEDIAN3] = median3_row,
};

/* ---- one output row ------------------------------------------------------------------ */

/* Output pixels [a,b) (b - a <= h) of a row whose input rows are rows[0..2h]: their
 * neighbourhood, pixels a-h .. b+h-1 clamped to the image, copied to the stack first. */
static void edge_pixels(row_op *op, const uint8_t *const *rows, uint8_t *out, uint32_t w, size_t c,
                        int h, uint32_t a, uint32_t b)
{
    uint8_t pad[2 * MAX_HALO + 1][3 * MAX_HALO * MAX_CHANNELS];
    const uint8_t *r[2 * MAX_HALO + 1];
    if (a >= b)
        return;
    for (int k = 0; k <= 2 * h; k++) {
        for (int64_t p = (int64_t)a - h; p < (int64_t)b + h; p++) {
            int64_t x = p < 0 ? 0 : p >= (int64_t)w ? (int64_t)w - 1 : p;
            memcpy(pad[k] + (size_t)(p - ((int64_t)a - h)) * c, rows[k] + (size_t)x * c, c);
        }
        r[k] = pad[k] + (size_t)h * c;
    }
    op(r, out + (size_t)a * c, (size_t)(b - a) * c, c);
}

/* The halo columns at each edge through edge_pixels, the columns between them in place. */
static void filter_row(row_op *op, const uint8_t *const *rows, uint8_t *out, uint32_t w,
                       size_t c, int h)
{
    uint32_t left = w < (uint32_t)h ? w : (uint32_t)h;        /* [0,left): left edge */
    uint32_t right = w - left > (uint32_t)h ? w - (uint32_t)h : left; /* [right,w): right edge */
    const uint8_t *r[2 * MAX_HALO + 1];
    for (int k = 0; k <= 2 * h; k++)
        r[k] = rows[k] + (size_t)left * c;
    edge_pixels(op, rows, out, w, c, h, 0, left);
    if (right > left)
        op(r, out + (size_t)left * c, (size_t)(right - left) * c, c);
    edge_pixels(op, rows, out, w, c, h, right, w);
}

/* Puts back the alpha bytes (the last of c = 2 or 4 channels) of `src` into `dst`. */
static void copy_alpha(const uint8_t *restrict src, uint8_t *restrict dst, uint32_t w, size_t c)
{
    if (c == 4) {
        static const uint8_t alpha_bytes[4] = {0, 0, 0, 0xff}; /* endian-neutral mask */
        uint32_t m, s, d;
        memcpy(&m, alpha_bytes, 4);
        for (uint32_t x = 0; x < w; x++) {
            memcpy(&s, src + 4 * (size_t)x, 4);
            memcpy(&d, dst + 4 * (size_t)x, 4);
            d = (d & ~m) | (s & m);
            memcpy(dst + 4 * (size_t)x, &d, 4);
        }
    } else if (c == 2) {
        static const uint8_t alpha_bytes[2] = {0, 0xff};
        uint16_t m, s, d;
        memcpy(&m, alpha_bytes, 2);
        for (uint32_t x = 0; x < w; x++) {
            memcpy(&s, src + 2 * (size_t)x, 2);
            memcpy(&d, dst + 2 * (size_t)x, 2);
            d = (uint16_t)((d & ~m) | (s & m));
            memcpy(dst + 2 * (size_t)x, &d, 2);
        }
    }
}

/* gray: cin = 3 (RGB -> gray) or 4 (RGBA -> gray + alpha) */
ALWAYS_INLINE void gray_pixels(const uint8_t *restrict s, uint8_t *restrict d, uint32_t w,
                               size_t cin)
{
    size_t cout = cin - 2;
    for (size_t x = 0; x < w; x++) {
        const uint8_t *p = s + x * cin;
        d[x * cout] = (uint8_t)((uint16_t)(77 * p[0] + 150 * p[1] + 29 * p[2] + 128) >> 8);
        if (cin == 4)
            d[x * cout + 1] = p[3];
    }
}

static void gray_row(const uint8_t *src, uint8_t *dst, uint32_t w, size_t cin)
{
    if (cin == 3)
        gray_pixels(src, dst, w, 3);
    else
        gray_pixels(src, dst, w, 4);
}

/* ---- the kernel ------------------------------------------------------------------------ */

static const uint8_t *src_row(const struct tvp_rows *src, int64_t y, uint32_t height)
{
    int64_t r = y < 0 ? 0 : y >= (int64_t)height ? (int64_t)height - 1 : y;
    return src->data + (size_t)(r - src->first) * src->stride;
}

void tvp_filter_apply(enum tvp_filter_id id, uint32_t width, uint32_t height, uint32_t channels,
                      const struct tvp_rows *src, const struct tvp_rows *dst, uint32_t begin,
                      uint32_t end)
{
    if (tvp_filter_channels_out(id, channels) == 0 || width == 0 || end > height)
        return;
    int h = filter_info[id].halo;
    for (uint32_t y = begin; y < end; y++) {
        uint8_t *out = dst->data + (size_t)(y - dst->first) * dst->stride;
        if (id == TVP_FILTER_GRAY) {
            gray_row(src_row(src, y, height), out, width, channels);
            continue;
        }
        const uint8_t *rows[2 * MAX_HALO + 1];
        for (int k = 0; k <= 2 * h; k++)
            rows[k] = src_row(src, (int64_t)y + k - h, height);
        filter_row(row_ops[id], rows, out, width, channels, h);
        if (channels == 2 || channels == 4)
            copy_alpha(rows[h], out, width, channels);
    }
}
