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
import struct
import sys

from ..errors import ResampleError, excerpt
from ..formats.files import is_points, is_zarr, not_a_file, output_format
from ..jobs import plain
from ..jobs.console import exit_if_stuck, note, quiet_libraries, sigterm_as_interrupt
from ..spec.geometry import default_output
from ..spec.methods import ALIASES, BOUNDARY_IDS, METHODS
from ..spec.options import Options
from .parser import Answer, Command, Option, UsageError, fraction, integer, number, positive

METHOD_NAMES = (*METHODS, *ALIASES, "gmm")
FORMAT_NAMES = ("png", "jpg", "jpeg", "webp", "tif", "tiff")    # as batch.FORMATS
BOUNDARY_NAMES = ("truncate", *(b for b in BOUNDARY_IDS if b != "truncate"))   # default first

EPILOG = """Examples:
  resample photo.png --method gri --scale 2        # writes photo-gri-<W>x<H>.png
  resample photo.jpg -o small.jpg --size 50%
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
  resample photos/ -o web/ -r --size 1600x --format webp --quality 80
  find . -name '*.tif' | resample --from-list - -o out/ --size 50%
  resample photos/ -o small/ --scale 0.5 --shard 3/8   # this machine's eighth of the files
"""


OPTIONS = (
    Option("-o", "--output", metavar="OUT",
           help="Output file; its extension picks the format. Default: beside INPUT, named "
                "INPUT-METHOD-WxH.EXT. For a folder: the output folder."),
    Option("-m", "--method", choices=METHOD_NAMES, default="bilinear", show_default=True,
           help="Resampling kernel."),
    Option("-s", "--scale", parse=positive, metavar="S", help="Scale factor, e.g. 2 or 0.5."),
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
           help="JPEG and WebP quality, 1-100.  [default: 95]"),
    Option("--sigma", metavar="auto|steered|S", help="Point clouds: the Gaussians' sigma in "
           "output pixels, auto (from the local point density and contrast), or steered "
           "(auto's, stretched along the local edges). Default: the CSV's sigma columns, else "
           "steered."),
    Option("--cutoff", parse=number, default=3.0, metavar="FLOAT", show_default=True,
           help="Point clouds: a point reaches pixels within this many sigmas."),
    Option("--holes", choices=("nearest", "constant"), default="nearest", show_default=True,
           help="Point clouds: pixels no point reaches take the nearest point's value, or "
                "--fill."),
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
                   exif_thumbnail, pyramid, max_pixels, quality, sigma, cutoff, holes, coords,
                   weights, recursive, include, exclude, from_list, out_format, scheduler,
                   suffix, jobs, shard, fail_fast, follow_links, overwrite, threads, quiet):
    """Resize an image file, or rebuild an image from a point-cloud CSV; or do it to every
    image of a folder.

    INPUT is an image (PNG, JPEG, TIFF, WebP, BMP, ..., or a Zarr array).  8-bit, 16-bit
    and 32-bit float images keep their depth where the output format allows; alpha is
    premultiplied while resampling; EXIF orientation is applied; ICC profile and DPI are
    carried over.

    INPUT may also be a .csv/.tsv of points (x, y, then v, r,g,b or r,g,b,a, optionally
    sigma): every point is a 2-D Gaussian and a pixel is their weighted mean (method gmm).

    INPUT may be a folder, with -o naming the output folder: every image and CSV in it is
    converted, in parallel, with a progress bar; outputs that exist are skipped, so an
    interrupted run resumes.  Exit code 1 if any file failed.

    Also: `resample points IMAGE -o pts.csv --count N` samples a point cloud from an image,
    and `resample fit IMAGE -o pts.csv --count N` fits one to it (see their --help).
    """
    _set_threads(threads, quiet)
    if max_pixels is not None:
        from ..formats import images  # deferred: loaded when a job runs

        try:
            images.set_max_pixels(images.parse_pixels(max_pixels))
        except ResampleError as exc:
            raise UsageError(f"--max-pixels: {exc}") from None
    if input is not None and input != "-" and not os.path.lexists(input):
        raise ResampleError(f"{input if len(input) < 256 else excerpt(input)}: no such file "
                            "or folder")
    batch = from_list is not None or (input is not None and os.path.isdir(input)
                                       and not is_zarr(input))
    if input is None and from_list is None:
        raise UsageError("give an INPUT file or folder, or --from-list FILE")
    if input is not None and from_list is not None:
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
                          cutoff=cutoff, holes=holes.lower(), coords=coords.lower(),
                          overwrite=overwrite)
    except ResampleError as exc:
        raise UsageError(str(exc)) from None
    if batch:
        return _batch(input, from_list, output, options, weights, recursive, include, exclude,
                      out_format, suffix, jobs, shard, fail_fast, follow_links, overwrite, quiet,
                      scheduler)
    if input == "-" or output == "-":
        return _piped(input, output, options, out_format, quiet)
    given = [name for name, value in (("-r", recursive), ("--include", include),
                                      ("--exclude", exclude), ("--format", out_format),
                                      ("--suffix", suffix), ("--jobs", jobs),
                                      ("--shard", shard), ("--fail-fast", fail_fast),
                                      ("--follow-links", follow_links),
                                      ("--scheduler", scheduler)) if value]
    if given:
        raise UsageError(f"{', '.join(given)}: for folders and --from-list only"
                         + (" (and --format for -o -)" if out_format else ""))
    if is_points(input):
        return _reconstruct_csv(input, output, options, weights, overwrite, quiet, explicit)
    if (scale is None) == (size is None):
        raise UsageError("give one of --scale or --size")
    given = _given(POINTS_ONLY, explicit)
    if given:
        raise UsageError(f"{', '.join(given)}: for point-cloud CSV input only")
    if _given({"fill": "--fill"}, explicit) and options.boundary != "constant":
        raise UsageError("--fill applies with --boundary constant")
    if output is not None and not is_zarr(output) and (os.path.isdir(output)
                                                       or output.endswith(("/", os.sep))):
        output = _into_folder(output, input)    # -o DIR/: DIR/<the input's name>
    if output is not None:
        _check_output(output, input, overwrite)
    if plain.applies(input, output, options, explicit):
        out_path = plain.resize(input, output, options)   # (None: the full job's to do)
        if out_path is not None:
            return _report([], out_path, quiet)

    from ..engines import devices  # deferred: loaded when a job runs
    from ..formats import images  # deferred: loaded when a job runs
    from ..jobs import convert  # deferred: loaded when a job runs

    devices.select(device)
    # the size from the header: the pixels are decoded (or streamed, or left as they are)
    # by convert.resize_image
    width, height, _ = convert.peek(input)     # a bad file: its own error (exit 1)
    try:
        out_w, out_h = options.output_size(width, height)
    except ResampleError as exc:
        raise UsageError(str(exc)) from None
    out_path = output or default_output(input, options.method_name, (out_w, out_h))
    if os.path.exists(out_path) and os.path.samefile(out_path, input) and not overwrite:
        raise UsageError(f"{out_path}: is the input; pass --overwrite to replace it")
    notes = _quality_note(quality, out_path) + convert.resize_image(input, out_path, options,
                                                                   progress=not quiet)
    _report(notes, out_path, quiet)


