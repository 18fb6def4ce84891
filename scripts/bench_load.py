"""Time loading and validating the London areas and the NHS sites.

Reads the London LSOA boundaries and mid-2020 population, the three NHS Choices
organisation files limited to London (1 km), validates them, and prints the
time of each step and the peak memory. Run from the repository root::

    python scripts/bench_load.py            # best of 3 runs
    python scripts/bench_load.py --repeat 5 --data ../shared/data
"""

from __future__ import annotations

import argparse
import gc
import platform
import resource
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_once(data: Path) -> tuple[dict[str, float], dict[str, int]]:
    from polygeo.io import read_areas, read_sites
    from polygeo.validate import validate

    times: dict[str, float] = {}
    start = time.perf_counter()
    areas = read_areas(
        data / "london" / "london-2011-lsoa-gen20.shp",
        data / "london" / "london-mid2020-pop.csv",
        id="LSOA11CD",
        population_column="Persons_All-Ages",
        group="LAD11NM",
    )
    times["read_areas"] = time.perf_counter() - start
    t = time.perf_counter()
    sites = read_sites(
        [data / "nhs" / f for f in ("GPPractices.csv", "Hospital.csv", "Clinics.csv")],
        study_area=areas,
        within_m=1000,
    )
    times["read_sites"] = time.perf_counter() - t
    t = time.perf_counter()
    report = validate(areas, sites)
    times["validate"] = time.perf_counter() - t
    times["total"] = time.perf_counter() - start
    counts = {
        "areas": len(areas),
        "population": int(areas["population"].sum()),
        "sites": len(sites),
        "errors": len(report.errors),
        "warnings": len(report.warnings),
    }
    return times, counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data",
        type=Path,
        default=ROOT.parent / "shared" / "data",
        help="the shared data folder (default ../shared/data from the repo root)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs; the best is reported")
    args = parser.parse_args(argv)

    t = time.perf_counter()
    import polygeo.io  # imported apart: import time is reported on its own
    import polygeo.validate  # noqa: F401

    imports = time.perf_counter() - t
    runs = []
    for _ in range(args.repeat):
        gc.collect()
        runs.append(run_once(args.data))
    best = min(runs, key=lambda r: r[0]["total"])
    tracemalloc.start()
    run_once(args.data)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux

    print(f"python {platform.python_version()} on {platform.machine()}, {args.repeat} runs")
    print(f"imports          {imports:6.2f} s (once)")
    cold = imports + runs[0][0]["total"]
    print(f"cold             {cold:6.2f} s  (imports + first run, as `polygeo validate` pays it)")
    for step, seconds in best[0].items():
        spread = ", ".join(f"{r[0][step]:.2f}" for r in runs)
        print(f"{step:<16} {seconds:6.2f} s  (runs: {spread})")
    print(f"peak traced      {traced_peak / 2**20:6.0f} MiB (tracemalloc, one run)")
    print(f"peak RSS         {rss:6.0f} MiB (process)")
    print("counts           " + ", ".join(f"{k} {v:,}" for k, v in best[1].items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
