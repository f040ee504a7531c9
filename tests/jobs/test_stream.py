"""Streaming PNG resize (resample.jobs.stream): strip by strip, the same pixels as in memory, in
bounded memory, chosen on its own when an image would not fit."""

import struct
import tracemalloc
import zlib

import numpy as np
import pytest
from PIL import Image

from resample.spec import memory
from resample.formats import images, png
from resample.jobs import stream
from commands import run

skimage_data = pytest.importorskip("skimage.data")


def _photo(kind, h, w, rng):
    """A crop of a real photo: grey or RGB, 8- or 16-bit."""
    rgb = skimage_data.astronaut()
    r0, c0 = rng.integers(0, 512 - h + 1), rng.integers(0, 512 - w + 1)
    a = rgb[r0:r0 + h, c0:c0 + w]
    if kind.startswith("grey"):
        a = a[..., 1]
    if kind.endswith("16"):
        a = a.astype(np.uint16) * 257 + rng.integers(0, 257, a.shape).astype(np.uint16)
    return a


def _read(path):
    """Pixels of a PNG, 16-bit colour included (which Pillow reads as 8 bits)."""
    if png.is_16bit_colour(path):
        return images.read_png(path)[0]
    return np.asarray(Image.open(path))


@pytest.mark.parametrize("kind", ["grey8", "rgb8", "grey16", "rgb16"])
@pytest.mark.parametrize("method", ["bilinear", "bicubic", "lanczos", "gri", "box", "mitchell"])
def test_streaming_equals_the_resize_in_memory(tmp_path, capsys, kind, method):
    rng = np.random.default_rng(zlib.crc32(f"{kind}{method}".encode()))
    for k, boundary in enumerate(["truncate", "edge", "reflect", "mirror", "constant",
                                  "extrapolate"]):
        h, w = (int(v) for v in rng.integers(1, 300, size=2))
        with open(tmp_path / "in.png", "wb") as f:           # (Pillow writes no RGB16)
            images.write_png(f, _photo(kind, h, w, rng))
        size = ["37%", "260%", f"{w}x{max(1, h // 3)}!", "1x1!", "130x700!", "20%"][k]
        args = [tmp_path / "in.png", "--size", size, "-m", method, "--boundary", boundary,
                "--fill", "3"] if boundary == "constant" else \
               [tmp_path / "in.png", "--size", size, "-m", method, "--boundary", boundary]
        code, _, err = run(capsys, *args, "-o", tmp_path / "mem.png")
        assert code == 0, err
        code, _, err = run(capsys, *args, "-o", tmp_path / "str.png", "--stream")
        assert code == 0 and "streamed" in err, err
        a, b = (_read(tmp_path / n) for n in ("mem.png", "str.png"))
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b, err_msg=str((kind, method, boundary, size, h, w)))


def _big_png(path, tiles):
    photo = skimage_data.astronaut()
    big = np.tile(photo, (tiles, 4, 1))                               # (512 tiles) x 2048 RGB
    with open(path, "wb") as f:                                       # written by rows too
        writer = stream.RowWriter(f, big.shape[1], big.shape[0], 3, 8)
        for r in range(0, big.shape[0], 500):
            writer.write(big[r:r + 500])
        writer.close()
    return big


def _idat_inflated(path):
    """The PNG's pixel data inflated by zlib in one piece, which checks its Adler-32 (the
    writer deflates blocks on several threads and joins them)."""
    data, pos, idat = path.read_bytes(), 8, b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind == b"IDAT":
            idat += data[pos + 8:pos + 8 + length]
        pos += 12 + length
    return zlib.decompress(idat)


def _peak(capsys, *args):
    tracemalloc.start()
    code, _, err = run(capsys, *args)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert code == 0 and "streamed" in err, err
    return peak


