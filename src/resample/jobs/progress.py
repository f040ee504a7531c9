"""Progress bars (tqdm) for the jobs that take a while: folders, clusters, streams, fits.
tqdm itself is imported only for a bar that is shown: it reads its own version through
importlib.metadata, 30 to 40 ms, more than a small file's whole job."""

from __future__ import annotations

import sys

from .console import is_terminal


class NoBar:
    """What the runs ask of a progress bar, when none is shown."""

    def clear(self):
        pass

    def update(self, n=1):
        pass

    def set_postfix_str(self, text, refresh=True):
        pass

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def progress_bar(total, unit, progress=None, desc=None):
    """A tqdm bar on the standard error counting ``total`` ``unit``s, or one that shows
    nothing: ``progress`` False, or None where the standard error is no terminal, or a total
    under 2.  A context manager too."""
    if progress is False or total < 2 or (progress is None and not is_terminal(sys.stderr)):
        return NoBar()
    from tqdm import tqdm  # deferred: 35 ms (importlib.metadata), only for a bar shown

    return tqdm(total=total, unit=unit, desc=desc, file=sys.stderr, leave=False,
                disable=None if progress is None else not progress, dynamic_ncols=True)
