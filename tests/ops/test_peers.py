"""Agreement with the peers where their conventions match ours: Pillow, OpenCV, torch."""

import numpy as np
import pytest
from PIL import Image

import resample
from resample.spec.taps import kernel_values, output_positions

skimage_data = pytest.importorskip("skimage.data")

PILLOW = {"nearest": Image.Resampling.NEAREST, "bilinear": Image.Resampling.BILINEAR,
          "bicubic": Image.Resampling.BICUBIC, "lanczos": Image.Resampling.LANCZOS,
          "box": Image.Resampling.BOX}
SUPPORT = {"bilinear": 1, "bicubic": 2, "lanczos": 3}


@pytest.fixture(scope="module")
def photo():
    """A real photograph (scikit-image's astronaut), RGB uint8, 512x512."""
    return skimage_data.astronaut()


@pytest.fixture(scope="module")
def grey_photo():
    """A real photograph in float32 grey, 300x451 (scikit-image's cat)."""
    return (skimage_data.chelsea().astype(np.float32) @ np.float32([0.299, 0.587, 0.114]))


def _interior(n_in, n_out, support):
    """Output samples whose (stretched) kernel window stays inside the input."""
    x, step = output_positions(n_in, n_out, "centers")
    reach = support * max(1.0, step)
    return (x - reach >= 0) & (x + reach <= n_in - 1)


@pytest.mark.parametrize("shape", [(256, 256), (1023, 517), (97, 1001), (7, 5), (512, 512)])
def test_nearest_equals_pillow_exactly(photo, shape):
    ours = resample.resize(photo, shape=shape, method="nearest")
    pil = np.asarray(Image.fromarray(photo).resize(shape[::-1], Image.Resampling.NEAREST))
    np.testing.assert_array_equal(ours, pil)


def test_nearest_ties_fall_as_in_pillow():
    # Many sizes put output centres exactly between two inputs; the tie must fall as Pillow's.
    rng = np.random.default_rng(0)
    for w_in in range(1, 40):
        for w_out in range(1, 40):
            row = rng.random((1, w_in)).astype(np.float32)
            ours = resample.resize(row, shape=(1, w_out), method="nearest")
            pil = np.asarray(Image.fromarray(row, "F").resize((w_out, 1), Image.Resampling.NEAREST))
            np.testing.assert_array_equal(ours, pil)


@pytest.mark.parametrize("method", ["bilinear", "bicubic", "lanczos"])
@pytest.mark.parametrize("shape", [(150, 225), (71, 303), (600, 900), (299, 452), (40, 1000)])
def test_antialiased_matches_pillow_float_inside_border(grey_photo, method, shape):
    ours = resample.resize(grey_photo, shape=shape, method=method)
    pil = np.asarray(Image.fromarray(grey_photo, "F").resize(shape[::-1], PILLOW[method]))
    inside = (_interior(grey_photo.shape[0], shape[0], SUPPORT[method])[:, None]
              & _interior(grey_photo.shape[1], shape[1], SUPPORT[method])[None, :])
    assert inside.sum() > 0.5 * inside.size or min(shape) < 100
    np.testing.assert_allclose(ours[inside], pil[inside], rtol=0, atol=2e-3)


def test_uint8_close_to_pillow_inside(photo):
    # Pillow rounds (and clips) its 8-bit intermediate; ours stays float.  Where no kernel
    # overshoots (bilinear) that is within one step; with negative lobes Pillow's clipped
    # intermediate moves a few samples further.
    for method in ["bilinear", "bicubic", "lanczos"]:
        ours = resample.resize(photo, shape=(200, 330), method=method)
        pil = np.asarray(Image.fromarray(photo).resize((330, 200), PILLOW[method]))
        inside = (_interior(512, 200, SUPPORT[method])[:, None]
                  & _interior(512, 330, SUPPORT[method])[None, :])
        diff = np.abs(ours.astype(int) - pil)[inside]
        if method == "bilinear":
            assert diff.max() <= 1
        assert np.mean(diff > 1) < 1e-3


