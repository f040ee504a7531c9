"""The compiled CPU engine (resample._core, built from kernels/cpu by ``pip install``), with a
clear message where it is missing.  Loading it sets the process's thread count:
``RESAMPLE_THREADS`` if set (a whole number >= 1), else the cores this process may use."""

import os

try:
    from . import _core as core  # noqa: F401
except ImportError as exc:                      # pragma: no cover - depends on the install
    here = os.path.dirname(os.path.abspath(__file__))
    raise ImportError(
        f"resample's compiled engine (resample._core) is not built in {here}: this looks like "
        "a copy of the source tree shadowing the installed package (run from another folder), or an "
        "install without its build (pip install . , or pip install -e . for development)"
    ) from exc


MAX_THREADS = 1024          # more threads than any machine's cores: refused (--threads)


def threads_from_environment():
    """``RESAMPLE_THREADS`` if set (a whole number >= 1), else the cores this process may use."""
    text = os.environ.get("RESAMPLE_THREADS", "").strip()
    if text:
        try:
            return min(MAX_THREADS, max(1, int(text)))
        except ValueError:
            pass
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


_default_threads = threads_from_environment()
core.set_default_threads(_default_threads)


def default_threads():
    """The threads of this process's kernels (unless a thread set its own)."""
    return _default_threads


def set_default_threads(n):
    """Threads for every kernel of this process (``--threads``)."""
    global _default_threads
    _default_threads = min(MAX_THREADS, max(1, int(n)))
    core.set_default_threads(_default_threads)
