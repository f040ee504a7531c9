"""resize() against the float64 reference, the worked example, and edge cases."""

import os
import zlib

import numpy as np
import pytest

import resample
from resample import ResampleError
from reference import ref_resize, round_to

METHODS = list(resample.METHODS)          # the package's lists: a new one is tested too
BOUNDARIES = list(resample.BOUNDARIES)


def _close(ours, ref, dtype):
    if isinstance(ref, tuple):            # nearest: either side of an exact tie, per axis
        assert np.all(np.any([np.abs(ours - r) <= 1e-12 for r in ref], axis=0))
        return
    if np.issubdtype(dtype, np.integer):
        # float32 accumulation may round a .5 the other way: at most one step.
        assert np.abs(ours.astype(np.int64) - round_to(ref, dtype).astype(np.int64)).max() <= 1
    else:
        scale = max(1.0, np.abs(ref).max())
        tol = 1e-12 if dtype == np.float64 else 2e-5
        np.testing.assert_allclose(ours, ref, rtol=0, atol=tol * scale)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("align", ["centers", "corners"])
def test_matches_reference_random_shapes(method, boundary, align):
    rng = np.random.default_rng(zlib.crc32(f"{method}{boundary}{align}".encode()))
    for _ in range(3):
        h_in, w_in = rng.integers(1, 12, size=2)
        h_out, w_out = rng.integers(1, 25, size=2)
        img = rng.normal(size=(h_in, w_in, 2))
        fill = float(rng.normal())
        antialias = bool(rng.integers(2))
        ours = resample.resize(img, shape=(h_out, w_out), method=method, align=align,
                               boundary=boundary, fill=fill, antialias=antialias)
        if method in ("nearest", "box"):
            ref = tuple(ref_resize(img, (h_out, w_out), method, align, boundary, fill, antialias,
                                   (a, b)) for a in (-1e-9, 1e-9) for b in (-1e-9, 1e-9))
        else:
            ref = ref_resize(img, (h_out, w_out), method, align, boundary, fill, antialias)
        assert ours.shape == (h_out, w_out, 2) and ours.dtype == np.float64
        _close(ours, ref, np.float64)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16, np.float32, np.float16])
@pytest.mark.parametrize("method", METHODS)
def test_dtypes_round_and_clip(dtype, method):
    rng = np.random.default_rng(7)
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        img = rng.integers(info.min, int(info.max) + 1, size=(9, 13, 3)).astype(dtype)
    else:
        img = rng.normal(size=(9, 13, 3)).astype(dtype)
    for shape in [(20, 5), (4, 31), (1, 1)]:
        ours = resample.resize(img, shape=shape, method=method)
        assert ours.dtype == dtype and ours.shape == shape + (3,)
        ref = ref_resize(img.astype(np.float64), shape, method)
        if dtype == np.float16:
            np.testing.assert_allclose(ours.astype(np.float64), ref, atol=5e-3 * np.abs(ref).max())
        else:
            _close(ours, ref, dtype)


@pytest.mark.parametrize("method", METHODS)
def test_extreme_scales_and_one_pixel(method):
    rng = np.random.default_rng(3)
    img = rng.random((1, 1))
    for shape in [(1, 1), (1, 40), (37, 1), (3, 3)]:
        out = resample.resize(img, shape=shape, method=method)
        np.testing.assert_allclose(out, np.full(shape, img[0, 0]), rtol=1e-12)
    tall = rng.random((300, 2))
    out = resample.resize(tall, shape=(3, 1), method=method)          # 100x shrink
    _close(out, ref_resize(tall, (3, 1), method), np.float64)
    tiny = rng.random((2, 3))
    out = resample.resize(tall[:2, :2], scale=(40, 0.5), method=method)
    assert out.shape == (80, 1)
    out = resample.resize(tiny, shape=(61, 97), method=method)         # 30x enlarge
    _close(out, ref_resize(tiny, (61, 97), method), np.float64)