@pytest.mark.parametrize("shape", [(1024, 1024), (333, 777), (100, 50), (513, 255)])
def test_bilinear_no_antialias_matches_opencv(photo, shape):
    cv2 = pytest.importorskip("cv2")
    img = photo.astype(np.float32)
    ours = resample.resize(img, shape=shape, method="bilinear", antialias=False)
    theirs = cv2.resize(img, shape[::-1], interpolation=cv2.INTER_LINEAR)
    np.testing.assert_allclose(ours, theirs, atol=2e-3)


def test_nearest_matches_opencv_nearest_exact(photo):
    cv2 = pytest.importorskip("cv2")
    for shape in [(1000, 333), (200, 257)]:
        ours = resample.resize(photo, shape=shape, method="nearest")
        theirs = cv2.resize(photo, shape[::-1], interpolation=cv2.INTER_NEAREST_EXACT)
        # OpenCV computes positions in fixed point; ties may fall apart on rare columns.
        assert (ours != theirs).any(axis=2).mean() < 0.01


@pytest.mark.parametrize("align_corners", [True, False])
@pytest.mark.parametrize("shape", [(700, 900), (101, 55), (512, 1024)])
def test_bilinear_matches_torch_interpolate(grey_photo, align_corners, shape):
    torch = pytest.importorskip("torch")
    t = torch.from_numpy(grey_photo.astype(np.float64))[None, None]
    theirs = torch.nn.functional.interpolate(t, size=shape, mode="bilinear",
                                             align_corners=align_corners)[0, 0].numpy()
    ours = resample.resize(grey_photo.astype(np.float64), shape=shape, method="bilinear",
                           align="corners" if align_corners else "centers", antialias=False)
    np.testing.assert_allclose(ours, theirs, atol=1e-9)


@pytest.mark.parametrize("shape", [(100, 150), (57, 211)])
def test_bilinear_antialias_matches_torch(grey_photo, shape):
    torch = pytest.importorskip("torch")
    t = torch.from_numpy(grey_photo.astype(np.float64))[None, None]
    theirs = torch.nn.functional.interpolate(t, size=shape, mode="bilinear", antialias=True,
                                             align_corners=False)[0, 0].numpy()
    ours = resample.resize(grey_photo.astype(np.float64), shape=shape, method="bilinear")
    inside = (_interior(300, shape[0], 1)[:, None] & _interior(451, shape[1], 1)[None, :])
    np.testing.assert_allclose(ours[inside], theirs[inside], atol=1e-9)


@pytest.mark.parametrize("align_corners", [True, False])
@pytest.mark.parametrize("padding", ["border", "zeros"])
def test_sample_normalized_matches_grid_sample(photo, align_corners, padding):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    img = photo[::4, ::3].astype(np.float64)          # 128 x 171, not square
    grid = rng.uniform(-1.15, 1.15, size=(37, 41, 2))  # some points outside the image
    t = torch.from_numpy(np.moveaxis(img, -1, 0))[None]
    theirs = torch.nn.functional.grid_sample(
        t, torch.from_numpy(grid)[None], mode="bilinear", padding_mode=padding,
        align_corners=align_corners)[0].numpy()
    ours = resample.sample(img, grid, normalized=True,
                           align="corners" if align_corners else "centers",
                           boundary="edge" if padding == "border" else "constant", fill=0.0)
    np.testing.assert_allclose(ours, np.moveaxis(theirs, 0, -1), atol=1e-9)


def test_sample_normalized_matches_grid_sample_nearest_off_ties():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(9)
    img = rng.random((23, 31))
    grid = rng.uniform(-1, 1, size=(50, 2))
    for align_corners in (True, False):
        theirs = torch.nn.functional.grid_sample(
            torch.from_numpy(img)[None, None], torch.from_numpy(grid)[None, None],
            mode="nearest", padding_mode="border", align_corners=align_corners)[0, 0, 0].numpy()
        ours = resample.sample(img, grid, method="nearest", normalized=True,
                               align="corners" if align_corners else "centers")
        np.testing.assert_array_equal(ours, theirs)


