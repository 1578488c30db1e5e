# Shared by the test scripts (sourced, not run).  The scripts take the folder that holds
# the tvp-* executables as $1 and a backend as $2.
#
# Each script gets a fresh temporary folder $T (removed on exit) and works inside it.
# check/fail count assertions; finish prints the tally and sets the exit status.
# Environment (set by tests/CMakeLists.txt, all optional):
#   TVP_MPIRUN        the mpirun to use (default: mpirun on PATH)
#   TVP_PYTHON        a python3 for the independent reference checksums (skipped if unset
#                     and none on PATH)
#   TVP_EXPECT_VERSION the project version the executables must report
#   TVP_TEST_TIMEOUT  seconds one tvp command may take (default 60)

set -u
export LC_ALL=C

if [ $# -lt 1 ] || [ ! -d "$1" ]; then
    echo "usage: $0 BIN_DIR [BACKEND]  (BIN_DIR holds tvp-serial, tvp-openmp, ...)" >&2
    exit 2
fi
TVP_BIN=$(cd "$1" && pwd)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd) # tests/, for reference.py
BACKEND=${2:-}
case "$BACKEND" in
"" | serial | openmp | mpi | posix) ;;
*) echo "$0: unknown backend '$BACKEND'" >&2; exit 2 ;;
esac
if [ -n "$BACKEND" ] && [ ! -x "$TVP_BIN/tvp-$BACKEND" ]; then
    echo "$0: $TVP_BIN/tvp-$BACKEND is missing" >&2
    exit 2
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/tvp-$(basename "$0" .sh)${BACKEND:+-$BACKEND}.XXXXXX") || exit 2
trap 'cd /; rm -rf "$T"' EXIT
cd "$T" || exit 2

FAILS=0
CHECKS=0
TIMEOUT=${TVP_TEST_TIMEOUT:-60}
NPROC=$(nproc)                                              # PUs this process may use
NCORES=$(lscpu -p=CORE 2>/dev/null | grep -v '^#' | sort -u | wc -l) # cores, all of them
[ "$NCORES" -ge 1 ] 2>/dev/null || NCORES=$NPROC

# ---- assertions ---------------------------------------------------------------------

# the command line of the last run, for failure messages
LAST_CMD=""

fail() {
    FAILS=$((FAILS + 1))
    echo "FAIL: $*" >&2
    if [ -n "$LAST_CMD" ]; then
        echo "      command: $LAST_CMD" >&2
    fi
}

# check DESCRIPTION COMMAND...: the command must succeed
check() {
    local what=$1
    shift
    CHECKS=$((CHECKS + 1))
    if ! "$@"; then
        fail "$what"
        return 1
    fi
}

# check_eq DESCRIPTION GOT WANT
check_eq() {
    CHECKS=$((CHECKS + 1))
    if [ "$2" != "$3" ]; then
        fail "$1: got '$2', want '$3'"
        return 1
    fi
}

finish() {
    echo "$(basename "$0") ${BACKEND}: $CHECKS checks, $FAILS failed"
    [ "$FAILS" -eq 0 ]
    exit $?
}

# show a file in a failure report, indented
show() {
    sed 's/^/      | /' "$1" | head -n "${2:-20}" >&2
}

# ---- running tvp -----------------------------------------------------------------------

MPIRUN=("${TVP_MPIRUN:-mpirun}" --oversubscribe --mca pml ob1 --mca btl self,vader)
if [ "$(id -u)" = 0 ]; then
    MPIRUN+=(--allow-run-as-root)
fi

