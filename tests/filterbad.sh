#!/usr/bin/env bash
# Bad command lines and bad image files for the filter workload, one backend: each must
# exit 2 with exactly one line on stderr ("tvp-BACKEND: ...") that names the argument or
# the file, print nothing on stdout, and leave no --out image, no --record file and no
# *.tmp.* anywhere behind (every case is run with --record and, where it does not give its
# own, --out and --data scatter, so that both would be written if the run went on).
#
# The files: missing, a folder, unreadable (not as root), not an image (GIF), empty,
# netpbm kinds tvp does not read, truncated and malformed PNM headers, truncated pixel
# data, pixel values above maxval or not numbers, 16-bit PNM and PNG, maxval 100, zero
# width or height, sizes above --max-pixels, a PNG cut in half or within its signature, a
# text-mode-mangled signature, flipped bytes (CRC error), a bad zlib stream and a zero
# width behind correct CRCs.  The options: --width/--height/--channels/--iterations/
# --max-pixels out of range, unknown and empty filter names, gray on one channel, --out
# into a missing folder, with an unknown or no extension, a format that cannot hold the
# result's channels, a folder, --out without --data scatter, --n with filter, the image
# options with squares.
#
# tvp-mpi runs under mpirun -np 2 with each rank's stderr and exit status kept apart;
# every rank must exit 2, and only rank 0 may print.
#
# usage: filterbad.sh BIN_DIR BACKEND
. "$(dirname "$0")/lib.sh"

BE=$BACKEND
[ -n "$BE" ] || { echo "usage: $0 BIN_DIR BACKEND" >&2; exit 2; }
NP=2
[ "$BE" = mpi ] && export MPI_SPLIT=1
# a bad command line fails at once: a run that hangs (tvp-mpi ranks that disagree) is cut
# short so that the other cases still run
[ -n "${TVP_TEST_TIMEOUT:-}" ] || TIMEOUT=10
IN=$T/in
mkdir -p "$IN" "$T/out" "$T/a folder"
REC=$T/out/record.csv
IMGOUT=$T/out/image.png

# ---- does this backend run the filter workload at all? -------------------------------------
run_tvp "$BE" 1 filter --width 4 --height 4 --format csv --repeat 1 --warmup 0
if [ "$RC" -eq 3 ] && grep -q 'does not run the filter workload' "$T/stderr"; then
    fail "tvp-$BE does not run the filter workload (yet): $(head -c 200 "$T/stderr")"
    finish
fi

# fbad CASE-NAME "WORDS STDERR MUST CONTAIN (|-separated)" WORKLOAD ARGS...
fbad() {
    local name="$BE: $1" must=$2
    shift 2
    rm -rf "$T/out" && mkdir "$T/out"
    local extra=(--format csv)
    case " $* " in *" --record "* | *" --record="*) ;; *) extra+=(--record "$REC") ;; esac
    if [ "$1" = filter ]; then
        case " $* " in *" --out "* | *" --out="*) ;; *) extra+=(--out "$IMGOUT") ;; esac
        case " $* " in *" --data "*) ;; *) extra+=(--data scatter) ;; esac
    fi
    run_tvp "$BE" "$NP" "$@" "${extra[@]}"
    check_bad_run "$name" "$must"
}

# ---- the files --------------------------------------------------------------------------------------
# a good PNG and a good 100 x 100 PGM, written by tvp-serial, to cut and spoil
run_tvp serial 1 filter --width 64 --height 64 --channels 3 --filter box3 --data scatter \
    --out "$IN/good.png" --format csv --repeat 1 --warmup 0
check_eq "tvp-serial writes good.png" "$RC" 0 || show "$T/stderr"
run_tvp serial 1 filter --width 100 --height 100 --channels 1 --filter box3 --data scatter \
    --out "$IN/big.pgm" --format csv --repeat 1 --warmup 0
check_eq "tvp-serial writes big.pgm" "$RC" 0 || show "$T/stderr"
PNG_SIZE=$(wc -c <"$IN/good.png")
head -c $((PNG_SIZE / 2)) "$IN/good.png" >"$IN/half.png"
head -c 5 "$IN/good.png" >"$IN/sig5.png"
cp "$IN/good.png" "$IN/flipped.png"
printf '\xff\x00\xff\x00\xff\x00\xff\x00' |
    dd of="$IN/flipped.png" bs=1 seek=$((PNG_SIZE / 2)) conv=notrunc status=none
