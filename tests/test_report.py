"""Unit tests of scripts/report.py: its statistics against values worked out by hand, the
verdict it writes for small crafted sweeps, and failed, timed-out, oversubscribed and
reference rows.

Standard library only: /usr/bin/python3 tests/test_report.py  (exit 0: all passed)
"""

import csv
import io
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "scripts", "lib"))

import report_probes as rp  # noqa: E402
import report_stats as st  # noqa: E402
import report_text as rt  # noqa: E402

# tvp's record columns (schema 3), in order, as `tvp-serial squares --format csv` writes them
RECORD = ("schema,tool_version,git_commit,timestamp_utc,host,backend,workload,input,n,seed,"
          "width,height,channels,filters,iterations,columns,fields,classes,schedule,chunk,"
          "data,ipc,workers,bind,cpus,oversubscribed,transport,repeat,warmup,t_init,t_touch,"
          "t_startup,t_distribute,t_compute,t_collect,t_total,t_parse,t_fit,t_merge,t_encode,"
          "t_format,items_per_s,bytes_per_s,pixels_per_s,rows_per_s,fields_per_s,bytes_moved,"
          "halo_bytes,merge_bytes,peak_rss_kb,checksum_sum,checksum_crc64,verified").split(",")
HEAD = ["status", "config", "scaling", "size"] + RECORD


def run_rows(backend, workers, totals, phases=(0, 0, None, 0), data="scatter", ipc="none",
             n=1000, size="medium", scaling="strong", workload="squares", moved=0,
             oversub=0, extra=None):
    """One configuration's rows: one per t_total in totals.  phases: t_startup,
    t_distribute, t_compute (None: t_total minus the others), t_collect, the same in every
    row, so their medians are these values."""
    rows = []
    key = "%s|%s|w=%d|data=%s|ipc=%s|bind=core|size=%s|scaling=%s" % (
        workload, backend, workers, data, ipc or "pipe", size, scaling)
    for i, t in enumerate(totals):
        s, d, c, k = phases
        if c is None:
            c = t - s - d - k
        r = {h: "" for h in HEAD}
        r.update(status="ok", config=key, scaling=scaling, size=size, schema="3",
                 backend=backend, workload=workload, n=str(n), data=data,
                 ipc=ipc if backend == "posix" else "none", workers=str(workers),
                 schedule="static", bind="core", oversubscribed=str(oversub),
                 repeat=str(i), t_startup="%.9f" % s, t_distribute="%.9f" % d,
                 t_compute="%.9f" % c, t_collect="%.9f" % k, t_total="%.9f" % t,
                 bytes_moved=str(moved), peak_rss_kb="2048", verified="1")
        r.update(extra or {})
        rows.append(r)
    return rows


def bad_row(status, backend, workers, data="scatter", ipc="none", n=1000, size="medium"):
    """A configuration that did not finish: one row, the tvp columns empty but the identity."""
    r = {h: "" for h in HEAD}
    r.update(status=status, scaling="strong", size=size, backend=backend, workload="squares",
             workers=str(workers), data=data, ipc=ipc, n=str(n),
             config="squares|%s|w=%d|data=%s|ipc=%s|bind=core|size=%s|scaling=strong" % (
                 backend, workers, data, ipc, size))
    return [r]


def crafted():
    """threads clearly faster with --data scatter (the processes move data), a tie with
    --data local (compute dominates), a failed, a timed-out, an oversubscribed and a
    python-mp configuration."""
    rows = []
    # data scatter, 2 workers: serial 100 ms; openmp 50 ms (compute 49, startup 1);
    # posix pipe 80 ms = startup 2 + distribute 15 + compute 48 + collect 15.
    # Moving data: 30 / 80 = 37.5 % -> "38 %"; threads 0 %; 80 / 50 = 1.60x.
    # S(openmp) = 100 / 50 = 2.00, S(posix) = 100 / 80 = 1.25.
    rows += run_rows("serial", 1, [0.101, 0.100, 0.099])
    rows += run_rows("openmp", 2, [0.052, 0.050, 0.049], phases=(0.001, 0, None, 0))
    rows += run_rows("posix", 2, [0.080, 0.081, 0.079], phases=(0.002, 0.015, None, 0.015),
                     ipc="pipe", moved=16000)
    # data local, 2 workers: openmp 50.0 ms (compute 49.0 = 98 %), posix shm 51.0 ms
    # (compute 48.0 = 94 %); 51 / 50 = 1.02: a tie within 2 %.
    rows += run_rows("serial", 1, [0.095], data="local")
    rows += run_rows("openmp", 2, [0.050], phases=(0.001, 0, 0.049, 0), data="local")
    rows += run_rows("posix", 2, [0.051], phases=(0.001, 0.001, 0.048, 0.001), data="local",
                     ipc="shm")
    rows += bad_row("failed", "mpi", 2)
    rows += bad_row("timeout", "posix", 4, ipc="pipe")
    rows += run_rows("openmp", 4, [0.060], phases=(0.010, 0, None, 0), oversub=1)
    # python-mp: median (400 + 500) / 2 = 450 ms; it fills t_total and a few columns only
    py = run_rows("python-mp", 2, [0.400, 0.500])
    for r in py:
        for f in ("t_startup", "t_distribute", "t_compute", "t_collect", "peak_rss_kb",
                  "bytes_moved"):
            r[f] = ""
    return rows + py


