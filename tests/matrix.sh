#!/usr/bin/env bash
# The configuration matrix of one backend: schedule {static,dynamic} x data {local,scatter}
# x ipc {pipe,shm} x workers 1..4 (tvp-serial: 1), with --verify, on a small generated
# input.  Every run must exit 0 and print 2 CSV rows (--repeat 2 --warmup 1) that
# describe the configuration asked for (including cpus: one PU per worker, and the
# bytes_moved the data path implies), are verified, and carry the checksum of tvp-serial's
# run -- which itself must equal an independent computation (reference.py).  Then awkward
# sizes: n = 1, 3, 7 with 4 workers and chunks of 2; a chunk larger than n.
#
# usage: matrix.sh BIN_DIR BACKEND
. "$(dirname "$0")/lib.sh"

N=${TVP_MATRIX_N:-100003}
CHUNK=1000
BE=$BACKEND
[ -n "$BE" ] || { echo "usage: $0 BIN_DIR BACKEND" >&2; exit 2; }

# ---- the reference: tvp-serial, and reference.py ------------------------------------------
run_tvp serial 1 squares --n "$N" --format csv --repeat 1 --warmup 0
check_eq "tvp-serial (reference run) exit status" "$RC" 0 || { show "$T/stderr"; finish; }
REF=$(csv_get "$T/stdout" checksum_sum checksum_crc64)
check "tvp-serial printed a checksum" [ -n "$REF" ] || finish
INDEP=$(reference --n "$N" --seed 42 | tr ' ' '\t')
if [ -n "$INDEP" ]; then
    check_eq "tvp-serial's checksum against reference.py (independent)" "$REF" "$INDEP"
else
    echo "note: no python3, the independent reference check is skipped"
fi

if [ "$BE" = serial ]; then
    WORKERS="1"
else
    WORKERS="1 2 3 4"
fi

# bytes the record must say moved between workers, or "any" (timing-dependent)
want_moved() { # want_moved SCHED DATA IPC WORKERS N
    local sched=$1 data=$2 ipc=$3 w=$4 n=$5
    if [ "$data" = local ]; then
        echo 0 # every worker makes its own input and keeps its output
    elif [ "$BE" = posix ] && [ "$ipc" = pipe ]; then
        echo $((16 * n)) # every item in and out through the pipes
    elif [ "$BE" = mpi ] && [ "$sched" = static ]; then
        # all but the root's own block, which it does in place
        echo $((16 * (n - (n / w + (n % w > 0)))))
    elif [ "$BE" = mpi ]; then
        echo any # the root computes chunks too, as many as time allows
    else
        echo 0 # shared memory
    fi
}

whole_items() { # whole_items BYTES N: 0 <= BYTES <= 16 N, a multiple of 16
    case "$1" in '' | *[!0-9]*) return 1 ;; esac
    [ "$1" -le $((16 * $2)) ] && [ $(($1 % 16)) -eq 0 ]
}

