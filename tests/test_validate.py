"""validate(): loader findings plus checks of the frames, with exact messages."""

from __future__ import annotations

import csv
import json
import math

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Point, Polygon, box

from polygeo.errors import InputError
from polygeo.io import read_areas, read_sites
from polygeo.validate import FINDING_CODES, Finding, ValidationReport, validate

CODES = ["E01000001", "E01000002", "E01000003", "E01000004"]


def areas_frame(population=(1100.0, 1200.0, 1300.0, 1400.0), ids=CODES, crs=27700):
    geoms = [box(530_000 + 1000 * i, 180_000, 531_000 + 1000 * i, 181_000) for i in range(4)]
    return gpd.GeoDataFrame(
        {"area_id": list(ids), "population": list(population)}, geometry=geoms, crs=crs
    )


def sites_frame(ids=("S1", "S2"), points=((530_500, 180_500), (532_500, 180_500)), crs=27700):
    return gpd.GeoDataFrame(
        {"site_id": list(ids), "kind": ["gp", "hospital"][: len(ids)], "merged_rows": 1},
        geometry=[Point(p) for p in points],
        crs=crs,
    )


def by_code(findings: list[Finding]) -> dict[str, Finding]:
    return {f.code: f for f in findings}


# -- the real population file with a duplicate and a negative -----------------


@pytest.fixture
def broken_population(shared_data, tmp_path):
    """The real London population file with one area twice and one negative count."""
    source = shared_data / "london" / "london-mid2020-pop.csv"
    with source.open(newline="", encoding="utf-8-sig") as f:
        header, *body = list(csv.reader(f))
    column = header.index("Persons_All-Ages")
    duplicate, negative = body[10][0], body[20][0]
    body[20][column] = "-5"
    body.append(list(body[10]))
    path = tmp_path / "london-mid2020-pop.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([header, *body])
    # File rows as a spreadsheet numbers them: the header is row 1.
    rows = {"duplicate": (10 + 2, len(body) + 1), "negative": 20 + 2}
    return path, duplicate, negative, rows


@pytest.mark.shared_data
def test_duplicate_and_negative_population_in_the_real_file(shared_data, broken_population):
    path, duplicate, negative, rows = broken_population
    boundaries = shared_data / "london" / "london-2011-lsoa-gen20.shp"
    options = {"population_column": "Persons_All-Ages", "group": "LAD11NM"}
    first, second = rows["duplicate"]
    expected_duplicate = (
        f"london-mid2020-pop.csv: area {duplicate} appears 2 times in column LSOA11CD "
        f"(rows {first}, {second}); keep one row per area"
    )
    expected_negative = (
        f"london-mid2020-pop.csv: negative population -5 for area {negative} "
        f"in column Persons_All-Ages (row {rows['negative']})"
    )

    with pytest.raises(InputError) as err:
        read_areas(boundaries, path, **options)
    assert expected_duplicate in str(err.value)
    assert expected_negative in str(err.value)

    areas = read_areas(boundaries, path, errors="collect", **options)
    report = validate(areas)
    assert not report.ok
    assert [(f.code, f.message) for f in report.errors] == [
        ("duplicate_area_id", expected_duplicate),
        ("negative_population", expected_negative),
    ]
    assert by_code(report.errors)["duplicate_area_id"].examples == [duplicate]
    assert by_code(report.errors)["negative_population"].count == 1
    assert len(areas) == 4835 and areas["area_id"].is_unique  # the first row is used


# -- report shape -------------------------------------------------------------


def test_to_dict_has_the_cli_json_shape():
    areas = areas_frame()
    areas["group"] = ["A", "A", "B", "B"]
    report = validate(areas, sites_frame())
    data = report.to_dict()

    assert json.loads(json.dumps(data)) == data
    assert list(data) == ["areas", "sites", "errors", "warnings"]
    assert data["areas"] == {
        "count": 4, "population": 5000, "groups": 2, "crs": "EPSG:27700", "source": None,
    }  # fmt: skip
    assert isinstance(data["areas"]["population"], int)
    assert data["sites"] == {
        "count": 2,
        "by_kind": {"gp": 1, "hospital": 1},
        "merged_rows": 2,
        "skipped_without_coordinates": 0,
        "outside_study_area": 0,
    }
    assert data["errors"] == [] and data["warnings"] == []
    assert report.ok


def test_to_dict_without_sites_and_with_fractional_population():
    data = validate(areas_frame(population=(0.5, 1, 1, 1))).to_dict()
    assert data["sites"] is None
    assert data["areas"]["population"] == 3.5
    assert data["areas"]["groups"] is None


def test_findings_serialise_with_code_message_count_examples():
    ids = [f"E0100000{i}" for i in range(1, 8)]
    report = validate(areas_frame(population=(-1, -2, -3, -4), ids=ids[:4]))
    (finding,) = report.to_dict()["errors"]
    assert finding == {
        "code": "negative_population",
        "message": "areas: negative population for 4 areas in column population: "
        "E01000001 -1, E01000002 -2, E01000003 -3, E01000004 -4",
        "count": 4,
        "examples": ids[:4],
    }


