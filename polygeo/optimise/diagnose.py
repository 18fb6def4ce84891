"""Diagnosis of certain infeasibility, before any solve.

:func:`diagnose` looks at the inputs with vectorised array arithmetic (seconds
at London scale) and names what makes the rules impossible to meet:

* sites that cannot reach the minimum population within the travel limit
  (information: they can never open, so the optimiser drops them);
* areas that no viable site can serve within the limit, each with the nearest
  viable site and the minutes it would need;
* conflicts between budget, required hubs, hub counts and populations;
* hub-kind rules no viable site can meet (the group with no viable site of the
  kind is named).

Every finding lives here: :func:`diagnose_inputs` works on the arrays of
:mod:`.inputs` and :mod:`.reduce`; :func:`polygeo.optimise.problem.build_problem`
calls it, and :func:`polygeo.optimise.solve` raises
:class:`~polygeo.errors.InfeasibleError` carrying the :class:`Diagnosis`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from polygeo.errors import InfeasibleError
from polygeo.optimise.inputs import Inputs, limit_minutes, read_inputs, site_xy
from polygeo.optimise.kinds import quota_conflicts
from polygeo.optimise.reduce import Reduction, reduce_pairs
from polygeo.optimise.rules import Rules

#: How many of the nearest viable sites an exception area may be assigned to.
EXCEPTION_CANDIDATES = 8

#: With ``allow_exceptions``, areas that reach at most this many viable sites within
#: their limit may also be served beyond it: two areas of rural England, each reaching
#: two sites of the same 78,000 people, need two hubs there otherwise (see
#: :func:`_thin_exceptions`).
THIN_SITES = 3

_TOL = 1e-6

UNSERVED_COLUMNS = ["area_id", "population", "nearest_site_id", "nearest_minutes", "limit_minutes"]
UNVIABLE_COLUMNS = ["site_id", "reachable_population", "reason"]


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})


def _json(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item"):
        return _json(value.item())
    return value


@dataclass
class Diagnosis:
    """What makes a set of rules infeasible, found before solving.

    Attributes
    ----------
    areas_unserved
        ``area_id, population, nearest_site_id, nearest_minutes, limit_minutes``:
        areas that no viable site can serve within their travel limit.
        ``nearest_minutes`` is NaN when the travel provider could not be asked
        (no ``far_times``); the nearest site is then the nearest in a straight line.
    sites_unviable
        ``site_id, reachable_population, reason``: sites that can never open
        (information, not a conflict on its own).
    conflicts
        Readable sentences, one per certain infeasibility.
    exceptions
        True when the unserved areas become exceptions (``allow_exceptions``).
    notes
        Further information (reductions made, settings used).
    capital_lower_bound
        With a ``budget``: a proven lower bound on the capital of any plan that
        covers everyone (see :mod:`.cover_bound` and :mod:`.cheapest`), else ``None``.
    capital_cheapest_plan
        With a ``budget``, once :func:`~polygeo.optimise.cheapest.check_budget`
        ran: the capital of the cheapest plan it found meeting every rule but the
        budget (equal to ``capital_lower_bound`` when the cheapest capital is
        known exactly), else ``None``.
    """

    areas_unserved: pd.DataFrame = field(default_factory=lambda: _empty(UNSERVED_COLUMNS))
    sites_unviable: pd.DataFrame = field(default_factory=lambda: _empty(UNVIABLE_COLUMNS))
    conflicts: list[str] = field(default_factory=list)
    exceptions: bool = False
    notes: list[str] = field(default_factory=list)
    capital_lower_bound: float | None = None
    capital_cheapest_plan: float | None = None

    @property
    def infeasible(self) -> bool:
        """True when the rules certainly cannot be met."""
        return bool(self.conflicts) or (len(self.areas_unserved) > 0 and not self.exceptions)

    @property
    def ok(self) -> bool:
        """True when nothing certainly infeasible was found."""
        return not self.infeasible

    def format_text(self, *, max_rows: int = 20) -> str:
        """A readable report for a terminal."""
        lines: list[str] = []
        if self.infeasible:
            lines.append("The rules cannot be met:")
        else:
            lines.append("No certain infeasibility found.")
        for c in self.conflicts:
            lines.append(f"  - {c}")
        n = len(self.areas_unserved)
        if n:
            people = float(self.areas_unserved["population"].sum())
            verb = "are served as exceptions" if self.exceptions else "cannot be served"
            lines.append(
                f"{n} areas ({people:,.0f} people) {verb}: no viable hub site is within their "
                "travel limit."
            )
            for row in self.areas_unserved.head(max_rows).itertuples(index=False):
                near = (
                    "no viable site at all"
                    if row.nearest_site_id is None or pd.isna(row.nearest_site_id)
                    else f"nearest viable site {row.nearest_site_id}"
                    + (
                        " (minutes unknown: no travel provider to ask)"
                        if pd.isna(row.nearest_minutes)
                        else f" at {row.nearest_minutes:.1f} min"
                    )
                )
                limit = "" if pd.isna(row.limit_minutes) else f", limit {row.limit_minutes:g} min"
                lines.append(f"  - {row.area_id} ({row.population:,.0f} people): {near}{limit}")
            if n > max_rows:
                lines.append(f"  ... and {n - max_rows} more")
            if not self.exceptions:
                lines.append(
                    "  Fix: raise the travel limit for these areas, add candidate sites near them, "
                    "lower min_population, or set allow_exceptions = true."
                )
        m = len(self.sites_unviable)
        if m:
            lines.append(f"{m} candidate sites can never open (information):")
            for row in self.sites_unviable.head(max_rows).itertuples(index=False):
                lines.append(f"  - {row.site_id}: {row.reason}")
            if m > max_rows:
                lines.append(f"  ... and {m - max_rows} more")
        for note in self.notes:
            lines.append(f"note: {note}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""

        def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
            return [
                {k: _json(v) for k, v in row.items()} for row in frame.to_dict(orient="records")
            ]

        return {
            "infeasible": self.infeasible,
            "conflicts": list(self.conflicts),
            "exceptions": self.exceptions,
            "areas_unserved": records(self.areas_unserved),
            "sites_unviable": records(self.sites_unviable),
            "notes": list(self.notes),
            "capital_lower_bound": self.capital_lower_bound,
            "capital_cheapest_plan": self.capital_cheapest_plan,
        }

    def raise_if_infeasible(self) -> None:
        """Raise :class:`~polygeo.errors.InfeasibleError` when infeasible."""
        if not self.infeasible:
            return
        parts = list(self.conflicts)
        n = len(self.areas_unserved)
        if n and not self.exceptions:
            parts.append(
                f"{n} areas ({float(self.areas_unserved['population'].sum()):,.0f} people) have "
                "no viable hub site within their travel limit"
            )
        raise InfeasibleError(
            "the rules cannot be met: " + "; ".join(parts) + ".\n" + self.format_text(),
            self,
        )


@dataclass
class ExceptionPairs:
    """Pairs beyond the travel limit for unserved areas (``allow_exceptions``)."""

    area: np.ndarray
    site: np.ndarray
    minutes: np.ndarray

    @classmethod
    def none(cls) -> ExceptionPairs:
        return cls(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0))


def _unviable_sites(inp: Inputs, red: Reduction) -> pd.DataFrame:
    """Every site that can never open, with the reason."""
    rules, m = inp.rules, inp.n_sites
    p_min = rules.min_population
    reach0 = red.reach0
    reason = np.full(m, None, dtype=object)
    reason[inp.forbidden] = "forbidden by the rules"
    reason[~inp.has_option & ~inp.forbidden] = "has no capital option"
    small = inp.has_option & ~inp.has_ok_option & ~inp.forbidden
    reason[small] = f"every capital option's capacity is below min_population {p_min:,.0f}"
    if rules.within_group:
        why = (
            "reaches {:,.0f} people within the travel limit, "
            "but fewer than {:,.0f} in any one group"
        )
    else:
        why = "reaches only {:,.0f} people within the travel limit (min_population {:,.0f})"
    for j in np.flatnonzero(inp.site_ok & ~red.viable):
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
    idx = np.flatnonzero(~red.viable)
    return pd.DataFrame(
        {
            "site_id": pd.Series(inp.site_ids[idx], dtype=object),
            "reachable_population": reach0[idx],
            "reason": pd.Series(reason[idx], dtype=object),
        },
        columns=UNVIABLE_COLUMNS,
    )


#: Most area-site times asked of ``far_times`` at once (memory of the far pairs).
FAR_PAIRS_CHUNK = 2_000_000

#: With area origins and site points known, ``far_times`` is asked only for each
#: area's this many nearest viable sites in a straight line (its nearest by travel
#: time are among them on any road network but the strangest), in batches of
#: :data:`FAR_BATCH_AREAS` neighbouring areas.
FAR_CANDIDATES = 25
FAR_BATCH_AREAS = 200


def _far_pairs(
    inp: Inputs,
    red: Reduction,
    rows: np.ndarray,
    far_times: Callable[..., pd.DataFrame],
    keep: int | None = None,
    points: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Times with no limit from areas ``rows`` to viable sites, nearest first per area.

    ``points`` (area x, area y, site x, site y): ask only for each area's
    :data:`FAR_CANDIDATES` nearest viable sites in a straight line. Otherwise every
    viable site, in chunks of areas. With ``keep``, each area's ``keep`` nearest stay.
    """
    viable_idx = np.flatnonzero(red.viable)
    if points is not None and len(viable_idx) > FAR_CANDIDATES:
        batches = _nearby_batches(rows, viable_idx, points)
    else:
        step = max(1, FAR_PAIRS_CHUNK // max(len(viable_idx), 1))
        batches = [(rows[i : i + step], viable_idx) for i in range(0, len(rows), step)]
    chunks = [_far_chunk(inp, red, a, s, far_times, keep) for a, s in batches]
    if not chunks:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    fa, fs, ft = (np.concatenate(parts) for parts in zip(*chunks, strict=True))
    order = np.lexsort((fs, ft, fa))  # by area, nearest first
    return fa[order], fs[order], ft[order]


def _nearby_batches(
    rows: np.ndarray, viable_idx: np.ndarray, points: tuple[np.ndarray, ...]
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Batches of neighbouring areas, each with the union of their nearest viable sites."""
    from scipy.spatial import cKDTree

    ax, ay, sx, sy = points
    xy = np.column_stack([ax[rows], ay[rows]])
    tree = cKDTree(np.column_stack([sx[viable_idx], sy[viable_idx]]))
    _, near = tree.query(xy, k=FAR_CANDIDATES)
    order = np.lexsort((xy[:, 1], np.floor(xy[:, 0] / 10_000.0)))  # 10 km strips
    batches = []
    for start in range(0, len(rows), FAR_BATCH_AREAS):
        pick = order[start : start + FAR_BATCH_AREAS]
        batches.append((rows[pick], viable_idx[np.unique(near[pick])]))
    return batches


def _far_chunk(
    inp: Inputs,
    red: Reduction,
    rows: np.ndarray,
    viable_idx: np.ndarray,
    far_times: Callable[..., pd.DataFrame],
    keep: int | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    area_ids, site_ids = inp.area_ids, inp.site_ids
    far = pd.DataFrame(far_times(list(area_ids[rows]), list(site_ids[viable_idx])))
    fa = pd.Index(area_ids).get_indexer(far["area_id"].astype(str).to_numpy(dtype=object))
    fs = pd.Index(site_ids).get_indexer(far["site_id"].astype(str).to_numpy(dtype=object))
    ft = pd.to_numeric(far["minutes"], errors="coerce").to_numpy(dtype=float)
    ok = (fa >= 0) & (fs >= 0) & np.isfinite(ft)
    ok &= np.isin(fa, rows) & np.isin(fs, viable_idx)
    fa, fs, ft = fa[ok], fs[ok], ft[ok]
    order = np.lexsort((fs, ft, fa))
    fa, fs, ft = fa[order], fs[order], ft[order]
    if keep is not None:
        rank = np.arange(len(fa)) - np.searchsorted(fa, fa)
        fa, fs, ft = fa[rank < keep], fs[rank < keep], ft[rank < keep]
    return fa, fs, ft


def _points(
    frames: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """Area origins and site points (``None`` when either is not known everywhere)."""
    areas, sites, _ = frames
    if not {"origin_x", "origin_y"} <= set(areas.columns):
        return None
    ax = areas["origin_x"].to_numpy(dtype=float)
    ay = areas["origin_y"].to_numpy(dtype=float)
    sx, sy = site_xy(sites)
    if not all(np.isfinite(v).all() for v in (ax, ay, sx, sy)):
        return None
    return ax, ay, sx, sy


def _thin_exceptions(
    inp: Inputs,
    red: Reduction,
    far_times: Callable[..., pd.DataFrame] | None,
    points: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> ExceptionPairs:
    """Exception pairs for areas with few viable sites within their limit.

    With ``allow_exceptions``, an area that reaches at most :data:`THIN_SITES` viable
    sites may also be served beyond its limit from one of its nearest other viable
    sites, so that its few sites are not forced open. Two such sites may be unable to
    hold a hub each (rural England: E01017673 reaches only RTHY2 and RYEA3,
    E01028483 only RNUFS and RNUGB, and the four sites together reach 78,169 people,
    too few for two hubs).
    """
    if not inp.rules.allow_exceptions or far_times is None or not red.viable.any():
        return ExceptionPairs.none()
    count = np.bincount(inp.pa[red.alive], minlength=inp.n_areas)
    thin = np.flatnonzero((count >= 1) & (count <= THIN_SITES))
    if not len(thin):
        return ExceptionPairs.none()
    fa, fs, ft = _far_pairs(inp, red, thin, far_times, EXCEPTION_CANDIDATES + THIN_SITES, points)
    m = np.int64(inp.n_sites)
    own = np.sort(inp.pa[red.alive] * m + inp.ps[red.alive])  # the sites within the limit
    other = ~np.isin(fa * m + fs, own, assume_unique=False)
    fa, fs, ft = fa[other], fs[other], ft[other]
    rank = np.arange(len(fa)) - np.searchsorted(fa, fa)
    pick = rank < EXCEPTION_CANDIDATES
    return ExceptionPairs(fa[pick], fs[pick], ft[pick])


def _unserved_areas(
    inp: Inputs,
    red: Reduction,
    frames: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame],
    far_times: Callable[..., pd.DataFrame] | None,
    limit: Any,
) -> tuple[pd.DataFrame, ExceptionPairs]:
    """Areas no viable site serves within the limit, and their exception pairs."""
    areas, sites, travel = frames
    n = inp.n_areas
    served = np.bincount(inp.pa[red.alive], minlength=n) > 0
    unserved = np.flatnonzero(~served)
    viable_idx = np.flatnonzero(red.viable)
    nearest_site = np.full(len(unserved), None, dtype=object)
    nearest_min = np.full(len(unserved), np.nan)
    exceptions = ExceptionPairs.none()
    if len(unserved) and len(viable_idx):
        if far_times is not None:
            points = _points(frames)
            fa, fs, ft = _far_pairs(inp, red, unserved, far_times, EXCEPTION_CANDIDATES, points)
            rank = np.arange(len(fa)) - np.searchsorted(fa, fa)
            first = rank == 0
            pos = pd.Index(unserved).get_indexer(fa[first])
            nearest_site[pos] = inp.site_ids[fs[first]]
            nearest_min[pos] = ft[first]
            pick = rank < EXCEPTION_CANDIDATES
            exceptions = ExceptionPairs(fa[pick], fs[pick], ft[pick])
        elif {"origin_x", "origin_y"} <= set(areas.columns):
            sx, sy = site_xy(sites)
            ox = areas["origin_x"].to_numpy(dtype=float)[unserved]
            oy = areas["origin_y"].to_numpy(dtype=float)[unserved]
            d2 = (ox[:, None] - sx[viable_idx][None, :]) ** 2 + (
                oy[:, None] - sy[viable_idx][None, :]
            ) ** 2
            nearest_site[:] = inp.site_ids[viable_idx[np.argmin(d2, axis=1)]]
    frame = pd.DataFrame(
        {
            "area_id": pd.Series(inp.area_ids[unserved], dtype=object),
            "population": inp.population[unserved],
            "nearest_site_id": pd.Series(nearest_site, dtype=object),
            "nearest_minutes": nearest_min,
            "limit_minutes": limit_minutes(limit, travel, areas, sites)[unserved],
        },
        columns=UNSERVED_COLUMNS,
    )
    return frame, exceptions


def _exception_findings(
    inp: Inputs,
    red: Reduction,
    unserved: pd.DataFrame,
    exceptions: ExceptionPairs,
    far_times: Callable[..., pd.DataFrame] | None,
) -> tuple[list[str], list[str]]:
    """Conflicts and notes about serving unserved areas as exceptions."""
    conflicts: list[str] = []
    notes: list[str] = []
    n_unserved = len(unserved)
    if not (n_unserved and inp.rules.allow_exceptions):
        return conflicts, notes
    if far_times is None:
        conflicts.append(
            f"{n_unserved} areas need exceptions, but no far_times was given to find "
            "their nearest sites beyond the limit (pass far_times= to solve, as the "
            "pipeline does from the travel provider)"
        )
    elif red.viable.any():
        unserved_rows = pd.Index(inp.area_ids).get_indexer(
            unserved["area_id"].to_numpy(dtype=object)
        )
        lacking = np.setdiff1d(unserved_rows, exceptions.area)
        if len(lacking):
            conflicts.append(
                f"far_times gave no time to any viable site for {len(lacking)} unserved "
                f"areas, e.g. {', '.join(map(str, inp.area_ids[lacking[:5]]))}"
            )
        notes.append(
            f"{n_unserved} areas become exceptions served beyond the limit, each from one "
            f"of its {EXCEPTION_CANDIDATES} nearest viable sites"
        )
    return conflicts, notes


def _must_open_conflicts(
    inp: Inputs, red: Reduction, exceptions: ExceptionPairs | None = None
) -> tuple[list[str], np.ndarray]:
    """Conflicts of the sites that must open with the hub count and the population.

    ``exceptions``: pairs beyond the limit (an area with one may do without its one
    site within the limit, and they add to the sites' reach).
    """
    rules, pa, ps = inp.rules, inp.pa, inp.ps
    area_ids, site_ids = inp.area_ids, inp.site_ids
    required, forbidden, viable = inp.required, inp.forbidden, red.viable
    p_min = rules.min_population
    total = float(inp.population.sum())
    conflicts: list[str] = []
    # areas with a single viable site fix that site open
    count = np.bincount(pa[red.alive], minlength=inp.n_areas)
    single = red.alive & (count[pa] == 1)
    if exceptions is not None and len(exceptions.area):
        single &= ~np.isin(pa, exceptions.area)
    forced = np.zeros(inp.n_sites, dtype=bool)
    forced[ps[single]] = True
    forced &= ~required
    must = (required & viable) | forced
    hi = rules.hub_bounds[1]
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
    conflicts += _must_open_pairs(inp, red, must, exceptions)
    return conflicts, must


#: Most sites that must open for which every pair is compared (a dense square).
MUST_OPEN_PAIRS_MAX = 3000


def _must_open_pairs(
    inp: Inputs, red: Reduction, must: np.ndarray, exceptions: ExceptionPairs | None = None
) -> list[str]:
    """Two sites that must open whose areas together hold fewer than two hubs' people."""
    import scipy.sparse as sp

    p_min = inp.rules.min_population
    ms = np.flatnonzero(must)
    if p_min <= 0 or len(ms) < 2 or len(ms) > MUST_OPEN_PAIRS_MAX:
        return []
    pa, ps = inp.pa[red.alive], inp.ps[red.alive]
    if exceptions is not None:
        pa, ps = np.concatenate([pa, exceptions.area]), np.concatenate([ps, exceptions.site])
    rows = pd.Index(ms).get_indexer(ps)
    keep = rows >= 0
    W = sp.csr_array(
        (np.ones(int(keep.sum())), (rows[keep], pa[keep])), shape=(len(ms), inp.n_areas)
    )
    reach = W @ inp.population
    overlap = (W @ sp.diags_array(inp.population) @ W.T).toarray()
    union = reach[:, None] + reach[None, :] - overlap
    a, b = np.nonzero(np.triu(union < 2 * p_min - _TOL, k=1))
    if not len(a):
        return []
    ids = inp.site_ids
    examples = "; ".join(
        f"{ids[ms[i]]} and {ids[ms[j]]} ({union[i, j]:,.0f} people)"
        for i, j in zip(a[:5].tolist(), b[:5].tolist(), strict=True)
    )
    return [
        f"{len(a)} pairs of sites that must open (required, or the only viable site of "
        f"some area) can together reach fewer than 2 x {p_min:,.0f} people, so they cannot "
        f"both hold a hub: e.g. {examples}"
    ]


def _rule_conflicts(
    inp: Inputs, red: Reduction, reasons: pd.DataFrame, exceptions: ExceptionPairs | None = None
) -> list[str]:
    """Conflicts between the rules, the sites and the population."""
    rules = inp.rules
    p_min = rules.min_population
    total = float(inp.population.sum())
    n = inp.n_areas
    viable = red.viable
    viable_idx = np.flatnonzero(viable)
    conflicts: list[str] = []
    if rules.max_population is not None and rules.max_population < p_min:
        conflicts.append(
            f"max_population {rules.max_population:,.0f} is below min_population {p_min:,.0f}"
        )
    if n and p_min > 0 and total < p_min - _TOL:
        conflicts.append(
            f"the total population {total:,.0f} is below min_population {p_min:,.0f}: "
            "not even one hub can be filled"
        )
    for j in np.flatnonzero(inp.required & inp.forbidden):
        conflicts.append(f"site {inp.site_ids[j]} is both required and forbidden")
    why = dict(zip(reasons["site_id"], reasons["reason"], strict=True))
    for j in np.flatnonzero(inp.required & ~inp.forbidden & ~viable):
        conflicts.append(f"required site {inp.site_ids[j]} cannot open: {why[inp.site_ids[j]]}")
    if n and len(viable_idx) == 0:
        conflicts.append("no candidate site can open as a hub (see the sites that cannot open)")
    must_conflicts, must = _must_open_conflicts(inp, red, exceptions)
    conflicts += must_conflicts
    lo, hi = rules.hub_bounds
    if lo is not None and lo > len(viable_idx) and len(viable_idx):
        conflicts.append(
            f"at least {lo} hubs are required but only {len(viable_idx)} sites can open"
        )
    if lo is not None and p_min > 0 and lo * p_min > total + _TOL:
        conflicts.append(
            f"at least {lo} hubs of at least {p_min:,.0f} people need {lo * p_min:,.0f} people, "
            f"but the total population is {total:,.0f}"
        )
    conflicts += _capacity_and_budget_conflicts(inp, red, must)
    pairs = (inp.pa, inp.ps, red.alive)
    conflicts += quota_conflicts(inp.quotas, viable, inp.site_ids, why, hi, pairs)
    return conflicts


def _capacity_and_budget_conflicts(inp: Inputs, red: Reduction, must: np.ndarray) -> list[str]:
    rules, m = inp.rules, inp.n_sites
    total = float(inp.population.sum())
    viable = red.viable
    viable_idx = np.flatnonzero(viable)
    lo, hi = rules.hub_bounds
    opt_site_all = inp.opt_site_all
    conflicts: list[str] = []
    # capacity: open hubs must hold everyone
    opt_v = inp.opt_ok & viable[np.where(opt_site_all >= 0, opt_site_all, 0)]
    site_cap = np.zeros(m)
    np.maximum.at(site_cap, opt_site_all[opt_v], inp.opt_cap_all[opt_v])
    if len(viable_idx) and np.isfinite(site_cap[viable_idx]).all():
        caps = np.sort(site_cap[viable_idx])[::-1]
        room = caps.sum() if hi is None else caps[:hi].sum()
        if room < total - _TOL:
            conflicts.append(
                f"the viable sites can hold at most {room:,.0f} people"
                + (f" with at most {hi} hubs" if hi is not None else "")
                + f" (capacity / max_population), fewer than the total population {total:,.0f}"
            )
    if rules.budget is None or not len(viable_idx):
        return conflicts
    cheapest = np.full(m, np.inf)
    np.minimum.at(cheapest, opt_site_all[opt_v], inp.opts["capital_cost"].to_numpy()[opt_v])
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
    return conflicts


def _capital_bound(inp: Inputs, red: Reduction) -> float | None:
    """With a budget, the least capital of any plan that covers everyone (a bound)."""
    from polygeo.optimise.cover_bound import cheapest_cover_bound

    if inp.rules.budget is None or not red.viable.any():
        return None
    _, must = _must_open_conflicts(inp, red)
    return cheapest_cover_bound(inp, red, must)


def _cover_budget_conflict(inp: Inputs, bound: float | None) -> list[str]:
    """The budget against the least capital of any plan that covers everyone."""
    budget = inp.rules.budget
    if budget is None or bound is None:
        return []
    text = budget_conflict(budget, bound, None, bool(inp.quotas))
    return [] if text is None else [text]


def budget_conflict(
    budget: float, lower: float, upper: float | None, with_kinds: bool
) -> str | None:
    """The conflict of a budget below the cheapest capital, or ``None`` when it is not.

    Parameters
    ----------
    budget
        The budget.
    lower
        Proven: no plan covering everyone costs less.
    upper
        The capital of a plan found that meets every rule but the budget, or ``None``.
    with_kinds
        Whether hub-kind rules count in the lower figure.
    """
    if lower <= budget * (1 + 1e-9) + _TOL:
        return None
    why = (
        "every area needs an open hub within its travel limit, each at its site's cheapest "
        "option" + (", the hub-kind rules" if with_kinds else "")
    )
    fix = f"raise the budget to at least {lower:,.0f}, or offer cheaper options"
    if upper is not None and upper <= lower * (1 + 1e-9) + _TOL:
        return (
            f"the budget {budget:,.0f} is below the cheapest capital of any plan that covers "
            f"everyone: {lower:,.0f} exactly (a plan meeting every rule but the budget costs "
            f"{upper:,.0f}, and no plan covering everyone costs less); {fix}"
        )
    found = "" if upper is None else f"; the cheapest plan found costs {upper:,.0f}"
    return (
        f"the budget {budget:,.0f} is below the cheapest capital of any plan that covers "
        f"everyone: at least {lower:,.0f} ({why}{found}); {fix}"
    )


def other_infeasibility(diagnosis: Diagnosis, rules: Rules, quotas: list[Any]) -> bool:
    """Whether the diagnosis found a certain infeasibility besides the budget's."""
    budget, bound = rules.budget, diagnosis.capital_lower_bound
    own = None
    if budget is not None and bound is not None:
        own = budget_conflict(budget, bound, None, bool(quotas))
    others = [c for c in diagnosis.conflicts if c != own]
    return bool(others) or (len(diagnosis.areas_unserved) > 0 and not diagnosis.exceptions)


def record_capital_range(
    diagnosis: Diagnosis, budget: float, lower: float, upper: float | None, with_kinds: bool
) -> None:
    """Put the bracketed cheapest capital (:mod:`.cheapest`) into the diagnosis.

    The budget conflict of the covering bound is replaced by one naming the
    cheapest capital (exact when a plan costs it); a budget between the proven
    figure and the cheapest plan found is noted, not a conflict.
    """
    before = diagnosis.capital_lower_bound
    if before is not None:
        old = budget_conflict(budget, before, None, with_kinds)
        diagnosis.conflicts = [c for c in diagnosis.conflicts if c != old]
    lower = max(lower, before or 0.0)
    diagnosis.capital_lower_bound = lower
    diagnosis.capital_cheapest_plan = upper
    text = budget_conflict(budget, lower, upper, with_kinds)
    if text is not None:
        diagnosis.conflicts.append(text)
        return
    exact = upper is not None and upper <= lower * (1 + 1e-9) + _TOL
    if exact:
        diagnosis.notes.append(
            f"the cheapest capital of a plan covering everyone is {lower:,.0f} exactly; "
            f"the budget {budget:,.0f} allows it"
        )
    elif upper is None:
        diagnosis.notes.append(
            f"a plan covering everyone costs at least {lower:,.0f} (no plan was found before "
            f"the solve); the budget is {budget:,.0f}"
        )
    elif budget < upper * (1 - 1e-9) - _TOL:
        diagnosis.notes.append(
            f"the budget {budget:,.0f} lies between the least capital any plan covering "
            f"everyone can cost ({lower:,.0f}, proven) and the cheapest plan found before the "
            f"solve ({upper:,.0f}): not proven too small, the solver decides"
        )
    else:
        diagnosis.notes.append(
            f"a plan covering everyone costs between {lower:,.0f} and {upper:,.0f}; "
            f"the budget {budget:,.0f} allows the cheaper"
        )


def _group_notes(inp: Inputs, unserved: pd.DataFrame) -> list[str]:
    rules = inp.rules
    if not (rules.within_group and len(unserved) and inp.group is not None):
        return []
    rows = pd.Index(inp.area_ids).get_indexer(unserved["area_id"].to_numpy(dtype=object))
    gpop = np.bincount(inp.group, weights=inp.population, minlength=len(inp.group_names))
    small_groups = [
        str(inp.group_names[g])
        for g in np.unique(inp.group[rows])
        if gpop[g] < rules.min_population - _TOL
    ]
    if not small_groups:
        return []
    return [
        "within_group: groups with fewer people than min_population cannot hold a hub: "
        + ", ".join(small_groups[:10])
    ]


def diagnose_inputs(
    inp: Inputs,
    red: Reduction,
    frames: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame],
    far_times: Callable[..., pd.DataFrame] | None = None,
    limit: Any = None,
) -> tuple[Diagnosis, ExceptionPairs]:
    """The diagnosis of checked, reduced inputs, and the exception pairs it found.

    Parameters
    ----------
    inp, red
        From :func:`~polygeo.optimise.inputs.read_inputs` and
        :func:`~polygeo.optimise.reduce.reduce_pairs`.
    frames
        The areas, sites and travel frames (for origins and the travel limit).
    far_times, limit
        As :func:`diagnose`.

    Returns
    -------
    tuple of Diagnosis and ExceptionPairs
    """
    sites_unviable = _unviable_sites(inp, red)
    areas_unserved, exceptions = _unserved_areas(inp, red, frames, far_times, limit)
    conflicts, notes = _exception_findings(inp, red, areas_unserved, exceptions, far_times)
    thin = _thin_exceptions(inp, red, far_times, _points(frames))
    if len(thin.area):
        notes.append(
            f"{len(np.unique(thin.area))} areas reach at most {THIN_SITES} viable sites "
            "within the limit; they may also be served beyond it as exceptions, so those "
            "sites need not open"
        )
        exceptions = ExceptionPairs(
            *(np.concatenate([a, b]) for a, b in zip(
                (exceptions.area, exceptions.site, exceptions.minutes),
                (thin.area, thin.site, thin.minutes), strict=True))
        )  # fmt: skip
    allowed = exceptions if inp.rules.allow_exceptions else None
    conflicts += _rule_conflicts(inp, red, sites_unviable, allowed)
    bound = _capital_bound(inp, red)
    conflicts += _cover_budget_conflict(inp, bound)
    notes += _group_notes(inp, areas_unserved)
    diagnosis = Diagnosis(
        areas_unserved=areas_unserved,
        sites_unviable=sites_unviable,
        conflicts=conflicts,
        exceptions=bool(inp.rules.allow_exceptions),
        notes=notes,
        capital_lower_bound=bound,
    )
    return diagnosis, exceptions


def diagnose(
    areas: pd.DataFrame,
    sites: pd.DataFrame,
    travel: pd.DataFrame,
    rules: Rules | None = None,
    options: pd.DataFrame | None = None,
    far_times: Callable[..., pd.DataFrame] | None = None,
    *,
    adjacency: Any = None,
    limit: Any = None,
) -> Diagnosis:
    """Find certain infeasibilities before solving.

    Parameters
    ----------
    areas, sites, travel
        The areas and sites frames and the sparse travel table (docs/architecture.md).
    rules
        The rules (default :class:`Rules`).
    options
        Capital options (``site_id, option, capital_cost, capacity``); default one
        ``reuse`` option at cost 0 for every site.
    far_times
        ``far_times(area_ids, site_ids) -> DataFrame(area_id, site_id, minutes)``
        with no travel limit, to say how far unserved areas are from the nearest
        viable site. ``None``: those minutes are unknown.
    adjacency
        Area adjacency for ``contiguous`` rules (default: from the polygons).
    limit
        The travel limit (a ``TravelLimit`` or minutes) for the report's
        ``limit_minutes``; default ``travel.attrs["limit"]`` when present.

    Returns
    -------
    Diagnosis
    """
    rules = rules if rules is not None else Rules()
    inp = read_inputs(areas, sites, travel, rules, options=options, adjacency=adjacency)
    frames = (areas, sites, travel)
    diagnosis, _ = diagnose_inputs(inp, reduce_pairs(inp), frames, far_times, limit)
    return diagnosis
