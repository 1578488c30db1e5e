#!/usr/bin/env bash
# scripts/tvp submit and collect: compare's sweep as Slurm batch jobs.
#
# Without Slurm (always): --dry-run prints every batch script (what each model asks for,
# how it is launched) and the sbatch commands and writes nothing; no sbatch: exit 2 with a
# hint; collect on hand-made parts (latest ok attempt kept, failed and never-run
# configurations and an unfinished job listed, a part with another header left out).
#
# With Slurm (root only; TVP_NO_SLURM=1 skips it): installs slurmctld, slurmd and munge when
# missing (apt-get), starts a one-node cluster of this machine (munged, slurmctld, slurmd;
# state, spool, sockets and logs in the test's folder, free ports), then end to end, on tiny
# sizes: a sweep of serial, openmp, mpi (srun --mpi=pmix), posix and python-mp jobs with the
# report job (afterok); --resume of a configuration made to fail; job arrays with tvp-mpi
# under mpirun inside the allocation; Slurm's refusals (unknown partition, a request no node
# meets); a cancelled job (the report job is cancelled with it, --resume refused while it is
# queued); then (i) two nodes: a second slurmd in network and UTS namespaces of its own (a
# veth pair, hostname tvpnode2) and submit --nodes 2, one tvp-mpi rank on each node, TCP
# between them (skipped with a note where network namespaces cannot be made).  Job states
# come from Slurm's job completion log (jobcomp/filetxt: no accounting
# database here) and from each job's own job.log.  Every daemon it started is stopped by its
# pid on exit, failed or not.
#
# usage: slurm.sh BIN_DIR   (exit 77: the live part was skipped and everything else passed)
. "$(dirname "$0")/lib.sh" "$1"

REPO=$(cd "$HERE/.." && pwd)
TVP="$REPO/scripts/tvp"
export TVP_BUILD_DIR=$TVP_BIN TVP_NO_BUILD=1 TVP_NO_INSTALL=1
unset TVP_SLURM_LAUNCH OMP_PLACES OMP_PROC_BIND
LEAD="status,config,scaling,size"
SKIPPED=""

# rows_whole FILE: every row has as many fields as the header
rows_whole() { csv_get "$1" status >/dev/null; }

# tvp_run NAME ARGS...: scripts/tvp ARGS..., output to $T/NAME.out, status in RC
tvp_run() {
    local name=$1
    shift
    LAST_CMD="scripts/tvp $*"
    RC=0
    timeout -k 5 120 "$TVP" "$@" >"$T/$name.out" 2>&1 || RC=$?
}

# the #SBATCH value of OPTION in the script printed after "==> .../NAME.sbatch" in FILE
sbatch_opt() {
    awk -v name="/jobs/$2.sbatch" -v opt="#SBATCH --$3=" '
        /^==> / { on = (substr($2, length($2) - length(name) + 1) == name); next }
        on && index($0, opt) == 1 { print substr($0, length(opt) + 1); exit }' "$1"
}

# ---- (a) --dry-run: the scripts and the sbatch commands, nothing written -------------------------
tiny=(-- squares: --n 1000 filter: --width 64 --height 48 --iterations 1)
TVP_SBATCH=/nonexistent/sbatch tvp_run a submit --dry-run --workloads squares --backends serial,openmp,mpi,posix \
    --workers 1,2 --data local --repeat 2 --no-python --partition debug --account proj --time 0:10:00 \
    --sbatch-arg=--exclusive --out "$T/a" "${tiny[@]}"
check_eq "a: --dry-run exit status" "$RC" 0 || show "$T/a.out" 40
check "a: writes nothing" test ! -e "$T/a"
check_eq "a: one script per (backend, workers)" \
    "$(grep -o '^==> .*/jobs/[^/]*\.sbatch' "$T/a.out" | sed 's|.*/||' | tr '\n' ' ')" \
    "serial-w1.sbatch openmp-w1.sbatch openmp-w2.sbatch mpi-w1.sbatch mpi-w2.sbatch posix-w1.sbatch posix-w2.sbatch probes.sbatch report.sbatch "
check_eq "a: mpi-w2 asks for 2 tasks of 1 cpu" \
    "$(sbatch_opt "$T/a.out" mpi-w2 ntasks) $(sbatch_opt "$T/a.out" mpi-w2 cpus-per-task) $(sbatch_opt "$T/a.out" mpi-w2 nodes)" "2 1 1"
check_eq "a: openmp-w2 asks for 1 task of 2 cpus" \
    "$(sbatch_opt "$T/a.out" openmp-w2 ntasks) $(sbatch_opt "$T/a.out" openmp-w2 cpus-per-task)" "1 2"
check_eq "a: posix-w2 asks for 1 task of 2 cpus" \
    "$(sbatch_opt "$T/a.out" posix-w2 ntasks) $(sbatch_opt "$T/a.out" posix-w2 cpus-per-task)" "1 2"
