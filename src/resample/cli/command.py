"""The ``resample`` command and its subcommands: each one's options, listed once as data (the
parser and the help come from them: cli/parser.py), and what it runs.

:func:`main` parses the arguments once, into the job's spec (resample.spec.options.Options),
and hands it to a job: a plain 8-bit resize of one PNG or JPEG to resample.jobs.plain, which
needs no NumPy, anything else to the full jobs, which load when they run.  Exit codes: 0 ok;
1 a runtime error; 2 a usage error.  Errors are one line on stderr.
"""

from __future__ import annotations

import math
import os
import sys

from ..errors import ResampleError, excerpt
from .. import compiled
from ..formats.files import is_points, is_zarr, output_format
from ..jobs import plain
from ..jobs.console import exit_if_stuck, note, quiet_libraries, sigterm_as_interrupt
from .output import check_output, echo, into_folder, one_size, quality_note, report
from ..spec import memory
from ..spec.methods import ALIASES, BOUNDARY_IDS, METHODS
from ..spec.options import Options
from .parser import Answer, Command, Option, UsageError, fraction, integer, number, positive

METHOD_NAMES = (*METHODS, *ALIASES, "gmm")
FORMAT_NAMES = ("png", "jpg", "jpeg", "webp", "avif", "tif", "tiff", "gif", "bmp")  # batch.FORMATS
BOUNDARY_NAMES = ("truncate", *(b for b in BOUNDARY_IDS if b != "truncate"))   # default first

EPILOG = """Examples:
  resample photo.png --method gri --scale 2        # writes photo-gri-<W>x<H>.png
  resample photo.jpg small.jpg --size 50%          # the same as -o small.jpg
  resample photo.png -o thumb.png --size 256x256   # fit inside 256x256, keep aspect
  resample photo.png -o wide.png --size 800x600!   # exactly 800x600
  resample scan.tif -o out.tif --size 1200x --method lanczos
  resample photos/ -o web/ --size '1600x1600>'    # shrink only the larger ones

--size takes ImageMagick geometry: WxH (fit inside, keep aspect), WxH^ (fill:
cover WxH, keep aspect), WxH! (exact), Wx or W (width), xH (height), N% (scale),
W%xH% (each side). A trailing > only shrinks (an image already within WxH is
left as it is: copied unchanged into the same format), < only enlarges. Quote
it in a shell: '800x600>'.
"""


BATCH_EPILOG = """Folders:
  resample photos/ -o small/ --scale 0.5           # every image in photos/, in parallel
  resample a.png b.jpg c.tif -o small/ --scale 0.5 # these files, into small/
  resample photos/ -o web/ -r --size '1600x1600>' --format webp --quality 80
  find . -name '*.tif' | resample --from-list - -o out/ --size 50%
  resample photos/ -o small/ --scale 0.5 --shard 3/8   # this machine's eighth of the files
"""


def _scale(text):
    """--scale: a finite number above 0 (a percentage belongs to --size)."""
    if text.strip().endswith("%"):
        raise ValueError(f"{text} is a percentage: give --size {text.strip()} (or --scale "
                         "as a factor, e.g. 0.5)")
    return positive(text)


# Spellings from ImageMagick, vips and other tools, with what to give instead.
HINTS = {
    "-resize": "ImageMagick's -resize is --size here, with the same geometry: --size 50%, "
               "--size 800x600",
    "-thumbnail": "ImageMagick's -thumbnail is --size here (add --strip)",
    "-scale": "ImageMagick's -scale is --size here (--method box for its box filter)",
    "-geometry": "give --size GEOMETRY",
    "-quality": "give --quality Q",
    "-filter": "give --method NAME",
    "--resize": "give --size GEOMETRY, e.g. --size 50% or --size 800x600",
    "--width": "give --size Wx for a width, e.g. --size 800x",
    "--height": "give --size xH for a height, e.g. --size x600",
    "-w": "give --size Wx for a width, e.g. --size 800x",
    "--out": "give -o OUT, or the output after the input: resample IN OUT",
    "--filter": "give --method NAME (lanczos, bicubic, ...)",
    "--interpolation": "give --method NAME (bilinear, bicubic, ...)",
    "--kernel": "give --method NAME (libvips' lanczos3 and cubic are names here too)",
    "--mode": "give --method NAME (torch's bilinear and bicubic: bilinear, sharpcubic)",
    "--antialias": "antialiasing is on when shrinking; --no-antialias turns it off",
}


