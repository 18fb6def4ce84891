"""Local search on an assignment: relocate areas, open sites, swap and interchange.

:func:`improve` takes a feasible assignment (a pair per area) and applies moves
that keep every hub between the minimum population and its capacity, inside
its group and holding its home area, while the objective falls:

* relocate: an area moves to a cheaper open hub;
* open: a closed site opens, drawing the areas that gain most from it;
* swap: two areas of neighbouring hubs exchange hubs;
* interchange: a hub closes and another opens (when nothing else helps).
"""

from __future__ import annotations

import time

import numpy as np

from polygeo.optimise.model import Model

_TOL = 1e-6


class _State:
    """Assignment state for the local search (sites, not facilities)."""

    def __init__(self, model: Model, choice: np.ndarray) -> None:
        p = model.problem
        self.p = p
        self.model = model
        w = p.rules.objective_weights()
        self.w_t = w["travel"] + model.weights.get("travel_tiebreak", 0.0)
        self.w_c, self.w_h = w["cost"], w["hubs"]
        self.pen = w["travel"] * p.rules.exception_penalty
        self.choice = choice.copy()
        m = p.n_sites
        self.pop = p.population
        # cost of a pair in objective units
        self.pair_cost = p.population[p.pair_area] * (
            self.w_t * p.pair_minutes + self.pen * p.pair_exception
        )
        picked = choice[choice >= 0]
        self.hub_pop = np.bincount(
            p.pair_site[picked], weights=self.pop[p.pair_area[picked]], minlength=m
        )
        self.open = np.zeros(m, dtype=bool)
        self.open[p.pair_site[picked]] = True
        self.open |= p.must_open
        cap = np.zeros(m)
        cheap = np.full(m, np.inf)
        np.maximum.at(cap, p.opt_site, p.opt_cap)
        np.minimum.at(cheap, p.opt_site, p.opt_cost)
        self.cap = cap
        self.site_cost = np.where(np.isfinite(cheap), cheap, 0.0) * self.w_c + self.w_h
        self.members_count = np.bincount(p.pair_site[picked], minlength=m)
        self.within = p.rules.within_group and p.group is not None
        self.hub_group = np.full(m, -1, dtype=np.int64)
        if self.within:
            normal = picked[~p.pair_exception[picked]]
            self.hub_group[p.pair_site[normal]] = p.group[p.pair_area[normal]]
        self.home = p.home if p.rules.contiguous else None
        self.p_min = p.rules.min_population
        # pairs per site, for open moves
        self.by_site = np.argsort(p.pair_site, kind="stable")
        self.site_starts = np.searchsorted(p.pair_site[self.by_site], np.arange(m + 1))

    def site_of(self, i: int) -> int:
        return int(self.p.pair_site[self.choice[i]])

    def can_leave(self, i: int, a: int) -> bool:
        if self.home is not None and self.home[a] == i:
            return False
        if self.hub_pop[a] - self.pop[i] < self.p_min - _TOL:
            return False
        return True

    def can_join(self, i: int, b: int, k: int) -> bool:
        if self.hub_pop[b] + self.pop[i] > self.cap[b] + _TOL:
            return False
        if self.within and not self.p.pair_exception[k]:
            g = self.hub_group[b]
            if g >= 0 and g != self.p.group[i]:
                return False
        return True

    def move(self, i: int, k: int) -> None:
        p = self.p
        old = self.choice[i]
        a, b = int(p.pair_site[old]), int(p.pair_site[k])
        self.hub_pop[a] -= self.pop[i]
        self.members_count[a] -= 1
        self.hub_pop[b] += self.pop[i]
        self.members_count[b] += 1
        self.choice[i] = k
        if self.within and not p.pair_exception[k]:
            self.hub_group[b] = p.group[i]


