"""Helpers shared by the travel-time providers: input checks, coordinates, progress."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import TypeVar

import numpy as np
import pandas as pd
from pyproj import CRS

from polygeo.errors import CRSError, InputError

log = logging.getLogger("polygeo")

T = TypeVar("T")


def area_ids(areas: pd.DataFrame) -> pd.Index:
    """Return ``areas.area_id`` as an Index, checking it exists and is unique."""
    return _ids(areas, "area_id", "areas", "polygeo.io.read_areas")


def site_ids(sites: pd.DataFrame) -> pd.Index:
    """Return ``sites.site_id`` as an Index, checking it exists and is unique."""
    return _ids(sites, "site_id", "sites", "polygeo.io.read_sites")


def _ids(frame: pd.DataFrame, column: str, what: str, loader: str) -> pd.Index:
    if column not in frame.columns:
        raise InputError(
            f"the {what} frame has no {column!r} column (columns: {list(frame.columns)[:12]}); "
            f"load it with {loader} or rename your id column to {column!r}"
        )
    ids = pd.Index(frame[column].astype(str), name=column)
    if ids.hasnans or not ids.is_unique:
        dup = ids[ids.duplicated()].unique()[:5].tolist()
        raise InputError(
            f"the {what} frame's {column!r} values must be unique and present; "
            f"repeated: {dup}. Merge or rename the repeated {what}"
        )
    return ids


def area_xy(areas: pd.DataFrame) -> np.ndarray:
    """Return the areas' travel origins as an ``(n, 2)`` float64 array."""
    missing = [c for c in ("origin_x", "origin_y") if c not in areas.columns]
    if missing:
        raise InputError(
            f"the areas frame has no {' / '.join(missing)} column; load areas with "
            "polygeo.io.read_areas, or add the travel origin in the working CRS, e.g. "
            "areas['origin_x'] = areas.centroid.x; areas['origin_y'] = areas.centroid.y"
        )
    xy = np.column_stack(
        [areas["origin_x"].to_numpy(dtype="float64"), areas["origin_y"].to_numpy(dtype="float64")]
    )
    bad = ~np.isfinite(xy).all(axis=1)
    if bad.any():
        ids = areas["area_id"].to_numpy()[bad][:5].tolist() if "area_id" in areas else []
        raise InputError(
            f"{int(bad.sum())} areas have no travel origin (origin_x/origin_y missing), "
            f"e.g. {ids}; fill them or drop those areas"
        )
    return xy


def site_xy(sites: pd.DataFrame) -> np.ndarray:
    """Return the sites' Point coordinates as an ``(n, 2)`` float64 array."""
    geom = getattr(sites, "geometry", None)
    if geom is None:
        raise InputError(
            "the sites frame has no geometry; load sites with polygeo.io.read_sites "
            "or make a GeoDataFrame of Points"
        )
    kinds = set(geom.geom_type.dropna().unique())
    if kinds - {"Point"} or geom.isna().any() or geom.is_empty.any():
        bad = sites.loc[(geom.geom_type != "Point") | geom.isna() | geom.is_empty]
        ids = bad["site_id"].head(5).tolist() if "site_id" in bad else []
        raise InputError(
            f"{len(bad)} sites are not Points (e.g. {ids}); sites must be Points "
            "(use the polygon's representative point)"
        )
    return np.column_stack([geom.x.to_numpy(dtype="float64"), geom.y.to_numpy(dtype="float64")])


def common_crs(*frames: pd.DataFrame, names: Sequence[str] | None = None) -> CRS | None:
    """Return the CRS the frames share, checking it is metric; ``None`` when none has one."""
    names = list(names or [f"frame {i}" for i in range(len(frames))])
    crss = [(n, getattr(f, "crs", None)) for n, f in zip(names, frames, strict=True)]
    given = [(n, CRS.from_user_input(c)) for n, c in crss if c is not None]
    if not given:
        return None
    first_name, first = given[0]
    for name, crs in given[1:]:
        if crs != first:
            raise CRSError(
                f"{first_name} are in {first.to_string()} but {name} are in {crs.to_string()}; "
                f"project both to one metric CRS, e.g. {name} = {name}.to_crs({first_name}.crs)"
            )
    if not first.is_projected or first.axis_info[0].unit_name not in ("metre", "meter"):
        raise CRSError(
            f"{first_name} are in {first.to_string()}, which is not in metres; travel distances "
            "need a projected CRS: use polygeo.crs.to_metric (British National Grid by default)"
        )
    return first


def progress_bar(
    iterable: Iterable[T], *, enabled: bool | None, total: int | None = None, desc: str
):
    """Wrap ``iterable`` in a tqdm bar: on a terminal only, never when ``enabled`` is False."""
    from tqdm import tqdm

    disable = True if enabled is False else None  # None: tqdm hides the bar when not a TTY
    return tqdm(iterable, total=total, desc=desc, disable=disable, leave=False)


def examples(values: Iterable, n: int = 5) -> list:
    """First ``n`` values as a plain list, for error and report messages."""
    out = []
    for v in values:
        if len(out) >= n:
            break
        out.append(v.item() if isinstance(v, np.generic) else v)
    return out
