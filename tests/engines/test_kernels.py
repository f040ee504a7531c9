"""The CUDA kernels without a GPU: every .cu compiles with nvcc for sm_90, and the GPU engine's
logic (resample/engines/gpu.py) runs the kernels compiled as C++ through tests/shim/cpu_shim.h and
matches the CPU engine.  On a machine with CuPy and a GPU, test_gpu.py does the same on the
device."""

import ctypes
import glob
import os
import shutil
import subprocess
import zlib

import types

import numpy as np
import pytest

import resample
from resample.engines import cuda, gpu
from resample.spec.methods import METHODS, get_method
from resample.spec.taps import BOUNDARIES, compute_taps, resize_taps

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SOURCES = sorted(glob.glob(os.path.join(ROOT, "kernels", "*.cu")))
_CTYPES = {np.dtype(np.int64): ctypes.c_longlong, np.dtype(np.int32): ctypes.c_int,
           np.dtype(np.float32): ctypes.c_float, np.dtype(np.float64): ctypes.c_double}


@pytest.mark.slow
@pytest.mark.parametrize("source", SOURCES, ids=os.path.basename)
def test_every_kernel_source_compiles_for_sm_90(tmp_path, source):
    nvcc = shutil.which("nvcc")
    if nvcc is None:
        pytest.skip("nvcc is not installed")
    result = subprocess.run([nvcc, "-arch=sm_90", "-std=c++17", "--ptx", "-o",
                             str(tmp_path / "out.ptx"), source], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    ptx = (tmp_path / "out.ptx").read_text()
    for name in ("cols_u8_f32", "rows_f32_u8", "gather_u8_u8", "gather_f32_f32",
                 "rows_f64_f64", "gmm_splat_f32", "gmm_normalise_f64", "gmm_vjp_f64",
                 "knn_grid", "contrast_f32", "contrast_f64", "taps_rows",
                 "taps_slopes_rows", "gather_vjp_f32", "gather_vjp_f64"):
        assert f".entry {name}(" in ptx


class ShimBackend:
    """gpu.py's backend interface on the CPU: NumPy arrays and the C++-compiled kernels."""

    xp = np

    def __init__(self, library):
        self.lib = ctypes.CDLL(library)
        self.launched = []

    def launch(self, name, n_threads, args, block=cuda.BLOCK):
        fn = getattr(self.lib, f"shim_{name}")
        fn.restype = None
        values = [ctypes.c_uint(block)]
        for a in args:
            if isinstance(a, np.ndarray):
                assert a.flags.c_contiguous
                values.append(ctypes.c_void_p(a.ctypes.data))
            else:
                values.append(_CTYPES[np.asarray(a).dtype](a))
        fn(*values)
        self.launched.append(name)


@pytest.fixture(autouse=True)
def float_cpu_loops(monkeypatch):
    """The CUDA loops sum 8-bit images in float32: compare them with the CPU's float loops (the
    CPU's fixed-point path is tested against the float64 reference in test_fixed.py)."""
    from resample.engines import cpu

    monkeypatch.setattr(cpu, "FIXED", False)


@pytest.fixture(scope="module")
def shim(tmp_path_factory):
    cxx = shutil.which("g++") or shutil.which("c++")
    if cxx is None:
        pytest.skip("no C++ compiler")
    library = str(tmp_path_factory.mktemp("shim") / "resample_shim.so")
    subprocess.run([cxx, "-std=c++17", "-O1", "-shared", "-fPIC", "-pthread", "-include",
                    os.path.join(ROOT, "tests", "shim", "cpu_shim.h"), "-o", library,
                    os.path.join(ROOT, "tests", "shim", "resample_shim.cpp")], check=True)
    return ShimBackend(library)


def _image(rng, shape, dtype):
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return rng.integers(info.min, int(info.max) + 1, shape, dtype=dtype)
    return (rng.normal(size=shape) * 100).astype(dtype)


def _gpu_resize(shim, a, shape, method, align, boundary, fill=0.0, antialias=True,
                passes=None):
    """gpu.resize with the API's choices of tables and dtypes, on the shim."""
    from resample.spec.dtypes import compute_dtype, work_dtype

    a3 = a[..., None] if a.ndim == 2 else a
    m = get_method(method)
    taps_r = resize_taps(a3.shape[0], shape[0], m, align, boundary, antialias)
    taps_c = resize_taps(a3.shape[1], shape[1], m, align, boundary, antialias)
    out = gpu.resize(shim, a3, taps_r, taps_c, fill, work_dtype(a.dtype),
                     compute_dtype(a.dtype), passes)
    out = out.astype(a.dtype, copy=False)
    return out[..., 0] if a.ndim == 2 else out


def _assert_close(got, want):
    assert got.shape == want.shape and got.dtype == want.dtype
    if np.issubdtype(want.dtype, np.integer):
        diff = np.abs(got.astype(np.int64) - want.astype(np.int64))
        assert diff.max(initial=0) <= 1
        # off by one only where float32 sums in another order straddle a .5: rarely; for
        # 16-bit samples float32 keeps only about 1/200 of a level at the top of the range,
        # so a smoothing kernel (mitchell, not interpolating: even an unchanged size sums
        # several taps) flips a few more
        rate = 0.002 if want.dtype.itemsize == 1 else 0.03
        assert np.count_nonzero(diff) <= max(2, rate * diff.size), np.count_nonzero(diff)
    else:
        tol = {8: 1e-12, 4: 1e-5, 2: 2e-3}[want.dtype.itemsize]     # float16: its own ulp
        scale = max(1.0, float(np.nanmax(np.abs(want), initial=0)))
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol * scale)


METHOD_NAMES = [m for m in METHODS if m != "gmm"]


