"""Independent parts: a problem that falls apart is solved one part at a time.

Two kinds of part:

* **groups** under ``within_group``: every catchment lies inside one group, so the
  groups only share sites near their borders, and a site holds one hub. Each group
  is solved on its own with every site it reaches (a *relaxation*: a border site
  may be chosen by two groups). The sum of the groups' bounds is a bound of the
  whole problem. Sites chosen by several groups are settled by a small branch and
  bound that solves groups again without them (:mod:`.conflicts`).
* **connected parts of the pair graph** (areas and the sites they reach): parts
  that share no site are independent problems; their optima and bounds add up.

Rules that tie the parts together (a budget, hub counts, ``min_hubs_by_kind``,
``required_sites`` under ``within_group``, single-term objectives whose tie-break
weight depends on the whole model, ``contiguous`` with ``within_group``) keep the
problem whole (:func:`why_whole`).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import multiprocessing
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from polygeo.errors import SolverError
from polygeo.optimise.conflicts import Outcome, resolve_shared_sites
from polygeo.optimise.problem import Problem
from polygeo.optimise.progress import PROVEN_GAP
from polygeo.optimise.rules import SolverSettings
from polygeo.plan import ASSIGNMENT_COLUMNS, HUB_COLUMNS, Plan

log = logging.getLogger("polygeo")

__all__ = ["Part", "find_parts", "solve_parts", "why_whole"]

#: Connected parts are solved apart only when the largest holds at most this share of
#: the pairs (one national component with a few islands is not worth a second build).
LARGEST_PART_SHARE = 0.9

#: Shares of the time left by the end of the first pass over the parts, and of the
#: second (parts whose gap is still above the target, solved again with more time);
#: the rest is for settling the sites two groups chose.
FIRST_PASS_SHARE = 0.5
SECOND_PASS_SHARE = 0.8


@dataclass
class Part:
    """One part: its areas and sites (rows of the input frames) and a name."""

    name: str
    area_rows: np.ndarray
    site_rows: np.ndarray
    pairs: int


def why_whole(problem: Problem) -> str | None:
    """The rule that ties the parts of ``problem`` together, or ``None``.

    Parameters
    ----------
    problem
        The whole problem, after reductions.

    Returns
    -------
    str or None
        Why the problem must be solved whole; ``None`` when it may be split.
    """
    rules = problem.rules
    if rules.budget is not None:
        return "a budget is shared by every part"
    if rules.hub_bounds != (None, None):
        return "the hub count is over the whole plan"
    if rules.min_hubs_by_kind:
        return "min_hubs_by_kind counts hubs over the whole plan"
    if rules.objective in ("cost", "hubs"):
        return "the tie-break weight of a single-term objective depends on the whole model"
    grouped = rules.within_group and problem.group is not None
    if grouped and rules.required_sites:
        return "a required site may reach several groups"
    if grouped and rules.contiguous:
        return "a hub's home area may lie in another group"
    if not grouped and rules.kind_in_every_group:
        return "kind_in_every_group spans the parts of the pair graph"
    return None


def find_parts(problem: Problem) -> list[Part]:
    """The independent parts of ``problem`` (one part when it does not fall apart).

    Parameters
    ----------
    problem
        The whole problem, after reductions (exception pairs included).

    Returns
    -------
    list of Part
        Groups under ``within_group``, else the connected parts of the pair graph
        when the largest has at most :data:`LARGEST_PART_SHARE` of the pairs; a
        single part otherwise, or when a rule ties them (:func:`why_whole`).
    """
    p = problem
    everything = [Part("all", np.arange(p.n_areas), np.unique(p.pair_site), len(p.pair_area))]
    why = why_whole(p)
    if why is not None:
        log.debug("solved whole: %s", why)
        return everything
    if p.rules.within_group and p.group is not None:
        parts = _group_parts(p)
    else:
        parts = _connected_parts(p)
        if max(part.pairs for part in parts) > LARGEST_PART_SHARE * len(p.pair_area):
            return everything
    return parts if len(parts) > 1 else everything


def _group_parts(p: Problem) -> list[Part]:
    assert p.group is not None and p.group_names is not None
    pair_group = p.group[p.pair_area]
    parts = []
    for g in np.unique(p.group[p.group >= 0]):
        in_group = pair_group == g
        parts.append(
            Part(
                str(p.group_names[g]),
                np.flatnonzero(p.group == g),
                np.unique(p.pair_site[in_group]),
                int(in_group.sum()),
            )
        )
    return parts


def _connected_parts(p: Problem) -> list[Part]:
    n, m = p.n_areas, p.n_sites
    graph = sp.coo_array(
        (np.ones(len(p.pair_area)), (p.pair_area, n + p.pair_site)), shape=(n + m, n + m)
    )
    _, label = connected_components(graph, directed=False)
    pair_label = label[p.pair_area]
    parts = []
    for c in np.unique(label[:n]):
        sites = np.unique(p.pair_site[pair_label == c])
        parts.append(
            Part(
                f"part {len(parts) + 1}",
                np.flatnonzero(label[:n] == c),
                sites,
                int((pair_label == c).sum()),
            )
        )
    return parts


@dataclass
class _Inputs:
    """What :func:`polygeo.optimise.solve` got, to cut into parts."""

    areas: pd.DataFrame
    sites: pd.DataFrame
    travel: pd.DataFrame
    options: pd.DataFrame | None
    adjacency: Any
    kwargs: dict[str, Any]


def solve_parts(
    solve: Callable[..., Plan],
    problem: Problem,
    parts: list[Part],
    inputs: dict[str, Any],
    settings: SolverSettings,
    *,
    started: float,
    progress: bool = False,
) -> Plan:
    """Solve every part with ``solve`` and combine the plans.

    Parameters
    ----------
    solve
        :func:`polygeo.optimise.solve` (passed in, so this module does not import it).
    problem
        The whole problem (its diagnosis and populations go to the combined plan).
    parts
        From :func:`find_parts`.
    inputs
        ``areas, sites, travel, rules, options, adjacency`` and the other keyword
        arguments of ``solve`` for every part.
    settings
        The solver settings; a part's time limit is its share of the time left (by
        pairs, at least an equal share).
    started
        ``time.perf_counter()`` when the whole solve started.
    progress
        Log a line per part.

    Returns
    -------
    Plan
        The combined plan; ``solver["parts"]`` lists every part's objective, bound
        and gap; the bound is the least bound of the search over shared sites
        (:func:`~polygeo.optimise.conflicts.resolve_shared_sites`).
    """
    data = _Inputs(
        inputs.pop("areas"),
        inputs.pop("sites"),
        inputs.pop("travel"),
        inputs.pop("options"),
        inputs.pop("adjacency"),
        inputs,
    )
    run = _Runner(solve, data, settings, started, progress)
    deadline = None if settings.time_limit is None else started + settings.time_limit
    target = settings.gap if settings.gap is not None else PROVEN_GAP
    plans = run.all(parts, _pass_deadline(deadline, started, FIRST_PASS_SHARE))
    plans = run.again(parts, plans, _pass_deadline(deadline, started, SECOND_PASS_SHARE), target)
    run.mark(plans, [plan.solver.get("bound") for plan in plans])

    def solve_group(k: int, dropped: frozenset[str], seconds: float | None) -> Plan:
        return run.one(parts[k], seconds, f"{k + 1} again", dropped)

    outcome = resolve_shared_sites(solve_group, plans, deadline, target)
    if outcome.best is None:
        log.info("no plan without shared sites in time: solving the whole model")
        seconds = None if deadline is None else max(deadline - time.perf_counter(), 1.0)
        whole = dataclasses.replace(settings, time_limit=seconds)
        return solve(**run.frames(np.arange(len(data.areas)), None), solver=whole)
    best = outcome.best
    bounds: list[float | None] = [b if np.isfinite(b) else None for b in best.bounds]
    plan = _combine(best.plans, parts, bounds, settings, started, outcome, run.trace)  # type: ignore[arg-type]
    plan.diagnosis = problem.diagnosis
    plan.population = pd.Series(
        problem.population, index=pd.Index(problem.area_ids, name="area_id")
    )
    return plan


def _pass_deadline(deadline: float | None, started: float, share: float) -> float | None:
    """The end of a pass: ``share`` of the way from the start to the deadline."""
    if deadline is None:
        return None
    return started + share * (deadline - started)


class _Runner:
    """Solves parts in turn, each with its share of the time left."""

    def __init__(
        self,
        solve: Callable[..., Plan],
        data: _Inputs,
        settings: SolverSettings,
        started: float,
        progress: bool,
    ) -> None:
        self.solve, self.data, self.settings = solve, data, settings
        self.started, self.progress = started, progress
        self.trace: list[list[float | None]] = []

    def mark(self, plans: list[Plan], bounds: list[float | None]) -> None:
        """A trace point: the parts' objectives and first bounds added up."""
        objective = float(sum(p.solver["objective"] for p in plans))
        known = all(b is not None for b in bounds)
        bound = float(sum(bounds)) if known else None  # type: ignore[arg-type]
        self.trace.append([round(time.perf_counter() - self.started, 3), objective, bound])

    def all(self, parts: list[Part], deadline: float | None) -> list[Plan | None]:
        """Every part, each with its share of the time left (by pairs, and at least an
        equal share of it); in ``threads`` processes when ``threads`` > 1."""
        workers = min(self.settings.threads or 1, len(parts))
        if workers > 1:
            return self._in_processes(parts, deadline, workers)
        plans = []
        left = sum(part.pairs for part in parts)
        for i, part in enumerate(parts):
            seconds = _share(part.pairs, left, len(parts) - i, deadline)
            plans.append(self.tried(part, seconds, f"{i + 1}/{len(parts)}"))
            left -= part.pairs
        return plans

    def _in_processes(
        self, parts: list[Part], deadline: float | None, workers: int
    ) -> list[Plan | None]:
        """The parts in a pool of forked processes, one solver thread each."""
        global _RUNNER
        serial = dataclasses.replace(self.settings, threads=1)
        runner = _Runner(self.solve, self.data, serial, self.started, self.progress)
        total = sum(part.pairs for part in parts)
        _RUNNER = (runner, parts)  # the forked workers inherit it: nothing is pickled in
        try:
            context = multiprocessing.get_context("fork")
            with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
                jobs = []
                for i, part in enumerate(parts):
                    seconds = _share(workers * part.pairs, total, len(parts) / workers, deadline)
                    label = f"{i + 1}/{len(parts)}"
                    jobs.append(pool.submit(_solve_in_worker, i, seconds, label))
                return [_result(job, part) for job, part in zip(jobs, parts, strict=True)]
        finally:
            _RUNNER = None

    def again(
        self, parts: list[Part], plans: list[Plan | None], deadline: float | None, target: float
    ) -> list[Plan]:
        """Solve the parts still above the gap target (or with no plan) again with the
        time left.

        The largest gaps (in objective units) first; each part keeps the better
        plan and the higher bound of its two solves (both solve the same part).

        Raises
        ------
        SolverError
            A part still has no plan.
        """
        behind = [k for k, plan in enumerate(plans) if _gap(plan) > target]
        if deadline is None:
            behind = []
        behind.sort(key=lambda k: -_slack(plans[k]))
        for i, k in enumerate(behind):
            seconds = (deadline - time.perf_counter()) / (len(behind) - i)
            if seconds < 1.0:
                break
            plans[k] = _better_of(plans[k], self.tried(parts[k], seconds, f"{k + 1} longer"))
        for k, plan in enumerate(plans):
            if plan is None:
                raise SolverError(
                    f"no plan for part {parts[k].name} within its share of the time limit; "
                    "raise time_limit"
                )
        return plans  # type: ignore[return-value]

    def tried(self, part: Part, seconds: float | None, label: str) -> Plan | None:
        """:meth:`one`, or ``None`` when the solver stopped without a plan."""
        try:
            return self.one(part, seconds, label)
        except SolverError as e:
            log.info("part %s (%s): no plan yet: %s", label, part.name, e)
            return None

    def one(
        self, part: Part, seconds: float | None, label: str, drop: frozenset[str] = frozenset()
    ) -> Plan:
        """One part's plan, without the sites ``drop`` (ids), in at most ``seconds``."""
        settings = self.settings
        if seconds is not None:
            settings = dataclasses.replace(settings, time_limit=seconds)
        site_rows = part.site_rows
        if drop:
            ids = self.data.sites["site_id"].astype(str).to_numpy()[site_rows]
            site_rows = site_rows[~np.isin(ids, list(drop))]
        plan = self.solve(**self.frames(part.area_rows, site_rows), solver=settings)
        s = plan.solver
        gap = "-" if s.get("gap") is None else f"{s['gap']:.2%}"
        line = (
            f"part {label} ({part.name}): {len(part.area_rows)} areas, {len(site_rows)} "
            f"sites, objective {s['objective']:.6g}, gap {gap}, {s['status']}"
        )
        log.info(line)
        if self.progress:
            sys.stderr.write(f"{time.perf_counter() - self.started:7.1f} s  {line}\n")
        return plan

    def frames(self, area_rows: np.ndarray, site_rows: np.ndarray | None) -> dict[str, Any]:
        """The keyword arguments of ``solve`` for these rows (``None``: every site)."""
        d = self.data
        areas = d.areas.iloc[area_rows]
        sites = d.sites if site_rows is None else d.sites.iloc[site_rows]
        area_ids = set(areas["area_id"].astype(str))
        site_ids = set(sites["site_id"].astype(str))
        keep = d.travel["area_id"].astype(str).isin(area_ids) & d.travel["site_id"].astype(
            str
        ).isin(site_ids)
        options = d.options
        if options is not None:
            options = options[options["site_id"].astype(str).isin(site_ids)]
        adjacency = d.adjacency
        if adjacency is not None:
            adjacency = sp.csr_array(adjacency)[area_rows][:, area_rows]
        return {
            **d.kwargs,
            "areas": areas.reset_index(drop=True),
            "sites": sites.reset_index(drop=True),
            "travel": d.travel[keep].reset_index(drop=True),
            "options": None if options is None else options.reset_index(drop=True),
            "adjacency": adjacency,
        }


