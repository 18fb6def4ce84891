"""The local repair of short hubs: a start plan where the greedy gets stuck."""

from __future__ import annotations

import time

import numpy as np
import pytest

from polygeo.check import assert_valid
from polygeo.errors import InfeasibleError
from polygeo.optimise import Rules, SolverSettings, build_model, build_problem, solve
from polygeo.optimise.assemble import make_plan
from polygeo.optimise.backends import HighsBackend
from polygeo.optimise.local_repair import repair_short_hubs, short_hubs
from polygeo.optimise.start import greedy_assignment, greedy_start
from polygeo.optimise.synthetic import grid_instance


def _instance(seed: int, nx: int, ny: int, sites: tuple[int, int], minimum: tuple[int, int]):
    """A random grid: populations 100-900, sites anywhere, a random limit and minimum."""
    rng = np.random.default_rng(seed)
    population = rng.integers(1, 10, nx * ny) * 100
    n_sites = int(rng.integers(*sites))
    points = [
        (float(rng.uniform(0, nx * 1000)), float(rng.uniform(0, ny * 1000))) for _ in range(n_sites)
    ]
    limit = float(rng.choice([4.0, 5.0, 6.0, 7.0]))
    areas, sites_frame, table = grid_instance(
        nx, ny, population=population, sites=points, limit=limit, seed=seed
    )
    rules = Rules(min_population=int(rng.integers(*minimum)) * 100)
    return areas, sites_frame, table, rules


def _stuck(model):
    """The greedy's partial assignment, asserting that the greedy alone gets stuck."""
    assert greedy_assignment(model) is None
    partial = greedy_assignment(model, partial=True)
    assert partial is not None
    assert len(short_hubs(model, partial)) > 0
    return partial


def test_local_repair_finds_a_checked_plan_where_the_greedy_gets_stuck():
    # 30 areas, 12 sites; the greedy leaves a hub short that no neighbour can fill
    areas, sites, table, rules = _instance(112, 10, 3, (8, 13), (20, 40))
    problem = build_problem(areas, sites, table, rules)
    assert not problem.diagnosis.infeasible
    model = build_model(problem)
    partial = _stuck(model)
    repaired = repair_short_hubs(model, partial)
    assert repaired is not None
    assert len(short_hubs(model, repaired)) == 0
    start = greedy_start(model, improve_seconds=0)
    assert start is not None
    assert model.is_feasible(start)
    assert_valid(make_plan(model, start, {"status": "start"}), areas, sites, table, rules)
    # no better than the optimum, and the full solve from it reaches the optimum
    optimum = HighsBackend(model, SolverSettings(name="highs", gap=0)).run(30)
    assert optimum.status == "optimal"
    best = model.objective_value(np.round(optimum.values))
    assert model.objective_value(start) >= best - 1e-6 * best
    plan = solve(areas, sites, table, rules, solver=SolverSettings(name="highs", gap=0))
    assert_valid(plan, areas, sites, table, rules)
    assert plan.solver["objective"] == pytest.approx(best, rel=1e-6)


def test_a_stuck_greedy_on_a_problem_with_no_plan_ends_in_a_clear_error():
    # the diagnosis finds nothing, the greedy gets stuck and no re-planning helps
    areas, sites, table, rules = _instance(152, 5, 2, (3, 6), (10, 25))
    problem = build_problem(areas, sites, table, rules)
    assert not problem.diagnosis.infeasible
    model = build_model(problem)
    partial = _stuck(model)
    t0 = time.perf_counter()
    assert repair_short_hubs(model, partial, seconds=30) is None
    assert greedy_start(model, improve_seconds=0) is None
    assert time.perf_counter() - t0 < 30
    with pytest.raises(InfeasibleError, match="highs proved that no plan meets the rules"):
        solve(areas, sites, table, rules, solver=SolverSettings(name="highs", time_limit=30))


def test_the_repair_leaves_contiguous_rules_alone():
    areas, sites, table, rules = _instance(112, 10, 3, (8, 13), (20, 40))
    problem = build_problem(areas, sites, table, Rules(min_population=rules.min_population))
    model = build_model(problem)
    partial = _stuck(model)
    contiguous = Rules(min_population=rules.min_population, contiguous=True)
    model_c = build_model(build_problem(areas, sites, table, contiguous))
    assert repair_short_hubs(model_c, partial) is None
