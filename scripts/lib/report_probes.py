"""The probes section of scripts/report.py: what separates processes from threads, measured.

Standard library only.  probes.csv (written by scripts/lib/probes.sh) holds the probe record
of `tvp-BACKEND probe spawn|ipc|switch|memory --format csv` (README, "Probes"): one header,
then one row per measured thing, read by name (backend, probe, what, workers, placement,
size_bytes, outer, inner, median_us, min_us, max_us, bandwidth_MBps, rss_kb, pss_kb, notes).
Threads are tvp-openmp; processes tvp-posix (fork) and tvp-mpi (MPI ranks).

Selection rules, so that the same probes.csv gives the same section, byte for byte:
  - a row is identified by backend, probe, what, workers, placement and size_bytes; when
    one appears twice (probes run twice into one file) the later row counts;
  - backends in the order openmp, posix, mpi, then others alphabetically; within a backend,
    rows in the order of their first appearance;
  - ipc: the "8 B" latency is the round trip at 8 bytes (the smallest size when 8 was not
    measured); the bandwidth is the one at the mechanism's largest size;
  - times are the rows' medians (µs per construct; EPCC: a reference loop subtracted).
"""

from report_stats import BACKEND_ORDER, inum, num, order_key
from report_stats import read_csv as read_record
from report_text import DASH, fmt_ratio, fmt_time, md_table

PROBE_ORDER = ("spawn", "ipc", "switch", "memory")
MODEL = {"openmp": "threads", "posix": "processes", "mpi": "processes"}
BACKEND_TEXT = {"openmp": "tvp-openmp", "posix": "tvp-posix (fork)",
                "mpi": "tvp-mpi (MPI ranks)"}
STAGE_ORDER = ("after read", "after write", "after touch")
STAGE_TEXT = {
    "after read": "after read (every worker read the input)",
    "after write": "after write (each worker wrote its private output)",
    "after touch": "after touch (each worker wrote into the input)",
    "after bcast": "after bcast (rank 0 made the input, MPI_Bcast into every rank)",
}
# how each backend holds the memory probe's input
HOLDS = {
    "openmp": "openmp: one copy, shared by the threads",
    "posix": "posix: made by the parent before fork(), shared copy-on-write (a page that a "
             "child writes is copied for it)",
    "mpi": "mpi: every rank makes its own copy (after bcast: rank 0 makes it and broadcasts "
           "it)",
}
# MPI_Init rows, the preferred first: the transports of scripts/tvp compare, then others
MPI_INIT_ORDER = ("MPI_Init (ob1+vader)", "MPI_Init (default)", "MPI_Init (this launch)")
PROBE_BACKENDS = ("openmp", "posix", "mpi")  # the backends probes.sh runs

# ---- reading ----------------------------------------------------------------------------


class Row:
    """One row of probes.csv, its numbers parsed (None when empty)."""

    def __init__(self, d):
        self.backend = d.get("backend", "")
        self.probe = d.get("probe", "")
        self.what = d.get("what", "")
        self.workers = inum(d.get("workers"))
        self.placement = d.get("placement", "") or "-"
        self.size = inum(d.get("size_bytes"))
        self.outer = inum(d.get("outer"))
        self.inner = inum(d.get("inner"))
        self.median = num(d.get("median_us"))
        self.mean = num(d.get("mean_us"))
        self.min = num(d.get("min_us"))
        self.max = num(d.get("max_us"))
        self.mbps = num(d.get("bandwidth_MBps"))
        self.rss = inum(d.get("rss_kb"))
        self.pss = inum(d.get("pss_kb"))
        self.notes = d.get("notes", "")
        self.schema = d.get("schema", "")

    @property
    def key(self):
        return (self.backend, self.probe, self.what, self.workers, self.placement, self.size)

    @property
    def model(self):
        return MODEL.get(self.backend, "other")

    @property
    def seconds(self):
        return None if self.median is None else self.median * 1e-6


def read_csv(path):
    """The rows of probes.csv as dicts of stripped strings (columns by name): those with a
    backend and a probe."""
    return read_record(path, keep=lambda row: row.get("backend") and row.get("probe"))


def backend_key(b):
    return order_key(b, PROBE_BACKENDS + tuple(x for x in BACKEND_ORDER
                                               if x not in PROBE_BACKENDS))


