"""Sites chosen by several groups: a small branch and bound over the shared sites.

Under ``within_group`` each group is solved with every site it reaches (see
:mod:`.parts`), so a border site may hold a hub in two groups' plans. A node of
the search says, per group, which sites it may not use. A node with a shared
site ``s``, chosen by groups ``K``, branches into one child per ``k`` in ``K``:
``k`` may keep ``s``, the other groups of ``K`` may not. Every plan lets at most
one group use ``s``, so the children cover every plan of their parent, and the
search is exact:

* a node's bound is the sum of its groups' bounds (a group with fewer sites can
  only do worse, so a child keeps its parent's bound where its own is lower);
* a node without a shared site is a plan;
* the bound of the whole problem is the least bound over the nodes not branched
  on (those left open when time runs out, the plans, and those cut off by the
  incumbent).

The search first dives (the group with the largest catchment at a shared site
keeps it), so that a plan exists early, then takes the open node of least bound.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from polygeo.errors import InfeasibleError, SolverError
from polygeo.plan import Plan

log = logging.getLogger("polygeo")

__all__ = ["GroupSolve", "Node", "resolve_shared_sites"]

#: ``solve_group(k, dropped_site_ids, seconds) -> Plan`` (raises when no plan).
GroupSolve = Callable[[int, frozenset[str], float | None], Plan]


@dataclass
class Node:
    """Per group: the sites it may not use, its plan (``None``: no plan) and bound.

    ``infeasible``: a group has no plan without its sites (proven); ``unknown``: a
    group's solve found no plan in its time (the node keeps its parent's bound).
    """

    dropped: tuple[frozenset[str], ...]
    plans: list[Plan | None]
    bounds: list[float]
    infeasible: bool = False
    unknown: bool = False
    shared: dict[str, list[int]] = field(default_factory=dict)

    @property
    def bound(self) -> float:
        return float(sum(self.bounds))

    @property
    def objective(self) -> float:
        if self.infeasible or any(p is None for p in self.plans) or self.shared:
            return math.inf
        return float(sum(p.solver["objective"] for p in self.plans))  # type: ignore[union-attr]


@dataclass
class Outcome:
    """The best node without shared sites (``None``: none found) and the bound."""

    best: Node | None
    bound: float | None
    nodes: int
    solves: int


def shared_sites(plans: list[Plan | None]) -> dict[str, list[int]]:
    """Site id -> the groups whose plans put a hub there, for sites of two or more."""
    users: dict[str, list[int]] = {}
    for k, plan in enumerate(plans):
        if plan is not None:
            for site_id in plan.hubs["site_id"].astype(str):
                users.setdefault(site_id, []).append(k)
    return {s: ks for s, ks in sorted(users.items()) if len(ks) > 1}


def _bound_of(plan: Plan) -> float:
    bound = plan.solver.get("bound")
    return -math.inf if bound is None else float(bound)


class _Search:
    def __init__(
        self, solve_group: GroupSolve, plans: list[Plan], deadline: float | None, gap: float
    ) -> None:
        self.solve_group, self.deadline, self.gap = solve_group, deadline, gap
        self.cache: dict[tuple[int, frozenset[str]], Plan | str] = {}
        self.solves = 0
        self.nodes = 1
        dropped = tuple(frozenset() for _ in plans)
        for k, plan in enumerate(plans):
            self.cache[(k, frozenset())] = plan
        self.root = Node(dropped, list(plans), [_bound_of(p) for p in plans])
        self.root.shared = shared_sites(self.root.plans)

    def seconds(self, share: float) -> float | None:
        if self.deadline is None:
            return None
        return max(share * (self.deadline - time.perf_counter()), 1.0)

    def timed_out(self) -> bool:
        return self.deadline is not None and time.perf_counter() >= self.deadline

    def group_plan(self, k: int, dropped: frozenset[str], share: float) -> Plan | str:
        """Group ``k``'s plan without ``dropped``, or ``"infeasible"`` / ``"unknown"``."""
        key = (k, dropped)
        if key not in self.cache:
            self.solves += 1
            try:
                self.cache[key] = self.solve_group(k, dropped, self.seconds(share))
            except InfeasibleError:
                self.cache[key] = "infeasible"
            except SolverError as e:  # no plan in its time: nothing proven
                log.info("group %d without %d sites: %s", k, len(dropped), e)
                self.cache[key] = "unknown"
        return self.cache[key]

    def children(self, node: Node) -> Iterator[Node]:
        """The node's children, the largest catchment at the shared site keeping it first."""
        site, groups = next(iter(node.shared.items()))
        for keeper in sorted(groups, key=lambda k: -_population_at(node.plans[k], site)):
            dropped = tuple(
                d | {site} if (k in groups and k != keeper) else d
                for k, d in enumerate(node.dropped)
            )
            yield self.child(node, dropped)

    def child(self, parent: Node, dropped: tuple[frozenset[str], ...]) -> Node:
        self.nodes += 1
        plans, bounds = list(parent.plans), list(parent.bounds)
        changed = [k for k, d in enumerate(dropped) if d != parent.dropped[k]]
        for i, k in enumerate(changed):
            plan = self.group_plan(k, dropped[k], 1.0 / (2 * (len(changed) - i)))
            if isinstance(plan, str):
                plans[k] = None
                failed = plan == "infeasible"
                return Node(dropped, plans, bounds, infeasible=failed, unknown=not failed)
            plans[k] = plan
            bounds[k] = max(bounds[k], _bound_of(plan))
        node = Node(dropped, plans, bounds)
        node.shared = shared_sites(plans)
        return node


