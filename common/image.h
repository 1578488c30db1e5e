/* Images for the filter workload: 8-bit PNG (libpng) and netpbm PGM/PPM files, and a
 * deterministic synthetic image.  Pixels are interleaved, rows top to bottom. */
#ifndef TVP_IMAGE_H
#define TVP_IMAGE_H

#include "tvp.h"

#define TVP_IMAGE_MAX_PIXELS_DEFAULT (UINT64_C(1) << 28) /* 268 Mpx: about 1 GiB as RGBA */

struct tvp_image {
    uint32_t width, height;
    uint32_t channels; /* 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA */
    size_t stride;     /* bytes from one row to the next, >= width * channels */
    uint8_t *pix;      /* height rows */
};

/* Reads PATH, whose format is told by its first bytes (not its name): PNG (8-bit gray,
 * gray+alpha, RGB, RGBA; palette images become RGB(A); interlaced ones are read too) or
 * netpbm P2/P3/P5/P6 with maxval 255.  Allocates im->pix with malloc, stride = width *
 * channels.  Bad input: TVP_EINPUT with one line "PATH: what is wrong" in err (missing
 * or unreadable file, wrong magic, truncated header or pixel data, corrupt PNG, 16-bit
 * samples, maxval other than 255, zero dimensions, width*height above max_pixels or
 * overflowing).  Never prints, never exits, never crashes on hostile input. */
int tvp_image_read(const char *path, uint64_t max_pixels, struct tvp_image *im, char *err,
                   size_t errlen);

/* Writes im to PATH in the format its extension names: .png, .pgm (1 channel), .ppm (3
 * channels) (case-insensitive).  PGM/PPM are written binary (P5/P6).  A channel count the
 * format cannot hold, or an unknown extension, is TVP_EUSAGE.  Atomic: a temporary file in
 * the same folder, then rename; on failure nothing is left behind. */
int tvp_image_write(const char *path, const struct tvp_image *im, char *err, size_t errlen);

/* TVP_EUSAGE with a message unless PATH's extension is one tvp_image_write takes for an
 * image of `channels` channels (checked before any work is done). */
int tvp_image_check_out(const char *path, uint32_t channels, char *err, size_t errlen);

/* Rows [row_begin,row_end) of the synthetic image of that size, written at rows (row
 * row_begin first, `stride` bytes apart).  Deterministic: each pixel depends only on the
 * seed, its coordinates and channel, so any worker can make any rows.  Smooth gradients
 * and shapes with edges plus noise, so every filter changes something; alpha, when
 * present, varies too. */
void tvp_image_synth_rows(uint64_t seed, uint32_t width, uint32_t height, uint32_t channels,
                          uint32_t row_begin, uint32_t row_end, uint8_t *rows, size_t stride);

void tvp_image_free(struct tvp_image *im);

#endif
