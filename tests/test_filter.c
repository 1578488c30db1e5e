/* Unit tests of the image filters (common/filter.h): names, the list parser, and the
 * kernel against a naive reference written here from the definitions (2D loops, every
 * coordinate clamped), byte for byte, on small and large images with 1 to 4 channels;
 * hand-computed values; and the kernel split into row ranges whose input buffers hold
 * only the rows the header allows (exact-size allocations, so a read outside them is
 * caught by valgrind, or gives wrong bytes).  Random cases come from a fixed seed,
 * printed at the start, which TVP_TEST_SEED overrides to reproduce a run.
 *
 * usage: test_filter [DATA_DIR [SECTION]]   (the data folder is not used) */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "filter.h"



static const enum tvp_filter_id all_filters[] = {
    TVP_FILTER_GAUSSIAN3, TVP_FILTER_GAUSSIAN5, TVP_FILTER_BOX3, TVP_FILTER_SHARPEN,
    TVP_FILTER_SOBEL,     TVP_FILTER_MEDIAN3,   TVP_FILTER_GRAY,
};
#define NFILTERS (sizeof all_filters / sizeof all_filters[0])

/* ---- the naive reference, from the definitions in filter.h -------------------------- */

struct img {
    uint32_t w, h, c;
    uint8_t *p; /* rows of w*c bytes, no padding */
};

static struct img img_new(uint32_t w, uint32_t h, uint32_t c)
{
    struct img im = {w, h, c, xmalloc((size_t)w * h * c)};
    return im;
}

/* pixel (x, y), channel ch, with x and y clamped to the image (replicate border) */
static int px(const struct img *im, int64_t x, int64_t y, uint32_t ch)
{
    if (x < 0)
        x = 0;
    if (x >= im->w)
        x = im->w - 1;
    if (y < 0)
        y = 0;
    if (y >= im->h)
        y = im->h - 1;
    return im->p[((size_t)y * im->w + (size_t)x) * im->c + ch];
}

static int ref_pixel(enum tvp_filter_id id, const struct img *in, int64_t x, int64_t y, uint32_t ch)
{
    static const int g3[3] = {1, 2, 1}, g5[5] = {1, 4, 6, 4, 1};
    static const int sx[3][3] = {{-1, 0, 1}, {-2, 0, 2}, {-1, 0, 1}}; /* [row][col] */
    int sum = 0;
    switch (id) {
    case TVP_FILTER_GAUSSIAN3:
        for (int i = -1; i <= 1; i++)
            for (int j = -1; j <= 1; j++)
                sum += g3[i + 1] * g3[j + 1] * px(in, x + j, y + i, ch);
        return (sum + 8) >> 4;
    case TVP_FILTER_GAUSSIAN5:
        for (int i = -2; i <= 2; i++)
            for (int j = -2; j <= 2; j++)
                sum += g5[i + 2] * g5[j + 2] * px(in, x + j, y + i, ch);
        return (sum + 128) >> 8;
    case TVP_FILTER_BOX3:
        for (int i = -1; i <= 1; i++)
            for (int j = -1; j <= 1; j++)
                sum += px(in, x + j, y + i, ch);
        return (sum + 4) / 9;
    case TVP_FILTER_SHARPEN:
        sum = 5 * px(in, x, y, ch) - px(in, x - 1, y, ch) - px(in, x + 1, y, ch) -
              px(in, x, y - 1, ch) - px(in, x, y + 1, ch);
        return sum < 0 ? 0 : sum > 255 ? 255 : sum;
    case TVP_FILTER_SOBEL: {
        int gx = 0, gy = 0;
        for (int i = -1; i <= 1; i++)
            for (int j = -1; j <= 1; j++) {
                gx += sx[i + 1][j + 1] * px(in, x + j, y + i, ch);
                gy += sx[j + 1][i + 1] * px(in, x + j, y + i, ch); /* gx transposed */
            }
        sum = abs(gx) + abs(gy);
        return sum > 255 ? 255 : sum;
    }
    case TVP_FILTER_MEDIAN3: {
        int v[9], n = 0;
        for (int i = -1; i <= 1; i++)
            for (int j = -1; j <= 1; j++)
                v[n++] = px(in, x + j, y + i, ch);
        for (int a = 1; a < 9; a++) /* insertion sort */
            for (int b = a; b > 0 && v[b - 1] > v[b]; b--) {
                int t = v[b];
                v[b] = v[b - 1];
                v[b - 1] = t;
            }
        return v[4];
    }
    default: CHECK(!"ref_pixel: no such filter"); return 0;
    }
}