# --- The truncate boundary: Pillow and torch (antialias=True) over the whole image ------------

@pytest.mark.parametrize("method", ["bilinear", "bicubic", "lanczos", "box"])
@pytest.mark.parametrize("shape", [(150, 225), (71, 303), (600, 900), (299, 452), (40, 1000),
                                   (7, 5), (1, 1), (300, 451), (100, 150), (176, 66)])
def test_truncate_equals_pillow_float_over_the_whole_image(grey_photo, method, shape):
    """Borders included, shrinking and enlarging (Pillow's enlarge cases for bicubic and
    lanczos differed from the edge boundary at the borders)."""
    ours = resample.resize(grey_photo, shape=shape, method=method, boundary="truncate")
    pil = np.asarray(Image.fromarray(grey_photo, "F").resize(shape[::-1], PILLOW[method]))
    np.testing.assert_allclose(ours, pil, rtol=0, atol=2e-3)


def test_the_command_equals_pillow_on_files_borders_included(photo, tmp_path):
    """The command resizes files as Pillow does (boundary truncate by default), over the
    whole image: bilinear within one level (Pillow rounds its 8-bit intermediate; ours stays
    float); with negative lobes Pillow also clips that intermediate, which moves a few
    samples beside strong edges further."""
    from resample.cli.command import main

    Image.fromarray(photo).save(tmp_path / "in.png")
    for method, size in [("bilinear", (330, 200)), ("bilinear", (1024, 777)),
                         ("bicubic", (700, 650)), ("lanczos", (150, 333))]:
        out = tmp_path / f"{method}-{size[0]}.png"
        assert main([str(tmp_path / "in.png"), "-o", str(out), "--method", method, "--size",
                     f"{size[0]}x{size[1]}!", "-q"]) == 0
        ours = np.asarray(Image.open(out)).astype(int)
        pil = np.asarray(Image.fromarray(photo).resize(size, PILLOW[method])).astype(int)
        diff = np.abs(ours - pil)
        if method == "bilinear":
            assert diff.max() <= 1
        assert np.mean(diff > 1) < 1.5e-3, (method, np.mean(diff > 1))


def test_ramp_shrunk_with_antialias_as_torch():
    """torch's own case: an 8x8 ramp to 2x2, bilinear, antialias=True (edge gave 14.906 at
    the corner, torch 17.036)."""
    ramp = np.arange(64, dtype=np.float64).reshape(8, 8)
    ours = resample.resize(ramp, shape=(2, 2), method="bilinear", boundary="truncate")
    assert ours[0, 0] == pytest.approx(17.036, abs=1e-3)
    torch = pytest.importorskip("torch")
    theirs = torch.nn.functional.interpolate(torch.from_numpy(ramp)[None, None], size=(2, 2),
                                             mode="bilinear", antialias=True,
                                             align_corners=False)[0, 0].numpy()
    np.testing.assert_allclose(ours, theirs, atol=1e-12)


@pytest.mark.parametrize("mode, method", [("bilinear", "bilinear"), ("bicubic", "bicubic")])
@pytest.mark.parametrize("shape", [(100, 150), (57, 211), (301, 17)])
def test_antialias_equals_torch_over_the_whole_image(grey_photo, mode, method, shape):
    torch = pytest.importorskip("torch")
    t = torch.from_numpy(grey_photo.astype(np.float64))[None, None]
    theirs = torch.nn.functional.interpolate(t, size=shape, mode=mode, antialias=True,
                                             align_corners=False)[0, 0].numpy()
    ours = resample.resize(grey_photo.astype(np.float64), shape=shape, method=method,
                           boundary="truncate")
    np.testing.assert_allclose(ours, theirs, atol=1e-9)