def _relocate(s: _State, deadline: float) -> int:
    """Move areas to better open hubs while both stay feasible; returns moves made."""
    p = s.p
    moves = 0
    while time.perf_counter() < deadline:
        cur = s.choice[p.pair_area]
        ok = s.open[p.pair_site] & (cur >= 0) & (p.pair_site != p.pair_site[np.maximum(cur, 0)])
        gain = np.where(ok, s.pair_cost[np.maximum(cur, 0)] - s.pair_cost, 0.0)
        cand = np.flatnonzero(gain > 1e-9)
        if len(cand) == 0:
            break
        cand = cand[np.argsort(-gain[cand], kind="stable")]
        made = 0
        for k in cand.tolist():
            i = int(p.pair_area[k])
            cur_k = s.choice[i]
            if s.pair_cost[cur_k] - s.pair_cost[k] <= 1e-9:
                continue
            a, b = int(p.pair_site[cur_k]), int(p.pair_site[k])
            if a == b or not s.can_leave(i, a) or not s.can_join(i, b, k):
                continue
            s.move(i, k)
            made += 1
        moves += made
        if made == 0:
            break
    return moves


def _open_moves(s: _State, deadline: float, candidates: np.ndarray | None = None) -> int:
    """Open closed sites that can gather the minimum from areas that gain by moving."""
    p = s.p
    hi = p.rules.hub_bounds[1]
    budget = p.rules.budget
    opened = 0
    closed = np.flatnonzero(~s.open & (np.bincount(p.opt_site, minlength=p.n_sites) > 0))
    if candidates is not None:
        closed = np.intersect1d(closed, candidates)
    for j in closed.tolist():
        if time.perf_counter() > deadline:
            break
        if hi is not None and int(s.open.sum()) >= hi:
            break
        if budget is not None and _capital(s) + _cheapest(s, j) > budget + _TOL:
            continue
        opened += int(_try_open(s, j))
    return opened


def _try_open(s: _State, j: int) -> bool:
    """Open site ``j`` with the areas that gain most by moving to it, if that pays."""
    movers = _ranked_movers(s, j)
    if movers is None:
        return False
    ks, areas, cur, gain, order = movers
    picked = _donated(s, j, ks, areas, cur, order)
    if picked is None:
        return False
    sel, group = picked
    ar = areas[order]
    pops = s.pop[ar[sel]]
    total_cum = np.cumsum(pops)
    ok_cap = total_cum <= s.cap[j] + _TOL
    sel, pops, total_cum = sel[ok_cap], pops[ok_cap], total_cum[ok_cap]
    reach = int(np.searchsorted(total_cum, s.p_min - _TOL))
    if reach >= len(sel):
        return False
    g_sel = gain[order[sel]]
    extra = np.flatnonzero(g_sel[reach + 1 :] > 0) + reach + 1
    chosen = np.concatenate([np.arange(reach + 1), extra])
    total = float(pops[chosen].sum())
    total_gain = float(g_sel[chosen].sum())
    if total > s.cap[j] + _TOL:
        chosen = np.arange(reach + 1)
        total = float(pops[chosen].sum())
        total_gain = float(g_sel[chosen].sum())
    take = [(int(ar[q]), int(ks[order[q]])) for q in sel[chosen].tolist()]
    if total < s.p_min - _TOL or total_gain - s.site_cost[j] <= 1e-9:
        return False
    s.open[j] = True
    s.hub_group[j] = group
    for i, k in take:
        s.move(i, k)
    return True


def _ranked_movers(s: _State, j: int) -> tuple | None:
    """Pairs into ``j`` of assigned areas, in order of gain (home area first).

    ``None`` when even the best areas, donors' limits ignored, cannot pay for
    opening ``j`` (or its home area is not among them).
    """
    p = s.p
    ks = s.by_site[s.site_starts[j] : s.site_starts[j + 1]]
    if len(ks) == 0:
        return None
    areas = p.pair_area[ks]
    cur = s.choice[areas]
    valid = cur >= 0
    ks, areas, cur = ks[valid], areas[valid], cur[valid]
    gain = s.pair_cost[cur] - s.pair_cost[ks]
    order = np.argsort(-gain, kind="stable")
    # upper bound on the gain: the best areas, donors' limits ignored
    cum = np.cumsum(s.pop[areas[order]])
    reach = int(np.searchsorted(cum, s.p_min - _TOL))
    if reach >= len(order):
        return None
    g_sorted = gain[order]
    bound = g_sorted[: reach + 1].sum() + np.clip(g_sorted[reach + 1 :], 0, None).sum()
    if bound - s.site_cost[j] <= 1e-9:
        return None
    home = s.home[j] if s.home is not None else -1
    if home >= 0:
        # the home area must come along, first
        pos = np.flatnonzero(areas[order] == home)
        if len(pos) == 0:
            return None
        order = np.concatenate([order[pos], np.delete(order, pos)])
    return ks, areas, cur, gain, order


