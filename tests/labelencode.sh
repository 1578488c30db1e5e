#!/usr/bin/env bash
# The labelencode workload end to end, for one backend:
#
#  1. the acceptance example (colors, sizes, materials): the exact output bytes and the
#     classes file, at every worker count (tvp-serial: 1; others 1..4);
#  2. CSV as real files are: quoted fields with "" escapes, delimiters and newlines inside
#     quotes, CRLF line ends, a UTF-8 byte-order mark, empty fields, non-ASCII labels (é,
#     日本, an emoji) sorted in byte order as scikit-learn sorts them, blank lines; the
#     output and classes are compared with cmp to this script's hand-written expectation,
#     to tests/lenc_reference.py (python3's csv module, no tvp code) and, for the parallel
#     backends, to tvp-serial's, at workers 1..4 x data local|scatter (x ipc pipe|shm for
#     tvp-posix);
#  3. a file whose one quoted field holds most of the bytes and hundreds of newlines, so
#     that every split target lands inside quotes;
#  4. fit, then transform with --classes-in (the same codes), then --inverse (the input's
#     bytes back); --columns (the others copied byte for byte); --delimiter ';' and tab;
#  5. the generated table (--rows, --columns-count, --cardinality, --skew, --seed):
#     deterministic, the same checksum at every worker count, --verify, and the record's
#     labelencode fields (n = rows, columns, fields, classes, rows_per_s, fields_per_s,
#     merge_bytes: > 0 where sets cross processes, 0 where they do not).
#
# tvp-mpi runs under mpirun -np WORKERS.
#
# usage: labelencode.sh BIN_DIR BACKEND
. "$(dirname "$0")/lib.sh"

BE=$BACKEND
[ -n "$BE" ] || { echo "usage: $0 BIN_DIR BACKEND" >&2; exit 2; }
if [ "$BE" = serial ]; then
    WORKERS=(1)
else
    WORKERS=(1 2 3 4)
fi
DATAS=(local scatter)
IPCS=(pipe)
[ "$BE" = posix ] && IPCS=(pipe shm)

# run_le WORKERS ARGS...: this backend with --workers (mpi: -np)
run_le() {
    local w=$1
    shift
    if [ "$BE" = mpi ]; then
        run_tvp mpi "$w" labelencode "$@"
    elif [ "$BE" = serial ]; then
        run_tvp serial 1 labelencode "$@"
    else
        run_tvp "$BE" 1 labelencode --workers "$w" "$@"
    fi
}

# stderr may hold only the oversubscription warning
le_clean() {
    check_stderr_clean "$1"
}

# ---- does this backend run labelencode at all? --------------------------------------------
run_le 1 --rows 10 --format csv --repeat 1 --warmup 0
if [ "$RC" -ne 0 ]; then
    fail "tvp-$BE does not run labelencode: exit $RC: $(head -c 300 "$T/stderr")"
    finish
fi

# ---- 1. the acceptance example -------------------------------------------------------------
printf 'colors,sizes,materials\nred,small,wood\ngreen,medium,metal\nblue,large,plastic\nred,medium,metal\ngreen,small,plastic\nblue,large,wood\n' >acc.csv
printf 'colors,sizes,materials\n2,2,2\n1,1,0\n0,0,1\n2,1,0\n1,2,1\n0,0,2\n' >acc.want.csv
printf '{\n  "colors": ["blue", "green", "red"],\n  "sizes": ["large", "medium", "small"],\n  "materials": ["metal", "plastic", "wood"]\n}\n' >acc.want.json
for w in "${WORKERS[@]}"; do
    for data in "${DATAS[@]}"; do
        cfg="acceptance, $w workers, $data"
        rm -f acc.out.csv acc.out.json
        run_le "$w" --in acc.csv --out acc.out.csv --classes-out acc.out.json --data "$data" \
            --verify --format csv --repeat 2 --warmup 1
        check_csv_run "$cfg" 2 || continue
        le_clean "$cfg"
        check "$cfg: codes [2 1 0 2 1 0] [2 1 0 1 2 0] [2 0 1 0 1 2]" cmp -s acc.out.csv acc.want.csv ||
            show acc.out.csv
        check "$cfg: classes [blue green red] [large medium small] [metal plastic wood]" \
            cmp -s acc.out.json acc.want.json || show acc.out.json
        check_eq "$cfg: verified" "$(csv_get "$T/stdout" verified | sort -u)" 1
        check_eq "$cfg: n, columns, fields, classes" \
            "$(csv_get "$T/stdout" n columns fields classes | sort -u)" "$(printf '6\t3\t18\t3 3 3')"
    done
