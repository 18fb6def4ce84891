"""The `polygeo` command end to end: exit codes, JSON, messages, no tracebacks."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

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
    "command",
    [[], ["validate"], ["matrix"], ["calibrate"], ["run"], ["sweep"], ["demo"], ["show-versions"]],
)
def test_help_everywhere(command):
    result = polygeo(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage" in result.stdout


@pytest.mark.parametrize(("command", "table"), [("run", "[output]"), ("calibrate", "[travel]")])
def test_help_names_the_scenario_tables_as_written(command, table):
    # Rich markup would read "[output]" as a style tag and drop it from the help
    result = polygeo(command, "--help")
    assert result.returncode == 0, result.stderr
    assert table in result.stdout


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


def _london_frames():
    from polygeo.pipeline import load_inputs
    from polygeo.scenario import load_scenario

    inputs = load_inputs(load_scenario(SCENARIOS / "london.toml"))
    return inputs.areas, inputs.sites


def _all_pair_minutes(areas, sites, minutes_per_km=3.12):
    """Every area x site time by brute force (numpy, no spatial index): 5.6M pairs."""
    import numpy as np

    ax, ay = areas["origin_x"].to_numpy(), areas["origin_y"].to_numpy()
    sx, sy = sites.geometry.x.to_numpy(), sites.geometry.y.to_numpy()
    km = np.hypot(ax[:, None] - sx[None, :], ay[:, None] - sy[None, :]) / 1000.0
    return km * minutes_per_km


@pytest.mark.shared_data
def test_matrix_london_writes_every_pair_within_the_limit(shared_data, tmp_path):
    import numpy as np
    import pandas as pd

    out = tmp_path / "london.parquet"
    result = polygeo("matrix", str(SCENARIOS / "london.toml"), "--out", str(out), "--no-progress")
    assert result.returncode == 0, result.stderr
    table = pd.read_parquet(out)
    assert list(table.columns) == ["area_id", "site_id", "minutes"]
    areas, sites = _london_frames()
    full = _all_pair_minutes(areas, sites)
    within = full <= 20.0
    assert len(table) == int(within.sum())
    assert table["area_id"].nunique() == len(areas) == 4835
    # the same pairs with the same minutes
    i = pd.Index(areas["area_id"]).get_indexer(table["area_id"].astype(str))
    j = pd.Index(sites["site_id"]).get_indexer(table["site_id"].astype(str))
    assert (i >= 0).all() and (j >= 0).all()
    assert within[i, j].all()
    assert np.allclose(table["minutes"], full[i, j], atol=1e-3)


@pytest.mark.shared_data
def test_london_at_15_minutes_lists_exactly_the_unservable_areas(shared_data):
    import numpy as np

    result = polygeo("run", str(SCENARIOS / "london-15min.toml"), "--no-progress", "-q")
    assert result.returncode == 3
    assert "Traceback" not in result.stderr
    assert result.stdout == ""

    # independently: a site is viable when the people within 15 minutes reach 50,000
    # (repeated to a fixed point); an area is unservable with no viable site within 15
    areas, sites = _london_frames()
    minutes = _all_pair_minutes(areas, sites)
    within = minutes <= 15.0
    pop = areas["population"].to_numpy()
    viable = np.ones(len(sites), dtype=bool)
    while True:
        servable = (within & viable[None, :]).any(axis=1)
        reach = (within & servable[:, None]).T @ pop
        now = viable & (reach >= 50_000)
        if (now == viable).all():
            break
        viable = now
    unserved = np.flatnonzero(~(within & viable[None, :]).any(axis=1))
    assert len(unserved) > 0
    listed = [line for line in result.stderr.splitlines() if "nearest viable site" in line]
    assert len(listed) == len(unserved)
    for i in unserved:
        j = np.flatnonzero(viable)[np.argmin(minutes[i, viable])]
        line = next(x for x in listed if areas["area_id"].iloc[i] in x)
        assert f"nearest viable site {sites['site_id'].iloc[j]} at {minutes[i, j]:.1f} min" in line


@pytest.mark.shared_data
def test_run_north_east_london_gives_a_checked_plan(shared_data, tmp_path):
    import pandas as pd

    from polygeo.check import check
    from polygeo.optimise import Rules
    from polygeo.pipeline import load_inputs, travel_table
    from polygeo.scenario import load_scenario

    out = tmp_path / "ne"
    scenario_path = SCENARIOS / "london-north-east.toml"
    result = polygeo(
        "run", str(scenario_path), "--out", str(out), "--time-limit", "20", "--no-progress", "-q"
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads((out / "summary.json").read_text())
    solver = summary["solver"]
    # honest reporting: a 20 s limit on ~1,000 areas does not prove optimality
    assert solver["optimal"] is (solver["status"] == "optimal")
    assert solver["bound"] <= solver["objective"] + 1e-6
    if not solver["optimal"]:
        assert "NOT proven optimal" in result.stdout
    # the written plan, re-checked from the raw inputs
    scenario = load_scenario(scenario_path)
    inputs = load_inputs(scenario)
    assert 900 <= len(inputs.areas) <= 1100
    _, _, table = travel_table(scenario, inputs.areas, inputs.sites, progress=False)
    assignments = pd.read_csv(out / "assignments.csv", dtype={"area_id": str, "site_id": str})
    hubs = pd.read_csv(out / "hubs.csv", dtype={"site_id": str})
    plan = SimpleNamespace(assignments=assignments, hubs=hubs)
    assert check(plan, inputs.areas, inputs.sites, table, Rules.from_dict(scenario.rules)) == []
    assert len(assignments) == len(inputs.areas)
    assert (hubs["population"] >= 50_000).all()


def test_the_log_reaches_every_invocation_in_one_process(tmp_path):
    """The CLI's log handler writes to the stderr of the command running now (a handler
    bound to the first command's stream lost every later command's log)."""
    from typer.testing import CliRunner

    from polygeo.cli import app
    from polygeo.demo import write_demo

    scenario = write_demo(tmp_path)
    for run in range(2):
        out = tmp_path / f"run{run}"
        args = ["run", str(scenario), "--out", str(out), "--time-limit", "5", "--no-progress"]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        assert "loaded 360 areas and 74 sites" in result.output
        assert "Logging error" not in result.output
