"""Convert one file: resize an image, or rebuild an image from a point-cloud CSV.

The command line (one file or a whole folder) and Python batch jobs share these functions.
Sizes are (width, height) here, as on the command line; arrays are (rows, cols).  This module
imports NumPy and Pillow only when a file is converted.
"""

from __future__ import annotations

import os
from contextlib import nullcontext
from dataclasses import replace
from typing import NamedTuple

import numpy as np

from ..errors import ResampleError
from ..formats import images, pointcloud
from ..formats.files import is_points, is_zarr, linear_light_notes, output_format
from ..ops import gmm
from ..ops.resize import resize_memory
from ..spec import memory
from ..spec.dtypes import to_dtype
from ..spec.geometry import exact_size, only_if
from ..spec.memory import check_memory
from ..spec.options import Options
from . import plain, stream
from .frames import FRAME_FORMATS, keeps_frames, resize_frames
from .stream import resize_file


class Header(NamedTuple):
    """An input's header, read once per job (:func:`read_header`): its stream Source, closed
    (size, channels, dtype, pyramid levels and metadata kept), or None and the reason it is
    not one (``error``: NotStreamable, a ResampleError or an OSError)."""

    source: object
    error: Exception | None


def read_header(path):
    """The :class:`Header` of the input ``path`` (a PNG, TIFF or Zarr header read once; any
    other format's is Pillow's, read where it is needed)."""
    try:
        source = stream.open_source(path)
    except (stream.NotStreamable, ResampleError, OSError) as exc:
        return Header(None, exc)
    source.close()
    return Header(source, None)


def load_input(src, options: Options | None = None):
    """Read ``src``: a :class:`images.Picture`, or a point cloud for a .csv/.tsv.  With the
    ``options`` of its resize, a JPEG is decoded smaller where the shrink allows (see
    :func:`decode_target`)."""
    if is_points(src):

        return pointcloud.read_csv(src)
    return load_image(src, options)


def load_image(src, options: Options | None = None, header: Header | None = None):
    """An image file's Picture for a resize with ``options``: a JPEG decoded smaller, or a
    TIFF pyramid's level read, where the shrink allows (:func:`decode_target`); else every
    pixel.  ``header``: the input's, if read already."""

    target = decode_target(options)
    if target is not None:
        pic = _pyramid_level(src, target, header or read_header(src))
        if pic is not None:
            return pic
    return images.load(src, target, thumbnail=bool(options and options.exif_thumbnail))


def _pyramid_level(src, target, header: Header):
    """The Picture of a TIFF pyramid's level chosen by resample.geometry.pyramid_level for
    the output ``target`` gives, or None (no pyramid, the full size chosen, or a TIFF that
    the strip reader does not take: then the decoder reads it whole).  ``header``: the
    input's; the file is opened again only to read a level."""
    known = header.source
    if known is None or known.kind != "TIFF" or len(getattr(known, "levels", ())) < 2:
        return None
    try:
        source = stream.open_source(src)
    except (OSError, ResampleError, stream.NotStreamable):
        return None
    try:
        if len(getattr(source, "levels", ())) < 2:
            return None
        full = (source.width, source.height)
        source.choose_level(*target(*full))
        if (source.width, source.height) == full:
            return None
        check_memory(2 * source.width * source.height * source.channels
                     * source.dtype.itemsize, f"reading a {source.width}x{source.height} level")
        array = np.empty((source.height, source.width, source.channels), source.dtype)
        for k, r0 in enumerate(range(0, source.height, source.band_rows)):
            source.read_band(k, array[r0:r0 + source.band_rows])
    finally:
        source.close()
    return images.Picture(array if source.channels > 1 else array[..., 0], icc=source.icc,
                          dpi=source.dpi, format="TIFF", notes=list(source.notes),
                          full_size=full)


def decode_target(options: Options | None):
    """The output size function that a JPEG may be decoded smaller for (images.load), or a
    TIFF pyramid's level chosen for (:func:`load_image`), or None:
    not with ``--exact``, nor ``--linear`` (DCT scaling averages in gamma-encoded values),
    nor gmm (which resamples points, not a grid)."""
    if options is None or options.exact or options.linear or options.points:
        return None
    return options.output_size


