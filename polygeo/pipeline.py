"""The steps a scenario file drives: load, validate, travel times, solve, check, write.

Each function takes and returns plain data, so a notebook can run them one at a
time; the CLI chains them.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
from pyproj import CRS
from pyproj.exceptions import CRSError as PyProjCRSError

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
    run_id: str | None = None
    previous: Path | None = None  # where the previous run's folder was kept
    appraisal: Any = None  # polygeo.appraisal.Appraisal: evaluation, timetable


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
    if not scenario.sites:
        raise InputError(
            f"{scenario.source}: no [[sites]]: say where the candidate hub sites come from, "
            'e.g.\n[[sites]]\npath = "gp.csv"\nkind = "gp"'
        )
    _check_crs(scenario)
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
    if scenario.new_build:
        sites = _with_new_build(sites, areas, scenario)
    report = validate(areas, sites)
    return Inputs(areas=areas, sites=sites, report=report, seconds=time.perf_counter() - start)


def _with_new_build(
    sites: gpd.GeoDataFrame, areas: gpd.GeoDataFrame, scenario: Scenario
) -> gpd.GeoDataFrame:
    """The sites with the ``[new_build]`` candidates appended (kind ``new``)."""
    from polygeo.new_build import new_build_sites

    new = new_build_sites(scenario.new_build, areas, source=f"{scenario.source} [new_build]")
    taken = set(sites["site_id"].astype(str)) & set(new["site_id"])
    if taken:
        raise InputError(
            f"{scenario.source}: site ids {sorted(taken)[:3]} are used by the site files and by "
            "the generated new-build candidates (new-1, new-2, ...); rename those sites."
        )
    log.info("generated %d new-build candidate sites", len(new))
    out = pd.concat([sites, new.to_crs(sites.crs)], ignore_index=True)
    return gpd.GeoDataFrame(out, geometry=sites.geometry.name, crs=sites.crs)


def scenario_options(scenario: Scenario, sites: gpd.GeoDataFrame) -> pd.DataFrame | None:
    """The capital options of the scenario: ``[[options]]`` or ``[options] path``, new builds."""
    from polygeo.capital import read_options_file
    from polygeo.capital import scenario_options as build

    entries: list[dict[str, Any]] = list(scenario.options)
    where = f"{scenario.source} [[options]]"
    if scenario.options_file:
        entries = read_options_file(scenario.options_file["path"], sites)
        where = f"{scenario.options_file['path'].name} (via {scenario.source} [options])"
    return build(entries, sites, scenario.new_build or None, source=where)


def _check_crs(scenario: Scenario) -> None:
    """A CRS the scenario names that pyproj does not know: an error naming the key."""
    from polygeo.crs import metric_crs
    from polygeo.errors import CRSError

    tables = [
        ("", {"crs": scenario.crs, "assume_crs": scenario.assume_crs}),
        ("[areas] ", scenario.areas),
    ]
    tables += [(f"[[sites]] #{n} ", s) for n, s in enumerate(scenario.sites, start=1)]
    for where, table in tables:
        for key in ("crs", "assume_crs"):
            value = table.get(key)
            if value is None:
                continue
            try:
                metric_crs(value) if key == "crs" else CRS.from_user_input(value)
            except (CRSError, PyProjCRSError) as exc:
                raise CRSError(f"{scenario.source}: {where}{key} = {value!r}: {exc}") from exc


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


def resolve_site_aliases(rules: Any, sites: gpd.GeoDataFrame) -> Any:
    """Rules whose site ids use the id each merged site got.

    Rows with several ids at one location become one site (its ``merged_ids``
    lists them); any of those ids may name it in ``required_sites`` /
    ``forbidden_sites``.
    """
    if "merged_ids" not in sites or not (rules.required_sites or rules.forbidden_sites):
        return rules
    known = set(sites["site_id"].astype(str))
    alias: dict[str, str] = {}
    for site_id, ids in zip(sites["site_id"].astype(str), sites["merged_ids"], strict=True):
        for other in str(ids if isinstance(ids, str) else "").split(";"):
            if other and other not in known:
                alias.setdefault(other, site_id)

    def resolve(ids: tuple[str, ...]) -> tuple[str, ...]:
        for i in ids:
            if i in alias:
                log.info("site %s was merged into site %s (one location)", i, alias[i])
        return tuple(dict.fromkeys(alias.get(i, i) for i in ids))

    return dataclasses.replace(
        rules,
        required_sites=resolve(tuple(rules.required_sites)),
        forbidden_sites=resolve(tuple(rules.forbidden_sites)),
    )


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
    overwrite: bool = False,
    inputs: Inputs | None = None,
    travel: tuple[Any, Any, pd.DataFrame] | None = None,
) -> RunResult:
    """Run a scenario end to end and write its outputs as one set.

    The output folder is checked for being writable before anything is loaded;
    the files are written into a temporary folder beside it and swapped into
    place only when all are written (see :mod:`polygeo.output_set`).

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
    overwrite
        Replace the previous run's folder; by default it is kept beside the new
        one, renamed with its time stamp (``out-20261124-104455``).
    inputs, travel
        Already loaded inputs and ``(provider, limit, table)`` from :func:`travel_table`
        for this scenario's areas, sites and ``[travel]`` (a sweep shares them between
        variants); loaded here when ``None``.

    Returns
    -------
    RunResult
        The plan, the independent checker's violations (empty when valid) and the files.
    """
    from polygeo.optimise import Rules, SolverSettings
    from polygeo.output_set import OutputSet, scenario_sha256
    from polygeo.outputs import write_plan
    from polygeo.scenario import check_finite

    check_finite(dict(overrides or {}), source="the command line", where="[solver]")
    rules = Rules.from_dict(scenario.rules, source=f"{scenario.source} [rules]")
    solver = SolverSettings.from_dict(
        {**scenario.solver, **(overrides or {})}, source=f"{scenario.source} [solver]"
    )
    _import_run_modules()
    with OutputSet(scenario.output_dir(out_dir), overwrite=overwrite) as output:
        result = _plan(scenario, rules, solver, progress=progress, inputs=inputs, travel=travel)
        files = write_plan(
            result.plan,
            output.folder,
            areas=result.inputs.areas,
            sites=result.inputs.sites,
            scenario=scenario,
            violations=result.violations,
            travel=scenario.travel,
            geodata=scenario.output.get("geodata", True),
            map_html=scenario.output.get("map", True),
            report_html=scenario.output.get("report", True),
            geoparquet=scenario.output.get("geoparquet", False),
            extra_summary=result.appraisal.summary,
            tables=result.appraisal.tables,
        )
        output.commit(
            {
                "scenario": str(Path(scenario.base_dir) / scenario.source),
                "scenario_sha256": scenario_sha256(scenario),
                "overrides": dict(overrides or {}),
            }
        )
    result.files = {role: output.path(path) for role, path in files.items()}
    result.run_id = output.run_id
    result.previous = output.previous
    return result


def _import_run_modules() -> None:
    """Import what a run needs before its output set opens.

    A Ctrl-C that lands inside an import makes Python print its own traceback
    ("Exception ignored in ... _ModuleLock"); after this, a run imports nothing heavy.
    """
    import highspy  # noqa: F401

    import polygeo.appraisal
    import polygeo.check
    import polygeo.io
    import polygeo.optimise.solve
    import polygeo.outputs
    import polygeo.validate  # noqa: F401


def _plan(
    scenario: Scenario,
    rules: Any,
    solver: Any,
    *,
    progress: bool,
    inputs: Inputs | None = None,
    travel: tuple[Any, Any, pd.DataFrame] | None = None,
) -> RunResult:
    """Load, validate, compute travel times, solve and check (no files written)."""
    from polygeo.appraisal import appraise, check_settings
    from polygeo.check import check
    from polygeo.optimise import solve

    inputs = load_inputs(scenario) if inputs is None else inputs
    stop_on_errors(inputs.report)
    areas, sites = inputs.areas, inputs.sites
    log.info(
        "loaded %s areas and %s sites in %.1f s",
        f"{len(areas):,}",
        f"{len(sites):,}",
        inputs.seconds,
    )
    rules = resolve_site_aliases(rules, sites)
    options = scenario_options(scenario, sites)
    check_settings(
        areas,
        sites,
        timetable=scenario.timetable,
        evaluation=scenario.evaluation,
        source=scenario.source,
    )
    if travel is None:
        travel = travel_table(scenario, areas, sites, progress=progress)
    provider, limit, table = travel
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
    extra = appraise(
        plan,
        areas,
        sites,
        table,
        options=options,
        timetable=scenario.timetable,
        evaluation=scenario.evaluation,
        far_times=far_times_from(provider, areas, sites),
        source=scenario.source,
    )
    plan.hubs = extra.hubs
    return RunResult(plan=plan, violations=violations, inputs=inputs, appraisal=extra)


__all__ = [
    "Inputs",
    "PolygeoError",
    "RunResult",
    "far_times_from",
    "load_inputs",
    "resolve_site_aliases",
    "run_scenario",
    "scenario_options",
    "stop_on_errors",
    "travel_provider",
    "travel_table",
]
