"""Benchmark the optimiser: reductions, model build, start plan, search and solve.

Usage::

    python scripts/bench_optimise.py                       # generated 1,024 x 200, 120 s solves
    python scripts/bench_optimise.py --time-limit 300 --instances generated,london-ne
    python scripts/bench_optimise.py --instances london-size --solvers none   # build only

Instances:

``generated``
    32 x 32 grid of 570 m squares (1,024 areas of 1,500-2,000 people), 200 sites at
    random area centres, straight line 3.12 min/km, 20 min limit.
``generated-8min``
    The same with an 8 minute limit: some sites cannot reach 50,000 people and some
    areas have one viable site, so the reductions have work to do.
``london-size``
    70 x 70 grid (4,900 areas), 1,200 sites, same speeds: the size of all London.
``london-ne``
    The real north-east London sector (8 boroughs) from ../shared/data through
    polygeo.io and polygeo.travel (data/scenarios/london-north-east.toml).

Every plan is re-checked with polygeo.check. Prints a Markdown table and, with
``--json``, writes every figure.
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from polygeo.check import check  # noqa: E402
from polygeo.errors import PolygeoError  # noqa: E402
from polygeo.optimise import Rules, SolverSettings, build_model, build_problem, solve  # noqa: E402
from polygeo.optimise.backends import HighsBackend, PulpBackend  # noqa: E402
from polygeo.optimise.diagnose import diagnose  # noqa: E402
from polygeo.optimise.start import greedy_assignment, greedy_start, start_vector  # noqa: E402
from polygeo.optimise.synthetic import grid_instance  # noqa: E402

RULES = Rules(min_population=50_000)


def load(name: str):
    if name == "generated":
        return grid_instance(32, 32, cell=570, sites=200, seed=1, minutes_per_km=3.12, limit=20)
    if name == "generated-8min":
        return grid_instance(32, 32, cell=570, sites=200, seed=1, minutes_per_km=3.12, limit=8)
    if name == "london-size":
        return grid_instance(70, 70, cell=570, sites=1200, seed=1, minutes_per_km=3.12, limit=20)
    if name == "london-ne":
        from polygeo.pipeline import load_inputs, travel_table
        from polygeo.scenario import load_scenario

        scenario = load_scenario(ROOT / "data" / "scenarios" / "london-north-east.toml")
        inputs = load_inputs(scenario)
        _, limit, table = travel_table(scenario, inputs.areas, inputs.sites, progress=False)
        return inputs.areas, inputs.sites, table
    raise SystemExit(f"unknown instance {name!r}")


def timed(fn, *args, **kwargs):
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t


def bench(name: str, solvers: list[str], time_limit: float) -> dict[str, Any]:
    (areas, sites, table), t_load = timed(load, name)
    r: dict[str, Any] = {
        "instance": name,
        "areas": len(areas),
        "sites": len(sites),
        "pairs": len(table),
        "population": float(areas["population"].sum()),
        "load_seconds": t_load,
    }
    d, r["diagnose_seconds"] = timed(diagnose, areas, sites, table, RULES)
    r["diagnosis_ok"] = d.ok
    for reduce in (False, True):
        prob, t = timed(build_problem, areas, sites, table, RULES, reduce=reduce)
        key = "reduced" if reduce else "raw"
        r[f"problem_{key}_seconds"] = t
        r[f"pairs_{key}"] = prob.stats["pairs"]
        r[f"sites_{key}"] = prob.stats["sites_in_model"]
        r["areas_fixed"] = prob.stats["areas_fixed"]
    for linking in ("disaggregated", "aggregated"):
        model, t = timed(build_model, prob, linking=linking)
        r[f"model_{linking}_seconds"] = t
        r[f"rows_{linking}"] = model.n_rows
        r[f"nonzeros_{linking}"] = model.A.nnz
    model = build_model(prob)
    r["columns"] = model.n_cols
    _, r["highs_pass_seconds"] = timed(HighsBackend, model, SolverSettings())
    if "cbc" in solvers or name != "london-size":
        _, r["pulp_build_seconds"] = timed(PulpBackend, model, SolverSettings(name="cbc"))
    choice, r["greedy_seconds"] = timed(greedy_assignment, model)
    v = start_vector(model, choice) if choice is not None else None
    r["greedy_objective"] = model.objective_value(v) if v is not None else None
    v, r["start_seconds"] = timed(greedy_start, model, improve_seconds=30)
    r["start_objective"] = model.objective_value(v) if v is not None else None
    for solver in solvers:
        if solver == "none":
            continue
        variants = [("default", {})]
        if solver == "highs":
            variants.append(("no-lns", {"lns_seconds": 0}))
            variants.append(("no-start", {"lns_seconds": 0, "start": False}))
            if r["pairs_raw"] != r["pairs_reduced"] or r["areas_fixed"]:
                variants.append(("no-reduce", {"lns_seconds": 0, "reduce": False}))
        for label, kw in variants:
            settings = SolverSettings(name=solver, time_limit=time_limit, gap=0.01)
            try:
                plan, t = timed(solve, areas, sites, table, RULES, solver=settings, **kw)
            except PolygeoError as exc:
                r[f"{solver}/{label}"] = {"error": f"{type(exc).__name__}: {str(exc)[:120]}"}
                continue
            violations = check(plan, areas, sites, table, RULES)
            s = plan.solver
            r[f"{solver}/{label}"] = {
                "seconds": t,
                "status": s["status"],
                "objective": s["objective"],
                "bound": s["bound"],
                "gap": s["gap"],
                "start_objective": s["start_objective"],
                "lns_objective": s["lns_objective"],
                "build_seconds": s["build_seconds"],
                "solve_seconds": s["solve_seconds"],
                "hubs": len(plan.hubs),
                "mean_minutes": plan.metrics()["mean_minutes"],
                "violations": len(violations),
            }
    return r


def markdown(results: list[dict[str, Any]], solvers: list[str]) -> str:
    lines = []
    for r in results:
        lines.append(
            f"**{r['instance']}**: {r['areas']:,} areas, {r['sites']:,} sites, "
            f"{r['pairs']:,} pairs, {r['population']:,.0f} people"
        )
        lines.append("")
        lines.append("| step | figure |")
        lines.append("| --- | --- |")
        lines.append(f"| diagnose | {r['diagnose_seconds']:.2f} s |")
        lines.append(
            f"| problem + reductions | {r['problem_reduced_seconds']:.2f} s; pairs "
            f"{r['pairs_raw']:,} -> {r['pairs_reduced']:,}, sites {r['sites_raw']} -> "
            f"{r['sites_reduced']}, {r['areas_fixed']} areas fixed |"
        )
        for linking in ("disaggregated", "aggregated"):
            lines.append(
                f"| model build ({linking}) | {r[f'model_{linking}_seconds']:.2f} s; "
                f"{r['columns']:,} columns, {r[f'rows_{linking}']:,} rows, "
                f"{r[f'nonzeros_{linking}']:,} nonzeros |"
            )
        lines.append(f"| pass to HiGHS (arrays) | {r['highs_pass_seconds']:.2f} s |")
        if "pulp_build_seconds" in r:
            lines.append(f"| PuLP model from arrays | {r['pulp_build_seconds']:.2f} s |")
        if r["greedy_objective"] is not None:
            lines.append(
                f"| greedy plan | {r['greedy_seconds']:.2f} s, objective "
                f"{r['greedy_objective']:,.0f} |"
            )
        if r["start_objective"] is not None:
            lines.append(
                f"| greedy + local search | {r['start_seconds']:.2f} s, objective "
                f"{r['start_objective']:,.0f} |"
            )
        for key, s in r.items():
            if "/" not in key:
                continue
            if "error" in s:
                lines.append(f"| solve {key} | {s['error']} |")
                continue
            bound = "n/a" if s["bound"] is None else f"{s['bound']:,.0f}"
            gap = "n/a" if s["gap"] is None else f"{s['gap']:.2%}"
            lns = "" if s["lns_objective"] is None else f", after LNS {s['lns_objective']:,.0f}"
            lines.append(
                f"| solve {key} | {s['seconds']:.0f} s, {s['status']}, objective "
                f"{s['objective']:,.0f}{lns}, bound {bound}, gap {gap}, {s['hubs']} hubs, "
                f"mean {s['mean_minutes']:.2f} min, {s['violations']} violations |"
            )
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--instances", default="generated")
    ap.add_argument("--solvers", default="highs,cbc")
    ap.add_argument("--time-limit", type=float, default=120.0)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    solvers = args.solvers.split(",")
    header = (
        f"{dt.date.today().isoformat()}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}; "
        f"`python scripts/bench_optimise.py {' '.join(sys.argv[1:])}`"
    )
    print(header + "\n", flush=True)
    results = []
    for name in args.instances.split(","):
        results.append(bench(name, solvers, args.time_limit))
        print(markdown(results[-1:], solvers), flush=True)
        if args.json:
            args.json.write_text(json.dumps({"header": header, "results": results}, indent=2))


if __name__ == "__main__":
    main()