def convert_file(src, dst, options: Options, *, loaded=None, cancelled=None, compute=None):
    """Convert ``src`` (an image, or a point-cloud CSV) into ``dst``; return the notes.

    ``loaded`` is ``load_input(src)`` if already read.  ``cancelled`` (a callable) is asked
    between the steps; when it answers True, the file is dropped before anything is written.
    ``compute`` (a context manager, e.g. a lock) is held while resampling, not while decoding
    or encoding.  The output is written atomically."""
    convert = rebuild_points if is_points(src) else resize_image
    return convert(src, dst, options, loaded=loaded, cancelled=cancelled, compute=compute)


def resize_image(src, dst, options: Options, *, cancelled=None, compute=None, loaded=None,
                 progress=False, header=None, plain_tried=False):
    """Resize the image ``src`` into ``dst`` (``loaded``: its Picture, if already read;
    ``header``: its :class:`Header`, if read already).  A file the plain job takes
    (resample.jobs.plain: 8- and 16-bit images in Pillow's buffers, no NumPy) is its, unless
    ``plain_tried`` says it declined already; ``loaded`` may be what it read
    (:class:`resample.jobs.plain.Decoded`).  A ``--size`` with ``>`` or ``<`` that leaves
    the image as it is: see :func:`keep_as_is`.  A job that streams (:func:`streams`) shows a
    bar over its strips if ``progress``."""

    if loaded is None and not plain_tried and plain.takes(src, dst, options):
        loaded = plain.read(src, dst, options, decoder=images.fast_decode)
    if isinstance(loaded, plain.Decoded):              # the plain job's (NumPy is loaded:
        if cancelled is not None and cancelled():      # libdeflate costs nothing more)
            return []
        with compute or nullcontext():
            return plain.write(loaded, zlib_below=0)[1]
    if isinstance(loaded, tuple):                      # the plain job's, done already: a
        return loaded[1]                               # file left as it is, copied
    zarr = is_zarr(src) or is_zarr(dst)
    if loaded is None and header is None:
        header = read_header(src)           # once: for its size, streaming and levels
    if only_if(options.size) and not zarr:      # (Zarr: streamed as any size)
        if loaded is not None:
            width, height, fmt = *loaded.source_size, loaded.format
        else:
            width, height, fmt = peek(src, header)
        if options.output_size(width, height) == (width, height):
            return keep_as_is(src, dst, options, fmt, loaded)

    # (a picture decoded already says its format: no second opening for a JPEG or a BMP)
    if not zarr and (loaded is None or loaded.format in FRAME_FORMATS) \
            and keeps_frames(src, dst):
        return resize_frames(src, dst, options, options.output_size)
    if loaded is None and streams(src, dst, options, header):

        return resize_file(src, dst, options, options.output_size, progress=progress)
    pic = loaded if loaded is not None else load_image(src, options, header)
    out_w, out_h = options.output_size(*pic.source_size)
    check_resize_fits(pic, (out_h, out_w), options, images.output_format(dst))
    if cancelled is not None and cancelled():
        return []
    with compute or nullcontext():
        result = images.resize_picture(pic, shape=(out_h, out_w), method=options.resize_method,
                                       align=options.align, boundary=options.boundary,
                                       fill=options.fill, antialias=options.antialias,
                                       linear=options.linear, device=options.device)
    if cancelled is not None and cancelled():
        return []
    if options.sharpen:
        result = replace(result, array=images.sharpen_mild(result.array, result.alpha))
    notes = pic.notes + (linear_light_notes(pic.icc) if options.linear else [])
    if options.srgb:
        result, srgb_notes = images.to_srgb(result)
        notes = notes + srgb_notes
    if options.stream:

        notes.append(f"not streamed: {stream.probe(src, dst, options, header)[1]}")
    return notes + images.save(result, dst, quality=options.quality, strip=options.strip)


