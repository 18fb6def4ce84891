"""Progress of a solve: the incumbent and the bound as they improve.

:class:`Progress` keeps the trace ``[[seconds, objective, bound], ...]`` that
``summary.json`` reports as ``solver.trace``, and, when shown, reports elapsed seconds,
incumbent, bound and gap on standard error: on a terminal or in a notebook one line
rewritten in place (cleared before each log message, so the two never share a line);
to a file or pipe a plain line at most every :data:`LOG_EVERY` seconds and at each
step of the solve.
"""

from __future__ import annotations

import logging
import math
import shutil
import sys
import time
from typing import TextIO

#: Largest relative gap reported as proven optimal (HiGHS' and CBC's default tolerance).
PROVEN_GAP = 1e-4 + 1e-9

#: Seconds between progress lines written to a file or pipe (steps of the solve always).
LOG_EVERY = 10.0

#: Widest line rewritten in place (narrower on a narrower terminal: a line that wraps
#: cannot be rewritten).
LINE_WIDTH = 90


def _line_width() -> int:
    columns = shutil.get_terminal_size((LINE_WIDTH + 1, 24)).columns
    return max(min(LINE_WIDTH, columns - 1), 20)


def rewrites_lines(stream: TextIO) -> bool:
    """Whether ``stream`` shows a carriage return as a rewrite of the line (a terminal
    or a Jupyter output cell), rather than storing it (a file or pipe)."""
    if type(stream).__module__.startswith("ipykernel"):
        return True
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or bare stream
        return False


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
        self._live = show and rewrites_lines(sys.stderr)
        self._last_print = -math.inf
        self._printed = False
        self._line_open = False  # a live line waits to be rewritten or ended
        self._clear_filter: _ClearLine | None = None
        self._closed = False

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
        every = 0.5 if self._live else LOG_EVERY
        if self.show and (seconds - self._last_print >= every or what):
            self._print(seconds, what)

    def line(self, seconds: float, what: str = "") -> str:
        """The progress text: elapsed seconds, incumbent, bound, gap and the step."""
        gap = relative_gap(self.objective, self.bound)
        obj = "-" if self.objective is None else f"{self.objective:.6g}"
        bnd = "-" if self.bound is None else f"{self.bound:.6g}"
        gap_text = "-" if gap is None else f"{gap:.2%}"
        return f"{seconds:7.1f} s  incumbent {obj}  bound {bnd}  gap {gap_text}  {what}".rstrip()

    def _print(self, seconds: float, what: str) -> None:
        text = self.line(seconds, what)
        if self._live:
            self._watch_log()
            width = _line_width()
            sys.stderr.write("\r" + text[:width].ljust(width))
            self._line_open = True
        else:
            sys.stderr.write(text + "\n")
        sys.stderr.flush()
        self._last_print = seconds
        self._printed = True

    def clear_line(self) -> None:
        """Blank the live line so that what follows starts at the left margin."""
        if self._line_open:
            sys.stderr.write("\r" + " " * _line_width() + "\r")
            sys.stderr.flush()
            self._line_open = False

    def _watch_log(self) -> None:
        """Clear the live line before each record of polygeo's log (until closed)."""
        if self._clear_filter is None:
            self._clear_filter = _ClearLine(self)
            logging.getLogger("polygeo").addFilter(self._clear_filter)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, exc_type: object, *exc_info: object) -> None:
        self.close("stopped" if exc_type is not None else "done")

    def close(self, what: str = "done") -> None:
        """End the progress: a last line with the final figures (marked ``what``), and
        stop watching the log."""
        if self._closed:
            return
        self._closed = True
        if self.show and self._printed:
            self._print(time.perf_counter() - self.start, what)
            if self._live:
                sys.stderr.write("\n")
                sys.stderr.flush()
                self._line_open = False
        if self._clear_filter is not None:
            logging.getLogger("polygeo").removeFilter(self._clear_filter)
            self._clear_filter = None


class _ClearLine(logging.Filter):
    """A log filter that lets every record through after clearing the progress line."""

    def __init__(self, progress: Progress) -> None:
        super().__init__()
        self.progress = progress

    def filter(self, record: logging.LogRecord) -> bool:  # only records of enabled levels
        self.progress.clear_line()
        return True