done

# ---- 2. CSV as real files are --------------------------------------------------------------
# header with a quoted name holding the delimiter; a BOM; CRLF and LF mixed; a blank line;
# "" escapes; a newline and a comma inside quotes; empty fields; non-ASCII labels
{
    printf '\xef\xbb\xbfname,"city, country",note\r\n'
    printf 'b,"日本",x\r\n'
    printf 'a,"Zürich",""\r\n'
    printf '"say ""hi""",,"two\nlines"\n'
    printf '\n'
    printf 'é,日本,x\n'
    printf 'b,"😀","a,b"\n'
    printf ',Zürich,x'
} >real.csv
# classes in byte order: "" < "a" < "b" < "say "hi"" < "é"; "" < "Zürich" < "日本" < "😀";
# "" < "a,b" < "two\nlines" < "x" (JSON writes the newline as \u000a)
printf 'name,"city, country",note\n2,2,3\n1,1,0\n3,0,2\n4,2,3\n2,3,1\n0,1,3\n' >real.want.csv
printf '{\n  "name": ["", "a", "b", "say \\"hi\\"", "é"],\n  "city, country": ["", "Zürich", "日本", "😀"],\n  "note": ["", "a,b", "two\\u000alines", "x"]\n}\n' >real.want.json
run_tvp serial 1 labelencode --in real.csv --out real.serial.csv --classes-out real.serial.json \
    --format csv --repeat 1 --warmup 0
check_eq "real.csv: tvp-serial exit status" "$RC" 0 || show "$T/stderr"
check "real.csv: tvp-serial's output is the hand-written one" cmp -s real.serial.csv real.want.csv ||
    show real.serial.csv
check "real.csv: tvp-serial's classes are the hand-written ones" cmp -s real.serial.json real.want.json ||
    show real.serial.json
if [ -n "$PYTHON" ]; then
    check "real.csv: lenc_reference.py runs" "$PYTHON" "$HERE/lenc_reference.py" real.csv real.py.csv real.py.json
    check "real.csv: lenc_reference.py's output is the hand-written one" cmp -s real.py.csv real.want.csv
    check "real.csv: lenc_reference.py's classes are the hand-written ones" cmp -s real.py.json real.want.json
fi

# ---- 3. one quoted field that holds most of the file --------------------------------------
{
    printf 'k,v\n'
    for i in $(seq 1 40); do printf 'k%d,v%d\n' $((i % 7)) $((i % 5)); done
    printf 'long,"'
    for i in $(seq 1 300); do printf 'line %d, with ""quotes"" and commas\n' "$i"; done
    printf '"\n'
    for i in $(seq 1 40); do printf 'k%d,v%d\r\n' $((i % 3)) $((i % 11)); done
} >quoted.csv
run_tvp serial 1 labelencode --in quoted.csv --out quoted.serial.csv --classes-out quoted.serial.json \
    --format csv --repeat 1 --warmup 0
check_eq "quoted.csv: tvp-serial exit status" "$RC" 0 || show "$T/stderr"
if [ -n "$PYTHON" ]; then
    "$PYTHON" "$HERE/lenc_reference.py" quoted.csv quoted.py.csv quoted.py.json
    check "quoted.csv: tvp-serial = lenc_reference.py (output)" cmp -s quoted.serial.csv quoted.py.csv
    check "quoted.csv: tvp-serial = lenc_reference.py (classes)" cmp -s quoted.serial.json quoted.py.json
fi

for f in real quoted; do
    for w in "${WORKERS[@]}"; do
        for data in "${DATAS[@]}"; do
            for ipc in "${IPCS[@]}"; do
                cfg="$f.csv, $w workers, $data${ipc:+, $ipc}"
                [ "$BE" = posix ] || cfg="$f.csv, $w workers, $data"
                extra=()
                [ "$BE" = posix ] && extra=(--ipc "$ipc")
                rm -f "$f.out.csv" "$f.out.json"
                run_le "$w" --in "$f.csv" --out "$f.out.csv" --classes-out "$f.out.json" \
                    --data "$data" "${extra[@]}" --verify --format csv --repeat 1 --warmup 0
                check_csv_run "$cfg" 1 || continue
                le_clean "$cfg"
                check "$cfg: output = tvp-serial's" cmp -s "$f.out.csv" "$f.serial.csv"
                check "$cfg: classes = tvp-serial's" cmp -s "$f.out.json" "$f.serial.json"
                check_eq "$cfg: verified" "$(csv_get "$T/stdout" verified)" 1
            done
        done
    done
