"""Images of several frames: animated GIF, WebP and PNG (APNG), and multi-page TIFF.

Every frame is resized and written into an output format that holds frames (GIF, WebP, PNG,
TIFF), with the animation's frame durations (milliseconds) and loop count.  Animation frames
are read composited, as a viewer shows them (Pillow composes each frame over the ones before
it, by their disposal and blending), so each is written whole and replaces the one before
(GIF disposal 2, APNG dispose-none and blend-source): the picture is the same whatever the
input's disposal methods were.  TIFF pages are independent images, each resized by the same
options (a page of another size gets its own output size).  Arrays are (rows, cols[, C]).
"""

from __future__ import annotations

import os
from contextlib import contextmanager

import numpy as np
import tifffile
from PIL import Image

from ..errors import ResampleError, first_line
from ..formats import images
from ..formats.files import atomic_output, output_format
from ..ops.resize import resize, resize_memory
from ..spec.memory import check_memory
from ..spec.methods import get_method
from .stream import BOMB_RATIO, stored_bytes

FRAME_FORMATS = ("GIF", "WEBP", "PNG", "TIFF")      # output formats that hold frames
ANIMATIONS = ("GIF", "WEBP", "PNG")


def frame_count(path):
    """How many frames (or pages) an image file of a format of FRAME_FORMATS has; 1 for any
    other (a camera's MPO JPEG carries a preview as a second frame: not an animation) and for
    a file Pillow cannot open."""
    try:
        with Image.open(path) as im:
            return int(getattr(im, "n_frames", 1)) if im.format in FRAME_FORMATS else 1
    except Exception:               # noqa: BLE001 (the single-frame path reports it)
        return 1


def keeps_frames(src, dst):
    """Whether ``src`` has several frames and ``dst``'s format holds them all."""
    return output_format(dst) in FRAME_FORMATS and frame_count(src) > 1


FRAME_BYTES = 16            # a frame takes at least this many bytes of its file, any format