# run_tvp BACKEND WORKERS ARGS...
# Runs one tvp command with stdout to $T/stdout and stderr to $T/stderr; the exit status
# goes to RC.  WORKERS is the -np of tvp-mpi (other backends ignore it: pass --workers in
# ARGS).  tvp-mpi runs under mpirun; with MPI_SPLIT=1 each rank's stderr goes to
# $T/rank.R.err and its exit status to $T/rank.R.rc (mpirun itself then exits 0), so that
# mpirun's own messages do not mix with tvp's: $T/stderr is rank 0's, RC is rank 0's.
run_tvp() {
    local be=$1 np=$2 t0=${EPOCHREALTIME/./}
    shift 2
    rm -f "$T/stdout" "$T/stderr" "$T"/rank.*
    : >"$T/stderr"
    if [ "$be" = mpi ]; then
        if [ "${MPI_SPLIT:-0}" = 1 ]; then
            LAST_CMD="mpirun -np $np tvp-mpi $* (stderr per rank)"
            timeout -k 5 "$TIMEOUT" "${MPIRUN[@]}" -np "$np" bash -c '
                r=${OMPI_COMM_WORLD_RANK:-x}
                "$0" "$@" 2>"'"$T"'/rank.$r.err"
                echo $? >"'"$T"'/rank.$r.rc"
                exit 0' "$TVP_BIN/tvp-mpi" "$@" >"$T/stdout" 2>"$T/mpirun.err"
            RC=$?
            if [ "$RC" -ne 0 ]; then
                fail "mpirun itself exited $RC"
                show "$T/mpirun.err"
                return
            fi
            if [ -f "$T/rank.0.rc" ]; then
                RC=$(cat "$T/rank.0.rc")
                cp "$T/rank.0.err" "$T/stderr"
            else
                RC=255
                : >"$T/stderr"
            fi
        else
            LAST_CMD="mpirun -np $np tvp-mpi $*"
            timeout -k 5 "$TIMEOUT" "${MPIRUN[@]}" -np "$np" "$TVP_BIN/tvp-mpi" "$@" \
                >"$T/stdout" 2>"$T/stderr"
            RC=$?
        fi
    else
        LAST_CMD="tvp-$be $*"
        timeout -k 5 "$TIMEOUT" "$TVP_BIN/tvp-$be" "$@" >"$T/stdout" 2>"$T/stderr"
        RC=$?
    fi
    if [ "$RC" -eq 124 ] || [ "$RC" -eq 137 ]; then
        echo "note: timed out after ${TIMEOUT}s" >&2
    fi
    if [ "${TVP_TEST_VERBOSE:-0}" = 1 ]; then
        echo "ran in $(((${EPOCHREALTIME/./} - t0) / 1000)) ms, exit $RC: $LAST_CMD" >&2
    fi
}

# ---- CSV, by header name -----------------------------------------------------------------

# A CSV reader for the record: quoted fields ("a,b", doubled quotes) are understood.
# csv_get FILE FIELD...: for every data row, the named fields, tab separated.  Exits 3
# when a field is not in the header, 4 when a row has a different number of fields.
CSV_AWK='
function csv_split(line, out,    n, i, c, f, q, len) {
    sub(/\r$/, "", line)
    n = 0; f = ""; q = 0; len = length(line)
    for (i = 1; i <= len; i++) {
        c = substr(line, i, 1)
        if (q) {
            if (c == "\"") {
                if (substr(line, i + 1, 1) == "\"") { f = f "\""; i++ } else q = 0
            } else f = f c
        } else if (c == "\"") q = 1
        else if (c == ",") { out[++n] = f; f = "" }
        else f = f c
    }
    out[++n] = f
    return n
}
NR == 1 {
    nh = csv_split($0, h)
    for (i = 1; i <= nh; i++) col[h[i]] = i
    nf = split(fields, want, " ")
    for (i = 1; i <= nf; i++)
        if (!(want[i] in col)) { print "csv: no column " want[i] > "/dev/stderr"; bad = 3; exit 3 }
    next
}
{
    n = csv_split($0, r)
    if (n != nh) { print "csv: row " NR - 1 " has " n " fields, the header " nh > "/dev/stderr"; bad = 4; exit 4 }
    s = ""
    for (i = 1; i <= nf; i++) s = s (i > 1 ? "\t" : "") r[col[want[i]]]
    print s
}
END { if (bad) exit bad }'

csv_get() {
    local file=$1
    shift
    awk -v fields="$*" "$CSV_AWK" "$file"
}

