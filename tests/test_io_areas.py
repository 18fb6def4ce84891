"""read_areas on small files the tests write: formats, published quirks, every finding."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest
from pyproj import Transformer
from shapely.geometry import Polygon, box

from polygeo.errors import CRSError, InputError
from polygeo.io import read_areas

CODES = ["E01000001", "E01000002", "E01000003", "E01000004"]
POPS = [1500, 1632, 1700, 1800]


def squares(crs: str | None = "EPSG:27700") -> gpd.GeoDataFrame:
    """Four 1 km squares in a row, with the columns ONS publishes."""
    geoms = [box(530_000 + 1000 * i, 180_000, 531_000 + 1000 * i, 181_000) for i in range(4)]
    return gpd.GeoDataFrame(
        {"LSOA11CD": CODES, "LAD11NM": ["Camden", "Camden", "Hackney", "Hackney"]},
        geometry=geoms,
        crs=crs,
    )


def write_text(path, text: str, *, bom: bool = False, crlf: bool = False, encoding="utf-8"):
    data = text.replace("\n", "\r\n") if crlf else text
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data.encode(encoding))
    return path


def population_csv(tmp_path, rows=None, name="pop.csv", **kw):
    rows = rows if rows is not None else list(zip(CODES, POPS, strict=True))
    body = "".join(f'{c},"{p:,}"\n' if isinstance(p, int) else f"{c},{p}\n" for c, p in rows)
    return write_text(tmp_path / name, "LSOA11CD,Persons\n" + body, **kw)


def codes_of(areas: gpd.GeoDataFrame) -> list[str]:
    return [f["code"] for f in areas.attrs["load_report"]["findings"]]


def messages(areas: gpd.GeoDataFrame) -> dict[str, str]:
    return {f["code"]: f["message"] for f in areas.attrs["load_report"]["findings"]}


@pytest.fixture
def pop(tmp_path):
    return population_csv(tmp_path)


# -- formats ------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".shp", ".gpkg", ".geojson", ".parquet"])
def test_reads_every_boundary_format_into_the_contract(tmp_path, pop, suffix):
    path = tmp_path / f"areas{suffix}"
    frame = squares()
    if suffix == ".geojson":
        frame = frame.to_crs("EPSG:4326")  # GeoJSON is WGS84 by definition
    if suffix == ".parquet":
        frame.to_parquet(path)
    else:
        frame.to_file(path)

    areas = read_areas(path, pop, population_column="Persons", group="LAD11NM")

    assert list(areas.columns) == [
        "area_id", "population", "origin_x", "origin_y", "group", "LAD11NM", "geometry",
    ]  # fmt: skip
    assert areas.crs.to_epsg() == 27700
    assert isinstance(areas.index, pd.RangeIndex)
    assert areas["area_id"].tolist() == CODES
    assert areas["population"].dtype == np.float64
    assert areas["population"].tolist() == POPS
    assert areas["group"].tolist() == ["Camden", "Camden", "Hackney", "Hackney"]
    np.testing.assert_allclose(areas["origin_x"], [530_500, 531_500, 532_500, 533_500], atol=0.01)
    np.testing.assert_allclose(areas["origin_y"], 180_500, atol=0.01)
    assert areas.attrs["load_report"]["findings"] == []
    assert areas.attrs["source"] == f"{path}, {pop}"


def test_geodataframe_and_dataframe_inputs(pop):
    table = pd.DataFrame({"LSOA11CD": CODES, "Persons": POPS})
    areas = read_areas(squares(), table, population_column="Persons")
    assert areas["population"].sum() == sum(POPS)


def test_population_csv_with_bom_crlf_thousands_and_stray_whitespace(tmp_path):
    text = " LSOA11CD , Persons \n"
    text += "".join(f'  {c} ,"{p:,}"\n' for c, p in zip(CODES, POPS, strict=True))
    pop = write_text(tmp_path / "pop.csv", text, bom=True, crlf=True)

    areas = read_areas(squares(), pop, id="LSOA11CD", population_column="Persons")

    assert areas["area_id"].tolist() == CODES
    assert areas["population"].tolist() == POPS
    assert areas.attrs["load_report"]["findings"] == []


def test_rows_ending_in_a_separator_keep_their_codes(tmp_path):
    text = "LSOA11CD,Persons\n" + "".join(f"{c},{p},\n" for c, p in zip(CODES, POPS, strict=True))
    areas = read_areas(squares(), write_text(tmp_path / "pop.csv", text))
    assert areas["population"].tolist() == POPS


def test_a_ragged_csv_is_an_input_error(tmp_path):
    pop = write_text(tmp_path / "pop.csv", "LSOA11CD,Persons\nE01000001,1\nE01000002,2,3\n")
    with pytest.raises(InputError, match=r"^pop\.csv cannot be read as a table: .*line 3"):
        read_areas(squares(), pop)


def test_codes_with_whitespace_in_the_boundaries_are_stripped(pop):
    frame = squares()
    frame["LSOA11CD"] = [f" {c}\t" for c in CODES]
    assert read_areas(frame, pop)["area_id"].tolist() == CODES


def test_population_xlsx_on_a_named_sheet_below_title_rows(tmp_path):
    book = openpyxl.Workbook()
    book.active.title = "Notes"
    book.active.append(["About this file"])
    sheet = book.create_sheet("Mid-2020")
    sheet.append(["Population estimates, mid-2020"])
    sheet.append([])
    sheet.append(["LSOA Code", "All Ages"])
    for code, value in zip(CODES, POPS, strict=True):
        sheet.append([code, value if value != 1632 else "1,632"])
    path = tmp_path / "pop.xlsx"
    book.save(path)

    areas = read_areas(squares(), path, sheet="Mid-2020", population_id="LSOA Code")

    assert areas["population"].tolist() == POPS

    with pytest.raises(InputError) as err:
        read_areas(squares(), path, sheet="Mid-2021", population_id="LSOA Code")
    assert str(err.value) == "pop.xlsx has no sheet 'Mid-2021'; its sheets are: Notes, Mid-2020"


def test_population_column_and_id_are_found_by_common_names(tmp_path):
    text = "Area Codes,All Ages\n" + "".join(
        f'{c},"{p:,}"\n' for c, p in zip(CODES, POPS, strict=True)
    )
    pop = write_text(tmp_path / "ons.csv", text)
    assert read_areas(squares(), pop)["population"].tolist() == POPS


# -- local-authority rows and joins ------------------------------------------


def test_local_authority_rows_are_ignored_and_counted(tmp_path):
    rows = [("E09000007", 270_029), *zip(CODES, POPS, strict=True), ("E92000001", 56_000_000)]
    pop = population_csv(tmp_path, rows)

    areas = read_areas(squares(), pop)

    assert areas["population"].tolist() == POPS
    assert codes_of(areas) == ["ignored_non_area_rows"]
    assert messages(areas)["ignored_non_area_rows"] == (
        "pop.csv: ignored 2 rows whose code in column LSOA11CD is not an area code like "
        "E01000001 (local-authority or other totals): E09000007, E92000001"
    )
    assert areas.attrs["load_report"]["stats"]["ignored_non_area_rows"] == 2


def test_area_pattern_decides_which_codes_are_areas(tmp_path):
    pop = population_csv(tmp_path, [*zip(CODES, POPS, strict=True), ("Total", 6632)])
    areas = read_areas(squares(), pop, area_pattern=r"E01\d{6}")
    assert messages(areas)["ignored_non_area_rows"] == (
        "pop.csv: ignored 1 row whose code in column LSOA11CD does not match 'E01\\\\d{6}': Total"
    )


def test_row_numbers_count_the_ignored_rows_too(tmp_path):
    rows = [("E09000007", 9), *zip(CODES, POPS, strict=True), ("E01000004", -3)]
    areas = read_areas(squares(), population_csv(tmp_path, rows), errors="collect")
    assert messages(areas)["duplicate_area_id"] == (
        "pop.csv: area E01000004 appears 2 times in column LSOA11CD (rows 6, 7); "
        "keep one row per area"
    )


def test_population_rows_without_an_area_are_a_warning(tmp_path):
    pop = population_csv(tmp_path, [*zip(CODES, POPS, strict=True), ("W01000001", 1200)])
    areas = read_areas(squares(), pop)
    assert codes_of(areas) == ["population_without_area"]
    assert messages(areas)["population_without_area"] == (
        "pop.csv: 1 row in column LSOA11CD matches no area in <GeoDataFrame> and is not used: "
        "W01000001"
    )


def test_areas_without_a_population_row_are_an_error(tmp_path):
    pop = population_csv(tmp_path, list(zip(CODES, POPS, strict=True))[:2])
    with pytest.raises(InputError) as err:
        read_areas(squares(), pop)
    expected = (
        "pop.csv: 2 areas from <GeoDataFrame> have no row in column LSOA11CD: "
        "E01000003, E01000004; add their population or remove them"
    )
    assert expected in str(err.value)
    assert "errors='collect'" in str(err.value)

    areas = read_areas(squares(), pop, errors="collect")
    assert messages(areas)["area_without_population"] == expected
    assert areas["population"].isna().tolist() == [False, False, True, True]


# -- bad population values ----------------------------------------------------


def test_duplicate_and_negative_population_raise_once_naming_both(tmp_path):
    rows = list(zip(CODES, POPS, strict=True))
    rows[1] = ("E01000002", -5)
    rows.append(("E01000001", 1500))
    pop = population_csv(tmp_path, rows, name="london-pop.csv")

    with pytest.raises(InputError) as err:
        read_areas(squares(), pop, population_column="Persons")

    text = str(err.value)
    assert text.startswith("read_areas found 2 problems in the input:\n")
    assert (
        "  - london-pop.csv: area E01000001 appears 2 times in column LSOA11CD (rows 2, 6); "
        "keep one row per area\n"
    ) in text
    assert (
        "  - london-pop.csv: negative population -5 for area E01000002 in column Persons (row 3)\n"
    ) in text


def test_missing_and_non_numeric_population(tmp_path):
    rows = [("E01000001", ""), ("E01000002", ":"), ("E01000003", 1700), ("E01000004", "x")]
    pop = population_csv(tmp_path, rows)

    areas = read_areas(squares(), pop, errors="collect")

    assert messages(areas) == {
        "missing_population": "pop.csv: population is missing for area E01000001 in column "
        "Persons (row 2)",
        "non_numeric_population": "pop.csv: 2 populations in column Persons are not numbers: "
        "E01000002 ':' (row 3), E01000004 'x' (row 5)",
    }
    assert areas["population"].isna().tolist() == [True, True, False, True]


def test_single_non_numeric_population_message(tmp_path):
    rows = [*zip(CODES[:3], POPS[:3], strict=True), ("E01000004", "1.8k")]
    areas = read_areas(squares(), population_csv(tmp_path, rows), errors="collect")
    assert messages(areas)["non_numeric_population"] == (
        "pop.csv: population '1.8k' for area E01000004 in column Persons is not a number (row 5)"
    )


def test_population_read_from_the_boundaries_themselves(tmp_path):
    frame = squares()
    frame["population"] = [10.0, -1.0, np.nan, 5.0]
    path = tmp_path / "areas.gpkg"
    frame.to_file(path)

    areas = read_areas(path, errors="collect")

    assert messages(areas) == {
        "missing_population": "areas.gpkg: population is missing for area E01000003 in column "
        "population (feature 3)",
        "negative_population": "areas.gpkg: negative population -1 for area E01000002 in column "
        "population (feature 2)",
    }


def test_duplicate_ids_in_the_boundaries(tmp_path, pop):
    frame = pd.concat([squares(), squares().iloc[[0]]], ignore_index=True)
    path = tmp_path / "areas.gpkg"
    frame.to_file(path)
    areas = read_areas(path, pop, errors="collect")
    assert messages(areas)["duplicate_area_id"] == (
        "areas.gpkg: area E01000001 appears 2 times in column LSOA11CD (features 1, 5); "
        "keep one feature per area"
    )
    assert len(areas) == 5  # nothing dropped: the user chooses which to keep


def test_blank_area_codes_are_an_error(tmp_path, pop):
    frame = squares()
    frame.loc[2, "LSOA11CD"] = "  "
    areas = read_areas(frame, pop, errors="collect")
    assert messages(areas)["missing_area_id"] == (
        "<GeoDataFrame>: 1 row without an area code in column LSOA11CD (index 2); "
        "give every area its code"
    )


# -- geometry -----------------------------------------------------------------


def test_bow_tie_polygon_is_repaired_and_reported(tmp_path, pop):
    frame = squares()
    bow_tie = Polygon([(532_000, 180_000), (533_000, 181_000), (533_000, 180_000),
                       (532_000, 181_000)])  # fmt: skip
    frame.loc[2, "geometry"] = bow_tie
    path = tmp_path / "areas.shp"
    frame.to_file(path)

    areas = read_areas(path, pop)

    assert codes_of(areas) == ["invalid_geometry_repaired"]
    assert messages(areas)["invalid_geometry_repaired"] == (
        "areas.shp: repaired the invalid geometry of area E01000003 "
        "(feature 3: Self-intersection[532500 180500]) with shapely.make_valid"
    )
    repaired = areas.geometry.iloc[2]
    assert repaired.is_valid and repaired.geom_type == "MultiPolygon"
    assert repaired.area == pytest.approx(500_000)


def test_empty_geometry_is_an_error(tmp_path, pop):
    frame = squares()
    frame.loc[1, "geometry"] = None
    path = tmp_path / "areas.gpkg"
    frame.to_file(path)

    with pytest.raises(InputError) as err:
        read_areas(path, pop)
    expected = (
        "areas.gpkg: area E01000002 (feature 2) has no geometry; give it a location or remove it"
    )
    assert expected in str(err.value)

    areas = read_areas(path, pop, errors="collect")
    assert messages(areas)["empty_geometry"] == expected
    assert np.isnan(areas["origin_x"].iloc[1])


def test_a_file_without_crs_is_a_crs_error_naming_it(tmp_path, pop):
    path = tmp_path / "noprj.shp"
    with pytest.warns(UserWarning, match="'crs' was not provided"):
        squares(crs=None).to_file(path)
    assert not path.with_suffix(".prj").exists()

    with pytest.raises(CRSError, match=r"^noprj\.shp has no coordinate reference system"):
        read_areas(path, pop)

    areas = read_areas(path, pop, assume_crs="EPSG:27700")
    assert areas.crs.to_epsg() == 27700


def test_other_crs_are_projected_to_the_working_crs(tmp_path, pop):
    path = tmp_path / "wgs84.gpkg"
    squares().to_crs("EPSG:4326").to_file(path)
    areas = read_areas(path, pop)
    assert areas.crs.to_epsg() == 27700
    np.testing.assert_allclose(areas["origin_x"].iloc[0], 530_500, atol=0.5)


# -- columns ------------------------------------------------------------------


def test_a_missing_column_lists_the_columns_and_suggests_the_closest(tmp_path, pop):
    with pytest.raises(InputError) as err:
        read_areas(squares(), pop, population_column="Person")
    assert str(err.value) == (
        "pop.csv has no column 'Person' (population_column); did you mean 'Persons'? "
        "Its columns are: LSOA11CD, Persons"
    )


def test_every_missing_column_is_reported_at_once(tmp_path, pop):
    with pytest.raises(InputError) as err:
        read_areas(squares(), pop, id="LSOA21CD", group="LAD22NM", keep=["imd"])
    lines = str(err.value).splitlines()
    assert lines[0] == "Missing columns:"
    assert lines[1] == (
        "  - <GeoDataFrame> has no column 'LSOA21CD' (id); did you mean 'LSOA11CD'? "
        "Its columns are: LSOA11CD, LAD11NM"
    )
    assert lines[2] == (
        "  - <GeoDataFrame> or pop.csv has no column 'LAD22NM' (group); did you mean 'LAD11NM'? "
        "Its columns are: LSOA11CD, LAD11NM, Persons"
    )
    assert lines[3].startswith("  - <GeoDataFrame> or pop.csv has no column 'imd' (keep).")
    assert len(lines) == 4


def test_population_id_that_cannot_be_found(tmp_path):
    pop = write_text(tmp_path / "pop.csv", "zone,Persons\nE01000001,5\n")
    with pytest.raises(InputError) as err:
        read_areas(squares(), pop)
    assert str(err.value) == (
        "pop.csv: cannot tell which column holds the area codes (looked for LSOA11CD, area_id, "
        "area codes, area code, code); name it with population_id=. Its columns are: zone, Persons"
    )


def test_keep_columns_come_from_the_boundaries_or_the_population_file(tmp_path):
    text = "LSOA11CD,Persons,imd_decile\n" + "".join(
        f"{c},{p},{d}\n" for c, p, d in zip(CODES, POPS, [1, 5, 9, 10], strict=True)
    )
    pop = write_text(tmp_path / "pop.csv", text)
    areas = read_areas(squares(), pop, keep=["imd_decile", "LAD11NM"])
    assert areas["imd_decile"].tolist() == [1, 5, 9, 10]
    assert areas["LAD11NM"].tolist() == ["Camden", "Camden", "Hackney", "Hackney"]
    assert "group" not in areas


def test_bad_arguments(pop):
    with pytest.raises(InputError, match="one of them"):
        read_areas(population=pop)
    with pytest.raises(InputError, match="errors must be 'raise' or 'collect'"):
        read_areas(squares(), pop, errors="ignore")
    with pytest.raises(InputError, match="does not exist"):
        read_areas("no-such-file.shp", pop)


# -- point tables -------------------------------------------------------------


def test_points_table_with_lon_lat_is_read_as_wgs84(tmp_path):
    text = "LSOA11CD,Longitude,Latitude,population\n"
    text += "E01000001,-0.1276,51.5072,1500\nE01000002,-0.0877,51.5055,1600\n"
    areas = read_areas(points=write_text(tmp_path / "pts.csv", text))
    assert areas.crs.to_epsg() == 27700
    assert (areas.geometry.geom_type == "Point").all()
    np.testing.assert_allclose(areas["origin_x"], areas.geometry.x)
    expected = Transformer.from_crs(4326, 27700, always_xy=True).transform(-0.1276, 51.5072)
    np.testing.assert_allclose(areas[["origin_x", "origin_y"]].iloc[0], expected)


def test_points_table_x_y_are_in_the_working_crs(tmp_path):
    text = "LSOA11CD,x,y,population,imd_decile\nE01000001,530000.5,180000,10,3\n"
    areas = read_areas(points=write_text(tmp_path / "pts.csv", text), keep=["imd_decile"])
    assert areas[["origin_x", "origin_y"]].iloc[0].tolist() == [530_000.5, 180_000]
    assert areas["imd_decile"].tolist() == [3]


def test_points_table_in_degrees_named_x_y_needs_a_crs(tmp_path):
    text = "LSOA11CD,x,y,population\nE01000001,-0.1276,51.5072,10\n"
    path = write_text(tmp_path / "pts.csv", text)
    with pytest.raises(InputError, match="look like longitude/latitude degrees"):
        read_areas(points=path)
    areas = read_areas(points=path, assume_crs="EPSG:4326")
    assert areas["origin_x"].iloc[0] == pytest.approx(530_043, abs=1)


def test_points_without_coordinates_are_empty_geometries(tmp_path):
    text = "LSOA11CD,easting,northing,population\nE01000001,530000,180000,10\nE01000002,,,20\n"
    areas = read_areas(points=write_text(tmp_path / "pts.csv", text), errors="collect")
    assert messages(areas)["empty_geometry"] == (
        "pts.csv: area E01000002 (row 3) has no coordinates in columns easting, northing; "
        "give it a location or remove it"
    )


def test_given_origin_columns_are_the_travel_origins(tmp_path, pop):
    frame = squares()
    frame["pwc_x"], frame["pwc_y"] = [530_100, 531_100, 532_100, 533_100], 180_900
    areas = read_areas(frame, pop, origin_x="pwc_x", origin_y="pwc_y")
    assert areas["origin_x"].tolist() == [530_100, 531_100, 532_100, 533_100]
    assert areas["origin_y"].tolist() == [180_900] * 4