/* out = filter(in), allocated here (channels from the header's rules) */
static struct img ref_filter(enum tvp_filter_id id, const struct img *in)
{
    int alpha = in->c == 2 || in->c == 4;
    if (id == TVP_FILTER_GRAY) {
        CHECK(in->c == 3 || in->c == 4);
        struct img out = img_new(in->w, in->h, in->c - 2);
        for (uint32_t y = 0; y < in->h; y++)
            for (uint32_t x = 0; x < in->w; x++) {
                int r = px(in, x, y, 0), g = px(in, x, y, 1), b = px(in, x, y, 2);
                int v = (77 * r + 150 * g + 29 * b + 128) >> 8;
                out.p[((size_t)y * in->w + x) * out.c] = (uint8_t)v;
                if (alpha)
                    out.p[((size_t)y * in->w + x) * out.c + 1] = (uint8_t)px(in, x, y, 3);
            }
        return out;
    }
    struct img out = img_new(in->w, in->h, in->c);
    for (uint32_t y = 0; y < in->h; y++)
        for (uint32_t x = 0; x < in->w; x++)
            for (uint32_t ch = 0; ch < in->c; ch++) {
                int v = alpha && ch == in->c - 1 ? px(in, x, y, ch) : ref_pixel(id, in, x, y, ch);
                CHECK(v >= 0 && v <= 255);
                out.p[((size_t)y * in->w + x) * in->c + ch] = (uint8_t)v;
            }
    return out;
}

/* ---- the kernel under test ---------------------------------------------------------- */

/* the whole image in one call, in and out as plain contiguous buffers */
static struct img run_whole(enum tvp_filter_id id, const struct img *in)
{
    uint32_t cout = tvp_filter_channels_out(id, in->c);
    CHECK(cout > 0);
    struct img out = img_new(in->w, in->h, cout);
    memset(out.p, 0xA5, (size_t)in->w * in->h * cout);
    struct tvp_rows src = {in->p, (size_t)in->w * in->c, 0, in->h};
    struct tvp_rows dst = {out.p, (size_t)in->w * cout, 0, in->h};
    tvp_filter_apply(id, in->w, in->h, in->c, &src, &dst, 0, in->h);
    return out;
}

static void check_same(const struct img *got, const struct img *want, enum tvp_filter_id id,
                       const struct img *in, const char *what)
{
    CHECK(got->w == want->w && got->h == want->h && got->c == want->c);
    for (uint32_t y = 0; y < got->h; y++)
        for (uint32_t x = 0; x < got->w; x++)
            for (uint32_t ch = 0; ch < got->c; ch++) {
                size_t i = ((size_t)y * got->w + x) * got->c + ch;
                CHECKF(got->p[i] == want->p[i],
                       "%s: %s on %ux%u with %u channels: pixel (x=%u, y=%u) channel %u is %u, "
                       "want %u", what, tvp_filter_name(id), in->w, in->h, in->c, x, y, ch,
                       got->p[i], want->p[i]);
            }
}

/* kernel == reference for one image, every filter that takes its channels */
static void check_all_filters(const struct img *in, const char *what)
{
    for (size_t f = 0; f < NFILTERS; f++) {
        if (!tvp_filter_channels_out(all_filters[f], in->c))
            continue;
        struct img got = run_whole(all_filters[f], in);
        struct img want = ref_filter(all_filters[f], in);
        check_same(&got, &want, all_filters[f], in, what);
        free(got.p);
        free(want.p);
    }
}

enum fill { FILL_RANDOM, FILL_EXTREMES, FILL_SMOOTH, FILL_COUNT };

static void fill_image(struct img *im, enum fill how)
{
    size_t n = (size_t)im->w * im->h * im->c;
    for (size_t i = 0; i < n; i++) {
        size_t pix = i / im->c, x = pix % im->w, y = pix / im->w;
        switch (how) {
        case FILL_RANDOM: im->p[i] = (uint8_t)rnd(); break;
        case FILL_EXTREMES: im->p[i] = rnd() & 1 ? 255 : 0; break; /* saturates sobel, sharpen */
        default: im->p[i] = (uint8_t)(x * 9 + y * 5 + (i % im->c) * 40 + rnd_below(4)); break;
        }
    }
}

