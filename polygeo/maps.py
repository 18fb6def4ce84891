"""Interactive folium maps of plans: catchments, hubs, candidate sites, exceptions, travel times.

The page is self-contained: Leaflet's JavaScript and CSS are inlined from the
XStatic-Leaflet package and nothing else is loaded (no jQuery, Bootstrap or icon
fonts: hubs are circle markers, popups and tooltips are folium's GeoJson ones, which
need only Leaflet). Base tiles load when online; offline the map keeps a plain
background. Every user string is escaped with :func:`polygeo.htmlsafe.safe_text`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from polygeo.geodata import catchment_layer, hub_layer, is_polygonal, unchosen_sites
from polygeo.htmlsafe import safe_text, script_safe
from polygeo.webassets import leaflet_css, leaflet_js

# catchment fills: light, distinct colours (ColorBrewer Set3 + Pastel1); the adjacency
# colouring rarely needs more than five
CATCHMENT_COLOURS = [
    "#8dd3c7",
    "#ffffb3",
    "#bebada",
    "#fb8072",
    "#80b1d3",
    "#fdb462",
    "#b3de69",
    "#fccde5",
    "#d9d9d9",
    "#bc80bd",
    "#ccebc5",
    "#ffed6f",
]
# hub markers: strong colours by site kind (ColorBrewer Dark2)
KIND_COLOURS = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d"]
# ring around a hub marker: its capital option
OPTION_COLOURS = ["#222222", "#e41a1c", "#377eb8", "#ff7f00", "#984ea3", "#4daf4a", "#a65628"]
# areas by travel time: 5-minute bands (ColorBrewer YlOrRd)
BAND_COLOURS = ["#ffffcc", "#ffeda0", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c"]
BAND_MINUTES = 5.0
TILES = "OpenStreetMap"
# panes keep layers in a fixed order whichever is switched on last: catchments (400),
# areas by travel time, exception areas, then hub and site markers (Leaflet's 600)
AREA_PANE, EXCEPTION_PANE = "pg-areas", "pg-exceptions"


@dataclass
class MapStyle:
    """Colour keys of one map, shared by the layers and the legend."""

    kinds: dict[str, str]
    options: dict[str, str]
    bands: list[tuple[str, str]]


def catchment_colour(index: int) -> str:
    """The fill colour of colour class ``index`` (distinct past the palette too)."""
    if index < len(CATCHMENT_COLOURS):
        return CATCHMENT_COLOURS[index]
    hue = (index * 0.618033988749895) % 1.0
    import colorsys

    r, g, b = colorsys.hls_to_rgb(hue, 0.78, 0.55)
    return f"#{int(r * 255):02x}{int(g * 255):02x}{int(b * 255):02x}"


def _keyed_colours(values: pd.Series, palette: list[str]) -> dict[str, str]:
    names = sorted({str(v) for v in values if pd.notna(v)})
    return {name: palette[i % len(palette)] for i, name in enumerate(names)}


def _all_kinds(hubs: pd.DataFrame, sites: gpd.GeoDataFrame | None) -> pd.Series:
    kinds = [hubs["kind"]] if len(hubs) else []
    if sites is not None and "kind" in sites:
        kinds.append(sites["kind"])
    return pd.concat(kinds) if kinds else pd.Series([], dtype=str)


def _money(value: Any) -> str:
    return "" if value is None or pd.isna(value) else f"£{float(value):,.0f}"


def _number(value: Any, digits: int = 0) -> str:
    return "" if value is None or pd.isna(value) else f"{float(value):,.{digits}f}"


def _getter(row: Any) -> Any:
    return row.get if hasattr(row, "get") else lambda k, d=None: getattr(row, k, d)


def hub_tip(row: Any) -> str:
    """Hover text of a hub and its catchment: name, id and people, escaped.

    The popup (:func:`hub_html`, on click) has the rest; a tooltip repeating it would
    stand beside the open popup.
    """
    get = _getter(row)
    return (
        f"<b>{safe_text(get('name'))}</b> ({safe_text(get('site_id'))}): "
        f"{_number(get('population'))} people"
    )


def hub_html(row: Any) -> str:
    """Popup HTML of a hub and its catchment, every user string escaped."""
    get = _getter(row)
    lines = [
        f"<b>{safe_text(get('name'))}</b> ({safe_text(get('site_id'))})",
        f"kind: {safe_text(get('kind'))}",
        f"option: {safe_text(get('option'))}, capital {_money(get('capital_cost'))}",
        f"catchment population: {_number(get('population'))}",
        f"areas: {_number(get('areas'))}",
        f"minutes: mean {_number(get('mean_minutes'), 1)}, max {_number(get('max_minutes'), 1)}",
    ]
    return "<br>".join(lines)


def _add_hub_texts(web: gpd.GeoDataFrame) -> None:
    """Columns ``tip`` (hover, :func:`hub_tip`) and ``popup`` (click, :func:`hub_html`)."""
    rows = [row for _, row in web.iterrows()]
    web["tip"] = [hub_tip(row) for row in rows]
    web["popup"] = [hub_html(row) for row in rows]


def _to_web(frame: gpd.GeoDataFrame, tolerance: float) -> gpd.GeoDataFrame:
    """Simplify in the frame's own units, reproject to WGS84, round to ~1 m."""
    frame = frame.copy()
    if tolerance > 0 and is_polygonal(frame):
        frame["geometry"] = frame.geometry.simplify(tolerance, preserve_topology=True)
    frame = frame.to_crs("EPSG:4326")
    frame["geometry"] = shapely.transform(frame.geometry.values, lambda xy: np.round(xy, 5))
    return frame


