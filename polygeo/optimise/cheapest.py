"""The cheapest capital of a plan that covers everyone, between two proven figures.

With a ``budget``, before any solve, :func:`check_budget` brackets the least
capital of any plan that meets every rule:

* **from below**, the covering MIP of :mod:`.cover_bound` (every area needs an
  open hub within its limit, each site at its cheapest option, hub kinds, hub
  counts): no plan costs less;
* **from above**, a plan: the covering solution's paid sites, every free site and
  the sites that must open are offered to the model of :mod:`.model` with every
  rule (minimum and maximum population, capacities, hub kinds, hub counts,
  groups; not the budget) and capital as the objective, with a row "capital at
  least the lower figure". HiGHS solves it for a few seconds from the greedy plan
  of :mod:`.start` and stops as soon as a plan reaches the lower figure.

When the plan costs the lower figure, the cheapest capital is known exactly.
Otherwise, when HiGHS proves that the offered sites cannot make a plan below some
figure ``D`` (or any plan at all), every cheaper plan opens a paid site outside
them: that cut goes into the covering MIP, whose new optimum ``L`` lifts the lower
figure to ``min(L, D)``, and the two steps repeat (a combinatorial Benders loop)
until the figures meet, no cut can lift the bound, or the time is up. When HiGHS
finds no plan on the offered sites in its time and proves nothing, the same cut
is added as a no-good, only to look for a plan on other sites at the same cost:
the lower figure then stays where it was (London with ``min_population = 70000``:
the first sites give nothing in 10 s, the next ones a plan at the bound in 4 s).

A budget below the lower figure fails before any solve with both figures (the
conflict of :func:`~polygeo.optimise.diagnose.record_capital_range`); a budget
between the two is not proven infeasible and is only noted.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from polygeo.optimise.cover_bound import Cover, CoverInstance, site_costs, solve_cover
from polygeo.optimise.diagnose import other_infeasibility, record_capital_range
from polygeo.optimise.model import Model, build_model
from polygeo.optimise.problem import Problem, restrict_problem
from polygeo.optimise.rules import SolverSettings

log = logging.getLogger("polygeo")

#: Most seconds spent bracketing the cheapest capital (all rounds).
SECONDS = 30.0

#: Most seconds HiGHS spends completing one round's sites into a plan.
ROUND_SECONDS = 10.0

#: Most rounds (covering MIP, then its completion).
MAX_ROUNDS = 8

#: Restricted models with more pairs than this are not solved (the bound stands alone).
MAX_PAIRS = 200_000

#: The travel tie-break of a ``cost`` objective is worth at most this (see :mod:`.model`).
_TIEBREAK = 0.5
_TOL = 1e-6


@dataclass
class CapitalRange:
    """The least capital of any plan that covers everyone and meets every rule.

    Attributes
    ----------
    lower
        Proven: no such plan costs less.
    upper
        The capital of a plan found that meets every rule but the budget (``None``:
        none found).
    rounds
        Covering MIPs solved.
    seconds
        Time taken.
    hub_of_area
        The plan at ``upper``: each area's hub (a site row; ``-1``: no hub), or ``None``.
    """

    lower: float
    upper: float | None
    rounds: int
    seconds: float
    hub_of_area: np.ndarray | None = None

    @property
    def exact(self) -> bool:
        """True when a plan costs the lower figure: the cheapest capital is known."""
        return self.upper is not None and self.upper <= self.lower + _TOL * max(1.0, self.lower)


def cover_instance(problem: Problem) -> CoverInstance:
    """The covering problem of a :class:`~polygeo.optimise.problem.Problem`."""
    p = problem
    cost, cap = site_costs(
        p.opt_site, p.opt_cost, p.opt_cap, np.ones(len(p.opt_site), dtype=bool), p.n_sites
    )
    return CoverInstance(
        pair_area=p.pair_area,
        pair_site=p.pair_site,
        quota_pair=~p.pair_exception,
        site_cost=cost,
        site_cap=cap,
        population=p.population,
        quotas=p.quotas,
        hub_bounds=p.rules.hub_bounds,
        must=p.must_open,
    )


def _whole(costs: np.ndarray, value: float) -> float:
    """A lower bound rounded up to a whole unit when every cost is whole."""
    if math.isfinite(value) and np.all(costs == np.round(costs)):
        return float(math.ceil(value - min(0.5, 1e-7 * max(1.0, abs(value)))))
    return value


def restricted_model(problem: Problem, offered: np.ndarray) -> Model | None:
    """The model on the offered sites' pairs and options, capital as the objective.

    Areas none of the offered sites reaches keep no pair (``None`` is returned:
    no plan on these sites covers everyone).
    """
    p = problem
    keep = offered[p.pair_site]
    if not (np.bincount(p.pair_area[keep], minlength=p.n_areas) > 0).all():
        return None
    rules = dataclasses.replace(p.rules, budget=None, objective="cost")
    sub = restrict_problem(dataclasses.replace(p, rules=rules), keep, offered[p.opt_site])
    # one linking row per site: HiGHS' root LP in seconds (London: 1.5 s, against over
    # 20 s with a row per pair), and the capital floor row gives the bound anyway
    return build_model(sub, linking="aggregated")


def _start(model: Model) -> np.ndarray | None:
    from polygeo.optimise.quota_start import quota_start
    from polygeo.optimise.start import greedy_start

    v = greedy_start(model, improve_seconds=0.0)
    if v is None and model.problem.quotas:
        v = quota_start(model, improve_seconds=0.0)
    return v


def _capital(model: Model, values: np.ndarray) -> float:
    y = np.asarray(values)[model.n_x : model.n_x + model.n_y] > 0.5
    return float(model.problem.opt_cost[y].sum())


def _meets_contiguity(model: Model, values: np.ndarray) -> bool:
    if not model.problem.rules.contiguous:
        return True
    from polygeo.optimise.repair import is_contiguous, pair_choice

    return is_contiguous(model, pair_choice(model, values))


def complete(
    problem: Problem, offered: np.ndarray, floor: float, seconds: float
) -> tuple[Completion | None, float]:
    """The cheapest plan on the offered sites: its capital, and a proven lower figure.

    Parameters
    ----------
    problem
        The problem.
    offered
        Site mask: the sites a plan may open.
    floor
        A proven lower bound on the capital of every plan (a row of the MIP).
    seconds
        Time limit for HiGHS.

    Returns
    -------
    tuple
        The best plan found (``None``: none), and a proven lower bound on the
        capital of every plan on these sites (``inf``: no plan).
    """
    from polygeo.optimise.backends import HighsBackend

    model = restricted_model(problem, offered)
    if model is None:
        return None, math.inf
    if model.n_x > MAX_PAIRS:
        log.info("cheapest capital: %d pairs on the offered sites, not solved", model.n_x)
        return None, floor
    start = _start(model)
    costs = model.problem.opt_cost
    row = sp.csr_array(
        (costs, (np.zeros(model.n_y, dtype=np.int64), model.n_x + np.arange(model.n_y))),
        shape=(1, model.n_cols),
    )
    model.add_rows(row, np.array([floor - _TOL]), np.array([np.inf]), "capital_floor")
    backend = HighsBackend(model, SolverSettings(gap=1e-6))
    backend.watch(lambda objective, bound: objective is not None and objective <= floor + _TIEBREAK)
    if start is not None and model.is_feasible(start):
        backend.set_start(start)
    result = backend.run(seconds)
    if result.status == "infeasible":
        return None, math.inf
    proven = floor
    if result.bound is not None and result.status == "optimal":
        proven = max(floor, _whole(costs, result.bound - _TIEBREAK))
    plans = [np.round(v) for v in (result.values, start) if v is not None]
    plans = [v for v in plans if model.is_feasible(v) and _meets_contiguity(model, v)]
    if not plans:
        return None, proven
    best = min(plans, key=lambda v: _capital(model, v))
    return Completion(_capital(model, best), _hub_of_area(model, best)), proven


@dataclass(frozen=True)
class Completion:
    """A plan found on some sites: its capital and each area's hub (site row)."""

    capital: float
    hub_of_area: np.ndarray


