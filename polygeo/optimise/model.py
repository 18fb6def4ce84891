"""The MIP, built as arrays: a sparse constraint matrix and bound vectors.

Variables (all binary), in column order:

* ``x_k`` for every usable pair ``k = (i, j)``: area ``i`` belongs to hub ``j``;
* ``y_o`` for every capital option ``o`` of a viable site: open that site with it;
* ``z_(j,g)`` (``within_group`` only, for sites that reach several groups): hub ``j``
  serves group ``g``.

Rows (``row_lo <= A x <= row_hi``), writing ``u_j = sum_o y_jo``:

* ``assign``: ``sum_j x_ij = 1`` for every area;
* ``link``: ``x_ij - u_j <= 0`` per pair (disaggregated, the default; ``x_ij - z_jg``
  with groups), or ``sum_i x_ij - |I_j| u_j <= 0`` per site (aggregated); the
  pair of a hub's home area under ``contiguous`` is an equality;
* ``pop_min``: ``sum_i p_i x_ij - P_min u_j >= 0``;
* ``pop_max``: ``sum_i p_i x_ij - sum_o min(U_jo, P_max, reach_j) y_jo <= 0``;
* ``one_option``: ``sum_o y_jo <= 1`` (``= 1`` for sites that must open);
* ``group``: ``sum_g z_jg - u_j = 0``;
* ``budget``: ``sum c_jo y_jo <= B``; ``hubs``: ``L <= sum y <= U``;
* ``kind``: ``sum of y over the options of a quota's sites >= n`` (``min_hubs_by_kind``),
  and, per group for ``kind_in_every_group``, ``sum of x over the pairs of the group's
  areas with sites of the kind >= 1`` (see :mod:`.kinds`);
* ``cut``: contiguity cuts added between solves (see :mod:`.contiguity`).

The objective is ``w_travel * sum p_i (t_ij + penalty * exception_ij) x_ij +
w_cost * sum c_jo y_jo + w_hubs * sum y_jo``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import scipy.sparse as sp

from polygeo.optimise.problem import Problem

Linking = Literal["disaggregated", "aggregated"]


@dataclass
class Model:
    """A MIP in arrays: minimise ``c @ v`` subject to ``row_lo <= A @ v <= row_hi``,
    ``col_lo <= v <= col_hi``, ``v`` integer.

    Attributes
    ----------
    n_x, n_y, n_z
        Numbers of pair, option and group columns (in that order).
    row_kinds
        Row block name -> ``(first row, number of rows)``.
    weights
        Objective weights used, tie-break included (``travel_tiebreak``).
    """

    problem: Problem
    c: np.ndarray
    A: sp.csr_array
    row_lo: np.ndarray
    row_hi: np.ndarray
    col_lo: np.ndarray
    col_hi: np.ndarray
    n_x: int
    n_y: int
    n_z: int
    z_site: np.ndarray
    z_group: np.ndarray
    row_kinds: dict[str, tuple[int, int]]
    weights: dict[str, float]
    linking: str
    build_seconds: float = 0.0
    cuts: int = 0
    _pair_keys: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    _pair_order: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @property
    def n_cols(self) -> int:
        return self.n_x + self.n_y + self.n_z

    @property
    def n_rows(self) -> int:
        return self.A.shape[0]

    def pair_index(self, area: np.ndarray, site: int) -> np.ndarray:
        """Column of pair (area, site) for each area, ``-1`` where no such pair."""
        n = self.problem.n_areas
        want = np.int64(site) * n + np.asarray(area, dtype=np.int64)
        pos = np.searchsorted(self._pair_keys, want)
        pos = np.minimum(pos, max(len(self._pair_keys) - 1, 0))
        if len(self._pair_keys) == 0:
            return np.full(len(want), -1, dtype=np.int64)
        hit = self._pair_keys[pos] == want
        return np.where(hit, self._pair_order[pos], -1)

    @property
    def integer_columns(self) -> int:
        """Columns ``[0, integer_columns)`` are integer (all here; see :mod:`.flow`)."""
        return self.n_cols

    def complete(self, v: np.ndarray) -> np.ndarray:
        """Fill the columns that a plan's ``x``, ``y`` and ``z`` determine (none here)."""
        return v

    def objective_terms(self, v: np.ndarray) -> dict[str, float]:
        """Every objective term's value at solution ``v``."""
        p = self.problem
        x = v[: self.n_x] > 0.5
        y = v[self.n_x : self.n_x + self.n_y] > 0.5
        w = p.population[p.pair_area]
        return {
            "travel": float((w * p.pair_minutes)[x].sum()),
            "cost": float(p.opt_cost[y].sum()),
            "hubs": float(y.sum()),
            "exception": float((w * p.rules.exception_penalty)[x & p.pair_exception].sum()),
        }

    def objective_value(self, v: np.ndarray) -> float:
        return float(self.c @ v)

    def row_activity(self, v: np.ndarray) -> np.ndarray:
        return self.A @ v

    def is_feasible(self, v: np.ndarray, tol: float = 1e-6) -> bool:
        """Whether ``v`` satisfies every row and bound (integrality assumed)."""
        act = self.A @ v
        return bool(
            (act >= self.row_lo - tol).all()
            and (act <= self.row_hi + tol).all()
            and (v >= self.col_lo - tol).all()
            and (v <= self.col_hi + tol).all()
        )

    def cut_rows(
        self, cuts: list[tuple[int, np.ndarray, np.ndarray]]
    ) -> tuple[sp.csr_array, np.ndarray, np.ndarray]:
        """Rows for contiguity cuts ``x_ij - sum_{k in N} x_kj <= 0``.

        Parameters
        ----------
        cuts
            ``(site, part, boundary)``: a component of the site's catchment without
            its home area and the areas bordering it.
        """
        rows, cols, vals = [], [], []
        r = 0
        for site, part, boundary in cuts:
            left = self.pair_index(part, site)
            left = left[left >= 0]
            right = self.pair_index(boundary, site)
            right = right[right >= 0]
            for k in left:
                rows.append(np.full(1 + len(right), r))
                cols.append(np.concatenate([[k], right]))
                vals.append(np.concatenate([[1.0], -np.ones(len(right))]))
                r += 1
        if r == 0:
            empty = sp.csr_array((0, self.n_cols))
            return empty, np.zeros(0), np.zeros(0)
        A = sp.coo_array(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
            shape=(r, self.n_cols),
        ).tocsr()
        return A, np.full(r, -np.inf), np.zeros(r)

    def add_rows(self, A: sp.csr_array, lo: np.ndarray, hi: np.ndarray, kind: str) -> None:
        """Append rows (kept here so that :meth:`is_feasible` sees them)."""
        start = self.n_rows
        self.A = sp.vstack([self.A, A], format="csr")
        self.row_lo = np.concatenate([self.row_lo, lo])
        self.row_hi = np.concatenate([self.row_hi, hi])
        s, k = self.row_kinds.get(kind, (start, 0))
        self.row_kinds[kind] = (s, k + A.shape[0])


