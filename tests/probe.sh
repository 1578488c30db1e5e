#!/usr/bin/env bash
# tvp-BACKEND probe NAME: every probe runs (small sizes, --outer 5, so that the whole script
# takes seconds), exits 0 and writes CSV rows with positive times; then inequalities that
# physics guarantees, never tight timings (the machine is shared and noisy):
#   spawn   fork+waitpid at W=2 takes > 0; with 128 MiB touched in the parent, longer
#           (tvp-posix); a first region and an empty region take > 0 (tvp-openmp); this
#           launch's MPI_Init and whole nested launches take > 0, a launch longer than the
#           MPI_Init inside it (tvp-mpi)
#   ipc     a 64 MiB round trip and one-way transfer take longer than 8 bytes'
#   switch  the same-core "context switch" row is half its round trip
#   memory  a child's PSS grows when it writes its own output; threads hold one copy of the
#           input, processes that write into it one copy each (tvp-posix runs tvp-openmp too);
#           MPI ranks hold a copy each, made or broadcast (tvp-mpi runs tvp-openmp too)
# Bad command lines: an unknown probe exits 2 with one line naming the known ones; options
# of workloads are refused for probes and the reverse; tvp-serial has no probes (exit 3).
# tvp-mpi runs at -np 2 with each rank's stderr and exit status apart (MPI_SPLIT=1): every
# rank must exit with the status asked; ipc and switch refuse other than 2 ranks.
#
# usage: probe.sh BIN_DIR BACKEND
. "$(dirname "$0")/lib.sh" "$1" "$2"

BE=$BACKEND
[ "$BE" = mpi ] && export MPI_SPLIT=1 # rank 0's stderr in $T/stderr, each rank's status apart
PROBE_HEADER="schema,tool_version,git_commit,timestamp_utc,host,backend,probe,what,workers,placement,size_bytes,outer,inner,mean_us,median_us,min_us,max_us,sd_us,ci95_lo_us,ci95_hi_us,bandwidth_MBps,rss_kb,pss_kb,notes"
QUICK=(--outer 5 --target-ms 0.2)

# ranks_exited CFG NP STATUS: tvp-mpi (MPI_SPLIT=1): each of the NP ranks exited STATUS
ranks_exited() {
    local cfg=$1 np=$2 want=$3 r got
    for ((r = 0; r < np; r++)); do
        got=$(cat "$T/rank.$r.rc" 2>/dev/null || echo none)
        check_eq "$cfg: rank $r's exit status" "$got" "$want"
    done
}

# usage_error CFG STATUS WORDS ARGS...: exit STATUS, one line on stderr naming WORDS
# (tvp-mpi: at -np ${UNP:-2}, on every rank; the oversubscription warning aside)
usage_error() {
    local cfg=$1 want=$2 words=$3 np=${UNP:-2}
    shift 3
    run_tvp "$BE" "$np" "$@"
    check_eq "$cfg: exit status" "$RC" "$want" || show "$T/stderr"
    check_eq "$cfg: lines on stderr" \
        "$(grep -c -v -E '^tvp-[a-z]+: warning: [0-9]+ workers on [0-9]+ PUs: oversubscribed$' "$T/stderr")" \
        1 || show "$T/stderr"
    check_eq "$cfg: nothing on stdout" "$(wc -c <"$T/stdout")" 0
    check_names "$cfg" "$words" "$T/stderr"
    if [ "$BE" = mpi ]; then
        ranks_exited "$cfg" "$np" "$want"
    fi
}

# probe_csv NAME ARGS...: runs the probe with CSV output into $T/NAME.csv; checks exit 0,
# a clean stderr, the header, and that every timed row has positive median, min and CI
probe_csv() {
    local name=$1
    shift
    run_tvp "$BE" 2 probe "$name" "$@" --format csv
    if ! check_eq "probe $name: exit status" "$RC" 0; then
        show "$T/stderr"
        return 1
    fi
    check_stderr_clean "probe $name"
    cp "$T/stdout" "$T/$name.csv"
    check_eq "probe $name: CSV header" "$(head -n 1 "$T/$name.csv")" "$PROBE_HEADER"
    check_eq "probe $name: backend column" \
        "$(csv_get "$T/$name.csv" backend probe | sort -u | tr '\t' ' ')" "$BE $name"
    local bad
    bad=$(csv_get "$T/$name.csv" what outer median_us min_us mean_us |
        awk -F'\t' '$2 != "" && !($3 > 0 && $5 > 0) { print }')
    check_eq "probe $name: every timed row has median and mean > 0" "$bad" "" || show "$T/$name.csv"
}

