"""The choice of device: the CPU engine, or the GPU engine where it pays.

The CPU engine is always there.  The GPU engine needs CuPy and a CUDA device.  ``auto`` uses
the GPU for CuPy arrays (they stay on the device), and for a host (NumPy) array only when the
job is large enough to pay for copying it there and back: :func:`gpu_pays`.  ``gpu`` without
a usable device is a clear error.
"""

from __future__ import annotations

import functools
import sys

from ..errors import ResampleError, excerpt
from ..spec.memory import cpu_cores, gib
from . import cuda

DEVICES = ("auto", "cpu", "gpu")


@functools.lru_cache(maxsize=1)
def gpu_reason():
    """``None`` when a CUDA device is usable through CuPy and the kernels compile for it
    (resample.engines.cuda.compile_reason), else why not (one line)."""
    try:
        cupy = cuda.import_cupy()
    except Exception:  # ImportError, or a broken CUDA install raising anything
        return "CuPy is not installed (pip install 'resample-images[gpu]')"
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            return "no CUDA device was found"
        device = cupy.cuda.runtime.getDevice()
    except Exception as exc:
        said = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if any(code in said for code in ("InsufficientDriver", "NoDevice", "NotFound",
                                         "StubLibrary", "InitializationError")):
            return f"this machine has no NVIDIA GPU or no driver for one (CuPy: {said[:60]})"
        return f"no usable CUDA device ({said})"
    return cuda.compile_reason(device)


def select(device, on_device=False, cost=None):
    """Return the engine to use, ``"cpu"`` or ``"gpu"``.  ``on_device``: the data is a CuPy
    array (``auto`` then means the GPU, and ``cpu`` is refused rather than copying back).
    ``cost``: ``(multiply-adds, bytes copied to the GPU and back)`` of a job on host data;
    ``auto`` then takes the GPU when :func:`gpu_pays`."""
    d = str(device).lower()
    if d not in DEVICES:
        raise ResampleError(f"unknown device {excerpt(device)}; choose one of: {', '.join(DEVICES)}")
    if d == "cpu" and on_device:
        raise ResampleError("a CuPy array needs device='gpu' or 'auto' (or cupy.asnumpy it "
                            "first)")
    if d == "gpu" or on_device:
        reason = gpu_reason()
        if reason is not None:
            raise ResampleError(f"device='gpu' is not available: {reason}")
        return "gpu"
    if d == "auto" and cost is not None and gpu_pays(*cost):
        return "gpu"
    return "cpu"


# The model behind device="auto" for host data.  The CPU engine's rate is measured (3840x2160
# -> 7680x4320 bilinear, uint8 RGB: ~300M multiply-adds in 63 ms on 2 cores, docs/
# benchmarks.md); the GPU's side is the copies over PCIe (pageable host memory) plus a fixed
# cost per call, and, before the GPU engine's first use in a process, starting it (CuPy,
# the CUDA context, loading the compiled kernels).  The GPU is taken when it is estimated to
# take less than half the CPU's time: a margin for the estimates, which a GPU session should
# refine (benchmarks/gpu.py).
CPU_MADDS_PER_CORE_S = 2.0e9
COPY_BYTES_PER_S = 10e9
GPU_CALL_S = 1e-3
GPU_START_S = 2.0


def gpu_started():
    """Whether the GPU engine is already running in this process."""
    return cuda.cupy_backend.cache_info().currsize > 0


def gpu_pays(madds, copy_bytes):
    """Whether a job of ``madds`` multiply-adds on host data, with ``copy_bytes`` to copy to
    the GPU and back, is estimated to finish sooner on a usable GPU than on the CPU."""
    cpu_s = madds / (CPU_MADDS_PER_CORE_S * cpu_cores())
    gpu_s = copy_bytes / COPY_BYTES_PER_S + GPU_CALL_S + (0 if gpu_started() else GPU_START_S)
    return 2 * gpu_s < cpu_s and gpu_reason() is None


def is_device_array(a):
    """True for a CuPy array (without importing CuPy when it was never imported)."""
    cupy = sys.modules.get("cupy")
    return cupy is not None and isinstance(a, cupy.ndarray)


def check_device_memory(nbytes, what):
    """As :func:`check_memory`, for the current CUDA device."""
    free, _ = cuda.import_cupy().cuda.runtime.memGetInfo()
    if nbytes > free:
        raise ResampleError(f"{what} needs {gib(nbytes)} of GPU memory, but only "
                            f"{gib(free)} is free")