# number of data rows (lines after the header)
csv_rows() {
    echo $(($(wc -l <"$1") - 1))
}

# the record's CSV header, schema 4 (common/record.c tvp_record_csv_header)
CSV_HEADER="schema,tool_version,git_commit,timestamp_utc,host,backend,workload,input,n,seed,width,height,channels,filters,iterations,columns,fields,classes,schedule,chunk,data,ipc,workers,bind,cpus,oversubscribed,transport,repeat,warmup,t_init,t_touch,t_startup,t_distribute,t_compute,t_collect,t_total,t_parse,t_fit,t_merge,t_encode,t_format,items_per_s,bytes_per_s,pixels_per_s,rows_per_s,fields_per_s,bytes_moved,halo_bytes,merge_bytes,peak_rss_kb,checksum_sum,checksum_crc64,verified,recovered,t_detect,t_recovery"

# stderr may hold only the oversubscription warning (and, for mpirun, nothing else)
check_stderr_clean() {
    local bad
    bad=$(grep -v -E '^tvp-[a-z]+: warning: [0-9]+ workers on [0-9]+ PUs: oversubscribed$' "$T/stderr")
    CHECKS=$((CHECKS + 1))
    if [ -n "$bad" ]; then
        fail "$1: unexpected output on stderr"
        show "$T/stderr"
        return 1
    fi
}

# ---- the independent reference -------------------------------------------------------------

PYTHON=${TVP_PYTHON:-$(command -v python3 || true)}

# reference ARGS...: "SUM CRC64" of the squares of the generated (--n N --seed S) or loaded
# (--in FILE) input, computed by tests/reference.py without tvp; empty without python3
reference() {
    if [ -n "$PYTHON" ]; then
        "$PYTHON" "$HERE/reference.py" "$@" || fail "reference.py $* failed"
    fi
}

# ---- images (the filter workload) ------------------------------------------------------------

# stderr may hold only the oversubscription warning and, for a backend that runs a stencil
# as static blocks whatever --schedule says, its one-line note about that
check_stderr_clean_filter() {
    local bad
    bad=$(grep -v -E -e '^tvp-[a-z]+: warning: [0-9]+ workers on [0-9]+ PUs: oversubscribed$' \
        -e '^tvp-[a-z]+: note: filter runs static blocks of rows here .*schedule=static$' "$T/stderr")
    CHECKS=$((CHECKS + 1))
    if [ -n "$bad" ]; then
        fail "$1: unexpected output on stderr"
        show "$T/stderr"
        return 1
    fi
}

# pnm_values FILE: the samples of a binary P5/P6 file that tvp wrote ("P5\nW H\n255\n",
# one header line each), space separated, one image row per line; reads no more than the
# header promises.  Needs no python.
pnm_values() {
    local magic dims maxval w h c
    {
        read -r magic && read -r dims && read -r maxval
    } <"$1" || return 1
    case "$magic" in P5) c=1 ;; P6) c=3 ;; *) return 1 ;; esac
    [ "$maxval" = 255 ] || return 1
    w=${dims% *}
    h=${dims#* }
    tail -c $((w * h * c)) "$1" | od -An -tu1 -v -w$((w * c)) | awk '{ $1 = $1; print }'
}

# the header tvp writes for a binary PGM/PPM
pnm_header() { # pnm_header P5|P6 W H
    printf '%s\n%s %s\n255\n' "$1" "$2" "$3"
}

# image_py COMMAND ARGS...: tests' own PNG/netpbm reader and writer, the filters written
# from common/filter.h's definitions, and the record's checksum -- all without tvp's code
# (python3's zlib and struct only).  Returns 99 without python3 (callers skip).
#   write-png OUT W H C [interlace] [palette] [16bit]   a synthetic image, C = 1..4
#   info FILE                 W H C
#   checksum FILE             SUM CRC64 of the pixels (the record's checksum_* columns)
#   channel FILE K            channel K's samples, hex
#   reference IN LIST ITER OUT.pnm-or-png   the filters applied to IN, written to OUT
#   expect IN LIST ITER OUT   "SUM CRC64" of OUT's pixels, then a line for each way OUT
#                             differs from IN through the filters (size, alpha, a sample)
#   same FILE1 FILE2          exit 0 when both hold the same pixels (W, H, C too)
#   patch-png IN OUT idat|width0   a corrupt copy whose chunk CRCs are right
image_py() {
    [ -n "$PYTHON" ] || return 99
    "$PYTHON" -c "$IMAGE_PY" "$@"
}

