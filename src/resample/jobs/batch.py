"""Batch conversion: every image and point-cloud CSV of a folder (or a list), in parallel.

Files are found first, then converted by a pipeline of two thread pools: one decodes files
ahead, the other resamples and encodes them.  The compiled kernels and Pillow's codecs release the
GIL, so decoding, resampling and encoding of different files run at once.  Each output is written to a temporary name and renamed, so an
interrupted run leaves only complete files, and a rerun skips the outputs that exist.

Paths inside the input folder are "relative paths" (``rel``) with "/" separators; an output
mirrors its input's relative path inside the output folder.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import numpy as np

from ..compiled import default_threads
from ..engines import cpu, devices
from ..errors import ResampleError, excerpt, first_line
from ..formats import images
from ..formats.files import POINT_EXTENSIONS, is_points, not_a_file
from ..ops.resize import resize
from ..spec import memory
from ..spec.geometry import WRITTEN_AS
from ..spec.memory import check_memory
from ..spec.options import Options
from . import convert, plain
from .console import sigterm_as_interrupt
from .progress import progress_bar
from .convert import convert_file

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".jpe", ".tif", ".tiff", ".webp", ".avif", ".heic",
                    ".heif", ".bmp", ".gif", ".ppm", ".pgm", ".pbm", ".pnm", ".tga")
STOP_SECONDS = 5.0          # after Ctrl-C or SIGTERM, files being written get this long to end
FORMATS = {"png": ".png", "jpg": ".jpg", "jpeg": ".jpg", "webp": ".webp", "avif": ".avif",
           "tif": ".tif", "tiff": ".tif", "gif": ".gif", "bmp": ".bmp"}


@dataclass
class Job:
    src: str                 # the input file
    rel: str                 # its path relative to the input folder, "/"-separated
    dst: str = ""            # the output file
    error: str = ""          # set when the job cannot run (e.g. two inputs, one output)
    clash: str = ""          # the input already bound for this job's output, if any


@dataclass
class Summary:
    converted: int = 0
    skipped: int = 0         # the output exists already
    failed: int = 0
    not_started: int = 0
    seconds: float = 0.0
    failures: list = field(default_factory=list)    # (path, reason)
    interrupted: bool = False
    notes: dict = field(default_factory=dict)       # note -> how many files it was said of

    def line(self):
        done = self.converted + self.skipped + self.failed
        rate = done / self.seconds if self.seconds > 0 else 0.0
        exists = "output exists" if not self.skipped or self.converted else \
            "outputs exist, from an earlier run: --overwrite converts them again"
        parts = [f"{self.converted} converted", f"{self.skipped} skipped ({exists})",
                 f"{self.failed} failed"]
        if self.not_started:
            parts.append(f"{self.not_started} not started")
        head = "interrupted: " if self.interrupted else ""
        return f"{head}{', '.join(parts)} in {self.seconds:.1f} s ({rate:.1f} files/s)"

    def note_lines(self):
        """The notes of the converted files, one line a kind: "12 files: flattened alpha onto
        white for JPEG", most frequent first."""
        ranked = sorted(self.notes.items(), key=lambda kv: (-kv[1], kv[0]))
        return [f"{n} file{'s' if n > 1 else ''}: {text}" for text, n in ranked]


def is_input_name(name):
    low = name.lower()
    return low.endswith(IMAGE_EXTENSIONS + POINT_EXTENSIONS) and not name.startswith(".")


def _inside(path, folder):
    """Whether the real ``path`` lies in the real ``folder``."""
    try:
        return os.path.commonpath([path, folder]) == folder
    except ValueError:             # different drives
        return False


def find_inputs(folder, *, recursive=False, follow_links=False, skip_dir=None, not_files=None):
    """Jobs for the image and CSV files of ``folder``, sorted by relative path.

    Hidden names (starting with ".") and other files are skipped quietly.  Symbolic links that
    lead out of ``folder`` are skipped unless ``follow_links``; ``skip_dir`` (the output folder)
    is never entered.  Entries named as images that are not regular files (FIFOs, devices,
    sockets, broken links: reading them could block or never end) are skipped, and their
    paths appended to the list ``not_files`` if one is given."""
    root = os.path.realpath(folder)
    skip = os.path.realpath(skip_dir) if skip_dir else None
    jobs, seen = [], {root}
    for here, dirs, files in os.walk(folder, followlinks=follow_links):
        keep = []
        for d in sorted(dirs):
            real = os.path.realpath(os.path.join(here, d))
            if d.startswith(".") or real == skip or real in seen:
                continue                  # hidden, the output folder, or a loop of links
            if not follow_links and not _inside(real, root):
                continue
            seen.add(real)
            keep.append(d)
        dirs[:] = keep if recursive else []
        for name in sorted(files):
            if not is_input_name(name):
                continue
            path = os.path.join(here, name)
            if not os.path.isfile(path):
                if not_files is not None:
                    not_files.append(path)
                continue                  # a broken link, a FIFO, a socket, ...
            if not follow_links and not _inside(os.path.realpath(path), root):
                continue
            jobs.append(Job(path, os.path.relpath(path, folder).replace(os.sep, "/")))
    jobs.sort(key=lambda j: j.rel)
    return jobs


