#!/usr/bin/env bash
# Runs every program in examples/ (built into BIN_DIR) and checks its exit status and its
# output: the lines in order where the program fixes the order, sorted where the workers
# print in whatever order they run.  MPI ones run under mpirun -np 2 and 4 (with
# --allow-run-as-root when root, as lib.sh's MPIRUN does).  Every examples/*.c must have
# been run here, so that a new example cannot go untested.
#
# usage: examples.sh BIN_DIR     (BIN_DIR: the build folder's examples/)
. "$(dirname "$0")/lib.sh" "$1"

SRC=$(cd "$HERE/../examples" && pwd)
RAN=" "

# expect NAME NP ORDER WANT: runs BIN_DIR/NAME (under mpirun -np NP when NP is not -),
# then its exit status must be 0 and its stdout WANT (ORDER sorted: compared sorted); a
# program without MPI must print nothing on stderr.
expect() {
    local name=$1 np=$2 order=$3 want=$4 got
    RAN="$RAN$name "
    LAST_CMD=""
    if [ ! -x "$TVP_BIN/$name" ]; then
        fail "$name: $TVP_BIN/$name is missing"
        return
    fi
    if [ "$np" = - ]; then
        LAST_CMD="$name"
        timeout -k 5 "$TIMEOUT" "$TVP_BIN/$name" >"$T/out" 2>"$T/err"
    else
        LAST_CMD="mpirun -np $np $name"
        timeout -k 5 "$TIMEOUT" "${MPIRUN[@]}" -np "$np" "$TVP_BIN/$name" >"$T/out" 2>"$T/err"
    fi
    local rc=$?
    check_eq "$name${np#-}: exit status" "$rc" 0 || show "$T/err"
    if [ "$order" = sorted ]; then
        got=$(sort "$T/out")
        want=$(printf '%s\n' "$want" | sort)
    else
        got=$(cat "$T/out")
    fi
    check_eq "$name${np#-}: output" "$got" "$want"
    if [ "$np" = - ]; then
        check_eq "$name: stderr" "$(cat "$T/err")" ""
    fi
}

SQUARES="[0, 1, 4, 9, 16, 25, 36, 49, 64, 81, 100, 121]"
PRINT4="worker 0
worker 1
worker 2
worker 3"

# Process(...).start(); .join()
expect start_join_posix - ordered "hello bob from the worker process
exit code 0"
expect start_join_openmp - ordered "hello bob from a thread of the team
joined: done = 1"
expect start_join_mpi 2 sorted "hello bob from rank 1
exit code 0"

# Pool.map(square, range(12))
expect map_squares_posix - ordered "$SQUARES"
expect map_squares_openmp - ordered "$SQUARES"
expect map_squares_mpi 2 ordered "$SQUARES"
expect map_squares_mpi 4 ordered "$SQUARES"

# apply_async / get(timeout)
expect async_posix - ordered "[0, 1, 4, 9, 16]
not ready after 0.1 s
400"
expect async_openmp - ordered "[0, 1, 4, 9, 16]"
expect async_mpi 2 ordered "[100]"
expect async_mpi 4 ordered "[100, 400, 900]"

# four workers, each printing its number
expect print4_posix - sorted "$PRINT4"
expect print4_openmp - sorted "$PRINT4"
expect print4_mpi 4 sorted "$PRINT4"

# every example was run
for c in "$SRC"/*.c; do
    name=$(basename "$c" .c)
    case "$RAN" in
    *" $name "*) ;;
    *) fail "examples/$name.c is not run by tests/examples.sh" ;;
    esac
done
finish
