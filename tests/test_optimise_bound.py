"""polygeo's Lagrangian bound, its counting rows and reduced-cost fixing, checked against
known optima: brute force on tiny instances (every rule) and published districting optima.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from test_optimise_brute import CASES, brute_force, instance, options_for

from polygeo.check import assert_valid
from polygeo.optimise import Rules, SolverSettings, build_model, build_problem, solve
from polygeo.optimise.backends import HighsBackend
from polygeo.optimise.bound import hub_gaps, lagrangian_bound
from polygeo.optimise.fixing import count_rows, reduced_cost_fixing, restricted_model
from polygeo.optimise.start import greedy_start

EXACT = SolverSettings(name="highs", gap=0.0)

#: Steps of the subgradient search (a count, not seconds: the same bound on a busy machine).
ITERATIONS = 1500


def _model(areas, sites, table, rules, options=None, far_times=None):
    problem = build_problem(areas, sites, table, rules, options=options, far_times=far_times)
    return build_model(problem)


def _optimum(model) -> float:
    """The model's optimum by HiGHS at gap 0."""
    result = HighsBackend(model, EXACT).run(None)
    assert result.status == "optimal"
    return model.objective_value(np.round(result.values))


SEEDS = range(3)


def _solvable(case: str, seed: int):
    """The instance, rules, options, model and brute-force optimum of a case; ``None``
    when the seed's instance has no plan (the diagnosis or brute force says so)."""
    areas, sites, table = instance(seed)
    rules = Rules(**CASES[case])
    opts = options_for(sites, seed) if case in ("cost", "mix", "budget") else None
    problem = build_problem(areas, sites, table, rules, options=opts)
    if problem.diagnosis.infeasible:
        return None
    model = build_model(problem)
    expected = brute_force(
        areas, sites, table, rules, opts, tiebreak=model.weights["travel_tiebreak"]
    )
    return None if expected is None else (model, expected)


@pytest.mark.parametrize("case", sorted(CASES))
def test_bound_never_exceeds_the_brute_force_optimum(case):
    solvable = [found for seed in SEEDS if (found := _solvable(case, seed)) is not None]
    assert solvable, f"no seed of {SEEDS} gives a solvable {case} instance"
    for model, expected in solvable:
        lb = lagrangian_bound(model, seconds=300, max_iterations=ITERATIONS)
        assert lb is not None
        assert lb.value <= expected * (1 + 1e-9) + 1e-6
        # and it is a real bound, not a trivial one
        assert lb.value >= 0.5 * expected


def test_bound_with_groups_never_exceeds_the_optimum():
    rules = Rules(min_population=3000, within_group=True)
    checked = 0
    for seed in range(4):
        areas, sites, table = instance(seed, groups=True)
        expected = brute_force(areas, sites, table, rules)
        if expected is None:
            continue  # this seed's instance has no plan
        checked += 1
        lb = lagrangian_bound(
            _model(areas, sites, table, rules), seconds=300, max_iterations=ITERATIONS
        )
        assert lb.value <= expected * (1 + 1e-9) + 1e-6
        assert lb.value >= 0.5 * expected
    assert checked >= 2


def _lp_relaxation(model) -> float:
    """The LP relaxation's optimum, by HiGHS (every column continuous)."""
    import highspy

    backend = HighsBackend(model, SolverSettings(name="highs"))
    lp = backend.h.getLp()
    lp.integrality_ = [highspy.HighsVarType.kContinuous] * model.n_cols
    backend.h.passModel(lp)
    backend.h.run()
    return backend.h.getInfo().objective_function_value


def _grid(seed: int = 4):
    from polygeo.optimise.synthetic import grid_instance

    areas, sites, table = grid_instance(9, 9, sites=20, seed=seed, limit=12)
    rules = Rules(min_population=float(areas["population"].sum()) / 6.5)
    return areas, sites, table, rules


def test_bound_reaches_the_lp_bound():
    """The subgradient search gets the LP bound (it is the LP of the same relaxation;
    the global counting row only lifts it), and stays below a feasible plan."""
    areas, sites, table, rules = _grid()
    model = build_model(build_problem(areas, sites, table, rules))
    lp = _lp_relaxation(model)
    v0 = greedy_start(model)
    lb = lagrangian_bound(model, seconds=300, max_iterations=3000)
    assert lb.value >= lp * (1 - 2e-3)
    assert lb.value <= model.objective_value(v0)


