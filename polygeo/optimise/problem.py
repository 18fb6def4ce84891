"""The optimisation problem as arrays: validated inputs and pre-solve reductions.

:func:`build_problem` turns the areas, sites, travel table, rules and capital
options into flat numpy arrays (areas, sites, the usable (area, site) pairs,
the options of the viable sites) and applies reductions that never change the
optimum:

1. forbidden sites, sites with no capital option and options whose capacity is
   below the minimum population are removed;
2. a site whose reachable population (the areas within its travel limit) is
   below ``min_population`` can never open: it and its pairs are dropped
   (with ``within_group``: per group; with ``contiguous``: only the areas
   connected to the site's home area within its reach count), repeated to a
   fixed point, since dropping pairs lowers other reaches only through fixed
   areas... and areas left with fewer sites;
3. an area with exactly one viable site is fixed to it, and that site must open.

It also assembles the :class:`~polygeo.optimise.diagnose.Diagnosis`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from polygeo.errors import InputError
from polygeo.optimise.diagnose import UNSERVED_COLUMNS, UNVIABLE_COLUMNS, Diagnosis
from polygeo.optimise.rules import Rules, _closest, check_options

log = logging.getLogger("polygeo")

#: How many of the nearest viable sites an exception area may be assigned to.
EXCEPTION_CANDIDATES = 3

_TOL = 1e-6


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


# -- input reading ------------------------------------------------------------------------
def _codes(col: pd.Series, ids: np.ndarray, what: str) -> np.ndarray:
    """Row positions of a travel-table id column, using the categorical codes when valid."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        cats = col.cat.categories
        if len(cats) == len(ids) and np.array_equal(cats.astype(str).to_numpy(dtype=object), ids):
            codes = col.cat.codes.to_numpy()
            if (codes < 0).any():
                raise InputError(f"the travel table has missing {what} values.")
            return codes.astype(np.int64)
    values = col.astype(str).to_numpy(dtype=object)
    index = pd.Index(ids)
    pos = index.get_indexer(values)
    if (pos < 0).any():
        bad = pd.unique(values[pos < 0])
        raise InputError(
            f"the travel table names {len(bad)} unknown {what} values, e.g. "
            f"{', '.join(map(str, bad[:5]))}; build it from the same areas and sites frames."
        )
    return pos.astype(np.int64)


def _limit_minutes(
    limit: Any, travel: pd.DataFrame, areas: pd.DataFrame, sites: pd.DataFrame
) -> np.ndarray:
    """Each area's travel limit in minutes (its largest), NaN when unknown."""
    if limit is None:
        limit = travel.attrs.get("limit") if hasattr(travel, "attrs") else None
    n = len(areas)
    if limit is None:
        return np.full(n, np.nan)
    if isinstance(limit, int | float) and not isinstance(limit, bool):
        return np.full(n, float(limit))
    if hasattr(limit, "area_max_minutes"):
        try:
            return np.asarray(limit.area_max_minutes(areas, sites), dtype=float)
        except Exception:  # a limit we cannot evaluate here: fall back to the global value
            pass
    if hasattr(limit, "minutes"):
        return np.full(n, float(limit.minutes))
    return np.full(n, np.nan)


