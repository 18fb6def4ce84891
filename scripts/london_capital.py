"""London capital options as a scripted run: reuse everywhere vs refurbish / new build.

Runs ``data/scenarios/london-capital.toml`` three ways through the Python API, as a
planner's script would:

1. **reuse**: every existing site reused at no cost, no new builds, no budget
   (the capital table of the scenario dropped);
2. **capital**: the scenario as written: reuse / refurbish / new-build options
   with costs and ready years, new-build candidates on a 3 km grid, a hub on a
   hospital site for every borough, a 700 M budget and a 4-year timetable;
3. **budget too small**: the capital scenario with a budget below the cheapest
   100%-coverage plan, which must fail before solving, naming both figures;
4. **cheapest**: the cheapest capital of a plan covering everyone, bracketed before
   any solve (:mod:`polygeo.optimise.cheapest`), then the scenario with a budget 1
   below it (must fail in seconds with both figures) and with the budget equal to
   it (must not fail before the solve).

Each run writes its plan (checked by :func:`polygeo.check`), ``timetable.csv``
and ``summary.json`` with the ``evaluation`` block; the script prints the figures
for BENCHMARKS.md.

Usage::

    python scripts/london_capital.py [--time-limit 300] [--out /tmp/london-capital]
        [--runs reuse,capital,small,cheapest,variants]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

from polygeo.errors import InfeasibleError, SolverError
from polygeo.pipeline import run_scenario
from polygeo.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "data" / "scenarios" / "london-capital.toml"


def figures(out: Path) -> dict:
    summary = json.loads((out / "summary.json").read_text())
    ev = summary["evaluation"]
    row = {
        "hubs": summary["hubs"],
        "coverage": summary["coverage"],
        "capital": ev["value_for_money"]["capital_total"],
        "per_head": ev["value_for_money"]["capital_per_head"],
        "share_reuse": ev["value_for_money"]["share_hubs_reuse"],
        "mean_min": ev["access"]["mean_minutes"],
        "p95_min": ev["access"]["p95_minutes"],
        "within_15": ev["access"]["share_within_minutes"]["15"],
        "gap_d1_d10": ev["inequality"]["mean_minutes_gap_most_vs_least_deprived"],
        "fifth_within_15": ev["inequality"]["most_deprived_fifth_share_within_15"],
        "valid": summary["check"]["valid"],
        "status": summary["solver"]["status"],
        "gap": summary["solver"]["gap"],
        "by_option": summary.get("capital_by_option"),
    }
    if "baseline" in ev:
        row["change_mean_min"] = ev["baseline"]["change"]["access"]["mean_minutes"]
    if "timetable" in summary:
        row["timetable"] = {
            k: summary["timetable"][k]
            for k in ("population_years", "hubs_scheduled", "extra_budget_needed", "spent")
        }
        row["timetable"]["unscheduled"] = len(summary["timetable"]["hubs_unscheduled"])
    return row


def run(name: str, scenario, out: Path, time_limit: float) -> dict:
    t0 = time.perf_counter()
    result = run_scenario(
        scenario, out_dir=out / name, progress=False, overrides={"time_limit": time_limit}
    )
    row = {"run": name, "seconds": round(time.perf_counter() - t0, 1), **figures(out / name)}
    row["violations"] = [str(v) for v in result.violations]
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-limit", type=float, default=300.0)
    parser.add_argument("--out", type=Path, default=Path("/tmp/london-capital"))
    parser.add_argument(
        "--runs", default="reuse,capital,small,cheapest", help="which runs, comma-separated"
    )
    args = parser.parse_args()
    runs = set(args.runs.split(","))
    capital = load_scenario(SCENARIO)
    reuse = dataclasses.replace(
        capital,
        options_file={},
        new_build={},
        timetable={},
        rules={k: v for k, v in capital.rules.items() if k != "budget"},
    )
    rows = []
    for name, scenario in (("reuse", reuse), ("capital", capital)):
        if name in runs:
            rows.append(run(name, scenario, args.out, args.time_limit))
    if "small" in runs:
        rows.append(too_small(capital, args.out))
    if "cheapest" in runs:
        rows += around_the_cheapest(capital, args.out, args.time_limit)
    if "variants" in runs:
        rows += cheapest_variants(capital)
    print(json.dumps(rows, indent=1, default=str))


def too_small(capital, out: Path, budget: float = 5e6, time_limit: float | None = None) -> dict:
    """The capital scenario with a budget below the cheapest 100%-coverage plan."""
    small = dataclasses.replace(capital, rules={**capital.rules, "budget": budget})
    name = f"budget {budget:,.0f}"
    overrides = {} if time_limit is None else {"time_limit": time_limit}
    t0 = time.perf_counter()
    try:
        result = run_scenario(small, out_dir=out / "small", progress=False, overrides=overrides)
    except (InfeasibleError, SolverError) as exc:
        return {
            "run": name,
            "seconds": round(time.perf_counter() - t0, 1),
            "error": str(exc).splitlines()[0],
        }
    row = {"run": name, "seconds": round(time.perf_counter() - t0, 1), "error": None}
    row.update(figures(out / "small"))
    row["violations"] = [str(v) for v in result.violations]
    return row


def cheapest(capital) -> dict:
    """The cheapest capital of a plan covering everyone, bracketed before any solve."""
    from polygeo.optimise import Rules
    from polygeo.optimise.cheapest import cheapest_capital
    from polygeo.optimise.problem import build_problem
    from polygeo.pipeline import (
        load_inputs,
        resolve_site_aliases,
        scenario_options,
        travel_table,
    )

    inputs = load_inputs(capital)
    areas, sites = inputs.areas, inputs.sites
    rules = resolve_site_aliases(Rules.from_dict(capital.rules), sites)
    _, _, table = travel_table(capital, areas, sites, progress=False)
    t0 = time.perf_counter()
    problem = build_problem(areas, sites, table, rules, options=scenario_options(capital, sites))
    t1 = time.perf_counter()
    found = cheapest_capital(problem)
    if found is None:  # the covering MIP has no solution: the diagnosis says why
        return {"run": "cheapest capital", "conflicts": problem.diagnosis.conflicts[:3]}
    return {
        "run": "cheapest capital",
        "diagnosis_infeasible": problem.diagnosis.infeasible,
        "covering_bound": problem.diagnosis.capital_lower_bound,
        "lower": found.lower,
        "upper": found.upper,
        "exact": found.exact,
        "rounds": found.rounds,
        "problem_seconds": round(t1 - t0, 1),
        "seconds": round(found.seconds, 1),
    }


#: Rule changes under which the cheapest capital is bracketed (``--runs variants``).
VARIANTS = {
    "as written": ({}, {}),
    "no hospital rule": ({"kind_in_every_group": None}, {}),
    "min_population 60000": ({"min_population": 60000}, {}),
    "min_population 65000": ({"min_population": 65000}, {}),
    "min_population 70000": ({"min_population": 70000}, {}),
    "18 minutes": ({}, {"limit_minutes": 18}),
    "15 minutes": ({}, {"limit_minutes": 15}),
    "within_group, no hospital rule": ({"within_group": True, "kind_in_every_group": None}, {}),
    "at least 40 hospital hubs": ({"min_hubs_by_kind": {"hospital": 40}}, {}),
    "at most 100 hubs": ({"hubs": {"max": 100}}, {}),
}


def cheapest_variants(capital) -> list[dict]:
    """How often the two figures meet: the cheapest capital under rule changes."""
    rows = []
    for name, (rules, travel) in VARIANTS.items():
        changed = {k: v for k, v in {**capital.rules, **rules}.items() if v is not None}
        scenario = dataclasses.replace(capital, rules=changed, travel={**capital.travel, **travel})
        rows.append({**cheapest(scenario), "run": f"cheapest capital: {name}"})
        print(json.dumps(rows[-1], default=str), flush=True)
    return rows


def around_the_cheapest(capital, out: Path, time_limit: float) -> list[dict]:
    """Budgets 1 below the cheapest capital (fails early) and equal to it (does not)."""
    row = cheapest(capital)
    rows = [row]
    if row["upper"] is not None:
        rows.append(too_small(capital, out, budget=row["lower"] - 1))
        rows.append(too_small(capital, out, budget=row["upper"], time_limit=time_limit))
    return rows


if __name__ == "__main__":
    main()
