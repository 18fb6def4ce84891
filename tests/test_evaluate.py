"""Evaluation figures recomputed independently (one row per person) on small cases."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from polygeo.errors import InputError
from polygeo.evaluate import assignments_file, change, evaluate, nearest_gp
from polygeo.optimise.synthetic import grid_instance

# six areas: population, minutes to the hub, IMD decile (1 = most deprived)
POP = [30, 10, 20, 40, 25, 5]
MINUTES = [4.0, 12.0, 16.0, 9.0, 25.0, 31.0]
DECILE = [1, 1, 2, 5, 10, 10]


def small_case():
    areas = pd.DataFrame(
        {
            "area_id": [f"a{i}" for i in range(6)],
            "population": np.array(POP, dtype=float),
            "imd_decile": DECILE,
        }
    )
    assignments = pd.DataFrame(
        {
            "area_id": areas["area_id"],
            "site_id": ["s0", "s0", "s1", "s1", "s2", "s2"],
            "minutes": MINUTES,
            "exception": False,
        }
    )
    hubs = pd.DataFrame(
        {
            "site_id": ["s0", "s1", "s2"],
            "option": ["reuse", "refurbish", "new build"],
            "capital_cost": [0.0, 3e6, 9e6],
        }
    )
    return areas, SimpleNamespace(assignments=assignments, hubs=hubs)


def people(values, pops):
    """One entry per person."""
    return np.repeat(np.asarray(values, dtype=float), np.asarray(pops, dtype=int))


def p95(values):
    ordered = np.sort(values)
    return float(ordered[math.ceil(0.95 * len(ordered)) - 1])


def test_access_and_value_for_money_by_person():
    areas, plan = small_case()
    ev = evaluate(plan, areas)
    each = people(MINUTES, POP)
    access = ev["access"]
    assert access["mean_minutes"] == pytest.approx(each.mean())
    assert access["p95_minutes"] == p95(each)
    assert access["max_minutes"] == max(MINUTES)
    for t in (10, 15, 20, 30):
        assert access["share_within_minutes"][str(t)] == pytest.approx((each <= t).mean())
    vfm = ev["value_for_money"]
    assert vfm["capital_total"] == 12e6
    assert vfm["capital_per_head"] == pytest.approx(12e6 / sum(POP))
    assert vfm["share_hubs_reuse"] == pytest.approx(1 / 3)


def test_inequality_by_decile_by_person():
    areas, plan = small_case()
    ineq = evaluate(plan, areas)["inequality"]
    assert ineq["column"] == "imd_decile"
    assert [r["decile"] for r in ineq["by_decile"]] == [1, 2, 5, 10]
    deciles = people(DECILE, POP)
    each = people(MINUTES, POP)
    for row in ineq["by_decile"]:
        mine = each[deciles == row["decile"]]
        assert row["population"] == len(mine)
        assert row["mean_minutes"] == pytest.approx(mine.mean())
        assert row["p95_minutes"] == p95(mine)
    gap = each[deciles == 1].mean() - each[deciles == 10].mean()
    assert ineq["mean_minutes_gap_most_vs_least_deprived"] == pytest.approx(gap)
    fifth = each[deciles <= 2]
    assert ineq["most_deprived_fifth_share_within_15"] == pytest.approx((fifth <= 15).mean())


def test_no_deprivation_column_no_inequality_and_bad_deciles_named():
    areas, plan = small_case()
    assert "inequality" not in evaluate(plan, areas.drop(columns="imd_decile"))
    areas.loc[3, "imd_decile"] = 11
    with pytest.raises(InputError, match="area a3 has .11."):
        evaluate(plan, areas)
    with pytest.raises(InputError, match=r"deprivation = 'imd'.*keep = \[\"imd\"\]"):
        evaluate(plan, areas, deprivation="imd")


def test_change_against_a_baseline_file(tmp_path):
    areas, plan = small_case()
    base_minutes = [2.0, 3.0, 4.0, 5.0, 6.0, 7.0]
    path = tmp_path / "today.csv"
    pd.DataFrame({"area_id": areas["area_id"], "site_id": [f"g{i}" for i in range(6)]}).to_csv(
        path, index=False
    )
    table = pd.DataFrame(
        {
            "area_id": areas["area_id"],
            "site_id": [f"g{i}" for i in range(6)],
            "minutes": base_minutes,
        }
    )
    baseline = assignments_file(path, table)
    ev = evaluate(plan, areas, baseline=baseline, baseline_name="today.csv")
    base = ev["baseline"]
    assert base["name"] == "today.csv"
    each_plan, each_base = people(MINUTES, POP), people(base_minutes, POP)
    delta = base["change"]
    assert delta["access"]["mean_minutes"] == pytest.approx(each_plan.mean() - each_base.mean())
    assert delta["access"]["share_within_minutes"]["10"] == pytest.approx(
        (each_plan <= 10).mean() - 1.0
    )
    assert delta["value_for_money"]["capital_total"] == 12e6
    assert [r["decile"] for r in delta["inequality"]["by_decile"]] == [1, 2, 5, 10]
    assert delta["inequality"]["by_decile"][0]["population"] == 0
    # a pair the table does not know is named
    pd.DataFrame({"area_id": ["a0"], "site_id": ["zz"]}).to_csv(path, index=False)
    with pytest.raises(InputError, match="today.csv: no travel time for area a0 to site zz"):
        assignments_file(path, table)


def test_nearest_gp_uses_far_times_beyond_the_limit():
    kinds = ["gp", "hospital", "gp"]
    areas, sites, table = grid_instance(
        8,
        1,
        population=1000,
        sites=[(500, 500), (3500, 500), (6500, 500)],
        site_kinds=kinds,
        limit=6.0,
    )

    def far(area_ids, site_ids):
        full = grid_instance(
            8,
            1,
            population=1000,
            sites=[(500, 500), (3500, 500), (6500, 500)],
            site_kinds=kinds,
            limit=None,
        )[2]
        full = full.astype({"area_id": str, "site_id": str})
        return full[full["area_id"].isin(area_ids) & full["site_id"].isin(site_ids)]

    best = nearest_gp(areas, sites, table, far).set_index("area_id")
    # area k sits at (k + 0.5) km; gps at 0.5 and 6.5 km, 3 minutes per km
    for k in range(8):
        expected = min(abs(k - 0), abs(k - 6)) * 3.0
        assert best.loc[f"a{k:03d}", "minutes"] == pytest.approx(expected)
        assert best.loc[f"a{k:03d}", "site_id"] in {"s00", "s02"}
    # without far times, area a003 (9 minutes from either practice) is left out
    assert sorted(set(areas["area_id"]) - set(nearest_gp(areas, sites, table)["area_id"])) == [
        "a003"
    ]


def test_change_keeps_labels():
    assert change(
        {"a": 3, "b": {"c": 1.5}, "column": "x"}, {"a": 1, "b": {"c": 1}, "column": "x"}
    ) == {
        "a": 2.0,
        "b": {"c": 0.5},
        "column": "x",
    }
