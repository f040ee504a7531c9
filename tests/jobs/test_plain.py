"""The plain job (src/resample/jobs/plain.py): one 8-bit grey or RGB PNG or JPEG resized in
Pillow's buffers without NumPy.  The command parses its arguments once and hands them to this
job or to the full one; for what both can do, both write the same file, and what the plain
job does not take (or is unsure of) is the full job's, untouched."""

import itertools
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from resample.cli.command import main
from resample.jobs import plain

skimage_data = pytest.importorskip("skimage.data")


@pytest.fixture
def plain_runs(monkeypatch):
    """The files the plain job wrote (it returned their path)."""
    done = []
    real = plain.resize

    def spy(*args, **kwargs):
        out = real(*args, **kwargs)
        if out is not None:
            done.append(out[0])
        return out

    monkeypatch.setattr(plain, "resize", spy)
    return done


def full_job(monkeypatch, argv):
    """The command's exit code with the plain job turned off (the full job does it all)."""
    with monkeypatch.context() as m:
        m.setattr(plain, "applies", lambda *args: False)
        return main(argv)


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
    # alpha: a photo under a gradient with fully transparent and opaque parts
    ramp = np.clip(np.linspace(-60, 300, rgb.shape[1]), 0, 255).astype(np.uint8)
    alpha = np.broadcast_to(ramp, rgb.shape[:2])
    paths["rgba.png"] = os.path.join(folder, "rgba.png")
    Image.fromarray(np.dstack([rgb, alpha])).save(paths["rgba.png"], dpi=(300, 300))
    paths["la.png"] = os.path.join(folder, "la.png")
    Image.fromarray(np.dstack([grey, alpha[:97, :131]])).save(paths["la.png"])
    return paths


JOBS = [["--scale", "0.5"], ["--scale", "2", "--method", "gri"], ["--size", "100x", "-m", "lanczos"],
        ["--size=64x64!", "--method=bicubic"], ["-s", "1.37", "-m", "NEAREST"],
        ["--size", "50%", "--quality", "80", "--threads", "1"], ["--scale", "1"],
        ["--scale", "0.4", "-m", "box"], ["--scale", "0.7", "-m", "mitchell"],
        ["--scale", "0.5", "-m", "area"], ["--scale", "0.5", "--strip"],
        ["--size", "90x90>", "--device", "cpu"], ["--size", "9000x9000>"],
        ["-qs", "0.5", "--overwrite"], ["--scale", "0.37", "--boundary", "edge"],
        ["--scale", "1.6", "--align", "corners", "-m", "bicubic"],
        ["--scale", "0.3", "--no-antialias"], ["--scale", "2.3", "-m", "lanczos", "--boundary",
                                               "reflect"],
        ["--scale", "0.6", "--boundary", "constant", "--fill", "40"],
        ["--size", "77x51!", "--boundary", "wrap", "-m", "mitchell"], ["--scale", "0.45", "--exact"],
        ["--scale", "0.6", "--sharpen"], ["--scale", "0.5", "--linear"],
        ["--scale", "1.8", "--linear", "-m", "gri", "--sharpen"], ["--scale", "0.5", "--srgb"]]


@pytest.mark.parametrize("name", ["rgb.png", "grey.png", "photo.jpg", "grey.jpg", "rgba.png",
                                  "la.png"])
