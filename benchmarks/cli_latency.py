"""CLI latency: the whole `resample` process (start, imports, decode, compute, encode) against a
Pillow script doing the same job, in paired runs (one of each per round), medians.

Run: ``python -m benchmarks.cli_latency [--rounds 11] [--gpu-site FOLDER]``.  Goals:
- a 384x384 PNG halved, and the same with --overwrite, --strip, into WebP, with
  --size '200x200>', with --boundary edge, with --linear, an RGBA PNG and a 16-bit RGB PNG:
  at most 1.3x the Pillow script doing the same job (Pillow reduces 16-bit colour to 8 bits,
  and resamples gamma-encoded values);
- a 12 Mpx camera JPEG halved, and one turned by its EXIF orientation: at most 1.0x;
- a 512x512 PNG enlarged 2x with gri: at most 1.5x the Pillow script (bicubic, its nearest);
- a shell loop over 10 small PNGs, one process per file: at most 1.5x a Pillow script per file;
- the first run after install at most 2x a warm run (no JIT: there is nothing to compile).
``--gpu-site FOLDER`` (a folder holding CuPy, e.g. ``pip install --target FOLDER
cupy-cuda12x fastrlock``) runs the 384x384 rows again with CuPy importable, as with the
``[gpu]`` extra installed: a CPU job must not pay for it.

The photos are real (scikit-image): astronaut cropped to 384x384 (RGB, and RGBA with a
gradient alpha), coffee enlarged to 512x512 and to 4000x3000 (a camera JPEG), and ten
256x256 crops of other photos.
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
    out.save(dst, **({"quality": 95} if dst.endswith((".jpg", ".webp")) else {}))
"""
# A camera JPEG turned upright by its EXIF orientation, then halved.
PILLOW_TURN = r"""
import sys
from PIL import Image, ImageOps
src, dst = sys.argv[1], sys.argv[2]
with Image.open(src) as im:
    im = ImageOps.exif_transpose(im)
    im.resize((round(im.width / 2), round(im.height / 2)), Image.Resampling.BILINEAR).save(
        dst, quality=95)
"""
# --size '200x200>': fit inside 200x200, only if larger (as ImageMagick's geometry).
PILLOW_FIT = r"""
import sys
from PIL import Image
src, dst = sys.argv[1], sys.argv[2]
with Image.open(src) as im:
    if im.width > 200 or im.height > 200:
        f = min(200 / im.width, 200 / im.height)
        im = im.resize((max(1, round(im.width * f)), max(1, round(im.height * f))),
                       Image.Resampling.BILINEAR)
    im.save(dst)
"""


def make_inputs(folder):
    import numpy as np
    from PIL import Image
    from skimage import data

    photo = data.astronaut()[:384, :384]
    Image.fromarray(photo).save(os.path.join(folder, "photo.png"))
    alpha = np.linspace(0, 255, 384 * 384).reshape(384, 384).astype(np.uint8)
    Image.fromarray(np.dstack([photo, alpha])).save(os.path.join(folder, "rgba.png"))
    coffee = Image.fromarray(data.coffee())
    coffee.resize((512, 512), Image.Resampling.LANCZOS).save(os.path.join(folder, "small.png"))
    camera = coffee.resize((4000, 3000), Image.Resampling.LANCZOS)
    camera.save(os.path.join(folder, "camera.jpg"), quality=90)
    exif = Image.Exif()
    exif[0x0112] = 6                                   # shot upright: turn a quarter
    camera.save(os.path.join(folder, "turned.jpg"), quality=90, exif=exif.tobytes())
    from resample.formats.images import write_png

    with open(os.path.join(folder, "photo16.png"), "wb") as f:
        write_png(f, photo.astype(np.uint16) * 257)
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


def _run(cmd, env=None, before=None):
    """Seconds the process ``cmd`` takes (``before``: done first, not timed)."""
    if before is not None:
        before()
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env or _ENV)
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


