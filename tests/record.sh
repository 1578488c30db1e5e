#!/usr/bin/env bash
# The result record of one backend: the CSV header is the schema's; CSV and JSON lines
# carry the same fields in the same order with the same values (for everything that does
# not depend on timing); the text format shows the same checksum; cpus names one PU per
# worker, and the PUs asked for with --bind list; --version and --help.
#
# usage: record.sh BIN_DIR BACKEND
. "$(dirname "$0")/lib.sh"

BE=$BACKEND
[ -n "$BE" ] || { echo "usage: $0 BIN_DIR BACKEND" >&2; exit 2; }
W=2
[ "$BE" = serial ] && W=1
wargs=(--workers "$W")
[ "$BE" = mpi ] && wargs=()
N=12345

# ---- CSV against JSON ---------------------------------------------------------------------------
common=(squares --n "$N" --seed 7 --schedule static --data local --verify --repeat 1 --warmup 0
        --bind core "${wargs[@]}")
run_tvp "$BE" "$W" "${common[@]}" --format csv
check_eq "$BE csv: exit status" "$RC" 0 || show "$T/stderr"
cp "$T/stdout" "$T/r.csv"
run_tvp "$BE" "$W" "${common[@]}" --format json
check_eq "$BE json: exit status" "$RC" 0 || show "$T/stderr"
cp "$T/stdout" "$T/r.json"
run_tvp "$BE" "$W" "${common[@]}" --format text
check_eq "$BE text: exit status" "$RC" 0 || show "$T/stderr"
cp "$T/stdout" "$T/r.txt"

check_eq "$BE csv: header" "$(head -n 1 "$T/r.csv")" "$CSV_HEADER"
check_eq "$BE csv: rows" "$(csv_rows "$T/r.csv")" 1
check_eq "$BE json: lines" "$(wc -l <"$T/r.json")" 1
check_eq "$BE csv: n, seed, workers, verified" "$(csv_get "$T/r.csv" n seed workers verified)" \
    "$N"$'\t'7$'\t'"$W"$'\t'1
WANT=$(reference --n "$N" --seed 7 | tr ' ' '\t')
if [ -n "$WANT" ]; then
    check_eq "$BE csv: checksum (reference.py)" "$(csv_get "$T/r.csv" checksum_sum checksum_crc64)" "$WANT"
fi

# the JSON line as "name<TAB>value" lines, in order; strings unquoted, numbers as written
if [ -n "$PYTHON" ]; then
    "$PYTHON" - "$T/r.json" >"$T/json.kv" 2>"$T/json.err" <<'EOF'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
obj = json.loads(lines[0], parse_float=str, parse_int=str)   # keeps the order and the text
for k, v in obj.items():
    if not isinstance(v, str):
        raise SystemExit("field %s is not a plain value: %r" % (k, v))
    print("%s\t%s" % (k, v))
EOF
    check "$BE json: parses as a JSON object of plain values" [ -s "$T/json.kv" ] || show "$T/json.err"
    # JSON types: text fields are strings, numeric fields numbers
    check "$BE json: numbers unquoted, text quoted" grep -q -E '"n":'"$N"'[,}]' "$T/r.json"
    check "$BE json: checksum is a string" grep -q -E '"checksum_crc64":"0x[0-9a-f]{16}"' "$T/r.json"
    check "$BE json: backend is a string" grep -q -F "\"backend\":\"$BE\"" "$T/r.json"
else
    # without python: keys in order by pattern, values of the simple fields
    grep -o -E '"[a-z_0-9]+":' "$T/r.json" | tr -d '":' | awk '{ print $0 "\t" }' >"$T/json.kv"
fi
check_eq "$BE: JSON keys = CSV header, same order" \
    "$(cut -f 1 "$T/json.kv" | paste -s -d ,)" "$(head -n 1 "$T/r.csv")"

# values that do not depend on timing must be equal in both runs
stable="schema tool_version git_commit host backend workload input n seed schedule chunk data ipc
        workers bind cpus oversubscribed transport repeat warmup bytes_moved checksum_sum
        checksum_crc64 verified"
