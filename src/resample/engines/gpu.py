"""The GPU engine: the CUDA kernels of ``kernels/resample.cu``, launched through CuPy.

The engine's logic (which kernels, in which order, on which tap tables) is written once
against a small backend: an array module and a launcher.  ``cuda.CupyBackend`` runs it on a GPU;
the tests run the very same logic on the CPU with NumPy and the kernels compiled as C++
through ``tests/shim/cpu_shim.h`` (tests/engines/test_kernels.py).

Arrays are (rows, cols, channels), C-contiguous, as in the CPU engine.
"""

from __future__ import annotations


import numpy as np

from ..spec.dtypes import store_args
from ..spec.methods import taps_width
from ..spec.taps import BOUNDARY_IDS, LRU, SlopedTaps, Taps, check_sloped_width, compute_taps
from .cuda import BLOCK
from .pointgrid import PointGrid, host

KERNEL_TYPES = {np.dtype(np.uint8): "u8", np.dtype(np.uint16): "u16",
                np.dtype(np.float32): "f32", np.dtype(np.float64): "f64"}


def scalar_store_args(dtype, work):
    """(lo, hi, rounding) as the CPU engine stores ``work`` values into ``dtype``, as kernel
    arguments."""
    clip, rounding = store_args(dtype, work)
    return work.type(clip[0]), work.type(clip[1]), np.int32(rounding)


def _upload_table(xp, taps: Taps, work):
    """The table's arrays on the device, in the kernels' types (host tables are copied)."""
    def put(a, dtype):
        return xp.ascontiguousarray(xp.asarray(a), dtype=dtype)

    return (put(taps.index, np.int32), put(taps.weight, work), put(taps.count, np.int32),
            put(taps.fill_weight, work), np.int32(taps.index.shape[1]))


TILE = 32                     # output pixels a side of a tiled_* block (resample.cu's TILE)
TILED_BLOCK = 128             # its threads (TILED_THREADS)
SPLAT_TILE = 32               # pixels a side of a gmm_splat_tiles_* block (SPLAT_TILE)
TILE_BYTES = 32768            # its shared memory (resample.cu's TILE_BYTES)


