#!/usr/bin/env bash
# Bad command lines and bad input files for one backend: each must exit 2 with exactly one
# line on stderr that names the argument or the file (and the line, for file contents),
# print nothing on stdout and leave no --out file and no FILE.tmp.* behind.  Then good
# input: --in gives the checksum computed without tvp, and --out writes the whole record,
# readable, atomically replacing an old file.
#
# tvp-mpi runs under mpirun -np 2 with each rank's stderr and exit status kept apart;
# every rank must exit 2, and only rank 0 may print.
#
# usage: badinput.sh BIN_DIR BACKEND
. "$(dirname "$0")/lib.sh"

BE=$BACKEND
[ -n "$BE" ] || { echo "usage: $0 BIN_DIR BACKEND" >&2; exit 2; }
NP=2
[ "$BE" = mpi ] && export MPI_SPLIT=1

mkdir -p "$T/out" "$T/in" "$T/a folder"
OUT="$T/out/record.csv"

# input files
printf '1\n2\nabc\n4\n' >"$T/in/word.txt"                 # line 3 is not a number
printf '5\n3037000500\n6\n' >"$T/in/overflow.txt"         # line 2: its square overflows
printf -- '-3037000501\n' >"$T/in/underflow.txt"          # line 1, negative
printf '7\n8\n\n9\n' >"$T/in/blank.txt"                   # line 3 is empty
printf '10\n11 12\n' >"$T/in/two.txt"                     # line 2 has two numbers
: >"$T/in/empty.txt"                                      # no values at all

# bad CASE-NAME "WORDS STDERR MUST CONTAIN (|-separated)" ARGS...
# Runs tvp with ARGS plus --format csv --out $OUT and checks the failure.
bad() {
    local name="$BE: $1" must=$2
    shift 2
    rm -rf "$T/out" && mkdir "$T/out"
    case " $* " in
    *" --out "*) run_tvp "$BE" "$NP" "$@" --format csv ;; # the case's own --out
    *) run_tvp "$BE" "$NP" "$@" --format csv --out "$OUT" ;;
    esac
    check_eq "$name: exit status" "$RC" 2 || show "$T/stderr"
    check_eq "$name: lines on stderr" "$(wc -l <"$T/stderr")" 1 || show "$T/stderr"
    local r
    check_names "$name" "$must" "$T/stderr"
    check_eq "$name: stdout" "$(head -c 200 "$T/stdout")" ""
    check "$name: --out file must not exist" [ ! -e "$OUT" ]
    check_eq "$name: files left in the --out folder" "$(ls -A "$T/out")" ""
    if [ "$BE" = mpi ]; then
        for ((r = 1; r < NP; r++)); do
            check_eq "$name: rank $r exit status" "$(cat "$T/rank.$r.rc" 2>/dev/null)" 2
            check_eq "$name: rank $r stderr (only rank 0 prints)" "$(cat "$T/rank.$r.err" 2>/dev/null)" ""
        done
    fi
}

# ---- bad command lines ----------------------------------------------------------------------
bad "non-numeric --n" "--n|abc" squares --n abc
bad "negative --n" "--n|-5" squares --n -5
bad "negative --n=" "--n|-5" squares --n=-5
bad "zero --n" "--n" squares --n 0
bad "--workers 0" "--workers" squares --workers 0
bad "unknown option" "--frobnicate" squares --frobnicate
bad "unknown option with a value" "--frobnicate" squares --frobnicate=3
bad "missing value" "--n" squares --n
bad "bad --bind list" "--bind" squares --bind list:0,,1
bad "bad --schedule" "--schedule|guided" squares --schedule guided
bad "unknown workload" "cubes" cubes --n 10
bad "no workload" "workload" --n 10
bad "--n and --in together" "--n|--in" squares --n 10 --in "$T/in/word.txt"
bad "--out in a missing folder" "$T/no-such-folder/r.csv" squares --n 10 --out "$T/no-such-folder/r.csv"
bad "--bind a PU that does not exist" "--bind" squares --n 10 --bind list:100000
bad "--n larger than memory" "--n|GiB" squares --n 64G --data scatter
case "$BE" in
serial) bad "--workers 2 for tvp-serial" "--workers" squares --n 10 --workers 2 ;;
mpi) bad "--workers 3 under mpirun -np 2" "--workers 3|2" squares --n 10 --workers 3 ;;
esac

# ---- bad input files --------------------------------------------------------------------------
for data in local scatter; do
    bad "--in non-numeric line, $data" "$T/in/word.txt|:3" squares --in "$T/in/word.txt" --data $data
    bad "--in 3037000500 (square overflows), $data" "$T/in/overflow.txt|:2" \
        squares --in "$T/in/overflow.txt" --data $data
done
bad "--in -3037000501" "$T/in/underflow.txt|:1" squares --in "$T/in/underflow.txt"
bad "--in empty line" "$T/in/blank.txt|:3" squares --in "$T/in/blank.txt"
bad "--in two numbers on a line" "$T/in/two.txt|:2" squares --in "$T/in/two.txt"
bad "--in empty file" "$T/in/empty.txt" squares --in "$T/in/empty.txt"
bad "--in missing file" "$T/in/missing.txt" squares --in "$T/in/missing.txt"
bad "--in a folder" "$T/a folder" squares --in "$T/a folder"
bad "--in missing file, scatter" "$T/in/missing.txt" squares --in "$T/in/missing.txt" --data scatter