OPTIONS = (
    Option("-o", "--output", metavar="OUT",
           help="Output file; its extension picks the format. Default: beside INPUT, named "
                "INPUT-METHOD-WxH.EXT. For a folder: the output folder."),
    Option("-m", "--method", choices=METHOD_NAMES, default="bilinear", show_default=True,
           help="Resampling kernel."),
    Option("-s", "--scale", parse=_scale, metavar="S",
           help="Scale factor, e.g. 2 or 0.5."),
    Option("--size", metavar="GEOMETRY", help="Output size, ImageMagick style (see below)."),
    Option("--align", choices=("centers", "corners"), default="centers", show_default=True,
           help="centers: pixel areas line up (Pillow, OpenCV); corners: corner pixel centres "
                "line up (torch align_corners=True)."),
    Option("--boundary", choices=BOUNDARY_NAMES, default="truncate", show_default=True,
           help="How samples beyond the border are made. truncate: taps outside are dropped "
                "and the rest reweighted, as Pillow and torch (antialias=True) do; edge: the "
                "border pixel is repeated."),
    Option("--fill", parse=number, default=0.0, metavar="V", show_default=True,
           help="Value outside the image for --boundary constant."),
    Option("--no-antialias", flag=True, help="When shrinking, point-sample instead of widening "
           "the kernel (like OpenCV)."),
    Option("--device", choices=("auto", "cpu", "gpu"), default="auto", show_default=True,
           help="Where to compute."),
    Option("--linear", flag=True, help="Resample in linear light: sRGB decoded before, encoded "
           "after (a gamma-correct resize)."),
    Option("--strip", flag=True, help="Write no metadata (EXIF, ICC profile, DPI)."),
    Option("--stream", flag=True, help="Resize strip by strip, in bounded memory (grey or RGB "
           "PNG, TIFF or Zarr into PNG, TIFF or Zarr; done anyway when the job would not fit in "
           "memory)."),
    Option("--exact", flag=True, help="Decode every pixel: no JPEG decoded at 1/2 or 1/4 size "
           "for a large shrink, no smaller pyramid level (bit-exact work)."),
    Option("--sharpen", flag=True, help="Sharpen the output mildly (a 3x3 unsharp mask, as "
           "vipsthumbnail's mild): for web-size thumbnails."),
    Option("--exif-thumbnail", flag=True, help="JPEG: start from the embedded EXIF thumbnail "
           "when it is at least twice the output a side (fast tiny previews; the camera made "
           "it)."),
    Option("--srgb", flag=True, help="Convert to sRGB from the input's ICC profile (8-bit RGB, "
           "when the profile is not sRGB) and tag the output sRGB."),
    Option("--pyramid", flag=True, help="TIFF output: add a pyramid of half-size levels "
           "(SubIFDs, down to one 256-pixel tile; the job streams)."),
    Option("--max-pixels", metavar="N", help="Refuse images of more than N pixels (250M, 1.5G, "
           "none) as decompression bombs. Default: Pillow's, about 179M; also "
           "RESAMPLE_MAX_PIXELS."),
    Option("--quality", parse=integer(1, 100), metavar="Q",
           help="JPEG, WebP and AVIF quality, 1-100.  [default: 95]"),
    Option("--sigma", metavar="auto|steered|S", help="Point clouds: the Gaussians' sigma in "
           "output pixels, auto (from the local point density and contrast), or steered "
           "(auto's, stretched along the local edges). Default: the CSV's sigma columns, else "
           "steered."),
    Option("--cutoff", parse=number, default=3.0, metavar="FLOAT", show_default=True,
           help="Point clouds: a point reaches pixels within this many sigmas."),
    Option("--holes", choices=("nearest", "constant"), default="nearest", show_default=True,
           help="Point clouds: pixels no point reaches take the nearest point's value, or "
                "--fill."),
    Option("--order", choices=("0", "1"),
           help="Point clouds: a pixel is the weighted mean of the points that reach it (0), "
                "or moved towards their weighted least-squares plane (1), which follows smooth "
                "ramps between sparse points. Default: 1 with the steered rule, 0 with the "
                "CSV's sigma columns or a --sigma number."),
    Option("--interpolate", choices=("yes", "no"),
           help="Point clouds: the image passes through the points (yes: each point's "
                "residual is spread over the pixels near it, and a pixel whose centre holds a "
                "point takes its value), or only approaches them (no). Default: yes with the "
                "steered rule, no with the CSV's sigma columns or a --sigma number."),
    Option("--coords", choices=("pixel", "unit", "normalized"), default="pixel",
           show_default=True, help="Point clouds: x, y in pixels of the CSV's frame, in [0, 1], "
           "or in [-1, 1] (unit and normalized span the frame's outer edges; without a "
           "'# frame: WxH' line they need --size WxH)."),
    Option("--weights", metavar="FILE", help="Point clouds: also write the weight map Z (the "
           "confidence; 0 in holes), scaled to 0-255 (or as float for .tif)."),
    Option("-r", "--recursive", flag=True,
           help="Folders: descend into subfolders and mirror them in the output folder."),
    Option("--include", many=True, metavar="GLOB",
           help="Folders: only files whose name or relative path matches (repeatable)."),
    Option("--exclude", many=True, metavar="GLOB",
           help="Folders: skip files whose name or relative path matches (repeatable)."),
    Option("--from-list", metavar="FILE|-",
           help="Convert the paths in FILE (or standard input), one per line, into -o."),
    Option("--format", dest="out_format", choices=FORMAT_NAMES,
           help="Folders and -o -: the output format. Default: the input's (PNG for point "
                "clouds)."),
    Option("--scheduler", metavar="ADDRESS", help="Folders: convert the files on the "
           "dask.distributed cluster whose scheduler is at ADDRESS (tcp://host:8786), a task a "
           "file; the paths must be the same on its workers."),
    Option("--suffix", default="", metavar="TEXT",
           help="Folders: added to each output's name, before the extension."),
    Option("-j", "--jobs", parse=integer(1), metavar="N",
           help="Folders: files converted at once.  [default: every core]"),
    Option("--shard", metavar="K/N", help="Folders: convert only the K-th of N stable parts of "
           "the files (1 <= K <= N), to split a job across machines."),
    Option("--fail-fast", flag=True, help="Folders: stop at the first failed file."),
    Option("--follow-links", flag=True,
           help="Folders: follow symbolic links that lead out of the folder."),
    Option("--overwrite", flag=True, help="Allow the output to replace the input file; for "
           "folders, also convert again the outputs that exist."),
    Option("--threads", parse=integer(1, 1024), metavar="N",
           help="CPU threads in all (also RESAMPLE_THREADS).  [default: every core]"),
    Option("-q", "--quiet", flag=True, help="Print nothing but errors."),
)


