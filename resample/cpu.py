"""The CPU engine: numba-compiled loops that apply tap tables, on every core.

Arrays are ``(rows, cols, channels)``.  Accumulation is in the tap weights' dtype (float32 for
8/16-bit and float32 images, float64 otherwise).  The last pass stores into the output dtype:
integers are rounded half up and clipped to ``[lo, hi]``; floats are stored as they are.
"""

from __future__ import annotations


import numba as nb
import numpy as np

from .taps import Taps

_JIT = dict(parallel=True, cache=True, nogil=True, fastmath={"contract"})  # FMA only
COLS_COST = 2.0   # a cols-pass multiply-add (a gather) costs about this many rows-pass ones
FORCE_ORDER = None  # "rows" or "cols" to force the first pass (for measurements)


@nb.njit(inline="always")
def _store(value, clip, rounding):
    """Round half up and clip to ``[clip[0], clip[1]]`` when storing integers (clip[2] = 0.5).

    ``clip`` has the accumulator's dtype, so float32 work stays in float32.
    """
    if rounding:
        value = np.floor(value + clip[2])
        if value < clip[0]:
            value = clip[0]
        elif value > clip[1]:
            value = clip[1]
    return value


@nb.njit(inline="always")
def _group(r0, r1, r2, r3, w0, w1, w2, w3, size, m):
    """w0 r0[m] + ... over the first ``size`` (1 to 4) rows of a group (unused rows repeat r0)."""
    v = w0 * r0[m]
    if size > 1:
        v += w1 * r1[m]
    if size > 2:
        v += w2 * r2[m]
    if size > 3:
        v += w3 * r3[m]
    return v


@nb.njit(inline="always")
def _combine(rows, slots, weights, n, f, buf, out, clip, rounding, to_out):
    """f + sum_{k < n} weights[k] * rows[slots[k]], over rows of length M, into ``buf``; with
    ``to_out`` the last group stores the result into ``out`` instead (rounded and clipped).

    Taps go in groups of up to four, summed in registers: one pass per group.
    """
    m_len = buf.shape[0]
    k = 0
    while k < n:
        size = min(4, n - k)
        r0 = rows[slots[k]]
        r1 = rows[slots[k + 1]] if size > 1 else r0
        r2 = rows[slots[k + 2]] if size > 2 else r0
        r3 = rows[slots[k + 3]] if size > 3 else r0
        w0 = weights[k]
        w1 = weights[k + 1] if size > 1 else w0
        w2 = weights[k + 2] if size > 2 else w0
        w3 = weights[k + 3] if size > 3 else w0
        last = k + size == n
        if last and to_out:
            if k == 0:
                for m in range(m_len):
                    out[m] = _store(f + _group(r0, r1, r2, r3, w0, w1, w2, w3, size, m),
                                    clip, rounding)
            else:
                for m in range(m_len):
                    out[m] = _store(buf[m] + _group(r0, r1, r2, r3, w0, w1, w2, w3, size, m),
                                    clip, rounding)
        elif k == 0:
            for m in range(m_len):
                buf[m] = f + _group(r0, r1, r2, r3, w0, w1, w2, w3, size, m)
        else:
            for m in range(m_len):
                buf[m] += _group(r0, r1, r2, r3, w0, w1, w2, w3, size, m)
        k += size
    if n == 0:
        buf[:] = f
        if to_out:
            for m in range(m_len):
                out[m] = _store(f, clip, rounding)


@nb.njit(inline="always")
def _gather_group(line, index, weight, k, size, buf, first):
    """buf[m] (=|+=) sum over taps k..k+size-1 (size 1 to 4) of weight[., m] * line[index[., m]].

    Summing a group in registers saves passes over ``buf``; LLVM keeps each loop simple.
    """
    m_len = buf.shape[0]
    i0, w0 = index[k], weight[k]
    if size == 1:
        if first:
            for m in range(m_len):
                buf[m] = w0[m] * line[i0[m]]
        else:
            for m in range(m_len):
                buf[m] += w0[m] * line[i0[m]]
        return
    i1, w1 = index[k + 1], weight[k + 1]
    if size == 2:
        if first:
            for m in range(m_len):
                buf[m] = w0[m] * line[i0[m]] + w1[m] * line[i1[m]]
        else:
            for m in range(m_len):
                buf[m] += w0[m] * line[i0[m]] + w1[m] * line[i1[m]]
        return
    i2, w2 = index[k + 2], weight[k + 2]
    if size == 3:
        if first:
            for m in range(m_len):
                buf[m] = w0[m] * line[i0[m]] + w1[m] * line[i1[m]] + w2[m] * line[i2[m]]
        else:
            for m in range(m_len):
                buf[m] += w0[m] * line[i0[m]] + w1[m] * line[i1[m]] + w2[m] * line[i2[m]]
        return
    i3, w3 = index[k + 3], weight[k + 3]
    if first:
        for m in range(m_len):
            buf[m] = (w0[m] * line[i0[m]] + w1[m] * line[i1[m]]
                      + w2[m] * line[i2[m]] + w3[m] * line[i3[m]])
    else:
        for m in range(m_len):
            buf[m] += (w0[m] * line[i0[m]] + w1[m] * line[i1[m]]
                       + w2[m] * line[i2[m]] + w3[m] * line[i3[m]])