def _donated(
    s: _State, j: int, ks: np.ndarray, areas: np.ndarray, cur: np.ndarray, order: np.ndarray
) -> tuple[np.ndarray, int] | None:
    """Positions in ``order`` of the areas their hubs can give while keeping the minimum.

    Each donor gives areas in gain order; with ``within_group`` only areas of the
    first area's group. Returns the positions and that group (``-1``: none).
    """
    p = s.p
    a_don = p.pair_site[cur[order]]
    ar = areas[order]
    eligible = a_don != j
    if s.home is not None:
        eligible &= s.home[a_don] != ar
    group = -1
    if s.within:
        normal = ~p.pair_exception[ks[order]]
        firsts = np.flatnonzero(eligible & normal)
        if len(firsts):
            group = int(p.group[ar[firsts[0]]])
            eligible &= ~normal | (p.group[ar] == group)
    sel = np.flatnonzero(eligible)
    if len(sel) == 0:
        return None
    don = a_don[sel]
    by_don = np.lexsort((sel, don))
    pops = s.pop[ar[sel]][by_don]
    d_sorted = don[by_don]
    cum = np.cumsum(pops)
    first = np.searchsorted(d_sorted, d_sorted)
    within_don = cum - (cum[first] - pops[first])
    fits = np.empty(len(sel), dtype=bool)
    fits[by_don] = within_don <= s.hub_pop[d_sorted] - s.p_min + _TOL
    sel = sel[fits]
    return (sel, group) if len(sel) else None


def _swap(s: _State, deadline: float) -> int:
    """Exchange two areas between hubs when both stay feasible and travel falls."""
    p = s.p
    m = np.int64(p.n_sites)
    cur = s.choice[p.pair_area]
    valid = (cur >= 0) & s.open[p.pair_site]
    frm = np.where(valid, p.pair_site[np.maximum(cur, 0)], -1)
    valid &= frm != p.pair_site
    delta = np.where(valid, s.pair_cost - s.pair_cost[np.maximum(cur, 0)], np.inf)
    ys = np.flatnonzero(valid)
    xs = ys[delta[ys] < -1e-9]
    if len(xs) == 0:
        return 0
    key_y = p.pair_site[ys] * m + frm[ys]  # (to, from) of Y = (a, b)
    order = np.argsort(key_y, kind="stable")
    ys, key_y = ys[order], key_y[order]
    key_x = frm[xs] * m + p.pair_site[xs]  # (from, to) of X = (a, b)
    lo = np.searchsorted(key_y, key_x, side="left")
    hi = np.searchsorted(key_y, key_x, side="right")
    cnt = hi - lo
    if cnt.sum() == 0:
        return 0
    if cnt.sum() > 5_000_000:  # keep memory bounded on huge instances
        keep = np.cumsum(cnt) <= 5_000_000
        xs, lo, cnt = xs[keep], lo[keep], cnt[keep]
    rx = np.repeat(xs, cnt)
    off = np.arange(int(cnt.sum())) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    ry = ys[np.repeat(lo, cnt) + off]
    gain = -(delta[rx] + delta[ry])
    good = gain > 1e-9
    rx, ry, gain = rx[good], ry[good], gain[good]
    order = np.argsort(-gain, kind="stable")
    made = 0
    for q in order.tolist():
        if time.perf_counter() > deadline:
            break
        kx, ky = int(rx[q]), int(ry[q])
        i, k = int(p.pair_area[kx]), int(p.pair_area[ky])
        ci, ck = s.choice[i], s.choice[k]
        a, b = int(p.pair_site[ci]), int(p.pair_site[ck])
        if a != int(p.pair_site[ky]) or b != int(p.pair_site[kx]) or a == b:
            continue  # someone moved already
        g = s.pair_cost[ci] + s.pair_cost[ck] - s.pair_cost[kx] - s.pair_cost[ky]
        if g <= 1e-9:
            continue
        if s.home is not None and (s.home[a] == i or s.home[b] == k):
            continue
        pa_new = s.hub_pop[a] - s.pop[i] + s.pop[k]
        pb_new = s.hub_pop[b] - s.pop[k] + s.pop[i]
        if min(pa_new, pb_new) < s.p_min - _TOL:
            continue
        if pa_new > s.cap[a] + _TOL or pb_new > s.cap[b] + _TOL:
            continue
        if (
            s.within
            and (p.group[i] != p.group[k])
            and not (p.pair_exception[kx] or p.pair_exception[ky])
        ):
            continue
        s.move(i, kx)
        s.move(k, ky)
        made += 1
    return made


