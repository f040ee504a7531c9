"""Resizing Dask arrays: each output block is computed from exactly the input slice its taps
read, by the CPU engine, scheduled by Dask (threads, processes or a ``dask.distributed``
cluster, unchanged).  The result equals :func:`resample.resize` of the whole array.

Arrays are ``(rows, cols)`` or ``(rows, cols, channels)``; ``pip install 'resample-images[dask]'``
(or any Dask) is needed.
"""

from __future__ import annotations

import numpy as np

from ..engines import cpu
from ..errors import ResampleError
from ..spec.dtypes import check_fill
from ..spec.methods import get_method
from ..spec.taps import ALIGNS, BOUNDARIES, check_choice, sub_table
from ..spec.tables import built_by_range
from .resize import output_shape, resize_plan

DEFAULT_BLOCK = 2048        # output block side when the input's chunks give no lead


def resize(array, *, scale=None, shape=None, method="bilinear", align="centers",
           boundary="truncate", fill=0.0, antialias=True, chunks=None):
    """A lazy Dask array: ``array`` resized as :func:`resample.resize` would (same arguments;
    nearest, bilinear, bicubic, mitchell, lanczos, gri, box).

    ``chunks``: the output's blocks, as Dask takes them (a number, or one per axis); by
    default the input's first block scaled to the output, so a block in holds about as many
    pixels as a block out.  Each output block reads the input rows and columns its taps need
    (a few more than its share), and follows the whole image's plan (pass order, fixed point),
    so the result is the same, bit for bit, as resizing the whole array at once.
    """
    try:
        from dask import array as da, delayed  # optional: [dask]
    except ImportError:
        raise ResampleError("resample.dask needs Dask: pip install 'resample-images[dask]'") \
            from None

    if not isinstance(array, da.Array):
        array = da.asarray(array)
    if array.ndim not in (2, 3) or 0 in array.shape:
        raise ResampleError(f"array must be (H, W) or (H, W, C) and not empty, got shape "
                            f"{array.shape}")
    dtype = np.dtype(array.dtype)
    if dtype == np.bool_ or dtype.kind not in "uif" or not dtype.isnative:
        raise ResampleError(f"unsupported dtype {dtype}; use a native integer or float array")
    if str(method).lower() == "gmm":
        raise ResampleError("method gmm is not blockwise; use resample.resize on a NumPy array")
    m = get_method(method)
    align = check_choice(align, ALIGNS, "align")
    boundary = check_choice(boundary, BOUNDARIES, "boundary")
    fill = check_fill(fill, dtype)
    was_2d = array.ndim == 2
    a = array[:, :, None] if was_2d else array
    if len(a.chunks[2]) > 1:
        a = a.rechunk({2: -1})                  # the channels of a pixel in one block
    rows, cols = output_shape(a.shape[:2], scale, shape)
    if built_by_range(a.shape[0], a.shape[1], rows, cols, m, align, boundary, antialias):
        raise ResampleError(f"a {cols}x{rows} output from {a.shape[1]}x{a.shape[0]}: its tap "
                            "tables are too large to build whole; resample.resize on a NumPy "
                            "array builds them by range")
    plan = resize_plan(a.shape, dtype, (rows, cols), m, align, boundary, antialias, fill)
    taps_r, taps_c, work, out_dtype, how = plan
    out_chunks = _output_chunks(da, chunks, a, (rows, cols))
    blocks = []
    r0 = 0
    for r_size in out_chunks[0]:
        row, c0 = [], 0
        sub_r, lo_r, hi_r = sub_table(taps_r, r0, r0 + r_size)
        for c_size in out_chunks[1]:
            sub_c, lo_c, hi_c = sub_table(taps_c, c0, c0 + c_size)
            piece = delayed(_block)(a[lo_r:hi_r, lo_c:hi_c], sub_r, sub_c, fill, work,
                                         out_dtype, dtype, how)
            row.append([da.from_delayed(piece, (r_size, c_size, a.shape[2]), dtype)])
            c0 += c_size
        blocks.append(row)
        r0 += r_size
    out = da.block(blocks)          # (rows of blocks, blocks of a row, the channels' one)
    return out[:, :, 0] if was_2d else out


def _output_chunks(da, chunks, a, out_shape):
    if chunks is not None:
        return da.core.normalize_chunks(chunks, out_shape, dtype=a.dtype)
    sides = []
    for axis, n_out in enumerate(out_shape):
        first = a.chunks[axis][0]
        side = max(1, min(n_out, round(first * n_out / a.shape[axis]) or DEFAULT_BLOCK))
        sides.append(tuple([side] * (n_out // side) + ([n_out % side] if n_out % side else [])))
    return tuple(sides)


def _block(piece, taps_r, taps_c, fill, work, out_dtype, dtype, how):

    a = np.ascontiguousarray(piece).astype(out_dtype, copy=False)
    return cpu.resize(a, taps_r, taps_c, fill, work, out_dtype, how).astype(dtype, copy=False)
