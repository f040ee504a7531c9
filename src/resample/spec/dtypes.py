"""Sample types: what the engines compute in, what they store into, and how floats round into
integers.  ``dtype`` arguments are NumPy dtypes (or anything ``np.dtype`` takes)."""

from __future__ import annotations

import math

import numpy as np

from ..errors import ResampleError
from .taps import validate_fill


def work_dtype(dtype):
    """float32 for 8/16-bit integers and float16; float64 for float32 (whose sums in float32
    overflow near its limits) and wider types."""
    if np.dtype(dtype).itemsize <= 2:
        return np.dtype(np.float32)
    return np.dtype(np.float64)


def compute_dtype(dtype):
    """The dtype the engine stores into: float16 goes through float32, and extended
    precision (float96/float128) through float64, which the engines have."""
    dtype = np.dtype(dtype)
    if dtype == np.float16:
        return np.dtype(np.float32)
    if dtype.kind == "f" and dtype.itemsize > 8:
        return np.dtype(np.float64)
    return dtype


def check_fill(fill, dtype):
    """``fill`` as a float; NaN only for float images."""
    fill = validate_fill(fill)
    if math.isnan(fill) and np.issubdtype(dtype, np.integer):
        raise ResampleError(f"fill=nan needs a float image, not {dtype}")
    return fill


def storable_range(dtype):
    """``(lo, hi)``: the float range that rounds into an integer ``dtype`` without overflow (for
    64-bit types the largest float below the maximum, which itself is not a float)."""
    info = np.iinfo(dtype)
    hi = float(np.nextafter(float(info.max), 0.0)) if info.bits > 32 else float(info.max)
    return float(info.min), hi


def to_dtype(x, dtype):
    """Round half up and clip float samples into an integer dtype; floats pass through."""
    dtype = np.dtype(dtype)
    if np.issubdtype(dtype, np.integer):
        lo, hi = storable_range(dtype)
        return np.clip(np.floor(x + 0.5), lo, hi).astype(dtype)
    return x.astype(dtype)


def store_args(dtype, work):
    """``(clip, rounding)`` the engines store ``work`` accumulators into ``dtype`` with:
    ``clip`` = [lo, hi, 0.5] (round half up, clip) for integers; no clip for floats."""
    if np.issubdtype(dtype, np.integer):
        return np.array([*storable_range(dtype), 0.5], work), True
    return np.array([0.0, 0.0, 0.5], work), False