def test_worked_example_corners():
    img = np.array([[100.0, 50.0], [70.0, 20.0]])
    expected = np.array([[100, 75, 50], [85, 60, 35], [70, 45, 20]], float)
    out = resample.resize(img, shape=(3, 3), align="corners")
    np.testing.assert_allclose(out, expected, atol=1e-12)
    # The same through uint8, and through the constant boundary with NaN fill (no tap leaves
    # the image when the corners line up, so nothing turns NaN).
    out8 = resample.resize(img.astype(np.uint8), shape=(3, 3), align="corners")
    np.testing.assert_array_equal(out8, expected.astype(np.uint8))
    out_nan = resample.resize(img, shape=(3, 3), align="corners", boundary="constant",
                              fill=np.nan)
    np.testing.assert_allclose(out_nan, expected, atol=1e-12)


def test_worked_example_out_of_range_is_nan():
    img = np.array([[100.0, 50.0], [70.0, 20.0]])
    # centers: the 3x3 grid's outer samples sit beyond the outer pixel centres.
    out = resample.resize(img, shape=(3, 3), boundary="constant", fill=np.nan)
    assert np.isnan(out[0]).all() and np.isnan(out[:, 0]).all()
    assert np.isnan(out[2]).all() and np.isnan(out[:, 2]).all()
    assert out[1, 1] == pytest.approx(60.0)          # the centre is the mean of the four
    # sample() outside the corners is NaN too; inside it is finite
    s = resample.sample(img, [[-0.5, 0.0], [0.5, 0.5], [1.2, 1.0]], boundary="constant",
                        fill=np.nan)
    assert np.isnan(s[0]) and s[1] == pytest.approx(60.0) and np.isnan(s[2])


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("boundary", [b for b in BOUNDARIES if b != "constant"])
def test_constant_image_stays_constant(method, boundary):
    for dtype, value in [(np.uint8, 173), (np.float32, -2.5), (np.uint16, 40000)]:
        img = np.full((7, 11, 3), value, dtype)
        for shape in [(15, 4), (3, 30), (7, 11)]:
            for align in ["centers", "corners"]:
                out = resample.resize(img, shape=shape, method=method, boundary=boundary,
                                      align=align)
                np.testing.assert_allclose(out.astype(np.float64), value, rtol=1e-6)


INTERPOLATING = [m for m in METHODS if m != "mitchell"]   # K(0) = 1, K(+-1, +-2...) = 0


@pytest.mark.parametrize("method", INTERPOLATING)
def test_same_shape_is_identity(method):
    rng = np.random.default_rng(11)
    img = rng.normal(size=(13, 8, 3))
    for align in ["centers", "corners"]:
        out = resample.resize(img, shape=(13, 8), method=method, align=align)
        np.testing.assert_array_equal(out, img)
    # one axis unchanged: that axis is not touched
    out = resample.resize(img, shape=(13, 16), method=method)
    np.testing.assert_allclose(out, ref_resize(img, (13, 16), method), atol=1e-12)


def test_nan_in_image_stays_local():
    img = np.zeros((20, 20))
    img[10, 10] = np.nan
    out = resample.resize(img, shape=(40, 40), method="bicubic")
    assert np.isnan(out[19:23, 19:23]).all()
    assert np.isfinite(out[:14]).all() and np.isfinite(out[28:]).all()


def test_two_d_in_two_d_out_and_scale_rounding():
    img = np.zeros((451, 300), np.uint8)
    assert resample.resize(img, scale=0.5).shape == (226, 150)
    assert resample.resize(img, scale=(2, 1)).shape == (902, 300)
    assert resample.resize(img, scale=1e-6).shape == (1, 1)


