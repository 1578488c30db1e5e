"""tvp-serial's labelencode against pandas (end to end) and scikit-learn (compute only).

usage: bench_labelencode.py TVP_SERIAL SCRATCH_DIR [--rows N] [--runs R] [--records FILE]
                            [--csv FILE] [--log FILE]

1. The table: tvp-serial generates ROWS (default 2,000,000) x 3 columns of 1000 labels,
   Zipf skew 1.0, and encodes it (--classes-out c.json --out enc.csv); decoding enc.csv
   (--classes-in c.json --inverse) gives the generated labels as SCRATCH_DIR/table.csv,
   which is kept there for the caller (scripts/tvp bench labelencode, which deletes it).
2. End to end, as whole processes and in one Python process, after one untimed run each
   (the file in page cache): the median wall time of RUNS runs (default 5, at least 5) of
     tvp-serial labelencode --in table.csv --out out.csv --classes-out classes.json
         --repeat 1 --warmup 0 --format csv
   against pandas: read_csv(dtype=str, keep_default_na=False), pd.factorize(col,
   sort=True) for every column, to_csv(index=False) (interpreter start and imports
   excluded).  Checks: pandas' codes equal tvp's out.csv column by column, pandas'
   uniques equal classes.json, and out.csv / classes.json equal enc.csv / c.json (the
   file is the generated table, byte for byte).
3. Compute only: tvp-serial labelencode --in table.csv --repeat RUNS --format csv, the
   median of t_fit + t_merge + t_encode (no parsing, no text formatting) against
   scikit-learn's LabelEncoder().fit_transform(col) on each column as the object array
   DataFrame.to_numpy() gives after read_csv, summed over the columns, median of RUNS
   (one untimed run first).  Checks: classes_ equal classes.json, codes equal pandas'.
Prints a table (seconds, M strings/s, ratio against the target: 5x end to end, 4x
compute).  --records: every tvp record (CSV, one header); --csv: the table as CSV;
--log: the tvp command lines, appended.

Needs Debian's /usr/bin/python3 with python3-pandas and python3-sklearn (apt, not pip).
Exit status: 0 ok, 1 an output differs, 2 usage, 3 a missing module or a failed tvp run."""

import argparse
import csv
import filecmp
import io
import json
import os
import statistics
import subprocess
import sys
import time

try:
    import numpy as np
    import pandas as pd
    import sklearn
    from sklearn.preprocessing import LabelEncoder
except ImportError as e:
    print(f"bench_labelencode: Python module {e.name} is missing (apt-get install "
          f"python3-pandas python3-sklearn; run with /usr/bin/python3)", file=sys.stderr)
    sys.exit(3)

COLUMNS, CARDINALITY, SKEW = 3, 1000, "1.0"
TARGET_E2E, TARGET_COMPUTE = 5.0, 4.0


class Mismatch(Exception):
    pass


def progress(msg):
    print("bench_labelencode: " + msg, file=sys.stderr, flush=True)


# ---- tvp -------------------------------------------------------------------------------

class Tvp:
    """Runs tvp-serial labelencode; keeps every CSV record it prints."""

    def __init__(self, exe, log):
        self.exe, self.log = exe, log
        self.header, self.rows = None, []

    def run(self, args, keep=True):
        """Runs tvp-serial labelencode ARGS --format csv; returns (wall seconds, records)."""
        cmd = [self.exe, "labelencode"] + args + ["--format", "csv"]
        if self.log:
            with open(self.log, "a") as f:
                f.write(f"{time.strftime('%H:%M:%S', time.gmtime())}  {' '.join(cmd)}\n")
        t0 = time.perf_counter()
        p = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        wall = time.perf_counter() - t0
        if p.returncode != 0:
            print(f"bench_labelencode: {' '.join(cmd)}: exit {p.returncode}: "
                  f"{p.stderr.strip()}", file=sys.stderr)
            sys.exit(3)
        lines = p.stdout.splitlines()
        if len(lines) < 2:
            print(f"bench_labelencode: {' '.join(cmd)}: no CSV record", file=sys.stderr)
            sys.exit(3)
        if self.header is None:
            self.header = lines[0]
        elif lines[0] != self.header:
            print(f"bench_labelencode: {' '.join(cmd)}: another CSV header than before",
                  file=sys.stderr)
            sys.exit(3)
        if keep:
            self.rows += lines[1:]
        return wall, list(csv.DictReader(io.StringIO(p.stdout)))

    def write_records(self, path):
        if self.header is None:
            return
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            f.write("\n".join([self.header] + self.rows) + "\n")
        os.replace(tmp, path)


