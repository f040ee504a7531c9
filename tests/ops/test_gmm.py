"""Gaussian-mixture reconstruction against brute force, and its gradients against finite
differences."""

import numpy as np
import pytest

from resample import ResampleError, resize
from resample.ops import gmm
from resample.ops.fit import grid_points
from resample.engines.pointgrid import PointGrid
from resample.ops.gmm import reconstruct, reconstruct_vjp
from reference import (check_nearest_holes, ref_auto_sigma, ref_gmm, ref_local_linear,
                       ref_through_points,
                       ref_steered_sigma)


def _auto(xy, values):
    return ref_auto_sigma(xy, values, gmm.AUTO_NEIGHBOURS, gmm.AUTO_FACTOR, gmm.AUTO_CONTRAST,
                          gmm.CONTRAST_NEIGHBOURS)


def _problem(rng, n=40, shape=(17, 23), channels=3, spread=1.2):
    h, w = shape
    xy = np.stack([rng.uniform(-2, w + 1, n), rng.uniform(-2, h + 1, n)], axis=1)
    values = rng.normal(size=(n, channels)) if channels else rng.normal(size=n)
    return xy, values


@pytest.mark.parametrize("holes", ["nearest", "constant"])
@pytest.mark.parametrize("kind", ["scalar", "iso", "aniso", "auto"])
def test_forward_matches_brute_force(kind, holes):
    rng = np.random.default_rng(["scalar", "iso", "aniso", "auto"].index(kind) * 2 + (holes == "nearest"))
    for shape, n, channels in [((17, 23), 40, 3), ((1, 1), 3, 0), ((30, 9), 7, 1), ((25, 25), 200, 4)]:
        xy, values = _problem(rng, n, shape, channels)
        sigma = {"scalar": 1.3, "iso": rng.uniform(0.4, 3, n),
                 "aniso": rng.uniform(0.4, 3, (n, 2)), "auto": "auto"}[kind]
        if kind == "auto":
            sx = sy = _auto(xy, values)
        else:
            s = np.broadcast_to(np.asarray(sigma, float), (n,) if np.ndim(sigma) < 2 else (n, 2))
            sx, sy = (s[:, 0], s[:, 1]) if s.ndim == 2 else (s, s)
        ref, ref_z = ref_gmm(xy, values, shape, sx, sy, 2.5, holes, fill=-7.0)
        covered = ref_z > 0
        for dtype in (np.float64, np.float32):
            out, z = reconstruct(xy, values.astype(dtype), shape, sigma=sigma, cutoff=2.5,
                                 holes=holes, fill=-7.0, return_weights=True)
            assert out.dtype == dtype and out.shape == shape + values.shape[1:]
            got = out.reshape(ref.shape)
            np.testing.assert_allclose(z, ref_z, rtol=1e-4, atol=1e-9)
            if holes == "nearest":     # holes: the nearest point's values
                np.testing.assert_allclose(got[covered], ref[covered], atol=1e-4, rtol=1e-4)
                check_nearest_holes(got, z, xy, values)
            else:
                np.testing.assert_allclose(got, ref, atol=1e-4, rtol=1e-4)


def test_forward_on_a_real_photo():
    skimage_data = pytest.importorskip("skimage.data")
    img = skimage_data.camera()[::8, ::8].astype(np.float64)      # 64x64 real photo
    rng = np.random.default_rng(3)
    pick = rng.random(img.shape) < 0.1
    rows, cols = np.nonzero(pick)
    # jittered off the pixel centres: no ties among the neighbours the contrast is taken over
    xy = np.stack([cols, rows], axis=1) + rng.uniform(-0.3, 0.3, (len(rows), 2))
    values = img[rows, cols]
    sx = sy = _auto(xy, values)
    ref, _ = ref_gmm(xy, values, img.shape, sx, sy)
    out = reconstruct(xy, values, img.shape, sigma="auto")
    np.testing.assert_allclose(out, ref[..., 0], atol=1e-4 * 255)
    assert np.abs(out - img).mean() < 20          # a real reconstruction, not noise


def test_knn_grid_matches_brute_force():
    rng = np.random.default_rng(5)
    for pts in [rng.uniform(0, 100, (500, 2)), rng.normal(size=(300, 2)) * [50, 1],
                np.repeat(rng.uniform(0, 10, (20, 2)), 3, axis=0), rng.uniform(0, 1, (2, 2))]:
        queries = rng.uniform(-30, 130, (200, 2))
        k = min(5, len(pts))
        d2, idx = PointGrid(pts).knn(queries, k)
        ref = np.sort(((queries[:, None] - pts[None]) ** 2).sum(-1), axis=1)[:, :k]
        np.testing.assert_allclose(d2, ref, rtol=1e-12)
        np.testing.assert_allclose(((queries - pts[idx[:, 0]]) ** 2).sum(-1), ref[:, 0])


