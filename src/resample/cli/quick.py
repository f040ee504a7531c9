"""The command's entry point, and its short path.

A plain resize of one 8-bit PNG or JPEG (grey or RGB) runs here without NumPy and click, whose
imports would take most of a small job's time (a shell loop pays them per file).  Everything
else, and anything the short path is unsure of, goes to the full command (resample.cli.command),
untouched: nothing is written before the short path has decided.  For what both can do, both
write the same pixels and metadata (tests/test_quick.py): the same tap tables (the C++ engine
builds them), the same fixed-point loops, the same encoders; the same bytes, but for PNGs under
ZLIB_BELOW, which the short path compresses with zlib instead of libdeflate.

The short path takes ``INPUT [-o OUT] (-s/--scale S | --size GEOMETRY) [-m/--method M]
[--quality Q] [--threads N] [-q/--quiet]``; the output is PNG or JPEG.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from array import array

_VALUED = {"-o": "output", "--output": "output", "-s": "scale", "--scale": "scale",
           "--size": "size", "-m": "method", "--method": "method", "--quality": "quality",
           "--threads": "threads"}
_FLAGS = {"-q": "quiet", "--quiet": "quiet"}
_INPUTS = (".png", ".jpg", ".jpeg")
_MODES = ("L", "RGB")
MAX_SIDE = 1 << 16          # one chunk of tap tables (taps.TAPS_CHUNK); larger: the full path
ZLIB_BELOW = 2 << 20        # PNG data smaller than this is compressed by zlib, not libdeflate
                            # (whose binding, imagecodecs, imports NumPy: 40 ms)


def main(argv=None):
    """Run the command (the ``resample`` executable and ``python -m resample``)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    code = short_path(argv)
    if code is not None:
        if sys.stdout is not None:
            sys.stdout.flush()
        return code
    from .command import main as full_command  # deferred: loaded when a job runs

    return full_command(argv)


def short_path(argv):
    """The exit code of running ``argv`` on the short path, or None where it does not apply."""
    job = _parse(argv)
    if job is None:
        return None
    # deferred: loaded when a job runs
    from ..jobs.console import quiet_libraries, sigterm_as_interrupt

    try:
        with sigterm_as_interrupt(), quiet_libraries():
            out_path = _resize(job)
    except KeyboardInterrupt:
        print("resample: interrupted", file=sys.stderr)
        return 130
    except Exception:                     # noqa: BLE001 (the full path decides and reports)
        return None
    if out_path is None:
        return None
    if not job["quiet"]:
        _print_path(out_path)
    return 0


def _print_path(path):
    """The output's path on stdout, as the full command prints it (a name that the terminal's
    encoding cannot show is written with escapes, not as an error)."""
    try:
        print(path)
    except UnicodeEncodeError:
        sys.stdout.flush()
        sys.stdout.buffer.write(path.encode("utf-8", "backslashreplace") + b"\n")


def _parse(argv):
    """The job as a dict, or None unless ``argv`` is a plain one-file resize."""
    job, inputs = {"quiet": False}, []
    i = 0
    while i < len(argv):
        arg = argv[i]
        name, eq, value = arg.partition("=")
        if arg in _FLAGS:
            key, value = _FLAGS[arg], True
        elif arg.startswith("--") and eq and name in _VALUED:
            key = _VALUED[name]
        elif arg in _VALUED and i + 1 < len(argv):
            key, value = _VALUED[arg], argv[i + 1]
            i += 1
        elif arg.startswith("-"):
            return None
        else:
            inputs.append(arg)
            i += 1
            continue
        if key in job and key != "quiet":
            return None                   # given twice: the full path's rules apply
        job[key] = value
        i += 1
    if len(inputs) != 1 or ("scale" in job) == ("size" in job):
        return None
    if any(c in job.get("size", "") for c in "<>"):
        return None                       # may leave the image as it is: the full command
    if inputs[0] == "-" or job.get("output") == "-":
        return None                       # standard input or output: the full command
    if os.environ.get("RESAMPLE_MAX_PIXELS"):
        return None                       # its own pixel limit: the full command applies it
    job["input"] = inputs[0]
    try:
        if "scale" in job:
            job["scale"] = float(job["scale"])
            if not (0 < job["scale"] < float("inf")):
                return None
        from ..spec.methods import ALIASES, METHODS  # deferred: loaded when a job runs

        job["method"] = job.get("method", "bilinear").lower()
        job["method"] = ALIASES.get(job["method"], job["method"])
        if job["method"] not in METHODS:
            return None
        if "quality" in job and not 1 <= int(job["quality"]) <= 100:
            return None
        if "threads" in job and not 1 <= int(job["threads"]) <= 1024:
            return None
    except ValueError:
        return None
    path = job["input"]
    if not (path.lower().endswith(_INPUTS) and os.path.isfile(path)
            and os.path.getsize(path) > 0):
        return None
    if importlib.util.find_spec("cupy") is not None:
        return None                       # --device auto may choose a GPU: the full path
    return job


