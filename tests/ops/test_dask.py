"""resample.dask.resize: Dask arrays resized block by block equal resize() on the whole array,
bit for bit, for every method, boundary and dtype, whatever the chunks; on threads, processes
and a dask.distributed LocalCluster."""

import zlib

import numpy as np
import pytest

import resample

da = pytest.importorskip("dask.array")
rdask = pytest.importorskip("resample.dask")
skimage_data = pytest.importorskip("skimage.data")

METHODS = list(resample.METHODS)                # every method the package has
BOUNDARIES = ["edge", "reflect", "mirror", "wrap", "constant", "extrapolate", "truncate"]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_blocks_equal_the_whole(method, boundary):
    rng = np.random.default_rng(zlib.crc32(f"{method}{boundary}".encode()))
    photo = skimage_data.astronaut()
    for _ in range(3):
        h, w = rng.integers(1, 90, size=2)
        r0, c0 = rng.integers(0, 400, size=2)
        img = photo[r0:r0 + h, c0:c0 + w]
        dtype = rng.choice(["uint8", "uint16", "float32", "float64"])
        if dtype != "uint8":
            img = (img.astype(np.float64) / 255 * (65535 if dtype == "uint16" else 1.7))
            img = img.astype(dtype)
        if rng.integers(2):
            img = img[..., 0]
        chunks = tuple(int(c) for c in rng.integers(3, 40, size=2)) + img.shape[2:]
        shape = tuple(int(n) for n in rng.integers(1, 130, size=2))
        kwargs = dict(shape=shape, method=method, boundary=boundary, fill=0.25,
                      align=str(rng.choice(["centers", "corners"])),
                      antialias=bool(rng.integers(2)))
        got = rdask.resize(da.from_array(img, chunks=chunks), **kwargs,
                           chunks=int(rng.integers(7, 50))).compute(scheduler="sync")
        want = resample.resize(img, **kwargs)
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_array_equal(got, want, err_msg=str((dtype, chunks, kwargs)))


@pytest.mark.slow
def test_a_real_photo_on_threads_and_processes_with_channel_chunks():
    photo = skimage_data.chelsea()                                    # 300x451 RGB
    x = da.from_array(photo, chunks=(64, 100, 1))                      # channels split too
    want = resample.resize(photo, scale=0.3, method="lanczos")
    lazy = rdask.resize(x, scale=0.3, method="lanczos")
    np.testing.assert_array_equal(lazy.compute(scheduler="threads"), want)
    np.testing.assert_array_equal(lazy.compute(scheduler="processes", num_workers=2), want)
    up = rdask.resize(x, scale=2.5, method="gri", chunks=(256, 300))
    assert up.chunks[0][0] == 256 and up.chunks[1][0] == 300
    np.testing.assert_array_equal(up.compute(), resample.resize(photo, scale=2.5, method="gri"))


@pytest.mark.slow
def test_on_a_local_cluster():
    distributed = pytest.importorskip("distributed")
    photo = skimage_data.camera()
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            x = da.from_array(photo, chunks=(100, 100))
            got = client.compute(rdask.resize(x, shape=(333, 201), method="bicubic")).result()
    np.testing.assert_array_equal(got, resample.resize(photo, shape=(333, 201),
                                                       method="bicubic"))


def test_bad_arguments():
    x = da.zeros((10, 10), chunks=5)
    with pytest.raises(resample.ResampleError, match="gmm"):
        rdask.resize(x, scale=2, method="gmm")
    with pytest.raises(resample.ResampleError, match="exactly one"):
        rdask.resize(x)
    with pytest.raises(resample.ResampleError, match="unknown method"):
        rdask.resize(x, scale=2, method="cubic-ish")
    with pytest.raises(resample.ResampleError, match="dtype"):
        rdask.resize(da.zeros((4, 4), dtype=bool, chunks=2), scale=2)


def test_zarr_in_zarr_out(tmp_path):
    """A Zarr array read lazily, resized block by block, written to Zarr: resize()'s pixels."""
    zarr = pytest.importorskip("zarr")
    photo = skimage_data.astronaut()
    z = zarr.create_array(store=str(tmp_path / "in.zarr"), shape=photo.shape,
                          chunks=(100, 128, 3), dtype=photo.dtype)
    z[:] = photo
    lazy = rdask.resize(da.from_zarr(str(tmp_path / "in.zarr")), scale=0.37, method="lanczos")
    lazy.to_zarr(str(tmp_path / "out.zarr"))
    got = np.asarray(zarr.open_array(str(tmp_path / "out.zarr"), mode="r"))
    np.testing.assert_array_equal(got, resample.resize(photo, scale=0.37, method="lanczos"))