def test_the_plain_job_writes_what_the_full_job_writes(tmp_path, name, plain_runs, capsys,
                                                       monkeypatch):
    src = _inputs(str(tmp_path))[name]
    ext = os.path.splitext(name)[1]
    for k, job in enumerate(JOBS):
        for out_ext in (ext, ".png" if ext == ".jpg" else ".jpg", ".webp", ".gif"):
            plain_out, full = tmp_path / f"s{k}{out_ext}", tmp_path / f"f{k}{out_ext}"
            assert main([src, "-o", str(plain_out), *job]) == 0
            # a geometry that leaves the image as it is: copied by either job, but converted
            # into another format by the full job
            full_only = (("9000x9000>" in job and out_ext != ext)
                         or (name in ("rgba.png", "la.png") and "--fill" in job))
            assert plain_runs == ([] if full_only else [str(plain_out)]), (name, job)
            plain_runs.clear()
            said = capsys.readouterr()
            assert said.out == ("" if "-qs" in job else f"{plain_out}\n")
            assert ("--quality applies" in said.err) == ("--quality" in job and
                                                          out_ext in (".png", ".gif"))
            assert full_job(monkeypatch, [src, "-o", str(full), *job]) == 0
            capsys.readouterr()
            _assert_same_file(plain_out, full, (name, job, out_ext))
    with Image.open(tmp_path / f"s0{ext}") as im:            # metadata carried over
        if name == "photo.jpg":
            assert im.getexif().get(0x010F) == "Maker"
            assert round(im.info["dpi"][0]) == 72
        if name in ("rgb.png", "rgba.png"):
            assert round(im.info["dpi"][0]) == 300
    with Image.open(tmp_path / f"s10{ext}") as im:           # --strip
        assert not {"dpi", "exif", "icc_profile"} & set(im.info)


def test_overwrite_replaces_the_input_on_both_jobs(tmp_path, plain_runs, monkeypatch):
    src = _inputs(str(tmp_path))["rgb.png"]
    copy = tmp_path / "copy.png"
    copy.write_bytes(open(src, "rb").read())
    assert main([src, "-o", src, "--scale", "0.5", "--overwrite", "-q"]) == 0
    assert plain_runs == [src]
    assert full_job(monkeypatch, [str(copy), "-o", str(copy), "--scale", "0.5",
                                  "--overwrite", "-q"]) == 0
    _assert_same_file(tmp_path / "rgb.png", copy, "overwrite")


def _assert_same_file(short, full, what):
    """JPEGs and WebPs byte for byte; PNGs pixel for pixel with the same metadata (the plain
    job compresses small PNGs with zlib, the full one with libdeflate)."""
    if short.suffix in (".jpg", ".webp", ".tif", ".bmp"):
        assert short.read_bytes() == full.read_bytes(), what
        return
    with Image.open(short) as a, Image.open(full) as b:
        assert a.mode == b.mode and a.size == b.size, what
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=str(what))
        for key in ("icc_profile", "dpi", "exif"):
            assert a.info.get(key) == b.info.get(key), (what, key)


def test_the_plain_job_names_the_output_as_the_full_job(tmp_path, plain_runs, capsys,
                                                       monkeypatch):
    src = _inputs(str(tmp_path))["rgb.png"]
    assert main([src, "--scale", "2", "-m", "gri", "-q"]) == 0
    assert len(plain_runs) == 1 and capsys.readouterr().out == ""
    assert os.path.exists(tmp_path / "rgb-gri-342x342.png")
    # an alias names the output by its method's name, on both jobs, with the same pixels
    assert main([src, "--scale", "2", "-m", "catrom", "-q"]) == 0
    assert full_job(monkeypatch, [src, "--scale", "0.5", "-m", "CatRom", "-q"]) == 0
    made = tmp_path / "rgb-bicubic-342x342.png"
    assert made.exists() and (tmp_path / "rgb-bicubic-86x86.png").exists()
    assert full_job(monkeypatch, [src, "--scale", "2", "-m", "bicubic", "-o",
                                  str(tmp_path / "b.png")]) == 0
    _assert_same_file(made, tmp_path / "b.png", "catrom")