# Extensions for the formats Pillow reports, for an output that has no name to go by.
PIPE_EXTENSIONS = {"PNG": ".png", "JPEG": ".jpg", "MPO": ".jpg", "TIFF": ".tif", "WEBP": ".webp",
                   "BMP": ".bmp", "GIF": ".gif", "PPM": ".ppm", "TGA": ".tga"}


def _piped(input, output, options, out_format, quiet):
    """``-`` as INPUT reads the image from standard input; ``-o -`` writes it to standard
    output, in ``--format`` or else the input's format.  Both go through a private temporary
    folder, so every reader and encoder is the one files use; the image is written to standard
    output only once it is whole, and notes and errors go to standard error."""
    from ..formats import files, images  # deferred: loaded when a job runs
    from ..jobs import convert  # deferred: loaded when a job runs

    if output is None:
        raise UsageError("reading standard input needs -o FILE (or -o - for standard output)")
    if input != "-" and convert.is_points(input):
        raise UsageError("-o -: point clouds are rebuilt into files; give -o FILE")
    if (options.scale is None) == (options.size is None):
        raise UsageError("give one of --scale or --size")
    if out_format is not None and output != "-":
        raise UsageError("--format: for -o - and folders only (a file's extension is its format)")
    if output != "-":
        _check_output(output, input, False)
    import shutil  # deferred: only for pipes (it imports bz2 and lzma)
    import tempfile  # deferred: only for pipes

    work = tempfile.mkdtemp(prefix="resample-pipe-")
    files.hold_temporary(work)              # removed by an exit that cannot wait, too
    src = os.path.join(work, "stdin") if input == "-" else input
    dst = output
    try:
        try:
            if input == "-":
                if sys.stdin is None:
                    raise ResampleError("standard input: closed")
                spool_stdin(sys.stdin.buffer, src)
            if output == "-":
                if out_format is not None:
                    from ..jobs.batch import FORMATS  # deferred: loaded when a job runs

                    ext = FORMATS[out_format.lower()]
                else:
                    ext = PIPE_EXTENSIONS.get(images.peek(src)[2], ".png")
                dst = os.path.join(work, "stdout" + ext)
            notes = _quality_note(options.quality, dst) + convert.resize_image(src, dst,
                                                                               options)
        except ResampleError as exc:                 # name the pipes, not the temporary files
            text = str(exc)
            for path, name in ((src, "standard input"), (dst, "standard output")):
                if path not in (input, output):
                    text = text.replace(f"{path}: {path}: ", f"{name}: ").replace(path, name)
            raise ResampleError(text) from None
        for n in notes if not quiet else ():
            note(n)
        if output == "-":
            if sys.stdout is None:
                raise ResampleError("standard output: closed")
            with open(dst, "rb") as f:
                shutil.copyfileobj(f, sys.stdout.buffer, 1 << 20)
            sys.stdout.buffer.flush()
        elif not quiet:
            echo(output)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        files.release_temporary(work)


