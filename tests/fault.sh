#!/usr/bin/env bash
# Fault isolation: --inject crash|hang:worker=I,task=K and --task-timeout.
#   tvp-posix  a worker killed by SIGSEGV, or hung and killed after --task-timeout, is
#              replaced and its lost work re-run: exit 0, every row verified, one line on
#              stderr naming the worker, its pid, the signal and the chunk or block, the
#              record's recovered/t_detect/t_recovery > 0 in the run it happened in, and no
#              process left.  squares and labelencode replace the one worker; filter
#              restarts the pool and runs the whole run again.
#   tvp-openmp the same crash kills the whole process (exit 139, SIGSEGV): all work lost,
#              no record written.
#   bad --inject and --task-timeout: exit 2, one line.
#
# usage: fault.sh BIN_DIR
. "$(dirname "$0")/lib.sh" "$1" posix

TAG=$((RANDOM * 32768 + RANDOM)) # a seed that names this script's processes
mkdir -p "$T/out"

# the rows of $T/out/r.csv: verified everywhere, and the recovery in exactly one row
check_record() {
    local cfg=$1 rows=$2
    check_eq "$cfg: rows" "$(csv_rows "$T/out/r.csv")" "$rows" || return
    check_eq "$cfg: every row verified" "$(csv_get "$T/out/r.csv" verified | sort -u)" 1
    check_eq "$cfg: workers replaced, over the rows" \
        "$(csv_get "$T/out/r.csv" recovered | awk '{ s += $1 } END { print s }')" 1
    check_eq "$cfg: the run with the loss has t_detect > 0 and t_recovery > 0" \
        "$(csv_get "$T/out/r.csv" recovered t_detect t_recovery | awk -F '\t' '$1 > 0 && $2 > 0 && $3 > 0' | wc -l)" 1
    check_eq "$cfg: the other runs have none" \
        "$(csv_get "$T/out/r.csv" recovered t_detect t_recovery | awk -F '\t' '$1 == 0 && $2 == 0 && $3 == 0' | wc -l)" $((rows - 1))
}

# the injected worker's own line says its pid; the parent's line must name the same one,
# which must be gone
check_pid() {
    local cfg=$1 pid
    pid=$(sed -n 's/^tvp: --inject: worker 1 (pid \([0-9]*\)).*/\1/p' "$T/stderr")
    check "$cfg: the injected worker said its pid" [ -n "$pid" ] || return
    check "$cfg: the parent's line names that pid" grep -q -F "worker 1 (pid $pid)" "$T/stderr"
    check "$cfg: that process is gone" [ ! -e "/proc/$pid" ]
}

check_no_process() {
    sleep 0.1
    check_eq "$1: processes left behind" "$(pgrep -f "seed $TAG" | tr '\n' ' ')" ""
}

posix_case() { # CFG WANT-LINE-REGEX ROWS ARGS...
    local cfg=$1 want=$2 rows=$3
    shift 3
    TAG=$((TAG + 1))
    rm -f "$T/out/"*
    run_tvp posix 2 "$@" --workers 2 --seed "$TAG" --warmup 1 --verify --format csv \
        --record "$T/out/r.csv"
    check_eq "$cfg: exit status" "$RC" 0 || show "$T/stderr"
    check_eq "$cfg: one line from the parent" "$(grep -c '^tvp-posix: ' "$T/stderr")" 1 ||
        show "$T/stderr"
    check "$cfg: the line names the worker, pid, cause and work" grep -q -E "$want" "$T/stderr" ||
        show "$T/stderr"
    [ -s "$T/out/r.csv" ] && check_record "$cfg" "$rows"
    check_pid "$cfg"
    check_eq "$cfg: no temporary file" "$(ls -A "$T/out" | grep -v '^r\.csv$')" ""
    check_no_process "$cfg"
}

SQ=(squares --n 200000 --chunk 10000)
# static: worker 1's second task of the timed runs is its block in the second run
posix_case "posix static local crash" \
    '^tvp-posix: worker 1 \(pid [0-9]+\) killed by SIGSEGV during block 1 \(items 100000\.\.199999\); restarting it and re-running the block$' \
    3 "${SQ[@]}" --schedule static --data local --repeat 3 --inject crash:worker=1,task=2
posix_case "posix static scatter shm crash" \
    '^tvp-posix: worker 1 \(pid [0-9]+\) killed by SIGSEGV during block 1 \(items 100000\.\.199999\); restarting it and re-running the block$' \
    2 "${SQ[@]}" --schedule static --data scatter --ipc shm --repeat 2 --inject crash:worker=1,task=2
# dynamic: each idle worker takes the next chunk, so which chunk is worker 1's second task
# depends on timing
posix_case "posix dynamic scatter pipe crash" \
    '^tvp-posix: worker 1 \(pid [0-9]+\) killed by SIGSEGV during chunk [0-9]+ \(items [0-9]+0000\.\.[0-9]+9999\); restarting it and re-running the chunk$' \
    2 "${SQ[@]}" --schedule dynamic --data scatter --ipc pipe --repeat 2 --inject crash:worker=1,task=2