@pytest.mark.parametrize("layout", ["random", "clustered", "grid", "pixel centres", "far",
                                    "one point", "ties"])
def test_holes_take_the_nearest_point_exactly(layout):
    """Each hole gets a nearest point's value (the Voronoi cell its centre lies in, as scipy's
    griddata nearest), against brute force, whatever the cloud's layout; the issue's case
    (40 random points in 31x23 at sigma 0.7) included."""
    rng = np.random.default_rng(["random", "clustered", "grid", "pixel centres", "far",
                                 "one point", "ties"].index(layout))
    for shape in [(23, 31), (1, 1), (1, 17), (40, 33)]:
        h, w = shape
        if layout == "random":
            xy = np.stack([rng.uniform(-0.5, w - 0.5, 40), rng.uniform(-0.5, h - 0.5, 40)], 1)
        elif layout == "clustered":
            xy = np.concatenate([rng.normal([w / 3, h / 3], 0.4, (30, 2)),
                                 rng.normal([w * 0.8, h * 0.7], 0.2, (30, 2))])
        elif layout == "grid":
            xy = grid_points(np.zeros((h, w)), max(1, h * w // 20))[0]
        elif layout == "pixel centres":
            pick = rng.choice(h * w, size=max(1, h * w // 9), replace=False)
            xy = np.stack([pick % w, pick // w], axis=1).astype(float)
        elif layout == "far":
            xy = rng.uniform(-50, 80, (25, 2))
        elif layout == "one point":
            xy = np.array([[rng.uniform(-0.5, w - 0.5), rng.uniform(-0.5, h - 0.5)]])
        else:                                     # equally near: several points on a lattice
            xy = np.stack(np.meshgrid(np.arange(-0.5, w, 3.0), np.arange(-0.5, h, 3.0)),
                          -1).reshape(-1, 2)
        values = rng.uniform(0, 255, len(xy))
        out, z = reconstruct(xy, values, shape, sigma=0.7, return_weights=True)
        assert (z == 0).any() or shape != (23, 31)
        check_nearest_holes(out, z, xy, values)


def test_a_constant_cloud_gives_an_exactly_constant_image():
    rng = np.random.default_rng(3)
    xy = rng.uniform(-1, 40, (300, 2))
    for value, dtype in ((0.3, np.float64), (0.3, np.float32), (-1e6, np.float64),
                         (255.0, np.float32)):
        for sigma in ("steered", "auto", 0.9, rng.uniform(0.5, 3, (300, 3))):
            out = reconstruct(xy, np.full((300, 2), value, dtype), (37, 41), sigma=sigma)
            assert out.dtype == dtype and np.all(out == dtype(value)), (value, sigma)


def test_nearest_holes_do_not_depend_on_the_cloud_layout():
    """Filling holes was a ring search per hole: 71 s for 20k clustered points in a 1024x1024
    frame, 235 s for 40k.  A k-d tree finds each hole's nearest point in O(log N), whatever
    the layout (its speed is measured in benchmarks, not here)."""
    rng = np.random.default_rng(4)
    xy = np.concatenate([rng.normal(300, 2, (40000, 2)), [[1000.0, 1000.0]]])
    values = rng.uniform(0, 255, len(xy))
    out, z = reconstruct(xy, values, (1024, 1024), sigma=0.7, return_weights=True)
    assert (z == 0).mean() > 0.9
    assert out[1023, 1023] == values[-1] and out[0, 0] in values[:-1]


def _fd(array, loss, eps):
    """Central finite differences of ``loss`` (an array of ``array``'s shape -> a float)."""
    out = np.zeros(array.shape)
    for index in np.ndindex(array.shape):
        plus, minus = array.copy(), array.copy()
        plus[index] += eps
        minus[index] -= eps
        out[index] = (loss(plus) - loss(minus)) / (2 * eps)
    return out


def _loss(xy, values, shape, sigma, g, cutoff, order=0, interpolate=False):
    return float((reconstruct(xy, values, shape, sigma=sigma, cutoff=cutoff, order=order,
                              interpolate=interpolate) * g).sum())


@pytest.mark.parametrize("order", [0, 1])
@pytest.mark.parametrize("kind", ["scalar", "iso", "aniso", "steered"])
def test_vjp_matches_finite_differences(kind, order):
    rng = np.random.default_rng(["scalar", "iso", "aniso", "steered"].index(kind) + 10)
    shape, n = (13, 16), 12
    xy = np.stack([rng.uniform(2, 14, n), rng.uniform(2, 11, n)], axis=1)
    values = rng.normal(size=(n, 2))
    sigma = {"scalar": 1.7, "iso": rng.uniform(1.0, 2.5, n), "aniso": rng.uniform(1.0, 2.5, (n, 2)),
             "steered": np.column_stack([rng.uniform(0.8, 2.8, (n, 2)), rng.uniform(-3, 3, n)])
             }[kind]
    g = rng.normal(size=shape + (2,))
    cutoff = 4.0
    d_xy, d_values, d_sigma = reconstruct_vjp(xy, values, shape, g, sigma=sigma, cutoff=cutoff,
                                              order=order)
    assert d_xy.shape == xy.shape and d_values.shape == values.shape
    assert np.shape(d_sigma) == np.shape(sigma)
    fd = lambda array, loss: _fd(array, loss, 1e-6)    # noqa: E731
    f = lambda **kw: _loss(kw.get("xy", xy), kw.get("values", values), shape,
                           kw.get("sigma", sigma), g, cutoff, order)
    np.testing.assert_allclose(d_xy, fd(xy, lambda a: f(xy=a)), rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(d_values, fd(values, lambda a: f(values=a)), rtol=1e-4, atol=1e-7)
    s = np.asarray(sigma, float)
    np.testing.assert_allclose(d_sigma, fd(s, lambda a: f(sigma=a if a.ndim else float(a))),
                               rtol=1e-4, atol=1e-7)


def test_vjp_without_the_colour_term_would_fail():
    # The released GMM code drops c_i - c(q); check our position gradient is not that one.
    rng = np.random.default_rng(1)
    xy = rng.uniform(3, 9, (6, 2))
    values = rng.normal(size=6)
    g = rng.normal(size=(12, 12))
    d_xy, _, _ = reconstruct_vjp(xy, values, (12, 12), g, sigma=1.5)
    eps = 1e-6
    plus = xy.copy(); plus[0, 0] += eps
    minus = xy.copy(); minus[0, 0] -= eps
    fd = (_loss(plus, values, (12, 12), 1.5, g, 3.0) - _loss(minus, values, (12, 12), 1.5, g, 3.0)) / (2 * eps)
    assert d_xy[0, 0] == pytest.approx(fd, rel=1e-4)
    assert abs(d_xy[0, 0]) > 1e-3


def test_vjp_hole_gradient_goes_to_the_nearest_value():
    xy = np.array([[0.0, 0.0], [9.0, 9.0]])
    values = np.array([1.0, 2.0])
    g = np.zeros((10, 10))
    g[0, 4] = 3.0                                   # a hole pixel, nearest to point 0
    g[8, 6] = 5.0                                   # a hole pixel, nearest to point 1
    _, d_values, _ = reconstruct_vjp(xy, values, (10, 10), g, sigma=0.5, cutoff=3.0)
    np.testing.assert_allclose(d_values, [3.0, 5.0])


@pytest.mark.parametrize("bad, match", [
    (dict(xy=np.zeros((0, 2)), values=np.zeros(0)), "N >= 1"),
    (dict(xy=np.zeros((3, 3)), values=np.zeros(3)), r"\(N, 2\)"),
    (dict(values=np.zeros(5)), "values must have"),
    (dict(xy=np.full((4, 2), np.nan)), "finite"),
    (dict(sigma=0.0), "above 0"), (dict(sigma=-1.0), "above 0"), (dict(sigma="big"), "sigma must"),
    (dict(sigma=np.ones(3)), "sigma must"), (dict(cutoff=0), "cutoff"),
    (dict(holes="zero"), "unknown holes"), (dict(shape=(0, 4)), "positive"),
])
def test_bad_input(bad, match):
    args = dict(xy=np.ones((4, 2)), values=np.ones(4), shape=(5, 5))
    args.update(bad)
    kwargs = {k: args.pop(k) for k in ("sigma", "cutoff", "holes") if k in args}
    with pytest.raises(ResampleError, match=match):
        reconstruct(args["xy"], args["values"], args["shape"], **kwargs)


def test_duplicated_points_and_points_outside():
    xy = np.array([[2.0, 2.0], [2.0, 2.0], [-3.0, 2.0]])
    out = reconstruct(xy, np.array([1.0, 3.0, 10.0]), (5, 5), sigma=1.0)
    assert np.isfinite(out).all()
    assert out[2, 2] == pytest.approx(2.0, abs=0.05)   # the two duplicates average
    assert out[2, 0] > out[2, 4]                        # the outside point lights the border


def test_auto_sigma_ignores_the_values_scale_and_narrows_at_edges():
    rng = np.random.default_rng(11)
    xy = rng.uniform(0, 40, (300, 2))
    values = np.where(xy[:, 0] < 20, 10.0, 200.0)             # a vertical edge at x = 20
    s = gmm.auto_sigma(xy, values)
    np.testing.assert_allclose(gmm.auto_sigma(xy, values / 255.0 - 3.0), s, rtol=1e-12)
    base = np.maximum(gmm.AUTO_FACTOR * np.sqrt(
        PointGrid(xy).knn(xy, gmm.AUTO_NEIGHBOURS, exclude_self=True)[0][:, -1]), 0.5)
    near_edge = np.abs(xy[:, 0] - 20) < 1
    far = np.abs(xy[:, 0] - 20) > 8
    assert np.all(s[far] == base[far])                        # flat: the density rule
    assert np.all(s[near_edge] < base[near_edge])             # at the edge: narrower


def test_points_far_outside_the_frame_reach_nothing():
    """Points whose footprint misses the frame (left, right, above, below) add nothing."""
    rng = np.random.default_rng(21)
    h, w = 9, 13
    # out of reach by 1.5 pixels (cutoff 2.5 x sigma 1), and far away
    far = np.array([[-4.5, 4], [w + 4.5, 4], [6, -4.5], [6, h + 4.5], [-30, 4], [-9, -9]])
    xy = np.concatenate([rng.uniform(0, 8, (20, 2)), far, rng.uniform(0, 8, (20, 2))])
    values = rng.normal(size=(len(xy), 3))
    sigma = rng.uniform(0.4, 2.0, len(xy))
    sigma[20:20 + len(far)] = 1.0
    for dtype in (np.float32, np.float64):
        for _ in range(2):                     # the second call reuses the scratch planes
            out, z = reconstruct(xy, values.astype(dtype), (h, w), sigma=sigma, cutoff=2.5,
                                 holes="constant", fill=-1.0, return_weights=True)
            ref, ref_z = ref_gmm(xy, values, (h, w), sigma, sigma, 2.5, "constant", -1.0)
            np.testing.assert_allclose(z, ref_z, rtol=1e-4, atol=1e-12)
            np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-4)


def test_gmm_resize_treats_nan_pixels_as_missing():
    a = np.full((6, 6), 50.0)
    a[2:4, 2:4] = np.nan
    out = resize(a, shape=(12, 12), method="gmm")
    assert np.all(np.isfinite(out)) and np.allclose(out, 50.0)
    assert np.all(np.isnan(resize(np.full((3, 3), np.nan), shape=(6, 6), method="gmm")))


def test_steered_gaussians_equal_the_brute_force_reference():
    """sigma (N, 3) = (sx, sy, theta): both engines' splat (rotated, not separable) against
    docs/conventions.md's formula, holes included; theta = 0 is the axis-aligned Gaussian exactly."""
    rng = np.random.default_rng(21)
    for shape, n in (((19, 27), 30), ((1, 9), 4), ((40, 33), 200)):
        h, w = shape
        xy = np.stack([rng.uniform(-1, w, n), rng.uniform(-1, h, n)], axis=1)
        values = rng.uniform(0, 255, (n, 3))
        sx, sy, theta = rng.uniform(0.5, 4, n), rng.uniform(0.3, 2, n), rng.uniform(-4, 4, n)
        out, z = reconstruct(xy, values, shape, sigma=np.column_stack([sx, sy, theta]),
                             holes="constant", fill=-1.0, return_weights=True)
        want, want_z = ref_gmm(xy, values, shape, sx, sy, holes="constant", fill=-1.0,
                               theta=theta)
        np.testing.assert_allclose(z, want_z, rtol=1e-9, atol=1e-300)
        np.testing.assert_allclose(out, want, rtol=1e-9, atol=1e-9)
    plain = reconstruct(xy, values, shape, sigma=np.column_stack([sx, sy]))
    zero = reconstruct(xy, values, shape, sigma=np.column_stack([sx, sy, np.zeros(n)]))
    np.testing.assert_array_equal(zero, plain)
    # a quarter turn swaps the axes
    turned = reconstruct(xy, values, shape, sigma=np.column_stack([sy, sx, np.full(n, np.pi / 2)]))
    np.testing.assert_allclose(turned, plain, rtol=1e-9, atol=1e-9)


def test_steered_sigma_is_checked():
    xy, v = np.zeros((3, 2)), np.ones(3)
    with pytest.raises(ResampleError, match="theta must be finite"):
        reconstruct(xy, v, (4, 4), sigma=[[1, 1, np.nan]] * 3)
    with pytest.raises(ResampleError, match="above 0"):
        reconstruct(xy, v, (4, 4), sigma=[[1, 0, 0.5]] * 3)


def test_the_steered_rule_follows_edges_and_beats_auto_on_a_photo():
    """sigma="steered": on a vertical step the Gaussians beside it stretch along it (theta
    near +-pi/2, sx > sy); on a real photo (not one the rule was tuned on) it rebuilds better
    than "auto"."""
    rng = np.random.default_rng(2)
    xy = rng.uniform(0, 40, (600, 2))
    values = np.where(xy[:, 0] < 20, 0.0, 200.0)
    s = gmm.steered_sigma(xy, values)
    near = np.abs(xy[:, 0] - 20) < 3
    assert (s[near, 0] > 1.5 * s[near, 1]).mean() > 0.8
    assert (np.abs(np.cos(s[near, 2])) < 0.3).mean() > 0.8
    skimage_data = pytest.importorskip("skimage.data")
    photo = skimage_data.camera()[::2, ::2].astype(np.float64)       # 256x256
    h, w = photo.shape
    pick = rng.choice(h * w, h * w // 20, replace=False)
    ys, xs = np.divmod(pick, w)
    pts, v = np.stack([xs, ys], 1).astype(float), photo[ys, xs]
    errors = {rule: np.abs(reconstruct(pts, v, (h, w), sigma=rule) - photo).mean()
              for rule in ("auto", "steered")}
    assert errors["steered"] < 0.98 * errors["auto"], errors
    # the default rule is the steered one
    np.testing.assert_array_equal(reconstruct(pts, v, (h, w)),
                                  reconstruct(pts, v, (h, w), sigma="steered"))
    d_xy, d_v, d_sigma = reconstruct_vjp(pts[:50], v[:50], (32, 32), np.ones((32, 32)),
                                         sigma="steered")
    assert d_sigma.shape == (50, 3) and np.isfinite(d_sigma).all()
    tiny = reconstruct(np.array([[1.0, 1.0], [2.0, 2.0]]), np.array([1.0, 2.0]), (4, 4),
                       sigma="steered")
    assert np.isfinite(tiny).all()


def test_the_steered_rule_equals_its_float64_reference():
    """The C++ fits (kernels/common/gaussians.h) against the NumPy formulation, on scattered points of a
    photo and on a few points with equal distances (a grid)."""
    skimage_data = pytest.importorskip("skimage.data")
    photo = skimage_data.coffee()[::4, ::4].astype(np.float64)
    rng = np.random.default_rng(9)
    h, w = photo.shape[:2]
    pick = rng.choice(h * w, 900, replace=False)
    ys, xs = np.divmod(pick, w)
    grid = np.stack(np.meshgrid(np.arange(8.0), np.arange(6.0)), -1).reshape(-1, 2)
    for xy, values in ((np.stack([xs, ys], 1).astype(float), photo[ys, xs]),
                       (grid, rng.uniform(0, 255, (48, 3)))):
        got = gmm.steered_sigma(xy, values)
        k = gmm.STEER_NEIGHBOURS
        d2, idx = PointGrid(xy).knn(xy, k, exclude_self=True)
        size = gmm.auto_sigma(xy, values) * gmm.STEER_FACTOR
        want = ref_steered_sigma(xy, values, size, idx, d2, gmm.STEER_ALPHA,
                                 gmm.STEER_MAX_ELONGATION)
        np.testing.assert_allclose(got[:, :2], want[:, :2], rtol=1e-9, atol=1e-12)
        # theta is defined modulo pi
        turn = np.angle(np.exp(2j * (got[:, 2] - want[:, 2])))
        np.testing.assert_allclose(turn, 0.0, atol=1e-7)



def test_narrow_rotated_gaussians_stay_finite_and_exact():
    """Very narrow, long, rotated Gaussians (the bounding box's corners far out in the tails)
    against the brute-force reference: the CPU splat's carried weights must not underflow or
    overflow."""
    rng = np.random.default_rng(12)
    n, shape = 40, (31, 37)
    xy = np.stack([rng.uniform(0, 36, n), rng.uniform(0, 30, n)], axis=1)
    values = rng.uniform(0, 255, n)
    sx, sy, theta = rng.uniform(5, 12, n), rng.uniform(0.05, 0.3, n), rng.uniform(-3, 3, n)
    out, z = reconstruct(xy, values, shape, sigma=np.column_stack([sx, sy, theta]),
                         holes="constant", fill=-1.0, return_weights=True)
    want, want_z = ref_gmm(xy, values, shape, sx, sy, holes="constant", fill=-1.0,
                           theta=theta)
    assert np.isfinite(out).all() and np.isfinite(z).all()
    np.testing.assert_allclose(z, want_z, rtol=1e-9, atol=1e-300)
    np.testing.assert_allclose(out, want[..., 0], rtol=1e-9, atol=1e-9)


# --- order 1: the weighted least-squares plane ------------------------------------------------

@pytest.mark.parametrize("kind", ["iso", "aniso", "steered"])
def test_order_1_matches_brute_force(kind):
    """order=1 against a pixel-by-pixel float64 solve and blend (tests/reference.py), odd
    shapes, one pixel, one point, float32 and float64 values; holes still take the nearest
    point."""
    rng = np.random.default_rng(["iso", "aniso", "steered"].index(kind))
    for shape, n, channels in [((13, 17), 40, 3), ((1, 1), 3, 1), ((9, 4), 1, 2),
                               ((21, 19), 120, 1)]:
        xy, values = _problem(rng, n, shape, channels)
        sigma = {"iso": rng.uniform(0.8, 3, n), "aniso": rng.uniform(0.8, 3, (n, 2)),
                 "steered": np.column_stack([rng.uniform(0.8, 3, (n, 2)),
                                             rng.uniform(-3, 3, n)])}[kind]
        s = sigma if sigma.ndim == 2 else np.column_stack([sigma, sigma])
        theta = sigma[:, 2] if kind == "steered" else None
        ref = ref_local_linear(xy, values, shape, s[:, 0], s[:, 1], 2.5, gmm.LOCAL_WIDTH,
                               gmm.LOCAL_RIDGE, gmm.LOCAL_CLIP, theta, gmm.LOCAL_STEER)
        ref0, z0 = ref_gmm(xy, values, shape, s[:, 0], s[:, 1], 2.5, theta=theta)
        for dtype, tol in ((np.float64, 1e-7), (np.float32, 2e-3)):
            out, z = reconstruct(xy, values.astype(dtype), shape, sigma=sigma, cutoff=2.5,
                                 order=1, return_weights=True)
            assert out.dtype == dtype
            got = out.reshape(ref.shape)
            covered = z0 > 0
            np.testing.assert_allclose(got[covered], ref[covered], rtol=tol,
                                       atol=tol * np.abs(ref[covered]).max())
            check_nearest_holes(got, z, xy, values)


def test_order_1_follows_a_ramp_that_order_0_cannot():
    """Sparse points on a plane: order 1 keeps the plane (but for its ridge's small bias),
    where the weighted mean of order 0 flattens it between points; a constant stays exact."""
    rng = np.random.default_rng(9)
    xy = rng.uniform(-1, 64, (120, 2))
    ramp = 3.0 + 0.8 * xy[:, 0] - 0.5 * xy[:, 1]
    qy, qx = np.mgrid[0:64, 0:64]
    want = 3.0 + 0.8 * qx - 0.5 * qy
    errors = []
    for order in (0, 1):
        out, z = reconstruct(xy, ramp, (64, 64), sigma=3.0, order=order, return_weights=True)
        inner = z > 0                 # (near the frame's edges the plane is clipped)
        inner[:8], inner[-8:], inner[:, :8], inner[:, -8:] = False, False, False, False
        errors.append(np.abs(out - want)[inner].mean())
    assert errors[1] < 0.1 * errors[0], errors
    for value in (0.3, -1e6):
        out = reconstruct(xy, np.full(120, value), (64, 64), order=1)
        assert np.all(out == value)
    with pytest.raises(ResampleError, match="order must be 0 or 1"):
        reconstruct(xy, ramp, (64, 64), order=2)


def test_order_1_vjp_with_holes_matches_finite_differences():
    """Narrow Gaussians leave holes, which take their nearest point's value: the order-1
    gradients of the values (holes included) and of the positions and sigmas (the planes
    and the blend, clips included) against finite differences in float64."""
    rng = np.random.default_rng(31)
    shape, n = (15, 14), 14
    xy = np.stack([rng.uniform(1, 13, n), rng.uniform(1, 14, n)], axis=1)
    values = rng.normal(size=(n, 3))
    sigma = np.column_stack([rng.uniform(0.6, 1.4, (n, 2)), rng.uniform(-3, 3, n)])
    g = rng.normal(size=shape + (3,))
    _, z = reconstruct(xy, values, shape, sigma=sigma, return_weights=True)
    assert (z == 0).sum() > 10                                      # holes
    d_xy, d_values, d_sigma = reconstruct_vjp(xy, values, shape, g, sigma=sigma, order=1)
    fd = lambda array, loss: _fd(array, loss, 1e-5)    # noqa: E731  (1e-6: the float64
                                                        # sums' rounding shows in the 5th digit)
    np.testing.assert_allclose(d_values, fd(values, lambda a: _loss(xy, a, shape, sigma, g, 3.0,
                                                                     1)), rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(d_xy, fd(xy, lambda a: _loss(a, values, shape, sigma, g, 3.0, 1)),
                               rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(d_sigma, fd(sigma, lambda a: _loss(xy, values, shape, a, g, 3.0,
                                                                   1)), rtol=1e-4, atol=1e-6)


# --- interpolate: the image through the points ------------------------------------------------

@pytest.mark.parametrize("shape", [(13, 17), (1, 1), (1, 9), (6, 1)])
def test_through_points_equals_its_float64_reference(shape):
    """Points anywhere (outside the frame, several in one pixel's reach, on pixel centres),
    1 to 3 channels, Gaussians narrow and wide: the residuals' two spreads equal the
    pixel-by-pixel reference."""
    rng = np.random.default_rng(sum(shape))
    h, w = shape
    for n, channels in ((30, 3), (5, 1), (1, 2)):
        xy = np.column_stack([rng.uniform(-1.5, w + 0.5, n), rng.uniform(-1.5, h + 0.5, n)])
        xy[: n // 3] = np.round(xy[: n // 3])                 # some on pixel centres
        if n > 3:
            xy[3] = xy[2] + 0.25                               # two sharing pixels
        values = rng.normal(size=(n, channels))
        out = rng.normal(size=(h, w, channels))
        sx, sy = rng.uniform(0.5, 4, n), rng.uniform(0.5, 4, n)
        reached = (rng.uniform(size=(h, w)) > 0.2).astype(np.float64)     # and holes
        got = gmm.through_points(xy, values, out, np.nonzero(reached == 0), sx, sy, 2.5)
        np.testing.assert_allclose(got, ref_through_points(xy, values, out, reached, sx, sy,
                                                           2.5, gmm.SPREAD_WIDTH),
                                   rtol=1e-12, atol=1e-12)


def test_interpolating_rebuild_passes_through_the_points():
    """On pixel centres the rebuild takes the points' values; pixels beyond every point's
    reach (the residuals' Gaussians, SPREAD_WIDTH times the points' sigma, within the cutoff,
    and the hats) are the rebuild without it; a constant cloud stays exactly constant."""
    rng = np.random.default_rng(41)
    h, w = 31, 37
    photo = rng.uniform(0, 255, (h, w, 3))
    pick = rng.choice(h * w, 90, replace=False)
    rows, cols = np.divmod(pick, w)
    xy = np.column_stack([cols, rows]).astype(np.float64)
    values = photo[rows, cols]
    out = reconstruct(xy, values, (h, w))                     # (the steered rule: on)
    np.testing.assert_allclose(out[rows, cols], values, rtol=0, atol=1e-12)
    smooth = reconstruct(xy, values, (h, w), interpolate=False)
    assert np.abs(smooth[rows, cols] - values).max() > 1
    sigma = 1.2                # the residuals' Gaussians reach 3 x 0.5 x 1.2 = 1.8 pixels
    out = reconstruct(xy, values, (h, w), sigma=sigma, interpolate=True)
    smooth = reconstruct(xy, values, (h, w), sigma=sigma)
    np.testing.assert_allclose(out[rows, cols], values, rtol=0, atol=1e-12)
    qy, qx = np.mgrid[0:h, 0:w]
    far = np.min(np.hypot(qx[..., None] - xy[:, 0], qy[..., None] - xy[:, 1]), axis=2)
    reach = 3 * gmm.SPREAD_WIDTH * sigma
    np.testing.assert_array_equal(out[far > reach], smooth[far > reach])
    assert (far > reach).sum() > 100 and np.abs(out - smooth)[far < reach].max() > 1
    for value in (0.3, -1e6):
        for dtype in (np.float32, np.float64):
            const = reconstruct(xy + 0.37, np.full((90, 2), value, dtype), (h, w))
            assert const.dtype == dtype and np.all(const == dtype(value))
    with pytest.raises(ResampleError, match="interpolate must be True or False"):
        reconstruct(xy, values, (h, w), interpolate="yes")


@pytest.mark.parametrize("order", [0, 1])
def test_interpolating_vjp_matches_finite_differences(order):
    """The gradients through the residuals' spread (the hats' and the sampling's slopes, the
    division where points share pixels) and the rebuild under it, against finite
    differences in float64: points inside and outside the frame, rotated Gaussians."""
    rng = np.random.default_rng(50 + order)
    shape, n = (12, 15), 14
    xy = np.column_stack([rng.uniform(-1.2, 15.5, n), rng.uniform(-1.2, 12.5, n)])
    xy[1] = xy[0] + [0.3, -0.4]                                # sharing pixels
    values = rng.normal(size=(n, 2))
    sigma = np.column_stack([rng.uniform(0.9, 2.2, (n, 2)), rng.uniform(-3, 3, n)])
    g = rng.normal(size=shape + (2,))
    d_xy, d_values, d_sigma = reconstruct_vjp(xy, values, shape, g, sigma=sigma, order=order,
                                              interpolate=True)
    fd = lambda array, loss: _fd(array, loss, 1e-6)    # noqa: E731
    f = lambda **kw: _loss(kw.get("xy", xy), kw.get("values", values), shape,   # noqa: E731
                           kw.get("sigma", sigma), g, 3.0, order, interpolate=True)
    np.testing.assert_allclose(d_xy, fd(xy, lambda a: f(xy=a)), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(d_values, fd(values, lambda a: f(values=a)), rtol=1e-4,
                               atol=1e-7)
    np.testing.assert_allclose(d_sigma, fd(sigma, lambda a: f(sigma=a)), rtol=1e-4, atol=1e-6)
    # the rule's default: steered sigmas interpolate, given sigmas do not
    plain = reconstruct_vjp(xy, values, shape, g, sigma=sigma, order=order)
    assert np.abs(plain[1] - d_values).max() > 1e-3


def test_interpolating_rebuild_is_the_same_bits_on_any_number_of_threads():
    """The residuals' spread adds into each pixel in one order whatever the threads
    (kernels/gather/gather.h's bands depend on the image only): the rebuild and its gradients
    are the same bits with 1, 2 and 3 threads."""
    from resample.compiled import core

    rng = np.random.default_rng(61)
    xy = rng.uniform(-1, 60, (3000, 2))
    values = rng.normal(size=(3000, 3))
    g = rng.normal(size=(60, 60, 3))
    results = []
    try:
        for threads in (1, 2, 3):
            core.set_threads(threads)
            out = reconstruct(xy, values, (60, 60), sigma=1.0, interpolate=True)
            vjp = reconstruct_vjp(xy, values, (60, 60), g, sigma=1.0, interpolate=True)
            results.append((out, *vjp[:2]))
    finally:
        core.set_threads(0)
    for later in results[1:]:
        for a, b in zip(results[0], later):
            np.testing.assert_array_equal(a, b)


def test_interpolating_rebuild_at_extremes():
    """The residuals' Gaussians take their own cutoff (not one lowered for the points' wider
    sigmas); huge and tiny sigmas and values stay finite; a constant fill, NaN included,
    neither leaks into the pixels the points reach nor is changed in the holes."""
    xy, v = np.array([[0.0, 0.0], [6.0, 0.0]]), np.array([[1.0], [5.0]])
    out, z = reconstruct(xy, v, (1, 15), sigma=10.0, order=0, interpolate=True,
                         return_weights=True)
    before = reconstruct(xy, v, (1, 15), sigma=10.0, order=0, interpolate=False)
    want = ref_through_points(xy, v, before, (z > 0).astype(float), np.full(2, 10.0),
                              np.full(2, 10.0), 3.0, gmm.SPREAD_WIDTH)
    np.testing.assert_allclose(out, want, rtol=1e-12, atol=1e-12)
    xy = np.array([[1.3, 1.2], [2.3, 0.6], [0.4, 2.2]])
    v = np.array([1.0, 2.0, 4.0])
    with np.errstate(all="raise"):
        for sigma, scale in ((1e156, 1.0), (10.0, 1e306), (1e4, 1e300), (1e-200, 1.0)):
            assert np.isfinite(reconstruct(xy, v * scale, (3, 4), sigma=sigma,
                                           interpolate=True)).all()
            grads = reconstruct_vjp(xy, v, (3, 4), np.ones((3, 4)), sigma=sigma,
                                    interpolate=True)
            assert all(np.isfinite(g).all() for g in grads)
    xy, v = np.array([[1.05, 1.1], [4.0, 2.0]]), np.array([1.0, 3.0])
    plain, z = reconstruct(xy, v, (4, 6), sigma=0.2, holes="constant", fill=0.0,
                           interpolate=True, return_weights=True)
    assert (z > 0).sum() >= 2 and (z <= 0).sum() > 10
    for fill in (np.nan, 100.0):
        got = reconstruct(xy, v, (4, 6), sigma=0.2, holes="constant", fill=fill,
                          interpolate=True)
        np.testing.assert_array_equal(got[z > 0], plain[z > 0])
        np.testing.assert_array_equal(got[z <= 0], np.full((z <= 0).sum(), fill))
