"""The p-median special case, solved with a radius (sorted-cost) formulation.

When no rule limits how many people a hub serves (``min_population = 0``, no
``max_population``, no finite option capacity) and catchments need neither stay in
a group nor be contiguous, every area in an optimal plan goes to its cheapest open
hub: the rules left (hub counts, budget, required and forbidden sites, objective
weights, exceptions) only say which sets of hubs may open. The assignment columns
are then not needed: for area ``i`` with distinct pair costs ``D_i1 < D_i2 < ...``
(population x minutes, exception penalty included), a continuous ``z_ik`` says
"no hub within the first ``k`` levels is open", and

    cost_i = D_i1 + sum_k (D_i,k+1 - D_ik) z_ik,
    z_ik >= z_i,k-1 - sum_{j in level k} y_j   (z_i0 = 1, z_iK = 0),

the chain form of the radius formulation (Elloumi 2010, "A tighter formulation of
the p-median problem"; Garcia, Labbe and Marin 2011, "Solving large p-median
problems with a radius formulation"): one nonzero per pair plus two per level,
and its LP bound equals that of the formulations with one row per level.

Two reductions make it pay:

* **levels**: pairs of an area with equal cost share one level (one ``z``);
* **radius**: only the first levels of each area are modelled at first; an area
  left beyond them pays the next level's cost, so the model is a relaxation and
  its bound is valid. Areas that the solution leaves beyond their radius get more
  levels and the model is solved again (Garcia et al.'s iteration), until none is.

:func:`why_not` says which rule stops the reduction (``None``: it holds).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from polygeo.errors import InfeasibleError, SolverError
from polygeo.optimise.model import Model
from polygeo.optimise.problem import Problem
from polygeo.optimise.rules import SolverSettings

log = logging.getLogger("polygeo")

#: First radius, in sites per area: this many times (reachable sites / hubs).
RADIUS_FACTOR = 2.0

#: Fewest levels per area in the first radius.
RADIUS_MIN_LEVELS = 4


def radius_applies(problem: Problem, settings: SolverSettings) -> bool:
    """Whether the driver should solve ``problem`` here: p-median rules and native HiGHS."""
    native = settings.name.lower() == "highs" and settings.name != "HiGHS"
    return native and why_not(problem) is None


def why_not(problem: Problem) -> str | None:
    """Why the rules do not reduce to the p-median (``None`` when they do).

    Parameters
    ----------
    problem
        A reduced problem (:func:`~polygeo.optimise.problem.build_problem`).

    Returns
    -------
    str or None
        The first rule that can send an area past its cheapest open hub.
    """
    rules = problem.rules
    if rules.min_population > 0:
        return "min_population > 0 (a hub's minimum can send an area past a nearer hub)"
    if np.isfinite(problem.opt_cap).any():
        return "a finite max_population or option capacity limits a hub's catchment"
    if rules.within_group:
        return "within_group ties hubs to groups"
    if rules.contiguous:
        return "contiguous catchments"
    return None


@dataclass
class Levels:
    """Distinct pair costs per area, sorted (``reduce_levels=False``: one per pair).

    Attributes
    ----------
    pair_order
        Pairs sorted by (area, cost).
    pair_level
        Level of each sorted pair.
    level_area, level_cost
        Per level: its area and cost ``D``.
    area_first, area_count
        Per area: first level and number of levels.
    """

    pair_order: np.ndarray
    pair_level: np.ndarray
    level_area: np.ndarray
    level_cost: np.ndarray
    area_first: np.ndarray
    area_count: np.ndarray


def cost_levels(pair_area: np.ndarray, cost: np.ndarray, n_areas: int, *, dedupe: bool) -> Levels:
    """Sort every area's pairs by cost and group equal costs into levels."""
    order = np.lexsort((cost, pair_area))
    a, c = pair_area[order], cost[order]
    new = np.ones(len(order), dtype=bool)
    if dedupe and len(order):
        new[1:] = (a[1:] != a[:-1]) | (c[1:] != c[:-1])
    pair_level = np.cumsum(new) - 1
    first_pair = np.flatnonzero(new)
    level_area = a[first_pair]
    count = np.bincount(level_area, minlength=n_areas)
    first = np.concatenate([[0], np.cumsum(count)[:-1]])
    return Levels(order, pair_level, level_area, c[first_pair], first, count)


