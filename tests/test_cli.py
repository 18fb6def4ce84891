"""The `polygeo` command end to end: exit codes, JSON, messages, no tracebacks."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "data" / "scenarios"


def polygeo(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "polygeo", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=600,
    )


@pytest.mark.parametrize(
    "command", [[], ["validate"], ["matrix"], ["calibrate"], ["run"], ["demo"], ["show-versions"]]
)
def test_help_everywhere(command):
    result = polygeo(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage" in result.stdout


def test_missing_scenario_is_a_clear_error():
    result = polygeo("validate", "no-such-file.toml")
    assert result.returncode == 2
    assert result.stderr.strip() == "error: scenario file not found: no-such-file.toml"
    assert "Traceback" not in result.stderr


@pytest.mark.shared_data
def test_validate_london_json(shared_data):
    result = polygeo("validate", str(SCENARIOS / "london.toml"), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["areas"]["count"] == 4835
    assert report["areas"]["population"] == 9_002_488
    assert 900 <= report["sites"]["count"] <= 1800
    assert set(report["sites"]["by_kind"]) == {"gp", "hospital", "clinic"}
    assert sum(report["sites"]["by_kind"].values()) == report["sites"]["count"]
    assert report["errors"] == []


@pytest.mark.shared_data
def test_validate_reports_duplicate_and_negative_population(shared_data, tmp_path):
    source = shared_data / "london" / "london-mid2020-pop.csv"
    with source.open(newline="", encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    pop = header.index("Persons_All-Ages")
    duplicate, negative = body[10][0], body[20][0]
    body[20][pop] = "-7"
    body.append(list(body[10]))
    bad = tmp_path / "pop.csv"
    with bad.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([header, *body])
    text = (SCENARIOS / "london.toml").read_text()
    data_dir = shared_data.resolve()
    text = text.replace("../../../shared/data", data_dir.as_posix()).replace(
        (data_dir / "london" / "london-mid2020-pop.csv").as_posix(), bad.as_posix()
    )
    scenario = tmp_path / "bad.toml"
    scenario.write_text(text)

    result = polygeo("validate", str(scenario))
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert duplicate in result.stdout and negative in result.stdout

    result = polygeo("validate", str(scenario), "--json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    codes = {e["code"]: e for e in report["errors"]}
    assert duplicate in json.dumps(codes["duplicate_area_id"])
    assert negative in json.dumps(codes["negative_population"])
