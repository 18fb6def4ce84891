"""What the loaders found: a plain, JSON-friendly record kept in ``frame.attrs``.

Every row a loader drops and every value it repairs becomes a *finding*, a plain
dict::

    {"code": "negative_population", "severity": "error",
     "message": "pop.csv: negative population -5 for area E01000002 in column ...",
     "count": 1, "examples": ["E01000002"], "check": "negative", "ids": ["E01000002"]}

``check``, when present, names the problem as it shows in the returned frame
(``"duplicate"``, ``"nan"``, ``"negative"``, ``"empty"``, ``"blank_id"``,
``"duplicate_site"``) and ``ids`` lists every affected id, so
:func:`polygeo.validate.validate` can drop a finding the user has since fixed in
the frame. Findings without ``check`` describe rows that never reached the frame
and keep only their ``examples``: pandas deep-copies ``attrs`` on every
operation, so the report must stay small (it holds thousands of ids otherwise).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from polygeo.errors import InputError

log = logging.getLogger("polygeo")

#: How many example ids a finding keeps and a message lists.
N_EXAMPLES = 5

ERROR = "error"
WARNING = "warning"


def plural(n: int, singular: str, many: str | None = None) -> str:
    """``"1 row"``, ``"2 rows"``, ``"1,234 areas"``."""
    word = singular if n == 1 else (many or singular + "s")
    return f"{n:,} {word}"


def listing(items: Sequence[str], total: int | None = None, n: int = N_EXAMPLES) -> str:
    """``"A, B, C, D, E and 3 more"``: the first ``n`` items and how many are left."""
    total = len(items) if total is None else total
    shown = ", ".join(str(i) for i in items[:n])
    rest = total - min(n, len(items))
    return f"{shown} and {rest:,} more" if rest > 0 else shown


def number(value: Any) -> str:
    """A number as a person writes it: ``-5`` not ``-5.0``."""
    try:
        f = float(value)
    except (TypeError, ValueError):
        return str(value)
    return str(int(f)) if f.is_integer() else repr(f)


class LoadReport:
    """Findings and counts gathered while loading one frame.

    Parameters
    ----------
    what
        ``"areas"`` or ``"sites"``, for the error message.
    sources
        The files read, as given.
    """

    def __init__(self, what: str, sources: Iterable[str] = ()) -> None:
        self.what = what
        self.sources = [str(s) for s in sources]
        self.findings: list[dict[str, Any]] = []
        self.stats: dict[str, Any] = {}

    def add(
        self,
        code: str,
        severity: str,
        message: str,
        ids: Sequence[Any],
        *,
        count: int | None = None,
        check: str | None = None,
    ) -> None:
        """Record one finding (and log it)."""
        ids = [str(i) for i in ids]
        finding: dict[str, Any] = {
            "code": code,
            "severity": severity,
            "message": message,
            "count": int(len(ids) if count is None else count),
            "examples": ids[:N_EXAMPLES],
        }
        if check is not None:
            finding["check"] = check
            finding["ids"] = ids
        self.findings.append(finding)
        log.debug("%s: %s", code, message)

    @property
    def errors(self) -> list[dict[str, Any]]:
        return [f for f in self.findings if f["severity"] == ERROR]

    def to_attrs(self) -> dict[str, Any]:
        """The plain dict stored in ``frame.attrs["load_report"]``."""
        return {
            "what": self.what,
            "sources": list(self.sources),
            "findings": [dict(f) for f in self.findings],
            "stats": dict(self.stats),
        }

    def log_summary(self, func: str, *, raising: bool) -> None:
        """One log line for what was found (errors are raised instead when ``raising``)."""
        n_errors = len(self.errors)
        n_warnings = len(self.findings) - n_errors
        if n_warnings or (n_errors and not raising):
            log.log(
                logging.WARNING if n_errors else logging.INFO,
                "%s: %s, %s in %s (see attrs['load_report'] or polygeo.validate)",
                func,
                plural(n_errors, "error"),
                plural(n_warnings, "warning"),
                ", ".join(self.sources),
            )

    def raise_if_errors(self, func: str) -> None:
        """Raise one :class:`InputError` listing every error found."""
        errors = self.errors
        if not errors:
            return
        lines = [f"{func} found {plural(len(errors), 'problem')} in the input:"]
        lines += [f"  - {f['message']}" for f in errors]
        lines.append(
            f"Fix the file(s), or pass errors='collect' to get the {self.what} anyway "
            "and list every finding with polygeo.validate."
        )
        raise InputError("\n".join(lines))


def check_errors_mode(errors: str) -> None:
    if errors not in ("raise", "collect"):
        raise InputError(f"errors must be 'raise' or 'collect', not {errors!r}")
