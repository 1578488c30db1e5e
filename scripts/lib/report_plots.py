"""The plots of scripts/report.py (matplotlib, Debian's python3-matplotlib).

Per workload and strong-scaling size: speedup and efficiency against workers (one line per
backend variant, one panel per data mode, the ideal dashed), and the phases as stacked bars
at each worker count; per weak-scaling size: t_total against workers (ideal: flat at the
serial time).  Each as PNG and SVG.  The files are reproducible: a fixed SVG hash salt, no
date in the SVG, fixed PNG metadata, every collection iterated in a fixed order.
"""

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from report_stats import DATA_ORDER, SIZE_ORDER, order_key, variant_sort_key  # noqa: E402
from report_probes import fmt_size  # noqa: E402
from report_text import fmt_n  # noqa: E402

SOFTWARE = "tvp scripts/report.py"
COLORS = {"serial": "#000000", "openmp": "#1f77b4", "mpi": "#2ca02c", "posix": "#d62728",
          "python-mp": "#7f7f7f"}
OTHER_COLORS = ("#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf")
STYLES = ("-", "--", ":", "-.")
MARKERS = ("o", "s", "^", "D", "v")
PHASE_COLORS = (("t_startup", "startup", "#9467bd"), ("t_distribute", "distribute", "#ff7f0e"),
                ("t_compute", "compute", "#1f77b4"), ("t_collect", "collect", "#2ca02c"))


def setup():
    plt.rcParams.update({
        "svg.hashsalt": "tvp-report",
        "svg.fonttype": "path",
        "font.family": "DejaVu Sans",
        "font.size": 9,
        "figure.dpi": 100,
        "savefig.dpi": 100,
        "axes.grid": True,
        "grid.alpha": 0.3,
    })


def _styles(variants):
    """A fixed color/linestyle/marker per variant: by backend, then the variant's rank."""
    out, seen, k = {}, {}, 0
    for v in sorted(variants, key=variant_sort_key):
        backend = v[0]
        i = seen.get(backend, 0)
        seen[backend] = i + 1
        if backend in COLORS:
            color = COLORS[backend]
        else:
            color = OTHER_COLORS[k % len(OTHER_COLORS)]
            k += 1
        out[v] = (color, STYLES[i % len(STYLES)], MARKERS[i % len(MARKERS)])
    return out


def _label(c):
    return c.label + (" (reference)" if c.backend == "python-mp" else "")


def _save(fig, outdir, base, files):
    fig.savefig(os.path.join(outdir, base + ".svg"), format="svg",
                metadata={"Date": None, "Creator": SOFTWARE})
    fig.savefig(os.path.join(outdir, base + ".png"), format="png",
                metadata={"Software": SOFTWARE})
    plt.close(fig)
    files.append(base)


def _slug(*parts):
    keep = "abcdefghijklmnopqrstuvwxyz0123456789-_"
    return "-".join("".join(ch if ch in keep else "_" for ch in str(p).lower())
                    for p in parts if p not in (None, ""))


def _groups(results, workload, scaling):
    """(size, base n) -> {data: [configs]}, configs ok, for one workload and scaling."""
    out = {}
    for c in results.configs:
        if c.workload != workload or c.scaling != scaling or not c.ok:
            continue
        sc = c.scenario
        out.setdefault((sc[2], sc[4]), {}).setdefault(sc[3], []).append(c)
    return out


def _size_key(k):
    return (order_key(k[0], SIZE_ORDER), k[1] or 0)


def _series(cs, value):
    """variant -> sorted [(workers, value, oversubscribed)] of configurations with a value."""
    out = {}
    for c in cs:
        y = value(c)
        if y is None or c.workers is None:
            continue
        out.setdefault(c.variant, []).append((c.workers, y, c.oversubscribed, c))
    return {v: sorted(p, key=lambda x: x[0]) for v, p in out.items()}


def _lines(ax, series, styles):
    for v in sorted(series, key=variant_sort_key):
        pts = series[v]
        color, ls, mk = styles[v]
        xs = [p[0] for p in pts]
        ys = [p[1] for p in pts]
        ax.plot(xs, ys, color=color, linestyle=ls, marker=mk, label=_label(pts[0][3]))
        over = [p for p in pts if p[2]]
        if over:  # oversubscribed points: a hollow ring around the marker
            ax.plot([p[0] for p in over], [p[1] for p in over], linestyle="none",
                    marker="o", markersize=12, markerfacecolor="none", color=color)


def _workers_axis(ax, xs):
    xs = sorted(set(xs))
    if xs:
        ax.set_xticks(xs)
        pad = 0.5 if len(xs) > 1 else 1.0
        ax.set_xlim(min(xs) - pad, max(xs) + pad)
    ax.set_xlabel("workers")


def _unit(seconds):
    """(scale, name) of the time unit for an axis whose largest value is seconds."""
    if seconds >= 1:
        return 1.0, "s"
    if seconds >= 1e-3:
        return 1e3, "ms"
    return 1e6, "µs"


