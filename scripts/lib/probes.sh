#!/usr/bin/env bash
# The probes of every backend that has them, into one CSV: what separates processes from
# threads, measured (README, "Probes").  scripts/tvp compare calls it; scripts/report.py
# reads OUTDIR/probes.csv.
#
# usage: probes.sh BUILD_DIR OUTDIR [--mpirun "CMD ARGS..."] [--quick] [--timeout S]
#
#   BUILD_DIR  holds tvp-openmp, tvp-posix (and tvp-mpi)
#   OUTDIR     gets probes.csv (replaced) and probes.log (appended)
#   --mpirun   the MPI launcher and its arguments, one string split at blanks (as
#              scripts/tvp builds it: mpirun --oversubscribe --bind-to none ...); tvp-mpi's
#              probes run under it at -np 2 when `tvp-mpi probe spawn --outer 1` works there,
#              otherwise they are skipped with a note.  Without --mpirun: skipped.
#   --quick    small sizes and --outer 5 --target-ms 0.2 (seconds in all; for the tests)
#   --timeout  seconds one probe may take (default 120; then SIGTERM, SIGKILL 5 s later)
#
# Every probe (spawn, ipc, switch, memory) of tvp-openmp, tvp-posix and tvp-mpi runs once,
# with --format csv and the probe options below; the defaults take about 10 s on a 2-core
# machine, 25 s with tvp-mpi (its spawn times whole mpirun launches, 3 per repetition):
#
#                 default                          --quick
#   spawn         --outer 20 (posix: --touch 256;  --outer 5 --target-ms 0.2 (posix: --touch 16;
#                 mpi: --outer 5)                  mpi: --outer 1)
#   ipc           --outer 20 --max-size 16Mi       --outer 5 --target-ms 0.2 --max-size 1Mi
#   switch        --outer 20                       --outer 5 --target-ms 0.2
#   memory        --size-mib 128                   --size-mib 16
#
# probes.csv: the probe record's header once (from the first probe that ran), then every
# probe's rows, appended whole when the probe ends.  A probe that fails (exit status not 0,
# a timeout, no rows, another header) gets a line in probes.log and is left out; so does a
# backend that is skipped.  probes.log also has every command line with its status, rows and
# seconds, and what the probes wrote on stderr.
#
# Exit status: 0 every probe that could run did (a skipped backend is not a failure); 1 some
# probe failed (the others' rows are in probes.csv); 2 bad usage or OUTDIR not writable.
set -u
export LC_ALL=C

die() { echo "probes.sh: $*" >&2; exit 2; }
case "${1:-}" in -h | --help) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;; esac

[ $# -ge 2 ] || die "usage: probes.sh BUILD_DIR OUTDIR [--mpirun \"CMD...\"] [--quick] [--timeout S]"
BUILD=$1 OUTDIR=$2
shift 2
MPIRUN_STR="" QUICK=0 TIMEOUT=120
while [ $# -gt 0 ]; do
    case "$1" in
    --mpirun) [ $# -ge 2 ] || die "--mpirun needs the launcher's command"; MPIRUN_STR=$2; shift ;;
    --mpirun=*) MPIRUN_STR=${1#--mpirun=} ;;
    --quick) QUICK=1 ;;
    --timeout) [ $# -ge 2 ] && [[ $2 =~ ^[1-9][0-9]*$ ]] || die "--timeout needs a positive whole number of seconds"
        TIMEOUT=$2; shift ;;
    -h | --help) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option '$1'" ;;
    esac
    shift
done
[ -d "$BUILD" ] || die "$BUILD is not a folder"
BUILD=$(cd "$BUILD" && pwd)
mkdir -p "$OUTDIR" 2>/dev/null && [ -w "$OUTDIR" ] || die "cannot write into $OUTDIR"
OUTDIR=$(cd "$OUTDIR" && pwd)

CSV=$OUTDIR/probes.csv LOG=$OUTDIR/probes.log
TMP=$OUTDIR/.probe.csv ERR=$OUTDIR/.probe.err
trap 'rm -f "$TMP" "$ERR" "$CSV.tmp"' EXIT
rm -f "$CSV"

if [ $QUICK = 1 ]; then
    TIMED=(--outer 5 --target-ms 0.2) MAXSIZE=1Mi SIZEMIB=16 TOUCH=16 MPI_SPAWN=(--outer 1)
else
    TIMED=(--outer 20) MAXSIZE=16Mi SIZEMIB=128 TOUCH=256 MPI_SPAWN=(--outer 5)
fi

MPIRUN=()
[ -z "$MPIRUN_STR" ] || read -r -a MPIRUN <<<"$MPIRUN_STR"

now_ms() { date +%s%3N; }
log() { printf '%s  %s\n' "$(date -u +%H:%M:%S)" "$*" >>"$LOG"; }
# the reason a command failed: tvp's own message (one line, "tvp-BACKEND: ..."), else the
# last line it wrote on stderr
reason() {
    local r
    r=$(grep -m 1 '^tvp-[a-z]*: ' "$ERR" 2>/dev/null)
    [ -n "$r" ] || r=$(grep -v '^[[:space:]-]*$' "$ERR" 2>/dev/null | tail -n 1)
    printf '%s' "${r:-no message}"
}

