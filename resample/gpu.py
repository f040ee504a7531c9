"""The GPU engine: the CUDA kernels of ``kernels/resample.cu``, launched through CuPy.

The engine's logic (which kernels, in which order, on which tap tables) is written once
against a small backend: an array module and a launcher.  ``CupyBackend`` runs it on a GPU;
the tests run the very same logic on the CPU with NumPy and the kernels compiled as C++
through ``kernels/cpu_shim.h`` (tests/test_kernels.py).

Arrays are (rows, cols, channels), C-contiguous, as in the CPU engine.
"""

from __future__ import annotations

import functools
import os

import numpy as np

from .taps import Taps

BLOCK = 256                   # threads per block; every kernel runs on a 1-D grid
KERNEL_TYPES = {np.dtype(np.uint8): "u8", np.dtype(np.uint16): "u16",
                np.dtype(np.float32): "f32", np.dtype(np.float64): "f64"}


def kernel_path(name="resample.cu"):
    """The CUDA source ``name``: inside the installed package, or in the source tree."""
    here = os.path.dirname(os.path.abspath(__file__))
    for folder in (os.path.join(here, "kernels"), os.path.join(os.path.dirname(here), "kernels")):
        path = os.path.join(folder, name)
        if os.path.exists(path):
            return path
    raise FileNotFoundError(f"CUDA source {name} not found beside the package")


