"""The CPU engine: compiled C++ loops (resample._core, kernels/cpu/engine.cpp) that apply tap
tables, on every core, with the GIL released.

Arrays are ``(rows, cols, channels)``.  8-bit images are resized in fixed point (16-bit weights
and intermediate samples, 32-bit sums) where the rounding provably stays within a quarter level
of the exact sums (kernels/resize/fixed8.h); otherwise accumulation is in the tap weights' dtype
(float32 for 8/16-bit images, float64 otherwise).  The last pass stores into the output dtype:
integers are rounded half up and clipped to ``[lo, hi]``; floats are stored as they are.

Threads: ``RESAMPLE_THREADS`` or ``--threads`` (else every core available) per process
(:func:`default_threads`, :func:`set_default_threads`); :func:`set_threads` sets a calling
thread's own count (the batch mode's workers share the cores).
"""

from __future__ import annotations

import numpy as np

from ..compiled import core as _core
from ..spec.dtypes import store_args
from ..spec.taps import Taps
from .passes import fixed_order_ok, pass_costs

FORCE_ORDER = None  # "rows" or "cols" to force the first pass (for measurements)
FIXED = True        # 8-bit images in fixed point where it keeps within a level (tests turn it off)


def set_threads(n):
    """Threads for the kernels called from this Python thread (0 or None: the default)."""
    _core.set_threads(int(n or 0))


def threads():
    return _core.threads()


def srgb_to_linear(a, alpha):
    """8- or 16-bit sRGB samples ``a`` (H, W) or (H, W, C) as float32 linear light (the
    compiled loop the plain job calls too; kernels/common/srgb.h): where ``alpha``, the last
    channel becomes the fraction a / top and the colour is premultiplied by it."""
    rows = np.ascontiguousarray(a).reshape(a.shape[0], -1)
    out = np.empty(a.shape, np.float32)
    _core.srgb_to_linear(rows, a.shape[2] if a.ndim == 3 else 1, bool(alpha),
                         out.reshape(rows.shape))
    return out


def linear_to_srgb(work, alpha, dtype):
    """Float32 linear light ``work`` (premultiplied where ``alpha``) back to 8- or 16-bit sRGB
    samples of ``dtype``: rounded half up as the float64 formula gives them."""
    rows = np.ascontiguousarray(work, np.float32).reshape(work.shape[0], -1)
    out = np.empty(work.shape, dtype)
    _core.linear_to_srgb(rows, work.shape[2] if work.ndim == 3 else 1, bool(alpha),
                         out.reshape(rows.shape))
    return out


def _table(taps: Taps, work):
    c = np.ascontiguousarray
    return (c(taps.index, np.int64), c(taps.weight, work), c(taps.count, np.int64),
            c(taps.fill_weight, work))


def _interleaved_table(taps: Taps, n_ch, work):
    """The cols-pass table: tap-major (T, n_out * C), indices into an interleaved row, built by
    the engine (``_core.interleave_taps``, which the plain job calls too).

    Padding taps repeat the row's first tap with weight 0.  A zero-weight tap adds nothing to
    a finite sum, and a NaN it reads is also read by the row's first, real tap.
    """
    if np.any(taps.count == 0):
        raise AssertionError("a resize output with no input taps")
    n_out, width = taps.index.shape
    small = int(taps.index.max(initial=0)) * n_ch + n_ch < 2**31
    index = np.empty((width, n_out * n_ch), np.int32 if small else np.int64)
    weight = np.empty((width, n_out * n_ch), np.float64)
    fill_weight = np.empty(n_out * n_ch, np.float64)
    _core.interleave_taps(*_table(taps, np.float64), n_ch, index, weight, fill_weight)
    return index, weight.astype(work, copy=False), fill_weight.astype(work, copy=False)


def _fixed_applies(dtype, out_dtype, taps_rows, taps_cols, fill, order_ok):
    """Whether 8-bit fixed point may run (it runs columns first, and has no fill term)."""
    no_fill = fill == 0 or not (taps_rows.fill_weight.any() or taps_cols.fill_weight.any())
    return (FIXED and dtype == np.uint8 and out_dtype == np.uint8 and no_fill
            and (order_ok or FORCE_ORDER == "cols") and FORCE_ORDER != "rows")


