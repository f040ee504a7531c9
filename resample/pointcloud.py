"""Point-cloud CSV files (DESIGN.md): ``x, y``, then 1, 3 or 4 values, then optional sigma.

- Comma or tab separated; a line starting with ``#`` is a comment; blank lines are skipped.
- An optional header names the columns: ``x,y`` first, then ``v`` or ``r,g,b`` or ``r,g,b,a``,
  then optionally ``sigma`` or ``sigma_x,sigma_y``.  Without a header the columns are ``x,y``
  and 1, 3 or 4 values.
- Coordinates are (x, y) = (column, row) in output pixels (pixel [i, j] has its centre at
  x = j, y = i); values are in the output's sample range (0-255 for 8-bit output).
- Bad rows are refused with their line number.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np

from .errors import ResampleError, excerpt

VALUE_HEADERS = {1: ("v",), 3: ("r", "g", "b"), 4: ("r", "g", "b", "a")}
SIGMA_HEADERS = {0: (), 1: ("sigma",), 2: ("sigma_x", "sigma_y")}
COORDS = ("pixel", "unit", "normalized")


@dataclass
class PointCloud:
    """xy (N, 2) as (x, y); values (N, C); sigma None, (N,) or (N, 2)."""

    xy: np.ndarray
    values: np.ndarray
    sigma: np.ndarray | None = None


def _header_layout(fields, where):
    names = [f.strip().lower() for f in fields]
    if names[:2] != ["x", "y"]:
        raise ResampleError(f"{where}: the header must start with x,y, not {','.join(fields[:2])}")
    rest = names[2:]
    for n_sigma, sigma_names in sorted(SIGMA_HEADERS.items(), reverse=True):
        if n_sigma and tuple(rest[-n_sigma:]) == sigma_names:
            rest = rest[:-n_sigma]
            break
    else:
        n_sigma = 0
    for n_values, value_names in VALUE_HEADERS.items():
        if tuple(rest) == value_names:
            return n_values, n_sigma
    raise ResampleError(f"{where}: unknown header {','.join(fields)}; expected x,y then v, "
                        "r,g,b or r,g,b,a, then optionally sigma or sigma_x,sigma_y")


def _is_number(text):
    try:
        float(text)
        return True
    except ValueError:
        return False


def read_csv(path) -> PointCloud:
    """Read a point-cloud CSV; raise :class:`ResampleError` naming the file and line."""
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8-sig") as f:
            text = f.read()
    except FileNotFoundError:
        raise ResampleError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ResampleError(f"{path}: cannot read ({exc})") from None
    rows, numbers = [], []
    layout = None
    delimiter = None
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if delimiter is None:
            delimiter = "\t" if "\t" in stripped else ","
        fields = [f.strip() for f in stripped.split(delimiter)]
        where = f"{path}: line {number}"
        if layout is None:
            if not _is_number(fields[0]):
                layout = _header_layout(fields, where)
                continue
            if len(fields) - 2 not in VALUE_HEADERS:
                raise ResampleError(f"{where}: expected x,y and 1, 3 or 4 values "
                                    f"(or a header), got {len(fields)} fields")
            layout = (len(fields) - 2, 0)
        width = 2 + layout[0] + layout[1]
        if len(fields) != width:
            raise ResampleError(f"{where}: expected {width} fields, got {len(fields)}")
        try:
            row = [float(f) for f in fields]
        except ValueError:
            bad = next(f for f in fields if not _is_number(f))
            raise ResampleError(f"{where}: {excerpt(bad)} is not a number") from None
        if not all(math.isfinite(v) for v in row):
            raise ResampleError(f"{where}: NaN or infinite value")
        if layout[1] and min(row[2 + layout[0]:]) <= 0:
            raise ResampleError(f"{where}: sigma must be above 0")
        if any(abs(v) > 1e15 for v in row[:2]):
            raise ResampleError(f"{where}: coordinate out of range")
        rows.append(row)
        numbers.append(number)
    if not rows:
        raise ResampleError(f"{path}: no points" + (" (only a header)" if layout else ""))
    data = np.array(rows, dtype=np.float64)
    n_values, n_sigma = layout
    sigma = None
    if n_sigma:
        sigma = data[:, 2 + n_values:]
        sigma = sigma[:, 0] if n_sigma == 1 else sigma
    return PointCloud(data[:, :2], data[:, 2:2 + n_values], sigma)


def to_pixels(xy, coords, size):
    """Convert (x, y) from ``coords`` (pixel, unit [0, 1], normalized [-1, 1]) to pixels of an
    image of ``size`` = (W, H); unit and normalized span the image's outer edges."""
    if coords == "pixel":
        return xy
    if size is None:
        raise ResampleError(f"--coords {coords} needs --size")
    unit = xy if coords == "unit" else (xy + 1.0) / 2.0
    return unit * np.asarray(size, np.float64) - 0.5


def size_from_points(xy):
    """The smallest (W, H) whose pixel grid holds every point at or after the origin."""
    top = np.floor(np.max(xy, axis=0) + 0.5).astype(np.int64) + 1
    return int(max(top[0], 1)), int(max(top[1], 1))


def grid_points(image, count):
    """``count`` points spread over a regular grid of cells of an (H, W[, C]) image: each at a
    cell's centre, with the image's value there (bilinear).  Returns (xy (N, 2), values (N, C))
    and the cell size (w, h) in pixels."""
    from .api import sample

    height, width = image.shape[:2]
    step = math.sqrt(width * height / count)
    nx = min(width, max(1, math.ceil(width / step)))
    ny = min(height, max(1, math.ceil(height / step)))
    while nx * ny < count:                       # rounding: grow the coarser side
        if width / nx >= height / ny:
            nx += 1
        else:
            ny += 1
    gx = (np.arange(nx) + 0.5) * width / nx - 0.5
    gy = (np.arange(ny) + 0.5) * height / ny - 0.5
    xy = np.stack(np.meshgrid(gx, gy), axis=-1).reshape(-1, 2)
    xy = xy[np.round(np.linspace(0, nx * ny - 1, count)).astype(np.int64)]   # evenly, exactly N
    values = sample(np.asarray(image, np.float64), xy).reshape(count, -1)
    return xy, values, (width / nx, height / ny)


def write_csv(path, xy, values, sigma=None):
    """Write points with a header, atomically (a temporary name, then a rename)."""
    values = np.asarray(values, np.float64).reshape(len(xy), -1)
    header = ["x", "y", *VALUE_HEADERS[values.shape[1]]]
    columns = [np.asarray(xy, np.float64), values]
    if sigma is not None:
        sigma = np.asarray(sigma, np.float64).reshape(len(xy), -1)
        header += SIGMA_HEADERS[sigma.shape[1]]
        columns.append(sigma)
    data = np.concatenate(columns, axis=1)
    from .images import file_mode, temporary_path

    folder = os.path.dirname(os.path.abspath(path))
    tmp = None
    try:
        tmp = temporary_path(folder)
        with open(tmp, "w") as f:
            f.write(",".join(header) + "\n")
            np.savetxt(f, data, delimiter=",", fmt="%.6g")
        os.chmod(tmp, file_mode())
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise ResampleError(f"{path}: cannot write ({exc.strerror or exc})") from None
        raise
