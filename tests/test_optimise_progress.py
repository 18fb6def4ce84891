"""The progress of a solve on a terminal: one line rewritten in place, never mixed
with the log (``polygeo.optimise.progress``)."""

from __future__ import annotations

import io
import logging
import re

import pytest

from polygeo.optimise import progress as progress_module
from polygeo.optimise.progress import Progress, rewrites_lines


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def shown(text: str) -> list[str]:
    """The lines a terminal shows for ``text`` (a carriage return goes back to the
    start of the line, and what follows overwrites it)."""
    lines: list[str] = []
    line: list[str] = []
    column = 0
    for char in text:
        if char == "\n":
            lines.append("".join(line).rstrip())
            line, column = [], 0
        elif char == "\r":
            column = 0
        else:
            if column < len(line):
                line[column] = char
            else:
                line.append(char)
            column += 1
    if line:
        lines.append("".join(line).rstrip())
    return lines


@pytest.fixture
def terminal(monkeypatch):
    """A terminal with polygeo's log written to it as the CLI does; each test makes it
    stderr itself (pytest's capture sets stderr again between setup and the test)."""
    stream = Terminal()
    logger = logging.getLogger("polygeo")
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    # only this handler: a CLI test before may have left one on a stream now closed
    monkeypatch.setattr(logger, "handlers", [handler])
    level = logger.level
    logger.setLevel(logging.INFO)  # (setLevel, not the attribute: it clears the level cache)
    yield stream
    logger.setLevel(level)


def test_a_terminal_and_a_notebook_rewrite_lines_a_file_does_not():
    assert rewrites_lines(Terminal())
    assert not rewrites_lines(io.StringIO())


def test_log_messages_never_share_the_progress_line(terminal, monkeypatch):
    monkeypatch.setattr("sys.stderr", terminal)
    log = logging.getLogger("polygeo")
    with Progress(show=True) as watch:
        watch.update(120.0, what="start plan")
        log.info("Lagrangian bound 100 after 3 iterations")
        watch.update(bound=100.0, what="bound")
        watch.update(110.0, what="search")
        log.warning("a warning in the middle")
    lines = shown(terminal.getvalue())
    # the live line is blanked before each message and rewritten at the next update;
    # what stays on screen is the messages, each on a line of its own, and the last line
    assert lines[:2] == ["Lagrangian bound 100 after 3 iterations", "a warning in the middle"]
    assert len(lines) == 3
    assert re.fullmatch(r" *\d+\.\d s  incumbent 110  bound 100  gap 9\.09%  done", lines[-1])
    assert log.filters == []  # closing stops watching the log


def test_the_log_is_untouched_when_no_line_is_shown(terminal, monkeypatch):
    monkeypatch.setattr("sys.stderr", terminal)
    log = logging.getLogger("polygeo")
    with Progress(show=False) as watch:
        watch.update(120.0, what="start plan")
        log.info("plain")
    assert terminal.getvalue() == "plain\n"
    assert watch.trace[0][1] == 120.0


def test_a_pipe_gets_a_line_per_step_and_at_most_one_per_interval(monkeypatch):
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    monkeypatch.setattr(progress_module, "LOG_EVERY", 3600.0)
    with Progress(show=True) as watch:
        watch.update(120.0, what="start plan")
        for objective in range(119, 100, -1):
            watch.update(float(objective))  # no step named, within the interval
        watch.update(100.0, what="search")
    lines = stream.getvalue().splitlines()
    assert "\r" not in stream.getvalue()
    assert [line.split("  ")[-1] for line in lines] == ["start plan", "search", "done"]
    assert len(watch.trace) == 21


def test_the_line_fits_a_narrow_terminal(terminal, monkeypatch):
    """A line wider than the terminal wraps, and a carriage return then rewrites only
    its last row: each write stays within the terminal's width."""
    monkeypatch.setattr("sys.stderr", terminal)
    monkeypatch.setenv("COLUMNS", "50")
    with Progress(show=True) as watch:
        watch.update(123456.0, bound=100000.0, what="neighbourhood search")
    writes = terminal.getvalue().replace("\n", "\r").split("\r")
    assert max(len(w) for w in writes) == 49
    last = shown(writes[-2])[0]
    assert re.fullmatch(r" *\d+\.\d s  incumbent 123456  bound 100000  gap 19", last)


def test_a_solve_that_fails_ends_its_line_as_stopped_not_done(monkeypatch):
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    with pytest.raises(RuntimeError), Progress(show=True) as watch:
        watch.update(120.0, what="start plan")
        raise RuntimeError("the solver failed")
    assert stream.getvalue().splitlines()[-1].endswith("gap -  stopped")
    assert logging.getLogger("polygeo").filters == []
