"""A plain resize of one image file (PNG, JPEG, WebP, BMP, PPM, TGA, a TIFF's single page or
a GIF's single frame; grey or colour, with or without alpha, paletted or CMYK as Pillow
converts them; 8-bit, and PNG's 16-bit), without NumPy.

The command (resample.cli.command) parses its arguments once; where they ask for what this
job does (a resize of one such file by --scale or --size into a PNG, JPEG, WebP, GIF, TIFF, BMP,
PPM or TGA (16-bit: PNG), with --method, --align, --boundary, --fill, --no-antialias,
--exact, --sharpen, --linear, --srgb (of an image in sRGB already), --quality, --strip,
--overwrite, --threads, --device cpu or auto; EXIF orientations applied), it runs here, in
Pillow's buffers (a 16-bit PNG's rows read by resample.formats.png) and the C++ engine's
loops, so that a small file's process does not spend most of its time importing NumPy.  The
tap tables come from resample.spec.tables, as the full job's; 8-bit samples go through the
fixed-point loops where resample.engines.cpu would take them, else the float loops (with
alpha, on premultiplied samples, as resample.ops.resize premultiplies them).  Anything this
job is unsure of (a mode, --srgb with a profile to convert from, a 16-bit image into TIFF)
is left to the full job, untouched: nothing is written before it has decided.  For what
both can do, both write the same pixels and metadata (tests/jobs/test_plain.py); the same
bytes, but for PNGs under ZLIB_BELOW, which this job compresses with zlib instead of
libdeflate.
"""

from __future__ import annotations

import os
import sys
from array import array
from typing import NamedTuple

from PIL import Image

from ..compiled import core
from ..errors import ResampleError, first_line
from ..engines import devices
from ..engines.passes import fixed_order_ok, pass_costs
from ..formats import files, png
from ..spec import geometry, memory, tables
from ..spec.options import Options

_INPUTS = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".ppm", ".pgm", ".tga", ".tif", ".tiff",
           ".gif")
_INPUT_FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "PPM", "TGA", "TIFF", "GIF")   # (Pillow's names)
_OUTPUTS = ("PNG", "JPEG", "WEBP", "TIFF", "BMP", "PPM", "TGA", "GIF")
_MODES = ("L", "RGB", "LA", "RGBA")
# EXIF orientations 2-8, and how Pillow turns the stored pixels into the shown ones (as the
# full job's arrays are turned: resample.formats.images)
_TRANSPOSE = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
              4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
              6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
              8: Image.Transpose.ROTATE_90}
MAX_SIDE = 1 << 16          # one chunk of tap tables (taps.TAPS_CHUNK); larger: the full job
ZLIB_BELOW = 2 << 20        # PNG data smaller than this is compressed by zlib, not libdeflate
                            # (whose binding, imagecodecs, imports NumPy: 40 ms)
# The options this job takes (the names the command hands its values by); any other given
# leaves the file to the full job.
OPTIONS = frozenset({"output", "scale", "size", "method", "quality", "threads", "quiet",
                     "strip", "overwrite", "device", "align", "boundary", "fill", "no_antialias",
                     "exact", "sharpen", "linear", "srgb"})


# What the spec may ask that only the full job does (NumPy's arithmetic, streams, points).
_FULL_JOB_ONLY = ("points", "stream", "pyramid", "exif_thumbnail")


def takes(src, dst, options: Options):
    """Whether resizing the file ``src`` into ``dst`` (None: the default name) as ``options``
    say is a plain resize this job may take, from the spec and the names alone (it may still
    leave the file to the full job, which then decides as if it had not been asked)."""
    return (src not in (None, "-") and dst != "-"
            and not any(getattr(options, name) for name in _FULL_JOB_ONLY)
            and options.device in ("auto", "cpu")
            and not os.environ.get("RESAMPLE_MAX_PIXELS")   # read by the full job's readers
            and os.fspath(src).lower().endswith(_INPUTS) and os.path.isfile(src)
            and os.path.getsize(src) > 0)


def applies(src, dst, options: Options, explicit):
    """Whether the command's resize of ``src`` into ``dst``, with its options ``explicit``
    given, is one this job may take (:func:`takes`, and no option the command handles only
    in the full job, such as --max-pixels)."""
    return not (explicit - OPTIONS) and takes(src, dst, options)


_PNG_MODES = {0: "L", 2: "RGB", 4: "LA", 6: "RGBA"}      # by colour type


