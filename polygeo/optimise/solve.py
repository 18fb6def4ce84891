"""The driver: the optimiser's algorithm, one step per line.

:func:`solve` reads as the algorithm it runs:

1. **reduce** -- check the inputs, drop what can never be used, diagnose
   (:mod:`.problem`, :mod:`.reduce`, :mod:`.diagnose`); raise
   :class:`~polygeo.errors.InfeasibleError` before any solve when the rules
   certainly cannot be met;
   **split** -- a problem that falls apart (groups under ``within_group``,
   connected parts of the pair graph) is solved part by part and combined
   (:mod:`.parts`, :mod:`.conflicts`); otherwise the MIP from arrays (:mod:`.model`);
2. **start** -- a greedy start plan with local search (:mod:`.start`,
   :mod:`.local_search`);
3. **bound** -- polygeo's Lagrangian bound with counting rows (:mod:`.bound`),
   and a second start plan from the sites it opens;
4. **improve** -- large-neighbourhood search on big models (:mod:`.lns`);
5. **fix** -- remove what cannot beat the incumbent (:mod:`.fixing`);
6. **solve** -- the backend (:mod:`.backends`), with the counting rows and
   contiguity-cut rounds (:mod:`.rounds`); the progress line and trace
   (:mod:`.progress`);
7. **plan** -- the best solution as a :class:`~polygeo.plan.Plan`
   (:mod:`.assemble`), with the best bound of polygeo's and the solver's.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from polygeo.errors import InputError
from polygeo.optimise.assemble import make_plan
from polygeo.optimise.backends import SolveResult, make_backend, solver_names
from polygeo.optimise.bound import LagrangianBound, hub_gaps, lagrangian_bound
from polygeo.optimise.centres import start_from_bound
from polygeo.optimise.cheapest import cheapest_start, check_budget
from polygeo.optimise.fixing import (
    Fixing,
    global_bound,
    reduced_cost_fixing,
    restricted_model,
    with_count_rows,
)
from polygeo.optimise.lns import candidate_sites, kernel_sites
from polygeo.optimise.model import Linking, Model, build_model
from polygeo.optimise.parts import find_parts, solve_parts
from polygeo.optimise.pmedian import radius_applies, solve_radius
from polygeo.optimise.problem import Problem, build_problem
from polygeo.optimise.progress import PROVEN_GAP, Progress, relative_gap
from polygeo.optimise.rounds import run_rounds
from polygeo.optimise.rules import Rules, SolverSettings
from polygeo.optimise.start import frequent_sites, guided_start, start_vector
from polygeo.plan import Plan

log = logging.getLogger("polygeo")

__all__ = ["BOUND_MIN_PAIRS", "LNS_MIN_PAIRS", "PROVEN_GAP", "solve", "solver_names"]

#: Models with more pairs than this get a large-neighbourhood search by default.
LNS_MIN_PAIRS = 20_000

#: Models with more pairs than this get polygeo's own bound (smaller ones: the solver's).
BOUND_MIN_PAIRS = 3_000

#: Most seconds spent on the Lagrangian bound without a time limit; with one, 15% of it
#: (30% on models small enough to skip the neighbourhood search), so England's larger
#: model at 30 minutes gets 270 s.
BOUND_SECONDS = 90.0

#: Most seconds of guided starts from the sites the bound opens (at most this share of
#: the time limit); each takes a greedy repair and 5 s of local search.
GUIDED_SECONDS = 40.0
GUIDED_SHARE = 0.08

#: Most seconds of the MIP on the kernel's sites (and at most 20% of the time limit; 50%
#: on models small enough to skip the neighbourhood search).
KERNEL_SECONDS = 60.0

#: With a time limit and a start plan, models (after fixing) with more pairs than this
#: are not handed to the solver: the neighbourhood search gets the time instead.
SOLVER_MAX_PAIRS = 300_000

#: With contiguity on a cut-round model, search without the rule and mend the pieces
#: (:mod:`.connect`); ``False`` only to measure it (the contiguity-keeping search alone).
CONTIGUOUS_SEARCH = True

#: Share of the time left that the neighbourhood search gets on models with more than
#: :data:`LNS_MIN_PAIRS` pairs (HiGHS cannot improve a plan of that size in minutes).
LNS_SHARE = 0.85

#: The neighbourhood search on models the solver cannot take (more than
#: :data:`SOLVER_MAX_PAIRS` pairs), where the search is what improves the plan: hubs
#: freed together (in turn, one pass over the hubs each but the last), each freed
#: area's cheapest pairs offered. London, 600 s: 3.2150-3.2181 min against 3.2180-3.2348
#: with groups of 2 to 8 and every pair (BENCHMARKS.md; 3.20-3.22 since the
#: neighbourhoods count their hubs, :func:`~polygeo.optimise.fixing.with_count_rows`).
#: Smaller models keep groups of 2 to 8 with every pair, until the search stops
#: improving, so the solver gets the time to raise the bound.
SEARCH_SIZES = (2, 3, 4, 8, 16)
SEARCH_PASSES: int | None = 1
SEARCH_NEAREST: int | None = 6

#: Reduced-cost fixing removes what cannot beat the incumbent by this share of the gap
#: asked (the solver's bound then counts up to that point, so the gap can still reach
#: the target).
FIXING_SHARE = 0.5

#: The search visits the hubs with the largest share of the gap first
#: (:func:`~polygeo.optimise.bound.hub_gaps`); off: a random order.
GAP_PRIORITY = True


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
    bound: bool = True,
    fixing: bool = True,
    progress: bool = False,
    pmedian: bool = True,
    decompose: bool = True,
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
    bound
        Compute polygeo's Lagrangian bound (:mod:`.bound`) on models with more than
        :data:`BOUND_MIN_PAIRS` pairs; it guides a second start plan, and the
        reported bound is the best of it and the solver's.
    fixing
        Remove the pairs and sites that cannot beat the incumbent by more than
        half the gap target (reduced-cost fixing, :mod:`.fixing`) before the solver
        runs; needs the bound and a start plan.
    progress
        Show the incumbent, bound and gap on one line of standard error as they
        improve. ``plan.solver["trace"]`` records them either way.
    pmedian
        With HiGHS, solve the p-median case (no minimum, no capacity: see
        :func:`~polygeo.optimise.pmedian.why_not`) with the radius formulation of
        :mod:`~polygeo.optimise.pmedian` (default; ``False`` only to measure it).
    decompose
        Solve independent parts apart (groups under ``within_group``, connected parts
        of the pair graph; see :mod:`~polygeo.optimise.parts`) and combine them
        (default; ``False`` solves the whole model).

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
    # reduce
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
    cheapest = check_budget(problem)  # with a budget: the cheapest capital, before any solve
    problem.diagnosis.raise_if_infeasible()
    parts = find_parts(problem) if decompose else []
    if len(parts) > 1:
        inputs = dict(
            areas=areas, sites=sites, travel=travel, rules=rules, options=options,
            adjacency=adjacency, far_times=far_times, limit=limit, linking=linking,
            reduce=reduce, start=start, lns_seconds=lns_seconds, max_rounds=max_rounds,
            bound=bound, fixing=fixing, progress=False, pmedian=pmedian, decompose=False,
        )  # fmt: skip
        plan = solve_parts(solve, problem, parts, inputs, settings, started=t0, progress=progress)
        return _with_geometry(plan, areas, sites)
    model = formulate(problem, linking=linking)
    if pmedian and radius_applies(problem, settings):
        values, info = solve_radius(model, settings, time.perf_counter() - t0)
        return _with_geometry(make_plan(model, values, info), areas, sites)
    build_seconds = time.perf_counter() - t0
    log.info(
        "model: %s columns, %s rows, %s nonzeros; built in %.2f s (%s)",
        f"{model.n_cols:,}",
        f"{model.n_rows:,}",
        f"{model.A.nnz:,}",
        build_seconds,
        settings.name,
    )
    t1 = time.perf_counter()
    # the time limit counts from the call (reductions and model build included)
    deadline = None if settings.time_limit is None else t0 + settings.time_limit
    with Progress(show=progress, start=t0) as watch:
        # start
        v0 = start_plan(model, settings) if start else None
        if start and v0 is None:  # a tight budget: the greedy plans cost too much
            v0 = cheapest_start(model, cheapest)
        start_objective = None if v0 is None else model.objective_value(v0)
        watch.update(start_objective, what="start plan")
        # bound
        lb = lower_bound(model, v0, settings, watch) if bound else None
        if lb is not None and start:
            v0 = guided_plan(model, lb, v0, settings, watch)
        # improve
        v0, lns_objective = improve_plan(
            model, v0, settings, lns_seconds, deadline, lb, on_improve=watch.update
        )
        watch.update(lns_objective, what="neighbourhood search")
        # fix
        fixed = fix(model, lb, v0, settings) if (fixing and lb is not None) else None
        # solve
        result, rounds, solved = solve_fixed(
            model, fixed, lb, v0, settings, watch, deadline, max_rounds
        )
        # plan
        values, status = _keep_best(solved, result, v0, model)
        threshold = None if fixed is None else fixed.fixing.threshold
        total_bound = global_bound(None if lb is None else lb.value, result.bound, threshold)
        watch.update(status["objective"], total_bound)
    status.update(_status(result, status["objective"], total_bound, settings))
    info = {
        **status,
        "build_seconds": build_seconds,
        "solve_seconds": time.perf_counter() - t1,
        "optimal": status["status"] == "optimal",
        **_solver_info(result, settings, solved, rounds),
        "start_objective": start_objective,
        "lns_objective": lns_objective,
        **_bound_info(result, settings, lb, fixed),
        "trace": watch.trace,
    }
    log.info(
        "solved: %s, objective %.6g, bound %s, gap %s, %.2f s",
        info["status"],
        info["objective"],
        "-" if info["bound"] is None else f"{info['bound']:.6g}",
        "-" if info["gap"] is None else f"{info['gap']:.2%}",
        info["solve_seconds"],
    )
    plan_model = model if values is v0 else solved
    return _with_geometry(make_plan(plan_model, values, info), areas, sites)


def solve_fixed(
    model: Model,
    fixed: _Fixed | None,
    lb: LagrangianBound | None,
    v0: np.ndarray | None,
    settings: SolverSettings,
    watch: Progress,
    deadline: float | None,
    max_rounds: int,
) -> tuple[SolveResult, int, Model]:
    """Step 6: the solver on what fixing left, unless fixing proved the incumbent.

    Returns the result, the number of solver runs (contiguity rounds) and the model
    the result's values belong to.
    """
    if fixed is not None and fixed.fixing.proved:
        return _incumbent_result(v0, "no plan can beat the incumbent"), 0, model
    if _solver_is_hopeless(model, fixed, v0, deadline):
        why = "the model is too large for the solver to improve the plan in the time left"
        return _incumbent_result(v0, why, stopped=True), 0, model
    solved = _solver_model(model, fixed, lb)
    start_vec = v0 if fixed is None else fixed.map_start(v0)
    result, rounds = _run_solver(
        solved, settings, watch, lb, fixed, start_vec, deadline, max_rounds
    )
    return result, rounds, solved


def _solver_info(
    result: SolveResult, settings: SolverSettings, solved: Model, rounds: int
) -> dict[str, Any]:
    """What ``plan.solver`` says of the solver: its name, its message, its runs."""
    return {
        "name": settings.name,
        "detail": result.detail,
        "rounds": rounds,
        "cuts": solved.cuts,
    }


def _bound_info(
    result: SolveResult,
    settings: SolverSettings,
    lb: LagrangianBound | None,
    fixed: _Fixed | None,
) -> dict[str, Any]:
    """What ``plan.solver`` says of the limits, the two bounds and fixing."""
    return {
        "time_limit": settings.time_limit,
        "gap_limit": settings.gap,
        "threads": settings.threads,
        "lagrangian_bound": None if lb is None else lb.value,
        "solver_bound": result.bound,
        "pairs_after_fixing": None if fixed is None else int(fixed.fixing.keep_pairs.sum()),
    }


def _with_geometry(plan: Plan, areas: pd.DataFrame, sites: pd.DataFrame) -> Plan:
    """Keep the inputs by reference, so that ``plan.explore()`` needs no argument."""
    plan.areas, plan.sites = areas, sites
    return plan


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
    formulation for a special case of the rules is chosen here: with ``contiguous``
    rules, Shirabe's flow rows when the model is small enough (:mod:`.flow`), else
    contiguity cuts in rounds (:mod:`.rounds`).
    """
    from polygeo.optimise.flow import contiguity_formulation

    return contiguity_formulation(build_model(problem, linking=linking))


