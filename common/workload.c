/* The workload registry: adding a workload is one file in common/ (defining
 * `const struct tvp_workload tvp_workload_NAME`) and its name in this list. */
#include <string.h>

#include "workload.h"

#define TVP_WORKLOAD_LIST(X) X(squares)

#define TVP_WORKLOAD_DECLARE(name) extern const struct tvp_workload tvp_workload_##name;
#define TVP_WORKLOAD_ENTRY(name) &tvp_workload_##name,
TVP_WORKLOAD_LIST(TVP_WORKLOAD_DECLARE)

const struct tvp_workload *const tvp_workloads[] = {TVP_WORKLOAD_LIST(TVP_WORKLOAD_ENTRY) NULL};

const struct tvp_workload *tvp_workload_find(const char *name)
{
    for (int i = 0; name && tvp_workloads[i]; i++)
        if (strcmp(tvp_workloads[i]->name, name) == 0)
            return tvp_workloads[i];
    return NULL;
}
