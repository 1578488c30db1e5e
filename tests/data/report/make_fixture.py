"""Makes tests/data/report/results.csv from real runs (not run by the tests: the fixture is
committed so that the report test is deterministic).

usage: /usr/bin/python3 make_fixture.py BUILD_DIR > results.csv
       (BUILD_DIR holds tvp-serial, tvp-openmp and tvp-posix)

squares on tvp-serial, tvp-openmp and tvp-posix (pipe and shm), --data local and scatter,
sizes small (100k), medium (1M) and large (20M) at 1 and 2 workers, 3 timed runs after 1
warm-up, verified; tvp-openmp at 4 workers (oversubscribed on a 2-PU machine); a weak-scaling
sweep of 100k items per worker; python-mp, the multiprocessing.Pool.map reference (2
workers, 100k items); and, written by hand in the format of scripts/tvp compare, a failed
tvp-mpi configuration and a timed-out tvp-posix one (posix pipe, 2 workers, large, scatter:
not run).  env.json beside it: scripts/lib/env_json.py.
"""
import csv
import io
import multiprocessing
import subprocess
import sys
import time

N_SMALL, N_MEDIUM, N_LARGE = 100000, 1000000, 20000000


def key(be, w, data, ipc, size, scaling):
    return "squares|%s|w=%d|data=%s|ipc=%s|bind=core|size=%s|scaling=%s" % (
        be, w, data, ipc, size, scaling)


def square(x):
    return x * x


class Sweep:
    def __init__(self, build):
        self.build, self.rows, self.header = build, [], None

    def run(self, be, w, n, data, ipc, size, scaling):
        cmd = ["%s/tvp-%s" % (self.build, be), "squares", "--n", str(n), "--data", data,
               "--ipc", ipc, "--schedule", "static", "--repeat", "3", "--warmup", "1",
               "--verify", "--bind", "core", "--format", "csv"]
        if be != "serial":
            cmd += ["--workers", str(w)]
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit("%s: exit %d: %s" % (" ".join(cmd), p.returncode, p.stderr))
        table = list(csv.reader(io.StringIO(p.stdout)))
        self.header = table[0]
        for x in table[1:]:
            self.rows.append(["ok", key(be, w, data, ipc, size, scaling), scaling, size] + x)

    def row(self, status, k, scaling, size, **fields):
        d = {h: "" for h in self.header}
        d.update(fields)
        self.rows.append([status, k, scaling, size] + [d[h] for h in self.header])


def main():
    sw = Sweep(sys.argv[1])
    for size, n in (("small", N_SMALL), ("medium", N_MEDIUM), ("large", N_LARGE)):
        for data in ("local", "scatter"):
            sw.run("serial", 1, n, data, "pipe", size, "strong")
            for w in (1, 2):
                sw.run("openmp", w, n, data, "pipe", size, "strong")
                if not (size == "large" and data == "scatter" and w == 2):  # the timeout
                    sw.run("posix", w, n, data, "pipe", size, "strong")
                sw.run("posix", w, n, data, "shm", size, "strong")
    sw.run("openmp", 4, N_SMALL, "local", "pipe", "small", "strong")  # oversubscribed
    sw.run("serial", 1, N_SMALL, "local", "pipe", "small", "weak")
    for w in (1, 2):
        sw.run("openmp", w, N_SMALL * w, "local", "pipe", "small", "weak")
        sw.run("posix", w, N_SMALL * w, "local", "pipe", "small", "weak")
    # what scripts/tvp compare writes for a configuration that did not finish
    sw.row("failed", key("mpi", 2, "local", "none", "small", "strong"), "strong", "small",
           backend="mpi", workload="squares", workers="2", data="local", ipc="none",
           n=str(N_SMALL))
    sw.row("timeout", key("posix", 2, "scatter", "pipe", "large", "strong"), "strong",
           "large", backend="posix", workload="squares", workers="2", data="scatter",
           ipc="pipe", n=str(N_LARGE))
    # the reference: multiprocessing.Pool.map over N_SMALL items, 2 workers, a warm pool
    items = list(range(-N_SMALL // 2, N_SMALL // 2))
    want = [x * x for x in items]
    host = sw.rows[0][4 + sw.header.index("host")]
    with multiprocessing.Pool(2) as pool:
        pool.map(square, items)
        for rep in range(3):
            t0 = time.perf_counter()
            got = pool.map(square, items)
            t = time.perf_counter() - t0
            sw.row("ok", key("python-mp", 2, "scatter", "pipe", "small", "strong"), "strong",
                   "small", schema="3", host=host, backend="python-mp", workload="squares",
                   input="generated", n=str(N_SMALL), data="scatter", ipc="pipe",
                   workers="2", oversubscribed="0", repeat=str(rep), warmup="1",
                   t_total="%.9f" % t, items_per_s="%g" % (N_SMALL / t),
                   verified="1" if got == want else "0")
    w = csv.writer(sys.stdout, lineterminator="\n")
    w.writerow(["status", "config", "scaling", "size"] + sw.header)
    w.writerows(sw.rows)


if __name__ == "__main__":
    main()
