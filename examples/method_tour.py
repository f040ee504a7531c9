"""Draw docs/methods.png: one crop of a real photo upscaled 8x by each method, side by side.

Run: ``python examples/method_tour.py [out.png]`` (needs scikit-image for the photo).
"""

import sys

from PIL import Image, ImageDraw, ImageFont

import resample

METHODS = ["nearest", "bilinear", "bicubic", "mitchell", "lanczos", "gri"]


def main(out="docs/methods.png"):
    from skimage import data

    crop = data.astronaut()[85:133, 180:228]           # 48x48 around an eye: edges and texture
    tiles = [resample.resize(crop, scale=8, method=m) for m in METHODS]
    pad, label = 8, 28
    h, w = tiles[0].shape[:2]
    sheet = Image.new("RGB", (len(tiles) * (w + pad) + pad, h + 2 * pad + label), "white")
    draw = ImageDraw.Draw(sheet)
    try:
        font = ImageFont.load_default(size=20)
    except TypeError:                                   # Pillow < 10.1
        font = ImageFont.load_default()
    for i, (name, tile) in enumerate(zip(METHODS, tiles)):
        x = pad + i * (w + pad)
        sheet.paste(Image.fromarray(tile), (x, pad + label))
        draw.text((x + w // 2, pad + label // 2), name, fill="black", font=font, anchor="mm")
    sheet.save(out, optimize=True)
    print(out)


if __name__ == "__main__":
    main(*sys.argv[1:])