def frame_layout(im, path):
    """``[(width, height, bands, sample bytes)]`` of every frame of an open Pillow image, from
    its headers (no frame is decoded): an animation's frames are its canvas, composited as
    RGBA; a TIFF's pages have their own sizes and samples.  A header that claims more frames
    than the file's bytes could hold (an APNG's frame count is the file's word) is refused
    before any list of them is made."""
    fmt = im.format
    n = int(getattr(im, "n_frames", 1))
    most = max(1, os.path.getsize(path) // FRAME_BYTES)
    if n > most:
        raise ResampleError(f"{path}: declares {n} frames, more than its "
                            f"{os.path.getsize(path)} bytes can hold")
    if fmt in ANIMATIONS:
        return [(im.width, im.height, 4, 1)] * n
    layout = []
    for i in range(n):
        im.seek(i)
        bits = im.tag_v2.get(258, 8) if hasattr(im, "tag_v2") else 8
        bits = max(bits) if isinstance(bits, tuple) else int(bits)
        layout.append((im.width, im.height, max(len(im.getbands()), 1), max(1, bits // 8)))
    im.seek(0)
    return layout


def check_frames(path, im, layout, sizes, fmt, options):
    """Refuse, before the first frame is decoded, frames whose pixels all together pass the
    pixel limit (as a stream: the default limit is passed only by frames whose pixels' bytes
    are under a hundred times the file's size, a limit the user set never) or whose work does
    not fit in memory: one frame decoded and resized at a time, and the outputs an animation's
    encoder holds until the end (a TIFF's pages are written one by one)."""

    pixels = sum(w * h for w, h, _, _ in layout)
    raw = sum(w * h * b * s for w, h, b, s in layout)
    kind = "pages" if im.format == "TIFF" else "frames"
    widest = (max(w for w, _, _, _ in layout), max(h for _, h, _, _ in layout))
    what = f"{len(layout)} {kind} of up to {widest[0]}x{widest[1]}"
    images.check_pixel_count(path, pixels, what,
                             streamed=raw < BOMB_RATIO * stored_bytes(path))
    method = get_method("nearest") if options.points else options.method
    one = max(w * h * (4 + 2 * b * s) + resize_memory(
        (h, w, b), (oh, ow), np.float32 if b in (2, 4) else np.uint8, method,
        options.antialias, options.align, options.boundary)
        for (w, h, b, s), (ow, oh) in zip(layout, sizes))
    held = 0 if fmt == "TIFF" else sum(2 * ow * oh * 4 for ow, oh in sizes)
    check_memory(one + held, f"{what} into {fmt}")


def iter_frames(im, path):
    """Every frame of an open Pillow image as ``(array, alpha, duration in ms)``, one at a
    time: an animation's composited as a viewer shows it (RGBA), a TIFF's pages as they are
    (grey, RGB, RGBA, 16-bit).  A damaged frame is a ResampleError naming ``path``."""
    fmt = im.format
    for i in range(int(getattr(im, "n_frames", 1))):
        try:
            im.seek(i)
            if fmt in ANIMATIONS:
                frame = im.convert("RGBA")
            elif im.mode in ("L", "RGB", "RGBA", "LA", "I;16"):
                frame = im
            else:
                frame = im.convert("RGBA" if "A" in im.getbands() else "RGB")
            a = np.array(frame)
            duration = int(im.info.get("duration", 0) or 0)      # (once loaded)
        except MemoryError:
            raise ResampleError(f"{path}: not enough memory to decode frame {i + 1}") \
                from None
        except Exception as exc:    # noqa: BLE001 (a damaged frame: one line)
            raise ResampleError(f"{path}: cannot read frame {i + 1} "
                                f"({first_line(exc)[:80]})") from None
        alpha = a.ndim == 3 and a.shape[2] in (2, 4)
        yield a, alpha, duration


def resize_frames(src, dst, options, output_size):
    """Resize every frame of ``src`` into ``dst`` (a format of FRAME_FORMATS), one frame at a
    time; returns the notes.  ``output_size(width, height)`` gives a frame's output (width,
    height).  The frames' pixels and memory are checked before the first is decoded
    (:func:`check_frames`).  An animation whose every frame is opaque is written as RGB."""

    fmt = output_format(dst)
    with Image.open(src) as im:
        try:
            layout = frame_layout(im, src)
        except ResampleError:
            raise
        except Exception as exc:    # noqa: BLE001 (a damaged header: one line)
            raise ResampleError(f"{src}: cannot read its frames ({first_line(exc)[:80]})") \
                from None
        sizes = [output_size(w, h) for w, h, _, _ in layout]
        check_frames(src, im, layout, sizes, fmt, options)
        info = {"format": im.format, "loop": im.info.get("loop"),
                "icc": im.info.get("icc_profile"), "durations": []}

        def resized():
            for (a, alpha, duration), (w, h) in zip(iter_frames(im, src), sizes):
                info["durations"].append(duration)
                opaque = alpha and info["format"] in ANIMATIONS and (a[..., 3] == 255).all()
                work = a[..., :3] if opaque else a
                out = resize(work, shape=(h, w), method=options.resize_method,
                             align=options.align,
                             boundary=options.boundary, fill=options.fill,
                             antialias=options.antialias, alpha=alpha and not opaque,
                             linear=options.linear, device=options.device)
                if opaque:
                    out = np.dstack([out, np.full(out.shape[:2], 255, out.dtype)])
                yield out, opaque or not alpha

        if fmt == "TIFF":
            count = _write_pages(resized(), dst, info, options)
        else:
            frames = list(resized())
            if all(opaque for _, opaque in frames) and info["format"] in ANIMATIONS:
                arrays = [a[..., :3] for a, _ in frames]          # opaque: RGB
            else:
                arrays = [a for a, _ in frames]
            del frames
            count = len(arrays)
            _write_frames(arrays, dst, fmt, info, options)
    kind = "pages" if info["format"] == "TIFF" else "frames"
    return [f"{count} {kind} resized"]


def _write_pages(frames, dst, info, options):
    """A multi-page TIFF (deflate), written a page at a time as the frames come, in time linear
    in the pages (tifffile appends each page's directory once); returns the page count."""
    icc = info["icc"] if not options.strip else None
    count = 0
    with _encoding(dst, lambda: f"{count + 1} pages as TIFF"):
        with atomic_output(dst) as f, tifffile.TiffWriter(f) as tif:
            for a, _ in frames:
                channels = a.shape[2] if a.ndim == 3 else 1
                if channels == 1 and a.ndim == 3:
                    a = a[..., 0]
                tif.write(a, photometric="rgb" if channels >= 3 else "minisblack",
                          extrasamples=("unassalpha",) if channels in (2, 4) else None,
                          compression="zlib", metadata=None, contiguous=False,
                          extratags=[(34675, 7, len(icc), icc, True)] if icc else ())
                count += 1
    return count


@contextmanager
def _encoding(dst, what):
    """An encoder's failure, whatever it raises, as one line naming ``dst`` and ``what()``
    was being written (a ResampleError, from a frame being read, passes as it is)."""
    try:
        yield
    except ResampleError:
        raise
    except MemoryError:
        raise ResampleError(f"{dst}: not enough memory to encode it") from None
    except Exception as exc:        # noqa: BLE001 (an encoder fails in any way)
        raise ResampleError(f"{dst}: cannot write {what()} ({str(exc)[:80]})") from None


def _write_frames(arrays, dst, fmt, info, options):
    if any(a.dtype != np.uint8 for a in arrays):
        arrays = [(a.astype(np.float64) / np.iinfo(a.dtype).max * 255 + 0.5).astype(np.uint8)
                  if a.dtype != np.uint8 else a for a in arrays]
    images = [Image.fromarray(a) for a in arrays]
    kwargs = {"save_all": True, "append_images": images[1:]}
    if info["format"] not in ANIMATIONS:            # TIFF pages into an animation
        kwargs["duration"] = 100
    else:
        kwargs["duration"] = info["durations"]
    if info["loop"] is not None:
        kwargs["loop"] = info["loop"]
    if fmt == "GIF":
        kwargs["disposal"] = 2
    elif fmt == "PNG":
        kwargs.update(disposal=0, blend=0)              # APNG: each frame replaces the last
    elif fmt == "WEBP":
        kwargs.update(quality=95 if options.quality is None else options.quality)
    if info["icc"] and fmt in ("PNG", "WEBP") and not options.strip:
        kwargs["icc_profile"] = info["icc"]
    with _encoding(dst, lambda: f"{len(images)} frames as {fmt}"):
        with atomic_output(dst) as f:
            images[0].save(f, format=fmt, **kwargs)
