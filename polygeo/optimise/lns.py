"""Large-neighbourhood search: re-optimise a few neighbouring catchments at a time.

At city scale the full model is too large for the solver to improve a plan in
minutes (NE London: 100,000 pairs; HiGHS spends the whole time at the root
node; all of London: the root LP alone takes longer than five minutes). Yet a
small piece of it -- the areas of a hub and its nearest open hubs, with every
site that could serve them -- is a model HiGHS solves to optimality in a
second or so. This search walks over the hubs, frees each neighbourhood, and
keeps the sub-plan when it lowers the objective:

* the rest of the plan stays fixed, so the hub count and budget left for the
  neighbourhood are what the fixed hubs do not use;
* sites open outside the neighbourhood are not offered (they may not grow:
  they already count against the count and budget, and stay as they are);
* the same model code builds the sub-model (the same rules, options,
  contiguity cuts), and the sub-plan is checked against every row of the full
  model before it is kept.

With ``threads`` > 1, that many neighbourhoods with no hub in common are solved at
once in worker processes; a result that comes back after another one was kept is
applied to the plan as it is then, and kept only if it still meets every row and
improves. Each pass visits the hubs with the largest share of the gap first when
given a ``priority`` (:func:`~polygeo.optimise.bound.hub_gaps`).

Where the search is all that improves the plan (London, England), larger groups pay
more than many passes over small ones once those stall; offering each freed area
only its few cheapest pairs (``nearest``, :func:`nearest_pairs`) makes a group of 16
hubs about as quick to solve as one of six with every pair.

The search stops at its deadline or when no neighbourhood improves.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import multiprocessing
import time
from collections.abc import Callable
from concurrent.futures import (
    FIRST_COMPLETED,
    BrokenExecutor,
    Executor,
    Future,
    ProcessPoolExecutor,
    wait,
)
from typing import Any

import numpy as np

from polygeo.errors import PolygeoError
from polygeo.optimise.backends import HighsBackend
from polygeo.optimise.fixing import with_count_rows
from polygeo.optimise.flow import contiguity_formulation
from polygeo.optimise.kinds import quotas_left
from polygeo.optimise.model import Model, build_model
from polygeo.optimise.problem import piece_problem, restrict_problem
from polygeo.optimise.rounds import run_rounds
from polygeo.optimise.rules import SolverSettings
from polygeo.optimise.start import start_vector

log = logging.getLogger("polygeo")

_TOL = 1e-6

#: Hubs freed together, in turn: the next size once no neighbourhood of this one improves.
NEIGHBOURHOOD_SIZES = (2, 3, 4, 6, 8)


def _choice_from(model: Model, v: np.ndarray) -> np.ndarray:
    p = model.problem
    x = np.flatnonzero(v[: model.n_x] > 0.5)
    choice = np.full(p.n_areas, -1, dtype=np.int64)
    choice[p.pair_area[x]] = x
    return choice


def _open_option(model: Model, v: np.ndarray) -> np.ndarray:
    """Chosen option row per site (``-1`` when closed)."""
    p = model.problem
    y = np.flatnonzero(v[model.n_x : model.n_x + model.n_y] > 0.5)
    out = np.full(p.n_sites, -1, dtype=np.int64)
    out[p.opt_site[y]] = y
    return out


def _kept_sites(p, choice: np.ndarray, free: np.ndarray, assigned: np.ndarray) -> np.ndarray:
    """Per area, the site it stays with outside the sub-model (-1: freed or an exception)."""
    exception = (choice >= 0) & p.pair_exception[np.maximum(choice, 0)]
    return np.where(free | exception, -1, assigned)


def _neighbourhood_model(
    model: Model,
    v: np.ndarray,
    hubs: np.ndarray,
    candidates: np.ndarray | None = None,
    *,
    need_start: bool = True,
    pairs: np.ndarray | None = None,
) -> tuple[Model, np.ndarray, np.ndarray | None] | None:
    """The sub-model freeing the areas of ``hubs``; returns (model, pair map, start).

    ``candidates`` (a mask of sites, default all) limits the sites offered besides
    ``hubs`` and the sites that must open. ``need_start=False``: also when ``v``'s
    plan of the freed areas is no plan of the sub-model (a catchment in pieces,
    :mod:`.connect`); the start is then ``None``.
    """
    p = model.problem
    rules = p.rules
    choice = _choice_from(model, v)
    opt = _open_option(model, v)
    is_open = opt >= 0
    in_n = np.zeros(p.n_sites, dtype=bool)
    in_n[hubs] = True
    assigned_site = np.where(choice >= 0, p.pair_site[np.maximum(choice, 0)], -1)
    free = (assigned_site >= 0) & in_n[np.maximum(assigned_site, 0)]
    if not free.any():
        return None
    offered = ~(is_open & ~in_n)
    if candidates is not None:
        offered &= candidates | in_n | p.must_open
    if rules.contiguous:
        home_ok = np.zeros(p.n_sites, dtype=bool)
        ok = p.home >= 0
        home_ok[ok] = free[p.home[ok]]
        offered &= home_ok
    keep = free[p.pair_area] & offered[p.pair_site]
    if pairs is not None:
        current = choice[free]  # the freed areas keep their own pair whatever its rank
        keep_current = keep[current]
        keep &= pairs
        keep[current] = keep_current
    # sites that cannot gather the minimum from the freed areas
    for _ in range(3):
        reach = np.bincount(
            p.pair_site[keep], weights=p.population[p.pair_area[keep]], minlength=p.n_sites
        )
        viable = reach >= rules.min_population - _TOL
        new = keep & viable[p.pair_site]
        if new.sum() == keep.sum():
            break
        keep = new
    pk = np.flatnonzero(keep)
    if np.bincount(p.pair_area[pk], minlength=p.n_areas)[free].min() == 0:
        return None  # a freed area lost every site (should not happen)
    opt_keep = np.isin(p.opt_site, np.unique(p.pair_site[pk]))
    outside = is_open & ~in_n
    lo, hi = rules.hub_bounds
    n_out = int(outside.sum())
    hubs_rule = None
    if lo is not None or hi is not None:
        lo2 = None if lo is None else max(lo - n_out, 0)
        hi2 = None if hi is None else hi - n_out
        if hi2 is not None and hi2 < 1:
            return None
        hubs_rule = (lo2, hi2)
    budget = rules.budget
    if budget is not None:
        budget = max(budget - float(p.opt_cost[opt[outside]].sum()), 0.0)
    sub = piece_problem(
        p,
        keep,
        opt_keep,
        rules=dataclasses.replace(rules, hubs=hubs_rule, budget=budget),
        offered=offered,
        quotas=quotas_left(p.quotas, outside, _kept_sites(p, choice, free, assigned_site)),
    )
    sub_model = contiguity_formulation(
        with_count_rows(build_model(sub, linking=model.linking, weights=model.weights))
    )
    if not need_start:
        return sub_model, pk, None
    # the current plan of the freed areas, in the sub-model's pairs
    sub_choice = np.full(p.n_areas, -1, dtype=np.int64)
    pos = np.searchsorted(pk, choice[free])
    if (pos >= len(pk)).any() or (pk[np.minimum(pos, len(pk) - 1)] != choice[free]).any():
        return None
    sub_choice[free] = pos
    start = start_vector(sub_model, sub_choice)
    if start is None:
        return None
    return sub_model, pk, start


@dataclasses.dataclass
class _Piece:
    """A neighbourhood's sub-model, its pairs in the full model, the plan's value in it."""

    group: tuple[int, ...]
    model: Model
    pairs: np.ndarray
    start: np.ndarray
    before: float


def _piece(
    model: Model,
    v: np.ndarray,
    group: tuple[int, ...],
    candidates: np.ndarray | None,
    pairs: np.ndarray | None = None,
) -> _Piece | None:
    built = _neighbourhood_model(model, v, np.array(group), candidates, pairs=pairs)
    if built is None:
        return None
    sub_model, pk, start = built
    return _Piece(group, sub_model, pk, start, sub_model.objective_value(start))


def _solve_piece(
    sub_model: Model, start: np.ndarray, settings: SolverSettings, seconds: float
) -> np.ndarray | None:
    """HiGHS' best plan of a sub-model within ``seconds`` (run in a worker process)."""
    deadline = time.perf_counter() + seconds
    try:
        backend = HighsBackend(sub_model, settings)
        backend.set_start(start)
        result, _ = run_rounds(
            sub_model,
            backend,
            settings,
            deadline=deadline,
            max_rounds=50,
            problem=sub_model.problem,
        )
    except PolygeoError:
        return None
    return None if result.values is None else np.round(result.values)


