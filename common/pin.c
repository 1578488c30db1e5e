/* Pinning with hwloc: plan which PU each worker gets, bind, and ask where we ran. */
#include <hwloc.h>
#include <stdlib.h>
#include <string.h>

#include "pin.h"

struct tvp_topo {
    hwloc_topology_t topo;
    hwloc_cpuset_t allowed; /* PUs this process may use */
    int npus, ncores;
};

static void topo_count(struct tvp_topo *t)
{
    t->npus = hwloc_bitmap_weight(t->allowed);
    t->ncores = hwloc_get_nbobjs_inside_cpuset_by_type(t->topo, t->allowed, HWLOC_OBJ_CORE);
    if (t->ncores <= 0)
        t->ncores = t->npus;
}

int tvp_topo_open(struct tvp_topo **out)
{
    struct tvp_topo *t = calloc(1, sizeof *t);
    if (!t)
        return TVP_ENOMEM;
    if (hwloc_topology_init(&t->topo) != 0) {
        free(t);
        return TVP_ESYS;
    }
    if (hwloc_topology_load(t->topo) != 0) {
        hwloc_topology_destroy(t->topo);
        free(t);
        return TVP_ESYS;
    }
    t->allowed = hwloc_bitmap_dup(hwloc_topology_get_allowed_cpuset(t->topo));
    if (!t->allowed) {
        hwloc_topology_destroy(t->topo);
        free(t);
        return TVP_ENOMEM;
    }
    topo_count(t);
    *out = t;
    return 0;
}

int tvp_topo_use_binding(struct tvp_topo *t)
{
    hwloc_bitmap_t s = hwloc_bitmap_alloc();
    if (!s)
        return TVP_ENOMEM;
    if (hwloc_get_cpubind(t->topo, s, HWLOC_CPUBIND_PROCESS) == 0) {
        hwloc_bitmap_and(s, s, t->allowed);
        if (!hwloc_bitmap_iszero(s)) {
            hwloc_bitmap_copy(t->allowed, s);
            topo_count(t);
        }
    }
    hwloc_bitmap_free(s);
    return 0;
}

void tvp_topo_close(struct tvp_topo *t)
{
    if (!t)
        return;
    hwloc_bitmap_free(t->allowed);
    hwloc_topology_destroy(t->topo);
    free(t);
}

int tvp_topo_pus(const struct tvp_topo *t) { return t->npus; }
int tvp_topo_cores(const struct tvp_topo *t) { return t->ncores; }

const char *tvp_topo_hwloc_version(void)
{
    static char buf[32];
    unsigned v = hwloc_get_api_version();
    snprintf(buf, sizeof buf, "%u.%u.%u", v >> 16, (v >> 8) & 0xff, v & 0xff);
    return buf;
}

int tvp_topo_has_pu(const struct tvp_topo *t, int pu)
{
    return pu >= 0 && hwloc_bitmap_isset(t->allowed, (unsigned)pu);
}

void tvp_topo_allowed_list(const struct tvp_topo *t, char *buf, size_t len)
{
    hwloc_bitmap_list_snprintf(buf, len, t->allowed);
}

/* first allowed PU of the i-th allowed core, in topology order */
static int core_first_pu(const struct tvp_topo *t, int i)
{
    hwloc_obj_t core = hwloc_get_obj_inside_cpuset_by_type(t->topo, t->allowed, HWLOC_OBJ_CORE, i);
    if (!core)
        core = hwloc_get_obj_inside_cpuset_by_type(t->topo, t->allowed, HWLOC_OBJ_PU, i);
    if (!core)
        return -1;
    hwloc_bitmap_t s = hwloc_bitmap_dup(core->cpuset);
    if (!s)
        return -1;
    hwloc_bitmap_and(s, s, t->allowed);
    int pu = hwloc_bitmap_first(s);
    hwloc_bitmap_free(s);
    return pu;
}