def plan(in_shape, taps_rows: Taps, taps_cols: Taps, fill, dtype, out_dtype, check=True):
    """How :func:`resize` computes: ``(rows first, fixed point)`` for an input of ``in_shape``
    (rows, cols) -- the pass order that costs fewer multiply-adds (a cols-pass one, a gather,
    weighing passes.COLS_COST), and 8-bit fixed point's mode (kernels/resize/fixed8.h; 0: the
    float loops; -1: fixed point chooses as it runs).  A resize done in blocks
    (resample.dask) follows the whole image's plan, so its blocks compute each output exactly
    as the whole would.  ``check=False`` leaves fixed point's own test of the tables to the
    resize itself (which then falls back to float)."""
    rows_first, cols_first = pass_costs(in_shape[0], in_shape[1], taps_rows.n_out,
                                        taps_cols.n_out, float(taps_rows.count.mean()),
                                        taps_cols.index.shape[1])
    use_rows = (rows_first <= cols_first) if FORCE_ORDER is None else FORCE_ORDER == "rows"
    fixed = -1 if _fixed_applies(np.dtype(dtype), np.dtype(out_dtype), taps_rows, taps_cols,
                                 fill, fixed_order_ok(rows_first, cols_first)) else 0
    if fixed and check:         # the tables' own test (fixed8.h's bound, weights): no rows
        n_ch = in_shape[2] if len(in_shape) > 2 else 1
        fixed = int(_core.resize_fixed8(np.zeros((0, in_shape[1] * n_ch), np.uint8),
                                        *_table(taps_rows, np.float64)[:3],
                                        *_table(taps_cols, np.float64)[:3],
                                        np.zeros((0, taps_cols.n_out * n_ch), np.uint8), 1))
    return use_rows, fixed


def resize(image, taps_rows: Taps, taps_cols: Taps, fill, work, out_dtype, how=None):
    """Resize ``image`` (R, C, ch) with one tap table per axis, into a new array.

    One fused kernel does both passes with no full-size intermediate, as :func:`plan` says
    (``how``: a plan made for a larger image this is a block of).
    """
    n_rows, n_cols, n_ch = image.shape
    if taps_rows.is_identity(n_rows) and taps_cols.is_identity(n_cols):
        return image.astype(out_dtype, copy=True)
    clip, rounding = store_args(out_dtype, work)
    dst = np.empty((taps_rows.n_out, taps_cols.n_out, n_ch), out_dtype)
    if taps_rows.is_selection() and taps_cols.is_selection():
        _core.select(image.reshape(n_rows, -1), np.ascontiguousarray(taps_rows.index[:, 0]),
                     np.ascontiguousarray(taps_cols.index[:, 0]), dst.reshape(dst.shape[0], -1))
        return dst
    use_rows, fixed = how or plan(image.shape, taps_rows, taps_cols, fill, image.dtype,
                                  out_dtype, check=False)
    # Bands of output rows are handed out as threads free up: a core taken by another process
    # does not leave the others waiting at the end.
    n_bands = min(taps_rows.n_out, 16 * threads())
    if fixed:
        table = (*_table(taps_rows, np.float64)[:3], *_table(taps_cols, np.float64)[:3])
        if _core.resize_fixed8(image.reshape(n_rows, -1), *table,
                               dst.reshape(dst.shape[0], -1), int(n_bands), int(fixed)):
            return dst
        if how is not None:
            raise AssertionError("fixed point declined a block of a plan that took it")
    _core.resize(image.reshape(n_rows, -1), *_table(taps_rows, work),
                 *_interleaved_table(taps_cols, n_ch, work), float(fill),
                 dst.reshape(dst.shape[0], -1), float(clip[0]), float(clip[1]), int(rounding),
                 bool(use_rows), int(n_bands), int(n_ch))
    return dst


def gather_vjp(image, taps_y, taps_x, fill, grad, d_image, d_pos):
    """Point sampling's gradient (kernels/common/sampling.h): for ``grad`` (N, ch) the
    gradient of :func:`gather`'s output, adds the image's gradient into ``d_image`` (R, C,
    ch) and sets ``d_pos`` (N, 2) to each point's (d/dx, d/dy) in input pixels.  ``image``,
    ``grad`` and ``d_image`` float32 or float64, one dtype; tables :class:`Taps`, or
    :class:`~resample.spec.taps.SlopedTaps` where ``d_pos`` is wanted (None: not wanted)."""
    want_pos = d_pos is not None and hasattr(taps_y, "slope")
    none = np.empty(0)

    def table(t):
        return (np.ascontiguousarray(t.index, dtype=np.int64),
                np.ascontiguousarray(t.weight, dtype=np.float64),
                t.slope if want_pos else none, t.count, t.fill_weight,
                t.fill_slope if want_pos else none)

    _core.gather_vjp(np.ascontiguousarray(image), *table(taps_y), *table(taps_x), float(fill),
                     np.ascontiguousarray(grad, dtype=image.dtype),
                     d_image if d_image is not None else np.empty(0, image.dtype),
                     d_pos if want_pos else none)


def gather(image, taps_y: Taps, taps_x: Taps, fill, work, out_dtype):
    """Sample ``image`` (R, C, ch) at points whose per-axis taps are given; returns (N, ch)."""
    clip, rounding = store_args(out_dtype, work)
    dst = np.empty((taps_y.n_out, image.shape[2]), out_dtype)
    _core.gather(np.ascontiguousarray(image), *_table(taps_y, work), *_table(taps_x, work),
                 float(fill), dst, float(clip[0]), float(clip[1]), int(rounding))
    return dst
