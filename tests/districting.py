"""The published districting instances (``../shared/data/districting``) posed in polygeo.

Validi, Buchanan and Lykhovyd (Operations Research 2022) solved the Hess model (a
p-median with population bounds) on US states at county level, with and without
contiguous districts, to proven optimality. Posed as the data README says: every
county is an area and a candidate site, the travel "minutes" are ``d_km ** 2``, no
travel limit, ``min_population = L``, ``max_population = U``, ``hubs = k``; polygeo's
objective is then ``1e6`` times the published one, and with ``contiguous = true``
and ``edges.csv`` as the adjacency the two models are the same.

Used by tests/test_optimise_districting.py and scripts/bench_districting.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from polygeo.optimise import Rules

#: The six instances, smallest first.
STATES = ("ME", "NM", "WV", "AL", "NE", "KS")


@dataclass
class Instance:
    """One state posed in polygeo (areas, sites, travel, rules, adjacency, reference)."""

    state: str
    areas: pd.DataFrame
    sites: pd.DataFrame
    travel: pd.DataFrame
    rules: Rules
    adjacency: sp.csr_array
    reference: dict

    @property
    def published(self) -> float:
        """The published optimum in polygeo's units (person * km^2)."""
        if self.rules.contiguous:
            values = set(self.reference["contiguous_objective"].values())
            assert len(values) == 1, values  # shir, mcf, cut, lcut agree
            return 1e6 * values.pop()
        return 1e6 * self.reference["objective"]


def load_state(data_dir: Path, state: str, *, contiguous: bool) -> Instance:
    """Read one state's instance from ``data_dir`` (the districting folder)."""
    data_dir = Path(data_dir)
    reference = json.loads((data_dir / "reference.json").read_text())[state]
    nodes = pd.read_csv(data_dir / "nodes.csv")
    nodes = nodes[nodes["state"] == state].sort_values("node_id")
    n = len(nodes)
    assert n == reference["nodes"] and (nodes["node_id"].to_numpy() == np.arange(n)).all()
    ids = nodes["node_id"].astype(str).to_numpy()
    areas = pd.DataFrame({"area_id": ids, "population": nodes["population"].to_numpy(float)})
    sites = pd.DataFrame({"site_id": ids})
    costs = pd.read_csv(data_dir / "costs.csv")
    costs = costs[costs["state"] == state]
    assert len(costs) == n * n, (state, len(costs))
    travel = pd.DataFrame(
        {
            "area_id": costs["i"].astype(str).to_numpy(),
            "site_id": costs["j"].astype(str).to_numpy(),
            "minutes": costs["d_km"].to_numpy(float) ** 2,
        }
    )
    edges = pd.read_csv(data_dir / "edges.csv")
    edges = edges[edges["state"] == state]
    assert len(edges) == reference["edges"]
    i, j = edges["i"].to_numpy(), edges["j"].to_numpy()
    adjacency = sp.csr_array(
        (np.ones(2 * len(i), dtype=bool), (np.r_[i, j], np.r_[j, i])), shape=(n, n)
    )
    rules = Rules(
        min_population=reference["L"],
        max_population=reference["U"],
        hubs=reference["k"],
        contiguous=contiguous,
    )
    return Instance(state, areas, sites, travel, rules, adjacency, reference)
