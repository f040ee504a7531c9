"""The ``resample`` command.

Heavy modules (NumPy, numba, Pillow) are imported inside the command, so ``--help`` is fast.
Exit codes: 0 ok; 1 a runtime error; 2 a usage error.  Errors are one line on stderr.
"""

from __future__ import annotations

import math
import os
import re
import sys

import click

from .errors import ResampleError

METHOD_NAMES = ("nearest", "bilinear", "bicubic", "lanczos", "gri", "gmm")
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
@click.option("--sigma", metavar="auto|S", help="Point clouds: the Gaussians' sigma in "
              "output pixels, or auto (from the local point density and contrast). Default: "
              "the CSV's sigma columns, else auto.")
@click.option("--cutoff", type=float, default=3.0, show_default=True,
              help="Point clouds: a point reaches pixels within this many sigmas.")
@click.option("--holes", type=click.Choice(("nearest", "constant"), case_sensitive=False),
              default="nearest", show_default=True,
              help="Point clouds: pixels no point reaches take the nearest point's value, or "
                   "--fill.")
@click.option("--coords", type=click.Choice(("pixel", "unit", "normalized"),
                                            case_sensitive=False), default="pixel",
              show_default=True, help="Point clouds: x, y in output pixels, in [0, 1], or in "
              "[-1, 1] (unit and normalized span the image's outer edges; they need --size).")
@click.option("--weights", metavar="FILE", help="Point clouds: also write the weight map Z "
              "(the confidence; 0 in holes), scaled to 0-255 (or as float for .tif).")