@pytest.mark.parametrize("kwargs, match", [
    (dict(scale=0), "above 0"), (dict(scale=-1), "above 0"), (dict(scale=float("nan")), "above 0"),
    (dict(scale=float("inf")), "above 0"), (dict(), "exactly one"),
    (dict(scale=2, shape=(3, 3)), "exactly one"), (dict(shape=(0, 3)), "sizes from 1"),
    (dict(shape=(2.5, 3)), "integers"), (dict(scale=2, method="cubical"), "unknown method"),
    (dict(scale=2, boundary="clamp"), "unknown boundary"),
    (dict(scale=2, align="middle"), "unknown align"), (dict(scale=2, device="tpu"), "unknown device"),
    (dict(scale=2, fill="x"), "fill must be a number"),
    (dict(shape=(200000, 200000)), "needs .* of memory"),
])
def test_bad_arguments_raise_one_line(kwargs, match):
    with pytest.raises(ResampleError, match=match) as info:
        resample.resize(np.zeros((4, 4), np.uint8), **kwargs)
    assert "\n" not in str(info.value)


def test_bad_images_raise():
    for img, match in [(np.zeros((0, 3)), "empty"), (np.zeros(5), "2-D"),
                       (np.zeros((2, 2), bool), "dtype"), (np.zeros((2, 2), complex), "dtype")]:
        with pytest.raises(ResampleError, match=match):
            resample.resize(img, scale=2)
    with pytest.raises(ResampleError, match="fill=nan needs a float"):
        resample.resize(np.zeros((2, 2), np.uint8), scale=2, boundary="constant", fill=np.nan)


def test_gpu_without_gpu_is_a_clear_error():
    from resample.engines import devices

    if devices.gpu_reason() is None:
        pytest.skip("a GPU is present")
    with pytest.raises(ResampleError, match="device='gpu' is not available"):
        resample.resize(np.zeros((4, 4)), scale=2, device="gpu")


def test_cupy_without_a_gpu_says_so_plainly(monkeypatch):
    """CuPy installed on a machine with no NVIDIA driver: CuPy's runtime error
    (cudaErrorInsufficientDriver) becomes a sentence, with CuPy's words kept short."""
    from types import SimpleNamespace

    from resample.engines import cuda, devices

    def no_driver():
        raise RuntimeError("cudaErrorInsufficientDriver: CUDA driver version is insufficient "
                           "for CUDA runtime version")

    fake = SimpleNamespace(cuda=SimpleNamespace(runtime=SimpleNamespace(
        getDeviceCount=no_driver, getDevice=lambda: 0)))
    monkeypatch.setattr(cuda, "import_cupy", lambda: fake)
    devices.gpu_reason.cache_clear()                  # (found once per process)
    reason = devices.gpu_reason()
    assert reason.startswith("this machine has no NVIDIA GPU or no driver for one")
    try:
        with pytest.raises(ResampleError, match="no NVIDIA GPU or no driver"):
            resample.resize(np.zeros((4, 4)), scale=2, device="gpu")
    finally:
        devices.gpu_reason.cache_clear()


def test_gri_overshoots_a_step_less_than_bicubic():
    step = np.repeat(np.where(np.arange(32) < 16, 0.0, 1.0)[None, :], 3, axis=0)
    over = {}
    for m in ["gri", "bicubic", "lanczos"]:
        out = resample.resize(step, shape=(3, 32 * 8), method=m)
        over[m] = out.max() - 1.0 + (0.0 - out.min())
    assert over["gri"] < over["bicubic"] < over["lanczos"]
    assert over["gri"] > 0          # it is not monotone: a real but smaller overshoot