check "flipped.png differs from good.png" bash -c "! cmp -s '$IN/good.png' '$IN/flipped.png'"
{ printf '\x89PNG\n\x1a\n'; tail -c +9 "$IN/good.png"; } >"$IN/crlf.png" # a text-mode transfer
printf 'GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00,' >"$IN/pic.gif"
: >"$IN/empty.pgm"
printf 'P4\n8 1\n\xff' >"$IN/p4.pbm"
printf 'P7\nWIDTH 1\n' >"$IN/p7.pam"
printf 'P5\n4' >"$IN/head-cut.pgm"
printf 'P2\n4 4\n' >"$IN/no-maxval.pgm"
printf 'P5\n4x 4\n255\n' >"$IN/bad-width.pgm"
{ printf 'P5\n4 4\n255\n'; printf '0123456789'; } >"$IN/pixels-cut.pgm"
printf 'P2\n3 3\n255\n1 2 3\n4\n' >"$IN/values-cut.pgm"
printf 'P3\n2 1\n255\n1 2 3 4 5\n' >"$IN/values-cut.ppm"
printf 'P2\n2 2\n255\n1 2\n256 4\n' >"$IN/above.pgm"
printf 'P2\n2 2\n255\n1 abc\n3 4\n' >"$IN/word.pgm"
{ printf 'P5\n2 2\n65535\n'; printf '\x00\x01\x00\x02\x00\x03\x00\x04'; } >"$IN/sixteen.pgm"
printf 'P2\n2 2\n100\n1 2\n3 4\n' >"$IN/maxval100.pgm"
printf 'P2\n0 3\n255\n' >"$IN/zero-width.pgm"
printf 'P5\n3 0\n255\n' >"$IN/zero-height.pgm"
printf 'P5\n4294967296 1\n255\n' >"$IN/too-wide.pgm"
printf 'P5\n100000 100000\n255\n' >"$IN/too-many.pgm"
printf 'P2\n1 1\n255\n7\n' >"$IN/one.pgm"

for data in scatter local; do
    fbad "--in a missing file, $data" "$IN/missing.png" filter --in "$IN/missing.png" --data "$data"
    fbad "--in truncated pixel data, $data" "$IN/pixels-cut.pgm|truncated pixel data" \
        filter --in "$IN/pixels-cut.pgm" --data "$data"
done
fbad "--in a folder" "$T/a folder" filter --in "$T/a folder"
# a dynamic schedule that a backend runs as static blocks: its note must not come on top
# of the error (one line)
fbad "--in a missing file, --schedule dynamic" "$IN/missing.png" filter --in "$IN/missing.png" \
    --schedule dynamic --chunk 4
if [ "$(id -u)" != 0 ]; then
    cp "$IN/one.pgm" "$IN/unreadable.pgm" && chmod 000 "$IN/unreadable.pgm"
    fbad "--in an unreadable file" "$IN/unreadable.pgm" filter --in "$IN/unreadable.pgm"
else
    echo "note: running as root, the unreadable-file case is skipped (root reads anything)"
fi
fbad "--in a GIF" "$IN/pic.gif|not a PNG or netpbm image" filter --in "$IN/pic.gif"
fbad "--in an empty file" "$IN/empty.pgm|empty" filter --in "$IN/empty.pgm"
fbad "--in P4 (a bitmap)" "$IN/p4.pbm|P4" filter --in "$IN/p4.pbm"
fbad "--in P7" "$IN/p7.pam|P7" filter --in "$IN/p7.pam"
fbad "--in a header cut after the width" "$IN/head-cut.pgm|truncated header" filter --in "$IN/head-cut.pgm"
fbad "--in a header without maxval" "$IN/no-maxval.pgm|maxval" filter --in "$IN/no-maxval.pgm"
fbad "--in a width '4x'" "$IN/bad-width.pgm|width" filter --in "$IN/bad-width.pgm"
fbad "--in P2 values cut short" "$IN/values-cut.pgm|truncated pixel data" filter --in "$IN/values-cut.pgm"
fbad "--in P3 values cut short" "$IN/values-cut.ppm|truncated pixel data" filter --in "$IN/values-cut.ppm"
fbad "--in a value above maxval" "$IN/above.pgm|256" filter --in "$IN/above.pgm"
fbad "--in a value that is not a number" "$IN/word.pgm|abc" filter --in "$IN/word.pgm"
fbad "--in 16-bit PGM (maxval 65535)" "$IN/sixteen.pgm|65535" filter --in "$IN/sixteen.pgm"
fbad "--in maxval 100" "$IN/maxval100.pgm|100" filter --in "$IN/maxval100.pgm"
fbad "--in zero width" "$IN/zero-width.pgm|zero width" filter --in "$IN/zero-width.pgm"
fbad "--in zero height" "$IN/zero-height.pgm|zero height" filter --in "$IN/zero-height.pgm"
fbad "--in a width of 2^32" "$IN/too-wide.pgm|4294967296" filter --in "$IN/too-wide.pgm"
fbad "--in 10^10 pixels (above the default --max-pixels)" "$IN/too-many.pgm|limit" \
    filter --in "$IN/too-many.pgm"