def test_format_text(tmp_path):
    sites = read_sites(_csv(tmp_path, "id,x,y\nS1,530500,180500\nS1,530500,180500\n"))
    text = validate(areas_frame(population=(1001, 2002, -3, 4004)), sites).format_text()
    assert text.splitlines() == [
        "Validation FAILED: 1 error, 0 warnings",
        "Areas: 4, population 7,004, CRS EPSG:27700",
        "Sites: 1 (site 1) from 2 input rows; 0 skipped without coordinates, "
        "0 outside the study area",
        "Errors:",
        "  - [negative_population] areas: negative population -3 for area E01000003 in column "
        "population",
    ]


def test_raise_if_errors():
    report = validate(areas_frame(population=(1, np.nan, 3, 4)))
    with pytest.raises(InputError) as err:
        report.raise_if_errors()
    assert str(err.value) == (
        "the input has 1 error:\n  - [missing_population] areas: population is missing for "
        "1 area in column population: E01000002"
    )
    validate(areas_frame()).raise_if_errors()


def test_empty_report_is_ok():
    assert ValidationReport().ok


# -- checks of frames built by hand --------------------------------------------


def test_area_frame_checks_with_exact_messages():
    areas = areas_frame(population=(100, "n/a", -5, None), ids=CODES[:3] + [CODES[0]])
    areas["population"] = areas["population"].astype(object)
    areas.loc[1, "geometry"] = None

    report = validate(areas)

    assert [(f.code, f.message) for f in report.errors] == [
        ("duplicate_area_id", "areas: area E01000001 appears 2 times in column area_id; "
         "keep one row per area"),
        ("missing_population", "areas: population is missing for 1 area in column "
         "population: E01000001"),
        ("non_numeric_population", "areas: 1 population in column population is not a "
         "number: E01000002 'n/a'"),
        ("negative_population", "areas: negative population -5 for area E01000003 in column "
         "population"),
        ("empty_geometry", "areas: 1 area without geometry: E01000002; give them a location "
         "or remove them"),
    ]  # fmt: skip


def test_blank_ids_missing_groups_invalid_geometry_and_crs():
    areas = areas_frame(ids=["E01000001", " ", "E01000003", "E01000004"], crs=4326)
    areas["group"] = ["A", "", "B", None]
    areas.loc[3, "geometry"] = Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])
    report = validate(areas)
    assert [(f.code, f.message) for f in report.errors] == [
        ("missing_area_id", "areas: 1 row without an area code in column area_id (index 1)"),
        ("crs_not_metric", "areas: CRS EPSG:4326 is not a projected CRS in metres; project "
         "them with polygeo.crs.to_metric"),
    ]  # fmt: skip
    assert [(f.code, f.message) for f in report.warnings] == [
        ("invalid_geometry", "areas: 1 area with an invalid geometry: E01000004; repair with "
         "shapely.make_valid (read_areas does)"),
        ("missing_group", "areas: 2 areas without a group in column group: , E01000004"),
    ]  # fmt: skip


def test_missing_columns_and_empty_frames():
    bare = gpd.GeoDataFrame({"code": ["a"]}, geometry=[Point(0, 0)], crs=27700)
    report = validate(bare, bare)
    assert [f.message for f in report.errors] == [
        "areas: no column 'area_id', 'population' (columns: code, geometry); read them with "
        "polygeo.io.read_areas",
        "sites: no column 'site_id' (columns: code, geometry); read them with "
        "polygeo.io.read_sites",
    ]
    report = validate(areas_frame().iloc[:0], sites_frame().iloc[:0])
    assert report.codes() == ["no_areas", "no_sites"]


def test_site_frame_checks():
    sites = sites_frame(ids=("S1", "S1"), points=((530_500, 180_500), (545_000, 180_500)))
    report = validate(areas_frame(), sites)
    assert [(f.code, f.message) for f in report.errors] == [
        ("duplicate_site_id", "sites: 1 site id used by more than one site in column site_id: "
         "S1 (2 sites); give each site its own id"),
    ]  # fmt: skip
    assert [(f.code, f.message) for f in report.warnings] == [
        ("site_outside_study_area", "sites: 1 site farther than 1,000 m from every area: S1; "
         "drop them, or pass study_area= to read_sites"),
    ]  # fmt: skip
    assert validate(areas_frame(), sites, study_area_distance_m=math.inf).warnings == []
    assert validate(areas_frame(), sites, study_area_distance_m=20_000).warnings == []


def test_the_far_site_check_uses_the_distance_read_sites_used(tmp_path):
    path = _csv(tmp_path, "id,x,y\nNEAR,530500,180500\nFAR,545000,180500\n")
    sites = read_sites(path, study_area=areas_frame(), within_m=20_000)
    assert sites["site_id"].tolist() == ["NEAR", "FAR"]
    assert validate(areas_frame(), sites).ok
    assert validate(areas_frame(), sites).warnings == []
    assert validate(areas_frame(), sites, study_area_distance_m=1000).codes() == [
        "site_outside_study_area"
    ]


