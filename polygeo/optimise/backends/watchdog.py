"""A watchdog that stops a command-line solver overrunning its time limit."""

from __future__ import annotations

import contextlib
import logging
import os

log = logging.getLogger("polygeo")


class Watchdog:
    """Stop a command-line solver that overruns its time limit (Linux only).

    CBC checks its ``-sec`` limit only between nodes: on NE London its root LP
    ran 20 minutes past a 2-minute limit. After the limit and a grace of 10% (at
    least 5 s; ``grace``), the solver's process gets SIGINT (CBC stops and
    reports), then SIGKILL ``kill_after`` (10) seconds later.
    """

    def __init__(
        self,
        path: str | None,
        time_limit: float | None,
        *,
        grace: float | None = None,
        kill_after: float = 10.0,
    ) -> None:
        self.path = os.path.realpath(path) if path else None
        self.time_limit = time_limit
        self.grace = grace
        self.kill_after = kill_after
        self.fired = False
        self._stop = None
        self._thread = None

    def __enter__(self) -> Watchdog:
        import threading

        if self.path is None or self.time_limit is None or not os.path.isdir("/proc/self/task"):
            return self
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._stop is not None:
            self._stop.set()
            self._thread.join()

    def _children(self) -> list[int]:
        pids: list[int] = []
        for task in os.listdir("/proc/self/task"):
            try:
                with open(f"/proc/self/task/{task}/children") as f:
                    pids += [int(x) for x in f.read().split()]
            except OSError:
                continue
        out = []
        for pid in pids:
            try:
                if os.path.realpath(f"/proc/{pid}/exe") == self.path:
                    out.append(pid)
            except OSError:
                continue
        return out

    def _watch(self) -> None:
        import signal

        grace = max(5.0, 0.1 * self.time_limit) if self.grace is None else self.grace
        if self._stop.wait(self.time_limit + grace):
            return
        for sig, wait in ((signal.SIGINT, self.kill_after), (signal.SIGKILL, 0.0)):
            pids = self._children()
            if not pids:
                return
            self.fired = True
            log.warning("the solver overran its time limit: sending %s", sig.name)
            for pid in pids:
                with contextlib.suppress(OSError):
                    os.kill(pid, sig)
            if self._stop.wait(wait):
                return
