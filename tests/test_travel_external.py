"""External travel-time matrices: long / wide / zip / Parquet, lookups, and unmatched reports."""

from __future__ import annotations

import logging
import zipfile

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from travel_frames import as_dict

from polygeo.errors import InputError
from polygeo.travel import ExternalMatrix, TravelLimit, TravelProvider


def make_areas(ids):
    n = len(ids)
    return gpd.GeoDataFrame(
        {"area_id": ids, "population": 1000.0, "origin_x": np.arange(n) * 1.0, "origin_y": 0.0},
        geometry=gpd.points_from_xy(np.arange(n), np.zeros(n)),
        crs="EPSG:27700",
    )


def make_sites(ids, kinds=None):
    n = len(ids)
    return gpd.GeoDataFrame(
        {"site_id": ids, "name": ids, "kind": kinds if kinds is not None else "gp"},
        geometry=gpd.points_from_xy(np.arange(n), np.ones(n)),
        crs="EPSG:27700",
    )


WIDE = "LSOA,AB1 2CD,EF34GH,ZZ99ZZ\nAlpha 001A,10.5,20,30\nBeta 001B,11,,31\nGamma 001C,12,22,32\n"
NAMES = "lsoa,lsoa_code\nAlpha 001A,E01\nBeta 001B,E02\nGamma 001C,W03\n"


@pytest.fixture
def areas():
    return make_areas(["E01", "E02", "E09"])


@pytest.fixture
def sites():
    return make_sites(["AB1 2CD", "EF34GH", "NEW1"], kinds=["gp", "hospital", "gp"])


def test_long_csv_default_names(tmp_path, areas, sites):
    path = tmp_path / "long.csv"
    path.write_text(
        "from_id,to_id,travel_time\nE01,AB1 2CD,5\nE02,AB1 2CD,7.5\nE01,EF34GH,25\n E09 ,NEW1,1\n"
    )
    matrix = ExternalMatrix.read(path)
    table = matrix.travel_times(areas, sites)
    assert as_dict(table) == {
        ("E01", "AB1 2CD"): 5.0,
        ("E01", "EF34GH"): 25.0,
        ("E02", "AB1 2CD"): 7.5,
        ("E09", "NEW1"): 1.0,  # ids are stripped
    }
    assert table["minutes"].dtype == np.float32
    assert table["area_id"].cat.categories.tolist() == ["E01", "E02", "E09"]
    assert matrix.last_report.complete
    limited = matrix.travel_times(areas, sites, TravelLimit(20, per_kind={"hospital": 25}))
    assert len(limited) == 4
    assert len(matrix.travel_times(areas, sites, 6)) == 2


def test_long_named_columns_and_parquet(tmp_path, areas, sites):
    frame = pd.DataFrame({"o": ["E01", "E02"], "dest": ["NEW1", "NEW1"], "mins": [3, 4]})
    path = tmp_path / "times.parquet"
    frame.to_parquet(path)
    matrix = ExternalMatrix.read(
        path, origin_column="o", destination_column="dest", minutes_column="mins"
    )
    assert as_dict(matrix.travel_times(areas, sites)) == {
        ("E01", "NEW1"): 3.0,
        ("E02", "NEW1"): 4.0,
    }