@pytest.mark.parametrize("method", METHOD_NAMES)
@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_shim_resize_matches_the_cpu_engine(shim, method, boundary):
    rng = np.random.default_rng(zlib.crc32(f"{method}{boundary}".encode()))
    cases = [((1, 1), (3, 5)), ((7, 5), (7, 5)), ((13, 9), (29, 4)), ((40, 3), (5, 17)),
             ((6, 31), (1, 1)), ((3, 2), (60, 45))]
    for k, (shape_in, shape_out) in enumerate(cases):
        dtype = [np.uint8, np.uint16, np.float32, np.float64, np.int16, np.float16][k]
        channels = [(), (3,), (1,), (4,), (2,), (3,)][k]
        a = _image(rng, shape_in + channels, dtype)
        for align in ("centers", "corners"):
            want = resample.resize(a, shape=shape_out, method=method, align=align,
                                   boundary=boundary, fill=7.0)
            for passes in (1, 2):                              # one pass, and two
                got = _gpu_resize(shim, a, shape_out, method, align, boundary, fill=7.0,
                                  passes=passes)
                _assert_close(got, want)


def test_shim_resize_takes_both_pass_orders_and_no_antialias(shim):
    rng = np.random.default_rng(3)
    a = _image(rng, (37, 23, 3), np.uint8)
    for shape in ((74, 9), (9, 74), (200, 1), (1, 200)):
        for antialias in (True, False):
            want = resample.resize(a, shape=shape, method="lanczos", antialias=antialias,
                                   boundary="edge")      # (the boundary the shim runs with)
            for passes in (1, 2):
                got = _gpu_resize(shim, a, shape, "lanczos", "centers", "edge",
                                  antialias=antialias, passes=passes)
                _assert_close(got, want)
    # enlarging rows and shrinking columns goes cols first, and the other way rows first
    shim.launched.clear()
    _gpu_resize(shim, a, (74, 9), "bilinear", "centers", "edge", passes=2)
    assert shim.launched[0].startswith("cols_")
    shim.launched.clear()
    _gpu_resize(shim, a, (9, 74), "bilinear", "centers", "edge", passes=2)
    assert shim.launched[0].startswith("rows_")


def test_the_plan_follows_the_model_and_the_engine_follows_the_plan(shim):
    """plan_passes takes the plan its traffic model (pass_times) predicts fastest: the tiled
    kernel when enlarging, two passes for heavy shrinking (the taps per output grow with the
    square of the factor); resize launches what it planned."""
    a = np.zeros((400, 600, 3), np.uint8)
    kernels = {1: ["gather_u8_u8"], 3: ["tiled_u8_u8"]}
    for method, scale, plan in (("bilinear", 2, 3), ("gri", 1.5, 3), ("bicubic", 3, 3),
                                ("lanczos", 2, 3), ("lanczos", 0.25, 2), ("bicubic", 0.5, 2)):
        m = get_method(method)
        shape = (round(400 * scale), round(600 * scale))
        tr = resize_taps(400, shape[0], m, "centers", "edge", True)
        tc = resize_taps(600, shape[1], m, "centers", "edge", True)
        times = gpu.pass_times(a.shape, tr, tc, 1, 4)
        assert gpu.plan_passes(a.shape, tr, tc) == plan == min(times, key=times.get), \
            (method, scale, times)
        shim.launched.clear()
        small = a[:40, :60]
        out = gpu.resize(shim, small, resize_taps(40, 7, m, "centers", "edge", True),
                         resize_taps(60, 9, m, "centers", "edge", True), 0.0, np.float32,
                         np.uint8, passes=plan)
        assert out.shape == (7, 9, 3)
        if plan in kernels:
            assert shim.launched == kernels[plan]
        else:
            assert len(shim.launched) == 2 and all(k.startswith(("cols_", "rows_"))
                                                   for k in shim.launched)
    # 4K to 8K bicubic: the model's numbers, which kernels/README.md quotes
    m = get_method("bicubic")
    tr = resize_taps(2160, 4320, m, "centers", "edge", True)
    tc = resize_taps(3840, 7680, m, "centers", "edge", True)
    times = gpu.pass_times((2160, 3840, 3), tr, tc, 1, 4)
    assert 240e-6 < times[1] < 270e-6 and 150e-6 < times[2] < 170e-6
    assert 70e-6 < times[3] < 85e-6


def test_the_plan_and_the_tiles_are_worked_out_once_for_a_size(monkeypatch):
    """The model takes milliseconds on the host, a 4K to 8K kernel a tenth of one: a
    repeated size (the same tables, from resize_taps's cache) asks neither again."""
    m = get_method("bicubic")
    tr = resize_taps(216, 432, m, "centers", "edge", True)
    tc = resize_taps(384, 768, m, "centers", "edge", True)
    plan = gpu.plan_passes((216, 384, 3), tr, tc, 1, 4)
    choices = gpu._tiled_choices(tr, tc, 3, np.dtype(np.uint8), np.dtype(np.float32))

    def fail(*args):
        raise AssertionError("worked out again")

    monkeypatch.setattr(gpu, "pass_times", fail)
    monkeypatch.setattr(gpu, "tile_spans", fail)
    assert gpu.plan_passes((216, 384, 3), tr, tc, 1, 4) == plan == 3
    assert gpu._tiled_choices(tr, tc, 3, np.dtype(np.uint8), np.dtype(np.float32)) is choices
    assert choices[:2] == (True, gpu.TILE_ROWS_MAX)
    other = resize_taps(216, 433, m, "centers", "edge", True)     # another size: worked out
    with pytest.raises(AssertionError, match="again"):
        gpu.plan_passes((216, 384, 3), other, tc, 1, 4)


class _FakeCuda:
    """Just enough of cupy.cuda for TableCache: a device id, streams, and events whose
    completion the test decides."""

    def __init__(self):
        self.device, self.events = 0, []
        fake = self

        class Device:
            @property
            def id(self):
                return fake.device

        class Event:
            def __init__(self, block=False, disable_timing=True):
                self.done = False
                fake.events.append(self)

            def record(self):
                pass

        class Stream:
            def synchronize(self):
                pass

        self.Device, self.Event = Device, Event
        self.get_current_stream = Stream


def _device_table(cache, xp, taps, work):
    """The device copy of a tap table that the GPU engine takes from ``cache``."""
    return gpu._table(types.SimpleNamespace(xp=xp, tables=cache), taps, work)


