#!/usr/bin/env bash
# Bad input for the labelencode workload, one backend: each case must exit 2 with exactly
# one line on stderr ("tvp-BACKEND: ...") that names the file or argument and, for a bad
# file, the line ("FILE:LINE: ..."), print nothing on stdout, and leave no --out CSV, no
# --classes-out file, no --record file and no *.tmp.* behind.
#
# The files: an unterminated quote, a row with more or fewer fields than the header (late
# in the file, so that with several workers it is in a later part, and after a quoted
# field holding newlines, so that the line number counts them), text after a closing
# quote, a duplicated header name, an empty file (and one of only a BOM and blank lines),
# a missing file and a folder; classes files that are malformed, name a column the table
# lacks or lack one it encodes; an unseen label (the message names the column, the label
# and the line) and, with --inverse, a code out of range and a code that is no number.
# The options: an unknown --columns name, --inverse without --classes-in, --rows with --in,
# --n, --columns-count 0, --skew -1, --delimiter '"', the labelencode options with squares,
# --out and --classes-out into a missing folder.  When two parts hold errors, the message
# is the first one in the file, whatever the worker count.
#
# tvp-mpi runs under mpirun -np 2 with each rank's stderr and exit status kept apart;
# every rank must exit 2, and only rank 0 may print.
#
# usage: lencbad.sh BIN_DIR BACKEND
. "$(dirname "$0")/lib.sh"

BE=$BACKEND
[ -n "$BE" ] || { echo "usage: $0 BIN_DIR BACKEND" >&2; exit 2; }
NP=2
[ "$BE" = serial ] && NP=1
[ "$BE" = mpi ] && export MPI_SPLIT=1
[ -n "${TVP_TEST_TIMEOUT:-}" ] || TIMEOUT=20
IN=$T/in
mkdir -p "$IN" "$T/out" "$T/a folder"
REC=$T/out/record.csv
OUT=$T/out/out.csv
CLS=$T/out/classes.json

# lbad CASE-NAME "WORDS STDERR MUST CONTAIN (|-separated)" ARGS...
lbad() {
    local name="$BE: $1" must=$2
    shift 2
    rm -rf "$T/out" && mkdir "$T/out"
    local args=("$@") extra=(--format csv --record "$REC")
    if [ "${args[0]}" = labelencode ]; then
        case " $* " in *" --out "*) ;; *) extra+=(--out "$OUT") ;; esac
        case " $* " in *" --classes-out "* | *" --inverse "* | *" --classes-in "*) ;; *) extra+=(--classes-out "$CLS") ;; esac
    fi
    [ "$BE" = serial ] || [ "$BE" = mpi ] || extra+=(--workers "$NP")
    run_tvp "$BE" "$NP" "$@" "${extra[@]}"
    check_bad_run "$name" "$must"
}

# ---- does this backend run labelencode at all? ---------------------------------------------
run_tvp "$BE" "$NP" labelencode --rows 10 --format csv --repeat 1 --warmup 0
if [ "$RC" -ne 0 ]; then
    fail "tvp-$BE does not run labelencode: exit $RC: $(head -c 200 "$T/stderr")"
    finish
fi

# ---- the files --------------------------------------------------------------------------------
good_rows() { for i in $(seq 1 "$1"); do printf 'c%d,s%d,m%d\n' $((i % 5)) $((i % 3)) $((i % 4)); done; }
{ printf 'a,b,c\n'; good_rows 50; printf 'x,"never closed,z\n'; good_rows 50; } >"$IN/unterminated.csv"
{ printf 'a,b,c\n'; good_rows 10; printf '"two\nlines",b,c\n'; good_rows 80; printf 'p,q\n'; good_rows 5; } >"$IN/fewer.csv"
{ printf 'a,b,c\n'; good_rows 90; printf 'p,q,r,s\n'; } >"$IN/more.csv"
{ printf 'a,b,c\n'; good_rows 20; printf '"x"y,b,c\n'; good_rows 20; } >"$IN/after-quote.csv"
printf 'a,b,a\n1,2,3\n' >"$IN/dup.csv"
: >"$IN/empty.csv"
printf '\xef\xbb\xbf\n\r\n\n' >"$IN/blank.csv"
printf 'colors,sizes\nred,small\ngreen,medium\nblue,large\n' >"$IN/small.csv"
printf '{"colors": ["blue", "green", "red"], "sizes": ["large", "medium", "small"]}\n' >"$IN/small.json"
printf '{"colors": ["blue", "green", "red"], "sizes": ["large", "medium"' >"$IN/cut.json"
printf '{"colors": ["red", "blue"], "sizes": ["large", "medium", "small"]}\n' >"$IN/unsorted.json"
printf '{"colors": ["blue", "green", "red"]}\n' >"$IN/one.json"
printf '{"colors": ["blue", "green", "red"], "sizes": ["large", "medium", "small"], "weight": ["1"]}\n' >"$IN/extra.json"
{ printf 'colors,sizes\n'; for i in $(seq 1 60); do printf 'red,small\n'; done; printf 'purple,small\n'; printf 'red,huge\n'; } >"$IN/unseen.csv"
{ printf 'colors,sizes\n'; for i in $(seq 1 60); do printf '2,1\n'; done; printf '1,3\n'; } >"$IN/range.csv"
{ printf 'colors,sizes\n'; for i in $(seq 1 60); do printf '0,0\n'; done; printf 'x1,0\n'; } >"$IN/notnum.csv"
# errors in two parts: the first in the file wins, whatever the split
{ printf 'a,b,c\n'; good_rows 3; printf 'one,two\n'; good_rows 200; printf 'q,"open\n'; } >"$IN/two-errors.csv"