# mpirun passes tvp-mpi's exit status on (without the per-rank wrapper)
if [ "$BE" = mpi ]; then
    MPI_SPLIT=0 run_tvp mpi "$NP" squares --n abc
    check_eq "mpi: mpirun's exit status for a usage error" "$RC" 2
    check "mpi: the message reaches mpirun's stderr" grep -q -F -e "--n: 'abc'" "$T/stderr"
fi

# ---- good input -----------------------------------------------------------------------------------
# values that reach both ends of what squares accepts; their squares overflow the sum
GOOD="$T/in/good.txt"
{
    printf '3037000499\n-3037000499\n0\n1\n-1\n  42  \n+17\n'
    awk 'BEGIN { for (i = 0; i < 993; i++) printf "%d\n", (i * 2654435761) % 6074000999 - 3037000499 }'
} >"$GOOD"
GOOD_N=$(wc -l <"$GOOD")
WANT=$(reference --in "$GOOD" | tr ' ' '\t')
if [ -z "$WANT" ]; then
    # no python3: the sum alone, in bash's 64-bit arithmetic (wraps mod 2^64)
    s=0
    while read -r v; do
        v=${v#+}
        v=${v#-}
        s=$((s + 10#$v * 10#$v))
    done <"$GOOD"
    WANT_SUM=$(printf '0x%016x' "$s")
else
    WANT_SUM=${WANT%%$'\t'*}
fi
for sched in static dynamic; do
    for data in local scatter; do
        cfg="$BE: --in good file, $sched $data"
        run_tvp "$BE" "$NP" squares --in "$GOOD" --schedule "$sched" --chunk 100 --data "$data" \
            --verify --format csv --repeat 1 --warmup 0
        if ! check_eq "$cfg: exit status" "$RC" 0; then
            show "$T/stderr"
            [ "$BE" = mpi ] && show "$T/mpirun.err"
            continue
        fi
        check_eq "$cfg: n, input, seed, verified" "$(csv_get "$T/stdout" n input seed verified)" \
            "$GOOD_N"$'\t'"$GOOD"$'\t'0$'\t'1
        check_eq "$cfg: checksum_sum (computed without tvp)" \
            "$(csv_get "$T/stdout" checksum_sum)" "$WANT_SUM"
        if [ -n "$WANT" ]; then
            check_eq "$cfg: checksum_sum, checksum_crc64 (reference.py)" \
                "$(csv_get "$T/stdout" checksum_sum checksum_crc64)" "$WANT"
        fi
    done
done

# ---- --out ----------------------------------------------------------------------------------------------
R=3
rm -rf "$T/out" && mkdir "$T/out"
run_tvp "$BE" "$NP" squares --n 1000 --format csv --repeat $R --warmup 0
check_eq "$BE: csv to stdout: exit status" "$RC" 0
cp "$T/stdout" "$T/stdout.csv"
# an old, longer file in the way must be replaced whole
yes 'old record line that must disappear' | head -n 100 >"$OUT"
umask 022
run_tvp "$BE" "$NP" squares --n 1000 --format csv --repeat $R --warmup 0 --out "$OUT"
check_eq "$BE: --out: exit status" "$RC" 0 || show "$T/stderr"
check_eq "$BE: --out: stdout" "$(cat "$T/stdout")" ""
check "$BE: --out: the file exists" [ -f "$OUT" ]
check_eq "$BE: --out: lines (header + $R rows)" "$(wc -l <"$OUT")" $((R + 1))
check_eq "$BE: --out: header" "$(head -n 1 "$OUT")" "$CSV_HEADER"
check_eq "$BE: --out: the last byte is a newline" "$(tail -c 1 "$OUT" | od -An -c | tr -d ' ')" '\n'
check "$BE: --out: no trace of the old file" bash -c "! grep -q 'old record' '$OUT'"
check_eq "$BE: --out: rows readable, repeats 0..$((R - 1))" "$(csv_get "$OUT" repeat | tr '\n' ' ')" "0 1 2 "
check_eq "$BE: --out: same checksums as on stdout" "$(csv_get "$OUT" checksum_sum checksum_crc64)" \
    "$(csv_get "$T/stdout.csv" checksum_sum checksum_crc64)"
check_eq "$BE: --out: mode (0666 less umask 022)" "$(stat -c %a "$OUT")" 644
check_eq "$BE: --out: files in the folder" "$(ls -A "$T/out")" "record.csv"
# JSON lines too
run_tvp "$BE" "$NP" squares --n 1000 --format json --repeat $R --warmup 0 --out "$T/out/record.json"
check_eq "$BE: --out json: exit status" "$RC" 0
check_eq "$BE: --out json: lines" "$(wc -l <"$T/out/record.json")" "$R"
if [ -n "$PYTHON" ]; then
    check "$BE: --out json: every line is a JSON object" "$PYTHON" -c '
import json, sys
for line in open(sys.argv[1]):
    assert isinstance(json.loads(line), dict)' "$T/out/record.json"
fi
check_eq "$BE: --out json: files in the folder" "$(ls -A "$T/out" | tr '\n' ' ')" "record.csv record.json "

finish
