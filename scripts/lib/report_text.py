"""report.md of scripts/report.py: the verdicts, the summary and the tables.

Standard library only.  Everything is derived from the measured medians; nothing depends on
the time of the run, and every collection is iterated in a fixed order, so the same
results.csv gives the same bytes.
"""

import shlex

from report_stats import (BACKEND_ORDER, DATA_ORDER, SIZE_ORDER, STATUS_TEXT, STEPS,
                          break_even, order_key, variant_sort_key)

TIE = 0.05  # threads and processes within 5 % of each other are called a tie
COMPUTE_DOMINATES = 0.80  # share of t_total from which "compute dominates"
DASH = "—"

# ---- formatting -------------------------------------------------------------------------


def _sig3(v):
    if v >= 100:
        return "%.0f" % v
    if v >= 10:
        return "%.1f" % v
    return "%.2f" % v


def fmt_time(sec):
    """Seconds with a unit and 3 significant figures: 1.23 s, 45.6 ms, 789 µs, 12.0 ns."""
    if sec is None:
        return DASH
    if sec == 0:
        return "0"
    a = float("%.3g" % abs(sec))  # rounded first: 999.7 µs is 1.00 ms, not 1000 µs
    sign = "-" if sec < 0 else ""
    for scale, unit in ((1, "s"), (1e-3, "ms"), (1e-6, "µs")):
        if a >= scale:
            return "%s%s %s" % (sign, _sig3(a / scale), unit)
    return "%s%s ns" % (sign, _sig3(a * 1e9))


def fmt_pct(frac):
    if frac is None:
        return DASH
    if frac == 0:
        return "0 %"
    if 0 < frac < 0.005:
        return "<1 %"
    return "%.0f %%" % (frac * 100)


def fmt_bytes(b):
    if b is None:
        return DASH
    if b == 0:
        return "0 B"
    for scale, unit in ((1e9, "GB"), (1e6, "MB"), (1e3, "kB")):
        if b >= scale:
            return "%s %s" % (_sig3(b / scale), unit)
    return "%d B" % b


def fmt_kib(kb):
    return DASH if kb is None else "%.1f MiB" % (kb / 1024)


def fmt_ratio(r):
    if r is None:
        return DASH
    return ("%.2f×" if r < 10 else "%.1f×" if r < 100 else "%.0f×") % r


def fmt_num(v, digits=2):
    """A speedup, efficiency or fraction: fixed decimals, or 2 significant figures below
    0.1 so that a small value does not print as 0.00."""
    if v is None:
        return DASH
    if v != 0 and abs(v) < 0.1:
        return "%.2g" % v
    return "%.*f" % (digits, v)


def fmt_n(n):
    return DASH if n is None else "{:,}".format(n)


def plural(w, word="worker"):
    return "%s %s%s" % (w, word, "" if w == 1 else "s")


def scenario_title(sc, n=None):
    workload, scaling, size, data, base = sc
    n = base if base is not None else n
    size_txt = size + (" (n = %s%s)" % (fmt_n(n), " per worker" if scaling == "weak" else "")
                       if n is not None else "")
    return "%s scaling, size %s, data %s" % (scaling, size_txt, data or DASH)


def scenario_n(configs):
    """The scenario's base n (n per worker for weak scaling), from its tvp configurations
    (python-mp may run a smaller n)."""
    ns = sorted({c.base_n for c in configs if c.base_n is not None and
                 c.backend != "python-mp"})
    return ns[0] if len(ns) == 1 else None


# ---- threads against processes ----------------------------------------------------------


def _phases_total(c):
    return sum(c.phase(f) or 0 for f in ("t_startup", "t_distribute", "t_compute", "t_collect"))


def _has_phases(c):
    return any(c.phase(f) is not None for f in ("t_startup", "t_distribute", "t_compute",
                                                 "t_collect"))


