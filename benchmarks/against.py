"""The CPU resize of this checkout against an earlier build of the package, paired: each round
runs one process of each (alternating which goes first), on two threads and on one, and each
process times every case a few times (medians of the rounds' medians).

Build the earlier version once, beside this checkout, then run:

    git worktree add /tmp/earlier REV
    pip install --no-build-isolation --no-deps --target /tmp/earlier-site /tmp/earlier
    python -m benchmarks.against /tmp/earlier-site --rounds 15

The cases are benchmarks.cpu_resize's: a 3840x2160 photo to 7680x4320 and to 1920x1080 with
every method.  The goal it checks (issue: the engine on a busy machine): no case slower than
before by more than 5% on an idle machine.  With ``--types``, benchmarks.cpu_types' cases
instead: a 1920x1080 photo in 16-bit and float samples, grey and RGB, to 3840x2160 and to
960x540.
"""

import argparse
import collections
import os
import statistics
import subprocess
import sys
import time

SHAPES = [(4320, 7680), (1080, 1920)]
METHODS = ["nearest", "bilinear", "bicubic", "lanczos", "gri"]
CALLS = 5


def cases(types):
    """[(label, image, (h, w), method)] that a side times.  (Imported here, after _side has
    chosen the build: benchmarks.cpu_types imports resample.)"""
    if types:
        from benchmarks.cpu_types import TARGETS, images

        return [(f"{w}x{h}|{name}", img, (h, w), m) for w, h in TARGETS
                for name, img in images().items() for m in ("bilinear", "bicubic", "lanczos")]
    from benchmarks.common import photo_4k

    img = photo_4k()
    return [(f"{w}x{h}|RGB uint8", img, (h, w), m) for h, w in SHAPES for m in METHODS]


def _side(site, threads, types):
    """In a child process: ``resample`` from ``site`` (or this checkout), timed per case;
    prints ``label:method:ms`` cells (spaces in labels as underscores)."""
    if site:
        # an editable install's finder would find this checkout first
        sys.meta_path[:] = [f for f in sys.meta_path if "Redirecting" not in type(f).__name__]
        sys.path.insert(0, site)
    import resample
    from resample.compiled import core

    core.set_threads(threads)
    cells = []
    for label, img, shape, m in cases(types):
        times = []
        for _ in range(CALLS):
            t = time.perf_counter()
            resample.resize(img, shape=shape, method=m)
            times.append(time.perf_counter() - t)
        cells.append(f"{label.replace(' ', '_')}:{m}:{statistics.median(times) * 1e3:.3f}")
    print(" ".join(cells))


def run(site, rounds=15, types=False):
    times = collections.defaultdict(list)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    extra = ["--types"] if types else []
    for r in range(rounds):
        for threads in (2, 1):
            sides = ["earlier", "now"] if r % 2 == 0 else ["now", "earlier"]
            for side in sides:
                out = subprocess.run(
                    [sys.executable, "-m", "benchmarks.against", "--side",
                     site if side == "earlier" else "", "--threads", str(threads)] + extra,
                    capture_output=True, text=True, check=True, cwd=root).stdout
                for cell in out.split():
                    label, m, ms = cell.split(":")
                    times[(threads, label, m, side)].append(float(ms))
    lines = ["| threads | output | image | method | earlier: ms | now: ms | now / earlier |",
             "|---|---|---|---|---|---|---|"]
    labels = list(dict.fromkeys((k[1], k[2]) for k in times))
    for threads in (2, 1):
        for label, m in labels:
            a = statistics.median(times[(threads, label, m, "earlier")])
            b = statistics.median(times[(threads, label, m, "now")])
            output, image = label.replace("_", " ").split("|")
            lines.append(f"| {threads} | {output} | {image} | {m} | {a:.1f} | {b:.1f} | "
                         f"{b / a:.2f} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", nargs="?", help="the earlier build (pip install --target)")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--side", help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=2, help=argparse.SUPPRESS)
    parser.add_argument("--types", action="store_true",
                        help="16-bit and float samples (benchmarks.cpu_types' cases)")
    args = parser.parse_args()
    if args.side is not None:
        _side(args.side, args.threads, args.types)
    elif args.site:
        print(run(args.site, args.rounds, args.types))
    else:
        parser.error("give the earlier build's folder (see the module's docstring)")


if __name__ == "__main__":
    main()