def test_the_plain_job_imports_no_numpy(tmp_path):
    src = _inputs(str(tmp_path))["photo.jpg"]
    code = ("import sys; from resample.cli.command import main; "
            f"assert main([{src!r}, '-o', {str(tmp_path / 'o.webp')!r}, '--scale', '0.5', "
            "'--strip', '--quality', '80']) == 0; "
            "assert 'numpy' not in sys.modules, 'imported'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path)
    with Image.open(tmp_path / "o.webp") as im:
        assert im.size == (150, 100)


def _rgba(folder):
    path = os.path.join(folder, "rgba.png")
    a = np.dstack([skimage_data.astronaut()[:40, :50], np.full((40, 50), 128, np.uint8)])
    Image.fromarray(a).save(path)
    return path


def _xyz_profile(folder):
    """An RGB PNG tagged with a profile that is not sRGB (LittleCMS's XYZ identity)."""
    from PIL import ImageCms

    path = os.path.join(folder, "xyz.png")
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("XYZ")).tobytes()
    Image.fromarray(skimage_data.astronaut()[:40, :50]).save(path, icc_profile=icc)
    return path


def _rotated_jpeg(folder):
    path = os.path.join(folder, "rot.jpg")
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(skimage_data.astronaut()[:40, :50]).save(path, exif=exif.tobytes())
    return path


@pytest.mark.parametrize("orientation", range(2, 9))
def test_an_exif_orientation_is_applied_as_the_full_job_applies_it(tmp_path, orientation,
                                                                   plain_runs, capsys,
                                                                   monkeypatch):
    """A camera JPEG turned by its EXIF orientation: the same pixels, size and note on both
    jobs, whether every pixel is decoded or the JPEG at 1/2 or 1/4 of its size."""
    src = os.path.join(tmp_path, "rot.jpg")
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "Maker"
    Image.fromarray(skimage_data.astronaut()[:300, :410]).save(src, exif=exif.tobytes(),
                                                               quality=90)
    for k, job in enumerate((["--scale", "0.7"], ["--size", "64x100!", "-m", "lanczos"],
                             ["--size", "90x"], ["--size", "x40"])):
        for ext in (".jpg", ".png"):
            ours, theirs = tmp_path / f"s{k}{ext}", tmp_path / f"f{k}{ext}"
            assert main([src, "-o", str(ours), *job]) == 0
            assert plain_runs == [str(ours)]
            plain_runs.clear()
            said = capsys.readouterr().err
            assert full_job(monkeypatch, [src, "-o", str(theirs), *job]) == 0
            assert said == capsys.readouterr().err
            assert f"applied EXIF orientation {orientation}" in said
            _assert_same_file(ours, theirs, (orientation, job, ext))
            with Image.open(ours) as im:
                assert im.getexif().get(0x0112) is None and im.getexif()[0x010F] == "Maker"
                if orientation >= 5 and k == 0:
                    assert im.size == (210, 287)             # the sides swapped


def _other_inputs(folder):
    """What Pillow reads for both jobs: a paletted PNG (with a transparent entry, and
    without), an RGB PNG with a transparent colour, a CMYK JPEG, a WebP, a BMP, a PPM, TIFFs
    of one page and GIFs of one frame."""
    photo = Image.fromarray(skimage_data.astronaut()[::4, ::4][:101, :117])
    paths = {}
    paths["pal.png"] = os.path.join(folder, "pal.png")
    photo.quantize(64).save(paths["pal.png"])
    paths["pal-t.png"] = os.path.join(folder, "pal-t.png")
    photo.quantize(64).save(paths["pal-t.png"], transparency=3)
    paths["trns.png"] = os.path.join(folder, "trns.png")
    photo.save(paths["trns.png"], transparency=(0, 0, 0))
    paths["cmyk.jpg"] = os.path.join(folder, "cmyk.jpg")
    photo.convert("CMYK").save(paths["cmyk.jpg"], quality=90)
    for ext in ("webp", "bmp", "ppm"):
        paths[f"photo.{ext}"] = os.path.join(folder, f"photo.{ext}")
        photo.save(paths[f"photo.{ext}"])
    # TIFFs of one page (8-bit RGB with a resolution, deflated RGBA, grey, CMYK; one turned by
    # its Orientation tag) and GIFs of one frame (with a transparent entry, and without)
    rgba = photo.convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize(photo.size))
    exif = Image.Exif()
    exif[0x0112] = 6
    for name, im, kwargs in (("rgb.tif", photo, {"dpi": (150, 150)}),
                             ("rgba.tif", rgba, {"compression": "tiff_adobe_deflate"}),
                             ("grey.tiff", photo.convert("L"), {"compression": "tiff_lzw"}),
                             ("cmyk.tif", photo.convert("CMYK"), {}),
                             ("turned.tif", photo, {"exif": exif}),
                             ("photo.gif", photo, {}), ("t.gif", photo, {"transparency": 5})):
        paths[name] = os.path.join(folder, name)
        im.save(paths[name], **kwargs)
    return paths


