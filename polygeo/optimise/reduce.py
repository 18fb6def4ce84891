"""Pre-solve reductions: pairs and sites that can never be part of a plan.

Reductions that never change the optimum:

1. forbidden sites, sites with no capital option and options whose capacity is
   below the minimum population are set aside (:class:`~.inputs.Inputs`);
2. a site whose reachable population (the areas within its travel limit) is
   below ``min_population`` can never open: it and its pairs are dropped
   (with ``within_group``: per group; with ``contiguous``: only the areas
   connected to the site's home area within its reach count), repeated to a
   fixed point, since dropping pairs can lower other sites' reach;
3. an area with exactly one viable site is fixed to it, and that site must open
   (see :func:`single_site_pairs`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from polygeo.optimise.inputs import Inputs

_TOL = 1e-6


@dataclass
class Reduction:
    """What the reductions keep.

    Attributes
    ----------
    alive0
        Per input pair: its site may open at all (not forbidden, has an option).
    alive
        Per input pair: kept after the fixed point.
    viable
        Per site: some pair of it is kept.
    reach0
        Per site: population within its travel limit (every pair counted).
    rounds
        Rounds of the fixed point.
    """

    alive0: np.ndarray
    alive: np.ndarray
    viable: np.ndarray
    reach0: np.ndarray
    rounds: int


def _drop_small(inp: Inputs, alive: np.ndarray) -> None:
    """Drop (in place) the pairs of sites, or site-groups, below the minimum."""
    pa, ps, pop, m = inp.pa, inp.ps, inp.population, inp.n_sites
    p_min = inp.rules.min_population
    if inp.group is not None:
        G = len(inp.group_names)
        k = ps * G + inp.group[pa]
        reach = np.bincount(k[alive], weights=pop[pa[alive]], minlength=m * G)
        alive &= reach[k] >= p_min - _TOL
    else:
        reach = np.bincount(ps[alive], weights=pop[pa[alive]], minlength=m)
        alive &= reach[ps] >= p_min - _TOL


def _drop_unconnected(inp: Inputs, alive: np.ndarray) -> None:
    """Drop (in place) the pairs not connected to their site's home area."""
    from polygeo.optimise.contiguity import pair_components

    pa, ps = inp.pa, inp.ps
    idx = np.flatnonzero(alive)
    labels = pair_components(pa[idx], ps[idx], inp.adjacency, group=inp.group)
    is_home = pa[idx] == inp.home[ps[idx]]
    home_label = np.full(inp.n_sites, -1, dtype=np.int64)
    home_label[ps[idx][is_home]] = labels[is_home]
    keep = labels == home_label[ps[idx]]
    alive[idx[~keep]] = False


def reduce_pairs(inp: Inputs) -> Reduction:
    """Drop, to a fixed point, the pairs of sites that can never open.

    Parameters
    ----------
    inp
        From :func:`~polygeo.optimise.inputs.read_inputs`.

    Returns
    -------
    Reduction
    """
    rules = inp.rules
    alive0 = inp.site_ok[inp.ps]
    reach0 = np.bincount(inp.ps, weights=inp.population[inp.pa], minlength=inp.n_sites)
    alive = alive0.copy()
    rounds = 0
    while True:
        rounds += 1
        before = int(alive.sum())
        if rules.min_population > 0:
            _drop_small(inp, alive)
        if rules.contiguous and alive.any():
            _drop_unconnected(inp, alive)
        if int(alive.sum()) == before:
            break
    viable = np.bincount(inp.ps[alive], minlength=inp.n_sites) > 0
    return Reduction(alive0=alive0, alive=alive, viable=viable, reach0=reach0, rounds=rounds)


def single_site_pairs(pair_area: np.ndarray, n_areas: int) -> np.ndarray:
    """Per pair: its area has no other pair (the area is fixed, the site must open)."""
    return np.bincount(pair_area, minlength=n_areas)[pair_area] == 1
