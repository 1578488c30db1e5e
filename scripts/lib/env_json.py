"""Writes env.json: the machine and software a results folder was measured on.

usage: env_json.py --repo DIR --build DIR --out FILE [--mpirun CMD] [--topology-xml FILE]
                   -- COMMAND LINE...
Standard library only (Debian's /usr/bin/python3); missing tools give null, not errors.

Beside the fields it always had (host, cpu_*, nproc, memory, os, kernel, gcc, cmake, mpirun,
hwloc, tvp_version: each executable's --version, git_commit, command_line, environment) it
writes "topology" (hwloc's view from `lstopo-no-graphics --of xml`: packages, cores, PUs,
NUMA nodes with their memory, the caches with their sizes; the XML itself goes to
--topology-xml FILE when given), "compiler" and "compiler_flags" (the build's, from
`tvp-serial --version`), "openmp_version" (the _OPENMP the build saw), "mpi_standard",
"open_mpi_version", "hwloc_version" (the tools at run time) and "hwloc_build_version",
"tvp" ({"version", "commit"} from tvp-serial --version), and the OMP_*, GOMP_*, KMP_*,
OMPI_*, PMIX_* and SLURM_* variables under "environment"; "slurm": inside a Slurm job, the job and
its allocation (job_id, array ids, job_name, cluster, partition, account, qos, nodelist,
num_nodes, ntasks, cpus_per_task, tasks_per_node, cpus_on_node, job_cpus_per_node, memory,
submit_host, node, mpi_launcher: srun or mpirun), else null."""

import argparse
import datetime
import json
import os
import platform
import socket
import re
import subprocess
import xml.etree.ElementTree as ET


def run(cmd, cwd=None):
    """stdout of cmd, stripped, or None when it cannot run or fails."""
    try:
        p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=30,
                           stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return None
    return p.stdout.strip() if p.returncode == 0 else None


def first_line(text):
    return text.splitlines()[0].strip() if text else None


def lscpu():
    out = run(["lscpu"])
    info = {}
    for line in (out or "").splitlines():
        key, sep, value = line.partition(":")
        if sep:
            info[key.strip()] = value.strip()
    return info


def meminfo_kb():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def os_release():
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return None


CACHE_NAMES = {"L1Cache": "L1d", "L1iCache": "L1i", "L2Cache": "L2", "L3Cache": "L3",
               "L4Cache": "L4", "L5Cache": "L5", "L2iCache": "L2i", "L3iCache": "L3i",
               "MemCache": "MemCache"}


def cpuset_weight(text):
    """PUs in an hwloc bitmap string ("0x00000003", "0xffffffff,0x00000001"; an empty word
    between commas is zero); None for an infinite ("0xf...f") or unreadable one"""
    if not text or "..." in text:
        return None
    try:
        return sum(bin(int(w[2:] if w.startswith("0x") else w or "0", 16)).count("1")
                   for w in text.split(","))
    except ValueError:
        return None


def topology(xml_out=None):
    """hwloc's topology: counts of packages, cores, PUs and NUMA nodes, and the caches
    grouped by level and size, from lstopo-no-graphics' XML (None when hwloc is missing)."""
    text = None
    for cmd in (["lstopo-no-graphics", "--of", "xml", "--no-io"], ["lstopo", "--of", "xml", "--no-io"],
                ["lstopo-no-graphics", "--of", "xml"]):
        text = run(cmd)
        if text:
            break
    if not text:
        return None
    if xml_out:
        try:
            with open(xml_out, "w") as f:
                f.write(text + "\n")
        except OSError:
            pass
    try:
        root = ET.fromstring(text)
    except ET.ParseError:
        return None
    counts = {"Package": 0, "Core": 0, "PU": 0, "NUMANode": 0}
    numa_mem = []
    caches = {}
    for obj in root.iter("object"):
        t = obj.get("type")
        if t in counts:
            counts[t] += 1
        if t == "NUMANode":
            numa_mem.append(int(obj.get("local_memory", "0") or 0))
        if t in CACHE_NAMES:
            key = (CACHE_NAMES[t], int(obj.get("cache_size", "0") or 0))
            c = caches.setdefault(key, {
                "level": key[0], "size_bytes": key[1], "count": 0,
                "linesize": int(obj.get("cache_linesize", "0") or 0),
                "associativity": int(obj.get("cache_associativity", "0") or 0),
                "pus_each": cpuset_weight(obj.get("cpuset")),
            })
            c["count"] += 1
    order = ["L1i", "L1d", "L2i", "L2", "L3i", "L3", "L4", "L5", "MemCache"]
    return {
        "source": "lstopo-no-graphics --of xml",
        "packages": counts["Package"],
        "cores": counts["Core"],
        "pus": counts["PU"],
        "numa_nodes": counts["NUMANode"],
        "numa_memory_bytes": numa_mem,
        "caches": sorted(caches.values(), key=lambda c: (order.index(c["level"]) if c["level"] in order else 99, c["size_bytes"])),
    }


