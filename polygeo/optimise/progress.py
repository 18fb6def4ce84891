"""Progress of a solve: the incumbent and the bound as they improve.

:class:`Progress` keeps the trace ``[[seconds, objective, bound], ...]`` that
``summary.json`` reports as ``solver.trace``, and, when shown, rewrites one line
on standard error: elapsed seconds, incumbent, bound and gap.
"""

from __future__ import annotations

import math
import sys
import time

#: Largest relative gap reported as proven optimal (HiGHS' and CBC's default tolerance).
PROVEN_GAP = 1e-4 + 1e-9


def relative_gap(objective: float | None, bound: float | None) -> float | None:
    """``(objective - bound) / |objective|`` (0 when both are 0), ``None`` when unknown."""
    if objective is None or bound is None or not math.isfinite(bound):
        return None
    if objective == 0:
        return 0.0 if bound >= 0 else None
    return max(objective - bound, 0.0) / abs(objective)


class Progress:
    """The incumbent and bound over time; one line on stderr when ``show``.

    Parameters
    ----------
    show
        Print the progress line.
    start
        ``time.perf_counter()`` at the start of the solve.
    """

    def __init__(self, show: bool = False, start: float | None = None) -> None:
        self.show = show
        self.start = time.perf_counter() if start is None else start
        self.objective: float | None = None
        self.bound: float | None = None
        self.trace: list[list[float | None]] = []
        self._last_print = 0.0
        self._printed = False

    def update(
        self, objective: float | None = None, bound: float | None = None, *, what: str = ""
    ) -> None:
        """Record a new incumbent and / or bound (kept only when better)."""
        changed = False
        if objective is not None and (self.objective is None or objective < self.objective):
            self.objective = float(objective)
            changed = True
        if bound is not None and math.isfinite(bound):
            if self.bound is None or bound > self.bound:
                self.bound = float(bound)
                changed = True
        if not changed:
            return
        seconds = time.perf_counter() - self.start
        self.trace.append([round(seconds, 3), self.objective, self.bound])
        if self.show and (seconds - self._last_print >= 0.5 or what):
            self._print(seconds, what)

    def _print(self, seconds: float, what: str) -> None:
        gap = relative_gap(self.objective, self.bound)
        obj = "-" if self.objective is None else f"{self.objective:.6g}"
        bnd = "-" if self.bound is None else f"{self.bound:.6g}"
        gap_text = "-" if gap is None else f"{gap:.2%}"
        line = f"\r{seconds:7.1f} s  incumbent {obj}  bound {bnd}  gap {gap_text}  {what}"
        sys.stderr.write(line.ljust(90)[:120])
        sys.stderr.flush()
        self._last_print = seconds
        self._printed = True

    def close(self) -> None:
        """End the progress line."""
        if self.show and self._printed:
            self._print(time.perf_counter() - self.start, "done")
            sys.stderr.write("\n")
            sys.stderr.flush()