done

# ---- 4. fit, transform, inverse; --columns; delimiters -----------------------------------
for w in "${WORKERS[@]}"; do
    cfg="round trip, $w workers"
    run_le "$w" --in real.csv --out enc.csv --classes-out enc.json --format csv --repeat 1 --warmup 0
    check_eq "$cfg: fit exit status" "$RC" 0 || show "$T/stderr"
    run_le "$w" --in real.csv --classes-in enc.json --out tr.csv --format csv --repeat 1 --warmup 0 --verify
    check_eq "$cfg: transform exit status" "$RC" 0 || show "$T/stderr"
    check "$cfg: transform with the fitted classes gives the fitted codes" cmp -s tr.csv enc.csv
    run_le "$w" --in enc.csv --classes-in enc.json --inverse --out back.csv --format csv --repeat 1 \
        --warmup 0 --verify
    check_eq "$cfg: inverse exit status" "$RC" 0 || show "$T/stderr"
    # the input as tvp writes it: no BOM, LF line ends, no blank line, quotes only where needed
    printf 'name,"city, country",note\nb,日本,x\na,Zürich,\n"say ""hi""",,"two\nlines"\né,日本,x\nb,😀,"a,b"\n,Zürich,x\n' >real.canon.csv
    check "$cfg: inverse gives back the input (in canonical CSV)" cmp -s back.csv real.canon.csv ||
        show back.csv
    run_le "$w" --in real.canon.csv --out enc2.csv --classes-out enc2.json --format csv --repeat 1 --warmup 0
    run_le "$w" --in enc2.csv --classes-in enc2.json --inverse --out back2.csv --format csv --repeat 1 --warmup 0
    check "$cfg: fit then inverse of canonical input gives back its bytes" cmp -s back2.csv real.canon.csv

    cfg="--columns, $w workers"
    run_le "$w" --in real.csv --columns note,name --out cols.csv --classes-out cols.json \
        --format csv --repeat 1 --warmup 0 --verify
    check_eq "$cfg: exit status" "$RC" 0 || show "$T/stderr"
    printf 'name,"city, country",note\n2,日本,3\n1,Zürich,0\n3,,2\n4,日本,3\n2,😀,1\n0,Zürich,3\n' >cols.want.csv
    check "$cfg: the other column copied as it is" cmp -s cols.csv cols.want.csv || show cols.csv
    check_eq "$cfg: classes file names the encoded columns, in header order" \
        "$(grep -o '^  "[a-z]*"' cols.json | tr -d ' "' | tr '\n' ' ')" "name note "
    check_eq "$cfg: record: classes of the encoded columns" "$(csv_get "$T/stdout" classes)" "5 4"

    cfg="--delimiter ';', $w workers"
    tr ',' ';' <acc.csv >semi.csv
    run_le "$w" --in semi.csv --delimiter ';' --out semi.out.csv --format csv --repeat 1 --warmup 0
    check_eq "$cfg: exit status" "$RC" 0 || show "$T/stderr"
    check "$cfg: codes" cmp -s semi.out.csv <(tr ',' ';' <acc.want.csv)
    cfg="--delimiter tab, $w workers"
    tr ',' '\t' <acc.csv >tab.csv
    run_le "$w" --in tab.csv --delimiter tab --out tab.out.csv --format csv --repeat 1 --warmup 0
    check_eq "$cfg: exit status" "$RC" 0 || show "$T/stderr"
    check "$cfg: codes" cmp -s tab.out.csv <(tr ',' '\t' <acc.want.csv)
done

# ---- 5. the generated table -----------------------------------------------------------------
GEN=(--rows 30000 --columns-count 4 --cardinality 300 --skew 1.2 --seed 7)
run_tvp serial 1 labelencode "${GEN[@]}" --out gen.serial.csv --classes-out gen.serial.json \
    --format csv --repeat 1 --warmup 0
