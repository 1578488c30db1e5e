"""Merges the parts of a sweep submitted by `scripts/tvp submit` into one results folder.

usage: collect.py DIR

DIR/parts/GROUP/ is `scripts/tvp compare`'s folder of one batch job (results.csv, env.json,
topology.xml, log.txt, job.log).  Writes, so that `scripts/tvp report DIR` works unchanged:

  DIR/results.csv   one header, then per configuration the rows of one attempt: the latest
                    attempt that ended ok, else the latest attempt (its status row), in the
                    order of DIR/configs.txt (the sweep's), then any others as found
  DIR/env.json      the first part's env.json; the others as DIR/env-GROUP.json (and a
                    resumed job's env-resume-T.json as DIR/env-GROUP-resume-T.json)
  DIR/topology.xml  the first part's
  DIR/log.txt       every part's log.txt, one after the other
  DIR/probes.csv    the probes job's (DIR/parts/probes/probes.csv and probes.log), when there
  DIR/collect.log   what was merged and what is missing: configurations not ok (with their
                    status) or never run, jobs that did not end (from each job's job.log)

An attempt is one run of a configuration: its rows in one part's results.csv, from the row
with repeat 0 (or a lone status row: failed, timeout) to the last row of the same status.
Problems are also printed on stderr.  Exit status: 0 when every configuration of the sweep
has its ok rows, 1 when some have not, 2 when there is nothing to merge.
Standard library only (Debian's /usr/bin/python3).
"""

import csv
import datetime
import io
import os
import shutil
import sys


def records(path):
    """(raw line, fields) of each row of a CSV file; a quoted newline stays in its row"""
    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        text = f.read()
    out, buf = [], ""
    for line in text.splitlines(keepends=True):
        buf += line
        if buf.count('"') % 2:
            continue  # inside a quoted field
        raw, buf = buf.rstrip("\r\n"), ""
        if raw.strip():
            out.append((raw, next(csv.reader(io.StringIO(raw)))))
    if buf.strip():  # an unterminated quote at the end: kept as it is
        raw = buf.rstrip("\r\n")
        out.append((raw, next(csv.reader(io.StringIO(raw)))))
    return out


