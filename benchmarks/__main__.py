"""Run every benchmark and print its Markdown: ``python -m benchmarks [--rounds N]``."""

import argparse

from benchmarks import (batch, bigtiff, busy, cli_latency, cluster, cpu_resize, cpu_types,
                        gmm_points, gri_claims, reconstruction, web)


def main():
    parser = argparse.ArgumentParser(description="Run all benchmarks; print Markdown.")
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--plot", default="docs/fit_loss.png",
                        help="where to draw the fitting loss curves")
    parser.add_argument("--big", action="store_true",
                        help="also the 30000x30000 TIFF (about 20 GB of disk, 4 minutes)")
    args = parser.parse_args()
    print("## CPU resize\n")
    print(cpu_resize.run(args.rounds))
    print("\n## CPU resize, 16-bit and float samples\n")
    print(cpu_types.run(args.rounds))
    print("\n## On a busy machine\n")
    print(busy.run(rounds=max(args.rounds, 11)))
    print("\n## CLI latency\n")
    print(cli_latency.run(args.rounds))
    print("\n## Reconstruction quality\n")
    print(reconstruction.run("docs/reconstruction.png"))
    print("\n## GRI's claims\n")
    print(gri_claims.run(args.rounds, "docs/gri_step.png"))
    print("\n## Scattered points (gmm)\n")
    print(gmm_points.run(args.plot))
    print("\n## Folders\n")
    print(batch.run(max(1, min(args.rounds, 3))))
    print("\n## Web sizes\n")
    print(web.run(max(1, min(args.rounds, 3))))
    print("\n## Folders on a cluster\n")
    print(cluster.run(max(1, min(args.rounds, 3))))
    if args.big:
        print("\n## Images bigger than memory\n")
        print(bigtiff.run(max(1, min(args.rounds, 3))))


if __name__ == "__main__":
    main()
