"""Tap tables: which input samples each output sample reads, with which weights.

Every engine applies a method through these tables, so positions, antialiasing and boundary
handling live here once.  Positions are in input pixel units along one axis, where the centre
of input sample ``i`` is at ``x = i`` and the axis covers ``[-0.5, n - 0.5]``.
"""

from __future__ import annotations

import collections
import threading
from dataclasses import dataclass

import numpy as np

from .compiled import core as _core
from .errors import ResampleError, excerpt
from .methods import Method

ALIGNS = ("centers", "corners")
BOUNDARIES = ("edge", "reflect", "mirror", "wrap", "constant", "extrapolate", "truncate")


def check_choice(value, choices, what):
    """Return ``value`` lower-cased if it is one of ``choices``, else raise one clear line."""
    v = str(value).lower()
    if v not in choices:
        raise ResampleError(f"unknown {what} {excerpt(value)}; choose one of: {', '.join(choices)}")
    return v


@dataclass(frozen=True)
class Taps:
    """Per output sample ``o``: ``out[o] = sum_k weight[o,k] * in[index[o,k]] + fill_weight[o] * fill``.

    Only the first ``count[o]`` columns are used; the rest are padding (index 0, weight 0).
    Indices are in range; weights are normalised (they sum to 1 with ``fill_weight``), merged per
    index, and never exactly zero, so a zero-weight tap never touches the data.
    """

    index: np.ndarray        # (n_out, T) int64
    weight: np.ndarray       # (n_out, T) float64
    count: np.ndarray        # (n_out,) int64
    fill_weight: np.ndarray  # (n_out,) float64
    # (Tables made on a GPU for point sampling hold CuPy arrays and are not compacted:
    # see compute_taps.)

    @property
    def n_out(self):
        return self.index.shape[0]

    def is_selection(self):
        """True when every output copies exactly one input sample (weight 1, no fill)."""
        return (self.index.shape[1] == 1 and np.all(self.count == 1)
                and np.all(self.weight[:, 0] == 1.0) and not np.any(self.fill_weight))

    def is_identity(self, n_in):
        """True when the table copies its input unchanged (same size, one tap of weight 1)."""
        return (self.n_out == n_in and self.is_selection()
                and np.all(self.index[:, 0] == np.arange(n_in)))


def output_positions(n_in, n_out, align):
    """Input positions of the ``n_out`` output samples, and the spacing between them.

    ``centers``: ``x_j = (j + 0.5) * n_in / n_out - 0.5``.  The centres are accumulated in
    float64 in steps of ``n_in / n_out`` exactly as Pillow does, so that exact ties of
    ``nearest`` fall the same way as Pillow NEAREST.
    ``corners``: ``x_j = j * (n_in - 1) / (n_out - 1)`` (``0`` when ``n_out == 1``).
    """
    step = output_step(n_in, n_out, align)
    if align == "centers":
        centres = np.full(n_out, step)
        centres[0] = 0.5 * step
        return np.cumsum(centres) - 0.5, step
    if n_out == 1:
        return np.zeros(1), step
    j = np.arange(n_out, dtype=np.float64)
    return j * (n_in - 1) / (n_out - 1), step


def map_index(i, n, boundary):
    """Map integer positions ``i`` to in-range indices for the index-remapping boundaries."""
    if boundary == "edge":
        return np.clip(i, 0, n - 1)
    if boundary == "wrap":
        return np.mod(i, n)
    if boundary == "reflect":           # cba|abcd|dcb, period 2n
        m = np.mod(i, 2 * n)
        return np.where(m < n, m, 2 * n - 1 - m)
    if boundary == "mirror":            # dcb|abcd|cba, period 2n - 2
        if n == 1:
            return np.zeros_like(i)
        m = np.mod(i, 2 * n - 2)
        return np.where(m < n, m, 2 * n - 2 - m)
    raise AssertionError(boundary)


def _fold_positions(x, n, support, boundary):
    """Bring far-away positions near the image without changing what they sample."""
    if boundary in ("edge", "constant", "truncate"):
        return np.clip(x, -support - 1.0, n + support)
    period = {"wrap": n, "reflect": 2 * n, "mirror": max(2 * n - 2, 1)}.get(boundary)
    if period is not None:
        return np.mod(x, period)
    return np.clip(x, -2.0**40, 2.0**40)   # extrapolate: keep the integer tap indices finite


def table_width(n_in, n_out, method: Method, align, boundary, antialias):
    """Taps per output of a resize table along one axis as :func:`compute_taps` builds it
    (before merging): for estimating memory before any table is made."""
    step = output_step(n_in, n_out, align)
    stretch = max(1.0, step) if (antialias and method.antialias) else 1.0
    width = int(np.ceil(2.0 * method.support * stretch)) + 2
    return 2 * width if boundary == "extrapolate" else width


def output_step(n_in, n_out, align):
    """The spacing of the output positions in input pixels (see :func:`output_positions`)."""
    if align == "centers":
        return n_in / n_out
    return float(n_in) if n_out == 1 else (n_in - 1) / (n_out - 1)