def _title(workload, what, scaling, size, n, per_worker=False):
    ntxt = "" if n is None else " (n = %s%s)" % (fmt_n(n), " per worker" if per_worker else "")
    return "%s: %s, %s scaling, size %s%s" % (workload, what, scaling, size, ntxt)


def _n_of(dmap):
    ns = sorted({c.base_n for cs in dmap.values() for c in cs if c.base_n is not None})
    return ns[0] if len(ns) == 1 else None


def _panels(dmap):
    return sorted(dmap, key=lambda d: order_key(d, DATA_ORDER))


def _has_oversub(dmap):
    return any(c.oversubscribed for cs in dmap.values() for c in cs)


def scaling_plot(workload, size, base, dmap, what, outdir, files, captions):
    """speedup or efficiency against workers, one panel per data mode."""
    datas = _panels(dmap)
    value = (lambda c: c.s) if what == "speedup" else (lambda c: c.e)
    allc = [c for d in datas for c in dmap[d] if c.backend != "serial"]
    if not any(value(c) is not None for c in allc):
        return
    styles = _styles({c.variant for c in allc})
    fig, axes = plt.subplots(1, len(datas), figsize=(5.2 * len(datas), 4.2), squeeze=False)
    for ax, data in zip(axes[0], datas):
        cs = [c for c in dmap[data] if c.backend != "serial"]
        series = _series(cs, value)
        xs = [p[0] for pts in series.values() for p in pts] or [1]
        lo, hi = min(xs + [1]), max(xs)
        if what == "speedup":
            ax.plot([lo, hi], [lo, hi], color="black", linestyle="--", linewidth=1,
                    label="ideal (S = p)")
            ax.set_ylabel("speedup over tvp-serial")
        else:
            ax.axhline(1.0, color="black", linestyle="--", linewidth=1, label="ideal (E = 1)")
            ax.set_ylabel("parallel efficiency S/p")
        _lines(ax, series, styles)
        ax.set_ylim(bottom=0)
        _workers_axis(ax, xs)
        ax.set_title("data %s" % data)
        ax.legend(fontsize=7, loc="best")
    title = _title(workload, what, "strong", size, base or _n_of(dmap))
    if _has_oversub(dmap):
        title += "\n(ringed points: oversubscribed, not evidence of scaling)"
    fig.suptitle(title)
    fig.tight_layout()
    name = _slug(workload, size, base if size == "custom" else None, what)
    _save(fig, outdir, name, files)
    captions.append(("%s, strong scaling, size %s" % (what, size), name))


def _phase_sum(c):
    return sum(c.phase(f) or 0.0 for f, _, _ in PHASE_COLORS)


def phases_plot(workload, size, base, dmap, outdir, files, captions):
    """Stacked bars of the median phases at each worker count, a panel per data mode and
    backend variant."""
    datas = _panels(dmap)
    variants = sorted({c.variant for d in datas for c in dmap[d]
                       if any(c.phase(p) is not None for p, _, _ in PHASE_COLORS)},
                      key=variant_sort_key)
    if not variants:
        return
    fig, axes = plt.subplots(len(datas), len(variants),
                             figsize=(max(3.0 * len(variants), 6), 3.0 * len(datas) + 0.8),
                             squeeze=False, sharey="row")
    for r, data in enumerate(datas):
        top = max([_phase_sum(c) for c in dmap[data]] or [0.0])
        scale, unit = _unit(top)
        for k, v in enumerate(variants):
            ax = axes[r][k]
            cs = sorted([c for c in dmap[data] if c.variant == v], key=lambda c: c.workers)
            if not cs:
                ax.set_visible(False)
                continue
            xs = [c.workers for c in cs]
            bottom = [0.0] * len(cs)
            for field, name, color in PHASE_COLORS:
                ys = [(c.phase(field) or 0.0) * scale for c in cs]
                ax.bar(xs, ys, bottom=bottom, color=color, width=0.6, label=name)
                bottom = [b + y for b, y in zip(bottom, ys)]
            for c, b in zip(cs, bottom):
                if c.oversubscribed:
                    ax.annotate("oversub.", (c.workers, b), ha="center", va="bottom",
                                fontsize=6)
            _workers_axis(ax, xs)
            if k == 0:
                ax.set_ylabel("%s (medians)" % unit)
            ax.set_title("%s, data %s" % (_label(cs[0]), data), fontsize=8)
            if r == 0 and k == 0:
                ax.legend(fontsize=7, loc="best")
    fig.suptitle(_title(workload, "phases", "strong", size, base or _n_of(dmap)))
    fig.tight_layout()
    name = _slug(workload, size, base if size == "custom" else None, "phases")
    _save(fig, outdir, name, files)
    captions.append(("phase breakdown, strong scaling, size %s" % size, name))


