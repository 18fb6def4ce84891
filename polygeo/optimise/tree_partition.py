"""Balanced connected partitions by cutting random spanning trees.

When every hub's population must lie in a narrow band (the districting instances:
within +-0.5% of the mean), neither a greedy start nor moving stray pieces finds a
contiguous plan. A random spanning tree of the area adjacency, cut at an edge
whose subtree holds between the minimum and the maximum population, splits off
one connected catchment; repeating on the rest gives ``k`` connected catchments
within the bounds (the tree bipartition step of the recombination chain of
DeFord, Duchin and Solomon, 2021). Trees are cheap, so many are tried: on
Alabama (67 counties, 7 districts) one such plan comes within a second.

The partition only gives catchments; :mod:`.centres` picks their hubs and solves
the fixed-hub model for the best plan with those hubs.
"""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import breadth_first_order, minimum_spanning_tree

#: Trees tried per cut before the partition starts again.
TREES_PER_CUT = 20


def _subtree_weights(
    tree: sp.csr_array, weight: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Breadth-first order from node 0, each node's parent, and the weight below it."""
    order, pred = breadth_first_order(tree, 0, directed=False)
    below = weight.astype(float).copy()
    for v in order[:0:-1]:
        below[pred[v]] += below[v]
    return order, pred, below


def _split_off(
    adjacency: sp.csr_array,
    weight: np.ndarray,
    parts: int,
    lo: float,
    hi: float,
    rng: np.random.Generator,
) -> np.ndarray | None:
    """Nodes of one connected part in ``[lo, hi]`` whose rest fits ``parts - 1`` parts."""
    coo = sp.triu(adjacency, k=1).tocoo()
    random = sp.coo_array((rng.random(coo.nnz) + 1e-3, (coo.row, coo.col)), shape=adjacency.shape)
    tree = minimum_spanning_tree(random)
    tree = (tree + tree.T).tocsr()
    order, pred, below = _subtree_weights(tree, weight)
    if len(order) < len(weight):
        return None  # the areas are not connected
    total, rest = float(weight.sum()), parts - 1
    v = order[1:]
    fits_in = (lo <= below[v]) & (below[v] <= hi)
    fits_in &= (rest * lo <= total - below[v]) & (total - below[v] <= rest * hi)
    fits_out = (lo <= total - below[v]) & (total - below[v] <= hi)
    fits_out &= (rest * lo <= below[v]) & (below[v] <= rest * hi)
    ok = np.flatnonzero(fits_in | fits_out)
    if len(ok) == 0:
        return None
    pick = int(rng.integers(len(ok)))
    cut = int(v[ok[pick]])
    inside = np.zeros(len(weight), dtype=bool)
    inside[cut] = True
    for u in order:  # breadth-first: a node's parent comes before it
        if u != cut and pred[u] >= 0 and inside[pred[u]]:
            inside[u] = True
    return inside if fits_in[ok[pick]] else ~inside


def balanced_partition(
    adjacency: sp.csr_array,
    weight: np.ndarray,
    parts: int,
    lo: float,
    hi: float,
    *,
    seconds: float,
    seed: int = 0,
) -> np.ndarray | None:
    """A part label per node: ``parts`` connected parts, each weighing ``lo`` to ``hi``.

    Parameters
    ----------
    adjacency
        Node adjacency (symmetric).
    weight
        Weight (population) per node.
    parts, lo, hi
        Number of parts and the bounds of each part's weight.
    seconds
        Time for the tries.
    seed
        Seed of the random trees.

    Returns
    -------
    numpy.ndarray or None
        Part label (0 to ``parts - 1``) per node, or ``None`` when none was found.
    """
    rng = np.random.default_rng(seed)
    adjacency = sp.csr_array(adjacency, dtype=float)
    deadline = time.perf_counter() + seconds
    n = len(weight)
    while time.perf_counter() < deadline:
        label = np.full(n, -1, dtype=np.int64)
        nodes = np.arange(n)
        for part in range(parts - 1):
            inside = None
            for _ in range(TREES_PER_CUT):
                inside = _split_off(
                    adjacency[nodes][:, nodes], weight[nodes], parts - part, lo, hi, rng
                )
                if inside is not None:
                    break
            if inside is None:
                break
            label[nodes[inside]] = part
            nodes = nodes[~inside]
        else:
            if lo <= weight[nodes].sum() <= hi:
                label[nodes] = parts - 1
                return label
    return None