# value FILE WHAT COLUMN: the column of the row whose `what` is WHAT (the first, or with a
# 4th argument the row of that size_bytes)
value() {
    csv_get "$1" what size_bytes "$3" | awk -F'\t' -v w="$2" -v s="${4:-}" \
        '$1 == w && (s == "" || $2 == s) { print $3; exit }'
}

# gt A B: A > B, as numbers (both present)
gt() {
    [ -n "$1" ] && [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN { exit !(a > b) }'
}

# ---- command lines ------------------------------------------------------------------------

usage_error "unknown probe" 2 "bogus|spawn|ipc|switch|memory" probe bogus
usage_error "probe without a name" 2 "spawn|ipc|switch|memory" probe
usage_error "a workload's option for a probe" 2 "--n" probe spawn --n 5
usage_error "--repeat for a probe" 2 "--repeat" probe switch --repeat 3
usage_error "--verify for a probe" 2 "--verify" probe spawn --verify
usage_error "a probe's option for a workload" 2 "--outer" squares --n 1000 --outer 3
usage_error "another probe's option" 2 "--max-size" probe spawn --max-size 1Mi
usage_error "bad --outer" 2 "--outer" probe spawn --outer 0
usage_error "bad --max-size" 2 "--max-size" probe ipc --max-size 12X
usage_error "bad --target-ms" 2 "--target-ms" probe ipc --target-ms -1

if [ "$BE" = serial ]; then
    usage_error "tvp-serial probe spawn" 3 "no probes" probe spawn
    finish
fi
usage_error "ipc with three workers" 2 "--workers" probe ipc --workers 3
if [ "$BE" = mpi ]; then
    UNP=3 usage_error "ipc on three ranks" 2 "two ranks|mpirun -np 2" probe ipc "${QUICK[@]}"
    UNP=3 usage_error "switch on three ranks" 2 "two ranks|mpirun -np 2" probe switch "${QUICK[@]}"
    usage_error "--workers for the wrong number of ranks" 2 "--workers 3|2 ranks" probe memory \
        --size-mib 8 --workers 3
fi

# ---- spawn --------------------------------------------------------------------------------

if [ "$BE" = posix ]; then
    probe_csv spawn "${QUICK[@]}" --workers 2 --touch 128
    F=$T/spawn.csv
    check_eq "spawn: rows" "$(csv_rows "$F")" 2
    fork0=$(value "$F" "fork+_exit+waitpid" median_us 0)
    fork128=$(value "$F" "fork+_exit+waitpid" median_us $((128 << 20)))
    check "spawn: fork+_exit+waitpid at W=2 takes > 0 ($fork0 us)" gt "$fork0" 0
    check "spawn: fork with 128 MiB touched ($fork128 us) > untouched ($fork0 us)" \
        gt "$fork128" "$fork0"
    check_eq "spawn: workers column" "$(csv_get "$F" workers | sort -u)" 2
elif [ "$BE" = mpi ]; then
    usage_error "--touch for ranks" 2 "--touch" probe spawn --touch 64
    probe_csv spawn "${QUICK[@]}"
    F=$T/spawn.csv
    check_eq "spawn: rows (this launch; mpirun true; 2 x launch + its MPI_Init)" "$(csv_rows "$F")" 6
    check_eq "spawn: workers column" "$(csv_get "$F" workers | sort -u)" 2
    v=$(value "$F" "MPI_Init (this launch)" median_us)
    check "spawn: this launch's MPI_Init takes > 0 ($v us)" gt "$v" 0
    v=$(value "$F" "mpirun true" median_us)
    check "spawn: mpirun -np 2 true takes > 0 ($v us)" gt "$v" 0 || show "$F"
    # the launches with Open MPI's defaults may fail where a default transport does (the
    # row then says why); those with pml ob1 + btl self,vader, as every test runs, must not
    for kind in "ob1+vader" default; do
        launch=$(value "$F" "mpirun tvp-mpi ($kind)" median_us)
        init=$(value "$F" "MPI_Init ($kind)" median_us)
        if [ "$kind" = default ] && [ -z "$launch" ]; then
            echo "note: launches with Open MPI's default transports failed here:" \
                "$(value "$F" "mpirun tvp-mpi ($kind)" notes)" >&2
            continue
        fi
        check "spawn: a launch with $kind takes > 0 ($launch us)" gt "$launch" 0 || show "$F"
        check "spawn: MPI_Init with $kind takes > 0 ($init us)" gt "$init" 0
        # every launch lasts longer than the MPI_Init inside it, so the medians are ordered
        check "spawn: a launch with $kind ($launch us) > its MPI_Init ($init us)" gt "$launch" "$init"
        check_eq "spawn: inner of a launch ($kind)" "$(value "$F" "mpirun tvp-mpi ($kind)" inner)" 1
        check_eq "spawn: outer of a launch ($kind)" "$(value "$F" "MPI_Init ($kind)" outer)" 5
    done
else
    usage_error "--touch for threads" 2 "--touch" probe spawn --touch 64
    probe_csv spawn "${QUICK[@]}" --workers 2
    F=$T/spawn.csv
    check_eq "spawn: rows" "$(csv_rows "$F")" 4
    for what in "first region (bound)" "first region (unbound)" "empty region" "barrier"; do
        v=$(value "$F" "$what" median_us)
        check "spawn: $what takes > 0 ($v us)" gt "$v" 0
    done
    check_eq "spawn: inner of a first region" "$(value "$F" "first region (bound)" inner)" 1
fi

# ---- ipc ----------------------------------------------------------------------------------

probe_csv ipc "${QUICK[@]}" --max-size 64Mi
F=$T/ipc.csv
case $BE in
posix) mechs="pipe shm+flag" ;;
mpi) mechs="MPI_Send/Recv" ;;
*) mechs="flag barrier" ;;
esac
nmech=$(echo $mechs | wc -w)
check_eq "ipc: rows ($nmech mechanisms x 8 B..64 MiB)" "$(csv_rows "$F")" $((nmech * 24))
for m in $mechs; do
    small=$(value "$F" "$m" median_us 8)
    big=$(value "$F" "$m" median_us $((64 << 20)))
    check "ipc $m: 64 MiB round trip ($big us) > 8 B ($small us)" gt "$big" "$small"
    bw8=$(value "$F" "$m" bandwidth_MBps 8)
    bw64=$(value "$F" "$m" bandwidth_MBps $((64 << 20)))
    # one-way transfer time = size / bandwidth
    check "ipc $m: 64 MiB one-way transfer takes longer than 8 B (MB/s $bw64 vs $bw8)" \
        awk -v a="$bw64" -v b="$bw8" 'BEGIN { exit !(a > 0 && b > 0 && 67108864 / a > 8 / b) }'
