"""resample.torch (docs/torch.md): gradcheck in float64 for every function and option family;
values and gradients equal to torch's own interpolate where the conventions match; the
point-cloud fit in PyTorch gives `resample fit`'s loss curve; importing resample imports no
torch."""

import os
import runpy
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import resample  # noqa: E402
import resample.torch as rt  # noqa: E402
from resample import ResampleError  # noqa: E402
from resample.ops.fit import fit  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
skimage_data = pytest.importorskip("skimage.data")


def _t(a, grad=True):
    return torch.as_tensor(np.asarray(a, np.float64)).requires_grad_(grad)


# --- resize -----------------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["nearest", "bilinear", "bicubic", "sharpcubic", "mitchell",
                                    "lanczos", "gri", "box"])
def test_resize_gradcheck_every_method(method):
    x = _t(np.random.default_rng(1).random((2, 2, 7, 9)))
    for size in [(11, 13), (4, 5), (7, 9), (1, 1)]:       # enlarge, shrink, same, one pixel
        assert torch.autograd.gradcheck(lambda t: rt.resize(t, size=size, method=method), (x,))


@pytest.mark.parametrize("boundary", ["truncate", "edge", "reflect", "mirror", "wrap",
                                      "constant", "extrapolate"])
@pytest.mark.parametrize("align", ["centers", "corners"])
def test_resize_gradcheck_boundaries_and_alignments(boundary, align):
    x = _t(np.random.default_rng(2).random((3, 6, 5)))           # (C, H, W)
    for size, antialias in [((9, 12), True), ((3, 2), True), ((3, 2), False)]:
        f = lambda t: rt.resize(t, size=size, method="bicubic", boundary=boundary,  # noqa
                                align=align, antialias=antialias, fill=0.5)
        assert torch.autograd.gradcheck(f, (x,)), (size, antialias)


def test_resize_is_the_engine_and_its_gradient_the_adjoint():
    """The forward is resample.resize per plane (float32 and float64, every layout); the
    gradient is the transposed map: <R x, g> = <x, R^T g> to rounding."""
    rng = np.random.default_rng(3)
    img = skimage_data.astronaut()[::8, ::8].astype(np.float64) / 255      # 64x64x3
    x = torch.as_tensor(np.moveaxis(img, -1, 0)[None].copy())             # (1, 3, 64, 64)
    for dtype in (torch.float32, torch.float64):
        out = rt.resize(x.to(dtype), scale=0.37, method="lanczos")
        want = resample.resize(img.astype(np.float32 if dtype == torch.float32 else np.float64),
                               scale=0.37, method="lanczos")
        assert out.dtype == dtype and out.shape == (1, 3, *want.shape[:2])
        np.testing.assert_array_equal(np.moveaxis(out[0].numpy(), 0, -1), want)
    grey = x[0, 0].clone().requires_grad_()                                # (H, W)
    out = rt.resize(grey, size=(91, 40), method="gri")
    g = torch.as_tensor(rng.normal(size=(91, 40)))
    (back,) = torch.autograd.grad(out, grey, g)
    assert abs(float((out * g).sum().detach()) - float((grey * back).sum().detach())) < 1e-10


# (without antialias, enlarging only: torch point-samples a shrink, another map)
@pytest.mark.parametrize("mode, method, align_corners, antialias, boundary, size", [
    ("bilinear", "bilinear", False, False, "truncate", (40, 41)),
    ("bilinear", "bilinear", True, False, "truncate", (40, 41)),
    ("bilinear", "bilinear", True, False, "truncate", (33, 64)),
    *[("bilinear", "bilinear", False, True, "truncate", size)
      for size in [(23, 41), (9, 7), (40, 13)]],
    *[("bicubic", "bicubic", False, True, "truncate", size)
      for size in [(23, 41), (9, 7), (40, 13)]],
    # torch's bicubic without antialiasing: Keys a = -0.75 with its indices clamped
    ("bicubic", "sharpcubic", False, False, "edge", (40, 41)),
    ("bicubic", "sharpcubic", True, False, "edge", (33, 64)),
])
def test_resize_values_and_gradients_equal_torch_interpolate(mode, method, align_corners,
                                                              antialias, boundary, size):
    """Where the conventions match (docs/torch.md), values and gradients equal torch's
    interpolate over the whole image, to float64 rounding."""
    img = skimage_data.camera()[::16, ::16].astype(np.float64)[None, None] / 255  # 32x32
    ours_x, theirs_x = _t(img), _t(img)
    ours = rt.resize(ours_x, size=size, method=method, boundary=boundary,
                     align="corners" if align_corners else "centers", antialias=antialias)
    theirs = torch.nn.functional.interpolate(theirs_x, size=size, mode=mode,
                                             align_corners=align_corners, antialias=antialias)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), atol=1e-12)
    g = torch.as_tensor(np.random.default_rng(4).normal(size=ours.shape))
    ours.backward(g)
    theirs.backward(g)
    np.testing.assert_allclose(ours_x.grad.numpy(), theirs_x.grad.numpy(), atol=1e-12)