def resize_command(explicit, input, output, method, scale, size, align, boundary, fill,
                   no_antialias, device, linear, strip, stream, exact, sharpen, srgb,
                   exif_thumbnail, pyramid, max_pixels, quality, sigma, cutoff, holes, order,
                   interpolate,
                   coords, weights, recursive, include, exclude, from_list, out_format, scheduler,
                   suffix, jobs, shard, fail_fast, follow_links, overwrite, threads, quiet):
    """Resize an image file, or rebuild an image from a point-cloud CSV; or do it to every
    image of a folder.

    INPUT is an image (PNG, JPEG, TIFF, WebP, AVIF, HEIC, BMP, ..., or a Zarr array).  In
    `resample IN OUT` the second path is the output (as convert and vips take it), as with
    -o OUT; several inputs go into a folder: `resample a.png b.jpg -o DIR/` (as mogrify
    -path), or with the folder last.  8-bit, 16-bit
    and 32-bit float images keep their depth where the output format allows; alpha is
    premultiplied while resampling; EXIF orientation is applied; ICC profile and DPI are
    carried over.

    INPUT may also be a .csv/.tsv of points (x, y, then v, r,g,b or r,g,b,a, optionally
    sigma): every point is a 2-D Gaussian and a pixel is their weighted mean, moved
    towards their weighted least-squares plane with the steered rule (--order), and the
    image passes through the points (--interpolate).

    INPUT may be a folder, with -o naming the output folder: every image and CSV in it is
    converted, in parallel, with a progress bar; outputs that exist are skipped, so an
    interrupted run resumes.  Exit code 1 if any file failed.

    Also: `resample points IMAGE -o pts.csv --count N` samples a point cloud from an image,
    and `resample fit IMAGE -o pts.csv --count N` fits one to it (see their --help).
    """
    input, output, listed = _positional(input, output, overwrite)     # (INPUT...: a tuple)
    _set_threads(threads, quiet)
    if max_pixels is not None:
        _full().set_max_pixels(max_pixels)
    if input is not None and input != "-" and not os.path.lexists(input):
        raise ResampleError(f"{input if len(input) < 256 else excerpt(input)}: no such file "
                            "or folder")
    batch = from_list is not None or listed is not None or (
        input is not None and os.path.isdir(input) and not is_zarr(input))
    if input is None and from_list is None and listed is None:
        raise UsageError("give an INPUT file or folder, or --from-list FILE")
    if (input is not None or listed is not None) and from_list is not None:
        raise UsageError("give an INPUT or --from-list, not both")
    if not (cutoff > 0 and math.isfinite(cutoff)):
        raise UsageError(f"--cutoff must be a finite number above 0, got {cutoff}")
    try:                        # every parameter parsed once, into the spec handed down
        options = Options(method=method, scale=scale, size=size, align=align.lower(),
                          boundary=boundary.lower(), fill=fill, antialias=not no_antialias,
                          device=device.lower(), quality=quality, strip=strip, linear=linear,
                          stream=stream, pyramid=pyramid, exact=exact, sharpen=sharpen,
                          srgb=srgb, exif_thumbnail=exif_thumbnail,
                          sigma=_parse_sigma(sigma),
                          cutoff=cutoff, holes=holes.lower(),
                          order=None if order is None else int(order),
                          interpolate=None if interpolate is None else interpolate == "yes",
                          coords=coords.lower(),
                          overwrite=overwrite)
    except ResampleError as exc:
        raise UsageError(str(exc)) from None
    if batch:
        return _full().folder_or_list(input, from_list, output, options, weights, recursive,
                                      include, exclude, out_format, suffix, jobs, shard,
                                      fail_fast, follow_links, overwrite, quiet, scheduler,
                                      listed)
    if input == "-" or output == "-":
        return _full().piped(input, output, options, out_format, quiet)
    given = [name for name, value in (("-r", recursive), ("--include", include),
                                      ("--exclude", exclude), ("--format", out_format),
                                      ("--suffix", suffix), ("--jobs", jobs),
                                      ("--shard", shard), ("--fail-fast", fail_fast),
                                      ("--follow-links", follow_links),
                                      ("--scheduler", scheduler)) if value]
    if given:
        raise UsageError(f"{', '.join(given)}: for folders, lists and several inputs only"
                         + (" (and --format for -o -; one file's format is its output's "
                            "extension)" if out_format else ""))
    if is_points(input):
        return _reconstruct_csv(input, output, options, weights, overwrite, quiet, explicit)
    one_size(scale, size)
    given = _given(POINTS_ONLY, explicit)
    if given:
        raise UsageError(f"{', '.join(given)}: for point-cloud CSV input only")
    if _given({"fill": "--fill"}, explicit) and options.boundary != "constant":
        raise UsageError("--fill applies with --boundary constant")
    if output is not None and not is_zarr(output) and (os.path.isdir(output)
                                                       or output.endswith(("/", os.sep))):
        output = into_folder(output, input)     # -o DIR/: DIR/<the input's name>
    if output is not None:
        check_output(output, input, overwrite)
    if plain.applies(input, output, options, explicit):
        done = plain.resize(input, output, options)   # (None: the full job's to do)
        if done is not None:
            return report(quality_note(options.quality, done[0]) + done[1], done[0], quiet)
    _full().resize_file(input, output, options, quiet)