int tvp_pin_plan(const struct tvp_topo *t, enum tvp_bind mode, const int *list, int list_len,
                 int workers, int *pu)
{
    switch (mode) {
    case TVP_BIND_NONE:
        for (int w = 0; w < workers; w++)
            pu[w] = -1;
        return 0;
    case TVP_BIND_LIST:
        for (int i = 0; i < list_len; i++)
            if (!tvp_topo_has_pu(t, list[i]))
                return TVP_EUSAGE;
        for (int w = 0; w < workers; w++)
            pu[w] = list[w % list_len];
        return 0;
    case TVP_BIND_SCATTER: {
        /* hwloc_distrib spreads workers as far apart as the tree allows: packages, then
         * caches, then cores.  Beyond one per core, wrap around. */
        int slots = workers < t->ncores ? workers : t->ncores;
        hwloc_bitmap_t *sets = calloc((size_t)slots, sizeof *sets); /* hwloc_distrib fills */
        if (!sets)
            return TVP_ENOMEM;
        hwloc_obj_t root = hwloc_get_root_obj(t->topo);
        int until = hwloc_get_type_or_below_depth(t->topo, HWLOC_OBJ_CORE); /* a depth */
        if (hwloc_distrib(t->topo, &root, 1, sets, (unsigned)slots, until, 0) != 0)
            goto fail;
        for (int w = 0; w < workers; w++) {
            hwloc_bitmap_and(sets[w % slots], sets[w % slots], t->allowed);
            pu[w] = hwloc_bitmap_first(sets[w % slots]);
            if (pu[w] < 0) /* the process may use only part of the machine */
                pu[w] = core_first_pu(t, w % t->ncores);
        }
        for (int i = 0; i < slots; i++)
            hwloc_bitmap_free(sets[i]);
        free(sets);
        return 0;
    fail:
        for (int i = 0; i < slots; i++)
            hwloc_bitmap_free(sets[i]);
        free(sets);
        return TVP_ENOMEM;
    }
    case TVP_BIND_AUTO:
    case TVP_BIND_CORE:
    default:
        /* compact: worker w on core w, wrapping when there are more workers than cores */
        for (int w = 0; w < workers; w++)
            pu[w] = core_first_pu(t, w % t->ncores);
        return 0;
    }
}

static int pin_set(const struct tvp_topo *t, int pu, int flags)
{
    if (pu < 0)
        return 0;
    hwloc_bitmap_t s = hwloc_bitmap_alloc();
    if (!s)
        return TVP_ENOMEM;
    hwloc_bitmap_only(s, (unsigned)pu);
    int r = hwloc_set_cpubind(t->topo, s, flags);
    hwloc_bitmap_free(s);
    return r == 0 ? 0 : TVP_ESYS;
}

int tvp_pin_thread(const struct tvp_topo *t, int pu) { return pin_set(t, pu, HWLOC_CPUBIND_THREAD); }
int tvp_pin_process(const struct tvp_topo *t, int pu) { return pin_set(t, pu, HWLOC_CPUBIND_PROCESS); }

int tvp_pin_last_pu(const struct tvp_topo *t)
{
    hwloc_bitmap_t s = hwloc_bitmap_alloc();
    if (!s)
        return -1;
    int pu = hwloc_get_last_cpu_location(t->topo, s, HWLOC_CPUBIND_THREAD) == 0
                 ? hwloc_bitmap_first(s)
                 : -1;
    hwloc_bitmap_free(s);
    return pu;
}

int tvp_pin_bound_by_launcher(const struct tvp_topo *t, char *buf, size_t len)
{
    hwloc_bitmap_t s = hwloc_bitmap_alloc();
    if (!s)
        return 0;
    int bound = 0;
    if (hwloc_get_cpubind(t->topo, s, HWLOC_CPUBIND_PROCESS) == 0) {
        hwloc_bitmap_and(s, s, t->allowed);
        bound = hwloc_bitmap_weight(s) > 0 && !hwloc_bitmap_isequal(s, t->allowed);
        if (buf && len)
            hwloc_bitmap_list_snprintf(buf, len, s);
    } else if (buf && len) {
        buf[0] = 0;
    }
    hwloc_bitmap_free(s);
    return bound;
}
