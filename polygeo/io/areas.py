"""``read_areas``: small areas (LSOAs) with their population, in the working CRS."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from polygeo.crs import metric_crs, to_metric
from polygeo.errors import InputError
from polygeo.io._report import (
    ERROR,
    WARNING,
    LoadReport,
    check_errors_mode,
    listing,
    number,
    plural,
)
from polygeo.io._tables import (
    ColumnFinder,
    PathLike,
    Table,
    find_xy,
    id_strings,
    match,
    parse_numbers,
    points_crs,
    read_table,
    table_points,
)

log = logging.getLogger("polygeo")

#: Population columns recognised when ``population_column`` is not given (see :func:`_tables.norm`).
POPULATION_NAMES = ("population", "pop", "persons_all-ages", "all ages", "all_persons", "persons")
#: Area-code columns recognised in a population file when the area ``id`` is not there.
AREA_CODE_NAMES = ("area_id", "area codes", "area code", "code", "lsoa code", "lsoa11cd")
AREA_CODE_NAMES += ("lsoa code (2011)", "lsoa code 2011", "geography code", "mnemonic", "lsoa")
_GSS = re.compile(r"[A-Z]\d{8}")


def read_areas(
    boundaries: PathLike | gpd.GeoDataFrame | None = None,
    population: PathLike | pd.DataFrame | None = None,
    *,
    points: PathLike | pd.DataFrame | None = None,
    id: str = "LSOA11CD",
    population_id: str | None = None,
    population_column: str | None = None,
    group: str | None = None,
    keep: Sequence[str] = (),
    x: str | None = None,
    y: str | None = None,
    origin_x: str | None = None,
    origin_y: str | None = None,
    sheet: str | int | None = None,
    layer: str | int | None = None,
    crs: Any = None,
    assume_crs: Any = None,
    area_pattern: str | None = None,
    errors: str = "raise",
) -> gpd.GeoDataFrame:
    """Read small areas and their population into the areas frame.

    Parameters
    ----------
    boundaries
        Area polygons: any vector file geopandas reads (Shapefile, GeoPackage,
        GeoJSON, ...; ``.parquet`` is read as GeoParquet), or a GeoDataFrame.
    population
        A CSV or XLSX (or DataFrame) with one population row per area, joined on
        the area code. Counts may carry thousands separators (``"1,632"``); rows
        whose code is not an area code (local-authority totals) are ignored and
        counted. Without it the population is read from ``boundaries``/``points``.
    points
        Instead of ``boundaries``: a table with one point per area (CSV/XLSX with
        coordinate columns, see ``x``/``y``).
    id
        The area-code column (whitespace is stripped from codes).
    population_id
        The area-code column of ``population`` (default ``id``, else a common
        name such as ``Area Codes``).
    population_column
        The population column (default: a column called ``population``,
        ``Persons_All-Ages``, ``All Ages``, ... or the only ``population*`` column).
    group
        A column (e.g. ``LAD11NM``) copied, as text, to ``group``; the column is kept too.
    keep
        Other columns to keep (e.g. ``imd_decile``), from ``boundaries``/``points``
        or else from ``population``.
    x, y
        Coordinate columns of ``points``. By default found by name: ``easting``/
        ``northing`` or ``x``/``y`` are in ``assume_crs`` when given, else already
        in the working CRS (values that look like degrees are an error);
        ``longitude``/``latitude`` or ``lon``/``lat`` are EPSG:4326 (or
        ``assume_crs`` when that is geographic).
    origin_x, origin_y
        Columns holding each area's travel origin (population-weighted centroid)
        in the file's CRS. Columns named ``origin_x``/``origin_y`` are used when
        present; otherwise the polygon centroid (or the point itself) is used.
    sheet, layer
        Spreadsheet sheet (name or number) and vector layer to read.
    crs
        The working metric CRS (default British National Grid, EPSG:27700).
    assume_crs
        CRS of input that states none (a Shapefile without ``.prj``, x/y columns).
        A vector file without a CRS is a :class:`~polygeo.errors.CRSError` otherwise.
    area_pattern
        Regular expression an area code must match in ``population``. By default,
        when the areas have ONS codes (``E01000001``), codes of the same entity
        type (``?01``, any country) count as areas and other codes are ignored.
    errors
        ``"raise"`` (default): raise one :class:`~polygeo.errors.InputError`
        listing every problem. ``"collect"``: return the frame and leave the
        findings in ``attrs["load_report"]`` for :func:`polygeo.validate.validate`;
        the frame then holds NaN for populations that are missing or not numbers,
        negative values as read, areas with duplicate codes as they are, and, for
        an area listed twice in the population file, its first row.

    Returns
    -------
    geopandas.GeoDataFrame
        ``area_id``, ``population`` (float64), ``origin_x``, ``origin_y``,
        ``group`` (when asked), the kept columns and ``geometry``, in the working
        CRS. ``attrs["source"]`` names the files; ``attrs["load_report"]`` holds
        every row ignored and value repaired.

    Raises
    ------
    InputError
        Missing columns (always, listing the columns that exist), or problems in
        the data when ``errors="raise"``. Messages name the file, the column, the
        area codes and the rows: ``row N`` as a spreadsheet numbers a table (the
        header is row 1), ``feature N`` counting a vector file's features from 1,
        ``index N`` for a frame passed in memory.
    CRSError
        A vector file without a CRS and no ``assume_crs``.

    Examples
    --------
    >>> areas = read_areas("london-2011-lsoa-gen20.shp", "london-mid2020-pop.csv",
    ...                    population_column="Persons_All-Ages", group="LAD11NM")  # doctest: +SKIP
    """
    check_errors_mode(errors)
    if (boundaries is None) == (points is None):
        raise InputError(
            "give the areas as boundaries= (polygons) or points= (a point table), one of them"
        )
    target = metric_crs(crs)
    id_names = [id, population_id or id, *AREA_CODE_NAMES]
    main = read_table(
        boundaries if points is None else points,
        str_columns=[id, *([group] if group else [])],
        sheet=sheet,
        layer=layer,
    )
    pop = None
    if population is not None:
        pop = read_table(population, str_columns=id_names, sheet=sheet, layer=layer)
    report = LoadReport("areas", [t.path for t in (main, pop) if t is not None])
    cols = _columns(
        main, pop, id, population_id, population_column, group, keep, x, y, origin_x, origin_y
    )

    ids = id_strings(main.frame[cols["id"]]).reset_index(drop=True)
    _check_ids(main, cols["id"], ids, report)
    geometry, origins = _geometry(main, cols, ids, target, assume_crs, report)
    frames = [main.frame.reset_index(drop=True)]
    if pop is None:
        values = _population_values(main, cols["population"], ids, np.arange(len(ids)), report)
    else:
        values, matched = _join_population(main, pop, cols, ids, area_pattern, report)
        frames.append(matched)

    out = pd.DataFrame({"area_id": ids, "population": values})
    out["origin_x"], out["origin_y"] = origins
    extra = ([cols["group"]] if group else []) + cols["keep"]
    if group:
        where, col = cols["group"]
        out["group"] = id_strings(frames[where][col]).to_numpy()
    for where, col in extra:
        if col not in out.columns:
            out[col] = frames[where][col].to_numpy()
    areas = gpd.GeoDataFrame(out, geometry=geometry, crs=target)
    areas.attrs["source"] = ", ".join(report.sources)
    total = float(np.nansum(values))
    report.stats.update(areas=len(areas), population=total)
    areas.attrs["load_report"] = report.to_attrs()
    log.info(
        "read %s (%s people) from %s",
        plural(len(areas), "area"),
        f"{total:,.0f}",
        areas.attrs["source"],
    )
    report.log_summary("read_areas", raising=errors == "raise")
    if errors == "raise":
        report.raise_if_errors("read_areas")
    return areas


# -- columns ------------------------------------------------------------------


def _columns(
    main: Table,
    pop: Table | None,
    id: str,
    population_id: str | None,
    population_column: str | None,
    group: str | None,
    keep: Sequence[str],
    x: str | None,
    y: str | None,
    origin_x: str | None,
    origin_y: str | None,
) -> dict[str, Any]:
    """Find every column asked for; raise once listing all that are missing."""
    finder = ColumnFinder()
    cols: dict[str, Any] = {"id": finder.find(main, id, "id")}
    cols["points"] = not main.is_geo
    if cols["points"]:
        cols["x"], cols["y"], cols["lonlat"] = find_xy(main, finder, x, y)
    if origin_x or origin_y:
        cols["origin"] = (
            finder.find(main, origin_x or "origin_x", "origin_x"),
            finder.find(main, origin_y or "origin_y", "origin_y"),
        )
    elif {"origin_x", "origin_y"} <= set(main.frame.columns):
        cols["origin"] = ("origin_x", "origin_y")
    src = pop if pop is not None else main
    if population_column:
        cols["population"] = finder.find(src, population_column, "population_column")
    else:
        cols["population"] = _guess_population(src, finder)
    if pop is not None:
        if population_id:
            cols["population_id"] = finder.find(pop, population_id, "population_id")
        else:
            cols["population_id"] = match(pop, id) or finder.guess(pop, AREA_CODE_NAMES)
            if cols["population_id"] is None:
                looked = [id, *AREA_CODE_NAMES[:4]]
                finder.missing(pop, "area codes", looked, "name it with population_id=")
    tables = [main] if pop is None else [main, pop]
    cols["group"] = finder.find_any(tables, group, "group") if group else None
    cols["keep"] = [finder.find_any(tables, k, "keep") for k in keep]
    finder.raise_if_missing()
    return cols


def _guess_population(table: Table, finder: ColumnFinder) -> str | None:
    found = finder.guess(table, POPULATION_NAMES)
    if found is None:
        starts = [c for c in table.frame.columns if str(c).lower().startswith("population")]
        found = starts[0] if len(starts) == 1 else None
    if found is None:
        finder.missing(table, "population", POPULATION_NAMES[:4], "name it with population_column=")
    return found


# -- checks -------------------------------------------------------------------


def _check_ids(table: Table, col: str, ids: pd.Series, report: LoadReport) -> None:
    blank = np.flatnonzero(ids.isna().to_numpy())
    if len(blank):
        report.add(
            "missing_area_id",
            ERROR,
            f"{table.name}: {plural(len(blank), table.noun)} without an area code in column "
            f"{col} ({table.rows(blank)}); give every area its code",
            [""] * len(blank),
            check="blank_id",
        )
    duplicate_ids(table, col, ids, report, check="duplicate")


def duplicate_ids(
    table: Table, col: str, ids: pd.Series, report: LoadReport, *, check: str | None
) -> None:
    """Record ids that appear more than once in ``table[col]``."""
    dup = ids.duplicated(keep=False) & ids.notna()
    if not dup.any():
        return
    # ids keeps the table's row positions as its index (rows may have been filtered)
    where = pd.Series(ids.index[dup.to_numpy()], index=ids[dup].to_numpy())
    groups = [(i, list(p)) for i, p in where.groupby(level=0, sort=False)]
    names = [i for i, _ in groups]
    unit = table.noun
    if len(groups) == 1:
        ((i, p),) = groups
        message = (
            f"{table.name}: area {i} appears {len(p)} times in column {col} ({table.rows(p)}); "
            f"keep one {unit} per area"
        )
    else:
        parts = [f"{i} {len(p)} times ({table.rows(p)})" for i, p in groups]
        message = (
            f"{table.name}: {len(groups):,} areas appear more than once in column {col}: "
            f"{listing(parts)}; keep one {unit} per area"
        )
    report.add("duplicate_area_id", ERROR, message, names, check=check)


def _population_values(
    table: Table, col: str, ids: pd.Series, positions: np.ndarray, report: LoadReport
) -> np.ndarray:
    """Parse ``table[col]`` at ``positions``; record missing, non-numeric, negative values."""
    raw = table.frame[col].iloc[positions]
    values, blank, bad = parse_numbers(raw)
    ids = ids.to_numpy()
    where = f"in column {col}"
    if blank.any():
        i = np.flatnonzero(blank)
        parts = [f"{ids[k]} ({table.row(positions[k])})" for k in i]
        message = (
            f"{table.name}: population is missing for area {ids[i[0]]} {where} "
            f"({table.row(positions[i[0]])})"
            if len(i) == 1
            else f"{table.name}: population is missing for {len(i):,} areas {where}: "
            f"{listing(parts)}"
        )
        report.add("missing_population", ERROR, message, ids[i], check="nan")
    if bad.any():
        i = np.flatnonzero(bad)
        text = raw.astype("str").to_numpy()
        parts = [f"{ids[k]} {text[k].strip()!r} ({table.row(positions[k])})" for k in i]
        message = (
            f"{table.name}: population {text[i[0]].strip()!r} for area {ids[i[0]]} {where} "
            f"is not a number ({table.row(positions[i[0]])})"
            if len(i) == 1
            else f"{table.name}: {len(i):,} populations {where} are not numbers: {listing(parts)}"
        )
        report.add("non_numeric_population", ERROR, message, ids[i], check="nan")
    negative = values < 0
    if negative.any():
        i = np.flatnonzero(negative)
        parts = [f"{ids[k]} {number(values[k])} ({table.row(positions[k])})" for k in i]
        message = (
            f"{table.name}: negative population {number(values[i[0]])} for area {ids[i[0]]} "
            f"{where} ({table.row(positions[i[0]])})"
            if len(i) == 1
            else f"{table.name}: negative population for {len(i):,} areas {where}: {listing(parts)}"
        )
        report.add("negative_population", ERROR, message, ids[i], check="negative")
    return values


def _area_filter(ids: pd.Series, pattern: str | None) -> tuple[re.Pattern | None, str]:
    """The pattern a population-file code must match to be an area row, and why."""
    if pattern:
        return re.compile(pattern), f"does not match {pattern!r}"
    codes = ids.dropna()
    if len(codes) and codes.str.fullmatch(_GSS.pattern).all():
        entities = sorted(set(codes.str[1:3]))
        regex = re.compile(rf"[A-Z](?:{'|'.join(entities)})\d{{6}}")
        return regex, f"is not an area code like {codes.iloc[0]} (local-authority or other totals)"
    return None, "is blank"


def _join_population(
    main: Table,
    pop: Table,
    cols: dict[str, Any],
    ids: pd.Series,
    area_pattern: str | None,
    report: LoadReport,
) -> tuple[np.ndarray, pd.DataFrame]:
    """Population (and the population file's rows) for each area, in area order."""
    pid_col, col = cols["population_id"], cols["population"]
    pids = id_strings(pop.frame[pid_col]).reset_index(drop=True)
    regex, why = _area_filter(ids, area_pattern)
    is_area = pids.notna()
    if regex is not None:
        is_area &= pids.str.fullmatch(regex.pattern).fillna(False).astype(bool)
    ignored = np.flatnonzero(~is_area.to_numpy())
    report.stats["ignored_non_area_rows"] = len(ignored)
    if len(ignored):
        shown = pids.iloc[ignored].fillna("(blank)").tolist()
        report.add(
            "ignored_non_area_rows",
            WARNING,
            f"{pop.name}: ignored {plural(len(ignored), 'row')} whose code in column {pid_col} "
            f"{why}: {listing(shown)}",
            shown,
        )
    rows = pids[is_area]
    duplicate_ids(pop, pid_col, rows, report, check=None)
    first = rows[~rows.duplicated()]
    known = set(ids.dropna())
    unused = first[~first.isin(known)]
    if len(unused):
        n = len(unused)
        report.add(
            "population_without_area",
            WARNING,
            f"{pop.name}: {plural(n, 'row')} in column {pid_col} "
            f"{'matches' if n == 1 else 'match'} no area in {main.name} and "
            f"{'is' if n == 1 else 'are'} not used: {listing(unused.tolist())}",
            unused.tolist(),
        )
    lookup = pd.Series(first.index.to_numpy(), index=first.to_numpy())
    position = lookup.reindex(ids.to_numpy())
    found = position.notna().to_numpy()
    missing = ids[~found & ids.notna().to_numpy()]
    if len(missing):
        n = len(missing)
        report.add(
            "area_without_population",
            ERROR,
            f"{pop.name}: {'area' if n == 1 else f'{n:,} areas'} from {main.name} "
            f"{'has' if n == 1 else 'have'} no row in column {pid_col}: "
            f"{listing(missing.tolist())}; "
            f"add {'its' if n == 1 else 'their'} population or remove {'it' if n == 1 else 'them'}",
            missing.tolist(),
            check="nan",
        )
    pos = position[found].to_numpy(dtype=int)
    values = np.full(len(ids), np.nan)
    values[found] = _population_values(pop, col, ids[found].reset_index(drop=True), pos, report)
    matched = pop.frame.reset_index(drop=True).reindex(position.fillna(-1).to_numpy(dtype=int))
    return values, matched.reset_index(drop=True)


# -- geometry -----------------------------------------------------------------


def _geometry(
    table: Table,
    cols: dict[str, Any],
    ids: pd.Series,
    target: CRS,
    assume_crs: Any,
    report: LoadReport,
) -> tuple[gpd.GeoSeries, tuple[np.ndarray, np.ndarray]]:
    """Geometry and travel origins in the working CRS; repairs and empties recorded."""
    frame = table.frame
    if cols["points"]:
        xcol, ycol = cols["x"], cols["y"]
        xs, ys, _ = table_points(table, xcol, ycol, cols["lonlat"], assume_crs, target)
        geom = gpd.GeoSeries(gpd.points_from_xy(xs, ys), crs=target)
        geom[np.isnan(xs)] = None
        what = f"no coordinates in columns {xcol}, {ycol}"
        source_crs = points_crs(cols["lonlat"], assume_crs, target)
    else:
        gdf = to_metric(
            gpd.GeoDataFrame(geometry=frame.geometry.reset_index(drop=True)),
            target,
            source=table.name,
            assume_crs=assume_crs,
        )
        source_crs = frame.crs if frame.crs is not None else assume_crs
        geom = _repair(table, gdf.geometry, ids, report)
        what = "no geometry"
        _points_as_boundaries(table, geom, ids, report)
    empty = (geom.isna() | geom.is_empty).to_numpy()
    if empty.any():
        i = np.flatnonzero(empty)
        parts = [f"{ids.iloc[k]} ({table.row(k)})" for k in i]
        n = len(i)
        report.add(
            "empty_geometry",
            ERROR,
            f"{table.name}: area {parts[0]} has {what}; give it a location or remove it"
            if n == 1
            else f"{table.name}: {n:,} areas have {what}: {listing(parts)}; "
            "give them a location or remove them",
            ids.iloc[i].fillna("").tolist(),
            check="empty",
        )
    if "origin" in cols:
        ox, *_ = parse_numbers(frame[cols["origin"][0]])
        oy, *_ = parse_numbers(frame[cols["origin"][1]])
        pts = gpd.GeoSeries(gpd.points_from_xy(ox, oy), crs=source_crs).to_crs(target)
        origins = (pts.x.to_numpy(), pts.y.to_numpy())
    else:
        centre = geom.copy()
        centre[~empty] = geom[~empty].centroid
        origins = (centre.x.to_numpy(), centre.y.to_numpy())
    return geom, origins


def _points_as_boundaries(
    table: Table, geom: gpd.GeoSeries, ids: pd.Series, report: LoadReport
) -> None:
    """Boundaries that are all points: an error saying how to give area points instead."""
    types = set(geom.dropna().geom_type)
    if types and types <= {"Point", "MultiPoint"}:
        report.add(
            "wrong_geometry_type",
            ERROR,
            f"{table.name}: the area boundaries are points, not polygons; give polygon "
            'boundaries, or give the areas as points = "<file>" (a table with x/y columns) '
            "in [areas]",
            ids.head(5).fillna("").tolist(),
            count=len(ids),
        )


def _repair(table: Table, geom: gpd.GeoSeries, ids: pd.Series, report: LoadReport) -> gpd.GeoSeries:
    """Repair invalid polygons with ``shapely.make_valid``, keeping their polygonal parts."""
    arr = geom.to_numpy()
    present = ~(shapely.is_missing(arr) | shapely.is_empty(arr))
    invalid = np.flatnonzero(present & ~shapely.is_valid(arr))
    if not len(invalid):
        return geom
    reasons = shapely.is_valid_reason(arr[invalid])
    arr = arr.copy()
    arr[invalid] = [_polygonal(g) for g in shapely.make_valid(arr[invalid])]
    parts = [f"{ids.iloc[k]} ({table.row(k)}: {r})" for k, r in zip(invalid, reasons, strict=True)]
    n = len(invalid)
    report.add(
        "invalid_geometry_repaired",
        WARNING,
        f"{table.name}: repaired the invalid geometry of area {parts[0]} with shapely.make_valid"
        if n == 1
        else f"{table.name}: repaired {n:,} invalid geometries with shapely.make_valid: "
        f"{listing(parts)}",
        ids.iloc[invalid].fillna("").tolist(),
    )
    return gpd.GeoSeries(arr, crs=geom.crs)


def _polygonal(g: shapely.Geometry) -> shapely.Geometry:
    if g.geom_type in ("Polygon", "MultiPolygon", "Point", "MultiPoint"):
        return g
    polys = [p for p in shapely.get_parts(g) if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(polys) if polys else shapely.Polygon()