def small_jobs(tmp, out, env=None, tag=""):
    """The 384x384 rows: (label, goal, ours, Pillow's)."""
    resample = [os.path.join(os.path.dirname(sys.executable), "resample")]
    py, fit = [sys.executable, "-c", PILLOW], [sys.executable, "-c", PILLOW_FIT]
    photo, rgba = os.path.join(tmp, "photo.png"), os.path.join(tmp, "rgba.png")
    mine, theirs = os.path.join(out, "mine.png"), os.path.join(out, "theirs.png")

    def fresh(path):                   # --overwrite: the input is replaced each time
        return lambda: shutil.copyfile(photo, path)

    def job(label, ours, pillow, before=(None, None)):
        return (label + tag, 1.3, lambda: _run(resample + ours + ["-q"], env, before[0]),
                lambda: _run(pillow, env, before[1]))

    return [
        job("384x384 PNG halved", [photo, "-o", f"{out}/a.png", "--scale", "0.5"],
            py + [photo, f"{out}/b.png", "0.5", "BILINEAR"]),
        job("384x384 PNG halved, --overwrite", [mine, "-o", mine, "--scale", "0.5",
                                               "--overwrite"],
            py + [theirs, theirs, "0.5", "BILINEAR"], (fresh(mine), fresh(theirs))),
        job("384x384 PNG halved, --strip", [photo, "-o", f"{out}/c.png", "--scale", "0.5",
                                           "--strip"],
            py + [photo, f"{out}/d.png", "0.5", "BILINEAR"]),
        job("384x384 PNG halved into WebP", [photo, "-o", f"{out}/e.webp", "--scale", "0.5"],
            py + [photo, f"{out}/f.webp", "0.5", "BILINEAR"]),
        job("384x384 PNG, --size '200x200>'", [photo, "-o", f"{out}/g.png", "--size",
                                              "200x200>"],
            fit + [photo, f"{out}/h.png"]),
        job("384x384 RGBA PNG halved", [rgba, "-o", f"{out}/i.png", "--scale", "0.5"],
            py + [rgba, f"{out}/j.png", "0.5", "BILINEAR"]),
        job("384x384 PNG halved, --boundary edge", [photo, "-o", f"{out}/k.png", "--scale",
                                                    "0.5", "--boundary", "edge"],
            py + [photo, f"{out}/l.png", "0.5", "BILINEAR"]),
        job("384x384 PNG halved, --linear (Pillow: gamma-encoded)",
            [photo, "-o", f"{out}/o.png", "--scale", "0.5", "--linear"],
            py + [photo, f"{out}/p.png", "0.5", "BILINEAR"]),
        job("384x384 16-bit RGB PNG halved (Pillow: to 8 bits)",
            [os.path.join(tmp, "photo16.png"), "-o", f"{out}/m.png", "--scale", "0.5"],
            py + [os.path.join(tmp, "photo16.png"), f"{out}/n.png", "0.5", "BILINEAR"]),
    ]


def run(rounds=11, gpu_site=None):
    resample = [sys.executable, "-m", "resample"]
    py = [sys.executable, "-c", PILLOW]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        loop = make_inputs(tmp)
        small, camera = os.path.join(tmp, "small.png"), os.path.join(tmp, "camera.jpg")
        turned = os.path.join(tmp, "turned.jpg")
        out = os.path.join(tmp, "out")
        os.makedirs(out)
        jobs = small_jobs(tmp, out)
        if gpu_site:
            env = dict(_ENV, PYTHONPATH=os.pathsep.join(
                [gpu_site] + ([_ENV["PYTHONPATH"]] if _ENV.get("PYTHONPATH") else [])))
            subprocess.run([sys.executable, "-c", "import cupy"], check=True, env=env)
            jobs += small_jobs(tmp, out, env, " (CuPy installed)")
        jobs += [
            ("512x512 PNG enlarged 2x (gri; Pillow bicubic)", 1.5,
             lambda: _run(resample + [small, "-o", f"{out}/a.png", "--method", "gri",
                                      "--scale", "2", "-q"]),
             lambda: _run(py + [small, f"{out}/b.png", "2", "BICUBIC"])),
            ("12 Mpx JPEG halved (bilinear)", 1.0,
             lambda: _run(resample + [camera, "-o", f"{out}/a.jpg", "--scale", "0.5", "-q"]),
             lambda: _run(py + [camera, f"{out}/b.jpg", "0.5", "BILINEAR"])),
            ("12 Mpx JPEG, EXIF orientation 6, halved", 1.0,
             lambda: _run(resample + [turned, "-o", f"{out}/c.jpg", "--scale", "0.5", "-q"]),
             lambda: _run([sys.executable, "-c", PILLOW_TURN, turned, f"{out}/d.jpg"])),
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

        caches = [os.path.join(folder, "__pycache__") for folder, _, _ in
                  os.walk(os.path.dirname(pkg.__file__))]
        first = []
        for _ in range(3):
            for cache in caches:
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
                      f"Command: `python -m benchmarks.cli_latency --rounds {rounds}"
                      + (f" --gpu-site {gpu_site}" if gpu_site else "") + "` "
                      "(medians of paired runs)", ""] + head + rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--gpu-site", help="a folder holding CuPy (as the [gpu] extra)")
    args = parser.parse_args()
    print(run(args.rounds, args.gpu_site))


if __name__ == "__main__":
    main()
