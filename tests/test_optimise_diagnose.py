"""Diagnosis before solving, reductions, and exceptions beyond the travel limit."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from polygeo.check import assert_valid, check
from polygeo.errors import InfeasibleError
from polygeo.optimise import Rules, SolverSettings, build_problem, diagnose, solve
from polygeo.optimise.synthetic import grid_instance, travel_table


def strip(pops, site_cells, *, limit=100.0, groups=None):
    pts = [(c * 1000.0 + 500.0, 500.0) for c in site_cells]
    return grid_instance(len(pops), 1, population=pops, sites=pts, limit=limit, groups=groups)


def far_times_for(areas, sites):
    calls = []

    def far_times(area_ids, site_ids):
        calls.append((list(area_ids), list(site_ids)))
        full = travel_table(areas, sites, limit=None)
        keep = full["area_id"].astype(str).isin(area_ids) & full["site_id"].astype(str).isin(
            site_ids
        )
        return full[keep].astype({"area_id": str, "site_id": str})

    far_times.calls = calls
    return far_times


# -- unserved areas ------------------------------------------------------------------------
def test_unserved_areas_with_nearest_site_and_minutes():
    # 3 minutes per cell; limit 10: areas 4 and 5 (12, 15 minutes) are out of reach
    areas, sites, table = strip([1000] * 6, [0], limit=10)
    far = far_times_for(areas, sites)
    d = diagnose(areas, sites, table, Rules(min_population=1000), far_times=far, limit=10)
    u = d.areas_unserved
    assert list(u.columns) == [
        "area_id",
        "population",
        "nearest_site_id",
        "nearest_minutes",
        "limit_minutes",
    ]
    assert u["area_id"].tolist() == ["a004", "a005"]
    assert u["nearest_site_id"].tolist() == ["s00", "s00"]
    assert u["nearest_minutes"].tolist() == pytest.approx([12.0, 15.0])
    assert u["limit_minutes"].tolist() == [10.0, 10.0]
    assert d.infeasible and not d.conflicts
    assert far.calls == [(["a004", "a005"], ["s00"])]
    text = d.format_text()
    assert "a004" in text and "12.0 min" in text and "allow_exceptions" in text
    json.dumps(d.to_dict())


def test_unserved_without_far_times_says_minutes_unknown():
    areas, sites, table = strip([1000] * 6, [0], limit=10)
    d = diagnose(areas, sites, table, Rules(min_population=1000))
    assert d.areas_unserved["nearest_site_id"].tolist() == ["s00", "s00"]
    assert d.areas_unserved["nearest_minutes"].isna().all()
    assert d.areas_unserved["limit_minutes"].isna().all()
    assert "minutes unknown" in d.format_text()


def test_solve_raises_infeasible_error_carrying_the_diagnosis():
    areas, sites, table = strip([1000] * 6, [0], limit=10)
    with pytest.raises(InfeasibleError, match="2 areas") as info:
        solve(areas, sites, table, Rules(min_population=1000))
    d = info.value.diagnosis
    assert d.areas_unserved["area_id"].tolist() == ["a004", "a005"]


def test_limit_is_read_from_table_attrs():
    areas, sites, table = strip([1000] * 6, [0], limit=10)
    table.attrs["limit"] = 10
    d = diagnose(areas, sites, table, Rules(min_population=1000))
    assert d.areas_unserved["limit_minutes"].tolist() == [10.0, 10.0]


# -- unviable sites and reductions ---------------------------------------------------------
def test_unviable_sites_are_information_and_dropped():
    # s01 at the far end reaches only areas 4, 5 (2,000 people) within 4 minutes
    areas, sites, table = strip([1000] * 6, [1, 5], limit=4)
    rules = Rules(min_population=2500)
    d = diagnose(areas, sites, table, rules)
    assert d.sites_unviable["site_id"].tolist() == ["s01"]
    row = d.sites_unviable.iloc[0]
    assert row["reachable_population"] == 2000
    assert "2,000" in row["reason"] and "2,500" in row["reason"]
    # area 3 reaches no site; areas 4 and 5 reach only the unviable s01
    assert d.areas_unserved["area_id"].tolist() == ["a003", "a004", "a005"]


def test_fixed_point_drops_sites_whose_reach_falls():
    # s00 reaches areas 0-2 (3,000), s01 areas 2-4 (3,000 through area 2) but s02 ... chain
    pops = [1000, 1000, 1000, 1000, 1000]
    areas, sites, table = strip(pops, [0, 4], limit=6)
    p = build_problem(areas, sites, table, Rules(min_population=3000))
    assert p.stats["sites_viable"] == 2
    assert p.stats["areas_fixed"] == 4  # areas 0, 1 and 3, 4 have one site each
    assert p.forced.tolist() == [True, True]


def test_reduction_does_not_change_the_optimum():
    areas, sites, table = grid_instance(6, 4, sites=8, seed=5, limit=8)
    rules = Rules(min_population=6000)
    a = solve(areas, sites, table, rules, solver=SolverSettings(gap=0.0))
    b = solve(areas, sites, table, rules, solver=SolverSettings(gap=0.0), reduce=False)
    assert a.solver["objective"] == pytest.approx(b.solver["objective"])
    assert a.stats["pairs"] <= b.stats["pairs"]
    assert_valid(a, areas, sites, table, rules)
    assert_valid(b, areas, sites, table, rules)


# -- conflicts -----------------------------------------------------------------------------
def options(cost):
    return pd.DataFrame(
        {
            "site_id": [f"s0{k}" for k in range(len(cost))],
            "option": ["new build"] * len(cost),
            "capital_cost": cost,
            "capacity": [np.nan] * len(cost),
        }
    )


CONFLICTS = [
    (dict(min_population=1000, required_sites=["s00"], forbidden_sites=["s00"]), None, "both"),
    (dict(min_population=1000, required_sites=["s00", "s01"], hubs=1), None, "at most 1"),
    (dict(min_population=2000, hubs={"min": 4}), None, "total population"),
    (dict(min_population=7000), None, "not even one hub"),
    (dict(min_population=1000, required_sites=["s00"], budget=1e6), [5e6, 1e6], "budget"),
    (dict(min_population=1000, budget=1e6, hubs={"min": 2}), [5e6, 1e6], "at least 2 hubs"),
    (dict(min_population=2000, max_population=1000), None, "below min_population"),
    (dict(min_population=1000, hubs={"min": 3}), None, "only 2 sites"),
    (dict(min_population=1000, max_population=2000), None, "hold at most"),
]


@pytest.mark.parametrize(("kw", "cost", "text"), CONFLICTS)
def test_conflicts(kw, cost, text):
    areas, sites, table = strip([1000] * 6, [1, 4], limit=100)
    opts = options(cost) if cost else None
    rules = Rules(**kw)
    d = diagnose(areas, sites, table, rules, options=opts)
    assert d.infeasible
    assert any(text in c for c in d.conflicts), d.conflicts
    with pytest.raises(InfeasibleError) as info:
        solve(areas, sites, table, rules, options=opts)
    assert info.value.diagnosis.conflicts == d.conflicts


def test_required_site_that_cannot_reach_the_minimum():
    areas, sites, table = strip([1000] * 6, [1, 4], limit=4)
    d = diagnose(areas, sites, table, Rules(min_population=2500, required_sites=["s00"]))
    assert not d.infeasible
    d = diagnose(areas, sites, table, Rules(min_population=3500, required_sites=["s00"]))
    assert any(
        c.startswith("required site s00 cannot open: reaches only 3,000") for c in d.conflicts
    )


def test_only_site_of_an_area_counts_against_max_hubs():
    # area 0 reaches only s00, area 5 only s01: both must open, but hubs = 1
    areas, sites, table = strip([1000] * 6, [0, 5], limit=8)
    d = diagnose(areas, sites, table, Rules(min_population=1000, hubs=1))
    assert any("only viable site" in c for c in d.conflicts), d.conflicts


def test_sites_that_must_open_need_more_people_than_there_are():
    # area 0 reaches only s00 and area 4 only s01: both must open, 2 x 3,000 > 5,000
    areas, sites, table = strip([1000] * 5, [0, 4], limit=9)
    d = diagnose(areas, sites, table, Rules(min_population=3000))
    assert any("2 sites must open" in c for c in d.conflicts), d.conflicts


def test_a_budget_the_capacities_make_too_small_fails_before_the_solve():
    # the cheap options hold 2,500 people each; the budget allows no new build: 5,000 < 6,000.
    # No single check of diagnose() sees it; the cheapest plan found before the solve
    # (polygeo.optimise.cheapest) costs 5,000,000, which the covering bound proves least.
    areas, sites, table = strip([1000] * 6, [1, 4])
    opts = pd.DataFrame(
        {
            "site_id": ["s00", "s00", "s01", "s01"],
            "option": ["reuse", "new build"] * 2,
            "capital_cost": [0.0, 5e6, 0.0, 5e6],
            "capacity": [2500.0, np.nan, 2500.0, np.nan],
        }
    )
    rules = Rules(min_population=1000, budget=4e6)
    assert not diagnose(areas, sites, table, rules, options=opts).infeasible
    for name in ("highs", "cbc"):
        with pytest.raises(InfeasibleError, match="5,000,000 exactly") as info:
            solve(areas, sites, table, rules, options=opts, solver=name)
        assert "the budget 4,000,000 is below" in str(info.value)


def test_solver_proven_infeasible_raises_with_what_was_tried():
    # 3,000 people, hubs of 1,600 to 2,500: one hub is too big, two need 3,200 people.
    # No single check of the diagnosis sees it; HiGHS proves it.
    areas, sites, table = strip([1000] * 3, [0, 2])
    opts = pd.DataFrame(
        {"site_id": ["s00", "s01"], "option": "refurbish", "capital_cost": 1e6, "capacity": np.nan}
    )
    rules = Rules(min_population=1600, max_population=2500, budget=4e6)
    assert not diagnose(areas, sites, table, rules, options=opts).infeasible
    for name in ("highs", "cbc"):
        with pytest.raises(InfeasibleError, match="proved") as info:
            solve(areas, sites, table, rules, options=opts, solver=name)
        assert info.value.diagnosis is not None
        assert "budget" in str(info.value)


def test_no_conflicts_on_a_feasible_instance():
    areas, sites, table = strip([1000] * 6, [1, 4])
    d = diagnose(areas, sites, table, Rules(min_population=3000))
    assert d.ok and "No certain infeasibility" in d.format_text()


# -- exceptions ----------------------------------------------------------------------------
def test_exceptions_give_full_coverage_flagged_and_valid():
    areas, sites, table = strip([1000] * 6, [0], limit=10)
    rules = Rules(min_population=1000, allow_exceptions=True)
    far = far_times_for(areas, sites)
    plan = solve(areas, sites, table, rules, far_times=far)
    m = plan.metrics()
    assert m["coverage"] == 1.0
    assert m["coverage_within_limit"] == pytest.approx(4 / 6)
    exc = plan.assignments[plan.assignments["exception"]]
    assert exc["area_id"].tolist() == ["a004", "a005"]
    assert exc["minutes"].tolist() == pytest.approx([12.0, 15.0])
    assert m["exceptions"] == 2 and m["exceptions_population"] == 2000
    assert plan.objective_terms["exception"] == pytest.approx(2000 * rules.exception_penalty)
    assert_valid(plan, areas, sites, table, rules)
    # without allow_exceptions, the same plan breaks the rules
    strict = Rules(min_population=1000)
    assert {v.rule for v in check(plan, areas, sites, table, strict)} >= {
        "exception",
        "travel_limit",
    }


def test_exceptions_pick_among_the_nearest_sites():
    # s00 (area 0) and s01 (area 2) serve areas 0-4 within 7 minutes; area 5 is 9 minutes
    # from s01 and 15 from s00: with room at both, the exception goes to the nearer s01
    areas, sites, table = strip([1000] * 6, [0, 2], limit=7)
    rules = Rules(min_population=1000, allow_exceptions=True)
    plan = solve(areas, sites, table, rules, far_times=far_times_for(areas, sites))
    row = plan.assignments.set_index("area_id").loc["a005"]
    assert bool(row["exception"]) and row["site_id"] == "s01"
    assert row["minutes"] == pytest.approx(9.0)
    assert plan.assignments["exception"].sum() == 1
    assert_valid(plan, areas, sites, table, rules)


def test_exceptions_need_far_times():
    areas, sites, table = strip([1000] * 6, [0], limit=10)
    with pytest.raises(InfeasibleError, match="far_times"):
        solve(areas, sites, table, Rules(min_population=1000, allow_exceptions=True))


def test_exceptions_with_groups_and_contiguity_are_exempt():
    areas, sites, table = strip([1000] * 6, [0], limit=10, groups=list("AAAABB"))
    rules = Rules(min_population=1000, allow_exceptions=True, within_group=True, contiguous=True)
    plan = solve(areas, sites, table, rules, far_times=far_times_for(areas, sites))
    assert plan.metrics()["coverage"] == 1.0
    assert_valid(plan, areas, sites, table, rules)


def test_two_sites_that_must_open_but_cannot_both_fill_a_hub():
    """Found on England at 30 minutes: sites that must open, whose areas together hold
    fewer people than two hubs need. The diagnosis names them before any solve."""
    pts = [(500.0, 500.0), (1500.0, 500.0), (9500.0, 500.0)]
    areas, sites, table = grid_instance(12, 1, population=1000, sites=pts, limit=11)
    rules = Rules(min_population=3500, required_sites=("s00", "s01"))
    reach = table.groupby("site_id", observed=True)["area_id"].apply(set)
    union = len(reach["s00"] | reach["s01"]) * 1000
    assert union < 2 * 3500  # the instance is the case in question
    diagnosis = diagnose(areas, sites, table, rules)
    found = [c for c in diagnosis.conflicts if "cannot both hold a hub" in c]
    assert found == [
        "1 pairs of sites that must open (required, or the only viable site of some area) "
        "can together reach fewer than 2 x 3,500 people, so they cannot both hold a hub: "
        f"e.g. s00 and s01 ({union:,.0f} people)"
    ]
    relaxed = diagnose(
        areas, sites, table, Rules(min_population=2000, required_sites=("s00", "s01"))
    )
    assert not [c for c in relaxed.conflicts if "cannot both hold a hub" in c]


def _thin_row():
    """Five areas of 1,000 people in a row, two sites each reaching three of them.

    Areas 0, 1 reach only ``s00`` and areas 3, 4 only ``s01`` within 4 minutes, so
    both sites must open, but together they reach 5,000 people, not 2 x 3,000.
    """
    areas, sites, table = grid_instance(
        5, 1, population=1000.0, sites=[(1500.0, 500.0), (3500.0, 500.0)], limit=4.0
    )

    def far(area_ids, site_ids):
        a = areas[areas["area_id"].isin(list(area_ids))]
        return travel_table(a, sites[sites["site_id"].isin(list(site_ids))], limit=None)

    return areas, sites, table, far


def test_two_sites_that_must_open_but_cannot_both_hold_a_hub_are_named():
    areas, sites, table, far = _thin_row()
    with pytest.raises(InfeasibleError, match=r"s00 and s01 \(5,000 people\)"):
        solve(areas, sites, table, Rules(min_population=3000), far_times=far)


def test_with_exceptions_an_area_may_leave_its_single_site_and_the_plan_is_checked():
    areas, sites, table, far = _thin_row()
    rules = Rules(min_population=3000, allow_exceptions=True)
    plan = solve(areas, sites, table, rules, far_times=far, solver=SolverSettings(gap=0.0))
    assert_valid(plan, areas, sites, table, rules)
    assert len(plan.hubs) == 1 and plan.hubs["population"].iloc[0] == 5000
    # the two areas beyond the limit are the hub's far side, flagged as exceptions
    exc = plan.assignments[plan.assignments["exception"]]
    assert len(exc) == 2 and (exc["minutes"] > 4.0).all()
    # every area reaches at most THIN_SITES (3) viable sites; the middle one reaches
    # both sites, so no other site is left to serve it beyond the limit
    assert any(
        "4 areas reach at most 3 viable sites within the limit" in note
        for note in plan.diagnosis.notes
    )


def test_far_times_asked_of_nearby_sites_only_find_the_same_nearest_sites():
    """The straight-line prefilter (25 nearest sites per area) loses none of the 3 nearest."""
    from polygeo.optimise.diagnose import _far_pairs, _points
    from polygeo.optimise.inputs import read_inputs
    from polygeo.optimise.reduce import reduce_pairs

    areas, sites, table = grid_instance(30, 30, sites=150, seed=3, limit=4.0)
    rules = Rules(min_population=1500, allow_exceptions=True)
    inp = read_inputs(areas, sites, table, rules)
    red = reduce_pairs(inp)
    asked = []

    def far(area_ids, site_ids):
        asked.append(len(area_ids) * len(site_ids))
        a = areas[areas["area_id"].isin(list(area_ids))]
        return travel_table(a, sites[sites["site_id"].isin(list(site_ids))], limit=None)

    rows = np.arange(inp.n_areas)
    everything = _far_pairs(inp, red, rows, far, 3)
    every_asked = sum(asked)
    asked.clear()
    nearby = _far_pairs(inp, red, rows, far, 3, _points((areas, sites, table)))
    assert red.viable.sum() > 25 and sum(asked) < every_asked
    for got, want in zip(nearby, everything, strict=True):
        np.testing.assert_array_equal(got, want)
    assert len(everything[0]) == 3 * len(rows)
