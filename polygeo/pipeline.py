"""The steps a scenario file drives: load, validate, travel times, solve, check, write.

Each function takes and returns plain data, so a notebook can run them one at a
time; the CLI chains them.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from polygeo.errors import InputError, PolygeoError
from polygeo.scenario import Scenario

log = logging.getLogger("polygeo")


@dataclass
class Inputs:
    """Areas and sites of a scenario, with the validation report."""

    areas: gpd.GeoDataFrame
    sites: gpd.GeoDataFrame
    report: Any  # polygeo.validate.ValidationReport
    seconds: float = 0.0


@dataclass
class RunResult:
    """What :func:`run_scenario` produced."""

    plan: Any  # polygeo.plan.Plan
    violations: list[Any]
    files: dict[str, Path] = field(default_factory=dict)
    inputs: Inputs | None = None


def load_inputs(scenario: Scenario) -> Inputs:
    """Read the scenario's areas and sites and validate them (errors are collected).

    Parameters
    ----------
    scenario
        A checked scenario.

    Returns
    -------
    Inputs
        The frames and the validation report; the caller decides whether errors stop.
    """
    from polygeo.io import read_areas, read_sites
    from polygeo.validate import validate

    start = time.perf_counter()
    settings = dict(scenario.areas)
    include = settings.pop("include_groups", None)
    areas = read_areas(
        crs=scenario.crs,
        errors="collect",
        **_with_default_crs(settings, scenario.assume_crs),
    )
    if include is not None:
        areas = _select_groups(areas, include, scenario)
    sources = [dict(s) for s in scenario.sites]
    sites = read_sites(
        sources,
        crs=scenario.crs,
        study_area=areas,
        within_m=scenario.sites_within_m,
        errors="collect",
        **({"assume_crs": scenario.assume_crs} if scenario.assume_crs is not None else {}),
    )
    report = validate(areas, sites)
    return Inputs(areas=areas, sites=sites, report=report, seconds=time.perf_counter() - start)


def _with_default_crs(settings: dict[str, Any], assume_crs: Any) -> dict[str, Any]:
    if assume_crs is not None and "assume_crs" not in settings:
        settings = {**settings, "assume_crs": assume_crs}
    return settings


def _select_groups(areas: gpd.GeoDataFrame, include: list[Any], scenario: Scenario):
    if "group" not in areas.columns:
        raise InputError(
            f'{scenario.source}: [areas] include_groups needs group = "<column>" to say '
            "which column holds the groups."
        )
    wanted = [str(g) for g in include]
    present = set(areas["group"].astype(str))
    unknown = [g for g in wanted if g not in present]
    if unknown:
        raise InputError(
            f"{scenario.source}: [areas] include_groups names groups that no area has: "
            f"{unknown}. Groups present: {_some(sorted(present))}"
        )
    kept = areas[areas["group"].astype(str).isin(wanted)].reset_index(drop=True)
    kept.attrs = dict(areas.attrs)
    return kept


def _some(values: list[str], n: int = 12) -> str:
    return ", ".join(values[:n]) + (f" ... ({len(values)} in all)" if len(values) > n else "")


def travel_provider(
    scenario: Scenario, areas: gpd.GeoDataFrame, sites: gpd.GeoDataFrame, *, progress: bool = True
) -> tuple[Any, Any]:
    """The travel provider and limit described by the scenario's ``[travel]`` table."""
    from polygeo.travel import travel_from_settings

    return travel_from_settings(
        scenario.travel,
        base_dir=scenario.base_dir,
        areas=areas,
        sites=sites,
        source=scenario.source,
        progress=progress,
    )


def travel_table(
    scenario: Scenario, areas: gpd.GeoDataFrame, sites: gpd.GeoDataFrame, *, progress: bool = True
) -> tuple[Any, Any, pd.DataFrame]:
    """Build the provider and limit from ``[travel]`` and compute the sparse table.

    Returns
    -------
    tuple
        ``(provider, limit, table)``.
    """
    provider, limit = travel_provider(scenario, areas, sites, progress=progress)
    table = provider.travel_times(areas, sites, limit=limit, progress=progress)
    return provider, limit, table


def far_times_from(provider: Any, areas: gpd.GeoDataFrame, sites: gpd.GeoDataFrame):
    """A ``far_times(area_ids, site_ids)`` callable for the diagnosis: times with no limit."""

    def far_times(area_ids, site_ids) -> pd.DataFrame:
        sub_areas = areas[areas["area_id"].isin(list(area_ids))].reset_index(drop=True)
        sub_sites = sites[sites["site_id"].isin(list(site_ids))].reset_index(drop=True)
        table = provider.travel_times(sub_areas, sub_sites, limit=None, progress=False)
        return pd.DataFrame(
            {
                "area_id": table["area_id"].astype(str),
                "site_id": table["site_id"].astype(str),
                "minutes": table["minutes"].astype(float),
            }
        )

    return far_times


def stop_on_errors(report: Any) -> None:
    """Raise an :class:`InputError` with the report's text when it has errors."""
    if not report.ok:
        raise InputError("the inputs have errors; nothing was run.\n" + report.format_text())


def run_scenario(
    scenario: Scenario,
    *,
    out_dir: str | Path | None = None,
    progress: bool = True,
    overrides: dict[str, Any] | None = None,
) -> RunResult:
    """Run a scenario end to end and write its outputs.

    Parameters
    ----------
    scenario
        A checked scenario.
    out_dir
        Output folder; default ``[output] dir``.
    progress
        Show progress bars on long work.
    overrides
        ``[solver]`` keys given on the command line (e.g. ``time_limit``).

    Returns
    -------
    RunResult
        The plan, the independent checker's violations (empty when valid) and the files.
    """
    from polygeo.check import check
    from polygeo.optimise import Rules, SolverSettings, options_from_settings, solve
    from polygeo.outputs import write_plan

    rules = Rules.from_dict(scenario.rules, source=f"{scenario.source} [rules]")
    solver = SolverSettings.from_dict(
        {**scenario.solver, **(overrides or {})}, source=f"{scenario.source} [solver]"
    )
    inputs = load_inputs(scenario)
    stop_on_errors(inputs.report)
    areas, sites = inputs.areas, inputs.sites
    log.info("loaded %d areas and %d sites in %.1f s", len(areas), len(sites), inputs.seconds)
    options = options_from_settings(scenario.options, sites) if scenario.options else None
    provider, limit, table = travel_table(scenario, areas, sites, progress=progress)
    adjacency = None
    if rules.contiguous:
        from polygeo.optimise import adjacency_from_polygons

        adjacency = adjacency_from_polygons(areas)
    plan = solve(
        areas,
        sites,
        table,
        rules,
        options=options,
        solver=solver,
        adjacency=adjacency,
        far_times=far_times_from(provider, areas, sites),
        progress=progress,
    )
    violations = check(plan, areas, sites, table, rules, options=options, adjacency=adjacency)
    target = scenario.output_dir(out_dir)
    files = write_plan(
        plan,
        target,
        areas=areas,
        sites=sites,
        scenario=scenario,
        violations=violations,
        travel=scenario.travel,
        geodata=scenario.output.get("geodata", True),
        map_html=scenario.output.get("map", True),
    )
    return RunResult(plan=plan, violations=violations, files=files, inputs=inputs)


__all__ = [
    "Inputs",
    "PolygeoError",
    "RunResult",
    "far_times_from",
    "load_inputs",
    "run_scenario",
    "stop_on_errors",
    "travel_provider",
    "travel_table",
]
