"""The result of an optimisation: assignments, hubs, solver facts and metrics.

A :class:`Plan` is plain data (DataFrames and dicts) so that a notebook user can
look at it, filter it and write it anywhere; :meth:`Plan.summary` is the
JSON-ready dict behind ``summary.json``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    from polygeo.optimise.rules import Rules

ASSIGNMENT_COLUMNS = ["area_id", "site_id", "minutes", "exception"]
HUB_COLUMNS = [
    "site_id",
    "name",
    "kind",
    "option",
    "capital_cost",
    "x",
    "y",
    "population",
    "areas",
    "mean_minutes",
    "max_minutes",
]


def _jsonable(value: Any) -> Any:
    """Convert numpy scalars and containers to JSON-ready Python values (NaN -> None)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_jsonable(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return value


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """The smallest value whose cumulative weight share reaches ``q`` (NaN when empty)."""
    values = np.asarray(values, dtype=float)
    weights = np.asarray(weights, dtype=float)
    if len(values) == 0:
        return float("nan")
    if weights.sum() <= 0:
        weights = np.ones(len(values))
    order = np.argsort(values, kind="stable")
    cum = np.cumsum(weights[order])
    k = int(np.searchsorted(cum, q * cum[-1] - 1e-9 * cum[-1]))
    return float(values[order][min(k, len(values) - 1)])


@dataclass
class Plan:
    """A plan: every area's hub, the hubs, and how the solver got there.

    Attributes
    ----------
    assignments
        ``area_id, site_id, minutes, exception`` - one row per assigned area, in
        the areas' order. ``exception`` marks areas served beyond their travel
        limit (only with ``allow_exceptions``).
    hubs
        ``site_id, name, kind, option, capital_cost, x, y, population, areas,
        mean_minutes, max_minutes`` - one row per open hub; ``x``/``y`` are the
        site point in the working CRS, ``mean_minutes`` is population-weighted.
    solver
        ``status, objective, bound, gap, build_seconds, solve_seconds, optimal,
        name`` and more (rounds, cuts, limits).
    objective_terms
        ``travel`` (person-minutes), ``cost`` (capital), ``hubs`` (count),
        ``exception`` (penalty person-minutes), whatever the objective.
    rules
        The rules the plan was made under.
    crs
        The working CRS of ``x``/``y``, e.g. ``"EPSG:27700"``.
    population
        Population of every area (assigned or not), indexed by ``area_id``.
    stats
        Problem and model sizes, reductions.
    diagnosis
        The pre-solve :class:`~polygeo.optimise.diagnose.Diagnosis`.
    areas, sites
        The areas and candidate sites (GeoDataFrames) the plan was made from, kept by
        reference so that :meth:`explore` needs no argument; None when unknown.
    """

    assignments: pd.DataFrame
    hubs: pd.DataFrame
    solver: dict[str, Any]
    objective_terms: dict[str, float]
    rules: Rules | None = None
    crs: str | None = None
    population: pd.Series | None = None
    stats: dict[str, Any] = field(default_factory=dict)
    diagnosis: Any = None
    areas: Any = field(default=None, repr=False, compare=False)
    sites: Any = field(default=None, repr=False, compare=False)

    # -- metrics ---------------------------------------------------------------------------
    def _area_population(self) -> pd.Series:
        if self.population is not None:
            return self.population
        return pd.Series(1.0, index=self.assignments["area_id"].astype(str))

    def metrics(self) -> dict[str, Any]:
        """Headline numbers of the plan.

        Returns
        -------
        dict
            ``coverage`` (share of the population assigned; 1.0 = 100%),
            ``coverage_within_limit``, ``population`` (total), ``areas``,
            ``areas_assigned``, ``hubs``, ``hub_population_min`` /
            ``hub_population_max``, population-weighted ``mean_minutes`` /
            ``p95_minutes`` / ``max_minutes``, ``capital_total``, ``exceptions``
            (areas), ``exceptions_population``.
        """
        pop = self._area_population()
        a = self.assignments
        w = pop.reindex(a["area_id"].astype(str)).fillna(0.0).to_numpy(dtype=float)
        minutes = a["minutes"].to_numpy(dtype=float)
        exc = a["exception"].to_numpy(dtype=bool)
        total = float(pop.sum())
        assigned = float(w.sum())
        if total > 0:
            coverage = assigned / total
            within = float(w[~exc].sum()) / total
        else:
            coverage = len(a) / max(len(pop), 1)
            within = float((~exc).sum()) / max(len(pop), 1)
        hub_pop = self.hubs["population"].to_numpy(dtype=float)
        if len(minutes):
            mean = float(np.average(minutes, weights=w)) if w.sum() > 0 else float(minutes.mean())
            positive = minutes[w > 0] if (w > 0).any() else minutes
            worst = float(positive.max())
        else:
            mean = worst = float("nan")
        return {
            "coverage": coverage,
            "coverage_within_limit": within,
            "population": total,
            "areas": int(len(pop)),
            "areas_assigned": int(len(a)),
            "hubs": int(len(self.hubs)),
            "hub_population_min": float(hub_pop.min()) if len(hub_pop) else float("nan"),
            "hub_population_max": float(hub_pop.max()) if len(hub_pop) else float("nan"),
            "mean_minutes": mean,
            "p95_minutes": weighted_quantile(minutes, w, 0.95),
            "max_minutes": worst,
            "capital_total": float(self.hubs["capital_cost"].sum()) if len(self.hubs) else 0.0,
            "exceptions": int(exc.sum()),
            "exceptions_population": float(w[exc].sum()),
        }

    def summary(self) -> dict[str, Any]:
        """A JSON-ready dict for ``summary.json``.

        Returns
        -------
        dict
            ``rules``, ``solver`` (``status, objective, bound, gap, build_seconds,
            solve_seconds, optimal, name, ...``), ``objective_terms``,
            ``coverage``, ``coverage_within_limit``, ``population``, ``areas``,
            ``hubs``, ``hub_population`` (``min``, ``max``), ``minutes``
            (population-weighted ``mean``, ``p95``, ``max``), ``capital_total``,
            ``exceptions`` (``count``, ``population``), ``crs`` and ``model``
            (sizes and reductions).
        """
        m = self.metrics()
        out = {
            "rules": self.rules.to_dict() if self.rules is not None else None,
            "solver": dict(self.solver),
            "objective_terms": dict(self.objective_terms),
            "coverage": m["coverage"],
            "coverage_within_limit": m["coverage_within_limit"],
            "population": m["population"],
            "areas": m["areas"],
            "hubs": m["hubs"],
            "hub_population": {"min": m["hub_population_min"], "max": m["hub_population_max"]},
            "minutes": {
                "mean": m["mean_minutes"],
                "p95": m["p95_minutes"],
                "max": m["max_minutes"],
            },
            "capital_total": m["capital_total"],
            "exceptions": {"count": m["exceptions"], "population": m["exceptions_population"]},
            "crs": self.crs,
            "model": dict(self.stats),
        }
        return _jsonable(out)

    def explore(self, m: Any = None, **kwargs: Any) -> Any:
        """An interactive folium map of the plan, as ``GeoDataFrame.explore`` draws a frame.

        Parameters
        ----------
        m
            A ``folium.Map`` to add the plan's layers to; a new map when None.
        **kwargs
            ``areas`` / ``sites`` to draw instead of ``plan.areas`` / ``plan.sites``, and the
            keywords of :func:`polygeo.maps.catchment_map` (``title``, ``simplify_m``, ...).

        Returns
        -------
        folium.Map
        """
        from polygeo.maps import plan_map

        return plan_map(self, m=m, **kwargs)

    def __repr__(self) -> str:
        s = self.solver
        return (
            f"Plan({len(self.hubs)} hubs, {len(self.assignments)} areas, "
            f"status={s.get('status')!r}, objective={s.get('objective')!r})"
        )