@nb.njit(inline="always")
def _gather_line(line, index, weight, buf):
    """buf[m] = sum_k weight[k, m] * line[index[k, m]], with a tap-major (T, M) table.

    Padding taps have weight 0.  Taps go in groups of up to four.
    """
    n = index.shape[0]
    k = 0
    while k < n:
        size = min(4, n - k)
        _gather_group(line, index, weight, k, size, buf, k == 0)
        k += size


@nb.njit(**_JIT)
def _resize_rows_first(src, yi, yw, yc, yf, xi, xw, xf, fill, dst, clip, rounding):
    """Per output row: combine input rows (vertical), then gather along the row (horizontal).

    src (n_in, M_in) and dst (n_out, M_out) hold interleaved rows (``m = col * C + channel``).
    """
    n_out, m_out = dst.shape
    for o in nb.prange(n_out):
        line = np.empty(src.shape[1], dtype=yw.dtype)
        acc = np.empty(m_out, dtype=yw.dtype)
        f = yf[o] * fill if yf[o] != 0 else yw.dtype.type(0)
        _combine(src, yi[o], yw[o], yc[o], f, line, line, clip, rounding, False)
        _gather_line(line, xi, xw, acc)
        out = dst[o]
        for m in range(m_out):
            v = acc[m]
            if xf[m] != 0:
                v += xf[m] * fill
            out[m] = _store(v, clip, rounding)


@nb.njit(**_JIT)
def _resize_cols_first(src, yi, yw, yc, yf, xi, xw, xf, fill, dst, clip, rounding, n_bands):
    """Per band of output rows: resample input rows horizontally into a small cache (each row
    once per band), then combine the cached rows vertically, fused with the store."""
    n_out, m_out = dst.shape
    n_slots = yi.shape[1] + 1                 # one more than any output needs: one is free
    band = (n_out + n_bands - 1) // n_bands
    for b in nb.prange(n_bands):
        cache = np.empty((n_slots, m_out), dtype=yw.dtype)
        tag = np.full(n_slots, -1, dtype=np.int64)
        last_use = np.full(n_slots, -1, dtype=np.int64)
        slots = np.empty(yi.shape[1], dtype=np.int64)
        acc = np.empty(m_out, dtype=yw.dtype)
        line = np.empty(src.shape[1], dtype=yw.dtype)   # gathers from float are faster
        for o in range(b * band, min(n_out, (b + 1) * band)):
            n = yc[o]
            for k in range(n):
                r = yi[o, k]
                slot = -1
                for s in range(n_slots):
                    if tag[s] == r:
                        slot = s
                if slot < 0:                  # least recently used, never one this row uses
                    slot = 0
                    for s in range(n_slots):
                        if last_use[s] < last_use[slot]:
                            slot = s
                    row = cache[slot]
                    line[:] = src[r]
                    _gather_line(line, xi, xw, row)
                    for m in range(m_out):
                        if xf[m] != 0:
                            row[m] += xf[m] * fill
                    tag[slot] = r
                last_use[slot] = o
                slots[k] = slot
            f = yf[o] * fill if yf[o] != 0 else yw.dtype.type(0)
            _combine(cache, slots, yw[o], n, f, acc, dst[o], clip, rounding, True)


@nb.njit(**_JIT)
def _select(src, rows, cols, dst):
    """dst[o, m] = src[rows[o], cols[m]]: resampling where every output copies one input."""
    for o in nb.prange(dst.shape[0]):
        line = src[rows[o]]
        out = dst[o]
        for m in range(dst.shape[1]):
            out[m] = line[cols[m]]


@nb.njit(**_JIT)
def _gather(src, iy, wy, cy, fy, ix, wx, cx, fx, fill, dst, clip, rounding):
    """Point sampling: dst[p, c] = sum_a sum_b wy[p,a] wx[p,b] src[iy[p,a], ix[p,b], c] (+ fill terms).

    A point's taps outside the image in x add ``fx * fill`` to each row; rows outside in y add
    ``fy * fill`` (the x weights of such a row sum to 1).
    """
    n_pts, n_ch = dst.shape
    for p in nb.prange(n_pts):
        for c in range(n_ch):
            acc = wy.dtype.type(0)
            for a in range(cy[p]):
                line = src[iy[p, a]]
                row_acc = wx.dtype.type(0)
                for b in range(cx[p]):
                    row_acc += wx[p, b] * line[ix[p, b], c]
                if fx[p] != 0:
                    row_acc += fx[p] * fill
                acc += wy[p, a] * row_acc
            if fy[p] != 0:
                acc += fy[p] * fill
            dst[p, c] = _store(acc, clip, rounding)


