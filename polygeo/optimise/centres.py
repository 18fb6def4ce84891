"""Start plans by location-allocation: fix the hubs, solve the rest exactly.

With the hubs fixed, the model is small: with ``contiguous`` rules one flow
commodity per hub instead of one per candidate site (:mod:`.flow`), so HiGHS
solves it in well under a second on a county-level state (AL: 7 hubs, 2,357 arcs,
against 22,572 for the whole model); without, an assignment with population
bounds. The search alternates, as Cooper's location-allocation does:

1. **allocate** -- the best plan with only the chosen hubs open (or the proof that
   none exists);
2. **relocate** -- each catchment's best hub among the sites inside it;
3. **swap** -- when relocating changes nothing, move one hub to a site whose home
   area borders its own (without contiguity: one homed in its nearest areas),
   keeping a move that lowers the objective.

It starts from the sites the Lagrangian bound opens (:mod:`.bound`), else from the
incumbent's hubs, and returns a plan of the whole model that meets every row
(every catchment connected, with contiguity): the incumbent that reduced-cost
fixing needs (a plan in pieces is no incumbent of the contiguous model). On the
published districting instances it finds the optimum of NE, KS and WV with
contiguity, and of AL without, in seconds (BENCHMARKS.md, "Contiguity").
"""

from __future__ import annotations

import logging
import math
import time

import numpy as np
import scipy.sparse as sp

from polygeo.optimise.bound import LagrangianBound
from polygeo.optimise.model import Model, build_model
from polygeo.optimise.rules import SolverSettings

log = logging.getLogger("polygeo")

#: Largest fixed-hub flow model (arcs) the search builds; bigger models get no search.
MAX_ARCS = 20_000

#: Most seconds per fixed-hub solve.
SOLVE_SECONDS = 5.0


class _Allocator:
    """Solves the fixed-hub model for a set of sites, remembering the answers."""

    def __init__(self, model: Model, settings: SolverSettings | None) -> None:
        self.model = model
        self.settings = settings
        self.cache: dict[tuple[int, ...], tuple[float, np.ndarray | None]] = {}
        self.too_big = False

    def __call__(
        self, sites: np.ndarray, seconds: float, cutoff: float = math.inf
    ) -> tuple[float, np.ndarray | None]:
        """The objective and the vector of the best plan with only ``sites`` open."""
        key = tuple(sorted(int(s) for s in sites))
        if key in self.cache:
            return self.cache[key]
        out = self._solve(np.array(key, dtype=np.int64), seconds, cutoff)
        if out[1] is not None or cutoff == math.inf:
            self.cache[key] = out  # a cut-off solve says nothing beyond the cutoff
        return out

    def _solve(
        self, sites: np.ndarray, seconds: float, cutoff: float
    ) -> tuple[float, np.ndarray | None]:
        from polygeo.optimise.backends import HighsBackend
        from polygeo.optimise.flow import add_flow
        from polygeo.optimise.problem import restrict_problem
        from polygeo.optimise.start import start_vector

        m = self.model
        p = m.problem
        offered = np.zeros(p.n_sites, dtype=bool)
        offered[sites] = True
        offered |= p.must_open
        keep = offered[p.pair_site]
        if (np.bincount(p.pair_area[keep], minlength=p.n_areas) == 0)[np.unique(p.pair_area)].any():
            return math.inf, None  # an area none of the sites reaches
        sub = restrict_problem(p, keep, offered[p.opt_site])
        flow_model = build_model(sub, linking=m.linking, weights=m.weights)
        if p.rules.contiguous:
            flow_model = add_flow(flow_model)
        if getattr(flow_model, "n_f", 0) > MAX_ARCS:
            self.too_big = True
            return math.inf, None
        threads = None if self.settings is None else self.settings.threads
        settings = SolverSettings(name="highs", gap=1e-4, threads=threads)
        backend = HighsBackend(flow_model, settings, presolve=True)  # small models
        if math.isfinite(cutoff):
            backend.h.setOptionValue("objective_bound", float(cutoff))
        result = backend.run(seconds)
        if result.values is None:
            return math.inf, None
        x = np.flatnonzero(np.round(result.values[: flow_model.n_x]) > 0.5)
        choice = np.full(p.n_areas, -1, dtype=np.int64)
        choice[sub.pair_area[x]] = np.flatnonzero(keep)[x]
        v = start_vector(m, choice)
        return (math.inf, None) if v is None else (m.objective_value(v), v)


def _homes(model: Model) -> np.ndarray:
    """Each site's home area (contiguity), else the area it reaches fastest."""
    p = model.problem
    if p.rules.contiguous:
        return p.home
    order = np.lexsort((p.pair_minutes, p.pair_site))
    first = np.unique(p.pair_site[order], return_index=True)
    home = np.full(p.n_sites, -1, dtype=np.int64)
    home[first[0]] = p.pair_area[order][first[1]]
    return home


