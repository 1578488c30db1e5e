#!/usr/bin/env bash
# scripts/report.py end to end on a committed sweep (tests/data/report: results.csv from real
# tvp-serial/openmp/posix squares runs, a weak-scaling sweep, an oversubscribed, a failed and a
# timed-out configuration, a python-mp reference row; env.json):
#
#  1. report.md has its sections, the environment, the summary, the failed and timed-out
#     runs, and numbers recomputed here with awk from results.csv (medians, speedup,
#     efficiency, Karp-Flatt);
#  2. the plots exist as PNG and SVG (when matplotlib is importable; otherwise skipped with a
#     note);
#  3. a second run, and a run in another folder, give byte-identical report.md and SVGs;
#  4. without matplotlib (an import that fails) report.md is still written, the same apart
#     from the plots, with a note and the apt-get line on stderr;
#  5. bad usage exits 2.
#
# usage: report.sh [PYTHON]   (default: $TVP_PYTHON, else /usr/bin/python3)
set -u
export LC_ALL=C.UTF-8

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
PY=${1:-${TVP_PYTHON:-/usr/bin/python3}}
REPORT=$REPO/scripts/report.py
FIXTURE=$HERE/data/report

T=$(mktemp -d "${TMPDIR:-/tmp}/tvp-report.XXXXXX") || exit 2
trap 'cd /; rm -rf "$T"' EXIT

FAILS=0
CHECKS=0
fail() { FAILS=$((FAILS + 1)); echo "FAIL: $*" >&2; }
ok() { CHECKS=$((CHECKS + 1)); }
# has FILE TEXT: FILE contains the fixed string TEXT
has() {
    CHECKS=$((CHECKS + 1))
    grep -qF -- "$2" "$1" || fail "$(basename "$1") lacks: $2"
}

for f in results.csv env.json; do
    [ -f "$FIXTURE/$f" ] || { echo "report.sh: $FIXTURE/$f is missing" >&2; exit 2; }
done

mkdir "$T/a" "$T/b"
cp "$FIXTURE/results.csv" "$FIXTURE/env.json" "$T/a/"
cp "$FIXTURE/results.csv" "$FIXTURE/env.json" "$T/b/"

if "$PY" -c 'import matplotlib' 2>/dev/null; then
    PLOTS=1
else
    PLOTS=0
    echo "NOTE: matplotlib is not importable by $PY: the plot checks are skipped" \
         "(apt-get install -y --no-install-recommends python3-matplotlib)"
fi

# ---- 1. report.md ---------------------------------------------------------------------
"$PY" "$REPORT" "$T/a" >"$T/out1" 2>"$T/err1"
rc=$?
[ $rc -eq 0 ] && ok || { fail "report.py exited $rc"; cat "$T/err1" >&2; }
MD=$T/a/report.md
[ -s "$MD" ] && ok || { fail "no report.md"; echo "$FAILS failures" >&2; exit 1; }

for s in "# tvp: threads vs processes — vm," "## Summary" "## Runs that did not succeed" \
         "## Oversubscribed runs" "## squares" "### Verdict" "### Break-even size" \
         "### Plots" "### serial — tvp-serial, the baseline of every speedup" \
         "### openmp — threads (tvp-openmp)" "### mpi — processes (tvp-mpi, MPI ranks)" \
         "### posix — processes (tvp-posix, fork()ed workers)" \
         "### python-mp — reference: Python multiprocessing.Pool.map, not a tvp backend" \
         "## Definitions"; do
    has "$MD" "$s"
done
# the summary comes before the details
awk '/^## Summary/ {s = NR} /^## squares/ {q = NR} END {exit !(s && q && s < q)}' "$MD" &&
    ok || fail "the summary is not before the details"

# the environment, from env.json
has "$MD" "- **host**: vm — AMD EPYC"
has "$MD" "2 cores, 2 PUs"
has "$MD" "mpirun (Open MPI) 4.1.4"
has "$MD" "- **command**: \`scripts/tvp compare --workers 1,2 --repeat 3\`"
has "$MD" "- **commit**: $(sed -n 's/.*"git_commit": "\([0-9a-f]*\)".*/\1/p' "$FIXTURE/env.json")"

