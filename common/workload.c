/* The workload registry: adding a workload is one file in common/ and one line here. */
#include <string.h>

#include "workload.h"

const struct tvp_workload *const tvp_workloads[] = {
    &tvp_workload_squares,
    NULL,
};

const struct tvp_workload *tvp_workload_find(const char *name)
{
    for (int i = 0; name && tvp_workloads[i]; i++)
        if (strcmp(tvp_workloads[i]->name, name) == 0)
            return tvp_workloads[i];
    return NULL;
}
