#!/usr/bin/env bash
# The filter workload end to end, for one backend:
#
#  1. identity: every schedule x data x ipc x workers 1..4 (tvp-serial: 1), then every filter
#     list x iterations 1..3, then awkward sizes (1x1, 1x9, 9x1, 5x3: fewer rows than
#     workers) with workers 1..4 and both data modes, then images whose halo rows and blocks
#     are larger than a pipe holds.  Every run: exit 0, two verified CSV rows that describe
#     the run asked for (width, height, channels, filters, iterations, n, schedule, chunk,
#     data, ipc, workers), the checksum of tvp-serial's run on the same image options,
#     pixels_per_s = n / t_total > 0 (= items_per_s), chunk 0 whenever the record says
#     schedule=static (tvp-posix and tvp-mpi run stencils as static blocks and say so in a
#     note), halo_bytes 0 where no process boundary is crossed (serial, openmp, posix
#     --ipc shm --data scatter, one active worker) and otherwise exactly the halo rows of
#     passes 1.. (halo[p] rows each way x (active workers - 1) boundaries x width x the
#     channels of pass p's input; pass 0's halo comes with the input, backend.h), and
#     bytes_moved as each backend documents it (0 unless scatter data moves through pipes
#     or MPI).
#  2. files: PNG (written by tvp, and by this script: gray+alpha, RGBA, palette with tRNS,
#     Adam7-interlaced, every PNG row filter type), binary PGM/PPM written by tvp, text
#     P2/P3 with comments; read back with --in, filtered by this backend with --out, and
#     compared with cmp to tvp-serial's output file; --data local gives the same checksum.
#     In filter.serial, tvp-serial's outputs are checked against this script's own
#     implementation of the filters (python3, from filter.h's definitions), the record's
#     checksum against the pixels of the file, alpha against the input's.  An interlaced
#     PNG gives the same output as its plain equivalent, a PNG as the PPM of the same pixels.
#  3. golden values computed by hand (no python, no tvp code): single peaks, steps, a salt
#     pixel, pure red/green/blue, through every filter, at 1 and 2 workers (3 for some).
#  4. the record: CSV and JSON carry the filter fields with the same values; --record FILE
#     writes the record while --out writes the image; --in's path, seed 0 and the file's
#     size in the record.
#
# A backend that does not run the filter workload yet fails here (one FAIL, then stop).
# tvp-mpi runs under mpirun -np WORKERS.
#
# usage: filter.sh BIN_DIR BACKEND
. "$(dirname "$0")/lib.sh"

BE=$BACKEND
[ -n "$BE" ] || { echo "usage: $0 BIN_DIR BACKEND" >&2; exit 2; }
if [ "$BE" = serial ]; then
    WORKERS="1"
else
    WORKERS="1 2 3 4"
fi
W_MAX=${WORKERS##* }
# tvp-posix and tvp-mpi may run stencils as static blocks whatever --schedule says (they
# then print a note and record schedule=static); serial and openmp must do what is asked
MAY_BE_STATIC=0
case "$BE" in posix | mpi) MAY_BE_STATIC=1 ;; esac
HAVE_PY=1
[ -n "$PYTHON" ] || { HAVE_PY=0; echo "note: no python3: the checks that read PNG files are skipped"; }

# the worker arguments of one run: tvp-mpi and tvp-serial take theirs from elsewhere
# (mpirun -np, or 1) and are told --workers too on half of the runs (it must agree)
worker_args() { # worker_args WORKERS SAY-IT(0|1)
    if [ "$BE" = mpi ] || [ "$BE" = serial ]; then
        [ "$2" = 1 ] && echo "--workers $1"
    else
        echo "--workers $1"
    fi
}

# ---- what a filter list does: channels out, widest halo, passes ----------------------------
halo_of() { # halo_of NAME
    case "$1" in gaussian5) echo 2 ;; gray) echo 0 ;; *) echo 1 ;; esac
}
# plan LIST ITER CHANNELS: sets P_OUT (channels out), P_MAXHALO, P_NPASSES, and
# P_HALO[p], P_CH[p] (the halo and the input channels of pass p)
plan() {
    local list=$1 iter=$2 ch=$3 i name
    local -a names
    IFS=, read -r -a names <<<"$list"
    P_MAXHALO=0
    P_NPASSES=0
    P_HALO=()
    P_CH=()
    for ((i = 0; i < iter; i++)); do
        for name in "${names[@]}"; do
            P_HALO[P_NPASSES]=$(halo_of "$name")
            P_CH[P_NPASSES]=$ch
            [ "${P_HALO[P_NPASSES]}" -gt "$P_MAXHALO" ] && P_MAXHALO=${P_HALO[P_NPASSES]}
            if [ "$name" = gray ]; then
                case $ch in 3) ch=1 ;; 4) ch=2 ;; *) ch=0 ;; esac
            fi
            P_NPASSES=$((P_NPASSES + 1))
        done
    done
    P_OUT=$ch
}
# active HEIGHT WORKERS: the workers that own rows (common/stencil.c tvp_stencil_active:
# no block thinner than the widest halo); after plan
active() {
    local most=$1
    [ "$P_MAXHALO" -gt 0 ] && most=$(($1 / P_MAXHALO))
    [ "$most" -lt 1 ] && most=1
    echo $(($2 < most ? $2 : most))
}