def test_device_tables_are_per_device_and_outlive_the_kernels_that_read_them():
    """A table pushed out of the cache stays referenced until the event recorded at its last
    use has passed (a kernel on another stream may still read it); devices have their own."""
    fake = _FakeCuda()
    xp = types.SimpleNamespace(cuda=fake, asarray=np.asarray,
                               ascontiguousarray=np.ascontiguousarray)
    m = get_method("bilinear")
    tables = [resize_taps(10, n, m, "centers", "edge", True) for n in (30, 31, 32)]
    cache = cuda.TableCache(size=1)
    first = _device_table(cache, xp, tables[0], np.float32)
    fake.device = 1
    assert _device_table(cache, xp, tables[0], np.float32) is not first  # another device's copy
    assert any(t is first for t, _ in cache.retired)                 # still being read
    for event in fake.events:
        event.done = True
    _device_table(cache, xp, tables[1], np.float32)
    assert not any(t is first for t, _ in cache.retired)             # its kernels are done


def test_device_tap_tables_are_cached_and_reused():
    m = get_method("bicubic")
    cache = cuda.TableCache(size=2)
    tables = [resize_taps(10, n, m, "centers", "edge", True) for n in (20, 21, 22)]
    first = _device_table(cache, np, tables[0], np.float32)
    assert _device_table(cache, np, tables[0], np.float32) is first            # a hit: no new upload
    assert _device_table(cache, np, tables[0], np.float64) is not first         # another work type
    _device_table(cache, np, tables[1], np.float32)
    _device_table(cache, np, tables[2], np.float32)
    assert len(cache.entries) == 2
    assert first[0].dtype == np.int32 and first[1].dtype == np.float32
    np.testing.assert_array_equal(first[0], tables[0].index)
    # the host tables of a repeated resize are the same objects, so the device copy is found
    assert resize_taps(10, 20, m, "centers", "edge", True) is tables[0]
    # but a table too large to keep is made afresh each time
    assert resize_taps(10, 400_000, m, "centers", "edge", True) is not resize_taps(
        10, 400_000, m, "centers", "edge", True)


@pytest.mark.slow
def test_shim_resize_of_a_real_photo(shim):
    skimage_data = pytest.importorskip("skimage.data")
    a = skimage_data.astronaut()[::2, ::2]                     # 256x256 RGB
    for shape in ((512, 384), (100, 77)):
        for method in ("bilinear", "gri", "lanczos"):
            want = resample.resize(a, shape=shape, method=method, boundary="reflect")
            got = _gpu_resize(shim, a, shape, method, "centers", "reflect")
            _assert_close(got, want)


def test_shim_nan_fill_stays_out_of_in_range_samples(shim):
    a = np.arange(20, dtype=np.float32).reshape(4, 5)
    got = _gpu_resize(shim, a, (8, 10), "bicubic", "centers", "constant", fill=np.nan)
    want = resample.resize(a, shape=(8, 10), method="bicubic", boundary="constant",
                           fill=np.nan)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    _assert_close(np.nan_to_num(got), np.nan_to_num(want))


@pytest.mark.parametrize("method", METHOD_NAMES)
def test_shim_sample_matches_the_cpu_engine(shim, method):
    from resample.spec.dtypes import compute_dtype, work_dtype

    rng = np.random.default_rng(METHOD_NAMES.index(method))
    for dtype, shape in ((np.uint8, (9, 14, 3)), (np.float32, (1, 1)), (np.float64, (17, 6, 2))):
        a = _image(rng, shape, dtype)
        h, w = shape[:2]
        xy = np.stack([rng.uniform(-3, w + 2, 300), rng.uniform(-3, h + 2, 300)], axis=1)
        for boundary in ("edge", "constant", "wrap"):
            want = resample.sample(a, xy, method=method, boundary=boundary, fill=-2.0)
            a3 = a[..., None] if a.ndim == 2 else a
            m = get_method(method)
            ty = compute_taps(xy[:, 1], h, m, 1.0, boundary)
            tx = compute_taps(xy[:, 0], w, m, 1.0, boundary)
            got = gpu.gather(shim, a3, ty, tx, -2.0, work_dtype(a.dtype),
                             compute_dtype(a.dtype)).astype(a.dtype)
            _assert_close(got.reshape(want.shape), want)



@pytest.mark.parametrize("method", METHOD_NAMES)
def test_shim_sample_with_full_width_tables_as_made_on_a_device(shim, method):
    """Tables made by the coordinates' array module (CuPy coordinates on a GPU) are not
    compacted: duplicate indices and zero-weight taps stay, and the kernels must skip the
    zeros (a NaN pixel must not leak into samples that give it weight 0)."""
    from resample.spec.dtypes import compute_dtype, work_dtype

    rng = np.random.default_rng(31 + METHOD_NAMES.index(method))
    a = _image(rng, (11, 13, 3), np.float32)
    a[5, 6] = np.nan
    xy = np.concatenate([np.stack([rng.uniform(-4, 16, 400), rng.uniform(-4, 14, 400)], 1),
                         np.stack(np.meshgrid(np.arange(13.0), np.arange(11.0)), -1).reshape(-1, 2)])
    m = get_method(method)
    for boundary in BOUNDARIES:
        want = resample.sample(a, xy, method=method, boundary=boundary, fill=-2.0)
        ty = gpu.taps(shim, xy[:, 1], 11, m, 1.0, boundary)
        tx = gpu.taps(shim, xy[:, 0], 13, m, 1.0, boundary)
        assert np.all(ty.count == ty.index.shape[1])             # full width, not compacted
        got = gpu.gather(shim, a, ty, tx, -2.0, work_dtype(a.dtype), compute_dtype(a.dtype))
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        _assert_close(np.nan_to_num(got), np.nan_to_num(want))