class Verdict:
    """threads (an openmp configuration) against processes (mpi or posix), both ok."""

    def __init__(self, threads, procs):
        self.threads, self.procs = threads, procs
        tt, tp = threads.t, procs.t
        self.ratio = max(tt, tp) / min(tt, tp)
        self.tie = self.ratio < 1 + TIE
        self.winner = "threads" if tt <= tp else "processes"
        self.loser = "processes" if self.winner == "threads" else "threads"
        win, lose = (threads, procs) if self.winner == "threads" else (procs, threads)
        self.win, self.lose = win, lose
        self.reason, self.long, self.short = self._explain()
        # a winner whose slower runs reach the loser's faster ones is not beyond noise
        wq3, lq1 = getattr(win, "t_q3", None), getattr(lose, "t_q1", None)
        self.noisy = (not self.tie and wq3 is not None and lq1 is not None and wq3 >= lq1)
        if self.noisy:
            self.long += ("; but the two runs' interquartile ranges of t_total overlap, so "
                          "this is within this machine's run-to-run noise")
            self.short += " (IQRs overlap: within noise)"

    def _explain(self):
        th, pr = self.threads, self.procs
        move_t, move_p = th.share(th.move or 0), pr.share(pr.move or 0)
        comp_t, comp_p = th.share(th.phase("t_compute")), pr.share(pr.phase("t_compute"))
        if not (_has_phases(th) and _has_phases(pr)):
            if self.tie:
                return ("tie", "threads and processes are within %s; the phases were not "
                        "recorded" % fmt_pct(self.ratio - 1), "tie, within %s" %
                        fmt_pct(self.ratio - 1))
            return ("unknown", "the phases were not recorded, so the measurements do not "
                    "say why", "phases not recorded")
        if self.tie:
            within = fmt_pct(self.ratio - 1)
            if (comp_t or 0) >= COMPUTE_DOMINATES and (comp_p or 0) >= COMPUTE_DOMINATES:
                return ("tie-compute",
                        "compute dominates (threads %s, processes %s of t_total): threads "
                        "and processes are within %s — the model does not matter here; pick "
                        "by convenience" % (fmt_pct(comp_t), fmt_pct(comp_p), within),
                        "tie (within %s): compute dominates (%s)" %
                        (within, fmt_pct(min(comp_t, comp_p))))
            return ("tie",
                    "threads and processes are within %s (moving data: threads %s, processes "
                    "%s of t_total; compute: %s and %s) — the model does not matter here" %
                    (within, fmt_pct(move_t), fmt_pct(move_p), fmt_pct(comp_t),
                     fmt_pct(comp_p)),
                    "tie (within %s)" % within)

        win, lose = self.win, self.lose
        W, L = self.winner, self.loser

        def ph(c, f):
            return c.phase(f) or 0.0

        deltas = [  # fixed order: the first of equal differences wins
            ("move", (lose.move or 0) - (win.move or 0)),
            ("startup", ph(lose, "t_startup") - ph(win, "t_startup")),
            ("compute", ph(lose, "t_compute") - ph(win, "t_compute")),
            ("other", (lose.t - _phases_total(lose)) - (win.t - _phases_total(win))),
        ]
        reason = max(deltas, key=lambda kv: kv[1])[0]
        faster = "%s are %s faster" % (W, fmt_ratio(self.ratio))
        if reason == "move":
            moved = lose.phase("bytes_moved")
            share = fmt_pct(lose.share(lose.move))
            if moved == 0:
                # nothing crossed: the phases are the round trips that start and end them
                return ("sync",
                        "%s spend %s of their time in the distribute and collect phases "
                        "(%s) although no items cross (0 B moved): the round trips to the "
                        "workers that open and close the compute phase; %s %s; %s" %
                        (L, share, fmt_time(lose.move), W, fmt_pct(win.share(win.move or 0)),
                         faster),
                        "%s pay worker round trips: %s of t_total" % (L, share))
            what = "distribute+collect: %s" % fmt_time(lose.move)
            if moved:
                what += ", %s per run" % fmt_bytes(moved)
            return ("move",
                    "%s spend %s of their time moving data (%s), %s %s; %s" %
                    (L, share, what, W, fmt_pct(win.share(win.move or 0)), faster),
                    "%s move data: %s of t_total" % (L, share))
        if reason == "startup":
            sl, sw = ph(lose, "t_startup"), ph(win, "t_startup")
            return ("startup",
                    "waking the workers for each run (t_startup) costs %s %s (%s of t_total), "
                    "%s %s (%s); %s" % (L, fmt_time(sl), fmt_pct(lose.share(sl)), W,
                                        fmt_time(sw), fmt_pct(win.share(sw)), faster),
                    "%s pay worker start-up: %s of t_total" % (L, fmt_pct(lose.share(sl))))
        if reason == "compute":
            cl, cw = ph(lose, "t_compute"), ph(win, "t_compute")
            extra = ""
            steps = [(ph(lose, s) - ph(win, s), s) for s in STEPS
                     if lose.phase(s) is not None and win.phase(s) is not None]
            if steps and max(steps)[0] > 0:
                d, s = max(steps, key=lambda x: (x[0], -STEPS.index(x[1])))
                extra = "; most of the difference is in %s (+%s" % (s, fmt_time(d))
                if s == "t_merge" and lose.phase("merge_bytes"):
                    extra += ", %s of sets and maps crossing processes" % \
                        fmt_bytes(lose.phase("merge_bytes"))
                extra += ")"
            if lose.phase("halo_bytes"):
                extra += "; it includes the halo exchange (%s per run)" % \
                    fmt_bytes(lose.phase("halo_bytes"))
            rc = cl / cw if cw else None
            return ("compute",
                    "the compute phase itself takes %s %s against %s for %s (%s)%s; moving "
                    "data is %s vs %s of t_total; %s" %
                    (L, fmt_time(cl), fmt_time(cw), W, fmt_ratio(rc), extra,
                     fmt_pct(lose.share(lose.move or 0)), fmt_pct(win.share(win.move or 0)),
                     faster),
                    "%s' compute phase is %s longer" % (L, fmt_ratio(rc)))
        ol, ow = lose.t - _phases_total(lose), win.t - _phases_total(win)
        return ("other",
                "%s lose time outside the four phases (%s against %s: overlap of a dynamic "
                "schedule or time the phases do not cover); %s" %
                (L, fmt_time(ol), fmt_time(ow), faster),
                "%s: time outside the phases" % L)