# moved_bytes DATA IPC ACTIVE W H CH: the bytes_moved of a run (after plan), as the backends
# document it: only scatter data moves, as pixel bytes.  tvp-posix with pipes sends every
# owner its rows with max_halo rows each side and gets its block back (posix/stencil.c);
# tvp-mpi does the same but for the root's own rows, which stay (mpi/stencil.c); shared
# memory moves nothing.
moved_bytes() {
    local data=$1 ipc=$2 act=$3 iw=$4 ih=$5 ch=$6
    local in_rows=$((ih + 2 * (act - 1) * P_MAXHALO)) r0=$(((ih + act - 1) / act))
    local root_in=$((r0 + P_MAXHALO < ih ? r0 + P_MAXHALO : ih))
    if [ "$data" = local ] || [ "$BE" = serial ] || [ "$BE" = openmp ] ||
        { [ "$BE" = posix ] && [ "$ipc" = shm ]; }; then
        echo 0
    elif [ "$BE" = posix ]; then
        echo $((in_rows * iw * ch + ih * iw * P_OUT))
    else
        echo $(((in_rows - root_in) * iw * ch + (ih - r0) * iw * P_OUT))
    fi
}

# ---- the reference: tvp-serial's checksum for the same image options -----------------------
declare -A SERIAL_REF
serial_ref() { # serial_ref W H CH LIST ITER: REF="SUM<TAB>CRC" (empty on failure)
    local key="$*"
    if [ -z "${SERIAL_REF[$key]:-}" ]; then
        run_tvp serial 1 filter --width "$1" --height "$2" --channels "$3" --filter "$4" \
            --iterations "$5" --format csv --repeat 1 --warmup 0
        if check_eq "tvp-serial (reference) $key: exit status" "$RC" 0; then
            SERIAL_REF[$key]=$(csv_get "$T/stdout" checksum_sum checksum_crc64)
        else
            show "$T/stderr"
        fi
    fi
    REF=${SERIAL_REF[$key]:-}
}

# ---- does this backend run the filter workload at all? -------------------------------------
run_tvp "$BE" 1 filter --width 4 --height 4 --format csv --repeat 1 --warmup 0
if [ "$RC" -eq 3 ] && grep -q 'does not run the filter workload' "$T/stderr"; then
    fail "tvp-$BE does not run the filter workload (yet): $(head -c 200 "$T/stderr")"
    finish
fi

# ---- 1. identity across configurations -----------------------------------------------------

