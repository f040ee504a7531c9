"""Point-cloud CSV files (docs/conventions.md): ``x, y``, then 1, 3 or 4 values, then optional sigma.

- Comma or tab separated; a line starting with ``#`` is a comment; blank lines are skipped.
- An optional header names the columns: ``x,y`` first, then ``v`` or ``r,g,b`` or ``r,g,b,a``,
  then optionally ``sigma``, ``sigma_x,sigma_y``, or ``sigma_x,sigma_y,theta`` (a steered
  Gaussian: its axes and their rotation, radians from the x axis towards y).  Without a header the columns are ``x,y``
  and 1, 3 or 4 values.
- Coordinates are (x, y) = (column, row) in pixels of the frame (pixel [i, j] has its centre
  at x = j, y = i); values are in the output's sample range (0-255 for 8-bit output).
- The frame: a comment line ``# frame: WxH`` before the header names the image the
  coordinates belong to (``resample points`` and ``resample fit`` write it).
- Bad rows are refused with their line number.
"""

from __future__ import annotations

import io
import math
import os
import re
import warnings
from dataclasses import dataclass

import numpy as np

from ..errors import ResampleError, excerpt
from ..spec.geometry import MAX_SIDE
from ..spec.memory import check_memory
from .files import atomic_output, not_a_file

VALUE_HEADERS = {1: ("v",), 3: ("r", "g", "b"), 4: ("r", "g", "b", "a")}
SIGMA_HEADERS = {0: (), 1: ("sigma",), 2: ("sigma_x", "sigma_y"),
                 3: ("sigma_x", "sigma_y", "theta")}
COORDS = ("pixel", "unit", "normalized")


@dataclass
class PointCloud:
    """xy (N, 2) as (x, y); values (N, C); sigma None, (N,) or (N, 2); frame (W, H) or None."""

    xy: np.ndarray
    values: np.ndarray
    sigma: np.ndarray | None = None
    frame: tuple | None = None


_FRAME = re.compile(r"^#\s*frame\s*:(.*)$", re.IGNORECASE)
_FRAME_SIZE = re.compile(r"^\s*(\d{1,10})\s*x\s*(\d{1,10})\s*$", re.IGNORECASE)


def _frame(stripped, where):
    """(W, H) from a ``# frame: WxH`` comment, None for another comment."""
    m = _FRAME.match(stripped)
    if m is None:
        return None

    size = _FRAME_SIZE.match(m.group(1))
    if size is None or not all(1 <= int(v) <= MAX_SIDE for v in size.groups()):
        raise ResampleError(f"{where}: the frame must read '# frame: WxH' with W and H from 1 "
                            f"to {MAX_SIDE}, not {excerpt(stripped)}")
    return int(size.group(1)), int(size.group(2))


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
                        "r,g,b or r,g,b,a, then optionally sigma, sigma_x,sigma_y or "
                        "sigma_x,sigma_y,theta")


def _is_number(text):
    try:
        float(text)
        return True
    except ValueError:
        return False


MAX_LINE = 1 << 16            # characters a line may hold (a point is a few dozen)
CHUNK_LINES = 1 << 17         # lines parsed at once by NumPy's C parser


