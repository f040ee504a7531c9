"""Where the command writes, and what it says: outputs checked before any work (a usage
error, exit 2, names the problem), and the lines it prints.  Light: the command's start-up
and the plain job use it."""

from __future__ import annotations

import os
import sys

from ..errors import ResampleError
from ..formats.files import LOSSY, check_zarr_output, output_format
from ..jobs.console import note
from ..spec.geometry import WRITTEN_AS
from .parser import UsageError


def echo(text, err=False):
    """A line on the standard output (or error); a name its encoding cannot show is written
    with escapes, not as an error; a closed stream takes nothing."""
    stream = sys.stderr if err else sys.stdout
    if stream is None:
        return
    try:
        stream.write(text + "\n")
    except UnicodeEncodeError:
        stream.flush()
        stream.buffer.write(text.encode("utf-8", "backslashreplace") + b"\n")
    if err:
        stream.flush()


def report(notes, path, quiet):
    """A finished job: its notes on the standard error, then the output's path on the
    standard output (nothing with -q)."""
    if not quiet:
        for n in notes:
            note(n)
        echo(path)


def one_size(scale, size, required=True):
    """A resize needs one of --scale and --size (``required``), and never both."""
    if required and scale is None and size is None:
        raise UsageError("give --scale S or --size GEOMETRY (e.g. --scale 0.5, --size 50%, "
                         "--size 800x600)")
    if scale is not None and size is not None:
        raise UsageError("give --scale or --size, not both")


def check_output(output, input, overwrite):
    """An output the command may write: a known format, a Zarr store it may replace, not the
    input unless --overwrite."""
    try:
        output_format(output)        # an unknown extension fails before any work
    except ResampleError as exc:
        raise UsageError(str(exc)) from None
    if is_zarr_name(output):
        try:
            check_zarr_output(output, input, overwrite)
        except ResampleError as exc:
            raise UsageError(str(exc)) from None
    elif os.path.exists(output) and os.path.samefile(output, input) and not overwrite:
        raise UsageError(f"{output}: is the input; pass --overwrite to replace it")


def is_zarr_name(path):
    """An output named as a Zarr store (``NAME.zarr``, with or without a trailing slash)."""
    return os.fspath(path).rstrip("/\\").lower().endswith(".zarr")


def into_folder(folder, input):
    """``-o DIR/`` for one file: the output is DIR/<the input's file name> (a format that is
    read, not written, as WRITTEN_AS says: HEIC as JPEG), DIR made if it does not exist."""
    stem, ext = os.path.splitext(os.path.basename(os.path.normpath(input)))
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        raise ResampleError(f"{folder}: cannot make the folder ({exc.strerror or exc})") \
            from None
    return os.path.join(folder, stem + WRITTEN_AS.get(ext.lower(), ext))


def check_not_into_itself(folder, output, suffix, out_format, overwrite):
    """A folder converted into itself under the same names would replace every input: one
    usage error, before any work (--suffix, --format or --overwrite say otherwise)."""
    if (os.path.isdir(output) and os.path.samefile(folder, output) and not suffix
            and out_format is None and not overwrite):
        raise UsageError(f"{folder}: converting a folder into itself would replace its files; "
                         "give --suffix, --format or another -o (or --overwrite)")


def quality_note(quality, out_path):
    """A note when --quality is given for an output that has none (it is ignored)."""
    fmt = output_format(out_path)
    if quality is None or fmt in LOSSY:
        return []
    return [f"--quality applies to JPEG, WebP and AVIF output; ignored for {fmt}"]