lbad "unterminated quote" "$IN/unterminated.csv:52|unterminated" labelencode --in "$IN/unterminated.csv"
lbad "fewer fields than the header, after a quoted newline" "$IN/fewer.csv:94|2 fields|header has 3" \
    labelencode --in "$IN/fewer.csv"
lbad "more fields than the header" "$IN/more.csv:92|4 fields|header has 3" labelencode --in "$IN/more.csv"
lbad "text after a closing quote" "$IN/after-quote.csv:22" labelencode --in "$IN/after-quote.csv"
lbad "duplicated header name" "$IN/dup.csv:1|duplicate|\"a\"" labelencode --in "$IN/dup.csv"
lbad "empty file" "$IN/empty.csv:1|empty" labelencode --in "$IN/empty.csv"
lbad "only a BOM and blank lines" "$IN/blank.csv|empty" labelencode --in "$IN/blank.csv"
lbad "missing file" "$IN/missing.csv|cannot open" labelencode --in "$IN/missing.csv"
lbad "--in a folder" "$T/a folder|directory" labelencode --in "$T/a folder"
lbad "the first error in the file wins" "$IN/two-errors.csv:5|2 fields" labelencode --in "$IN/two-errors.csv"
lbad "unknown --columns name" "--columns|\"weight\"|$IN/small.csv" labelencode --in "$IN/small.csv" --columns colors,weight
lbad "classes file cut short" "$IN/cut.json:1" labelencode --in "$IN/small.csv" --classes-in "$IN/cut.json"
lbad "classes file not sorted" "$IN/unsorted.json|\"colors\"|sorted" labelencode --in "$IN/small.csv" --classes-in "$IN/unsorted.json"
lbad "classes file lacks an encoded column" "$IN/one.json|\"sizes\"" labelencode --in "$IN/small.csv" \
    --classes-in "$IN/one.json" --columns colors,sizes
lbad "classes file names a column the table lacks" "$IN/extra.json|\"weight\"|$IN/small.csv" \
    labelencode --in "$IN/small.csv" --classes-in "$IN/extra.json"
lbad "classes file missing" "$IN/nothing.json|cannot open" labelencode --in "$IN/small.csv" --classes-in "$IN/nothing.json"
lbad "unseen label" "$IN/unseen.csv:62|\"colors\"|\"purple\"|unseen" labelencode --in "$IN/unseen.csv" --classes-in "$IN/small.json"
lbad "code out of range" "$IN/range.csv:62|\"sizes\"|\"3\"" labelencode --in "$IN/range.csv" --classes-in "$IN/small.json" --inverse
lbad "code that is no number" "$IN/notnum.csv:62|\"colors\"|\"x1\"" labelencode --in "$IN/notnum.csv" --classes-in "$IN/small.json" --inverse

lbad "--inverse without --classes-in" "--inverse|--classes-in" labelencode --in "$IN/small.csv" --inverse
lbad "--rows with --in" "--rows" labelencode --in "$IN/small.csv" --rows 10
lbad "--n with labelencode" "--n" labelencode --n 10
lbad "--columns-count 0" "--columns-count|'0'" labelencode --columns-count 0
lbad "--skew -1" "--skew|'-1'" labelencode --skew -1
lbad "--delimiter '\"'" "--delimiter" labelencode --delimiter '"'
lbad "--columns with squares" "--columns|labelencode" squares --n 100 --columns a
lbad "--out into a missing folder" "--out|$T/nowhere/x.csv" labelencode --in "$IN/small.csv" --out "$T/nowhere/x.csv"
lbad "--classes-out into a missing folder" "--classes-out|$T/nowhere/c.json" labelencode --in "$IN/small.csv" \
    --classes-out "$T/nowhere/c.json"

finish
