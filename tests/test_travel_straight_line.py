"""Straight-line travel times: hand-computed values, limits, and the k-d tree vs brute force."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from travel_frames import as_dict, make_areas, make_sites

from polygeo.errors import CRSError, InputError
from polygeo.travel import StraightLine, TravelLimit, TravelProvider


def brute_force(areas, sites, provider, limit):
    """All pairs with numpy, then the limit rule written out directly."""
    ax, ay = areas["origin_x"].to_numpy(), areas["origin_y"].to_numpy()
    sx, sy = sites.geometry.x.to_numpy(), sites.geometry.y.to_numpy()
    d_km = np.hypot(ax[:, None] - sx[None, :], ay[:, None] - sy[None, :]) / 1000
    minutes = np.maximum(provider.intercept_minutes + provider.minutes_per_km * d_km, 0)
    out = {}
    per_area = limit.per_area if limit.per_area is not None else pd.Series(dtype=float)
    for i, aid in enumerate(areas["area_id"]):
        for j, (sid, kind) in enumerate(zip(sites["site_id"], sites["kind"], strict=True)):
            own = per_area.get(aid, np.nan)
            by_kind = (limit.per_kind or {}).get(kind, np.nan)
            if np.isnan(own) and np.isnan(by_kind):
                lim = limit.minutes
            else:
                lim = np.nanmin([own, by_kind])
            if minutes[i, j] <= lim:
                out[(aid, sid)] = float(np.float32(minutes[i, j]))
    return out


def test_hand_computed_minutes():
    areas = make_areas([[0, 0], [1000, 1000]])
    sites = make_sites([[3000, 4000], [1000, 1000]])
    table = StraightLine(3.12).travel_times(areas, sites)
    got = as_dict(table)
    assert got[("A0", "S0")] == pytest.approx(5 * 3.12)  # 3-4-5 triangle: 5 km
    assert got[("A0", "S1")] == pytest.approx(np.sqrt(2) * 3.12)
    assert got[("A1", "S1")] == 0.0
    assert got[("A1", "S0")] == pytest.approx(np.hypot(2, 3) * 3.12, rel=1e-6)
    assert len(table) == 4
    assert table["minutes"].dtype == np.float32


def test_intercept_speed_and_circuity():
    areas = make_areas([[0, 0]])
    sites = make_sites([[0, 10_000]])
    assert as_dict(StraightLine(2.0, 5.0).travel_times(areas, sites)) == {("A0", "S0"): 25.0}
    provider = StraightLine(speed_kmh=30, circuity=1.3)
    assert provider.minutes_per_km == pytest.approx(2.6)
    assert as_dict(provider.travel_times(areas, sites))[("A0", "S0")] == pytest.approx(26.0)


def test_negative_intercept_clipped_at_zero():
    areas = make_areas([[0, 0]])
    sites = make_sites([[0, 0], [0, 2000]])
    got = as_dict(StraightLine(2.0, -1.0).travel_times(areas, sites, TravelLimit(60)))
    assert got == {("A0", "S0"): 0.0, ("A0", "S1"): 3.0}


def test_limit_is_inclusive_at_the_boundary():
    areas = make_areas([[0, 0]])
    sites = make_sites([[0, 10_000], [0, 10_001], [6000, 8000]])
    got = as_dict(StraightLine(2.0).travel_times(areas, sites, TravelLimit(20)))
    assert set(got) == {("A0", "S0"), ("A0", "S2")}


def test_limit_rules_per_area_and_per_kind():
    areas = make_areas([[0, 0], [50_000, 0]], ids=["poor", "rich"], imd_decile=[1, 9])
    # sites at 6, 9 and 12 km from each area
    sites = make_sites(
        [[0, 6000], [0, 9000], [0, 12_000], [50_000, 6000], [50_000, 9000], [50_000, 12_000]],
        kinds=["gp", "hospital", "hospital"] * 2,
    )
    limit = TravelLimit.from_area_column(
        areas, "imd_decile", {1: 15}, minutes=20, per_kind={"hospital": 25}
    )
    got = as_dict(StraightLine(2.0).travel_times(areas, sites, limit))
    # poor: own 15 min -> 6 km (12 min) only; rich: gp 20 min (12), hospitals 25 (18, 24 min)
    assert set(got) == {("poor", "S0"), ("rich", "S3"), ("rich", "S4"), ("rich", "S5")}


@pytest.mark.parametrize("chunk_size", [7, 4096])
def test_kdtree_equals_brute_force(chunk_size):
    rng = np.random.default_rng(42)
    areas = make_areas(rng.uniform(0, 40_000, (300, 2)))
    sites = make_sites(
        rng.uniform(0, 40_000, (200, 2)), kinds=rng.choice(["gp", "hospital", "clinic"], 200)
    )
    per_area = pd.Series(rng.choice([np.nan, 10, 30], 300), index=areas["area_id"])
    limit = TravelLimit(20, per_area=per_area, per_kind={"hospital": 25, "clinic": 12})
    provider = StraightLine(3.12, 1.5, chunk_size=chunk_size)
    table = provider.travel_times(areas, sites, limit)
    expected = brute_force(areas, sites, provider, limit)
    assert len(expected) > 1000
    got = as_dict(table)
    assert got.keys() == expected.keys()
    np.testing.assert_allclose(
        [got[k] for k in expected], list(expected.values()), rtol=1e-6, atol=1e-5
    )
    # areas in frame order, and codes are frame positions
    assert table["area_id"].cat.codes.is_monotonic_increasing
    assert table["area_id"].cat.categories.tolist() == areas["area_id"].tolist()


def test_no_limit_gives_every_pair():
    rng = np.random.default_rng(1)
    areas = make_areas(rng.uniform(0, 1e5, (23, 2)))
    sites = make_sites(rng.uniform(0, 1e5, (11, 2)))
    table = StraightLine(3.12).travel_times(areas, sites)
    assert len(table) == 23 * 11
    assert as_dict(table) == brute_force(areas, sites, StraightLine(3.12), TravelLimit(1e9))


def test_no_pairs_and_no_sites():
    areas = make_areas([[0, 0]])
    far = make_sites([[1e6, 0]])
    table = StraightLine(3.12).travel_times(areas, far, TravelLimit(20))
    assert len(table) == 0
    assert table["area_id"].cat.categories.tolist() == ["A0"]
    assert len(StraightLine(3.12).travel_times(areas, far.iloc[:0], 20)) == 0
    # an intercept beyond the limit reaches nothing
    assert len(StraightLine(3.12, 25).travel_times(areas, make_sites([[0, 0]]), 20)) == 0


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((), {}, "give minutes_per_km"),
        ((3.0,), {"speed_kmh": 30}, "not both"),
        ((3.0,), {"circuity": 1.3}, "circuity applies only with speed_kmh"),
        ((-1.0,), {}, "minutes_per_km must be a finite number > 0"),
        ((), {"speed_kmh": 0}, "speed_kmh must be a finite number > 0"),
        ((3.0, float("nan")), {}, "intercept_minutes"),
    ],
)
def test_bad_parameters(args, kwargs, message):
    with pytest.raises(InputError, match=message):
        StraightLine(*args, **kwargs)


def test_input_errors():
    areas = make_areas([[0, 0]])
    sites = make_sites([[0, 0]])
    provider = StraightLine(3.12)
    with pytest.raises(InputError, match="origin_x"):
        provider.travel_times(areas.drop(columns="origin_x"), sites)
    with pytest.raises(CRSError, match="EPSG:27700.*EPSG:3857"):
        provider.travel_times(areas, sites.to_crs("EPSG:3857"))
    with pytest.raises(CRSError, match="not in metres"):
        provider.travel_times(areas.to_crs(4326), sites.to_crs(4326))
    polys = sites.copy()
    polys["geometry"] = polys.buffer(10)
    with pytest.raises(InputError, match="not Points"):
        provider.travel_times(areas, polys)
    dup = pd.concat([areas, areas], ignore_index=True)
    with pytest.raises(InputError, match="must be unique"):
        provider.travel_times(dup, sites)


def test_is_a_travel_provider():
    assert isinstance(StraightLine(3.12), TravelProvider)


@pytest.mark.shared_data
def test_england_lsoas_to_stroke_units_equal_brute_force(shared_data):
    lsoa = pd.read_csv(shared_data / "england" / "lsoa11-england.csv")
    units = pd.read_csv(shared_data / "england" / "stroke-units-2022.csv")
    areas = make_areas(lsoa[["x", "y"]].to_numpy(), ids=lsoa["LSOA11CD"].tolist())
    sites = make_sites(units[["Easting", "Northing"]].to_numpy(), kinds="hospital")
    provider = StraightLine(1.0, 10.0)
    table = provider.travel_times(areas, sites, TravelLimit(30))
    ax, ay = lsoa["x"].to_numpy(), lsoa["y"].to_numpy()
    ux, uy = units["Easting"].to_numpy(), units["Northing"].to_numpy()
    minutes = 10 + np.hypot(ax[:, None] - ux, ay[:, None] - uy) / 1000
    i, j = np.nonzero(minutes <= 30)
    assert len(table) == len(i)
    np.testing.assert_array_equal(table["area_id"].cat.codes, i)
    np.testing.assert_array_equal(table["site_id"].cat.codes, j)
    np.testing.assert_allclose(table["minutes"], minutes[i, j], rtol=1e-6)
