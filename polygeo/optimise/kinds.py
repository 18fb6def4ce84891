"""Rules that require hubs of a kind: urgent care on hospital sites.

``min_hubs_by_kind = {hospital = 6}`` asks for at least six hubs on hospital
sites; ``kind_in_every_group = "hospital"`` asks that every group (borough,
PCT) has a polysystem whose hub is on a hospital site: at least one area of the
group is served by a hub on a hospital site (the hub may stand across the
border, as a hospital often does; with ``within_group`` the whole catchment
lies in the group). Both become *quotas*, one row each in the model
(:mod:`.model`): "at least ``count`` of these sites open" over the option
columns, or "at least one of these areas assigned to one of these sites" over
the pair columns. The large-neighbourhood search adjusts them for what it keeps
fixed (:mod:`.lns`), and the diagnosis names the quota no viable site can meet.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Quota:
    """At least ``count`` of the sites in ``sites`` (a mask over site rows) open, or,
    with ``areas`` (a mask over area rows), at least ``count`` of those areas served
    by hubs on those sites.

    ``kind`` and ``group`` say where the quota comes from (``group`` is ``None``
    for ``min_hubs_by_kind``).
    """

    kind: str
    group: str | None
    sites: np.ndarray
    count: int
    areas: np.ndarray | None = None

    @property
    def label(self) -> str:
        if self.group is not None:
            return f"group {self.group} needs a polysystem whose hub is on a {self.kind} site"
        return f"at least {self.count} hub{'s' * (self.count != 1)} on {self.kind} sites"


def kind_quotas(
    min_hubs_by_kind: dict[str, int],
    kind_in_every_group: str | None,
    site_kind: np.ndarray,
    area_group: np.ndarray | None,
) -> list[Quota]:
    """The quotas of the two rules.

    Parameters
    ----------
    min_hubs_by_kind, kind_in_every_group
        The rules.
    site_kind
        Kind per site row.
    area_group
        Group per area row (``kind_in_every_group`` only): one quota per group, in
        order of first appearance.
    """
    kinds = np.asarray(site_kind, dtype=object).astype(str)
    quotas = [
        Quota(str(kind), None, kinds == str(kind), int(n))
        for kind, n in min_hubs_by_kind.items()
        if int(n) > 0
    ]
    if kind_in_every_group is not None and area_group is not None:
        of_kind = kinds == kind_in_every_group
        area_group = np.asarray(area_group, dtype=object).astype(str)
        for g in pd.unique(area_group):
            quotas.append(Quota(kind_in_every_group, str(g), of_kind, 1, area_group == g))
    return quotas


def quota_conflicts(
    quotas: list[Quota],
    viable: np.ndarray,
    site_ids: np.ndarray,
    why_not: dict[str, str],
    hubs_max: int | None,
    pairs: tuple[np.ndarray, np.ndarray, np.ndarray],
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
    pairs
        ``(area row, site row, usable)`` of every travel-table pair.
    """
    out: list[str] = []
    pa, ps, usable = pairs
    for q in quotas:
        if q.areas is not None:
            out += _group_conflict(q, viable, site_ids, why_not, (pa, ps, usable))
            continue
        can = int((q.sites & viable).sum())
        if can >= q.count:
            continue
        unable = site_ids[q.sites & ~viable]
        reasons = "; ".join(f"{s}: {why_not.get(str(s), 'cannot open')}" for s in unable[:3])
        text = f"{q.label}: the study area has {can} viable {q.kind} site{'s' * (can != 1)}"
        text += f" ({len(unable)} that cannot open" + (f" - {reasons}" if reasons else "") + ")"
        out.append(text)
    if hubs_max is not None and quotas:
        by_kind: dict[str, int] = {}
        for q in quotas:
            if q.group is None:
                by_kind[q.kind] = max(by_kind.get(q.kind, 0), q.count)
        groups = [q for q in quotas if q.group is not None]
        if groups:  # one hub of the kind may serve areas of several groups
            by_kind[groups[0].kind] = max(by_kind.get(groups[0].kind, 0), 1)
        need = sum(by_kind.values())
        if need > hubs_max:
            out.append(
                f"the hub-kind rules need at least {need} hubs, but at most {hubs_max} are allowed"
            )
    return out


def _group_conflict(
    q: Quota,
    viable: np.ndarray,
    site_ids: np.ndarray,
    why_not: dict[str, str],
    pairs: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> list[str]:
    """The group's areas reach no viable site of the kind within their travel limit."""
    assert q.areas is not None
    pa, ps, usable = pairs
    near = q.areas[pa] & q.sites[ps]
    if (near & usable & viable[ps]).any():
        return []
    reached = np.unique(ps[near])
    if len(reached) == 0:
        return [f"{q.label}, but none of its areas has a {q.kind} site within its travel limit"]
    reasons = "; ".join(
        f"{site_ids[j]}: {why_not.get(str(site_ids[j]), 'cannot open')}" for j in reached[:3]
    )
    return [
        f"{q.label}, but the {len(reached)} {q.kind} sites within reach of its areas cannot "
        f"open ({reasons})"
    ]


def quotas_left(
    quotas: list[Quota], fixed_open: np.ndarray, fixed_area_site: np.ndarray
) -> list[Quota]:
    """The quotas still to meet in a sub-model (large-neighbourhood search).

    Parameters
    ----------
    quotas
        The full model's quotas.
    fixed_open
        Sites open outside the sub-model (they stay open).
    fixed_area_site
        Per area row, the site it stays assigned to outside the sub-model, ``-1``
        for areas the sub-model reassigns.
    """
    out = []
    for q in quotas:
        if q.areas is not None:
            kept = fixed_area_site >= 0
            if (q.areas & kept & q.sites[np.where(kept, fixed_area_site, 0)]).any():
                continue
            out.append(q)
            continue
        left = q.count - int((q.sites & fixed_open).sum())
        if left > 0:
            out.append(Quota(q.kind, q.group, q.sites & ~fixed_open, left))
    return out
