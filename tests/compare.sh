#!/usr/bin/env bash
# scripts/tvp compare, the sweep's bookkeeping, on tiny workloads: the rows and the header
# of results.csv; an interrupted sweep keeps every finished row whole and --resume finishes
# it without running again what was ok; a failing or timed-out configuration gets one row
# and the sweep goes on; --dry-run runs nothing; env.json has its keys.
#
# usage: compare.sh BIN_DIR   (the folder of the tvp-* executables: scripts/tvp uses them
# through TVP_BUILD_DIR, and TVP_NO_BUILD=1 keeps it from building)
. "$(dirname "$0")/lib.sh" "$1"

REPO=$(cd "$HERE/.." && pwd)
TVP="$REPO/scripts/tvp"
export TVP_BUILD_DIR=$TVP_BIN TVP_NO_BUILD=1
LEAD="status,config,scaling,size"
SWEEP_TIMEOUT=$((TIMEOUT * 3))

# sweep NAME ARGS...: scripts/tvp compare ARGS..., output to $T/NAME.out, status in RC
sweep() {
    local name=$1
    shift
    LAST_CMD="scripts/tvp compare $*"
    RC=0
    # one data mode (the default is both) unless the case says, or resumes with its own
    local data=(--data local --no-probes) # (probes: tests/report.sh probes)
    case " $* " in *" --data "* | *" --resume "*) data=(--no-probes) ;; esac
    timeout -k 5 "$SWEEP_TIMEOUT" "$TVP" compare ${data[@]+"${data[@]}"} "$@" >"$T/$name.out" 2>&1 || RC=$?
}

# the values of FIELD... in every row of a results.csv (tab separated); exits 4 when a row
# does not have the header's number of fields
fields() { csv_get "$@"; }

# rows_whole FILE: every row has as many fields as the header (quoted commas counted right)
rows_whole() { csv_get "$1" status >/dev/null; }

# ---- (a) a small sweep: every configuration ok, the header once, R rows each -------------------
A="$T/a"
tiny=(-- squares: --n 1000 filter: --width 64 --height 48 --iterations 1 labelencode: --rows 1000)
sweep a --workloads squares,filter,labelencode --backends serial,openmp,posix --workers 1,2 \
    --repeat 2 --no-python --out "$A" "${tiny[@]}"
check_eq "a: exit status" "$RC" 0 || show "$T/a.out" 40
check_eq "a: header" "$(head -n 1 "$A/results.csv")" "$LEAD,$CSV_HEADER"
check_eq "a: header once" "$(grep -c '^status,' "$A/results.csv")" 1
check "a: every row whole" rows_whole "$A/results.csv"
# 3 workloads x (serial 1 + openmp 1,2 + posix 1,2) = 15 configurations x 2 repeats
check_eq "a: rows" "$(csv_rows "$A/results.csv")" 30
check_eq "a: statuses" "$(fields "$A/results.csv" status | sort | uniq -c | awk '{ print $2 "=" $1 }')" "ok=30"
check_eq "a: configurations" "$(fields "$A/results.csv" config | sort -u | wc -l)" 15
check_eq "a: rows per configuration" "$(fields "$A/results.csv" config | sort | uniq -c | awk '{ print $1 }' | sort -u)" 2
check_eq "a: scaling, size" "$(fields "$A/results.csv" scaling size | sort -u)" "strong"$'\t'"custom"
# the key says what the record says
bad=$(fields "$A/results.csv" config workload backend workers data ipc bind | awk -F '\t' '{
    want = $2 "|" $3 "|w=" $4 "|data=" $5 "|ipc=" $6 "|bind=" $7 "|"
    if (index($1, want) != 1) print $1 " != " want }')
check_eq "a: config keys match the records" "$bad" ""
check_eq "a: verified" "$(fields "$A/results.csv" verified | sort -u)" 1
check_eq "a: n per workload" "$(fields "$A/results.csv" workload n | sort -u | tr '\t\n' '= ')" \
    "filter=3072 labelencode=1000 squares=1000 "
check "a: the table was printed" grep -q '^posix  *local  *pipe  *2 ' "$T/a.out"
check "a: table.txt" test -s "$A/table.txt"
check "a: sweep.args" test -s "$A/sweep.args"
check "a: one plain progress line per configuration" \
    test "$(grep -c '^\[[0-9]*/15\] .* \.\.\. ok ' "$T/a.out")" -eq 15
if [ -f "$REPO/scripts/report.py" ]; then
    check "a: report.md" test -s "$A/report.md"
fi

# ---- (e) env.json --------------------------------------------------------------------------------
if [ -x /usr/bin/python3 ]; then
    check "e: env.json written" test -s "$A/env.json"
    /usr/bin/python3 - "$A/env.json" >"$T/env.err" 2>&1 <<'EOF'
