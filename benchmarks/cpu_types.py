"""CPU resize speed for the sample types beyond 8 bits (uint16, float32, float64; grey and
RGB) against OpenCV, on a real photo at 1920x1080.

Run: ``python -m benchmarks.cpu_types [--rounds N]``.  Our float loops sum in float32 for
16-bit samples and in float64 for float32 and float64 samples (resample.spec.dtypes), relative
to each output's first tap, so that constants stay exact; OpenCV sums float32 images in
float32.  Enlarging compares like with like.  Shrinking does not: ours is antialiased, as
Pillow's, and OpenCV's bilinear and bicubic point-sample (INTER_AREA is its antialiased box).
"""

import argparse

import numpy as np

import resample
from benchmarks.common import machine, photo_4k, time_rounds
from benchmarks.cpu_resize import _one_thread

OPENCV = {"bilinear": "INTER_LINEAR", "bicubic": "INTER_CUBIC", "lanczos": "INTER_LANCZOS4",
          "box": "INTER_AREA"}
TARGETS = [(3840, 2160), (960, 540)]


def images():
    """{name: array}: the coffee photo at 1920x1080 as uint16, float32 and float64, RGB and grey
    (its green channel)."""
    rgb = photo_4k()[::2, ::2]
    out = {}
    for kind, a in (("RGB", rgb), ("grey", np.ascontiguousarray(rgb[..., 1]))):
        out[f"uint16 {kind}"] = a.astype(np.uint16) * 257
        out[f"float32 {kind}"] = a.astype(np.float32) / 255
        out[f"float64 {kind}"] = a / 255.0
    return out


def run(rounds=11):
    import cv2

    lines = [f"Machine: {machine()}", "",
             "Input: scikit-image `coffee` at 1920x1080. Times in ms, the median of "
             f"{rounds} rounds; each round runs every contender once. Ours antialiases when "
             "shrinking; OpenCV's bilinear and bicubic do not (its box, INTER_AREA, does).", ""]
    for w, h in TARGETS:
        lines += [f"**1920x1080 -> {w}x{h}**", "",
                  "| image | method | ours | ours 1 thread | OpenCV 1 thread | OpenCV 2 threads "
                  "| ours / OpenCV (2 threads) |", "|---|---|---|---|---|---|---|"]
        for name, img in images().items():
            contenders = {}
            for m in OPENCV:
                contenders[("ours", m)] = lambda m=m: resample.resize(img, shape=(h, w), method=m)
                contenders[("ours1", m)] = lambda m=m: _one_thread(
                    lambda: resample.resize(img, shape=(h, w), method=m))

                def cv(threads, m=m):
                    cv2.setNumThreads(threads)
                    return cv2.resize(img, (w, h), interpolation=getattr(cv2, OPENCV[m]))
                contenders[("cv1", m)] = lambda cv=cv: cv(1)
                contenders[("cv2", m)] = lambda cv=cv: cv(2)
            t = time_rounds(contenders, rounds=rounds)
            for m in OPENCV:
                ms = {k: t[(k, m)][0] * 1e3 for k in ("ours", "ours1", "cv1", "cv2")}
                lines.append(f"| {name} | {m} | {ms['ours']:.1f} | {ms['ours1']:.1f} | "
                             f"{ms['cv1']:.1f} | {ms['cv2']:.1f} | "
                             f"{ms['ours'] / ms['cv2']:.2f} |")
        lines.append("")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=11)
    print(run(parser.parse_args().rounds))


if __name__ == "__main__":
    main()
