"""Resampling methods as data: a 1-D kernel ``K(u)`` and its support radius.

``u`` is a distance in input pixels (after antialias stretching, in units of the stretched
sampling interval).  Kernels are vectorised NumPy functions of float64 arrays (written with
NumPy's functions, so that CuPy arrays work too); every engine (CPU, GPU, point sampling)
turns them into tap tables through :mod:`resample.taps`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class Method:
    """A separable resampling method.

    kernel:    ``K(u)``, float64 array in, float64 array out, zero for ``|u| >= support``.
    support:   the radius beyond which ``K`` is zero, in input pixels (before stretching).
    antialias: whether the kernel is stretched when shrinking (``False`` means point sampling).
    """

    name: str
    kernel: Callable[[np.ndarray], np.ndarray]
    support: float
    antialias: bool = True
    description: str = ""


def _nearest(u):
    # Half-open box: taps i with -0.5 < i - x <= 0.5, i.e. i = floor(x + 0.5).
    return ((u > -0.5) & (u <= 0.5)).astype(np.float64)


def _triangle(u):
    return np.maximum(0.0, 1.0 - np.abs(u))


def _keys(u, a=-0.5):
    # Keys' cubic convolution kernel; a = -0.5 as in Pillow BICUBIC.
    u = np.abs(u)
    near = ((a + 2.0) * u - (a + 3.0)) * u * u + 1.0
    far = (((u - 5.0) * u + 8.0) * u - 4.0) * a
    return np.where(u < 1.0, near, np.where(u < 2.0, far, 0.0))


def _lanczos3(u):
    # sinc(u) sinc(u/3) on |u| < 3, exactly zero at non-zero integers so that an unchanged
    # size is an exact identity.
    value = np.where(np.abs(u) < 3.0, np.sinc(u) * np.sinc(u / 3.0), 0.0)
    at_integer = u == np.round(u)
    return np.where(at_integer, (u == 0.0).astype(np.float64), value)


def _gri(u):
    # The 3x3 quartic (DESIGN.md): interpolating, C1, exact on straight lines.
    u = np.abs(u)
    v = 1.0 - u
    u2, v2 = u * u, v * v
    centre = 1.0 - 3.0 * u2 + 4.0 * u2 * u2
    side = 0.5 * v + 1.5 * v2 - 2.0 * v2 * v2
    return np.where(u <= 0.5, centre, np.where(u < 1.5, side, 0.0))


METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method("nearest", _nearest, 0.5, antialias=False,
               description="nearest pixel, floor(x + 0.5); equals Pillow NEAREST"),
        Method("bilinear", _triangle, 1.0, description="triangle kernel, support 1"),
        Method("bicubic", _keys, 2.0, description="Keys cubic, a = -0.5, support 2 (Pillow)"),
        Method("lanczos", _lanczos3, 3.0, description="Lanczos, 3 lobes, support 3"),
        Method("gri", _gri, 1.5,
               description="3x3 quartic through segment midpoints, support 3/2; "
                           "faster than bicubic, rings less"),
    )
}


def get_method(name: str) -> Method:
    """Look a method up by name; raise :class:`ResampleError` with the valid names if unknown."""
    from .errors import ResampleError, excerpt

    if isinstance(name, Method):
        return name
    try:
        return METHODS[str(name).lower()]
    except KeyError:
        names = ", ".join(list(METHODS) + ["gmm"])
        raise ResampleError(
            f"unknown method {excerpt(name)}; choose one of: {names}") from None
