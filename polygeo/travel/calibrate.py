"""Fit the straight-line model to known travel times.

:func:`calibrate` fits ``minutes = intercept_minutes + minutes_per_km * km`` by
ordinary least squares to any table of known times (a routed matrix, observed
trips) against the straight-line distance between the same areas and sites,
and reports how well the line fits.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from polygeo.errors import InputError
from polygeo.travel._common import area_ids, site_ids
from polygeo.travel.straight_line import StraightLine, pair_distances_km
from polygeo.travel.table import align_table

log = logging.getLogger("polygeo")


@dataclass(frozen=True)
class Calibration:
    """The straight-line model fitted to known travel times.

    Attributes
    ----------
    intercept_minutes, minutes_per_km
        The fitted parameters (``intercept_minutes`` is 0 for a through-origin fit).
    n_pairs
        Pairs used in the fit.
    mae, bias, rmse
        Mean absolute error, mean of (predicted - known), root mean square
        error, in minutes, of the fitted model on those pairs.
    r2
        Coefficient of determination (1 - SS_res / SS_tot about the mean of the known times).
    through_origin
        Whether the intercept was fixed at 0.
    max_minutes
        Only known times up to this were used (``None``: all).
    max_km
        Only pairs up to this straight-line distance were used (``None``: all).
    pairs_dropped
        Known pairs left out (beyond ``max_minutes``, or naming areas/sites not in the frames).
    mean_known_minutes, mean_km
        Means of the known times and straight-line distances used.
    """

    intercept_minutes: float
    minutes_per_km: float
    n_pairs: int
    mae: float
    bias: float
    rmse: float
    r2: float
    through_origin: bool = False
    max_minutes: float | None = None
    max_km: float | None = None
    pairs_dropped: int = 0
    mean_known_minutes: float = float("nan")
    mean_km: float = float("nan")

    @property
    def speed_kmh(self) -> float:
        """The straight-line speed the slope means: ``60 / minutes_per_km``."""
        return 60.0 / self.minutes_per_km if self.minutes_per_km > 0 else float("inf")

    def provider(self) -> StraightLine:
        """A :class:`StraightLine` with the fitted parameters."""
        return StraightLine(self.minutes_per_km, self.intercept_minutes)

    def as_dict(self) -> dict:
        """Plain values, JSON-ready (``speed_kmh`` included)."""
        out = asdict(self)
        out["speed_kmh"] = self.speed_kmh
        return {
            k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in out.items()
        }

    def to_json(self) -> str:
        """The :meth:`as_dict` values as JSON."""
        return json.dumps(self.as_dict(), indent=2)

    def format_text(self) -> str:
        """A short human-readable report, as ``polygeo calibrate`` prints it."""
        fit = "through the origin" if self.through_origin else "with intercept"
        lines = [
            f"Straight-line model fitted {fit} to {self.n_pairs:,} known travel times"
            + (f" (up to {self.max_km:g} km)" if self.max_km is not None else "")
            + (f" (up to {self.max_minutes:g} min)" if self.max_minutes is not None else ""),
            f"  minutes = {self.intercept_minutes:.3f} + {self.minutes_per_km:.4f}"
            f" x straight-line km   (= {self.speed_kmh:.1f} km/h as the crow flies)",
            f"  MAE   {self.mae:8.2f} min",
            f"  bias  {self.bias:+8.2f} min (mean predicted - known)",
            f"  RMSE  {self.rmse:8.2f} min",
            f"  R^2   {self.r2:8.3f}",
            f"  mean known time {self.mean_known_minutes:.1f} min over {self.mean_km:.1f} km",
        ]
        if self.pairs_dropped:
            lines.append(f"  {self.pairs_dropped:,} known pairs not used")
        lines += [
            "In a scenario file:",
            "  [travel]",
            '  provider = "straight_line"',
            f"  minutes_per_km = {self.minutes_per_km:.4g}",
            f"  intercept_minutes = {self.intercept_minutes:.4g}",
        ]
        return "\n".join(lines)


def calibrate(
    areas: pd.DataFrame,
    sites: pd.DataFrame,
    known: pd.DataFrame,
    *,
    through_origin: bool = False,
    max_km: float | None = None,
    max_minutes: float | None = None,
) -> Calibration:
    """Fit straight-line travel times to known times by least squares.

    Parameters
    ----------
    areas, sites
        The areas (``area_id``, ``origin_x``, ``origin_y``) and sites (``site_id``,
        Points) the known times refer to, in one metric CRS.
    known
        Known times as a travel table (``area_id``, ``site_id``, ``minutes``), e.g.
        ``ExternalMatrix.read(...).travel_times(areas, sites)``. Pairs naming areas
        or sites not in the frames are dropped and counted.
    through_origin
        Fix the intercept at 0 and fit the slope only.
    max_km
        Fit only pairs up to this straight-line distance: the planning range
        (long trips run on motorways and flatten the slope). Preferred to
        ``max_minutes``, since it selects on distance, not on the outcome.
    max_minutes
        Fit only pairs whose known time is at most this. Selecting on the known
        time biases the fit (slow pairs at a given distance are left out, so the
        slope comes out too low and the intercept too high); use ``max_km``
        unless the known times were already cut at a limit.

    Notes
    -----
    Pass the known times without a limit (``provider.travel_times(areas, sites,
    limit=None)``): a table cut at the travel limit is already selected on the
    outcome.

    Returns
    -------
    Calibration
        Parameters and fit statistics (n pairs, MAE, bias, RMSE, R^2).

    Raises
    ------
    InputError
        Fewer than two usable pairs, or all at one distance.
    """
    n_in = len(known)
    missing = [c for c in ("area_id", "site_id") if c not in known.columns]
    if not missing:  # pairs outside these areas / sites are expected: leave them out quietly
        ours = known["area_id"].isin(area_ids(areas)) & known["site_id"].isin(site_ids(sites))
        known = known.loc[ours.to_numpy()]
    table = align_table(known, areas, sites, source="the known travel times")
    y = table["minutes"].to_numpy(dtype="float64")
    x = pair_distances_km(
        areas, sites, table["area_id"].cat.codes.to_numpy(), table["site_id"].cat.codes.to_numpy()
    )
    keep = np.ones(len(y), dtype=bool)
    if max_minutes is not None:
        keep &= y <= max_minutes
    if max_km is not None:
        keep &= x <= max_km
    x, y = x[keep], y[keep]
    n = len(y)
    if n < 2:
        raise InputError(
            f"calibration needs at least 2 known times matching the areas and sites; found {n} "
            f"of {n_in} (check that the ids match, or raise max_km / max_minutes)"
        )
    if through_origin:
        sxx = float(np.dot(x, x))
        if sxx == 0:
            raise InputError("every known pair is at distance 0; nothing to fit")
        slope, intercept = float(np.dot(x, y) / sxx), 0.0
    else:
        xm, ym = x.mean(), y.mean()
        sxx = float(np.dot(x - xm, x - xm))
        if sxx <= 1e-12 * max(1.0, xm * xm) * n:
            raise InputError("every known pair is at the same distance; the slope cannot be fitted")
        slope = float(np.dot(x - xm, y - ym) / sxx)
        intercept = float(ym - slope * xm)
    if slope <= 0:
        raise InputError(
            f"the fitted minutes per km is {slope:.4g} (times do not grow with distance); "
            "check that the known times and the coordinates refer to the same places"
        )
    resid = intercept + slope * x - y
    ss_tot = float(np.dot(y - y.mean(), y - y.mean()))
    cal = Calibration(
        intercept_minutes=intercept,
        minutes_per_km=slope,
        n_pairs=n,
        mae=float(np.abs(resid).mean()),
        bias=float(resid.mean()),
        rmse=float(np.sqrt(np.mean(resid**2))),
        r2=float(1.0 - np.dot(resid, resid) / ss_tot) if ss_tot > 0 else float("nan"),
        through_origin=through_origin,
        max_minutes=None if max_minutes is None else float(max_minutes),
        max_km=None if max_km is None else float(max_km),
        pairs_dropped=n_in - n,
        mean_known_minutes=float(y.mean()),
        mean_km=float(x.mean()),
    )
    log.info(
        "calibrated straight line: %.3f + %.4f min/km on %d pairs (MAE %.2f, R^2 %.3f)",
        cal.intercept_minutes,
        cal.minutes_per_km,
        n,
        cal.mae,
        cal.r2,
    )
    return cal