def _positional(inputs, output, overwrite):
    """``(input, output, listed)`` from the positional arguments: INPUT; IN OUT (the second
    is the output, as convert and vips take it); or several inputs, into the folder -o
    names (``listed``, as mogrify -path).  An OUT file that exists is replaced only with
    --overwrite: ``resample *.png`` over two files must not write one onto the other."""
    if len(inputs) <= 1:
        return (inputs[0] if inputs else None), output, None
    last = inputs[-1]
    if output is None and len(inputs) > 2 and (last.endswith(("/", os.sep)) or
                                               (os.path.isdir(last) and not is_zarr(last))):
        return None, last, list(inputs[:-1])          # several files, then a folder (as cp)
    if output is None and len(inputs) == 2:
        out = inputs[1]
        if os.path.isfile(out) and not overwrite:
            raise UsageError(f"{out} exists: `resample IN OUT` would replace it; give "
                             "--overwrite to replace it, or -o DIR/ to convert both into a "
                             "folder")
        return inputs[0], out, None
    if output is None:
        raise UsageError(f"{len(inputs)} inputs: give -o DIR/ (or a folder last) for their "
                         "outputs, or one input and its output: resample IN OUT")
    return None, output, list(inputs)


def _set_threads(threads, quiet):
    """--threads (or RESAMPLE_THREADS): no more threads than the address space holds (each
    reserves its stack), which a thread library would otherwise fail to start mid-run."""
    if threads is None and not os.environ.get("RESAMPLE_THREADS"):
        return
    wanted = threads if threads is not None else compiled.default_threads()
    room = memory.threads_that_fit()
    if wanted > room:
        if not quiet:
            note(f"{wanted} threads do not fit in the memory available: {room} are used")
        wanted = room
    compiled.set_default_threads(wanted)


