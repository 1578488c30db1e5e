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
#  5. bad usage exits 2;
#  6. the probes section, from tests/data/report/probes.csv (real `scripts/lib/probes.sh
#     --quick` rows of tvp-openmp and tvp-posix): after the summary, numbers recomputed with
#     awk (fork against the first region, the 8 B row of the OSU table, bandwidth at the
#     largest size, the context switch, PSS after copy-on-write), its plot, byte-identical
#     re-runs, and a folder without probes.csv gives the same report without the section.
#
# `report.sh probes BIN_DIR [PYTHON]` instead runs scripts/lib/probes.sh --quick on the
# executables in BIN_DIR (tvp-openmp, tvp-posix; tvp-mpi under $TVP_MPIRUN): probes.csv has
# rows of every probe for openmp and posix, mpi has rows or a note; a failing probe is left
# out with a line in probes.log; report.py writes the section from it.
#
# usage: report.sh [PYTHON]   (default: $TVP_PYTHON, else /usr/bin/python3)
#        report.sh probes BIN_DIR [PYTHON]
set -u
export LC_ALL=C.UTF-8

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
MODE=report BIN=""
if [ "${1:-}" = probes ]; then
    MODE=probes
    BIN=${2:-}
    [ -n "$BIN" ] && [ -d "$BIN" ] || { echo "usage: report.sh probes BIN_DIR [PYTHON]" >&2; exit 2; }
    BIN=$(cd "$BIN" && pwd)
    shift 2
fi
PY=${1:-${TVP_PYTHON:-/usr/bin/python3}}
REPORT=$REPO/scripts/report.py
PROBES=$REPO/scripts/lib/probes.sh
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

for f in results.csv env.json probes.csv; do
    [ -f "$FIXTURE/$f" ] || { echo "report.sh: $FIXTURE/$f is missing" >&2; exit 2; }
done

# ---- probes mode: scripts/lib/probes.sh --quick on real executables ------------------------
if [ "$MODE" = probes ]; then
    for be in openmp posix; do
        [ -x "$BIN/tvp-$be" ] || { echo "report.sh: $BIN/tvp-$be is missing" >&2; exit 2; }
    done
    MPI=()
    if command -v "${TVP_MPIRUN:-mpirun}" >/dev/null 2>&1; then
        MPI=(--mpirun "${TVP_MPIRUN:-mpirun} --oversubscribe --bind-to none --mca pml ob1 --mca btl self,vader$([ "$(id -u)" -ne 0 ] || echo ' --allow-run-as-root')")
    fi
    start=$(date +%s)
    bash "$PROBES" "$BIN" "$T/p" --quick --timeout 60 "${MPI[@]}" >"$T/p.out" 2>"$T/p.err"
    rc=$?
    secs=$(($(date +%s) - start))
    [ $rc -eq 0 ] && ok || { fail "probes.sh --quick exited $rc"; cat "$T/p.err" >&2; }
    [ "$secs" -le 60 ] && ok || fail "probes.sh --quick took $secs s (want under a minute)"
    [ -s "$T/p/probes.csv" ] && ok || { fail "no probes.csv"; echo "report.sh: $CHECKS checks, $FAILS failed"; exit 1; }
    [ "$(head -n 1 "$T/p/probes.csv")" = "$(head -n 1 "$FIXTURE/probes.csv")" ] && ok ||
        fail "probes.csv: the header is not the probe record's: $(head -n 1 "$T/p/probes.csv")"
    [ "$(grep -c '^schema,' "$T/p/probes.csv")" -eq 1 ] && ok || fail "probes.csv: more than one header"
    # backend,probe of every row: columns found by name
    pairs=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
                     { print $col["backend"] " " $col["probe"] }' "$T/p/probes.csv" | sort | uniq -c)
    for be in openmp posix; do
        for probe in spawn ipc switch memory; do
            echo "$pairs" | grep -q " $be $probe\$" && ok || fail "probes.csv: no $be $probe rows"
        done
    done
    if echo "$pairs" | grep -q " mpi "; then
        for probe in spawn ipc switch memory; do
            echo "$pairs" | grep -q " mpi $probe\$" && ok || fail "probes.csv: no mpi $probe rows"
        done
    else
        has "$T/p/probes.log" "mpi: skipped: "
    fi
    has "$T/p/probes.log" "openmp ipc: ok, "
    has "$T/p/probes.log" "posix memory: ok, "
    has "$T/p/probes.log" "done: "
    has "$T/p.err" "probes.sh: "
    ls -A "$T/p" | grep -qv '^probes\.\(csv\|log\)$' && fail "probes.sh left other files: $(ls -A "$T/p")" || ok

    # a probe that fails is left out, with a line in probes.log; the others' rows stay
    mkdir "$T/fake"
    ln -s "$BIN/tvp-posix" "$T/fake/tvp-posix"
    printf '#!/bin/sh\ncase "$2" in ipc) echo "tvp-openmp: probe ipc: broken on purpose" >&2; exit 2 ;; esac\nexec "%s/tvp-openmp" "$@"\n' \
        "$BIN" >"$T/fake/tvp-openmp"
    chmod +x "$T/fake/tvp-openmp"
    bash "$PROBES" "$T/fake" "$T/f" --quick >/dev/null 2>"$T/f.err"
    rc=$?
    [ $rc -eq 1 ] && ok || fail "probes.sh with a failing probe exited $rc (want 1)"
    has "$T/f/probes.log" "openmp ipc: FAILED (exit 2: tvp-openmp: probe ipc: broken on purpose), left out"
    has "$T/f/probes.log" "mpi: skipped: "
    has "$T/f.err" "openmp probe ipc failed"
    n=$(awk -F, '$6 == "openmp" && $7 == "ipc"' "$T/f/probes.csv" | wc -l)
    [ "$n" -eq 0 ] && ok || fail "the failed probe's rows are in probes.csv ($n)"
    n=$(awk -F, '$6 == "openmp" && $7 == "switch"' "$T/f/probes.csv" | wc -l)
    [ "$n" -gt 0 ] && ok || fail "the probes after a failed one are missing"

    # bad usage
    bash "$PROBES" >/dev/null 2>&1
    [ $? -eq 2 ] && ok || fail "probes.sh without arguments: not exit 2"
    bash "$PROBES" "$BIN" "$T/u" --bogus >/dev/null 2>&1
    [ $? -eq 2 ] && ok || fail "probes.sh --bogus: not exit 2"

    # the report of it
    cp "$FIXTURE/results.csv" "$FIXTURE/env.json" "$T/p/"
    "$PY" "$REPORT" "$T/p" --no-plots >"$T/p.rep" 2>&1 && ok || { fail "report.py on fresh probes failed"; cat "$T/p.rep" >&2; }
    has "$T/p/report.md" "## What separates processes from threads (probes)"
    has "$T/p/report.md" "- Creating 2 processes (fork + _exit + waitpid) costs "
    has "$T/p/report.md" "### IPC: moving bytes between two workers"
    has "$T/p.rep" "## What separates processes from threads (probes)"
    echo "report.sh probes: $CHECKS checks, $FAILS failed"
    [ $FAILS -eq 0 ]
    exit