def best(configs, model, workers):
    """The fastest ok configuration of a model at a worker count, or None."""
    cs = [c for c in configs if c.model == model and c.workers == workers and c.ok]
    return min(cs, key=lambda c: (c.t, variant_sort_key(c.variant))) if cs else None


def _sfield(c):
    if c.scaling == "weak":
        return "E = %s" % fmt_num(c.e)
    return "S = %s" % fmt_num(c.s)


def _side(configs, model, workers):
    """What a model did at a worker count, for the lines without a comparison."""
    cs = [c for c in configs if c.model == model and c.workers == workers]
    if not cs:
        return "not run"
    parts = []
    for c in sorted(cs, key=lambda c: variant_sort_key(c.variant)):
        if c.ok:
            parts.append("%s %s" % (c.label, fmt_time(c.t)))
        else:
            parts.append("%s %s" % (c.label, STATUS_TEXT[c.status]))
    return ", ".join(parts)


OVERSUB = " *Oversubscribed (more workers than PUs): not evidence of scaling.*"


def scenario_lines(results, sc):
    """The verdict of one scenario: a bullet per worker count, python-mp as a reference."""
    cs = results.in_scenario(sc)
    out = []
    serial = [c for c in cs if c.backend == "serial"]
    base = next((c.baseline for c in cs if c.baseline is not None), None)
    if base is not None:
        out.append("- serial baseline: %s (tvp-serial, n = %s, median of %d)" %
                   (fmt_time(base.t), fmt_n(base.n), base.reps))
    elif serial:
        out.append("- serial baseline: %s" % _side(serial, "serial", 1))
    else:
        out.append("- serial baseline: not measured, so no speedups")
    workers = sorted({c.workers for c in cs if c.model in ("threads", "processes")
                      and c.workers is not None})
    for w in workers:
        th, pr = best(cs, "threads", w), best(cs, "processes", w)
        over = any(c.oversubscribed for c in cs if c.workers == w and
                   c.model in ("threads", "processes"))
        if th is None or pr is None:
            out.append("- **%s** — no comparison: threads: %s; processes: %s.%s" %
                       (plural(w), _side(cs, "threads", w), _side(cs, "processes", w),
                        OVERSUB if over else ""))
            continue
        v = Verdict(th, pr)
        failed = ["%s %s" % (c.label, STATUS_TEXT[c.status]) for c in cs
                  if c.workers == w and not c.ok and c.model in ("threads", "processes")]
        failed = " (Also at %s: %s.)" % (plural(w), "; ".join(failed)) if failed else ""
        head = ("a tie, within %s" % fmt_pct(v.ratio - 1) if v.tie else
                "%s are %s faster" % (v.winner, fmt_ratio(v.ratio)))
        detail = v.long
        if not v.tie:  # the head says it already
            detail = detail.rsplit("; ", 1)[0]
        out.append("- **%s — %s** (%s %s, %s; %s %s, %s): %s.%s%s" %
                   (plural(w), head, th.label, fmt_time(th.t), _sfield(th), pr.label,
                    fmt_time(pr.t), _sfield(pr), detail, failed, OVERSUB if over else ""))
    for c in cs:
        if c.backend != "python-mp":
            continue
        if not c.ok:
            out.append("- reference, Python `multiprocessing.Pool.map` (python-mp, not a tvp "
                       "backend), %s: %s" % (plural(c.workers), STATUS_TEXT[c.status]))
            continue
        tvp = [x for x in cs if x.ok and x.workers == c.workers and
               x.model in ("threads", "processes")]
        cmp_ = ""
        at_n = "" if c.n is None or all(x.n == c.n for x in tvp) else " at n = %s" % fmt_n(c.n)
        if tvp:
            f = min(tvp, key=lambda x: (x.t, variant_sort_key(x.variant)))
            if not at_n or not (c.n and f.n):
                cmp_ = " — %s the time of the fastest tvp backend at %s (%s %s)" % (
                    fmt_ratio(c.t / f.t), plural(c.workers), f.label, fmt_time(f.t))
            else:  # the reference ran another n: compare the time per item
                cmp_ = (" — per item %s, %s the fastest tvp backend at %s (%s %s per item at "
                        "n = %s)" % (fmt_time(c.t / c.n), fmt_ratio((c.t / c.n) / (f.t / f.n)),
                                     plural(c.workers), f.label, fmt_time(f.t / f.n),
                                     fmt_n(f.n)))
        sfield = ", " + _sfield(c) if (c.s if c.scaling == "strong" else c.e) is not None \
            else " (no tvp-serial run of this n: no speedup)"
        data = "" if c.data == sc[3] else " (data %s: its inputs start in the parent)" % c.data
        out.append("- reference, Python `multiprocessing.Pool.map` (python-mp, not a tvp "
                   "backend), %s%s: %s%s%s%s" % (plural(c.workers), data, fmt_time(c.t), at_n,
                                                 sfield, cmp_))
    return out


