"""GRI's claims, measured: faster than bicubic, and it rings less (on a step edge and on a real
photo's edges) than bicubic and Lanczos.

Run: ``python -m benchmarks.gri_claims [--rounds 11] [--plot docs/gri_step.png]``.  The zoomed crop of every method is
docs/methods.png (``python examples/method_tour.py``).
"""

import argparse

import numpy as np
from PIL import Image

import resample
from benchmarks.common import machine, photo_4k, time_rounds

METHODS = ("gri", "bicubic", "lanczos", "bilinear")
PILLOW = {"Pillow bicubic": Image.Resampling.BICUBIC, "Pillow lanczos": Image.Resampling.LANCZOS}


def step_ringing(factor=8, plot=None):
    """Over- and undershoot (fraction of the step) of a 0 -> 1 step enlarged ``factor`` x;
    ``plot``: a PNG of the profiles."""
    step = np.repeat(np.array([[0.0] * 8 + [1.0] * 8], np.float32), 4, axis=0)
    rows, profiles = {}, {}
    for m in METHODS:
        out = resample.resize(step, shape=(4, 16 * factor), method=m)[0]
        rows[m] = (float(out.max() - 1.0), float(0.0 - out.min()))
        profiles[m] = out
    if plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7, 4))
        x = (np.arange(16 * factor) + 0.5) / factor - 0.5         # input pixel units
        for m, out in profiles.items():
            ax.plot(x, out, label=m, linewidth=2 if m == "gri" else 1.2)
        ax.step(np.arange(16), step[0], where="mid", color="black", linewidth=0.6,
                label="input")
        ax.set_xlim(4, 12)
        ax.set_xlabel("position (input pixels)")
        ax.set_title(f"A step enlarged {factor}x: gri rings least of the sharp kernels")
        ax.legend()
        fig.tight_layout()
        fig.savefig(plot, dpi=90)
        plt.close(fig)
    for name, f in PILLOW.items():
        out = np.asarray(Image.fromarray(step, mode="F").resize((16 * factor, 4), f))[0]
        rows[name] = (float(out.max() - 1.0), float(0.0 - out.min()))
    return rows


def photo_ringing(factor=4):
    """On real photos shrunk ``factor`` x (box) and enlarged back: how far outputs leave the
    range of the 2x2 input pixels around them (0-255), mean and 99.9th percentile, and the
    share of pixels that leave it by more than 1."""
    from skimage import data

    out_rows = {}
    for name in ("camera", "astronaut", "coffee", "brick"):
        a = getattr(data, name)().astype(np.float64)
        a = a if a.ndim == 3 else a[..., None]
        h, w = (a.shape[0] // factor) * factor, (a.shape[1] // factor) * factor
        small = a[:h, :w].reshape(h // factor, factor, w // factor, factor, -1).mean(axis=(1, 3))
        # the 2x2 input pixels around each output pixel centre (align="centers")
        pos_r = (np.arange(h) + 0.5) / factor - 0.5
        pos_c = (np.arange(w) + 0.5) / factor - 0.5
        r0 = np.clip(np.floor(pos_r).astype(int), 0, small.shape[0] - 1)
        c0 = np.clip(np.floor(pos_c).astype(int), 0, small.shape[1] - 1)
        r1 = np.minimum(r0 + 1, small.shape[0] - 1)
        c1 = np.minimum(c0 + 1, small.shape[1] - 1)
        corners = [small[r][:, c] for r in (r0, r1) for c in (c0, c1)]
        lo, hi = np.minimum.reduce(corners), np.maximum.reduce(corners)
        outs = {m: resample.resize(small, shape=(h, w), method=m) for m in METHODS}
        for pname, f in PILLOW.items():
            chans = [np.asarray(Image.fromarray(small[..., k].astype(np.float32), mode="F")
                                .resize((w, h), f)) for k in range(small.shape[2])]
            outs[pname] = np.stack(chans, axis=-1)
        for m, out in outs.items():
            beyond = np.maximum(out - hi, 0) + np.maximum(lo - out, 0)
            out_rows.setdefault(m, []).append(beyond)
    return {m: (float(np.mean([b.mean() for b in v])),
                float(np.mean([np.percentile(b, 99.9) for b in v])),
                float(np.mean([(b > 1).mean() for b in v])))
            for m, v in out_rows.items()}


def speed(rounds):
    img = photo_4k()
    pil = Image.fromarray(img)
    contenders = {m: (lambda m=m: resample.resize(img, shape=(4320, 7680), method=m))
                  for m in ("gri", "bicubic")}
    contenders["Pillow bicubic"] = lambda: pil.resize((7680, 4320), Image.Resampling.BICUBIC)
    return time_rounds(contenders, rounds)


def run(rounds=11, plot=None):
    step = step_ringing(plot=plot)
    photo = photo_ringing()
    times = speed(rounds)
    lines = [f"Machine: {machine()}", "",
             "**Speed**, 3840x2160 -> 7680x4320 RGB uint8 (the coffee photo), median of "
             f"{rounds} rounds (best):", "",
             "| | ms | vs gri |", "|---|---|---|"]
    for name, (med, best) in times.items():
        lines.append(f"| {name} | {med * 1e3:.1f} ({best * 1e3:.1f}) | "
                     f"{med / times['gri'][0]:.2f}x |")
    lines += ["", "**A step edge** (0 -> 1) enlarged 8x: overshoot and undershoot, in % of the "
              "step.", "", "| method | overshoot | undershoot |", "|---|---|---|"]
    for name, (over, under) in step.items():
        lines.append(f"| {name} | {100 * over:.1f}% | {100 * under:.1f}% |")
    lines += ["", "**Real photos' edges**: camera, astronaut, coffee and brick shrunk 4x (box) "
              "and enlarged back; how far an output leaves the range of the 2x2 input pixels "
              "around it (0-255): the ringing a viewer sees as halos.", "",
              "| method | mean | 99.9th percentile | pixels beyond by > 1 |", "|---|---|---|---|"]
    for name, (mean, p999, share) in photo.items():
        lines.append(f"| {name} | {mean:.3f} | {p999:.2f} | {100 * share:.2f}% |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--plot", help="write the step profiles to this PNG")
    args = parser.parse_args()
    print(run(args.rounds, args.plot))


if __name__ == "__main__":
    main()
