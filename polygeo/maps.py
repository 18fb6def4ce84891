"""Interactive folium maps of plans: catchments, hubs, candidate sites, exceptions."""

from __future__ import annotations

from typing import Any

import geopandas as gpd

_PALETTE = [
    "#1b9e77",
    "#d95f02",
    "#7570b3",
    "#e7298a",
    "#66a61e",
    "#e6ab02",
    "#a6761d",
    "#1f78b4",
    "#b2df8a",
    "#fb9a99",
    "#cab2d6",
    "#fdbf6f",
    "#8dd3c7",
    "#bebada",
]


def plan_map(
    plan: Any,
    areas: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame | None = None,
    *,
    m: Any = None,
    simplify_m: float = 10.0,
    show_sites: bool = True,
) -> Any:
    """Draw a plan on a folium map.

    Parameters
    ----------
    plan
        A :class:`polygeo.plan.Plan`.
    areas
        The areas the plan covers (polygons or points, any CRS).
    sites
        Candidate sites, drawn as small grey dots when ``show_sites``.
    m
        An existing ``folium.Map`` to add layers to (as ``GeoDataFrame.explore``).
    simplify_m
        Tolerance, in the areas' units, to simplify catchment outlines for a light page.
    show_sites
        Draw the candidate sites that were not chosen.

    Returns
    -------
    folium.Map
    """
    import folium

    from polygeo.outputs import catchment_layers

    polygons = set(areas.geometry.geom_type.unique()) <= {"Polygon", "MultiPolygon"}
    hubs = plan.hubs.reset_index(drop=True)
    colour = {sid: _PALETTE[n % len(_PALETTE)] for n, sid in enumerate(hubs["site_id"])}

    if polygons:
        layers = catchment_layers(plan, areas, sites)
        catchments = layers["catchments"].copy()
        catchments["geometry"] = catchments.geometry.simplify(simplify_m)
        catchments = catchments.to_crs("EPSG:4326")
    else:
        assigned = areas.merge(plan.assignments, on="area_id")
        catchments = gpd.GeoDataFrame(assigned, geometry="geometry", crs=areas.crs).to_crs(
            "EPSG:4326"
        )
    hub_points = gpd.GeoDataFrame(
        hubs, geometry=gpd.points_from_xy(hubs["x"], hubs["y"]), crs=areas.crs
    ).to_crs("EPSG:4326")

    if m is None:
        bounds = catchments.total_bounds
        m = folium.Map(tiles="OpenStreetMap", control_scale=True)
        m.fit_bounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]])

    tooltip_fields = [c for c in ["site_id", "population", "areas"] if c in catchments.columns]
    folium.GeoJson(
        catchments[tooltip_fields + ["geometry"]],
        name="catchments",
        style_function=lambda f: {
            "fillColor": colour.get(f["properties"]["site_id"], "#999999"),
            "color": "#333333",
            "weight": 1,
            "fillOpacity": 0.45,
        },
        tooltip=folium.GeoJsonTooltip(fields=tooltip_fields),
    ).add_to(m)

    exceptions = plan.assignments[plan.assignments["exception"].astype(bool)]
    if len(exceptions):
        ex = areas[areas["area_id"].isin(exceptions["area_id"])].to_crs("EPSG:4326")
        folium.GeoJson(
            ex[["area_id", "population", "geometry"]],
            name="exceptions (beyond the travel limit)",
            style_function=lambda f: {"color": "#c00000", "weight": 3, "fillOpacity": 0.1},
            tooltip=folium.GeoJsonTooltip(fields=["area_id", "population"]),
        ).add_to(m)

    if show_sites and sites is not None and len(sites):
        chosen = set(hubs["site_id"])
        others = sites[~sites["site_id"].isin(chosen)].to_crs("EPSG:4326")
        group = folium.FeatureGroup(name="candidate sites", show=False)
        for row in others.itertuples():
            folium.CircleMarker(
                [row.geometry.y, row.geometry.x],
                radius=2,
                color="#777777",
                fill=True,
                tooltip=f"{row.site_id}: {row.name} ({row.kind})",
            ).add_to(group)
        group.add_to(m)

    hub_group = folium.FeatureGroup(name="hubs")
    for row in hub_points.itertuples():
        popup = (
            f"<b>{row.name}</b><br>{row.site_id} ({row.kind})<br>option: {row.option}, "
            f"capital £{row.capital_cost:,.0f}<br>population {row.population:,.0f} in "
            f"{row.areas} areas<br>mean {row.mean_minutes:.1f} min, max {row.max_minutes:.1f} min"
        )
        folium.Marker(
            [row.geometry.y, row.geometry.x],
            popup=folium.Popup(popup, max_width=300),
            tooltip=str(row.name),
            icon=folium.Icon(color="red" if row.kind == "hospital" else "blue", icon="plus"),
        ).add_to(hub_group)
    hub_group.add_to(m)
    folium.LayerControl().add_to(m)
    return m
