"""Gaussian-mixture reconstruction (``gmm``): every point is a 2-D Gaussian, and a pixel is the
Gaussian-weighted mean of the points near it (docs/conventions.md).

Points are ``(x, y)`` = (column, row) in output pixels; pixel ``[i, j]`` has its centre at
``x = j, y = i``.  For a pixel centre ``q``::

    r2_i = ((qx - x_i) / sx_i)^2 + ((qy - y_i) / sy_i)^2
    w_i  = exp(-r2_i / 2) / (2 pi sx_i sy_i)   if r2_i <= cutoff^2, else 0
    c(q) = sum_i w_i c_i / sum_i w_i

The forward pass splats each point into the pixels of its footprint (rows are split into bands,
one thread a band, so no two threads add into one pixel); the backward pass gathers, per point,
over its footprint.  Both cost O(N x footprint + H x W).
"""

from __future__ import annotations

import math
import sys
import threading
from typing import NamedTuple

import numpy as np

from ..compiled import core as _core
from ..engines import cpu, cuda, devices, gpu
from ..engines.pointgrid import PointGrid, bucket_order, host
from ..errors import ResampleError, excerpt, first_line
from ..spec.memory import check_memory
from ..spec.methods import get_method
from ..spec.taps import compute_taps, taps_with_slopes, validate_fill

BAND_ROWS = 16
AUTO_NEIGHBOURS = 3        # sigma="auto": the distance to the 3rd nearest neighbour ...
AUTO_FACTOR = 0.6          # ... times this, ...
AUTO_CONTRAST = 0.25       # ... divided by 1 + this x the point's relative local contrast
CONTRAST_NEIGHBOURS = 6    # (measured over this many neighbours; see docs/benchmarks.md)
AUTO_FOOTPRINT = 30        # pixels a point reaches, for choosing a device (sigma ~ 1 px)
GRID_FACTOR = 0.3          # pixels as points (resize): sigma = this x the point spacing
STEER_NEIGHBOURS = 16      # sigma="steered": the local structure from this many neighbours,
STEER_ALPHA = 0.4          # elongation (l1 / l2)^(alpha / 2) of the structure tensor's
STEER_MAX_ELONGATION = 3.0 # eigenvalues, at most this, along the edge, across it 1 / that,
STEER_FACTOR = 1.05        # times auto's sigma (measured: docs/benchmarks.md)
HOLES = ("nearest", "constant")
SCRATCH_BYTES = 64 << 20   # per-thread accumulators kept between calls up to this size
LOCAL_WIDTH = 1.5          # order 1: the plane's Gaussians, this many times order 0's,
LOCAL_STEER = 0.5          # elongated by order 0's elongation to this power (plane_sigmas),
LOCAL_RIDGE = 0.01         # its ridge, this fraction of the points' spread,
LOCAL_CLIP = 2.0           # and its value within this many standard deviations of theirs
ORDERS = (0, 1)


def hole_nearest(xy, rows, cols, backend=None):
    """The nearest point of each hole pixel ``(rows, cols)``: exactly the point whose Voronoi
    cell holds the pixel's centre (as scipy's ``griddata`` nearest; of points equally near,
    one of them), through a k-d tree over the points, O(holes x log points) whatever the
    cloud's layout (clustered clouds, or points far outside the frame, included).  On a GPU
    (``backend``: resample.engines.gpu), its grid search (resample.engines.gpu.knn)."""
    xp = np if backend is None else backend.xp
    centres = xp.stack([cols, rows], axis=1).astype(np.float64)
    if backend is not None:
        return nearest_points(xy, centres, 1, backend=backend)[1][:, 0]
    d2, idx = np.empty((len(centres), 1)), np.empty((len(centres), 1), np.int64)
    _core.kd_knn(np.ascontiguousarray(xy, np.float64), centres, False, d2, idx)
    return idx[:, 0]


# --- inputs -----------------------------------------------------------------------------------

def _points(xy, values, xp=np):
    """Checked ``(xy (N, 2) float64, values (N, C) float32/64, values were 1-D)``, as arrays of
    ``xp`` (NumPy, or CuPy: the checks then run on the device)."""
    try:
        xy = _as(xp, xy, np.float64)
    except (TypeError, ValueError) as exc:
        raise ResampleError(f"xy must be numbers of shape (N, 2) ({first_line(exc)[:60]})") \
            from None
    if xy.ndim != 2 or xy.shape[1] != 2 or len(xy) == 0:
        raise ResampleError(f"xy must have shape (N, 2) with N >= 1, got {xy.shape}")
    v = _as(xp, values)
    if v.dtype.kind not in "iuf":
        raise ResampleError(f"values must be integers or floats, got dtype {v.dtype}")
    if v.shape[:1] != xy.shape[:1] or v.ndim not in (1, 2):
        raise ResampleError(f"values must have shape (N,) or (N, C) with N = {len(xy)}, "
                            f"got {v.shape}")
    if not (bool(xp.isfinite(xy).all()) and bool(xp.isfinite(v).all())):
        raise ResampleError("xy and values must be finite")
    work = np.float64 if v.dtype == np.float64 else np.float32
    return xy, xp.ascontiguousarray(v.reshape(len(xy), -1), dtype=work), v.ndim == 1


def check_points(xy, values):
    """Raise one clear line unless ``xy`` (N, 2) and ``values`` (N,) or (N, C) are finite
    numbers with N >= 1 (NumPy or CuPy arrays; the checks of :func:`reconstruct`)."""
    _points(xy, values, np if isinstance(xy, np.ndarray) else sys.modules["cupy"])


def _as(xp, a, dtype=None):
    """``a`` as an array of ``xp``: NumPy copies CuPy arrays to the host, CuPy uploads."""
    return np.asarray(host(a), dtype) if xp is np else xp.asarray(a, dtype)


class PointSearch:
    """The :class:`PointGrid` of one point set, built on its first search: the searches of one
    call (the sigma rule's neighbours, the holes' nearest points) share it."""

    def __init__(self, xy):
        self.xy, self._grid = xy, None

    def knn(self, queries, k, exclude_self=False):
        if self._grid is None:
            self._grid = PointGrid(self.xy)
        return self._grid.knn(queries, k, exclude_self)


def nearest_points(xy, queries, k, exclude_self=False, backend=None, search=None):
    """Squared distances and indices (Q, k) of the ``k`` nearest points to each query.
    ``search``: a :class:`PointSearch` of ``xy`` to reuse (host points)."""
    if backend is None:
        return (search or PointSearch(xy)).knn(queries, k, exclude_self)

    return gpu.knn(backend, xy, queries, k, exclude_self)


