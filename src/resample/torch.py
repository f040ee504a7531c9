"""``resample.torch``: resizing, point sampling and point-cloud rebuilds as PyTorch autograd
functions, on the CPU and CUDA (docs/torch.md); the public name of :mod:`resample.ops.torch`.
Needs torch (the ``[torch]`` extra); ``import resample`` alone never imports it."""

from .ops.torch import reconstruct, resize, sample

__all__ = ["reconstruct", "resize", "sample"]
