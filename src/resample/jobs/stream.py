"""Resizing images bigger than memory, strip by strip.

A source reads the input from the top down, a band of rows at a time: PNG (zlib inflated as
it is read, rows unfiltered a block at a time), TIFF and BigTIFF (striped or tiled, chunky or
planar; OME-TIFF; a pyramid read at the smallest level still as large as the output) and
Zarr.  Each strip of output rows is computed from exactly the input rows its taps read,
following the whole image's plan (resample.engines.cpu.plan: pass order, fixed point), so the pixels
equal the in-memory resize's of the same input.  A sink writes strips as they come: PNG
(filtered and deflated by rows), tiled TIFF (BigTIFF when large; with a pyramid of 2x2 means
on request, held in temporary files until the full-size image is written) and Zarr.  Memory
stays about a strip's input and output rows, whatever the image's size.

Streams: grey or RGB samples (8- or 16-bit; TIFF and Zarr also 32-bit float), any method
but gmm, any boundary but wrap (whose taps reach across the image), not ``--linear``,
``--sharpen`` or ``--srgb``.
Arrays are ``(rows, cols, channels)``; sizes are ``(width, height)``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import re
import shutil
import struct
import sys
import tempfile
import time
import zlib
from concurrent.futures import ThreadPoolExecutor

import imagecodecs
import numpy as np
import tifffile
from PIL import Image

from ..compiled import core as _core
from ..engines import cpu
from ..errors import ResampleError, first_line
from ..formats import images
from ..formats.files import (atomic_output, check_zarr_output, disk_full, end_part_folder,
    is_zarr, new_part_folder, remove_stale_parts)
from ..formats.png import CHANNELS, COLOR_TYPE, ICC_MAX_BYTES, SIGNATURE, chunk, inflate_bounded
from ..engines.passes import pass_costs
from ..ops.resize import columns_by_range, resize_plan
from ..spec.geometry import pyramid_level
from ..spec import tables
from ..spec.dtypes import compute_dtype, work_dtype
from ..spec.memory import check_memory
from ..spec.taps import BLOCK_TAPS, RangePositions, compute_taps, sub_table, table_width
from .progress import progress_bar

STRIP_ROWS = 64             # output rows a strip (PNG output)
TILE = 256                  # a TIFF output's tiles and a Zarr output's chunks; their strips
READ_BYTES = 1 << 20        # compressed bytes read at a time
SAMPLE_TYPES = (np.uint8, np.uint16, np.float32)
OUTPUTS = (".png", ".tif", ".tiff", ".zarr")


class NotStreamable(Exception):
    """Why an input cannot be read by rows (a short phrase)."""

# -- PNG ------------------------------------------------------------------------------------

def png_header(path):
    """``(width, height, channels, depth, interlaced, icc, dpi, orientation)`` of a PNG, from
    the chunks before its pixels; None for a file that is no PNG.  ``channels`` is 0 for a
    palette or an alpha channel."""
    icc = dpi = None
    orientation = 1
    with open(path, "rb") as f:
        if f.read(8) != SIGNATURE:
            return None
        head = f.read(8)
        if len(head) < 8 or head[4:8] != b"IHDR":
            return None
        width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", f.read(13))
        f.read(4)
        while True:
            head = f.read(8)
            if len(head) < 8:
                break
            length, kind = struct.unpack(">I4s", head)
            if kind in (b"IDAT", b"IEND"):
                break
            body = f.read(length)
            f.read(4)
            if kind == b"iCCP":
                icc = inflate_bounded(body[body.index(b"\0") + 2:], ICC_MAX_BYTES)
            elif kind == b"pHYs" and len(body) == 9 and body[8] == 1:
                dpi = tuple(v * 0.0254 for v in struct.unpack(">II", body[:8]))
            elif kind == b"eXIf":
                orientation = _exif_orientation(body)
    return width, height, CHANNELS.get(colour, 0) if colour in (0, 2) else 0, depth, \
        bool(interlace), icc, dpi, orientation


def _exif_orientation(body):
    try:
        exif = Image.Exif()
        exif.load(body)
        return int(exif.get(274, 1))
    except Exception:       # noqa: BLE001 (unreadable EXIF: as the in-memory load, none)
        return 1


def _inflated(path, f, limit):
    """The inflated bytes of the PNG's IDAT chunks (``f`` just past the signature), at most
    ``limit`` bytes at a time."""
    inflate = zlib.decompressobj()
    while True:
        head = f.read(8)
        if len(head) < 8:
            return
        length, kind = struct.unpack(">I4s", head)
        if kind == b"IEND":
            return
        if kind != b"IDAT":
            f.seek(length + 4, 1)
            continue
        left = length
        while left > 0:
            data = f.read(min(left, READ_BYTES))
            if not data:
                return
            left -= len(data)
            try:
                while data:
                    out = inflate.decompress(data, limit)
                    data = inflate.unconsumed_tail
                    if out:
                        yield out
            except zlib.error as exc:
                raise ResampleError(f"{path}: corrupt PNG data ({exc})") from None
        f.read(4)


def read_rows(path, rows_at_a_time=64):
    """The PNG's rows, a block (n, W, C) at a time, in its dtype (uint8 or uint16)."""
    width, height, channels, depth = png_header(path)[:4]
    stride = width * channels * depth // 8
    bpp = max(1, channels * depth // 8)
    block_bytes = rows_at_a_time * (stride + 1)
    pending = bytearray()
    previous = bytes(stride)
    done = 0
    with open(path, "rb") as f:
        f.seek(8)
        for data in _inflated(path, f, block_bytes):
            pending += data
            n = min(len(pending) // (stride + 1), height - done)
            while n > 0:
                k = min(n, rows_at_a_time)
                raw = np.frombuffer(b"\0" + previous + bytes(pending[:k * (stride + 1)]),
                                    np.uint8)
                out = np.empty((k + 1, stride), np.uint8)
                if not _core.png_unfilter(raw, bpp, out):
                    raise ResampleError(f"{path}: corrupt PNG data (unknown row filter)")
                del pending[:k * (stride + 1)]
                previous = out[-1].tobytes()
                block = out[1:]
                if depth == 16:
                    block = block.view(">u2").astype(np.uint16)
                yield block.reshape(k, width, channels)
                done += k
                n -= k
            if done == height:
                return
    raise ResampleError(f"{path}: truncated PNG data ({done} of {height} rows)")


class RowWriter:
    """A PNG written a block of rows at a time into the binary file ``f``.

    Each block's filtered rows are deflated on their own thread, primed with the last 32 KiB
    before them and ended on a byte boundary (a sync flush), so the pieces join into one zlib
    stream (as pigz makes them): several cores compress while the next strip is computed."""

    def __init__(self, f, width, height, channels, depth, icc=None, dpi=None, level=6,
                 threads=None):
        self.f, self.stride = f, width * channels * depth // 8
        self.bpp, self.depth, self.level = max(1, channels * depth // 8), depth, level
        self.height = height
        self.previous = b""
        self.rows = 0
        self.threads = max(1, threads or os.cpu_count() or 1)
        self.pool = ThreadPoolExecutor(self.threads, thread_name_prefix="resample-deflate")
        self.pending = []
        self.adler, self.tail, self.started = 1, b"", False
        f.write(SIGNATURE + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth,
                                                         COLOR_TYPE[channels], 0, 0, 0)))
        if icc:
            f.write(chunk(b"iCCP", b"icc\0\0" + zlib.compress(icc)))
        if dpi:
            f.write(chunk(b"pHYs", struct.pack(">IIB", *(round(d / 0.0254) for d in dpi), 1)))

    def write(self, block):
        """Rows (n, W, C) of the file's dtype."""
        data = np.ascontiguousarray(block, ">u2" if self.depth == 16 else np.uint8)
        rows = data.view(np.uint8).reshape(len(block), self.stride)
        if self.rows:                     # each row's filter sees the one above
            both = np.concatenate([np.frombuffer(self.previous, np.uint8)[None], rows])
        else:                             # (the first row's, none: zeros, as the filter takes)
            both = rows
        filtered = np.empty((len(both), self.stride + 1), np.uint8)
        _core.png_filter(both, self.bpp, filtered)
        del both
        self.previous = rows[-1].tobytes() if len(block) < self.height else b""
        raw = (filtered[1:] if self.rows else filtered).reshape(-1)   # (a view: no copy)
        self.rows += len(block)
        self.adler = zlib.adler32(raw, self.adler)
        self.pending.append(self.pool.submit(_deflate_piece, raw, self.tail, self.level))
        self.tail = raw[-32768:].tobytes()
        while len(self.pending) > self.threads:
            self._write_next()

    def _write_next(self):
        out = self.pending.pop(0).result()
        if not self.started:
            out, self.started = b"\x78\x9c" + out, True        # the zlib header
        if out:
            self.f.write(chunk(b"IDAT", out))

    def close(self):
        try:
            while self.pending:
                self._write_next()
        finally:
            self.pool.shutdown()
        end = zlib.compressobj(self.level, zlib.DEFLATED, -15).flush()   # the final block
        if not self.started:
            end = b"\x78\x9c" + end
        self.f.write(chunk(b"IDAT", end + struct.pack(">I", self.adler))
                     + chunk(b"IEND", b""))


def _deflate_piece(data, before, level):
    """Raw deflate of ``data`` primed with ``before``, ending on a byte boundary."""
    c = zlib.compressobj(level, zlib.DEFLATED, -15, zdict=before) if before else \
        zlib.compressobj(level, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH)


# -- sources ----------------------------------------------------------------------------------

class Source:
    """An image read from the top down, in bands of ``band_rows`` rows (the last may be
    shorter): ``width``, ``height``, ``channels``, ``dtype``, ``icc``, ``dpi``, ``notes``.
    :meth:`read_band` writes band ``k`` into an (n, W, C) array; bands are asked for in
    increasing order, and those not asked for are never needed."""

    icc = dpi = None
    notes = ()

    def choose_level(self, out_w, out_h):
        """Read the pyramid level best for an output of this size (sources with levels)."""

    def read_band(self, k, out):
        raise NotImplementedError

    def close(self):
        pass


class PngSource(Source):
    kind = "PNG"
    band_rows = 64

    def __init__(self, path):
        head = png_header(path)
        if head is None:
            raise NotStreamable("not a PNG")
        self.path = path
        self.width, self.height, self.channels, depth, interlaced, self.icc, self.dpi, \
            orientation = head
        if self.width == 0 or self.height == 0:
            raise ResampleError(f"{path}: not an image (its header declares "
                                f"{self.width}x{self.height} pixels)")
        if self.channels not in (1, 3):
            raise NotStreamable("PNGs with alpha or a palette do not stream")
        if depth not in (8, 16) or interlaced:
            raise NotStreamable(f"{'interlaced' if interlaced else f'{depth}-bit'} PNGs do "
                                "not stream")
        if orientation != 1:
            raise NotStreamable("a PNG with an EXIF orientation does not stream")
        self.dtype = np.dtype(np.uint16 if depth == 16 else np.uint8)

    def read_band(self, k, out):
        """(Rows are inflated in order: bands before ``k`` not yet read are passed over.)"""
        if not hasattr(self, "_rows"):
            self._rows, self._left, self._next = read_rows(self.path, self.band_rows), None, 0
        while self._next <= k:
            n = min(self.band_rows, self.height - self._next * self.band_rows)
            into = out if self._next == k else np.empty((n,) + out.shape[1:], out.dtype)
            filled = 0
            while filled < n:
                if self._left is None:
                    self._left = next(self._rows)
                take = min(n - filled, len(self._left))
                into[filled:filled + take] = self._left[:take]
                self._left = self._left[take:] if take < len(self._left) else None
                filled += take
            self._next += 1


class TiffSource(Source):
    """A TIFF's first image (the first series of an OME-TIFF), by strips or tiles."""

    kind = "TIFF"

    def __init__(self, path):
        _check_chunks(path)
        try:
            self.tif = tifffile.TiffFile(path)
            ome_notes = _check_ome(self.tif)
            if ome_notes:
                self.tif.close()
                self.tif = tifffile.TiffFile(path, is_ome=False)
        except ResampleError:
            raise
        except Exception as exc:        # noqa: BLE001 (any damage: one line)
            raise ResampleError(f"{path}: cannot read TIFF ({str(exc)[:80]})") from None
        self.path = path
        try:
            pages = len(self.tif.pages)           # (the IFDs' offsets, read without pages)
            if pages > PAGES_STREAMED and not self.tif.is_ome:
                raise NotStreamable(f"a TIFF of {pages} pages does not stream")
            series = self.tif.series[0]
            if len(series.pages) != 1:
                raise NotStreamable("multi-page TIFF images do not stream")
            self.levels = [self._check(level.keyframe) for level in series.levels]
        except BaseException:
            self.tif.close()
            raise
        self.page = self.levels[0]
        self.width, self.height = self.page.imagewidth, self.page.imagelength
        self.channels = self.page.samplesperpixel
        self.dtype = np.dtype(self.page.dtype)
        self.icc = self.page.tags.valueof(34675)
        self.dpi = _tiff_dpi(self.page)
        self.notes = ome_notes or ([f"OME-TIFF: its first image, {self.width}x{self.height}"]
                                   if self.tif.is_ome and len(self.tif.series) > 1 else [])
        self._set_page(self.page)

    def _check(self, page):
        if page.imagedepth != 1 or page.photometric not in (1, 2):
            raise NotStreamable(f"TIFF photometric {int(page.photometric)} does not stream")
        if page.samplesperpixel not in (1, 3) or page.extrasamples:
            raise NotStreamable("TIFFs with alpha or extra samples do not stream")
        if np.dtype(page.dtype) not in [np.dtype(t) for t in SAMPLE_TYPES]:
            raise NotStreamable(f"{page.dtype} TIFF samples do not stream")
        if page.tags.valueof(274, 1) != 1:
            raise NotStreamable("a TIFF with an orientation tag does not stream")
        if page.imagelength * page.imagewidth == 0:
            raise NotStreamable("an empty TIFF")
        across = -(-page.imagewidth // page.tilewidth) if page.is_tiled else 1
        rows = page.tilelength if page.is_tiled else min(page.rowsperstrip, page.imagelength)
        planes = page.samplesperpixel if page.planarconfig == 2 else 1
        if rows < 1 or len(page.dataoffsets) != planes * across * -(-page.imagelength // rows) \
                or len(page.databytecounts) != len(page.dataoffsets):
            raise NotStreamable("a TIFF whose strips or tiles do not cover it")
        return page

    def _set_page(self, page):
        self.page = page
        self.band_rows = page.tilelength if page.is_tiled else min(page.rowsperstrip,
                                                                   page.imagelength)

    def choose_level(self, out_w, out_h):
        """The pyramid level the resize reads (resample.geometry.pyramid_level)."""

        page = self.levels[pyramid_level([(p.imagewidth, p.imagelength) for p in self.levels],
                                         out_w, out_h)]
        if page is not self.page:
            self._set_page(page)
            self.width, self.height = page.imagewidth, page.imagelength
            self.notes = list(self.notes) + [f"read the pyramid's {self.width}x{self.height} "
                                             "level (--exact reads the full size)"]

    def read_band(self, k, out):
        try:
            self._read_band(k, out)
        except ResampleError:
            raise
        except Exception as exc:                    # noqa: BLE001 (damaged data: one line)
            raise ResampleError(f"{self.path}: damaged TIFF data ({first_line(exc)[:80]})") \
                from None

    def _read_band(self, k, out):
        page = self.page
        across = -(-page.imagewidth // page.tilewidth) if page.is_tiled else 1
        down = -(-page.imagelength // self.band_rows)
        planes = page.samplesperpixel if page.planarconfig == 2 else 1
        wanted = [p * down * across + k * across + j for p in range(planes)
                  for j in range(across)]
        offsets = [page.dataoffsets[i] for i in wanted]
        counts = [page.databytecounts[i] for i in wanted]
        if self._raw_band(k, out, offsets, counts, across):
            return
        try:
            segments = [s for chunk in self.tif.filehandle.read_segments(
                offsets, counts, wanted, sort=True, flat=False) for s in chunk]
        except (OSError, ValueError, IndexError) as exc:
            raise ResampleError(f"{self.path}: cannot read TIFF data "
                                f"({first_line(exc)[:80]})") from None
        # Decoded in a few runs of segments, one a thread, each written straight into its
        # place in ``out``: a tiny tile costs one codec call, not a task and a copy.
        runs = max(1, min(len(segments), self._threads_wanted(),
                          sum(len(d or b"") for d, _ in segments) // (64 << 10) + 1))
        step = -(-len(segments) // runs)
        groups = [segments[i:i + step] for i in range(0, len(segments), step)]
        if len(groups) == 1:
            self._place(groups[0], out, planes)
        else:
            for _ in self._pool().map(lambda g: self._place(g, out, planes), groups):
                pass

    def _place(self, segments, out, planes):
        """Decode ``segments`` ((data, index) of the band's strips or tiles) into ``out``."""
        page = self.page
        width = page.tilewidth if page.is_tiled else page.imagewidth
        across = -(-page.imagewidth // width)
        for data, index in segments:
            if data is None:
                raise ResampleError(f"{self.path}: a strip or tile is missing")
            plane = index // (across * -(-page.imagelength // self.band_rows))
            col = (index % across) * width
            tile = self._decode_fast(data, out.shape[0], width, planes)
            if tile is None:
                decoded, _, _ = self._decode((data, index))
                tile = decoded[0]
            tile = tile[:out.shape[0], :out.shape[1] - col]
            if planes > 1:
                out[:, col:col + tile.shape[1], plane] = tile[..., 0]
            else:
                out[:, col:col + tile.shape[1]] = tile

    _CODECS = {1: None, 5: "lzw_decode", 8: "zlib_decode", 32946: "zlib_decode",
               50000: "zstd_decode"}

    def _decode_fast(self, data, rows, width, planes):
        """A strip or tile ``(rows, width, samples)`` decoded by one imagecodecs call (no
        compression, LZW, deflate or Zstandard; no predictor or horizontal differencing),
        or None where tifffile's own decoder is needed."""
        page = self.page
        name = self._CODECS.get(int(page.compression), False)
        if name is False or page.predictor not in (1, 2) or page.fillorder != 1 \
                or page.bitspersample != 8 * self.dtype.itemsize:
            return None
        samples = 1 if planes > 1 else self.channels
        rows_held = page.tilelength if page.is_tiled else rows
        try:
            if name is not None:
                data = getattr(imagecodecs, name)(data)
            want = rows_held * width * samples * self.dtype.itemsize
            if len(data) < want:
                return None                           # short: tifffile decides and reports
            tile = np.frombuffer(data, self.dtype.newbyteorder(self.tif.byteorder), want //
                                 self.dtype.itemsize).reshape(rows_held, width, samples)
            if not tile.dtype.isnative:
                tile = tile.astype(self.dtype)
            if page.predictor == 2:
                tile = imagecodecs.delta_decode(np.array(tile), axis=-2)
        except Exception as exc:                    # noqa: BLE001 (damaged data: one line)
            raise ResampleError(f"{self.path}: damaged TIFF data ({first_line(exc)[:80]})") \
                from None
        return tile

    def _threads_wanted(self):
        return max(1, min(4, os.cpu_count() or 1))

    def _raw_band(self, k, out, offsets, counts, across):
        """Read an uncompressed band of chunky pixels whose tiles (or strip) lie one after
        another in the file in one read, straight into ``out``; False where it cannot."""
        page = self.page
        tile_w = page.tilewidth if page.is_tiled else page.imagewidth
        rows = self.band_rows if page.is_tiled else out.shape[0]
        piece = rows * tile_w * self.channels * self.dtype.itemsize
        if (page.compression != 1 or page.planarconfig == 2 or page.fillorder != 1
                or self.tif.byteorder != ("<" if np.little_endian else ">")
                or page.predictor not in (None, 1) or any(c != piece for c in counts)
                or any(b != a + piece for a, b in zip(offsets, offsets[1:]))):
            return False
        raw = np.empty(across * piece, np.uint8)
        f = self.tif.filehandle
        f.seek(offsets[0])
        if f.readinto(raw) != raw.size:
            raise ResampleError(f"{self.path}: truncated TIFF data")
        tiles = raw.view(self.dtype).reshape(across, rows, tile_w, self.channels)
        n = out.shape[0]
        for j in range(across):
            c0 = j * tile_w
            out[:, c0:c0 + tile_w] = tiles[j, :n, :self.width - c0]
        return True

    def _decode(self, item):
        page = self.page
        args = {"_fullsize": page.is_tiled}
        if page.compression in (6, 7, 34892, 33007):            # JPEG
            args.update(jpegtables=page.jpegtables, jpegheader=page.jpegheader)
        try:
            return page.decode(*item, **args)
        except Exception as exc:                    # noqa: BLE001 (damaged data: one line)
            raise ResampleError(f"{self.path}: damaged TIFF data ({first_line(exc)[:80]})") \
                from None

    def _pool(self):
        if getattr(self, "_threads", None) is None:
            self._threads = ThreadPoolExecutor(max(1, min(4, os.cpu_count() or 1)))
        return self._threads

    def close(self):
        if getattr(self, "_threads", None) is not None:
            self._threads.shutdown()
        self.tif.close()


PAGES_STREAMED = 64             # more pages: not a pyramid (tifffile's series detection is
                                # quadratic in the pages), so not streamed
CHUNK_OBJECT_BYTES = 160        # tifffile's offset and count of a strip or tile, as objects
SMALLEST_TILE = 256             # pixels: smaller tiles (under 16x16) do not stream


def first_ifd(path):
    """``{tag: first value}`` of a TIFF's first directory (classic or BigTIFF), read with a
    few small reads before tifffile parses it (its offset tables become objects, one a strip
    or tile): {} where it cannot be read."""
    try:
        with open(path, "rb") as f:
            head = f.read(16)
            order = "<" if head[:2] == b"II" else ">"
            big = struct.unpack(order + "H", head[2:4])[0] == 43
            if big:
                f.seek(struct.unpack(order + "Q", head[8:16])[0])
                count = struct.unpack(order + "Q", f.read(8))[0]
                size, fmt = 20, "HHQ8s"
            else:
                f.seek(struct.unpack(order + "I", head[4:8])[0])
                count = struct.unpack(order + "H", f.read(2))[0]
                size, fmt = 12, "HHI4s"
            table = f.read(min(count, 4096) * size)
    except (OSError, struct.error):
        return {}
    kinds = {3: "H", 4: "I", 16: "Q"}
    tags = {}
    for i in range(len(table) // size):
        tag, kind, n, value = struct.unpack(order + fmt, table[i * size:(i + 1) * size])
        if kind in kinds and n >= 1:
            width = struct.calcsize(kinds[kind])
            if width <= len(value):
                tags[tag] = struct.unpack(order + kinds[kind], value[:width])[0]
    return tags


def _check_chunks(path):
    """Count a TIFF's strips or tiles before tifffile makes an object of each: tiles under
    16x16 pixels do not stream (each costs a decoder call), and the objects must fit in
    memory."""
    tags = first_ifd(path)
    width, height = tags.get(256, 0), tags.get(257, 0)
    if not (width and height):
        return
    if 322 in tags and 323 in tags:
        tile_w, tile_h = max(1, tags[322]), max(1, tags[323])
        if tile_w * tile_h < SMALLEST_TILE:
            raise NotStreamable(f"a TIFF of {tile_w}x{tile_h} tiles does not stream (under "
                                "16x16 pixels)")
        chunks = -(-width // tile_w) * -(-height // tile_h)
    else:
        chunks = -(-height // max(1, min(tags.get(278, height), height)))
    chunks *= tags.get(277, 1) if tags.get(284, 1) == 2 else 1
    check_memory(chunks * CHUNK_OBJECT_BYTES, f"reading the {chunks} strips or tiles of "
                 f"{path}")


def _check_ome(tif):
    """An OME-TIFF's XML can declare any number of planes, for which tifffile makes tables
    before reading a page: ``[note]`` where it declares more planes than the file has pages
    (its OME metadata is then not used: the file is read as a plain TIFF), else ``[]``."""
    if not tif.is_ome:
        return []
    xml = tif.pages.first.description or ""
    planes = 0
    for pixels in re.finditer(r"<(?:\w+:)?Pixels\b[^>]*>", xml[:1 << 22]):
        sizes = [int(m.group(1)) if m else 1 for m in
                 (re.search(rf'\b{name}="(\d+)"', pixels.group(0))
                  for name in ("SizeZ", "SizeC", "SizeT"))]
        planes += sizes[0] * sizes[1] * sizes[2]
    pages = len(tif.pages)                      # (the IFDs' offsets, read without pages)
    if planes <= max(pages, 1) * 4:            # (C samples may share a page)
        return []
    return [f"its OME metadata declares {planes} planes for {pages} pages: read as a plain "
            "TIFF"]


def _tiff_dpi(page):
    try:
        x, y = page.get_resolution()
        unit = page.tags.valueof(296, 2)
    except Exception:           # noqa: BLE001 (no or odd resolution tags: none)
        return None
    if unit not in (2, 3) or not (x > 0 and y > 0):
        return None
    return (x, y) if unit == 2 else (x * 2.54, y * 2.54)


class ZarrSource(Source):
    """A Zarr array (H, W) or (H, W, C); a group's array ``0`` (OME-Zarr's full size)."""

    kind = "Zarr"

    def __init__(self, path):
        zarr = _zarr()
        try:
            found = zarr.open(path, mode="r")
            if isinstance(found, zarr.Group):
                if "0" not in found:
                    raise ResampleError(f"{path}: a Zarr group with no array '0'")
                found = found["0"]
                if not isinstance(found, zarr.Array):
                    raise ResampleError(f"{path}: its '0' is a group, not an array")
            shape, chunks = tuple(found.shape), tuple(found.chunks)
        except ResampleError:
            raise
        except Exception as exc:        # noqa: BLE001 (damaged metadata: one line)
            raise ResampleError(f"{path}: cannot read Zarr ({first_line(exc)[:80]})") from None
        if not chunks or min(chunks) < 1:
            raise ResampleError(f"{path}: a Zarr array whose chunks are {chunks[:5]}")
        self.array, self.path = found, path
        if len(shape) not in (2, 3) or (len(shape) == 3 and shape[2] not in (1, 3)):
            raise ResampleError(f"{path}: a Zarr array of shape {shape[:5]}; (H, W), "
                                "(H, W, 1) or (H, W, 3) resize")
        if 0 in shape:
            raise ResampleError(f"{path}: an empty Zarr array")
        self.height, self.width = shape[:2]
        self.channels = shape[2] if len(shape) == 3 else 1
        self.dtype = np.dtype(found.dtype)
        if self.dtype not in [np.dtype(t) for t in SAMPLE_TYPES + (np.float64,)]:
            raise ResampleError(f"{path}: {self.dtype} Zarr samples; uint8, uint16, float32 "
                                "or float64 resize")
        self.band_rows = int(found.chunks[0])

    def read_band(self, k, out):
        r0 = k * self.band_rows
        try:
            band = np.asarray(self.array[r0:r0 + len(out)])
        except Exception as exc:                    # noqa: BLE001 (damaged data: one line)
            raise ResampleError(f"{self.path}: damaged Zarr data "
                                f"({first_line(exc)[:80]})") from None
        out[:] = band.reshape(out.shape)


def _zarr():
    try:
        import zarr  # optional: [zarr]
    except ImportError:
        raise ResampleError("Zarr input and output need zarr: pip install "
                            "'resample-images[zarr]'") from None
    return zarr


def open_source(path):
    """The input ``path`` read by rows: a :class:`Source`; raises NotStreamable (or a
    ResampleError for a damaged file)."""
    path = os.fspath(path)
    if is_zarr(path):
        return ZarrSource(path)
    with open(path, "rb") as f:
        head = f.read(8)
    if head == SIGNATURE:
        kind = PngSource
    elif head[:4] in (b"II*\0", b"MM\0*", b"II+\0", b"MM\0+"):
        kind = TiffSource
    else:
        raise NotStreamable("only PNG, TIFF and Zarr inputs stream")
    try:
        return kind(path)
    except (NotStreamable, ResampleError):
        raise
    except Exception as exc:                        # noqa: BLE001 (a damaged header)
        raise ResampleError(f"{path}: cannot read its header ({first_line(exc)[:80]})") \
            from None


def probe(path, dst, options, header=None):
    """``(source, why)``: the input's Source, read from its header and closed (its size,
    channels and dtype stay), and why ``path`` -> ``dst`` cannot stream with ``options`` (a
    phrase), or None if it can; ``source`` is None where the input was not opened.
    ``header``: the input's (resample.jobs.convert.Header), if read already."""
    if not os.fspath(dst).lower().rstrip("/\\").endswith(OUTPUTS):
        return None, "only PNG, TIFF and Zarr outputs stream"
    if options.points:
        return None, "method gmm does not stream"
    if options.linear:
        return None, "--linear does not stream"
    if getattr(options, "sharpen", False) or getattr(options, "srgb", False):
        return None, "--sharpen and --srgb do not stream"
    if options.boundary == "wrap":
        return None, "--boundary wrap does not stream (its taps reach across the image)"
    if header is None:
        try:
            source = open_source(path)
        except NotStreamable as exc:
            return None, str(exc)
        except (OSError, ResampleError):
            return None, "the input cannot be read"
        source.close()
    elif header.source is None:
        if isinstance(header.error, NotStreamable):
            return None, str(header.error)
        return None, "the input cannot be read"
    else:
        source = header.source
    if os.fspath(dst).lower().endswith(".png") and source.dtype not in (np.uint8, np.uint16):
        return source, f"{source.dtype} samples do not fit a PNG"
    return source, None


# -- limits -----------------------------------------------------------------------------------

BOMB_RATIO = 100            # a stream inflating its stored bytes more than this is a bomb


def check_limits(source, path):
    """Refuse a streamed input over the pixel limit (resample.formats.images.check_pixels) unless
    streaming may pass it: a limit the user set (``--max-pixels``, RESAMPLE_MAX_PIXELS)
    always applies; the default one is passed only by an input whose pixels' bytes are less
    than BOMB_RATIO times the bytes it stores (a file's size, a Zarr store's files), as real
    images are; an input declaring far more pixels than it holds is a decompression bomb."""

    raw = source.width * source.height * source.channels * source.dtype.itemsize
    limit = images.pixel_limit()
    if limit is None or source.width * source.height <= limit:
        return
    images.check_pixels(path, source.width, source.height,
                        streamed=raw < BOMB_RATIO * stored_bytes(path, raw // BOMB_RATIO))


def stored_bytes(path, enough=None):
    """The bytes ``path`` stores on its disk: a file's, or a folder's files' (the walk stops
    once ``enough`` is reached).  A sparse file counts the blocks it holds, not the size it
    claims (``truncate -s 40M`` stores nothing)."""
    if not os.path.isdir(path):
        return _held(os.stat(path))
    total = 0
    for here, _, names in os.walk(path):
        for name in names:
            try:
                total += _held(os.lstat(os.path.join(here, name)))
            except OSError:
                continue
            if enough is not None and total > enough:
                return total
    return total


def _held(st):
    """The bytes a file holds: its size, or less where it is sparse (st_blocks, where the
    platform has it)."""
    blocks = getattr(st, "st_blocks", None)
    return st.st_size if blocks is None else min(st.st_size, 512 * blocks)


# -- memory -----------------------------------------------------------------------------------

def streaming_memory(source, out_w, taps_r, taps_c, strip_rows):
    """Bytes a streamed resize holds: the tap tables (twice, cut into strips), the buffer of
    input rows (twice what a strip reads, and a band) and the band being read and decoded,
    and a strip out (computed, its intermediate, converted and encoded)."""
    sample = source.dtype.itemsize
    width, channels = source.width, source.channels
    tables = 2 * 24 * (taps_r.index.size + taps_c.index.size)
    rows_in = int((taps_r.index.max(initial=0) - taps_r.index.min(initial=0) + 1)
                  * min(1.0, (strip_rows + taps_r.index.shape[1]) / max(1, taps_r.n_out))) + 64
    rows_in = max(rows_in, strip_rows + taps_r.index.shape[1] + 64)
    return (tables + (2 * rows_in + 4 * source.band_rows) * width * channels * sample
            + rows_in * out_w * channels * 4 + 5 * strip_rows * out_w * channels * max(sample, 4))


# -- the resize -------------------------------------------------------------------------------

def resized_strips(source, out_w, out_h, options, strip_rows, progress=False, any_rows=False):
    """The output of resizing ``source`` to ``out_w`` x ``out_h``, strips of ``strip_rows``
    rows (the last may be shorter; with ``any_rows``, a whole number of them), top down, in
    the source's dtype.  The memory is checked
    and the tables built here, before the caller opens its output (a generator's body would
    wait for its first strip)."""

    method = options.method
    widths = [table_width(n, m, method, options.align, options.boundary, options.antialias)
              for n, m in ((source.height, out_h), (source.width, out_w))]
    if in_blocks(source.height, source.width, out_h, out_w, options):
        return _resized_in_blocks(source, out_w, out_h, options, strip_rows, widths, progress,
                                  any_rows)
    check_memory(2 * 24 * (out_h * widths[0] + out_w * widths[1])
                 + 2 * min(source.height, int(strip_rows * source.height / out_h) + widths[0])
                 * source.width * source.channels * 4,
                 f"streaming a {out_w}x{out_h} output")         # before the tables are built
    dtype = source.dtype
    plan = resize_plan((source.height, source.width, source.channels), dtype, (out_h, out_w),
                       method, options.align, options.boundary, options.antialias,
                       options.fill)
    taps_r, taps_c, work, out_dtype, how = plan
    check_memory(streaming_memory(source, out_w, taps_r, taps_c, strip_rows),
                 f"streaming a {out_w}x{out_h} output")
    strips = [sub_table(taps_r, r0, min(out_h, r0 + strip_rows))
              for r0 in range(0, out_h, strip_rows)]
    keep_from = np.minimum.accumulate([lo for _, lo, _ in strips][::-1])[::-1]
    rows = _Rows(source, max(hi - keep for (_, _, hi), keep in zip(strips, keep_from)))

    def computed():
        with progress_bar(len(strips), "strip", None if progress else False,
                          desc="resize") as bar:
            for (sub, lo, hi), keep in zip(strips, keep_from):
                window = rows.window(lo, hi, keep)
                out = cpu.resize(window, sub, taps_c, options.fill, work, out_dtype, how)
                yield out.astype(dtype, copy=False)
                bar.update(1)

    return computed()


# Tap tables too large to build whole (resample.spec.tables.built_by_range: an extreme aspect
# ratio, --size 40000000x1!): the rows' table is built for a group of strips at a time, the
# columns' for a block of output columns, from the output positions of that range alone.
STRIP_BYTES = 16 << 20       # a strip's samples, computed at once, in the blocked resize


def in_blocks(height, width, out_h, out_w, options):
    """Whether this job's tap tables are built by range (resample.spec.tables.built_by_range):
    such a job streams."""
    return options.method is not None and tables.built_by_range(
        height, width, out_h, out_w, options.method, options.align, options.boundary,
        options.antialias)


def _resized_in_blocks(source, out_w, out_h, options, strip_rows, widths, progress, any_rows):
    """:func:`resized_strips` for tap tables too large to hold whole: the rows' table is built
    for a group of strips at a time and the columns' for a block of output columns, each from
    the output positions of its own range (the same taps the whole tables would hold there).
    Every block runs the float loops (8-bit fixed point is decided per table, and one plan
    must hold for every block)."""
    method, align, boundary = options.method, options.align, options.boundary
    height, width, channels = source.height, source.width, source.channels
    given = strip_rows
    dtype = source.dtype
    work, out_dtype = work_dtype(dtype), compute_dtype(dtype)
    stretch_r = tables.stretch(height, out_h, method, align, options.antialias)
    stretch_c = tables.stretch(width, out_w, method, align, options.antialias)
    # strips of a whole number of strip_rows, about STRIP_BYTES each (a narrow output's
    # strips of 64 rows would cost a call each)
    strip_rows *= max(1, STRIP_BYTES // (strip_rows * out_w * source.channels
                                         * max(4, source.dtype.itemsize)))
    group = max(strip_rows, BLOCK_TAPS // widths[0] // strip_rows * strip_rows)
    block = max(1, BLOCK_TAPS // widths[1])
    # the input rows a strip reads, at most: its outputs' span in the input and the kernel's
    # reach on both sides
    step = tables.output_step(height, out_h, align)
    rows_in = min(height, int(np.ceil((strip_rows - 1) * step + 2 * method.support
                                      * stretch_r)) + 4)
    item, out_item = dtype.itemsize, np.dtype(out_dtype).itemsize
    strip = min(strip_rows, out_h)
    # a group's and a block's tables (built, compacted); the input rows held; a block's input
    # columns copied, its interleaved table and output; a strip out, computed and encoded
    check_memory(24 * 2 * (min(group, out_h) * widths[0] + min(block, out_w) * widths[1])
                 + (2 * rows_in + 4 * source.band_rows) * width * channels * item
                 + rows_in * min(width, int(block * tables.output_step(width, out_w, align))
                                 + 2 * widths[1] + 4) * channels * 8
                 + strip * min(block, out_w) * channels * (16 + out_item)
                 + 5 * strip * out_w * channels * max(item, out_item),
                 f"streaming a {out_w}x{out_h} output")
    nearest = method.name == "nearest"
    rows_at = RangePositions(height, out_h, align, nearest)
    cols_at = RangePositions(width, out_w, align, nearest)
    first = compute_taps(rows_at.take(0, min(group, out_h)), height, method, stretch_r,
                         boundary)          # (the first group's: for the plan, and used)
    rows_first, cols_first = pass_costs(height, width, out_h, out_w,
                                        float(first.count.mean()), widths[1])
    how = ((rows_first <= cols_first) if cpu.FORCE_ORDER is None else cpu.FORCE_ORDER == "rows",
           False)
    rows = _Rows(source, rows_in)
    n_strips = -(-out_h // strip_rows)

    def computed():
        nonlocal first
        with progress_bar(n_strips, "strip", None if progress else False,
                          desc="resize") as bar:
            for g0 in range(0, out_h, group):
                g1 = min(out_h, g0 + group)
                taps_r = first if g0 == 0 else compute_taps(
                    rows_at.take(g0, g1), height, method, stretch_r, boundary)
                first = None                    # (not held beside the next group's)
                for r0 in range(g0, g1, strip_rows):
                    sub, lo, hi = sub_table(taps_r, r0 - g0, min(g1, r0 + strip_rows) - g0)
                    window = rows.window(lo, hi, lo)
                    strip = np.empty((sub.n_out, out_w, channels), dtype)
                    columns_by_range(window, sub, cols_at, width, method, stretch_c,
                                     boundary, block, options.fill, work, out_dtype, how, strip)
                    if any_rows:
                        yield strip
                    else:
                        for k in range(0, len(strip), given):
                            yield strip[k:k + given]
                    bar.update(1)

    return computed()


class _Rows:
    """The input rows that strips read, held in one buffer of twice the most a strip reads
    (and a band): bands are read straight into it, and the rows still wanted moved to its
    top before a strip's rows would not fit (when few are held: the overlap of two strips);
    bands no strip reads are not read."""

    def __init__(self, source, most):
        self.source, self.band = source, source.band_rows
        self.buffer = np.empty((2 * most + self.band, source.width, source.channels),
                               source.dtype)
        self.read = 0            # input rows read (or passed over) so far
        self.start = self.end = 0   # the buffer's rows in use: the last ones read

    def _drop_before(self, keep):
        first = self.read - (self.end - self.start)         # the input row at start
        self.start += min(max(0, keep - first), self.end - self.start)

    def _compact(self):
        held = self.end - self.start
        self.buffer[:held] = self.buffer[self.start:self.end]
        self.start, self.end = 0, held

    def window(self, lo, hi, keep):
        """Input rows [lo, hi), as a view; rows before ``keep`` are no longer wanted."""
        self._drop_before(keep)
        wanted = -(-(hi - self.read) // self.band) * self.band
        if self.end + wanted > len(self.buffer):            # move now, while few rows are held
            self._compact()
        while self.read < hi:
            k = self.read // self.band
            n = min(self.band, self.source.height - self.read)
            if self.read + n <= keep:                       # a band no strip reads
                self.read += n
                continue
            if self.end + n > len(self.buffer):
                self._compact()
            self.source.read_band(k, self.buffer[self.end:self.end + n])
            self.end += n
            self.read += n
            self._drop_before(keep)
        first = self.read - (self.end - self.start)
        return self.buffer[self.start + lo - first:self.start + hi - first]


def resize_file(src, dst, options, output_size, progress=False):
    """Resize ``src`` (PNG, TIFF or Zarr) into ``dst`` (PNG, TIFF or Zarr) strip by strip;
    returns the notes.  ``output_size(width, height)`` gives the output's from the input's
    full size."""
    source = open_source(src)
    try:
        check_limits(source, src)
        out_w, out_h = output_size(source.width, source.height)
        check_disk(dst, out_w, out_h, source.channels, source.dtype.itemsize,
                   getattr(options, "pyramid", False))
        full = (source.width, source.height)
        if not getattr(options, "exact", False):
            source.choose_level(out_w, out_h)
        icc, dpi = (None, None) if options.strip else (source.icc, source.dpi)
        if dpi is not None and (source.width, source.height) != full:
            dpi = tuple(d * source.width / full[0] for d in dpi)
        lower = os.fspath(dst).lower().rstrip("/\\")
        if lower.endswith(".png"):
            if source.dtype not in (np.uint8, np.uint16):
                raise ResampleError(f"{source.dtype} samples do not fit a PNG; use .tif")
            strips = resized_strips(source, out_w, out_h, options, STRIP_ROWS, progress,
                                    any_rows=True)
            with atomic_output(dst) as f:
                writer = RowWriter(f, out_w, out_h, source.channels, 8 * source.dtype.itemsize,
                                   icc, dpi)
                for block in strips:
                    writer.write(block)
                writer.close()
        elif lower.endswith(".zarr"):
            strips = resized_strips(source, out_w, out_h, options, TILE, progress)
            write_zarr(dst, strips, out_w, out_h, source.channels, source.dtype,
                       overwrite=getattr(options, "overwrite", False), src=src)
        else:
            strips = resized_strips(source, out_w, out_h, options, TILE, progress)
            with atomic_output(dst) as f:
                write_tiff(f, strips, out_w, out_h, source.channels, source.dtype, icc, dpi,
                           pyramid=getattr(options, "pyramid", False))
        notes = list(source.notes)
    finally:
        source.close()
    rows = STRIP_ROWS if lower.endswith(".png") else TILE
    if in_blocks(full[1], full[0], out_h, out_w, options):
        return notes + [f"streamed: {source.width}x{source.height} {source.kind} resized by "
                        "blocks of rows and columns (an extreme aspect ratio: its tap tables "
                        "built by range)"]
    return notes + [f"streamed: {source.width}x{source.height} {source.kind} resized {rows} "
                    "rows at a time"]


def check_disk(dst, out_w, out_h, channels, sample, pyramid=False):
    """Refuse, before any work, an output the disk cannot hold: a TIFF's exact size (its
    pyramid a third more), and for PNG and Zarr a hundredth of their pixels' bytes (deflate
    and zstd rarely shrink an image more than that)."""
    raw = out_w * out_h * channels * sample
    tiff = not os.fspath(dst).lower().rstrip("/\\").endswith((".png", ".zarr"))
    need = raw * (4 / 3 if pyramid else 1) if tiff else raw / 100
    folder = os.path.dirname(os.path.abspath(os.fspath(dst)))
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return
    if need > free:
        what = "" if tiff else f" (its pixels are {_bytes(raw)}; compression rarely " \
                                "takes more than a hundredfold)"
        raise ResampleError(f"a {out_w}x{out_h} output needs {'about ' * (not tiff)}"
                            f"{_bytes(need)} of disk{what}, but {folder} has {_bytes(free)} "
                            "free")


def _bytes(n):
    return f"{n / 1e9:.1f} GB" if n < 1e12 else f"{n / 1e12:.0f} TB"


# -- sinks ------------------------------------------------------------------------------------

def write_tiff(f, strips, width, height, channels, dtype, icc=None, dpi=None, pyramid=False):
    """A tiled TIFF (TILE x TILE, uncompressed; BigTIFF when it passes 2 GiB) of the strips
    (TILE rows each, top down) into the binary file ``f``.  ``pyramid``: SubIFDs of 2x2 means,
    each level half the last, down to one tile."""
    levels = []
    if pyramid:
        folder = os.path.dirname(os.path.abspath(f.name))
        w, h = width, height
        while max(w, h) > TILE:
            levels.append(_Halves(w, h, channels, dtype, folder))
            w, h = levels[-1].width, levels[-1].height
        for level, below in zip(levels, levels[1:]):
            level.next = below
    nbytes = width * height * channels * np.dtype(dtype).itemsize * (4 / 3 if pyramid else 1)
    common = dict(dtype=dtype, tile=(TILE, TILE), photometric="rgb" if channels == 3
                  else "minisblack", compression=None, metadata=None)
    if dpi:
        common.update(resolution=tuple(dpi), resolutionunit=2)
    try:
        with tifffile.TiffWriter(f, bigtiff=nbytes > 2**31) as tif:
            def level0():
                for block in strips:
                    if levels:
                        levels[0].add(block)
                    yield from _tiles(block)
            tif.write(level0(), shape=_tiff_shape(height, width, channels),
                      subifds=len(levels) or None,
                      extratags=[(34675, 7, len(icc), icc, True)] if icc else (), **common)
            for level in levels:
                tif.write((t for block in level.bands() for t in _tiles(block)),
                          shape=_tiff_shape(level.height, level.width, channels), subfiletype=1,
                          **common)
    finally:
        for level in levels:
            level.close()


def _tiff_shape(height, width, channels):
    return (height, width, channels) if channels > 1 else (height, width)


def _tiles(block):
    """TILE-wide pieces of a strip, (rows, TILE) for one channel, else (rows, TILE, C)."""
    if block.shape[2] == 1:
        block = block[..., 0]
    for c0 in range(0, block.shape[1], TILE):
        yield block[:, c0:c0 + TILE]


class _Halves:
    """The next level of a pyramid, made from the rows of a level pushed in order: each
    pixel the mean of a 2x2 block (a side's last row or column repeated where it is odd),
    rounded half up for integers.  Rows go to a temporary file, and on to the next level."""

    def __init__(self, width, height, channels, dtype, folder):
        self.src_height = height
        self.width, self.height = (width + 1) // 2, (height + 1) // 2
        self.channels, self.dtype = channels, np.dtype(dtype)
        self.file = tempfile.TemporaryFile(dir=folder, prefix=".resample-level-")
        self.seen, self.left, self.next = 0, None, None

    def add(self, block):
        self.seen += len(block)
        if self.left is not None:
            block = np.concatenate([self.left, block])
        if self.seen == self.src_height and len(block) % 2:
            block = np.concatenate([block, block[-1:]])
        n = len(block) // 2 * 2
        self.left = block[n:] if n < len(block) else None
        if n:
            half = _half(block[:n], self.dtype)
            self.file.write(half.tobytes())
            if self.next is not None:
                self.next.add(half)

    def bands(self):
        self.file.seek(0)
        row = self.width * self.channels * self.dtype.itemsize
        for r0 in range(0, self.height, TILE):
            n = min(TILE, self.height - r0)
            data = self.file.read(n * row)
            yield np.frombuffer(data, self.dtype).reshape(n, self.width, self.channels)

    def close(self):
        self.file.close()


def _half(block, dtype):
    """2x2 means of (2n, W, C) rows: (n, ceil(W / 2), C)."""
    if block.shape[1] % 2:
        block = np.concatenate([block, block[:, -1:]], axis=1)
    wide = np.float64 if dtype.kind == "f" else np.uint32
    s = block.astype(wide)
    s = s[0::2, 0::2] + s[0::2, 1::2] + s[1::2, 0::2] + s[1::2, 1::2]
    return (s * 0.25).astype(dtype) if dtype.kind == "f" else ((s + 2) // 4).astype(dtype)


def write_zarr(path, strips, width, height, channels, dtype, overwrite=False, src=None):
    """A Zarr array (H, W) for one channel, else (H, W, C), in TILE x TILE chunks, written
    into a temporary folder beside ``path`` and swapped in when complete.  An existing
    ``path`` is replaced only as :func:`resample.formats.files.check_zarr_output` allows (with
    ``overwrite``, a Zarr store that does not hold the input ``src``), and only once the new
    store is whole: the two are exchanged in one atomic step where the system allows it
    (else the old one is renamed aside and the new one in), then the old is removed."""
    zarr = _zarr()
    path = os.path.abspath(os.fspath(path)).rstrip("/\\")
    check_zarr_output(path, src, overwrite)
    folder = os.path.dirname(path)
    remove_stale_parts(folder)
    fd, tmp = new_part_folder(folder)
    try:
        shape = (height, width) if channels == 1 else (height, width, channels)
        chunks = (TILE, TILE) if channels == 1 else (TILE, TILE, channels)
        z = zarr.create_array(store=tmp, shape=shape, chunks=chunks, dtype=dtype)
        r0 = 0
        for block in strips:
            z[r0:r0 + len(block)] = block if channels > 1 else block[..., 0]
            r0 += len(block)
        check_zarr_output(path, src, overwrite)          # (as it is now, not as it was)
        if os.path.lexists(path):
            if _exchange(tmp, path):                     # one atomic step: old <-> new
                shutil.rmtree(tmp, ignore_errors=True)   # (tmp now holds the old store)
            else:
                old = tmp[:-len(".part")] + ".old.part"  # removed as a stale part if left
                os.replace(path, old)
                try:
                    os.replace(tmp, path)
                except BaseException:
                    os.replace(old, path)
                    raise
                shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException as exc:
        _remove_tree(tmp)
        full = disk_full(exc) or (disk_full(exc.__cause__) if exc.__cause__ else None)
        if full:
            raise ResampleError(f"{path}: {full}") from None
        if isinstance(exc, OSError) and not isinstance(exc, ResampleError):
            raise ResampleError(f"{path}: cannot write the Zarr store "
                                f"({exc.strerror or first_line(exc)})") from None
        raise
    finally:
        end_part_folder(fd, tmp)


def _exchange(a, b):
    """Swap two paths in one atomic step (Linux renameat2 RENAME_EXCHANGE): True if done, False
    where the system cannot (then the caller renames twice)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                          ctypes.c_uint]
    at_cwd, exchange = -100, 2
    return renameat2(at_cwd, os.fsencode(a), at_cwd, os.fsencode(b), exchange) == 0


def _remove_tree(path):
    """Remove a temporary folder that a library's writer threads may still be filling: again
    until it stays gone (briefly)."""
    for _ in range(20):
        shutil.rmtree(path, ignore_errors=True)
        time.sleep(0.05)
        if not os.path.lexists(path):
            return