def _best_hubs(model: Model, part: np.ndarray) -> np.ndarray | None:
    """Per part of the areas (label ``>= 0``), the site homed in it that serves it best.

    ``None`` when some part has no site homed in it that reaches all of its areas.
    """
    p = model.problem
    home = _homes(model)
    part_of_site = np.where(home >= 0, part[np.maximum(home, 0)], -1)
    pair_part = part[p.pair_area]
    inside = (pair_part >= 0) & (part_of_site[p.pair_site] == pair_part)
    cost = np.zeros(p.n_sites)
    np.add.at(cost, p.pair_site[inside], model.c[: model.n_x][inside])
    count = np.bincount(p.pair_site[inside], minlength=p.n_sites)
    labels = np.unique(part[part >= 0])
    size = np.bincount(part[part >= 0], minlength=int(labels.max()) + 1 if len(labels) else 0)
    out = []
    for label in labels:
        cand = np.flatnonzero((part_of_site == label) & (count == size[label]))
        if len(cand) == 0:
            return None
        out.append(int(cand[np.argmin(cost[cand])]))
    return np.array(sorted(set(out)), dtype=np.int64)


def _relocated(model: Model, v: np.ndarray) -> np.ndarray:
    """Per catchment of ``v``, the site inside it (home area in it) that serves it best."""
    p = model.problem
    x = np.flatnonzero(v[: model.n_x] > 0.5)
    site_of = np.full(p.n_areas, -1, dtype=np.int64)
    site_of[p.pair_area[x]] = p.pair_site[x]
    best = _best_hubs(model, site_of)
    return _hubs(model, v) if best is None else best


def _partition_hubs(model: Model, seconds: float, seed: int) -> np.ndarray | None:
    """Hubs of a random balanced connected partition (:mod:`.tree_partition`).

    Only for a fixed number of hubs with contiguity; ``None`` when none is found.
    """
    from polygeo.optimise.tree_partition import balanced_partition

    p = model.problem
    lo, hi = p.rules.hub_bounds
    if lo is None or lo != hi or not p.rules.contiguous or seconds <= 0:
        return None
    served = np.zeros(p.n_areas, dtype=bool)
    served[p.pair_area] = True
    if not served.all():
        return None
    upper = p.rules.max_population
    part = balanced_partition(
        p.adjacency,
        p.population,
        int(lo),
        float(p.rules.min_population),
        math.inf if upper is None else float(upper),
        seconds=seconds,
        seed=seed,
    )
    return None if part is None else _best_hubs(model, part)


#: Without an adjacency, a hub's neighbours are the sites homed in its nearest areas.
NEAREST_AREAS = 8


def _neighbour_sites(model: Model) -> sp.csr_array:
    """Site x site: sites whose home areas border each other (else: are near)."""
    p = model.problem
    home = _homes(model)
    ok = np.flatnonzero(home >= 0)
    at_home = sp.csr_array((np.ones(len(ok)), (ok, home[ok])), shape=(p.n_sites, p.n_areas))
    if p.adjacency is not None and p.rules.contiguous:
        near = sp.csr_array(p.adjacency, dtype=float)
        return ((at_home @ near @ at_home.T) > 0).astype(bool).tocsr()
    # the sites homed in each site's nearest areas
    order = np.lexsort((p.pair_minutes, p.pair_site))
    site, area = p.pair_site[order], p.pair_area[order]
    close = np.arange(len(site)) - np.searchsorted(site, site) < NEAREST_AREAS
    site_area = sp.csr_array(
        (np.ones(int(close.sum())), (site[close], area[close])), shape=(p.n_sites, p.n_areas)
    )
    out = ((site_area @ at_home.T) > 0).astype(bool).tolil()
    out.setdiag(False)
    return sp.csr_array(out)


def _hubs(model: Model, v: np.ndarray) -> np.ndarray:
    p = model.problem
    return np.unique(p.pair_site[v[: model.n_x] > 0.5])


