"""The ``resample`` command.

Heavy modules (NumPy, numba, Pillow) are imported inside the command, so ``--help`` is fast.
Exit codes: 0 ok; 1 a runtime error; 2 a usage error.  Errors are one line on stderr.
"""

from __future__ import annotations

import os
import re
import sys

import click

from .errors import ResampleError

METHOD_NAMES = ("nearest", "bilinear", "bicubic", "lanczos", "gri")
BOUNDARY_NAMES = ("edge", "reflect", "mirror", "wrap", "constant", "extrapolate")

EPILOG = """\b
Examples:
  resample photo.png --method gri --scale 2        # writes photo-gri-<W>x<H>.png
  resample photo.jpg -o small.jpg --size 50%
  resample photo.png -o thumb.png --size 256x256   # fit inside 256x256, keep aspect
  resample photo.png -o wide.png --size 800x600!   # exactly 800x600
  resample scan.tif -o out.tif --size 1200x --method lanczos
\b
--size takes ImageMagick geometry: WxH (fit inside, keep aspect), WxH! (exact),
Wx or W (width, keep aspect), xH (height, keep aspect), N% (scale).
"""


class UsageError(click.UsageError):
    pass


def _note(msg):
    click.echo(f"resample: note: {msg}", err=True)


_GEOMETRY = re.compile(r"^\s*(?:(\d+(?:\.\d*)?)%|(\d+)?(?:x(\d+)?)?(!)?)\s*$", re.IGNORECASE)


def parse_geometry(text, width, height):
    """Output (width, height) for ImageMagick geometry ``text`` and an input of width x height."""
    m = _GEOMETRY.match(text or "")
    if not m or not (m.group(1) or m.group(2) or m.group(3)):
        raise UsageError(f"--size {text!r} is not WxH, WxH!, Wx, xH or N%")
    pct, w, h, exact = m.groups()
    if pct is not None:
        s = float(pct) / 100.0
        if s <= 0:
            raise UsageError(f"--size {text!r} must be above 0%")
        return max(1, round(width * s)), max(1, round(height * s))
    w = int(w) if w else None
    h = int(h) if h else None
    if (w is not None and w < 1) or (h is not None and h < 1):
        raise UsageError(f"--size {text!r} needs sizes of at least 1")
    if w and h:
        if exact:
            return w, h
        s = min(w / width, h / height)
        return max(1, min(w, round(width * s))), max(1, min(h, round(height * s)))
    if w:
        return w, max(1, round(height * w / width))
    return max(1, round(width * h / height)), h


