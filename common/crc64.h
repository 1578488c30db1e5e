/* Internals of the CRC-64/XZ in checksum.c, shared with the architecture's fast path.
 * "raw" is the CRC register before the final inversion (init ~0 already applied). */
#ifndef TVP_CRC64_H
#define TVP_CRC64_H

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

#endif