# --- Cases from the peers' own test suites ------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("method", ["bilinear", "bicubic", "lanczos", "gri"])
def test_ones_stay_ones(dtype, method):
    """Pillow's and torch's constant-image cases: ones in, exactly ones out (it was
    1.0000001), for every boundary, shrinking and enlarging, and for point sampling."""
    for boundary in ["edge", "truncate", "reflect", "mirror", "wrap", "extrapolate"]:
        for shape in [(7, 9), (30, 41), (100, 3), (1, 1), (250, 250)]:
            ones = np.ones((50, 60), dtype)
            out = resample.resize(ones, shape=shape, method=method, boundary=boundary)
            assert out.dtype == dtype and (out == 1).all(), (boundary, shape)
        pts = np.random.default_rng(0).uniform(0, 59, (40, 2))
        assert (resample.sample(np.ones((50, 60), dtype), pts, method=method) == 1).all()


@pytest.mark.parametrize("method", ["bilinear", "bicubic", "lanczos", "gri"])
def test_float32_near_its_limit_does_not_overflow(method):
    """torch's case: 3.4028230e38 everywhere, bicubic, gave inf (sums ran in float32); a
    lanczos case gave hundreds of inf and thousands of NaN."""
    top = np.float32(3.4028230e38)
    for shape in [(12, 17), (80, 90), (3, 300)]:
        out = resample.resize(np.full((40, 50), top, np.float32), shape=shape, method=method)
        assert np.isfinite(out).all() and (out == top).all()
    rng = np.random.default_rng(1)
    noisy = (rng.uniform(-1, 1, (40, 50)) * 3.0e38).astype(np.float32)
    out = resample.resize(noisy, shape=(97, 13), method=method)
    ref = resample.resize(noisy.astype(np.float64), shape=(97, 13), method=method)
    assert np.isfinite(ref).all() == np.isfinite(out).all()
    big = np.abs(ref) < np.finfo(np.float32).max
    np.testing.assert_allclose(out[big], ref[big].astype(np.float32), rtol=1e-6)


def test_extreme_shrink_is_not_quadratic():
    """A 1x200000 row to 5 pixels took ~16 s (tap merging was quadratic in the taps); its
    table now holds each input once per output it reaches."""
    row = np.random.default_rng(2).uniform(0, 255, (1, 200_000)).astype(np.float32)
    out = resample.resize(row, shape=(1, 5), method="lanczos")
    means = [row[0, k * 40000:(k + 1) * 40000].mean() for k in range(5)]
    np.testing.assert_allclose(out[0, 1:4], means[1:4], rtol=0.02)   # edge: the ends differ
    pil = np.asarray(Image.fromarray(row, "F").resize((5, 1), Image.Resampling.LANCZOS))
    np.testing.assert_allclose(resample.resize(row, shape=(1, 5), method="lanczos",
                                               boundary="truncate"), pil, rtol=1e-4)


# --- box and mitchell ------------------------------------------------------------------------

def test_box_ties_fall_as_in_pillow_on_every_size():
    """Box counts an input pixel whose centre lies exactly on the output pixel's edge as Pillow
    BOX does (its window and its arithmetic), for every output size of two real-photo rows,
    shrinking and enlarging."""
    rng = np.random.default_rng(5)
    for n_in in (451, 300):
        row = rng.random((1, n_in)).astype(np.float32) * 255
        for n_out in range(1, 2 * n_in + 2, 3):
            ours = resample.resize(row, shape=(1, n_out), method="box", boundary="truncate")
            pil = np.asarray(Image.fromarray(row, "F").resize((n_out, 1), Image.Resampling.BOX))
            np.testing.assert_allclose(ours, pil, rtol=0, atol=1e-3, err_msg=f"{n_in}->{n_out}")


