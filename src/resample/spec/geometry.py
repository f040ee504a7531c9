"""Output sizes: ImageMagick geometry, scale factors, and the default output name.  Sizes are
(width, height) here, as on the command line.  No NumPy (the plain job uses it)."""

from __future__ import annotations

import math
import os
import re
from fractions import Fraction
from typing import NamedTuple

from ..errors import ResampleError, excerpt

_NUMBER = r"\d+(?:\.\d*)?"
_GEOMETRY = re.compile(rf"^\s*(?P<w>{_NUMBER})?(?P<wp>%)?(?:x(?P<h>{_NUMBER})?(?P<hp>%)?)?"
                       r"(?P<flags>[!^<>]*)\s*$", re.IGNORECASE)
GEOMETRY_FORMS = "WxH, WxH!, WxH^, WxH>, WxH<, Wx, xH, N% or W%xH%"


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


class Geometry(NamedTuple):
    """``--size``, parsed once (:meth:`parse`): ImageMagick geometry.  ``WxH`` fits inside
    (aspect kept), ``WxH^`` fills it (aspect kept, both sides at least W and H), ``WxH!`` is
    exact, ``Wx``/``W`` and ``xH`` set one side, ``N%`` scales both sides, ``W%xH%`` (or
    ``WxH%``) each.  Then ``>`` only shrinks (a side larger than the computed one is
    reduced; an image already within it is left as it is) and ``<`` only enlarges, per side,
    as ImageMagick's ParseMetaGeometry does.  Sides are (width, height)."""

    text: str
    width: object = None           # int pixels, or a Fraction percent when ``percent``
    # (A named tuple, not a dataclass: see spec/options.py.)
    height: object = None
    percent: bool = False
    flags: str = ""

    @classmethod
    def parse(cls, text):
        """The geometry ``text`` means, or a one-line ResampleError: everything that does not
        depend on an image's size is checked here, once."""
        if isinstance(text, Geometry):
            return text
        m = _GEOMETRY.match(text or "")
        flags = m.group("flags") if m else ""
        if (not m or not (m.group("w") or m.group("h"))
                or len(flags) != len(set(flags)) or ("!" in flags and "^" in flags)
                or ("<" in flags and ">" in flags)):
            raise ResampleError(f"--size {excerpt(text)} is not {GEOMETRY_FORMS}")
        w, h = m.group("w"), m.group("h")
        if len(w or "") > 15 or len(h or "") > 15:    # (beyond any side, and any int())
            raise ResampleError(f"--size {excerpt(text)}: a side may be at most {MAX_SIDE} "
                                "pixels")
        if m.group("wp") or m.group("hp"):             # percentages: N%, W%xH%, WxH%
            if (w is None) or (h is None and m.group("hp")) or ("!" in flags or "^" in flags):
                raise ResampleError(f"--size {excerpt(text)} is not {GEOMETRY_FORMS}")
            px = Fraction(w)
            py = Fraction(h) if h is not None else px
            if px <= 0 or py <= 0:
                raise ResampleError(f"--size {excerpt(text)} must be above 0%")
            return cls(text, px, py, True, flags)
        if (w and "." in w) or (h and "." in h):
            factor = w if h is None and not flags else None
            hint = f" (a factor is --scale {factor})" if factor else ""
            raise ResampleError(f"--size {excerpt(text)}: sizes are whole pixels{hint}")
        w = int(w) if w else None
        h = int(h) if h else None
        if (w is not None and w < 1) or (h is not None and h < 1):
            raise ResampleError(f"--size {excerpt(text)} needs sizes of at least 1")
        if (w or 0) > MAX_SIDE or (h or 0) > MAX_SIDE:
            raise ResampleError(f"--size {excerpt(text)}: a side may be at most {MAX_SIDE} "
                                "pixels")
        if ("!" in flags or "^" in flags) and not (w and h):
            raise ResampleError(f"--size {excerpt(text)}: ! and ^ need both sides "
                                "(WxH! or WxH^)")
        return cls(text, w, h, False, flags)

    def __str__(self):
        return self.text

    @property
    def only_if(self):
        """True when it may leave an image as it is (``>`` or ``<``)."""
        return ">" in self.flags or "<" in self.flags

    @property
    def exact(self):
        """(width, height) for a plain ``WxH`` or ``WxH!`` (the size a point cloud is rebuilt
        at), else None."""
        if self.percent or not (self.width and self.height) or self.flags not in ("", "!"):
            return None
        return self.width, self.height

    def size(self, width, height):
        """The output (width, height) of an input of ``width`` x ``height``."""
        if width < 1 or height < 1:
            raise ResampleError(f"an image of {width}x{height} pixels has nothing to resize")
        w, h, flags = self.width, self.height, self.flags
        if self.percent:
            out = percent_side(width, w, self.text), percent_side(height, h, self.text)
        elif w and h:
            if "!" in flags:
                out = w, h
            else:
                s = (max if "^" in flags else min)(w / width, h / height)
                out = scaled_side(width, s), scaled_side(height, s)
                if "^" not in flags:                 # fit inside: never past W or H
                    out = min(w, out[0]), min(h, out[1])
        elif w:
            out = w, scaled_side(height, w / width)
        else:
            out = scaled_side(width, h / height), h
        if ">" in flags:
            out = min(out[0], width), min(out[1], height)
        if "<" in flags:
            out = max(out[0], width), max(out[1], height)
        return out


