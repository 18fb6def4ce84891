"""Check areas and sites before planning: every problem, with counts and examples.

:func:`validate` combines what the loaders recorded while reading
(``frame.attrs["load_report"]``: rows ignored, values repaired, rows dropped)
with its own checks of the frames as they are now, so it also works on frames
built or edited by hand. A loader finding the user has since fixed in the frame
is dropped; a problem the loader did not see is reported from the frame.

Finding codes are stable (the CLI and its users rely on them); :data:`FINDING_CODES`
maps each to its severity.

Errors (planning cannot go on):

- ``duplicate_area_id``: an area code appears more than once
- ``missing_area_id``: a row without an area code
- ``missing_population``: an area without a population value
- ``non_numeric_population``: a population that is not a number
- ``negative_population``: a population below zero
- ``area_without_population``: an area with no row in the population file
- ``empty_geometry``: an area (or site) without geometry or coordinates
- ``duplicate_site_id``: one site id at two locations
- ``missing_site_id``: a site without an id
- ``no_areas``, ``no_sites``: an empty frame
- ``missing_column``: a frame lacks a required column
- ``crs_mismatch``: sites and areas in different CRSs
- ``crs_not_metric``: areas without a projected CRS
- ``wrong_geometry_type``: areas that are lines (or points mixed with polygons);
  boundary files given as points
- ``population_decimal_thousands``: populations such as ``1.609`` (a thousands
  separator read as a decimal point)
- ``swapped_coordinates``: every site of a file is outside the study area, and
  inside it with the two coordinate columns exchanged

Warnings (the data were used, but look):

- ``population_without_area``: population rows matching no area (not used)
- ``ignored_non_area_rows``: population rows whose code is not an area code
  (local-authority totals), ignored
- ``invalid_geometry_repaired``: invalid polygons repaired with ``shapely.make_valid``
- ``invalid_geometry``: invalid polygons in a frame built by hand
- ``missing_group``: areas without a group value
- ``site_without_coordinates``: site rows skipped for lack of coordinates
- ``site_outside_study_area``: site rows dropped by ``read_sites(study_area=...)``,
  or sites farther than ``study_area_distance_m`` from every area
- ``site_file_outside_study_area``: every site of one file was dropped so
- ``fractional_population``: populations that are not whole numbers
- ``implausible_population``: populations far outside the usual range for the
  area type (by code: output areas, LSOAs about 1,000-3,000 people, MSOAs), or
  above :data:`MAX_AREA_POPULATION` whatever the type
- ``merged_site_ids``: several ids (organisation codes) at one location, merged
  into one site; each of them names it in ``required_sites`` / ``forbidden_sites``
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from polygeo.errors import InputError
from polygeo.io._report import ERROR, N_EXAMPLES, WARNING, listing, number, plural

log = logging.getLogger("polygeo")

__all__ = ["FINDING_CODES", "Finding", "ValidationReport", "validate"]

#: How far from every area a site may be before ``validate`` warns, by default.
DEFAULT_DISTANCE_M = 1000.0

#: Every finding code, with its severity (see the list above).
FINDING_CODES: dict[str, str] = {
    "duplicate_area_id": ERROR,
    "missing_area_id": ERROR,
    "missing_population": ERROR,
    "non_numeric_population": ERROR,
    "negative_population": ERROR,
    "area_without_population": ERROR,
    "empty_geometry": ERROR,
    "duplicate_site_id": ERROR,
    "missing_site_id": ERROR,
    "no_areas": ERROR,
    "no_sites": ERROR,
    "missing_column": ERROR,
    "crs_mismatch": ERROR,
    "crs_not_metric": ERROR,
    "wrong_geometry_type": ERROR,
    "population_decimal_thousands": ERROR,
    "swapped_coordinates": ERROR,
    "population_without_area": WARNING,
    "ignored_non_area_rows": WARNING,
    "invalid_geometry_repaired": WARNING,
    "invalid_geometry": WARNING,
    "missing_group": WARNING,
    "site_without_coordinates": WARNING,
    "site_outside_study_area": WARNING,
    "site_file_outside_study_area": WARNING,
    "fractional_population": WARNING,
    "implausible_population": WARNING,
    "merged_site_ids": WARNING,
}

#: More people than this in one area is a warning whatever the area type.
MAX_AREA_POPULATION = 10_000_000

#: Usual population ranges by area code prefix (ONS/Welsh codes): a value
#: outside is a warning. LSOAs hold about 1,000-3,000 people (a few more).
POPULATION_RANGES: dict[str, tuple[str, float, float]] = {
    "E00": ("output area", 40, 2_000),
    "W00": ("output area", 40, 2_000),
    "E01": ("LSOA", 400, 12_000),
    "W01": ("LSOA", 400, 12_000),
    "E02": ("MSOA", 2_000, 40_000),
    "W02": ("MSOA", 2_000, 40_000),
}


@dataclass
class Finding:
    """One problem: a stable ``code``, a message naming files, columns and ids,
    how many there are, and the first few ids."""

    code: str
    message: str
    count: int = 1
    examples: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "count": int(self.count),
            "examples": [str(e) for e in self.examples],
        }


@dataclass
class ValidationReport:
    """Errors (which stop planning), warnings, and summary counts.

    Attributes
    ----------
    errors, warnings
        Lists of :class:`Finding`.
    areas
        ``count``, ``population``, ``groups`` (or None), ``crs``, ``source``.
    sites
        ``count``, ``by_kind`` (sites per kind), ``merged_rows`` (input rows behind
        the sites: the sum of their ``merged_rows``), ``skipped_without_coordinates``
        and ``outside_study_area`` (rows :func:`~polygeo.io.read_sites` skipped or
        dropped); None without sites.
    """

    errors: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)
    areas: dict[str, Any] = field(default_factory=dict)
    sites: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        """True when there is no error."""
        return not self.errors

    def codes(self) -> list[str]:
        """The codes of every error and warning, in order."""
        return [f.code for f in self.errors + self.warnings]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (the shape of ``polygeo validate --json``)."""
        return {
            "areas": dict(self.areas),
            "sites": None if self.sites is None else dict(self.sites),
            "errors": [f.to_dict() for f in self.errors],
            "warnings": [f.to_dict() for f in self.warnings],
        }

    def format_text(self) -> str:
        """A readable multi-line report for the terminal."""
        status = "OK" if self.ok else "FAILED"
        lines = [
            f"Validation {status}: {plural(len(self.errors), 'error')}, "
            f"{plural(len(self.warnings), 'warning')}"
        ]
        a = self.areas
        groups = f", {plural(a['groups'], 'group')}" if a.get("groups") is not None else ""
        lines.append(
            f"Areas: {a.get('count', 0):,}, population {a.get('population', 0):,}{groups}, "
            f"CRS {a.get('crs')}"
        )
        if self.sites is not None:
            s = self.sites
            kinds = ", ".join(f"{k} {n:,}" for k, n in s["by_kind"].items())
            lines.append(
                f"Sites: {s['count']:,} ({kinds}) from {plural(s['merged_rows'], 'input row')}; "
                f"{s['skipped_without_coordinates']:,} skipped without coordinates, "
                f"{s['outside_study_area']:,} outside the study area"
            )
        for title, findings in (("Errors", self.errors), ("Warnings", self.warnings)):
            if findings:
                lines.append(f"{title}:")
                lines += [f"  - [{f.code}] {f.message}" for f in findings]
        return "\n".join(lines)

    def raise_if_errors(self) -> None:
        """Raise one :class:`~polygeo.errors.InputError` listing every error."""
        if self.errors:
            body = "\n".join(f"  - [{f.code}] {f.message}" for f in self.errors)
            raise InputError(f"the input has {plural(len(self.errors), 'error')}:\n{body}")


