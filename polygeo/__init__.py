"""polygeo: plan health-care catchments (polysystems) and site polyclinic hubs.

The flow, each step plain data in and out::

    areas = polygeo.read_areas("lsoa.shp", "population.csv", id="LSOA11CD",
                               population_column="Persons_All-Ages", group="LAD11NM")
    sites = polygeo.read_sites([{"path": "Hospital.csv", "kind": "hospital"}], study_area=areas)
    report = polygeo.validate(areas, sites)
    table = polygeo.travel.StraightLine(minutes_per_km=3.12).travel_times(
        areas, sites, limit=polygeo.travel.TravelLimit(20))
    plan = polygeo.solve(areas, sites, table, polygeo.Rules(min_population=50_000))
    assert not polygeo.check(plan, areas, sites, table, polygeo.Rules())
"""

from __future__ import annotations

import logging

from polygeo import travel
from polygeo.check import check
from polygeo.demo import make_demo_region, write_demo
from polygeo.errors import CRSError, InfeasibleError, InputError, PolygeoError, SolverError
from polygeo.io import read_areas, read_sites
from polygeo.maps import plan_map
from polygeo.optimise import Rules, SolverSettings, diagnose, solve
from polygeo.outputs import write_plan
from polygeo.pipeline import load_inputs, run_scenario
from polygeo.plan import Plan
from polygeo.scenario import Scenario, load_scenario
from polygeo.validate import ValidationReport, validate

# Imported eagerly, not lazily: ``validate`` and ``check`` name both a module and
# a function, and a lazy export would be shadowed by the module once imported.

__version__ = "0.1.0"

# quiet by default: applications (the CLI, a notebook) choose what to show
logging.getLogger("polygeo").addHandler(logging.NullHandler())

__all__ = [
    "CRSError",
    "InfeasibleError",
    "InputError",
    "Plan",
    "PolygeoError",
    "Rules",
    "Scenario",
    "SolverError",
    "SolverSettings",
    "ValidationReport",
    "__version__",
    "check",
    "diagnose",
    "load_inputs",
    "load_scenario",
    "make_demo_region",
    "plan_map",
    "read_areas",
    "read_sites",
    "run_scenario",
    "show_versions",
    "solve",
    "travel",
    "validate",
    "write_demo",
    "write_plan",
]


def show_versions() -> None:
    """Print the versions of polygeo, Python and the libraries it uses."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    print(f"polygeo   {__version__}")
    print(f"python    {platform.python_version()} ({platform.platform()})")
    for lib in [
        "geopandas",
        "shapely",
        "pyproj",
        "pyogrio",
        "pandas",
        "numpy",
        "scipy",
        "pulp",
        "highspy",
        "folium",
        "rtree",
        "networkx",
        "pyarrow",
        "dask",
    ]:
        try:
            print(f"{lib:9s} {version(lib)}")
        except PackageNotFoundError:
            print(f"{lib:9s} not installed")
