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

import numpy as np

from .errors import ResampleError
from .files import atomic_output, output_format

FRAME_FORMATS = ("GIF", "WEBP", "PNG", "TIFF")      # output formats that hold frames
ANIMATIONS = ("GIF", "WEBP", "PNG")


def frame_count(path):
    """How many frames (or pages) an image file of a format of FRAME_FORMATS has; 1 for any
    other (a camera's MPO JPEG carries a preview as a second frame: not an animation) and for
    a file Pillow cannot open."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            return int(getattr(im, "n_frames", 1)) if im.format in FRAME_FORMATS else 1
    except Exception:               # noqa: BLE001 (the single-frame path reports it)
        return 1


def keeps_frames(src, dst):
    """Whether ``src`` has several frames and ``dst``'s format holds them all."""
    return output_format(dst) in FRAME_FORMATS and frame_count(src) > 1


def read_frames(path):
    """``(frames, info)``: the frames as arrays, and ``info`` with ``format``, ``alpha``,
    ``durations`` (ms, one a frame), ``loop`` (None: the file says nothing), ``icc``."""
    from PIL import Image

    with Image.open(path) as im:
        fmt = im.format
        info = {"format": fmt, "durations": [], "loop": im.info.get("loop"),
                "icc": im.info.get("icc_profile")}
        frames = []
        for i in range(im.n_frames):
            im.seek(i)
            if fmt in ANIMATIONS:
                frame = im.convert("RGBA")
            elif im.mode in ("L", "RGB", "RGBA", "LA", "I;16"):
                frame = im
            else:
                frame = im.convert("RGBA" if "A" in im.getbands() else "RGB")
            frames.append(np.array(frame))
            info["durations"].append(int(im.info.get("duration", 0) or 0))   # (once loaded)
    alpha = [a.ndim == 3 and a.shape[2] in (2, 4) for a in frames]
    if fmt in ANIMATIONS and all(alpha) and all((a[..., 3] == 255).all() for a in frames):
        frames = [a[..., :3] for a in frames]                  # opaque: RGB
        alpha = [False] * len(frames)
    info["alpha"] = alpha
    return frames, info


def resize_frames(src, dst, options, output_size):
    """Resize every frame of ``src`` into ``dst`` (a format of FRAME_FORMATS); returns the
    notes.  ``output_size(width, height)`` gives a frame's output (width, height)."""
    from .api import resize

    from .devices import check_memory

    frames, info = read_frames(src)
    fmt = output_format(dst)
    sizes = [output_size(a.shape[1], a.shape[0]) for a in frames]
    check_memory(sum(w * h * 4 * 8 for w, h in sizes),          # float work and the output
                 f"{len(frames)} frames of up to {max(w for w, _ in sizes)}x"
                 f"{max(h for _, h in sizes)}")
    out = []
    for a, alpha in zip(frames, info["alpha"]):
        w, h = output_size(a.shape[1], a.shape[0])
        out.append(resize(a, shape=(h, w), method=options.method, align=options.align,
                          boundary=options.boundary, fill=options.fill,
                          antialias=options.antialias, alpha=alpha, linear=options.linear,
                          device=options.device))
    _write_frames(out, dst, fmt, info, options)
    kind = "pages" if info["format"] == "TIFF" else "frames"
    return [f"{len(out)} {kind} resized"]


def _write_frames(arrays, dst, fmt, info, options):
    from PIL import Image

    if fmt != "TIFF" and any(a.dtype != np.uint8 for a in arrays):
        arrays = [(a.astype(np.float64) / np.iinfo(a.dtype).max * 255 + 0.5).astype(np.uint8)
                  if a.dtype != np.uint8 else a for a in arrays]
    images = [Image.fromarray(a) for a in arrays]
    kwargs = {"save_all": True, "append_images": images[1:]}
    if fmt in ANIMATIONS:
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
    elif fmt == "TIFF":
        kwargs["compression"] = "tiff_adobe_deflate"
    if info["icc"] and fmt in ("PNG", "WEBP", "TIFF") and not options.strip:
        kwargs["icc_profile"] = info["icc"]
    import io

    try:
        buffer = io.BytesIO()           # (Pillow's multi-page TIFF writer reads back its file)
        images[0].save(buffer, format=fmt, **kwargs)
        with atomic_output(dst) as f:
            f.write(buffer.getbuffer())
    except ResampleError:
        raise
    except Exception as exc:        # noqa: BLE001 (an encoder fails in any way)
        raise ResampleError(f"{dst}: cannot write {len(images)} frames as {fmt} ({exc})") \
            from None
