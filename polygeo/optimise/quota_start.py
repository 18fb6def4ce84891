"""A start plan that meets the hub-kind quotas (``min_hubs_by_kind``, ``kind_in_every_group``).

The greedy start of :mod:`.start` closes the emptiest hubs first and knows
nothing of kinds, so its plan often has too few hospital hubs. Here the sites
that best meet each quota (the most people within reach) are marked as sites
that must open, the greedy runs on that copy of the problem, and the plan is
kept when it meets every row of the real model (same columns, so it is a
start for it).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from polygeo.optimise.model import Model, build_model
from polygeo.optimise.start import greedy_start


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


def quota_start(model: Model, *, improve_seconds: float = 10.0) -> np.ndarray | None:
    """A start vector for ``model`` meeting its quotas, or ``None``."""
    p = model.problem
    if not p.quotas:
        return None
    extra = quota_sites(model)
    forced = dataclasses.replace(p, required=p.required | extra)
    v = greedy_start(build_model(forced, linking=model.linking), improve_seconds=improve_seconds)
    if v is None or not model.is_feasible(v):
        return None
    return v
