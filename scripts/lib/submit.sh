# scripts/lib/submit.sh: `scripts/tvp submit` and `scripts/tvp collect` (sourced by scripts/tvp;
# it uses compare's option parsing, configuration list and helpers from there).
#
# submit: compare's sweep as Slurm batch jobs, one per (backend, workers) group, so that each
# job asks for exactly what its model needs:
#   mpi                 --ntasks=W --cpus-per-task=1 (ranks started by srun --mpi=pmix, or by
#                       mpirun inside the allocation when srun cannot start tvp-mpi there)
#   openmp              --ntasks=1 --cpus-per-task=W, OMP_NUM_THREADS=$SLURM_CPUS_PER_TASK,
#                       OMP_PLACES=cores, OMP_PROC_BIND=close (unless this tvp-openmp then sees
#                       a single core: checked in the job, see run_group)
#   posix, python-mp    --ntasks=1 --cpus-per-task=W (serial: W is 1)
# (--array: one job array per distinct request instead).  Each job runs its configurations
# through `scripts/tvp compare --resume --out DIR/parts/GROUP`, so every row is appended as
# its configuration ends, a failed configuration gets its status row, and a requeued or
# resubmitted job runs only what has no ok row.  A last job (afterok on every sweep job) runs
# `scripts/tvp collect DIR` and `scripts/tvp report DIR`.  Unless --no-probes, one more job
# (--ntasks=1 --cpus-per-task=2: the probes use 2 workers) runs scripts/lib/probes.sh into
# DIR/parts/probes, tvp-mpi's probes under mpirun inside that allocation (skipped with a note
# in probes.log where it cannot start there); the report job waits for it too, and collect
# copies its probes.csv and probes.log to DIR.  --resume submits it again only when
# DIR/parts/probes/probes.csv is missing.
#
# DIR/ (default results/slurm-<host>-<UTC date-time>):
#   sweep.args, submit.args   the options (for --resume), one per line
#   configs.txt               every configuration of the sweep: KEY<tab>GROUP, in sweep order
#   jobs/GROUP.sbatch         the batch scripts (jobs/array-nTcC.sbatch with --array),
#   jobs/report.sbatch        jobs/mpirun-slurm.sh (compare's TVP_MPIRUN inside a job)
#   jobs/probes.sbatch        the probes job (unless --no-probes)
#   jobs/jobs.txt             JOBID<tab>NAME<tab>SCRIPT<tab>UTC, one line per submitted job
#   logs/                     Slurm's output of every job (%x-%j.out), report.log
#   parts/GROUP/              compare's folder of one group: results.csv, env.json, log.txt,
#                             job.log (each job's start and end, written by the job itself)
#   results.csv, env.json ..  after collect: the merged sweep, as compare would have written it

# ---- options ---------------------------------------------------------------------------------

submit_defaults() {
    S_PARTITION="" S_ACCOUNT="" S_TIME="" S_NODES="" S_QOS="" S_CONSTRAINT="" S_ARRAY=0 S_PROBES=1
    S_EXTRA=()
}