def test_other_inputs_and_outputs_are_the_plain_job_s_too(tmp_path, plain_runs, capsys,
                                                          monkeypatch):
    for name, src in _other_inputs(str(tmp_path)).items():
        for k, job in enumerate((["--scale", "0.5"], ["--size", "64x30!", "-m", "lanczos"],
                                 ["--scale", "0.7", "--quality", "70"])):
            for ext in (".png", ".jpg", ".tif", ".bmp", ".webp", ".gif"):
                ours, theirs = tmp_path / f"s-{name}-{k}{ext}", tmp_path / f"f-{name}-{k}{ext}"
                code = main([src, "-o", str(ours), *job])
                said = capsys.readouterr().err
                assert plain_runs == [str(ours)], (name, job, ext)
                plain_runs.clear()
                assert code == full_job(monkeypatch, [src, "-o", str(theirs), *job]) == 0
                assert said == capsys.readouterr().err, (name, job, ext)
                _assert_same_file(ours, theirs, (name, job, ext))
    # a TIFF's Orientation tag is applied once (Pillow applies it as it loads, where it does)
    with Image.open(tmp_path / "s-turned.tif-0.png") as turned, \
            Image.open(tmp_path / "s-rgb.tif-0.png") as upright:
        assert turned.size == upright.size[::-1]
        diff = np.asarray(turned).astype(int) - np.rot90(np.asarray(upright), -1)
        assert np.abs(diff).max() <= 1



def _deep_pngs(folder):
    """16-bit PNGs of a real photo, written by our encoder (grey, grey and alpha, RGB, RGBA),
    and a grey one by Pillow's."""
    from resample.formats import images

    photo = skimage_data.astronaut()[:120, :150].astype(np.uint16) * 257 + 3
    ramp = np.clip(np.linspace(-9000, 70000, 150), 0, 65535).astype(np.uint16)
    alpha = np.broadcast_to(ramp, photo.shape[:2])
    paths = {}
    for name, a in (("g16", photo[..., 1]), ("la16", np.dstack([photo[..., 1], alpha])),
                    ("rgb16", photo), ("rgba16", np.dstack([photo, alpha]))):
        paths[name] = os.path.join(folder, name + ".png")
        with open(paths[name], "wb") as f:
            images.write_png(f, a, dpi=(200, 200))
    paths["pillow16"] = os.path.join(folder, "pillow16.png")
    Image.fromarray(skimage_data.camera()[:70, :90].astype(np.uint16) * 257).save(
        paths["pillow16"])
    return paths


