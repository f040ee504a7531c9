"""Tiny hostile image files for hardening an image-resizing tool.

Every ``make_X(path, ...)`` writes ONE small file (or Zarr folder) to *path*
and returns *path*.  They are meant as fixtures for tests: each runs in well
under a second and produces a file of at
most ~300 KB, yet most of them *declare* an enormous amount of pixels, pages
or frames, so that a careless reader allocates gigabytes or loops for ages.

Only numpy, Pillow, zlib, struct, tifffile and zarr are used.  Importing this
module has no side effects; ``python tests/hostile.py OUTDIR`` writes all of them into
OUTDIR and prints a table (name, bytes, seconds).

The "Verified:" notes in each docstring were checked with Pillow 13.0.0,
tifffile 2026.3.3, zarr 3.1.6, numpy 2.4.6 on Python 3.11.  Note that Pillow's decompression-bomb guard (Image.MAX_IMAGE_PIXELS =
89_478_485; warning above it, DecompressionBombError above twice that) fires
for some of these at Image.open time; where it matters this is noted.
"""

from __future__ import annotations

import io
import os
import struct
import zlib

import numpy as np

__all__ = [
    'make_gif_frame_bomb',
    'make_apng_frame_bomb',
    'make_webp_frame_bomb',
    'make_tiff_page_bomb',
    'make_tiff_two_page_rgb16',
    'make_ome_plane_bomb',
    'make_tiny_tile_tiff',
    'make_png_width_zero',
    'make_png_long_row',
    'make_exif_thumbnail_bomb',
    'make_zarr_huge',
    'make_zarr_group_with_arrays',
    'make_multi_frame_gif_valid',
]


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------

PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'


def _png_chunk(ctype: bytes, data: bytes) -> bytes:
    """Return one PNG chunk: length, type, data, CRC32(type + data)."""
    crc = zlib.crc32(data, zlib.crc32(ctype)) & 0xFFFFFFFF
    return struct.pack('>I', len(data)) + ctype + data + struct.pack('>I', crc)


def _png_ihdr(width: int, height: int, bitdepth: int = 8,
              colortype: int = 0) -> bytes:
    # compression 0, filter 0, interlace 0
    return _png_chunk(b'IHDR', struct.pack('>IIBBBBB', width, height,
                                           bitdepth, colortype, 0, 0, 0))


def _zlib_zeros(nbytes: int, level: int = 9, piece: int = 1 << 20) -> bytes:
    """zlib-compress *nbytes* zero bytes without materialising them all."""
    comp = zlib.compressobj(level)
    block = bytes(min(piece, max(nbytes, 1)))
    out = []
    left = nbytes
    while left > 0:
        n = min(left, len(block))
        out.append(comp.compress(block if n == len(block) else block[:n]))
        left -= n
    out.append(comp.flush())
    return b''.join(out)


def _riff_chunk(fourcc: bytes, data: bytes) -> bytes:
    """Return one RIFF chunk, padded to an even size."""
    pad = b'\x00' if len(data) & 1 else b''
    return fourcc + struct.pack('<I', len(data)) + data + pad


def _u24(v: int) -> bytes:
    return struct.pack('<I', v)[:3]


def _iter_riff_chunks(data: bytes, start: int = 12):
    pos = start
    while pos + 8 <= len(data):
        fourcc = data[pos:pos + 4]
        size = struct.unpack('<I', data[pos + 4:pos + 8])[0]
        yield fourcc, data[pos + 8:pos + 8 + size]
        pos += 8 + size + (size & 1)


def _jpeg_segments(jpeg: bytes):
    """Yield (marker, offset_of_marker, segment_length) up to SOS."""
    pos = 2  # after SOI
    while pos < len(jpeg):
        assert jpeg[pos] == 0xFF, 'not at a JPEG marker'
        marker = jpeg[pos + 1]
        length = struct.unpack('>H', jpeg[pos + 2:pos + 4])[0]
        yield marker, pos, length
        if marker == 0xDA:  # SOS: entropy-coded data follows
            return
        pos += 2 + length