def location_allocation(
    model: Model,
    sites: np.ndarray,
    *,
    seconds: float,
    incumbent: np.ndarray | None = None,
    settings: SolverSettings | None = None,
) -> np.ndarray | None:
    """A plan by location-allocation from the hubs ``sites`` (contiguous when the rules say).

    Parameters
    ----------
    model
        The model (with or without ``contiguous`` rules).
    sites
        The first hubs (e.g. the sites the Lagrangian bound opens).
    seconds
        Time for the whole search.
    incumbent
        A plan to beat (its hubs are tried when ``sites`` fail); with contiguity,
        a contiguous one.
    settings
        Solver settings (threads).

    Returns
    -------
    numpy.ndarray or None
        A vector of ``model`` (every row met, every catchment connected with
        contiguity) better than ``incumbent``, or ``None``.
    """
    p = model.problem
    if (p.rules.contiguous and p.adjacency is None) or seconds <= 0:
        return None
    t0 = time.perf_counter()
    deadline = t0 + seconds
    allocate = _Allocator(model, settings)
    best_obj = math.inf if incumbent is None else model.objective_value(incumbent)
    best: np.ndarray | None = None
    starts = [np.asarray(sites, dtype=np.int64)]
    if incumbent is not None:
        starts.append(_hubs(model, incumbent))
    current = _first_plan(model, starts, allocate, deadline)
    if current is None:
        log.info("location-allocation: no plan with the bound's hubs nor a partition's")
        return None
    neighbours = _neighbour_sites(model)
    solves = 1
    while time.perf_counter() < deadline:
        obj = model.objective_value(current)
        if best_obj == math.inf or obj < best_obj - 1e-9 * abs(best_obj):
            best, best_obj = current, obj
        moved = _improve(model, current, allocate, neighbours, deadline)
        solves += 1
        if moved is None:
            break
        current = moved
    log.info(
        "location-allocation: %s after %d moves, %.2f s",
        "none better" if best is None else f"{best_obj:.6g}",
        solves,
        time.perf_counter() - t0,
    )
    return best


#: Share of the search's time spent drawing balanced partitions when the first
#: hubs have no plan.
PARTITION_SHARE = 0.25


def _first_plan(
    model: Model, starts: list[np.ndarray], allocate: _Allocator, deadline: float
) -> np.ndarray | None:
    """The plan of the first hub set that has one: the given ones, then partitions'.

    With contiguity and a fixed number of hubs, when the given hubs have no plan
    (populations in a narrow band), the hubs of random balanced connected
    partitions are tried, each of which has at least the partition as a plan.
    """
    for s in starts:
        _, v = allocate(s, min(SOLVE_SECONDS, deadline - time.perf_counter()))
        if v is not None or allocate.too_big:
            return v
    seed = 0
    while time.perf_counter() < deadline:
        left = deadline - time.perf_counter()
        hubs = _partition_hubs(model, PARTITION_SHARE * left, seed)
        seed += 1
        if hubs is None:
            return None
        _, v = allocate(hubs, min(SOLVE_SECONDS, deadline - time.perf_counter()))
        if v is not None or allocate.too_big:
            return v
    return None


def _improve(
    model: Model,
    v: np.ndarray,
    allocate: _Allocator,
    neighbours: sp.csr_array,
    deadline: float,
) -> np.ndarray | None:
    """A better plan by relocating every hub, else by one swap; ``None`` when none is."""
    obj = model.objective_value(v)
    hubs = _hubs(model, v)
    relocated = _relocated(model, v)

    def left() -> float:
        return min(SOLVE_SECONDS, deadline - time.perf_counter())

    if not np.array_equal(relocated, hubs):
        new_obj, w = allocate(relocated, left(), cutoff=obj)
        if w is not None and new_obj < obj - 1e-9 * abs(obj):
            return w
    for h in hubs:
        for s in neighbours.indices[neighbours.indptr[h] : neighbours.indptr[h + 1]]:
            if s in hubs or left() <= 0:
                continue
            trial = np.where(hubs == h, s, hubs)
            new_obj, w = allocate(trial, left(), cutoff=obj)
            if w is not None and new_obj < obj - 1e-9 * abs(obj):
                return w
    return None


#: Most seconds of the search before the full model is solved (and at most this share
#: of the time limit).
SEARCH_SECONDS = 20.0
SEARCH_SHARE = 0.25

#: Without contiguity, largest model (pairs) searched (bigger ones get the
#: neighbourhood search of :mod:`.lns`).
MAX_PAIRS = 20_000


def start_from_bound(
    model: Model,
    lb: LagrangianBound,
    v0: np.ndarray | None,
    settings: SolverSettings,
) -> np.ndarray | None:
    """``v0``, or a better plan by location-allocation from the hubs ``lb`` opens.

    With ``contiguous`` rules always (the search stops on models whose fixed-hub
    flow is too big); without, on models of at most :data:`MAX_PAIRS` pairs. See
    :func:`location_allocation`.
    """
    from polygeo.optimise.repair import is_contiguous, pair_choice

    contiguous = model.problem.rules.contiguous
    if not contiguous and model.n_x > MAX_PAIRS:
        return v0
    limit = settings.time_limit
    seconds = SEARCH_SECONDS if limit is None else min(SEARCH_SECONDS, SEARCH_SHARE * limit)
    incumbent = v0
    if contiguous and v0 is not None and not is_contiguous(model, pair_choice(model, v0)):
        incumbent = None
    better = location_allocation(
        model, lb.selected, seconds=seconds, incumbent=incumbent, settings=settings
    )
    return v0 if better is None else better