# The first bytes of each format the command reads (TGA has none: its header is checked).
SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"II*\0",
              b"MM\0*", b"II+\0", b"MM\0+", b"BM", b"P1", b"P2", b"P3", b"P4", b"P5", b"P6")


def looks_like_an_image(head):
    """Whether the first bytes of a stream may begin an image the command reads."""
    if head.startswith(SIGNATURES):
        return head[:2] != b"BM" or len(head) >= 14
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return True
    # TGA: colour-map type 0 or 1, an image type Pillow reads, 8-32 bits a pixel
    return (len(head) >= 18 and head[1] in (0, 1) and head[2] in (1, 2, 3, 9, 10, 11)
            and head[16] in (1, 8, 15, 16, 24, 32))


def png_stream_bound(head):
    """The most bytes a PNG whose first bytes are ``head`` can take: its IHDR's pixels at 8
    bytes a pixel (16-bit RGBA), deflate's worst case and 16 MiB of other chunks; None for
    another format."""
    if not head.startswith(b"\x89PNG\r\n\x1a\n") or head[12:16] != b"IHDR" or len(head) < 24:
        return None
    width, height = struct.unpack(">II", head[16:24])
    raw = height * (width * 8 + 1)
    return raw + raw // 1000 + (16 << 20)


def spool_stdin(stream, path):
    """Copy standard input into ``path``: refused at once when its first bytes begin no
    image, and stopped, with nothing kept, past the most bytes an image within the pixel
    limit can take (16 bytes a pixel, float RGBA, and 16 MiB of metadata) or what the disk
    can hold."""
    from ..formats import images  # deferred: loaded when a job runs

    head = b""
    while len(head) < 32:
        more = stream.read(32 - len(head))
        if not more:
            break
        head += more
    if not head:
        raise ResampleError("standard input: empty, no image")
    if not looks_like_an_image(head):
        raise ResampleError(f"standard input: not an image (it begins {excerpt(head[:16])})")
    limit = images.pixel_limit()
    most = None if limit is None else int(limit) * 16 + (16 << 20)
    declared = png_stream_bound(head)
    if declared is not None:
        most = declared if most is None else min(most, declared)
    import shutil  # deferred: only for pipes (it imports bz2 and lzma)

    free = shutil.disk_usage(os.path.dirname(path)).free
    room = free - (64 << 20)
    total = len(head)
    with open(path, "wb") as f:
        f.write(head)
        while True:
            data = stream.read(1 << 20)
            if not data:
                return
            total += len(data)
            if most is not None and total > most:
                why = (f"the pixel limit ({int(limit)}); --max-pixels raises it"
                       if declared is None or (limit is not None and declared >
                                               int(limit) * 16 + (16 << 20))
                       else "the size its PNG header declares")
                raise ResampleError(f"standard input: more than {most >> 20} MiB, more than "
                                    f"an image within {why} can take")
            if total > room:
                raise ResampleError(f"standard input: more than the {room >> 20} MiB free "
                                    f"in {os.path.dirname(os.path.dirname(path))}")
            try:
                f.write(data)
            except OSError as exc:
                raise ResampleError(f"standard input: cannot keep a copy "
                                    f"({exc.strerror or exc})") from None


