"""The implementation timetable: which year each hub of a plan opens.

Given annual capital budgets (the scenario's ``[timetable]`` table)::

    [timetable]
    budgets = {2009 = 40e6, 2010 = 60e6, 2011 = 60e6, 2012 = 40e6}
    carry_over = false        # unspent budget may be spent in a later year

the hubs of a plan are phased over the years to maximise **population-years**:
a hub opened in year ``t`` serves its catchment population in every year from
``t`` to the last year. No year spends more than its budget (with
``carry_over``: no year's spending to date exceeds the budgets to date) and no
hub opens before its option's ``ready_year``.

Method: a small binary program solved exactly by HiGHS (``scipy.optimize.milp``).
One binary per hub and year it may open in, one row per hub (open at most once)
and one per year (the budget). Phasing under budgets is a multiple-knapsack
problem, NP-hard in general, so a greedy order is not exact; but a plan has tens
to a few hundred hubs and a handful of years, so the program has at most a few
thousand binaries and HiGHS proves the optimum in well under a second. A dynamic
programme over budgets would need the costs on a coarse grid and grows with the
budget sizes; the MIP is exact and simple.

Hubs that cannot open within the years (over budget, or ready too late) are
listed with the least extra budget in the last year that would open all of them
(a second, equally small program).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

from polygeo.errors import InputError, SolverError

TIMETABLE_COLUMNS = [
    "year",
    "site_id",
    "name",
    "option",
    "capital_cost",
    "population",
    "cumulative_population",
]
#: Seconds HiGHS may take on a timetable (it needs far less).
TIME_LIMIT = 60.0
_TOL = 1e-6


@dataclass
class Timetable:
    """A phased opening of a plan's hubs.

    Attributes
    ----------
    schedule
        ``year, site_id, name, option, capital_cost, population,
        cumulative_population`` (the population served by the hubs open by the
        end of that year), one row per hub that opens, by year.
    unscheduled
        ``site_id, name, option, capital_cost, ready_year, reason`` of hubs that
        do not fit in the years given.
    budgets
        Budget of every year.
    carry_over
        Whether unspent budget carried over.
    population_years
        The objective: population x years served, summed over the period.
    extra_budget_needed
        The least extra capital in the last year that would open every hub that
        is ready by then (0 when all fit), or ``None`` when no hub is over budget.
    status
        The solver's status (``optimal``).
    """

    schedule: pd.DataFrame
    unscheduled: pd.DataFrame
    budgets: dict[int, float]
    carry_over: bool
    population_years: float
    extra_budget_needed: float | None = None
    status: str = "optimal"
    spent: dict[int, float] = field(default_factory=dict)

    def message(self) -> str | None:
        """A sentence naming the hubs that do not fit and the budget they would need."""
        if self.unscheduled.empty:
            return None
        first, last = min(self.budgets), max(self.budgets)
        names = ", ".join(
            f"{r.site_id} ({r.name}, {r.capital_cost:,.0f}"
            + (f", ready {int(r.ready_year)}" if pd.notna(r.ready_year) else "")
            + ")"
            for r in self.unscheduled.itertuples()
        )
        n = len(self.unscheduled)
        verb = "hub does" if n == 1 else "hubs do"
        text = f"{n} {verb} not fit in the budgets {first}-{last}: {names}."
        late = int(self.unscheduled["reason"].eq("ready after the last year").sum())
        if late:
            text += (
                f" {late} {'is' if late == 1 else 'are'} only ready after {last}; add later years."
            )
        if self.extra_budget_needed:
            text += (
                f" The others need {self.extra_budget_needed:,.0f} more capital "
                f"(added to {last}'s budget of {self.budgets[last]:,.0f})."
            )
        return text

    def summary(self) -> dict[str, Any]:
        """A JSON-ready dict for ``summary.json`` ``timetable``."""
        return {
            "method": "exact binary program (HiGHS via scipy.optimize.milp)",
            "status": self.status,
            "carry_over": self.carry_over,
            "budgets": {str(y): b for y, b in self.budgets.items()},
            "spent": {str(y): s for y, s in self.spent.items()},
            "population_years": self.population_years,
            "hubs_scheduled": int(len(self.schedule)),
            "hubs_unscheduled": self.unscheduled.to_dict("records"),
            "extra_budget_needed": self.extra_budget_needed,
            "message": self.message(),
        }


def budgets_from_settings(value: Any, *, source: str = "[timetable]") -> dict[int, float]:
    """``{year: budget}`` from ``budgets = {2009 = 40e6, ...}`` (keys are years)."""
    if not isinstance(value, Mapping) or not value:
        raise InputError(f"{source}: budgets must be a table such as {{2009 = 40e6, 2010 = 60e6}}.")
    out: dict[int, float] = {}
    for key, amount in value.items():
        try:
            year = int(str(key).strip())
        except ValueError:
            raise InputError(f"{source}: budgets key {key!r} is not a year.") from None
        ok = isinstance(amount, int | float) and not isinstance(amount, bool)
        if not ok or not math.isfinite(amount) or amount < 0:
            raise InputError(f"{source}: budget of {year} must be a number >= 0, got {amount!r}.")
        out[year] = float(amount)
    return dict(sorted(out.items()))


def _served_years(years: np.ndarray, last: int) -> np.ndarray:
    return (last - years + 1).astype(float)


def _variables(ready: np.ndarray, years: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Hub and year index of every (hub, year) pair allowed by the ready years."""
    hub, year = [], []
    for h, r in enumerate(ready):
        for k, y in enumerate(years):
            if not (np.isfinite(r) and y < r):
                hub.append(h)
                year.append(k)
    return np.array(hub, dtype=int), np.array(year, dtype=int)