fbad "--in 100x100 with --max-pixels 5000" "$IN/big.pgm|5000" filter --in "$IN/big.pgm" --max-pixels 5000
fbad "--in a PNG cut in half" "$IN/half.png|truncated PNG" filter --in "$IN/half.png"
fbad "--in a PNG cut in its signature" "$IN/sig5.png|truncated PNG" filter --in "$IN/sig5.png"
fbad "--in a PNG signature with LF for CRLF" "$IN/crlf.png|signature" filter --in "$IN/crlf.png"
fbad "--in a PNG with flipped bytes (CRC error)" "$IN/flipped.png|corrupt PNG" filter --in "$IN/flipped.png"
if [ -n "$PYTHON" ]; then
    image_py write-png "$IN/sixteen.png" 5 4 1 16bit &&
        image_py write-png "$IN/sixteen-rgba.png" 5 4 4 16bit &&
        image_py patch-png "$IN/good.png" "$IN/bad-zlib.png" idat &&
        image_py patch-png "$IN/good.png" "$IN/width0.png" width0
    check_eq "python3 wrote the spoiled PNGs" "$?" 0
    fbad "--in a 16-bit gray PNG" "$IN/sixteen.png|16-bit" filter --in "$IN/sixteen.png"
    fbad "--in a 16-bit RGBA PNG" "$IN/sixteen-rgba.png|16-bit" filter --in "$IN/sixteen-rgba.png"
    fbad "--in a PNG whose zlib data is spoiled (CRCs right)" "$IN/bad-zlib.png|corrupt PNG" \
        filter --in "$IN/bad-zlib.png"
    fbad "--in a PNG of width 0 (CRCs right)" "$IN/width0.png" filter --in "$IN/width0.png"
    image_py write-png "$IN/ga.png" 5 4 2
    fbad "--out .pgm for gray+alpha" "$T/out/x.pgm|.pgm|2" filter --in "$IN/ga.png" --filter gaussian3 \
        --out "$T/out/x.pgm"
    image_py write-png "$IN/rgba.png" 5 4 4
    fbad "--out .pgm for RGBA through gray (gray+alpha)" "$T/out/x.pgm|2" filter --in "$IN/rgba.png" \
        --filter gray --out "$T/out/x.pgm"
    fbad "gray on gray+alpha" "gray" filter --in "$IN/ga.png" --filter gray
else
    echo "note: no python3: the 16-bit PNG and spoiled-CRC PNG cases are skipped"
fi

# ---- the options ---------------------------------------------------------------------------------
fbad "--width 0" "--width" filter --width 0 --height 5
fbad "--height 0" "--height" filter --width 5 --height 0
fbad "--width -3" "--width" filter --width -3 --height 5
fbad "--width 2^32" "--width" filter --width 4294967296 --height 5
fbad "--width x --height above --max-pixels" "--max-pixels|268435456" filter --width 100000 --height 100000
fbad "--width x --height above a given --max-pixels" "--max-pixels|5000" \
    filter --width 100 --height 100 --max-pixels 5000
fbad "--max-pixels 0" "--max-pixels" filter --width 5 --height 5 --max-pixels 0
fbad "--channels 2" "--channels|2" filter --width 5 --height 5 --channels 2
fbad "--channels 4" "--channels|4" filter --width 5 --height 5 --channels 4
fbad "--iterations 0" "--iterations" filter --width 5 --height 5 --iterations 0
fbad "--iterations abc" "--iterations|abc" filter --width 5 --height 5 --iterations abc
fbad "more than 10^6 passes" "--iterations" filter --width 5 --height 5 --filter gaussian3,box3 \
    --iterations 600000
fbad "unknown filter" "blur" filter --width 5 --height 5 --filter blur
fbad "unknown filter in a list" "sharpen2" filter --width 5 --height 5 --filter gaussian3,sharpen2
fbad "filter names are case-sensitive" "GAUSSIAN3" filter --width 5 --height 5 --filter GAUSSIAN3
fbad "empty name in the list" "gaussian3,,sobel|empty" filter --width 5 --height 5 --filter gaussian3,,sobel
fbad "trailing comma" "gaussian3,|empty" filter --width 5 --height 5 --filter gaussian3,
fbad "leading comma" ",gaussian3|empty" filter --width 5 --height 5 --filter ,gaussian3
fbad "empty --filter" "--filter" filter --width 5 --height 5 --filter ""
fbad "gray on a 1-channel image" "gray" filter --width 5 --height 5 --channels 1 --filter gray
fbad "gray on a 1-channel file" "gray" filter --in "$IN/one.pgm" --filter gray
fbad "gray twice" "gray" filter --width 5 --height 5 --filter gray,gray
fbad "a list with gray, twice" "gray" filter --width 5 --height 5 --filter gray,median3,sharpen,box3 \
    --iterations 2