def _report(notes, path, quiet):
    """A finished job: its notes on the standard error, then the output's path on the
    standard output (nothing with -q)."""
    if not quiet:
        for n in notes:
            note(n)
        echo(path)


def _quality_note(quality, out_path):
    """A note when --quality is given for an output that has none (it is ignored)."""
    from ..formats.files import output_format  # deferred: loaded when a job runs

    fmt = output_format(out_path)
    if quality is None or fmt in ("JPEG", "WEBP"):
        return []
    return [f"--quality applies to JPEG and WebP output; ignored for {fmt}"]


def _batch(input, from_list, output, options, weights, recursive, include, exclude, out_format,
           suffix, jobs, shard, fail_fast, follow_links, overwrite, quiet, scheduler=None):
    from ..engines import devices  # deferred: loaded when a job runs
    from ..jobs import batch  # deferred: loaded when a job runs
    from ..jobs.convert import is_points  # deferred: loaded when a job runs

    if output is None:
        raise UsageError("a folder or a list needs -o OUTDIR (the output folder)")
    if output == "-":
        raise UsageError("-o -: a folder or a list is converted into a folder; give -o OUTDIR")
    if os.path.exists(output) and not os.path.isdir(output):
        raise UsageError(f"{output}: exists and is not a folder")
    if not os.path.isdir(output) and (is_zarr_name(output) or os.path.splitext(
            output.rstrip("/\\"))[1].lower() in batch.IMAGE_EXTENSIONS + batch.POINT_EXTENSIONS):
        raise UsageError(f"-o {excerpt(output)}: a folder or a list is converted into a folder, "
                         "and this names a file; give -o OUTDIR")
    if weights is not None:
        raise UsageError("--weights applies to one point cloud, not to a folder")
    if (options.scale is not None) and (options.size is not None):
        raise UsageError("give one of --scale or --size")
    if "/" in suffix or os.sep in suffix:
        raise UsageError(f"--suffix {excerpt(suffix)} must not hold a folder separator")
    try:
        part = batch.parse_shard(shard) if shard is not None else None
    except ResampleError as exc:
        raise UsageError(str(exc)) from None
    if scheduler is not None:
        try:
            batch.check_address(scheduler)
        except ResampleError as exc:
            raise UsageError(str(exc)) from None
    devices.select(options.device)
    batch.warm_up(options.device)
    unknown = []                         # listed names that are no image or CSV name
    if from_list is not None:
        try:
            if from_list == "-":
                if sys.stdin is None:
                    raise ResampleError("--from-list -: standard input is closed")
                found = batch.read_list(sys.stdin)
            else:
                why = not_a_file(from_list)
                if why and "FIFO" not in why:               # (a pipe, <(find ...), is a list)
                    raise ResampleError(f"--from-list {excerpt(from_list)}: {why}")
                with open(from_list, encoding="utf-8", errors="surrogateescape") as f:
                    found = batch.read_list(f)
        except OSError as exc:
            raise ResampleError(f"{from_list}: cannot read ({exc.strerror or exc})") from None
        unknown = [j for j in found if not batch.is_input_name(j.rel.rsplit("/", 1)[-1])]
    else:
        _check_not_into_itself(input, output, suffix, out_format, overwrite)
        not_files = []
        found = batch.find_inputs(input, recursive=recursive, follow_links=follow_links,
                                  skip_dir=output, not_files=not_files)
        if not_files and not quiet:
            note(f"skipped {len(not_files)} entr{'ies' if len(not_files) > 1 else 'y'} named "
                 f"as images that {'are' if len(not_files) > 1 else 'is'} not a regular file "
                 f"(a FIFO, device, socket or broken link): {excerpt(not_files[0])}"
                 + (", ..." if len(not_files) > 1 else ""))
    for job in unknown:
        echo(f"resample: error: {job.src}: not an image or CSV name "
             f"({', '.join(batch.IMAGE_EXTENSIONS + batch.POINT_EXTENSIONS)})", err=True)
    todo = batch.select(found, include=include, exclude=exclude, shard=part)
    todo = batch.plan_outputs(todo, output, fmt=out_format and out_format.lower(),
                              suffix=suffix)
    images_given = [j for j in todo if not is_points(j.rel)]
    if images_given and (options.scale is None) == (options.size is None):
        raise UsageError("give one of --scale or --size")
    if options.pyramid and any(not j.dst.lower().endswith((".tif", ".tiff"))
                               for j in images_given):
        raise UsageError("--pyramid is for TIFF outputs (--format tif)")
    if not todo:
        if found and from_list is not None:
            raise ResampleError(f"nothing to convert: none of the {len(found)} listed paths "
                                "is an image or CSV that --include/--exclude/--shard keep")
        if not quiet:
            note(f"no images or point clouds to convert in {from_list or input}")
        return
    try:
        os.makedirs(output, exist_ok=True)
    except OSError as exc:
        raise ResampleError(f"{output}: cannot make the folder ({exc.strerror or exc})") \
            from None

    def report(path, reason):
        echo(f"resample: error: {reason}", err=True)

    if scheduler is not None:
        summary = batch.run_on_cluster(todo, options, scheduler, overwrite=overwrite,
                                       fail_fast=fail_fast, progress=False if quiet else None,
                                       on_failure=report)
    else:
        summary = batch.run(todo, options, workers=jobs, overwrite=overwrite,
                            fail_fast=fail_fast, progress=False if quiet else None,
                            on_failure=report)
    if not quiet:
        for line in summary.note_lines():
            note(line)
    if not quiet or summary.failed or summary.interrupted:
        echo(f"resample: {summary.line()}", err=True)
    if summary.interrupted:
        return 130
    if summary.failed or unknown:
        return 1