# one summary line per data mode; the large size at 2 workers
n=$(grep -c '^| squares | strong scaling, size large (n = 20,000,000), data [a-z]* | 2 |' "$MD")
[ "$n" -eq 2 ] && ok || fail "summary: $n lines for squares at size large, 2 workers (want 2)"

# failed and timed-out configurations, as such, in the list and in the tables
has "$MD" "- squares, mpi, 2 workers, strong scaling, size small (n = 100,000), data local: **failed**"
has "$MD" "- squares, posix pipe, 2 workers, strong scaling, size large (n = 20,000,000), data scatter: **timed out**"
has "$MD" "| strong small local | 2 | 100,000 | failed | 0 |"
has "$MD" "| strong large scatter | pipe | 2 | 20,000,000 | timed out | 0 |"
has "$MD" "(Also at 2 workers: posix pipe timed out.)"
# oversubscribed, and the python-mp reference
has "$MD" "- squares, openmp, 4 workers, strong scaling, size small (n = 100,000), data local"
has "$MD" "*Oversubscribed (more workers than PUs): not evidence of scaling.*"
has "$MD" "| strong small local | 4 (oversub.) |"
has "$MD" "- reference, Python \`multiprocessing.Pool.map\` (python-mp, not a tvp backend), 2 workers:"
has "$MD" "weak scaling, size small (n = 100,000 per worker), data local"

# numbers recomputed from results.csv, columns found by name: the median of a configuration's
# t_total (3 runs: the middle one), formatted as report.md does (3 significant figures)
med() { # med CONFIG-KEY: median t_total in seconds
    awk -F, -v key="$1" '
        NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
        $col["config"] == key && $col["status"] == "ok" { v[++n] = $col["t_total"] + 0 }
        END {
            if (!n) exit 1
            for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
            m = int((n + 1) / 2)
            printf "%.12g\n", (n % 2) ? v[m] : (v[n / 2] + v[n / 2 + 1]) / 2
        }' "$T/a/results.csv"
}
fmt_time() { # seconds -> "12.3 ms", "456 µs", "1.23 s" (3 significant figures)
    awk -v t="$1" 'BEGIN {
        a = sprintf("%.3g", t) + 0
        if (a >= 1) { v = a; u = "s" } else if (a >= 1e-3) { v = a * 1e3; u = "ms" }
        else if (a >= 1e-6) { v = a * 1e6; u = "µs" } else { v = a * 1e9; u = "ns" }
        f = v >= 100 ? "%.0f" : v >= 10 ? "%.1f" : "%.2f"
        printf f " %s\n", v, u }'
}
key() { echo "squares|$1|w=$2|data=$3|ipc=$4|bind=core|size=$5|scaling=$6"; }
for data in local scatter; do
    ts=$(med "$(key serial 1 $data pipe large strong)") || { fail "no serial large $data rows"; continue; }
    to=$(med "$(key openmp 2 $data pipe large strong)") || { fail "no openmp large $data rows"; continue; }
    has "$MD" "- serial baseline: $(fmt_time "$ts") (tvp-serial, n = 20,000,000, median of 3)"
    # S = Ts / T2, E = S / 2, Karp-Flatt e = (1/S - 1/2) / (1 - 1/2)
    row=$(awk -v ts="$ts" -v to="$to" 'BEGIN {
        s = ts / to; e = s / 2; kf = (1 / s - 0.5) / 0.5
        printf "| %.2f | %.2f | %.3f |", s, e, kf }')
    has "$MD" "| strong large $data | 2 | 20,000,000 | ok | 3 | $(fmt_time "$to") |"
    grep -F "| strong large $data | 2 | 20,000,000 | ok | 3 | $(fmt_time "$to") |" "$MD" |
        grep -qF -- "$row" && ok || fail "openmp 2 workers large $data: S, E, e are not $row"
done

# ---- 2. the plots -----------------------------------------------------------------------
NAMES="squares-small-speedup squares-small-efficiency squares-small-phases
       squares-medium-speedup squares-medium-efficiency squares-medium-phases
       squares-large-speedup squares-large-efficiency squares-large-phases squares-small-weak"
