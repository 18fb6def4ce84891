"""Every bad input of issue 11 gets a named InputError (exit 2), never a traceback,
and implausible data is caught by validate."""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from pyproj import Transformer
from tiny import write_tiny

from polygeo.errors import InputError
from polygeo.io import read_sites
from polygeo.pipeline import load_inputs, run_scenario
from polygeo.scenario import load_scenario

REPO = Path(__file__).resolve().parents[1]
TO_LONLAT = Transformer.from_crs(27700, 4326, always_xy=True)


def polygeo(*args: str, code: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = ["-c", code] if code else ["-m", "polygeo", *args]
    return subprocess.run(
        [sys.executable, *command], capture_output=True, text=True, env=env, timeout=300
    )


@pytest.fixture
def tiny(tmp_path) -> Path:
    return write_tiny(tmp_path)


def edit(scenario: Path, old: str, new: str) -> Path:
    text = scenario.read_text()
    assert old in text
    scenario.write_text(text.replace(old, new))
    return scenario


def load_error(scenario: Path) -> str:
    with pytest.raises(InputError) as info:
        load_inputs(load_scenario(scenario))
    return str(info.value)


def report_of(scenario: Path):
    return load_inputs(load_scenario(scenario)).report


def finding(report, code: str):
    found = [f for f in report.errors + report.warnings if f.code == code]
    assert found, report.format_text()
    return found[0]


# -- files that cannot be read ------------------------------------------------


def test_no_sites_is_a_named_error_exit_2(tiny):
    text = re.sub(r"\[\[sites\]\][^\[]*", "", tiny.read_text())
    tiny.write_text(text)
    assert "no [[sites]]" in load_error(tiny)
    result = polygeo("validate", str(tiny))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: scenario.toml: no [[sites]]: say where")


def test_shapefile_without_shx(tiny):
    folder = tiny.parent
    gpd.read_file(folder / "areas.gpkg").to_file(folder / "areas.shp")
    (folder / "areas.shx").unlink()
    edit(tiny, "areas.gpkg", "areas.shp")
    message = load_error(tiny)
    assert message.startswith("areas.shp: the shapefile's index file areas.shx is missing")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", r"^areas\.gpkg is empty \(0 bytes\)"),
        (b"not a geopackage at all", r"^areas\.gpkg cannot be read as a GeoPackage \("),
        (b"SQLite format 3\x00" + b"\x00" * 200, r"^areas\.gpkg cannot be read as a GeoPackage"),
    ],
    ids=["0-byte", "text", "truncated-sqlite"],
)
def test_empty_or_fake_geopackage(tiny, content, expected):
    (tiny.parent / "areas.gpkg").write_bytes(content)
    assert re.search(expected, load_error(tiny))


@pytest.mark.parametrize("name", ["population.csv", "gp.csv"])
def test_a_folder_where_a_file_belongs(tiny, name):
    path = tiny.parent / name
    path.unlink()
    path.mkdir()
    (path / "inside.csv").write_text("a\n1\n")
    assert load_error(tiny) == (
        f"{path} is a folder, not a file; give the path of the file inside it "
        "(it holds: inside.csv)"
    )


def test_nhs_file_mixing_latin1_and_utf8_lines(tmp_path):
    header = "OrganisationCode¬OrganisationName¬OrganisationType¬Latitude¬Longitude"
    data = header.encode("latin-1") + b"\r\n"
    names = ["Café Surgery", "Brontë Practice", "Zoë Health Centre", "St Agnès"]
    for n, name in enumerate(names):
        lon, lat = TO_LONLAT.transform(530000 + 1000 * n, 180000)
        line = f"G{n}¬{name}¬GP Practice¬{lat:.6f}¬{lon:.6f}"
        data += line.encode("utf-8" if n % 2 else "latin-1") + b"\r\n"
    path = tmp_path / "GP.csv"
    path.write_bytes(data)
    sites = read_sites(path)
    assert sorted(sites["name"]) == sorted(names)
    assert set(sites["kind"]) == {"gp"}


def test_plain_csv_mixing_encodings_keeps_every_character(tmp_path):
    path = tmp_path / "sites.csv"
    path.write_bytes(
        b"code,name,easting,northing\n"
        + "A,Café,530000,180000\n".encode()
        + "B,Café,531000,180000\n".encode("latin-1")
    )
    assert read_sites(path)["name"].tolist() == ["Café", "Café"]