@pytest.mark.parametrize("case", sorted(CASES))
def test_fixing_keeps_the_optimum(case):
    """Remove what cannot beat the optimum itself (the hardest threshold): the
    optimum of the smaller model is the same."""
    solvable = [found for seed in SEEDS if (found := _solvable(case, seed)) is not None]
    assert solvable, f"no seed of {SEEDS} gives a solvable {case} instance"
    for model, expected in solvable:
        best = _optimum(model)
        assert best == pytest.approx(expected, rel=1e-9, abs=1e-6)
        lb = lagrangian_bound(model, upper=best, seconds=300, max_iterations=ITERATIONS)
        fixing = reduced_cost_fixing(model, lb, best, tolerance=0.0)
        assert not fixing.proved
        smaller, _ = restricted_model(model, fixing)
        assert _optimum(smaller) == pytest.approx(best, rel=1e-9, abs=1e-6)


def test_fixing_removes_pairs_when_the_incumbent_is_good():
    """Guard against a fixing that never fixes anything (its test would then be empty)."""
    areas, sites, table, rules = _grid()
    model = build_model(build_problem(areas, sites, table, rules))
    best = _optimum(model)
    lb = lagrangian_bound(model, upper=best, seconds=300, max_iterations=ITERATIONS)
    fixing = reduced_cost_fixing(model, lb, best)
    assert fixing.pairs_removed > 0.3 * model.n_x
    smaller, _ = restricted_model(model, fixing)
    assert _optimum(smaller) == pytest.approx(best, rel=1e-9)