check_eq "a: serial asks for 1 cpu" \
    "$(sbatch_opt "$T/a.out" serial-w1 ntasks) $(sbatch_opt "$T/a.out" serial-w1 cpus-per-task)" "1 1"
check_eq "a: the Slurm options in every job" \
    "$(grep -c -e '^#SBATCH --partition=debug$' "$T/a.out") $(grep -c '^#SBATCH --account=proj$' "$T/a.out") $(grep -c '^#SBATCH --time=0:10:00$' "$T/a.out") $(grep -c '^#SBATCH --exclusive$' "$T/a.out")" \
    "9 9 9 9"
check "a: openmp: OMP_NUM_THREADS from the allocation" grep -q 'OMP_NUM_THREADS=${SLURM_CPUS_PER_TASK' "$T/a.out"
check "a: openmp: OMP_PLACES=cores OMP_PROC_BIND=close" grep -q 'export OMP_PLACES=cores OMP_PROC_BIND=close' "$T/a.out"
check "a: mpi: srun --mpi=pmix" grep -q 'exec srun --mpi=pmix' "$T/a.out"
check "a: each job runs compare --resume into its part" \
    grep -q 'run_group mpi-w2 mpi --workloads squares --backends mpi --workers 2 ' "$T/a.out"
check "a: ... with the options after --" grep -q -- '-- squares: --n 1000 filter: --width 64' "$T/a.out"
check "a: the report job depends on every sweep job (afterok)" \
    grep -q -F 'dependency=afterok:$JOB1:$JOB2:$JOB3:$JOB4:$JOB5:$JOB6:$JOB7:$JOB8 ' "$T/a.out"
check "a: the count" grep -q '^7 configurations, 7 to run in 7 group(s), 7 job(s) + the probes job + the report job' "$T/a.out"
check_eq "a: the probes job asks for 1 task of 2 cpus" \
    "$(sbatch_opt "$T/a.out" probes ntasks) $(sbatch_opt "$T/a.out" probes cpus-per-task) $(sbatch_opt "$T/a.out" probes nodes)" "1 2 1"
check "a: ... runs probes.sh into parts/probes" grep -q "^part=.*/a/parts/probes\$" "$T/a.out"
check "a: ... tvp-mpi's under the job's mpirun wrapper" \
    grep -q -F '/a/jobs/mpirun-slurm.sh\ --oversubscribe\ --bind-to\ none' "$T/a.out"

TVP_SBATCH=/nonexistent/sbatch tvp_run a2 submit --dry-run --array --workloads squares --backends openmp,mpi,posix \
    --workers 2 --nodes 2 --no-report --no-probes --out "$T/a2" "${tiny[@]}"
check_eq "a2: --dry-run --array exit status" "$RC" 0 || show "$T/a2.out" 40
check_eq "a2: one array per distinct request" \
    "$(grep -o '^==> .*/jobs/[^/]*\.sbatch' "$T/a2.out" | sed 's|.*/||' | tr '\n' ' ')" "array-n1c2.sbatch array-n2c1N2.sbatch "
check_eq "a2: openmp and posix in one array of 2" "$(sbatch_opt "$T/a2.out" array-n1c2 array)" "0-1"
check_eq "a2: --nodes for the MPI jobs only" \
    "$(sbatch_opt "$T/a2.out" array-n2c1N2 nodes) $(sbatch_opt "$T/a2.out" array-n1c2 nodes)" "2 1"
check "a2: no report job" test "$(grep -c 'report.sbatch' "$T/a2.out")" -eq 0
check "a2: no probes job (--no-probes)" test "$(grep -c 'probes.sbatch' "$T/a2.out")" -eq 0
TVP_SLURM_LAUNCH=srun TVP_SBATCH=/nonexistent/sbatch tvp_run a3 submit --dry-run --workloads squares \
    --backends mpi --workers 2 --no-report --out "$T/a3" "${tiny[@]}"
check_eq "a3: --dry-run, TVP_SLURM_LAUNCH=srun: exit status" "$RC" 0 || show "$T/a3.out" 40
check "a3: the probes job starts its 2 ranks with mpirun all the same (1 task: srun would refuse)" \
    grep -q -E '^export TVP_SLURM_REAL_MPIRUN=.* TVP_SLURM_LAUNCH=mpirun$' "$T/a3.out"

# ---- (b) no Slurm: exit 2, a hint ---------------------------------------------------------------
TVP_SBATCH=/nonexistent/sbatch tvp_run b submit --workloads squares --backends openmp --workers 1 --out "$T/b"
check_eq "b: no sbatch: exit status" "$RC" 2
check "b: ... says so" grep -q 'no Slurm here' "$T/b.out"
check "b: ... and suggests --dry-run" grep -q -- '--dry-run' "$T/b.out"
check "b: ... and makes no folder" test ! -e "$T/b"

