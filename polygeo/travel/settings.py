"""Build a travel-time provider and limit from a scenario file's ``[travel]`` table.

Keys (all optional unless marked):

======================= ======================================================
``provider``            ``"straight_line"`` (default), ``"network"`` or ``"matrix"``
``limit_minutes``       **required**: the global travel limit in minutes
``limit_by_kind``       table site kind -> minutes, e.g. ``{hospital = 25}``
``limit_by_area``       ``{column = "imd_decile", values = {"1" = 15, "2" = 15}}``
straight_line:
``minutes_per_km``      minutes per straight-line km (or ``speed_kmh``)
``intercept_minutes``   fixed minutes per trip (default 0)
``speed_kmh``           straight-line speed before circuity (instead of ``minutes_per_km``)
``circuity``            road / straight-line distance ratio, with ``speed_kmh`` (default 1)
network:
``roads``               road lines file (Shapefile, GeoPackage, ...), or
``graphml``             an OSMnx GraphML file
``road_speed_kmh``      road speed for lines without one (default 30)
``speed_column``        column of per-line speeds in km/h (``roads`` only)
``access_speed_kmh``    speed of the snap legs to the network (default 15)
``snap_to_largest``     snap only to the largest connected component (default false)
``direct_access``       also allow the straight line at access speed (default true)
``join_tolerance_m``    join line vertices closer than this (default 1 m)
matrix:
``matrix``              **required**: the matrix file (CSV, Parquet, zip of one CSV)
``layout``              ``"auto"`` (default), ``"long"`` or ``"wide"``
``origin_column``, ``destination_column``, ``minutes_column``
``origin_lookup``       ``{path = "names.csv", key = "lsoa", id = "lsoa_code"}``
``destination_lookup``  same, for destinations
``sep``, ``member``     CSV separator; the CSV inside a zip holding several
======================= ======================================================

Relative paths resolve against ``base_dir`` (the scenario file's folder).
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from polygeo.errors import InputError
from polygeo.schema import TRAVEL as TRAVEL_TABLE
from polygeo.schema import check_table_keys
from polygeo.travel.external import ExternalMatrix
from polygeo.travel.limits import TravelLimit
from polygeo.travel.network import RoadNetwork
from polygeo.travel.straight_line import StraightLine

log = logging.getLogger("polygeo")

# The keys are declared once, in polygeo.schema.TRAVEL; these views are derived from it.
PROVIDERS = TRAVEL_TABLE.by_name["provider"].choices
COMMON_KEYS = tuple(k.name for k in TRAVEL_TABLE.keys if k.when is None)
PROVIDER_KEYS = {
    p: tuple(k.name for k in TRAVEL_TABLE.keys if k.when == ("provider", p)) for p in PROVIDERS
}
ALL_KEYS = tuple(TRAVEL_TABLE.by_name)

_NUMBER = "number"
_STRING = "string"
_BOOL = "true or false"
_TABLE = "table"


class _Reader:
    """Typed access to one TOML table, with messages naming the file and key."""

    def __init__(self, settings: Mapping, *, where: str, base_dir: Path) -> None:
        self.settings = settings
        self.where = where
        self.base_dir = base_dir

    def error(self, key: str, message: str) -> InputError:
        return InputError(f"{self.where} {key}: {message}")

    def get(self, key: str, kind: str, default=None, *, example: str = ""):
        if key not in self.settings:
            return default
        value = self.settings[key]
        ok = {
            _NUMBER: isinstance(value, (int, float)) and not isinstance(value, bool),
            _STRING: isinstance(value, str),
            _BOOL: isinstance(value, bool),
            _TABLE: isinstance(value, Mapping),
        }[kind]
        if not ok:
            hint = f" e.g. {example}" if example else ""
            raise self.error(
                key, f"expected a {kind}, got {value!r} ({type(value).__name__});{hint}".rstrip(";")
            )
        return value

    def path(self, key: str, value: str) -> Path:
        p = Path(value).expanduser()
        if not p.is_absolute():
            p = self.base_dir / p
        if not p.exists():
            raise self.error(
                key,
                f"file {p} not found (relative paths are read from {self.base_dir}); "
                "fix the path or download the file",
            )
        return p


def _suggest(word: str, choices) -> str:
    """' (did you mean 'x'?)' for the closest choice (difflib, else a name containing word)."""
    choices = [str(c) for c in choices]
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if not close and len(word) >= 3:
        close = [c for c in choices if word.lower() in c.lower()][:1]
    return f" (did you mean {close[0]!r}?)" if close else ""


def travel_from_settings(
    settings: Mapping,
    *,
    base_dir: str | Path,
    areas: pd.DataFrame,
    sites: pd.DataFrame,
    source: str = "scenario",
    progress: bool | None = None,
) -> tuple[StraightLine | RoadNetwork | ExternalMatrix, TravelLimit]:
    """Build the travel-time provider and limit from a ``[travel]`` table.

    Parameters
    ----------
    settings
        The ``[travel]`` table as parsed from TOML (see the module docstring for keys).
    base_dir
        Folder relative paths are resolved against (the scenario file's folder).
    areas, sites
        The loaded frames (for ``limit_by_area`` columns and ``limit_by_kind`` kinds,
        and the network CRS).
    source
        The scenario file's name, used in error messages.
    progress
        Progress bars for the provider (``None``: on a terminal only).

    Returns
    -------
    (provider, TravelLimit)
        Call ``provider.travel_times(areas, sites, limit)``.

    Raises
    ------
    InputError
        Unknown keys (with the closest known key), wrong types, missing files,
        keys that belong to another provider; the message names ``[travel] <key>``.
    """
    where = f"{source} [travel]"
    if not isinstance(settings, Mapping):
        raise InputError(f"{where} must be a table, got {type(settings).__name__}")
    r = _Reader(settings, where=where, base_dir=Path(base_dir))
    check_table_keys(settings, TRAVEL_TABLE, where)
    name = r.get("provider", _STRING, "straight_line", example='provider = "straight_line"')
    if name not in PROVIDERS:
        raise r.error(
            "provider",
            f"unknown provider {name!r}{_suggest(name, PROVIDERS)}. "
            f"Use one of {', '.join(PROVIDERS)}",
        )
    limit = _limit(r, areas, sites)
    if name == "straight_line":
        provider = _straight_line(r, progress)
    elif name == "network":
        provider = _network(r, areas, progress)
    else:
        provider = _matrix(r)
    log.info("travel: %r, limit %s", provider, limit.describe())
    return provider, limit


def _limit(r: _Reader, areas: pd.DataFrame, sites: pd.DataFrame) -> TravelLimit:
    if "limit_minutes" not in r.settings:
        raise r.error(
            "limit_minutes",
            "missing: give the longest acceptable trip, e.g. limit_minutes = 20",
        )
    minutes = r.get("limit_minutes", _NUMBER, example="limit_minutes = 20")
    if minutes <= 0:
        raise r.error("limit_minutes", f"must be > 0, got {minutes!r}")
    per_kind = r.get("limit_by_kind", _TABLE, example="limit_by_kind = {hospital = 25}")
    if per_kind is not None:
        for kind, value in per_kind.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise r.error(f"limit_by_kind.{kind}", f"expected minutes >= 0, got {value!r}")
        if "kind" in sites.columns:
            present = set(sites["kind"].astype(str).unique())
            for kind in per_kind:
                if kind not in present:
                    log.warning(
                        "%s limit_by_kind: no site has kind %r%s (kinds: %s)",
                        r.where,
                        kind,
                        _suggest(kind, present),
                        sorted(present),
                    )
        per_kind = dict(per_kind)
    by_area = r.get(
        "limit_by_area",
        _TABLE,
        example='limit_by_area = {column = "imd_decile", values = {"1" = 15, "2" = 15}}',
    )
    try:
        if by_area is None:
            return TravelLimit(minutes, per_kind=per_kind)
        extra = [k for k in by_area if k not in ("column", "values")]
        if extra:
            raise r.error(
                f"limit_by_area.{extra[0]}",
                f"unknown key{_suggest(str(extra[0]), ('column', 'values'))}; "
                "limit_by_area takes column and values",
            )
        column = by_area.get("column")
        values = by_area.get("values")
        if not isinstance(column, str):
            raise r.error("limit_by_area.column", f"expected a column name, got {column!r}")
        if not isinstance(values, Mapping) or not values:
            raise r.error(
                "limit_by_area.values",
                f'expected a table of column value -> minutes, e.g. {{"1" = 15}}; got {values!r}',
            )
        for key, value in values.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise r.error(
                    f"limit_by_area.values.{key}", f"expected minutes >= 0, got {value!r}"
                )
        if column not in areas.columns:
            raise r.error(
                "limit_by_area.column",
                f"the areas have no column {column!r}{_suggest(column, map(str, areas.columns))} "
                f"(columns: {list(areas.columns)[:15]}); keep it when loading the areas",
            )
        return TravelLimit.from_area_column(
            areas, column, dict(values), minutes=minutes, per_kind=per_kind
        )
    except InputError as exc:
        if str(exc).startswith(r.where):
            raise
        raise r.error("limit_by_area" if by_area else "limit_by_kind", str(exc)) from exc


def _straight_line(r: _Reader, progress: bool | None) -> StraightLine:
    mpk = r.get("minutes_per_km", _NUMBER, example="minutes_per_km = 3.12")
    speed = r.get("speed_kmh", _NUMBER, example="speed_kmh = 30")
    intercept = r.get("intercept_minutes", _NUMBER, 0.0, example="intercept_minutes = 0")
    circuity = r.get("circuity", _NUMBER, 1.0, example="circuity = 1.3")
    if mpk is None and speed is None:
        raise r.error(
            "minutes_per_km",
            "missing: give minutes_per_km (e.g. 3.12) or speed_kmh (with circuity), "
            "or fit them with `polygeo calibrate`",
        )
    if mpk is not None and speed is not None:
        raise r.error("speed_kmh", "give minutes_per_km or speed_kmh, not both")
    if mpk is not None and "circuity" in r.settings:
        raise r.error(
            "circuity", "applies only with speed_kmh (minutes_per_km already includes it)"
        )
    try:
        return StraightLine(mpk, intercept, speed_kmh=speed, circuity=circuity, progress=progress)
    except InputError as exc:
        key = "minutes_per_km" if mpk is not None else "speed_kmh"
        raise r.error(key, str(exc)) from exc


def _network(r: _Reader, areas: pd.DataFrame, progress: bool | None) -> RoadNetwork:
    roads = r.get("roads", _STRING, example='roads = "roads/london-2018-MRN.shp"')
    graphml = r.get("graphml", _STRING, example='graphml = "london.graphml"')
    if (roads is None) == (graphml is None):
        raise r.error(
            "roads",
            'give one of roads = "lines file" or graphml = "OSMnx GraphML file"'
            + (" (not both)" if roads is not None else ""),
        )
    speed = r.get("road_speed_kmh", _NUMBER, 30.0, example="road_speed_kmh = 30")
    access = r.get("access_speed_kmh", _NUMBER, 15.0, example="access_speed_kmh = 15")
    largest = r.get("snap_to_largest", _BOOL, False, example="snap_to_largest = true")
    direct = r.get("direct_access", _BOOL, True, example="direct_access = false")
    crs = getattr(areas, "crs", None)
    try:
        if roads is not None:
            return RoadNetwork.from_lines(
                r.path("roads", roads),
                speed_kmh=speed,
                speed_column=r.get("speed_column", _STRING, example='speed_column = "maxspeed"'),
                crs=crs,
                join_tolerance_m=r.get(
                    "join_tolerance_m", _NUMBER, 1.0, example="join_tolerance_m = 1"
                ),
                access_speed_kmh=access,
                snap_to_largest=largest,
                direct_access=direct,
                progress=progress,
            )
        for key in ("speed_column", "join_tolerance_m"):
            if key in r.settings:
                raise r.error(key, "applies only with roads = (line files), not graphml")
        return RoadNetwork.from_graphml(
            r.path("graphml", graphml),
            speed_kmh=speed,
            crs=crs,
            access_speed_kmh=access,
            snap_to_largest=largest,
            direct_access=direct,
            progress=progress,
        )
    except InputError as exc:
        if str(exc).startswith(r.where):
            raise
        raise r.error("roads" if roads is not None else "graphml", str(exc)) from exc


def _lookup(r: _Reader, key: str):
    table = r.get(
        key, _TABLE, example=f'{key} = {{path = "names.csv", key = "lsoa", id = "lsoa_code"}}'
    )
    if table is None:
        return None
    extra = [k for k in table if k not in ("path", "key", "id")]
    if extra:
        raise r.error(
            f"{key}.{extra[0]}",
            f"unknown key{_suggest(str(extra[0]), ('path', 'key', 'id'))}; "
            f"{key} takes path, key, id",
        )
    for part in ("path", "key", "id"):
        if not isinstance(table.get(part), str):
            raise r.error(
                f"{key}.{part}",
                f"expected a string, got {table.get(part)!r}; e.g. "
                f'{key} = {{path = "names.csv", key = "lsoa", id = "lsoa_code"}}',
            )
    return (r.path(f"{key}.path", table["path"]), table["key"], table["id"])


def _matrix(r: _Reader) -> ExternalMatrix:
    path = r.get("matrix", _STRING, example='matrix = "times.csv"')
    if path is None:
        raise r.error("matrix", 'missing: name the matrix file, e.g. matrix = "times.csv"')
    layout = r.get("layout", _STRING, "auto", example='layout = "wide"')
    if layout not in ("auto", "long", "wide"):
        raise r.error("layout", f'expected "auto", "long" or "wide", got {layout!r}')
    file = r.path("matrix", path)
    kwargs = {
        k: r.get(k, _STRING)
        for k in ("origin_column", "destination_column", "minutes_column", "sep", "member")
    }
    origin_lookup = _lookup(r, "origin_lookup")
    destination_lookup = _lookup(r, "destination_lookup")
    try:
        return ExternalMatrix.read(
            file,
            layout=layout,
            origin_lookup=origin_lookup,
            destination_lookup=destination_lookup,
            **kwargs,
        )
    except InputError as exc:
        raise r.error("matrix", str(exc)) from exc
