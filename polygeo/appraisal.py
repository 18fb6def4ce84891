"""What a run adds to a plan for the strategic plan: capital figures, timetable, evaluation.

:func:`appraise` takes a solved plan and the scenario's ``[timetable]`` and
``[evaluation]`` tables and returns the hubs with ``ready_year`` / ``is_new``,
the ``summary.json`` blocks (``evaluation``, ``capital_by_option``,
``timetable``) and the ``timetable.csv`` frame.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from polygeo.capital import capital_by_option, hub_capital_columns
from polygeo.evaluate import FarTimes, assignments_file, evaluate, nearest_gp
from polygeo.timetable import Timetable, budgets_from_settings, phase

log = logging.getLogger("polygeo")


@dataclass
class Appraisal:
    """A plan's capital columns, summary blocks and extra tables."""

    hubs: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    timetable: Timetable | None = None


def check_settings(
    areas: pd.DataFrame,
    sites: pd.DataFrame,
    *,
    timetable: dict[str, Any] | None = None,
    evaluation: dict[str, Any] | None = None,
    source: str = "scenario",
) -> None:
    """Check ``[timetable]`` and ``[evaluation]`` against the inputs before any solve.

    Raises
    ------
    InputError
        Bad budgets, a deprivation column the areas lack or that holds other than
        deciles 1-10, or ``baseline = "nearest_gp"`` without GP practices.
    """
    from polygeo.errors import InputError
    from polygeo.evaluate import GP_KIND, deciles_of

    if timetable:
        budgets_from_settings(timetable["budgets"], source=f"{source} [timetable]")
    settings = dict(evaluation or {})
    if settings.get("deprivation") is not None:
        deciles_of(areas, settings["deprivation"])
    if settings.get("baseline") == "nearest_gp" and not sites["kind"].astype(str).eq(GP_KIND).any():
        raise InputError(
            f'{source}: [evaluation] baseline = "nearest_gp" needs sites of kind "gp"; add the '
            'GP practices as [[sites]] with kind = "gp", or give a file of current assignments.'
        )


def appraise(
    plan: Any,
    areas: pd.DataFrame,
    sites: pd.DataFrame,
    table: pd.DataFrame,
    *,
    options: pd.DataFrame | None = None,
    timetable: dict[str, Any] | None = None,
    evaluation: dict[str, Any] | None = None,
    far_times: FarTimes | None = None,
    source: str = "scenario",
) -> Appraisal:
    """Capital columns, evaluation and timetable of a plan.

    Parameters
    ----------
    plan
        The solved :class:`~polygeo.plan.Plan`.
    areas, sites, table
        The run's areas, sites and travel table.
    options
        The capital options the plan was solved with (``ready_year`` column).
    timetable
        The ``[timetable]`` table (``budgets``, ``carry_over``), or ``None``.
    evaluation
        The ``[evaluation]`` table (``deprivation``, ``baseline``,
        ``reuse_options``), or ``None`` for the defaults.
    far_times
        Unlimited travel times, for a baseline area beyond the travel limit.
    source
        The scenario file's name, for messages.

    Returns
    -------
    Appraisal
    """
    hubs = hub_capital_columns(plan.hubs, options, sites)
    settings = dict(evaluation or {})
    baseline, name = None, None
    if settings.get("baseline") == "nearest_gp":
        baseline, name = nearest_gp(areas, sites, table, far_times), "nearest_gp"
    elif settings.get("baseline") is not None:
        path = settings["baseline"]
        baseline, name = assignments_file(path, table, far_times), getattr(path, "name", str(path))
    block = evaluate(
        plan,
        areas,
        deprivation=settings.get("deprivation"),
        reuse_options=tuple(settings.get("reuse_options", ("reuse",))),
        baseline=baseline,
        baseline_name=name or "nearest_gp",
    )
    out = Appraisal(
        hubs=hubs, summary={"evaluation": block, "capital_by_option": capital_by_option(hubs)}
    )
    if timetable:
        budgets = budgets_from_settings(timetable["budgets"], source=f"{source} [timetable]")
        result = phase(hubs, budgets, carry_over=bool(timetable.get("carry_over", False)))
        if result.message():
            log.warning("timetable: %s", result.message())
        out.timetable = result
        out.summary["timetable"] = result.summary()
        out.tables["timetable"] = result.schedule
    return out