class Probes:
    """The rows of a probes.csv, deduplicated and ordered (see the module's rules)."""

    def __init__(self, dicts):
        pos, rows = {}, []
        for d in dicts:
            r = Row(d)
            if r.key in pos:
                rows[pos[r.key]] = r  # the later row counts, at the first one's place
            else:
                pos[r.key] = len(rows)
                rows.append(r)
        # stable: backend order, then file order
        self.rows = sorted(rows, key=lambda r: backend_key(r.backend))
        self.nraw = len(dicts)

    def __bool__(self):
        return bool(self.rows)

    def select(self, probe, backend=None, model=None, what=None):
        return [r for r in self.rows if r.probe == probe and
                (backend is None or r.backend == backend) and
                (model is None or r.model == model) and (what is None or r.what == what)]

    def backends(self, probe=None):
        out = []
        for r in self.rows:
            if (probe is None or r.probe == probe) and r.backend not in out:
                out.append(r.backend)
        return out

    def first(self, probe, backend, what=None, pred=None):
        for r in self.select(probe, backend=backend, what=what):
            if pred is None or pred(r):
                return r
        return None

    @staticmethod
    def model_of(backend):
        return MODEL.get(backend, "other")

    # ---- ipc ----

    def mechanisms(self):
        """[(backend, what, placement)] of the ipc rows: threads first, then processes."""
        out = []
        for r in sorted(self.select("ipc"), key=lambda r: order_key(r.model, ("threads",
                                                                               "processes"))):
            m = (r.backend, r.what, r.placement)
            if m not in out:
                out.append(m)
        return out

    def series(self, mech):
        """The ipc rows of a mechanism, by size."""
        rs = [r for r in self.select("ipc", backend=mech[0], what=mech[1])
              if r.placement == mech[2] and r.size is not None]
        return sorted(rs, key=lambda r: r.size)

    def latency_row(self, mech, size=8):
        """The row at size bytes, else the smallest size's; None without rows."""
        rs = [r for r in self.series(mech) if r.median is not None]
        exact = [r for r in rs if r.size == size]
        return exact[0] if exact else (rs[0] if rs else None)

    def largest_row(self, mech):
        rs = [r for r in self.series(mech) if r.mbps is not None]
        return rs[-1] if rs else None

    # ---- memory ----

    def stages(self, backend):
        """{stage: {part: row}} of a backend's memory rows ("after read: total" is stage
        "after read", part "total"), and the stages in order (known ones first)."""
        out = {}
        for r in self.select("memory", backend=backend):
            stage, _, part = r.what.partition(":")
            out.setdefault(stage.strip(), {})[part.strip() or "total"] = r
        order = sorted(out, key=lambda s: order_key(s, STAGE_ORDER))
        return out, order


# ---- formatting -------------------------------------------------------------------------


def fmt_us(us):
    """µs as a bare number, 3 significant figures (thousands separated)."""
    if us is None:
        return DASH
    if abs(us) >= 1000:
        return "{:,.0f}".format(us)
    if abs(us) >= 100:
        return "%.0f" % us
    if abs(us) >= 10:
        return "%.1f" % us
    if abs(us) >= 0.01 or us == 0:
        return "%.2f" % us
    return "%.2g" % us


def fmt_mbps(v):
    """MB/s (10^6 bytes/s) as a bare number."""
    return fmt_us(v)


def fmt_size(b):
    """A message size: binary units when exact (8 B, 1 KiB, 16 MiB), else bytes."""
    if b is None:
        return DASH
    for shift, unit in ((30, "GiB"), (20, "MiB"), (10, "KiB")):
        if b >= (1 << shift) and b % (1 << shift) == 0:
            return "%d %s" % (b >> shift, unit)
    return "{:,} B".format(b)


def fmt_mib(kb):
    return DASH if kb is None else "%.1f" % (kb / 1024)


def fmt_rel(p, t, whose="threads'"):
    """processes' time against threads': "1.22× threads'", "2.02× faster than threads'"
    (whose: "threads' best" where threads have several mechanisms)."""
    if p is None or t is None or p <= 0 or t <= 0:
        return DASH
    if p >= t:
        return "%s %s" % (fmt_ratio(p / t), whose)
    return "%s faster than %s" % (fmt_ratio(t / p), whose)