IMAGE_PY='
import struct, sys, zlib

M64 = (1 << 64) - 1

def crc64_xz(data):
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0xC96C5795D7870F42 if c & 1 else c >> 1
        t.append(c)
    crc = M64
    for b in data:
        crc = t[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ M64

# ---- reading -------------------------------------------------------------------------
def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c

def unfilter(raw, w, h, bpp, rowbytes):
    out, prev, i = [], bytearray(rowbytes), 0
    for y in range(h):
        ft = raw[i]; i += 1
        row = bytearray(raw[i:i + rowbytes]); i += rowbytes
        for x in range(rowbytes):
            a = row[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if ft == 1: row[x] = (row[x] + a) & 255
            elif ft == 2: row[x] = (row[x] + b) & 255
            elif ft == 3: row[x] = (row[x] + ((a + b) >> 1)) & 255
            elif ft == 4: row[x] = (row[x] + paeth(a, b, c)) & 255
            elif ft != 0: raise SystemExit("bad PNG filter type %d" % ft)
        out.append(row); prev = row
    return out, i

def read_png(data):
    pos, idat, plte, trns = 8, b"", None, None
    while pos < len(data):
        n, typ = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if zlib.crc32(typ + body) != struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])[0]:
            raise SystemExit("bad CRC in %r" % typ)
        if typ == b"IHDR":
            w, h, depth, ct, _, _, il = struct.unpack(">IIBBBBB", body)
        elif typ == b"IDAT": idat += body
        elif typ == b"PLTE": plte = body
        elif typ == b"tRNS": trns = body
        elif typ == b"IEND": break
        pos += 12 + n
    if depth != 8 or il != 0:
        raise SystemExit("reader: only 8-bit non-interlaced PNG")
    spp = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[ct]
    rows, _ = unfilter(zlib.decompress(idat), w, h, spp, w * spp)
    if ct == 3:
        c = 4 if trns else 3
        pix = bytearray()
        for r in rows:
            for k in r:
                pix += plte[3 * k:3 * k + 3]
                if trns: pix.append(trns[k] if k < len(trns) else 255)
        return w, h, c, bytes(pix)
    return w, h, spp, b"".join(bytes(r) for r in rows)

def read_pnm(data):
    toks, i, n = [], 2, len(data)
    kind = data[1:2].decode()
    def token():
        nonlocal i
        while i < n:
            ch = data[i:i + 1]
            if ch == b"#":
                while i < n and data[i:i + 1] not in (b"\n", b"\r"): i += 1
            elif ch.isspace(): i += 1
            else: break
        j = i
        while i < n and data[i:i + 1].isdigit(): i += 1
        return int(data[j:i])
    w, h, mx = token(), token(), token()
    c = 3 if kind in "36" else 1
    if kind in "56":
        i += 1
        pix = data[i:i + w * h * c]
    else:
        pix = bytes(token() for _ in range(w * h * c))
    if mx != 255 or len(pix) != w * h * c: raise SystemExit("bad PNM")
    return w, h, c, pix

def read(path):
    data = open(path, "rb").read()
    if data[:8] == b"\x89PNG\r\n\x1a\n": return read_png(data)
    if data[:1] == b"P": return read_pnm(data)
    raise SystemExit("%s: not an image" % path)

# ---- writing -------------------------------------------------------------------------
def chunk(typ, body):
    return struct.pack(">I", len(body)) + typ + body + struct.pack(">I", zlib.crc32(typ + body))

