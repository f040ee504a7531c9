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
        fast, alpha = images.fast_decode(str(path), im)
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
        assert images.fast_decode(str(path), im) == (None, False)
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


# ---- what a format without alpha or 16 bits is given: the compiled loops both jobs use,
# against NumPy's float arithmetic for the same formulas (the slow, obvious reference)

def _flatten_reference(a):
    top = float(np.iinfo(a.dtype).max)
    w = a[..., -1:].astype(np.float32) / np.float32(top)
    x = a[..., :-1].astype(np.float32) * w + np.float32(top) * (np.float32(1.0) - w)
    return np.clip(np.floor(x + np.float32(0.5)), 0, top).astype(a.dtype)


def test_alpha_is_flattened_onto_white_as_numpy_computes_it():
    from resample.compiled import core

    c, a = np.meshgrid(np.arange(256), np.arange(256))          # every 8-bit pair
    for pixels in (np.dstack([c, a]).astype(np.uint8),
                   np.dstack([c, 255 - c, c // 2, a]).astype(np.uint8),
                   np.random.default_rng(1).integers(0, 65536, (300, 301, 4)).astype(np.uint16),
                   np.random.default_rng(2).integers(0, 65536, (7, 5, 2)).astype(np.uint16)):
        out = np.empty(pixels.shape[:-1] + (pixels.shape[-1] - 1,), pixels.dtype)
        core.flatten_alpha(pixels, pixels.shape[-1], out)
        np.testing.assert_array_equal(out, _flatten_reference(pixels))
    assert out.dtype == np.uint16
    opaque, clear = np.array([[[10, 255]]], np.uint8), np.array([[[10, 0]]], np.uint8)
    for px, want in ((opaque, 10), (clear, 255)):
        got = np.empty((1, 1, 1), np.uint8)
        core.flatten_alpha(px, 2, got)
        assert got[0, 0, 0] == want


def test_16_bit_samples_are_reduced_as_numpy_computes_it():
    from resample.compiled import core

    every = np.arange(65536, dtype=np.uint16).reshape(256, 256)
    out = np.empty(every.shape, np.uint8)
    core.reduce_to_8bit(every, out)
    want = np.clip(np.floor(every.astype(np.float64) * (255.0 / 65535) + 0.5), 0, 255)
    np.testing.assert_array_equal(out, want.astype(np.uint8))
    assert out[0, 0] == 0 and out[-1, -1] == 255 and out[0, 128] == 0 and out[0, 129] == 1


def test_icc_descriptions_are_read_as_littlecms_reads_them():
    """files.icc_description (both jobs' --linear and --srgb notes, without LittleCMS): v4
    'mluc' profiles as LittleCMS names them, a v2 'desc' text, and damaged bytes."""
    import io
    import struct

    from PIL import ImageCms

    from resample.formats import files
    for name in ("sRGB", "XYZ"):
        icc = ImageCms.ImageCmsProfile(ImageCms.createProfile(name)).tobytes()
        want = ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc)))
        assert files.icc_description(icc) == want.strip() != ""
    text = b"Adobe RGB (1998)\0"
    desc = b"desc" + bytes(4) + struct.pack(">I", len(text)) + text
    v2 = bytearray(128) + struct.pack(">I", 1) + b"desc" + struct.pack(">II", 144, len(desc))
    v2 += desc
    assert files.icc_description(bytes(v2)) == "Adobe RGB (1998)"
    assert not files.is_srgb(bytes(v2)) and files.is_srgb(None)
    assert "(Adobe RGB (1998)) is not sRGB" in files.linear_light_notes(bytes(v2))[0]
    for damaged in (b"", b"garbage", bytes(200), bytes(v2[:150])):
        assert files.icc_description(damaged) == ""
