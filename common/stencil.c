/* Helpers for backends running stencil workloads; see backend.h. */
#include <string.h>

#include "backend.h"

int tvp_stencil_active(const struct tvp_job *job)
{
    const struct tvp_grid *g = job->grid;
    uint32_t most = g->max_halo > 0 ? g->height / (uint32_t)g->max_halo : g->height;
    if (most < 1)
        most = 1;
    return (uint32_t)job->workers < most ? job->workers : (int)most;
}

void tvp_job_fill_rows(const struct tvp_job *job, uint32_t b, uint32_t e, const struct tvp_rows *dst)
{
    const struct tvp_grid *g = job->grid;
    if (b >= e)
        return;
    if (!job->src.items) {
        job->wl->stencil->synth(job->src.seed, g->width, g->height, g->channels[0], b, e,
                                tvp_rows_at(dst, b), dst->stride);
        return;
    }
    size_t bytes = tvp_grid_row_bytes(g, 0);
    for (uint32_t r = b; r < e; r++)
        memcpy(tvp_rows_at(dst, r), (const uint8_t *)job->src.items + (size_t)r * bytes, bytes);
}

struct tvp_checksum tvp_job_rows_checksum(const struct tvp_job *job, const struct tvp_rows *out,
                                          uint32_t b, uint32_t e)
{
    size_t bytes = tvp_grid_row_bytes(job->grid, job->grid->npasses);
    struct tvp_checksum c = TVP_CHECKSUM_EMPTY;
    for (uint32_t r = b; r < e; r++)
        tvp_checksum_add(&c, (uint64_t)b * bytes, tvp_rows_at(out, r), bytes);
    return c;
}