class _Rows:
    """Accumulates COO row blocks."""

    def __init__(self) -> None:
        self.r: list[np.ndarray] = []
        self.c: list[np.ndarray] = []
        self.v: list[np.ndarray] = []
        self.lo: list[np.ndarray] = []
        self.hi: list[np.ndarray] = []
        self.n = 0
        self.kinds: dict[str, tuple[int, int]] = {}

    def add(self, kind, rows, cols, vals, lo, hi) -> None:
        lo = np.atleast_1d(np.asarray(lo, dtype=float))
        hi = np.atleast_1d(np.asarray(hi, dtype=float))
        k = len(lo)
        if k == 0:
            return
        self.r.append(np.asarray(rows, dtype=np.int64) + self.n)
        self.c.append(np.asarray(cols, dtype=np.int64))
        self.v.append(np.asarray(vals, dtype=float))
        self.lo.append(lo)
        self.hi.append(np.broadcast_to(hi, lo.shape).astype(float))
        s, n0 = self.kinds.get(kind, (self.n, 0))
        self.kinds[kind] = (s, n0 + k)
        self.n += k

    def matrix(self, n_cols: int) -> tuple[sp.csr_array, np.ndarray, np.ndarray]:
        if not self.r:
            return sp.csr_array((0, n_cols)), np.zeros(0), np.zeros(0)
        A = sp.coo_array(
            (np.concatenate(self.v), (np.concatenate(self.r), np.concatenate(self.c))),
            shape=(self.n, n_cols),
        ).tocsr()
        A.sum_duplicates()
        return A, np.concatenate(self.lo), np.concatenate(self.hi)


