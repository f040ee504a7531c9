"""Fitting points to an image with the exact gradients."""

import numpy as np
import pytest
from PIL import Image

import resample
from resample import ResampleError
from resample.cli.command import main
from resample.ops.fit import fit, parse_learn
from resample.formats.pointcloud import read_csv

skimage_data = pytest.importorskip("skimage.data")


@pytest.fixture(scope="module")
def photo():
    return skimage_data.camera()[::8, ::8].astype(np.float64)      # 64x64 real photo


def test_each_parameter_group_lowers_the_loss(photo):
    results = {}
    for learn in [("positions",), ("values",), ("sigma",), ("positions", "values", "sigma")]:
        f = fit(photo, 200, steps=60, learn=learn)
        assert f.history[-1] < 0.97 * f.history[0], learn
        results[learn] = f.history[-1]
    assert results[("positions", "values", "sigma")] < min(
        results[("positions",)], results[("values",)], results[("sigma",)])


def test_learning_the_rotation_fits_better(photo):
    """Steered Gaussians (sigma (N, 3)): the rotation's exact gradient lowers the loss below
    what the axes alone reach."""
    axes = fit(photo, 200, steps=120, learn=("positions", "values", "sigma"))
    steered = fit(photo, 200, steps=120)
    assert steered.sigma.shape == (200, 3) and axes.sigma.shape == (200, 2)
    assert np.abs(steered.sigma[:, 2]).max() > 0.05
    assert steered.history[steered.best_step] < 0.97 * axes.history[axes.best_step]
    out = resample.reconstruct(steered.xy, steered.values, photo.shape, sigma=steered.sigma)
    assert np.abs(out[..., 0] - photo).mean() == pytest.approx(
        steered.history[steered.best_step], rel=1e-6)


def test_fitted_points_render_back_through_the_api(photo):
    f = fit(photo, 150, steps=40, loss="l2")
    out = resample.reconstruct(f.xy, f.values, photo.shape, sigma=f.sigma)
    assert f.sigma.shape == (len(f.xy), 3) and (f.sigma[:, :2] > 0).all()   # (sx, sy, theta)
    # the points returned are the iterate of lowest loss, and render back to that loss
    assert f.history[f.best_step] == min(f.history)
    assert np.mean((out[..., 0] - photo) ** 2) == pytest.approx(f.history[f.best_step],
                                                                rel=1e-6)


def test_zero_steps_is_the_grid_start(photo):
    f = fit(photo, 100, steps=0)
    assert len(f.history) == 1
    grid = resample.reconstruct(f.xy, f.values, photo.shape, sigma=f.sigma)
    assert np.abs(grid[..., 0] - photo).mean() == pytest.approx(f.history[0])


@pytest.mark.parametrize("kwargs, match", [
    (dict(count=0), "count"), (dict(count=10**6), "count"), (dict(loss="l3"), "unknown loss"),
    (dict(learn=("colour",)), "learn"), (dict(steps=-1), "steps")])
def test_bad_arguments(photo, kwargs, match):
    args = dict(count=10)
    args.update(kwargs)
    with pytest.raises(ResampleError, match=match):
        fit(photo, **args)


def test_parse_learn():
    assert parse_learn("positions, sigma") == ("positions", "sigma")
    for bad in ["", "size", "positions,foo"]:
        with pytest.raises(ResampleError):
            parse_learn(bad)


def test_fit_command_round_trip(tmp_path, capsys):
    src, pts, back = tmp_path / "p.png", tmp_path / "pts.csv", tmp_path / "back.png"
    rgb = skimage_data.astronaut()[::8, ::8].copy()
    Image.fromarray(rgb).save(src)
    code = main(["fit", str(src), "-o", str(pts), "--count", "300", "--steps", "30", "-q"])
    assert code == 0
    cloud = read_csv(pts)
    assert cloud.xy.shape == (300, 2)
    assert cloud.values.shape[1] == 3 and cloud.sigma.shape[1] == 3     # steered: + theta
    assert main([str(pts), "-o", str(back), "--size", "64x64", "-q"]) == 0
    assert np.asarray(Image.open(back)).shape == (64, 64, 3)
    capsys.readouterr()
    for args in [["--count", "10", "--learn", "colour"], ["--count", "0"],
                 ["--count", "10", "-o", str(tmp_path / "x.png")], ["--count", "999999"]]:
        argv = ["fit", str(src)] + (["-o", str(pts)] if "-o" not in args else []) + args
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("resample: error:") and len(err.strip().splitlines()) == 1


def test_a_fit_for_order_1_lowers_its_own_loss():
    """fit(order=1) optimises the order-1 rebuild through its gradients (order1_vjp): the
    loss falls, and the best iterate renders with order 1 to the loss it recorded."""
    import resample

    img = np.asarray(pytest.importorskip("skimage.data").camera()[::8, ::8], np.float64)
    f = fit(img, 200, steps=30, order=1)
    assert min(f.history) < 0.8 * f.history[0]
    out = resample.reconstruct(f.xy, f.values, img.shape, sigma=f.sigma, order=1)[..., 0]
    assert np.abs(out - img).mean() == pytest.approx(min(f.history), rel=1e-6)
    with pytest.raises(resample.ResampleError, match="order"):
        fit(img, 200, steps=1, order=3)