def summary_choice(results, workload, data):
    """The scenario and worker count the summary shows for a workload and data mode: strong
    scaling at the largest size (weak when only weak was run), the most workers at which
    both models ran without oversubscription."""
    scs = [sc for sc in results.scenarios(workload) if sc[3] == data]
    if not scs:
        return None
    strong = [sc for sc in scs if sc[1] == "strong"]
    pool = strong or scs

    def size_key(sc):
        cs = results.in_scenario(sc)
        ok = [c for c in cs if c.ok and c.model in ("threads", "processes")]
        return (1 if ok else 0, order_key(sc[2], SIZE_ORDER)[0],
                max([c.base_n or 0 for c in cs] or [0]))

    sc = max(pool, key=size_key)
    cs = results.in_scenario(sc)
    par = [c for c in cs if c.ok and c.model in ("threads", "processes")]
    both = [w for w in {c.workers for c in par}
            if best(cs, "threads", w) and best(cs, "processes", w)]
    fair = [w for w in both if not any(c.oversubscribed for c in par if c.workers == w)]
    if fair:
        return sc, max(fair)
    anyfair = [c.workers for c in par if not c.oversubscribed]
    if anyfair:
        return sc, max(anyfair)
    if par:
        return sc, max(c.workers for c in par)
    return sc, None