runs=0
# one_case SCHED DATA IPC WORKERS IMG_W IMG_H CH LIST ITER
one_case() {
    local sched=$1 data=$2 ipc=$3 w=$4 iw=$5 ih=$6 ch=$7 list=$8 iter=$9
    local ref
    serial_ref "$iw" "$ih" "$ch" "$list" "$iter"
    ref=$REF
    [ -n "$ref" ] || return
    local args=(filter --width "$iw" --height "$ih" --channels "$ch" --filter "$list"
                --iterations "$iter" --schedule "$sched" --data "$data" --ipc "$ipc" --verify
                --format csv --repeat 2 --warmup 1)
    [ "$sched" = dynamic ] && args+=(--chunk 3)
    local say=0
    [ "$ipc" = shm ] && say=1
    # shellcheck disable=SC2046
    args+=($(worker_args "$w" "$say"))
    local cfg="$BE ${iw}x${ih}x$ch '$list' x$iter $sched $data $ipc workers=$w"
    run_tvp "$BE" "$w" "${args[@]}"
    runs=$((runs + 1))
    check_csv_run "$cfg" 2 || return
    check_stderr_clean_filter "$cfg"
    plan "$list" "$iter" "$ch"
    local act n=$((iw * ih)) want_ipc=none want_over=0
    act=$(active "$ih" "$w")
    [ "$BE" = posix ] && want_ipc=$ipc
    [ "$w" -gt "$NPROC" ] && want_over=1
    # halo_bytes: the rows of passes 1.. that cross process boundaries
    local p want_halo=0
    for ((p = 1; p < P_NPASSES; p++)); do
        want_halo=$((want_halo + 2 * (act - 1) * P_HALO[p] * iw * P_CH[p]))
    done
    # (tvp-posix with local data keeps each worker's rows private and swaps halo rows
    # through pipes whatever --ipc says: posix/stencil.c)
    if [ "$BE" = serial ] || [ "$BE" = openmp ] || [ "$act" = 1 ] ||
        { [ "$BE" = posix ] && [ "$ipc" = shm ] && [ "$data" = scatter ]; }; then
        want_halo=0
    fi
    local want_moved
    want_moved=$(moved_bytes "$data" "$ipc" "$act" "$iw" "$ih" "$ch")
    local rows
    rows=$(csv_get "$T/stdout" backend workload input n seed width height channels filters \
        iterations schedule chunk data ipc workers oversubscribed verified checksum_sum \
        checksum_crc64 halo_bytes bytes_moved cpus t_total items_per_s pixels_per_s \
        bytes_per_s) || {
        fail "$cfg: the CSV cannot be read"
        show "$T/stdout"
        return
    }
    local i=0 r_be r_wl r_in r_n r_seed r_w r_h r_c r_f r_it r_sched r_chunk r_data r_ipc \
        r_wk r_over r_ver r_sum r_crc r_halo r_moved r_cpus numbers bad want_sched
    while IFS=$'\t' read -r r_be r_wl r_in r_n r_seed r_w r_h r_c r_f r_it r_sched r_chunk \
        r_data r_ipc r_wk r_over r_ver r_sum r_crc r_halo r_moved r_cpus numbers; do
        local rc_="$cfg row $i"
        check_eq "$rc_: backend, workload, input, seed" "$r_be $r_wl $r_in $r_seed" \
            "$BE filter generated 42"
        check_eq "$rc_: n, width, height, channels" "$r_n $r_w $r_h $r_c" "$n $iw $ih $ch"
        check_eq "$rc_: filters" "$r_f" "$list"
        check_eq "$rc_: iterations" "$r_it" "$iter"
        want_sched=$sched
        if [ "$sched" = dynamic ] && [ "$r_sched" = static ] && [ "$MAY_BE_STATIC" = 1 ]; then
            want_sched=static
            check "$rc_: schedule=static for --schedule dynamic, and a note says so" \
                grep -q 'note: filter runs static blocks' "$T/stderr"
        fi
        check_eq "$rc_: schedule" "$r_sched" "$want_sched"
        if [ "$r_sched" = dynamic ]; then
            check_eq "$rc_: chunk (rows)" "$r_chunk" 3
        else
            check_eq "$rc_: chunk (0 with a static schedule)" "$r_chunk" 0
        fi
        check_eq "$rc_: data, ipc, workers" "$r_data $r_ipc $r_wk" "$data $want_ipc $w"
        check_eq "$rc_: oversubscribed ($NPROC PUs)" "$r_over" "$want_over"
        check_eq "$rc_: verified" "$r_ver" 1
        check_eq "$rc_: checksum (sum, crc64) against tvp-serial" "$r_sum"$'\t'"$r_crc" "$ref"
        # shellcheck disable=SC2086
        set -- $r_cpus
        check_eq "$rc_: PUs in cpus '$r_cpus'" "$#" "$w"
        check_eq "$rc_: halo_bytes ($act active workers, $P_NPASSES passes)" "$r_halo" "$want_halo"
        check_eq "$rc_: bytes_moved" "$r_moved" "$want_moved"
        # rates: items_per_s = pixels_per_s = n / t_total > 0; bytes_per_s = n * (channels
        # in + out) / t_total
        bad=$(echo "$numbers" | awk -F '\t' -v n="$n" -v bpp=$((ch + P_OUT)) '
            function abs(x) { return x < 0 ? -x : x }
            {
                tot = $1 + 0
                if ($1 !~ /^[0-9]+\.[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]$/ || tot <= 0) { print "t_total " $1 " is not a positive time"; exit }
                slack = 1e-4 + 6e-10 / tot
                if ($3 + 0 <= 0) print "pixels_per_s " $3 " is not positive"
                if (abs($3 * tot / n - 1) > slack) print "pixels_per_s " $3 " is not n/t_total"
                if ($2 != $3) print "items_per_s " $2 " differs from pixels_per_s " $3
                if (abs($4 * tot / (bpp * n) - 1) > slack) print "bytes_per_s " $4 " is not " bpp "n/t_total"
            }')
        check_eq "$rc_: t_total, pixels_per_s, items_per_s, bytes_per_s" "$bad" ""
        i=$((i + 1))
    done <<<"$rows"
}

# every schedule x data x ipc x workers, on one image with a two-filter list run twice
# (gaussian5: two halo rows; sobel after it reads the rows gaussian5 wrote)
CONFIGS=()
for sched in static dynamic; do
    for data in local scatter; do
        for ipc in pipe shm; do
            for w in $WORKERS; do
                CONFIGS+=("$sched $data $ipc $w")
                # shellcheck disable=SC2086
                one_case $sched $data $ipc $w 97 61 3 gaussian5,sobel 2
            done
        done
    done
done

# every filter list x iterations 1..3 (gray makes one channel of three, so its list runs
# once: a second gray is refused, see filterbad.sh), each in another configuration
combos=("3 gaussian3 1" "3 gaussian3 2" "3 gaussian3 3"
        "3 gaussian5,sobel 1" "3 gaussian5,sobel 3"
        "3 gray,median3,sharpen,box3 1"
        "1 box3,sharpen 1" "1 box3,sharpen 2" "1 box3,sharpen 3"
        "1 median3 2" "3 sharpen,gaussian3,median3,box3,sobel,gaussian5 1")
k=0
for c in "${combos[@]}"; do
    # shellcheck disable=SC2086
    set -- $c
    # shellcheck disable=SC2086
    one_case ${CONFIGS[$(((k * 7 + 3) % ${#CONFIGS[@]}))]} 97 61 "$1" "$2" "$3"
    k=$((k + 1))
done

# awkward sizes: one pixel, one column, one row, fewer rows than workers
k=0
lists=("3 gaussian3 1" "3 gaussian5,sobel 2" "3 gray,median3,sharpen,box3 1" "1 box3,sharpen 2")
for size in 1x1 1x9 9x1 5x3; do
    for w in $WORKERS; do
        for data in local scatter; do
            sched=static ipc=pipe
            [ $((k % 2)) = 1 ] && sched=dynamic
            [ $((k / 2 % 2)) = 1 ] && ipc=shm
            # shellcheck disable=SC2086
            set -- ${lists[$((k % 4))]}
            one_case $sched $data $ipc "$w" "${size%x*}" "${size#*x}" "$1" "$2" "$3"
            k=$((k + 1))
        done
    done
done

# halo rows larger than a pipe holds (a row of 20000 RGB pixels is 60000 bytes; gaussian5
# sends two each way, at the same time), and blocks of about 1 MB
if [ "$BE" != serial ]; then
    one_case static local pipe 2 20000 8 3 gaussian5,sobel 2
    one_case static scatter pipe "$W_MAX" 20000 8 3 gaussian5,sobel 1
    one_case dynamic scatter pipe 2 700 500 3 gaussian3,sharpen 1
    [ "$BE" = posix ] && one_case static scatter shm "$W_MAX" 20000 8 3 gaussian5 2
fi
echo "$runs identity runs of tvp-$BE"

# ---- 2. files ---------------------------------------------------------------------------------
mkdir -p "$T/img" "$T/out"
IMG=$T/img

# the input files: written by tvp-serial (its own generated image, filtered once)...
make_tvp_image() { # make_tvp_image FILE CHANNELS
    run_tvp serial 1 filter --width 31 --height 23 --channels "$2" --filter median3 \
        --data scatter --out "$1" --format csv --repeat 1 --warmup 0
    check_eq "tvp-serial writes $(basename "$1"): exit status" "$RC" 0 || show "$T/stderr"
    check_eq "tvp-serial writes $(basename "$1"): stdout (the record) has 2 lines" \
        "$(wc -l <"$T/stdout")" 2
}
make_tvp_image "$IMG/t_rgb.png" 3
make_tvp_image "$IMG/t_rgb.ppm" 3
make_tvp_image "$IMG/t_gray.png" 1
make_tvp_image "$IMG/t_gray.pgm" 1
check_eq "tvp wrote t_rgb.ppm as P6" "$(head -c 2 "$IMG/t_rgb.ppm")" P6
check_eq "tvp wrote t_gray.pgm as P5" "$(head -c 2 "$IMG/t_gray.pgm")" P5
check_eq "t_rgb.ppm size (header + 31*23*3)" "$(wc -c <"$IMG/t_rgb.ppm")" \
    $(($(pnm_header P6 31 23 | wc -c) + 31 * 23 * 3))
check_eq "t_rgb.png starts with the PNG signature" "$(head -c 8 "$IMG/t_rgb.png" | od -An -tx1 | tr -d ' ')" \
    89504e470d0a1a0a
# ...by hand, as text with comments and odd whitespace...
cp "$HERE/data/gray-comments.pgm" "$HERE/data/rgb-comments.ppm" "$IMG/"
{
    printf 'P3\n# 17 x 13, written by filter.sh\n17   13\n# maxval next\n255\n'
    awk 'BEGIN { for (y = 0; y < 13; y++) { for (x = 0; x < 17; x++)
        printf "%d %d %d%s", (x * 15 + y * 7) % 256, (x * y * 3) % 256, (255 - x * 9 - y * 11 + 512) % 256,
               (x % 5 == 4 ? "\n" : "\t"); print "" } }'
} >"$IMG/h_rgb.ppm"
{
    printf 'P2 17 13 255\n'
    awk 'BEGIN { for (y = 0; y < 13; y++) for (x = 0; x < 17; x++) printf "%d\n", ((x - 8) * (x - 8) + (y - 6) * (y - 6)) * 3 % 256 }'
} >"$IMG/h_gray.pgm"
# ...and by this script (python3): alpha, palettes, interlacing, every PNG row filter
FILES="t_rgb.png t_rgb.ppm t_gray.png t_gray.pgm gray-comments.pgm rgb-comments.ppm h_rgb.ppm h_gray.pgm"
if [ "$HAVE_PY" = 1 ]; then
    image_py write-png "$IMG/p_rgba.png" 29 19 4 &&
        image_py write-png "$IMG/p_rgba_i.png" 29 19 4 interlace &&
        image_py write-png "$IMG/p_ga.png" 29 19 2 &&
        image_py write-png "$IMG/p_ga_i.png" 29 19 2 interlace &&
        image_py write-png "$IMG/p_pal.png" 29 19 4 palette &&
        image_py write-png "$IMG/p_pal_i.png" 29 19 4 palette interlace &&
        image_py write-png "$IMG/p_pal3.png" 29 19 3 palette
    check_eq "python3 wrote the test PNGs" "$?" 0
    FILES+=" p_rgba.png p_rgba_i.png p_ga.png p_ga_i.png p_pal.png p_pal_i.png p_pal3.png"
fi

channels_of() { # channels_of FILE: from its name
    case "$1" in
    *rgba* | p_pal.png | p_pal_i.png) echo 4 ;;
    *_ga*) echo 2 ;;
    *rgb* | p_pal3*) echo 3 ;;
    *) echo 1 ;;
    esac
}
ext_for() { # ext_for CHANNELS-OUT K: an output extension (.png always; .pgm/.ppm where they fit)
    case "$1:$(($2 % 2))" in 1:1) echo pgm ;; 3:1) echo ppm ;; *) echo png ;; esac
}

