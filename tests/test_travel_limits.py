"""Travel limits: global, per area, per site kind, and both."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from polygeo.errors import InputError
from polygeo.travel import TravelLimit


@pytest.fixture
def areas():
    return pd.DataFrame({"area_id": ["a", "b", "c"], "imd_decile": [1, 5, 2]})


@pytest.fixture
def sites():
    return pd.DataFrame({"site_id": ["gp1", "h1", "c1"], "kind": ["gp", "hospital", "clinic"]})


def all_pairs(n_areas, n_sites):
    a, s = np.meshgrid(np.arange(n_areas), np.arange(n_sites), indexing="ij")
    return a.ravel(), s.ravel()


def test_global_limit(areas, sites):
    limit = TravelLimit(20)
    a, s = all_pairs(3, 3)
    assert (limit.for_pairs(areas, sites, a, s) == 20).all()
    assert limit.max_minutes() == 20
    assert limit.max_minutes(areas, sites) == 20


def test_per_area_replaces_global(areas, sites):
    limit = TravelLimit(20, per_area=pd.Series({"a": 15.0, "c": 30.0}))
    a, s = all_pairs(3, 3)
    got = limit.for_pairs(areas, sites, a, s).reshape(3, 3)
    np.testing.assert_array_equal(got, [[15] * 3, [20] * 3, [30] * 3])
    assert limit.max_minutes() == 30
    np.testing.assert_array_equal(limit.area_max_minutes(areas, sites), [15, 20, 30])


def test_per_kind_replaces_global(areas, sites):
    limit = TravelLimit(20, per_kind={"hospital": 25, "clinic": 10})
    a, s = all_pairs(3, 3)
    got = limit.for_pairs(areas, sites, a, s).reshape(3, 3)
    np.testing.assert_array_equal(got, [[20, 25, 10]] * 3)
    assert limit.max_minutes() == 25
    assert limit.max_minutes(areas, sites.iloc[[0, 2]]) == 20  # no hospital among these


def test_both_apply_the_stricter_wins(areas, sites):
    limit = TravelLimit(20, per_area=pd.Series({"a": 15.0, "c": 30.0}), per_kind={"hospital": 25})
    a, s = all_pairs(3, 3)
    got = limit.for_pairs(areas, sites, a, s).reshape(3, 3)
    # a: own 15 (min with hospital 25 -> 15); b: global 20 / hospital 25; c: own 30, hospital 25
    np.testing.assert_array_equal(got, [[15, 15, 15], [20, 25, 20], [30, 25, 30]])
    np.testing.assert_array_equal(limit.area_max_minutes(areas, sites), [15, 25, 30])


def test_from_area_column_numeric_keys(areas, sites):
    limit = TravelLimit.from_area_column(areas, "imd_decile", {1: 15, 2: 15}, minutes=20)
    assert limit.per_area.to_dict() == {"a": 15.0, "c": 15.0}
    np.testing.assert_array_equal(limit.area_limits(areas), [15, np.nan, 15])


def test_from_area_column_string_keys_match_numbers(areas):
    # TOML table keys are strings
    limit = TravelLimit.from_area_column(areas, "imd_decile", {"1": 15, "2": 12}, minutes=20)
    assert limit.per_area.to_dict() == {"a": 15.0, "c": 12.0}


def test_from_area_column_string_column():
    areas = pd.DataFrame({"area_id": ["x", "y"], "rural": ["yes", " no"]})
    limit = TravelLimit.from_area_column(
        areas, "rural", {"yes": 30}, minutes=20, per_kind={"gp": 9}
    )
    assert limit.per_area.to_dict() == {"x": 30.0}
    assert limit.per_kind == {"gp": 9.0}


def test_from_area_column_missing_column(areas):
    with pytest.raises(InputError, match="no column 'imd'"):
        TravelLimit.from_area_column(areas, "imd", {1: 15}, minutes=20)


@pytest.mark.parametrize("bad", [-1, float("nan"), "20", True])
def test_bad_global_limit(bad):
    with pytest.raises(InputError, match="travel limit"):
        TravelLimit(bad)


def test_bad_per_kind_and_per_area():
    with pytest.raises(InputError, match="site kind 'hospital'"):
        TravelLimit(20, per_kind={"hospital": -5})
    with pytest.raises(InputError, match="per_area limits must be minutes"):
        TravelLimit(20, per_area=pd.Series({"a": -3.0}))


def test_per_kind_needs_kind_column(areas):
    limit = TravelLimit(20, per_kind={"hospital": 25})
    with pytest.raises(InputError, match="'kind' column"):
        limit.site_limits(pd.DataFrame({"site_id": ["s"]}))


def test_describe():
    limit = TravelLimit(20, per_area=pd.Series({"a": 15.0}), per_kind={"hospital": 25})
    assert (
        limit.describe()
        == "20 min; by site kind hospital=25; 1 areas with their own limit (15-15 min)"
    )
