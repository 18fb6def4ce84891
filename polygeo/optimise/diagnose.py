"""Diagnosis of certain infeasibility, before any solve.

:func:`diagnose` looks at the inputs with vectorised array arithmetic (seconds
at London scale) and names what makes the rules impossible to meet:

* sites that cannot reach the minimum population within the travel limit
  (information: they can never open, so the optimiser drops them);
* areas that no viable site can serve within the limit, each with the nearest
  viable site and the minutes it would need;
* conflicts between budget, required hubs, hub counts and populations.

:func:`polygeo.optimise.solve` runs it first and raises
:class:`~polygeo.errors.InfeasibleError` carrying the :class:`Diagnosis`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from polygeo.errors import InfeasibleError

if TYPE_CHECKING:  # pragma: no cover
    from polygeo.optimise.rules import Rules

UNSERVED_COLUMNS = ["area_id", "population", "nearest_site_id", "nearest_minutes", "limit_minutes"]
UNVIABLE_COLUMNS = ["site_id", "reachable_population", "reason"]


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})


def _json(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item"):
        return _json(value.item())
    return value


@dataclass
class Diagnosis:
    """What makes a set of rules infeasible, found before solving.

    Attributes
    ----------
    areas_unserved
        ``area_id, population, nearest_site_id, nearest_minutes, limit_minutes``:
        areas that no viable site can serve within their travel limit.
        ``nearest_minutes`` is NaN when the travel provider could not be asked
        (no ``far_times``); the nearest site is then the nearest in a straight line.
    sites_unviable
        ``site_id, reachable_population, reason``: sites that can never open
        (information, not a conflict on its own).
    conflicts
        Readable sentences, one per certain infeasibility.
    exceptions
        True when the unserved areas become exceptions (``allow_exceptions``).
    notes
        Further information (reductions made, settings used).
    """

    areas_unserved: pd.DataFrame = field(default_factory=lambda: _empty(UNSERVED_COLUMNS))
    sites_unviable: pd.DataFrame = field(default_factory=lambda: _empty(UNVIABLE_COLUMNS))
    conflicts: list[str] = field(default_factory=list)
    exceptions: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def infeasible(self) -> bool:
        """True when the rules certainly cannot be met."""
        return bool(self.conflicts) or (len(self.areas_unserved) > 0 and not self.exceptions)

    @property
    def ok(self) -> bool:
        """True when nothing certainly infeasible was found."""
        return not self.infeasible

    def format_text(self, *, max_rows: int = 20) -> str:
        """A readable report for a terminal."""
        lines: list[str] = []
        if self.infeasible:
            lines.append("The rules cannot be met:")
        else:
            lines.append("No certain infeasibility found.")
        for c in self.conflicts:
            lines.append(f"  - {c}")
        n = len(self.areas_unserved)
        if n:
            people = float(self.areas_unserved["population"].sum())
            verb = "are served as exceptions" if self.exceptions else "cannot be served"
            lines.append(
                f"{n} areas ({people:,.0f} people) {verb}: no viable hub site is within their "
                "travel limit."
            )
            for row in self.areas_unserved.head(max_rows).itertuples(index=False):
                near = (
                    "no viable site at all"
                    if row.nearest_site_id is None or pd.isna(row.nearest_site_id)
                    else f"nearest viable site {row.nearest_site_id}"
                    + (
                        " (minutes unknown: no travel provider to ask)"
                        if pd.isna(row.nearest_minutes)
                        else f" at {row.nearest_minutes:.1f} min"
                    )
                )
                limit = "" if pd.isna(row.limit_minutes) else f", limit {row.limit_minutes:g} min"
                lines.append(f"  - {row.area_id} ({row.population:,.0f} people): {near}{limit}")
            if n > max_rows:
                lines.append(f"  ... and {n - max_rows} more")
            if not self.exceptions:
                lines.append(
                    "  Fix: raise the travel limit for these areas, add candidate sites near them, "
                    "lower min_population, or set allow_exceptions = true."
                )
        m = len(self.sites_unviable)
        if m:
            lines.append(f"{m} candidate sites can never open (information):")
            for row in self.sites_unviable.head(max_rows).itertuples(index=False):
                lines.append(f"  - {row.site_id}: {row.reason}")
            if m > max_rows:
                lines.append(f"  ... and {m - max_rows} more")
        for note in self.notes:
            lines.append(f"note: {note}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""

        def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
            return [
                {k: _json(v) for k, v in row.items()} for row in frame.to_dict(orient="records")
            ]

        return {
            "infeasible": self.infeasible,
            "conflicts": list(self.conflicts),
            "exceptions": self.exceptions,
            "areas_unserved": records(self.areas_unserved),
            "sites_unviable": records(self.sites_unviable),
            "notes": list(self.notes),
        }

    def raise_if_infeasible(self) -> None:
        """Raise :class:`~polygeo.errors.InfeasibleError` when infeasible."""
        if not self.infeasible:
            return
        parts = list(self.conflicts)
        n = len(self.areas_unserved)
        if n and not self.exceptions:
            parts.append(
                f"{n} areas ({float(self.areas_unserved['population'].sum()):,.0f} people) have "
                "no viable hub site within their travel limit"
            )
        raise InfeasibleError(
            "the rules cannot be met: " + "; ".join(parts) + ".\n" + self.format_text(),
            self,
        )


def diagnose(
    areas: pd.DataFrame,
    sites: pd.DataFrame,
    travel: pd.DataFrame,
    rules: Rules | None = None,
    options: pd.DataFrame | None = None,
    far_times: Callable[..., pd.DataFrame] | None = None,
    *,
    adjacency: Any = None,
    limit: Any = None,
) -> Diagnosis:
    """Find certain infeasibilities before solving.

    Parameters
    ----------
    areas, sites, travel
        The areas and sites frames and the sparse travel table (docs/architecture.md).
    rules
        The rules (default :class:`Rules`).
    options
        Capital options (``site_id, option, capital_cost, capacity``); default one
        ``reuse`` option at cost 0 for every site.
    far_times
        ``far_times(area_ids, site_ids) -> DataFrame(area_id, site_id, minutes)``
        with no travel limit, to say how far unserved areas are from the nearest
        viable site. ``None``: those minutes are unknown.
    adjacency
        Area adjacency for ``contiguous`` rules (default: from the polygons).
    limit
        The travel limit (a ``TravelLimit`` or minutes) for the report's
        ``limit_minutes``; default ``travel.attrs["limit"]`` when present.

    Returns
    -------
    Diagnosis
    """
    from polygeo.optimise.problem import build_problem
    from polygeo.optimise.rules import Rules

    problem = build_problem(
        areas,
        sites,
        travel,
        rules if rules is not None else Rules(),
        options=options,
        far_times=far_times,
        adjacency=adjacency,
        limit=limit,
    )
    return problem.diagnosis
