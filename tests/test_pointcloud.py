"""Point-cloud CSV files and the point-cloud commands."""

import os

import numpy as np
import pytest
from PIL import Image

import resample
from resample import ResampleError
from resample.cli import main
from resample.pointcloud import read_csv, to_pixels, write_csv

skimage_data = pytest.importorskip("skimage.data")


def run(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def _write(tmp_path, text, name="p.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_read_with_and_without_header(tmp_path):
    c = read_csv(_write(tmp_path, "# points\nx,y,r,g,b,sigma_x,sigma_y\n1,2,3,4,5,0.5,1.5\n\n"
                                  "2.5,3,0,0,0,1,1\n"))
    np.testing.assert_array_equal(c.xy, [[1, 2], [2.5, 3]])
    assert c.values.shape == (2, 3) and c.sigma.shape == (2, 2)
    c = read_csv(_write(tmp_path, "1\t2\t9\n3\t4\t7\n", "p.tsv"))
    assert c.values.shape == (2, 1) and c.sigma is None
    c = read_csv(_write(tmp_path, "x,y,v,sigma\n0,0,1,2\n"))
    assert c.sigma.shape == (1,)
    c = read_csv(_write(tmp_path, "X, Y, R, G, B, A\n0, 0, 1, 2, 3, 4\n"))
    assert c.values.shape == (1, 4)


@pytest.mark.parametrize("text, match", [
    ("", "no points"), ("# only a comment\n", "no points"),
    ("x,y,v\n", r"no points \(only a header\)"),
    ("1,2,3\n1,2\n", "line 2: expected 3 fields, got 2"),
    ("x,y,v\n1,2,3\n4,abc,6\n", "line 3: 'abc' is not a number"),
    ("1,2,nan\n", "line 1: NaN or infinite"), ("1,inf,3\n", "line 1: NaN or infinite"),
    ("1,1e308,3\n", "line 1: coordinate out of range"),
    ("x,y,v,sigma\n1,2,3,-1\n", "line 2: sigma must be above 0"),
    ("x,y,v,sigma\n1,2,3,0\n", "line 2: sigma must be above 0"),
    ("1,2,3,4,5,6,7,8\n", "1, 3 or 4 values"), ("a,b,c\n1,2,3\n", "header must start with x,y"),
    ("x,y,q\n1,2,3\n", "unknown header"),
])
def test_bad_files_name_the_line(tmp_path, text, match):
    with pytest.raises(ResampleError, match=match):
        read_csv(_write(tmp_path, text))


def test_coordinate_systems():
    xy = np.array([[0.0, 0.0], [1.0, 1.0]])
    np.testing.assert_allclose(to_pixels(xy, "unit", (10, 4)), [[-0.5, -0.5], [9.5, 3.5]])
    np.testing.assert_allclose(to_pixels(xy - 0.5, "normalized", (10, 4)), [[2, 0.5], [7, 2.5]])
    with pytest.raises(ResampleError, match="needs --size"):
        to_pixels(xy, "unit", None)


def test_write_read_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    xy, values, sigma = rng.uniform(0, 50, (30, 2)), rng.uniform(0, 255, (30, 3)), rng.uniform(1, 2, 30)
    write_csv(tmp_path / "a.csv", xy, values, sigma)
    c = read_csv(tmp_path / "a.csv")
    np.testing.assert_allclose(c.xy, xy, rtol=1e-5)
    np.testing.assert_allclose(c.values, values, rtol=1e-5)
    np.testing.assert_allclose(c.sigma, sigma, rtol=1e-5)


def test_points_then_rebuild_round_trip(tmp_path, capsys):
    photo = skimage_data.astronaut()[::4, ::4].copy()      # 128x128 real photo
    src = tmp_path / "photo.png"
    Image.fromarray(photo).save(src)
    pts, back, weights = tmp_path / "pts.csv", tmp_path / "back.png", tmp_path / "z.png"
    assert run(capsys, "points", src, "-o", pts, "--fraction", "0.2", "--seed", "3")[0] == 0
    cloud = read_csv(pts)
    assert len(cloud.xy) == round(0.2 * 128 * 128)
    code, out, err = run(capsys, pts, "-o", back, "--size", "128x128", "--weights", weights)
    assert code == 0, err
    rebuilt = np.asarray(Image.open(back)).astype(float)
    assert rebuilt.shape == photo.shape
    flat = np.abs(photo - photo.mean(axis=(0, 1))).mean()
    assert np.abs(rebuilt - photo).mean() < 0.4 * flat   # a real rebuild, far from flat
    z = np.asarray(Image.open(weights))
    assert z.shape == (128, 128) and z.max() == 255
    # the same through the API, from the same points
    api = resample.reconstruct(cloud.xy, cloud.values, (128, 128))
    np.testing.assert_array_equal(rebuilt, np.clip(np.floor(api + 0.5), 0, 255))


def test_grid_pattern_and_size_from_coordinates(tmp_path, capsys):
    src = tmp_path / "photo.png"
    Image.fromarray(skimage_data.camera()[::8, ::8]).save(src)      # 64x64 grey
    pts = tmp_path / "g.csv"
    for count in (256, 300, 7, 4096):
        assert run(capsys, "points", src, "-o", pts, "--count", count, "--pattern", "grid")[0] == 0
        cloud = read_csv(pts)
        assert len(cloud.xy) == count and cloud.values.shape == (count, 1)
        assert len(np.unique(cloud.xy, axis=0)) == count
    code, out, _ = run(capsys, pts, "-o", tmp_path / "g.png")
    assert code == 0 and Image.open(tmp_path / "g.png").mode == "L"


def test_points_outside_are_counted(tmp_path, capsys):
    pts = _write(tmp_path, "x,y,v\n-5,1,100\n2,2,50\n3,3,0\n")
    code, _, err = run(capsys, pts, "-o", tmp_path / "o.png", "--size", "4x4")
    assert code == 0 and "1 of 3 points lie outside the 4x4 frame" in err


def test_gmm_method_on_an_image(tmp_path, capsys):
    photo = skimage_data.astronaut()[::2, ::2].copy()                    # 256x256
    small = resample.resize(photo, scale=0.5, method="bilinear")
    src = tmp_path / "small.png"
    Image.fromarray(small).save(src)
    code, out, _ = run(capsys, src, "--method", "gmm", "--scale", "2")
    assert code == 0
    big = np.asarray(Image.open(out.strip())).astype(float)
    bicubic = resample.resize(small, scale=2, method="bicubic").astype(float)
    assert big.shape == photo.shape
    # pixels as points rebuild the photo about as well as bicubic does
    assert np.abs(big - photo).mean() < 1.15 * np.abs(bicubic - photo).mean()


@pytest.mark.parametrize("args, code, match", [
    (["-o", "o.png", "--sigma", "0"], 2, "--sigma must be"),
    (["-o", "o.png", "--sigma", "abc"], 2, "not a number or auto"),
    (["-o", "o.png", "--cutoff", "-1"], 2, "--cutoff"),
    (["-o", "o.png", "--coords", "unit"], 2, "needs --size"),
    (["-o", "o.png", "--scale", "2"], 2, "--scale does not apply"),
    (["--size", "4x4"], 2, "needs -o"),
    (["-o", "o.png", "--size", "50%"], 2, "needs WxH"),
])
def test_point_cloud_usage_errors(tmp_path, capsys, args, code, match):
    pts = _write(tmp_path, "x,y,v\n1,1,100\n2,2,50\n")
    args = [str(tmp_path / a) if a == "o.png" else a for a in args]
    got, _, err = run(capsys, pts, *args)
    if match == "needs --size":
        code = 1                                  # found while reading: a runtime error
    assert got == code and match in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o.png").exists()


@pytest.mark.parametrize("text", ["", "x,y,v\n", "1,2,3\n1,2\n", "1,2,x\n", "1,2,nan\n", "1,2,inf\n",
                                  "x,y,v,sigma\n1,2,3,-2\n", "1,1e308,3\n"])
def test_bad_csv_on_the_command_line(tmp_path, capsys, text):
    pts = _write(tmp_path, text)
    code, _, err = run(capsys, pts, "-o", tmp_path / "o.png", "--size", "8x8")
    assert code == 1 and err.startswith("resample: error:") and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o.png").exists()
    assert [p for p in os.listdir(tmp_path) if p.startswith(".resample-")] == []


def test_points_usage(tmp_path, capsys):
    src = tmp_path / "photo.png"
    Image.fromarray(skimage_data.camera()[::8, ::8]).save(src)
    for args in [[], ["--count", "5", "--fraction", "0.1"], ["--count", "0"],
                 ["--fraction", "2"], ["--count", "5", "-o", tmp_path / "x.png"]]:
        argv = ["points", src] + (["-o", tmp_path / "x.csv"] if "-o" not in args else []) + args
        code, _, err = run(capsys, *argv)
        assert code == 2 and err.startswith("resample: error:"), (args, err)