@pytest.mark.slow
def test_an_image_that_would_not_fit_streams_in_bounded_memory(tmp_path, capsys, monkeypatch):
    """With little memory left, a PNG that the in-memory resize would not fit in streams on
    its own; its allocations do not grow with the image's height (twice the rows: about the
    same peak) and stay a fraction of its size; the pixels are the in-memory resize's."""
    big = _big_png(tmp_path / "big.png", 6)                           # 3072x2048, 18 MB
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "big.png")), big)
    assert len(_idat_inflated(tmp_path / "big.png")) == 3072 * (2048 * 3 + 1)   # checksum
    _big_png(tmp_path / "taller.png", 12)                             # 6144x2048, 36 MB
    monkeypatch.setattr(memory, "available_memory", lambda: 40 << 20)
    peaks = [_peak(capsys, tmp_path / name, "-o", tmp_path / f"half-{name}", "--scale", "0.5",
                   "-m", "lanczos") for name in ("big.png", "taller.png")]
    assert peaks[1] < 1.25 * peaks[0] and peaks[0] < 0.5 * big.nbytes, peaks
    monkeypatch.undo()
    code, _, err = run(capsys, tmp_path / "big.png", "-o", tmp_path / "ref.png", "--scale",
                       "0.5", "-m", "lanczos")
    assert code == 0 and "streamed" not in err
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "half-big.png")),
                                  np.asarray(Image.open(tmp_path / "ref.png")))


def test_what_does_not_stream(tmp_path, capsys):
    rgba = np.dstack([skimage_data.astronaut()[:50, :60], np.full((50, 60), 9, np.uint8)])
    Image.fromarray(rgba).save(tmp_path / "a.png")
    for args, why in ((["--stream"], "not streamed: PNGs with alpha"),
                      (["--stream", "--boundary", "wrap"], "not streamed: --boundary wrap")):
        code, _, err = run(capsys, tmp_path / "a.png", "-o", tmp_path / "o.png", "--scale", "2",
                           *args)
        assert code == 0 and why in err and "note: streamed" not in err   # in memory
    Image.fromarray(rgba[..., :3]).save(tmp_path / "rgb.png")
    data = (tmp_path / "rgb.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    code, _, err = run(capsys, tmp_path / "cut.png", "-o", tmp_path / "c.png", "--scale", "2",
                       "--stream")
    assert code == 1 and "truncated PNG data" in err and not (tmp_path / "c.png").exists()
    assert [p for p in tmp_path.iterdir() if p.name.startswith(".resample-")] == []


# --- TIFF and Zarr, in and out ------------------------------------------------------------------

tifffile = pytest.importorskip("tifffile")


def _tiff(path, a, layout, rng):
    """``a`` (H, W, C) as a TIFF of one of several layouts."""
    kw = dict(photometric="rgb" if a.shape[2] == 3 else "minisblack", metadata=None)
    data = a if a.shape[2] == 3 else a[..., 0]
    if layout == "tiled":
        tifffile.imwrite(path, data, tile=(32, 48), compression="zlib", **kw)
    elif layout == "striped":
        tifffile.imwrite(path, data, rowsperstrip=int(rng.integers(1, 40)), **kw)
    elif layout == "planar":
        tifffile.imwrite(path, np.moveaxis(a, 2, 0) if a.shape[2] == 3 else data,
                         planarconfig="separate", tile=(16, 32), **kw)
    else:                                                   # BigTIFF, LZW strips
        tifffile.imwrite(path, data, bigtiff=True, compression="lzw", rowsperstrip=7, **kw)


def _read_any(path):
    path = str(path)
    if path.endswith(".zarr"):
        import zarr

        a = np.asarray(zarr.open_array(path, mode="r"))
    elif path.endswith(".tif"):
        a = tifffile.imread(path)
    else:
        a = _read(path)
    return a if a.ndim == 3 else a[..., None]


