"""Shrink-on-load: a JPEG shrunk a lot is decoded at 1/2 or 1/4 size (DCT scaling) and the rest
resized, within a level of decoding every pixel; --exact decodes every pixel, bit for bit the
full decode's resize; --sharpen is vipsthumbnail's mild 3x3 mask."""

import numpy as np
import pytest
from PIL import Image

import resample
from resample.jobs import convert
from resample.formats import images
from resample.cli.command import main
from resample.spec.geometry import jpeg_draft_scale
from commands import run

skimage_data = pytest.importorskip("skimage.data")


@pytest.fixture(scope="module")
def camera_jpegs(tmp_path_factory):
    """Real photos enlarged (Lanczos) to camera size, as JPEGs: 2400x1600 and 1600x2400."""
    folder = tmp_path_factory.mktemp("jpegs")
    paths = []
    for name in ("astronaut", "coffee", "chelsea", "rocket"):
        im = Image.fromarray(getattr(skimage_data, name)())
        big = im.resize((2400, 1600), Image.Resampling.LANCZOS)
        if name == "rocket":
            big = big.transpose(Image.Transpose.ROTATE_90)
        path = folder / f"{name}.jpg"
        big.save(path, quality=90)
        paths.append(path)
    return paths


def test_the_decode_scale_rule():
    assert jpeg_draft_scale(4000, 3000, 1600, 1200) == 1          # a 2.5x shrink: all
    assert jpeg_draft_scale(4000, 3000, 1000, 750) == 2
    assert jpeg_draft_scale(4000, 3000, 250, 187) == 4
    assert jpeg_draft_scale(4000, 3000, 250, 188) == 2             # 3000 / 188 < 16
    assert jpeg_draft_scale(4000, 3000, 100, 75) == 4              # never 1/8
    assert jpeg_draft_scale(4000, 3000, 1000, 3000) == 1           # the least shrunk side


def _full(path, shape):
    """The reference: every pixel decoded, then the same resize."""
    return resample.resize(images.load(path).array, shape=shape, method="lanczos",
                           boundary="truncate")


@pytest.mark.parametrize("width", [390, 140])
def test_a_large_shrink_decodes_smaller_within_a_level(camera_jpegs, width):
    for path in camera_jpegs:
        options = convert.Options(method="lanczos", size=f"{width}x")
        pic = convert.load_input(path, options)
        assert pic.source_size == Image.open(path).size
        out_w, out_h = options.output_size(*pic.source_size)
        scale = jpeg_draft_scale(*pic.source_size, out_w, out_h)
        assert scale > 1 and pic.size[0] == -(-pic.source_size[0] // scale)   # smaller
        got = resample.resize(pic.array, shape=(out_h, out_w), method="lanczos",
                              boundary="truncate")
        want = _full(path, (out_h, out_w))
        assert np.abs(got.astype(int) - want).mean() <= 1.0, path.name


def test_exact_is_the_full_decode_bit_for_bit(tmp_path, capsys, camera_jpegs):
    path = camera_jpegs[1]
    for extra, same in (([], False), (["--exact"], True)):
        code, _, err = run(capsys, path, "-o", tmp_path / "o.png", "--size", "300x", "-m",
                           "lanczos", *extra)
        assert code == 0, err
        got = np.asarray(Image.open(tmp_path / "o.png"))
        want = _full(path, got.shape[:2])
        assert np.array_equal(got, want) == same
        assert np.abs(got.astype(int) - want).mean() <= 1.0
    pic = convert.load_input(path, convert.Options(size="300x", exact=True))
    assert pic.size == pic.source_size == Image.open(path).size


def test_the_short_path_and_the_full_path_decode_alike(tmp_path, camera_jpegs):
    """A plain shrink goes through the plain job (resample.jobs.plain); the full job
    (here through a folder run) decodes the same smaller image and writes the same pixels."""
    import subprocess
    import sys

    path = camera_jpegs[0]
    subprocess.run([sys.executable, "-m", "resample", str(path), "-o", str(tmp_path / "q.png"),
                    "--size", "20%"], check=True, capture_output=True)
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / path.name).write_bytes(path.read_bytes())
    assert main([str(folder), "-o", str(tmp_path / "out"), "--size", "20%", "--format",
                 "png", "-q"]) == 0
    a = np.asarray(Image.open(tmp_path / "q.png"))
    b = np.asarray(Image.open(tmp_path / "out" / "astronaut.png"))
    assert a.shape == (320, 480, 3)
    np.testing.assert_array_equal(a, b)


def test_an_exif_turned_jpeg_is_shrunk_in_its_shown_geometry(tmp_path, capsys, camera_jpegs):
    im = Image.open(camera_jpegs[1])                                 # 2400x1600
    exif = Image.Exif()
    exif[274] = 6                                                    # shown 1600x2400
    im.save(tmp_path / "turned.jpg", quality=90, exif=exif.tobytes())
    code, _, err = run(capsys, tmp_path / "turned.jpg", "-o", tmp_path / "o.png", "--size",
                       "200x", "-m", "lanczos")
    assert code == 0, err
    got = np.asarray(Image.open(tmp_path / "o.png"))
    assert got.shape == (300, 200, 3)
    want = _full(tmp_path / "turned.jpg", (300, 200))
    assert np.abs(got.astype(int) - want).mean() <= 1.0