fbad "--out into a missing folder" "$T/no-such-folder/x.png" filter --width 5 --height 5 \
    --out "$T/no-such-folder/x.png"
check "--out into a missing folder: the folder was not made" [ ! -e "$T/no-such-folder" ]
fbad "--out .jpg" "$T/out/x.jpg|.jpg" filter --width 5 --height 5 --out "$T/out/x.jpg"
fbad "--out without an extension" "$T/out/image" filter --width 5 --height 5 --out "$T/out/image"
fbad "--out .pgm for a 3-channel result" "$T/out/x.pgm|.pgm|3" filter --width 5 --height 5 \
    --channels 3 --out "$T/out/x.pgm"
fbad "--out .ppm for a 1-channel result" "$T/out/x.ppm|.ppm|1" filter --width 5 --height 5 \
    --channels 1 --out "$T/out/x.ppm"
fbad "--out .ppm for gray's result" "$T/out/x.ppm|1" filter --width 5 --height 5 --filter gray \
    --out "$T/out/x.ppm"
fbad "--out a folder" "$T/a folder" filter --width 5 --height 5 --out "$T/a folder"
mkdir -p "$T/folder.png"
fbad "--out a folder named .png" "$T/folder.png" filter --width 5 --height 5 --out "$T/folder.png"
check "--out a folder named .png: still an empty folder" [ -d "$T/folder.png" ] &&
    check_eq "--out a folder named .png: empty" "$(ls -A "$T/folder.png")" ""
fbad "--out with --data local" "--out|--data scatter" filter --width 5 --height 5 --data local
fbad "--out empty" "--out" filter --width 5 --height 5 --out ""
fbad "--record into a missing folder" "--record|$T/no-such-folder/r.csv" filter --width 5 --height 5 \
    --record "$T/no-such-folder/r.csv"
fbad "--record a folder" "--record|$T/a folder" filter --width 5 --height 5 --record "$T/a folder"
fbad "--n with filter" "--n" filter --n 100
fbad "--n with filter and a size" "--n" filter --n 100 --width 5 --height 5
fbad "--width with --in" "--width|--in" filter --in "$IN/one.pgm" --width 5
fbad "--channels with --in" "--channels|--in" filter --in "$IN/one.pgm" --channels 1
fbad "--in empty" "--in" filter --in ""
fbad "--chunk 0" "--chunk" filter --width 5 --height 5 --schedule dynamic --chunk 0
fbad "--filter with squares" "--filter" squares --n 10 --filter gaussian3
fbad "--iterations with squares" "--iterations" squares --n 10 --iterations 2
fbad "--width with squares" "--width" squares --n 10 --width 5
fbad "--max-pixels with squares" "--max-pixels" squares --n 10 --max-pixels 5
case "$BE" in
serial) fbad "--workers 2 for tvp-serial" "--workers" filter --width 5 --height 5 --workers 2 ;;
mpi) fbad "--workers 3 under mpirun -np 2" "--workers 3|2" filter --width 5 --height 5 --workers 3 ;;
esac

# mpirun passes tvp-mpi's exit status on (without the per-rank wrapper)
if [ "$BE" = mpi ]; then
    MPI_SPLIT=0 run_tvp mpi "$NP" filter --in "$IN/missing.png"
    check_eq "mpi: mpirun's exit status for a missing --in" "$RC" 2
    check "mpi: the message reaches mpirun's stderr" grep -q -F -e "$IN/missing.png" "$T/stderr"
fi

# ---- and the good counterparts: the same folder, extensions in capitals -----------------------
rm -rf "$T/out" && mkdir "$T/out"
wargs=(--workers "$NP")
[ "$BE" = serial ] && wargs=()
[ "$BE" = mpi ] && wargs=()
run_tvp "$BE" "$NP" filter --in "$IN/one.pgm" --filter gaussian5,sobel --data scatter --out "$T/out/X.PGM" \
    --record "$T/out/r.csv" --format csv --repeat 1 --warmup 0 --verify "${wargs[@]}"
check_eq "$BE: a 1x1 PGM, --out X.PGM: exit status" "$RC" 0 || show "$T/stderr"
check_eq "$BE: a 1x1 PGM: the output" "$(od -An -c "$T/out/X.PGM" 2>/dev/null | tr -s ' ' | tr -d '\n')" \
    " P 5 \n 1 1 \n 2 5 5 \n \0"
check_eq "$BE: a 1x1 PGM: files" "$(ls -A "$T/out" | tr '\n' ' ')" "X.PGM r.csv "
check_eq "$BE: no temporary file left" "$(find "$T" -name '*.tmp.*' | head -n 3)" ""

finish
