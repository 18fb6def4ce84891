"""Reduced-cost fixing and counting rows: a smaller, tighter MIP for the solver.

With the Lagrangian bound ``L`` (:mod:`.bound`) and an incumbent of objective
``U``, any plan that opens site ``j`` costs at least ``L + penalty_j``, and any
plan using pair ``(i, j)`` at least ``L + penalty_ij``. Pairs and sites whose
bound exceeds the threshold ``T = U - tolerance * |U|`` cannot be part of a plan
better than ``T`` and are removed before the solver sees the model; the
incumbent's own pairs and sites are always kept. The solver's bound on the
smaller model then holds for the whole problem only up to ``T``:
``bound = max(L, min(solver bound, T))`` (:func:`global_bound`).

The counting rows the bound found (hub count ``<= floor(P / P_min)``, per group,
per region) are added to the model as rows of kind ``"count"``: every plan
meets them, and they lift the solver's LP as much as they lift the bound.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from polygeo.optimise.bound import LagrangianBound
from polygeo.optimise.model import Model, build_model
from polygeo.optimise.problem import restrict_problem

log = logging.getLogger("polygeo")


@dataclass
class Fixing:
    """What reduced-cost fixing keeps.

    Attributes
    ----------
    keep_pairs, keep_options
        Per pair and per option of the model: kept.
    threshold
        Plans using a removed pair or site cost more than this.
    proved
        No plan can beat ``threshold`` at all (some area lost every pair, or a
        site that must open was removed): the incumbent is within the tolerance.
    """

    keep_pairs: np.ndarray
    keep_options: np.ndarray
    threshold: float
    proved: bool

    @property
    def pairs_removed(self) -> int:
        return int((~self.keep_pairs).sum())


def reduced_cost_fixing(
    model: Model,
    lb: LagrangianBound,
    upper: float,
    *,
    tolerance: float = 0.0,
    incumbent: np.ndarray | None = None,
) -> Fixing:
    """Pairs and options that can be part of a plan better than the threshold.

    Parameters
    ----------
    model
        The model the bound was computed on.
    lb
        Its Lagrangian bound (penalties included).
    upper
        The incumbent's objective.
    tolerance
        Relative: remove what cannot beat ``upper * (1 - tolerance)``.
    incumbent
        The incumbent's column vector; its pairs and sites are kept.

    Returns
    -------
    Fixing
    """
    p = model.problem
    threshold = upper - tolerance * abs(upper) + 1e-9 * max(abs(upper), 1.0)
    keep_item = lb.value + lb.item_penalty <= threshold
    keep_pairs = np.zeros(model.n_x, dtype=bool)
    np.logical_or.at(keep_pairs, lb.item_pair, keep_item)
    keep_site = lb.value + lb.site_penalty <= threshold
    if incumbent is not None:
        x = incumbent[: model.n_x] > 0.5
        keep_pairs |= x
        keep_site[p.pair_site[x]] = True
    keep_pairs &= keep_site[p.pair_site]
    if p.rules.contiguous:
        # a site without its home pair cannot hold its home area
        home_kept = np.zeros(p.n_sites, dtype=bool)
        is_home = keep_pairs & (p.home[p.pair_site] == p.pair_area)
        home_kept[p.pair_site[is_home]] = True
        keep_site &= home_kept | ~np.isin(np.arange(p.n_sites), p.pair_site)
        keep_pairs &= keep_site[p.pair_site]
    served = np.bincount(p.pair_area[keep_pairs], minlength=p.n_areas) > 0
    needed = np.bincount(p.pair_area, minlength=p.n_areas) > 0
    proved = bool((needed & ~served).any() or (p.must_open & ~keep_site).any())
    keep_options = keep_site[p.opt_site]
    log.info(
        "reduced-cost fixing: %s of %s pairs and %s of %s options kept (threshold %.6g)",
        *(f"{int(n):,}" for n in (keep_pairs.sum(), model.n_x, keep_options.sum(), model.n_y)),
        threshold,
    )
    return Fixing(keep_pairs, keep_options, threshold, proved)


def restricted_model(model: Model, fixing: Fixing) -> tuple[Model, np.ndarray]:
    """The model on the kept pairs and options, and the map of its pairs to the old ones."""
    sub = restrict_problem(model.problem, fixing.keep_pairs, fixing.keep_options)
    from polygeo.optimise.flow import contiguity_formulation

    sub_model = contiguity_formulation(
        build_model(sub, linking=model.linking, weights=model.weights)
    )
    return sub_model, np.flatnonzero(fixing.keep_pairs)


def global_bound(lagrangian: float | None, solver: float | None, threshold: float | None) -> float:
    """The best bound valid for the whole problem.

    ``solver`` is the solver's bound on the model after fixing (``None``: none),
    which holds for the whole problem only up to ``threshold``.
    """
    best = -math.inf if lagrangian is None else lagrangian
    if solver is not None:
        s = solver if threshold is None else min(solver, threshold)
        best = max(best, s)
    return best


def count_rows(model: Model, lb: LagrangianBound | None) -> tuple[sp.csr_array, np.ndarray]:
    """The counting rows every plan meets, as rows over the model's columns.

    The global row ``sum y <= floor(P / P_min)`` always (when it can bind); the
    group and region rows the bound used, when there is a bound.
    """
    p = model.problem
    y0 = model.n_x
    rows: list[np.ndarray] = []
    rhs: list[float] = []
    p_min = float(p.rules.min_population)
    if p_min > 0 and model.n_y:
        k_all = math.floor(float(p.population[np.unique(p.pair_area)].sum()) / p_min + 1e-9)
        if k_all < len(np.unique(p.opt_site)):
            rows.append(y0 + np.arange(model.n_y))
            rhs.append(float(k_all))
    if lb is not None and lb.structure is not None:
        s = lb.structure
        for kind, group, sites, k in zip(
            s.cut_kind, s.cut_group, s.cut_sites, s.cut_rhs.tolist(), strict=True
        ):
            cols = _group_columns(model, group) if kind == "group" else _site_columns(model, sites)
            if len(cols):
                rows.append(cols)
                rhs.append(float(k))
    if not rows:
        return sp.csr_array((0, model.n_cols)), np.zeros(0)
    r_idx = np.concatenate([np.full(len(c), i) for i, c in enumerate(rows)])
    A = sp.csr_array(
        (np.ones(len(r_idx)), (r_idx, np.concatenate(rows))), shape=(len(rows), model.n_cols)
    )
    return A, np.asarray(rhs)


def with_count_rows(model: Model, lb: LagrangianBound | None = None) -> Model:
    """``model`` with its counting rows (:func:`count_rows`) added as rows of kind ``"count"``.

    The rows cut off no plan, and they lift the LP where catchments are packed
    tightly: a neighbourhood of 16 London hubs holds fewer than 17 hubs' worth of
    people, but its LP opens up to that many hubs fractionally without the row.

    Parameters
    ----------
    model
        Any model of the problem (the whole one, a neighbourhood's, a kernel's).
    lb
        The bound whose group and region rows to add too (default: the global row
        only).

    Returns
    -------
    Model
        ``model`` itself when no row can bind, else a copy with the rows (``model``
        is not changed).
    """
    A, rhs = count_rows(model, lb)
    if not A.shape[0]:
        return model
    counted = dataclasses.replace(model, row_kinds=dict(model.row_kinds))
    counted.add_rows(A, np.full(len(rhs), -np.inf), rhs, "count")
    return counted


def _site_columns(model: Model, sites: np.ndarray) -> np.ndarray:
    """The option columns of some sites."""
    return model.n_x + np.flatnonzero(np.isin(model.problem.opt_site, sites))


def _group_columns(model: Model, group: int) -> np.ndarray:
    """Columns that count hubs serving a group: its z columns, and the option columns
    of sites without z columns whose ordinary pairs lie in the group."""
    p = model.problem
    z_cols = model.n_x + model.n_y + np.flatnonzero(model.z_group == group)
    normal = ~p.pair_exception
    in_group = np.unique(p.pair_site[normal & (p.group[p.pair_area] == group)])
    single = in_group[~np.isin(in_group, model.z_site)]
    return np.concatenate([z_cols, _site_columns(model, single)])
