"""The command's full jobs: what the command runs beyond the plain job (resample/jobs/plain.py)
-- one file of any kind, standard input and output, folders and lists, point clouds, and the
points and fit subcommands.  cli/command.py loads this module when a job needs it: its
imports (NumPy, the jobs, Pillow's codecs) are not for --help, a usage error or the plain
job."""

from __future__ import annotations

import os
import shutil
import struct
import sys
import tempfile

import numpy as np

from ..engines import devices
from ..errors import ResampleError, excerpt
from ..formats import files, images, pointcloud
from ..formats.files import is_points, not_a_file
from ..jobs import batch, convert
from ..jobs.console import note
from ..jobs.progress import progress_bar
from ..ops import fit as fitting
from ..spec.geometry import default_output
from .output import (check_not_into_itself, check_output, echo, is_zarr_name, one_size,
                     quality_note, report)
from .parser import UsageError
from .plot import loss_curve


def set_max_pixels(text):
    """--max-pixels: the pixel limit every reader answers to (a usage error if malformed)."""
    try:
        images.set_max_pixels(images.parse_pixels(text))
    except ResampleError as exc:
        raise UsageError(f"--max-pixels: {exc}") from None


def resize_file(input, output, options, quiet):
    """Resize one image file into ``output`` (None: the default name), as ``options`` say."""
    devices.select(options.device)
    # the size from the header: the pixels are decoded (or streamed, or left as they are)
    # by convert.resize_image
    header = convert.read_header(input)         # once, for the whole job
    width, height, _ = convert.peek(input, header)   # a bad file: its own error (exit 1)
    try:
        out_w, out_h = options.output_size(width, height)
    except ResampleError as exc:
        raise UsageError(str(exc)) from None
    out_path = output or default_output(input, options.method_name, (out_w, out_h))
    if os.path.exists(out_path) and os.path.samefile(out_path, input) and not options.overwrite:
        raise UsageError(f"{out_path}: is the input; pass --overwrite to replace it")
    notes = quality_note(options.quality, out_path) + convert.resize_image(
        input, out_path, options, progress=not quiet, header=header, plain_tried=True)
    report(notes, out_path, quiet)


def rebuild_csv(input, output, options, weights, quiet):
    """Rebuild the image of the point cloud ``input`` into ``output`` (and its weights)."""
    devices.select(options.device)
    notes = (quality_note(options.quality, output)
             + convert.rebuild_points(input, output, options, weights=weights))
    report(notes, output, quiet)


# Extensions for the formats Pillow reports, for an output that has no name to go by.
PIPE_EXTENSIONS = {"PNG": ".png", "JPEG": ".jpg", "MPO": ".jpg", "TIFF": ".tif", "WEBP": ".webp",
                   "AVIF": ".avif", "HEIF": ".jpg",
                   "BMP": ".bmp", "GIF": ".gif", "PPM": ".ppm", "TGA": ".tga"}


