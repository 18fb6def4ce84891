"""The p-median radius formulation: same optimum as brute force and the general model.

The brute force here enumerates every set of open hubs; with no rule on a hub's
load, the areas are independent once the hubs are fixed, so each one's best is
its cheapest open hub. (``test_optimise_brute``'s enumeration of assignments
counts only hubs that serve some area, while with ``min_population = 0`` a plan
may open a hub that serves nobody, so it answers a different question for
exact hub counts.) Every plan goes through the independent checker.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from test_optimise_brute import instance, primary

import polygeo.optimise.pmedian as pmedian
from polygeo.check import assert_valid
from polygeo.errors import InfeasibleError
from polygeo.optimise import Rules, SolverSettings, build_model, build_problem, solve
from polygeo.optimise.synthetic import grid_instance

RADIUS = "p-median radius"


def unlimited_options(sites: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Two options per site with random costs and no capacity."""
    rng = np.random.default_rng(seed + 200)
    rows = []
    for sid in sites["site_id"]:
        rows.append((sid, "reuse", float(rng.integers(0, 5)) * 1e6, np.nan))
        rows.append((sid, "new build", float(rng.integers(3, 9)) * 1e6, np.nan))
    return pd.DataFrame(rows, columns=["site_id", "option", "capital_cost", "capacity"])


def brute_force(areas, sites, table, rules: Rules, options: pd.DataFrame | None = None):
    """Best objective over every set of open hubs (``None`` when none is allowed)."""
    n, m = len(areas), len(sites)
    pop = areas["population"].to_numpy(float)
    minutes = np.full((n, m), np.inf)
    minutes[table["area_id"].cat.codes, table["site_id"].cat.codes] = table["minutes"]
    ids = list(sites["site_id"])
    cheapest = np.zeros(m)
    if options is not None:
        cheapest = np.array(
            [options.loc[options["site_id"] == s, "capital_cost"].min() for s in ids]
        )
    lo, hi = rules.hub_bounds
    w = rules.objective_weights()
    best = None
    for k in range(1, m + 1):
        if (lo is not None and k < lo) or (hi is not None and k > hi):
            continue
        for chosen in itertools.combinations(range(m), k):
            names = {ids[j] for j in chosen}
            if not set(rules.required_sites) <= names or names & set(rules.forbidden_sites):
                continue
            capital = float(cheapest[list(chosen)].sum())
            if rules.budget is not None and capital > rules.budget + 1e-9:
                continue
            nearest = minutes[:, list(chosen)].min(axis=1)
            if not np.isfinite(nearest).all():
                continue
            value = w["travel"] * float(pop @ nearest) + w["cost"] * capital + w["hubs"] * k
            best = value if best is None else min(best, value)
    return best


CASES = {
    "p=1": dict(hubs=1),
    "p=2": dict(hubs=2),
    "p=3": dict(hubs=3),
    "hubs_range_mix": dict(hubs={"min": 1, "max": 3}, objective={"travel": 1.0, "hubs": 3000.0}),
    "required_forbidden": dict(hubs=2, required_sites=("s01",), forbidden_sites=("s02",)),
    "budget": dict(hubs={"max": 3}, budget=6e6),
    "cost": dict(hubs={"min": 2}, objective="cost"),
    "cost_travel": dict(objective={"travel": 1.0, "cost": 0.001}),
}
WITH_OPTIONS = ("budget", "cost", "cost_travel")


def run(areas, sites, table, rules, options=None, **kwargs):
    try:
        plan = solve(
            areas, sites, table, rules, options=options, solver=SolverSettings(gap=0.0), **kwargs
        )
    except InfeasibleError:
        return None
    assert_valid(plan, areas, sites, table, rules, options=options)
    assert plan.solver["optimal"]
    return plan


@pytest.fixture
def tight_radius(monkeypatch):
    """The smallest first radius, so that tiny instances need several rounds."""
    monkeypatch.setattr(pmedian, "RADIUS_MIN_LEVELS", 1)
    monkeypatch.setattr(pmedian, "START_MARGIN", 1.0)
    monkeypatch.setattr(pmedian, "RADIUS_FACTOR", 0.5)


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_brute_force(seed, case, tight_radius):
    areas, sites, table = instance(seed)
    rules = Rules(min_population=0, **CASES[case])
    options = unlimited_options(sites, seed) if case in WITH_OPTIONS else None
    expected = brute_force(areas, sites, table, rules, options)
    plan = run(areas, sites, table, rules, options)
    if expected is None:
        assert plan is None, "the radius model found a plan where brute force found none"
        return
    assert plan is not None, f"brute force found {expected} but the radius model found no plan"
    assert plan.solver["formulation"] == RADIUS
    assert primary(plan, rules) == pytest.approx(expected, rel=1e-9, abs=1e-6)
    general = run(areas, sites, table, rules, options, pmedian=False)
    assert "formulation" not in general.solver
    assert plan.solver["objective"] == pytest.approx(general.solver["objective"], rel=1e-9)


def test_brute_force_cases_are_not_trivial():
    """Guard: most cases are feasible and p = 2 opens hubs that areas do not all share."""
    feasible = sum(
        brute_force(*instance(seed), Rules(min_population=0, **CASES[case]), None) is not None
        for seed in range(3)
        for case in ("p=1", "p=2", "p=3", "required_forbidden")
    )
    assert feasible >= 10