def _move(piece: _Piece, w: np.ndarray | None, n_areas: int) -> np.ndarray | None:
    """The freed areas' new pairs of the full model (``-1`` elsewhere) if ``w`` improves."""
    if w is None:
        return None
    if piece.model.objective_value(w) >= piece.before - 1e-9 * max(abs(piece.before), 1.0):
        return None
    sub_choice = _choice_from(piece.model, w)
    pairs = np.full(n_areas, -1, dtype=np.int64)
    freed = sub_choice >= 0
    pairs[freed] = piece.pairs[sub_choice[freed]]
    return pairs


class _InThisProcess(Executor):
    """Runs each job at once, in this process (one neighbourhood at a time)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        future.set_result(fn(*args, **kwargs))
        return future


def _pool(workers: int) -> Executor:
    """``workers`` processes, forked where the system can (as :mod:`.parts` does: no
    ``__main__`` guard needed in the caller's script; each worker rebuilds HiGHS'
    thread pool for one thread), else spawned."""
    if workers <= 1:
        return _InThisProcess()
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    return ProcessPoolExecutor(max_workers=workers, mp_context=context)


def _group_of(model: Model, hubs: np.ndarray, j: int, size: int) -> tuple[int, ...]:
    """Hub ``j`` and its ``size - 1`` nearest open hubs."""
    p = model.problem
    d = np.hypot(p.site_x[hubs] - p.site_x[j], p.site_y[hubs] - p.site_y[j])
    return tuple(sorted(hubs[np.argsort(d, kind="stable")[:size]].tolist()))


class _Search:
    """The search's state: the best plan and the neighbourhoods known not to improve it."""

    def __init__(self, model: Model, v: np.ndarray, on_improve: Callable[[float], None] | None):
        self.model = model
        self.best = v.copy()
        self.best_obj = model.objective_value(self.best)
        self.on_improve = on_improve
        self.stale: set[tuple[int, ...]] = set()
        self.tried = self.kept = self.clashes = 0

    def hubs(self) -> np.ndarray:
        return np.flatnonzero(_open_option(self.model, self.best) >= 0)

    def apply(self, group: tuple[int, ...], move: np.ndarray | None) -> bool:
        """Keep ``move`` (new pairs of the freed areas, ``-1`` elsewhere) if, applied to
        the best plan now, it meets every row and improves.

        A move solved from an older plan (another worker's move kept meanwhile) is
        checked the same way; one that no longer fits counts as a clash.
        """
        if move is None:
            return False
        choice = _choice_from(self.model, self.best)
        freed = move >= 0
        choice[freed] = move[freed]
        candidate = start_vector(self.model, choice)
        if candidate is None or self.model.objective_value(candidate) >= self.best_obj - 1e-9:
            self.clashes += 1
            return False
        old_hubs = set(self.hubs().tolist())
        self.best, self.best_obj = candidate, self.model.objective_value(candidate)
        self.kept += 1
        if self.on_improve is not None:
            self.on_improve(self.best_obj)
        changed = set(group) | (set(self.hubs().tolist()) ^ old_hubs)
        self.stale = {g for g in self.stale if not changed.intersection(g)}
        return True