def _table(taps: Taps, work):
    return taps.index, taps.weight.astype(work), taps.count, taps.fill_weight.astype(work)


@nb.njit(cache=True, nogil=True)
def _fill_interleaved(index, weight, count, out_index, out_weight):
    n_out, width = index.shape
    n_ch = out_index.shape[1] // n_out
    for o in range(n_out):
        for k in range(width):
            real = k < count[o]
            i = index[o, k] if real else index[o, 0]
            w = weight[o, k] if real else 0.0
            for c in range(n_ch):
                out_index[k, o * n_ch + c] = i * n_ch + c
                out_weight[k, o * n_ch + c] = w


def _interleaved_table(taps: Taps, n_ch, work):
    """The cols-pass table: tap-major (T, n_out * C), indices into an interleaved row.

    Padding taps repeat the row's first tap with weight 0.  A zero-weight tap adds nothing to
    a finite sum, and a NaN it reads is also read by the row's first, real tap.
    """
    if np.any(taps.count == 0):
        raise AssertionError("a resize output with no input taps")
    width = taps.index.shape[1]
    size = taps.n_out * n_ch
    small = int(taps.index.max(initial=0)) * n_ch + n_ch < 2**31
    index = np.empty((width, size), np.int32 if small else np.int64)
    weight = np.empty((width, size), work)
    _fill_interleaved(taps.index, taps.weight, taps.count, index, weight)
    fill_weight = np.repeat(taps.fill_weight, n_ch).astype(work)
    return index, weight, fill_weight


def _store_args(dtype, work):
    """``(clip, rounding)`` for storing ``work`` accumulators into ``dtype``."""
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        # The largest float that still fits, so that the cast never overflows.
        hi = float(np.nextafter(float(info.max), 0.0)) if info.bits > 32 else float(info.max)
        return np.array([info.min, hi, 0.5], work), True
    return np.array([0.0, 0.0, 0.5], work), False


def resize(image, taps_rows: Taps, taps_cols: Taps, fill, work, out_dtype):
    """Resize ``image`` (R, C, ch) with one tap table per axis, into a new array.

    One fused kernel does both passes with no full-size intermediate; it runs the two passes in
    the order that costs fewer multiply-adds, a cols-pass one (a gather) weighing COLS_COST.
    """
    n_rows, n_cols, n_ch = image.shape
    if taps_rows.is_identity(n_rows) and taps_cols.is_identity(n_cols):
        return image.astype(out_dtype, copy=True)
    clip, rounding = _store_args(out_dtype, work)
    dst = np.empty((taps_rows.n_out, taps_cols.n_out, n_ch), out_dtype)
    if taps_rows.is_selection() and taps_cols.is_selection():
        cols = _interleaved_table(taps_cols, n_ch, work)[0][0]
        _select(image.reshape(n_rows, -1), taps_rows.index[:, 0], cols,
                dst.reshape(dst.shape[0], -1))
        return dst
    args = (image.reshape(n_rows, -1), *_table(taps_rows, work),
            *_interleaved_table(taps_cols, n_ch, work), work.type(fill),
            dst.reshape(dst.shape[0], -1), clip, rounding)
    ty, tx = taps_rows.count.mean(), taps_cols.index.shape[1] * COLS_COST
    rows_first = taps_rows.n_out * (n_cols * ty + taps_cols.n_out * tx)
    cols_first = n_rows * taps_cols.n_out * tx + taps_rows.n_out * taps_cols.n_out * ty
    # Small chunks handed out as threads free up: a core taken by another process does not
    # leave the other waiting at the end.
    if (rows_first <= cols_first) if FORCE_ORDER is None else FORCE_ORDER == "rows":
        with nb.parallel_chunksize(4):
            _resize_rows_first(*args)
    else:
        n_bands = min(taps_rows.n_out, 16 * nb.get_num_threads())
        with nb.parallel_chunksize(1):
            _resize_cols_first(*args, n_bands)
    return dst


def gather(image, taps_y: Taps, taps_x: Taps, fill, work, out_dtype):
    """Sample ``image`` (R, C, ch) at points whose per-axis taps are given; returns (N, ch)."""
    clip, rounding = _store_args(out_dtype, work)
    dst = np.empty((taps_y.n_out, image.shape[2]), out_dtype)
    _gather(image, *_table(taps_y, work), *_table(taps_x, work), work.type(fill), dst,
            clip, rounding)
    return dst