def make_table(tvp, scratch, rows):
    """The generated table as SCRATCH/table.csv; returns its path, c.json and enc.csv."""
    cls, enc, table = (os.path.join(scratch, n) for n in ("c.json", "enc.csv", "table.csv"))
    _, recs = tvp.run(["--rows", str(rows), "--columns-count", str(COLUMNS), "--cardinality",
                       str(CARDINALITY), "--skew", SKEW, "--repeat", "1", "--warmup", "0",
                       "--classes-out", cls, "--out", enc])
    _, back = tvp.run(["--in", enc, "--classes-in", cls, "--inverse", "--out", table,
                       "--repeat", "1", "--warmup", "0"])
    n = int(back[0]["n"])
    size = os.path.getsize(table)
    progress(f"table: {table}: {n} rows x {COLUMNS} columns, {size / 1e6:.1f} MB "
             f"({size / max(n, 1):.1f} bytes a row); classes {recs[0]['classes']}")
    if n != rows or int(back[0]["columns"]) != COLUMNS:
        raise Mismatch(f"{table}: {n} rows x {back[0]['columns']} columns, expected "
                       f"{rows} x {COLUMNS}")
    return table, cls, enc


# ---- the references ----------------------------------------------------------------------

def read_table(path):
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def pandas_e2e(path, out):
    """What a pandas user writes: read, factorize every column (sorted), write the codes."""
    df = read_table(path)
    codes, classes = {}, {}
    for c in df.columns:
        codes[c], classes[c] = pd.factorize(df[c], sort=True)
    pd.DataFrame(codes, columns=df.columns).to_csv(out, index=False)
    return codes, classes


def sklearn_fit_transform(arrays):
    """LabelEncoder().fit_transform on each column; returns codes and classes_."""
    codes, classes = {}, {}
    for c, a in arrays.items():
        le = LabelEncoder()
        codes[c] = le.fit_transform(a)
        classes[c] = le.classes_
    return codes, classes


def timed(fn, runs):
    """fn's result and the median seconds of RUNS calls, after one untimed call."""
    result = fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return result, statistics.median(times)


# ---- checks --------------------------------------------------------------------------------

def check_codes(what, codes, tvp_out):
    """codes (column -> int array) against tvp's encoded table."""
    got = pd.read_csv(tvp_out, dtype=np.int64)
    if list(got.columns) != list(codes):
        raise Mismatch(f"{what}: columns {list(codes)}, tvp's {tvp_out}: {list(got.columns)}")
    for c in codes:
        a, b = np.asarray(codes[c]), got[c].to_numpy()
        if a.shape != b.shape:
            raise Mismatch(f"{what}: column {c}: {a.shape[0]} codes, tvp's: {b.shape[0]}")
        bad = np.flatnonzero(a != b)
        if bad.size:
            i = int(bad[0])
            raise Mismatch(f"{what}: column {c}: {bad.size} codes differ from tvp's; the "
                           f"first at data row {i + 1}: {a[i]} against tvp's {b[i]}")


def check_classes(what, classes, tvp_json):
    with open(tvp_json, encoding="utf-8") as f:
        want = json.load(f)
    if list(want) != list(classes):
        raise Mismatch(f"{what}: columns {list(classes)}, {tvp_json}: {list(want)}")
    for c in classes:
        got = [str(v) for v in classes[c]]
        if got != want[c]:
            i = next((k for k, (x, y) in enumerate(zip(got, want[c])) if x != y),
                     min(len(got), len(want[c])))
            raise Mismatch(f"{what}: column {c}: {len(got)} classes, tvp's {len(want[c])}; "
                           f"first difference at index {i}: "
                           f"{got[i] if i < len(got) else '(none)'!r} against tvp's "
                           f"{want[c][i] if i < len(want[c]) else '(none)'!r}")


def check_same_file(a, b):
    if not filecmp.cmp(a, b, shallow=False):
        raise Mismatch(f"{a} differs from {b}: the table file does not give back the "
                       f"generated table's encoding")


# ---- main ------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description="tvp labelencode against pandas and sklearn.")
    ap.add_argument("tvp", help="the tvp-serial executable")
    ap.add_argument("scratch", help="folder for the table and outputs (created if missing)")
    ap.add_argument("--rows", type=int, default=2000000, help="table rows (default 2000000)")
    ap.add_argument("--runs", type=int, default=5, help="timed runs (default 5, at least 5)")
    ap.add_argument("--records", help="write every tvp record (CSV) to this file")
    ap.add_argument("--csv", help="also write the table as CSV to this file")
    ap.add_argument("--log", help="append tvp's command lines to this file")
    a = ap.parse_args()
    if a.runs < 5 or a.rows < 1:
        ap.error("--runs must be at least 5" if a.runs < 5 else "--rows must be positive")
    if not os.access(a.tvp, os.X_OK):
        ap.error(f"{a.tvp}: not an executable")
    os.makedirs(a.scratch, exist_ok=True)
    tvp = Tvp(a.tvp, a.log)
    S = lambda name: os.path.join(a.scratch, name)  # noqa: E731
    try:
        return bench(a, tvp, S)
    except Mismatch as e:
        print(f"bench_labelencode: MISMATCH: {e}", file=sys.stderr)
        return 1
    finally:
        if a.records:
            tvp.write_records(a.records)


