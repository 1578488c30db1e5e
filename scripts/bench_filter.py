"""tvp's filter kernels against OpenCV, both on one core.

usage: bench_filter.py TVP_SERIAL SCRATCH_DIR [--size N] [--runs R] [--filters LIST]
                       [--csv FILE] [--opencv-only]

For a synthetic SIZE x SIZE gray image and an RGB one (default 4096; written to
SCRATCH_DIR as .pgm and .ppm), and each filter (default gaussian3,gaussian5,sobel):
  - OpenCV 4 with cv2.setNumThreads(1), output buffers allocated beforehand: the median
    wall time of RUNS calls (default 7, at least 5) after one untimed call;
  - tvp-serial filter --in IMAGE --out OUT --filter NAME --repeat RUNS --data scatter
    --format csv: the median of its t_compute column;
  - tvp's output image against OpenCV's: within +-1 for gaussian3, gaussian5, box3 and
    gray (rounding of OpenCV's fixed-point arithmetic), equal for sobel, sharpen, median3.
Prints a table: image, filter, OpenCV ms, tvp ms, OpenCV/tvp (above 1: tvp is faster),
largest difference and the check.  --opencv-only times OpenCV alone (TVP_SERIAL unused).

Needs Debian's /usr/bin/python3 with python3-numpy and python3-opencv (apt, not pip).
Exit status: 0 ok, 1 an output differs from OpenCV's beyond its tolerance, 2 usage,
3 a missing module or a failed tvp run."""

import argparse
import csv
import io
import os
import statistics
import subprocess
import sys
import time

try:
    import cv2
    import numpy as np
except ImportError as e:
    print(f"bench_filter: Python module {e.name} is missing (apt-get install python3-opencv "
          f"python3-numpy; run with /usr/bin/python3)", file=sys.stderr)
    sys.exit(3)

ALL_FILTERS = ("gaussian3", "gaussian5", "box3", "sharpen", "sobel", "median3", "gray")
# largest |tvp - OpenCV| accepted per filter
TOLERANCE = {"gaussian3": 1, "gaussian5": 1, "box3": 1, "gray": 1,
             "sharpen": 0, "sobel": 0, "median3": 0}
REPLICATE = cv2.BORDER_REPLICATE


# ---- images --------------------------------------------------------------------------

def synthetic(size, channels, seed=42):
    """Smooth gradients, a disc and a bright square with sharp edges, plus noise: every
    filter changes something.  uint8, shape (size, size) or (size, size, channels)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    planes = []
    for c in range(channels):
        v = 60 + 80 * x * (c + 1) / channels + 60 * y
        v += np.where((x - 0.5) ** 2 + (y - 0.5) ** 2 < 0.09, 50.0 - 20 * c, 0.0)
        v += np.where((abs(x - 0.2) < 0.08) & (abs(y - 0.75) < 0.1), 90.0, 0.0)
        v += rng.normal(0, 12, (size, size))
        planes.append(np.clip(v, 0, 255).astype(np.uint8))
    return planes[0] if channels == 1 else np.ascontiguousarray(np.dstack(planes))


def write_pnm(path, img):
    """Binary PGM (2-D array) or PPM (3 channels, RGB order)."""
    magic = b"P5" if img.ndim == 2 else b"P6"
    with open(path, "wb") as f:
        f.write(b"%s\n%d %d\n255\n" % (magic, img.shape[1], img.shape[0]))
        f.write(np.ascontiguousarray(img).tobytes())


def read_pnm(path):
    """Binary PGM/PPM with maxval 255 (what tvp writes), as written: RGB order, unlike
    cv2.imread, which gives BGR."""
    with open(path, "rb") as f:
        data = f.read()
    fields, pos = [], 0
    while len(fields) < 4:  # magic, width, height, maxval; comments and whitespace between
        while data[pos:pos + 1].isspace():
            pos += 1
        if data[pos:pos + 1] == b"#":
            pos = data.index(b"\n", pos)
            continue
        end = pos
        while not data[end:end + 1].isspace():
            end += 1
        fields.append(data[pos:end])
        pos = end
    pos += 1  # the single whitespace byte after maxval
    magic, width, height, maxval = fields[0], int(fields[1]), int(fields[2]), int(fields[3])
    if magic not in (b"P5", b"P6") or maxval != 255:
        raise ValueError(f"{path}: not a binary 8-bit PGM/PPM")
    shape = (height, width) if magic == b"P5" else (height, width, 3)
    return np.frombuffer(data, np.uint8, count=int(np.prod(shape)), offset=pos).reshape(shape)


# ---- OpenCV ---------------------------------------------------------------------------

def opencv_filter(name, img):
    """A function of no arguments computing `name` on img into buffers allocated here
    (so the timing has no page faults), and the buffer holding its result."""
    out = np.empty_like(img) if name != "gray" else np.empty(img.shape[:2], np.uint8)
    if name in ("gaussian3", "gaussian5"):
        k = 3 if name == "gaussian3" else 5
        return (lambda: cv2.GaussianBlur(img, (k, k), 0, dst=out, borderType=REPLICATE)), out
    if name == "box3":
        return (lambda: cv2.blur(img, (3, 3), dst=out, borderType=REPLICATE)), out
    if name == "sharpen":
        kernel = np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], np.float32)
        return (lambda: cv2.filter2D(img, -1, kernel, dst=out, borderType=REPLICATE)), out
    if name == "median3":
        return (lambda: cv2.medianBlur(img, 3, dst=out)), out  # border: replicate
    if name == "gray":
        if img.ndim != 3:
            return None, None
        return (lambda: cv2.cvtColor(img, cv2.COLOR_RGB2GRAY, dst=out)), out
    if name == "sobel":
        # min(255, |gx| + |gy|) = saturate(saturate(|gx|) + saturate(|gy|)) over uint8
        gx, gy = np.empty(img.shape, np.int16), np.empty(img.shape, np.int16)
        ax, ay = np.empty_like(img), np.empty_like(img)

        def sobel():
            cv2.Sobel(img, cv2.CV_16S, 1, 0, dst=gx, ksize=3, borderType=REPLICATE)
            cv2.Sobel(img, cv2.CV_16S, 0, 1, dst=gy, ksize=3, borderType=REPLICATE)
            cv2.convertScaleAbs(gx, dst=ax)
            cv2.convertScaleAbs(gy, dst=ay)
            cv2.add(ax, ay, dst=out)
        return sobel, out
    raise ValueError(name)


def time_median_ms(fn, runs):
    fn()  # untimed: first-call costs
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times)


# ---- tvp --------------------------------------------------------------------------------

def run_tvp(tvp, in_path, out_path, name, runs):
    """tvp's output image and the median of its t_compute (ms)."""
    cmd = [tvp, "filter", "--in", in_path, "--out", out_path, "--filter", name,
           "--repeat", str(runs), "--data", "scatter", "--format", "csv"]
    p = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if p.returncode != 0:
        print(f"bench_filter: {' '.join(cmd)}: exit {p.returncode}: {p.stderr.strip()}",
              file=sys.stderr)
        sys.exit(3)
    rows = list(csv.DictReader(io.StringIO(p.stdout)))
    if not rows or "t_compute" not in rows[0]:
        print(f"bench_filter: {' '.join(cmd)}: no t_compute in its CSV", file=sys.stderr)
        sys.exit(3)
    ms = 1e3 * statistics.median(float(r["t_compute"]) for r in rows)
    return read_pnm(out_path), ms