@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_shim_tables_are_the_cpu_tables_unmerged(shim, boundary):
    """The device's tap tables (taps_rows) and the CPU's (compute_taps) come from the same
    header function: per row, the weights summed per index are the same."""

    rng = np.random.default_rng(7)
    x = np.concatenate([rng.uniform(-9, 20, 300), np.arange(-3.0, 15.0, 0.5)])
    for name in METHOD_NAMES:
        m = get_method(name)
        for n, stretch in ((11, 1.0), (1, 1.0), (11, 2.7)):
            full = gpu.taps(shim, x, n, m, stretch, boundary)
            merged = compute_taps(x, n, m, stretch, boundary)
            np.testing.assert_allclose(full.fill_weight, merged.fill_weight, rtol=0, atol=1e-14)
            for o in range(len(x)):
                want = dict(zip(merged.index[o, :merged.count[o]], merged.weight[o]))
                got = {}
                for i, w in zip(full.index[o], full.weight[o]):
                    got[i] = got.get(i, 0.0) + w
                got = {i: w for i, w in got.items() if w != 0.0}
                assert sorted(got) == sorted(want), (name, n, x[o])
                np.testing.assert_allclose([got[i] for i in want], list(want.values()),
                                           rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_shim_sloped_tables_are_the_cpu_sloped_tables(shim, boundary):
    """The device's tables with slopes (taps_slopes_rows, every tap of the window) and the
    CPU's (taps_with_slopes, the taps that neither weigh nor move dropped) are the same header
    function's: equal to the last bit, tap for tap."""
    from resample.spec.taps import taps_with_slopes

    rng = np.random.default_rng(8)
    x = np.concatenate([rng.uniform(-9, 20, 300), np.arange(-3.0, 15.0, 0.5)])
    for name in METHOD_NAMES:
        m = get_method(name)
        for n in (11, 1):
            got = gpu.taps_with_slopes(shim, x, n, m, boundary)
            want = taps_with_slopes(x, n, m, boundary)
            for field in ("fill_weight", "fill_slope"):
                np.testing.assert_array_equal(getattr(got, field), getattr(want, field))
            used = (got.weight != 0) | (got.slope != 0)
            assert np.array_equal(used.sum(1), want.count)
            for field in ("index", "weight", "slope"):
                ours = getattr(want, field)
                np.testing.assert_array_equal(getattr(got, field)[used],
                                              ours[np.arange(ours.shape[1]) < want.count[:, None]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_shim_sampling_gradient_is_the_cpus(shim, dtype):
    """The device's gradient of point sampling (gather_vjp, atomic adds a thread a point)
    equals the CPU loops' (bands of rows, no atomics): the same header function."""
    from resample.engines import cpu
    from resample.spec.taps import taps_with_slopes

    rng = np.random.default_rng(12)
    a = rng.normal(size=(13, 17, 3)).astype(dtype)
    xy = np.stack([rng.uniform(-4, 20, 500), rng.uniform(-4, 16, 500)], 1)
    g = rng.normal(size=(500, 3)).astype(dtype)
    for name in ("bilinear", "lanczos", "gri"):
        for boundary in ("wrap", "constant", "truncate", "extrapolate"):
            m = get_method(name)
            results = []
            for make, run in [(lambda p, n: gpu.taps_with_slopes(shim, p, n, m, boundary),
                               lambda *args: gpu.gather_vjp(shim, *args)),
                              (lambda p, n: taps_with_slopes(p, n, m, boundary),
                               cpu.gather_vjp)]:
                d_a, d_xy = np.zeros_like(a), np.empty((500, 2))
                run(a, make(xy[:, 1], 13), make(xy[:, 0], 17), 0.4, g, d_a, d_xy)
                results.append((d_a, d_xy))
            rtol = 1e-5 if dtype == np.float32 else 1e-12
            np.testing.assert_allclose(results[0][0], results[1][0], rtol=rtol, atol=rtol)
            np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("method", ["nearest", "bicubic", "lanczos"])
def test_shim_resizes_with_transposed_tables_as_the_cpu(shim, method):
    """The gradient of a resize (resample.torch) is a resize with the tables transposed, whose
    weights do not sum to 1 (the fill weight takes the rest, fill 0): the device's passes
    compute it as the CPU's, and it is the adjoint, <R x, g> = <x, R^T g>."""
    from resample.engines import cpu
    from resample.spec.taps import resize_taps, transposed

    rng = np.random.default_rng(14)
    x = rng.normal(size=(23, 31, 2))
    g = rng.normal(size=(9, 50, 2))
    m = get_method(method)
    rows, cols = resize_taps(23, 9, m, "centers", "edge", True), resize_taps(31, 50, m, "centers",
                                                                            "edge", True)
    back = (transposed(rows, 23), transposed(cols, 31))
    on_cpu = cpu.resize(g, *back, 0.0, np.float64, np.float64)
    on_device = gpu.resize(shim, g, *back, 0.0, np.float64, np.float64)
    np.testing.assert_allclose(on_device, on_cpu, rtol=1e-12, atol=1e-12)
    forward = cpu.resize(x, rows, cols, 0.0, np.float64, np.float64)
    assert abs((forward * g).sum() - (x * on_cpu).sum()) < 1e-9 * np.abs(forward * g).sum()


def test_the_engine_finds_the_kernel_source():
    path = cuda.kernel_path()
    with open(path, encoding="utf-8") as f, open(SOURCES[0], encoding="utf-8") as g:
        assert f.read() == g.read()



def _gmm_problem(rng, n, shape, channels):
    h, w = shape
    xy = np.stack([rng.uniform(-3, w + 2, n), rng.uniform(-3, h + 2, n)], axis=1)
    values = rng.normal(size=(n, channels)) * 50
    sx, sy = rng.uniform(0.3, 4, n), rng.uniform(0.3, 4, n)
    return xy, values, sx, sy


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_shim_gmm_forward_matches_the_cpu_engine(shim, dtype):
    from resample.ops import gmm

    rng = np.random.default_rng(5)
    for n, shape, channels in ((1, (1, 1), 1), (40, (17, 23), 3), (300, (30, 9), 4),
                               (5, (25, 25), 1)):
        xy, values, sx, sy = _gmm_problem(rng, n, shape, channels)
        v = values.astype(dtype)
        want, want_z, want_holes = gmm._forward(xy, v, sx, sy, 2.5, shape)
        want, want_z = want.copy(), want_z.copy()
        got, z, holes = gpu.gmm_forward(shim, xy, v, sx, sy, 2.5, shape)
        assert got.dtype == dtype and holes == want_holes
        tol = 1e-5 if dtype == np.float32 else 1e-12
        np.testing.assert_allclose(z, want_z, rtol=tol, atol=1e-30)
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol * np.abs(want).max())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_shim_binned_splat_matches_the_cpu_engine(shim, dtype):
    """Points binned by 32x32 tile and added in shared memory (a block a tile, its threads at
    once in the shim) and the ones wider than a tile added atomically: the CPU engine's
    image, with rotated Gaussians, points outside the image, tiles that are cut at the
    border, and five channels (more than the shared planes hold: all atomically).  Up to 3
    channels the sums are packed a pixel at a time (the wide points' adds: vector atomics),
    4 and 5 in planes."""
    from resample.ops import gmm

    rng = np.random.default_rng(11)
    for n, shape, channels in ((900, (70, 100), 3), (400, (33, 65), 1), (60, (40, 40), 5),
                               (300, (50, 70), 2), (200, (45, 60), 4)):
        xy = rng.uniform(-5, [shape[1] + 5, shape[0] + 5], (n, 2))     # some outside
        values = rng.uniform(0, 1, (n, channels)).astype(dtype)
        sx = rng.choice([0.6, 1.5, 3.0, 14.0], n)          # 14 * 2.5: wider than a tile
        sy = sx * rng.uniform(0.4, 1.0, n)
        theta = rng.uniform(-np.pi, np.pi, n)
        want, want_z, want_holes = gmm._forward(xy, values, sx, sy, 2.5, shape, theta=theta)
        want, want_z = want.copy(), want_z.copy()
        shim.launched.clear()
        got, z, holes = gpu.gmm_forward(shim, xy, values, sx, sy, 2.5, shape, theta=theta)
        binned = "gmm_splat_tiles_f32" in shim.launched or "gmm_splat_tiles_f64" in shim.launched
        assert binned == (channels <= 4) and any(k.startswith("gmm_splat_f") for k in shim.launched)
        assert any(k.startswith("gmm_normalise_packed") for k in shim.launched) == (
            channels <= 3)
        tol = 2e-5 if dtype == np.float32 else 1e-12
        assert holes == want_holes
        np.testing.assert_allclose(z, want_z, rtol=tol, atol=tol * want_z.max())
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol * np.abs(want).max())


@pytest.mark.parametrize("sorted_from", [gpu.VJP_SORTED, 1])
def test_shim_gmm_vjp_matches_the_cpu_engine(shim, sorted_from, monkeypatch):
    """The gradients on the shim, the points in their own order or (from VJP_SORTED points
    on, here from one) gathered in the splat's tile order and put back."""
    from resample.ops import gmm

    monkeypatch.setattr(gpu, "VJP_SORTED", sorted_from)
    rng = np.random.default_rng(8)
    for n, shape, channels in ((40, (17, 23), 3), (200, (12, 31), 1), (300, (70, 99), 2)):
        xy, values, sx, sy = _gmm_problem(rng, n, shape, channels)
        colour, z, _ = gmm._forward(xy, values, sx, sy, 3.0, shape)
        colour, z = colour.copy(), z.copy()
        grad = rng.normal(size=colour.shape)
        want = gmm.vjp_from_forward(xy, values, sx, sy, 3.0, grad, colour, z, None, None, None)
        got = gpu.gmm_vjp(shim, xy, values, sx, sy, 3.0, grad, colour, z)
        assert got[4] is None and want[4] is None
        for g, w in zip(got[:4], want[:4]):
            np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12 * np.abs(w).max())
        # steered Gaussians: the same header on both devices, the rotation's gradient too
        theta = rng.uniform(-3, 3, n)
        colour, z, _ = gmm._forward(xy, values, sx, sy, 3.0, shape, theta)
        colour, z = colour.copy(), z.copy()
        shim_colour, shim_z, _ = gpu.gmm_forward(shim, xy, values, sx, sy, 3.0, shape, theta)
        np.testing.assert_allclose(shim_z, z, rtol=1e-10, atol=1e-300)
        np.testing.assert_allclose(shim_colour, colour, rtol=1e-9, atol=1e-9)
        want = gmm.vjp_from_forward(xy, values, sx, sy, 3.0, grad, colour, z, None, None, None,
                                    theta=theta)
        got = gpu.gmm_vjp(shim, xy, values, sx, sy, 3.0, grad, colour, z, theta)
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12 * np.abs(w).max())