def bench(a, tvp, S):
    table, gen_classes, gen_enc = make_table(tvp, a.scratch, a.rows)
    fields = a.rows * COLUMNS

    # ---- end to end
    out, classes_json = S("out.csv"), S("classes.json")
    e2e = ["--in", table, "--out", out, "--classes-out", classes_json,
           "--repeat", "1", "--warmup", "0"]
    tvp.run(e2e, keep=False)  # untimed: the table into page cache
    walls = [tvp.run(e2e)[0] for _ in range(a.runs)]
    tvp_e2e = statistics.median(walls)
    progress(f"end to end: tvp-serial {tvp_e2e:.3f} s (median of {a.runs} processes)")
    check_same_file(out, gen_enc)
    check_same_file(classes_json, gen_classes)

    pd_out = S("pandas-out.csv")
    (pd_codes, pd_classes), pd_e2e = timed(lambda: pandas_e2e(table, pd_out), a.runs)
    progress(f"end to end: pandas {pd_e2e:.3f} s (median of {a.runs})")
    check_codes("pandas", pd_codes, out)
    check_classes("pandas", pd_classes, classes_json)
    same_bytes = filecmp.cmp(pd_out, out, shallow=False)
    os.remove(pd_out)

    # ---- compute only
    _, recs = tvp.run(["--in", table, "--repeat", str(a.runs)])
    tvp_comp = statistics.median(float(r["t_fit"]) + float(r["t_merge"]) + float(r["t_encode"])
                                 for r in recs)
    progress(f"compute: tvp-serial t_fit+t_merge+t_encode {tvp_comp:.4f} s (median of "
             f"{len(recs)} repeats)")
    df = read_table(table)
    if len(df) != a.rows:
        raise Mismatch(f"pandas reads {len(df)} rows from {table}, expected {a.rows}")
    arrays = {c: df[c].to_numpy() for c in df.columns}
    dtypes = sorted({str(v.dtype) for v in arrays.values()})
    del df
    (sk_codes, sk_classes), sk_comp = timed(lambda: sklearn_fit_transform(arrays), a.runs)
    progress(f"compute: sklearn {sk_comp:.4f} s (median of {a.runs})")
    check_classes("sklearn", sk_classes, classes_json)
    for c in sk_codes:
        if not np.array_equal(sk_codes[c], pd_codes[c]):
            raise Mismatch(f"sklearn: column {c}: codes differ from pandas' (and tvp's)")

    # ---- the table
    verdict = lambda r, t: "met" if r >= t else "MISSED"  # noqa: E731
    r_e2e, r_comp = pd_e2e / tvp_e2e, sk_comp / tvp_comp
    header = ["measure", "reference", "tvp_s", "ref_s", "tvp_Mstr/s", "ref_Mstr/s",
              "ref/tvp", "target", "verdict", "check"]
    rows = [
        ["end to end", "pandas", f"{tvp_e2e:.3f}", f"{pd_e2e:.3f}",
         f"{fields / tvp_e2e / 1e6:.1f}", f"{fields / pd_e2e / 1e6:.1f}", f"{r_e2e:.2f}x",
         f">={TARGET_E2E:g}x", verdict(r_e2e, TARGET_E2E),
         "codes+classes equal" + (", same bytes" if same_bytes else "")],
        ["compute", "sklearn", f"{tvp_comp:.4f}", f"{sk_comp:.4f}",
         f"{fields / tvp_comp / 1e6:.1f}", f"{fields / sk_comp / 1e6:.1f}", f"{r_comp:.2f}x",
         f">={TARGET_COMPUTE:g}x", verdict(r_comp, TARGET_COMPUTE), "classes+codes equal"],
    ]
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
    for r in [header] + rows:
        print("   " + "  ".join(v.ljust(w) if i < 2 or i == len(r) - 1 else v.rjust(w)
                                for i, (v, w) in enumerate(zip(r, widths))).rstrip())
    size = os.path.getsize(table)
    print(f"   table: {a.rows} rows x {COLUMNS} columns ({CARDINALITY} labels each, Zipf "
          f"{SKEW}), {size / 1e6:.1f} MB; M strings/s = rows x columns / 10^6 / seconds;")
    print(f"   median of {a.runs}.  End to end: tvp-serial --in --out --classes-out as a whole "
          f"process (wall clock) against")
    print(f"   pandas {pd.__version__} read_csv(dtype=str, keep_default_na=False) + "
          f"factorize(sort=True) + to_csv in Python.")
    print(f"   Compute: tvp's t_fit+t_merge+t_encode (no parse, no format) against "
          f"scikit-learn {sklearn.__version__}")
    print(f"   LabelEncoder().fit_transform on the columns in memory ({', '.join(dtypes)} "
          f"arrays from read_csv).")
    if a.csv:
        with open(a.csv, "w", newline="") as f:
            csv.writer(f).writerows([header] + rows)
    for p in (out, classes_json, gen_enc, gen_classes):
        os.remove(p)  # table.csv stays for the caller
    return 0


if __name__ == "__main__":
    sys.exit(main())