def validate(
    areas: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame | None = None,
    *,
    study_area_distance_m: float | None = None,
) -> ValidationReport:
    """Check areas (and sites) and report every problem at once.

    Parameters
    ----------
    areas
        The areas frame (from :func:`polygeo.io.read_areas`, or built by hand
        with ``area_id``, ``population`` and ``geometry``).
    sites
        The sites frame (from :func:`polygeo.io.read_sites`), if any.
    study_area_distance_m
        Sites farther than this from every area are reported (a warning).
        Default: the ``within_m`` that :func:`~polygeo.io.read_sites` limited the
        sites with, else 1000 m. ``math.inf`` skips the check.

    Returns
    -------
    ValidationReport
        ``report.ok`` is False when there is an error; ``report.to_dict()`` and
        ``report.format_text()`` present it.

    Examples
    --------
    >>> areas = read_areas(..., errors="collect")  # doctest: +SKIP
    >>> report = validate(areas)  # doctest: +SKIP
    >>> print(report.format_text())  # doctest: +SKIP
    """
    report = ValidationReport()
    report.areas = _area_summary(areas)
    found = _AreaChecks(areas).run()
    if sites is not None:
        report.sites = _site_summary(sites)
        within = study_area_distance_m
        if within is None:
            within = _load_stats(sites).get("within_m", DEFAULT_DISTANCE_M)
        found += _SiteChecks(sites, areas, float(within)).run()
    for severity, finding in found:
        (report.errors if severity == ERROR else report.warnings).append(finding)
    log.info(
        "validate: %s, %s",
        plural(len(report.errors), "error"),
        plural(len(report.warnings), "warning"),
    )
    return report


