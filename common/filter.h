/* The image filters: pure kernels over a range of rows.  Per channel, integer arithmetic,
 * border = replicate (a row or column outside the image reads the nearest edge one).
 * Alpha (the last channel of a 2- or 4-channel image) is copied unchanged by every filter.
 *
 *   gaussian3  [1 2 1]^T[1 2 1], (sum + 8) >> 4                    halo 1
 *   gaussian5  [1 4 6 4 1]^T[1 4 6 4 1], (sum + 128) >> 8          halo 2
 *   box3       3x3 sum, (sum + 4) / 9                                halo 1
 *   sharpen    [0 -1 0; -1 5 -1; 0 -1 0], clamped to [0, 255]        halo 1
 *   sobel      min(255, |gx| + |gy|), gx = [-1 0 1; -2 0 2; -1 0 1], gy = gx^T   halo 1
 *   median3    median of the 3x3 neighbourhood                      halo 1
 *   gray       RGB -> one channel, (77 R + 150 G + 29 B + 128) >> 8  halo 0
 *              (RGB -> gray, RGBA -> gray+alpha; a 1- or 2-channel image is refused)
 *
 * These agree with OpenCV 4 (GaussianBlur, blur, filter2D, Sobel, medianBlur with
 * BORDER_REPLICATE) within +-1 for gaussian and box, exactly for the others. */
#ifndef TVP_FILTER_H
#define TVP_FILTER_H

#include "tvp.h"

enum tvp_filter_id {
    TVP_FILTER_GAUSSIAN3,
    TVP_FILTER_GAUSSIAN5,
    TVP_FILTER_BOX3,
    TVP_FILTER_SHARPEN,
    TVP_FILTER_SOBEL,
    TVP_FILTER_MEDIAN3,
    TVP_FILTER_GRAY,
    TVP_FILTER_COUNT
};

#define TVP_FILTER_LIST_MAX 64

const char *tvp_filter_name(enum tvp_filter_id id);
int tvp_filter_halo(enum tvp_filter_id id); /* rows (and columns) needed on each side */
/* Channels out of the filter for `channels` in; 0 when the filter cannot take them. */
uint32_t tvp_filter_channels_out(enum tvp_filter_id id, uint32_t channels);

/* "gaussian3,sobel" -> ids.  TVP_EUSAGE with a one-line message naming the bad name. */
int tvp_filter_parse(const char *list, enum tvp_filter_id *ids, int max, int *count, char *err,
                     size_t errlen);

/* struct tvp_rows (tvp.h): the rows of an image one buffer holds. */

/* The kernel: rows [begin,end) of dst from src, for an image of width x height whose
 * input has `channels` channels.  src must hold image rows [max(0, begin - halo),
 * min(height, end + halo)); dst must hold rows [begin,end).  Allocates nothing, prints
 * nothing, starts no threads; src and dst do not overlap. */
void tvp_filter_apply(enum tvp_filter_id id, uint32_t width, uint32_t height, uint32_t channels,
                      const struct tvp_rows *src, const struct tvp_rows *dst, uint32_t begin,
                      uint32_t end);

#endif