done
bad=$(csv_get "$F" bandwidth_MBps | awk '!($1 > 0)')
check_eq "ipc: every row has a bandwidth > 0" "$bad" ""

# ---- switch -------------------------------------------------------------------------------

probe_csv switch "${QUICK[@]}"
F=$T/switch.csv
case $BE in
posix) mechs="pipe futex" ;;
mpi) mechs="MPI+yield MPI_Send/Recv" ;;
*) mechs="futex" ;;
esac
for m in $mechs; do
    rtt=$(csv_get "$F" what placement median_us | awk -F'\t' -v m="$m" '$1 == m && $2 == "same-core" { print $3 }')
    sw=$(value "$F" "context switch ($m)" median_us)
    check "switch $m: same-core round trip > 0 ($rtt us)" gt "$rtt" 0
    check "switch $m: the switch row ($sw us) is half the round trip ($rtt us)" \
        awk -v a="$sw" -v b="$rtt" 'BEGIN { d = a - b / 2; exit !(a > 0 && d < 0.001 && d > -0.001) }'
    if [ "$NCORES" -ge 2 ] && [ "$NPROC" -ge 2 ]; then
        n=$(csv_get "$F" what placement | awk -F'\t' -v m="$m" '$1 == m && $2 == "different-cores"' | wc -l)
        check_eq "switch $m: a different-cores row" "$n" 1
    fi
done

# ---- memory -------------------------------------------------------------------------------

X=32 # MiB
probe_csv memory --size-mib $X --workers 2
F=$T/memory.csv
kb=$((X * 1024))
if [ "$BE" = posix ]; then
    check_eq "memory: rows (3 phases x parent, 2 children, total, per worker)" "$(csv_rows "$F")" 15
    for c in 0 1; do
        before=$(value "$F" "after read: child $c" pss_kb)
        after=$(value "$F" "after write: child $c" pss_kb)
        # its own X/W output: X/2 MiB; half of that is plenty of margin
        check "memory: child $c PSS after writing ($after kB) > before + $((kb / 4)) kB ($before kB)" \
            gt "$after" "$((before + kb / 4))"
        touched=$(value "$F" "after touch: child $c" pss_kb)
        check "memory: child $c PSS after writing into the input ($touched kB) > after its output ($after kB)" \
            gt "$touched" "$after"
    done
    proc_rss=$(value "$F" "after touch: total" rss_kb)
    # the same input with threads
    if [ ! -x "$TVP_BIN/tvp-openmp" ]; then
        echo "note: no tvp-openmp beside tvp-posix: threads vs processes not compared" >&2
    else
        run_tvp openmp 2 probe memory --size-mib $X --workers 2 --format csv
        if check_eq "memory: tvp-openmp exit status" "$RC" 0; then
            cp "$T/stdout" "$T/memory-openmp.csv"
            thr_rss=$(value "$T/memory-openmp.csv" "after touch: total" rss_kb)
            check "memory: threads' total RSS ($thr_rss kB) < processes' ($proc_rss kB) once children wrote their copy" \
                gt "$proc_rss" "$thr_rss"
        else
            show "$T/stderr"
        fi
    fi