def to_csv(rows, columns):
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return out.getvalue()


def results_of(rows):
    return st.Results(rows)


def config(res, backend, workers, data="scatter", ipc=None):
    for c in res.configs:
        if c.backend == backend and c.workers == workers and c.data == data and \
                (ipc is None or c.ipc == ipc):
            return c
    raise AssertionError("no configuration %s %s %s" % (backend, workers, data))


class Statistics(unittest.TestCase):
    def test_median(self):
        self.assertEqual(st.median([3, 1, 2]), 2)           # odd: the middle one
        self.assertEqual(st.median([4, 1, 3, 2]), 2.5)      # even: (2 + 3) / 2
        self.assertEqual(st.median([5]), 5)
        self.assertEqual(st.median([0.010, 0.030]), 0.020)
        self.assertIsNone(st.median([]))
        self.assertEqual(st.median([None, 7, None]), 7)     # missing values ignored

    def test_quantiles_iqr(self):
        # [1 2 3 4 5]: Q1 at position (5-1)*0.25 = 1 -> 2, Q3 at 3 -> 4, IQR 2
        self.assertEqual(st.quantile([5, 1, 4, 2, 3], 0.25), 2)
        self.assertEqual(st.quantile([5, 1, 4, 2, 3], 0.75), 4)
        self.assertEqual(st.iqr([5, 1, 4, 2, 3]), 2)
        # [1 2 3 4]: Q1 at 0.75 -> 1 + 0.75 * (2 - 1) = 1.75; Q3 at 2.25 -> 3.25; IQR 1.5
        self.assertAlmostEqual(st.quantile([1, 2, 3, 4], 0.25), 1.75)
        self.assertAlmostEqual(st.quantile([1, 2, 3, 4], 0.75), 3.25)
        self.assertAlmostEqual(st.iqr([1, 2, 3, 4]), 1.5)
        self.assertEqual(st.iqr([7]), 0)
        self.assertIsNone(st.iqr([]))

    def test_mad(self):
        # [10 11 12 13 50]: median 12; |x - 12| = 2 1 0 1 38 -> sorted 0 1 1 2 38 -> MAD 1
        self.assertEqual(st.mad([10, 12, 11, 50, 13]), 1)
        # [1 2 3 4]: median 2.5; deviations 1.5 0.5 0.5 1.5 -> median (0.5 + 1.5) / 2 = 1
        self.assertEqual(st.mad([1, 2, 3, 4]), 1)
        self.assertIsNone(st.mad([]))

    def test_speedup_efficiency(self):
        self.assertAlmostEqual(st.speedup(10, 4), 2.5)       # 10 / 4
        self.assertAlmostEqual(st.efficiency(2.5, 4), 0.625)  # 2.5 / 4
        self.assertAlmostEqual(st.speedup(0.1, 0.08), 1.25)
        self.assertIsNone(st.speedup(None, 1))
        self.assertIsNone(st.speedup(1, 0))

    def test_karp_flatt(self):
        # e = (1/S - 1/p) / (1 - 1/p)
        # S = 2.5, p = 4: (0.4 - 0.25) / 0.75 = 0.2
        self.assertAlmostEqual(st.karp_flatt(2.5, 4), 0.2)
        # S = 3, p = 4: (1/3 - 1/4) / (3/4) = (1/12) / (3/4) = 1/9
        self.assertAlmostEqual(st.karp_flatt(3, 4), 1 / 9)
        # perfect: S = p = 2: (0.5 - 0.5) / 0.5 = 0
        self.assertAlmostEqual(st.karp_flatt(2, 2), 0)
        # no gain: S = 1, p = 2: (1 - 0.5) / 0.5 = 1, all of it serial
        self.assertAlmostEqual(st.karp_flatt(1, 2), 1)
        # superlinear: S = 4, p = 2: (0.25 - 0.5) / 0.5 = -0.5
        self.assertAlmostEqual(st.karp_flatt(4, 2), -0.5)
        # S = 1.25, p = 2: (0.8 - 0.5) / 0.5 = 0.6
        self.assertAlmostEqual(st.karp_flatt(1.25, 2), 0.6)
        self.assertIsNone(st.karp_flatt(2, 1))              # undefined for p = 1
        self.assertIsNone(st.karp_flatt(None, 2))

    def test_break_even(self):
        # above 1 from 1e6 on
        self.assertEqual(st.break_even([(1e7, 1.8), (1e5, 0.5), (1e6, 1.2)]), (1e6, "from"))
        # above 1 everywhere: at or below the smallest size
        self.assertEqual(st.break_even([(1e5, 1.1), (1e6, 1.5)]), (1e5, "all"))
        # never above 1
        self.assertEqual(st.break_even([(1e5, 0.5), (1e6, 0.9)]), (None, "never"))
        # a win at the smallest size that is lost again does not count: from 1e7
        self.assertEqual(st.break_even([(1e5, 1.2), (1e6, 0.9), (1e7, 1.5)]), (1e7, "from"))
        # exactly 1 is not beating serial
        self.assertEqual(st.break_even([(1e5, 1.0), (1e6, 1.01)]), (1e6, "from"))
        self.assertEqual(st.break_even([]), (None, "none"))

    def test_formatting(self):
        self.assertEqual(rt.fmt_time(0.0123), "12.3 ms")
        self.assertEqual(rt.fmt_time(0.00099996), "1.00 ms")   # not "1000 µs"
        self.assertEqual(rt.fmt_time(1.5e-6), "1.50 µs")
        self.assertEqual(rt.fmt_time(2.5), "2.50 s")
        self.assertEqual(rt.fmt_pct(0.375), "38 %")
        self.assertEqual(rt.fmt_pct(0.001), "<1 %")
        self.assertEqual(rt.fmt_ratio(1.6), "1.60×")
        self.assertEqual(rt.fmt_num(0.0021), "0.0021")