# Options that only a resize uses, and only a rebuild from points: given with the other kind of
# input they would do nothing, so they are refused.
RESIZE_ONLY = {"method": "--method", "align": "--align", "boundary": "--boundary",
               "no_antialias": "--no-antialias", "linear": "--linear", "exact": "--exact",
               "sharpen": "--sharpen", "srgb": "--srgb", "pyramid": "--pyramid",
               "exif_thumbnail": "--exif-thumbnail"}
POINTS_ONLY = {"sigma": "--sigma", "cutoff": "--cutoff", "holes": "--holes", "order": "--order",
               "interpolate": "--interpolate", "coords": "--coords", "weights": "--weights"}


def _given(names, explicit):
    """The options of ``names`` ({parameter: flag}) given on the command line (``explicit``:
    the names of those given)."""
    return [flag for name, flag in names.items() if name in explicit]


def _parse_sigma(text):
    """None (the CSV's sigma columns, else steered), "auto", "steered", or a number above 0."""
    if text is None:
        return None
    if text.lower() in ("auto", "steered"):
        return text.lower()
    try:
        s = float(text)
    except ValueError:
        raise UsageError(f"--sigma {excerpt(text)} is not a number, auto or steered") from None
    if not (s > 0 and math.isfinite(s)):
        raise UsageError(f"--sigma must be a finite number above 0, got {text}")
    return s


def _reconstruct_csv(input, output, options, weights, overwrite, quiet, explicit):
    if output is None:
        raise UsageError("a point cloud needs -o OUT (the image to write)")
    if options.scale is not None and options.size is not None:
        raise UsageError("give --scale or --size, not both")
    given = [flag for flag in _given(RESIZE_ONLY, explicit)
             if not (flag == "--method" and options.points)]
    if given:
        raise UsageError(f"{', '.join(given)}: for images only (a point cloud is rebuilt "
                         "with Gaussians: see --sigma, --cutoff and --holes)")
    if _given({"fill": "--fill"}, explicit) and options.holes != "constant":
        raise UsageError("--fill applies with --holes constant (holes take the nearest "
                         "point's value by default)")
    check_output(output, input, overwrite)
    if weights is not None:
        check_output(weights, input, overwrite)
    _full().rebuild_csv(input, output, options, weights, quiet)


def points_command(explicit, image, output, count, fraction, pattern, seed, quiet):
    """Sample a point cloud (CSV: x, y and the pixel's values) from an image."""
    if (count is None) == (fraction is None):
        raise UsageError("give one of --count or --fraction")
    if not output.lower().endswith((".csv", ".tsv")):
        raise UsageError(f"{output}: the point cloud must be a .csv or .tsv file")
    _full().sample_points(image, output, count, fraction, pattern, seed, quiet)


def fit_command(explicit, image, output, count, steps, learn, loss, seed, plot, quiet):
    """Fit COUNT Gaussian points to an image by gradient descent (Adam on exact gradients).

    The points start on a regular grid; positions, values, per-point anisotropic sigma and its
    rotation are optimised, and the iterate of lowest loss is written.  The CSV (its frame,
    then x, y, values, sigma_x, sigma_y, theta) renders back with `resample pts.csv`.
    """
    if not output.lower().endswith((".csv", ".tsv")):
        raise UsageError(f"{output}: the point cloud must be a .csv or .tsv file")
    if plot is not None:
        try:
            output_format(plot)
        except ResampleError as exc:
            raise UsageError(f"--plot: {exc}") from None
    _full().fit(image, output, count, steps, learn, loss.lower(), seed, plot, quiet)