@pytest.mark.parametrize("factor", [2, 3, 4, 8])
def test_box_equals_opencv_inter_area_for_integer_factors(photo, factor):
    """An integer shrink is an exact area average: OpenCV INTER_AREA's, borders included (float
    to 1e-4; 8-bit within one level, where each rounds its sum once)."""
    cv2 = pytest.importorskip("cv2")
    h, w = photo.shape[:2]
    size = (w // factor, h // factor)
    crop = photo[:size[1] * factor, :size[0] * factor]
    as_float = crop.astype(np.float32)
    theirs = cv2.resize(as_float, size, interpolation=cv2.INTER_AREA)
    ours = resample.resize(as_float, shape=size[::-1], method="box")
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-4)
    theirs8 = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
    ours8 = resample.resize(crop, shape=size[::-1], method="area")        # the alias
    assert np.abs(ours8.astype(int) - theirs8).max() <= 1


@pytest.mark.parametrize("factor", [2, 4])
def test_mitchell_equals_libvips_reduce(factor):
    """libvips' reduce with its mitchell kernel (B = C = 1/3, stretched by the factor, centres
    aligned): within one level over the whole image (libvips rounds fixed-point weights)."""
    pyvips = pytest.importorskip("pyvips")
    img = skimage_data.camera()
    v = pyvips.Image.new_from_array(img).reduce(factor, factor, kernel="mitchell")
    theirs = np.ndarray(buffer=v.write_to_memory(), dtype=np.uint8, shape=(v.height, v.width))
    # edge: libvips extends the border by copying it (the API's default is now truncate)
    ours = resample.resize(img, shape=theirs.shape, method="mitchell", boundary="edge")
    assert np.abs(ours.astype(int) - theirs).max() <= 1
    # and it is not bicubic: Mitchell smooths (K(0) = 8/9, K(1) = 1/18)
    bicubic = resample.resize(img, shape=theirs.shape, method="bicubic", boundary="edge")
    assert np.abs(bicubic.astype(int) - theirs).mean() > 0.5


def test_mitchell_weights_are_mitchell_netravali():
    """The kernel's values where the formula gives simple fractions (ImageMagick's CubicBC with
    B = C = 1/3)."""
    u = np.array([0.0, 0.5, 1.0, 1.5, 2.0, -1.0, 2.5])
    np.testing.assert_allclose(kernel_values(resample.METHODS["mitchell"], u), [8 / 9, 77 / 144, 1 / 18, -5 / 144, 0.0, 1 / 18, 0.0],
                               rtol=0, atol=1e-15)


def test_alpha_premultiplies_as_pillow(photo):
    """resize(alpha=True): a red / invisible-green edge halved stays red (channels resampled
    independently give olive); on a real photo with a varying alpha, Pillow's RGBA resize
    (premultiplied as RGBa) agrees within two levels where alpha is at least half (Pillow
    rounds its premultiplied 8-bit values)."""
    edge = np.zeros((2, 2, 4), np.uint8)
    edge[:, 0], edge[:, 1] = [255, 0, 0, 255], [0, 255, 0, 0]
    assert resample.resize(edge, shape=(2, 1), alpha=True)[0, 0].tolist() == [255, 0, 0, 128]
    assert resample.resize(edge, shape=(2, 1))[0, 0].tolist() == [128, 128, 0, 128]
    h, w = photo.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w]
    alpha = np.clip((xx + yy) / (h + w) * 400 - 100, 0, 255).astype(np.uint8)  # 0 .. 255 ramp
    rgba = np.dstack([photo, alpha])
    for shape in ((200, 330), (700, 650)):
        ours = resample.resize(rgba, shape=shape, method="bicubic", boundary="truncate",
                               alpha=True)
        pil = np.asarray(Image.fromarray(rgba, "RGBA").resize(shape[::-1],
                                                              Image.Resampling.BICUBIC))
        assert np.abs(ours[..., 3].astype(int) - pil[..., 3]).max() <= 1
        # Pillow stores premultiplied colour in 8 bits: +-0.5 level becomes +-0.5 x 255 /
        # alpha after dividing, so compare where alpha is at least half
        seen = pil[..., 3] >= 128
        diff = np.abs(ours[..., :3].astype(int) - pil[..., :3])[seen]
        assert diff.mean() < 0.6 and np.mean(diff <= 2) > 0.995, (diff.mean(), np.mean(diff <= 2))
    with pytest.raises(resample.ResampleError, match="alpha=True needs"):
        resample.resize(photo[..., 0], scale=2, alpha=True)


