"""Every test runs in its own temporary folder.

Tests start commands as ``python -m resample``, which puts the current folder first on the
module path; the package's source lives in ``src/``, so no folder shadows the installed
package, and a temporary folder keeps stray outputs out of the repository."""

import pytest


@pytest.fixture(autouse=True)
def _in_a_temporary_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
