"""``python -m benchmarks [--quick] [--latency-ms N] [--out PATH] [--skip-scale-out]``: run them, print the table."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys
from pathlib import Path

from benchmarks.runner import run
from benchmarks.scenarios import FULL, QUICK

RESULTS = Path(__file__).resolve().parent / "results"


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run, and return 1 when a figure could not be measured (timings never fail it)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description="Benchmark claim-extractor.")
    parser.add_argument("--quick", action="store_true", help="small counts, short latency: proves the harness")
    parser.add_argument("--latency-ms", type=float, default=None, help="fake provider latency (300, quick 50)")
    parser.add_argument("--out", type=Path, default=None, help="results path without suffix (.json and .md)")
    parser.add_argument(
        "--skip-scale-out", action="store_true", help="leave out the worker and shared-rpm figures (~3 minutes, Redis)"
    )
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    if args.latency_ms is not None:
        plan = dataclasses.replace(plan, latency_ms=args.latency_ms)
    out = args.out or RESULTS / ("quick" if args.quick else "latest")
    document = asyncio.run(run(plan, args.quick, out, scale_out=not args.skip_scale_out))
    failed = [key for key, values in document["figures"].items() if "error" in values]
    if failed:
        print(f"figures not measured: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