def ratio(a, b):
    """a / b as report.md writes ratios (1.23×); a dash unless both are positive."""
    if a is None or b is None or a <= 0 or b <= 0:
        return DASH
    return fmt_ratio(a / b)


def label(r, with_backend=False):
    """A row's name in the tables: what, the memory a fork copied, steady state."""
    txt = r.what
    if r.probe == "spawn" and r.backend == "posix" and r.size is not None:
        txt += ", parent holds %s" % (fmt_size(r.size) if r.size else "nothing touched")
    if r.probe == "spawn" and r.notes.startswith("steady state"):
        txt += " (steady state)"
    if r.probe in ("ipc", "switch") and r.placement not in ("", "-") and \
            r.placement not in txt:
        txt += ", " + r.placement
    return ("%s: %s" % (r.backend, txt)) if with_backend else txt


def _span(r):
    if r.min is None or r.max is None:
        return DASH
    return "%s – %s" % (fmt_time(r.min * 1e-6), fmt_time(r.max * 1e-6))


def side_by_side(left_head, left, right_head, right):
    """One markdown table: the threads' rows on the left, the processes' on the right,
    zipped (the shorter side padded with empty cells)."""
    n = max(len(left), len(right))
    lw, rw = len(left_head), len(right_head)
    rows = []
    for i in range(n):
        rows.append((left[i] if i < len(left) else [""] * lw) +
                    (right[i] if i < len(right) else [""] * rw))
    return md_table(left_head + right_head, rows)


def _timed(rows, with_backend):
    return [[label(r, with_backend), fmt_time(r.seconds), _span(r)] for r in rows]


def _lists(sentences):
    return ["- " + s for s in sentences if s]


# ---- the readings: one measured sentence each ---------------------------------------------


def _fork_rows(p):
    forks = [r for r in p.select("spawn", backend="posix")
             if r.what.startswith("fork") and r.median is not None]
    bare = [r for r in forks if not r.size]
    touched = [r for r in forks if r.size]
    return (bare[0] if bare else None), (max(touched, key=lambda r: r.size)
                                         if touched else None)


def spawn_readings(p):
    out = []
    bare, touched = _fork_rows(p)
    bound = p.first("spawn", "openmp", "first region (bound)",
                    lambda r: r.median is not None)
    unbound = p.first("spawn", "openmp", "first region (unbound)",
                      lambda r: r.median is not None)
    empty = p.first("spawn", "openmp", "empty region", lambda r: r.median is not None)
    barrier = p.first("spawn", "openmp", "barrier", lambda r: r.median is not None)
    if bare and (bound or unbound):
        t = bound or unbound
        s = ("creating %d processes (fork + _exit + waitpid) costs %s, %d threads %s (the "
             "first parallel region of a fresh process, %s): %s" %
             (bare.workers, fmt_time(bare.seconds), t.workers, fmt_time(t.seconds),
              "bound" if t is bound else "unbound", ratio(bare.median, t.median)))
        if bound and unbound:
            s += "; unbound, the first region takes %s" % fmt_time(unbound.seconds)
        out.append(s[0].upper() + s[1:] + ".")
    elif bare:
        out.append("Creating %d processes (fork + _exit + waitpid) costs %s." %
                   (bare.workers, fmt_time(bare.seconds)))
    if bare and touched:
        out.append("With the parent holding %s of touched memory, the same fork costs %s, "
                   "%s the bare fork (the page tables are copied)." %
                   (fmt_size(touched.size), fmt_time(touched.seconds),
                    ratio(touched.median, bare.median)))
    if empty:
        if empty.median > 0:
            s = ("Threads, once created, are reused: in the steady state an empty parallel "
                 "region costs %s" % fmt_time(empty.seconds))
        else:  # EPCC: the construct minus the reference loop, which may come out below 0
            s = ("Threads, once created, are reused: in the steady state an empty parallel "
                 "region costs no more than the empty reference loop (%s)" %
                 fmt_time(empty.seconds))
        if barrier:
            s += " and a barrier %s" % fmt_time(barrier.seconds)
        if bare and empty.median > 0:
            s += ", %s cheaper than creating the processes" % ratio(bare.median,
                                                                     empty.median)
        out.append(s + ".")
    init = [r for r in p.select("spawn", backend="mpi")
            if r.what.startswith("MPI_Init") and r.median is not None]
    if init:
        r = min(init, key=lambda r: order_key(r.what, MPI_INIT_ORDER))
        how = _inner(r.what)
        s = "Starting %d MPI ranks: MPI_Init costs %s (%s)" % (r.workers, fmt_time(r.seconds),
                                                               how)
        if bare and r.median > 0:
            s += ", %s the fork of %d processes" % (ratio(r.median, bare.median),
                                                    bare.workers)
        launch = p.first("spawn", "mpi", "mpirun tvp-mpi (%s)" % how,
                         lambda x: x.median is not None)
        alone = p.first("spawn", "mpi", "mpirun true", lambda x: x.median is not None)
        if launch:
            s += "; a whole launch (`mpirun tvp-mpi`, %s) takes %s" % (how,
                                                                       fmt_time(launch.seconds))
            if alone:
                s += ", mpirun alone (`mpirun true`) %s" % fmt_time(alone.seconds)
        out.append(s + ".")
    return out


