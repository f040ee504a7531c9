"""Device choice and memory checks.

The CPU engine is always there.  The GPU engine needs CuPy and a CUDA device; ``auto`` falls
back to the CPU silently, ``gpu`` without one is a clear error.
"""

from __future__ import annotations

import functools
import os
import sys

from .errors import ResampleError

DEVICES = ("auto", "cpu", "gpu")


@functools.lru_cache(maxsize=1)
def gpu_reason():
    """``None`` when a CUDA device is usable through CuPy, else why not (one line)."""
    try:
        import cupy
    except Exception:  # ImportError, or a broken CUDA install raising anything
        return "CuPy is not installed (pip install 'resample-images[gpu]')"
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            return "no CUDA device was found"
    except Exception as exc:
        return f"no usable CUDA device ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"
    return "the GPU engine is not part of this build yet"


def select(device):
    """Return the engine to use, ``"cpu"`` or ``"gpu"``; ``auto`` is the CPU in this version."""
    d = str(device).lower()
    if d not in DEVICES:
        raise ResampleError(f"unknown device {device!r}; choose one of: {', '.join(DEVICES)}")
    if d == "gpu":
        reason = gpu_reason()
        if reason is not None:
            raise ResampleError(f"device='gpu' is not available: {reason}")
        return "gpu"
    return "cpu"


def is_device_array(a):
    """True for a CuPy array (without importing CuPy when it was never imported)."""
    cupy = sys.modules.get("cupy")
    return cupy is not None and isinstance(a, cupy.ndarray)


def available_memory():
    """Bytes of memory available to allocate now (MemAvailable), or the physical size."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 1 << 62


def _gib(n):
    return f"{n / 2**30:.1f} GiB"


def check_memory(nbytes, what):
    """Refuse, before allocating, a request for more memory than is available."""
    avail = available_memory()
    if nbytes > avail:
        raise ResampleError(f"{what} needs {_gib(nbytes)} of memory, but only {_gib(avail)} "
                            "is available")