def test_wide_with_name_lookup_and_full_report(tmp_path, areas, sites, caplog):
    (tmp_path / "wide.csv").write_text(WIDE)
    (tmp_path / "names.csv").write_text(NAMES)
    matrix = ExternalMatrix.read(
        tmp_path / "wide.csv",
        origin_lookup=("names.csv", "lsoa", "lsoa_code"),
        base_dir=tmp_path,
    )
    assert len(matrix) == 8  # 9 cells, one empty
    with caplog.at_level(logging.WARNING, logger="polygeo"):
        table = matrix.travel_times(areas, sites)
    assert as_dict(table) == {
        ("E01", "AB1 2CD"): 10.5,
        ("E01", "EF34GH"): 20.0,
        ("E02", "AB1 2CD"): 11.0,
    }
    r = matrix.last_report
    assert r.origins_not_in_areas == ["W03"]
    assert r.areas_without_row == ["E09"]
    assert r.destinations_not_in_sites == ["ZZ99ZZ"]
    assert r.sites_without_column == ["NEW1"]
    assert r.missing_values == 1
    assert (r.areas_matched, r.sites_matched, r.pairs_matched, r.pairs_kept) == (2, 2, 3, 3)
    assert not r.complete
    text = r.format_text()
    assert "1 areas with no matrix row, e.g. ['E09']" in text
    assert "1 sites with no matrix column, e.g. ['NEW1']" in text
    assert "1 matrix origins not in the areas, e.g. ['W03']" in text
    assert "areas with no matrix row" in caplog.text
    d = r.as_dict()
    assert d["sites_without_column"] == {"count": 1, "examples": ["NEW1"]}


def test_names_missing_from_lookup_are_reported(tmp_path, areas, sites):
    (tmp_path / "wide.csv").write_text(WIDE)
    lookup = pd.DataFrame({"lsoa": ["Alpha 001A"], "lsoa_code": ["E01"]})
    matrix = ExternalMatrix.read(
        tmp_path / "wide.csv",
        origin_lookup=(lookup, "lsoa", "lsoa_code"),
        destination_lookup={"AB1 2CD": "AB1 2CD", "EF34GH": "EF34GH"},
    )
    assert matrix.origin_keys_without_id == ["Beta 001B", "Gamma 001C"]
    assert matrix.destination_keys_without_id == ["ZZ99ZZ"]
    table = matrix.travel_times(areas, sites)
    assert as_dict(table) == {("E01", "AB1 2CD"): 10.5, ("E01", "EF34GH"): 20.0}
    text = matrix.last_report.format_text()
    assert (
        "2 matrix origin names with no id in the lookup, e.g. ['Beta 001B', 'Gamma 001C']" in text
    )
    assert "1 matrix destination names with no id in the lookup" in text


def test_zip_with_one_csv_and_with_several(tmp_path, areas, sites):
    one = tmp_path / "one.zip"
    with zipfile.ZipFile(one, "w") as z:
        z.writestr("matrix.csv", WIDE)
    matrix = ExternalMatrix.read(
        one, layout="wide", origin_lookup=pd.Series({"Alpha 001A": "E01", "Beta 001B": "E02"})
    )
    assert len(matrix.travel_times(areas, sites)) == 3
    two = tmp_path / "two.zip"
    with zipfile.ZipFile(two, "w") as z:
        z.writestr("a.csv", WIDE)
        z.writestr("b.csv", "origin,destination,minutes\nE01,NEW1,4\n")
    with pytest.raises(InputError, match=r"holds 2 CSV files .*member="):
        ExternalMatrix.read(two)
    picked = ExternalMatrix.read(two, member="b.csv")
    assert as_dict(picked.travel_times(areas, sites)) == {("E01", "NEW1"): 4.0}


def test_duplicates_after_lookup_are_an_error(tmp_path):
    (tmp_path / "wide.csv").write_text(WIDE)
    with pytest.raises(InputError, match=r"appear more than once \(after any lookup\)"):
        ExternalMatrix.read(
            tmp_path / "wide.csv", origin_lookup={"Alpha 001A": "E01", "Beta 001B": "E01"}
        )


def test_conflicting_lookup_is_an_error(tmp_path):
    (tmp_path / "wide.csv").write_text(WIDE)
    lookup = pd.DataFrame({"name": ["Alpha 001A", "Alpha 001A"], "code": ["E01", "E05"]})
    with pytest.raises(InputError, match="map to more than one id"):
        ExternalMatrix.read(tmp_path / "wide.csv", origin_lookup=(lookup, "name", "code"))


