"""Start plans and the neighbourhood search, with and without each technique.

Loads an instance as ``polygeo run`` does, builds the model, the greedy start and
the Lagrangian bound, then measures on the same model and start:

* **starts** -- the guided start (greedy repair, :func:`~polygeo.optimise.start.guided_start`)
  from the sites the relaxation opens at its last step, and from the sites it opens
  most often (:func:`~polygeo.optimise.start.frequent_sites`);
* **search** -- the neighbourhood search (:mod:`polygeo.optimise.lns`) from the best
  guided start for the same seconds: as shipped (only the bound's candidate sites,
  one neighbourhood at a time), two neighbourhoods at once in threads (``threads = 2``),
  and with every site. (HiGHS presolve on the sub-models was tried and dropped: no gain.)

Every plan is checked against every row of the model. Usage::

    python scripts/bench_search.py --instance london-ne --seconds 60
    python scripts/bench_search.py --instance london --seconds 120

Figures are in BENCHMARKS.md ("Start plans and the neighbourhood search").
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from optimise_instances import INSTANCES, load

import polygeo.optimise.lns as lns
from polygeo.optimise.problem import build_problem
from polygeo.optimise.progress import Progress
from polygeo.optimise.rules import SolverSettings
from polygeo.optimise.solve import formulate, lower_bound, start_plan
from polygeo.optimise.start import frequent_sites, guided_start


def _minutes(model, v) -> float | None:
    if v is None:
        return None
    assert model.is_feasible(v), "a plan breaks a row of the model"
    return round(model.objective_value(v) / float(model.problem.population.sum()), 4)


def _search(model, v, seconds: float, *, candidates, threads: int) -> dict:
    t = time.perf_counter()
    w = lns.large_neighbourhood_search(
        model, v, seconds=seconds, settings=SolverSettings(name="highs", threads=threads),
        hubs_per_move=8, candidates=candidates,
    )  # fmt: skip
    return {"minutes": _minutes(model, w), "seconds": round(time.perf_counter() - t, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instance", choices=sorted(INSTANCES), default="london-ne")
    parser.add_argument("--seconds", type=float, default=60.0, help="per search variant")
    parser.add_argument("--bound-seconds", type=float, default=45.0)
    args = parser.parse_args()

    areas, sites, table, rules, far, _ = load(args.instance)
    model = formulate(build_problem(areas, sites, table, rules, far_times=far))
    settings = SolverSettings(name="highs", time_limit=args.bound_seconds / 0.15)
    v0 = start_plan(model, settings)
    lb = lower_bound(model, v0, settings, Progress(show=False, start=time.perf_counter()))
    record: dict = {
        "instance": args.instance,
        "pairs": model.n_x,
        "greedy": _minutes(model, v0),
        "bound": round(lb.value / float(model.problem.population.sum()), 4),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    starts = {"last step": lb.selected}
    starts.update({f"{len(s)} most frequent": s for s in frequent_sites(lb.site_frequency)})
    best = v0
    for name, open_sites in starts.items():
        t = time.perf_counter()
        v = guided_start(model, open_sites, improve_seconds=5.0)
        record[f"guided, {name}"] = {
            "minutes": _minutes(model, v), "seconds": round(time.perf_counter() - t, 1)
        }  # fmt: skip
        if v is not None and model.objective_value(v) < model.objective_value(best):
            best = v
    candidates = lns.candidate_sites(lb.site_frequency)
    record["candidate sites"] = f"{int(candidates.sum())} of {model.problem.n_sites}"
    record["search from"] = _minutes(model, best)
    variants = {
        "search, as shipped (threads = 1)": dict(candidates=candidates, threads=1),
        "search, two neighbourhoods at once (threads = 2)": dict(candidates=candidates, threads=2),
        "search, every site": dict(candidates=None, threads=1),
    }
    for name, kw in variants.items():
        record[name] = _search(model, best, args.seconds, **kw)
    print(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
