"""Adjacency, home areas and contiguous catchments (lazy cuts against brute force)."""

from __future__ import annotations

import itertools

import geopandas as gpd
import numpy as np
import pytest
import shapely
from scipy.sparse.csgraph import connected_components

from polygeo.check import assert_valid, check
from polygeo.errors import InputError
from polygeo.optimise import Rules, SolverSettings, adjacency_from_polygons, solve
from polygeo.optimise.contiguity import home_areas
from polygeo.optimise.synthetic import grid_instance


def test_queen_and_rook_on_a_grid():
    areas, _, _ = grid_instance(3, 3, sites=1)
    queen = adjacency_from_polygons(areas)
    rook = adjacency_from_polygons(areas, kind="rook")
    assert (queen != queen.T).nnz == 0 and queen.diagonal().sum() == 0
    # the centre touches all 8 others by queen, 4 by rook
    assert queen[[4]].sum() == 8
    assert rook[[4]].sum() == 4
    assert rook[0, 4] == 0 and queen[0, 4] == 1
    assert queen.sum() == 2 * 20 and rook.sum() == 2 * 12


def test_tolerance_bridges_slivers():
    a = shapely.box(0, 0, 10, 10)
    b = shapely.box(10.5, 0, 20, 10)
    areas = gpd.GeoDataFrame({"area_id": ["a", "b"], "population": [1, 1]}, geometry=[a, b])
    assert adjacency_from_polygons(areas).nnz == 0
    assert adjacency_from_polygons(areas, tolerance=1.0).nnz == 2
    assert adjacency_from_polygons(areas, kind="rook", tolerance=1.0).nnz == 2


def test_points_cannot_be_adjacent():
    areas = gpd.GeoDataFrame({"area_id": ["a"], "population": [1]}, geometry=[shapely.Point(0, 0)])
    with pytest.raises(InputError, match="polygons"):
        adjacency_from_polygons(areas)


def test_home_area_is_the_one_holding_the_site_else_the_nearest():
    areas, _, _ = grid_instance(3, 1, sites=1)
    sites = gpd.GeoDataFrame(
        {"site_id": ["in", "out"]},
        geometry=[shapely.Point(1500, 500), shapely.Point(5000, 500)],
    )
    assert home_areas(areas, sites).tolist() == [1, 2]


_BRUTE: dict[int, float | None] = {}


def brute_contiguous(areas, sites, table, rules):
    """Least travel over assignments meeting min_population, contiguity and home areas."""
    n, m = len(areas), len(sites)
    pop = areas["population"].to_numpy(float)
    minutes = np.full((n, m), np.nan)
    minutes[table["area_id"].cat.codes, table["site_id"].cat.codes] = table["minutes"]
    cand = [np.flatnonzero(~np.isnan(minutes[i])) for i in range(n)]
    combos = np.array(list(itertools.product(*cand)))
    onehot = combos[:, :, None] == np.arange(m)
    hub_pop = np.einsum("knm,n->km", onehot, pop)
    used = onehot.any(axis=1)
    ok = ~(used & (hub_pop < rules.min_population)).any(axis=1)
    home = home_areas(areas, sites)
    for j in range(m):
        ok &= ~used[:, j] | (combos[:, home[j]] == j)
    travel = (np.take_along_axis(minutes, combos.T, axis=1).T * pop).sum(axis=1)
    adj = adjacency_from_polygons(areas).toarray()
    for k in np.flatnonzero(ok)[np.argsort(travel[ok], kind="stable")]:
        good = True
        for j in np.unique(combos[k]):
            members = np.flatnonzero(combos[k] == j)
            if connected_components(adj[np.ix_(members, members)], directed=False)[0] > 1:
                good = False
                break
        if good:
            return float(travel[k])
    return None


def instance(seed):
    rng = np.random.default_rng(seed)
    pop = rng.choice([200, 500, 3000], size=12)
    return grid_instance(4, 3, population=pop, sites=3, seed=seed, limit=12)


@pytest.mark.parametrize("name", ["highs", "cbc"])
@pytest.mark.parametrize("seed", [18, 62, 65, 111])
def test_contiguity_binds_and_matches_brute_force(seed, name):
    areas, sites, table = instance(seed)
    p_min = float(areas["population"].sum()) / 3.2
    free_rules = Rules(min_population=p_min)
    rules = Rules(min_population=p_min, contiguous=True)
    solver = SolverSettings(name=name, gap=0.0)
    free = solve(areas, sites, table, free_rules, solver=solver)
    assert "contiguity" in {v.rule for v in check(free, areas, sites, table, rules)}
    plan = solve(areas, sites, table, rules, solver=solver)
    assert_valid(plan, areas, sites, table, rules)
    assert plan.solver["optimal"]
    assert plan.solver["rounds"] >= 1
    if seed not in _BRUTE:
        _BRUTE[seed] = brute_contiguous(areas, sites, table, rules)
    expected = _BRUTE[seed]
    assert plan.objective_terms["travel"] == pytest.approx(expected, rel=1e-9)
    assert plan.objective_terms["travel"] >= free.objective_terms["travel"] - 1e-6


