"""Any PuLP solver: CBC bundled with PuLP (``cbc``) or one PuLP names."""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np
import scipy.sparse as sp

from polygeo.errors import InputError, SolverError
from polygeo.optimise.backends.result import SolveResult
from polygeo.optimise.backends.watchdog import Watchdog
from polygeo.optimise.model import Model
from polygeo.optimise.rules import SolverSettings


def pulp_solver(settings: SolverSettings, time_limit: float | None, *, warm: bool = False) -> Any:
    """The PuLP solver object for the settings (fails early when unknown or missing)."""
    import pulp

    kwargs: dict[str, Any] = {"msg": bool(settings.msg)}
    if warm:
        kwargs["warmStart"] = True
    if time_limit is not None:
        kwargs["timeLimit"] = max(float(time_limit), 0.0)
    if settings.gap is not None:
        kwargs["gapRel"] = float(settings.gap)
    if settings.threads is not None:
        kwargs["threads"] = int(settings.threads)
    kwargs.update(settings.extra)
    name = settings.name
    if name.lower() == "cbc" or name in ("PULP_CBC_CMD",):
        bundled = pulp.PULP_CBC_CMD.pulp_cbc_path
        if bundled and os.path.exists(bundled):
            solver = pulp.COIN_CMD(path=bundled, **kwargs)
        else:
            solver = pulp.COIN_CMD(**kwargs)
    else:
        known = pulp.listSolvers()
        if name not in known:
            raise InputError(
                f"unknown solver {name!r}; use 'highs', 'cbc' or a PuLP solver name: "
                f"{', '.join(known)}."
            )
        try:
            solver = pulp.getSolver(name, **kwargs)
        except TypeError as exc:
            raise InputError(f"solver {name!r} does not accept these settings: {exc}") from exc
    if not solver.available():
        raise SolverError(
            f"the solver {name!r} is not available on this machine; install it or use "
            "name = 'highs' (always installed with polygeo) or 'cbc'."
        )
    return solver


class PulpBackend:
    """Any PuLP solver (CBC bundled with PuLP, or another one installed)."""

    def __init__(self, model: Model, settings: SolverSettings) -> None:
        import pulp

        self.pulp = pulp
        self.settings = settings
        self.name = settings.name
        pulp_solver(settings, None)  # fail early on an unknown or missing solver
        prob = pulp.LpProblem("polygeo", pulp.LpMinimize)
        lo, hi = model.col_lo, model.col_hi
        self.vars = [
            prob.add_variable(f"v{k}", float(lo[k]), float(hi[k]), pulp.LpInteger)
            for k in range(model.n_cols)
        ]
        nz = np.flatnonzero(model.c)
        prob.setObjective(pulp.LpAffineExpression([(self.vars[k], float(model.c[k])) for k in nz]))
        self.prob = prob
        self.warm = False
        self.rows = 0
        self.add_rows(model.A, model.row_lo, model.row_hi)

    def add_rows(self, A: sp.csr_array, lo: np.ndarray, hi: np.ndarray) -> None:
        pulp = self.pulp
        A = sp.csr_array(A)
        indptr, indices, data = A.indptr, A.indices.tolist(), A.data.tolist()
        v = self.vars
        for r in range(A.shape[0]):
            s, e = indptr[r], indptr[r + 1]
            terms = [(v[indices[q]], data[q]) for q in range(s, e)]
            l, h = float(lo[r]), float(hi[r])  # noqa: E741
            name = f"r{self.rows}"
            self.rows += 1
            if l == h:
                senses = [(pulp.LpConstraintEQ, l, name)]
            else:
                senses = []
                if math.isfinite(l):
                    senses.append((pulp.LpConstraintGE, l, name + "l"))
                if math.isfinite(h):
                    senses.append((pulp.LpConstraintLE, h, name + "u"))
            for sense, rhs, nm in senses:
                expr = pulp.LpAffineExpression(terms)
                self.prob.addConstraint(pulp.LpConstraint(expr, sense, nm, rhs))

    def watch(self, report: Any) -> None:
        """Command-line solvers report nothing while they run (see :class:`HighsBackend`)."""

    def set_start(self, values: np.ndarray) -> None:
        for var, val in zip(self.vars, np.asarray(values).tolist(), strict=True):
            var.setInitialValue(round(val))
        self.warm = True

    def run(self, time_limit: float | None) -> SolveResult:
        pulp = self.pulp
        solver = pulp_solver(self.settings, time_limit, warm=self.warm)
        watchdog = Watchdog(getattr(solver, "path", None), time_limit)
        try:
            with watchdog:
                self.prob.solve(solver)
        except pulp.PulpSolverError as exc:
            if watchdog.fired:
                return SolveResult(
                    "no_solution", None, None, None, "stopped at the time limit", True
                )
            return SolveResult("error", None, None, None, str(exc))
        status, sol = self.prob.status, self.prob.sol_status
        text = f"{pulp.LpStatus.get(status, status)} / {pulp.LpSolution.get(sol, sol)}"

        def values() -> np.ndarray:
            return np.array([0.0 if x.varValue is None else x.varValue for x in self.vars])

        if sol == pulp.LpSolutionOptimal or (status == 1 and sol not in (2,)):
            return SolveResult("optimal", values(), None, None, text)
        if sol == pulp.LpSolutionIntegerFeasible:
            kind = "time_limit_feasible" if time_limit is not None else "limit_feasible"
            return SolveResult(kind, values(), None, None, text, time_limit is not None)
        if status == pulp.LpStatusInfeasible or sol == pulp.LpSolutionInfeasible:
            return SolveResult("infeasible", None, None, None, text)
        if status == pulp.LpStatusNotSolved:
            return SolveResult("no_solution", None, None, None, text, time_limit is not None)
        return SolveResult("error", None, None, None, text)
