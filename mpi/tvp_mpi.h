/* What the MPI backend's files share: mpi.c (runtime, map shape, reports), stencil.c
 * (the stencil shape) and table.c (the table shape).  Internal to tvp-mpi; the rules are
 * those described in mpi.c. */
#ifndef TVP_MPI_H
#define TVP_MPI_H

#include <mpi.h>

#include "backend.h"

#ifndef TVP_MPI_MSG_MAX /* bytes in one message; -DTVP_MPI_MSG_MAX=64 exercises the pieces */
#define TVP_MPI_MSG_MAX ((size_t)1 << 30)
#endif

enum mpi_tag { TAG_REQUEST = 1, TAG_ASSIGN, TAG_INPUT, TAG_BLOCK, TAG_HALO, TAG_UP, TAG_DOWN,
               TAG_TABLE };
enum mpi_phase { PHASE_STARTUP, PHASE_DISTRIBUTE, PHASE_COMPUTE, PHASE_COLLECT, PHASE_COUNT };

/* One kind of thing that travels: a datatype and the most of them one message holds. */
struct mpi_lane {
    MPI_Datatype type;
    size_t size;
    uint64_t max_items;
};

/* What each rank reports to the root after a run (gathered as bytes: one ABI). */
struct mpi_report {
    double t[PHASE_COUNT];
    struct tvp_checksum sum; /* local static: checksum of this rank's block */
    uint64_t halo_bytes;     /* stencils: halo bytes this rank sent to its neighbours */
    long rss_kb;
    int pu;
    /* tables: this rank's steps (parse, fit, merge, encode, format) and records */
    double steps[5];
    uint64_t rows;
};

struct mpi_stencil; /* stencil.c */
struct mpi_table;   /* table.c */

struct mpi_state {
    int rank, size;
    int scatter, dynamic;
    int inplace;    /* the root in scatter mode works in job->in/out themselves */
    uint64_t b, e;  /* static: this rank's block (stencil: of rows; empty when it owns none) */
    void *in, *out; /* this rank's own buffers (block or one chunk); NULL when inplace */
    struct mpi_lane lane_in, lane_out, lane_index;
    int collective;       /* static scatter fits MPI_Scatterv/MPI_Gatherv int counts */
    int *counts, *displs; /* root, static scatter: blocks in items (stencil: rows) */
    uint64_t *owed;       /* root, dynamic: the chunk each rank holds */
    MPI_Request *sending; /* worker, dynamic: the result in flight, one per message */
    int nsending;
    struct mpi_report *reports; /* root: one per rank */
    struct tvp_chunk_store kept; /* local dynamic: the output of each chunk this rank did */
    struct mpi_stencil *stencil; /* stencil workloads: the rest of the state */
    struct mpi_table *table;     /* table workloads: the rest of the state */
};

/* Errors: a failed call that only concerns this process, and a failed transfer or
 * collective, after which peers may be stuck, so the backend is marked broken. */
int mpi_local_err(int rc);
int mpi_comm_err(int rc);
int mpi_barrier_wait(void);
int mpi_errors_agree(int err);

/* Sends or receives `items` items of lane l to or from peer as one or more messages of
 * at most l->max_items (always at least one message); posted: NULL to wait, or room for
 * one request per message. */
int mpi_items_move(int send, void *buf, uint64_t items, const struct mpi_lane *l, int peer,
                   int tag, MPI_Request *posted);

/* Frees everything, the stencil and table parts too. */
void mpi_state_close(struct mpi_state *s);
/* start of any shape: the state by open(), agreed on, and the slowest first touch */
int mpi_start_with(struct tvp_job *job, struct tvp_start *st,
                   int (*open)(struct tvp_job *, struct mpi_state *, double *));

/* A static run: for each phase a barrier, then phase() timed into me->t; the PU is taken
 * after the compute phase. */
typedef int (*mpi_phase_fn)(struct tvp_job *job, struct mpi_state *s, enum mpi_phase ph,
                            struct mpi_report *me);
int mpi_phases_run(struct tvp_job *job, struct mpi_state *s, mpi_phase_fn phase,
                   struct mpi_report *me);
/* After a run: every rank's report to the root, which merges them into run (times, PUs,
 * memory, halo bytes, local static pieces) and records `moved`. */
int mpi_run_finish(struct tvp_job *job, struct mpi_state *s, struct mpi_report *me,
                   uint64_t moved, double window, struct tvp_run *run);

/* The stencil hooks (stencil.c) and the part of mpi_state_close that frees its state. */
int mpi_stencil_start(struct tvp_job *job, struct tvp_start *st);
int mpi_stencil_run(struct tvp_job *job, struct tvp_run *run);
int mpi_stencil_stop(struct tvp_job *job);
void mpi_stencil_close(struct mpi_stencil *st);

/* The table hooks (table.c) and the part of mpi_state_close that frees its state. */
int mpi_table_start(struct tvp_job *job, struct tvp_start *st);
int mpi_table_run(struct tvp_job *job, struct tvp_run *run);
int mpi_table_stop(struct tvp_job *job);
void mpi_table_close(struct mpi_table *t);

/* The probe hook (probe.c): tvp-mpi probe spawn|ipc|switch|memory. */
int mpi_probe(const struct tvp_probe_ctx *ctx, const char *name, struct tvp_probe_sink *out);

#endif
