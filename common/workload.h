/* Workloads.  A workload is one file in common/ and one line in workload.c's table;
 * every backend runs it.
 *
 * Kernels are pure: they allocate nothing, print nothing, start no threads.  A "map"
 * workload turns items [begin,end) of the input into items [begin,end) of the output;
 * the buffers passed in hold exactly those items (in[0] is item `begin`), so a worker
 * that owns only a block needs no pointer into somebody else's memory. */
#ifndef TVP_WORKLOAD_H
#define TVP_WORKLOAD_H

#include "tvp.h"

/* Where a map workload's input items come from. */
struct tvp_source {
    uint64_t seed;      /* generator seed, used when items == NULL */
    const void *items;  /* items [0,n) loaded from a file, or NULL */
    uint64_t n;
};

struct tvp_workload {
    const char *name;
    const char *summary;
    size_t in_size;  /* bytes per input item */
    size_t out_size; /* bytes per output item (a multiple of 8) */
    /* Writes input items [begin,end) to in[0..end-begin): from src->items, or generated
     * from src->seed (deterministic, random-access: item i depends on seed and i only). */
    void (*fill)(const struct tvp_source *src, uint64_t begin, uint64_t end, void *in);
    /* The kernel: out[k] = f(in[k]) for items begin+k. */
    void (*kernel)(const void *in, void *out, uint64_t begin, uint64_t end);
    /* Loads a text input file into a tvp_alloc_touched() array.  Bad input: TVP_EINPUT
     * with "PATH:LINE: what is wrong" in err. */
    int (*load)(const char *path, void **items, uint64_t *n, char *err, size_t errlen);
};

const struct tvp_workload *tvp_workload_find(const char *name);
/* NULL-terminated table of every registered workload */
extern const struct tvp_workload *const tvp_workloads[];

/* the squares workload (common/squares.c), exposed for tests */
extern const struct tvp_workload tvp_workload_squares;

#endif
