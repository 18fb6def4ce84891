"""A lower bound on the capital cost of any plan that covers everyone.

When a ``budget`` is set, the diagnosis compares it with this bound and, when
the budget is below it, fails at once with both figures, instead of letting the
solver search for a plan that cannot exist.

The bound is a relaxation of the plan: every area must have an open hub within
its travel limit (a covering row over the sites that can serve it), every open
site costs at least its cheapest capital option, sites that must open are open,
the hub-kind quotas hold (a group's hub of the kind within reach of one of its
areas) and so do the hub counts, and the open hubs' capacities add up to
the population. Catchment populations and the one-hub-per-area assignment are
dropped, so every plan of the full rules costs at least this much. The covering
problem is solved as a small MIP by HiGHS (``scipy.optimize.milp``) for a few
seconds; its proven lower bound is used (the LP bound at worst), so the figure
is a true bound even when the time runs out. :mod:`.cheapest` completes the
covering solution's sites into a full plan, and adds cuts ("open some paid site
outside these") to the same MIP when a set of sites cannot be completed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

from polygeo.optimise.inputs import Inputs
from polygeo.optimise.kinds import Quota
from polygeo.optimise.reduce import Reduction

#: Seconds HiGHS may spend on the covering MIP.
TIME_LIMIT = 5.0
_TOL = 1e-6


@dataclass(frozen=True)
class Cover:
    """The covering MIP's result.

    Attributes
    ----------
    bound
        A proven lower bound on the capital of every plan that covers everyone
        (and meets the cuts); rounded up to a whole unit when every cost is whole.
    sites
        Site rows opened by the best covering solution found (empty when none).
    """

    bound: float
    sites: np.ndarray


@dataclass(frozen=True)
class CoverInstance:
    """The covering problem as arrays (site positions are site rows).

    ``pair_area, pair_site`` are the usable pairs; ``quota_pair`` marks the pairs
    that count for the per-group quotas (exceptions do not); ``site_cost`` is each
    site's cheapest option (inf: cannot open), ``site_cap`` its largest capacity.
    """

    pair_area: np.ndarray
    pair_site: np.ndarray
    quota_pair: np.ndarray
    site_cost: np.ndarray
    site_cap: np.ndarray
    population: np.ndarray
    quotas: Sequence[Quota]
    hub_bounds: tuple[int | None, int | None]
    must: np.ndarray


def solve_cover(
    inst: CoverInstance,
    *,
    cuts: Sequence[np.ndarray] = (),
    time_limit: float = TIME_LIMIT,
) -> Cover | None:
    """The least-capital covering of ``inst`` (HiGHS), with optional cuts.

    Parameters
    ----------
    inst
        The covering problem.
    cuts
        Site masks: at least one site of each mask opens.
    time_limit
        Seconds for HiGHS.

    Returns
    -------
    Cover or None
        ``None`` when the covering problem has no solution or no bound was found.
    """
    cost, m = inst.site_cost, len(inst.site_cost)
    cols = np.flatnonzero(np.isfinite(cost))
    if len(cols) == 0:
        return None
    col_of = np.full(m, -1, dtype=np.int64)
    col_of[cols] = np.arange(len(cols))
    keep = col_of[inst.pair_site] >= 0
    pa, ps, qp = inst.pair_area[keep], inst.pair_site[keep], inst.quota_pair[keep]
    areas, row = np.unique(pa, return_inverse=True)
    covering = sp.csr_array((np.ones(len(pa)), (row, col_of[ps])), shape=(len(areas), len(cols)))
    constraints = [LinearConstraint(covering, 1, np.inf)]
    for q in inst.quotas:
        sites = q.sites
        if q.areas is not None:  # a hub of the kind within reach of one of the group's areas
            sites = np.zeros(m, dtype=bool)
            sites[ps[qp & q.areas[pa] & q.sites[ps]]] = True
        constraints.append(LinearConstraint(sites[cols].astype(float)[None, :], q.count, np.inf))
    lo, hi = inst.hub_bounds
    if lo is not None or hi is not None:
        constraints.append(
            LinearConstraint(
                np.ones((1, len(cols))), 0 if lo is None else lo, np.inf if hi is None else hi
            )
        )
    total = float(inst.population.sum())
    cap = inst.site_cap[cols]
    if np.isfinite(cap).all() and total > 0:
        constraints.append(LinearConstraint(cap[None, :], total - _TOL, np.inf))
    for cut in cuts:
        constraints.append(LinearConstraint(cut[cols].astype(float)[None, :], 1, np.inf))
    result = milp(
        cost[cols],
        constraints=constraints,
        integrality=np.ones(len(cols)),
        bounds=Bounds(inst.must[cols].astype(float), np.ones(len(cols))),
        options={"time_limit": time_limit, "mip_rel_gap": 1e-9},
    )
    bound = getattr(result, "mip_dual_bound", None)
    if result.status == 0 and (bound is None or not np.isfinite(bound)):
        bound = float(result.fun)  # solved at the root: the optimum is the bound
    if bound is None or not np.isfinite(bound):
        return None
    bound = max(float(bound), 0.0)
    if np.all(cost[cols] == np.round(cost[cols])):
        bound = float(math.ceil(bound - min(0.5, 1e-7 * max(1.0, bound))))
    sites = cols[result.x > 0.5] if result.x is not None else np.zeros(0, dtype=np.int64)
    return Cover(bound, sites)


def site_costs(
    opt_site: np.ndarray, opt_cost: np.ndarray, opt_cap: np.ndarray, usable: np.ndarray, m: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each site's cheapest usable option cost (inf: none) and largest capacity."""
    cost = np.full(m, np.inf)
    np.minimum.at(cost, opt_site[usable], opt_cost[usable])
    cap = np.zeros(m)
    np.maximum.at(cap, opt_site[usable], opt_cap[usable])
    return cost, cap


def cheapest_cover_bound(
    inp: Inputs, red: Reduction, must: np.ndarray, *, time_limit: float = TIME_LIMIT
) -> float | None:
    """Least capital any 100%-coverage plan needs (a proven lower bound).

    Parameters
    ----------
    inp, red
        Checked inputs and their reductions.
    must
        Sites that must open (required, or the only viable site of an area).
    time_limit
        Seconds for HiGHS.

    Returns
    -------
    float or None
        The bound, or ``None`` when the relaxation itself has no solution (the
        diagnosis reports why elsewhere).
    """
    opt_site = inp.opt_site_all
    usable = inp.opt_ok & (opt_site >= 0)
    usable &= red.viable[np.where(opt_site >= 0, opt_site, 0)]
    cost, cap = site_costs(
        opt_site,
        inp.opts["capital_cost"].to_numpy(dtype=float),
        inp.opt_cap_all,
        usable,
        inp.n_sites,
    )
    pa, ps = inp.pa[red.alive], inp.ps[red.alive]
    inst = CoverInstance(
        pair_area=pa,
        pair_site=ps,
        quota_pair=np.ones(len(pa), dtype=bool),
        site_cost=cost,
        site_cap=cap,
        population=inp.population,
        quotas=inp.quotas,
        hub_bounds=inp.rules.hub_bounds,
        must=must,
    )
    cover = solve_cover(inst, time_limit=time_limit)
    return None if cover is None else cover.bound
