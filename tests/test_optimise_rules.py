"""Rules, solver settings and capital options as data (the scenario tables)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from polygeo.errors import InputError
from polygeo.optimise import (
    DEFAULT_EXCEPTION_PENALTY,
    Rules,
    SolverSettings,
    default_options,
    options_from_settings,
)
from polygeo.optimise.rules import check_options
from polygeo.optimise.synthetic import grid_instance


def test_defaults():
    r = Rules()
    assert r.min_population == 50_000 and r.max_population is None
    assert r.required_sites == () and r.forbidden_sites == ()
    assert r.hub_bounds == (None, None)
    assert r.objective == "travel"
    assert r.objective_weights() == {"travel": 1.0, "cost": 0.0, "hubs": 0.0}
    assert r.exception_penalty == DEFAULT_EXCEPTION_PENALTY == 240
    assert Rules.keys()[:10] == (
        "min_population",
        "max_population",
        "required_sites",
        "forbidden_sites",
        "budget",
        "hubs",
        "within_group",
        "contiguous",
        "allow_exceptions",
        "exception_penalty",
    )


@pytest.mark.parametrize(
    ("hubs", "bounds"),
    [(5, (5, 5)), ({"min": 2, "max": 4}, (2, 4)), ({"max": 4}, (None, 4)), ([1, 3], (1, 3))],
)
def test_hub_forms(hubs, bounds):
    assert Rules.from_dict({"hubs": hubs}).hub_bounds == bounds


def test_from_dict_full_and_round_trip():
    d = {
        "min_population": 40000,
        "max_population": 90000,
        "required_sites": ["RF4", "R1H"],
        "forbidden_sites": "X1",
        "budget": 1e8,
        "hubs": {"min": 3, "max": 9},
        "within_group": True,
        "contiguous": True,
        "allow_exceptions": True,
        "exception_penalty_minutes": 120,
        "objective": {"travel": 1, "cost": 1e-5},
    }
    r = Rules.from_dict(d)
    assert r.required_sites == ("RF4", "R1H") and r.forbidden_sites == ("X1",)
    assert r.exception_penalty == 120
    assert r.objective_weights() == {"travel": 1.0, "cost": 1e-5, "hubs": 0.0}
    assert Rules.from_dict(r.to_dict()) == r


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"min_pop": 1}, "min_pop: unknown key. Did you mean 'min_population'"),
        ({"contigous": True}, "Did you mean 'contiguous'"),
        ({"min_population": "50k"}, "min_population: expected a number"),
        ({"budget": -1}, "budget: must be >= 0"),
        ({"within_group": "yes"}, "within_group: expected true or false"),
        ({"hubs": 0}, "hubs must be at least 1"),
        ({"hubs": {"min": 5, "max": 2}}, "larger than hubs max"),
        ({"hubs": {"minimum": 2}}, "unknown key 'minimum' in hubs.*'min'"),
        ({"hubs": "many"}, "hubs: expected a whole number"),
        ({"objective": "travle"}, "unknown objective 'travle'.*'travel'"),
        ({"objective": {"costs": 1}}, "unknown objective term 'costs'.*'cost'"),
        ({"objective": {"cost": 0}}, "one above 0"),
        ({"required_sites": [1.5]}, "list of site ids"),
        ({"exception_penalty": 1, "exception_penalty_minutes": 2}, "not both"),
    ],
)
def test_from_dict_errors_name_the_key(data, match):
    with pytest.raises(InputError, match=match):
        Rules.from_dict(data, source="plan.toml [rules]")


def test_error_names_the_source():
    with pytest.raises(InputError, match=r"^plan.toml \[rules\] \w+: unknown key"):
        Rules.from_dict({"x": 1}, source="plan.toml [rules]")


def test_solver_settings():
    s = SolverSettings.from_dict({"name": "cbc", "time_limit": 60, "gap": 0.01, "threads": 2})
    assert (s.name, s.time_limit, s.gap, s.threads, s.msg) == ("cbc", 60, 0.01, 2, False)
    assert SolverSettings().name == "highs"
    with pytest.raises(InputError, match="time: unknown key. Did you mean 'time_limit'"):
        SolverSettings.from_dict({"time": 5})
    with pytest.raises(InputError, match=r"\[solver\]: gap is a relative gap"):
        SolverSettings.from_dict({"gap": 5})
    with pytest.raises(InputError, match="threads"):
        SolverSettings(threads=0)
    assert SolverSettings.from_dict(s.to_dict()) == s


SITES = grid_instance(3, 1, sites=3, site_kinds=["gp", "hospital", "hospital"])[1]


def test_default_options():
    o = default_options(SITES)
    assert list(o.columns) == ["site_id", "option", "capital_cost", "capacity"]
    assert o["option"].tolist() == ["reuse"] * 3
    assert (o["capital_cost"] == 0).all() and o["capacity"].isna().all()
    assert options_from_settings(None, SITES).equals(o)


def test_options_from_settings_by_kind_sites_and_all():
    o = options_from_settings(
        [
            {"option": "reuse", "capital_cost": 0},
            {"option": "refurbish", "capital_cost": 2e6, "capacity": 60000, "kind": "hospital"},
            {"option": "new build", "capital_cost": 9e6, "sites": ["s00"]},
            {"option": "reuse", "capital_cost": 1e5, "sites": ["s02"]},  # replaces
        ],
        SITES,
    )
    got = {(r.site_id, r.option): (r.capital_cost, r.capacity) for r in o.itertuples()}
    assert got[("s00", "reuse")] == (0, pytest.approx(np.nan, nan_ok=True))
    assert got[("s02", "reuse")][0] == 1e5
    assert got[("s01", "refurbish")] == (2e6, 60000)
    assert ("s00", "refurbish") not in got
    assert got[("s00", "new build")][0] == 9e6
    assert len(o) == 6
    assert o["site_id"].tolist() == ["s00", "s00", "s01", "s01", "s02", "s02"]


@pytest.mark.parametrize(
    ("entry", "match"),
    [
        ({"capital_cost": 1}, "option: missing"),
        ({"option": "x", "capital_cost": -1}, "capital_cost: must be >= 0"),
        ({"option": "x", "capacity": 0}, "capacity: must be > 0"),
        ({"option": "x", "kind": "hospitl"}, "no site has kind 'hospitl'.*'hospital'"),
        ({"option": "x", "sites": ["s09"]}, "unknown site ids s09"),
        ({"option": "x", "kind": "gp", "sites": ["s00"]}, "not both"),
        ({"option": "x", "cost": 1}, "cost: unknown key"),
    ],
)
def test_options_errors(entry, match):
    with pytest.raises(InputError, match=match):
        options_from_settings([entry], SITES)


def test_check_options():
    good = pd.DataFrame({"site_id": ["s00"], "option": ["reuse"], "capital_cost": [0.0]})
    assert check_options(good, SITES)["capacity"].isna().all()
    with pytest.raises(InputError, match="unknown site ids"):
        check_options(good.assign(site_id="zz"), SITES)
    with pytest.raises(InputError, match="twice"):
        check_options(pd.concat([good, good]), SITES)
    with pytest.raises(InputError, match="missing capital_cost"):
        check_options(good.drop(columns="capital_cost"), SITES)
