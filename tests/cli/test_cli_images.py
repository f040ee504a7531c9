"""The resample command and image files: modes, depths, metadata, and bad input."""

import io
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from resample.formats import images, png
import resample
from resample import ResampleError
from resample.cli.command import main
from resample.spec.geometry import parse_geometry
from commands import run

skimage_data = pytest.importorskip("skimage.data")


@pytest.fixture(scope="module")
def photo():
    return skimage_data.astronaut()[::4, ::4].copy()     # 128x128 RGB


def _no_leftovers(folder):
    return [p for p in os.listdir(folder) if p.startswith(".resample-")] == []


def test_main_job_and_default_name(tmp_path, capsys, photo):
    src = tmp_path / "in.png"
    Image.fromarray(photo).save(src)
    code, out, err = run(capsys, src, "--method", "gri", "--scale", "2")
    assert code == 0, err
    made = tmp_path / "in-gri-256x256.png"
    assert out.strip() == str(made)
    assert Image.open(made).size == (256, 256)


@pytest.mark.parametrize("size, expected", [
    ("64x64", (64, 32)), ("64x64!", (64, 64)), ("50%", (100, 50)), ("60x", (60, 30)),
    ("x20", (40, 20)), ("300x10", (20, 10)), ("80", (80, 40)),
    # ImageMagick's fill, shrink-only, enlarge-only and per-side percentages
    ("64x64^", (128, 64)), ("300x300^", (600, 300)), ("100x100>", (100, 50)),
    ("400x400>", (200, 100)), ("100x100<", (200, 100)), ("400x400<", (400, 200)),
    ("150x50!>", (150, 50)), ("300x50!>", (200, 50)), ("300x50!<", (300, 100)),
    ("50%x25%", (100, 25)), ("50x25%", (100, 25)), ("150%>", (200, 100)),
    ("50%>", (100, 50)), ("25%<", (200, 100))])
def test_geometry(size, expected):
    assert parse_geometry(size, 200, 100) == expected