def parse_geometry(text, width, height):
    """Output (width, height) for ImageMagick geometry ``text`` (see :class:`Geometry`) and an
    input of width x height."""
    return Geometry.parse(text).size(width, height)


def percent_side(n, percent, text=None):
    """``percent`` (a Fraction) of a side of ``n`` pixels, in exact arithmetic, halves
    rounded up, at least 1: ``29%`` of 50 is 14.5, so 15 (as ImageMagick's
    ``floor(p * n / 100 + 0.5)``; ``50 * 0.29`` in floating point is 14.499999999999998)."""
    x = percent * n / 100
    side = math.floor(x + Fraction(1, 2))
    if side > MAX_SIDE:
        raise ResampleError(f"--size {excerpt(text)} makes a side of {float(x):.3g} pixels, "
                            f"more than {MAX_SIDE}")
    return max(1, side)


def only_if(size):
    """True when geometry ``size`` (text or :class:`Geometry`) may leave an image as it is."""
    return bool(size) and Geometry.parse(size).only_if


# Input formats that are not written: their outputs take this extension unless one is given.
WRITTEN_AS = {".heic": ".jpg", ".heif": ".jpg"}


def default_output(path, method, size):
    """The output beside ``path`` when none is given: ``INPUT-METHOD-WxH.EXT`` (``method``: a
    name, or a Method; EXT the input's, or WRITTEN_AS's for a format not written)."""
    stem, ext = os.path.splitext(path)
    ext = WRITTEN_AS.get(ext.lower(), ext)
    return f"{stem}-{getattr(method, 'name', method)}-{size[0]}x{size[1]}{ext}"


def exact_size(size):
    """(width, height) for a plain ``WxH`` (text or :class:`Geometry`), else None."""
    if not size:
        return None
    try:
        return Geometry.parse(size).exact
    except ResampleError:
        return None


def jpeg_draft_scale(width, height, out_w, out_h):
    """1, 2 or 4: the factor a JPEG of ``width`` x ``height`` (as stored) is decoded smaller by
    (DCT scaling) for an output of ``out_w`` x ``out_h`` (as stored), the rest of the shrink
    then done by the resize.  Measured on 24 camera-sized photos against decoding every pixel
    (the same Lanczos resize after; benchmarks.batch, docs/benchmarks.md): 1/2 once the shrink
    is at least 4 (mean absolute difference at most 0.78 of a level), 1/4 once it is at least
    16 (at most 0.83); 1/4 from a shrink of 3.3 reached 1.05, and 1/8 1.5: never taken."""
    factor = min(width / max(out_w, 1), height / max(out_h, 1))
    return 4 if factor >= 16 else 2 if factor >= 4 else 1


PYRAMID_GAP = 2     # a pyramid level is read when it is at least twice the output a side


def pyramid_level(sizes, out_w, out_h):
    """The index in ``sizes`` ((width, height) of a pyramid's levels, the full size first) of
    the smallest level at least PYRAMID_GAP times the output on each side (0: the full
    size).  Measured on pyramids of 2x2 means from two photos, outputs 150 to 1400 wide,
    against the full size and the same Lanczos resize: within 0.5 of a level from a gap of 2
    (0.6 from 1.5, but 4.8 from the smallest level at least the output's size)."""
    fits = [k for k, (w, h) in enumerate(sizes)
            if w >= PYRAMID_GAP * out_w and h >= PYRAMID_GAP * out_h]
    return min(fits, key=lambda k: sizes[k][0]) if fits else 0