import json, shutil, sys
env = json.load(open(sys.argv[1]))
need = ["host", "cpu_model", "kernel", "topology", "compiler", "compiler_flags", "openmp_version",
        "open_mpi_version", "hwloc_version", "tvp", "git_commit", "command_line", "environment",
        "nproc", "memory_kb", "gcc", "mpirun", "hwloc", "tvp_version"]
bad = [k for k in need if k not in env]
if shutil.which("lstopo-no-graphics") or shutil.which("lstopo"):
    topo = env.get("topology") or {}
    bad += ["topology." + k for k in ("packages", "cores", "pus", "numa_nodes", "caches")
            if not topo.get(k)]
    bad += ["topology.caches[].size_bytes" for c in topo.get("caches", []) if not c.get("size_bytes")][:1]
for k in ("compiler", "compiler_flags", "host", "kernel"):
    if not env.get(k):
        bad.append(k + " (empty)")
if not (env.get("tvp") or {}).get("version"):
    bad.append("tvp.version")
if "compare" not in env.get("command_line", []):
    bad.append("command_line (no 'compare')")
if bad:
    sys.exit("env.json lacks: " + ", ".join(bad))
EOF
    check "e: env.json has the keys" test $? -eq 0 || show "$T/env.err"
fi

# ---- one mpi configuration, weak scaling, and python-mp against it --------------------------------
B="$T/b"
args=(--workloads squares --backends 'mpi,python-mp' --workers 2 --scaling weak --repeat 1 --no-report --out "$B")
[ -x /usr/bin/python3 ] || args=(--workloads squares --backends mpi --workers 2 --scaling weak --repeat 1 --no-report --out "$B")
sweep b "${args[@]}" -- squares: --n 1000
check_eq "b: exit status" "$RC" 0 || show "$T/b.out" 40
check "b: every row whole" rows_whole "$B/results.csv"
got=$(fields "$B/results.csv" status backend workers n bind scaling | sort)
want="ok	mpi	2	2000	core	weak"
[ -x /usr/bin/python3 ] && want+=$'\n'"ok	python-mp	2	2000	none	weak"
check_eq "b: mpi (and python-mp) at 2 workers, weak: n doubled" "$got" "$want"
if [ -x /usr/bin/python3 ]; then
    check_eq "b: python-mp's checksum_sum is tvp's" \
        "$(fields "$B/results.csv" checksum_sum | sort -u | wc -l)" 1
fi

