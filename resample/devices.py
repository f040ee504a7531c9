"""Device choice and memory checks.

The CPU engine is always there.  The GPU engine needs CuPy and a CUDA device.  ``auto`` uses
the GPU for CuPy arrays (they stay on the device) and the CPU for host arrays: the size above
which a host image pays for its transfer is yet to be measured on a GPU.  ``gpu`` without a
usable device is a clear error.
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
    return None


def select(device, on_device=False):
    """Return the engine to use, ``"cpu"`` or ``"gpu"``.  ``on_device``: the data is a CuPy
    array (``auto`` then means the GPU, and ``cpu`` is refused rather than copying back)."""
    d = str(device).lower()
    if d not in DEVICES:
        raise ResampleError(f"unknown device {device!r}; choose one of: {', '.join(DEVICES)}")
    if d == "cpu" and on_device:
        raise ResampleError("a CuPy array needs device='gpu' or 'auto' (or cupy.asnumpy it "
                            "first)")
    if d == "gpu" or on_device:
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


def check_device_memory(nbytes, what):
    """As :func:`check_memory`, for the current CUDA device."""
    import cupy

    free, _ = cupy.cuda.runtime.memGetInfo()
    if nbytes > free:
        raise ResampleError(f"{what} needs {_gib(nbytes)} of GPU memory, but only "
                            f"{_gib(free)} is free")


def _gib(n):
    return f"{n / 2**30:.1f} GiB"


def check_memory(nbytes, what):
    """Refuse, before allocating, a request for more memory than is available."""
    avail = available_memory()
    if nbytes > avail:
        raise ResampleError(f"{what} needs {_gib(nbytes)} of memory, but only {_gib(avail)} "
                            "is available")