def _set_threads(threads, quiet):
    """--threads (or RESAMPLE_THREADS): no more threads than the address space holds (each
    reserves its stack), which a thread library would otherwise fail to start mid-run."""
    from .. import compiled  # deferred: loaded when a job runs
    from ..spec import memory  # deferred: loaded when a job runs

    if threads is None and not os.environ.get("RESAMPLE_THREADS"):
        return
    wanted = threads if threads is not None else compiled.default_threads()
    room = memory.threads_that_fit()
    if wanted > room:
        if not quiet:
            note(f"{wanted} threads do not fit in the memory available: {room} are used")
        wanted = room
    compiled.set_default_threads(wanted)


def _check_not_into_itself(folder, output, suffix, out_format, overwrite):
    """A folder converted into itself under the same names would replace every input: one
    usage error, before any work (--suffix, --format or --overwrite say otherwise)."""
    if (os.path.isdir(output) and os.path.samefile(folder, output) and not suffix
            and out_format is None and not overwrite):
        raise UsageError(f"{folder}: converting a folder into itself would replace its files; "
                         "give --suffix, --format or another -o (or --overwrite)")


def _into_folder(folder, input):
    """``-o DIR/`` for one file: the output is DIR/<the input's file name>, DIR made if it
    does not exist."""
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        raise ResampleError(f"{folder}: cannot make the folder ({exc.strerror or exc})") \
            from None
    return os.path.join(folder, os.path.basename(os.path.normpath(input)))


