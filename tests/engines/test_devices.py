"""device="auto": which engine a job on host data gets, without a GPU (the model is plain
arithmetic; whether a GPU is usable is patched)."""

import numpy as np
import pytest

import resample
from resample.engines import devices


@pytest.fixture
def usable_gpu(monkeypatch):
    """A usable GPU that has already been started in this process."""
    monkeypatch.setattr(devices, "gpu_reason", lambda: None)
    monkeypatch.setattr(devices, "gpu_started", lambda: True)
    monkeypatch.setattr(devices, "cpu_cores", lambda: 16)


def test_auto_takes_the_gpu_only_for_jobs_that_pay_for_the_copies(usable_gpu):
    # 3840x2160 -> 7680x4320 lanczos, uint8 RGB: ~1.2e9 multiply-adds, 125 MB of copies
    assert devices.select("auto", cost=(1.2e9 * 3, 125e6)) == "gpu"
    assert devices.select("auto", cost=(1e6, 1e6)) == "cpu"           # a thumbnail
    assert devices.select("auto", cost=(3e8, 125e6)) == "cpu"          # cheap work, big copies
    assert devices.select("cpu", cost=(1e12, 1)) == "cpu"              # asked for: kept
    assert devices.select("gpu", cost=(1, 1)) == "gpu"


def test_auto_counts_starting_the_gpu_the_first_time(monkeypatch, usable_gpu):
    monkeypatch.setattr(devices, "gpu_started", lambda: False)
    assert devices.select("auto", cost=(1.2e9 * 3, 125e6)) == "cpu"
    assert devices.select("auto", cost=(1e12, 125e6)) == "gpu"


def test_auto_without_a_gpu_is_the_cpu_silently_and_asks_nothing_for_small_jobs(monkeypatch):
    monkeypatch.setattr(devices, "gpu_reason", lambda: "CuPy is not installed")
    assert devices.select("auto", cost=(1e15, 1)) == "cpu"

    def must_not_look(*_):
        raise AssertionError("looked for a GPU (imports CuPy) for a small job")

    monkeypatch.setattr(devices, "gpu_reason", must_not_look)
    assert devices.select("auto", cost=(1e6, 1e6)) == "cpu"


def test_resize_hands_the_model_its_work_and_copies(monkeypatch):
    seen = []
    monkeypatch.setattr(devices, "gpu_pays", lambda madds, nbytes: seen.append(
        (madds, nbytes)) or False)
    a = np.zeros((100, 50, 3), np.uint8)
    out = resample.resize(a, shape=(200, 100), method="bilinear")
    assert out.shape == (200, 100, 3)
    (madds, nbytes), = seen
    # bilinear x2 reads 2 taps per output sample; the cheaper order: 2 x 2 x (100 x 50 ... )
    assert nbytes == a.nbytes + out.nbytes
    rows_first = 3 * (200 * 50 * 2 + 200 * 100 * 2)
    cols_first = 3 * (100 * 100 * 2 + 200 * 100 * 2)
    assert madds == min(rows_first, cols_first)
    seen.clear()
    resample.resize(a, shape=(200, 100), device="cpu")
    assert seen == []                                     # asked for the CPU: no model


def test_reconstruct_hands_the_model_its_work(monkeypatch):
    seen = []
    monkeypatch.setattr(devices, "gpu_pays", lambda madds, nbytes: seen.append(
        (madds, nbytes)) or False)
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 30, (200, 2))
    v = rng.uniform(0, 1, (200, 3)).astype(np.float32)
    resample.reconstruct(xy, v, (30, 40), sigma=1.0)
    (madds, nbytes), = seen
    assert madds == pytest.approx(200 * np.pi * 9 * 5 + 1200 * 3)
    assert nbytes == xy.nbytes + v.nbytes + 1200 * 4 * 4
