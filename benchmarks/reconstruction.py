"""Reconstruction quality (the GMM paper's Figure 3, redone): real photos are shrunk by 2, 4, 8
and 16, enlarged back, and compared with the original by mean L1 (0-255).

Run: ``python -m benchmarks.reconstruction [--plot docs/reconstruction.png]``.

Three shrinking protocols, all by Pillow: bilinear (the paper's), nearest (point sampling) and
box (area averaging).  Enlarging: Pillow's six filters under their right names, and ours.  The
paper's released benchmark printed four of Pillow's integer filter codes under wrong names:
codes 1, 3, 4 and 5 are LANCZOS, BICUBIC, BOX and HAMMING.  It also chose the best GMM sigma
per image with hindsight; here gmm uses its one rule (sigma = 0.3 x the point spacing) for
every image, and "gmm steered" rebuilds from the pixels as points with the point clouds'
default rule (``reconstruct(sigma="steered")``: sized by the local density and contrast,
stretched along the local edges).
"""

import argparse

import numpy as np

import resample
from benchmarks.common import machine

PHOTOS = ("astronaut", "camera", "chelsea", "coffee", "coins", "moon", "rocket",
          "hubble_deep_field", "immunohistochemistry", "brick", "gravel", "grass")
FACTORS = (2, 4, 8, 16)
PROTOCOLS = ("bilinear", "nearest", "box")
OURS = ("nearest", "bilinear", "bicubic", "lanczos", "gri", "gmm")
STEERED = "gmm steered"


def steered_enlarge(small, shape):
    """The pixels of ``small`` as points at their centres in the output frame (align centres),
    rebuilt with the point clouds' default sigma rule, rounded to uint8 like the resizes."""
    h_in, w_in = small.shape[:2]
    h, w = shape
    gy, gx = np.mgrid[0:h_in, 0:w_in].astype(np.float64)
    xy = np.stack([(gx.ravel() + 0.5) * w / w_in - 0.5, (gy.ravel() + 0.5) * h / h_in - 0.5], 1)
    values = small.reshape(h_in * w_in, -1).astype(np.float64)
    out = resample.reconstruct(xy, values, (h, w), sigma="steered").reshape(
        (h, w) + small.shape[2:])
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def photos():
    """The scikit-image photos, cropped to sides divisible by 16, as uint8 (grey or RGB)."""
    from skimage import data

    out = {}
    for name in PHOTOS:
        a = getattr(data, name)()
        h, w = (a.shape[0] // 16) * 16, (a.shape[1] // 16) * 16
        out[name] = np.ascontiguousarray(a[:h, :w])
    return out


def _pillow_filters():
    from PIL import Image

    r = Image.Resampling
    return {"nearest": r.NEAREST, "box": r.BOX, "bilinear": r.BILINEAR, "hamming": r.HAMMING,
            "bicubic": r.BICUBIC, "lanczos": r.LANCZOS}


def errors(images):
    """{(protocol, factor, enlarger): mean L1 over the photos}."""
    from PIL import Image

    pillow = _pillow_filters()
    result = {}
    for protocol in PROTOCOLS:
        for f in FACTORS:
            sums = {}
            for a in images.values():
                h, w = a.shape[:2]
                small = np.asarray(Image.fromarray(a).resize((w // f, h // f), pillow[protocol]))
                outs = {f"Pillow {k}": np.asarray(Image.fromarray(small).resize((w, h), v))
                        for k, v in pillow.items()}
                for m in OURS:
                    outs[m] = resample.resize(small, shape=(h, w), method=m)
                outs[STEERED] = steered_enlarge(small, (h, w))
                for k, out in outs.items():
                    sums[k] = sums.get(k, 0.0) + float(np.abs(out.astype(np.float64) - a).mean())
            for k, total in sums.items():
                result[protocol, f, k] = total / len(images)
    return result


def tables(result):
    names = [f"Pillow {k}" for k in _pillow_filters()] + list(OURS) + [STEERED]
    lines = []
    for protocol in PROTOCOLS:
        lines += [f"**Shrunk with Pillow {protocol}** (mean L1; the best of each row in bold)", "",
                  "| factor | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
        for f in FACTORS:
            row = [result[protocol, f, k] for k in names]
            best = min(row)
            cells = [f"**{v:.2f}**" if v == best else f"{v:.2f}" for v in row]
            lines.append(f"| {f} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def verdict(result):
    """Where gmm and gmm steered win and lose: the rank of each among the 12 enlargers (itself
    in place of gmm for the steered rule) in each cell."""
    names = [f"Pillow {k}" for k in _pillow_filters()] + list(OURS)
    lines = []
    for which in ("gmm", STEERED):
        field = [k for k in names if k != "gmm"] + [which]
        for protocol in PROTOCOLS:
            ranks = []
            for f in FACTORS:
                order = sorted(field, key=lambda k: result[protocol, f, k])
                ranks.append(f"x{f}: {order.index(which) + 1} (best: {order[0]})")
            lines.append(f"- shrunk with {protocol}: {which} ranks " + "; ".join(ranks))
    return "\n".join(lines)


def plot(result, path):
    """L1 of each enlarger relative to Pillow bicubic's (below 1: better), per protocol."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(PROTOCOLS), figsize=(15, 4.8), sharey=True)
    names = [f"Pillow {k}" for k in _pillow_filters() if k != "box"] + list(OURS) + [STEERED]
    colours = plt.get_cmap("tab20").colors
    for ax, protocol in zip(axes, PROTOCOLS):
        for i, k in enumerate(names):
            base = [result[protocol, f, "Pillow bicubic"] for f in FACTORS]
            ax.plot(FACTORS, [result[protocol, f, k] / b for f, b in zip(FACTORS, base)],
                    "--" if k.startswith("Pillow") else "-", marker="o", markersize=3,
                    color=colours[(2 * i) % 20 if i < 5 else (2 * (i - 5) + 1) % 20],
                    linewidth=2.2 if k in ("gmm", "gri", STEERED) else 1.2, label=k)
        ax.set_xscale("log", base=2)
        ax.set_xticks(FACTORS, [str(f) for f in FACTORS])
        ax.axhline(1.0, color="grey", linewidth=0.5)
        ax.set_title(f"shrunk with {protocol}")
        ax.set_xlabel("factor")
    axes[0].set_ylabel("mean L1 / Pillow bicubic's")
    axes[-1].legend(fontsize=7, ncol=2, title="Pillow box = nearest when enlarging",
                    title_fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def run(plot_path=None):
    images = photos()
    result = errors(images)
    if plot_path:
        plot(result, plot_path)
    sizes = ", ".join(f"{k} {v.shape[1]}x{v.shape[0]}" for k, v in images.items())
    return "\n".join([
        f"Machine: {machine()}", "",
        f"Photos (scikit-image): {sizes}. Enlarging back to the original size; Pillow's filters "
        "(dashed in the plot) and ours (solid).", "",
        tables(result), verdict(result)])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plot", help="write the L1-against-factor plot to this PNG")
    args = parser.parse_args()
    print(run(args.plot))


if __name__ == "__main__":
    main()
