"""``resample.dask``: resizing a ``dask.array`` lazily, block by block (docs/dask.md); the
public name of :mod:`resample.ops.dask`."""

from .ops.dask import resize

__all__ = ["resize"]