def streams(src, dst, options: Options, header: Header | None = None):
    """Whether ``src`` -> ``dst`` is resized strip by strip (resample.jobs.stream): where the
    files and options allow it, when ``--stream`` or ``--pyramid`` asks, for Zarr (which only
    streams), for an image over the decompression-bomb limit (which guards memory: a stream's
    is bounded; but a limit set with ``--max-pixels`` still applies, and so does the default
    to a file that would inflate more than a hundredfold, as real images do not), for a job
    whose tap tables are too large to build whole (an extreme aspect ratio: they are built by
    range as it streams), and for a job an in-memory resize would not fit in memory.  A Zarr or ``--pyramid`` job that
    cannot stream is refused here, saying why."""

    if options.pyramid and images.output_format(dst) != "TIFF":
        raise ResampleError(f"{dst}: --pyramid is for TIFF outputs")
    source, why = stream.probe(src, dst, options, header)
    if why is not None:
        for asked, flag in ((is_zarr(src), "Zarr input"), (is_zarr(dst), "Zarr output"),
                            (options.pyramid, "--pyramid")):
            if asked:
                raise ResampleError(f"{src}: {flag} needs a streamed resize, and {why}")
        return False
    stream.check_limits(source, src)            # every stream answers to the pixel limit
    if options.stream or options.pyramid or is_zarr(src) or is_zarr(dst):
        return True
    width, height = source.width, source.height
    if width * height > (images.pixel_limit() or float("inf")):
        return True                               # passed as a stream (check_limits)
    out_w, out_h = options.output_size(width, height)
    if stream.in_blocks(height, width, out_h, out_w, options):
        return True                 # tables too large to build whole: built by range, streamed
    sample = max(source.dtype.itemsize, 2 if source.kind == "PNG" else 1)   # as load counts
    decoded = images.decode_memory(width, height, source.channels, sample)
    return decoded + job_memory((height, width, source.channels), source.dtype, False,
                                   (out_h, out_w), options, images.output_format(dst)) \
        > memory.available_memory()


def peek(path, header: Header | None = None):
    """``(width, height, format)`` of an input image from its header (resample.formats.images.peek;
    a PNG, TIFF or Zarr that can stream is read by its own header, not held to the
    decompression-bomb limit here: see :func:`streams`).  ``header``: the input's, if read
    already."""

    header = header or read_header(path)
    if header.source is None:
        if is_zarr(path) and os.path.isdir(path):
            raise header.error              # a Zarr store's own reason, not "is a folder"
        return images.peek(path)
    source = header.source
    return source.width, source.height, source.kind.upper()


def keep_as_is(src, dst, options: Options, fmt, loaded=None):
    """An image that ``--size ...>`` (or ``<``) leaves as it is: not resampled.  Into the same
    format its file is copied byte for byte (nothing decoded); into another it is decoded and
    encoded as any output (metadata carried).  Returns the notes, which say which."""

    copied = plain.copy_unchanged(src, dst, options, fmt)
    if copied is not None:
        return copied
    what = (f"left as it is by --size {options.size}: not resized, only "
            f"{'stripped' if options.strip else 'converted'} to {output_format(dst)}")

    if keeps_frames(src, dst):                          # every frame, as it is
        resize_frames(src, dst, options.replace(method="nearest"), lambda w, h: (w, h))
        return [what]
    pic = loaded if loaded is not None else images.load(src)
    notes = pic.notes + images.save(pic, dst, quality=options.quality, strip=options.strip)
    return notes + [what]


def check_resize_fits(pic, out_shape, options: Options, fmt):
    """Refuse, before any large allocation, a resize whose output the format ``fmt`` cannot
    hold, or that would not fit in memory (:func:`job_memory`)."""

    rows, cols = out_shape
    images.check_size(fmt, cols, rows)
    if options.points:
        return                    # resize_as_points checks its own points and output
    a = pic.array
    shape = a.shape if a.ndim == 3 else a.shape + (1,)
    check_memory(job_memory(shape, a.dtype, pic.alpha, out_shape, options, fmt),
                         f"a {cols}x{rows} {fmt} output")


