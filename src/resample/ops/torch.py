"""PyTorch autograd functions over the engines (the public name is :mod:`resample.torch`;
docs/torch.md).  Importing ``resample`` never imports torch; this module needs it (the
``[torch]`` extra).

Tensors pass to the engines as views: a CPU tensor as a NumPy array (the C++ engine), a CUDA
tensor as a CuPy array through DLPack (the CUDA kernels, on torch's current stream).
``sample`` lays a batch's images out channels-last first (one copy each).

- :func:`reconstruct`: the point-cloud rebuild (:func:`resample.ops.gmm.reconstruct`), with
  the exact gradients of :func:`resample.ops.gmm.reconstruct_vjp` for positions, values and
  sigmas (isotropic, per axis, steered with rotation).
- :func:`sample`: point sampling as ``grid_sample`` (:func:`resample.sample`), with gradients
  for the image (the adjoint of the taps) and for the points (through the taps' derivatives
  in the position, kernels/common/taps.h's ``taps_slopes_one``), by the engines
  (kernels/common/sampling.h).
- :func:`resize`: images ``(N, C, H, W)``, ``(C, H, W)`` or ``(H, W)`` in float32 or float64,
  resized by the engine, every plane at once (stacked along the rows, the rows' table
  stacked to match); the gradient is the adjoint of the same tap tables (the resize is linear
  in the image: out = R_rows x R_cols^T per plane), the engine's resize with the tables
  transposed (:func:`resample.spec.taps.transposed`).
"""

from __future__ import annotations

import contextlib
import math

import numpy as np
import torch

from ..engines import cpu, cuda, gpu
from ..errors import ResampleError, excerpt
from ..spec.methods import get_method
from ..spec.dtypes import work_dtype
from ..spec.memory import check_memory
from ..spec.taps import (ALIGNS, BOUNDARIES, check_choice, compute_taps, normalized_to_pixels,
                         resize_taps, sloped_width, stacked, taps_with_slopes, transposed,
                         validate_fill)
from . import gmm
from .resize import output_shape, resize_memory
from .resize import sample as _sample

FLOATS = (torch.float32, torch.float64)
NUMPY_TYPES = {torch.float32: np.dtype(np.float32), torch.float64: np.dtype(np.float64)}


# --- tensors to the engines' arrays and back, without copies ----------------------------------

def _cupy():
    return cuda.import_cupy()      # (CuPy itself: for CUDA tensors only, on first use)


def _array(t):
    """The engines' view of tensor ``t`` (detached): NumPy for the CPU, CuPy for CUDA."""
    t = t.detach()
    if t.device.type == "cuda":
        return _cupy().from_dlpack(t.contiguous())
    if t.device.type != "cpu":
        raise ResampleError(f"tensors on {t.device.type} are not supported (CPU or CUDA)")
    return t.contiguous().numpy()


def _tensor(a, like):
    """A tensor over the array ``a`` (NumPy or CuPy), on ``like``'s device."""
    if isinstance(a, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(a)).to(like.device)
    return torch.from_dlpack(a)


@contextlib.contextmanager
def _stream(t):
    """CuPy's work on torch's current CUDA stream (for CUDA tensors), else nothing."""
    if t.device.type != "cuda":
        yield
        return
    cupy = _cupy()
    with cupy.cuda.ExternalStream(torch.cuda.current_stream(t.device).cuda_stream):
        yield


def _float(t, name):
    if not isinstance(t, torch.Tensor):
        raise ResampleError(f"{name} must be a torch tensor, got {type(t).__name__}")
    if t.layout != torch.strided:
        raise ResampleError(f"{name} must be a dense tensor, got layout {t.layout}")
    if t.dtype not in FLOATS:
        raise ResampleError(f"{name} must be float32 or float64, got {t.dtype}")
    return t


# --- second derivatives: refused where asked for ----------------------------------------------

class _SecondOrder(torch.autograd.Function):
    """A gradient of ours, made under create_graph: the same values, and a backward pass
    that refuses in one line (rather than a graph that silently stops there)."""

    @staticmethod
    def forward(ctx, gradient, *inputs):
        return gradient.clone()

    @staticmethod
    def backward(ctx, *grads):
        raise ResampleError("resample.torch has first derivatives only: a gradient of its "
                            "gradient (create_graph=True, then backward through it) is not "
                            "supported")