# -- values that cannot be right ----------------------------------------------


def test_populations_with_a_dot_as_thousands_separator(tiny):
    path = tiny.parent / "population.csv"
    pop = pd.read_csv(path, dtype=str)
    pop["All Ages"] = pop["All Ages"].str.replace(",", ".")
    pop.to_csv(path, index=False)
    report = report_of(tiny)
    found = finding(report, "population_decimal_thousands")
    assert found in report.errors
    assert "1.609 was read as 1.609 people; write 1609 or 1,609" in found.message
    assert found.count == len(pop)  # "1.000" (read as 1) too
    with pytest.raises(InputError, match="population_decimal_thousands"):
        run_scenario(load_scenario(tiny), out_dir=tiny.parent / "out", progress=False)
    assert not (tiny.parent / "out").exists()


def test_fractional_and_implausible_populations_are_warnings(tmp_path):
    from shapely.geometry import box

    from polygeo.validate import validate

    areas = gpd.GeoDataFrame(
        {"area_id": ["E01000001", "E01000002", "E01000003"], "population": [1500.5, 7, 2000]},
        geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1), box(2, 0, 3, 1)],
        crs=27700,
    )
    report = validate(areas)
    assert report.ok
    fractional = finding(report, "fractional_population")
    assert fractional.examples == ["E01000001"]
    implausible = finding(report, "implausible_population")
    assert implausible.examples == ["E01000002"]
    assert "LSOAs usually hold 400-12,000 people" in implausible.message


@pytest.mark.parametrize(
    ("key", "value", "shown"),
    [
        ("time_limit = 10", "time_limit = nan", "[solver] time_limit = nan"),
        ("gap = 0.2", "gap = inf", "[solver] gap = inf"),
        ("limit_minutes = 20", "limit_minutes = -inf", "[travel] limit_minutes = -inf"),
        ("min_population = 8000", "min_population = nan", "[rules] min_population = nan"),
        ("sites_within_m = 1000", "sites_within_m = nan", "sites_within_m = nan"),
    ],
)
def test_nan_or_infinite_settings(tiny, key, value, shown):
    edit(tiny, key, value)
    with pytest.raises(InputError) as info:
        load_scenario(tiny)
    assert str(info.value) == (
        f"scenario.toml: {shown}: not a finite number; write a number "
        "(leave the key out for the default)"
    )


def test_nan_time_limit_on_the_command_line_exits_2(tiny):
    result = polygeo("run", str(tiny), "--time-limit", "nan", "--no-progress")
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "the command line: [solver] time_limit = nan: not a finite number" in result.stderr
    assert not (tiny.parent / "out").exists()


def _lonlat_file(path: Path, swap: bool) -> None:
    table = pd.read_csv(path)
    lon, lat = TO_LONLAT.transform(table["easting"].to_numpy(), table["northing"].to_numpy())
    pd.DataFrame(
        {
            "code": table["code"],
            "name": table["name"],
            "latitude": lon if swap else lat,
            "longitude": lat if swap else lon,
        }
    ).to_csv(path, index=False)


def test_swapped_latitude_and_longitude_is_an_error_naming_the_file(tiny):
    _lonlat_file(tiny.parent / "gp.csv", swap=True)
    report = report_of(tiny)
    found = finding(report, "swapped_coordinates")
    assert found in report.errors
    n = len(pd.read_csv(tiny.parent / "gp.csv"))
    assert found.message.startswith(
        f"gp.csv: all {n} sites lie farther than 1,000 m from the study area, but with "
        "columns longitude and latitude exchanged"
    )


def test_correct_latitude_and_longitude_load(tiny):
    _lonlat_file(tiny.parent / "gp.csv", swap=False)
    report = report_of(tiny)
    assert report.ok, report.format_text()
    assert "swapped_coordinates" not in report.codes()


def test_swapped_easting_and_northing(tiny):
    path = tiny.parent / "clinic.csv"
    table = pd.read_csv(path)
    table["easting"], table["northing"] = table["northing"].to_numpy(), table["easting"].to_numpy()
    table.to_csv(path, index=False)
    found = finding(report_of(tiny), "swapped_coordinates")
    assert found.message.startswith("clinic.csv: all ")
    assert "columns easting and northing exchanged" in found.message