def _check_output(output, input, overwrite):
    try:
        output_format(output)        # an unknown extension fails before any work
    except ResampleError as exc:
        raise UsageError(str(exc)) from None
    if is_zarr_name(output):
        from ..formats.files import check_zarr_output  # deferred: loaded when a job runs

        try:
            check_zarr_output(output, input, overwrite)
        except ResampleError as exc:
            raise UsageError(str(exc)) from None
    elif os.path.exists(output) and os.path.samefile(output, input) and not overwrite:
        raise UsageError(f"{output}: is the input; pass --overwrite to replace it")


def is_zarr_name(path):
    """An output named as a Zarr store (``NAME.zarr``, with or without a trailing slash)."""
    return os.fspath(path).rstrip("/\\").lower().endswith(".zarr")


# Options that only a resize uses, and only a rebuild from points: given with the other kind of
# input they would do nothing, so they are refused.
RESIZE_ONLY = {"method": "--method", "align": "--align", "boundary": "--boundary",
               "no_antialias": "--no-antialias", "linear": "--linear", "exact": "--exact",
               "sharpen": "--sharpen", "srgb": "--srgb", "pyramid": "--pyramid",
               "exif_thumbnail": "--exif-thumbnail"}
POINTS_ONLY = {"sigma": "--sigma", "cutoff": "--cutoff", "holes": "--holes",
               "coords": "--coords", "weights": "--weights"}


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
        raise UsageError("give one of --scale or --size")
    given = [flag for flag in _given(RESIZE_ONLY, explicit)
             if not (flag == "--method" and options.points)]
    if given:
        raise UsageError(f"{', '.join(given)}: for images only (a point cloud is rebuilt "
                         "with Gaussians: see --sigma, --cutoff and --holes)")
    if _given({"fill": "--fill"}, explicit) and options.holes != "constant":
        raise UsageError("--fill applies with --holes constant (holes take the nearest "
                         "point's value by default)")
    _check_output(output, input, overwrite)
    if weights is not None:
        _check_output(weights, input, overwrite)
    from ..engines import devices  # deferred: loaded when a job runs
    from ..jobs import convert  # deferred: loaded when a job runs

    devices.select(options.device)
    notes = (_quality_note(options.quality, output)
             + convert.rebuild_points(input, output, options, weights=weights))
    _report(notes, output, quiet)


