"""CUDA through CuPy: finding CuPy, the kernels' source and their compilation by NVRTC,
each thread's stream, and device copies kept while kernels read them.  No NumPy here, so that
the choice of device (resample.engines.devices) can ask whether a GPU is usable without
loading the GPU engine (resample.engines.gpu), which runs the kernels."""

from __future__ import annotations

import collections
import functools
import os
import threading

BLOCK = 256                   # threads per block; every kernel runs on a 1-D grid


def import_cupy():
    """The CuPy module (the [gpu] extra); ImportError, or whatever a broken CUDA install
    raises, where it cannot be imported."""
    import cupy  # optional: [gpu]

    return cupy


def kernel_path(name="resample.cu"):
    """The CUDA source ``name``: inside the installed package, or in the source tree (whose
    kernels/ is beside src/)."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    root = os.path.dirname(os.path.dirname(package))
    for folder in (os.path.join(package, "kernels"), os.path.join(root, "kernels")):
        path = os.path.join(folder, name)
        if os.path.exists(path):
            return path
    raise FileNotFoundError(f"CUDA source {name} not found beside the package")


# Options NVRTC compiles the kernels with.  CuPy appends its own after them, -ftz=true among
# them: the last of a repeated flag wins, and NVRTC 12.0 to 12.4 refuse one repeated, so no
# -ftz here (float32 denormals flush on the GPU; the float32 work there is 8/16-bit pictures'
# sums and the splat, far from 1e-38).  tests/engines/test_gpu_compile.py compiles as CuPy does.
NVRTC_OPTIONS = ("-std=c++17",)


class TableCache:
    """Device copies of tap tables, kept for the last few tables used, per device.

    Host tables come from an LRU cache (taps.resize_taps), so a repeated resize finds its
    tables here and uploads nothing.  Keyed by the device, the table object's identity and
    the work dtype; an entry holds the table, so an identity is not reused while it is
    cached.  Each use records an event on the stream that will read the table; an entry
    pushed out is kept until its last event has passed, so that its memory is never handed
    to a new allocation while a kernel on another stream still reads it."""

    def __init__(self, size=32):
        self.size = size
        self.entries = collections.OrderedDict()   # key -> [taps, table, event]
        self.retired = []                          # (table, event) still being read
        self.lock = threading.Lock()

    def fetch(self, xp, owner, kind, upload):
        """The device copy ``upload()`` makes of what ``owner`` (a host object, held while
        cached) gives for ``kind``: a tap table, or the tiled kernel's tile spans."""
        cuda = getattr(xp, "cuda", None)
        device = cuda.Device().id if cuda is not None else 0
        key = (device, id(owner), kind)
        with self.lock:
            hit = self.entries.get(key)
            if hit is not None and hit[0] is owner:
                self.entries.move_to_end(key)
                hit[2] = _event(cuda)
                return hit[1]
        table = upload()
        if cuda is not None:
            # Other threads' streams may read the table next: let the copy land first.
            cuda.get_current_stream().synchronize()
        with self.lock:
            self.entries[key] = [owner, table, _event(cuda)]
            while len(self.entries) > self.size:
                _, (_, old, event) = self.entries.popitem(last=False)
                self.retired.append((old, event))
            self.retired = [(t, e) for t, e in self.retired if e is not None and not e.done]
        return table


def _event(cuda):
    """An event recorded now on the current stream (None without CUDA)."""
    if cuda is None:
        return None
    event = cuda.Event(block=False, disable_timing=True)
    event.record()
    return event


class CupyBackend:
    """Kernels compiled by NVRTC (cupy.RawModule) and launched on the current device."""

    def __init__(self):
        self.xp = cupy = import_cupy()
        self.tables = TableCache()
        self.functions = {}
        with open(kernel_path(), encoding="utf-8") as f:
            source = f.read()
        # resample.cu includes the headers of kernels/common/ and of each operation.
        self.module = cupy.RawModule(code=source, options=NVRTC_OPTIONS + (
            f"-I{os.path.dirname(kernel_path())}",))

    def launch(self, name, n_threads, args, block=BLOCK):
        grid = ((n_threads + block - 1) // block,)
        key = (self.xp.cuda.Device().id, name)
        function = self.functions.get(key)
        if function is None:
            function = self.functions[key] = self.module.get_function(name)
        function(grid, (block,), tuple(args))


@functools.lru_cache(maxsize=1)
def cupy_backend():
    return CupyBackend()


@functools.lru_cache(maxsize=None)
def compile_reason(device_id):
    """None when the kernels compile for the device ``device_id`` (once per device and
    process), else why not, in one line: a GPU is chosen only after this."""
    try:
        with import_cupy().cuda.Device(device_id):
            cupy_backend().module.compile()
    except Exception as exc:                    # noqa: BLE001 (any failure: the CPU, and why)
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if "nvrtc" in text.lower() and ("not found" in text.lower() or "libnvrtc" in text):
            return ("CUDA's run-time compiler (NVRTC) is missing: pip install "
                    "'resample-images[gpu]' installs it with CuPy")
        return f"the CUDA kernels do not compile here ({text[:120]})"
    return None


_local = threading.local()


def thread_stream():
    """This thread's own non-blocking CUDA stream (a context manager that makes it current)."""
    stream = getattr(_local, "stream", None)
    if stream is None:
        stream = _local.stream = import_cupy().cuda.Stream(non_blocking=True)
    return stream
