"""resample: resize images and rebuild images from scattered points, on the CPU or the GPU.

The API (``resize``, ``sample``, ``gri1d``, ``reconstruct``, ``reconstruct_vjp``, ``Method``
for kernels of one's own) is imported lazily, so that ``import resample`` and the command
line's ``--help`` stay fast.
"""

import importlib

__version__ = "0.1.0"

__all__ = ["resize", "sample", "gri1d", "reconstruct", "reconstruct_vjp", "Method", "METHODS",
           "BOUNDARIES", "ALIGNS", "ResampleError"]

_LAZY = {
    "resize": "ops.resize", "sample": "ops.resize", "gri1d": "ops.resize",
    "reconstruct": "ops.gmm", "reconstruct_vjp": "ops.gmm",
    "Method": "spec.methods", "METHODS": "spec.methods", "BOUNDARIES": "spec.taps",
    "ALIGNS": "spec.taps",
}

from .errors import ResampleError  # noqa: E402  (light: no NumPy)


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'resample' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
