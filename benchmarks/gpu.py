"""GPU: check the CUDA engine against the CPU engine, then time it against the peers.

Run on a machine with CuPy and a CUDA device: ``python -m benchmarks.gpu [--rounds 50]``.
Without one it says so and exits 0.  Goals (issue: GPU path): every resize faster than the
torch equivalent and above 50% of the bandwidth floor; GMM forward for 10M points into
4096x4096 under 50 ms.

Timings are medians of CUDA-event intervals after a warm-up, inputs already on the device.
The bandwidth floor of a resize is (bytes read + bytes written) / the measured bandwidth of a
large device-to-device copy.
"""

import argparse
import statistics
import sys

import numpy as np

import resample
from resample import devices

RESIZE_METHODS = ("bilinear", "bicubic", "gri", "lanczos")
TORCH_MODES = {"bilinear": "bilinear", "bicubic": "bicubic"}


def _timer(cp, fn, rounds):
    """Median milliseconds of ``fn()`` between CUDA events, after two warm-up calls."""
    fn()
    fn()
    cp.cuda.Device().synchronize()
    times = []
    for _ in range(rounds):
        start, stop = cp.cuda.Event(), cp.cuda.Event()
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        times.append(cp.cuda.get_elapsed_time(start, stop))
    return statistics.median(times)


def copy_bandwidth(cp, rounds):
    """Bytes per second of a 1 GiB device-to-device copy (read + written)."""
    a = cp.random.random(1 << 27, dtype=cp.float64)        # 1 GiB
    b = cp.empty_like(a)
    ms = _timer(cp, lambda: b.__setitem__(slice(None), a), rounds)
    return 2 * a.nbytes / (ms / 1e3)


def check(cp):
    """GPU against CPU on a real photo and on random data; raises on a mismatch."""
    from skimage import data

    rng = np.random.default_rng()
    photo = data.astronaut()
    for method in RESIZE_METHODS + ("nearest",):
        for shape in ((1023, 1500), (100, 77)):
            want = resample.resize(photo, shape=shape, method=method)
            got = cp.asnumpy(resample.resize(cp.asarray(photo), shape=shape, method=method))
            diff = np.abs(got.astype(int) - want).max()
            assert diff <= 1, (method, shape, diff)
    xy = rng.uniform(0, 512, (100_000, 2))
    v = rng.uniform(0, 255, (100_000, 3)).astype(np.float32)
    want = resample.reconstruct(xy, v, (512, 512))
    got = cp.asnumpy(resample.reconstruct(cp.asarray(xy), cp.asarray(v), (512, 512)))
    err = np.linalg.norm(got - want) / np.linalg.norm(want)
    assert err < 1e-5, err
    return "checks passed: resize (5 methods, 2 sizes) and reconstruct agree with the CPU engine"


def resize_table(cp, rounds, bandwidth):
    import importlib

    torch = importlib.import_module("torch") if importlib.util.find_spec("torch") else None
    if torch is not None and not torch.cuda.is_available():
        torch = None
    from cupyx.scipy import ndimage

    rng = np.random.default_rng(0)
    src = cp.asarray(rng.integers(0, 256, (2160, 3840, 3), dtype=np.uint8))
    rows = ["| resize | method | ours ms | % of floor | torch AA ms | torch ms | "
            "cupyx zoom ms |", "|---|---|---|---|---|---|---|"]
    for shape in ((4320, 7680), (1080, 1920)):
        floor_ms = (src.nbytes + shape[0] * shape[1] * 3) / bandwidth * 1e3
        for method in RESIZE_METHODS:
            ours = _timer(cp, lambda: resample.resize(src, shape=shape, method=method), rounds)
            cells = [f"{ours:.2f}", f"{100 * floor_ms / ours:.0f}%"]
            mode = TORCH_MODES.get(method)
            if torch is not None and mode is not None:
                t = torch.as_tensor(src, device="cuda").permute(2, 0, 1)[None].float()
                f = torch.nn.functional.interpolate
                for aa in (True, False):
                    ms = _timer(cp, lambda: f(t, size=shape, mode=mode, antialias=aa,
                                              align_corners=False), rounds)
                    cells.append(f"{ms:.2f}")
            else:
                cells += ["-", "-"]
            order = {"bilinear": 1, "bicubic": 3}.get(method)
            if order is not None:
                zoom = (shape[0] / 2160, shape[1] / 3840, 1)
                cells.append(f"{_timer(cp, lambda: ndimage.zoom(src, zoom, order=order), rounds):.2f}")
            else:
                cells.append("-")
            rows.append(f"| 3840x2160 -> {shape[1]}x{shape[0]} | {method} | "
                        + " | ".join(cells) + " |")
    return "\n".join(rows)


def gmm_table(cp, rounds):
    rng = np.random.default_rng(1)
    rows = ["| points | into | forward ms | backward ms |", "|---|---|---|---|"]
    for n in (1_000_000, 10_000_000):
        xy = cp.asarray(rng.uniform(0, 4096, (n, 2)))
        v = cp.asarray(rng.uniform(0, 255, (n, 3)).astype(np.float32))
        sigma = 1.5
        fwd = _timer(cp, lambda: resample.reconstruct(xy, v, (4096, 4096), sigma=sigma),
                     rounds)
        grad = cp.asarray(rng.normal(size=(4096, 4096, 3)))
        bwd = _timer(cp, lambda: resample.reconstruct_vjp(xy, v, (4096, 4096), grad,
                                                          sigma=sigma), max(3, rounds // 10))
        rows.append(f"| {n:,} | 4096x4096 | {fwd:.1f} | {bwd:.1f} |")
    return "\n".join(rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()
    reason = devices.gpu_reason()
    if reason is not None:
        print(f"no GPU benchmark: {reason}")
        return 0
    import cupy as cp

    name = cp.cuda.runtime.getDeviceProperties(0)["name"].decode()
    bandwidth = copy_bandwidth(cp, args.rounds)
    print(f"Device: {name}; copy bandwidth {bandwidth / 1e9:.0f} GB/s (read + written)\n")
    print(check(cp), "\n")
    print(resize_table(cp, args.rounds, bandwidth), "\n")
    print(gmm_table(cp, args.rounds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
