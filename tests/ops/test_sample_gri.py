"""sample() against the reference; the kernels' defining properties; gri1d on non-uniform data."""

import functools
import zlib

import numpy as np
import pytest

import resample
from resample import ResampleError
from resample.spec.methods import METHODS
from resample.spec.taps import kernel_values, output_positions
from reference import KERNELS, ref_sample

BOUNDARIES = ["edge", "reflect", "mirror", "wrap", "constant", "extrapolate"]


@pytest.mark.parametrize("method", list(METHODS))
@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_sample_matches_reference(method, boundary):
    rng = np.random.default_rng(zlib.crc32(f"{method}{boundary}".encode()))
    for h, w in [(1, 1), (5, 8), (9, 3)]:
        img = rng.normal(size=(h, w, 2))
        # inside, near the border and far outside (periodic modes fold them back)
        xy = np.concatenate([rng.uniform(-3, w + 2, size=(30, 2)) * [1, h / w],
                             rng.uniform(-40, 40, size=(5, 2))])
        fill = float(rng.normal())
        ours = resample.sample(img, xy, method=method, boundary=boundary, fill=fill)
        ref = ref_sample(img, xy, method, boundary, fill)
        np.testing.assert_allclose(ours, ref, atol=1e-9 * max(1, np.abs(ref).max()))


def test_sample_shapes_and_dtypes():
    img = (np.arange(48).reshape(6, 8)).astype(np.uint8)
    out = resample.sample(img, np.zeros((4, 5, 2)))
    assert out.shape == (4, 5) and out.dtype == np.uint8 and (out == img[0, 0]).all()
    rgb = np.stack([img] * 3, axis=-1).astype(np.float32)
    out = resample.sample(rgb, [[1.0, 2.0]])
    assert out.shape == (1, 3) and out.dtype == np.float32
    np.testing.assert_array_equal(out[0], rgb[2, 1])          # (x, y) = (col, row)
    for bad in [np.zeros((3, 3)), np.array([[np.nan, 0.0]]), np.array([[1 + 2j, 0.0]]),
                [[1.0, 2.0], [3.0]]]:
        with pytest.raises(ResampleError):
            resample.sample(img, bad)
    # tables past the memory limit are refused before anything is built (a wide kernel)
    wide = resample.Method("wide", resample.METHODS["lanczos"].id, 2000.0)
    with pytest.raises(ResampleError, match="memory"):
        resample.sample(img, np.zeros((200_000, 2)), method=wide)


@pytest.mark.parametrize("method", list(METHODS))
def test_sample_on_the_resize_grid_equals_resize_without_antialias(method):
    rng = np.random.default_rng(1)
    img = rng.random((17, 23, 3))
    for shape in [(40, 9), (6, 50)]:
        for align in ["centers", "corners"]:
            y, _ = output_positions(17, shape[0], align, method == "nearest")
            x, _ = output_positions(23, shape[1], align, method == "nearest")
            grid = np.stack(np.meshgrid(x, y), axis=-1)
            np.testing.assert_allclose(        # (edge: sample's default; resize's is truncate)
                resample.sample(img, grid, method=method),
                resample.resize(img, shape=shape, method=method, align=align, antialias=False,
                                boundary="edge"),
                atol=1e-12)


# --- kernel definitions -----------------------------------------------------------------------

@pytest.mark.parametrize("name", list(METHODS))
def test_kernels_match_independent_formulas(name):
    u = np.linspace(-4, 4, 4001)
    k, support = KERNELS[name]
    np.testing.assert_allclose(kernel_values(METHODS[name], u), [k(v) for v in u], atol=1e-12)
    assert METHODS[name].support == support


@pytest.mark.parametrize("name", list(METHODS))
def test_kernel_slopes_are_the_independent_formulas_derivatives(name):
    """dK/du (the points' gradient of sampling) is the central difference of the reference
    formulas away from kinks, and the derivative from the left at them (u = 0 and +-1 for
    bilinear; the steps of nearest and box have slope 0)."""
    k, _ = KERNELS[name]
    u = np.linspace(-4, 4, 8001) + 1.234e-5
    h = 1e-6
    want = np.array([(k(v + h) - k(v - h)) / (2 * h) for v in u])
    smooth = np.abs(u * 2 - np.round(u * 2)) > 1e-4          # off integers and half-integers
    got = kernel_values(METHODS[name], u, slope=True)
    np.testing.assert_allclose(got[smooth], want[smooth], atol=2e-7)
    kinks = np.array([-1.0, 0.0, 1.0, -0.5, 0.5, 1.5, -2.0, 2.0])
    left = np.array([(k(v) - k(v - h)) / h for v in kinks])
    np.testing.assert_allclose(kernel_values(METHODS[name], kinks, slope=True),
                               np.where(np.abs(left) > 1e3, 0.0, left), atol=2e-5)


@pytest.mark.parametrize("name", ["bilinear", "bicubic", "gri"])
def test_interpolating_and_exact_on_lines(name):
    kern = functools.partial(kernel_values, METHODS[name])
    i = np.arange(-4, 5)
    np.testing.assert_allclose(kern(i.astype(float)), (i == 0).astype(float), atol=1e-15)
    for x in np.random.default_rng(0).uniform(-0.5, 0.5, 50):
        w = kern(i - x)
        assert w.sum() == pytest.approx(1.0, abs=1e-12)
        assert (w * i).sum() == pytest.approx(x, abs=1e-12)