def test_both_instruction_sets_agree(tmp_path):
    """The loops compiled for the baseline and for AVX2 with FMA (picked at import) give the
    same results, to the last bit for floats up to FMA's rounding and within one level for
    integers; RESAMPLE_ISA=baseline forces the baseline."""
    import subprocess
    import sys

    from resample import _core

    code = (
        "import numpy as np, resample, resample._core as c\n"
        "rng = np.random.default_rng(3)\n"
        "a = rng.integers(0, 256, (37, 53, 3)).astype(np.uint8)\n"
        "f = rng.normal(size=(37, 53)).astype(np.float32)\n"
        "out = {}\n"
        "for m in ['nearest', 'bilinear', 'bicubic', 'lanczos', 'gri']:\n"
        "    for s in [(80, 111), (11, 9)]:\n"
        "        out[f'{m}{s}u8'] = resample.resize(a, shape=s, method=m)\n"
        "        out[f'{m}{s}f32'] = resample.resize(f, shape=s, method=m, boundary='truncate')\n"
        "xy = rng.uniform(0, 30, (300, 2)); v = rng.uniform(0, 1, 300)\n"
        "out['gmm'] = resample.reconstruct(xy, v, (32, 40))\n"
        f"np.savez(r'{tmp_path}/' + c.instruction_set() + '.npz', **out)\n")
    for isa in ("baseline", ""):
        env = dict(os.environ, RESAMPLE_ISA=isa)
        subprocess.run([sys.executable, "-c", code], check=True, env=env)
    names = sorted(p.name for p in tmp_path.iterdir())
    if names == ["baseline.npz"]:
        pytest.skip(f"this processor has no AVX2 ({_core.instruction_set()} only)")
    base, avx = np.load(tmp_path / "baseline.npz"), np.load(tmp_path / "avx2.npz")
    for key in base.files:
        if base[key].dtype == np.uint8:
            assert np.abs(base[key].astype(int) - avx[key]).max() <= 1, key
        else:
            np.testing.assert_allclose(base[key], avx[key], rtol=1e-5, atol=1e-6, err_msg=key)


def test_infinite_and_huge_samples_as_the_plain_sum():
    """Sums relative to the first tap fall back to the plain sum where that tap is infinite or
    huge: an infinite sample stays infinite (not inf - inf = NaN) where it has weight, and is
    left out where it has none; float64 values near the limit do not overflow."""
    line = np.array([[5.0, np.inf, 5.0, 5.0]])
    out = resample.resize(line, shape=(1, 7), align="corners")
    np.testing.assert_array_equal(out, [[5, np.inf, np.inf, np.inf, 5, 5, 5]])
    inf = resample.resize(np.full((4, 5), np.inf, np.float32), shape=(8, 9), method="bilinear")
    assert np.isposinf(inf).all()
    big = np.array([[1e308, -1e308, 1e308, -1e308]])
    out = resample.resize(big, shape=(1, 7), method="bilinear")
    ref = ref_resize(big, (1, 7), "bilinear", "centers", "edge", 0.0, True)
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out, ref, rtol=1e-9, atol=1e293)
    pts = resample.sample(np.array([[1.0, np.inf], [1.0, 1.0]]), [[0.0, 1.0], [1.0, 0.0]])
    np.testing.assert_array_equal(pts, [1.0, np.inf])


def _srgb_decode(c):
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _srgb_encode(v):
    v = np.clip(v, 0, 1)
    return np.where(v <= 0.0031308, 12.92 * v, 1.055 * v ** (1 / 2.4) - 0.055)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
