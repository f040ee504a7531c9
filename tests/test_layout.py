"""The repository's layout: the package's source lives in ``src/``, so Python started in the
repository's root imports the installed package (with its compiled engine), and the
benchmarks run from there as the README says."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_the_repository_root_does_not_shadow_the_installed_package():
    assert not os.path.exists(os.path.join(ROOT, "resample"))
    result = subprocess.run([sys.executable, "-c", "import resample, resample._core; "
                             "print(resample.__file__)"], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_python_m_benchmarks_runs_from_the_repository_root():
    result = subprocess.run([sys.executable, "-m", "benchmarks", "--help"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "benchmarks" in result.stdout.lower(), result.stderr


HEADERS = ["kernels/resample_math.h", "kernels/cpu/kernels.h", "kernels/cpu/isa.h",
           "kernels/cpu/fixed8.h", "kernels/cpu/engine_impl.h"]


def test_every_engine_header_compiles_on_its_own():
    """Each header includes what it uses (fixed8.h used engine_impl.h's helpers: an include
    cycle); the per-instruction-set ones with RESAMPLE_ISA defined, as their .cpp files do."""
    import shutil
    import sysconfig

    import pytest

    cxx = shutil.which("g++") or shutil.which("c++")
    if cxx is None:
        pytest.skip("no C++ compiler")
    nanobind = pytest.importorskip("nanobind")
    found = sorted(os.path.relpath(os.path.join(here, name), ROOT)
                   for here, _, names in os.walk(os.path.join(ROOT, "kernels"))
                   for name in names if name.endswith(".h"))
    assert found == sorted(HEADERS), found                 # a new header is listed here
    for header in HEADERS:
        done = subprocess.run([cxx, "-std=c++17", "-fsyntax-only", "-fopenmp",
                               "-DRESAMPLE_ISA=base", "-I", nanobind.include_dir(), "-I",
                               sysconfig.get_paths()["include"], "-x", "c++",
                               os.path.join(ROOT, header)], capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, (header, done.stderr[-2000:])


def test_the_methods_and_boundaries_are_numbered_from_the_kernel_header():
    """resample_math.h's METHOD_NAMES and BOUNDARY_NAMES, in the order of its enums, are the
    one list: the package's methods and boundaries are numbered from it."""
    import re

    import resample
    from resample import _core
    from resample.spec.methods import BOUNDARY_IDS

    header = open(os.path.join(ROOT, "kernels", "resample_math.h"), encoding="utf-8").read()
    enum = re.search(r"enum \{ (METHOD_NEAREST = 0,[^}]*)\}", header).group(1)
    numbered = re.findall(r"METHOD_([A-Z0-9]+)", enum)
    assert [n.lower() for n in numbered] == list(_core.method_names())
    assert {m.name: m.id for m in resample.METHODS.values()} == {
        name: i for i, name in enumerate(_core.method_names())}
    assert BOUNDARY_IDS == {name: i for i, name in enumerate(_core.boundary_names())}
    assert tuple(resample.BOUNDARIES) == tuple(_core.boundary_names())
