"""The [travel] table of a scenario file: providers, limits and clear errors."""

from __future__ import annotations

import tomllib

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import LineString

from polygeo.errors import InputError
from polygeo.travel import (
    ExternalMatrix,
    RoadNetwork,
    StraightLine,
    TravelLimit,
    travel_from_settings,
)


@pytest.fixture
def areas():
    xy = np.array([[0.0, 0.0], [1000.0, 0.0], [0.0, 3000.0]])
    return gpd.GeoDataFrame(
        {
            "area_id": ["E01", "E02", "E03"],
            "population": 1000.0,
            "origin_x": xy[:, 0],
            "origin_y": xy[:, 1],
            "imd_decile": [1, 2, 7],
        },
        geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]),
        crs="EPSG:27700",
    )


@pytest.fixture
def sites():
    return gpd.GeoDataFrame(
        {"site_id": ["S1", "S2"], "name": ["a", "b"], "kind": ["gp", "hospital"]},
        geometry=gpd.points_from_xy([0, 4000], [500, 0]),
        crs="EPSG:27700",
    )


def build(text, tmp_path, areas, sites):
    settings = tomllib.loads(text)["travel"]
    return travel_from_settings(
        settings, base_dir=tmp_path, areas=areas, sites=sites, source="test.toml"
    )


def test_straight_line_contract_keys(tmp_path, areas, sites):
    provider, limit = build(
        """
        [travel]
        provider = "straight_line"
        minutes_per_km = 3.12
        intercept_minutes = 0
        limit_minutes = 20
        """,
        tmp_path,
        areas,
        sites,
    )
    assert isinstance(provider, StraightLine)
    assert provider.minutes_per_km == 3.12 and provider.intercept_minutes == 0
    assert isinstance(limit, TravelLimit) and limit.minutes == 20
    assert limit.per_area is None and limit.per_kind is None


def test_speed_circuity_and_limits(tmp_path, areas, sites):
    provider, limit = build(
        """
        [travel]
        speed_kmh = 30
        circuity = 1.25
        limit_minutes = 20
        limit_by_kind = {hospital = 25}
        limit_by_area = {column = "imd_decile", values = {"1" = 15, "2" = 12}}
        """,
        tmp_path,
        areas,
        sites,
    )
    assert provider.minutes_per_km == pytest.approx(2.5)
    assert limit.per_kind == {"hospital": 25.0}
    assert limit.per_area.to_dict() == {"E01": 15.0, "E02": 12.0}
    table = provider.travel_times(areas, sites, limit)
    # E03 (own limit none) to S2 (hospital, 25 min): 5 km -> 12.5 min
    assert ("E03", "S2") in set(zip(table["area_id"], table["site_id"], strict=True))


def test_network_roads(tmp_path, areas, sites):
    roads = gpd.GeoDataFrame(
        {"kmh": [60]}, geometry=[LineString([(0, 0), (4000, 0)])], crs="EPSG:27700"
    )
    roads.to_file(tmp_path / "roads.gpkg")
    provider, limit = build(
        """
        [travel]
        provider = "network"
        roads = "roads.gpkg"
        speed_column = "kmh"
        access_speed_kmh = 10
        limit_minutes = 30
        """,
        tmp_path,
        areas,
        sites,
    )
    assert isinstance(provider, RoadNetwork)
    assert provider.access_speed_kmh == 10
    table = provider.travel_times(areas, sites, limit)
    got = dict(
        zip(zip(table["area_id"], table["site_id"], strict=True), table["minutes"], strict=True)
    )
    assert got[("E01", "S2")] == pytest.approx(4.0)  # 4 km at 60 km/h