def test_resize_of_no_planes_and_bad_options():
    """An empty batch gives an empty result connected to x; an empty side, a fill that is
    not a number and an antialias that is not a bool are refused in one line."""
    x = torch.zeros((0, 3, 5, 6), dtype=torch.float64, requires_grad=True)
    out = rt.resize(x, size=(2, 2))
    assert out.shape == (0, 3, 2, 2)
    out.sum().backward()
    assert x.grad.shape == x.shape
    with pytest.raises(ResampleError, match="empty side"):
        rt.resize(torch.zeros((2, 3, 0, 6)), size=(2, 2))
    for bad in ("a", None, torch.ones(2)):
        with pytest.raises(ResampleError, match="fill must be a number"):
            rt.resize(torch.zeros((4, 4)), size=(2, 2), fill=bad)
    with pytest.raises(ResampleError, match="antialias must be True or False"):
        rt.resize(torch.zeros((4, 4)), size=(2, 2), antialias="no")


def test_resize_refuses_what_it_cannot_differentiate():
    with pytest.raises(ResampleError, match="float32 or float64"):
        rt.resize(torch.zeros((4, 4), dtype=torch.uint8), scale=2)
    with pytest.raises(ResampleError, match="reconstruct"):
        rt.resize(torch.zeros((4, 4)), scale=2, method="gmm")
    with pytest.raises(ResampleError, match=r"\(N, C, H, W\)"):
        rt.resize(torch.zeros(4), scale=2)
    with pytest.raises(ResampleError, match="must be a torch tensor"):
        rt.resize(np.zeros((4, 4)), scale=2)


# --- point sampling ---------------------------------------------------------------------------

METHODS = ["nearest", "bilinear", "bicubic", "sharpcubic", "mitchell", "lanczos", "gri", "box"]
BOUNDARIES = ["edge", "reflect", "mirror", "wrap", "constant", "extrapolate", "truncate"]


@pytest.mark.parametrize("method", METHODS)
def test_sample_gradcheck_every_method_and_boundary(method):
    """Gradients for the image and the points, every boundary, both alignments, normalized
    and pixel coordinates, 1-pixel and 1-row images, points inside and far outside."""
    rng = np.random.default_rng(METHODS.index(method))
    for boundary in BOUNDARIES:
        for shape, align, normalized in [((7, 6), "centers", True), ((5, 8), "corners", True),
                                         ((1, 1), "centers", True), ((1, 5), "corners", False)]:
            x = _t(rng.random((1, 2, *shape)))
            if normalized:
                grid = _t(rng.uniform(-1.6, 1.6, (1, 3, 4, 2)))
            else:
                grid = _t(np.stack([rng.uniform(-3, shape[1] + 2, (1, 3, 4)),
                                    rng.uniform(-3, shape[0] + 2, (1, 3, 4))], -1))
            f = lambda x, g: rt.sample(x, g, method=method, boundary=boundary, fill=0.7,  # noqa
                                       align=align, normalized=normalized)
            assert torch.autograd.gradcheck(f, (x, grid), eps=1e-6, atol=1e-7), (
                boundary, shape, align, normalized)


def _finite_difference(img, xy, method, boundary, fill, h=1e-6):
    """d sample / d x and d y of the float64 reference (tests/reference.py), central."""
    from reference import ref_sample

    return [(ref_sample(img, xy + h * e, method, boundary, fill)
             - ref_sample(img, xy - h * e, method, boundary, fill)) / (2 * h)
            for e in (np.array([1.0, 0.0]), np.array([0.0, 1.0]))]


