"""Streaming PNG resize (resample.stream): strip by strip, the same pixels as in memory, in
bounded memory, chosen on its own when an image would not fit."""

import tracemalloc
import zlib

import numpy as np
import pytest
from PIL import Image

from resample import devices, png, stream
from resample.cli import main

skimage_data = pytest.importorskip("skimage.data")


def run(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


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
        return png.read(path)[0]
    return np.asarray(Image.open(path))


@pytest.mark.parametrize("kind", ["grey8", "rgb8", "grey16", "rgb16"])
@pytest.mark.parametrize("method", ["bilinear", "bicubic", "lanczos", "gri", "box", "mitchell"])
def test_streaming_equals_the_resize_in_memory(tmp_path, capsys, kind, method):
    rng = np.random.default_rng(zlib.crc32(f"{kind}{method}".encode()))
    for k, boundary in enumerate(["truncate", "edge", "reflect", "mirror", "constant",
                                  "extrapolate"]):
        h, w = (int(v) for v in rng.integers(1, 300, size=2))
        with open(tmp_path / "in.png", "wb") as f:           # (Pillow writes no RGB16)
            png.write(f, _photo(kind, h, w, rng))
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


def _peak(capsys, *args):
    tracemalloc.start()
    code, _, err = run(capsys, *args)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert code == 0 and "streamed" in err, err
    return peak


def test_an_image_that_would_not_fit_streams_in_bounded_memory(tmp_path, capsys, monkeypatch):
    """With little memory left, a PNG that the in-memory resize would not fit in streams on
    its own; its allocations do not grow with the image's height (twice the rows: about the
    same peak) and stay a fraction of its size; the pixels are the in-memory resize's."""
    big = _big_png(tmp_path / "big.png", 6)                           # 3072x2048, 18 MB
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "big.png")), big)
    _big_png(tmp_path / "taller.png", 12)                             # 6144x2048, 36 MB
    monkeypatch.setattr(devices, "available_memory", lambda: 40 << 20)
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