def first_order(backward):
    """Wraps an autograd backward: under create_graph (grad mode on in the backward pass),
    each gradient it returns refuses to be differentiated again (:class:`_SecondOrder`)."""

    def wrapped(ctx, *grads):
        out = backward(ctx, *grads)
        if not torch.is_grad_enabled():
            return out
        sources = [t for t in (*ctx.saved_tensors, *grads)
                   if isinstance(t, torch.Tensor) and t.requires_grad]
        return tuple(_SecondOrder.apply(g, *sources) if isinstance(g, torch.Tensor) else g
                     for g in out)
    return wrapped


# --- the point-cloud rebuild ------------------------------------------------------------------

class _Reconstruct(torch.autograd.Function):
    @staticmethod
    def forward(ctx, xy, values, sigma, shape, cutoff, holes, order, interpolate):
        with _stream(values):
            out = gmm.reconstruct(_array(xy), _array(values), shape, sigma=_array(sigma),
                                  cutoff=cutoff, holes=holes, order=order,
                                  interpolate=interpolate,
                                  device="gpu" if values.device.type == "cuda" else "cpu")
        ctx.save_for_backward(xy, values, sigma)
        ctx.args = (shape, cutoff, holes, order, interpolate)
        return _tensor(out, values)

    @staticmethod
    @first_order
    def backward(ctx, grad):
        xy, values, sigma = ctx.saved_tensors
        shape, cutoff, holes, order, interpolate = ctx.args
        with _stream(values):
            d_xy, d_values, d_sigma = gmm.reconstruct_vjp(
                _array(xy), _array(values), shape, _array(grad.to(values.dtype)),
                sigma=_array(sigma), cutoff=cutoff, holes=holes, order=order,
                interpolate=interpolate)
        as_t = lambda a, like: _tensor(np.asarray(a, np.float64), like).to(like.dtype)  # noqa
        d_sigma = torch.as_tensor(d_sigma, dtype=sigma.dtype, device=sigma.device)
        return (as_t(d_xy, xy), as_t(d_values, values), d_sigma.reshape(sigma.shape),
                None, None, None, None, None)


def reconstruct(xy, values, shape, sigma="steered", cutoff=3.0, holes="nearest", order=None,
                interpolate=None):
    """The image rebuilt from points (:func:`resample.reconstruct`) as a differentiable
    tensor: ``xy`` (N, 2) as (x, y) in output pixels, ``values`` (N,) or (N, C), float32 or
    float64, on the CPU or a CUDA device; returns (H, W) or (H, W, C) like the values.

    ``sigma``: a tensor (a scalar, (N,), (N, 2) as (sx, sy), or (N, 3) as (sx, sy, theta)),
    whose gradient flows; or a rule, "steered" or "auto", computed from the detached points
    (a constant of the graph: no gradient flows through the rule).  ``order`` and
    ``interpolate``: as :func:`resample.reconstruct` (None: order 1 and interpolating with
    "steered", else order 0, not interpolating).  Gradients: positions, values and a tensor
    sigma, exact (docs/conventions.md)."""
    _float(xy, "xy")
    _float(values, "values")
    if xy.device != values.device:
        raise ResampleError(f"xy and values must be on one device, got {xy.device} and "
                            f"{values.device}")
    gmm.check_points(_array(xy), _array(values))       # shapes, N >= 1, finite: one line
    order = gmm.check_order(order, sigma)
    interpolate = gmm.check_interpolate(interpolate, sigma)
    if isinstance(sigma, str):
        rule = sigma.lower()
        if rule not in gmm.SIGMA_RULES:
            raise ResampleError(f"unknown sigma rule {sigma!r}; choose one of: "
                                f"{', '.join(gmm.SIGMA_RULES)}, or a tensor")
        found = (gmm.steered_sigma if rule == "steered" else gmm.auto_sigma)(
            np.asarray(_array(xy).get() if xy.device.type == "cuda" else _array(xy)),
            np.asarray(_array(values).get() if values.device.type == "cuda"
                       else _array(values)).reshape(len(xy), -1))
        sigma = torch.as_tensor(np.asarray(found), dtype=values.dtype, device=values.device)
    elif not isinstance(sigma, torch.Tensor):
        sigma = torch.as_tensor(sigma, dtype=values.dtype, device=values.device)
    shape = tuple(int(s) for s in shape)
    return _Reconstruct.apply(xy, values, sigma, shape, float(cutoff), holes, order,
                              interpolate)