def test_gri_kernel_is_the_local_quartic_and_c1():
    rng = np.random.default_rng(2)
    kern = functools.partial(kernel_values, METHODS["gri"])
    for _ in range(20):
        ym1, y0, y1 = rng.normal(size=3)
        t = rng.uniform(-0.5, 0.5)
        s = y1 - 2 * y0 + ym1
        quartic = y0 + (y1 - ym1) / 2 * t + 1.5 * s * t**2 - 2 * s * t**4
        assert ym1 * kern(np.array(t + 1.0)) + y0 * kern(np.array(t)) + y1 * kern(
            np.array(t - 1.0)) == pytest.approx(quartic, abs=1e-12)
    # C1: value and slope continuous at the joins |u| = 1/2 and 3/2
    for u0 in (0.5, 1.5):
        e = 1e-7
        left, right = kern(np.array([u0 - e, u0 + e]))
        assert abs(left - right) < 1e-6
        d_left = (kern(np.array(u0 - e)) - kern(np.array(u0 - 2 * e))) / e
        d_right = (kern(np.array(u0 + 2 * e)) - kern(np.array(u0 + e))) / e
        assert abs(d_left - d_right) < 1e-5


# --- gri1d -------------------------------------------------------------------------------------

def _solve_5x5(x, y, i, q):
    """The quartic of docs/conventions.md for query q around sample i, by solving its 5x5 system."""
    xl, x0, xr = x[i - 1], x[i], x[i + 1]
    yl, y0, yr = y[i - 1], y[i], y[i + 1]
    ml, mr = (xl - x0) / 2, (xr - x0) / 2
    rows = [[1, 0, 0, 0, 0], [1, mr, mr**2, mr**3, mr**4], [0, 1, 2 * mr, 3 * mr**2, 4 * mr**3],
            [1, ml, ml**2, ml**3, ml**4], [0, 1, 2 * ml, 3 * ml**2, 4 * ml**3]]
    rhs = [y0, (y0 + yr) / 2, (yr - y0) / (xr - x0), (y0 + yl) / 2, (yl - y0) / (xl - x0)]
    a = np.linalg.solve(np.array(rows, float), np.array(rhs, float))
    d = q - x0
    return sum(a[k] * d**k for k in range(5))


def test_gri1d_non_uniform_agrees_with_the_5x5_system():
    rng = np.random.default_rng(4)
    x = np.cumsum(rng.uniform(0.2, 3.0, size=30))
    y = np.sin(x) + rng.normal(scale=0.1, size=30)
    for q in rng.uniform(x[1], x[-2], size=200):
        i = int(np.argmin(np.abs(x - q)))
        if 1 <= i <= len(x) - 2:
            assert resample.gri1d(x, y, q) == pytest.approx(_solve_5x5(x, y, i, q), abs=1e-9)


def test_gri1d_conditions_hold_on_the_curve():
    rng = np.random.default_rng(6)
    x = np.cumsum(rng.uniform(0.5, 2.0, size=12))
    y = rng.normal(size=12)
    np.testing.assert_allclose(resample.gri1d(x, y, x), y, atol=1e-12)
    mids = (x[1:] + x[:-1]) / 2
    np.testing.assert_allclose(resample.gri1d(x, y, mids), (y[1:] + y[:-1]) / 2, atol=1e-9)
    e = 1e-6
    slopes = (resample.gri1d(x, y, mids + e) - resample.gri1d(x, y, mids - e)) / (2 * e)
    np.testing.assert_allclose(slopes, np.diff(y) / np.diff(x), atol=1e-5)


def test_gri1d_uniform_is_the_kernel_and_lines_are_exact():
    rng = np.random.default_rng(8)
    y = rng.normal(size=15)
    x = np.arange(15.0)
    q = rng.uniform(1, 13, size=100)
    kern = functools.partial(kernel_values, METHODS["gri"])
    expected = [(kern(x - v) * y).sum() for v in q]
    np.testing.assert_allclose(resample.gri1d(x, y, q), expected, atol=1e-12)
    xs = np.cumsum(rng.uniform(0.1, 2.0, size=9))
    q = rng.uniform(xs[0] - 5, xs[-1] + 5, size=50)
    np.testing.assert_allclose(resample.gri1d(xs, 3 * xs - 2, q), 3 * q - 2, atol=1e-9)


def test_gri1d_shapes_and_errors():
    x = np.array([0.0, 1.0, 3.0])
    y = np.array([[0.0, 1.0], [1.0, 2.0], [0.0, 5.0]])
    assert resample.gri1d(x, y, np.zeros((4, 2))).shape == (4, 2, 2)
    assert resample.gri1d([2.0], [7.0], [0.0, 5.0]).tolist() == [7.0, 7.0]
    for xs in ([0.0, 0.0, 1.0], [1.0, 0.0, 2.0]):
        with pytest.raises(ResampleError, match="strictly increasing"):
            resample.gri1d(xs, [1.0, 2.0, 3.0], [0.5])
    with pytest.raises(ResampleError):
        resample.gri1d([0.0, 1.0], [1.0], [0.5])
