#!/usr/bin/env python3
"""The pool benchmark: tvp's process pool library (posix/pool.h) against Python's
multiprocessing.Pool on the same work, side by side in one invocation.

Squares of N int64 (default 10 million) over 2 workers, default chunk sizes on both sides:
  - Python: multiprocessing.Pool(2).map(square, list(range(N))), one untimed map, then
    R timed (the list is made once, outside the timing);
  - tvp_pool_map through pipes, through the shared arena with the caller's private arrays
    copied in and out, and in place on tvp_pool_shared_alloc arrays (test_pool's bench
    section: one untimed map, then 5 timed);
  - tvp-posix squares, the backend that runs on that pool, dynamic schedule, --data
    scatter over pipes and over shared memory, in the pool's default chunks (its record's
    t_total; 5 timed runs after one untimed: a worker's first touch of a shared page it has
    not used before is a page fault in its own page table, which threads would not pay).
The two sides alternate, R rounds of each, so that the machine's noise hits both alike;
every figure is a median.  Prints a table of medians and of Python's median over each.

usage: bench_pool.py TEST_POOL TVP_POSIX DATA_DIR --n N --rounds R --csv FILE --log FILE
"""
import argparse
import csv
import multiprocessing
import os
import re
import statistics
import subprocess
import sys
import time


def square(x):
    return x * x


def python_round(n, runs, items):
    """One Pool(2): an untimed map, then `runs` timed ones; their seconds."""
    out = []
    with multiprocessing.Pool(2) as pool:
        pool.map(square, items)
        for _ in range(runs):
            t0 = time.monotonic()
            got = pool.map(square, items)
            out.append(time.monotonic() - t0)
    if len(got) != n or got[-1] != (n - 1) * (n - 1) or got[12345 % n] != (12345 % n) ** 2:
        raise SystemExit("bench_pool: Python's map gave a wrong result")
    return out


BENCH_LINE = re.compile(r"^\s+(\S.*?)\s+([0-9.]+) ms")


def c_round(test_pool, data, n, log):
    """test_pool's bench section once: {mode: median ms}."""
    r = subprocess.run([test_pool, data, "bench", str(n)], capture_output=True, text=True)
    log.write(r.stdout + r.stderr)
    if r.returncode != 0:
        raise SystemExit("bench_pool: test_pool bench failed (exit %d); see the log" % r.returncode)
    got = {}
    for line in r.stdout.splitlines():
        m = BENCH_LINE.match(line)
        if m:
            got[m.group(1)] = float(m.group(2)) / 1e3
    return got


def posix_round(tvp_posix, n, ipc, runs, log):
    """tvp-posix squares, dynamic, scatter over `ipc`, in the chunks tvp_pool_map picks by
    default (a pipe's 1 MiB of items through pipes, n / 8 in shared memory): t_total."""
    rec = "%s.%d.csv" % (log.name, os.getpid())
    chunk = (1 << 20) // 8 if ipc == "pipe" else (n + 7) // 8
    cmd = [tvp_posix, "squares", "--n", str(n), "--workers", "2", "--schedule", "dynamic",
           "--chunk", str(chunk),
           "--data", "scatter", "--ipc", ipc, "--repeat", str(runs), "--warmup", "1",
           "--verify", "--format", "csv", "--record", rec]
    r = subprocess.run(cmd, capture_output=True, text=True)
    log.write(" ".join(cmd) + "\n" + r.stderr)
    try:
        if r.returncode != 0:
            raise SystemExit("bench_pool: %s failed (exit %d)" % (" ".join(cmd), r.returncode))
        with open(rec) as f:
            rows = list(csv.DictReader(f))
    finally:
        if os.path.exists(rec):
            os.unlink(rec)
    if any(row["verified"] != "1" for row in rows):
        raise SystemExit("bench_pool: tvp-posix did not verify")
    return [float(row["t_total"]) for row in rows]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("test_pool")
    ap.add_argument("tvp_posix")
    ap.add_argument("data")
    ap.add_argument("--n", type=int, default=10_000_000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--csv", required=True)
    ap.add_argument("--log", required=True)
    a = ap.parse_args()

    items = list(range(a.n))
    samples = {}  # name -> seconds
    with open(a.log, "w") as log:
        for r in range(a.rounds):
            print("  round %d of %d: Python ..." % (r + 1, a.rounds), end="", file=sys.stderr, flush=True)
            samples.setdefault("python Pool(2).map", []).extend(python_round(a.n, 1, items))
            print(" tvp_pool ...", end="", file=sys.stderr, flush=True)
            for mode, s in c_round(a.test_pool, a.data, a.n, log).items():
                samples.setdefault("tvp_pool_map " + mode, []).append(s)
            print(" tvp-posix ...", file=sys.stderr, flush=True)
            for ipc in ("pipe", "shm"):
                samples.setdefault("tvp-posix squares " + ipc, []).append(
                    statistics.median(posix_round(a.tvp_posix, a.n, ipc, 5, log)))

    py = statistics.median(samples["python Pool(2).map"])
    with open(a.csv, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["what", "n", "workers", "samples", "median_s", "min_s", "max_s", "python_over_this"])
        print("Squares of %d int64, 2 workers; medians of %d rounds, each side by side"
              % (a.n, a.rounds))
        print("Python %s, multiprocessing start method %s" % (sys.version.split()[0],
                                                             multiprocessing.get_start_method()))
        print("%-34s %10s %10s %10s %12s" % ("", "median ms", "min ms", "max ms", "Python / this"))
        for name, s in samples.items():
            med = statistics.median(s)
            w.writerow([name, a.n, 2, len(s), "%.6f" % med, "%.6f" % min(s), "%.6f" % max(s),
                        "%.1f" % (py / med)])
            print("%-34s %10.1f %10.1f %10.1f %11.1fx" % (name, med * 1e3, min(s) * 1e3,
                                                          max(s) * 1e3, py / med))
    print("(tvp_pool_map and tvp-posix: each round's figure is the median of 5 runs after an "
          "untimed one; Python: one timed map after an untimed one.  The targets: 30x through "
          "pipes, 100x through shared memory)")


if __name__ == "__main__":
    main()
