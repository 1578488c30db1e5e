/* The labelencode workload: scikit-learn's LabelEncoder on the columns of a CSV table.
 * The engine is common/lenc.c (the table, each worker's steps, the merge) and
 * common/lenc_gen.c (the generated table); the driver and backends run it as a table. */
#include "workload.h"

const struct tvp_workload tvp_workload_labelencode = {
    .name = "labelencode",
    .summary = "scikit-learn's LabelEncoder over CSV columns (local sets, merge, encode)",
    .shape = TVP_SHAPE_TABLE,
};
