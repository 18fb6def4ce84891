"""Straight-line travel times: a linear model of the crow-flies distance.

``minutes = intercept_minutes + minutes_per_km * distance_km`` between an area's
travel origin (``origin_x``, ``origin_y``) and a site's point, both in the
working metric CRS. Fit the two parameters to a real travel-time matrix with
:func:`polygeo.travel.calibrate`.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from polygeo.errors import InputError
from polygeo.travel._common import area_ids, area_xy, common_crs, progress_bar, site_ids, site_xy
from polygeo.travel.limits import TravelLimit, as_limit
from polygeo.travel.table import make_table

log = logging.getLogger("polygeo")


def _positive(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InputError(f"{name} must be a number, got {value!r}")
    value = float(value)
    if not (math.isfinite(value) and value > 0):
        raise InputError(f"{name} must be a finite number > 0, got {value!r}")
    return value


class StraightLine:
    """Travel time as a linear function of straight-line distance.

    Parameters
    ----------
    minutes_per_km
        Minutes per straight-line kilometre (3.12 is about 19 km/h as the crow
        flies). Give this or ``speed_kmh``.
    intercept_minutes
        Fixed minutes added to every trip (getting going, parking). Times are
        clipped at 0 when a negative intercept would make them negative.
    speed_kmh
        Average road speed; then ``minutes_per_km = 60 / speed_kmh * circuity``.
    circuity
        Road distance / straight-line distance (only with ``speed_kmh``;
        1.2-1.4 is typical in Britain).
    chunk_size
        Areas per block of the spatial search; bounds memory (default 4,096).
    progress
        Progress bars on a terminal (never when not a TTY); ``False`` hides them.

    Examples
    --------
    >>> provider = StraightLine(3.12)
    >>> table = provider.travel_times(areas, sites, TravelLimit(20))
    """

    def __init__(
        self,
        minutes_per_km: float | None = None,
        intercept_minutes: float = 0.0,
        *,
        speed_kmh: float | None = None,
        circuity: float = 1.0,
        chunk_size: int = 4096,
        progress: bool | None = None,
    ) -> None:
        circuity = _positive(circuity, "circuity")
        if minutes_per_km is not None and speed_kmh is not None:
            raise InputError(
                "give minutes_per_km or speed_kmh, not both "
                f"(got {minutes_per_km!r} and {speed_kmh!r})"
            )
        if minutes_per_km is None and speed_kmh is None:
            raise InputError(
                "give minutes_per_km (e.g. 3.12) or speed_kmh (e.g. 30 with circuity 1.3) "
                "for straight-line travel times, or fit them with polygeo.travel.calibrate"
            )
        if speed_kmh is not None:
            minutes_per_km = 60.0 / _positive(speed_kmh, "speed_kmh") * circuity
        elif circuity != 1.0:
            raise InputError(
                "circuity applies only with speed_kmh; minutes_per_km already includes it"
            )
        self.minutes_per_km = _positive(minutes_per_km, "minutes_per_km")
        if (
            isinstance(intercept_minutes, bool)
            or not isinstance(intercept_minutes, (int, float, np.integer, np.floating))
            or not math.isfinite(intercept_minutes)
        ):
            raise InputError(
                f"intercept_minutes must be a finite number, got {intercept_minutes!r}"
            )
        self.intercept_minutes = float(intercept_minutes)
        if not isinstance(chunk_size, int) or chunk_size < 1:
            raise InputError(f"chunk_size must be a positive integer, got {chunk_size!r}")
        self.chunk_size = chunk_size
        self.progress = progress

    def __repr__(self) -> str:
        return (
            f"StraightLine(minutes_per_km={self.minutes_per_km:g}, "
            f"intercept_minutes={self.intercept_minutes:g})"
        )

    def minutes(self, distance_km: np.ndarray) -> np.ndarray:
        """Travel minutes for straight-line distances in km (float64)."""
        out = self.intercept_minutes + self.minutes_per_km * np.asarray(
            distance_km, dtype="float64"
        )
        return np.maximum(out, 0.0, out=out)

    def radius_m(self, minutes: float | np.ndarray) -> np.ndarray:
        """The straight-line distance in metres reachable within ``minutes`` (< 0: none)."""
        return (
            (np.asarray(minutes, dtype="float64") - self.intercept_minutes)
            / self.minutes_per_km
            * 1000.0
        )

    def travel_times(
        self,
        areas: pd.DataFrame,
        sites: pd.DataFrame,
        limit: TravelLimit | float | None = None,
        *,
        progress: bool | None = None,
    ) -> pd.DataFrame:
        """Travel times for every (area, site) pair within the limit.

        Candidate pairs come from a k-d tree search (scipy ``cKDTree``) around
        each block of areas out to the radius the largest applicable limit
        allows, then each pair is checked against its own limit. Memory is
        proportional to the pairs found, never to areas x sites.

        Parameters
        ----------
        areas
            Areas frame (``area_id``, ``origin_x``, ``origin_y``).
        sites
            Sites frame (``site_id``, Point geometry; ``kind`` for per-kind limits).
        limit
            A :class:`TravelLimit` (a number means a global limit); ``None`` returns
            every pair (areas x sites rows: only for small subsets).
        progress
            Progress bar on a terminal; ``False`` hides it (default: the provider's setting).

        Returns
        -------
        pandas.DataFrame
            The travel table (see :mod:`polygeo.travel.table`).
        """
        aids, sids = area_ids(areas), site_ids(sites)
        common_crs(areas, sites, names=["areas", "sites"])
        axy, sxy = area_xy(areas), site_xy(sites)
        limit = as_limit(limit)
        show = self.progress if progress is None else progress
        if limit is None:
            a, s, m = self._all_pairs(axy, sxy, show)
        else:
            a, s, m = self._within(areas, sites, axy, sxy, limit, show)
        table = make_table(a, s, m, area_ids=aids, site_ids=sids)
        log.info(
            "straight-line travel times: %s pairs for %s areas x %s sites (%s)",
            f"{len(table):,}",
            f"{len(aids):,}",
            f"{len(sids):,}",
            "no limit" if limit is None else limit.describe(),
        )
        return table

    def _all_pairs(self, axy: np.ndarray, sxy: np.ndarray, show: bool | None):
        n, k = len(axy), len(sxy)
        if n * k > 50_000_000:
            log.warning(
                "computing all %d x %d = %d pairs without a limit; give a TravelLimit", n, k, n * k
            )
        rows = max(1, 2_000_000 // max(k, 1))
        out_a, out_s, out_m = [], [], []
        starts = range(0, n, rows)
        for i0 in progress_bar(starts, enabled=show, total=len(starts), desc="straight-line"):
            block = axy[i0 : i0 + rows]
            d = np.hypot(block[:, None, 0] - sxy[None, :, 0], block[:, None, 1] - sxy[None, :, 1])
            out_a.append(np.repeat(np.arange(i0, i0 + len(block)), k))
            out_s.append(np.tile(np.arange(k), len(block)))
            out_m.append(self.minutes(d.ravel() / 1000.0).astype(np.float32))
        return _cat(out_a, out_s, out_m)

    def _within(self, areas, sites, axy, sxy, limit: TravelLimit, show: bool | None):
        area_lim = limit.area_limits(areas)
        site_lim = limit.site_limits(sites)
        radius = self.radius_m(limit.area_max_minutes(areas, sites))
        order = np.argsort(radius, kind="stable") if limit.per_area is not None else None
        idx = np.arange(len(axy)) if order is None else order
        idx = idx[radius[idx] >= 0]
        out_a, out_s, out_m = [], [], []
        if len(idx) and len(sxy):
            tree = cKDTree(sxy)
            starts = range(0, len(idx), self.chunk_size)
            for i0 in progress_bar(starts, enabled=show, total=len(starts), desc="straight-line"):
                chunk = idx[i0 : i0 + self.chunk_size]
                r = float(radius[chunk].max())
                found = cKDTree(axy[chunk]).sparse_distance_matrix(
                    tree, r * (1 + 1e-9) + 1e-6, output_type="ndarray"
                )
                a = chunk[found["i"]]
                s = found["j"].astype(np.int64)
                m = self.minutes(found["v"] / 1000.0)
                ok = m <= limit.pair_limits(a, s, area_limits=area_lim, site_limits=site_lim)
                out_a.append(a[ok])
                out_s.append(s[ok])
                out_m.append(m[ok].astype(np.float32))
        return _cat(out_a, out_s, out_m)


def _cat(a: list, s: list, m: list):
    if not a:
        z = np.zeros(0, dtype=np.int64)
        return z, z, z.astype(np.float32)
    return np.concatenate(a), np.concatenate(s), np.concatenate(m)


def pair_distances_km(
    areas: pd.DataFrame, sites: pd.DataFrame, area_index: np.ndarray, site_index: np.ndarray
) -> np.ndarray:
    """Straight-line distance in km of each (area, site) pair given by row positions."""
    common_crs(areas, sites, names=["areas", "sites"])
    axy, sxy = area_xy(areas), site_xy(sites)
    a, s = np.asarray(area_index), np.asarray(site_index)
    return np.hypot(axy[a, 0] - sxy[s, 0], axy[a, 1] - sxy[s, 1]) / 1000.0
