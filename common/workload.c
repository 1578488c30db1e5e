/* The workload registry: adding a workload is one file in common/ (defining
 * `const struct tvp_workload tvp_workload_NAME`) and its name in this list. */
#include <stdlib.h>
#include <string.h>

#include "workload.h"

#define TVP_WORKLOAD_LIST(X) X(squares) X(filter) X(labelencode)

#define TVP_WORKLOAD_DECLARE(name) extern const struct tvp_workload tvp_workload_##name;
#define TVP_WORKLOAD_ENTRY(name) &tvp_workload_##name,
TVP_WORKLOAD_LIST(TVP_WORKLOAD_DECLARE)

const struct tvp_workload *const tvp_workloads[] = {TVP_WORKLOAD_LIST(TVP_WORKLOAD_ENTRY) NULL};

void tvp_grid_free(struct tvp_grid *g)
{
    free(g->channels);
    free(g->halo);
    free(g->op);
    g->channels = NULL;
    g->halo = g->op = NULL;
}

const struct tvp_workload *tvp_workload_find(const char *name)
{
    for (int i = 0; name && tvp_workloads[i]; i++)
        if (strcmp(tvp_workloads[i]->name, name) == 0)
            return tvp_workloads[i];
    return NULL;
}