@pytest.mark.parametrize("layout", ["tiled", "striped", "planar", "bigtiff"])
def test_tiff_streams_as_the_resize_in_memory(tmp_path, capsys, layout):
    """Every TIFF layout, 8/16-bit and float samples, grey and RGB, into TIFF and PNG: the
    streamed pixels are those of the in-memory resize of the same file, across strips."""
    rng = np.random.default_rng(zlib.crc32(layout.encode()))
    for k, (method, boundary, size) in enumerate([("lanczos", "truncate", "23%"),
                                                  ("bicubic", "reflect", "310%"),
                                                  ("gri", "edge", "301x517!"),
                                                  ("box", "mirror", "1x1!"),
                                                  ("mitchell", "constant", "77x3!")]):
        h, w = (int(v) for v in rng.integers(1, 400, size=2))
        kind = ["rgb8", "grey16", "rgb16", "grey8", "rgb8"][k]
        a = _photo(kind, min(h, 512), min(w, 512), rng)
        a = a if a.ndim == 3 else a[..., None]
        if k == 4:
            a = (a / 255.0 * 1.5 - 0.25).astype(np.float32)        # float, out of [0, 1]
        _tiff(tmp_path / "in.tif", a, layout, rng)
        args = [tmp_path / "in.tif", "--size", size, "-m", method, "--boundary", boundary]
        code, _, err = run(capsys, *args, "-o", tmp_path / "mem.tif")
        assert code == 0 and "streamed" not in err, err
        outputs = ["str.tif"] + (["str.png"] if a.dtype != np.float32 else [])
        for name in outputs:
            code, _, err = run(capsys, *args, "-o", tmp_path / name, "--stream")
            assert code == 0 and "streamed" in err, err
            got, want = _read_any(tmp_path / name), _read_any(tmp_path / "mem.tif")
            assert got.dtype == want.dtype and got.shape == want.shape
            np.testing.assert_array_equal(got, want, err_msg=str((layout, k, h, w, name)))


def test_zarr_in_and_out(tmp_path, capsys):
    """Zarr arrays stream in and out (a grey one stays (H, W)); a group's array '0' is read
    (OME-Zarr's full size); what cannot stream into Zarr is refused, saying why."""
    zarr = pytest.importorskip("zarr")
    photo = skimage_data.chelsea()                                  # 300x451 RGB
    z = zarr.create_array(store=str(tmp_path / "in.zarr"), shape=photo.shape,
                          chunks=(37, 100, 3), dtype=photo.dtype)
    z[:] = photo
    Image.fromarray(photo).save(tmp_path / "in.png")
    for dst in ("out.zarr", "out.png", "out.tif"):
        code, out, err = run(capsys, tmp_path / "in.zarr", "-o", tmp_path / dst, "--scale",
                             "0.41", "-m", "lanczos")
        assert code == 0 and "streamed" in err, err
        code, _, _ = run(capsys, tmp_path / "in.png", "-o", tmp_path / "ref.png", "--scale",
                         "0.41", "-m", "lanczos")
        np.testing.assert_array_equal(_read_any(tmp_path / dst), _read_any(tmp_path / "ref.png"))
    group = zarr.open_group(str(tmp_path / "ome.zarr"), mode="w")
    group.create_array("0", shape=photo.shape[:2], chunks=(64, 64), dtype=np.uint8)[:] = \
        photo[..., 1]
    code, _, err = run(capsys, tmp_path / "ome.zarr", "-o", tmp_path / "grey.zarr", "--size",
                       "100x70!")
    assert code == 0, err
    got = np.asarray(zarr.open_array(str(tmp_path / "grey.zarr"), mode="r"))
    assert got.shape == (70, 100)
    np.testing.assert_array_equal(got, resample_resize(photo[..., 1], (70, 100)))
    code, _, err = run(capsys, tmp_path / "in.zarr", "-o", tmp_path / "x.zarr", "--scale", "2",
                       "--linear")
    assert code == 1 and "Zarr input needs a streamed resize, and --linear does not" in err
    assert err.count("\n") == 1 and not (tmp_path / "x.zarr").exists()


def resample_resize(a, shape):
    import resample

    return resample.resize(a, shape=shape, method="bilinear", boundary="truncate")