def job_memory(shape, dtype, alpha, out_shape, options: Options, fmt):
    """Bytes a file's in-memory job takes beyond its decoded image of ``shape`` (rows, cols,
    channels): the resize's (the one estimator, :func:`resample.resize_memory`: tables,
    the engine's copies and output), the float copies made while alpha is premultiplied, and
    the encoder's buffers (a PNG is filtered into a second copy and compressed into a third;
    other encoders copy the pixels once)."""

    rows, cols = out_shape
    dtype = np.dtype(dtype)
    work, need = dtype, 0
    if alpha:                     # premultiplied work copies of the input and the output
        work = np.dtype(np.float64 if dtype.itemsize > 2 else np.float32)
        need += int(np.prod(shape)) * work.itemsize + 2 * rows * cols * shape[2] * work.itemsize
    need += resize_memory(shape, out_shape, work, options.method,
                              options.antialias, options.align, options.boundary)
    return need + (3 if fmt == "PNG" else 2) * rows * cols * shape[2] * dtype.itemsize


def points_frame(cloud, options: Options):
    """Where a point cloud's points land in the output: ``(W, H, xy, sigma, notes)``, xy and
    the CSV's sigma in output pixels (docs/conventions.md).  The frame is the CSV's ``# frame: WxH``;
    without one, the size that ``--coords unit`` or ``normalized`` are given (``--size WxH``),
    else the smallest that holds every point (and a note says so).  ``--size`` (geometry) or
    ``--scale`` map the frame onto the output as a resize would; with neither the output is
    the frame."""

    notes = []
    frame, out = cloud.frame, None
    if frame is None and options.coords != "pixel":
        frame = out = exact_size(options.size)      # unit and normalized span the output
        if frame is None:
            raise ResampleError(f"--coords {options.coords} needs a frame: a '# frame: WxH' "
                                "line in the CSV, or --size WxH")
    xy = pointcloud.to_pixels(cloud.xy, options.coords, frame)
    if frame is None:
        frame = pointcloud.size_from_points(xy)
        notes.append(f"the CSV names no frame ('# frame: WxH'): the frame is what its points "
                     f"span, {frame[0]}x{frame[1]}")
    if out is None:
        out = options.output_size(*frame) if (options.size or options.scale) else frame
    xy, sigma = pointcloud.onto_output(xy, cloud.sigma, frame, out)
    outside = int(np.sum((xy[:, 0] < -0.5) | (xy[:, 0] > out[0] - 0.5)
                         | (xy[:, 1] < -0.5) | (xy[:, 1] > out[1] - 0.5)))
    if outside:
        notes.append(f"{outside} of {len(xy)} points lie outside the {frame[0]}x{frame[1]} frame")
    return out[0], out[1], xy, sigma, notes


def rebuild_points(src, dst, options: Options, *, weights=None, loaded=None, cancelled=None,
                   compute=None):
    """Rebuild the image of the point cloud ``src`` (``loaded``: its cloud, if already read);
    also write the weight map to ``weights``."""

    cloud = loaded if loaded is not None else pointcloud.read_csv(src)
    width, height, xy, sigma_in, notes = points_frame(cloud, options)
    sigma = options.sigma
    if sigma is None:
        sigma = sigma_in if sigma_in is not None else "steered"
    with compute or nullcontext():
        out, z = gmm.reconstruct(xy, cloud.values, (height, width), sigma=sigma,
                                 cutoff=options.cutoff, holes=options.holes, fill=options.fill,
                                 order=options.order, interpolate=options.interpolate,
                                 device=options.device, return_weights=True)
    if cancelled is not None and cancelled():
        return []
    fmt = images.output_format(dst)
    pic = images.Picture(out if fmt == "TIFF" else to_dtype(out, np.uint8),
                         alpha=out.shape[2] == 4)
    notes += images.save(pic, dst, quality=options.quality)
    if weights is not None:
        wfmt = images.output_format(weights)
        zmax = float(z.max()) or 1.0
        zpic = z.astype(np.float32) if wfmt == "TIFF" else to_dtype(z / zmax * 255, np.uint8)
        notes += images.save(images.Picture(zpic), weights, quality=options.quality)
    return notes