def _hub_of_area(model: Model, values: np.ndarray) -> np.ndarray:
    p = model.problem
    x = np.flatnonzero(values[: model.n_x] > 0.5)
    hub = np.full(p.n_areas, -1, dtype=np.int64)
    hub[p.pair_area[x]] = p.pair_site[x]
    return hub


def cheapest_capital(
    problem: Problem, *, seconds: float = SECONDS, enough: float | None = None
) -> CapitalRange | None:
    """Bracket the least capital of any plan of ``problem`` that covers everyone.

    Parameters
    ----------
    problem
        The problem (its budget is ignored).
    seconds
        Most seconds for all rounds.
    enough
        Stop as soon as a plan costs at most this (e.g. the budget).

    Returns
    -------
    CapitalRange or None
        ``None`` when the covering MIP has no solution.
    """
    t0 = time.perf_counter()
    inst = cover_instance(problem)
    free = inst.site_cost <= 0
    cuts: list[np.ndarray] = []
    floors: list[float] = []  # proven lower figure of each cut's offered sites
    upper: float | None = None
    plan: np.ndarray | None = None
    lower = first_bound = 0.0
    rounds = 0
    proven_cuts = True  # every cut so far is proven: the covering bound is a bound
    for rounds in range(1, MAX_ROUNDS + 1):
        left = seconds - (time.perf_counter() - t0)
        cover: Cover | None = solve_cover(inst, cuts=cuts, time_limit=max(min(left, 5.0), 0.5))
        bound = math.inf if cover is None else cover.bound
        if proven_cuts:
            lower = min([bound, *floors])
        if rounds == 1:
            if cover is None:
                return None
            first_bound = cover.bound
        if cover is None or not math.isfinite(lower) or left <= 1.0:
            break
        offered = free | inst.must
        offered[cover.sites] = True
        found, proven = complete(problem, offered, lower, min(ROUND_SECONDS, left))
        if found is not None and (upper is None or found.capital < upper):
            upper, plan = found.capital, found.hub_of_area
        log.info(
            "cheapest capital, round %d: covering bound %s, plan %s, offered sites proven %s",
            rounds,
            f"{bound:,.0f}",
            "none" if found is None else f"{found.capital:,.0f}",
            f"{proven:,.0f}",
        )
        if upper is not None and upper <= lower + _TOL * max(1.0, lower):
            break  # a plan at the bound: the cheapest capital is known
        if enough is not None and upper is not None and upper <= enough:
            break  # the budget allows a plan: nothing to report
        if proven > lower + _TOL * max(1.0, lower):
            floors.append(proven)  # a proven cut: it may lift the bound
        else:  # a no-good cut, to look for a (cheaper) plan on other sites
            proven_cuts = False
        cuts.append(~offered & np.isfinite(inst.site_cost))
    if upper is not None:
        lower = min(lower, upper)
    if not math.isfinite(lower):
        # no plan on any set of sites: the rules conflict whatever the budget, which
        # the solver proves and explains; the covering figure still holds
        lower = first_bound
    return CapitalRange(lower, upper, rounds, time.perf_counter() - t0, plan)


