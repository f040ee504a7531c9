"""Image files: reading, writing (atomically) and resizing with alpha and metadata.

A :class:`Picture` holds the pixels as an ``(H, W)`` or ``(H, W, C)`` array (8-bit, 16-bit,
32-bit integer or 32-bit float samples), whether the last channel is alpha, and the metadata
that is carried to the output: ICC profile, DPI and EXIF (with the orientation applied and
removed).
"""

from __future__ import annotations

import io
import math
import os
import re
import warnings
from dataclasses import dataclass, field, replace

import imagecodecs
import numpy as np
import tifffile
from PIL import ExifTags, Image, ImageCms, UnidentifiedImageError

from ..compiled import core as _core
from ..errors import ResampleError, excerpt, first_line
from ..ops.resize import resize
from ..spec.dtypes import to_dtype
from ..spec.geometry import jpeg_draft_scale
from ..spec.memory import check_memory
from . import files, png
from .files import (EIGHT_BIT_ONLY, NO_ALPHA, atomic_output, check_size, deep_tiff,
    icc_description, is_srgb, not_a_file, output_format, pillow_save, pillow_save_options,
    read_metadata, reading_mode)

_ALPHA_MODES = ("LA", "RGBA")


@dataclass
class Picture:
    """Pixels plus what is carried from the input to the output."""

    array: np.ndarray
    alpha: bool = False
    icc: bytes | None = None
    dpi: tuple | None = None
    exif: bytes | None = None
    format: str | None = None
    notes: list = field(default_factory=list)
    full_size: tuple | None = None   # (width, height) before a reduced decode (see load)

    @property
    def size(self):
        """(width, height)."""
        return self.array.shape[1], self.array.shape[0]

    @property
    def source_size(self):
        """(width, height) of the image in its file (the EXIF orientation applied), whatever
        size it was decoded at: what an output size is computed from."""
        return self.full_size or self.size


def _orient(a, orientation):
    """Apply an EXIF orientation (1-8) to an array of rows and columns."""
    ops = {2: lambda x: x[:, ::-1], 3: lambda x: x[::-1, ::-1], 4: lambda x: x[::-1],
           5: lambda x: np.swapaxes(x, 0, 1), 6: lambda x: np.swapaxes(x, 0, 1)[:, ::-1],
           7: lambda x: np.swapaxes(x, 0, 1)[::-1, ::-1], 8: lambda x: np.swapaxes(x, 0, 1)[::-1]}
    op = ops.get(orientation)
    return a if op is None else np.ascontiguousarray(op(a))


def _pillow_array(im, notes):
    mode = im.mode
    target = reading_mode(im)
    if target is not None and target != "I;16":
        notes.append(f"converted {mode} image to {target}")
        im = im.convert(target)
    a = np.asarray(im)
    if mode.startswith("I;16"):
        a = a.astype(np.uint16)
    elif im.mode == "I":
        a = a.astype(np.int32)
    return a, im.mode in _ALPHA_MODES