def _population_at(plan: Plan | None, site: str) -> float:
    if plan is None:
        return 0.0
    hubs = plan.hubs
    return float(hubs.loc[hubs["site_id"].astype(str) == site, "population"].sum())


def resolve_shared_sites(
    solve_group: GroupSolve, plans: list[Plan], deadline: float | None, gap: float
) -> Outcome:
    """Search for the best plan in which no site holds a hub for two groups.

    Parameters
    ----------
    solve_group
        Solves group ``k`` without the given sites in at most the given seconds;
        raises :class:`~polygeo.errors.InfeasibleError` or
        :class:`~polygeo.errors.SolverError` when it has no plan.
    plans
        Each group's plan with every site it reaches (the root node).
    deadline
        ``time.perf_counter()`` by which to stop (``None``: run to the end).
    gap
        Nodes whose bound is within this relative gap of the incumbent are not
        branched on.

    Returns
    -------
    Outcome
        The best node without shared sites, the bound over the whole search, and
        the numbers of nodes and group solves.
    """
    search = _Search(solve_group, plans, deadline, gap)
    root = search.root
    if not root.shared:
        return Outcome(root, root.bound, 1, 0)
    best = _dive(search, root)
    frontier: list[float] = []  # bounds of the nodes not branched on
    counter = itertools.count()
    heap = [(root.bound, next(counter), root)]
    while heap:
        bound, _, node = heapq.heappop(heap)
        if search.timed_out() or (best is not None and bound >= best.objective * (1 - gap)):
            frontier.append(bound)
            frontier.extend(b for b, _, _ in heap)
            break
        for kid in search.children(node):
            if kid.infeasible:
                continue
            if kid.unknown:
                frontier.append(kid.bound)
            elif kid.shared:
                heapq.heappush(heap, (kid.bound, next(counter), kid))
            else:
                frontier.append(kid.bound)
                if best is None or kid.objective < best.objective:
                    best = kid
    if best is not None:
        frontier.append(best.bound)
    lower = min(frontier) if frontier else None
    log.info(
        "shared sites: %d nodes, %d group solves, best %s, bound %s",
        search.nodes,
        search.solves,
        None if best is None else f"{best.objective:.6g}",
        lower,
    )
    return Outcome(best, None if lower is None or not np.isfinite(lower) else lower,
                   search.nodes, search.solves)  # fmt: skip


def _dive(search: _Search, node: Node) -> Node | None:
    """Follow the first child (largest catchment keeps the site) down to a plan."""
    while node.shared and not search.timed_out():
        kid = next((k for k in search.children(node) if not (k.infeasible or k.unknown)), None)
        if kid is None:
            return None
        node = kid
    return None if node.shared else node
