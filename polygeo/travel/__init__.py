"""Travel times between areas and candidate sites, kept sparse.

Every provider has one method, ``travel_times(areas, sites, limit=None)``,
returning the long-form travel table (``area_id``, ``site_id`` categorical,
``minutes`` float32) for the pairs within ``limit`` (a :class:`TravelLimit`).

* :class:`StraightLine` — a linear model of straight-line distance (fit it with :func:`calibrate`);
* :class:`RoadNetwork` — shortest paths on road lines or an OSMnx GraphML graph;
* :class:`ExternalMatrix` — a matrix from elsewhere (long or wide, CSV / Parquet / zip).

:func:`write_table` / :func:`read_table` save and load the table as Parquet;
:func:`travel_from_settings` builds a provider from a scenario's ``[travel]`` table.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import pandas as pd

from polygeo.travel.calibrate import Calibration, calibrate
from polygeo.travel.external import ExternalMatrix, MatchReport
from polygeo.travel.limits import TravelLimit
from polygeo.travel.network import ComponentReport, RoadNetwork, SnapReport
from polygeo.travel.settings import travel_from_settings
from polygeo.travel.straight_line import StraightLine
from polygeo.travel.table import (
    TABLE_COLUMNS,
    align_table,
    check_table,
    empty_table,
    make_table,
    read_table,
    write_table,
)


@runtime_checkable
class TravelProvider(Protocol):
    """Anything that gives a travel table for areas x sites within a limit."""

    def travel_times(
        self,
        areas: pd.DataFrame,
        sites: pd.DataFrame,
        limit: TravelLimit | float | None = None,
        *,
        progress: bool | None = None,
    ) -> pd.DataFrame:
        """Travel table (``area_id``, ``site_id``, ``minutes``) for pairs within ``limit``."""
        ...


__all__ = [
    "TABLE_COLUMNS",
    "Calibration",
    "ComponentReport",
    "ExternalMatrix",
    "MatchReport",
    "RoadNetwork",
    "SnapReport",
    "StraightLine",
    "TravelLimit",
    "TravelProvider",
    "align_table",
    "calibrate",
    "check_table",
    "empty_table",
    "make_table",
    "read_table",
    "travel_from_settings",
    "write_table",
]