def _parse_scale(ctx, param, value):
    if value is None:
        return None
    try:
        s = float(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a number") from None
    if not (s > 0 and s != float("inf")):
        raise click.BadParameter(f"must be a finite number above 0, got {value}")
    return s


def _parse_fill(ctx, param, value):
    try:
        return float(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a number (nan is allowed)") from None


def default_output(path, method, size):
    stem, ext = os.path.splitext(path)
    return f"{stem}-{method}-{size[0]}x{size[1]}{ext}"


@click.command(epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("input", metavar="INPUT", type=click.Path(dir_okay=True, path_type=str))
@click.option("-o", "--output", metavar="OUT",
              help="Output file; its extension picks the format. Default: beside INPUT, "
                   "named INPUT-METHOD-WxH.EXT.")
@click.option("-m", "--method", type=click.Choice(METHOD_NAMES, case_sensitive=False),
              default="bilinear", show_default=True, help="Resampling kernel.")
@click.option("-s", "--scale", callback=_parse_scale, metavar="S",
              help="Scale factor, e.g. 2 or 0.5.")
@click.option("--size", metavar="GEOMETRY", help="Output size, ImageMagick style (see below).")
@click.option("--align", type=click.Choice(("centers", "corners"), case_sensitive=False),
              default="centers", show_default=True,
              help="centers: pixel areas line up (Pillow, OpenCV); corners: corner pixel "
                   "centres line up (torch align_corners=True).")
@click.option("--boundary", type=click.Choice(BOUNDARY_NAMES, case_sensitive=False),
              default="edge", show_default=True, help="How samples beyond the border are made.")
@click.option("--fill", default="0", callback=_parse_fill, metavar="V", show_default=True,
              help="Value outside the image for --boundary constant.")
@click.option("--no-antialias", is_flag=True, help="When shrinking, point-sample instead of "
              "widening the kernel (like OpenCV).")
@click.option("--device", type=click.Choice(("auto", "cpu", "gpu"), case_sensitive=False),
              default="auto", show_default=True, help="Where to compute.")
@click.option("--overwrite", is_flag=True, help="Allow the output to replace the input file.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
@click.version_option(package_name="resample-images", prog_name="resample")
def command(input, output, method, scale, size, align, boundary, fill, no_antialias, device,
            overwrite, quiet):
    """Resize an image file.

    INPUT is an image (PNG, JPEG, TIFF, WebP, BMP, ...).  8-bit, 16-bit and 32-bit float
    images keep their depth where the output format allows; alpha is premultiplied while
    resampling; EXIF orientation is applied; ICC profile and DPI are carried over.
    """
    if (scale is None) == (size is None):
        raise UsageError("give one of --scale or --size")
    if os.path.isdir(input):
        raise UsageError(f"{input}: is a folder; batch conversion is not in this version")
    if input.lower().endswith((".csv", ".tsv")):
        raise UsageError(f"{input}: point-cloud reconstruction is not in this version")

    from . import devices, images

    devices.select(device)
    if output is not None:
        try:
            images.output_format(output)        # an unknown extension fails before any work
        except ResampleError as exc:
            raise UsageError(str(exc)) from None
    pic = images.load(input)
    width, height = pic.size
    if size is not None:
        out_w, out_h = parse_geometry(size, width, height)
    else:
        out_w, out_h = (max(1, round(n * scale)) for n in (width, height))
    out_path = output or default_output(input, method, (out_w, out_h))
    if os.path.exists(out_path) and os.path.samefile(out_path, input) and not overwrite:
        raise UsageError(f"{out_path}: is the input; pass --overwrite to replace it")
    if not quiet:
        for n in pic.notes:
            _note(n)
    result = images.resize_picture(pic, shape=(out_h, out_w), method=method, align=align,
                                   boundary=boundary, fill=fill, antialias=not no_antialias,
                                   device=device)
    notes = images.save(result, out_path)
    if not quiet:
        for n in notes:
            _note(n)
        click.echo(out_path)


def main(argv=None):
    """Entry point: run the command, turn every failure into one line and an exit code."""
    try:
        command.main(args=argv, prog_name="resample", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return _exit(exc.exit_code)
    except click.UsageError as exc:
        click.echo(f"resample: error: {exc.format_message()}", err=True)
        return _exit(2)
    except click.Abort:
        click.echo("resample: interrupted", err=True)
        return _exit(130)
    except click.ClickException as exc:
        click.echo(f"resample: error: {exc.format_message()}", err=True)
        return _exit(exc.exit_code)
    except ResampleError as exc:
        click.echo(f"resample: error: {exc}", err=True)
        return _exit(1)
    except KeyboardInterrupt:
        click.echo("resample: interrupted", err=True)
        return _exit(130)
    except MemoryError:
        click.echo("resample: error: out of memory", err=True)
        return _exit(1)
    except Exception as exc:  # a bug: still one line, unless asked for the traceback
        if os.environ.get("RESAMPLE_DEBUG"):
            raise
        text = str(exc).strip().splitlines()
        click.echo(f"resample: internal error: {type(exc).__name__}: "
                   f"{text[0] if text else ''} (set RESAMPLE_DEBUG=1 for details)", err=True)
        return _exit(1)
    return _exit(0)


def _exit(code):
    sys.stdout.flush()
    return code


if __name__ == "__main__":
    sys.exit(main())
