"""``read_sites``: candidate hub sites, one row per distinct location, in the working CRS."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from polygeo.crs import metric_crs, to_metric
from polygeo.errors import InputError
from polygeo.io._report import ERROR, WARNING, LoadReport, check_errors_mode, listing, plural
from polygeo.io._tables import (
    ColumnFinder,
    PathLike,
    Table,
    find_xy,
    id_strings,
    read_table,
    source_name,
    table_points,
)
from polygeo.schema import SITES as SITES_TABLE
from polygeo.schema import check_key_names

log = logging.getLogger("polygeo")

#: When rows of several kinds share a location, the site takes the first kind
#: in this list; kinds not listed come after, alphabetically.
KIND_PRIORITY = ("hospital", "clinic", "community", "gp")
#: NHS Choices ``OrganisationType`` -> kind (other types: lower case, ``_`` for spaces).
NHS_KINDS = {"gp practice": "gp", "gp": "gp", "hospital": "hospital", "clinic": "clinic"}
#: Columns recognised as the site id / name when not given (compared ignoring case and spaces).
ID_NAMES = ("site_id", "OrganisationCode", "organisation_code", "ods_code", "code", "id")
NAME_NAMES = ("name", "site_name", "OrganisationName", "organisation_name", "hospital_name")
#: Kind given to rows when no kind is given, found in a ``kind`` column or inferred.
DEFAULT_KIND = "site"
#: Keys a source dict may hold.
SOURCE_KEYS = tuple(SITES_TABLE.by_name)  # declared once, in polygeo.schema.SITES
_OUTPUT = ("site_id", "name", "kind", "kinds", "merged_rows", "source", "merged_ids")

SiteSource = PathLike | Mapping[str, Any]


def read_sites(
    sources: SiteSource | Sequence[SiteSource],
    *,
    kind: str | None = None,
    id: str | None = None,
    name: str | None = None,
    x: str | None = None,
    y: str | None = None,
    crs: Any = None,
    assume_crs: Any = None,
    study_area: gpd.GeoDataFrame | gpd.GeoSeries | shapely.Geometry | None = None,
    within_m: float = 1000.0,
    merge: bool = True,
    merge_tolerance_m: float = 1.0,
    errors: str = "raise",
) -> gpd.GeoDataFrame:
    """Read candidate sites from one or more files into the sites frame.

    Parameters
    ----------
    sources
        A path, or a list of paths and/or dicts ``{"path": ..., "kind": ...,
        "id": ..., "name": ..., "x": ..., "y": ..., "assume_crs": ..., "sheet":
        ..., "layer": ...}`` (a scenario file's ``[[sites]]`` tables). A file is a
        CSV/XLSX with coordinate columns, any vector format, or an NHS Choices
        organisation file as published (``¬``-separated, Latin-1; detected from
        its first line).
    kind, id, name, x, y, assume_crs
        Defaults for every source (a source dict overrides them). ``kind``: the
        kind of every row (``gp``, ``hospital``, ``clinic``, ``community``,
        ``new``...); otherwise a ``kind`` column, else the NHS
        ``OrganisationType`` (GP practice -> ``gp``, Hospital -> ``hospital``,
        Clinic -> ``clinic``), else ``"site"``. ``id``: the id column (default
        ``site_id``, ``OrganisationCode``, ``code`` or ``id`` when present).
        ``name``: the name column (default ``name``, ``OrganisationName``, ...).
        ``x``/``y``: coordinate columns (default found by name, as in
        :func:`read_areas`: easting/northing or x/y in ``assume_crs``, else in the
        working CRS; longitude/latitude in EPSG:4326).
    crs
        The working metric CRS (default EPSG:27700).
    study_area
        The areas (GeoDataFrame/GeoSeries; a bare geometry is taken to be in the
        working CRS). Sites farther than ``within_m`` metres from every area are
        dropped and counted.
    within_m
        Distance from the study area within which sites are kept.
    merge
        Merge rows at one location (within ``merge_tolerance_m``, across files)
        into one site: its ``kind`` is the highest in :data:`KIND_PRIORITY`,
        ``kinds`` lists every kind, ``merged_rows`` counts the rows, and
        ``site_id``, ``name`` and the other attributes come from the first row in
        source order that has them; ``merged_ids`` lists every id at the location
        (``;``-separated), and any of them names the site in ``required_sites`` /
        ``forbidden_sites``. Rows repeating one id at one location are
        always merged, even with ``merge=False``.
    merge_tolerance_m
        How close two rows must be to count as one location.
    errors
        ``"raise"`` or ``"collect"``, as in :func:`read_areas`.

    Returns
    -------
    geopandas.GeoDataFrame
        ``site_id``, ``name``, ``kind``, ``kinds``, ``merged_rows``, ``source``, ``merged_ids``
        (file of the first row), the files' other columns, Point ``geometry``.
        Without an id column a site's id is ``<kind>-<x>-<y>`` (metres, rounded).

    Raises
    ------
    InputError
        Missing columns; with ``errors="raise"``, one id used at two locations.
    """
    check_errors_mode(errors)
    target = metric_crs(crs)
    defaults = {"kind": kind, "id": id, "name": name, "x": x, "y": y, "assume_crs": assume_crs}
    specs = [_spec(s, defaults) for s in _as_list(sources)]
    if not specs:
        raise InputError("read_sites: no site files given; pass at least one path")
    report = LoadReport("sites", [_source_label(s["path"]) for s in specs])
    tables = [
        read_table(
            s["path"], str_columns=[*ID_NAMES, s["id"] or ""], sheet=s["sheet"], layer=s["layer"]
        )
        for s in specs
    ]
    finder = ColumnFinder()
    columns = [_columns(t, s, finder) for t, s in zip(tables, specs, strict=True)]
    finder.raise_if_missing()
    rows = pd.concat(
        [_rows(t, s, c, target, report) for t, s, c in zip(tables, specs, columns, strict=True)],
        ignore_index=True,
    )
    report.stats["rows_read"] = int(sum(len(t.frame) for t in tables))
    rows = _limit_to_study_area(rows, study_area, within_m, target, report)
    sites, site_of_row = _merge(rows, merge, merge_tolerance_m, target)
    _check_ids(sites, rows["_row"].to_numpy(), site_of_row, report)
    report.stats.update(sites=len(sites), merged_rows=int(sites["merged_rows"].sum()))
    sites.attrs["source"] = ", ".join(report.sources)
    sites.attrs["load_report"] = report.to_attrs()
    log.info("read %s from %s", plural(len(sites), "site"), sites.attrs["source"])
    report.log_summary("read_sites", raising=errors == "raise")
    if errors == "raise":
        report.raise_if_errors("read_sites")
    return sites


# -- sources ------------------------------------------------------------------


def _source_label(path: Any) -> str:
    return str(path) if isinstance(path, str | Path) else source_name(path)


def _as_list(sources: Any) -> list[Any]:
    if isinstance(sources, str | Path | Mapping | pd.DataFrame):
        return [sources]
    return list(sources)


def _spec(source: Any, defaults: dict[str, Any]) -> dict[str, Any]:
    spec = {**defaults, "sheet": None, "layer": None}
    if isinstance(source, Mapping):
        check_key_names(source, SITES_TABLE, f"site source {dict(source)!r}")
        spec.update({k: v for k, v in source.items() if v is not None})
    else:
        spec["path"] = source
    return spec


def _columns(table: Table, spec: dict[str, Any], finder: ColumnFinder) -> dict[str, Any]:
    cols: dict[str, Any] = {}
    for role, names in (("id", ID_NAMES), ("name", NAME_NAMES)):
        given = spec[role]
        cols[role] = finder.find(table, given, role) if given else finder.guess(table, names)
    cols["kind"] = None if spec["kind"] else finder.guess(table, ["kind"])
    cols["type"] = None if spec["kind"] else finder.guess(table, ["OrganisationType"])
    if not table.is_geo:
        cols["x"], cols["y"], cols["lonlat"] = find_xy(table, finder, spec["x"], spec["y"])
    return cols


def _rows(
    table: Table, spec: dict[str, Any], cols: dict[str, Any], target: CRS, report: LoadReport
) -> pd.DataFrame:
    """One source's rows: ``_id, name, kind, _x, _y, source, _row`` and its own columns."""
    frame = table.frame.reset_index(drop=True)
    if table.is_geo:
        geo = to_metric(frame, target, source=table.name, assume_crs=spec["assume_crs"])
        points = geo.geometry.to_numpy()
        missing = shapely.is_missing(points) | shapely.is_empty(points)
        points = np.where(missing, None, points)
        not_point = ~missing & (shapely.get_type_id(points) != 0)
        points[not_point] = shapely.centroid(points[not_point])
        xs, ys = shapely.get_x(points), shapely.get_y(points)
        attrs = pd.DataFrame(frame.drop(columns=frame.geometry.name))
        where = "without geometry"
        swapped = None
    else:
        xcol, ycol = cols["x"], cols["y"]
        xs, ys, missing = table_points(
            table, xcol, ycol, cols["lonlat"], spec["assume_crs"], target
        )
        attrs = frame
        first, second = sorted([xcol, ycol], key=list(frame.columns).index)  # file order
        where = f"without coordinates in columns {first}, {second}"
        swapped = _swapped_points(table, xcol, ycol, cols["lonlat"], spec["assume_crs"], target)
    ids = id_strings(frame[cols["id"]]) if cols["id"] else pd.Series(np.nan, index=frame.index)
    out = pd.DataFrame({"_id": ids.astype("str"), "name": _text(frame, cols["name"])})
    out["kind"] = _kinds(frame, spec["kind"], cols)
    out["_x"], out["_y"] = xs, ys
    if swapped is not None:
        out["_swapped_x"], out["_swapped_y"], out["_columns"] = swapped
    out["source"] = table.name
    if table.unit == "index":
        labels = pd.Series(table.frame.index.astype("str"), dtype="str")
    else:
        labels = pd.Series(np.arange(len(frame)) + table.offset).astype("str")
    out["_row"] = f"{table.name} {table.unit} " + labels.to_numpy()
    # The file's own columns named like ours: drop those we used, rename the others.
    used = {cols["id"], cols["name"], cols["kind"]}
    clash = [c for c in _OUTPUT if c in attrs.columns]
    attrs = attrs.drop(columns=[c for c in clash if c in used])
    attrs = attrs.rename(columns={c: f"{c}_in_file" for c in clash if c not in used})
    out = pd.concat([out, attrs], axis=1)
    skipped = np.flatnonzero(missing)
    report.stats["skipped_without_coordinates"] = report.stats.get(
        "skipped_without_coordinates", 0
    ) + len(skipped)
    if len(skipped):
        shown = out["_id"].iloc[skipped].fillna(out["_row"].iloc[skipped]).tolist()
        report.add(
            "site_without_coordinates",
            WARNING,
            f"{table.name}: skipped {plural(len(skipped), 'row')} {where}: {listing(shown)}",
            shown,
        )
    return out[~missing].reset_index(drop=True)


def _swapped_points(
    table: Table, xcol: str, ycol: str, lonlat: bool, assume_crs: Any, target: CRS
) -> tuple[np.ndarray, np.ndarray, str] | None:
    """Where the rows would be with the two coordinate columns exchanged (None if nowhere)."""
    try:
        with np.errstate(invalid="ignore"):
            xs, ys, _ = table_points(table, ycol, xcol, lonlat, assume_crs, target)
    except InputError:
        return None
    return xs, ys, f"{xcol} and {ycol}"


def _text(frame: pd.DataFrame, col: str | None) -> pd.Series:
    if col is None:
        return pd.Series(np.nan, index=frame.index, dtype="str")
    return id_strings(frame[col])


def _kinds(frame: pd.DataFrame, kind: str | None, cols: dict[str, Any]) -> pd.Series:
    if kind:
        return pd.Series(str(kind).strip().lower(), index=frame.index, dtype="str")
    col = cols["kind"] or cols["type"]
    if col is None:
        return pd.Series(DEFAULT_KIND, index=frame.index, dtype="str")
    text = frame[col].astype("str").str.strip().str.lower()
    if col == cols["type"]:
        types = text.dropna().unique()
        text = text.map({t: NHS_KINDS.get(t, re.sub(r"\W+", "_", t)) for t in types})
    return text.where(text.notna() & (text != ""), DEFAULT_KIND).astype("str")


# -- study area, merging, ids -------------------------------------------------


def _limit_to_study_area(
    rows: pd.DataFrame, study_area: Any, within_m: float, target: CRS, report: LoadReport
) -> pd.DataFrame:
    """Drop rows farther than ``within_m`` from every study-area geometry (STRtree)."""
    report.stats["outside_study_area"] = 0
    if study_area is None:
        return rows
    report.stats["within_m"] = float(within_m)
    if rows.empty:
        return rows
    if isinstance(study_area, gpd.GeoDataFrame | gpd.GeoSeries):
        geoms = study_area.geometry
        geoms = geoms.to_crs(target) if geoms.crs is not None else geoms
        geoms = geoms.to_numpy()
    else:
        geoms = np.atleast_1d(np.asarray(study_area, dtype=object))
    points = shapely.points(rows["_x"].to_numpy(), rows["_y"].to_numpy())
    tree = shapely.STRtree(geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))])
    near = np.zeros(len(rows), dtype=bool)
    near[tree.query(points, predicate="dwithin", distance=within_m)[0]] = True
    for source in rows.loc[~near, "source"].unique():
        of_file = (rows["source"] == source).to_numpy()
        if not near[of_file].any():
            _whole_file_outside(rows[of_file], tree, within_m, report)
    far = rows[~near]
    report.stats["outside_study_area"] = len(far)
    if len(far):
        by_file = ", ".join(f"{s} {n:,}" for s, n in far["source"].value_counts(sort=False).items())
        shown = far["_id"].fillna(far["_row"]).tolist()
        report.add(
            "site_outside_study_area",
            WARNING,
            f"dropped {plural(len(far), 'site row')} farther than {within_m:,.0f} m from the "
            f"study area ({by_file}): {listing(shown)}",
            shown,
        )
    return rows[near].reset_index(drop=True)