check_eq "generated: tvp-serial exit status" "$RC" 0 || show "$T/stderr"
WANT_SUM=$(csv_get "$T/stdout" checksum_crc64)
check "generated: 30000 rows and the header" test "$(wc -l <gen.serial.csv)" -eq 30001
run_tvp serial 1 labelencode "${GEN[@]}" --format csv --repeat 1 --warmup 0
check_eq "generated: deterministic" "$(csv_get "$T/stdout" checksum_crc64)" "$WANT_SUM"
run_tvp serial 1 labelencode --rows 30000 --columns-count 4 --cardinality 300 --skew 1.2 --seed 8 \
    --format csv --repeat 1 --warmup 0
check "generated: another seed, another table" test "$(csv_get "$T/stdout" checksum_crc64)" != "$WANT_SUM"
for w in "${WORKERS[@]}"; do
    for data in "${DATAS[@]}"; do
        for ipc in "${IPCS[@]}"; do
            cfg="generated, $w workers, $data"
            extra=()
            [ "$BE" = posix ] && extra=(--ipc "$ipc") && cfg="$cfg, $ipc"
            rm -f gen.out.csv
            run_le "$w" "${GEN[@]}" --data "$data" "${extra[@]}" --out gen.out.csv --verify \
                --format csv --repeat 2 --warmup 0
            check_csv_run "$cfg" 2 || continue
            le_clean "$cfg"
            check "$cfg: output = tvp-serial's" cmp -s gen.out.csv gen.serial.csv
            check_eq "$cfg: checksum" "$(csv_get "$T/stdout" checksum_crc64 | sort -u)" "$WANT_SUM"
            check_eq "$cfg: verified" "$(csv_get "$T/stdout" verified | sort -u)" 1
            check_eq "$cfg: n columns fields workers" \
                "$(csv_get "$T/stdout" n columns fields workers | sort -u)" "$(printf '30000\t4\t120000\t%s' "$w")"
            csv_get "$T/stdout" rows_per_s fields_per_s items_per_s t_total n fields merge_bytes workers >rates
            check "$cfg: rows_per_s = n / t_total, fields_per_s = fields / t_total" awk -F'\t' '
                { if ($4 <= 0 || $1 <= 0 || $2 <= 0) exit 1
                  if ($1 != $3) exit 1
                  if (($1 - $5 / $4) > 0.01 * $1 || ($5 / $4 - $1) > 0.01 * $1) exit 1
                  if (($2 - $6 / $4) > 0.01 * $2 || ($6 / $4 - $2) > 0.01 * $2) exit 1 }' rates
            # sets cross processes only between processes: tvp-posix's workers are never the
            # parent, tvp-mpi's rank 0 merges its own sets
            if [ "$BE" = posix ] || { [ "$w" -gt 1 ] && [ "$BE" = mpi ]; }; then
                check "$cfg: merge_bytes > 0 (sets and maps crossed processes)" awk -F'\t' '$7 <= 0 { exit 1 }' rates
            else
                check "$cfg: merge_bytes = 0 (nothing crossed processes)" awk -F'\t' '$7 != 0 { exit 1 }' rates
            fi
            csv_get "$T/stdout" t_compute t_parse t_fit t_merge t_encode t_format >steps
            check "$cfg: each of t_parse..t_format within t_compute, parse and fit > 0" awk -F'\t' '
                { for (i = 2; i <= 6; i++) if ($i < 0 || $i > $1 + 1e-4) exit 1
                  if ($2 <= 0 || $3 <= 0) exit 1 }' steps || show steps
        done
    done
done
if [ -n "$PYTHON" ]; then
    run_tvp serial 1 labelencode "${GEN[@]}" --classes-out g.json --out g.csv --format csv --repeat 1 --warmup 0
    run_tvp serial 1 labelencode --in g.csv --classes-in g.json --inverse --out gen.table.csv --format csv \
        --repeat 1 --warmup 0
    check_eq "generated: inverse exit status" "$RC" 0
    "$PYTHON" "$HERE/lenc_reference.py" gen.table.csv gen.py.csv gen.py.json
    check "generated table: lenc_reference.py's output = tvp's" cmp -s gen.py.csv gen.serial.csv
    check "generated table: lenc_reference.py's classes = tvp's" cmp -s gen.py.json gen.serial.json
fi

finish
