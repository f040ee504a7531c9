"""The Python API: ``resize``, ``sample`` and ``gri1d``.

Conventions (see docs/conventions.md): images are ``(H, W)`` or ``(H, W, C)`` arrays; shapes and scales
are ``(rows, cols)``; point coordinates are ``(x, y)`` = (column, row) in pixel units, with the
centre of pixel ``[i, j]`` at ``x = j, y = i``.  The output dtype is the input dtype; integer
outputs are rounded and clipped, float outputs are not clipped.
"""

from __future__ import annotations

import math
import numbers
import sys
from typing import NamedTuple

import numpy as np

from ..engines import cpu, cuda, devices, gpu
from ..engines.gpu import kernel_dtype
from ..engines.passes import pass_costs
from ..errors import ResampleError, excerpt
from ..spec.dtypes import check_fill, compute_dtype, to_dtype, work_dtype
from ..spec.geometry import MAX_SIDE, scaled_side
from ..spec.memory import check_memory
from ..spec.methods import get_method
from ..spec.tables import built_by_range, output_step, stretch
from ..spec.taps import (ALIGNS, BLOCK_TAPS, BOUNDARIES, TAPS_CHUNK, RangePositions, Taps,
                         check_choice, compute_taps, normalized_to_pixels, resize_taps,
                         sloped_width, sub_table, table_width)
from .gmm import resize_as_points

_SAMPLE_CHUNK = 1 << 18


def _as_image(image):
    """Return ``(array (R, C, ch), was_2d)`` after checking the dtype and shape; a CuPy array
    stays on its device."""
    on_device = devices.is_device_array(image)
    a = image if on_device else np.asarray(image)
    if a.ndim not in (2, 3):
        raise ResampleError(f"image must be 2-D (H, W) or 3-D (H, W, C), got shape {a.shape}")
    if a.size == 0:
        raise ResampleError(f"image is empty (shape {a.shape})")
    if a.dtype == np.bool_ or not (np.issubdtype(a.dtype, np.integer)
                                   or np.issubdtype(a.dtype, np.floating)):
        raise ResampleError(f"unsupported image dtype {a.dtype}; use an integer or float array")
    copies = not on_device and (not a.dtype.isnative or not a.flags.c_contiguous)
    if copies:                  # a view (transposed, strided, broadcast) is copied: counted first
        check_memory(a.size * a.dtype.itemsize,
                             f"a contiguous copy of the {'x'.join(map(str, a.shape))} image "
                             "(a view of other memory)")
    if not on_device and not a.dtype.isnative:        # big-endian data: same values, native
        a = a.astype(a.dtype.newbyteorder("="))
    was_2d = a.ndim == 2
    a = a[:, :, None] if was_2d else a
    return (a if on_device else np.ascontiguousarray(a)), was_2d


def _pair(value, what):
    if isinstance(value, (numbers.Number, np.number)):
        return (value, value)
    try:
        pair = tuple(value)
    except TypeError:
        raise ResampleError(f"{what} must be a number or a pair, got {excerpt(value)}") from None
    if len(pair) != 2:
        raise ResampleError(f"{what} must be a number or a pair (rows, cols), got {excerpt(value)}")
    return pair


class ResizePlan(NamedTuple):
    """How a resize computes, decided once for the whole image (:func:`resize_plan`): the tap
    table of each axis, the dtypes the engine works in and stores, and the CPU engine's plan
    (pass order, fixed point).  The in-memory, Dask and streamed resizes all follow it, so a
    block or a strip computes each output exactly as the whole image would."""

    taps_rows: Taps
    taps_cols: Taps
    work: np.dtype
    out_dtype: np.dtype
    how: tuple


