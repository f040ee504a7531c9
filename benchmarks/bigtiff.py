"""An image bigger than memory wants: a 30000x30000 RGB tiled BigTIFF (2.7 GB) shrunk to 0.25
and enlarged to 1.5x, by the command (which streams it) and by pyvips (libvips, which also
streams), whole processes, in the same run.

Run: ``python -m benchmarks.bigtiff [--rounds 3] [--dir /tmp/resample-bigtiff]`` (needs the
bench extra and about 20 GB of free disk).  Goals (issue: images bigger than memory): peak
resident memory under 1 GB for both; no slower than pyvips for the shrink, within 1.5x for
the enlargement.

The input is made once, from real photos (scikit-image's): eight of them enlarged to
1024x1024 and laid out 4x4 (each twice, once mirrored), that 4096x4096 mosaic repeated
across the image, mirrored every other time; 256x256 tiles, uncompressed.  Both write a
tiled (256x256), uncompressed TIFF (BigTIFF where it needs to be) with a Lanczos-3 kernel.
libvips's `resize` shrinks by whole factors with a box filter before its Lanczos step (its
default `gap` of 2), so for the shrink it does less work than an exact Lanczos resize, and
its pixels differ (see docs/benchmarks.md).
"""

import argparse
import os
import statistics
import subprocess
import sys
import time

import numpy as np

from benchmarks.common import machine

SIDE = 30000
TILE = 256
PYVIPS = ("import sys, pyvips; im = pyvips.Image.new_from_file(sys.argv[1], access="
          "'sequential'); im.resize(float(sys.argv[3]), kernel='lanczos3').write_to_file("
          "sys.argv[2] + '[tile,tile-width=256,tile-height=256,bigtiff]')")


def mosaic():
    """(4096, 4096, 3) uint8 from eight real photos."""
    import resample
    from skimage import data

    photos = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket(),
              data.immunohistochemistry(), data.retina(), data.hubble_deep_field(),
              data.colorwheel()]
    tiles = [resample.resize(np.ascontiguousarray(p[..., :3]), shape=(1024, 1024),
                             method="lanczos") for p in photos]
    tiles += [t[:, ::-1] for t in tiles]
    rows = [np.concatenate(tiles[r * 4:r * 4 + 4], axis=1) for r in range(4)]
    return np.concatenate(rows)


def make_input(path, side=SIDE):
    """Write the input (unless it exists), tile by tile."""
    import tifffile

    if os.path.exists(path):
        return
    base = mosaic()
    n = base.shape[0]

    def tiles():
        for r0 in range(0, side, TILE):
            for c0 in range(0, side, TILE):
                rows = [(r % n) if (r // n) % 2 == 0 else n - 1 - r % n
                        for r in range(r0, min(side, r0 + TILE))]
                cols = [(c % n) if (c // n) % 2 == 0 else n - 1 - c % n
                        for c in range(c0, min(side, c0 + TILE))]
                yield base[np.ix_(rows, cols)]

    tmp = path + ".part"
    with tifffile.TiffWriter(tmp, bigtiff=True) as tif:
        tif.write(tiles(), shape=(side, side, 3), dtype=np.uint8, tile=(TILE, TILE),
                  photometric="rgb", compression=None, metadata=None)
    os.replace(tmp, path)


def run_process(args):
    """``(seconds, peak resident bytes, stderr)`` of running ``args`` to its end."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{args[:4]} failed: {err.decode()[-400:]}")
    return seconds, usage.ru_maxrss * 1024, err.decode()


def run(rounds=3, folder="/tmp/resample-bigtiff"):
    os.makedirs(folder, exist_ok=True)
    src = os.path.join(folder, "big.tif")
    make_input(src)
    lines = [f"Machine: {machine()}", "",
             f"Input: {SIDE}x{SIDE} RGB, 8-bit, tiled 256x256 BigTIFF, uncompressed "
             f"({os.path.getsize(src) / 1e9:.2f} GB), from real photos; medians of {rounds} "
             "runs, whole processes.", "",
             "| job | resample | pyvips | ratio | goal | peak memory (resample / pyvips) |"
             " result |",
             "|---|---|---|---|---|---|---|"]
    for scale, goal in ((0.25, 1.0), (1.5, 1.5)):
        out = os.path.join(folder, f"out-{scale}.tif")
        ours = [sys.executable, "-m", "resample", src, "-o", out, "--scale", str(scale), "-m",
                "lanczos", "--overwrite"]
        vips = [sys.executable, "-c", PYVIPS, src, out, str(scale)]
        times = {"resample": [], "pyvips": []}
        peaks = {"resample": 0, "pyvips": 0}
        for _ in range(rounds):
            for name, args in (("resample", ours), ("pyvips", vips)):
                seconds, peak, err = run_process(args)
                if name == "resample" and "streamed" not in err:
                    raise RuntimeError(f"the command did not stream: {err}")
                times[name].append(seconds)
                peaks[name] = max(peaks[name], peak)
                os.unlink(out)
        t_ours, t_vips = (statistics.median(times[k]) for k in ("resample", "pyvips"))
        ratio = t_ours / t_vips
        met = ratio <= goal and peaks["resample"] < 1e9
        lines.append(f"| {'shrink to 0.25' if scale < 1 else 'enlarge to 1.5x'} | "
                     f"{t_ours:.2f} s | {t_vips:.2f} s | {ratio:.2f}x | <= {goal}x, < 1 GB | "
                     f"{peaks['resample'] / 2**20:.0f} MiB / {peaks['pyvips'] / 2**20:.0f} MiB"
                     f" | {'met' if met else 'MISSED'} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dir", default="/tmp/resample-bigtiff")
    args = parser.parse_args()
    print(run(args.rounds, args.dir))


if __name__ == "__main__":
    main()