# --- resizing ---------------------------------------------------------------------------------

def _resize_planes(planes, taps_rows, taps_cols, fill, how):
    """Every plane of ``planes`` (P, H, W) resized by the engine of its device in one call:
    the planes stacked along the rows (a view), the rows' table stacked to match
    (:func:`resample.spec.taps.stacked`), so that each plane is resized as alone, in the pass
    order ``how`` chose for one plane.  Returns (P, H_out, W_out)."""
    n, h, w = planes.shape
    rows = stacked(taps_rows, n, h)
    image = _array(planes.reshape(n * h, w, 1))
    kind, work = image.dtype, work_dtype(image.dtype)      # (as resample.resize sums)
    with _stream(planes):
        if planes.device.type == "cuda":
            out = gpu.resize(cuda.cupy_backend(), image, rows, taps_cols, fill, work, kind)
        else:
            out = cpu.resize(image, rows, taps_cols, fill, work, kind, how)
    return _tensor(out, planes).reshape(n, taps_rows.n_out, taps_cols.n_out)


class _Resize(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, out_shape, method, align, boundary, antialias, fill):
        (h, w), (h_out, w_out) = x.shape[-2:], out_shape
        planes = x.reshape(-1, h, w)
        rows = resize_taps(h, h_out, method, align, boundary, antialias)
        cols = resize_taps(w, w_out, method, align, boundary, antialias)
        kind = NUMPY_TYPES[x.dtype]
        check_memory(resize_memory((planes.shape[0] * h, w), (planes.shape[0] * h_out, w_out),
                                   kind, method, antialias, align, boundary),
                     f"a batch of {planes.shape[0]} planes resized to {w_out}x{h_out}")
        # each plane as resample.resize would (its pass order: the plan of one plane)
        how = cpu.plan((h, w), rows, cols, fill, kind, kind)
        ctx.args = (x.shape, method, align, boundary, antialias)
        return _resize_planes(planes, rows, cols, fill, how).reshape(*x.shape[:-2], *out_shape)

    @staticmethod
    @first_order
    def backward(ctx, grad):
        shape, method, align, boundary, antialias = ctx.args
        (h_in, w_in), (h_out, w_out) = shape[-2:], grad.shape[-2:]
        # the adjoint R_rows^T G R_cols: the engine's resize with the tables transposed
        rows = transposed(resize_taps(h_in, h_out, method, align, boundary, antialias), h_in)
        cols = transposed(resize_taps(w_in, w_out, method, align, boundary, antialias), w_in)
        d = _resize_planes(grad.reshape(-1, h_out, w_out).contiguous(), rows, cols, 0.0, None)
        return d.reshape(shape), None, None, None, None, None, None


def resize(x, size=None, scale=None, method="bilinear", align="centers", boundary="truncate",
           antialias=True, fill=0.0):
    """``x`` (N, C, H, W), (C, H, W) or (H, W), float32 or float64, resized over its last two
    axes by the engine (:func:`resample.resize`'s methods, alignments, boundaries and
    antialiasing), differentiable with respect to ``x``.  ``size``: (H_out, W_out);
    ``scale``: a factor or (s_rows, s_cols), each side ``floor(n * s + 0.5)``."""
    _float(x, "x")
    if x.dim() not in (2, 3, 4):
        raise ResampleError(f"x must be (N, C, H, W), (C, H, W) or (H, W), got {tuple(x.shape)}")
    if str(method).lower() == "gmm":
        raise ResampleError("method gmm (pixels as points) has no torch gradient here; use "
                            "resample.torch.reconstruct")
    if (size is None) == (scale is None):
        raise ResampleError("give exactly one of size= (H_out, W_out) or scale=")
    if 0 in x.shape[-2:]:
        raise ResampleError(f"x has an empty side: {tuple(x.shape)}")
    m = get_method(method)
    align = check_choice(align, ALIGNS, "align")
    boundary = check_choice(boundary, BOUNDARIES, "boundary")
    if not isinstance(antialias, (bool, np.bool_)):
        raise ResampleError(f"antialias must be True or False, got {excerpt(antialias)}")
    fill = validate_fill(fill)
    out_shape = output_shape(tuple(x.shape[-2:]), scale, size)
    if x.numel() == 0:          # no planes: nothing to resize, a graph to x all the same
        return x.new_zeros((*x.shape[:-2], *out_shape)) + 0 * x.sum()
    return _Resize.apply(x, out_shape, m, align, boundary, bool(antialias), fill)