def weak_plot(workload, size, base, dmap, outdir, files, captions):
    datas = _panels(dmap)
    allc = [c for d in datas for c in dmap[d]]
    styles = _styles({c.variant for c in allc if c.backend != "serial"})
    scale, unit = _unit(max(c.t for c in allc))
    fig, axes = plt.subplots(1, len(datas), figsize=(5.2 * len(datas), 4.2), squeeze=False)
    for ax, data in zip(axes[0], datas):
        cs = [c for c in dmap[data] if c.backend != "serial"]
        series = _series(cs, lambda c: c.t * scale)
        xs = [p[0] for pts in series.values() for p in pts] or [1]
        bases = sorted({c.baseline.t for c in cs if c.baseline is not None})
        serial = [c for c in dmap[data] if c.backend == "serial"]
        ref = bases[0] if bases else (serial[0].t if serial else None)
        if ref is not None:
            ax.axhline(ref * scale, color="black", linestyle="--", linewidth=1,
                       label="ideal: flat at tvp-serial (n₀)")
        _lines(ax, series, styles)
        _workers_axis(ax, xs)
        ax.set_ylabel("t_total, %s (median)" % unit)
        ax.set_ylim(bottom=0)
        ax.set_title("data %s" % data)
        ax.legend(fontsize=7, loc="best")
    fig.suptitle(_title(workload, "time", "weak", size, base or _n_of(dmap), True))
    fig.tight_layout()
    name = _slug(workload, size, base if size == "custom" else None, "weak")
    _save(fig, outdir, name, files)
    captions.append(("weak scaling (time against workers, ideal flat), size %s" % size,
                     name))


def plot_all(results, outdir):
    """Draws every plot into outdir; returns ({workload: [(caption, basename)]}, [files])."""
    setup()
    os.makedirs(outdir, exist_ok=True)
    files, captions = [], {}
    for workload in results.workloads():
        cap = captions.setdefault(workload, [])
        strong = _groups(results, workload, "strong")
        for (size, base) in sorted(strong, key=_size_key):
            dmap = strong[(size, base)]
            scaling_plot(workload, size, base, dmap, "speedup", outdir, files, cap)
            scaling_plot(workload, size, base, dmap, "efficiency", outdir, files, cap)
            phases_plot(workload, size, base, dmap, outdir, files, cap)
        weak = _groups(results, workload, "weak")
        for (size, base) in sorted(weak, key=_size_key):
            weak_plot(workload, size, base, weak[(size, base)], outdir, files, cap)
    return captions, files


# ---- probes (probes.csv) ------------------------------------------------------------------

PROBE_STYLES = ("-", "--", ":", "-.")
PROBE_MARKERS = ("o", "s", "^", "D", "v")


def probe_plots(probes, outdir):
    """The probes' plots: round trip and bandwidth against message size per ipc mechanism
    (log-log, threads solid colors by backend, one line style per mechanism).  Returns
    ([(caption, basename)], [basenames])."""
    setup()
    os.makedirs(outdir, exist_ok=True)
    captions, files = [], []
    mechs = [m for m in probes.mechanisms() if probes.series(m)]
    if not mechs:
        return captions, files
    fig, axes = plt.subplots(1, 2, figsize=(11.0, 4.4), squeeze=False)
    lat_ax, bw_ax = axes[0]
    seen = {}
    for m in mechs:
        backend = m[0]
        i = seen.get(backend, 0)
        seen[backend] = i + 1
        color = COLORS.get(backend, OTHER_COLORS[len(seen) % len(OTHER_COLORS)])
        style = dict(color=color, linestyle=PROBE_STYLES[i % len(PROBE_STYLES)],
                     marker=PROBE_MARKERS[i % len(PROBE_MARKERS)], markersize=3.5,
                     label="%s %s (%s, %s)" % (backend, m[1], probes.model_of(backend),
                                               m[2]))
        rs = probes.series(m)
        lat = [(r.size, r.median) for r in rs if r.median is not None and r.median > 0]
        bw = [(r.size, r.mbps) for r in rs if r.mbps is not None and r.mbps > 0]
        if lat:
            lat_ax.plot([x for x, _ in lat], [y for _, y in lat], **style)
        if bw:
            bw_ax.plot([x for x, _ in bw], [y for _, y in bw], **style)
    sizes = sorted({r.size for m in mechs for r in probes.series(m) if r.size})
    ticks = [1 << k for k in range(0, 64, 3)
             if sizes and sizes[0] <= (1 << k) <= sizes[-1]] or sizes
    for ax, ylabel, title in ((lat_ax, "round trip, µs (median)", "latency"),
                              (bw_ax, "MB/s (10⁶ bytes/s)", "bandwidth")):
        ax.set_xscale("log", base=2)
        ax.set_xticks(ticks)
        ax.set_xticklabels([fmt_size(t) for t in ticks], fontsize=7)
        ax.minorticks_off()
        ax.set_yscale("log")
        ax.set_xlabel("message size")
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.legend(fontsize=7, loc="best")
    fig.suptitle("probe ipc: moving bytes between two workers, per mechanism")
    fig.tight_layout()
    _save(fig, outdir, "probes-ipc", files)
    captions.append(("IPC round trip and bandwidth against message size, per mechanism "
                     "(log-log)", "probes-ipc"))
    return captions, files
