"""A resize's tap table along one axis, decided here once, without NumPy: where the outputs
sit in the input (the alignment), how far the kernel is stretched (antialiasing), and the
taps the compiled engine computes from them (kernels/common/taps.h).  The API's tables
(resample.spec.taps, NumPy arrays) and the plain job's (resample.jobs.plain, Python arrays)
both come from these functions.

Positions are in input pixel units along the axis: the centre of input sample ``i`` is at
``x = i``, and the axis covers ``[-0.5, n - 0.5]`` (docs/conventions.md).
"""

from __future__ import annotations

import collections
import threading
from array import array
from typing import NamedTuple

from ..compiled import core as _core
from .methods import BOUNDARY_IDS, Method, taps_width


def output_step(n_in, n_out, align):
    """The spacing of the output positions in input pixels (see :func:`output_positions`)."""
    if align == "centers":
        return n_in / n_out
    return float(n_in) if n_out == 1 else (n_in - 1) / (n_out - 1)


def output_positions(n_in, n_out, align, accumulate=False):
    """Input positions (an ``array('d')``) of the ``n_out`` output samples.

    ``centers``: ``x_j = (j + 0.5) * n_in / n_out - 0.5``, in float64 as Pillow computes it,
    so that exact ties of ``nearest`` and ``box`` fall the same way as in Pillow:
    ``accumulate`` (nearest) sums the centres in steps of ``n_in / n_out`` as Pillow's NEAREST
    does, otherwise each is ``(j + 0.5) * step`` as Pillow's filters do (the compiled
    ``centre_positions``).
    ``corners``: ``x_j = j * (n_in - 1) / (n_out - 1)`` (``0`` when ``n_out == 1``).
    """
    if align == "centers":
        positions = array("d", bytes(8 * n_out))
        _core.centre_positions(n_in, positions, bool(accumulate))
        return positions
    if n_out == 1:
        return array("d", [0.0])
    return array("d", (j * (n_in - 1) / (n_out - 1) for j in range(n_out)))


def stretch(n_in, n_out, method: Method, align, antialias):
    """How much the kernel is widened: the output step when shrinking with antialiasing (and
    a method that antialiases), else 1."""
    return max(1.0, output_step(n_in, n_out, align)) if (antialias and method.antialias) else 1.0


class AxisTable(NamedTuple):
    """One axis's taps, as Python arrays (row-major ``(n_out, widest)`` for ``index``, int64,
    and ``weight``, float64; ``count`` and ``fill_weight`` per output): see resample.spec.taps.Taps."""

    index: array
    weight: array
    count: array
    fill_weight: array
    widest: int


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


_AXIS_TABLES = LRU(32)
CACHED_TAPS = 1 << 20       # tables up to this many taps (16 MiB) are kept


def axis_table(n_in, n_out, method: Method, align, boundary, antialias, trim=True):
    """The :class:`AxisTable` of resizing an axis from ``n_in`` to ``n_out`` samples with a
    method of the compiled engine's (not a Python kernel: resample.spec.taps makes those).
    ``trim=False`` leaves the rows ``width`` wide (``len(index) // n_out``), padded after
    ``widest``: for a caller that trims them faster (NumPy's slices)."""
    x = output_positions(n_in, n_out, align, accumulate=method.name == "nearest")
    s = stretch(n_in, n_out, method, align, antialias)
    width = taps_width(method.support, s, BOUNDARY_IDS[boundary])
    index, weight = array("q", bytes(8 * n_out * width)), array("d", bytes(8 * n_out * width))
    count, fill = array("q", bytes(8 * n_out)), array("d", bytes(8 * n_out))
    widest = max(1, _core.taps(x, n_in, method.id, method.support, s, BOUNDARY_IDS[boundary],
                               _rows(index, n_out, width), _rows(weight, n_out, width), count,
                               fill))
    if trim and widest < width:               # the padding columns no output uses, dropped
        index, weight = _trim(index, n_out, width, widest), _trim(weight, n_out, width, widest)
    return AxisTable(index, weight, count, fill, widest)


def resize_table(n_in, n_out, method: Method, align, boundary, antialias):
    """:func:`axis_table`, trimmed, from a cache of the last tables of up to CACHED_TAPS taps
    (a folder of photos of one size builds its tables once); shared: not to be changed."""
    key = (n_in, n_out, method, align, boundary, antialias)
    table = _AXIS_TABLES.get(key)
    if table is None:
        table = axis_table(n_in, n_out, method, align, boundary, antialias)
        if len(table.index) <= CACHED_TAPS:
            _AXIS_TABLES.put(key, table)
    return table


def _rows(values, n_rows, width):
    """``values`` (a flat array) as a C-contiguous (n_rows, width) buffer for the engine."""
    return memoryview(values).cast("B").cast(values.typecode, (n_rows, width))


def _trim(values, n_rows, width, keep):
    """The first ``keep`` of each row of ``width`` values."""
    out = array(values.typecode, bytes(values.itemsize * n_rows * keep))
    for r in range(n_rows):
        out[r * keep:(r + 1) * keep] = values[r * width:r * width + keep]
    return out


# Tap tables larger than this (an extreme aspect ratio: --size 40000000x1!) are not built
# whole: the streamed resize builds them by range (resample.jobs.stream).
WHOLE_TABLE_BYTES = 256 << 20


def built_by_range(height, width, out_h, out_w, method: Method, align, boundary, antialias):
    """Whether resizing ``height`` x ``width`` to ``out_h`` x ``out_w`` has tap tables too
    large to build whole (WHOLE_TABLE_BYTES, at 24 bytes a tap as they are built and cut)."""
    taps = sum(m * taps_width(method.support, stretch(n, m, method, align, antialias),
                              BOUNDARY_IDS[boundary])
               for n, m in ((height, out_h), (width, out_w)))
    return 24 * taps > WHOLE_TABLE_BYTES
