"""Contiguous plans at city scale: search without contiguity, then connect the pieces.

With ``contiguous`` rules on a model too big for location-allocation's fixed-hub
flow (:mod:`.centres`; north-east London: 40 hubs, 1,023 areas), the searches that
keep every catchment connected are slow and get stuck: the greedy start is
contiguous but poor, and the contiguity-keeping neighbourhood search climbs from
it only slowly (each sub-model needs flow rows or cut rounds). Catchments of least
travel are connected almost everywhere anyway, so this module searches *without*
the rule and mends what breaks it:

1. the start from the bound's sites and the neighbourhood search run on the model
   without contiguity (:func:`free_model`), where they are fast;
2. :func:`connect` makes that plan contiguous: stray pieces move whole to a
   bordering hub (:func:`~polygeo.optimise.start.repair_contiguity`), and the
   pieces that cannot move (their hub would drop below the minimum) are mended by
   re-solving the piece's hub with the hubs bordering it, with contiguity, as one
   small model (the sub-models of :mod:`.lns`), keeping any contiguous sub-plan
   even when it costs more;
3. the contiguity-keeping neighbourhood search polishes the result.

:func:`contiguous_search` runs the three and returns the best contiguous plan.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable

import numpy as np

from polygeo.errors import PolygeoError
from polygeo.optimise.model import Model, build_model
from polygeo.optimise.rules import SolverSettings

log = logging.getLogger("polygeo")

#: Most seconds of the kernel search without contiguity (and at most this share of
#: the search's time).
KERNEL_SECONDS = 60.0
KERNEL_SHARE = 0.15

#: Most seconds per sub-model when mending a piece.
MEND_SECONDS = 10.0

#: Most hubs re-solved together around a piece (its own and the bordering ones).
MEND_HUBS = 4


def free_model(model: Model) -> Model:
    """The same model without the contiguity rule (same columns, fewer rows)."""
    p = model.problem
    rules = dataclasses.replace(p.rules, contiguous=False)
    return build_model(
        dataclasses.replace(p, rules=rules), linking=model.linking, weights=model.weights
    )


def _site_of(model: Model, choice: np.ndarray) -> np.ndarray:
    p = model.problem
    return np.where(choice >= 0, p.pair_site[np.maximum(choice, 0)], -1)


def _pieces(model: Model, choice: np.ndarray) -> list[tuple[int, np.ndarray]]:
    from polygeo.optimise.contiguity import disconnected_parts

    p = model.problem
    exempt = (choice >= 0) & p.pair_exception[np.maximum(choice, 0)]
    return disconnected_parts(_site_of(model, choice), p.adjacency, p.home, exempt=exempt)


def _choice_vector(model: Model, choice: np.ndarray) -> np.ndarray:
    """A column vector holding the assignment and its open options (rows unchecked)."""
    p = model.problem
    v = np.zeros(model.n_cols)
    picked = choice[choice >= 0]
    v[picked] = 1.0
    for s in np.unique(p.pair_site[picked]):
        opts = np.flatnonzero(p.opt_site == s)
        v[model.n_x + opts[np.argmin(p.opt_cost[opts])]] = 1.0
    return v


def _mend_groups(model: Model, choice: np.ndarray, site: int, part: np.ndarray) -> list[np.ndarray]:
    """Hub sets to re-solve for a piece: its hub with each bordering hub (most shared
    border first; two catchments solve in about a second), then with the
    :data:`MEND_HUBS` - 1 bordering ones together."""
    from polygeo.optimise.contiguity import boundary_of

    p = model.problem
    site_of = _site_of(model, choice)
    border = site_of[boundary_of(part, p.adjacency)]
    border = border[(border >= 0) & (border != site)]
    sites, counts = np.unique(border, return_counts=True)
    near = sites[np.argsort(-counts, kind="stable")]
    groups = [np.array([site, k], dtype=np.int64) for k in near.tolist()]
    if len(near) > 1:
        groups.append(np.concatenate([[site], near[: MEND_HUBS - 1]]).astype(np.int64))
    return groups


def _mend(
    model: Model, choice: np.ndarray, hubs: np.ndarray, seconds: float, settings: SolverSettings
) -> np.ndarray | None:
    """The assignment with the catchments of ``hubs`` re-solved contiguously, or ``None``."""
    from polygeo.optimise.backends import HighsBackend
    from polygeo.optimise.lns import _neighbourhood_model
    from polygeo.optimise.rounds import run_rounds

    built = _neighbourhood_model(model, _choice_vector(model, choice), hubs, need_start=False)
    if built is None:
        return None
    sub_model, pk, _ = built
    sub_settings = SolverSettings(
        name="highs", time_limit=seconds, gap=1e-3, threads=settings.threads
    )
    try:
        backend = HighsBackend(sub_model, sub_settings)
        result, _ = run_rounds(
            sub_model,
            backend,
            sub_settings,
            deadline=time.perf_counter() + seconds,
            max_rounds=50,
            problem=sub_model.problem,
        )
    except PolygeoError:
        return None
    x = np.flatnonzero(np.round(result.values[: sub_model.n_x]) > 0.5)
    out = choice.copy()
    out[sub_model.problem.pair_area[x]] = pk[x]
    return out


def connect(
    model: Model, choice: np.ndarray, *, seconds: float, settings: SolverSettings
) -> np.ndarray | None:
    """A contiguous plan of ``model`` from an assignment with catchments in pieces.

    Parameters
    ----------
    model
        The model with ``contiguous`` rules.
    choice
        Pair column per area (``-1``: none), meeting every rule but contiguity.
    seconds
        Time for the whole mending.
    settings
        Solver settings (threads).

    Returns
    -------
    numpy.ndarray or None
        A vector of ``model`` (every row met, every catchment connected), or ``None``
        when some piece could not be mended in time.
    """
    from polygeo.optimise.start import repair_contiguity, start_vector

    deadline = time.perf_counter() + seconds
    choice = repair_contiguity(model, choice)
    tried: set[tuple[int, ...]] = set()
    while (pieces := _pieces(model, choice)) and time.perf_counter() < deadline:
        mended = False
        for site, part in pieces:
            for hubs in _mend_groups(model, choice, site, part):
                key = tuple(sorted(hubs.tolist()))
                if key in tried or time.perf_counter() >= deadline:
                    continue
                tried.add(key)
                left = min(MEND_SECONDS, deadline - time.perf_counter())
                better = _mend(model, choice, hubs, left, settings)
                if better is not None:
                    choice, mended = repair_contiguity(model, better), True
                    break
            if mended:
                break
        if not mended:
            break
    if _pieces(model, choice):
        log.info("connect: %d catchment pieces left", len(_pieces(model, choice)))
        return None
    return start_vector(model, choice)


#: Share of the search's time spent searching without contiguity (the rest mends and
#: polishes with it).
FREE_SHARE = 0.5

#: Share of the search's time the mending may take at most.
CONNECT_SHARE = 0.15


def contiguous_search(
    model: Model,
    v0: np.ndarray,
    *,
    seconds: float,
    settings: SolverSettings,
    sites: np.ndarray | None = None,
    frequency: np.ndarray | None = None,
    on_improve: Callable[[float], None] | None = None,
) -> np.ndarray:
    """The best contiguous plan of a search without contiguity, mended and polished.

    Parameters
    ----------
    model
        A model with ``contiguous`` rules and without flow columns (the cut-round
        model of a city: :func:`~polygeo.optimise.flow.contiguity_formulation`).
    v0
        A contiguous plan of ``model`` (e.g. the greedy start).
    seconds
        Time for the whole search.
    settings
        Solver settings (threads).
    sites
        Sites a relaxation opens (the Lagrangian bound's): the search without
        contiguity also starts from them (:func:`~polygeo.optimise.start.guided_start`).
    frequency
        How often the relaxation opens each site (the bound's ``site_frequency``):
        guided starts from the most frequent sites too
        (:func:`~polygeo.optimise.start.frequent_sites`), a kernel search on them
        (:func:`~polygeo.optimise.lns.kernel_search`), and both searches offer only
        the sites it opens (:func:`~polygeo.optimise.lns.candidate_sites`).
    on_improve
        Called with the objective of each better contiguous plan of the last search.

    Returns
    -------
    numpy.ndarray
        A contiguous vector of ``model`` at least as good as ``v0``.
    """
    from polygeo.optimise.lns import (
        candidate_sites,
        kernel_search,
        kernel_sites,
        large_neighbourhood_search,
    )
    from polygeo.optimise.repair import pair_choice
    from polygeo.optimise.start import frequent_sites, guided_start

    t0 = time.perf_counter()
    deadline = t0 + seconds
    free = free_model(model)
    start = v0
    site_sets = [] if sites is None or not len(sites) else [sites]
    if frequency is not None:
        site_sets += frequent_sites(frequency)
    for open_sites in site_sets:
        guided = guided_start(free, open_sites, improve_seconds=5.0)
        if guided is not None and free.objective_value(guided) < free.objective_value(start):
            start = guided
    if frequency is not None:
        chosen = np.zeros(0, dtype=np.int64) if sites is None else sites
        kernel = kernel_sites(free, chosen, frequency, start)
        if kernel is not None:
            seconds_kernel = min(KERNEL_SECONDS, KERNEL_SHARE * seconds)
            better = kernel_search(free, kernel, start, seconds=seconds_kernel, settings=settings)
            start = start if better is None else better
    candidates = None if frequency is None else candidate_sites(frequency)
    loose = large_neighbourhood_search(
        free,
        start,
        seconds=max(FREE_SHARE * seconds - (time.perf_counter() - t0), 0.0),
        settings=settings,
        hubs_per_move=8,
        candidates=candidates,
    )
    left = deadline - time.perf_counter()
    mended = connect(
        model, pair_choice(model, loose), seconds=CONNECT_SHARE * left, settings=settings
    )
    best = v0
    if mended is not None and model.objective_value(mended) < model.objective_value(v0):
        best = mended
    log.info(
        "contiguous search: %.6g without contiguity, %s mended (%.1f s)",
        free.objective_value(loose),
        "none" if mended is None else f"{model.objective_value(mended):.6g}",
        time.perf_counter() - t0,
    )
    left = deadline - time.perf_counter()
    if left <= 0:
        return best
    return large_neighbourhood_search(
        model, best, seconds=left, settings=settings, candidates=candidates, on_improve=on_improve
    )
