"""Capital options from a file, new-build candidates and the run that uses them.

Each binds: the options file changes which hubs a budget allows, a new-build
candidate serves areas no existing site can, and a scripted run writes a checked
plan, ``timetable.csv`` within its budgets and every ``evaluation`` figure.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from polygeo.capital import read_options_file, scenario_options
from polygeo.check import assert_valid, check
from polygeo.demo import write_demo
from polygeo.errors import InfeasibleError, InputError
from polygeo.new_build import new_build_sites
from polygeo.optimise import Rules, SolverSettings, solve
from polygeo.optimise.synthetic import grid_instance, travel_table
from polygeo.pipeline import load_inputs, run_scenario
from polygeo.pipeline import travel_table as scenario_travel_table
from polygeo.scenario import load_scenario

EXACT = SolverSettings(gap=0.0)


def write(path, text):
    path.write_text(text)
    return path


def kinds_instance():
    # a strip of 6 areas; a hospital at one end, a clinic in the middle, a gp at the other end
    pts = [(500, 500), (2500, 500), (5500, 500)]
    return grid_instance(
        6, 1, population=1000, sites=pts, site_kinds=["hospital", "clinic", "gp"], limit=100.0
    )


def test_options_file_joins_on_kind_and_site(tmp_path):
    _, sites, _ = kinds_instance()
    path = write(
        tmp_path / "options.csv",
        "site_id,kind,option,capital_cost,capacity,ready_year\n"
        "s02,,refurbish,7e6,,2011\n"
        ",gp,refurbish,3000000,4000,2010\n"
        ",hospital,reuse,0,,\n"
        ",clinic,new build,12000000,,2012\n",
    )
    options = scenario_options(read_options_file(path, sites), sites)
    rows = options.set_index(["site_id", "option"])
    # the site's own row replaces its kind's row for the same option
    assert rows.loc[("s02", "refurbish"), "capital_cost"] == 7e6
    assert np.isnan(rows.loc[("s02", "refurbish"), "capacity"])
    assert rows.loc[("s02", "refurbish"), "ready_year"] == 2011
    assert rows.loc[("s00", "reuse"), "capital_cost"] == 0
    assert rows.loc[("s01", "new build"), "ready_year"] == 2012
    assert len(options) == 3


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("kind,option,capital_cost\ngp,reuse,cheap\n", r"options.csv row 2: capital_cost 'cheap'"),
        ("kind,option,capital_cost,colour\ngp,reuse,0,red\n", r"unknown columns colour"),
        ("option,capital_cost\nreuse,0\n", r"missing columns site_id or kind"),
        ("site_id,kind,option,capital_cost\ns00,gp,reuse,0\n", r"row 2: site 's00' has kind"),
        ("site_id,option,capital_cost\nzz,reuse,0\n", r"row 2: site_id 'zz' is not a site"),
        (
            "kind,option,capital_cost,ready_year\ngp,reuse,0,2010.5\n",
            r"ready_year must be a whole year",
        ),
    ],
)
def test_options_file_errors_name_the_row(tmp_path, text, message):
    _, sites, _ = kinds_instance()
    path = write(tmp_path / "options.csv", text)
    with pytest.raises(InputError, match=message):
        read_options_file(path, sites)


def test_options_file_binds_under_a_budget(tmp_path):
    areas, sites, table = kinds_instance()
    rules = Rules(min_population=3000, budget=5e6)
    # default options: everything is reuse at no cost, the budget binds nothing
    free = solve(areas, sites, table, rules, solver=EXACT)
    assert "s02" in set(free.hubs["site_id"])
    path = write(
        tmp_path / "options.csv",
        "kind,option,capital_cost\nhospital,reuse,0\nclinic,refurbish,4e6\ngp,new build,9e6\n",
    )
    options = scenario_options(read_options_file(path, sites), sites)
    plan = solve(areas, sites, table, rules, options=options, solver=EXACT)
    assert_valid(plan, areas, sites, table, rules, options=options)
    assert "s02" not in set(plan.hubs["site_id"])
    assert plan.hubs["capital_cost"].sum() <= 5e6
    # the plan made without the file opens the gp practice with an option the file does not offer
    assert "option" in {v.rule for v in check(free, areas, sites, table, rules, options=options)}


def test_new_build_candidates_serve_areas_no_site_reaches():
    # one hospital at the west end; the east end is beyond 6 minutes of it
    areas, sites, table = grid_instance(
        8, 1, population=1000, sites=[(500, 500)], site_kinds=["hospital"], limit=6.0
    )
    rules = Rules(min_population=1000)
    with pytest.raises(InfeasibleError):
        solve(areas, sites, table, rules, solver=EXACT)
    with pytest.raises(InputError, match="groups names groups no area has: east"):
        new_build_sites({"grid_m": 2000, "groups": ["east"]}, areas.assign(group="west"))
    with_groups = areas.assign(group=["west"] * 4 + ["east"] * 4)
    new = new_build_sites({"grid_m": 1000, "groups": ["east"]}, with_groups)
    assert list(new["area_id"]) == ["a004", "a005", "a006", "a007"]  # the area centres
    assert new.geometry.x.tolist() == [4500.0, 5500.0, 6500.0, 7500.0]
    assert (new["kind"] == "new").all()
    all_sites = pd.concat([sites, new[["site_id", "name", "kind", "geometry"]]], ignore_index=True)
    all_sites = all_sites.set_crs(sites.crs, allow_override=True)
    options = scenario_options([], all_sites, {"capital_cost": 8e6, "option": "new build"})
    assert set(options.loc[options["site_id"].str.startswith("new"), "option"]) == {"new build"}
    assert set(options.loc[options["site_id"] == "s00", "option"]) == {"reuse"}
    full_table = travel_table(areas, all_sites, minutes_per_km=3.0, limit=6.0)
    plan = solve(areas, all_sites, full_table, rules, options=options, solver=EXACT)
    assert_valid(plan, areas, all_sites, full_table, rules, options=options)
    new_hubs = plan.hubs[plan.hubs["site_id"].str.startswith("new-")]
    assert len(new_hubs) >= 1
    assert (new_hubs["capital_cost"] == 8e6).all()


def test_new_build_at_area_centroids_and_errors():
    areas, _, _ = grid_instance(3, 1, population=1000, sites=[(500, 500)])
    new = new_build_sites({"at": "area_centroids", "areas": ["a001"]}, areas)
    assert list(new["area_id"]) == ["a001"] and new.geometry.x.tolist() == [1500.0]
    with pytest.raises(InputError, match="at = 'everywhere' is not known"):
        new_build_sites({"at": "everywhere"}, areas)
    with pytest.raises(InputError, match="area ids that are not in the study area: zz"):
        new_build_sites({"at": "area_centroids", "areas": ["zz"]}, areas)
    with pytest.raises(InputError, match="no new-build candidate"):
        new_build_sites({"grid_m": 50_000}, areas)


CAPITAL_TOML = """
[options]
path = "options.csv"