def _sharpen_reference(a):
    """The 3x3 mask applied by plain loops in float64, edges repeated."""
    x = a.astype(np.float64)
    p = np.pad(x, ((1, 1), (1, 1), (0, 0)), mode="edge")
    out = np.zeros_like(x)
    for dr in range(3):
        for dc in range(3):
            w = 32 if (dr, dc) == (1, 1) else -1
            out += w * p[dr:dr + x.shape[0], dc:dc + x.shape[1]]
    return out / 24


def test_mild_sharpening_against_a_plain_reference(tmp_path, capsys):
    rng = np.random.default_rng(3)
    photo = skimage_data.chelsea()[:37, :53]
    want = _sharpen_reference(photo)
    got = images.sharpen_mild(photo)
    np.testing.assert_array_equal(got, np.clip(np.floor(want + 0.5), 0, 255).astype(np.uint8))
    f = rng.uniform(-1, 2, (5, 7, 2)).astype(np.float32)
    np.testing.assert_allclose(images.sharpen_mild(f), _sharpen_reference(f), rtol=1e-5,
                               atol=1e-5)
    rgba = np.dstack([photo, np.full(photo.shape[:2], 77, np.uint8)])
    sharp = images.sharpen_mild(rgba, alpha=True)
    assert (sharp[..., 3] == 77).all()
    np.testing.assert_array_equal(sharp[..., :3], got)
    flat = np.full((4, 4, 3), 200, np.uint8)
    np.testing.assert_array_equal(images.sharpen_mild(flat), flat)   # the mask sums to 1
    Image.fromarray(skimage_data.coffee()).save(tmp_path / "c.png")
    code, _, err = run(capsys, tmp_path / "c.png", "-o", tmp_path / "s.png", "--size", "50%",
                       "--sharpen")
    assert code == 0, err
    code, _, _ = run(capsys, tmp_path / "c.png", "-o", tmp_path / "p.png", "--size", "50%")
    plain = np.asarray(Image.open(tmp_path / "p.png"))
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "s.png")),
                                  images.sharpen_mild(plain))


def _sharpen_in_numpy_float32(a, alpha=False):
    """The mask in NumPy's float32, step by step, as the compiled loop computes it: the three
    rows summed top down, then the three columns left to right, (33 c - box) / 24."""
    x = a.astype(np.float32)
    x = x if x.ndim == 3 else x[..., None]
    colour = x[..., :-1] if alpha else x
    p = np.pad(colour, ((1, 1), (1, 1), (0, 0)), mode="edge")
    rows = p[:-2] + p[1:-1] + p[2:]
    box = rows[:, :-2] + rows[:, 1:-1] + rows[:, 2:]
    sharp = (33 * colour - box) / 24
    if alpha:
        sharp = np.concatenate([sharp, x[..., -1:]], axis=-1)
    top = np.iinfo(a.dtype).max
    out = np.clip(np.floor(sharp + np.float32(0.5)), 0, top).astype(a.dtype)
    return out if a.ndim == 3 else out[..., 0]


@pytest.mark.parametrize("shape", [(37, 53, 3), (1, 1, 3), (1, 9, 4), (9, 1, 2), (20, 31)])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_the_compiled_sharpening_is_numpy_s_float32_arithmetic(shape, dtype):
    photo = skimage_data.astronaut()[100:100 + shape[0], 100:100 + shape[1]].astype(dtype)
    if dtype == np.uint16:
        photo = photo * 257 + np.arange(photo.size).reshape(photo.shape).astype(dtype) % 251
    a = photo if len(shape) == 3 and shape[2] == 3 else (
        photo[..., 0] if len(shape) == 2 else np.dstack([photo] * 2)[..., :shape[2]])
    alpha = a.ndim == 3 and a.shape[2] in (2, 4)
    np.testing.assert_array_equal(images.sharpen_mild(a, alpha), _sharpen_in_numpy_float32(a, alpha))


