"""Small hand-made frames for the travel tests (areas and sites as points)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np


def make_areas(xy, ids=None, crs="EPSG:27700", population=1500.0, **columns):
    """Areas whose travel origins (and point geometries) are ``xy``."""
    xy = np.asarray(xy, dtype=float)
    ids = ids if ids is not None else [f"A{i}" for i in range(len(xy))]
    return gpd.GeoDataFrame(
        {"area_id": ids, "population": population, "origin_x": xy[:, 0], "origin_y": xy[:, 1]}
        | columns,
        geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]),
        crs=crs,
    )


def make_sites(xy, ids=None, kinds=None, crs="EPSG:27700"):
    """Sites at ``xy``, named by their ids, of kind ``gp`` unless given."""
    xy = np.asarray(xy, dtype=float)
    ids = ids if ids is not None else [f"S{i}" for i in range(len(xy))]
    return gpd.GeoDataFrame(
        {"site_id": ids, "name": ids, "kind": kinds if kinds is not None else "gp"},
        geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]),
        crs=crs,
    )


def as_dict(table):
    """The travel table as ``{(area_id, site_id): minutes}``."""
    return {
        (a, s): float(m)
        for a, s, m in zip(
            table["area_id"].astype(str),
            table["site_id"].astype(str),
            table["minutes"],
            strict=True,
        )
    }