def test_counting_rows_hold_for_the_optimal_plan():
    """Every counting row the bound adds (global, per group, regions) holds for the
    optimal plan found without them."""
    from polygeo.optimise.synthetic import grid_instance

    groups = (np.arange(49) % 7 >= 4).astype(int) + 2 * (np.arange(49) // 28)
    areas, sites, table = grid_instance(7, 7, sites=14, seed=5, limit=12, groups=groups)
    rules = Rules(min_population=float(areas["population"].sum()) / 7.5, within_group=True)
    model = build_model(build_problem(areas, sites, table, rules))
    result = HighsBackend(model, EXACT).run(None)
    v = np.round(result.values)
    lb = lagrangian_bound(
        model, upper=model.objective_value(v), seconds=300, max_iterations=ITERATIONS
    )
    A, rhs = count_rows(model, lb)
    assert A.shape[0] >= 2  # the global row and the group rows at least
    assert ((A @ v) <= rhs + 1e-9).all()


@pytest.mark.parametrize("seed", [1, 2])
def test_solve_with_the_bound_keeps_brute_force_optimum_and_checks(seed, monkeypatch):
    """The whole driver with bound, guided starts and fixing forced on a tiny model."""
    import importlib

    driver = importlib.import_module("polygeo.optimise.solve")
    monkeypatch.setattr(driver, "BOUND_MIN_PAIRS", 0)
    areas, sites, table = instance(seed)
    rules = Rules(min_population=2000, hubs={"min": 2, "max": 3})
    expected = brute_force(areas, sites, table, rules)
    plan = solve(areas, sites, table, rules, solver=EXACT)
    assert_valid(plan, areas, sites, table, rules)
    assert plan.solver["objective"] == pytest.approx(expected, rel=1e-9)
    assert plan.solver["lagrangian_bound"] is not None
    assert plan.solver["lagrangian_bound"] <= expected * (1 + 1e-9)
    assert plan.solver["trace"][-1][1] == pytest.approx(expected, rel=1e-9)


# -- published optima: the Hess districting instances of Validi, Buchanan & Lykhovyd ----------
def _districting(data, state: str):
    nodes = pd.read_csv(data / "districting" / "nodes.csv")
    nodes = nodes[nodes["state"] == state].sort_values("node_id")
    costs = pd.read_csv(data / "districting" / "costs.csv")
    costs = costs[costs["state"] == state]
    ids = nodes["node_id"].astype(str).to_numpy()
    areas = pd.DataFrame({"area_id": ids, "population": nodes["population"].to_numpy(float)})
    sites = pd.DataFrame({"site_id": ids})
    table = pd.DataFrame(
        {
            "area_id": costs["i"].astype(str).to_numpy(),
            "site_id": costs["j"].astype(str).to_numpy(),
            "minutes": costs["d_km"].to_numpy(float) ** 2,
        }
    )
    ref = json.loads((data / "districting" / "reference.json").read_text())[state]
    rules = Rules(min_population=ref["L"], max_population=ref["U"], hubs=ref["k"])
    return areas, sites, table, rules, ref


@pytest.mark.shared_data
@pytest.mark.parametrize("state", ["ME", "NM", "WV", "AL", "NE", "KS"])
def test_bound_below_published_districting_optimum(shared_data, state):
    areas, sites, table, rules, ref = _districting(shared_data, state)
    model = _model(areas, sites, table, rules)
    lb = lagrangian_bound(model, seconds=300, max_iterations=ITERATIONS)
    optimum = ref["objective"] * 1e6  # polygeo's units: person * km^2
    # the optimum is published to 0.01 of its unit
    assert lb.value <= optimum + 0.005 * 1e6
    assert lb.value >= 0.5 * optimum


@pytest.mark.shared_data
@pytest.mark.parametrize("state", ["ME", "NM"])
def test_fixing_keeps_published_districting_optimum(shared_data, state):
    areas, sites, table, rules, ref = _districting(shared_data, state)
    model = _model(areas, sites, table, rules)
    optimum = ref["objective"] * 1e6
    lb = lagrangian_bound(model, upper=optimum, seconds=300, max_iterations=ITERATIONS)
    fixing = reduced_cost_fixing(model, lb, optimum + 0.005 * 1e6)
    smaller, _ = restricted_model(model, fixing)
    assert _optimum(smaller) == pytest.approx(optimum, abs=0.005 * 1e6)


def test_hub_gaps_add_up_to_the_gap_between_plan_and_bound():
    """Plan minus bound = the hubs' gaps + how much worse the open sites' subproblems
    are than the ones the relaxation picks + the counting rows' multipliers; closed
    sites have none."""
    areas, sites, table, rules = _grid(seed=2)
    model = build_model(build_problem(areas, sites, table, rules))
    v0 = greedy_start(model)
    lb = lagrangian_bound(
        model, upper=model.objective_value(v0), start=v0, seconds=300, max_iterations=ITERATIONS
    )
    gaps = hub_gaps(model, lb, v0)
    p = model.problem
    is_open = np.zeros(p.n_sites, dtype=bool)
    is_open[p.pair_site[v0[: model.n_x] > 0.5]] = True
    assert is_open.sum() >= 3 and (gaps[~is_open] == 0).all()
    assert (gaps[is_open] != 0).any()
    selection = lb.site_value[is_open].sum() - lb.site_value[lb.selected].sum()
    rows = float(lb.mu @ lb.structure.cut_rhs)
    plan_minus_bound = model.objective_value(v0) - lb.value
    assert gaps.sum() + selection + rows == pytest.approx(plan_minus_bound, rel=1e-6)


def test_greedy_start_is_a_valid_upper_bound_for_the_bound():
    """The bound never passes a feasible plan's objective (the start plan's)."""
    areas, sites, table, rules = _grid(seed=2)
    model = build_model(build_problem(areas, sites, table, rules))
    v0 = greedy_start(model)
    assert v0 is not None
    lb = lagrangian_bound(
        model, upper=model.objective_value(v0), start=v0, seconds=300, max_iterations=ITERATIONS
    )
    assert lb.value <= model.objective_value(v0) * (1 + 1e-9)


def test_progress_line_and_trace(capfd, monkeypatch):
    """The progress line shows incumbent, bound and gap; the trace only ever improves
    and ends at the reported objective and bound."""
    import importlib

    monkeypatch.setattr(importlib.import_module("polygeo.optimise.solve"), "BOUND_MIN_PAIRS", 0)
    areas, sites, table = instance(1)
    rules = Rules(min_population=2000, hubs={"min": 2, "max": 3})
    plan = solve(areas, sites, table, rules, solver=SolverSettings(gap=0.0), progress=True)
    err = capfd.readouterr().err
    assert "incumbent" in err and "bound" in err and "gap" in err
    # stderr is a pipe here: whole lines, no carriage returns, one per step of the solve
    assert "\r" not in err
    lines = [line for line in err.splitlines() if "incumbent" in line]
    assert lines[0].split()[-2:] == ["start", "plan"] and lines[-1].endswith("done")
    assert len(lines) < len(plan.solver["trace"]) + 2
    trace = plan.solver["trace"]
    objectives = [obj for _, obj, _ in trace if obj is not None]
    bounds = [b for _, _, b in trace if b is not None]
    assert objectives == sorted(objectives, reverse=True)
    assert bounds == sorted(bounds)
    assert objectives[-1] == pytest.approx(plan.solver["objective"])
    assert bounds[-1] == pytest.approx(plan.solver["bound"])
    assert [t for t, _, _ in trace] == sorted(t for t, _, _ in trace)
    assert plan.summary()["solver"]["trace"] == trace