def _patch_jpeg_size(jpeg: bytes, width: int, height: int) -> bytes:
    """Return *jpeg* with the SOF0/SOF2 frame header claiming width x height.

    Only the 16-bit Y and X fields of the SOF segment change; the scan data is
    left as is (so a full decode runs out of data, which is the point).
    """
    buf = bytearray(jpeg)
    for marker, pos, _length in _jpeg_segments(jpeg):
        if marker in (0xC0, 0xC1, 0xC2):
            # FF Cx Lh Ll P Yh Yl Xh Xl ...
            struct.pack_into('>HH', buf, pos + 5, height, width)
            return bytes(buf)
    raise ValueError('no SOF segment found')


# --------------------------------------------------------------------------
# 1. GIF: huge logical screen, many 1x1 frames
# --------------------------------------------------------------------------

def make_gif_frame_bomb(path, side: int = 10000, frames: int = 60):
    """Animated GIF: logical screen side x side, *frames* frames of 1x1 pixel.

    Hand-written with struct: GIF89a header, logical screen descriptor with a
    2-entry global colour table, NETSCAPE2.0 loop extension (loop 0), then per
    frame a graphic control extension (delay 10 cs, disposal 1) and an image
    descriptor 1x1 at (0, 0) with LZW min code size 2 and the data
    ``02 44 01`` (codes CLEAR=4, 0, EOI=5 at 3 bits each), trailer 0x3B.
    *side* must be <= 65535 (16-bit GIF fields).

    A reader that composites every frame onto a full canvas allocates
    side*side (RGBA: 4*side*side) bytes per frame: 100 M px / 400 MB each at
    the default, 60 frames -> 24 GB if it keeps them all.

    Verified: 1 KB (for 60 frames: 13 + 6 + 19 + 60 * 23 + 1 = 1419 bytes);
    Pillow Image.open reports format GIF, size (10000, 10000) and
    n_frames == 60 in a few ms (n_frames walks the blocks without decoding);
    opening emits DecompressionBombWarning (1e8 px > 89.5 M).  seek(1) works
    (frame tile extents (0, 0, 1, 1), duration 100).  Seeking to and loading
    the first 5 frames took 2.75 s and 892 MiB peak RSS (frames after the
    first become full-canvas RGB).
    """
    if not 0 < side <= 0xFFFF:
        raise ValueError('GIF dimensions are 16-bit')
    out = bytearray(b'GIF89a')
    # logical screen descriptor: width, height, packed, bg index, aspect
    # packed: global colour table present (0x80), colour resolution 1 bit
    # (0x00), table size 2**(0+1) = 2 entries (0x00)
    out += struct.pack('<HHBBB', side, side, 0x80, 0, 0)
    out += bytes((0, 0, 0, 255, 255, 255))  # global colour table: black, white
    # NETSCAPE2.0 application extension, loop forever
    out += b'\x21\xFF\x0BNETSCAPE2.0' + struct.pack('<BBHB', 3, 1, 0, 0)
    for i in range(frames):
        # graphic control extension: size 4, packed (disposal 1 << 2),
        # delay in 1/100 s, transparent index, terminator
        out += struct.pack('<BBBBHBB', 0x21, 0xF9, 4, 1 << 2, 10, 0, 0)
        # image descriptor: separator, left, top, width, height, packed
        out += struct.pack('<BHHHHB', 0x2C, 0, 0, 1, 1, 0)
        # LZW min code size 2; one sub-block of 2 bytes; block terminator.
        # codes (3 bits, LSB first): CLEAR(4), index (0 or 1), EOI(5)
        code = i & 1
        bits = 4 | (code << 3) | (5 << 6)
        out += bytes((2, 2, bits & 0xFF, bits >> 8, 0))
    out += b'\x3B'
    with open(path, 'wb') as fh:
        fh.write(out)
    return path


# --------------------------------------------------------------------------
# 2. APNG: full-canvas default image + many 1x1 frames
# --------------------------------------------------------------------------