class Configurations(unittest.TestCase):
    def setUp(self):
        self.res = results_of(crafted())

    def test_medians_and_spread(self):
        om = config(self.res, "openmp", 2)
        self.assertAlmostEqual(om.t, 0.050)                  # median of 52, 50, 49 ms
        self.assertAlmostEqual(om.t_min, 0.049)
        self.assertAlmostEqual(om.t_max, 0.052)
        # [49 50 52]: Q1 at 0.5 -> 49.5, Q3 at 1.5 -> 51; IQR 1.5 ms
        self.assertAlmostEqual(om.t_iqr, 0.0015)
        self.assertEqual(om.reps, 3)
        self.assertEqual(om.verified, (3, 0, 0))
        py = config(self.res, "python-mp", 2)
        self.assertAlmostEqual(py.t, 0.450)                  # even count: (400 + 500) / 2

    def test_speedups(self):
        om, px = config(self.res, "openmp", 2), config(self.res, "posix", 2)
        self.assertAlmostEqual(om.s, 2.0)                    # 100 / 50
        self.assertAlmostEqual(om.e, 1.0)
        self.assertAlmostEqual(om.kf, 0.0)
        self.assertAlmostEqual(px.s, 1.25)                   # 100 / 80
        self.assertAlmostEqual(px.e, 0.625)
        self.assertAlmostEqual(px.kf, 0.6)                   # (0.8 - 0.5) / 0.5
        self.assertEqual(px.baseline.data, "scatter")       # same data mode
        self.assertAlmostEqual(config(self.res, "openmp", 2, "local").s, 0.095 / 0.050)
        # python-mp: S = 100 / 450
        self.assertAlmostEqual(config(self.res, "python-mp", 2).s, 0.1 / 0.45)

    def test_identity(self):
        px = config(self.res, "posix", 2)
        self.assertEqual((px.model, px.label, px.scaling, px.size), ("processes", "posix pipe",
                                                                     "strong", "medium"))
        # the config key says ipc=pipe for openmp; its label does not
        self.assertEqual(config(self.res, "openmp", 2).label, "openmp")
        self.assertEqual(config(self.res, "python-mp", 2).model, "reference")

    def test_status(self):
        bad = {(c.backend, c.workers): c.status for c in self.res.not_ok()}
        self.assertEqual(bad, {("mpi", 2): "failed", ("posix", 4): "timeout"})
        self.assertTrue(config(self.res, "openmp", 4).oversubscribed)

    def test_columns_by_name(self):
        """Another column order and unknown extra columns give the same report."""
        d = self.tmp()
        rows = crafted()
        with open(os.path.join(d, "a.csv"), "w") as f:
            f.write(to_csv(rows, HEAD))
        for r in rows:
            r["future_column"] = "42"
        with open(os.path.join(d, "b.csv"), "w") as f:
            f.write(to_csv(rows, list(reversed(HEAD)) + ["future_column"]))
        a = rt.build(results_of(st.read_csv(os.path.join(d, "a.csv"))), None, {}, "-", (1, "x"))
        b = rt.build(results_of(st.read_csv(os.path.join(d, "b.csv"))), None, {}, "-", (1, "x"))
        self.assertIn("threads are 1.60× faster", a)
        self.assertEqual(a, b)

    def tmp(self):
        import tempfile
        d = tempfile.mkdtemp(prefix="tvp-test-report.")
        self.addCleanup(lambda: __import__("shutil").rmtree(d))
        return d

    def test_weak_scaling(self):
        # weak: 1000 items per worker.  serial(n=1000) 10 ms; openmp 2 workers (n=2000)
        # 12.5 ms: E = 10 / 12.5 = 0.8, scaled speedup S = 2 * 0.8 = 1.6; no Karp-Flatt
        rows = run_rows("serial", 1, [0.010], data="local", scaling="weak", size="small")
        rows += run_rows("openmp", 2, [0.0125], data="local", scaling="weak", size="small",
                         n=2000)
        res = results_of(rows)
        om = config(res, "openmp", 2, "local")
        self.assertAlmostEqual(om.e, 0.8)
        self.assertAlmostEqual(om.s, 1.6)
        self.assertIsNone(om.kf)
        self.assertEqual(om.base_n, 1000)

    def test_break_even_in_report(self):
        # openmp at 2 workers: small (n=1000) 10 / 20 = 0.5, medium (n=10000) 100 / 50 = 2:
        # beats serial from n = 10,000
        rows = run_rows("serial", 1, [0.010], size="small", n=1000)
        rows += run_rows("openmp", 2, [0.020], size="small", n=1000)
        rows += run_rows("serial", 1, [0.100], size="medium", n=10000)
        rows += run_rows("openmp", 2, [0.050], size="medium", n=10000)
        text = "\n".join(rt.break_even_lines(results_of(rows), "squares"))
        self.assertIn("| openmp | 2 | 0.50 | 2.00 | n = 10,000 (medium) |", text)


