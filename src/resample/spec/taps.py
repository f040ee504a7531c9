"""Tap tables: which input samples each output sample reads, with which weights.

Every engine applies a method through these tables, so positions, antialiasing and boundary
handling live here once.  Positions are in input pixel units along one axis, where the centre
of input sample ``i`` is at ``x = i`` and the axis covers ``[-0.5, n - 0.5]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..compiled import core as _core
from ..errors import ResampleError, excerpt, first_line
from .memory import check_memory
from . import tables
from .methods import BOUNDARY_IDS, Method, taps_width
from .tables import CACHED_TAPS, LRU, output_step

ALIGNS = ("centers", "corners")
BOUNDARIES = tuple(BOUNDARY_IDS)       # (kernels/common/taps.h's names, in their numbers' order)


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


def output_positions(n_in, n_out, align, accumulate=False):
    """Input positions of the ``n_out`` output samples (float64), and the spacing between
    them: resample.spec.tables.output_positions and output_step, as NumPy."""
    return (np.frombuffer(tables.output_positions(n_in, n_out, align, accumulate), np.float64),
            output_step(n_in, n_out, align))


def table_width(n_in, n_out, method: Method, align, boundary, antialias):
    """Taps per output of a resize table along one axis as :func:`compute_taps` builds it
    (before merging): for estimating memory before any table is made."""
    return taps_width(method.support, tables.stretch(n_in, n_out, method, align, antialias),
                      BOUNDARY_IDS[boundary])


def compute_taps(x, n, method: Method, stretch, boundary, merge=True):
    """Tap table for sampling an axis of ``n`` samples at positions ``x`` (input pixel units,
    a host array), compacted: taps merged per index, zero weights dropped, sorted by index.
    Without ``merge`` (a method built in), each position's taps as its window gives them,
    repeated indices included, zero weights dropped and the width not trimmed: for point
    sampling, where each row is used once and merging would cost more than it saves.

    ``stretch >= 1`` widens the kernel by that factor (antialiasing when shrinking).  The
    weights, boundaries and normalisation are kernels/common/taps.h's ``taps_one``, compiled for
    both engines (the GPU engine's tables made on the device: resample.engines.gpu.taps).
    """
    boundary_id = BOUNDARY_IDS[boundary]
    x = np.ascontiguousarray(x, dtype=np.float64).ravel()
    width = taps_width(method.support, stretch, boundary_id)
    index = np.empty((len(x), width), np.int64)
    weight = np.empty((len(x), width), np.float64)
    count = np.empty(len(x), np.int64)
    fill_weight = np.empty(len(x), np.float64)
    if method.custom:
        widest = max(1, _custom_taps(x, n, method, stretch, boundary_id, index, weight, count,
                                     fill_weight))
    else:
        widest = max(1, _core.taps(x, n, method.id, method.support, stretch, boundary_id,
                                   index, weight, count, fill_weight, bool(merge)))
    if widest < width and (merge or method.custom):
        index, weight = index[:, :widest].copy(), weight[:, :widest].copy()
    return Taps(index, weight, count, fill_weight)


@dataclass(frozen=True)
class SlopedTaps:
    """Per position ``p``, unmerged (repeated indices stay): ``out[p] = sum_{k < count[p]}
    weight[p,k] * in[index[p,k]] + fill_weight[p] * fill``, and ``slope``, ``fill_slope`` the
    derivatives of ``weight`` and ``fill_weight`` with respect to the position (in input
    pixels; from the right where the kernel has a kink).  NumPy arrays (the taps that neither
    weigh nor move dropped), or CuPy arrays where made on a GPU (every tap of the window)."""

    index: np.ndarray        # (n, T) int64
    weight: np.ndarray       # (n, T) float64
    slope: np.ndarray        # (n, T) float64
    fill_weight: np.ndarray  # (n,) float64
    fill_slope: np.ndarray   # (n,) float64
    count: np.ndarray        # (n,) int64: the taps used

    @property
    def n_out(self):
        return self.index.shape[0]


def sloped_width(method: Method, boundary):
    """Taps per position of point sampling's tables, without antialiasing (before merging;
    :func:`taps_with_slopes`' too)."""
    return taps_width(method.support, 1.0, BOUNDARY_IDS[boundary])


SLOPED_TAPS = _core.SLOPED_TAPS     # (kernels/common/taps.h): a window's taps with slopes


def check_sloped_width(method: Method, boundary):
    """:func:`sloped_width`, or a one-line refusal where the taps' slopes cannot be made: a
    kernel given as a Python function (its derivative is not known), or a window wider than
    the engines' tables with slopes hold (a built-in kernel given a wider support)."""
    if method.custom:
        raise ResampleError(f"method {excerpt(method.name)} is a Python function: its "
                            f"derivative is not known (the gradient with respect to the "
                            f"sampling points needs a built-in method)")
    width = sloped_width(method, boundary)
    if width > SLOPED_TAPS:
        raise ResampleError(f"method {excerpt(method.name)}: support {method.support} is too "
                            f"wide for the gradient with respect to the points (a window of "
                            f"{width} taps; at most {SLOPED_TAPS})")
    return width


def taps_with_slopes(x, n, method: Method, boundary):
    """The taps of sampling an axis of ``n`` at positions ``x`` (input pixels, a host array)
    without antialiasing, with their derivatives in ``x``: kernels/common/taps.h's
    ``taps_slopes_one``, compiled for both engines (on a GPU: resample.engines.gpu).  The
    methods built in only: a kernel given as a Python function has no derivative here."""
    width = check_sloped_width(method, boundary)
    x = np.ascontiguousarray(x, dtype=np.float64).ravel()
    check_memory(len(x) * (24 * width + 32), f"the tap tables of {len(x)} points")
    index = np.empty((len(x), width), np.int64)
    weight, slope = np.empty((len(x), width)), np.empty((len(x), width))
    fill, fill_slope = np.empty(len(x)), np.empty(len(x))
    count = np.empty(len(x), np.int64)
    _core.taps_slopes(x, n, method.id, method.support, BOUNDARY_IDS[boundary], index, weight,
                      slope, count, fill, fill_slope)
    return SlopedTaps(index, weight, slope, fill, fill_slope, count)


def kernel_values(method: Method, u, slope=False):
    """The kernel ``K(u)`` of ``method`` at the float64 array ``u`` (tap offsets in input
    pixels, unstretched): the compiled kernels/common/taps.h's, or the method's own function.
    With ``slope``, ``dK/du`` (from the left at kinks; built-in methods only)."""
    u = np.ascontiguousarray(u, dtype=np.float64)
    if method.custom and not slope:
        return np.asarray(method.id(u), dtype=np.float64)
    if method.custom:
        raise ResampleError(f"method {excerpt(method.name)}: no derivative for a Python kernel")
    out = np.empty_like(u)
    _core.method_weights(method.id, u, out, bool(slope))
    return out


def _custom_taps(x, n, method, stretch, boundary_id, index, weight, count, fill_weight):
    """The merged table of a kernel that is a Python function: the engine gives each tap's
    argument (kernels/common/taps.h's window, as for its own kernels), the function weighs them,
    and the engine normalises, applies the boundary and merges."""
    window = int(np.ceil(2.0 * method.support * stretch)) + 2
    u = np.empty((len(x), window))
    _core.tap_arguments(x, n, float(method.support), float(stretch), boundary_id, u)
    inside = np.isfinite(u)
    raw = np.zeros_like(u)
    try:
        values = kernel_values(method, u[inside])
    except Exception as exc:          # noqa: BLE001 (the user's function failed: one line)
        reason = first_line(exc, 90)
        raise ResampleError(f"method {excerpt(method.name)}: its kernel failed on an array "
                            f"(it must take and return NumPy arrays; {type(exc).__name__}: "
                            f"{reason})") from None
    if values.shape != (int(inside.sum()),) or not np.isfinite(values).all():
        raise ResampleError(f"method {excerpt(method.name)}: its kernel must return one finite "
                            f"weight per argument (a float64 array of the same shape)")
    raw[inside] = values
    return _core.taps_weighted(x, n, float(method.support), float(stretch), boundary_id, raw,
                               index, weight, count, fill_weight)


_RESIZE_TABLES = LRU(32)


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


def transposed(taps: Taps, n_in):
    """The adjoint of a table (a linear map from ``n_in`` samples to ``taps.n_out``): per input
    sample ``i``, the outputs that read it, with the same weights, so that resizing with it
    computes ``R^T g`` (the gradient of a resize; the fill term, a constant, has none).  The
    engines sum taps whose weights and fill weight sum to 1 (relative to a base, so that
    constants stay exact): each row's fill weight is what its weights leave of 1, and the fill
    value is 0.  An input that no output reads gets one tap of weight 0 and fill weight 1."""
    used = np.arange(taps.index.shape[1])[None, :] < taps.count[:, None]
    inputs = taps.index[used]
    outputs = np.broadcast_to(np.arange(taps.n_out)[:, None], taps.index.shape)[used]
    weights = taps.weight[used]
    order = np.argsort(inputs, kind="stable")
    count = np.bincount(inputs, minlength=n_in).astype(np.int64)
    width = max(1, int(count.max(initial=0)))
    check_memory(16 * n_in * width, f"the transposed tap table of {n_in} samples")
    start = np.cumsum(count) - count
    slot = np.arange(len(order)) - np.repeat(start, count)
    index = np.zeros((n_in, width), np.int64)
    weight = np.zeros((n_in, width), np.float64)
    index[inputs[order], slot] = outputs[order]
    weight[inputs[order], slot] = weights[order]
    return Taps(index, weight, np.maximum(count, 1), 1.0 - weight.sum(axis=1))


def stacked(taps: Taps, copies, n_in):
    """A table for ``copies`` axes of ``n_in`` samples laid end to end (planes stacked along
    the rows): copy ``p``'s outputs read only its own samples, ``p * n_in`` on, so that one
    resize of the stacked planes resizes each as the table would alone."""
    offset = (np.arange(copies, dtype=np.int64) * n_in)[:, None, None]
    index = (taps.index[None] + offset).reshape(-1, taps.index.shape[1])
    return Taps(index, np.tile(taps.weight, (copies, 1)), np.tile(taps.count, copies),
                np.tile(taps.fill_weight, copies))


TAPS_CHUNK = 1 << 16         # outputs whose taps are computed at once (bounds temporaries)


def _resize_taps(n_in, n_out, method: Method, align, boundary, antialias):
    stretch = tables.stretch(n_in, n_out, method, align, antialias)
    width = taps_width(method.support, stretch, BOUNDARY_IDS[boundary])
    # the positions; int64 indices and float64 weights: a chunk's as computed and compacted,
    # and the whole table
    check_memory(8 * n_out + 16 * width * (n_out + 2 * min(n_out, TAPS_CHUNK)),
                 f"the tap tables of {n_in} -> {n_out} samples ({width} taps each)")
    if n_out <= TAPS_CHUNK and not method.custom:     # the plain job's tables, as NumPy
        t = tables.axis_table(n_in, n_out, method, align, boundary, antialias, trim=False)
        index = np.frombuffer(t.index, np.int64).reshape(n_out, -1)
        weight = np.frombuffer(t.weight, np.float64).reshape(n_out, -1)
        if t.widest < index.shape[1]:
            index, weight = index[:, :t.widest].copy(), weight[:, :t.widest].copy()
        return Taps(index, weight, np.frombuffer(t.count, np.int64),
                    np.frombuffer(t.fill_weight, np.float64))
    x, _ = output_positions(n_in, n_out, align, accumulate=method.name == "nearest")
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
    except (TypeError, ValueError, RuntimeError):     # (RuntimeError: a torch tensor's)
        raise ResampleError(f"fill must be a number, got {excerpt(fill)}") from None


def sub_table(taps, start, stop):
    """The table of outputs [start, stop) reading from the input slice [lo, hi) it needs:
    ``(table with indices into the slice, lo, hi)`` (a resize done in blocks or strips:
    resample.dask, resample.jobs.stream)."""
    index = taps.index[start:stop]
    count = taps.count[start:stop]
    real = np.arange(index.shape[1]) < count[:, None]
    lo = int(index[real].min())
    hi = int(index[real].max()) + 1
    rebased = np.where(real, index - lo, 0)
    return (Taps(rebased, taps.weight[start:stop], count, taps.fill_weight[start:stop]),
            lo, hi)


# A table built by range is built for about this many taps at a time (about 12 MiB as built).
BLOCK_TAPS = 1 << 19


class RangePositions:
    """The input positions of an axis's outputs [o0, o1) (:func:`tables.output_positions`,
    the same values), for ranges asked in order (a table built by range: too large to build
    whole, :func:`tables.built_by_range`; resample.jobs.stream, resample.ops.resize);
    nearest's running sum (its centres accumulate as Pillow's NEAREST does) is carried from
    one range to the next, and restarted where a range starts again from the beginning."""

    def __init__(self, n_in, n_out, align, accumulate):
        self.n_in, self.n_out, self.align, self.accumulate = n_in, n_out, align, accumulate
        self.step = n_in / n_out
        self.next, self.centre = 0, None

    def take(self, o0, o1):
        j = np.arange(o0, o1, dtype=np.float64)
        if self.align != "centers":
            if self.n_out == 1:
                return np.zeros(o1 - o0)
            return j * (self.n_in - 1) / (self.n_out - 1)
        if not self.accumulate:
            return (j + 0.5) * self.step - 0.5
        if o0 != self.next:                         # from the beginning again
            self.next, self.centre = 0, None
            if o0 > 0:
                self.take(0, o0)
        if o1 <= o0:
            return j
        steps = np.full(o1 - o0, self.step)
        if self.centre is None:
            steps[0] = 0.5 * self.step
        else:
            steps[0] = self.centre + self.step
        centres = np.cumsum(steps)              # one sum after another, as the engine's loop
        self.next, self.centre = o1, float(centres[-1]) if len(centres) else self.centre
        return centres - 0.5
