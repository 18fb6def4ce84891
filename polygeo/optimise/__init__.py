"""The optimiser: rules as data, a MIP built from arrays, HiGHS / PuLP solvers.

Public API::

    from polygeo.optimise import Rules, SolverSettings, solve, diagnose
    plan = solve(areas, sites, table, Rules(min_population=50_000),
                 solver=SolverSettings(time_limit=600, gap=0.01))
"""

from __future__ import annotations

from polygeo.optimise.contiguity import adjacency_from_polygons
from polygeo.optimise.diagnose import Diagnosis, diagnose
from polygeo.optimise.model import Model, build_model
from polygeo.optimise.problem import Problem, build_problem
from polygeo.optimise.rules import (
    DEFAULT_EXCEPTION_PENALTY,
    Rules,
    SolverSettings,
    default_options,
    options_from_settings,
)
from polygeo.optimise.solve import solve, solver_names

__all__ = [
    "DEFAULT_EXCEPTION_PENALTY",
    "Diagnosis",
    "Model",
    "Problem",
    "Rules",
    "SolverSettings",
    "adjacency_from_polygons",
    "build_model",
    "build_problem",
    "default_options",
    "diagnose",
    "options_from_settings",
    "solve",
    "solver_names",
]
