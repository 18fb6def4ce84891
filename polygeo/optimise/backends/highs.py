"""HiGHS via highspy: the model's arrays passed straight in, no modelling layer."""

from __future__ import annotations

import contextlib
import math
import os
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import scipy.sparse as sp

from polygeo.errors import InputError, SolverError
from polygeo.optimise.backends.result import SolveResult
from polygeo.optimise.model import Model
from polygeo.optimise.rules import SolverSettings

_BANNER_SHOWN = False


@contextlib.contextmanager
def quiet_stdout(active: bool) -> Iterator[None]:
    """Silence C-level stdout (HiGHS prints a banner when the first instance is made)."""
    if not active:
        yield
        return
    try:
        fd = os.dup(1)
    except OSError:  # no usable stdout: nothing to silence
        yield
        return
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            try:
                yield
            finally:
                os.dup2(fd, 1)
    finally:
        os.close(fd)


def configured_highs(settings: SolverSettings, *, presolve: bool = True) -> Any:
    """A new ``highspy.Highs`` with the settings' log, gap, threads and extra options.

    Raises
    ------
    InputError
        When HiGHS rejects an option of ``[solver] extra``.
    """
    import highspy

    global _BANNER_SHOWN
    with quiet_stdout(not settings.msg and not _BANNER_SHOWN):
        h = highspy.Highs()
    _BANNER_SHOWN = True
    h.setOptionValue("output_flag", bool(settings.msg))
    if settings.gap is not None:
        h.setOptionValue("mip_rel_gap", float(settings.gap))
    if settings.threads is not None:
        # HiGHS keeps one thread pool per process: rebuild it for another size
        h.resetGlobalScheduler(True)
        h.setOptionValue("threads", int(settings.threads))
    if not presolve:
        h.setOptionValue("presolve", "off")
    for key, value in settings.extra.items():
        if h.setOptionValue(str(key), value) != highspy.HighsStatus.kOk:
            raise InputError(f"[solver] extra: HiGHS rejects option {key} = {value!r}.")
    return h


class HighsBackend:
    """HiGHS through highspy: the model's arrays passed straight in."""

    name = "highs"

    def __init__(self, model: Model, settings: SolverSettings, *, presolve: bool = False) -> None:
        import highspy

        self.hs = highspy
        self._interrupted = False  # a Ctrl-C held during run()
        # our own reductions leave HiGHS's presolve nothing to do on a whole model, and
        # it does not watch the time limit: 57 s on NE London (100,000 pairs), nothing
        # reduced. Small models may ask for it (the fixed-hub models of centres.py).
        self.h = h = configured_highs(settings, presolve=presolve)
        lp = highspy.HighsLp()
        A = model.A.tocsc()
        lp.num_col_ = model.n_cols
        lp.num_row_ = model.n_rows
        lp.col_cost_ = model.c
        lp.col_lower_ = model.col_lo
        lp.col_upper_ = model.col_hi
        lp.row_lower_ = model.row_lo
        lp.row_upper_ = model.row_hi
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = A.indptr.astype(np.int32)
        lp.a_matrix_.index_ = A.indices.astype(np.int32)
        lp.a_matrix_.value_ = A.data.astype(float)
        n_int = model.integer_columns  # continuous columns after them (flows)
        lp.integrality_ = [highspy.HighsVarType.kInteger] * n_int + [
            highspy.HighsVarType.kContinuous
        ] * (model.n_cols - n_int)
        status = h.passModel(lp)
        if status == highspy.HighsStatus.kError:
            raise SolverError("HiGHS rejected the model (passModel failed).")

    def add_rows(self, A: sp.csr_array, lo: np.ndarray, hi: np.ndarray) -> None:
        A = sp.csr_array(A)
        self.h.addRows(
            A.shape[0],
            np.asarray(lo, dtype=float),
            np.asarray(hi, dtype=float),
            A.nnz,
            A.indptr[:-1].astype(np.int32),
            A.indices.astype(np.int32),
            A.data.astype(float),
        )

    def set_start(self, values: np.ndarray) -> None:
        sol = self.hs.HighsSolution()
        sol.col_value = np.asarray(values, dtype=float)
        sol.value_valid = True
        self.h.setSolution(sol)

    def watch(self, report: Callable[[float | None, float | None], bool]) -> None:
        """Call ``report(objective, bound)`` as the MIP search goes; stop when it says True.

        The objective is reported with each improving solution, the bound at the
        solver's interrupt checks (HiGHS' ``cbMipImprovingSolution`` and
        ``cbMipInterrupt`` callbacks).
        """

        def improving(event: Any) -> None:
            report(float(event.data_out.objective_function_value), None)

        def interrupt(event: Any) -> None:
            out = event.data_out
            bound = float(out.mip_dual_bound) if math.isfinite(out.mip_dual_bound) else None
            primal = out.mip_primal_bound
            objective = float(primal) if math.isfinite(primal) else None
            # set both ways: HiGHS keeps the flag, and a stopped run would stop the next
            event.data_in.user_interrupt = bool(self._interrupted or report(objective, bound))

        self.h.cbMipImprovingSolution.subscribe(improving)
        self.h.cbMipInterrupt.subscribe(interrupt)

    @contextlib.contextmanager
    def _ctrl_c_held(self) -> Iterator[None]:
        """Hold Ctrl-C while HiGHS runs; the callbacks stop it, and it is raised after.

        Raised inside highspy's Python callbacks, a ``KeyboardInterrupt`` is swallowed
        by HiGHS and reported as "Solve error". Only the main thread can hold signals;
        elsewhere (a Dask worker) nothing changes.
        """
        self._interrupted = False
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def hold(signum: int, frame: Any) -> None:
            self._interrupted = True

        previous = signal.signal(signal.SIGINT, hold)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous if previous is not None else signal.SIG_DFL)
        if self._interrupted:
            raise KeyboardInterrupt

    def run(self, time_limit: float | None) -> SolveResult:
        hs, h = self.hs, self.h
        h.setOptionValue("time_limit", math.inf if time_limit is None else float(time_limit))
        with self._ctrl_c_held():
            h.run()
        ms = h.getModelStatus()
        info = h.getInfo()
        feasible = info.primal_solution_status == 2  # kSolutionStatusFeasible
        values = np.asarray(h.getSolution().col_value, dtype=float) if feasible else None
        bound = float(info.mip_dual_bound) if math.isfinite(info.mip_dual_bound) else None
        gap = float(info.mip_gap) if math.isfinite(info.mip_gap) else None
        text = h.modelStatusToString(ms)
        M = hs.HighsModelStatus
        if ms == M.kOptimal:
            return SolveResult("optimal", values, bound, gap, text)
        if ms in (M.kInfeasible, M.kUnboundedOrInfeasible):
            return SolveResult("infeasible", None, bound, gap, text)
        limit_hit = ms == M.kTimeLimit
        stops = (M.kTimeLimit, M.kIterationLimit, M.kSolutionLimit, M.kInterrupt)
        stops += tuple(
            getattr(M, k) for k in ("kObjectiveBound", "kObjectiveTarget") if hasattr(M, k)
        )
        if ms in stops:
            if feasible:
                kind = "time_limit_feasible" if limit_hit else "limit_feasible"
                return SolveResult(kind, values, bound, gap, text, limit_hit)
            return SolveResult("no_solution", None, bound, gap, text, limit_hit)
        return SolveResult("error", values if feasible else None, bound, gap, text)