def resize_plan(in_shape, dtype, out_shape, method, align, boundary, antialias, fill):
    """The :class:`ResizePlan` of resizing an image of ``in_shape`` (rows, cols[, channels])
    and ``dtype`` to ``out_shape`` (rows, cols); ``method`` a Method, the rest validated."""
    taps_r = resize_taps(in_shape[0], out_shape[0], method, align, boundary, antialias)
    taps_c = resize_taps(in_shape[1], out_shape[1], method, align, boundary, antialias)
    work, out_dtype = work_dtype(dtype), compute_dtype(dtype)
    how = cpu.plan(in_shape, taps_r, taps_c, fill, out_dtype, out_dtype)
    return ResizePlan(taps_r, taps_c, work, out_dtype, how)


def output_shape(in_shape, scale=None, shape=None):
    """Output ``(rows, cols)`` for a ``scale`` (number or pair) or an explicit ``shape``."""
    if (scale is None) == (shape is None):
        raise ResampleError("give exactly one of scale= or shape=")
    if shape is not None:
        out = []
        for n in _pair(shape, "shape"):
            if isinstance(n, (bool, np.bool_)) or not isinstance(n, (numbers.Integral, np.integer)):
                raise ResampleError(f"shape must hold positive integers, got {excerpt(shape)}")
            if n < 1 or n > MAX_SIDE:
                raise ResampleError(f"shape must hold sizes from 1 to {MAX_SIDE}, got {excerpt(shape)}")
            out.append(int(n))
        return tuple(out)
    out = []
    for n, s in zip(in_shape, _pair(scale, "scale")):
        try:
            s = float(s)
        except (TypeError, ValueError):
            raise ResampleError(f"scale must be a number, got {excerpt(s)}") from None
        if not math.isfinite(s) or s <= 0:
            raise ResampleError(f"scale must be a finite number above 0, got {s}")
        out.append(scaled_side(n, s))
    return tuple(out)