if [ $PLOTS -eq 1 ]; then
    for b in $NAMES; do
        png=$T/a/plots/$b.png svg=$T/a/plots/$b.svg
        if [ "$(head -c 8 "$png" 2>/dev/null | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]; then
            ok
        else
            fail "$b.png is missing or not a PNG"
        fi
        head -c 200 "$svg" 2>/dev/null | grep -q '<svg' && ok || fail "$b.svg is missing or not an SVG"
        grep -q '<dc:date>' "$svg" 2>/dev/null && fail "$b.svg holds a date" || ok
        has "$MD" "[SVG](plots/$b.svg), [PNG](plots/$b.png)"
    done
    extra=$(ls "$T/a/plots" | grep -vxF -f <(for b in $NAMES; do echo "$b.png"; echo "$b.svg"; done))
    [ -z "$extra" ] && ok || fail "unexpected plots: $extra"
else
    echo "SKIP: plot files (matplotlib missing)"
    has "$MD" "Plots skipped: matplotlib is not available"
fi

# ---- 3. reproducible ----------------------------------------------------------------------
cp -r "$T/a" "$T/first"
"$PY" "$REPORT" "$T/a" >/dev/null 2>&1 && ok || fail "second run failed"
cmp -s "$T/first/report.md" "$T/a/report.md" && ok || fail "report.md differs on a second run"
"$PY" "$REPORT" "$T/b" >/dev/null 2>&1 && ok || fail "run in another folder failed"
cmp -s "$T/first/report.md" "$T/b/report.md" && ok || fail "report.md differs in another folder"
if [ $PLOTS -eq 1 ]; then
    for b in $NAMES; do
        for ext in svg png; do
            cmp -s "$T/first/plots/$b.$ext" "$T/a/plots/$b.$ext" && ok ||
                fail "plots/$b.$ext differs on a second run"
            cmp -s "$T/first/plots/$b.$ext" "$T/b/plots/$b.$ext" && ok ||
                fail "plots/$b.$ext differs in another folder"
        done
    done
fi

# ---- 4. without matplotlib ------------------------------------------------------------------
mkdir -p "$T/nompl/matplotlib" "$T/c"
echo 'raise ImportError("No module named matplotlib (hidden by tests/report.sh)")' \
    >"$T/nompl/matplotlib/__init__.py"
cp "$FIXTURE/results.csv" "$FIXTURE/env.json" "$T/c/"
PYTHONPATH=$T/nompl "$PY" "$REPORT" "$T/c" >"$T/out3" 2>"$T/err3"
rc=$?
[ $rc -eq 0 ] && ok || fail "without matplotlib: exit $rc"
has "$T/c/report.md" "Plots skipped: matplotlib is not available"
has "$T/c/report.md" "apt-get install -y --no-install-recommends python3-matplotlib"
has "$T/err3" "apt-get install -y --no-install-recommends python3-matplotlib"
[ -z "$(ls "$T/c/plots" 2>/dev/null)" ] && ok || fail "without matplotlib: plots were written"
# the same report apart from the plot lists
strip() { awk '/^### Plots/ {skip = 1; next} /^#/ {skip = 0} !skip' "$1"; }
cmp -s <(strip "$T/first/report.md") <(strip "$T/c/report.md") && ok ||
    fail "without matplotlib report.md differs beyond the plots"

# ---- 5. bad usage ---------------------------------------------------------------------------
"$PY" "$REPORT" >/dev/null 2>&1
[ $? -eq 2 ] && ok || fail "no DIR: not exit 2"
"$PY" "$REPORT" "$T/nonexistent" >/dev/null 2>"$T/err5"
[ $? -eq 2 ] && ok || fail "missing results.csv: not exit 2"
has "$T/err5" "results.csv"
"$PY" "$REPORT" "$T/a" --bogus >/dev/null 2>&1
[ $? -eq 2 ] && ok || fail "unknown option: not exit 2"

echo "report.sh: $CHECKS checks, $FAILS failed"
[ $FAILS -eq 0 ]
