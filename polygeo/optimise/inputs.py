"""The inputs as arrays: validated frames turned into ids, populations and pairs.

:func:`read_inputs` checks the areas, sites and travel table against the rules
and the capital options, raising :class:`~polygeo.errors.InputError` on bad
input, and returns the flat numpy arrays every later step works on
(:mod:`.reduce` drops what can never be used, :mod:`.diagnose` explains it,
:mod:`.problem` assembles the result).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from polygeo.errors import InputError
from polygeo.optimise.kinds import Quota, kind_quotas
from polygeo.optimise.rules import Rules, _closest, check_options

_TOL = 1e-6


@dataclass
class Inputs:
    """Validated inputs, as arrays (positions are frame rows).

    Attributes
    ----------
    pa, ps, pt
        Every pair of the travel table: area row, site row, minutes.
    opts
        The checked capital options frame; ``opt_site_all`` / ``opt_cap_all`` its
        site rows and capacities (inf = unlimited, capped by ``max_population``);
        ``opt_ok`` the options that can hold ``min_population``.
    home
        Home area row per site (contiguity: the area holding the site, else its
        nearest reachable area), ``-1`` when unused.
    quotas
        "At least n of these sites open" from ``min_hubs_by_kind`` and
        ``kind_in_every_group`` (see :mod:`.kinds`).
    """

    rules: Rules
    area_ids: np.ndarray
    population: np.ndarray
    group: np.ndarray | None
    group_names: np.ndarray | None
    site_ids: np.ndarray
    required: np.ndarray
    forbidden: np.ndarray
    opts: pd.DataFrame
    opt_site_all: np.ndarray
    opt_cap_all: np.ndarray
    opt_ok: np.ndarray
    has_option: np.ndarray
    has_ok_option: np.ndarray
    pa: np.ndarray
    ps: np.ndarray
    pt: np.ndarray
    adjacency: Any
    home: np.ndarray
    quotas: list[Quota] = field(default_factory=list)

    @property
    def n_areas(self) -> int:
        return len(self.area_ids)

    @property
    def n_sites(self) -> int:
        return len(self.site_ids)

    @property
    def site_ok(self) -> np.ndarray:
        """Sites not forbidden and with an option that can hold the minimum."""
        return ~self.forbidden & self.has_ok_option


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


def limit_minutes(
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


def site_xy(sites: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
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


def _check_frames(areas: pd.DataFrame, sites: pd.DataFrame, travel: pd.DataFrame) -> None:
    for frame, name, cols in (
        (areas, "areas", ("area_id", "population")),
        (sites, "sites", ("site_id",)),
        (travel, "travel table", ("area_id", "site_id", "minutes")),
    ):
        missing = [c for c in cols if c not in frame]
        if missing:
            raise InputError(f"the {name} frame lacks columns {', '.join(missing)}.")


def _populations(areas: pd.DataFrame, area_ids: np.ndarray) -> np.ndarray:
    pop = pd.to_numeric(areas["population"], errors="coerce").to_numpy(dtype=float)
    if not np.isfinite(pop).all() or (pop < 0).any():
        bad = area_ids[~np.isfinite(pop) | (pop < 0)]
        raise InputError(
            f"populations must be numbers >= 0; bad for areas {', '.join(map(str, bad[:5]))}."
        )
    return pop


def _groups(areas: pd.DataFrame, rules: Rules) -> tuple[np.ndarray | None, np.ndarray | None]:
    if not rules.within_group:
        return None, None
    if "group" not in areas:
        raise InputError(
            "within_group needs a 'group' column in the areas (load them with group = "
            '"LAD11NM" or another borough / PCT column).'
        )
    codes, uniques = pd.factorize(areas["group"].astype(object), use_na_sentinel=False)
    return codes.astype(np.int64), np.asarray(uniques, dtype=object)


def _pairs(
    travel: pd.DataFrame, area_ids: np.ndarray, site_ids: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pa = _codes(travel["area_id"], area_ids, "area_id")
    ps = _codes(travel["site_id"], site_ids, "site_id")
    pt = pd.to_numeric(travel["minutes"], errors="coerce").to_numpy(dtype=float)
    if len(pt) and (not np.isfinite(pt).all() or (pt < 0).any()):
        raise InputError("travel minutes must be finite numbers >= 0.")
    key = pa * max(len(site_ids), 1) + ps
    if len(np.unique(key)) != len(key):
        raise InputError("the travel table lists some (area, site) pairs more than once.")
    return pa, ps, pt


def _contiguity(
    areas: pd.DataFrame, sites: pd.DataFrame, adjacency: Any, pairs: tuple, rules: Rules
) -> tuple[Any, np.ndarray]:
    """Area adjacency and each site's home area (contiguity only)."""
    n, m = len(areas), len(sites)
    home = np.full(m, -1, dtype=np.int64)
    if not rules.contiguous:
        return None, home
    from polygeo.optimise.contiguity import adjacency_from_polygons, check_adjacency, home_areas

    adj = adjacency_from_polygons(areas) if adjacency is None else check_adjacency(adjacency, n)
    if "geometry" in areas and "geometry" in sites:
        home = home_areas(areas, sites)
    # a site without its home area among its pairs falls back to its nearest reachable area
    pa, ps, pt = pairs
    first_pair = np.full(m, -1, dtype=np.int64)
    has_home = np.zeros(m, dtype=bool)
    if len(pa):
        order = np.lexsort((pt, ps))
        uniq, first = np.unique(ps[order], return_index=True)
        first_pair[uniq] = order[first]
        has_home[ps[home[ps] == pa]] = True
    fallback = ~has_home & (first_pair >= 0)
    home[fallback] = pa[first_pair[fallback]]
    return adj, home