def auto_sigma(xy, values, backend=None, neighbours=None, search=None):
    """Per-point isotropic sigma from the local density and contrast::

        sigma_i = AUTO_FACTOR x d_i / (1 + AUTO_CONTRAST x e_i / mean(e)),  at least 0.5 pixel

    ``d_i`` is the distance to the AUTO_NEIGHBOURS-th nearest other point; ``e_i`` is the mean
    absolute difference between the point's values and those of its CONTRAST_NEIGHBOURS nearest
    neighbours.  Points on edges get narrower Gaussians and blend less across the edge; the
    ratio to mean(e) makes the rule independent of the values' scale.  ``backend``
    (resample.engines.gpu): the arrays are its own, and the neighbour searches run as its kernels.
    ``neighbours``: ``(d2, idx)`` of each point's nearest other points, sorted, if already
    found (at least as many as the rule reads); ``search``: a :class:`PointSearch` of ``xy``.
    """
    xp = np if backend is None else backend.xp
    xy = _as(xp, xy, np.float64)
    if len(xy) <= 1:
        return xp.ones(len(xy))
    if neighbours is None:
        neighbours = nearest_points(xy, xy, max(AUTO_NEIGHBOURS, CONTRAST_NEIGHBOURS), True,
                                    backend, search)
    d2, idx = neighbours
    d = xp.sqrt(d2[:, min(AUTO_NEIGHBOURS, d2.shape[1]) - 1])
    v = _as(xp, values).reshape(len(xy), -1)
    neighbours = xp.ascontiguousarray(idx[:, :CONTRAST_NEIGHBOURS])
    if backend is None:
        e = np.empty(len(v))
        work = v.dtype if v.dtype in (np.float32, np.float64) else np.float64
        _core.contrast(np.ascontiguousarray(v, work), np.ascontiguousarray(neighbours), e)
    else:

        e = gpu.contrast(backend, v, neighbours)
    scale = float(e.mean())
    shrink = 1.0 + AUTO_CONTRAST * e / scale if scale > 0 else 1.0
    return xp.maximum(AUTO_FACTOR * d / shrink, 0.5)


def steered_sigma(xy, values, backend=None, search=None):
    """Per-point steered Gaussians ``(N, 3)`` as (sx, sy, theta), after Takeda, Farsiu and
    Milanfar's steering kernels: each point's local gradient is the weighted least-squares
    plane through its STEER_NEIGHBOURS nearest neighbours' values (the mean over channels,
    weights 1 / d^2); their structure tensor, summed over the point and its neighbours, gives
    the edge's direction and how dominant it is (eigenvalues l1 >= l2).  The Gaussian keeps
    the area of :func:`auto_sigma`'s (times STEER_FACTOR) and is stretched along the edge by
    e = min((l1 / l2)^(STEER_ALPHA / 2), STEER_MAX_ELONGATION) and narrowed across it by 1 / e:
    it averages along edges, not over them.  One neighbour search serves both rules; the fits
    run in the C++ engine (kernels/common/gaussians.h's plane_gradient_one, structure_one, steer_one), on
    the host (``backend``: the arrays are its own, and so is the result).  ``search``: a
    :class:`PointSearch` of ``xy`` (host points)."""
    xp = np if backend is None else backend.xp
    xy_h = np.ascontiguousarray(host(xy), np.float64)
    values_h = host(values).reshape(len(xy_h), -1)
    n = len(xy_h)
    if n < 4:
        s = host(auto_sigma(xy_h, values_h)) * STEER_FACTOR
        return xp.asarray(np.column_stack([s, s, np.zeros(n)]))
    k = min(max(STEER_NEIGHBOURS, AUTO_NEIGHBOURS, CONTRAST_NEIGHBOURS), n - 1)
    d2, idx = (search if backend is None and search is not None
               else PointSearch(xy_h)).knn(xy_h, k, exclude_self=True)
    size = auto_sigma(xy_h, values_h, neighbours=(d2, idx)) * STEER_FACTOR
    grey = np.ascontiguousarray(values_h.astype(np.float64).mean(axis=1))
    out = np.empty((n, 3))
    _core.steer(xy_h, grey, np.ascontiguousarray(idx), np.ascontiguousarray(d2),
                np.ascontiguousarray(size, np.float64), float(STEER_ALPHA),
                float(STEER_MAX_ELONGATION), out)
    return xp.asarray(out)


SIGMA_RULES = ("auto", "steered")


def _sigmas(sigma, xy, values, backend=None, search=None):
    """``(sx, sy, theta, kind)``: arrays of shape (N,), theta None unless the Gaussians are
    steered, and the kind of the input: scalar, iso, aniso (N, 2), steered (N, 3) as
    (sx, sy, theta in radians from the x axis towards y, or the rule "steered"), auto.
    ``backend``, ``search``: as :func:`auto_sigma`."""
    xp = np if backend is None else backend.xp
    n = len(xy)
    if isinstance(sigma, str):
        if sigma not in SIGMA_RULES:
            raise ResampleError(f"sigma must be a number, 'auto', 'steered', (N,), (N, 2) or "
                                f"(N, 3), got {excerpt(sigma)}")
        if sigma == "auto":
            s = auto_sigma(xy, values, backend, search=search)
            return s, s, None, "auto"
        s = steered_sigma(xy, values, backend, search)
        return (xp.ascontiguousarray(s[:, 0]), xp.ascontiguousarray(s[:, 1]),
                xp.ascontiguousarray(s[:, 2]), "steered")
    s = _as(xp, sigma, np.float64)
    theta = None
    if s.ndim == 0:
        sx = sy = xp.full(n, float(s))
        kind = "scalar"
    elif s.shape == (n,):
        sx = sy = s
        kind = "iso"
    elif s.shape == (n, 2):
        sx, sy = s[:, 0], s[:, 1]
        kind = "aniso"
    elif s.shape == (n, 3):
        sx, sy, theta = s[:, 0], s[:, 1], xp.ascontiguousarray(s[:, 2])
        kind = "steered"
        if not bool(xp.isfinite(theta).all()):
            raise ResampleError("theta must be finite")
    else:
        raise ResampleError(f"sigma must be a number, 'auto', ({n},), ({n}, 2) or ({n}, 3), "
                            f"got shape {s.shape}")
    axes = s if s.ndim < 2 else s[:, :2]
    if not (bool(xp.isfinite(axes).all()) and bool((axes > 0).all())):
        raise ResampleError("sigma must be finite and above 0")
    return xp.ascontiguousarray(sx), xp.ascontiguousarray(sy), theta, kind


