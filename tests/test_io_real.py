"""The loaders on the real public files in ../shared/data, read as published."""

from __future__ import annotations

import csv
import re

import pytest

from polygeo.io import read_areas, read_nhs_choices, read_sites
from polygeo.validate import validate

pytestmark = pytest.mark.shared_data

NHS_FILES = ("GPPractices.csv", "Hospital.csv", "Clinics.csv")


@pytest.fixture(scope="module")
def london(shared_data):
    return read_areas(
        shared_data / "london" / "london-2011-lsoa-gen20.shp",
        shared_data / "london" / "london-mid2020-pop.csv",
        id="LSOA11CD",
        population_column="Persons_All-Ages",
        group="LAD11NM",
    )


@pytest.fixture(scope="module")
def london_sites(shared_data, london):
    return read_sites([shared_data / "nhs" / f for f in NHS_FILES], study_area=london)


def test_london_areas(london):
    assert len(london) == 4835
    assert london["population"].sum() == 9_002_488
    assert london["area_id"].is_unique
    assert london["group"].nunique() == 33
    assert london.crs.to_epsg() == 27700
    assert london.attrs["load_report"]["findings"] == []


def test_london_nhs_sites_and_validation(london, london_sites):
    assert 900 <= len(london_sites) <= 1800
    assert london_sites["site_id"].is_unique
    assert set(london_sites["kind"]) == {"gp", "hospital", "clinic"}
    report = validate(london, london_sites)
    assert report.ok, report.format_text()
    assert report.to_dict()["sites"]["count"] == len(london_sites)
    assert {f.code for f in report.warnings} == {
        "site_without_coordinates",
        "site_outside_study_area",
        "implausible_population",
        "merged_site_ids",
    }
    warnings = {f.code: f for f in report.warnings}
    pop = london.set_index("area_id")["population"]
    assert warnings["implausible_population"].examples == sorted(
        pop[(pop < 400) | (pop > 12_000)].index
    )
    several = london_sites["merged_ids"].str.contains(";")
    assert warnings["merged_site_ids"].count == several.sum() > 0


def test_nhs_files_as_published(shared_data):
    """Row counts and rows with coordinates as the data README states them."""
    gp = read_nhs_choices(shared_data / "nhs" / "GPPractices.csv")
    assert len(gp) == 8288
    assert (gp["Latitude"] != "").sum() == 3964
    assert len(read_nhs_choices(shared_data / "nhs" / "Hospital.csv")) == 2918
    assert len(read_nhs_choices(shared_data / "nhs" / "Clinics.csv")) == 5462


def test_nhs_rows_without_coordinates_are_counted(shared_data, london_sites):
    expected = 0
    for name in NHS_FILES:
        with open(shared_data / "nhs" / name, encoding="latin-1", newline="") as f:
            rows = list(csv.reader(f, delimiter="\xac"))
        lat = rows[0].index("Latitude")
        expected += sum(1 for r in rows[1:] if not r[lat].strip())
    stats = london_sites.attrs["load_report"]["stats"]
    assert stats["skipped_without_coordinates"] == expected


def test_england_points_table(shared_data):
    areas = read_areas(
        points=shared_data / "england" / "lsoa11-england.csv",
        population_column="population_mid2017",
        group="lad22nm",
        keep=["imd_decile"],
    )
    assert len(areas) == 32_844
    assert areas["population"].sum() == 55_619_430
    assert (areas.geometry.geom_type == "Point").all()
    assert areas["imd_decile"].between(1, 10).all()
    assert areas.attrs["load_report"]["findings"] == []


def test_raw_ons_population_with_thousands_separators_and_la_rows(shared_data):
    raw = shared_data / "england" / "lsoa11-population-mid2017.csv"
    with open(raw, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    lsoa = re.compile(r"[EW]01\d{6}")
    not_areas = [r["Area Codes"] for r in rows if not lsoa.fullmatch(r["Area Codes"].strip())]
    welsh = [r for r in rows if r["Area Codes"].startswith("W01")]
    assert any("," in r["All Ages"] for r in rows)  # the file really has separators

    areas = read_areas(
        points=shared_data / "england" / "lsoa11-england.csv",
        population=raw,
        population_id="Area Codes",
        population_column="All Ages",
    )

    assert len(areas) == 32_844
    assert areas["population"].sum() == 55_619_430
    report = {f["code"]: f for f in areas.attrs["load_report"]["findings"]}
    assert set(report) == {"ignored_non_area_rows", "population_without_area"}
    assert report["ignored_non_area_rows"]["count"] == len(not_areas)
    assert report["ignored_non_area_rows"]["examples"] == not_areas[:5]
    assert areas.attrs["load_report"]["stats"]["ignored_non_area_rows"] == len(not_areas)
    assert report["population_without_area"]["count"] == len(welsh)


def test_stroke_units(shared_data):
    path = shared_data / "england" / "stroke-units-2022.csv"
    with open(path, newline="") as f:
        postcodes = [r["Postcode"] for r in csv.DictReader(f)]
    sites = read_sites(path, id="Postcode", name="Hospital_name", kind="hospital")
    assert len(sites) == 142
    assert sites["site_id"].tolist() == postcodes
    assert sites["site_id"].iloc[0] == "RM70AG"
    assert (sites["merged_rows"] == 1).all()