def large_neighbourhood_search(
    model: Model,
    v: np.ndarray,
    *,
    seconds: float,
    settings: SolverSettings | None = None,
    hubs_per_move: int = 3,
    sub_seconds: float = 5.0,
    seed: int = 0,
    candidates: np.ndarray | None = None,
    on_improve: Callable[[float], None] | None = None,
    priority: Callable[[np.ndarray], np.ndarray] | None = None,
    nearest: int | None = None,
    sizes: tuple[int, ...] | None = None,
    passes_below: int | None = None,
) -> np.ndarray:
    """Improve a feasible solution ``v`` of ``model`` by re-solving neighbourhoods.

    Parameters
    ----------
    model
        The full model.
    v
        A feasible column vector (e.g. the greedy start).
    seconds
        Time budget.
    settings
        Threads are taken from here; sub-models are always solved with HiGHS. With
        ``threads`` > 1, that many neighbourhoods (with no hub in common) are solved
        at once, each by a single-threaded HiGHS.
    hubs_per_move
        Most open hubs freed together (a hub and its nearest open neighbours):
        pairs first, then larger groups (:data:`NEIGHBOURHOOD_SIZES`) once the
        smaller ones no longer improve.
    sub_seconds
        Time limit of a sub-model of two hubs (larger ones get more in proportion).
    seed
        Order in which hubs are visited.
    candidates
        Mask of the sites a neighbourhood may open (besides its own hubs and the
        sites that must open); default every site. The sites a relaxation opens
        (:func:`candidate_sites`) make the sub-models smaller: on north-east London
        76 of 294 sites.
    on_improve
        Called with the objective each time the search keeps a better plan (the
        progress line and ``solver.trace``).
    priority
        Per site, a score for the current plan (e.g. each hub's share of the gap,
        :func:`~polygeo.optimise.bound.hub_gaps`): each pass over the hubs visits
        the highest first. Default: a random order.
    nearest
        Offer each freed area only its ``nearest`` cheapest pairs among the
        ``candidates`` (:func:`nearest_pairs`; its current pair always): sub-models a
        third to a fifth the size, so larger groups fit in the time. Default: all.
    sizes
        The group sizes in turn (default :data:`NEIGHBOURHOOD_SIZES` up to
        ``hubs_per_move``).
    passes_below
        Every size but the last gets at most this many passes over the hubs
        before the next (default: until a pass finds nothing).

    Returns
    -------
    numpy.ndarray
        A feasible vector at least as good as ``v``.
    """
    t0 = time.perf_counter()
    deadline = t0 + seconds
    rng = np.random.default_rng(seed)
    threads = settings.threads if settings else None
    workers = max(threads or 1, 1)
    sub_settings = SolverSettings(name="highs", gap=1e-6, threads=1 if workers > 1 else threads)
    search = _Search(model, v, on_improve)
    first_obj = search.best_obj
    if sizes is None:
        sizes = tuple(k for k in NEIGHBOURHOOD_SIZES if k <= hubs_per_move) or (hubs_per_move,)
    pairs = None if nearest is None else nearest_pairs(model, candidates, nearest)
    try:
        with _pool(workers) as pool:
            for size in sizes:
                log.debug(
                    "neighbourhoods of %d hubs from %.6g (%.1f s)",
                    size,
                    search.best_obj,
                    time.perf_counter() - t0,
                )
                search.stale = set()
                passes = 0
                while time.perf_counter() < deadline and len(search.hubs()) >= 2:
                    if size != sizes[-1] and passes_below is not None and passes >= passes_below:
                        break
                    passes += 1
                    run = _Pass(search, pool, workers, sub_settings, candidates, pairs)
                    order = rng.permutation(search.hubs())
                    if priority is not None:
                        order = order[np.argsort(-priority(search.best)[order], kind="stable")]
                    if not run.visit(order, size, sub_seconds * size / 2, deadline):
                        break
    except BrokenExecutor:
        log.warning(
            "a worker process of the neighbourhood search died (out of memory?): the "
            "search stops with its best plan so far; set [solver] threads = 1 to search "
            "in this process"
        )
    log.info(
        "large-neighbourhood search: %.6g -> %.6g (%d of %d neighbourhoods improved, "
        "%d clashed, %d at once, %.1f s)",
        first_obj,
        search.best_obj,
        search.kept,
        search.tried,
        search.clashes,
        workers,
        time.perf_counter() - t0,
    )
    return search.best