fi

mkdir "$T/a" "$T/b" "$T/d"
cp "$FIXTURE/results.csv" "$FIXTURE/env.json" "$FIXTURE/probes.csv" "$T/a/"
cp "$FIXTURE/results.csv" "$FIXTURE/env.json" "$FIXTURE/probes.csv" "$T/b/"
cp "$FIXTURE/results.csv" "$FIXTURE/env.json" "$T/d/"

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
       squares-large-speedup squares-large-efficiency squares-large-phases squares-small-weak
       probes-ipc"
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
cp "$FIXTURE/results.csv" "$FIXTURE/env.json" "$FIXTURE/probes.csv" "$T/c/"
PYTHONPATH=$T/nompl "$PY" "$REPORT" "$T/c" >"$T/out3" 2>"$T/err3"
rc=$?
[ $rc -eq 0 ] && ok || fail "without matplotlib: exit $rc"
has "$T/c/report.md" "Plots skipped: matplotlib is not available"
has "$T/c/report.md" "apt-get install -y --no-install-recommends python3-matplotlib"
has "$T/err3" "apt-get install -y --no-install-recommends python3-matplotlib"
[ -z "$(ls "$T/c/plots" 2>/dev/null)" ] && ok || fail "without matplotlib: plots were written"
# the same report apart from the plot lists (and the probes' plot line)
strip() {
    awk '/^### Plots/ {skip = 1; next} /^#/ {skip = 0}
         /plots\/probes-ipc\.svg|^Plots skipped/ {next} !skip' "$1"
}
cmp -s <(strip "$T/first/report.md") <(strip "$T/c/report.md") && ok ||
    fail "without matplotlib report.md differs beyond the plots"

# ---- 6. the probes section -----------------------------------------------------------------
has "$MD" "## What separates processes from threads (probes)"
awk '/^## Summary/ {s = NR} /^## What separates/ {p = NR} /^## Runs that did not succeed/ {r = NR}
     END {exit !(s && p && r && s < p && p < r)}' "$MD" &&
    ok || fail "the probes section is not between the summary and the failed runs"
for s in "### Start-up: creating workers" "### IPC: moving bytes between two workers" \
         "### Context switch" "### Memory" "threads are tvp-openmp, processes tvp-posix (fork)." \
         "No rows from tvp-mpi (see probes.log)." \
         "*From probes.csv ($(($(wc -l <"$FIXTURE/probes.csv") - 1)) rows, sha256 $(sha256sum "$FIXTURE/probes.csv" | cut -c1-16)).*"; do
    has "$MD" "$s"
