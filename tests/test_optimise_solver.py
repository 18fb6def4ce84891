"""Solver choice, limits, and agreement between HiGHS, CBC and model variants.

Time limits are made deterministic with ``time_limit=0``: the solver stops before
its first node, so it either holds the greedy start plan handed to it (a
feasible plan, not proven optimal) or nothing at all (``start=False``).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from polygeo.check import assert_valid
from polygeo.errors import InputError, SolverError
from polygeo.optimise import Rules, SolverSettings, solve
from polygeo.optimise.synthetic import grid_instance

RULES = Rules(min_population=10_000)


@pytest.fixture(scope="module")
def medium():
    return grid_instance(8, 8, sites=20, seed=3, limit=15)


@pytest.mark.parametrize("name", ["highs", "cbc"])
def test_time_limit_with_a_start_plan_returns_it_flagged(medium, name):
    areas, sites, table = medium
    plan = solve(areas, sites, table, RULES, solver=SolverSettings(name=name, time_limit=0))
    assert plan.solver["status"] == "time_limit_feasible"
    assert plan.solver["optimal"] is False
    assert plan.solver["objective"] == pytest.approx(plan.solver["start_objective"])
    assert_valid(plan, areas, sites, table, RULES)
    assert plan.metrics()["coverage"] == 1.0


@pytest.mark.parametrize("name", ["highs", "cbc"])
def test_time_limit_without_any_plan_raises(medium, name):
    areas, sites, table = medium
    with pytest.raises(SolverError, match="time limit of 0 s without finding any feasible plan"):
        solve(
            areas,
            sites,
            table,
            RULES,
            solver=SolverSettings(name=name, time_limit=0),
            start=False,
        )


def test_optimal_beats_the_start_and_reports_bound_and_gap(medium):
    areas, sites, table = medium
    plan = solve(areas, sites, table, RULES, solver=SolverSettings(gap=0.0))
    s = plan.solver
    assert s["status"] == "optimal" and s["optimal"] is True
    assert s["objective"] <= s["start_objective"] + 1e-6
    assert s["bound"] == pytest.approx(s["objective"], rel=1e-6)
    assert s["gap"] == pytest.approx(0.0, abs=1e-6)
    assert s["build_seconds"] >= 0 and s["solve_seconds"] >= 0
    assert_valid(plan, areas, sites, table, RULES)


@pytest.mark.parametrize("seed", [1, 3, 4, 5])
def test_highs_and_cbc_agree(seed):
    areas, sites, table = grid_instance(6, 5, sites=8, seed=seed, limit=9)
    rules = Rules(min_population=7000)
    a = solve(areas, sites, table, rules, solver=SolverSettings(name="highs", gap=0.0))
    b = solve(areas, sites, table, rules, solver=SolverSettings(name="cbc", gap=0.0))
    assert a.solver["objective"] == pytest.approx(b.solver["objective"], rel=1e-9)
    assert a.solver["name"] == "highs" and b.solver["name"] == "cbc"
    for plan in (a, b):
        assert_valid(plan, areas, sites, table, rules)


def test_linking_variants_and_start_agree(medium):
    areas, sites, table = medium
    exact = SolverSettings(gap=0.0)
    plans = [
        solve(areas, sites, table, RULES, solver=exact),
        solve(areas, sites, table, RULES, solver=exact, linking="aggregated"),
        solve(areas, sites, table, RULES, solver=exact, start=False),
    ]
    objs = [plan.solver["objective"] for plan in plans]
    assert objs == pytest.approx([objs[0]] * 3, rel=1e-9)
    for plan in plans:
        assert_valid(plan, areas, sites, table, RULES)


def test_solver_by_name_string_and_pulp_highs(medium):
    areas, sites, table = grid_instance(4, 3, sites=4, seed=1, limit=10)
    rules = Rules(min_population=5000)
    a = solve(areas, sites, table, rules, solver="cbc")
    b = solve(areas, sites, table, rules, solver=SolverSettings(name="HiGHS", gap=0.0))
    assert a.solver["objective"] == pytest.approx(b.solver["objective"], rel=1e-6)
    assert b.solver["name"] == "HiGHS"
    for plan in (a, b):
        assert_valid(plan, areas, sites, table, rules)


def test_unknown_and_missing_solvers():
    areas, sites, table = grid_instance(4, 3, sites=4, seed=1, limit=10)
    rules = Rules(min_population=5000)
    with pytest.raises(InputError, match="unknown solver 'gurobby'"):
        solve(areas, sites, table, rules, solver="gurobby")
    with pytest.raises(SolverError, match="not available"):
        solve(areas, sites, table, rules, solver="CPLEX_CMD")


def test_highs_options_pass_through_and_bad_ones_are_input_errors(medium):
    areas, sites, table = medium
    plan = solve(
        areas,
        sites,
        table,
        RULES,
        solver=SolverSettings(threads=1, gap=0.5, extra={"random_seed": 7}),
    )
    # stopped within the requested gap: only a gap at the default tolerance is "proven"
    assert plan.solver["status"] in ("optimal", "gap_limit")
    assert plan.solver["gap"] <= 0.5
    assert plan.solver["optimal"] == (plan.solver["gap"] <= 1e-4)
    assert plan.solver["optimal"] == (plan.solver["status"] == "optimal")
    assert_valid(plan, areas, sites, table, RULES)
    with pytest.raises(InputError, match="no_such_option"):
        solve(areas, sites, table, RULES, solver=SolverSettings(extra={"no_such_option": 1}))


def test_quiet_by_default(capfd):
    areas, sites, table = grid_instance(4, 3, sites=4, seed=1, limit=10)
    solve(areas, sites, table, Rules(min_population=5000))
    solve(areas, sites, table, Rules(min_population=5000), solver="cbc")
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_contiguity_round_limit_is_a_solver_error(monkeypatch):
    import numpy as np

    # small models get the flow formulation (one solve); force the cut rounds
    monkeypatch.setattr("polygeo.optimise.flow.FLOW_MAX_ARCS", -1)

    rng = np.random.default_rng(18)
    pop = rng.choice([200, 500, 3000], size=12)
    areas, sites, table = grid_instance(4, 3, population=pop, sites=3, seed=18, limit=12)
    rules = Rules(min_population=float(pop.sum()) / 3.2, contiguous=True)
    with pytest.raises(SolverError, match="1 rounds"):
        solve(areas, sites, table, rules, start=False, max_rounds=1)


@pytest.mark.parametrize(
    "kw, threads",
    [
        ({}, None),
        ({"hubs": {"max": 9}, "budget": 8e6}, None),
        ({"within_group": True}, None),
        ({"contiguous": True}, None),
        # two neighbourhoods at once, in worker processes, under the rows shared by all
        ({"hubs": {"max": 9}, "budget": 8e6}, 2),
    ],
    ids=["plain", "hubs+budget", "within_group", "contiguous", "hubs+budget, 2 workers"],
)
def test_large_neighbourhood_search_improves_and_stays_valid(kw, threads):
    import numpy as np
    import pandas as pd

    groups = np.where(np.arange(100) % 10 < 5, "west", "east")
    areas, sites, table = grid_instance(10, 10, sites=30, seed=7, limit=12, groups=groups)
    options = pd.DataFrame(
        {
            "site_id": sites["site_id"],
            "option": "reuse",
            "capital_cost": np.arange(len(sites)) % 3 * 1e6,
            "capacity": np.nan,
        }
    )
    rules = Rules(min_population=15_000, **kw)
    plan = solve(
        areas,
        sites,
        table,
        rules,
        options=options,
        solver=SolverSettings(time_limit=2.5, threads=threads),
        lns_seconds=1.5,
        decompose=False,  # the search on one model holding both groups
    )
    s = plan.solver
    assert s["lns_objective"] < s["start_objective"] - 1.0
    assert s["objective"] <= s["lns_objective"] + 1e-6
    assert_valid(plan, areas, sites, table, rules, options=options)


def test_neighbourhood_search_opens_only_candidate_sites():
    import numpy as np

    from polygeo.optimise import build_model, build_problem
    from polygeo.optimise.assemble import make_plan
    from polygeo.optimise.lns import large_neighbourhood_search
    from polygeo.optimise.start import greedy_start

    areas, sites, table = grid_instance(10, 10, sites=30, seed=7, limit=12)
    rules = Rules(min_population=15_000)
    model = build_model(build_problem(areas, sites, table, rules))
    start = greedy_start(model, improve_seconds=0)
    p = model.problem
    hubs_before = set(np.unique(p.pair_site[start[: model.n_x] > 0.5]).tolist())
    candidates = np.zeros(p.n_sites, dtype=bool)
    candidates[::2] = True  # every other site
    seen: list[float] = []
    better = large_neighbourhood_search(
        model, start, seconds=3.0, candidates=candidates, on_improve=seen.append
    )
    # every plan the search keeps is reported, better each time, the last one returned
    assert seen and seen[-1] == model.objective_value(better)
    assert all(b < a for a, b in zip([model.objective_value(start), *seen], seen, strict=False))
    hubs_after = set(np.unique(p.pair_site[better[: model.n_x] > 0.5]).tolist())
    assert model.objective_value(better) < model.objective_value(start) - 1.0
    assert hubs_after - hubs_before  # the search moved some hub ...
    assert hubs_after <= hubs_before | set(np.flatnonzero(candidates).tolist())  # ... to candidates
    plan = make_plan(model, better, {"status": "search"})
    assert_valid(plan, areas, sites, table, rules)


def test_nearest_pairs_are_each_areas_cheapest_among_the_sites_offered():
    import numpy as np
    import pandas as pd

    from polygeo.optimise import build_model, build_problem
    from polygeo.optimise.lns import nearest_pairs

    areas, sites, table = grid_instance(10, 10, sites=30, seed=7, limit=12)
    model = build_model(build_problem(areas, sites, table, Rules(min_population=15_000)))
    p = model.problem
    offered = np.zeros(p.n_sites, dtype=bool)
    offered[::3] = True
    mask = nearest_pairs(model, offered, 3)
    pairs = pd.DataFrame(
        {"area": p.pair_area, "site": p.pair_site, "cost": model.c[: model.n_x], "kept": mask}
    )
    assert not pairs.loc[~offered[pairs["site"]], "kept"].any()
    eligible = pairs[offered[pairs["site"]]]
    for area, rows in eligible.groupby("area"):
        kept = rows[rows["kept"]]
        assert len(kept) == min(3, len(rows)), area
        assert kept["cost"].max() <= rows.loc[~rows["kept"], "cost"].to_numpy().min(initial=np.inf)


def test_the_search_with_nearest_pairs_moves_areas_only_to_them():

    from polygeo.optimise import build_model, build_problem
    from polygeo.optimise.assemble import make_plan
    from polygeo.optimise.lns import large_neighbourhood_search, nearest_pairs
    from polygeo.optimise.start import greedy_start

    areas, sites, table = grid_instance(10, 10, sites=30, seed=7, limit=12)
    rules = Rules(min_population=15_000)
    model = build_model(build_problem(areas, sites, table, rules))
    start = greedy_start(model, improve_seconds=0)
    better = large_neighbourhood_search(
        model, start, seconds=3.0, sizes=(2, 4, 16), nearest=4, passes_below=1
    )
    assert model.objective_value(better) < model.objective_value(start) - 1.0
    moved = (better[: model.n_x] > 0.5) & (start[: model.n_x] < 0.5)
    assert moved.any()
    assert nearest_pairs(model, None, 4)[moved].all()
    assert_valid(make_plan(model, better, {"status": "search"}), areas, sites, table, rules)


def test_a_move_solved_from_an_older_plan_is_checked_again():
    """With several workers a move may come back after another one was kept: it is
    applied to the plan as it is now, and kept only if that plan meets every row and
    is better."""
    import numpy as np

    from polygeo.optimise import build_model, build_problem
    from polygeo.optimise.lns import _move, _piece, _Search, _solve_piece
    from polygeo.optimise.start import greedy_start

    areas, sites, table = grid_instance(10, 10, sites=30, seed=7, limit=12)
    rules = Rules(min_population=15_000, hubs={"max": 9})
    model = build_model(build_problem(areas, sites, table, rules))
    start = greedy_start(model, improve_seconds=0)
    search = _Search(model, start, on_improve=None)
    settings = SolverSettings(name="highs", gap=1e-6)
    # every neighbourhood of three hubs, each solved from the same start plan
    moves = []
    for j in search.hubs().tolist():
        group = tuple(sorted(search.hubs()[np.argsort(np.abs(search.hubs() - j))[:3]].tolist()))
        piece = _piece(model, start, group, None)
        if piece is not None:
            w = _solve_piece(piece.model, piece.start, settings, 5.0)
            moves.append((group, _move(piece, w, model.problem.n_areas)))
    improving = [(g, m) for g, m in moves if m is not None]
    assert len(improving) >= 2
    for group, move in improving:
        before = search.best_obj
        if search.apply(group, move):
            assert search.best_obj < before
        assert model.is_feasible(search.best)
    assert search.kept >= 1
    assert search.kept + search.clashes == len(improving)
    # the first move kept, brought back once more, no longer improves: refused
    group, move = improving[0]
    search.apply(group, move)
    clashes = search.clashes
    assert not search.apply(group, move)
    assert search.clashes == clashes + 1
    assert model.objective_value(search.best) == search.best_obj


def _die(*_args: object) -> None:
    os._exit(3)  # a worker killed (out of memory, say)


def test_a_dead_worker_stops_the_search_with_its_best_plan(monkeypatch, caplog):
    from polygeo.optimise import build_model, build_problem
    from polygeo.optimise.lns import large_neighbourhood_search
    from polygeo.optimise.start import greedy_start

    areas, sites, table = grid_instance(10, 10, sites=30, seed=7, limit=12)
    model = build_model(build_problem(areas, sites, table, Rules(min_population=15_000)))
    start = greedy_start(model, improve_seconds=0)
    monkeypatch.setattr("polygeo.optimise.lns._solve_piece", _die)
    with caplog.at_level("WARNING", logger="polygeo"):
        plan = large_neighbourhood_search(
            model, start, seconds=30.0, settings=SolverSettings(threads=2)
        )
    assert "a worker process of the neighbourhood search died" in caplog.text
    assert (plan == start).all() and model.is_feasible(plan)


def test_start_plan_is_kept_when_the_solver_stops_with_nothing():
    """A solver killed at the time limit (CBC overruns: see Watchdog) keeps the start plan."""
    import time

    from polygeo.optimise import build_model, build_problem
    from polygeo.optimise.backends import SolveResult, Watchdog
    from polygeo.optimise.rounds import run_rounds
    from polygeo.optimise.start import greedy_start

    areas, sites, table = grid_instance(8, 8, sites=20, seed=3, limit=15)
    problem = build_problem(areas, sites, table, RULES)
    model = build_model(problem)
    start = greedy_start(model)

    class Stopped:
        def run(self, time_limit):
            return SolveResult("no_solution", None, None, None, "killed", True)

    result, _ = run_rounds(
        model,
        Stopped(),
        SolverSettings(name="cbc", time_limit=0),
        deadline=time.perf_counter(),
        max_rounds=5,
        problem=problem,
        start=start,
    )
    assert result.status == "time_limit_feasible"
    assert (result.values == start).all()
    with pytest.raises(SolverError, match="without finding any feasible plan"):
        run_rounds(
            model,
            Stopped(),
            SolverSettings(name="cbc", time_limit=0),
            deadline=time.perf_counter(),
            max_rounds=5,
            problem=problem,
        )
    with Watchdog(None, 1.0) as w:  # nothing to watch: a no-op
        pass
    assert not w.fired


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="the watchdog reads /proc")
def test_watchdog_interrupts_then_kills_an_overrunning_solver():
    """A child that stops on SIGINT is interrupted; one that ignores it is killed."""
    import signal
    import subprocess
    import sys

    from polygeo.optimise.backends import Watchdog

    sleeper = subprocess.Popen(["sleep", "60"])
    path = os.path.realpath(shutil.which("sleep"))
    with Watchdog(path, 0.1, grace=0.1, kill_after=5.0) as w:
        assert sleeper.wait(timeout=20) == -signal.SIGINT
    assert w.fired

    stubborn = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import signal, time; signal.signal(signal.SIGINT, "
            "signal.SIG_IGN); print('ready', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
    )
    assert stubborn.stdout.readline().strip() == b"ready"
    with Watchdog(sys.executable, 0.1, grace=0.1, kill_after=0.5) as w:
        assert stubborn.wait(timeout=20) == -signal.SIGKILL
    assert w.fired
    stubborn.stdout.close()


def test_watchdog_leaves_a_solver_that_ends_in_time():
    import subprocess

    from polygeo.optimise.backends import Watchdog

    path = os.path.realpath(shutil.which("sleep"))
    with Watchdog(path, 5.0, grace=0.1) as w:
        assert subprocess.run(["sleep", "0.1"], check=False).returncode == 0
    assert not w.fired


def test_kernel_holds_the_hubs_then_the_most_frequent_sites_up_to_its_size():
    import numpy as np

    from polygeo.optimise import build_model, build_problem
    from polygeo.optimise.lns import kernel_sites
    from polygeo.optimise.start import greedy_start

    areas, sites, table = grid_instance(10, 10, sites=30, seed=7, limit=12)
    model = build_model(build_problem(areas, sites, table, Rules(min_population=15_000)))
    p = model.problem
    start = greedy_start(model, improve_seconds=0)
    hubs = np.unique(p.pair_site[start[: model.n_x] > 0.5])
    frequency = np.linspace(1.0, 0.0, p.n_sites)  # site 0 opened most often
    selected = np.array([29])
    pairs = np.bincount(p.pair_site, minlength=p.n_sites)
    base = set(hubs.tolist()) | {29}
    others = [s for s in range(p.n_sites) if s not in base]  # by falling frequency
    size = int(pairs[sorted(base)].sum()) + int(pairs[others[:3]].sum())
    kernel = kernel_sites(model, selected, frequency, start, max_pairs=size)
    assert base <= set(kernel.tolist())
    assert int(pairs[kernel].sum()) <= size
    assert sorted(set(kernel.tolist()) - base) == others[:3]  # the most frequent first
    too_small = int(pairs[hubs].sum()) - 1
    assert kernel_sites(model, selected, frequency, start, max_pairs=too_small) is None


def test_a_backend_stopped_by_its_watch_runs_again_to_the_optimum(medium):
    """HiGHS keeps the interrupt flag between runs; the backend must clear it."""
    from polygeo.optimise import build_model, build_problem
    from polygeo.optimise.assemble import make_plan
    from polygeo.optimise.backends import HighsBackend

    areas, sites, travel = medium
    model = build_model(build_problem(areas, sites, travel, RULES))
    backend = HighsBackend(model, SolverSettings())
    stop = [True]
    backend.watch(lambda objective, bound: stop[0])
    first = backend.run(None)
    assert first.values is None and first.detail == "Interrupted by user"
    stop[0] = False
    second = backend.run(None)
    assert second.status == "optimal"
    assert_valid(make_plan(model, second.values, {}), areas, sites, travel, RULES)
    plan = solve(areas, sites, travel, RULES)
    assert model.objective_value(second.values) == pytest.approx(plan.solver["objective"], rel=1e-6)


def _lp_value(model) -> float:
    """The LP relaxation's optimum of a model (every row, every column bound)."""
    import numpy as np
    import scipy.sparse as sp
    from scipy.optimize import linprog

    A = sp.csr_array(model.A)
    upper, lower = np.isfinite(model.row_hi), np.isfinite(model.row_lo)
    A_ub = sp.vstack([A[upper], -A[lower]], format="csr")
    b_ub = np.concatenate([model.row_hi[upper], -model.row_lo[lower]])
    bounds = np.column_stack([model.col_lo, model.col_hi])
    result = linprog(model.c, A_ub=A_ub, b_ub=b_ub, bounds=bounds, method="highs")
    assert result.status == 0, result.message
    return float(result.fun)