elif [ "$BE" = mpi ]; then
    check_eq "memory: rows (4 phases x 2 ranks, total, per worker)" "$(csv_rows "$F")" 16
    for phase in read bcast; do
        for r in 0 1; do
            v=$(value "$F" "after $phase: rank $r" rss_kb)
            check "memory: rank $r holds its copy of the input after $phase ($v kB > $kb kB)" gt "$v" "$kb"
        done
        for col in rss_kb pss_kb; do
            # each rank's copy is private: it counts whole in PSS too
            v=$(value "$F" "after $phase: total" $col)
            check "memory: 2 ranks hold 2 copies after $phase ($col $v > $((2 * kb)))" gt "$v" $((2 * kb))
        done
    done
    for r in 0 1; do
        before=$(value "$F" "after read: rank $r" pss_kb)
        after=$(value "$F" "after write: rank $r" pss_kb)
        check "memory: rank $r PSS after writing its output ($after kB) > before + $((kb / 4)) kB ($before kB)" \
            gt "$after" "$((before + kb / 4))"
    done
    write_rss=$(value "$F" "after write: total" rss_kb)
    check_eq "memory: per worker = total / 2" "$(value "$F" "after write: per worker" rss_kb)" \
        "$((write_rss / 2))"
    proc_rss=$(value "$F" "after read: total" rss_kb)
    if [ ! -x "$TVP_BIN/tvp-openmp" ]; then
        echo "note: no tvp-openmp beside tvp-mpi: threads vs ranks not compared" >&2
    else
        run_tvp openmp 2 probe memory --size-mib $X --workers 2 --format csv
        if check_eq "memory: tvp-openmp exit status" "$RC" 0; then
            cp "$T/stdout" "$T/memory-openmp.csv"
            thr_rss=$(value "$T/memory-openmp.csv" "after read: total" rss_kb)
            check "memory: threads sharing one input ($thr_rss kB) < 2 ranks with a copy each ($proc_rss kB)" \
                gt "$proc_rss" "$thr_rss"
        else
            show "$T/stderr"
        fi
    fi
else
    check_eq "memory: rows (3 phases x total, per worker)" "$(csv_rows "$F")" 6
    read_rss=$(value "$F" "after read: total" rss_kb)
    write_rss=$(value "$F" "after write: total" rss_kb)
    touch_rss=$(value "$F" "after touch: total" rss_kb)
    check "memory: the input is in the process ($read_rss kB > $kb kB)" gt "$read_rss" "$kb"
    check "memory: the threads' outputs add X/2 at least ($write_rss kB > $read_rss + $((kb / 2)))" \
        gt "$write_rss" "$((read_rss + kb / 2))"
    check "memory: writing into the shared input copies nothing ($touch_rss kB < $write_rss + $((kb / 4)))" \
        gt "$((write_rss + kb / 4))" "$touch_rss"
    per=$(value "$F" "after write: per worker" rss_kb)
    check_eq "memory: per worker = total / 2" "$per" "$((write_rss / 2))"
fi

# ---- formats: --record (atomic), JSON, text -------------------------------------------------

mkdir -p "$T/rec"
run_tvp "$BE" 2 probe switch "${QUICK[@]}" --format json --record "$T/rec/switch.json"
check_eq "--record: exit status" "$RC" 0 || show "$T/stderr"
check_eq "--record: nothing on stdout" "$(wc -c <"$T/stdout")" 0
check_eq "--record: only the record in its folder" "$(ls -A "$T/rec")" "switch.json"
check_eq "--record json: one object per row" "$(wc -l <"$T/rec/switch.json")" "$(csv_rows "$T/switch.csv")"
if [ -n "$PYTHON" ]; then
    check "--record json: every line is JSON with the CSV's columns" "$PYTHON" -c '
import json, sys
cols = sys.argv[2].split(",")
for line in open(sys.argv[1]):
    row = json.loads(line)
    assert list(row) == cols, list(row)
    assert row["probe"] == "switch", row
    assert row["outer"] is None or row["median_us"] > 0, row
' "$T/rec/switch.json" "$PROBE_HEADER"
fi
run_tvp "$BE" 2 probe memory --size-mib 8
check_eq "text: exit status" "$RC" 0 || show "$T/stderr"
check "text: a title line" grep -q "backend=$BE probe=memory" "$T/stdout"
check "text: the column heads" grep -q "^what .*rss_kB *pss_kB" "$T/stdout"

finish
