"""The independent checker catches a hand-made violation of every rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from polygeo.check import InvalidPlanError, Violation, assert_valid, check
from polygeo.optimise.synthetic import grid_instance
from polygeo.plan import Plan

# a strip of 6 areas of 1,000 people, 1 km squares, 3 minutes per km; sites at areas 1, 4, 0
AREAS, SITES, TABLE = grid_instance(
    6,
    1,
    population=1000,
    sites=[(1500.0, 500.0), (4500.0, 500.0), (500.0, 500.0)],
    groups=list("AAABBB"),
    limit=7.0,
)


class R:
    """Minimal rules: the checker reads attributes only (no optimiser code)."""

    def __init__(self, **kw):
        self.min_population = 3000
        self.max_population = None
        self.required_sites = ()
        self.forbidden_sites = ()
        self.budget = None
        self.hubs = None
        self.within_group = False
        self.contiguous = False
        self.allow_exceptions = False
        self.__dict__.update(kw)


def make_plan(assign, hubs=None, minutes=None, exception=None, options=None):
    """A plan from {area: site}; hubs default to the used sites with option reuse."""
    areas = list(assign)
    sites = [assign[a] for a in areas]
    table = TABLE.astype({"area_id": str, "site_id": str}).set_index(["area_id", "site_id"])
    if minutes is None:
        minutes = [
            float(table["minutes"].get((a, s), np.nan)) if (a, s) in table.index else 99.0
            for a, s in zip(areas, sites, strict=True)
        ]
    asg = pd.DataFrame(
        {
            "area_id": areas,
            "site_id": sites,
            "minutes": minutes,
            "exception": exception if exception is not None else [False] * len(areas),
        }
    )
    if hubs is None:
        hubs = [(s, "reuse", 0.0) for s in dict.fromkeys(sites)]
    pop = dict(zip(AREAS["area_id"], AREAS["population"], strict=True))
    rows = []
    for s, option, cost in hubs:
        members = [a for a in areas if assign[a] == s]
        rows.append(
            {
                "site_id": s,
                "option": option,
                "capital_cost": cost,
                "population": float(sum(pop[a] for a in members)),
                "areas": len(members),
            }
        )
    return Plan(assignments=asg, hubs=pd.DataFrame(rows), solver={}, objective_terms={})


GOOD = {"a000": "s00", "a001": "s00", "a002": "s00", "a003": "s01", "a004": "s01", "a005": "s01"}


def rules_found(plan, rules, **kw):
    return [v.rule for v in check(plan, AREAS, SITES, TABLE, rules, **kw)]


def test_a_good_plan_passes():
    plan = make_plan(GOOD)
    assert check(plan, AREAS, SITES, TABLE, R()) == []
    assert_valid(plan, AREAS, SITES, TABLE, R())


def test_coverage():
    assign = dict(GOOD)
    del assign["a005"]
    v = check(make_plan(assign), AREAS, SITES, TABLE, R(min_population=2000))
    assert [x.rule for x in v] == ["coverage"]
    assert v[0].ids == ("a005",)
    assert "1 areas (1,000 people) are not assigned" in v[0].message


def test_duplicate_assignment():
    plan = make_plan(GOOD)
    extra = plan.assignments.iloc[[0]].assign(site_id="s02", minutes=3.0)
    plan.assignments = pd.concat([plan.assignments, extra], ignore_index=True)
    plan.hubs = pd.concat(
        [plan.hubs, pd.DataFrame([{"site_id": "s02", "option": "reuse", "capital_cost": 0.0}])],
        ignore_index=True,
    )
    found = rules_found(plan, R(min_population=0))
    assert "duplicate" in found


def test_unknown_ids():
    plan = make_plan(GOOD)
    plan.assignments.loc[0, "area_id"] = "zzz"
    plan.assignments.loc[1, "site_id"] = "nowhere"
    v = check(plan, AREAS, SITES, TABLE, R(min_population=0))
    unknown = [x for x in v if x.rule == "unknown_id"]
    assert {x.ids for x in unknown} == {("zzz",), ("nowhere",)}


def test_assigned_to_a_closed_site():
    plan = make_plan(GOOD)
    plan.hubs = plan.hubs[plan.hubs["site_id"] != "s01"]
    found = rules_found(plan, R())
    assert "open_hub" in found


def test_one_option_per_hub():
    plan = make_plan(GOOD, hubs=[("s00", "reuse", 0.0), ("s00", "new", 0.0), ("s01", "reuse", 0)])
    opts = pd.DataFrame(
        {
            "site_id": ["s00", "s00", "s01"],
            "option": ["reuse", "new", "reuse"],
            "capital_cost": [0.0, 0.0, 0.0],
            "capacity": [np.nan] * 3,
        }
    )
    assert "one_option" in rules_found(plan, R(), options=opts)


def test_option_unknown_or_mispriced():
    plan = make_plan(GOOD, hubs=[("s00", "palace", 0.0), ("s01", "reuse", 5.0)])
    v = [x for x in check(plan, AREAS, SITES, TABLE, R()) if x.rule == "option"]
    assert len(v) == 2
    assert "palace" in v[0].message and "5.00" in v[1].message


def test_min_and_max_population():
    assign = dict(GOOD, a002="s01")  # s00: 2,000, s01: 4,000
    plan = make_plan(assign)
    v = check(plan, AREAS, SITES, TABLE, R(min_population=2500, max_population=3500))
    by = {x.rule: x for x in v}
    assert set(by) == {"min_population", "max_population"}
    assert by["min_population"].ids == ("s00",)
    assert "2,000 people, fewer than min_population 2,500" in by["min_population"].message
    assert by["max_population"].ids == ("s01",)


def test_capacity():
    opts = pd.DataFrame(
        {
            "site_id": ["s00", "s01", "s02"],
            "option": ["reuse"] * 3,
            "capital_cost": [0.0] * 3,
            "capacity": [2500.0, np.nan, np.nan],
        }
    )
    v = check(make_plan(GOOD), AREAS, SITES, TABLE, R(), options=opts)
    assert [(x.rule, x.ids) for x in v] == [("capacity", ("s00",))]


def test_travel_limit_and_minutes():
    # a005 -> s00 is 12 minutes: not in the table (limit 7)
    assign = dict(GOOD, a005="s00", a002="s01")
    plan = make_plan(assign)
    v = check(plan, AREAS, SITES, TABLE, R(min_population=0))
    by = {x.rule: x for x in v}
    assert by["travel_limit"].ids == ("a005",)
    assert "a005->s00" in by["travel_limit"].message
    plan = make_plan(GOOD, minutes=[3.0, 0.0, 3.0, 3.0, 0.0, 4.0])
    v = check(plan, AREAS, SITES, TABLE, R())
    assert [(x.rule, x.ids) for x in v] == [("minutes", ("a005",))]


def test_exceptions_only_when_allowed_and_flagged():
    assign = dict(GOOD, a005="s00", a002="s01")
    flags = [False, False, False, False, False, True]
    minutes = [3.0, 0.0, 6.0, 3.0, 0.0, 12.0]
    plan = make_plan(assign, minutes=minutes, exception=flags)
    assert rules_found(plan, R(min_population=0, allow_exceptions=True)) == []
    found = rules_found(plan, R(min_population=0))
    assert "exception" in found and "travel_limit" in found
    unflagged = make_plan(assign, minutes=minutes)
    assert "travel_limit" in rules_found(unflagged, R(min_population=0, allow_exceptions=True))


def test_required_and_forbidden():
    plan = make_plan(GOOD)
    v = check(plan, AREAS, SITES, TABLE, R(required_sites=("s02",), forbidden_sites=("s01",)))
    assert [(x.rule, x.ids) for x in v] == [("required", ("s02",)), ("forbidden", ("s01",))]


def test_budget():
    opts = pd.DataFrame(
        {
            "site_id": ["s00", "s01", "s02"],
            "option": ["reuse"] * 3,
            "capital_cost": [3e6, 2e6, 0.0],
            "capacity": [np.nan] * 3,
        }
    )
    plan = make_plan(GOOD, hubs=[("s00", "reuse", 3e6), ("s01", "reuse", 2e6)])
    v = check(plan, AREAS, SITES, TABLE, R(budget=4e6), options=opts)
    assert [x.rule for x in v] == ["budget"]
    assert "5,000,000 exceeds the budget 4,000,000" in v[0].message


@pytest.mark.parametrize(("hubs", "text"), [(1, "more than the maximum 1"), ((3, None), "fewer")])
def test_hub_count(hubs, text):
    v = check(make_plan(GOOD), AREAS, SITES, TABLE, R(hubs=hubs))
    assert [x.rule for x in v] == ["hubs"] and text in v[0].message


def test_within_group():
    assign = dict(GOOD, a003="s00", a002="s01")  # s00: A, A, B; s01: A, B, B
    plan = make_plan(assign, minutes=[3.0, 0.0, 6.0, 6.0, 0.0, 3.0])
    v = check(plan, AREAS, SITES, TABLE, R(within_group=True))
    assert sorted(x.ids for x in v if x.rule == "within_group") == [("s00",), ("s01",)]


def test_contiguity():
    # s00 holds areas 0 and 2 but not 1: two pieces
    assign = dict(GOOD, a001="s01", a003="s00")
    minutes = [3.0, 6.0, 3.0, 6.0, 0.0, 3.0]
    plan = make_plan(assign, minutes=minutes)
    v = check(plan, AREAS, SITES, TABLE, R(contiguous=True, min_population=0))
    cont = [x for x in v if x.rule == "contiguity"]
    assert [x.ids for x in cont] == [("s00",), ("s01",)]
    assert "in 2 separate pieces" in cont[0].message
    # with an adjacency that links areas 0 and 2 directly, s00 is one piece
    import scipy.sparse as sp

    adj = sp.lil_array((6, 6))
    for i in range(5):
        adj[i, i + 1] = adj[i + 1, i] = 1
    adj[0, 2] = adj[2, 0] = 1
    adj[1, 3] = adj[3, 1] = 1
    v = check(plan, AREAS, SITES, TABLE, R(contiguous=True, min_population=0), adjacency=adj)
    assert [x.ids for x in v if x.rule == "contiguity"] == [("s01",)]


def test_hub_report_must_match_the_assignments():
    plan = make_plan(GOOD)
    plan.hubs.loc[0, "population"] = 123.0
    assert rules_found(plan, R()) == ["hub_report"]


def test_assert_valid_lists_every_violation():
    plan = make_plan(GOOD)
    with pytest.raises(InvalidPlanError) as info:
        assert_valid(plan, AREAS, SITES, TABLE, R(required_sites=("s02",), hubs=1))
    err = info.value
    assert [v.rule for v in err.violations] == ["required", "hubs"]
    assert "breaks 2 rule(s)" in str(err) and "[required]" in str(err)
    assert isinstance(err, AssertionError)
    assert str(Violation("x", "y")) == "[x] y"
