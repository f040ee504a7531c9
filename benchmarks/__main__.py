"""Run every benchmark and print its Markdown: ``python -m benchmarks [--rounds N]``."""

import argparse

from benchmarks import batch, cli_latency, cpu_resize, gmm_points, gri_claims, reconstruction


def main():
    parser = argparse.ArgumentParser(description="Run all benchmarks; print Markdown.")
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--plot", default="docs/fit_loss.png",
                        help="where to draw the fitting loss curves")
    args = parser.parse_args()
    print("## CPU resize\n")
    print(cpu_resize.run(args.rounds))
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


if __name__ == "__main__":
    main()
