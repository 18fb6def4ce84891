"""polygeo's own lower bound: Lagrangian relaxation of the coverage rows, with cuts.

Relaxing ``sum_j x_ij = 1`` with multipliers ``lambda_i`` leaves one small problem
per site ("facility": a site, or a site and group under ``within_group``) and
capital option: open it or not; if open, take areas ``i`` at reduced cost
``c_ij - lambda_i`` until the population lies between ``min_population`` and the
option's capacity. With ``x`` continuous this is a fractional covering knapsack,
solved for every facility at once by one sort of the pairs by reduced cost per
person; its optimum over the multipliers is the LP bound of the model.

The sites' choices are coupled by counting rows, each valid for every plan:

* the hub-count rule ``L <= sum y <= U`` (solved exactly: a sort of the sites);
* ``sum y <= floor(P / P_min)``: every hub needs ``P_min`` of the ``P`` people
  (the global cut, also solved exactly);
* per group (``within_group``): the hubs serving group ``g`` need ``P_min`` people
  each from the group and the exception areas;
* over regions: the sites whose every area lies in an area set ``R`` can open at
  most ``floor(P(R) / P_min)`` hubs (found from the relaxation's open sites);
* the budget ``sum c y <= B``;

the last three relaxed with multipliers ``mu >= 0``. Any multipliers give a
valid bound (weak duality); they are improved by subgradient steps with the
Polyak step rule towards the incumbent, halving the step size when the bound
stalls. Contiguity rows are left out (a relaxation: the bound stays valid).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from polygeo.optimise.model import Model

log = logging.getLogger("polygeo")

#: Steps without a better bound before the step size halves (restarting from the best
#: multipliers), and the step size at which the subgradient stops. Halving after 20
#: steps stopped London's subgradient at 3.104 min after 31 s; after 100 it reaches
#: 3.125 in 90 s (BENCHMARKS.md).
STALL_STEPS = 100
MIN_THETA = 1e-4

_TOL = 1e-6


@dataclass
class _Structure:
    """The relaxation's fixed data, built once per model."""

    n_areas: int
    # items: a pair offered to a facility (exception pairs repeat under within_group)
    it_pair: np.ndarray
    it_area: np.ndarray
    it_fac: np.ndarray
    it_pop: np.ndarray
    it_cost: np.ndarray
    zero_pop: np.ndarray
    fac_site: np.ndarray
    fac_group: np.ndarray
    fac_reach: np.ndarray
    # queries: (facility, option) pairs
    q_fac: np.ndarray
    q_opt: np.ndarray
    q_cost: np.ndarray
    q_cap: np.ndarray
    q_capital: np.ndarray
    p_min: float
    n_sites: int
    must: np.ndarray
    hubs_lo: int | None
    hubs_hi: int | None
    budget: float | None
    # relaxed counting rows: membership (rows x queries) and right-hand sides
    cut_rows: sp.csr_array
    cut_rhs: np.ndarray
    cut_kind: list[str] = field(default_factory=list)
    cut_group: list[int] = field(default_factory=list)
    cut_sites: list[np.ndarray] = field(default_factory=list)
    order_prev: np.ndarray | None = None


def bound_applies(model: Model) -> str | None:
    """Why polygeo's bound does not apply to this model, or ``None`` when it does."""
    if model.n_cols != model.n_x + model.n_y + model.n_z:
        return "the model has columns the Lagrangian relaxation does not know"
    if model.n_z and np.any(model.c[model.n_x + model.n_y :] != 0):
        return "group columns carry objective costs"
    return None


def _items(model: Model) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Items (pair, facility) and the facilities' site and group."""
    p = model.problem
    P = model.n_x
    if not (p.rules.within_group and p.group is not None):
        sites = np.unique(p.pair_site)
        fac_of_site = np.full(p.n_sites, -1, dtype=np.int64)
        fac_of_site[sites] = np.arange(len(sites))
        return np.arange(P), fac_of_site[p.pair_site], sites, np.full(len(sites), -1)
    G = len(p.group_names)
    normal = ~p.pair_exception
    key = p.pair_site * G + p.group[p.pair_area]
    fkeys = np.unique(np.concatenate([key[normal], key[~normal]]))
    fac_site, fac_group = fkeys // G, fkeys % G
    it_pair = [np.flatnonzero(normal)]
    it_fac = [np.searchsorted(fkeys, key[normal])]
    # an exception pair may join any facility of its site (the model exempts it from groups)
    exc = np.flatnonzero(~normal)
    if len(exc):
        first = np.searchsorted(fac_site, p.pair_site[exc])
        last = np.searchsorted(fac_site, p.pair_site[exc], side="right")
        cnt = last - first
        it_pair.append(np.repeat(exc, cnt))
        off = np.arange(int(cnt.sum())) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        it_fac.append(np.repeat(first, cnt) + off)
    return np.concatenate(it_pair), np.concatenate(it_fac), fac_site, fac_group