# -- summaries ----------------------------------------------------------------


def _plain(x: float) -> int | float:
    return int(x) if float(x).is_integer() else float(x)


def _load_stats(frame: pd.DataFrame) -> dict[str, Any]:
    return dict((frame.attrs.get("load_report") or {}).get("stats", {}))


def _crs_name(frame: gpd.GeoDataFrame) -> str | None:
    crs = getattr(frame, "crs", None)
    if crs is None:
        return None
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else crs.to_string()


def _area_summary(areas: gpd.GeoDataFrame) -> dict[str, Any]:
    population = 0.0
    if "population" in areas:
        population = float(np.nansum(pd.to_numeric(areas["population"], errors="coerce")))
    return {
        "count": len(areas),
        "population": _plain(population),
        "groups": int(areas["group"].nunique()) if "group" in areas else None,
        "crs": _crs_name(areas),
        "source": areas.attrs.get("source"),
    }


def _site_summary(sites: gpd.GeoDataFrame) -> dict[str, Any]:
    stats = _load_stats(sites)
    kinds = sites["kind"].value_counts() if "kind" in sites else pd.Series(dtype="int64")
    merged = int(sites["merged_rows"].sum()) if "merged_rows" in sites else len(sites)
    return {
        "count": len(sites),
        "by_kind": {str(k): int(n) for k, n in sorted(kinds.items())},
        "merged_rows": merged,
        "skipped_without_coordinates": int(stats.get("skipped_without_coordinates", 0)),
        "outside_study_area": int(stats.get("outside_study_area", 0)),
    }


# -- checks -------------------------------------------------------------------


class _Checks:
    """Loader findings still true of the frame, then the frame's own findings.

    ``current[check]`` holds the ids that show a problem in the frame now;
    a loader finding with that ``check`` is kept while one of its ids does.
    """

    what = "frame"

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self.current: dict[str, list[str]] = {}
        self.fresh: list[tuple[str, Finding]] = []

    def run(self) -> list[tuple[str, Finding]]:
        self.collect()
        fresh, self.fresh = self.fresh, []
        covered: dict[str, set[str]] = {}
        found: list[tuple[str, Finding]] = []
        for f in (self.frame.attrs.get("load_report") or {}).get("findings", []):
            check = f.get("check")
            if check is not None:
                if not set(f.get("ids", ())) & set(self.current.get(check, ())):
                    continue  # fixed in the frame since loading
                covered.setdefault(check, set()).update(f.get("ids", ()))
            found.append(
                (f["severity"], Finding(f["code"], f["message"], f["count"], f["examples"]))
            )
        for check, ids in self.current.items():
            left = [i for i in ids if i not in covered.get(check, set())]
            if left:
                self.describe(check, left)
        return found + self.fresh + fresh

    def add(
        self,
        severity: str,
        code: str,
        message: str,
        ids: Sequence[str] = (),
        count: int | None = None,
    ) -> None:
        n = len(ids) if count is None else count
        self.fresh.append((severity, Finding(code, message, n, [str(i) for i in ids[:N_EXAMPLES]])))

    def collect(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self, check: str, ids: list[str]) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def has_columns(self, required: Sequence[str]) -> bool:
        missing = [c for c in required if c not in self.frame.columns]
        if missing:
            columns = ", ".join(map(str, self.frame.columns))
            self.add(
                ERROR,
                "missing_column",
                f"{self.what}: no column {', '.join(map(repr, missing))} (columns: {columns}); "
                f"read them with polygeo.io.read_{self.what}",
                missing,
            )
        return not missing

    def blank_ids(self, column: str) -> pd.Series:
        ids = self.frame[column].astype("str").str.strip()
        return ids.where(ids != "", np.nan)

    def index_of(self, mask: pd.Series) -> str:
        return ", ".join(map(str, self.frame.index[mask.to_numpy()][:10]))


