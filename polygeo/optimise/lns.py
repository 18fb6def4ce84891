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

The search stops at its deadline or when no neighbourhood improves.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable

import numpy as np

from polygeo.errors import PolygeoError
from polygeo.optimise.backends import HighsBackend
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
        build_model(sub, linking=model.linking, weights=model.weights)
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
        Threads are taken from here; sub-models are always solved with HiGHS.
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

    Returns
    -------
    numpy.ndarray
        A feasible vector at least as good as ``v``.
    """
    t0 = time.perf_counter()
    deadline = t0 + seconds
    p = model.problem
    rng = np.random.default_rng(seed)
    best = v.copy()
    best_obj = model.objective_value(best)
    first_obj = best_obj
    sub_settings = SolverSettings(
        name="highs", gap=1e-6, threads=settings.threads if settings else None
    )
    tried = kept = 0
    sizes = [k for k in NEIGHBOURHOOD_SIZES if k <= hubs_per_move] or [hubs_per_move]
    for size in sizes:
        log.debug(
            "neighbourhoods of %d hubs from %.6g (%.1f s)", size, best_obj, time.perf_counter() - t0
        )
        stale: set[tuple[int, ...]] = set()
        while time.perf_counter() < deadline:
            hubs = np.flatnonzero(_open_option(model, best) >= 0)
            if len(hubs) < 2:
                break
            improved = False
            for j in rng.permutation(hubs).tolist():
                if time.perf_counter() >= deadline:
                    break
                d = np.hypot(p.site_x[hubs] - p.site_x[j], p.site_y[hubs] - p.site_y[j])
                group = tuple(sorted(hubs[np.argsort(d, kind="stable")[:size]].tolist()))
                if group in stale:
                    continue
                stale.add(group)
                built = _neighbourhood_model(model, best, np.array(group), candidates)
                if built is None:
                    continue
                sub_model, pk, start = built
                before = sub_model.objective_value(start)
                tried += 1
                try:
                    backend = HighsBackend(sub_model, sub_settings)
                    backend.set_start(start)
                    limit = min(time.perf_counter() + sub_seconds * size / 2, deadline)
                    result, _ = run_rounds(
                        sub_model,
                        backend,
                        sub_settings,
                        deadline=limit,
                        max_rounds=50,
                        problem=sub_model.problem,
                    )
                except PolygeoError:
                    continue
                w = np.round(result.values)
                if sub_model.objective_value(w) >= before - 1e-9 * max(abs(before), 1.0):
                    continue
                # map the sub-plan back and check it against the full model
                sub_choice = _choice_from(sub_model, w)
                choice = _choice_from(model, best)
                freed = sub_choice >= 0
                choice[freed] = pk[sub_choice[freed]]
                candidate = start_vector(model, choice)
                if candidate is None or model.objective_value(candidate) >= best_obj - 1e-9:
                    continue
                old_hubs = set(hubs.tolist())
                best, best_obj = candidate, model.objective_value(candidate)
                kept += 1
                if on_improve is not None:
                    on_improve(best_obj)
                improved = True
                new_hubs = set(np.flatnonzero(_open_option(model, best) >= 0).tolist())
                changed = set(group) | (new_hubs ^ old_hubs)
                stale = {g for g in stale if not changed.intersection(g)}
            if not improved:
                break
    log.info(
        "large-neighbourhood search: %.6g -> %.6g (%d of %d neighbourhoods improved, %.1f s)",
        first_obj,
        best_obj,
        kept,
        tried,
        time.perf_counter() - t0,
    )
    return best


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
    sub = build_model(
        restrict_problem(p, keep, keep_options), linking=model.linking, weights=model.weights
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