def points_command(explicit, image, output, count, fraction, pattern, seed, quiet):
    """Sample a point cloud (CSV: x, y and the pixel's values) from an image."""
    if (count is None) == (fraction is None):
        raise UsageError("give one of --count or --fraction")
    if not output.lower().endswith((".csv", ".tsv")):
        raise UsageError(f"{output}: the point cloud must be a .csv or .tsv file")
    import numpy as np  # deferred: NumPy only where an array is made

    from ..formats import images, pointcloud  # deferred: loaded when a job runs
    from ..ops import fit as fitting  # deferred: loaded when a job runs

    pic = images.load(image)
    a = pic.array if pic.array.ndim == 3 else pic.array[..., None]
    if a.shape[2] == 2:                           # grey + alpha: keep the grey
        a = a[..., :1]
    height, width = a.shape[:2]
    n = count if count is not None else max(1, round(fraction * width * height))
    n = min(n, width * height)
    # Pixels with NaN or infinite samples are missing: no point is made from them.
    known = np.flatnonzero(np.isfinite(a).all(axis=2)) if a.dtype.kind == "f" else None
    if known is not None and len(known) == 0:
        raise ResampleError(f"{image}: no pixel has finite values")
    notes = []
    if pattern == "random":
        pool = width * height if known is None else len(known)
        if n > pool:
            notes.append(f"only {pool} pixels have finite values: {pool} points")
            n = pool
        pick = np.random.default_rng(seed).choice(pool, size=n, replace=False)
        if known is not None:
            pick = known[pick]
        rows, cols = np.divmod(pick, width)
        xy = np.stack([cols, rows], axis=1).astype(np.float64)
        values = a[rows, cols].astype(np.float64)
    else:
        xy, values, _ = fitting.grid_points(a, n)
        finite = np.isfinite(values).all(axis=1)
        if not finite.all():
            notes.append(f"dropped {int((~finite).sum())} grid points that fell on missing "
                         "(NaN or infinite) pixels")
            xy, values = xy[finite], values[finite]
            if len(xy) == 0:
                raise ResampleError(f"{image}: every grid point fell on a missing pixel")
    pointcloud.write_csv(output, xy, values, frame=(width, height))
    _report(notes, output, quiet)


def fit_command(explicit, image, output, count, steps, learn, loss, seed, plot, quiet):
    """Fit COUNT Gaussian points to an image by gradient descent (Adam on exact gradients).

    The points start on a regular grid; positions, values, per-point anisotropic sigma and its
    rotation are optimised, and the iterate of lowest loss is written.  The CSV (its frame,
    then x, y, values, sigma_x, sigma_y, theta) renders back with `resample pts.csv`.
    """
    if not output.lower().endswith((".csv", ".tsv")):
        raise UsageError(f"{output}: the point cloud must be a .csv or .tsv file")
    from ..ops import fit as fitting  # deferred: loaded when a job runs

    try:
        parts = fitting.parse_learn(learn)
    except ResampleError as exc:
        raise UsageError(str(exc)) from None
    if plot is not None:
        try:
            output_format(plot)
        except ResampleError as exc:
            raise UsageError(f"--plot: {exc}") from None
    from ..formats import images, pointcloud  # deferred: loaded when a job runs

    pic = images.load(image)
    a = pic.array if pic.array.ndim == 3 else pic.array[..., None]
    if a.shape[2] == 2:
        a = a[..., :1]
    if count > a.shape[0] * a.shape[1]:
        raise UsageError(f"--count {count} is more than the image's {a.shape[0] * a.shape[1]} pixels")
    from tqdm import tqdm  # deferred: only for a progress bar

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
    pointcloud.write_csv(output, result.xy, result.values, result.sigma,
                         frame=(a.shape[1], a.shape[0]))
    if plot is not None:
        from .plot import loss_curve  # deferred: loaded when a job runs

        loss_curve(result.history, plot, title=f"{count} points, learning {', '.join(parts)}",
                   ylabel=f"{loss} loss", best=result.best_step)
    if not quiet:
        best = result.best_step
        echo(f"{output}: {loss} {result.history[0]:.4g} -> {result.history[best]:.4g} "
                   f"at step {best} of {steps}, the lowest (written; the last step's: "
                   f"{result.history[-1]:.4g})", err=True)
        echo(output)


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
    None: (Command("resample", ("input?",), OPTIONS, resize_command.__doc__,
                   EPILOG + "\n" + BATCH_EPILOG), resize_command),
    "points": (Command("resample points", ("image",), POINTS_OPTIONS, points_command.__doc__,
                       POINTS_EPILOG), points_command),
    "fit": (Command("resample fit", ("image",), FIT_OPTIONS, fit_command.__doc__, FIT_EPILOG),
            fit_command),
}


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


def _exit(code):
    try:
        if sys.stdout is not None:
            sys.stdout.flush()
    except OSError:                 # a closed pipe: nothing more reaches it
        pass
    return code


if __name__ == "__main__":
    sys.exit(main())