def _matrix_profile(primaries, gamma, name=b"Wide test RGB"):
    """A minimal ICC v2 display profile: three primaries (D50 XYZ columns) and one gamma."""
    import struct

    def s15(v):
        return struct.pack(">i", round(v * 65536))

    def xyz(x, y, z):
        return b"XYZ \0\0\0\0" + s15(x) + s15(y) + s15(z)

    desc = (b"desc\0\0\0\0" + struct.pack(">I", len(name) + 1) + name + b"\0"
            + b"\0" * 8 + b"\0\0\0" + b"\0" * 67)
    curve = b"curv\0\0\0\0" + struct.pack(">IH", 1, round(gamma * 256)) + b"\0\0"
    tags = [(b"desc", desc), (b"wtpt", xyz(0.9642, 1.0, 0.8249)), (b"rXYZ", xyz(*primaries[0])),
            (b"gXYZ", xyz(*primaries[1])), (b"bXYZ", xyz(*primaries[2])), (b"rTRC", curve),
            (b"gTRC", curve), (b"bTRC", curve), (b"cprt", b"text\0\0\0\0none\0\0\0\0")]
    offset = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for sig, data in tags:
        data += b"\0" * (-len(data) % 4)
        table += sig + struct.pack(">II", offset + len(body), len(data))
        body += data
    size = offset + len(body)
    header = (struct.pack(">I", size) + b"\0" * 4 + bytes([2, 0x10, 0, 0]) + b"mntrRGB XYZ "
              + b"\0" * 12 + b"acsp" + b"\0" * 24 + b"\0" * 4 + s15(0.9642) + s15(1.0)
              + s15(0.8249) + b"\0" * 48)
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + body


ADOBE_D50 = [(0.6097, 0.3111, 0.0195), (0.2053, 0.6257, 0.0609), (0.1492, 0.0632, 0.7446)]
SRGB_D50 = [(0.4361, 0.2225, 0.0139), (0.3851, 0.7169, 0.0971), (0.1431, 0.0606, 0.7141)]


def test_srgb_converts_a_wide_gamut_picture(tmp_path, capsys):
    """--srgb: colours of an image tagged with a wide-gamut profile (Adobe RGB's primaries and
    gamma) are converted as its primaries say (checked against the matrix arithmetic), and
    the output is tagged sRGB; without --srgb the values and the profile are carried."""
    icc = _matrix_profile(ADOBE_D50, 563 / 256)
    rng = np.random.default_rng(0)
    a = rng.integers(20, 236, (40, 60, 3), dtype=np.uint8)
    a[:20] = (a[:20] // 40) * 40 + 20                                  # some flat patches
    Image.fromarray(a).save(tmp_path / "wide.png", icc_profile=icc)
    code, _, err = run(capsys, tmp_path / "wide.png", "-o", tmp_path / "s.png", "--scale", "1",
                       "--srgb")
    assert code == 0 and "converted from Wide test RGB to sRGB" in err, err
    out = Image.open(tmp_path / "s.png")
    assert images.is_srgb(out.info.get("icc_profile"))
    linear = (a / 255.0) ** (563 / 256)
    rgb = linear @ np.array(ADOBE_D50) @ np.linalg.inv(np.array(SRGB_D50))
    rgb = np.clip(rgb, 0, 1)
    want = np.where(rgb <= 0.0031308, 12.92 * rgb, 1.055 * rgb ** (1 / 2.4) - 0.055) * 255
    got = np.asarray(out).astype(float)
    assert np.abs(got - want).max() <= 2.5 and np.abs(got - a).mean() > 5
    code, _, err = run(capsys, tmp_path / "wide.png", "-o", tmp_path / "p.png", "--scale", "1")
    assert Image.open(tmp_path / "p.png").info.get("icc_profile") == icc
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "p.png")), a)


def _jpeg_with_exif_thumbnail(path, photo, thumb):
    """A JPEG of ``photo`` whose EXIF holds ``thumb`` as its IFD1 thumbnail."""
    import io
    import struct

    buf = io.BytesIO()
    Image.fromarray(thumb).save(buf, "JPEG", quality=90)
    data = buf.getvalue()
    ifd0 = struct.pack("<H", 1) + struct.pack("<HHII", 0x0112, 3, 1, 1) + struct.pack("<I", 26)
    ifd1 = (struct.pack("<H", 2) + struct.pack("<HHII", 0x0201, 4, 1, 56)
            + struct.pack("<HHII", 0x0202, 4, 1, len(data)) + struct.pack("<I", 0))
    tiff = b"II*\0" + struct.pack("<I", 8) + ifd0 + ifd1
    assert len(tiff) == 56
    Image.fromarray(photo).save(path, quality=90, exif=b"Exif\0\0" + tiff + data)


def test_an_exif_thumbnail_only_on_request_and_only_when_big_enough(tmp_path, capsys):
    photo = np.asarray(Image.fromarray(skimage_data.chelsea()).resize((1200, 800)))
    thumb = 255 - np.asarray(Image.fromarray(photo).resize((160, 107)))   # told apart
    _jpeg_with_exif_thumbnail(tmp_path / "cam.jpg", photo, thumb)
    for size, extra, used in (("60x", ["--exif-thumbnail"], True), ("60x", [], False),
                              ("100x", ["--exif-thumbnail"], False),
                              ("60x", ["--exif-thumbnail", "--exact"], False)):
        code, _, err = run(capsys, tmp_path / "cam.jpg", "-o", tmp_path / "o.png", "--size",
                           size, *extra)
        assert code == 0, err
        got = np.asarray(Image.open(tmp_path / "o.png")).astype(int)
        plain = resample.resize(photo, shape=got.shape[:2], boundary="truncate").astype(int)
        assert (np.abs(got - plain).mean() > 60) == used, (size, extra)
        assert ("EXIF thumbnail" in err) == used
