"""Scenario files: keys, types, paths and their exact error messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from polygeo.errors import InputError
from polygeo.scenario import load_scenario


def _write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "lsoa.shp").write_text("")
    (tmp_path / "pop.csv").write_text("code,pop\n")
    (tmp_path / "Hospital.csv").write_text("")
    path = tmp_path / "scenario.toml"
    path.write_text(text)
    return path


GOOD = """
name = "test"
[areas]
boundaries = "lsoa.shp"
population = "pop.csv"
id = "LSOA11CD"
population_column = "Persons_All-Ages"
group = "LAD11NM"
[[sites]]
path = "Hospital.csv"
kind = "hospital"
[travel]
provider = "straight_line"
limit_minutes = 20
[output]
dir = "out"
"""


def test_good_scenario_resolves_paths_against_its_folder(tmp_path):
    scn = load_scenario(_write(tmp_path, GOOD))
    assert scn.areas["boundaries"] == (tmp_path / "lsoa.shp").resolve()
    assert scn.areas["population"] == (tmp_path / "pop.csv").resolve()
    assert scn.sites == [{"path": (tmp_path / "Hospital.csv").resolve(), "kind": "hospital"}]
    assert scn.travel == {"provider": "straight_line", "limit_minutes": 20}
    assert scn.output_dir() == (tmp_path / "out").resolve()
    assert scn.name == "test"


def test_unknown_key_is_named_with_a_suggestion(tmp_path):
    path = _write(tmp_path, GOOD.replace("population_column", "population_col"))
    with pytest.raises(InputError) as err:
        load_scenario(path)
    message = str(err.value)
    assert message.startswith(
        "scenario.toml [areas] population_col: unknown key. Did you mean 'population_column'?"
    )


def test_wrong_type_names_key_and_type(tmp_path):
    path = _write(tmp_path, GOOD.replace('id = "LSOA11CD"', "id = 5"))
    with pytest.raises(InputError, match=r"\[areas\] id: expected a string, got 5 \(number\)"):
        load_scenario(path)


def test_missing_file_names_key_and_path(tmp_path):
    path = _write(tmp_path, GOOD.replace('path = "Hospital.csv"', 'path = "Nope.csv"'))
    with pytest.raises(InputError) as err:
        load_scenario(path)
    assert "[[sites]] #1 path: file not found: 'Nope.csv' is" in str(err.value)
    assert str(tmp_path / "Nope.csv") in str(err.value)


def test_every_problem_is_reported_at_once(tmp_path):
    text = GOOD.replace('group = "LAD11NM"', 'group = "LAD11NM"\nkep = ["x"]').replace(
        'population = "pop.csv"', 'population = "missing.csv"'
    )
    with pytest.raises(InputError) as err:
        load_scenario(_write(tmp_path, text))
    assert str(err.value).startswith("scenario.toml: 2 problems:\n")
    assert "[areas] kep: unknown key. Did you mean 'keep'?" in str(err.value)
    assert "[areas] population: file not found: 'missing.csv' is" in str(err.value)


def test_boundaries_and_points_are_exclusive(tmp_path):
    text = GOOD.replace('population = "pop.csv"', 'population = "pop.csv"\npoints = "pop.csv"')
    with pytest.raises(InputError, match="give exactly one of boundaries"):
        load_scenario(_write(tmp_path, text))


def test_sites_must_be_an_array_of_tables(tmp_path):
    text = GOOD.replace("[[sites]]", "[sites]")
    with pytest.raises(InputError, match=r"\[\[sites\]\]: must be an array of tables"):
        load_scenario(_write(tmp_path, text))


def test_invalid_toml_and_missing_file(tmp_path):
    with pytest.raises(InputError, match="scenario file not found"):
        load_scenario(tmp_path / "none.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[areas\n")
    with pytest.raises(InputError, match="bad.toml is not valid TOML"):
        load_scenario(bad)


def test_missing_areas_table(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('name = "x"\n')
    with pytest.raises(InputError, match=r"\[areas\]: missing table: add \[areas\]"):
        load_scenario(path)