posix_case "posix dynamic local crash" \
    '^tvp-posix: worker 1 \(pid [0-9]+\) killed by SIGSEGV during chunk [0-9]+ \(items [0-9]+0000\.\.[0-9]+9999\); restarting it and re-running the chunk, and the chunks it had done \(their output was in its memory\)$' \
    2 "${SQ[@]}" --schedule dynamic --data local --repeat 2 --inject crash:worker=1,task=2
# hung: killed after --task-timeout 1
posix_case "posix dynamic scatter shm hang" \
    '^tvp-posix: worker 1 \(pid [0-9]+\) did not answer within 1 s \(--task-timeout\) during chunk [0-9]+ \(items [0-9]+0000\.\.[0-9]+9999\); killed it \(SIGKILL\), restarting it and re-running the chunk$' \
    2 "${SQ[@]}" --schedule dynamic --data scatter --ipc shm --repeat 2 --inject hang:worker=1,task=2 --task-timeout 1
check "posix dynamic scatter shm hang: detected after the timeout" \
    awk -F '\t' '$1 > 0 && $2 >= 1 { ok = 1 } END { exit !ok }' <(csv_get "$T/out/r.csv" recovered t_detect)
posix_case "posix static local hang" \
    '^tvp-posix: worker 1 \(pid [0-9]+\) did not answer within 1 s \(--task-timeout\) during block 1 \(items 100000\.\.199999\); killed it \(SIGKILL\), restarting it and re-running the block$' \
    2 "${SQ[@]}" --schedule static --data local --repeat 2 --inject hang:worker=1,task=2 --task-timeout 1
# filter: the whole run again, on a new pool; labelencode: the one worker's part
posix_case "posix filter crash" \
    '^tvp-posix: worker 1 \(pid [0-9]+\) killed by SIGSEGV during the passes; restarting every worker and running the whole run again' \
    2 filter --width 64 --height 48 --iterations 2 --data scatter --ipc pipe --repeat 2 --inject crash:worker=1,task=2
posix_case "posix labelencode crash" \
    '^tvp-posix: worker 1 \(pid [0-9]+\) killed by SIGSEGV during its part.s parse and fit; restarting it and re-running its part$' \
    2 labelencode --rows 2000 --repeat 2 --inject crash:worker=1,task=2
posix_case "posix labelencode shm hang" \
    '^tvp-posix: worker 1 \(pid [0-9]+\) did not answer within 1 s \(--task-timeout\) during its part.s parse and fit; killed it \(SIGKILL\), restarting it and re-running its part$' \
    2 labelencode --rows 2000 --ipc shm --repeat 2 --inject hang:worker=1,task=2 --task-timeout 1

# without --inject or --task-timeout nothing is replaced (tests/workerdeath.sh: exit 3)

# threads: the whole process dies of the worker's SIGSEGV; nothing is written
TAG=$((TAG + 1))
rm -f "$T/out/"*
run_tvp openmp 2 "${SQ[@]}" --workers 2 --seed "$TAG" --repeat 3 --verify --format csv \
    --record "$T/out/r.csv" --inject crash:worker=1,task=2
check_eq "openmp crash: the process dies of SIGSEGV (128 + 11)" "$RC" 139 || show "$T/stderr"
check "openmp crash: the worker said it crashes" grep -q '^tvp: --inject: worker 1 (pid [0-9]*) crashes (SIGSEGV)' "$T/stderr"
check_eq "openmp crash: no record, no temporary file: all work lost" "$(ls -A "$T/out")" ""
check_no_process "openmp crash"

# bad syntax: exit 2, one line naming the option
for bad in crash crash: crash:worker=1 boom:worker=1,task=1 crash:worker=1,task=0 \
    crash:worker=x,task=1 crash:worker=1,task=2,after=1 crash:worker=1,after=-1 \
    crash:worker=1,after=1h crash:task=2 hang:worker=1,task=2,task=3 "crash:worker=1,,task=2"; do
    for be in posix openmp; do
        run_tvp "$be" 2 squares --n 1000 --workers 2 --inject "$bad"
        check_eq "$be --inject '$bad': exit status" "$RC" 2
        check_eq "$be --inject '$bad': one line" "$(wc -l <"$T/stderr")" 1 || show "$T/stderr"
        check "$be --inject '$bad': names the option" grep -q -e '--inject' "$T/stderr"
    done
done
run_tvp posix 2 squares --n 1000 --workers 2 --inject crash:worker=2,task=1
check_eq "posix --inject worker 2 of 2: exit status" "$RC" 2
check "posix --inject worker 2 of 2: says so" grep -q 'worker 2 does not exist' "$T/stderr"
for bad in 0 -1 abc 1x ""; do
    run_tvp posix 2 squares --n 1000 --workers 2 --task-timeout "$bad"
    check_eq "posix --task-timeout '$bad': exit status" "$RC" 2
    check_eq "posix --task-timeout '$bad': one line" "$(wc -l <"$T/stderr")" 1 || show "$T/stderr"
done
# good ones: milliseconds, and no fault at all
run_tvp posix 2 squares --n 1000 --workers 2 --task-timeout 500ms --repeat 1 --verify --format csv
check_eq "posix --task-timeout 500ms, nothing injected: exit status" "$RC" 0 || show "$T/stderr"
check_eq "posix --task-timeout 500ms, nothing injected: nothing recovered" \
    "$(csv_get "$T/stdout" recovered verified)" "0"$'\t'"1"
finish
