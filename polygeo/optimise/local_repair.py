"""Repair a start plan whose greedy got stuck: re-plan the country around each short hub.

The greedy of :mod:`.start` fills short hubs by taking areas from neighbours that can
spare them. In sparse country (England at 30 minutes) it gets stuck: a hub holds
18,000 people and every neighbour is at the minimum itself. Yet the same country
planned afresh, every site free, has a plan. So each short hub is repaired by a small
exact model (HiGHS):

* the areas of the short hub and of its ``k`` nearest open hubs are **freed**: every
  pair of theirs is offered, to any site, open or not;
* the open hubs those freed areas can reach are **locked**: their areas keep their
  current pair (so those hubs stay open and full) but they may absorb freed areas,
  within their capacity;
* the rest of the plan stays as it is and counts against the hub-count, budget and
  quota rules, as in the neighbourhood search of :mod:`.lns`.

When the small model has no plan (or none within its seconds), ``k`` grows and it is
tried again. The repair returns ``None`` (the start fails cleanly) when a short hub
cannot be repaired, when the time is up, and under rules it does not handle
(``contiguous``); the caller checks the result against every row of the full model.
"""

from __future__ import annotations

import dataclasses
import logging
import time

import numpy as np

from polygeo.optimise.backends import HighsBackend
from polygeo.optimise.kinds import quotas_left
from polygeo.optimise.model import Model, build_model
from polygeo.optimise.problem import piece_problem
from polygeo.optimise.rules import SolverSettings

log = logging.getLogger("polygeo")

_TOL = 1e-6

#: Open hubs freed with the short one, tried in turn until the small model has a plan.
RING_SIZES = (4, 8, 16, 32)

#: Seconds HiGHS gets for one small model.
SUB_SECONDS = 20.0

#: Times the freed hubs grow by the short hubs their areas reach.
_SHORT_ROUNDS = 5


def hub_population(model: Model, choice: np.ndarray) -> np.ndarray:
    """People per site under an assignment (``choice``: a pair per area, ``-1`` for none)."""
    p = model.problem
    on = choice >= 0
    return np.bincount(p.pair_site[choice[on]], weights=p.population[on], minlength=p.n_sites)


def short_hubs(model: Model, choice: np.ndarray) -> np.ndarray:
    """Open sites of an assignment below ``min_population``, fewest people first."""
    pop = hub_population(model, choice)
    p = model.problem
    open_sites = np.unique(p.pair_site[choice[choice >= 0]])
    short = open_sites[pop[open_sites] < p.rules.min_population - _TOL]
    return short[np.argsort(pop[short], kind="stable")]


def repair_short_hubs(
    model: Model,
    choice: np.ndarray,
    *,
    seconds: float = 120.0,
    settings: SolverSettings | None = None,
) -> np.ndarray | None:
    """An assignment with no short hub, re-planning around each one, or ``None``.

    Parameters
    ----------
    model
        The full model.
    choice
        A pair per area (``-1`` for areas with no pair), e.g. the greedy's partial
        assignment, where some open hubs hold fewer than ``min_population`` people.
    seconds
        Time budget for the whole repair.
    settings
        Threads are taken from here; the small models are solved with HiGHS.

    Returns
    -------
    numpy.ndarray or None
        The repaired assignment (every open hub at the minimum; the caller checks it
        against every row of the model), or ``None`` when some hub could not be
        repaired in time or the rules are not handled here.
    """
    p = model.problem
    if p.rules.contiguous:
        log.info("local repair: not done under contiguous rules")
        return None
    t0 = time.perf_counter()
    deadline = t0 + seconds
    choice = choice.copy()
    by_area = np.argsort(p.pair_area, kind="stable")
    area_starts = np.searchsorted(p.pair_area[by_area], np.arange(p.n_areas + 1))
    sub_settings = SolverSettings(
        name="highs", gap=0.01, threads=settings.threads if settings else None
    )
    repaired = 0
    while True:
        short = short_hubs(model, choice)
        if len(short) == 0:
            log.info("local repair: %d hubs repaired in %.1f s", repaired, time.perf_counter() - t0)
            return choice
        site = int(short[0])
        fixed = None
        for k in RING_SIZES:
            left = deadline - time.perf_counter()
            if left <= 0:
                break
            fixed = _repair_one(
                model, choice, site, k, by_area, area_starts, sub_settings, min(SUB_SECONDS, left)
            )
            if fixed is not None:
                break
        if fixed is None:
            log.info(
                "local repair: hub %s (%.0f people) not repaired (%.1f s)",
                p.site_ids[site],
                hub_population(model, choice)[site],
                time.perf_counter() - t0,
            )
            return None
        choice = fixed
        repaired += 1