def summary_rows(results):
    rows = []
    for workload in results.workloads():
        datas = sorted({c.scenario[3] for c in results.configs if c.workload == workload
                        and c.backend not in ("serial", "python-mp")},
                       key=lambda d: order_key(d, DATA_ORDER))
        for data in datas:
            choice = summary_choice(results, workload, data)
            if choice is None:
                continue
            sc, w = choice
            cs = results.in_scenario(sc)
            title = scenario_title(sc, scenario_n(cs))
            if w is None:
                bad = sorted({STATUS_TEXT[c.status] for c in cs if not c.ok})
                rows.append((workload, title, DASH, "no successful parallel run",
                             DASH, DASH, ", ".join(bad) or DASH))
                continue
            th, pr = best(cs, "threads", w), best(cs, "processes", w)
            over = any(c.oversubscribed for c in cs if c.workers == w and c.ok)
            wtxt = str(w) + (" (oversubscribed)" if over else "")

            def sp(c):
                return fmt_num(c.s if c.scaling == "strong" else c.e)

            if th and pr:
                v = Verdict(th, pr)
                if v.tie:
                    winner = "tie: %s ≈ %s" % (th.label, pr.label)
                else:
                    winner = "%s (%s), %s" % (v.winner, v.win.label, fmt_ratio(v.ratio))
                rows.append((workload, title, wtxt, winner,
                             "%s / %s" % (fmt_time(th.t), fmt_time(pr.t)),
                             "%s / %s" % (sp(th), sp(pr)), v.short))
            else:
                only = th or pr
                model = "threads" if th else "processes"
                rows.append((workload, title, wtxt, "%s (%s): only model measured" %
                             (model, only.label), fmt_time(only.t), sp(only),
                             "the other model: %s" % _side(
                                 cs, "processes" if th else "threads", w)))
    return rows


# ---- break-even size --------------------------------------------------------------------


def break_even_lines(results, workload):
    """Per data mode with several strong-scaling sizes: the speedup of each variant at each
    size (at the most workers it ran at every size, not oversubscribed) and the size from
    which it beats serial."""
    out = []
    datas = sorted({c.data for c in results.configs if c.workload == workload},
                   key=lambda d: order_key(d, DATA_ORDER))
    for data in datas:
        cs = [c for c in results.configs if c.workload == workload and c.data == data and
              c.scaling == "strong" and c.ok and c.s is not None and
              c.backend != "serial" and not c.oversubscribed]
        sizes = sorted({(c.n, c.size) for c in cs if c.n is not None})
        if len({n for n, _ in sizes}) < 2:
            continue
        variants = sorted({c.variant for c in cs}, key=variant_sort_key)
        table = []
        for v in variants:
            vc = [c for c in cs if c.variant == v]
            ws = sorted({c.workers for c in vc})
            # the most workers measured at the most sizes
            w = max(ws, key=lambda w: (len({c.n for c in vc if c.workers == w}), w))
            at = {c.n: c.s for c in vc if c.workers == w}
            n_be, kind = break_even(at.items())
            if kind == "all":
                be = "every measured size (≤ n = %s)" % fmt_n(n_be)
            elif kind == "from":
                be = "n = %s%s" % (fmt_n(n_be), "".join(" (%s)" % s for n, s in sizes
                                                        if n == n_be))
            else:
                be = "never, in the measured range"
            label = vc[0].label + (" (reference)" if vc[0].backend == "python-mp" else "")
            table.append([label, str(w)] + [fmt_num(at.get(n)) for n, _ in sizes] + [be])
        out.append("Data %s: speedup over tvp-serial by problem size, and the size from "
                   "which each backend beats serial (S > 1 there and at every larger size):"
                   % data)
        out.append("")
        out += md_table(["backend", "workers"] +
                        ["%s (n = %s)" % (s, fmt_n(n)) for n, s in sizes] +
                        ["beats serial from"], table)
        out.append("")
    return out


# ---- tables -----------------------------------------------------------------------------


def md_table(head, rows):
    def esc(x):
        return str(x).replace("|", "\\|")
    out = ["| " + " | ".join(esc(h) for h in head) + " |",
           "|" + "|".join("---" for _ in head) + "|"]
    out += ["| " + " | ".join(esc(x) for x in r) + " |" for r in rows]
    return out


