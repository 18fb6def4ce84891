"""Plan metrics and the JSON-ready summary."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from polygeo.optimise import Rules, solve
from polygeo.optimise.synthetic import grid_instance
from polygeo.plan import ASSIGNMENT_COLUMNS, HUB_COLUMNS, Plan, weighted_quantile


def hand_plan():
    assignments = pd.DataFrame(
        {
            "area_id": ["a", "b", "c", "d"],
            "site_id": ["s1", "s1", "s2", "s2"],
            "minutes": [1.0, 3.0, 10.0, 2.0],
            "exception": [False, False, True, False],
        }
    )
    hubs = pd.DataFrame(
        {
            "site_id": ["s1", "s2"],
            "option": ["reuse", "new build"],
            "capital_cost": [0.0, 5e6],
            "population": [300.0, 700.0],
            "areas": [2, 2],
        }
    )
    population = pd.Series([100.0, 200.0, 300.0, 400.0, 1000.0], index=list("abcde"))
    return Plan(
        assignments=assignments,
        hubs=hubs,
        solver={"status": "optimal", "objective": 1.5, "bound": float("nan"), "optimal": True},
        objective_terms={"travel": 5300.0, "cost": 5e6, "hubs": 2.0, "exception": 0.0},
        rules=Rules(min_population=300),
        crs="EPSG:27700",
        population=population,
    )


def test_metrics():
    m = hand_plan().metrics()
    assert m["population"] == 2000
    assert m["coverage"] == pytest.approx(0.5)  # area e (1,000 people) unassigned
    assert m["coverage_within_limit"] == pytest.approx(0.35)
    assert m["areas"] == 5 and m["areas_assigned"] == 4 and m["hubs"] == 2
    assert m["hub_population_min"] == 300 and m["hub_population_max"] == 700
    assert m["mean_minutes"] == pytest.approx((100 * 1 + 200 * 3 + 300 * 10 + 400 * 2) / 1000)
    assert m["p95_minutes"] == 10.0
    assert m["max_minutes"] == 10.0
    assert m["capital_total"] == 5e6
    assert m["exceptions"] == 1 and m["exceptions_population"] == 300


def test_weighted_quantile():
    assert weighted_quantile(np.array([5.0, 1.0, 3.0]), np.array([1, 1, 98]), 0.95) == 3.0
    assert weighted_quantile(np.array([5.0, 1.0, 3.0]), np.array([1, 1, 98]), 0.995) == 5.0
    assert weighted_quantile(np.array([1.0, 2.0]), np.array([0.0, 0.0]), 0.5) == 1.0
    assert math.isnan(weighted_quantile(np.array([]), np.array([]), 0.5))


def test_summary_is_json_ready():
    s = hand_plan().summary()
    text = json.dumps(s, allow_nan=False)
    back = json.loads(text)
    assert back["solver"]["bound"] is None
    assert back["hub_population"] == {"min": 300.0, "max": 700.0}
    assert set(back["minutes"]) == {"mean", "p95", "max"}
    assert back["crs"] == "EPSG:27700"
    assert back["hubs"] == 2 and back["capital_total"] == 5e6
    assert back["exceptions"] == {"count": 1, "population": 300.0}
    assert back["rules"]["min_population"] == 300


def test_solved_plan_frames_and_summary():
    areas, sites, table = grid_instance(4, 3, sites=4, seed=1, limit=10)
    plan = solve(areas, sites, table, Rules(min_population=5000))
    assert list(plan.assignments.columns) == ASSIGNMENT_COLUMNS
    assert list(plan.hubs.columns) == HUB_COLUMNS
    assert plan.assignments["area_id"].tolist() == areas["area_id"].tolist()
    pts = sites.set_index("site_id").geometry
    for row in plan.hubs.itertuples():
        assert (row.x, row.y) == (pts[row.site_id].x, pts[row.site_id].y)
        assert row.kind == "clinic" and row.name.startswith("Site")
    s = json.loads(json.dumps(plan.summary(), allow_nan=False))
    for key in ("status", "objective", "bound", "gap", "build_seconds", "solve_seconds", "optimal"):
        assert key in s["solver"]
    assert s["coverage"] == 1.0
    assert s["population"] == pytest.approx(float(areas["population"].sum()))
    assert s["model"]["pairs"] == len(table)
    assert "Plan(" in repr(plan)