def test_matrix_with_lookups(tmp_path, areas, sites):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "m.csv").write_text("LSOA,P1,P2\nAlpha,5,40\nBeta,6,7\n")
    (tmp_path / "data" / "names.csv").write_text("lsoa,lsoa_code\nAlpha,E01\nBeta,E02\n")
    (tmp_path / "data" / "sites.csv").write_text("pc,code\nP1,S1\nP2,S2\n")
    provider, limit = build(
        """
        [travel]
        provider = "matrix"
        matrix = "data/m.csv"
        layout = "wide"
        origin_column = "LSOA"
        origin_lookup = {path = "data/names.csv", key = "lsoa", id = "lsoa_code"}
        destination_lookup = {path = "data/sites.csv", key = "pc", id = "code"}
        limit_minutes = 30
        """,
        tmp_path,
        areas,
        sites,
    )
    assert isinstance(provider, ExternalMatrix)
    table = provider.travel_times(areas, sites, limit)
    assert len(table) == 3  # E01-S2 at 40 min is beyond the limit
    assert provider.last_report.areas_without_row == ["E03"]


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        (
            "limit_minute = 20",
            r"test.toml \[travel\] limit_minute: unknown key. Did you mean 'limit_minutes'\?",
        ),
        (
            "limit_minutes = '20'\nminutes_per_km = 3",
            r"\[travel\] limit_minutes: expected a number, got '20'",
        ),
        ("minutes_per_km = 3", r"\[travel\] limit_minutes: missing"),
        ("limit_minutes = 20", r"\[travel\] minutes_per_km: missing"),
        (
            "limit_minutes = 20\nprovider = 'straightline'",
            r"provider: 'straightline' is not one of .* Did you mean 'straight_line'\?",
        ),
        (
            "limit_minutes = 20\nminutes_per_km = 3\nroads = 'r.shp'",
            r'\[travel\] roads: applies to provider = "network"',
        ),
        (
            "limit_minutes = 20\nminutes_per_km = 3\nspeed_kmh = 30",
            r"\[travel\] speed_kmh: give minutes_per_km or speed_kmh, not both",
        ),
        (
            "limit_minutes = 20\nminutes_per_km = 3\ncircuity = 1.2",
            r"\[travel\] circuity: applies only with speed_kmh",
        ),
        (
            "limit_minutes = 20\nminutes_per_km = -3",
            r"\[travel\] minutes_per_km: must be > 0, got -3",
        ),
        ("limit_minutes = 0\nminutes_per_km = 3", r"\[travel\] limit_minutes: must be > 0"),
        (
            "limit_minutes = 20\nminutes_per_km = 3\nlimit_by_kind = {hospital = 'soon'}",
            r"\[travel\] limit_by_kind.hospital: expected a number, got 'soon'",
        ),
        (
            "limit_minutes = 20\nminutes_per_km = 3\n"
            "limit_by_area = {column = 'imd', values = {'1' = 15}}",
            r"\[travel\] limit_by_area.column: the areas have no column 'imd' "
            r"\(did you mean 'imd_decile'\?\)",
        ),
        (
            "limit_minutes = 20\nminutes_per_km = 3\n"
            "limit_by_area = {column = 'imd_decile', value = {'1' = 15}}",
            r"limit_by_area.value: unknown key. Did you mean 'values'\?",
        ),
        ("limit_minutes = 20\nprovider = 'network'", r"\[travel\] roads: give one of roads"),
        (
            "limit_minutes = 20\nprovider = 'network'\nroads = 'nowhere.shp'",
            r"\[travel\] roads: file .*nowhere.shp not found \(relative paths are read from",
        ),
        (
            "limit_minutes = 20\nprovider = 'network'\ngraphml = 'g.graphml'\nsnap_to_largest = 1",
            r"\[travel\] snap_to_largest: expected true or false",
        ),
        ("limit_minutes = 20\nprovider = 'matrix'", r"\[travel\] matrix: missing"),
        (
            "limit_minutes = 20\nprovider = 'matrix'\nmatrix = 'm.csv'",
            r"\[travel\] matrix: file .*m.csv not found",
        ),
        (
            "limit_minutes = 20\nprovider = 'matrix'\nmatrix = 'm.csv'\nlayout = 'tall'",
            r"\[travel\] layout: 'tall' is not one of auto, long, wide",
        ),
    ],
)
def test_errors_name_the_key_and_the_fix(tmp_path, areas, sites, toml, message):
    with pytest.raises(InputError, match=message):
        build("[travel]\n" + toml, tmp_path, areas, sites)


def test_lookup_errors(tmp_path, areas, sites):
    (tmp_path / "m.csv").write_text("LSOA,S1\nAlpha,5\n")
    base = "[travel]\nprovider = 'matrix'\nmatrix = 'm.csv'\nlimit_minutes = 20\n"
    with pytest.raises(InputError, match=r"origin_lookup.path: file .*names.csv not found"):
        build(
            base + "origin_lookup = {path = 'names.csv', key = 'a', id = 'b'}",
            tmp_path,
            areas,
            sites,
        )
    with pytest.raises(InputError, match=r"origin_lookup.ids: unknown key. Did you mean 'id'\?"):
        build(
            base + "origin_lookup = {path = 'm.csv', key = 'a', ids = 'b'}", tmp_path, areas, sites
        )
    with pytest.raises(InputError, match=r"origin_lookup.id: missing: add id"):
        build(base + "origin_lookup = {path = 'm.csv', key = 'a'}", tmp_path, areas, sites)
    with pytest.raises(InputError, match=r"\[travel\] matrix: .*has no column 'a'"):
        build(
            base + "origin_lookup = {path = 'm.csv', key = 'a', id = 'b'}", tmp_path, areas, sites
        )


def test_settings_must_be_a_table(tmp_path, areas, sites):
    with pytest.raises(InputError, match="must be a table"):
        travel_from_settings([1, 2], base_dir=tmp_path, areas=areas, sites=sites)
