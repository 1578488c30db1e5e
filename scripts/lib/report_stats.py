"""The numbers of scripts/report.py: statistics, and the results of a sweep as configurations.

Standard library only.  A sweep's results.csv holds one row per timed run; its columns are
`status,config,scaling,size` and then tvp's record (README, "The record"), read by name so
that extra or missing columns do no harm.  Rows with the same `config` key form one
configuration; configurations of one workload that differ only in the backend variant and
the worker count form a scenario (scaling, size, data), the unit of every comparison.
"""

import csv
import math

# ---- statistics -------------------------------------------------------------------------


def _values(xs):
    return sorted(x for x in xs if x is not None)


def median(xs):
    """The middle value; the mean of the two middle values for an even count; None if empty."""
    v = _values(xs)
    if not v:
        return None
    m = len(v) // 2
    return v[m] if len(v) % 2 else (v[m - 1] + v[m]) / 2


def quantile(xs, q):
    """Quantile q (0..1) by linear interpolation between order statistics: position
    (n - 1) * q counted from 0, as numpy's default (Hyndman and Fan's type 7)."""
    v = _values(xs)
    if not v:
        return None
    pos = (len(v) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


def iqr(xs):
    """Interquartile range Q3 - Q1 (quantile above)."""
    q1, q3 = quantile(xs, 0.25), quantile(xs, 0.75)
    return None if q1 is None else q3 - q1


def mad(xs):
    """Median absolute deviation from the median, unscaled."""
    m = median(xs)
    if m is None:
        return None
    return median([abs(x - m) for x in _values(xs)])


def speedup(t_serial, t_parallel):
    """S = serial time / parallel time; None when either is unknown or not positive."""
    if t_serial is None or t_parallel is None or t_serial <= 0 or t_parallel <= 0:
        return None
    return t_serial / t_parallel


def efficiency(s, p):
    """E = S / p."""
    if s is None or not p:
        return None
    return s / p


def karp_flatt(s, p):
    """The experimentally determined serial fraction e = (1/S - 1/p) / (1 - 1/p), p > 1."""
    if s is None or s <= 0 or p is None or p <= 1:
        return None
    return (1 / s - 1 / p) / (1 - 1 / p)


def break_even(points):
    """points: (size, speedup) pairs.  Returns (size, kind): the smallest measured size from
    which the speedup is above 1 at that and every larger measured size.  kind is 'all'
    (above 1 at every size: the break-even lies at or below the smallest), 'from' (the
    size returned), 'never' (not above 1 at the largest size) or 'none' (no points)."""
    pts = sorted((n, s) for n, s in points if n is not None and s is not None)
    if not pts:
        return None, "none"
    first = None
    for i in range(len(pts) - 1, -1, -1):
        if pts[i][1] > 1:
            first = i
        else:
            break
    if first is None:
        return None, "never"
    return pts[first][0], ("all" if first == 0 else "from")


# ---- reading results.csv ----------------------------------------------------------------

STATUS_ORDER = ("failed", "timeout", "verify", "ok")  # worst first
STATUS_TEXT = {"ok": "ok", "verify": "verification failed", "failed": "failed",
               "timeout": "timed out"}
BACKEND_ORDER = ("serial", "openmp", "mpi", "posix", "python-mp")
WORKLOAD_ORDER = ("squares", "filter", "labelencode")
SIZE_ORDER = ("small", "medium", "large", "custom")
SCALING_ORDER = ("strong", "weak")
DATA_ORDER = ("local", "scatter")
MODEL = {"openmp": "threads", "mpi": "processes", "posix": "processes", "serial": "serial",
         "python-mp": "reference"}
PHASES = ("t_startup", "t_distribute", "t_compute", "t_collect")
STEPS = ("t_parse", "t_fit", "t_merge", "t_encode", "t_format")  # labelencode, in t_compute
MEDIAN_FIELDS = PHASES + STEPS + ("t_init", "t_touch", "peak_rss_kb", "bytes_moved",
                                  "halo_bytes", "merge_bytes")
# config-key tokens that name the scenario or the worker count, not the backend variant
KEY_PREFIXES = ("w=", "workers=", "data=", "ipc=", "size=", "scaling=", "n=")


def order_key(value, order):
    """Sort key: known values in the given order, then the others alphabetically."""
    value = value or ""
    return (order.index(value), "") if value in order else (len(order), value)


def num(text):
    """A CSV field as a float; None when empty or not a number."""
    if text is None:
        return None
    text = text.strip()
    if not text:
        return None
    try:
        v = float(text)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def inum(text):
    v = num(text)
    return None if v is None else int(round(v))


def read_csv(path, keep=None):
    """The rows of results.csv (or another record: probes.csv) as dicts of stripped strings
    (columns by name); those that keep(row) says are rows, by default any that is not
    empty."""
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if not reader.fieldnames:
            return []
        rows = []
        for raw in reader:
            row = {k.strip(): (v or "").strip() for k, v in raw.items() if k is not None}
            if keep(row) if keep else any(row.values()):
                rows.append(row)
        return rows


def key_tokens(key):
    """A config key `a|b|w=2|...` as a dict of its name=value tokens and a list of the bare
    ones."""
    named, bare = {}, []
    for tok in (key or "").split("|"):
        tok = tok.strip()
        if not tok:
            continue
        if "=" in tok:
            k, v = tok.split("=", 1)
            named[k] = v
        else:
            bare.append(tok)
    return named, bare


def row_status(row):
    s = row.get("status", "").lower()
    if s in STATUS_TEXT:
        return s
    if s:
        return "failed"  # an unknown status is not a success
    # results.csv of an older sweep, without the column
    return "verify" if row.get("verified") == "0" else "ok"


def synth_key(row):
    parts = [row.get("workload", ""), row.get("backend", ""), "w=" + row.get("workers", ""),
             "data=" + row.get("data", ""), "ipc=" + row.get("ipc", ""),
             "schedule=" + row.get("schedule", ""), "bind=" + row.get("bind", ""),
             "size=" + (row.get("size") or "custom"),
             "scaling=" + (row.get("scaling") or "strong")]
    if (row.get("size") or "custom") == "custom":
        parts.append("n=" + row.get("n", ""))
    return "|".join(parts)


class Config:
    """One configuration: its identity, status and the statistics of its timed runs."""

    def __init__(self, key, rows):
        self.key = key
        self.rows = rows
        named, bare = key_tokens(key)
        first = rows[0]

        def field(name, token=None):
            for r in rows:
                if r.get(name):
                    return r[name]
            return named.get(token or name, "")

        self.backend = field("backend") or (bare[1] if len(bare) > 1 else "")
        self.workload = field("workload") or (bare[0] if bare else "")
        self.model = MODEL.get(self.backend, "other")
        self.workers = inum(field("workers", "w")) or inum(named.get("workers"))
        self.data = field("data")
        # only tvp-posix has an ipc choice (the key may name one for every backend)
        self.ipc = field("ipc") if self.backend == "posix" else ""
        self.size = field("size") or "custom"
        self.scaling = (field("scaling") or "strong").lower()
        self.n = inum(field("n"))
        self.schedule = field("schedule")
        statuses = [row_status(r) for r in rows]
        self.status = min(statuses, key=STATUS_ORDER.index)
        # bare and named tokens that are not the scenario: the variant's distinguishing
        # parts (bind=core, schedule=dynamic ...); report.py drops those common to all
        self.extra = sorted(
            [t for t in bare[2:] if t not in (self.workload, self.backend)] +
            [k + "=" + v for k, v in named.items()
             if not (k + "=").startswith(KEY_PREFIXES)])
        self.label_extra = []  # set by Results: the extra tokens that tell variants apart

        timed = [r for r in rows if num(r.get("t_total")) is not None]
        if self.status == "ok":
            timed = [r for r in timed if row_status(r) == "ok"]
        self.timed = timed
        self.reps = len(timed)
        tt = [num(r.get("t_total")) for r in timed]
        self.t = median(tt)
        self.t_min = min(tt) if tt else None
        self.t_max = max(tt) if tt else None
        self.t_iqr = iqr(tt)
        self.t_q1, self.t_q3 = quantile(tt, 0.25), quantile(tt, 0.75)
        self.t_mad = mad(tt)
        self.med = {f: median([num(r.get(f)) for r in timed]) for f in MEDIAN_FIELDS}
        self.oversubscribed = any(r.get("oversubscribed") == "1" for r in rows)
        vs = [r.get("verified", "") for r in timed]
        self.verified = (vs.count("1"), vs.count("0"), len(vs) - vs.count("1") - vs.count("0"))
        self.filters = field("filters")
        self.iterations = field("iterations")
        # set by Results
        self.home = None  # python-mp: the tvp scenario it is reported in, when not its own
        self.baseline = None
        self.s = self.e = self.kf = None

    # the base problem size: n itself for strong scaling, n per worker for weak
    @property
    def base_n(self):
        if self.n is None:
            return None
        if self.scaling == "weak" and self.workers:
            return int(round(self.n / self.workers))
        return self.n

    @property
    def ok(self):
        return self.status == "ok" and self.t is not None

    @property
    def scenario(self):
        if self.home is not None:
            return self.home
        extra = self.base_n if self.size == "custom" else None
        return (self.workload, self.scaling, self.size, self.data, extra)

    @property
    def variant(self):
        """Backend variant within a scenario: the backend, posix's ipc, distinguishing
        tokens."""
        return (self.backend, self.ipc, tuple(self.label_extra))

    @property
    def label(self):
        return " ".join([self.backend] + ([self.ipc] if self.ipc else []) + self.label_extra)

    def phase(self, name):
        return self.med.get(name)

    @property
    def move(self):
        """Median distribute + collect; None when neither was recorded."""
        d, c = self.med["t_distribute"], self.med["t_collect"]
        if d is None and c is None:
            return None
        return (d or 0) + (c or 0)

    def share(self, value):
        if value is None or not self.t:
            return None
        return value / self.t


def scenario_sort_key(sc):
    workload, scaling, size, data, base = sc
    return (order_key(workload, WORKLOAD_ORDER), order_key(scaling, SCALING_ORDER),
            order_key(size, SIZE_ORDER), order_key(data, DATA_ORDER), base or 0)


def variant_sort_key(v):
    backend, ipc, extra = v
    return (order_key(backend, BACKEND_ORDER), ipc or "", extra)


def config_sort_key(c):
    return (scenario_sort_key(c.scenario), variant_sort_key(c.variant), c.workers or 0,
            c.n or 0, c.key)


class Results:
    """Every configuration of a results.csv, with the serial baselines attached."""

    def __init__(self, rows):
        self.rows = rows
        groups = {}
        for r in rows:
            groups.setdefault(r.get("config") or synth_key(r), []).append(r)
        self.configs = [Config(k, groups[k]) for k in sorted(groups)]
        self._label_variants()
        self._home_references()
        self.configs.sort(key=config_sort_key)
        self._attach_baselines()

    def _label_variants(self):
        """A config-key token names a variant only where it tells configurations of one
        backend apart (bind=core everywhere says nothing; python-mp's bind=none neither)."""
        by_backend = {}
        for c in self.configs:
            by_backend.setdefault((c.workload, c.backend), []).append(c)
        for cs in by_backend.values():
            common = set(cs[0].extra)
            for c in cs[1:]:
                common &= set(c.extra)
            for c in cs:
                c.label_extra = [t for t in c.extra if t not in common]

    def _home_references(self):
        """python-mp (Pool.map: inputs in the parent, --data scatter) is reported beside the
        tvp runs of its workload, scaling and size; when those ran only another data mode,
        or another n (a custom size), it joins theirs rather than stand alone."""
        tvp = sorted({c.scenario for c in self.configs if c.backend != "python-mp"},
                     key=scenario_sort_key)
        for c in self.configs:
            if c.backend != "python-mp" or c.scenario in tvp:
                continue
            alts = [sc for sc in tvp if sc[:3] == c.scenario[:3]]
            alts.sort(key=lambda sc: (sc[3] != c.data, scenario_sort_key(sc)))
            if alts:
                c.home = alts[0]

    def _serial_for(self, c):
        """The serial configuration c's speedup is measured against."""
        serial = [s for s in self.configs if s.backend == "serial" and s.ok and
                  s.workload == c.workload]
        datas = [c.data]
        if c.backend == "python-mp":
            datas += [d for d in ("scatter", "local") if d != c.data]
        for data in datas:
            same = [s for s in serial if s.data == data]
            # the same scenario: same scaling and size (and n for custom sizes)
            cands = [s for s in same if s.scenario[1:] == (c.scaling, c.size, data,
                                                           c.scenario[4])]
            if c.scaling == "weak":
                # weak: the serial run of the base size n / p, whatever it is labelled
                if c.base_n is not None:
                    exact = [s for s in same if s.n == c.base_n]
                    cands = [s for s in cands if s.n == c.base_n] or cands or exact
            elif c.n is not None:
                cands = [s for s in cands if s.n in (None, c.n)] or \
                        [s for s in same if s.n == c.n and s.scaling == "strong"]
            if cands:
                return min(cands, key=config_sort_key)
        return None

    def _attach_baselines(self):
        for c in self.configs:
            c.baseline = self._serial_for(c)
            if not c.ok or c.baseline is None:
                continue
            if c.scaling == "weak":
                # weak scaling: E = T_serial(n0) / T_p(p * n0), S the scaled speedup p * E
                c.e = speedup(c.baseline.t, c.t)
                c.s = None if c.e is None else c.e * c.workers
            else:
                c.s = speedup(c.baseline.t, c.t)
                c.e = efficiency(c.s, c.workers)
                c.kf = karp_flatt(c.s, c.workers)

    # ---- views ---------------------------------------------------------------------------

    def workloads(self):
        return sorted({c.workload for c in self.configs},
                      key=lambda w: order_key(w, WORKLOAD_ORDER))

    def scenarios(self, workload):
        return sorted({c.scenario for c in self.configs if c.workload == workload},
                      key=scenario_sort_key)

    def in_scenario(self, sc):
        return [c for c in self.configs if c.scenario == sc]

    def backends(self, workload):
        return sorted({c.backend for c in self.configs if c.workload == workload},
                      key=lambda b: order_key(b, BACKEND_ORDER))

    def not_ok(self):
        return [c for c in self.configs if c.status != "ok"]
