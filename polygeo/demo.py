"""The built-in demo region: a deterministic synthetic county, made offline.

"Demoshire" has a few hundred small areas (LSOA-like: ~1,650 people each, with a
realistic spread) in five boroughs around towns of different sizes, a
deprivation decile per area, and candidate hub sites of several kinds (GP
practices, hospitals, clinics, community sites). :func:`write_demo` writes it
in the formats real data is published in (polygon GeoPackage, an ONS-style
population CSV with thousands separators, site CSVs with eastings/northings)
together with a scenario file, so the demo exercises the same loaders as real
data.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from polygeo.outputs import write_atomic, write_csv, write_text

DEMO_CRS = "EPSG:27700"
#: South-west corner of the region in British National Grid metres.
ORIGIN = (430_000.0, 290_000.0)
WIDTH_M, HEIGHT_M = 24_000.0, 18_000.0

# name, centre as a share of width/height, share of areas, spread (m)
_TOWNS = [
    ("Kingsford", (0.30, 0.55), 0.34, 3200.0),
    ("Ashby Vale", (0.72, 0.68), 0.22, 2600.0),
    ("Milltown", (0.70, 0.22), 0.18, 2300.0),
    ("Northwick", (0.22, 0.85), 0.10, 2000.0),
    ("Southmere", (0.20, 0.15), 0.08, 2000.0),
]
_RURAL_SHARE = 0.08
_SITES_PER_KIND = {"gp": 48, "clinic": 14, "community": 8}


@dataclass(frozen=True)
class DemoRegion:
    """The demo region's tables, in British National Grid."""

    areas: gpd.GeoDataFrame  # area_code, borough, imd_decile, pwc_x, pwc_y, geometry
    population: pd.DataFrame  # area_code, population
    sites: dict[str, gpd.GeoDataFrame]  # kind -> code, name, easting, northing


def make_demo_region(n_areas: int = 360, seed: int = 2008) -> DemoRegion:
    """Generate the demo region.

    Parameters
    ----------
    n_areas
        Number of small areas.
    seed
        Random seed; the same seed gives the same region.

    Returns
    -------
    DemoRegion
    """
    rng = np.random.default_rng(seed)
    x0, y0 = ORIGIN
    centres = np.array([(x0 + fx * WIDTH_M, y0 + fy * HEIGHT_M) for _, (fx, fy), _, _ in _TOWNS])

    n_rural = round(n_areas * _RURAL_SHARE)
    counts = np.floor(np.array([t[2] for t in _TOWNS]) * (n_areas - n_rural) / 0.92).astype(int)
    counts[0] += n_areas - n_rural - counts.sum()
    seeds = [rng.uniform((x0, y0), (x0 + WIDTH_M, y0 + HEIGHT_M), size=(n_rural, 2))]
    for (_, _, _, spread), centre, count in zip(_TOWNS, centres, counts, strict=True):
        seeds.append(centre + rng.normal(0.0, spread, size=(count, 2)))
    points = np.vstack(seeds)
    points[:, 0] = np.clip(points[:, 0], x0 + 50, x0 + WIDTH_M - 50)
    points[:, 1] = np.clip(points[:, 1], y0 + 50, y0 + HEIGHT_M - 50)
    points = _spread_apart(points, min_gap=120.0)

    frame = shapely.box(x0, y0, x0 + WIDTH_M, y0 + HEIGHT_M)
    cells = shapely.voronoi_polygons(shapely.multipoints(points), extend_to=frame, ordered=True)
    polygons = shapely.intersection(np.asarray(shapely.get_parts(cells)), frame)

    borough_idx = np.argmin(
        np.linalg.norm(points[:, None, :] - centres[None, :, :], axis=2), axis=1
    )
    # sort areas by borough, then west to east, for readable codes
    sort = np.lexsort((points[:, 0], borough_idx))
    points, polygons, borough_idx = points[sort], polygons[sort], borough_idx[sort]

    population = np.clip(rng.normal(1650, 260, size=n_areas), 1000, 2900).round().astype(int)
    dist_main = np.linalg.norm(points - centres[0], axis=1)
    deprivation_score = -dist_main / 1000.0 + rng.normal(0, 2.5, size=n_areas)
    deciles = pd.qcut(-deprivation_score, 10, labels=False).astype(int) + 1  # 1 = most deprived

    centroids = shapely.get_coordinates(shapely.centroid(polygons))
    pwc = centroids + 0.25 * (points - centroids)  # population leans towards the seed point
    codes = [f"D01{n:06d}" for n in range(1, n_areas + 1)]
    boroughs = [_TOWNS[b][0] for b in borough_idx]
    areas = gpd.GeoDataFrame(
        {
            "area_code": codes,
            "area_name": [
                f"{b} {n:03d}" for b, n in zip(boroughs, _rank_within(borough_idx), strict=True)
            ],
            "borough": boroughs,
            "imd_decile": deciles,
            "pwc_x": pwc[:, 0].round(1),
            "pwc_y": pwc[:, 1].round(1),
        },
        geometry=shapely.set_precision(polygons, 0.1),
        crs=DEMO_CRS,
    )
    pop = pd.DataFrame({"area_code": codes, "population": population})
    sites = _make_sites(rng, points, population, centres)
    return DemoRegion(areas=areas, population=pop, sites=sites)


