"""Folder conversion to half size: `resample DIR -o OUT --scale 0.5` against a serial Pillow
loop and ImageMagick's `mogrify`, in the same run.

Run: ``python -m benchmarks.batch [--rounds 3]`` (needs the bench extra; mogrify is skipped
when ImageMagick is not installed).  Goal (issue: batch conversion): at least 1.7x the
throughput of the serial Pillow loop on this 2-core machine.

Two folders of 48 files, both from the 12 real photos below (scikit-image):
- "camera": JPEGs enlarged (Lanczos) to a long side of 4000 pixels, as a camera writes them
  (12-16 Mpx), each photo four times (as is, mirrored, turned, both);
- "mixed": each photo as a JPEG and a PNG, at its own size and enlarged to a long side of up
  to 3000 pixels; PNG encoding (zlib) is most of the work here, the same for every contender;
- "small": each photo's top-left 384x384 (at most) as a JPEG and a PNG, as is and mirrored:
  the start-up of a process and of its workers is most of the time here (goal of the
  compiled-core issue: no slower than the Pillow loop).
Every contender writes the input's format (JPEG quality 95) with a triangle (bilinear) filter
that widens when shrinking.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from benchmarks.common import machine

PHOTOS = ("astronaut", "camera", "chelsea", "coffee", "coins", "moon", "rocket",
          "hubble_deep_field", "immunohistochemistry", "retina", "brick", "gravel")

PILLOW_LOOP = r"""
import os, sys
from PIL import Image
src, dst = sys.argv[1], sys.argv[2]
for name in sorted(os.listdir(src)):
    with Image.open(os.path.join(src, name)) as im:
        out = im.resize((max(1, round(im.width / 2)), max(1, round(im.height / 2))),
                        Image.Resampling.BILINEAR)
        kwargs = {"quality": 95} if name.endswith(".jpg") else {}
        out.save(os.path.join(dst, name), **kwargs)
"""


def make_folder(path, kind):
    """Write the 48 photos of ``kind`` ("camera", "mixed" or "small") into ``path``; return
    their total megapixels."""
    from PIL import Image
    from skimage import data

    os.makedirs(path, exist_ok=True)
    megapixels = 0.0
    for name in PHOTOS:
        im = Image.fromarray(getattr(data, name)())
        if kind == "camera":
            f = 4000 / max(im.size)
            big = im.resize((round(im.width * f), round(im.height * f)), Image.Resampling.LANCZOS)
            for k, pic in enumerate((big, big.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
                                     big.transpose(Image.Transpose.ROTATE_90),
                                     big.transpose(Image.Transpose.TRANSVERSE))):
                pic.save(os.path.join(path, f"{name}-{k}.jpg"), quality=90)
                megapixels += pic.width * pic.height / 1e6
            continue
        if kind == "small":
            crop = im.crop((0, 0, min(384, im.width), min(384, im.height)))
            for tag, pic in (("", crop), ("-m", crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT))):
                pic.save(os.path.join(path, f"{name}{tag}.jpg"), quality=92)
                pic.save(os.path.join(path, f"{name}{tag}.png"))
                megapixels += 2 * pic.width * pic.height / 1e6
            continue
        factor = min(4.0, 3000 / max(im.size))
        big = im.resize((round(im.width * factor), round(im.height * factor)),
                        Image.Resampling.LANCZOS)
        for tag, pic in (("", im), ("-large", big)):
            pic.save(os.path.join(path, f"{name}{tag}.jpg"), quality=92)
            pic.save(os.path.join(path, f"{name}{tag}.png"))
            megapixels += 2 * pic.width * pic.height / 1e6
    return megapixels


# Children keep Python's bytecode cache, as an installed package has it (pip compiles it at
# install); an environment that turns it off would make every run compile our modules.
_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _time(cmd, out):
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=_ENV)
    seconds = time.perf_counter() - t0
    return seconds, sum(e.stat().st_size for e in os.scandir(out))


def _contenders(src, out):
    commands = {
        "resample (all cores)": [sys.executable, "-m", "resample", src, "-o", out,
                                 "--scale", "0.5", "-q"],
        "resample --jobs 1": [sys.executable, "-m", "resample", src, "-o", out,
                              "--scale", "0.5", "-q", "--jobs", "1"],
        "Pillow loop (serial)": [sys.executable, "-c", PILLOW_LOOP, src, out],
    }
    mogrify = shutil.which("mogrify")
    if mogrify:
        commands["ImageMagick mogrify"] = [mogrify, "-path", out, "-filter", "Triangle",
                                           "-resize", "50%", "-quality", "95",
                                           os.path.join(src, "*")]
    return commands


def _table(kind, rounds, work):
    src = os.path.join(work, kind)
    megapixels = make_folder(src, kind)
    n_files = len(os.listdir(src))
    out = os.path.join(work, "out")
    commands = _contenders(src, out)
    times = {name: [] for name in commands}
    sizes = {}
    _time(commands["resample (all cores)"], out)            # warm-up: the page cache
    for _ in range(rounds):
        for name, cmd in commands.items():
            seconds, sizes[name] = _time(cmd, out)
            times[name].append(seconds)
    base = statistics.median(times["Pillow loop (serial)"])
    rows = [f"**{kind}**: {n_files} files, {megapixels:.0f} Mpx", "",
            "| contender | median s (best) | files/s | Mpx/s in | vs Pillow loop | output MB |",
            "|---|---|---|---|---|---|"]
    for name, ts in times.items():
        med = statistics.median(ts)
        rows.append(f"| {name} | {med:.2f} ({min(ts):.2f}) | {n_files / med:.1f} | "
                    f"{megapixels / med:.1f} | {base / med:.2f}x | {sizes[name] / 1e6:.1f} |")
    ratio = base / statistics.median(times["resample (all cores)"])
    return "\n".join(rows), ratio


def run(rounds=3):
    work = tempfile.mkdtemp(prefix="resample-batch-bench-")
    try:
        tables = {kind: _table(kind, rounds, work) for kind in ("camera", "mixed", "small")}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    lines = [f"Machine: {machine()}", ""]
    mogrify = shutil.which("mogrify")
    if mogrify:
        version = subprocess.run([mogrify, "-version"], capture_output=True,
                                 text=True).stdout.splitlines()[0]
        lines += [f"ImageMagick: {version.replace('Version: ', '')}", ""]
    lines += ["Wall time of the whole command, each to half size; "
              f"{rounds} rounds, each running every contender once (after one warm-up run of "
              "ours).", ""]
    for kind, (table, _) in tables.items():
        lines += [table, ""]
    lines.append("resample against the serial Pillow loop: " + ", ".join(
        f"{ratio:.2f}x ({kind})" for kind, (_, ratio) in tables.items())
        + " (goals: at least 1.7x for camera and mixed, at least 1.0x for small).")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(run(args.rounds))


if __name__ == "__main__":
    main()
