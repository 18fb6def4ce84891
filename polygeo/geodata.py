"""Geometry layers of a plan: areas with their hub, dissolved catchments, hubs, candidate sites.

The layers are built from plain tables (assignments, hubs, areas, sites), not from
a :class:`~polygeo.plan.Plan`, so that the map, the report and the file writers can
use them without depending on the result type, and ``polygeo report`` can rebuild
them from an output folder.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd

# catchments touching within this many metres (working CRS units) count as neighbours
NEIGHBOUR_TOLERANCE_M = 5.0

# hub columns copied onto each catchment (the hub's name, kind, option and travel figures)
CATCHMENT_HUB_COLUMNS = ["name", "kind", "option", "capital_cost", "mean_minutes", "max_minutes"]


def is_polygonal(frame: gpd.GeoDataFrame) -> bool:
    """Whether every geometry of ``frame`` is a (Multi)Polygon."""
    return set(frame.geometry.geom_type.unique()) <= {"Polygon", "MultiPolygon"}


def area_layer(assignments: pd.DataFrame, areas: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Every area with its hub, minutes and exception flag (unassigned areas keep NaN)."""
    columns = [c for c in ["area_id", "site_id", "minutes", "exception"] if c in assignments]
    merged = areas.merge(assignments[columns], on="area_id", how="left")
    keep = [
        c
        for c in ["area_id", "population", "group", "site_id", "minutes", "exception"]
        if c in merged.columns
    ] + [c for c in merged.columns if "decile" in str(c).lower()]
    return gpd.GeoDataFrame(merged[keep + ["geometry"]], geometry="geometry", crs=areas.crs)


def catchment_layer(
    assignments: pd.DataFrame, hubs: pd.DataFrame, areas: gpd.GeoDataFrame
) -> gpd.GeoDataFrame:
    """One (dissolved) polygon per hub with its population, area count and hub facts.

    Columns: ``site_id, population, areas, name, kind, option, capital_cost,
    mean_minutes, max_minutes, colour`` (a colour index no neighbour shares).
    Point areas are gathered into one MultiPoint per hub.
    """
    layer = area_layer(assignments, areas)
    layer = layer[layer["site_id"].notna()]
    catchments = (
        layer[["site_id", "area_id", "population", "geometry"]]
        .dissolve(by="site_id", aggfunc={"population": "sum", "area_id": "count"})
        .rename(columns={"area_id": "areas"})
        .reset_index()
    )
    facts = hubs[["site_id"] + [c for c in CATCHMENT_HUB_COLUMNS if c in hubs]]
    catchments = catchments.merge(facts, on="site_id", how="left")
    catchments["colour"] = colour_catchments(catchments)
    order = ["site_id", "population", "areas", *CATCHMENT_HUB_COLUMNS, "colour", "geometry"]
    return catchments[[c for c in order if c in catchments.columns]]


def hub_layer(hubs: pd.DataFrame, crs: Any) -> gpd.GeoDataFrame:
    """The hubs as points (``x``/``y`` in ``crs``)."""
    return gpd.GeoDataFrame(hubs.copy(), geometry=gpd.points_from_xy(hubs["x"], hubs["y"]), crs=crs)


def unchosen_sites(sites: gpd.GeoDataFrame | None, hubs: pd.DataFrame) -> gpd.GeoDataFrame | None:
    """Candidate sites that were not opened as hubs (None when there are no sites)."""
    if sites is None or not len(sites):
        return None
    keep = [c for c in ["site_id", "name", "kind", "geometry"] if c in sites.columns]
    others = sites.loc[~sites["site_id"].astype(str).isin(set(hubs["site_id"].astype(str))), keep]
    return gpd.GeoDataFrame(others, geometry="geometry", crs=sites.crs)


def neighbour_pairs(catchments: gpd.GeoDataFrame) -> list[tuple[int, int]]:
    """Pairs of row positions whose geometries touch (within :data:`NEIGHBOUR_TOLERANCE_M`).

    Point catchments are compared by their convex hulls, so that interleaved
    catchments of point areas also count as neighbours.
    """
    geoms = catchments.geometry
    if not is_polygonal(catchments):
        geoms = geoms.convex_hull
    if catchments.crs is not None and catchments.crs.is_geographic:
        tolerance = NEIGHBOUR_TOLERANCE_M / 111_000
    else:
        tolerance = NEIGHBOUR_TOLERANCE_M
    left, right = gpd.GeoSeries(geoms.values).sindex.query(
        geoms.buffer(tolerance).values, predicate="intersects"
    )
    return sorted({(int(a), int(b)) for a, b in zip(left, right, strict=True) if a < b})


def colour_catchments(catchments: gpd.GeoDataFrame) -> np.ndarray:
    """A colour index per catchment such that no two neighbours share one.

    Colours the catchment adjacency graph with networkx's DSatur greedy
    colouring, which uses few colours on the planar graphs of catchments.
    """
    graph = nx.Graph()
    graph.add_nodes_from(range(len(catchments)))
    graph.add_edges_from(neighbour_pairs(catchments))
    colouring = nx.greedy_color(graph, strategy="saturation_largest_first")
    return np.array([colouring[n] for n in range(len(catchments))], dtype=np.int64)


def plan_layers(
    assignments: pd.DataFrame,
    hubs: pd.DataFrame,
    areas: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame | None = None,
    crs: Any = None,
) -> dict[str, gpd.GeoDataFrame]:
    """The layers written to ``catchments.gpkg``: ``areas``, ``catchments``, ``hubs`` (+ ``sites``).

    Parameters
    ----------
    assignments, hubs
        The plan's tables.
    areas
        Area geometries with ``area_id`` and ``population``.
    sites
        Candidate sites; when given, a ``sites`` layer holds every candidate with
        ``chosen`` telling the hubs apart (``polygeo report`` redraws from it).
    crs
        The output CRS (the plan's working CRS, as ``summary.json`` names it);
        default the areas' CRS.
    """
    crs = crs or areas.crs
    areas = areas.to_crs(crs) if areas.crs is not None else areas.set_crs(crs)
    layers = {
        "areas": area_layer(assignments, areas),
        "catchments": catchment_layer(assignments, hubs, areas),
        "hubs": hub_layer(hubs, crs),
    }
    if sites is not None and len(sites):
        keep = [c for c in ["site_id", "name", "kind", "geometry"] if c in sites.columns]
        layer = sites[keep].to_crs(crs).copy()
        layer["chosen"] = layer["site_id"].astype(str).isin(set(hubs["site_id"].astype(str)))
        layers["sites"] = layer
    return layers