def _duplicates(ids: pd.Series) -> list[str]:
    return list(dict.fromkeys(ids[ids.duplicated(keep=False) & ids.notna()]))


def _empty(frame: gpd.GeoDataFrame) -> np.ndarray:
    geoms = frame.geometry.to_numpy()
    return shapely.is_missing(geoms) | shapely.is_empty(geoms)


class _AreaChecks(_Checks):
    what = "areas"

    def collect(self) -> None:
        a = self.frame
        if not self.has_columns(("area_id", "population", "geometry")):
            return
        if len(a) == 0:
            self.add(ERROR, "no_areas", "areas: there are no areas", count=1)
            return
        if a.crs is None or not CRS.from_user_input(a.crs).is_projected:
            self.add(
                ERROR,
                "crs_not_metric",
                f"areas: CRS {_crs_name(a)} is not a projected CRS in metres; "
                "project them with polygeo.crs.to_metric",
                count=1,
            )
        self.ids = ids = self.blank_ids("area_id")
        self.raw = a["population"]
        pop = pd.to_numeric(a["population"], errors="coerce")
        self.pop = pop.where(np.isfinite(pop.astype("float64")))  # inf people: not a number
        empty = _empty(a)
        self.current["blank_id"] = [""] if ids.isna().any() else []
        self.current["duplicate"] = _duplicates(ids)
        self.current["nan"] = ids[self.pop.isna().to_numpy()].fillna("").tolist()
        self.current["negative"] = ids[(self.pop < 0).to_numpy()].fillna("").tolist()
        self.current["empty"] = ids[empty].fillna("").tolist()
        self._population_plausible()
        self._geometry_types(empty)
        invalid = ~empty & ~shapely.is_valid(a.geometry.to_numpy())
        if invalid.any():
            bad = ids[invalid].fillna("").tolist()
            self.add(
                WARNING,
                "invalid_geometry",
                f"areas: {plural(len(bad), 'area')} with an invalid geometry: "
                f"{listing(bad)}; repair with shapely.make_valid (read_areas does)",
                bad,
            )
        if "group" in a:
            group = self.blank_ids("group")
            no_group = ids[group.isna().to_numpy()].fillna("").tolist()
            if no_group:
                self.add(
                    WARNING,
                    "missing_group",
                    f"areas: {plural(len(no_group), 'area')} without a group in column "
                    f"group: {listing(no_group)}",
                    no_group,
                )

    def _population_plausible(self) -> None:
        pop = self.pop.to_numpy(dtype="float64", na_value=np.nan)
        ids = self.ids.fillna("").to_numpy()
        finite = np.isfinite(pop) & (pop >= 0)
        fractional = finite & (pop != np.round(pop))
        # 1.609 and 2.000 read from "1.609", "2.000": thousands with '.' as the separator
        with np.errstate(over="ignore", invalid="ignore"):  # 1e305 people: no thousands
            dotted = finite & (pop < 100) & (np.abs(pop * 1000 - np.round(pop * 1000)) < 1e-6)
        if fractional.any() and (dotted & fractional).sum() * 2 >= finite.sum():
            parts = [f"{i} {v:.3f}" for i, v in zip(ids[dotted], pop[dotted], strict=True)]
            self.add(
                ERROR,
                "population_decimal_thousands",
                f"areas: {plural(int(dotted.sum()), 'population')} in column population "
                f"look like thousands written with a '.' as separator ({listing(parts)}): "
                "1.609 was read as 1.609 people; write 1609 or 1,609 in the file",
                ids[dotted].tolist(),
            )
        elif fractional.any():
            parts = [f"{i} {v:g}" for i, v in zip(ids[fractional], pop[fractional], strict=True)]
            self.add(
                WARNING,
                "fractional_population",
                f"areas: {plural(int(fractional.sum()), 'population')} in column population "
                f"are not whole numbers: {listing(parts)}; check they are counts of people",
                ids[fractional].tolist(),
            )
        self._population_ranges(ids, pop, finite)

    def _population_ranges(self, ids: np.ndarray, pop: np.ndarray, finite: np.ndarray) -> None:
        huge = finite & (pop > MAX_AREA_POPULATION)
        if huge.any():
            parts = [f"{i} {v:,.6g}" for i, v in zip(ids[huge], pop[huge], strict=True)]
            self.add(
                WARNING,
                "implausible_population",
                f"areas: {plural(int(huge.sum()), 'area')} with more than "
                f"{MAX_AREA_POPULATION:,} people (more than London): {listing(parts)}; check "
                "the population file and column",
                ids[huge].tolist(),
            )
        prefix = np.array([str(i)[:3].upper() for i in ids])
        for code in sorted(set(prefix) & set(POPULATION_RANGES)):
            kind, low, high = POPULATION_RANGES[code]
            odd = finite & (prefix == code) & ((pop < low) | (pop > high))
            if odd.any():
                parts = [f"{i} {v:,.6g}" for i, v in zip(ids[odd], pop[odd], strict=True)]
                self.add(
                    WARNING,
                    "implausible_population",
                    f"areas: {plural(int(odd.sum()), code + ' area')} ({kind}s usually hold "
                    f"{low:,.0f}-{high:,.0f} people) have a population outside that range: "
                    f"{listing(parts)}; check the population file and column",
                    ids[odd].tolist(),
                )

    def _geometry_types(self, empty: np.ndarray) -> None:
        types = np.asarray(self.frame.geometry.geom_type.to_numpy(), dtype=object)
        present = types[~empty]
        polygonal = np.isin(present, ["Polygon", "MultiPolygon"])
        pointal = np.isin(present, ["Point", "MultiPoint"])
        if polygonal.all() or pointal.all():
            return
        wrong = ~empty & ~np.isin(types, ["Polygon", "MultiPolygon"])
        if not polygonal.any():
            wrong = ~empty & ~np.isin(types, ["Point", "MultiPoint"])
        bad = self.ids[wrong].fillna("").tolist()
        kinds = ", ".join(sorted(set(types[wrong])))
        self.add(
            ERROR,
            "wrong_geometry_type",
            f"areas: {plural(len(bad), 'area')} have {kinds} geometries: {listing(bad)}; areas "
            "are polygons (boundaries) or points (one location each): fix or remove them",
            bad,
        )

    def describe(self, check: str, ids: list[str]) -> None:
        n = len(ids)
        if check == "blank_id":
            blank = self.ids.isna()
            self.add(
                ERROR,
                "missing_area_id",
                f"areas: {plural(int(blank.sum()), 'row')} without an area code in column "
                f"area_id (index {self.index_of(blank)})",
                count=int(blank.sum()),
            )
        elif check == "duplicate":
            counts = self.ids.value_counts()
            parts = [f"{i} {counts[i]} times" for i in ids]
            self.add(
                ERROR,
                "duplicate_area_id",
                f"areas: area {ids[0]} appears {counts[ids[0]]} times in column area_id; "
                "keep one row per area"
                if n == 1
                else f"areas: {n:,} areas appear more than once in column area_id: "
                f"{listing(parts)}; keep one row per area",
                ids,
            )
        elif check == "negative":
            value = self.pop.groupby(self.ids.to_numpy()).first()
            parts = [f"{i} {number(value[i])}" for i in ids]
            self.add(
                ERROR,
                "negative_population",
                f"areas: negative population {number(value[ids[0]])} for area {ids[0]} in "
                "column population"
                if n == 1
                else f"areas: negative population for {n:,} areas in column population: "
                f"{listing(parts)}",
                ids,
            )
        elif check == "nan":
            self._describe_nan(set(ids))
        else:
            self.add(
                ERROR,
                "empty_geometry",
                f"areas: {plural(n, 'area')} without geometry: {listing(ids)}; "
                "give them a location or remove them",
                ids,
            )

    def _describe_nan(self, keys: set[str]) -> None:
        rows = self.ids.isin(keys).to_numpy() & self.pop.isna().to_numpy()
        text = self.raw[rows].astype("str").str.strip()
        blank = (text.isna() | (text == "")).to_numpy()
        missing = self.ids[rows][blank].fillna("").tolist()
        if missing:
            self.add(
                ERROR,
                "missing_population",
                f"areas: population is missing for {plural(len(missing), 'area')} in column "
                f"population: {listing(missing)}",
                missing,
            )
        bad = self.ids[rows][~blank].fillna("").tolist()
        if bad:
            parts = [f"{i} {t!r}" for i, t in zip(bad, text[~blank], strict=True)]
            verb = "is not a number" if len(bad) == 1 else "are not numbers"
            self.add(
                ERROR,
                "non_numeric_population",
                f"areas: {plural(len(bad), 'population')} in column population {verb}: "
                f"{listing(parts)}",
                bad,
            )