# --- point sampling ---------------------------------------------------------------------------

# grid_sample's padding modes, and the boundaries that give the same samples
PADDING_MODES = {"zeros": 'boundary="constant" with fill=0',
                 "border": 'boundary="edge"',
                 "reflection": 'boundary="reflect" with align="centers" '
                               '(align_corners=False), "mirror" with align="corners"'}


def _positions(coords, n, normalized, align):
    """Pixel positions (float64) of ``coords`` along an axis of ``n``, and d(pixel)/d(coord)."""
    c = coords.detach().to(torch.float64)
    if not normalized:
        return c, 1.0
    return normalized_to_pixels(c, n, align), (n - 1) / 2.0 if align == "corners" else n / 2.0


def _sampling_gradient(image, grad, xy, method, boundary, fill, want_image, want_xy):
    """The gradients of sampling ``image`` (H, W, C) at ``xy`` (P, 2) pixel positions (float64
    tensors), for ``grad`` (P, C): the image's (H, W, C) and the positions' (P, 2), or None
    where not wanted, by the engine of ``image``'s device (kernels/common/sampling.h)."""
    h, w = image.shape[:2]
    on_gpu = image.device.type == "cuda"
    backend = cuda.cupy_backend() if on_gpu else None

    def taps(pos, n):
        if want_xy or not method.custom:    # (a Python kernel has no slopes: taps without)
            return (gpu.taps_with_slopes(backend, pos, n, method, boundary) if on_gpu
                    else taps_with_slopes(pos, n, method, boundary))
        return (gpu.taps(backend, pos, n, method, 1.0, boundary) if on_gpu
                else compute_taps(pos, n, method, 1.0, boundary))

    with _stream(image):
        ty, tx = taps(_array(xy[:, 1]), h), taps(_array(xy[:, 0]), w)
        d_image = torch.zeros_like(image) if want_image else None
        d_xy = torch.empty(xy.shape, dtype=torch.float64, device=xy.device) if want_xy else None
        # (torch's zeros, written through the engines' views of them: no copies)
        args = (_array(image), ty, tx, fill, _array(grad),
                None if d_image is None else _array(d_image),
                None if d_xy is None else _array(d_xy))
        if on_gpu:
            gpu.gather_vjp(backend, *args)
        else:
            cpu.gather_vjp(*args)
    return d_image, d_xy


class _Sample(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, grid, method, align, normalized, boundary, fill):
        # x (B, C, H, W), grid (B, P, 2) as (x, y); returns (B, C, P)
        n_b, n_c = x.shape[:2]
        out = torch.empty((n_b, n_c, grid.shape[1]), dtype=x.dtype, device=x.device)
        with _stream(x):
            for b in range(n_b):      # (H, W, C): a view for one channel, else one copy
                got = _sample(_array(x[b].permute(1, 2, 0)), _array(grid[b]), method=method,
                              align=align, normalized=normalized, boundary=boundary,
                              fill=fill)
                out[b] = _tensor(got, x).reshape(grid.shape[1], n_c).t()
        ctx.save_for_backward(x, grid)
        ctx.args = (method, align, normalized, boundary, fill)
        return out

    @staticmethod
    @first_order
    def backward(ctx, grad):
        x, grid = ctx.saved_tensors
        method, align, normalized, boundary, fill = ctx.args
        want_x, want_grid = ctx.needs_input_grad[:2]
        n_b, n_c, h, w = x.shape
        d_x = torch.zeros_like(x) if want_x else None
        d_grid = torch.zeros_like(grid) if want_grid else None
        for b in range(n_b):
            px, fx = _positions(grid[b, :, 0], w, normalized, align)
            py, fy = _positions(grid[b, :, 1], h, normalized, align)
            d_image, d_xy = _sampling_gradient(
                x[b].permute(1, 2, 0).contiguous(), grad[b].t().to(x.dtype).contiguous(),
                torch.stack([px, py], 1), method, boundary, fill, want_x, want_grid)
            if want_x:
                d_x[b] = d_image.permute(2, 0, 1)
            if want_grid:
                d_grid[b, :, 0] = (d_xy[:, 0] * fx).to(grid.dtype)
                d_grid[b, :, 1] = (d_xy[:, 1] * fy).to(grid.dtype)
        return d_x, d_grid, None, None, None, None, None