def resize(image, *, scale=None, shape=None, method="bilinear", align="centers",
           boundary="truncate", fill=0.0, antialias=True, alpha=False, linear=False,
           device="auto"):
    """Resize an image.

    image:     ``(H, W)`` or ``(H, W, C)`` array; channels are resampled independently, unless
               ``alpha``.
    scale:     a factor, or ``(s_rows, s_cols)``; each output side is ``floor(n * s + 0.5)``
               (halves round up), at least 1.
    shape:     the output ``(H, W)``; give either ``scale`` or ``shape``.
    method:    nearest, bilinear, bicubic, sharpcubic, mitchell, lanczos, gri, box (the
               README's table; other tools' names too: linear, cubic, lanczos3, ...), a
               :class:`resample.Method` of one's own, or gmm (every pixel a Gaussian point;
               see :func:`resample.ops.gmm.resize_as_points`; ``boundary`` does not apply).
    align:     ``centers``: output pixel ``j`` samples ``x = (j + 0.5) * W_in / W_out - 0.5``
               (Pillow, OpenCV, torch ``align_corners=False``); ``corners``:
               ``x = j * (W_in - 1) / (W_out - 1)`` (torch ``align_corners=True``).
    boundary:  edge, reflect, mirror, wrap, constant (the value ``fill``), extrapolate, or
               truncate (the default, as the command's: taps outside dropped and the rest
               renormalised, as Pillow and torch ``antialias=True``, so a plain resize
               equals Pillow's over the whole image, borders included).
    antialias: when shrinking, stretch the kernel by the shrink factor (Pillow, torch
               ``antialias=True``); ``False`` samples the kernel at the output positions only.
    alpha:     the last channel is alpha (straight, not premultiplied; ``(H, W, 2)`` grey or
               ``(H, W, 4)`` RGBA): the colour is multiplied by alpha while resampling and
               divided by it after, so invisible pixels lend no colour to visible ones (as
               Pillow and the command do); fully transparent results get colour 0.
    linear:    resample in linear light: the colour (not alpha) is decoded from sRGB before
               and encoded after, in float32 (float64 for 32-bit and float64 input), so a
               1-pixel black and white checkerboard halves to about 188 (a gamma-correct
               grey), not 128.  Integer samples span their dtype's range; float samples are
               taken as sRGB values in [0, 1] (clipped there after).
    device:    auto, cpu or gpu.  ``auto``: a CuPy image stays on its GPU (and so does the
               result); a NumPy image goes to a usable GPU only when the work is estimated to
               pay for the copies (:func:`resample.engines.devices.gpu_pays`).
    Returns an array of the input's dtype with ``shape`` (plus the channel axis, if any).
    """
    if linear:
        return _resize_linear(image, alpha=alpha, scale=scale, shape=shape, method=method,
                              align=align, boundary=boundary, fill=fill, antialias=antialias,
                              device=device)
    if alpha:
        return _resize_premultiplied(image, scale=scale, shape=shape, method=method,
                                     align=align, boundary=boundary, fill=fill,
                                     antialias=antialias, device=device)
    gmm = str(method).lower() == "gmm"
    m = None if gmm else get_method(method)
    align = check_choice(align, ALIGNS, "align")
    boundary = check_choice(boundary, BOUNDARIES, "boundary")
    on_device = devices.is_device_array(image)
    devices.select(device, on_device=on_device)       # a bad choice fails before anything
    a, was_2d = _as_image(image)
    given = _given_dtype(image, a)
    fill = check_fill(fill, a.dtype)
    rows, cols = output_shape(a.shape[:2], scale, shape)
    n_ch = a.shape[2]
    if gmm:

        out = to_dtype(resize_as_points(a, (rows, cols), align, fill, device), given)
        return out[:, :, 0] if was_2d else out
    out_bytes = rows * cols * n_ch * compute_dtype(a.dtype).itemsize
    what = f"a {cols}x{rows} output"
    if built_by_range(a.shape[0], a.shape[1], rows, cols, m, align, boundary, antialias):
        if on_device or str(device).lower() == "gpu":
            raise ResampleError(f"{what} from {a.shape[1]}x{a.shape[0]}: its tap tables are too "
                                "large to build whole; resize a NumPy array on the CPU, which "
                                "builds them by range")
        out = _resized_by_range(a, (rows, cols), m, align, boundary, antialias, fill, what)
        out = out.astype(given, copy=False)
        return out[:, :, 0] if was_2d else out
    if not on_device:           # tables and the result live on the host: check before both
        check_memory(resize_memory(a.shape, (rows, cols), a.dtype, m, antialias,
                                           align, boundary), what)
    plan = resize_plan(a.shape, a.dtype, (rows, cols), m, align, boundary, antialias, fill)
    taps_r, taps_c, work, out_dtype = plan.taps_rows, plan.taps_cols, plan.work, plan.out_dtype
    t_r, t_c = taps_r.index.shape[1], taps_c.index.shape[1]   # taps per output sample
    madds = n_ch * min(rows * a.shape[1] * t_r + rows * cols * t_c,     # rows first
                       a.shape[0] * cols * t_c + rows * cols * t_r)     # cols first
    engine = devices.select(device, on_device, cost=(madds, a.nbytes + out_bytes))
    if engine == "gpu":         # input and output in the kernels' type, an intermediate

        kind = kernel_dtype(out_dtype, work)
        inter = max(rows * a.shape[1], a.shape[0] * cols) * n_ch * work.itemsize
        devices.check_device_memory(out_bytes + inter + a.nbytes
                                    + (a.size + rows * cols * n_ch) * kind.itemsize, what)
    if engine == "gpu":

        out = _on_gpu(lambda backend, src: gpu.resize(
            backend, src, taps_r, taps_c, fill, work, out_dtype), a)
    else:

        out = cpu.resize(a.astype(out_dtype, copy=False), taps_r, taps_c, fill, work,
                         out_dtype, plan.how)
    out = out.astype(given, copy=False)
    return out[:, :, 0] if was_2d else out


