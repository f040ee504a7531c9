"""Convert one file: resize an image, or rebuild an image from a point-cloud CSV.

The command line (one file or a whole folder) and Python batch jobs share these functions.
Sizes are (width, height) here, as on the command line; arrays are (rows, cols).  This module
imports NumPy and Pillow only when a file is converted.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import signal
import threading
from contextlib import nullcontext
from dataclasses import dataclass

from .errors import ResampleError, excerpt

POINT_EXTENSIONS = (".csv", ".tsv")

_GEOMETRY = re.compile(r"^\s*(?:(\d+(?:\.\d*)?)%|(\d+)?(?:x(\d+)?)?(!)?)\s*$", re.IGNORECASE)
_EXACT = re.compile(r"^\s*(\d+)x(\d+)!?\s*$")


MAX_SIDE = 2**31 - 1      # the longest side of an image, in pixels


def round_half_up(x):
    """Sizes round halves up, as ``resample.resize(scale=...)`` does: 4.5 -> 5."""
    return math.floor(x + 0.5)


def scaled_side(n, s):
    """An output side: ``n`` samples scaled by ``s``, halves rounded up, at least 1; a side
    beyond MAX_SIDE (or an overflow to infinity) is refused."""
    x = n * s
    if not x < MAX_SIDE:
        raise ResampleError(f"scale {s:g} makes a side of {x:.3g} pixels, more than {MAX_SIDE}")
    return max(1, round_half_up(x))


def parse_geometry(text, width, height):
    """Output (width, height) for ImageMagick geometry ``text`` and an input of width x height:
    ``WxH`` (fit inside, keep aspect), ``WxH!`` (exact), ``Wx``/``W``, ``xH``, ``N%``."""
    m = _GEOMETRY.match(text or "")
    if not m or not (m.group(1) or m.group(2) or m.group(3)):
        raise ResampleError(f"--size {excerpt(text)} is not WxH, WxH!, Wx, xH or N%")
    pct, w, h, exact = m.groups()
    if pct is not None:
        s = float(pct) / 100.0
        if s <= 0:
            raise ResampleError(f"--size {excerpt(text)} must be above 0%")
        return scaled_side(width, s), scaled_side(height, s)
    w = int(w) if w else None
    h = int(h) if h else None
    if (w is not None and w < 1) or (h is not None and h < 1):
        raise ResampleError(f"--size {excerpt(text)} needs sizes of at least 1")
    if (w or 0) > MAX_SIDE or (h or 0) > MAX_SIDE:
        raise ResampleError(f"--size {excerpt(text)}: a side may be at most {MAX_SIDE} pixels")
    if w and h:
        if exact:
            return w, h
        s = min(w / width, h / height)
        return (max(1, min(w, round_half_up(width * s))),
                max(1, min(h, round_half_up(height * s))))
    if w:
        return w, scaled_side(height, w / width)
    return scaled_side(width, h / height), h


def exact_size(text):
    """(width, height) for a plain ``WxH`` (the size a point cloud is rebuilt at), else None."""
    m = _EXACT.match(text or "")
    if not m or int(m.group(1)) < 1 or int(m.group(2)) < 1:
        return None
    return int(m.group(1)), int(m.group(2))


@dataclass(frozen=True)
class Options:
    """What to do to each file.  Images: ``scale`` or ``size`` (geometry text).  Point clouds:
    ``size`` as plain WxH, or None for the size their coordinates need.  ``quality`` is for
    JPEG and WebP output (1-100; None: 95)."""

    method: str = "bilinear"
    scale: float | None = None
    size: str | None = None
    align: str = "centers"
    boundary: str = "truncate"     # as Pillow resizes files
    fill: float = 0.0
    antialias: bool = True
    device: str = "auto"
    quality: int | None = None
    sigma: object = None          # None: the CSV's sigma columns, else "auto"
    cutoff: float = 3.0
    holes: str = "nearest"
    coords: str = "pixel"

    def output_size(self, width, height):
        if self.size is not None:
            return parse_geometry(self.size, width, height)
        return tuple(scaled_side(n, self.scale) for n in (width, height))


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


def is_points(path):
    return os.fspath(path).lower().endswith(POINT_EXTENSIONS)


def load_input(src):
    """Read ``src``: a :class:`images.Picture`, or a point cloud for a .csv/.tsv."""
    if is_points(src):
        from . import pointcloud

        return pointcloud.read_csv(src)
    from . import images

    return images.load(src)


def convert_file(src, dst, options: Options, *, loaded=None, cancelled=None, compute=None):
    """Convert ``src`` (an image, or a point-cloud CSV) into ``dst``; return the notes.

    ``loaded`` is ``load_input(src)`` if already read.  ``cancelled`` (a callable) is asked
    between the steps; when it answers True, the file is dropped before anything is written.
    ``compute`` (a context manager, e.g. a lock) is held while resampling, not while decoding
    or encoding.  The output is written atomically."""
    convert = rebuild_points if is_points(src) else resize_image
    return convert(src, dst, options, loaded=loaded, cancelled=cancelled, compute=compute)


def resize_image(src, dst, options: Options, *, cancelled=None, compute=None, loaded=None):
    """Resize the image ``src`` into ``dst`` (``loaded``: its Picture, if already read)."""
    from . import images

    pic = loaded if loaded is not None else images.load(src)
    width, height = pic.size
    out_w, out_h = options.output_size(width, height)
    check_resize_fits(pic, (out_h, out_w), options, images.output_format(dst))
    if cancelled is not None and cancelled():
        return []
    with compute or nullcontext():
        result = images.resize_picture(pic, shape=(out_h, out_w), method=options.method,
                                       align=options.align, boundary=options.boundary,
                                       fill=options.fill, antialias=options.antialias,
                                       device=options.device)
    if cancelled is not None and cancelled():
        return []
    return pic.notes + images.save(result, dst, quality=options.quality)


def check_resize_fits(pic, out_shape, options: Options, fmt):
    """Refuse, before any large allocation, a resize whose output the format ``fmt`` cannot
    hold, or that would not fit in memory: the engine's tables and output, the float copies
    made while alpha is premultiplied, and the encoder's buffers (a PNG is filtered into a
    second copy and compressed into a third; other encoders copy the pixels once)."""
    import numpy as np

    from . import api, devices, images
    from .methods import get_method

    rows, cols = out_shape
    images.check_size(fmt, cols, rows)
    if options.method == "gmm":
        return                    # resize_as_points checks its own points and output
    a = pic.array
    shape = a.shape if a.ndim == 3 else a.shape + (1,)
    dtype = a.dtype
    need = 0
    if pic.alpha:                 # premultiplied work copies of the input and the output
        dtype = np.dtype(np.float64 if a.dtype.itemsize > 2 else np.float32)
        need += a.size * dtype.itemsize + 2 * rows * cols * shape[2] * dtype.itemsize
    need += api.resize_memory(shape, out_shape, dtype, get_method(options.method),
                              options.antialias, options.align, options.boundary)
    need += (3 if fmt == "PNG" else 2) * rows * cols * shape[2] * a.dtype.itemsize
    devices.check_memory(need, f"a {cols}x{rows} {fmt} output")


def rebuild_points(src, dst, options: Options, *, weights=None, loaded=None, cancelled=None,
                   compute=None):
    """Rebuild the image of the point cloud ``src`` (``loaded``: its cloud, if already read);
    also write the weight map to ``weights``."""
    import numpy as np

    from . import gmm, images, pointcloud

    cloud = loaded if loaded is not None else pointcloud.read_csv(src)
    frame = exact_size(options.size)
    xy = pointcloud.to_pixels(cloud.xy, options.coords, frame)
    width, height = frame or pointcloud.size_from_points(xy)
    notes = []
    outside = int(np.sum((xy[:, 0] < -0.5) | (xy[:, 0] > width - 0.5)
                         | (xy[:, 1] < -0.5) | (xy[:, 1] > height - 0.5)))
    if outside:
        notes.append(f"{outside} of {len(xy)} points lie outside the {width}x{height} frame")
    sigma = options.sigma
    if sigma is None:
        sigma = cloud.sigma if cloud.sigma is not None else "auto"
    with compute or nullcontext():
        out, z = gmm.reconstruct(xy, cloud.values, (height, width), sigma=sigma,
                                 cutoff=options.cutoff, holes=options.holes, fill=options.fill,
                                 device=options.device, return_weights=True)
    if cancelled is not None and cancelled():
        return []
    fmt = images.output_format(dst)
    pic = images.Picture(out if fmt == "TIFF" else images.to_dtype(out, np.uint8),
                         alpha=out.shape[2] == 4)
    notes += images.save(pic, dst, quality=options.quality)
    if weights is not None:
        wfmt = images.output_format(weights)
        zmax = float(z.max()) or 1.0
        zpic = z.astype(np.float32) if wfmt == "TIFF" else images.to_dtype(z / zmax * 255, np.uint8)
        notes += images.save(images.Picture(zpic), weights, quality=options.quality)
    return notes
