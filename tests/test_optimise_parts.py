"""Independent parts solved apart (groups, connected parts) and combined.

Each plan goes through the independent checker; the combined optimum is compared
with the whole model's proven optimum, and the bound with the true optimum.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from polygeo.check import assert_valid
from polygeo.errors import InfeasibleError
from polygeo.optimise import Rules, SolverSettings, build_problem, solve
from polygeo.optimise.conflicts import resolve_shared_sites
from polygeo.optimise.parts import find_parts, why_whole
from polygeo.optimise.synthetic import grid_instance

EXACT = SolverSettings(gap=0.0)


def border_instance():
    """Two groups of three areas in a row and a site on their border that both want.

    Group A (areas 0-2, 1,000 people each) and group B (areas 3-5, 1,100 each); the
    border site ``s00`` is 4.5 km (summed) from either group, each group's own
    site 6 km: alone, each group takes the border site, but it holds one hub.
    """
    pop = [1000.0] * 3 + [1100.0] * 3
    groups = ["A"] * 3 + ["B"] * 3
    sites = [(3000.0, 500.0), (-500.0, 500.0), (6500.0, 500.0)]
    return grid_instance(6, 1, population=pop, sites=sites, groups=groups, limit=20.0)


def test_a_site_both_groups_want_goes_to_one_and_the_plan_is_the_optimum():
    areas, sites, table = border_instance()
    rules = Rules(min_population=3000, within_group=True)
    problem = build_problem(areas, sites, table, rules)
    assert [part.name for part in find_parts(problem)] == ["A", "B"]
    plan = solve(areas, sites, table, rules, solver=EXACT)
    assert_valid(plan, areas, sites, table, rules)
    whole = solve(areas, sites, table, rules, solver=EXACT, decompose=False)
    assert_valid(whole, areas, sites, table, rules)
    # the border site once, each group its hub; 4.5 + 6 km at 3 min/km, by population
    assert plan.hubs["site_id"].is_unique and len(plan.hubs) == 2
    assert plan.solver["objective"] == pytest.approx(whole.solver["objective"], rel=1e-9)
    assert plan.solver["optimal"] and plan.solver["bound"] <= plan.solver["objective"] + 1e-6
    assert plan.solver["shared_site_nodes"] > 1 and plan.solver["parts_solved_again"] >= 1
    assert [row["name"] for row in plan.solver["parts"]] == ["A", "B"]


def test_the_search_bound_is_the_relaxation_until_the_shared_site_is_settled():
    areas, sites, table = border_instance()
    rules = Rules(min_population=3000, within_group=True)
    parts = find_parts(build_problem(areas, sites, table, rules))
    first = []
    for part in parts:
        part_areas = areas.iloc[part.area_rows].reset_index(drop=True)
        part_table = table[table["area_id"].astype(str).isin(part_areas["area_id"])]
        first.append(solve(part_areas, sites, part_table, rules, solver=EXACT, decompose=False))
    relaxation = sum(p.solver["objective"] for p in first)
    assert set(first[0].hubs["site_id"]) == set(first[1].hubs["site_id"]) == {"s00"}

    def no_time(k, dropped, seconds):  # a deadline already passed: nothing is solved again
        raise AssertionError("solved after the deadline")

    outcome = resolve_shared_sites(no_time, first, deadline=0.0, gap=0.0)
    assert outcome.best is None and outcome.bound == pytest.approx(relaxation)


def test_connected_parts_are_solved_apart_with_the_whole_models_optimum():
    left = grid_instance(3, 2, sites=3, seed=1, limit=20.0)
    right = grid_instance(3, 2, sites=3, seed=2, limit=20.0)
    areas, sites = _side_by_side(left, right, shift=100_000.0)
    from polygeo.optimise.synthetic import travel_table

    table = travel_table(areas, sites, limit=20.0)
    rules = Rules(min_population=3000)
    parts = find_parts(build_problem(areas, sites, table, rules))
    assert [len(p.area_rows) for p in parts] == [6, 6]
    plan = solve(areas, sites, table, rules, solver=EXACT)
    whole = solve(areas, sites, table, rules, solver=EXACT, decompose=False)
    assert_valid(plan, areas, sites, table, rules)
    assert plan.solver["objective"] == pytest.approx(whole.solver["objective"], rel=1e-9)
    assert plan.solver["optimal"] and len(plan.solver["parts"]) == 2
    assert plan.assignments["area_id"].tolist() == sorted(areas["area_id"])


def _side_by_side(a, b, shift):
    (areas_a, sites_a, _), (areas_b, sites_b, _) = a, b
    areas_b = areas_b.copy()
    areas_b["geometry"] = areas_b.geometry.translate(xoff=shift)
    areas_b["origin_x"] = areas_b["origin_x"] + shift
    areas_b["area_id"] = [f"b{k:03d}" for k in range(len(areas_b))]
    sites_b = sites_b.copy()
    sites_b["geometry"] = sites_b.geometry.translate(xoff=shift)
    sites_b["site_id"] = [f"t{k:02d}" for k in range(len(sites_b))]
    areas = pd.concat([areas_a, areas_b], ignore_index=True)
    sites = pd.concat([sites_a, sites_b], ignore_index=True)
    return areas, sites


@pytest.mark.parametrize(
    ("extra", "why"),
    [
        ({"budget": 1e9}, "budget"),
        ({"hubs": 2}, "hub count"),
        ({"min_hubs_by_kind": {"clinic": 1}}, "min_hubs_by_kind"),
        ({"objective": "hubs"}, "tie-break"),
    ],
)
def test_rules_that_tie_the_groups_keep_the_problem_whole(extra, why):
    areas, sites, table = border_instance()
    rules = Rules(min_population=3000, within_group=True, **extra)
    problem = build_problem(areas, sites, table, rules)
    assert why in why_whole(problem)
    assert len(find_parts(problem)) == 1


def test_groups_solved_apart_match_brute_force_on_random_instances():
    """Four groups on a 4 x 4 grid with random sites: the optimum of the whole model."""
    settled = 0
    for seed in range(4):
        rng = np.random.default_rng(seed)
        pts = [tuple(p) for p in rng.uniform(0, 4000, size=(6, 2))]
        groups = (np.arange(16) % 4 >= 2).astype(int) + 2 * (np.arange(16) >= 8)
        areas, sites, table = grid_instance(4, 4, sites=pts, seed=seed, limit=9.0, groups=groups)
        rules = Rules(min_population=3000, within_group=True, allow_exceptions=False)
        try:
            whole = solve(areas, sites, table, rules, solver=EXACT, decompose=False)
        except InfeasibleError:  # infeasible seeds must be infeasible both ways
            with pytest.raises(InfeasibleError):
                solve(areas, sites, table, rules, solver=EXACT)
            continue
        plan = solve(areas, sites, table, rules, solver=EXACT)
        assert_valid(plan, areas, sites, table, rules)
        assert plan.solver["objective"] == pytest.approx(whole.solver["objective"], rel=1e-9)
        settled += plan.solver["shared_site_nodes"] > 1
    assert settled >= 2, "the seeds must put some site in two groups' plans"


def test_groups_solved_in_two_processes_give_the_same_checked_optimum():
    groups = (np.arange(16) % 4 >= 2).astype(int) + 2 * (np.arange(16) >= 8)
    rng = np.random.default_rng(1)
    pts = [tuple(p) for p in rng.uniform(0, 4000, size=(6, 2))]
    areas, sites, table = grid_instance(4, 4, sites=pts, seed=1, limit=9.0, groups=groups)
    rules = Rules(min_population=3000, within_group=True)
    one = solve(areas, sites, table, rules, solver=EXACT)
    two = solve(areas, sites, table, rules, solver=SolverSettings(gap=0.0, threads=2))
    assert_valid(two, areas, sites, table, rules)
    assert two.solver["objective"] == pytest.approx(one.solver["objective"], rel=1e-9)
    assert len(two.solver["parts"]) == 4 and two.solver["optimal"]


def test_a_part_left_without_a_plan_is_solved_again_with_the_time_left():
    import time

    from polygeo.errors import SolverError
    from polygeo.optimise.parts import solve_parts

    areas, sites, table = border_instance()
    rules = Rules(min_population=3000, within_group=True)
    problem = build_problem(areas, sites, table, rules)
    calls = []

    def first_call_stops(**kwargs):
        calls.append(kwargs["areas"]["group"].iloc[0])
        if len(calls) == 1:
            raise SolverError("the time limit ran out with no plan")
        return solve(**kwargs)

    inputs = dict(
        areas=areas, sites=sites, travel=table, rules=rules, options=None, adjacency=None,
        decompose=False,
    )  # fmt: skip
    settings = SolverSettings(time_limit=60, gap=0.0)
    parts = find_parts(problem)
    started = time.perf_counter()
    plan = solve_parts(first_call_stops, problem, parts, inputs, settings, started=started)
    assert_valid(plan, areas, sites, table, rules)
    assert calls[:3] == ["A", "B", "A"]  # A again, in the second pass
    whole = solve(areas, sites, table, rules, solver=EXACT, decompose=False)
    assert plan.solver["objective"] == pytest.approx(whole.solver["objective"], rel=1e-9)
