/* No fast paths on this architecture (see arch.h): the callers' plain loops do it all. */
#include "arch.h"

size_t tvp_crc64_fast(uint64_t *raw, const unsigned char *p, size_t len)
{
    (void)raw, (void)p, (void)len;
    return 0;
}

const char *tvp_skip_none_of4(const char *p, const char *e, char a, char b, char c, char d)
{
    (void)e, (void)a, (void)b, (void)c, (void)d;
    return p;
}
