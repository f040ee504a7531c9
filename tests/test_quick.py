"""The command's short path (src/resample/cli/quick.py): a plain one-file resize of an 8-bit grey or RGB
PNG or JPEG, without NumPy or click.  It must write exactly what the full command writes, and
leave everything else to the full command."""

import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from resample.cli import command as cli, quick

skimage_data = pytest.importorskip("skimage.data")


@pytest.fixture
def full_path_calls(monkeypatch):
    """Counts the runs that went to the full command."""
    calls = []
    real = cli.main

    def spy(argv=None):
        calls.append(argv)
        return real(argv)

    monkeypatch.setattr(cli, "main", spy)
    return calls


def _inputs(folder):
    """Real photos: RGB and grey PNGs, and JPEGs carrying EXIF, an ICC profile and DPI."""
    rgb = skimage_data.astronaut()[::3, ::3]               # 171x171
    grey = skimage_data.camera()[:97, :131]
    paths = {}
    paths["rgb.png"] = os.path.join(folder, "rgb.png")
    Image.fromarray(rgb).save(paths["rgb.png"], dpi=(300, 300))
    paths["grey.png"] = os.path.join(folder, "grey.png")
    Image.fromarray(grey).save(paths["grey.png"])
    exif = Image.Exif()
    exif[0x010F] = "Maker"                                  # Make
    exif[0x0112] = 1                                        # orientation: as stored
    try:
        from PIL import ImageCms

        icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    except ImportError:                 # Pillow built without LittleCMS
        icc = None
    paths["photo.jpg"] = os.path.join(folder, "photo.jpg")
    kwargs = {"exif": exif.tobytes(), "dpi": (72, 72), "quality": 92}
    if icc:
        kwargs["icc_profile"] = icc
    Image.fromarray(skimage_data.coffee()[::2, ::2]).save(paths["photo.jpg"], **kwargs)
    paths["grey.jpg"] = os.path.join(folder, "grey.jpg")
    Image.fromarray(grey).save(paths["grey.jpg"])
    return paths


JOBS = [["--scale", "0.5"], ["--scale", "2", "--method", "gri"], ["--size", "100x", "-m", "lanczos"],
        ["--size=64x64!", "--method=bicubic"], ["-s", "1.37", "-m", "NEAREST"],
        ["--size", "50%", "--quality", "80", "--threads", "1"], ["--scale", "1"],
        ["--scale", "0.4", "-m", "box"], ["--scale", "0.7", "-m", "mitchell"],
        ["--scale", "0.5", "-m", "area"]]


@pytest.mark.parametrize("name", ["rgb.png", "grey.png", "photo.jpg", "grey.jpg"])
def test_the_short_path_writes_what_the_full_command_writes(tmp_path, name, full_path_calls,
                                                            capsys):
    src = _inputs(str(tmp_path))[name]
    ext = os.path.splitext(name)[1]
    for k, job in enumerate(JOBS):
        for out_ext in (ext, ".png" if ext == ".jpg" else ".jpg"):
            short, full = tmp_path / f"s{k}{out_ext}", tmp_path / f"f{k}{out_ext}"
            assert quick.main([src, "-o", str(short), *job]) == 0
            # --quality for a PNG is the full command's, for its note
            ignored = "--quality" in job and out_ext == ".png"
            assert len(full_path_calls) == ignored, (name, job)    # the short path ran
            short_out = capsys.readouterr()
            assert short_out.out == f"{short}\n"
            assert ("--quality applies" in short_out.err) == ignored
            assert cli.main([src, "-o", str(full), *job]) == 0
            assert capsys.readouterr().out == f"{full}\n"
            full_path_calls.clear()
            _assert_same_file(short, full, (name, job, out_ext))
    with Image.open(tmp_path / f"s0{ext}") as im:            # metadata carried over
        if name == "photo.jpg":
            assert im.getexif().get(0x010F) == "Maker"
            assert round(im.info["dpi"][0]) == 72
        if name == "rgb.png":
            assert round(im.info["dpi"][0]) == 300


def _assert_same_file(short, full, what):
    """JPEGs byte for byte; PNGs pixel for pixel with the same metadata (the short path
    compresses small PNGs with zlib, the full command with libdeflate)."""
    if short.suffix == ".jpg":
        assert short.read_bytes() == full.read_bytes(), what
        return
    with Image.open(short) as a, Image.open(full) as b:
        assert a.mode == b.mode and a.size == b.size, what
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=str(what))
        for key in ("icc_profile", "dpi", "exif"):
            assert a.info.get(key) == b.info.get(key), (what, key)


