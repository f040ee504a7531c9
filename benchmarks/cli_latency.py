"""CLI latency: the whole `resample` process (start, imports, decode, compute, encode) against a
Pillow script doing the same job, in paired runs (one of each per round), medians.

Run: ``python -m benchmarks.cli_latency [--rounds 11]``.  Goals (issue: a compiled CPU core):
- a 512x512 PNG enlarged 2x with gri: at most 1.5x the Pillow script (bicubic, its nearest);
- a 12 Mpx camera JPEG halved: at most 1.0x;
- a shell loop over 10 small PNGs, one process per file: at most 1.5x a Pillow script per file;
- the first run after install at most 2x a warm run (no JIT: there is nothing to compile).

The photos are real (scikit-image): coffee enlarged to 512x512 and to 4000x3000 (a camera JPEG),
and ten 256x256 crops of other photos.
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

PILLOW = r"""
import sys
from PIL import Image
src, dst, scale, method = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
with Image.open(src) as im:
    size = (round(im.width * scale), round(im.height * scale))
    out = im.resize(size, getattr(Image.Resampling, method))
    out.save(dst, **({"quality": 95} if dst.endswith(".jpg") else {}))
"""


def make_inputs(folder):
    from PIL import Image
    from skimage import data

    coffee = Image.fromarray(data.coffee())
    coffee.resize((512, 512), Image.Resampling.LANCZOS).save(os.path.join(folder, "small.png"))
    coffee.resize((4000, 3000), Image.Resampling.LANCZOS).save(
        os.path.join(folder, "camera.jpg"), quality=90)
    loop = os.path.join(folder, "loop")
    os.makedirs(loop)
    for k, name in enumerate(("astronaut", "chelsea", "rocket", "coins", "camera", "moon",
                              "hubble_deep_field", "immunohistochemistry", "retina", "brick")):
        a = getattr(data, name)()
        Image.fromarray(a[:256, :256]).save(os.path.join(loop, f"p{k}.png"))
    return loop


# Children keep Python's bytecode cache, as an installed package has it (pip compiles it at
# install); an environment that turns it off would make every run compile our modules.
_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _run(cmd):
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=_ENV)
    return time.perf_counter() - t0


def _paired(commands, rounds):
    """{name: median seconds}, one run of each command per round (after one warm-up each)."""
    for cmd in commands.values():
        cmd()
    times = {name: [] for name in commands}
    for _ in range(rounds):
        for name, cmd in commands.items():
            times[name].append(cmd())
    return {name: statistics.median(t) for name, t in times.items()}


def run(rounds=11):
    resample = [sys.executable, "-m", "resample"]
    py = [sys.executable, "-c", PILLOW]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        loop = make_inputs(tmp)
        small, camera = os.path.join(tmp, "small.png"), os.path.join(tmp, "camera.jpg")
        out = os.path.join(tmp, "out")
        os.makedirs(out)
        jobs = [
            ("512x512 PNG enlarged 2x (gri; Pillow bicubic)", 1.5,
             lambda: _run(resample + [small, "-o", f"{out}/a.png", "--method", "gri",
                                      "--scale", "2", "-q"]),
             lambda: _run(py + [small, f"{out}/b.png", "2", "BICUBIC"])),
            ("12 Mpx JPEG halved (bilinear)", 1.0,
             lambda: _run(resample + [camera, "-o", f"{out}/a.jpg", "--scale", "0.5", "-q"]),
             lambda: _run(py + [camera, f"{out}/b.jpg", "0.5", "BILINEAR"])),
        ]
        names = sorted(os.listdir(loop))
        jobs.append((f"shell loop, {len(names)} 256x256 PNGs halved, per file", 1.5,
                     lambda: sum(_run(resample + [os.path.join(loop, n), "-o",
                                                  f"{out}/l{n}", "--scale", "0.5", "-q"])
                                 for n in names) / len(names),
                     lambda: sum(_run(py + [os.path.join(loop, n), f"{out}/m{n}", "0.5",
                                            "BILINEAR"]) for n in names) / len(names)))
        for label, goal, ours, pillow in jobs:
            t = _paired({"ours": ours, "pillow": pillow}, rounds)
            ratio = t["ours"] / t["pillow"]
            rows.append(f"| {label} | {t['ours'] * 1e3:.0f} ms | {t['pillow'] * 1e3:.0f} ms | "
                        f"{ratio:.2f}x | {goal:.1f}x | {'met' if ratio <= goal else 'MISSED'} |")
        # The first run after install: no JIT cache to fill; Python's bytecode cache is the
        # only thing a first run writes.  Measured with the bytecode cache of the package
        # removed, against a warm run.
        import resample as pkg

        cache = os.path.join(os.path.dirname(pkg.__file__), "__pycache__")
        first = []
        for _ in range(3):
            shutil.rmtree(cache, ignore_errors=True)
            first.append(_run(resample + [small, "-o", f"{out}/f.png", "--scale", "2", "-q"]))
        warm = statistics.median(_run(resample + [small, "-o", f"{out}/w.png", "--scale", "2",
                                                  "-q"]) for _ in range(5))
        ratio = statistics.median(first) / warm
        rows.append(f"| first run after install (no bytecode cache) vs warm | "
                    f"{statistics.median(first) * 1e3:.0f} ms | {warm * 1e3:.0f} ms (warm) | "
                    f"{ratio:.2f}x | 2.0x | {'met' if ratio <= 2 else 'MISSED'} |")
    head = ["| job (whole process) | resample | Pillow script | ratio | goal | |",
            "|---|---|---|---|---|---|"]
    return "\n".join([f"Machine: {machine()}", "",
                      f"Command: `python -m benchmarks.cli_latency --rounds {rounds}` "
                      "(medians of paired runs)", ""] + head + rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=11)
    print(run(parser.parse_args().rounds))


if __name__ == "__main__":
    main()