def _features(frame: gpd.GeoDataFrame, columns: list[str]) -> dict[str, Any]:
    out = gpd.GeoDataFrame(frame[columns], geometry=frame.geometry, crs=frame.crs)
    out = out.reset_index(drop=True)
    data = out.__geo_interface__
    for n, feature in enumerate(data["features"]):
        feature["id"] = str(n)
    return data


def _tolerance(
    areas: gpd.GeoDataFrame, simplify_m: float | None, n_areas: int | None = None
) -> float:
    if simplify_m is None:
        simplify_m = 25.0 if (n_areas or len(areas)) > 2000 else 10.0
    if areas.crs is not None and areas.crs.is_geographic:
        return simplify_m / 111_000
    return simplify_m


def _geojson(data: dict[str, Any], name: str, style: Any, **kwargs: Any) -> Any:
    import folium

    fields = [
        f for f in ("tip", "popup") if data["features"] and f in data["features"][0]["properties"]
    ]
    return folium.GeoJson(
        data,
        name=safe_text(name),
        style_function=style,
        tooltip=folium.GeoJsonTooltip(fields=["tip"], labels=False) if "tip" in fields else None,
        popup=folium.GeoJsonPopup(fields=["popup"], labels=False) if "popup" in fields else None,
        **kwargs,
    )


def _catchments_layer(catchments: gpd.GeoDataFrame, tolerance: float) -> Any:
    web = _to_web(catchments, tolerance)
    _add_hub_texts(web)
    web["fill"] = [catchment_colour(int(c)) for c in web["colour"]]
    polygons = is_polygonal(web)

    def style(feature: dict[str, Any]) -> dict[str, Any]:
        return {
            "fillColor": feature["properties"]["fill"],
            "color": "#444444" if polygons else feature["properties"]["fill"],
            "weight": 1,
            "fillOpacity": 0.6,
            "className": "pg-catchment",
        }

    import folium

    kwargs: dict[str, Any] = {}
    if not polygons:
        kwargs["marker"] = folium.CircleMarker(radius=3, fill=True)
    return _geojson(
        _features(web, ["site_id", "tip", "popup", "fill"]), "catchments", style, **kwargs
    )


def _hubs_layer(hubs: gpd.GeoDataFrame, style_keys: MapStyle) -> Any:
    import folium

    web = hubs.to_crs("EPSG:4326")
    _add_hub_texts(web)
    web["fill"] = [style_keys.kinds.get(str(k), "#555555") for k in web["kind"]]
    web["ring"] = [style_keys.options.get(str(o), "#222222") for o in web["option"]]

    def style(feature: dict[str, Any]) -> dict[str, Any]:
        p = feature["properties"]
        return {
            "fillColor": p["fill"],
            "color": p["ring"],
            "weight": 2.5,
            "fillOpacity": 0.95,
            "radius": 7,
            "className": "pg-hub",
            "pane": "markerPane",
        }

    return _geojson(
        _features(web, ["site_id", "tip", "popup", "fill", "ring"]),
        "hubs",
        style,
        marker=folium.CircleMarker(radius=7, fill=True),
    )


