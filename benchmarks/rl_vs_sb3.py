"""Moved into the package: `modelbook bench rl [--quick]` (src/modelbook/bench/rl.py). This wrapper runs that command,
so the result is stored and shown by `modelbook results` like every other benchmark.

    .venv/bin/python benchmarks/rl_vs_sb3.py [--quick] [--json]
"""
import sys

from modelbook.cli import main

if __name__ == "__main__":
    sys.argv = ["modelbook", "bench", "rl", *sys.argv[1:]]
    main()
