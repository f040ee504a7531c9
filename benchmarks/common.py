"""Shared pieces: the machine description, real photos, and timing in rounds."""

import datetime
import os
import platform
import statistics
import time

import numpy as np


def machine():
    """One line naming the machine, the date and the library versions."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    import PIL

    from resample import _core

    engine = "C++ engine" + (" with OpenMP" if _core.openmp() else ", one thread")
    parts = [f"{cpu}, {os.cpu_count()} cores", f"Python {platform.python_version()}",
             f"NumPy {np.__version__}", engine, f"Pillow {PIL.__version__}"]
    from importlib import metadata

    seen = set()
    for label, dist in (("OpenCV", "opencv-python-headless"), ("OpenCV", "opencv-python"),
                        ("SciPy", "scipy"), ("pyvips", "pyvips"), ("libvips", "pyvips-binary"),
                        ("resampler", "resampler"), ("torch", "torch")):
        try:
            if label not in seen:
                parts.append(f"{label} {metadata.version(dist)}")
                seen.add(label)
        except metadata.PackageNotFoundError:
            pass
    return f"{datetime.date.today().isoformat()}; " + "; ".join(parts)


def photo_4k():
    """A real photograph (scikit-image's coffee, 400x600) cropped to 16:9 and enlarged to
    3840x2160 with Pillow LANCZOS: RGB uint8, shape (2160, 3840, 3)."""
    from PIL import Image
    from skimage import data

    img = data.coffee()[31:369]                         # 338 x 600, about 16:9
    return np.asarray(Image.fromarray(img).resize((3840, 2160), Image.Resampling.LANCZOS))


def time_rounds(contenders, rounds=11, warmup=2, pause=0.05):
    """Time each zero-argument callable once per round, for ``rounds`` rounds, so that a drift
    of a shared machine hits every contender alike; each round starts one contender later
    than the one before, so that none always follows the same one.  A short pause before
    each call lets the previous library's idle worker threads (OpenMP, OpenCV) stop spinning.
    Returns {name: (median_s, best_s)}."""
    for _ in range(warmup):
        for fn in contenders.values():
            fn()
    times = {name: [] for name in contenders}
    order = list(contenders.items())
    for r in range(rounds):
        k = r % len(order)
        for name, fn in order[k:] + order[:k]:
            time.sleep(pause)
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: (statistics.median(v), min(v)) for name, v in times.items()}
