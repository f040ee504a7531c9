"""CPU resize speed against Pillow, OpenCV, pyvips, resampler and torch on a real photo
enlarged to 3840x2160 (the peers that are not installed are left out).

Run: ``python -m benchmarks.cpu_resize [--busy N]`` (or ``python -m benchmarks`` for
everything); ``--busy N`` runs N CPU-bound processes beside it (benchmarks/busy.py compares
thread counts under that load).
Goals (issue: the resize engine): going up to 7680x4320 and down to 1920x1080, ``gri`` is no
slower than Pillow BICUBIC; ``bilinear`` and ``lanczos`` are no slower than Pillow's same
filter; ``gri`` takes at most 0.8x the time of our own ``bicubic``.
"""

import argparse

from PIL import Image

import resample
from benchmarks.busy import Spinners
from benchmarks.common import machine, photo_4k, time_rounds

PILLOW = {"nearest": Image.Resampling.NEAREST, "bilinear": Image.Resampling.BILINEAR,
          "bicubic": Image.Resampling.BICUBIC, "lanczos": Image.Resampling.LANCZOS,
          "gri": Image.Resampling.BICUBIC}
OPENCV = {"nearest": "INTER_NEAREST_EXACT", "bilinear": "INTER_LINEAR", "bicubic": "INTER_CUBIC",
          "lanczos": "INTER_LANCZOS4", "gri": "INTER_CUBIC"}
VIPS = {"nearest": "nearest", "bilinear": "linear", "bicubic": "cubic", "lanczos": "lanczos3",
        "gri": "cubic"}
RESAMPLER = {"nearest": "box", "bilinear": "triangle", "bicubic": "cubic", "lanczos": "lanczos3",
             "gri": "cubic"}
TORCH = {"nearest": "nearest-exact", "bilinear": "bilinear", "bicubic": "bicubic",
         "gri": "bicubic"}
METHODS = ["nearest", "bilinear", "bicubic", "lanczos", "gri"]
PEERS = ("pyvips", "resampler", "torch")


def _optional(name):
    try:
        return __import__(name)
    except Exception:          # not installed, or a broken install: leave the peer out
        return None


def peer_calls(img, w, h, m):
    """{peer: zero-argument call} resizing ``img`` to (h, w) like method ``m``, for the peers
    that are installed.  resampler: gamma off (as ours); torch: antialias when shrinking."""
    calls = {}
    vips, rs, torch = (_optional(p) for p in PEERS)
    if vips is not None:
        def vips_call():
            im = vips.Image.new_from_memory(img.data, img.shape[1], img.shape[0], 3, "uchar")
            return im.resize(w / img.shape[1], vscale=h / img.shape[0],
                             kernel=VIPS[m]).write_to_memory()
        calls["pyvips"] = vips_call
    if rs is not None:
        calls["resampler"] = lambda: rs.resize(img, (h, w), filter=RESAMPLER[m],
                                               gamma="identity")
    if torch is not None and m in TORCH:
        t = torch.from_numpy(img.copy()).permute(2, 0, 1)[None].float()
        aa = TORCH[m] in ("bilinear", "bicubic") and w < img.shape[1]
        calls["torch"] = lambda: torch.nn.functional.interpolate(
            t, size=(h, w), mode=TORCH[m], antialias=aa)
    return calls
TARGETS = [(7680, 4320), (1920, 1080)]


def _one_thread(call):
    """``call()`` with our engine on one thread (the row that the default is weighed against
    on a busy machine)."""
    from resample.compiled import core

    core.set_threads(1)
    try:
        return call()
    finally:
        core.set_threads(0)


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
             "point-samples); torch antialiases bilinear and bicubic when shrinking; pyvips and "
             "resampler (gamma off) do their own antialiasing. The `gri` row compares with the "
             "peers' bicubic; torch has no Lanczos.", ""]
    megapixels = img.shape[0] * img.shape[1] / 1e6
    for w, h in TARGETS:
        lines += [f"**3840x2160 -> {w}x{h}**: median ms (best); the last table in Mpx/s "
                  "of input", "",
                  "| method | ours | ours 1 thread | Pillow | ours / Pillow | OpenCV 1 thread "
                  "| OpenCV 2 threads | pyvips | resampler | torch |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        contenders = {}
        for m in METHODS:
            contenders[("ours", m)] = lambda m=m: resample.resize(img, shape=(h, w), method=m)
            contenders[("ours1", m)] = lambda m=m: _one_thread(
                lambda: resample.resize(img, shape=(h, w), method=m))
            contenders[("pillow", m)] = lambda m=m: pil.resize((w, h), PILLOW[m])
            if cv2 is not None:
                def cv(threads, m=m):
                    cv2.setNumThreads(threads)
                    return cv2.resize(img, (w, h), interpolation=getattr(cv2, OPENCV[m]))
                contenders[("cv1", m)] = lambda cv=cv: cv(1)
                contenders[("cv2", m)] = lambda cv=cv: cv(2)
            for peer, call in peer_calls(img, w, h, m).items():
                contenders[(peer, m)] = call
        t = time_rounds(contenders, rounds=rounds)
        ours_ms = {m: t[("ours", m)] for m in METHODS}
        keys = ("ours", "ours1", "pillow", "cv1", "cv2") + PEERS
        for m in METHODS:
            fmt = (lambda k: f"{t[(k, m)][0] * 1e3:.1f} ({t[(k, m)][1] * 1e3:.1f})"
                   if (k, m) in t else "n/a")
            lines.append(f"| {m} | {fmt('ours')} | {fmt('ours1')} | {fmt('pillow')} | "
                         f"{t[('ours', m)][0] / t[('pillow', m)][0]:.2f} | {fmt('cv1')} | "
                         f"{fmt('cv2')} | {fmt('pyvips')} | {fmt('resampler')} | "
                         f"{fmt('torch')} |")
        ratio = ours_ms["gri"][0] / ours_ms["bicubic"][0]
        best = ours_ms["gri"][1] / ours_ms["bicubic"][1]
        lines += ["", f"gri / our bicubic: {ratio:.2f} (medians), {best:.2f} (best times); "
                  "goal: at most 0.80.", "",
                  "| Mpx/s | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
        for m in METHODS:
            cells = [f"{megapixels / t[(k, m)][0]:.0f}" if (k, m) in t else "n/a"
                     for k in keys]
            lines.append(f"| {m} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--busy", type=int, default=0,
                        help="CPU-bound processes of someone else's running beside it")
    args = parser.parse_args()
    with Spinners(args.busy):
        table = run(args.rounds)
    print(table if not args.busy else f"With {args.busy} CPU-bound processes beside it.\n\n"
          + table)


if __name__ == "__main__":
    main()
