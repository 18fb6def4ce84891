"""A run's outputs are one set: swapped in whole, never mixed, the previous set kept."""

from __future__ import annotations

import importlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import pytest
from tiny import read_set, write_tiny

import polygeo.optimise
import polygeo.output_set
import polygeo.outputs
import polygeo.pipeline
from polygeo.errors import InputError
from polygeo.output_set import OutputSet, verify_output_set
from polygeo.pipeline import run_scenario
from polygeo.scenario import load_scenario

CHECK_MODULE = importlib.import_module("polygeo.check")  # polygeo.check is also a function


def leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if ".tmp-" in p.name)


def assert_complete(folder: Path) -> dict:
    assert verify_output_set(folder) == []
    found = read_set(folder)
    assert found["hubs"] == found["used"], "assignments.csv and hubs.csv come from different plans"
    return found


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return write_tiny(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="module")
def first_set(tiny, tmp_path_factory) -> Path:
    """One complete output set, copied by each test as "the previous run"."""
    out = tmp_path_factory.mktemp("first") / "out"
    run_scenario(load_scenario(tiny), out_dir=out, progress=False)
    return out


def test_previous_set_is_kept_with_its_time_stamp_and_names_the_run(tiny, tmp_path):
    out = tmp_path / "out"
    first = run_scenario(load_scenario(tiny), out_dir=out, progress=False)
    first_set = assert_complete(out)
    assert first_set["id"] == first.run_id
    run = first_set["summary"]["run"]
    assert len(run["scenario_sha256"]) == 64
    assert set(run["files"]) == {
        "assignments.csv",
        "hubs.csv",
        "catchments.gpkg",
        "map.html",
        "report.html",
    }

    second = run_scenario(load_scenario(tiny), out_dir=out, progress=False)
    assert second.run_id != first.run_id
    assert assert_complete(out)["id"] == second.run_id
    stamp = run["finished"].replace("-", "").replace(":", "").replace("T", "-")[:15]
    assert second.previous == tmp_path / f"out-{stamp}"
    assert assert_complete(second.previous)["id"] == first.run_id
    assert leftovers(tmp_path) == []

    third = run_scenario(load_scenario(tiny), out_dir=out, progress=False, overwrite=True)
    assert third.previous is None
    assert assert_complete(out)["id"] == third.run_id
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == [
        "out",
        second.previous.name,
    ]


def test_map_false_leaves_no_map_of_the_previous_plan(tmp_path):
    scenario = write_tiny(tmp_path)
    run_scenario(load_scenario(scenario), progress=False)
    assert (tmp_path / "out" / "map.html").exists()
    text = scenario.read_text().replace('dir = "out"', 'dir = "out"\nmap = false')
    scenario.write_text(text)
    run_scenario(load_scenario(scenario), progress=False, overwrite=True)
    assert not (tmp_path / "out" / "map.html").exists()
    assert_complete(tmp_path / "out")


def test_failed_write_leaves_the_previous_set_and_no_temporary_folder(tiny, tmp_path, monkeypatch):
    out = tmp_path / "out"
    before = run_scenario(load_scenario(tiny), out_dir=out, progress=False).run_id

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(polygeo.outputs, "write_json", broken)
    with pytest.raises(OSError, match="No space"):
        run_scenario(load_scenario(tiny), out_dir=out, progress=False)
    assert assert_complete(out)["id"] == before
    assert leftovers(tmp_path) == []


def _signal_after(nth: int, original):
    calls = {"n": 0}

    def wrapper(*args, **kwargs):
        result = original(*args, **kwargs)
        calls["n"] += 1
        if calls["n"] == nth:
            os.kill(os.getpid(), signal.SIGINT)
        return result

    return wrapper


def _signal_before(original):
    def wrapper(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)
        return original(*args, **kwargs)

    return wrapper


# (where, attribute, how, which set the folder must hold afterwards)
POINTS = [
    ("loading", (polygeo.pipeline, "load_inputs"), "after", "previous"),
    ("travel times", (polygeo.pipeline, "travel_table"), "after", "previous"),
    ("solving", (polygeo.optimise, "solve"), "before", "previous"),
    ("checking", (CHECK_MODULE, "check"), "after", "previous"),
    ("assignments.csv written", (polygeo.outputs, "write_csv"), 1, "previous"),
    ("hubs.csv written", (polygeo.outputs, "write_csv"), 2, "previous"),
    ("GeoPackage half written", (gpd.GeoDataFrame, "to_file"), 2, "previous"),
    ("summary.json written", (polygeo.outputs, "write_json"), "after", "previous"),
    ("run stamped", (polygeo.output_set.OutputSet, "_stamp"), "after", "previous"),
    ("during the swap", (polygeo.output_set, "_exchange"), "before", "new"),
    ("previous set being removed", (polygeo.output_set.shutil, "rmtree"), "before", "new"),
]


@pytest.mark.parametrize(("where", "target", "how", "expect"), POINTS, ids=[p[0] for p in POINTS])
def test_sigint_leaves_the_previous_or_the_new_complete_set(
    tiny, first_set, tmp_path, monkeypatch, where, target, how, expect
):
    out = tmp_path / "out"
    shutil.copytree(first_set, out)
    previous = assert_complete(out)["id"]
    owner, name = target
    original = getattr(owner, name)
    hook = (
        _signal_before(original)
        if how == "before"
        else _signal_after(1 if how == "after" else how, original)
    )
    monkeypatch.setattr(owner, name, hook)
    with pytest.raises(KeyboardInterrupt):
        run_scenario(load_scenario(tiny), out_dir=out, progress=False, overwrite=True)
    monkeypatch.undo()
    found = assert_complete(out)
    assert (found["id"] == previous) == (expect == "previous"), where
    assert leftovers(tmp_path) == []