@dataclass
class _Sites:
    """The sites the model may open: cheapest option, cost, bounds."""

    option: np.ndarray  # the site's option (position among the model's options)
    cost: np.ndarray
    lower: np.ndarray
    index_of: np.ndarray  # model site -> position, -1 when not in the model


def _open_sites(model: Model) -> _Sites:
    """With unlimited capacities the cheapest option of a site is always the best one."""
    p = model.problem
    c_y = model.c[model.n_x : model.n_x + model.n_y]
    order = np.lexsort((c_y, p.opt_site))
    first = np.ones(len(order), dtype=bool)
    first[1:] = p.opt_site[order][1:] != p.opt_site[order][:-1]
    best = order[first]
    sites = p.opt_site[best]
    index_of = np.full(p.n_sites, -1, dtype=np.int64)
    index_of[sites] = np.arange(len(sites))
    lower = p.must_open[sites].astype(float)
    return _Sites(best, c_y[best], lower, index_of)


@dataclass
class RadiusModel:
    """The radius MIP over ``[y (one per site), z (kept levels)]`` as arrays."""

    c: np.ndarray
    offset: float
    A: sp.csc_array
    row_lo: np.ndarray
    row_hi: np.ndarray
    n_y: int
    z_level: np.ndarray  # level of each z column
    beyond: np.ndarray  # z columns that stand for "beyond the radius"


def build_radius_model(
    model: Model, sites: _Sites, levels: Levels, kept: np.ndarray
) -> RadiusModel:
    """The chain rows for the first ``kept[i]`` levels of every area ``i``."""
    p = model.problem
    lv = levels
    rank = np.arange(len(lv.level_area)) - lv.area_first[lv.level_area]
    keep = rank < kept[lv.level_area]
    last = rank == lv.area_count[lv.level_area] - 1
    has_z = keep & ~last
    z_level = np.flatnonzero(has_z)
    n_y, n_z = len(sites.option), len(z_level)
    row_of = np.full(len(rank), -1, dtype=np.int64)
    row_of[keep] = np.arange(int(keep.sum()))
    z_of = np.full(len(rank), -1, dtype=np.int64)
    z_of[z_level] = n_y + np.arange(n_z)

    # pairs: +y_j in the row of their level
    sorted_site = p.pair_site[lv.pair_order]
    pk = keep[lv.pair_level]
    r_pair = row_of[lv.pair_level[pk]]
    c_pair = sites.index_of[sorted_site[pk]]
    # +z_ik in row (i, k); -z_i,k-1 in row (i, k)
    lz = z_level
    r_z, c_z = row_of[lz], z_of[lz]
    nxt = lz + 1
    follow = keep[nxt.clip(max=len(rank) - 1)] & (rank[lz] + 1 < lv.area_count[lv.level_area[lz]])
    r_prev, c_prev = row_of[nxt[follow]], z_of[lz[follow]]
    rows = np.concatenate([r_pair, r_z, r_prev])
    cols = np.concatenate([c_pair, c_z, c_prev])
    vals = np.concatenate([np.ones(len(r_pair) + len(r_z)), -np.ones(len(r_prev))])
    n_rows = int(keep.sum())
    A = sp.coo_array((vals, (rows, cols)), shape=(n_rows, n_y + n_z)).tocsc()
    row_lo = (rank[keep] == 0).astype(float)
    row_hi = np.full(n_rows, np.inf)

    c = np.concatenate([sites.cost, lv.level_cost[z_level + 1] - lv.level_cost[z_level]])
    offset = float(lv.level_cost[lv.area_first[lv.area_count > 0]].sum())
    beyond = np.flatnonzero(~keep[(z_level + 1)]) + n_y
    return RadiusModel(c, offset, A, row_lo, row_hi, n_y, z_level, beyond)


def _y_rows(model: Model, sites: _Sites) -> tuple[sp.csr_array, np.ndarray, np.ndarray]:
    """Hub-count and budget rows on the site columns."""
    rules = model.problem.rules
    n = len(sites.option)
    rows, lo, hi = [], [], []
    hub_lo, hub_hi = rules.hub_bounds
    if hub_lo is not None or hub_hi is not None:
        rows.append(np.ones(n))
        lo.append(-np.inf if hub_lo is None else float(hub_lo))
        hi.append(np.inf if hub_hi is None else float(hub_hi))
    if rules.budget is not None:
        rows.append(model.problem.opt_cost[sites.option])
        lo.append(-np.inf)
        hi.append(float(rules.budget))
    if not rows:
        return sp.csr_array((0, n)), np.zeros(0), np.zeros(0)
    return sp.csr_array(np.vstack(rows)), np.array(lo), np.array(hi)