def _by_range_blocks(in_shape, out_shape, m, align, boundary, antialias):
    """``((group, block), (taps per row, per column), (input rows, columns read))``: the
    outputs of a group of rows and of a block of columns whose tables are built at once, the
    tables' widths, and the most input a group and a block read."""
    (h, w), (rows, cols) = in_shape[:2], out_shape
    widths = (table_width(h, rows, m, align, boundary, antialias),
              table_width(w, cols, m, align, boundary, antialias))
    sizes = tuple(max(1, min(n, BLOCK_TAPS // t)) for n, t in zip(out_shape, widths))
    reach = tuple(min(n, int(math.ceil((k - 1) * output_step(n, o, align) + 2 * m.support
                                       * stretch(n, o, m, align, antialias))) + 4)
                  for n, o, k in ((h, rows, sizes[0]), (w, cols, sizes[1])))
    return sizes, widths, reach


def _by_range_memory(in_shape, out_shape, dtype, m, align, boundary, antialias):
    """Bytes :func:`_resized_by_range` allocates, at most: the output and the input in the
    engine's dtype; a group's and a block's tables (built, cut); a block's input copied, its
    interleaved table and its result."""
    n_ch = in_shape[2] if len(in_shape) > 2 else 1
    (group, block), widths, reach = _by_range_blocks(in_shape, out_shape, m, align, boundary,
                                                     antialias)
    dtype, item = np.dtype(dtype), compute_dtype(dtype).itemsize
    converted = in_shape[0] * in_shape[1] * n_ch * item if compute_dtype(dtype) != dtype else 0
    return (out_shape[0] * out_shape[1] * n_ch * item + converted
            + 24 * 2 * (group * widths[0] + block * widths[1]) + reach[0] * reach[1] * n_ch * 8
            + block * n_ch * widths[1] * 16 + group * block * n_ch * 16)


def columns_by_range(window, taps_rows, cols_at, width, m, stretch_c, boundary, block, fill,
                     work, out_dtype, how, out):
    """Resize the input rows ``window`` (rows, ``width``, C) with the rows' table
    ``taps_rows`` (indices into the window) into ``out`` (outputs, cols, C), the columns'
    table built for a block of ``block`` outputs at a time from the positions ``cols_at``
    (a :class:`RangePositions`) gives: the float loops, pass order ``how``, block by block
    (an extreme aspect ratio: :func:`_resized_by_range`, and resample.jobs.stream's)."""
    cols = out.shape[1]
    for c0 in range(0, cols, block):
        c1 = min(cols, c0 + block)
        taps_c, lo, hi = sub_table(compute_taps(cols_at.take(c0, c1), width, m, stretch_c,
                                                boundary), 0, c1 - c0)
        part = np.ascontiguousarray(window[:, lo:hi])
        out[:, c0:c1] = cpu.resize(part, taps_rows, taps_c, fill, work, out_dtype, how)


def _resized_by_range(a, out_shape, m, align, boundary, antialias, fill, what):
    """:func:`resize` of an (H, W, C) array whose tap tables are too large to build whole
    (:func:`built_by_range`: an extreme aspect ratio): each axis's table is built for a range
    of outputs at a time, from the positions of that range alone (the taps the whole table
    holds there), and the float loops run block by block, as the streamed job's
    (resample.jobs.stream) do."""
    (h, w, n_ch), (rows, cols) = a.shape, out_shape
    work, out_dtype = work_dtype(a.dtype), compute_dtype(a.dtype)
    (group, block), widths, _ = _by_range_blocks(a.shape, out_shape, m, align, boundary,
                                                 antialias)
    stretch_r, stretch_c = (stretch(n, o, m, align, antialias) for n, o in ((h, rows), (w, cols)))
    check_memory(_by_range_memory(a.shape, out_shape, a.dtype, m, align, boundary, antialias),
                 what)
    src = a.astype(out_dtype, copy=False)
    nearest = m.name == "nearest"
    rows_at, cols_at = RangePositions(h, rows, align, nearest), RangePositions(w, cols, align,
                                                                               nearest)
    out = np.empty((rows, cols, n_ch), out_dtype)
    how = None
    for g0 in range(0, rows, group):
        g1 = min(rows, g0 + group)
        taps_r, lo, hi = sub_table(compute_taps(rows_at.take(g0, g1), h, m, stretch_r,
                                                boundary), 0, g1 - g0)
        if how is None:          # one pass order for every block, and the float loops
            rows_first, cols_first = pass_costs(h, w, rows, cols, float(taps_r.count.mean()),
                                                widths[1])
            how = (rows_first <= cols_first if cpu.FORCE_ORDER is None
                   else cpu.FORCE_ORDER == "rows", False)
        columns_by_range(src[lo:hi], taps_r, cols_at, w, m, stretch_c, boundary, block, fill,
                         work, out_dtype, how, out[g0:g1])
    return out


def srgb_to_linear(c, xp=np):
    """sRGB-encoded values in [0, 1] to linear light (IEC 61966-2-1)."""
    return xp.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(v, xp=np):
    """Linear light in [0, 1] to sRGB-encoded values (IEC 61966-2-1)."""
    v = xp.clip(v, 0.0, 1.0)
    return xp.where(v <= 0.0031308, v * 12.92, 1.055 * v ** (1.0 / 2.4) - 0.055)


def _checked_for_alpha_or_light(image, alpha, what):
    """``(array, xp, integer)`` for :func:`_resize_linear` and :func:`_resize_premultiplied`:
    integer or float samples, and a channel axis of at least 2 where ``alpha``."""
    on_device = devices.is_device_array(image)
    xp = sys.modules["cupy"] if on_device else np
    a = image if on_device else np.asarray(image)
    integer = np.issubdtype(a.dtype, np.integer)
    if not (integer or np.issubdtype(a.dtype, np.floating)):
        raise ResampleError(f"{what} needs integer or float samples, got {a.dtype}")
    if alpha and (a.ndim != 3 or a.shape[2] < 2):
        raise ResampleError(f"alpha=True needs an (H, W, C) image with C >= 2 (the last "
                            f"channel alpha), got shape {a.shape}")
    return a, xp, integer


def _stored(out, dtype, xp):
    """Float results into ``dtype``: integers rounded half up and clipped, as resize stores
    them."""
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        out = xp.clip(xp.floor(out + 0.5), info.min, info.max)
    return out.astype(dtype)


def _resize_linear(image, *, alpha, **options):
    """:func:`resize` in linear light (see its ``linear``)."""
    a, xp, integer = _checked_for_alpha_or_light(image, alpha, "linear=True")
    if integer and np.iinfo(a.dtype).min < 0:
        raise ResampleError(f"linear=True needs unsigned samples (0 is black), got {a.dtype}")
    if xp is np and a.dtype in (np.uint8, np.uint16):    # the compiled loops, as the plain job
        work = cpu.srgb_to_linear(a, alpha)
        return cpu.linear_to_srgb(resize(work, **options), alpha, a.dtype)
    work_type = np.float64 if a.dtype.itemsize > 2 else np.float32
    top = float(np.iinfo(a.dtype).max) if integer else 1.0
    colour = a if a.ndim == 2 or not alpha else a[..., :-1]
    if integer and a.dtype.itemsize <= 2:       # a table per possible value
        table = srgb_to_linear(xp.arange(int(top) + 1, dtype=work_type) / work_type(top), xp)
        colour = table[colour]
    else:
        colour = srgb_to_linear(xp.clip(colour.astype(work_type) / work_type(top), 0.0, 1.0),
                                xp)
    if alpha:
        opacity = a[..., -1:].astype(work_type) / work_type(top)
        colour = xp.concatenate([colour, opacity], axis=-1)
    out = resize(colour.astype(work_type, copy=False), alpha=alpha, **options)
    if alpha:
        out = xp.concatenate([linear_to_srgb(out[..., :-1], xp), xp.clip(out[..., -1:], 0, 1)],
                             axis=-1)
    else:
        out = linear_to_srgb(out, xp)
    return _stored(out * top, a.dtype, xp)


def _resize_premultiplied(image, **options):
    """:func:`resize` with the last channel as straight alpha (see its ``alpha``)."""
    a, xp, integer = _checked_for_alpha_or_light(image, True, "alpha=True")
    top = float(np.iinfo(a.dtype).max) if integer else 1.0
    work = a.astype(np.float64 if a.dtype.itemsize > 2 else np.float32)
    work[..., :-1] *= work[..., -1:] / top
    out = resize(work, **options)
    opacity = out[..., -1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        colour = xp.where(opacity > 0, out[..., :-1] * top / opacity, 0.0)
    return _stored(xp.concatenate([colour, opacity], axis=-1), a.dtype, xp)


def _given_dtype(image, a):
    """The dtype to return: the input's, byte order included (``a`` is the checked array,
    in native byte order)."""
    return image.dtype if isinstance(image, np.ndarray) else a.dtype


def resize_memory(in_shape, out_shape, dtype, method, antialias, align="centers",
                  boundary="truncate"):
    """Bytes of host memory that resizing an ``in_shape`` (H, W, C) array of ``dtype`` to
    ``out_shape`` (rows, cols) allocates, at most: the tap tables of both axes (as they are
    built, then compacted, and the columns' table interleaved per channel; or, where they are
    built by range, one range's), the input in the engine's dtype, and the output.  Estimated
    from the shapes alone, so that a job that cannot fit is refused before anything large is
    allocated."""
    h, w = in_shape[:2]
    n_ch = in_shape[2] if len(in_shape) > 2 else 1
    rows, cols = out_shape
    if built_by_range(h, w, rows, cols, method, align, boundary, antialias):
        return _by_range_memory(in_shape, out_shape, dtype, method, align, boundary, antialias)
    dtype = np.dtype(dtype)
    item = compute_dtype(dtype).itemsize
    t_r = table_width(h, rows, method, align, boundary, antialias)
    t_c = table_width(w, cols, method, align, boundary, antialias)
    # int64 indices and float64 weights, as computed (chunks, then joined) and compacted;
    # the temporaries of one chunk; the columns' table interleaved per channel (int32
    # indices where they fit, weights in the work dtype).
    tables = 2 * 16 * (rows * t_r + cols * t_c)
    tables += 64 * max(min(rows, TAPS_CHUNK) * t_r, min(cols, TAPS_CHUNK) * t_c)
    index_bytes = 4 if w * n_ch < 2**31 else 8
    tables += (16 + index_bytes + work_dtype(dtype).itemsize) * t_c * cols * n_ch
    converted = h * w * n_ch * item if compute_dtype(dtype) != dtype else 0
    return tables + converted + rows * cols * n_ch * item


def _on_gpu(run, a):
    """Run ``run(backend, device array)``: a CuPy result for a CuPy input (on the caller's
    stream).  A NumPy input is copied to the GPU and back on a stream of this thread's own,
    so that threads (the batch command's workers) overlap their copies and kernels."""

    backend = cuda.cupy_backend()
    if devices.is_device_array(a):
        return run(backend, a)
    with cuda.thread_stream():
        return backend.xp.asnumpy(run(backend, backend.xp.asarray(a)))


def sample(image, coords, *, method="bilinear", align="centers", normalized=False,
           boundary="edge", fill=0.0):
    """Sample an image at arbitrary points.

    coords: array ``(..., 2)`` of ``(x, y)`` = (column, row).  In pixel units by default (the
            centre of pixel ``[i, j]`` is ``x = j, y = i``).  With ``normalized=True`` they are
            in ``[-1, 1]`` as in ``torch.nn.functional.grid_sample``: with ``align="corners"``,
            -1 and 1 are the centres of the corner pixels (``x = (u + 1) / 2 * (W - 1)``); with
            ``align="centers"`` they are the outer edges (``x = ((u + 1) * W - 1) / 2``).
    Returns ``coords.shape[:-1]`` (+ ``(C,)`` for a 3-D image), in the image's dtype.  No
    antialiasing: the kernel is evaluated at each point.  A CuPy image is sampled on its GPU
    and gives a CuPy array; with CuPy coordinates too, nothing is copied to the host.
    """
    m = get_method(method)
    align = check_choice(align, ALIGNS, "align")
    boundary = check_choice(boundary, BOUNDARIES, "boundary")
    on_gpu = devices.is_device_array(image)
    if on_gpu:
        devices.select("gpu")
    a, was_2d = _as_image(image)
    given = _given_dtype(image, a)
    fill = check_fill(fill, a.dtype)
    # Tap tables are made where the coordinates are: on the device for CuPy coordinates of
    # a CuPy image (no copy to the host), else on the host.
    try:
        n_points = math.prod(np.shape(coords)[:-1])
    except ValueError:                      # (a ragged list)
        raise ResampleError(f"coords must be numbers, got {excerpt(coords)}") from None
    if np.iscomplexobj(coords):
        raise ResampleError("coords must be real numbers, got complex ones")
    if not on_gpu:          # the coordinates in float64, a chunk's two tables, the samples
        check_memory(n_points * (16 + a.shape[2] * compute_dtype(a.dtype).itemsize)
                     + min(n_points, _SAMPLE_CHUNK) * 2 * 24 * sloped_width(m, boundary),
                     f"{n_points} samples")
    if on_gpu and devices.is_device_array(coords):
        xp = sys.modules["cupy"]
        xy = xp.asarray(coords, dtype=np.float64)
    else:
        xp = np
        try:
            xy = np.asarray(coords.get() if devices.is_device_array(coords) else coords,
                            dtype=np.float64)
        except (TypeError, ValueError):
            raise ResampleError(f"coords must be numbers, got {excerpt(coords)}") from None
    if xy.ndim < 1 or xy.shape[-1] != 2:
        raise ResampleError(f"coords must have shape (..., 2) as (x, y), got {xy.shape}")
    if not bool(xp.isfinite(xy).all()):
        raise ResampleError("coords hold NaN or infinite values")
    lead = xy.shape[:-1]
    xy = xy.reshape(-1, 2)
    x, y = xy[:, 0], xy[:, 1]
    if normalized:
        x = normalized_to_pixels(x, a.shape[1], align)
        y = normalized_to_pixels(y, a.shape[0], align)
    work = work_dtype(a.dtype)
    out_dtype = compute_dtype(a.dtype)
    chunks = [slice(s, s + _SAMPLE_CHUNK) for s in range(0, len(x), _SAMPLE_CHUNK)]
    if on_gpu:
        backend = cuda.cupy_backend()
        taps = ((gpu.taps(backend, y[part], a.shape[0], m, 1.0, boundary),
                 gpu.taps(backend, x[part], a.shape[1], m, 1.0, boundary)) for part in chunks)
        parts = [gpu.gather(backend, a, ty, tx, fill, work, out_dtype) for ty, tx in taps]
        out = (backend.xp.concatenate(parts) if parts
               else backend.xp.empty((0, a.shape[2]), out_dtype))
    else:
        taps = ((compute_taps(y[part], a.shape[0], m, 1.0, boundary, merge=False),
                 compute_taps(x[part], a.shape[1], m, 1.0, boundary, merge=False))
                for part in chunks)
        src = a.astype(out_dtype, copy=False)
        out = np.empty((len(x), a.shape[2]), out_dtype)
        for part, (ty, tx) in zip(chunks, taps):
            out[part] = cpu.gather(src, ty, tx, fill, work, out_dtype)
    out = out.astype(given, copy=False).reshape(lead + (a.shape[2],))
    return out[..., 0] if was_2d else out


def gri1d(x, y, xq):
    """Interpolate curve samples ``y`` at strictly increasing, possibly non-uniform ``x``.

    x:  ``(n,)`` sample positions.  y: ``(n,)`` or ``(n, ...)`` values.  xq: query positions (any shape).
    Each query uses its nearest sample ``i``: a quartic in ``(x - x_i)`` through ``y_i`` that
    passes through the midpoints of the segments to ``i - 1`` and ``i + 1`` with their slopes
    there (the 5x5 system of docs/conventions.md).  The ends have a linearly extrapolated ghost sample,
    and queries beyond ``[x_0, x_{n-1}]`` continue along the end tangent.  On uniform ``x``
    this is the ``gri`` kernel.  Returns ``xq.shape + y.shape[1:]`` in float64.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    xq = np.asarray(xq, dtype=np.float64)
    if x.ndim != 1 or len(x) < 1:
        raise ResampleError("x must be a non-empty 1-D array")
    if y.shape[:1] != x.shape:
        raise ResampleError(f"y must have {len(x)} rows like x, got shape {y.shape}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(xq))):
        raise ResampleError("x and xq must be finite")
    if np.any(np.diff(x) <= 0):
        raise ResampleError("x must be strictly increasing")
    tail = y.shape[1:]
    yy = y.reshape(len(x), -1)
    if len(x) == 1:
        return np.broadcast_to(yy[0], xq.shape + yy.shape[1:]).reshape(xq.shape + tail).copy()
    # Ghost samples continue the end segments linearly.
    xs = np.concatenate([[2 * x[0] - x[1]], x, [2 * x[-1] - x[-2]]])
    ys = np.concatenate([2 * yy[:1] - yy[1:2], yy, 2 * yy[-1:] - yy[-2:-1]])
    q = xq.ravel()
    # Nearest sample (index into xs): ties at a midpoint give the same value either way.
    i = np.clip(np.searchsorted(x, q), 1, len(x) - 1)
    i = np.where(np.abs(q - x[i - 1]) <= np.abs(x[i] - q), i - 1, i) + 1
    d_left, d_right = xs[i - 1] - xs[i], xs[i + 1] - xs[i]
    ml, mr = 0.5 * d_left, 0.5 * d_right
    # Rows: p(0), p(mr), p'(mr), p(ml), p'(ml) for p(d) = sum_k a_k d^k.
    ones, zeros = np.ones_like(ml), np.zeros_like(ml)
    A = np.stack([
        np.stack([ones, zeros, zeros, zeros, zeros], -1),
        np.stack([ones, mr, mr**2, mr**3, mr**4], -1),
        np.stack([zeros, ones, 2 * mr, 3 * mr**2, 4 * mr**3], -1),
        np.stack([ones, ml, ml**2, ml**3, ml**4], -1),
        np.stack([zeros, ones, 2 * ml, 3 * ml**2, 4 * ml**3], -1),
    ], -2)
    y0, yl, yr = ys[i], ys[i - 1], ys[i + 1]
    b = np.stack([y0, 0.5 * (y0 + yr), (yr - y0) / d_right[:, None],
                  0.5 * (y0 + yl), (yl - y0) / d_left[:, None]], -2)
    coef = np.linalg.solve(A, b)                       # (Q, 5, K)
    d = q - xs[i]
    outside = (q < x[0]) | (q > x[-1])
    d_poly = np.where(outside, 0.0, d)                 # beyond the ends: the tangent line
    powers = d_poly[:, None] ** np.arange(5)           # (Q, 5)
    value = np.einsum("qk,qkc->qc", powers, coef)
    value = np.where(outside[:, None], coef[:, 0] + d[:, None] * coef[:, 1], value)
    return value.reshape(xq.shape + tail)
