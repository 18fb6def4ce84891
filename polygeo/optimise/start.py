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
solver searches on its own. :func:`greedy_start` then improves it with the
local search of :mod:`.local_search`.
"""

from __future__ import annotations

import logging
import time

import numpy as np

from polygeo.optimise.local_search import improve
from polygeo.optimise.model import Model, build_model

log = logging.getLogger("polygeo")

_TOL = 1e-6


def greedy_assignment(
    model: Model, *, max_seconds: float = 30.0, partial: bool = False
) -> np.ndarray | None:
    """A pair index per area (``-1`` for areas with no pair), or ``None`` on failure.

    With ``partial``, when the repair gets stuck (a short facility no neighbour can
    spare an area for), the other short facilities are still repaired and the
    assignment is returned with the stuck ones short, for
    :func:`~polygeo.optimise.local_repair.repair_short_hubs` (only without groups
    under ``within_group`` or a maximum number of hubs; else ``None``).
    """
    if len(model.problem.pair_area) == 0:
        return None
    greedy = _Greedy(model, max_seconds, partial)
    choice = greedy.run()
    log.debug("greedy start: %.2f s", time.perf_counter() - greedy.t0)
    return choice


class _Greedy:
    """The state of the drop-and-repair greedy: who is open, who serves whom.

    A facility is a site (with ``within_group``: a site and group); ``choice`` holds
    each area's pair, ``fac_pop`` and ``members`` each facility's people and areas.
    """

    def __init__(self, model: Model, max_seconds: float, partial: bool) -> None:
        self.t0 = time.perf_counter()
        self.max_seconds, self.partial = max_seconds, partial
        p = self.p = model.problem
        n = p.n_areas
        self.p_min = p.rules.min_population
        self.pop = p.population
        G = self.G = len(p.group_names) if (p.rules.within_group and p.group is not None) else 1
        grp = p.group if G > 1 else np.zeros(n, dtype=np.int64)
        # An exception joins its site's facility for its own group, like any other area
        # (stricter than the model, which exempts exceptions from groups). A separate
        # "exception" facility would hold one area and could never reach the minimum.
        facs, self.fac_idx = np.unique(p.pair_site * G + grp[p.pair_area], return_inverse=True)
        F = len(facs)
        self.fac_site = facs // G
        # candidates per area sorted by minutes (exceptions last)
        order = np.lexsort((p.pair_minutes, p.pair_exception, p.pair_area))
        starts = np.searchsorted(p.pair_area[order], np.arange(n + 1))
        self.cand = [order[starts[i] : starts[i + 1]] for i in range(n)]
        self.by_fac = np.argsort(self.fac_idx, kind="stable")
        self.fac_starts = np.searchsorted(self.fac_idx[self.by_fac], np.arange(F + 1))
        # sites must have at least one option left in the model
        site_has_opt = np.zeros(p.n_sites, dtype=bool)
        site_has_opt[p.opt_site] = True
        self.is_open = site_has_opt[self.fac_site]
        self.choice = np.full(n, -1, dtype=np.int64)
        self.fac_pop = np.zeros(F)
        self.members: list[set[int]] = [set() for _ in range(F)]
        self.stuck: set[int] = set()

    def in_time(self) -> bool:
        return time.perf_counter() - self.t0 < self.max_seconds

    def run(self) -> np.ndarray | None:
        """Steps 1 to 4 of the module's docstring."""
        for i in range(self.p.n_areas):
            if len(self.cand[i]):
                k = self.nearest_open(i)
                if k < 0:
                    return None
                self.move(i, k)
        hi = self.p.rules.hub_bounds[1]
        for _ in range(20):
            self.drop_phase(None)
            if not self.repair_phase():
                if self.stuck and self.G == 1 and hi is None:
                    log.info("greedy start: %d hubs left short", len(self.stuck))
                    return self.choice
                return None
            if hi is not None:
                self.drop_phase(hi)
                if not self.repair_phase():
                    return None
            clash = self.sites_open_twice()
            if len(clash) == 0:
                return self.choice
            if not self.keep_one_per_site(clash):
                return None
        return None

    def nearest_open(self, i: int, exclude: int = -1) -> int:
        for k in self.cand[i]:
            f = self.fac_idx[k]
            if self.is_open[f] and f != exclude:
                return int(k)
        return -1

    def move(self, i: int, k: int) -> None:
        old = self.choice[i]
        if old >= 0:
            f_old = self.fac_idx[old]
            self.fac_pop[f_old] -= self.pop[i]
            self.members[f_old].discard(i)
        self.choice[i] = k
        f = self.fac_idx[k]
        self.fac_pop[f] += self.pop[i]
        self.members[f].add(i)

    def must_stay(self, f: int) -> bool:
        """A facility of a site that must open, and the only one open there."""
        if not self.p.must_open[self.fac_site[f]]:
            return False
        return len(np.flatnonzero((self.fac_site == self.fac_site[f]) & self.is_open)) <= 1

    def closable(self, f: int) -> bool:
        if self.must_stay(f):
            return False
        return all(self.nearest_open(i, exclude=f) >= 0 for i in self.members[f])

    def close(self, f: int) -> None:
        self.is_open[f] = False
        for i in list(self.members[f]):
            self.move(i, self.nearest_open(i))

    def drop_phase(self, limit_hubs: int | None) -> None:
        """Close the smallest short facility that can close (then, over the limit, any)."""
        while self.in_time():
            open_f = np.flatnonzero(self.is_open)
            pool = open_f[self.fac_pop[open_f] < self.p_min - _TOL]
            if len(pool) == 0 and limit_hubs is not None:
                if len(np.unique(self.fac_site[open_f])) > limit_hubs:
                    pool = open_f
            if len(pool) == 0:
                return
            for f in pool[np.argsort(self.fac_pop[pool], kind="stable")]:
                if self.closable(int(f)):
                    self.close(int(f))
                    break
            else:
                return

    def repair_phase(self) -> bool:
        """Fill the short facilities, smallest first; True when none is left short."""
        while self.in_time():
            open_f = np.flatnonzero(self.is_open)
            short = open_f[self.fac_pop[open_f] < self.p_min - _TOL]
            short = short[~np.isin(short, list(self.stuck))] if self.stuck else short
            if len(short) == 0:
                return not self.stuck
            f = int(short[np.argmin(self.fac_pop[short])])
            ks = self.by_fac[self.fac_starts[f] : self.fac_starts[f + 1]]
            best = self.cheapest_spare(f, ks)
            if best >= 0:
                self.move(int(self.p.pair_area[best]), best)
            elif not self.absorb_neighbour(f, ks):
                if not self.partial:
                    return False
                self.stuck.add(f)
        return False

    def cheapest_spare(self, f: int, ks: np.ndarray) -> int:
        """The pair into ``f`` of an area whose facility can spare it, least extra minutes."""
        p = self.p
        best, best_cost = -1, np.inf
        for k in ks:
            i = p.pair_area[k]
            cur = self.choice[i]
            if cur < 0 or self.fac_idx[cur] == f:
                continue
            if self.fac_pop[self.fac_idx[cur]] - self.pop[i] < self.p_min - _TOL:
                continue
            extra = p.pair_minutes[k] - p.pair_minutes[cur]
            if extra < best_cost:
                best, best_cost = int(k), extra
        return best

    def absorb_neighbour(self, f: int, ks: np.ndarray) -> bool:
        """Close the smallest neighbouring facility that can be emptied, mostly into ``f``.

        Used when no neighbour can spare an area: merging a whole neighbour into
        ``f`` (its other areas going to their nearest open facility) lets the
        repair go on; the facilities this leaves short are repaired in turn.
        """
        into_f = {int(self.p.pair_area[k]): int(k) for k in ks}
        neighbours = {int(self.fac_idx[self.choice[i]]) for i in into_f if self.choice[i] >= 0}
        for g in sorted(neighbours - {f}, key=lambda g: self.fac_pop[g]):
            if self.must_stay(g):
                continue
            targets = {i: into_f.get(i, self.nearest_open(i, exclude=g)) for i in self.members[g]}
            if any(k < 0 for k in targets.values()):
                continue
            self.is_open[g] = False
            for i, k in targets.items():
                self.move(i, k)
            return True
        return False

    def sites_open_twice(self) -> np.ndarray:
        open_f = np.flatnonzero(self.is_open)
        sites_open, counts = np.unique(self.fac_site[open_f], return_counts=True)
        return sites_open[counts > 1]

    def keep_one_per_site(self, clash: np.ndarray) -> bool:
        """Per site open in several groups, keep its most populous facility."""
        open_f = np.flatnonzero(self.is_open)
        for s in clash:
            fs = open_f[self.fac_site[open_f] == s]
            keep = fs[np.argmax(self.fac_pop[fs])]
            for f in fs:
                if f == keep:
                    continue
                self.is_open[f] = False
                for i in list(self.members[f]):
                    k = self.nearest_open(i)
                    if k < 0:
                        return False
                    self.move(i, k)
        return True


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
    v = model.complete(v)
    return v if model.is_feasible(v) else None


