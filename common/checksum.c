/* CRC-64/XZ (the check of the xz format: ECMA-182 polynomial, reflected, init and xorout
 * all ones; CRC of "123456789" = 0x995dc9bbdf1939fa) by slicing-by-8, plus a sum of
 * 64-bit words.  Concatenation uses the GF(2) "multiply by x^(8*len) mod P" method, the
 * one zlib uses for crc32_combine. */
#include <pthread.h>
#include <string.h>

#include "arch.h"
#include "tvp.h"

#define POLY 0xc96c5795d7870f42u /* 0x42f0e1eba9ea3693 reflected */

static uint64_t crc_table[8][256];
static uint64_t x2n_table[64]; /* x^(2^k) mod P */
static struct tvp_crc64_fold fold_constants;
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static uint64_t gf2_mult(uint64_t a, uint64_t b) /* a*b mod P, reflected */
{
    uint64_t m = (uint64_t)1 << 63, p = 0;
    for (;;) {
        if (a & m) {
            p ^= b;
            if ((a & (m - 1)) == 0)
                break;
        }
        m >>= 1;
        b = b & 1 ? (b >> 1) ^ POLY : b >> 1;
    }
    return p;
}

/* x^e mod P, from the table of x^(2^k) */
static uint64_t x_pow(uint64_t e)
{
    uint64_t r = (uint64_t)1 << 63; /* x^0 */
    for (int k = 0; e; k++, e >>= 1)
        if (e & 1)
            r = gf2_mult(x2n_table[k], r);
    return r;
}

static void tables_make(void)
{
    for (unsigned i = 0; i < 256; i++) {
        uint64_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ POLY : c >> 1;
        crc_table[0][i] = c;
    }
    for (unsigned i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^ crc_table[0][crc_table[t - 1][i] & 0xff];
    x2n_table[0] = (uint64_t)1 << 62; /* x^1 */
    for (int k = 1; k < 64; k++)
        x2n_table[k] = gf2_mult(x2n_table[k - 1], x2n_table[k - 1]);
    fold_constants.x127 = x_pow(127);
    fold_constants.x191 = x_pow(191);
    fold_constants.x511 = x_pow(511);
    fold_constants.x575 = x_pow(575);
}

const struct tvp_crc64_fold *tvp_crc64_fold_constants(void)
{
    pthread_once(&tables_once, tables_make);
    return &fold_constants;
}

uint64_t tvp_crc64_table(uint64_t crc, const unsigned char *p, size_t len)
{
    while (len && ((uintptr_t)p & 7)) {
        crc = (crc >> 8) ^ crc_table[0][(crc ^ *p++) & 0xff];
        len--;
    }
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        w ^= crc; /* little-endian host assumed, as on x86-64 and arm64 */
        crc = crc_table[7][w & 0xff] ^ crc_table[6][(w >> 8) & 0xff] ^
              crc_table[5][(w >> 16) & 0xff] ^ crc_table[4][(w >> 24) & 0xff] ^
              crc_table[3][(w >> 32) & 0xff] ^ crc_table[2][(w >> 40) & 0xff] ^
              crc_table[1][(w >> 48) & 0xff] ^ crc_table[0][w >> 56];
        p += 8;
        len -= 8;
    }
    while (len--)
        crc = (crc >> 8) ^ crc_table[0][(crc ^ *p++) & 0xff];
    return crc;
}

static uint64_t crc64_update(uint64_t crc, const unsigned char *p, size_t len)
{
    uint64_t raw = ~crc;
    size_t done = tvp_crc64_fast(&raw, p, len);
    return ~tvp_crc64_table(raw, p + done, len - done);
}

void tvp_checksum_add(struct tvp_checksum *c, uint64_t start, const void *data, size_t len)
{
    pthread_once(&tables_once, tables_make);
    const unsigned char *p = data;
    uint64_t pos = start + c->bytes, sum = c->sum;
    size_t i = 0;
    for (; i < len && pos % 8; i++, pos++) /* up to a word boundary of the whole output */
        sum += (uint64_t)p[i] << (8 * (pos % 8));
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        sum += w;
    }
    for (unsigned k = 0; i < len; i++, k++)
        sum += (uint64_t)p[i] << (8 * k);
    c->sum = sum;
    c->crc64 = crc64_update(c->crc64, p, len);
    c->bytes += len;
}

struct tvp_checksum tvp_checksum_of(const void *data, size_t len)
{
    struct tvp_checksum c = TVP_CHECKSUM_EMPTY;
    tvp_checksum_add(&c, 0, data, len);
    return c;
}

struct tvp_checksum tvp_checksum_cat(struct tvp_checksum a, struct tvp_checksum b)
{
    pthread_once(&tables_once, tables_make);
    uint64_t shift = (uint64_t)1 << 63; /* x^0 */
    uint64_t bits = b.bytes;            /* multiply by x^(8*b.bytes) = x^(2^3 * bytes) */
    for (int k = 3; bits && k < 64; k++, bits >>= 1)
        if (bits & 1)
            shift = gf2_mult(x2n_table[k], shift);
    struct tvp_checksum c = {a.sum + b.sum, gf2_mult(shift, a.crc64) ^ b.crc64, a.bytes + b.bytes};
    return c;
}

int tvp_checksum_equal(struct tvp_checksum a, struct tvp_checksum b)
{
    return a.sum == b.sum && a.crc64 == b.crc64 && a.bytes == b.bytes;
}