def _png_kind(path):
    """``(bit depth, mode)`` of a PNG this job reads: a palette (mode P), or grey, RGB, grey
    and alpha or RGBA, 8- or 16-bit (a 16-bit one not interlaced, as resample.formats.png
    reads it); else ``(None, None)``.  (Pillow names 16-bit colour by the 8-bit mode it
    reduces it to: LA as RGBA.)"""
    head = png.ihdr(path)
    if head is None:
        return None, None
    depth, colour, interlaced = head
    if colour == 3:
        return 8, "P"
    if colour in _PNG_MODES and (depth == 8 or (depth == 16 and not interlaced)):
        return depth, _PNG_MODES[colour]
    return None, None


class Decoded(NamedTuple):
    """A file :func:`read` decoded for :func:`write`: its pixels (``shape`` (rows, cols,
    channels) of 8-bit samples, a buffer of bytes, or 16-bit ones, an ``array('H')``), in
    ``raw`` mode, and what their output will be."""

    out_path: str
    fmt: str                 # the output's format
    options: Options
    meta: files.Metadata
    raw: str                 # the Pillow mode of the samples resampled
    depth: int               # bits a sample: 8 or 16
    alpha: bool              # the last channel is alpha
    shape: tuple             # (rows, cols, channels) of the pixels
    out_size: tuple          # (width, height) of the output
    notes: list
    pixels: object

    @property
    def nbytes(self):
        return self.shape[0] * self.shape[1] * self.shape[2] * self.depth // 8


def resize(path, dst, options: Options, decoder=None):
    """Resize the file ``path`` into ``dst`` (None: the default name): ``(the output's path,
    notes)``, or None to leave the job to the full one (nothing written): :func:`read`,
    then :func:`write`."""
    done = read(path, dst, options, decoder)
    return write(done) if isinstance(done, Decoded) else done


def read(path, dst, options: Options, decoder=None):
    """Decode the file ``path`` for resizing into ``dst`` (None: the default name): a
    :class:`Decoded`; or ``(the output's path, notes)`` where the job is done already (a
    file ``--size ...>`` leaves as it is, copied); or None to leave the job to the full one
    (nothing written).  A file this job cannot read is the full job's too, which reports it
    in its words.  ``decoder(path, im)``: a faster decoder of 8-bit JPEGs and PNGs that a
    caller with NumPy loaded hands in (resample.formats.images.fast_decode: ``(an (H, W[,
    C]) uint8 array, alpha)``, or ``(None, False)`` to leave the file to Pillow); the same
    pixels as Pillow's."""
    try:
        return _read(path, dst, options, decoder)
    except Exception:                     # noqa: BLE001 (the full job decides and reports)
        return None


