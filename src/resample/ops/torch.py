"""PyTorch autograd functions over the engines (the public name is :mod:`resample.torch`;
docs/torch.md).  Importing ``resample`` never imports torch; this module needs it (the
``[torch]`` extra).

Tensors pass to the engines without a copy: a CPU tensor as a NumPy view (the C++ engine), a
CUDA tensor as a CuPy array through DLPack (the CUDA kernels, on torch's current stream).

- :func:`reconstruct`: the point-cloud rebuild (:func:`resample.ops.gmm.reconstruct`), with
  the exact gradients of :func:`resample.ops.gmm.reconstruct_vjp` for positions, values and
  sigmas (isotropic, per axis, steered with rotation).
- :func:`resize`: images ``(N, C, H, W)``, ``(C, H, W)`` or ``(H, W)`` in float32 or float64,
  resized by the engine; the gradient is the adjoint of the same tap tables (the resize is
  linear in the image: out = R_rows x R_cols^T per plane), applied as two sparse products in
  torch, on the tensor's device.
"""

from __future__ import annotations

import contextlib

import numpy as np
import torch

from ..errors import ResampleError
from ..spec.methods import get_method
from ..spec.taps import ALIGNS, BOUNDARIES, check_choice, resize_taps
from . import gmm
from .resize import output_shape
from .resize import resize as _resize

FLOATS = (torch.float32, torch.float64)


# --- tensors to the engines' arrays and back, without copies ----------------------------------

def _cupy():
    from ..engines import cuda  # deferred: CuPy, for CUDA tensors only

    return cuda.import_cupy()


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
    if t.dtype not in FLOATS:
        raise ResampleError(f"{name} must be float32 or float64, got {t.dtype}")
    return t


# --- the point-cloud rebuild ------------------------------------------------------------------

class _Reconstruct(torch.autograd.Function):
    @staticmethod
    def forward(ctx, xy, values, sigma, shape, cutoff, holes, order):
        with _stream(values):
            out = gmm.reconstruct(_array(xy), _array(values), shape, sigma=_array(sigma),
                                  cutoff=cutoff, holes=holes, order=order,
                                  device="gpu" if values.device.type == "cuda" else "cpu")
        ctx.save_for_backward(xy, values, sigma)
        ctx.args = (shape, cutoff, holes, order)
        return _tensor(out, values)

    @staticmethod
    def backward(ctx, grad):
        xy, values, sigma = ctx.saved_tensors
        shape, cutoff, holes, order = ctx.args
        with _stream(values):
            d_xy, d_values, d_sigma = gmm.reconstruct_vjp(
                _array(xy), _array(values), shape, _array(grad.to(values.dtype)),
                sigma=_array(sigma), cutoff=cutoff, holes=holes, order=order)
        as_t = lambda a, like: _tensor(np.asarray(a, np.float64), like).to(like.dtype)  # noqa
        d_sigma = torch.as_tensor(d_sigma, dtype=sigma.dtype, device=sigma.device)
        return (as_t(d_xy, xy), as_t(d_values, values), d_sigma.reshape(sigma.shape),
                None, None, None, None)


def reconstruct(xy, values, shape, sigma="steered", cutoff=3.0, holes="nearest", order=None):
    """The image rebuilt from points (:func:`resample.reconstruct`) as a differentiable
    tensor: ``xy`` (N, 2) as (x, y) in output pixels, ``values`` (N,) or (N, C), float32 or
    float64, on the CPU or a CUDA device; returns (H, W) or (H, W, C) like the values.

    ``sigma``: a tensor (a scalar, (N,), (N, 2) as (sx, sy), or (N, 3) as (sx, sy, theta)),
    whose gradient flows; or a rule, "steered" or "auto", computed from the detached points
    (a constant of the graph: no gradient flows through the rule).  ``order``: as
    :func:`resample.reconstruct` (None: 1 with "steered", else 0).  Gradients: positions,
    values and a tensor sigma, exact (docs/conventions.md)."""
    _float(xy, "xy")
    _float(values, "values")
    order = gmm.check_order(order, sigma)
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
    return _Reconstruct.apply(xy, values, sigma, shape, float(cutoff), holes, order)


# --- resizing ---------------------------------------------------------------------------------

def _axis_matrix(n_in, n_out, method, align, boundary, antialias, like):
    """The resize along one axis as a sparse (n_out, n_in) tensor on ``like``'s device: the
    tap tables' weights (the fill term, a constant, left out)."""
    taps = resize_taps(n_in, n_out, method, align, boundary, antialias)
    used = np.arange(taps.index.shape[1])[None, :] < taps.count[:, None]
    rows = np.broadcast_to(np.arange(n_out)[:, None], taps.index.shape)[used]
    where = torch.as_tensor(np.stack([rows, taps.index[used]]), device=like.device)
    weights = torch.as_tensor(taps.weight[used], dtype=like.dtype, device=like.device)
    return torch.sparse_coo_tensor(where, weights, (n_out, n_in),
                                   check_invariants=False).coalesce()


class _Resize(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, out_shape, method, align, boundary, antialias, fill):
        planes = x.reshape(-1, *x.shape[-2:])
        out = torch.empty((planes.shape[0], *out_shape), dtype=x.dtype, device=x.device)
        with _stream(x):
            for k in range(planes.shape[0]):          # each plane a view: no copies
                out[k] = _tensor(_resize(_array(planes[k]), shape=out_shape, method=method,
                                         align=align, boundary=boundary, fill=fill,
                                         antialias=antialias,
                                         device="gpu" if x.device.type == "cuda" else "cpu"),
                                 x)
        ctx.args = (x.shape, method, align, boundary, antialias)
        return out.reshape(*x.shape[:-2], *out_shape)

    @staticmethod
    def backward(ctx, grad):
        shape, method, align, boundary, antialias = ctx.args
        (h_in, w_in), (h_out, w_out) = shape[-2:], grad.shape[-2:]
        rows = _axis_matrix(h_in, h_out, method, align, boundary, antialias, grad)
        cols = _axis_matrix(w_in, w_out, method, align, boundary, antialias, grad)
        g = grad.reshape(-1, h_out, w_out)
        n = g.shape[0]
        # R_rows^T G: (h_in, n * w_out)
        t = torch.sparse.mm(rows.t(), g.permute(1, 0, 2).reshape(h_out, n * w_out))
        # (...) R_cols: (R_cols^T (...)^T)^T, (n * h_in, w_in)
        t = t.reshape(h_in, n, w_out).permute(1, 0, 2).reshape(n * h_in, w_out)
        t = torch.sparse.mm(cols.t(), t.t()).t()
        return t.reshape(shape), None, None, None, None, None, None


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
    m = get_method(method)
    align = check_choice(align, ALIGNS, "align")
    boundary = check_choice(boundary, BOUNDARIES, "boundary")
    out_shape = output_shape(tuple(x.shape[-2:]), scale, size)
    return _Resize.apply(x, out_shape, m, align, boundary, bool(antialias), float(fill))
