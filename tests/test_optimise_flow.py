"""Contiguity by flow and by cut rounds, against brute force on small grids."""

from __future__ import annotations

import pytest
from test_optimise_contiguity import _BRUTE, brute_contiguous, instance

from polygeo.check import assert_valid
from polygeo.optimise import Rules, SolverSettings, build_problem, solve
from polygeo.optimise.flow import FlowModel, flow_arcs
from polygeo.optimise.solve import formulate


def _rules(areas) -> Rules:
    return Rules(min_population=float(areas["population"].sum()) / 3.2, contiguous=True)


def _brute(seed: int) -> float:
    """The brute-force optimum (cached with test_optimise_contiguity's, same rules)."""
    if seed not in _BRUTE:
        areas, sites, table = instance(seed)
        _BRUTE[seed] = brute_contiguous(areas, sites, table, _rules(areas))
    return _BRUTE[seed]


@pytest.mark.parametrize("max_arcs", [10**9, -1], ids=["flow", "cuts"])
@pytest.mark.parametrize("seed", [18, 62])
def test_flow_and_cut_rounds_reach_the_brute_force_optimum(monkeypatch, seed, max_arcs):
    monkeypatch.setattr("polygeo.optimise.flow.FLOW_MAX_ARCS", max_arcs)
    areas, sites, table = instance(seed)
    rules = _rules(areas)
    plan = solve(areas, sites, table, rules, solver=SolverSettings(gap=0.0))
    assert_valid(plan, areas, sites, table, rules)
    assert plan.solver["optimal"]
    assert plan.solver["rounds"] == 1 if max_arcs > 0 else plan.solver["rounds"] > 1
    assert plan.objective_terms["travel"] == pytest.approx(_brute(seed), rel=1e-9)


def test_formulate_picks_the_flow_by_size(monkeypatch):
    areas, sites, table = instance(18)
    problem = build_problem(areas, sites, table, _rules(areas))
    model = formulate(problem)
    assert isinstance(model, FlowModel)
    assert model.n_cols == model.n_x + model.n_y + model.n_z + model.n_f
    assert model.integer_columns == model.n_x + model.n_y + model.n_z
    monkeypatch.setattr("polygeo.optimise.flow.FLOW_MAX_ARCS", model.n_f - 1)
    assert not isinstance(formulate(problem), FlowModel)
    assert len(flow_arcs(formulate(problem))) == model.n_f


@pytest.mark.parametrize("seed", [18, 111])
def test_cut_rounds_stopped_early_return_a_contiguous_plan_and_a_valid_bound(monkeypatch, seed):
    """One round is not enough to connect every catchment: the best contiguous plan
    (the start here) comes back with the round's bound, below the true optimum."""
    monkeypatch.setattr("polygeo.optimise.flow.FLOW_MAX_ARCS", -1)
    areas, sites, table = instance(seed)
    rules = _rules(areas)
    plan = solve(areas, sites, table, rules, solver=SolverSettings(gap=0.0), max_rounds=1)
    assert plan.solver["status"] == "limit_feasible" and not plan.solver["optimal"]
    assert_valid(plan, areas, sites, table, rules)
    best = _brute(seed)
    assert plan.solver["bound"] <= best + 1e-6 <= plan.objective_terms["travel"] + 2e-6
    assert plan.solver["gap"] == pytest.approx(
        (plan.solver["objective"] - plan.solver["bound"]) / plan.solver["objective"]
    )
