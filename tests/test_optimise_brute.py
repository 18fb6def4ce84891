"""The solver's optimum equals a brute-force enumeration on tiny instances.

Every assignment of each area to one of its sites within the limit is
enumerated (vectorised with numpy); a hub set is feasible when every used site
holds at least ``min_population`` (and at most ``max_population`` / the
capacity of some option), the hub count, required / forbidden sites, groups and
budget hold. For a feasible assignment the cheapest fitting option of each hub
is the best choice for every objective, so options need no enumeration.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from polygeo.check import assert_valid
from polygeo.errors import InfeasibleError
from polygeo.optimise import Rules, SolverSettings, solve
from polygeo.optimise.synthetic import grid_instance


def brute_force(
    areas, sites, table, rules: Rules, options: pd.DataFrame | None = None, *, tiebreak=0.0
):
    """Best objective (by the rules' weights; tie-break weight ``tiebreak`` on travel,
    as in the model) or None when infeasible."""
    n, m = len(areas), len(sites)
    pop = areas["population"].to_numpy(float)
    a = table["area_id"].cat.codes.to_numpy()
    s = table["site_id"].cat.codes.to_numpy()
    t = table["minutes"].to_numpy(float)
    minutes = np.full((n, m), np.nan)
    minutes[a, s] = t
    cand = [np.flatnonzero(~np.isnan(minutes[i])) for i in range(n)]
    if any(len(c) == 0 for c in cand):
        return None
    combos = np.array(list(itertools.product(*cand)), dtype=np.int64)  # (K, n)
    K = len(combos)
    onehot = combos[:, :, None] == np.arange(m)[None, None, :]  # (K, n, m)
    hub_pop = np.einsum("knm,n->km", onehot, pop)
    used = onehot.any(axis=1)
    ok = np.ones(K, dtype=bool)
    ok &= ~(used & (hub_pop < rules.min_population - 1e-9)).any(axis=1)
    if rules.max_population is not None:
        ok &= ~(used & (hub_pop > rules.max_population + 1e-9)).any(axis=1)
    ids = list(sites["site_id"])
    for sid in rules.required_sites:
        ok &= used[:, ids.index(sid)]
    for sid in rules.forbidden_sites:
        ok &= ~used[:, ids.index(sid)]
    lo, hi = rules.hub_bounds
    n_hubs = used.sum(axis=1)
    if lo is not None:
        ok &= n_hubs >= lo
    if hi is not None:
        ok &= n_hubs <= hi
    if rules.within_group:
        groups = areas["group"].to_numpy()
        for g1, g2 in itertools.combinations(np.unique(groups), 2):
            in1 = (onehot & (groups == g1)[None, :, None]).any(axis=1)
            in2 = (onehot & (groups == g2)[None, :, None]).any(axis=1)
            ok &= ~(in1 & in2).any(axis=1)
    # cheapest fitting option per used hub
    if options is None:
        options = pd.DataFrame(
            {"site_id": ids, "option": "reuse", "capital_cost": 0.0, "capacity": np.nan}
        )
    cost = np.zeros((K, m))
    for j, sid in enumerate(ids):
        opts = options[options["site_id"] == sid]
        best = np.full(K, np.inf)
        for o in opts.itertuples():
            cap = np.inf if pd.isna(o.capacity) else o.capacity
            fits = hub_pop[:, j] <= cap + 1e-9
            best = np.where(fits, np.minimum(best, o.capital_cost), best)
        cost[:, j] = np.where(used[:, j], best, 0.0)
    capital = cost.sum(axis=1)
    ok &= np.isfinite(capital)
    if rules.budget is not None:
        ok &= capital <= rules.budget + 1e-9
    if not ok.any():
        return None
    travel = (np.take_along_axis(minutes, combos.T, axis=1).T * pop).sum(axis=1)
    w = rules.objective_weights()
    value = (w["travel"] + tiebreak) * travel + w["cost"] * capital + w["hubs"] * n_hubs
    return float(value[ok].min())


def primary(plan, rules: Rules) -> float:
    w = rules.objective_weights()
    terms = plan.objective_terms
    return w["travel"] * terms["travel"] + w["cost"] * terms["cost"] + w["hubs"] * terms["hubs"]


def instance(seed: int, *, groups: bool = False):
    rng = np.random.default_rng(seed)
    pts = rng.uniform(0, 4000, size=(4, 2))
    g = (np.arange(8) % 4 >= 2).astype(int) if groups else None
    return grid_instance(4, 2, sites=[tuple(p) for p in pts], seed=seed, limit=9.0, groups=g)


def options_for(sites, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed + 100)
    rows = []
    for sid in sites["site_id"]:
        rows.append(
            (sid, "reuse", float(rng.integers(0, 5)) * 1e6, float(rng.integers(4, 9)) * 1e3)
        )
        rows.append((sid, "new build", float(rng.integers(5, 10)) * 1e6, np.nan))
    return pd.DataFrame(rows, columns=["site_id", "option", "capital_cost", "capacity"])


CASES = {
    "min": dict(min_population=3500),
    "min+max": dict(min_population=3000, max_population=5500),
    "hubs_exact": dict(min_population=2000, hubs=3),
    "hubs_range": dict(min_population=2000, hubs={"min": 2, "max": 3}),
    "required_forbidden": dict(
        min_population=3000, required_sites=("s01",), forbidden_sites=("s02",)
    ),
    "cost": dict(min_population=3000, objective="cost"),
    "hubs_objective": dict(min_population=3000, max_population=6000, objective="hubs"),
    "mix": dict(min_population=3000, objective={"travel": 1.0, "cost": 0.002, "hubs": 5000.0}),
    "budget": dict(min_population=3000, budget=9e6),
}


def _run(areas, sites, table, rules, options, name):
    try:
        plan = solve(
            areas, sites, table, rules, options=options, solver=SolverSettings(name=name, gap=0.0)
        )
    except InfeasibleError:
        return None
    assert_valid(plan, areas, sites, table, rules, options=options)
    assert plan.solver["optimal"]
    return plan


@pytest.mark.parametrize("name", ["highs", "cbc"])
@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_brute_force(seed, case, name):
    areas, sites, table = instance(seed)
    rules = Rules(**CASES[case])
    opts = options_for(sites, seed) if case in ("cost", "mix", "budget") else None
    if "required_sites" in CASES[case] and not (table["site_id"] == "s01").any():
        pytest.fail("instance generator changed: s01 reaches no area")
    expected = brute_force(areas, sites, table, rules, opts)
    plan = _run(areas, sites, table, rules, opts, name)
    if expected is None:
        assert plan is None, "solver found a plan where brute force found none"
        return
    assert plan is not None, f"brute force found {expected} but the solver found no plan"
    assert primary(plan, rules) == pytest.approx(expected, rel=1e-9, abs=1e-6)
    if rules.objective == "travel":
        assert plan.solver["objective"] == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_within_group_matches_brute_force(seed):
    areas, sites, table = instance(seed, groups=True)
    rules = Rules(min_population=3000, within_group=True)
    expected = brute_force(areas, sites, table, rules)
    plan = _run(areas, sites, table, rules, None, "highs")
    if expected is None:
        assert plan is None
    else:
        assert plan is not None
        assert primary(plan, rules) == pytest.approx(expected, rel=1e-9)


def test_instances_are_not_all_trivial():
    """Guard: the seeds give feasible instances with several hubs for most cases."""
    feasible = 0
    for seed in range(3):
        areas, sites, table = instance(seed)
        if brute_force(areas, sites, table, Rules(min_population=3500)) is not None:
            feasible += 1
    assert feasible >= 2