@pytest.mark.parametrize("method", ["bilinear", "lanczos", "box"])
def test_linear_light_against_the_reference(dtype, method):
    """linear=True: decode sRGB, resize (the float64 reference), encode; every dtype, with and
    without alpha (premultiplied in linear light), odd sizes."""
    skimage_data = pytest.importorskip("skimage.data")
    rgb = skimage_data.astronaut()[100:161, 150:223]                 # 61x73, real detail
    top = 1.0 if dtype == np.float32 else float(np.iinfo(dtype).max)
    img = (rgb.astype(np.float64) / 255 * top)
    img = img.astype(dtype) if dtype == np.float32 else np.floor(img + 0.5).astype(dtype)
    for shape in [(23, 31), (90, 150), (1, 1)]:
        ours = resample.resize(img, shape=shape, method=method, linear=True)
        lin = _srgb_decode(img.astype(np.float64) / top)
        ref = _srgb_encode(ref_resize(lin, shape, method, nudge=1e-9 if method == "box" else 0.0)
                           ) * top
        if dtype == np.float32:
            np.testing.assert_allclose(ours, ref, rtol=0, atol=2e-5)
        else:
            assert np.abs(ours.astype(np.int64) - round_to(ref, dtype).astype(np.int64)).max() <= 1
    alpha = np.linspace(0, top, img.shape[1])[None, :].repeat(img.shape[0], 0).astype(dtype)
    rgba = np.dstack([img, alpha])
    ours = resample.resize(rgba, shape=(23, 31), method=method, linear=True, alpha=True)
    a = alpha.astype(np.float64) / top
    pre = np.dstack([_srgb_decode(img.astype(np.float64) / top) * a[..., None], a])
    r = ref_resize(pre, (23, 31), method, nudge=1e-9 if method == "box" else 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        colour = np.where(r[..., 3:] > 0, r[..., :3] / r[..., 3:], 0.0)
    ref = np.dstack([_srgb_encode(colour), np.clip(r[..., 3], 0, 1)]) * top
    if dtype == np.float32:
        seen = r[..., 3] > 1e-3
        np.testing.assert_allclose(ours[seen], ref[seen], rtol=0, atol=1e-4)
    else:
        seen = r[..., 3] > 0.02
        assert np.abs(ours.astype(np.int64) - round_to(ref, dtype).astype(np.int64))[seen].max() <= 1


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_linear_light_loops_give_the_float64_formulas_levels(dtype):
    """The compiled sRGB loops (kernels/common/srgb.h, both jobs): decoding is the float64
    formula rounded to float32 for every sample value; encoding gives every float32 the
    level round_half_up(encode(v) * top) of the float64 formula: random values, values
    beside each step (where a float32 rounding would tip it), out of range, infinite."""
    from resample.compiled import core
    top = np.iinfo(dtype).max
    every = np.arange(top + 1, dtype=dtype)
    decoded = np.empty(every.shape, np.float32)
    core.srgb_to_linear(every[None], 1, False, decoded[None])
    np.testing.assert_array_equal(decoded, _srgb_decode(every / top).astype(np.float32))
    back = np.empty_like(every)
    core.linear_to_srgb(decoded[None], 1, False, back[None])
    np.testing.assert_array_equal(back, every)             # every level survives the trip
    steps = _srgb_decode((np.arange(1, top + 1) - 0.5) / top).astype(np.float32)
    rng = np.random.default_rng(5)
    v = np.concatenate([rng.random(300_000, dtype=np.float32) * 1.2 - 0.1,
                        rng.random(100_000, dtype=np.float32) * 0.005,
                        *(np.nextafter(steps, d) for d in (-np.inf, np.inf)), steps,
                        np.float32([0, 1, -1, 2, np.inf, -np.inf])]).astype(np.float32)
    out = np.empty(v.shape, dtype)
    core.linear_to_srgb(v[None], 1, False, out[None])
    want = np.minimum(np.floor(_srgb_encode(v.astype(np.float64)) * top + 0.5), top)
    np.testing.assert_array_equal(out, want)
    # alpha: the colour premultiplied by a / top, and divided by it after (0 where it is 0)
    rgba = rng.integers(0, top + 1, (7, 5, 4)).astype(dtype)
    rgba[0, 0, 3] = 0
    work = np.empty(rgba.shape, np.float32)
    core.srgb_to_linear(rgba.reshape(7, -1), 4, True, work.reshape(7, -1))
    a = (rgba[..., 3] / top).astype(np.float32)
    np.testing.assert_array_equal(work[..., 3], a)
    np.testing.assert_array_equal(work[..., :3], decoded[rgba[..., :3]] * a[..., None])
    again = np.empty_like(rgba)
    core.linear_to_srgb(work.reshape(7, -1), 4, True, again.reshape(7, -1))
    assert again[0, 0].tolist() == [0, 0, 0, 0]
    seen = rgba[..., 3] > top // 50
    assert np.abs(again.astype(int) - rgba)[seen].max() <= 1


def test_linear_light_checkerboard_and_bad_input():
    board = (np.indices((64, 64)).sum(axis=0) % 2 * 255).astype(np.uint8)
    assert resample.resize(board, scale=0.5)[10, 10] == 128
    assert 186 <= resample.resize(board, scale=0.5, linear=True)[10, 10] <= 190
    with pytest.raises(ResampleError, match="unsigned"):
        resample.resize(board.astype(np.int16), scale=0.5, linear=True)


# --- kernels of one's own: resample.Method(name, K, support) ----------------------------------

def _keys(a):
    """Keys' cubic with parameter ``a``, vectorised (a user's own kernel function)."""
    def k(u):
        x = np.abs(u)
        return np.where(x < 1, ((a + 2) * x - (a + 3)) * x * x + 1,
                        np.where(x < 2, (((x - 5) * x + 8) * x - 4) * a, 0.0))
    return k


@pytest.mark.parametrize("boundary", list(resample.BOUNDARIES))
def test_a_python_kernel_equals_the_same_kernel_built_in(boundary):
    """A Python function K(u) gives the tap tables the built-in kernel gives: Keys a = -0.5
    as a function equals bicubic for every boundary, both ways, with and without
    antialiasing, 1-pixel images included; and it equals the float64 reference."""
    rng = np.random.default_rng(30)
    img = rng.random((37, 53, 3))
    mine = resample.Method("mykeys", _keys(-0.5), 2.0)
    for shape in [(80, 20), (10, 111), (37, 53), (1, 1), (3, 200)]:
        for antialias in (True, False):
            got = resample.resize(img, shape=shape, method=mine, boundary=boundary,
                                  antialias=antialias, fill=0.25)
            want = resample.resize(img, shape=shape, method="bicubic", boundary=boundary,
                                   antialias=antialias, fill=0.25)
            np.testing.assert_array_equal(got, want)
    if boundary not in ("extrapolate", "constant"):          # a 1-pixel image stays flat
        np.testing.assert_allclose(resample.resize(img[:1, :1], shape=(3, 4), method=mine,
                                                   boundary=boundary), np.broadcast_to(
            img[:1, :1], (3, 4, 3)), atol=1e-12)
    np.testing.assert_allclose(resample.resize(img, shape=(23, 90), method=mine,
                                               boundary=boundary),
                               ref_resize(img, (23, 90), "bicubic", boundary=boundary),
                               atol=1e-12)


def test_a_python_kernel_samples_and_equals_opencv():
    """resample.sample takes it too; OpenCV's own bicubic (Keys, a = -0.75), given as a
    function, equals cv2.resize INTER_CUBIC with OpenCV's conventions."""
    rng = np.random.default_rng(31)
    img = rng.random((41, 29)).astype(np.float32)
    xy = rng.uniform(-3, 45, (200, 2))
    mine = resample.Method("mykeys", _keys(-0.5), 2.0)
    np.testing.assert_array_equal(resample.sample(img, xy, method=mine),
                                  resample.sample(img, xy, method="bicubic"))
    cv2 = pytest.importorskip("cv2")
    opencv = resample.Method("opencv_cubic", _keys(-0.75), 2.0)
    for shape in [(90, 70), (20, 11)]:
        ours = resample.resize(img, shape=shape, method=opencv, boundary="edge",
                               antialias=False)
        np.testing.assert_allclose(ours, cv2.resize(img, shape[::-1],
                                                    interpolation=cv2.INTER_CUBIC), atol=2e-4)


def test_a_bad_kernel_is_one_line():
    img = np.zeros((8, 8))
    for method, message in [(resample.Method("short", lambda u: u[:1], 2.0), "one finite"),
                            (resample.Method("nan", lambda u: u * np.nan, 2.0), "one finite"),
                            (resample.Method("raises", lambda u: 1 / 0, 2.0), "failed"),
                            (resample.Method("nosupport", _keys(-0.5), -1.0), "support"),
                            (resample.Method("noid", 99, 2.0), "kernel must be")]:
        with pytest.raises(ResampleError, match=message):
            resample.resize(img, scale=2, method=method)


# --- tap tables too large to build whole: built by range (an extreme aspect ratio) ---------

@pytest.mark.parametrize("shape, method, boundary, align, dtype", [
    ((7, 2003), "bilinear", "truncate", "centers", np.uint8),
    ((5, 1501), "lanczos", "reflect", "centers", np.float32),
    ((1201, 4), "nearest", "edge", "centers", np.uint16),
    ((3, 1333), "bicubic", "constant", "corners", np.float64),
    ((1100, 3), "box", "truncate", "centers", np.uint8),
    ((2, 900), "gri", "wrap", "centers", np.float32),
])
def test_tables_too_large_to_build_whole_are_built_by_range(monkeypatch, shape, method,
                                                            boundary, align, dtype):
    """resample.resize where the tap tables would be too large to hold whole (here made
    small, so that real sizes test it): each axis's table is built per range of outputs, and
    the pixels are the whole tables' (the float loops and one pass order in both)."""
    from resample.engines import cpu
    from resample.ops import resize as ops_resize
    from resample.spec import tables

    photo = pytest.importorskip("skimage.data").astronaut()[::4, ::4][:97, :113]
    img = photo.astype(dtype) if dtype != np.uint16 else photo.astype(dtype) * 257
    monkeypatch.setattr(cpu, "FIXED", False)
    for order in ("rows", "cols"):
        monkeypatch.setattr(cpu, "FORCE_ORDER", order)
        whole = resample.resize(img, shape=shape, method=method, boundary=boundary,
                                align=align, fill=7)
        with monkeypatch.context() as m:
            m.setattr(tables, "WHOLE_TABLE_BYTES", 4096)
            m.setattr(ops_resize, "BLOCK_TAPS", 257)            # many groups and blocks
            built = []
            real = ops_resize.compute_taps
            m.setattr(ops_resize, "compute_taps",
                      lambda x, *a, **k: built.append(len(x)) or real(x, *a, **k))
            blocks = resample.resize(img, shape=shape, method=method, boundary=boundary,
                                     align=align, fill=7)
        assert max(built) < max(shape) and len(built) > 2, built
        np.testing.assert_array_equal(blocks, whole)


def test_an_extreme_aspect_ratio_through_the_api_stays_in_bounded_memory():
    """A 1x3,000,000 output of a 200x300 photo (whole tables: about 350 MB) allocates a small
    multiple of its own 9 MB; on a GPU or through Dask it is refused in one line."""
    import tracemalloc

    from resample.spec import tables

    photo = pytest.importorskip("skimage.data").astronaut()[:200, :300]
    from resample.spec.methods import get_method

    assert tables.built_by_range(200, 300, 1, 3_000_000, get_method("bilinear"), "centers",
                                 "truncate", True)
    tracemalloc.start()
    try:
        out = resample.resize(photo, shape=(1, 3_000_000))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert out.shape == (1, 3_000_000, 3) and peak < 40 << 20, peak
    assert np.abs(np.diff(out[0, :5000].astype(int), axis=0)).max() <= 1 and out.std() > 10
    from resample.engines import devices

    with pytest.MonkeyPatch.context() as m:            # (as if a GPU were there)
        m.setattr(devices, "select", lambda *args, **kwargs: "gpu")
        with pytest.raises(ResampleError, match="too large to build whole"):
            resample.resize(photo, shape=(1, 3_000_000), device="gpu")
    da = pytest.importorskip("dask.array")
    with pytest.raises(ResampleError, match="too large to build whole"):
        from resample import dask as resample_dask

        resample_dask.resize(da.from_array(photo), shape=(1, 3_000_000))


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.float64])
@pytest.mark.parametrize("channels", [1, 2, 3, 4, 5, 6])
def test_nearest_at_whole_steps_copies_whole_pixels(dtype, channels):
    """Nearest at whole steps copies pixels (kernels/resize/resize.h select_samples, pixels of
    1 to 48 bytes): equal to NumPy's indexing, enlarged 3x (runs of repeated rows across the
    engine's bands of 16) and shrunk 3x (centres on input pixels, no ties), with the input's
    last pixel read last."""
    rng = np.random.default_rng(channels)
    img = rng.integers(0, 250, size=(7, 11, channels)).astype(dtype)
    up = resample.resize(img, shape=(21, 33), method="nearest")
    np.testing.assert_array_equal(up, img.repeat(3, 0).repeat(3, 1))
    down = resample.resize(img.repeat(3, 0).repeat(3, 1)[:, :30], shape=(7, 10),
                           method="nearest")
    np.testing.assert_array_equal(down, img[:, :10])
    line = resample.resize(img[:1, :1], shape=(5, 4), method="nearest")
    np.testing.assert_array_equal(line, np.broadcast_to(img[:1, :1], (5, 4, channels)))