# -- the solver -----------------------------------------------------------------------------
@dataclass
class _Outcome:
    status: str
    y: np.ndarray | None
    bound: float | None
    detail: str
    beyond: np.ndarray | None = None  # areas the solution leaves beyond their radius


def _highs(settings: SolverSettings) -> Any:
    import highspy

    from polygeo.optimise.backends.highs import quiet_stdout

    with quiet_stdout(not settings.msg):
        h = highspy.Highs()
    h.setOptionValue("output_flag", bool(settings.msg))
    if settings.gap is not None:
        h.setOptionValue("mip_rel_gap", float(settings.gap))
    if settings.threads is not None:
        h.resetGlobalScheduler(True)
        h.setOptionValue("threads", int(settings.threads))
    for key, value in settings.extra.items():
        h.setOptionValue(str(key), value)
    return h


def _run_highs(
    rm: RadiusModel,
    y_rows: tuple[sp.csr_array, np.ndarray, np.ndarray],
    sites: _Sites,
    settings: SolverSettings,
    time_limit: float | None,
    start_y: np.ndarray | None,
    levels: Levels,
    site_col: np.ndarray,
    *,
    relax: bool = False,
) -> _Outcome:
    import highspy

    h = _highs(settings)
    h.setOptionValue("time_limit", math.inf if time_limit is None else max(time_limit, 0.0))
    Ay, lo_y, hi_y = y_rows
    n_z = len(rm.c) - rm.n_y
    Ay = sp.hstack([Ay, sp.csr_array((Ay.shape[0], n_z))]).tocsc()
    A = sp.vstack([rm.A, Ay], format="csc")
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = A.shape[1], A.shape[0]
    lp.col_cost_ = rm.c
    lp.offset_ = rm.offset
    lp.col_lower_ = np.concatenate([sites.lower, np.zeros(n_z)])
    lp.col_upper_ = np.ones(A.shape[1])
    lp.row_lower_ = np.concatenate([rm.row_lo, lo_y])
    lp.row_upper_ = np.concatenate([rm.row_hi, hi_y])
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = A.indptr.astype(np.int32)
    lp.a_matrix_.index_ = A.indices.astype(np.int32)
    lp.a_matrix_.value_ = A.data.astype(float)
    kinds = [highspy.HighsVarType.kInteger] * rm.n_y + [highspy.HighsVarType.kContinuous] * n_z
    if not relax:
        lp.integrality_ = kinds
    h.passModel(lp)
    if start_y is not None:
        sol = highspy.HighsSolution()
        z = _z_values(rm, levels, site_col, start_y)
        sol.col_value = np.concatenate([start_y, z])
        sol.value_valid = True
        h.setSolution(sol)
    h.run()
    info = h.getInfo()
    status = h.getModelStatus()
    text = h.modelStatusToString(status)
    feasible = info.primal_solution_status == 2
    y = values = None
    if feasible:
        values = np.asarray(h.getSolution().col_value)
        y = values[: rm.n_y] if relax else np.round(values[: rm.n_y])
    bound = info.objective_function_value if relax and feasible else info.mip_dual_bound
    bound = float(bound) if bound is not None and math.isfinite(bound) else None
    M = highspy.HighsModelStatus
    kind = {M.kOptimal: "optimal", M.kTimeLimit: "time_limit"}.get(status, "other")
    if status in (M.kInfeasible, M.kUnboundedOrInfeasible):
        kind = "infeasible"
    beyond = None
    if values is not None:
        beyond = levels.level_area[rm.z_level[rm.beyond[values[rm.beyond] > 1e-7] - rm.n_y]]
    return _Outcome(kind, y, bound, text, beyond=beyond)


