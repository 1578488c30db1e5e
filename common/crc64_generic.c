/* No carry-less multiply on this architecture: everything goes through the table code. */
#include "crc64.h"

size_t tvp_crc64_fast(uint64_t *raw, const unsigned char *p, size_t len)
{
    (void)raw, (void)p, (void)len;
    return 0;
}