# ---- (c) collect on hand-made parts ---------------------------------------------------------------
# crow STATUS KEY REPEAT UTC [WORKERS]: one row of LEAD + the record, the rest empty
crow() {
    awk -v hdr="$LEAD,$CSV_HEADER" -v st="$1" -v key="$2" -v rep="$3" -v ts="$4" -v w="${5:-1}" 'BEGIN {
        n = split(hdr, h, ",")
        split(key, k, "|")
        v["status"] = st; v["config"] = key; v["scaling"] = "strong"; v["size"] = "small"
        v["workload"] = k[1]; v["backend"] = k[2]; v["workers"] = w; v["data"] = "local"
        v["ipc"] = "none"; v["bind"] = "core"; v["schedule"] = "static"; v["timestamp_utc"] = ts
        v["n"] = 1000
        if (st == "ok") { v["repeat"] = rep; v["t_total"] = 0.001 * (rep + 1); v["t_compute"] = 0.0005; v["verified"] = 1 }
        s = ""
        for (i = 1; i <= n; i++) s = s (i > 1 ? "," : "") v[h[i]]
        print s }'
}
C="$T/c"
mkdir -p "$C/parts/openmp-w1" "$C/parts/serial-w1" "$C/parts/mpi-w2" "$C/parts/posix-w1" "$C/parts/odd"
k1="squares|serial|w=1|data=local|ipc=none|bind=core|size=small|scaling=strong"
k2="squares|openmp|w=1|data=local|ipc=none|bind=core|size=small|scaling=strong"
k3="filter|openmp|w=1|data=local|ipc=none|bind=core|size=small|scaling=strong"
k4="squares|mpi|w=2|data=local|ipc=none|bind=core|size=small|scaling=strong"
k5="squares|posix|w=1|data=local|ipc=pipe|bind=core|size=small|scaling=strong"
printf '%s\t%s\n' "$k1" serial-w1 "$k2" openmp-w1 "$k3" openmp-w1 "$k4" mpi-w2 "$k5" posix-w1 >"$C/configs.txt"
{
    echo "$LEAD,$CSV_HEADER"
    crow ok "$k1" 0 2026-01-01T00:00:01Z
    crow ok "$k1" 1 2026-01-01T00:00:01Z
} >"$C/parts/serial-w1/results.csv"
{
    # k2 failed, k3 timed out, then (resumed) k2 ok, k3 failed again
    echo "$LEAD,$CSV_HEADER"
    crow failed "$k2" "" 2026-01-01T00:00:02Z
    crow timeout "$k3" "" 2026-01-01T00:00:03Z
    crow ok "$k2" 0 2026-01-01T00:01:00Z
    crow ok "$k2" 1 2026-01-01T00:01:00Z
    crow failed "$k3" "" 2026-01-01T00:01:01Z
} >"$C/parts/openmp-w1/results.csv"
printf '2026-01-01T00:00:00Z job 7 start on n1: 2 task(s) x 1 cpu(s) on n1\n' >"$C/parts/mpi-w2/job.log"
printf '%s\n' "$LEAD,other,columns" "ok,$k5,strong,small,1,2" >"$C/parts/odd/results.csv"
echo '{"host": "n1", "slurm": {"job_id": "5"}}' >"$C/parts/openmp-w1/env.json"
echo '{"host": "n1", "slurm": {"job_id": "6"}}' >"$C/parts/serial-w1/env.json"
tvp_run c collect "$C"
check_eq "c: collect exit status (not everything ok)" "$RC" 1 || show "$T/c.out"
check "c: every row whole" rows_whole "$C/results.csv"
check_eq "c: header once" "$(grep -c '^status,' "$C/results.csv")" 1
check_eq "c: the rows kept: k1 and k2 ok (the latest attempt), k3's latest failure" \
    "$(csv_get "$C/results.csv" status config timestamp_utc repeat | cut -c 1-200)" \
    "ok	$k1	2026-01-01T00:00:01Z	0
ok	$k1	2026-01-01T00:00:01Z	1
ok	$k2	2026-01-01T00:01:00Z	0
ok	$k2	2026-01-01T00:01:00Z	1
failed	$k3	2026-01-01T00:01:01Z	"
check "c: the failed configuration listed" grep -q -F "not ok: $k3: failed" "$T/c.out"
check "c: the never-run configuration listed, with its job's state" \
    grep -q -F "not run: $k4: its job (mpi-w2) started but did not end" "$T/c.out"
check "c: ... and the one whose job never started" grep -q -F "not run: $k5: its job (posix-w1) never started" "$T/c.out"
check "c: the part with another header left out" grep -q 'parts/odd/results.csv: another header' "$T/c.out"
check "c: collect.log lists them too" grep -q -F "not run: $k4" "$C/collect.log"
check "c: ... and says how to resume" grep -q -- '--resume --out' "$C/collect.log"
check_eq "c: env.json the first part's, the other beside it" \
    "$(cd "$C" && ls env*.json | tr '\n' ' ')" "env-serial-w1.json env.json "
check "c: env.json is openmp-w1's" grep -q '"job_id": "5"' "$C/env.json"
tvp_run c2 collect "$T/nothing-here"
check_eq "c: collect of no folder: exit 2" "$RC" 2