def filter_rows(rows, bpp):
    """each row with the filter type y % 5, so that a reader must undo all five"""
    out, prev = b"", bytearray(len(rows[0]) if rows else 0)
    for y, row in enumerate(rows):
        ft, f = y % 5, bytearray(len(row))
        for x in range(len(row)):
            a = row[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            pred = (0, a, b, (a + b) >> 1, paeth(a, b, c))[ft]
            f[x] = (row[x] - pred) & 255
        out += bytes([ft]) + bytes(f)
        prev = row
    return out

ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))

def png_bytes(w, h, ct, depth, samples, interlace=False, plte=None, trns=None):
    """samples: rows of values per pixel-sample (already palette indices for ct 3)"""
    spp = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[ct]
    bps = depth // 8
    def pack(vals):
        return bytearray(b"".join(struct.pack(">H", v) for v in vals)) if bps == 2 else bytearray(vals)
    if interlace:
        raw = b""
        for x0, y0, dx, dy in ADAM7:
            sub = [pack([v for xx in range(x0, w, dx) for v in samples[y][xx * spp:(xx + 1) * spp]])
                   for y in range(y0, h, dy)]
            if sub and len(sub[0]):
                raw += filter_rows(sub, spp * bps)
    else:
        raw = filter_rows([pack(r) for r in samples], spp * bps)
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, ct, 0, 0, 1 if interlace else 0))
    if plte: out += chunk(b"PLTE", plte)
    if trns: out += chunk(b"tRNS", trns)
    return out + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")

def synth(x, y, k):
    return (x * 37 + y * 91 + k * 53 + (x * y % 17) * 13 + (x ^ y) * 5) & 255

def write_png(path, w, h, c, flags):
    ct = {1: 0, 2: 4, 3: 2, 4: 6}[c]
    if "palette" in flags:
        # 40 colours (with alpha, for 4 channels): index (5x + 3y) mod 40
        pal = [((i * 6) & 255, (255 - i * 5) & 255, (i * 47) & 255) for i in range(40)]
        alpha = [(i * 23 + 7) & 255 for i in range(40)]
        rows = [[(5 * x + 3 * y) % 40 for x in range(w)] for y in range(h)]
        data = png_bytes(w, h, 3, 8, rows, "interlace" in flags,
                         b"".join(bytes(p) for p in pal), bytes(alpha) if c == 4 else None)
    else:
        depth = 16 if "16bit" in flags else 8
        rows = []
        for y in range(h):
            r = []
            for x in range(w):
                for k in range(c):
                    v = synth(x, y, k) if not (c in (2, 4) and k == c - 1) else (x * 7 + y * 29 + 11) & 255
                    r.append(v * 257 if depth == 16 else v)
            rows.append(r)
        data = png_bytes(w, h, ct, depth, rows, "interlace" in flags)
    open(path, "wb").write(data)

def write_any(path, w, h, c, pix):
    if path.endswith(".png"):
        ct = {1: 0, 2: 4, 3: 2, 4: 6}[c]
        rows = [list(pix[y * w * c:(y + 1) * w * c]) for y in range(h)]
        open(path, "wb").write(png_bytes(w, h, ct, 8, rows))
    else:
        open(path, "wb").write(b"P%d\n%d %d\n255\n" % (5 if c == 1 else 6, w, h) + bytes(pix))