@pytest.mark.parametrize(
    ("text", "kwargs", "message"),
    [
        ("a,b,c\nx,y,z\n", {}, "cannot tell the layout"),
        ("origin,destination,minutes\nE01,S,soon\n", {}, "not numbers, e.g. \\['soon'\\]"),
        ("LSOA,S1\nA,1\n", {"origin_column": "lsoa"}, "has no column 'lsoa'"),
        ("LSOA,S1,S2\nA,1,x\n", {"layout": "wide"}, "not numeric"),
        ("origin,minutes\nA,1\n", {"layout": "long"}, "no destination column"),
        ("origin,destination,minutes\nA,B,-1\n", {}, "negative travel times"),
        ("LSOA,S1\nA,1\n", {"layout": "diagonal"}, "layout must be"),
    ],
)
def test_bad_matrices(tmp_path, text, kwargs, message):
    path = tmp_path / "m.csv"
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        ExternalMatrix.read(path, **kwargs)


def test_missing_files(tmp_path):
    with pytest.raises(InputError, match="travel-time matrix .*absent.csv not found"):
        ExternalMatrix.read(tmp_path / "absent.csv")
    (tmp_path / "wide.csv").write_text(WIDE)
    with pytest.raises(InputError, match="origin_lookup file .*names.csv not found"):
        ExternalMatrix.read(tmp_path / "wide.csv", origin_lookup=("names.csv", "a", "b"))
    (tmp_path / "names.csv").write_text(NAMES)
    with pytest.raises(InputError, match="has no column 'code'"):
        ExternalMatrix.read(
            tmp_path / "wide.csv", origin_lookup=(tmp_path / "names.csv", "lsoa", "code")
        )


def test_is_a_travel_provider(tmp_path):
    (tmp_path / "wide.csv").write_text(WIDE)
    assert isinstance(ExternalMatrix.read(tmp_path / "wide.csv"), TravelProvider)


@pytest.mark.shared_data
@pytest.mark.slow
def test_samuel_matrix_matches_english_lsoas_and_stroke_units(shared_data):
    england = shared_data / "england"
    lsoa = pd.read_csv(england / "lsoa11-england.csv")
    units = pd.read_csv(england / "stroke-units-2022.csv")
    areas = make_areas(lsoa["LSOA11CD"].tolist())
    sites = make_sites(units["Postcode"].str.strip().tolist(), kinds="hospital")
    matrix = ExternalMatrix.read(
        england / "lsoa11-stroke-unit-road-minutes.zip",
        origin_lookup=(england / "lsoa11-names-codes.csv", "lsoa", "lsoa_code"),
    )
    assert (len(matrix.origins), len(matrix.destinations)) == (34_752, 125)
    table = matrix.travel_times(areas, sites)
    r = matrix.last_report
    # every English LSOA but the Isles of Scilly has a row; all 125 columns are stroke units
    assert r.areas_matched == 32_843
    assert r.areas_without_row == ["E01019077"]
    assert r.sites_matched == 125
    assert len(r.origins_not_in_areas) == 1_909
    assert all(code.startswith("W") for code in r.origins_not_in_areas)  # Welsh LSOAs
    assert r.destinations_not_in_sites == []
    assert r.origin_keys_without_id == [] and r.destination_keys_without_id == []
    # stroke units listed without a matrix column (16 English, 1 Welsh)
    assert len(r.sites_without_column) == 17
    assert {"NG51PB", "PE219QS", "NP202UB"} <= set(r.sites_without_column)
    assert r.missing_values == 11  # one Welsh row (Swansea 025H) has 11 empty cells
    assert len(table) == 32_843 * 125 == r.pairs_matched
    assert table["area_id"].cat.codes.nunique() == 32_843
    # spot check one cell against the file: Adur 001A (E01031349) to Brighton BN25BE
    got = as_dict(table.loc[table["area_id"] == "E01031349"])
    assert got[("E01031349", "BN25BE")] == pytest.approx(17.6, abs=1e-4)
    within = matrix.travel_times(areas, sites, TravelLimit(30))
    assert 0 < len(within) < len(table)
    assert within["minutes"].max() <= 30
