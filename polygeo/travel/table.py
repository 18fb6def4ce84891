"""The sparse travel-time table and its Parquet files.

A travel table is a :class:`pandas.DataFrame` in long form holding only the
(area, site) pairs within the travel limit:

=========== ============================================================
column      dtype
=========== ============================================================
``area_id`` ``category``; categories = ``areas.area_id`` in frame order
``site_id`` ``category``; categories = ``sites.site_id`` in frame order
``minutes`` ``float32``
=========== ============================================================

The category codes are the row positions in the areas and sites frames, so
``table.area_id.cat.codes`` indexes ``areas`` directly. Memory is proportional
to the pairs kept (two small integer codes and a float32 per pair), never to
areas x sites. Areas with no site in reach keep their category, so the
optimiser still sees them.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from polygeo.errors import InputError
from polygeo.travel._common import area_ids, examples, site_ids

log = logging.getLogger("polygeo")

#: The columns of a travel table, in order.
TABLE_COLUMNS = ("area_id", "site_id", "minutes")


def make_table(
    area_index: np.ndarray,
    site_index: np.ndarray,
    minutes: np.ndarray,
    *,
    area_ids: pd.Index | np.ndarray | list,
    site_ids: pd.Index | np.ndarray | list,
    sort: bool = True,
) -> pd.DataFrame:
    """Build a travel table from integer positions.

    Parameters
    ----------
    area_index, site_index
        Row positions of each pair in the areas and sites frames (equal length).
    minutes
        Travel time of each pair in minutes.
    area_ids, site_ids
        All area and site ids, in frame order: they become the categories.
    sort
        Sort the pairs by area then site position (the order every provider returns).

    Returns
    -------
    pandas.DataFrame
        The travel table (``area_id``, ``site_id`` categorical, ``minutes`` float32).
    """
    a = np.asarray(area_index, dtype=np.int64)
    s = np.asarray(site_index, dtype=np.int64)
    m = np.asarray(minutes, dtype=np.float32)
    if not (a.shape == s.shape == m.shape) or a.ndim != 1:
        raise ValueError(
            f"area_index, site_index and minutes must be 1-D of equal length, "
            f"got shapes {a.shape}, {s.shape}, {m.shape}"
        )
    acat = pd.Index(area_ids, name=None)
    scat = pd.Index(site_ids, name=None)
    if sort and len(a) > 1:
        key = a * max(len(scat), 1) + s
        if not (key[1:] >= key[:-1]).all():  # providers often give sorted pairs already
            order = np.argsort(key, kind="stable")
            a, s, m = a[order], s[order], m[order]
    return pd.DataFrame(
        {
            "area_id": pd.Categorical.from_codes(a, categories=acat),
            "site_id": pd.Categorical.from_codes(s, categories=scat),
            "minutes": m,
        }
    )


def empty_table(area_ids: pd.Index | list, site_ids: pd.Index | list) -> pd.DataFrame:
    """Return a travel table with no pairs (but the full categories)."""
    none = np.zeros(0, dtype=np.int64)
    return make_table(none, none, none.astype(np.float32), area_ids=area_ids, site_ids=site_ids)


def table_for(areas: pd.DataFrame, sites: pd.DataFrame, a, s, minutes) -> pd.DataFrame:
    """Build a travel table for ``areas`` x ``sites`` from positions (providers' helper)."""
    return make_table(a, s, minutes, area_ids=area_ids(areas), site_ids=site_ids(sites))


def check_table(table: pd.DataFrame, *, source: str = "the travel table") -> pd.DataFrame:
    """Check a travel table's columns and values, returning it in canonical dtypes.

    ``area_id`` / ``site_id`` may be categorical or plain strings (they become
    categorical); ``minutes`` may be any numeric type (it becomes float32).

    Parameters
    ----------
    table
        The frame to check.
    source
        The file or object name used in error messages.

    Returns
    -------
    pandas.DataFrame
        ``area_id``, ``site_id`` (category), ``minutes`` (float32), in that order.

    Raises
    ------
    InputError
        Missing columns, missing ids, non-numeric, missing or negative minutes,
        or a pair given twice.
    """
    missing = [c for c in TABLE_COLUMNS if c not in table.columns]
    if missing:
        raise InputError(
            f"{source} has no column {', '.join(repr(c) for c in missing)} "
            f"(columns: {list(table.columns)[:12]}); a travel table needs columns "
            "area_id, site_id, minutes — make one with polygeo.travel.write_table "
            "or `polygeo matrix`"
        )
    out = {}
    for col in ("area_id", "site_id"):
        values = table[col]
        if isinstance(values.dtype, pd.CategoricalDtype):
            cat = values.array
            if not all(isinstance(c, str) for c in examples(cat.categories, 1)):
                cat = cat.rename_categories(cat.categories.astype(str))
        else:
            if values.isna().any():
                cat = pd.Categorical(values)  # reported just below
            else:
                cat = pd.Categorical(values.astype(str))
        if (cat.codes < 0).any():
            raise InputError(
                f"{source}: {int((cat.codes < 0).sum())} rows have no {col}; every row "
                "needs an area_id and a site_id"
            )
        out[col] = cat
    minutes = table["minutes"]
    if not pd.api.types.is_numeric_dtype(minutes) or pd.api.types.is_bool_dtype(minutes):
        raise InputError(
            f"{source}: column 'minutes' must be numeric, found dtype {minutes.dtype} "
            f"(e.g. {examples(minutes.head(3))}); write travel times in minutes as numbers"
        )
    m = minutes.to_numpy(dtype=np.float32, na_value=np.nan)
    bad = ~np.isfinite(m) | (m < 0)
    if bad.any():
        rows = np.flatnonzero(bad)[:5]
        pairs = ", ".join(
            f"({out['area_id'][r]}, {out['site_id'][r]}) {m[r]}" for r in rows.tolist()
        )
        raise InputError(
            f"{source}: {int(bad.sum())} rows have missing, infinite or negative minutes "
            f"(e.g. rows {rows.tolist()}, (area_id, site_id) minutes: {pairs}); "
            "drop or fix those pairs"
        )
    out["minutes"] = m
    result = pd.DataFrame(out)
    if len(result):
        key = out["area_id"].codes.astype(np.int64) * max(len(out["site_id"].categories), 1)
        key += out["site_id"].codes
        dup = pd.Index(key).duplicated()
        if dup.any():
            first = result.loc[dup].head(3)
            pairs = list(
                zip(first["area_id"].astype(str), first["site_id"].astype(str), strict=True)
            )
            raise InputError(
                f"{source}: {int(dup.sum())} (area_id, site_id) pairs appear more than once, "
                f"e.g. {pairs}; keep one time per pair"
            )
    return result


def align_table(
    table: pd.DataFrame,
    areas: pd.DataFrame | None = None,
    sites: pd.DataFrame | None = None,
    *,
    unknown: Literal["raise", "drop"] = "raise",
    source: str = "the travel table",
) -> pd.DataFrame:
    """Re-align a table's categories to the ids of ``areas`` and ``sites`` (frame order).

    Parameters
    ----------
    table
        A travel table (see :func:`check_table`).
    areas, sites
        Frames whose ``area_id`` / ``site_id`` become the categories; ``None``
        keeps the table's own.
    unknown
        What to do with pairs naming an area or site not in the frames:
        ``"raise"`` (default) an :class:`InputError`, ``"drop"`` drop them and log a warning.
    source
        Name used in messages.

    Returns
    -------
    pandas.DataFrame
        The table with codes equal to row positions in ``areas`` / ``sites``.
    """
    table = check_table(table, source=source)
    keep = np.ones(len(table), dtype=bool)
    cols = {}
    for col, frame, ids_of, what in (
        ("area_id", areas, area_ids, "areas"),
        ("site_id", sites, site_ids, "sites"),
    ):
        cat = table[col].array
        if frame is None:
            cols[col] = (cat.codes.astype(np.int64), cat.categories)
            continue
        new = ids_of(frame)
        remap = new.get_indexer(cat.categories)
        codes = remap[cat.codes]
        missing = codes < 0
        if missing.any():
            names = pd.unique(np.asarray(cat.categories)[cat.codes[missing]])
            msg = (
                f"{source} names {len(names)} {what[:-1]} ids not in the {what} frame "
                f"({int(missing.sum())} pairs), e.g. {examples(names)}"
            )
            if unknown == "raise":
                raise InputError(
                    msg + f"; rebuild the table for these {what} (`polygeo matrix`) or pass "
                    "unknown='drop' to ignore those pairs"
                )
            log.warning("%s; dropping those pairs", msg)
            keep &= ~missing
        cols[col] = (codes, new)
    (a, acat), (s, scat) = cols["area_id"], cols["site_id"]
    return make_table(
        a[keep],
        s[keep],
        table["minutes"].to_numpy()[keep],
        area_ids=acat,
        site_ids=scat,
        sort=areas is not None or sites is not None,
    )


def write_table(table: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write a travel table to Parquet, atomically.

    The table goes to a temporary file in the same folder, which then replaces
    ``path`` (``os.replace``), so a reader never sees half a file. Categories are
    kept (including areas with no pair), so :func:`read_table` gives back the
    same codes.

    Parameters
    ----------
    table
        A travel table.
    path
        Destination file (conventionally ``.parquet``).

    Returns
    -------
    pathlib.Path
        The path written.
    """
    path = Path(path)
    table = check_table(table, source="the table to write")
    if not path.parent.is_dir():
        raise InputError(
            f"cannot write {path}: folder {path.parent} does not exist; create it first"
        )
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        table.to_parquet(tmp, index=False, compression="zstd")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    log.info("wrote %d travel-time pairs to %s", len(table), path)
    return path


def read_table(
    path: str | os.PathLike,
    areas: pd.DataFrame | None = None,
    sites: pd.DataFrame | None = None,
    *,
    unknown: Literal["raise", "drop"] = "raise",
) -> pd.DataFrame:
    """Read a travel table from Parquet, checking it and aligning it to the frames.

    Parameters
    ----------
    path
        A Parquet file with columns ``area_id``, ``site_id``, ``minutes``
        (categorical or string ids; any numeric minutes). Written by
        :func:`write_table`, ``polygeo matrix`` or any other tool.
    areas, sites
        When given, the categories become their ``area_id`` / ``site_id`` in
        frame order (codes = row positions).
    unknown
        Pairs naming areas/sites not in the frames: ``"raise"`` or ``"drop"``.

    Returns
    -------
    pandas.DataFrame
        The travel table.

    Raises
    ------
    InputError
        The file is missing or not Parquet, a column is missing, or values are bad;
        the message names the file.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"travel table {path} not found; make it with `polygeo matrix`")
    try:
        import pyarrow.parquet as pq

        schema = pq.read_schema(path)
    except Exception as exc:
        raise InputError(f"travel table {path} is not a readable Parquet file: {exc}") from exc
    missing = [c for c in TABLE_COLUMNS if c not in schema.names]
    if missing:
        raise InputError(
            f"travel table {path} has no column {', '.join(repr(c) for c in missing)} "
            f"(columns: {schema.names[:12]}); it needs area_id, site_id, minutes"
        )
    table = pd.read_parquet(path, columns=list(TABLE_COLUMNS))
    return align_table(table, areas, sites, unknown=unknown, source=f"travel table {path}")