def _mech_name(m):
    return "%s %s" % (m[0], m[1])


def ipc_readings(p):
    out = []
    mechs = p.mechanisms()
    th = [m for m in mechs if MODEL.get(m[0]) == "threads"]
    pr = [m for m in mechs if MODEL.get(m[0]) == "processes"]
    lat = {m: p.latency_row(m) for m in mechs}
    big = {m: p.largest_row(m) for m in mechs}
    th_l = [m for m in th if lat[m] is not None]
    pr_l = [m for m in pr if lat[m] is not None]
    if th_l or pr_l:
        sizes = sorted({lat[m].size for m in th_l + pr_l})
        at = fmt_size(sizes[0]) if len(sizes) == 1 else "the smallest size"
        best = min(th_l, key=lambda m: lat[m].median) if th_l else None
        whose = "threads' best" if len(th_l) > 1 else "threads'"
        parts = []
        if th_l:
            parts.append("threads " + ", ".join("%s (%s)" % (fmt_time(lat[m].seconds), m[1])
                                                for m in th_l))
        if pr_l:
            parts.append("processes " + ", ".join(
                "%s (%s%s)" % (fmt_time(lat[m].seconds), _mech_name(m),
                               ", %s" % fmt_rel(lat[m].median, lat[best].median, whose)
                               if best else "")
                for m in pr_l))
        out.append("The round trip at %s: %s." % (at, "; ".join(parts)))
    th_b = [m for m in th if big[m] is not None]
    pr_b = [m for m in pr if big[m] is not None]
    if th_b or pr_b:
        sizes = sorted({big[m].size for m in th_b + pr_b})
        one = len(sizes) == 1
        best = max(th_b, key=lambda m: big[m].mbps) if th_b else None
        whose = "threads' best" if len(th_b) > 1 else "threads'"

        def at(m):
            return "" if one else " at %s" % fmt_size(big[m].size)
        parts = []
        if th_b:
            parts.append("threads " + ", ".join("%s MB/s (%s%s)" % (fmt_mbps(big[m].mbps),
                                                                    m[1], at(m))
                                                for m in th_b))
        if pr_b:
            parts.append("processes " + ", ".join(
                "%s MB/s (%s%s%s)" % (
                    fmt_mbps(big[m].mbps), _mech_name(m), at(m),
                    ", %.0f %% of %s" % (100 * big[m].mbps / big[best].mbps, whose)
                    if best and big[best].mbps > 0 else "")
                for m in pr_b))
        out.append("%s: %s." % ("At %s" % fmt_size(sizes[0]) if one else
                                "At each mechanism's largest size", "; ".join(parts)))
    return out


def _switch_rows(p, backend, what_prefix, placement):
    return [r for r in p.select("switch", backend=backend)
            if r.what.startswith(what_prefix) and r.placement == placement and
            r.median is not None]