POINTS_OPTIONS = (
    Option("-o", "--output", required=True, metavar="CSV", help="The point cloud to write."),
    Option("--count", parse=integer(1), metavar="N", help="How many points."),
    Option("--fraction", parse=fraction, metavar="F",
           help="Points as a fraction of the pixels, in (0, 1]."),
    Option("--pattern", choices=("random", "grid"), default="random", show_default=True,
           help="random: distinct pixel centres drawn uniformly; grid: cells of a regular grid, "
                "each point at a cell's centre, its value sampled there (bilinear)."),
    Option("--seed", parse=integer(), default=0, metavar="N", show_default=True,
           help="Random seed."),
    Option("-q", "--quiet", flag=True, help="Print nothing but errors."),
)
POINTS_EPILOG = """Examples:
  resample points photo.png -o pts.csv --fraction 0.05
  resample points photo.png -o pts.csv --count 2000 --pattern grid
  resample pts.csv -o back.png --size 512x512
"""
FIT_OPTIONS = (
    Option("-o", "--output", required=True, metavar="CSV", help="The fitted point cloud."),
    Option("--count", parse=integer(1), required=True, metavar="N", help="How many points."),
    Option("--steps", parse=integer(0), default=500, metavar="N", show_default=True,
           help="Adam steps."),
    Option("--learn", default="positions,values,sigma,rotation", show_default=True,
           help="What to optimise: a comma list of positions, values, sigma (the axes) and "
                "rotation (steered Gaussians)."),
    Option("--loss", choices=("l1", "l2"), default="l1", show_default=True,
           help="Mean absolute or squared error."),
    Option("--seed", parse=integer(), default=0, metavar="N", show_default=True,
           help="Jitter of the starting grid (0: none)."),
    Option("--plot", metavar="PNG", help="Also draw the loss curve into this picture."),
    Option("-q", "--quiet", flag=True, help="No progress bar; print nothing but errors."),
)
FIT_EPILOG = """Examples:
  resample fit photo.png -o pts.csv --count 3000 --steps 500 --plot loss.png
  resample fit photo.png -o pts.csv --count 3000 --learn positions,values
  resample pts.csv -o rebuilt.png --size 256x256
"""

# The commands: each one's arguments and options, listed once; the parser and the help come
# from these lists (cli/parser.py).
COMMANDS = {
    None: (Command("resample", ("input*",), OPTIONS, resize_command.__doc__,
                   EPILOG + "\n" + BATCH_EPILOG, HINTS), resize_command),
    "points": (Command("resample points", ("image",), POINTS_OPTIONS, points_command.__doc__,
                       POINTS_EPILOG), points_command),
    "fit": (Command("resample fit", ("image",), FIT_OPTIONS, fit_command.__doc__, FIT_EPILOG),
            fit_command),
}


def _full():
    """The command's full jobs (cli/run.py), loaded when a job needs them: their modules
    (NumPy, the jobs, Pillow's codecs) are not for --help, a usage error or the plain job."""
    from . import run  # deferred: the full jobs (NumPy), not for --help or the plain job

    return run


def main(argv=None):
    """Entry point: run the command, turn every failure into one line and an exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    with sigterm_as_interrupt(), quiet_libraries():   # SIGTERM acts as Ctrl-C
        code = _main(argv)
    exit_if_stuck(code)
    return code


def _main(argv):
    name = argv[0] if argv and argv[0] in COMMANDS else None
    command, run = COMMANDS[name]
    try:
        values, explicit = command.parse(argv[1:] if name else argv)
        code = run(explicit, **values)
    except Answer as answer:
        echo(str(answer))
        return _exit(0)
    except UsageError as exc:
        echo(f"resample: error: {exc}", err=True)
        return _exit(2)
    except ResampleError as exc:
        echo(f"resample: error: {exc}", err=True)
        return _exit(1)
    except KeyboardInterrupt:
        echo("resample: interrupted", err=True)
        return _exit(130)
    except MemoryError:
        echo("resample: error: out of memory", err=True)
        return _exit(1)
    except Exception as exc:  # a bug: still one line, unless asked for the traceback
        if os.environ.get("RESAMPLE_DEBUG"):
            raise
        text = str(exc).strip().splitlines()
        echo(f"resample: internal error: {type(exc).__name__}: "
             f"{text[0] if text else ''} (set RESAMPLE_DEBUG=1 for details)", err=True)
        return _exit(1)
    return _exit(code if isinstance(code, int) else 0)


def _exit(code):
    try:
        if sys.stdout is not None:
            sys.stdout.flush()
    except OSError:                 # a closed pipe: nothing more reaches it
        pass
    return code


if __name__ == "__main__":
    sys.exit(main())
