"""Output sizes: ImageMagick geometry, scale factors, and the default output name.  Sizes are
(width, height) here, as on the command line.  No NumPy (the command's short path uses it)."""

from __future__ import annotations

import math
import os
import re

from .errors import ResampleError, excerpt

_GEOMETRY = re.compile(r"^\s*(?:(\d+(?:\.\d*)?)%|(\d+)?(?:x(\d+)?)?(!)?)\s*$", re.IGNORECASE)
_EXACT = re.compile(r"^\s*(\d+)x(\d+)!?\s*$")


MAX_SIDE = 2**31 - 1      # the longest side of an image, in pixels


def round_half_up(x):
    """Sizes round halves up, as ``resample.resize(scale=...)`` does: 4.5 -> 5."""
    return math.floor(x + 0.5)


def scaled_side(n, s):
    """An output side: ``n`` samples scaled by ``s``, halves rounded up, at least 1; a side
    beyond MAX_SIDE (or an overflow to infinity) is refused."""
    x = n * s
    if not x < MAX_SIDE:
        raise ResampleError(f"scale {s:g} makes a side of {x:.3g} pixels, more than {MAX_SIDE}")
    return max(1, round_half_up(x))


def parse_geometry(text, width, height):
    """Output (width, height) for ImageMagick geometry ``text`` and an input of width x height:
    ``WxH`` (fit inside, keep aspect), ``WxH!`` (exact), ``Wx``/``W``, ``xH``, ``N%``."""
    m = _GEOMETRY.match(text or "")
    if not m or not (m.group(1) or m.group(2) or m.group(3)):
        raise ResampleError(f"--size {excerpt(text)} is not WxH, WxH!, Wx, xH or N%")
    pct, w, h, exact = m.groups()
    if pct is not None:
        s = float(pct) / 100.0
        if s <= 0:
            raise ResampleError(f"--size {excerpt(text)} must be above 0%")
        return scaled_side(width, s), scaled_side(height, s)
    w = int(w) if w else None
    h = int(h) if h else None
    if (w is not None and w < 1) or (h is not None and h < 1):
        raise ResampleError(f"--size {excerpt(text)} needs sizes of at least 1")
    if (w or 0) > MAX_SIDE or (h or 0) > MAX_SIDE:
        raise ResampleError(f"--size {excerpt(text)}: a side may be at most {MAX_SIDE} pixels")
    if w and h:
        if exact:
            return w, h
        s = min(w / width, h / height)
        return (max(1, min(w, round_half_up(width * s))),
                max(1, min(h, round_half_up(height * s))))
    if w:
        return w, scaled_side(height, w / width)
    return scaled_side(width, h / height), h


def default_output(path, method, size):
    """The output beside ``path`` when none is given: ``INPUT-METHOD-WxH.EXT``."""
    stem, ext = os.path.splitext(path)
    return f"{stem}-{method}-{size[0]}x{size[1]}{ext}"


def exact_size(text):
    """(width, height) for a plain ``WxH`` (the size a point cloud is rebuilt at), else None."""
    m = _EXACT.match(text or "")
    if not m or int(m.group(1)) < 1 or int(m.group(2)) < 1:
        return None
    return int(m.group(1)), int(m.group(2))