class VerdictText(unittest.TestCase):
    def setUp(self):
        self.res = results_of(crafted())
        self.text = rt.build(self.res, None, {}, "Plots skipped (test).", (1, "0"))

    def lines(self, data):
        sc = ("squares", "strong", "medium", data, None)
        return rt.scenario_lines(self.res, sc)

    def test_threads_faster_processes_move_data(self):
        v = rt.Verdict(config(self.res, "openmp", 2), config(self.res, "posix", 2))
        self.assertEqual((v.winner, v.tie, v.reason), ("threads", False, "move"))
        self.assertAlmostEqual(v.ratio, 1.6)
        line = [l for l in self.lines("scatter") if l.startswith("- **2 workers")][0]
        self.assertEqual(
            line,
            "- **2 workers — threads are 1.60× faster** (openmp 50.0 ms, S = 2.00; posix "
            "pipe 80.0 ms, S = 1.25): processes spend 38 % of their time moving data "
            "(distribute+collect: 30.0 ms, 16.0 kB per run), threads 0 %. (Also at 2 "
            "workers: mpi failed.)")

    def test_tie_compute_dominates(self):
        v = rt.Verdict(config(self.res, "openmp", 2, "local"),
                       config(self.res, "posix", 2, "local"))
        self.assertTrue(v.tie)
        self.assertEqual(v.reason, "tie-compute")
        line = [l for l in self.lines("local") if l.startswith("- **2 workers")][0]
        self.assertEqual(
            line,
            "- **2 workers — a tie, within 2 %** (openmp 50.0 ms, S = 1.90; posix shm "
            "51.0 ms, S = 1.86): compute dominates (threads 98 %, processes 94 % of "
            "t_total): threads and processes are within 2 % — the model does not matter "
            "here; pick by convenience.")

    def test_summary(self):
        rows = rt.summary_rows(self.res)
        self.assertEqual(len(rows), 2)  # squares x (local, scatter)
        local, scatter = rows
        self.assertEqual(scatter[2], "2")
        self.assertEqual(scatter[3], "threads (openmp), 1.60×")
        self.assertEqual(scatter[5], "2.00 / 1.25")
        self.assertEqual(scatter[6], "processes move data: 38 % of t_total")
        self.assertEqual(local[3], "tie: openmp ≈ posix shm")
        self.assertIn("| squares | strong scaling, size medium (n = 1,000), data scatter | 2 "
                      "| threads (openmp), 1.60× | 50.0 ms / 80.0 ms | 2.00 / 1.25 | processes move data: 38 % of t_total |", self.text)

    def test_failed_and_timeout_reported(self):
        t = self.text
        self.assertIn("## Runs that did not succeed", t)
        self.assertIn("- squares, mpi, 2 workers, strong scaling, size medium (n = 1,000), "
                      "data scatter: **failed**", t)
        self.assertIn("- squares, posix pipe, 4 workers, strong scaling, size medium "
                      "(n = 1,000), data scatter: **timed out**", t)
        # at 4 workers: no comparison, the timeout named, oversubscription flagged
        four = [l for l in self.lines("scatter") if l.startswith("- **4 workers")][0]
        self.assertEqual(
            four, "- **4 workers** — no comparison: threads: openmp 60.0 ms; processes: "
            "posix pipe timed out. *Oversubscribed (more workers than PUs): not evidence of "
            "scaling.*")
        # the tables show them with their status
        self.assertRegex(t, r"\| strong medium scatter \| 2 \| 1,000 \| failed \| 0 \|")
        self.assertRegex(t, r"\| strong medium scatter \| pipe \| 4 \| 1,000 \| timed out \|")

    def test_reference_and_oversubscribed(self):
        t = self.text
        self.assertIn("### python-mp — reference: Python multiprocessing.Pool.map, not a tvp "
                      "backend", t)
        self.assertIn("- reference, Python `multiprocessing.Pool.map` (python-mp, not a tvp "
                      "backend), 2 workers: 450 ms, S = 0.22 — 9.00× the time of the fastest "
                      "tvp backend at 2 workers (openmp 50.0 ms)", t)
        self.assertIn("## Oversubscribed runs", t)
        self.assertIn("- squares, openmp, 4 workers, strong scaling", t)
        # the summary does not pick the oversubscribed worker count
        self.assertNotIn("(oversubscribed)", "\n".join(t.split("## Runs")[0:1]))

    def test_startup_reason(self):
        # processes lose in t_startup: 1 + 3 ms against 0.1 ms
        rows = run_rows("serial", 1, [0.010])
        rows += run_rows("openmp", 2, [0.0051], phases=(0.0001, 0, None, 0))
        rows += run_rows("posix", 2, [0.0080], phases=(0.003, 0, None, 0), ipc="shm")
        v = rt.Verdict(config(results_of(rows), "openmp", 2),
                       config(results_of(rows), "posix", 2))
        self.assertEqual(v.reason, "startup")
        self.assertIn("waking the workers for each run (t_startup) costs processes 3.00 ms "
                      "(38 % of t_total), threads 100 µs (2 %)", v.long)

    def test_processes_win_on_compute(self):
        rows = run_rows("serial", 1, [0.010])
        rows += run_rows("openmp", 2, [0.008], phases=(0, 0, None, 0))
        rows += run_rows("posix", 2, [0.006], phases=(0, 0, None, 0), ipc="shm")
        res = results_of(rows)
        v = rt.Verdict(config(res, "openmp", 2), config(res, "posix", 2))
        self.assertEqual((v.winner, v.reason), ("processes", "compute"))
        self.assertEqual(v.short, "threads' compute phase is 1.33× longer")

    def test_slurm_line(self):
        env = {"host": "n1", "slurm": {"job_id": "812301", "partition": "compute",
                                       "nodelist": "n[1-2]", "ntasks": "4"}}
        text = rt.build(self.res, env, {}, "Plots skipped (test).", (1, "0"))
        self.assertIn("- **slurm**: job 812301, partition compute, nodes n[1-2], tasks 4 "
                      "(the first job's; the others' are in env-*.json)", text)
        self.assertNotIn("**slurm**", self.text)  # not in a job: no line

    def test_beyond_one_node(self):
        self.assertIn("## Beyond one node", self.text)
        self.assertIn("- **squares**: openmp, posix — one node; mpi — across nodes:", self.text)

    def test_noise_overlapping_runs(self):
        # medians 6 against 8 ms, but threads' runs spread up to 9 ms: Q3 (8.75) >= Q1 (8)
        rows = run_rows("serial", 1, [0.010])
        rows += run_rows("openmp", 2, [0.005, 0.006, 0.008, 0.009], phases=(0, 0, None, 0))
        rows += run_rows("posix", 2, [0.008, 0.008, 0.008, 0.008], phases=(0, 0, None, 0),
                         ipc="shm")
        res = results_of(rows)
        v = rt.Verdict(config(res, "openmp", 2), config(res, "posix", 2))
        self.assertEqual((v.winner, v.noisy), ("threads", True))
        self.assertTrue(v.short.endswith("(IQRs overlap: within noise)"))
        # apart: no such remark
        rows = run_rows("serial", 1, [0.010])
        rows += run_rows("openmp", 2, [0.005, 0.006, 0.006, 0.007], phases=(0, 0, None, 0))
        rows += run_rows("posix", 2, [0.008, 0.008, 0.008, 0.008], phases=(0, 0, None, 0),
                         ipc="shm")
        res = results_of(rows)
        v = rt.Verdict(config(res, "openmp", 2), config(res, "posix", 2))
        self.assertFalse(v.noisy)
        self.assertNotIn("noise", v.short)

    def test_reference_at_another_n(self):
        # compare runs python-mp at a smaller n than tvp, with bind=none in its key.
        # openmp: 50 ms / 1000 items = 50 us per item; python-mp: 20 ms / 100 = 200 us per
        # item: 4x.  No tvp-serial run of n = 100: no speedup.
        rows = run_rows("serial", 1, [0.100])
        rows += run_rows("openmp", 2, [0.050])
        py = run_rows("python-mp", 2, [0.020], n=100)
        for r in py:
            r["config"] = r["config"].replace("bind=core", "bind=none")
        res = results_of(rows + py)
        c = config(res, "python-mp", 2)
        self.assertEqual(c.label, "python-mp")  # bind=none alone does not name a variant
        self.assertIsNone(c.s)
        sc = ("squares", "strong", "medium", "scatter", None)
        self.assertEqual(rt.scenario_title(sc, rt.scenario_n(res.in_scenario(sc))),
                         "strong scaling, size medium (n = 1,000), data scatter")
        self.assertIn(
            "- reference, Python `multiprocessing.Pool.map` (python-mp, not a tvp backend), 2 "
            "workers: 20.0 ms at n = 100 (no tvp-serial run of this n: no speedup) — per "
            "item 200 µs, 4.00× the fastest tvp backend at 2 workers (openmp 50.0 µs per "
            "item at n = 1,000)", rt.scenario_lines(res, sc))

    def test_deterministic(self):
        again = rt.build(results_of(crafted()), None, {}, "Plots skipped (test).", (1, "0"))
        self.assertEqual(self.text, again)


