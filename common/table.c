/* Helpers for backends running table workloads (labelencode): where the parts fall, a
 * worker's steps with their timings and errors, the choice of the error to report, and
 * the merge a root does for its workers.  See backend.h. */
#include <stdlib.h>
#include <string.h>

#include "backend.h"

int tvp_table_parts(const struct tvp_job *job, struct tvp_csv_part *parts)
{
    const struct tvp_lenc_table *t = job->table;
    return tvp_csv_split(job->text, job->text_len, t->data_begin, t->data_line, job->workers,
                         parts);
}

static int failed(const struct tvp_lenc_worker *me, int part, enum tvp_table_step step,
                  struct tvp_table_error *e)
{
    e->err = me->err;
    e->step = step;
    e->part = part;
    memcpy(e->msg, me->msg, sizeof e->msg);
    e->msg[sizeof e->msg - 1] = 0;
    return me->err;
}

int tvp_table_fit(const struct tvp_job *job, struct tvp_lenc_worker *me, int part,
                  struct tvp_table_error *e)
{
    memset(e, 0, sizeof *e);
    e->part = part;
    if (tvp_lenc_worker_parse(job->table, me))
        return failed(me, part, TVP_TABLE_PARSE, e);
    if (tvp_lenc_worker_fit(job->table, me))
        return failed(me, part, TVP_TABLE_FIT, e);
    return 0;
}

int tvp_table_finish(const struct tvp_job *job, struct tvp_lenc_worker *me, const uint32_t *map,
                     int part, struct tvp_table_error *e)
{
    memset(e, 0, sizeof *e);
    e->part = part;
    if (job->table->mode == TVP_LENC_FIT && tvp_lenc_worker_encode(job->table, me, map))
        return failed(me, part, TVP_TABLE_LATER, e);
    if (tvp_lenc_worker_format(job->table, me))
        return failed(me, part, TVP_TABLE_LATER, e);
    return 0;
}

const struct tvp_table_error *tvp_table_error_pick(const struct tvp_table_error *e, size_t n)
{
    const struct tvp_table_error *best = NULL;
    for (size_t i = 0; i < n; i++)
        if (e[i].err && (!best || e[i].step < best->step ||
                         (e[i].step == best->step && e[i].part < best->part)))
            best = &e[i];
    return best;
}

int tvp_table_merge(const struct tvp_job *job, const struct tvp_labels *const *sets,
                    uint32_t *const *maps)
{
    return tvp_table_merge_columns(job, sets, maps, 0, 1);
}

int tvp_table_merge_columns(const struct tvp_job *job, const struct tvp_labels *const *sets,
                            uint32_t *const *maps, size_t first, size_t step)
{
    const struct tvp_lenc_table *t = job->table;
    for (size_t k = first; k < t->nsel; k += step) {
        tvp_labels_free(&job->classes[k]);
        int rc = tvp_lenc_merge_column(t, k, sets, job->workers, &job->classes[k], maps);
        if (rc)
            return rc;
    }
    return 0;
}
