"""The optimisation problem as arrays: validated inputs after the reductions.

:func:`build_problem` runs the three pre-solve steps and assembles their
results into one :class:`Problem`:

1. :func:`~polygeo.optimise.inputs.read_inputs` checks the frames and turns them
   into arrays;
2. :func:`~polygeo.optimise.reduce.reduce_pairs` drops the pairs and sites that
   can never be part of a plan (see :mod:`.reduce`);
3. :func:`~polygeo.optimise.diagnose.diagnose_inputs` names every certain
   infeasibility and finds the exception pairs.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from polygeo.optimise.diagnose import EXCEPTION_CANDIDATES, Diagnosis, diagnose_inputs
from polygeo.optimise.inputs import Inputs, read_inputs, site_xy
from polygeo.optimise.kinds import Quota
from polygeo.optimise.reduce import Reduction, reduce_pairs, single_site_pairs
from polygeo.optimise.rules import Rules

log = logging.getLogger("polygeo")

__all__ = ["EXCEPTION_CANDIDATES", "Problem", "build_problem", "restrict_problem"]


@dataclass
class Problem:
    """Validated inputs and reductions, as arrays (positions are frame rows).

    Attributes
    ----------
    area_ids, population, group
        Per area: id, population, group code (``None`` without groups).
    site_ids, site_x, site_y, site_name, site_kind
        Per site.
    pair_area, pair_site, pair_minutes, pair_exception, pair_fixed
        The usable pairs (after reductions), exceptions included.
    opt_site, opt_name, opt_cost, opt_cap
        Capital options of the viable sites (``opt_cap`` inf = unlimited; already
        capped by ``max_population``).
    viable, required, forced
        Per site: may open; must open by rule; must open because an area has no
        other site.
    home
        Home area row per site (contiguity), ``-1`` when unused.
    adjacency
        Area adjacency (contiguity) or ``None``.
    quotas
        "At least n of these sites open" (``min_hubs_by_kind``,
        ``kind_in_every_group``; see :mod:`.kinds`).
    diagnosis
        The pre-solve diagnosis.
    stats
        Sizes before / after reductions and timings.
    """

    rules: Rules
    area_ids: np.ndarray
    population: np.ndarray
    group: np.ndarray | None
    group_names: np.ndarray | None
    site_ids: np.ndarray
    site_x: np.ndarray
    site_y: np.ndarray
    site_name: np.ndarray
    site_kind: np.ndarray
    pair_area: np.ndarray
    pair_site: np.ndarray
    pair_minutes: np.ndarray
    pair_exception: np.ndarray
    pair_fixed: np.ndarray
    opt_site: np.ndarray
    opt_name: np.ndarray
    opt_cost: np.ndarray
    opt_cap: np.ndarray
    viable: np.ndarray
    required: np.ndarray
    forced: np.ndarray
    home: np.ndarray
    adjacency: Any
    diagnosis: Diagnosis
    crs: str | None = None
    stats: dict[str, Any] = field(default_factory=dict)
    quotas: list[Quota] = field(default_factory=list)

    @property
    def n_areas(self) -> int:
        return len(self.area_ids)

    @property
    def n_sites(self) -> int:
        return len(self.site_ids)

    @property
    def must_open(self) -> np.ndarray:
        """Sites that must open (required by rule, or forced by a fixed area)."""
        return self.required | self.forced


def _str_col(frame: pd.DataFrame, name: str) -> np.ndarray:
    if name in frame:
        return frame[name].astype(object).where(frame[name].notna(), None).to_numpy(dtype=object)
    return np.full(len(frame), None, dtype=object)


def build_problem(
    areas: pd.DataFrame,
    sites: pd.DataFrame,
    travel: pd.DataFrame,
    rules: Rules,
    *,
    options: pd.DataFrame | None = None,
    far_times: Callable[..., pd.DataFrame] | None = None,
    adjacency: Any = None,
    limit: Any = None,
    reduce: bool = True,
) -> Problem:
    """Validate the inputs, reduce the problem and diagnose it.

    Parameters
    ----------
    areas, sites, travel
        The frames of docs/architecture.md.
    rules
        The rules.
    options
        Capital options; default ``reuse`` at cost 0 for every site.
    far_times
        Travel times with no limit, for unserved areas (see
        :func:`~polygeo.optimise.diagnose.diagnose`).
    adjacency
        Area adjacency for ``rules.contiguous`` (default: queen adjacency of the
        polygons).
    limit
        The travel limit, for reporting only.
    reduce
        Apply the reductions to the pairs handed to the model (the diagnosis
        always computes them). ``False`` is for measuring what they save.

    Returns
    -------
    Problem
    """
    t0 = time.perf_counter()
    inp = read_inputs(areas, sites, travel, rules, options=options, adjacency=adjacency)
    red = reduce_pairs(inp)
    diagnosis, exceptions = diagnose_inputs(
        inp, red, (areas, sites, travel), far_times=far_times, limit=limit
    )
    n, m = inp.n_areas, inp.n_sites
    pa, ps, pt = inp.pa, inp.ps, inp.pt

    # -- the pairs handed to the model ---------------------------------------------------
    keep_idx = np.flatnonzero(red.alive if reduce else red.alive0)
    pair_area = pa[keep_idx]
    pair_site = ps[keep_idx]
    pair_minutes = pt[keep_idx]
    pair_exc = np.zeros(len(keep_idx), dtype=bool)
    if rules.allow_exceptions and len(exceptions.area):
        pair_area = np.concatenate([pair_area, exceptions.area])
        pair_site = np.concatenate([pair_site, exceptions.site])
        pair_minutes = np.concatenate([pair_minutes, exceptions.minutes])
        pair_exc = np.concatenate([pair_exc, np.ones(len(exceptions.area), dtype=bool)])
    model_sites = np.bincount(pair_site, minlength=m) > 0
    forced = np.zeros(m, dtype=bool)
    if reduce:
        model_sites &= red.viable
        pair_fixed = single_site_pairs(pair_area, n)
        forced[pair_site[pair_fixed]] = True
        forced &= ~inp.required
    else:
        pair_fixed = np.zeros(len(pair_area), dtype=bool)
    # options of the sites the model sees
    opt_site_all = inp.opt_site_all
    opt_keep = inp.opt_ok & model_sites[np.where(opt_site_all >= 0, opt_site_all, 0)]
    oidx = np.flatnonzero(opt_keep)
    oidx = oidx[np.argsort(opt_site_all[oidx], kind="stable")]

    sx, sy = site_xy(sites)
    crs = None
    if getattr(areas, "crs", None) is not None:
        crs = areas.crs.to_string()
    stats = _stats(inp, red, pair_area, pair_fixed, pair_exc, model_sites, forced, reduce)
    stats["presolve_seconds"] = time.perf_counter() - t0
    counts = (n, m, stats["sites_viable"], stats["pairs"], stats["pairs_in"], stats["areas_fixed"])
    log.info(
        "problem: %s areas, %s sites (%s viable), %s of %s pairs kept, %s areas fixed (%.2f s)",
        *(f"{count:,}" for count in counts),
        stats["presolve_seconds"],
    )
    return Problem(
        rules=rules,
        area_ids=inp.area_ids,
        population=inp.population,
        group=inp.group,
        group_names=inp.group_names,
        site_ids=inp.site_ids,
        site_x=sx,
        site_y=sy,
        site_name=_str_col(sites, "name"),
        site_kind=_str_col(sites, "kind"),
        pair_area=pair_area.astype(np.int64),
        pair_site=pair_site.astype(np.int64),
        pair_minutes=pair_minutes.astype(float),
        pair_exception=pair_exc,
        pair_fixed=pair_fixed,
        opt_site=opt_site_all[oidx].astype(np.int64),
        opt_name=inp.opts["option"].to_numpy(dtype=object)[oidx],
        opt_cost=inp.opts["capital_cost"].to_numpy(dtype=float)[oidx],
        opt_cap=inp.opt_cap_all[oidx],
        viable=red.viable,
        required=inp.required & red.viable,
        forced=forced,
        home=inp.home,
        adjacency=inp.adjacency,
        diagnosis=diagnosis,
        crs=crs,
        stats=stats,
        quotas=list(inp.quotas),
    )


def _stats(
    inp: Inputs,
    red: Reduction,
    pair_area: np.ndarray,
    pair_fixed: np.ndarray,
    pair_exc: np.ndarray,
    model_sites: np.ndarray,
    forced: np.ndarray,
    reduce: bool,
) -> dict[str, Any]:
    return {
        "areas": inp.n_areas,
        "sites": inp.n_sites,
        "pairs_in": len(inp.pa),
        "pairs": len(pair_area),
        "pairs_dropped": int(len(inp.pa) - red.alive.sum()),
        "sites_viable": int(red.viable.sum()),
        "sites_in_model": int(model_sites.sum()),
        "areas_fixed": int(np.unique(pair_area[pair_fixed]).size),
        "sites_forced": int(forced.sum()),
        "exception_pairs": int(pair_exc.sum()),
        "reduction_rounds": red.rounds,
        "reduce": reduce,
    }


def restrict_problem(problem: Problem, keep_pairs: np.ndarray, keep_options: np.ndarray) -> Problem:
    """The problem with only the kept pairs and options (areas and sites unchanged)."""
    p = problem
    k = np.flatnonzero(keep_pairs)
    pair_area = p.pair_area[k]
    if p.stats.get("reduce", True):
        pair_fixed = single_site_pairs(pair_area, p.n_areas)
    else:
        pair_fixed = np.zeros(len(k), dtype=bool)
    forced = np.zeros(p.n_sites, dtype=bool)
    forced[p.pair_site[k][pair_fixed]] = True
    forced &= ~p.required
    o = np.flatnonzero(keep_options)
    stats = dict(p.stats)
    stats["pairs_after_fixing"] = len(k)
    return dataclasses.replace(
        p,
        pair_area=pair_area,
        pair_site=p.pair_site[k],
        pair_minutes=p.pair_minutes[k],
        pair_exception=p.pair_exception[k],
        pair_fixed=pair_fixed,
        opt_site=p.opt_site[o],
        opt_name=p.opt_name[o],
        opt_cost=p.opt_cost[o],
        opt_cap=p.opt_cap[o],
        forced=forced | (p.forced & np.isin(np.arange(p.n_sites), p.opt_site[o])),
        stats=stats,
    )


def piece_problem(
    problem: Problem,
    keep_pairs: np.ndarray,
    keep_options: np.ndarray,
    *,
    rules: Rules,
    offered: np.ndarray,
    quotas: Any,
) -> Problem:
    """A piece of a plan re-planned with the rest fixed (neighbourhood search, repair).

    :func:`restrict_problem`, with the rules left for the piece (hub count and budget
    less what the fixed hubs use), the required sites among those ``offered`` (a
    mask of sites), and the quotas left (:func:`~polygeo.optimise.kinds.quotas_left`).
    """
    required = problem.required & offered
    sub = restrict_problem(problem, keep_pairs, keep_options)
    return dataclasses.replace(
        sub, rules=rules, required=required, forced=sub.forced & ~required, stats={}, quotas=quotas
    )