def _objective(s: _State) -> float:
    c = s.choice[s.choice >= 0]
    return float(s.pair_cost[c].sum() + s.site_cost[s.open].sum())


def _snapshot(s: _State) -> tuple:
    return (
        s.choice.copy(),
        s.hub_pop.copy(),
        s.open.copy(),
        s.members_count.copy(),
        s.hub_group.copy(),
    )


def _restore(s: _State, snap: tuple) -> None:
    s.choice, s.hub_pop, s.open, s.members_count, s.hub_group = (x.copy() for x in snap)


def _interchange(s: _State, deadline: float) -> int:
    """Close an open hub, move its areas to their best open hubs, then open better sites.

    Kept when the objective falls; returns the number kept.
    """
    p = s.p
    n = p.n_areas
    order = np.lexsort((s.pair_cost, p.pair_area))
    starts = np.searchsorted(p.pair_area[order], np.arange(n + 1))
    kept = 0
    for j in np.flatnonzero(s.open & ~p.must_open).tolist():
        if time.perf_counter() > deadline:
            break
        if not s.open[j]:
            continue
        before = _objective(s)
        snap = _snapshot(s)
        members = np.flatnonzero((s.choice >= 0) & (p.pair_site[np.maximum(s.choice, 0)] == j))
        s.open[j] = False
        ok = True
        for i in members.tolist():
            best = -1
            for k in order[starts[i] : starts[i + 1]].tolist():
                b = int(p.pair_site[k])
                if b != j and s.open[b] and s.can_join(i, b, k):
                    best = k
                    break
            if best < 0:
                ok = False
                break
            s.move(i, best)
        if ok:
            s.hub_pop[j] = 0.0
            s.hub_group[j] = -1
            # candidate sites: those the moved areas can reach
            near = np.unique(p.pair_site[np.isin(p.pair_area, members)])
            near = near[~s.open[near] & (near != j)]
            _open_moves(s, deadline, candidates=near)
            _relocate(s, deadline)
        if ok and _objective(s) < before - 1e-9:
            kept += 1
        else:
            _restore(s, snap)
    return kept


def _cheapest(s: _State, j: int) -> float:
    costs = s.p.opt_cost[s.p.opt_site == j]
    return float(costs.min()) if len(costs) else 0.0


def _capital(s: _State) -> float:
    return float(sum(_cheapest(s, j) for j in np.flatnonzero(s.open)))


def improve(model: Model, choice: np.ndarray, *, max_seconds: float = 10.0) -> np.ndarray:
    """Local search from an assignment: relocate areas, open sites; returns a new one."""
    s = _State(model, choice)
    deadline = time.perf_counter() + max_seconds
    for _ in range(50):
        moved = _relocate(s, deadline)
        opened = _open_moves(s, deadline)
        swapped = _swap(s, deadline)
        if opened == 0 and moved == 0 and swapped == 0:
            swapped = _interchange(s, deadline)
        if opened == 0 and moved == 0 and swapped == 0:
            break
        if time.perf_counter() > deadline:
            break
    # hubs left without areas close (they were opened by must_open only otherwise)
    return s.choice
