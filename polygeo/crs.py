"""Projection of inputs to a metric coordinate reference system."""

from __future__ import annotations

import geopandas as gpd
from pyproj import CRS

from polygeo.errors import CRSError

#: British National Grid, the default working CRS.
DEFAULT_CRS = "EPSG:27700"


def metric_crs(crs: str | int | CRS | None = None) -> CRS:
    """Return the working CRS, checking that it is projected in metres.

    Parameters
    ----------
    crs
        Any CRS pyproj understands; ``None`` means British National Grid.

    Returns
    -------
    pyproj.CRS
    """
    try:
        out = CRS.from_user_input(crs if crs is not None else DEFAULT_CRS)
    except Exception as exc:  # pyproj raises CRSError with a terse message
        raise CRSError(
            f"unknown CRS {crs!r}: {exc}. Give an EPSG code such as 'EPSG:27700'."
        ) from exc
    if not out.is_projected or out.axis_info[0].unit_name not in ("metre", "meter"):
        raise CRSError(
            f"CRS {out.to_string()} is not a projected CRS in metres; travel distances need one. "
            "Use British National Grid ('EPSG:27700') or a UTM zone."
        )
    return out


def to_metric(
    gdf: gpd.GeoDataFrame,
    crs: str | int | CRS | None = None,
    *,
    source: str = "input",
    assume_crs: str | int | CRS | None = None,
) -> gpd.GeoDataFrame:
    """Project a GeoDataFrame to the working metric CRS.

    Parameters
    ----------
    gdf
        The frame to project.
    crs
        The working CRS (default British National Grid).
    source
        Name of the file the frame came from, for error messages.
    assume_crs
        CRS to assign when the input has none. Without it, a missing CRS is an error.

    Returns
    -------
    geopandas.GeoDataFrame
        A projected copy (or the same frame when already in ``crs``).
    """
    target = metric_crs(crs)
    if gdf.crs is None:
        if assume_crs is None:
            raise CRSError(
                f"{source} has no coordinate reference system (no .prj file or CRS metadata). "
                'State it: assume_crs = "EPSG:27700" in the scenario file, '
                "or assume_crs='EPSG:27700' in Python."
            )
        gdf = gdf.set_crs(assume_crs)
    if CRS.from_user_input(gdf.crs) == target:
        return gdf
    return gdf.to_crs(target)
