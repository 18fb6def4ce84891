"""Capital options as data: an options file, ready years, and the hubs' capital figures.

A scenario gives its capital options either as ``[[options]]`` tables (see
:func:`polygeo.optimise.options_from_settings`) or as a file::

    [options]
    path = "options.csv"

The file has one row per option with columns ``option, capital_cost`` and
optional ``capacity`` (empty = unlimited) and ``ready_year`` (empty = ready
now), joined to the sites on ``site_id`` and/or ``kind``: a row with a
``site_id`` applies to that site (whose kind must then match any ``kind``
given), a row with only a ``kind`` to every site of that kind. Rows by kind
are applied first, so a site's own row replaces its kind's row for the same
option.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from polygeo.errors import InputError

#: Columns an options file may hold.
OPTION_FILE_COLUMNS = ("site_id", "kind", "option", "capital_cost", "capacity", "ready_year")
#: The kind of sites that do not exist yet (user points and generated candidates).
NEW_KIND = "new"


def read_options_file(path: str | Path, sites: pd.DataFrame) -> list[dict[str, Any]]:
    """Read an options file into ``[[options]]``-style entries.

    Parameters
    ----------
    path
        A CSV (or XLSX) with ``option, capital_cost`` and ``site_id`` and/or
        ``kind``; optional ``capacity`` and ``ready_year``.
    sites
        The sites frame (``site_id``, ``kind``), to check a row's kind against its site.

    Returns
    -------
    list of dict
        Entries for :func:`polygeo.optimise.options_from_settings`, kind rows first.

    Raises
    ------
    InputError
        Missing or unknown columns, bad numbers, or a site whose kind differs from
        its row's kind, naming the file, the row (as a spreadsheet numbers it)
        and the column.
    """
    from polygeo.io._tables import read_table

    table = read_table(path, str_columns=["site_id", "kind", "option"])
    frame = table.frame
    name = table.name
    frame.columns = [str(c).strip() for c in frame.columns]
    unknown = [c for c in frame.columns if c not in OPTION_FILE_COLUMNS]
    if unknown:
        raise InputError(
            f"{name}: unknown columns {', '.join(unknown)}; an options file has columns "
            f"{', '.join(OPTION_FILE_COLUMNS)}."
        )
    missing = [c for c in ("option", "capital_cost") if c not in frame.columns]
    if "site_id" not in frame.columns and "kind" not in frame.columns:
        missing.append("site_id or kind")
    if missing:
        raise InputError(f"{name}: missing columns {', '.join(missing)}.")
    kinds = dict(zip(sites["site_id"].astype(str), sites["kind"].astype(str), strict=True))
    by_kind, by_site = [], []
    for pos, row in enumerate(frame.to_dict("records")):
        entry = _entry(row, kinds, f"{name} {table.row(pos)}")
        (by_site if "sites" in entry else by_kind).append(entry)
    return by_kind + by_site


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def _number(value: Any, column: str, where: str, *, whole: bool = False) -> float | None:
    if _text(value) is None:
        return None
    try:
        number = float(str(value).replace(",", ""))
    except ValueError:
        raise InputError(f"{where}: {column} {value!r} is not a number.") from None
    if not math.isfinite(number) or number < 0 or (whole and not number.is_integer()):
        what = "a whole year" if whole else "a number >= 0"
        raise InputError(f"{where}: {column} must be {what}, got {value!r}.")
    return number


def _entry(row: Mapping[str, Any], kinds: Mapping[str, str], where: str) -> dict[str, Any]:
    option = _text(row.get("option"))
    if option is None:
        raise InputError(f"{where}: the option column is empty; name the option (e.g. reuse).")
    cost = _number(row.get("capital_cost"), "capital_cost", where)
    if cost is None:
        raise InputError(f"{where}: capital_cost is empty; give a cost (0 for none).")
    entry: dict[str, Any] = {"option": option, "capital_cost": cost}
    capacity = _number(row.get("capacity"), "capacity", where)
    if capacity is not None:
        entry["capacity"] = capacity
    ready = _number(row.get("ready_year"), "ready_year", where, whole=True)
    if ready is not None:
        entry["ready_year"] = int(ready)
    site, kind = _text(row.get("site_id")), _text(row.get("kind"))
    if site is not None:
        if site not in kinds:
            raise InputError(f"{where}: site_id {site!r} is not a site of the scenario.")
        if kind is not None and kinds[site] != kind:
            raise InputError(
                f"{where}: site {site!r} has kind {kinds[site]!r}, not {kind!r}; "
                "correct the kind or leave it empty."
            )
        entry["sites"] = [site]
    elif kind is not None:
        entry["kind"] = kind
    else:
        raise InputError(f"{where}: give a site_id or a kind for the option to apply to.")
    return entry


def scenario_options(
    entries: Sequence[Mapping[str, Any]],
    sites: pd.DataFrame,
    new_build: Mapping[str, Any] | None = None,
    *,
    source: str = "[[options]]",
) -> pd.DataFrame | None:
    """The capital options of every site, new-build sites included.

    Parameters
    ----------
    entries
        ``[[options]]`` tables or the rows of an options file; empty gives every
        existing site ``reuse`` at cost 0 (the default).
    sites
        All sites; those of kind ``new`` (user points and generated candidates)
        do not exist yet and never get the default ``reuse``.
    new_build
        The ``[new_build]`` settings: ``option`` (default ``"new build"``),
        ``capital_cost``, ``capacity``, ``ready_year``, applied to every new
        site that no entry gives an option.
    source
        Where the entries came from, for messages.

    Returns
    -------
    pandas.DataFrame or None
        ``site_id, option, capital_cost, capacity, ready_year``; ``None`` when the
        default (reuse everywhere) applies.
    """
    from polygeo.optimise import options_from_settings

    ids = sites["site_id"].astype(str)
    is_new = sites["kind"].astype(str).eq(NEW_KIND).to_numpy()
    if not entries and not is_new.any():
        return None
    entries = [dict(e) for e in entries]
    if not entries:
        entries = [{"option": "reuse", "capital_cost": 0.0, "sites": list(ids[~is_new])}]
    options = options_from_settings(entries, sites, source=source)
    uncovered = sorted(set(ids[is_new]) - set(options["site_id"]))
    if uncovered and new_build is not None:
        keys = ("capital_cost", "capacity", "ready_year")
        entry = {k: new_build[k] for k in keys if k in new_build}
        entry["option"] = new_build.get("option", "new build")
        entries.append({**entry, "sites": uncovered})
        options = options_from_settings(entries, sites, source=source)
    return options


def hub_capital_columns(
    hubs: pd.DataFrame, options: pd.DataFrame | None, sites: pd.DataFrame
) -> pd.DataFrame:
    """The hubs with ``ready_year`` (of their option; empty = ready now) and ``is_new``.

    ``is_new`` marks hubs on sites that do not exist yet (kind ``new``).
    """
    out = hubs.copy()
    ready = pd.Series(np.nan, index=out.index)
    if options is not None and "ready_year" in options.columns and len(out):
        key = options.set_index(["site_id", "option"])["ready_year"]
        pairs = list(zip(out["site_id"].astype(str), out["option"].astype(str), strict=True))
        ready = pd.Series(key.reindex(pairs).to_numpy(dtype=float), index=out.index)
    out["ready_year"] = ready.astype("Int64")
    kinds = sites.set_index(sites["site_id"].astype(str))["kind"].astype(str)
    out["is_new"] = out["site_id"].astype(str).map(kinds).eq(NEW_KIND).to_numpy()
    return out


def capital_by_option(hubs: pd.DataFrame) -> dict[str, dict[str, float]]:
    """``{option: {"hubs": n, "capital": total}}`` over the open hubs."""
    out: dict[str, dict[str, float]] = {}
    for option, group in hubs.groupby(hubs["option"].astype(str), sort=True):
        out[str(option)] = {"hubs": int(len(group)), "capital": float(group["capital_cost"].sum())}
    return out
