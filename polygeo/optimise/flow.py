"""Contiguity as a single-commodity flow from each hub (Shirabe's model), as arrays.

HiGHS has no lazy-constraint callback, so the cut model of :mod:`.contiguity` is
solved in rounds (solve, cut, solve again) and every round starts a new
branch-and-bound. The flow model states contiguity in full up front: each site
``j`` owns a commodity that its home area ``h_j`` sends along area adjacencies,
and every other area ``i`` of its catchment must absorb its weight ``w_i`` of it::

    sum_{u ~ i} f^j_ui - sum_{u ~ i} f^j_iu = w_i x_ij      (balance, i != h_j)
    sum_{u ~ i} f^j_ui <= M_j x_ij                           (capacity, i != h_j)
    f^j_uh_j = 0;  0 <= f^j_uv <= M_j

Flow can only enter an area of ``j``'s catchment, and every unit reaches its
area from the home area, so each catchment is connected. Arcs exist only between areas that
both have a (non-exception) pair with site ``j``: areas ``j`` cannot serve carry
no flow for it. Exceptions are exempt from contiguity, as in the cut model.

Flow is counted in people (plus one per area, so that areas without people count
too) rather than in areas: the capacity row is then as tight as the population
rule, ``M_j`` being the most people site ``j`` may serve less its home area's.

This is the ``shir`` model of Validi, Buchanan and Lykhovyd (Operations Research
70(2), 2022; github:zhelih/districting ``hess/flow.cpp``) on polygeo's pairs.

The flow columns come after the model's ``x``, ``y`` and ``z`` columns and are
continuous: an integral plan always has an integral flow (a spanning tree of each
catchment), so only ``x`` and ``y`` need branching.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import breadth_first_order

from polygeo.optimise.model import Model


@dataclass
class Arcs:
    """Flow arcs: commodity (site) ``j`` from area ``tail`` into area ``head``.

    ``head_pair`` / ``tail_pair`` are the model's pair columns ``(head, j)`` and
    ``(tail, j)``; ``cap`` is ``M_j`` per arc.
    """

    head_pair: np.ndarray
    tail_pair: np.ndarray
    cap: np.ndarray

    def __len__(self) -> int:
        return len(self.head_pair)


def _pair_lookup(model: Model, area: np.ndarray, site: np.ndarray) -> np.ndarray:
    """Pair column of each ``(area, site)``, ``-1`` where there is none."""
    p = model.problem
    all_keys = p.pair_site.astype(np.int64) * p.n_areas + p.pair_area
    order = np.argsort(all_keys, kind="stable")
    keys = all_keys[order]
    want = site.astype(np.int64) * p.n_areas + area
    if len(keys) == 0:
        return np.full(len(want), -1, dtype=np.int64)
    pos = np.minimum(np.searchsorted(keys, want), len(keys) - 1)
    return np.where(keys[pos] == want, order[pos], -1)


def flow_arcs(model: Model) -> Arcs:
    """Every arc ``(u -> v)`` of every site's commodity, as pair columns."""
    p = model.problem
    adj = sp.csr_array(p.adjacency)
    usable = ~p.pair_exception
    head = np.flatnonzero(usable & (p.pair_area != p.home[p.pair_site]))
    indptr, indices = adj.indptr, adj.indices
    start = indptr[p.pair_area[head]]
    deg = indptr[p.pair_area[head] + 1] - start
    rep = np.repeat(np.arange(len(head)), deg)
    offset = np.arange(int(deg.sum())) - np.repeat(np.cumsum(deg) - deg, deg)
    tail_area = indices[np.repeat(start, deg) + offset]
    head_pair = head[rep]
    tail_pair = _pair_lookup(model, tail_area, p.pair_site[head_pair])
    ok = tail_pair >= 0
    ok[ok] &= usable[tail_pair[ok]]
    head_pair, tail_pair = head_pair[ok], tail_pair[ok]
    site_cap = _site_flow_capacity(model)
    cap = site_cap[p.pair_site[head_pair]]
    return Arcs(head_pair.astype(np.int64), tail_pair.astype(np.int64), cap)


def area_weight(model: Model) -> np.ndarray:
    """Flow each area absorbs: its people plus one (so that empty areas count too)."""
    return model.problem.population + 1.0


def _site_flow_capacity(model: Model) -> np.ndarray:
    """Most flow a site's home sends: its capacity (or reach), less its home's weight.

    Flow is measured in people (plus one per area), so the capacity row is as
    tight as the population rule: a catchment never holds more than its largest
    option's capacity, nor more than the site can reach.
    """
    p = model.problem
    w = area_weight(model)
    usable = ~p.pair_exception
    reach = np.bincount(p.pair_site[usable], weights=w[p.pair_area[usable]], minlength=p.n_sites)
    count = np.bincount(p.pair_site[usable], minlength=p.n_sites)
    cap = np.zeros(p.n_sites)
    np.maximum.at(cap, p.opt_site, p.opt_cap)
    home_w = np.where(p.home >= 0, w[np.maximum(p.home, 0)], 0.0)
    return np.maximum(np.minimum(cap + count, reach) - home_w, 0.0)


@dataclass
class FlowModel(Model):
    """A :class:`~polygeo.optimise.model.Model` with continuous flow columns appended."""

    n_f: int = 0
    arcs: Arcs | None = None

    @property
    def n_cols(self) -> int:
        return self.n_x + self.n_y + self.n_z + self.n_f

    @property
    def integer_columns(self) -> int:
        """Columns ``[0, integer_columns)`` are integer; the flows after them are not."""
        return self.n_x + self.n_y + self.n_z

    def complete(self, v: np.ndarray) -> np.ndarray:
        """The plan ``v`` with a feasible flow (see :func:`with_flows`)."""
        return with_flows(self, v)


