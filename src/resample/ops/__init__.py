"""The operations on arrays, the Python API: resizing and sampling through tap tables
(resize), rebuilding an image from points as a Gaussian mixture, and its gradients (gmm),
fitting one to an image (fit), and resizing a dask.array block by block (dask)."""
