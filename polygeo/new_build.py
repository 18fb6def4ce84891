"""New-build candidate sites: hubs that could be built where no site exists today.

The scenario's ``[new_build]`` table generates them::

    [new_build]
    grid_m = 1500              # a point every 1.5 km inside the study area, or
    at = "area_centroids"      # one point per area (its travel origin)
    capital_cost = 12e6
    capacity = 80000           # optional: most population served
    ready_year = 2011          # optional
    groups = ["Newham"]        # optional: only inside these groups
    areas = ["E01000001"]      # optional: only inside these areas

Generated sites have kind ``new``, ids ``new-1``, ``new-2``... and
``generated`` true; a site file of kind ``new`` adds the user's own points.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from polygeo.capital import NEW_KIND
from polygeo.errors import InputError

#: Values ``at`` accepts.
AT_VALUES = ("area_centroids",)


def new_build_sites(
    settings: Mapping[str, Any], areas: gpd.GeoDataFrame, *, source: str = "[new_build]"
) -> gpd.GeoDataFrame:
    """Generate new-build candidate sites inside the study area.

    Parameters
    ----------
    settings
        The ``[new_build]`` table: ``grid_m`` or ``at``, and optionally ``groups``
        and ``areas`` to limit where candidates go.
    areas
        The areas frame (``area_id``, ``origin_x``/``origin_y``, ``group``, geometry).
    source
        Where the settings came from, for messages.

    Returns
    -------
    geopandas.GeoDataFrame
        ``site_id, name, kind, kinds, merged_rows, source, generated, area_id``
        and point geometry in the areas' CRS.

    Raises
    ------
    InputError
        Neither or both of ``grid_m`` and ``at``, an unknown ``at``, unknown groups
        or areas, or no candidate at all.
    """
    chosen = _limit(areas, settings, source)
    if ("grid_m" in settings) == ("at" in settings):
        raise InputError(
            f'{source}: give exactly one of grid_m = 1500 (a grid) or at = "area_centroids".'
        )
    if "at" in settings:
        if settings["at"] not in AT_VALUES:
            raise InputError(
                f'{source}: at = {settings["at"]!r} is not known; use at = "area_centroids".'
            )
        x = chosen["origin_x"].to_numpy(dtype=float)
        y = chosen["origin_y"].to_numpy(dtype=float)
        home = chosen["area_id"].astype(str).to_numpy()
    else:
        x, y, home = _grid(chosen, float(settings["grid_m"]), source)
    if len(x) == 0:
        raise InputError(
            f"{source}: no new-build candidate falls inside the chosen areas; use a smaller "
            'grid_m or at = "area_centroids".'
        )
    n = len(x)
    ids = [f"new-{i}" for i in range(1, n + 1)]
    frame = pd.DataFrame(
        {
            "site_id": ids,
            "name": [f"New build {i}" for i in range(1, n + 1)],
            "kind": NEW_KIND,
            "kinds": NEW_KIND,
            "merged_rows": np.ones(n, dtype="int64"),
            "source": source,
            "generated": True,
            "area_id": home,
        }
    )
    return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(x, y), crs=areas.crs)


def _limit(areas: gpd.GeoDataFrame, settings: Mapping[str, Any], source: str) -> gpd.GeoDataFrame:
    """The areas candidates may go in: all, or those of the named groups and/or areas."""
    named = False
    keep = np.zeros(len(areas), dtype=bool)
    if "groups" in settings:
        if "group" not in areas.columns:
            raise InputError(f'{source}: groups needs [areas] group = "<column>".')
        wanted = [str(g) for g in settings["groups"]]
        unknown = sorted(set(wanted) - set(areas["group"].astype(str)))
        if unknown:
            raise InputError(f"{source}: groups names groups no area has: {', '.join(unknown)}.")
        keep |= areas["group"].astype(str).isin(wanted).to_numpy()
        named = True
    if "areas" in settings:
        wanted = [str(a) for a in settings["areas"]]
        unknown = sorted(set(wanted) - set(areas["area_id"].astype(str)))
        if unknown:
            raise InputError(
                f"{source}: areas names area ids that are not in the study area: "
                f"{', '.join(unknown[:5])}."
            )
        keep |= areas["area_id"].astype(str).isin(wanted).to_numpy()
        named = True
    return areas[keep].reset_index(drop=True) if named else areas


def _grid(
    areas: gpd.GeoDataFrame, step: float, source: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points of a ``step``-metre grid inside the areas' polygons, and the area of each."""
    if not step > 0:
        raise InputError(f"{source}: grid_m must be a number of metres > 0, got {step!r}.")
    polygonal = areas.geometry.geom_type.isin(["Polygon", "MultiPolygon"]).all()
    if not polygonal:
        raise InputError(
            f"{source}: grid_m needs area polygons ([areas] boundaries); with area points use "
            'at = "area_centroids".'
        )
    x0, y0, x1, y1 = areas.total_bounds
    xs = np.arange(np.floor(x0 / step) * step + step / 2, x1, step)
    ys = np.arange(np.floor(y0 / step) * step + step / 2, y1, step)
    gx, gy = (a.ravel() for a in np.meshgrid(xs, ys))
    points = shapely.points(gx, gy)
    point_idx, area_idx = areas.sindex.query(points, predicate="intersects")
    first = np.unique(point_idx, return_index=True)[1]
    point_idx, area_idx = point_idx[first], area_idx[first]
    home = areas["area_id"].astype(str).to_numpy()[area_idx]
    return gx[point_idx], gy[point_idx], home