def _phase_cell(c, f):
    v = c.phase(f)
    if v is None:
        return DASH
    return "%s (%s)" % (fmt_time(v), fmt_pct(c.share(v)))


def backend_tables(results, workload, backend):
    cs = [c for c in results.configs if c.workload == workload and c.backend == backend]
    show_variant = any(c.label != backend for c in cs)

    def ident(c):
        r = ["%s %s %s" % (c.scaling, c.size, c.data or DASH)]
        if show_variant:
            r.append(c.label[len(backend):].strip() or DASH)
        w = str(c.workers) if c.workers is not None else DASH
        r += [w + (" (oversub.)" if c.oversubscribed else ""), fmt_n(c.n)]
        return r

    head = ["scenario"] + (["variant"] if show_variant else []) + ["W", "n"]
    timing = []
    for c in cs:
        spread = DASH if c.t is None else "%s – %s" % (fmt_time(c.t_min), fmt_time(c.t_max))
        ver, bad, unchecked = c.verified
        vtxt = DASH if not c.reps else (
            "%d/%d" % (ver, c.reps) + (" (%d unchecked)" % unchecked if unchecked else ""))
        timing.append(ident(c) + [STATUS_TEXT[c.status], str(c.reps), fmt_time(c.t), spread,
                                  fmt_time(c.t_iqr), fmt_num(c.s), fmt_num(c.e),
                                  fmt_num(c.kf, 3), vtxt])
    extra_col = None
    if workload == "filter" or any(c.phase("halo_bytes") for c in cs):
        extra_col = ("halo_bytes", "halo")
    elif workload == "labelencode" or any(c.phase("merge_bytes") for c in cs):
        extra_col = ("merge_bytes", "merge bytes")
    phases = []
    for c in cs:
        r = ident(c) + [_phase_cell(c, f) for f in ("t_startup", "t_distribute",
                                                     "t_compute", "t_collect")]
        r += [fmt_kib(c.phase("peak_rss_kb")), fmt_bytes(c.phase("bytes_moved"))]
        if extra_col:
            r.append(fmt_bytes(c.phase(extra_col[0])))
        phases.append(r)
    out = md_table(head + ["status", "runs", "t_total median", "min – max", "IQR", "S", "E",
                           "Karp–Flatt e", "verified"], timing)
    out.append("")
    out += md_table(head + ["t_startup", "t_distribute", "t_compute", "t_collect",
                            "peak RSS", "bytes moved"] + ([extra_col[1]] if extra_col else []),
                    phases)
    return out


BACKEND_TITLE = {
    "serial": "serial — tvp-serial, the baseline of every speedup",
    "openmp": "openmp — threads (tvp-openmp)",
    "mpi": "mpi — processes (tvp-mpi, MPI ranks)",
    "posix": "posix — processes (tvp-posix, fork()ed workers)",
    "python-mp": "python-mp — reference: Python multiprocessing.Pool.map, not a tvp backend",
}


# ---- the environment --------------------------------------------------------------------


