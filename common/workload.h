/* Workloads.  A workload is one file in common/ and one line in workload.c's table;
 * every backend runs it.
 *
 * Kernels are pure: they allocate nothing, print nothing, start no threads.  Two shapes:
 *
 * - map (squares): items [begin,end) of the input become items [begin,end) of the
 *   output; the buffers passed in hold exactly those items (in[0] is item `begin`), so a
 *   worker that owns only a block needs no pointer into somebody else's memory.
 * - stencil (filter): a grid of rows (an image) goes through passes; row r of a pass's
 *   output needs the rows of its input within `halo` of r, so workers that own blocks of
 *   rows must see their neighbours' edge rows (the halo) before every pass. */
#ifndef TVP_WORKLOAD_H
#define TVP_WORKLOAD_H

#include "image.h"
#include "tvp.h"

struct tvp_options;

/* - table (labelencode): CSV records split among workers at record boundaries; each
 *   builds local dictionaries, one merge makes them global, then each encodes its rows
 *   (common/lenc.h; the backends' side in backend.h). */
enum tvp_shape { TVP_SHAPE_MAP, TVP_SHAPE_STENCIL, TVP_SHAPE_TABLE };

/* A stencil job: pass p turns grid p into grid p+1 (all width x height; the channels may
 * change, as gray does).  Every buffer of a job uses one stride for all its grids. */
struct tvp_grid {
    uint32_t width, height;
    int npasses;
    int max_halo;
    size_t stride;      /* bytes per row in every buffer: width * the most channels */
    uint32_t *channels; /* [npasses + 1]: channels of grid p; the last is the output's */
    int *halo;          /* [npasses]: rows each side pass p reads */
    int *op;            /* [npasses]: what pass p does, in the workload's own terms */
};
void tvp_grid_free(struct tvp_grid *g);
static inline size_t tvp_grid_row_bytes(const struct tvp_grid *g, int p)
{
    return (size_t)g->width * g->channels[p];
}

struct tvp_stencil_ops {
    /* The passes for these options and an input of width x height x channels; TVP_EUSAGE
     * and a one-line message when they do not fit.  Allocates g's arrays. */
    int (*plan)(const struct tvp_options *o, uint32_t width, uint32_t height, uint32_t channels,
                struct tvp_grid *g, char *err, size_t errlen);
    /* The kernel: rows [begin,end) of grid p+1 into dst from grid p in src, which holds
     * at least rows [begin - halo[p], end + halo[p]) clamped to the grid. */
    void (*pass)(const struct tvp_grid *g, int p, const struct tvp_rows *src,
                 const struct tvp_rows *dst, uint32_t begin, uint32_t end);
    /* Input and output files, and a generated input (random-access by row). */
    int (*load)(const char *path, uint64_t max_pixels, struct tvp_image *im, char *err,
                size_t errlen);
    int (*check_out)(const char *path, uint32_t channels, char *err, size_t errlen);
    int (*save)(const char *path, const struct tvp_image *im, char *err, size_t errlen);
    void (*synth)(uint64_t seed, uint32_t width, uint32_t height, uint32_t channels,
                  uint32_t row_begin, uint32_t row_end, uint8_t *rows, size_t stride);
};

/* Where a map workload's input items come from. */
struct tvp_source {
    uint64_t seed;      /* generator seed, used when items == NULL */
    const void *items;  /* items [0,n) loaded from a file, or NULL */
    uint64_t n;
};

struct tvp_workload {
    const char *name;
    const char *summary;
    enum tvp_shape shape;
    const struct tvp_stencil_ops *stencil; /* stencil shape: the rest below is unused */
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