/* ---- names, halo, channels ---------------------------------------------------------- */

static void test_names(void)
{
    static const char *const names[] = {"gaussian3", "gaussian5", "box3", "sharpen",
                                        "sobel",     "median3",   "gray"};
    static const int halos[] = {1, 2, 1, 1, 1, 1, 0};
    CHECK(NFILTERS == TVP_FILTER_COUNT);
    for (size_t f = 0; f < NFILTERS; f++) {
        CHECK(strcmp(tvp_filter_name(all_filters[f]), names[f]) == 0);
        CHECK(tvp_filter_halo(all_filters[f]) == halos[f]);
        for (uint32_t c = 0; c <= 6; c++) {
            uint32_t want = c < 1 || c > 4 ? 0
                            : all_filters[f] != TVP_FILTER_GRAY ? c
                            : c == 3 ? 1
                            : c == 4 ? 2
                                     : 0;
            CHECKF(tvp_filter_channels_out(all_filters[f], c) == want, "%s with %u channels",
                   names[f], c);
        }
    }
    CHECK(tvp_filter_channels_out(TVP_FILTER_COUNT, 1) == 0);
    CHECK(tvp_filter_name(TVP_FILTER_COUNT) != NULL);
}

/* ---- the list parser ---------------------------------------------------------------- */

static void check_parse_ok(const char *list, int n, const enum tvp_filter_id *want)
{
    enum tvp_filter_id ids[TVP_FILTER_LIST_MAX];
    int count = -1;
    char err[256] = "";
    int rc = tvp_filter_parse(list, ids, TVP_FILTER_LIST_MAX, &count, err, sizeof err);
    CHECKF(rc == 0, "'%s': %d %s", list, rc, err);
    CHECKF(count == n, "'%s': %d filters, want %d", list, count, n);
    for (int i = 0; i < n; i++)
        CHECKF(ids[i] == want[i], "'%s' item %d", list, i);
}

static void check_parse_bad(const char *list, int max, const char *must_contain)
{
    enum tvp_filter_id ids[TVP_FILTER_LIST_MAX + 1];
    int count = -1;
    char err[256] = "";
    int rc = tvp_filter_parse(list, ids, max, &count, err, sizeof err);
    CHECKF(rc == TVP_EUSAGE, "'%s' accepted (rc %d)", list ? list : "(null)", rc);
    CHECKF(err[0] != 0 && strchr(err, '\n') == NULL, "'%s': message '%s'", list, err);
    CHECKF(strstr(err, must_contain) != NULL, "'%s': message '%s' lacks '%s'", list, err,
           must_contain);
}

static void test_parse(void)
{
    for (size_t f = 0; f < NFILTERS; f++)
        check_parse_ok(tvp_filter_name(all_filters[f]), 1, &all_filters[f]);
    enum tvp_filter_id two[] = {TVP_FILTER_GAUSSIAN3, TVP_FILTER_SOBEL};
    check_parse_ok("gaussian3,sobel", 2, two);
    check_parse_ok("gaussian3,gaussian5,box3,sharpen,sobel,median3,gray", 7, all_filters);
    enum tvp_filter_id dup[] = {TVP_FILTER_SOBEL, TVP_FILTER_SOBEL, TVP_FILTER_GRAY};
    check_parse_ok("sobel,sobel,gray", 3, dup);

    /* exactly TVP_FILTER_LIST_MAX is fine, one more is too many */
    char list[TVP_FILTER_LIST_MAX * 6 + 16] = "";
    enum tvp_filter_id many[TVP_FILTER_LIST_MAX];
    for (int i = 0; i < TVP_FILTER_LIST_MAX; i++) {
        strcat(list, i ? ",box3" : "box3");
        many[i] = TVP_FILTER_BOX3;
    }
    check_parse_ok(list, TVP_FILTER_LIST_MAX, many);
    strcat(list, ",box3");
    check_parse_bad(list, TVP_FILTER_LIST_MAX, "too many");
    check_parse_bad("sobel,gray,box3", 2, "too many");
    check_parse_bad("sobel", 0, "too many");

    check_parse_bad("blur", 8, "'blur'");
    check_parse_bad("gaussian3,blurry,sobel", 8, "'blurry'");
    check_parse_bad("Sobel", 8, "'Sobel'");          /* names are case-sensitive */
    check_parse_bad("gaussian", 8, "'gaussian'");    /* a prefix is not a name */
    check_parse_bad("gaussian33", 8, "'gaussian33'"); /* nor is a longer word */
    check_parse_bad("sobel ", 8, "'sobel '");
    check_parse_bad("", 8, "empty");
    check_parse_bad(NULL, 8, "empty");
    check_parse_bad(",", 8, "empty");
    check_parse_bad("sobel,", 8, "empty");
    check_parse_bad(",sobel", 8, "empty");
    check_parse_bad("sobel,,gray", 8, "empty");
}