def tvp_build_info(build):
    """version, commit, compiler, flags, OpenMP, MPI and hwloc of the build, from
    tvp-serial --version (lines: "tvp-serial 0.1.0 (commit X)", "built with: hwloc A,
    OpenMP B, MPI C", "flags: COMPILER VERSION  -O3 ...")"""
    info = {"version": None, "commit": None, "compiler": None, "flags": None,
            "openmp": None, "mpi": None, "hwloc": None}
    text = run([os.path.join(build, "tvp-serial"), "--version"])
    for line in (text or "").splitlines():
        m = re.match(r"tvp-\S+\s+(\S+)(?:\s+\(commit\s+([^)]*)\))?", line)
        if m and info["version"] is None:
            info["version"], info["commit"] = m.group(1), m.group(2)
        if line.startswith("built with:"):
            for part in line.split(":", 1)[1].split(","):
                words = part.split()
                if len(words) >= 2 and words[0] in ("OpenMP", "MPI", "hwloc"):
                    info[words[0].lower()] = words[1]
        if line.startswith("flags:"):
            rest = line.split(":", 1)[1].strip()
            i = rest.find(" -")
            info["compiler"] = (rest[:i] if i >= 0 else rest).strip() or None
            info["flags"] = rest[i:].strip() if i >= 0 else ""
    return info


# the job's allocation, when running inside a Slurm job (None otherwise)
SLURM_FIELDS = (("job_id", "SLURM_JOB_ID"), ("array_job_id", "SLURM_ARRAY_JOB_ID"),
                ("array_task_id", "SLURM_ARRAY_TASK_ID"), ("job_name", "SLURM_JOB_NAME"),
                ("cluster", "SLURM_CLUSTER_NAME"), ("partition", "SLURM_JOB_PARTITION"),
                ("account", "SLURM_JOB_ACCOUNT"), ("qos", "SLURM_JOB_QOS"),
                ("nodelist", "SLURM_JOB_NODELIST"), ("num_nodes", "SLURM_JOB_NUM_NODES"),
                ("ntasks", "SLURM_NTASKS"), ("cpus_per_task", "SLURM_CPUS_PER_TASK"),
                ("tasks_per_node", "SLURM_TASKS_PER_NODE"), ("cpus_on_node", "SLURM_CPUS_ON_NODE"),
                ("job_cpus_per_node", "SLURM_JOB_CPUS_PER_NODE"), ("mem_per_node_mb", "SLURM_MEM_PER_NODE"),
                ("mem_per_cpu_mb", "SLURM_MEM_PER_CPU"), ("submit_host", "SLURM_SUBMIT_HOST"),
                ("node", "SLURMD_NODENAME"), ("mpi_launcher", "TVP_SLURM_LAUNCH"))


def slurm_info():
    if not os.environ.get("SLURM_JOB_ID"):
        return None
    return {k: os.environ.get(v) for k, v in SLURM_FIELDS}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repo", required=True)
    ap.add_argument("--build", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--mpirun", default="mpirun")
    ap.add_argument("--topology-xml")
    ap.add_argument("command", nargs="*")
    a = ap.parse_args()

    cpu = lscpu()
    commit = run(["git", "-C", a.repo, "rev-parse", "HEAD"])
    dirty = run(["git", "-C", a.repo, "status", "--porcelain", "--untracked-files=no"])
    hwloc = first_line(run(["hwloc-info", "--version"])) or run(["pkg-config", "--modversion", "hwloc"])
    versions = {}
    for backend in ("serial", "openmp", "mpi", "posix"):
        exe = os.path.join(a.build, "tvp-" + backend)
        if os.access(exe, os.X_OK):
            versions[backend] = run([exe, "--version"])
    try:
        affinity = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        affinity = None
    thp = None
    try:
        with open("/sys/kernel/mm/transparent_hugepage/enabled") as f:
            thp = f.read().strip()
    except OSError:
        pass

    build = tvp_build_info(a.build)
    mpirun_line = first_line(run([a.mpirun, "--version"]))
    m = re.search(r"Open MPI\)?\s+([0-9][^\s]*)", mpirun_line or "")
    open_mpi = m.group(1) if m else None
    hwloc_rt = None
    m = re.search(r"([0-9]+\.[0-9]+(?:\.[0-9]+)?\S*)", hwloc or "")
    if m:
        hwloc_rt = m.group(1)

    env = {
        "generated_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "host": socket.gethostname(),
        "cpu_model": cpu.get("Model name"),
        "cpu_sockets": cpu.get("Socket(s)"),
        "cpu_cores_per_socket": cpu.get("Core(s) per socket"),
        "cpu_threads_per_core": cpu.get("Thread(s) per core"),
        "cpu_numa_nodes": cpu.get("NUMA node(s)"),
        "cpu_l3": cpu.get("L3 cache"),
        "nproc": affinity,
        "cpu_count": os.cpu_count(),
        "memory_kb": meminfo_kb(),
        "os": os_release(),
        "kernel": platform.release(),
        "transparent_hugepage": thp,
        "gcc": first_line(run(["gcc", "--version"])) or first_line(run(["cc", "--version"])),
        "cmake": first_line(run(["cmake", "--version"])),
        "mpirun": mpirun_line,
        "hwloc": hwloc,
        "topology": topology(a.topology_xml),
        "compiler": build["compiler"],
        "compiler_flags": build["flags"],
        "openmp_version": build["openmp"],
        "mpi_standard": build["mpi"],
        "open_mpi_version": open_mpi,
        "hwloc_version": hwloc_rt,
        "hwloc_build_version": build["hwloc"],
        "tvp": {"version": build["version"], "commit": build["commit"]},
        "tvp_version": versions,
        "git_commit": commit,
        "git_dirty": bool(dirty) if dirty is not None else None,
        "command_line": a.command,
        "cwd": os.getcwd(),
        "environment": {k: v for k, v in sorted(os.environ.items())
                        if k.startswith(("OMP_", "OMPI_", "GOMP_", "KMP_", "PMIX_", "SLURM_"))},
        "slurm": slurm_info(),
    }
    tmp = a.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(env, f, indent=2)
        f.write("\n")
    os.replace(tmp, a.out)


if __name__ == "__main__":
    main()
