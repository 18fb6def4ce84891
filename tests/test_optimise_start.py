"""The greedy start plan: found where exceptions and tight catchments once stopped it."""

from __future__ import annotations

from pathlib import Path

import pytest

from polygeo.check import assert_valid
from polygeo.optimise import Rules, build_model, build_problem
from polygeo.optimise.assemble import make_plan
from polygeo.optimise.start import greedy_start
from polygeo.optimise.synthetic import grid_instance, travel_table
from polygeo.pipeline import far_times_from, load_inputs
from polygeo.pipeline import travel_table as scenario_travel_table
from polygeo.scenario import load_scenario

SCENARIOS = Path(__file__).resolve().parents[1] / "data" / "scenarios"


def _far_times(areas, sites):
    def far_times(area_ids, site_ids):
        full = travel_table(areas, sites, limit=None)
        keep = full["area_id"].astype(str).isin(area_ids)
        keep &= full["site_id"].astype(str).isin(site_ids)
        return full[keep].astype({"area_id": str, "site_id": str})

    return far_times


def _check_start(model, start, areas, sites, table, rules):
    """The start plan passes the independent checker, the areas the diagnosis lists
    as unserved are exceptions, and no area without an exception pair is one."""
    plan = make_plan(model, start, {"status": "start"})
    assert_valid(plan, areas, sites, table, rules)
    a = plan.assignments
    assert len(a) == len(areas)
    assert a["area_id"].is_unique
    # every unserved area is an exception; any other exception is an area the rules let
    # go beyond the limit (it reaches at most THIN_SITES viable sites within it)
    p = model.problem
    unserved = set(model.problem.diagnosis.areas_unserved["area_id"])
    allowed = set(p.area_ids[p.pair_area[p.pair_exception]].tolist())
    exceptions = set(a.loc[a["exception"], "area_id"])
    assert unserved <= exceptions <= allowed


def test_exception_areas_join_their_hub_in_the_start_plan():
    # six areas in a row, one site at the west end reaching four of them within 10 minutes;
    # the two beyond it are exceptions, who together fall short of the minimum
    pts = [(500.0, 500.0)]
    areas, sites, table = grid_instance(6, 1, population=1000, sites=pts, limit=10)
    rules = Rules(min_population=3000, allow_exceptions=True)
    far = _far_times(areas, sites)
    problem = build_problem(areas, sites, table, rules, far_times=far)
    model = build_model(problem)
    start = greedy_start(model, improve_seconds=0)
    assert start is not None
    assert len(problem.diagnosis.areas_unserved) > 0  # the case this test is about
    _check_start(model, start, areas, sites, table, rules)


@pytest.mark.shared_data
def test_london_at_15_minutes_with_exceptions_has_a_start_plan(shared_data, tmp_path):
    text = (SCENARIOS / "london-15min.toml").read_text()
    text = text.replace("../../../shared/data", shared_data.resolve().as_posix())
    text = text.replace("min_population = 50000", "min_population = 50000\nallow_exceptions = true")
    path = tmp_path / "london-15-exceptions.toml"
    path.write_text(text)
    scenario = load_scenario(path)
    inputs = load_inputs(scenario)
    provider, _, table = scenario_travel_table(scenario, inputs.areas, inputs.sites, progress=False)
    rules = Rules.from_dict(scenario.rules)
    far = far_times_from(provider, inputs.areas, inputs.sites)
    problem = build_problem(inputs.areas, inputs.sites, table, rules, far_times=far)
    model = build_model(problem)
    start = greedy_start(model, improve_seconds=0)
    assert start is not None, "no start plan for London at 15 minutes with exceptions"
    assert len(problem.diagnosis.areas_unserved) > 0
    _check_start(model, start, inputs.areas, inputs.sites, table, rules)


def test_guided_start_offers_the_nearest_site_of_an_area_the_given_sites_miss():
    # eight areas in a row; A reaches areas 0-3, B areas 4-7, C areas 5-7. Given A and
    # C (as a relaxation might open them), area 4 is reached by B alone: B must then
    # be offered to its neighbours too, or it holds 1,000 people and no plan is found
    from polygeo.optimise.start import guided_start

    pts = [(2000.0, 500.0), (6000.0, 500.0), (7500.0, 500.0)]
    areas, sites, table = grid_instance(8, 1, population=1000, sites=pts, limit=5)
    rules = Rules(min_population=3000)
    model = build_model(build_problem(areas, sites, table, rules))
    start = guided_start(model, [0, 2], improve_seconds=0)
    assert start is not None
    plan = make_plan(model, start, {"status": "start"})
    assert_valid(plan, areas, sites, table, rules)
    hub_of = dict(zip(plan.assignments["area_id"], plan.assignments["site_id"], strict=True))
    assert hub_of[areas["area_id"].iloc[4]] == sites["site_id"].iloc[1]


def test_frequent_sites_are_the_most_often_opened_as_many_as_the_relaxation_opens():
    import numpy as np

    from polygeo.optimise.start import frequent_sites

    frequency = np.array([0.9, 0.0, 0.5, 0.6, 0.01])  # the relaxation opens 2.01 on average
    sets = frequent_sites(frequency)
    assert [s.tolist() for s in sets] == [[0, 3], [0, 3, 2]]  # 2.01 and 2.81 rounded
