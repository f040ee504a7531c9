"""CPU resize speed against Pillow and OpenCV on a real photo enlarged to 3840x2160.

Run: ``python -m benchmarks.cpu_resize`` (or ``python -m benchmarks`` for everything).
Goals (issue: the resize engine): going up to 7680x4320 and down to 1920x1080, ``gri`` is no
slower than Pillow BICUBIC; ``bilinear`` and ``lanczos`` are no slower than Pillow's same
filter; ``gri`` takes at most 0.8x the time of our own ``bicubic``.
"""

import argparse

from PIL import Image

import resample
from benchmarks.common import machine, photo_4k, time_rounds

PILLOW = {"nearest": Image.Resampling.NEAREST, "bilinear": Image.Resampling.BILINEAR,
          "bicubic": Image.Resampling.BICUBIC, "lanczos": Image.Resampling.LANCZOS,
          "gri": Image.Resampling.BICUBIC}
OPENCV = {"nearest": "INTER_NEAREST_EXACT", "bilinear": "INTER_LINEAR", "bicubic": "INTER_CUBIC",
          "lanczos": "INTER_LANCZOS4", "gri": "INTER_CUBIC"}
METHODS = ["nearest", "bilinear", "bicubic", "lanczos", "gri"]
TARGETS = [(7680, 4320), (1920, 1080)]


def run(rounds=11):
    img = photo_4k()
    pil = Image.fromarray(img)
    try:
        import cv2
    except ImportError:
        cv2 = None
    lines = [f"Machine: {machine()}", "",
             "Input: scikit-image `coffee` enlarged to 3840x2160, RGB uint8. Times in ms, the "
             f"median of {rounds} rounds (best in brackets); each round runs every contender "
             "once. Ours is antialiased when shrinking, as Pillow; OpenCV is not (it "
             "point-samples). The `gri` row compares with Pillow's and OpenCV's bicubic.", ""]
    for w, h in TARGETS:
        lines += [f"**3840x2160 -> {w}x{h}**", "",
                  "| method | ours | Pillow | ours / Pillow | OpenCV 1 thread | OpenCV 2 threads |",
                  "|---|---|---|---|---|---|"]
        contenders = {}
        for m in METHODS:
            contenders[("ours", m)] = lambda m=m: resample.resize(img, shape=(h, w), method=m)
            contenders[("pillow", m)] = lambda m=m: pil.resize((w, h), PILLOW[m])
            if cv2 is not None:
                def cv(threads, m=m):
                    cv2.setNumThreads(threads)
                    return cv2.resize(img, (w, h), interpolation=getattr(cv2, OPENCV[m]))
                contenders[("cv1", m)] = lambda cv=cv: cv(1)
                contenders[("cv2", m)] = lambda cv=cv: cv(2)
        t = time_rounds(contenders, rounds=rounds)
        ours_ms = {m: t[("ours", m)] for m in METHODS}
        for m in METHODS:
            fmt = (lambda k: f"{t[(k, m)][0] * 1e3:.1f} ({t[(k, m)][1] * 1e3:.1f})"
                   if (k, m) in t else "n/a")
            lines.append(f"| {m} | {fmt('ours')} | {fmt('pillow')} | "
                         f"{t[('ours', m)][0] / t[('pillow', m)][0]:.2f} | {fmt('cv1')} | "
                         f"{fmt('cv2')} |")
        ratio = ours_ms["gri"][0] / ours_ms["bicubic"][0]
        best = ours_ms["gri"][1] / ours_ms["bicubic"][1]
        lines += ["", f"gri / our bicubic: {ratio:.2f} (medians), {best:.2f} (best times); "
                  "goal: at most 0.80.", ""]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=11)
    args = parser.parse_args()
    print(run(args.rounds))


if __name__ == "__main__":
    main()
