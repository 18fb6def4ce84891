"""Urgent care on hospital sites: min_hubs_by_kind and kind_in_every_group bind, the
diagnosis names the group with no viable site of the kind, the checker sees a breach.

A strip of six 1 km areas, 1,000 people each (3 minutes per km), two groups
(west: cells 0-2, east: cells 3-5); clinics at cells 1 and 4 (the best hubs),
hospitals at the ends (cells 0 and 5). With catchments of 3,000 people the
cheapest way to give both groups a polysystem on a hospital site is both
hospitals (18,000 person-minutes) rather than one hospital reaching across the
border (21,000).
"""

from __future__ import annotations

import pytest

from polygeo.check import assert_valid, check
from polygeo.errors import InfeasibleError, InputError
from polygeo.optimise import Rules, SolverSettings, diagnose, solve
from polygeo.optimise.synthetic import grid_instance

EXACT = SolverSettings(gap=0.0)
GROUPS = ["west"] * 3 + ["east"] * 3


def instance(sites=((1, "clinic"), (4, "clinic"), (0, "hospital"), (5, "hospital")), limit=100.0):
    pts = [(c * 1000.0 + 500.0, 500.0) for c, _ in sites]
    kinds = [k for _, k in sites]
    return grid_instance(
        6, 1, population=1000, sites=pts, site_kinds=kinds, groups=GROUPS, limit=limit
    )


def solved(areas, sites, table, rules):
    plan = solve(areas, sites, table, rules, solver=EXACT)
    assert_valid(plan, areas, sites, table, rules)
    assert plan.solver["optimal"]
    return plan


def kinds_open(plan, sites):
    kind = dict(zip(sites["site_id"], sites["kind"], strict=True))
    return sorted(kind[s] for s in plan.hubs["site_id"])


def test_min_hubs_by_kind_binds():
    areas, sites, table = instance()
    free = solved(areas, sites, table, Rules(min_population=3000))
    assert kinds_open(free, sites) == ["clinic", "clinic"]
    rules = Rules(min_population=3000, min_hubs_by_kind={"hospital": 1})
    plan = solved(areas, sites, table, rules)
    assert kinds_open(plan, sites) == ["clinic", "hospital"]
    breaches = check(free, areas, sites, table, rules)
    assert [v.rule for v in breaches] == ["hub_kind"]
    assert "0 hubs are on hospital sites, fewer than min_hubs_by_kind hospital = 1" in str(
        breaches[0]
    )


def test_kind_in_every_group_binds():
    areas, sites, table = instance()
    free = solved(areas, sites, table, Rules(min_population=3000))
    rules = Rules(min_population=3000, kind_in_every_group="hospital")
    plan = solved(areas, sites, table, rules)
    assert sorted(plan.hubs["site_id"]) == ["s02", "s03"]  # both hospitals
    breaches = check(free, areas, sites, table, rules)
    assert [v.rule for v in breaches] == ["hub_kind"]
    assert set(breaches[0].ids) == {"east", "west"}
    # one hospital hub is not enough: the checker names the group without one
    one = Rules(min_population=3000, min_hubs_by_kind={"hospital": 1})
    half = solved(areas, sites, table, one)
    lacking = check(half, areas, sites, table, rules)
    assert len(lacking) == 1 and len(lacking[0].ids) == 1


def test_diagnosis_names_the_group_without_a_viable_site():
    # 6 minutes = 2 km: the west hospital cannot reach the east group
    areas, sites, table = instance(((1, "clinic"), (4, "clinic"), (0, "hospital")), limit=6.0)
    rules = Rules(min_population=3000, kind_in_every_group="hospital")
    with pytest.raises(
        InfeasibleError,
        match="group east needs a polysystem whose hub is on a hospital site, but none of its "
        "areas has a hospital site within its travel limit",
    ):
        solve(areas, sites, table, rules, solver=EXACT)
    areas, sites, table = instance(limit=6.0)
    rules = Rules(min_population=3000, kind_in_every_group="hospital", forbidden_sites=["s03"])
    found = diagnose(areas, sites, table, rules)
    assert found.infeasible
    assert any(
        c.startswith("group east needs a polysystem")
        and "the 1 hospital sites within reach of its areas cannot open (s03: forbidden" in c
        for c in found.conflicts
    )
    assert not any("group west" in c for c in found.conflicts)
    many = Rules(min_population=3000, min_hubs_by_kind={"hospital": 3})
    assert any(
        "the study area has 2 viable hospital sites" in c
        for c in diagnose(areas, sites, table, many).conflicts
    )
    capped = Rules(min_population=1000, min_hubs_by_kind={"hospital": 2, "clinic": 1}, hubs=2)
    assert any(
        "the hub-kind rules need at least 3 hubs, but at most 2 are allowed" in c
        for c in diagnose(areas, sites, table, capped).conflicts
    )


def test_a_hospital_across_the_border_serves_a_group_without_one():
    # no hospital in the east group, but the west one reaches an east area (limit 100 min)
    areas, sites, table = instance(((1, "clinic"), (4, "clinic"), (0, "hospital")))
    rules = Rules(min_population=2000, kind_in_every_group="hospital")
    plan = solved(areas, sites, table, rules)
    hub = dict(zip(plan.assignments["area_id"], plan.assignments["site_id"], strict=True))
    assert "s02" in set(plan.hubs["site_id"])
    assert any(hub[f"a{k:03d}"] == "s02" for k in (3, 4, 5))


def test_unknown_kind_and_bad_values_are_input_errors():
    areas, sites, table = instance()
    with pytest.raises(InputError, match="no site has kind 'hopsital'.*Did you mean 'hospital'"):
        solve(areas, sites, table, Rules(min_hubs_by_kind={"hopsital": 1}))
    with pytest.raises(InputError, match=r"min_hubs_by_kind\.hospital: expected a whole number"):
        Rules.from_dict({"min_hubs_by_kind": {"hospital": 1.5}})
    with pytest.raises(InputError, match="kind_in_every_group: expected a string, got 3"):
        Rules.from_dict({"kind_in_every_group": 3})
    rules = Rules.from_dict({"min_hubs_by_kind": {"hospital": 2}, "kind_in_every_group": "gp"})
    assert Rules.from_dict(rules.to_dict()) == rules


def test_start_plan_meets_the_quotas_the_plain_greedy_misses():
    from polygeo.optimise import build_model, build_problem
    from polygeo.optimise.quota_start import quota_start
    from polygeo.optimise.start import greedy_start

    # eight areas; clinics at cells 1, 2, 5, 6 and hospitals at the ends (0 and 7)
    pts = [(c * 1000.0 + 500.0, 500.0) for c in (1, 2, 5, 6, 0, 7)]
    areas, sites, table = grid_instance(
        8,
        1,
        population=1000,
        sites=pts,
        site_kinds=["clinic"] * 4 + ["hospital"] * 2,
        groups=["west"] * 4 + ["east"] * 4,
        limit=100.0,
    )
    rules = Rules(min_population=2000, kind_in_every_group="hospital")
    model = build_model(build_problem(areas, sites, table, rules))
    assert greedy_start(model) is None  # the greedy closes both small hospital hubs
    v = quota_start(model)
    assert v is not None and model.is_feasible(v)
    plan = solve(areas, sites, table, rules, solver=EXACT)
    assert plan.solver["start_objective"] is not None
    assert check(plan, areas, sites, table, rules) == []
