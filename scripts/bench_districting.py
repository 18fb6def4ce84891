"""Benchmark polygeo on the published districting optima (Validi, Buchanan, Lykhovyd 2022).

Usage::

    python scripts/bench_districting.py                         # all six states, both variants
    python scripts/bench_districting.py --states ME,NM --variants contiguous
    python scripts/bench_districting.py --methods solve,cuts,flow --time-limit 120

Six US states at county level (``../shared/data/districting``, posed as its README
says): the Hess model (k centres, district populations in [L, U], least
population-weighted squared distance) without and with contiguous districts, both
with published proven optima. Every plan is re-checked with the independent
``polygeo.check`` (contiguity recomputed from ``edges.csv``) and compared with the
published optimum.

Methods (contiguous variant only; without contiguity every method is plain
:func:`polygeo.optimise.solve`), all through :func:`polygeo.optimise.solve`:

``solve``
    As it is: the flow model up to ``polygeo.optimise.flow.FLOW_MAX_ARCS`` arcs,
    else the cut loop.
``cuts``
    Always the cut loop: solve, add a cut per stray catchment piece, solve again
    (keeping the best repaired contiguous plan and the best bound between rounds).
``flow``
    Always Shirabe's single-commodity flow model (:mod:`polygeo.optimise.flow`).

``--no-location-allocation`` turns off the location-allocation start
(:mod:`polygeo.optimise.centres`), to measure what it pays.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from districting import STATES, load_state  # noqa: E402

from polygeo.check import check  # noqa: E402
from polygeo.errors import PolygeoError  # noqa: E402
from polygeo.optimise import SolverSettings, solve  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "districting"


def run_method(inst, method: str, time_limit: float, location: bool = True) -> Any:
    """Solve one instance with one method; return the plan."""
    import polygeo.optimise.centres as centres
    import polygeo.optimise.flow as flow

    default = flow.FLOW_MAX_ARCS
    search = centres.SEARCH_SECONDS
    flow.FLOW_MAX_ARCS = {"solve": default, "cuts": -1, "flow": 10**12}[method]
    centres.SEARCH_SECONDS = search if location else 0.0
    try:
        return solve(
            inst.areas,
            inst.sites,
            inst.travel,
            inst.rules,
            adjacency=inst.adjacency,
            solver=SolverSettings(time_limit=time_limit),
        )
    finally:
        flow.FLOW_MAX_ARCS = default
        centres.SEARCH_SECONDS = search


def measure(
    state: str, contiguous: bool, method: str, time_limit: float, location: bool = True
) -> dict[str, Any]:
    inst = load_state(DATA, state, contiguous=contiguous)
    row: dict[str, Any] = {
        "state": state,
        "contiguous": contiguous,
        "method": method if contiguous else "solve",
        "published": inst.published / 1e6,
        "location_allocation": location,
    }
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        plan = run_method(inst, method, time_limit, location)
    except PolygeoError as exc:
        row.update(seconds=time.perf_counter() - t0, cpu=time.process_time() - c0)
        row.update(error=str(exc)[:200], load=os.getloadavg()[0])
        return row
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    violations = check(
        plan, inst.areas, inst.sites, inst.travel, inst.rules, adjacency=inst.adjacency
    )
    objective = plan.solver["objective"] / 1e6
    bound = plan.solver.get("bound")
    row.update(
        seconds=seconds,
        cpu=cpu,
        load=os.getloadavg()[0],
        objective=objective,
        bound=None if bound is None else bound / 1e6,
        status=plan.solver["status"],
        rounds=plan.solver.get("rounds"),
        cuts=plan.solver.get("cuts"),
        violations=len(violations),
        # the published optima are printed to 0.01
        matches=abs(objective - inst.published / 1e6) <= 0.006,
    )
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--states", default=",".join(STATES))
    ap.add_argument("--variants", default="plain,contiguous")
    ap.add_argument("--methods", default="solve", help="for the contiguous variant")
    ap.add_argument("--time-limit", type=float, default=120.0)
    ap.add_argument("--json", type=Path)
    ap.add_argument(
        "--no-location-allocation",
        action="store_true",
        help="turn off the location-allocation start (to measure it)",
    )
    args = ap.parse_args()
    rows = []
    print(
        f"# {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, "
        f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}, location-allocation "
        f"{'off' if args.no_location_allocation else 'on'}"
    )
    print(
        "| state | contiguous | method | seconds | CPU s | load | objective | published "
        "| match | checked | status |"
    )
    print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- | --- |")
    for variant in args.variants.split(","):
        contiguous = variant == "contiguous"
        methods = args.methods.split(",") if contiguous else ["solve"]
        for state in args.states.split(","):
            for method in methods:
                r = measure(
                    state,
                    contiguous,
                    method,
                    args.time_limit,
                    not args.no_location_allocation,
                )
                rows.append(r)
                if "error" in r:
                    print(
                        f"| {state} | {contiguous} | {r['method']} | {r['seconds']:.1f} | "
                        f"{r['cpu']:.1f} | {r['load']:.1f} | - | "
                        f"{r['published']:.2f} | no | - | {r['error']} |",
                        flush=True,
                    )
                    continue
                print(
                    f"| {state} | {contiguous} | {r['method']} | {r['seconds']:.1f} | "
                    f"{r['cpu']:.1f} | {r['load']:.1f} | {r['objective']:.2f} | "
                    f"{r['published']:.2f} | "
                    f"{'yes' if r['matches'] else 'NO'} | "
                    f"{'ok' if r['violations'] == 0 else str(r['violations']) + ' violations'} | "
                    f"{r['status']} |",
                    flush=True,
                )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1, default=float))
    np.seterr(all="ignore")


if __name__ == "__main__":
    main()
