# Shared by the test scripts (sourced, not run).  The scripts take the folder that holds
# the tvp-* executables as $1 and a backend as $2.
#
# Each script gets a fresh temporary folder $T (removed on exit) and works inside it.
# check/fail count assertions; finish prints the tally and sets the exit status.
# Environment (set by tests/CMakeLists.txt, all optional):
#   TVP_MPIRUN        the mpirun to use (default: mpirun on PATH)
#   TVP_PYTHON        a python3 for the independent reference checksums (skipped if unset
#                     and none on PATH)
#   TVP_EXPECT_VERSION the project version the executables must report
#   TVP_TEST_TIMEOUT  seconds one tvp command may take (default 60)

set -u
export LC_ALL=C

if [ $# -lt 1 ] || [ ! -d "$1" ]; then
    echo "usage: $0 BIN_DIR [BACKEND]  (BIN_DIR holds tvp-serial, tvp-openmp, ...)" >&2
    exit 2
fi
TVP_BIN=$(cd "$1" && pwd)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd) # tests/, for reference.py
BACKEND=${2:-}
case "$BACKEND" in
"" | serial | openmp | mpi | posix) ;;
*) echo "$0: unknown backend '$BACKEND'" >&2; exit 2 ;;
esac
if [ -n "$BACKEND" ] && [ ! -x "$TVP_BIN/tvp-$BACKEND" ]; then
    echo "$0: $TVP_BIN/tvp-$BACKEND is missing" >&2
    exit 2
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/tvp-$(basename "$0" .sh)${BACKEND:+-$BACKEND}.XXXXXX") || exit 2
trap 'cd /; rm -rf "$T"' EXIT
cd "$T" || exit 2

FAILS=0
CHECKS=0
TIMEOUT=${TVP_TEST_TIMEOUT:-60}
NPROC=$(nproc)                                              # PUs this process may use
NCORES=$(lscpu -p=CORE 2>/dev/null | grep -v '^#' | sort -u | wc -l) # cores, all of them
[ "$NCORES" -ge 1 ] 2>/dev/null || NCORES=$NPROC

# ---- assertions ---------------------------------------------------------------------

# the command line of the last run, for failure messages
LAST_CMD=""

fail() {
    FAILS=$((FAILS + 1))
    echo "FAIL: $*" >&2
    if [ -n "$LAST_CMD" ]; then
        echo "      command: $LAST_CMD" >&2
    fi
}

# check DESCRIPTION COMMAND...: the command must succeed
check() {
    local what=$1
    shift
    CHECKS=$((CHECKS + 1))
    if ! "$@"; then
        fail "$what"
        return 1
    fi
}

# check_eq DESCRIPTION GOT WANT
check_eq() {
    CHECKS=$((CHECKS + 1))
    if [ "$2" != "$3" ]; then
        fail "$1: got '$2', want '$3'"
        return 1
    fi
}

finish() {
    echo "$(basename "$0") ${BACKEND}: $CHECKS checks, $FAILS failed"
    [ "$FAILS" -eq 0 ]
    exit $?
}

# show a file in a failure report, indented
show() {
    sed 's/^/      | /' "$1" | head -n "${2:-20}" >&2
}

# ---- running tvp -----------------------------------------------------------------------

MPIRUN=("${TVP_MPIRUN:-mpirun}" --oversubscribe --mca pml ob1 --mca btl self,vader)
if [ "$(id -u)" = 0 ]; then
    MPIRUN+=(--allow-run-as-root)
fi

