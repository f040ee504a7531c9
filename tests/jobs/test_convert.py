"""One file's full job (src/resample/jobs/convert.py): its input's header is read once, for
its size, whether it streams and whether a pyramid level serves, and the file is opened
again only to read pixels."""

import numpy as np
import pytest
import tifffile
from PIL import Image

from resample.cli.command import main
from resample.jobs import stream

skimage_data = pytest.importorskip("skimage.data")


@pytest.fixture
def headers_read(monkeypatch):
    """The paths stream.open_source was asked to open."""
    opened = []
    real = stream.open_source

    def spy(path):
        opened.append(str(path))
        return real(path)

    monkeypatch.setattr(stream, "open_source", spy)
    return opened


def test_a_tiff_s_header_is_read_once_a_job(tmp_path, headers_read):
    src = tmp_path / "photo.tif"        # 16-bit colour: the full job's (8-bit: the plain job's)
    tifffile.imwrite(src, skimage_data.astronaut()[:150, :170].astype(np.uint16) * 257)
    for args in (["--scale", "0.5"], ["--size", "9000x9000>"], ["--scale", "0.3", "--linear"],
                 ["--size", "40x40!", "-o", str(tmp_path / "o.jpg")]):
        argv = [str(src), "-q", *args] + ([] if "-o" in args else ["-o", str(tmp_path / "o.png")])
        assert main(argv) == 0
        assert headers_read == [str(src)], args
        headers_read.clear()
    with Image.open(tmp_path / "o.png") as im:
        assert im.size == (51, 45)


def test_a_pyramid_is_opened_again_only_to_read_its_level(tmp_path, headers_read):
    src = tmp_path / "pyramid.tif"
    photo = skimage_data.astronaut()
    with tifffile.TiffWriter(src) as tif:
        tif.write(photo, subifds=1, tile=(64, 64))
        tif.write(photo[::4, ::4], subfiletype=1, tile=(64, 64))
    assert main([str(src), "-q", "-o", str(tmp_path / "o.png"), "--size", "100x100"]) == 0
    assert headers_read == [str(src)] * 2           # the header, then the level's pixels
    with Image.open(tmp_path / "o.png") as im:
        assert im.size == (100, 100)
        assert np.asarray(im).std() > 20                # a photo, not a blank
