#!/usr/bin/env python3
"""squares through Python's multiprocessing: the reference tvp's backends are measured against.

usage: mp_squares.py --workers P [--n N] [--seed S] [--repeat R] [--warmup K]
                     [--chunksize C] [--start-method fork|spawn|forkserver]
                     [--header CSVLINE] [--schema V] [--record FILE]

out[i] = in[i] * in[i] over Python ints (int64 values), as `multiprocessing.Pool(P).map(square,
inputs, chunksize)`.  The input is tvp's squares input: item i is the top 32 bits of
splitmix64(seed + (i+1) * 0x9e3779b97f4a7c15) as a signed value, made once before timing, so
checksum_sum equals tvp-serial's for the same --n and --seed.

Each timed run (after --warmup untimed ones) makes a Pool (t_startup), maps (t_compute: the
inputs pickled to the workers, the squares, the results pickled back, as Pool.map does them
in one call), and closes and joins the pool (t_collect: its shutdown); t_total is the sum.
Each run's output is checked: its length and its sum mod 2^64 against the serial one
(verified=1, or 0 and exit 1).  One record row per timed run, in tvp's record columns
(--header: the header line tvp writes; by default record schema 3), backend python-mp,
schedule dynamic (Pool.map hands chunks to whichever worker is free), chunk = the
chunksize, data scatter, ipc and transport pipe, bind none (the pool's workers are not
pinned; cpus -1), bytes_moved the pickled size of the input and output chunks.  Fields it
cannot know (checksum_crc64, peak_rss_kb) are empty.  The medians go to stderr.
Standard library only (Debian's /usr/bin/python3)."""

import argparse
import csv
import datetime
import io
import math
import multiprocessing
import os
import pickle
import platform
import socket
import statistics
import sys
import time

M64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15

# tvp's record columns, schema 3 (common/record.c); --header replaces them
SCHEMA3 = ("schema,tool_version,git_commit,timestamp_utc,host,backend,workload,input,n,seed,"
           "width,height,channels,filters,iterations,columns,fields,classes,schedule,chunk,data,"
           "ipc,workers,bind,cpus,oversubscribed,transport,repeat,warmup,t_init,t_touch,"
           "t_startup,t_distribute,t_compute,t_collect,t_total,t_parse,t_fit,t_merge,t_encode,"
           "t_format,items_per_s,bytes_per_s,pixels_per_s,rows_per_s,fields_per_s,bytes_moved,"
           "halo_bytes,merge_bytes,peak_rss_kb,checksum_sum,checksum_crc64,verified")


def square(x):
    return x * x


