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
from polygeo.optimise.progress import PROVEN_GAP
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
class LevelBlock:
    """Rows and ``z`` columns for levels ``lo[i] <= rank < hi[i]`` of every area ``i``.

    Row ``(i, k)``: ``z_ik - z_i,k-1 + sum_{j in level k} y_j >= [k == 0]``, with no
    ``z_ik`` at an area's last level (it must be served by then). The ``z`` of the
    last level below ``hi`` stands for "beyond the radius" while ``hi`` is short
    of the area's levels: it costs ``D_i,k+1 - D_ik``, a lower bound, so the
    model with a radius is a relaxation.
    """

    z_level: np.ndarray  # level of each new z column, in column order
    z_cost: np.ndarray
    A: sp.csr_array  # the new rows over every column, old and new
    row_lo: np.ndarray


def level_block(
    levels: Levels, site_col: np.ndarray, lo: np.ndarray, hi: np.ndarray, z_col: np.ndarray
) -> LevelBlock:
    """The rows and columns that take every area from ``lo`` to ``hi`` levels.

    ``z_col`` (per level, ``-1`` where none; ``z_col.max() + 1`` or the number of
    site columns is the next free column) is updated in place.
    """
    lv = levels
    n_cols = max(int(z_col.max()) + 1, int(site_col.max(initial=-1)) + 1)
    rank = np.arange(len(lv.level_area)) - lv.area_first[lv.level_area]
    area = lv.level_area
    window = (rank >= lo[area]) & (rank < hi[area])
    new_z = np.flatnonzero(window & (rank < lv.area_count[area] - 1))
    z_col[new_z] = n_cols + np.arange(len(new_z))
    levels_in = np.flatnonzero(window)
    row_of = np.full(len(rank), -1, dtype=np.int64)
    row_of[levels_in] = np.arange(len(levels_in))
    in_pair = window[lv.pair_level]
    prev = levels_in[rank[levels_in] > 0]
    rows = np.concatenate([row_of[lv.pair_level[in_pair]], row_of[new_z], row_of[prev]])
    cols = np.concatenate([site_col[in_pair], z_col[new_z], z_col[prev - 1]])
    vals = np.concatenate([np.ones(int(in_pair.sum()) + len(new_z)), -np.ones(len(prev))])
    shape = (len(levels_in), n_cols + len(new_z))
    A = sp.coo_array((vals, (rows, cols)), shape=shape).tocsr()
    z_cost = lv.level_cost[new_z + 1] - lv.level_cost[new_z]
    return LevelBlock(new_z, z_cost, A, (rank[levels_in] == 0).astype(float))


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