def env_lines(env, results):
    if env is None:
        return ["- env.json: missing, so the machine and software are not recorded here"]

    def g(k):
        v = env.get(k)
        return DASH if v in (None, "", [], {}) else v

    cpu = "%s" % g("cpu_model")
    topo = []
    hw = env.get("topology") if isinstance(env.get("topology"), dict) else {}
    if hw.get("cores") and hw.get("pus"):
        topo.append("%s package(s), %s cores, %s PUs (hwloc)" % (
            hw.get("packages", DASH), hw["cores"], hw["pus"]))
    elif env.get("cpu_sockets"):
        topo.append("%s socket(s) × %s core(s) × %s thread(s)" % (
            g("cpu_sockets"), g("cpu_cores_per_socket"), g("cpu_threads_per_core")))
    topo.append("%s PUs usable (of %s)" % (g("nproc"), g("cpu_count")))
    if env.get("cpu_numa_nodes"):
        topo.append("%s NUMA node(s)" % g("cpu_numa_nodes"))
    if env.get("cpu_l3"):
        topo.append("L3 %s" % g("cpu_l3"))
    mem = env.get("memory_kb")
    memtxt = ("%.1f GiB" % (mem / 1048576)) if isinstance(mem, (int, float)) else DASH
    lines = ["- **host**: %s — %s; %s; memory %s" % (g("host"), cpu, ", ".join(topo), memtxt)]
    lines.append("- **system**: %s, kernel %s, transparent hugepages `%s`" %
                 (g("os"), g("kernel"), g("transparent_hugepage")))
    lines.append("- **tools**: %s; %s; %s; %s" % (g("gcc"), g("cmake"), g("mpirun"),
                                                 g("hwloc")))
    versions = env.get("tvp_version") or {}
    vtxt = DASH
    for be in sorted(versions, key=lambda b: order_key(b, BACKEND_ORDER)):
        text = versions[be]
        if text:
            ls = text.splitlines()
            vtxt = ls[0] + "".join("; " + l.strip() for l in ls[1:]
                                   if l.startswith(("flags", "record")))
            break
    lines.append("- **tvp**: %s" % vtxt)
    commit = env.get("git_commit")
    dirty = env.get("git_dirty")
    lines.append("- **commit**: %s%s" % (commit or DASH, " (with uncommitted changes)"
                                         if dirty else ""))
    cmd = env.get("command_line")
    if isinstance(cmd, list) and cmd:
        cmdtxt = "`%s`" % " ".join(shlex.quote(str(x)) for x in cmd)
    elif cmd:
        cmdtxt = "`%s`" % cmd
    else:
        cmdtxt = DASH
    lines.append("- **command**: %s, run at %s" % (cmdtxt, g("generated_utc")))
    sl = env.get("slurm")
    if isinstance(sl, dict) and sl.get("job_id"):  # measured inside a Slurm job
        parts = ["job %s" % sl["job_id"]]
        for key, label in (("partition", "partition"), ("nodelist", "nodes"),
                           ("ntasks", "tasks"), ("cpus_per_task", "CPUs per task"),
                           ("mpi_launcher", "MPI started by")):
            if sl.get(key):
                parts.append("%s %s" % (label, sl[key]))
        lines.append("- **slurm**: " + ", ".join(parts) +
                     " (the first job's; the others' are in env-*.json)")
    envvars = env.get("environment") or {}
    if envvars:
        lines.append("- **environment**: " + ", ".join("`%s=%s`" % (k, envvars[k])
                                                     for k in sorted(envvars)))
    return lines


# ---- report.md --------------------------------------------------------------------------


DEFINITIONS = [
    "- Times are medians over the timed runs of a configuration (one row each); the spread "
    "is min – max and the IQR (Q3 − Q1, quartiles by linear interpolation between order "
    "statistics, numpy's default).",
    "- S (strong scaling) = median t_total of tvp-serial (same workload, size and data mode) "
    "/ median t_total at p workers; E = S / p; Karp–Flatt serial fraction e = (1/S − 1/p) / "
    "(1 − 1/p), for p > 1 (the fraction of the serial time that did not parallelise; it "
    "includes every overhead).",
    "- Weak scaling (work per worker fixed: n grows with the workers): E = T_serial(n₀) / "
    "T_p(p·n₀), ideally 1 (flat time); S = p·E, the scaled speedup; no Karp–Flatt.",
    "- Threads = openmp; processes = mpi and posix (the faster of them at each worker "
    "count).  A difference under %d %% is called a tie.  \"Moving data\" is t_distribute + "
    "t_collect; phases are medians, as a share of the median t_total." % (TIE * 100),
    "- Oversubscribed configurations (more workers than PUs) are shown but are not evidence "
    "of scaling; the summary leaves them out when it can.",
    "- python-mp is a reference, Squares through Python's `multiprocessing.Pool.map`, not a "
    "tvp backend: only t_total and a few columns are measured.",
]


