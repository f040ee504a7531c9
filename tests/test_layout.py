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
