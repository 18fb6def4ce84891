"""Boundary adjacency of areas and the contiguity of catchments.

A catchment is contiguous when its areas form one connected set on the areas'
boundary adjacency. The model keeps it so with two kinds of constraints:

* the hub's *home area* (the area holding the site point; else the nearest
  area) belongs to the catchment of every open hub, and
* cut constraints, added lazily: when a solve leaves a component ``C`` of hub
  ``j``'s catchment apart from its home area, every area ``i`` of ``C`` may only
  stay with ``j`` if some area of ``N(C)``, the areas bordering ``C`` outside it,
  joins ``j`` too: ``x_ij <= sum_{k in N(C)} x_kj``. The model is solved again
  until every catchment is connected.

Adjacency matrices are ``scipy.sparse.csr_array`` of shape ``(n_areas, n_areas)``,
symmetric, boolean, with an empty diagonal, in the areas frame's row order.
"""

from __future__ import annotations

import logging
from typing import Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import connected_components

from polygeo.errors import InputError

log = logging.getLogger("polygeo")


def adjacency_from_polygons(
    areas: pd.DataFrame,
    *,
    kind: Literal["queen", "rook"] = "queen",
    tolerance: float = 0.0,
) -> sp.csr_array:
    """Boundary adjacency of the areas' polygons.

    Parameters
    ----------
    areas
        The areas frame (a GeoDataFrame of Polygons / MultiPolygons, metric CRS).
    kind
        ``"queen"``: areas sharing at least one boundary point are adjacent;
        ``"rook"``: they must share a boundary stretch of positive length.
    tolerance
        Distance in CRS units (metres) under which two polygons count as touching,
        for generalised boundaries with slivers between neighbours (0: exact).

    Returns
    -------
    scipy.sparse.csr_array
        ``(n, n)`` symmetric boolean matrix in the areas' row order.

    Raises
    ------
    InputError
        When the areas have no polygons (points cannot touch).
    """
    if kind not in ("queen", "rook"):
        raise InputError(f"adjacency kind must be 'queen' or 'rook', got {kind!r}.")
    if tolerance < 0:
        raise InputError(f"adjacency tolerance must be >= 0, got {tolerance!r}.")
    geoms = np.asarray(areas.geometry.values, dtype=object)
    n = len(geoms)
    types = set(shapely.get_type_id(geoms).tolist()) if n else set()
    if not types <= {3, 6}:  # Polygon, MultiPolygon
        raise InputError(
            "contiguity needs area polygons (boundaries), but the areas have other geometries; "
            "load the areas with boundaries or set contiguous = false."
        )
    tree = shapely.STRtree(geoms)
    if tolerance > 0:
        left, right = tree.query(geoms, predicate="dwithin", distance=tolerance)
    else:
        left, right = tree.query(geoms, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    if kind == "rook" and len(left):
        bounds = shapely.boundary(geoms)
        if tolerance > 0:
            shared = shapely.intersection(bounds[left], shapely.buffer(bounds[right], tolerance))
            ok = shapely.length(shared) > 2 * tolerance
        else:
            shared = shapely.intersection(bounds[left], bounds[right])
            ok = shapely.length(shared) > 0
        left, right = left[ok], right[ok]
    data = np.ones(2 * len(left), dtype=bool)
    adj = sp.coo_array(
        (data, (np.concatenate([left, right]), np.concatenate([right, left]))), shape=(n, n)
    ).tocsr()
    adj.sum_duplicates()
    log.debug("adjacency (%s): %d areas, %d pairs of neighbours", kind, n, len(left))
    return adj


def check_adjacency(adjacency: object, n_areas: int) -> sp.csr_array:
    """Validate an adjacency matrix and return it as a symmetric boolean CSR array."""
    if not sp.issparse(adjacency) and not isinstance(adjacency, np.ndarray):
        raise InputError(
            "adjacency must be a scipy.sparse matrix (n_areas x n_areas, in the areas' row "
            "order), e.g. from polygeo.optimise.adjacency_from_polygons(areas)."
        )
    adj = sp.csr_array(adjacency, dtype=bool)
    if adj.shape != (n_areas, n_areas):
        raise InputError(
            f"adjacency has shape {adj.shape} but there are {n_areas} areas; build it from the "
            "same areas frame."
        )
    adj = ((adj + adj.T) > 0).tocsr()
    adj.setdiag(False)
    adj.eliminate_zeros()
    adj.sort_indices()
    return adj


def home_areas(areas: pd.DataFrame, sites: pd.DataFrame) -> np.ndarray:
    """Row of the area holding each site's point (else the nearest area).

    Returns
    -------
    numpy.ndarray
        int64 area row per site (``-1`` when there are no areas).
    """
    geoms = np.asarray(areas.geometry.values, dtype=object)
    points = np.asarray(sites.geometry.values, dtype=object)
    out = np.full(len(points), -1, dtype=np.int64)
    if len(geoms) == 0 or len(points) == 0:
        return out
    tree = shapely.STRtree(geoms)
    site_idx, area_idx = tree.query(points, predicate="intersects")
    # first hit per site (the lowest area row, for determinism)
    order = np.lexsort((area_idx, site_idx))
    site_idx, area_idx = site_idx[order], area_idx[order]
    first = np.unique(site_idx, return_index=True)[1]
    out[site_idx[first]] = area_idx[first]
    missing = np.flatnonzero(out < 0)
    if len(missing):
        s_idx, a_idx = tree.query_nearest(points[missing], all_matches=False)
        out[missing[s_idx]] = a_idx
    return out


def _expand_neighbours(adj: sp.csr_array, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each ``rows[k]``, its neighbours: returns ``(k repeated, neighbour)``."""
    indptr, indices = adj.indptr, adj.indices
    start = indptr[rows]
    deg = indptr[rows + 1] - start
    total = int(deg.sum())
    rep = np.repeat(np.arange(len(rows)), deg)
    offset = np.arange(total) - np.repeat(np.cumsum(deg) - deg, deg)
    return rep, indices[np.repeat(start, deg) + offset]


def pair_components(
    pair_area: np.ndarray,
    pair_site: np.ndarray,
    adjacency: sp.csr_array,
    *,
    group: np.ndarray | None = None,
) -> np.ndarray:
    """Connected components of every site's reachable areas, all at once.

    Two pairs ``(i, j)`` and ``(k, j)`` of the same site are linked when areas ``i``
    and ``k`` are adjacent (and share a group, when ``group`` is given).

    Returns
    -------
    numpy.ndarray
        A component label per pair.
    """
    n_pairs = len(pair_area)
    if n_pairs == 0:
        return np.zeros(0, dtype=np.int64)
    n_areas = adjacency.shape[0]
    key = pair_site.astype(np.int64) * n_areas + pair_area
    order = np.argsort(key, kind="stable")
    skey = key[order]
    rep, nbr = _expand_neighbours(adjacency, pair_area.astype(np.int64))
    if group is not None:
        same = group[pair_area[rep]] == group[nbr]
        rep, nbr = rep[same], nbr[same]
    want = pair_site[rep].astype(np.int64) * n_areas + nbr
    pos = np.searchsorted(skey, want)
    pos[pos >= n_pairs] = 0
    hit = skey[pos] == want
    graph = sp.coo_array(
        (np.ones(int(hit.sum()), dtype=bool), (rep[hit], order[pos[hit]])),
        shape=(n_pairs, n_pairs),
    )
    return connected_components(graph, directed=False)[1]


def disconnected_parts(
    assigned_site: np.ndarray,
    adjacency: sp.csr_array,
    home: np.ndarray,
    *,
    exempt: np.ndarray | None = None,
) -> list[tuple[int, np.ndarray]]:
    """Components of catchments that do not hold their hub's home area.

    Parameters
    ----------
    assigned_site
        Site row per area (``-1`` when unassigned).
    adjacency
        Area adjacency.
    home
        Home area row per site.
    exempt
        Areas left out of contiguity (exceptions).

    Returns
    -------
    list of (site, areas)
        Every component ``C`` of a catchment without its home area.
    """
    a = np.asarray(assigned_site)
    active = a >= 0
    if exempt is not None:
        active &= ~exempt
    coo = adjacency.tocoo()
    r, c = coo.row, coo.col
    keep = active[r] & active[c] & (a[r] == a[c])
    n = len(a)
    graph = sp.coo_array((np.ones(int(keep.sum()), dtype=bool), (r[keep], c[keep])), shape=(n, n))
    labels = connected_components(graph, directed=False)[1]
    out: list[tuple[int, np.ndarray]] = []
    areas = np.flatnonzero(active)
    if len(areas) == 0:
        return out
    frame = pd.DataFrame({"area": areas, "site": a[areas], "label": labels[areas]})
    for (site, label), part in frame.groupby(["site", "label"], sort=True):
        h = home[int(site)] if 0 <= int(site) < len(home) else -1
        if h >= 0 and labels[h] == label and a[h] == site:
            continue
        out.append((int(site), part["area"].to_numpy()))
    return out


def boundary_of(part: np.ndarray, adjacency: sp.csr_array) -> np.ndarray:
    """Areas adjacent to ``part`` but outside it (``N(C)``)."""
    _, nbr = _expand_neighbours(adjacency, np.asarray(part, dtype=np.int64))
    return np.setdiff1d(np.unique(nbr), part)