def _png_is_8bit_grey_or_rgb(path):
    with open(path, "rb") as f:
        head = f.read(29)
    return (len(head) == 29 and head[12:16] == b"IHDR" and head[24] == 8
            and head[25] in (0, 2))


def _resize(job):
    """Resize job["input"] into its output; the output path, or None to leave it to the full
    path (nothing written)."""
    from PIL import Image  # deferred: not for --help

    from .. import compiled  # deferred: loaded when a job runs
    from ..spec import memory  # deferred: loaded when a job runs
    from ..formats import files  # deferred: loaded when a job runs
    from ..spec import geometry  # deferred: loaded when a job runs

    path = job["input"]
    with Image.open(path) as im:
        fmt_in, mode = im.format, im.mode
        if (fmt_in not in ("PNG", "JPEG") or mode not in _MODES or "transparency" in im.info
                or (fmt_in == "PNG" and not _png_is_8bit_grey_or_rgb(path))
                or getattr(im, "n_frames", 1) > 1):           # frames: the full command's
            return None
        meta = files.read_metadata(path, im)
        if meta.orientation != 1:
            return None
        width, height = im.size
        if "size" in job:
            out_w, out_h = geometry.parse_geometry(job["size"], width, height)
        else:
            out_w, out_h = (geometry.scaled_side(n, job["scale"]) for n in (width, height))
        out_path = job.get("output") or geometry.default_output(path, job["method"],
                                                              (out_w, out_h))
        fmt = files.output_format(out_path)
        folder = os.path.dirname(os.path.abspath(out_path))
        if (fmt not in ("PNG", "JPEG") or max(out_w, out_h, width, height) > MAX_SIDE
                or ("quality" in job and fmt != "JPEG")                # the full path's note
                or not os.path.isdir(folder) or os.path.isdir(out_path)
                or (os.path.exists(out_path) and os.path.samefile(out_path, path))):
            return None
        files.check_size(fmt, out_w, out_h)
        if fmt_in == "JPEG":            # decoded smaller where the shrink allows, as load does
            scale = geometry.jpeg_draft_scale(width, height, out_w, out_h)
            if scale > 1:
                im.draft(mode, (width // scale, height // scale))
                width, height = im.size
        # An RGB JPEG is written from RGBX samples, which Pillow takes without a copy (its own
        # layout of RGB); so they are resampled as four channels.
        raw = "RGBX" if mode == "RGB" and fmt == "JPEG" else mode
        n_ch = len(raw)
        # Pillow's buffer and our copy of it, the output, PNG's filtered and compressed copies
        # (the compressor's buffer is as large as its input), and the imports still to come
        memory.check_memory(width * height * (4 + n_ch) + 4 * out_w * out_h * n_ch
                             + 64 * (out_w + out_h) * 16 + (64 << 20), "the short path")
        im.load()
        pixels = _pixels(im, raw, width * height * n_ch)
    if "threads" in job:
        if int(job["threads"]) > memory.threads_that_fit():
            return None                   # more than fit: the full command says so
        compiled.set_default_threads(int(job["threads"]))
    out = _resize_pixels(pixels, (height, width, n_ch), (out_h, out_w), job["method"])
    if out is None:
        return None
    rows = memoryview(out).cast("B", (out_h, out_w * n_ch))
    with files.atomic_output(out_path) as f:
        if fmt == "PNG":
            from ..formats import png  # deferred: loaded when a job runs

            png.write_rows(f, rows, out_w, n_ch, 8, icc=meta.icc, dpi=meta.dpi,
                           exif=meta.exif, zlib_below=ZLIB_BELOW)
        else:
            options = files.pillow_save_options(fmt, meta.icc, meta.dpi, meta.exif,
                                                job.get("quality"))
            Image.frombuffer(raw, (out_w, out_h), out, "raw", raw, 0, 1).save(f, format=fmt,
                                                                             **options)
    return out_path


def _pixels(im, raw, size):
    """``im.tobytes("raw", raw)`` (``size`` bytes) in one piece: tobytes encodes in 64 KiB
    pieces and joins them, which takes twice as long for a camera photo."""
    from PIL import Image  # deferred: not for --help

    try:
        encoder = Image._getencoder(im.mode, "raw", raw)
        encoder.setimage(im.im, (0, 0, *im.size))
        try:
            _, status, data = encoder.encode(size + 1)
        finally:
            encoder.cleanup()
        if status == 1 and len(data) == size:          # 1: all of it
            return data
    except (AttributeError, TypeError, ValueError):     # Pillow's internals moved
        pass
    return im.tobytes("raw", raw)


def _table(n_in, n_out, method):
    """(index, weight, count, widest) of resizing an axis, as resample.spec.taps.resize_taps builds
    it (align centers, boundary truncate, antialiased), in flat arrays of the full width."""
    from ..compiled import core  # deferred: loaded when a job runs
    from ..spec.methods import BOUNDARY_IDS, taps_width  # deferred: loaded when a job runs

    step = n_in / n_out
    positions = array("d", bytes(8 * n_out))
    core.centre_positions(n_in, positions, method.name == "nearest")   # as taps.output_positions
    stretch = max(1.0, step) if method.antialias else 1.0
    boundary = BOUNDARY_IDS["truncate"]
    width = taps_width(method.support, stretch, boundary)
    index, weight = array("q", bytes(8 * n_out * width)), array("d", bytes(8 * n_out * width))
    count, fill = array("q", bytes(8 * n_out)), array("d", bytes(8 * n_out))
    widest = core.taps(positions, n_in, method.id, method.support, stretch, boundary,
                       memoryview(index).cast("B").cast("q", (n_out, width)),
                       memoryview(weight).cast("B").cast("d", (n_out, width)), count, fill)
    return (memoryview(index).cast("B").cast("q", (n_out, width)),
            memoryview(weight).cast("B").cast("d", (n_out, width)), count, max(1, widest))


def _resize_pixels(pixels, shape, out_shape, method_name):
    """The resized pixels (a bytearray), or None where the fixed-point loops decline (the full
    path then runs the float loops): the same decisions as resample.engines.cpu.resize."""
    from ..compiled import core  # deferred: loaded when a job runs
    from ..spec.methods import METHODS  # deferred: loaded when a job runs
    from ..engines.passes import fixed_order_ok, pass_costs  # deferred: loaded when a job runs

    (height, width, n_ch), (out_h, out_w) = shape, out_shape
    method = METHODS[method_name]
    yi, yw, yc, _ = _table(height, out_h, method)
    xi, xw, xc, x_widest = _table(width, out_w, method)
    rows_first, cols_first = pass_costs(height, width, out_h, out_w, sum(yc) / out_h, x_widest)
    if not fixed_order_ok(rows_first, cols_first):
        return None
    out = bytearray(out_h * out_w * n_ch)
    src = memoryview(pixels).cast("B", (height, width * n_ch))
    done = core.resize_fixed8(src, yi, yw, yc, xi, xw, xc,
                              memoryview(out).cast("B", (out_h, out_w * n_ch)),
                              min(out_h, 16 * core.threads()))
    return out if done else None
