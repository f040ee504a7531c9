"""The compiled CPU engine (resample._core, built from kernels/cpu by ``pip install``), with a
clear message where it is missing.  Loading it sets the process's thread count:
``RESAMPLE_THREADS`` if set (a whole number >= 1), else the cores this process may use (its
CPU affinity, and its cgroup's CPU quota)."""

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


CGROUP = "/sys/fs/cgroup"    # where a container's CPU quota is read (cgroup v2, then v1)


def usable_cores(cgroup=CGROUP):
    """The cores this process may use: those of its CPU affinity (``taskset``), no more than
    its cgroup's CPU quota allows (``cpu.max``, as a container sets it: a quota of 150000 in
    a period of 100000 is 2 cores, rounded up), at least 1."""
    try:
        cores = len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    quota = _cgroup_quota(cgroup)
    return max(1, min(cores, quota)) if quota else cores


def _cgroup_quota(cgroup):
    """The cgroup's CPU quota in cores (rounded up), or None where there is none."""
    for name, parse in (("cpu.max", lambda text: text.split()),
                        ("cpu/cpu.cfs_quota_us", None)):
        try:
            with open(os.path.join(cgroup, name)) as f:
                text = f.read()
            if parse is None:                   # cgroup v1: the quota, then the period
                with open(os.path.join(cgroup, "cpu/cpu.cfs_period_us")) as f:
                    fields = [text.strip(), f.read().strip()]
            else:
                fields = parse(text)
            quota, period = int(fields[0]), int(fields[1])
        except (OSError, ValueError, IndexError):
            continue                            # none, or "max": no quota
        if quota > 0 and period > 0:
            return -(-quota // period)
    return None


def threads_from_environment():
    """``RESAMPLE_THREADS`` if set (a whole number >= 1), else the cores this process may use
    (:func:`usable_cores`)."""
    text = os.environ.get("RESAMPLE_THREADS", "").strip()
    if text:
        try:
            return min(MAX_THREADS, max(1, int(text)))
        except ValueError:
            pass
    return usable_cores()


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