def _site_xy(sites: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    if "geometry" in sites:
        import shapely

        geoms = np.asarray(sites.geometry.values, dtype=object)
        if len(geoms):
            pts = shapely.point_on_surface(geoms)
            return shapely.get_x(pts).astype(float), shapely.get_y(pts).astype(float)
        return np.zeros(0), np.zeros(0)
    if {"x", "y"} <= set(sites.columns):
        return sites["x"].to_numpy(dtype=float), sites["y"].to_numpy(dtype=float)
    return np.full(len(sites), np.nan), np.full(len(sites), np.nan)


def _str_col(frame: pd.DataFrame, name: str) -> np.ndarray:
    if name in frame:
        return frame[name].astype(object).where(frame[name].notna(), None).to_numpy(dtype=object)
    return np.full(len(frame), None, dtype=object)


def _check_ids(ids: tuple[str, ...], known: np.ndarray, key: str) -> np.ndarray:
    known_set = set(known.tolist())
    unknown = [s for s in ids if s not in known_set]
    if unknown:
        raise InputError(
            f"rules: {key} names unknown site ids: {', '.join(unknown[:5])}"
            + (" ..." if len(unknown) > 5 else "")
            + "."
            + _closest(unknown[0], known_set)
        )
    mask = np.zeros(len(known), dtype=bool)
    if ids:
        mask[pd.Index(known).get_indexer(list(ids))] = True
    return mask


# -- the build ----------------------------------------------------------------------------
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
        Travel times with no limit, for unserved areas (see :func:`diagnose`).
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
    if not isinstance(rules, Rules):
        raise InputError(f"rules must be a polygeo.optimise.Rules, got {type(rules).__name__}.")
    for frame, name, cols in (
        (areas, "areas", ("area_id", "population")),
        (sites, "sites", ("site_id",)),
        (travel, "travel table", ("area_id", "site_id", "minutes")),
    ):
        missing = [c for c in cols if c not in frame]
        if missing:
            raise InputError(f"the {name} frame lacks columns {', '.join(missing)}.")
    area_ids = areas["area_id"].astype(str).to_numpy(dtype=object)
    site_ids = sites["site_id"].astype(str).to_numpy(dtype=object)
    if len(set(area_ids)) != len(area_ids):
        raise InputError("area_id values must be unique in the areas frame.")
    if len(set(site_ids)) != len(site_ids):
        raise InputError("site_id values must be unique in the sites frame.")
    pop = pd.to_numeric(areas["population"], errors="coerce").to_numpy(dtype=float)
    if not np.isfinite(pop).all() or (pop < 0).any():
        bad = area_ids[~np.isfinite(pop) | (pop < 0)]
        raise InputError(
            f"populations must be numbers >= 0; bad for areas {', '.join(map(str, bad[:5]))}."
        )
    n, m = len(area_ids), len(site_ids)

    group = group_names = None
    if rules.within_group:
        if "group" not in areas:
            raise InputError(
                "within_group needs a 'group' column in the areas (load them with group = "
                '"LAD11NM" or another borough / PCT column).'
            )
        codes, uniques = pd.factorize(areas["group"].astype(object), use_na_sentinel=False)
        group, group_names = codes.astype(np.int64), np.asarray(uniques, dtype=object)

    required = _check_ids(rules.required_sites, site_ids, "required_sites")
    forbidden = _check_ids(rules.forbidden_sites, site_ids, "forbidden_sites")
    opts = check_options(options, sites)

    pa = _codes(travel["area_id"], area_ids, "area_id")
    ps = _codes(travel["site_id"], site_ids, "site_id")
    pt = pd.to_numeric(travel["minutes"], errors="coerce").to_numpy(dtype=float)
    if len(pt) and (not np.isfinite(pt).all() or (pt < 0).any()):
        raise InputError("travel minutes must be finite numbers >= 0.")
    key = pa * max(m, 1) + ps
    if len(np.unique(key)) != len(key):
        raise InputError("the travel table lists some (area, site) pairs more than once.")

    adj = None
    home = np.full(m, -1, dtype=np.int64)
    if rules.contiguous:
        from polygeo.optimise.contiguity import (
            adjacency_from_polygons,
            check_adjacency,
            home_areas,
        )

        adj = adjacency_from_polygons(areas) if adjacency is None else check_adjacency(adjacency, n)
        if "geometry" in areas and "geometry" in sites:
            home = home_areas(areas, sites)

    # options per site, capped by max_population; drop those below the minimum
    opt_site_all = pd.Index(site_ids).get_indexer(opts["site_id"].to_numpy(dtype=object))
    opt_cap_all = opts["capacity"].to_numpy(dtype=float)
    opt_cap_all = np.where(np.isnan(opt_cap_all), np.inf, opt_cap_all)
    if rules.max_population is not None:
        opt_cap_all = np.minimum(opt_cap_all, rules.max_population)
    p_min = rules.min_population
    opt_ok = opt_cap_all >= p_min - _TOL
    has_option = np.bincount(opt_site_all, minlength=m) > 0
    has_ok_option = np.bincount(opt_site_all[opt_ok], minlength=m) > 0

    reason = np.full(m, None, dtype=object)
    reason[forbidden] = "forbidden by the rules"
    reason[~has_option & ~forbidden] = "has no capital option"
    small = has_option & ~has_ok_option & ~forbidden
    reason[small] = f"every capital option's capacity is below min_population {p_min:,.0f}"
    site_ok = ~forbidden & has_ok_option

    # reachable population within the limit (after the forbidden) -- reported
    alive0 = site_ok[ps]
    reach0 = np.bincount(ps, weights=pop[pa], minlength=m)

    # contiguity: the home pair of each site; fall back to its nearest reachable area
    if rules.contiguous:
        first_pair = np.full(m, -1, dtype=np.int64)
        if len(pa):
            order = np.lexsort((pt, ps))
            sidx = ps[order]
            uniq, first = np.unique(sidx, return_index=True)
            first_pair[uniq] = order[first]
        has_home = np.zeros(m, dtype=bool)
        if len(pa):
            home_key = home[ps] == pa
            has_home[ps[home_key]] = True
        fallback = ~has_home & (first_pair >= 0)
        home[fallback] = pa[first_pair[fallback]]

    # -- fixed point: drop sites that cannot reach the minimum ---------------------------
    alive = alive0.copy()
    rounds = 0
    while True:
        rounds += 1
        before = int(alive.sum())
        if p_min > 0:
            if group is not None:
                G = len(group_names)
                k = ps * G + group[pa]
                reach = np.bincount(k[alive], weights=pop[pa[alive]], minlength=m * G)
                alive &= reach[k] >= p_min - _TOL
            else:
                reach = np.bincount(ps[alive], weights=pop[pa[alive]], minlength=m)
                alive &= reach[ps] >= p_min - _TOL
        if rules.contiguous and alive.any():
            from polygeo.optimise.contiguity import pair_components

            idx = np.flatnonzero(alive)
            labels = pair_components(pa[idx], ps[idx], adj, group=group)
            is_home = pa[idx] == home[ps[idx]]
            home_label = np.full(m, -1, dtype=np.int64)
            home_label[ps[idx][is_home]] = labels[is_home]
            keep = labels == home_label[ps[idx]]
            alive[idx[~keep]] = False
        if int(alive.sum()) == before:
            break
    viable = np.bincount(ps[alive], minlength=m) > 0
    lost = site_ok & ~viable
    if rules.within_group:
        why = (
            "reaches {:,.0f} people within the travel limit, "
            "but fewer than {:,.0f} in any one group"
        )
    else:
        why = "reaches only {:,.0f} people within the travel limit (min_population {:,.0f})"
    for j in np.flatnonzero(lost):
        if reach0[j] == 0:
            reason[j] = "no area within the travel limit"
        elif reach0[j] < p_min - _TOL or rules.within_group:
            reason[j] = why.format(reach0[j], p_min)
        else:
            reason[j] = (
                f"reaches {reach0[j]:,.0f} people within the limit, but too few remain "
                "once sites that cannot open"
                + (" and areas not connected to its home area" if rules.contiguous else "")
                + " are set aside"
            )
    unviable_idx = np.flatnonzero(~viable)
    sites_unviable = pd.DataFrame(
        {
            "site_id": pd.Series(site_ids[unviable_idx], dtype=object),
            "reachable_population": reach0[unviable_idx],
            "reason": pd.Series(reason[unviable_idx], dtype=object),
        },
        columns=UNVIABLE_COLUMNS,
    )

    # -- unserved areas ------------------------------------------------------------------
    served = np.bincount(pa[alive], minlength=n) > 0
    unserved = np.flatnonzero(~served)
    limit_min = _limit_minutes(limit, travel, areas, sites)
    viable_idx = np.flatnonzero(viable)
    nearest_site = np.full(len(unserved), None, dtype=object)
    nearest_min = np.full(len(unserved), np.nan)
    exc_a = np.zeros(0, dtype=np.int64)
    exc_s = np.zeros(0, dtype=np.int64)
    exc_t = np.zeros(0, dtype=float)
    conflicts: list[str] = []
    notes: list[str] = []
    if len(unserved) and len(viable_idx):
        far = None
        if far_times is not None:
            far = far_times(list(area_ids[unserved]), list(site_ids[viable_idx]))
            far = pd.DataFrame(far)
            fa = pd.Index(area_ids).get_indexer(far["area_id"].astype(str).to_numpy(dtype=object))
            fs = pd.Index(site_ids).get_indexer(far["site_id"].astype(str).to_numpy(dtype=object))
            ft = pd.to_numeric(far["minutes"], errors="coerce").to_numpy(dtype=float)
            ok = (fa >= 0) & (fs >= 0) & np.isfinite(ft)
            ok &= np.isin(fa, unserved) & viable[np.where(fs >= 0, fs, 0)]
            fa, fs, ft = fa[ok], fs[ok], ft[ok]
            order = np.lexsort((fs, ft, fa))
            fa, fs, ft = fa[order], fs[order], ft[order]
            rank = np.arange(len(fa)) - np.searchsorted(fa, fa)
            first = rank == 0
            pos = pd.Index(unserved).get_indexer(fa[first])
            nearest_site[pos] = site_ids[fs[first]]
            nearest_min[pos] = ft[first]
            pick = rank < EXCEPTION_CANDIDATES
            exc_a, exc_s, exc_t = fa[pick], fs[pick], ft[pick]
        elif {"origin_x", "origin_y"} <= set(areas.columns):
            sx, sy = _site_xy(sites)
            ox = areas["origin_x"].to_numpy(dtype=float)[unserved]
            oy = areas["origin_y"].to_numpy(dtype=float)[unserved]
            d2 = (ox[:, None] - sx[viable_idx][None, :]) ** 2 + (
                oy[:, None] - sy[viable_idx][None, :]
            ) ** 2
            nearest_site[:] = site_ids[viable_idx[np.argmin(d2, axis=1)]]
    areas_unserved = pd.DataFrame(
        {
            "area_id": pd.Series(area_ids[unserved], dtype=object),
            "population": pop[unserved],
            "nearest_site_id": pd.Series(nearest_site, dtype=object),
            "nearest_minutes": nearest_min,
            "limit_minutes": limit_min[unserved],
        },
        columns=UNSERVED_COLUMNS,
    )
    if len(unserved) and rules.allow_exceptions:
        if far_times is None:
            conflicts.append(
                f"{len(unserved)} areas need exceptions, but no far_times was given to find "
                "their nearest sites beyond the limit (pass far_times= to solve, as the "
                "pipeline does from the travel provider)"
            )
        elif len(viable_idx) == 0:
            pass  # reported below: no viable site
        else:
            lacking = np.setdiff1d(unserved, exc_a)
            if len(lacking):
                conflicts.append(
                    f"far_times gave no time to any viable site for {len(lacking)} unserved "
                    f"areas, e.g. {', '.join(map(str, area_ids[lacking[:5]]))}"
                )
            notes.append(
                f"{len(unserved)} areas become exceptions served beyond the limit, each from one "
                f"of its {EXCEPTION_CANDIDATES} nearest viable sites"
            )

    # -- conflicts -----------------------------------------------------------------------
    total = float(pop.sum())
    if rules.max_population is not None and rules.max_population < p_min:
        conflicts.append(
            f"max_population {rules.max_population:,.0f} is below min_population {p_min:,.0f}"
        )
    if n and p_min > 0 and total < p_min - _TOL:
        conflicts.append(
            f"the total population {total:,.0f} is below min_population {p_min:,.0f}: "
            "not even one hub can be filled"
        )
    both = np.flatnonzero(required & forbidden)
    for j in both:
        conflicts.append(f"site {site_ids[j]} is both required and forbidden")
    for j in np.flatnonzero(required & ~forbidden & ~viable):
        conflicts.append(f"required site {site_ids[j]} cannot open: {reason[j]}")
    if n and len(viable_idx) == 0:
        conflicts.append("no candidate site can open as a hub (see the sites that cannot open)")

    # areas with a single viable site fix that site open
    count = np.bincount(pa[alive], minlength=n)
    single = alive & (count[pa] == 1)
    forced = np.zeros(m, dtype=bool)
    forced[ps[single]] = True
    forced &= ~required
    must = (required & viable) | forced
    lo, hi = rules.hub_bounds
    n_must = int(((required & ~forbidden) | forced).sum())
    if hi is not None and n_must > hi:
        detail = []
        if required.any():
            detail.append(f"{int(required.sum())} required")
        if forced.any():
            examples = [
                f"{area_ids[pa[k]]} -> {site_ids[ps[k]]}" for k in np.flatnonzero(single)[:3]
            ]
            detail.append(
                f"{int(forced.sum())} that are the only viable site of some area "
                f"(e.g. {'; '.join(examples)})"
            )
        conflicts.append(
            f"{n_must} sites must open ({', '.join(detail)}) but at most {hi} hubs are allowed"
        )
    n_must_viable = int(must.sum())
    if p_min > 0 and n_must_viable * p_min > total + _TOL and (hi is None or n_must <= hi):
        conflicts.append(
            f"{n_must_viable} sites must open (required, or the only viable site of some area) "
            f"and each needs {p_min:,.0f} people: {n_must_viable * p_min:,.0f} in all, but the "
            f"total population is {total:,.0f}"
        )
    if lo is not None and lo > len(viable_idx) and len(viable_idx):
        conflicts.append(
            f"at least {lo} hubs are required but only {len(viable_idx)} sites can open"
        )
    if lo is not None and p_min > 0 and lo * p_min > total + _TOL:
        conflicts.append(
            f"at least {lo} hubs of at least {p_min:,.0f} people need {lo * p_min:,.0f} people, "
            f"but the total population is {total:,.0f}"
        )
    # capacity: open hubs must hold everyone
    opt_v = opt_ok & viable[np.where(opt_site_all >= 0, opt_site_all, 0)]
    site_cap = np.zeros(m)
    np.maximum.at(site_cap, opt_site_all[opt_v], opt_cap_all[opt_v])
    if len(viable_idx) and np.isfinite(site_cap[viable_idx]).all():
        caps = np.sort(site_cap[viable_idx])[::-1]
        room = caps.sum() if hi is None else caps[:hi].sum()
        if room < total - _TOL:
            conflicts.append(
                f"the viable sites can hold at most {room:,.0f} people"
                + (f" with at most {hi} hubs" if hi is not None else "")
                + f" (capacity / max_population), fewer than the total population {total:,.0f}"
            )
    # budget
    if rules.budget is not None and len(viable_idx):
        cheapest = np.full(m, np.inf)
        np.minimum.at(cheapest, opt_site_all[opt_v], opts["capital_cost"].to_numpy()[opt_v])
        must_cost = float(cheapest[must].sum()) if must.any() else 0.0
        if must_cost > rules.budget + _TOL:
            conflicts.append(
                f"the sites that must open ({int(must.sum())}) cost at least {must_cost:,.0f} "
                f"with their cheapest options, over the budget {rules.budget:,.0f}"
            )
        if lo is not None and lo > 0:
            need = max(lo, int(must.sum()))
            others = np.sort(cheapest[viable & ~must])
            least = must_cost + float(others[: max(need - int(must.sum()), 0)].sum())
            if least > rules.budget + _TOL and need > int(must.sum()):
                conflicts.append(
                    f"at least {lo} hubs cost at least {least:,.0f} with the cheapest options, "
                    f"over the budget {rules.budget:,.0f}"
                )
    if rules.within_group and len(unserved) and group is not None:
        gpop = np.bincount(group, weights=pop, minlength=len(group_names))
        small_groups = [
            str(group_names[g]) for g in np.unique(group[unserved]) if gpop[g] < p_min - _TOL
        ]
        if small_groups:
            notes.append(
                "within_group: groups with fewer people than min_population cannot hold a hub: "
                + ", ".join(small_groups[:10])
            )

    diagnosis = Diagnosis(
        areas_unserved=areas_unserved,
        sites_unviable=sites_unviable,
        conflicts=conflicts,
        exceptions=bool(rules.allow_exceptions),
        notes=notes,
    )

    # -- the pairs handed to the model ---------------------------------------------------
    keep_idx = np.flatnonzero(alive if reduce else alive0)
    pair_area = pa[keep_idx]
    pair_site = ps[keep_idx]
    pair_minutes = pt[keep_idx]
    pair_exc = np.zeros(len(keep_idx), dtype=bool)
    if rules.allow_exceptions and len(exc_a):
        pair_area = np.concatenate([pair_area, exc_a])
        pair_site = np.concatenate([pair_site, exc_s])
        pair_minutes = np.concatenate([pair_minutes, exc_t])
        pair_exc = np.concatenate([pair_exc, np.ones(len(exc_a), dtype=bool)])
    model_sites = np.bincount(pair_site, minlength=m) > 0
    forced = np.zeros(m, dtype=bool)
    if reduce:
        model_sites &= viable
        pair_fixed = np.bincount(pair_area, minlength=n)[pair_area] == 1
        forced[pair_site[pair_fixed]] = True
        forced &= ~required
    else:
        pair_fixed = np.zeros(len(pair_area), dtype=bool)
    # options of the sites the model sees
    opt_keep = opt_ok & model_sites[np.where(opt_site_all >= 0, opt_site_all, 0)]
    oidx = np.flatnonzero(opt_keep)
    oidx = oidx[np.argsort(opt_site_all[oidx], kind="stable")]

    sx, sy = _site_xy(sites)
    crs = None
    if getattr(areas, "crs", None) is not None:
        crs = areas.crs.to_string()
    stats = {
        "areas": n,
        "sites": m,
        "pairs_in": len(pa),
        "pairs": len(pair_area),
        "pairs_dropped": int(len(pa) - alive.sum()),
        "sites_viable": int(viable.sum()),
        "sites_in_model": int(model_sites.sum()),
        "areas_fixed": int(np.unique(pair_area[pair_fixed]).size),
        "sites_forced": int(forced.sum()),
        "exception_pairs": int(pair_exc.sum()),
        "reduction_rounds": rounds,
        "reduce": reduce,
        "presolve_seconds": time.perf_counter() - t0,
    }
    log.info(
        "problem: %d areas, %d sites (%d viable), %d of %d pairs kept, %d areas fixed (%.2f s)",
        n,
        m,
        stats["sites_viable"],
        stats["pairs"],
        stats["pairs_in"],
        stats["areas_fixed"],
        stats["presolve_seconds"],
    )
    return Problem(
        rules=rules,
        area_ids=area_ids,
        population=pop,
        group=group,
        group_names=group_names,
        site_ids=site_ids,
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
        opt_name=opts["option"].to_numpy(dtype=object)[oidx],
        opt_cost=opts["capital_cost"].to_numpy(dtype=float)[oidx],
        opt_cap=opt_cap_all[oidx],
        viable=viable,
        required=required & viable,
        forced=forced,
        home=home,
        adjacency=adj,
        diagnosis=diagnosis,
        crs=crs,
        stats=stats,
    )
