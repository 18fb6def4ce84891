"""A start plan: greedy drop-and-repair, handed to the solver as an incumbent.

Finding any plan that fills every hub to ``min_population`` is the hard part of
this MIP for a branch-and-bound solver: HiGHS can spend minutes at the root
node of a London-sized model without one. This greedy finds one in a fraction
of a second in the common cases:

1. open every viable site ("facility": a site, or a site and group with
   ``within_group``) and give each area its nearest open facility;
2. repeatedly close the open facility with the fewest people below the minimum
   whose areas all have another open facility, moving each area to its nearest
   one (sites that must open are never closed);
3. fill the facilities still short by taking areas from neighbours that can
   spare them, cheapest extra minutes first;
4. with ``within_group``, keep one facility per site (the most populous) and
   repeat; with a maximum number of hubs, keep closing the smallest.

The result is checked against every row of the model; when it breaks any
(budget, capacity, minimum hub count, contiguity...) no start is given and the
solver searches on its own.
"""

from __future__ import annotations

import logging
import time

import numpy as np

from polygeo.optimise.model import Model

log = logging.getLogger("polygeo")

_TOL = 1e-6


def greedy_assignment(model: Model, *, max_seconds: float = 30.0) -> np.ndarray | None:
    """A pair index per area (``-1`` for areas with no pair), or ``None`` on failure."""
    t0 = time.perf_counter()
    p = model.problem
    rules = p.rules
    n = p.n_areas
    P = len(p.pair_area)
    if P == 0:
        return None
    p_min = rules.min_population
    pop = p.population
    G = len(p.group_names) if (rules.within_group and p.group is not None) else 1
    grp = p.group if G > 1 else np.zeros(n, dtype=np.int64)
    # An exception joins its site's facility for its own group, like any other area
    # (stricter than the model, which exempts exceptions from groups). A separate
    # "exception" facility would hold one area and could never reach the minimum.
    fac_of_pair = p.pair_site * G + grp[p.pair_area]
    facs, fac_idx = np.unique(fac_of_pair, return_inverse=True)
    F = len(facs)
    fac_site = facs // G
    must_site = p.must_open
    # candidates per area sorted by minutes (exceptions last)
    order = np.lexsort((p.pair_minutes, p.pair_exception, p.pair_area))
    a_sorted = p.pair_area[order]
    starts = np.searchsorted(a_sorted, np.arange(n + 1))
    cand = [order[starts[i] : starts[i + 1]] for i in range(n)]
    by_fac = np.argsort(fac_idx, kind="stable")
    fac_starts = np.searchsorted(fac_idx[by_fac], np.arange(F + 1))
    is_open = np.ones(F, dtype=bool)
    # sites must have at least one option left in the model
    site_has_opt = np.zeros(p.n_sites, dtype=bool)
    site_has_opt[p.opt_site] = True
    is_open &= site_has_opt[fac_site]
    choice = np.full(n, -1, dtype=np.int64)
    fac_pop = np.zeros(F)
    members: list[set[int]] = [set() for _ in range(F)]

    def nearest_open(i: int, exclude: int = -1) -> int:
        for k in cand[i]:
            f = fac_idx[k]
            if is_open[f] and f != exclude:
                return int(k)
        return -1

    def move(i: int, k: int) -> None:
        old = choice[i]
        if old >= 0:
            f_old = fac_idx[old]
            fac_pop[f_old] -= pop[i]
            members[f_old].discard(i)
        choice[i] = k
        f = fac_idx[k]
        fac_pop[f] += pop[i]
        members[f].add(i)

    for i in range(n):
        if len(cand[i]):
            k = nearest_open(i)
            if k < 0:
                return None
            move(i, k)

    def closable(f: int) -> bool:
        if must_site[fac_site[f]] and not _other_open_same_site(f):
            return False
        return all(nearest_open(i, exclude=f) >= 0 for i in members[f])

    def _other_open_same_site(f: int) -> bool:
        same = np.flatnonzero((fac_site == fac_site[f]) & is_open)
        return len(same) > 1

    def close(f: int) -> None:
        is_open[f] = False
        for i in list(members[f]):
            move(i, nearest_open(i))

    def drop_phase(limit_hubs: int | None) -> None:
        while time.perf_counter() - t0 < max_seconds:
            open_f = np.flatnonzero(is_open)
            short = open_f[fac_pop[open_f] < p_min - _TOL]
            pool = short
            if len(pool) == 0 and limit_hubs is not None:
                if len(np.unique(fac_site[open_f])) > limit_hubs:
                    pool = open_f
            if len(pool) == 0:
                return
            done = False
            for f in pool[np.argsort(fac_pop[pool], kind="stable")]:
                if closable(int(f)):
                    close(int(f))
                    done = True
                    break
            if not done:
                return

    def repair_phase() -> bool:
        while time.perf_counter() - t0 < max_seconds:
            open_f = np.flatnonzero(is_open)
            short = open_f[fac_pop[open_f] < p_min - _TOL]
            if len(short) == 0:
                return True
            f = int(short[np.argmin(fac_pop[short])])
            # pairs into f from areas whose facility can spare them
            ks = by_fac[fac_starts[f] : fac_starts[f + 1]]
            best, best_cost = -1, np.inf
            for k in ks:
                i = p.pair_area[k]
                cur = choice[i]
                if cur < 0 or fac_idx[cur] == f:
                    continue
                g = fac_idx[cur]
                if fac_pop[g] - pop[i] < p_min - _TOL:
                    continue
                extra = p.pair_minutes[k] - p.pair_minutes[cur]
                if extra < best_cost:
                    best, best_cost = int(k), extra
            if best < 0:
                if not absorb_neighbour(f, ks):
                    return False
                continue
            move(int(p.pair_area[best]), best)
        return False

    def absorb_neighbour(f: int, ks: np.ndarray) -> bool:
        """Close the smallest neighbouring facility that can be emptied, mostly into ``f``.

        Used when no neighbour can spare an area: merging a whole neighbour into
        ``f`` (its other areas going to their nearest open facility) lets the
        repair go on; the facilities this leaves short are repaired in turn.
        """
        into_f = {int(p.pair_area[k]): int(k) for k in ks}
        neighbours = {int(fac_idx[choice[i]]) for i in into_f if choice[i] >= 0} - {f}
        for g in sorted(neighbours, key=lambda g: fac_pop[g]):
            if must_site[fac_site[g]] and not _other_open_same_site(g):
                continue
            targets = {i: into_f.get(i, nearest_open(i, exclude=g)) for i in members[g]}
            if any(k < 0 for k in targets.values()):
                continue
            is_open[g] = False
            for i, k in targets.items():
                move(i, k)
            return True
        return False

    hi = rules.hub_bounds[1]
    for _ in range(20):
        drop_phase(None)
        if not repair_phase():
            return None
        if hi is not None:
            drop_phase(hi)
            if not repair_phase():
                return None
        # one open facility per site
        open_f = np.flatnonzero(is_open)
        sites_open, counts = np.unique(fac_site[open_f], return_counts=True)
        clash = sites_open[counts > 1]
        if len(clash) == 0:
            break
        for s in clash:
            fs = open_f[fac_site[open_f] == s]
            keep = fs[np.argmax(fac_pop[fs])]
            for f in fs:
                if f != keep:
                    is_open[f] = False
                    for i in list(members[f]):
                        k = nearest_open(i)
                        if k < 0:
                            return None
                        move(i, k)
    else:
        return None
    log.debug("greedy start: %.2f s", time.perf_counter() - t0)
    return choice