class _SiteChecks(_Checks):
    what = "sites"

    def __init__(self, sites: gpd.GeoDataFrame, areas: gpd.GeoDataFrame, within: float):
        super().__init__(sites)
        self.areas = areas
        self.within = within

    def collect(self) -> None:
        s = self.frame
        if not self.has_columns(("site_id", "geometry")):
            return
        if len(s) == 0:
            self.add(ERROR, "no_sites", "sites: there are no sites", count=1)
            return
        self.ids = ids = self.blank_ids("site_id")
        if ids.isna().any():
            n = int(ids.isna().sum())
            self.add(
                ERROR,
                "missing_site_id",
                f"sites: {plural(n, 'site')} without an id in column site_id "
                f"(index {self.index_of(ids.isna())})",
                count=n,
            )
        self.current["duplicate_site"] = _duplicates(ids)
        self._merged_ids()
        empty = _empty(s)
        if empty.any():
            bad = ids[empty].fillna("").tolist()
            self.add(
                ERROR,
                "empty_geometry",
                f"sites: {plural(len(bad), 'site')} without geometry: {listing(bad)}; "
                "give them a location or remove them",
                bad,
            )
        crs_a, crs_s = getattr(self.areas, "crs", None), s.crs
        if crs_a is not None and crs_s is not None and CRS.from_user_input(crs_a) != crs_s:
            self.add(
                ERROR,
                "crs_mismatch",
                f"sites are in {_crs_name(s)} but areas are in {_crs_name(self.areas)}; "
                "project both to one CRS, e.g. sites.to_crs(areas.crs)",
                count=1,
            )
        elif np.isfinite(self.within) and "geometry" in self.areas and len(self.areas):
            self._far(empty)

    def _merged_ids(self) -> None:
        if "merged_ids" not in self.frame:
            return
        merged = self.frame["merged_ids"].fillna("").astype("str").str.split(";")
        several = merged.map(len) > 1
        if several.any():
            parts = [
                f"{sid} (also {', '.join(i for i in codes if i != sid)})"
                for sid, codes in zip(self.ids[several], merged[several], strict=True)
            ]
            self.add(
                WARNING,
                "merged_site_ids",
                f"sites: {plural(int(several.sum()), 'location')} hold several ids, merged into "
                f"one site each: {listing(parts)}; required_sites and forbidden_sites accept "
                "any of the ids",
                self.ids[several].fillna("").tolist(),
            )

    def _far(self, empty: np.ndarray) -> None:
        geoms = self.areas.geometry.to_numpy()
        tree = shapely.STRtree(geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))])
        near = np.zeros(len(self.frame), dtype=bool)
        points = self.frame.geometry.to_numpy()
        near[tree.query(points, predicate="dwithin", distance=self.within)[0]] = True
        far = self.ids[~near & ~empty].fillna("").tolist()
        if far:
            self.add(
                WARNING,
                "site_outside_study_area",
                f"sites: {plural(len(far), 'site')} farther than {self.within:,.0f} m from "
                f"every area: {listing(far)}; drop them, or pass study_area= to read_sites",
                far,
            )

    def describe(self, check: str, ids: list[str]) -> None:
        counts = self.ids.value_counts()
        parts = [f"{i} ({counts[i]} sites)" for i in ids]
        self.add(
            ERROR,
            "duplicate_site_id",
            f"sites: {plural(len(ids), 'site id')} used by more than one site in column "
            f"site_id: {listing(parts)}; give each site its own id",
            ids,
        )
