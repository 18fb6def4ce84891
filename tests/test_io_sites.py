"""read_sites on small files the tests write: NHS Choices format, CSV, vector, merging."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from pyproj import Transformer
from shapely.geometry import Point, box

from polygeo.errors import InputError
from polygeo.io import read_nhs_choices, read_sites

HEADER = ["OrganisationID", "OrganisationCode", "OrganisationType", "SubType",
          "OrganisationName", "Postcode", "Latitude", "Longitude"]  # fmt: skip
GP_ROWS = [
    ["1", "F001", "GP practice", "UNKNOWN", "Café Surgery", "N1 1AA", "51.5072", "-0.1276"],
    ["2", "F002", "GP practice", "UNKNOWN", "No Coordinates", "N1 1AB", "", ""],
    ["3", "F003", "GP practice", "UNKNOWN", "Centre Practice A", "N1 1AC", "51.52", "-0.1"],
    ["4", "F004", "GP practice", "UNKNOWN", "Centre Practice B", "N1 1AC", "51.52", "-0.1"],
]
HOSPITAL_ROWS = [
    ["10", "RH1", "Hospital", "Hospital", "St Thomas", "SE1 7EH", "51.498", "-0.118"],
    ["11", "RH1", "Hospital", "Hospital", "St Thomas", "SE1 7EH", "51.498", "-0.118"],
    ["12", "RH2", "Hospital", "Mental Health Hospital", "Maudsley", "N1 1AC", "51.52", "-0.1"],
]
TO_BNG = Transformer.from_crs(4326, 27700, always_xy=True)


def write_nhs(path, rows):
    """An NHS Choices file as published: ``¬`` fields, Latin-1, CRLF."""
    text = "".join("\xac".join(r) + "\r\n" for r in [HEADER, *rows])
    path.write_bytes(text.encode("latin-1"))
    return path


def write_csv(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def findings(sites):
    return {f["code"]: f["message"] for f in sites.attrs["load_report"]["findings"]}


@pytest.fixture
def gp(tmp_path):
    return write_nhs(tmp_path / "GPPractices.csv", GP_ROWS)


@pytest.fixture
def hospital(tmp_path):
    return write_nhs(tmp_path / "Hospital.csv", HOSPITAL_ROWS)


def test_nhs_choices_file_is_read_as_published(gp):
    assert gp.read_bytes().count(b"\xac") == 5 * 7 and b"\r\n" in gp.read_bytes()
    table = read_nhs_choices(gp)
    assert list(table.columns) == HEADER
    assert table["OrganisationName"].iloc[0] == "Café Surgery"
    assert table["Latitude"].iloc[1] == ""


def test_nhs_file_rows_without_coordinates_are_skipped_and_same_place_rows_merged(gp):
    sites = read_sites(gp)

    assert sites["site_id"].tolist() == ["F001", "F003"]
    assert sites["name"].tolist() == ["Café Surgery", "Centre Practice A"]
    assert sites["kind"].tolist() == ["gp", "gp"]
    assert sites["kinds"].tolist() == ["gp", "gp"]
    assert sites["merged_rows"].tolist() == [1, 2]
    assert sites["merged_rows"].dtype == np.int64
    assert sites["source"].tolist() == ["GPPractices.csv"] * 2
    assert sites["Postcode"].tolist() == ["N1 1AA", "N1 1AC"]
    assert sites.crs.to_epsg() == 27700
    assert (sites.geometry.geom_type == "Point").all()
    np.testing.assert_allclose(
        [sites.geometry.x[0], sites.geometry.y[0]], TO_BNG.transform(-0.1276, 51.5072)
    )
    assert findings(sites) == {
        "site_without_coordinates": "GPPractices.csv: skipped 1 row without coordinates in "
        "columns Latitude, Longitude: F002"
    }
    stats = sites.attrs["load_report"]["stats"]
    assert stats["skipped_without_coordinates"] == 1
    assert stats["rows_read"] == 4


def test_rows_at_one_location_merge_across_files_by_kind_priority(gp, hospital):
    sites = read_sites([gp, hospital])

    assert sites["site_id"].tolist() == ["F001", "F003", "RH1"]
    centre = sites.set_index("site_id").loc["F003"]
    assert centre["kind"] == "hospital"  # hospital > clinic > community > gp
    assert centre["kinds"] == "gp;hospital"
    assert centre["merged_rows"] == 3
    assert centre["name"] == "Centre Practice A"  # from the first row, like the id
    assert centre["SubType"] == "UNKNOWN"
    assert sites.set_index("site_id").loc["RH1", "merged_rows"] == 2
    assert sites.attrs["load_report"]["stats"]["merged_rows"] == 6


def test_site_ids_are_stable_whatever_the_merge(gp, hospital):
    first = read_sites([gp, hospital])
    again = read_sites([gp, hospital])
    assert first["site_id"].tolist() == again["site_id"].tolist()
    reversed_ = read_sites([hospital, gp])
    assert reversed_["site_id"].tolist() == ["RH1", "RH2", "F001"]


def test_merge_false_keeps_organisations_apart_but_not_repeated_rows(gp, hospital):
    sites = read_sites([gp, hospital], merge=False)
    assert sites["site_id"].tolist() == ["F001", "F003", "F004", "RH1", "RH2"]
    assert sites["merged_rows"].tolist() == [1, 1, 1, 2, 1]


def test_source_dicts_set_kind_id_and_name(tmp_path, gp):
    sites = read_sites([{"path": gp, "kind": "Community", "name": "Postcode"}])
    assert sites["kind"].tolist() == ["community", "community"]
    assert sites["name"].tolist() == ["N1 1AA", "N1 1AC"]

    with pytest.raises(InputError) as err:
        read_sites([{"path": gp, "type": "gp"}])
    assert str(err.value).endswith(
        "type: unknown key. Known keys: path, kind, id, name, x, y, sheet, layer, assume_crs."
    )


def test_easting_northing_csv_with_named_id_and_name(tmp_path):
    path = write_csv(
        tmp_path / "units.csv",
        "Postcode,Hospital_name,Easting,Northing\n"
        " RM7 0AG ,Queens,551118,187780\nE11BB,Royal London,534829,181798\n",
    )
    sites = read_sites(path, id="Postcode", name="Hospital_name", kind="hospital")
    assert sites["site_id"].tolist() == ["RM7 0AG", "E11BB"]
    assert sites["name"].tolist() == ["Queens", "Royal London"]
    assert sites.geometry.x.tolist() == [551118, 534829]
    assert sites["Postcode"].tolist() == [" RM7 0AG ", "E11BB"]  # the file's column, untouched


def test_lat_lon_csv_is_detected(tmp_path):
    path = write_csv(tmp_path / "s.csv", "code,name,lat,lon\nA1,One,51.5072,-0.1276\n")
    sites = read_sites(path)
    assert sites["site_id"].tolist() == ["A1"]
    np.testing.assert_allclose(sites.geometry.x, TO_BNG.transform(-0.1276, 51.5072)[0])


def test_a_projected_assume_crs_does_not_apply_to_lat_lon_columns(tmp_path):
    path = write_csv(tmp_path / "s.csv", "code,name,lat,lon\nA1,One,51.5072,-0.1276\n")
    sites = read_sites(path, assume_crs="EPSG:27700")
    np.testing.assert_allclose(sites.geometry.y, TO_BNG.transform(-0.1276, 51.5072)[1])


def test_without_an_id_column_ids_come_from_kind_and_rounded_coordinates(tmp_path):
    path = write_csv(
        tmp_path / "new.csv",
        "kind,x,y\nnew,530000.4,180000.2\nnew,531000,181000\nclinic,530000.6,180001.9\n",
    )
    sites = read_sites(path)
    assert sites["site_id"].tolist() == ["new-530000-180000", "new-531000-181000",
                                         "clinic-530001-180002"]  # fmt: skip
    assert sites["name"].tolist() == sites["site_id"].tolist()


def test_merge_tolerance(tmp_path):
    path = write_csv(
        tmp_path / "s.csv", "id,x,y\nA,530000,180000\nB,530000.5,180000\nC,530002,180000\n"
    )
    assert read_sites(path)["site_id"].tolist() == ["A", "C"]
    assert read_sites(path, merge_tolerance_m=0.1)["site_id"].tolist() == ["A", "B", "C"]


def test_one_id_at_two_locations_is_an_error(tmp_path):
    path = write_csv(tmp_path / "sites.csv", "id,x,y\nA,530000,180000\nA,535000,180000\nB,1,2\n")
    expected = (
        "site id A is used at 2 different locations (sites.csv row 2, sites.csv row 3); "
        "give each site its own id"
    )
    with pytest.raises(InputError) as err:
        read_sites(path)
    assert expected in str(err.value)

    sites = read_sites(path, errors="collect")
    assert findings(sites) == {"duplicate_site_id": expected}
    assert sites["site_id"].tolist() == ["A", "A", "B"]


def test_sites_far_from_the_study_area_are_dropped_and_counted(tmp_path, gp):
    path = write_csv(
        tmp_path / "sites.csv", "id,x,y\nIN,530500,180500\nNEAR,530500,181900\nFAR,530500,182100\n"
    )
    area = gpd.GeoDataFrame({"area_id": ["E01"]}, geometry=[box(530000, 180000, 531000, 181000)],
                            crs=27700)  # fmt: skip
    sites = read_sites([path, gp], study_area=area)

    # F001 lies in the square; F003 (531,922 m, 181,831 m) and F004 are 1.24 km from its corner.
    assert sites["site_id"].tolist() == ["IN", "NEAR", "F001"]
    assert findings(sites)["site_outside_study_area"] == (
        "dropped 3 site rows farther than 1,000 m from the study area "
        "(sites.csv 1, GPPractices.csv 2): FAR, F003, F004"
    )
    assert sites.attrs["load_report"]["stats"]["outside_study_area"] == 3
    assert read_sites(path, study_area=area, within_m=2000)["site_id"].tolist() == [
        "IN", "NEAR", "FAR",
    ]  # fmt: skip


def test_study_area_in_another_crs_or_as_a_bare_geometry(tmp_path):
    path = write_csv(tmp_path / "s.csv", "id,x,y\nIN,530500,180500\nFAR,540000,180000\n")
    area = gpd.GeoSeries([box(530000, 180000, 531000, 181000)], crs=27700).to_crs(4326)
    assert read_sites(path, study_area=area)["site_id"].tolist() == ["IN"]
    geometry = box(530000, 180000, 531000, 181000)
    assert read_sites(path, study_area=geometry)["site_id"].tolist() == ["IN"]


def test_vector_sites_with_polygons_and_missing_geometry(tmp_path):
    frame = gpd.GeoDataFrame(
        {"site_id": ["P", "Q", "R"], "name": ["Point", "Plot", "Nowhere"]},
        geometry=[Point(530000, 180000), box(531000, 180000, 531010, 180010), None],
        crs=27700,
    )
    path = tmp_path / "sites.gpkg"
    frame.to_file(path)
    sites = read_sites({"path": path, "kind": "new"})
    assert sites["site_id"].tolist() == ["P", "Q"]
    assert sites.geometry.iloc[1].equals(Point(531005, 180005))
    assert findings(sites) == {
        "site_without_coordinates": "sites.gpkg: skipped 1 row without geometry: R"
    }


def test_missing_columns_are_reported_together(tmp_path):
    a = write_csv(tmp_path / "a.csv", "id,x,y\nA,1,2\n")
    b = write_csv(tmp_path / "b.csv", "ref,where\nB,here\n")
    with pytest.raises(InputError) as err:
        read_sites([a, {"path": b, "name": "title"}])
    lines = str(err.value).splitlines()
    assert lines[0] == "Missing columns:"
    assert lines[1] == "  - b.csv has no column 'title' (name). Its columns are: ref, where"
    assert lines[2].startswith("  - b.csv: cannot tell which column holds the coordinates")


def test_a_dataframe_source_and_columns_named_like_the_output():
    frame = pd.DataFrame(
        {
            "site_id": [" a ", "b"],
            "name": ["A", "B"],
            "kind": ["New", None],
            "source": ["survey", "survey"],
            "x": [530000, None],
            "y": [180000, None],
        },
        index=[10, 11],
    )
    sites = read_sites(frame)
    assert list(sites.columns) == [
        "site_id", "name", "kind", "kinds", "merged_rows", "source", "merged_ids",
        "source_in_file", "x", "y",
        "geometry",
    ]  # fmt: skip
    assert sites[["site_id", "kind", "source"]].iloc[0].tolist() == ["a", "new", "<DataFrame>"]
    assert sites.attrs["source"] == "<DataFrame>"
    assert findings(sites) == {
        "site_without_coordinates": "<DataFrame>: skipped 1 row without coordinates in "
        "columns x, y: b"
    }


def test_a_malformed_nhs_file_is_an_input_error(tmp_path):
    path = tmp_path / "Broken.csv"
    path.write_bytes("A\xacB\r\n1\xac2\xac3\r\n".encode("latin-1"))
    with pytest.raises(InputError, match=r"^Broken\.csv cannot be read as an NHS Choices file"):
        read_sites(path)