def start_vector(model: Model, choice: np.ndarray) -> np.ndarray | None:
    """The model's column vector for an assignment, or ``None`` if it breaks a row."""
    p = model.problem
    v = np.zeros(model.n_cols)
    picked = choice[choice >= 0]
    v[picked] = 1.0
    w = p.population[p.pair_area[picked]]
    hub_pop = np.bincount(p.pair_site[picked], weights=w, minlength=p.n_sites)
    open_sites = np.unique(p.pair_site[picked])
    must = np.flatnonzero(p.must_open)
    open_sites = np.union1d(open_sites, must)
    y0 = model.n_x
    for s in open_sites:
        opts = np.flatnonzero(p.opt_site == s)
        ok = opts[p.opt_cap[opts] >= hub_pop[s] - _TOL]
        if len(ok) == 0:
            return None
        v[y0 + ok[np.argmin(p.opt_cost[ok])]] = 1.0
    if model.n_z:
        z0 = model.n_x + model.n_y
        normal = picked[~p.pair_exception[picked]]
        used = set(
            zip(p.pair_site[normal].tolist(), p.group[p.pair_area[normal]].tolist(), strict=True)
        )
        for q, (s, g) in enumerate(zip(model.z_site.tolist(), model.z_group.tolist(), strict=True)):
            if (s, g) in used:
                v[z0 + q] = 1.0
        # an open multi-group site with no area of its own group: pick any of its groups
        for s in np.unique(model.z_site):
            zs = np.flatnonzero(model.z_site == s)
            if v[y0 : y0 + model.n_y][p.opt_site == s].sum() > 0 and v[z0 + zs].sum() == 0:
                v[z0 + zs[0]] = 1.0
    return v if model.is_feasible(v) else None


