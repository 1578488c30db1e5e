"""Writes env.json: the machine and software a results folder was measured on.

usage: env_json.py --repo DIR --build DIR --out FILE [--mpirun CMD] -- COMMAND LINE...
Standard library only (Debian's /usr/bin/python3); missing tools give null, not errors."""

import argparse
import datetime
import json
import os
import platform
import socket
import subprocess


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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repo", required=True)
    ap.add_argument("--build", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--mpirun", default="mpirun")
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
        "mpirun": first_line(run([a.mpirun, "--version"])),
        "hwloc": hwloc,
        "tvp_version": versions,
        "git_commit": commit,
        "git_dirty": bool(dirty) if dirty is not None else None,
        "command_line": a.command,
        "cwd": os.getcwd(),
        "environment": {k: v for k, v in sorted(os.environ.items())
                        if k.startswith(("OMP_", "OMPI_", "GOMP_", "KMP_"))},
    }
    tmp = a.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(env, f, indent=2)
        f.write("\n")
    os.replace(tmp, a.out)


if __name__ == "__main__":
    main()