# ---- main --------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description="tvp's filter kernels against OpenCV, one core.")
    ap.add_argument("tvp", help="the tvp-serial executable")
    ap.add_argument("scratch", help="folder for the images (created if missing)")
    ap.add_argument("--size", type=int, default=4096, help="image side (default 4096)")
    ap.add_argument("--runs", type=int, default=7, help="timed runs (default 7, at least 5)")
    ap.add_argument("--filters", default="gaussian3,gaussian5,sobel",
                    help="comma separated, from: " + ",".join(ALL_FILTERS))
    ap.add_argument("--csv", help="also write the table as CSV to this file")
    ap.add_argument("--opencv-only", action="store_true", help="time OpenCV alone")
    a = ap.parse_args()
    filters = a.filters.split(",")
    bad = [f for f in filters if f not in ALL_FILTERS]
    if bad or a.runs < 5 or a.size < 1:
        ap.error(f"unknown filter '{bad[0]}'" if bad else
                 "--runs must be at least 5" if a.runs < 5 else "--size must be positive")
    if not a.opencv_only and not os.access(a.tvp, os.X_OK):
        ap.error(f"{a.tvp}: not an executable")
    os.makedirs(a.scratch, exist_ok=True)
    cv2.setNumThreads(1)

    header = ["image", "filter", "opencv_ms", "tvp_ms", "opencv/tvp", "max_diff", "check"]
    table, failed = [], False
    for label, channels, ext in (("gray", 1, "pgm"), ("rgb", 3, "ppm")):
        img = synthetic(a.size, channels)
        in_path = os.path.join(a.scratch, f"bench-{label}-{a.size}.{ext}")
        write_pnm(in_path, img)
        image = f"{label} {a.size}x{a.size}"
        for name in filters:
            fn, want = opencv_filter(name, img)
            if fn is None:  # gray of a gray image
                continue
            cv_ms = time_median_ms(fn, a.runs)
            row = [image, name, f"{cv_ms:.2f}", "-", "-", "-", "-"]
            if not a.opencv_only:
                out_ext = "pgm" if name == "gray" or channels == 1 else "ppm"
                out_path = os.path.join(a.scratch, f"out-{label}-{name}.{out_ext}")
                got, tvp_ms = run_tvp(a.tvp, in_path, out_path, name, a.runs)
                os.remove(out_path)
                if got.shape != want.shape:
                    diff, ok = "shape", False
                else:
                    d = int(np.abs(got.astype(np.int16) - want.astype(np.int16)).max())
                    diff, ok = str(d), d <= TOLERANCE[name]
                failed |= not ok
                row[3:] = [f"{tvp_ms:.2f}", f"{cv_ms / tvp_ms:.2f}", diff,
                           "ok" if ok else f"DIFFERS (tolerance {TOLERANCE[name]})"]
            table.append(row)
            print("bench_filter: " + " ".join(row), file=sys.stderr, flush=True)  # progress

    widths = [max(len(r[i]) for r in [header] + table) for i in range(len(header))]
    for r in [header] + table:
        print("  ".join(v.ljust(w) if i < 2 else v.rjust(w)
                        for i, (v, w) in enumerate(zip(r, widths))).rstrip())
    print(f"OpenCV {cv2.__version__}, cv2.setNumThreads(1); median of {a.runs} runs; tvp: "
          f"median t_compute of tvp-serial --repeat {a.runs}")
    if a.csv:
        with open(a.csv, "w", newline="") as f:
            csv.writer(f).writerows([header] + table)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