[new_build]
grid_m = 5000
capital_cost = 15e6
capacity = 90000
ready_year = 2011

[timetable]
budgets = {2009 = 5e6, 2010 = 10e6, 2011 = 20e6, 2012 = 10e6}

[evaluation]
baseline = "nearest_gp"
"""

OPTIONS_CSV = """kind,site_id,option,capital_cost,capacity,ready_year
hospital,,reuse,0,,
clinic,,refurbish,4000000,,2010
community,,refurbish,6000000,,2011
gp,,refurbish,3000000,70000,
"""


@pytest.fixture(scope="module")
def capital_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("capital")
    path = write_demo(folder, n_areas=120, seed=7)
    text = path.read_text().replace("min_population = 50000", "min_population = 20000")
    path.write_text(text + CAPITAL_TOML)
    write(folder / "options.csv", OPTIONS_CSV)
    scenario = load_scenario(path)
    result = run_scenario(scenario, progress=False, overrides={"time_limit": 20})
    return scenario, result


def test_capital_run_writes_checked_plan_timetable_and_evaluation(capital_run):
    scenario, result = capital_run
    assert result.violations == []
    out = scenario.output_dir()
    hubs = pd.read_csv(out / "hubs.csv", dtype={"site_id": str})
    assert {"ready_year", "is_new"} <= set(hubs.columns)
    assert (hubs["is_new"] == hubs["site_id"].str.startswith("new-")).all()
    new = hubs[hubs["is_new"]]
    assert (new["ready_year"] == 2011).all() and (new["option"] == "new build").all()
    clinics = hubs[hubs["kind"] == "clinic"]
    assert (clinics["ready_year"] == 2010).all() and (clinics["capital_cost"] == 4e6).all()

    # the plan as written passes the checker, with the scenario's options
    inputs = load_inputs(scenario)
    assert inputs.sites["site_id"].str.startswith("new-").sum() > 0
    _, _, table = scenario_travel_table(scenario, inputs.areas, inputs.sites, progress=False)
    assignments = pd.read_csv(out / "assignments.csv", dtype={"area_id": str, "site_id": str})
    written = SimpleNamespace(assignments=assignments, hubs=hubs)
    from polygeo.pipeline import scenario_options as options_of

    options = options_of(scenario, inputs.sites)
    rules = Rules.from_dict(scenario.rules)
    assert check(written, inputs.areas, inputs.sites, table, rules, options=options) == []

    timetable = pd.read_csv(out / "timetable.csv", dtype={"site_id": str})
    summary = json.loads((out / "summary.json").read_text())
    budgets = {2009: 5e6, 2010: 10e6, 2011: 20e6, 2012: 10e6}
    spent = timetable.groupby("year")["capital_cost"].sum()
    for year, budget in budgets.items():
        assert spent.get(year, 0.0) <= budget
    ready = hubs.set_index("site_id")["ready_year"]
    for row in timetable.itertuples():
        if pd.notna(ready[row.site_id]):
            assert row.year >= ready[row.site_id]
    listed = set(timetable["site_id"]) | {
        h["site_id"] for h in summary["timetable"]["hubs_unscheduled"]
    }
    assert listed == set(hubs["site_id"])

    ev = summary["evaluation"]
    assert set(ev["access"]["share_within_minutes"]) == {"10", "15", "20", "30"}
    assert ev["value_for_money"]["capital_total"] == pytest.approx(hubs["capital_cost"].sum())
    assert ev["inequality"]["column"] == "imd_decile"
    assert ev["baseline"]["name"] == "nearest_gp"
    # every number of the plan's figures has its change against the baseline
    change = ev["baseline"]["change"]
    assert change["access"]["mean_minutes"] == pytest.approx(
        ev["access"]["mean_minutes"] - ev["baseline"]["figures"]["access"]["mean_minutes"]
    )
    by_option = summary["capital_by_option"]
    assert sum(v["capital"] for v in by_option.values()) == pytest.approx(
        hubs["capital_cost"].sum()
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[options]\nsheet = "x"\n', r"\[options\] needs path"),
        ("[new_build]\ncapital_cost = 1\n", r"\[new_build\] needs exactly one of grid_m"),
        ("[new_build]\ngrid_m = 500\n", r"\[new_build\] needs capital_cost"),
        ("[new_build]\ngrid = 500\n", r"unknown key \[new_build\] grid\. Did you mean 'grid_m'"),
        ("[timetable]\ncarry_over = true\n", r"\[timetable\] needs budgets"),
        ('[timetable]\nbudgets = {2009 = 1}\ncarry_over = "yes"\n', r"carry_over must be bool"),
        ('[evaluation]\nbaseline = "today.csv"\n', r"baseline = 'today.csv': use \"nearest_gp\""),
        ('[evaluation]\ndeprivaton = "imd"\n', r"Did you mean 'deprivation'"),
    ],
)
def test_scenario_capital_tables_are_checked(tmp_path, text, message):
    areas = write(tmp_path / "areas.csv", "area_id,x,y,population\na1,0,0,10\n")
    assert areas.exists()
    path = write(tmp_path / "s.toml", '[areas]\npoints = "areas.csv"\n' + text)
    with pytest.raises(InputError, match=message):
        load_scenario(path)


def test_evaluation_settings_fail_before_the_solve(tmp_path):
    path = write_demo(tmp_path, n_areas=60, seed=3)
    path.write_text(path.read_text() + '\n[evaluation]\ndeprivation = "income_decile"\n')
    with pytest.raises(InputError, match=r"deprivation = 'income_decile': the areas have no"):
        run_scenario(load_scenario(path), progress=False)
    assert not (tmp_path / "out").exists()
