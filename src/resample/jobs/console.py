"""What the command says, and what the libraries it uses may not say (light: no NumPy;
the plain job uses it too)."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
import time
import warnings

from ..formats.files import remove_active_parts


def is_terminal(stream):
    """Whether ``stream`` is a terminal (False for a closed or replaced one)."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def note(msg):
    """A note on the standard error: something the user may want to know, not a failure."""
    print(f"resample: note: {msg}", file=sys.stderr)


@contextlib.contextmanager
def quiet_libraries():
    """What the libraries say is not for the user of the command: what matters to them
    becomes a note or an error of our own.  Python warnings (NumPy's RuntimeWarning,
    Pillow's) and tifffile's log are silenced, and so are the lines that C decoders (libtiff,
    libjpeg) write straight to the standard error (file descriptor 2): our own messages go
    to a copy of it, and descriptor 2 itself to /dev/null.  RESAMPLE_DEBUG=1 keeps them."""
    if os.environ.get("RESAMPLE_DEBUG"):
        yield
        return

    log = logging.getLogger("tifffile")
    was_disabled = log.disabled
    log.disabled = True
    try:
        with warnings.catch_warnings(), c_stderr_silenced():
            warnings.simplefilter("ignore")
            yield
    finally:
        log.disabled = was_disabled


@contextlib.contextmanager
def c_stderr_silenced():
    try:
        real = sys.stderr.fileno() == 2
    except (AttributeError, OSError, ValueError):
        real = False                       # captured (tests, a notebook): nothing to do
    if not real:
        yield
        return
    old = sys.stderr
    old.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    sys.stderr = _WithoutLibraryLines(open(saved, "w", buffering=1, encoding=old.encoding,
                                           errors=old.errors or "backslashreplace",
                                           closefd=False))
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        sys.stderr = old
        os.close(saved)
        os.close(devnull)


class _WithoutLibraryLines:
    """The standard error as Python code writes to it, less the lines that C libraries send
    through Python's own stream (libpng's warnings, by imagecodecs) rather than file
    descriptor 2."""

    PREFIXES = ("PNG warning: ", "libpng warning: ")

    def __init__(self, stream):
        self._stream = stream

    def write(self, text):
        if text.startswith(self.PREFIXES):
            return len(text)
        return self._stream.write(text)

    def __getattr__(self, name):
        return getattr(self._stream, name)


@contextlib.contextmanager
def sigterm_as_interrupt():
    """While inside, SIGTERM stops the work as Ctrl-C does (a KeyboardInterrupt): files being
    written are removed, never left half-written.  Only the main thread can set handlers;
    elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def busy_threads():
    """This package's worker threads (named resample-...) that an exit would wait for."""
    return [t for t in threading.enumerate()
            if t.name.startswith("resample-") and not t.daemon and t.is_alive()]


def exit_if_stuck(code, seconds=2.0):
    """After an interrupted run (``code`` 130), before the interpreter exits (which joins
    every worker thread): where one of our workers is still blocked in the system (a reader
    on a file that never opens), remove this process's temporary outputs and exit at once
    with ``code``, rather than wait for ever."""
    if code != 130:
        return
    deadline = time.monotonic() + seconds
    for t in busy_threads():
        t.join(max(0.0, deadline - time.monotonic()))
    if not busy_threads():
        return

    remove_active_parts()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)
