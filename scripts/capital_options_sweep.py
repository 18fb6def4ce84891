"""A scripted capital-options sweep on London, and its check against one-by-one runs.

The sweep is built in Python (option sets, minimum populations, travel limits), written
as a sweep file, and run with ``polygeo.sweep_run.run_sweep`` on a 2-worker Dask
``LocalCluster``. With ``--verify`` every variant is then run again on its own with
``polygeo run <variant>/scenario.toml`` (the variant's resolved scenario, solver threads
included) and the two results are compared: the checker's verdict, the solver status,
the objective and the hubs opened. With ``--rerun`` the sweep is run a second time and
must skip every finished variant.

Usage (from the repository root, with ../shared/data beside it)::

    python scripts/capital_options_sweep.py --out /tmp/london-options --verify --rerun

Time-limited MIP solves are not deterministic (the start plan, the neighbourhood
search and HiGHS all stop on the clock), so the comparison reports exactly what
equals what: variants proven optimal must have equal objectives (to HiGHS' 1e-4
relative gap); the others must agree within the gaps they report. With
``--node-limit N`` (and travel limits small enough that the neighbourhood search,
which runs on the clock above 20,000 pairs, stays off) every solve stops on a
deterministic rule and the sweep's plans must equal the one-by-one plans exactly.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
BASE = REPO / "data" / "scenarios" / "london-east-options.toml"

#: The option sets compared: name -> [[options]] entries.
OPTION_SETS = {
    "reuse-all": [{"option": "reuse", "capital_cost": 0}],
    "hospitals-clinics": [
        {"option": "reuse", "capital_cost": 0, "kind": "hospital"},
        {"option": "reuse", "capital_cost": 0, "kind": "clinic"},
    ],
    "refurbish-gps": [
        {"option": "reuse", "capital_cost": 0, "kind": "hospital"},
        {"option": "reuse", "capital_cost": 0, "kind": "clinic"},
        {"option": "refurbish", "capital_cost": 1_500_000, "capacity": 120_000, "kind": "gp"},
    ],
}
MIN_POPULATION = [40_000, 50_000]
LIMIT_MINUTES = [15, 20]


def sweep_text(
    base: Path, out: Path, time_limit: float, limits: list[float], node_limit: int | None
) -> str:
    """The sweep file: 2 minimum populations x 2 travel limits x 3 option sets = 12 variants.

    With ``node_limit`` the solver stops after that many branch-and-bound nodes (a
    deterministic limit, HiGHS ``mip_max_nodes``) and ``time_limit`` is only a safety net.
    """
    from polygeo.sweep import to_toml

    common: dict = {"solver.time_limit": time_limit, "output.map": False}
    if node_limit is not None:
        common["solver.extra"] = {"mip_max_nodes": node_limit}
    data = {
        "name": "London capital options: min population x travel limit x option set",
        "base": str(base),
        "grid": {
            "rules.min_population": MIN_POPULATION,
            "travel.limit_minutes": limits,
            "options": OPTION_SETS,
        },
        "set": common,
        "output": {"dir": str(out / "sweep")},
    }
    return to_toml(data)


def run_alone(scenario: Path, out: Path) -> dict:
    """``polygeo run`` on a variant's own scenario file; its summary.json."""
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "polygeo", "run", str(scenario), "--out", str(out)]
        + ["--no-progress", "--quiet"],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    summary_file = out / "summary.json"
    summary = json.loads(summary_file.read_text()) if summary_file.exists() else {}
    summary["exit"] = result.returncode
    summary["wall_seconds"] = time.perf_counter() - start
    return summary


def compare(sweep, rows: list[dict], out: Path) -> pd.DataFrame:
    """Each variant: the sweep's plan against the same scenario run alone."""
    records = []
    for variant, row in zip(sweep.variants, rows, strict=True):
        alone = run_alone(variant.folder / "scenario.toml", out / "alone" / variant.folder.name)
        mine = json.loads((variant.folder / "summary.json").read_text())
        hubs_a = set(pd.read_csv(variant.folder / "hubs.csv", dtype=str)["site_id"])
        alone_hubs = out / "alone" / variant.folder.name / "hubs.csv"
        hubs_b = set()
        if alone_hubs.exists():
            hubs_b = set(pd.read_csv(alone_hubs, dtype=str)["site_id"])
        obj_a, obj_b = mine["solver"]["objective"], alone.get("solver", {}).get("objective")
        gap = max(mine["solver"].get("gap") or 0, alone.get("solver", {}).get("gap") or 0)
        diff = abs(obj_a - obj_b) / max(abs(obj_a), 1e-9) if obj_b is not None else None
        records.append(
            {
                "variant": variant.name,
                "sweep_status": row["status"],
                "sweep_checked": mine["check"]["valid"],
                "alone_checked": alone.get("check", {}).get("valid"),
                "sweep_optimal": mine["solver"]["optimal"],
                "alone_optimal": alone.get("solver", {}).get("optimal"),
                "sweep_objective": obj_a,
                "alone_objective": obj_b,
                "relative_difference": diff,
                "within_gaps": diff is not None and diff <= gap + 1e-4,
                "same_hubs": hubs_a == hubs_b,
                "sweep_seconds": row.get("seconds"),
                "alone_seconds": round(alone["wall_seconds"], 1),
            }
        )
    return pd.DataFrame(records)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for everything")
    parser.add_argument("--base", type=Path, default=BASE, help="the base scenario")
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per variant")
    parser.add_argument("--limits", type=int, nargs=2, default=LIMIT_MINUTES)
    parser.add_argument("--node-limit", type=int, help="stop each solve after N nodes")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--verify", action="store_true", help="run each variant alone too")
    parser.add_argument("--rerun", action="store_true", help="run the sweep a second time")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()

    from polygeo.sweep import load_sweep
    from polygeo.sweep_run import run_sweep

    args.out.mkdir(parents=True, exist_ok=True)
    sweep_file = args.out / "london-options.sweep.toml"
    text = sweep_text(
        args.base.resolve(), args.out.resolve(), args.time_limit, args.limits, args.node_limit
    )
    sweep_file.write_text(text)
    sweep = load_sweep(sweep_file)
    print(f"{len(sweep.variants)} variants, {args.workers} workers -> {sweep.out_dir}")
    start = time.perf_counter()
    result = run_sweep(sweep, workers=args.workers, progress=True)
    figures = {"sweep_seconds": round(time.perf_counter() - start, 1), "ran": result.ran}
    table = pd.read_csv(result.files["csv"])
    print(table[["name", "status", "polysystems", "mean_minutes", "capital_total", "gap"]])
    print(f"sweep: {figures['sweep_seconds']} s, {result.ran} ran, {len(result.failed)} failed")
    if args.rerun:
        start = time.perf_counter()
        again = run_sweep(load_sweep(sweep_file), workers=args.workers, progress=False)
        figures.update(rerun_seconds=round(time.perf_counter() - start, 1), rerun_ran=again.ran)
        figures["rerun_skipped"] = again.skipped
        print(f"rerun: {figures['rerun_seconds']} s, {again.ran} ran, {again.skipped} skipped")
    if args.verify:
        verdict = compare(sweep, result.rows, args.out)
        pd.set_option("display.width", 200)
        print(verdict.to_string(index=False))
        figures["verify"] = verdict.to_dict("records")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, default=str))


if __name__ == "__main__":
    main()