@pytest.mark.parametrize("holes", ["nearest", "constant"])
def test_shim_reconstruction_with_holes_matches_the_cpu_engine(shim, holes):
    """gmm.forward_with_holes with the GPU backend: kernels for the splat, holes on the host."""
    from resample.ops import gmm

    rng = np.random.default_rng(13)
    xy, values, sx, sy = _gmm_problem(rng, 30, (40, 50), 3)
    sx, sy = sx / 4, sy / 4                                    # small: many holes
    v = values.astype(np.float32)
    want, want_z, (rows, cols, nearest) = gmm.forward_with_holes(xy, v, sx, sy, 3.0, (40, 50),
                                                                 holes, fill=-9.0)
    want, want_z = want.copy(), want_z.copy()
    assert len(rows) > 100
    got, z, (g_rows, g_cols, g_nearest) = gmm.forward_with_holes(
        xy, v, sx, sy, 3.0, (40, 50), holes, fill=-9.0, backend=shim)
    np.testing.assert_array_equal(g_rows, rows)
    np.testing.assert_array_equal(g_cols, cols)
    if holes == "nearest":
        np.testing.assert_array_equal(g_nearest, nearest)
    np.testing.assert_allclose(z, want_z, rtol=1e-5, atol=1e-30)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * np.abs(want).max())


