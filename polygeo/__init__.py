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

import importlib
import logging
from typing import Any

from polygeo.errors import CRSError, InfeasibleError, InputError, PolygeoError, SolverError

__version__ = "0.1.0"

# quiet by default: applications (the CLI, a notebook) choose what to show
logging.getLogger("polygeo").addHandler(logging.NullHandler())

_LAZY = {
    "read_areas": "polygeo.io",
    "read_sites": "polygeo.io",
    "validate": "polygeo.validate",
    "ValidationReport": "polygeo.validate",
    "load_scenario": "polygeo.scenario",
    "Scenario": "polygeo.scenario",
    "run_scenario": "polygeo.pipeline",
    "load_inputs": "polygeo.pipeline",
    "solve": "polygeo.optimise",
    "diagnose": "polygeo.optimise",
    "Rules": "polygeo.optimise",
    "SolverSettings": "polygeo.optimise",
    "Plan": "polygeo.plan",
    "check": "polygeo.check",
    "plan_map": "polygeo.maps",
    "write_plan": "polygeo.outputs",
    "make_demo_region": "polygeo.demo",
    "write_demo": "polygeo.demo",
}

__all__ = [
    "CRSError",
    "InfeasibleError",
    "InputError",
    "PolygeoError",
    "SolverError",
    "__version__",
    "show_versions",
    "travel",
    *sorted(_LAZY),
]


def __getattr__(name: str) -> Any:
    """Import public names on first use, so ``import polygeo`` and the CLI start fast."""
    if name == "travel":
        return importlib.import_module("polygeo.travel")
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'polygeo' has no attribute {name!r}")


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