# submit_split ARGS...: submit's own options into S_*, compare's (and everything after --)
# into CARGS.  --sbatch-arg values given here replace earlier ones (--resume: the saved).
submit_split() {
    CARGS=()
    local extra=() opt val has
    while [ $# -gt 0 ]; do
        opt=$1 val="" has=0
        case "$opt" in
        --) CARGS+=("$@"); break ;;
        --*=*) val=${opt#*=}; opt=${opt%%=*}; has=1 ;;
        esac
        case "$opt" in
        --partition | --account | --time | --nodes | --qos | --constraint | --sbatch-arg)
            if [ $has -eq 0 ]; then
                [ $# -ge 2 ] || die "submit: $opt needs a value"
                val=$2
                shift
            fi
            [ -n "$val" ] || die "submit: $opt needs a value"
            [[ $val != *[$'\n\r']* ]] || die "submit: $opt holds a newline"
            case "$opt" in
            --partition) S_PARTITION=$val ;;
            --account) S_ACCOUNT=$val ;;
            --time) S_TIME=$val ;;
            --nodes) [[ $val =~ ^[1-9][0-9]*(-[1-9][0-9]*)?$ ]] || die "submit: --nodes '$val' is not N or MIN-MAX"; S_NODES=$val ;;
            --qos) S_QOS=$val ;;
            --constraint) S_CONSTRAINT=$val ;;
            --sbatch-arg)
                [[ $val == -* ]] || die "submit: --sbatch-arg '$val' is not an sbatch option (e.g. --sbatch-arg=--exclusive, --sbatch-arg=--mem=8G)"
                extra+=("$val")
                ;;
            esac
            ;;
        --array) S_ARRAY=1 ;;
        --no-array) S_ARRAY=0 ;;
        --probes) S_PROBES=1 ;;
        --no-probes) S_PROBES=0 ;; # (kept in submit.args, so --resume keeps it)
        --probe | --probe=*) die "submit: --probe fault runs on one machine: scripts/tvp compare --probe fault" ;;
        -h | --help) usage; exit 0 ;;
        *) CARGS+=("$1") ;;
        esac
        shift
    done
    [ ${#extra[@]} -eq 0 ] || S_EXTRA=("${extra[@]}")
}

# submit's own options, one per line, as saved in DIR/submit.args
submit_saved_args() {
    [ -z "$S_PARTITION" ] || printf '%s\n' --partition "$S_PARTITION"
    [ -z "$S_ACCOUNT" ] || printf '%s\n' --account "$S_ACCOUNT"
    [ -z "$S_TIME" ] || printf '%s\n' --time "$S_TIME"
    [ -z "$S_NODES" ] || printf '%s\n' --nodes "$S_NODES"
    [ -z "$S_QOS" ] || printf '%s\n' --qos "$S_QOS"
    [ -z "$S_CONSTRAINT" ] || printf '%s\n' --constraint "$S_CONSTRAINT"
    [ "$S_ARRAY" = 0 ] || printf '%s\n' --array
    [ "$S_PROBES" = 1 ] || printf '%s\n' --no-probes
    local a
    for a in ${S_EXTRA[@]+"${S_EXTRA[@]}"}; do printf '%s\n' --sbatch-arg "$a"; done
}

# --workers auto on a cluster: from the CPUs of the partition's nodes (the smallest), when
# sinfo answers; else this machine's
submit_auto_workers() {
    local p="" w=1 list=""
    if command -v sinfo >/dev/null 2>&1; then
        p=$(timeout 15 sinfo -h -o '%c' ${S_PARTITION:+-p "$S_PARTITION"} 2>/dev/null |
            tr -c '0-9\n' '\n' | awk '$1 > 0 && (m == "" || $1 + 0 < m) { m = $1 + 0 } END { print m }') || p=""
    fi
    [[ $p =~ ^[1-9][0-9]*$ ]] || p=$(nproc)
    while [ "$w" -lt "$p" ]; do list+="${list:+,}$w"; w=$((w * 2)); done
    echo "${list:+$list,}$p"
}

# ---- the batch scripts ---------------------------------------------------------------------

# group_request BACKEND W: what the group's job asks for, into R_NTASKS R_CPUS R_NODES
group_request() {
    if [ "$1" = mpi ]; then
        R_NTASKS=$2 R_CPUS=1 R_NODES=${S_NODES:-1}
    else
        R_NTASKS=1 R_CPUS=$2 R_NODES=1
    fi
}

# the #SBATCH lines every job has (partition, account, ...), after its own
sbatch_common_lines() {
    [ -z "$S_PARTITION" ] || printf '#SBATCH --partition=%s\n' "$S_PARTITION"
    [ -z "$S_ACCOUNT" ] || printf '#SBATCH --account=%s\n' "$S_ACCOUNT"
    [ -z "$S_TIME" ] || printf '#SBATCH --time=%s\n' "$S_TIME"
    [ -z "$S_QOS" ] || printf '#SBATCH --qos=%s\n' "$S_QOS"
    [ -z "$S_CONSTRAINT" ] || printf '#SBATCH --constraint=%s\n' "$S_CONSTRAINT"
    local a
    for a in ${S_EXTRA[@]+"${S_EXTRA[@]}"}; do printf '#SBATCH %s\n' "$a"; done
}

# the compare options of group J (backend and workers its own), one word each, shell-quoted
group_compare_words() {
    local j=$1 be=${G_BE[$1]} lines=() out="" a
    local keep_b=$CW_BACKENDS keep_w=$CW_WORKERS
    CW_BACKENDS=$be CW_WORKERS=${G_W[j]}
    mapfile -t lines < <(compare_saved_args)
    CW_BACKENDS=$keep_b CW_WORKERS=$keep_w
    for a in "${lines[@]}"; do out+=" $(printf '%q' "$a")"; done
    printf '%s' "${out# }"
}

# the body every sweep job shares: run_group GROUP BACKEND COMPARE-OPTIONS...
job_preamble() {
    cat <<EOF
set -u
# the executables built at submission (shared file system), no build in the job
export TVP_BUILD_DIR=$(printf '%q' "$BUILD") TVP_NO_BUILD=1
# compare's mpirun: srun --mpi=pmix, or mpirun inside the allocation (see the script)
export TVP_MPIRUN=$(printf '%q' "$OUTDIR/jobs/mpirun-slurm.sh") TVP_SLURM_REAL_MPIRUN=$(printf '%q' "${TVP_MPIRUN:-mpirun}")
tvp=$(printf '%q' "$SELF")
dir=$(printf '%q' "$OUTDIR")
bind=$(printf '%q' "$CW_BIND") # the sweep's --bind
EOF
    cat <<'EOF'
job=${SLURM_JOB_ID:-?}
[ -z "${SLURM_ARRAY_JOB_ID:-}" ] || job=${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID:-}
term=0
trap 'term=1' TERM # (compare itself stops on it, keeping every finished row)

# run_group GROUP BACKEND COMPARE-OPTIONS...: the group's configurations, through compare
run_group() {
    local group=$1 backend=$2 rc=0
    local part="$dir/parts/$group"
    shift 2
    mkdir -p "$part" || return 2
    note() { printf '%s job %s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$job" "$*" >>"$part/job.log"; }
    note "start on $(hostname -s): ${SLURM_NTASKS:-1} task(s) x ${SLURM_CPUS_PER_TASK:-1} cpu(s) on ${SLURM_JOB_NODELIST:-?}"
    case "$backend" in
    openmp)
        # OMP_PLACES=cores OMP_PROC_BIND=close, unless they make this tvp-openmp see a single
        # core: libgomp binds the initial thread to the first place before main(), and a tvp
        # that plans its pinning inside the process's binding then puts every thread there
        # (checked once, in a tiny run)
        export OMP_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1}
        unset OMP_PLACES OMP_PROC_BIND GOMP_CPU_AFFINITY
        local out
        if out=$(OMP_PLACES=cores OMP_PROC_BIND=close timeout 60 "$TVP_BUILD_DIR/tvp-openmp" squares --n 1000 \
            --repeat 1 --warmup 0 --workers "$OMP_NUM_THREADS" --bind "$bind" </dev/null 2>&1) &&
            ! grep -qi oversubscribed <<<"$out"; then
            export OMP_PLACES=cores OMP_PROC_BIND=close
            note "OMP_NUM_THREADS=$OMP_NUM_THREADS OMP_PLACES=cores OMP_PROC_BIND=close"
        else
            note "OMP_NUM_THREADS=$OMP_NUM_THREADS; OMP_PLACES, OMP_PROC_BIND left unset: with them tvp-openmp sees one core ($(grep -m 1 -i -e oversubscribed -e '^tvp' <<<"$out" || echo 'its check failed'))"
        fi
        ;;
    mpi)
        # once per job: can srun start tvp-mpi here (Slurm's pmix plugin and the MPI library
        # agreeing)?  Else mpirun inside the allocation.  TVP_SLURM_LAUNCH=srun|mpirun at
        # submission decides instead.
        if [ -z "${TVP_SLURM_LAUNCH:-}" ]; then
            if timeout 120 srun --mpi=pmix --cpu-bind=none --kill-on-bad-exit=1 --ntasks="${SLURM_NTASKS:-1}" \
                "$TVP_BUILD_DIR/tvp-mpi" squares --n 1000 --repeat 1 --warmup 0 --bind none \
                </dev/null >"$part/launcher.log" 2>&1; then
                TVP_SLURM_LAUNCH=srun
            else
                TVP_SLURM_LAUNCH=mpirun
            fi
        fi
        export TVP_SLURM_LAUNCH
        note "tvp-mpi started by $TVP_SLURM_LAUNCH"
        # ranks on several nodes: shared memory within a node, TCP between nodes (compare's
        # default, btl self,vader, would leave the nodes unable to reach each other)
        if [ "${SLURM_JOB_NUM_NODES:-1}" -gt 1 ]; then
            export TVP_MPI_BTL=self,vader,tcp
            note "$SLURM_JOB_NUM_NODES nodes: TVP_MPI_BTL=$TVP_MPI_BTL"
        fi
        ;;
    esac
    "$tvp" compare --out "$part" --resume --no-report --no-probes "$@" || rc=$?
    note "end: scripts/tvp compare exit $rc$([ "$term" = 0 ] || echo ' (SIGTERM: time limit or scancel)')"
    # exit 1: a configuration did not end ok; its status row says how, collect lists it, and
    # the report job still runs (it exits 1 then)
    [ "$rc" -ne 1 ] || rc=0
    return "$rc"
}
EOF
}

