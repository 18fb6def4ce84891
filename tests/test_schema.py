"""The one schema of scenario files: every problem at once, README and code agree with it."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from polygeo.errors import InputError
from polygeo.optimise import Rules, SolverSettings
from polygeo.scenario import load_scenario
from polygeo.schema import (
    RULES,
    SOLVER,
    TRAVEL,
    all_dotted_names,
    dotted_key,
    find_problems,
    readme_with_tables,
)

REPO = Path(__file__).resolve().parents[1]

GOOD = """\
name = "three mistakes"
[areas]
points = "areas.csv"
id = "code"
x = "x"
y = "y"
[[sites]]
path = "sites.csv"
[travel]
provider = "straight_line"
minutes_per_km = 3
limit_minutes = 20
[rules]
min_population = 50000
[solver]
time_limit = 10
"""


def _files(tmp_path: Path, text: str) -> Path:
    (tmp_path / "areas.csv").write_text("code,x,y,population\nA,0,0,10\n")
    (tmp_path / "sites.csv").write_text("site_id,x,y\nS,0,0\n")
    path = tmp_path / "scenario.toml"
    path.write_text(text)
    return path


def _three_mistakes(tmp_path: Path) -> Path:
    text = (
        GOOD.replace('id = "code"', 'idd = "code"')  # [areas]: a misspelt key
        .replace("limit_minutes = 20", 'limit_minutes = "20"')  # [travel]: a string
        .replace("min_population = 50000", "min_population = 50000\ncontigous = true")
    )
    return _files(tmp_path, text)


def test_three_mistakes_in_three_tables_are_one_message(tmp_path):
    with pytest.raises(InputError) as err:
        load_scenario(_three_mistakes(tmp_path))
    assert str(err.value).splitlines() == [
        "scenario.toml: 3 problems:",
        "  [areas] idd: unknown key. Did you mean 'id'? Known keys: "
        + ", ".join(k for k in _table_keys("areas"))
        + ".",
        "  [travel] limit_minutes: expected a number, got '20' (string). e.g. limit_minutes = 20",
        "  [rules] contigous: unknown key. Did you mean 'contiguous'? Known keys: "
        + ", ".join(k.name for k in RULES.keys)
        + ".",
    ]


def _table_keys(name: str) -> list[str]:
    from polygeo.schema import table_named

    return list(table_named(name).by_name)


def test_validate_exits_non_zero_listing_all_three(tmp_path):
    path = _three_mistakes(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "polygeo", "validate", str(path)],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "error: scenario.toml: 3 problems:" in result.stderr
    for fix in ("Did you mean 'id'?", "e.g. limit_minutes = 20", "Did you mean 'contiguous'?"):
        assert fix in result.stderr


def test_validate_checks_rules_values_and_solver(tmp_path):
    text = GOOD.replace("min_population = 50000", "hubs = {min = 5, max = 2}").replace(
        "time_limit = 10", 'time_limit = 10\nname = ""'
    )
    result = subprocess.run(
        [sys.executable, "-m", "polygeo", "validate", str(_files(tmp_path, text))],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert result.returncode == 2
    assert "[rules]: hubs min (5) is larger than hubs max (2)." in result.stderr
    assert "[solver]: name must be a solver name" in result.stderr


def test_type_range_choice_provider_and_missing_file_problems(tmp_path):
    data = {
        "areas": {"points": "nowhere.csv"},
        "travel": {"provider": "network", "limit_minutes": -1, "minutes_per_km": 3},
        "solver": {"threads": 0, "msg": "yes"},
        "output": {"dir": "out", "maps": True},
        "rule": {"min_population": 1},
    }
    problems = [str(p) for p in find_problems(data, base_dir=tmp_path)]
    assert problems == [
        "[rule]: unknown table. Did you mean 'rules'? Tables: [areas], [[sites]], [travel], "
        "[rules], [solver], [[options]], [new_build], [timetable], [evaluation], [output].",
        f"[areas] points: file not found: 'nowhere.csv' is {tmp_path / 'nowhere.csv'} "
        "(relative paths resolve against the scenario file's folder).",
        "[travel] limit_minutes: must be > 0, got -1.",
        '[travel] minutes_per_km: applies to provider = "straight_line", not "network"; '
        "remove it or change provider.",
        "[solver] threads: must be >= 1, got 0.",
        "[solver] msg: expected true or false, got 'yes' (string).",
        "[output] maps: unknown key. Did you mean 'map'? "
        "Known keys: dir, map, report, geodata, geoparquet.",
    ]


def test_unknown_provider_does_not_flag_every_provider_key():
    problems = find_problems({"travel": {"provider": "netwrok", "roads": "r.shp"}})
    assert [str(p) for p in problems][1].startswith(
        "[travel] provider: 'netwrok' is not one of straight_line, network, matrix. "
        "Did you mean 'network'?"
    )
    assert not any("applies to" in str(p) for p in problems)


def test_rules_and_solver_declarations_equal_their_dataclasses():
    alias = {"exception_penalty_minutes"}
    assert [k.name for k in RULES.keys if k.name not in alias] == list(Rules.keys())
    assert [k.name for k in SOLVER.keys] == list(SolverSettings.keys())
    for table, cls in ((RULES, Rules), (SOLVER, SolverSettings)):
        for f in dataclasses.fields(cls):
            if f.default is not dataclasses.MISSING:
                default = list(f.default) if isinstance(f.default, tuple) else f.default
                assert table.by_name[f.name].default == default, f.name


def test_readme_tables_match_schema():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert "<!-- schema:scenario -->" in text and "<!-- schema:sweep -->" in text
    assert readme_with_tables(text) == text, (
        "README key tables differ from polygeo/schema.py: run "
        "`python -m polygeo.schema --update-readme README.md`"
    )


def test_dotted_names_for_sweeps():
    assert dotted_key("rules.min_population") is RULES.by_name["min_population"]
    assert dotted_key("travel.limit_minutes") is TRAVEL.by_name["limit_minutes"]
    assert dotted_key("options").name == "options"
    assert dotted_key("rules.min_populaton") is None
    assert "solver.time_limit" in all_dotted_names()
