"""Fitting a point set to an image: Adam on the exact gradients of the Gaussian mixture.

Parameters: positions (x, y) in pixels, values (in the image's units), per-point anisotropic
sigma (optimised as log sigma, so it stays positive), and the rotation of each Gaussian
(steered Gaussians, docs/conventions.md; radians, from 0).  The points start on a
regular grid of cells, each at its cell's centre with the image's value there, and sigma
``GRID_FACTOR`` times the grid spacing: the same start as ``resample points --pattern grid``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import ResampleError, excerpt
from . import gmm
from .resize import sample

LEARNABLE = ("positions", "values", "sigma", "rotation")
LOSSES = ("l1", "l2")
# Adam step sizes: positions in pixels, values as a fraction of the value range, log sigma.
# They follow a cosine from 1x at the start to 0.1x at the last step.
RATES = {"positions": 0.05, "values": 0.01, "sigma": 0.01, "rotation": 0.02}


@dataclass
class Fit:
    """A fitted point set: xy (N, 2), values (N, C), sigma (N, 2) as (sx, sy), or (N, 3) as
    (sx, sy, theta) when the rotation was learnt, the loss after each step (``history[0]`` is
    the starting loss), and ``best_step``: the iterate returned, the one of lowest loss
    (``history[best_step]``)."""

    xy: np.ndarray
    values: np.ndarray
    sigma: np.ndarray
    history: list = field(default_factory=list)
    best_step: int = 0


def grid_points(image, count):
    """``count`` points spread over a regular grid of cells of an (H, W[, C]) image: each at a
    cell's centre, with the image's value there (bilinear).  Returns (xy (N, 2), values (N, C))
    and the cell size (w, h) in pixels."""
    height, width = image.shape[:2]
    step = math.sqrt(width * height / count)
    nx = min(width, max(1, math.ceil(width / step)))
    ny = min(height, max(1, math.ceil(height / step)))
    while nx * ny < count:                       # rounding: grow the coarser side
        if width / nx >= height / ny:
            nx += 1
        else:
            ny += 1
    gx = (np.arange(nx) + 0.5) * width / nx - 0.5
    gy = (np.arange(ny) + 0.5) * height / ny - 0.5
    xy = np.stack(np.meshgrid(gx, gy), axis=-1).reshape(-1, 2)
    xy = xy[np.round(np.linspace(0, nx * ny - 1, count)).astype(np.int64)]   # evenly, exactly N
    values = sample(np.asarray(image, np.float64), xy).reshape(count, -1)
    return xy, values, (width / nx, height / ny)


def grid_start(image, count):
    """``count`` points on a regular grid (see :func:`grid_points`), with sigma
    GRID_FACTOR times the cell size: (xy (N, 2), values (N, C), sigma (N, 2))."""

    xy, values, (cell_w, cell_h) = grid_points(image, count)
    sigma = np.empty((count, 2))
    sigma[:, 0] = gmm.GRID_FACTOR * cell_w
    sigma[:, 1] = gmm.GRID_FACTOR * cell_h
    return xy, values, sigma


def parse_learn(text):
    parts = tuple(p.strip().lower() for p in str(text).split(",") if p.strip())
    bad = [p for p in parts if p not in LEARNABLE]
    if bad or not parts:
        raise ResampleError(f"--learn takes a comma list of {', '.join(LEARNABLE)}, got {excerpt(text)}")
    return parts


def fit(image, count, *, steps=500, learn=LEARNABLE, loss="l1", cutoff=3.0, seed=0,
        progress=None, order=0):
    """Fit ``count`` Gaussian points to ``image`` ((H, W) or (H, W, C)) for ``steps`` Adam steps.

    ``learn`` names the parameters to optimise; ``loss`` is the mean ``l1`` or ``l2`` error over
    pixels and channels.  ``progress(step, loss)`` is called after every step.  ``seed`` jitters
    the starting positions by up to a tenth of the grid spacing (0: no jitter).  The iterate of
    lowest loss is returned (Adam's last step is not always the best).  ``order``: the
    rebuild the points are fitted for (:func:`resample.ops.gmm.reconstruct`'s; render them
    with the same order).
    """
    img = np.asarray(image, np.float64)
    img3 = img if img.ndim == 3 else img[..., None]
    if loss not in LOSSES:
        raise ResampleError(f"unknown loss {excerpt(loss)}; choose one of: {', '.join(LOSSES)}")
    learn = tuple(learn)
    if any(p not in LEARNABLE for p in learn):
        raise ResampleError(f"learn must name some of {', '.join(LEARNABLE)}")
    if not 1 <= count <= img3.shape[0] * img3.shape[1]:
        raise ResampleError(f"count must be between 1 and the number of pixels, got {count}")
    if steps < 0:
        raise ResampleError("steps must be 0 or more")
    order = gmm.check_order(order, sigma=None)
    shape = img3.shape[:2]
    xy, values, sigma = grid_start(img3, count)
    if seed:
        jitter = np.random.default_rng(seed).uniform(-0.1, 0.1, xy.shape)
        xy = xy + jitter * sigma / gmm.GRID_FACTOR
    scale = max(float(np.ptp(img3)), 1e-12)            # values are learnt in units of the range
    params = {"positions": xy, "values": values / scale, "sigma": np.log(sigma),
              "rotation": np.zeros(len(xy))}
    steered = "rotation" in learn
    moments = {k: (np.zeros_like(v), np.zeros_like(v)) for k, v in params.items()}
    target = np.ascontiguousarray(img3)
    n = target.size
    history = []
    best = None                                        # (loss, step, xy, values, sigma)
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    for step in range(steps + 1):
        xy = np.ascontiguousarray(params["positions"])
        v = np.ascontiguousarray(params["values"] * scale)
        s = np.exp(params["sigma"])
        sx, sy = np.ascontiguousarray(s[:, 0]), np.ascontiguousarray(s[:, 1])
        theta = np.ascontiguousarray(params["rotation"]) if steered else None
        out, z, (rows, cols, nearest) = gmm.forward_with_holes(xy, v, sx, sy, cutoff, shape,
                                                               theta=theta)
        mean = out
        if order == 1:
            z = z.copy()                # (the planes' splat reuses this thread's scratch)
            out = gmm.local_linear(xy, v, sx, sy, cutoff, shape, theta, mean, z)
        diff = out - target
        if loss == "l1":
            value, grad = np.abs(diff).mean(), np.sign(diff) / n
        else:
            value, grad = (diff * diff).mean(), 2.0 * diff / n
        history.append(float(value))
        if best is None or value < best[0]:
            kept = np.column_stack([s, theta]) if steered else s
            best = (float(value), step, xy.copy(), v.copy(), kept.copy())
        if progress is not None:
            progress(step, float(value))
        if step == steps:
            break
        decay = 0.55 + 0.45 * math.cos(math.pi * step / steps)  # cosine, down to a tenth
        if order == 1:
            d_xy, d_v, d_sx, d_sy, d_theta = gmm.order1_vjp(
                xy, v, sx, sy, cutoff, shape, grad, mean, z, (rows, cols, nearest), None, theta)
        else:
            d_xy, d_v, d_sx, d_sy, d_theta = gmm.vjp_from_forward(
                xy, v, sx, sy, cutoff, grad, out, z, nearest, rows, cols, theta=theta)
        grads = {"positions": d_xy, "values": d_v * scale,
                 "sigma": np.stack([d_sx * sx, d_sy * sy], axis=1),   # d/dlog s = s d/ds
                 "rotation": d_theta}
        for name in learn:
            m, m2 = moments[name]
            g = grads[name]
            m *= beta1
            m += (1 - beta1) * g
            m2 *= beta2
            m2 += (1 - beta2) * g * g
            m_hat = m / (1 - beta1 ** (step + 1))
            m2_hat = m2 / (1 - beta2 ** (step + 1))
            rate = RATES[name] * decay
            params[name] = params[name] - rate * m_hat / (np.sqrt(m2_hat) + eps)
    _, best_step, xy, values, sigma = best
    return Fit(xy, values, sigma, history, best_step)