def check_budget(problem: Problem, *, seconds: float = SECONDS) -> CapitalRange | None:
    """With a budget: bracket the cheapest capital and record it in the diagnosis.

    A budget below the proven lower figure becomes a conflict naming the budget and
    the cheapest capital (exact when a plan costs it); a budget between the two
    figures is noted. Nothing happens without a budget, or when the diagnosis has
    already found another certain infeasibility.
    """
    budget = problem.rules.budget
    if budget is None or other_infeasibility(problem.diagnosis, problem.rules, problem.quotas):
        return None
    found = cheapest_capital(problem, seconds=seconds, enough=budget)
    if found is None:
        return None
    log.info(
        "cheapest capital of a plan covering everyone: %s to %s (%d rounds, %.1f s)",
        f"{found.lower:,.0f}",
        "?" if found.upper is None else f"{found.upper:,.0f}",
        found.rounds,
        found.seconds,
    )
    record_capital_range(problem.diagnosis, budget, found.lower, found.upper, bool(problem.quotas))
    return found


def cheapest_start(model: Model, found: CapitalRange | None) -> np.ndarray | None:
    """The cheapest plan as a start vector of ``model`` (``None``: none, or it breaks a row).

    With a tight budget the greedy start plans of :mod:`.start` cost too much; this
    one meets every rule and costs the least capital found.
    """
    from polygeo.optimise.start import start_vector

    if found is None or found.hub_of_area is None:
        return None
    p = model.problem
    hub = found.hub_of_area
    choice = np.full(p.n_areas, -1, dtype=np.int64)
    for site in np.unique(hub[hub >= 0]).tolist():
        areas = np.flatnonzero(hub == site)
        choice[areas] = model.pair_index(areas, site)
    if (choice[hub >= 0] < 0).any():
        return None
    return start_vector(model, choice)