/* ---- values computed by hand -------------------------------------------------------- */

/* a w x h image with the given bytes, filtered by the kernel, must be `want` */
static void check_hand(enum tvp_filter_id id, uint32_t w, uint32_t h, uint32_t c,
                       const uint8_t *pixels, const uint8_t *want)
{
    struct img in = img_new(w, h, c);
    memcpy(in.p, pixels, (size_t)w * h * c);
    struct img got = run_whole(id, &in);
    struct img ref = ref_filter(id, &in);
    size_t n = (size_t)w * h * got.c;
    for (size_t i = 0; i < n; i++) {
        CHECKF(got.p[i] == want[i], "%s on %ux%ux%u by hand: byte %zu is %u, want %u",
               tvp_filter_name(id), w, h, c, i, got.p[i], want[i]);
        CHECKF(ref.p[i] == want[i], "the reference's %s: byte %zu is %u, want %u",
               tvp_filter_name(id), i, ref.p[i], want[i]);
    }
    free(in.p);
    free(got.p);
    free(ref.p);
}

static void test_hand(void)
{
    /* a single 255 in the middle of 3x3 zeros */
    static const uint8_t dot[9] = {0, 0, 0, 0, 255, 0, 0, 0, 0};
    /* gaussian3: (255 * weight + 8) >> 4 = 16 * weight for weights 1, 2, 4 */
    static const uint8_t dot_g3[9] = {16, 32, 16, 32, 64, 32, 16, 32, 16};
    check_hand(TVP_FILTER_GAUSSIAN3, 3, 3, 1, dot, dot_g3);
    /* box3: every 3x3 neighbourhood (clamped) holds the dot once: (255 + 4) / 9 = 28 */
    static const uint8_t dot_box[9] = {28, 28, 28, 28, 28, 28, 28, 28, 28};
    check_hand(TVP_FILTER_BOX3, 3, 3, 1, dot, dot_box);
    /* sharpen: 5 * 255 clamps to 255; next to it 0 - 255 clamps to 0 */
    static const uint8_t dot_sharp[9] = {0, 0, 0, 0, 255, 0, 0, 0, 0};
    check_hand(TVP_FILTER_SHARPEN, 3, 3, 1, dot, dot_sharp);
    /* median3: one bright pixel among at least eight zeros */
    static const uint8_t zeros[9] = {0};
    check_hand(TVP_FILTER_MEDIAN3, 3, 3, 1, dot, zeros);
    /* sobel: at an edge pixel gy (or gx) = 2 * 255, clamped to 255; at a corner gx = gy
     * = 255 (the dot with weight 1 each); at the centre both are 0 */
    static const uint8_t dot_sobel[9] = {255, 255, 255, 255, 0, 255, 255, 255, 255};
    check_hand(TVP_FILTER_SOBEL, 3, 3, 1, dot, dot_sobel);

    /* a dot of 40: sobel no longer saturates: corners |40| + |40|, edges |2 * 40| + 0 */
    static const uint8_t dot40[9] = {0, 0, 0, 0, 40, 0, 0, 0, 0};
    static const uint8_t dot40_sobel[9] = {80, 80, 80, 80, 0, 80, 80, 80, 80};
    check_hand(TVP_FILTER_SOBEL, 3, 3, 1, dot40, dot40_sobel);
    /* sharpen: 5 * 40 = 200 in the middle, 0 - 40 clamped to 0 around it */
    static const uint8_t dot40_sharp[9] = {0, 0, 0, 0, 200, 0, 0, 0, 0};
    check_hand(TVP_FILTER_SHARPEN, 3, 3, 1, dot40, dot40_sharp);

    /* gaussian5 of a 255 dot in 5x5: (255 * weight + 128) >> 8 = weight (weight <= 128), so
     * the output is the kernel itself */
    uint8_t dot5[25] = {0};
    dot5[12] = 255;
    static const uint8_t dot5_g5[25] = {1, 4,  6,  4,  1, 4, 16, 24, 16, 4, 6, 24, 36,
                                        24, 6, 4, 16, 24, 16, 4, 1, 4,  6,  4, 1};
    check_hand(TVP_FILTER_GAUSSIAN5, 5, 5, 1, dot5, dot5_g5);

    /* 1..9 in a 3x3: medians of the clamped neighbourhoods, sorted by hand, e.g. the
     * top-left corner sees 1 1 2 / 1 1 2 / 4 4 5 -> 1 1 1 1 [2] 2 4 4 5 */
    static const uint8_t nine[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    static const uint8_t nine_median[9] = {2, 3, 3, 4, 5, 6, 7, 7, 8};
    check_hand(TVP_FILTER_MEDIAN3, 3, 3, 1, nine, nine_median);
    /* box3: top-left sum 21 -> (21 + 4) / 9 = 2; centre 45 -> 5; bottom-right 1 clamped
     * twice: 5 6 6 / 8 9 9 / 8 9 9 = 69 -> 8; top-right 2 3 3 2 3 3 5 6 6 = 33 -> 4 */
    static const uint8_t nine_box[9] = {2, 3, 4, 4, 5, 6, 6, 7, 8};
    check_hand(TVP_FILTER_BOX3, 3, 3, 1, nine, nine_box);

    /* one row 10 20 30: up and down are the row itself, so sharpen = 3m - l - r and sobel
     * = |4 (r - l)| */
    static const uint8_t ramp[3] = {10, 20, 30};
    static const uint8_t ramp_sharp[3] = {0, 20, 40};
    static const uint8_t ramp_sobel[3] = {40, 80, 40};
    check_hand(TVP_FILTER_SHARPEN, 3, 1, 1, ramp, ramp_sharp);
    check_hand(TVP_FILTER_SOBEL, 3, 1, 1, ramp, ramp_sobel);
    /* and as one column: the same by symmetry */
    check_hand(TVP_FILTER_SHARPEN, 1, 3, 1, ramp, ramp_sharp);
    check_hand(TVP_FILTER_SOBEL, 1, 3, 1, ramp, ramp_sobel);
    /* gaussian3 of 10 20 30 as a row: (4 * (10 + 2*10 + 20) + 8) >> 4 = 208 >> 4 = 13,
     * then (4 * 80 + 8) >> 4 = 20, (4 * 110 + 8) >> 4 = 28 */
    static const uint8_t ramp_g3[3] = {13, 20, 28};
    check_hand(TVP_FILTER_GAUSSIAN3, 3, 1, 1, ramp, ramp_g3);

    /* channels are independent: a dot in G only of an RGB image */
    uint8_t gdot[27] = {0};
    gdot[4 * 3 + 1] = 255;
    uint8_t gdot_g3[27] = {0};
    for (int i = 0; i < 9; i++)
        gdot_g3[i * 3 + 1] = dot_g3[i];
    check_hand(TVP_FILTER_GAUSSIAN3, 3, 3, 3, gdot, gdot_g3);

    /* alpha is copied, never filtered: RGBA with a dot in alpha only stays as it was */
    uint8_t adot[36] = {0};
    adot[4 * 4 + 3] = 255;
    adot[0 * 4 + 3] = 9;
    for (size_t f = 0; f < NFILTERS; f++)
        if (all_filters[f] != TVP_FILTER_GRAY)
            check_hand(all_filters[f], 3, 3, 4, adot, adot);

    /* gray: (77 R + 150 G + 29 B + 128) >> 8 */
    static const uint8_t rgb[15] = {255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255, 0, 0, 0};
    static const uint8_t rgb_gray[5] = {77, 149, 29, 255, 0};
    check_hand(TVP_FILTER_GRAY, 5, 1, 3, rgb, rgb_gray);
    static const uint8_t rgba[8] = {255, 0, 0, 7, 10, 20, 30, 200};
    /* (770 + 3000 + 870 + 128) >> 8 = 4768 >> 8 = 18 */
    static const uint8_t rgba_gray[4] = {77, 7, 18, 200};
    check_hand(TVP_FILTER_GRAY, 2, 1, 4, rgba, rgba_gray);

    /* a constant image stays constant (sobel: 0), whatever its size */
    static const uint32_t sizes[][2] = {{1, 1}, {1, 6}, {6, 1}, {2, 2}, {9, 4}};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (uint32_t c = 1; c <= 4; c++)
            for (size_t f = 0; f < NFILTERS; f++) {
                enum tvp_filter_id id = all_filters[f];
                if (id == TVP_FILTER_GRAY)
                    continue;
                uint32_t w = sizes[s][0], h = sizes[s][1];
                size_t n = (size_t)w * h * c;
                uint8_t *in = xmalloc(n), *want = xmalloc(n);
                for (size_t i = 0; i < n; i++) {
                    int alpha = (c == 2 || c == 4) && i % c == c - 1;
                    in[i] = (uint8_t)(173 + i % c);
                    want[i] = id == TVP_FILTER_SOBEL && !alpha ? 0 : in[i];
                }
                check_hand(id, w, h, c, in, want);
                free(in);
                free(want);
            }
}

/* ---- kernel == reference on small images ------------------------------------------- */

static void test_small(void)
{
    static const uint32_t sizes[][2] = {{1, 1}, {1, 5}, {5, 1}, {2, 2},  {7, 5},  {13, 11},
                                        {3, 3}, {2, 1}, {1, 2}, {4, 4},  {5, 5},  {6, 2},
                                        {2, 6}, {3, 1}, {1, 3}, {17, 3}, {64, 3}, {65, 4}};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (uint32_t c = 1; c <= 4; c++)
            for (int how = 0; how < FILL_COUNT; how++)
                for (int rep = 0; rep < 3; rep++) {
                    struct img in = img_new(sizes[s][0], sizes[s][1], c);
                    fill_image(&in, (enum fill)how);
                    check_all_filters(&in, "small");
                    free(in.p);
                }
}

/* every width from 1 to 70: the vector loops' tails and the edge columns */
static void test_widths(void)
{
    static const uint32_t heights[] = {1, 2, 3, 5};
    for (uint32_t w = 1; w <= 70; w++)
        for (size_t k = 0; k < sizeof heights / sizeof heights[0]; k++)
            for (uint32_t c = 1; c <= 4; c++) {
                struct img in = img_new(w, heights[k], c);
                fill_image(&in, (enum fill)((w + c) % FILL_COUNT));
                check_all_filters(&in, "widths");
                free(in.p);
            }
}

/* images wider than one strip of the separable filters (a strip is 1024 bytes) */
static void test_large(void)
{
    static const uint32_t shapes[][3] = {
        {1000, 300, 3}, {3000, 7, 1}, {1025, 9, 4}, {700, 40, 2}, {2051, 6, 3}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        struct img in = img_new(shapes[s][0], shapes[s][1], shapes[s][2]);
        fill_image(&in, s % 2 ? FILL_SMOOTH : FILL_RANDOM);
        check_all_filters(&in, "large");
        free(in.p);
    }
}

/* ---- the kernel split into row ranges -------------------------------------------------- */

#define GUARD 0x5A

/* Rows [begin,end) of `in` filtered with src holding only image rows [max(0, begin -
 * halo), min(height, end + halo)) in a buffer of exactly that size (stride padded with
 * junk), and dst holding only rows [begin,end) (stride padded with GUARD, which must
 * survive); the rows are copied into `out`. */
static void run_range(enum tvp_filter_id id, const struct img *in, struct img *out,
                      uint32_t begin, uint32_t end)
{
    uint32_t halo = (uint32_t)tvp_filter_halo(id);
    size_t in_row = (size_t)in->w * in->c, out_row = (size_t)out->w * out->c;
    if (begin == end) { /* nothing to do, nothing to touch */
        struct tvp_rows src = {NULL, in_row, begin, 0}, dst = {NULL, out_row, begin, 0};
        tvp_filter_apply(id, in->w, in->h, in->c, &src, &dst, begin, end);
        return;
    }
    uint32_t first = begin > halo ? begin - halo : 0;
    uint32_t last = end + halo < in->h ? end + halo : in->h;
    size_t sstride = in_row + rnd_below(3) * 5, dstride = out_row + rnd_below(3) * 3;
    size_t sbytes = (size_t)(last - first - 1) * sstride + in_row;
    size_t dbytes = (size_t)(end - begin - 1) * dstride + out_row;
    uint8_t *sbuf = xmalloc(sbytes), *dbuf = xmalloc(dbytes);
    for (size_t i = 0; i < sbytes; i++)
        sbuf[i] = (uint8_t)rnd();
    for (uint32_t r = first; r < last; r++)
        memcpy(sbuf + (r - first) * sstride, in->p + r * in_row, in_row);
    memset(dbuf, GUARD, dbytes);
    struct tvp_rows src = {sbuf, sstride, first, last - first};
    struct tvp_rows dst = {dbuf, dstride, begin, end - begin};
    tvp_filter_apply(id, in->w, in->h, in->c, &src, &dst, begin, end);
    for (uint32_t r = begin; r < end; r++) {
        const uint8_t *row = dbuf + (r - begin) * dstride;
        memcpy(out->p + r * out_row, row, out_row);
        if (r + 1 < end)
            for (size_t i = out_row; i < dstride; i++)
                CHECKF(row[i] == GUARD, "%s: padding byte %zu of row %u written",
                       tvp_filter_name(id), i, r);
    }
    free(sbuf);
    free(dbuf);
}

static void test_split(void)
{
    for (int t = 0; t < 300; t++) {
        uint32_t w = 1 + (uint32_t)rnd_below(t < 200 ? 40 : 300);
        uint32_t h = 1 + (uint32_t)rnd_below(t < 200 ? 20 : 120);
        uint32_t c = 1 + (uint32_t)rnd_below(4);
        struct img in = img_new(w, h, c);
        fill_image(&in, (enum fill)(t % FILL_COUNT));
        for (size_t f = 0; f < NFILTERS; f++) {
            enum tvp_filter_id id = all_filters[f];
            uint32_t cout = tvp_filter_channels_out(id, c);
            if (!cout)
                continue;
            struct img whole = run_whole(id, &in);
            struct img split = img_new(w, h, cout);
            memset(split.p, 0xA5, (size_t)w * h * cout);
            /* random cuts, empty ranges and ranges of one row included */
            uint32_t y = 0;
            while (y < h) {
                uint32_t most = rnd_below(2) ? 3 : h; /* short ranges often */
                uint32_t len = rnd_below(4) == 0 ? 0 : 1 + (uint32_t)rnd_below(most);
                if (len > h - y)
                    len = h - y;
                run_range(id, &in, &split, y, y + len);
                y += len;
            }
            check_same(&split, &whole, id, &in, "split into row ranges");
            free(whole.p);
            free(split.p);
        }
        free(in.p);
    }
    /* every single row of a tall, narrow image on its own, and the halo at both ends */
    struct img in = img_new(3, 9, 2);
    fill_image(&in, FILL_RANDOM);
    for (size_t f = 0; f < NFILTERS; f++) {
        enum tvp_filter_id id = all_filters[f];
        if (!tvp_filter_channels_out(id, in.c))
            continue;
        struct img want = ref_filter(id, &in);
        struct img split = img_new(in.w, in.h, want.c);
        for (uint32_t y = 0; y < in.h; y++)
            run_range(id, &in, &split, y, y + 1);
        check_same(&split, &want, id, &in, "row by row");
        free(want.p);
        free(split.p);
    }
    free(in.p);
}

/* ---- main ------------------------------------------------------------------------------ */

static const struct test_section sections[] = {
    {"names", test_names}, {"parse", test_parse}, {"hand", test_hand},   {"small", test_small},
    {"widths", test_widths}, {"large", test_large}, {"split", test_split},
};

int main(int argc, char **argv)
{
    test_seed("test_filter", UINT64_C(20240607));
    const char *only = argc > 2 ? argv[2] : NULL;
    return test_run(sections, sizeof sections / sizeof sections[0], only);
}
