"""Point-cloud CSV files and the point-cloud commands."""

import os

import numpy as np
import pytest
from PIL import Image

import resample
from resample import ResampleError
from resample.cli.command import main
from resample.formats.pointcloud import read_csv, to_pixels, write_csv
from commands import run

skimage_data = pytest.importorskip("skimage.data")


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
    with pytest.raises(ResampleError, match="needs a frame"):
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
    # the default with the steered rule is order 1 (the weighted planes); --order 0 the means
    order1 = resample.reconstruct(cloud.xy, cloud.values, (128, 128), order=1)
    np.testing.assert_array_equal(api, order1)
    code, out, err = run(capsys, pts, "-o", back, "--size", "128x128", "--order", "0",
                         "--overwrite")
    assert code == 0, err
    order0 = resample.reconstruct(cloud.xy, cloud.values, (128, 128), order=0)
    assert np.abs(order0 - order1).max() > 1
    np.testing.assert_array_equal(np.asarray(Image.open(back)),
                                  np.clip(np.floor(order0 + 0.5), 0, 255))
    # --interpolate no: the rebuild does not pass through the points (the default does)
    code, out, err = run(capsys, pts, "-o", back, "--size", "128x128", "--interpolate", "no",
                         "--overwrite")
    assert code == 0, err
    smooth = resample.reconstruct(cloud.xy, cloud.values, (128, 128), interpolate=False)
    np.testing.assert_array_equal(np.asarray(Image.open(back)),
                                  np.clip(np.floor(smooth + 0.5), 0, 255))
    rows, cols = cloud.xy[:, 1].astype(int), cloud.xy[:, 0].astype(int)
    assert np.abs(api[rows, cols] - cloud.values).max() < 1e-9
    assert np.abs(smooth[rows, cols] - cloud.values).max() > 1
    # explicit sigmas (a fit's points carry them, fitted for order 0 without interpolating):
    # order 0 and no interpolation by default
    sigma = np.full(len(cloud.xy), 1.5)
    np.testing.assert_array_equal(
        resample.reconstruct(cloud.xy, cloud.values, (128, 128), sigma=sigma),
        resample.reconstruct(cloud.xy, cloud.values, (128, 128), sigma=sigma, order=0,
                             interpolate=False))


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
    (["-o", "o.png", "--sigma", "abc"], 2, "not a number, auto or steered"),
    (["-o", "o.png", "--cutoff", "-1"], 2, "--cutoff"),
    (["-o", "o.png", "--coords", "unit"], 2, "needs a frame"),
    (["-o", "o.png", "--scale", "2", "--size", "4x4"], 2, "give --scale or --size, not both"),
    (["--size", "4x4"], 2, "needs -o"),
    (["-o", "o.png", "--size", "4y4"], 2, "is not WxH"),
    (["-o", "o.png", "--method", "bicubic"], 2, "--method: for images only"),
    (["-o", "o.png", "--boundary", "edge", "--no-antialias"], 2,
     "--boundary, --no-antialias: for images only"),
    (["-o", "o.png", "--fill", "3"], 2, "--fill applies with --holes constant"),
])
def test_point_cloud_usage_errors(tmp_path, capsys, args, code, match):
    pts = _write(tmp_path, "x,y,v\n1,1,100\n2,2,50\n")
    args = [str(tmp_path / a) if a == "o.png" else a for a in args]
    got, _, err = run(capsys, pts, *args)
    if match == "needs a frame":
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


# --- the frame (docs/conventions.md: "# frame: WxH") -------------------------------------------------

def test_the_frame_is_read_and_written(tmp_path):
    cloud = read_csv(_write(tmp_path, "# made by hand\n#Frame : 64 X 32\nx,y,v\n1,2,3\n"))
    assert cloud.frame == (64, 32)
    assert read_csv(_write(tmp_path, "x,y,v\n1,2,3\n")).frame is None
    write_csv(tmp_path / "f.csv", [[1.0, 2.0]], [[3.0]], frame=(640, 480))
    assert open(tmp_path / "f.csv").readline() == "# frame: 640x480\n"
    assert read_csv(tmp_path / "f.csv").frame == (640, 480)