def _structure(model: Model, *, exact_count: bool = True) -> _Structure:
    p = model.problem
    rules = p.rules
    it_pair, it_fac, fac_site, fac_group = _items(model)
    order = np.argsort(it_fac, kind="stable")
    it_pair, it_fac = it_pair[order], it_fac[order]
    keep = model.col_hi[it_pair] > 0.5
    it_pair, it_fac = it_pair[keep], it_fac[keep]
    it_area = p.pair_area[it_pair]
    it_pop = p.population[it_area]
    F = len(fac_site)
    fac_reach = np.bincount(it_fac, weights=it_pop, minlength=F)
    # queries: every usable option of each facility's site
    y0 = model.n_x
    opt_ok = model.col_hi[y0 : y0 + model.n_y] > 0.5
    opt_by_site = np.argsort(p.opt_site, kind="stable")
    s_sorted = p.opt_site[opt_by_site]
    first = np.searchsorted(s_sorted, fac_site)
    cnt = np.searchsorted(s_sorted, fac_site, side="right") - first
    q_fac = np.repeat(np.arange(F), cnt)
    off = np.arange(int(cnt.sum())) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    q_opt = opt_by_site[np.repeat(first, cnt) + off]
    ok = opt_ok[q_opt]
    q_fac, q_opt = q_fac[ok], q_opt[ok]
    q_cap = np.minimum(p.opt_cap[q_opt], fac_reach[q_fac])
    must = p.must_open.copy()
    lo, hi = rules.hub_bounds
    total = float(p.population[np.unique(p.pair_area)].sum())
    p_min = float(rules.min_population)
    if p_min > 0:
        k_all = int(math.floor(total / p_min + 1e-9))
        hi = k_all if hi is None else min(hi, k_all)
    rows, rhs, kinds = _group_cuts(model, fac_group, q_fac, p_min)
    cut_rows = sp.csr_array(rows) if rows is not None else sp.csr_array((0, len(q_fac)))
    groups = list(range(len(kinds)))
    cut_sites = [fac_site[fac_group == g] for g in groups]
    return _Structure(
        n_areas=p.n_areas,
        it_pair=it_pair,
        it_area=it_area,
        it_fac=it_fac,
        it_pop=it_pop,
        it_cost=model.c[it_pair],
        zero_pop=it_pop <= 0,
        fac_site=fac_site,
        fac_group=fac_group,
        fac_reach=fac_reach,
        q_fac=q_fac,
        q_opt=q_opt,
        q_cost=model.c[y0 + q_opt],
        q_cap=q_cap,
        q_capital=p.opt_cost[q_opt],
        p_min=p_min,
        n_sites=p.n_sites,
        must=must,
        hubs_lo=lo,
        hubs_hi=hi,
        budget=rules.budget,
        cut_rows=cut_rows,
        cut_rhs=rhs,
        cut_kind=kinds,
        cut_group=groups,
        cut_sites=cut_sites,
    )


def _group_cuts(
    model: Model, fac_group: np.ndarray, q_fac: np.ndarray, p_min: float
) -> tuple[sp.csr_array | None, np.ndarray, list[str]]:
    """Per group: its hubs need ``P_min`` each from the group's and the exception areas."""
    p = model.problem
    if p_min <= 0 or not (p.rules.within_group and p.group is not None):
        return None, np.zeros(0), []
    G = len(p.group_names)
    areas = np.unique(p.pair_area)
    exc_areas = np.unique(p.pair_area[p.pair_exception])
    gpop = np.bincount(p.group[areas], weights=p.population[areas], minlength=G)
    extra = float(p.population[exc_areas].sum())
    rhs = np.floor((gpop + extra) / p_min + 1e-9)
    qg = fac_group[q_fac]
    A = sp.csr_array((np.ones(len(q_fac)), (qg, np.arange(len(q_fac)))), shape=(G, len(q_fac)))
    return A, rhs, ["group"] * G