if [ -n "$PYTHON" ]; then
    for f in $stable; do
        [ "$f" = cpus ] && [ "$BE" = mpi ] && continue # launcher binding: where a rank lands may vary
        check_eq "$BE: field $f in CSV and JSON" "$(csv_get "$T/r.csv" "$f")" \
            "$(awk -F '\t' -v f="$f" '$1 == f { print $2 }' "$T/json.kv")"
    done
fi

# a field with a comma and a quote: CSV quotes it (RFC 4180), JSON escapes it, and both
# read back as the --in path
ODD="$T/odd, \"name\".txt"
printf '1\n-2\n3\n' >"$ODD"
run_tvp "$BE" "$W" squares --in "$ODD" --repeat 1 --warmup 0 --format csv "${wargs[@]}"
check_eq "$BE --in '$ODD': exit status" "$RC" 0 || show "$T/stderr"
check_eq "$BE csv: a path with a comma and a quote reads back" "$(csv_get "$T/stdout" input n)" \
    "$ODD"$'\t'3
check "$BE csv: the path is quoted, its quotes doubled" grep -q -F ",\"$T/odd, \"\"name\"\".txt\"," "$T/stdout"
if [ "$BE" = mpi ]; then
    check "$BE csv: transport quoted" grep -q -F ',"pml=ob1 btl=self,vader",' "$T/stdout"
fi
run_tvp "$BE" "$W" squares --in "$ODD" --repeat 1 --warmup 0 --format json "${wargs[@]}"
check_eq "$BE --in '$ODD' json: exit status" "$RC" 0 || show "$T/stderr"
if [ -n "$PYTHON" ]; then
    check_eq "$BE json: a path with a comma and a quote reads back" "$("$PYTHON" -c '
import json, sys
r = json.loads(open(sys.argv[1]).readline())
print(r["input"], r["n"], sep="\t")' "$T/stdout")" "$ODD"$'\t'3
fi

# text: the same checksum
read -r sum crc <<<"$(csv_get "$T/r.csv" checksum_sum checksum_crc64)"
check "$BE text: shows the checksum sum=$sum crc64=$crc" grep -q -F "sum=$sum crc64=$crc" "$T/r.txt"
check "$BE text: names the backend" grep -q -F "backend=$BE" "$T/r.txt"

# ---- cpus: one PU per worker ---------------------------------------------------------------------------
pu_ok() { # every word of $1 is a PU of this machine
    local p
    for p in $1; do
        case "$p" in '' | *[!0-9]*) return 1 ;; esac
        [ -d "/sys/devices/system/cpu/cpu$p" ] || return 1
    done
}
cpus_case() { # cpus_case WORKERS WANT_CPUS_OR_EMPTY ARGS...
    local w=$1 want=$2
    shift 2
    local wa=(--workers "$w")
    [ "$BE" = mpi ] && wa=()
    run_tvp "$BE" "$w" squares --n 1000 --repeat 1 --warmup 0 --format csv "${wa[@]}" "$@"
    check_eq "$BE cpus, workers $w $*: exit status" "$RC" 0 || { show "$T/stderr"; return; }
    local cpus
    cpus=$(csv_get "$T/stdout" cpus)
    # shellcheck disable=SC2086
    set -- $cpus
    check_eq "$BE cpus, workers $w: PUs listed in '$cpus'" "$#" "$w"
    check "$BE cpus, workers $w: '$cpus' are PUs of this machine" pu_ok "$cpus"
    if [ -n "$want" ]; then
        check_eq "$BE cpus, workers $w: PUs with --bind list" "$cpus" "$want"
    fi
}
if [ "$BE" = serial ]; then
    cpus_case 1 ""
    cpus_case 1 "$((NPROC - 1))" --bind "list:$((NPROC - 1))"
else
    for w in 1 2 3 4; do
        cpus_case "$w" ""
    done
    if [ "$NPROC" -ge 2 ]; then
        cpus_case 2 "1 0" --bind list:1,0
        cpus_case 3 "1 0 1" --bind list:1,0
        cpus_case 2 "1 1" --bind list:1
    fi