@click.option("--overwrite", is_flag=True, help="Allow the output to replace the input file.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
@click.version_option(package_name="resample-images", prog_name="resample")
def command(input, output, method, scale, size, align, boundary, fill, no_antialias, device,
            sigma, cutoff, holes, coords, weights, overwrite, quiet):
    """Resize an image file, or rebuild an image from a point-cloud CSV.

    INPUT is an image (PNG, JPEG, TIFF, WebP, BMP, ...).  8-bit, 16-bit and 32-bit float
    images keep their depth where the output format allows; alpha is premultiplied while
    resampling; EXIF orientation is applied; ICC profile and DPI are carried over.

    INPUT may also be a .csv/.tsv of points (x, y, then v, r,g,b or r,g,b,a, optionally
    sigma): every point is a 2-D Gaussian and a pixel is their weighted mean (method gmm).

    Also: `resample points IMAGE -o pts.csv --count N` samples a point cloud from an image,
    and `resample fit IMAGE -o pts.csv --count N` fits one to it (see their --help).
    """
    if os.path.isdir(input):
        raise UsageError(f"{input}: is a folder; batch conversion is not in this version")
    if input.lower().endswith((".csv", ".tsv")):
        return _reconstruct_csv(input, output, size, scale, sigma, cutoff, holes, fill, coords,
                                weights, device, overwrite, quiet)
    if (scale is None) == (size is None):
        raise UsageError("give one of --scale or --size")
    if sigma is not None or weights is not None or coords != "pixel":
        raise UsageError("--sigma, --coords and --weights apply to point-cloud CSV input")

    from . import devices, images

    devices.select(device)
    if output is not None:
        _check_output(output, input, overwrite)
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


def _check_output(output, input, overwrite):
    from . import images

    try:
        images.output_format(output)        # an unknown extension fails before any work
    except ResampleError as exc:
        raise UsageError(str(exc)) from None
    if os.path.exists(output) and os.path.samefile(output, input) and not overwrite:
        raise UsageError(f"{output}: is the input; pass --overwrite to replace it")


def _parse_sigma(text):
    if text is None or text.lower() == "auto":
        return "auto"
    try:
        s = float(text)
    except ValueError:
        raise UsageError(f"--sigma {text!r} is not a number or auto") from None
    if not (s > 0 and math.isfinite(s)):
        raise UsageError(f"--sigma must be a finite number above 0, got {text}")
    return s


def _reconstruct_csv(input, output, size, scale, sigma, cutoff, holes, fill, coords, weights,
                     device, overwrite, quiet):
    if output is None:
        raise UsageError("a point cloud needs -o OUT (the image to write)")
    if scale is not None:
        raise UsageError("--scale does not apply to a point cloud; use --size WxH")
    if not (cutoff > 0 and math.isfinite(cutoff)):
        raise UsageError(f"--cutoff must be a finite number above 0, got {cutoff}")
    _check_output(output, input, overwrite)
    if weights is not None:
        _check_output(weights, input, overwrite)
    sigma_arg = _parse_sigma(sigma)

    import numpy as np

    from . import devices, gmm, images, pointcloud

    devices.select(device)
    cloud = pointcloud.read_csv(input)
    frame = None
    if size is not None:
        m = re.match(r"^\s*(\d+)x(\d+)!?\s*$", size)
        if not m or int(m.group(1)) < 1 or int(m.group(2)) < 1:
            raise UsageError(f"--size {size!r}: a point cloud needs WxH")
        frame = (int(m.group(1)), int(m.group(2)))
    xy = pointcloud.to_pixels(cloud.xy, coords.lower(), frame)
    width, height = frame or pointcloud.size_from_points(xy)
    outside = int(np.sum((xy[:, 0] < -0.5) | (xy[:, 0] > width - 0.5)
                         | (xy[:, 1] < -0.5) | (xy[:, 1] > height - 0.5)))
    if outside and not quiet:
        _note(f"{outside} of {len(xy)} points lie outside the {width}x{height} frame")
    if sigma is None and cloud.sigma is not None:
        sigma_arg = cloud.sigma
    out, z = gmm.reconstruct(xy, cloud.values, (height, width), sigma=sigma_arg, cutoff=cutoff,
                             holes=holes.lower(), fill=fill, device=device, return_weights=True)
    fmt = images.output_format(output)
    n_ch = out.shape[2]
    pic = images.Picture(out if fmt == "TIFF" else images.to_dtype(out, np.uint8),
                         alpha=n_ch == 4)
    notes = images.save(pic, output)
    if weights is not None:
        wfmt = images.output_format(weights)
        zmax = float(z.max()) or 1.0
        zpic = z.astype(np.float32) if wfmt == "TIFF" else images.to_dtype(z / zmax * 255, np.uint8)
        notes += images.save(images.Picture(zpic), weights)
    if not quiet:
        for n in notes:
            _note(n)
        click.echo(output)


@click.command(context_settings={"help_option_names": ["-h", "--help"]},
               epilog="""\b
Examples:
  resample points photo.png -o pts.csv --fraction 0.05
  resample points photo.png -o pts.csv --count 2000 --pattern grid
  resample pts.csv -o back.png --size 512x512
""")
@click.argument("image", type=click.Path(path_type=str))
@click.option("-o", "--output", required=True, metavar="CSV", help="The point cloud to write.")
@click.option("--count", type=click.IntRange(min=1), help="How many points.")
@click.option("--fraction", type=click.FloatRange(min=0, max=1, min_open=True),
              help="Points as a fraction of the pixels, in (0, 1].")
@click.option("--pattern", type=click.Choice(("random", "grid"), case_sensitive=False),
              default="random", show_default=True,
              help="random: distinct pixel centres drawn uniformly; grid: cells of a regular "
                   "grid, each point at a cell's centre, its value sampled there (bilinear).")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
def points_command(image, output, count, fraction, pattern, seed, quiet):
    """Sample a point cloud (CSV: x, y and the pixel's values) from an image."""
    if (count is None) == (fraction is None):
        raise UsageError("give one of --count or --fraction")
    if not output.lower().endswith((".csv", ".tsv")):
        raise UsageError(f"{output}: the point cloud must be a .csv or .tsv file")
    import numpy as np

    from . import images, pointcloud

    pic = images.load(image)
    a = pic.array if pic.array.ndim == 3 else pic.array[..., None]
    if a.shape[2] == 2:                           # grey + alpha: keep the grey
        a = a[..., :1]
    height, width = a.shape[:2]
    n = count if count is not None else max(1, round(fraction * width * height))
    n = min(n, width * height)
    if pattern == "random":
        pick = np.random.default_rng(seed).choice(width * height, size=n, replace=False)
        rows, cols = np.divmod(pick, width)
        xy = np.stack([cols, rows], axis=1).astype(np.float64)
        values = a[rows, cols].astype(np.float64)
    else:
        xy, values, _ = pointcloud.grid_points(a, n)
    pointcloud.write_csv(output, xy, values)
    if not quiet:
        click.echo(output)


@click.command(context_settings={"help_option_names": ["-h", "--help"]},
               epilog="""\b
Examples:
  resample fit photo.png -o pts.csv --count 3000 --steps 500 --plot loss.png
  resample fit photo.png -o pts.csv --count 3000 --learn positions,values
  resample pts.csv -o rebuilt.png --size 256x256
""")
@click.argument("image", type=click.Path(path_type=str))
@click.option("-o", "--output", required=True, metavar="CSV", help="The fitted point cloud.")
@click.option("--count", type=click.IntRange(min=1), required=True, help="How many points.")
@click.option("--steps", type=click.IntRange(min=0), default=500, show_default=True,
              help="Adam steps.")
@click.option("--learn", default="positions,values,sigma", show_default=True,
              help="What to optimise: a comma list of positions, values, sigma.")
@click.option("--loss", type=click.Choice(("l1", "l2"), case_sensitive=False), default="l1",
              show_default=True, help="Mean absolute or squared error.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Jitter of the starting grid (0: none).")
@click.option("--plot", metavar="PNG", help="Also plot the loss curve (needs matplotlib).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar; print nothing but errors.")
def fit_command(image, output, count, steps, learn, loss, seed, plot, quiet):
    """Fit COUNT Gaussian points to an image by gradient descent (Adam on exact gradients).

    The points start on a regular grid; positions, values and per-point anisotropic sigma are
    optimised.  The CSV (x, y, values, sigma_x, sigma_y) renders back with `resample pts.csv`.
    """
    if not output.lower().endswith((".csv", ".tsv")):
        raise UsageError(f"{output}: the point cloud must be a .csv or .tsv file")
    from . import fit as fitting

    try:
        parts = fitting.parse_learn(learn)
    except ResampleError as exc:
        raise UsageError(str(exc)) from None
    if plot is not None:
        try:
            import matplotlib
        except ImportError:
            raise UsageError("--plot needs matplotlib (pip install 'resample-images[bench]')") from None
        matplotlib.use("Agg")
    from . import images, pointcloud

    pic = images.load(image)
    a = pic.array if pic.array.ndim == 3 else pic.array[..., None]
    if a.shape[2] == 2:
        a = a[..., :1]
    if count > a.shape[0] * a.shape[1]:
        raise UsageError(f"--count {count} is more than the image's {a.shape[0] * a.shape[1]} pixels")
    from tqdm import tqdm

    bar = tqdm(total=steps, desc="fit", unit="step", disable=quiet or None, leave=False)

    def progress(step, value):
        if step:
            bar.update(1)
        bar.set_postfix_str(f"{loss} {value:.4g}", refresh=False)

    try:
        result = fitting.fit(a, count, steps=steps, learn=parts, loss=loss.lower(), seed=seed,
                             progress=progress)
    finally:
        bar.close()
    pointcloud.write_csv(output, result.xy, result.values, result.sigma)
    if plot is not None:
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 4))
        ax.plot(result.history)
        ax.set_xlabel("step")
        ax.set_ylabel(f"{loss} loss")
        ax.set_title(f"{count} points, learning {', '.join(parts)}")
        fig.tight_layout()
        fig.savefig(plot)
        plt.close(fig)
    if not quiet:
        click.echo(f"{output}: {loss} {result.history[0]:.4g} -> {result.history[-1]:.4g}",
                   err=True)
        click.echo(output)


SUBCOMMANDS = {"points": points_command, "fit": fit_command}


def main(argv=None):
    """Entry point: run the command, turn every failure into one line and an exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    cmd, name = command, "resample"
    if argv and argv[0] in SUBCOMMANDS:
        cmd, name = SUBCOMMANDS[argv[0]], f"resample {argv[0]}"
        argv = argv[1:]
    try:
        cmd.main(args=argv, prog_name=name, standalone_mode=False)
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
