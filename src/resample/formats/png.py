"""A small PNG codec: a fast writer for 8- and 16-bit images, and a reader for 16-bit colour
(grey+alpha, RGB, RGBA), which Pillow reduces to 8 bits.

Rows are buffers of bytes (a memoryview, or NumPy's); no NumPy here, so that the plain job
(resample.jobs.plain) reads and writes PNGs without it.  Only non-interlaced files are read;
the caller falls back to Pillow for anything else.
"""

from __future__ import annotations

import struct
import sys
import zlib
from array import array

from ..compiled import core as _core
from ..errors import ResampleError
from ..spec.memory import check_memory

SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}          # PNG colour type -> samples per pixel
COLOR_TYPE = {1: 0, 2: 4, 3: 2, 4: 6}


def _chunks(data):
    pos = len(SIGNATURE)
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        yield kind, data[pos + 8:pos + 8 + length]
        pos += 12 + length


ICC_MAX_BYTES = 16 << 20        # an ICC profile is kilobytes; more is damage or a bomb


def inflate_bounded(data, limit):
    """zlib-inflate at most ``limit`` bytes; more is refused as a corrupt file."""
    d = zlib.decompressobj()
    out = d.decompress(data, limit)
    if d.unconsumed_tail:
        raise ResampleError(f"a compressed PNG chunk inflates beyond {limit} bytes")
    return out


def exif_chunk(path):
    """The body of a PNG's eXIf chunk, or None; reads only the chunk headers, not the pixels."""
    with open(path, "rb") as f:
        if f.read(8) != SIGNATURE:
            return None
        while True:
            head = f.read(8)
            if len(head) < 8:
                return None
            length, kind = struct.unpack(">I4s", head)
            if kind == b"eXIf":
                return f.read(length)
            if kind == b"IEND":
                return None
            f.seek(length + 4, 1)


def ihdr(path):
    """``(bit depth, colour type, interlaced)`` from a PNG's IHDR chunk, or None for a file
    that does not start as a PNG."""
    with open(path, "rb") as f:
        head = f.read(29)
    if len(head) < 29 or head[:8] != SIGNATURE or head[12:16] != b"IHDR":
        return None
    return head[24], head[25], head[28] != 0


def is_16bit_colour(path):
    """True when ``path`` is a non-interlaced 16-bit PNG with more than one sample per pixel."""
    head = ihdr(path)
    return head is not None and head[0] == 16 and head[1] in (2, 4, 6) and not head[2]


def read_samples(path):
    """Read a 16-bit colour PNG (:func:`is_16bit_colour`): ``(samples, (height, width,
    channels), icc bytes or None, dpi or None)``, ``samples`` an ``array('H')`` of the rows'
    samples in native byte order."""
    with open(path, "rb") as f:
        data = f.read()
    ihdr = data[16:29]
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", ihdr)
    channels = CHANNELS[colour]
    idat, icc, dpi = [], None, None
    for kind, body in _chunks(data):
        if kind == b"IDAT":
            idat.append(body)
        elif kind == b"iCCP":
            icc = inflate_bounded(body[body.index(b"\0") + 2:], ICC_MAX_BYTES)
        elif kind == b"pHYs" and len(body) == 9 and body[8] == 1:
            ppm_x, ppm_y = struct.unpack(">II", body[:8])
            dpi = (ppm_x * 0.0254, ppm_y * 0.0254)
    stride = width * channels * 2
    expected = height * (stride + 1)            # filter bytes and rows, as declared

    check_memory(3 * expected, f"a {width}x{height} 16-bit PNG")
    try:
        # Inflate no more than the declared rows: a small file may inflate without bound.
        raw = zlib.decompressobj().decompress(b"".join(idat), expected)
    except zlib.error as exc:
        raise ResampleError(f"corrupt PNG data ({exc})") from None
    if len(raw) < expected:
        raise ResampleError("truncated PNG data")
    rows = bytearray(height * stride)
    if not _core.png_unfilter(memoryview(raw).cast("B", (expected,)), channels * 2,
                              memoryview(rows).cast("B", (height, stride))):
        raise ResampleError("corrupt PNG data (unknown row filter)")
    samples = array("H")
    samples.frombytes(rows)
    del rows
    if sys.byteorder == "little":
        samples.byteswap()                      # PNG's samples are big-endian
    return samples, (height, width, channels), icc, dpi


def chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def write_rows(f, rows, width, channels, depth, icc=None, dpi=None, exif=None, level=6,
               zlib_below=0):
    """Write the PNG whose rows of big-endian samples are ``rows`` (a C-contiguous 2-D buffer of
    bytes, height x width * channels * depth / 8; NumPy or a memoryview) to the binary file
    ``f``.  Rows are filtered adaptively and compressed by libdeflate (through imagecodecs) at
    ``level``: files as small as Pillow's, written several times faster.  Filtered rows of
    fewer than ``zlib_below`` bytes go to zlib instead (see :func:`_compress`)."""
    view = memoryview(rows)
    height, stride = view.shape
    filtered = bytearray(height * (stride + 1))
    # Each row's filter chosen as libpng and Pillow do (the C++ engine).
    _core.png_filter(rows, channels * depth // 8,
                     memoryview(filtered).cast("B", (height, stride + 1)))
    out = [SIGNATURE, chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth,
                                                 COLOR_TYPE[channels], 0, 0, 0))]
    if icc:
        out.append(chunk(b"iCCP", b"icc\0\0" + zlib.compress(icc)))
    if dpi:
        out.append(chunk(b"pHYs", struct.pack(">IIB", *(round(d / 0.0254) for d in dpi), 1)))
    if exif:
        out.append(chunk(b"eXIf", exif[6:] if exif.startswith(b"Exif\0\0") else exif))
    out.append(chunk(b"IDAT", _compress(filtered, level, zlib_below)))
    out.append(chunk(b"IEND", b""))
    f.write(b"".join(out))


def _compress(data, level, zlib_below=0):
    """A zlib stream of ``data``: libdeflate (through imagecodecs, about 1.7x faster than zlib),
    or zlib where imagecodecs is missing or ``data`` is shorter than ``zlib_below`` bytes (the
    command's short path: importing imagecodecs imports NumPy, which costs a small file more
    than libdeflate saves)."""
    if len(data) >= zlib_below:
        try:
            from imagecodecs import deflate_encode  # deferred: it imports NumPy
        except ImportError:
            pass
        else:
            return bytes(deflate_encode(data, level=level))
    return zlib.compress(data, level)