# group_script J: the batch script of group J
group_script() {
    local j=$1 name=${G_NAME[$1]}
    group_request "${G_BE[j]}" "${G_W[j]}"
    printf '#!/bin/bash\n'
    printf '#SBATCH --job-name=tvp-%s\n' "$name"
    printf '#SBATCH --nodes=%s\n#SBATCH --ntasks=%s\n#SBATCH --cpus-per-task=%s\n' "$R_NODES" "$R_NTASKS" "$R_CPUS"
    printf '#SBATCH --output=%s/logs/%%x-%%j.out\n' "$OUTDIR"
    sbatch_common_lines
    printf '# scripts/tvp submit: %s at %s worker(s), %s configuration(s):\n' "${G_BE[j]}" "${G_W[j]}" "${G_N[j]}"
    printf '%s' "${G_KEYS[j]}" | sed 's/^/#   /'
    job_preamble
    printf 'run_group %s %s %s\n' "$name" "${G_BE[j]}" "$(group_compare_words "$j")"
    printf 'exit $?\n'
}

# array_script SHAPE J...: one job array over the groups J... (same request)
array_script() {
    local shape=$1 j t=0
    shift
    group_request "${G_BE[$1]}" "${G_W[$1]}"
    printf '#!/bin/bash\n'
    printf '#SBATCH --job-name=tvp-array-%s\n' "$shape"
    printf '#SBATCH --array=0-%d\n' $(($# - 1))
    printf '#SBATCH --nodes=%s\n#SBATCH --ntasks=%s\n#SBATCH --cpus-per-task=%s\n' "$R_NODES" "$R_NTASKS" "$R_CPUS"
    printf '#SBATCH --output=%s/logs/%%x-%%A_%%a.out\n' "$OUTDIR"
    sbatch_common_lines
    printf '# scripts/tvp submit: a job array, one task per group:\n'
    for j in "$@"; do
        printf '#   %d: %s at %s worker(s), %s configuration(s)\n' "$t" "${G_BE[j]}" "${G_W[j]}" "${G_N[j]}"
        t=$((t + 1))
    done
    job_preamble
    # shellcheck disable=SC2016 # (the script's own expansions)
    printf 'case "${SLURM_ARRAY_TASK_ID:-}" in\n'
    t=0
    for j in "$@"; do
        printf '%d) run_group %s %s %s ;;\n' "$t" "${G_NAME[j]}" "${G_BE[j]}" "$(group_compare_words "$j")"
        t=$((t + 1))
    done
    # shellcheck disable=SC2016
    printf '*) echo "tvp: no array task ${SLURM_ARRAY_TASK_ID:-}" >&2; exit 2 ;;\nesac\n'
    printf 'exit $?\n'
}

report_script() {
    printf '#!/bin/bash\n'
    printf '#SBATCH --job-name=tvp-report\n'
    printf '#SBATCH --nodes=1\n#SBATCH --ntasks=1\n#SBATCH --cpus-per-task=1\n'
    printf '#SBATCH --output=%s/logs/%%x-%%j.out\n' "$OUTDIR"
    sbatch_common_lines
    printf '# scripts/tvp submit: after every sweep job ended ok (afterok), merges DIR/parts/*\n'
    printf '# into DIR/results.csv (scripts/tvp collect) and writes DIR/report.md (scripts/tvp report)\n'
    printf 'set -u\ntvp=%q\ndir=%q\n' "$SELF" "$OUTDIR"
    cat <<'EOF'
note() { printf '%s job %s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${SLURM_JOB_ID:-?}" "$*" >>"$dir/logs/report.log"; }
note "start on $(hostname -s)"
rc=0 rr=0
"$tvp" collect "$dir" || rc=$?
[ "$rc" -gt 1 ] || "$tvp" report "$dir" || rr=$?
note "end: collect exit $rc, report exit $rr"
[ "$rr" -eq 0 ] || exit "$rr"
exit "$rc"
EOF
}

# the probes job: scripts/lib/probes.sh into DIR/parts/probes, on one task of 2 cpus (the
# probes run 2 workers); tvp-mpi's under mpirun (compare's launcher options) inside the
# allocation, through jobs/mpirun-slurm.sh; probes.sh skips them, with a note in probes.log,
# where they cannot start there
probes_script() {
    local MPIRUN=()
    TVP_MPIRUN="$OUTDIR/jobs/mpirun-slurm.sh" setup_mpirun
    printf '#!/bin/bash\n'
    printf '#SBATCH --job-name=tvp-probes\n'
    printf '#SBATCH --nodes=1\n#SBATCH --ntasks=1\n#SBATCH --cpus-per-task=2\n'
    printf '#SBATCH --output=%s/logs/%%x-%%j.out\n' "$OUTDIR"
    sbatch_common_lines
    printf '# scripts/tvp submit: the probes (spawn, ipc, switch, memory of tvp-openmp, tvp-posix,\n'
    printf '# tvp-mpi) into DIR/parts/probes/probes.csv; collect copies it to DIR\n'
    printf 'set -u\n'
    # always mpirun, whatever TVP_SLURM_LAUNCH says for the sweep's jobs: the probes start 2
    # ranks in this 1-task allocation, which srun would refuse and mpirun --oversubscribe does
    printf 'export TVP_SLURM_REAL_MPIRUN=%q TVP_SLURM_LAUNCH=mpirun\n' "${TVP_MPIRUN:-mpirun}"
    printf 'probes=%q\nbuild=%q\npart=%q\nmpirun=%q\n' "$LIB/probes.sh" "$BUILD" "$OUTDIR/parts/probes" "${MPIRUN[*]}"
    cat <<'EOF'
mkdir -p "$part" || exit 2
note() { printf '%s job %s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${SLURM_JOB_ID:-?}" "$*" >>"$part/job.log"; }
note "start on $(hostname -s): ${SLURM_NTASKS:-1} task(s) x ${SLURM_CPUS_PER_TASK:-1} cpu(s) on ${SLURM_JOB_NODELIST:-?}"
rc=0
bash "$probes" "$build" "$part" --mpirun "$mpirun" || rc=$?
note "end: probes.sh exit $rc"
# exit 1: some probe failed (probes.log says which); the others' rows are kept, the report runs
[ "$rc" -ne 1 ] || rc=0
exit "$rc"
EOF
}

# compare's TVP_MPIRUN inside a job: compare calls it as mpirun
mpirun_wrapper() {
    cat <<'EOF'
#!/bin/bash
# compare's mpirun inside a Slurm job (written by scripts/tvp submit).  compare runs
#   THIS --oversubscribe --bind-to none --mca pml ob1 --mca btl self,vader [...] -np W tvp-mpi ...
# With TVP_SLURM_LAUNCH=srun (the job found that srun starts tvp-mpi) the ranks are started
# by srun --mpi=pmix --cpu-bind=none (tvp pins them itself, as under mpirun --bind-to none),
# each --mca NAME VALUE becoming OMPI_MCA_NAME=VALUE, so the record's transport is the same;
# otherwise (or for an option srun has no counterpart for) the real mpirun gets the command
# line unchanged, inside the allocation.
real=${TVP_SLURM_REAL_MPIRUN:-mpirun}
case "${1:-}" in --version | -V) exec "$real" "$@" ;; esac
[ "${TVP_SLURM_LAUNCH:-srun}" = srun ] || exec "$real" "$@"
all=("$@")
np=""
while [ $# -gt 0 ]; do
    case "$1" in
    --mca | -mca)
        [ $# -ge 3 ] && [[ $2 =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || exec "$real" "${all[@]}"
        export "OMPI_MCA_$2=$3"
        shift 3
        ;;
    -np | -n | --np) [ $# -ge 2 ] || exec "$real" "${all[@]}"; np=$2; shift 2 ;;
    --oversubscribe | --allow-run-as-root) shift ;;
    --bind-to) [ "${2:-}" = none ] || exec "$real" "${all[@]}"; shift 2 ;;
    -*) exec "$real" "${all[@]}" ;;
    *) break ;;
    esac
done
[ -n "$np" ] && [ $# -gt 0 ] || exec "$real" "${all[@]}"
exec srun --mpi=pmix --cpu-bind=none --kill-on-bad-exit=1 --ntasks="$np" "$@"
EOF
}

# submit_texts: the sweep scripts of the groups G_*, into names and texts (the caller's):
# one per group, or with --array one job array per distinct request
submit_texts() {
    names=() texts=()
    local j k sh
    if [ "$S_ARRAY" = 1 ]; then
        local shapes=() members=()
        local -A sidx=()
        for j in "${!G_NAME[@]}"; do
            group_request "${G_BE[j]}" "${G_W[j]}"
            sh="n${R_NTASKS}c${R_CPUS}"
            [ "$R_NODES" = 1 ] || sh+="N$R_NODES"
            if [ -z "${sidx[$sh]+x}" ]; then sidx[$sh]=${#shapes[@]}; shapes+=("$sh"); members+=(""); fi
            members[${sidx[$sh]}]+=" $j"
        done
        for k in "${!shapes[@]}"; do
            names+=("array-${shapes[k]}")
            # shellcheck disable=SC2086 # (the member list)
            texts+=("$(array_script "${shapes[k]}" ${members[k]})")
        done
    else
        for j in "${!G_NAME[@]}"; do
            names+=("${G_NAME[j]}")
            texts+=("$(group_script "$j")")
        done
    fi
    if [ "$PROBES_JOB" = 1 ]; then
        names+=(probes)
        texts+=("$(probes_script)")
    fi
}

# ---- submit ------------------------------------------------------------------------------------

# slurm_fail WHAT CODE MESSAGE: Slurm's own message, then exit CODE
slurm_fail() {
    {
        echo "tvp: submit: $1; Slurm says:"
        printf '%s\n' "$3" | sed 's/^/  /'
    } >&2
    exit "$2"
}

cmd_submit() {
    compare_defaults
    submit_defaults
    # shellcheck disable=SC2034 # (PROBES: parse_compare_options sets it; then --no-probes, kept in submit.args, decides)
    OUTDIR="" RESUME=0 DRY=0 NO_REPORT=0 PROBES=1
    local argv=("$@") given=()
    submit_split "$@"
    given=(${CARGS[@]+"${CARGS[@]}"})
    parse_compare_options ${given[@]+"${given[@]}"}
    [ -z "$CW_PROBE" ] || die "submit: --probe fault runs on one machine: scripts/tvp compare --probe fault"
    if [ "$RESUME" = 1 ]; then
        [ -n "$OUTDIR" ] || die "submit: --resume needs --out DIR (the folder of the submitted sweep)"
        [ -d "$OUTDIR/jobs" ] || die "submit: $OUTDIR was not made by scripts/tvp submit (it has no jobs/)"
        local out=$OUTDIR dry=$DRY nrep=$NO_REPORT saved=()
        if [ -f "$OUTDIR/sweep.args" ]; then
            # the saved options first, then the ones given now (the last of each wins)
            mapfile -t saved <"$OUTDIR/sweep.args"
            compare_defaults
            parse_compare_options "${saved[@]}"
            parse_compare_options ${given[@]+"${given[@]}"}
        fi
        if [ -f "$OUTDIR/submit.args" ]; then
            mapfile -t saved <"$OUTDIR/submit.args"
            submit_defaults
            submit_split ${saved[@]+"${saved[@]}"}
            submit_split "${argv[@]}"
        fi
        OUTDIR=$out RESUME=1 DRY=$dry NO_REPORT=$nrep
    fi
    PROBES=$S_PROBES
    local sbatch=${TVP_SBATCH:-sbatch}
    if [ "$DRY" = 0 ] && ! command -v "$sbatch" >/dev/null 2>&1; then
        {
            echo "tvp: submit: no Slurm here ($sbatch is not on the PATH): run it on the cluster's login node."
            echo "tvp: to see the batch scripts and the sbatch commands without submitting: scripts/tvp submit --dry-run ${argv[*]}"
        } >&2
        exit 2
    fi
    [ "$CW_WORKERS" != auto ] || CW_WORKERS=$(submit_auto_workers)
    [ -n "$OUTDIR" ] || OUTDIR="$REPO/results/slurm-$(host_name)-$(date -u +%Y%m%dT%H%M%SZ)"
    if [ "$RESUME" = 0 ] && { [ -e "$OUTDIR/jobs" ] || [ -e "$OUTDIR/results.csv" ]; }; then
        die "submit: $OUTDIR holds a sweep already: --resume continues it, or choose another --out"
    fi
    OUTDIR=$(realpath -m "$OUTDIR")

    make_configs
    local total=${#C_KEY[@]} i j k f
    [ "$total" -gt 0 ] || die "submit: no configurations (check --workloads and --backends)"
    # --resume: what has an ok row in some part already
    local -A done_=()
    local ndone=0
    if [ "$RESUME" = 1 ]; then
        for f in "$OUTDIR"/parts/*/results.csv; do
            [ -s "$f" ] || continue
            while IFS= read -r k; do done_[$k]=1; done < <(done_configs "$f")
        done
        for i in "${!C_KEY[@]}"; do [ -z "${done_[${C_KEY[i]}]:-}" ] || ndone=$((ndone + 1)); done
    fi

    # the groups (backend, workers) of what is to run, in sweep order
    G_NAME=() G_BE=() G_W=() G_KEYS=() G_N=()
    local -A gidx=()
    local g configs_txt=""
    for i in "${!C_KEY[@]}"; do
        g="${C_BE[i]}-w${C_W[i]}"
        configs_txt+="${C_KEY[i]}"$'\t'"$g"$'\n'
        [ -z "${done_[${C_KEY[i]}]:-}" ] || continue
        if [ -z "${gidx[$g]+x}" ]; then
            gidx[$g]=${#G_NAME[@]}
            G_NAME+=("$g") G_BE+=("${C_BE[i]}") G_W+=("${C_W[i]}") G_KEYS+=("") G_N+=(0)
        fi
        j=${gidx[$g]}
        G_KEYS[j]+="${C_KEY[i]}"$'\n'
        G_N[j]=$((G_N[j] + 1))
    done
    # the probes job: unless --no-probes; --resume: only when its probes.csv is missing
    PROBES_JOB=$PROBES
    [ "$RESUME" = 0 ] || [ ! -s "$OUTDIR/parts/probes/probes.csv" ] || PROBES_JOB=0
    if [ ${#G_NAME[@]} -eq 0 ] && [ "$PROBES_JOB" = 0 ]; then
        echo "submit: every one of the $total configurations has an ok row in $OUTDIR/parts: nothing to submit"
        echo "  scripts/tvp collect $OUTDIR && scripts/tvp report $OUTDIR"
        return 0
    fi

    # jobs still queued or running from an earlier submission of this sweep
    if [ "$RESUME" = 1 ] && [ "$DRY" = 0 ] && [ -s "$OUTDIR/jobs/jobs.txt" ] && command -v squeue >/dev/null 2>&1; then
        local -A ours=()
        local id rest a b
        while IFS=$'\t' read -r id rest; do [ -z "$id" ] || ours[$id]=1; done <"$OUTDIR/jobs/jobs.txt"
        local busy=""
        while read -r a b rest; do
            [ -z "${ours[$a]:-}" ] && [ -z "${ours[$b]:-}" ] || busy+="  $a $rest"$'\n'
        done < <(squeue -h -o '%A %F %j %T' 2>/dev/null || true)
        [ -z "$busy" ] || die "submit: jobs of this sweep are still in the queue; wait for them (or scancel them), then --resume:"$'\n'"$busy"
    fi

    local names=() texts=()
    submit_texts
    local report_text=""
    [ "$NO_REPORT" = 1 ] || report_text=$(report_script)

    if [ "$DRY" = 1 ]; then
        for k in "${!names[@]}"; do
            printf '==> %s/jobs/%s.sbatch\n%s\n\n' "$OUTDIR" "${names[k]}" "${texts[k]}"
        done
        [ "$NO_REPORT" = 1 ] || printf '==> %s/jobs/report.sbatch\n%s\n\n' "$OUTDIR" "$report_text"
        printf '==> %s/jobs/mpirun-slurm.sh\n%s\n\n' "$OUTDIR" "$(mpirun_wrapper)"
        echo "sbatch commands:"
        local deps=""
        for k in "${!names[@]}"; do
            printf '  %s --parsable %s/jobs/%s.sbatch       # -> JOB%d\n' "$sbatch" "$OUTDIR" "${names[k]}" $((k + 1))
            deps+=":\$JOB$((k + 1))"
        done
        [ "$NO_REPORT" = 1 ] || printf '  %s --parsable --dependency=afterok%s %s/jobs/report.sbatch\n' "$sbatch" "$deps" "$OUTDIR"
        echo "$total configurations, $((total - ndone)) to run in ${#G_NAME[@]} group(s), $((${#names[@]} - PROBES_JOB)) job(s)$([ "$PROBES_JOB" = 0 ] || echo ' + the probes job')$([ "$NO_REPORT" = 1 ] || echo ' + the report job') (dry run: nothing was written or submitted)"
        return 0
    fi

    cmd_build >&2
    [ -x "$BUILD/tvp-serial" ] || die "submit: $BUILD has no tvp-serial"
    BUILD=$(cd "$BUILD" && pwd)
    submit_texts # (they name the build folder, known for sure now)
    [ "$NO_REPORT" = 1 ] || report_text=$(report_script)

    local made=0
    [ -d "$OUTDIR" ] || made=1
    mkdir -p "$OUTDIR/jobs" "$OUTDIR/logs" "$OUTDIR/parts"
    for k in "${!names[@]}"; do printf '%s\n' "${texts[k]}" >"$OUTDIR/jobs/${names[k]}.sbatch"; done
    [ "$NO_REPORT" = 1 ] || printf '%s\n' "$report_text" >"$OUTDIR/jobs/report.sbatch"
    mpirun_wrapper >"$OUTDIR/jobs/mpirun-slurm.sh"
    chmod +x "$OUTDIR/jobs/mpirun-slurm.sh"

    # Slurm's verdict before anything is queued: an unknown partition or account, more CPUs
    # than a node has, a bad --time...  (nothing submitted: a folder made now is removed)
    local msg="" code=0 what=""
    if [ -n "$S_PARTITION" ] && command -v sinfo >/dev/null 2>&1 &&
        [ -z "$(timeout 30 sinfo -h -o '%P' -p "$S_PARTITION" 2>/dev/null)" ]; then
        msg=$("$sbatch" --test-only "$OUTDIR/jobs/${names[0]}.sbatch" 2>&1) || true
        code=2 what="no partition '$S_PARTITION' here (sinfo -s lists the partitions)"
    else
        for f in "${names[@]/#/$OUTDIR/jobs/}"; do
            msg=$("$sbatch" --test-only "$f.sbatch" 2>&1) && continue
            code=3 what="sbatch refuses ${f##*/}.sbatch (nothing was submitted)"
            break
        done
        if [ "$code" = 0 ] && [ "$NO_REPORT" = 0 ] && ! msg=$("$sbatch" --test-only "$OUTDIR/jobs/report.sbatch" 2>&1); then
            code=3 what="sbatch refuses report.sbatch (nothing was submitted)"
        fi
    fi
    if [ "$code" != 0 ]; then
        if [ "$RESUME" = 0 ]; then
            rm -rf "$OUTDIR/jobs" "$OUTDIR/logs" "$OUTDIR/parts"
            [ "$made" = 0 ] || rmdir "$OUTDIR" 2>/dev/null || true
        fi
        slurm_fail "$what" "$code" "${msg:-(no message)}"
    fi

    # the options and the configurations, for --resume and collect
    compare_saved_args >"$OUTDIR/sweep.args"
    submit_saved_args >"$OUTDIR/submit.args"
    printf '%s' "$configs_txt" >"$OUTDIR/configs.txt"

    local ids=() id deps=""
    for k in "${!names[@]}"; do
        f="$OUTDIR/jobs/${names[k]}.sbatch"
        if ! id=$("$sbatch" --parsable "$f" 2>"$OUTDIR/jobs/.sbatch.err"); then
            msg=$(cat "$OUTDIR/jobs/.sbatch.err")
            rm -f "$OUTDIR/jobs/.sbatch.err"
            if [ ${#ids[@]} -gt 0 ]; then
                scancel "${ids[@]}" 2>/dev/null || true
                msg+=$'\n'"(the jobs submitted before it were cancelled: ${ids[*]})"
            fi
            slurm_fail "sbatch refused ${f##*/}" 3 "$msg"
        fi
        id=${id%%;*}
        ids+=("$id")
        deps+=":$id"
        printf '%s\t%s\t%s\t%s\n' "$id" "${names[k]}" "jobs/${names[k]}.sbatch" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >>"$OUTDIR/jobs/jobs.txt"
        printf '%s %s\n' "$id" "${names[k]}"
    done
    local rid=""
    if [ "$NO_REPORT" = 0 ]; then
        f="$OUTDIR/jobs/report.sbatch"
        if ! rid=$("$sbatch" --parsable --dependency="afterok$deps" "$f" 2>"$OUTDIR/jobs/.sbatch.err"); then
            msg=$(cat "$OUTDIR/jobs/.sbatch.err")
            rm -f "$OUTDIR/jobs/.sbatch.err"
            msg+=$'\n'"(the sweep jobs ${ids[*]} stay queued: when they end, scripts/tvp collect $OUTDIR && scripts/tvp report $OUTDIR)"
            slurm_fail "sbatch refused the report job" 3 "$msg"
        fi
        rid=${rid%%;*}
        printf '%s\t%s\t%s\t%s\n' "$rid" report jobs/report.sbatch "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >>"$OUTDIR/jobs/jobs.txt"
        printf '%s %s\n' "$rid" report
    fi
    rm -f "$OUTDIR/jobs/.sbatch.err"
    local list
    list=$(IFS=,; echo "${ids[*]}${rid:+,$rid}")
    {
        echo "==> submit: ${#ids[@]} job(s) for $((total - ndone)) configuration(s)$([ "$ndone" -eq 0 ] || echo " ($ndone ok before)")${rid:+, then the report job $rid (afterok)} -> $OUTDIR"
        echo "  watch:    squeue -j $list     (rows arrive in $OUTDIR/parts/*/results.csv)"
        echo "  at the end: $OUTDIR/report.md; by hand: scripts/tvp collect $OUTDIR && scripts/tvp report $OUTDIR"
        echo "  a job failed or was cancelled: scripts/tvp submit --resume --out $OUTDIR"
    } >&2
}

# ---- collect -------------------------------------------------------------------------------------

cmd_collect() {
    [ $# -ge 1 ] || die "collect: which folder? (scripts/tvp collect DIR, DIR made by scripts/tvp submit)"
    case "$1" in -h | --help) usage; exit 0 ;; esac
    [ $# -eq 1 ] || die "collect: one folder expected"
    [ -d "$1" ] || die "collect: $1 is not a folder"
    [ -d "$1/parts" ] || die "collect: $1 has no parts/ (a folder made by scripts/tvp submit)"
    local rc=0
    "$PY" "$LIB/collect.py" "$1" || rc=$?
    [ "$rc" -le 1 ] || return "$rc"
    if [ -s "$1/results.csv" ]; then
        echo
        awk -f "$LIB/common.awk" -f "$LIB/table.awk" "$1/results.csv" | tee "$1/table.txt"
    fi
    return "$rc"
}