def test_nearest_into_a_large_output_streams_the_same_pixels():
    """An output of 32 MB or more is written past the caches: the same pixels."""
    rng = np.random.default_rng(5)
    img = rng.integers(0, 256, size=(1030, 1403, 3), dtype=np.uint8)
    out = resample.resize(img, shape=(3090, 4209), method="nearest")
    assert out.nbytes >= 32 << 20
    np.testing.assert_array_equal(out[::3, ::3], img)
    np.testing.assert_array_equal(out[2::3, 1::3], img)
    np.testing.assert_array_equal(out[-1, -1], img[-1, -1])


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.uint16])
@pytest.mark.parametrize("channels", [2, 3, 4, 5])
def test_each_channel_as_if_resized_alone(dtype, channels):
    """The float loops read a pixel's channels together (kernels/resize/resize.h
    gather_pixels, 2 to 4 channels), and one channel's outputs a register at a time
    (gather_group_wide: a window and a permute, or a gather): each channel equals, to the last
    bit, that channel resized alone, through every boundary (a fill included), shrinking and
    enlarging, with infinite, NaN and huge samples where the type has them."""
    rng = np.random.default_rng(channels)
    img = rng.normal(size=(13, 17, channels)) * 100
    if dtype == np.uint16:
        img = np.clip(img + 30000, 0, 65535)
    else:
        img[3, 4, 0], img[5, 9, -1], img[0, 0, 1] = np.inf, np.nan, -np.inf
        img[7, 2, 1] = 3e307 if dtype == np.float64 else 3e37
    img = img.astype(dtype)
    for method, boundary, shape in [("bilinear", "edge", (29, 40)), ("bicubic", "constant", (6, 5)),
                                    ("lanczos", "reflect", (31, 9)), ("gri", "wrap", (8, 35)),
                                    ("mitchell", "truncate", (13, 18))]:
        whole = resample.resize(img, shape=shape, method=method, boundary=boundary, fill=0.5)
        for c in range(channels):
            alone = resample.resize(img[..., c], shape=shape, method=method, boundary=boundary,
                                    fill=0.5)
            np.testing.assert_array_equal(whole[..., c], alone,
                                          err_msg=f"{method} {boundary} channel {c}")


def test_select_with_nothing_to_copy_returns():
    """The engine's pixel copy with empty rows (no channels) does nothing, and says so by
    returning rather than dividing by a channel count of 0."""
    from resample import _core

    dst = np.zeros((3, 0), np.uint8)
    _core.select(np.zeros((2, 0), np.uint8), np.zeros(3, np.int64), np.zeros(4, np.int64), dst)
    assert dst.shape == (3, 0)