def _quotas(areas: pd.DataFrame, sites: pd.DataFrame, rules: Rules) -> list[Quota]:
    """The quotas of ``min_hubs_by_kind`` and ``kind_in_every_group``."""
    if not rules.min_hubs_by_kind and rules.kind_in_every_group is None:
        return []
    kinds = _str_col(sites, "kind").astype(str)
    present = sorted(set(kinds.tolist()))
    asked = list(rules.min_hubs_by_kind)
    asked += [rules.kind_in_every_group] if rules.kind_in_every_group is not None else []
    for kind in asked:
        if kind not in present:
            raise InputError(
                f"rules: no site has kind {kind!r} (min_hubs_by_kind / kind_in_every_group); "
                f"kinds present: {', '.join(present)}." + _closest(kind, present)
            )
    area_group = None
    if rules.kind_in_every_group is not None:
        if "group" not in areas:
            raise InputError(
                "kind_in_every_group needs a 'group' column in the areas (load them with "
                'group = "LAD11NM" or another borough / PCT column).'
            )
        area_group = areas["group"].astype(str).to_numpy(dtype=object)
    return kind_quotas(rules.min_hubs_by_kind, rules.kind_in_every_group, kinds, area_group)


def read_inputs(
    areas: pd.DataFrame,
    sites: pd.DataFrame,
    travel: pd.DataFrame,
    rules: Rules,
    *,
    options: pd.DataFrame | None = None,
    adjacency: Any = None,
) -> Inputs:
    """Check the inputs and turn them into arrays.

    Parameters
    ----------
    areas, sites, travel
        The frames of docs/architecture.md.
    rules
        The rules.
    options
        Capital options; default ``reuse`` at cost 0 for every site.
    adjacency
        Area adjacency for ``rules.contiguous`` (default: queen adjacency of the
        polygons).

    Returns
    -------
    Inputs

    Raises
    ------
    InputError
        A missing column, duplicate id, bad number or unknown id.
    """
    if not isinstance(rules, Rules):
        raise InputError(f"rules must be a polygeo.optimise.Rules, got {type(rules).__name__}.")
    _check_frames(areas, sites, travel)
    area_ids = areas["area_id"].astype(str).to_numpy(dtype=object)
    site_ids = sites["site_id"].astype(str).to_numpy(dtype=object)
    if len(set(area_ids)) != len(area_ids):
        raise InputError("area_id values must be unique in the areas frame.")
    if len(set(site_ids)) != len(site_ids):
        raise InputError("site_id values must be unique in the sites frame.")
    pop = _populations(areas, area_ids)
    group, group_names = _groups(areas, rules)
    required = _check_ids(rules.required_sites, site_ids, "required_sites")
    forbidden = _check_ids(rules.forbidden_sites, site_ids, "forbidden_sites")
    opts = check_options(options, sites)
    pa, ps, pt = _pairs(travel, area_ids, site_ids)
    adj, home = _contiguity(areas, sites, adjacency, (pa, ps, pt), rules)

    # options per site, capped by max_population; those below the minimum cannot be used
    m = len(site_ids)
    opt_site_all = pd.Index(site_ids).get_indexer(opts["site_id"].to_numpy(dtype=object))
    opt_cap_all = opts["capacity"].to_numpy(dtype=float)
    opt_cap_all = np.where(np.isnan(opt_cap_all), np.inf, opt_cap_all)
    if rules.max_population is not None:
        opt_cap_all = np.minimum(opt_cap_all, rules.max_population)
    opt_ok = opt_cap_all >= rules.min_population - _TOL
    return Inputs(
        rules=rules,
        area_ids=area_ids,
        population=pop,
        group=group,
        group_names=group_names,
        site_ids=site_ids,
        required=required,
        forbidden=forbidden,
        opts=opts,
        opt_site_all=opt_site_all,
        opt_cap_all=opt_cap_all,
        opt_ok=opt_ok,
        has_option=np.bincount(opt_site_all, minlength=m) > 0,
        has_ok_option=np.bincount(opt_site_all[opt_ok], minlength=m) > 0,
        pa=pa,
        ps=ps,
        pt=pt,
        adjacency=adj,
        home=home,
        quotas=_quotas(areas, sites, rules),
    )
