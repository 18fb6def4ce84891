"""The implementation timetable: budgets and ready years hold (checked here, not by
the module), it is optimal on instances small enough to enumerate, and never worse
than opening hubs in order of catchment population."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from polygeo.errors import InputError
from polygeo.timetable import TIMETABLE_COLUMNS, budgets_from_settings, phase

BUDGETS = {2009: 40e6, 2010: 60e6, 2011: 60e6, 2012: 40e6}


def random_hubs(rng, n):
    return pd.DataFrame(
        {
            "site_id": [f"h{i}" for i in range(n)],
            "name": [f"Hub {i}" for i in range(n)],
            "option": rng.choice(["reuse", "refurbish", "new build"], size=n),
            "capital_cost": rng.choice([0, 5e6, 15e6, 25e6, 35e6, 55e6], size=n).astype(float),
            "population": rng.integers(50_000, 120_000, size=n).astype(float),
            "ready_year": rng.choice([np.nan, 2009, 2010, 2011, 2012, 2014], size=n),
        }
    )


def years_served(year, last):
    return last - year + 1


def assert_feasible(schedule, hubs, budgets, carry_over):
    """Independent check: budgets per year (or to date), ready years, each hub once."""
    assert list(schedule.columns) == TIMETABLE_COLUMNS
    assert not schedule["site_id"].duplicated().any()
    ready = hubs.set_index("site_id")["ready_year"]
    cost = hubs.set_index("site_id")["capital_cost"]
    for row in schedule.itertuples():
        assert row.year in budgets
        if pd.notna(ready[row.site_id]):
            assert row.year >= ready[row.site_id]
        assert row.capital_cost == cost[row.site_id]
    spent = schedule.groupby("year")["capital_cost"].sum()
    to_date = 0.0
    allowed = 0.0
    for year, budget in budgets.items():
        this = float(spent.get(year, 0.0))
        allowed += budget
        to_date += this
        if carry_over:
            assert to_date <= allowed + 1e-6
        else:
            assert this <= budget + 1e-6
    assert np.allclose(schedule["cumulative_population"], schedule["population"].cumsum())


def population_years(schedule, last):
    return float((schedule["population"] * years_served(schedule["year"], last)).sum())


def greedy_by_population(hubs, budgets, carry_over):
    """Open hubs biggest catchment first, each in the earliest year it is ready and affordable."""
    left = cumulative(budgets) if carry_over else dict(budgets)
    years = list(budgets)
    total = 0.0
    for h in hubs.sort_values("population", ascending=False).itertuples():
        for k, year in enumerate(years):
            if pd.notna(h.ready_year) and year < h.ready_year:
                continue
            if carry_over:
                # spending in year k lowers what is left in k and every later year's to-date sum
                if all(left[y] >= h.capital_cost - 1e-6 for y in years[k:]):
                    for y in years[k:]:
                        left[y] -= h.capital_cost
                    total += h.population * years_served(year, years[-1])
                    break
            elif left[year] >= h.capital_cost - 1e-6:
                left[year] -= h.capital_cost
                total += h.population * years_served(year, years[-1])
                break
    return total


def cumulative(budgets):
    out, run = {}, 0.0
    for y, b in budgets.items():
        run += b
        out[y] = run
    return out


def brute_force(hubs, budgets, carry_over):
    """Best population-years over every choice of (year or never) per hub, vectorised."""
    years = np.array(list(budgets))
    choice = np.array(list(itertools.product(range(len(years) + 1), repeat=len(hubs))))
    opened = choice < len(years)  # index len(years) = never
    year = np.where(opened, years[np.minimum(choice, len(years) - 1)], 0)
    ready = hubs["ready_year"].to_numpy(dtype=float)
    ok = ~(opened & np.isfinite(ready) & (year < np.nan_to_num(ready))).any(axis=1)
    cost = hubs["capital_cost"].to_numpy(dtype=float)
    spent = np.stack([((choice == k) * cost).sum(axis=1) for k in range(len(years))], axis=1)
    caps = np.array(list(budgets.values()))
    if carry_over:
        spent, caps = spent.cumsum(axis=1), caps.cumsum()
    ok &= (spent <= caps + 1e-6).all(axis=1)
    pop = hubs["population"].to_numpy(dtype=float)
    value = (opened * pop * years_served(year, years[-1])).sum(axis=1)
    return float(value[ok].max())


@pytest.mark.parametrize("carry_over", [False, True])
def test_respects_budgets_and_beats_greedy(carry_over):
    rng = np.random.default_rng(7)
    for _ in range(15):
        hubs = random_hubs(rng, 25)
        table = phase(hubs, BUDGETS, carry_over=carry_over)
        assert table.status == "optimal"
        assert_feasible(table.schedule, hubs, BUDGETS, carry_over)
        value = population_years(table.schedule, 2012)
        assert value == pytest.approx(table.population_years)
        assert value >= greedy_by_population(hubs, BUDGETS, carry_over) - 1e-6
        opened = set(table.schedule["site_id"]) | set(table.unscheduled["site_id"])
        assert opened == set(hubs["site_id"])


@pytest.mark.parametrize("carry_over", [False, True])
def test_optimal_against_enumeration(carry_over):
    rng = np.random.default_rng(11)
    budgets = {2009: 20e6, 2010: 30e6, 2011: 25e6}
    for _ in range(6):
        hubs = random_hubs(rng, 6)
        table = phase(hubs, budgets, carry_over=carry_over)
        assert table.population_years == pytest.approx(brute_force(hubs, budgets, carry_over))


def test_greedy_by_population_can_be_beaten():
    # the biggest hub takes the whole first budget; two smaller ones serve more together
    hubs = pd.DataFrame(
        {
            "site_id": ["big", "a", "b"],
            "name": ["Big", "A", "B"],
            "option": "refurbish",
            "capital_cost": [40e6, 20e6, 20e6],
            "population": [100_000.0, 60_000.0, 60_000.0],
            "ready_year": np.nan,
        }
    )
    budgets = {2009: 40e6, 2010: 0.0}
    table = phase(hubs, budgets)
    assert set(table.schedule["site_id"]) == {"a", "b"}
    assert table.population_years == 2 * 120_000
    assert greedy_by_population(hubs, budgets, False) == 2 * 100_000


def test_carry_over_lets_a_dear_hub_open():
    hubs = pd.DataFrame(
        {
            "site_id": ["dear"],
            "name": ["Dear"],
            "option": "new build",
            "capital_cost": [70e6],
            "population": [90_000.0],
            "ready_year": np.nan,
        }
    )
    without = phase(hubs, BUDGETS)
    assert without.schedule.empty and list(without.unscheduled["site_id"]) == ["dear"]
    with_carry = phase(hubs, BUDGETS, carry_over=True)
    assert list(with_carry.schedule["year"]) == [2010]


def test_hubs_that_do_not_fit_get_the_budget_they_need():
    rng = np.random.default_rng(3)
    hubs = random_hubs(rng, 30)
    table = phase(hubs, BUDGETS)
    fits_in_time = hubs[~(hubs["ready_year"] > 2012)]
    late = set(hubs.loc[hubs["ready_year"] > 2012, "site_id"])
    assert late <= set(table.unscheduled["site_id"])
    extra = table.extra_budget_needed
    assert extra is not None and extra > 0
    message = table.message()
    assert f"{extra:,.0f} more capital" in message
    for site in table.unscheduled["site_id"]:
        assert site in message
    # with that much more in the last year every hub ready in time opens; with less, not
    more = {**BUDGETS, 2012: BUDGETS[2012] + extra}
    assert phase(fits_in_time, more).unscheduled.empty
    less = {**BUDGETS, 2012: BUDGETS[2012] + extra - 1e6}
    assert not phase(fits_in_time, less).unscheduled.empty


def test_budget_settings_are_checked():
    assert budgets_from_settings({"2010": 5, "2009": 1e6}) == {2009: 1e6, 2010: 5.0}
    with pytest.raises(InputError, match="budgets key 'next' is not a year"):
        budgets_from_settings({"next": 5})
    with pytest.raises(InputError, match="budget of 2009 must be a number >= 0"):
        budgets_from_settings({"2009": -1})
