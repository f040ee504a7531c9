"""A loss curve drawn with Pillow alone (``resample fit --plot``): no plotting library needed.

Pixel coordinates are (x, y) from the top-left corner of the picture.
"""

from __future__ import annotations

import math

from PIL import Image, ImageDraw


def _ticks(lo, hi, count=5):
    """About ``count`` round values spanning [lo, hi]."""
    if not hi > lo:
        return [lo]
    raw = (hi - lo) / count
    step = 10 ** math.floor(math.log10(raw))
    step *= next(m for m in (1, 2, 5, 10) if m * step >= raw)
    first = math.ceil(lo / step) * step
    return [first + i * step for i in range(int((hi - first) / step + 1e-9) + 1)]


def loss_curve(history, path, *, title="", ylabel="loss", best=None, size=(720, 440)):
    """Write a PNG of ``history`` (one value a step) to ``path``, marking step ``best``."""
    width, height = size
    left, right, top, bottom = 70, 20, 36, 50
    values = [float(v) for v in history]
    lo, hi = min(values), max(values)
    if not hi > lo:
        lo, hi = lo - 0.5, hi + 0.5
    pad = 0.05 * (hi - lo)
    lo, hi = lo - pad, hi + pad
    steps = max(1, len(values) - 1)

    def at(step, value):
        x = left + (width - left - right) * step / steps
        y = top + (height - top - bottom) * (hi - value) / (hi - lo)
        return x, y

    im = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(im)
    draw.rectangle([left, top, width - right, height - bottom], outline=(90, 90, 90))
    for v in _ticks(lo, hi):
        _, y = at(0, v)
        draw.line([left - 4, y, left, y], fill=(90, 90, 90))
        draw.line([left + 1, y, width - right - 1, y], fill=(235, 235, 235))
        draw.text((4, y - 6), f"{v:.4g}", fill=(40, 40, 40))
    for s in _ticks(0, steps):
        x, _ = at(s, lo)
        draw.line([x, height - bottom, x, height - bottom + 4], fill=(90, 90, 90))
        draw.text((x - 8, height - bottom + 8), f"{int(s)}", fill=(40, 40, 40))
    draw.line([at(i, v) for i, v in enumerate(values)] if len(values) > 1
              else [at(0, values[0]), at(1, values[0])], fill=(31, 119, 180), width=2)
    if best is not None:
        x, y = at(best, values[best])
        draw.ellipse([x - 4, y - 4, x + 4, y + 4], outline=(214, 39, 40), width=2)
        label = f"best: step {best}, {values[best]:.4g}"
        shift = draw.textlength(label) + 8 if x > width / 2 else -6
        draw.text((x - shift, y - 16), label, fill=(214, 39, 40))
    draw.text((left, 10), title, fill=(0, 0, 0))
    draw.text((width // 2 - 12, height - 20), "step", fill=(40, 40, 40))
    draw.text((4, 10), ylabel, fill=(40, 40, 40))
    im.save(path)
