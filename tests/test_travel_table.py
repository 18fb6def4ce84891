"""The sparse travel table: construction, Parquet round trip, checks and alignment."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from polygeo.errors import InputError
from polygeo.travel import (
    align_table,
    check_table,
    empty_table,
    make_table,
    read_table,
    write_table,
)


def frames(area_ids, site_ids):
    areas = gpd.GeoDataFrame(
        {
            "area_id": area_ids,
            "population": 1000.0,
            "origin_x": np.arange(len(area_ids), dtype=float),
            "origin_y": 0.0,
        },
        geometry=gpd.points_from_xy(np.arange(len(area_ids)), np.zeros(len(area_ids))),
        crs="EPSG:27700",
    )
    sites = gpd.GeoDataFrame(
        {"site_id": site_ids, "name": site_ids, "kind": "gp"},
        geometry=gpd.points_from_xy(np.arange(len(site_ids)), np.ones(len(site_ids))),
        crs="EPSG:27700",
    )
    return areas, sites


@pytest.fixture
def table():
    return make_table(
        [2, 0, 0, 1],
        [1, 1, 0, 2],
        [7.5, 3.25, 1.0, 12.0],
        area_ids=["E3", "E1", "E2", "E4"],  # E4 has no pair
        site_ids=["S1", "S2", "S3"],
    )


def test_make_table_dtypes_codes_and_order(table):
    assert list(table.columns) == ["area_id", "site_id", "minutes"]
    assert isinstance(table["area_id"].dtype, pd.CategoricalDtype)
    assert isinstance(table["site_id"].dtype, pd.CategoricalDtype)
    assert table["minutes"].dtype == np.float32
    assert table["area_id"].cat.categories.tolist() == ["E3", "E1", "E2", "E4"]
    assert table["site_id"].cat.categories.tolist() == ["S1", "S2", "S3"]
    # sorted by area position then site position; codes are the positions
    assert table["area_id"].cat.codes.tolist() == [0, 0, 1, 2]
    assert table["site_id"].cat.codes.tolist() == [0, 1, 2, 1]
    assert table["minutes"].tolist() == [1.0, 3.25, 12.0, 7.5]
    assert table["area_id"].astype(str).tolist() == ["E3", "E3", "E1", "E2"]


def test_make_table_rejects_unequal_lengths():
    with pytest.raises(ValueError, match="equal length"):
        make_table([0, 1], [0], [1.0, 2.0], area_ids=["a", "b"], site_ids=["s"])


def test_empty_table_keeps_categories():
    t = empty_table(["a", "b"], ["s"])
    assert len(t) == 0
    assert t["area_id"].cat.categories.tolist() == ["a", "b"]
    assert t["minutes"].dtype == np.float32


def test_parquet_round_trip_keeps_categories_and_codes(tmp_path, table):
    path = write_table(table, tmp_path / "travel.parquet")
    assert path == tmp_path / "travel.parquet"
    assert [p.name for p in tmp_path.iterdir()] == ["travel.parquet"]  # no temp file left
    back = read_table(path)
    pd.testing.assert_frame_equal(back, table)
    # the unused category (an area with no site in reach) survives
    assert back["area_id"].cat.categories.tolist() == ["E3", "E1", "E2", "E4"]


def test_write_table_replaces_existing_file(tmp_path, table):
    path = tmp_path / "t.parquet"
    path.write_text("old contents")
    write_table(table.iloc[:2], path)
    assert len(read_table(path)) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.parquet"]


def test_write_table_missing_folder(tmp_path, table):
    with pytest.raises(InputError, match="does not exist"):
        write_table(table, tmp_path / "nope" / "t.parquet")


def test_read_table_realigns_to_frames(tmp_path, table):
    path = write_table(table, tmp_path / "t.parquet")
    areas, sites = frames(["E4", "E2", "E1", "E3", "E5"], ["S3", "S2", "S1"])
    t = read_table(path, areas, sites)
    assert t["area_id"].cat.categories.tolist() == areas["area_id"].tolist()
    assert t["site_id"].cat.categories.tolist() == sites["site_id"].tolist()
    got = {
        (areas["area_id"][a], sites["site_id"][s]): m
        for a, s, m in zip(
            t["area_id"].cat.codes, t["site_id"].cat.codes, t["minutes"], strict=True
        )
    }
    assert got == {("E3", "S1"): 1.0, ("E3", "S2"): 3.25, ("E1", "S3"): 12.0, ("E2", "S2"): 7.5}
    # codes index the frames directly, and rows come in area order
    assert t["area_id"].cat.codes.is_monotonic_increasing


def test_read_table_unknown_ids(tmp_path, table):
    path = write_table(table, tmp_path / "t.parquet")
    areas, sites = frames(["E1", "E2"], ["S1", "S2", "S3"])
    with pytest.raises(InputError, match=r"names 1 area ids not in the areas frame.*'E3'"):
        read_table(path, areas, sites)
    t = read_table(path, areas, sites, unknown="drop")
    assert t["area_id"].astype(str).tolist() == ["E1", "E2"]


def test_read_table_missing_file(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_table(tmp_path / "absent.parquet")


def test_read_table_not_parquet(tmp_path):
    path = tmp_path / "t.parquet"
    path.write_text("area_id,site_id,minutes\n")
    with pytest.raises(InputError, match=r"t\.parquet is not a readable Parquet file"):
        read_table(path)


def test_read_table_missing_column_names_file_and_column(tmp_path):
    path = tmp_path / "times.parquet"
    pd.DataFrame({"area_id": ["a"], "site": ["s"], "minutes": [1.0]}).to_parquet(path)
    with pytest.raises(InputError, match=r"times\.parquet has no column 'site_id'"):
        read_table(path)


def test_read_table_accepts_plain_strings_and_numbers(tmp_path):
    path = tmp_path / "other-tool.parquet"
    pd.DataFrame({"area_id": ["b", "a"], "site_id": ["s", "s"], "minutes": [4, 5]}).to_parquet(path)
    t = read_table(path)
    assert isinstance(t["area_id"].dtype, pd.CategoricalDtype)
    assert t["minutes"].dtype == np.float32
    assert t["area_id"].astype(str).tolist() == ["b", "a"]  # file order kept
    assert t["minutes"].tolist() == [4.0, 5.0]


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (
            pd.DataFrame({"area_id": ["a"], "site_id": ["s"], "minutes": ["ten"]}),
            "must be numeric",
        ),
        (
            pd.DataFrame({"area_id": ["a"], "site_id": ["s"], "minutes": [-1.0]}),
            "negative minutes",
        ),
        (
            pd.DataFrame({"area_id": ["a"], "site_id": ["s"], "minutes": [np.nan]}),
            "missing, infinite or negative",
        ),
        (
            pd.DataFrame({"area_id": ["a", None], "site_id": ["s", "s"], "minutes": [1.0, 2.0]}),
            "have no area_id",
        ),
        (
            pd.DataFrame({"area_id": ["a", "a"], "site_id": ["s", "s"], "minutes": [1.0, 2.0]}),
            r"appear more than once, e.g. \[\('a', 's'\)\]",
        ),
    ],
)
def test_read_table_bad_values(tmp_path, frame, message):
    path = tmp_path / "bad.parquet"
    frame.to_parquet(path)
    with pytest.raises(InputError, match=rf"bad\.parquet.*{message}|{message}"):
        read_table(path)


def test_check_and_align_in_memory(table):
    areas, sites = frames(["E1", "E2", "E3", "E4"], ["S1", "S2", "S3"])
    t = align_table(table.astype({"area_id": str, "site_id": str}), areas, sites)
    assert t["area_id"].cat.categories.tolist() == ["E1", "E2", "E3", "E4"]
    assert len(check_table(t)) == 4