def piped(input, output, options, out_format, quiet):
    """``-`` as INPUT reads the image from standard input; ``-o -`` writes it to standard
    output, in ``--format`` or else the input's format.  Both go through a private temporary
    folder, so every reader and encoder is the one files use; the image is written to standard
    output only once it is whole, and notes and errors go to standard error."""
    if output is None:
        raise UsageError("reading standard input needs -o FILE (or -o - for standard output)")
    if input != "-" and convert.is_points(input):
        raise UsageError("-o -: point clouds are rebuilt into files; give -o FILE")
    one_size(options.scale, options.size)
    if output == "-" and sys.stdout is not None and sys.stdout.isatty():
        raise UsageError("-o -: standard output is a terminal; send it to a file or a pipe "
                         "(> out.png, | ...)")
    if out_format is not None and output != "-":
        raise UsageError("--format: for -o - and folders only (a file's extension is its format)")
    if output != "-":
        check_output(output, input, False)
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
                    ext = batch.FORMATS[out_format.lower()]
                else:
                    ext = PIPE_EXTENSIONS.get(images.peek(src)[2], ".png")
                dst = os.path.join(work, "stdout" + ext)
            notes = quality_note(options.quality, dst) + convert.resize_image(src, dst,
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
    if head[4:12] in (b"ftypavif", b"ftypavis"):              # AVIF (ISO base media)
        return True
    if head[4:8] == b"ftyp" and head[8:12] in files.HEIF_BRANDS:   # HEIC, HEIF
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


def folder_or_list(input, from_list, output, options, weights, recursive, include, exclude, out_format,
           suffix, jobs, shard, fail_fast, follow_links, overwrite, quiet, scheduler=None,
           listed=None):
    """A folder (``input``), the paths of a list (``from_list``) or the files given on the
    command line (``listed``) converted into the folder ``output``."""
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
    one_size(options.scale, options.size, required=False)   # (point clouds need neither)
    if "/" in suffix or os.sep in suffix:
        raise UsageError(f"--suffix {excerpt(suffix)} must not hold a folder separator")
    try:
        part = batch.parse_shard(shard) if shard is not None else None
    except ResampleError as exc:
        raise UsageError(str(exc)) from None
    cluster = None
    if scheduler is not None:
        try:
            batch.check_address(scheduler)
        except ResampleError as exc:
            raise UsageError(str(exc)) from None
        try:
            from ..jobs import cluster  # optional: [dask] (dask.distributed)
        except ImportError:
            raise ResampleError("--scheduler needs dask.distributed: pip install "
                                "'resample-images[dask]'") from None
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
    elif listed is not None:
        folders = [p for p in listed if os.path.isdir(p) and not is_zarr_name(p)]
        if folders:
            raise UsageError(f"{folders[0]}: a folder among the inputs; give one folder, or "
                             "files")
        found = batch.named_jobs(listed)
        unknown = [j for j in found if not batch.is_input_name(j.rel)]
    else:
        check_not_into_itself(input, output, suffix, out_format, overwrite)
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
    if images_given:
        one_size(options.scale, options.size)
    if options.pyramid and any(not j.dst.lower().endswith((".tif", ".tiff"))
                               for j in images_given):
        raise UsageError("--pyramid is for TIFF outputs (--format tif)")
    if not todo:
        if found and (from_list is not None or listed is not None):
            raise ResampleError(f"nothing to convert: none of the {len(found)} listed paths "
                                "is an image or CSV that --include/--exclude/--shard keep")
        kept_by = [flag for flag, value in (("--include", include), ("--exclude", exclude),
                                            ("--shard", shard)) if value]
        if not quiet and found and kept_by:   # (a job array's shard may be empty: no error)
            note(f"nothing to convert: {' and '.join(kept_by)} "
                 f"{'keep' if len(kept_by) > 1 else 'keeps'} none of the {len(found)} images "
                 f"and point clouds in {input}")
        elif not quiet:
            note("no images or point clouds to convert in "
                 + (input if input is not None else f"the list {from_list}"))
        return
    clashes = [j for j in todo if j.clash]
    if clashes:
        named = "; ".join(f"{j.clash} and {j.src} -> {j.dst}" for j in clashes[:3])
        more = f" (and {len(clashes) - 3} more)" if len(clashes) > 3 else ""
        fix = "leave out --format (each keeps its own extension), " if out_format else ""
        raise ResampleError(f"two inputs, one output: {named}{more}; {fix}rename one of "
                            "them, or convert them in separate runs")
    try:
        os.makedirs(output, exist_ok=True)
    except OSError as exc:
        raise ResampleError(f"{output}: cannot make the folder ({exc.strerror or exc})") \
            from None

    def report(path, reason):
        echo(f"resample: error: {reason}", err=True)

    if scheduler is not None:
        summary = cluster.run(todo, options, scheduler, overwrite=overwrite,
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


def sample_points(image, output, count, fraction, pattern, seed, quiet):
    """``resample points``: a point cloud sampled from ``image`` into the CSV ``output``."""
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
    report(notes, output, quiet)


def fit(image, output, count, steps, learn, loss, seed, plot, quiet):
    """``resample fit``: ``count`` Gaussian points fitted to ``image`` (learning what the
    comma list ``learn`` names), written to the CSV ``output``, and the loss curve drawn into
    ``plot``."""
    try:
        parts = fitting.parse_learn(learn)
    except ResampleError as exc:
        raise UsageError(str(exc)) from None
    pic = images.load(image)
    a = pic.array if pic.array.ndim == 3 else pic.array[..., None]
    if a.shape[2] == 2:
        a = a[..., :1]
    if count > a.shape[0] * a.shape[1]:
        raise UsageError(f"--count {count} is more than the image's {a.shape[0] * a.shape[1]} pixels")
    bar = progress_bar(steps, "step", False if quiet else None, desc="fit")

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
        loss_curve(result.history, plot, title=f"{count} points, learning {', '.join(parts)}",
                   ylabel=f"{loss} loss", best=result.best_step)
    if not quiet:
        best = result.best_step
        echo(f"{output}: {loss} {result.history[0]:.4g} -> {result.history[best]:.4g} "
             f"at step {best} of {steps}, the lowest (written; the last step's: "
             f"{result.history[-1]:.4g})", err=True)
        echo(output)