# ---- the filters, from common/filter.h, with every coordinate clamped ---------------------
def apply(name, w, h, c, p):
    def at(x, y, k):
        x = 0 if x < 0 else w - 1 if x >= w else x
        y = 0 if y < 0 else h - 1 if y >= h else y
        return p[(y * w + x) * c + k]
    alpha = c in (2, 4)
    if name == "gray":
        if c not in (3, 4): raise SystemExit("gray needs 3 or 4 channels")
        oc = 1 if c == 3 else 2
        out = bytearray(w * h * oc)
        for i in range(w * h):
            r, g, b = p[i * c], p[i * c + 1], p[i * c + 2]
            out[i * oc] = (77 * r + 150 * g + 29 * b + 128) >> 8
            if oc == 2: out[i * oc + 1] = p[i * c + 3]
        return oc, bytes(out)
    g3, g5 = (1, 2, 1), (1, 4, 6, 4, 1)
    out = bytearray(w * h * c)
    for y in range(h):
        for x in range(w):
            for k in range(c):
                i = (y * w + x) * c + k
                if alpha and k == c - 1:
                    out[i] = p[i]; continue
                if name == "gaussian3":
                    s = sum(g3[dy + 1] * g3[dx + 1] * at(x + dx, y + dy, k) for dy in (-1, 0, 1) for dx in (-1, 0, 1))
                    v = (s + 8) >> 4
                elif name == "gaussian5":
                    s = sum(g5[dy + 2] * g5[dx + 2] * at(x + dx, y + dy, k) for dy in range(-2, 3) for dx in range(-2, 3))
                    v = (s + 128) >> 8
                elif name == "box3":
                    v = (sum(at(x + dx, y + dy, k) for dy in (-1, 0, 1) for dx in (-1, 0, 1)) + 4) // 9
                elif name == "sharpen":
                    v = 5 * at(x, y, k) - at(x - 1, y, k) - at(x + 1, y, k) - at(x, y - 1, k) - at(x, y + 1, k)
                    v = max(0, min(255, v))
                elif name == "sobel":
                    gx = sum(g3[d + 1] * (at(x + 1, y + d, k) - at(x - 1, y + d, k)) for d in (-1, 0, 1))
                    gy = sum(g3[d + 1] * (at(x + d, y + 1, k) - at(x + d, y - 1, k)) for d in (-1, 0, 1))
                    v = min(255, abs(gx) + abs(gy))
                elif name == "median3":
                    v = sorted(at(x + dx, y + dy, k) for dy in (-1, 0, 1) for dx in (-1, 0, 1))[4]
                else:
                    raise SystemExit("unknown filter " + name)
                out[i] = v
    return c, bytes(out)

