"""Moved into the package: `modelbook bench decode [--quick]` (src/modelbook/bench/decode.py). This wrapper runs that command,
so the result is stored and shown by `modelbook results` like every other benchmark.

    .venv/bin/python benchmarks/decode.py [--quick] [--json]
"""
import sys

from modelbook.cli import main

if __name__ == "__main__":
    sys.argv = ["modelbook", "bench", "decode", *sys.argv[1:]]
    main()