done
# pv BACKEND PROBE WHAT COLUMN [SIZE]: a column of a probes.csv row, columns found by name
# (notes, the last column, is the only one that holds commas)
pv() {
    awk -F, -v b="$1" -v p="$2" -v w="$3" -v c="$4" -v s="${5:-}" '
        NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
        $col["backend"] == b && $col["probe"] == p && $col["what"] == w &&
        (s == "" || $col["size_bytes"] == s) { v = $col[c] }
        END { if (v == "") exit 1; print v }' "$FIXTURE/probes.csv"
}
us() { awk -v u="$1" 'BEGIN { printf "%.12g\n", u / 1e6 }'; }
ratio() { # A / B as report.md writes a ratio: 1.23×, 12.3×, 123×
    awk -v a="$1" -v b="$2" 'BEGIN { r = a / b
        printf (r < 10 ? "%.2f×\n" : r < 100 ? "%.1f×\n" : "%.0f×\n"), r }'
}
fmt_us() { # a bare µs or MB/s number: 3 significant figures, thousands separated
    awk -v v="$1" 'BEGIN {
        if (v >= 1000) { t = sprintf("%.0f", v); o = ""
            while (length(t) > 3) { o = "," substr(t, length(t) - 2) o; t = substr(t, 1, length(t) - 3) }
            print t o }
        else if (v >= 100) printf "%.0f\n", v
        else if (v >= 10) printf "%.1f\n", v
        else printf "%.2f\n", v }'
}
fork=$(pv posix spawn fork+_exit+waitpid median_us 0) || fail "fixture: no bare fork row"
touched=$(pv posix spawn fork+_exit+waitpid median_us 16777216) || fail "fixture: no fork row at 16 MiB"
bound=$(pv openmp spawn "first region (bound)" median_us) || fail "fixture: no first region row"
has "$MD" "- Creating 2 processes (fork + _exit + waitpid) costs $(fmt_time "$(us "$fork")"), 2 threads $(fmt_time "$(us "$bound")") (the first parallel region of a fresh process, bound): $(ratio "$fork" "$bound");"
has "$MD" "- With the parent holding 16 MiB of touched memory, the same fork costs $(fmt_time "$(us "$touched")"), $(ratio "$touched" "$fork") the bare fork"
has "$MD" "| fork+_exit+waitpid, parent holds 16 MiB | $(fmt_time "$(us "$touched")") |"
# ipc: the OSU row at 8 B (mechanisms in the file's order: openmp flag, barrier, posix pipe,
# shm+flag) and the bandwidth at the largest size, 1 MiB
row="| 8 B |"
for m in "openmp flag" "openmp barrier" "posix pipe" "posix shm+flag"; do
    set -- $m
    row="$row $(fmt_us "$(pv "$1" ipc "$2" median_us 8)") | $(fmt_us "$(pv "$1" ipc "$2" bandwidth_MBps 8)") |"
done
has "$MD" "$row"
for m in "posix pipe" "posix shm+flag"; do
    set -- $m
    has "$MD" "| $1 $2 (different-cores) | $(fmt_time "$(us "$(pv "$1" ipc "$2" median_us 8)")") | $(fmt_us "$(pv "$1" ipc "$2" bandwidth_MBps 1048576)") MB/s (1 MiB) |"
done
# the context switch on one core, threads (futex) then processes (pipe, futex)
has "$MD" "| context switch, one core (round trip / 2) | $(fmt_time "$(us "$(pv openmp switch "context switch (futex)" median_us)")") | $(fmt_time "$(us "$(pv posix switch "context switch (pipe)" median_us)")") | $(fmt_time "$(us "$(pv posix switch "context switch (futex)" median_us)")") |"
# PSS totals after the workers wrote into the input: processes hold a copy each
tp=$(pv openmp memory "after touch: total" pss_kb) pp=$(pv posix memory "after touch: total" pss_kb)
has "$MD" "once they have written into the input: threads $(awk -v k="$tp" 'BEGIN { printf "%.1f", k / 1024 }') MiB, processes (posix) $(awk -v k="$pp" 'BEGIN { printf "%.1f", k / 1024 }') MiB ($(ratio "$pp" "$tp"))."
if [ $PLOTS -eq 1 ]; then
    has "$MD" "- IPC round trip and bandwidth against message size, per mechanism (log-log): [SVG](plots/probes-ipc.svg), [PNG](plots/probes-ipc.png)"
fi
# without probes.csv: the same report, without the section (and its plot)
"$PY" "$REPORT" "$T/d" >/dev/null 2>&1 && ok || fail "report.py without probes.csv failed"
grep -q "What separates" "$T/d/report.md" && fail "a probes section without probes.csv" || ok
[ ! -e "$T/d/plots/probes-ipc.svg" ] && ok || fail "a probes plot without probes.csv"
nosec() { awk '/^## What separates/ {skip = 1; next} /^## / {skip = 0} !skip' "$1"; }
cmp -s <(nosec "$T/first/report.md") "$T/d/report.md" && ok ||
    fail "without probes.csv report.md differs beyond the probes section"

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
