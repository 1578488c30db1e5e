/* squares: out[i] = in[i] * in[i] over int64, the Pool.map(square, inputs) of tvp. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workload.h"

/* largest |v| whose square fits in int64: floor(sqrt(2^63 - 1)) */
#define SQUARES_MAX_ABS INT64_C(3037000499)

/* splitmix64's output function; item i uses state seed + (i+1)*golden, so any item can
 * be made without the ones before it. */
static uint64_t splitmix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static void squares_fill(const struct tvp_source *src, uint64_t begin, uint64_t end, void *in)
{
    int64_t *restrict v = in;
    if (src->items) {
        memcpy(v, (const int64_t *)src->items + begin, (size_t)(end - begin) * sizeof *v);
        return;
    }
    for (uint64_t i = begin; i < end; i++) /* a value in [-2^31, 2^31) */
        v[i - begin] = (int64_t)(int32_t)(uint32_t)(
            splitmix64(src->seed + (i + 1) * UINT64_C(0x9e3779b97f4a7c15)) >> 32);
}

static void squares_kernel(const void *in, void *out, uint64_t begin, uint64_t end)
{
    const int64_t *restrict a = in;
    int64_t *restrict b = out;
    uint64_t count = end - begin;
    for (uint64_t k = 0; k < count; k++)
        b[k] = a[k] * a[k];
}

#define FAIL(...) (snprintf(err, errlen, __VA_ARGS__), TVP_EINPUT)

static int squares_load(const char *path, void **items, uint64_t *n, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return FAIL("%s: cannot open: %s", path, strerror(errno));
    int64_t *v = NULL;
    uint64_t count = 0, cap = 0, line = 0;
    char *buf = NULL;
    size_t bufcap = 0;
    ssize_t len;
    int rc = 0;
    while ((len = getline(&buf, &bufcap, f)) >= 0) {
        line++;
        while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' ' ||
                           buf[len - 1] == '\t'))
            buf[--len] = 0;
        char *s = buf + strspn(buf, " \t"), *end;
        if (!*s) {
            rc = FAIL("%s:%" PRIu64 ": empty line, expected one integer", path, line);
            break;
        }
        errno = 0;
        long long x = strtoll(s, &end, 10);
        if (end == s || *end) {
            rc = FAIL("%s:%" PRIu64 ": '%.40s' is not an integer", path, line, s);
            break;
        }
        if (errno == ERANGE) {
            rc = FAIL("%s:%" PRIu64 ": '%.40s' does not fit in int64", path, line, s);
            break;
        }
        if (x > SQUARES_MAX_ABS || x < -SQUARES_MAX_ABS) {
            rc = FAIL("%s:%" PRIu64 ": %lld squared overflows int64 (|value| must be <= %" PRId64 ")",
                      path, line, x, SQUARES_MAX_ABS);
            break;
        }
        if (count == cap) {
            uint64_t ncap = cap ? 2 * cap : 4096;
            int64_t *nv = realloc(v, ncap * sizeof *v);
            if (!nv) {
                rc = TVP_ENOMEM;
                snprintf(err, errlen, "%s: out of memory at line %" PRIu64, path, line);
                break;
            }
            v = nv;
            cap = ncap;
        }
        v[count++] = x;
    }
    if (!rc && ferror(f))
        rc = FAIL("%s: read error: %s", path, strerror(errno));
    if (!rc && count == 0)
        rc = FAIL("%s: no values (expected one integer per line)", path);
    free(buf);
    fclose(f);
    if (rc) {
        free(v);
        return rc;
    }
    *items = v;
    *n = count;
    return 0;
}

const struct tvp_workload tvp_workload_squares = {
    .name = "squares",
    .summary = "out[i] = in[i]*in[i] over int64",
    .in_size = sizeof(int64_t),
    .out_size = sizeof(int64_t),
    .fill = squares_fill,
    .kernel = squares_kernel,
    .load = squares_load,
};