def _bands(xy, sx, sy, cutoff, height, theta=None):
    """CSR lists of the points whose footprint reaches each band of BAND_ROWS rows (a steered
    footprint's rows, common/gaussians.h's footprint_steered, with a row to spare)."""
    n_bands = (height + BAND_ROWS - 1) // BAND_ROWS
    reach, spare = cutoff * sy, 0.0
    if theta is not None:
        c, s = np.cos(theta), np.sin(theta)
        reach, spare = cutoff * np.sqrt((sx * s) ** 2 + (sy * c) ** 2), 1.0
    top = np.clip(np.ceil(xy[:, 1] - reach) - spare, 0, height)
    bottom = np.clip(np.floor(xy[:, 1] + reach) + spare, -1, height - 1)
    live = bottom >= top
    first = (top // BAND_ROWS).astype(np.int64)
    last = (np.maximum(bottom, 0) // BAND_ROWS).astype(np.int64)
    spans = np.where(live, last - first + 1, 0)
    point = np.repeat(np.arange(len(xy)), spans)
    band = np.repeat(first, spans) + (np.arange(len(point)) - np.repeat(np.cumsum(spans) - spans, spans))
    order, start = bucket_order(band, n_bands)
    return start, point[order]


# --- forward ----------------------------------------------------------------------------------

_scratch = threading.local()


def _zeroed_planes(shape, dtype, use="sums"):
    """Zeroed accumulators of ``shape``, reused between calls on one thread when small: on
    small images, first-touch page faults of fresh memory cost more than the splat itself.
    One buffer per ``use`` and dtype: the splat's sums, the points' residuals' spread."""
    dtype = np.dtype(dtype)
    n = math.prod(shape)
    if n * dtype.itemsize > SCRATCH_BYTES:
        return np.zeros(shape, dtype)
    key = f"{use}_{dtype.name}"
    buf = getattr(_scratch, key, None)
    if buf is None or len(buf) < n:
        buf = np.empty(n, dtype)
        setattr(_scratch, key, buf)
    planes = buf[:n].reshape(shape)
    planes.fill(0)
    return planes


def _sums(xy, values, sx, sy, cutoff, shape, theta=None, use="sums"):
    """``(sums (C, H, W), Z (H, W))``: the points' Gaussian-weighted sums of their values and
    the weights' sums, in the values' dtype: views of this thread's scratch accumulators for
    ``use`` (:func:`_zeroed_planes`), valid until its next call."""
    height, width = shape
    n_ch = values.shape[1]
    planes = _zeroed_planes((n_ch + 1, height, width), values.dtype, use)
    acc, z = planes[:n_ch], planes[n_ch]
    start, members = _bands(xy, sx, sy, cutoff, height, theta)
    c = np.ascontiguousarray
    _core.gmm_splat(c(xy, np.float64), c(values), c(sx, np.float64), c(sy, np.float64),
                    _rotations(theta), float(cutoff), c(start, np.int64), c(members, np.int64),
                    BAND_ROWS, acc, z)
    return acc, z


def _forward(xy, values, sx, sy, cutoff, shape, theta=None):
    """(colour (H, W, C) with holes at 0, Z (H, W), number of holes) in the values' dtype.

    Z is a view of this thread's scratch accumulators: valid until the next call; copy it to
    keep it."""
    height, width = shape
    acc, z = _sums(xy, values, sx, sy, cutoff, shape, theta)
    out = np.empty((height, width, values.shape[1]), values.dtype)
    holes = _core.gmm_normalise(acc, z, out)
    return out, z, holes


_NO_ROTATION = np.empty(0)


def _rotations(theta):
    """theta as the compiled engine takes it: float64 (N,), or empty for none."""
    return _NO_ROTATION if theta is None else np.ascontiguousarray(theta, np.float64)


def _check_shape(shape):
    try:
        h, w = (int(v) for v in shape)
    except (TypeError, ValueError):
        raise ResampleError(f"shape must be (H, W), got {excerpt(shape)}") from None
    if h < 1 or w < 1:
        raise ResampleError(f"shape must be positive, got {excerpt(shape)}")
    return h, w


def _reach(cutoff, xy, sx, sy, shape, xp=np):
    """``cutoff``, lowered to where it still reaches every pixel that it reached: no pixel of
    the frame lies farther from a point than the frame's far corner, so a larger cutoff
    changes nothing, and footprints stay within integer range."""
    h, w = shape
    far_x = float(xp.max(xp.maximum(xp.abs(xy[:, 0] + 0.5), xp.abs(xy[:, 0] - w + 0.5))))
    far_y = float(xp.max(xp.maximum(xp.abs(xy[:, 1] + 0.5), xp.abs(xy[:, 1] - h + 0.5))))
    widest = math.hypot(far_x, far_y) / min(float(sx.min()), float(sy.min()))
    return min(cutoff, widest + 1.0)


def _steered_rule(sigma):
    """Whether ``sigma`` names the steered rule (the rebuild from samples, whose defaults are
    order 1 and passing through the points), not a number, "auto" or per-point sigmas."""
    return isinstance(sigma, str) and sigma.lower() == "steered"


def check_order(order, sigma=None):
    """The order to rebuild with: ``order`` 0 or 1 (else refused), or None, the default: 1 with
    the "steered" rule, 0 with any other sigma (a number, "auto", or per-point sigmas, as a
    fit's points carry: they were fitted for order 0).  reconstruct, its gradients, fit."""
    if order is None:
        return 1 if _steered_rule(sigma) else 0
    if isinstance(order, bool) or order not in ORDERS:
        raise ResampleError(f"order must be 0 or 1, got {excerpt(order)}")
    return order


def _check_common(cutoff, holes):
    cutoff = float(cutoff)
    if not (math.isfinite(cutoff) and cutoff > 0):
        raise ResampleError(f"cutoff must be a finite number above 0, got {cutoff}")
    if holes not in HOLES:
        raise ResampleError(f"unknown holes rule {excerpt(holes)}; choose one of: {', '.join(HOLES)}")
    return cutoff


def plane_sigmas(sx, sy):
    """Order 1's Gaussians for the planes: ``(LOCAL_WIDTH sx^a sy^b, LOCAL_WIDTH sx^b sy^a)``,
    ``a = (1 + LOCAL_STEER) / 2``, ``b = (1 - LOCAL_STEER) / 2``: order 0's area times
    LOCAL_WIDTH^2, and its elongation sqrt(sx / sy) to the power LOCAL_STEER, on the same
    axes (the same rotation).  A plane over a window stretched along curved iso-lines carries
    their curvature (a smooth colour wheel), so the planes are steered half as much as the
    means (docs/benchmarks.md)."""
    a, b = (1 + LOCAL_STEER) / 2, (1 - LOCAL_STEER) / 2
    return LOCAL_WIDTH * sx ** a * sy ** b, LOCAL_WIDTH * sx ** b * sy ** a


def local_linear(xy, values, sx, sy, cutoff, shape, theta, order0, z, backend=None):
    """Order 1 (``order=1``): order 0's weighted mean ``order0`` (H, W, C), moved towards a
    weighted least-squares plane through the points as far as the plane explains them.  At
    each pixel q, with the Gaussians of :func:`plane_sigmas` (wider than order 0's, steered
    half as much; Takeda, Farsiu
    and Milanfar's order-1 kernel regression; docs/conventions.md):

        plane = E[v] + g . (q - E[p]),  g = (Cov[p] + lambda I)^-1 Cov[p, v]
        R2 = g . Cov[p, v] / Var[v]     (the share of the values' spread the plane explains)
        value = order0 + R2^2 (plane - order0)

    E the weighted means, lambda = LOCAL_RIDGE x trace(Cov[p]) (a plane over one point, or
    over points on a line, falls back to order 0 along what they do not span), the plane
    clipped to E[v] +- LOCAL_CLIP standard deviations of the values (no overshoot beyond
    what the points hold).  Smooth ramps (R2 near 1) take the plane, which follows them
    between sparse points; texture and edges (R2 small) keep the weighted mean, which
    measured better there (docs/benchmarks.md).  The means are one splat of the moments as
    channels (:func:`_moments`), in float64.  Returns (H, W, C) float64 where Z > 0
    (elsewhere order0)."""
    xp = np if backend is None else backend.xp
    moments, _ = _moments(xy, values, shape, xp)
    means, _ = _splat_means(xy, moments, *plane_sigmas(sx, sy), cutoff, shape,
                            theta, backend)
    return _plane(means, order0, z, values[0], backend)


def check_interpolate(interpolate, sigma=None):
    """Whether the rebuilt image passes through the points (:func:`through_points`):
    ``interpolate`` True or False (else refused), or None, the default: True with the
    "steered" rule (a rebuild from samples, as griddata's), False with any other sigma (a
    fit's points were fitted without it).  reconstruct, its gradients, the command line."""
    if interpolate is None:
        return _steered_rule(sigma)
    if not isinstance(interpolate, (bool, np.bool_)):
        raise ResampleError(f"interpolate must be True or False, got {excerpt(interpolate)}")
    return bool(interpolate)


_BILINEAR = get_method("bilinear")


def _point_taps(xy, shape, boundary, backend, slopes=False):
    """The bilinear taps of the points ``xy`` (N, 2) in a frame of ``shape`` (H, W): (rows',
    columns'), with their slopes where ``slopes``."""
    x, y = xy[:, 0], xy[:, 1]
    if backend is not None:
        make = ((lambda pos, n: gpu.taps_with_slopes(backend, pos, n, _BILINEAR, boundary))
                if slopes else
                (lambda pos, n: gpu.taps(backend, pos, n, _BILINEAR, 1.0, boundary)))
    else:
        make = ((lambda pos, n: taps_with_slopes(pos, n, _BILINEAR, boundary)) if slopes else
                (lambda pos, n: compute_taps(pos, n, _BILINEAR, 1.0, boundary, merge=False)))
    return make(y, shape[0]), make(x, shape[1])


def _gather(image, taps, backend):
    """Bilinear samples (N, C) of ``image`` (H, W, C) float64 at the points of ``taps``."""
    if backend is not None:
        return gpu.gather(backend, image, *taps, 0.0, np.float64, np.float64)
    return cpu.gather(image, *taps, 0.0, np.float64, np.float64)


def _gather_vjp(image, taps, grad, d_image, d_pos, backend):
    """Bilinear sampling's gradient: adds ``taps``' transpose of ``grad`` (N, C) into
    ``d_image`` (H, W, C), and sets ``d_pos`` (N, 2) (either None: not wanted)."""
    args = (image, *taps, 0.0, grad, d_image, d_pos)
    if backend is not None:
        gpu.gather_vjp(backend, *args)
    else:
        cpu.gather_vjp(*args)


SPREAD_WIDTH = 0.5         # interpolate: the residuals first spread by Gaussians this many
                           # times the points' own (their geometric mean; docs/benchmarks.md)


class _Residuals(NamedTuple):
    """The points' residuals against an image and what their gradient needs (:func:`_residuals`)."""

    r: object           # (N, C): v_i - image(x_i), 0 where no pixel near the point is reached
    seen: object        # (N, C): image(x_i) less v_0
    share: object       # (N, 1): the reached pixels' share of the point's taps; None: all
    plane: object       # (H, W, 1): 1.0 at the holes (None without holes)


def _residuals(xy, values, image, holes, edge, backend):
    """The points' residuals ``r_i = v_i - image(x_i)`` against ``image`` (H, W, C) float64,
    sampled bilinearly (``edge``: the points' taps) over the pixels the points reach only:
    not the ``holes`` ((rows, cols) or None), whose fill or nearest value does not count.
    The holes are set to v_0 in ``image`` (the caller keeps their values), so that they add
    nothing to the samples less v_0, and a plane of the holes is sampled to renormalise;
    without holes no plane is made (its first touch would cost more than the sampling).
    Less v_0 (point sampling sums relative to its first tap): a constant cloud's residuals
    are exact zeros."""
    xp = np if backend is None else backend.xp
    base = values[:1].astype(np.float64)
    moved = values.astype(np.float64) - base
    if holes is None or not len(holes[0]):
        seen = _gather(image, edge, backend) - base
        return _Residuals(moved - seen, seen, None, None)
    image[holes[0], holes[1]] = base
    plane = (_zeroed_planes(image.shape[:2] + (1,), np.float64, "holes") if backend is None
             else xp.zeros(image.shape[:2] + (1,)))
    plane[holes[0], holes[1]] = 1.0
    share = 1.0 - _gather(plane, edge, backend)
    inside = share > 0                      # (else no pixel near the point is reached: 0)
    seen = (_gather(image, edge, backend) - base) / xp.where(inside, share, 1.0)
    return _Residuals(xp.where(inside, moved - seen, 0.0), seen, share, plane)


def _residuals_vjp(res, image, holes, d_r, edge, backend, d_image, d_xy):
    """Adds :func:`_residuals`' gradient given ``d_r`` (N, C) into ``d_image`` (H, W, C; none
    to the holes) and ``d_xy`` (N, 2): with S the samples, r = v - (S(image) - v_0) / share,
    share = 1 - S(holes).  Returns r's gradient with respect to the values."""
    xp = np if backend is None else backend.xp
    part = xp.empty(d_xy.shape)
    if res.share is None:
        _gather_vjp(image, edge, xp.ascontiguousarray(-d_r), d_image, part, backend)
        d_xy += part
        return d_r
    inside = res.share > 0
    inverse = xp.where(inside, 1.0 / xp.where(inside, res.share, 1.0), 0.0)
    d_sampled = xp.zeros(d_image.shape)
    _gather_vjp(image, edge, xp.ascontiguousarray(-d_r * inverse), d_sampled, part, backend)
    d_xy += part
    d_sampled[holes[0], holes[1]] = 0.0
    d_image += d_sampled
    _gather_vjp(res.plane, edge, xp.ascontiguousarray(-(d_r * res.seen).sum(
        axis=1, keepdims=True) * inverse), None, part, backend)
    d_xy += part
    return d_r * inside


def _hats(xy, r, inside, shape, backend):
    """The residuals r (N, C) spread by the points' bilinear hats (``inside``: their taps,
    constant boundary), and the hats' sum: (H, W, C + 1), this thread's scratch."""
    xp = np if backend is None else backend.xp
    n_ch = r.shape[1]
    amounts = xp.empty((len(r), n_ch + 1))
    amounts[:, :n_ch] = r
    amounts[:, n_ch] = 1.0
    acc = (_zeroed_planes(shape + (n_ch + 1,), np.float64, "spread") if backend is None
           else xp.zeros(shape + (n_ch + 1,)))
    _gather_vjp(acc, inside, amounts, acc, None, backend)
    return acc


def _gaussians(xy, r, s, cutoff, shape, backend):
    """The residuals r (N, C) spread by Gaussians of sigma s and peak 1 ``G_i``, and their
    sum: ``(amounts A = (r_i rho_i, rho_i), rho_i = (s_i / s_max)^2, kappa = 2 pi s_max^2,
    the sums of A under the splat's normalised Gaussians (H, W, C + 1), this thread's
    scratch)``; kappa times a sum is the sum under G_i (so that no amount overflows with
    huge or tiny sigmas)."""
    xp = np if backend is None else backend.xp
    n_ch = r.shape[1]
    s_max = float(s.max())
    ratio = s / s_max
    rho = ratio * ratio
    amounts = xp.empty((len(r), n_ch + 1))
    amounts[:, :n_ch] = r * rho[:, None]
    amounts[:, n_ch] = rho
    if backend is None:
        sums, _ = _sums(xy, amounts, s, s, cutoff, shape, None, use="spread_gaussian")
        sums = sums.transpose(1, 2, 0)
    else:
        sums, _, packed = gpu.gmm_sums(backend, xy, amounts, s, s, cutoff, shape, None)
        sums = sums[..., :n_ch + 1] if packed else sums.transpose(1, 2, 0)
    return amounts, rho, 2 * math.pi * s_max * s_max, sums


def _divided(acc, scale, n_ch, xp):
    """``scale num / max(1, scale den)`` of acc (H, W, C + 1) = (num, den), written over its
    first C channels (scratch: no fresh memory, whose first touch costs more than the
    division here); returns that view (H, W, C).  A scale of inf or 0 gives what the
    expression tends to, no NaN."""
    num, den = acc[..., :n_ch], acc[..., n_ch:]
    if 0.0 < scale < math.inf:                 # = num / max(den, 1 / scale)
        planes = acc.transpose(2, 0, 1)        # (planes, where the splat left them: faster)
        if planes.flags.c_contiguous:
            planes[:n_ch] /= xp.maximum(planes[n_ch], 1.0 / scale)
        else:
            num /= xp.maximum(den, 1.0 / scale)
        return num
    with np.errstate(over="ignore", invalid="ignore"):     # (den scale: 0 inf is no NaN here)
        big = den * scale > 1.0
        num[...] = xp.where(big, num / xp.where(big, den, 1.0),
                            xp.where(den > 0, num * scale, 0.0))
    return num


def _divided_vjp(acc, scale, grad, n_ch, xp):
    """The gradient of :func:`_divided` (given acc before it) for ``grad`` (H, W, C):
    (H, W, C + 1)."""
    num, den = acc[..., :n_ch], acc[..., n_ch:]
    d = xp.empty(acc.shape)
    with np.errstate(over="ignore", invalid="ignore"):     # (as _divided)
        big = den * scale > 1.0
        safe = xp.where(big, den, 1.0)
        d[..., :n_ch] = xp.where(big, grad / safe, xp.where(den > 0, grad * scale, 0.0))
        d[..., n_ch:] = xp.where(big, -(grad * num).sum(axis=2, keepdims=True)
                                 / (safe * safe), 0.0)
    return d


def _spread_setup(xy, sx, sy, cutoff, shape, backend, slopes=False):
    """What both steps of :func:`through_points` use: the points' bilinear taps (edge and
    constant boundaries), the Gaussians' sigma s and cutoff (:func:`_reach` of the given
    cutoff for s, not for the points' own sigmas)."""
    xp = np if backend is None else backend.xp
    s = xp.ascontiguousarray(SPREAD_WIDTH * xp.sqrt(sx) * xp.sqrt(sy), dtype=np.float64)
    return (_point_taps(xy, shape, "edge", backend, slopes),
            _point_taps(xy, shape, "constant", backend, slopes), s,
            _reach(cutoff, xy, s, s, shape, xp))


def through_points(xy, values, out, holes, sx, sy, cutoff, backend=None, overwrite=False):
    """``out`` (H, W, C) made to pass through the points, in two steps.  Each takes the
    points' residuals against its image ``f``: ``r_i = v_i - f(x_i)``, f sampled bilinearly
    at the point (edge boundary) over the pixels the points reach (not the ``holes``, (rows,
    cols) or None: the holes' values do not count, and holes keep them):

    1. the residuals spread by Gaussians of sigma ``s_i = SPREAD_WIDTH sqrt(sx_i sy_i)`` and
       peak 1, ``G_i`` (within ``cutoff`` s_i): ``f + sum_i G_i r_i / max(1, sum_i G_i)``
       (the pixels near a point move towards it);
    2. the residuals left spread over the 2x2 pixels around each point with bilinear
       weights (sampling's transpose: a pixel whose centre holds a point gets all of its
       residual and its neighbours none): ``f + sum_i t_i r_i / max(1, sum_i t_i)``,
       ``t_i(q) = hat(qx - x_i) hat(qy - y_i)``.

    A pixel holding a point takes the point's value (to rounding: ``f + (v - f)``); pixels
    beyond every point's reach keep ``out``.  Float64 (H, W, C): ``out`` itself where
    ``overwrite`` and it is float64, else a new array."""
    xp = np if backend is None else backend.xp
    shape, n_ch = out.shape[:2], out.shape[2]
    edge, inside, s, reach = _spread_setup(xy, sx, sy, cutoff, shape, backend)
    image = xp.ascontiguousarray(out, dtype=np.float64)
    if not (overwrite and image is out):
        image = image.copy()
    kept = None if holes is None else image[holes[0], holes[1]]   # (a copy: fancy indexing)
    r = _residuals(xy, values, image, holes, edge, backend).r
    _, _, kappa, sums = _gaussians(xy, r, s, reach, shape, backend)
    image += _divided(sums, kappa, n_ch, xp)
    r = _residuals(xy, values, image, holes, edge, backend).r
    image += _divided(_hats(xy, r, inside, shape, backend), 1.0, n_ch, xp)
    if kept is not None:
        image[holes[0], holes[1]] = kept              # (the holes keep their values)
    return image


def through_points_vjp(xy, values, out, holes, sx, sy, cutoff, grad, backend=None):
    """The gradient of :func:`through_points` given ``grad`` (H, W, C) of its result:
    ``(d_out (H, W, C), d_values (N, C), d_xy (N, 2), d_sx (N,), d_sy (N,))``, float64:
    through the bilinear weights' slopes (the hats' and the sampling's), the Gaussians'
    (their positions and widths), and the divisions by the weights."""
    xp = np if backend is None else backend.xp
    shape, n_ch = out.shape[:2], out.shape[2]
    n = len(xy)
    edge, inside, s, reach = _spread_setup(xy, sx, sy, cutoff, shape, backend, slopes=True)
    some_holes = holes is not None and len(holes[0]) > 0
    given = xp.asarray(grad, dtype=np.float64)
    grad = given.copy()
    if some_holes:                   # (the holes keep their values: none of theirs goes
        grad[holes[0], holes[1]] = 0.0          # through the steps)
    # the forward pass again, the images kept (the residuals set their holes to v_0)
    image = xp.array(out, dtype=np.float64)
    res0 = _residuals(xy, values, image, holes, edge, backend)
    amounts, rho, kappa, sums = _gaussians(xy, res0.r, s, reach, shape, backend)
    step1 = image + _divided(sums.copy(), kappa, n_ch, xp)     # (sums kept for the gradient)
    res1 = _residuals(xy, values, step1, holes, edge, backend)
    acc = _hats(xy, res1.r, inside, shape, backend)
    d_xy, part = xp.zeros((n, 2)), xp.empty((n, 2))
    # step 2, the bilinear hats, on step 1's image
    d_acc = _divided_vjp(acc, 1.0, grad, n_ch, xp)
    d_num = xp.ascontiguousarray(d_acc[..., :n_ch])
    d_r1 = xp.ascontiguousarray(_gather(d_num, inside, backend))
    _gather_vjp(d_num, inside, xp.ascontiguousarray(res1.r), None, part, backend)  # the hats'
    d_xy += part                                                               # slopes
    _gather_vjp(xp.ascontiguousarray(d_acc[..., n_ch:]), inside, xp.ones((n, 1)), None, part,
                backend)                                                 # (their sum's)
    d_xy += part
    d_step1 = grad.copy()
    d_values = _residuals_vjp(res1, step1, holes, d_r1, edge, backend, d_step1, d_xy)
    # step 1, the Gaussians, on out: a splat of A under normalised Gaussians, whose gradient
    # is a weighted mean's with colour 0 and weight 1 (vjp_from_forward)
    d_sums = xp.ascontiguousarray(_divided_vjp(sums, kappa, d_step1, n_ch, xp))
    empty = xp.empty(0, np.int64)
    g_xy, d_amounts, g_sx, g_sy, _ = vjp_from_forward(
        xy, amounts, s, s, reach, d_sums, xp.zeros(d_sums.shape), xp.ones(shape), None,
        empty, empty, backend, None)
    d_xy += g_xy
    d_r0 = xp.ascontiguousarray(d_amounts[:, :n_ch] * rho[:, None])     # A = (r rho, rho)
    d_rho = (d_amounts[:, :n_ch] * res0.r).sum(axis=1) + d_amounts[:, n_ch]
    s_max = float(s.max())                  # (kappa rho_i = 2 pi s_i^2: s_max cancels out)
    d_s = g_sx + g_sy + d_rho * 2 * (s / s_max) / s_max
    d_out = d_step1
    d_values = d_values + _residuals_vjp(res0, image, holes, d_r0, edge, backend, d_out, d_xy)
    if some_holes:                               # (the holes pass their own gradient on)
        d_out[holes[0], holes[1]] = given[holes[0], holes[1]]
    # s = SPREAD_WIDTH sqrt(sx sy): ds/dsx = s / (2 sx)
    return d_out, d_values, d_xy, d_s * s / (2 * sx), d_s * s / (2 * sy)


def _moments(xy, values, shape, xp=np):
    """``(moments (N, 5 + 4C) float64, values less the first point's (N, C))``: per point X,
    Y, XX, XY, YY, v, vX, vY, vv, with X, Y from the frame's centre and v less the first
    point's value (for precision; the planes do not depend on either origin)."""
    h, w = shape
    X, Y = xy[:, 0] - (w - 1) / 2, xy[:, 1] - (h - 1) / 2
    v = values.astype(np.float64) - values[:1].astype(np.float64)
    return xp.ascontiguousarray(xp.concatenate(
        [xp.stack([X, Y, X * X, X * Y, Y * Y], axis=1), v, v * X[:, None], v * Y[:, None],
         v * v], axis=1)), v


def _splat_means(xy, channels, sx, sy, cutoff, shape, theta, backend):
    """``(weighted means (H, W, K), Z (H, W))`` of the points' ``channels``: a copy of both
    (not this thread's scratch)."""
    if backend is None:
        means, z, _ = _forward(xy, channels, sx, sy, cutoff, shape, theta)
    else:

        means, z, _ = gpu.gmm_forward(backend, xy, channels, sx, sy, cutoff, shape, theta)
    return means, z.copy()


def _plane(means, order0, z, first, backend):
    """Order 1's blend at every pixel, float64 (H, W, C): kernels/common/gaussians.h's
    gmm_plane_at, given the moments' means (H, W, 5 + 4C), order 0's mean and weight Z and the
    first point's value (C)."""
    if backend is not None:
        return gpu.gmm_plane(backend, means, order0, z, first, LOCAL_RIDGE, LOCAL_CLIP)
    c = lambda a: np.ascontiguousarray(a, np.float64)          # noqa: E731
    out = np.empty(order0.shape, np.float64)
    _core.gmm_plane(c(means), c(order0), c(z), c(first), LOCAL_RIDGE, LOCAL_CLIP, out)
    return out


def _plane_vjp(means, order0, z, first, grad, backend):
    """The gradient of :func:`_plane`'s blend given ``grad`` (H, W, C): ``(d_means (H, W,
    5 + 4C), d_order0 (H, W, C))``, through the clips, R2 and the 2x2 solve
    (kernels/common/gaussians.h's gmm_plane_vjp_at); where Z = 0, all of ``grad`` to
    order0."""
    if backend is not None:
        return gpu.gmm_plane_vjp(backend, means, order0, z, first, LOCAL_RIDGE, LOCAL_CLIP,
                                 grad)
    c = lambda a: np.ascontiguousarray(a, np.float64)          # noqa: E731
    d_means = np.empty(means.shape, np.float64)
    d_order0 = np.empty(order0.shape, np.float64)
    _core.gmm_plane_vjp(c(means), c(order0), c(z), c(first), LOCAL_RIDGE, LOCAL_CLIP, c(grad),
                        d_means, d_order0)
    return d_means, d_order0


def reconstruct(xy, values, shape, *, sigma="steered", cutoff=3.0, holes="nearest", fill=0.0,
                device="auto", return_weights=False, order=None, interpolate=None):
    """Rebuild an image of ``shape = (H, W)`` from scattered points.

    xy:      (N, 2) point positions as (x, y) in output pixels (the centre of pixel [i, j] is
             x = j, y = i).  Points outside the frame still light the pixels they reach.
    values:  (N,) or (N, C) point values.  The output is float32 (float64 for float64 values),
             shaped (H, W) or (H, W, C) like the values.
    sigma:   a number, "steered" (the default: each point's Gaussian sized by the local
             density and contrast and stretched along the local edges, :func:`steered_sigma`),
             "auto" (isotropic, the same size: :func:`auto_sigma`; faster, and smoother across
             edges), (N,), (N, 2) as (sx, sy), or (N, 3) as (sx, sy, theta): steered
             Gaussians, the axes rotated by theta radians from the x axis towards y
             (docs/conventions.md).
    cutoff:  a point reaches pixels with r2 <= cutoff^2 (in units of its sigma).
    holes:   pixels no point reaches: "nearest" takes the nearest point's value, "constant" fill.
    return_weights: also return the weight map Z (H, W), a confidence (0 in holes).
    order:   0: the weighted mean of the points that reach a pixel; 1: that mean moved
             towards their weighted least-squares plane as far as the plane explains them
             (:func:`local_linear`), which follows ramps between sparse points.  None (the
             default): 1 with sigma="steered", else 0 (:func:`check_order`).
    interpolate: the image passes through the points: a pixel whose centre holds a point
             takes its value, and each point's residual is spread over the 2x2 pixels
             around it (:func:`through_points`).  None (the default): True with
             sigma="steered", else False (:func:`check_interpolate`).
    """

    on_device = devices.is_device_array(xy) or devices.is_device_array(values)
    backend = _backend(devices.select(device, on_device=on_device))
    xp = np if backend is None else backend.xp
    # With the GPU, the points are checked and their sigmas found on the device.
    xy, v, flat = _points(xy, values, xp)
    shape = _check_shape(shape)
    cutoff = _check_common(cutoff, holes)
    fill = validate_fill(fill)
    order = check_order(order, sigma)
    interpolate = check_interpolate(interpolate, sigma)
    if backend is None and str(device).lower() == "auto":   # host points: worth the copies?
        backend = _backend(devices.select("auto", cost=_splat_cost(xy, v, sigma, cutoff,
                                                                   shape)))
        if backend is not None:
            xy, v = backend.xp.asarray(xy), backend.xp.asarray(v)
    need = shape[0] * shape[1] * (2 * v.shape[1] + 1) * v.itemsize
    if holes == "nearest":   # the holes' places, centres, nearest points and distances; the tree
        need += shape[0] * shape[1] * 48 + len(xy) * 40
    if order == 1:           # the moments' planes (float64) and the solve's temporaries
        planes = 6 + 4 * v.shape[1]
        need += shape[0] * shape[1] * planes * 8 * 3 + len(xy) * planes * 8
    if interpolate:          # the rebuild in float64, the spread and its weights, the spread
        n_ch = v.shape[1]    # divided, the sum (and a copy back to float32); the taps
        need += shape[0] * shape[1] * ((4 * n_ch + 1) * 8 + n_ch * 4) + len(xy) * 80 * 8
    if isinstance(sigma, str):           # "auto": neighbour lists (N x 6 distances, indices)
        need += len(xy) * max(AUTO_NEIGHBOURS, CONTRAST_NEIGHBOURS) * 16
        if sigma == "steered":           # its neighbour lists, gradients and tensors
            need += len(xy) * (STEER_NEIGHBOURS * 16 + 80)
    what = f"a {shape[1]}x{shape[0]} reconstruction"
    if backend is not None:
        devices.check_device_memory(need, what)
    else:
        check_memory(need, what)
    search = PointSearch(xy) if backend is None else None
    sx, sy, theta, _ = _sigmas(sigma, xy, v, backend, search)
    given, cutoff = cutoff, _reach(cutoff, xy, sx, sy, shape, xp)
    out, z, (rows, cols, _) = forward_with_holes(xy, v, sx, sy, cutoff, shape, holes, fill,
                                                 backend, theta)
    if order == 1:
        z = z.copy()                      # (the splat below reuses this thread's scratch)
        out = local_linear(xy, v, sx, sy, cutoff, shape, theta, out, z,
                           backend).astype(out.dtype)
    if interpolate:
        out = through_points(xy, v, out, (rows, cols), sx, sy, given, backend,
                             overwrite=True).astype(out.dtype, copy=False)
    if backend is not None and not on_device:
        out, z = host(out), host(z)
    out = out[..., 0] if flat else out
    return (out, z.copy()) if return_weights else out


def _splat_cost(xy, values, sigma, cutoff, shape):
    """``(multiply-adds, bytes copied to a GPU and back)`` of a reconstruction, for
    :func:`resample.engines.devices.select`.  A footprint is pi (cutoff sigma)^2 pixels; for sigma
    other than a number, AUTO_FOOTPRINT pixels."""
    n, n_ch = values.shape
    if isinstance(sigma, (int, float, np.number)) and not isinstance(sigma, bool):
        radius = min(cutoff * float(sigma), float(shape[0] + shape[1]))
        footprint = math.pi * radius * radius
    else:
        footprint = AUTO_FOOTPRINT
    pixels = shape[0] * shape[1]
    madds = n * footprint * (n_ch + 2) + pixels * n_ch
    return madds, xy.nbytes + values.nbytes + pixels * (n_ch + 1) * values.itemsize


def _backend(engine):
    """The GPU backend (resample.engines.gpu) for engine "gpu", else None (the CPU engine)."""
    if engine != "gpu":
        return None

    return cuda.cupy_backend()


def resize_as_points(image, shape, align="centers", fill=0.0, device="auto"):
    """Resize by treating every input pixel as a point at its centre (method ``gmm``).

    Input pixel ``j`` sits at output ``x = (j + 0.5) * W_out / W_in - 0.5`` (``centers``) or
    ``x = j * (W_out - 1) / (W_in - 1)`` (``corners``); sigma is GRID_FACTOR times the spacing
    of the points in output pixels, and at least half an output pixel (antialiasing when
    shrinking).  NaN pixels are missing samples: the points around them fill in (an image
    of NaN only gives NaN).  Returns float samples of the image's channels; a CuPy image is
    rebuilt on its GPU (and a NumPy one there too with ``device="gpu"``).
    """

    on_device = devices.is_device_array(image)
    xp = sys.modules["cupy"] if on_device else np
    a = image if on_device else np.asarray(image)
    h_in, w_in = a.shape[:2]
    h, w = shape
    axes = []
    for n_in, n_out in ((w_in, w), (h_in, h)):
        j = xp.arange(n_in, dtype=np.float64)
        if align == "centers":
            axes.append(((j + 0.5) * n_out / n_in - 0.5, n_out / n_in))
        else:
            step = (n_out - 1) / (n_in - 1) if n_in > 1 else 1.0
            axes.append((j * step, step))
    (px, spacing_x), (py, spacing_y) = axes
    gx, gy = xp.meshgrid(px, py)
    xy = xp.stack([gx.ravel(), gy.ravel()], axis=1)
    sigma = xp.empty((len(xy), 2))
    sigma[:, 0] = max(GRID_FACTOR * spacing_x, 0.5)
    sigma[:, 1] = max(GRID_FACTOR * spacing_y, 0.5)
    values = a.reshape(h_in * w_in, -1)
    work = np.float64 if a.dtype == np.float64 or a.dtype.itemsize > 2 else np.float32
    known = xp.all(xp.isfinite(values), axis=1)      # NaN pixels are missing samples
    if not bool(known.any()):
        return xp.full(tuple(shape) + a.shape[2:], np.nan, work)
    if not bool(known.all()):
        xy, values, sigma = xy[known], values[known], sigma[known]
    out = reconstruct(xy, values.astype(work), shape, sigma=sigma, fill=fill, device=device)
    return out.reshape(tuple(shape) + a.shape[2:])


# --- backward ---------------------------------------------------------------------------------

def vjp_from_forward(xy, values, sx, sy, cutoff, grad, colour, z, hole_point, hole_rows,
                     hole_cols, backend=None, theta=None):
    """Gradients from a forward pass in float64: ``(d_xy, d_values, d_sx, d_sy, d_theta)``,
    ``d_theta`` None for unrotated Gaussians (``theta`` None).  ``backend``
    (resample.engines.gpu): every array is its own, and the per-point gathers run as its kernels.  A
    hole's gradient goes to the value of its nearest point (``hole_point``)."""
    if backend is None:
        xp = np
        n = len(xy)
        d_xy = np.zeros((n, 2))
        d_values = np.zeros((n, values.shape[1]))
        d_sx, d_sy = np.zeros(n), np.zeros(n)
        d_theta = None if theta is None else np.zeros(n)
        c = np.ascontiguousarray
        _core.gmm_vjp(c(xy, np.float64), c(values, np.float64), c(sx, np.float64),
                      c(sy, np.float64), _rotations(theta), float(cutoff), c(grad, np.float64),
                      c(colour, np.float64), c(z, np.float64), d_xy, d_values, d_sx, d_sy,
                      _NO_ROTATION if d_theta is None else d_theta)
    else:

        xp = backend.xp
        d_xy, d_values, d_sx, d_sy, d_theta = gpu.gmm_vjp(backend, xy, values, sx, sy, cutoff,
                                                          grad, colour, z, theta)
    if hole_point is not None and len(hole_point):
        hole_grad = grad[hole_rows, hole_cols]                     # (holes, C)
        for ch in range(d_values.shape[1]):
            d_values[:, ch] += xp.bincount(hole_point, weights=hole_grad[:, ch],
                                           minlength=len(d_values))
    return d_xy, d_values, d_sx, d_sy, d_theta


def forward_with_holes(xy, values, sx, sy, cutoff, shape, holes="nearest", fill=0.0,
                       backend=None, theta=None):
    """Forward pass on prepared arrays: ``(out (H, W, C), Z, holes)`` where ``holes`` is
    ``(rows, cols, nearest point or None)``.  Z is valid until this thread's next forward pass.

    ``backend`` (resample.engines.gpu): every array is its own, and the splat and the holes' nearest
    points run as its kernels.  ``theta``: the rotations of steered Gaussians, or None."""
    # The values are splatted less the first point's (and it is added back): a constant cloud
    # sums exact zeros, so it gives an exactly constant image, and sums of values far from 0
    # keep their precision.
    base = values[:1]
    shifted = values - base
    if backend is None:
        xp = np
        out, z, n_holes = _forward(xy, shifted, sx, sy, cutoff, shape, theta)
    else:

        xp = backend.xp
        out, z, n_holes = gpu.gmm_forward(backend, xy, shifted, sx, sy, cutoff, shape, theta)
    out += base
    rows = cols = xp.empty(0, np.int64)
    nearest = None
    if n_holes:                                        # holes: no point reaches them
        if backend is None:
            rows, cols = np.empty(n_holes, np.int64), np.empty(n_holes, np.int64)
            _core.holes(z, rows, cols)
        else:
            rows, cols = xp.nonzero(z <= 0)
        if holes == "nearest":
            nearest = hole_nearest(xy, rows, cols, backend)
            out[rows, cols] = values[nearest]
        else:
            out[rows, cols] = fill
    return out, z, (rows, cols, nearest)


def order1_vjp(xy, v64, sx, sy, cutoff, shape, g, colour, z, holes_found, backend, theta):
    """:func:`vjp_from_forward`'s gradients for order 1 (:func:`local_linear`): order 0's
    mean gets the blend's share of ``g`` (and the holes all of theirs); the moments' means
    get theirs through :func:`_plane_vjp` and pass it to the points as a weighted mean of
    the moments' channels does (the Gaussians of :func:`plane_sigmas`), and to
    the positions and values through the moments' polynomials."""
    xp = np if backend is None else backend.xp
    rows, cols, nearest = holes_found
    n_ch = v64.shape[1]
    z = z.copy()
    moments, shifted = _moments(xy, v64, shape, xp)
    wide_x, wide_y = plane_sigmas(sx, sy)
    means, z_wide = _splat_means(xy, moments, wide_x, wide_y, cutoff, shape, theta, backend)
    # (holes: all of g to order 0's values, which fill them)
    d_means, d_mean = _plane_vjp(means, colour, z, v64[0], g, backend)
    d_xy, d_values, d_sx, d_sy, d_theta = vjp_from_forward(
        xy, v64, sx, sy, cutoff, d_mean, colour, z, nearest, rows, cols, backend, theta)
    empty = xp.empty(0, np.int64)
    w_xy, d_f, w_sx, w_sy, w_theta = vjp_from_forward(
        xy, moments, wide_x, wide_y, cutoff, d_means, means, z_wide, None, empty, empty,
        backend, theta)
    X, Y = moments[:, 0], moments[:, 1]
    dv, dvx, dvy, dvv = (d_f[:, 5 + k * n_ch:5 + (k + 1) * n_ch] for k in range(4))
    d_xy = d_xy + w_xy
    d_xy[:, 0] += (d_f[:, 0] + 2 * X * d_f[:, 2] + Y * d_f[:, 3]
                   + (shifted * dvx).sum(axis=1))
    d_xy[:, 1] += (d_f[:, 1] + X * d_f[:, 3] + 2 * Y * d_f[:, 4]
                   + (shifted * dvy).sum(axis=1))
    d_values = d_values + dv + X[:, None] * dvx + Y[:, None] * dvy + 2 * shifted * dvv
    a, b = (1 + LOCAL_STEER) / 2, (1 - LOCAL_STEER) / 2          # (plane_sigmas' powers)
    d_sx = d_sx + (a * w_sx * wide_x + b * w_sy * wide_y) / sx
    d_sy = d_sy + (b * w_sx * wide_x + a * w_sy * wide_y) / sy
    d_theta = None if d_theta is None else d_theta + w_theta
    return d_xy, d_values, d_sx, d_sy, d_theta


def reconstruct_vjp(xy, values, shape, grad_out, *, sigma, cutoff=3.0, holes="nearest",
                    order=None, interpolate=None):
    """Vector-Jacobian product of :func:`reconstruct`: ``(d_xy, d_values, d_sigma)``.

    ``grad_out`` is dL/d(output), shaped like the output.  The gradients have the shapes of the
    inputs (``d_sigma`` a float for a scalar sigma; (N, 3) as d(sx, sy, theta) for steered
    Gaussians).  With ``holes="nearest"``, a hole pixel's
    gradient goes to its nearest point's value; a hole moves no point.  ``sigma="auto"`` is
    treated as fixed, and ``d_sigma`` then has shape (N,).  The formulas (docs/conventions.md) keep the
    ``c_i - c(q)`` term, so they match finite differences.  ``order=1``: through the planes of
    :func:`local_linear` too (:func:`_plane_vjp`, then the moments' splat as the same kind
    of weighted mean); ``order=None`` is :func:`reconstruct`'s default.  ``interpolate``:
    through the residuals' spread too (:func:`through_points_vjp`); None is
    :func:`reconstruct`'s default.  With CuPy inputs the passes run on the GPU; the gradients
    come back as NumPy arrays.
    """

    on_device = any(devices.is_device_array(a) for a in (xy, values, grad_out))
    backend = _backend(devices.select("gpu" if on_device else "cpu"))
    xp = np if backend is None else backend.xp
    xy, v, flat = _points(xy, values, xp)
    shape = _check_shape(shape)
    cutoff = _check_common(cutoff, holes)
    order = check_order(order, sigma)
    interpolate = check_interpolate(interpolate, sigma)
    search = PointSearch(xy) if backend is None else None
    sx, sy, theta, kind = _sigmas(sigma, xy, v, backend, search)
    given, cutoff = cutoff, _reach(cutoff, xy, sx, sy, shape, xp)
    g = _as(xp, grad_out, np.float64)
    expected = shape + ((v.shape[1],) if not flat else ())
    if g.shape != expected:
        raise ResampleError(f"grad_out must have shape {expected}, got {g.shape}")
    g = xp.ascontiguousarray(g.reshape(shape + (v.shape[1],)))
    v64 = v.astype(np.float64)
    colour, z, (rows, cols, nearest) = forward_with_holes(xy, v64, sx, sy, cutoff, shape, holes,
                                                          backend=backend, theta=theta)
    through = None
    if interpolate:                  # g becomes the gradient of the image before the spread
        out = colour
        if order == 1:
            z = z.copy()             # (the moments' splat reuses this thread's scratch)
            out = local_linear(xy, v64, sx, sy, cutoff, shape, theta, colour, z, backend)
        g, *through = through_points_vjp(xy, v64, out, (rows, cols), sx, sy, given, g,
                                         backend)
    if order == 1:
        d_xy, d_values, d_sx, d_sy, d_theta = order1_vjp(xy, v64, sx, sy, cutoff, shape, g,
                                                          colour, z, (rows, cols, nearest),
                                                          backend, theta)
    else:
        d_xy, d_values, d_sx, d_sy, d_theta = vjp_from_forward(
            xy, v64, sx, sy, cutoff, g, colour, z, nearest, rows, cols, backend, theta)
    if through is not None:
        d_values, d_xy = d_values + through[0], d_xy + through[1]
        d_sx, d_sy = d_sx + through[2], d_sy + through[3]
    d_values = d_values[:, 0] if flat else d_values
    if kind == "scalar":
        d_sigma = float(d_sx.sum() + d_sy.sum())
    elif kind == "aniso":
        d_sigma = xp.stack([d_sx, d_sy], axis=1)
    elif kind == "steered":
        d_sigma = xp.stack([d_sx, d_sy, d_theta], axis=1)
    else:
        d_sigma = d_sx + d_sy
    return d_xy, d_values, d_sigma