def test_sites_in_another_crs_and_sites_without_id_or_geometry():
    report = validate(areas_frame(), sites_frame().to_crs(4326))
    assert [f.message for f in report.errors] == [
        "sites are in EPSG:4326 but areas are in EPSG:27700; project both to one CRS, "
        "e.g. sites.to_crs(areas.crs)"
    ]
    sites = sites_frame(ids=("S1", ""))
    sites.loc[0, "geometry"] = None
    assert [f.message for f in validate(areas_frame(), sites).errors] == [
        "sites: 1 site without an id in column site_id (index 1)",
        "sites: 1 site without geometry: S1; give them a location or remove them",
    ]


# -- loader findings against the frame as it is now -------------------------


def _csv(tmp_path, text, name="sites.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _population(tmp_path, rows):
    body = "".join(f"{c},{p}\n" for c, p in rows)
    return _csv(tmp_path, "LSOA11CD,Persons\n" + body, name="pop.csv")


def test_loader_findings_fixed_in_the_frame_are_dropped(tmp_path):
    pop = _population(tmp_path, [("E01000001", 1001), ("E01000002", -5), ("E01000003", 1003),
                                 ("E01000004", 1004)])  # fmt: skip
    boundaries = areas_frame().rename(columns={"area_id": "LSOA11CD"}).drop(columns="population")
    areas = read_areas(boundaries, pop, errors="collect")
    assert validate(areas).codes() == ["negative_population"]

    areas.loc[1, "population"] = 1005.0
    assert validate(areas).ok


def test_loader_messages_are_kept_and_new_problems_found_in_the_frame(tmp_path):
    pop = _population(tmp_path, [("E01000001", 1), ("E01000002", 2), ("E01000003", 3)])
    boundaries = areas_frame().rename(columns={"area_id": "LSOA11CD"}).drop(columns="population")
    areas = read_areas(boundaries, pop, errors="collect")
    areas.loc[0, "population"] = np.nan  # a problem the loader never saw

    report = validate(areas)

    assert [(f.code, f.message) for f in report.errors] == [
        ("area_without_population", "pop.csv: area from <GeoDataFrame> has no row in column "
         "LSOA11CD: E01000004; add its population or remove it"),
        ("missing_population", "areas: population is missing for 1 area in column "
         "population: E01000001"),
    ]  # fmt: skip


def test_findings_that_never_reach_the_frame_are_kept(tmp_path):
    pop = _population(tmp_path, [("E92000001", 9), *((c, 1500) for c in CODES), ("W01000001", 2)])
    boundaries = areas_frame().rename(columns={"area_id": "LSOA11CD"}).drop(columns="population")
    report = validate(read_areas(boundaries, pop))
    assert report.ok
    assert report.codes() == ["ignored_non_area_rows", "population_without_area"]
    assert by_code(report.warnings)["ignored_non_area_rows"].examples == ["E92000001"]


def test_duplicate_site_ids_reported_once_with_the_loader_message(tmp_path):
    sites = read_sites(_csv(tmp_path, "id,x,y\nA,530500,180500\nA,531500,180500\n"),
                       errors="collect")  # fmt: skip
    report = validate(areas_frame(), sites)
    assert [(f.code, f.message) for f in report.errors] == [
        ("duplicate_site_id", "site id A is used at 2 different locations (sites.csv row 2, "
         "sites.csv row 3); give each site its own id"),
    ]  # fmt: skip


def test_every_code_emitted_is_a_documented_code(tmp_path):
    pop = _population(tmp_path, [("E92000001", 9), ("E01000001", "x"), ("E01000002", -1),
                                 ("E01000001", 1), ("W01000001", 2)])  # fmt: skip
    boundaries = areas_frame().rename(columns={"area_id": "LSOA11CD"}).drop(columns="population")
    boundaries.loc[3, "geometry"] = Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])
    boundaries.loc[2, "geometry"] = None
    areas = read_areas(boundaries, pop, errors="collect")
    path = _csv(tmp_path, "id,x,y\nA,530500,180500\nA,1000,1000\nB,,\n")
    sites = read_sites(path, errors="collect", study_area=areas, within_m=10)
    report = validate(areas, sites)
    assert set(report.codes()) == {
        "ignored_non_area_rows", "duplicate_area_id", "population_without_area",
        "area_without_population", "non_numeric_population", "negative_population",
        "invalid_geometry_repaired", "empty_geometry", "site_without_coordinates",
        "site_outside_study_area",
    }  # fmt: skip
    for finding in report.errors + report.warnings:
        assert finding.code in FINDING_CODES
        expected = report.errors if FINDING_CODES[finding.code] == "error" else report.warnings
        assert finding in expected