def test_a_file_wholly_outside_without_a_swap_is_a_warning(tiny):
    path = tiny.parent / "hospital.csv"
    table = pd.read_csv(path)
    table["easting"] += 300_000
    table.to_csv(path, index=False)
    report = report_of(tiny)
    assert report.ok
    assert finding(report, "site_file_outside_study_area").message.startswith(
        f"hospital.csv: all {len(table)} sites lie farther than 1,000 m from the study area"
    )


def test_latitude_out_of_range_names_the_row(tiny):
    path = tiny.parent / "gp.csv"
    _lonlat_file(path, swap=False)
    table = pd.read_csv(path)
    table.loc[3, "latitude"] = 95.0
    table.to_csv(path, index=False)
    message = load_error(tiny)
    assert message.startswith(
        "gp.csv: 1 rows have coordinates in columns longitude, latitude outside the valid "
        "range (degrees): row 5 ("
    )


def _two_codes_at_one_location(folder: Path) -> tuple[str, str]:
    clinic, gp = pd.read_csv(folder / "clinic.csv"), pd.read_csv(folder / "gp.csv")
    clinic.loc[0, ["easting", "northing"]] = gp.loc[0, ["easting", "northing"]].to_numpy()
    clinic.to_csv(folder / "clinic.csv", index=False)
    return clinic.loc[0, "code"], gp.loc[0, "code"]  # the clinic file comes first


def test_two_codes_at_one_location_are_listed(tiny):
    kept, merged = _two_codes_at_one_location(tiny.parent)
    report = report_of(tiny)
    found = finding(report, "merged_site_ids")
    assert found.examples == [kept]
    assert f"{kept} (also {merged})" in found.message


@pytest.mark.parametrize("rule", ["forbidden_sites", "required_sites"])
def test_each_merged_code_is_usable_in_the_rules(tiny, rule):
    kept, merged = _two_codes_at_one_location(tiny.parent)
    edit(tiny, "[rules]", f'[rules]\n{rule} = ["{merged}"]')
    result = run_scenario(load_scenario(tiny), progress=False)
    assert result.violations == []
    hubs = set(result.plan.hubs["site_id"])
    assert (kept in hubs) == (rule == "required_sites")
    assert result.plan.summary()["rules"][rule] == [kept]


@pytest.mark.parametrize("shape", ["boundary", "centroid"])
def test_lines_or_points_as_area_boundaries(tiny, shape):
    path = tiny.parent / "areas.gpkg"
    areas = gpd.read_file(path)
    areas["geometry"] = getattr(areas, shape)
    areas.to_file(path)
    report = report_of(tiny)
    found = finding(report, "wrong_geometry_type")
    assert found in report.errors
    if shape == "boundary":
        assert found.message.startswith(f"areas: {len(areas)} areas have LineString geometries")
    else:
        assert found.message.startswith("areas.gpkg: the area boundaries are points")
    with pytest.raises(InputError, match="wrong_geometry_type"):
        run_scenario(load_scenario(tiny), progress=False)


def test_formula_names_are_written_as_text(tiny):
    path = tiny.parent / "hospital.csv"
    table = pd.read_csv(path)
    formula = '=HYPERLINK("http://example.invalid/x","click")'
    table.loc[0, "name"] = formula
    table.to_csv(path, index=False)
    edit(tiny, "[rules]", f'[rules]\nrequired_sites = ["{table.loc[0, "code"]}"]')
    result = run_scenario(load_scenario(tiny), progress=False)
    with result.files["hubs"].open(newline="") as fh:
        names = {row["site_id"]: row["name"] for row in csv.DictReader(fh)}
    assert names[table.loc[0, "code"]] == "'" + formula
    assert not any(n.startswith(("=", "+", "-", "@")) for n in names.values())


# -- travel matrices ----------------------------------------------------------


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [
        ("-4", r"1 negative travel times, e\.g\. \(A, S\): -4"),
        ("inf", r"1 infinite travel times, e\.g\. \(A, S\): inf"),
        ("soon", r"values that are not numbers"),
        ("DUP", r"2 rows repeat an \(origin, destination\) pair, e\.g\. \(A, S\): 3"),
    ],
)
def test_travel_matrix_with_bad_pairs(tiny, minutes, expected):
    areas = gpd.read_file(tiny.parent / "areas.gpkg")["area_code"].tolist()
    sites = pd.read_csv(tiny.parent / "gp.csv")["code"].tolist()
    rows = [(a, s, 3) for a in areas for s in sites[:2]]
    rows[0] = (rows[0][0], rows[0][1], 3 if minutes == "DUP" else minutes)
    if minutes == "DUP":
        rows.append(rows[0])
    pd.DataFrame(rows, columns=["origin", "destination", "minutes"]).to_csv(
        tiny.parent / "m.csv", index=False
    )
    text = re.sub(
        r"\[travel\][^\[]*",
        '[travel]\nprovider = "matrix"\nmatrix = "m.csv"\nlimit_minutes = 20\n\n',
        tiny.read_text(),
    )
    tiny.write_text(text)
    expected = expected.replace("A", rows[0][0]).replace("S", rows[0][1])
    with pytest.raises(InputError, match=expected):
        run_scenario(load_scenario(tiny), progress=False)


