/* The result record: one row per timed run, the same fields in every format. */
#ifndef TVP_RECORD_H
#define TVP_RECORD_H

#include <stdio.h>
#include "tvp.h"

#define TVP_CPUS_MAX 4096

struct tvp_row {
    /* what ran */
    const char *backend, *workload, *input;
    char host[256];
    char timestamp[32]; /* UTC, ISO 8601 */
    uint64_t n, seed, chunk; /* filter: n = pixels, chunk in rows */
    uint32_t width, height, channels; /* filter: the input image; 0 elsewhere */
    const char *filters;              /* filter: the --filter list; NULL elsewhere */
    int iterations;                   /* filter; 0 elsewhere */
    uint32_t columns;    /* labelencode: columns of the table (n = its rows); 0 elsewhere */
    uint64_t fields;     /* labelencode: rows * columns */
    const char *classes; /* labelencode: distinct classes of each encoded column, space
                            separated, in column order */
    const char *schedule, *data, *ipc, *bind;
    int workers;
    char cpus[TVP_CPUS_MAX]; /* PU each worker ran on, space separated, -1 unknown */
    int oversubscribed;
    char transport[128]; /* MPI transport (pml/btl) or "none" */
    int repeat, warmup;
    /* times in seconds (CLOCK_MONOTONIC) */
    double t_init;  /* one-off, not in t_total: MPI_Init, fork of the pool, first region */
    double t_touch; /* one-off, not in t_total: first touch of the buffers */
    double t_startup, t_distribute, t_compute, t_collect, t_total;
    double items_per_s, bytes_per_s; /* n and n*(in+out bytes) over t_total */
    double pixels_per_s;             /* filter: pixels over t_total; 0 elsewhere */
    double rows_per_s, fields_per_s; /* labelencode: over t_total; 0 elsewhere */
    /* labelencode: the steps inside t_compute (the slowest worker's, seconds): reading
     * the records, local sets, the merge (sets to the root, classes merged, maps back),
     * local ids to codes, writing the text */
    double t_parse, t_fit, t_merge, t_encode, t_format;
    uint64_t merge_bytes; /* labelencode: bytes of sets and maps that crossed processes */
    uint64_t bytes_moved;            /* bytes copied between workers in the run */
    uint64_t halo_bytes;             /* filter: halo rows that crossed between processes */
    long peak_rss_kb;                /* summed over every worker process */
    struct tvp_checksum checksum;
    int verified; /* 1 equal to serial, 0 differs, -1 not checked */
    /* fault isolation (schema 4): workers replaced during the run, and the time to notice
     * each loss and to have the lost work done again (seconds, summed over the losses) */
    int recovered;
    double t_detect, t_recovery;
};

/* Writes rows in the format; CSV and JSON lines carry the same fields, text is a table
 * with a summary (median, min, max).  Returns 0 or TVP_ESYS. */
int tvp_record_write(FILE *f, enum tvp_format fmt, const struct tvp_row *rows, int nrows);
/* Same, into path atomically: a temporary file in the same folder, then rename. */
int tvp_record_write_file(const char *path, enum tvp_format fmt, const struct tvp_row *rows,
                          int nrows);
/* One CSV field (quoted where it holds a comma, quote, CR or LF) and one JSON string
 * (escaped as JSON requires), as the records write them; the probes' records too. */
void tvp_record_csv_put(FILE *f, const char *s);
void tvp_record_json_put(FILE *f, const char *s);
/* the CSV header line (no newline), for scripts and tests */
extern const char tvp_record_csv_header[];

#endif
