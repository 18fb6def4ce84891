"""Travel-time limits: a global limit with per-area and per-site-kind exceptions.

The rule
--------
A pair (area *i*, site *j*) may be used when its travel time is at most its limit:

* the area's own limit ``per_area[i]`` when it has one, **or** the limit for
  the site's kind ``per_kind[kind_j]`` when there is one — the **stricter
  (smaller)** of the two when both apply;
* otherwise the global ``minutes``.

So a per-area or per-kind value replaces the global limit (it may be longer,
e.g. 30 minutes for a rural area, or 25 for hospitals), and when both apply the
stricter wins (a deprived area with a 15-minute limit keeps 15 minutes to a
hospital even when hospitals allow 25).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from polygeo.errors import InputError
from polygeo.travel._common import area_ids, examples


def _check_minutes(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InputError(f"{what} must be a number of minutes, got {value!r}")
    value = float(value)
    if not math.isfinite(value) or value < 0:
        raise InputError(f"{what} must be a finite number of minutes >= 0, got {value!r}")
    return value


@dataclass(frozen=True, eq=False)
class TravelLimit:
    """The longest acceptable trip from an area to a hub site, in minutes.

    Parameters
    ----------
    minutes
        The global limit.
    per_area
        Limits for some areas: a Series indexed by ``area_id`` (missing values
        mean "use the global or per-kind limit").
    per_kind
        Limits by site kind (``sites.kind``), e.g. ``{"hospital": 25}``.

    Notes
    -----
    A pair's limit is the per-area value or the per-kind value when one applies
    (the stricter when both do), else the global ``minutes``. See
    :mod:`polygeo.travel.limits`.

    Examples
    --------
    >>> limit = TravelLimit(20, per_kind={"hospital": 25})
    >>> limit = TravelLimit.from_area_column(areas, "imd_decile", {1: 15, 2: 15}, minutes=20)
    """

    minutes: float
    per_area: pd.Series | None = None
    per_kind: dict[str, float] | None = field(default=None)

    def __post_init__(self) -> None:
        object.__setattr__(self, "minutes", _check_minutes(self.minutes, "the travel limit"))
        if self.per_kind is not None:
            if not isinstance(self.per_kind, Mapping):
                raise InputError(
                    f"per_kind must map site kinds to minutes, got {type(self.per_kind).__name__}"
                )
            kinds = {
                str(k): _check_minutes(v, f"the travel limit for site kind {k!r}")
                for k, v in self.per_kind.items()
            }
            object.__setattr__(self, "per_kind", kinds or None)
        if self.per_area is not None:
            series = pd.Series(self.per_area)
            series.index = series.index.astype(str)
            if not series.index.is_unique:
                dup = series.index[series.index.duplicated()].unique()
                raise InputError(f"per_area limits name some areas twice, e.g. {examples(dup)}")
            values = pd.to_numeric(series, errors="coerce").astype("float64")
            bad = values.notna() & ~((values >= 0) & np.isfinite(values))
            bad |= values.isna() & series.notna()
            if bad.any():
                raise InputError(
                    "per_area limits must be minutes >= 0; bad values for areas "
                    f"{examples(series.index[bad])}: {examples(series[bad])}"
                )
            object.__setattr__(self, "per_area", values.dropna())

    @classmethod
    def from_area_column(
        cls,
        areas: pd.DataFrame,
        column: str,
        values: Mapping[object, float],
        *,
        minutes: float,
        per_kind: Mapping[str, float] | None = None,
    ) -> TravelLimit:
        """Build per-area limits from a column of the areas frame.

        Parameters
        ----------
        areas
            The areas frame (``area_id`` and ``column``).
        column
            The column whose values select a limit, e.g. ``"imd_decile"``.
        values
            Column value -> minutes, e.g. ``{1: 15, 2: 15}``. Keys are matched
            to the column's values as numbers when the column is numeric and the
            keys parse as numbers (so TOML's string keys ``"1"`` work), else as
            stripped strings. Areas whose value is not listed use the global or
            per-kind limit.
        minutes
            The global limit.
        per_kind
            Limits by site kind.

        Returns
        -------
        TravelLimit
        """
        if column not in areas.columns:
            raise InputError(
                f"the areas frame has no column {column!r} for per-area travel limits "
                f"(columns: {list(areas.columns)[:15]}); keep it when loading the areas"
            )
        if not isinstance(values, Mapping) or not values:
            raise InputError(
                f"per-area limits for {column!r} must map column values to minutes, "
                f"e.g. {{1: 15, 2: 15}}; got {values!r}"
            )
        col = areas[column]
        limits = {
            k: _check_minutes(v, f"the travel limit for {column} = {k!r}")
            for k, v in values.items()
        }
        if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            try:
                keyed = {float(k): v for k, v in limits.items()}
            except (TypeError, ValueError):
                keyed = None
            if keyed is not None:
                mapped = col.astype("float64").map(keyed)
            else:
                mapped = (
                    col.astype(str).str.strip().map({str(k).strip(): v for k, v in limits.items()})
                )
        else:
            mapped = col.astype(str).str.strip().map({str(k).strip(): v for k, v in limits.items()})
        series = pd.Series(mapped.to_numpy(dtype="float64"), index=area_ids(areas))
        return cls(minutes, per_area=series.dropna(), per_kind=dict(per_kind) if per_kind else None)

    # -- vectorised look-ups ------------------------------------------------

    def area_limits(self, areas: pd.DataFrame) -> np.ndarray:
        """Per-area limit for each row of ``areas`` (NaN where none is set)."""
        n = len(areas)
        if self.per_area is None or self.per_area.empty:
            return np.full(n, np.nan)
        return self.per_area.reindex(area_ids(areas)).to_numpy(dtype="float64")

    def site_limits(self, sites: pd.DataFrame) -> np.ndarray:
        """Per-kind limit for each row of ``sites`` (NaN where none is set)."""
        n = len(sites)
        if not self.per_kind:
            return np.full(n, np.nan)
        if "kind" not in sites.columns:
            raise InputError(
                "travel limits by site kind need a 'kind' column in the sites frame "
                "(load sites with polygeo.io.read_sites)"
            )
        return (
            sites["kind"].astype(str).map(self.per_kind).to_numpy(dtype="float64", na_value=np.nan)
        )

    def pair_limits(
        self,
        area_index: np.ndarray,
        site_index: np.ndarray,
        *,
        area_limits: np.ndarray,
        site_limits: np.ndarray,
    ) -> np.ndarray:
        """Limit of each pair from precomputed :meth:`area_limits` / :meth:`site_limits`."""
        a = area_limits[area_index]
        s = site_limits[site_index]
        both = np.fmin(a, s)  # NaN only where neither applies
        return np.where(np.isnan(both), self.minutes, both)

    def for_pairs(
        self,
        areas: pd.DataFrame,
        sites: pd.DataFrame,
        area_index: np.ndarray,
        site_index: np.ndarray,
    ) -> np.ndarray:
        """Limit in minutes of each pair (``area_index[k]``, ``site_index[k]``).

        Parameters
        ----------
        areas, sites
            The frames the positions refer to.
        area_index, site_index
            Row positions (equal-length integer arrays).

        Returns
        -------
        numpy.ndarray
            float64 limits, one per pair.
        """
        return self.pair_limits(
            np.asarray(area_index),
            np.asarray(site_index),
            area_limits=self.area_limits(areas),
            site_limits=self.site_limits(sites),
        )

    def area_max_minutes(
        self, areas: pd.DataFrame, sites: pd.DataFrame | None = None
    ) -> np.ndarray:
        """The longest limit any pair of each area can have (its search radius in minutes)."""
        a = self.area_limits(areas)
        if sites is None:
            kinds = list((self.per_kind or {}).values())
            other = max([self.minutes, *kinds])
        else:
            s = self.site_limits(sites)
            other = np.where(np.isnan(s), self.minutes, s).max() if len(s) else self.minutes
        return np.where(np.isnan(a), other, a)

    def max_minutes(
        self, areas: pd.DataFrame | None = None, sites: pd.DataFrame | None = None
    ) -> float:
        """The longest limit any pair can have: the radius a search must cover.

        Without frames, the largest of the global, per-area and per-kind values;
        with them, only the values that apply to those areas and sites.
        """
        if areas is None:
            values = [self.minutes, *(self.per_kind or {}).values()]
            if self.per_area is not None and not self.per_area.empty:
                values.append(float(self.per_area.max()))
            return float(max(values))
        radii = self.area_max_minutes(areas, sites)
        return float(radii.max()) if len(radii) else 0.0

    def describe(self) -> str:
        """One line describing the limit, for logs and reports."""
        parts = [f"{self.minutes:g} min"]
        if self.per_kind:
            parts.append(
                "by site kind " + ", ".join(f"{k}={v:g}" for k, v in self.per_kind.items())
            )
        if self.per_area is not None and not self.per_area.empty:
            parts.append(
                f"{len(self.per_area)} areas with their own limit "
                f"({self.per_area.min():g}-{self.per_area.max():g} min)"
            )
        return "; ".join(parts)


def as_limit(limit: TravelLimit | float | int | None) -> TravelLimit | None:
    """Accept a plain number as a global limit."""
    if limit is None or isinstance(limit, TravelLimit):
        return limit
    return TravelLimit(limit)