# ---- the live part: a one-node Slurm cluster of this machine ---------------------------------------
if [ "${TVP_NO_SLURM:-0}" = 1 ]; then
    SKIPPED="TVP_NO_SLURM=1"
elif [ "$(id -u)" -ne 0 ]; then
    SKIPPED="not root (it installs slurmctld, slurmd and munge, and starts them)"
elif ! command -v setpriv >/dev/null; then
    SKIPPED="no setpriv (util-linux) to start munged as the munge user"
else
    need=()
    command -v slurmctld >/dev/null || need+=(slurmctld)
    command -v slurmd >/dev/null || need+=(slurmd)
    command -v munged >/dev/null || need+=(munge)
    command -v sbatch >/dev/null || need+=(slurm-client)
    if [ ${#need[@]} -gt 0 ] && ! command -v apt-get >/dev/null; then
        SKIPPED="${need[*]} missing, and no apt-get to install them"
    elif [ ${#need[@]} -gt 0 ]; then
        echo "slurm.sh: installing ${need[*]}" >&2
        if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}" >"$T/apt.out" 2>&1; then
            DEBIAN_FRONTEND=noninteractive apt-get update >>"$T/apt.out" 2>&1
            DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}" >>"$T/apt.out" 2>&1 ||
                SKIPPED="could not install ${need[*]} (apt-get: $(tail -n 1 "$T/apt.out"))"
        fi
    fi
fi
if [ -n "$SKIPPED" ]; then
    echo "slurm.sh: the live Slurm part is skipped: $SKIPPED" >&2
    echo "$(basename "$0"): $CHECKS checks, $FAILS failed; the live Slurm part skipped ($SKIPPED)"
    [ "$FAILS" -eq 0 ] || exit 1
    exit 77
fi

S="$T/slurm"
mkdir -p "$S/state" "$S/spool" "$S/munge"
chmod 755 "$T" "$S" # munged (the munge user) makes its socket in $S/munge
chown munge:munge "$S/munge"
PIDS=() # the daemons, last started first stopped
stop_all() {
    local pid i
    if [ ${#PIDS[@]} -gt 0 ] && command -v scancel >/dev/null; then
        # jobs first (their slurmstepd), then slurmd, slurmctld, munged
        if kill -0 "${PIDS[-1]}" 2>/dev/null; then
            timeout 10 scancel --user=root >/dev/null 2>&1
            for _ in $(seq 50); do
                [ -z "$(timeout 5 squeue -h 2>/dev/null)" ] && break
                sleep 0.2
            done
        fi
    fi
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
        stop_pid "${PIDS[i]}"
    done
    PIDS=()
}
# stop_pid PID: TERM, 5 s, then KILL
stop_pid() {
    kill -TERM "$1" 2>/dev/null || return 0
    for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$1" 2>/dev/null
    wait "$1" 2>/dev/null
}
NS="" # (i): the second node's network namespace, removed on exit
trap 'stop_all; [ -z "$NS" ] || ip netns del "$NS" 2>/dev/null; cd /; rm -rf "$T"' EXIT

# the munge key (the package makes it; made here when missing)
if [ ! -s /etc/munge/munge.key ]; then
    mkdir -p /etc/munge
    if command -v mungekey >/dev/null; then mungekey --create --keyfile=/etc/munge/munge.key >/dev/null 2>&1; fi
    [ -s /etc/munge/munge.key ] || dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
    chown munge:munge /etc/munge /etc/munge/munge.key
    chmod 700 /etc/munge
    chmod 400 /etc/munge/munge.key
fi
SOCK="$S/munge/munge.socket.2"
setpriv --reuid=munge --regid=munge --init-groups /usr/sbin/munged -F --socket="$SOCK" \
    --pid-file="$S/munge/munged.pid" --log-file="$S/munge/munged.log" --seed-file="$S/munge/munged.seed" \
    >"$S/munged.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.05; done
check "munged runs" test -S "$SOCK" || { show "$S/munged.out"; finish; }

# two free ports, side by side (none listening on either)
used=" "
for f in /proc/net/tcp /proc/net/tcp6; do
    [ -r "$f" ] || continue
    while read -r _ local _ st _; do
        [ "$st" = 0A ] && used+="$((16#${local##*:})) "
    done < <(tail -n +2 "$f")
done
PORT=""
for _ in $(seq 100); do
    p=$((20000 + RANDOM % 20000))
    [[ $used == *" $p "* || $used == *" $((p + 1)) "* ]] && continue
    PORT=$p
    break
done
H=$(hostname -s)
NCPU=$(nproc)
MEM=$(free -m | awk '/^Mem:/ { print $2 }')
MEM=$((MEM - MEM / 10))
export SLURM_CONF="$S/slurm.conf"
cat >"$SLURM_CONF" <<EOF
# a one-node cluster of this machine, for tests/slurm.sh
ClusterName=tvptest
SlurmctldHost=$H(127.0.0.1)
SlurmUser=root
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SOCK
StateSaveLocation=$S/state
SlurmdSpoolDir=$S/spool
SlurmctldPidFile=$S/slurmctld.pid
SlurmdPidFile=$S/slurmd.pid
SlurmctldLogFile=$S/slurmctld.log
SlurmdLogFile=$S/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
MpiDefault=pmix
SchedulerParameters=batch_sched_delay=0
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MinJobAge=4
DependencyParameters=kill_invalid_depend
ReturnToService=2
SlurmdParameters=config_overrides
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/filetxt
JobCompLoc=$S/jobcomp.txt
NodeName=$H NodeAddr=127.0.0.1 CPUs=$NCPU RealMemory=$MEM State=UNKNOWN
PartitionName=tvptest Nodes=$H Default=YES MaxTime=INFINITE State=UP
EOF
slurmctld -D -c >"$S/slurmctld.out" 2>&1 &
PIDS+=($!)
slurmd -D -N "$H" >"$S/slurmd.out" 2>&1 &
PIDS+=($!)
state=""
for _ in $(seq 150); do
    state=$(timeout 5 sinfo -h -o %T 2>/dev/null)
    [ "$state" = idle ] && break
    sleep 0.2
done
if ! check_eq "the node is idle" "$state" idle; then
    show "$S/slurmctld.log" 30
    show "$S/slurmd.log" 30
    finish
fi

JOBCOMP="$S/jobcomp.txt" # (i) starts a new cluster, whose job ids start again from 1

# wait_jobs: until the queue is empty (at most 150 s)
wait_jobs() {
    local i
    for i in $(seq 750); do
        [ -z "$(timeout 5 squeue -h -o %A 2>/dev/null)" ] && return 0
        sleep 0.2
    done
    fail "jobs still queued after 150 s: $(squeue -h -o '%A %j %T %r' | tr '\n' ';')"
    return 1
}
# states ID: the final state and exit code of job ID (of each task of an array), from the
# job completion log; nothing for a job that never ended
states() {
    sed -n "/\(^JobId=$1 \|ArrayJobId=$1 \)/p" "$JOBCOMP" 2>/dev/null |
        sed 's/.*JobState=\([A-Z_]*\).* ExitCode=\([0-9:]*\).*/\1 \2/' | sort | uniq -c | awk '{ print $2 "/" $3 "x" $1 }' | tr '\n' ' '
}
# jobs_ok DIR: every job in DIR/jobs/jobs.txt COMPLETED with exit 0 (array: every task)
jobs_ok() {
    local id name rest s bad=""
    while IFS=$'\t' read -r id name rest; do
        s=$(states "$id")
        [[ $s =~ ^COMPLETED/0:0x[0-9]+\ $ ]] || bad+="$name ($id): ${s:-no end recorded}; "
    done <"$1/jobs/jobs.txt"
    [ -z "$bad" ] || { echo "$bad" >&2; return 1; }
}
# every configuration of DIR/configs.txt has ok rows in DIR/results.csv, and nothing else
all_ok() {
    local want got
    want=$(cut -f 1 "$1/configs.txt" | sort)
    got=$(csv_get "$1/results.csv" status config | awk -F '\t' '$1 == "ok" { print $2 }' | sort -u)
    [ "$want" = "$got" ] && [ -z "$(csv_get "$1/results.csv" status | grep -v '^ok$')" ]
}

# ---- (d) a sweep: every model its own jobs, then the report job --------------------------------------
D="$T/d"
backends=serial,openmp,mpi,posix,python-mp
tvp_run d submit --workloads squares,filter --backends "$backends" --workers 1,2 --data local --repeat 2 \
    --python-n 1000 --out "$D" "${tiny[@]}"
check_eq "d: submit exit status" "$RC" 0 || show "$T/d.out" 30
check_eq "d: the jobs" "$(cut -f 2 "$D/jobs/jobs.txt" | tr '\n' ' ')" \
    "serial-w1 openmp-w1 openmp-w2 mpi-w1 mpi-w2 posix-w1 posix-w2 python-mp-w1 python-mp-w2 probes report "
wait_jobs
check "d: every job COMPLETED, exit 0 (Slurm's completion log)" jobs_ok "$D"
check_eq "d: every sweep job ended its compare with exit 0 (job.log)" \
    "$(for f in "$D"/parts/*-w*/job.log; do tail -n 1 "$f" | sed 's/.* end: //'; done | sort | uniq -c | awk '{ $1 = $1; print }')" \
    "9 scripts/tvp compare exit 0"
check "d: the probes job ran (its job.log)" grep -q 'end: probes.sh exit 0' "$D/parts/probes/job.log" ||
    show "$D/parts/probes/probes.log" 30
check "d: collect copied probes.csv" test -s "$D/probes.csv"
check "d: ... and probes.log" test -s "$D/probes.log"
probes_whole() { csv_get "$1" backend probe >/dev/null; }
check "d: probes.csv: every row whole" probes_whole "$D/probes.csv"
check_eq "d: probes.csv has rows of openmp and posix" \
    "$(csv_get "$D/probes.csv" backend | grep -x -e openmp -e posix | sort -u | tr '\n' ' ')" "openmp posix "
check "d: report.md has the probes section" grep -q -F 'What separates processes from threads (probes)' "$D/report.md"
check "d: the report job ran collect and report" grep -q 'end: collect exit 0, report exit 0' "$D/logs/report.log" ||
    show "$D/logs/report.log"
check "d: results.csv: every row whole" rows_whole "$D/results.csv"
check_eq "d: results.csv: header once" "$(grep -c '^status,' "$D/results.csv")" 1
check "d: every configuration ok, once" all_ok "$D"
check_eq "d: configurations" "$(wc -l <"$D/configs.txt")" 16
check_eq "d: 2 rows each" "$(csv_get "$D/results.csv" config | sort | uniq -c | awk '{ print $1 }' | sort -u)" 2
check_eq "d: rows from each backend" "$(csv_get "$D/results.csv" backend | sort -u | tr '\n' ' ')" \
    "mpi openmp posix python-mp serial "
check_eq "d: mpi ranks started by srun --mpi=pmix" "$(grep -h 'tvp-mpi started by' "$D"/parts/mpi-w*/job.log | sed 's/.* by //' | sort -u)" srun
check_eq "d: the mpi rows have compare's transport" "$(csv_get "$D/results.csv" backend transport | awk -F '\t' '$1 == "mpi" { print $2 }' | sort -u)" \
    "pml=ob1 btl=self,vader"
check_eq "d: nothing oversubscribed" "$(csv_get "$D/results.csv" backend oversubscribed | awk -F '\t' '$1 != "python-mp" { print $2 }' | sort -u)" 0
check "d: report.md" test -s "$D/report.md"
check "d: table.txt" grep -q '^mpi ' "$D/table.txt"
/usr/bin/python3 - "$D" >"$T/d.env" 2>&1 <<'EOF'
import glob, json, os, sys
d = sys.argv[1]
bad = []
env = json.load(open(os.path.join(d, "env.json")))
s = env.get("slurm") or {}
if not s.get("job_id") or not s.get("nodelist") or not s.get("partition"):
    bad.append("env.json: slurm %r" % s)
if not env.get("environment", {}).get("SLURM_JOB_ID"):
    bad.append("env.json: no SLURM_JOB_ID in environment")
others = sorted(os.path.basename(p) for p in glob.glob(os.path.join(d, "env-*.json")))
if len(others) != 8:
    bad.append("env-*.json: %s" % others)
# what each job was given: ntasks x cpus_per_task
for part, want in (("mpi-w2", ("2", "1")), ("openmp-w2", ("1", "2")), ("posix-w2", ("1", "2")),
                   ("python-mp-w2", ("1", "2")), ("serial-w1", ("1", "1"))):
    s = json.load(open(os.path.join(d, "parts", part, "env.json"))).get("slurm") or {}
    if (s.get("ntasks"), s.get("cpus_per_task")) != want:
        bad.append("%s: ntasks, cpus_per_task %r, want %r" % (part, (s.get("ntasks"), s.get("cpus_per_task")), want))
if bad:
    sys.exit("\n".join(bad))
EOF
check "d: env.json with the job and its allocation" test $? -eq 0 || show "$T/d.env"

# ---- (e) --resume: a configuration made to fail is submitted again, alone ---------------------------------
P="$D/parts/posix-w2/results.csv"
key=$(csv_get "$P" config | head -n 1)
sed -i 's/^ok,\(squares|posix|w=2|\)/failed,\1/' "$P"
tvp_run e collect "$D"
check_eq "e: collect: exit 1 with a failed configuration" "$RC" 1
check "e: ... listed" grep -q -F "not ok: $key: failed" "$T/e.out"
n0=$(wc -l <"$D/jobs/jobs.txt")
tvp_run e2 submit --resume --out "$D"
check_eq "e: submit --resume exit status" "$RC" 0 || show "$T/e2.out"
check_eq "e: only its group, and the report job" "$(tail -n +$((n0 + 1)) "$D/jobs/jobs.txt" | cut -f 2 | tr '\n' ' ')" "posix-w2 report "
check "e: ... for that configuration alone" grep -q '1 configuration(s) (15 ok before)' "$T/e2.out"
wait_jobs
check "e: the jobs COMPLETED" jobs_ok "$D"
check "e: every configuration ok, once, the failed rows left out" all_ok "$D"
check_eq "e: rows" "$(csv_rows "$D/results.csv")" 32
check "e: the resumed job's env kept" test -n "$(shopt -s nullglob; echo "$D"/env-posix-w2-resume-*.json)"
tvp_run e3 submit --resume --out "$D"
check "e: nothing left to submit" grep -q 'nothing to submit' "$T/e3.out"

# ---- (f) job arrays; tvp-mpi under mpirun inside the allocation ---------------------------------------
F="$T/f"
TVP_SLURM_LAUNCH=mpirun tvp_run f submit --array --workloads squares --backends openmp,mpi,posix --workers 2 \
    --data local --repeat 2 --no-python --no-probes --out "$F" -- squares: --n 1000
check_eq "f: submit --array exit status" "$RC" 0 || show "$T/f.out" 30
check_eq "f: the arrays" "$(cut -f 2 "$F/jobs/jobs.txt" | tr '\n' ' ')" "array-n1c2 array-n2c1 report "
wait_jobs
check "f: every array task and the report job COMPLETED" jobs_ok "$F"
check_eq "f: tasks of the first array" "$(states "$(head -n 1 "$F/jobs/jobs.txt" | cut -f 1)")" "COMPLETED/0:0x2 "
check "f: every configuration ok" all_ok "$F"
check_eq "f: tvp-mpi started by mpirun" "$(grep -h 'tvp-mpi started by' "$F/parts/mpi-w2/job.log" | sed 's/.* by //')" mpirun
check_eq "f: rows from each backend" "$(csv_get "$F/results.csv" backend | sort -u | tr '\n' ' ')" "mpi openmp posix "

# ---- (g) Slurm's refusals: nothing queued, no folder ------------------------------------------------
tvp_run g submit --partition nosuchpartition --workloads squares --backends openmp --workers 1 --out "$T/g"
check_eq "g: unknown partition: exit status" "$RC" 2
check "g: ... with Slurm's message" grep -q -i 'invalid partition' "$T/g.out" || show "$T/g.out"
check "g: ... and no folder" test ! -e "$T/g"
tvp_run g2 submit --workloads squares --backends mpi --workers $((NCPU * 4)) --out "$T/g2"
check_eq "g: more CPUs than the node has: exit status" "$RC" 3
check "g: ... with Slurm's message" grep -q -i 'not available' "$T/g2.out" || show "$T/g2.out"
check_eq "g: nothing queued" "$(squeue -h -o %A)" ""

# ---- (h) a cancelled job: the report job is cancelled with it; --resume waits for the queue ---------------
H2="$T/h"
tvp_run h submit --workloads squares --backends openmp --workers 1 --data local --repeat 1 --no-python \
    --sbatch-arg=--begin=now+3600 --no-probes --out "$H2" -- squares: --n 1000
check_eq "h: submit exit status" "$RC" 0 || show "$T/h.out"
tvp_run h2 submit --resume --out "$H2"
check_eq "h: --resume while its jobs are queued: exit status" "$RC" 2
check "h: ... says why" grep -q 'still in the queue' "$T/h2.out"
scancel "$(head -n 1 "$H2/jobs/jobs.txt" | cut -f 1)"
wait_jobs
check_eq "h: the sweep job CANCELLED" "$(states "$(sed -n 1p "$H2/jobs/jobs.txt" | cut -f 1)" | cut -d / -f 1)" CANCELLED
check_eq "h: the report job CANCELLED (its dependency can never be met)" \
    "$(states "$(sed -n 2p "$H2/jobs/jobs.txt" | cut -f 1)" | cut -d / -f 1)" CANCELLED
check "h: the report job never ran" test ! -e "$H2/logs/report.log"

# ---- (i) two nodes: tvp-mpi's ranks on two slurmd ------------------------------------------------
# One machine, two Slurm nodes: this one and a second slurmd in network and UTS namespaces
# of its own (a veth pair between them; hostname tvpnode2), so that Slurm, PMIx and Open MPI
# see two hosts at two addresses and the ranks talk TCP between them, as across real nodes.
# The cluster of (a)-(h) is stopped (munged stays) and a two-node one started in its place.
# Skipped, with a note, where network namespaces cannot be made.
two_nodes_net() {
    command -v ip >/dev/null && command -v unshare >/dev/null && command -v nsenter >/dev/null || return 1
    NS="tvp$$"
    NET="10.213.$((RANDOM % 200 + 20))"
    ip netns add "$NS" || { NS=""; return 1; }
    ip link add "${NS}h" type veth peer name "${NS}c" &&
        ip link set "${NS}c" netns "$NS" &&
        ip addr add "$NET.1/24" dev "${NS}h" && ip link set "${NS}h" up &&
        ip netns exec "$NS" ip addr add "$NET.2/24" dev "${NS}c" &&
        ip netns exec "$NS" ip link set "${NS}c" up &&
        ip netns exec "$NS" ip link set lo up &&
        ip netns exec "$NS" ip route add default via "$NET.1"
}
if two_nodes_net >"$T/netns.out" 2>&1; then
    stop_pid "${PIDS[2]}" # slurmd, then slurmctld
    stop_pid "${PIDS[1]}"
    PIDS=("${PIDS[0]}")
    mkdir -p "$S/state2" "$S/spool/$H" "$S/spool/tvpnode2"
    JOBCOMP="$S/jobcomp2.txt"
    sed -e "s/^SlurmctldHost=.*/SlurmctldHost=$H($NET.1)/" -e "s|^StateSaveLocation=.*|StateSaveLocation=$S/state2|" \
        -e "s|^SlurmdSpoolDir=.*|SlurmdSpoolDir=$S/spool/%n|" -e "s|^SlurmdPidFile=.*|SlurmdPidFile=$S/slurmd-%n.pid|" \
        -e "s|^SlurmdLogFile=.*|SlurmdLogFile=$S/slurmd-%n.log|" -e "s|^JobCompLoc=.*|JobCompLoc=$JOBCOMP|" \
        -e '/^NodeName=/d' -e '/^PartitionName=/d' "$S/slurm.conf" >"$S/slurm2.conf"
    printf '%s\n' "NodeName=$H NodeAddr=$NET.1 CPUs=$NCPU RealMemory=$MEM State=UNKNOWN" \
        "NodeName=tvpnode2 NodeAddr=$NET.2 CPUs=$NCPU RealMemory=$MEM State=UNKNOWN" \
        "PartitionName=tvptest Nodes=$H,tvpnode2 Default=YES MaxTime=INFINITE State=UP" >>"$S/slurm2.conf"
    # The nodes share one file system, where Slurm's PMIx plugin would make the same client
    # folder (/tmp/spmix_appdir_*) on both: tvpnode2 reads its own copy of the
    # configuration, beside an mpi.conf that puts its folders elsewhere.
    mkdir -p "$S/n2" "$S/pmix-$H" "$S/pmix-tvpnode2"
    echo "PMIxCliTmpDirBase=$S/pmix-$H" >"$S/mpi.conf"
    cp "$S/slurm2.conf" "$S/n2/slurm2.conf"
    echo "PMIxCliTmpDirBase=$S/pmix-tvpnode2" >"$S/n2/mpi.conf"
    export SLURM_CONF="$S/slurm2.conf"
    slurmctld -D -c >"$S/slurmctld2.out" 2>&1 &
    PIDS+=($!)
    slurmd -D -N "$H" >"$S/slurmd-$H.out" 2>&1 &
    PIDS+=($!)
    # nsenter, not ip netns exec: that would mount a sysfs of its own, without the cgroups
    SLURM_CONF="$S/n2/slurm2.conf" nsenter --net="/run/netns/$NS" unshare --uts \
        sh -c 'hostname tvpnode2 && exec slurmd -D -N tvpnode2' >"$S/slurmd-tvpnode2.out" 2>&1 &
    PIDS+=($!)
    state=""
    for _ in $(seq 150); do
        state=$(timeout 5 sinfo -h -N -o '%N %T' 2>/dev/null | sort | awk '{ printf "%s ", $2 }')
        [ "$state" = "idle idle " ] && break
        sleep 0.2
    done
    if check_eq "i: both nodes idle" "$state" "idle idle "; then
        check_eq "i: a step over both nodes runs on both hosts" \
            "$(timeout 60 srun -N 2 -n 2 hostname -s 2>"$T/i-srun.err" | sort | tr '\n' ' ')" \
            "$(printf '%s\n' "$H" tvpnode2 | sort | tr '\n' ' ')" || show "$T/i-srun.err"
        I="$T/i"
        tvp_run i submit --workloads squares --backends mpi --workers 2 --nodes 2 --repeat 2 \
            --no-python --no-probes --out "$I" -- squares: --n 100000
        check_eq "i: submit --nodes 2 exit status" "$RC" 0 || show "$T/i.out" 30
        check "i: the script asks for 2 nodes" grep -q -x "#SBATCH --nodes=2" "$I/jobs/mpi-w2.sbatch"
        wait_jobs
        check "i: the jobs COMPLETED" jobs_ok "$I" || show "$I/parts/mpi-w2/job.log"
        check "i: every configuration ok (local and scatter), once" all_ok "$I" ||
            show "$I/results.csv"
        check_eq "i: every row verified" "$(csv_get "$I/results.csv" verified | sort -u)" 1
        check "i: the job saw 2 nodes and chose TCP between them" \
            grep -q '2 nodes: TVP_MPI_BTL=self,vader,tcp' "$I/parts/mpi-w2/job.log"
        check_eq "i: the record's transport" "$(csv_get "$I/results.csv" transport | sort -u)" \
            "pml=ob1 btl=self,vader,tcp"
        check_eq "i: env.json: the job's nodes" \
            "$(python3 -c 'import json, sys; e = json.load(open(sys.argv[1])); print(e["environment"].get("SLURM_JOB_NUM_NODES"))' "$I/parts/mpi-w2/env.json")" 2
        check "i: the report says what crosses the network" grep -q 'across nodes' "$I/report.md"
    else
        show "$S/slurmctld.log" 20
        show "$S/slurmd-tvpnode2.log" 20
    fi
else
    echo "slurm.sh: (i) two nodes skipped: no network namespace here ($(tail -n 1 "$T/netns.out"))" >&2
fi

daemons=("${PIDS[@]}")
stop_all
alive=""
for pid in "${daemons[@]}"; do kill -0 "$pid" 2>/dev/null && alive+="$pid "; done
check_eq "every daemon stopped" "$alive" ""
finish