@pytest.mark.parametrize("text, match", [
    ("# frame: 64\nx,y,v\n1,2,3\n", "line 1: the frame must read"),
    ("# frame: 0x5\nx,y,v\n1,2,3\n", "line 1: the frame must read"),
    ("# frame: 99999999999x5\nx,y,v\n1,2,3\n", "line 1: the frame must read"),
    ("# frame: 4x4\n# frame: 5x4\nx,y,v\n1,2,3\n", "line 2: a second, different frame"),
])
def test_a_bad_frame_names_its_line(tmp_path, text, match):
    with pytest.raises(ResampleError, match=match):
        read_csv(_write(tmp_path, text))


def test_points_map_onto_the_output_as_a_resize_maps_pixels():
    from resample.formats.pointcloud import onto_output

    xy = np.array([[0.0, 0.0], [9.0, 4.0], [-0.5, -0.5]])
    out, sigma = onto_output(xy, np.array([1.0, 2.0, 3.0]), (10, 5), (20, 5))
    np.testing.assert_allclose(out, [[0.5, 0.0], [18.5, 4.0], [-0.5, -0.5]])   # edges stay
    np.testing.assert_allclose(sigma, [[2, 1], [4, 2], [6, 3]])                # now (N, 2)
    out, sigma = onto_output(xy, np.array([1.0, 2.0, 3.0]), (10, 5), (5, 2.5))
    np.testing.assert_allclose(sigma, [0.5, 1.0, 1.5])                         # still (N,)
    same, s = onto_output(xy, None, (10, 5), (10, 5))
    assert same is xy and s is None


def _source(tmp_path):
    path = tmp_path / "photo.png"
    Image.fromarray(skimage_data.astronaut()[::6, ::4]).save(path)         # 86x128
    return str(path)


@pytest.mark.parametrize("make", [
    ["points", "--count", "700"],
    ["points", "--count", "700", "--pattern", "grid"],
    ["fit", "--count", "300", "--steps", "3", "-q"],
])
def test_a_round_trip_at_the_frame_gives_the_source_size(tmp_path, capsys, make):
    src = _source(tmp_path)
    pts = str(tmp_path / "pts.csv")
    assert main([make[0], src, "-o", pts, *make[1:]]) == 0
    out = str(tmp_path / "back.png")
    code, _, err = run(capsys, pts, "-o", out)
    assert code == 0 and "frame" not in err, err
    assert Image.open(out).size == (128, 86)
    code, _, _ = run(capsys, pts, "-o", out, "--scale", "0.5")
    assert code == 0 and Image.open(out).size == (64, 43)
    code, _, _ = run(capsys, pts, "-o", out, "--size", "64x64")             # fit inside
    assert code == 0 and Image.open(out).size == (64, 43)


def test_without_a_frame_the_points_span_it_and_a_note_says_so(tmp_path, capsys):
    pts = _write(tmp_path, "x,y,v\n0,0,10\n9,0,200\n0,5,90\n9,5,30\n")
    out = str(tmp_path / "o.png")
    code, _, err = run(capsys, pts, "-o", out)
    assert code == 0 and "names no frame" in err and "10x6" in err
    assert Image.open(out).size == (10, 6)
    code, _, err = run(capsys, pts, "-o", out, "--size", "20x12")
    assert code == 0 and Image.open(out).size == (20, 12)


def test_the_readme_point_cloud_example_gives_the_photo(tmp_path, capsys):
    """README: `resample points examples/photo.png -o pts.csv --fraction 0.05`, then
    `resample pts.csv -o rebuilt.png --size 512x512`: the whole photo at 512x512."""
    photo_path = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                              "examples", "photo.png")
    pts, out = str(tmp_path / "pts.csv"), str(tmp_path / "rebuilt.png")
    assert main(["points", photo_path, "-o", pts, "--fraction", "0.05"]) == 0
    code, _, _ = run(capsys, pts, "-o", out, "--size", "512x512")
    assert code == 0
    rebuilt = np.asarray(Image.open(out)).astype(float)
    photo = np.asarray(Image.open(photo_path)).astype(float)
    want = resample.resize(photo, shape=(512, 512), method="bicubic")
    assert rebuilt.shape == want.shape
    # 15.5 here; the photo in the top-left quarter (the old behaviour) is 102, shifted by
    # 20 pixels 48
    assert np.abs(rebuilt - want).mean() < 25