def add_flow(model: Model) -> FlowModel:
    """The model with Shirabe's flow rows and columns for contiguity.

    Parameters
    ----------
    model
        A model built with ``contiguous`` rules (home areas and adjacency set).

    Returns
    -------
    FlowModel
        A new model; ``model`` is left as it was.
    """
    p = model.problem
    arcs = flow_arcs(model)
    F = len(arcs)
    n0 = model.n_x + model.n_y + model.n_z
    # one balance and one capacity row per head pair (non-home, non-exception)
    heads = np.unique(arcs.head_pair)
    row_of = np.full(model.n_x, -1, dtype=np.int64)
    row_of[heads] = np.arange(len(heads))
    H = len(heads)
    fcol = n0 + np.arange(F)
    tail_has_row = row_of[arcs.tail_pair] >= 0
    w_head = area_weight(model)[p.pair_area[heads]]
    big_m = _site_flow_capacity(model)[p.pair_site[heads]]
    rows = np.concatenate(
        [
            row_of[arcs.head_pair],  # balance: inflow
            row_of[arcs.tail_pair[tail_has_row]],  # balance: outflow
            np.arange(H),  # balance: - x
            H + row_of[arcs.head_pair],  # capacity: inflow
            H + np.arange(H),  # capacity: - M x
        ]
    )
    cols = np.concatenate([fcol, fcol[tail_has_row], heads, fcol, heads])
    vals = np.concatenate([np.ones(F), -np.ones(int(tail_has_row.sum())), -w_head])
    vals = np.concatenate([vals, np.ones(F), -big_m])
    n_cols = n0 + F
    block = sp.coo_array((vals, (rows, cols)), shape=(2 * H, n_cols)).tocsr()
    A = sp.vstack([sp.hstack([model.A, sp.csr_array((model.n_rows, F))]), block], format="csr")
    kinds = dict(model.row_kinds)
    kinds["flow_balance"] = (model.n_rows, H)
    kinds["flow_capacity"] = (model.n_rows + H, H)
    # a non-home area with no arc in can never join the catchment (no balance row)
    col_hi = model.col_hi.copy()
    orphan = ~p.pair_exception & (p.pair_area != p.home[p.pair_site])
    orphan[heads] = False
    col_hi[: model.n_x][orphan] = 0.0
    base = {f.name: getattr(model, f.name) for f in dataclasses.fields(Model)}
    base.update(
        A=A,
        c=np.concatenate([model.c, np.zeros(F)]),
        row_lo=np.concatenate([model.row_lo, np.zeros(H), np.full(H, -np.inf)]),
        row_hi=np.concatenate([model.row_hi, np.zeros(H), np.zeros(H)]),
        col_lo=np.concatenate([model.col_lo, np.zeros(F)]),
        col_hi=np.concatenate([col_hi, arcs.cap]),
        row_kinds=kinds,
    )
    return FlowModel(**base, n_f=F, arcs=arcs)


def with_flows(model: FlowModel, values: np.ndarray) -> np.ndarray:
    """Extend a plan (its first ``integer_columns`` values) with a feasible flow.

    Each catchment's flow runs along a breadth-first tree from its home area: the
    arc into an area carries the weight of the areas below it in the tree. Areas a
    catchment cannot reach along its own areas get no flow (the plan then breaks
    the balance rows, and :meth:`Model.is_feasible` says so).
    """
    p = model.problem
    arcs = model.arcs
    out = np.zeros(model.n_cols)
    n0 = model.integer_columns
    out[:n0] = values[:n0]
    x = values[: model.n_x] > 0.5
    on = x[arcs.head_pair] & x[arcs.tail_pair]
    idx = np.flatnonzero(on)
    if len(idx) == 0:
        return out
    # one graph over the model's pairs: the chosen arcs
    P = model.n_x
    graph = sp.csr_array(
        (np.ones(len(idx)), (arcs.tail_pair[idx], arcs.head_pair[idx])), shape=(P, P)
    )
    below = area_weight(model)[p.pair_area]
    arc_keys = arcs.tail_pair[idx].astype(np.int64) * P + arcs.head_pair[idx]
    sorter = np.argsort(arc_keys)
    home_pairs = _pair_lookup(model, p.home[np.unique(p.pair_site[x])], np.unique(p.pair_site[x]))
    for root in home_pairs[home_pairs >= 0]:
        if not x[root]:
            continue
        order, pred = breadth_first_order(graph, int(root), directed=True)
        for v in order[:0:-1]:  # leaves first; the root (order[0]) has no arc in
            below[pred[v]] += below[v]
        tree = order[1:]
        # the tree arc into v is the chosen arc (pred[v] -> v)
        key = pred[tree].astype(np.int64) * P + tree
        pos = sorter[np.searchsorted(arc_keys, key, sorter=sorter)]
        out[n0 + idx[pos]] = below[tree]
    return out


#: Largest number of flow arcs for which the flow model is built instead of the
#: cut loop (scripts/bench_districting.py: see BENCHMARKS.md, "Contiguity").
FLOW_MAX_ARCS = 10_000


def contiguity_formulation(model: Model, *, max_arcs: int | None = None) -> Model:
    """The model to solve for ``contiguous`` rules: with flow rows when small enough.

    Returns ``model`` itself (contiguity then comes from cut rounds) when the rules
    are not contiguous or the flow would need more than ``max_arcs`` arcs
    (default :data:`FLOW_MAX_ARCS`).
    """
    p = model.problem
    max_arcs = FLOW_MAX_ARCS if max_arcs is None else max_arcs
    if not p.rules.contiguous or p.adjacency is None:
        return model
    n_arcs = len(flow_arcs(model))
    if n_arcs > max_arcs:
        return model
    return add_flow(model)