def _weights(problem: Problem) -> dict[str, float]:
    rules = problem.rules
    w = rules.objective_weights()
    w["travel_tiebreak"] = 0.0
    if isinstance(rules.objective, str) and rules.objective in ("cost", "hubs"):
        # worst travel: every area at its farthest usable site (penalty included)
        p = problem.population[problem.pair_area]
        t = problem.pair_minutes + rules.exception_penalty * problem.pair_exception
        worst = np.zeros(problem.n_areas)
        np.maximum.at(worst, problem.pair_area, p * t)
        total = float(worst.sum())
        if total > 0:
            # the whole travel term is worth at most half a hub / half a currency unit
            w["travel_tiebreak"] = 0.5 / total
    return w


def build_model(
    problem: Problem,
    *,
    linking: Linking = "disaggregated",
    weights: dict[str, float] | None = None,
) -> Model:
    """Build the MIP from a reduced :class:`~polygeo.optimise.problem.Problem`.

    Parameters
    ----------
    problem
        From :func:`~polygeo.optimise.problem.build_problem`.
    linking
        ``"disaggregated"`` (one row per pair: the tighter relaxation, default) or
        ``"aggregated"`` (one row per site: fewer rows, weaker bound).
    weights
        Objective weights (tie-break included) to use instead of the problem's own:
        a model of part of a problem keeps the whole model's objective.

    Returns
    -------
    Model
    """
    if linking not in ("disaggregated", "aggregated"):
        raise ValueError(f"linking must be 'disaggregated' or 'aggregated', got {linking!r}")
    t0 = time.perf_counter()
    p = problem
    cols = _Columns.of(p)
    rows = _Rows()
    # assign: one row per area that has pairs
    areas_in, area_row = np.unique(p.pair_area, return_inverse=True)
    rows.add("assign", area_row, np.arange(cols.P), np.ones(cols.P), np.ones(len(areas_in)), 1.0)
    if linking == "disaggregated":
        _add_pair_links(rows, cols, p)
    else:
        _add_site_links(rows, cols, p)
    _add_home_rows(rows, cols, p)
    _add_population_rows(rows, cols, p)
    _add_option_rows(rows, cols, p)
    _add_group_rows(rows, cols, p)
    _add_count_rows(rows, cols, p)
    A, row_lo, row_hi = rows.matrix(cols.n)
    col_lo, col_hi = _column_bounds(cols, p)
    w = _weights(p) if weights is None else dict(weights)
    keys = p.pair_site * np.int64(max(p.n_areas, 1)) + p.pair_area
    order = np.argsort(keys, kind="stable")
    model = Model(
        problem=p,
        c=_costs(cols, p, w),
        A=A,
        row_lo=row_lo,
        row_hi=row_hi,
        col_lo=col_lo,
        col_hi=col_hi,
        n_x=cols.P,
        n_y=cols.O,
        n_z=cols.Z,
        z_site=cols.z_site,
        z_group=cols.z_group,
        row_kinds=rows.kinds,
        weights=w,
        linking=linking,
        _pair_keys=keys[order],
        _pair_order=order,
    )
    model.build_seconds = time.perf_counter() - t0
    return model