#: The runner and parts a forked worker process solves (set only while a pool runs).
_RUNNER: tuple[_Runner, list[Part]] | None = None


def _solve_in_worker(k: int, seconds: float | None, label: str) -> Plan:
    """Part ``k`` in a worker process (see :meth:`_Runner._in_processes`)."""
    assert _RUNNER is not None
    runner, parts = _RUNNER
    return runner.one(parts[k], seconds, label)


def _share(pairs: float, left: float, parts_left: float, deadline: float | None) -> float | None:
    """Seconds for a part: its share of the time left, by pairs and at least equal."""
    if deadline is None:
        return None
    share = min(max(pairs / max(left, 1), 1.0 / max(parts_left, 1.0)), 1.0)
    return max(share * (deadline - time.perf_counter()), 1.0)


def _ended(trace: list[list[float | None]], last: list[float | None]) -> list:
    """The trace with its last point (unless the objective and bound are unchanged)."""
    if trace and trace[-1][1:] == last[1:]:
        return list(trace)
    return [*trace, last]


def _result(job: Any, part: Part) -> Plan | None:
    try:
        return job.result()
    except SolverError as e:
        log.info("part %s: no plan yet: %s", part.name, e)
        return None


def _gap(plan: Plan | None) -> float:
    if plan is None:
        return math.inf
    gap = plan.solver.get("gap")
    return math.inf if gap is None else float(gap)


