"""`polygeo sweep`: the sweep file, a real Dask LocalCluster, and a separately started cluster.

The sweeps run on two boroughs of the built-in demo region (no shared data needed),
small enough that the plans solve to proven optimality in seconds.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from polygeo.errors import InputError
from polygeo.sweep import load_sweep
from polygeo.sweep_run import MARKER, run_sweep

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "data" / "demo" / "scenario.toml"

SMALL = f"""\
name = "demo <sweep> & co"
base = "{DEMO.as_posix()}"

[grid]
"rules.min_population" = [30000, 40000]

[[variant]]
name = "impossible <b>"
"rules.min_population" = 10000000

[[variant]]
name = "bad hubs"
"rules.hubs" = {{min = 5, max = 2}}

[set]
"areas.include_groups" = ["Southmere", "Northwick"]
"rules.within_group" = true
"solver.time_limit" = 20
"output.map" = false
"output.geodata" = false

[output]
dir = "out"
"""


def _write(tmp_path: Path, text: str = SMALL) -> Path:
    path = tmp_path / "sweep.toml"
    path.write_text(text)
    return path


def test_sweep_file_problems_are_listed_at_once(tmp_path):
    text = (
        SMALL.replace('"rules.min_population" = [30000', '"rules.min_populaton" = [30000')
        .replace('"rules.hubs" =', '"rule.hubs" =')
        .replace('"solver.time_limit" = 20', '"solver.time_limit" = 20\n"output.maps" = []')
        .replace('dir = "out"', 'dir = "out"\nworkers = 2')
    )
    with pytest.raises(InputError) as err:
        load_sweep(_write(tmp_path, text))
    lines = str(err.value).splitlines()
    assert lines[0] == "sweep.toml: 4 problems:"
    assert "  [output] workers: unknown key. Known keys: dir." in lines
    assert (
        "  [grid] 'rules.min_populaton': names no scenario key; write \"table.key\" such as "
        "\"rules.min_population\". Did you mean 'rules.min_population'?"
    ) in lines
    assert any(line.startswith("  [set] 'output.maps': names no scenario key") for line in lines)
    assert any(line.startswith("  [[variant]] #2 'rule.hubs': names no scenario") for line in lines)


def test_variants_are_built_and_checked_before_running(tmp_path):
    sweep = load_sweep(_write(tmp_path))
    assert [v.name for v in sweep.variants] == [
        "min_population=30000",
        "min_population=40000",
        "impossible <b>",
        "bad hubs",
    ]
    assert sweep.changed_keys == ["rules.min_population", "rules.hubs"]
    bad = sweep.variants[3]
    assert bad.problem == (
        "scenario.toml (variant bad hubs) [rules]: hubs min (5) is larger than hubs max (2)."
    )
    first = sweep.variants[0]
    assert first.problem is None
    assert first.scenario.rules == {"min_population": 30000, "within_group": True}
    assert first.scenario.areas["include_groups"] == ["Southmere", "Northwick"]
    assert first.folder == tmp_path / "out" / "variants" / "min_population=30000"
    assert len({v.digest for v in sweep.variants[:3]}) == 3


def test_validate_a_sweep_file_in_text_and_json(tmp_path):
    path = _write(tmp_path)
    cli = [sys.executable, "-m", "polygeo", "validate", str(path)]
    text = subprocess.run(cli, capture_output=True, text=True, check=False)
    assert text.returncode == 2
    assert text.stdout.splitlines() == [
        "sweep.toml: 4 variants, 1 with problems",
        "inputs of 3 variant(s) (min_population=30000, min_population=40000, impossible <b>): "
        "Validation OK: 0 errors, 1 warning",
    ]
    assert "variant bad hubs: scenario.toml (variant bad hubs) [rules]: hubs min (5)" in text.stderr

    found = subprocess.run([*cli, "--json"], capture_output=True, text=True, check=False)
    assert found.returncode == 2
    report = json.loads(found.stdout)
    assert report["sweep"] == str(path)
    by_name = {v["name"]: v for v in report["variants"]}
    assert list(by_name) == ["min_population=30000", "min_population=40000", "impossible <b>",
                             "bad hubs"]  # fmt: skip
    assert by_name["min_population=30000"]["problem"] is None
    assert by_name["min_population=30000"]["changes"] == {"rules.min_population": 30000}
    assert by_name["bad hubs"]["problem"].endswith("hubs min (5) is larger than hubs max (2).")

    broken = _write(tmp_path, SMALL.replace('"rules.hubs" =', '"rule.hubs" ='))
    failed = subprocess.run([*cli[:-1], str(broken), "--json"], capture_output=True, text=True,
                            check=False)  # fmt: skip
    assert failed.returncode == 2
    (error,) = json.loads(failed.stdout)["errors"]
    assert error["message"].startswith("sweep.toml [[variant]] #2 'rule.hubs': names no scenario")


def test_validate_reads_each_set_of_inputs_once_and_names_bad_data(tmp_path):
    rows = (DEMO.parent / "population.csv").read_text().splitlines()
    rows[2] = rows[2].split(",")[0] + ",-5"  # one area with a negative population
    (tmp_path / "pop_bad.csv").write_text("\n".join(rows) + "\n")
    path = _write(
        tmp_path,
        f"""\
