"""The fast decoders (imagecodecs for JPEG and 8-bit PNG) give Pillow's pixels exactly, and
leave every doubtful file to Pillow."""

import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from resample import ResampleError, images

skimage_data = pytest.importorskip("skimage.data")


def _photo(mode):
    rgb = skimage_data.chelsea()[::2, ::2]                       # 150x226 real photo
    if mode == "L":
        return rgb[..., 1]
    if mode == "LA":
        return np.dstack([rgb[..., 1], rgb[..., 0]])
    if mode == "RGBA":
        return np.dstack([rgb, rgb[..., 2]])
    return rgb


@pytest.mark.parametrize("fmt, mode, kwargs", [
    ("JPEG", "L", {}), ("JPEG", "RGB", {}), ("JPEG", "RGB", {"progressive": True}),
    ("JPEG", "RGB", {"subsampling": 0, "quality": 98}),
    ("PNG", "L", {}), ("PNG", "LA", {}), ("PNG", "RGB", {}), ("PNG", "RGBA", {}),
    ("PNG", "RGB", {"optimize": True}),
])
def test_fast_decode_gives_pillows_pixels(tmp_path, fmt, mode, kwargs):
    path = tmp_path / f"x.{fmt.lower()}"
    Image.fromarray(_photo(mode), mode=mode).save(path, format=fmt, **kwargs)
    with Image.open(path) as im:
        fast, alpha = images._fast_decode(str(path), im)
        assert fast is not None                         # the fast path was taken
        expected = np.asarray(im.convert(mode))
    np.testing.assert_array_equal(fast, expected)
    assert alpha == (mode in ("LA", "RGBA"))
    np.testing.assert_array_equal(images.load(path).array, expected)


def test_truncated_jpeg_is_still_refused(tmp_path):
    path = tmp_path / "cut.jpg"
    Image.fromarray(_photo("RGB")).save(path, quality=90)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 3 // 4])
    with pytest.raises(ResampleError, match="truncated"):
        images.load(path)


def test_png_with_transparency_key_goes_to_pillow(tmp_path):
    path = tmp_path / "key.png"
    Image.fromarray(_photo("RGB")).save(path, transparency=(0, 0, 0))
    with Image.open(path) as im:
        assert images._fast_decode(str(path), im) == (None, False)
    assert images.load(path).array.shape[2] == 3


def _chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def test_png_exif_after_the_pixels_is_found(tmp_path):
    """An eXIf chunk after IDAT (allowed by the PNG spec) still turns the image."""
    a = _photo("RGB")
    plain = tmp_path / "plain.png"
    Image.fromarray(a).save(plain)
    exif = Image.Exif()
    exif[0x0112] = 6                                     # rotate 90 degrees clockwise
    data = plain.read_bytes()
    iend = data.rindex(b"IEND") - 4
    path = tmp_path / "late-exif.png"
    path.write_bytes(data[:iend] + _chunk(b"eXIf", exif.tobytes()[6:]) + data[iend:])
    pic = images.load(path)
    np.testing.assert_array_equal(pic.array, np.rot90(a, -1))
    assert any("orientation 6" in n for n in pic.notes)
