"""A folder of 200 photos to half size, by the plain command and by `--scheduler` on a local
dask.distributed cluster of 2 worker processes (1 thread each), in the same run: both
complete, the outputs are compared, and the difference per file is the cluster's overhead
(sending each file as a task, a worker reading and writing it, results coming back).

Run: ``python -m benchmarks.cluster [--rounds 3]`` (needs the dask and bench extras).  The
cluster is started once, before the timings, as a user's existing cluster would be.

The 200 photos: scikit-image's 12 real photos, each enlarged to a long side of 1200 pixels
and cut into crops of 60-100% of it at different places (JPEG quality 90, and every fifth one
a PNG), about 0.6 Mpx each.
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

from benchmarks.batch import PHOTOS, _ENV
from benchmarks.common import machine

N_FILES = 200


def make_folder(path):
    from PIL import Image
    from skimage import data

    os.makedirs(path, exist_ok=True)
    rng = np.random.default_rng(0)
    for k in range(N_FILES):
        name = PHOTOS[k % len(PHOTOS)]
        im = Image.fromarray(getattr(data, name)())
        f = 1200 / max(im.size)
        im = im.resize((round(im.width * f), round(im.height * f)), Image.Resampling.LANCZOS)
        share = rng.uniform(0.6, 1.0)
        w, h = round(im.width * share), round(im.height * share)
        x, y = rng.integers(0, im.width - w + 1), rng.integers(0, im.height - h + 1)
        crop = im.crop((int(x), int(y), int(x) + w, int(y) + h))
        if k % 5 == 4:
            crop.save(os.path.join(path, f"{k:03d}-{name}.png"))
        else:
            crop.save(os.path.join(path, f"{k:03d}-{name}.jpg"), quality=90)


def _run(cmd, out):
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                          env=_ENV)
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        raise RuntimeError(f"{cmd[3:]} failed: {done.stderr[-400:]}")
    return seconds


def _same_outputs(a, b):
    from PIL import Image

    names = sorted(os.listdir(a))
    assert names == sorted(os.listdir(b)) and len(names) == N_FILES, (len(names), a, b)
    for name in names:
        pa, pb = (np.asarray(Image.open(os.path.join(d, name))) for d in (a, b))
        if not np.array_equal(pa, pb):
            return False
    return True


def run(rounds=3):
    from distributed import LocalCluster

    work = tempfile.mkdtemp(prefix="resample-cluster-")
    try:
        src = os.path.join(work, "photos")
        make_folder(src)
        plain_out, cluster_out = os.path.join(work, "plain"), os.path.join(work, "cluster")
        base = [sys.executable, "-m", "resample", src, "--scale", "0.5", "-q"]
        times = {"plain": [], "cluster": []}
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster:
            for _ in range(rounds):
                times["plain"].append(_run(base + ["-o", plain_out], plain_out))
                times["cluster"].append(_run(base + ["-o", cluster_out, "--scheduler",
                                                     cluster.scheduler_address], cluster_out))
        same = _same_outputs(plain_out, cluster_out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    plain, on_cluster = (statistics.median(times[k]) for k in ("plain", "cluster"))
    per_file = (on_cluster - plain) / N_FILES * 1000
    return "\n".join([
        f"Machine: {machine()}", "",
        f"{N_FILES} photos (about 0.6 Mpx each, JPEG and PNG) to half size; medians of "
        f"{rounds} runs, whole processes.", "",
        "| command | time | per file | outputs |", "|---|---|---|---|",
        f"| `resample photos/ -o out/ --scale 0.5` | {plain:.2f} s | "
        f"{plain / N_FILES * 1000:.1f} ms | |",
        f"| the same with `--scheduler` (LocalCluster, 2 worker processes) | {on_cluster:.2f} s"
        f" | {on_cluster / N_FILES * 1000:.1f} ms | {'the same pixels' if same else 'DIFFER'}"
        " |",
        f"| overhead of the cluster | {on_cluster - plain:+.2f} s | {per_file:+.1f} ms | |"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(run(args.rounds))


if __name__ == "__main__":
    main()