def _whole_file_outside(
    rows: pd.DataFrame, tree: shapely.STRtree, within_m: float, report: LoadReport
) -> None:
    """Every site of one file outside the study area: swapped columns (an error) or a warning."""
    source, n = rows["source"].iloc[0], len(rows)
    inside = 0
    if "_swapped_x" in rows and rows["_swapped_x"].notna().any():
        points = shapely.points(rows["_swapped_x"].to_numpy(), rows["_swapped_y"].to_numpy())
        ok = ~np.isnan(rows["_swapped_x"].to_numpy())
        hits = tree.query(points[ok], predicate="dwithin", distance=within_m)[0]
        inside = len(np.unique(hits))
    if inside >= max(1, n // 2):
        report.add(
            "swapped_coordinates",
            ERROR,
            f"{source}: all {n:,} sites lie farther than {within_m:,.0f} m from the study area, "
            f"but with columns {rows['_columns'].iloc[0]} exchanged {inside:,} of them lie in "
            "it: the columns look swapped; fix the file's header, or name the columns with "
            "x = and y = in its [[sites]] block",
            [source],
        )
    else:
        report.add(
            "site_file_outside_study_area",
            WARNING,
            f"{source}: all {n:,} sites lie farther than {within_m:,.0f} m from the study area "
            "and none was kept; check the file's coordinates and CRS (assume_crs), or leave "
            "the file out",
            [source],
        )


def _merge(
    rows: pd.DataFrame, merge: bool, tolerance: float, target: CRS
) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """One site per location (rows within ``tolerance``), and the site of each row."""
    n = len(rows)
    points = shapely.points(rows["_x"].to_numpy(), rows["_y"].to_numpy())
    i, j = shapely.STRtree(points).query(points, predicate="dwithin", distance=tolerance)
    if not merge:
        ids = rows["_id"].to_numpy()
        same = (ids[i] == ids[j]) & rows["_id"].notna().to_numpy()[i]
        i, j = i[same], j[same]
    graph = coo_matrix((np.ones(len(i), dtype=np.int8), (i, j)), shape=(n, n))
    rows = rows.assign(_site=connected_components(graph, directed=False)[1] if n else 0)
    rank = {k: r for r, k in enumerate(KIND_PRIORITY)}
    rows["_rank"] = rows["kind"].map(rank).fillna(len(KIND_PRIORITY))
    best = rows.sort_values(["_site", "_rank", "kind"]).drop_duplicates("_site")
    kinds = rows[["_site", "kind"]].drop_duplicates().sort_values(["_site", "kind"])
    groups = rows.groupby("_site", sort=False)
    sites = groups.first()
    sites["kind"] = best.set_index("_site")["kind"]
    sites["kinds"] = kinds.groupby("_site")["kind"].agg(";".join)
    sites["merged_rows"] = groups.size().astype("int64")
    sites["merged_ids"] = groups["_id"].agg(lambda ids: ";".join(dict.fromkeys(ids.dropna())))
    sites["_x"], sites["_y"] = groups["_x"].first(), groups["_y"].first()
    sites["site_id"] = sites["_id"]
    no_id = sites["_id"].isna()
    if no_id.any():
        sites.loc[no_id, "site_id"] = _derived_ids(sites[no_id], set(sites["_id"].dropna()))
    sites["name"] = sites["name"].fillna(sites["site_id"])
    sites = sites.reset_index()
    geometry = gpd.points_from_xy(sites["_x"], sites["_y"])
    extra = [c for c in sites.columns if c not in _OUTPUT and not c.startswith("_")]
    out = gpd.GeoDataFrame(sites[list(_OUTPUT) + extra], geometry=geometry, crs=target)
    return out, rows["_site"].to_numpy()


def _derived_ids(sites: pd.DataFrame, taken: set[str]) -> pd.Series:
    """``<kind>-<x>-<y>`` (rounded metres), suffixed ``-2``, ``-3``... when two coincide."""
    base = (
        sites["kind"].astype("str")
        + "-"
        + sites["_x"].round().astype("int64").astype("str")
        + "-"
        + sites["_y"].round().astype("int64").astype("str")
    )
    base = base.where(~base.isin(taken), base + "-1")
    n = base.groupby(base).cumcount()
    return base.where(n == 0, base + "-" + (n + 1).astype("str"))


def _check_ids(
    sites: gpd.GeoDataFrame, row_labels: np.ndarray, site_of_row: np.ndarray, report: LoadReport
) -> None:
    """One id at two locations is an error naming the id and where it is used."""
    dup = sites["site_id"].duplicated(keep=False).to_numpy()
    if not dup.any():
        return
    first_row = pd.Series(row_labels).groupby(site_of_row).first()
    where = pd.Series(
        first_row.reindex(np.flatnonzero(dup)).to_numpy(), index=sites["site_id"].to_numpy()[dup]
    )
    groups = [(sid, list(g)) for sid, g in where.groupby(level=0, sort=False)]
    names = [sid for sid, _ in groups]
    if len(groups) == 1:
        ((sid, places),) = groups
        message = (
            f"site id {sid} is used at {len(places)} different locations ({', '.join(places)}); "
            "give each site its own id"
        )
    else:
        parts = [f"{sid} ({', '.join(places)})" for sid, places in groups]
        message = (
            f"{len(groups):,} site ids are used at more than one location: {listing(parts)}; "
            "give each site its own id"
        )
    report.add("duplicate_site_id", ERROR, message, names, check="duplicate_site")
