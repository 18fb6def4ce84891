"""Helpers shared by the travel benchmarks (scripts/bench_travel_*.py); not a benchmark itself."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data"
NHS_FILES = ("GPPractices.csv", "Hospital.csv", "Clinics.csv")


def parser(doc: str) -> argparse.ArgumentParser:
    """Argument parser with ``--data`` (the shared data folder)."""
    p = argparse.ArgumentParser(description=doc.splitlines()[0])
    p.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA,
        help="the shared data folder (default ../shared/data beside the repo)",
    )
    return p


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine() -> str:
    """One line: CPU count, memory, Python, date."""
    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        mem = float("nan")
    return (
        f"{os.cpu_count()} cores, {mem:.0f} GiB, Python {platform.python_version()}, "
        f"{platform.system()} {platform.machine()}, {dt.date.today().isoformat()}"
    )


class Steps:
    """Wall time of named steps, from a start time taken before the heavy imports."""

    def __init__(self, start: float) -> None:
        self.start = start
        self.last = start
        self.times: dict[str, float] = {}

    def __call__(self, name: str) -> None:
        now = time.perf_counter()
        self.times[name] = now - self.last
        self.last = now

    def report(self) -> None:
        for name, seconds in self.times.items():
            print(f"  {name:<32} {seconds:7.2f} s")
        print(f"  {'total wall (process)':<32} {time.perf_counter() - self.start:7.2f} s")
        print(f"  {'peak RSS':<32} {peak_rss_mib():7.0f} MiB")


def header(title: str) -> None:
    print(title)
    print("  " + machine())
    print("  command: python " + " ".join(sys.argv))