class RadiusLP:
    """The radius model in one HiGHS instance, widened in place (warm LP restarts)."""

    def __init__(
        self,
        levels: Levels,
        site_col: np.ndarray,
        sites: _Sites,
        y_rows: tuple[sp.csr_array, np.ndarray, np.ndarray],
        settings: SolverSettings,
        kept: np.ndarray,
    ) -> None:
        import highspy

        from polygeo.optimise.backends.highs import configured_highs

        self.hs, self.h = highspy, configured_highs(settings)
        self.levels, self.site_col, self.n_y = levels, site_col, len(sites.option)
        self.z_col = np.full(len(levels.level_area), -1, dtype=np.int64)
        self.kept = np.zeros_like(kept)
        block = level_block(levels, site_col, self.kept, kept, self.z_col)
        self.kept, self.col_level = kept.copy(), block.z_level
        Ay, lo_y, hi_y = y_rows
        n_cols = block.A.shape[1]
        Ay = sp.hstack([Ay, sp.csr_array((Ay.shape[0], n_cols - self.n_y))])
        A = sp.vstack([block.A, Ay], format="csc")
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = n_cols, A.shape[0]
        lp.col_cost_ = np.concatenate([sites.cost, block.z_cost])
        lp.offset_ = float(levels.level_cost[levels.area_first[levels.area_count > 0]].sum())
        lp.col_lower_ = np.concatenate([sites.lower, np.zeros(n_cols - self.n_y)])
        lp.col_upper_ = np.ones(n_cols)
        lp.row_lower_ = np.concatenate([block.row_lo, lo_y])
        lp.row_upper_ = np.concatenate([np.full(len(block.row_lo), np.inf), hi_y])
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = A.indptr.astype(np.int32)
        lp.a_matrix_.index_ = A.indices.astype(np.int32)
        lp.a_matrix_.value_ = A.data.astype(float)
        self.h.passModel(lp)

    @property
    def n_cols(self) -> int:
        return self.n_y + len(self.col_level)

    def widen(self, kept: np.ndarray) -> None:
        """Add the rows and columns of the levels between the old radius and ``kept``."""
        block = level_block(self.levels, self.site_col, self.kept, kept, self.z_col)
        k = len(block.z_level)
        empty = np.zeros(k, dtype=np.int32)
        self.h.addCols(k, block.z_cost, np.zeros(k), np.ones(k), 0, empty, empty, empty * 0.0)
        A, r = block.A, block.A.shape[0]
        self.h.addRows(
            r,
            block.row_lo,
            np.full(r, np.inf),
            A.nnz,
            A.indptr[:-1].astype(np.int32),
            A.indices.astype(np.int32),
            A.data.astype(float),
        )
        self.kept = kept.copy()
        self.col_level = np.concatenate([self.col_level, block.z_level])

    def make_integral(self) -> None:
        idx = np.arange(self.n_y, dtype=np.int32)
        kinds = np.array([self.hs.HighsVarType.kInteger] * self.n_y)
        self.h.changeColsIntegrality(self.n_y, idx, kinds)

    def run(self, time_limit: float | None, start_y: np.ndarray | None, *, relax: bool) -> _Outcome:
        """Solve (LP when ``relax``) and say which areas the solution leaves beyond the radius."""
        h, M = self.h, self.hs.HighsModelStatus
        h.setOptionValue("time_limit", math.inf if time_limit is None else max(time_limit, 0.0))
        if start_y is not None:
            sol = self.hs.HighsSolution()
            z = 1.0 - served(self.levels, self.site_col, start_y)[self.col_level]
            sol.col_value = np.concatenate([start_y, z])
            sol.value_valid = True
            h.setSolution(sol)
        h.run()
        info, status = h.getInfo(), h.getModelStatus()
        values = None
        if info.primal_solution_status == 2:
            values = np.asarray(h.getSolution().col_value)
        bound = info.objective_function_value if relax and values is not None else None
        bound = bound if relax else info.mip_dual_bound
        bound = float(bound) if bound is not None and math.isfinite(bound) else None
        kind = {M.kOptimal: "optimal", M.kTimeLimit: "time_limit"}.get(status, "other")
        if status in (M.kInfeasible, M.kUnboundedOrInfeasible):
            kind = "infeasible"
        if values is None:
            return _Outcome(kind, None, bound, h.modelStatusToString(status))
        y = values[: self.n_y] if relax else np.round(values[: self.n_y])
        return _Outcome(kind, y, bound, h.modelStatusToString(status), self._beyond(values))

    def _beyond(self, values: np.ndarray) -> np.ndarray:
        lv = self.levels
        short = np.flatnonzero((lv.area_count > 0) & (self.kept < lv.area_count))
        cols = self.z_col[lv.area_first[short] + self.kept[short] - 1]
        return short[values[cols] > 1e-7]


