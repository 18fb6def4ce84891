"""Time the `polygeo` commands end to end on the real London data and the demo.

Usage (from the repository root, with ../shared/data beside it):
    python scripts/bench_cli.py [--run-north-east] [--time-limit 300]

Each command runs as a separate process, as a user runs it; wall time and peak
RSS come from resource.getrusage of the child.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "data" / "scenarios"


def timed(args: list[str]) -> tuple[float, float, int]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "polygeo", *args], capture_output=True, text=True
    )
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return seconds, max(peak, before) / 1024, result.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-north-east", action="store_true", help="also time the NE run")
    parser.add_argument("--time-limit", type=float, default=300)
    ns = parser.parse_args()
    out = Path(tempfile.mkdtemp())
    print(f"python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} cores")
    print("peak MiB is the largest child so far (getrusage keeps a running maximum)")
    commands = [
        ("validate London", ["validate", str(SCENARIOS / "london.toml"), "--json"]),
        (
            "matrix London (20 min)",
            [
                "matrix",
                str(SCENARIOS / "london.toml"),
                "--out",
                str(out / "m.parquet"),
                "--no-progress",
                "-q",
            ],
        ),
        (
            "run London 15 min (diagnosis, exit 3)",
            [
                "run",
                str(SCENARIOS / "london-15min.toml"),
                "--out",
                str(out / "l15"),
                "--no-progress",
                "-q",
            ],
        ),
        ("demo", ["demo", "--out", str(out / "demo"), "--no-progress", "-q"]),
    ]
    if ns.run_north_east:
        commands.append(
            (
                "run north-east London (20 min)",
                [
                    "run",
                    str(SCENARIOS / "london-north-east.toml"),
                    "--out",
                    str(out / "ne"),
                    "--time-limit",
                    str(ns.time_limit),
                    "--no-progress",
                    "-q",
                ],
            )
        )
    print(f"{'command':42s} {'wall s':>8s} {'peak MiB':>9s} exit")
    for label, args in commands:
        seconds, peak, code = timed(args)
        print(f"{label:42s} {seconds:8.1f} {peak:9.0f} {code:4d}")


if __name__ == "__main__":
    main()