@pytest.mark.slow
def test_percentages_round_as_imagemagick_does():
    """N% of a side is ImageMagick's floor(N * side / 100 + 0.5) in exact arithmetic, for every
    integer percent 1-1000 over many sides (in floating point, 50 * 0.29 is 14.499999999999998
    and 29% of 50 came out 14); decimal percents are exact too."""
    from resample.spec.geometry import parse_geometry as parse

    sides = list(range(1, 257)) + [333, 999, 1000, 1001, 4096, 4999, 5000]
    for p in range(1, 1001):
        for n in sides:
            want = max(1, (2 * p * n + 100) // 200)
            assert parse(f"{p}%", n, n) == (want, want), (p, n)
    assert parse("29%", 50, 50) == (15, 15) and parse("33.3%", 50, 50) == (17, 17)
    assert parse("12.5%x37.5%", 4, 4) == (1, 2)          # 0.5 and 1.5: halves round up


@pytest.mark.parametrize("size", ["0x10", "abc", "10x0", "", "x", "-5x5", "0%", "10.5x20",
                                  "10x10<>", "10x10!^", "x50%", "50%x10%!", "10x10>>",
                                  # ! and ^ on one side: refused, not silently ignored
                                  "100x^", "x100^", "100!", "x100!", "100^"])
def test_bad_geometry(size):
    with pytest.raises(ResampleError):
        parse_geometry(size, 200, 100)
    Image.new("RGB", (20, 10)).save("in.png")                       # the command: exit 2
    assert main(["in.png", "-o", "o.png", "--size", size]) == 2


@pytest.mark.parametrize("mode", ["L", "LA", "RGB", "RGBA"])
def test_modes_round_trip(tmp_path, capsys, photo, mode):
    src = tmp_path / f"in_{mode}.png"
    im = Image.fromarray(photo)
    if "A" in mode:
        im.putalpha(Image.fromarray(np.tile(np.arange(128, dtype=np.uint8) * 2, (128, 1))))
    im.convert(mode).save(src)
    dst = tmp_path / "out.png"
    code, _, err = run(capsys, src, "-o", dst, "--size", "50x70!", "--method", "lanczos")
    assert code == 0, err
    out = Image.open(dst)
    assert out.mode == mode and out.size == (50, 70)


def test_alpha_is_premultiplied(tmp_path, capsys):
    # Left half: transparent red.  Right half: opaque blue.  No red may bleed into the blue.
    a = np.zeros((8, 16, 4), np.uint8)
    a[:, :8] = [255, 0, 0, 0]
    a[:, 8:] = [0, 0, 255, 255]
    src, dst = tmp_path / "a.png", tmp_path / "b.png"
    Image.fromarray(a, "RGBA").save(src)
    assert run(capsys, src, "-o", dst, "--scale", "4", "--method", "bicubic")[0] == 0
    out = np.asarray(Image.open(dst))
    visible = out[..., 3] > 0
    assert visible.any() and (out[..., 0][visible] == 0).all()


def _cv2():
    return pytest.importorskip("cv2")


@pytest.mark.parametrize("ext", ["png", "tif"])
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_sixteen_bit_stays_sixteen_bit(tmp_path, capsys, ext, channels):
    cv2 = _cv2()
    rng = np.random.default_rng(channels)
    base = np.linspace(0, 65535, 40 * 60).reshape(40, 60)
    a = np.stack([base] * channels, -1) + rng.integers(0, 3, size=(40, 60, channels))
    a = np.clip(a, 0, 65535).astype(np.uint16)
    src, dst = tmp_path / f"a.{ext}", tmp_path / f"b.{ext}"
    bgr = [2, 1, 0, 3][:channels] if channels > 1 else [0]
    cv2.imwrite(str(src), a[..., bgr])                       # OpenCV writes BGR(A)
    code, _, err = run(capsys, src, "-o", dst, "--scale", "0.5", "--method", "bilinear")
    assert code == 0, err
    back = cv2.imread(str(dst), cv2.IMREAD_UNCHANGED)
    assert back.dtype == np.uint16 and back.shape[:2] == (20, 30)
    back = back[..., bgr] if channels > 1 else back[..., None]
    import resample

    expected = resample.resize(a.astype(np.float64), shape=(20, 30), method="bilinear",
                               boundary="truncate")          # the command's default
    if channels == 4:   # premultiplied, alpha is opaque-ish: compare the alpha channel only
        expected, back = expected[..., 3:], back[..., 3:]
    assert np.abs(back.astype(np.float64) - expected).max() <= 1.0


def test_png16_codec_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    for channels in (2, 3, 4):
        a = rng.integers(0, 65536, size=(7, 9, channels)).astype(np.uint16)
        path = tmp_path / f"x{channels}.png"
        with open(path, "wb") as f:
            images.write_png(f, a, icc=b"fake-profile", dpi=(300, 300))
        assert png.is_16bit_colour(path)
        back, icc, dpi = images.read_png(path)
        np.testing.assert_array_equal(back, a)
        assert icc == b"fake-profile" and round(dpi[0]) == 300
    # and against an independent encoder's filters (OpenCV uses adaptive filtering)
    cv2 = _cv2()
    a = (np.add.outer(np.arange(50), np.arange(70)) * 300 % 65536).astype(np.uint16)
    a = np.stack([a, a[::-1], a[:, ::-1]], -1)
    cv2.imwrite(str(tmp_path / "cv.png"), a)                          # written as BGR
    np.testing.assert_array_equal(images.read_png(tmp_path / "cv.png")[0], a[..., ::-1])


def test_float_tiff_stays_float(tmp_path, capsys):
    a = np.linspace(-1, 2, 30 * 20, dtype=np.float32).reshape(30, 20)
    src, dst = tmp_path / "f.tif", tmp_path / "g.tif"
    Image.fromarray(a, "F").save(src)
    assert run(capsys, src, "-o", dst, "--scale", "2", "--method", "bicubic")[0] == 0
    back = np.asarray(Image.open(dst))
    assert back.dtype == np.float32 and back.shape == (60, 40)
    import resample

    np.testing.assert_array_equal(back, resample.resize(a, shape=(60, 40), method="bicubic",
                                                        boundary="truncate"))
    # into a format without floats: 0-1 to 16 bits (PNG) or 8 (JPEG, WebP), with a note
    # that says how much lay outside 0-1 (a web-export folder run must not stop on it)
    ramp = np.linspace(0, 1, 30 * 20, dtype=np.float32).reshape(30, 20)
    Image.fromarray(ramp, "F").save(src)
    code, _, err = run(capsys, src, "-o", tmp_path / "g.png", "--scale", "2", "--overwrite")
    assert code == 0 and "converted float32 samples to 16 bits for PNG, taken as 0-1" in err
    assert "outside" not in err
    want = resample.resize(ramp, shape=(60, 40), method="bilinear")
    np.testing.assert_array_equal(images.read_png(tmp_path / "g.png")[0][..., 0],
                                  np.clip(np.floor(want.astype(np.float64) * 65535 + 0.5),
                                          0, 65535).astype(np.uint16))
    Image.fromarray(a, "F").save(src)        # -1 to 2: over 1, so taken as 0-255
    code, _, err = run(capsys, src, "-o", tmp_path / "g.jpg", "--scale", "2")
    assert code == 0 and "to 8 bits for JPEG, taken as 0-255 (their largest is over 1)" in err
    assert "% of them outside 0-255, clipped" in err


@pytest.mark.parametrize("mode", ["P", "1"])
def test_palette_and_bilevel_are_converted_with_a_note(tmp_path, capsys, photo, mode):
    src, dst = tmp_path / "p.png", tmp_path / "q.png"
    Image.fromarray(photo).convert(mode).save(src)
    code, _, err = run(capsys, src, "-o", dst, "--scale", "0.5")
    assert code == 0 and f"converted {mode} image" in err
    assert Image.open(dst).mode in ("RGB", "L")


def test_exif_orientation_applied_and_metadata_carried(tmp_path, capsys, photo):
    im = Image.fromarray(photo[:, :100])           # 128 rows x 100 cols
    exif = Image.Exif()
    exif[0x0112] = 6                               # rotate 90 degrees clockwise to display
    icc = b"\0\0\0\x10not-a-real-profile"
    src, dst = tmp_path / "o.jpg", tmp_path / "p.png"
    im.save(src, exif=exif, icc_profile=icc, dpi=(300, 300), quality=95)
    code, _, err = run(capsys, src, "-o", dst, "--scale", "1")
    assert code == 0 and "orientation 6" in err
    out = Image.open(dst)
    assert out.size == (128, 100)                  # displayed: wide
    assert out.info.get("icc_profile") == icc
    assert round(out.info["dpi"][0]) == 300
    assert out.getexif().get(0x0112, 1) == 1
    shown = np.asarray(out).astype(int)
    right = np.abs(shown - np.asarray(im.transpose(Image.Transpose.ROTATE_270))).mean()
    wrong = np.abs(shown - np.asarray(im.transpose(Image.Transpose.ROTATE_90))).mean()
    assert right < 6 and wrong > 4 * right                # JPEG loss only


def test_output_format_follows_extension(tmp_path, capsys, photo):
    src = tmp_path / "in.png"
    Image.fromarray(photo).save(src)
    for ext, fmt in [("jpg", "JPEG"), ("webp", "WEBP"), ("tif", "TIFF"), ("bmp", "BMP")]:
        dst = tmp_path / f"out.{ext}"
        assert run(capsys, src, "-o", dst, "--scale", "0.5")[0] == 0
        assert Image.open(dst).format == fmt


def test_paths_with_spaces_and_non_ascii(tmp_path, capsys, photo):
    folder = tmp_path / "my photos ü"
    folder.mkdir()
    src = folder / "été 1.png"
    Image.fromarray(photo).save(src)
    code, out, _ = run(capsys, src, "--scale", "0.5")
    assert code == 0 and os.path.exists(out.strip())


# --- bad input ----------------------------------------------------------------------------------

def _bad_files(tmp_path, photo):
    good = tmp_path / "good.png"
    Image.fromarray(photo).save(good)
    data = good.read_bytes()
    files = {"empty.png": b"", "text.jpg": b"this is not a picture\n",
             "truncated.png": data[: len(data) // 3], "garbage.png": data[:40] + b"\0" * 500}
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
    return good, [tmp_path / n for n in files]


def _one_line_error(err):
    lines = err.strip().splitlines()
    return len(lines) == 1 and lines[0].startswith("resample: error:") and "Traceback" not in err


def test_bad_files_fail_cleanly(tmp_path, capsys, photo):
    _, bad = _bad_files(tmp_path, photo)
    for path in bad + [tmp_path / "missing.png"]:
        dst = tmp_path / "out.png"
        code, out, err = run(capsys, path, "-o", dst, "--scale", "2")
        assert code == 1 and _one_line_error(err), (path, err)
        assert str(path.name) in err and not dst.exists() and _no_leftovers(tmp_path)


def test_the_output_after_the_input_and_several_inputs_into_a_folder(tmp_path, capsys, photo):
    """`resample IN OUT` as convert and vips take it; never onto a file that exists without
    --overwrite (a shell glob of two images must not write one onto the other); three or more
    inputs need -o DIR/, where each goes under its own name (mogrify -path)."""
    a, b, c = (tmp_path / n for n in ("a.png", "b.png", "c.png"))
    for path in (a, b, c):
        Image.fromarray(photo).save(path)
    before = b.read_bytes()
    out = tmp_path / "half.jpg"
    code, said, err = run(capsys, a, out, "--scale", "0.5")
    assert code == 0 and said.strip() == str(out)
    assert Image.open(out).size == (photo.shape[1] // 2, photo.shape[0] // 2)
    code, _, err = run(capsys, a, b, "--scale", "0.5")
    assert code == 2 and _one_line_error(err) and "b.png exists" in err and "--overwrite" in err
    assert b.read_bytes() == before
    code, _, err = run(capsys, a, b, c, "--scale", "0.5")
    assert code == 2 and _one_line_error(err) and "3 inputs: give -o DIR/" in err
    code, _, err = run(capsys, a, b, c, "-o", tmp_path / "small", "--scale", "0.5", "-q")
    assert code == 0, err
    assert sorted(os.listdir(tmp_path / "small")) == ["a.png", "b.png", "c.png"]
    # files, then a folder last (as cp); a folder among the inputs is refused
    code, _, err = run(capsys, a, b, c, str(tmp_path / "last") + "/", "--scale", "0.5", "-q")
    assert code == 0 and sorted(os.listdir(tmp_path / "last")) == ["a.png", "b.png", "c.png"]
    code, _, err = run(capsys, a, tmp_path / "small", "-o", tmp_path / "x/", "--scale", "0.5")
    assert code == 2 and "a folder among the inputs" in err and not (tmp_path / "x").exists()
    code, _, err = run(capsys, a, "--method", "linear", "-o", tmp_path / "l.png", "--scale", "2")
    assert code == 0 and Image.open(tmp_path / "l.png").size == (2 * photo.shape[1],
                                                                 2 * photo.shape[0])


@pytest.mark.parametrize("args", [
    ["--scale", "0"], ["--scale", "-1"], ["--scale", "nan"], ["--scale", "inf"],
    ["--scale", "abc"], ["--size", "0x10"], ["--size", "abc"], ["--scale", "2", "--size", "5x5"],
    [], ["--scale", "2", "--method", "cubical"], ["--scale", "2", "--boundary", "clamp"],
    ["--scale", "2", "--device", "tpu"], ["--scale", "2", "--fill", "x"],
    ["--scale", "2", "-o", "out.xyz"], ["--scale", "2", "--bogus"]])
def test_usage_errors_exit_2(tmp_path, capsys, photo, args):
    src = tmp_path / "in.png"
    Image.fromarray(photo).save(src)
    before = sorted(os.listdir(tmp_path))
    code, out, err = run(capsys, src, *[a if a != "out.xyz" else tmp_path / a for a in args])
    assert code == 2 and _one_line_error(err), err
    assert sorted(os.listdir(tmp_path)) == before


def test_runtime_errors_exit_1(tmp_path, capsys, photo):
    src = tmp_path / "in.png"
    Image.fromarray(photo).save(src)
    # (too big for memory, these would stream: the disk cannot hold them either)
    for args, match in [(["--scale", "1000000"], "of disk"),
                        (["--size", "40000000x40000000!"], "of disk"),
                        (["--scale", "2", "-o", tmp_path / "no" / "such" / "x.png"], "does not exist")]:
        code, _, err = run(capsys, src, *args)
        assert code == 1 and _one_line_error(err) and match in err, err
    assert _no_leftovers(tmp_path)


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_output_folder(tmp_path, capsys, photo):
    src = tmp_path / "in.png"
    Image.fromarray(photo).save(src)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        code, _, err = run(capsys, src, "-o", locked / "x.png", "--scale", "2")
        assert code == 1 and _one_line_error(err)
    finally:
        locked.chmod(0o700)


def test_unwritable_output_file(tmp_path, capsys, photo):
    src = tmp_path / "in.png"
    Image.fromarray(photo).save(src)
    (tmp_path / "afile").write_text("x")
    target = tmp_path / "afile" / "out.png"         # a file where its folder would be
    code, _, err = run(capsys, src, "-o", target, "--scale", "2")
    assert code == 1 and _one_line_error(err)
    assert _no_leftovers(tmp_path)
    # an existing folder named like a file is a folder: the output goes into it
    (tmp_path / "dir.png").mkdir()
    code, out, err = run(capsys, src, "-o", tmp_path / "dir.png", "--scale", "2")
    assert code == 0 and out.strip() == str(tmp_path / "dir.png" / "in.png")


def test_input_is_never_overwritten_without_asking(tmp_path, capsys, photo):
    src = tmp_path / "in.png"
    Image.fromarray(photo).save(src)
    before = src.read_bytes()
    for target in [src, tmp_path / "." / "in.png"]:
        code, _, err = run(capsys, src, "-o", target, "--scale", "2")
        assert code == 2 and "--overwrite" in err and src.read_bytes() == before
    code, _, _ = run(capsys, src, "-o", src, "--scale", "2", "--overwrite")
    assert code == 0 and Image.open(src).size == (256, 256)


def test_help_is_light_and_has_examples():
    # (The compiled engine is imported: it holds the one list of the methods' and boundaries'
    # names, kernels/common/taps.h's; about 2 ms.  NumPy is not.)
    code = ("import sys, resample.cli.command; "
            "assert 'numpy' not in sys.modules, sorted(sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True)
    out = subprocess.run([sys.executable, "-m", "resample", "--help"], check=True,
                         capture_output=True, text=True).stdout
    assert "Examples:" in out and "--method gri --scale 2" in out


def test_console_script_no_traceback(tmp_path):
    exe = os.path.join(os.path.dirname(sys.executable), "resample")
    if not os.path.exists(exe):
        pytest.skip("console script not installed beside this Python")
    res = subprocess.run([exe, str(tmp_path / "missing.png"), "--scale", "2"],
                         capture_output=True, text=True)
    assert res.returncode == 1 and _one_line_error(res.stderr)


def test_quality_sets_jpeg_and_webp_quality(tmp_path, capsys, photo):
    src = tmp_path / "in.png"
    Image.fromarray(photo).save(src)
    sizes = {}
    for ext in ("jpg", "webp"):
        for q in ("30", None):
            out = tmp_path / f"q{q}.{ext}"
            args = [src, "-o", out, "--scale", "2"] + (["--quality", q] if q else [])
            assert run(capsys, *args)[0] == 0
            sizes[ext, q] = out.stat().st_size
        assert sizes[ext, "30"] < 0.6 * sizes[ext, None]            # default 95
    code, _, err = run(capsys, src, "-o", tmp_path / "x.jpg", "--scale", "2", "--quality", "0")
    assert code == 2 and "--quality" in err


def _png_bomb(path, side=200_000):
    """A tiny PNG whose header declares side x side RGB pixels (a decompression bomb)."""
    import struct
    import zlib

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(
            ">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
                     + chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b""))


def test_decompression_bomb_is_refused_quickly(tmp_path):
    bomb = tmp_path / "bomb.png"
    _png_bomb(bomb)
    out = tmp_path / "out.png"
    result = subprocess.run([sys.executable, "-m", "resample", str(bomb), "-o", str(out),
                             "--scale", "0.5"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and _one_line_error(result.stderr), result.stderr
    assert "decompression-bomb limit" in result.stderr and "bomb.png" in result.stderr
    assert not out.exists() and _no_leftovers(tmp_path)
    # in a folder, the bomb fails alone
    folder = tmp_path / "in"
    folder.mkdir()
    bomb.rename(folder / "bomb.png")
    result = subprocess.run([sys.executable, "-m", "resample", str(folder), "-o",
                             str(tmp_path / "o"), "--scale", "0.5", "-q"], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 1 and "decompression-bomb limit" in result.stderr


def test_shrink_only_leaves_small_images_as_they_are(tmp_path, capsys, photo):
    """--size 'WxH>': a larger image is shrunk; one already within it is copied byte for byte
    into the same format (nothing decoded: a damaged body does not matter), converted without
    resizing into another, and a note says which; in a folder, each file as alone."""
    big, small = tmp_path / "big.png", tmp_path / "small.png"
    Image.fromarray(photo).save(big)                          # 128x128
    Image.fromarray(photo[:40, :60]).save(small)               # 60x40
    code, out, err = run(capsys, big, "--size", "100x100>", "-o", tmp_path / "b.png")
    assert code == 0 and Image.open(tmp_path / "b.png").size == (100, 100)
    assert "left as it is" not in err
    code, out, err = run(capsys, small, "--size", "100x100>", "-o", tmp_path / "s.png")
    assert code == 0, err
    assert (tmp_path / "s.png").read_bytes() == small.read_bytes()
    assert "left as it is by --size 100x100>: copied unchanged" in err
    code, out, err = run(capsys, small, "--size", "100x100>", "-o", tmp_path / "s.jpg")
    assert code == 0 and Image.open(tmp_path / "s.jpg").size == (60, 40)
    assert "not resized, only converted to JPEG" in err
    # the default name says the size it has
    code, out, err = run(capsys, small, "--size", "100x100>")
    assert code == 0 and out.strip() == str(tmp_path / "small-bilinear-60x40.png")
    # nothing decoded: a file whose pixel data is damaged is still copied
    data = small.read_bytes()
    damaged = tmp_path / "damaged.png"
    damaged.write_bytes(data[:len(data) // 2])
    code, out, err = run(capsys, damaged, "--size", "100x100>", "-o", tmp_path / "d.png")
    assert code == 0 and (tmp_path / "d.png").read_bytes() == damaged.read_bytes()
    # '<' enlarges only
    code, out, err = run(capsys, small, "--size", "100x100<", "-o", tmp_path / "e.png")
    assert code == 0 and Image.open(tmp_path / "e.png").size == (100, 67)
    code, out, err = run(capsys, big, "--size", "100x100<", "-o", tmp_path / "f.png")
    assert code == 0 and (tmp_path / "f.png").read_bytes() == big.read_bytes()
    # a folder: the small file copied, the big one shrunk
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "big.png").write_bytes(big.read_bytes())
    (folder / "small.png").write_bytes(small.read_bytes())
    code, out, err = run(capsys, folder, "-o", tmp_path / "out", "--size", "100x100>", "-j", "1")
    assert code == 0, err
    assert (tmp_path / "out" / "small.png").read_bytes() == small.read_bytes()
    assert Image.open(tmp_path / "out" / "big.png").size == (100, 100)


def test_fill_geometry_covers_the_box(tmp_path, capsys, photo):
    src = tmp_path / "in.png"
    Image.fromarray(photo[:, :96]).save(src)                   # 96x128
    code, out, err = run(capsys, src, "--size", "64x64^", "-o", tmp_path / "o.png")
    assert code == 0 and Image.open(tmp_path / "o.png").size == (64, 85)


def test_output_into_a_folder_and_missing_inputs(tmp_path, capsys, photo):
    """-o DIR/ (an existing folder, or a name ending in /) writes DIR/<input name>; a missing
    input says so, whatever -o is."""
    src = tmp_path / "in.png"
    Image.fromarray(photo).save(src)
    (tmp_path / "out").mkdir()
    code, out, err = run(capsys, src, "-o", tmp_path / "out", "--scale", "0.5")
    assert code == 0 and out.strip() == str(tmp_path / "out" / "in.png"), err
    assert Image.open(tmp_path / "out" / "in.png").size == (64, 64)
    code, out, err = run(capsys, src, "-o", f"{tmp_path / 'new'}/", "--scale", "0.5")
    assert code == 0 and Image.open(tmp_path / "new" / "in.png").size == (64, 64)
    code, out, err = run(capsys, src, "-o", f"{tmp_path}/", "--scale", "0.5")
    assert code == 2 and "is the input" in err                 # DIR/in.png is the input
    for missing in (tmp_path / "nowhere", f"{tmp_path / 'nowhere'}/", tmp_path / "no.png"):
        code, out, err = run(capsys, missing, "-o", tmp_path / "x/", "--scale", "0.5")
        assert code == 1 and err.strip().endswith("no such file or folder"), err
        assert "format" not in err


def _command(args, stdin=b""):
    """The command as a shell runs it: (exit code, stdout bytes, stderr text)."""
    done = subprocess.run([sys.executable, "-m", "resample", *map(str, args)], input=stdin,
                          capture_output=True, timeout=120)
    return done.returncode, done.stdout, done.stderr.decode()


@pytest.mark.slow
def test_standard_input_and_output(tmp_path, photo):
    """'-' reads the image from standard input, '-o -' writes it to standard output (in the
    input's format, or --format); errors go to standard error and nothing to the image
    stream; the pixels are those of the same resize between files."""

    src = tmp_path / "in.png"
    Image.fromarray(photo).save(src)
    data = src.read_bytes()
    assert main([str(src), "-o", str(tmp_path / "ref.png"), "--scale", "0.5", "-q"]) == 0
    want = np.asarray(Image.open(tmp_path / "ref.png"))
    code, out, err = _command(["-", "-o", "-", "--scale", "0.5"], data)
    assert code == 0 and err == "", err
    with Image.open(io.BytesIO(out)) as im:
        assert im.format == "PNG"
        np.testing.assert_array_equal(np.asarray(im), want)
    code, out, err = _command([src, "-o", "-", "--scale", "0.5", "--format", "jpg"])
    assert code == 0 and Image.open(io.BytesIO(out)).format == "JPEG"
    for fmt, name in (("gif", "GIF"), ("bmp", "BMP"), ("avif", "AVIF")):
        code, out, err = _command([src, "-o", "-", "--scale", "0.5", "--format", fmt])
        assert code == 0 and Image.open(io.BytesIO(out)).format == name, (fmt, err)
    code, out, err = _command(["-", "-o", tmp_path / "o.png", "--scale", "0.5"], data)
    assert code == 0 and out.decode().strip() == str(tmp_path / "o.png")
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "o.png")), want)
    # failures: one line on stderr, no bytes on stdout, no temporary files named
    for stdin, args in ((b"not an image", ["-", "-o", "-", "--scale", "2"]),
                        (b"", ["-", "-o", "-", "--scale", "2"]),
                        (data[:200], ["-", "-o", "-", "--scale", "2"]),
                        (data, ["-", "--scale", "2"])):
        code, out, err = _command(args, stdin)
        assert code != 0 and out == b"" and _one_line_error(err), err
        assert "standard input" in err or "-o" in err
        assert "resample-pipe" not in err
    code, out, err = _command([src, "-o", tmp_path / "x.png", "--format", "png", "--scale", "2"])
    assert code == 2 and "--format" in err


def test_strip_max_pixels_tiff_exif_and_frames(tmp_path, capsys, photo, monkeypatch):
    """--strip writes no metadata; a TIFF output keeps EXIF tags such as Make; --max-pixels and
    RESAMPLE_MAX_PIXELS move the decompression-bomb limit (one line naming both when hit); a
    multi-frame input into a format of one frame says that only its first is converted."""
    from resample.formats import images

    src = tmp_path / "in.jpg"
    exif = Image.Exif()
    exif[0x010F] = "Maker"
    Image.fromarray(photo).save(src, exif=exif.tobytes(), dpi=(200, 200), quality=90)
    code, _, err = run(capsys, src, "-o", tmp_path / "o.tif", "--scale", "0.5")
    assert code == 0, err
    with Image.open(tmp_path / "o.tif") as im:
        assert im.getexif().get(0x010F) == "Maker" and round(im.info["dpi"][0]) == 200
    code, _, err = run(capsys, src, "-o", tmp_path / "s.jpg", "--scale", "0.5", "--strip")
    with Image.open(tmp_path / "s.jpg") as im:
        assert code == 0 and 0x010F not in im.getexif() and "exif" not in im.info
    big = tmp_path / "big.png"
    Image.fromarray(np.zeros((1000, 1500), np.uint8)).save(big)
    try:
        code, _, err = run(capsys, big, "-o", tmp_path / "b.png", "--scale", "0.5",
                           "--max-pixels", "1M")
        assert code == 1 and _one_line_error(err)
        assert "1500000 pixels, more than the decompression-bomb limit of 1000000" in err
        assert "--max-pixels" in err and "RESAMPLE_MAX_PIXELS" in err
        assert run(capsys, big, "-o", tmp_path / "b.png", "--scale", "0.5",
                   "--max-pixels", "2M")[0] == 0
        code, _, err = run(capsys, big, "-o", tmp_path / "b.png", "--scale", "0.5",
                           "--max-pixels", "lots")
        assert code == 2 and "--max-pixels" in err
    finally:
        images.set_max_pixels(images.parse_pixels("178956970"))     # Pillow's default
    monkeypatch.setenv("RESAMPLE_MAX_PIXELS", "1M")
    monkeypatch.setattr(images, "_limit_set", False)
    code, _, err = run(capsys, big, "-o", tmp_path / "b.png", "--scale", "0.5")
    images.set_max_pixels(images.parse_pixels("178956970"))
    assert code == 1 and "limit of 1000000" in err
    monkeypatch.delenv("RESAMPLE_MAX_PIXELS")
    frames = [Image.fromarray(np.roll(photo, 9 * i, axis=1)) for i in range(5)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:], duration=50)
    frames[0].save(tmp_path / "stack.tif", save_all=True, append_images=frames[1:])
    for name, kind in (("anim.gif", "frames"), ("stack.tif", "pages")):
        code, _, err = run(capsys, tmp_path / name, "-o", tmp_path / f"o-{name}.jpg",
                           "--scale", "2")                 # JPEG holds one frame
        assert code == 0 and f"5 {kind}: only the first is converted" in err


def test_folder_notes_are_summarised(tmp_path, capsys, photo):
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(3):
        rgba = np.dstack([photo, np.full(photo.shape[:2], 120 + i, np.uint8)])
        Image.fromarray(rgba).save(folder / f"a{i}.png")
    Image.fromarray(photo).save(folder / "plain.png")
    code, _, err = run(capsys, folder, "-o", tmp_path / "out", "--format", "jpg", "--scale",
                       "0.5", "-j", "1")
    assert code == 0
    assert "resample: note: 3 files: flattened alpha onto white for JPEG" in err
    assert err.count("flattened") == 1


def test_linear_light_on_the_command_line_and_icc_notes(tmp_path, capsys, photo):
    """--linear: a checkerboard halves to 188 (128 without); a profile that is not sRGB is
    named in a note, an sRGB one is not."""
    ImageCms = pytest.importorskip("PIL.ImageCms")
    board = (np.indices((32, 32)).sum(axis=0) % 2 * 255).astype(np.uint8)
    Image.fromarray(board).save(tmp_path / "board.png")
    for flag, want in (((), 128), (("--linear",), 188)):
        code, _, err = run(capsys, tmp_path / "board.png", "-o", tmp_path / "o.png",
                           "--scale", "0.5", *flag)
        assert code == 0 and np.asarray(Image.open(tmp_path / "o.png"))[5, 5] == want
    for name, noted in (("sRGB", False), ("XYZ", True)):
        icc = ImageCms.ImageCmsProfile(ImageCms.createProfile(name)).tobytes()
        Image.fromarray(photo).save(tmp_path / f"{name}.png", icc_profile=icc)
        code, _, err = run(capsys, tmp_path / f"{name}.png", "-o", tmp_path / "p.png",
                           "--scale", "0.5", "--linear")
        assert code == 0 and ("is not sRGB" in err) == noted, err


def test_avif_out_and_back(tmp_path, capsys, photo):
    """AVIF, the web's newer format: written with --quality, read back (its own signature on
    standard input too), its metadata carried as for WebP."""
    from PIL import features

    if not features.check("avif"):
        pytest.skip("this Pillow has no AVIF codec")
    src, dst, back = tmp_path / "in.png", tmp_path / "o.avif", tmp_path / "back.png"
    Image.fromarray(photo).save(src)
    assert run(capsys, src, dst, "--scale", "0.5", "--quality", "90")[0] == 0
    with Image.open(dst) as im:
        assert im.format == "AVIF" and im.size == (photo.shape[1] // 2, photo.shape[0] // 2)
        ours = np.asarray(im.convert("RGB")).astype(int)
    # the same pixels as a PNG, encoded by Pillow at the same quality: the same picture
    assert run(capsys, src, tmp_path / "o.png", "--scale", "0.5")[0] == 0
    buf = io.BytesIO()
    Image.open(tmp_path / "o.png").save(buf, "AVIF", quality=90)
    theirs = np.asarray(Image.open(buf).convert("RGB")).astype(int)
    assert np.abs(ours - theirs).mean() < 0.5
    low = tmp_path / "low.avif"
    assert run(capsys, src, low, "--scale", "0.5", "--quality", "20")[0] == 0
    assert low.stat().st_size < dst.stat().st_size         # --quality reaches the encoder
    code, _, err = run(capsys, dst, back, "--scale", "2")
    assert code == 0 and Image.open(back).size == (photo.shape[1], photo.shape[0]), err
    code, out, err = _command(["-", "-o", "-", "--scale", "2"], dst.read_bytes())
    assert code == 0 and Image.open(io.BytesIO(out)).format == "AVIF", err


def test_heic_in_jpeg_out(tmp_path, capsys, photo, monkeypatch):
    """A phone's HEIC photo (pillow-heif, the [heif] extra): read by its signature, written as
    JPEG where no format is named (beside it, in a folder, to standard output); without
    pillow-heif, one line naming the extra."""
    pillow_heif = pytest.importorskip("pillow_heif")
    from resample.formats import files

    pillow_heif.register_heif_opener()
    src = tmp_path / "phone.heic"
    Image.fromarray(photo).save(src, quality=90)
    code, out, err = run(capsys, src, "--scale", "0.5")
    made = tmp_path / f"phone-bilinear-{photo.shape[1] // 2}x{photo.shape[0] // 2}.jpg"
    assert code == 0 and out.strip() == str(made) and Image.open(made).format == "JPEG", err
    want = resample.resize(np.asarray(Image.open(src).convert("RGB")), scale=0.5)
    assert run(capsys, src, tmp_path / "x.png", "--scale", "0.5")[0] == 0
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "x.png")), want)
    folder = tmp_path / "in"
    folder.mkdir()
    Image.fromarray(photo).save(folder / "a.heic")
    assert run(capsys, folder, "-o", tmp_path / "out", "--scale", "0.5", "-q")[0] == 0
    assert os.listdir(tmp_path / "out") == ["a.jpg"]
    code, out, err = _command(["-", "-o", "-", "--scale", "0.5"], src.read_bytes())
    assert code == 0 and Image.open(io.BytesIO(out)).format == "JPEG", err
    code, out, err = run(capsys, src, "-o", str(tmp_path / "one") + "/", "--scale", "0.5")
    assert code == 0 and os.listdir(tmp_path / "one") == ["phone.jpg"], err     # -o DIR/
    monkeypatch.setattr(files, "enable_heif", lambda: False)     # (registered above for good)
    with pytest.raises(ResampleError, match=r"pip install 'resample-images\[heif\]'"):
        files.open_heif(src)
    assert files.is_heif(src) and not files.is_heif(tmp_path / "x.png")


@pytest.mark.parametrize("ext", [".bmp", ".ppm", ".jpg"])
def test_alpha_into_a_format_without_it_is_flattened_onto_white_with_a_note(tmp_path, capsys,
                                                                            ext):
    a = np.zeros((40, 40, 4), np.uint8)
    a[..., 0] = 255                                     # red where opaque, invisible elsewhere
    a[10:30, 10:30, 3] = 255
    src, dst = tmp_path / "t.png", tmp_path / f"t{ext}"
    Image.fromarray(a).save(src)
    code, _, err = run(capsys, src, dst, "--scale", "0.5")
    assert code == 0 and "flattened alpha onto white for" in err
    out = np.asarray(Image.open(dst).convert("RGB"))
    assert (out[0, 0] >= 245).all()                      # white (JPEG: nearly), not black
    assert out[10, 10, 0] > 240 and out[10, 10, 1] < 15                 # red


def test_image_bytes_are_not_written_to_a_terminal(tmp_path, capsys, photo, monkeypatch):
    src = tmp_path / "in.png"
    Image.fromarray(photo).save(src)

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr(sys, "stdout", Terminal())
    assert main([str(src), "-o", "-", "--scale", "0.5"]) == 2
    assert "standard output is a terminal" in capsys.readouterr().err
