"""Small synthetic instances: a grid of square areas, sites, straight-line times.

For tests, benchmarks and trying the optimiser without data. The travel table
is built here from Euclidean distances (no travel provider needed) and follows
the contract of docs/architecture.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely


def travel_table(
    areas: pd.DataFrame,
    sites: pd.DataFrame,
    *,
    minutes_per_km: float = 3.0,
    limit: float | np.ndarray | None = 20.0,
) -> pd.DataFrame:
    """Straight-line travel table from area origins to site points.

    Parameters
    ----------
    areas
        With ``area_id, origin_x, origin_y``.
    sites
        With ``site_id`` and Point ``geometry`` (or ``x``/``y`` columns).
    minutes_per_km
        Minutes per straight-line kilometre.
    limit
        Minutes (one value, or one per area); ``None`` keeps every pair.

    Returns
    -------
    pandas.DataFrame
        ``area_id`` / ``site_id`` categorical (categories in frame order),
        ``minutes`` float32, only pairs within the limit.
    """
    ox = areas["origin_x"].to_numpy(dtype=float)
    oy = areas["origin_y"].to_numpy(dtype=float)
    if "geometry" in sites:
        g = np.asarray(sites.geometry.values, dtype=object)
        sx, sy = shapely.get_x(g), shapely.get_y(g)
    else:
        sx, sy = sites["x"].to_numpy(dtype=float), sites["y"].to_numpy(dtype=float)
    d = np.hypot(ox[:, None] - sx[None, :], oy[:, None] - sy[None, :]) / 1000.0
    minutes = (d * minutes_per_km).astype(np.float32)
    if limit is None:
        keep = np.ones_like(minutes, dtype=bool)
    else:
        lim = np.broadcast_to(np.asarray(limit, dtype=float).reshape(-1, 1), (len(ox), 1))
        keep = minutes <= lim.astype(np.float32) + np.float32(1e-6)
    a, s = np.nonzero(keep)
    area_cat = pd.CategoricalDtype(pd.Index(areas["area_id"].astype(str).tolist(), dtype=object))
    site_cat = pd.CategoricalDtype(pd.Index(sites["site_id"].astype(str).tolist(), dtype=object))
    return pd.DataFrame(
        {
            "area_id": pd.Categorical.from_codes(a, dtype=area_cat),
            "site_id": pd.Categorical.from_codes(s, dtype=site_cat),
            "minutes": minutes[a, s],
        }
    )


def grid_instance(
    nx: int = 4,
    ny: int = 2,
    *,
    cell: float = 1000.0,
    population: float | Sequence[float] | np.ndarray | None = None,
    sites: int | Sequence[tuple[float, float]] = 3,
    site_kinds: Sequence[str] | None = None,
    groups: Sequence[Any] | np.ndarray | None = None,
    minutes_per_km: float = 3.0,
    limit: float | np.ndarray | None = 20.0,
    seed: int | None = 0,
    crs: str = "EPSG:27700",
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, pd.DataFrame]:
    """A grid of ``nx`` x ``ny`` square areas, candidate sites and their travel table.

    Parameters
    ----------
    nx, ny
        Columns and rows of the grid. Area ``k`` is at column ``k % nx``, row
        ``k // nx``; ids are ``"a000"``, ``"a001"``, ...
    cell
        Side of a square, in metres.
    population
        One number for all, one per area, or ``None`` for random 1,500-2,000.
    sites
        Number of random sites (at area centres, without repeats) or their
        ``(x, y)`` points; ids are ``"s00"``, ``"s01"``, ...
    site_kinds
        Kind per site (default ``"clinic"``).
    groups
        Group per area (adds the ``group`` column).
    minutes_per_km, limit
        For :func:`travel_table`.
    seed
        Random seed.
    crs
        CRS of the frames.

    Returns
    -------
    (areas, sites, travel)
    """
    rng = np.random.default_rng(seed)
    n = nx * ny
    col, row = np.arange(n) % nx, np.arange(n) // nx
    x0, y0 = col * cell, row * cell
    polys = shapely.box(x0, y0, x0 + cell, y0 + cell)
    if population is None:
        pop = rng.integers(1500, 2001, size=n).astype(float)
    else:
        pop = np.broadcast_to(np.asarray(population, dtype=float), (n,)).copy()
    areas = gpd.GeoDataFrame(
        {
            "area_id": [f"a{k:03d}" for k in range(n)],
            "population": pop,
            "origin_x": x0 + cell / 2,
            "origin_y": y0 + cell / 2,
        },
        geometry=polys,
        crs=crs,
    )
    if groups is not None:
        areas["group"] = pd.Series(np.asarray(groups, dtype=object), dtype=object).astype(str)
        areas = areas[["area_id", "population", "origin_x", "origin_y", "group", "geometry"]]
    if isinstance(sites, int | np.integer):
        cells = rng.choice(n, size=min(int(sites), n), replace=False)
        pts = np.column_stack([x0[cells] + cell / 2, y0[cells] + cell / 2])
    else:
        pts = np.asarray(sites, dtype=float).reshape(-1, 2)
    m = len(pts)
    kinds = list(site_kinds) if site_kinds is not None else ["clinic"] * m
    site_frame = gpd.GeoDataFrame(
        {
            "site_id": [f"s{j:02d}" for j in range(m)],
            "name": [f"Site {j}" for j in range(m)],
            "kind": kinds,
        },
        geometry=shapely.points(pts[:, 0], pts[:, 1]) if m else [],
        crs=crs,
    )
    table = travel_table(areas, site_frame, minutes_per_km=minutes_per_km, limit=limit)
    return areas, site_frame, table
