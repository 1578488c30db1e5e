#!/usr/bin/env bash
# tvp-posix when a worker process dies (SIGKILL, from outside, mid-run): the parent must
# notice, exit 3 with one line on stderr, write no record, and leave no worker behind.
# For each data path (local, scatter over pipes, scatter over shared memory) and both
# schedules.
#
# usage: workerdeath.sh BIN_DIR
. "$(dirname "$0")/lib.sh" "$1" posix

TAG=$((RANDOM * 32768 + RANDOM)) # a seed that names this script's processes
mkdir -p "$T/out"

for sched in static dynamic; do
    for path in "local pipe" "scatter pipe" "scatter shm"; do
        data=${path% *} ipc=${path#* }
        cfg="posix $sched data=$data ipc=$ipc"
        TAG=$((TAG + 1))
        # enough repeats never to finish on its own
        timeout -k 5 "$TIMEOUT" "$TVP_BIN/tvp-posix" squares --n 200000 --workers 2 \
            --schedule "$sched" --chunk 5000 --data "$data" --ipc "$ipc" --repeat 1000000 --warmup 0 \
            --seed "$TAG" --format csv --out "$T/out/r.csv" >"$T/stdout" 2>"$T/stderr" &
        pid=$!
        LAST_CMD="tvp-posix squares --n 200000 --workers 2 --schedule $sched --data $data --ipc $ipc --repeat 1000000"
        # the tvp-posix under timeout, and its two workers
        parent="" kids=""
        for _ in $(seq 100); do
            parent=$(pgrep -P "$pid" -f "seed $TAG" | head -n 1)
            [ -n "$parent" ] && kids=$(pgrep -P "$parent" | tr '\n' ' ')
            # shellcheck disable=SC2086
            set -- $kids
            [ $# -ge 2 ] && break
            sleep 0.05
        done
        if ! check_eq "$cfg: workers started" "$#" 2; then
            kill "$pid" 2>/dev/null
            wait "$pid"
            continue
        fi
        sleep 0.2 # let some runs go by
        kill -KILL "$2" # the second worker
        wait "$pid"
        rc=$?
        check_eq "$cfg: exit status after a worker was killed" "$rc" 3 || show "$T/stderr"
        check_eq "$cfg: lines on stderr" "$(wc -l <"$T/stderr")" 1 || show "$T/stderr"
        check "$cfg: stderr says a worker failed" grep -q -i worker "$T/stderr"
        check_eq "$cfg: no record, no temporary file" "$(ls -A "$T/out")" ""
        sleep 0.2
        check_eq "$cfg: processes left behind" "$(pgrep -f "seed $TAG" | tr '\n' ' ')" ""
    done
done
finish
