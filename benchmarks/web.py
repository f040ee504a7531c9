"""Web sizes: a folder of camera-sized JPEGs to 1600 pixels wide (JPEG quality 95), by the
command against a libvips `thumbnail` loop (pyvips, and `vipsthumbnail` when installed) and a
Pillow `thumbnail()` loop, whole processes, in the same run; with each one's quality: the
mean absolute difference of its pixels (written as PNG, in a separate untimed run) from
every pixel decoded and resized with Lanczos-3.

Run: ``python -m benchmarks.web [--rounds 3] [--width 1600]``.  Goal (issue: web-size
batches): ours at most libvips' time, within a level of the full decode.

The folder is benchmarks.batch's "camera" one: 12 real photos (scikit-image's) enlarged to a
long side of 4000 pixels, each four ways (as is, mirrored, turned, both), JPEG quality 90.
A 4000-pixel-wide photo to 1600 is a 2.5x shrink, a turned one (2667 to 3000 wide) less:
neither decodes smaller (resample.spec.geometry.jpeg_draft_scale, and libvips' own rule,
decode smaller only from a 4x shrink); `--width 400` shows the other case.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

from benchmarks.batch import _ENV, make_folder
from benchmarks.common import machine

PYVIPS_LOOP = r"""
import os, sys, pyvips
src, dst, width, ext = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
for name in sorted(os.listdir(src)):
    out = os.path.join(dst, os.path.splitext(name)[0] + ext)
    im = pyvips.Image.thumbnail(os.path.join(src, name), width, height=10000000)
    im.write_to_file(out + ("[Q=95]" if ext == ".jpg" else ""))
"""

PILLOW_LOOP = r"""
import os, sys
from PIL import Image
src, dst, width, ext = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
for name in sorted(os.listdir(src)):
    with Image.open(os.path.join(src, name)) as im:
        im.thumbnail((width, 10000000))
        out = os.path.join(dst, os.path.splitext(name)[0] + ext)
        im.save(out, **({"quality": 95} if ext == ".jpg" else {}))
"""


def _commands(src, out, width, ext):
    fmt = ext.lstrip(".")
    commands = {
        "resample (whole command)": [sys.executable, "-m", "resample", src, "-o", out,
                                     "--size", f"{width}x", "-m", "lanczos", "--format", fmt,
                                     "-q"],
        "pyvips thumbnail loop": [sys.executable, "-c", PYVIPS_LOOP, src, out, str(width), ext],
        "Pillow thumbnail() loop": [sys.executable, "-c", PILLOW_LOOP, src, out, str(width),
                                    ext],
    }
    vipsthumbnail = shutil.which("vipsthumbnail")
    if vipsthumbnail:
        commands["vipsthumbnail"] = [vipsthumbnail, "--size", f"{width}x", "-o",
                                     os.path.join(out, f"%s{ext}[Q=95]"),
                                     *sorted(os.path.join(src, n) for n in os.listdir(src))]
    return commands


def _run(cmd, out):
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env=_ENV)
    return time.perf_counter() - t0


def _quality(src, out, width):
    """Mean absolute difference (levels) from every pixel decoded and resized with Lanczos-3,
    over the files whose sizes match the reference's; and how many matched."""
    from PIL import Image

    import resample
    from resample.formats import images

    diffs, matched = [], 0
    for name in sorted(os.listdir(src)):
        full = images.load(os.path.join(src, name)).array
        got = np.asarray(Image.open(os.path.join(out, os.path.splitext(name)[0] + ".png")))
        if got.shape[1] != width:
            continue
        want = resample.resize(full, shape=got.shape[:2], method="lanczos",
                               boundary="truncate")
        diffs.append(np.abs(got.astype(np.int64) - want).mean())
        matched += 1
    return float(np.mean(diffs)) if diffs else float("nan"), float(np.max(diffs)), matched


def run(rounds=3, width=1600):
    work = tempfile.mkdtemp(prefix="resample-web-bench-")
    try:
        src = os.path.join(work, "camera")
        make_folder(src, "camera")
        n_files = len(os.listdir(src))
        out = os.path.join(work, "out")
        commands = _commands(src, out, width, ".jpg")
        times = {name: [] for name in commands}
        _run(commands["resample (whole command)"], out)        # warm-up: the page cache
        for _ in range(rounds):
            for name, cmd in commands.items():
                times[name].append(_run(cmd, out))
        quality = {}
        for name, cmd in _commands(src, out, width, ".png").items():
            _run(cmd, out)
            quality[name] = _quality(src, out, width)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    vips = statistics.median(times["pyvips thumbnail loop"])
    lines = [f"Machine: {machine()}", "",
             f"{n_files} camera-sized JPEGs (4000 pixels on the long side, real photos) to "
             f"{width} pixels wide, JPEG quality 95; medians of {rounds} rounds, whole "
             "processes. Quality: mean absolute difference from every pixel decoded and "
             "resized with Lanczos-3 (mean over the files, and the worst file), measured on "
             "PNG outputs in a separate run.", "",
             "| contender | median s (best) | files/s | vs pyvips | MAD mean (worst) |",
             "|---|---|---|---|---|"]
    for name, ts in times.items():
        med = statistics.median(ts)
        mean, worst, matched = quality[name]
        size_note = "" if matched == n_files else f", {matched} of {n_files} at this width"
        lines.append(f"| {name} | {med:.2f} ({min(ts):.2f}) | {n_files / med:.1f} | "
                     f"{vips / med:.2f}x | {mean:.2f} ({worst:.2f}){size_note} |")
    ours = statistics.median(times["resample (whole command)"])
    mean, worst, _ = quality["resample (whole command)"]
    met = ours <= vips and worst <= 1.0
    lines += ["", f"Goal: at most pyvips' time ({ours:.2f} s against {vips:.2f} s) within a "
              f"level of the full decode (worst {worst:.2f}): {'met' if met else 'MISSED'}."]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--width", type=int, default=1600)
    args = parser.parse_args()
    print(run(args.rounds, args.width))


if __name__ == "__main__":
    main()
