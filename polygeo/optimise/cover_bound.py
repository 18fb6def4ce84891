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
is a true bound even when the time runs out.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

from polygeo.optimise.inputs import Inputs
from polygeo.optimise.reduce import Reduction

#: Seconds HiGHS may spend on the covering MIP.
TIME_LIMIT = 5.0
_TOL = 1e-6


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
    rules = inp.rules
    m = inp.n_sites
    opt_site = inp.opt_site_all
    usable = inp.opt_ok & (opt_site >= 0)
    usable &= red.viable[np.where(opt_site >= 0, opt_site, 0)]
    cost = np.full(m, np.inf)
    np.minimum.at(cost, opt_site[usable], inp.opts["capital_cost"].to_numpy(dtype=float)[usable])
    cap = np.zeros(m)
    np.maximum.at(cap, opt_site[usable], inp.opt_cap_all[usable])
    cols = np.flatnonzero(np.isfinite(cost))
    if len(cols) == 0:
        return None
    col_of = np.full(m, -1, dtype=np.int64)
    col_of[cols] = np.arange(len(cols))
    pa, ps = inp.pa[red.alive], inp.ps[red.alive]
    keep = col_of[ps] >= 0
    pa, ps = pa[keep], ps[keep]
    areas, row = np.unique(pa, return_inverse=True)
    constraints = [
        LinearConstraint(
            sp.csr_array((np.ones(len(pa)), (row, col_of[ps])), shape=(len(areas), len(cols))),
            1,
            np.inf,
        )
    ]
    for q in inp.quotas:
        sites = q.sites
        if q.areas is not None:  # a hub of the kind within reach of one of the group's areas
            sites = np.zeros(m, dtype=bool)
            sites[ps[q.areas[pa] & q.sites[ps]]] = True
        constraints.append(LinearConstraint(sites[cols].astype(float)[None, :], q.count, np.inf))
    lo, hi = rules.hub_bounds
    if lo is not None or hi is not None:
        constraints.append(
            LinearConstraint(
                np.ones((1, len(cols))),
                0 if lo is None else lo,
                np.inf if hi is None else hi,
            )
        )
    total = float(inp.population.sum())
    finite = np.isfinite(cap[cols])
    if finite.all() and total > 0:
        constraints.append(LinearConstraint(cap[cols][None, :], total - _TOL, np.inf))
    lower = must[cols].astype(float)
    result = milp(
        cost[cols],
        constraints=constraints,
        integrality=np.ones(len(cols)),
        bounds=Bounds(lower, np.ones(len(cols))),
        options={"time_limit": time_limit, "mip_rel_gap": 1e-6},
    )
    if result.status == 0:  # proven optimal: the covering optimum itself
        return max(float(result.fun), 0.0)
    bound = getattr(result, "mip_dual_bound", None)  # time limit: HiGHS' proven bound
    if bound is None or not np.isfinite(bound):
        return None
    return max(float(bound), 0.0)
