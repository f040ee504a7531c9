"""The compiled engine's loader (src/resample/compiled.py): the default thread count is the
cores this process may use, its CPU affinity and its cgroup's CPU quota (as a container sets
it), and RESAMPLE_THREADS where given."""

import os

import pytest

from resample import compiled


def _cgroup(tmp_path, v2=None, v1=None):
    if v2 is not None:
        (tmp_path / "cpu.max").write_text(v2)
    if v1 is not None:
        (tmp_path / "cpu").mkdir()
        (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text(v1[0])
        (tmp_path / "cpu" / "cpu.cfs_period_us").write_text(v1[1])
    return str(tmp_path)


@pytest.mark.parametrize("v2, v1, quota", [
    ("150000 100000\n", None, 2),             # 1.5 cores: rounded up
    ("100000 100000\n", None, 1),
    ("max 100000\n", None, None),             # no quota
    (None, ("200000\n", "100000\n"), 2),      # cgroup v1
    (None, ("-1\n", "100000\n"), None),       # v1, no quota
    ("garbage", None, None),
    (None, None, None),                       # no cgroup files at all
])
def test_a_cgroup_quota_bounds_the_cores(tmp_path, monkeypatch, v2, v1, quota):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)))
    cores = compiled.usable_cores(_cgroup(tmp_path, v2, v1))
    assert cores == (quota if quota is not None else 8)


def test_affinity_bounds_the_cores_below_a_larger_quota(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {3})
    assert compiled.usable_cores(_cgroup(tmp_path, "400000 100000")) == 1


def test_resample_threads_overrides_the_cores(monkeypatch):
    monkeypatch.setenv("RESAMPLE_THREADS", "3")
    assert compiled.threads_from_environment() == 3
    monkeypatch.setenv("RESAMPLE_THREADS", "x")          # not a number: the cores
    assert compiled.threads_from_environment() == compiled.usable_cores()
