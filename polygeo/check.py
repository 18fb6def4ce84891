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
    out: list[Violation] = []
    a = plan.assignments
    hubs = plan.hubs
    area_ids = areas["area_id"].astype(str).to_numpy(dtype=object)
    site_ids = sites["site_id"].astype(str).to_numpy(dtype=object)
    area_row = {k: i for i, k in enumerate(area_ids)}
    site_set = set(site_ids)
    pop = dict(zip(area_ids, areas["population"].astype(float), strict=True))
    allow_exc = bool(_get(rules, "allow_exceptions", False))

    asg = pd.DataFrame(
        {
            "area_id": a["area_id"].astype(str).to_numpy(dtype=object),
            "site_id": a["site_id"].astype(str).to_numpy(dtype=object),
            "minutes": a["minutes"].astype(float).to_numpy(),
            "exception": (
                a["exception"].astype(bool).to_numpy()
                if "exception" in a
                else np.zeros(len(a), dtype=bool)
            ),
        }
    )
    hub = pd.DataFrame(
        {
            "site_id": hubs["site_id"].astype(str).to_numpy(dtype=object),
            "option": (
                hubs["option"].astype(str).to_numpy(dtype=object)
                if "option" in hubs
                else np.full(len(hubs), "reuse", dtype=object)
            ),
            "capital_cost": (
                hubs["capital_cost"].astype(float).to_numpy()
                if "capital_cost" in hubs
                else np.zeros(len(hubs))
            ),
        }
    )

    # ids
    bad_a = sorted(set(asg["area_id"]) - set(area_ids))
    bad_s = sorted((set(asg["site_id"]) | set(hub["site_id"])) - site_set)
    if bad_a:
        out.append(
            Violation(
                "unknown_id",
                f"{len(bad_a)} assigned area ids are not in the areas: {_examples(bad_a)}",
                tuple(bad_a),
            )
        )
    if bad_s:
        out.append(
            Violation(
                "unknown_id",
                f"{len(bad_s)} site ids in the plan are not in the sites: {_examples(bad_s)}",
                tuple(bad_s),
            )
        )

    # coverage and duplicates
    counts = asg["area_id"].value_counts()
    missing = [i for i in area_ids if i not in counts.index]
    if missing:
        people = sum(pop[i] for i in missing)
        out.append(
            Violation(
                "coverage",
                f"{len(missing)} areas ({people:,.0f} people) are not assigned to any hub: "
                f"{_examples(missing)}",
                tuple(missing),
            )
        )
    dups = sorted(counts.index[counts > 1])
    if dups:
        out.append(
            Violation(
                "duplicate",
                f"{len(dups)} areas are assigned more than once: {_examples(dups)}",
                tuple(dups),
            )
        )
    hub_counts = hub["site_id"].value_counts()
    twice = sorted(hub_counts.index[hub_counts > 1])
    if twice:
        out.append(
            Violation(
                "one_option",
                f"{len(twice)} hubs are listed more than once (one option per hub): "
                f"{_examples(twice)}",
                tuple(twice),
            )
        )

    # assigned to open hubs only
    open_set = set(hub["site_id"])
    closed = sorted(set(asg["site_id"]) - open_set)
    if closed:
        areas_there = asg.loc[asg["site_id"].isin(closed), "area_id"].tolist()
        out.append(
            Violation(
                "open_hub",
                f"{len(areas_there)} areas are assigned to sites that are not open hubs "
                f"({_examples(closed)})",
                tuple(closed),
            )
        )

    # options
    if options is None:
        opts = pd.DataFrame(
            {
                "site_id": site_ids,
                "option": "reuse",
                "capital_cost": 0.0,
                "capacity": np.nan,
            }
        )
    else:
        opts = pd.DataFrame(
            {
                "site_id": options["site_id"].astype(str).to_numpy(dtype=object),
                "option": options["option"].astype(str).to_numpy(dtype=object),
                "capital_cost": options["capital_cost"].astype(float).to_numpy(),
                "capacity": (
                    options["capacity"].astype(float).to_numpy()
                    if "capacity" in options
                    else np.full(len(options), np.nan)
                ),
            }
        )
    opt_map = {
        (s, o): (c, u)
        for s, o, c, u in zip(
            opts["site_id"], opts["option"], opts["capital_cost"], opts["capacity"], strict=True
        )
    }
    capital = 0.0
    capacity: dict[str, float] = {}
    for s, o, c in zip(hub["site_id"], hub["option"], hub["capital_cost"], strict=True):
        if (s, o) not in opt_map:
            out.append(
                Violation(
                    "option",
                    f"hub {s} uses option {o!r}, which is not one of its capital options",
                    (s,),
                )
            )
            capital += c
            continue
        cost, cap = opt_map[(s, o)]
        capital += cost
        if not math.isclose(cost, c, rel_tol=1e-9, abs_tol=1e-6):
            out.append(
                Violation(
                    "option",
                    f"hub {s} reports capital cost {c:,.2f} for option {o!r}, but the options "
                    f"table says {cost:,.2f}",
                    (s,),
                )
            )
        if not np.isnan(cap):
            capacity[s] = cap

    # populations per hub
    asg["population"] = asg["area_id"].map(pop).fillna(0.0)
    hub_pop = asg.groupby("site_id")["population"].sum()
    p_min = float(_get(rules, "min_population", 0.0) or 0.0)
    p_max = _get(rules, "max_population")
    for s in hub["site_id"].drop_duplicates():
        people = float(hub_pop.get(s, 0.0))
        if people < p_min * (1 - _TOL) - _TOL:
            out.append(
                Violation(
                    "min_population",
                    f"hub {s} serves {people:,.0f} people, fewer than min_population {p_min:,.0f}",
                    (s,),
                )
            )
        if p_max is not None and people > p_max * (1 + _TOL) + _TOL:
            out.append(
                Violation(
                    "max_population",
                    f"hub {s} serves {people:,.0f} people, more than max_population {p_max:,.0f}",
                    (s,),
                )
            )
        if s in capacity and people > capacity[s] * (1 + _TOL) + _TOL:
            out.append(
                Violation(
                    "capacity",
                    f"hub {s} serves {people:,.0f} people, more than its option's capacity "
                    f"{capacity[s]:,.0f}",
                    (s,),
                )
            )

    # travel limit and minutes
    table = pd.DataFrame(
        {
            "area_id": travel["area_id"].astype(str).to_numpy(dtype=object),
            "site_id": travel["site_id"].astype(str).to_numpy(dtype=object),
            "table_minutes": travel["minutes"].astype(float).to_numpy(),
        }
    )
    merged = asg.merge(table, on=["area_id", "site_id"], how="left")
    outside = merged["table_minutes"].isna().to_numpy()
    exc = merged["exception"].to_numpy(dtype=bool)
    flagged = merged.loc[exc, "area_id"].tolist()
    if flagged and not allow_exc:
        out.append(
            Violation(
                "exception",
                f"{len(flagged)} areas are flagged as exceptions but the rules do not allow "
                f"exceptions: {_examples(flagged)}",
                tuple(flagged),
            )
        )
    beyond = outside & ~(exc & allow_exc)
    if beyond.any():
        ids = merged.loc[beyond, "area_id"].tolist()
        pairs = [f"{r.area_id}->{r.site_id}" for r in merged[beyond].head(5).itertuples()]
        out.append(
            Violation(
                "travel_limit",
                f"{len(ids)} areas are assigned to a hub beyond their travel limit (pair not in "
                f"the travel table): {', '.join(pairs)}",
                tuple(ids),
            )
        )
    inside = ~outside
    diff = np.abs(merged["minutes"].to_numpy() - merged["table_minutes"].to_numpy())
    wrong = inside & ~(diff <= 1e-3 + 1e-5 * np.abs(merged["table_minutes"].to_numpy()))
    if wrong.any():
        rows = merged[wrong]
        ids = rows["area_id"].tolist()
        first = rows.iloc[0]
        out.append(
            Violation(
                "minutes",
                f"{len(ids)} assignments report minutes that differ from the travel table, e.g. "
                f"{first['area_id']}->{first['site_id']}: {first['minutes']:.2f} in the plan, "
                f"{first['table_minutes']:.2f} in the table",
                tuple(ids),
            )
        )

    # required / forbidden
    req = [str(s) for s in (_get(rules, "required_sites", ()) or ())]
    forb = [str(s) for s in (_get(rules, "forbidden_sites", ()) or ())]
    closed_req = [s for s in req if s not in open_set]
    if closed_req:
        out.append(
            Violation(
                "required",
                f"required sites are not open as hubs: {_examples(closed_req)}",
                tuple(closed_req),
            )
        )
    open_forb = [s for s in forb if s in open_set]
    if open_forb:
        out.append(
            Violation(
                "forbidden",
                f"forbidden sites are open as hubs: {_examples(open_forb)}",
                tuple(open_forb),
            )
        )

    # budget and hub count
    budget = _get(rules, "budget")
    if budget is not None and capital > budget * (1 + 1e-9) + _TOL:
        out.append(
            Violation(
                "budget",
                f"the capital total {capital:,.0f} exceeds the budget {budget:,.0f}",
                tuple(hub["site_id"]),
            )
        )
    lo, hi = _hub_bounds(_get(rules, "hubs"))
    n_hubs = len(open_set)
    if lo is not None and n_hubs < lo:
        out.append(Violation("hubs", f"{n_hubs} hubs are open, fewer than the minimum {lo}"))
    if hi is not None and n_hubs > hi:
        out.append(Violation("hubs", f"{n_hubs} hubs are open, more than the maximum {hi}"))
    out += _hub_kind_violations(open_set, asg, areas, sites, rules)

    # within group / contiguity (exceptions exempt when allowed)
    normal = asg[~(asg["exception"].to_numpy(dtype=bool) & allow_exc)]
    normal = normal[normal["area_id"].isin(area_row)]
    if _get(rules, "within_group", False) and "group" in areas:
        grp = dict(zip(area_ids, areas["group"].astype(str), strict=True))
        g = normal.assign(group=normal["area_id"].map(grp))
        spans = g.groupby("site_id")["group"].nunique()
        for s in spans.index[spans > 1]:
            names = sorted(g.loc[g["site_id"] == s, "group"].unique())
            out.append(
                Violation(
                    "within_group",
                    f"hub {s}'s catchment spans {len(names)} groups: {_examples(names)}",
                    (str(s),),
                )
            )
    elif _get(rules, "within_group", False):
        out.append(Violation("within_group", "the areas have no 'group' column to check"))
    if _get(rules, "contiguous", False):
        if adjacency is None:
            nbrs = _queen_adjacency(areas)
        else:
            nbrs = _neighbours(adjacency, len(area_ids))
        for s, part in normal.groupby("site_id"):
            members = [area_row[i] for i in part["area_id"]]
            k = _components(members, nbrs)
            if k > 1:
                out.append(
                    Violation(
                        "contiguity",
                        f"hub {s}'s catchment of {len(members)} areas is in {k} separate pieces",
                        (str(s),),
                    )
                )

    # the hubs table agrees with the assignments
    if {"population", "areas"} <= set(hubs.columns):
        n_areas = asg.groupby("site_id").size()
        rep = hubs.assign(site_id=hubs["site_id"].astype(str))
        for r in rep.itertuples(index=False):
            true_pop = float(hub_pop.get(r.site_id, 0.0))
            true_n = int(n_areas.get(r.site_id, 0))
            rep_pop = float(r.population) if pd.notna(r.population) else float("nan")
            rep_n = float(r.areas) if pd.notna(r.areas) else float("nan")
            if not math.isclose(rep_pop, true_pop, rel_tol=1e-9, abs_tol=1e-6) or rep_n != true_n:
                out.append(
                    Violation(
                        "hub_report",
                        f"hub {r.site_id} reports {rep_pop:,.0f} people in {rep_n:.0f} areas, "
                        f"but its assignments hold {true_pop:,.0f} people in {true_n} areas",
                        (r.site_id,),
                    )
                )
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