def served(levels: Levels, site_col: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per level: whether some site at this level or a cheaper one of its area is open.

    ``site_col`` gives the y column of each sorted pair.
    """
    lv = levels
    open_level = np.bincount(lv.pair_level, weights=y[site_col], minlength=len(lv.level_area))
    cs = np.cumsum(open_level > 0.5)
    before = np.where(lv.area_first > 0, cs[np.maximum(lv.area_first - 1, 0)], 0)
    return cs - before[lv.level_area] > 0


def _z_values(rm: RadiusModel, levels: Levels, site_col: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The least ``z`` for the open sites ``y``: 1 where the area is not yet served."""
    return 1.0 - served(levels, site_col, y)[rm.z_level]


# -- a start plan: greedy, then the best swap until none improves --------------------------
#: Largest areas x sites for the dense start heuristic.
DENSE_LIMIT = 20_000_000


def start_sites(
    model: Model, sites: _Sites, pair_idx: np.ndarray, seconds: float = 5.0
) -> np.ndarray | None:
    """Open sites of a good plan (greedy adds, then best swaps: Teitz and Bart).

    Only for the plain p-median: a hub maximum, no budget, no cost on the hubs
    (so that the maximum is worth opening); ``None`` otherwise or when the dense
    areas x sites cost matrix would exceed ``DENSE_LIMIT`` cells.
    """
    p = model.problem
    hubs = p.rules.hub_bounds[1]
    n_sites = len(sites.option)
    if hubs is None or hubs < 1 or p.rules.budget is not None or np.any(sites.cost != 0):
        return None
    if p.n_areas * n_sites > DENSE_LIMIT or hubs >= n_sites or hubs < sites.lower.sum():
        return None
    C = np.full((p.n_areas, n_sites), np.inf)
    C[p.pair_area[pair_idx], sites.index_of[p.pair_site[pair_idx]]] = model.c[pair_idx]
    finite = C[np.isfinite(C)]
    C[~np.isfinite(C)] = (finite.max() + 1.0) * (p.n_areas + 1) if len(finite) else 1.0
    is_open = sites.lower > 0.5
    deadline = time.perf_counter() + seconds
    d1 = C[:, is_open].min(axis=1) if is_open.any() else np.full(p.n_areas, C.max() * 2)
    while is_open.sum() < hubs:
        f = int(np.argmin(np.where(is_open, np.inf, np.minimum(d1[:, None], C).sum(axis=0))))
        is_open[f] = True
        d1 = np.minimum(d1, C[:, f])
    while time.perf_counter() < deadline and _best_swap(C, is_open, sites.lower > 0.5):
        pass
    return is_open.astype(float)


def _best_swap(C: np.ndarray, is_open: np.ndarray, fixed: np.ndarray) -> bool:
    """Apply the best improving (close g, open f) swap; ``False`` when there is none."""
    cols = np.flatnonzero(is_open)
    sub = C[:, cols]
    two = np.argpartition(sub, 1, axis=1)[:, :2] if len(cols) > 1 else np.zeros((len(C), 2), int)
    rows = np.arange(len(C))
    a, b = sub[rows, two[:, 0]], sub[rows, two[:, 1]]
    first = np.where(a <= b, two[:, 0], two[:, 1])
    d1, d2 = np.minimum(a, b), np.maximum(a, b) if len(cols) > 1 else np.full(len(C), np.inf)
    gain_add = np.minimum(C - d1[:, None], 0.0).sum(axis=0)
    loss = np.minimum(C, d2[:, None]) - np.minimum(C, d1[:, None])
    G = sp.csr_array((np.ones(len(C)), (first, rows)), shape=(len(cols), len(C)))
    delta = gain_add[None, :] + G @ loss  # [closed g (as position in cols), opened f]
    delta[:, is_open] = np.inf
    delta[fixed[cols], :] = np.inf
    g, f = np.unravel_index(int(np.argmin(delta)), delta.shape)
    if not delta[g, f] < -1e-9 * max(float(d1.sum()), 1.0):
        return False
    is_open[cols[g]] = False
    is_open[f] = True
    return True


# -- the driver -----------------------------------------------------------------------------
def _first_radius(levels: Levels, model: Model, n_sites: int) -> np.ndarray:
    """Levels per area covering its ``RADIUS_FACTOR * sites / hubs`` cheapest sites."""
    lo, hi = model.problem.rules.hub_bounds
    hubs = hi if hi is not None else (lo if lo is not None else n_sites)
    lv = levels
    n_pairs = np.bincount(lv.level_area[lv.pair_level], minlength=len(lv.area_first))
    take = np.ceil(RADIUS_FACTOR * n_pairs / max(hubs, 1)).astype(np.int64)
    take = np.clip(np.maximum(take, RADIUS_MIN_LEVELS), 1, np.maximum(n_pairs, 1))
    pair_first = np.concatenate([[0], np.cumsum(n_pairs)[:-1]])
    has = n_pairs > 0
    kept = np.zeros(len(n_pairs), dtype=np.int64)
    last_pair = pair_first[has] + take[has] - 1
    kept[has] = lv.pair_level[last_pair] - lv.area_first[has] + 1
    return kept


#: First radius around a start plan: this many times the levels up to its hub.
START_MARGIN = 1.5


def _radius_of(levels: Levels, ok: np.ndarray) -> np.ndarray:
    """Levels per area up to its hub in a plan, times ``START_MARGIN``."""
    lv = levels
    rank = np.arange(len(lv.level_area)) - lv.area_first[lv.level_area]
    reach = np.full(len(lv.area_first), np.iinfo(np.int64).max // 4)
    np.minimum.at(reach, lv.level_area[ok], rank[ok] + 1)
    kept = np.ceil(START_MARGIN * reach).astype(np.int64)
    return np.minimum(np.maximum(kept, RADIUS_MIN_LEVELS), lv.area_count)


def _true_cost(levels: Levels, ok: np.ndarray, y: np.ndarray, sites: _Sites) -> float | None:
    """Objective of open sites ``y`` with every area at its cheapest open hub."""
    lv = levels
    rank = np.arange(len(lv.level_area)) - lv.area_first[lv.level_area]
    first = ok & ((rank == 0) | ~np.roll(ok, 1))
    areas = lv.area_count > 0
    if np.bincount(lv.level_area[first], minlength=len(areas))[areas].min(initial=1) < 1:
        return None
    return float(lv.level_cost[first].sum() + sites.cost @ y)


@dataclass
class Solution:
    """What :func:`solve_pmedian` found: solution vector of the general model and info."""

    values: np.ndarray
    status: str
    bound: float | None
    detail: str
    rounds: int
    stats: dict[str, Any]


def solve_pmedian(
    model: Model,
    settings: SolverSettings,
    *,
    dedupe: bool = True,
    radius: bool = True,
    start: bool = True,
    lp_phase: bool = True,
) -> Solution:
    """Solve the p-median case of ``model`` with the radius formulation and HiGHS.

    Parameters
    ----------
    model
        The general model (:func:`~polygeo.optimise.model.build_model`); its costs
        are used, and the answer is a solution vector of it.
    settings
        HiGHS settings (``time_limit`` covers every round, ``gap``, ``threads``,
        ``msg``, ``extra``).
    dedupe, radius, start, lp_phase
        The techniques (``False`` only to measure them): equal costs share a
        level; model only a radius of levels per area; a swap-heuristic start plan
        that also sets the first radius; widen the radius with LP rounds before
        the MIP rounds.

    Returns
    -------
    Solution
        ``status`` is ``"optimal"`` (within the gap), ``"time_limit_feasible"``,
        ``"infeasible"`` or ``"no_solution"``.

    Raises
    ------
    ValueError
        When :func:`why_not` gives a reason.
    """
    reason = why_not(model.problem)
    if reason is not None:
        raise ValueError(f"not a p-median problem: {reason}")
    run = _Rounds(model, settings, dedupe=dedupe)
    y0 = run.start() if start else None
    if not radius:
        run.kept = run.levels.area_count.copy()
    elif y0 is not None:
        run.kept = _radius_of(run.levels, run.served(y0))
    else:
        run.kept = _first_radius(run.levels, model, len(run.sites.option))
    if radius and lp_phase:
        run.lp_rounds()
    run.mip_rounds()
    return run.solution()


class _Rounds:
    """The state of the radius rounds: levels, radius, incumbent, bound."""

    def __init__(self, model: Model, settings: SolverSettings, *, dedupe: bool) -> None:
        self.t0 = time.perf_counter()
        limit = settings.time_limit
        self.deadline = None if limit is None else self.t0 + limit
        self.model, self.settings = model, settings
        p = model.problem
        self.sites = _open_sites(model)
        self.pair_idx = np.flatnonzero(self.sites.index_of[p.pair_site] >= 0)
        pa, cost = p.pair_area[self.pair_idx], model.c[self.pair_idx]
        self.levels = cost_levels(pa, cost, p.n_areas, dedupe=dedupe)
        self.site_col = self.sites.index_of[p.pair_site[self.pair_idx[self.levels.pair_order]]]
        self.y_rows = _y_rows(model, self.sites)
        self.tolerance = settings.gap if settings.gap is not None else PROVEN_GAP
        self.kept = self.levels.area_count.copy()
        self.best_y: np.ndarray | None = None
        self.best_cost = math.inf
        self.bound: float | None = None
        self.closed = False  # the last MIP left no area beyond its radius
        self.last: _Outcome | None = None
        self.stats: dict[str, Any] = {"rounds": 0, "lp_rounds": 0, "start_objective": None}

    def served(self, y: np.ndarray) -> np.ndarray:
        return served(self.levels, self.site_col, y)

    def left(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.perf_counter()

    def offer(self, y: np.ndarray) -> float | None:
        """Keep ``y`` when it is the best plan so far; its objective (None: unserved areas)."""
        cost = _true_cost(self.levels, self.served(y), y, self.sites)
        if cost is not None and cost < self.best_cost:
            self.best_y, self.best_cost = y, cost
        return cost

    def start(self) -> np.ndarray | None:
        y0 = start_sites(self.model, self.sites, self.pair_idx)
        if y0 is not None:
            self.stats["start_objective"] = self.offer(y0)
            log.info("p-median start plan: objective %.6g", self.best_cost)
        return y0

    def solve(self, *, relax: bool) -> tuple[_Outcome, RadiusModel]:
        rm = build_radius_model(self.model, self.sites, self.levels, self.kept)
        start = None if relax else self.best_y
        out = _run_highs(
            rm,
            self.y_rows,
            self.sites,
            self.settings,
            self.left(),
            start,
            self.levels,
            self.site_col,
            relax=relax,
        )
        self.stats.update(columns=len(rm.c), rows=rm.A.shape[0])
        return out, rm

    def lp_rounds(self) -> None:
        """Widen the radius (x2) where the LP relaxation leaves areas beyond it."""
        while True:
            self.stats["lp_rounds"] += 1
            out, rm = self.solve(relax=True)
            if out.status != "optimal" or out.beyond is None or len(out.beyond) == 0:
                return
            log.info(
                "p-median LP round %d: %d columns, %d areas beyond the radius (%.2f s)",
                self.stats["lp_rounds"],
                len(rm.c),
                len(out.beyond),
                time.perf_counter() - self.t0,
            )
            far = out.beyond
            self.kept[far] = np.minimum(2 * self.kept[far], self.levels.area_count[far])

    def within_gap(self) -> bool:
        if self.bound is None or not math.isfinite(self.best_cost):
            return False
        return self.best_cost - self.bound <= self.tolerance * abs(self.best_cost)

    def mip_rounds(self) -> None:
        """Solve the MIP; widen where it leaves areas beyond the radius, until the gap closes."""
        while True:
            self.stats["rounds"] += 1
            out, rm = self.solve(relax=False)
            self.last = out
            if out.bound is not None:
                self.bound = out.bound if self.bound is None else max(self.bound, out.bound)
            if out.y is None:
                return
            self.offer(out.y)
            ok = self.served(out.y)
            outside = self._outside(ok)
            self.closed = out.status == "optimal" and not outside.any()
            log.info(
                "p-median round %d: %d columns, %s, objective %.6g, bound %s, %d areas beyond "
                "the radius (%.2f s)",
                self.stats["rounds"],
                len(rm.c),
                out.detail,
                self.best_cost,
                self.bound,
                outside.sum(),
                time.perf_counter() - self.t0,
            )
            if self.within_gap() or self.closed or out.status != "optimal":
                return
            self.kept = _widen(self.levels, ok, self.kept, outside)

    def _outside(self, ok: np.ndarray) -> np.ndarray:
        """Areas that the plan with served levels ``ok`` leaves beyond their radius."""
        lv = self.levels
        last_kept = np.minimum(lv.area_first + np.maximum(self.kept, 1) - 1, len(ok) - 1)
        return (lv.area_count > 0) & (self.kept < lv.area_count) & ~ok[last_kept]

    def solution(self) -> Solution:
        out = self.last
        detail = "" if out is None else out.detail
        self.stats.update(levels=len(self.levels.level_area), pairs=len(self.pair_idx))
        rounds = self.stats["rounds"]
        if self.best_y is None:
            status = (
                "infeasible" if out is not None and out.status == "infeasible" else "no_solution"
            )
            return Solution(np.zeros(0), status, self.bound, detail, rounds, self.stats)
        values = _general_values(
            self.model, self.levels, self.pair_idx, self.site_col, self.sites, self.best_y
        )
        status = "optimal" if self.within_gap() or self.closed else "time_limit_feasible"
        return Solution(values, status, self.bound, detail, rounds, self.stats)


def _widen(levels: Levels, ok: np.ndarray, kept: np.ndarray, outside: np.ndarray) -> np.ndarray:
    """Double the radius of the areas left beyond it (at least to their open hub)."""
    lv = levels
    rank = np.arange(len(lv.level_area)) - lv.area_first[lv.level_area]
    reach = np.full(len(kept), np.iinfo(np.int64).max)
    np.minimum.at(reach, lv.level_area[ok], rank[ok] + 1)
    new = np.minimum(np.maximum(2 * kept, reach), lv.area_count)
    return np.where(outside, new, kept)


def _general_values(
    model: Model,
    levels: Levels,
    pair_idx: np.ndarray,
    site_col: np.ndarray,
    sites: _Sites,
    y: np.ndarray,
) -> np.ndarray:
    """The general model's vector: every area at its cheapest open hub."""
    values = np.zeros(model.n_cols)
    is_open = y[site_col] > 0.5
    sorted_area = levels.level_area[levels.pair_level]
    first = np.flatnonzero(is_open)
    areas, where = np.unique(sorted_area[first], return_index=True)
    values[pair_idx[levels.pair_order[first[where]]]] = 1.0
    values[model.n_x + sites.option[y > 0.5]] = 1.0
    return values


#: Largest relative gap reported as proven optimal (HiGHS' default tolerance).
PROVEN_GAP = 1e-4 + 1e-9


def solve_radius(
    model: Model, settings: SolverSettings, build_seconds: float
) -> tuple[np.ndarray, dict[str, Any]]:
    """:func:`solve_pmedian`, with the solver record of the general driver.

    Returns
    -------
    tuple
        The general model's solution vector and the ``plan.solver`` dict.

    Raises
    ------
    InfeasibleError, SolverError
        No set of hubs meets the hub-count, budget and required-site rules; or the
        time limit ran out before any plan.
    """
    t1 = time.perf_counter()
    sol = solve_pmedian(model, settings)
    seconds = time.perf_counter() - t1
    if sol.status == "infeasible":
        raise InfeasibleError(
            "HiGHS proved that no set of hubs meets the rules together (hubs, budget, "
            "required and forbidden sites); relax one of them.",
            model.problem.diagnosis,
        )
    if sol.status == "no_solution":
        raise SolverError(
            f"HiGHS reached the time limit of {settings.time_limit:g} s without any plan "
            f"({sol.detail}). Raise [solver] time_limit (or --time-limit)."
        )
    objective = model.objective_value(sol.values)
    gap = None
    if sol.bound is not None:
        gap = max(objective - sol.bound, 0.0) / max(abs(objective), 1e-9)
    optimal = sol.status == "optimal" and gap is not None and gap <= PROVEN_GAP
    status = sol.status if sol.status != "optimal" or optimal else "gap_limit"
    info = {
        "status": status,
        "objective": objective,
        "bound": sol.bound,
        "gap": gap,
        "build_seconds": build_seconds,
        "solve_seconds": seconds,
        "optimal": optimal,
        "name": settings.name,
        "detail": sol.detail,
        "rounds": sol.rounds,
        "cuts": 0,
        "start_objective": None,
        "lns_objective": None,
        "time_limit": settings.time_limit,
        "gap_limit": settings.gap,
        "threads": settings.threads,
        "formulation": "p-median radius",
        "pmedian": sol.stats,
    }
    log.info(
        "p-median: %s, objective %.6g, bound %s, %.2f s", status, objective, sol.bound, seconds
    )
    return sol.values, info