runs=0
# one_case SCHED DATA IPC WORKERS N CHUNK REF: run a configuration, check its rows
one_case() {
    local sched=$1 data=$2 ipc=$3 w=$4 n=$5 chunk=$6 ref=$7
    local args=(squares --n "$n" --schedule "$sched" --data "$data" --ipc "$ipc" --verify
                --format csv --repeat 2 --warmup 1)
    local want_chunk=0
    if [ "$sched" = dynamic ]; then
        args+=(--chunk "$chunk")
        want_chunk=$chunk
    fi
    # tvp-mpi takes its workers from mpirun -np; say --workers W too on half of the runs
    # (it must agree).  tvp-serial likewise takes --workers 1.
    if [ "$BE" = mpi ] || [ "$BE" = serial ]; then
        [ "$ipc" = shm ] && args+=(--workers "$w")
    else
        args+=(--workers "$w")
    fi
    local cfg="$BE n=$n $sched"
    [ "$sched" = dynamic ] && cfg+=" chunk=$chunk"
    cfg+=" $data $ipc workers=$w"
    run_tvp "$BE" "$w" "${args[@]}"
    runs=$((runs + 1))
    check_csv_run "$cfg" 2 || return
    check_stderr_clean "$cfg"
    local want_ipc=none want_over=0 moved
    [ "$BE" = posix ] && want_ipc=$ipc
    [ "$w" -gt "$NPROC" ] && want_over=1
    moved=$(want_moved "$sched" "$data" "$ipc" "$w" "$n")
    local want_transport=none
    # posix: the --ipc in use (common/driver.c row_fill; README.md still says "pipe" for both)
    [ "$BE" = posix ] && want_transport=$ipc
    [ "$BE" = mpi ] && want_transport="pml=ob1 btl=self,vader"
    local rows
    rows=$(csv_get "$T/stdout" backend workload n schedule chunk data ipc workers \
        oversubscribed repeat warmup verified checksum_sum checksum_crc64 bytes_moved cpus \
        transport t_init t_touch t_startup t_distribute t_compute t_collect t_total \
        items_per_s bytes_per_s peak_rss_kb) || {
        fail "$cfg: the CSV cannot be read"
        show "$T/stdout"
        return
    }
    local i=0 r_be r_wl r_n r_sched r_chunk r_data r_ipc r_w r_over r_rep r_warm r_ver r_sum \
        r_crc r_moved r_cpus r_transport r_init numbers bad first_init=""
    while IFS=$'\t' read -r r_be r_wl r_n r_sched r_chunk r_data r_ipc r_w r_over \
        r_rep r_warm r_ver r_sum r_crc r_moved r_cpus r_transport numbers; do
        check_eq "$cfg row $i: backend" "$r_be" "$BE"
        check_eq "$cfg row $i: workload" "$r_wl" squares
        check_eq "$cfg row $i: n" "$r_n" "$n"
        check_eq "$cfg row $i: schedule" "$r_sched" "$sched"
        check_eq "$cfg row $i: chunk" "$r_chunk" "$want_chunk"
        check_eq "$cfg row $i: data" "$r_data" "$data"
        check_eq "$cfg row $i: ipc" "$r_ipc" "$want_ipc"
        check_eq "$cfg row $i: workers" "$r_w" "$w"
        check_eq "$cfg row $i: oversubscribed ($NPROC PUs)" "$r_over" "$want_over"
        check_eq "$cfg row $i: repeat" "$r_rep" "$i"
        check_eq "$cfg row $i: warmup" "$r_warm" 1
        check_eq "$cfg row $i: verified" "$r_ver" 1
        check_eq "$cfg row $i: checksum (sum, crc64) against tvp-serial" \
            "$r_sum"$'\t'"$r_crc" "$ref"
        if [ "$moved" = any ]; then
            check "$cfg row $i: bytes_moved $r_moved in [0, 16n], whole items" \
                whole_items "$r_moved" "$n"
        else
            check_eq "$cfg row $i: bytes_moved" "$r_moved" "$moved"
        fi
        # shellcheck disable=SC2086
        set -- $r_cpus
        check_eq "$cfg row $i: PUs in cpus '$r_cpus'" "$#" "$w"
        check_eq "$cfg row $i: transport" "$r_transport" "$want_transport"
        # the numbers: times written with 9 decimals, non-negative; t_total > 0 and, for a
        # static schedule, the sum of the four phases; rates n/t_total and 16n/t_total
        bad=$(echo "$numbers" | awk -F '\t' -v n="$n" -v static="$([ "$sched" = static ] && echo 1)" '
            function abs(x) { return x < 0 ? -x : x }
            {
                split("t_init t_touch t_startup t_distribute t_compute t_collect t_total", name, " ")
                for (k = 1; k <= 7; k++)
                    if ($k !~ /^[0-9]+\.[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]$/)
                        print name[k] " is not a time in seconds: " $k
                tot = $7 + 0
                if (tot <= 0) print "t_total " $7 " is not positive"
                if (static && abs(tot - ($3 + $4 + $5 + $6)) > 3e-9)
                    print "t_total " $7 " is not t_startup+t_distribute+t_compute+t_collect " $3 "+" $4 "+" $5 "+" $6
                slack = 1e-4 + 6e-10 / (tot > 0 ? tot : 1)
                if (tot > 0 && abs($8 * tot / n - 1) > slack) print "items_per_s " $8 " is not n/t_total"
                if (tot > 0 && abs($9 * tot / (16 * n) - 1) > slack) print "bytes_per_s " $9 " is not 16n/t_total"
                if ($10 !~ /^[0-9]+$/ || $10 + 0 <= 0) print "peak_rss_kb " $10 " is not positive"
            }')
        check_eq "$cfg row $i: times, rates, peak RSS" "$bad" ""
        r_init=${numbers%%$'\t'*}
        [ -z "$first_init" ] && first_init=$r_init
        check_eq "$cfg row $i: t_init is the same in every row" "$r_init" "$first_init"
        i=$((i + 1))
    done <<<"$rows"
}

# ---- the matrix -----------------------------------------------------------------------------------
for sched in static dynamic; do
    for data in local scatter; do
        for ipc in pipe shm; do
            for w in $WORKERS; do
                one_case "$sched" "$data" "$ipc" "$w" "$N" "$CHUNK" "$REF"
            done
        done
    done
done

# ---- awkward sizes: fewer items than workers, a prime, chunks that do not divide n --------------------
W_MAX=${WORKERS##* }
for n in 1 3 7; do
    run_tvp serial 1 squares --n "$n" --format csv --repeat 1 --warmup 0
    ref=$(csv_get "$T/stdout" checksum_sum checksum_crc64)
    check "tvp-serial --n $n printed a checksum" [ -n "$ref" ] || continue
    for data in local scatter; do
        ipc=pipe
        [ "$data" = scatter ] && [ "$n" = 3 ] && ipc=shm
        one_case static "$data" "$ipc" "$W_MAX" "$n" 0 "$ref"
        one_case dynamic "$data" "$ipc" "$W_MAX" "$n" 2 "$ref"
    done
done
one_case dynamic local pipe "$W_MAX" "$N" 65536 "$REF"     # one full chunk and a short one
one_case dynamic scatter shm "$W_MAX" "$N" 200000 "$REF"   # one chunk, larger than n

# ---- blocks and chunks larger than a pipe holds (1 MiB): 3.2 MB each way -----------------------------
if [ "$BE" = posix ] || [ "$BE" = mpi ]; then
    BIG=400003
    run_tvp serial 1 squares --n "$BIG" --format csv --repeat 1 --warmup 0
    ref=$(csv_get "$T/stdout" checksum_sum checksum_crc64)
    if check "tvp-serial --n $BIG printed a checksum" [ -n "$ref" ]; then
        one_case static scatter pipe 1 "$BIG" 0 "$ref"
        one_case static scatter pipe 2 "$BIG" 0 "$ref"
        one_case dynamic scatter pipe 2 "$BIG" 150000 "$ref"
    fi
fi
echo "$runs runs of tvp-$BE"
finish