def greedy_start(model: Model, *, improve_seconds: float = 10.0) -> np.ndarray | None:
    """A feasible start vector for the model (greedy, then local search), or ``None``.

    With ``contiguous`` rules, catchments left in pieces are repaired by moving each
    stray piece to a neighbouring hub; the start is kept even when some piece cannot
    move (it meets every row of the model so far, and the cuts come later).
    """
    t0 = time.perf_counter()
    choice = greedy_assignment(model)
    if choice is None:
        log.debug("greedy start: no assignment found")
        return None
    if model.problem.rules.contiguous:
        choice = repair_contiguity(model, choice)
    v = start_vector(model, choice)
    if v is None:
        log.debug("greedy start: the assignment breaks a rule of the model")
        return None
    if improve_seconds > 0:
        better = improve(model, choice, max_seconds=improve_seconds)
        if model.problem.rules.contiguous:
            better = repair_contiguity(model, better)
        w = start_vector(model, better)
        if w is not None and model.objective_value(w) <= model.objective_value(v):
            if (
                not model.problem.rules.contiguous
                or _contiguous(model, better)
                or not (_contiguous(model, choice))
            ):
                log.debug(
                    "local search: %.6g -> %.6g",
                    model.objective_value(v),
                    model.objective_value(w),
                )
                v = w
    log.debug("start plan in %.2f s", time.perf_counter() - t0)
    return v


def _assigned_sites(model: Model, choice: np.ndarray) -> np.ndarray:
    p = model.problem
    return np.where(choice >= 0, p.pair_site[np.maximum(choice, 0)], -1)


def _exempt(model: Model, choice: np.ndarray) -> np.ndarray:
    p = model.problem
    return (choice >= 0) & p.pair_exception[np.maximum(choice, 0)]


def _contiguous(model: Model, choice: np.ndarray) -> bool:
    from polygeo.optimise.contiguity import disconnected_parts

    p = model.problem
    parts = disconnected_parts(
        _assigned_sites(model, choice), p.adjacency, p.home, exempt=_exempt(model, choice)
    )
    return not parts


