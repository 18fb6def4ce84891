"""A scenario run end to end on a small demo region, its files re-read and re-checked."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pandas as pd
import pytest

from polygeo.check import check
from polygeo.demo import write_demo
from polygeo.errors import InputError
from polygeo.optimise import Rules
from polygeo.pipeline import load_inputs, run_scenario, travel_table
from polygeo.scenario import load_scenario


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    path = write_demo(folder, n_areas=120, seed=7)
    # a third of the demo's areas in the same county: catchments of 20,000 people
    path.write_text(path.read_text().replace("min_population = 50000", "min_population = 20000"))
    scenario = load_scenario(path)
    result = run_scenario(scenario, progress=False, overrides={"time_limit": 60})
    return scenario, result


def test_run_writes_contract_files_that_pass_the_checker(small_demo):
    scenario, result = small_demo
    out = scenario.output_dir()
    assignments = pd.read_csv(out / "assignments.csv", dtype={"area_id": str, "site_id": str})
    hubs = pd.read_csv(out / "hubs.csv", dtype={"site_id": str})
    summary = json.loads((out / "summary.json").read_text())

    assert list(assignments.columns[:4]) == ["area_id", "site_id", "minutes", "exception"]
    assert list(hubs.columns[:11]) == [
        "site_id",
        "name",
        "kind",
        "option",
        "capital_cost",
        "x",
        "y",
        "population",
        "areas",
        "mean_minutes",
        "max_minutes",
    ]
    for key in ("status", "objective", "bound", "gap", "build_seconds", "solve_seconds"):
        assert key in summary["solver"]
    assert summary["crs"] == "EPSG:27700"

    # re-check the plan as written to disk, from the raw inputs
    inputs = load_inputs(scenario)
    _, _, table = travel_table(scenario, inputs.areas, inputs.sites, progress=False)
    written = SimpleNamespace(assignments=assignments, hubs=hubs)
    rules = Rules.from_dict(scenario.rules)
    assert check(written, inputs.areas, inputs.sites, table, rules) == []

    # the numbers in the files agree with each other and with the inputs
    total = inputs.areas["population"].sum()
    assert assignments["area_id"].is_unique and len(assignments) == len(inputs.areas)
    assert hubs["population"].sum() == pytest.approx(total)
    assert summary["coverage"] == 1.0
    assert summary["hub_population"]["min"] >= 20_000
    assert (hubs["population"] >= 20_000).all()
    assert summary["hubs"] == len(hubs) == assignments["site_id"].nunique()
    assert (assignments["minutes"] <= 20 + 1e-6).all()
    assert summary["check"] == {"valid": True, "violations": []}
    assert (out / "catchments.gpkg").exists() and (out / "map.html").exists()


def test_run_stops_on_bad_rules_before_loading(tmp_path):
    scenario_path = write_demo(tmp_path, n_areas=60, seed=1)
    text = scenario_path.read_text().replace("min_population =", "min_populaton =")
    scenario_path.write_text(text)
    with pytest.raises(InputError, match="min_populaton"):
        run_scenario(load_scenario(scenario_path), progress=False)