def switch_readings(p):
    out = []
    # one core: the "context switch (...)" rows (a blocking round trip / 2)
    th = [r for b in p.backends("switch") if MODEL.get(b) == "threads"
          for r in _switch_rows(p, b, "context switch", "same-core")]
    pr = [r for b in p.backends("switch") if MODEL.get(b) == "processes"
          for r in _switch_rows(p, b, "context switch", "same-core")]
    if th or pr:
        t = min(th, key=lambda r: r.median) if th else None
        whose = "threads' best" if len(th) > 1 else "threads'"
        parts = []
        if th:
            parts.append("threads " + ", ".join("%s (%s)" % (fmt_time(r.seconds),
                                                             _inner(r.what)) for r in th))
        if pr:
            parts.append("processes " + ", ".join(
                "%s (%s %s%s)" % (fmt_time(r.seconds), r.backend, _inner(r.what),
                                  ", %s" % fmt_rel(r.median, t.median, whose) if t else "")
                for r in pr))
        out.append("A context switch on one core (a blocking round trip there, halved): "
                   "%s." % "; ".join(parts))
    th = [r for b in p.backends("switch") if MODEL.get(b) == "threads"
          for r in p.select("switch", backend=b)
          if r.placement == "different-cores" and r.median is not None]
    pr = [r for b in p.backends("switch") if MODEL.get(b) == "processes"
          for r in p.select("switch", backend=b)
          if r.placement == "different-cores" and r.median is not None]
    if th or pr:
        t = min(th, key=lambda r: r.median) if th else None
        whose = "threads' best" if len(th) > 1 else "threads'"
        parts = []
        if th:
            parts.append("threads " + ", ".join("%s (%s)" % (fmt_time(r.seconds), r.what)
                                                for r in th))
        if pr:
            parts.append("processes " + ", ".join(
                "%s (%s %s%s)" % (fmt_time(r.seconds), r.backend, r.what,
                                  ", %s" % fmt_rel(r.median, t.median, whose) if t else "")
                for r in pr))
        out.append("A blocking round trip between two cores (a wake-up each way): %s." %
                   "; ".join(parts))
    return out


def _inner(what):
    """"context switch (futex)" -> "futex"."""
    if "(" in what and what.endswith(")"):
        return what[what.index("(") + 1:-1]
    return what


def _total(p, backend, stage):
    st, _ = p.stages(backend)
    return st.get(stage, {}).get("total")


def memory_readings(p):
    out = []
    th = [b for b in p.backends("memory") if MODEL.get(b) == "threads"]
    pr = [b for b in p.backends("memory") if MODEL.get(b) == "processes"]
    if not th and not pr:
        return out
    rows = p.select("memory")
    sizes = sorted({r.size for r in rows if r.size})
    ws = sorted({r.workers for r in rows if r.workers})
    what = "%s input and %s" % (fmt_size(sizes[0]) if len(sizes) == 1 else "the input",
                                ("%d workers" % ws[0]) if len(ws) == 1 else "the workers")
    t = th[0] if th else None
    clauses = []
    for stage, after in (("after write", "once every worker has written its output"),
                         ("after touch", "once they have written into the input")):
        tt = _total(p, t, stage) if t else None
        tt = tt if tt is not None and tt.pss is not None else None
        ps = [(b, _total(p, b, stage)) for b in pr]
        ps = [(b, r) for b, r in ps if r is not None and r.pss is not None]
        if tt is None and not ps:
            continue
        parts = ["threads %s MiB" % fmt_mib(tt.pss)] if tt else []
        for b, r in ps:
            rel = " (%s)" % ratio(r.pss, tt.pss) if tt and tt.pss else ""
            parts.append("processes (%s) %s MiB%s" % (b, fmt_mib(r.pss), rel))
        clauses.append("%s: %s" % (after, ", ".join(parts)))
    if clauses:
        out.append("With a %s, the PSS total %s." % (what, "; ".join(clauses)))
    # copy-on-write: what writing into the input added
    grow = []
    for b in (th + pr):
        a, z = _total(p, b, "after write"), _total(p, b, "after touch")
        if a is not None and z is not None and a.pss is not None and z.pss is not None:
            grow.append("%s %s%s MiB" % (MODEL.get(b, b) + (" (%s)" % b if MODEL.get(b) ==
                                                           "processes" else ""),
                                         "+" if z.pss >= a.pss else "", fmt_mib(z.pss - a.pss)))
    if grow:
        out.append("Writing into the shared input (copy-on-write) added to the PSS total: "
                   "%s." % ", ".join(grow))
    for b in pr:
        r = _total(p, b, "after read")
        if r is not None and r.rss and r.pss:
            out.append("RSS counts a shared page in every process that maps it: after the "
                       "read the processes' (%s) RSS total is %s MiB, their PSS %s MiB "
                       "(%s)." % (b, fmt_mib(r.rss), fmt_mib(r.pss), ratio(r.rss, r.pss)))
            break
    return out