def _slack(plan: Plan | None) -> float:
    if plan is None:
        return math.inf
    bound = plan.solver.get("bound")
    return math.inf if bound is None else float(plan.solver["objective"]) - float(bound)


def _better_of(old: Plan | None, new: Plan | None) -> Plan | None:
    """The plan of lower objective, with the higher bound of the two solves."""
    from polygeo.optimise.progress import relative_gap

    if old is None or new is None:
        return new if old is None else old
    bounds = [b for b in (old.solver.get("bound"), new.solver.get("bound")) if b is not None]
    best = new if new.solver["objective"] < old.solver["objective"] else old
    if bounds:
        best.solver["bound"] = max(bounds)
        best.solver["gap"] = relative_gap(best.solver["objective"], best.solver["bound"])
    return best


def _combine(
    plans: list[Plan],
    parts: list[Part],
    bounds: list[float | None],
    settings: SolverSettings,
    started: float,
    outcome: Outcome,
    trace: list[list[float | None]],
) -> Plan:
    """One plan from the parts' plans: rows together, objectives and bounds added up."""
    from polygeo.optimise.progress import relative_gap

    terms = {k: sum(p.objective_terms.get(k, 0.0) for p in plans) for k in plans[0].objective_terms}
    objective = float(sum(p.solver["objective"] for p in plans))
    bound = outcome.bound
    gap = relative_gap(objective, bound)
    seconds = time.perf_counter() - started
    solver = _solver_info(plans, parts, bounds, settings, objective, bound, gap)
    solver.update(
        {
            "solve_seconds": seconds,
            "shared_site_nodes": outcome.nodes,
            "parts_solved_again": outcome.solves,
            "trace": _ended(trace, [round(seconds, 3), objective, bound]),
        }
    )
    first = plans[0]
    assignments = pd.concat([p.assignments for p in plans], ignore_index=True)[ASSIGNMENT_COLUMNS]
    hubs = pd.concat([p.hubs for p in plans], ignore_index=True)[HUB_COLUMNS]
    population = pd.concat([p.population for p in plans if p.population is not None])
    return Plan(
        assignments=assignments,
        hubs=hubs.sort_values("site_id", kind="stable").reset_index(drop=True),
        solver=solver,
        objective_terms=terms,
        rules=first.rules,
        crs=first.crs,
        population=population,
        stats=_stats(plans, parts),
        diagnosis=first.diagnosis,
    )