@dataclasses.dataclass
class _Pass:
    """One visit of every open hub, ``workers`` neighbourhoods (no hub in common) at a time."""

    search: _Search
    pool: Executor
    workers: int
    settings: SolverSettings
    candidates: np.ndarray | None
    pairs: np.ndarray | None = None

    def visit(self, hubs: np.ndarray, size: int, limit: float, deadline: float) -> bool:
        """Visit the neighbourhoods of ``hubs`` in turn; True if one improved the plan."""
        search = self.search
        order = collections.deque(hubs.tolist())
        pending: dict[Future[np.ndarray | None], _Piece] = {}
        improved = False
        while True:
            busy = {h for piece in pending.values() for h in piece.group}
            deferred: list[int] = []
            while order and len(pending) < self.workers and time.perf_counter() < deadline:
                j = order.popleft()
                group = self._group(j, size)
                if group is None:
                    continue
                if busy.intersection(group):
                    deferred.append(j)
                    continue
                search.stale.add(group)
                piece = _piece(search.model, search.best, group, self.candidates, self.pairs)
                if piece is None:
                    continue
                busy.update(group)
                search.tried += 1
                seconds = min(limit, deadline - time.perf_counter())
                job = self.pool.submit(
                    _solve_piece, piece.model, piece.start, self.settings, seconds
                )
                pending[job] = piece
            order.extendleft(reversed(deferred))
            if not pending:
                return improved
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for job in done:
                piece = pending.pop(job)
                move = _move(piece, job.result(), search.model.problem.n_areas)
                improved |= search.apply(piece.group, move)

    def _group(self, j: int, size: int) -> tuple[int, ...] | None:
        """Hub ``j``'s group of ``size`` hubs, or ``None`` (closed, or known not to improve)."""
        hubs = self.search.hubs()
        if j not in hubs:
            return None
        group = _group_of(self.search.model, hubs, j, size)
        return None if group in self.search.stale else group


