"""An independent checker: does a plan obey the rules?

:func:`check` recomputes everything from the raw inputs (areas, sites, travel
table, rules, capital options, adjacency) with plain pandas, and shares no code
with the optimiser's model or solver, so that a bug there cannot hide itself.

Rule names of :class:`Violation` (a public contract):

============== ==============================================================
``unknown_id``  an assignment or hub names an area or site not in the inputs
``coverage``    an area is not assigned
``duplicate``   an area is assigned more than once
``one_option``  a hub is listed more than once (two options for one site)
``open_hub``    an area is assigned to a site that is not an open hub
``option``      a hub's option is not one of its site's capital options, or its
                cost differs from the options table
``min_population`` / ``max_population`` / ``capacity``
                a catchment's population is outside the bounds / its option's
                capacity
``travel_limit`` an assignment is not within the area's travel limit (the pair
                is not in the travel table) and is not an allowed exception
``minutes``     an assignment's minutes differ from the travel table
``exception``   an area is flagged as an exception although the rules do not
                allow exceptions
``required`` / ``forbidden``  a required site is closed / a forbidden one open
``budget``      the capital total exceeds the budget
``hubs``        the number of hubs is outside the rules
``hub_kind``    fewer hubs of a kind than ``min_hubs_by_kind`` asks, or a group
                none of whose areas is served (not as an exception) by a hub of
                the ``kind_in_every_group`` kind
``within_group`` a catchment spans several groups
``contiguity``  a catchment is not one connected set of areas
``hub_report``  the hubs table's population / areas / minutes disagree with the
                assignments
============== ==============================================================

Exceptions (flagged, when the rules allow them) are exempt from
``within_group`` and ``contiguity``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from polygeo.errors import PolygeoError

_TOL = 1e-6


@dataclass(frozen=True)
class Violation:
    """One broken rule.

    Attributes
    ----------
    rule
        The rule's name (see :mod:`polygeo.check`).
    message
        A readable sentence with the numbers.
    ids
        The area or site ids involved.
    """

    rule: str
    message: str
    ids: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"[{self.rule}] {self.message}"


class InvalidPlanError(PolygeoError, AssertionError):
    """A plan breaks the rules; ``.violations`` lists every broken rule."""

    def __init__(self, violations: list[Violation]) -> None:
        self.violations = violations
        lines = [f"the plan breaks {len(violations)} rule(s):"]
        lines += [f"  - {v}" for v in violations]
        super().__init__("\n".join(lines))


def _examples(ids: Iterable[Any], k: int = 5) -> str:
    ids = [str(i) for i in ids]
    return ", ".join(ids[:k]) + (f" and {len(ids) - k} more" if len(ids) > k else "")


def _get(rules: Any, name: str, default: Any = None) -> Any:
    return getattr(rules, name, default)


def _hub_bounds(hubs: Any) -> tuple[int | None, int | None]:
    if hubs is None:
        return None, None
    if isinstance(hubs, int):
        return hubs, hubs
    if isinstance(hubs, dict):
        return hubs.get("min"), hubs.get("max")
    lo, hi = hubs
    return lo, hi


def _queen_adjacency(areas: pd.DataFrame) -> list[set[int]]:
    """Neighbours of each area row: polygons that share at least one point."""
    import shapely

    geoms = np.asarray(areas.geometry.values, dtype=object)
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    nbrs: list[set[int]] = [set() for _ in range(len(geoms))]
    for a, b in zip(left.tolist(), right.tolist(), strict=True):
        if a != b:
            nbrs[a].add(b)
            nbrs[b].add(a)
    return nbrs


def _neighbours(adjacency: Any, n: int) -> list[set[int]]:
    import scipy.sparse as sp

    if sp.issparse(adjacency) or isinstance(adjacency, np.ndarray):
        coo = sp.coo_array(adjacency)
        nbrs: list[set[int]] = [set() for _ in range(n)]
        for a, b, v in zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist(), strict=True):
            if v and a != b:
                nbrs[a].add(b)
                nbrs[b].add(a)
        return nbrs
    raise TypeError("adjacency must be a scipy.sparse matrix in the areas' row order")


def _components(members: list[int], nbrs: list[set[int]]) -> int:
    """Number of connected components of ``members`` (breadth-first search)."""
    left = set(members)
    count = 0
    while left:
        count += 1
        stack = [left.pop()]
        while stack:
            a = stack.pop()
            for b in nbrs[a]:
                if b in left:
                    left.remove(b)
                    stack.append(b)
    return count


@dataclass
class _Plan:
    """A plan and its inputs, normalised once: string ids, floats, populations."""

    asg: pd.DataFrame  # area_id, site_id, minutes, exception, population
    hub: pd.DataFrame  # site_id, option, capital_cost
    hubs: pd.DataFrame  # the plan's hubs table as given (for hub_report)
    areas: pd.DataFrame
    sites: pd.DataFrame
    rules: Any
    area_ids: np.ndarray
    site_ids: np.ndarray
    area_row: dict[str, int]
    pop: dict[str, float]
    allow_exc: bool
    open_set: set[str]
    hub_pop: pd.Series

    @classmethod
    def build(cls, plan: Any, areas: pd.DataFrame, sites: pd.DataFrame, rules: Any) -> _Plan:
        a, hubs = plan.assignments, plan.hubs
        area_ids = areas["area_id"].astype(str).to_numpy(dtype=object)
        pop = dict(zip(area_ids, areas["population"].astype(float), strict=True))
        asg = pd.DataFrame(
            {
                "area_id": a["area_id"].astype(str).to_numpy(dtype=object),
                "site_id": a["site_id"].astype(str).to_numpy(dtype=object),
                "minutes": a["minutes"].astype(float).to_numpy(),
                "exception": _column(a, "exception", bool, False),
            }
        )
        asg["population"] = asg["area_id"].map(pop).fillna(0.0)
        hub = pd.DataFrame(
            {
                "site_id": hubs["site_id"].astype(str).to_numpy(dtype=object),
                "option": _column(hubs, "option", str, "reuse"),
                "capital_cost": _column(hubs, "capital_cost", float, 0.0),
            }
        )
        return cls(
            asg=asg,
            hub=hub,
            hubs=hubs,
            areas=areas,
            sites=sites,
            rules=rules,
            area_ids=area_ids,
            site_ids=sites["site_id"].astype(str).to_numpy(dtype=object),
            area_row={k: i for i, k in enumerate(area_ids)},
            pop=pop,
            allow_exc=bool(_get(rules, "allow_exceptions", False)),
            open_set=set(hub["site_id"]),
            hub_pop=asg.groupby("site_id")["population"].sum(),
        )

    def normal(self) -> pd.DataFrame:
        """Assignments of known areas, without the exceptions the rules allow."""
        asg = self.asg[~(self.asg["exception"].to_numpy(dtype=bool) & self.allow_exc)]
        return asg[asg["area_id"].isin(self.area_row)]


def _column(frame: pd.DataFrame, name: str, kind: type, default: Any) -> np.ndarray:
    """``frame[name]`` as an array of ``kind``, or ``default`` in every row without it."""
    if name in frame:
        values = frame[name].astype(kind).to_numpy()
        return values.astype(object) if kind is str else values
    return np.full(len(frame), default, dtype=object if kind is str else kind)


def check(
    plan: Any,
    areas: pd.DataFrame,
    sites: pd.DataFrame,
    travel: pd.DataFrame,
    rules: Any,
    *,
    options: pd.DataFrame | None = None,
    adjacency: Any = None,
) -> list[Violation]:
    """Check a plan against the rules, from the raw inputs.

    Parameters
    ----------
    plan
        A :class:`~polygeo.plan.Plan` (``assignments`` and ``hubs`` frames).
    areas, sites, travel
        The inputs the plan was made from.
    rules
        The :class:`~polygeo.optimise.Rules`.
    options
        Capital options (``site_id, option, capital_cost, capacity``); default one
        ``reuse`` option at cost 0 with unlimited capacity for every site.
    adjacency
        Area adjacency (sparse ``n x n`` in the areas' row order) for contiguity;
        default: polygons sharing a boundary point (queen), computed here.

    Returns
    -------
    list of Violation
        Empty when every rule holds.
    """
    p = _Plan.build(plan, areas, sites, rules)
    option_found, capital, capacity = _option_violations(p, options)
    return [
        *_id_violations(p),
        *_coverage_violations(p),
        *_open_hub_violations(p),
        *option_found,
        *_population_violations(p, capacity),
        *_travel_violations(p, travel),
        *_site_violations(p),
        *_count_violations(p, capital),
        *_hub_kind_violations(p.open_set, p.asg, areas, sites, rules),
        *_group_violations(p),
        *_contiguity_violations(p, adjacency),
        *_hub_report_violations(p),
    ]


def _id_violations(p: _Plan) -> list[Violation]:
    out = []
    bad_a = sorted(set(p.asg["area_id"]) - set(p.area_ids))
    bad_s = sorted((set(p.asg["site_id"]) | set(p.hub["site_id"])) - set(p.site_ids))
    if bad_a:
        message = f"{len(bad_a)} assigned area ids are not in the areas: {_examples(bad_a)}"
        out.append(Violation("unknown_id", message, tuple(bad_a)))
    if bad_s:
        message = f"{len(bad_s)} site ids in the plan are not in the sites: {_examples(bad_s)}"
        out.append(Violation("unknown_id", message, tuple(bad_s)))
    return out


def _coverage_violations(p: _Plan) -> list[Violation]:
    """Every area assigned exactly once; every hub listed once."""
    out = []
    counts = p.asg["area_id"].value_counts()
    missing = [i for i in p.area_ids if i not in counts.index]
    if missing:
        people = sum(p.pop[i] for i in missing)
        message = (
            f"{len(missing)} areas ({people:,.0f} people) are not assigned to any hub: "
            f"{_examples(missing)}"
        )
        out.append(Violation("coverage", message, tuple(missing)))
    dups = sorted(counts.index[counts > 1])
    if dups:
        message = f"{len(dups)} areas are assigned more than once: {_examples(dups)}"
        out.append(Violation("duplicate", message, tuple(dups)))
    hub_counts = p.hub["site_id"].value_counts()
    twice = sorted(hub_counts.index[hub_counts > 1])
    if twice:
        message = (
            f"{len(twice)} hubs are listed more than once (one option per hub): {_examples(twice)}"
        )
        out.append(Violation("one_option", message, tuple(twice)))
    return out


def _open_hub_violations(p: _Plan) -> list[Violation]:
    closed = sorted(set(p.asg["site_id"]) - p.open_set)
    if not closed:
        return []
    areas_there = p.asg.loc[p.asg["site_id"].isin(closed), "area_id"].tolist()
    message = (
        f"{len(areas_there)} areas are assigned to sites that are not open hubs "
        f"({_examples(closed)})"
    )
    return [Violation("open_hub", message, tuple(closed))]


def _options_table(p: _Plan, options: pd.DataFrame | None) -> pd.DataFrame:
    """The capital options as plain columns; default ``reuse`` at 0 for every site."""
    if options is None:
        return pd.DataFrame(
            {"site_id": p.site_ids, "option": "reuse", "capital_cost": 0.0, "capacity": np.nan}
        )
    return pd.DataFrame(
        {
            "site_id": options["site_id"].astype(str).to_numpy(dtype=object),
            "option": options["option"].astype(str).to_numpy(dtype=object),
            "capital_cost": options["capital_cost"].astype(float).to_numpy(),
            "capacity": _column(options, "capacity", float, np.nan),
        }
    )


def _option_violations(
    p: _Plan, options: pd.DataFrame | None
) -> tuple[list[Violation], float, dict[str, float]]:
    """Each hub's option and cost against the table; the capital total; capacities."""
    opts = _options_table(p, options)
    columns = (opts["site_id"], opts["option"], opts["capital_cost"], opts["capacity"])
    opt_map = {(s, o): (c, u) for s, o, c, u in zip(*columns, strict=True)}
    out, capital, capacity = [], 0.0, {}
    for s, o, c in zip(p.hub["site_id"], p.hub["option"], p.hub["capital_cost"], strict=True):
        if (s, o) not in opt_map:
            message = f"hub {s} uses option {o!r}, which is not one of its capital options"
            out.append(Violation("option", message, (s,)))
            capital += c
            continue
        cost, cap = opt_map[(s, o)]
        capital += cost
        if not math.isclose(cost, c, rel_tol=1e-9, abs_tol=1e-6):
            message = (
                f"hub {s} reports capital cost {c:,.2f} for option {o!r}, but the options "
                f"table says {cost:,.2f}"
            )
            out.append(Violation("option", message, (s,)))
        if not np.isnan(cap):
            capacity[s] = cap
    return out, capital, capacity


def _population_violations(p: _Plan, capacity: dict[str, float]) -> list[Violation]:
    """Each catchment's people within the minimum, the maximum and its option's capacity."""
    out = []
    p_min = float(_get(p.rules, "min_population", 0.0) or 0.0)
    p_max = _get(p.rules, "max_population")
    for s in p.hub["site_id"].drop_duplicates():
        people = float(p.hub_pop.get(s, 0.0))
        if people < p_min * (1 - _TOL) - _TOL:
            message = f"hub {s} serves {people:,.0f} people, fewer than min_population {p_min:,.0f}"
            out.append(Violation("min_population", message, (s,)))
        if p_max is not None and people > p_max * (1 + _TOL) + _TOL:
            message = f"hub {s} serves {people:,.0f} people, more than max_population {p_max:,.0f}"
            out.append(Violation("max_population", message, (s,)))
        if s in capacity and people > capacity[s] * (1 + _TOL) + _TOL:
            message = (
                f"hub {s} serves {people:,.0f} people, more than its option's capacity "
                f"{capacity[s]:,.0f}"
            )
            out.append(Violation("capacity", message, (s,)))
    return out


def _travel_violations(p: _Plan, travel: pd.DataFrame) -> list[Violation]:
    """Exceptions only where allowed; every other pair in the travel table, with its minutes."""
    out = []
    table = pd.DataFrame(
        {
            "area_id": travel["area_id"].astype(str).to_numpy(dtype=object),
            "site_id": travel["site_id"].astype(str).to_numpy(dtype=object),
            "table_minutes": travel["minutes"].astype(float).to_numpy(),
        }
    )
    merged = p.asg.merge(table, on=["area_id", "site_id"], how="left")
    outside = merged["table_minutes"].isna().to_numpy()
    exc = merged["exception"].to_numpy(dtype=bool)
    flagged = merged.loc[exc, "area_id"].tolist()
    if flagged and not p.allow_exc:
        message = (
            f"{len(flagged)} areas are flagged as exceptions but the rules do not allow "
            f"exceptions: {_examples(flagged)}"
        )
        out.append(Violation("exception", message, tuple(flagged)))
    beyond = outside & ~(exc & p.allow_exc)
    if beyond.any():
        ids = merged.loc[beyond, "area_id"].tolist()
        pairs = [f"{r.area_id}->{r.site_id}" for r in merged[beyond].head(5).itertuples()]
        message = (
            f"{len(ids)} areas are assigned to a hub beyond their travel limit (pair not in "
            f"the travel table): {', '.join(pairs)}"
        )
        out.append(Violation("travel_limit", message, tuple(ids)))
    table_minutes = merged["table_minutes"].to_numpy()
    diff = np.abs(merged["minutes"].to_numpy() - table_minutes)
    wrong = ~outside & ~(diff <= 1e-3 + 1e-5 * np.abs(table_minutes))
    if wrong.any():
        rows = merged[wrong]
        first = rows.iloc[0]
        message = (
            f"{len(rows)} assignments report minutes that differ from the travel table, e.g. "
            f"{first['area_id']}->{first['site_id']}: {first['minutes']:.2f} in the plan, "
            f"{first['table_minutes']:.2f} in the table"
        )
        out.append(Violation("minutes", message, tuple(rows["area_id"].tolist())))
    return out


def _site_violations(p: _Plan) -> list[Violation]:
    """Required sites open, forbidden ones closed."""
    out = []
    req = [str(s) for s in (_get(p.rules, "required_sites", ()) or ())]
    forb = [str(s) for s in (_get(p.rules, "forbidden_sites", ()) or ())]
    closed_req = [s for s in req if s not in p.open_set]
    if closed_req:
        message = f"required sites are not open as hubs: {_examples(closed_req)}"
        out.append(Violation("required", message, tuple(closed_req)))
    open_forb = [s for s in forb if s in p.open_set]
    if open_forb:
        message = f"forbidden sites are open as hubs: {_examples(open_forb)}"
        out.append(Violation("forbidden", message, tuple(open_forb)))
    return out


def _count_violations(p: _Plan, capital: float) -> list[Violation]:
    """The capital total within the budget; the number of hubs within the rules."""
    out = []
    budget = _get(p.rules, "budget")
    if budget is not None and capital > budget * (1 + 1e-9) + _TOL:
        message = f"the capital total {capital:,.0f} exceeds the budget {budget:,.0f}"
        out.append(Violation("budget", message, tuple(p.hub["site_id"])))
    lo, hi = _hub_bounds(_get(p.rules, "hubs"))
    n_hubs = len(p.open_set)
    if lo is not None and n_hubs < lo:
        out.append(Violation("hubs", f"{n_hubs} hubs are open, fewer than the minimum {lo}"))
    if hi is not None and n_hubs > hi:
        out.append(Violation("hubs", f"{n_hubs} hubs are open, more than the maximum {hi}"))
    return out


def _group_violations(p: _Plan) -> list[Violation]:
    """``within_group``: no catchment spans two groups (allowed exceptions exempt)."""
    if not _get(p.rules, "within_group", False):
        return []
    if "group" not in p.areas:
        return [Violation("within_group", "the areas have no 'group' column to check")]
    group = dict(zip(p.area_ids, p.areas["group"].astype(str), strict=True))
    normal = p.normal()
    g = normal.assign(group=normal["area_id"].map(group))
    spans = g.groupby("site_id")["group"].nunique()
    out = []
    for s in spans.index[spans > 1]:
        names = sorted(g.loc[g["site_id"] == s, "group"].unique())
        message = f"hub {s}'s catchment spans {len(names)} groups: {_examples(names)}"
        out.append(Violation("within_group", message, (str(s),)))
    return out


def _contiguity_violations(p: _Plan, adjacency: Any) -> list[Violation]:
    """``contiguous``: every catchment one connected set (allowed exceptions exempt)."""
    if not _get(p.rules, "contiguous", False):
        return []
    if adjacency is None:
        nbrs = _queen_adjacency(p.areas)
    else:
        nbrs = _neighbours(adjacency, len(p.area_ids))
    out = []
    for s, part in p.normal().groupby("site_id"):
        members = [p.area_row[i] for i in part["area_id"]]
        k = _components(members, nbrs)
        if k > 1:
            message = f"hub {s}'s catchment of {len(members)} areas is in {k} separate pieces"
            out.append(Violation("contiguity", message, (str(s),)))
    return out


def _hub_report_violations(p: _Plan) -> list[Violation]:
    """The hubs table's people and areas agree with the assignments."""
    if not {"population", "areas"} <= set(p.hubs.columns):
        return []
    n_areas = p.asg.groupby("site_id").size()
    out = []
    for r in p.hubs.assign(site_id=p.hubs["site_id"].astype(str)).itertuples(index=False):
        true_pop = float(p.hub_pop.get(r.site_id, 0.0))
        true_n = int(n_areas.get(r.site_id, 0))
        rep_pop = float(r.population) if pd.notna(r.population) else float("nan")
        rep_n = float(r.areas) if pd.notna(r.areas) else float("nan")
        if not math.isclose(rep_pop, true_pop, rel_tol=1e-9, abs_tol=1e-6) or rep_n != true_n:
            message = (
                f"hub {r.site_id} reports {rep_pop:,.0f} people in {rep_n:.0f} areas, "
                f"but its assignments hold {true_pop:,.0f} people in {true_n} areas"
            )
            out.append(Violation("hub_report", message, (r.site_id,)))
    return out


def _hub_kind_violations(
    open_set: set[str], asg: pd.DataFrame, areas: pd.DataFrame, sites: pd.DataFrame, rules: Any
) -> list[Violation]:
    """``min_hubs_by_kind`` and ``kind_in_every_group``."""
    out: list[Violation] = []
    need = dict(_get(rules, "min_hubs_by_kind", None) or {})
    every = _get(rules, "kind_in_every_group", None)
    if not need and every is None:
        return out
    kind_of = dict(zip(sites["site_id"].astype(str), sites["kind"].astype(str), strict=True))
    open_kinds = [kind_of.get(s) for s in open_set]
    for kind, n in need.items():
        have = open_kinds.count(str(kind))
        if have < int(n):
            out.append(
                Violation(
                    "hub_kind",
                    f"{have} hubs are on {kind} sites, fewer than min_hubs_by_kind {kind} = {n}",
                )
            )
    if every is None:
        return out
    if "group" not in areas:
        return out + [Violation("hub_kind", "the areas have no 'group' column to check")]
    group_of = dict(zip(areas["area_id"].astype(str), areas["group"].astype(str), strict=True))
    served = asg[
        ~asg["exception"].to_numpy(dtype=bool)
        & asg["site_id"].isin(open_set).to_numpy()
        & asg["site_id"].map(kind_of).eq(every).to_numpy()
    ]
    covered = set(served["area_id"].map(group_of).dropna())
    lacking = sorted(set(group_of.values()) - covered)
    if lacking:
        out.append(
            Violation(
                "hub_kind",
                f"{len(lacking)} groups have no polysystem whose hub is on a {every} site: "
                f"{_examples(lacking)}",
                tuple(lacking),
            )
        )
    return out


def assert_valid(
    plan: Any,
    areas: pd.DataFrame,
    sites: pd.DataFrame,
    travel: pd.DataFrame,
    rules: Any,
    *,
    options: pd.DataFrame | None = None,
    adjacency: Any = None,
) -> None:
    """Raise :class:`InvalidPlanError` listing every violation, if any.

    Same parameters as :func:`check`.
    """
    violations = check(plan, areas, sites, travel, rules, options=options, adjacency=adjacency)
    if violations:
        raise InvalidPlanError(violations)