def test_a_neighbourhood_counts_the_hubs_its_people_can_fill(monkeypatch):
    """Each neighbourhood's sub-model has the row ``sum y <= floor(P / P_min)`` over the
    people it frees: it cuts off no plan (the sub-model's optimum is the same with and
    without it) and lifts the LP where the freed catchments are packed tightly."""
    import math

    import numpy as np

    from polygeo.optimise import build_model, build_problem, lns
    from polygeo.optimise.start import greedy_start

    areas, sites, table = grid_instance(10, 10, sites=30, seed=7, limit=12)
    rules = Rules(min_population=15_000)
    model = build_model(build_problem(areas, sites, table, rules))
    start = greedy_start(model, improve_seconds=0)
    hubs = lns._Search(model, start, on_improve=None).hubs()
    settings = SolverSettings(name="highs", gap=0)
    lifted = 0
    for j in hubs.tolist():
        group = lns._group_of(model, hubs, j, 3)
        piece = lns._piece(model, start, group, None)
        with monkeypatch.context() as m:
            m.setattr(lns, "with_count_rows", lambda sub: sub)
            plain = lns._piece(model, start, group, None)
        sub = piece.model
        first, n = sub.row_kinds["count"]
        assert n == 1 and "count" not in plain.model.row_kinds
        freed = sub.problem.population[np.unique(sub.problem.pair_area)].sum()
        assert sub.row_hi[first] == math.floor(freed / rules.min_population)
        assert sub.is_feasible(piece.start)
        best = sub.objective_value(lns._solve_piece(sub, piece.start, settings, 30.0))
        best_plain = plain.model.objective_value(
            lns._solve_piece(plain.model, plain.start, settings, 30.0)
        )
        assert best == pytest.approx(best_plain, rel=1e-9)
        lp, lp_plain = _lp_value(sub), _lp_value(plain.model)
        assert lp >= lp_plain - 1e-6 * abs(lp_plain)
        lifted += lp > lp_plain + 1e-6 * abs(lp_plain)
    assert lifted >= 1
