"""The optimiser at scale: gap against time on real instances, with and without each technique.

Runs what ``polygeo run`` runs (load the scenario, travel table, solve, independent
check) in this process and prints one JSON record per run: wall time from the start
(loading included), the gap at given times (from ``solver.trace``), peak memory,
hubs, the checker's verdict. Usage::

    python scripts/bench_london.py --instance london --time-limit 600 --marks 60,300,600
    python scripts/bench_london.py --instance london-ne --time-limit 300
    python scripts/bench_london.py --instance demo --time-limit 30 --gap 0.01
    python scripts/bench_london.py --instance hackney --gap 0
    python scripts/bench_london.py --instance boroughs --time-limit 600
    python scripts/bench_london.py --instance england --time-limit 1800 --gap 0.05
    python scripts/bench_london.py --instance london-ne --without bound   # or fixing, lns, start
    python scripts/bench_london.py --instance boroughs --without parts    # one model, not per group
    python scripts/bench_london.py --instance london-ne-contiguous --time-limit 600
    python scripts/bench_london.py --instance london-ne-contiguous --without connect

Instances: see scripts/optimise_instances.py. Figures are in BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from optimise_instances import INSTANCES, load

from polygeo.check import check
from polygeo.optimise import SolverSettings, solve

TECHNIQUES = {
    "bound": {"bound": False},
    "fixing": {"fixing": False},
    "lns": {"lns_seconds": 0.0},
    "start": {"start": False},
    "parts": {"decompose": False},
    # contiguous instances: the contiguity-keeping search alone (no search without the
    # rule and mending, polygeo/optimise/connect.py)
    "connect": {},
}


def gap_at(trace: list[list[float | None]], seconds: float, offset: float) -> float | None:
    """The gap known at ``seconds`` of wall time (the trace counts from the solve's start)."""
    objective = bound = None
    for t, obj, bnd in trace:
        if t + offset > seconds:
            break
        objective, bound = obj, bnd
    if objective is None or bound is None or objective == 0:
        return None
    return max(objective - bound, 0.0) / abs(objective)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instance", choices=sorted(INSTANCES), default="london")
    parser.add_argument("--time-limit", type=float, default=None)
    parser.add_argument("--gap", type=float, default=None)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--marks", default="60,300,600", help="wall seconds to report gaps at")
    parser.add_argument("--without", default="", help=f"comma list of {sorted(TECHNIQUES)}")
    parser.add_argument(
        "--lns-seconds",
        type=float,
        default=None,
        help="neighbourhood search budget (default: the driver's share)",
    )
    parser.add_argument("--progress", action="store_true")
    parser.add_argument("--json", type=Path, default=None, help="append the record to this file")
    args = parser.parse_args()

    t0 = time.perf_counter()
    areas, sites, table, rules, far, scenario_solver = load(args.instance)
    loaded = time.perf_counter() - t0
    settings = SolverSettings(
        name="highs",
        time_limit=args.time_limit if args.time_limit is not None else scenario_solver.time_limit,
        gap=args.gap if args.gap is not None else scenario_solver.gap,
        threads=args.threads if args.threads is not None else scenario_solver.threads,
    )
    kwargs: dict = {} if args.lns_seconds is None else {"lns_seconds": args.lns_seconds}
    for name in filter(None, args.without.split(",")):
        kwargs.update(TECHNIQUES[name])
        if name == "connect":
            # the module itself: ``import polygeo.optimise.solve as m`` gives the function
            # ``polygeo.optimise.solve``, which the package exports under the same name
            solve_module = importlib.import_module("polygeo.optimise.solve")
            solve_module.CONTIGUOUS_SEARCH = False
    t1 = time.perf_counter()
    plan = solve(
        areas, sites, table, rules, far_times=far, solver=settings, progress=args.progress, **kwargs
    )
    solved = time.perf_counter()
    violations = check(plan, areas, sites, table, rules)
    s = plan.solver
    population = float(areas["population"].sum())
    marks = [float(m) for m in args.marks.split(",") if m]
    offset = t1 - t0
    record = {
        "instance": args.instance,
        "without": args.without or None,
        "areas": len(areas),
        "sites": len(sites),
        "pairs": len(table),
        "time_limit": settings.time_limit,
        "gap_target": settings.gap,
        "load_seconds": round(loaded, 1),
        "wall_seconds": round(solved - t0, 1),
        "status": s["status"],
        "objective": s["objective"],
        "bound": s["bound"],
        "gap": s["gap"],
        "mean_minutes": s["objective"] / population if rules.objective == "travel" else None,
        "bound_minutes": (s["bound"] or 0) / population if rules.objective == "travel" else None,
        "lagrangian_bound": s.get("lagrangian_bound"),
        "solver_bound": s.get("solver_bound"),
        "pairs_after_fixing": s.get("pairs_after_fixing"),
        "hubs": len(plan.hubs),
        "gap_at": {str(int(m)): gap_at(s["trace"], m, offset) for m in marks},
        "first_plan_seconds": next(
            (round(t + offset, 1) for t, obj, _ in s["trace"] if obj is not None), None
        ),
        "peak_memory_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        # the largest worker process (parts, neighbourhoods), forked: shares the parent's pages
        "peak_worker_memory_mb": round(
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        ),
        "violations": len(violations),
        "parts": len(s.get("parts", [])) or None,
        "part_gaps": {row["name"]: row["gap"] for row in s.get("parts", [])} or None,
        "worst_part": max(
            ((row["gap"], row["name"]) for row in s.get("parts", []) if row["gap"] is not None),
            default=None,
        ),
        "load_average": os.getloadavg(),
    }
    text = json.dumps(record)
    print(text)
    if args.json is not None:
        with args.json.open("a") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
