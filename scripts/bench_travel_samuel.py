"""SAMueL LSOA x stroke-unit road-time matrix: load time, matching, and straight-line calibration.

Reads the wide matrix (34,752 LSOA names x 125 hospital postcodes, zipped CSV)
with the LSOA name -> code lookup, matches it to the 32,844 English LSOAs
(population-weighted centroids) and the 142 stroke units (site_id = Postcode),
prints what did not match, and fits the straight-line model to the known
times: all pairs, pairs up to 15 and 30 km (the planning range), and through
the origin; and for the London LSOAs only (local authority E09*). Run from
the repository root::

    python scripts/bench_travel_samuel.py
"""

from __future__ import annotations

import time

START = time.perf_counter()

from bench_travel_common import Steps, header, parser  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    args = parser(__doc__).parse_args(argv)
    england = args.data / "england"
    steps = Steps(START)
    from polygeo.io import read_areas, read_sites
    from polygeo.travel import ExternalMatrix, calibrate

    steps("imports")
    areas = read_areas(
        points=england / "lsoa11-england.csv",
        id="LSOA11CD",
        population_column="population_mid2017",
        keep=["lad22cd"],
    )
    london = areas[areas["lad22cd"].astype(str).str.startswith("E09")].reset_index(drop=True)
    sites = read_sites(
        england / "stroke-units-2022.csv",
        id="Postcode",
        name="Hospital_name",
        kind="hospital",
        x="Easting",
        y="Northing",
    )
    steps("read_areas + read_sites")
    matrix = ExternalMatrix.read(
        england / "lsoa11-stroke-unit-road-minutes.zip",
        origin_lookup=(england / "lsoa11-names-codes.csv", "lsoa", "lsoa_code"),
    )
    steps("ExternalMatrix.read (+lookup)")
    known = matrix.travel_times(areas, sites)
    steps("travel_times (match, no limit)")
    fits = {
        "all pairs": calibrate(areas, sites, known),
        "up to 30 km": calibrate(areas, sites, known, max_km=30),
        "up to 15 km": calibrate(areas, sites, known, max_km=15),
        "up to 15 km, through origin": calibrate(
            areas, sites, known, max_km=15, through_origin=True
        ),
        "London LSOAs, up to 15 km": calibrate(london, sites, known, max_km=15),
        "London LSOAs, up to 15 km, origin": calibrate(
            london, sites, known, max_km=15, through_origin=True
        ),
    }
    steps(f"{len(fits)} calibrations")

    header(f"SAMueL matrix: {matrix!r}")
    print("  " + matrix.last_report.format_text().replace("\n", "\n  "))
    print(f"  table {len(known):,} pairs, {known.memory_usage(deep=True).sum() / 2**20:.0f} MiB")
    print(
        f"  {'fit':<34} {'n':>10} {'intercept':>9} {'min/km':>7} {'km/h':>5} "
        f"{'MAE':>6} {'bias':>6} {'RMSE':>6} {'R^2':>6}"
    )
    for name, c in fits.items():
        print(
            f"  {name:<34} {c.n_pairs:>10,} {c.intercept_minutes:>9.2f} {c.minutes_per_km:>7.3f} "
            f"{c.speed_kmh:>5.1f} {c.mae:>6.2f} {c.bias:>+6.2f} {c.rmse:>6.2f} {c.r2:>6.3f}"
        )
    steps.report()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