def test_options_of_the_other_kind_of_input_are_refused(tmp_path, capsys):
    src = _source(tmp_path)
    for flag, value in (("--cutoff", "2"), ("--holes", "constant"), ("--sigma", "1"),
                        ("--order", "1"), ("--interpolate", "no")):
        code, _, err = run(capsys, src, "-o", str(tmp_path / "o.png"), "--scale", "2", flag, value)
        assert code == 2 and f"{flag}: for point-cloud CSV input only" in err


def test_steered_sigma_in_the_csv(tmp_path, capsys):
    """sigma_x,sigma_y,theta columns: read, written, and scaled with the frame (the covariance
    S Sigma S of an anisotropic scale, taken apart again)."""
    from resample.formats.pointcloud import onto_output

    rng = np.random.default_rng(3)
    xy, values = rng.uniform(0, 20, (25, 2)), rng.uniform(0, 255, (25, 1))
    sigma = np.column_stack([rng.uniform(0.5, 3, (25, 2)), rng.uniform(-3, 3, 25)])
    write_csv(tmp_path / "s.csv", xy, values, sigma, frame=(21, 21))
    cloud = read_csv(tmp_path / "s.csv")
    assert cloud.sigma.shape == (25, 3) and cloud.frame == (21, 21)
    np.testing.assert_allclose(cloud.sigma, sigma, rtol=1e-5)
    with pytest.raises(ResampleError, match="line 2: sigma must be above 0"):
        read_csv(_write(tmp_path, "x,y,v,sigma_x,sigma_y,theta\n1,2,3,0,1,0.5\n"))
    assert read_csv(_write(tmp_path, "x,y,v,sigma_x,sigma_y,theta\n1,2,3,1,1,-2\n")).sigma[0, 2] == -2

    def covariance(s):
        c, n = np.cos(s[:, 2]), np.sin(s[:, 2])
        rot = np.stack([np.stack([c, -n], -1), np.stack([n, c], -1)], -2)       # (N, 2, 2)
        return rot @ (np.eye(2) * (s[:, :2, None] ** 2)) @ np.swapaxes(rot, 1, 2)

    _, scaled = onto_output(xy, sigma, (21, 21), (42, 7))
    scale = np.diag([2.0, 1 / 3])
    np.testing.assert_allclose(covariance(scaled), scale @ covariance(sigma) @ scale,
                               rtol=1e-9, atol=1e-12)
    out = str(tmp_path / "o.png")
    code, _, _ = run(capsys, str(tmp_path / "s.csv"), "-o", out, "--size", "42x7!")
    assert code == 0 and Image.open(out).size == (42, 7)


def test_without_sigma_columns_the_steered_rule_rebuilds(tmp_path, capsys):
    """A CSV without sigma columns: the command renders what reconstruct(sigma="steered") does
    (the default), and --sigma auto the isotropic rule, at the frame's size (float TIFF)."""
    rng = np.random.default_rng(4)
    xy = rng.uniform(0, 40, (300, 2))
    values = np.where(xy[:, :1] + xy[:, 1:] < 40, 30.0, 220.0)           # a diagonal edge
    write_csv(tmp_path / "p.csv", xy, values, frame=(41, 41))
    cloud = read_csv(tmp_path / "p.csv")                     # as written (rounded)
    got = {}
    for rule in ("steered", "auto"):
        out = str(tmp_path / f"{rule}.tif")
        extra = ("--sigma", "auto") if rule == "auto" else ()
        code, _, err = run(capsys, str(tmp_path / "p.csv"), "-o", out, *extra)
        assert code == 0, err
        got[rule] = np.asarray(Image.open(out), np.float64)
        want = resample.reconstruct(cloud.xy, cloud.values[:, 0], (41, 41), sigma=rule)
        np.testing.assert_allclose(got[rule], want, rtol=1e-5, atol=1e-3)
    assert np.abs(got["steered"] - got["auto"]).max() > 1
