"""Solve the model with HiGHS (arrays straight into highspy) or any PuLP solver.

:func:`solve` runs the whole chain: validate and reduce (:mod:`.problem`),
diagnose (raise :class:`~polygeo.errors.InfeasibleError` before any solve when
the rules certainly cannot be met), build the MIP from arrays (:mod:`.model`),
solve it, add contiguity cuts and solve again while some catchment is in
pieces, and return a :class:`~polygeo.plan.Plan`.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from polygeo.errors import InfeasibleError, InputError, SolverError
from polygeo.optimise.model import Linking, Model, build_model
from polygeo.optimise.problem import Problem, build_problem
from polygeo.optimise.rules import Rules, SolverSettings
from polygeo.plan import ASSIGNMENT_COLUMNS, HUB_COLUMNS, Plan

log = logging.getLogger("polygeo")

#: Names handled here rather than by ``pulp.getSolver``.
NATIVE_SOLVERS = ("highs", "cbc")


@dataclass
class _Result:
    """What one solver run gives back."""

    status: str  # optimal | limit_feasible | time_limit_feasible | infeasible | no_solution | error
    values: np.ndarray | None
    bound: float | None
    gap: float | None
    detail: str = ""
    hit_time_limit: bool = False


# -- HiGHS via highspy ---------------------------------------------------------------------
_BANNER_SHOWN = False


@contextlib.contextmanager
def _quiet_stdout(active: bool) -> Iterator[None]:
    """Silence C-level stdout (HiGHS prints a banner when the first instance is made)."""
    if not active:
        yield
        return
    try:
        fd = os.dup(1)
    except OSError:  # no usable stdout: nothing to silence
        yield
        return
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            try:
                yield
            finally:
                os.dup2(fd, 1)
    finally:
        os.close(fd)


class _HighsBackend:
    name = "highs"

    def __init__(self, model: Model, settings: SolverSettings) -> None:
        import highspy

        global _BANNER_SHOWN
        self.hs = highspy
        with _quiet_stdout(not settings.msg and not _BANNER_SHOWN):
            h = highspy.Highs()
        _BANNER_SHOWN = True
        self.h = h
        h.setOptionValue("output_flag", bool(settings.msg))
        if settings.gap is not None:
            h.setOptionValue("mip_rel_gap", float(settings.gap))
        if settings.threads is not None:
            # HiGHS keeps one thread pool per process: rebuild it for another size
            h.resetGlobalScheduler(True)
            h.setOptionValue("threads", int(settings.threads))
        # our own reductions leave HiGHS's presolve nothing to do, and it does not
        # watch the time limit: 57 s on NE London (100,000 pairs), nothing reduced
        h.setOptionValue("presolve", "off")
        for key, value in settings.extra.items():
            status = h.setOptionValue(str(key), value)
            if status != highspy.HighsStatus.kOk:
                raise InputError(f"[solver] extra: HiGHS rejects option {key} = {value!r}.")
        lp = highspy.HighsLp()
        A = model.A.tocsc()
        lp.num_col_ = model.n_cols
        lp.num_row_ = model.n_rows
        lp.col_cost_ = model.c
        lp.col_lower_ = model.col_lo
        lp.col_upper_ = model.col_hi
        lp.row_lower_ = model.row_lo
        lp.row_upper_ = model.row_hi
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = A.indptr.astype(np.int32)
        lp.a_matrix_.index_ = A.indices.astype(np.int32)
        lp.a_matrix_.value_ = A.data.astype(float)
        lp.integrality_ = [highspy.HighsVarType.kInteger] * model.n_cols
        status = h.passModel(lp)
        if status == highspy.HighsStatus.kError:
            raise SolverError("HiGHS rejected the model (passModel failed).")

    def add_rows(self, A: sp.csr_array, lo: np.ndarray, hi: np.ndarray) -> None:
        A = sp.csr_array(A)
        self.h.addRows(
            A.shape[0],
            np.asarray(lo, dtype=float),
            np.asarray(hi, dtype=float),
            A.nnz,
            A.indptr[:-1].astype(np.int32),
            A.indices.astype(np.int32),
            A.data.astype(float),
        )

    def set_start(self, values: np.ndarray) -> None:
        sol = self.hs.HighsSolution()
        sol.col_value = np.asarray(values, dtype=float)
        sol.value_valid = True
        self.h.setSolution(sol)

    def run(self, time_limit: float | None) -> _Result:
        hs, h = self.hs, self.h
        h.setOptionValue("time_limit", math.inf if time_limit is None else float(time_limit))
        h.run()
        ms = h.getModelStatus()
        info = h.getInfo()
        feasible = info.primal_solution_status == 2  # kSolutionStatusFeasible
        values = np.asarray(h.getSolution().col_value, dtype=float) if feasible else None
        bound = float(info.mip_dual_bound) if math.isfinite(info.mip_dual_bound) else None
        gap = float(info.mip_gap) if math.isfinite(info.mip_gap) else None
        text = h.modelStatusToString(ms)
        M = hs.HighsModelStatus
        if ms == M.kOptimal:
            return _Result("optimal", values, bound, gap, text)
        if ms in (M.kInfeasible, M.kUnboundedOrInfeasible):
            return _Result("infeasible", None, bound, gap, text)
        limit_hit = ms == M.kTimeLimit
        stops = (M.kTimeLimit, M.kIterationLimit, M.kSolutionLimit, M.kInterrupt)
        stops += tuple(
            getattr(M, k) for k in ("kObjectiveBound", "kObjectiveTarget") if hasattr(M, k)
        )
        if ms in stops:
            if feasible:
                kind = "time_limit_feasible" if limit_hit else "limit_feasible"
                return _Result(kind, values, bound, gap, text, limit_hit)
            return _Result("no_solution", None, bound, gap, text, limit_hit)
        return _Result("error", values if feasible else None, bound, gap, text)


# -- PuLP ----------------------------------------------------------------------------------
def _pulp_solver(settings: SolverSettings, time_limit: float | None, *, warm: bool = False) -> Any:
    import pulp

    kwargs: dict[str, Any] = {"msg": bool(settings.msg)}
    if warm:
        kwargs["warmStart"] = True
    if time_limit is not None:
        kwargs["timeLimit"] = max(float(time_limit), 0.0)
    if settings.gap is not None:
        kwargs["gapRel"] = float(settings.gap)
    if settings.threads is not None:
        kwargs["threads"] = int(settings.threads)
    kwargs.update(settings.extra)
    name = settings.name
    if name.lower() == "cbc" or name in ("PULP_CBC_CMD",):
        bundled = pulp.PULP_CBC_CMD.pulp_cbc_path
        if bundled and os.path.exists(bundled):
            solver = pulp.COIN_CMD(path=bundled, **kwargs)
        else:
            solver = pulp.COIN_CMD(**kwargs)
    else:
        known = pulp.listSolvers()
        if name not in known:
            raise InputError(
                f"unknown solver {name!r}; use 'highs', 'cbc' or a PuLP solver name: "
                f"{', '.join(known)}."
            )
        try:
            solver = pulp.getSolver(name, **kwargs)
        except TypeError as exc:
            raise InputError(f"solver {name!r} does not accept these settings: {exc}") from exc
    if not solver.available():
        raise SolverError(
            f"the solver {name!r} is not available on this machine; install it or use "
            "name = 'highs' (always installed with polygeo) or 'cbc'."
        )
    return solver


class _Watchdog:
    """Stop a command-line solver that overruns its time limit (Linux only).

    CBC checks its ``-sec`` limit only between nodes: on NE London its root LP
    ran 20 minutes past a 2-minute limit. After the limit and a grace of 10% (at
    least 5 s), the solver's process gets SIGINT (CBC stops and reports), then
    SIGKILL 10 s later.
    """

    def __init__(self, path: str | None, time_limit: float | None) -> None:
        self.path = os.path.realpath(path) if path else None
        self.time_limit = time_limit
        self.fired = False
        self._stop = None
        self._thread = None

    def __enter__(self) -> _Watchdog:
        import threading

        if self.path is None or self.time_limit is None or not os.path.isdir("/proc/self/task"):
            return self
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._stop is not None:
            self._stop.set()
            self._thread.join()

    def _children(self) -> list[int]:
        pids: list[int] = []
        for task in os.listdir("/proc/self/task"):
            try:
                with open(f"/proc/self/task/{task}/children") as f:
                    pids += [int(x) for x in f.read().split()]
            except OSError:
                continue
        out = []
        for pid in pids:
            try:
                if os.path.realpath(f"/proc/{pid}/exe") == self.path:
                    out.append(pid)
            except OSError:
                continue
        return out

    def _watch(self) -> None:
        import signal

        grace = max(5.0, 0.1 * self.time_limit)
        if self._stop.wait(self.time_limit + grace):
            return
        for sig, wait in ((signal.SIGINT, 10.0), (signal.SIGKILL, 0.0)):
            pids = self._children()
            if not pids:
                return
            self.fired = True
            log.warning("the solver overran its time limit: sending %s", sig.name)
            for pid in pids:
                with contextlib.suppress(OSError):
                    os.kill(pid, sig)
            if self._stop.wait(wait):
                return


class _PulpBackend:
    def __init__(self, model: Model, settings: SolverSettings) -> None:
        import pulp

        self.pulp = pulp
        self.settings = settings
        self.name = settings.name
        _pulp_solver(settings, None)  # fail early on an unknown or missing solver
        prob = pulp.LpProblem("polygeo", pulp.LpMinimize)
        lo, hi = model.col_lo, model.col_hi
        self.vars = [
            prob.add_variable(f"v{k}", float(lo[k]), float(hi[k]), pulp.LpInteger)
            for k in range(model.n_cols)
        ]
        nz = np.flatnonzero(model.c)
        prob.setObjective(pulp.LpAffineExpression([(self.vars[k], float(model.c[k])) for k in nz]))
        self.prob = prob
        self.warm = False
        self.rows = 0
        self.add_rows(model.A, model.row_lo, model.row_hi)

    def add_rows(self, A: sp.csr_array, lo: np.ndarray, hi: np.ndarray) -> None:
        pulp = self.pulp
        A = sp.csr_array(A)
        indptr, indices, data = A.indptr, A.indices.tolist(), A.data.tolist()
        v = self.vars
        for r in range(A.shape[0]):
            s, e = indptr[r], indptr[r + 1]
            terms = [(v[indices[q]], data[q]) for q in range(s, e)]
            l, h = float(lo[r]), float(hi[r])  # noqa: E741
            name = f"r{self.rows}"
            self.rows += 1
            if l == h:
                senses = [(pulp.LpConstraintEQ, l, name)]
            else:
                senses = []
                if math.isfinite(l):
                    senses.append((pulp.LpConstraintGE, l, name + "l"))
                if math.isfinite(h):
                    senses.append((pulp.LpConstraintLE, h, name + "u"))
            for sense, rhs, nm in senses:
                expr = pulp.LpAffineExpression(terms)
                self.prob.addConstraint(pulp.LpConstraint(expr, sense, nm, rhs))

    def set_start(self, values: np.ndarray) -> None:
        for var, val in zip(self.vars, np.asarray(values).tolist(), strict=True):
            var.setInitialValue(round(val))
        self.warm = True

    def run(self, time_limit: float | None) -> _Result:
        pulp = self.pulp
        solver = _pulp_solver(self.settings, time_limit, warm=self.warm)
        watchdog = _Watchdog(getattr(solver, "path", None), time_limit)
        try:
            with watchdog:
                self.prob.solve(solver)
        except pulp.PulpSolverError as exc:
            if watchdog.fired:
                return _Result("no_solution", None, None, None, "stopped at the time limit", True)
            return _Result("error", None, None, None, str(exc))
        status, sol = self.prob.status, self.prob.sol_status
        text = f"{pulp.LpStatus.get(status, status)} / {pulp.LpSolution.get(sol, sol)}"

        def values() -> np.ndarray:
            return np.array([0.0 if x.varValue is None else x.varValue for x in self.vars])

        if sol == pulp.LpSolutionOptimal or (status == 1 and sol not in (2,)):
            return _Result("optimal", values(), None, None, text)
        if sol == pulp.LpSolutionIntegerFeasible:
            kind = "time_limit_feasible" if time_limit is not None else "limit_feasible"
            return _Result(kind, values(), None, None, text, time_limit is not None)
        if status == pulp.LpStatusInfeasible or sol == pulp.LpSolutionInfeasible:
            return _Result("infeasible", None, None, None, text)
        if status == pulp.LpStatusNotSolved:
            return _Result("no_solution", None, None, None, text, time_limit is not None)
        return _Result("error", None, None, None, text)


def _backend(model: Model, settings: SolverSettings) -> Any:
    if settings.name.lower() == "highs" and settings.name != "HiGHS":
        return _HighsBackend(model, settings)
    return _PulpBackend(model, settings)


def solver_names() -> list[str]:
    """Solver names :class:`SolverSettings` accepts on this machine (available ones)."""
    import pulp

    return ["highs", "cbc", *pulp.listSolvers(onlyAvailable=True)]


# -- the plan ------------------------------------------------------------------------------
def make_plan(model: Model, values: np.ndarray, solver: dict[str, Any]) -> Plan:
    """Turn a solution vector into a :class:`~polygeo.plan.Plan`."""
    p = model.problem
    x = values[: model.n_x] > 0.5
    y = values[model.n_x : model.n_x + model.n_y] > 0.5
    k = np.flatnonzero(x)
    k = k[np.lexsort((p.pair_site[k], p.pair_area[k]))]
    assignments = pd.DataFrame(
        {
            "area_id": p.area_ids[p.pair_area[k]],
            "site_id": p.site_ids[p.pair_site[k]],
            "minutes": p.pair_minutes[k].astype(float),
            "exception": p.pair_exception[k].astype(bool),
        },
        columns=ASSIGNMENT_COLUMNS,
    )
    o = np.flatnonzero(y)
    sites = p.opt_site[o]
    order = np.argsort(sites, kind="stable")
    o, sites = o[order], sites[order]
    a_site = p.pair_site[k]
    w = p.population[p.pair_area[k]]
    t = p.pair_minutes[k]
    m = p.n_sites
    pop = np.bincount(a_site, weights=w, minlength=m)
    count = np.bincount(a_site, minlength=m)
    wt = np.bincount(a_site, weights=w * t, minlength=m)
    tsum = np.bincount(a_site, weights=t, minlength=m)
    tmax = np.full(m, np.nan)
    if len(k):
        tmax_all = np.full(m, -np.inf)
        np.maximum.at(tmax_all, a_site, t)
        tmax = np.where(np.isfinite(tmax_all), tmax_all, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(pop > 0, wt / np.where(pop > 0, pop, 1), tsum / np.maximum(count, 1))
    mean = np.where(count > 0, mean, np.nan)
    hubs = pd.DataFrame(
        {
            "site_id": p.site_ids[sites],
            "name": p.site_name[sites],
            "kind": p.site_kind[sites],
            "option": p.opt_name[o],
            "capital_cost": p.opt_cost[o],
            "x": p.site_x[sites] if len(p.site_x) else np.zeros(len(sites)),
            "y": p.site_y[sites] if len(p.site_y) else np.zeros(len(sites)),
            "population": pop[sites],
            "areas": count[sites].astype(np.int64),
            "mean_minutes": mean[sites],
            "max_minutes": tmax[sites],
        },
        columns=HUB_COLUMNS,
    )
    terms = model.objective_terms(values)
    population = pd.Series(p.population, index=pd.Index(p.area_ids, name="area_id"))
    stats = dict(p.stats)
    stats.update(
        {
            "rows": int(model.n_rows),
            "columns": int(model.n_cols),
            "nonzeros": int(model.A.nnz),
            "linking": model.linking,
            "weights": dict(model.weights),
        }
    )
    return Plan(
        assignments=assignments,
        hubs=hubs,
        solver=solver,
        objective_terms=terms,
        rules=p.rules,
        crs=p.crs,
        population=population,
        stats=stats,
        diagnosis=p.diagnosis,
    )


# -- the entry point -----------------------------------------------------------------------
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
        :mod:`~polygeo.optimise.heuristics`).
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
    rules = rules if rules is not None else Rules()
    if solver is None:
        settings = SolverSettings()
    elif isinstance(solver, str):
        settings = SolverSettings(name=solver)
    elif isinstance(solver, SolverSettings):
        settings = solver
    else:
        raise InputError(f"solver must be SolverSettings or a name, got {type(solver).__name__}.")
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
    model = build_model(problem, linking=linking)
    backend = _backend(model, settings)
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
    start_objective = None
    v0 = None
    if start:
        from polygeo.optimise.heuristics import greedy_start

        budget = 10.0 if deadline is None else min(10.0, 0.1 * settings.time_limit)
        v0 = greedy_start(model, improve_seconds=budget)
        if v0 is not None:
            start_objective = model.objective_value(v0)
            log.info("greedy start plan: objective %.6g", start_objective)
    lns_objective = None
    if v0 is not None:
        seconds = _lns_budget(model, settings, lns_seconds)
        if seconds > 0:
            from polygeo.optimise.lns import large_neighbourhood_search

            v0 = large_neighbourhood_search(model, v0, seconds=seconds, settings=settings)
            lns_objective = model.objective_value(v0)
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
    solve_seconds = time.perf_counter() - t1
    assert result is not None and result.values is not None
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
    bound = result.bound
    gap = result.gap
    status = result.status
    # solvers say "optimal" once the gap is within the requested tolerance; only a
    # gap at the solvers' default (1e-4) is reported as proven optimal
    optimal = status == "optimal" and (gap is None or gap <= PROVEN_GAP)
    if status == "optimal" and not optimal:
        status = "gap_limit"
    info = {
        "status": status,
        "objective": objective,
        "bound": bound,
        "gap": gap,
        "build_seconds": build_seconds,
        "solve_seconds": solve_seconds,
        "optimal": optimal,
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
        status,
        objective,
        bound,
        gap,
        solve_seconds,
    )
    plan = make_plan(model, values, info)
    # keep the geometry by reference so that plan.explore() needs no argument
    plan.areas, plan.sites = areas, sites
    return plan


#: Largest relative gap reported as proven optimal (HiGHS' and CBC's default tolerance).
PROVEN_GAP = 1e-4 + 1e-9

#: Models with more pairs than this get a large-neighbourhood search by default.
LNS_MIN_PAIRS = 20_000


def _lns_budget(model: Model, settings: SolverSettings, lns_seconds: float | None) -> float:
    if lns_seconds is not None:
        return float(lns_seconds)
    if settings.time_limit is None or model.n_x <= LNS_MIN_PAIRS:
        return 0.0
    return 0.6 * settings.time_limit


def run_rounds(
    model: Model,
    backend: Any,
    settings: SolverSettings,
    *,
    deadline: float | None,
    max_rounds: int,
    problem: Problem,
    start: np.ndarray | None = None,
) -> tuple[_Result, int]:
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
            result = _Result(
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
    result: _Result, settings: SolverSettings, problem: Problem, rounds: int, model: Model
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