# ---- (b) interrupted, then resumed -----------------------------------------------------------------
C="$T/c"
TAG=$((RANDOM * 32768 + RANDOM)) # a seed that names this sweep's processes
rm -rf "$C"
# SIGINT, unless this script was itself started in the background of another (then SIGINT
# is ignored, and a shell cannot undo that for its children): python resets it, or SIGTERM
SIG=INT WANT=130 LAUNCH=()
ign=$(awk '/^SigIgn:/ { print $2 }' "/proc/$$/status" 2>/dev/null || echo 0)
if [ $((0x${ign:-0} & 2)) -ne 0 ]; then
    if [ -x /usr/bin/python3 ]; then
        LAUNCH=(/usr/bin/python3 -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execv(sys.argv[1], sys.argv[1:])')
    else
        SIG=TERM WANT=143
    fi
fi
set -m # its own process group: a background job of a script would ignore SIGINT
${LAUNCH[@]+"${LAUNCH[@]}"} "$TVP" compare --workloads squares --backends serial,openmp,posix --workers 1,2 --repeat 3 \
    --data local --no-probes --no-python --no-report --out "$C" -- squares: --n 20M --seed "$TAG" >"$T/c.out" 2>&1 &
pid=$!
set +m
# shellcheck disable=SC2034 # (fail prints it)
LAST_CMD="scripts/tvp compare ... --out $C -- squares: --n 20M (interrupted)"
for _ in $(seq 600); do # the first configuration's rows
    [ -s "$C/results.csv" ] && [ "$(wc -l <"$C/results.csv")" -ge 2 ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
done
kill -"$SIG" "$pid"
rc=0
wait "$pid" || rc=$?
check_eq "c: exit status after SIG$SIG" "$rc" "$WANT" || show "$T/c.out"
check "c: says how to resume" grep -q -- '--resume' "$T/c.out"
check "c: every row whole" rows_whole "$C/results.csv"
n1=$(csv_rows "$C/results.csv")
check "c: interrupted with finished rows and before the end ($n1 rows)" test "$n1" -ge 3 -a "$n1" -lt 15
check_eq "c: whole configurations only (3 rows each)" "$((n1 % 3))" 0
sleep 0.5
check_eq "c: no tvp process left" "$(pgrep -f "seed $TAG" | tr '\n' ' ')" ""
left=$(shopt -s nullglob; echo "$C"/.run*)
check_eq "c: no temporary file left" "$left" ""
cp "$C/results.csv" "$T/c.before"
fields "$C/results.csv" config | sort -u >"$T/c.done"

sweep c2 --out "$C" --resume --no-report # the saved options
check_eq "c: --resume exit status" "$RC" 0 || show "$T/c2.out" 40
check "c: every row whole after --resume" rows_whole "$C/results.csv"
check_eq "c: rows after --resume" "$(csv_rows "$C/results.csv")" 15
check_eq "c: each configuration once (3 rows)" \
    "$(fields "$C/results.csv" config | sort | uniq -c | awk '{ print $1 }' | sort -u)" 3
check_eq "c: configurations" "$(fields "$C/results.csv" config | sort -u | wc -l)" 5
check_eq "c: the rows from before kept as they were" \
    "$(head -n "$((n1 + 1))" "$C/results.csv" | cmp - "$T/c.before" && echo same)" same
rerun=""
while IFS= read -r key; do
    # each finished configuration ran once: one command line in log.txt
    [ "$(grep -c -F "[$key] /" "$C/log.txt")" -eq 1 ] || rerun+="$key "
done <"$T/c.done"
check_eq "c: nothing ok was run again" "$rerun" ""
check "c: --resume ran only the rest" \
    grep -q "^\[$((5 - $(wc -l <"$T/c.done")))/$((5 - $(wc -l <"$T/c.done")))\] " "$T/c2.out"
sweep c3 --out "$C" --resume --no-report
check_eq "c: a finished sweep resumed runs nothing" "$(csv_rows "$C/results.csv")" 15
sweep c4 --dry-run --out "$C" --resume
check "c: --dry-run --resume: every configuration done" grep -q '^5 configurations, 0 to run' "$T/c4.out"
# a results.csv of another header is refused
sed -i '1s/^status,/state,/' "$C/results.csv"
sweep c5 --out "$C" --resume --no-report
check_eq "c: --resume refuses another header" "$RC" 2
check "c: ... and says why" grep -q 'header' "$T/c5.out"

# ---- (c) a failing and a timed-out configuration ----------------------------------------------------
D="$T/d"
sweep d --workloads squares,labelencode --backends serial,openmp --workers 1 --repeat 1 --no-python \
    --no-report --out "$D" -- squares: --bogus 1 labelencode: --rows 100
check_eq "d: exit status (a configuration failed)" "$RC" 1 || show "$T/d.out"
check "d: every row whole" rows_whole "$D/results.csv"
check_eq "d: one row per failed configuration, the sweep went on" \
    "$(fields "$D/results.csv" status workload backend workers data ipc n | sort)" \
    "failed	squares	openmp	1	local	none	50000000
failed	squares	serial	1	local	none	50000000
ok	labelencode	openmp	1	local	none	100
ok	labelencode	serial	1	local	none	100"
check_eq "d: a failed row has no times" "$(fields "$D/results.csv" status t_total | grep '^failed' | cut -f 2 | sort -u)" ""
check "d: the failure is shown" grep -q "unknown option '--bogus'" "$T/d.out"

E="$T/e"
sweep e --workloads squares --backends openmp --workers 1 --repeat 100000 --timeout 1 --no-python \
    --no-report --out "$E" -- squares: --n 1M
check_eq "e: exit status (timed out)" "$RC" 1 || show "$T/e.out"
check_eq "e: status timeout" "$(fields "$E/results.csv" status backend n)" "timeout	openmp	1000000"

# ---- (d) --dry-run -----------------------------------------------------------------------------------
sweep f --dry-run --workloads squares,filter --backends serial,openmp --workers 1,2 --data both \
    --no-python --out "$T/f"
check_eq "f: --dry-run exit status" "$RC" 0 || show "$T/f.out"
check_eq "f: lists the configurations" "$(grep -c '^\[[0-9]*/12\] ' "$T/f.out")" 12
check "f: ... with their keys" grep -q -F '[1/12] squares|serial|w=1|data=local|ipc=none|bind=core|size=medium|scaling=strong' "$T/f.out"
check "f: and the count" grep -q '^12 configurations' "$T/f.out"
check "f: runs nothing, makes no folder" test ! -e "$T/f"

# ---- --mpi-transport: tvp-mpi over TCP beside shared memory --------------------------------------
sweep g --dry-run --workloads squares --backends mpi --workers 2 --mpi-transport both
check_eq "g: --mpi-transport both --dry-run: exit status" "$RC" 0 || show "$T/g.out"
check "g: the shared-memory configuration (btl self,vader, key ipc=none)" \
    grep -q -- "--mca btl self,vader .*-np 2 .*tvp-mpi squares" "$T/g.out"
check "g: the TCP configuration (btl tcp,self, key ipc=tcp)" grep -q "ipc=tcp" "$T/g.out"
check "g: ... launched over tcp" grep -q -- "--mca btl tcp,self .*-np 2 .*tvp-mpi squares" "$T/g.out"
sweep g2 --dry-run --workloads squares --backends mpi --workers 2 --mpi-transport udp
check_eq "g: --mpi-transport udp is refused" "$RC" 2

finish