def test_16_bit_pngs_are_the_plain_job_s_too(tmp_path, plain_runs, capsys, monkeypatch):
    """16-bit PNGs, kept 16-bit into PNG, reduced to 8 bits into JPEG and WebP (alpha
    flattened onto white into JPEG): the full job's pixels and notes."""
    from resample.formats import images

    jobs = (["--scale", "0.5"], ["--scale", "1.7", "-m", "lanczos"],
            ["--size", "33x71!", "-m", "box"], ["--scale", "0.3", "-m", "nearest"],
            ["--scale", "0.6", "--boundary", "constant", "--fill", "9"],
            ["--scale", "0.8", "--sharpen"], ["--scale", "0.6", "--linear"])
    for name, src in _deep_pngs(str(tmp_path)).items():
        for (k, job), ext in itertools.product(enumerate(jobs), (".png", ".jpg", ".webp")):
            ours, theirs = tmp_path / f"s-{name}-{k}{ext}", tmp_path / f"f-{name}-{k}{ext}"
            assert main([src, "-o", str(ours), *job]) == 0
            said = capsys.readouterr().err
            filled = "--fill" in job and name in ("la16", "rgba16")
            assert plain_runs == ([] if filled else [str(ours)]), (name, job)
            plain_runs.clear()
            assert full_job(monkeypatch, [src, "-o", str(theirs), *job]) == 0
            assert said == capsys.readouterr().err, (name, job, ext)
            assert ("reduced uint16 samples to 8 bits" in said) == (ext != ".png")
            _assert_same_file(ours, theirs, (name, job))
            if name == "rgb16" and ext == ".png":
                assert images.read_png(ours)[0].dtype == np.uint16     # still 16 bits
                assert images.read_png(ours)[2] is not None              # dpi carried


def _wide_png(folder):
    path = os.path.join(folder, "deep.png")
    Image.fromarray((skimage_data.camera()[:30, :40].astype(np.uint16) * 257)).save(path)
    return path


@pytest.mark.parametrize("make, args", [
    (_wide_png, ["--scale", "0.5", "-o", "deep.tif"]),    # 16 bits into TIFF
    (_rgba, ["--scale", "0.5", "--linear", "--boundary", "constant", "--fill", "9"]),
    (_xyz_profile, ["--scale", "0.5", "--srgb"]),         # colours to convert
    (_rgba, ["--scale", "0.5", "--boundary", "constant", "--fill", "9"]),   # alpha and fill
    (_rgba, ["--scale", "0.5", "--device", "gpu"]),
])
def test_what_the_plain_job_does_not_take_goes_to_the_full_job(tmp_path, make, args,
                                                               plain_runs, capsys,
                                                               monkeypatch):
    src = make(str(tmp_path))
    code = main([src, "-o", str(tmp_path / "out.png"), *args])
    assert plain_runs == []
    capsys.readouterr()
    assert code == full_job(monkeypatch, [src, "-o", str(tmp_path / "again.png"), *args])
    assert os.path.exists(tmp_path / "out.png") == os.path.exists(tmp_path / "again.png")


def test_failures_are_the_full_jobs(tmp_path, plain_runs, capsys):
    src = _inputs(str(tmp_path))["rgb.png"]
    for argv in ([str(tmp_path / "missing.png"), "--scale", "2"],
                 [src, "-o", str(tmp_path / "no" / "such" / "o.png"), "--scale", "2"],
                 [src, "-o", str(tmp_path / "o.xyz"), "--scale", "2"],
                 [src, "-o", src, "--scale", "2"],
                 [src, "--scale", "0"], [src, "--size", "12y7"]):
        code = main(argv)
        err = capsys.readouterr().err
        assert code in (1, 2) and err.startswith("resample: error:"), (argv, err)
    assert plain_runs == []
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(open(_inputs(str(tmp_path))["photo.jpg"], "rb").read()[:2000])
    assert main([str(broken), "--scale", "0.5"]) == 1
    assert "broken.jpg" in capsys.readouterr().err
    assert [p for p in os.listdir(tmp_path) if p.startswith(".resample-")] == []


def test_options_that_would_do_nothing_are_an_error_or_a_note(tmp_path, capsys):
    src = _inputs(str(tmp_path))["rgb.png"]
    assert main([src, "-o", str(tmp_path / "a.png"), "--scale", "2", "--fill", "5"]) == 2
    assert "--fill applies with --boundary constant" in capsys.readouterr().err
    assert main([src, "-o", str(tmp_path / "b.png"), "--scale", "2", "--fill", "5",
                 "--boundary", "constant"]) == 0
    assert main([src, "-o", str(tmp_path / "c.png"), "--scale", "2", "--quality", "70"]) == 0
    assert "note: --quality applies to JPEG, WebP and AVIF output; ignored for PNG" in \
        capsys.readouterr().err