def nearest_pairs(model: Model, sites: np.ndarray | None, k: int) -> np.ndarray:
    """Mask of each area's ``k`` cheapest pairs among ``sites`` (a mask; default all).

    Cheapest by objective coefficient, which for every area ranks its pairs as the
    Lagrangian reduced costs ``c_ij - lambda_i`` do.
    """
    p = model.problem
    eligible = np.ones(model.n_x, dtype=bool) if sites is None else sites[p.pair_site]
    idx = np.flatnonzero(eligible)
    idx = idx[np.lexsort((model.c[idx], p.pair_area[idx]))]
    area = p.pair_area[idx]
    first = np.r_[0, np.flatnonzero(np.diff(area)) + 1]
    rank = np.arange(len(idx)) - np.repeat(first, np.diff(np.r_[first, len(idx)]))
    mask = np.zeros(model.n_x, dtype=bool)
    mask[idx[rank < k]] = True
    return mask


#: Sites opened in more than this share of the relaxation's last steps are candidates.
CANDIDATE_FREQUENCY = 1e-3


def candidate_sites(frequency: np.ndarray) -> np.ndarray:
    """Mask of the sites a relaxation opens (share of its last steps above
    :data:`CANDIDATE_FREQUENCY`; e.g. the Lagrangian bound's ``site_frequency``)."""
    return frequency > CANDIDATE_FREQUENCY


#: Sites open in more than this share of the relaxation's last steps join a kernel.
KERNEL_FREQUENCY = 0.05

#: Most pairs of a kernel: the sites the bound opens most often are added up to it
#: (with more, HiGHS stays at the root node).
KERNEL_MAX_PAIRS = 25_000