def test_shim_vjp_with_holes_matches_the_cpu_engine(shim):
    """gmm.vjp_from_forward with the GPU backend, holes included, against the CPU engine."""
    from resample.ops import gmm

    rng = np.random.default_rng(17)
    xy, values, sx, sy = _gmm_problem(rng, 25, (20, 30), 2)
    sx, sy = sx / 3, sy / 3
    grad = rng.normal(size=(20, 30, 2))
    results = []
    for backend in (None, shim):
        colour, z, (rows, cols, nearest) = gmm.forward_with_holes(xy, values, sx, sy, 3.0,
                                                                  (20, 30), backend=backend)
        colour, z = colour.copy(), z.copy()
        assert len(rows) > 50
        results.append(gmm.vjp_from_forward(xy, values, sx, sy, 3.0, grad, colour, z, nearest,
                                            rows, cols, backend))
    for got, want in zip(results[1][:4], results[0][:4]):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12 * np.abs(want).max())


def _points_with_ties(rng):
    """Random points, points on a grid (many equal distances), and a few far outside."""
    grid = np.stack(np.meshgrid(np.arange(0, 30, 3.0), np.arange(0, 20, 2.0)), -1).reshape(-1, 2)
    scattered = rng.uniform(-5, 35, (150, 2))
    far = np.array([[500.0, -300.0], [-1e4, 7.0]])
    return np.concatenate([grid, scattered, far])


