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

from polygeo.csv_safe import spreadsheet_safe
from polygeo.errors import InputError
from polygeo.geodata import is_polygonal, plan_layers
from polygeo.maps import catchment_colour, catchment_map, map_page
from polygeo.plan import ASSIGNMENT_COLUMNS, HUB_COLUMNS, _jsonable
from polygeo.report import render_report

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
    frame = spreadsheet_safe(frame)  # OWASP CSV injection: no cell runs as a formula
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
    report_html: bool = True,
    geoparquet: bool = False,
    timetable: pd.DataFrame | None = None,
    extra_summary: dict[str, Any] | None = None,
    tables: dict[str, pd.DataFrame] | None = None,
) -> dict[str, Path]:
    """Write a plan's files into ``folder`` (and nowhere else).

    Files (names and columns are a public contract):

    - ``assignments.csv``: ``area_id, site_id, minutes, exception`` (+ ``population``, ``group``
      and a ``*decile*`` column when the areas carry one)
    - ``hubs.csv``: ``site_id, name, kind, option, capital_cost, x, y, population, areas,
      mean_minutes, max_minutes`` (x/y in the output CRS)
    - ``summary.json``: rules, solver, coverage, hub population, minutes, capital, CRS,
      and the independent checker's verdict
    - ``catchments.gpkg``: layers ``areas``, ``catchments`` (dissolved, with the hub's
      name, kind, option, capital cost, mean / max minutes), ``hubs``, ``sites``
      (candidates, ``chosen``), in the CRS ``summary.json`` names (when the areas
      have polygons); with ``geoparquet`` also ``<layer>.parquet``
    - ``map.html``: a self-contained interactive map
    - ``<name>.csv`` for every frame in ``tables`` (e.g. ``timetable.csv``)
    - ``report.html``: a self-contained report; its Timetable section shows ``timetable``
      (or ``tables["timetable"]``) when given, else ``timetable.csv`` when the folder
      already holds one

    ``extra_summary`` blocks (``evaluation``, ``timetable``...) join ``summary.json``.

    Returns
    -------
    dict
        File role -> path.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    crs = plan.crs or areas.crs

    extra = ["area_id", "population"] + (["group"] if "group" in areas else [])
    extra += [c for c in areas.columns if "decile" in str(c).lower() and c not in extra]
    assignments = plan.assignments.merge(areas[extra], on="area_id", how="left")
    files["assignments"] = write_csv(folder / "assignments.csv", assignments, ASSIGNMENT_COLUMNS)
    files["hubs"] = write_csv(folder / "hubs.csv", plan.hubs, HUB_COLUMNS)
    for name, frame in (tables or {}).items():
        files[name] = write_csv(folder / f"{name}.csv", frame)

    summary = _summary(plan, areas, sites, scenario, violations, travel, crs)
    summary.update(_jsonable(extra_summary or {}))
    if timetable is None:
        timetable = (tables or {}).get("timetable")
    layers = plan_layers(plan.assignments, plan.hubs, areas, sites, crs=crs)
    if geodata and is_polygonal(areas):
        files["geodata"] = write_layers(folder / "catchments.gpkg", layers)
    if geoparquet:
        for name, layer in layers.items():
            files[f"geoparquet_{name}"] = write_atomic(
                folder / f"{name}.parquet", lambda tmp, layer=layer: layer.to_parquet(tmp)
            )
    title = summary.get("scenario")
    min_population = getattr(plan.rules, "min_population", None)
    if map_html:
        files["map"] = write_map(
            folder / "map.html",
            plan.assignments,
            plan.hubs,
            areas,
            sites,
            crs=crs,
            title=title,
            min_population=min_population,
            catchments=layers["catchments"],
        )
    summary["files"] = {k: p.name for k, p in files.items()} | {"summary": "summary.json"}
    if report_html:
        summary["files"]["report"] = "report.html"
    files["summary"] = write_json(folder / "summary.json", summary)
    if report_html:
        files["report"] = write_report(
            folder / "report.html",
            summary,
            plan.hubs,
            assignments,
            layers["catchments"],
            timetable=timetable,
            timetable_path=folder / "timetable.csv",
        )
    return files


def _summary(
    plan: Any,
    areas: Any,
    sites: Any,
    scenario: Any,
    violations: list[Any] | None,
    travel: dict[str, Any] | None,
    crs: Any,
) -> dict[str, Any]:
    summary = dict(plan.summary())
    if scenario is not None:
        summary = {"scenario": scenario.name, **summary}
    summary["crs"] = str(crs) if crs is not None else None
    if travel is not None:
        summary["travel"] = {k: v for k, v in travel.items() if not isinstance(v, dict | list)}
    summary["inputs"] = {
        "areas": int(len(areas)),
        "population": _whole(float(areas["population"].sum())),
        "sites": int(len(sites)) if sites is not None else 0,
    }
    if violations is not None:
        summary["check"] = {
            "valid": not violations,
            "violations": [getattr(v, "message", str(v)) for v in violations],
        }
    return summary


def write_layers(path: str | Path, layers: dict[str, Any]) -> Path:
    """Write GeoDataFrames as the layers of one GeoPackage, atomically."""

    def _write_gpkg(tmp: Path) -> None:
        for name, layer in layers.items():
            layer.to_file(tmp, driver="GPKG", layer=name)

    return write_atomic(path, _write_gpkg)


def write_map(
    path: str | Path,
    assignments: pd.DataFrame,
    hubs: pd.DataFrame,
    areas: Any,
    sites: Any,
    **kwargs: Any,
) -> Path:
    """Write the self-contained ``map.html`` (see :func:`polygeo.maps.catchment_map`)."""
    m = catchment_map(assignments, hubs, areas, sites, **kwargs)
    return write_text(path, map_page(m))


def write_report(
    path: str | Path,
    summary: dict[str, Any],
    hubs: pd.DataFrame,
    assignments: pd.DataFrame,
    catchments: Any = None,
    *,
    timetable: pd.DataFrame | None = None,
    timetable_path: Path | None = None,
) -> Path:
    """Write ``report.html``; ``timetable`` (or an existing ``timetable_path``) adds a section."""
    if timetable is None and timetable_path is not None and timetable_path.exists():
        timetable = pd.read_csv(timetable_path)
    colours = (
        [catchment_colour(i) for i in range(int(catchments["colour"].max()) + 1)]
        if (catchments is not None and len(catchments))
        else None
    )
    page = render_report(
        summary, hubs, assignments, catchments=catchments, timetable=timetable, colours=colours
    )
    return write_text(path, page)


def rebuild_pages(folder: str | Path, *, map_html: bool = True) -> dict[str, Path]:
    """Rebuild ``report.html`` (and ``map.html``) from the files of an output folder.

    Reads ``summary.json``, ``hubs.csv``, ``assignments.csv``, ``catchments.gpkg``
    (for the maps) and ``timetable.csv`` when present; writes only into ``folder``.

    Raises
    ------
    InputError
        When the folder lacks a file the report needs.
    """
    import geopandas as gpd

    folder = Path(folder)
    needed = ["summary.json", "hubs.csv", "assignments.csv"]
    missing = [name for name in needed if not (folder / name).is_file()]
    if missing:
        raise InputError(
            f"{folder}: not a polygeo output folder, it lacks {', '.join(missing)}. "
            "Give the folder that `polygeo run` wrote."
        )
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    hubs = pd.read_csv(
        folder / "hubs.csv", dtype={"site_id": str, "name": str, "kind": str, "option": str}
    )
    assignments = pd.read_csv(folder / "assignments.csv", dtype={"area_id": str, "site_id": str})
    files: dict[str, Path] = {}
    catchments = None
    gpkg = folder / "catchments.gpkg"
    if gpkg.is_file():
        areas = gpd.read_file(gpkg, layer="areas")
        areas["area_id"] = areas["area_id"].astype(str)
        sites = None
        if "sites" in set(gpd.list_layers(gpkg)["name"]):
            sites = gpd.read_file(gpkg, layer="sites")
        catchments = gpd.read_file(gpkg, layer="catchments")
        if map_html:
            rules = summary.get("rules") or {}
            files["map"] = write_map(
                folder / "map.html",
                assignments,
                hubs,
                areas.drop(columns=["site_id", "minutes", "exception"], errors="ignore"),
                sites,
                crs=summary.get("crs"),
                title=summary.get("scenario"),
                min_population=rules.get("min_population"),
                catchments=catchments,
            )
    files["report"] = write_report(
        folder / "report.html",
        summary,
        hubs,
        assignments,
        catchments,
        timetable_path=folder / "timetable.csv",
    )
    return files


def _whole(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value