def kernel_sites(
    model: Model,
    selected: np.ndarray,
    frequency: np.ndarray,
    v: np.ndarray | None,
    *,
    max_pairs: int | None = None,
) -> np.ndarray | None:
    """A kernel for :func:`kernel_search`: hubs first, then the most frequent sites.

    The sites ``selected`` (the relaxation's last step) and the hubs of plan ``v``,
    then the sites opened most often (``frequency`` above :data:`KERNEL_FREQUENCY`)
    while the kernel has at most ``max_pairs`` pairs (default
    :data:`KERNEL_MAX_PAIRS`). Returns ``None`` when the hubs alone have more.
    """
    limit = KERNEL_MAX_PAIRS if max_pairs is None else max_pairs
    p = model.problem
    pairs = np.bincount(p.pair_site, minlength=p.n_sites)
    base = np.zeros(p.n_sites, dtype=bool)
    base[selected] = True
    if v is not None:
        base[p.pair_site[v[: model.n_x] > 0.5]] = True
    total = int(pairs[base].sum())
    if total > limit:
        log.info("kernel search skipped: its hubs have %d pairs (HiGHS would not finish)", total)
        return None
    order = np.argsort(-frequency, kind="stable")
    order = order[(frequency[order] > KERNEL_FREQUENCY) & ~base[order]]
    added = order[np.cumsum(pairs[order]) <= limit - total]
    return np.union1d(np.flatnonzero(base), added)


def kernel_search(
    model: Model,
    kernel: np.ndarray,
    v: np.ndarray | None,
    *,
    seconds: float,
    settings: SolverSettings | None = None,
) -> np.ndarray | None:
    """The best plan using only the kernel's sites, by HiGHS within ``seconds``.

    The kernel is the set of sites a relaxation keeps opening (for instance
    :attr:`~polygeo.optimise.bound.LagrangianBound.site_frequency`); areas that no
    kernel site reaches keep all their pairs. Returns a vector of ``model`` better
    than ``v``, or ``None``.
    """

    p = model.problem
    if p.rules.contiguous or seconds <= 0:
        return None
    offered = np.zeros(p.n_sites, dtype=bool)
    offered[kernel] = True
    offered |= p.must_open
    keep = offered[p.pair_site]
    reached = np.bincount(p.pair_area[keep], minlength=p.n_areas) > 0
    keep |= ~reached[p.pair_area]
    pairs = np.flatnonzero(keep)
    if v is not None:
        x = np.flatnonzero(v[: model.n_x] > 0.5)
        keep[x] = True
        pairs = np.flatnonzero(keep)
    keep_options = np.isin(p.opt_site, np.unique(p.pair_site[keep]))
    sub = with_count_rows(
        build_model(
            restrict_problem(p, keep, keep_options), linking=model.linking, weights=model.weights
        )
    )
    sub_settings = SolverSettings(
        name="highs", gap=1e-4, threads=settings.threads if settings else None
    )
    backend = HighsBackend(sub, sub_settings)
    if v is not None:
        choice = np.full(p.n_areas, -1, dtype=np.int64)
        x = np.flatnonzero(v[: model.n_x] > 0.5)
        choice[p.pair_area[x]] = np.searchsorted(pairs, x)
        start = start_vector(sub, choice)
        if start is not None:
            backend.set_start(start)
    result = backend.run(seconds)
    if result.values is None:
        return None
    w = np.round(result.values)
    choice = np.full(p.n_areas, -1, dtype=np.int64)
    x = np.flatnonzero(w[: sub.n_x] > 0.5)
    choice[sub.problem.pair_area[x]] = pairs[x]
    candidate = start_vector(model, choice)
    if candidate is None:
        return None
    if v is not None and model.objective_value(candidate) >= model.objective_value(v):
        return None
    log.info(
        "kernel search on %d sites: %.6g (%s)",
        int(offered.sum()),
        model.objective_value(candidate),
        result.detail,
    )
    return candidate