def served(levels: Levels, site_col: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per level: whether some site at this level or a cheaper one of its area is open.

    ``site_col`` gives the y column of each sorted pair.
    """
    lv = levels
    open_level = np.bincount(lv.pair_level, weights=y[site_col], minlength=len(lv.level_area))
    cs = np.cumsum(open_level > 0.5)
    before = np.where(lv.area_first > 0, cs[np.maximum(lv.area_first - 1, 0)], 0)
    return cs - before[lv.level_area] > 0


# -- a start plan: greedy, then the best swap until none improves --------------------------
#: Largest areas x sites for the dense start heuristic.
DENSE_LIMIT = 20_000_000


def start_sites(
    model: Model,
    sites: _Sites,
    pair_idx: np.ndarray,
    seconds: float = 5.0,
    prefer: np.ndarray | None = None,
) -> np.ndarray | None:
    """Open sites of a good plan (greedy adds, then best swaps: Teitz and Bart).

    With ``prefer`` (per site, e.g. an LP solution) the sites of largest values
    open first instead of the greedy adds.

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
    if prefer is not None:
        order = np.argsort(-np.where(is_open, np.inf, prefer), kind="stable")
        is_open[order[:hubs]] = True
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
        that also sets the first radius (and a second one from the LP); widen the
        radius with LP rounds before the MIP rounds.

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
    if start and run.lp_y is not None:
        run.start(prefer=run.lp_y)
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
        self.lp: RadiusLP | None = None
        self.lp_y: np.ndarray | None = None
        self.integral = False
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

    def start(self, prefer: np.ndarray | None = None) -> np.ndarray | None:
        """A swap-heuristic plan (from the largest ``prefer`` values when given)."""
        y0 = start_sites(self.model, self.sites, self.pair_idx, prefer=prefer)
        if y0 is not None:
            cost = self.offer(y0)
            key = "start_objective" if prefer is None else "lp_start_objective"
            self.stats[key] = cost
            log.info("p-median %s: objective %.6g", key.replace("_", " "), cost)
        return y0

    def solve(self, *, relax: bool) -> _Outcome:
        """Solve the model for the current radius (built once, then widened in place)."""
        if self.lp is None:
            args = (self.levels, self.site_col, self.sites, self.y_rows, self.settings)
            self.lp = RadiusLP(*args, self.kept)
        elif not np.array_equal(self.lp.kept, self.kept):
            self.lp.widen(self.kept)
        if not relax and not self.integral:
            self.lp.make_integral()
            self.integral = True
        out = self.lp.run(self.left(), None if relax else self.best_y, relax=relax)
        self.stats.update(columns=self.lp.n_cols, rows=int(self.lp.h.getNumRow()))
        return out

    def lp_rounds(self) -> None:
        """Widen the radius (x2) where the LP relaxation leaves areas beyond it."""
        while True:
            self.stats["lp_rounds"] += 1
            out = self.solve(relax=True)
            if out.status == "optimal" and out.y is not None:
                self.lp_y = out.y
            if out.status != "optimal" or out.beyond is None or len(out.beyond) == 0:
                return
            log.info(
                "p-median LP round %d: %d columns, %d areas beyond the radius (%.2f s)",
                self.stats["lp_rounds"],
                self.lp.n_cols,
                len(out.beyond),
                time.perf_counter() - self.t0,
            )
            far = out.beyond
            wide = np.maximum(2 * self.kept[far], self._covered_at(out.y)[far])
            self.kept[far] = np.minimum(wide, self.levels.area_count[far])

    def _covered_at(self, y: np.ndarray) -> np.ndarray:
        """Per area: levels until the (fractional) open sites ``y`` add up to one."""
        lv = self.levels
        cum = np.cumsum(y[self.site_col])
        area_of_pair = lv.level_area[lv.pair_level]
        n_pairs = np.bincount(area_of_pair, minlength=len(lv.area_first))
        before = np.concatenate([[0.0], cum])[np.cumsum(n_pairs) - n_pairs]
        covered = cum - before[area_of_pair] >= 1.0 - 1e-6
        rank = lv.pair_level - lv.area_first[area_of_pair]
        at = np.full(len(lv.area_first), np.iinfo(np.int64).max // 4)
        np.minimum.at(at, area_of_pair[covered], rank[covered] + 1)
        return at

    def within_gap(self) -> bool:
        if self.bound is None or not math.isfinite(self.best_cost):
            return False
        return self.best_cost - self.bound <= self.tolerance * abs(self.best_cost)

    def mip_rounds(self) -> None:
        """Solve the MIP; widen where it leaves areas beyond the radius, until the gap closes."""
        while True:
            self.stats["rounds"] += 1
            out = self.solve(relax=False)
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
                self.lp.n_cols,
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
