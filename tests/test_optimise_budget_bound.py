"""A budget below the cheapest 100%-coverage plan fails before any solve, naming both
figures; the figure is a true lower bound (checked by brute force on tiny instances)."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pandas as pd
import pytest

from polygeo.check import assert_valid
from polygeo.errors import InfeasibleError
from polygeo.optimise import Rules, SolverSettings, diagnose, solve
from polygeo.optimise.synthetic import grid_instance

EXACT = SolverSettings(gap=0.0)


def options_for(sites, costs):
    return pd.DataFrame(
        {
            "site_id": sites["site_id"],
            "option": "refurbish",
            "capital_cost": np.asarray(costs, dtype=float),
            "capacity": np.nan,
        }
    )


def brute_cheapest(areas, sites, table, costs, min_population):
    """Least capital of any set of hubs that can serve every area (each hub >= min)."""
    n = len(areas)
    pop = areas["population"].to_numpy(dtype=float)
    site_row = {s: j for j, s in enumerate(sites["site_id"])}
    area_row = {a: i for i, a in enumerate(areas["area_id"])}
    reach = [set() for _ in range(n)]
    for a, s in zip(table["area_id"].astype(str), table["site_id"].astype(str), strict=True):
        reach[area_row[a]].add(site_row[s])
    best = np.inf
    for k in range(1, len(sites) + 1):
        for subset in itertools.combinations(range(len(sites)), k):
            cost = sum(costs[j] for j in subset)
            if cost >= best:
                continue
            choices = [sorted(reach[i] & set(subset)) for i in range(n)]
            if any(not c for c in choices):
                continue
            for pick in itertools.product(*choices):
                load = np.bincount(pick, weights=pop, minlength=len(sites))
                if all(load[j] >= min_population for j in subset):
                    best = cost
                    break
    return best


def _coverable(seed: int, min_population: float):
    """A seed's instance, options and brute-force cheapest capital (inf: no plan)."""
    rng = np.random.default_rng(seed)
    areas, sites, table = grid_instance(3, 2, sites=4, limit=4.5, seed=seed)
    costs = rng.choice([1e6, 2e6, 3e6, 5e6], size=4)
    optimum = brute_cheapest(areas, sites, table, costs, min_population)
    return areas, sites, table, options_for(sites, costs), optimum


#: Seeds whose instance has a plan covering everyone (test_enough_seeds_are_coverable checks).
COVERABLE = [s for s in range(8) if np.isfinite(_coverable(s, 3000)[4])]


def test_enough_seeds_are_coverable():
    assert len(COVERABLE) >= 4, COVERABLE


@pytest.mark.parametrize("seed", COVERABLE)
def test_bound_is_below_the_brute_force_optimum_and_a_lower_budget_fails(seed):
    min_population = 3000
    areas, sites, table, options, optimum = _coverable(seed, min_population)
    # with the optimum as the budget the rules can be met
    rules = Rules(min_population=min_population, budget=optimum)
    assert not diagnose(areas, sites, table, rules, options).infeasible
    plan = solve(areas, sites, table, rules, options=options, solver=EXACT)
    assert_valid(plan, areas, sites, table, rules, options=options)
    # a budget below the bound fails at once with both figures
    found = diagnose(areas, sites, table, Rules(min_population=min_population, budget=0), options)
    text = [c for c in found.conflicts if "cheapest capital of any plan" in c]
    assert text  # every option costs something, so the bound is above 0
    bound = float(re.search(r"at least ([\d,]+)", text[0]).group(1).replace(",", ""))
    assert 0 < bound <= optimum
    below = Rules(min_population=min_population, budget=bound - 1)
    with pytest.raises(InfeasibleError) as info:
        solve(areas, sites, table, below, options=options, solver=EXACT)
    message = str(info.value)
    assert f"the budget {bound - 1:,.0f} is below" in message
    assert f"at least {bound:,.0f}" in message


def test_hub_kind_rules_raise_the_bound():
    # two groups of 3,000 people; cheap clinics, dear hospitals at the ends
    pts = [(1500.0, 500.0), (4500.0, 500.0), (500.0, 500.0), (5500.0, 500.0)]
    areas, sites, table = grid_instance(
        6,
        1,
        population=1000,
        sites=pts,
        site_kinds=["clinic", "clinic", "hospital", "hospital"],
        groups=["west"] * 3 + ["east"] * 3,
        limit=100.0,
    )
    options = options_for(sites, [1e6, 1e6, 9e6, 9e6])
    plain = Rules(min_population=3000, budget=5e6)
    plan = solve(areas, sites, table, plain, options=options, solver=EXACT)
    assert plan.hubs["capital_cost"].sum() <= 5e6
    rules = Rules(min_population=3000, budget=5e6, kind_in_every_group="hospital")
    # one hospital hub (9,000,000) serving areas of both groups is the cheapest plan
    with pytest.raises(
        InfeasibleError, match=r"the budget 5,000,000 is below .* at least 9,000,000"
    ):
        solve(areas, sites, table, rules, options=options, solver=EXACT)


def test_a_budget_above_the_covering_bound_that_no_plan_meets_fails_with_the_exact_figure():
    # one hub could reach everyone, but within_group needs one hub per group: 2,000,000
    areas, sites, table = grid_instance(
        4,
        1,
        population=1000,
        sites=[(1500, 500), (2500, 500)],
        groups=["A", "A", "B", "B"],
        limit=100.0,
    )
    options = options_for(sites, [1e6, 1e6])
    rules = Rules(min_population=2000, within_group=True, budget=1.5e6)
    assert diagnose(areas, sites, table, rules, options).capital_lower_bound == 1e6
    with pytest.raises(
        InfeasibleError,
        # the covering bound (1,000,000) is lifted before the solve by the cuts of
        # polygeo.optimise.cheapest: the cheapest plan has one hub per group
        match=r"the budget 1,500,000 is below the cheapest capital of any plan that covers "
        r"everyone: 2,000,000 exactly",
    ):
        solve(areas, sites, table, rules, options=options, solver=EXACT)