def load(path, target=None, thumbnail=False) -> Picture:
    """Read an image file.  Raises :class:`ResampleError` with one line on any failure.

    ``target(width, height)``, if given, is the size the picture will be resized to (from
    its size as displayed): a JPEG is then decoded smaller where the shrink allows
    (:func:`resample.spec.geometry.jpeg_draft_scale`), and ``full_size`` keeps its own size.
    Without it every pixel is decoded.  ``thumbnail``: a JPEG's embedded EXIF thumbnail is
    the picture where it is at least twice the output on each side and of the same aspect
    ratio (within 1%)."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ResampleError(f"{path}: no such file")
    if os.path.isdir(path):
        raise ResampleError(f"{path}: is a folder")
    if os.path.getsize(path) == 0:
        raise ResampleError(f"{path}: {not_a_file(path) or 'file is empty'}")
    return _guarded(path, _read, path, target, thumbnail)


def peek(path):
    """``(width, height, format)`` of an image file as :func:`load` would give it (the EXIF
    orientation applied), from its header: the pixels are not decoded."""
    path = os.fspath(path)
    load_errors = (not os.path.exists(path) or os.path.isdir(path)
                   or os.path.getsize(path) == 0)
    if load_errors:
        load(path)                  # raises its one-line error
    return _guarded(path, _peek, path)


def _peek(path):
    try:
        im = Image.open(path)
    except UnidentifiedImageError:
        if files.is_heif(path):
            im = files.open_heif(path)
        else:
            pic = load(path)            # e.g. float RGB TIFF, which Pillow cannot open
            return pic.size[0], pic.size[1], pic.format
    with im:
        meta = read_metadata(path, im)
        (width, height), fmt = im.size, im.format
    if meta.orientation in (5, 6, 7, 8):          # a quarter turn swaps the sides
        width, height = height, width
    return width, height, fmt


def _guarded(path, read, *args):
    """``read(*args)``, with any failure turned into one line naming ``path``: a decoder may
    fail on damaged data in any way."""
    _limit_from_environment()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return read(*args)
    except Image.DecompressionBombError as exc:
        found = re.search(r"\((\d+) pixels\)", str(exc))
        size = f"{found.group(1)} pixels" if found else "too many pixels"
        raise ResampleError(f"{path}: {size}, more than the decompression-bomb limit of "
                            f"{int(_pixel_limit() or 0)}; --max-pixels N or {MAX_PIXELS_ENV} "
                            "raises it for a file you trust") from None
    except ResampleError as exc:
        raise ResampleError(named(path, exc)) from None
    except MemoryError:
        raise ResampleError(f"{path}: not enough memory to decode it") from None
    except Exception as exc:        # noqa: BLE001
        raise ResampleError(f"{path}: cannot read image ({first_line(exc)})") from None


def named(path, exc):
    """An error's message naming ``path`` once."""
    text = str(exc)
    return text if text.startswith(f"{path}: ") else f"{path}: {text}"


def _read(path, target=None, thumbnail=False) -> Picture:
    try:
        im = Image.open(path)
    except UnidentifiedImageError:
        if _is_tiff(path):
            return _load_tiff(path)        # e.g. float RGB, which Pillow cannot open
        if not files.is_heif(path):
            raise ResampleError("not an image, or a format that cannot be read") from None
        im = files.open_heif(path)
    notes = []
    with im:
        _check_decode_memory(im)
        fmt = im.format
        frames = getattr(im, "n_frames", 1) if fmt != "MPO" else 1   # (MPO: a preview)
        if frames > 1:
            kind = "pages" if fmt == "TIFF" else "frames"
            notes.append(f"{frames} {kind}: only the first is converted (GIF, WebP, PNG and "
                         "TIFF outputs keep them all)")
        meta = read_metadata(path, im)
        array, full_size = _exif_thumbnail(im, meta.orientation, target) \
            if thumbnail else (None, None)
        alpha = False
        if array is not None:
            notes.append("started from the embedded EXIF thumbnail (--exif-thumbnail)")
        else:
            full_size = _draft(im, meta.orientation, target)
            array, alpha = _special_reader(path, im)
        if array is None and full_size is None:
            array, alpha = fast_decode(path, im)
        if array is None:
            im.load()
            array, alpha = _pillow_array(im, notes)
    if meta.orientation not in range(1, 9):
        notes.append(f"ignored an EXIF orientation of {excerpt(meta.orientation)} (not 1-8)")
    elif meta.orientation != 1:
        notes.append(f"applied EXIF orientation {meta.orientation}")
    return Picture(_orient(array, meta.orientation), alpha=alpha, icc=meta.icc, dpi=meta.dpi,
                   exif=meta.exif, format=fmt, notes=notes, full_size=full_size)


def _stored_target(im, orientation, target):
    """``(shown size, output size as stored)``: ``target`` gives the output from the size as
    displayed; a quarter turn (EXIF orientation 5-8) swaps the sides of both."""
    width, height = im.size
    turned = orientation in (5, 6, 7, 8)
    shown = (height, width) if turned else (width, height)
    out_w, out_h = target(*shown)
    return shown, ((out_h, out_w) if turned else (out_w, out_h))


