/* The filter workload: image filters (common/filter.c) over images (common/image.c), run
 * as a stencil: each filter of the list is one pass, the list applied --iterations times. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"
#include "tvp.h"
#include "workload.h"

#define FILTER_PASSES_MAX 1000000

static int filter_plan(const struct tvp_options *o, uint32_t width, uint32_t height,
                       uint32_t channels, struct tvp_grid *g, char *err, size_t errlen)
{
    enum tvp_filter_id ids[TVP_FILTER_LIST_MAX];
    int count = 0;
    int rc = tvp_filter_parse(o->filters, ids, TVP_FILTER_LIST_MAX, &count, err, errlen);
    if (rc)
        return rc;
    if ((uint64_t)count * (uint64_t)o->iterations > FILTER_PASSES_MAX) {
        snprintf(err, errlen, "--iterations: %d filters x %d iterations is more than %d passes",
                 count, o->iterations, FILTER_PASSES_MAX);
        return TVP_EUSAGE;
    }
    memset(g, 0, sizeof *g);
    g->width = width;
    g->height = height;
    g->npasses = count * o->iterations;
    g->channels = calloc((size_t)g->npasses + 1, sizeof *g->channels);
    g->halo = calloc((size_t)g->npasses, sizeof *g->halo);
    g->op = calloc((size_t)g->npasses, sizeof *g->op);
    if (!g->channels || !g->halo || !g->op) {
        tvp_grid_free(g);
        return TVP_ENOMEM;
    }
    uint32_t most = g->channels[0] = channels;
    for (int p = 0; p < g->npasses; p++) {
        enum tvp_filter_id id = ids[p % count];
        g->op[p] = (int)id;
        g->halo[p] = tvp_filter_halo(id);
        g->max_halo = g->halo[p] > g->max_halo ? g->halo[p] : g->max_halo;
        g->channels[p + 1] = tvp_filter_channels_out(id, g->channels[p]);
        if (!g->channels[p + 1]) {
            snprintf(err, errlen, "--filter: %s needs an RGB or RGBA image; at that point it has %u channel%s",
                     tvp_filter_name(id), g->channels[p], g->channels[p] == 1 ? "" : "s");
            tvp_grid_free(g);
            return TVP_EUSAGE;
        }
    }
    g->stride = (size_t)width * most;
    return 0;
}

static void filter_pass(const struct tvp_grid *g, int p, const struct tvp_rows *src,
                        const struct tvp_rows *dst, uint32_t begin, uint32_t end)
{
    tvp_filter_apply((enum tvp_filter_id)g->op[p], g->width, g->height, g->channels[p], src, dst,
                     begin, end);
}

static const struct tvp_stencil_ops filter_ops = {
    .plan = filter_plan,
    .pass = filter_pass,
    .load = tvp_image_read,
    .check_out = tvp_image_check_out,
    .save = tvp_image_write,
    .synth = tvp_image_synth_rows,
};

const struct tvp_workload tvp_workload_filter = {
    .name = "filter",
    .summary = "image filters over blocks of rows, halo rows exchanged every pass",
    .shape = TVP_SHAPE_STENCIL,
    .stencil = &filter_ops,
};
