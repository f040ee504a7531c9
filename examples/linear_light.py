"""Resizing in sRGB values against resizing in linear light (``--linear``), side by side.

Run: ``python examples/linear_light.py [docs/linear.png]`` (needs scikit-image for the photo).
Top: a 1-pixel black and white checkerboard halved (sRGB values average to 128, a grey darker
than the checkerboard looks; linear light gives 188). Bottom: stars of the Hubble deep field
shrunk 4x (averaging sRGB values dims small bright points; linear light keeps their light).
"""

import sys

import numpy as np
from PIL import Image, ImageDraw

import resample


def panel(a, zoom):
    """An image enlarged by pixel replication, for showing pixels."""
    return Image.fromarray(a).resize((a.shape[1] * zoom, a.shape[0] * zoom),
                                     Image.Resampling.NEAREST)


def main(path="docs/linear.png"):
    from skimage import data

    board = (np.indices((48, 48)).sum(axis=0) % 2 * 255).astype(np.uint8)
    board = np.dstack([board] * 3)
    stars = data.hubble_deep_field()[300:556, 400:656]                 # 256x256 RGB
    rows = []
    for title, img, factor, zoom in (("checkerboard, halved", board, 2, 8),
                                     ("Hubble deep field, 1/4", stars, 4, 3)):
        h, w = img.shape[:2]
        plain = resample.resize(img, shape=(h // factor, w // factor), method="box")
        light = resample.resize(img, shape=(h // factor, w // factor), method="box",
                                linear=True)
        rows.append((title, [panel(img, zoom // factor if zoom > factor else 1),
                             panel(plain, zoom), panel(light, zoom)],
                     f"{plain.mean():.0f}", f"{light.mean():.0f}"))
    width = max(sum(p.width for p in r[1]) + 40 for r in rows)
    height = sum(max(p.height for p in r[1]) + 40 for r in rows)
    sheet = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(sheet)
    y = 0
    for title, panels, mean_plain, mean_light in rows:
        x = 10
        labels = ["input", f"sRGB values (mean {mean_plain})",
                  f"--linear (mean {mean_light})"]
        for p, label in zip(panels, labels):
            draw.text((x, y + 6), f"{title}: {label}" if label == "input" else label,
                      fill=(0, 0, 0))
            sheet.paste(p, (x, y + 24))
            x += p.width + 10
        y += max(p.height for p in panels) + 40
    sheet.save(path)
    print(path)


if __name__ == "__main__":
    main(*sys.argv[1:])