def _solver_info(
    plans: list[Plan],
    parts: list[Part],
    bounds: list[float | None],
    settings: SolverSettings,
    objective: float,
    bound: float | None,
    gap: float | None,
) -> dict[str, Any]:
    from polygeo.optimise.progress import relative_gap

    rows = []
    for part, plan, b in zip(parts, plans, bounds, strict=True):
        obj = float(plan.solver["objective"])
        rows.append(
            {
                "name": part.name,
                "areas": len(part.area_rows),
                "status": plan.solver["status"],
                "objective": obj,
                "bound": b,
                "gap": relative_gap(obj, b),
            }
        )
    proven = gap is not None and gap <= PROVEN_GAP
    met = gap is not None and settings.gap is not None and gap <= settings.gap
    status = "optimal" if proven else "gap_limit" if met else "time_limit_feasible"
    return {
        "status": status,
        "objective": objective,
        "bound": bound,
        "gap": gap,
        "optimal": proven,
        "name": settings.name,
        "time_limit": settings.time_limit,
        "gap_limit": settings.gap,
        "threads": settings.threads,
        "build_seconds": float(sum(p.solver.get("build_seconds", 0.0) for p in plans)),
        "parts": rows,
    }


def _stats(plans: list[Plan], parts: list[Part]) -> dict[str, Any]:
    stats: dict[str, Any] = {"parts": len(parts)}
    for key in ("areas", "pairs", "pairs_in", "sites_in_model", "exception_pairs"):
        values = [p.stats.get(key) for p in plans]
        if all(isinstance(v, int | float) for v in values):
            stats[key] = sum(values)  # type: ignore[arg-type]
    return stats