def generate(n, seed):
    """tvp's squares input (common/squares.c): any item from the seed and its index alone"""
    out = [0] * n
    state = seed & M64
    for i in range(n):
        state = (state + GOLDEN) & M64  # seed + (i+1) * golden
        z = ((state ^ (state >> 30)) * 0xBF58476D1CE4E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
        v = (z ^ (z >> 31)) >> 32
        out[i] = v - (1 << 32) if v >= 1 << 31 else v
    return out


def whole(text):
    """a whole number with tvp's k/M/G suffixes"""
    mult = {"k": 10**3, "K": 10**3, "M": 10**6, "G": 10**9}.get(text[-1:], 1)
    body = text[:-1] if mult != 1 else text
    if not body.isdigit():
        raise argparse.ArgumentTypeError("'%s' is not a whole number (k, M, G allowed)" % text)
    return int(body) * mult


def positive(text):
    v = whole(text)
    if v < 1:
        raise argparse.ArgumentTypeError("'%s' must be at least 1" % text)
    return v


def one_run(a, data, chunksize):
    t0 = time.perf_counter()
    pool = multiprocessing.get_context(a.start_method).Pool(a.workers)
    t1 = time.perf_counter()
    try:
        out = pool.map(square, data, chunksize)
        t2 = time.perf_counter()
        pool.close()
        pool.join()
        t3 = time.perf_counter()
    except BaseException:
        pool.terminate()
        raise
    return out, t1 - t0, t2 - t1, t3 - t2


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workers", type=positive, required=True)
    ap.add_argument("--n", type=positive, default=2000000)
    ap.add_argument("--seed", type=whole, default=42)
    ap.add_argument("--repeat", type=positive, default=5)
    ap.add_argument("--warmup", type=whole, default=1)
    ap.add_argument("--chunksize", type=positive,
                    help="items per task (default: ceil(n / (4 x workers)), Pool.map's own rule)")
    ap.add_argument("--start-method", default="fork", choices=("fork", "spawn", "forkserver"))
    ap.add_argument("--header", default=SCHEMA3, help="the record's CSV header line")
    ap.add_argument("--schema", default="3", help="the record schema written in the schema column")
    ap.add_argument("--record", help="write the CSV here (atomically) instead of stdout")
    a = ap.parse_args()

    chunksize = a.chunksize or max(1, math.ceil(a.n / (4 * a.workers)))
    data = generate(a.n, a.seed)
    want_sum = sum(x * x for x in data) & M64
    chunks_in = [data[i:i + chunksize] for i in range(0, a.n, chunksize)]
    moved = sum(len(pickle.dumps(c, pickle.HIGHEST_PROTOCOL)) for c in chunks_in)
    moved += sum(len(pickle.dumps([x * x for x in c], pickle.HIGHEST_PROTOCOL)) for c in chunks_in)
    del chunks_in
    try:
        avail = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        avail = os.cpu_count() or 1

    for _ in range(a.warmup):
        one_run(a, data, chunksize)

    header = next(csv.reader([a.header]))
    rows, times, bad = [], [], 0
    for r in range(a.repeat):
        out, t_start, t_map, t_join = one_run(a, data, chunksize)
        got_sum = sum(out) & M64
        ok = len(out) == a.n and got_sum == want_sum
        if not ok:
            bad += 1
            print("mp_squares: run %d: %d items, sum 0x%016x; want %d items, sum 0x%016x"
                  % (r, len(out), got_sum, a.n, want_sum), file=sys.stderr)
        del out
        total = t_start + t_map + t_join
        times.append((t_start, t_map, t_join, total))
        f = {
            "schema": a.schema, "tool_version": "python-" + platform.python_version(),
            "git_commit": "",
            "timestamp_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "host": socket.gethostname(), "backend": "python-mp", "workload": "squares",
            "input": "generated", "n": a.n, "seed": a.seed,
            "width": 0, "height": 0, "channels": 0, "filters": "", "iterations": 0,
            "columns": 0, "fields": 0, "classes": "",
            "schedule": "dynamic", "chunk": chunksize, "data": "scatter", "ipc": "pipe",
            "workers": a.workers, "bind": "none", "cpus": " ".join(["-1"] * a.workers),
            "oversubscribed": int(a.workers > avail),
            "transport": "pipe start=" + a.start_method, "repeat": r, "warmup": a.warmup,
            "t_init": 0, "t_touch": 0, "t_startup": t_start, "t_distribute": 0,
            "t_compute": t_map, "t_collect": t_join, "t_total": total,
            "t_parse": 0, "t_fit": 0, "t_merge": 0, "t_encode": 0, "t_format": 0,
            "items_per_s": a.n / total, "bytes_per_s": 16 * a.n / total,
            "pixels_per_s": 0, "rows_per_s": 0, "fields_per_s": 0,
            "bytes_moved": moved, "halo_bytes": 0, "merge_bytes": 0, "peak_rss_kb": "",
            "checksum_sum": "0x%016x" % got_sum, "checksum_crc64": "",
            "verified": 1 if ok else 0, "recovered": 0, "t_detect": 0, "t_recovery": 0,
        }
        for k in ("t_startup", "t_compute", "t_collect", "t_total"):
            f[k] = "%.9f" % f[k]
        for k in ("items_per_s", "bytes_per_s"):
            f[k] = "%.1f" % f[k]
        rows.append([f.get(name, "") for name in header])

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    if a.record:
        tmp = "%s.tmp.%d" % (a.record, os.getpid())
        with open(tmp, "w") as fh:
            fh.write(buf.getvalue())
        os.replace(tmp, a.record)
    else:
        sys.stdout.write(buf.getvalue())
    med = [statistics.median(t[i] for t in times) * 1e3 for i in range(4)]
    print("python-mp squares n=%d workers=%d chunksize=%d: medians over %d runs: Pool() %.2f ms, "
          "map %.2f ms, close+join %.2f ms, total %.2f ms"
          % (a.n, a.workers, chunksize, a.repeat, *med), file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
