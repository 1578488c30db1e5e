/* Pinning workers to processing units with hwloc.  One topology per process; forked
 * children may keep using their parent's copy. */
#ifndef TVP_PIN_H
#define TVP_PIN_H

#include "tvp.h"

struct tvp_topo;

int tvp_topo_open(struct tvp_topo **out);
void tvp_topo_close(struct tvp_topo *t);
/* Narrows the usable PUs to the process's current binding (taskset, a batch system's
 * affinity), for backends whose workers all live in this process's allocation. */
int tvp_topo_use_binding(struct tvp_topo *t);
int tvp_topo_pus(const struct tvp_topo *t);   /* PUs this process may use */
int tvp_topo_cores(const struct tvp_topo *t); /* cores holding those PUs */
const char *tvp_topo_hwloc_version(void);
/* 1 when PU (OS index) is one this process may use; the allowed set as a list ("0-1"). */
int tvp_topo_has_pu(const struct tvp_topo *t, int pu);
void tvp_topo_allowed_list(const struct tvp_topo *t, char *buf, size_t len);

/* PU (OS index) for each of `workers` workers, or -1 for "not bound" (bind none, or
 * auto when a launcher already bound us).  Fails with TVP_EUSAGE when a list names a PU
 * that does not exist or is not allowed. */
int tvp_pin_plan(const struct tvp_topo *t, enum tvp_bind mode, const int *list, int list_len,
                 int workers, int *pu);
/* Bind the calling thread / the whole calling process to one PU; pu < 0 does nothing. */
int tvp_pin_thread(const struct tvp_topo *t, int pu);
int tvp_pin_process(const struct tvp_topo *t, int pu);
/* The PU the calling thread last ran on, or -1. */
int tvp_pin_last_pu(const struct tvp_topo *t);
/* 1 when this process is already bound to fewer PUs than the machine allows it, as
 * mpirun or srun do; its cpuset as a list ("0-1") goes to buf. */
int tvp_pin_bound_by_launcher(const struct tvp_topo *t, char *buf, size_t len);

#endif
