"""The driver: the optimiser's algorithm, one step per line.

:func:`solve` reads as the algorithm it runs:

1. **reduce** -- check the inputs, drop what can never be used, diagnose
   (:mod:`.problem`, :mod:`.reduce`, :mod:`.diagnose`); raise
   :class:`~polygeo.errors.InfeasibleError` before any solve when the rules
   certainly cannot be met;
2. **formulate** -- the MIP from arrays (:mod:`.model`);
3. **start** -- a greedy start plan with local search (:mod:`.start`,
   :mod:`.local_search`);
4. **improve** -- large-neighbourhood search on big models (:mod:`.lns`);
5. **solve** -- the backend (:mod:`.backends`), with contiguity-cut rounds
   (:mod:`.rounds`);
6. **plan** -- the best solution as a :class:`~polygeo.plan.Plan`
   (:mod:`.assemble`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from polygeo.errors import InputError
from polygeo.optimise.assemble import make_plan
from polygeo.optimise.backends import SolveResult, make_backend, solver_names
from polygeo.optimise.model import Linking, Model, build_model
from polygeo.optimise.problem import Problem, build_problem
from polygeo.optimise.rounds import run_rounds
from polygeo.optimise.rules import Rules, SolverSettings
from polygeo.plan import Plan

log = logging.getLogger("polygeo")

__all__ = ["LNS_MIN_PAIRS", "PROVEN_GAP", "solve", "solver_names"]

#: Largest relative gap reported as proven optimal (HiGHS' and CBC's default tolerance).
PROVEN_GAP = 1e-4 + 1e-9

#: Models with more pairs than this get a large-neighbourhood search by default.
LNS_MIN_PAIRS = 20_000


def solve(
    areas: pd.DataFrame,
    sites: pd.DataFrame,
    travel: pd.DataFrame,
    rules: Rules | None = None,
    *,
    options: pd.DataFrame | None = None,
    solver: SolverSettings | str | None = None,
    adjacency: Any = None,
    far_times: Callable[..., pd.DataFrame] | None = None,
    limit: Any = None,
    linking: Linking = "disaggregated",
    reduce: bool = True,
    start: bool = True,
    lns_seconds: float | None = None,
    max_rounds: int = 200,
) -> Plan:
    """Find the best plan under the rules.

    Parameters
    ----------
    areas, sites, travel
        The areas and sites frames and the sparse travel table (only pairs within
        the limit), as in docs/architecture.md.
    rules
        The rules (default :class:`Rules`: 50,000 people per hub, least travel).
    options
        Capital options ``site_id, option, capital_cost, capacity`` (capacity NaN
        = unlimited); default one ``reuse`` option at cost 0 for every site.
    solver
        :class:`SolverSettings` or a solver name (default HiGHS, no time limit).
    adjacency
        Area adjacency for ``contiguous`` (default: queen adjacency of the polygons,
        :func:`~polygeo.optimise.contiguity.adjacency_from_polygons`).
    far_times
        ``far_times(area_ids, site_ids) -> DataFrame(area_id, site_id, minutes)``,
        times with no limit, for the diagnosis and for exceptions.
    limit
        The travel limit, only to report each unserved area's limit.
    linking
        ``"disaggregated"`` (default) or ``"aggregated"`` linking rows.
    reduce
        Apply the pre-solve reductions (default; ``False`` only to measure them).
    start
        Give the solver a greedy start plan when one is found (see
        :mod:`~polygeo.optimise.start`).
    lns_seconds
        Seconds of large-neighbourhood search improving the start plan before the
        full model is solved (see :mod:`~polygeo.optimise.lns`). ``None``: 60% of the
        time limit for models with more than 20,000 pairs, else none.
    max_rounds
        Most solves when adding contiguity cuts.

    Returns
    -------
    Plan
        ``plan.solver["optimal"]`` is False when a limit stopped the solver with a
        feasible plan (status ``"time_limit_feasible"``).

    Raises
    ------
    InfeasibleError
        The rules certainly cannot be met (found before solving, or proven by the
        solver); ``.diagnosis`` says why.
    SolverError
        The solver stopped (time limit) without any feasible plan, or failed.
    InputError
        Bad inputs or settings.
    """
    t0 = time.perf_counter()
    settings = _settings(solver)
    rules = rules if rules is not None else Rules()
    problem = build_problem(
        areas,
        sites,
        travel,
        rules,
        options=options,
        far_times=far_times,
        adjacency=adjacency,
        limit=limit,
        reduce=reduce,
    )
    problem.diagnosis.raise_if_infeasible()
    model = formulate(problem, linking=linking)
    backend = make_backend(model, settings)
    build_seconds = time.perf_counter() - t0
    log.info(
        "model: %d columns, %d rows, %d nonzeros; built in %.2f s (%s)",
        model.n_cols,
        model.n_rows,
        model.A.nnz,
        build_seconds,
        settings.name,
    )

    t1 = time.perf_counter()
    deadline = None if settings.time_limit is None else t1 + settings.time_limit
    v0 = start_plan(model, settings) if start else None
    start_objective = None if v0 is None else model.objective_value(v0)
    v0, lns_objective = improve_plan(model, v0, settings, lns_seconds)
    if v0 is not None:
        backend.set_start(v0)
    result, rounds = run_rounds(
        model,
        backend,
        settings,
        deadline=deadline,
        max_rounds=max_rounds,
        problem=problem,
        start=v0,
    )
    values, status = _keep_best(model, result, v0)
    info = {
        **status,
        "build_seconds": build_seconds,
        "solve_seconds": time.perf_counter() - t1,
        "optimal": status["status"] == "optimal",
        "name": settings.name,
        "detail": result.detail,
        "rounds": rounds,
        "cuts": model.cuts,
        "start_objective": start_objective,
        "lns_objective": lns_objective,
        "time_limit": settings.time_limit,
        "gap_limit": settings.gap,
        "threads": settings.threads,
    }
    log.info(
        "solved: %s, objective %.6g, bound %s, gap %s, %.2f s",
        info["status"],
        info["objective"],
        info["bound"],
        info["gap"],
        info["solve_seconds"],
    )
    return make_plan(model, values, info)


def _settings(solver: SolverSettings | str | None) -> SolverSettings:
    if solver is None:
        return SolverSettings()
    if isinstance(solver, str):
        return SolverSettings(name=solver)
    if isinstance(solver, SolverSettings):
        return solver
    raise InputError(f"solver must be SolverSettings or a name, got {type(solver).__name__}.")


def formulate(problem: Problem, *, linking: Linking = "disaggregated") -> Model:
    """The MIP for a problem: the one place where a formulation is picked.

    The general model of :mod:`.model` holds every rule; a specialised
    formulation for a special case of the rules is chosen here.
    """
    return build_model(problem, linking=linking)


def start_plan(model: Model, settings: SolverSettings) -> np.ndarray | None:
    """A greedy start plan improved by local search, or ``None`` when none is found."""
    from polygeo.optimise.start import greedy_start

    budget = 10.0 if settings.time_limit is None else min(10.0, 0.1 * settings.time_limit)
    v0 = greedy_start(model, improve_seconds=budget)
    if v0 is None and model.problem.quotas:
        from polygeo.optimise.quota_start import quota_start

        v0 = quota_start(model, improve_seconds=budget)
    if v0 is not None:
        log.info("greedy start plan: objective %.6g", model.objective_value(v0))
    return v0


def improve_plan(
    model: Model, v0: np.ndarray | None, settings: SolverSettings, lns_seconds: float | None
) -> tuple[np.ndarray | None, float | None]:
    """The start plan after large-neighbourhood search (when the model is big or asked).

    Returns the plan and its objective after the search (``None`` when no search ran).
    """
    seconds = _lns_budget(model, settings, lns_seconds)
    if v0 is None or seconds <= 0:
        return v0, None
    from polygeo.optimise.lns import large_neighbourhood_search

    v0 = large_neighbourhood_search(model, v0, seconds=seconds, settings=settings)
    return v0, model.objective_value(v0)


def _lns_budget(model: Model, settings: SolverSettings, lns_seconds: float | None) -> float:
    if lns_seconds is not None:
        return float(lns_seconds)
    if settings.time_limit is None or model.n_x <= LNS_MIN_PAIRS:
        return 0.0
    return 0.6 * settings.time_limit


def _keep_best(
    model: Model, result: SolveResult, v0: np.ndarray | None
) -> tuple[np.ndarray, dict[str, Any]]:
    """The solution to keep (the solver's, or the start when better) and its status."""
    assert result.values is not None
    values = np.round(result.values)
    objective = model.objective_value(values)
    if (
        v0 is not None
        and model.objective_value(v0) < objective - 1e-9 * max(abs(objective), 1.0)
        and model.is_feasible(v0)
    ):
        # a solver that dropped the start plan (e.g. CBC stopped by its time limit)
        log.info("the start plan beats the solver's plan: keeping the start plan")
        values, objective = v0, model.objective_value(v0)
    status, gap = result.status, result.gap
    # solvers say "optimal" once the gap is within the requested tolerance; only a
    # gap at the solvers' default (1e-4) is reported as proven optimal
    if status == "optimal" and not (gap is None or gap <= PROVEN_GAP):
        status = "gap_limit"
    return values, {"status": status, "objective": objective, "bound": result.bound, "gap": gap}