def _objective(model: Model, v: np.ndarray | None) -> float | None:
    return None if v is None else model.objective_value(v)


def _better(model: Model, a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
    if a is None or b is None:
        return b if a is None else a
    if model.problem.rules.contiguous:
        # a plan in pieces never replaces a contiguous one
        a_ok, b_ok = _contiguous(model, a), _contiguous(model, b)
        if a_ok != b_ok:
            return a if a_ok else b
    return b if model.objective_value(b) < model.objective_value(a) else a


def _contiguous(model: Model, v: np.ndarray) -> bool:
    """Whether plan ``v`` meets the contiguity rule (always true without it)."""
    if not model.problem.rules.contiguous:
        return True
    from polygeo.optimise.repair import is_contiguous, pair_choice

    return is_contiguous(model, pair_choice(model, v))


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


def lower_bound(
    model: Model, v0: np.ndarray | None, settings: SolverSettings, watch: Progress
) -> LagrangianBound | None:
    """polygeo's Lagrangian bound, on models big enough for it to pay."""
    if model.n_x <= BOUND_MIN_PAIRS:
        return None
    limit = settings.time_limit
    share = 0.15 if model.n_x > LNS_MIN_PAIRS else 0.3  # small models: bound and kernel
    seconds = BOUND_SECONDS if limit is None else share * limit
    return lagrangian_bound(
        model,
        upper=_objective(model, v0),
        start=v0,
        seconds=seconds,
        on_improve=lambda b: watch.update(bound=b),
    )


def guided_plan(
    model: Model,
    lb: LagrangianBound,
    v0: np.ndarray | None,
    settings: SolverSettings,
    watch: Progress,
) -> np.ndarray | None:
    """Better start plans from the bound: the sites it opens, then a MIP on its kernel.

    The greedy repair of the sites the relaxation opens (:func:`guided_start`),
    then HiGHS on the sites the relaxation kept opening, its open sites and the
    incumbent's (:func:`~polygeo.optimise.lns.kernel_search`).
    """
    from polygeo.optimise.lns import kernel_search

    stop = time.perf_counter() + _guided_seconds(settings)
    for sites in [lb.selected, *frequent_sites(lb.site_frequency)]:
        left = stop - time.perf_counter()
        if left > 0:
            guided = guided_start(model, sites, improve_seconds=5.0, repair_seconds=left)
            v0 = _better(model, v0, guided)
    watch.update(_objective(model, v0), what="guided start")
    located = start_from_bound(model, lb, v0, settings)
    if located is not v0:  # small models and contiguity: it replaces the kernel search
        watch.update(_objective(model, located), what="location-allocation")
        return located
    kernel = kernel_sites(model, lb.selected, lb.site_frequency, v0)
    if kernel is None:
        return v0
    limit = settings.time_limit
    share = 0.2 if model.n_x > LNS_MIN_PAIRS else 0.5
    seconds = KERNEL_SECONDS if limit is None else min(KERNEL_SECONDS, share * limit)
    better = kernel_search(model, kernel, v0, seconds=seconds, settings=settings)
    v0 = _better(model, v0, better)
    watch.update(_objective(model, v0), what="kernel search")
    return v0


def _guided_seconds(settings: SolverSettings) -> float:
    """Seconds for the guided starts from the sites the bound opens most often."""
    limit = settings.time_limit
    return GUIDED_SECONDS if limit is None else min(GUIDED_SECONDS, GUIDED_SHARE * limit)


def improve_plan(
    model: Model,
    v0: np.ndarray | None,
    settings: SolverSettings,
    lns_seconds: float | None,
    deadline: float | None = None,
    lb: LagrangianBound | None = None,
    on_improve: Callable[[float], None] | None = None,
) -> tuple[np.ndarray | None, float | None]:
    """The start plan after large-neighbourhood search (when the model is big or asked).

    The search offers only the sites the bound ``lb`` opens (:func:`candidate_sites`);
    ``on_improve(objective)`` is called with each better plan. With ``contiguous``
    rules on a cut-round model (no flow columns) and a contiguous start, the search
    runs without the rule first and mends the pieces
    (:func:`~polygeo.optimise.connect.contiguous_search`).

    Returns the plan and its objective after the search (``None`` when no search ran).
    """
    seconds = _lns_budget(model, settings, lns_seconds)
    if deadline is not None and lns_seconds is None and seconds > 0:
        share = 0.97 if model.n_x > SOLVER_MAX_PAIRS else LNS_SHARE
        seconds = share * max(deadline - time.perf_counter(), 0.0)
    if v0 is None or seconds <= 0:
        return v0, None
    from polygeo.optimise.lns import large_neighbourhood_search

    if CONTIGUOUS_SEARCH and _contiguous_search_applies(model, v0):
        from polygeo.optimise.connect import contiguous_search

        v0 = contiguous_search(
            model,
            v0,
            seconds=seconds,
            settings=settings,
            sites=None if lb is None else lb.selected,
            frequency=None if lb is None else lb.site_frequency,
            on_improve=on_improve,
        )
    else:
        v0 = large_neighbourhood_search(
            model,
            v0,
            seconds=seconds,
            settings=settings,
            candidates=None if lb is None else candidate_sites(lb.site_frequency),
            **_search_reach(model),
            on_improve=on_improve,
            priority=None if lb is None or not GAP_PRIORITY else partial(hub_gaps, model, lb),
        )
    return v0, model.objective_value(v0)


def _search_reach(model: Model) -> dict[str, Any]:
    """The group sizes and pairs of the search: larger on models the solver cannot take."""
    if model.n_x > SOLVER_MAX_PAIRS:
        return {"sizes": SEARCH_SIZES, "nearest": SEARCH_NEAREST, "passes_below": SEARCH_PASSES}
    return {"hubs_per_move": 8}


def _contiguous_search_applies(model: Model, v0: np.ndarray) -> bool:
    """Contiguous rules, a cut-round model (flow columns: no) and a contiguous start."""
    return (
        model.problem.rules.contiguous
        and model.n_cols == model.n_x + model.n_y + model.n_z
        and _contiguous(model, v0)
    )


def _lns_budget(model: Model, settings: SolverSettings, lns_seconds: float | None) -> float:
    if lns_seconds is not None:
        return float(lns_seconds)
    if settings.time_limit is None or model.n_x <= LNS_MIN_PAIRS:
        return 0.0
    return 0.6 * settings.time_limit


class _Fixed:
    """The model after reduced-cost fixing, and how to carry a start plan into it."""

    def __init__(self, model: Model, fixing: Fixing) -> None:
        self.fixing = fixing
        self.model, self.pairs = restricted_model(model, fixing)
        self.full = model

    def map_start(self, v: np.ndarray | None) -> np.ndarray | None:
        if v is None:
            return None
        p = self.full.problem
        x = np.flatnonzero(v[: self.full.n_x] > 0.5)
        pos = np.searchsorted(self.pairs, x)
        if (pos >= len(self.pairs)).any() or (
            self.pairs[np.minimum(pos, len(self.pairs) - 1)] != x
        ).any():
            return None
        choice = np.full(p.n_areas, -1, dtype=np.int64)
        choice[p.pair_area[x]] = pos
        return start_vector(self.model, choice)


def fix(
    model: Model, lb: LagrangianBound, v0: np.ndarray | None, settings: SolverSettings
) -> _Fixed | None:
    """Reduced-cost fixing against the incumbent (:data:`FIXING_SHARE` of the gap target)."""
    if v0 is None or not _contiguous(model, v0):
        return None  # a plan in pieces is no incumbent of the contiguous model
    tolerance = FIXING_SHARE * (settings.gap if settings.gap is not None else PROVEN_GAP)
    fixing = reduced_cost_fixing(
        model, lb, model.objective_value(v0), tolerance=tolerance, incumbent=v0
    )
    return _Fixed(model, fixing)


def _solver_model(model: Model, fixed: _Fixed | None, lb: LagrangianBound | None) -> Model:
    """The model the solver sees: after fixing, with the counting rows."""
    return with_count_rows(model if fixed is None else fixed.model, lb)


def _run_solver(
    solved: Model,
    settings: SolverSettings,
    watch: Progress,
    lb: LagrangianBound | None,
    fixed: _Fixed | None,
    start_vec: np.ndarray | None,
    deadline: float | None,
    max_rounds: int,
) -> tuple[SolveResult, int]:
    backend = make_backend(solved, settings)
    lagrangian = None if lb is None else lb.value
    threshold = None if fixed is None else fixed.fixing.threshold
    target = settings.gap if settings.gap is not None else PROVEN_GAP

    # with contiguity, a round's plan may be cut off by the next round's cuts: only
    # the bounds of the rounds count until the end
    rounds = solved.problem.rules.contiguous

    def report(objective: float | None, solver_bound: float | None) -> bool:
        bound = global_bound(lagrangian, solver_bound, threshold)
        watch.update(None if rounds else objective, bound)
        gap = relative_gap(watch.objective, watch.bound)
        return not rounds and gap is not None and gap <= target

    backend.watch(report)
    if start_vec is not None:
        backend.set_start(start_vec)
    return run_rounds(
        solved,
        backend,
        settings,
        deadline=deadline,
        max_rounds=max_rounds,
        problem=solved.problem,
        start=start_vec,
    )


def _incumbent_result(v0: np.ndarray, why: str, *, stopped: bool = False) -> SolveResult:
    status = "time_limit_feasible" if stopped else "optimal"
    return SolveResult(status, np.asarray(v0, dtype=float), None, None, why, stopped)


def _solver_is_hopeless(
    model: Model, fixed: _Fixed | None, v0: np.ndarray | None, deadline: float | None
) -> bool:
    """A model so large that HiGHS would not finish its root LP before the deadline
    (London: 557,000 pairs, root LP over ten minutes): keep the incumbent instead."""
    if v0 is None or deadline is None or model.problem.rules.contiguous:
        return False
    pairs = model.n_x if fixed is None else fixed.model.n_x
    return pairs > SOLVER_MAX_PAIRS


def _keep_best(
    solved: Model, result: SolveResult, v0: np.ndarray | None, model: Model
) -> tuple[np.ndarray, dict[str, Any]]:
    """The solution to keep (the solver's, or the start when better) and its objective."""
    assert result.values is not None
    values = np.round(result.values)
    objective = solved.objective_value(values) if len(values) == solved.n_cols else math.inf
    if (
        v0 is not None
        and model.objective_value(v0) < objective - 1e-9 * max(abs(objective), 1.0)
        and model.is_feasible(v0)
        and _contiguous(model, v0)
    ):
        # a solver that dropped the start plan (e.g. CBC stopped by its time limit)
        log.info("the start plan beats the solver's plan: keeping the start plan")
        values, objective = v0, model.objective_value(v0)
    return values, {"objective": objective}


def _status(
    result: SolveResult, objective: float, bound: float, settings: SolverSettings
) -> dict[str, Any]:
    """Status, bound and gap from the best bound known (polygeo's or the solver's).

    Only a gap at the solvers' default tolerance (1e-4) is reported as proven
    optimal; a stop at the requested gap is ``gap_limit``.
    """
    gap = relative_gap(objective, bound)
    status = result.status
    if gap is None:
        return {"status": status, "bound": None, "gap": result.gap}
    if gap <= PROVEN_GAP:
        status = "optimal"
    elif status == "optimal" or (settings.gap is not None and gap <= settings.gap):
        status = "gap_limit"
    return {
        "status": status,
        "bound": None if not math.isfinite(bound) else bound,
        "gap": gap,
    }