def _read(path, dst, options, decoder):
    method = options.method
    with Image.open(path) as im:
        fmt_in, stored_mode = im.format, im.mode
        if (fmt_in not in _INPUT_FORMATS or getattr(im, "n_frames", 1) > 1   # frames, pages,
                or (fmt_in == "TIFF" and (files.deep_tiff(im)          # deep TIFFs, and tiled
                                          or {322, 330} & set(im.tag_v2)))):   # ones or
            return None                         # pyramids (streamed, a level read): the full job's
        depth, png_mode = _png_kind(path) if fmt_in == "PNG" else (8, stored_mode)
        if depth is None:
            return None
        # the mode the pixels are read in: a 16-bit PNG's own (Pillow reduces colour to 8
        # bits: resample.formats.png reads it); else Pillow's, converted as the full job
        # converts it (a palette to RGB, CMYK to RGB, ...)
        convert = files.reading_mode(im) if depth == 8 else None
        mode = png_mode if depth == 16 else convert or stored_mode
        if mode not in _MODES:
            return None
        meta = files.read_metadata(path, im)
        if options.srgb and not files.is_srgb(meta.icc):
            return None                   # (colours to convert, by LittleCMS: the full job)
        if meta.orientation not in _TRANSPOSE and meta.orientation != 1:
            return None                       # ignored, with a note: the full job
        turned = meta.orientation in (5, 6, 7, 8)           # a quarter turn swaps the sides
        width, height = im.size                              # as stored
        shown = (height, width) if turned else (width, height)
        out_w, out_h = options.output_size(*shown)
        out_path = dst or geometry.default_output(path, method.name, (out_w, out_h))
        fmt = files.output_format(out_path)
        folder = os.path.dirname(os.path.abspath(out_path))
        if (fmt not in _OUTPUTS or max(out_w, out_h, width, height) > MAX_SIDE
                or tables.built_by_range(height, width, out_h, out_w, method, options.align,
                                         options.boundary, options.antialias)   # streams
                or (depth == 16 and fmt not in ("PNG",) + files.EIGHT_BIT_ONLY)
                or not os.path.isdir(folder) or os.path.isdir(out_path)
                or (not options.overwrite and os.path.exists(out_path)
                    and os.path.samefile(out_path, path))):
            return None
        if (out_w, out_h) == shown and options.size is not None and options.size.only_if:
            notes = copy_unchanged(path, out_path, options, fmt_in)   # (left as it is)
            return None if notes is None else (out_path, notes)
        files.check_size(fmt, out_w, out_h)
        # --device auto: the GPU only where it would pay, as the full job weighs it (the
        # model needs no CuPy: a small job's cost rules the GPU out before it is looked for)
        n_ch = len(mode)
        madds = (out_h * shown[0] + out_h * out_w) * n_ch * 2 * method.support * max(
            1.0, shown[0] / out_w, shown[1] / out_h)
        if devices.select(options.device, cost=(madds, (width * height + out_w * out_h)
                                                  * n_ch)) != "cpu":
            return None
        scale = 1
        if fmt_in == "JPEG" and stored_mode in ("L", "RGB") and not options.exact \
                and not options.linear:
            # decoded smaller where the shrink allows, as load does (for the output's size as
            # stored)
            scale = geometry.jpeg_draft_scale(width, height, *((out_h, out_w) if turned
                                                                else (out_w, out_h)))
            if scale > 1:
                im.draft(mode, (width // scale, height // scale))
                width, height = im.size
        # An RGB JPEG is written from RGBX samples, which Pillow takes without a copy (its own
        # layout of RGB); so they are resampled as four channels.
        fast = None
        if decoder is not None and depth == 8 and scale == 1 and convert is None \
                and meta.orientation == 1:
            fast = decoder(path, im)[0]          # (all its samples, in the stored mode)
        raw = "RGBX" if mode == "RGB" and fmt == "JPEG" and fast is None and depth == 8 \
            else mode
        n_ch, alpha, item = len(raw), mode in ("LA", "RGBA"), depth // 8
        if (alpha or options.linear) and options.boundary == "constant" and options.fill != 0:
            return None                   # (the fill premultiplied, or linear: the full job's)
        # Pillow's buffer (and its turned copy) and our copy of it, or a 16-bit PNG's inflated,
        # unfiltered and swapped rows; the output, PNG's filtered and compressed copies (the
        # compressor's buffer is as large as its input), and the imports still to come (with
        # alpha or --linear, float32 copies of both: premultiplied or linear light)
        memory.check_memory(width * height * (4 + 4 * (meta.orientation != 1)
                                              + 4 * (convert is not None) + 3 * n_ch * item)
                            + 4 * out_w * out_h * n_ch * item
                            + (alpha or options.linear) * 4 * n_ch * (width * height
                                                                      + out_w * out_h)
                            + 64 * (out_w + out_h) * 16 * n_ch + (64 << 20), "the resize")
        notes = files.linear_light_notes(meta.icc) if options.linear else []
        if depth == 16:
            if meta.orientation != 1:
                return None               # (PNG's eXIf orientation, seldom set: the full job)
            pixels = png.read_samples(path)[0]
        elif fast is not None:
            pixels = memoryview(fast).cast("B")
        else:
            im.load()
            shown_im = im
            if convert is not None:
                shown_im = im.convert(convert)
                notes.append(f"converted {stored_mode} image to {convert}")
            if meta.orientation != 1:          # as the full job turns its arrays
                shown_im = shown_im.transpose(_TRANSPOSE[meta.orientation])
                width, height = shown_im.size
                notes.append(f"applied EXIF orientation {meta.orientation}")
            pixels = _pixels(shown_im, raw, width * height * n_ch)
            del shown_im
    return Decoded(out_path, fmt, options, meta, raw, depth, alpha, (height, width, n_ch),
                   (out_w, out_h), notes, pixels)


def write(job: Decoded, zlib_below=ZLIB_BELOW):
    """Resize and write what :func:`read` decoded: ``(the output's path, notes)``.  PNG
    data under ``zlib_below`` bytes is compressed by zlib, not libdeflate (0 where the caller
    has imagecodecs loaded already)."""
    out_path, fmt, options, meta, raw, depth, alpha, shape, (out_w, out_h), notes, pixels = job
    notes = list(notes)
    n_ch = shape[2]
    out = _resize_pixels(pixels, shape, (out_h, out_w), options, alpha, options.linear)
    code = "H" if depth == 16 else "B"
    if options.sharpen:                      # as the array job sharpens: the same loop
        sharp = _buffer(len(out))
        core.sharpen_mild(_view(out, code, (out_h, out_w * n_ch)), n_ch, alpha,
                          _view(sharp, code, (out_h, out_w * n_ch)))
        out = sharp
    # What the format holds: 16 bits (PNG) or 8, alpha (not JPEG); as the full job's
    # resample.formats.images gives it, by the same compiled loops.
    if depth == 16 and fmt != "PNG":
        notes.append(f"reduced uint16 samples to 8 bits for {fmt}")
        reduced = _buffer(len(out) // 2)
        core.reduce_to_8bit(_view(out, "H", (len(reduced),)), _view(reduced, "B", (len(reduced),)))
        out, depth, code = reduced, 8, "B"
    if alpha and fmt in files.NO_ALPHA:
        notes.append(f"flattened alpha onto white for {fmt}")
        flat = _buffer(depth // 8 * out_h * out_w * (n_ch - 1))
        core.flatten_alpha(_view(out, code, (out_h, out_w, n_ch)), n_ch,
                           _view(flat, code, (out_h, out_w, n_ch - 1)))
        out, n_ch, raw = flat, n_ch - 1, raw[:-1]
    icc, dpi, exif = (None, None, None) if options.strip else (meta.icc, meta.dpi, meta.exif)
    if depth == 16 and sys.byteorder == "little":
        swapped = array("H")                  # PNG's samples are big-endian
        swapped.frombytes(out)
        swapped.byteswap()
        out = swapped
    try:
        with files.atomic_output(out_path) as f:
            if fmt == "PNG":
                rows = memoryview(out).cast("B", (out_h, out_w * n_ch * depth // 8))
                png.write_rows(f, rows, out_w, n_ch, depth, icc=icc, dpi=dpi, exif=exif,
                               zlib_below=zlib_below)
            else:
                save = files.pillow_save_options(fmt, icc, dpi, exif, options.quality)
                files.pillow_save(Image.frombuffer(raw, (out_w, out_h), out, "raw", raw, 0, 1),
                                  f, fmt, **save)
    except ResampleError as exc:         # as resample.formats.images.save words them
        raise ResampleError(f"{out_path}: {exc}") from None
    except MemoryError:
        raise ResampleError(f"{out_path}: not enough memory to encode it") from None
    except Exception as exc:             # noqa: BLE001 (an encoder fails: this file failed)
        raise ResampleError(f"{out_path}: cannot write ({first_line(exc)})") from None
    return out_path, notes




def copy_unchanged(src, dst, options: Options, fmt):
    """An image of format ``fmt`` that ``--size ...>`` (or ``<``) leaves as it is, into an
    output of the same format, metadata kept: its file copied byte for byte, nothing
    decoded; returns the notes.  None where it must be decoded and encoded (another format,
    or --strip): resample.jobs.convert.keep_as_is does that."""
    if options.strip or not (files.output_format(dst) == fmt
                             or (fmt == "MPO" and files.output_format(dst) == "JPEG")):
        return None
    what = f"left as it is by --size {options.size}: copied unchanged"
    if os.path.exists(dst) and os.path.samefile(src, dst):
        return [f"{what} (it is the input)"]
    with open(src, "rb") as f, files.atomic_output(dst) as out:
        while True:                  # (shutil.copyfileobj's loop: shutil costs 2.5 ms to load)
            block = f.read(1 << 20)
            if not block:
                break
            out.write(block)
    return [what]


def _pixels(im, raw, size):
    """``im.tobytes("raw", raw)`` (``size`` bytes) in one piece: tobytes encodes in 64 KiB
    pieces and joins them, which takes twice as long for a camera photo."""
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


def _view(buffer, code, shape):
    """``buffer`` as a C-contiguous array of ``shape`` for the engine (struct ``code``)."""
    return memoryview(buffer).cast("B").cast(code, shape)


def _table(n_in, n_out, options):
    """One axis's tap table (resample.spec.tables, as the full job's) as buffers for the
    engine: (index, weight, count, fill weight, widest), index and weight (n_out, widest)."""
    t = tables.resize_table(n_in, n_out, options.method, options.align, options.boundary,
                            options.antialias)
    return (_view(t.index, "q", (n_out, t.widest)), _view(t.weight, "d", (n_out, t.widest)),
            t.count, t.fill_weight, t.widest)


def _buffer(nbytes):
    """A writable buffer of ``nbytes`` bytes for the engine to fill: a bytearray (from the
    heap, whose pages a batch of files reuses; an array made from ``bytes(n)`` would write
    each page twice, and an anonymous map of its own would fault in fresh pages each time)."""
    return bytearray(nbytes)


def _float32(values):
    """float64 weights as the float32 the engine works in for 8-bit samples (rounded to
    nearest, as NumPy's astype)."""
    view = memoryview(values)
    return _view(array("f", view.cast("B").cast("d")), "f", view.shape)


def _resize_pixels(pixels, shape, out_shape, options, alpha, linear):
    """The resized pixels, a bytearray of samples as the input's (8-bit ``pixels`` are a
    buffer of bytes, 16-bit an ``array('H')``): the same decisions and loops as
    resample.engines.cpu.resize -- 8-bit fixed point where the pass order and the tables
    allow it and no fill term is needed, else the float32 loops.  With
    ``alpha`` (the last channel), the colour is premultiplied and resampled in float32 by the
    float loops, as resample.ops.resize does; ``linear``: decoded from sRGB into float32
    linear light first (premultiplied there) and encoded after, by the loops
    resample.ops.resize calls for 8- and 16-bit arrays."""
    (height, width, n_ch), (out_h, out_w) = shape, out_shape
    code = "H" if isinstance(pixels, array) and pixels.typecode == "H" else "B"
    yi, yw, yc, yf, _ = _table(height, out_h, options)
    xi, xw, xc, xf, x_widest = _table(width, out_w, options)
    fill = options.fill if options.boundary == "constant" else 0.0
    filled = fill != 0 and (any(yf) or any(xf))        # (not with alpha: see read)
    rows_first, cols_first = pass_costs(height, width, out_h, out_w, sum(yc) / out_h, x_widest)
    out = _buffer(array(code).itemsize * out_h * out_w * n_ch)
    dst = _view(out, code, (out_h, out_w * n_ch))
    bands = min(out_h, 16 * core.threads())
    src = _view(pixels, code, (height, width * n_ch))
    if code == "B" and not (alpha or linear or filled) \
            and fixed_order_ok(rows_first, cols_first) \
            and core.resize_fixed8(src, yi, yw, yc, xi, xw, xc, dst, bands):
        return out
    m_out = out_w * n_ch
    i_code = "i" if width * n_ch < 2**31 else "q"            # int32 indices where they fit
    index = _view(_buffer(array(i_code).itemsize * x_widest * m_out), i_code, (x_widest, m_out))
    weight = _view(_buffer(8 * x_widest * m_out), "d", (x_widest, m_out))
    x_fill = _view(bytearray(8 * m_out), "d", (m_out,))
    core.interleave_taps(xi, xw, xc, xf, n_ch, index, weight, x_fill)
    if not (alpha or linear):    # float32 sums, stored rounded half up into 0..255 (65535)
        core.resize(src, yi, _float32(yw), yc, _float32(yf), index, _float32(weight),
                    _float32(x_fill), fill,
                    dst, 0.0, 255.0 if code == "B" else 65535.0, 1, rows_first <= cols_first,
                    bands, n_ch)
        return out
    premultiplied = _buffer(4 * height * width * n_ch)
    if linear:
        core.srgb_to_linear(src, n_ch, alpha, _view(premultiplied, "f", (height, width * n_ch)))
    else:
        core.premultiply(src, n_ch, _view(premultiplied, "f", (height, width * n_ch)))
    result = _buffer(4 * out_h * m_out)
    core.resize(_view(premultiplied, "f", (height, width * n_ch)), yi, yw, yc, yf, index,
                weight, x_fill, 0.0,
                _view(result, "f", (out_h, m_out)), 0.0, 0.0, 0, rows_first <= cols_first,
                bands, n_ch)
    if linear:
        core.linear_to_srgb(_view(result, "f", (out_h, m_out)), n_ch, alpha, dst)
    else:
        core.unpremultiply(_view(result, "f", (out_h, m_out)), n_ch, dst)
    return out
