#!/usr/bin/python3
"""The report of a sweep: DIR/report.md and the plots DIR/plots/*.png and *.svg.

usage: report.py DIR [--no-plots]

DIR holds results.csv (written by `scripts/tvp compare`: a header, then one row per timed
run with the columns status,config,scaling,size and tvp's record, read by name) and
env.json beside it.  report.md gives the machine, a summary (per workload: which model,
threads or processes, wins at the most workers, by how much, and why from the measured
phases), runs that failed or timed out, and per workload the verdict at every worker count,
the break-even size of a size sweep, the plots and per backend the statistics of every
configuration.  When DIR/probes.csv is there (scripts/lib/probes.sh: `tvp-BACKEND probe`
rows), a section after the summary shows what separates processes from threads, measured:
start-up, IPC (with an OSU-style table and a plot), context switches and memory, threads
beside processes.  The same results.csv (and probes.csv) give byte-identical report.md and
SVGs.

The statistics and report.md need only the standard library (Debian's /usr/bin/python3);
the plots need matplotlib (Debian: apt-get install -y --no-install-recommends
python3-matplotlib), and are skipped with a note without it.  --no-plots skips them too.
Old plots in DIR/plots (*.png, *.svg) are replaced.

Exit status: 0 written; 2 bad usage or no readable results.csv.
"""

import csv
import hashlib
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))

import report_probes  # noqa: E402
import report_stats  # noqa: E402
import report_text  # noqa: E402

INSTALL = "apt-get install -y --no-install-recommends python3-matplotlib"


def die(msg):
    print("report.py: " + msg, file=sys.stderr)
    sys.exit(2)


def write_atomic(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    os.replace(tmp, path)


def main(argv):
    args = [a for a in argv if not a.startswith("--")]
    opts = [a for a in argv if a.startswith("--")]
    if "--help" in opts or "-h" in args:
        print(__doc__.strip())
        return 0
    bad = [o for o in opts if o not in ("--no-plots",)]
    if bad or len(args) != 1:
        die("usage: report.py DIR [--no-plots]" + (" (unknown option %s)" % bad[0]
                                                    if bad else ""))
    d = args[0]
    csv_path = os.path.join(d, "results.csv")
    if not os.path.isfile(csv_path):
        die("%s: no such file" % csv_path)
    try:
        with open(csv_path, "rb") as f:
            raw = f.read()
        rows = report_stats.read_csv(csv_path)
    except (OSError, UnicodeDecodeError) as e:
        die("%s: %s" % (csv_path, e))
    if not rows:
        die("%s: no rows" % csv_path)
    env = None
    env_path = os.path.join(d, "env.json")
    if os.path.isfile(env_path):
        try:
            with open(env_path, encoding="utf-8") as f:
                env = json.load(f)
            if not isinstance(env, dict):
                env = None
        except (OSError, ValueError) as e:
            print("report.py: %s: %s (environment left out)" % (env_path, e),
                  file=sys.stderr)

    results = report_stats.Results(rows)

    probes, probes_source = None, None
    probes_path = os.path.join(d, "probes.csv")
    if os.path.isfile(probes_path):
        try:
            with open(probes_path, "rb") as f:
                praw = f.read()
            prows = report_probes.read_csv(probes_path)
            probes = report_probes.Probes(prows)
            probes_source = (len(prows), hashlib.sha256(praw).hexdigest()[:16])
        except (OSError, UnicodeDecodeError, ValueError, csv.Error) as e:
            print("report.py: %s: %s (the probes section is left out)" % (probes_path, e),
                  file=sys.stderr)
        if probes is not None and not probes:
            print("report.py: %s: no probe rows (the probes section is left out)" %
                  probes_path, file=sys.stderr)
            probes = None

    plots, note, files = {}, None, []
    if "--no-plots" in opts:
        note = "Plots skipped (--no-plots)."
    else:
        try:
            import report_plots
        except ImportError as e:
            note = ("Plots skipped: matplotlib is not available to %s (%s).  Install "
                    "Debian's package: `%s`, then run this again." %
                    (sys.executable, e, INSTALL))
            print("report.py: matplotlib is missing (%s): plots skipped; install it with:"
                  "\n    %s" % (e, INSTALL), file=sys.stderr)
    if note is None:
        outdir = os.path.join(d, "plots")
        if os.path.isdir(outdir):
            for name in sorted(os.listdir(outdir)):
                if name.endswith((".png", ".svg")):
                    os.remove(os.path.join(outdir, name))
        plots, files = report_plots.plot_all(results, outdir)
    probe_plots = []
    if note is None and probes is not None:
        probe_plots, pfiles = report_plots.probe_plots(probes, outdir)
        files += pfiles

    source = (len(rows), hashlib.sha256(raw).hexdigest()[:16])
    section = None
    if probes is not None:
        section = report_probes.section(probes, probe_plots, note, probes_source)
    text = report_text.build(results, env, plots, note, source, probes=section)
    out = os.path.join(d, "report.md")
    write_atomic(out, text)
    # the verdict table, for the terminal: report.md's summary section
    at = text.find("## Summary")
    if at >= 0:
        end = text.find("\n## ", at + 1)
        print(text[at:end if end >= 0 else len(text)].rstrip() + "\n")
    if section:
        # the probes' readings: the section's bullets before its first table
        head = []
        for line in section:
            if line.startswith("### "):
                break
            if line.startswith("## "):
                head += [line, ""]
            elif line.startswith("- "):
                head.append(line)
        print("\n".join(head) + "\n")
    print("report.py: wrote %s%s" % (out, ", %d plots (PNG and SVG) in %s" % (
        len(files), os.path.join(d, "plots")) if files else " (no plots)"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