def make_apng_frame_bomb(path, side: int = 10000, frames: int = 40):
    """APNG, IHDR side x side 8-bit grey, acTL num_frames = *frames*.

    Chunks, all with correct CRCs: IHDR, acTL(frames, plays 0), fcTL seq 0
    (full canvas, so the default image is frame 0), one IDAT holding zlib
    (level 9, fed in 1 MiB pieces) of side rows of filter byte 0 + side zero
    bytes, then for each further frame fcTL (1x1 at 0,0, delay 1/10 s,
    dispose 0, blend 0) and fdAT with the zlib of ``00 00`` - sequence numbers
    0, 1, 2, ... over fcTL/fdAT in order - and IEND.

    A reader decodes 100 M px for frame 0 and, if it renders every frame to a
    full canvas, another 100 M px (RGBA 400 MB) per frame.

    Verified: 99,830 bytes at side=10000 (deflate tops out at ~1030:1 on
    zeros), ~0.3 s; all 83 chunk CRCs recomputed OK, fcTL/fdAT sequence
    numbers 0, 1, 2, ...; Pillow Image.open: format PNG, size (10000, 10000),
    n_frames == 40, is_animated True, DecompressionBombWarning at open;
    seek(39) + load() works, 1.8 s (mode L, full 10000x10000 canvas).
    """
    rowbytes = side + 1  # filter byte + side 8-bit samples
    idat = _zlib_zeros(rowbytes * side)
    tiny = zlib.compress(b'\x00\x00', 9)  # one row: filter 0, one pixel 0

    def fctl(seq, w, h):
        # seq, width, height, x, y, delay_num, delay_den, dispose, blend
        return _png_chunk(b'fcTL', struct.pack('>IIIIIHHBB', seq, w, h, 0, 0,
                                               1, 10, 0, 0))

    parts = [PNG_SIGNATURE, _png_ihdr(side, side, 8, 0),
             _png_chunk(b'acTL', struct.pack('>II', frames, 0)),
             fctl(0, side, side),
             _png_chunk(b'IDAT', idat)]
    seq = 1
    for _ in range(frames - 1):
        parts.append(fctl(seq, 1, 1))
        parts.append(_png_chunk(b'fdAT', struct.pack('>I', seq + 1) + tiny))
        seq += 2
    parts.append(_png_chunk(b'IEND', b''))
    with open(path, 'wb') as fh:
        fh.write(b''.join(parts))
    return path


# --------------------------------------------------------------------------
# 3. animated WebP: huge canvas, tiny frames
# --------------------------------------------------------------------------

