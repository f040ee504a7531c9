"""8-bit images in fixed point (kernels/resize/fixed8.h): within one level of the float64
reference wherever it runs, constant images exactly constant, identical on both instruction
sets, and declined (the float loops run) where its rounding could not be bounded."""

import os
import subprocess
import sys

import numpy as np
import pytest

import resample
from resample.engines import cpu
from reference import ref_resize, round_to

skimage_data = pytest.importorskip("skimage.data")


@pytest.fixture
def fixed_calls(monkeypatch):
    """Records whether each resize_fixed8 call ran the fixed-point loops (it answers their
    mode, 0 where it declines)."""
    calls = []
    core = cpu._core

    class Spy:
        def __getattr__(self, name):
            return getattr(core, name)

        def resize_fixed8(self, *args):
            mode = core.resize_fixed8(*args)
            calls.append(bool(mode))
            return mode

    monkeypatch.setattr(cpu, "_core", Spy())
    return calls


def _crops():
    """Real photos and a flat-colour graphic, every channel count the loops special-case."""
    astro = skimage_data.astronaut()[100:141, 180:227]               # 41x47 RGB, a face
    chart = np.zeros((23, 31, 3), np.uint8)                            # flat colours, hard edges
    chart[:, 10:20] = (255, 0, 0)
    chart[8:15] = (0, 0, 255)
    chart[::5, ::3] = 255
    return {
        "rgb": astro,
        "grey": skimage_data.camera()[200:237, 150:203],
        "two": np.ascontiguousarray(astro[..., :2]),
        "rgba": np.dstack([astro, astro[..., 1]]),
        "five": np.dstack([astro, astro[..., :2]]),
        "chart": chart,
    }


