"""A sweep's comparison: one row per variant, ``comparison.csv`` and ``comparison.html``.

A row holds the variant's name, the keys it changes, its status and message, and
headline figures read from its ``summary.json``: solver gap and objective, number of
polysystems, coverage, population-weighted mean / p95 minutes, capital total, and
every number under ``"evaluation"`` flattened to dotted columns
(``evaluation.access.p95_minutes``), whatever the run wrote there.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

#: Headline columns: name -> path in summary.json.
HEADLINE: dict[str, tuple[str, ...]] = {
    "gap": ("solver", "gap"),
    "objective": ("solver", "objective"),
    "proven_optimal": ("solver", "optimal"),
    "polysystems": ("hubs",),
    "coverage": ("coverage",),
    "mean_minutes": ("minutes", "mean"),
    "p95_minutes": ("minutes", "p95"),
    "capital_total": ("capital_total",),
}
_LOWER = ("gap", "minutes", "capital", "cost", "objective")
_HIGHER = ("coverage", "share")


def figures(summary: Mapping[str, Any]) -> dict[str, Any]:
    """The comparison's figures of one run, from its ``summary.json``."""
    row: dict[str, Any] = {}
    for column, path in HEADLINE.items():
        value: Any = summary
        for part in path:
            value = value.get(part) if isinstance(value, Mapping) else None
        row[column] = value
    row["checked"] = (summary.get("check") or {}).get("valid")
    row.update(flatten(summary.get("evaluation") or {}, "evaluation"))
    return row


def flatten(value: Any, prefix: str) -> dict[str, float]:
    """Every number in nested dicts and lists as ``prefix.key.key`` (list items by index)."""
    if isinstance(value, bool):
        return {}
    if isinstance(value, int | float):
        return {prefix: value}
    items: Any = ()
    if isinstance(value, Mapping):
        items = value.items()
    elif isinstance(value, Sequence) and not isinstance(value, str):
        items = enumerate(value)
    out: dict[str, float] = {}
    for key, item in items:
        out.update(flatten(item, f"{prefix}.{key}"))
    return out


def direction(column: str) -> int:
    """``-1`` when lower is better, ``+1`` when higher is, ``0`` when neither."""
    name = column.lower()
    if any(word in name for word in _HIGHER):
        return 1
    if any(word in name for word in _LOWER):
        return -1
    return 0


def best_columns(frame: pd.DataFrame, columns: Sequence[str]) -> dict[str, set[int]]:
    """Rows holding the best value of each figure, among the variants that ran."""
    ok = frame["status"] == "ok"
    best: dict[str, set[int]] = {}
    for column in columns:
        sign = direction(column)
        values = pd.to_numeric(frame.loc[ok, column], errors="coerce").dropna()
        if sign == 0 or values.empty or values.nunique() < 2:
            continue
        target = values.max() if sign > 0 else values.min()
        best[column] = set(values.index[values == target])
    return best


def comparison_frame(rows: list[dict[str, Any]], changed: list[str]) -> pd.DataFrame:
    """Rows in a fixed column order: name, changed keys, status, message, figures."""
    frame = pd.DataFrame(rows, dtype=object)
    lead = ["name", *changed, "status", "message", *HEADLINE, "checked"]
    for column in lead:
        if column not in frame:
            frame[column] = None
    frame = frame.where(frame.notna(), None)
    frame["message"] = [short_message(m) for m in frame["message"]]
    rest = sorted(c for c in frame.columns if c not in lead)
    return frame[lead + rest]


def short_message(message: Any, limit: int = 300) -> str:
    """A message on one line, at most ``limit`` characters (the variant's folder keeps all)."""
    line = " ".join(part.strip() for part in str(message or "").splitlines() if part.strip())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def figure_columns(frame: pd.DataFrame) -> list[str]:
    """The numeric figure columns (headline and evaluation)."""
    return [c for c in frame.columns if c in HEADLINE or c.startswith("evaluation.")]


def write_comparison(
    rows: list[dict[str, Any]], changed: list[str], folder: Path, *, title: str
) -> dict[str, Path]:
    """Write ``comparison.csv`` and ``comparison.html`` into ``folder``.

    The CSV gains a column ``best``: the figures in which the variant is the best of
    the variants that ran. The HTML marks those cells.
    """
    from polygeo.outputs import write_csv, write_text

    frame = comparison_frame(rows, changed)
    best = best_columns(frame, figure_columns(frame))
    frame["best"] = [";".join(c for c, idx in best.items() if i in idx) for i in range(len(frame))]
    folder.mkdir(parents=True, exist_ok=True)
    return {
        "csv": write_csv(folder / "comparison.csv", frame),
        "html": write_text(folder / "comparison.html", comparison_html(frame, best, title)),
    }


def _cell(value: Any) -> str:
    if value is None or isinstance(value, float) and math.isnan(value):
        return ""
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e4 else f"{value:,.0f}"
    return str(value)


def comparison_html(frame: pd.DataFrame, best: dict[str, set[int]], title: str) -> str:
    """A standalone HTML table; every user string is escaped; best cells are marked."""
    esc = html.escape
    head = "".join(f"<th>{esc(str(c))}</th>" for c in frame.columns)
    body = []
    for i, row in enumerate(frame.itertuples(index=False)):
        cells = []
        for column, value in zip(frame.columns, row, strict=True):
            mark = i in best.get(column, ())
            text = esc(_cell(value)) + (" &#9733;" if mark else "")
            cells.append(f'<td class="best">{text}</td>' if mark else f"<td>{text}</td>")
        ok = row[list(frame.columns).index("status")] == "ok"
        body.append(f'<tr class="{"ok" if ok else "failed"}">{"".join(cells)}</tr>')
    return (
        "<!doctype html>\n<html><head><meta charset='utf-8'>"
        f"<title>{esc(title)}</title><style>"
        "body{font-family:sans-serif}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}"
        "td.best{background:#d4f4d4;font-weight:bold}tr.failed td{color:#a00}"
        "</style></head><body>"
        f"<h1>{esc(title)}</h1><p>&#9733; best among the variants that ran "
        "(lowest minutes, gap, cost; highest coverage and shares).</p>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
        "</body></html>\n"
    )
