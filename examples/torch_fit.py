"""Fit a cloud of steered Gaussians to a photo with torch.optim.Adam, through
resample.torch.reconstruct's exact gradients (the loop `resample fit` runs, in PyTorch).

    python examples/torch_fit.py            # the bundled photo, 3277 points, 100 steps
"""

import math

import numpy as np
import torch

import resample.torch as rt
from resample.ops.fit import RATES, grid_start


def fit(image, count, steps):
    """Adam on positions, values, log sigma and rotation; returns the loss of every step."""
    target = torch.as_tensor(image, dtype=torch.float64).reshape(*image.shape[:2], -1)
    xy, values, sigma = (torch.as_tensor(a) for a in grid_start(target.numpy(), count))
    scale = float(target.max() - target.min())
    params = {"positions": xy, "values": values / scale, "sigma": sigma.log(),
              "rotation": torch.zeros(count, dtype=torch.float64)}
    for p in params.values():
        p.requires_grad_()
    adam = torch.optim.Adam([{"params": [p], "lr": RATES[k]} for k, p in params.items()])
    decay = torch.optim.lr_scheduler.LambdaLR(
        adam, lambda step: 0.55 + 0.45 * math.cos(math.pi * step / steps))
    losses = []
    for step in range(steps + 1):
        steered = torch.cat([params["sigma"].exp(), params["rotation"][:, None]], dim=1)
        out = rt.reconstruct(params["positions"], params["values"] * scale, target.shape[:2],
                             sigma=steered)
        loss = (out - target).abs().mean()
        losses.append(loss.item())
        if step < steps:
            adam.zero_grad()
            loss.backward()
            adam.step()
            decay.step()
    return losses


if __name__ == "__main__":
    import os

    from PIL import Image

    photo = os.path.join(os.path.dirname(os.path.abspath(__file__)), "photo.png")
    grey = np.asarray(Image.open(photo).convert("L"), dtype=np.float64)      # 256x256
    losses = fit(grey, 3277, 100)
    print(f"L1 {losses[0]:.2f} at the start, {min(losses):.2f} at best")
