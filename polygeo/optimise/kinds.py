"""Rules that require hubs of a kind: urgent care on hospital sites.

``min_hubs_by_kind = {hospital = 6}`` asks for at least six hubs on hospital
sites; ``kind_in_every_group = "hospital"`` asks every group (borough, PCT) for
at least one hub on a hospital site located in it. Both become *quotas*: "at
least ``count`` of these sites open", one row each in the model
(:mod:`.model`), adjusted by the large-neighbourhood search for the hubs it
keeps fixed (:mod:`.lns`), and explained by the diagnosis when no viable site
can meet one.

A site's group is the sites frame's ``group`` column when it has one, else the
group of the area holding the site's point (the lowest area row on a shared
boundary), else of the nearest area.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from polygeo.errors import InputError


@dataclass(frozen=True)
class Quota:
    """At least ``count`` of the sites in ``sites`` (a mask over site rows) open.

    ``kind`` and ``group`` say where the quota comes from (``group`` is ``None``
    for ``min_hubs_by_kind``).
    """

    kind: str
    group: str | None
    sites: np.ndarray
    count: int

    @property
    def label(self) -> str:
        where = f" in group {self.group}" if self.group is not None else ""
        return f"at least {self.count} hub{'s' * (self.count != 1)} on {self.kind} sites{where}"


def site_groups(areas: pd.DataFrame, sites: pd.DataFrame) -> np.ndarray:
    """The group of every site (see the module docstring), as strings.

    Raises
    ------
    InputError
        The areas have no ``group`` column.
    """
    if "group" in sites.columns and sites["group"].notna().all():
        return sites["group"].astype(str).to_numpy(dtype=object)
    if "group" not in areas.columns:
        raise InputError(
            "kind_in_every_group needs a 'group' column in the areas (load them with "
            'group = "LAD11NM" or another borough / PCT column).'
        )
    groups = areas["group"].astype(str).to_numpy(dtype=object)
    out = np.full(len(sites), None, dtype=object)
    if len(sites) == 0 or len(areas) == 0:
        return out
    points = np.asarray(sites.geometry.values, dtype=object)
    if "geometry" in areas and areas.geometry.geom_type.isin(["Polygon", "MultiPolygon"]).all():
        tree = shapely.STRtree(np.asarray(areas.geometry.values, dtype=object))
        s_idx, a_idx = tree.query(points, predicate="intersects")
        order = np.lexsort((a_idx, s_idx))
        s_idx, a_idx = s_idx[order], a_idx[order]
        first = np.unique(s_idx, return_index=True)[1]
        out[s_idx[first]] = groups[a_idx[first]]
        missing = np.flatnonzero(out == None)  # noqa: E711 - elementwise on an object array
        if len(missing):
            _, near = tree.query_nearest(points[missing], all_matches=False)
            out[missing] = groups[near]
        return out
    ox = areas["origin_x"].to_numpy(dtype=float)
    oy = areas["origin_y"].to_numpy(dtype=float)
    sx, sy = shapely.get_x(points), shapely.get_y(points)
    for j in range(len(points)):
        out[j] = groups[int(np.argmin((ox - sx[j]) ** 2 + (oy - sy[j]) ** 2))]
    return out


def kind_quotas(
    min_hubs_by_kind: dict[str, int],
    kind_in_every_group: str | None,
    site_kind: np.ndarray,
    site_group: np.ndarray | None,
    area_groups: np.ndarray | None,
) -> list[Quota]:
    """The quotas of the two rules.

    Parameters
    ----------
    min_hubs_by_kind, kind_in_every_group
        The rules.
    site_kind
        Kind per site row.
    site_group
        Group per site row (``kind_in_every_group`` only).
    area_groups
        The groups of the areas, in order of first appearance: one quota each.
    """
    kinds = np.asarray(site_kind, dtype=object).astype(str)
    quotas = [
        Quota(str(kind), None, kinds == str(kind), int(n))
        for kind, n in min_hubs_by_kind.items()
        if int(n) > 0
    ]
    if kind_in_every_group is not None and site_group is not None and area_groups is not None:
        of_kind = kinds == kind_in_every_group
        site_group = np.asarray(site_group, dtype=object).astype(str)
        for g in area_groups:
            quotas.append(Quota(kind_in_every_group, str(g), of_kind & (site_group == str(g)), 1))
    return quotas


def quota_conflicts(
    quotas: list[Quota],
    viable: np.ndarray,
    site_ids: np.ndarray,
    why_not: dict[str, str],
    hubs_max: int | None,
) -> list[str]:
    """Quotas that no choice of viable sites can meet, as sentences naming the group.

    Parameters
    ----------
    quotas
        From :func:`kind_quotas`.
    viable
        Sites that may open.
    site_ids
        Id per site row.
    why_not
        Site id -> why it can never open.
    hubs_max
        The most hubs the rules allow, or ``None``.
    """
    out: list[str] = []
    for q in quotas:
        can = int((q.sites & viable).sum())
        if can >= q.count:
            continue
        where = f"group {q.group}" if q.group is not None else "the study area"
        unable = site_ids[q.sites & ~viable]
        reasons = "; ".join(f"{s}: {why_not.get(str(s), 'cannot open')}" for s in unable[:3])
        text = f"{q.label}: {where} has {can} viable {q.kind} site{'s' * (can != 1)}"
        text += f" ({len(unable)} that cannot open" + (f" - {reasons}" if reasons else "") + ")"
        if not unable.size and q.group is not None:
            text = f"{q.label}: {where} has no {q.kind} site at all"
        out.append(text)
    if hubs_max is not None and quotas:
        by_kind: dict[str, int] = {}
        for q in quotas:
            if q.group is None:
                by_kind[q.kind] = max(by_kind.get(q.kind, 0), q.count)
        groups = [q for q in quotas if q.group is not None]
        if groups:
            kind = groups[0].kind
            by_kind[kind] = max(by_kind.get(kind, 0), len(groups))
        need = sum(by_kind.values())
        if need > hubs_max:
            out.append(
                f"the hub-kind rules need at least {need} hubs, but at most {hubs_max} are allowed"
            )
    return out


def quotas_left(quotas: list[Quota], fixed_open: np.ndarray) -> list[Quota]:
    """The quotas still to meet once the sites in ``fixed_open`` are open (for sub-models)."""
    out = []
    for q in quotas:
        left = q.count - int((q.sites & fixed_open).sum())
        if left > 0:
            out.append(Quota(q.kind, q.group, q.sites & ~fixed_open, left))
    return out