@pytest.mark.parametrize("method", ["bilinear", "bicubic", "lanczos", "gri", "mitchell"])
def test_sample_point_gradient_is_the_reference_derivative(method):
    """The points' gradient is the float64 reference's finite difference, over a photo
    crop, points inside, at the borders and outside, each boundary."""
    from reference import ref_sample

    rng = np.random.default_rng(11)
    img = skimage_data.astronaut()[100:112, 200:209].astype(np.float64) / 255   # 12x9x3
    xy = np.stack([rng.uniform(-2.5, 10.5, 40), rng.uniform(-2.5, 13.5, 40)], 1)
    xy = xy[np.abs(xy - np.round(xy)).min(1) > 1e-3]          # off the kernels' kinks
    for boundary in ["edge", "reflect", "wrap", "constant", "truncate"]:
        x = torch.as_tensor(np.moveaxis(img, -1, 0).copy())
        points = _t(xy)
        out = rt.sample(x, points, method=method, boundary=boundary, fill=0.3,
                        normalized=False)
        np.testing.assert_allclose(out.detach().numpy().T,
                                   ref_sample(img, xy, method, boundary, 0.3), atol=1e-12)
        g = rng.normal(size=out.shape)
        (d_points,) = torch.autograd.grad(out, points, torch.as_tensor(g))
        dx, dy = _finite_difference(img, xy, method, boundary, 0.3)
        want = np.stack([(dx * g.T).sum(1), (dy * g.T).sum(1)], 1)
        np.testing.assert_allclose(d_points.numpy(), want, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("mode, method", [("bilinear", "bilinear"), ("bicubic", "sharpcubic"),
                                          ("nearest", "nearest")])
@pytest.mark.parametrize("align_corners", [True, False])
@pytest.mark.parametrize("padding, boundary", [("zeros", "constant"), ("border", "edge"),
                                               ("reflection", None)])
def test_sample_values_and_gradients_equal_grid_sample(mode, method, align_corners, padding,
                                                       boundary):
    """Where the conventions match (docs/torch.md), values and both gradients equal
    grid_sample's over a photo, points outside the image included, to float64 rounding
    (torch's bicubic is Keys a = -0.75, our sharpcubic; its reflection is our reflect about
    the outer edges, align_corners=False, and our mirror about the corner pixels' centres)."""
    if boundary is None:
        boundary = "mirror" if align_corners else "reflect"
    rng = np.random.default_rng(6)
    img = skimage_data.coffee()[::20, ::15].astype(np.float64) / 255           # 20x40x3
    x = np.moveaxis(img, -1, 0)[None].repeat(2, 0).copy()                     # (2, 3, 20, 40)
    grid = rng.uniform(-1.2, 1.2, (2, 17, 13, 2))
    ours_x, theirs_x, ours_g, theirs_g = _t(x), _t(x), _t(grid), _t(grid)
    ours = rt.sample(ours_x, ours_g, method=method, boundary=boundary,
                     align="corners" if align_corners else "centers")
    theirs = torch.nn.functional.grid_sample(theirs_x, theirs_g, mode=mode,
                                             padding_mode=padding, align_corners=align_corners)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), atol=1e-12)
    g = torch.as_tensor(rng.normal(size=ours.shape))
    ours.backward(g)
    theirs.backward(g)
    np.testing.assert_allclose(ours_x.grad.numpy(), theirs_x.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(ours_g.grad.numpy(), theirs_g.grad.numpy(), atol=1e-11)


def test_sample_point_gradient_within_a_ulp_of_pixel_centres():
    """Bilinear's kink: a ulp below, on and above a pixel centre, the derivative from the
    right (a ramp's slope 1 everywhere; into a constant fill, the step to it)."""
    import math

    ramp = torch.arange(6, dtype=torch.float64).reshape(1, 6)
    for x, want in [(math.nextafter(2.0, 0), 1.0), (2.0, 1.0), (math.nextafter(2.0, 3), 1.0),
                    (math.nextafter(4.0, 0), 1.0), (1e-300, 1.0), (0.0, 1.0),
                    (-1e-300, 0.0)]:           # (left of the first centre the edge is flat)
        grid = torch.tensor([x, 0.0], dtype=torch.float64, requires_grad=True)
        rt.sample(ramp, grid, normalized=False).backward()
        assert grid.grad[0] == want, x
    line = torch.tensor([[10.0, 20, 30, 40]], dtype=torch.float64)
    for x in (-2.0 ** -53, -1e-17, -1e-300):      # x - floor(x) rounds to 1 below -2^-54
        for boundary, want in [("constant", 10.0), ("extrapolate", 10.0), ("edge", 0.0),
                               ("truncate", 0.0), ("reflect", 0.0), ("wrap", -30.0)]:
            grid = torch.tensor([x, 0.0], dtype=torch.float64, requires_grad=True)
            rt.sample(line, grid, normalized=False, boundary=boundary).backward()
            assert grid.grad[0] == want, (x, boundary)


def test_sample_gradients_ignore_a_fill_no_tap_reads():
    """A NaN or infinite fill moves only the samples that read it (as the forward)."""
    img = torch.arange(20.0, dtype=torch.float64).reshape(4, 5)
    for fill in (float("nan"), float("inf")):
        grid = torch.tensor([[1.5, 1.25]], dtype=torch.float64, requires_grad=True)
        rt.sample(img, grid, normalized=False, boundary="edge", fill=fill).sum().backward()
        assert grid.grad.tolist() == [[1.0, 5.0]]


def test_sample_is_the_engine_in_every_layout():
    """The forward is resample.sample (float32 and float64; (N, C, H, W), (C, H, W), (H, W));
    a grid of no points gives an empty result and empty gradients."""
    rng = np.random.default_rng(8)
    img = skimage_data.camera()[::9, ::7].astype(np.float32) / 255            # 57x74
    grid = rng.uniform(-1, 1, (5, 6, 2))
    for dtype in (torch.float32, torch.float64):
        t = torch.as_tensor(img).to(dtype)
        g = torch.as_tensor(grid).to(dtype)
        want = resample.sample(t.numpy(), g.numpy(), method="gri", normalized=True)
        for x, points, pick in [(t, g, lambda o: o), (t[None], g, lambda o: o[0]),
                                (t[None, None], g[None], lambda o: o[0, 0])]:
            out = rt.sample(x, points, method="gri")
            assert out.dtype == dtype
            np.testing.assert_array_equal(pick(out).numpy(), want)
    x = _t(img[None, None])
    empty = _t(np.zeros((1, 0, 2)))
    out = rt.sample(x, empty)
    assert out.shape == (1, 1, 0)
    out.sum().backward()
    assert x.grad.shape == x.shape and not x.grad.any() and empty.grad.shape == (1, 0, 2)


@pytest.mark.parametrize("boundary", ["wrap", "edge"])
def test_sample_image_gradient_is_the_adjoint_on_many_threads(boundary):
    """Enough points for the CPU's parallel bands (points that wrap run after them, alone):
    <sample(x), g> = <x, d_x> to rounding, on one thread and on the default."""
    from resample.engines import cpu

    rng = np.random.default_rng(13)
    x = _t(skimage_data.chelsea()[::2, ::2].astype(np.float64).transpose(2, 0, 1) / 255)
    grid = _t(rng.uniform(-1.05, 1.05, (200, 300, 2)), grad=False)
    g = torch.as_tensor(rng.normal(size=(3, 200, 300)))
    grads = []
    for threads in (1, 0):
        cpu.set_threads(threads)
        try:
            out = rt.sample(x, grid, method="bicubic", boundary=boundary)
            (d_x,) = torch.autograd.grad(out, x, g)
        finally:
            cpu.set_threads(0)
        lhs, rhs = float((out * g).sum().detach()), float((x * d_x).sum().detach())
        assert abs(lhs - rhs) < 1e-9 * abs(lhs)
        grads.append(d_x.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=0, atol=1e-12)


def test_sample_refuses_what_it_cannot_differentiate():
    x = torch.zeros((1, 1, 4, 4), dtype=torch.float64)
    with pytest.raises(ResampleError, match="normalized must be True or False"):
        rt.sample(x, torch.zeros((1, 3, 2), dtype=torch.float64), normalized="no")
    with pytest.raises(ResampleError, match="grid holds NaN"):
        rt.sample(x, torch.full((1, 3, 2), float("nan"), dtype=torch.float64))
    with pytest.raises(ResampleError, match="dense tensor"):
        rt.sample(x.to_sparse(), torch.zeros((1, 3, 2), dtype=torch.float64))
    wide = resample.Method("wide", resample.METHODS["lanczos"].id, 7.5)
    grid = torch.zeros((1, 3, 2), dtype=torch.float64, requires_grad=True)
    with pytest.raises(ResampleError, match="too wide for the gradient"):
        rt.sample(x, grid, method=wide).sum().backward()
    (d_x,) = torch.autograd.grad(rt.sample(x.requires_grad_(), grid).sum(), x,
                                 create_graph=True)            # (a gradient penalty's start)
    with pytest.raises(ResampleError, match="first derivatives only"):
        (d_x.square().sum() + grid.sum()).backward()
    images = torch.zeros((0, 3, 4, 5), requires_grad=True)
    empty = rt.sample(images, torch.zeros((0, 2, 2, 2)))
    assert empty.shape == (0, 3, 2, 2)                       # no images, as grid_sample
    empty.sum().backward()
    assert images.grad.shape == images.shape
    x = torch.zeros((1, 1, 4, 4), dtype=torch.float64)
    with pytest.raises(ResampleError, match=r"\(N, \.\.\., 2\) with N = 1"):
        rt.sample(x, torch.zeros((2, 3, 2), dtype=torch.float64))
    with pytest.raises(ResampleError, match=r"shape \(\.\.\., 2\)"):
        rt.sample(x, torch.zeros((1, 3, 3), dtype=torch.float64))
    with pytest.raises(ResampleError, match="float32 or float64"):
        rt.sample(x, torch.zeros((1, 3, 2), dtype=torch.int64))
    custom = resample.Method("tent", lambda u: np.maximum(0, 1 - np.abs(u)), support=1.0)
    grid = torch.zeros((1, 3, 2), dtype=torch.float64, requires_grad=True)
    out = rt.sample(x, grid.detach(), method=custom)        # no gradient asked of the points
    assert out.shape == (1, 1, 3)
    with pytest.raises(ResampleError, match="Python function"):
        rt.sample(x, grid, method=custom).sum().backward()


# --- the point-cloud rebuild ------------------------------------------------------------------

def _cloud(n=14, seed=5, channels=2):
    rng = np.random.default_rng(seed)
    xy = np.column_stack([rng.uniform(1, 12, n), rng.uniform(1, 10, n)])
    return _t(xy), _t(rng.normal(size=(n, channels)))


@pytest.mark.parametrize("kind", ["scalar", "per point", "per axis", "steered"])
@pytest.mark.parametrize("order", [0, 1])
@pytest.mark.parametrize("interpolate", [False, True])
def test_reconstruct_gradcheck_every_sigma_and_order(kind, order, interpolate):
    xy, v = _cloud()
    rng = np.random.default_rng(6)
    n = len(xy)
    sigma = {"scalar": _t(1.3), "per point": _t(rng.uniform(1.0, 1.8, n)),
             "per axis": _t(rng.uniform(1.0, 1.8, (n, 2))),
             "steered": _t(np.column_stack([rng.uniform(1.0, 1.8, (n, 2)),
                                            rng.uniform(-2, 2, n)]))}[kind]
    f = lambda a, b, s: rt.reconstruct(a, b, (12, 13), sigma=s, order=order,  # noqa: E731
                                       interpolate=interpolate)
    assert torch.autograd.gradcheck(f, (xy, v, sigma), eps=1e-6, atol=1e-5, rtol=1e-4)


def test_reconstruct_with_holes_and_a_rule():
    """Narrow Gaussians leave holes (their nearest point's value; gradients to it); a rule
    ("steered") is applied to the detached points: the values equal resample.reconstruct's,
    and the gradient is reconstruct_vjp's with the rule's sigmas held (and the rule's
    defaults: order 1, interpolating)."""
    xy, v = _cloud(n=10, seed=7)
    assert torch.autograd.gradcheck(
        lambda a, b: rt.reconstruct(a, b, (12, 13), sigma=torch.tensor(0.6,
                                    dtype=torch.float64)), (xy, v), eps=1e-6, atol=1e-5)
    out = rt.reconstruct(xy, v, (12, 13))
    want = resample.reconstruct(xy.detach().numpy(), v.detach().numpy(), (12, 13))
    np.testing.assert_allclose(out.detach().numpy(), want, rtol=1e-12, atol=1e-12)
    g = torch.as_tensor(np.random.default_rng(8).normal(size=out.shape))
    out.backward(g)
    from resample.ops import gmm

    held = gmm.steered_sigma(xy.detach().numpy(), v.detach().numpy())
    d_xy, d_v, _ = resample.reconstruct_vjp(xy.detach().numpy(), v.detach().numpy(),
                                            (12, 13), g.numpy(), sigma=held, order=1,
                                            interpolate=True)
    np.testing.assert_allclose(xy.grad.numpy(), d_xy, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(v.grad.numpy(), d_v, rtol=1e-12, atol=1e-12)


def test_a_fit_in_pytorch_gives_resample_fits_loss_curve():
    """examples/torch_fit.py (torch.optim.Adam with a cosine schedule over
    resample.torch.reconstruct) follows `resample fit`'s loss curve step by step."""
    example = runpy.run_path(os.path.join(ROOT, "examples", "torch_fit.py"))
    img = skimage_data.camera()[::8, ::8].astype(np.float64)              # 64x64
    ours = example["fit"](img, 200, 12)
    theirs = fit(img, 200, steps=12).history
    np.testing.assert_allclose(ours, theirs, rtol=1e-10)
    assert ours[-1] < 0.85 * ours[0]                     # (it learns)


def test_importing_resample_imports_no_torch():
    code = ("import sys, resample; resample.resize; resample.reconstruct; "
            "print('torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.stdout.strip() == "False", result.stderr
