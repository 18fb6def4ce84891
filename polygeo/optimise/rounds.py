"""Solve a built model with a backend, round after round of contiguity cuts.

:func:`run_rounds` runs the backend; with ``contiguous`` rules it adds a cut for
every catchment piece cut off from its hub's home area and solves again, until
every catchment is connected. A failed or empty run becomes an
:class:`~polygeo.errors.InfeasibleError` or :class:`~polygeo.errors.SolverError`
that says what was tried and what to relax. The driver (:mod:`.solve`) and the
neighbourhood search (:mod:`.lns`) both solve through it.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np

from polygeo.errors import InfeasibleError, SolverError
from polygeo.optimise.backends import SolveResult
from polygeo.optimise.model import Model
from polygeo.optimise.problem import Problem
from polygeo.optimise.rules import SolverSettings

log = logging.getLogger("polygeo")


def run_rounds(
    model: Model,
    backend: Any,
    settings: SolverSettings,
    *,
    deadline: float | None,
    max_rounds: int,
    problem: Problem,
    start: np.ndarray | None = None,
) -> tuple[SolveResult, int]:
    """Solve, add contiguity cuts, solve again until every catchment is connected.

    A start plan that still meets every row after the cuts is handed to the solver
    again, so that a plan survives a time limit reached between rounds.

    Raises
    ------
    InfeasibleError, SolverError
        As :func:`solve`.
    """
    rounds = 0
    while True:
        rounds += 1
        remaining = None if deadline is None else max(deadline - time.perf_counter(), 0.0)
        result = backend.run(remaining)
        if (
            result.values is None
            and result.status in ("no_solution", "error")
            and deadline is not None
            and time.perf_counter() >= deadline
            and start is not None
            and model.is_feasible(start)
        ):
            log.info("the solver stopped without a plan at the time limit: keeping the start")
            result = SolveResult(
                "time_limit_feasible",
                np.asarray(start, dtype=float),
                None,
                None,
                f"{result.detail}; the start plan was kept",
                True,
            )
        _raise_on_failure(result, settings, problem, rounds, model)
        if not problem.rules.contiguous:
            return result, rounds
        cuts = _contiguity_cuts(model, result.values)
        if not cuts:
            return result, rounds
        A, lo, hi = model.cut_rows(cuts)
        model.add_rows(A, lo, hi, "cut")
        backend.add_rows(A, lo, hi)
        model.cuts += A.shape[0]
        restart = start is not None and model.is_feasible(start)
        if restart:
            backend.set_start(start)
        log.info("contiguity round %d: %d catchment pieces cut off", rounds, len(cuts))
        timed_out = deadline is not None and time.perf_counter() >= deadline
        if (timed_out and not restart) or rounds >= max_rounds:
            why = (
                f"the time limit of {settings.time_limit:g} s"
                if timed_out
                else f"{max_rounds} rounds"
            )
            raise SolverError(
                f"{why} ran out before every catchment was contiguous ({len(cuts)} catchments "
                f"still in pieces after {rounds} solves, {model.cuts} cuts). Raise "
                "[solver] time_limit, or set contiguous = false."
            )


def _contiguity_cuts(model: Model, values: np.ndarray) -> list[tuple[int, np.ndarray, np.ndarray]]:
    from polygeo.optimise.contiguity import boundary_of, disconnected_parts

    p = model.problem
    x = values[: model.n_x] > 0.5
    assigned = np.full(p.n_areas, -1, dtype=np.int64)
    assigned[p.pair_area[x]] = p.pair_site[x]
    exempt = np.zeros(p.n_areas, dtype=bool)
    exempt[p.pair_area[x & p.pair_exception]] = True
    parts = disconnected_parts(assigned, p.adjacency, p.home, exempt=exempt)
    return [(site, part, boundary_of(part, p.adjacency)) for site, part in parts]


def _raise_on_failure(
    result: SolveResult, settings: SolverSettings, problem: Problem, rounds: int, model: Model
) -> None:
    if result.values is not None and result.status in (
        "optimal",
        "time_limit_feasible",
        "limit_feasible",
    ):
        return
    name = settings.name
    if result.status == "infeasible":
        tried = [
            "the pre-solve diagnosis found no single cause",
            f"{problem.stats.get('sites_viable', 0)} viable sites and "
            f"{problem.stats.get('pairs', 0)} usable pairs were given to {name}",
        ]
        if rounds > 1:
            tried.append(f"{model.cuts} contiguity cuts were added over {rounds - 1} rounds")
        bound = getattr(problem.diagnosis, "capital_lower_bound", None)
        if problem.rules.budget is not None and bound is not None:
            tried.append(
                f"the budget is {problem.rules.budget:,.0f}; any plan covering everyone costs "
                f"at least {bound:,.0f} (a lower bound: the cheapest such plan may cost more)"
            )
        rules = problem.rules
        relax = ["min_population", "hubs", "budget", "max_population / capacities"]
        if rules.within_group:
            relax.append("within_group")
        if rules.contiguous:
            relax.append("contiguous")
        if not rules.allow_exceptions:
            relax.append("allow_exceptions")
        raise InfeasibleError(
            f"{name} proved that no plan meets the rules together ({'; '.join(tried)}). "
            "The rules conflict in combination: try relaxing " + ", ".join(relax) + ".",
            problem.diagnosis,
        )
    if result.status == "no_solution":
        if result.hit_time_limit or settings.time_limit is not None:
            raise SolverError(
                f"{name} reached the time limit of {settings.time_limit:g} s without finding "
                "any feasible plan. Raise [solver] time_limit (or --time-limit), allow a larger "
                "gap, or relax the rules (hubs, budget, min_population) so plans are easier "
                f"to find. Solver status: {result.detail}."
            )
        raise SolverError(
            f"{name} stopped at a limit without a feasible plan (status: {result.detail}). "
            "Remove the limits in [solver] extra or relax the rules."
        )
    raise SolverError(
        f"{name} failed (status: {result.detail}). Try name = 'cbc' or 'highs' in [solver]."
    )