base = "{DEMO.as_posix()}"
[[variant]]
name = "as published"
[[variant]]
name = "tighter"
"rules.min_population" = 60000
[[variant]]
name = "bad population"
"areas.population" = "pop_bad.csv"
[[variant]]
name = "missing sites"
"sites" = [{{path = "nowhere.csv", kind = "gp", id = "code"}}]
[output]
dir = "out"
""",
    )
    cli = [sys.executable, "-m", "polygeo", "validate"]
    found = subprocess.run([*cli, str(path), "--json"], capture_output=True, text=True, check=False)
    assert found.returncode == 2
    report = json.loads(found.stdout)
    problems = {v["name"]: v["problem"] for v in report["variants"]}
    assert problems["as published"] is None and problems["tighter"] is None
    bad_area = rows[2].split(",")[0]
    assert problems["bad population"] == (
        "its areas and sites have 1 error(s): negative_population: pop_bad.csv: negative "
        f"population -5 for area {bad_area} in column All Ages (row 3)"
    )
    # paths a sweep file sets are relative to the sweep file, like its base
    assert problems["missing sites"].endswith(f"file not found: {tmp_path / 'nowhere.csv'}.")
    good, bad = report["inputs"]  # the variants with the same inputs share one read
    assert good["variants"] == ["as published", "tighter"]
    base = subprocess.run([*cli, str(DEMO), "--json"], capture_output=True, text=True, check=True)
    assert good["report"] == json.loads(base.stdout)
    assert bad["variants"] == ["bad population"]
    assert [e["code"] for e in bad["report"]["errors"]] == ["negative_population"]


def _plan_from_files(folder: Path) -> dict:
    assignments = pd.read_csv(folder / "assignments.csv", dtype={"area_id": str})
    hubs = pd.read_csv(folder / "hubs.csv", dtype={"site_id": str})
    summary = json.loads((folder / "summary.json").read_text())
    return {"assignments": assignments, "hubs": hubs, "summary": summary}


def test_local_cluster_sweep_records_failures_and_rerun_skips(tmp_path):
    sweep = load_sweep(_write(tmp_path))
    result = run_sweep(sweep, workers=2, progress=False)
    status = {r["name"]: r["status"] for r in result.rows}
    assert status == {
        "min_population=30000": "ok",
        "min_population=40000": "ok",
        "impossible <b>": "infeasible",
        "bad hubs": "invalid",
    }
    assert result.ran == 3 and result.skipped == 0 and not result.interrupted
    rows = {r["name"]: r for r in result.rows}
    assert "min_population 10,000,000" in rows["impossible <b>"]["message"]
    for name in ("min_population=30000", "min_population=40000"):
        plan = _plan_from_files(sweep.out_dir / "variants" / name)
        assert plan["summary"]["check"] == {"valid": True, "violations": []}
        areas = plan["assignments"]
        assert areas["area_id"].is_unique and len(areas) == 109  # the two boroughs
        hub_population = areas.groupby("site_id")["population"].sum()
        assert hub_population.min() >= rows[name]["rules.min_population"]
        assert rows[name]["polysystems"] == len(plan["hubs"]) == len(hub_population)
    with open(sweep.out_dir / "comparison.csv", newline="") as f:
        table = list(csv.DictReader(f))
    assert [r["status"] for r in table] == ["ok", "ok", "infeasible", "invalid"]
    best = [r["best"] for r in table]
    assert "mean_minutes" in best[0] or "mean_minutes" in best[1]
    page = (sweep.out_dir / "comparison.html").read_text()
    assert "impossible &lt;b&gt;" in page and "<b>" not in page
    assert "<h1>demo &lt;sweep&gt; &amp; co</h1>" in page

    ran = sweep.variants[:3]
    assert sweep.variants[2].folder.name == "impossible-b"
    markers = [(v.folder / MARKER).stat().st_mtime_ns for v in ran]
    assert not (sweep.variants[3].folder / MARKER).exists()  # the invalid one never ran
    again = run_sweep(load_sweep(_write(tmp_path)), workers=2, progress=False)
    assert again.skipped == 3  # two plans and the proven infeasibility
    assert again.ran == 0
    assert [(v.folder / MARKER).stat().st_mtime_ns for v in ran] == markers
    assert [r["status"] for r in again.rows] == ["ok", "ok", "infeasible", "invalid"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def external_cluster(tmp_path):
    """A `dask scheduler` and one `dask worker`, as separate processes on loopback."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    dask = [sys.executable, "-m", "dask"]
    logs = [open(tmp_path / name, "w") for name in ("scheduler.log", "worker.log")]
    scheduler = subprocess.Popen(
        [*dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
        env=env,
        stdout=logs[0],
        stderr=subprocess.STDOUT,
    )
    worker = subprocess.Popen(
        [*dask, "worker", address, "--nworkers", "1", "--nthreads", "1", "--no-dashboard"],
        env=env,
        cwd=tmp_path,
        stdout=logs[1],
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_for_worker(address)
        yield address
    finally:
        for process in (worker, scheduler):
            process.terminate()
        for process in (worker, scheduler):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for log in logs:
            log.close()


def _wait_for_worker(address: str) -> None:
    from dask.distributed import Client

    deadline = time.monotonic() + 90
    while True:
        try:
            with Client(address, timeout="5s") as client:
                client.wait_for_workers(1, timeout=60)
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def test_sweep_on_a_separately_started_scheduler(tmp_path, external_cluster):
    text = SMALL.replace("[30000, 40000]", "[30000]").replace('name = "bad hubs"', 'name = "x"')
    path = _write(
        tmp_path, text.replace("{min = 5, max = 2}", "7").replace("hubs", "min_population")
    )
    result = subprocess.run(
        [sys.executable, "-m", "polygeo", "sweep", str(path), "--scheduler", external_cluster]
        + ["--no-progress"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=300,
    )
    assert result.returncode == 1, result.stderr  # the impossible variant failed
    assert "3 variants: 3 ran, 0 already finished, 1 failed or not run" in result.stdout
    assert "impossible <b>: infeasible: the rules cannot be met" in result.stderr
    with open(tmp_path / "out" / "comparison.csv", newline="") as f:
        table = {r["name"]: r for r in csv.DictReader(f)}
    assert table["min_population=30000"]["status"] == "ok"
    assert table["min_population=30000"]["checked"] == "True"
    # "x" is the same scenario as the grid's variant but min_population = 7: more hubs
    assert table["x"]["status"] == "ok"
    assert int(table["x"]["polysystems"]) > int(table["min_population=30000"]["polysystems"])


def test_ctrl_c_stops_cleanly_and_keeps_finished_variants(tmp_path):
    # two workers: the impossible variant stops at once, the other (the whole demo region
    # to proven optimality) runs for minutes
    text = f"""\
base = "{DEMO.as_posix()}"

[[variant]]
name = "impossible"
"rules.min_population" = 10000000

[[variant]]
name = "slow"
"rules.min_population" = 45000

[set]
"solver.time_limit" = 600
"solver.gap" = 0
"output.map" = false
"output.geodata" = false

[output]
dir = "out"
"""
    path = _write(tmp_path, text)
    marker = tmp_path / "out" / "variants" / "impossible" / MARKER
    sweep = subprocess.Popen(
        [sys.executable, "-m", "polygeo", "sweep", str(path), "--workers", "2", "--no-progress"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    deadline = time.monotonic() + 240
    while not marker.exists() and time.monotonic() < deadline and sweep.poll() is None:
        time.sleep(0.5)
    assert marker.exists(), "the quick variant did not finish"
    finished = marker.read_text()
    sweep.send_signal(signal.SIGINT)
    out, err = sweep.communicate(timeout=120)
    assert sweep.returncode == 130, err
    assert "interrupted: finished variants are kept; rerun to continue" in err
    assert "Traceback" not in err
    with open(tmp_path / "out" / "comparison.csv", newline="") as f:
        table = {r["name"]: r["status"] for r in csv.DictReader(f)}
    assert table == {"impossible": "infeasible", "slow": "not run"}
    assert marker.read_text() == finished
    assert not (tmp_path / "out" / "variants" / "slow" / MARKER).exists()
