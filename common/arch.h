/* What has a fast path on some architectures: CMake compiles arch_x86_64.c there and
 * arch_generic.c elsewhere (files chosen by the build, no #if in the code).
 *
 * The CRC-64/XZ internals of checksum.c: "raw" is the CRC register before the final
 * inversion (init ~0 already applied). */
#ifndef TVP_ARCH_H
#define TVP_ARCH_H

#include <stddef.h>
#include <stdint.h>

struct tvp_crc64_fold {
    uint64_t x127, x191, x511, x575; /* x^k mod P, reflected */
};
const struct tvp_crc64_fold *tvp_crc64_fold_constants(void);
/* Table-driven update of a raw register. */
uint64_t tvp_crc64_table(uint64_t raw, const unsigned char *p, size_t len);
/* Consumes a prefix of p (a multiple of 64 bytes) and returns its length, or 0 where the
 * CPU has no fast path; updates *raw. */
size_t tvp_crc64_fast(uint64_t *raw, const unsigned char *p, size_t len);

/* Skips, 16 bytes at a time, the bytes of [p, e) that equal none of a, b, c, d; returns
 * where the caller goes on byte by byte (a match, or fewer than 16 bytes left; p itself
 * where there is no fast path). */
const char *tvp_skip_none_of4(const char *p, const char *e, char a, char b, char c, char d);

#endif