def polygeo_process(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    return subprocess.Popen(
        [sys.executable, "-m", "polygeo", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _wait_for_run_folder(parent: Path, proc: subprocess.Popen) -> None:
    """Wait until the run has made its temporary folder (Python has imported polygeo)."""
    deadline = time.monotonic() + 60
    while not leftovers(parent) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)


def test_cli_ctrl_c_at_random_moments(tiny, tmp_path):
    out = tmp_path / "out"
    first = polygeo_process("run", str(tiny), "--out", str(out), "--no-progress", "-q")
    _, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    seen = {assert_complete(out)["id"]}
    codes = []
    for delay in (0.0, 0.2, 0.5, 0.9, 1.4):
        proc = polygeo_process("run", str(tiny), "--out", str(out), "--no-progress", "-q")
        _wait_for_run_folder(tmp_path, proc)
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
        assert "Traceback" not in err
        assert proc.returncode in (0, 130), err
        if proc.returncode == 130:
            assert "interrupted: the output folder holds one complete run" in err
        codes.append(proc.returncode)
        found = assert_complete(out)
        if proc.returncode == 0:  # finished before the signal: its own set is in place
            assert found["id"] not in seen
        seen.add(found["id"])  # a Ctrl-C during the swap is held until the new set is in
        assert leftovers(tmp_path) == []
    assert codes[0] == 130


def test_two_concurrent_runs_into_one_folder_never_mix(tiny, tmp_path):
    out = tmp_path / "out"
    runs = [
        polygeo_process("run", str(tiny), "--out", str(out), "--no-progress", "-q")
        for _ in range(2)
    ]
    for proc in runs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    kept = [p for p in tmp_path.iterdir() if p.name.startswith("out-")]
    assert len(kept) == 1
    ids = {assert_complete(out)["id"], assert_complete(kept[0])["id"]}
    assert len(ids) == 2
    assert leftovers(tmp_path) == []


def test_output_folder_checked_before_loading(tiny, tmp_path, monkeypatch):
    loaded = []
    monkeypatch.setattr(polygeo.pipeline, "load_inputs", lambda *a: loaded.append(a))
    a_file = tmp_path / "out"
    a_file.write_text("not a folder")
    with pytest.raises(InputError, match=r"output folder .*out is a file, not a folder"):
        run_scenario(load_scenario(tiny), out_dir=a_file, progress=False)
    read_only = tmp_path / "locked"
    read_only.mkdir()
    read_only.chmod(0o555)
    try:
        with pytest.raises(InputError, match=r"locked is read-only; make it writable"):
            run_scenario(load_scenario(tiny), out_dir=read_only, progress=False)
        with pytest.raises(InputError, match=r"parent folder .*locked is read-only"):
            run_scenario(load_scenario(tiny), out_dir=read_only / "out", progress=False)
    finally:
        read_only.chmod(0o755)
    assert loaded == []


def test_verify_output_set_finds_a_mixed_folder(tiny, tmp_path):
    out = tmp_path / "out"
    run_scenario(load_scenario(tiny), out_dir=out, progress=False)
    (out / "hubs.csv").write_text("site_id\nX\n")
    (out / "stray.csv").write_text("a\n")
    problems = verify_output_set(out)
    assert any(p.startswith("hubs.csv differs") for p in problems)
    assert any(p.startswith("stray.csv is not a file of run") for p in problems)


def test_output_set_discards_its_folder_on_error(tmp_path):
    with pytest.raises(RuntimeError), OutputSet(tmp_path / "out") as output:
        (output.folder / "a.csv").write_text("x\n")
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_files_in_subfolders_belong_to_the_set(tmp_path):
    target = tmp_path / "out"
    with OutputSet(target) as output:
        (output.folder / "report").mkdir()
        (output.folder / "report" / "index.html").write_text("<html></html>")
        (output.folder / "summary.json").write_text("{}")
        output.commit({"scenario_sha256": "0" * 64})
    assert verify_output_set(target) == []
    assert output.path(output.staging / "report" / "index.html") == target / "report/index.html"
    (target / "report" / "index.html").write_text("changed")
    assert verify_output_set(target) == [
        f"report/index.html differs from the file run {output.run_id} wrote"
    ]


def _killed_run(target: Path) -> Path:
    """A run that opened its output set and was killed with SIGKILL (no clean-up)."""
    code = (
        "import os, signal, sys; from polygeo.output_set import OutputSet; "
        "o = OutputSet(sys.argv[1]); o.open(); (o.folder / 'hubs.csv').write_text('x'); "
        "print(o.folder, flush=True); os.kill(os.getpid(), signal.SIGKILL)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(target)], capture_output=True, text=True, check=False
    )
    assert done.returncode == -signal.SIGKILL
    folder = Path(done.stdout.strip())
    assert folder.exists()
    return folder


def test_next_run_removes_the_folder_of_a_killed_run(tiny, tmp_path):
    out = tmp_path / "out"
    killed = _killed_run(out)
    assert leftovers(tmp_path) == [killed.name]
    # a live run's folder (this process's parent) and another host's are left alone
    live = tmp_path / f".out.tmp-20261124T000000Z-000000.{os.getppid()}@{os.uname().nodename}"
    elsewhere = tmp_path / ".out.tmp-20261124T000000Z-000001.1@another-host"
    live.mkdir()
    elsewhere.mkdir()

    run_scenario(load_scenario(tiny), out_dir=out, progress=False)

    assert_complete(out)
    assert leftovers(tmp_path) == sorted([live.name, elsewhere.name])