fi
# OMP_PROC_BIND/OMP_PLACES (as batch scripts set them) bind the first thread before main:
# tvp-openmp still sees every place and spreads its workers, not oversubscribed
if [ "$BE" = openmp ] && [ "$NCORES" -ge 2 ] && [ "$NPROC" -ge 2 ]; then
    OMP_PROC_BIND=close OMP_PLACES=cores run_tvp openmp 1 squares --n 1000 --repeat 1 --warmup 0 \
        --format csv --workers 2
    check_eq "openmp with OMP_PROC_BIND=close OMP_PLACES=cores: exit status" "$RC" 0
    check_eq "openmp with OMP_PROC_BIND=close OMP_PLACES=cores: not oversubscribed" \
        "$(csv_get "$T/stdout" oversubscribed)" 0
    check "openmp with OMP_PROC_BIND=close OMP_PLACES=cores: two PUs" \
        test "$(csv_get "$T/stdout" cpus | tr ' ' '\n' | sort -u | wc -l)" -eq 2
fi
# the default number of workers: the PUs this process may use (tvp-serial: 1)
if [ "$BE" != mpi ]; then
    run_tvp "$BE" 1 squares --n 1000 --repeat 1 --warmup 0 --format csv
    want=$NPROC
    [ "$BE" = serial ] && want=1
    check_eq "$BE: default workers" "$(csv_get "$T/stdout" workers)" "$want"
fi

if [ "$BE" != serial ] && [ "$NPROC" -ge 2 ] && [ "$NCORES" -ge 2 ]; then
    # two workers with --bind core or scatter run on two cores, so two PUs
    for mode in core scatter; do
        wa=(--workers 2)
        [ "$BE" = mpi ] && wa=()
        run_tvp "$BE" 2 squares --n 1000 --repeat 1 --warmup 0 --format csv "${wa[@]}" --bind $mode
        check_eq "$BE --bind $mode: exit status" "$RC" 0 || show "$T/stderr"
        check_eq "$BE --bind $mode: the bind column" "$(csv_get "$T/stdout" bind)" "$mode"
        read -r a b <<<"$(csv_get "$T/stdout" cpus)"
        check "$BE --bind $mode: 2 workers on two PUs (cpus '$a $b')" [ "$a" != "$b" ]
    done
fi

# ---- --version, --help ---------------------------------------------------------------------------------------
version=$(csv_get "$T/r.csv" tool_version)
commit=$(csv_get "$T/r.csv" git_commit)
run_tvp "$BE" 2 --version
check_eq "$BE --version: exit status" "$RC" 0
check_eq "$BE --version: stderr" "$(cat "$T/stderr")" ""
check_eq "$BE --version: first line" "$(head -n 1 "$T/stdout")" "tvp-$BE $version (commit $commit)"
check_eq "$BE --version: printed once" "$(grep -c "^tvp-$BE " "$T/stdout")" 1
check "$BE --version: a commit is named" [ -n "$commit" ]
check "$BE --version: the record schema" grep -q -x "record schema $(csv_get "$T/r.csv" schema)" "$T/stdout"
check "$BE --version: names hwloc" grep -q -F hwloc "$T/stdout"
if [ -n "${TVP_EXPECT_VERSION:-}" ]; then
    check_eq "$BE --version: the project's version" "$version" "$TVP_EXPECT_VERSION"
fi
run_tvp "$BE" 2 --help
check_eq "$BE --help: exit status" "$RC" 0
check_eq "$BE --help: stderr" "$(cat "$T/stderr")" ""
check_eq "$BE --help: printed once" "$(grep -c '^usage: ' "$T/stdout")" 1
for opt in --n --seed --in --workers --schedule --chunk --data --ipc --bind --warmup --repeat \
    --verify --format --out --version squares "Exit status"; do
    check "$BE --help mentions $opt" grep -q -F -e "$opt" "$T/stdout"
done
run_tvp "$BE" 2 squares --help --n 5
check_eq "$BE squares --help --n 5: exit status" "$RC" 0
check "$BE squares --help: the usage, no record" grep -q '^usage: ' "$T/stdout"

finish