def _budget_rows(
    cost: np.ndarray, hub: np.ndarray, year: np.ndarray, n_years: int, carry_over: bool
) -> sp.csr_array:
    """Spending per year (or to date, with carry-over) of the pair variables."""
    rows, cols = ([], []) if carry_over else (year, np.arange(len(hub)))
    if carry_over:
        for k in range(n_years):
            sel = np.flatnonzero(year <= k)
            rows.extend([k] * len(sel))
            cols.extend(sel)
    rows, cols = np.asarray(rows, dtype=int), np.asarray(cols, dtype=int)
    return sp.csr_array((cost[hub[cols]], (rows, cols)), shape=(n_years, len(hub)))


def _limits(budgets: dict[int, float], carry_over: bool) -> np.ndarray:
    amounts = np.array(list(budgets.values()), dtype=float)
    return np.cumsum(amounts) if carry_over else amounts


def _run(c, constraints, integrality, upper) -> Any:
    result = milp(
        c,
        constraints=constraints,
        integrality=integrality,
        bounds=Bounds(np.zeros(len(c)), upper),
        options={"time_limit": TIME_LIMIT, "mip_rel_gap": 0.0},
    )
    if result.x is None:
        raise SolverError(f"the timetable program found no solution: {result.message}")
    return result


def phase(
    hubs: pd.DataFrame, budgets: Mapping[int, float], *, carry_over: bool = False
) -> Timetable:
    """Phase a plan's hub openings over the years.

    Parameters
    ----------
    hubs
        ``site_id, name, option, capital_cost, population`` and optional
        ``ready_year`` (NaN = ready now), one row per hub of the plan.
    budgets
        Capital budget of every year.
    carry_over
        Let unspent budget be spent in later years.

    Returns
    -------
    Timetable
        The schedule maximising population-years, and the hubs that do not fit.
    """
    budgets = {int(y): float(b) for y, b in sorted(budgets.items())}
    years = list(budgets)
    last = years[-1]
    cost = hubs["capital_cost"].to_numpy(dtype=float)
    pop = hubs["population"].to_numpy(dtype=float)
    ready = (
        pd.to_numeric(hubs["ready_year"], errors="coerce").to_numpy(dtype=float)
        if "ready_year" in hubs
        else np.full(len(hubs), np.nan)
    )
    hub, year = _variables(ready, years)
    n = len(hub)
    opened = np.full(len(hubs), -1)
    status = "optimal"
    if n:
        value = pop[hub] * _served_years(np.array(years)[year], last)
        once = sp.csr_array((np.ones(n), (hub, np.arange(n))), shape=(len(hubs), n))
        spend = _budget_rows(cost, hub, year, len(years), carry_over)
        result = _run(
            -value,
            [
                LinearConstraint(once, -np.inf, 1),
                LinearConstraint(spend, -np.inf, _limits(budgets, carry_over) + _TOL),
            ],
            np.ones(n),
            np.ones(n),
        )
        status = "optimal" if result.status == 0 else str(result.message)
        chosen = np.flatnonzero(result.x > 0.5)
        opened[hub[chosen]] = year[chosen]
    schedule = _schedule(hubs, opened, years)
    spent = {y: float(cost[opened == k].sum()) for k, y in enumerate(years)}
    unscheduled = _unscheduled(hubs, opened, ready, last)
    extra = None
    if not unscheduled.empty:
        extra = _extra_budget(hubs, ready, budgets, carry_over)
    pop_years = float((pop[opened >= 0] * (last - np.array(years)[opened[opened >= 0]] + 1)).sum())
    return Timetable(
        schedule=schedule,
        unscheduled=unscheduled,
        budgets=budgets,
        carry_over=carry_over,
        population_years=pop_years,
        extra_budget_needed=extra,
        status=status,
        spent=spent,
    )