def _sites_layer(sites: gpd.GeoDataFrame, style_keys: MapStyle) -> Any:
    import folium

    web = sites.to_crs("EPSG:4326")
    web["tip"] = [
        f"{safe_text(r.get('name'))} ({safe_text(r.get('site_id'))}), "
        f"{safe_text(r.get('kind'))}: not chosen"
        for _, r in web.iterrows()
    ]
    web["fill"] = [style_keys.kinds.get(str(k), "#777777") for k in web.get("kind", [])]

    def style(feature: dict[str, Any]) -> dict[str, Any]:
        return {
            "fillColor": feature["properties"]["fill"],
            "color": "#555555",
            "weight": 0.5,
            "fillOpacity": 0.7,
            "radius": 3,
            "className": "pg-site",
            "pane": "markerPane",
        }

    return _geojson(
        _features(web, ["site_id", "tip", "fill"]),
        "candidate sites not chosen",
        style,
        marker=folium.CircleMarker(radius=3, fill=True),
        show=False,
    )


def _band(minutes: float) -> int:
    if minutes is None or not math.isfinite(minutes):
        return len(BAND_COLOURS) - 1
    return min(int(minutes // BAND_MINUTES), len(BAND_COLOURS) - 1)


def _band_label(index: int) -> str:
    low = index * BAND_MINUTES
    if index == len(BAND_COLOURS) - 1:
        return f"{low:g}+ min"
    return f"{low:g}-{low + BAND_MINUTES:g} min"


def _areas_layer(areas: gpd.GeoDataFrame, tolerance: float, exceptions: bool) -> Any:
    import folium

    web = _to_web(areas, tolerance)
    web["tip"] = [
        f"{safe_text(r['area_id'])}: {_number(r.get('population'))} people, "
        f"{_number(r.get('minutes'), 1)} min to {safe_text(r.get('site_id'))}"
        + (" (beyond the travel limit)" if exceptions else "")
        for _, r in web.iterrows()
    ]
    web["fill"] = [BAND_COLOURS[_band(float(m))] for m in web["minutes"]]
    polygons = is_polygonal(web)

    def style(feature: dict[str, Any]) -> dict[str, Any]:
        if exceptions:
            return {
                "pane": EXCEPTION_PANE,
                "color": "#c00000",
                "weight": 3,
                "fillColor": "#c00000",
                "fillOpacity": 0.25,
                "className": "pg-exception",
            }
        return {
            "pane": AREA_PANE,
            "fillColor": feature["properties"]["fill"],
            "color": "#888888",
            "weight": 0.3 if polygons else 0,
            "fillOpacity": 0.75,
            "radius": 3,
            "className": "pg-area",
        }

    name = "exception areas (beyond the travel limit)" if exceptions else "areas by travel time"
    kwargs: dict[str, Any] = {"show": exceptions}
    if not polygons:
        kwargs["marker"] = folium.CircleMarker(radius=3, fill=True)
    return _geojson(_features(web, ["area_id", "tip", "fill"]), name, style, **kwargs)


def legend_html(
    catchments: gpd.GeoDataFrame,
    hubs: pd.DataFrame,
    style_keys: MapStyle,
    *,
    title: str | None,
    min_population: float | None,
    exceptions: int,
) -> str:
    """The legend box: polysystems against the population line, hub kinds, options, bands."""
    pop = catchments["population"].astype(float)
    rows = []
    if title:
        rows.append(f"<div class='pg-title'>{safe_text(title)}</div>")
    line = f"{len(catchments):,} polysystems"
    if len(pop):
        line += f", {pop.min():,.0f} to {pop.max():,.0f} people each"
    rows.append(f"<div>{line}</div>")
    if min_population:
        under = int((pop < float(min_population) - 1e-6).sum())
        verdict = "all above it" if under == 0 else f"{under} below it"
        rows.append(f"<div>minimum per polysystem: {float(min_population):,.0f} ({verdict})</div>")
    rows.append("<div class='pg-head'>catchments</div>")
    rows.append(
        "<div>"
        + "".join(
            f"<i class='pg-swatch' style='background:{c}'></i>" for c in CATCHMENT_COLOURS[:5]
        )
        + " neighbours never share a colour</div>"
    )
    rows.append("<div class='pg-head'>hubs by kind (fill)</div>")
    for kind, colour in style_keys.kinds.items():
        n = int((hubs["kind"].astype(str) == kind).sum())
        rows.append(
            f"<div><i class='pg-dot' style='background:{colour}'></i>{safe_text(kind)}: "
            f"{n} hub{'' if n == 1 else 's'}</div>"
        )
    rows.append("<div class='pg-head'>capital option (ring)</div>")
    for option, colour in style_keys.options.items():
        chosen = hubs["option"].astype(str) == option
        cost = float(hubs.loc[chosen, "capital_cost"].sum())
        rows.append(
            f"<div><i class='pg-dot' style='border:3px solid {colour}'></i>{safe_text(option)} "
            f"({int(chosen.sum())}, {_money(cost)})</div>"
        )
    rows.append("<div class='pg-head'>areas by travel time</div><div>")
    rows.extend(
        f"<i class='pg-swatch' style='background:{c}' title='{t}'></i>" for t, c in style_keys.bands
    )
    rows.append(f" {style_keys.bands[0][0]} to {style_keys.bands[-1][0]}</div>")
    if exceptions:
        rows.append(
            f"<div><i class='pg-swatch' style='border:2px solid #c00000'></i>"
            f"{exceptions} exception areas beyond the travel limit</div>"
        )
    return (
        "<div id='polygeo-legend' class='pg-legend'>" + "".join(rows) + "</div>"
        "<style>.pg-legend{position:fixed;bottom:26px;right:10px;z-index:1000;background:#fff;"
        "padding:8px 10px;border-radius:6px;box-shadow:0 1px 5px rgba(0,0,0,.4);"
        "font:12px/1.5 sans-serif;max-width:300px;max-height:70%;overflow:auto}"
        ".pg-title{font-weight:bold;font-size:14px}.pg-head{font-weight:bold;margin-top:4px}"
        ".pg-swatch{display:inline-block;width:14px;height:12px;margin-right:2px;"
        "vertical-align:middle;box-sizing:border-box}"
        ".pg-dot{display:inline-block;width:12px;height:12px;border-radius:50%;margin-right:5px;"
        "vertical-align:middle;box-sizing:border-box}</style>"
    )


def _inline_leaflet(m: Any, title: str | None) -> None:
    """Replace folium's CDN links with Leaflet inlined; nothing else is needed."""
    from branca.element import Element

    m.default_js = []
    m.default_css = []
    header = m.get_root().header
    header.add_child(Element(f"<title>{safe_text(title or 'polygeo plan')}</title>"), name="title")
    header.add_child(Element(f"<style>{script_safe(leaflet_css())}</style>"), name="leaflet_css")
    header.add_child(Element(f"<script>{script_safe(leaflet_js())}</script>"), name="leaflet_js")


def catchment_map(
    assignments: pd.DataFrame,
    hubs: pd.DataFrame,
    areas: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame | None = None,
    *,
    crs: Any = None,
    m: Any = None,
    title: str | None = None,
    min_population: float | None = None,
    simplify_m: float | None = None,
    show_sites: bool = True,
    travel_times: bool = True,
    tiles: str | None = TILES,
    catchments: gpd.GeoDataFrame | None = None,
) -> Any:
    """Draw a plan's tables on a folium map.

    Parameters
    ----------
    assignments, hubs
        The plan's tables (``assignments.csv`` / ``hubs.csv`` columns).
    areas
        Area geometries (polygons or points) with ``area_id`` and ``population``.
    sites
        Candidate sites; those not chosen form a layer hidden at first.
    crs
        CRS of the hubs' ``x``/``y``; default the areas' CRS.
    m
        An existing ``folium.Map`` to add the layers to (as ``GeoDataFrame.explore``);
        a new self-contained map when None.
    title
        Page title and legend heading (e.g. the scenario name).
    min_population
        The minimum population per polysystem, shown in the legend.
    simplify_m
        Outline simplification tolerance in metres (default 10, or 25 above 2,000 areas).
    show_sites, travel_times
        Add the candidate-site and areas-by-travel-time layers.
    tiles
        Base tiles for a new map (None for a plain background).
    catchments
        The catchment layer when already built (:func:`polygeo.geodata.catchment_layer`,
        or the ``catchments`` layer of ``catchments.gpkg``), to save dissolving again.

    Returns
    -------
    folium.Map
    """
    import folium

    crs = crs or areas.crs
    if catchments is None:
        catchments = catchment_layer(assignments, hubs, areas)
    hub_points = hub_layer(hubs, crs)
    tolerance = _tolerance(areas, simplify_m)
    style_keys = MapStyle(
        kinds=_keyed_colours(_all_kinds(hubs, sites), KIND_COLOURS),
        options=_keyed_colours(
            hubs["option"] if len(hubs) else pd.Series([], dtype=str), OPTION_COLOURS
        ),
        bands=[(_band_label(i), c) for i, c in enumerate(BAND_COLOURS)],
    )
    new_map = m is None
    if new_map:
        m = folium.Map(tiles=None, control_scale=True, zoom_snap=0.25)
        if tiles:
            folium.TileLayer(tiles, name="base map (online only)").add_to(m)
        _inline_leaflet(m, title)
    folium.map.CustomPane(AREA_PANE, z_index=410, pointer_events=True).add_to(m)
    folium.map.CustomPane(EXCEPTION_PANE, z_index=420, pointer_events=True).add_to(m)
    assigned = areas.merge(
        assignments[["area_id", "site_id", "minutes", "exception"]], on="area_id"
    )
    assigned = gpd.GeoDataFrame(assigned, geometry="geometry", crs=areas.crs)
    if travel_times and len(assigned):
        _areas_layer(assigned, tolerance, exceptions=False).add_to(m)
    _catchments_layer(catchments, _tolerance(catchments, simplify_m, len(areas))).add_to(m)
    exceptions = assigned[assigned["exception"].astype(bool)]
    if len(exceptions):
        _areas_layer(exceptions, tolerance, exceptions=True).add_to(m)
    others = unchosen_sites(sites, hubs) if show_sites else None
    if others is not None and len(others):
        _sites_layer(others, style_keys).add_to(m)
    _hubs_layer(hub_points, style_keys).add_to(m)
    if new_map:
        from branca.element import Element

        legend = legend_html(
            catchments,
            hubs,
            style_keys,
            title=title,
            min_population=min_population,
            exceptions=len(exceptions),
        )
        m.get_root().html.add_child(Element(legend), name="legend")
        folium.LayerControl(collapsed=False).add_to(m)
        west, south, east, north = areas.to_crs("EPSG:4326").total_bounds
        # leave room on the right for the legend and the layer control
        m.fit_bounds([[south, west], [north, east]], padding_bottom_right=(300, 10))
    return m


def plan_map(
    plan: Any,
    areas: gpd.GeoDataFrame | None = None,
    sites: gpd.GeoDataFrame | None = None,
    **kwargs: Any,
) -> Any:
    """Draw a plan on a folium map (see :func:`catchment_map` for the keywords).

    Parameters
    ----------
    plan
        A :class:`polygeo.plan.Plan` (or anything with ``assignments`` and ``hubs``).
    areas, sites
        Geometries; default the plan's own ``plan.areas`` / ``plan.sites``.

    Returns
    -------
    folium.Map
    """
    areas = areas if areas is not None else getattr(plan, "areas", None)
    sites = sites if sites is not None else getattr(plan, "sites", None)
    if areas is None:
        raise ValueError(
            "this plan keeps no area geometry: pass the areas, e.g. plan.explore(areas=areas)"
        )
    rules = getattr(plan, "rules", None)
    kwargs.setdefault("min_population", getattr(rules, "min_population", None))
    kwargs.setdefault("crs", getattr(plan, "crs", None))
    return catchment_map(plan.assignments, plan.hubs, areas, sites, **kwargs)


def map_page(m: Any) -> str:
    """The whole HTML page of a folium map."""
    return m.get_root().render()


def save_map(m: Any, path: str | Path) -> Path:
    """Write a map's page to ``path`` (UTF-8)."""
    Path(path).write_text(map_page(m), encoding="utf-8")
    return Path(path)
