"""Batch conversion on a ``dask.distributed`` cluster (``--scheduler``): each file one task,
run where the cluster's workers are.  This module needs the [dask] extra; the command loads it
only for ``--scheduler`` (resample.jobs.batch converts on this machine)."""

from __future__ import annotations

import logging
import os
import socket
import struct
import threading
import time
from urllib.parse import urlsplit

from distributed import CancelledError, Client, get_worker, wait

from ..errors import ResampleError, excerpt, first_line
from ..spec.memory import memory_cap
from ..spec.options import Options
from .batch import Summary, decide, failure_reason, recorder, file_size
from .console import sigterm_as_interrupt
from .progress import progress_bar
from .convert import convert_file


CONNECT_SECONDS = 10.0      # a scheduler's connection and handshake, all told
LOST_SECONDS = 30.0         # a cluster whose client is not running this long is lost


def run(jobs, options: Options, address, *, overwrite=False, fail_fast=False,
                   progress=True, on_failure=None):
    """Convert ``jobs`` on the ``dask.distributed`` cluster whose scheduler is at ``address``:
    each file one task, written atomically where the workers run (the paths must be the same
    there: a shared file system); outputs that exist are skipped, so a rerun resumes.  Returns
    a :class:`Summary`, as :func:`resample.jobs.batch.run` does, whatever the cluster does: a file whose task
    fails, whose worker dies (killed, or out of memory) or that a lost scheduler leaves
    undone is named as failed with its reason.  Connecting, handshake included, is bounded
    by CONNECT_SECONDS; Ctrl-C or SIGTERM cancels the tasks not finished.  The library's log
    lines are kept off the standard error (RESAMPLE_DEBUG=1 keeps them)."""
    _quiet_cluster_logs()
    options = options.replace(overwrite=options.overwrite or overwrite)
    summary = Summary()
    bar = progress_bar(len(jobs), "file", progress)
    stop = threading.Event()
    record = recorder(summary, bar, on_failure, stop if fail_fast else None)
    t0 = time.perf_counter()
    client = _connect(address)
    futures = {}
    with sigterm_as_interrupt():
        try:
            for job in sorted(jobs, key=file_size, reverse=True):
                decided = decide(job, overwrite)
                if decided is not None:
                    record(job, *decided)
                else:
                    # (absolute: a worker's working folder is its own)
                    futures[client.submit(_convert_on_worker, os.path.abspath(job.src),
                                          os.path.abspath(job.dst), options, pure=False)] = job
            _collect(client, futures, record, stop, time.time())
        except KeyboardInterrupt:
            summary.interrupted = True
        finally:
            try:
                if client.status == "running":
                    client.cancel([f for f in futures if not f.done()])
            except Exception:                 # noqa: BLE001 (a lost cluster: nothing to cancel)
                pass
            _close(client)
            bar.close()
    summary.not_started = len(jobs) - summary.converted - summary.skipped - summary.failed
    summary.seconds = time.perf_counter() - t0
    return summary


def _collect(client, futures, record, stop, started):
    """Record each task's outcome as it ends; a task that fails in the cluster (its worker
    killed, the scheduler lost) is its file's failure, unless its worker wrote the output
    (atomically, since ``started``) before the answer was lost.  No wait is unbounded: the
    client is looked at every second, and a client not running for LOST_SECONDS fails what
    is left."""
    lost = []                 # failed in the cluster: decided at the end (a worker may have
                              # written the output just before its answer was lost)

    def outcome(future):
        status, reason = _outcome(future)
        if status == "failed" and reason.startswith("not converted:"):
            lost.append((future, reason))
            return None
        return status, reason

    try:
        _collect_until_done(client, futures, record, stop, outcome, lost)
    finally:
        if lost:
            time.sleep(LOST_GRACE)
        for future, reason in lost:
            if _written_since(futures[future].dst, started):
                record(futures[future], "converted", [])
            else:
                record(futures[future], "failed", reason)


LOST_GRACE = 1.0           # seconds a lost task's worker gets to finish renaming its output


def _collect_until_done(client, futures, record, stop, outcome, lost):
    """Record what ``outcome`` decides of each task as it ends, waking every second; tasks
    left when the client has not been running for LOST_SECONDS go to ``lost``."""
    pending = set(futures)
    lost_since = None
    while pending and not stop.is_set():
        try:
            done, pending = wait(pending, timeout=1.0, return_when="FIRST_COMPLETED")
        except TimeoutError:                  # none ended within the second
            done = ()
        except Exception:                     # noqa: BLE001 (cancelled: the scheduler is lost)
            done = {f for f in pending if f.done()}
            pending -= done
        for future in done:
            decided = outcome(future)
            if decided is not None:
                record(futures[future], *decided)
            if stop.is_set():
                return
        if client.status == "running":
            lost_since = None
        elif lost_since is None:
            lost_since = time.monotonic()
        elif time.monotonic() - lost_since > LOST_SECONDS:
            for future in pending:
                lost.append((future, "not converted: the connection to the scheduler was "
                                     f"lost ({client.status})"))
            return


def _written_since(path, started):
    """Whether ``path`` exists, written at or after the time ``started``."""
    try:
        return os.stat(path).st_mtime >= started - 1.0
    except OSError:
        return False