def _exif_thumbnail(im, orientation, target):
    """``(array, displayed full size)`` of a JPEG's EXIF thumbnail (IFD1's JPEG) when it fits
    ``target`` (see :func:`load`), else ``(None, None)``.  Its declared size is weighed
    before it is decoded: a thumbnail no smaller than the image itself is not one (a file
    may claim anything), and its decoding must fit in memory."""

    raw = im.info.get("exif")
    if target is None or im.format not in ("JPEG", "MPO") or not raw:
        return None, None
    width, height = im.size
    shown, (out_w, out_h) = _stored_target(im, orientation, target)
    try:
        ifd1 = im.getexif().get_ifd(ExifTags.IFD.IFD1)
        start, length = int(ifd1[0x0201]), int(ifd1[0x0202])
        base = 6 if raw.startswith(b"Exif\0\0") else 0
        with Image.open(io.BytesIO(raw[base + start:base + start + length])) as thumb:
            t_w, t_h = thumb.size
            if (t_w >= width or t_h >= height or t_w < 2 * out_w or t_h < 2 * out_h
                    or abs(t_w / t_h - width / height) > 0.01 * width / height):
                return None, None
            check_memory(decode_memory(t_w, t_h, 3, 1), f"decoding a {t_w}x{t_h} thumbnail")
            thumb = thumb.convert(im.mode if im.mode in ("L", "RGB") else "RGB")
            array = np.asarray(thumb)
    except ResampleError:
        return None, None
    except Exception:       # noqa: BLE001 (no thumbnail, or a damaged one: the image itself)
        return None, None
    if array.shape[:2] != (t_h, t_w):
        return None, None
    return array, shown