def test_lazy_cuts_are_added(monkeypatch):
    # small models get the flow formulation; force the cut loop
    monkeypatch.setattr("polygeo.optimise.flow.FLOW_MAX_ARCS", -1)
    areas, sites, table = instance(18)
    rules = Rules(min_population=float(areas["population"].sum()) / 3.2, contiguous=True)
    plan = solve(areas, sites, table, rules, solver=SolverSettings(gap=0.0), start=False)
    assert plan.solver["cuts"] > 0 and plan.solver["rounds"] > 1
    assert_valid(plan, areas, sites, table, rules)


def test_given_adjacency_is_used():
    """With a rook adjacency, diagonal neighbours no longer connect a catchment."""
    areas, sites, table = instance(18)
    rook = adjacency_from_polygons(areas, kind="rook")
    rules = Rules(min_population=float(areas["population"].sum()) / 3.2, contiguous=True)
    plan = solve(areas, sites, table, rules, adjacency=rook, solver=SolverSettings(gap=0.0))
    assert_valid(plan, areas, sites, table, rules, adjacency=rook)


def test_bad_adjacency_shape():
    areas, sites, table = instance(18)
    rules = Rules(min_population=1000, contiguous=True)
    with pytest.raises(InputError, match="shape"):
        solve(areas, sites, table, rules, adjacency=np.zeros((3, 3)))


def test_repair_moves_stray_pieces_to_a_bordering_hub():
    from polygeo.optimise import build_model, build_problem
    from polygeo.optimise.start import repair_contiguity

    pts = [(1500.0, 500.0), (4500.0, 500.0)]
    areas, sites, table = grid_instance(6, 1, population=1000, sites=pts, limit=100)
    model = build_model(
        build_problem(areas, sites, table, Rules(min_population=1000, contiguous=True))
    )
    # a000-a002 and a005 with s00, a003-a004 with s01: a005 is a stray piece of s00
    want = {0: 0, 1: 0, 2: 0, 3: 1, 4: 1, 5: 0}
    choice = np.array([model.pair_index(np.array([i]), j)[0] for i, j in want.items()])
    fixed = repair_contiguity(model, choice)
    sites_of = model.problem.pair_site[fixed]
    assert sites_of.tolist() == [0, 0, 0, 1, 1, 1]


@pytest.mark.parametrize("seed", [18, 65])
def test_time_limit_keeps_a_contiguous_start_plan(seed):
    areas, sites, table = instance(seed)
    rules = Rules(min_population=float(areas["population"].sum()) / 3.2, contiguous=True)
    plan = solve(areas, sites, table, rules, solver=SolverSettings(time_limit=0))
    assert plan.solver["status"] == "time_limit_feasible"
    assert_valid(plan, areas, sites, table, rules)


def _strip_model(min_population):
    from polygeo.optimise import build_model, build_problem

    pts = [(1500.0, 500.0), (4500.0, 500.0)]
    areas, sites, table = grid_instance(6, 1, population=1000, sites=pts, limit=100)
    rules = Rules(min_population=min_population, contiguous=True)
    return areas, sites, table, rules, build_model(build_problem(areas, sites, table, rules))


def test_connect_mends_a_piece_that_cannot_move():
    """a005 strays from s00, which cannot give it away (it would drop below 3,000
    people): re-solving both catchments with contiguity mends it, to the optimum."""
    from polygeo.optimise.connect import connect
    from polygeo.optimise.start import repair_contiguity

    areas, sites, table, rules, model = _strip_model(3000)
    want = {0: 0, 1: 0, 2: 1, 3: 1, 4: 1, 5: 0}
    choice = np.array([model.pair_index(np.array([i]), j)[0] for i, j in want.items()])
    assert (repair_contiguity(model, choice) == choice).all()  # the repair cannot move it
    v = connect(model, choice, seconds=30, settings=SolverSettings())
    assert v is not None and model.is_feasible(v)
    sites_of = model.problem.pair_site[v[: model.n_x] > 0.5]
    assert sites_of.tolist() == [0, 0, 0, 1, 1, 1]
    travel = model.objective_value(v)
    assert travel == pytest.approx(brute_contiguous(areas, sites, table, rules), rel=1e-9)


@pytest.mark.parametrize("seed", [18, 65])
def test_contiguous_search_in_solve_keeps_the_optimum(seed, monkeypatch, caplog):
    """The search without contiguity, mended and polished (forced on a small model
    with the cut loop), gives a contiguous plan; the solve then proves the optimum."""
    import logging

    monkeypatch.setattr("polygeo.optimise.flow.FLOW_MAX_ARCS", -1)
    areas, sites, table = instance(seed)
    rules = Rules(min_population=float(areas["population"].sum()) / 3.2, contiguous=True)
    with caplog.at_level(logging.INFO, logger="polygeo"):
        plan = solve(
            areas, sites, table, rules, solver=SolverSettings(time_limit=60, gap=0.0),
            lns_seconds=2.0,
        )  # fmt: skip
    assert "contiguous search:" in caplog.text
    assert_valid(plan, areas, sites, table, rules)
    if seed not in _BRUTE:
        _BRUTE[seed] = brute_contiguous(areas, sites, table, rules)
    assert plan.objective_terms["travel"] == pytest.approx(_BRUTE[seed], rel=1e-9)
