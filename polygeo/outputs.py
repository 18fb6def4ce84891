"""Writing results: every file is written to a temporary name and moved into place."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from polygeo.plan import ASSIGNMENT_COLUMNS, HUB_COLUMNS, _jsonable

# the public contract of assignments.csv and hubs.csv lives with the Plan


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it onto ``path`` only on success.

    A reader never sees a half-written file, and a failed write leaves any
    earlier file in place.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # keep the extension: drivers such as GPKG check it
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp_path, 0o666 & ~umask)  # mkstemp makes 0600; outputs are ordinary files
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_atomic(path: str | Path, write: Callable[[Path], Any]) -> Path:
    """Call ``write(tmp_path)`` and move the result onto ``path`` atomically."""
    with atomic_path(path) as tmp:
        write(tmp)
    return Path(path)


def write_text(path: str | Path, text: str) -> Path:
    """Write UTF-8 text atomically."""
    return write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_json(path: str | Path, data: Any) -> Path:
    """Write JSON (indented, UTF-8) atomically."""
    return write_text(path, json.dumps(data, indent=2, default=_json_default) + "\n")


def write_csv(path: str | Path, frame: pd.DataFrame, columns: list[str] | None = None) -> Path:
    """Write a CSV atomically, with the given columns first and in order."""
    if columns is not None:
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise KeyError(f"cannot write {Path(path).name}: missing columns {missing}")
        frame = frame[columns + [c for c in frame.columns if c not in columns]]
    return write_atomic(path, lambda tmp: frame.to_csv(tmp, index=False))


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return sorted(value) if isinstance(value, set | frozenset) else list(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def write_plan(
    plan: Any,
    folder: str | Path,
    *,
    areas: Any,
    sites: Any,
    scenario: Any = None,
    violations: list[Any] | None = None,
    travel: dict[str, Any] | None = None,
    geodata: bool = True,
    map_html: bool = True,
    extra_summary: dict[str, Any] | None = None,
    tables: dict[str, pd.DataFrame] | None = None,
) -> dict[str, Path]:
    """Write a plan's files into ``folder``.

    Files (names and columns are a public contract):

    - ``assignments.csv``: ``area_id, site_id, minutes, exception`` (+ ``population``, ``group``)
    - ``hubs.csv``: ``site_id, name, kind, option, capital_cost, x, y, population, areas,
      mean_minutes, max_minutes`` (x/y in the output CRS)
    - ``summary.json``: rules, solver, coverage, hub population, minutes, capital, CRS,
      and the independent checker's verdict
    - ``catchments.gpkg``: layers ``areas``, ``catchments`` (dissolved), ``hubs``
      (when the areas have polygons)
    - ``map.html``: an interactive folium map
    - ``<name>.csv`` for every frame in ``tables`` (e.g. ``timetable.csv``)

    ``extra_summary`` blocks (``evaluation``, ``timetable``...) join ``summary.json``.

    Returns
    -------
    dict
        File role -> path.
    """
    import geopandas as gpd

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}

    assignments = plan.assignments.copy()
    extra = areas[["area_id", "population"] + (["group"] if "group" in areas else [])]
    assignments = assignments.merge(extra, on="area_id", how="left")
    files["assignments"] = write_csv(folder / "assignments.csv", assignments, ASSIGNMENT_COLUMNS)
    files["hubs"] = write_csv(folder / "hubs.csv", plan.hubs, HUB_COLUMNS)
    for name, frame in (tables or {}).items():
        files[name] = write_csv(folder / f"{name}.csv", frame)

    summary = dict(plan.summary())
    if scenario is not None:
        summary = {"scenario": scenario.name, **summary}
    if travel is not None:
        summary["travel"] = {k: v for k, v in travel.items() if not isinstance(v, dict | list)}
    summary["inputs"] = {
        "areas": int(len(areas)),
        "population": _whole(float(areas["population"].sum())),
        "sites": int(len(sites)),
    }
    summary.update(_jsonable(extra_summary or {}))
    if violations is not None:
        summary["check"] = {
            "valid": not violations,
            "violations": [getattr(v, "message", str(v)) for v in violations],
        }

    geometry_types = set(areas.geometry.geom_type.unique())
    if geodata and geometry_types <= {"Polygon", "MultiPolygon"}:
        layers = catchment_layers(plan, areas, sites)
        path = folder / "catchments.gpkg"

        def _write_gpkg(tmp: Path) -> None:
            for name, layer in layers.items():
                assert isinstance(layer, gpd.GeoDataFrame)
                layer.to_file(tmp, driver="GPKG", layer=name)

        files["geodata"] = write_atomic(path, _write_gpkg)
    if map_html:
        from polygeo.maps import plan_map

        m = plan_map(plan, areas, sites)
        files["map"] = write_atomic(folder / "map.html", lambda tmp: m.save(str(tmp)))
    summary["files"] = {k: p.name for k, p in files.items()} | {"summary": "summary.json"}
    files["summary"] = write_json(folder / "summary.json", summary)
    return files


def catchment_layers(plan: Any, areas: Any, sites: Any) -> dict[str, Any]:
    """GeoDataFrames of the assigned areas, dissolved catchments and hub points."""
    import geopandas as gpd

    assigned = areas.merge(plan.assignments, on="area_id", how="left")
    assigned = gpd.GeoDataFrame(assigned, geometry="geometry", crs=areas.crs)
    keep = [
        c
        for c in ["area_id", "population", "group", "site_id", "minutes", "exception"]
        if c in assigned.columns
    ]
    area_layer = assigned[keep + ["geometry"]]
    catchments = (
        area_layer.dissolve(by="site_id", aggfunc={"population": "sum", "area_id": "count"})
        .rename(columns={"area_id": "areas"})
        .reset_index()
    )
    hubs = plan.hubs.copy()
    hub_layer = gpd.GeoDataFrame(
        hubs, geometry=gpd.points_from_xy(hubs["x"], hubs["y"]), crs=areas.crs
    )
    return {"areas": area_layer, "catchments": catchments, "hubs": hub_layer}


def _whole(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value
