"""The fast decoders (imagecodecs for JPEG and 8-bit PNG) give Pillow's pixels exactly, and
leave every doubtful file to Pillow."""

import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from resample import ResampleError
from resample.formats import images

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


@pytest.mark.parametrize("mode", ["L", "LA", "RGB", "RGBA", "L16", "RGB16", "RGBA16"])
def test_png_writer_round_trips_through_independent_decoders(tmp_path, mode):
    import imagecodecs

    base = _photo(mode.rstrip("16"))
    a = base.astype(np.uint16) * 257 + 3 if mode.endswith("16") else base
    path = tmp_path / "out.png"
    with open(path, "wb") as f:
        images.write_png(f, a, icc=b"not-a-real-profile", dpi=(300, 150),
                         exif=Image.Exif().tobytes() if mode == "L" else None)
    np.testing.assert_array_equal(imagecodecs.png_decode(path.read_bytes()), a)
    with Image.open(path) as im:
        if a.dtype == np.uint8:
            np.testing.assert_array_equal(np.asarray(im), a)
        assert im.info["icc_profile"] == b"not-a-real-profile"
        assert tuple(round(d) for d in im.info["dpi"]) == (300, 150)


def test_png_writer_filters_adaptively_and_compresses_like_pillow(tmp_path):
    import io

    a = skimage_data.astronaut()
    ours, theirs = io.BytesIO(), io.BytesIO()
    images.write_png(ours, a)
    Image.fromarray(a).save(theirs, format="PNG")
    assert len(ours.getvalue()) < 1.05 * len(theirs.getvalue())
    data = ours.getvalue()
    idat = data[data.index(b"IDAT") + 4:data.index(b"IEND") - 8]
    raw = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(512, -1)
    assert len(set(raw[:, 0].tolist())) >= 3                # several filters chosen, per row