# -- one evaluation of the relaxation --------------------------------------------------------
@dataclass
class _Evaluation:
    value: float
    lam_grad: np.ndarray
    mu_grad: np.ndarray
    budget_grad: float
    q_value: np.ndarray
    q_pi: np.ndarray
    site_value: np.ndarray
    site_query: np.ndarray
    selected: np.ndarray
    x_items: np.ndarray
    item_rc: np.ndarray


def _evaluate(
    s: _Structure, lam: np.ndarray, mu: np.ndarray, nu: float, *, full: bool = False
) -> _Evaluation:
    """The Lagrangian function at (lambda, mu, nu), its subgradient and solution
    (with ``full``, also the items' reduced costs, for fixing)."""
    r = s.it_cost - lam[s.it_area]
    F = len(s.fac_site)
    zp = s.zero_pop
    zval = np.bincount(s.it_fac[zp], weights=np.minimum(r[zp], 0.0), minlength=F)
    pos = np.flatnonzero(~zp)
    rp, pp, fp = r[pos], s.it_pop[pos], s.it_fac[pos]
    order = _grouped_order(s, rp / pp, fp)
    P_s, R_s, F_s = pp[order], rp[order], fp[order]
    CP = np.cumsum(P_s)
    CR = np.cumsum(R_s)
    start = np.searchsorted(F_s, np.arange(F))
    end = np.searchsorted(F_s, np.arange(F), side="right")
    baseP = np.where(start > 0, CP[np.maximum(start - 1, 0)], 0.0)
    baseR = np.where(start > 0, CR[np.maximum(start - 1, 0)], 0.0)
    p_neg = np.bincount(F_s, weights=P_s * (R_s < 0), minlength=F)

    qf = s.q_fac
    feasible = (s.q_cap >= s.p_min - _TOL) & (s.fac_reach[qf] >= s.p_min - _TOL)
    target = np.clip(p_neg[qf], s.p_min, s.q_cap)
    fill, pi = _fill(CP, CR, P_s, R_s, baseP[qf], baseR[qf], start[qf], end[qf], target)
    # the population row's dual: the boundary item's ratio where a bound binds, else 0
    binds = (target > p_neg[qf] + _TOL) | (target < p_neg[qf] - _TOL)
    pi = np.where(binds & feasible, pi, 0.0)
    cut_cost = s.cut_rows.T @ mu if len(mu) else 0.0
    q_value = s.q_cost + nu * s.q_capital + fill + zval[qf] + cut_cost
    q_value = np.where(feasible, q_value, np.inf)

    site_of_q = s.fac_site[qf]
    site_value = np.full(s.n_sites, np.inf)
    np.minimum.at(site_value, site_of_q, q_value)
    best_q = np.full(s.n_sites, -1, dtype=np.int64)
    is_best = q_value <= site_value[site_of_q]
    best_q[site_of_q[is_best][::-1]] = np.flatnonzero(is_best)[::-1]
    selected = _select(s, site_value)

    # the relaxation's solution: fractional x of the selected facilities
    chosen_q = best_q[selected]
    T_f = np.zeros(F)
    T_f[qf[chosen_q]] = target[chosen_q]
    x_sorted = np.zeros(len(P_s))
    local_before = CP - P_s - baseP[F_s]
    with np.errstate(invalid="ignore", divide="ignore"):
        x_sorted = np.clip((T_f[F_s] - local_before) / P_s, 0.0, 1.0)
    x_items = np.zeros(len(r))
    x_items[pos[order]] = x_sorted
    open_fac = np.zeros(F, dtype=bool)
    open_fac[qf[chosen_q]] = True
    x_items[zp] = (open_fac[s.it_fac[zp]] & (r[zp] < 0)).astype(float)
    cover = np.bincount(s.it_area, weights=x_items, minlength=s.n_areas)
    lam_grad = 1.0 - cover
    n_sel = np.zeros(len(qf))
    n_sel[chosen_q] = 1.0
    mu_grad = (s.cut_rows @ n_sel - s.cut_rhs) if len(mu) else np.zeros(0)
    budget_grad = 0.0
    value = float(lam.sum() + site_value[selected].sum())
    if len(mu):
        value -= float(mu @ s.cut_rhs)
    if s.budget is not None:
        budget_grad = float(s.q_capital[chosen_q].sum() - s.budget)
        value -= nu * s.budget
    # reduced cost of each item within its query's knapsack (for fixing)
    item_rc = r - pi_for_items(s, pi, best_q) if full else r
    return _Evaluation(
        value=value,
        lam_grad=lam_grad,
        mu_grad=mu_grad,
        budget_grad=budget_grad,
        q_value=q_value,
        q_pi=pi,
        site_value=site_value,
        site_query=best_q,
        selected=selected,
        x_items=x_items,
        item_rc=item_rc,
    )