def _webp_1x1_vp8l(rgba=(255, 0, 0, 255)) -> bytes:
    """Return the payload of the VP8L chunk of a 1x1 lossless WebP."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new('RGBA', (1, 1), rgba).save(buf, 'WEBP', lossless=True)
    for fourcc, data in _iter_riff_chunks(buf.getvalue()):
        if fourcc == b'VP8L':
            return data
    raise RuntimeError('Pillow did not write a VP8L chunk')


def make_webp_frame_bomb(path, side: int = 8000, frames: int = 30,
                         method: str = 'hand'):
    """Animated WebP with a side x side canvas and *frames* tiny frames.

    method='hand' (default, ~1 KB, ~1 ms): RIFF/WEBP with VP8X (flags
    animation|alpha, canvas side x side), ANIM (bg 0, loop 0), and *frames*
    ANMF chunks, each a 1x1 frame at (0, 0), 100 ms, whose bitstream is the
    VP8L chunk of a 1x1 lossless WebP encoded by Pillow (colour varies).
    Canvas fields are 24-bit (side <= 16_777_216), but libwebp's demuxer
    rejects canvases with width*height >= 2**32.

    method='pillow': Pillow's own writer, save_all with lossless=True, of
    *frames* side x side flat images that differ only in pixel (0, 0), so
    libwebp's WebPAnimEncoder emits tiny sub-frames.  Works, but needs
    several 4*side*side buffers and is slow, so it is not the
    default.

    The bomb: Pillow's WebP reader (libwebp WebPAnimDecoder) composites
    every frame onto full-canvas RGBA buffers (4*side*side = 256 MB each at
    side=8000).  In Pillow 13 Image.open and n_frames are cheap (decoder
    created lazily); the first load() is what costs.

    Verified (hand, side=8000, frames=30): 1,540 bytes, ~1 ms (plus ~40 ms
    for the first Pillow import of the WebP plugin); Pillow reports format
    WEBP, size (8000, 8000), n_frames == 30, is_animated True, no bomb
    warning (64 M px); load() of frame 0: 1.07 s, peak RSS 1013 MiB; seek to
    frame 29 + load: 7.4 s more.
    method='pillow': side=2000/30 frames -> 49,576 B in 2.8 s; side=8000/2
    frames -> 32,926 B in 4.0 s; side=8000/30 frames did not finish in 30 s
    (8.3 GB RSS just for the 30 source images).
    """
    if method == 'pillow':
        from PIL import Image

        imgs = []
        for i in range(frames):
            im = Image.new('RGB', (side, side), (0, 0, 0))
            im.putpixel((0, 0), (i * 37 % 256, 255 - i, 128))
            imgs.append(im)
        imgs[0].save(path, 'WEBP', save_all=True, append_images=imgs[1:],
                     lossless=True, quality=0, method=0, duration=100, loop=0)
        return path
    if method != 'hand':
        raise ValueError(f'unknown method {method!r}')
    body = bytearray(b'WEBP')
    # VP8X: flags (0x10 alpha, 0x02 animation), 3 reserved bytes,
    # canvas width - 1 and height - 1 as 24-bit little-endian
    body += _riff_chunk(b'VP8X', bytes((0x12, 0, 0, 0)) + _u24(side - 1)
                        + _u24(side - 1))
    # ANIM: background colour (BGRA), loop count 0 = forever
    body += _riff_chunk(b'ANIM', struct.pack('<IH', 0, 0))
    cache = {}
    for i in range(frames):
        colour = ((i * 53) % 256, (i * 101) % 256, 200, 255)
        if colour not in cache:
            cache[colour] = _webp_1x1_vp8l(colour)
        vp8l = _riff_chunk(b'VP8L', cache[colour])
        # ANMF: X/2, Y/2, width-1, height-1 (24-bit), duration (24-bit ms),
        # flags (bit 1 blending: 1 = do not blend, bit 0 dispose: 0 = none)
        header = _u24(0) + _u24(0) + _u24(0) + _u24(0) + _u24(100) + b'\x02'
        body += _riff_chunk(b'ANMF', header + vp8l)
    with open(path, 'wb') as fh:
        fh.write(b'RIFF' + struct.pack('<I', len(body)) + body)
    return path


# --------------------------------------------------------------------------
# 4. TIFF: many big pages sharing one compressed strip
# --------------------------------------------------------------------------

def make_tiff_page_bomb(path, pages: int = 400, side: int = 4000):
    """Classic little-endian TIFF, *pages* pages of side x side 8-bit grey.

    Layout: header 'II*\\0' + offset of IFD 0; ONE zlib (Compression 8,
    Adobe deflate, level 9) strip of side*side zero bytes; then *pages* IFDs,
    each with 9 entries in ascending tag order: ImageWidth (LONG),
    ImageLength (LONG), BitsPerSample 8, Compression 8, Photometric 1
    (BlackIsZero), StripOffsets (LONG, count 1, -> the shared strip),
    SamplesPerPixel 1, RowsPerStrip side, StripByteCounts (LONG, count 1),
    and the next-IFD offset chaining them (0 after the last).

    Decoding everything costs pages*side*side bytes: 6.4 GB at the default,
    from a ~62 KB file.

    Verified (400 pages, side 4000): 61,172 bytes (~15.5 KB strip + 400 * 114
    byte IFDs), ~0.05 s; tifffile: len(TiffFile.pages) == 400,
    series[0].shape == (400, 4000, 4000) uint8, pages[399].asarray() is all
    zero, no warnings logged; Pillow: n_frames == 400 (25 ms), size
    (4000, 4000), mode L, seek(399) + load() gives extrema (0, 0).
    """
    strip = _zlib_zeros(side * side)
    header_size = 8
    strip_offset = header_size
    ifd0 = strip_offset + len(strip)
    ifd0 += ifd0 & 1  # IFDs start on a word boundary
    nentries = 9
    ifd_size = 2 + nentries * 12 + 4
    SHORT, LONG = 3, 4
    out = bytearray(b'II*\x00' + struct.pack('<I', ifd0))
    out += strip
    if len(out) < ifd0:
        out += b'\x00'
    for i in range(pages):
        offset = ifd0 + i * ifd_size
        next_ifd = offset + ifd_size if i + 1 < pages else 0
        entries = [
            (256, LONG, 1, side),           # ImageWidth
            (257, LONG, 1, side),           # ImageLength
            (258, SHORT, 1, 8),             # BitsPerSample
            (259, SHORT, 1, 8),             # Compression: Adobe deflate
            (262, SHORT, 1, 1),             # Photometric: BlackIsZero
            (273, LONG, 1, strip_offset),   # StripOffsets (shared)
            (277, SHORT, 1, 1),             # SamplesPerPixel
            (278, LONG, 1, side),           # RowsPerStrip
            (279, LONG, 1, len(strip)),     # StripByteCounts
        ]
        out += struct.pack('<H', nentries)
        for tag, typ, count, value in entries:
            if typ == SHORT:
                out += struct.pack('<HHIHH', tag, typ, count, value, 0)
            else:
                out += struct.pack('<HHII', tag, typ, count, value)
        out += struct.pack('<I', next_ifd)
    with open(path, 'wb') as fh:
        fh.write(out)
    return path


# --------------------------------------------------------------------------
# 5. valid 2-page RGB16 TIFF without shaped metadata
# --------------------------------------------------------------------------

def make_tiff_two_page_rgb16(path, side: int = 64):
    """Valid 2-page uint16 RGB TIFF written page by page, no shape metadata.

    tifffile.TiffWriter(path) and two separate ``write(rgb16, photometric=
    'rgb', metadata=None, contiguous=False)`` calls, so the file carries no
    tifffile JSON/shaped ImageDescription; readers must infer the stack.

    Verified: 49,584 bytes at side=64; tifffile.imread(path).shape ==
    (2, 64, 64, 3), dtype uint16; no ImageDescription tag on either page,
    TiffFile.is_shaped False, one 'generic' series (2, 64, 64, 3); page 1 -
    page 0 == 1000 everywhere.
    """
    import tifffile

    yy, xx = np.mgrid[0:side, 0:side].astype(np.uint32)
    base = np.stack([xx * 1000, yy * 1000, (xx + yy) * 500], axis=-1)
    page0 = (base % 65536).astype(np.uint16)
    page1 = ((base + 1000) % 65536).astype(np.uint16)
    with tifffile.TiffWriter(path) as tw:
        for page in (page0, page1):
            tw.write(page, photometric='rgb', metadata=None,
                     contiguous=False)
    return path


# --------------------------------------------------------------------------
# 6. OME-TIFF declaring 1e8 planes
# --------------------------------------------------------------------------

def make_ome_plane_bomb(path, size_t: int = 100_000_000):
    """One 8x8 uint8 page whose OME-XML claims SizeT = *size_t* planes.

    Written with tifffile.imwrite(..., description=OME-XML, metadata=None);
    Pixels DimensionOrder="XYZCT", SizeX=SizeY=8, SizeZ=SizeC=1,
    SizeT=size_t, one Channel, one <TiffData IFD="0" PlaneCount="1"/>.

    tifffile's OME series parser pads the series' page list with
    ``[None] * (planes - 1)`` and then loops over it: 1e8 entries = 800 MB of
    list plus seconds of Python loops, on ``TiffFile(path).series`` (and
    imread / asarray paths that use series).  Safe: ``TiffFile(path,
    is_ome=False)`` (documented ``is_`` flag override) gives a generic
    series of the one 8x8 page in ~1 ms.

    Verified: 640 bytes.  tifffile 2026.3.3: TiffFile(path) is instant,
    .series takes 5.6 s and 1.56 GB peak RSS and reports shape
    (100000000, 8, 8); tifffile.imread(path) was still running after 30 s
    at 3.3 GB RSS and growing.  TiffFile(path, is_ome=False).series[0] ->
    (8, 8), kind 'uniform', 1.2 ms, no extra memory; imread(path,
    is_ome=False) -> (8, 8) in 0.5 ms; TiffFile(path).pages.first.asarray()
    is also safe (0.2 ms).
    """
    import tifffile

    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06">'
        '<Image ID="Image:0" Name="bomb">'
        '<Pixels ID="Pixels:0" DimensionOrder="XYZCT" Type="uint8" '
        f'SizeX="8" SizeY="8" SizeZ="1" SizeC="1" SizeT="{size_t}">'
        '<Channel ID="Channel:0:0" SamplesPerPixel="1"/>'
        '<TiffData IFD="0" PlaneCount="1"/>'
        '</Pixels></Image></OME>'
    )
    data = np.arange(64, dtype=np.uint8).reshape(8, 8)
    tifffile.imwrite(path, data, description=xml, metadata=None)
    return path


# --------------------------------------------------------------------------
# 7. tiled TIFF with tiny tiles
# --------------------------------------------------------------------------

def make_tiny_tile_tiff(path, side: int = 2048, tile: int = 16,
                        compress: bool = True):
    """Tiled uint8 TIFF of a smooth gradient with tile x tile tiles.

    tifffile.imwrite(path, gradient, tile=(tile, tile),
    compression='zlib' if compress else None).  The gradient is
    ((x + y) // 16) % 256, so each 16x16 tile compresses to a few bytes and
    the TileOffsets/TileByteCounts arrays (8 bytes per tile) dominate.
    tifffile requires tile sizes that are multiples of 16.

    Verified (side 2048, tile 16): 16,384 tiles, 713,132 bytes, ~0.3 s;
    tifffile reads it back equal; Pillow opens and loads it equal (L,
    (2048, 2048)).  side=16384 (1,048,576 tiles): 45,760,736 bytes, 21 s and
    2 GB RSS to write; TiffFile(path) then takes 2.2 s and reads all
    TileOffsets/TileByteCounts eagerly into tuples (tracemalloc 44 MiB,
    RSS 204 MiB) - pages.first is already loaded by then.
    """
    import tifffile

    line = np.arange(side, dtype=np.uint32)
    grad = (((line[:, None] + line[None, :]) // 16) % 256).astype(np.uint8)
    tifffile.imwrite(path, grad, tile=(tile, tile),
                     compression='zlib' if compress else None,
                     metadata=None)
    return path


# --------------------------------------------------------------------------
# 8. PNG with width 0
# --------------------------------------------------------------------------

def make_png_width_zero(path):
    """PNG with IHDR width 0, height 10 (8-bit grey), valid CRCs.

    IDAT = zlib of 10 zero bytes (10 rows of just a filter byte), IEND.

    Verified: 68 bytes; chunk CRCs recomputed OK (IHDR 13, IDAT 11, IEND 0
    bytes), IHDR (0, 10); Pillow refuses it at Image.open with
    UnidentifiedImageError ("cannot identify image file"), because
    ImageFile rejects non-positive sizes.
    """
    data = (PNG_SIGNATURE + _png_ihdr(0, 10, 8, 0)
            + _png_chunk(b'IDAT', zlib.compress(bytes(10), 9))
            + _png_chunk(b'IEND', b''))
    with open(path, 'wb') as fh:
        fh.write(data)
    return path


# --------------------------------------------------------------------------
# 9. PNG with one very long row
# --------------------------------------------------------------------------

def make_png_long_row(path, width: int = 200_000_000):
    """8-bit grey PNG of width x 1, all zero, zlib level 9 in 1 MiB pieces.

    The raw row (1 + width bytes) is never materialised: zlib.compressobj is
    fed a reused 1 MiB zero block.  Width must be < 2**31 (PNG limit).

    Verified (width 2e8): 194,466 bytes, ~0.55 s (all zlib); CRCs OK; IHDR
    (200000000, 1); IDAT inflates to exactly width + 1 bytes; Pillow
    Image.open raises DecompressionBombError (2e8 px > 178,956,970), with
    Image.MAX_IMAGE_PIXELS = None it reports format PNG, size
    (200000000, 1), mode L.
    """
    idat = _zlib_zeros(width + 1, level=9)
    data = (PNG_SIGNATURE + _png_ihdr(width, 1, 8, 0)
            + _png_chunk(b'IDAT', idat) + _png_chunk(b'IEND', b''))
    with open(path, 'wb') as fh:
        fh.write(data)
    return path


# --------------------------------------------------------------------------
# 10. JPEG whose EXIF thumbnail claims 12000x9000
# --------------------------------------------------------------------------

def make_exif_thumbnail_bomb(path, main_size=(640, 480),
                             thumb_size=(12000, 9000)):
    """Real 640x480 JPEG whose EXIF IFD1 thumbnail declares 12000x9000.

    The thumbnail is a valid 16x16 flat grey JPEG (Pillow, quality 1) whose
    SOF0 Y/X fields were patched to 9000/12000 (a genuine 12000x9000 flat
    JPEG is ~1.3 MB even at quality 1 - far over the 64 KB APP1 limit).
    The APP1 block is built with struct: 'Exif\\0\\0', TIFF header 'II*\\0'
    + 8, IFD0 with one entry (Orientation = 1) and next-IFD -> IFD1, IFD1
    with Compression = 6 (JPEG), JPEGInterchangeFormat (0x0201) = offset of
    the thumbnail from the TIFF header, JPEGInterchangeFormatLength (0x0202)
    = its length, next-IFD 0; then the thumbnail bytes.  The APP1 segment is
    inserted straight after SOI (before Pillow's JFIF APP0).

    Verified: 6,536 bytes; Pillow opens the file as JPEG (640, 480), IFD0
    {274: 1}; im.getexif().get_ifd(ExifTags.IFD.IFD1) == {513: 68, 514: 333,
    259: 6}; Image.open on info['exif'][6+68 : 6+68+333] reports format
    JPEG, size (12000, 9000) with DecompressionBombWarning (1.08e8 px).
    Surprise: thumb.load() does NOT fail on the missing scan data (libjpeg
    pads it): 0.09 s, a full 108 MB L image, with
    LOAD_TRUNCATED_IMAGES=False.  A genuine flat 12000x9000 q=1 JPEG is
    1,265,955 bytes.
    """
    from PIL import Image

    tw, th = thumb_size
    if not (0 < tw <= 0xFFFF and 0 < th <= 0xFFFF):
        raise ValueError('JPEG dimensions are 16-bit')
    buf = io.BytesIO()
    Image.new('L', (16, 16), 128).save(buf, 'JPEG', quality=1)
    thumb = _patch_jpeg_size(buf.getvalue(), tw, th)

    # TIFF structure inside APP1 (offsets relative to the 'II' byte)
    SHORT, LONG = 3, 4
    ifd0_off = 8
    ifd0_len = 2 + 1 * 12 + 4
    ifd1_off = ifd0_off + ifd0_len
    ifd1_len = 2 + 3 * 12 + 4
    thumb_off = ifd1_off + ifd1_len
    tiff = bytearray(b'II*\x00' + struct.pack('<I', ifd0_off))
    tiff += struct.pack('<H', 1)
    tiff += struct.pack('<HHIHH', 0x0112, SHORT, 1, 1, 0)   # Orientation
    tiff += struct.pack('<I', ifd1_off)
    tiff += struct.pack('<H', 3)
    tiff += struct.pack('<HHIHH', 0x0103, SHORT, 1, 6, 0)   # Compression
    tiff += struct.pack('<HHII', 0x0201, LONG, 1, thumb_off)
    tiff += struct.pack('<HHII', 0x0202, LONG, 1, len(thumb))
    tiff += struct.pack('<I', 0)
    assert len(tiff) == thumb_off
    tiff += thumb
    app1_payload = b'Exif\x00\x00' + bytes(tiff)
    if len(app1_payload) + 2 > 0xFFFF:
        raise ValueError('EXIF block too large for one APP1 segment')
    app1 = b'\xFF\xE1' + struct.pack('>H', len(app1_payload) + 2) + app1_payload

    w, h = main_size
    yy, xx = np.mgrid[0:h, 0:w]
    rgb = np.stack([(xx * 255 // max(w - 1, 1)), (yy * 255 // max(h - 1, 1)),
                    np.full_like(xx, 96)], axis=-1).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(rgb, 'RGB').save(buf, 'JPEG', quality=30)
    main = buf.getvalue()
    assert main[:2] == b'\xFF\xD8'
    with open(path, 'wb') as fh:
        fh.write(main[:2] + app1 + main[2:])
    return path


# --------------------------------------------------------------------------
# 11. Zarr v3
# --------------------------------------------------------------------------

def make_zarr_huge(path, side: int = 1_000_000, chunk: int = 256):
    """Zarr v3 array (side, side) uint8, chunks (chunk, chunk), nothing written.

    Only zarr.create_array(store=path, ...) with fill_value 0: the folder
    holds just zarr.json (~500 bytes) but declares 1e12 bytes (1 TB) and
    (side/chunk)**2 = 15.3 M chunks at the default.

    Verified: folder = 1 file (zarr.json), 586 bytes; zarr.open_array
    reports shape (1000000, 1000000), dtype uint8, chunks (256, 256),
    nchunks 15,264,649; z[0, :4] reads the fill value 0.
    """
    import zarr

    zarr.create_array(store=str(path), shape=(side, side),
                      chunks=(chunk, chunk), dtype='uint8', fill_value=0,
                      overwrite=True)
    return path


def make_zarr_group_with_arrays(path):
    """Zarr v3 group with arrays '0' (64x64 random uint8) and 'labels'.

    'labels' is a 64x64 uint8 array of a few integer labels, so a test can
    check that a tool writing/resizing '0' (or writing a multiscale next to
    it) does not delete or overwrite 'labels'.

    Verified: 5,434 bytes on disk; zarr.open_group lists arrays
    ['0', 'labels'], shapes (64, 64), dtype uint8; labels values {0, 1, 2}.
    """
    import zarr

    rng = np.random.default_rng(0)
    grp = zarr.open_group(str(path), mode='w')
    a0 = grp.create_array('0', shape=(64, 64), chunks=(32, 32),
                          dtype='uint8', fill_value=0)
    a0[...] = rng.integers(0, 256, size=(64, 64), dtype=np.uint8)
    labels = np.zeros((64, 64), dtype=np.uint8)
    labels[8:24, 8:24] = 1
    labels[30:60, 20:50] = 2
    lab = grp.create_array('labels', shape=(64, 64), chunks=(64, 64),
                           dtype='uint8', fill_value=0)
    lab[...] = labels
    return path


# --------------------------------------------------------------------------
# 12. an ordinary animated GIF
# --------------------------------------------------------------------------

def make_multi_frame_gif_valid(path):
    """Normal animated GIF: 3 frames 40x30, red/green/blue, 100/200/300 ms.

    Written by Pillow (save_all, loop=0, disposal 1, optimize=False).

    Verified: 306 bytes; Pillow: size (40, 30), n_frames 3, per-frame
    info['duration'] == 100, 200, 300, info['loop'] == 0, frame colours
    (255,0,0), (0,255,0), (0,0,255) after convert('RGB').
    """
    from PIL import Image

    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]
    frames = [Image.new('RGB', (40, 30), c) for c in colours]
    frames[0].save(path, 'GIF', save_all=True, append_images=frames[1:],
                   duration=[100, 200, 300], loop=0, disposal=1,
                   optimize=False)
    return path


# --------------------------------------------------------------------------

ALL = [
    ('gif_frame_bomb', make_gif_frame_bomb, 'gif_frame_bomb.gif'),
    ('apng_frame_bomb', make_apng_frame_bomb, 'apng_frame_bomb.png'),
    ('webp_frame_bomb', make_webp_frame_bomb, 'webp_frame_bomb.webp'),
    ('tiff_page_bomb', make_tiff_page_bomb, 'tiff_page_bomb.tif'),
    ('tiff_two_page_rgb16', make_tiff_two_page_rgb16,
     'tiff_two_page_rgb16.tif'),
    ('ome_plane_bomb', make_ome_plane_bomb, 'ome_plane_bomb.ome.tif'),
    ('tiny_tile_tiff', make_tiny_tile_tiff, 'tiny_tile.tif'),
    ('png_width_zero', make_png_width_zero, 'png_width_zero.png'),
    ('png_long_row', make_png_long_row, 'png_long_row.png'),
    ('exif_thumbnail_bomb', make_exif_thumbnail_bomb,
     'exif_thumbnail_bomb.jpg'),
    ('zarr_huge', make_zarr_huge, 'zarr_huge.zarr'),
    ('zarr_group_with_arrays', make_zarr_group_with_arrays,
     'zarr_group.zarr'),
    ('multi_frame_gif_valid', make_multi_frame_gif_valid,
     'multi_frame_valid.gif'),
]


def _du(path) -> int:
    if os.path.isdir(path):
        return sum(os.path.getsize(os.path.join(d, f))
                   for d, _, fs in os.walk(path) for f in fs)
    return os.path.getsize(path)


def make_all(outdir):
    """Write every fixture into *outdir*; return [(name, path, bytes, s)]."""
    import time

    os.makedirs(outdir, exist_ok=True)
    rows = []
    for name, func, fname in ALL:
        p = os.path.join(outdir, fname)
        t0 = time.perf_counter()
        func(p)
        dt = time.perf_counter() - t0
        rows.append((name, p, _du(p), dt))
    return rows


if __name__ == '__main__':
    import sys

    if len(sys.argv) != 2:
        sys.exit(f'usage: {sys.argv[0]} OUTDIR')
    rows = make_all(sys.argv[1])
    print(f'{"name":<24} {"bytes":>10} {"seconds":>8}  path')
    for name, p, size, dt in rows:
        print(f'{name:<24} {size:>10,} {dt:>8.3f}  {p}')