# ---- the section ------------------------------------------------------------------------

TITLE = "What separates processes from threads (probes)"


def _split(rows):
    th = [r for r in rows if r.model == "threads"]
    pr = [r for r in rows if r.model == "processes"]
    return th, pr


def spawn_table(p):
    th, pr = _split(p.select("spawn"))
    if not th and not pr:
        return []
    many = len({r.backend for r in pr}) > 1
    return side_by_side(["threads (tvp-openmp)", "median", "min – max"], _timed(th, False),
                        ["processes" if many else "processes (tvp-%s)" % (
                            pr[0].backend if pr else "posix"), "median", "min – max"],
                        _timed(pr, many))


def switch_table(p):
    """Rows: the round trip and the switch on one core, the round trip across cores (and
    any other placement); columns: each backend's mechanisms, threads first."""
    rows = p.select("switch")
    if not rows:
        return []
    cols, kinds, cell = [], [], {}
    for r in sorted(rows, key=lambda r: order_key(r.model, ("threads", "processes"))):
        col = (r.backend, _inner(r.what))
        kind = ("context switch" if r.what.startswith("context switch") else "round trip",
                r.placement)
        if col not in cols:
            cols.append(col)
        if kind not in kinds:
            kinds.append(kind)
        cell[(kind, col)] = r
    place_order = ("same-core", "different-cores")
    kinds.sort(key=lambda k: (order_key(k[1], place_order), k[0] != "round trip"))
    head = [""] + ["%s (%s) %s" % (MODEL.get(b, b), b, m) for b, m in cols]
    out = []
    for kind in kinds:
        what, place = kind
        name = {"same-core": "one core", "different-cores": "two cores"}.get(place, place)
        name = ("context switch, %s (round trip / 2)" % name if what == "context switch"
                else "round trip, %s" % name)
        out.append([name] + [fmt_time(cell[(kind, c)].seconds) if (kind, c) in cell else DASH
                             for c in cols])
    return md_table(head, out)


def ipc_summary_table(p):
    mechs = p.mechanisms()
    if not mechs:
        return []

    def cells(m):
        lat, big = p.latency_row(m), p.largest_row(m)
        return ["%s (%s)" % (_mech_name(m), m[2]),
                fmt_time(lat.seconds) + ("" if lat.size == 8 else " (%s)" % fmt_size(lat.size))
                if lat else DASH,
                ("%s MB/s (%s)" % (fmt_mbps(big.mbps), fmt_size(big.size))) if big else DASH]
    th = [cells(m) for m in mechs if MODEL.get(m[0]) == "threads"]
    pr = [cells(m) for m in mechs if MODEL.get(m[0]) == "processes"]
    return side_by_side(["threads: mechanism", "8 B round trip", "largest size"], th,
                        ["processes: mechanism", "8 B round trip", "largest size"], pr)


def osu_table(p):
    """size, then per mechanism the round trip (µs) and MB/s; threads first."""
    mechs = p.mechanisms()
    if not mechs:
        return []
    sizes = sorted({r.size for m in mechs for r in p.series(m)})
    by = {m: {r.size: r for r in p.series(m)} for m in mechs}
    head = ["size"]
    for m in mechs:
        head += ["%s µs" % _mech_name(m), "MB/s"]
    rows = []
    for s in sizes:
        row = [fmt_size(s)]
        for m in mechs:
            r = by[m].get(s)
            row += [fmt_us(r.median) if r else DASH, fmt_mbps(r.mbps) if r else DASH]
        rows.append(row)
    return md_table(head, rows)