def _draft(im, orientation, target):
    """Ask Pillow's JPEG decoder for a smaller image (DCT scaling) where ``target`` (the output
    size from the displayed size) shrinks it enough; returns the displayed size it had, or
    None where every pixel is decoded.  (No note: the plain job, resample.jobs.plain, does the
    same silently; --exact is the way to every pixel.)"""
    if target is None or im.format not in ("JPEG", "MPO") or im.mode not in ("L", "RGB"):
        return None
    width, height = im.size
    shown, (out_w, out_h) = _stored_target(im, orientation, target)
    scale = jpeg_draft_scale(width, height, out_w, out_h)
    if scale == 1:
        return None
    im.draft(im.mode, (width // scale, height // scale))
    if im.size == (width, height):
        return None
    return shown


def _is_tiff(path):
    with open(path, "rb") as f:
        head = f.read(4)
    return head in (b"II*\0", b"MM\0*", b"II+\0", b"MM\0+")


def _load_tiff(path) -> Picture:
    """A TIFF that Pillow cannot open (float or 32-bit colour, ...), read by tifffile: the
    first page, its size and memory checked from the header before any strip is decoded."""

    with tifffile.TiffFile(path, is_ome=False) as tif:       # (no OME series: one page)
        page = tif.pages.first
        pages = len(tif.pages)
        shape, dtype = tuple(page.shape), np.dtype(page.dtype)
        pixels = int(page.imagelength) * int(page.imagewidth)
        top = _pixel_limit()
        if top is not None and pixels > top:
            raise ResampleError(f"{pixels} pixels, more than the decompression-bomb limit of "
                                f"{int(top)}; --max-pixels N or {MAX_PIXELS_ENV} raises it "
                                "for a file you trust")
        check_memory(3 * math.prod(shape) * dtype.itemsize,
                     f"decoding a {page.imagewidth}x{page.imagelength} TIFF")
        array = page.asarray()
        icc = page.tags.get(34675)
        resolution = page.tags.get(282), page.tags.get(283), page.tags.get(296)
        extra = page.extrasamples
    samples = int(page.samplesperpixel)
    if array.ndim == 3 and array.shape[0] == samples and array.shape[2] != samples:
        array = np.moveaxis(array, 0, -1)              # planar to interleaved
    if array.ndim not in (2, 3) or not (np.issubdtype(array.dtype, np.integer)
                                        or np.issubdtype(array.dtype, np.floating)):
        raise ResampleError(f"unsupported TIFF samples {array.dtype} {array.shape}")
    if array.dtype.kind == "f" and array.dtype != np.float32:
        array = array.astype(np.float32 if array.dtype.itemsize <= 4 else np.float64)
    array = np.ascontiguousarray(array.astype(array.dtype.newbyteorder("="), copy=False))
    dpi = None
    xres, yres, unit = resolution
    if xres is not None and yres is not None and (unit is None or unit.value == 2):
        try:
            dpi = tuple(float(n) / float(d) for n, d in (xres.value, yres.value))
        except (TypeError, ValueError, ZeroDivisionError):
            dpi = None
    alpha = bool(extra) and array.ndim == 3 and array.shape[2] in (2, 4)
    notes = ([f"{pages} pages: only the first is converted (multi-page float TIFF is not "
               "supported)"] if pages > 1 else [])
    return Picture(array, alpha=alpha, icc=bytes(icc.value) if icc is not None else None,
                   dpi=dpi, format="TIFF", notes=notes)


MAX_PIXELS_ENV = "RESAMPLE_MAX_PIXELS"
_limit_set = False
_limit_given = False        # set by --max-pixels or RESAMPLE_MAX_PIXELS, not Pillow's default


def parse_pixels(text):
    """A pixel count: ``250000000``, ``250M``, ``1.5G``, ``2e8``; ``none`` for no limit
    (returned as None)."""
    t = str(text).strip().lower()
    if t in ("none", "0"):
        return None
    scale = {"k": 1e3, "m": 1e6, "g": 1e9}.get(t[-1:], 1.0)
    try:
        n = float(t[:-1] if scale != 1.0 else t) * scale
    except ValueError:
        n = float("nan")
    if not (n >= 1 and math.isfinite(n)):
        raise ResampleError(f"a pixel count must be a number above 0 (250M, 1.5G), or none "
                            f"(or 0) for no limit, got {str(text)[:40]!r}")
    return int(n)


def set_max_pixels(n):
    """Refuse images of more than ``n`` pixels (None: no limit) as decompression bombs; the
    default is Pillow's (about 179 million).  RESAMPLE_MAX_PIXELS sets it for a process."""
    global _limit_set, _limit_given
    _limit_set = _limit_given = True
    Image.MAX_IMAGE_PIXELS = None if n is None else n / 2     # Pillow refuses above twice it


def _limit_from_environment():
    global _limit_set
    if not _limit_set and os.environ.get(MAX_PIXELS_ENV):
        try:
            set_max_pixels(parse_pixels(os.environ[MAX_PIXELS_ENV]))
        except ResampleError as exc:
            raise ResampleError(f"{MAX_PIXELS_ENV}: {exc}") from None
    _limit_set = True


def pixel_limit():
    """The decompression-bomb limit now in force (None: none)."""
    _limit_from_environment()
    return _pixel_limit()


def check_pixels(path, width, height, streamed=False):
    """Refuse a ``width`` x ``height`` image over the decompression-bomb limit, as decoding
    it would.  ``streamed``: it is read in bounded memory, so only a limit a user set
    (``--max-pixels``, RESAMPLE_MAX_PIXELS) applies, not Pillow's default."""
    check_pixel_count(path, width * height, None, streamed)


def check_pixel_count(path, pixels, what=None, streamed=False):
    """Refuse ``pixels`` (of one image, or ``what``: all the frames or pages of a file) over
    the decompression-bomb limit; ``streamed`` as in :func:`check_pixels`."""
    limit = pixel_limit()
    if limit is not None and pixels > limit and (_limit_given or not streamed):
        whose = f" ({what})" if what else ""
        raise ResampleError(f"{path}: {pixels} pixels{whose}, more than the "
                            f"decompression-bomb limit of {int(limit)}; --max-pixels N or "
                            f"{MAX_PIXELS_ENV} raises it for a file you trust")


def _pixel_limit():
    """Pillow's decompression-bomb limit, which it raises an error at (twice
    Image.MAX_IMAGE_PIXELS; None where a user turned it off), for files Pillow cannot open."""
    top = Image.MAX_IMAGE_PIXELS
    return None if top is None else 2 * top


def _check_decode_memory(im):
    """Refuse, from the declared size alone, an image whose decoding would not fit in memory:
    Pillow's own buffer (up to 4 bytes a pixel) and the arrays made from it (the samples, and
    a copy when the orientation is applied).  Pillow's decompression-bomb limit on the pixel
    count has been applied by ``Image.open`` already."""

    width, height = im.size
    bands = max(len(im.getbands()), 1)
    sample = {"I": 4, "F": 4}.get(im.mode, 2 if im.mode.startswith("I;16") else 1)
    if im.format == "TIFF":
        bits = im.tag_v2.get(258, 8)
        bands = max(bands, int(im.tag_v2.get(277, 1) or 1))
        sample = max(sample, (max(bits) if isinstance(bits, tuple) else int(bits)) // 8)
    elif im.format == "PNG" and im.mode in ("RGB", "RGBA", "LA"):
        sample = 2                  # may be 16-bit colour, read by our own reader
    check_memory(decode_memory(width, height, bands, sample),
                 f"decoding a {width}x{height} image")


def decode_memory(width, height, bands, sample):
    """Bytes decoding an image of ``bands`` samples of ``sample`` bytes a pixel takes:
    Pillow's buffer (up to 4 bytes a pixel) and the arrays made from it."""
    return width * height * 4 + 2 * width * height * bands * sample


def read_png(path):
    """A 16-bit colour PNG (resample.formats.png.is_16bit_colour): ``(array (H, W, C)
    uint16, icc bytes or None, dpi or None)``."""
    samples, shape, icc, dpi = png.read_samples(path)
    return np.frombuffer(samples, np.uint16).reshape(shape), icc, dpi


def write_png(f, array, icc=None, dpi=None, exif=None, level=6):
    """Write ``array`` (H, W) or (H, W, C), uint8 or uint16, C in 1..4, to the binary file
    ``f`` as PNG, with an ICC profile, DPI and EXIF when given (resample.formats.png)."""
    a = array if array.ndim == 3 else array[..., None]
    height, width, channels = a.shape
    if a.dtype not in (np.uint8, np.uint16) or channels not in png.COLOR_TYPE:
        raise ResampleError(f"cannot write {channels}-channel {a.dtype} samples as PNG")
    big = np.ascontiguousarray(a, dtype=">u2" if a.dtype == np.uint16 else np.uint8)
    png.write_rows(f, big.view(np.uint8).reshape(height, -1), width, channels,
                   8 * a.dtype.itemsize, icc=icc, dpi=dpi, exif=exif, level=level)


def _special_reader(path, im):
    """16-bit colour PNG and multi-sample 16-bit or float TIFF, which Pillow reduces to 8 bits."""
    if im.format == "PNG" and im.mode in ("RGB", "RGBA", "LA"):

        if png.is_16bit_colour(path):
            array, _, _ = read_png(path)
            return array, array.shape[2] in (2, 4)
    if deep_tiff(im):
        samples = im.tag_v2.get(277, 1)                  # SamplesPerPixel
        array = tifffile.imread(path, key=0, is_ome=False)   # the first page alone
        if array.ndim == 3 and array.shape[0] == samples and array.shape[2] != samples:
            array = np.moveaxis(array, 0, -1)
        extra = im.tag_v2.get(338, ())
        return np.ascontiguousarray(array), bool(extra) or samples in (2, 4)
    return None, False


_FAST_CHANNELS = {("JPEG", "L"): 1, ("JPEG", "RGB"): 3, ("PNG", "L"): 1, ("PNG", "LA"): 2,
                  ("PNG", "RGB"): 3, ("PNG", "RGBA"): 4}


def fast_decode(path, im):
    """8-bit JPEG and PNG decoded straight into NumPy by imagecodecs (libjpeg-turbo, libpng):
    the same pixels as Pillow in about half the time, with no extra copy.  ``(None, False)``
    for anything else, or when in doubt: Pillow then decodes, and reports any damage.  (The
    plain job, which has no NumPy of its own, is handed this decoder where NumPy is loaded
    anyway: resample.jobs.convert.resize_image.)"""
    channels = _FAST_CHANNELS.get((im.format, im.mode))
    if channels is None or (im.mode in ("L", "RGB") and "transparency" in im.info):
        return None, False
    try:
        with open(path, "rb") as f:
            data = f.read()
        if im.format == "JPEG":
            # libjpeg decodes a truncated file with a warning only: insist on the end marker.
            if not data.rstrip(b"\0").endswith(b"\xff\xd9"):
                return None, False
            a = imagecodecs.jpeg8_decode(data)
        else:
            a = imagecodecs.png_decode(data)
    except Exception:                      # noqa: BLE001 (any failure: let Pillow decide)
        return None, False
    expected = (im.height, im.width) + ((channels,) if channels > 1 else ())
    if a.shape != expected or a.dtype != np.uint8:
        return None, False
    return a, channels in (2, 4)


# --------------------------------------------------------------------------------------------
# Resizing a picture: alpha is premultiplied while resampling.

def to_srgb(pic: Picture):
    """``(picture, notes)``: an 8-bit grey or RGB(A) picture whose ICC profile is not sRGB,
    converted to sRGB by LittleCMS (Pillow's ImageCms, perceptual intent) and tagged with
    an sRGB profile; others as they are, with a note where a profile could not be used."""
    if is_srgb(pic.icc):
        return pic, []
    a = pic.array
    if a.dtype != np.uint8 or a.ndim != 3 or a.shape[2] not in (3, 4):
        return pic, [f"--srgb: {a.dtype} {a.shape[2] if a.ndim == 3 else 1}-channel samples "
                     "are not converted (8-bit RGB only); the profile is carried"]

    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(pic.icc))
        srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
        im = Image.fromarray(np.ascontiguousarray(a[..., :3]))
        out = np.asarray(ImageCms.profileToProfile(im, source, srgb, outputMode="RGB"))
    except (ImageCms.PyCMSError, OSError, ValueError) as exc:
        return pic, [f"--srgb: the ICC profile cannot be used ({str(exc)[:60]}); "
                     "not converted"]
    if a.shape[2] == 4:
        out = np.dstack([out, a[..., 3]])
    name = icc_description(pic.icc) or "the input's profile"
    return replace(pic, array=out, icc=srgb.tobytes()), [
        f"--srgb: converted from {name[:40]} to sRGB"]


def resize_picture(pic: Picture, **options) -> Picture:
    """Resize with :func:`resample.resize`; colour is premultiplied by alpha while resampling."""

    return replace(pic, array=resize(pic.array, alpha=pic.alpha, **options), notes=[],
                   full_size=None)


def sharpen_mild(a, alpha=False):
    """``a`` (H, W) or (H, W, C) sharpened as vipsthumbnail's mild sharpening: the 3x3 mask
    [-1 -1 -1; -1 32 -1; -1 -1 -1] / 24 over each colour channel, the border's pixels
    repeated; an alpha channel (the last, where ``alpha``) is left as it is.  Integers are
    rounded half up and clipped, as every output here."""
    if a.dtype in (np.uint8, np.uint16):       # (the plain job's loop too)
        rows = np.ascontiguousarray(a).reshape(a.shape[0], -1)
        out = np.empty_like(rows)
        _core.sharpen_mild(rows, a.shape[2] if a.ndim == 3 else 1, bool(alpha), out)
        return out.reshape(a.shape)
    work = np.float32 if a.dtype.itemsize <= 2 and a.dtype.kind in "ui" else np.float64
    x = a.astype(work)
    colour = x[..., :-1] if alpha else x
    p = np.pad(colour, ((1, 1), (1, 1)) + ((0, 0),) * (colour.ndim - 2), mode="edge")
    rows = p[:-2] + p[1:-1] + p[2:]                       # 3x3 sums, separably
    box = rows[:, :-2] + rows[:, 1:-1] + rows[:, 2:]
    sharp = (33 * colour - box) / 24                       # (32 c - the 8 around) / 24
    if alpha:
        sharp = np.concatenate([sharp, x[..., -1:]], axis=-1)
    return to_dtype(sharp, a.dtype) if a.dtype.kind in "ui" else sharp.astype(a.dtype)


# --------------------------------------------------------------------------------------------
# Writing.

def _for_format(pic: Picture, fmt):
    """Return ``(array, alpha, notes)`` converted to what ``fmt`` can hold."""
    a, alpha, notes = pic.array, pic.alpha, []
    check_size(fmt, *pic.size)
    if np.issubdtype(a.dtype, np.floating):
        if fmt == "TIFF":
            return a.astype(np.float32), alpha, notes
        # Float samples span 0-1, or 0-255 where their largest is over 1 (as the data's range
        # says): 16 bits for PNG, else 8, rounded half up; what lies outside is clipped, and
        # the note says the rule and how much
        depth = np.uint16 if fmt == "PNG" else np.uint8
        finite = a[np.isfinite(a)]
        span = 255.0 if finite.size and float(finite.max()) > 1.0 else 1.0
        outside = int(np.count_nonzero(~((a >= 0) & (a <= span))))
        top = float(np.iinfo(depth).max)
        converted = to_dtype(np.nan_to_num(a.astype(np.float64), nan=0.0) * (top / span), depth)
        note = (f"converted {a.dtype} samples to {np.iinfo(depth).bits} bits for {fmt}, taken "
                f"as 0-{span:.0f} (their largest is {'over' if span > 1 else 'at most'} 1); "
                "use .tif to keep them")
        if outside:
            note += f" ({100.0 * outside / a.size:.2g}% of them outside 0-{span:.0f}, clipped)"
        a, alpha, more = _for_format(replace(pic, array=converted), fmt)
        return a, alpha, [note] + more
    if fmt in EIGHT_BIT_ONLY and a.dtype != np.uint8:
        notes.append(f"reduced {a.dtype} samples to 8 bits for {fmt}")
        if a.dtype == np.uint16:          # (the plain job's loop too)
            out = np.empty(a.shape, np.uint8)
            _core.reduce_to_8bit(np.ascontiguousarray(a), out)
            a = out
        else:
            a = to_dtype(a.astype(np.float64) * (255.0 / np.iinfo(a.dtype).max), np.uint8)
    if alpha and fmt in NO_ALPHA:
        notes.append(f"flattened alpha onto white for {fmt}")
        if a.dtype in (np.uint8, np.uint16):     # (the plain job's loop too)
            out = np.empty(a.shape[:-1] + (a.shape[-1] - 1,), a.dtype)
            _core.flatten_alpha(np.ascontiguousarray(a), a.shape[-1], out)
            a = out
        else:
            top = float(np.iinfo(a.dtype).max)
            w = a[..., -1:].astype(np.float32) / top
            a = to_dtype(a[..., :-1] * w + top * (1.0 - w), a.dtype)
        alpha = False
        if a.shape[-1] == 1:
            a = a[..., 0]
    return a, alpha, notes


def _write_pillow(f, a, fmt, pic, quality):
    if np.issubdtype(a.dtype, np.floating):
        im = Image.fromarray(a.astype(np.float32), mode="F")
    elif a.dtype not in (np.uint8, np.uint16) and a.ndim == 2:
        im = Image.fromarray(a.astype(np.int32), mode="I")
    else:
        im = Image.fromarray(a)          # uint16 (H, W) becomes I;16
    kwargs = pillow_save_options(fmt, pic.icc, pic.dpi, pic.exif, quality)
    pillow_save(im, f, fmt, **kwargs)


def _write(f, a, alpha, fmt, pic, quality):
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if fmt == "PNG" and a.dtype in (np.uint8, np.uint16):

        write_png(f, a, icc=pic.icc, dpi=pic.dpi, exif=pic.exif)
    elif a.ndim == 2 or a.dtype == np.uint8:
        _write_pillow(f, a, fmt, pic, quality)
    elif fmt == "TIFF":
        extratags = [(34675, 7, len(pic.icc), pic.icc, True)] if pic.icc else []
        tifffile.imwrite(f, a, photometric="rgb" if a.shape[2] >= 3 else "minisblack",
                         extrasamples=[2] if alpha else None, compression="zlib",
                         resolution=pic.dpi, resolutionunit=2 if pic.dpi else None,
                         extratags=extratags)
    else:
        raise ResampleError(f"cannot write {a.shape[2]}-channel {a.dtype} samples as {fmt}")


def save(pic: Picture, path, *, overwrite=True, quality=None, strip=False):
    """Write ``pic`` to ``path`` in the format its extension names, atomically.

    ``quality`` (1-100) is for JPEG and WebP; None means DEFAULT_QUALITY.  ``strip``: write
    no metadata (no EXIF, ICC profile or DPI).
    The file is written to a temporary name in the same folder and renamed, so no half-written
    file is ever left.  Returns the notes about conversions made for the format.
    """
    path = os.fspath(path)
    fmt = output_format(path)
    if strip:
        pic = replace(pic, icc=None, dpi=None, exif=None)
    if not overwrite and os.path.exists(path):
        raise ResampleError(f"{path}: exists (use --overwrite to replace it)")
    a, alpha, notes = _for_format(pic, fmt)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ResampleError(f"{path}: folder {folder} does not exist")
    try:
        with atomic_output(path) as f:
            _write(f, a, alpha, fmt, pic, quality)
    except BaseException as exc:
        if isinstance(exc, ResampleError):
            raise ResampleError(f"{path}: {exc}") from None
        if isinstance(exc, MemoryError):
            raise ResampleError(f"{path}: not enough memory to encode it") from None
        if isinstance(exc, Exception):       # an encoder fails in any way: this file failed
            raise ResampleError(f"{path}: cannot write ({first_line(exc)})") from None
        raise
    return notes