class CupyBackend:
    """Kernels compiled by NVRTC (cupy.RawModule) and launched on the current device."""

    def __init__(self):
        import cupy

        self.xp = cupy
        with open(kernel_path(), encoding="utf-8") as f:
            self.module = cupy.RawModule(code=f.read(), options=("-std=c++17",))

    def launch(self, name, n_threads, args):
        grid = ((n_threads + BLOCK - 1) // BLOCK,)
        self.module.get_function(name)(grid, (BLOCK,), tuple(args))


@functools.lru_cache(maxsize=1)
def cupy_backend():
    return CupyBackend()


def _store_args(dtype, work):
    """(lo, hi, rounding) as the CPU engine stores ``work`` values into ``dtype``."""
    from .cpu import _store_args as cpu_store_args

    clip, rounding = cpu_store_args(dtype, work)
    return work.type(clip[0]), work.type(clip[1]), np.int32(rounding)


def _table(xp, taps: Taps, work):
    """Device copies of a tap table: index (int64), weight, count (int64), fill weight."""
    return (xp.asarray(np.ascontiguousarray(taps.index, np.int64)),
            xp.asarray(np.ascontiguousarray(taps.weight, work)),
            xp.asarray(np.ascontiguousarray(taps.count, np.int64)),
            xp.asarray(np.ascontiguousarray(taps.fill_weight, work)),
            np.int32(taps.index.shape[1]))


def _kernel_dtype(dtype, work):
    """The dtype the kernels read and write for an image of ``dtype`` (others are cast)."""
    return dtype if dtype in KERNEL_TYPES else work


def resize(backend, image, taps_rows: Taps, taps_cols: Taps, fill, work, out_dtype):
    """Resize ``image`` (R, C, ch), an array of ``backend.xp``, into a new one of ``out_dtype``.

    Two passes through a ``work`` intermediate, in the order with the smaller intermediate
    (less memory traffic): cols first stores R x C_out values, rows first R_out x C."""
    xp = backend.xp
    work = np.dtype(work)
    n_rows, n_cols, n_ch = image.shape
    rows_out, cols_out = taps_rows.n_out, taps_cols.n_out
    kind = _kernel_dtype(np.dtype(out_dtype), work)
    src = xp.ascontiguousarray(image.astype(kind, copy=False))
    lo, hi, rounding = _store_args(kind, work)
    fill = work.type(fill)
    s_in, s_work = KERNEL_TYPES[kind], KERNEL_TYPES[work]
    cols_first = n_rows * cols_out <= rows_out * n_cols
    out = xp.empty((rows_out, cols_out, n_ch), kind)
    if cols_first:
        tmp = xp.empty((n_rows, cols_out, n_ch), work)
        backend.launch(f"cols_{s_in}_{s_work}", tmp.size,
                       [src, tmp, np.int64(n_rows), np.int64(n_cols), np.int64(cols_out),
                        np.int32(n_ch), *_table(xp, taps_cols, work), fill, lo, hi,
                        np.int32(0)])
        backend.launch(f"rows_{s_work}_{s_in}", out.size,
                       [tmp, out, np.int64(rows_out), np.int64(cols_out * n_ch),
                        *_table(xp, taps_rows, work), fill, lo, hi, rounding])
    else:
        tmp = xp.empty((rows_out, n_cols, n_ch), work)
        backend.launch(f"rows_{s_in}_{s_work}", tmp.size,
                       [src, tmp, np.int64(rows_out), np.int64(n_cols * n_ch),
                        *_table(xp, taps_rows, work), fill, lo, hi, np.int32(0)])
        backend.launch(f"cols_{s_work}_{s_in}", out.size,
                       [tmp, out, np.int64(rows_out), np.int64(n_cols), np.int64(cols_out),
                        np.int32(n_ch), *_table(xp, taps_cols, work), fill, lo, hi,
                        rounding])
    return _cast_out(xp, out, out_dtype, work)


def gather(backend, image, taps_y: Taps, taps_x: Taps, fill, work, out_dtype):
    """Sample ``image`` (R, C, ch) at points with per-axis taps; returns (N, ch)."""
    xp = backend.xp
    work = np.dtype(work)
    kind = _kernel_dtype(np.dtype(out_dtype), work)
    src = xp.ascontiguousarray(image.astype(kind, copy=False))
    lo, hi, rounding = _store_args(kind, work)
    n_ch = image.shape[2]
    out = xp.empty((taps_y.n_out, n_ch), kind)
    suffix = KERNEL_TYPES[kind]
    backend.launch(f"gather_{suffix}_{suffix}", out.size,
                   [src, out, np.int64(taps_y.n_out), np.int64(image.shape[1]), np.int32(n_ch),
                    *_table(xp, taps_y, work), *_table(xp, taps_x, work), work.type(fill),
                    lo, hi, rounding])
    return _cast_out(xp, out, out_dtype, work)


def _cast_out(xp, out, out_dtype, work):
    """Store work-type results into an integer dtype the kernels do not write directly."""
    out_dtype = np.dtype(out_dtype)
    if out.dtype == out_dtype:
        return out
    lo, hi, _ = _store_args(out_dtype, work)
    if np.issubdtype(out_dtype, np.integer):
        out = xp.clip(xp.floor(out + work.type(0.5)), lo, hi)
    return out.astype(out_dtype)


# --- Gaussian mixtures -------------------------------------------------------------------------

def gmm_forward(backend, xy, values, sx, sy, cutoff, shape):
    """As :func:`resample.gmm._forward`: ``(colour (H, W, C) with holes at 0, Z (H, W), number
    of holes)`` in the values' dtype (float32 or float64).  ``xy`` (N, 2) and the sigmas are
    float64; every point adds its footprint atomically."""
    xp = backend.xp
    height, width = shape
    n, n_ch = values.shape
    work = np.dtype(values.dtype)
    suffix = KERNEL_TYPES[work]
    acc = xp.zeros((n_ch, height, width), work)
    z = xp.zeros((height, width), work)
    f64 = lambda a: xp.ascontiguousarray(xp.asarray(a, dtype=np.float64))   # noqa: E731
    backend.launch(f"gmm_splat_{suffix}", n,
                   [f64(xy), xp.ascontiguousarray(xp.asarray(values)), f64(sx), f64(sy),
                    np.int64(n), np.int32(n_ch), np.float64(cutoff), acc, z,
                    np.int64(height), np.int64(width)])
    out = xp.empty((height, width, n_ch), work)
    backend.launch(f"gmm_normalise_{suffix}", height * width,
                   [acc, z, out, np.int64(height * width), np.int32(n_ch)])
    return out, z, int((z <= 0).sum())


def gmm_vjp(backend, xy, values, sx, sy, cutoff, grad, colour, z):
    """As :func:`resample.gmm._vjp_points`, in float64: ``(d_xy, d_values, d_sx, d_sy)``."""
    xp = backend.xp
    n, n_ch = values.shape
    height, width = z.shape
    f64 = lambda a: xp.ascontiguousarray(xp.asarray(a, dtype=np.float64))   # noqa: E731
    d_xy, d_values = xp.empty((n, 2)), xp.empty((n, n_ch))
    d_sx, d_sy = xp.empty(n), xp.empty(n)
    backend.launch("gmm_vjp_f64", n,
                   [f64(xy), f64(values), f64(sx), f64(sy), np.int64(n), np.int32(n_ch),
                    np.float64(cutoff), f64(grad), f64(colour), f64(z), np.int64(height),
                    np.int64(width), d_xy, d_values, d_sx, d_sy])
    return d_xy, d_values, d_sx, d_sy
