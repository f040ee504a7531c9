"""Nearest points: points bucketed into a grid of square cells for k-nearest searches.  Built
on either device's arrays (``xp``: NumPy or CuPy), so that both engines search the same grid
and find the same neighbours, ties included.  Points are ``(x, y)`` = (column, row),
float64."""

from __future__ import annotations

import math

import numpy as np

from ..compiled import core as _core


def host(a):
    """A NumPy copy of a CuPy array; NumPy arrays as they are."""
    return a.get() if hasattr(a, "get") and not isinstance(a, np.ndarray) else np.asarray(a)


# --- a uniform grid of buckets for nearest-neighbour queries ----------------------------------

def grid_layout(lo, hi, n):
    """Square cells for ``n`` points spanning ``lo``..``hi`` (x, y): ``(cell side, nx, ny)``.
    About one point a cell; a cell is at least 1/4096 of the longer side."""
    span = np.maximum(np.asarray(hi, np.float64) - np.asarray(lo, np.float64), 1e-9)
    cell = max(math.sqrt(span[0] * span[1] / n), float(span.max()) / 4096, 1e-9)
    nx, ny = (int(v) for v in np.minimum(np.floor(span / cell).astype(np.int64) + 1, 1 << 15))
    return cell, nx, ny


ROBUST_QUANTILE = 1e-3     # the grid spans the points between these quantiles ...
CELL_CROWD = 4             # ... in cells halved until the occupied ones hold this many ...
CELL_BUDGET = 4            # ... while there are at most this many cells a point
CROWDED_CELL = 64          # a cell holding more: the k-d tree searches (PointGrid.knn)


def bucket_order(keys, n_buckets):
    """``(order, start)``: the indices sorted stably by ``keys`` (ints in [0, n_buckets)), and
    where each bucket begins in ``order`` (n_buckets + 1).  A counting sort (the C++ engine)."""
    keys = np.ascontiguousarray(keys, np.int64)
    order = np.empty(len(keys), np.int64)
    start = np.empty(n_buckets + 1, np.int64)
    _core.bucket_order(keys, order, start)
    return order, start


class PointGrid:
    """Points bucketed into square cells of about one point each, for k-nearest queries.
    ``xp``: the array module of the points (CuPy: the grid is built on the device, for the
    GPU engine's search, resample.engines.gpu.knn)."""

    def __init__(self, xy, xp=np):
        xy = xp.ascontiguousarray(xy, dtype=np.float64)
        n = len(xy)
        # The grid spans all but the outermost points (one far point must not make every
        # cell huge); points beyond it go into its border cells, which the searches allow.
        q = ROBUST_QUANTILE if n > 1000 else 0.0
        lo = host(xp.quantile(xy, q, axis=0)) if q else host(xy.min(axis=0))
        hi = host(xp.quantile(xy, 1 - q, axis=0)) if q else host(xy.max(axis=0))
        cell, nx, ny = grid_layout(lo, hi, n)
        for _ in range(8):      # clustered points: finer cells until few share one
            key = self._keys(xy, lo, cell, nx, ny, xp)
            counts = xp.bincount(key, minlength=nx * ny)
            crowd = n / int(xp.count_nonzero(counts))
            finer = cell / 2, *(min(2 * m, 1 << 15) for m in (nx, ny))
            if crowd <= CELL_CROWD or finer[1] * finer[2] > CELL_BUDGET * n + 64:
                break
            cell, nx, ny = finer
        else:                   # refined to the end: the keys of the last cells
            key = self._keys(xy, lo, cell, nx, ny, xp)
            counts = xp.bincount(key, minlength=nx * ny)
        if xp is np:
            self.order, self.start = bucket_order(key, nx * ny)
        else:
            self.order = xp.ascontiguousarray(xp.argsort(key, kind="stable"), dtype=np.int64)
            self.start = xp.zeros(nx * ny + 1, np.int64)
            self.start[1:] = xp.cumsum(counts)
        self.xy, self.lo, self.cell, self.shape = xy, lo, cell, (nx, ny)
        self.cell_xy = xp.ascontiguousarray(xy[self.order])      # the points, cell by cell
        # Points crowding a cell (coincident, or clustered finer than the cells go) would be
        # scanned by every query near it: such clouds are searched through a k-d tree.
        self.crowded = bool(counts.size) and int(counts.max()) > CROWDED_CELL

    @staticmethod
    def _keys(xy, lo, cell, nx, ny, xp):
        cx = xp.clip(xp.floor((xy[:, 0] - lo[0]) / cell), 0, nx - 1).astype(np.int64)
        cy = xp.clip(xp.floor((xy[:, 1] - lo[1]) / cell), 0, ny - 1).astype(np.int64)
        return cy * nx + cx

    def knn(self, queries, k, exclude_self=False):
        """Squared distances and indices of the ``k`` nearest points, each sorted ascending."""
        q = np.ascontiguousarray(queries, np.float64)
        k = min(k, len(self.xy) - (1 if exclude_self else 0))
        d2 = np.empty((len(q), k))
        idx = np.empty((len(q), k), np.int64)
        if self.crowded:
            _core.kd_knn(self.xy, q, bool(exclude_self), d2, idx)
            return d2, idx
        nx, ny = self.shape
        visit, _ = bucket_order(self._keys(q, self.lo, self.cell, nx, ny, np), nx * ny)
        _core.knn(self.cell_xy, self.order, self.start, float(self.lo[0]), float(self.lo[1]),
                  float(self.cell), int(nx), int(ny), q, visit, bool(exclude_self), d2, idx)
        return d2, idx
