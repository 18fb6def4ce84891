"""A start plan that meets the hub-kind quotas (``min_hubs_by_kind``, ``kind_in_every_group``).

The greedy start of :mod:`.start` closes the emptiest hubs first and knows
nothing of kinds, so its plan often has too few hospital hubs. Here the sites
that best meet each quota (the most people within reach) are marked as sites
that must open, the greedy runs on that copy of the problem, a group that none
of whose areas ended with a hub of the kind gets the cheapest such move of one
area (keeping the hub it leaves at the minimum), and the plan is kept when it
meets every row of the real model (same columns, so it is a start for it).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from polygeo.optimise.local_search import improve
from polygeo.optimise.model import Model, build_model
from polygeo.optimise.start import greedy_assignment, start_vector

_TOL = 1e-6


def quota_sites(model: Model) -> np.ndarray:
    """Sites to open so that every quota is met: the best-reaching ones first."""
    p = model.problem
    reach = np.bincount(p.pair_site, weights=p.population[p.pair_area], minlength=p.n_sites)
    has_option = np.zeros(p.n_sites, dtype=bool)
    has_option[p.opt_site] = True
    chosen = p.must_open.copy()
    # per-group quotas first, so that their sites count towards the kind totals
    for q in sorted(p.quotas, key=lambda q: q.group is None):
        sites = q.sites
        if q.areas is not None:  # the kind's sites within reach of the group
            normal = ~p.pair_exception
            sites = np.zeros(p.n_sites, dtype=bool)
            sites[p.pair_site[normal & q.areas[p.pair_area] & q.sites[p.pair_site]]] = True
        short = q.count - int((chosen & sites).sum())
        if short <= 0:
            continue
        pool = np.flatnonzero(sites & has_option & ~chosen)
        chosen[pool[np.argsort(-reach[pool], kind="stable")[:short]]] = True
    return chosen & ~p.must_open


def repair_group_quotas(model: Model, choice: np.ndarray) -> np.ndarray:
    """Move one area of each group lacking a hub of its kind to an open hub of that kind."""
    p = model.problem
    choice = choice.copy()
    pop = p.population
    assigned = choice >= 0
    site_of = np.where(assigned, p.pair_site[np.maximum(choice, 0)], -1)
    hub_pop = np.bincount(site_of[assigned], weights=pop[assigned], minlength=p.n_sites)
    normal = ~p.pair_exception
    for q in p.quotas:
        if q.areas is None:
            continue
        mine = assigned & q.areas & ~p.pair_exception[np.maximum(choice, 0)]
        if (q.sites[site_of[mine]]).any():
            continue
        cand = np.flatnonzero(
            normal & q.areas[p.pair_area] & q.sites[p.pair_site] & (hub_pop[p.pair_site] > 0)
        )
        areas = p.pair_area[cand]
        now = np.where(assigned[areas], p.pair_minutes[np.maximum(choice[areas], 0)], np.inf)
        for k in cand[np.argsort(p.pair_minutes[cand] - now, kind="stable")]:
            i, donor = p.pair_area[k], site_of[p.pair_area[k]]
            left = hub_pop[donor] - pop[i] if donor >= 0 else 0.0
            if donor >= 0 and left < p.rules.min_population - _TOL and left > _TOL:
                continue
            if donor >= 0:
                hub_pop[donor] = left
            hub_pop[p.pair_site[k]] += pop[i]
            choice[i], site_of[i] = k, p.pair_site[k]
            break
    return choice


def quota_start(model: Model, *, improve_seconds: float = 10.0) -> np.ndarray | None:
    """A start vector for ``model`` meeting its quotas, or ``None``."""
    p = model.problem
    if not p.quotas:
        return None
    extra = quota_sites(model)
    forced = build_model(dataclasses.replace(p, required=p.required | extra), linking=model.linking)
    choice = greedy_assignment(forced)
    if choice is None:
        return None
    choice = repair_group_quotas(model, choice)
    v = start_vector(model, choice)
    if v is None:
        return None
    if improve_seconds > 0:
        better = repair_group_quotas(model, improve(forced, choice, max_seconds=improve_seconds))
        w = start_vector(model, better)
        if w is not None and model.objective_value(w) <= model.objective_value(v):
            v = w
    return v