# the serial reference output of FILE through LIST x ITER, as $T/out/ref.FILE.LIST.ITER.EXT
k=0
file_runs=0
for f in $FILES; do
    ch=$(channels_of "$f")
    case $ch in
    3 | 4) flists=("gray,gaussian3 1" "gaussian5,sobel,median3 1" "sharpen,box3 2") ;;
    *) flists=("sharpen,box3 2" "gaussian5,sobel,median3 1") ;;
    esac
    for fl in "${flists[@]}"; do
        list=${fl% *} iter=${fl#* }
        plan "$list" "$iter" "$ch"
        ext=$(ext_for "$P_OUT" "$k")
        what="$f '$list' x$iter"
        ref=$T/out/ref.$f.$list.$iter.$ext
        run_tvp serial 1 filter --in "$IMG/$f" --filter "$list" --iterations "$iter" --data scatter \
            --out "$ref" --format csv --repeat 1 --warmup 0 --verify
        if ! check_eq "$what: tvp-serial exit status" "$RC" 0; then
            show "$T/stderr"
            continue
        fi
        ref_sum=$(csv_get "$T/stdout" checksum_sum checksum_crc64)
        read -r r_in r_seed r_c r_f < <(csv_get "$T/stdout" input seed channels filters | tr '\t' ' ')
        check_eq "$what: record input, seed, channels, filters" "$r_in $r_seed $r_c $r_f" \
            "$IMG/$f 0 $ch $list"
        src=$IMG/$f # what python3 reads for the input (it does not read interlaced PNG)
        case "$f" in *_i.png) src=$IMG/${f%_i.png}.png ;; esac
        if [ "$BE" = serial ] && [ "$HAVE_PY" = 1 ]; then
            # tvp-serial against this script's own filters, the file's pixels against the
            # record's checksum, alpha against the input's
            image_py expect "$src" "$list" "$iter" "$ref" >"$T/py.out" 2>&1
            check_eq "$what: record checksum = checksum of the output file's pixels" \
                "$(head -n 1 "$T/py.out" | tr ' ' '\t')" "$ref_sum"
            check_eq "$what: tvp-serial's output (size, alpha, pixels) against the filters computed without tvp" \
                "$(tail -n +2 "$T/py.out")" ""
        fi
        case "$f" in
        *_i.png) # (images with alpha: their outputs are always .png)
            plain=${f%_i.png}.png
            check "$what: an interlaced PNG gives the same output as the plain one" \
                cmp -s "$ref" "$T/out/ref.$plain.$list.$iter.$ext" ;;
        esac
        [ "$BE" = serial ] && [ $((k % 3)) != 0 ] && { k=$((k + 1)); continue; }
        # this backend: with --out (scatter), and on every third list with local data
        for rep in 0 1; do
            [ "$rep" = 1 ] && [ $((k % 3)) != 0 ] && continue
            # shellcheck disable=SC2086
            set -- ${CONFIGS[$(((k * 5 + rep * 11) % ${#CONFIGS[@]}))]}
            sched=$1 ipc=$3 w=$4
            data=scatter
            [ "$rep" = 1 ] && data=local
            out=$T/out/$BE.$ext
            rm -f "$out"
            args=(filter --in "$IMG/$f" --filter "$list" --iterations "$iter" --data "$data"
                  --schedule "$sched" --chunk 2 --ipc "$ipc" --format csv --repeat 1 --warmup 0 --verify)
            # shellcheck disable=SC2046
            args+=($(worker_args "$w" 1))
            [ "$data" = scatter ] && args+=(--out "$out")
            run_tvp "$BE" "$w" "${args[@]}"
            file_runs=$((file_runs + 1))
            cfg="$what: $BE $sched $data $ipc workers=$w"
            if ! check_eq "$cfg: exit status" "$RC" 0; then
                show "$T/stderr"
                continue
            fi
            check_stderr_clean_filter "$cfg"
            check_eq "$cfg: verified, checksum as tvp-serial's" \
                "$(csv_get "$T/stdout" verified checksum_sum checksum_crc64)" "1"$'\t'"$ref_sum"
            if [ "$data" = scatter ]; then
                check "$cfg: the output file is tvp-serial's, byte for byte" cmp "$ref" "$out"
            fi
        done
        k=$((k + 1))
    done
done
# the same pixels give the same output whatever the file format
for pair in "t_rgb.png t_rgb.ppm" "t_gray.png t_gray.pgm"; do
    set -- $pair
    for list in "gray,gaussian3" "sharpen,box3"; do
        a=$(ls "$T/out/ref.$1.$list".* 2>/dev/null | head -n 1)
        b=$(ls "$T/out/ref.$2.$list".* 2>/dev/null | head -n 1)
        [ -n "$a" ] && [ -n "$b" ] || continue
        run_tvp serial 1 filter --in "$a" --filter box3 --data scatter --out "$T/out/x1.png" --repeat 1 --warmup 0 --format csv
        cp "$T/stdout" "$T/x1.csv"
        run_tvp serial 1 filter --in "$b" --filter box3 --data scatter --out "$T/out/x2.png" --repeat 1 --warmup 0 --format csv
        check "$1 and $2 ('$list'): the same output (as PNG)" cmp "$T/out/x1.png" "$T/out/x2.png"
        check_eq "$1 and $2 ('$list'): the same checksum" "$(csv_get "$T/x1.csv" checksum_sum checksum_crc64)" \
            "$(csv_get "$T/stdout" checksum_sum checksum_crc64)"
        rm -f "$T/out/x1.png" "$T/out/x2.png"
    done
done
check_eq "files: no temporary file left" "$(find "$T" -name '*.tmp.*' | head -n 3)" ""
echo "$file_runs file runs of tvp-$BE"

# ---- 3. golden values, computed by hand ------------------------------------------------------
G=$T/gold
mkdir -p "$G"
printf 'P2\n3 3\n255\n0 0 0\n0 255 0\n0 0 0\n' >"$G/peak3.pgm"
printf 'P2\n3 3\n255\n0 0 0\n0 10 0\n0 0 0\n' >"$G/peak10.pgm"
printf 'P2\n5 5\n255\n0 0 0 0 0\n0 0 0 0 0\n0 0 255 0 0\n0 0 0 0 0\n0 0 0 0 0\n' >"$G/peak5.pgm"
printf 'P2\n4 3\n255\n0 0 255 255\n0 0 255 255\n0 0 255 255\n' >"$G/step.pgm"
printf 'P2\n4 3\n255\n0 0 20 20\n0 0 20 20\n0 0 20 20\n' >"$G/step20.pgm"
printf 'P2\n4 4\n255\n0 0 0 0\n0 0 0 0\n30 30 30 30\n30 30 30 30\n' >"$G/hstep.pgm"
printf 'P2\n3 1\n255\n10 50 10\n' >"$G/bump.pgm"
printf 'P2\n3 3\n255\n10 20 30\n40 255 60\n70 80 90\n' >"$G/salt.pgm"
printf 'P3\n5 1\n255\n255 0 0  0 255 0  0 0 255  10 20 30  255 255 255\n' >"$G/rgbw.ppm"
printf 'P3\n3 3\n255\n0 100 0 0 100 0 0 100 0\n0 100 0 255 100 0 0 100 0\n0 100 0 0 100 0 0 100 0\n' >"$G/redpeak.ppm"

gold_runs=0
# golden NAME FILE FILTERS ITER OUT-EXT WANT-ROWS(|-separated) WORKERS...
golden() {
    local name=$1 file=$2 list=$3 iter=$4 ext=$5 want=$6 w
    shift 6
    local dims magic
    dims=$(sed -n 2p "$G/$file") # these files keep "W H" on line 2
    magic=P5
    [ "$ext" = ppm ] && magic=P6
    for w in "$@"; do
        local sched=static out="$G/out.$ext"
        [ "$w" = 2 ] && sched=dynamic
        if [ "$BE" = serial ]; then # one worker: static, then dynamic
            [ "$w" -gt 2 ] && continue
            w=1
        fi
        rm -f "$out"
        local args=(filter --in "$G/$file" --filter "$list" --iterations "$iter" --data scatter
                    --schedule "$sched" --chunk 1 --ipc shm --out "$out" --verify --format csv
                    --repeat 1 --warmup 0)
        # shellcheck disable=SC2046
        args+=($(worker_args "$w" 1))
        run_tvp "$BE" "$w" "${args[@]}"
        gold_runs=$((gold_runs + 1))
        local cfg="golden $name ($list x$iter, $BE workers=$w $sched)"
        check_eq "$cfg: exit status" "$RC" 0 || { show "$T/stderr"; continue; }
        check_eq "$cfg: verified" "$(csv_get "$T/stdout" verified)" 1
        check_eq "$cfg: the file's header" "$(head -n 3 "$out" 2>/dev/null | tr '\n' '|')" \
            "$magic|$dims|255|"
        check_eq "$cfg: the file's size" "$(wc -c <"$out")" \
            $(($(pnm_header "$magic" ${dims% *} ${dims#* } | wc -c) + $(echo "$want" | tr '|' ' ' | wc -w)))
        check_eq "$cfg: pixels" "$(pnm_values "$out" | tr '\n' '|')" "$want|"
    done
}
# gaussian3 of a single 255: weights 4, 2, 1 -> (255*4+8)>>4, (255*2+8)>>4, (255+8)>>4
golden "peak, gaussian3" peak3.pgm gaussian3 1 pgm "16 32 16|32 64 32|16 32 16" 1 2 3
# twice: the corner sums 9*16 + 3*32 + 3*32 + 64 = 400 -> 25; an edge 3*(16+64+16) +
# (32+128+32) = 480 -> 30; the centre 96 + 384 + 96 = 576 -> 36
golden "peak, gaussian3 twice" peak3.pgm gaussian3 2 pgm "25 30 25|30 36 30|25 30 25" 1 2 3
# every 3x3 neighbourhood holds the peak once: (255+4)/9 = 28
golden "peak, box3" peak3.pgm box3 1 pgm "28 28 28|28 28 28|28 28 28" 1 2
golden "peak, median3" peak3.pgm median3 1 pgm "0 0 0|0 0 0|0 0 0" 1 2
# 5*255 = 1275 -> 255; a neighbour 0 - 255 -> 0
golden "peak, sharpen" peak3.pgm sharpen 1 pgm "0 0 0|0 255 0|0 0 0" 1 2
# the [1 4 6 4 1] weights times 255, (w*255+128)>>8 = w
golden "peak, gaussian5" peak5.pgm gaussian5 1 pgm \
    "1 4 6 4 1|4 16 24 16 4|6 24 36 24 6|4 16 24 16 4|1 4 6 4 1" 1 2 3
# gx = (1+2+1)*255 beside the step -> clamped 255; flat elsewhere
golden "vertical step 255, sobel" step.pgm sobel 1 pgm "0 255 255 0|0 255 255 0|0 255 255 0" 1 2
golden "vertical step 20, sobel" step20.pgm sobel 1 pgm "0 80 80 0|0 80 80 0|0 80 80 0" 1 2
golden "horizontal step 30, sobel" hstep.pgm sobel 1 pgm "0 0 0 0|120 120 120 120|120 120 120 120|0 0 0 0" 1 2
# |gx| + |gy| = 10 + 10 at the corners, 20 + 0 at the edges, 0 at the peak itself
golden "peak 10, sobel" peak10.pgm sobel 1 pgm "20 20 20|20 0 20|20 20 20" 1 2
# 5*50 - 10 - 10 - 50 - 50 = 130 (up and down replicate the row); 5*10 - 10 - 50 - 10 - 10 < 0
golden "bump, sharpen" bump.pgm sharpen 1 pgm "0 130 0" 1 2
# medians of the replicated neighbourhoods, worked out by hand
golden "salt, median3" salt.pgm median3 1 pgm "20 30 30|40 60 60|70 80 90" 1 2 3
# (77*255+128)>>8 = 77, (150*255+128)>>8 = 149, (29*255+128)>>8 = 29,
# (770+3000+870+128)>>8 = 18, (256*255+128)>>8 = 255
golden "red green blue, gray" rgbw.ppm gray 1 pgm "77 149 29 18 255" 1 2
# channels are filtered apart: red is the peak, green a constant 100, blue 0
golden "red peak, gaussian3" redpeak.ppm gaussian3 1 ppm \
    "16 100 0 32 100 0 16 100 0|32 100 0 64 100 0 32 100 0|16 100 0 32 100 0 16 100 0" 1 2
echo "$gold_runs golden runs of tvp-$BE"

# ---- 4. the record --------------------------------------------------------------------------------
W=2
[ "$BE" = serial ] && W=1
rec=(filter --width 33 --height 21 --channels 1 --filter box3,sharpen --iterations 3 --seed 5
     --data scatter --verify --repeat 2 --warmup 0)
# shellcheck disable=SC2046
rec+=($(worker_args "$W" 1))
run_tvp "$BE" "$W" "${rec[@]}" --format csv
check_eq "record csv: exit status" "$RC" 0 || show "$T/stderr"
cp "$T/stdout" "$T/r.csv"
run_tvp "$BE" "$W" "${rec[@]}" --format json
check_eq "record json: exit status" "$RC" 0 || show "$T/stderr"
cp "$T/stdout" "$T/r.json"
check_eq "record csv: header (schema 4)" "$(head -n 1 "$T/r.csv")" "$CSV_HEADER"
check_eq "record csv: schema, n, seed, width, height, channels, filters, iterations" \
    "$(csv_get "$T/r.csv" schema n seed width height channels filters iterations | sort -u)" \
    "4"$'\t'"693"$'\t'"5"$'\t'"33"$'\t'"21"$'\t'"1"$'\t'"box3,sharpen"$'\t'"3"
check_eq "record json: lines" "$(wc -l <"$T/r.json")" 2
# the JSON's numbers are unquoted, its strings quoted
for kv in '"width":33' '"height":21' '"channels":1' '"filters":"box3,sharpen"' '"iterations":3' \
    '"workload":"filter"' '"n":693' '"seed":5' '"schema":4'; do
    check_eq "record json: $kv on every line" "$(grep -c -F -e "$kv" "$T/r.json")" 2
done
check_eq "record json: pixels_per_s, halo_bytes are numbers" \
    "$(grep -c -E '"pixels_per_s":[0-9.e+]+,.*"halo_bytes":[0-9]+,' "$T/r.json")" 2
if [ "$HAVE_PY" = 1 ]; then
    # every CSV field, in order, is in the JSON; those that do not depend on timing agree
    "$PYTHON" - "$T/r.csv" "$T/r.json" >"$T/cmp.txt" 2>&1 <<'EOF'
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1])))
objs = [json.loads(l) for l in open(sys.argv[2])]
header = open(sys.argv[1]).readline().strip().split(",")
timing = {"timestamp_utc", "cpus", "peak_rss_kb"} | {k for k in header if k.startswith("t_") or k.endswith("_per_s")}
for r, o in zip(rows, objs):
    if list(o.keys()) != header:
        print("JSON keys differ from the CSV header: %s" % list(o.keys()))
    for k in header:
        if k in timing: continue
        v = o[k]
        v = ("%d" % v) if isinstance(v, int) else str(v)
        if v != r[k]:
            print("%s: CSV %r, JSON %r" % (k, r[k], v))
    for k in ("width", "height", "channels", "iterations", "halo_bytes", "n"):
        if not isinstance(o[k], int): print("%s is not a JSON number: %r" % (k, o[k]))
    if not isinstance(o["pixels_per_s"], (int, float)) or o["pixels_per_s"] <= 0:
        print("pixels_per_s is not a positive number: %r" % o["pixels_per_s"])
    if not isinstance(o["filters"], str): print("filters is not a string")
EOF
    check_eq "record: CSV and JSON agree (fields, order, values, types)" "$(cat "$T/cmp.txt")" ""
fi

# --record FILE writes the record, --out the image; an old record is replaced whole
mkdir -p "$T/rec"
yes 'old line that must go' | head -n 50 >"$T/rec/r.csv"
head -c 5000 /dev/zero | tr '\0' 'x' >"$T/rec/image.pgm" # an old, larger file in the way
run_tvp "$BE" "$W" "${rec[@]}" --format csv --record "$T/rec/r.csv" --out "$T/rec/image.pgm"
check_eq "--record and --out: exit status" "$RC" 0 || show "$T/stderr"
check_eq "--record and --out: stdout" "$(head -c 200 "$T/stdout")" ""
check_eq "--record and --out: files" "$(ls -A "$T/rec" | tr '\n' ' ')" "image.pgm r.csv "
check_eq "--record: header + 2 rows" "$(wc -l <"$T/rec/r.csv")" 3
check_eq "--record: header" "$(head -n 1 "$T/rec/r.csv")" "$CSV_HEADER"
check_eq "--record: the same checksum as on stdout" \
    "$(csv_get "$T/rec/r.csv" checksum_sum checksum_crc64 | sort -u)" \
    "$(csv_get "$T/r.csv" checksum_sum checksum_crc64 | sort -u)"
check_eq "--out: a PGM of 33 x 21" "$(head -n 3 "$T/rec/image.pgm" | tr '\n' '|')" "P5|33 21|255|"
check_eq "--out: the PGM's size" "$(wc -c <"$T/rec/image.pgm")" $(($(pnm_header P5 33 21 | wc -c) + 693))
if [ "$HAVE_PY" = 1 ]; then
    check_eq "--out: the record's checksum is the image's" \
        "$(image_py checksum "$T/rec/image.pgm" | tr ' ' '\t')" \
        "$(csv_get "$T/rec/r.csv" checksum_sum checksum_crc64 | sort -u)"
fi
run_tvp "$BE" "$W" "${rec[@]}" --format json --record "$T/rec/r.json" --out "$T/rec/image.png"
check_eq "--record json and --out png: exit status" "$RC" 0 || show "$T/stderr"
check_eq "--record json: lines" "$(wc -l <"$T/rec/r.json" 2>/dev/null)" 2
check_eq "--record json and --out png: files" "$(ls -A "$T/rec" | tr '\n' ' ')" \
    "image.pgm image.png r.csv r.json "
if [ "$HAVE_PY" = 1 ]; then
    check "--out png and --out pgm hold the same pixels" image_py same "$T/rec/image.png" "$T/rec/image.pgm"
fi

# --in: the record names the file, seed 0, the file's size; squares rows carry empty filter fields
run_tvp "$BE" "$W" filter --in "$IMG/h_rgb.ppm" --filter gaussian3 --format csv --repeat 1 --warmup 0 \
    $(worker_args "$W" 1)
check_eq "--in: exit status" "$RC" 0 || show "$T/stderr"
check_eq "--in: input, seed, n, width, height, channels" \
    "$(csv_get "$T/stdout" input seed n width height channels)" \
    "$IMG/h_rgb.ppm"$'\t'0$'\t'221$'\t'17$'\t'13$'\t'3
run_tvp "$BE" "$W" squares --n 1000 --format csv --repeat 1 --warmup 0 $(worker_args "$W" 1)
check_eq "squares: exit status" "$RC" 0 || show "$T/stderr"
check_eq "squares: width, height, channels, filters, iterations, pixels_per_s, halo_bytes" \
    "$(csv_get "$T/stdout" width height channels filters iterations pixels_per_s halo_bytes)" \
    "0"$'\t'"0"$'\t'"0"$'\t'$'\t'"0"$'\t'"0"$'\t'"0"
check_eq "no temporary file left" "$(find "$T" -name '*.tmp.*' | head -n 3)" ""

finish
