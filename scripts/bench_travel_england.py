"""England straight-line travel times: 32,844 LSOAs x every English NHS site with coordinates.

Loads the LSOA population-weighted centroids (lsoa11-england.csv, read_areas)
and the three NHS Choices files (read_sites, no study-area cut), computes
straight-line times at 3.12 min/km within 30 minutes, then again with per-pair
limits (IMD deciles 1-2 at 20 minutes, hospitals at 45), and prints the time
of each step (wall time from process start, imports included) and the peak
RSS. Run from the repository root::

    python scripts/bench_travel_england.py
"""

from __future__ import annotations

import time

START = time.perf_counter()

import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from bench_travel_common import NHS_FILES, Steps, header, parser  # noqa: E402


def describe(table, n_areas: int) -> str:
    per_area = np.bincount(table["area_id"].cat.codes, minlength=n_areas)
    return (
        f"pairs {len(table):,}; areas with a site in reach {int((per_area > 0).sum()):,} of "
        f"{n_areas:,}; sites per area median {int(np.median(per_area))}, max {per_area.max()}; "
        f"table {table.memory_usage(deep=True).sum() / 2**20:.0f} MiB"
    )


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__)
    p.add_argument("--minutes-per-km", type=float, default=3.12)
    p.add_argument("--limit", type=float, default=30.0)
    args = p.parse_args(argv)
    data = args.data
    steps = Steps(START)
    from polygeo.io import read_areas, read_sites
    from polygeo.travel import StraightLine, TravelLimit, write_table

    steps("imports")
    areas = read_areas(
        points=data / "england" / "lsoa11-england.csv",
        id="LSOA11CD",
        population_column="population_mid2017",
        keep=["imd_decile"],
    )
    steps("read_areas")
    sites = read_sites([data / "nhs" / f for f in NHS_FILES])
    steps("read_sites")
    provider = StraightLine(args.minutes_per_km)
    table = provider.travel_times(areas, sites, TravelLimit(args.limit), progress=False)
    steps(f"travel_times ({args.limit:g} min)")
    first = describe(table, len(areas))
    with tempfile.TemporaryDirectory() as tmp:
        path = write_table(table, Path(tmp) / "england.parquet")
        size = path.stat().st_size
        steps("write_table")
    del table
    limit = TravelLimit.from_area_column(
        areas, "imd_decile", {1: 20, 2: 20}, minutes=args.limit, per_kind={"hospital": 45}
    )
    mixed = provider.travel_times(areas, sites, limit, progress=False)
    steps("travel_times (per-pair limits)")

    header(
        f"England straight line: {len(areas):,} areas x {len(sites):,} sites, "
        f"{args.minutes_per_km} min/km"
    )
    print(f"  sites by kind: {sites['kind'].value_counts().to_dict()}")
    print(f"  limit {args.limit:g} min: {first}; Parquet {size / 2**20:.0f} MiB")
    print(f"  limit {limit.describe()}: {describe(mixed, len(areas))}")
    steps.report()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