def _schedule(hubs: pd.DataFrame, opened: np.ndarray, years: list[int]) -> pd.DataFrame:
    sel = opened >= 0
    out = pd.DataFrame(
        {
            "year": np.array(years, dtype=int)[opened[sel]],
            "site_id": hubs["site_id"].astype(str).to_numpy()[sel],
            "name": hubs["name"].astype(str).to_numpy()[sel],
            "option": hubs["option"].astype(str).to_numpy()[sel],
            "capital_cost": hubs["capital_cost"].to_numpy(dtype=float)[sel],
            "population": hubs["population"].to_numpy(dtype=float)[sel],
        }
    )
    out = out.sort_values(["year", "population"], ascending=[True, False], kind="stable")
    out["cumulative_population"] = out["population"].cumsum()
    return out.reset_index(drop=True)[TIMETABLE_COLUMNS]


def _unscheduled(
    hubs: pd.DataFrame, opened: np.ndarray, ready: np.ndarray, last: int
) -> pd.DataFrame:
    sel = opened < 0
    late = np.isfinite(ready) & (ready > last)
    return pd.DataFrame(
        {
            "site_id": hubs["site_id"].astype(str).to_numpy()[sel],
            "name": hubs["name"].astype(str).to_numpy()[sel],
            "option": hubs["option"].astype(str).to_numpy()[sel],
            "capital_cost": hubs["capital_cost"].to_numpy(dtype=float)[sel],
            "ready_year": ready[sel],
            "reason": np.where(late[sel], "ready after the last year", "over budget"),
        }
    )


def _extra_budget(
    hubs: pd.DataFrame, ready: np.ndarray, budgets: dict[int, float], carry_over: bool
) -> float | None:
    """Least extra capital in the last year with which every hub ready by then opens."""
    years = list(budgets)
    fits = ~(np.isfinite(ready) & (ready > years[-1]))
    sub = hubs[fits].reset_index(drop=True)
    hub, year = _variables(ready[fits], years)
    if len(hub) == 0:
        return None
    n = len(hub)
    cost = sub["capital_cost"].to_numpy(dtype=float)
    once = sp.csr_array((np.ones(n), (hub, np.arange(n))), shape=(len(sub), n))
    spend = _budget_rows(cost, hub, year, len(years), carry_over).tocoo()
    # the extra budget E is one more column, in the last year's row (all rows with carry-over)
    extra_rows = np.arange(len(years)) if carry_over else np.array([len(years) - 1])
    rows = np.concatenate([spend.row, extra_rows])
    cols = np.concatenate([spend.col, np.full(len(extra_rows), n)])
    vals = np.concatenate([spend.data, -np.ones(len(extra_rows))])
    if carry_over:  # E only enters the last year's cumulative row
        keep = (cols < n) | (rows == len(years) - 1)
        rows, cols, vals = rows[keep], cols[keep], vals[keep]
    matrix = sp.csr_array((vals, (rows, cols)), shape=(len(years), n + 1))
    c = np.zeros(n + 1)
    c[n] = 1.0
    once_e = sp.hstack([once, sp.csr_array((len(sub), 1))]).tocsr()
    result = _run(
        c,
        [
            LinearConstraint(once_e, 1, 1),
            LinearConstraint(matrix, -np.inf, _limits(budgets, carry_over) + _TOL),
        ],
        np.r_[np.ones(n), 0],
        np.r_[np.ones(n), np.inf],
    )
    return float(math.ceil(max(result.x[n], 0.0) - 1e-3))  # whole currency units, up
