"""The point-cloud rebuild's forward plus backward in PyTorch: resample.torch.reconstruct
against torch autograd over the dense Gaussian-mixture formula (every point at every pixel,
the GMM paper's baseline), on the CPU; resample.torch.resize against
torch.nn.functional.interpolate; and resample.torch.sample against grid_sample.

Run: ``python -m benchmarks.torch_gmm [--rounds N]``.  Goal (issue: differentiable in
PyTorch): forward plus backward at least 10x faster than the dense formula at 10k points into
256x256.
"""

import argparse
import statistics
import time

import numpy as np
import torch
import torch.utils.checkpoint

import resample.torch as rt
from benchmarks.common import machine

CHUNK = 1024          # pixels a step of the dense formula (its N x CHUNK weights in memory)


def dense(xy, values, sigma, shape):
    """sum_i w_i(q) v_i / sum_i w_i(q), w_i = exp(-r2 / 2) / (2 pi sx sy), every point at every
    pixel (no cutoff), by torch autograd; pixels in chunks."""
    h, w = shape
    qy, qx = torch.meshgrid(torch.arange(h, dtype=xy.dtype), torch.arange(w, dtype=xy.dtype),
                            indexing="ij")
    q = torch.stack([qx.reshape(-1), qy.reshape(-1)], dim=1)
    norm = 1.0 / (2 * np.pi * sigma[:, 0] * sigma[:, 1])

    def chunk(qc, xy, values, sigma, norm):
        d = (qc[:, None, :] - xy[None, :, :]) / sigma[None, :, :]
        wgt = torch.exp(-0.5 * (d * d).sum(-1)) * norm[None, :]
        return (wgt @ values) / wgt.sum(1, keepdim=True)

    # each chunk recomputed in the backward pass (torch.utils.checkpoint): the N x H x W
    # weights of the whole picture would not fit in memory
    parts = [torch.utils.checkpoint.checkpoint(chunk, q[start:start + CHUNK], xy, values,
                                               sigma, norm, use_reentrant=False)
             for start in range(0, h * w, CHUNK)]
    return torch.cat(parts).reshape(h, w, -1)


def _time(call, rounds):
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        call()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def run(rounds=3):
    rng = np.random.default_rng(0)
    # (sampling first: after the dense formula's gigabytes, fresh memory costs more to map)
    sample_lines = sampling(rounds)
    lines = [f"Machine: {machine()}; torch on {torch.get_num_threads()} threads", "",
             "| points | picture | ours: fwd+bwd ms | dense torch autograd: fwd+bwd ms | "
             "dense / ours |", "|---|---|---|---|---|"]
    for n, side in ((10_000, 256), (100_000, 256), (10_000, 512), (100_000, 512)):
        xy0 = torch.as_tensor(rng.uniform(0, side, (n, 2)), dtype=torch.float32)
        v0 = torch.as_tensor(rng.uniform(0, 1, (n, 3)), dtype=torch.float32)
        s0 = torch.full((n, 2), 0.8 * side / np.sqrt(n), dtype=torch.float32)

        def step(f):
            xy, v, s = (a.clone().requires_grad_() for a in (xy0, v0, s0))
            f(xy, v, s).square().mean().backward()

        ours = _time(lambda: step(lambda a, b, c: rt.reconstruct(a, b, (side, side),
                                                                  sigma=c)), rounds)
        theirs = None
        if n * side * side <= 10_000 * 256 * 256:         # (the larger ones: many minutes)
            theirs = _time(lambda: step(lambda a, b, c: dense(a, b, c, (side, side))), 1)
        lines.append(f"| {n} | {side}x{side} | {ours * 1e3:.1f} | "
                     + (f"{theirs * 1e3:.0f} | {theirs / ours:.0f}x |" if theirs else
                        "not run | |"))
    x0 = torch.as_tensor(rng.uniform(0, 1, (8, 3, 256, 256)), dtype=torch.float32)
    lines += ["", "| resize (8, 3, 256, 256) to 512x512, fwd+bwd | ms |", "|---|---|"]
    for name, f in (("resample.torch.resize bilinear, antialias", lambda x: rt.resize(
                        x, size=(512, 512), method="bilinear")),
                    ("torch interpolate bilinear, antialias", lambda x: torch.nn.functional.
                     interpolate(x, size=(512, 512), mode="bilinear", antialias=True)),
                    ("resample.torch.resize gri", lambda x: rt.resize(x, size=(512, 512),
                                                                       method="gri"))):
        def go(f=f):
            x = x0.clone().requires_grad_()
            f(x).square().mean().backward()
        lines.append(f"| {name} | {_time(go, rounds) * 1e3:.1f} |")
    return "\n".join(lines + sample_lines)


def sampling(rounds):
    """Forward plus backward of sampling 8 RGB 256x256 images at 8 rotated 256x256 grids,
    with gradients for the images and the grids: ours against grid_sample where the
    conventions match (bilinear; bicubic is Keys a = -0.75, our sharpcubic), and methods
    grid_sample lacks."""
    rng = np.random.default_rng(1)
    x0 = torch.as_tensor(rng.uniform(0, 1, (8, 3, 256, 256)), dtype=torch.float32)
    turn = torch.tensor([[0.9, 0.2, 0.05], [-0.2, 0.9, -0.03]]).repeat(8, 1, 1)
    grid0 = torch.nn.functional.affine_grid(turn, (8, 3, 256, 256), align_corners=False)
    grid_sample = torch.nn.functional.grid_sample
    cases = [("bilinear", lambda x, g: rt.sample(x, g, boundary="edge"),
              lambda x, g: grid_sample(x, g, padding_mode="border", align_corners=False)),
             ("bicubic (a = -0.75)", lambda x, g: rt.sample(x, g, method="sharpcubic",
                                                            boundary="edge"),
              lambda x, g: grid_sample(x, g, mode="bicubic", padding_mode="border",
                                       align_corners=False)),
             ("gri", lambda x, g: rt.sample(x, g, method="gri", boundary="edge"), None),
             ("lanczos", lambda x, g: rt.sample(x, g, method="lanczos", boundary="edge"), None)]
    lines = ["", "| sample (8, 3, 256, 256) at (8, 256, 256, 2), float32 | ours: fwd ms | "
             "ours: fwd+bwd ms | grid_sample: fwd ms | grid_sample: fwd+bwd ms |",
             "|---|---|---|---|---|"]
    for name, ours, theirs in cases:
        row = []
        for f in (ours, theirs):
            if f is None:
                row += ["-", "-"]
                continue
            for backward in (False, True):
                def go(f=f, backward=backward):
                    x, g = x0.clone().requires_grad_(), grid0.clone().requires_grad_()
                    out = f(x, g)
                    if backward:
                        out.square().mean().backward()
                row.append(f"{_time(go, rounds) * 1e3:.1f}")
        lines.append(f"| {name} | " + " | ".join(row) + " |")
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    print(run(parser.parse_args().rounds))


if __name__ == "__main__":
    main()
