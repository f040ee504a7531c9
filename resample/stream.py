"""Resizing PNG files bigger than memory, strip by strip.

The input is decoded by rows (zlib inflated as it is read, rows unfiltered a block at a time),
each strip of STRIP_ROWS output rows is computed from exactly the input rows its taps read,
following the whole image's plan (resample.cpu.plan: pass order, fixed point), and encoded as
it comes (rows filtered a block at a time, deflated into IDAT chunks as they fill).  Memory
stays about a strip's input and output rows, whatever the image's size, and the pixels equal
the in-memory resize's.  Streams: 8- and 16-bit grey and RGB PNGs, not interlaced, into PNG,
with any boundary but wrap (whose taps reach across the image).  Arrays are (rows, cols, C).
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

from .compiled import core as _core
from .devices import check_memory
from .errors import ResampleError
from .files import atomic_output
from .png import _CHANNELS, _COLOR_TYPE, _SIGNATURE, _chunk, _inflate_bounded, ICC_MAX_BYTES

STRIP_ROWS = 64             # output rows a strip
READ_BYTES = 1 << 20        # compressed bytes read at a time


def png_header(path):
    """``(width, height, channels, depth, interlaced, icc, dpi)`` of a PNG, from the chunks
    before its pixels; None for a file that is no PNG."""
    icc = dpi = None
    with open(path, "rb") as f:
        if f.read(8) != _SIGNATURE:
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
                icc = _inflate_bounded(body[body.index(b"\0") + 2:], ICC_MAX_BYTES)
            elif kind == b"pHYs" and len(body) == 9 and body[8] == 1:
                dpi = tuple(v * 0.0254 for v in struct.unpack(">II", body[:8]))
    return width, height, _CHANNELS.get(colour, 0) if colour in (0, 2) else 0, depth, \
        bool(interlace), icc, dpi


def streamable(path, dst, options):
    """Whether ``path`` -> ``dst`` can stream with ``options`` (see the module's docstring)."""
    if not (str(path).lower().endswith(".png") and str(dst).lower().endswith(".png")):
        return False
    if options.linear or options.method == "gmm" or options.boundary == "wrap":
        return False
    head = png_header(path)
    return head is not None and head[2] in (1, 3) and head[3] in (8, 16) and not head[4]


def streaming_memory(width, channels, depth, out_w, taps_r, taps_c):
    """Bytes a streamed resize holds: the tap tables (twice, cut into strips), the input rows
    a strip reads (held, joined and converted), and a strip out (converted and filtered)."""
    sample = depth // 8
    tables = 2 * 24 * (taps_r.index.size + taps_c.index.size)
    rows_in = int((taps_r.index.max(initial=0) - taps_r.index.min(initial=0) + 1)
                  * min(1.0, (STRIP_ROWS + taps_r.index.shape[1]) / max(1, taps_r.n_out))) + 64
    rows_in = max(rows_in, STRIP_ROWS + taps_r.index.shape[1] + 64)
    return (tables + 4 * rows_in * width * channels * sample
            + 5 * STRIP_ROWS * out_w * channels * max(sample, 4))


def memory_needed(width, height, channels, depth, out_w, out_h):
    """Bytes an in-memory resize of this PNG would take: the decoded image and its copies, the
    output and the encoder's two copies (resample.convert.check_resize_fits counts the same)."""
    sample = depth // 8
    return 3 * width * height * channels * sample + 3 * out_w * out_h * channels * sample


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
    width, height, channels, depth, _, _, _ = png_header(path)
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
    """A PNG written a block of rows at a time into the binary file ``f``."""

    def __init__(self, f, width, height, channels, depth, icc=None, dpi=None, level=6):
        self.f, self.stride = f, width * channels * depth // 8
        self.bpp, self.depth = max(1, channels * depth // 8), depth
        self.previous = bytes(self.stride)
        self.deflate = zlib.compressobj(level)
        self.rows = 0
        f.write(_SIGNATURE + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth,
                                                         _COLOR_TYPE[channels], 0, 0, 0)))
        if icc:
            f.write(_chunk(b"iCCP", b"icc\0\0" + zlib.compress(icc)))
        if dpi:
            f.write(_chunk(b"pHYs", struct.pack(">IIB", *(round(d / 0.0254) for d in dpi), 1)))

    def write(self, block):
        """Rows (n, W, C) of the file's dtype."""
        data = np.ascontiguousarray(block, ">u2" if self.depth == 16 else np.uint8)
        rows = data.view(np.uint8).reshape(len(block), self.stride)
        both = np.concatenate([np.frombuffer(self.previous, np.uint8)[None], rows])
        filtered = np.empty((len(both), self.stride + 1), np.uint8)
        _core.png_filter(both, self.bpp, filtered)       # each row's filter sees the one above
        self.previous = rows[-1].tobytes()
        self.rows += len(block)
        out = self.deflate.compress(filtered[1:].tobytes())
        if out:
            self.f.write(_chunk(b"IDAT", out))

    def close(self):
        self.f.write(_chunk(b"IDAT", self.deflate.flush()) + _chunk(b"IEND", b""))


def resize_png(src, dst, options, output_size):
    """Resize the PNG ``src`` into the PNG ``dst`` strip by strip; returns the notes."""
    from . import cpu
    from .api import _compute_dtype, _work_dtype
    from .methods import get_method
    from .taps import resize_taps, sub_table

    width, height, channels, depth, _, icc, dpi = png_header(src)
    out_w, out_h = output_size(width, height)
    method = get_method(options.method)
    taps_r = resize_taps(height, out_h, method, options.align, options.boundary,
                         options.antialias)
    taps_c = resize_taps(width, out_w, method, options.align, options.boundary,
                         options.antialias)
    dtype = np.dtype(np.uint16 if depth == 16 else np.uint8)
    work, out_dtype = _work_dtype(dtype), _compute_dtype(dtype)
    check_memory(streaming_memory(width, channels, depth, out_w, taps_r, taps_c),
                 f"streaming a {out_w}x{out_h} output")
    how = cpu.plan((height, width, channels), taps_r, taps_c, options.fill, dtype, out_dtype)
    strips = [sub_table(taps_r, r0, min(out_h, r0 + STRIP_ROWS))
              for r0 in range(0, out_h, STRIP_ROWS)]
    keep_from = np.minimum.accumulate([lo for _, lo, _ in strips][::-1])[::-1]
    rows = read_rows(src)
    held, base = [], 0                  # input blocks in memory; the first one's first row
    with atomic_output(dst) as f:
        writer = RowWriter(f, out_w, out_h, channels, depth,
                           None if options.strip else icc, None if options.strip else dpi)
        for (sub, lo, hi), keep in zip(strips, keep_from):
            while base + sum(len(b) for b in held) < hi:
                held.append(next(rows))
            while held and base + len(held[0]) <= keep:   # rows no later strip reads
                base += len(held.pop(0))
            window = np.concatenate(held) if len(held) > 1 else held[0]
            window = window[lo - base:hi - base]
            writer.write(cpu.resize(window, sub, taps_c, options.fill, work, out_dtype, how))
        writer.close()
    return [f"streamed: {width}x{height} resized {STRIP_ROWS} rows at a time"]