# -- the command line ---------------------------------------------------------


def test_output_folder_that_is_a_file_exits_2_before_loading(tiny):
    (tiny.parent / "out").write_text("a file")
    result = polygeo("run", str(tiny), "--no-progress")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "is a file, not a folder" in result.stderr
    assert "loaded" not in result.stderr  # stopped before loading


def test_internal_error_prints_where_the_traceback_is_and_exits_1(tiny):
    code = (
        "import sys, polygeo.pipeline\n"
        "def broken(*a, **k):\n    raise ZeroDivisionError('a bug')\n"
        "polygeo.pipeline.load_inputs = broken\n"
        f"sys.argv = ['polygeo', 'validate', {str(tiny)!r}]\n"
        "from polygeo.cli import main\nmain()\n"
    )
    result = polygeo(code=code)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    first, second = result.stderr.strip().splitlines()
    assert first == "internal error: ZeroDivisionError: a bug"
    saved = Path(re.search(r"the full traceback is in (\S+) ", second).group(1))
    assert second.startswith("This is a bug in polygeo, not in your input")
    text = saved.read_text()
    assert "Traceback" in text
    assert text.rstrip().endswith("ZeroDivisionError: a bug")
    saved.unlink()


def test_matrix_output_that_is_a_folder_exits_2_before_loading(tiny):
    folder = tiny.parent / "adir"
    folder.mkdir()
    result = polygeo("matrix", str(tiny), "--out", str(folder), "--no-progress")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"error: output file {folder} is a folder; give a file name inside it, or choose "
        "another path with --out"
    )


@pytest.mark.parametrize("name", ["inf", "1e400"])
def test_site_names_that_read_as_huge_numbers(tmp_path, name):
    """Found by the fuzz test: a name column of "inf" crashed the id conversion."""
    path = tmp_path / "sites.csv"
    path.write_text(f"code,name,easting,northing\nA,{name},530000,180000\n")
    assert read_sites(path)["name"].tolist() == [name if name != "1e400" else "inf"]


@pytest.mark.parametrize(
    ("old", "new", "start"),
    [
        ('crs = "EPSG:27700"', "crs = 0", "scenario.toml: crs = 0: unknown CRS 0"),
        ('kind = "gp"', 'kind = "gp"\nassume_crs = "EPSG:999999"',
         "scenario.toml: [[sites]] #4 assume_crs = 'EPSG:999999': "),
    ],
)  # fmt: skip
def test_unknown_crs_names_the_key(tiny, old, new, start):
    """Found by the fuzz test: the CRS error did not say which key held it."""
    edit(tiny, old, new)
    assert load_error(tiny).startswith(start)


def test_infinite_population_is_not_a_number(tmp_path):
    """Found by the fuzz test: inf people passed every check."""
    from shapely.geometry import box

    from polygeo.validate import validate

    areas = gpd.GeoDataFrame(
        {"area_id": ["A", "B"], "population": [1500.0, float("inf")]},
        geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)],
        crs=27700,
    )
    report = validate(areas)
    assert report.codes() == ["non_numeric_population"]
    assert report.errors[0].message == (
        "areas: 1 population in column population is not a number: B 'inf'"
    )


def test_astronomical_population_does_not_crash_validate():
    """Found by the fuzz test: 1.8e305 people overflowed the thousands check."""
    from shapely.geometry import box

    from polygeo.validate import validate

    areas = gpd.GeoDataFrame(
        {"area_id": ["A"], "population": [1.797693134862316e305]},
        geometry=[box(0, 0, 1, 1)],
        crs=27700,
    )
    report = validate(areas)
    assert report.ok
    assert finding(report, "implausible_population").message.startswith(
        "areas: 1 area with more than 10,000,000 people (more than London): A 1.79769e+305"
    )