LIST_LINE = 64 << 10        # a listed path longer than this is no path
LIST_JOB_BYTES = 1024       # what a listed path holds in memory, counted as the list grows


def read_list(stream):
    """Jobs for the paths in ``stream``, one per line (blank lines skipped; spaces around a
    name are dropped when only the name without them exists).  A relative path
    keeps its folders in the output folder; an absolute one, or one that climbs out with
    "..", keeps only its name.  A line longer than LIST_LINE is refused, and the list's
    memory is counted as it grows: an endless or binary stream ends in one line."""

    jobs = []
    while True:
        line = stream.readline(LIST_LINE + 1)
        if not line:
            break
        if len(line) > LIST_LINE:
            raise ResampleError(f"the list has a line of more than {LIST_LINE} characters "
                                f"(line {len(jobs) + 1}): not a list of paths")
        if len(jobs) % 65536 == 65535:
            check_memory(65536 * LIST_JOB_BYTES, f"a list of more than {len(jobs)} paths")
        path = line.rstrip("\r\n")
        if not path.strip():
            continue
        if path != path.strip() and not os.path.lexists(path) and os.path.lexists(path.strip()):
            path = path.strip()           # stray spaces around a name that exists without them
        norm = os.path.normpath(path)
        if os.path.isabs(norm) or norm == ".." or norm.startswith(".." + os.sep):
            rel = os.path.basename(norm)
        else:
            rel = norm
        jobs.append(Job(path, rel.replace(os.sep, "/")))
    return jobs


def matches(rel, patterns):
    """Whether the relative path, or its file name, matches one of the glob patterns."""
    name = rel.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatchcase(rel, p) or fnmatch.fnmatchcase(name, p) for p in patterns)


def parse_shard(text):
    """``K/N`` -> (k, n) with 1 <= k <= n."""
    try:
        k, n = (int(v) for v in text.split("/"))
    except (ValueError, AttributeError):
        raise ResampleError(f"--shard {excerpt(text)} is not K/N (e.g. 1/4)") from None
    if not 1 <= k <= n:
        raise ResampleError(f"--shard {excerpt(text)}: K must be between 1 and N")
    return k, n


