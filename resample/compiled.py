"""The compiled CPU engine (resample._core, built from kernels/cpu by ``pip install``), with a
clear message where it is missing."""

import os

try:
    from . import _core as core  # noqa: F401
except ImportError as exc:                      # pragma: no cover - depends on the install
    here = os.path.dirname(os.path.abspath(__file__))
    raise ImportError(
        f"resample's compiled engine (resample._core) is not built in {here}: this looks like "
        "the source tree shadowing the installed package (run from another folder), or an "
        "install without its build (pip install . , or pip install -e . for development)"
    ) from exc