def test_a_pyramid_of_2x2_means_and_reading_its_level(tmp_path, capsys):
    """--pyramid: SubIFDs each half the last (2x2 means, rounded half up; an odd side's last
    row or column repeated) down to one tile; reading it back for a small output picks the
    smallest level at least twice as large, streamed or in memory, and says so; --exact reads
    the full size."""
    rng = np.random.default_rng(5)
    photo = np.tile(skimage_data.astronaut(), (2, 2, 1))[:1000, :777]
    Image.fromarray(photo).save(tmp_path / "in.png")
    code, _, err = run(capsys, tmp_path / "in.png", "-o", tmp_path / "pyr.tif", "--scale", "1",
                       "--pyramid")
    assert code == 0 and "streamed" in err, err
    with tifffile.TiffFile(tmp_path / "pyr.tif") as tif:
        levels = [level.asarray() for level in tif.series[0].levels]
        assert tif.pages[0].is_tiled and tif.pages[0].tilewidth == 256
    assert [lv.shape[:2] for lv in levels] == [(1000, 777), (500, 389), (250, 195)]
    np.testing.assert_array_equal(levels[0], photo)
    for above, level in zip(levels, levels[1:]):
        a = above.astype(np.float64)
        a = np.concatenate([a, a[:, -1:]], axis=1) if a.shape[1] % 2 else a
        a = np.concatenate([a, a[-1:]], axis=0) if a.shape[0] % 2 else a
        means = (a[0::2, 0::2] + a[0::2, 1::2] + a[1::2, 0::2] + a[1::2, 1::2]) / 4
        np.testing.assert_array_equal(level, np.floor(means + 0.5).astype(np.uint8))
    Image.fromarray(levels[1]).save(tmp_path / "level.png")
    code, _, _ = run(capsys, tmp_path / "level.png", "-o", tmp_path / "ref.png", "--size",
                     "150x150!")
    for extra in (["--stream"], []):                      # streamed, and in memory
        code, _, err = run(capsys, tmp_path / "pyr.tif", "-o", tmp_path / "small.png",
                           "--size", "150x150!", *extra)
        assert code == 0 and "read the pyramid's 389x500 level" in err, err
        np.testing.assert_array_equal(_read(tmp_path / "small.png"),
                                      _read(tmp_path / "ref.png"))
    code, _, err = run(capsys, tmp_path / "pyr.tif", "-o", tmp_path / "e.png", "--size",
                       "150x150!", "--exact")
    assert code == 0 and "pyramid" not in err                 # every pixel
    code, _, err = run(capsys, tmp_path / "in.png", "-o", tmp_path / "p.png", "--scale", "1",
                       "--pyramid")
    assert code == 1 and "--pyramid is for TIFF outputs" in err
    del rng


