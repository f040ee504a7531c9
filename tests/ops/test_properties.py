"""Property-based tests of the API (hypothesis): any shape from 1x1 up, extreme aspect ratios,
scales from 1e-3 to 1e3, every dtype, NaN inside float images, and every method, alignment
and boundary.  Derandomized, so CI sees the same examples on every run."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import resample

METHODS = [*resample.METHODS, "gmm"]            # every method, and pixels as points
BOUNDARIES = list(resample.BOUNDARIES)           # every boundary the package has
DTYPES = [np.uint8, np.uint16, np.int16, np.int32, np.float16, np.float32, np.float64]
MAX_SIDE = 160          # keeps every example small: the properties do not depend on size
SETTINGS = dict(deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@st.composite
def axis(draw):
    """(input length, scale) with the output no longer than MAX_SIDE."""
    scale = draw(st.floats(1e-3, 1e3, allow_nan=False, allow_infinity=False))
    n_max = max(1, min(MAX_SIDE, int(MAX_SIDE / scale)))
    n = draw(st.integers(1, n_max))
    return n, scale


@st.composite
def images(draw, nan=True):
    (h, sh), (w, sw) = draw(axis()), draw(axis())
    channels = draw(st.sampled_from([(), (1,), (3,), (4,)]))
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    if dtype.kind in "ui":
        info = np.iinfo(dtype)
        a = rng.integers(info.min, int(info.max) + 1, (h, w) + channels, dtype=dtype)
    else:
        a = (rng.normal(size=(h, w) + channels) * 100).astype(dtype)
        if nan and draw(st.booleans()):
            a.flat[rng.integers(0, a.size, max(1, a.size // 10))] = np.nan
    return a, (sh, sw)


def _options(draw):
    return dict(method=draw(st.sampled_from(METHODS)),
                align=draw(st.sampled_from(["centers", "corners"])),
                boundary=draw(st.sampled_from(BOUNDARIES)),
                antialias=draw(st.booleans()))


@settings(max_examples=120, **SETTINGS)
@given(data=st.data())
def test_any_input_gives_the_asked_shape_and_dtype(data):
    a, scale = data.draw(images())
    options = _options(data.draw)
    out = resample.resize(a, scale=scale, **options)
    expected = tuple(max(1, int(np.floor(n * s + 0.5))) for n, s in zip(a.shape[:2], scale))
    assert out.shape == expected + a.shape[2:]
    assert out.dtype == a.dtype


@settings(max_examples=80, **SETTINGS)
@given(data=st.data())
def test_integer_outputs_are_the_rounded_clipped_float_result(data):
    """No wrap-around: an integer output is float64 resampling, rounded and clipped."""
    a, scale = data.draw(images(nan=False))
    if a.dtype.kind not in "ui":
        a = a.astype(np.int16) if a.dtype == np.float16 else (a * 0).astype(np.uint8) + 7
    options = _options(data.draw)
    options["method"] = data.draw(st.sampled_from(METHODS[:-1]))       # gmm: float work
    out = resample.resize(a, scale=scale, **options).astype(np.int64)
    ref = resample.resize(a.astype(np.float64), scale=scale, **options)
    info = np.iinfo(a.dtype)
    want = np.clip(np.floor(ref + 0.5), info.min, info.max)
    assert np.all((out >= info.min) & (out <= info.max))
    assert np.abs(out - want).max(initial=0) <= 1


@settings(max_examples=100, **SETTINGS)
@given(data=st.data())
def test_a_constant_image_stays_constant(data):
    a, scale = data.draw(images(nan=False))
    value = a.flat[0]
    a = np.full_like(a, value)
    options = _options(data.draw)
    options["boundary"] = data.draw(st.sampled_from([b for b in BOUNDARIES if b != "constant"]))
    out = resample.resize(a, scale=scale, **options)
    if a.dtype.kind in "ui":
        assert np.all(out == value)
    else:
        tol = 2e-3 if a.dtype == np.float16 else 1e-5
        np.testing.assert_allclose(out.astype(np.float64), float(value), rtol=tol,
                                   atol=tol * 100)


@settings(max_examples=60, **SETTINGS)
@given(data=st.data())
def test_corners_alignment_keeps_an_unchanged_shape(data):
    a, _ = data.draw(images())
    method = data.draw(st.sampled_from(["gri", "bilinear", "lanczos"]))
    boundary = data.draw(st.sampled_from(BOUNDARIES))
    out = resample.resize(a, shape=a.shape[:2], method=method, align="corners",
                          boundary=boundary)
    np.testing.assert_array_equal(out, a)


@settings(max_examples=30, **SETTINGS)
@given(data=st.data())
def test_extreme_aspect_ratios(data):
    long = data.draw(st.integers(1000, 5000))
    a = np.arange(long, dtype=np.float32).reshape(1, long)
    if data.draw(st.booleans()):
        a = a.T.copy()
    options = _options(data.draw)
    shape = (data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3)))
    out = resample.resize(a, shape=shape, **options)
    assert out.shape == shape


@pytest.mark.parametrize("scale", [0, float("inf"), -1, float("nan")])
def test_bad_scales_are_refused(scale):
    with pytest.raises(resample.ResampleError):
        resample.resize(np.zeros((4, 4), np.uint8), scale=scale)
