"""Solve a built model with a backend, round after round of contiguity cuts.

:func:`run_rounds` runs the backend; with ``contiguous`` rules it adds a cut for
every catchment piece cut off from its hub's home area and solves again, until
every catchment is connected. A failed or empty run becomes an
:class:`~polygeo.errors.InfeasibleError` or :class:`~polygeo.errors.SolverError`
that says what was tried and what to relax. The driver (:mod:`.solve`) and the
neighbourhood search (:mod:`.lns`) both solve through it.
"""

from __future__ import annotations

import dataclasses
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

    Between rounds the best contiguous plan found so far (the start, or a round's
    plan with its stray pieces moved to bordering hubs, :mod:`.repair`) is kept and
    handed to the solver again, and so is the best bound: every round solves a
    relaxation of the contiguous model, so its bound holds for it. The loop stops
    early when that plan is within the gap asked for of that bound, and returns it
    (with its gap) when the time or the rounds run out.

    Raises
    ------
    InfeasibleError, SolverError
        As :func:`solve`.
    """
    contiguous = problem.rules.contiguous
    incumbent = _Incumbent(model)
    if contiguous and start is not None:
        incumbent.offer(start, repair=False)
    rounds = 0
    while True:
        rounds += 1
        remaining = None if deadline is None else max(deadline - time.perf_counter(), 0.0)
        result = backend.run(remaining)
        incumbent.bound_from(result)
        timed_out = deadline is not None and time.perf_counter() >= deadline
        if result.values is None and result.status in ("no_solution", "error") and timed_out:
            kept = incumbent.values if incumbent.values is not None else start
            if kept is not None and model.is_feasible(kept):
                log.info("the solver stopped without a plan at the time limit: keeping the start")
                result = incumbent.result(kept, "time_limit_feasible", result.detail, True)
        _raise_on_failure(result, settings, problem, rounds, model)
        if not contiguous:
            return result, rounds
        cuts = _contiguity_cuts(model, result.values)
        if not cuts:
            if incumbent.beats(result.values):
                return incumbent.result(None, result.status, result.detail, timed_out), rounds
            return incumbent.with_bound(result), rounds
        incumbent.offer(result.values, repair=True)
        A, lo, hi = model.cut_rows(cuts)
        model.add_rows(A, lo, hi, "cut")
        backend.add_rows(A, lo, hi)
        model.cuts += A.shape[0]
        restart = incumbent.values if incumbent.values is not None else start
        restart = restart if restart is not None and model.is_feasible(restart) else None
        if restart is not None:
            backend.set_start(restart)
        log.info(
            "contiguity round %d: %d catchment pieces cut off; best contiguous plan %s, bound %s",
            rounds,
            len(cuts),
            incumbent.objective,
            incumbent.bound,
        )
        gap = incumbent.gap
        if gap is not None and gap <= (settings.gap if settings.gap is not None else 1e-4):
            detail = f"a repaired plan is within {gap:.2%} of the bound"
            return incumbent.result(None, "optimal", detail, False), rounds
        timed_out = deadline is not None and time.perf_counter() >= deadline
        if incumbent.values is not None and (timed_out or rounds >= max_rounds):
            why = "time limit" if timed_out else f"{max_rounds} rounds"
            detail = f"{why}: the best contiguous plan after {rounds} rounds of cuts"
            kind = "time_limit_feasible" if timed_out else "limit_feasible"
            return incumbent.result(None, kind, detail, timed_out), rounds
        if (timed_out and restart is None) or rounds >= max_rounds:
            why = (
                f"the time limit of {settings.time_limit:g} s"
                if timed_out and settings.time_limit is not None
                else "the time limit"
                if timed_out
                else f"{max_rounds} rounds"
            )
            raise SolverError(
                f"{why} ran out before every catchment was contiguous ({len(cuts)} catchments "
                f"still in pieces after {rounds} solves, {model.cuts} cuts). Raise "
                "[solver] time_limit, or set contiguous = false."
            )


class _Incumbent:
    """The best contiguous plan and the best bound seen over the rounds."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self.values: np.ndarray | None = None
        self.bound: float | None = None

    @property
    def objective(self) -> float | None:
        return None if self.values is None else self.model.objective_value(self.values)

    @property
    def gap(self) -> float | None:
        obj = self.objective
        if obj is None or self.bound is None:
            return None
        return max(obj - self.bound, 0.0) / max(abs(obj), 1e-9)

    def bound_from(self, result: SolveResult) -> None:
        if result.bound is not None and (self.bound is None or result.bound > self.bound):
            self.bound = float(result.bound)

    def beats(self, values: np.ndarray) -> bool:
        obj = self.objective
        other = self.model.objective_value(np.round(values))
        return obj is not None and obj < other - 1e-9 * max(abs(other), 1.0)

    def offer(self, values: np.ndarray, *, repair: bool) -> None:
        """Keep ``values`` (repaired into a contiguous plan when asked) if better."""
        from polygeo.optimise.repair import contiguous_plan, is_contiguous, pair_choice

        m = self.model
        if repair:
            plan = contiguous_plan(m, values)
        else:
            ok = m.is_feasible(values) and is_contiguous(m, pair_choice(m, values))
            plan = np.asarray(values, dtype=float) if ok else None
        if plan is not None and (self.values is None or m.objective_value(plan) < self.objective):
            self.values = plan

    def with_bound(self, result: SolveResult) -> SolveResult:
        """``result`` with the best bound of all rounds (and its gap)."""
        if self.bound is None or (result.bound is not None and result.bound >= self.bound):
            return result
        obj = self.model.objective_value(np.round(result.values))
        gap = max(obj - self.bound, 0.0) / max(abs(obj), 1e-9)
        return dataclasses.replace(result, bound=self.bound, gap=gap)

    def result(
        self, values: np.ndarray | None, status: str, detail: str, hit_time_limit: bool
    ) -> SolveResult:
        """A result holding ``values`` (default: the incumbent) with the best bound."""
        v = self.values if values is None else values
        obj = self.model.objective_value(v)
        gap = None if self.bound is None else max(obj - self.bound, 0.0) / max(abs(obj), 1e-9)
        v = np.asarray(v, dtype=float)
        return SolveResult(status, v, self.bound, gap, detail, hit_time_limit)


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
            limit = "" if settings.time_limit is None else f" of {settings.time_limit:g} s"
            raise SolverError(
                f"{name} reached the time limit{limit} without finding "
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
