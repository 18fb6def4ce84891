"""polygeo's p-median (radius formulation) against spopt's PMedian, both with HiGHS.

Usage::

    pip install -e ".[bench]"          # spopt (a benchmark-only dependency)
    python scripts/bench_spopt.py                      # 300 areas p=10, 1,000 areas p=30
    python scripts/bench_spopt.py --sizes 300 --techniques 300  # each technique off too

Instances: the first N London LSOAs by code (ONS mid-2020 population), every NHS
site within 1 km of them (``read_sites``: GP practices, hospitals, clinics), and
straight-line minutes at 3.12 min/km with no limit; ``min_population = 0`` and
``hubs = p``. Both solvers get the same cost matrix (population x minutes) and
HiGHS's default relative gap (1e-4). polygeo is timed from the frames to a
checked-ready :class:`~polygeo.plan.Plan` (``solve``: reductions, model, radius
rounds, plan); spopt from ``PMedian.from_cost_matrix`` to the end of ``solve``
(the dense matrix is built before). Every polygeo plan is re-checked with
polygeo.check, and spopt's objective is compared with polygeo's.
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

from polygeo.check import check  # noqa: E402
from polygeo.optimise import Rules, SolverSettings, build_model, build_problem, solve  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
HUBS = {300: 10, 1000: 30}
MINUTES_PER_KM = 3.12

#: polygeo runs with one technique off (``--techniques``): keyword -> what it turns off.
TECHNIQUES = {
    "dedupe": "levels: equal costs of an area share one level",
    "start": "swap-heuristic start plan and the first radius around it",
    "lp_phase": "widen the radius with LP rounds before the MIP",
    "radius": "radius: only the first levels of each area (all levels instead)",
}


def load(n: int):
    """The first ``n`` London LSOAs by code, NHS sites within 1 km, minutes with no limit."""
    from polygeo.io import read_areas, read_sites
    from polygeo.travel import StraightLine

    london = DATA / "london"
    areas = read_areas(
        london / "london-2011-lsoa-gen20.shp",
        london / "london-mid2020-pop.csv",
        id="LSOA11CD",
        population_column="Persons_All-Ages",
        crs="EPSG:27700",
    )
    areas = areas.sort_values("area_id").head(n).reset_index(drop=True)
    files = (("GPPractices.csv", "gp"), ("Hospital.csv", "hospital"), ("Clinics.csv", "clinic"))
    sources = [{"path": str(DATA / "nhs" / f), "kind": k} for f, k in files]
    sites = read_sites(sources, crs="EPSG:27700", study_area=areas, within_m=1000)
    table = StraightLine(MINUTES_PER_KM).travel_times(areas, sites, limit=None, progress=False)
    return areas, sites, table


def run_polygeo(areas, sites, table, rules: Rules, **kwargs: Any) -> dict[str, Any]:
    t = time.perf_counter()
    plan = solve(areas, sites, table, rules, **kwargs)
    seconds = time.perf_counter() - t
    violations = check(plan, areas, sites, table, rules)
    s = plan.solver
    return {
        "seconds": seconds,
        "objective": s["objective"],
        "bound": s["bound"],
        "gap": s["gap"],
        "status": s["status"],
        "formulation": s.get("formulation", "general"),
        "pmedian": s.get("pmedian"),
        "violations": len(violations),
        "hubs": sorted(plan.hubs["site_id"]),
    }


def run_radius_only(
    areas, sites, table, rules: Rules, limit: float, **techniques: bool
) -> dict[str, Any]:
    """The radius solve alone, with techniques switched off (no plan, no checker)."""
    from polygeo.optimise.pmedian import solve_pmedian

    t = time.perf_counter()
    model = build_model(build_problem(areas, sites, table, rules))
    sol = solve_pmedian(model, SolverSettings(time_limit=limit), **techniques)
    seconds = time.perf_counter() - t
    ok = model.is_feasible(sol.values)
    return {
        "seconds": seconds,
        "objective": model.objective_value(sol.values),
        "bound": sol.bound,
        "status": sol.status,
        "feasible": ok,
        "pmedian": sol.stats,
    }


def run_spopt(areas, table, p: int) -> dict[str, Any]:
    try:
        import pulp
        from spopt.locate import PMedian
    except ImportError:
        raise SystemExit(
            'spopt is not installed: pip install -e ".[bench]" (or pip install spopt)'
        ) from None
    n = len(areas)
    codes_a = table["area_id"].cat.codes.to_numpy()
    codes_s = table["site_id"].cat.codes.to_numpy()
    cost = np.full((n, codes_s.max() + 1), np.inf)
    cost[codes_a, codes_s] = table["minutes"].to_numpy(float)
    if not np.isfinite(cost).all():
        raise SystemExit("the table must hold every (area, site) pair (no limit)")
    weights = areas["population"].to_numpy(float)
    t = time.perf_counter()
    model = PMedian.from_cost_matrix(cost, weights, p_facilities=p)
    model = model.solve(pulp.HiGHS(msg=False))
    seconds = time.perf_counter() - t
    objective = float(model.problem.objective.value())
    open_sites = [j for j, v in enumerate(model.fac_vars) if v.value() > 0.5]
    names = table["site_id"].cat.categories.astype(str)
    return {
        "seconds": seconds,
        "objective": objective,
        "status": pulp.LpStatus[model.problem.status],
        "hubs": sorted(names[open_sites]),
    }


def bench(n: int, techniques: float, general: bool, spopt: bool = True) -> dict[str, Any]:
    p = HUBS.get(n, max(1, n // 33))
    t = time.perf_counter()
    areas, sites, table = load(n)
    r: dict[str, Any] = {
        "areas": len(areas),
        "sites": len(sites),
        "pairs": len(table),
        "p": p,
        "load_seconds": time.perf_counter() - t,
    }
    rules = Rules(min_population=0, hubs=p)
    r["polygeo"] = run_polygeo(areas, sites, table, rules)
    if spopt:
        r["spopt"] = run_spopt(areas, table, p)
        r["speedup"] = r["spopt"]["seconds"] / r["polygeo"]["seconds"]
        ref = r["spopt"]["objective"]
        r["objective_rel_diff"] = (r["polygeo"]["objective"] - ref) / ref
    if techniques:
        r["without"] = {
            k: run_radius_only(areas, sites, table, rules, techniques, **{k: False})
            for k in TECHNIQUES
        }
    if general:
        r["general"] = run_polygeo(areas, sites, table, rules, pmedian=False)
    return r


def machine() -> dict[str, Any]:
    import highspy

    return {
        "date": dt.date.today().isoformat(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "highspy": getattr(highspy, "__version__", "?"),
    }


def report(results: list[dict[str, Any]]) -> None:
    print("| areas x sites | p | polygeo | spopt PMedian | speed-up | polygeo obj. | spopt obj. |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        pg, sp = r["polygeo"], r.get("spopt", {"seconds": np.nan, "objective": np.nan, "hubs": []})
        print(
            f"| {r['areas']:,} x {r['sites']:,} | {r['p']} | {pg['seconds']:.2f} s | "
            f"{sp['seconds']:.1f} s | {r.get('speedup', np.nan):.1f}x | {pg['objective']:,.1f} | "
            f"{sp['objective']:,.1f} |"
        )
    for r in results:
        pg = r["polygeo"]
        print(
            f"\n{r['areas']} areas: polygeo {pg['status']} ({pg['formulation']}), bound "
            f"{pg['bound']:,.1f}, checker violations {pg['violations']}; same hubs as spopt: "
            f"{pg['hubs'] == r.get('spopt', {}).get('hubs')}; objective difference "
            f"{r.get('objective_rel_diff', np.nan):.2e}; radius stats {pg['pmedian']}"
        )
        for k, w in r.get("without", {}).items():
            print(
                f"  without {k} ({TECHNIQUES[k]}): {w['seconds']:.2f} s, objective "
                f"{w['objective']:,.1f}, {w['status']}, {w['pmedian']}"
            )
        if "general" in r:
            g = r["general"]
            print(f"  general model (pmedian=False): {g['seconds']:.1f} s, {g['objective']:,.1f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", default="300,1000", help="numbers of areas (default 300,1000)")
    ap.add_argument(
        "--techniques",
        type=float,
        default=0,
        metavar="SECONDS",
        help="also run with each technique off, each run stopped after SECONDS",
    )
    ap.add_argument("--general", action="store_true", help="also run the general model")
    ap.add_argument("--no-spopt", action="store_true", help="polygeo only (technique runs)")
    ap.add_argument("--json", type=Path, help="write every figure to this file")
    args = ap.parse_args()
    if not DATA.is_dir():
        raise SystemExit(f"no data at {DATA}: see data/README.md")
    info = machine()
    print(f"# {info}")
    sizes = [int(n) for n in args.sizes.split(",")]
    results = [bench(n, args.techniques, args.general, not args.no_spopt) for n in sizes]
    report(results)
    bad = [
        r
        for r in results
        if r["polygeo"]["violations"] or abs(r.get("objective_rel_diff", 0.0)) > 1e-4
    ]
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "results": results}, indent=2))
    print(f"\nload average at the end: {os.getloadavg()}")
    if bad:
        raise SystemExit("a polygeo plan broke a rule or missed spopt's objective")


if __name__ == "__main__":
    main()
