"""Resampling methods (and boundaries) as data: a 1-D kernel ``K(u)`` and its support radius.

``u`` is a distance in input pixels (after antialias stretching, in units of the stretched
sampling interval).  The kernels themselves are written once, in the shared kernel header
(``kernels/common/taps.h``, ``method_weight``), which both engines compile; a method names
its kernel by ``id``.  Every engine turns a method into tap tables through
:mod:`resample.spec.taps`.  This module imports no NumPy (the plain job uses it).
"""

from __future__ import annotations

import math
from typing import NamedTuple

from ..compiled import core as _core
from ..errors import ResampleError, excerpt


class Method(NamedTuple):
    """A separable resampling method.

    id:        the kernel's number in kernels/common/taps.h (METHOD_NEAREST ... METHOD_SHARPCUBIC),
               or a Python function ``K(u)`` (a float64 array of distances in input pixels
               in, an array of weights out) for a kernel of one's own:
               ``Method("keys75", my_kernel, 2.0)``.  Its tap tables come from the function
               (:func:`resample.spec.taps.compute_taps`); every engine then runs as usual.
    support:   the radius beyond which ``K`` is zero, in input pixels (before stretching).
    antialias: whether the kernel is stretched when shrinking (``False`` means point sampling).
    """

    name: str
    id: object
    support: float
    antialias: bool = True
    description: str = ""

    @property
    def custom(self):
        """Whether the kernel is a Python function (else a kernel of kernels/common/taps.h)."""
        return callable(self.id)


# The kernels' and boundaries' numbers come from the shared kernel header's one list of names
# (kernels/common/taps.h's METHOD_NAMES and BOUNDARY_NAMES, through the compiled engine).
_KERNEL_IDS = {name: i for i, name in enumerate(_core.method_names())}
BOUNDARY_IDS = {name: i for i, name in enumerate(_core.boundary_names())}


def _builtin(name, support, **kwargs):
    return Method(name, _KERNEL_IDS[name], support, **kwargs)


METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        _builtin("nearest", 0.5, antialias=False,
               description="nearest pixel, floor(x + 0.5); equals Pillow NEAREST"),
        _builtin("bilinear", 1.0, description="triangle kernel, support 1"),
        _builtin("bicubic", 2.0, description="Keys cubic, a = -0.5, support 2 (Pillow)"),
        _builtin("lanczos", 3.0, description="Lanczos, 3 lobes, support 3; exactly 0 at "
                                              "non-zero integers (an unchanged size is an "
                                              "identity)"),
        _builtin("gri", 1.5,
               description="3x3 quartic through segment midpoints, support 3/2; "
                           "rings less than bicubic, faster on float images"),
        _builtin("mitchell", 2.0,
               description="Mitchell-Netravali cubic, B = C = 1/3, support 2 (ImageMagick's "
                           "Mitchell): blurs a little, rings less than bicubic"),
        _builtin("sharpcubic", 2.0,
               description="Keys cubic, a = -0.75, support 2: OpenCV's INTER_CUBIC; sharper "
                           "than bicubic, and rings more"),
        _builtin("box", 0.5,
               description="box: when shrinking, the mean of the input pixels whose centres "
                           "fall in the output pixel (an exact area average for integer "
                           "factors; Pillow BOX); when enlarging, nearest"),
    )
}

KERNEL_IDS = set(_KERNEL_IDS.values())
assert set(_KERNEL_IDS) == set(METHODS), "kernels/common/taps.h and METHODS name other methods"

# Other names for the same kernels (ImageMagick's and OpenCV's).
# Other tools' names for the same kernels: ImageMagick (catrom, point, triangle, lanczos's 3
# lobes), libvips (linear, cubic: Catmull-Rom, lanczos3), OpenCV (area, linear).  OpenCV's
# INTER_CUBIC and torch's bicubic are Keys a = -0.75: sharpcubic, not an alias.
ALIASES = {"catrom": "bicubic", "cubic": "bicubic", "area": "box", "linear": "bilinear",
           "triangle": "bilinear", "point": "nearest", "lanczos3": "lanczos"}


# (What each boundary does is documented in resample/spec/taps.py.)


def taps_width(support, stretch, boundary_id):
    """Taps per position before merging (kernels/common/taps.h's taps_width): the kernel's reach
    plus two, twice that for extrapolate."""
    width = math.ceil(2.0 * support * stretch) + 2
    return 2 * width if boundary_id == BOUNDARY_IDS["extrapolate"] else width


def get_method(name: str) -> Method:
    """Look a method up by name; raise :class:`ResampleError` with the valid names if unknown."""

    if isinstance(name, Method):
        if not (isinstance(name.support, (int, float)) and 0 < name.support < 1e6):
            raise ResampleError(f"method {excerpt(name.name)}: support must be a number "
                                f"above 0, got {excerpt(name.support)}")
        if not (name.custom or name.id in KERNEL_IDS):
            raise ResampleError(f"method {excerpt(name.name)}: its kernel must be a function "
                                f"K(u) or one of the ids {sorted(KERNEL_IDS)}")
        return name
    key = str(name).lower()
    try:
        return METHODS[ALIASES.get(key, key)]
    except KeyError:
        names = ", ".join(list(METHODS) + list(ALIASES) + ["gmm"])
        raise ResampleError(
            f"unknown method {excerpt(name)}; choose one of: {names}") from None
