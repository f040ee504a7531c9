"""Run every benchmark and print its Markdown: ``python -m benchmarks [--rounds N]``."""

import argparse

from benchmarks import cpu_resize


def main():
    parser = argparse.ArgumentParser(description="Run all benchmarks; print Markdown.")
    parser.add_argument("--rounds", type=int, default=11)
    args = parser.parse_args()
    print("## CPU resize\n")
    print(cpu_resize.run(args.rounds))


if __name__ == "__main__":
    main()