def _repair_one(
    model: Model,
    choice: np.ndarray,
    site: int,
    k: int,
    by_area: np.ndarray,
    area_starts: np.ndarray,
    settings: SolverSettings,
    seconds: float,
) -> np.ndarray | None:
    """The assignment after re-planning ``site`` and its ``k`` nearest open hubs."""
    built = _ring_model(model, choice, site, k, by_area, area_starts)
    if built is None:
        return None
    sub, pairs = built
    result = HighsBackend(sub, settings).run(seconds)
    log.debug(
        "local repair: hub %s, ring %d, %d pairs: %s",
        model.problem.site_ids[site],
        k,
        len(pairs),
        result.detail,
    )
    if result.values is None:
        return None
    x = np.flatnonzero(result.values[: sub.n_x] > 0.5)
    out = choice.copy()
    out[sub.problem.pair_area[x]] = pairs[x]
    return out


def _ring_model(
    model: Model,
    choice: np.ndarray,
    site: int,
    k: int,
    by_area: np.ndarray,
    area_starts: np.ndarray,
) -> tuple[Model, np.ndarray] | None:
    """The small model around ``site``: (model, its pairs' columns in the full model)."""
    p = model.problem
    on = choice >= 0
    assigned = np.where(on, p.pair_site[np.maximum(choice, 0)], -1)
    is_open = np.zeros(p.n_sites, dtype=bool)
    is_open[assigned[on]] = True
    hubs = np.flatnonzero(is_open)
    d = np.hypot(p.site_x[hubs] - p.site_x[site], p.site_y[hubs] - p.site_y[site])
    ring = np.zeros(p.n_sites, dtype=bool)
    ring[hubs[np.argsort(d, kind="stable")[: k + 1]]] = True
    short = is_open & (hub_population(model, choice) < p.rules.min_population - _TOL)
    for rounds_left in range(_SHORT_ROUNDS, -1, -1):
        free = on & ring[np.maximum(assigned, 0)]
        free_pairs = _pairs_of(np.flatnonzero(free), by_area, area_starts)
        reached = np.zeros(p.n_sites, dtype=bool)
        reached[p.pair_site[free_pairs]] = True
        more = reached & short & ~ring  # a short hub cannot be locked: free it too
        if not more.any() or rounds_left == 0:
            break
        ring |= more
    locked = reached & is_open & ~ring
    locked_areas = on & locked[np.maximum(assigned, 0)]
    pairs = np.sort(np.concatenate([free_pairs, choice[locked_areas]]))
    outside = is_open & ~ring & ~locked
    return _sub_model(model, pairs, outside, assigned, free | locked_areas), pairs


def _pairs_of(areas: np.ndarray, by_area: np.ndarray, area_starts: np.ndarray) -> np.ndarray:
    """Every pair column of the given areas."""
    if len(areas) == 0:
        return np.zeros(0, dtype=np.int64)
    return np.concatenate([by_area[area_starts[i] : area_starts[i + 1]] for i in areas])


def _sub_model(
    model: Model,
    pairs: np.ndarray,
    outside: np.ndarray,
    assigned: np.ndarray,
    inside_areas: np.ndarray,
) -> Model:
    """The model of the given pairs, the open sites ``outside`` counted against the rules."""
    p = model.problem
    rules = p.rules
    sites_in = np.zeros(p.n_sites, dtype=bool)
    sites_in[p.pair_site[pairs]] = True
    opt_keep = sites_in[p.opt_site]
    lo, hi = rules.hub_bounds
    n_out = int(outside.sum())
    hubs_rule = None
    if lo is not None or hi is not None:
        hubs_rule = (
            None if lo is None else max(lo - n_out, 0),
            None if hi is None else max(hi - n_out, 0),
        )
    budget = rules.budget
    if budget is not None:
        # the cheapest option of each outside hub: what the start plan will pay for it
        cheapest = np.full(p.n_sites, np.inf)
        np.minimum.at(cheapest, p.opt_site, p.opt_cost)
        budget = max(budget - float(cheapest[outside].sum()), 0.0)
    keep = np.zeros(len(p.pair_area), dtype=bool)
    keep[pairs] = True
    sub = piece_problem(
        p,
        keep,
        opt_keep,
        rules=dataclasses.replace(rules, hubs=hubs_rule, budget=budget),
        offered=sites_in,
        quotas=quotas_left(p.quotas, outside, np.where(inside_areas, -1, assigned)),
    )
    return build_model(sub, linking=model.linking, weights=model.weights)