def _grouped_order(s: _Structure, ratio: np.ndarray, fac: np.ndarray) -> np.ndarray:
    """Items sorted by facility, then by ratio.

    One float key ``facility * span + ratio`` sorted by a stable (adaptive) sort
    from the previous evaluation's order, which changes little between steps:
    about eight times faster than ``np.lexsort`` on 100,000 items. Near-ties may
    come out in either order; any order gives a feasible fill, so the value is
    at worst a rounding error above the true minimum (the reported bound keeps a
    margin, see :func:`lagrangian_bound`).
    """
    span = 2.0 * float(np.abs(ratio).max(initial=0.0)) + 1.0
    key = fac * span + ratio
    prev = s.order_prev
    if prev is None or len(prev) != len(key):
        prev = np.argsort(fac, kind="stable")
    order = prev[np.argsort(key[prev], kind="stable")]
    s.order_prev = order
    return order


def pi_for_items(s: _Structure, pi: np.ndarray, best_q: np.ndarray) -> np.ndarray:
    """Population dual times population per item, at its site's best query."""
    q = best_q[s.fac_site[s.it_fac]]
    return np.where(q >= 0, pi[np.maximum(q, 0)], 0.0) * s.it_pop


def _fill(
    CP: np.ndarray,
    CR: np.ndarray,
    P_s: np.ndarray,
    R_s: np.ndarray,
    baseP: np.ndarray,
    baseR: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    target: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Cheapest fill of ``target`` people per query, and the boundary item's ratio."""
    if len(CP) == 0:
        return np.zeros(len(target)), np.zeros(len(target))
    k = np.searchsorted(CP, baseP + target - 1e-9, side="left")
    k = np.clip(k, start, np.maximum(end - 1, start))
    k = np.minimum(k, len(CP) - 1)
    before_P = np.where(k > start, CP[np.maximum(k - 1, 0)], baseP)
    before_R = np.where(k > start, CR[np.maximum(k - 1, 0)], baseR)
    frac = np.clip((baseP + target - before_P) / P_s[k], 0.0, 1.0)
    fill = before_R - baseR + frac * R_s[k]
    return fill, R_s[k] / P_s[k]


def _select(s: _Structure, site_value: np.ndarray) -> np.ndarray:
    """The sites to open: must-open, then by value within the hub-count bounds."""
    ok = np.isfinite(site_value)
    must = np.flatnonzero(s.must & ok)
    rest = np.flatnonzero(~s.must & ok)
    rest = rest[np.argsort(site_value[rest], kind="stable")]
    n_must = len(must)
    hi = len(rest) if s.hubs_hi is None else max(s.hubs_hi - n_must, 0)
    lo = 0 if s.hubs_lo is None else max(s.hubs_lo - n_must, 0)
    n_neg = int((site_value[rest] < 0).sum())
    take = min(max(n_neg, lo), hi, len(rest))
    return np.concatenate([must, rest[:take]])


# -- the multiplier search -------------------------------------------------------------------
@dataclass
class LagrangianBound:
    """The best Lagrangian bound found, with what fixing and start plans need.

    Attributes
    ----------
    value
        The bound, in the model's objective units (``-inf`` when none).
    lam
        The multipliers of the coverage rows at the best bound.
    site_value
        Per site: its subproblem's value at the best multipliers (``inf``: cannot open).
    selected
        Sites the relaxation opens at the best multipliers.
    site_frequency
        How often each site was open in the relaxation over the last steps
        (exponentially weighted, 0 to 1): the kernel of a restricted MIP.
    trace
        ``(seconds, bound)`` whenever the bound improved.
    """

    value: float
    lam: np.ndarray
    mu: np.ndarray
    nu: float
    site_value: np.ndarray
    selected: np.ndarray
    item_pair: np.ndarray
    item_rc: np.ndarray
    x_items: np.ndarray
    site_penalty: np.ndarray
    item_penalty: np.ndarray
    site_frequency: np.ndarray
    iterations: int
    seconds: float
    cuts: int
    trace: list[tuple[float, float]]
    structure: _Structure | None = None


def hub_gaps(model: Model, lb: LagrangianBound, v: np.ndarray) -> np.ndarray:
    """Per site, its share of the gap between plan ``v`` and the bound ``lb``.

    With the multipliers ``lambda``, an open hub ``j`` serving areas ``S_j`` adds
    ``sum_{i in S_j} (c_ij - lambda_i)`` to the plan's objective, where its best
    subproblem adds ``site_value_j`` to the bound; the difference (zero for closed
    sites) is how far the hub's catchment is from what the relaxation would make of
    the site. The neighbourhood search visits hubs with large differences first.
    """
    p = model.problem
    x = np.flatnonzero(v[: model.n_x] > 0.5)
    reduced = model.c[x] - lb.lam[p.pair_area[x]]
    gaps = np.bincount(p.pair_site[x], weights=reduced, minlength=p.n_sites)
    value = np.where(np.isfinite(lb.site_value), lb.site_value, 0.0)
    is_open = np.bincount(p.pair_site[x], minlength=p.n_sites) > 0
    return np.where(is_open, gaps - value, 0.0)


def _initial_lambda(s: _Structure, start: np.ndarray | None, model: Model) -> np.ndarray:
    """Each area's cost at its start-plan hub, else at its nearest pair."""
    lam = np.full(s.n_areas, 0.0)
    if start is not None:
        x = np.flatnonzero(start[: model.n_x] > 0.5)
        lam[model.problem.pair_area[x]] = model.c[x]
        return lam
    cheapest = np.full(s.n_areas, np.inf)
    np.minimum.at(cheapest, s.it_area, s.it_cost)
    return np.where(np.isfinite(cheapest), cheapest, 0.0)


def lagrangian_bound(
    model: Model,
    *,
    upper: float | None = None,
    start: np.ndarray | None = None,
    seconds: float = 30.0,
    max_iterations: int = 3000,
    region_cuts: bool = True,
    on_improve: object = None,
) -> LagrangianBound | None:
    """The Lagrangian bound of ``model`` by subgradient optimisation.

    Parameters
    ----------
    model
        The MIP.
    upper
        An incumbent's objective (Polyak target); without one a target above
        the best bound is used.
    start
        An incumbent's column vector: its assignment costs start the multipliers.
    seconds, max_iterations
        Budget.
    region_cuts
        Add the counting rows over regions found from the relaxation's open sites.
    on_improve
        Called as ``on_improve(bound)`` when the bound improves.

    Returns
    -------
    LagrangianBound or None
        ``None`` when the bound does not apply (see :func:`bound_applies`).
    """
    why = bound_applies(model)
    if why is not None:
        log.info("polygeo's bound does not apply: %s; the solver's bound is used", why)
        return None
    t0 = time.perf_counter()
    s = _structure(model)
    if len(s.q_fac) == 0:
        return None
    lam = _initial_lambda(s, start, model)
    mu = np.zeros(len(s.cut_rhs))
    nu = 0.0
    theta = 1.0
    best = -np.inf
    best_state = None
    stall = 0
    trace: list[tuple[float, float]] = []
    it = 0
    region = _RegionCuts(model) if region_cuts and s.p_min > 0 else None
    frequency = np.zeros(s.n_sites)
    deadline = t0 + seconds
    while it < max_iterations and time.perf_counter() < deadline:
        it += 1
        ev = _evaluate(s, lam, mu, nu)
        frequency *= 0.97
        frequency[ev.selected] += 0.03
        if best_state is None or ev.value > best + 1e-9 * max(1.0, abs(best)):
            if best_state is None or ev.value > best + 1e-6 * max(1.0, abs(best)):
                stall = 0
            best = ev.value
            best_state = (lam.copy(), mu.copy(), nu, ev)
            trace.append((time.perf_counter() - t0, best))
            if callable(on_improve):
                on_improve(best)
        else:
            stall += 1
            if stall >= STALL_STEPS:
                theta *= 0.5
                stall = 0
                if best_state is not None:  # restart from the best multipliers
                    lam, mu, nu = best_state[0].copy(), best_state[1].copy(), best_state[2]
                    continue
        if theta < MIN_THETA:
            break
        if region is not None and it % 25 == 0:
            added = region.separate(s, ev)
            if added:
                mu = np.concatenate([mu, np.zeros(added)])
                if best_state is not None:  # the same value with zero multipliers on new rows
                    old = best_state[1]
                    best_state = (
                        best_state[0],
                        np.concatenate([old, np.zeros(added)]),
                        *best_state[2:],
                    )
                continue
        target = upper if upper is not None else best + max(0.02 * abs(best), 1.0)
        if upper is not None and best >= upper - 1e-9 * max(abs(upper), 1.0):
            break  # the incumbent is proven optimal
        moved = _subgradient_step(s, ev, (lam, mu, nu), theta, target)
        if moved is None:
            break  # the relaxation's solution is feasible: the bound is optimal
        lam, mu, nu = moved
    if best_state is None:
        return None
    return _result(s, best, best_state, frequency, it, t0, trace)


def _subgradient_step(
    s: _Structure,
    ev: _Evaluation,
    multipliers: tuple[np.ndarray, np.ndarray, float],
    theta: float,
    target: float,
) -> tuple[np.ndarray, np.ndarray, float] | None:
    """Polyak's step, ``theta`` times the way to ``target``, for ``(lam, mu, nu)``.

    Multipliers of inequality rows (counting rows ``mu``, budget ``nu``) stay at or
    above 0. ``None`` when the subgradient is zero: the relaxation's solution is
    feasible and the bound optimal.
    """
    lam, mu, nu = multipliers
    g_nu = ev.budget_grad if (s.budget is not None and (nu > 0 or ev.budget_grad > 0)) else 0.0
    g_mu = np.where((mu > 0) | (ev.mu_grad > 0), ev.mu_grad, 0.0)
    norm = float(ev.lam_grad @ ev.lam_grad + g_mu @ g_mu + g_nu * g_nu)
    if norm <= 1e-12:
        return None
    step = theta * max(target - ev.value, 1e-9 * max(abs(ev.value), 1.0)) / norm
    lam = lam + step * ev.lam_grad
    if len(mu):
        mu = np.maximum(mu + step * g_mu, 0.0)
    if s.budget is not None:
        nu = max(nu + step * g_nu, 0.0)
    return lam, mu, nu


def _result(
    s: _Structure,
    best: float,
    best_state: tuple,
    frequency: np.ndarray,
    it: int,
    t0: float,
    trace: list[tuple[float, float]],
) -> LagrangianBound:
    """The bound at the best multipliers, with what fixing and start plans need."""
    lam, mu, nu, _ = best_state
    ev = _evaluate(s, lam, mu, nu, full=True)
    site_penalty, item_penalty = _penalties(s, ev)
    # a margin for rounding (sums of ~10^5 terms, near-ties sorted either way)
    value = float(best) - 1e-9 * max(abs(float(best)), 1.0)
    result = LagrangianBound(
        value=value,
        lam=lam,
        mu=mu,
        nu=nu,
        site_value=ev.site_value,
        selected=ev.selected,
        item_pair=s.it_pair,
        item_rc=ev.item_rc,
        x_items=ev.x_items,
        site_penalty=site_penalty,
        item_penalty=item_penalty,
        site_frequency=frequency,
        iterations=it,
        seconds=time.perf_counter() - t0,
        cuts=len(s.cut_rhs),
        trace=trace,
        structure=s,
    )
    log.info(
        "Lagrangian bound %.6g after %d iterations, %d counting rows (%.1f s)",
        result.value,
        it,
        result.cuts,
        result.seconds,
    )
    return result


def _penalties(s: _Structure, ev: _Evaluation) -> tuple[np.ndarray, np.ndarray]:
    """Lower bounds on the Lagrangian's rise when a site must open, or a pair be used.

    A site the relaxation leaves closed: its value, less the value of the selected
    site it would replace (the worst, when the hub count is at its maximum; the
    worst with a positive value otherwise). A pair: its site's penalty plus its
    reduced cost in the site's knapsack (LP sensitivity with the population row's
    dual), counted only for sites with a single facility and option, where that
    knapsack is the site's whole subproblem.
    """
    v = ev.site_value
    selected = np.zeros(s.n_sites, dtype=bool)
    selected[ev.selected] = True
    chosen = ev.selected[~s.must[ev.selected]]
    worst = float(v[chosen].max()) if len(chosen) else -np.inf
    at_cap = s.hubs_hi is not None and len(ev.selected) >= s.hubs_hi
    drop = worst if at_cap else max(worst, 0.0)
    site_penalty = np.where(selected, 0.0, v - drop)
    site_penalty = np.where(np.isnan(site_penalty), np.inf, site_penalty)
    n_queries = np.bincount(s.fac_site[s.q_fac], minlength=s.n_sites)
    it_site = s.fac_site[s.it_fac]
    single = n_queries[it_site] == 1
    rc = np.where(single, np.maximum(ev.item_rc, 0.0) * (1.0 - ev.x_items), 0.0)
    return site_penalty, site_penalty[it_site] + rc


class _RegionCuts:
    """Counting rows over regions: sites within an area set ``R`` open at most
    ``floor(P(R) / P_min)`` hubs.

    A region is grown from an open site of the relaxation by adding its nearest
    open sites; ``R`` is the union of their areas, and the row covers every site
    whose areas all lie in ``R``. A row is added when the relaxation opens more
    sites in it than it allows.
    """

    def __init__(self, model: Model, max_size: int = 12, max_rows: int = 2000) -> None:
        p = model.problem
        self.p = p
        self.max_size = max_size
        self.max_rows = max_rows
        self.seen: set[tuple[int, ...]] = set()
        self.rows = 0
        self.B = sp.csr_array(
            (np.ones(model.n_x), (p.pair_site, p.pair_area)), shape=(p.n_sites, p.n_areas)
        )
        self.site_pairs = np.bincount(p.pair_site, minlength=p.n_sites)

    def separate(self, s: _Structure, ev: _Evaluation) -> int:
        if self.rows >= self.max_rows:
            return 0
        p = self.p
        sel = ev.selected
        if len(sel) < 2:
            return 0
        xy = np.column_stack([p.site_x[sel], p.site_y[sel]])
        if not np.isfinite(xy).all():
            return 0
        from scipy.spatial import cKDTree

        k = min(self.max_size, len(sel))
        _, nn = cKDTree(xy).query(xy, k=k)
        new_rows: list[np.ndarray] = []
        rhs: list[float] = []
        pop = p.population
        for a in range(len(sel)):
            for size in range(2, k + 1):
                members = np.sort(sel[nn[a, :size]])
                key = tuple(members.tolist())
                if key in self.seen:
                    continue
                in_r = np.asarray(self.B[members].sum(axis=0)).ravel() > 0
                cap = math.floor(float(pop[in_r].sum()) / s.p_min + 1e-9)
                if size <= cap:
                    continue
                self.seen.add(key)
                inside = (self.B @ in_r.astype(float)) >= self.site_pairs - 0.5
                inside &= self.site_pairs > 0
                new_rows.append(np.flatnonzero(inside))
                rhs.append(float(cap))
                break
            if len(new_rows) + self.rows >= self.max_rows:
                break
        if not new_rows:
            return 0
        site_in = [np.isin(s.fac_site[s.q_fac], r) for r in new_rows]
        A = sp.csr_array(np.vstack(site_in).astype(float))
        s.cut_rows = sp.vstack([s.cut_rows, A], format="csr")
        s.cut_rhs = np.concatenate([s.cut_rhs, rhs])
        s.cut_kind += ["region"] * len(new_rows)
        s.cut_group += [-1] * len(new_rows)
        s.cut_sites += new_rows
        self.rows += len(new_rows)
        return len(new_rows)
