"""The repository's layout: the package's source lives in ``src/``, so Python started in the
repository's root imports the installed package (with its compiled engine), and the
benchmarks run from there as the README says."""

import os
import subprocess
import sys

import pytest

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


HEADERS = ["kernels/common/device.h", "kernels/common/store.h", "kernels/common/taps.h",
           "kernels/common/gaussians.h", "kernels/common/nearest.h", "kernels/common/srgb.h",
           "kernels/common/sampling.h",
           "kernels/cpu/kernels.h", "kernels/cpu/isa.h", "kernels/cpu/engine_impl.h",
           "kernels/resize/resize.h", "kernels/resize/fixed8.h", "kernels/gather/gather.h",
           "kernels/splat/splat.h", "kernels/gradients/gradients.h", "kernels/knn/knn.h",
           "kernels/knn/kd_tree.h", "kernels/png/filters.h"]


@pytest.mark.slow
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
    """kernels/common/taps.h's METHOD_NAMES and BOUNDARY_NAMES, in the order of its enums, are the
    one list: the package's methods and boundaries are numbered from it."""
    import re

    import resample
    from resample import _core
    from resample.spec.methods import BOUNDARY_IDS

    header = open(os.path.join(ROOT, "kernels", "common", "taps.h"), encoding="utf-8").read()
    enum = re.search(r"enum \{ (METHOD_NEAREST = 0,[^}]*)\}", header).group(1)
    numbered = re.findall(r"METHOD_([A-Z0-9]+)", enum)
    assert [n.lower() for n in numbered] == list(_core.method_names())
    assert {m.name: m.id for m in resample.METHODS.values()} == {
        name: i for i, name in enumerate(_core.method_names())}
    assert BOUNDARY_IDS == {name: i for i, name in enumerate(_core.boundary_names())}
    assert tuple(resample.BOUNDARIES) == tuple(_core.boundary_names())


# --- the package's layers (docs/architecture.md) ----------------------------------------------

SOURCE = os.path.join(ROOT, "src", "resample")
LAYERS = ["cli", "jobs", "formats", "ops", "engines", "spec"]      # from the top down


def _contract_layers():
    import tomllib

    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        config = tomllib.load(f)["tool"]["importlinter"]
    return [c for c in config["contracts"] if c["type"] == "layers"][0]["layers"]


def test_the_contract_lists_every_subpackage_in_order():
    """A new subpackage cannot escape the contract: every folder of the package is a layer."""
    folders = sorted(d for d in os.listdir(SOURCE) if os.path.isfile(
        os.path.join(SOURCE, d, "__init__.py")))
    assert sorted(folders) == sorted(LAYERS)
    named = [m.strip().split(".")[1] for layer in _contract_layers()
             for m in layer.replace("|", ":").split(":")]
    assert [n for n in named if n in LAYERS] == LAYERS
    modules = {f[:-3] for f in os.listdir(SOURCE) if f.endswith(".py")} - {"__init__"}
    assert modules <= set(named), modules - set(named)


def test_the_import_contract_holds():
    """Layers import only downwards, and no modules import each other in a cycle (the
    contract in pyproject.toml, as CI's lint-imports checks it)."""
    exe = os.path.join(os.path.dirname(sys.executable), "lint-imports")
    result = subprocess.run([exe], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "2 kept, 0 broken" in result.stdout


def test_an_upward_import_breaks_the_contract(tmp_path):
    """The contract can fail: an engine importing a job is reported."""
    import shutil

    # A copy of the sources under another name (the installed package's own finder would
    # answer for "resample"), with the same contract.
    copy = tmp_path / "src"
    shutil.copytree(os.path.join(SOURCE), copy / "resample_copy",
                    ignore=shutil.ignore_patterns("*.so", "__pycache__"))
    with open(os.path.join(ROOT, "pyproject.toml")) as f:
        config = f.read()
    config = config[config.index("[tool.importlinter]"):].replace("resample", "resample_copy")
    (tmp_path / "pyproject.toml").write_text(config)
    with open(copy / "resample_copy" / "engines" / "cpu.py", "a") as f:
        f.write("\nfrom ..jobs import convert  # noqa: E402,F401\n")
    exe = os.path.join(os.path.dirname(sys.executable), "lint-imports")
    env = dict(os.environ, PYTHONPATH=str(copy))
    result = subprocess.run([exe], cwd=tmp_path, capture_output=True, text=True, env=env,
                            timeout=300)
    assert result.returncode != 0
    assert "resample_copy.engines is not allowed to import resample_copy.jobs" in result.stdout


def test_every_function_level_import_says_why():
    """Imports sit at the top of their module; one inside a function defers an optional or
    costly dependency (CuPy, Dask, zarr, tifffile, NumPy on the light start-up path, the jobs
    below the command line) and says so in a comment."""
    import ast

    unexplained = []
    for folder, _, names in os.walk(SOURCE):
        for name in names:
            if not name.endswith(".py"):
                continue
            path = os.path.join(folder, name)
            with open(path) as f:
                text = f.read()
            lines = text.splitlines()
            for node in ast.walk(ast.parse(text)):
                if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    continue
                for sub in ast.walk(node):
                    if isinstance(sub, (ast.Import, ast.ImportFrom)):
                        said = lines[sub.end_lineno - 1] + lines[sub.lineno - 2]
                        if not any(w in said for w in ("deferred", "optional", "noqa")):
                            unexplained.append(f"{os.path.relpath(path, ROOT)}:{sub.lineno}")
    assert not unexplained, unexplained


def test_the_tests_mirror_the_package():
    """Each layer's tests sit in the folder of its name (tests/cli, tests/jobs, ...); tests of
    the whole (the documents, the layout, hostile inputs, fuzzing) at the top."""
    tests = os.path.join(ROOT, "tests")
    folders = {d for d in os.listdir(tests) if os.path.isdir(os.path.join(tests, d))
               and d not in ("shim", "__pycache__")}
    assert folders <= set(LAYERS), folders - set(LAYERS)
    for folder in folders:
        assert any(f.startswith("test_") for f in os.listdir(os.path.join(tests, folder)))