def compute_taps(x, n, method: Method, stretch, boundary, xp=np):
    """Tap table for sampling an axis of ``n`` samples at positions ``x`` (input pixel units).

    ``stretch >= 1`` widens the kernel by that factor (antialiasing when shrinking).
    ``xp``: the array module of ``x``.  With NumPy the table is compacted (taps merged per
    index, zero weights dropped); with another (CuPy: tables made on the device) it is not:
    every row has the full width, duplicate indices and zero weights included, which the
    kernels skip.
    """
    x = xp.asarray(x, dtype=np.float64).ravel()
    support = method.support * stretch
    x = _fold_positions(x, n, support, boundary)
    width = int(np.ceil(2.0 * support)) + 2
    index = xp.floor(x - support).astype(np.int64)[:, None] + xp.arange(width)
    weight = method.kernel((index - x[:, None]) / stretch)
    total = weight.sum(axis=1, keepdims=True)
    weight = weight / xp.where(total == 0.0, 1.0, total)

    fill_weight = xp.zeros(len(x))
    outside = (index < 0) | (index >= n)
    if boundary == "truncate":
        # Pillow, and torch with antialias=True: the taps outside are dropped and the others
        # renormalised; a sample with no tap inside takes the fill value.
        weight = xp.where(outside, 0.0, weight)
        total = weight.sum(axis=1, keepdims=True)
        weight = weight / xp.where(total == 0.0, 1.0, total)
        fill_weight = xp.where(total[:, 0] == 0.0, 1.0, 0.0)
        index = xp.clip(index, 0, n - 1)
    elif boundary == "constant":
        fill_weight = xp.where(outside, weight, 0.0).sum(axis=1)
        weight = xp.where(outside, 0.0, weight)
        index = xp.clip(index, 0, n - 1)
    elif boundary == "extrapolate" and n > 1:
        # Linear through the two edge samples: a[-d] = (1 + d) a[0] - d a[1], d > 0 the overshoot.
        low = index < 0
        over = xp.where(low, -index, index - (n - 1)) * outside
        edge = xp.where(low, 0, n - 1)
        inner = xp.where(low, 1, n - 2)
        index = xp.concatenate([xp.where(outside, edge, index), xp.where(outside, inner, 0)], 1)
        weight = xp.concatenate([weight * (1 + over), -weight * over], 1)
    else:
        index = map_index(index, n, "edge" if boundary == "extrapolate" else boundary)
    if xp is not np:
        return Taps(index, weight, xp.full(len(x), index.shape[1], np.int64), fill_weight)
    return _compact(index, weight, fill_weight)


def _compact(index, weight, fill_weight):
    """Merge taps that read the same index, drop zero weights, sort by index, pad to a table."""
    index = np.ascontiguousarray(index, np.int64)
    weight = np.ascontiguousarray(weight, np.float64)
    out_index, out_weight = np.empty_like(index), np.empty_like(weight)
    count = np.empty(len(index), np.int64)
    # Per row: weights of one index summed, sorted by index, zeros dropped (the C++ engine).
    width = max(1, _core.merge_rows(index, weight, out_index, out_weight, count))
    return Taps(out_index[:, :width].copy(), out_weight[:, :width].copy(), count,
                np.asarray(fill_weight, np.float64))


class LRU:
    """A small thread-safe map that forgets its least recently used entries beyond ``size``."""

    def __init__(self, size):
        self.size = size
        self.entries = collections.OrderedDict()
        self.lock = threading.Lock()

    def get(self, key):
        with self.lock:
            value = self.entries.get(key)
            if value is not None:
                self.entries.move_to_end(key)
            return value

    def put(self, key, value):
        with self.lock:
            self.entries[key] = value
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)


_RESIZE_TABLES = LRU(32)
CACHED_TAPS = 1 << 20       # tables up to this many taps (16 MiB) are kept


def resize_taps(n_in, n_out, method: Method, align, boundary, antialias):
    """Tap table for resizing one axis from ``n_in`` to ``n_out`` samples.  Tables of up to
    CACHED_TAPS taps are cached: a batch of images of one size computes its tables once (and
    the GPU engine uploads them once), so the tables returned are shared and must not be
    changed."""
    key = (n_in, n_out, method, align, boundary, antialias)
    taps = _RESIZE_TABLES.get(key)
    if taps is None:
        taps = _resize_taps(n_in, n_out, method, align, boundary, antialias)
        if taps.index.size <= CACHED_TAPS:
            _RESIZE_TABLES.put(key, taps)
    return taps


TAPS_CHUNK = 1 << 16         # outputs whose taps are computed at once (bounds temporaries)


def _resize_taps(n_in, n_out, method: Method, align, boundary, antialias):
    x, step = output_positions(n_in, n_out, align)
    stretch = max(1.0, step) if (antialias and method.antialias) else 1.0
    if n_out <= TAPS_CHUNK:
        return compute_taps(x, n_in, method, stretch, boundary)
    # In chunks: the temporaries of compute_taps are several times the table's size.
    parts = [compute_taps(x[s:s + TAPS_CHUNK], n_in, method, stretch, boundary)
             for s in range(0, n_out, TAPS_CHUNK)]
    width = max(p.index.shape[1] for p in parts)
    index = np.zeros((n_out, width), np.int64)
    weight = np.zeros((n_out, width), np.float64)
    for s, p in zip(range(0, n_out, TAPS_CHUNK), parts):
        index[s:s + p.n_out, :p.index.shape[1]] = p.index
        weight[s:s + p.n_out, :p.index.shape[1]] = p.weight
    return Taps(index, weight, np.concatenate([p.count for p in parts]),
                np.concatenate([p.fill_weight for p in parts]))


def normalized_to_pixels(u, n, align):
    """Convert ``[-1, 1]`` coordinates (grid_sample convention) to pixel units along an axis of ``n``.

    ``corners``: -1 and 1 are the centres of the first and last pixels, ``x = (u + 1) / 2 * (n - 1)``.
    ``centers``: -1 and 1 are the outer edges, ``x = ((u + 1) * n - 1) / 2``.
    """
    if align == "corners":
        return (u + 1.0) * 0.5 * (n - 1)
    return ((u + 1.0) * n - 1.0) * 0.5


def validate_fill(fill):
    try:
        return float(fill)
    except (TypeError, ValueError):
        raise ResampleError(f"fill must be a number, got {excerpt(fill)}") from None