def across_nodes_lines(results):
    """What each model can do beyond one node, for the workloads measured."""
    wls = sorted({c.workload for c in results.configs if c.workload})
    if not wls:
        return []
    L = ["## Beyond one node", ""]
    L.append("Threads (openmp) share one process and forked workers (posix) one process "
             "tree: both stop at one node's cores.  MPI ranks (mpi) can span nodes "
             "(`scripts/tvp submit --nodes N`); what they then pay for moving data is "
             "what `--mpi-transport tcp` measures on one machine.")
    L.append("")
    for wl in wls:
        what = {"squares": "each rank squares its own block; only scatter/gather of the "
                           "input and output would cross the network",
                "filter": "halo rows cross between neighbouring ranks every pass (and the "
                          "image is scattered and gathered with --data scatter)",
                "labelencode": "each rank reads its own byte range of a shared file; the "
                               "label sets and maps (merge_bytes) and the output text "
                               "cross the network"}.get(wl, "ranks only exchange what the "
                                                          "workload moves")
        L.append("- **%s**: openmp, posix — one node; mpi — across nodes: %s." % (wl, what))
    L.append("")
    return L


def build(results, env, plots, plot_note, source, probes=None):
    """report.md as a string.  plots: {workload: [(caption, basename)]}; plot_note: a line
    saying why there are no plots, or None; source: (rows, sha256 of results.csv); probes:
    the lines of the probes section (report_probes.section), placed after the summary, or
    None."""
    L = []
    host = (env or {}).get("host") or DASH
    when = (env or {}).get("generated_utc") or DASH
    L.append("# tvp: threads vs processes — %s, %s" % (host, when))
    L.append("")
    L += env_lines(env, results)
    nbad = len(results.not_ok())
    L.append("- **results**: %d timed runs in %d configurations%s" % (
        sum(c.reps for c in results.configs), len(results.configs),
        ", %d of them not successful (listed below)" % nbad if nbad else ""))
    L.append("")

    L.append("## Summary")
    L.append("")
    L.append("Per workload and data mode, the largest strong-scaling size, at the most "
             "workers both models ran without oversubscription.  Threads = openmp, "
             "processes = the faster of mpi and posix; t_total and speedup are "
             "threads / processes (weak scaling: E instead of S).")
    L.append("")
    rows = summary_rows(results)
    L += md_table(["workload", "scenario", "workers", "winner", "t_total",
                   "speedup", "why (measured)"], rows) if rows else ["No configurations."]
    L.append("")
    L += across_nodes_lines(results)
    if probes:
        L += probes

    bad = results.not_ok()
    over = [c for c in results.configs if c.oversubscribed]
    if bad:
        L.append("## Runs that did not succeed")
        L.append("")
        for c in bad:
            L.append("- %s, %s, %s, %s: **%s** (`%s`)" % (
                c.workload, c.label + (" (reference)" if c.backend == "python-mp" else ""),
                plural(c.workers if c.workers is not None else "?"),
                scenario_title(c.scenario, c.base_n), STATUS_TEXT[c.status], c.key))
        L.append("")
    if over:
        L.append("## Oversubscribed runs")
        L.append("")
        L.append("More workers than PUs (record column oversubscribed=1): reported, but they "
                 "are not evidence of scaling.")
        L.append("")
        for c in over:
            L.append("- %s, %s, %s, %s" % (c.workload, c.label, plural(c.workers),
                                          scenario_title(c.scenario, c.base_n)))
        L.append("")

    for workload in results.workloads():
        L.append("## %s" % workload)
        L.append("")
        L.append("### Verdict")
        L.append("")
        for sc in results.scenarios(workload):
            cs = results.in_scenario(sc)
            L.append("**%s**" % scenario_title(sc, scenario_n(cs)))
            L.append("")
            L += scenario_lines(results, sc)
            L.append("")
        be = break_even_lines(results, workload)
        if be:
            L.append("### Break-even size")
            L.append("")
            L += be
        L.append("### Plots")
        L.append("")
        if plot_note:
            L.append(plot_note)
        elif plots.get(workload):
            for caption, base in plots[workload]:
                L.append("- %s: [SVG](plots/%s.svg), [PNG](plots/%s.png)" %
                         (caption, base, base))
        else:
            L.append("No plots: no successful runs to draw.")
        L.append("")
        for backend in results.backends(workload):
            L.append("### %s" % BACKEND_TITLE.get(backend, backend))
            L.append("")
            L += backend_tables(results, workload, backend)
            L.append("")

    L.append("## Definitions")
    L.append("")
    L += DEFINITIONS
    L.append("")
    L.append("Made by `scripts/report.py` from results.csv (%d rows, sha256 %s)." % source)
    L.append("")
    return "\n".join(L)