def test_a_damaged_tiff_fails_in_one_line_and_leaves_nothing(tmp_path, capsys):
    a = skimage_data.astronaut()[:300, :300]
    tifffile.imwrite(tmp_path / "in.tif", a, tile=(64, 64), compression="zlib")
    data = bytearray((tmp_path / "in.tif").read_bytes())
    data[len(data) // 2:len(data) // 2 + 4000] = bytes(4000)       # zeros over some tiles
    (tmp_path / "bad.tif").write_bytes(bytes(data))
    code, _, err = run(capsys, tmp_path / "bad.tif", "-o", tmp_path / "o.tif", "--scale",
                       "0.5", "--stream")
    assert code == 1 and err.count("\n") == 1 and "bad.tif" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.tif", "in.tif"]


def test_over_the_default_bomb_limit_a_real_image_streams(tmp_path, capsys, monkeypatch):
    """Pillow's default decompression-bomb limit refuses images that a stream holds in
    bounded memory: those stream; a limit the user set applies to them too, and so does the
    default to a file that would inflate more than a hundredfold."""
    from PIL import Image as PILImage


    photo = skimage_data.astronaut()[:300, :300]
    Image.fromarray(photo).save(tmp_path / "in.png")
    monkeypatch.setattr(PILImage, "MAX_IMAGE_PIXELS", 20000)       # refused above 40000
    monkeypatch.setattr(images, "_limit_given", False)
    code, _, err = run(capsys, tmp_path / "in.png", "-o", tmp_path / "o.png", "--scale", "0.5")
    assert code == 0 and "streamed" in err, err
    flat = np.zeros((300, 300, 3), np.uint8)                     # inflates 600-fold
    Image.fromarray(flat).save(tmp_path / "flat.png")
    code, _, err = run(capsys, tmp_path / "flat.png", "-o", tmp_path / "f.png", "--scale", "0.5")
    assert code == 1 and "decompression-bomb limit" in err
    code, _, err = run(capsys, tmp_path / "in.png", "-o", tmp_path / "o2.png", "--scale", "0.5",
                       "--max-pixels", "50000")
    assert code == 1 and "decompression-bomb limit of 50000" in err
    assert not (tmp_path / "o2.png").exists()


def test_in_a_folder_a_file_too_big_for_memory_streams(tmp_path, capsys, monkeypatch):
    folder = tmp_path / "in"
    folder.mkdir()
    big = _big_png(folder / "big.png", 6)                             # 3072x2048 RGB
    Image.fromarray(skimage_data.coffee()).save(folder / "coffee.jpg")
    code, _, err = run(capsys, folder / "big.png", "-o", tmp_path / "ref.png", "--scale", "0.5")
    assert code == 0 and "streamed" not in err
    monkeypatch.setattr(memory, "available_memory", lambda: 60 << 20)
    code, _, err = run(capsys, folder, "-o", tmp_path / "out", "--scale", "0.5")
    assert code == 0 and "streamed" in err, err
    np.testing.assert_array_equal(_read(tmp_path / "out" / "big.png"), _read(tmp_path / "ref.png"))
    assert (tmp_path / "out" / "coffee.jpg").exists() and big.shape == (3072, 2048, 3)


def test_an_ome_tiff_pyramid(tmp_path, capsys):
    """An OME-TIFF with a SubIFD pyramid: a large output streams from the full size, a small
    one (at most half the level's) from the half-size level, each the in-memory resize of
    what it read."""
    photo = skimage_data.astronaut()                                   # 512x512 RGB
    with tifffile.TiffWriter(tmp_path / "slide.ome.tif", bigtiff=True, ome=True) as tif:
        tif.write(photo, subifds=1, tile=(128, 128), photometric="rgb",
                  metadata={"axes": "YXS"})
        tif.write(photo[::2, ::2], subfiletype=1, tile=(128, 128), photometric="rgb")
    for size, level in (("70%", photo), ("100x100!", photo[::2, ::2])):
        code, _, err = run(capsys, tmp_path / "slide.ome.tif", "-o", tmp_path / "s.png",
                           "--size", size, "--stream")
        assert code == 0 and "streamed" in err, err
        assert ("pyramid's 256x256 level" in err) == (level.shape[0] == 256)
        Image.fromarray(level).save(tmp_path / "level.png")
        code, _, _ = run(capsys, tmp_path / "level.png", "-o", tmp_path / "m.png", "--size",
                         size)
        np.testing.assert_array_equal(_read(tmp_path / "s.png"), _read(tmp_path / "m.png"))


def test_a_bar_over_the_strips_on_a_terminal(tmp_path, monkeypatch):
    import io
    import sys

    from resample.jobs.convert import Options

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    Image.fromarray(skimage_data.astronaut()).save(tmp_path / "in.png")
    monkeypatch.setattr(sys, "stderr", Terminal())
    options = Options(scale=0.5, stream=True)
    stream.resize_file(tmp_path / "in.png", tmp_path / "o.png", options, options.output_size,
                       progress=True)
    assert "0/4 [" in sys.stderr.getvalue() and "strip/s" in sys.stderr.getvalue()   # 4 strips


def test_an_output_the_disk_cannot_hold_is_refused_before_any_work(tmp_path, capsys,
                                                                   monkeypatch):
    """A TIFF's exact size (and its pyramid's third) and a hundredth of a PNG's pixel bytes
    are checked against the free space, before anything is computed or written."""
    import shutil
    from collections import namedtuple

    Image.fromarray(skimage_data.astronaut()).save(tmp_path / "in.png")
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda _: usage(10**9, 0, 50 * 10**6))
    for name, size, extra, ok in (("a.tif", "4000x4000!", [], True),       # 48 MB
                                  ("b.tif", "4000x4000!", ["--pyramid"], False),
                                  ("c.tif", "5000x5000!", [], False),
                                  ("d.png", "2000x2000!", [], True),
                                  ("e.png", "41000x41000!", [], False)):   # 50.4 MB
        code, _, err = run(capsys, tmp_path / "in.png", "-o", tmp_path / name, "--size", size,
                           "--stream", *extra)
        if ok:
            assert "of disk" not in err
            (tmp_path / name).unlink(missing_ok=True)
            continue
        assert code == 1 and "of disk" in err and err.count("\n") == 1, err
        assert not (tmp_path / name).exists()


