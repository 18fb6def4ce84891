"""Spreadsheet-safe CSV cells (the OWASP CSV-injection rule).

A spreadsheet runs a cell that begins with ``=``, ``+``, ``-`` or ``@`` as a
formula (``=HYPERLINK(...)`` in a site name from a downloaded file), and tab or
carriage return start one too. Every CSV polygeo writes passes its text cells
through :func:`spreadsheet_safe`: such a cell gets a leading ``'`` so that a
spreadsheet shows it as text. Numbers (a negative number in a numeric column)
are not text and are written as they are.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["FORMULA_STARTS", "spreadsheet_safe", "spreadsheet_safe_text"]

#: First characters that make a spreadsheet read a cell as a formula (OWASP).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe_text(value: str) -> str:
    """``value`` with a leading ``'`` if a spreadsheet would read it as a formula."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells (and column names) cannot run as formulas.

    Parameters
    ----------
    frame
        The table about to be written as CSV.

    Returns
    -------
    pandas.DataFrame
        The same table; only text cells starting with one of :data:`FORMULA_STARTS`
        differ (a ``'`` in front). The frame is returned as is when none does.
    """
    out = None
    for col in frame.columns:
        values = frame[col]
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            continue
        if isinstance(values.dtype, pd.CategoricalDtype):
            values = values.astype(object)
        text = values.map(lambda v: isinstance(v, str) and v.startswith(FORMULA_STARTS))
        if text.any():
            out = frame.copy() if out is None else out
            out[col] = values.where(~text, "'" + values[text].astype(str))
    names = [spreadsheet_safe_text(c) if isinstance(c, str) else c for c in frame.columns]
    if names != list(frame.columns):
        out = frame.copy() if out is None else out
        out.columns = names
    return frame if out is None else out
