"""Memory and cores: what this process may still allocate (RAM, ``ulimit -v``, its cgroup, a
cluster worker's share), and the refusal of a request that would not fit, made before
allocating.  Sizes are bytes."""

from __future__ import annotations

import contextlib
import os
import resource
import threading

from ..compiled import usable_cores
from ..errors import ResampleError


def cpu_cores():
    """The cores this process may use (affinity and cgroup quota: resample.compiled)."""
    return usable_cores()


def available_memory():
    """Bytes this process may still allocate: the least of the memory available now
    (MemAvailable), what the address-space limit (``ulimit -v``, RLIMIT_AS) leaves above the
    process's present size, and what its cgroup's memory limit leaves."""
    limits = [_meminfo("MemAvailable")]
    try:
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
    show (resample.jobs.batch)."""
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


def gib(n):
    return f"{n / 2**30:.1f} GiB"


def check_memory(nbytes, what):
    """Refuse, before allocating, a request for more memory than is available."""
    avail = available_memory()
    if nbytes > avail:
        raise ResampleError(f"{what} needs {gib(nbytes)} of memory, but only {gib(avail)} "
                            "is available")