def read_csv(path) -> PointCloud:
    """Read a point-cloud CSV; raise :class:`ResampleError` naming the file and line.

    The numbers are parsed by NumPy's C parser (``loadtxt``) in chunks of lines; a chunk that
    it refuses, or whose values break a rule, is read again line by line to name the first
    bad line.  Memory is checked from the file's size before parsing, and no line longer than
    MAX_LINE is read into an error."""

    path = os.fspath(path)
    try:
        why = not_a_file(path)              # a device or pipe: no size to check it by
        if why and os.path.exists(path):
            raise ResampleError(f"{path}: {why}")
        size = os.path.getsize(path)
        check_memory(2 * size, f"reading {path}")
        with open(path, "rb") as f:
            raw = f.read(size + 1)
        if len(raw) > size:
            raise ResampleError(f"{path}: it grew while it was read")
    except FileNotFoundError:
        raise ResampleError(f"{path}: no such file") from None
    except OSError as exc:
        raise ResampleError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]                                     # a UTF-8 byte-order mark
    ends = np.flatnonzero(np.frombuffer(raw, np.uint8) == 10)
    if not raw.endswith(b"\n"):
        ends = np.append(ends, len(raw))
    starts = np.concatenate([[0], ends[:-1] + 1])
    lengths = ends - starts
    if len(lengths) and lengths.max() > MAX_LINE:
        line = int(np.argmax(lengths > MAX_LINE)) + 1
        raise ResampleError(f"{path}: line {line}: longer than {MAX_LINE} characters")
    check_memory(8 * len(ends) * 12, f"reading the {len(ends)} lines of {path}")
    # The head: comments and blank lines, then a header or the first row.
    layout = delimiter = frame = None
    first = len(ends)
    for number in range(len(ends)):
        text = _line(raw, starts[number], ends[number], path, number + 1)
        stripped = text.strip()
        if stripped.startswith("#"):
            found = _frame(stripped, f"{path}: line {number + 1}")
            if found is not None:
                if frame is not None and found != frame:
                    raise ResampleError(f"{path}: line {number + 1}: a second, different frame")
                frame = found
            continue
        if not stripped:
            continue
        delimiter = "\t" if "\t" in stripped else ","
        fields = [f.strip() for f in stripped.split(delimiter)]
        where = f"{path}: line {number + 1}"
        if not _is_number(fields[0]):
            layout = _header_layout(fields, where)
            first = number + 1
        else:
            if len(fields) - 2 not in VALUE_HEADERS:
                raise ResampleError(f"{where}: expected x,y and 1, 3 or 4 values "
                                    f"(or a header), got {len(fields)} fields")
            layout = (len(fields) - 2, 0)
            first = number
        break
    if layout is None:
        raise ResampleError(f"{path}: no points")
    width = 2 + sum(layout)
    parts = []
    for lo in range(first, len(ends), CHUNK_LINES):
        hi = min(lo + CHUNK_LINES, len(ends))
        chunk = raw[starts[lo]:ends[hi - 1]]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")       # "input contained no data"
                data = np.loadtxt(io.BytesIO(chunk), delimiter=delimiter, comments="#",
                                  dtype=np.float64, ndmin=2, encoding="utf-8")
        except (ValueError, UnicodeDecodeError):
            data = None
        if data is None or (data.size and (data.shape[1] != width or not _valid(data, layout))):
            _check_lines(raw, starts, ends, lo, hi, delimiter, width, layout, path)
            raise ResampleError(f"{path}: lines {lo + 1}-{hi}: cannot be read")
        if data.size:
            parts.append(data)
    if not parts:
        raise ResampleError(f"{path}: no points" + (" (only a header)" if first else ""))
    data = np.concatenate(parts) if len(parts) > 1 else parts[0]
    n_values, n_sigma = layout
    sigma = None
    if n_sigma:
        sigma = data[:, 2 + n_values:]
        sigma = sigma[:, 0] if n_sigma == 1 else sigma
    return PointCloud(data[:, :2], data[:, 2:2 + n_values], sigma, frame)


def _line(raw, start, end, path, number):
    try:
        return raw[start:end].decode("utf-8")
    except UnicodeDecodeError:
        raise ResampleError(f"{path}: line {number}: not UTF-8 text") from None


def _valid(data, layout):
    """Whether parsed rows keep the rules: finite, coordinates in range, sigma above 0."""
    n_values, n_sigma = layout
    axes = data[:, 2 + n_values:2 + n_values + min(n_sigma, 2)]
    return bool(np.isfinite(data).all() and (np.abs(data[:, :2]) <= 1e15).all()
                and (axes > 0).all())


def _check_lines(raw, starts, ends, lo, hi, delimiter, width, layout, path):
    """Read lines ``lo``..``hi`` one by one; raise the error of the first bad one."""
    for number in range(lo, hi):
        stripped = _line(raw, starts[number], ends[number], path, number + 1).strip()
        if not stripped or stripped.startswith("#"):
            continue
        where = f"{path}: line {number + 1}"
        fields = [f.strip() for f in stripped.split(delimiter)]
        if len(fields) != width:
            raise ResampleError(f"{where}: expected {width} fields, got {len(fields)}")
        try:
            row = [float(f) for f in fields]
        except ValueError:
            bad = next(f for f in fields if not _is_number(f))
            raise ResampleError(f"{where}: {excerpt(bad)} is not a number") from None
        if not all(math.isfinite(v) for v in row):
            raise ResampleError(f"{where}: NaN or infinite value")
        if layout[1] and min(row[2 + layout[0]:2 + layout[0] + min(layout[1], 2)]) <= 0:
            raise ResampleError(f"{where}: sigma must be above 0")
        if any(abs(v) > 1e15 for v in row[:2]):
            raise ResampleError(f"{where}: coordinate out of range")


