"""GMM reconstruction and gradients, timed for whichever `resample` is importable: run it
under two engines to compare them on the same points.

Run: ``python -m benchmarks.gmm_engines``.  To compare with the numba engine this package
replaced (the compiled-core issue's goal: no slower), in a separate virtual environment with
numba, NumPy and scikit-image::

    git worktree add /tmp/numba-engine 919347d^
    PYTHONPATH=/tmp/numba-engine python benchmarks/gmm_engines.py

Random distinct pixels (a fixed seed) of three photos at 1%, 5% and 20%; ``reconstruct`` with
sigma="auto" and ``reconstruct_vjp`` (sigma 1.5, gradient of ones); best of 7 after a warm-up.
"""

import time

import numpy as np


def run(rounds=7):
    import resample
    from skimage import data

    rng = np.random.default_rng(7)
    lines = ["| photo | points | reconstruct ms | reconstruct_vjp ms |", "|---|---|---|---|"]
    for name in ("camera", "astronaut", "coffee"):
        img = getattr(data, name)().astype(np.float64)
        h, w = img.shape[:2]
        for frac in (0.01, 0.05, 0.2):
            n = int(frac * h * w)
            idx = rng.choice(h * w, n, replace=False)
            ys, xs = np.divmod(idx, w)
            xy = np.stack([xs, ys], 1).astype(float)
            v = img[ys, xs]
            grad = np.ones(img.shape)
            sigma = np.full(n, 1.5)
            times = []
            for call in (lambda: resample.reconstruct(xy, v, (h, w)),
                         lambda: resample.reconstruct_vjp(xy, v, (h, w), grad, sigma=sigma)):
                call()
                best = float("inf")
                for _ in range(rounds):
                    t0 = time.perf_counter()
                    call()
                    best = min(best, time.perf_counter() - t0)
                times.append(best * 1e3)
            lines.append(f"| {name} | {frac:.0%} ({n}) | {times[0]:.1f} | {times[1]:.1f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(run())