# ---- probes.csv (scripts/lib/probes.sh; the probe record, schema 1) -------------------------

PROBE_HEAD = ("schema,tool_version,git_commit,timestamp_utc,host,backend,probe,what,workers,"
              "placement,size_bytes,outer,inner,mean_us,median_us,min_us,max_us,sd_us,"
              "ci95_lo_us,ci95_hi_us,bandwidth_MBps,rss_kb,pss_kb,notes").split(",")


def prow(backend, probe, what, median=None, placement="-", size=0, workers=2, mbps=None,
         rss=None, pss=None, notes="", lo=None, hi=None):
    """One probe row; min and max default to the median."""
    r = {h: "" for h in PROBE_HEAD}
    r.update(schema="1", backend=backend, probe=probe, what=what, workers=str(workers),
             placement=placement, size_bytes=str(size), notes=notes)
    if median is not None:
        r.update(outer="5", inner="8", mean_us="%.4f" % median, median_us="%.4f" % median,
                 min_us="%.4f" % (median if lo is None else lo),
                 max_us="%.4f" % (median if hi is None else hi))
    if mbps is not None:
        r["bandwidth_MBps"] = "%g" % mbps
    if rss is not None:
        r.update(rss_kb=str(rss), pss_kb=str(pss))
    return r


def mem_rows(backend, stages):
    """stages: [(stage, total rss_kb, total pss_kb)], 2 workers: per worker = total / 2."""
    rows = []
    for stage, rss, pss in stages:
        rows.append(prow(backend, "memory", stage + ": total", rss=rss, pss=pss,
                         size=64 << 20))
        rows.append(prow(backend, "memory", stage + ": per worker", rss=rss // 2,
                         pss=pss // 2, size=64 << 20))
    return rows


def probe_rows():
    """A hand-made probes.csv: mpi first in the file (the report orders openmp, posix,
    mpi), posix's stages out of order, a duplicated row.

    spawn: fork of 2 children 600 µs, with 256 MiB touched 18 ms (30.0x); the first region
    75 µs bound (600 / 75 = 8.00x), 4 ms unbound; the empty region 0.5 µs (600 / 0.5 =
    1200x); MPI_Init with ob1+vader 50 ms (50000 / 600 = 83.3x; preferred to this launch's),
    its whole launch 150 ms, mpirun alone 40 ms.
    ipc at 8 B: openmp flag 0.5 µs; posix pipe 40 µs (80.0x), shm+flag 0.4 µs (0.5 / 0.4 =
    1.25x faster); at 1 MiB: flag 10,000 MB/s, pipe 2,500 (25 %), shm+flag 12,000 (120 %).
    switch, one core: threads 2.0 µs, posix pipe 2.5 µs (1.25x); two cores: threads 40 µs,
    posix pipe 30 µs (1.33x faster).
    memory (64 MiB input): after write, PSS threads 131072 kB = 128.0 MiB, posix 133120 kB =
    130.0 MiB (1.02x); after touch threads 128.0 MiB, posix 262144 kB = 256.0 MiB (2.00x);
    copy-on-write: threads +0.0 MiB, posix +126.0 MiB; after read posix RSS 196608 kB =
    192.0 MiB against PSS 65536 kB = 64.0 MiB (3.00x)."""
    rows = [prow("mpi", "spawn", "MPI_Init (this launch)", 45000.0),
            prow("mpi", "spawn", "mpirun true", 40000.0, placement="unbound"),
            prow("mpi", "spawn", "mpirun tvp-mpi (ob1+vader)", 150000.0, placement="unbound"),
            prow("mpi", "spawn", "MPI_Init (ob1+vader)", 50000.0, placement="unbound")]
    rows += [prow("openmp", "spawn", "first region (bound)", 75.0, placement="bound"),
             prow("openmp", "spawn", "first region (unbound)", 4000.0, placement="unbound"),
             prow("openmp", "spawn", "empty region", 0.5, placement="bound",
                  notes="steady state (EPCC PARALLEL)"),
             prow("posix", "spawn", "fork+_exit+waitpid", 999.0, placement="unbound"),
             prow("posix", "spawn", "fork+_exit+waitpid", 18000.0, placement="unbound",
                  size=256 << 20)]
    # the bare fork again, later: this one counts
    rows.append(prow("posix", "spawn", "fork+_exit+waitpid", 600.0, placement="unbound",
                     lo=550.0, hi=700.0))
    for size, (fl, pi, sh) in ((8, (0.5, 40.0, 0.4)), (64, (0.6, 41.0, 0.5)),
                               (1 << 20, (210.0, 900.0, 180.0))):
        bw = {8: (16, 0.2, 20), 64: (106, 1.6, 128), 1 << 20: (10000, 2500, 12000)}[size]
        rows.append(prow("openmp", "ipc", "flag", fl, "different-cores", size, mbps=bw[0]))
        rows.append(prow("posix", "ipc", "pipe", pi, "different-cores", size, mbps=bw[1]))
        rows.append(prow("posix", "ipc", "shm+flag", sh, "different-cores", size,
                         mbps=bw[2]))
    rows += [prow("openmp", "switch", "futex", 4.0, "same-core"),
             prow("openmp", "switch", "context switch (futex)", 2.0, "same-core"),
             prow("openmp", "switch", "futex", 40.0, "different-cores"),
             prow("posix", "switch", "pipe", 5.0, "same-core", 1),
             prow("posix", "switch", "context switch (pipe)", 2.5, "same-core", 1),
             prow("posix", "switch", "pipe", 30.0, "different-cores", 1)]
    rows += mem_rows("openmp", [("after read", 66560, 65536), ("after write", 132096, 131072),
                                ("after touch", 132096, 131072)])
    rows += mem_rows("posix", [("after touch", 264192, 262144), ("after read", 196608, 65536),
                               ("after write", 264192, 133120)])
    return rows


class ProbeSelection(unittest.TestCase):
    def setUp(self):
        self.p = rp.Probes(probe_rows())

    def test_order_and_duplicates(self):
        self.assertEqual(self.p.backends(), ["openmp", "posix", "mpi"])
        forks = self.p.select("spawn", backend="posix")
        # the later bare fork replaced the earlier one, at its place (before the touched one)
        self.assertEqual([(r.size, r.median) for r in forks], [(0, 600.0),
                                                                (256 << 20, 18000.0)])
        self.assertEqual(self.p.nraw, len(probe_rows()))
        self.assertEqual(len(self.p.rows), len(probe_rows()) - 1)

    def test_ipc_selection(self):
        mechs = self.p.mechanisms()
        self.assertEqual(mechs, [("openmp", "flag", "different-cores"),
                                 ("posix", "pipe", "different-cores"),
                                 ("posix", "shm+flag", "different-cores")])
        pipe = mechs[1]
        self.assertEqual([r.size for r in self.p.series(pipe)], [8, 64, 1 << 20])
        self.assertEqual(self.p.latency_row(pipe).median, 40.0)
        self.assertEqual(self.p.largest_row(pipe).mbps, 2500)
        # no 8-byte row: the smallest size's
        self.assertEqual(self.p.latency_row(pipe, size=16).size, 8)
        rows = [r for r in probe_rows() if not (r["probe"] == "ipc" and r["size_bytes"] == "8")]
        q = rp.Probes(rows)
        self.assertEqual(q.latency_row(pipe).size, 64)

    def test_memory_stages(self):
        st_, order = self.p.stages("posix")
        self.assertEqual(order, ["after read", "after write", "after touch"])
        self.assertEqual(st_["after touch"]["total"].pss, 262144)
        self.assertEqual(st_["after read"]["per worker"].rss, 98304)
        # tvp-mpi's extra stage (after bcast) and its per-rank rows: after the known stages
        q = rp.Probes(mem_rows("mpi", [("after bcast", 10, 8), ("after read", 20, 16)]) +
                      [prow("mpi", "memory", "after read: rank 0", rss=10, pss=8)])
        st_, order = q.stages("mpi")
        self.assertEqual(order, ["after read", "after bcast"])
        self.assertEqual(sorted(st_["after read"]), ["per worker", "rank 0", "total"])

    def test_formatting(self):
        self.assertEqual([rp.fmt_size(b) for b in (8, 1024, 16 << 20, 1000000, 1 << 30)],
                         ["8 B", "1 KiB", "16 MiB", "1,000,000 B", "1 GiB"])
        self.assertEqual([rp.fmt_us(v) for v in (0.0912, 4.5, 45.12, 123.4, 19944.4)],
                         ["0.09", "4.50", "45.1", "123", "19,944"])
        self.assertEqual(rp.fmt_rel(2.5, 2.0), "1.25× threads'")
        self.assertEqual(rp.fmt_rel(30.0, 40.0), "1.33× faster than threads'")
        self.assertEqual(rp.fmt_rel(60.0, 40.0, "threads' best"), "1.50× threads' best")
        self.assertEqual(rp.fmt_mib(133120), "130.0")

    def test_spawn_readings(self):
        self.assertEqual(rp.spawn_readings(self.p), [
            "Creating 2 processes (fork + _exit + waitpid) costs 600 µs, 2 threads 75.0 µs "
            "(the first parallel region of a fresh process, bound): 8.00×; unbound, the "
            "first region takes 4.00 ms.",
            "With the parent holding 256 MiB of touched memory, the same fork costs 18.0 ms, "
            "30.0× the bare fork (the page tables are copied).",
            "Threads, once created, are reused: in the steady state an empty parallel region "
            "costs 500 ns, 1200× cheaper than creating the processes.",
            "Starting 2 MPI ranks: MPI_Init costs 50.0 ms (ob1+vader), 83.3× the fork of 2 "
            "processes; a whole launch (`mpirun tvp-mpi`, ob1+vader) takes 150 ms, mpirun "
            "alone (`mpirun true`) 40.0 ms."])

    def test_ipc_readings(self):
        self.assertEqual(rp.ipc_readings(self.p), [
            "The round trip at 8 B: threads 500 ns (flag); processes 40.0 µs (posix pipe, "
            "80.0× threads'), 400 ns (posix shm+flag, 1.25× faster than threads').",
            "At 1 MiB: threads 10,000 MB/s (flag); processes 2,500 MB/s (posix pipe, 25 % of "
            "threads'), 12,000 MB/s (posix shm+flag, 120 % of threads')."])

    def test_ipc_threads_best(self):
        # a second threads mechanism (barrier, 0.8 µs at 8 B): processes are compared with
        # the threads' best (flag, 0.5 µs): pipe 40 / 0.5 = 80.0x
        rows = probe_rows() + [prow("openmp", "ipc", "barrier", 0.8, "different-cores", 8,
                                    mbps=10)]
        first = rp.ipc_readings(rp.Probes(rows))[0]
        self.assertEqual(first, "The round trip at 8 B: threads 500 ns (flag), 800 ns "
                                "(barrier); processes 40.0 µs (posix pipe, 80.0× threads' "
                                "best), 400 ns (posix shm+flag, 1.25× faster than threads' "
                                "best).")

    def test_switch(self):
        self.assertEqual(rp.switch_readings(self.p), [
            "A context switch on one core (a blocking round trip there, halved): threads "
            "2.00 µs (futex); processes 2.50 µs (posix pipe, 1.25× threads').",
            "A blocking round trip between two cores (a wake-up each way): threads 40.0 µs "
            "(futex); processes 30.0 µs (posix pipe, 1.33× faster than threads')."])
        self.assertEqual(rp.switch_table(self.p), [
            "|  | threads (openmp) futex | processes (posix) pipe |",
            "|---|---|---|",
            "| round trip, one core | 4.00 µs | 5.00 µs |",
            "| context switch, one core (round trip / 2) | 2.00 µs | 2.50 µs |",
            "| round trip, two cores | 40.0 µs | 30.0 µs |"])

    def test_memory(self):
        self.assertEqual(rp.memory_readings(self.p), [
            "With a 64 MiB input and 2 workers, the PSS total once every worker has written "
            "its output: threads 128.0 MiB, processes (posix) 130.0 MiB (1.02×); once they "
            "have written into the input: threads 128.0 MiB, processes (posix) 256.0 MiB "
            "(2.00×).",
            "Writing into the shared input (copy-on-write) added to the PSS total: threads "
            "+0.0 MiB, processes (posix) +126.0 MiB.",
            "RSS counts a shared page in every process that maps it: after the read the "
            "processes' (posix) RSS total is 192.0 MiB, their PSS 64.0 MiB (3.00×)."])
        table = rp.memory_table(self.p)
        self.assertIn("| after touch (each worker wrote into the input) | "
                      "129.0 / 128.0 | 64.5 / 64.0 | 258.0 / 256.0 | 129.0 / 128.0 |", table)

    def test_tables(self):
        spawn = rp.spawn_table(self.p)
        self.assertEqual(spawn[0], "| threads (tvp-openmp) | median | min – max | processes "
                                   "| median | min – max |")
        self.assertIn("| first region (bound) | 75.0 µs | 75.0 µs – 75.0 µs | posix: "
                      "fork+_exit+waitpid, parent holds nothing touched | 600 µs | 550 µs – "
                      "700 µs |", spawn)
        self.assertIn("| empty region (steady state) | 500 ns | 500 ns – 500 ns | mpi: MPI_Init "
                      "(this launch) | 45.0 ms | 45.0 ms – 45.0 ms |", spawn)
        self.assertIn("|  |  |  | mpi: MPI_Init (ob1+vader) | 50.0 ms | 50.0 ms – 50.0 ms |",
                      spawn)
        ipc = rp.ipc_summary_table(self.p)
        self.assertIn("| openmp flag (different-cores) | 500 ns | 10,000 MB/s (1 MiB) | posix "
                      "pipe (different-cores) | 40.0 µs | 2,500 MB/s (1 MiB) |", ipc)
        self.assertIn("|  |  |  | posix shm+flag (different-cores) | 400 ns | 12,000 MB/s "
                      "(1 MiB) |", ipc)
        osu = rp.osu_table(self.p)
        self.assertEqual(osu[0], "| size | openmp flag µs | MB/s | posix pipe µs | MB/s | "
                                 "posix shm+flag µs | MB/s |")
        self.assertEqual(osu[2], "| 8 B | 0.50 | 16.0 | 40.0 | 0.20 | 0.40 | 20.0 |")
        self.assertEqual(osu[4], "| 1 MiB | 210 | 10,000 | 900 | 2,500 | 180 | 12,000 |")

    def test_section(self):
        sec = rp.section(self.p, [("IPC", "probes-ipc")], None, (42, "abc"))
        text = "\n".join(sec)
        self.assertEqual(sec[0], "## What separates processes from threads (probes)")
        self.assertIn("2 workers: threads are tvp-openmp, processes tvp-posix (fork) and "
                      "tvp-mpi (MPI ranks).", text)
        self.assertNotIn("No rows from", text)
        for sub in ("### Start-up: creating workers", "### IPC: moving bytes between two "
                    "workers", "### Context switch", "### Memory",
                    "- IPC: [SVG](plots/probes-ipc.svg), [PNG](plots/probes-ipc.png)",
                    "*From probes.csv (42 rows, sha256 abc).*"):
            self.assertIn(sub, text)
        self.assertEqual(sec, rp.section(rp.Probes(probe_rows()), [("IPC", "probes-ipc")],
                                         None, (42, "abc")))
        # processes only: threads not measured, no readings that need them
        only = rp.Probes([r for r in probe_rows() if r["backend"] == "posix"])
        text = "\n".join(rp.section(only))
        self.assertIn("threads are not measured (no tvp-openmp rows), processes tvp-posix "
                      "(fork).  ", text)
        self.assertIn("No rows from tvp-openmp, tvp-mpi (see probes.log).", text)
        self.assertIn("- Creating 2 processes (fork + _exit + waitpid) costs 600 µs.", text)
        self.assertIn("- The round trip at 8 B: processes 40.0 µs (posix pipe), 400 ns (posix "
                      "shm+flag).", text)

    def test_read_csv_and_report(self):
        import tempfile
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "probes.csv")
            with open(path, "w", encoding="utf-8") as f:
                f.write(to_csv(probe_rows(), PROBE_HEAD))
            dicts = rp.read_csv(path)
        self.assertEqual(len(dicts), len(probe_rows()))
        self.assertEqual(rp.Probes(dicts).latency_row(("posix", "pipe",
                                                        "different-cores")).median, 40.0)
        sec = rp.section(rp.Probes(dicts))
        text = rt.build(results_of(crafted()), None, {}, "Plots skipped (test).", (1, "0"),
                        probes=sec)
        a, b, c = (text.index("## Summary"), text.index("## What separates"),
                   text.index("## Runs that did not succeed"))
        self.assertTrue(a < b < c)
        plain = rt.build(results_of(crafted()), None, {}, "Plots skipped (test).", (1, "0"))
        self.assertNotIn("## What separates", plain)


if __name__ == "__main__":
    unittest.main(verbosity=1)