def sample(x, grid, method="bilinear", normalized=True, align="centers", boundary="edge",
           fill=0.0):
    """Sample images at points, as ``torch.nn.functional.grid_sample``, differentiable with
    respect to the image and the points (:func:`resample.sample`'s methods and boundaries).

    ``x`` (N, C, H, W) with ``grid`` (N, ..., 2) gives (N, C, ...); ``x`` (C, H, W) or (H, W)
    with ``grid`` (..., 2) gives (C, ...) or (...).  ``grid`` holds (x, y) = (column, row):
    with ``normalized`` in [-1, 1] (``align="corners"``: -1 and 1 the corner pixels' centres,
    as ``align_corners=True``; ``"centers"``: the outer edges, as ``align_corners=False``),
    else in pixels (the centre of pixel [i, j] at x = j, y = i).  float32 or float64, on the
    CPU or a CUDA device.  grid_sample's padding modes are boundaries here (PADDING_MODES:
    ``"zeros"`` is ``boundary="constant"`` with ``fill=0``, ``"border"`` is ``"edge"``,
    ``"reflection"`` is ``"reflect"`` or ``"mirror"``).  The points' gradient is the
    derivative from the right (x and y growing) where the kernel has a kink, as grid_sample's;
    it is 0 for ``nearest`` and ``box``, and needs a built-in method."""
    _float(x, "x")
    _float(grid, "grid")
    if x.dim() not in (2, 3, 4):
        raise ResampleError(f"x must be (N, C, H, W), (C, H, W) or (H, W), got {tuple(x.shape)}")
    if grid.dim() < 1 or grid.shape[-1] != 2:
        raise ResampleError(f"grid must have shape (..., 2) as (x, y), got {tuple(grid.shape)}")
    if x.device != grid.device:
        raise ResampleError(f"x and grid must be on one device, got {x.device} and {grid.device}")
    if x.dim() == 4 and (grid.dim() < 2 or grid.shape[0] != x.shape[0]):
        raise ResampleError(f"grid must be (N, ..., 2) with N = {x.shape[0]} as x, got "
                            f"{tuple(grid.shape)}")
    m = get_method(method)
    align = check_choice(align, ALIGNS, "align")
    if str(boundary).lower() in PADDING_MODES:
        raise ResampleError(f"boundary {boundary!r} is grid_sample's padding_mode; here "
                            f"{PADDING_MODES[str(boundary).lower()]}")
    boundary = check_choice(boundary, BOUNDARIES, "boundary")
    if not isinstance(normalized, (bool, np.bool_)):
        raise ResampleError(f"normalized must be True or False, got {normalized!r}")
    fill = validate_fill(fill)
    batched = x if x.dim() == 4 else x.reshape(1, -1, *x.shape[-2:])
    points = grid if x.dim() == 4 else grid[None]
    lead = points.shape[1:-1]
    n_points = math.prod(points.shape[:-1])
    # the forward's and the backward's largest arrays: each point's coordinates (and the
    # finiteness test's flags) and its two tables with slopes (int64 indices, float64 weights
    # and slopes), the image's planes channels-last, its gradient, and the output
    width = sloped_width(m, boundary)
    check_memory(n_points * (18 + 2 * (24 * width + 32))
                 + 3 * batched[:1].numel() * x.element_size()
                 + n_points * batched.shape[1] * 2 * x.element_size(),
                 f"sampling at {n_points} points")
    if not bool(torch.isfinite(grid).all()):
        raise ResampleError("grid holds NaN or infinite values")
    if batched.shape[0] == 0:       # no images: nothing to sample (as grid_sample), a graph
        return x.new_zeros((0, x.shape[1], *lead)) + 0 * (x.sum() + grid.sum())  # to both
    out = _Sample.apply(batched, points.reshape(points.shape[0], -1, 2), m, align,
                        bool(normalized), boundary, fill)
    out = out.reshape(*out.shape[:2], *lead)
    return out if x.dim() == 4 else (out[0] if x.dim() == 3 else out[0, 0])