def main(a):
    cmd = a[0]
    if cmd == "write-png":
        write_png(a[1], int(a[2]), int(a[3]), int(a[4]), a[5:])
    elif cmd == "info":
        w, h, c, _ = read(a[1]); print(w, h, c)
    elif cmd == "checksum":
        _, _, _, pix = read(a[1])
        padded = pix + bytes(-len(pix) % 8)
        s = sum(struct.unpack("<%dQ" % (len(padded) // 8), padded)) & M64
        print("0x%016x 0x%016x" % (s, crc64_xz(pix)))
    elif cmd == "channel":
        _, _, c, pix = read(a[1]); print(pix[int(a[2])::c].hex())
    elif cmd == "reference":
        w, h, c, pix = read(a[1])
        for _ in range(int(a[3])):
            for name in a[2].split(","):
                c, pix = apply(name, w, h, c, pix)
        write_any(a[4], w, h, c, pix)
    elif cmd == "expect":
        # expect IN LIST ITER OUT: "SUM CRC64" of OUT, then one line per thing that differs
        # from the filters applied here to IN (size, alpha, the first differing sample)
        w, h, c0, pix0 = read(a[1])
        c, pix = c0, pix0
        for _ in range(int(a[3])):
            for name in a[2].split(","):
                c, pix = apply(name, w, h, c, pix)
        ow, oh, oc, out = read(a[4])
        padded = out + bytes(-len(out) % 8)
        s = sum(struct.unpack("<%dQ" % (len(padded) // 8), padded)) & M64
        print("0x%016x 0x%016x" % (s, crc64_xz(out)))
        if (ow, oh, oc) != (w, h, c):
            print("output is %dx%dx%d, want %dx%dx%d" % (ow, oh, oc, w, h, c)); return
        if c0 in (2, 4) and out[oc - 1::oc] != pix0[c0 - 1::c0]:
            print("alpha changed")
        for i, (u, v) in enumerate(zip(out, pix)):
            if u != v:
                print("first difference at pixel (%d,%d) channel %d: %d, want %d"
                      % (i // c % w, i // c // w, i % c, u, v)); break
    elif cmd == "patch-png":
        # patch-png IN OUT idat|width0: flip bytes in the middle of the image data, or set
        # the width to 0, and write the chunk CRCs anew (so that only zlib or the header is wrong)
        data, pos, out = open(a[1], "rb").read(), 8, b"\x89PNG\r\n\x1a\n"
        while pos < len(data):
            n, typ = struct.unpack(">I4s", data[pos:pos + 8])
            body = bytearray(data[pos + 8:pos + 8 + n])
            if typ == b"IDAT" and a[3] == "idat":
                for j in range(n // 2, min(n, n // 2 + 8)): body[j] ^= 0x5A
            if typ == b"IHDR" and a[3] == "width0":
                body[0:4] = b"\0\0\0\0"
            out += chunk(typ, bytes(body))
            pos += 12 + n
        open(a[2], "wb").write(out)
    elif cmd == "same":
        x, y = read(a[1]), read(a[2])
        if x[:3] != y[:3]:
            raise SystemExit("sizes differ: %r %r" % (x[:3], y[:3]))
        for i, (u, v) in enumerate(zip(x[3], y[3])):
            if u != v:
                c = x[2]
                raise SystemExit("first difference at pixel (%d,%d) channel %d: %d != %d"
                                 % (i // c % x[0], i // c // x[0], i % c, u, v))
    else:
        raise SystemExit("image_py: unknown command " + cmd)

main(sys.argv[1:])
'

# check_names NAME 'WORD|WORD...' FILE: FILE (a one-line message) names every word.
check_names() {
    local name=$1 must=$2 file=$3 word words
    IFS='|' read -r -a words <<<"$must"
    for word in "${words[@]}"; do
        CHECKS=$((CHECKS + 1))
        if ! grep -q -F -e "$word" "$file"; then
            fail "$name: stderr does not name '$word'"
            show "$file"
        fi
    done
}

# check_bad_run NAME 'WORD|WORD...': the last run_tvp of tvp-$BE, on a bad command line or
# bad input, exited 2 with exactly one line on stderr, "tvp-$BE: ..." naming every word,
# printed nothing on stdout and left nothing in $T/out and no *.tmp.* under $T; with
# tvp-mpi (MPI_SPLIT=1, $NP ranks) every other rank exited 2 too, without a word.
check_bad_run() {
    local name=$1 must=$2 r
    [ "${TVP_TEST_VERBOSE:-0}" = 1 ] && echo "$name -> $(head -c 300 "$T/stderr")" >&2
    check_eq "$name: exit status" "$RC" 2 || show "$T/stderr"
    check_eq "$name: lines on stderr" "$(wc -l <"$T/stderr")" 1 || show "$T/stderr"
    check "$name: stderr starts with 'tvp-$BE: '" grep -q "^tvp-$BE: " "$T/stderr" || show "$T/stderr"
    check_names "$name" "$must" "$T/stderr"
    check_eq "$name: stdout" "$(head -c 200 "$T/stdout")" ""
    check_eq "$name: files left in the --out/--record folder" "$(ls -A "$T/out")" ""
    check_eq "$name: temporary files left" "$(find "$T" -name '*.tmp.*' | head -n 3)" ""
    if [ "$BE" = mpi ]; then
        for ((r = 1; r < NP; r++)); do
            check_eq "$name: rank $r exit status" "$(cat "$T/rank.$r.rc" 2>/dev/null)" 2
            check_eq "$name: rank $r stderr (only rank 0 prints)" "$(cat "$T/rank.$r.err" 2>/dev/null)" ""
        done
    fi
}

# check_csv_run CFG ROWS: the last run_tvp exited 0 and printed the CSV header and ROWS
# rows; returns 1 (after showing stderr) when it did not exit 0.
check_csv_run() {
    local cfg=$1 rows=$2
    if ! check_eq "$cfg: exit status" "$RC" 0; then
        show "$T/stderr"
        return 1
    fi
    check_eq "$cfg: CSV header" "$(head -n 1 "$T/stdout")" "$CSV_HEADER"
    check_eq "$cfg: rows" "$(csv_rows "$T/stdout")" "$rows"
}
