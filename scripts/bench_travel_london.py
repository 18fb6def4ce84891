"""London straight-line travel times: 4,835 LSOAs x the NHS sites within 1 km of London.

Loads the LSOA boundaries and mid-2020 population (polygeo.io.read_areas), the
three NHS Choices files limited to 1 km around London (read_sites), computes
straight-line times at 3.12 min/km within 20 minutes, writes and re-reads the
Parquet table, and prints the time of each step (wall time from process start,
imports included) and the peak RSS. Run from the repository root::

    python scripts/bench_travel_london.py
"""

from __future__ import annotations

import time

START = time.perf_counter()

import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from bench_travel_common import NHS_FILES, Steps, header, parser  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__)
    p.add_argument("--minutes-per-km", type=float, default=3.12)
    p.add_argument("--limit", type=float, default=20.0)
    p.add_argument(
        "--network",
        action="store_true",
        help="also time road-network times on the London MRN (30 km/h, access 15 km/h)",
    )
    args = p.parse_args(argv)
    data = args.data
    steps = Steps(START)
    from polygeo.io import read_areas, read_sites
    from polygeo.travel import RoadNetwork, StraightLine, TravelLimit, read_table, write_table

    steps("imports")
    areas = read_areas(
        data / "london" / "london-2011-lsoa-gen20.shp",
        data / "london" / "london-mid2020-pop.csv",
        id="LSOA11CD",
        population_column="Persons_All-Ages",
        group="LAD11NM",
    )
    steps("read_areas")
    sites = read_sites([data / "nhs" / f for f in NHS_FILES], study_area=areas, within_m=1000)
    steps("read_sites")
    provider = StraightLine(args.minutes_per_km)
    table = provider.travel_times(areas, sites, TravelLimit(args.limit), progress=False)
    steps("travel_times")
    with tempfile.TemporaryDirectory() as tmp:
        path = write_table(table, Path(tmp) / "london.parquet")
        steps("write_table")
        size = path.stat().st_size
        back = read_table(path, areas, sites)
        steps("read_table (aligned)")
    assert back.equals(table)
    if args.network:
        net = RoadNetwork.from_lines(data / "roads" / "london-2018-MRN.shp", speed_kmh=30)
        steps("RoadNetwork.from_lines (MRN)")
        by_road = net.travel_times(areas, sites, TravelLimit(args.limit), progress=False)
        steps("network travel_times")

    per_area = np.bincount(table["area_id"].cat.codes, minlength=len(areas))
    header(
        f"London straight line: {len(areas):,} areas x {len(sites):,} sites, "
        f"{args.minutes_per_km} min/km, limit {args.limit:g} min"
    )
    print(
        f"  pairs {len(table):,}; areas with a site in reach {int((per_area > 0).sum()):,} "
        f"of {len(areas):,}; sites per area min {per_area.min()}, median "
        f"{int(np.median(per_area))}, max {per_area.max()}"
    )
    print(
        f"  table {table.memory_usage(deep=True).sum() / 2**20:.1f} MiB in memory, "
        f"{size / 2**20:.1f} MiB Parquet"
    )
    print(f"  sites by kind: {sites['kind'].value_counts().to_dict()}")
    if args.network:
        reach = np.bincount(by_road["area_id"].cat.codes, minlength=len(areas))
        print(
            f"  MRN network ({net.components.format_text()}): {len(by_road):,} pairs within "
            f"{args.limit:g} min, areas in reach {int((reach > 0).sum()):,}; areas snapped "
            f"median {np.median(net.last_snap.area_snap_m):.0f} m, "
            f"{len(net.last_snap.areas_outside_largest)} off the largest component"
        )
    steps.report()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