def tile_spans(taps: Taps, tile=TILE):
    """(n_tiles, 2) int32, host: the first and last input index that the real taps of each
    run of ``tile`` outputs read (0, 0 for a run with no taps)."""
    index = np.asarray(taps.index)
    count = np.asarray(taps.count)
    real = np.arange(index.shape[1]) < count[:, None]
    n_tiles = -(-taps.n_out // tile)
    pad = n_tiles * tile - taps.n_out
    big = np.iinfo(np.int64).max
    lo = np.pad(np.where(real, index, big).min(axis=1), (0, pad), constant_values=big)
    hi = np.pad(np.where(real, index, -1).max(axis=1), (0, pad), constant_values=-1)
    lo, hi = lo.reshape(n_tiles, tile).min(axis=1), hi.reshape(n_tiles, tile).max(axis=1)
    empty = hi < 0
    lo[empty], hi[empty] = 0, 0
    return np.stack([lo, hi], axis=1).astype(np.int32)


TILE_TAPS = 8                 # the most taps an axis tiled_fast holds (resample.cu)


def fast_tiles(taps_rows: Taps, taps_cols: Taps, n_ch, kind, work):
    """Whether the tiled kernel may take its fast way (``tiled_fast`` of resample.cu): 8/16-bit
    images in float work with at most 4 channels, at most TILE_TAPS taps an axis, no weight
    zero in float (host tables drop zero weights, but one could underflow as float32) and no
    fill weight (the constant boundary takes the general way)."""
    kind = np.dtype(kind)
    if np.dtype(work) != np.float32 or kind.kind != "u" or kind.itemsize > 2 or n_ch > 4:
        return False
    lo, hi, rounding = scalar_store_args(kind, np.dtype(work))
    if (lo, hi, rounding) != (0, np.iinfo(kind).max, 1):      # (tiled_fast stores saturated)
        return False
    for taps in (taps_rows, taps_cols):
        index = np.asarray(taps.index)
        if index.shape[1] > TILE_TAPS or np.any(np.asarray(taps.fill_weight) != 0):
            return False
        real = np.arange(index.shape[1]) < np.asarray(taps.count)[:, None]
        if np.any((np.asarray(taps.weight).astype(np.float32) == 0) & real):
            return False
    return True


def tile_sizes(taps: Taps, tile=TILE):
    """Per run of ``tile`` outputs (a tile row or column): the input samples its footprint
    spans (tile_spans) and the outputs it holds (``tile``, fewer in the last)."""
    span = np.diff(tile_spans(taps, tile), axis=1)[:, 0] + 1
    return span, np.minimum(tile, taps.n_out - tile * np.arange(len(span)))


TILE_ROWS_MAX = 64            # the tallest tile (resample.cu's TILE_ROWS_MAX)
FAST_TABLE_BYTES = TILE_ROWS_MAX * TILE_TAPS * 8 + TILE_ROWS_MAX * 4 + TILE_ROWS_MAX // 2 * 4


def tile_ways(taps_rows: Taps, taps_cols: Taps, n_ch, in_item, work_item, fast, rows=TILE):
    """How the tiled kernel computes each tile of ``rows`` x TILE outputs (an array: tile
    rows, tile columns): 3 ``tiled_fast`` (when ``fast``, :func:`fast_tiles`, and its
    footprint fits), 2 ``tiled_general``, 1 the gather's code (a footprint too wide for
    TILE_BYTES).  resample.cu's choice, in Python."""
    span_r, _ = tile_sizes(taps_rows, rows)
    span_c, n_c = tile_sizes(taps_cols)
    nr = span_r[:, None].astype(np.int64)
    nc = span_c[None, :].astype(np.int64)
    general = (nr * nc * n_ch + nr * n_c[None, :] * n_ch) * work_item <= TILE_BYTES
    ways = np.where(general, 2, 1)
    if fast:
        pad = 4 if n_ch == 3 else n_ch
        in_bytes = (nr * nc * pad * in_item + 15) // 16 * 16
        fits = FAST_TABLE_BYTES + in_bytes + nr * TILE * pad * 4 <= TILE_BYTES
        ways = np.where(fits, 3, ways)
    return ways


def tile_rows(taps_rows: Taps, taps_cols: Taps, n_ch, in_item, fast):
    """The tiles' height: TILE_ROWS_MAX where the fast way takes every such tile (a tile's
    setup and its footprint's overlap shared by twice the pixels), else TILE."""
    if fast and (tile_ways(taps_rows, taps_cols, n_ch, in_item, 4, True,
                           TILE_ROWS_MAX) == 3).all():
        return TILE_ROWS_MAX
    return TILE


_TILED = LRU(64)              # host: the tiled kernel's choices for a pair of tables
_PLANS = LRU(256)             # host: plan_passes's answers


def _tiled_choices(taps_rows: Taps, taps_cols: Taps, n_ch, kind, work):
    """(fast, tile rows, (row spans, column spans)) of the tiled kernel for these tables, from
    a cache (the tables come from resize_taps's: a repeated size finds them here)."""
    key = (id(taps_rows), id(taps_cols), n_ch, np.dtype(kind).str, np.dtype(work).str)
    hit = _TILED.get(key)
    if hit is not None and hit[0] is taps_rows and hit[1] is taps_cols:
        return hit[2]
    fast = fast_tiles(taps_rows, taps_cols, n_ch, kind, work)
    tall = tile_rows(taps_rows, taps_cols, n_ch, np.dtype(kind).itemsize, fast)
    choices = (fast, tall, (tile_spans(taps_rows, tall), tile_spans(taps_cols)))
    _TILED.put(key, (taps_rows, taps_cols, choices))
    return choices


def _device_copy(backend, owner, kind, host):
    """``host`` on the backend's device, cached beside the tap tables when it caches them."""
    cache = getattr(backend, "tables", None)
    if cache is None:
        return backend.xp.asarray(host)
    return cache.fetch(backend.xp, owner, kind, lambda: backend.xp.asarray(host))


def _table(backend, taps: Taps, work):
    """A tap table as the kernels take it: index (int32), weight, count (int32), fill weight,
    width; from the backend's cache if it has one."""
    cache = getattr(backend, "tables", None)
    if cache is None:
        return _upload_table(backend.xp, taps, work)
    return cache.fetch(backend.xp, taps, np.dtype(work).str,
                       lambda: _upload_table(backend.xp, taps, work))


def kernel_dtype(dtype, work):
    """The dtype the kernels read and write for an image of ``dtype`` (others are cast): the
    8/16-bit types with float32 work, else the work type itself (float32 images are
    resampled in float64)."""
    return dtype if dtype in KERNEL_TYPES and (dtype.itemsize <= 2 or dtype == work) else work


# The one/two-pass choice: a model of the kernels on an H100 SXM (kernels/README.md).  A
# kernel is bound by its thread-level load instructions (table entries and pixels; each
# warp-wide load issues once, 32 thread loads an SM a clock) or by memory traffic, whichever
# is slower; the two passes add up.  Measured on a GPU, these constants would be replaced.
LOADS_PER_S = 132 * 32 * 1.98e9       # thread loads a second: SMs x a warp a clock x clock
BYTES_PER_S = 3.35e12                 # HBM3


def pass_times(in_shape, taps_rows: Taps, taps_cols: Taps, in_item, work_item):
    """Predicted seconds of the one-pass and the two-pass resize of an image of ``in_shape``
    (rows, cols, channels) with ``in_item``-byte samples (the output's alike) and a
    ``work_item``-byte intermediate: ``{1: seconds, 2: seconds}``.

    One pass (gather, a thread a pixel): Ty*Tx*C pixel loads and 2*(Ty + Tx) table loads an
    output pixel.  Two passes, the cheaper order: the cols pass (a thread a pixel) makes
    Tx*C + 2*Tx loads a pixel it writes, the rows pass (a thread a value) 3*Ty a value, and
    the intermediate is written and read back."""
    rows, cols, ch = in_shape
    r_out, c_out = taps_rows.n_out, taps_cols.n_out
    ty, tx = taps_rows.index.shape[1], taps_cols.index.shape[1]
    io = (rows * cols + r_out * c_out) * ch * in_item

    def time(loads, nbytes):
        return max(loads / LOADS_PER_S, nbytes / BYTES_PER_S)

    one = time(r_out * c_out * (ty * tx * ch + 2 * (ty + tx)), io)
    src, dst = rows * cols * ch * in_item, r_out * c_out * ch * in_item
    cols_first_mid = rows * c_out * ch * work_item
    rows_first_mid = r_out * cols * ch * work_item
    cols_first = (time(rows * c_out * (tx * ch + 2 * tx), src + cols_first_mid)
                  + time(r_out * c_out * ch * 3 * ty, cols_first_mid + dst))
    rows_first = (time(r_out * cols * ch * 3 * ty, src + rows_first_mid)
                  + time(r_out * c_out * (tx * ch + 2 * tx), rows_first_mid + dst))
    two = (cols_first, rows_first)
    tiled = _tiled_time(in_shape, taps_rows, taps_cols, in_item, work_item, time)
    return {1: one, 2: min(two), 3: tiled}


# The tiled kernel's fast way (tiled_fast) is modelled in the instructions a thread runs,
# counted in its compiled code (SASS, sm_90; tests/engines/test_gpu_compile.py holds these formulas
# to what NVRTC makes of resample.cu), and in shared-memory wavefronts (128 bytes a clock an
# SM); the slowest of issue, shared memory, conversions and memory traffic bounds it.
ISSUE_PER_S = 132 * 128 * 1.98e9      # thread instructions: 4 warp instructions an SM a clock
WAVEFRONTS_PER_S = 132 * 1.98e9       # shared-memory wavefronts: one an SM a clock
CONVERSIONS_PER_S = 132 * 16 * 1.98e9  # float-to-integer conversions: 16 an SM a clock
TILE_SETUP = 120        # a thread's instructions a tile outside the loops: in the SASS of
                        # tiled_u8_u8, 60 to place the tile and choose the way, about 60 in
                        # the set-ups of the passes


def fast_x_item(taps, ch):
    """Instructions of tiled_fast's x pass (x_rows) for one footprint row and output column:
    a tap a byte permutation, a subtraction and a fused multiply-add a channel, and a load."""
    return taps * (3 * ch + 1.5) + 2


def fast_y_pair(taps, shift, ch):
    """Instructions of y_pair and its stores, for four output pixels (two rows in two
    columns): (taps - 1) fused multiply-adds and subtractions a channel for each, taps +
    shift rows loaded once a column, three instructions a stored sample; a table load a tap
    and the switch on (taps, shift) for all four."""
    return 2 * (4 * ch * (taps - 1) + taps + shift + 6 * ch) + taps + 22


def fast_y_one(taps, ch):
    """Instructions of y_one and its stores, for one output pixel (a loop over the taps)."""
    return (taps - 1) * (2 * ch + 3) + 3 * ch + 15


def fast_footprint(ch):
    """Instructions to load and store one footprint pixel of ``ch`` samples."""
    return 3 + 2.7 * ch


def _pair_costs(taps: Taps, ch, rows):
    """Per tile row (``rows`` output rows): the instructions of tiled_fast's y pass for one
    output column, and its shared-memory wavefronts for 32 columns, as y_pair or y_one takes
    each pair of rows."""
    count, index = np.asarray(taps.count), np.asarray(taps.index)
    n_out = taps.n_out
    mid = 16 if ch >= 3 else 4 * ch               # a padded float pixel's bytes
    per_row_issue, per_row_waves = [], []
    for r0 in range(0, n_out, rows):
        issue = waves = 0.0
        end = min(r0 + rows, n_out)
        for o in range(r0, end, 2):
            n = int(count[o])
            shift = None
            runs = n in (2, 3, 4, 6) and o + 1 < end and count[o + 1] == n and all(
                np.array_equal(np.diff(index[q, :n]), np.ones(n - 1)) for q in (o, o + 1))
            if runs and index[o + 1, 0] - index[o, 0] in (0, 1):
                shift = int(index[o + 1, 0] - index[o, 0])
            if shift is None:
                single = [o] + ([o + 1] if o + 1 < end else [])
                issue += sum(fast_y_one(int(count[q]), ch) for q in single)
                waves += sum(int(count[q]) * (mid * 32 // 128 + 1) for q in single)
            else:
                issue += fast_y_pair(n, shift, ch) / 2            # (a thread: two columns)
                waves += (n + shift) * (mid * 32 // 128) + n
        per_row_issue.append(issue)
        per_row_waves.append(waves)
    return np.array(per_row_issue), np.array(per_row_waves)


def tiled_fast_times(in_shape, taps_rows: Taps, taps_cols: Taps, in_item):
    """Predicted seconds of the tiled kernel's fast way over the whole image, bound by each
    resource: ``{"issue", "shared", "convert", "memory"}`` (8/16-bit samples of ``in_item``
    bytes; every tile taken the fast way)."""
    rows, cols, ch = in_shape
    tall = tile_rows(taps_rows, taps_cols, ch, in_item, True)
    span_r, _ = tile_sizes(taps_rows, tall)
    span_c, n_c = tile_sizes(taps_cols)
    counts = np.asarray(taps_cols.count)
    x_cols = np.array([fast_x_item(int(counts[c]), ch) for c in range(taps_cols.n_out)])
    x_per_tile = np.add.reduceat(x_cols, np.arange(0, taps_cols.n_out, TILE))
    y_issue, y_waves = _pair_costs(taps_rows, ch, tall)
    pixel = (4 if ch >= 3 else ch) * in_item       # a packed footprint pixel's bytes
    mid = 16 if ch >= 3 else 4 * ch
    nr, nc = span_r[:, None], span_c[None, :]
    issue = (TILE_SETUP * TILED_BLOCK + nr * nc * fast_footprint(ch)
             + nr * x_per_tile[None, :] + y_issue[:, None] * n_c[None, :])
    x_loads = np.add.reduceat(counts, np.arange(0, taps_cols.n_out, TILE))
    waves = (nr * nc * pixel / 128                                  # footprint stores
             + nr * (x_loads[None, :] * max(1, pixel * 32 // 128) / 32     # x loads
                     + n_c[None, :] * mid / 128)                    # x pass stores
             + y_waves[:, None] * n_c[None, :] / 32)                # y pass, a warp a pair
    io = (rows * cols + taps_rows.n_out * taps_cols.n_out) * ch * in_item
    return {"issue": float(issue.sum()) / ISSUE_PER_S,
            "shared": float(waves.sum()) / WAVEFRONTS_PER_S,
            "convert": taps_rows.n_out * taps_cols.n_out * ch / CONVERSIONS_PER_S,
            "memory": io / BYTES_PER_S}


def _tiled_time(in_shape, taps_rows, taps_cols, in_item, work_item, time):
    """The tiled kernel: the fast way (tiled_fast_times) where it takes every tile; else each
    tile's footprint loaded once (a load a sample), the x taps over its rows (Tx C + 2 Tx
    loads a footprint row and output column), the y taps a pixel (Ty C + 2 Ty); a tile whose
    footprint does not fit its shared memory, the gather's cost."""
    rows, cols, ch = in_shape
    kind = {1: np.uint8, 2: np.uint16}.get(in_item, np.float32)
    work = np.float32 if work_item == 4 else np.float64
    fast = fast_tiles(taps_rows, taps_cols, ch, np.dtype(kind), work)
    if fast and (tile_ways(taps_rows, taps_cols, ch, in_item, work_item, True) == 3).all():
        return max(tiled_fast_times(in_shape, taps_rows, taps_cols, in_item).values())

    ty, tx = taps_rows.index.shape[1], taps_cols.index.shape[1]
    (span_r, n_r), (span_c, n_c) = tile_sizes(taps_rows), tile_sizes(taps_cols)
    nr, nc = span_r[:, None].astype(np.float64), span_c[None, :].astype(np.float64)
    pixels = n_r[:, None] * n_c[None, :]
    fits = (nr * nc * ch + nr * n_c[None, :] * ch) * work_item <= TILE_BYTES
    shared = (nr * nc * ch + nr * n_c[None, :] * (tx * ch + 2 * tx)
              + pixels * (ty * ch + 2 * ty))
    gathered = pixels * (ty * tx * ch + 2 * (ty + tx))
    loads = float(np.where(fits, shared, gathered).sum())
    nbytes = float(np.where(fits, nr * nc, 0).sum()) * ch * in_item \
        + taps_rows.n_out * taps_cols.n_out * ch * in_item
    return time(loads, nbytes)


def plan_passes(in_shape, taps_rows: Taps, taps_cols: Taps, in_item=1, work_item=4):
    """How :func:`resize` runs, the fastest in :func:`pass_times`: 1 (one pass, gather), 2
    (two passes) or 3 (tiled, one pass through shared memory).  Cached for the tables (the
    model takes some milliseconds on the host; a kernel of 4K to 8K, a tenth of one)."""
    key = (tuple(in_shape), id(taps_rows), id(taps_cols), in_item, work_item)
    hit = _PLANS.get(key)
    if hit is not None and hit[0] is taps_rows and hit[1] is taps_cols:
        return hit[2]
    plan = _plan(in_shape, taps_rows, taps_cols, in_item, work_item)
    _PLANS.put(key, (taps_rows, taps_cols, plan))
    return plan


def _plan(in_shape, taps_rows, taps_cols, in_item, work_item):
    times = pass_times(in_shape, taps_rows, taps_cols, in_item, work_item)
    if max(taps_rows.n_out, taps_cols.n_out, *in_shape[:2]) >= 2**31:
        del times[3]                      # the tiled kernel places its tiles in 32 bits
    return min(times, key=lambda k: (times[k], k))


def resize(backend, image, taps_rows: Taps, taps_cols: Taps, fill, work, out_dtype,
           passes=None):
    """Resize ``image`` (R, C, ch), an array of ``backend.xp``, into a new one of ``out_dtype``.

    ``passes`` (default :func:`plan_passes`): 1 reads the image through both tables at once;
    2 goes through a ``work`` intermediate, in the order with the smaller one (less memory
    traffic): cols first stores R x C_out values, rows first R_out x C; 3 computes a tile of
    output pixels a block through shared memory.  1, 3 and 2 with cols first make the same
    sums, bit for bit."""
    xp = backend.xp
    work = np.dtype(work)
    n_rows, n_cols, n_ch = image.shape
    rows_out, cols_out = taps_rows.n_out, taps_cols.n_out
    kind = kernel_dtype(np.dtype(out_dtype), work)
    src = xp.ascontiguousarray(image.astype(kind, copy=False))
    lo, hi, rounding = scalar_store_args(kind, work)
    fill = work.type(fill)
    s_in, s_work = KERNEL_TYPES[kind], KERNEL_TYPES[work]
    t_rows, t_cols = _table(backend, taps_rows, work), _table(backend, taps_cols, work)
    out = xp.empty((rows_out, cols_out, n_ch), kind)
    plan = passes or plan_passes(image.shape, taps_rows, taps_cols, np.dtype(kind).itemsize,
                                 work.itemsize)
    if plan == 3:
        fast, tall, host_spans = _tiled_choices(taps_rows, taps_cols, n_ch, kind, work)
        spans = [_device_copy(backend, taps, ("spans", rows), host)
                 for taps, rows, host in zip((taps_rows, taps_cols), (tall, TILE), host_spans)]
        tiles = len(spans[0]) * len(spans[1])
        backend.launch(f"tiled_{s_in}_{s_in}", tiles * TILED_BLOCK,
                       [src, out, np.int64(n_cols), np.int64(rows_out), np.int64(cols_out),
                        np.int32(n_ch), *t_rows, *t_cols, *spans, fill, lo, hi, rounding,
                        np.int32(fast), np.int32(tall)], block=TILED_BLOCK)
    elif plan == 1:
        backend.launch(f"gather_{s_in}_{s_in}", rows_out * cols_out,
                       [src, out, np.int64(rows_out * cols_out), np.int64(cols_out),
                        np.int64(n_cols), np.int32(n_ch), *t_rows, *t_cols, fill, lo, hi,
                        rounding])
    elif n_rows * cols_out <= rows_out * n_cols:
        tmp = xp.empty((n_rows, cols_out, n_ch), work)
        backend.launch(f"cols_{s_in}_{s_work}", n_rows * cols_out,
                       [src, tmp, np.int64(n_rows), np.int64(n_cols), np.int64(cols_out),
                        np.int32(n_ch), *t_cols, fill, lo, hi, np.int32(0)])
        backend.launch(f"rows_{s_work}_{s_in}", out.size,
                       [tmp, out, np.int64(rows_out), np.int64(cols_out * n_ch), *t_rows,
                        fill, lo, hi, rounding])
    else:
        tmp = xp.empty((rows_out, n_cols, n_ch), work)
        backend.launch(f"rows_{s_in}_{s_work}", tmp.size,
                       [src, tmp, np.int64(rows_out), np.int64(n_cols * n_ch), *t_rows, fill,
                        lo, hi, np.int32(0)])
        backend.launch(f"cols_{s_work}_{s_in}", rows_out * cols_out,
                       [tmp, out, np.int64(rows_out), np.int64(n_cols), np.int64(cols_out),
                        np.int32(n_ch), *t_cols, fill, lo, hi, rounding])
    return _cast_out(xp, out, out_dtype, work)


def gather(backend, image, taps_y: Taps, taps_x: Taps, fill, work, out_dtype):
    """Sample ``image`` (R, C, ch) at points with per-axis taps; returns (N, ch)."""
    xp = backend.xp
    work = np.dtype(work)
    kind = kernel_dtype(np.dtype(out_dtype), work)
    src = xp.ascontiguousarray(image.astype(kind, copy=False))
    lo, hi, rounding = scalar_store_args(kind, work)
    n_ch = image.shape[2]
    out = xp.empty((taps_y.n_out, n_ch), kind)
    suffix = KERNEL_TYPES[kind]
    backend.launch(f"gather_{suffix}_{suffix}", taps_y.n_out,
                   [src, out, np.int64(taps_y.n_out), np.int64(0), np.int64(image.shape[1]),
                    np.int32(n_ch), *_upload_table(xp, taps_y, work),
                    *_upload_table(xp, taps_x, work), work.type(fill), lo, hi, rounding])
    return _cast_out(xp, out, out_dtype, work)


def gather_vjp(backend, image, taps_y, taps_x, fill, grad, d_image, d_pos):
    """As :func:`resample.engines.cpu.gather_vjp`, a thread a point, the image's gradient by
    atomic adds: device arrays, ``d_image`` added into, ``d_pos`` set (None: not wanted)."""
    xp = backend.xp
    kind = np.dtype(image.dtype)
    if kind not in (np.float32, np.float64):
        raise ValueError("gather_vjp: images must be float32 or float64")
    want_pos = d_pos is not None and hasattr(taps_y, "slope")
    spare = xp.zeros(1)

    def table(t):
        as_int = lambda a: xp.ascontiguousarray(a, dtype=np.int64)  # noqa: E731
        as_double = lambda a: xp.ascontiguousarray(a, dtype=np.float64)  # noqa: E731
        return [as_int(t.index), as_double(t.weight),
                as_double(t.slope) if want_pos else spare, as_int(t.count),
                as_double(t.fill_weight), as_double(t.fill_slope) if want_pos else spare,
                np.int64(t.index.shape[1])]

    backend.launch(f"gather_vjp_{KERNEL_TYPES[kind]}", taps_y.n_out,
                   [xp.ascontiguousarray(image), np.int64(taps_y.n_out),
                    np.int64(image.shape[1]), np.int64(image.shape[2]), *table(taps_y),
                    *table(taps_x), np.float64(fill), xp.ascontiguousarray(grad, dtype=kind),
                    d_image if d_image is not None else xp.zeros(1, kind),
                    d_pos if want_pos else spare, np.int32(d_image is not None),
                    np.int32(want_pos)])


def _cast_out(xp, out, out_dtype, work):
    """Store work-type results into an integer dtype the kernels do not write directly."""
    out_dtype = np.dtype(out_dtype)
    if out.dtype == out_dtype:
        return out
    lo, hi, _ = scalar_store_args(out_dtype, work)
    if np.issubdtype(out_dtype, np.integer):
        out = xp.clip(xp.floor(out + work.type(0.5)), lo, hi)
    return out.astype(out_dtype)


# --- nearest points ----------------------------------------------------------------------------

def knn(backend, xy, queries, k, exclude_self=False):
    """As :meth:`resample.engines.pointgrid.PointGrid.knn` on the device: squared distances (Q, k) and
    indices (Q, k) of the ``k`` nearest of the points ``xy`` (N, 2) to each query (Q, 2),
    ascending.  The grid is PointGrid's, built on the device, so the answers (ties included)
    are the same."""
    xp = backend.xp
    grid = PointGrid(xy, xp)
    if grid.crowded:          # coincident or clustered points: the host's k-d tree
        d2, idx = PointGrid(host(grid.xy)).knn(host(queries), k, exclude_self)
        return xp.asarray(d2), xp.asarray(idx)
    queries = xp.ascontiguousarray(queries, dtype=np.float64)
    k = min(k, len(grid.xy) - (1 if exclude_self else 0))
    d2 = xp.empty((len(queries), k))
    idx = xp.empty((len(queries), k), np.int64)
    if k > 0 and len(queries):
        (nx, ny), (x0, y0) = grid.shape, grid.lo
        backend.launch("knn_grid", len(queries),
                       [grid.cell_xy, grid.order, grid.start, np.float64(x0), np.float64(y0),
                        np.float64(grid.cell), np.int64(nx), np.int64(ny), queries,
                        np.int64(len(queries)), np.int32(k), np.int32(bool(exclude_self)),
                        d2, idx])
    return d2, idx


def taps(backend, x, n, method, stretch, boundary):
    """The tap table of sampling an axis of ``n`` at positions ``x`` (a device array), made on
    the device by the shared header's taps_one, as :func:`resample.spec.taps.compute_taps`
    makes it on the host, but not compacted: every row has the full width, duplicate
    indices and zero weights included, which the kernels skip.  A custom (Python) kernel's
    table is made on the host and uploaded."""
    if method.custom:
        table = compute_taps(backend.xp.asnumpy(x), n, method, stretch, boundary)
        return Taps(*(backend.xp.asarray(a) for a in (table.index, table.weight, table.count,
                                                      table.fill_weight)))
    boundary_id = BOUNDARY_IDS[boundary]
    xp = backend.xp
    x = xp.ascontiguousarray(x, dtype=np.float64).ravel()
    width = taps_width(method.support, stretch, boundary_id)
    index = xp.empty((len(x), width), np.int64)
    weight = xp.empty((len(x), width), np.float64)
    fill = xp.empty(len(x), np.float64)
    backend.launch("taps_rows", len(x),
                   [x, np.int64(len(x)), np.int64(n), np.int32(method.id),
                    np.float64(method.support), np.float64(stretch), np.int32(boundary_id),
                    np.int64(width), index, weight, fill])
    return Taps(index, weight, xp.full(len(x), width, np.int64), fill)


def taps_with_slopes(backend, x, n, method, boundary):
    """:func:`resample.spec.taps.taps_with_slopes` made on the device from positions ``x``
    (a device array) by the shared header's taps_slopes_one."""
    width = check_sloped_width(method, boundary)
    xp = backend.xp
    x = xp.ascontiguousarray(x, dtype=np.float64).ravel()
    index = xp.empty((len(x), width), np.int64)
    weight, slope = xp.empty((len(x), width)), xp.empty((len(x), width))
    fill, fill_slope = xp.empty(len(x)), xp.empty(len(x))
    backend.launch("taps_slopes_rows", len(x),
                   [x, np.int64(len(x)), np.int64(n), np.int32(method.id),
                    np.float64(method.support), np.int32(BOUNDARY_IDS[boundary]),
                    np.int64(width), index, weight, slope, fill, fill_slope])
    return SlopedTaps(index, weight, slope, fill, fill_slope, xp.full(len(x), width, np.int64))


def contrast(backend, values, idx):
    """As :func:`resample.ops.gmm._contrast`: mean |v_neighbour - v_point| per point, float64.
    ``values`` (N, C) are read as float32 or float64 (other dtypes as float64)."""
    xp = backend.xp
    kind = values.dtype if values.dtype in (np.float32, np.float64) else np.dtype(np.float64)
    e = xp.empty(len(values))
    backend.launch(f"contrast_{KERNEL_TYPES[kind]}", len(values),
                   [xp.ascontiguousarray(values, dtype=kind),
                    xp.ascontiguousarray(idx, dtype=np.int64),
                    np.int64(len(values)), np.int32(values.shape[1]), np.int32(idx.shape[1]),
                    e])
    return e


# --- Gaussian mixtures -------------------------------------------------------------------------

def gmm_sums(backend, xy, values, sx, sy, cutoff, shape, theta=None):
    """As :func:`resample.ops.gmm._sums`: ``(sums, Z (H, W), packed)``, the weighted sums of the
    values in their dtype (float32 or float64): (C, H, W) planes, or with ``packed`` (up to 3
    channels) (H, W, packed), a pixel's sums and then its weight (Z is then filled by
    :func:`gmm_forward`'s normalisation, not here).  ``xy`` (N, 2) and the sigmas are float64
    (theta None: no rotation).  Points no wider than a 32x32 tile are binned by tile and
    added in shared memory, a block a tile; wider ones atomically into the sums (a vector
    atomic a pixel for up to 3 channels in float32: splat_add of resample.cu)."""
    xp = backend.xp
    height, width = shape
    n, n_ch = values.shape
    work = np.dtype(values.dtype)
    suffix = KERNEL_TYPES[work]
    # Up to 3 channels the sums are packed a pixel at a time, the weight after the channels
    # (2 or 4 values: one vector atomic a pixel for float32 on sm_90); more in planes.
    packed = np.int32(2 if n_ch == 1 else 4 if n_ch <= 3 else 0)
    acc = xp.zeros((height, width, packed) if packed else (n_ch, height, width), work)
    z = (xp.empty if packed else xp.zeros)((height, width), work)
    f64 = lambda a: xp.ascontiguousarray(xp.asarray(a, dtype=np.float64))   # noqa: E731
    rot = xp.zeros(n) if theta is None else f64(theta)
    xy, values, sx, sy = f64(xy), xp.ascontiguousarray(xp.asarray(values)), f64(sx), f64(sy)
    wide = 0
    if n_ch <= 4 and n and height * width:
        # Points binned by 32x32 tile, a block a tile adding them in shared memory (each
        # tile stored once); the points wider than a tile after, atomically.
        tiles = -(-height // SPLAT_TILE) * -(-width // SPLAT_TILE)
        order, key = _tile_order(backend, xy, sx, sy, rot, cutoff, height, width)
        xy, values, sx, sy, rot = (xp.ascontiguousarray(a[order])
                                   for a in (xy, values, sx, sy, rot))
        start = xp.searchsorted(key, xp.arange(tiles + 1, dtype=np.int32)).astype(np.int64)
        backend.launch(f"gmm_splat_tiles_{suffix}", tiles * BLOCK,
                       [xy, values, sx, sy, rot, start, np.int32(n_ch), np.float64(cutoff),
                        acc, z, np.int64(height), np.int64(width), packed])
        wide = int(start[tiles])                 # the first point wider than a tile
    if wide < n:
        backend.launch(f"gmm_splat_{suffix}", n - wide,
                       [xy[wide:], values[wide:], sx[wide:], sy[wide:], rot[wide:],
                        np.int64(n - wide), np.int32(n_ch), np.float64(cutoff), acc, z,
                        np.int64(height), np.int64(width), packed])
    return acc, z, packed


def gmm_forward(backend, xy, values, sx, sy, cutoff, shape, theta=None):
    """As :func:`resample.ops.gmm._forward`: ``(colour (H, W, C) with holes at 0, Z (H, W), number
    of holes)`` in the values' dtype: :func:`gmm_sums`, divided by Z."""
    xp = backend.xp
    height, width = shape
    n_ch = values.shape[1]
    suffix = KERNEL_TYPES[np.dtype(values.dtype)]
    acc, z, packed = gmm_sums(backend, xy, values, sx, sy, cutoff, shape, theta)
    out = xp.empty((height, width, n_ch), values.dtype)
    if packed:                                   # (and the weights' plane, Z, out of acc)
        backend.launch(f"gmm_normalise_packed_{suffix}", height * width,
                       [acc, z, out, np.int64(height * width), np.int32(n_ch), packed])
    else:
        backend.launch(f"gmm_normalise_{suffix}", height * width,
                       [acc, z, out, np.int64(height * width), np.int32(n_ch)])
    return out, z, int((z <= 0).sum())


def gmm_plane(backend, means, mean, z, first, ridge_share, clip):
    """Order 1's blend (kernels/common/gaussians.h's gmm_plane_at) on the device, float64:
    means (H, W, 5 + 4C), mean (H, W, C), z (H, W), first (C); returns (H, W, C)."""
    xp = backend.xp
    height, width, n_ch = mean.shape
    f64 = lambda a: xp.ascontiguousarray(xp.asarray(a, dtype=np.float64))   # noqa: E731
    out = xp.empty((height, width, n_ch), np.float64)
    backend.launch("gmm_plane_f64", height * width,
                   [f64(means), f64(mean), f64(z), f64(first), np.int64(height),
                    np.int64(width), np.int32(n_ch), np.float64(ridge_share), np.float64(clip),
                    out])
    return out


def gmm_plane_vjp(backend, means, mean, z, first, ridge_share, clip, grad):
    """The gradient of :func:`gmm_plane`'s blend given ``grad`` (H, W, C): ``(d_means,
    d_mean)``, float64 (kernels/common/gaussians.h's gmm_plane_vjp_at)."""
    xp = backend.xp
    height, width, n_ch = mean.shape
    f64 = lambda a: xp.ascontiguousarray(xp.asarray(a, dtype=np.float64))   # noqa: E731
    d_means = xp.empty((height, width, 5 + 4 * n_ch), np.float64)
    d_mean = xp.empty((height, width, n_ch), np.float64)
    backend.launch("gmm_plane_vjp_f64", height * width,
                   [f64(means), f64(mean), f64(z), f64(first), np.int64(height),
                    np.int64(width), np.int32(n_ch), np.float64(ridge_share), np.float64(clip),
                    f64(grad), d_means, d_mean])
    return d_means, d_mean


def _tile_order(backend, xy, sx, sy, rot, cutoff, height, width):
    """The points' order by the SPLAT_TILE tile of their centre, the points wider than a tile
    last (gmm_bin): ``(order, sorted keys)``, int32 keys (tiles < 2**31)."""
    xp = backend.xp
    n = len(xy)
    key = xp.empty(n, np.int32)
    backend.launch("gmm_bin", n, [xy, sx, sy, rot, np.int64(n), np.float64(cutoff),
                                  np.int64(height), np.int64(width), key])
    order = xp.argsort(key, kind="stable")
    return order, key[order]


VJP_SORTED = 1 << 16          # from this many points the gradients gather in tile order


def gmm_vjp(backend, xy, values, sx, sy, cutoff, grad, colour, z, theta=None):
    """As :func:`resample.ops.gmm.vjp_from_forward`'s gathers, in float64:
    ``(d_xy, d_values, d_sx, d_sy, d_theta)``, d_theta None when theta is None.

    A thread a point reads its footprint of grad, colour and Z (H, W planes far larger than
    L2 for big pictures): in the points' own order neighbouring threads read far-apart
    footprints, every one from memory (about 3 KB a point of sigma 1).  From VJP_SORTED
    points on, they are taken in the splat's tile order, so that a warp's footprints
    overlap and hit the caches; the gradients are put back in the points' order."""
    xp = backend.xp
    n, n_ch = values.shape
    height, width = z.shape
    f64 = lambda a: xp.ascontiguousarray(xp.asarray(a, dtype=np.float64))   # noqa: E731
    d_xy, d_values = xp.empty((n, 2)), xp.empty((n, n_ch))
    d_sx, d_sy, d_theta = xp.empty(n), xp.empty(n), xp.empty(n)
    rot = xp.zeros(n) if theta is None else f64(theta)
    xy, values, sx, sy = f64(xy), f64(values), f64(sx), f64(sy)
    order = None
    if n >= VJP_SORTED and height * width:
        order, _ = _tile_order(backend, xy, sx, sy, rot, cutoff, height, width)
        xy, values, sx, sy, rot = (xp.ascontiguousarray(a[order])
                                   for a in (xy, values, sx, sy, rot))
    backend.launch("gmm_vjp_f64", n,
                   [xy, values, sx, sy, rot, np.int64(n), np.int32(n_ch),
                    np.float64(cutoff), f64(grad), f64(colour), f64(z), np.int64(height),
                    np.int64(width), d_xy, d_values, d_sx, d_sy, d_theta])
    if order is not None:
        for a in (d_xy, d_values, d_sx, d_sy, d_theta):
            a[order] = a.copy()
    return d_xy, d_values, d_sx, d_sy, (None if theta is None else d_theta)
