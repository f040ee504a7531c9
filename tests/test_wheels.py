"""Wheels for every platform (pyproject.toml's [tool.cibuildwheel], run by
.github/workflows/wheels.yml, which cannot run here): cibuildwheel reads the configuration and
lists the builds it promises, and the workflow has a runner for each platform and processor.
(.ci/run builds this machine's wheel and runs it where no compiler is on the PATH.)"""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHONS = ("cp310", "cp311", "cp312", "cp313", "cp314")


def _identifiers(platform, archs):
    pytest.importorskip("cibuildwheel")
    result = subprocess.run(
        [sys.executable, "-m", "cibuildwheel", "--platform", platform, "--archs", archs,
         "--print-build-identifiers", ROOT],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
        env=dict(os.environ, CIBW_BUILD_VERBOSITY="0"))
    assert result.returncode == 0, result.stderr
    return set(result.stdout.split())


@pytest.mark.parametrize("platform, archs, tags", [
    ("linux", "x86_64", ("manylinux_x86_64", "musllinux_x86_64")),
    ("linux", "aarch64", ("manylinux_aarch64", "musllinux_aarch64")),
    ("macos", "x86_64", ("macosx_x86_64",)),
    ("macos", "arm64", ("macosx_arm64",)),
    ("windows", "AMD64", ("win_amd64",)),
])
def test_cibuildwheel_builds_every_python_on_every_platform(platform, archs, tags):
    want = {f"{py}-{tag}" for py in PYTHONS for tag in tags}
    assert _identifiers(platform, archs) == want


def test_the_workflow_runs_cibuildwheel_on_a_runner_per_platform_and_builds_an_sdist():
    yaml = pytest.importorskip("yaml")
    with open(os.path.join(ROOT, ".github", "workflows", "wheels.yml")) as f:
        flow = yaml.safe_load(f)
    wheels = flow["jobs"]["wheels"]
    runners = [entry["os"] for entry in wheels["strategy"]["matrix"]["include"]]
    # Linux x86-64 and aarch64, macOS Intel and Apple silicon, Windows: native runners
    assert any(r.startswith("ubuntu") and not r.endswith("-arm") for r in runners)
    assert any(r.startswith("ubuntu") and r.endswith("-arm") for r in runners)
    assert any(r.startswith("macos") and r.endswith("-intel") for r in runners)
    assert any(r.startswith("macos") and not r.endswith("-intel") for r in runners)
    assert any(r.startswith("windows") for r in runners)
    steps = " ".join(str(step.get("uses", "")) for step in wheels["steps"])
    assert "pypa/cibuildwheel@" in steps
    sdist = " ".join(step.get("run", "") for step in flow["jobs"]["sdist"]["steps"])
    assert "build --sdist" in sdist and "resample examples/photo.png" in sdist


def test_the_build_spells_its_flags_for_msvc_too():
    """The AVX2 build and OpenMP as MSVC spells them; no GCC-only spelling in the engine's
    sources that MSVC would not take (checked by reading: no MSVC here)."""
    with open(os.path.join(ROOT, "CMakeLists.txt")) as f:
        cmake = f.read()
    assert "/arch:AVX2" in cmake and "/openmp:llvm" in cmake
    with open(os.path.join(ROOT, "kernels", "cpu", "engine.cpp")) as f:
        engine = f.read()
    assert "__cpuidex" in engine and "_xgetbv" in engine       # has_avx2 on MSVC
    with open(os.path.join(ROOT, "kernels", "cpu", "isa.h")) as f:
        assert "#define __restrict__ __restrict" in f.read()