def to_pixels(xy, coords, size):
    """Convert (x, y) from ``coords`` (pixel, unit [0, 1], normalized [-1, 1]) to pixels of an
    image of ``size`` = (W, H); unit and normalized span the image's outer edges."""
    if coords == "pixel":
        return xy
    if size is None:
        raise ResampleError(f"--coords {coords} needs a frame (a '# frame: WxH' line, or "
                            "--size WxH)")
    unit = xy if coords == "unit" else (xy + 1.0) / 2.0
    return unit * np.asarray(size, np.float64) - 0.5


def onto_output(xy, sigma, frame, out_size):
    """Points of a ``frame`` (W, H) mapped onto an output of ``out_size`` as a resize maps
    pixels (align centers): ``x_out = (x + 0.5) * W_out / W - 0.5``, the same for y; sigma
    (None, (N,) or (N, 2), in frame pixels) is scaled per axis, so an isotropic sigma becomes
    (N, 2) when the axes scale differently."""
    scale = np.asarray(out_size, np.float64) / np.asarray(frame, np.float64)
    if np.all(scale == 1.0):
        return xy, sigma
    xy = (xy + 0.5) * scale - 0.5
    if sigma is not None:
        s = np.asarray(sigma, np.float64)
        if s.ndim == 2 and s.shape[1] == 3:
            sigma = _scaled_steered(s, scale)
        elif s.ndim == 1 and scale[0] == scale[1]:
            sigma = s * scale[0]
        else:
            sigma = (s[:, None] if s.ndim == 1 else s) * scale
    return xy, sigma


def _scaled_steered(sigma, scale):
    """Steered Gaussians (sx, sy, theta) (N, 3) with their covariance scaled by ``scale``
    (kx, ky) per axis: S Sigma S, taken apart again into axes and a rotation."""
    sx, sy, theta = sigma.T
    if scale[0] == scale[1]:
        return np.column_stack([sx * scale[0], sy * scale[0], theta])
    c, s = np.cos(theta), np.sin(theta)
    kx, ky = scale
    a = ((c * sx) ** 2 + (s * sy) ** 2) * kx * kx             # the covariance's xx
    b = c * s * (sx * sx - sy * sy) * kx * ky                  # xy
    d = ((s * sx) ** 2 + (c * sy) ** 2) * ky * ky              # yy
    half, radius = (a + d) / 2, np.hypot((a - d) / 2, b)
    return np.column_stack([np.sqrt(half + radius), np.sqrt(np.maximum(half - radius, 0.0)),
                            0.5 * np.arctan2(2 * b, a - d)])


def size_from_points(xy):
    """The smallest (W, H) whose pixel grid holds every point at or after the origin."""
    top = np.floor(np.max(xy, axis=0) + 0.5).astype(np.int64) + 1
    return int(max(top[0], 1)), int(max(top[1], 1))


def write_csv(path, xy, values, sigma=None, frame=None):
    """Write points with a header, atomically (a temporary name, then a rename); ``frame``
    (W, H), the image the coordinates belong to, goes first as ``# frame: WxH``."""
    values = np.asarray(values, np.float64).reshape(len(xy), -1)
    header = ["x", "y", *VALUE_HEADERS[values.shape[1]]]
    columns = [np.asarray(xy, np.float64), values]
    if sigma is not None:
        sigma = np.asarray(sigma, np.float64).reshape(len(xy), -1)
        header += SIGMA_HEADERS[sigma.shape[1]]
        columns.append(sigma)
    data = np.concatenate(columns, axis=1)

    try:
        with atomic_output(path, binary=False) as f:
            if frame is not None:
                f.write(f"# frame: {int(frame[0])}x{int(frame[1])}\n")
            f.write(",".join(header) + "\n")
            np.savetxt(f, data, delimiter=",", fmt="%.6g")
    except OSError as exc:
        raise ResampleError(f"{path}: cannot write ({exc.strerror or exc})") from None
