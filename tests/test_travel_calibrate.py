"""Calibration of the straight-line model against known travel times."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from polygeo.errors import InputError
from polygeo.travel import Calibration, ExternalMatrix, StraightLine, calibrate, make_table


def make_areas(xy, ids=None):
    xy = np.asarray(xy, dtype=float)
    ids = ids if ids is not None else [f"A{i}" for i in range(len(xy))]
    return gpd.GeoDataFrame(
        {"area_id": ids, "population": 1000.0, "origin_x": xy[:, 0], "origin_y": xy[:, 1]},
        geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]),
        crs="EPSG:27700",
    )


def make_sites(xy, ids=None):
    xy = np.asarray(xy, dtype=float)
    ids = ids if ids is not None else [f"S{i}" for i in range(len(xy))]
    return gpd.GeoDataFrame(
        {"site_id": ids, "name": ids, "kind": "hospital"},
        geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]),
        crs="EPSG:27700",
    )


@pytest.fixture
def synthetic():
    rng = np.random.default_rng(7)
    areas = make_areas(rng.uniform(0, 50_000, (120, 2)))
    sites = make_sites(rng.uniform(0, 50_000, (15, 2)))
    a, s = np.meshgrid(np.arange(120), np.arange(15), indexing="ij")
    a, s = a.ravel(), s.ravel()
    ax, ay = areas["origin_x"].to_numpy(), areas["origin_y"].to_numpy()
    sx, sy = sites.geometry.x.to_numpy(), sites.geometry.y.to_numpy()
    km = np.hypot(ax[a] - sx[s], ay[a] - sy[s]) / 1000
    return areas, sites, a, s, km, rng


def test_recovers_exact_parameters(synthetic):
    areas, sites, a, s, km, _ = synthetic
    known = make_table(a, s, 4.0 + 1.5 * km, area_ids=areas["area_id"], site_ids=sites["site_id"])
    cal = calibrate(areas, sites, known)
    assert cal.intercept_minutes == pytest.approx(4.0, abs=1e-4)
    assert cal.minutes_per_km == pytest.approx(1.5, rel=1e-5)
    assert cal.n_pairs == 120 * 15
    assert cal.mae < 1e-4 and abs(cal.bias) < 1e-4 and cal.rmse < 1e-4
    assert cal.r2 == pytest.approx(1.0)
    assert cal.speed_kmh == pytest.approx(40.0, rel=1e-5)


def test_recovers_parameters_with_noise(synthetic):
    areas, sites, a, s, km, rng = synthetic
    noise = rng.normal(0, 2.0, len(km))
    known = make_table(
        a,
        s,
        np.maximum(3.0 + 2.0 * km + noise, 0),
        area_ids=areas["area_id"],
        site_ids=sites["site_id"],
    )
    cal = calibrate(areas, sites, known)
    assert cal.intercept_minutes == pytest.approx(3.0, abs=0.3)
    assert cal.minutes_per_km == pytest.approx(2.0, abs=0.01)
    assert cal.rmse == pytest.approx(2.0, abs=0.15)
    assert cal.mae == pytest.approx(2.0 * np.sqrt(2 / np.pi), abs=0.15)
    assert abs(cal.bias) < 1e-9  # OLS with an intercept has zero mean residual


def test_fit_statistics_by_hand():
    areas = make_areas([[0, 0]])
    sites = make_sites([[1000, 0], [2000, 0], [3000, 0]])
    known = pd.DataFrame(
        {"area_id": ["A0"] * 3, "site_id": ["S0", "S1", "S2"], "minutes": [2.0, 5.0, 5.0]}
    )
    cal = calibrate(areas, sites, known)
    # x = 1, 2, 3; y = 2, 5, 5: slope 1.5, intercept 4 - 3 = 1; residuals -0.5, 1, -0.5
    assert cal.minutes_per_km == pytest.approx(1.5)
    assert cal.intercept_minutes == pytest.approx(1.0)
    assert cal.mae == pytest.approx(2 / 3)
    assert cal.rmse == pytest.approx(np.sqrt(0.5))
    assert cal.r2 == pytest.approx(1 - 1.5 / 6)
    origin = calibrate(areas, sites, known, through_origin=True)
    # slope = sum(xy) / sum(x^2) = (2 + 10 + 15) / 14
    assert origin.minutes_per_km == pytest.approx(27 / 14)
    assert origin.intercept_minutes == 0.0
    assert origin.bias == pytest.approx(np.mean(27 / 14 * np.array([1, 2, 3]) - [2, 5, 5]))
    assert origin.through_origin


def test_distance_and_time_windows_and_unknown_pairs(synthetic):
    areas, sites, a, s, km, _ = synthetic
    ids = np.r_[areas["area_id"].to_numpy()[a], ["nowhere"]]
    known = pd.DataFrame(
        {
            "area_id": ids,
            "site_id": np.r_[sites["site_id"].to_numpy()[s], ["S0"]],
            "minutes": np.r_[5.0 + 2.0 * km, [1.0]],
        }
    )
    cal = calibrate(areas, sites, known, max_km=20)
    assert cal.n_pairs == int((km <= 20).sum())
    assert cal.pairs_dropped == len(known) - cal.n_pairs
    assert cal.minutes_per_km == pytest.approx(2.0)
    by_time = calibrate(areas, sites, known, max_minutes=30)
    assert by_time.n_pairs == int((5 + 2 * km <= 30).sum())


def test_report_formats(synthetic):
    areas, sites, a, s, km, _ = synthetic
    known = make_table(a, s, 4.0 + 1.5 * km, area_ids=areas["area_id"], site_ids=sites["site_id"])
    cal = calibrate(areas, sites, known)
    d = cal.as_dict()
    assert json.loads(cal.to_json()) == d
    assert set(d) >= {"intercept_minutes", "minutes_per_km", "n_pairs", "mae", "bias", "r2", "rmse"}
    text = cal.format_text()
    assert "1,800 known travel times" in text and "R^2" in text and "minutes_per_km = 1.5" in text
    provider = cal.provider()
    assert isinstance(provider, StraightLine)
    assert provider.minutes_per_km == pytest.approx(1.5)
    assert isinstance(cal, Calibration)


def test_errors():
    areas = make_areas([[0, 0]])
    sites = make_sites([[1000, 0], [2000, 0]])
    one = pd.DataFrame({"area_id": ["A0"], "site_id": ["S0"], "minutes": [3.0]})
    with pytest.raises(InputError, match="at least 2 known times"):
        calibrate(areas, sites, one)
    same = pd.DataFrame({"area_id": ["A0", "A0"], "site_id": ["S0", "S0x"], "minutes": [3.0, 4.0]})
    with pytest.raises(InputError, match="at least 2"):
        calibrate(areas, sites, same)
    flat = make_areas([[0, 0], [0, 0]])
    both = pd.DataFrame({"area_id": ["A0", "A1"], "site_id": ["S0", "S0"], "minutes": [3.0, 4.0]})
    with pytest.raises(InputError, match="same distance"):
        calibrate(flat, sites, both)
    shrinking = pd.DataFrame(
        {"area_id": ["A0", "A0"], "site_id": ["S0", "S1"], "minutes": [9.0, 4.0]}
    )
    with pytest.raises(InputError, match="do not grow with distance"):
        calibrate(areas, sites, shrinking)


@pytest.mark.shared_data
@pytest.mark.slow
def test_samuel_matrix_gives_sensible_fit(shared_data):
    england = shared_data / "england"
    lsoa = pd.read_csv(england / "lsoa11-england.csv")
    units = pd.read_csv(england / "stroke-units-2022.csv")
    areas = make_areas(lsoa[["x", "y"]].to_numpy(), ids=lsoa["LSOA11CD"].tolist())
    sites = make_sites(units[["Easting", "Northing"]].to_numpy(), ids=units["Postcode"].tolist())
    matrix = ExternalMatrix.read(
        england / "lsoa11-stroke-unit-road-minutes.zip",
        origin_lookup=(england / "lsoa11-names-codes.csv", "lsoa", "lsoa_code"),
    )
    known = matrix.travel_times(areas, sites)
    cal = calibrate(areas, sites, known)
    assert cal.n_pairs == len(known) > 4_000_000
    # crow-flies 60-100 km/h over all of England (motorways), a few minutes' start
    assert 0.6 < cal.minutes_per_km < 1.0
    assert 5 < cal.intercept_minutes < 40
    assert cal.r2 > 0.9
    near = calibrate(areas, sites, known, max_km=15)
    # local trips are slower per km than the national average
    assert near.minutes_per_km > cal.minutes_per_km
    assert near.mae < cal.mae
