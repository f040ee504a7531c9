"""The GPU engine on a GPU, against the CPU engine.  Skipped where CuPy or a CUDA device is
missing (the kernels' logic is tested without a GPU in test_kernels.py)."""

import numpy as np
import pytest

import resample
from resample import ResampleError
from resample.engines import devices

if devices.gpu_reason() is not None:
    pytest.skip(f"no GPU: {devices.gpu_reason()}", allow_module_level=True)

cp = pytest.importorskip("cupy")
METHODS = list(resample.METHODS)                # every method the package has


def _close(got, want):
    if np.issubdtype(want.dtype, np.integer):
        assert np.abs(got.astype(np.int64) - want.astype(np.int64)).max(initial=0) <= 1
    else:
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * np.abs(want).max())


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.float64])
def test_gpu_resize_matches_cpu(method, dtype):
    skimage_data = pytest.importorskip("skimage.data")
    a = skimage_data.astronaut().astype(dtype)
    for shape in ((1024, 700), (97, 130), (1, 1)):
        for boundary in ("edge", "reflect", "constant"):
            want = resample.resize(a, shape=shape, method=method, boundary=boundary, fill=3)
            got = resample.resize(cp.asarray(a), shape=shape, method=method,
                                  boundary=boundary, fill=3)
            assert isinstance(got, cp.ndarray) and got.dtype == a.dtype
            _close(cp.asnumpy(got), want)
            host = resample.resize(a, shape=shape, method=method, boundary=boundary, fill=3,
                                   device="gpu")
            assert isinstance(host, np.ndarray)
            _close(host, want)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_gpu_plans_agree_bit_for_bit(dtype):
    """On the device, as on the shim: the tiled kernel (its fast way with the saturating
    stores and byte permutations, its general way, and its gather fallback) makes the
    gather's sums exactly, and the cols-first two passes' where that order ran."""
    from resample.engines import cuda, gpu
    from resample.spec.methods import get_method
    from resample.spec.taps import resize_taps

    skimage_data = pytest.importorskip("skimage.data")
    photo = skimage_data.astronaut().astype(dtype) * (257 if dtype == np.uint16 else 1)
    backend = cuda.cupy_backend()
    for ch in (1, 2, 3, 4):
        a = cp.asarray(np.dstack([photo, photo[..., :1]])[:300, :301, :ch])
        for method, shape, boundary in (("bicubic", (611, 640), "edge"),
                                        ("lanczos", (300, 903), "reflect"),
                                        ("bilinear", (1024, 600), "constant"),
                                        ("gri", (450, 450), "wrap"),
                                        ("lanczos", (70, 90), "edge")):
            m = get_method(method)
            tr = resize_taps(300, shape[0], m, "centers", boundary, True)
            tc = resize_taps(301, shape[1], m, "centers", boundary, True)
            outs = [cp.asnumpy(gpu.resize(backend, a, tr, tc, 3.0, np.float32, dtype,
                                          passes=p)) for p in (3, 1, 2)]
            np.testing.assert_array_equal(outs[0], outs[1], err_msg=str((ch, method, shape)))
            if 300 * shape[1] <= shape[0] * 301:
                np.testing.assert_array_equal(outs[0], outs[2])


def test_gpu_sample_matches_cpu():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    xy = rng.uniform(-5, 85, (1000, 2))
    for method in METHODS:
        for boundary in ("edge", "reflect", "mirror", "wrap", "constant", "extrapolate"):
            want = resample.sample(a, xy, method=method, boundary=boundary, fill=9)
            for coords in (cp.asarray(xy), xy):          # tables made on the device, or host
                got = resample.sample(cp.asarray(a), coords, method=method,
                                      boundary=boundary, fill=9)
                assert isinstance(got, cp.ndarray)
                _close(cp.asnumpy(got), want)


def test_cupy_array_with_device_cpu_is_refused():
    with pytest.raises(ResampleError, match="CuPy array"):
        resample.resize(cp.zeros((4, 4), cp.uint8), scale=2, device="cpu")


def test_gpu_reconstruct_matches_cpu():
    rng = np.random.default_rng(2)
    xy = rng.uniform(0, 300, (20000, 2))
    values = rng.uniform(0, 255, (20000, 3)).astype(np.float32)
    for sigma in ("auto", 1.5):
        for holes in ("nearest", "constant"):
            want, wz = resample.reconstruct(xy, values, (300, 300), sigma=sigma, holes=holes,
                                            return_weights=True)
            got, z = resample.reconstruct(cp.asarray(xy), cp.asarray(values), (300, 300),
                                          sigma=sigma, holes=holes, return_weights=True)
            assert isinstance(got, cp.ndarray)
            _close(cp.asnumpy(got), want)
            _close(cp.asnumpy(z), wz)
            host = resample.reconstruct(xy, values, (300, 300), sigma=sigma, holes=holes,
                                        device="gpu")
            _close(host, want)


def test_gpu_reconstruct_vjp_matches_cpu():
    rng = np.random.default_rng(4)
    xy = rng.uniform(0, 64, (500, 2))
    values = rng.normal(size=(500, 3))
    sigma = rng.uniform(0.5, 3, (500, 2))
    grad = rng.normal(size=(64, 64, 3))
    want = resample.reconstruct_vjp(xy, values, (64, 64), grad, sigma=sigma)
    got = resample.reconstruct_vjp(cp.asarray(xy), cp.asarray(values), (64, 64),
                                   cp.asarray(grad), sigma=sigma)
    for g, w in zip(got, want):
        assert isinstance(g, cp.ndarray)                       # array in, array out
        np.testing.assert_allclose(cp.asnumpy(g), w, rtol=1e-4, atol=1e-4 * np.abs(w).max())


def test_torch_functions_on_cuda_tensors_match_the_cpu():
    """resample.torch on CUDA tensors (DLPack into the CUDA kernels): values and gradients of
    resize, sample and reconstruct equal the CPU engine's."""
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("torch without CUDA")
    import resample.torch as rt

    rng = np.random.default_rng(3)
    x = rng.random((2, 3, 40, 50))
    grid = rng.uniform(-1.1, 1.1, (2, 17, 9, 2))
    xy, values = rng.uniform(0, 30, (300, 2)), rng.random((300, 3))
    sigma = np.column_stack([rng.uniform(0.8, 2, 300), rng.uniform(0.8, 2, 300),
                             rng.uniform(-1, 1, 300)])
    calls = [(lambda a: rt.resize(a, size=(71, 33), method="gri"), (x,)),
             (lambda a, g: rt.sample(a, g, method="bicubic", boundary="reflect"), (x, grid)),
             (lambda a, g: rt.sample(a, g, method="lanczos", boundary="constant", fill=0.5),
              (x, grid)),
             (lambda p, v, s: rt.reconstruct(p, v, (32, 32), sigma=s), (xy, values, sigma))]
    for call, args in calls:
        results = []
        for device in ("cpu", "cuda"):
            tensors = [torch.tensor(a, device=device, requires_grad=True) for a in args]
            out = call(*tensors)
            out.backward(torch.ones_like(out))
            results.append([out.detach().cpu().numpy()]
                           + [t.grad.cpu().numpy() for t in tensors])
        for cpu_result, cuda_result in zip(*results):
            np.testing.assert_allclose(cuda_result, cpu_result, rtol=1e-9, atol=1e-9)