# run_tvp BACKEND WORKERS ARGS...
# Runs one tvp command with stdout to $T/stdout and stderr to $T/stderr; the exit status
# goes to RC.  WORKERS is the -np of tvp-mpi (other backends ignore it: pass --workers in
# ARGS).  tvp-mpi runs under mpirun; with MPI_SPLIT=1 each rank's stderr goes to
# $T/rank.R.err and its exit status to $T/rank.R.rc (mpirun itself then exits 0), so that
# mpirun's own messages do not mix with tvp's: $T/stderr is rank 0's, RC is rank 0's.
run_tvp() {
    local be=$1 np=$2 t0=${EPOCHREALTIME/./}
    shift 2
    rm -f "$T/stdout" "$T/stderr" "$T"/rank.*
    : >"$T/stderr"
    if [ "$be" = mpi ]; then
        if [ "${MPI_SPLIT:-0}" = 1 ]; then
            LAST_CMD="mpirun -np $np tvp-mpi $* (stderr per rank)"
            timeout -k 5 "$TIMEOUT" "${MPIRUN[@]}" -np "$np" bash -c '
                r=${OMPI_COMM_WORLD_RANK:-x}
                "$0" "$@" 2>"'"$T"'/rank.$r.err"
                echo $? >"'"$T"'/rank.$r.rc"
                exit 0' "$TVP_BIN/tvp-mpi" "$@" >"$T/stdout" 2>"$T/mpirun.err"
            RC=$?
            if [ "$RC" -ne 0 ]; then
                fail "mpirun itself exited $RC"
                show "$T/mpirun.err"
                return
            fi
            if [ -f "$T/rank.0.rc" ]; then
                RC=$(cat "$T/rank.0.rc")
                cp "$T/rank.0.err" "$T/stderr"
            else
                RC=255
                : >"$T/stderr"
            fi
        else
            LAST_CMD="mpirun -np $np tvp-mpi $*"
            timeout -k 5 "$TIMEOUT" "${MPIRUN[@]}" -np "$np" "$TVP_BIN/tvp-mpi" "$@" \
                >"$T/stdout" 2>"$T/stderr"
            RC=$?
        fi
    else
        LAST_CMD="tvp-$be $*"
        timeout -k 5 "$TIMEOUT" "$TVP_BIN/tvp-$be" "$@" >"$T/stdout" 2>"$T/stderr"
        RC=$?
    fi
    if [ "$RC" -eq 124 ] || [ "$RC" -eq 137 ]; then
        echo "note: timed out after ${TIMEOUT}s" >&2
    fi
    if [ "${TVP_TEST_VERBOSE:-0}" = 1 ]; then
        echo "ran in $(((${EPOCHREALTIME/./} - t0) / 1000)) ms, exit $RC: $LAST_CMD" >&2
    fi
}

# ---- CSV, by header name -----------------------------------------------------------------

# A CSV reader for the record: quoted fields ("a,b", doubled quotes) are understood.
# csv_get FILE FIELD...: for every data row, the named fields, tab separated.  Exits 3
# when a field is not in the header, 4 when a row has a different number of fields.
CSV_AWK='
function csv_split(line, out,    n, i, c, f, q, len) {
    sub(/\r$/, "", line)
    n = 0; f = ""; q = 0; len = length(line)
    for (i = 1; i <= len; i++) {
        c = substr(line, i, 1)
        if (q) {
            if (c == "\"") {
                if (substr(line, i + 1, 1) == "\"") { f = f "\""; i++ } else q = 0
            } else f = f c
        } else if (c == "\"") q = 1
        else if (c == ",") { out[++n] = f; f = "" }
        else f = f c
    }
    out[++n] = f
    return n
}
NR == 1 {
    nh = csv_split($0, h)
    for (i = 1; i <= nh; i++) col[h[i]] = i
    nf = split(fields, want, " ")
    for (i = 1; i <= nf; i++)
        if (!(want[i] in col)) { print "csv: no column " want[i] > "/dev/stderr"; bad = 3; exit 3 }
    next
}
{
    n = csv_split($0, r)
    if (n != nh) { print "csv: row " NR - 1 " has " n " fields, the header " nh > "/dev/stderr"; bad = 4; exit 4 }
    s = ""
    for (i = 1; i <= nf; i++) s = s (i > 1 ? "\t" : "") r[col[want[i]]]
    print s
}
END { if (bad) exit bad }'

csv_get() {
    local file=$1
    shift
    awk -v fields="$*" "$CSV_AWK" "$file"
}

# number of data rows (lines after the header)
csv_rows() {
    echo $(($(wc -l <"$1") - 1))
}

# the record's CSV header, schema 1 (common/record.c tvp_record_csv_header)
CSV_HEADER="schema,tool_version,git_commit,timestamp_utc,host,backend,workload,input,n,seed,schedule,chunk,data,ipc,workers,bind,cpus,oversubscribed,transport,repeat,warmup,t_init,t_touch,t_startup,t_distribute,t_compute,t_collect,t_total,items_per_s,bytes_per_s,bytes_moved,peak_rss_kb,checksum_sum,checksum_crc64,verified"

# stderr may hold only the oversubscription warning (and, for mpirun, nothing else)
check_stderr_clean() {
    local bad
    bad=$(grep -v -E '^tvp-[a-z]+: warning: [0-9]+ workers on [0-9]+ PUs: oversubscribed$' "$T/stderr")
    CHECKS=$((CHECKS + 1))
    if [ -n "$bad" ]; then
        fail "$1: unexpected output on stderr"
        show "$T/stderr"
        return 1
    fi
}

# ---- the independent reference -------------------------------------------------------------

PYTHON=${TVP_PYTHON:-$(command -v python3 || true)}

# reference ARGS...: "SUM CRC64" of the squares of the generated (--n N --seed S) or loaded
# (--in FILE) input, computed by tests/reference.py without tvp; empty without python3
reference() {
    if [ -n "$PYTHON" ]; then
        "$PYTHON" "$HERE/reference.py" "$@" || fail "reference.py $* failed"
    fi
}