def in_shard(rel, shard):
    """A stable split by relative path: the same on every machine and every run."""
    k, n = shard
    digest = hashlib.blake2b(rel.encode("utf-8", "surrogateescape"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % n == k - 1


def select(jobs, *, include=(), exclude=(), shard=None):
    """Keep the jobs with an image or CSV name, matching ``include`` (if any), not ``exclude``,
    and in ``shard``."""
    out = []
    for job in jobs:
        if not is_input_name(job.rel.rsplit("/", 1)[-1]):
            continue
        if include and not matches(job.rel, include):
            continue
        if exclude and matches(job.rel, exclude):
            continue
        if shard is not None and not in_shard(job.rel, shard):
            continue
        out.append(job)
    return out


def named_jobs(paths):
    """Jobs for files named on the command line: each goes into the output folder under its
    own name, whatever folder it is in (as mogrify -path)."""
    return [Job(path, os.path.basename(os.path.normpath(path))) for path in paths]


def plan_outputs(jobs, out_dir, *, fmt=None, suffix=""):
    """Set each job's output path; drop inputs that are another input's output (a folder
    converted into itself must not convert its own results on a rerun); mark a second input
    bound for an output already taken."""
    for job in jobs:
        stem, ext = os.path.splitext(job.rel)
        if fmt is not None:
            ext = FORMATS[fmt]
        elif is_points(job.rel):
            ext = ".png"
        else:
            ext = WRITTEN_AS.get(ext.lower(), ext)    # (HEIC in, JPEG out)
        job.dst = os.path.join(out_dir, *(stem + suffix + ext).split("/"))
    outputs = {os.path.realpath(j.dst) for j in jobs}
    kept = [j for j in jobs
            if os.path.realpath(j.src) not in outputs or os.path.realpath(j.src) ==
            os.path.realpath(j.dst)]
    owner = {}
    for job in kept:
        key = os.path.normcase(os.path.realpath(job.dst))
        if key in owner:
            job.clash = owner[key]
            job.error = f"same output as {owner[key]}"
        else:
            owner[key] = job.src
    return kept


def _cores():
    """The CPU threads a run may use: RESAMPLE_THREADS (``--threads``), else every core."""

    return default_threads()


class _Compute:
    """Held while resampling: sets this thread's engine threads, so that workers x threads =
    cores (the compiled engine may be entered from every worker at once)."""

    def __init__(self, threads):
        self.threads = threads
        self.local = threading.local()

    def __enter__(self):
        if not getattr(self.local, "ready", False):

            cpu.set_threads(self.threads)               # per thread
            self.local.ready = True
        return self

    def __exit__(self, *exc):
        return False


class _Budget:
    """Bounds the decoded files held in memory: at most ``max_files``, and no new one while
    they hold ``max_bytes`` (one file is always let in, however large)."""

    def __init__(self, max_files, max_bytes):
        self.max_files, self.max_bytes = max_files, max_bytes
        self.files = self.bytes = 0
        self.cond = threading.Condition()

    def acquire(self):
        with self.cond:
            while self.files >= self.max_files or (self.files and self.bytes >= self.max_bytes):
                self.cond.wait()
            self.files += 1

    def charge(self, nbytes):
        with self.cond:
            self.bytes += nbytes

    def release(self, nbytes=0):
        with self.cond:
            self.files -= 1
            self.bytes -= nbytes
            self.cond.notify_all()


def _streams(job, options):
    """Whether this image job is resized strip by strip (resample.jobs.convert.streams)."""

    return not is_points(job.src) and convert.streams(job.src, job.dst, options)


def _nbytes(loaded):
    if isinstance(loaded, plain.Decoded):
        return loaded.nbytes
    array = getattr(loaded, "array", None)
    return array.nbytes if array is not None else 0


def warm_up(device="auto"):
    """Import the engine and the codecs in a background thread, so that it overlaps finding
    the files.  With a usable GPU (device "gpu", or "auto" where CuPy finds one) also start
    the GPU engine there: then device="auto" weighs each image without the cost of starting
    it, and large images go to the GPU.  (The thread is a daemon: it never enters the
    compiled CPU engine, which a thread stopped at interpreter exit must not be inside.)"""
    def load():
        try:
            if device != "cpu" and devices.gpu_reason() is None:
                resize(np.zeros((4, 4, 3), np.uint8), shape=(2, 2), device="gpu")
        except Exception:          # only a head start: the real work reports any problem
            pass

    thread = threading.Thread(target=load, name="resample-warm-up", daemon=True)
    thread.start()
    return thread


def failure_reason(exc):
    """One line naming what went wrong with a file, whatever was raised."""
    if isinstance(exc, ResampleError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return "out of memory"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return f"internal error: {type(exc).__name__}: {first_line(exc)}"


def decide(job, overwrite):
    """``(status, reason)`` for a job that is not to be converted (failed, or skipped: its
    output exists), else None.  An input that is not a regular file (a FIFO, a device, a
    socket: a list may name one) fails before it is opened."""
    if job.error:
        return "failed", job.error
    why = not_a_file(job.src)
    if why:
        return "failed", why
    if os.path.exists(job.dst) and not overwrite:
        if os.path.samefile(job.dst, job.src):
            return "failed", "the output would replace it (pass --overwrite)"
        return "skipped", None
    return None


def run(jobs, options: Options, *, workers=None, overwrite=False, fail_fast=False,
        progress=True, on_failure=None):
    """Convert ``jobs`` (with outputs planned); return a :class:`Summary`.

    Two pools of ``workers`` threads (default: one per core) form a pipeline: one decodes
    files ahead (at most 4 x workers + 4 files and a quarter of the free memory, up to 1 GiB),
    the other resamples and encodes.  The largest files go first, so that no core idles
    at the end waiting for one big file.
    ``progress``: a tqdm bar on stderr (None: only when stderr is a terminal).
    ``on_failure(path, reason)`` is called for each failed file as it fails.  Ctrl-C or
    SIGTERM stops the run: files being written are finished or dropped, never left
    half-written, and ``Summary.interrupted`` is set."""
    load_input = convert.load_input
    options = options.replace(overwrite=options.overwrite or overwrite)

    cores = _cores() or 1
    workers = max(1, workers or cores)
    compute = _Compute(max(1, cores // workers))
    stop = threading.Event()

    budget = _Budget(4 * workers + 4, min(1 << 30, memory.available_memory() // 4))
    results = queue.SimpleQueue()                            # (job, status, reason)
    handed_to = []                                           # the encoders' futures
    decoders = ThreadPoolExecutor(workers, thread_name_prefix="resample-decode")
    encoders = ThreadPoolExecutor(workers, thread_name_prefix="resample-encode")

    failure = failure_reason

    def finish(job, loaded):
        try:
            if stop.is_set():
                results.put((job, "cancelled", None))
                return
            notes = convert_file(job.src, job.dst, options, loaded=loaded,
                                 cancelled=stop.is_set, compute=compute)
            done = not stop.is_set() or os.path.exists(job.dst)
            results.put((job, "converted" if done else "cancelled", notes or []))
        except Exception as exc:          # noqa: BLE001 (any error is this file's failure)
            results.put((job, "failed", failure(exc)))
        finally:
            budget.release(_nbytes(loaded))

    def start(job):
        """Decode stage: decide, read, and hand the file to the encoders."""
        budget.acquire()
        held, handed = 0, False
        try:
            decided = decide(job, overwrite)
            if stop.is_set():
                results.put((job, "cancelled", None))
            elif decided is not None:
                results.put((job, *decided))
            else:
                os.makedirs(os.path.dirname(job.dst) or ".", exist_ok=True)
                # one the plain job takes is read by it (resample.jobs.plain: Pillow's buffers
                # or imagecodecs', no arrays made); a file that streams is read by the
                # encoder, strip by strip
                loaded = None
                if plain.takes(job.src, job.dst, options):
                    loaded = plain.read(job.src, job.dst, options, decoder=images.fast_decode)
                if loaded is None and not _streams(job, options):
                    loaded = load_input(job.src, options)
                held = _nbytes(loaded)
                budget.charge(held)
                try:
                    handed_to.append(encoders.submit(finish, job, loaded))
                    handed = True
                except RuntimeError:      # the encoders were shut down: the run is stopping
                    results.put((job, "cancelled", None))
        except Exception as exc:          # noqa: BLE001 (any error is this file's failure)
            results.put((job, "failed", failure(exc)))
        finally:
            if not handed:
                budget.release(held)

    summary = Summary()
    bar = progress_bar(len(jobs), "file", progress)
    record = recorder(summary, bar, on_failure, stop if fail_fast else None)
    t0 = time.perf_counter()
    futures, handed = [], handed_to
    with sigterm_as_interrupt():          # SIGTERM stops a run as Ctrl-C does
        try:
            for job in sorted(jobs, key=file_size, reverse=True):
                futures.append(decoders.submit(start, job))
            for _ in range(len(jobs)):
                record(*results.get())
                if stop.is_set():
                    break
        except KeyboardInterrupt:
            summary.interrupted = True
            stop.set()
        finally:
            stop.set()
            for fut in futures:
                fut.cancel()
            if summary.interrupted:       # a reader blocked in the system is not waited for
                decoders.shutdown(wait=False, cancel_futures=True)
                encoders.shutdown(wait=False, cancel_futures=True)
                wait(futures + handed, timeout=STOP_SECONDS)
            decoders.shutdown(wait=not summary.interrupted)
            encoders.shutdown(wait=not summary.interrupted)   # writers finish, or are dropped
            while not results.empty():
                record(*results.get())
            bar.close()
    summary.not_started = len(jobs) - summary.converted - summary.skipped - summary.failed
    summary.seconds = time.perf_counter() - t0
    return summary


def recorder(summary, bar, on_failure, stop_on_failure):
    """``record(job, status, reason)``: counts a file's outcome into ``summary`` (its notes
    when converted: ``reason`` is then the list of notes), reports a failure, and sets the
    event ``stop_on_failure`` (if any) at the first one."""
    def record(job, status, reason):
        if status == "cancelled":
            return
        setattr(summary, status, getattr(summary, status) + 1)
        if status == "converted":
            for text in dict.fromkeys(reason or ()):    # each kind once a file
                summary.notes[text] = summary.notes.get(text, 0) + 1
        if status == "failed":
            reason = reason if reason.startswith(job.src) else f"{job.src}: {reason}"
            summary.failures.append((job.src, reason))
            if on_failure is not None:
                bar.clear()
                on_failure(job.src, reason)
            if stop_on_failure is not None:
                stop_on_failure.set()
        bar.update(1)
        bar.set_postfix_str(f"failed {summary.failed}", refresh=False)

    return record


def check_address(address):
    """Refuse a scheduler address that names no host and port: ``tcp://HOST:PORT`` (or
    ``HOST:PORT``, or another scheme the client takes: tls://, inproc://)."""
    text = str(address)
    try:
        parts = urlsplit(text if "://" in text else "tcp://" + text)
        port = parts.port
        if parts.scheme == "tcp" and not parts.hostname:
            raise ValueError("no host")
    except ValueError as exc:
        raise ResampleError(f"--scheduler {excerpt(address)} is not an address such as "
                            f"tcp://HOST:8786 ({first_line(exc)})") from None
    return port


def file_size(job):
    try:
        return os.path.getsize(job.src)
    except OSError:
        return 0