def greedy_start(
    model: Model, *, improve_seconds: float = 10.0, repair_seconds: float = 120.0
) -> np.ndarray | None:
    """A feasible start vector for the model (greedy, then local search), or ``None``.

    Hubs the greedy leaves short are re-planned with their neighbours by small exact
    models (:func:`~polygeo.optimise.local_repair.repair_short_hubs`, at most
    ``repair_seconds``). With ``contiguous`` rules, catchments left in pieces are
    repaired by moving each stray piece to a neighbouring hub; the start is kept even
    when some piece cannot move (it meets every row of the model so far, and the cuts
    come later).
    """
    from polygeo.optimise.local_repair import repair_short_hubs, short_hubs

    t0 = time.perf_counter()
    choice = greedy_assignment(model, partial=repair_seconds > 0)
    if choice is not None and len(short_hubs(model, choice)):
        choice = repair_short_hubs(model, choice, seconds=repair_seconds)
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


def guided_start(
    model: Model,
    open_sites: np.ndarray,
    *,
    improve_seconds: float = 10.0,
    repair_seconds: float = 0.0,
) -> np.ndarray | None:
    """A start plan from the sites a relaxation opens (e.g. the Lagrangian bound's).

    Only the pairs of those sites are offered to :func:`greedy_start` (and of each
    nearest site of an area none of them reaches); the greedy then drops and repairs
    to the minimum population as usual, and hubs it leaves short get at most
    ``repair_seconds`` of local repair (default none: a guided start is one of
    several tries). Returns a vector of ``model``, or ``None``.
    """
    from polygeo.optimise.problem import restrict_problem

    p = model.problem
    offered = np.zeros(p.n_sites, dtype=bool)
    offered[open_sites] = True
    offered |= p.must_open
    reached = np.bincount(p.pair_area[offered[p.pair_site]], minlength=p.n_areas) > 0
    # an area none of them reaches: its nearest site is offered too, with all its pairs
    # (offered to that area alone, the site could never gather the minimum)
    stray = np.flatnonzero(~reached[p.pair_area])
    if len(stray):
        by_area = stray[np.lexsort((p.pair_minutes[stray], p.pair_area[stray]))]
        first = np.unique(p.pair_area[by_area], return_index=True)[1]
        offered[p.pair_site[by_area[first]]] = True
    keep = offered[p.pair_site]
    keep_options = np.isin(p.opt_site, np.unique(p.pair_site[keep]))
    sub = build_model(
        restrict_problem(p, keep, keep_options), linking=model.linking, weights=model.weights
    )
    v = greedy_start(sub, improve_seconds=improve_seconds, repair_seconds=repair_seconds)
    if v is None:
        return None
    pairs = np.flatnonzero(keep)
    choice = np.full(p.n_areas, -1, dtype=np.int64)
    x = np.flatnonzero(v[: sub.n_x] > 0.5)
    choice[sub.problem.pair_area[x]] = pairs[x]
    if model.problem.rules.contiguous:
        choice = repair_contiguity(model, choice)
    w = start_vector(model, choice)
    if w is None:
        return None
    if model.problem.rules.contiguous:
        return w
    # the local search on the whole model: sites the relaxation left closed may help
    better = start_vector(model, improve(model, choice, max_seconds=improve_seconds))
    if better is not None and model.objective_value(better) < model.objective_value(w):
        w = better
    return w


#: Site sets of :func:`frequent_sites`: the most often opened sites, as many as the
#: relaxation opens on average times each factor.
FREQUENCY_SCALES = (1.0, 1.15, 1.4)


def frequent_sites(frequency: np.ndarray) -> list[np.ndarray]:
    """Site sets for :func:`guided_start`: the sites a relaxation opens most often.

    ``frequency`` is each site's share of the relaxation's last steps in which it
    was open (:attr:`~polygeo.optimise.bound.LagrangianBound.site_frequency`); its
    sum is about the number of hubs the relaxation opens, ``k``. Returns the
    ``scale * k`` most frequent sites for each scale of :data:`FREQUENCY_SCALES`
    (distinct sets only). On north-east London the 40 most frequent sites give a
    plan of 3.00 min where the 40 of the relaxation's last step give 3.04 and the
    greedy 3.11 (BENCHMARKS.md).
    """
    order = np.argsort(-frequency, kind="stable")
    order = order[frequency[order] > 0]
    mean_open = float(frequency.sum())
    sizes = {min(max(round(scale * mean_open), 1), len(order)) for scale in FREQUENCY_SCALES}
    return [order[:k] for k in sorted(sizes) if k > 0]
