"""Device choice and memory checks.

The CPU engine is always there.  The GPU engine needs CuPy and a CUDA device.  ``auto`` uses
the GPU for CuPy arrays (they stay on the device), and for a host (NumPy) array only when the
job is large enough to pay for copying it there and back: :func:`gpu_pays`.  ``gpu`` without
a usable device is a clear error.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import threading

from .errors import ResampleError, excerpt

DEVICES = ("auto", "cpu", "gpu")


@functools.lru_cache(maxsize=1)
def gpu_reason():
    """``None`` when a CUDA device is usable through CuPy and the kernels compile for it
    (resample.gpu.compile_reason), else why not (one line)."""
    try:
        import cupy
    except Exception:  # ImportError, or a broken CUDA install raising anything
        return "CuPy is not installed (pip install 'resample-images[gpu]')"
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            return "no CUDA device was found"
        device = cupy.cuda.runtime.getDevice()
    except Exception as exc:
        return f"no usable CUDA device ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"
    from .gpu import compile_reason

    return compile_reason(device)


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


def cpu_cores():
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def gpu_started():
    """Whether the GPU engine is already running in this process."""
    gpu = sys.modules.get("resample.gpu")
    return gpu is not None and gpu.cupy_backend.cache_info().currsize > 0


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


def available_memory():
    """Bytes this process may still allocate: the least of the memory available now
    (MemAvailable), what the address-space limit (``ulimit -v``, RLIMIT_AS) leaves above the
    process's present size, and what its cgroup's memory limit leaves."""
    limits = [_meminfo("MemAvailable")]
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft != resource.RLIM_INFINITY:
            limits.append(soft - (_status("VmSize") or 0))
    except (ImportError, OSError, ValueError):
        pass
    limits.append(_cgroup_room())
    limits.append(getattr(_cap, "bytes", None))
    known = [n for n in limits if n is not None]
    if not known:
        try:
            return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (ValueError, OSError, AttributeError):
            return 1 << 62
    return max(0, min(known))


_cap = threading.local()


@contextlib.contextmanager
def memory_cap(nbytes):
    """Within the block, this thread may allocate at most ``nbytes`` more (None: no cap):
    a cluster worker's share of its memory limit, which the machine's own limits do not
    show (resample.batch)."""
    old = getattr(_cap, "bytes", None)
    _cap.bytes = nbytes if old is None or nbytes is None else min(old, nbytes)
    try:
        yield
    finally:
        _cap.bytes = old


def _proc_field(path, name):
    """A "Name:   N kB" field of a /proc file, in bytes, or None."""
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(name + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _meminfo(name):
    return _proc_field("/proc/meminfo", name)


def _status(name):
    return _proc_field("/proc/self/status", name)


def _cgroup_room(proc="/proc/self/cgroup", root="/sys/fs/cgroup"):
    """What this process's memory cgroups still allow (limit - usage, the least over its
    cgroup and the ones above it), or None without a limit.  cgroup v2 (memory.max,
    memory.current) and v1 (the memory controller's memory.limit_in_bytes,
    memory.usage_in_bytes, as older Docker and Slurm set) alike.  A container sees its own
    cgroup at the root of the mount, whatever /proc says its path is: both are read."""
    try:
        with open(proc) as f:
            lines = [line.rstrip("\n").split(":", 2) for line in f]
    except OSError:
        return None
    rooms = []
    for hid, controllers, rel in (parts for parts in lines if len(parts) == 3):
        if hid == "0" and controllers == "":
            base, files = root, ("memory.max", "memory.current")
        elif "memory" in controllers.split(","):
            base, files = os.path.join(root, "memory"), ("memory.limit_in_bytes",
                                                         "memory.usage_in_bytes")
        else:
            continue
        for folder in _cgroup_folders(base, rel):
            room = _cgroup_folder_room(folder, *files)
            if room is not None:
                rooms.append(room)
    return min(rooms) if rooms else None


def _cgroup_folders(base, rel):
    """The folders of a cgroup and of those above it, up to the mount's root (and the root
    alone where the path is not visible, as in a container)."""
    here = os.path.join(base, rel.strip("/")) if rel.strip("/") else base
    if not os.path.isdir(here):
        return [base]
    found = []
    while True:
        found.append(here)
        if os.path.normpath(here) == os.path.normpath(base):
            return found
        here = os.path.dirname(here)


NO_LIMIT = 1 << 60          # cgroup v1 writes a page-aligned 2^63 - 1 for "no limit"


def _cgroup_folder_room(folder, limit_name, usage_name):
    try:
        with open(os.path.join(folder, limit_name)) as f:
            top = f.read().strip()
        if top == "max" or int(top) >= NO_LIMIT:
            return None
        with open(os.path.join(folder, usage_name)) as f:
            return int(top) - int(f.read().strip())
    except (OSError, ValueError):
        return None


THREAD_STACK = 16 << 20     # address space a worker thread may take (its stack, its arenas)


def threads_that_fit():
    """The most worker threads the address space available holds (each reserves its stack):
    a thread library asked for more fails to start them mid-run."""
    return max(1, available_memory() // THREAD_STACK)


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