def test_shim_nearest_points_match_the_point_grid(shim):
    from resample.engines import pointgrid

    rng = np.random.default_rng(21)
    xy = _points_with_ties(rng)
    queries = np.concatenate([np.stack(np.meshgrid(np.arange(-2, 33.0), np.arange(-2, 23.0)),
                                       -1).reshape(-1, 2), rng.uniform(-50, 80, (200, 2))])
    grid = pointgrid.PointGrid(xy)
    for k, exclude_self, q in ((1, False, queries), (3, False, queries), (6, True, xy),
                               (len(xy) - 1, True, xy[:5])):
        want_d2, want_idx = grid.knn(q, k, exclude_self)
        d2, idx = gpu.knn(shim, xy, q, k, exclude_self)
        np.testing.assert_array_equal(idx, want_idx)
        np.testing.assert_allclose(d2, want_d2, rtol=1e-14)   # a compiler may fuse a multiply-add
    # and against brute force (distances; indices agree up to ties)
    d2, idx = gpu.knn(shim, xy, queries, 4)
    brute = ((queries[:, None, :] - xy[None, :, :]) ** 2).sum(-1)
    np.testing.assert_allclose(d2, np.sort(brute, axis=1)[:, :4], rtol=1e-12)
    np.testing.assert_allclose(np.take_along_axis(brute, idx, 1), d2, rtol=1e-12)
    one_point = gpu.knn(shim, np.array([[3.0, 4.0]]), np.array([[0.0, 0.0]]), 1)
    np.testing.assert_array_equal(one_point[0], [[25.0]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_shim_auto_sigma_matches_the_cpu_engine(shim, dtype):
    from resample.ops import gmm

    rng = np.random.default_rng(22)
    xy = _points_with_ties(rng)
    values = (rng.normal(size=(len(xy), 3)) * 40).astype(dtype)
    want = gmm.auto_sigma(xy, values)
    got = gmm.auto_sigma(xy, values, backend=shim)
    np.testing.assert_allclose(got, want, rtol=1e-12)


@pytest.mark.parametrize("sigma", ["auto", 0.6, "per point", "anisotropic"])
@pytest.mark.parametrize("holes", ["nearest", "constant"])
def test_shim_reconstruct_runs_every_step_on_the_device(shim, sigma, holes, monkeypatch):
    """reconstruct() and reconstruct_vjp() on the device path (validation, sigma, splat,
    holes, gradients) against the CPU engine."""
    rng = np.random.default_rng(23)
    n, shape = 120, (37, 41)
    xy = rng.uniform(-2, 42, (n, 2))
    values = (rng.normal(size=(n, 3)) * 30).astype(np.float32)
    s = {"per point": rng.uniform(0.3, 0.8, n),
         "anisotropic": rng.uniform(0.3, 0.8, (n, 2))}.get(sigma, sigma)
    grad = rng.normal(size=shape + (3,))
    want, want_z = resample.reconstruct(xy, values, shape, sigma=s, holes=holes, fill=-4.0,
                                        return_weights=True)
    want_vjp = resample.reconstruct_vjp(xy, values, shape, grad, sigma=s, holes=holes)
    assert (want_z == 0).sum() > (20 if sigma != "auto" else -1)   # holes to fill
    from resample.engines import devices
    from resample.ops import gmm

    monkeypatch.setattr(devices, "gpu_reason", lambda: None)
    monkeypatch.setattr(devices, "is_device_array", lambda a: isinstance(a, np.ndarray))
    monkeypatch.setattr(devices, "check_device_memory", lambda nbytes, what: None)
    monkeypatch.setattr(gmm, "_backend", lambda engine: shim if engine == "gpu" else None)
    shim.launched.clear()
    got, z = resample.reconstruct(xy, values, shape, sigma=s, holes=holes, fill=-4.0,
                                  return_weights=True)
    got_vjp = resample.reconstruct_vjp(xy, values, shape, grad, sigma=s, holes=holes)
    assert "gmm_splat_tiles_f32" in shim.launched and "gmm_vjp_f64" in shim.launched
    holes_searched = holes == "nearest" and (want_z == 0).any()      # (each hole's nearest)
    assert ("knn_grid" in shim.launched) == (sigma == "auto" or holes_searched)
    np.testing.assert_allclose(z, want_z, rtol=1e-5, atol=1e-30)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * np.abs(want).max())
    for g, w in zip(got_vjp, want_vjp):
        np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-10 * np.abs(w).max())
    with pytest.raises(resample.ResampleError, match="finite"):
        resample.reconstruct(np.array([[0.0, np.nan]]), np.ones(1), (4, 4))


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "float32", "float64"])
def test_shim_tiled_resize_is_the_gather_and_the_two_passes_bit_for_bit(shim, dtype):
    """The tiled kernel (shared memory, __syncthreads: the shim runs a block's threads at
    once) makes exactly the gather's and the cols-first two passes' sums, over random photo
    crops, odd sizes, every boundary (wrap's edge tiles read across the image: too wide for
    shared memory, they fall back to the gather) and heavy shrinks (every tile falls back)."""
    from resample.spec.dtypes import work_dtype

    rng = np.random.default_rng(zlib.crc32(dtype.encode()))
    photo = resample_photo()
    for k, (method, boundary) in enumerate([("bicubic", "edge"), ("lanczos", "reflect"),
                                            ("gri", "wrap"), ("bilinear", "constant"),
                                            ("mitchell", "truncate"), ("box", "mirror")]):
        h, w = (int(v) for v in rng.integers(1, 70, size=2)) if k % 2 == 0 else \
            (int(v) for v in rng.integers(180, 260, size=2))       # shrunk 9x: too wide
        r0, c0 = (int(v) for v in rng.integers(0, 512 - max(h, w), size=2))
        a = photo[r0:r0 + h, c0:c0 + w].astype(dtype)
        if dtype == "uint16":
            a = a * 257
        if k % 2:
            a = a[..., :1]
        shape = [(int(h * 2.3) + 1, int(w * 1.7) + 1), (max(1, h // 9), max(1, w // 7))][k % 2]
        outs = [_gpu_resize(shim, a, shape, method, "centers", boundary, fill=3.0, passes=p)
                for p in (3, 1, 2)]
        np.testing.assert_array_equal(outs[0], outs[1], err_msg=str((method, boundary, shape)))
        m = get_method(method)
        tr = resize_taps(h, shape[0], m, "centers", boundary, True)
        tc = resize_taps(w, shape[1], m, "centers", boundary, True)
        if h * shape[1] <= shape[0] * w:                        # two passes took cols first
            np.testing.assert_array_equal(outs[0], outs[2])
        ch, work = a.shape[2] if a.ndim == 3 else 1, work_dtype(np.dtype(dtype))
        fits = gpu.tile_ways(tr, tc, ch, np.dtype(dtype).itemsize, np.dtype(work).itemsize,
                             False) >= 2
        if k % 2:
            assert not fits.any()                               # all through the gather
        elif boundary == "wrap" and min(h, w) > 8:
            assert fits.any() and not fits.all()                # edge tiles fall back
        else:
            assert fits.all()


@pytest.mark.parametrize("dtype", ["uint8", "uint16"])
def test_shim_fast_tiles_are_the_gather_and_the_two_passes_bit_for_bit(shim, dtype):
    """tiled_fast (8/16-bit pictures of 1 to 4 channels: footprints kept packed, x taps in
    registers, two output rows a thread where their taps are shifts of each other) makes the
    gather's sums exactly, and the cols-first two passes' where that order ran: every tap
    count 2 to 8, pairs shifted by 0 and 1 and pairs it cannot share, columns of
    consecutive taps and not (wrapped), tiles of 32 and 64 rows, over photo crops and a
    flat-colour chart."""
    rng = np.random.default_rng(zlib.crc32(b"fast" + dtype.encode()))
    photo = resample_photo()
    chart = np.zeros((90, 90, 4), np.uint8)                    # flat colours, sharp edges
    chart[:, :45] = (200, 30, 30, 255)
    chart[20:70, 30:80] = (20, 20, 220, 128)
    chart[::9] = (255, 255, 255, 0)
    cases = [("bilinear", 2.0, 2.2), ("gri", 1.5, 1.65), ("bicubic", 2.3, 2.5),
             ("lanczos", 3.4, 3.7), ("lanczos", 2.0, 0.8), ("mitchell", 1.7, 0.55),
             ("lanczos", 1.05, 1.0), ("box", 1.7, 1.9), ("bicubic", 3.0, 2.6)]
    seen = set()
    for k, (method, scale, scale_x) in enumerate(cases):
        ch = 1 + k % 4
        if k % 3 == 2:
            a = chart[: int(rng.integers(20, 90)), : int(rng.integers(20, 90)), :ch]
        else:
            h, w = (int(v) for v in rng.integers(9, 60, size=2))
            if method == "lanczos" and scale < 1.5:
                h = 100                           # tiles of 64 rows too tall: 32 rows
            if k == 8:
                h, w = 7, 6                       # wrapped taps: not consecutive
            r0, c0 = (int(v) for v in rng.integers(0, 400, size=2))
            a = np.dstack([photo, photo[..., :1]])[r0:r0 + h, c0:c0 + w, :ch]
        if dtype == "uint16":
            a = a.astype(np.uint16) * 257 + rng.integers(0, 257, a.shape).astype(np.uint16)
        a = np.ascontiguousarray(a.astype(dtype))
        shape = (max(1, round(a.shape[0] * scale)), max(1, round(a.shape[1] * scale_x)))
        boundary = ["edge", "reflect", "mirror", "truncate"][k % 4] if k < 8 else "wrap"
        outs = [_gpu_resize(shim, a, shape, method, "centers", boundary, passes=p)
                for p in (3, 1, 2)]
        np.testing.assert_array_equal(outs[0], outs[1], err_msg=str((method, scale, ch)))
        m = get_method(method)
        tr = resize_taps(a.shape[0], shape[0], m, "centers", boundary, True)
        tc = resize_taps(a.shape[1], shape[1], m, "centers", boundary, True)
        if a.shape[0] * shape[1] <= shape[0] * a.shape[1]:
            np.testing.assert_array_equal(outs[0], outs[2])
        assert gpu.fast_tiles(tr, tc, ch, np.dtype(dtype), np.float32)
        tall = gpu.tile_rows(tr, tc, ch, np.dtype(dtype).itemsize, True)
        ways = gpu.tile_ways(tr, tc, ch, np.dtype(dtype).itemsize, 4, True, tall)
        assert (ways == 3).any(), (method, scale)
        seen.add(("rows", tall))
        seen.update(int(c) for c in np.unique(np.concatenate([tr.count, tc.count])))
        for o in range(0, tr.n_out - 1, 2):                    # the pairs y_pair can share
            n = tr.count[o]
            runs = n in (2, 3, 4, 6) and tr.count[o + 1] == n and all(
                (np.diff(tr.index[q, :n]) == 1).all() for q in (o, o + 1))
            if runs and tr.index[o + 1, 0] - tr.index[o, 0] in (0, 1):
                seen.add(("pair", int(tr.index[o + 1, 0] - tr.index[o, 0])))
        seen.update(("x runs", bool((np.diff(tc.index[c, :tc.count[c]]) == 1).all()))
                    for c in range(tc.n_out))
    assert set(range(2, 9)) <= seen and {("pair", 0), ("pair", 1)} <= seen, seen
    assert {("rows", gpu.TILE), ("rows", gpu.TILE_ROWS_MAX)} <= seen, seen
    assert {("x runs", True), ("x runs", False)} <= seen, seen


@pytest.mark.slow
def test_shim_tiled_resize_random_sweep(shim):
    """Random sizes, scales (0.4x to 5x, each axis its own), methods, boundaries, channels
    and 8/16-bit photo crops: the tiled kernel (whichever way each tile takes) is the
    gather, bit for bit."""
    rng = np.random.default_rng(20261123)
    photo = np.dstack([resample_photo(), resample_photo()[..., :1]])
    methods = [m for m in METHOD_NAMES if m != "nearest"]
    for _ in range(24):
        h, w = (int(v) for v in rng.integers(1, 90, size=2))
        ch = int(rng.integers(1, 5))
        r0, c0 = (int(v) for v in rng.integers(0, 400, size=2))
        a = photo[r0:r0 + h, c0:c0 + w, :ch]
        if rng.random() < 0.5:
            a = a.astype(np.uint16) * 257
        shape = tuple(max(1, int(round(n * s))) for n, s in zip((h, w),
                                                                 rng.uniform(0.4, 5, 2)))
        method = methods[int(rng.integers(len(methods)))]
        boundary = BOUNDARIES[int(rng.integers(len(BOUNDARIES)))]
        outs = [_gpu_resize(shim, np.ascontiguousarray(a), shape, method, "centers", boundary,
                            fill=7.0, passes=p) for p in (3, 1)]
        np.testing.assert_array_equal(outs[0], outs[1],
                                      err_msg=str((h, w, ch, a.dtype, shape, method, boundary)))


def test_the_fast_tiles_take_only_what_they_can():
    """No fast way for a constant boundary (its fill term), float pictures, more than four
    channels or more than TILE_TAPS taps (a strong shrink)."""
    m = get_method("bicubic")
    up = resize_taps(40, 90, m, "centers", "edge", True)
    assert gpu.fast_tiles(up, up, 3, np.dtype(np.uint8), np.float32)
    const = resize_taps(40, 90, m, "centers", "constant", True)
    assert not gpu.fast_tiles(const, up, 3, np.dtype(np.uint8), np.float32)
    assert not gpu.fast_tiles(up, up, 3, np.dtype(np.float32), np.float32)
    assert not gpu.fast_tiles(up, up, 5, np.dtype(np.uint8), np.float32)
    assert not gpu.fast_tiles(up, up, 3, np.dtype(np.uint8), np.float64)
    shrink = resize_taps(90, 20, m, "centers", "edge", True)
    assert shrink.index.shape[1] > gpu.TILE_TAPS
    assert not gpu.fast_tiles(shrink, up, 3, np.dtype(np.uint8), np.float32)


def resample_photo():
    from skimage import data

    return data.astronaut()


def test_tile_spans():
    m = get_method("bicubic")
    t = resize_taps(100, 200, m, "centers", "edge", True)
    spans = gpu.tile_spans(t)
    assert spans.shape == (7, 2) and spans[0, 0] == 0 and spans[-1, 1] == 99
    for i, (lo, hi) in enumerate(spans):
        rows = slice(32 * i, min(200, 32 * i + 32))
        real = np.arange(t.index.shape[1]) < t.count[rows, None]
        assert lo == t.index[rows][real].min() and hi == t.index[rows][real].max()


@pytest.mark.parametrize("interpolate,channels", [(False, 3), (True, 3), (True, 1)])
def test_shim_order_1_matches_the_cpu_engine(shim, monkeypatch, interpolate, channels):
    """reconstruct(order=1) and its gradients on the device path: the moments' splat, the
    planes' solve and its chain rule (array code on the device's arrays), and the residuals'
    spread through the points (the device's bilinear taps, gather and its gradient) against
    the CPU engine: one channel (the residuals' Gaussian splat packed a pixel at a time on
    the device) and three (in planes)."""
    import resample
    from resample.engines import devices
    from resample.ops import gmm

    rng = np.random.default_rng(29)
    xy = rng.uniform(-2, 42, (150, 2))
    values = (rng.normal(size=(150, channels)) * 30).astype(np.float32)
    grad = rng.normal(size=(37, 41, channels))
    sigma = np.column_stack([rng.uniform(0.8, 2.5, (150, 2)), rng.uniform(-3, 3, 150)])
    want, want_z = resample.reconstruct(xy, values, (37, 41), order=1, return_weights=True,
                                        interpolate=interpolate)
    want_vjp = resample.reconstruct_vjp(xy, values, (37, 41), grad, sigma=sigma, order=1,
                                        interpolate=interpolate)
    monkeypatch.setattr(devices, "gpu_reason", lambda: None)
    monkeypatch.setattr(devices, "is_device_array", lambda a: isinstance(a, np.ndarray))
    monkeypatch.setattr(devices, "check_device_memory", lambda nbytes, what: None)
    monkeypatch.setattr(gmm, "_backend", lambda engine: shim if engine == "gpu" else None)
    shim.launched.clear()
    got, z = resample.reconstruct(xy, values, (37, 41), order=1, return_weights=True,
                                  interpolate=interpolate)
    assert "gmm_splat_f64" in shim.launched            # (the moments: 17 planes, float64)
    assert ("gather_f64_f64" in shim.launched) == interpolate
    np.testing.assert_allclose(z, want_z, rtol=1e-5, atol=1e-30)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())
    got_vjp = resample.reconstruct_vjp(xy, values, (37, 41), grad, sigma=sigma, order=1,
                                       interpolate=interpolate)
    assert ("gather_vjp_f64" in shim.launched) == interpolate
    for g, w in zip(got_vjp, want_vjp):
        np.testing.assert_allclose(g, w, rtol=1e-8, atol=1e-9 * np.abs(w).max())
