"""Size of map.html with and without each weight-saving technique, from an output folder.

Usage: python scripts/bench_map_size.py OUTPUT_DIR   (a folder `polygeo run` wrote)

Techniques: outline simplification (`simplify_m`), the areas-by-travel-time layer
(one polygon per area), rounding coordinates to 5 decimals (~1 m; always on).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import geopandas as gpd
import pandas as pd

from polygeo.maps import catchment_map, map_page


def main(folder: Path) -> None:
    summary = json.loads((folder / "summary.json").read_text())
    hubs = pd.read_csv(folder / "hubs.csv", dtype={"site_id": str})
    assignments = pd.read_csv(folder / "assignments.csv", dtype={"area_id": str, "site_id": str})
    gpkg = folder / "catchments.gpkg"
    areas = gpd.read_file(gpkg, layer="areas").drop(columns=["site_id", "minutes", "exception"])
    sites = gpd.read_file(gpkg, layer="sites")
    print(f"{len(areas):,} areas, {len(hubs)} hubs, {len(sites):,} sites")
    for simplify_m in (0.0, 10.0, 25.0, 50.0):
        for travel_times in (True, False):
            start = time.perf_counter()
            m = catchment_map(
                assignments,
                hubs,
                areas,
                sites,
                crs=summary["crs"],
                title="size",
                simplify_m=simplify_m,
                travel_times=travel_times,
            )
            size = len(map_page(m).encode("utf-8"))
            print(
                f"simplify {simplify_m:>4g} m, travel-time layer "
                f"{'on ' if travel_times else 'off'}:"
                f" {size / 1e6:5.2f} MB in {time.perf_counter() - start:4.1f} s"
            )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