def grid(seed: int, limit: float | None):
    return grid_instance(12, 10, cell=500, sites=40, seed=seed, minutes_per_km=3.12, limit=limit)


@pytest.mark.parametrize(
    ("seed", "limit", "hubs", "techniques"),
    [
        (0, None, 4, {}),
        (1, None, 7, {"start": False}),
        (2, 12.0, 5, {"lp_phase": False}),
        (3, None, 6, {"dedupe": False, "radius": False}),
    ],
)
def test_matches_general_model_with_rounds(seed, limit, hubs, techniques, monkeypatch):
    """120 areas x 40 sites: the radius rounds end at the general model's optimum."""
    areas, sites, table = grid(seed, limit)
    rules = Rules(min_population=0, hubs=hubs)
    model = build_model(build_problem(areas, sites, table, rules))
    monkeypatch.setattr(pmedian, "RADIUS_MIN_LEVELS", 1)
    monkeypatch.setattr(pmedian, "START_MARGIN", 1.0)
    sol = pmedian.solve_pmedian(model, SolverSettings(gap=0.0), **techniques)
    assert sol.status == "optimal"
    assert model.is_feasible(sol.values)
    if techniques.get("radius", True) and techniques.get("start", True):
        assert sol.rounds + sol.stats["lp_rounds"] > 1, "the radius was never widened"
    general = run(areas, sites, table, rules, pmedian=False)
    assert model.objective_value(sol.values) == pytest.approx(general.solver["objective"], rel=1e-9)
    assert sol.bound <= general.solver["objective"] * (1 + 1e-9)


def test_plan_from_solve_is_checked_and_nearest():
    """Through solve(): a checked plan where every area is at its nearest open hub."""
    areas, sites, table = grid(4, None)
    rules = Rules(min_population=0, hubs=5)
    plan = run(areas, sites, table, rules)
    assert plan.solver["formulation"] == RADIUS
    assert len(plan.hubs) == 5
    open_ids = set(plan.hubs["site_id"])
    to_open = table[table["site_id"].astype(str).isin(open_ids)]
    nearest = to_open.groupby("area_id", observed=True)["minutes"].min()
    got = plan.assignments.set_index("area_id")["minutes"]
    assert np.allclose(got.loc[nearest.index.astype(str)].to_numpy(), nearest.to_numpy())
    assert plan.solver["bound"] <= plan.solver["objective"] * (1 + 1e-9)


@pytest.mark.parametrize(
    ("rules", "reason"),
    [
        (Rules(min_population=1, hubs=2), "min_population > 0"),
        (Rules(min_population=0, hubs=2, max_population=9e9), "max_population or option"),
        (Rules(min_population=0, within_group=True), "within_group"),
        (Rules(min_population=0, hubs=2, contiguous=True), "contiguous"),
    ],
)
def test_detection_refuses(rules, reason):
    areas, sites, table = grid_instance(4, 2, sites=3, seed=0, limit=None, groups=[0] * 8)
    problem = build_problem(areas, sites, table, rules)
    assert reason in pmedian.why_not(problem)
    plan = solve(areas, sites, table, rules)
    assert "formulation" not in plan.solver
    assert_valid(plan, areas, sites, table, rules)


def test_detection_refuses_capacity():
    areas, sites, table = grid_instance(4, 2, sites=3, seed=0, limit=None)
    options = unlimited_options(sites, 0)
    options.loc[3, "capacity"] = 1e9
    rules = Rules(min_population=0, hubs=2)
    problem = build_problem(areas, sites, table, rules, options=options)
    assert "option capacity" in pmedian.why_not(problem)
    plan = solve(areas, sites, table, rules, options=options)
    assert "formulation" not in plan.solver
    assert_valid(plan, areas, sites, table, rules, options=options)


def test_other_solvers_keep_the_general_model():
    areas, sites, table = grid_instance(4, 2, sites=3, seed=0, limit=None)
    rules = Rules(min_population=0, hubs=2)
    assert pmedian.why_not(build_problem(areas, sites, table, rules)) is None
    plan = solve(areas, sites, table, rules, solver="cbc")
    assert "formulation" not in plan.solver
    assert solve(areas, sites, table, rules).solver["formulation"] == RADIUS


def test_exceptions_match_the_general_model():
    """Areas out of reach are exceptions at a penalty: still the general model's optimum."""
    from test_optimise_diagnose import far_times_for, strip

    # 3 minutes per cell, limit 6.5 (two cells): areas 12, 13 and 14 reach no site;
    # s00 and s04 must open (areas 0 and 11 reach no other), the third hub is chosen
    pops = [1000, 1500, 800, 1200, 900, 1100, 1300, 700, 1000, 1400, 600, 1000, 900, 500, 700]
    areas, sites, table = strip(pops, [0, 4, 5, 8, 9], limit=6.5)
    rules = Rules(min_population=0, hubs=3, allow_exceptions=True)
    far = far_times_for(areas, sites)
    plans = [
        solve(areas, sites, table, rules, far_times=far, solver=SolverSettings(gap=0.0), pmedian=p)
        for p in (True, False)
    ]
    assert plans[0].solver["formulation"] == RADIUS
    exceptions = plans[0].assignments.query("exception")["area_id"].tolist()
    assert exceptions == ["a012", "a013", "a014"]
    for plan in plans:
        assert_valid(plan, areas, sites, table, rules)
    assert plans[0].solver["objective"] == pytest.approx(plans[1].solver["objective"], rel=1e-9)
