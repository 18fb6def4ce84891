"""Each rule on an instance where it binds: with the rule it holds, without it it breaks.

Instances are strips of square areas (1 km, 3 minutes per km) with sites at
chosen area centres, so the optimum can be worked out by hand.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from polygeo.check import assert_valid, check
from polygeo.optimise import Rules, SolverSettings, solve
from polygeo.optimise.synthetic import grid_instance

EXACT = SolverSettings(gap=0.0)


def strip(pops, site_cells, *, groups=None, limit=100.0):
    pts = [(c * 1000.0 + 500.0, 500.0) for c in site_cells]
    return grid_instance(len(pops), 1, population=pops, sites=pts, groups=groups, limit=limit)


def rules_of(violations):
    return {v.rule for v in violations}


def solved(areas, sites, table, rules, **kw):
    plan = solve(areas, sites, table, rules, solver=kw.pop("solver", EXACT), **kw)
    assert_valid(plan, areas, sites, table, rules, options=kw.get("options"))
    assert plan.solver["optimal"]
    return plan


def hub_of(plan):
    return dict(zip(plan.assignments["area_id"], plan.assignments["site_id"], strict=True))


def test_min_population_binds():
    areas, sites, table = strip([1000] * 6, range(6))
    free = solved(areas, sites, table, Rules(min_population=0))
    assert len(free.hubs) == 6 and free.objective_terms["travel"] == 0
    rules = Rules(min_population=3000)
    plan = solved(areas, sites, table, rules)
    assert (plan.hubs["population"] >= 3000).all()
    assert len(plan.hubs) == 2
    assert "min_population" in rules_of(check(free, areas, sites, table, rules))


def test_max_population_binds():
    areas, sites, table = strip([1000] * 6, [0, 1])
    loose = Rules(min_population=1000)
    free = solved(areas, sites, table, loose)
    assert free.hubs["population"].max() == 5000
    rules = Rules(min_population=1000, max_population=3000)
    plan = solved(areas, sites, table, rules)
    assert plan.hubs["population"].max() <= 3000
    assert "max_population" in rules_of(check(free, areas, sites, table, rules))


def test_capacity_binds():
    areas, sites, table = strip([1000] * 6, [0, 1])
    options = pd.DataFrame(
        {
            "site_id": ["s00", "s01"],
            "option": ["reuse", "reuse"],
            "capital_cost": [0.0, 0.0],
            "capacity": [np.nan, 3000.0],
        }
    )
    rules = Rules(min_population=1000)
    free = solved(areas, sites, table, rules)
    plan = solved(areas, sites, table, rules, options=options)
    assert plan.hubs.set_index("site_id").loc["s01", "population"] <= 3000
    assert "capacity" in rules_of(check(free, areas, sites, table, rules, options=options))


def test_capacity_chooses_the_bigger_option():
    areas, sites, table = strip([1000] * 6, [1, 4])
    options = pd.DataFrame(
        {
            "site_id": ["s00", "s00", "s01"],
            "option": ["reuse", "new build", "reuse"],
            "capital_cost": [0.0, 5e6, 0.0],
            "capacity": [2000.0, np.nan, np.nan],
        }
    )
    plan = solved(areas, sites, table, Rules(min_population=1000), options=options)
    hubs = plan.hubs.set_index("site_id")
    # reuse at s00 holds only 2,000 people; the least travel needs 3,000 there
    assert hubs.loc["s00", "option"] == "new build"
    assert hubs.loc["s00", "capital_cost"] == 5e6
    assert plan.objective_terms["cost"] == 5e6


def test_required_binds():
    areas, sites, table = strip([1000] * 6, [1, 4, 0])
    base = Rules(min_population=3000)
    free = solved(areas, sites, table, base)
    assert set(free.hubs["site_id"]) == {"s00", "s01"}
    rules = Rules(min_population=3000, required_sites=["s02"])
    plan = solved(areas, sites, table, rules)
    assert "s02" in set(plan.hubs["site_id"])
    assert plan.objective_terms["travel"] > free.objective_terms["travel"]
    assert "required" in rules_of(check(free, areas, sites, table, rules))


def test_forbidden_binds():
    areas, sites, table = strip([1000] * 6, [1, 4, 0])
    free = solved(areas, sites, table, Rules(min_population=3000))
    rules = Rules(min_population=3000, forbidden_sites=["s00"])
    plan = solved(areas, sites, table, rules)
    assert "s00" not in set(plan.hubs["site_id"])
    assert "forbidden" in rules_of(check(free, areas, sites, table, rules))


def test_budget_binds():
    areas, sites, table = strip([1000] * 6, [1, 4, 0, 5])
    options = pd.DataFrame(
        {
            "site_id": ["s00", "s01", "s02", "s03"],
            "option": ["new build"] * 4,
            "capital_cost": [5e6, 5e6, 1e6, 1e6],
            "capacity": [np.nan] * 4,
        }
    )
    base = Rules(min_population=3000)
    free = solved(areas, sites, table, base, options=options)
    assert free.objective_terms["cost"] == 10e6
    rules = Rules(min_population=3000, budget=3e6)
    plan = solved(areas, sites, table, rules, options=options)
    assert set(plan.hubs["site_id"]) == {"s02", "s03"}
    assert plan.metrics()["capital_total"] == 2e6
    assert "budget" in rules_of(check(free, areas, sites, table, rules, options=options))


@pytest.mark.parametrize(
    ("hubs", "objective", "free_count", "count"),
    [
        (2, "travel", 6, 2),
        ({"max": 3}, "travel", 6, 3),
        ({"min": 3}, "hubs", 1, 3),
        ((2, 4), "hubs", 1, 2),
    ],
)
def test_hub_count_binds(hubs, objective, free_count, count):
    areas, sites, table = strip([1000] * 6, range(6))
    free_rules = Rules(min_population=1000, objective=objective)
    free = solved(areas, sites, table, free_rules)
    assert len(free.hubs) == free_count
    rules = Rules(min_population=1000, hubs=hubs, objective=objective)
    plan = solved(areas, sites, table, rules)
    assert len(plan.hubs) == count
    assert "hubs" in rules_of(check(free, areas, sites, table, rules))


def test_within_group_binds():
    groups = ["A", "A", "B", "B", "B", "B"]
    areas, sites, table = strip([1000] * 6, [2, 5], groups=groups)
    base = Rules(min_population=2000)
    free = solved(areas, sites, table, base)
    assert hub_of(free)["a000"] == hub_of(free)["a002"] == "s00"  # spans A and B
    rules = Rules(min_population=2000, within_group=True)
    plan = solved(areas, sites, table, rules)
    h = hub_of(plan)
    assert h["a000"] == h["a001"] == "s00"
    assert {h[f"a00{k}"] for k in range(2, 6)} == {"s01"}
    assert plan.objective_terms["travel"] > free.objective_terms["travel"]
    assert "within_group" in rules_of(check(free, areas, sites, table, rules))


def test_within_group_needs_the_group_column():
    from polygeo.errors import InputError

    areas, sites, table = strip([1000] * 4, [1])
    with pytest.raises(InputError, match="group"):
        solve(areas, sites, table, Rules(min_population=1000, within_group=True))


def test_objectives_and_terms():
    """Each objective picks its own optimum; every term is reported whatever the objective."""
    areas, sites, table = strip([1000] * 6, [1, 4, 0, 5, 2])
    options = pd.DataFrame(
        {
            "site_id": ["s00", "s01", "s02", "s03", "s04"],
            "option": ["reuse"] * 5,
            "capital_cost": [4e6, 4e6, 1e6, 1e6, 3e6],
            "capacity": [np.nan] * 5,
        }
    )
    plans = {}
    for objective in ("travel", "cost", "hubs"):
        rules = Rules(min_population=2000, objective=objective)
        plans[objective] = solved(areas, sites, table, rules, options=options)
        assert set(plans[objective].objective_terms) == {"travel", "cost", "hubs", "exception"}
    # travel: three hubs of two areas at the cheapest-travel sites
    assert plans["travel"].objective_terms["hubs"] == 3
    # cost: one hub, the cheapest site
    assert plans["cost"].objective_terms["cost"] == 1e6
    assert plans["cost"].objective_terms["hubs"] == 1
    # hubs: one hub; ties broken by travel (the central site s04 at area 2)
    assert plans["hubs"].objective_terms["hubs"] == 1
    assert set(plans["hubs"].hubs["site_id"]) == {"s04"}
    assert plans["travel"].objective_terms["travel"] < plans["hubs"].objective_terms["travel"]
    # a weighted mix trades them off and its objective is the weighted sum
    w = {"travel": 1.0, "cost": 0.001, "hubs": 1000.0}
    mix = solved(areas, sites, table, Rules(min_population=2000, objective=w), options=options)
    t = mix.objective_terms
    assert mix.solver["objective"] == pytest.approx(
        t["travel"] + 0.001 * t["cost"] + 1000.0 * t["hubs"]
    )
    for other in plans.values():
        o = other.objective_terms
        assert mix.solver["objective"] <= o["travel"] + 0.001 * o["cost"] + 1000 * o["hubs"] + 1e-6