def repair_contiguity(model: Model, choice: np.ndarray, *, passes: int = 50) -> np.ndarray:
    """Move catchment pieces cut off from their hub's home area to a bordering hub.

    A piece ``C`` of hub ``j`` moves whole to a hub ``k`` holding an area next to
    it, when every area of ``C`` may travel to ``k``, ``j`` keeps the minimum and
    ``k`` stays within its capacity (and group); the cheapest such ``k`` is taken.
    """
    from polygeo.optimise.contiguity import boundary_of, disconnected_parts

    p = model.problem
    if p.adjacency is None:
        return choice
    choice = choice.copy()
    pop = p.population
    cap = np.zeros(p.n_sites)
    np.maximum.at(cap, p.opt_site, p.opt_cap)
    cost = p.population[p.pair_area] * p.pair_minutes
    for _ in range(passes):
        site_of = _assigned_sites(model, choice)
        parts = disconnected_parts(site_of, p.adjacency, p.home, exempt=_exempt(model, choice))
        if not parts:
            break
        hub_pop = np.bincount(site_of[site_of >= 0], weights=pop[site_of >= 0], minlength=p.n_sites)
        moved = False
        for j, part in parts:
            if (site_of[part] != j).any():
                continue  # changed by an earlier move in this pass
            part_pop = float(pop[part].sum())
            if hub_pop[j] - part_pop < p.rules.min_population - _TOL:
                continue
            nbrs = boundary_of(part, p.adjacency)
            hubs = np.unique(site_of[nbrs])
            best, best_cost, best_pairs = -1, np.inf, None
            for k in hubs[(hubs >= 0) & (hubs != j)].tolist():
                ks = model.pair_index(part, k)
                if (ks < 0).any() or hub_pop[k] + part_pop > cap[k] + _TOL:
                    continue
                if p.rules.within_group and p.group is not None:
                    normal = (site_of == k) & ~_exempt(model, choice)
                    groups = np.unique(p.group[normal])
                    if len(groups) and (p.group[part] != groups[0]).any():
                        continue
                c = float(cost[ks].sum())
                if c < best_cost:
                    best, best_cost, best_pairs = k, c, ks
            if best >= 0:
                choice[part] = best_pairs
                hub_pop[j] -= part_pop
                hub_pop[best] += part_pop
                site_of[part] = best
                moved = True
        if not moved:
            break
    return choice


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
    rules = p.rules
    hi = rules.hub_bounds[1]
    budget = rules.budget
    opened = 0
    closed = np.flatnonzero(~s.open & (np.bincount(p.opt_site, minlength=p.n_sites) > 0))
    if candidates is not None:
        closed = np.intersect1d(closed, candidates)
    for j in closed.tolist():
        if time.perf_counter() > deadline:
            break
        if hi is not None and int(s.open.sum()) >= hi:
            break
        if budget is not None:
            spent = _capital(s)
            if spent + _cheapest(s, j) > budget + _TOL:
                continue
        ks = s.by_site[s.site_starts[j] : s.site_starts[j + 1]]
        if len(ks) == 0:
            continue
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
            continue
        g_sorted = gain[order]
        bound = g_sorted[: reach + 1].sum() + np.clip(g_sorted[reach + 1 :], 0, None).sum()
        if bound - s.site_cost[j] <= 1e-9:
            continue
        home = s.home[j] if s.home is not None else -1
        if home >= 0:
            # the home area must come along, first
            pos = np.flatnonzero(areas[order] == home)
            if len(pos) == 0:
                continue
            order = np.concatenate([order[pos], np.delete(order, pos)])
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
            continue
        # each donor gives areas in gain order while it keeps the minimum
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
        if len(sel) == 0:
            continue
        pops = s.pop[ar[sel]]
        total_cum = np.cumsum(pops)
        ok_cap = total_cum <= s.cap[j] + _TOL
        sel, pops, total_cum = sel[ok_cap], pops[ok_cap], total_cum[ok_cap]
        reach = int(np.searchsorted(total_cum, s.p_min - _TOL))
        if reach >= len(sel):
            continue
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
            continue
        s.open[j] = True
        s.hub_group[j] = group
        for i, k in take:
            s.move(i, k)
        opened += 1
    return opened


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