SHAPES = [lambda h, w: (2 * h + 1, 2 * w + 3),       # enlarge, odd
          lambda h, w: (h // 3, w // 2),             # shrink, antialiased
          lambda h, w: (h, 5 * w),                   # one axis only
          lambda h, w: (7, 3 * w + 1),               # shrink one way, enlarge the other
          lambda h, w: (1, 1)]


@pytest.mark.slow
@pytest.mark.parametrize("method", [m for m in resample.METHODS if m != "nearest"])
def test_fixed_point_stays_within_a_level_of_the_float64_reference(method, fixed_calls):
    for name, img in _crops().items():
        for boundary in ("edge", "reflect", "truncate", "constant"):
            for make in SHAPES:
                shape = make(*img.shape[:2])
                ours = resample.resize(img, shape=shape, method=method, boundary=boundary)
                exact = ref_resize(img.astype(np.float64), shape, method, boundary=boundary)
                if method == "box":     # an input centre exactly on an edge: either way
                    nudged = [ref_resize(img.astype(np.float64), shape, method,
                                         boundary=boundary, nudge=(a, b))
                              for a in (-1e-9, 1e-9) for b in (-1e-9, 1e-9)]
                    pick = np.argmin([np.abs(r - ours) for r in nudged], axis=0)
                    exact = np.choose(pick, nudged)
                diff = np.abs(ours.astype(int) - round_to(exact, np.uint8))
                assert diff.max() <= 1, (name, boundary, shape)
                # off by one only where the exact value lies within the rounding's bound
                # (FIXED_MAX_ERROR, a quarter level) of a half
                near_half = np.abs(exact - np.floor(exact) - 0.5) <= 0.25 + 1e-9
                assert near_half[diff == 1].all(), (name, boundary, shape)
    # (box enlarging picks one pixel: a selection, no arithmetic)
    assert fixed_calls.count(True) > (0.5 if method == "box" else 0.9) * len(fixed_calls)


def test_fixed_point_is_exact_on_constants_and_saturates_overshoot(fixed_calls):
    for value in (0, 1, 127, 254, 255):
        img = np.full((13, 17, 3), value, np.uint8)
        for method in ("bilinear", "bicubic", "lanczos", "gri", "mitchell", "box"):
            for shape in ((29, 40), (5, 6), (1, 1), (13, 100)):
                out = resample.resize(img, shape=shape, method=method, boundary="reflect")
                assert (out == value).all(), (value, method, shape)
    # a 1-pixel checkerboard enlarged with lanczos overshoots both ends: clipped, as the
    # reference rounds and clips
    board = (np.indices((9, 11)).sum(axis=0) % 2 * 255).astype(np.uint8)
    out = resample.resize(board, shape=(31, 37), method="lanczos")
    ref = round_to(ref_resize(board.astype(np.float64), (31, 37), "lanczos"), np.uint8)
    assert np.abs(out.astype(int) - ref).max() <= 1
    assert out.min() == 0 and out.max() == 255
    assert all(fixed_calls)


def test_fixed_point_on_one_pixel_and_extreme_scales(fixed_calls):
    rng = np.random.default_rng(5)
    one = rng.integers(0, 256, (1, 1, 3), dtype=np.uint8)
    out = resample.resize(one, shape=(5, 300), method="bicubic")
    assert (out == one).all()
    row = rng.integers(0, 256, (1, 3001), dtype=np.uint8)
    for shape in ((1, 3), (4, 2), (1, 9000)):
        ours = resample.resize(row, shape=shape, method="bilinear")
        ref = round_to(ref_resize(row.astype(np.float64), shape, "bilinear"), np.uint8)
        assert np.abs(ours.astype(int) - ref).max() <= 1, shape


def test_fixed_point_declines_where_its_rounding_is_unbounded(fixed_calls):
    """A 60x shrink with lanczos sums about 360 rounded weights per axis: the bound on their
    rounding exceeds a quarter level, so the float loops run (and stay within a level)."""
    img = skimage_data.camera()[:360, :360]
    ours = resample.resize(img, shape=(6, 6), method="lanczos")
    assert fixed_calls == [False]
    ref = round_to(ref_resize(img.astype(np.float64), (6, 6), "lanczos"), np.uint8)
    assert np.abs(ours.astype(int) - ref).max() <= 1


@pytest.mark.slow
def test_fixed_point_is_identical_on_both_instruction_sets(tmp_path):
    """The AVX2 loops compute the scalar loops' integers exactly: two pixels per register (1
    to 4 channels shuffled into slots), runs of 8 samples per lane where a narrow kernel
    enlarges (2x: bilinear and gri on every channel count up to 4, bicubic on 1 and 2), rows
    summed in 16-bit terms (few taps) or 32-bit pairs (many)."""
    from resample import _core

    code = (
        "import numpy as np, resample, resample._core as c\n"
        "from skimage import data\n"
        "a = data.astronaut()[::3, ::3]\n"
        "imgs = {1: a[..., 0].copy(), 2: a[..., :2].copy(), 3: a, 4: np.dstack([a, a[..., 0]]),"
        " 5: np.dstack([a, a[..., :2]])}\n"
        "out = {}\n"
        "for n, img in imgs.items():\n"
        "    for m in ['bilinear', 'bicubic', 'lanczos', 'gri']:\n"
        "        for s in [(341, 517), (190, 181), (57, 40), (171, 9), (1, 2)]:\n"
        "            out[f'{n}{m}{s}'] = resample.resize(img, shape=s, method=m)\n"
        f"np.savez(r'{tmp_path}/' + c.instruction_set() + '.npz', **out)\n")
    for isa in ("baseline", ""):
        subprocess.run([sys.executable, "-c", code], check=True,
                       env=dict(os.environ, RESAMPLE_ISA=isa))
    if not (tmp_path / "avx2.npz").exists():
        pytest.skip(f"this processor has no AVX2 ({_core.instruction_set()} only)")
    base, avx = np.load(tmp_path / "baseline.npz"), np.load(tmp_path / "avx2.npz")
    for key in base.files:
        np.testing.assert_array_equal(base[key], avx[key], err_msg=key)


def test_fixed_point_declines_a_weight_that_16_bits_cannot_hold():
    """A weight of exactly 2 would be 2^15 in 16 bits: the loops decline, the float loops run."""
    img = np.full((3, 5, 3), 100, np.uint8)
    rows = (np.arange(3, dtype=np.int64)[:, None], np.ones((3, 1)), np.ones(3, np.int64))
    cols = (np.arange(5, dtype=np.int64)[:, None], np.full((5, 1), 2.0), np.ones(5, np.int64))
    dst = np.zeros((3, 15), np.uint8)
    assert not cpu._core.resize_fixed8(img.reshape(3, -1), *rows, *cols, dst, 1)
    cols = (cols[0], np.full((5, 1), 1.5), cols[2])                  # 1.5 fits: 150 clips
    assert cpu._core.resize_fixed8(img.reshape(3, -1), *rows, *cols, dst, 1)
    assert (dst == 150).all()


@pytest.mark.parametrize("method", ["bilinear", "gri", "bicubic", "lanczos"])
def test_fixed_point_does_not_depend_on_the_channel_count(method, fixed_calls):
    """Each channel comes out as it would alone: the fixed-point mode is chosen from the tables,
    never from the layout (RGB and RGBX give the same pixels; the plain job writes JPEGs from
    RGBX).  Scales from a heavy shrink to an enlargement, where runs of samples fit one
    layout's loads and not another's."""
    photo = skimage_data.astronaut()[60:160:2, 150:250:2]           # 50x50
    img = np.dstack([photo, photo[..., ::-1]])                      # six channels
    for shape in ((50, 101), (51, 40), (47, 37), (29, 33), (13, 60), (100, 23)):
        alone = [resample.resize(np.ascontiguousarray(img[..., c]), shape=shape, method=method)
                 for c in range(6)]
        for n_ch in (1, 2, 3, 4, 5, 6):
            out = resample.resize(np.ascontiguousarray(img[..., :n_ch]), shape=shape,
                                  method=method)
            out = out.reshape(*shape, n_ch)
            for c in range(n_ch):
                np.testing.assert_array_equal(out[..., c], alone[c],
                                              err_msg=f"{shape} {n_ch} channels, {c}")
    assert all(fixed_calls)


@pytest.mark.parametrize("method", ["bilinear", "lanczos"])
def test_fixed_point_streams_a_large_output_to_the_same_integers(method):
    """An output past STREAM_BYTES (32 MB, kernels/cpu/isa.h) is written with non-temporal stores from
    each row's first 32-byte aligned sample (rows of 10500 bytes start at every alignment);
    the integers are those of the same rows resized as small blocks, stored plainly."""
    from resample.spec.methods import get_method
    from resample.spec.taps import resize_taps

    photo = skimage_data.astronaut()                                  # 512x512x3
    shape = (3400, 3500)                                              # 35.7 MB
    m = get_method(method)
    rows = resize_taps(512, shape[0], m, "centers", "truncate", True)
    cols = resize_taps(512, shape[1], m, "centers", "truncate", True)
    whole = resample.resize(photo, shape=shape, method=method)
    assert whole.nbytes >= 32 << 20
    _, mode = cpu.plan(photo.shape, rows, cols, 0.0, np.uint8, np.uint8)
    assert mode > 0
    col_table = cpu._table(cols, np.float64)[:3]
    rng = np.random.default_rng(2)
    for start in sorted(rng.choice(shape[0] - 8, 12, replace=False)):
        part = slice(int(start), int(start) + 7)
        dst = np.zeros((7, shape[1] * 3), np.uint8)
        row_table = [np.ascontiguousarray(a[part]) for a in cpu._table(rows, np.float64)[:3]]
        assert cpu._core.resize_fixed8(photo.reshape(512, -1), *row_table, *col_table, dst, 1,
                                       mode) == mode
        np.testing.assert_array_equal(dst.reshape(7, *shape[1:], 3), whole[part],
                                      err_msg=str(start))