def job_state(part_dir):
    """the last job of a part from its job.log: (state, line); state is 'none' (no job
    started), 'running' (started, no end: killed, time limit, node failure, or still
    running), 'ok' (ended, compare exit 0 or 1) or 'failed' (ended otherwise)"""
    path = os.path.join(part_dir, "job.log")
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = [l.rstrip("\n") for l in f if l.strip()]
    except OSError:
        return "none", ""
    state, last = "none", ""
    for line in lines:
        words = line.split(" ", 3)  # UTC, "job", JOBID, what
        what = words[3] if len(words) == 4 else ""
        if what.startswith("start"):
            state, last = "running", line
        elif what.startswith("end:"):
            last = line
            code = what.split("exit ")[-1].split()[0] if "exit " in what else "?"
            state = "ok" if code in ("0", "1") else "failed"
    return state, last


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: collect.py DIR")
    d = sys.argv[1]
    parts_dir = os.path.join(d, "parts")
    try:
        parts = sorted(p for p in os.listdir(parts_dir) if os.path.isdir(os.path.join(parts_dir, p)))
    except OSError as e:
        print("collect: %s: %s" % (parts_dir, e.strerror), file=sys.stderr)
        return 2

    # the sweep's configurations, in order, with their group (written by submit)
    expected, group_of = [], {}
    try:
        with open(os.path.join(d, "configs.txt"), encoding="utf-8") as f:
            for line in f:
                key, _, group = line.rstrip("\n").partition("\t")
                if key and key not in group_of:
                    expected.append(key)
                    group_of[key] = group
    except OSError:
        pass

    problems = []  # lines for stderr and collect.log
    tables = []  # (part, rows) of every part with results
    for p in parts:
        path = os.path.join(parts_dir, p, "results.csv")
        if os.path.isfile(path) and os.path.getsize(path) > 0:
            rows = records(path)
            if rows:
                tables.append((p, rows))
    # the header most parts have (another one: a part run by another tvp build)
    counts = {}
    for p, rows in tables:
        h = rows[0][1]
        if "config" in h and "status" in h:
            counts[rows[0][0]] = counts.get(rows[0][0], 0) + 1
    header_raw = max(counts, key=lambda k: counts[k]) if counts else None
    header = next(csv.reader(io.StringIO(header_raw))) if header_raw else None
    attempts = {}  # key -> [ {part, seq, ts, status, rows} ]
    seen = []
    merged_parts = []
    for p, rows in tables:
        h_raw, h = rows[0]
        if "config" not in h or "status" not in h:
            problems.append("parts/%s/results.csv: not a compare results.csv (no status, config): left out" % p)
            continue
        if h_raw != header_raw:
            problems.append("parts/%s/results.csv: another header than the other parts' (another tvp build?): its rows are left out" % p)
            continue
        merged_parts.append(p)
        ci, si = h.index("config"), h.index("status")
        ti = h.index("timestamp_utc") if "timestamp_utc" in h else None
        ri = h.index("repeat") if "repeat" in h else None
        cur, seq = None, 0
        for n, (raw, fl) in enumerate(rows[1:], start=2):
            if len(fl) != len(h):
                problems.append("parts/%s/results.csv line %d: %d fields, not %d: left out" % (p, n, len(fl), len(h)))
                cur = None
                continue
            key, status = fl[ci], fl[si]
            new = (cur is None or cur["key"] != key or cur["status"] != status
                   or status not in ("ok", "verify") or (ri is not None and fl[ri] == "0"))
            if new:
                seq += 1
                cur = {"key": key, "part": p, "seq": seq, "ts": "", "status": status, "rows": []}
                attempts.setdefault(key, []).append(cur)
                if key not in group_of and key not in seen:
                    seen.append(key)
            cur["rows"].append(raw)
            if ti is not None and fl[ti] > cur["ts"]:
                cur["ts"] = fl[ti]

    if header is None:
        print("collect: no results in %s/*/results.csv: nothing to merge" % parts_dir, file=sys.stderr)
        for line in problems:
            print("collect: " + line, file=sys.stderr)
        return 2

    part_order = {p: i for i, p in enumerate(merged_parts)}

    def when(a):
        return (a["ts"], part_order[a["part"]], a["seq"])

    keys = [k for k in expected if k in attempts] + seen
    out_rows, n_ok, not_ok = [], 0, []
    for key in keys:
        tries = attempts[key]
        ok = [a for a in tries if a["status"] == "ok"]
        pick = max(ok, key=when) if ok else max(tries, key=when)
        out_rows.extend(pick["rows"])
        if ok:
            n_ok += 1
        else:
            not_ok.append((key, pick))
    missing = [k for k in expected if k not in attempts]

    # the jobs of the groups: one that did not end, or ended badly
    groups = sorted(set(group_of.values()) | set(parts))
    jobs = {}
    for g in groups:
        jobs[g] = job_state(os.path.join(parts_dir, g))

    for key, a in not_ok:
        problems.append("not ok: %s: %s (parts/%s, %d row(s))" % (key, a["status"], a["part"], len(a["rows"])))
    for key in missing:
        g = group_of.get(key, "?")
        state, line = jobs.get(g, ("none", ""))
        why = {"none": "its job (%s) never started: pending, cancelled, or refused" % g,
               "running": "its job (%s) started but did not end: killed (time limit, node failure, scancel) or still running: %s" % (g, line),
               "ok": "its job (%s) ended before it: %s" % (g, line),
               "failed": "its job (%s) failed: %s" % (g, line)}[state]
        problems.append("not run: %s: %s" % (key, why))
    for g in groups:
        state, line = jobs[g]
        if state == "failed":
            problems.append("job %s: %s (see %s/logs/)" % (g, line, d))
        elif state == "running" and not any(group_of.get(k) == g for k in missing):
            problems.append("job %s: started, no end recorded: %s" % (g, line))

    # results.csv, written whole then renamed (a reader never sees half of it)
    out = os.path.join(d, "results.csv")
    with open(out + ".tmp", "w", encoding="utf-8", newline="") as f:
        f.write(header_raw + "\n")
        for raw in out_rows:
            f.write(raw + "\n")
    os.replace(out + ".tmp", out)

    # env.json: the first part's; the others beside it, named after their part
    envs = []
    first_env = None
    for p in merged_parts + [q for q in parts if q not in part_order]:
        src = os.path.join(parts_dir, p)
        try:
            names = sorted(os.listdir(src))
        except OSError:
            continue
        if "env.json" in names:
            if first_env is None:
                first_env = p
                shutil.copyfile(os.path.join(src, "env.json"), os.path.join(d, "env.json"))
                envs.append("env.json (parts/%s)" % p)
                if "topology.xml" in names:
                    shutil.copyfile(os.path.join(src, "topology.xml"), os.path.join(d, "topology.xml"))
            else:
                shutil.copyfile(os.path.join(src, "env.json"), os.path.join(d, "env-%s.json" % p))
                envs.append("env-%s.json" % p)
        for n in names:
            if n.startswith("env-") and n.endswith(".json"):
                target = "env-%s-%s" % (p, n[len("env-"):])
                shutil.copyfile(os.path.join(src, n), os.path.join(d, target))
                envs.append(target)

    # the probes job's (scripts/tvp submit without --no-probes): probes.csv and probes.log
    # beside results.csv, where `scripts/tvp report DIR` shows them
    probes = []
    for n in ("probes.csv", "probes.log"):
        src = os.path.join(parts_dir, "probes", n)
        if os.path.isfile(src) and os.path.getsize(src) > 0:
            shutil.copyfile(src, os.path.join(d, n))
            probes.append(n)

    with open(os.path.join(d, "log.txt"), "w", encoding="utf-8") as f:
        for p in parts:
            path = os.path.join(parts_dir, p, "log.txt")
            if os.path.isfile(path):
                f.write("==> parts/%s/log.txt\n" % p)
                with open(path, encoding="utf-8", errors="replace") as g:
                    f.write(g.read())

    total = len(expected) if expected else len(keys)
    summary = ("collect: %d part(s), %d of %d configuration(s) ok, %d not ok, %d not run; %d row(s) -> %s"
               % (len(merged_parts), n_ok, total, len(not_ok), len(missing), len(out_rows), out))
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    with open(os.path.join(d, "collect.log"), "w", encoding="utf-8") as f:
        f.write("%s %s\n" % (now, summary))
        f.write("parts: %s\n" % " ".join(merged_parts))
        f.write("env: %s\n" % (" ".join(envs) or "none"))
        f.write("probes: %s\n" % (" ".join(probes) or "none"))
        for line in problems:
            f.write(line + "\n")
        if missing or not_ok:
            f.write("to run them again: scripts/tvp submit --resume --out %s\n" % d)
    for line in problems:
        print("collect: " + line, file=sys.stderr)
    print(summary)
    if missing or not_ok:
        print("collect: to run them again: scripts/tvp submit --resume --out %s" % d, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