def test_the_short_path_names_the_output_as_the_full_command(tmp_path, full_path_calls, capsys):
    src = _inputs(str(tmp_path))["rgb.png"]
    assert quick.main([src, "--scale", "2", "-m", "gri", "-q"]) == 0
    assert full_path_calls == []
    assert capsys.readouterr().out == ""
    assert os.path.exists(tmp_path / "rgb-gri-342x342.png")
    # an alias names the output by its method's name, on both paths, with the same pixels
    assert quick.main([src, "--scale", "2", "-m", "catrom", "-q"]) == 0
    assert cli.main([src, "--scale", "0.5", "-m", "CatRom", "-q"]) == 0
    assert full_path_calls == [] or len(full_path_calls) == 1
    made = tmp_path / "rgb-bicubic-342x342.png"
    assert made.exists() and (tmp_path / "rgb-bicubic-86x86.png").exists()
    assert cli.main([src, "--scale", "2", "-m", "bicubic", "-o", str(tmp_path / "b.png")]) == 0
    _assert_same_file(made, tmp_path / "b.png", "catrom")


def test_the_short_path_imports_neither_numpy_nor_click(tmp_path):
    src = _inputs(str(tmp_path))["photo.jpg"]
    code = ("import sys; from resample.cli.quick import main; "
            f"assert main([{src!r}, '-o', {str(tmp_path / 'o.png')!r}, '--scale', '0.5']) == 0; "
            "assert 'numpy' not in sys.modules and 'click' not in sys.modules, 'imported'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path)
    with Image.open(tmp_path / "o.png") as im:
        assert im.size == (150, 100)


def _rgba(folder):
    path = os.path.join(folder, "rgba.png")
    a = np.dstack([skimage_data.astronaut()[:40, :50], np.full((40, 50), 128, np.uint8)])
    Image.fromarray(a).save(path)
    return path


def _rotated_jpeg(folder):
    path = os.path.join(folder, "rot.jpg")
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(skimage_data.astronaut()[:40, :50]).save(path, exif=exif.tobytes())
    return path


def _wide_png(folder):
    path = os.path.join(folder, "deep.png")
    Image.fromarray((skimage_data.camera()[:30, :40].astype(np.uint16) * 257)).save(path)
    return path


@pytest.mark.parametrize("make, args", [
    (_rgba, ["--scale", "0.5"]),                          # alpha: premultiplied, full path
    (_rotated_jpeg, ["--scale", "0.5"]),                  # EXIF orientation applied
    (_wide_png, ["--scale", "0.5"]),                      # 16 bits
    (_rgba, ["--scale", "0.5", "--boundary", "edge"]),    # an option the short path lacks
    (_rgba, ["--scale", "0.5", "--scale", "2"]),          # given twice
    (_rgba, ["--scale", "0"]),                            # a usage error: the full path's
    (_rgba, ["--size", "12y7"]),
    (_rgba, ["--help"]),
])
def test_what_the_short_path_does_not_take_goes_to_the_full_command(tmp_path, make, args,
                                                                    full_path_calls, capsys):
    src = make(str(tmp_path))
    code = quick.main([src, "-o", str(tmp_path / "out.png"), *args])
    assert len(full_path_calls) == 1
    capsys.readouterr()
    assert code == cli.main([src, "-o", str(tmp_path / "again.png"), *args])
    assert os.path.exists(tmp_path / "out.png") == os.path.exists(tmp_path / "again.png")


def test_failures_on_the_short_path_are_the_full_commands(tmp_path, full_path_calls, capsys):
    src = _inputs(str(tmp_path))["rgb.png"]
    for argv in ([str(tmp_path / "missing.png"), "--scale", "2"],
                 [src, "-o", str(tmp_path / "no" / "such" / "o.png"), "--scale", "2"],
                 [src, "-o", str(tmp_path / "o.xyz"), "--scale", "2"],
                 [src, "-o", src, "--scale", "2"]):
        code = quick.main(argv)
        err = capsys.readouterr().err
        assert code in (1, 2) and err.startswith("resample: error:"), (argv, err)
    assert len(full_path_calls) == 4
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(open(_inputs(str(tmp_path))["photo.jpg"], "rb").read()[:2000])
    assert quick.main([str(broken), "--scale", "0.5"]) == 1
    assert "broken.jpg" in capsys.readouterr().err
    assert [p for p in os.listdir(tmp_path) if p.startswith(".resample-")] == []


def test_options_that_would_do_nothing_are_an_error_or_a_note(tmp_path, capsys):
    src = _inputs(str(tmp_path))["rgb.png"]
    assert cli.main([src, "-o", str(tmp_path / "a.png"), "--scale", "2", "--fill", "5"]) == 2
    assert "--fill applies with --boundary constant" in capsys.readouterr().err
    assert cli.main([src, "-o", str(tmp_path / "b.png"), "--scale", "2", "--fill", "5",
                     "--boundary", "constant"]) == 0
    assert quick.main([src, "-o", str(tmp_path / "c.png"), "--scale", "2", "--quality", "70"]) == 0
    assert "note: --quality applies to JPEG and WebP output; ignored for PNG" in \
        capsys.readouterr().err