def _outcome(future):
    """``(status, notes or reason)`` of a finished task."""
    try:
        return future.result(timeout=LOST_SECONDS)
    except CancelledError:
        return "failed", "not converted: the scheduler was lost (its tasks were cancelled)"
    except Exception as exc:          # noqa: BLE001 (KilledWorker, a lost connection, ...)
        if type(exc).__name__ == "KilledWorker":
            return "failed", ("not converted: the workers that ran it died (killed, or over "
                              "their memory limit)")
        return "failed", f"not converted: {type(exc).__name__}: {first_line(exc)}"


def _connect(address):
    """A client of the scheduler at ``address``, or a one-line error within CONNECT_SECONDS
    (the client's own timeout covers the TCP connection, not the handshake after it)."""
    deadline = time.monotonic() + CONNECT_SECONDS
    try:
        _handshake(address, CONNECT_SECONDS / 2)
    except (OSError, ValueError) as exc:
        raise ResampleError(f"--scheduler {excerpt(address)}: cannot connect "
                            f"({getattr(exc, 'strerror', None) or first_line(exc)})") from None
    box = {}
    left = max(1.0, deadline - time.monotonic())

    def connect():
        try:
            box["client"] = Client(address, timeout=f"{left:.1f}s")
        except BaseException as exc:          # noqa: BLE001 (reported by the caller)
            box["error"] = exc

    thread = threading.Thread(target=connect, name="resample-connect", daemon=True)
    thread.start()
    thread.join(left)
    if "client" in box:
        return box["client"]
    reason = first_line(box["error"]) if "error" in box else \
        f"no answer in {CONNECT_SECONDS:g} s"
    raise ResampleError(f"--scheduler {excerpt(address)}: cannot connect ({reason})")


def _handshake(address, seconds):
    """Fail within ``seconds`` unless a Dask scheduler answers at a tcp:// address: it sends
    its handshake (a length, a frame count) as soon as it accepts, before the client speaks.
    Another service, or one that accepts and says nothing, is refused here; other schemes
    (tls://, inproc://) are left to the client."""
    text = str(address)
    if "://" in text and not text.startswith("tcp://"):
        return
    parts = urlsplit(text if "://" in text else "tcp://" + text)
    deadline = time.monotonic() + seconds
    with socket.create_connection((parts.hostname, parts.port or 8786), timeout=seconds) as s:
        head = b""
        while len(head) < 16:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ConnectionError(f"it accepted but did not answer as a Dask scheduler "
                                      f"within {seconds:g} s")
            s.settimeout(left)
            try:
                more = s.recv(16 - len(head))
            except socket.timeout:
                continue
            if not more:
                raise ConnectionError("it closed the connection: not a Dask scheduler")
            head += more
    total, frames = struct.unpack("<QQ", head)
    if not (0 < total < 1 << 20 and 0 < frames < 64):
        raise ConnectionError("it does not answer as a Dask scheduler")


def _close(client):
    """Close the client in a bounded time, whatever state the cluster is in."""
    thread = threading.Thread(target=_close_quietly, args=(client,), daemon=True,
                              name="resample-disconnect")
    thread.start()
    thread.join(CONNECT_SECONDS)


def _close_quietly(client):
    try:
        client.close(timeout=CONNECT_SECONDS / 2)
    except Exception:                 # noqa: BLE001 (a lost cluster: nothing to close)
        pass


def _quiet_cluster_logs():
    """dask.distributed (and tornado, bokeh) log to the standard error through handlers of
    their own: for the command's user, the summary says what happened, so they are dropped
    (RESAMPLE_DEBUG=1 keeps them)."""
    if os.environ.get("RESAMPLE_DEBUG"):
        return
    families = ("distributed", "tornado", "bokeh")
    for name in list(logging.root.manager.loggerDict):
        if name.split(".")[0] in families:
            logger = logging.getLogger(name)
            logger.handlers.clear()
            logger.propagate = True
    for name in families:
        logger = logging.getLogger(name)
        logger.addHandler(logging.NullHandler())
        logger.propagate = False


def _convert_on_worker(src, dst, options):
    """One file on a cluster's worker: ``(status, notes or the reason it failed)``.  The
    worker's memory limit (its share for one task thread) bounds the job as the machine's
    would: a file too big for it streams where it can, and is refused with its reason where
    it cannot."""

    try:
        os.makedirs(os.path.dirname(dst) or ".", exist_ok=True)
        with memory_cap(_worker_room()):
            return "converted", convert_file(src, dst, options)
    except Exception as exc:              # noqa: BLE001 (any error is this file's failure)
        return "failed", failure_reason(exc)


def _worker_room():
    """Bytes one task may still take under its worker's memory limit (the part below the
    point where the worker pauses, less what the process holds, shared by its threads), or
    None outside a worker or without a limit."""
    try:
        worker = get_worker()
        manager = worker.memory_manager
        limit = manager.memory_limit
        if not limit:
            return None
        fraction = manager.memory_pause_fraction or manager.memory_target_fraction or 0.8
        used = worker.monitor.get_process_memory()
        return max(0, int((limit * fraction - used) / max(1, worker.state.nthreads)))
    except Exception:                     # noqa: BLE001 (not on a worker, or another version)
        return None
