"""Fuzzing the loaders and the scenario file: bad input gives an InputError that
names a file, key or row, or a valid result; never another exception.

Hypothesis draws the inputs (derandomized, so CI runs the same cases each time);
each test stays within a few seconds.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tiny import write_tiny

from polygeo.errors import InputError
from polygeo.io import read_areas, read_sites
from polygeo.pipeline import load_inputs
from polygeo.scenario import load_scenario
from polygeo.validate import validate

#: POLYGEO_FUZZ_EXAMPLES=2000 hunts longer, with fresh random cases each run.
EXAMPLES = int(os.environ.get("POLYGEO_FUZZ_EXAMPLES", "0"))
FUZZ = settings(
    max_examples=EXAMPLES or 40,
    deadline=None,
    derandomize=not EXAMPLES,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

#: Cell values that broke or fooled loaders before, and plain noise.
NASTY = [
    "", " ", "nan", "NaN", "inf", "-inf", "1e400", "-5", "0", "1.609", "1,609", "1.609,5",
    "=HYPERLINK(\"x\")", "+1", "@A1", "\t", "\r", "¬", "Café", "\u202e", "null", "None",
    "TRUE", "0x1F", "１２３", "53.5", "-0.1", "999999999999", "530000", "180000",
]  # fmt: skip
cells = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=8),
    st.integers(-(10**12), 10**12).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)


def named(exc: InputError, *names: str) -> bool:
    """The message names one of ``names``, a file, a row or a [table] key."""
    message = str(exc)
    if any(n in message for n in names) or " row " in message or "[" in message:
        return True
    return re.search(r"\w\.(csv|gpkg|toml|shp|shx|dbf|xlsx|parquet)\b", message) is not None


@pytest.fixture(scope="module")
def region(tmp_path_factory) -> Path:
    return write_tiny(tmp_path_factory.mktemp("fuzz")).parent


@pytest.fixture(scope="module")
def areas(region):
    return read_areas(region / "areas.gpkg", region / "population.csv", id="area_code",
                      population_id="Area Codes", population_column="All Ages")  # fmt: skip


# -- site and area tables -----------------------------------------------------

columns = st.lists(
    st.sampled_from(["code", "name", "easting", "northing", "latitude", "longitude", "kind", "x"]),
    min_size=1,
    max_size=6,
    unique=True,
)


@FUZZ
@given(header=columns, rows=st.lists(st.lists(cells, min_size=6, max_size=6), max_size=6))
def test_fuzz_site_tables(tmp_path_factory, areas, header, rows):
    folder = tmp_path_factory.mktemp("sites")
    path = folder / "sites.csv"
    pd.DataFrame([r[: len(header)] for r in rows], columns=header, dtype=str).to_csv(
        path, index=False
    )
    try:
        sites = read_sites(path, study_area=areas, errors="collect")
    except InputError as exc:
        assert named(exc, "sites.csv"), str(exc)
        return
    report = validate(areas, sites)
    assert all(f.message for f in report.errors + report.warnings)


@FUZZ
@given(rows=st.lists(st.tuples(cells, cells), min_size=1, max_size=8))
def test_fuzz_population_tables(tmp_path_factory, region, rows):
    folder = tmp_path_factory.mktemp("pop")
    path = folder / "population.csv"
    codes = pd.read_csv(region / "population.csv", dtype=str)["Area Codes"].tolist()
    body = [(codes[i % len(codes)] if i % 3 else code, value) for i, (code, value) in
            enumerate(rows)]  # fmt: skip
    pd.DataFrame(body, columns=["Area Codes", "All Ages"]).to_csv(path, index=False)
    try:
        areas = read_areas(region / "areas.gpkg", path, id="area_code", population_id="Area Codes",
                           population_column="All Ages", errors="collect")  # fmt: skip
    except InputError as exc:
        assert named(exc, "population.csv", "areas.gpkg"), str(exc)
        return
    report = validate(areas)
    assert not report.ok  # most areas have no row: always an error naming them
    assert any("area_without_population" == f.code for f in report.errors)


@FUZZ
@given(data=st.binary(max_size=300), suffix=st.sampled_from([".csv", ".gpkg", ".xlsx", ".shp"]))
def test_fuzz_file_bytes(tmp_path_factory, data, suffix):
    folder = tmp_path_factory.mktemp("bytes")
    path = folder / f"sites{suffix}"
    path.write_bytes(data)
    if suffix == ".shp":
        for part in (".shx", ".dbf"):
            path.with_suffix(part).write_bytes(data[::-1])
    try:
        read_sites(path, errors="collect")
    except InputError as exc:
        assert named(exc, path.name), str(exc)


# -- the scenario file --------------------------------------------------------

values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**9), 10**9),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["", "out", "gp.csv", "no-such.csv", "EPSG:4326", "highs", "\u202e"]),
    st.lists(st.sampled_from(["G0001", "C0001", "x", ""]), max_size=3),
)
KEYS = [
    ("", "name"), ("", "crs"), ("", "sites_within_m"), ("", "typo_key"),
    ("areas", "boundaries"), ("areas", "population"), ("areas", "id"), ("areas", "group"),
    ("areas", "population_column"), ("areas", "include_groups"), ("travel", "provider"),
    ("travel", "minutes_per_km"), ("travel", "limit_minutes"), ("rules", "min_population"),
    ("rules", "max_population"), ("rules", "required_sites"), ("rules", "forbidden_sites"),
    ("rules", "hubs"), ("solver", "time_limit"), ("solver", "gap"), ("solver", "name"),
    ("output", "dir"), ("output", "map"), ("sites", "path"), ("sites", "kind"), ("sites", "id"),
]  # fmt: skip


def _toml_value(value) -> str:
    if value is None:
        return "{}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return (
            "nan"
            if math.isnan(value)
            else ("inf" if value > 0 else "-inf")
            if math.isinf(value)
            else repr(value)
        )
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return str(value)


def _set_key(text: str, table: str, key: str, value) -> str:
    line = f"{key} = {_toml_value(value)}"
    lines = text.splitlines()
    header = {"": None, "sites": "[[sites]]"}.get(table, f"[{table}]")
    start = 0 if header is None else lines.index(header) + 1
    end = next((i for i in range(start, len(lines)) if lines[i].startswith("[")), len(lines))
    for i in range(start, end):
        if lines[i].split("=")[0].strip() == key:
            lines[i] = line
            return "\n".join(lines)
    lines.insert(start, line)
    return "\n".join(lines)


@settings(FUZZ, max_examples=EXAMPLES or 30)
@given(edits=st.lists(st.tuples(st.sampled_from(KEYS), values), min_size=1, max_size=3))
def test_fuzz_scenario_file(region, edits):
    text = (region / "scenario.toml").read_text()
    for (table, key), value in edits:
        text = _set_key(text, table, key, value)
    path = region / "fuzz.toml"
    path.write_text(text)
    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        pass
    keys = [key for (_, key), _ in edits]
    try:
        scenario = load_scenario(path)
        inputs = load_inputs(scenario)
        _settings_of(scenario, inputs)
    except InputError as exc:
        assert named(exc, "fuzz.toml", *keys), str(exc)


def _settings_of(scenario, inputs) -> None:
    """Every table of the scenario parsed as run_scenario parses it (no solve)."""
    from polygeo.optimise import Rules, SolverSettings
    from polygeo.pipeline import travel_provider

    Rules.from_dict(scenario.rules, source=f"{scenario.source} [rules]")
    SolverSettings.from_dict(scenario.solver, source=f"{scenario.source} [solver]")
    if inputs.report.ok:
        travel_provider(scenario, inputs.areas, inputs.sites, progress=False)