def _spread_apart(points: np.ndarray, *, min_gap: float) -> np.ndarray:
    """Nudge seed points so no two coincide (Voronoi cells stay sensible)."""
    from scipy.spatial import cKDTree

    points = points.copy()
    for _ in range(5):
        pairs = cKDTree(points).query_pairs(min_gap, output_type="ndarray")
        if len(pairs) == 0:
            break
        points[pairs[:, 1]] += min_gap
    return points


def _rank_within(groups: np.ndarray) -> list[int]:
    seen: dict[int, int] = {}
    ranks = []
    for g in groups:
        seen[g] = seen.get(g, 0) + 1
        ranks.append(seen[g])
    return ranks


def _make_sites(
    rng: np.random.Generator, points: np.ndarray, population: np.ndarray, centres: np.ndarray
) -> dict[str, gpd.GeoDataFrame]:
    weights = population / population.sum()
    sites: dict[str, gpd.GeoDataFrame] = {}
    prefix = {"gp": "G", "clinic": "C", "community": "M", "hospital": "H"}
    label = {"gp": "Medical Practice", "clinic": "Health Clinic", "community": "Community Centre"}
    for kind, count in _SITES_PER_KIND.items():
        at = rng.choice(len(points), size=count, replace=False, p=weights)
        xy = points[at] + rng.normal(0, 150, size=(count, 2))
        names = [f"{_street(rng)} {label[kind]}" for _ in range(count)]
        sites[kind] = _site_table(prefix[kind], names, xy)
    hospital_xy = centres[[0, 1, 2, 3]] + rng.normal(0, 400, size=(4, 2))
    names = [f"{town} General Hospital" for town, *_ in _TOWNS[:4]]
    sites["hospital"] = _site_table("H", names, hospital_xy)
    return sites


_STREETS = [
    "Church",
    "Mill",
    "Station",
    "Park",
    "High",
    "Market",
    "Bridge",
    "Victoria",
    "Queens",
    "Kings",
    "Orchard",
    "Meadow",
    "Castle",
    "Abbey",
    "Elm",
    "Oak",
]


def _street(rng: np.random.Generator) -> str:
    return f"{_STREETS[rng.integers(len(_STREETS))]} Road"


def _site_table(prefix: str, names: list[str], xy: np.ndarray) -> gpd.GeoDataFrame:
    codes = [f"{prefix}{n:04d}" for n in range(1, len(names) + 1)]
    return gpd.GeoDataFrame(
        {"code": codes, "name": names, "easting": xy[:, 0].round(), "northing": xy[:, 1].round()},
        geometry=gpd.points_from_xy(xy[:, 0].round(), xy[:, 1].round()),
        crs=DEMO_CRS,
    )


def demo_scenario_text() -> str:
    """The demo's scenario file (TOML), reading the files :func:`write_demo` writes."""
    return """\
# Demoshire: polygeo's built-in synthetic region (see polygeo/demo.py).
name = "Demoshire"
crs = "EPSG:27700"
sites_within_m = 1000

[areas]
boundaries = "areas.gpkg"
population = "population.csv"
id = "area_code"
population_id = "Area Codes"
population_column = "All Ages"
group = "borough"
keep = ["imd_decile"]
origin_x = "pwc_x"
origin_y = "pwc_y"

[[sites]]
path = "hospital.csv"
kind = "hospital"
id = "code"

[[sites]]
path = "clinic.csv"
kind = "clinic"
id = "code"

[[sites]]
path = "community.csv"
kind = "community"
id = "code"

[[sites]]
path = "gp.csv"
kind = "gp"
id = "code"

[travel]
provider = "straight_line"
minutes_per_km = 3.12
intercept_minutes = 0
limit_minutes = 20

[rules]
min_population = 50000

[solver]
# the demo stops within 1% of the optimum, proven by polygeo's bound (or after 40 s)
name = "highs"
time_limit = 40
gap = 0.01

[output]
dir = "out"
"""


def write_demo(folder: str | Path, *, n_areas: int = 360, seed: int = 2008) -> Path:
    """Write the demo region and its scenario file into ``folder``.

    Parameters
    ----------
    folder
        Where to write (created if needed).
    n_areas, seed
        Passed to :func:`make_demo_region`.

    Returns
    -------
    Path
        The scenario file, ``folder/scenario.toml``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    region = make_demo_region(n_areas=n_areas, seed=seed)
    write_atomic(
        folder / "areas.gpkg",
        lambda tmp: region.areas.to_file(tmp, driver="GPKG", layer="areas"),
    )
    # population as ONS publishes it: a code column and counts with thousands separators
    published = pd.DataFrame(
        {
            "Area Codes": region.population["area_code"],
            "All Ages": [f"{v:,}" for v in region.population["population"]],
        }
    )
    write_csv(folder / "population.csv", published)
    for kind, table in region.sites.items():
        write_csv(folder / f"{kind}.csv", pd.DataFrame(table.drop(columns="geometry")))
    scenario = folder / "scenario.toml"
    write_text(scenario, demo_scenario_text())
    return scenario