@dataclass
class _Columns:
    """The model's column layout: ``x`` per pair, then ``y`` per option, then ``z``.

    ``z`` columns are (site, group) for sites whose non-exception pairs span several
    groups under ``within_group``; ``pair_z`` is each pair's ``z`` (``-1``: none).
    """

    P: int
    O: int  # noqa: E741 - the model's own notation
    Z: int
    opt_count: np.ndarray  # options per site (opt_site is sorted)
    opt_start: np.ndarray  # each site's first option
    model_sites: np.ndarray  # sites with an option
    pair_z: np.ndarray
    z_site: np.ndarray
    z_group: np.ndarray
    is_home: np.ndarray  # contiguity: the pair of a site and its home area

    @property
    def y0(self) -> int:
        return self.P

    @property
    def z0(self) -> int:
        return self.P + self.O

    @property
    def n(self) -> int:
        return self.P + self.O + self.Z

    @classmethod
    def of(cls, p: Problem) -> _Columns:
        P = len(p.pair_area)
        opt_count = np.bincount(p.opt_site, minlength=p.n_sites)
        pair_z, z_site, z_group = _group_columns(p)
        is_home = np.zeros(P, dtype=bool)
        if p.rules.contiguous and P:
            is_home = (p.home[p.pair_site] == p.pair_area) & ~p.pair_exception
        return cls(
            P=P,
            O=len(p.opt_site),
            Z=len(z_site),
            opt_count=opt_count,
            opt_start=np.concatenate([[0], np.cumsum(opt_count)[:-1]]),
            model_sites=np.flatnonzero(opt_count > 0),
            pair_z=pair_z,
            z_site=z_site,
            z_group=z_group,
            is_home=is_home,
        )

    def site_rows(self, n_sites: int) -> np.ndarray:
        """Row number of each model site in a one-row-per-site family (``-1``: none)."""
        srow = np.full(n_sites, -1, dtype=np.int64)
        srow[self.model_sites] = np.arange(len(self.model_sites))
        return srow

    def option_columns(
        self, p: Problem, k: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For pairs ``k``: row per pair, and (row, y column) for every option of its site."""
        cnt = self.opt_count[p.pair_site[k]]
        r_local = np.arange(len(k))
        rep = np.repeat(r_local, cnt)
        off = np.arange(int(cnt.sum())) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        return r_local, rep, self.y0 + np.repeat(self.opt_start[p.pair_site[k]], cnt) + off


def _group_columns(p: Problem) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``pair_z, z_site, z_group``: the (site, group) columns ``within_group`` needs."""
    P = len(p.pair_area)
    z_site = np.zeros(0, dtype=np.int64)
    z_group = np.zeros(0, dtype=np.int64)
    pair_z = np.full(P, -1, dtype=np.int64)
    if not (p.rules.within_group and p.group is not None and P):
        return pair_z, z_site, z_group
    G = len(p.group_names)
    normal = ~p.pair_exception
    key = p.pair_site * G + p.group[p.pair_area]
    uk = np.unique(key[normal])
    sites_of = uk // G
    multi = np.bincount(sites_of, minlength=p.n_sites) > 1
    uk = uk[multi[sites_of]]
    z_site, z_group = uk // G, uk % G
    pos = np.searchsorted(uk, key)
    pos = np.minimum(pos, max(len(uk) - 1, 0))
    hit = normal & (len(uk) > 0) & (uk[pos] == key) if len(uk) else np.zeros(P, bool)
    pair_z[hit] = pos[hit]
    return pair_z, z_site, z_group


def _add_z_links(rows: _Rows, cols: _Columns, k_z: np.ndarray) -> None:
    """``x_ij <= z_jg`` for pairs ``k_z`` (a site's pairs in one of its groups)."""
    r_local = np.arange(len(k_z))
    rows.add(
        "link",
        np.concatenate([r_local, r_local]),
        np.concatenate([k_z, cols.z0 + cols.pair_z[k_z]]),
        np.concatenate([np.ones(len(k_z)), -np.ones(len(k_z))]),
        np.full(len(k_z), -np.inf),
        0.0,
    )


def _add_pair_less_site(
    rows: _Rows, kind: str, cols: _Columns, p: Problem, k: np.ndarray, lo: float
) -> None:
    """One row per pair in ``k``: ``lo <= x_ij - u_j <= 0`` (``u_j``: j's options summed)."""
    r_local, rep, ycols = cols.option_columns(p, k)
    rows.add(
        kind,
        np.concatenate([r_local, rep]),
        np.concatenate([k, ycols]),
        np.concatenate([np.ones(len(k)), -np.ones(len(ycols))]),
        np.full(len(k), lo),
        0.0,
    )


def _add_pair_links(rows: _Rows, cols: _Columns, p: Problem) -> None:
    """Disaggregated linking: ``x_ij <= u_j`` (sum of ``j``'s options) or ``z_jg``."""
    to_y = cols.pair_z < 0
    k_y = np.flatnonzero(to_y & ~p.pair_fixed & ~cols.is_home)
    _add_pair_less_site(rows, "link", cols, p, k_y, -np.inf)
    _add_z_links(rows, cols, np.flatnonzero(~to_y & ~cols.is_home))


def _add_site_links(rows: _Rows, cols: _Columns, p: Problem) -> None:
    """Aggregated linking: per site (or site and group), its pairs <= their count * u_j."""
    to_y = cols.pair_z < 0
    k_y = np.flatnonzero(to_y)
    n_per_site = np.bincount(p.pair_site[k_y], minlength=p.n_sites)
    srow = cols.site_rows(p.n_sites)
    rows.add(
        "link",
        np.concatenate([srow[p.pair_site[k_y]], srow[p.opt_site]]),
        np.concatenate([k_y, cols.y0 + np.arange(cols.O)]),
        np.concatenate([np.ones(len(k_y)), -n_per_site[p.opt_site].astype(float)]),
        np.full(len(cols.model_sites), -np.inf),
        0.0,
    )
    k_z = np.flatnonzero(~to_y)
    if len(k_z):
        n_per_z = np.bincount(cols.pair_z[k_z], minlength=cols.Z)
        rows.add(
            "link",
            np.concatenate([cols.pair_z[k_z], np.arange(cols.Z)]),
            np.concatenate([k_z, cols.z0 + np.arange(cols.Z)]),
            np.concatenate([np.ones(len(k_z)), -n_per_z.astype(float)]),
            np.full(cols.Z, -np.inf),
            0.0,
        )


def _add_home_rows(rows: _Rows, cols: _Columns, p: Problem) -> None:
    """Contiguity: ``x_(home_j, j) = u_j``, an open hub holds its home area."""
    if not cols.is_home.any():
        return
    k_h = np.flatnonzero(cols.is_home)
    _add_pair_less_site(rows, "home", cols, p, k_h, 0.0)
    if (cols.pair_z[k_h] >= 0).any():
        _add_z_links(rows, cols, k_h[cols.pair_z[k_h] >= 0])


def _add_population_rows(rows: _Rows, cols: _Columns, p: Problem) -> None:
    """Per model site: its people at least the minimum and at most its option's capacity."""
    srow = cols.site_rows(p.n_sites)
    w_pair = p.population[p.pair_area]
    pairs_then_options = np.concatenate([np.arange(cols.P), cols.y0 + np.arange(cols.O)])
    site_of_row = np.concatenate([srow[p.pair_site], srow[p.opt_site]])
    if p.rules.min_population > 0:
        rows.add(
            "pop_min",
            site_of_row,
            pairs_then_options,
            np.concatenate([w_pair, np.full(cols.O, -p.rules.min_population)]),
            np.zeros(len(cols.model_sites)),
            np.inf,
        )
    reach = np.bincount(p.pair_site, weights=w_pair, minlength=p.n_sites)
    cap = np.minimum(p.opt_cap, reach[p.opt_site])
    rows.add(
        "pop_max",
        site_of_row,
        pairs_then_options,
        np.concatenate([w_pair, -cap]),
        np.full(len(cols.model_sites), -np.inf),
        0.0,
    )


def _add_option_rows(rows: _Rows, cols: _Columns, p: Problem) -> None:
    """One option per site with several (exactly one where the site must open)."""
    multi = cols.model_sites[cols.opt_count[cols.model_sites] > 1]
    if not len(multi):
        return
    mrow = np.full(p.n_sites, -1, dtype=np.int64)
    mrow[multi] = np.arange(len(multi))
    sel = np.flatnonzero(mrow[p.opt_site] >= 0)
    rows.add(
        "one_option",
        mrow[p.opt_site[sel]],
        cols.y0 + sel,
        np.ones(len(sel)),
        p.must_open[multi].astype(float),
        1.0,
    )


def _add_group_rows(rows: _Rows, cols: _Columns, p: Problem) -> None:
    """``within_group``: ``sum_g z_jg = u_j``, an open hub serves one group."""
    if not cols.Z:
        return
    zsites = np.unique(cols.z_site)
    zrow = np.full(p.n_sites, -1, dtype=np.int64)
    zrow[zsites] = np.arange(len(zsites))
    osel = np.flatnonzero(zrow[p.opt_site] >= 0)
    rows.add(
        "group",
        np.concatenate([zrow[cols.z_site], zrow[p.opt_site[osel]]]),
        np.concatenate([cols.z0 + np.arange(cols.Z), cols.y0 + osel]),
        np.concatenate([np.ones(cols.Z), -np.ones(len(osel))]),
        np.zeros(len(zsites)),
        0.0,
    )


def _add_count_rows(rows: _Rows, cols: _Columns, p: Problem) -> None:
    """The budget, the number of hubs and the hub-kind quotas."""
    rules, O, y0 = p.rules, cols.O, cols.y0  # noqa: E741
    if rules.budget is not None:
        rows.add("budget", np.zeros(O), y0 + np.arange(O), p.opt_cost, -np.inf, rules.budget)
    lo, hi = rules.hub_bounds
    if lo is not None or hi is not None:
        rows.add(
            "hubs",
            np.zeros(O),
            y0 + np.arange(O),
            np.ones(O),
            -np.inf if lo is None else float(lo),
            np.inf if hi is None else float(hi),
        )
    for q in p.quotas:
        if q.areas is None:
            sel = y0 + np.flatnonzero(q.sites[p.opt_site])
        else:
            sel = np.flatnonzero(q.areas[p.pair_area] & q.sites[p.pair_site] & ~p.pair_exception)
        rows.add("kind", np.zeros(len(sel)), sel, np.ones(len(sel)), float(q.count), np.inf)


def _column_bounds(cols: _Columns, p: Problem) -> tuple[np.ndarray, np.ndarray]:
    """0/1 columns; fixed pairs and the only option of a site that must open at 1."""
    col_lo = np.zeros(cols.n)
    col_hi = np.ones(cols.n)
    col_lo[: cols.P][p.pair_fixed] = 1.0
    single = (cols.opt_count[p.opt_site] == 1) & p.must_open[p.opt_site]
    col_lo[cols.y0 + np.flatnonzero(single)] = 1.0
    return col_lo, col_hi


def _costs(cols: _Columns, p: Problem, w: dict[str, float]) -> np.ndarray:
    """Objective: weighted person-minutes (exception penalty, tie-break), capital, hubs."""
    c = np.zeros(cols.n)
    c[: cols.P] = p.population[p.pair_area] * (
        (w["travel"] + w["travel_tiebreak"]) * p.pair_minutes
        + w["travel"] * p.rules.exception_penalty * p.pair_exception
    )
    c[cols.y0 : cols.y0 + cols.O] = w["cost"] * p.opt_cost + w["hubs"]
    return c
