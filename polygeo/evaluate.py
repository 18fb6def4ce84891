"""The evaluation a plan is judged on: access, value for money, inequality, change.

:func:`evaluate` builds the ``evaluation`` block of ``summary.json``:

- ``access``: population-weighted mean, p95 and max minutes to the assigned hub,
  and the share of people within 10, 15, 20 and 30 minutes;
- ``value_for_money``: capital total, capital per head covered, share of hubs
  reusing existing estate (option ``reuse`` by default);
- ``inequality`` (when the areas have a deprivation decile column, 1 = most
  deprived as in the IMD): population, mean and p95 minutes by decile, the gap in
  mean minutes between the most and the least deprived decile present, and the
  share of the most deprived fifth (deciles 1 and 2) within 15 minutes;
- ``baseline`` (when asked): the same figures for today's assignments (each
  area's nearest GP practice, or a file of assignments) and ``change`` = plan
  minus baseline, key by key.

The scenario's ``[evaluation]`` table sets ``deprivation`` (areas column,
default ``imd_decile`` when present), ``baseline`` (``"nearest_gp"`` or a file)
and ``reuse_options`` (default ``["reuse"]``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from polygeo.errors import InputError
from polygeo.plan import weighted_quantile

#: Minutes thresholds of ``share_within_minutes``.
THRESHOLDS = (10, 15, 20, 30)
#: The deprivation column used when present and none is named.
DEFAULT_DEPRIVATION = "imd_decile"
#: Site kind of GP practices (the ``nearest_gp`` baseline).
GP_KIND = "gp"

FarTimes = Callable[[Sequence[str], Sequence[str]], pd.DataFrame]


def access(minutes: np.ndarray, weights: np.ndarray) -> dict[str, Any]:
    """Population-weighted access figures.

    Parameters
    ----------
    minutes
        Travel minutes of each assigned area to its hub.
    weights
        Population of each area.

    Returns
    -------
    dict
        ``mean_minutes``, ``p95_minutes``, ``max_minutes`` (over areas with people)
        and ``share_within_minutes`` ``{"10": share, "15": ..., "20": ..., "30": ...}``
        (share of the people given, counting ``minutes <= threshold``).
    """
    minutes = np.asarray(minutes, dtype=float)
    weights = np.asarray(weights, dtype=float)
    total = float(weights.sum())
    if len(minutes) == 0 or total <= 0:
        nan = float("nan")
        return {
            "mean_minutes": nan,
            "p95_minutes": nan,
            "max_minutes": nan,
            "share_within_minutes": {str(t): nan for t in THRESHOLDS},
        }
    return {
        "mean_minutes": float(np.average(minutes, weights=weights)),
        "p95_minutes": weighted_quantile(minutes, weights, 0.95),
        "max_minutes": float(minutes[weights > 0].max()),
        "share_within_minutes": {
            str(t): float(weights[minutes <= t + 1e-9].sum()) / total for t in THRESHOLDS
        },
    }


def value_for_money(
    hubs: pd.DataFrame, covered_population: float, reuse_options: Sequence[str] = ("reuse",)
) -> dict[str, float]:
    """Capital total, capital per head covered, share of hubs reusing existing estate."""
    capital = float(hubs["capital_cost"].sum()) if len(hubs) else 0.0
    reuse = hubs["option"].astype(str).isin(list(reuse_options)) if len(hubs) else []
    return {
        "capital_total": capital,
        "capital_per_head": capital / covered_population if covered_population > 0 else 0.0,
        "share_hubs_reuse": float(np.mean(reuse)) if len(hubs) else float("nan"),
    }


def deciles_of(areas: pd.DataFrame, column: str) -> pd.Series:
    """The areas' deprivation deciles (whole numbers 1-10, NaN when missing) by ``area_id``.

    Raises
    ------
    InputError
        The column is missing or holds values other than 1-10.
    """
    if column not in areas.columns:
        raise InputError(
            f"[evaluation] deprivation = {column!r}: the areas have no such column; keep it "
            f'with [areas] keep = ["{column}"] (columns present: '
            f"{', '.join(map(str, areas.columns))})."
        )
    values = pd.to_numeric(areas[column], errors="coerce")
    text = areas[column].astype(str).str.strip()
    bad = values.isna() & areas[column].notna() & text.ne("")
    bad |= values.notna() & ~values.isin(range(1, 11))
    if bad.any():
        first = areas.loc[bad, "area_id"].iloc[0]
        raise InputError(
            f"[evaluation] deprivation column {column!r} must hold deciles 1-10 (1 = most "
            f"deprived); area {first} has {str(areas.loc[bad, column].iloc[0])!r}."
        )
    return pd.Series(values.to_numpy(), index=areas["area_id"].astype(str))


def inequality(
    minutes: np.ndarray, weights: np.ndarray, deciles: np.ndarray, column: str
) -> dict[str, Any]:
    """Access by deprivation decile (1 = most deprived).

    Returns
    -------
    dict
        ``column``, ``by_decile`` (``decile, population, mean_minutes, p95_minutes``
        for every decile present), ``mean_minutes_gap_most_vs_least_deprived``
        (mean minutes of the lowest decile present minus the highest), and
        ``most_deprived_fifth_share_within_15`` (deciles 1-2).
    """
    minutes = np.asarray(minutes, dtype=float)
    weights = np.asarray(weights, dtype=float)
    deciles = np.asarray(deciles, dtype=float)
    rows = []
    for d in sorted({int(v) for v in deciles[np.isfinite(deciles)]}):
        sel = deciles == d
        figures = access(minutes[sel], weights[sel])
        rows.append(
            {
                "decile": d,
                "population": float(weights[sel].sum()),
                "mean_minutes": figures["mean_minutes"],
                "p95_minutes": figures["p95_minutes"],
            }
        )
    gap = rows[0]["mean_minutes"] - rows[-1]["mean_minutes"] if rows else float("nan")
    fifth = deciles <= 2
    fifth_pop = float(weights[fifth].sum())
    share = (
        float(weights[fifth & (minutes <= 15 + 1e-9)].sum()) / fifth_pop
        if fifth_pop
        else float("nan")
    )
    return {
        "column": column,
        "by_decile": rows,
        "mean_minutes_gap_most_vs_least_deprived": gap,
        "most_deprived_fifth_share_within_15": share,
    }


def figures(
    assignments: pd.DataFrame,
    hubs: pd.DataFrame,
    areas: pd.DataFrame,
    *,
    deprivation: str | None = None,
    reuse_options: Sequence[str] = ("reuse",),
) -> dict[str, Any]:
    """``access``, ``value_for_money`` and (with a deprivation column) ``inequality``.

    Parameters
    ----------
    assignments
        ``area_id, minutes`` of every assigned area.
    hubs
        ``option, capital_cost`` of every open hub.
    areas
        ``area_id, population`` and the deprivation column.
    deprivation
        The decile column, or ``None`` for no inequality figures.
    reuse_options
        Option names that reuse existing estate.
    """
    population = pd.Series(
        areas["population"].to_numpy(dtype=float), index=areas["area_id"].astype(str)
    )
    ids = assignments["area_id"].astype(str)
    weights = population.reindex(ids).fillna(0.0).to_numpy()
    minutes = assignments["minutes"].to_numpy(dtype=float)
    out: dict[str, Any] = {
        "access": access(minutes, weights),
        "value_for_money": value_for_money(hubs, float(weights.sum()), reuse_options),
    }
    if deprivation is not None:
        deciles = deciles_of(areas, deprivation).reindex(ids).to_numpy(dtype=float)
        out["inequality"] = inequality(minutes, weights, deciles, deprivation)
    return out


def change(plan: Any, baseline: Any) -> Any:
    """``plan - baseline`` for every number in the same nested place (``decile`` kept)."""
    if isinstance(plan, Mapping) and isinstance(baseline, Mapping):
        return {
            k: (v if k in ("decile", "column") else change(v, baseline[k]))
            for k, v in plan.items()
            if k in baseline
        }
    if isinstance(plan, list) and isinstance(baseline, list):
        if plan and isinstance(plan[0], Mapping) and "decile" in plan[0]:
            base = {row["decile"]: row for row in baseline}
            return [change(row, base[row["decile"]]) for row in plan if row["decile"] in base]
        return [change(a, b) for a, b in zip(plan, baseline, strict=False)]
    if isinstance(plan, int | float) and isinstance(baseline, int | float):
        return float(plan) - float(baseline)
    return None


def nearest_gp(
    areas: pd.DataFrame, sites: pd.DataFrame, table: pd.DataFrame, far_times: FarTimes | None = None
) -> pd.DataFrame:
    """Today's assignments: each area to its nearest GP practice (kind ``gp``) by travel time.

    Parameters
    ----------
    areas, sites
        The frames of the run.
    table
        The travel table (``area_id, site_id, minutes``) within the travel limit.
    far_times
        ``far_times(area_ids, site_ids)`` giving times with no limit, for areas
        with no GP practice within the limit (see
        :func:`polygeo.pipeline.far_times_from`).

    Returns
    -------
    pandas.DataFrame
        ``area_id, site_id, minutes``; areas reaching no GP practice are left out.

    Raises
    ------
    InputError
        No site has kind ``gp``.
    """
    gp_ids = sites.loc[sites["kind"].astype(str).eq(GP_KIND), "site_id"].astype(str)
    if gp_ids.empty:
        kinds = ", ".join(sorted(set(sites["kind"].astype(str))))
        raise InputError(
            '[evaluation] baseline = "nearest_gp" needs sites of kind "gp"; '
            f"kinds present: {kinds}."
        )
    t = table[table["site_id"].astype(str).isin(set(gp_ids))]
    best = _nearest(t)
    missing = sorted(set(areas["area_id"].astype(str)) - set(best["area_id"]))
    if missing and far_times is not None:
        far = far_times(missing, list(gp_ids))
        best = pd.concat([best, _nearest(far)], ignore_index=True)
    return best


def _nearest(table: pd.DataFrame) -> pd.DataFrame:
    t = pd.DataFrame(
        {
            "area_id": table["area_id"].astype(str).to_numpy(),
            "site_id": table["site_id"].astype(str).to_numpy(),
            "minutes": table["minutes"].to_numpy(dtype=float),
        }
    )
    t = t[np.isfinite(t["minutes"])]
    return t.sort_values(["area_id", "minutes", "site_id"]).drop_duplicates("area_id")


def assignments_file(
    path: str | Path, table: pd.DataFrame, far_times: FarTimes | None = None
) -> pd.DataFrame:
    """Today's assignments from a file with ``area_id, site_id`` (and optional ``minutes``).

    Missing minutes are looked up in the travel table, then with ``far_times``.

    Raises
    ------
    InputError
        Missing columns, or pairs with no travel time, naming the file.
    """
    from polygeo.io._tables import read_table

    src = read_table(path, str_columns=["area_id", "site_id"])
    frame = src.frame
    missing = [c for c in ("area_id", "site_id") if c not in frame.columns]
    if missing:
        raise InputError(f"{src.name}: missing columns {', '.join(missing)} (current assignments).")
    pairs = pd.DataFrame(
        {
            "area_id": frame["area_id"].astype(str).str.strip(),
            "site_id": frame["site_id"].astype(str).str.strip(),
        }
    )
    if "minutes" in frame.columns:
        pairs["minutes"] = pd.to_numeric(frame["minutes"], errors="coerce").to_numpy()
        return pairs
    known = table.assign(area_id=table["area_id"].astype(str), site_id=table["site_id"].astype(str))
    pairs = pairs.merge(
        known[["area_id", "site_id", "minutes"]], on=["area_id", "site_id"], how="left"
    )
    lost = pairs["minutes"].isna()
    if lost.any() and far_times is not None:
        far = far_times(list(pairs.loc[lost, "area_id"]), sorted(set(pairs.loc[lost, "site_id"])))
        far = far.assign(area_id=far["area_id"].astype(str), site_id=far["site_id"].astype(str))
        fill = pairs.loc[lost, ["area_id", "site_id"]].merge(
            far, on=["area_id", "site_id"], how="left"
        )
        pairs.loc[lost, "minutes"] = fill["minutes"].to_numpy()
    still = pairs["minutes"].isna()
    if still.any():
        first = pairs[still].iloc[0]
        raise InputError(
            f"{src.name}: no travel time for area {first['area_id']} to site {first['site_id']} "
            f"({int(still.sum())} rows); check the ids, or give a minutes column."
        )
    return pairs


def evaluate(
    plan: Any,
    areas: pd.DataFrame,
    *,
    deprivation: str | None = None,
    reuse_options: Sequence[str] = ("reuse",),
    baseline: pd.DataFrame | None = None,
    baseline_name: str = "nearest_gp",
) -> dict[str, Any]:
    """The ``evaluation`` block of ``summary.json`` for a plan.

    Parameters
    ----------
    plan
        A :class:`~polygeo.plan.Plan` (its ``assignments`` and ``hubs``).
    areas
        The areas (``area_id``, ``population``, the deprivation column).
    deprivation
        The decile column; default ``imd_decile`` when the areas have it.
    reuse_options
        Option names that reuse existing estate.
    baseline
        Today's assignments (``area_id, site_id, minutes``), e.g. from
        :func:`nearest_gp`; the baseline's hubs are existing estate at no capital.
    baseline_name
        Name of the baseline in the output.

    Returns
    -------
    dict
        ``access``, ``value_for_money``, ``inequality`` (with a deprivation column)
        and ``baseline`` (``name``, ``figures``, ``change``) when a baseline is given.
    """
    if deprivation is None and DEFAULT_DEPRIVATION in areas.columns:
        deprivation = DEFAULT_DEPRIVATION
    out = figures(
        plan.assignments, plan.hubs, areas, deprivation=deprivation, reuse_options=reuse_options
    )
    if baseline is not None:
        hubs = pd.DataFrame({"site_id": pd.unique(baseline["site_id"].astype(str))})
        hubs["option"], hubs["capital_cost"] = reuse_options[0] if reuse_options else "reuse", 0.0
        base = figures(baseline, hubs, areas, deprivation=deprivation, reuse_options=reuse_options)
        out["baseline"] = {"name": baseline_name, "figures": base, "change": change(out, base)}
    return out
