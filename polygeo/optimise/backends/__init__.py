"""Solver backends: HiGHS via highspy, any PuLP solver, and the watchdog.

Each backend takes a :class:`~polygeo.optimise.model.Model` and offers
``add_rows``, ``set_start`` and ``run(time_limit) -> SolveResult``.
"""

from __future__ import annotations

from polygeo.optimise.backends.highs import HighsBackend
from polygeo.optimise.backends.pulp_solvers import PulpBackend, pulp_solver
from polygeo.optimise.backends.result import SolveResult
from polygeo.optimise.backends.watchdog import Watchdog
from polygeo.optimise.model import Model
from polygeo.optimise.rules import SolverSettings

#: Names handled here rather than by ``pulp.getSolver``.
NATIVE_SOLVERS = ("highs", "cbc")

__all__ = [
    "NATIVE_SOLVERS",
    "HighsBackend",
    "PulpBackend",
    "SolveResult",
    "Watchdog",
    "make_backend",
    "pulp_solver",
    "solver_names",
]


def make_backend(model: Model, settings: SolverSettings) -> HighsBackend | PulpBackend:
    """The backend for the settings: HiGHS for ``highs``, else PuLP."""
    if settings.name.lower() == "highs" and settings.name != "HiGHS":
        return HighsBackend(model, settings)
    return PulpBackend(model, settings)


def solver_names() -> list[str]:
    """Solver names :class:`SolverSettings` accepts on this machine (available ones)."""
    import pulp

    return ["highs", "cbc", *pulp.listSolvers(onlyAvailable=True)]
