"""Every test runs in its own temporary folder.

Tests start commands as ``python -m resample``, which puts the current folder first on the
module path: run from the repository's root, that would import the source tree's ``resample``
(which has no compiled engine unless installed in editable mode) instead of the installed
package.  A temporary folder also keeps stray outputs out of the repository."""

import pytest


@pytest.fixture(autouse=True)
def _in_a_temporary_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