@pytest.mark.parametrize("kernel, method", [("linear", "bilinear"), ("lanczos3", "lanczos"),
                                            ("mitchell", "mitchell")])
def test_linear_light_equals_libvips_scrgb(photo, kernel, method):
    """resize(linear=True) is libvips' scRGB pipeline (sRGB decoded to linear float, reduced,
    encoded): within one level; resampling the sRGB values themselves is up to tens of levels
    off beside edges."""
    pyvips = pytest.importorskip("pyvips")
    v = pyvips.Image.new_from_array(photo, interpretation="srgb")
    r = v.colourspace("scrgb").reduce(2, 2, kernel=kernel).colourspace("srgb")
    theirs = np.ndarray(buffer=r.write_to_memory(), dtype=np.uint8,
                        shape=(r.height, r.width, r.bands))
    # edge: libvips extends the border by copying it (the API's default is now truncate)
    ours = resample.resize(photo, shape=theirs.shape[:2], method=method, linear=True,
                           boundary="edge")
    assert np.abs(ours.astype(int) - theirs).max() <= 1
    plain = resample.resize(photo, shape=theirs.shape[:2], method=method, boundary="edge")
    assert np.abs(plain.astype(int) - theirs).max() > 20


def test_a_plain_api_resize_equals_pillow_over_the_whole_image(grey_photo):
    """The API's default boundary is the command's, truncate: a plain resample.resize equals
    Pillow's float resize over the whole image, borders included, for many sizes, both ways
    (with edge, Pillow's enlarge_bicubic and lanczos cases and torch's 8x8 ramp failed at the
    borders)."""
    rng = np.random.default_rng(26)
    img = grey_photo[:97, :131]
    for method in ("bilinear", "bicubic", "lanczos", "box"):
        for _ in range(6):
            shape = tuple(int(v) for v in rng.integers(3, 300, 2))
            ours = resample.resize(img, shape=shape, method=method)
            pil = np.asarray(Image.fromarray(img, "F").resize(shape[::-1], PILLOW[method]))
            np.testing.assert_allclose(ours, pil, rtol=0, atol=2e-3, err_msg=str((method,
                                                                                 shape)))


@pytest.mark.parametrize("shape", [(150, 225), (71, 303), (600, 900), (7, 5), (1, 1),
                                   (299, 452), (333, 97)])
def test_sharpcubic_equals_opencv_inter_cubic_over_the_whole_image(grey_photo, shape):
    """sharpcubic is Keys' cubic with a = -0.75, OpenCV's INTER_CUBIC: with OpenCV's own
    conventions (its border replicated: edge; no antialiasing when shrinking) it equals
    cv2.resize on float images over the whole image, borders included (OpenCV computes its
    weights in float32)."""
    cv2 = pytest.importorskip("cv2")
    img = grey_photo[:97, :131].astype(np.float32)
    ours = resample.resize(img, shape=shape, method="sharpcubic", boundary="edge",
                           antialias=False)
    theirs = cv2.resize(img, shape[::-1], interpolation=cv2.INTER_CUBIC)
    np.testing.assert_allclose(ours, theirs.reshape(ours.shape), rtol=0, atol=2e-4)
    u8 = np.round(grey_photo[:97, :131]).astype(np.uint8)
    ours8 = resample.resize(u8, shape=shape, method="sharpcubic", boundary="edge",
                            antialias=False).astype(int)
    theirs8 = cv2.resize(u8, shape[::-1], interpolation=cv2.INTER_CUBIC).reshape(ours8.shape)
    assert np.abs(ours8 - theirs8.astype(int)).max() <= 1      # OpenCV's fixed point rounds
