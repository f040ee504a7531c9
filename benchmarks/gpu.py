"""GPU: check the CUDA engine against the CPU engine, then time it against the peers.

Run on a machine with CuPy and a CUDA device: ``python -m benchmarks.gpu [--rounds 50]``.
Without one it says so and exits 0.  Goals (issue: GPU path): every resize faster than the
torch equivalent and above 50% of the bandwidth floor; GMM forward for 10M points into
4096x4096 under 50 ms.

Timings are medians of CUDA-event intervals after a warm-up, inputs already on the device
(the end-to-end table: wall time of each step).  The bandwidth floor of a resize is (bytes
read + bytes written) / the measured bandwidth of a large device-to-device copy.
"""

import argparse
import statistics
import sys

import numpy as np

import resample
from resample.engines import devices

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
    """3840x2160 uint8 RGB (a real photo) to 7680x4320 and 1920x1080: ours as planned (and
    what kernels/README.md's model predicted for that plan), and forced to one pass, two
    passes and tiled; the fraction of the bandwidth floor of ours as planned;
    torch interpolate (float32: its CUDA kernels take no uint8) and cupyx zoom."""
    import importlib

    from resample.engines import cuda, gpu
    from resample.spec.methods import get_method
    from resample.spec.taps import resize_taps

    from .common import photo_4k

    torch = importlib.import_module("torch") if importlib.util.find_spec("torch") else None
    if torch is not None and not torch.cuda.is_available():
        torch = None
    from cupyx.scipy import ndimage

    backend = cuda.cupy_backend()
    src = cp.asarray(photo_4k())
    rows = ["| resize | method | ours ms | plan | model ms | 1 pass ms | 2 passes ms | tiled ms "
            "| % of floor | torch AA ms | torch ms | cupyx zoom ms |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for shape in ((4320, 7680), (1080, 1920)):
        floor_ms = (src.nbytes + shape[0] * shape[1] * 3) / bandwidth * 1e3
        for method in RESIZE_METHODS:
            m = get_method(method)
            tr = resize_taps(2160, shape[0], m, "centers", "edge", True)
            tc = resize_taps(3840, shape[1], m, "centers", "edge", True)
            ours = _timer(cp, lambda: resample.resize(src, shape=shape, method=method), rounds)
            forced = [_timer(cp, lambda: gpu.resize(backend, src, tr, tc, 0.0, np.float32,
                                                    np.uint8, passes=p), rounds)
                      for p in (1, 2, 3)]
            model = gpu.pass_times(src.shape, tr, tc, 1, 4)       # the model, to be checked
            plan = gpu.plan_passes(src.shape, tr, tc)
            cells = [f"{ours:.3f}", str(plan), f"{model[plan] * 1e3:.3f}",
                     *(f"{t:.3f}" for t in forced), f"{100 * floor_ms / ours:.0f}%"]
            mode = TORCH_MODES.get(method)
            if torch is not None and mode is not None:
                t = torch.as_tensor(src, device="cuda").permute(2, 0, 1)[None].float()
                f = torch.nn.functional.interpolate
                for aa in (True, False):
                    ms = _timer(cp, lambda: f(t, size=shape, mode=mode, antialias=aa,
                                              align_corners=False), rounds)
                    cells.append(f"{ms:.3f}")
            else:
                cells += ["-", "-"]
            order = {"bilinear": 1, "bicubic": 3}.get(method)
            if order is not None:
                zoom = (shape[0] / 2160, shape[1] / 3840, 1)
                cells.append(f"{_timer(cp, lambda: ndimage.zoom(src, zoom, order=order), rounds):.3f}")
            else:
                cells.append("-")
            rows.append(f"| 3840x2160 -> {shape[1]}x{shape[0]} | {method} | "
                        + " | ".join(cells) + " |")
    return f"bandwidth floor at {bandwidth / 1e9:.0f} GB/s\n" + "\n".join(rows)


def _torch_gmm(torch, xy, v, sigma, shape, radius):
    """A torch autograd reconstruction with a fixed (2 radius + 1)^2 window per point: the
    differentiable version a user would write with index_add_ (float32)."""
    h, w = shape
    d = torch.arange(-radius, radius + 1, device=xy.device, dtype=xy.dtype)
    cx, cy = torch.round(xy[:, 0]), torch.round(xy[:, 1])
    px = (cx[:, None, None] + d[None, None, :]).expand(-1, len(d), -1)
    py = (cy[:, None, None] + d[None, :, None]).expand(-1, -1, len(d))
    r2 = ((px - xy[:, 0, None, None]) ** 2 + (py - xy[:, 1, None, None]) ** 2) / sigma ** 2
    wgt = torch.exp(-0.5 * r2) * (r2 <= 9.0)
    inside = (px >= 0) & (px < w) & (py >= 0) & (py < h)
    wgt = wgt * inside
    flat = (py.clamp(0, h - 1) * w + px.clamp(0, w - 1)).long().reshape(-1)
    z = torch.zeros(h * w, device=xy.device).index_add_(0, flat, wgt.reshape(-1))
    acc = torch.zeros(h * w, v.shape[1], device=xy.device).index_add_(
        0, flat, (wgt[..., None] * v[:, None, None, :]).reshape(-1, v.shape[1]))
    return acc / z.clamp_min(1e-30)[:, None]


def gmm_table(cp, rounds):
    """GMM forward (reconstruct) and backward (reconstruct_vjp) into 4096x4096, points and
    gradients already on the device; torch autograd with fixed windows where it fits."""
    import importlib

    torch = importlib.import_module("torch") if importlib.util.find_spec("torch") else None
    if torch is not None and not torch.cuda.is_available():
        torch = None
    rng = np.random.default_rng(1)
    rows = ["| points | into | sigma | forward ms | backward ms | torch fwd ms | "
            "torch fwd+bwd ms |", "|---|---|---|---|---|---|---|"]
    for n in (1_000_000, 10_000_000):
        xy = cp.asarray(rng.uniform(0, 4096, (n, 2)))
        v = cp.asarray(rng.uniform(0, 255, (n, 3)).astype(np.float32))
        grad = cp.asarray(rng.normal(size=(4096, 4096, 3)))
        for sigma in (1.0, "auto"):
            fwd = _timer(cp, lambda: resample.reconstruct(xy, v, (4096, 4096), sigma=sigma),
                         rounds)
            bwd = _timer(cp, lambda: resample.reconstruct_vjp(xy, v, (4096, 4096), grad,
                                                              sigma=sigma),
                         max(3, rounds // 10))
            cells = [f"{fwd:.1f}", f"{bwd:.1f}"]
            if torch is not None and sigma != "auto":
                txy = torch.as_tensor(xy, device="cuda").float().requires_grad_()
                tv = torch.as_tensor(v, device="cuda").requires_grad_()
                tg = torch.as_tensor(grad, device="cuda").float().reshape(-1, 3)
                try:
                    cells.append(f"{_timer(cp, lambda: _torch_gmm(torch, txy, tv, sigma, (4096, 4096), 3), rounds):.1f}")
                    cells.append(f"{_timer(cp, lambda: _torch_gmm(torch, txy, tv, sigma, (4096, 4096), 3).backward(tg), max(3, rounds // 10)):.1f}")
                except torch.cuda.OutOfMemoryError:
                    cells += ["out of memory", "-"]
                torch.cuda.empty_cache()
            else:
                cells += ["-", "-"]
            rows.append(f"| {n:,} | 4096x4096 | {sigma} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def end_to_end(cp, rounds):
    """One 4K photo through the command (PNG and JPEG in, 2x bicubic, same format out), split
    into decode, copy to the GPU, compute, copy back and encode; and the whole command's wall
    time with --device gpu and --device cpu."""
    import os
    import subprocess
    import tempfile
    import time

    from resample.formats import images

    from .common import photo_4k

    rows = ["| input | decode ms | to GPU ms | compute ms | to host ms | encode ms | "
            "command gpu s | command cpu s |", "|---|---|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        for ext in ("png", "jpg"):
            src = os.path.join(tmp, f"photo.{ext}")
            images.save(images.Picture(photo_4k()), src)
            dst = os.path.join(tmp, f"out.{ext}")

            def wall(fn, n=3):
                times = []
                for _ in range(n):
                    t0 = time.perf_counter()
                    fn()
                    times.append(time.perf_counter() - t0)
                return statistics.median(times)

            decode = wall(lambda: images.load(src))
            a = images.load(src).array
            host_in = _timer(cp, lambda: cp.asarray(a), rounds)
            d = cp.asarray(a)
            compute = _timer(cp, lambda: resample.resize(d, scale=2, method="bicubic"), rounds)
            out = resample.resize(d, scale=2, method="bicubic")
            host_out = _timer(cp, lambda: cp.asnumpy(out), rounds)
            pic = images.Picture(cp.asnumpy(out))
            encode = wall(lambda: images.save(pic, dst))
            cmd = lambda dev: subprocess.run(  # noqa: E731
                [sys.executable, "-m", "resample", src, "-o", dst, "--scale", "2", "--method",
                 "bicubic", "--device", dev], check=True)
            cells = [1e3 * decode, host_in, compute, host_out, 1e3 * encode]
            rows.append(f"| 3840x2160 {ext} | " + " | ".join(f"{c:.1f}" for c in cells)
                        + f" | {wall(lambda: cmd('gpu')):.2f} | {wall(lambda: cmd('cpu')):.2f} |")
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
    print(gmm_table(cp, args.rounds), "\n")
    print(end_to_end(cp, args.rounds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