# ---- an extreme aspect ratio: tap tables built by range ------------------------------------

@pytest.mark.parametrize("size, method, boundary, align", [
    ("5000x7!", "bilinear", "truncate", "centers"),
    ("3001x5!", "lanczos", "reflect", "centers"),
    ("4x2999!", "nearest", "edge", "centers"),
    ("2503x3!", "bicubic", "constant", "corners"),
    ("3x2600!", "box", "truncate", "centers"),
])
def test_tables_too_large_to_build_whole_are_built_by_range(tmp_path, capsys, monkeypatch,
                                                            size, method, boundary, align):
    """Where the tap tables would be too large to hold whole (here made small, so that real
    sizes test it), the job streams, building the rows' table per group of strips and the
    columns' per block of outputs: the in-memory resize's pixels (float loops in both)."""
    from resample.engines import cpu
    from resample.jobs import plain
    from resample.spec import tables

    photo = skimage_data.astronaut()[::4, ::4][:97, :113]
    Image.fromarray(photo).save(tmp_path / "p.png")
    monkeypatch.setattr(cpu, "FIXED", False)                   # the blocks' loops: float
    monkeypatch.setattr(plain, "takes", lambda *args: False)   # (its 8-bit loops: fixed)
    args = ["--size", size, "-m", method, "--boundary", boundary, "--align", align]
    for order in ("rows", "cols"):          # (each pass order in both: the same float sums)
        monkeypatch.setattr(cpu, "FORCE_ORDER", order)
        code, _, err = run(capsys, tmp_path / "p.png", "-o", tmp_path / "whole.png", *args)
        assert code == 0 and "streamed" not in err, err
        with monkeypatch.context() as m:
            m.setattr(tables, "WHOLE_TABLE_BYTES", 4096)
            m.setattr(stream, "BLOCK_TAPS", 257)               # many groups and blocks
            m.setattr(stream, "STRIP_BYTES", 1)
            code, _, err = run(capsys, tmp_path / "p.png", "-o", tmp_path / "blocks.png",
                               *args)
        assert code == 0 and "streamed" in err and "tap tables built by range" in err, err
        np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "blocks.png")),
                                      np.asarray(Image.open(tmp_path / "whole.png")))


def test_an_extreme_aspect_ratio_streams_in_bounded_memory(tmp_path, capsys):
    """A 3,000,000x1 output (whole tables: 288 MB) of a 300x200 photo: its allocations stay
    a small multiple of the output (9 MB) instead of growing with its tables."""
    Image.fromarray(skimage_data.astronaut()[:200, :300]).save(tmp_path / "p.png")
    peak = _peak(capsys, tmp_path / "p.png", "-o", tmp_path / "wide.png", "--size",
                 "3000000x1!")
    assert peak < 80 << 20, peak
    with Image.open(tmp_path / "wide.png") as im:
        assert im.size == (3000000, 1)
        row = np.asarray(im)[0]
    steps = np.abs(np.diff(row[:5000].astype(int), axis=0))
    assert steps.max() <= 1 and row.std() > 10             # smooth locally, a photo overall


def test_an_extreme_aspect_ratio_of_an_input_that_does_not_stream(tmp_path, capsys):
    """A JPEG input does not stream: its 3000000x1 output (whole tables: about 290 MB) is
    resized in memory with its tables built by range (resample.ops.resize), so its
    allocations stay a small multiple of the output (9 MB) and of its PNG encoder's copies;
    a 1x3000000 one too."""
    Image.fromarray(skimage_data.astronaut()[:200, :300]).save(tmp_path / "p.jpg")
    for size, out_size in (("3000000x1!", (3000000, 1)), ("1x3000000!", (1, 3000000))):
        tracemalloc.start()
        code, _, err = run(capsys, tmp_path / "p.jpg", "-o", tmp_path / "w.png", "--size",
                           size, "--overwrite", "--exact")
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert code == 0 and "streamed" not in err, err
        assert peak < 80 << 20, peak
        with Image.open(tmp_path / "w.png") as im:
            assert im.size == out_size
            line = np.asarray(im).reshape(-1, 3)
        assert np.abs(np.diff(line[:5000].astype(int), axis=0)).max() <= 1
        assert line.std() > 10