NFAIL=0 NRAN=0 SKIPPED=()
START=$(now_ms)
log "probes.sh $BUILD $OUTDIR$([ -z "$MPIRUN_STR" ] || printf ' --mpirun "%s"' "$MPIRUN_STR")$([ $QUICK = 0 ] || echo ' --quick')"

# run_probe BACKEND PROBE CMD...: runs one probe, appends its rows to probes.csv
run_probe() {
    local be=$1 probe=$2
    shift 2
    local t0 rc ms rows
    t0=$(now_ms)
    timeout -k 5 "$TIMEOUT" "$@" >"$TMP" 2>"$ERR" </dev/null
    rc=$?
    ms=$(($(now_ms) - t0))
    rows=$(($(grep -c '' "$TMP") - 1))
    NRAN=$((NRAN + 1))
    local fail=""
    if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
        fail="timed out after $TIMEOUT s"
    elif [ $rc -ne 0 ]; then
        fail="exit $rc: $(reason)"
    elif [ "$rows" -lt 1 ]; then
        fail="no rows"
    elif [ -s "$CSV" ] && [ "$(head -n 1 "$TMP")" != "$(head -n 1 "$CSV")" ]; then
        fail="its CSV header differs from the one in probes.csv"
    fi
    if [ -n "$fail" ]; then
        NFAIL=$((NFAIL + 1))
        log "$be $probe: FAILED ($fail), left out: $*"
        echo "probes.sh: $be probe $probe failed ($fail); see $LOG" >&2
    else
        if [ -s "$CSV" ]; then
            tail -n +2 "$TMP" >>"$CSV"
        else
            cp "$TMP" "$CSV.tmp" && mv "$CSV.tmp" "$CSV"
        fi
        log "$be $probe: ok, $rows rows, $(awk -v m="$ms" 'BEGIN { printf "%.1f", m / 1000 }') s: $*"
    fi
    # warnings and messages, kept
    grep -v '^[[:space:]]*$' "$ERR" 2>/dev/null | sed 's/^/        /' >>"$LOG"
    rm -f "$TMP" "$ERR"
}

# probes BACKEND CMD...: every probe of one backend
probes() {
    local be=$1
    shift
    local spawn=("${TIMED[@]}")
    [ "$be" != posix ] || spawn+=(--touch "$TOUCH")
    [ "$be" != mpi ] || spawn=("${MPI_SPAWN[@]}") # whole launches: about 0.5 s each
    run_probe "$be" spawn "$@" probe spawn "${spawn[@]}" --format csv
    run_probe "$be" ipc "$@" probe ipc "${TIMED[@]}" --max-size "$MAXSIZE" --format csv
    run_probe "$be" switch "$@" probe switch "${TIMED[@]}" --format csv
    run_probe "$be" memory "$@" probe memory --size-mib "$SIZEMIB" --format csv
}

skip() {
    SKIPPED+=("$1")
    log "$1: skipped: $2"
    echo "probes.sh: $1 skipped: $2" >&2
}

for be in openmp posix; do
    if [ -x "$BUILD/tvp-$be" ]; then
        probes "$be" "$BUILD/tvp-$be"
    else
        skip "$be" "$BUILD/tvp-$be is missing"
    fi
done

if [ ! -x "$BUILD/tvp-mpi" ]; then
    skip mpi "$BUILD/tvp-mpi is missing"
elif [ ${#MPIRUN[@]} -eq 0 ]; then
    skip mpi "no --mpirun given"
else
    timeout -k 5 "$TIMEOUT" "${MPIRUN[@]}" -np 2 "$BUILD/tvp-mpi" probe spawn --outer 1 \
        --format csv >"$TMP" 2>"$ERR" </dev/null
    rc=$?
    if [ $rc -eq 0 ] && [ "$(grep -c '' "$TMP")" -ge 2 ]; then
        probes mpi "${MPIRUN[@]}" -np 2 "$BUILD/tvp-mpi"
    else
        skip mpi "\`${MPIRUN[*]} -np 2 tvp-mpi probe spawn --outer 1\` does not work here (exit $rc: $(reason))"
    fi
    rm -f "$TMP" "$ERR"
fi

secs=$(awk -v m="$(($(now_ms) - START))" 'BEGIN { printf "%.1f", m / 1000 }')
nrows=0
[ ! -s "$CSV" ] || nrows=$(($(grep -c '' "$CSV") - 1))
log "done: $NRAN probes in $secs s, $NFAIL failed, $nrows rows in $CSV${SKIPPED[*]:+; skipped: ${SKIPPED[*]}}"
echo "probes.sh: $NRAN probes in $secs s, $NFAIL failed$([ ${#SKIPPED[@]} -eq 0 ] || echo ", skipped: ${SKIPPED[*]}"): $nrows rows in $CSV" >&2
[ $NFAIL -eq 0 ]