def memory_table(p):
    th = [b for b in p.backends("memory") if MODEL.get(b) == "threads"]
    pr = [b for b in p.backends("memory") if MODEL.get(b) == "processes"]
    bes = th + pr
    if not bes:
        return []
    stages = []
    for b in bes:
        for s in p.stages(b)[1]:
            if s not in stages:
                stages.append(s)
    stages.sort(key=lambda s: order_key(s, STAGE_ORDER))
    head = ["stage"]
    for b in bes:
        who = "%s (%s)" % (MODEL.get(b, b), b)
        head += ["%s: total RSS / PSS" % who, "per worker RSS / PSS"]
    rows = []
    for s in stages:
        row = [STAGE_TEXT.get(s, s)]
        for b in bes:
            parts = p.stages(b)[0].get(s, {})
            for part in ("total", "per worker"):
                r = parts.get(part)
                row.append("%s / %s" % (fmt_mib(r.rss), fmt_mib(r.pss)) if r else DASH)
        rows.append(row)
    return md_table(head, rows)


def section(p, plots=None, plot_note=None, source=None):
    """The section's lines (markdown).  plots: [(caption, basename)] of the probe plots;
    plot_note: why there are none; source: (rows, sha256 prefix) of probes.csv."""
    L = ["## " + TITLE, ""]
    ws = sorted({r.workers for r in p.rows if r.workers})
    bes = p.backends()
    missing = [b for b in PROBE_BACKENDS if b not in bes]
    procs = " and ".join(BACKEND_TEXT.get(b, "tvp-" + b) for b in bes
                         if MODEL.get(b) == "processes")
    L.append("Each backend's own mechanism, measured by `tvp-BACKEND probe` "
             "(scripts/lib/probes.sh)%s: threads are %s, processes %s.  Times are medians "
             "of the outer repetitions, per construct, a reference loop subtracted (the "
             "EPCC method); memory is RSS and PSS from /proc/PID/smaps_rollup, in MiB.%s" % (
                 (", " + ("%d workers" % ws[0] if len(ws) == 1 else
                          "%s workers" % "/".join(str(w) for w in ws))) if ws else "",
                 "tvp-openmp" if "openmp" in bes else "not measured (no tvp-openmp rows)",
                 procs or "not measured",
                 "  No rows from %s (see probes.log)." % ", ".join("tvp-" + b for b in missing)
                 if missing else ""))
    L.append("")
    readings = spawn_readings(p) + ipc_readings(p) + switch_readings(p) + memory_readings(p)
    if readings:
        L += _lists(readings)
        L.append("")
    parts = [("Start-up: creating workers", spawn_table(p),
              "posix: fork + _exit + waitpid of every worker per construct, bare and with the "
              "parent holding touched memory; openmp: the first parallel region of a fresh "
              "process (the threads are created), bound and unbound, then the steady-state "
              "empty region and barrier."),
             ("IPC: moving bytes between two workers", ipc_summary_table(p),
              "Round trip at 8 bytes, and the bandwidth (MB/s = 10^6 bytes/s) at the largest "
              "size, per mechanism."),
             (None, osu_table(p),
              "OSU-style, per size: the round trip in µs (median) and MB/s per mechanism."),
             ("Context switch", switch_table(p),
              "A blocking ping-pong between two workers (medians): on one PU, where a round "
              "trip is two context switches, and between two cores, where each way wakes "
              "the other core." + (
                  "  mpi: MPI+yield waits with MPI_Test and sched_yield(); MPI_Send/Recv as "
                  "the runtime waits (Open MPI polls while it waits unless mpi_yield_when_idle "
                  "is set: polling, a round trip on one PU takes scheduler time slices, and "
                  "across cores nothing has to wake up)." if p.select("switch", backend="mpi") else "")),
             ("Memory", memory_table(p),
              "Total (all processes) and per worker (total / workers), RSS / PSS in MiB.  "
              "RSS counts a shared page in every process; PSS divides it among them.  The "
              "input: %s." % "; ".join(HOLDS.get(b, b) for b in p.backends("memory")))]
    for title, table, intro in parts:
        if not table:
            continue
        if title:
            L.append("### " + title)
            L.append("")
        L.append(intro)
        L.append("")
        L += table
        L.append("")
        if title is None and (plots or plot_note):  # after the OSU table: its plot
            if plot_note:
                L.append(plot_note)
            for caption, base in plots or []:
                L.append("- %s: [SVG](plots/%s.svg), [PNG](plots/%s.png)" %
                         (caption, base, base))
            L.append("")
    if source:
        L.append("*From probes.csv (%d rows, sha256 %s).*" % source)
        L.append("")
    return L
