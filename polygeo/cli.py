"""The ``polygeo`` command.

Exit status: 0 success; 1 the inputs or the plan have errors (validation errors,
checker violations), or an internal error (a bug: a short message says where the
full traceback was saved); 2 bad input (file, key, column, value); 3 infeasible
rules; 4 the solver failed; 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Annotated, Any

import typer

from polygeo.errors import InfeasibleError, InputError, PolygeoError, SolverError

app = typer.Typer(
    name="polygeo",
    help="Plan health-care catchments (polysystems) and site polyclinic hubs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)

ScenarioArg = Annotated[Path, typer.Argument(help="The scenario file (TOML).", show_default=False)]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors and results.")]
Overwrite = Annotated[
    bool,
    typer.Option(
        "--overwrite",
        help="Replace the previous run's output folder instead of keeping it renamed "
        "with its time stamp.",
    ),
]


def _fail(exc: PolygeoError) -> typer.Exit:
    """Print a user error without a traceback and pick the exit status."""
    if isinstance(exc, InfeasibleError):
        typer.echo(f"infeasible: {exc}", err=True)
        diagnosis = getattr(exc, "diagnosis", None)
        if hasattr(diagnosis, "format_text") and diagnosis.format_text() not in str(exc):
            typer.echo(diagnosis.format_text(), err=True)
        return typer.Exit(3)
    if isinstance(exc, SolverError):
        typer.echo(f"solver error: {exc}", err=True)
        return typer.Exit(4)
    typer.echo(f"error: {exc}", err=True)
    return typer.Exit(2)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time of each record (a handler bound
    to the stream of its first command would write to a closed stream when the CLI is
    invoked again in the same process, as tests and notebooks do)."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:  # StreamHandler.__init__ sets it
        pass


def _setup_logging(quiet: bool) -> None:
    logger = logging.getLogger("polygeo")
    if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.WARNING if quiet else logging.INFO)


def _version(value: bool) -> None:
    if value:
        from polygeo import __version__

        typer.echo(f"polygeo {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Plan health-care catchments (polysystems) and site polyclinic hubs."""


@app.command()
def validate(
    scenario: ScenarioArg,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Check a scenario file (every table and key), then read and check its areas and sites.

    Given a sweep file, check it and every variant's scenario.
    """
    from polygeo.pipeline import load_inputs
    from polygeo.scenario import check_settings, load_scenario

    if _is_sweep_file(scenario):
        _validate_sweep(scenario, as_json)
        return
    try:
        scn = load_scenario(scenario)
        check_settings(scn)
        inputs = load_inputs(scn)
    except PolygeoError as exc:
        if as_json:
            _echo_json_error(exc)
        raise _fail(exc) from None
    report = inputs.report
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
    else:
        typer.echo(report.format_text())
    if not report.ok:
        raise typer.Exit(1)


def _echo_json_error(exc: PolygeoError) -> None:
    """The ``--json`` form of an input error that stops validation."""
    typer.echo(json.dumps({"errors": [{"code": "input", "message": str(exc)}]}))


def _is_sweep_file(path: Path) -> bool:
    import tomllib

    try:
        return "base" in tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError):
        return False


def _validate_sweep(path: Path, as_json: bool = False) -> None:
    """Check a sweep file and every variant's scenario (exit 2 when any is wrong)."""
    from polygeo.sweep import check_inputs, load_sweep

    try:
        sweep = load_sweep(path)
    except PolygeoError as exc:
        if as_json:
            _echo_json_error(exc)
        raise _fail(exc) from None
    inputs = check_inputs(sweep)
    bad = [v for v in sweep.variants if v.problem]
    if as_json:
        typer.echo(json.dumps(_sweep_report(path, sweep, inputs), indent=2))
    else:
        typer.echo(f"{path.name}: {len(sweep.variants)} variants, {len(bad)} with problems")
        for found in inputs:
            first = "" if found.report is None else found.report.format_text().splitlines()[0]
            names = ", ".join(found.variants[:3]) + (", ..." if len(found.variants) > 3 else "")
            count = len(found.variants)
            typer.echo(f"inputs of {count} variant(s) ({names}): {first or 'not read'}")
        for variant in bad:
            typer.echo(f"variant {variant.name}: {variant.problem}", err=True)
    if bad:
        raise typer.Exit(2)


def _sweep_report(path: Path, sweep: Any, inputs: list) -> dict[str, Any]:
    """The ``--json`` form of a checked sweep: its variants and each set of inputs."""
    variants = [
        {"name": v.name, "changes": v.changes, "folder": str(v.folder), "problem": v.problem}
        for v in sweep.variants
    ]
    sets = [
        {
            "variants": found.variants,
            "report": None if found.report is None else found.report.to_dict(),
            "error": found.error,
        }
        for found in inputs
    ]
    return {"sweep": str(path), "variants": variants, "inputs": sets}


@app.command()
def sweep(
    sweep_file: Annotated[Path, typer.Argument(help="The sweep file (TOML).", show_default=False)],
    workers: Annotated[
        int | None,
        typer.Option(help="Worker processes of the local Dask cluster (default: the cores)."),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(help="Run on an existing Dask cluster: its scheduler, tcp://host:port."),
    ] = None,
    force: Annotated[bool, typer.Option(help="Run finished variants again.")] = False,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
    quiet: Quiet = False,
) -> None:
    """Run the variants of a sweep on Dask and compare them (comparison.csv / .html).

    Exit status 0 when every variant ran and its plan passed the check, 1 when some
    failed (each row says why), 2 when the sweep file is wrong, 130 after Ctrl-C.
    """
    from polygeo.comparison import short_message
    from polygeo.sweep import load_sweep
    from polygeo.sweep_run import run_sweep

    _setup_logging(quiet)
    try:
        plan = load_sweep(sweep_file)
        for variant in plan.variants:
            if variant.problem:
                typer.echo(f"variant {variant.name} cannot run: {variant.problem}", err=True)
        typer.echo(f"{len(plan.variants)} variants; output in {plan.out_dir}")
        result = run_sweep(
            plan, workers=workers, scheduler=scheduler, progress=progress, force=force
        )
    except PolygeoError as exc:
        raise _fail(exc) from None
    typer.echo(
        f"{len(result.rows)} variants: {result.ran} ran, {result.skipped} already finished, "
        f"{len(result.failed)} failed or not run"
    )
    for row in result.failed:
        typer.echo(f"  {row['name']}: {row['status']}: {short_message(row['message'])}", err=True)
    for role, path in result.files.items():
        typer.echo(f"  {role:12s} {path}")
    if result.interrupted:
        typer.echo("interrupted: finished variants are kept; rerun to continue", err=True)
        raise typer.Exit(130)
    if result.failed:
        raise typer.Exit(1)


@app.command()
def matrix(
    scenario: ScenarioArg,
    out: Annotated[Path, typer.Option("--out", "-o", help="Parquet file to write.")],
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
    quiet: Quiet = False,
) -> None:
    """Compute the sparse travel-time table (area_id, site_id, minutes) within the limit."""
    from polygeo.output_set import check_output_file
    from polygeo.pipeline import load_inputs, stop_on_errors, travel_table
    from polygeo.scenario import load_scenario
    from polygeo.travel import write_table

    _setup_logging(quiet)
    start = time.perf_counter()
    try:
        check_output_file(out)
        scn = load_scenario(scenario)
        inputs = load_inputs(scn)
        stop_on_errors(inputs.report)
        _, _, table = travel_table(scn, inputs.areas, inputs.sites, progress=progress)
        write_table(table, out)
    except PolygeoError as exc:
        raise _fail(exc) from None
    covered = table["area_id"].nunique()
    typer.echo(
        f"wrote {len(table):,} pairs to {out}: {covered:,} of {len(inputs.areas):,} areas reach "
        f"at least one of {len(inputs.sites):,} sites ({time.perf_counter() - start:.1f} s)"
    )


@app.command()
def calibrate(
    scenario: ScenarioArg,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    max_km: Annotated[
        float | None,
        typer.Option(help="Fit only pairs up to this straight-line distance (local trips)."),
    ] = None,
    max_minutes: Annotated[
        float | None, typer.Option(help="Fit only pairs whose known time is at most this.")
    ] = None,
    through_origin: Annotated[
        bool, typer.Option(help="Fit minutes = slope x km, without an intercept.")
    ] = False,
    quiet: Quiet = False,
) -> None:
    """Fit the straight-line model (intercept, minutes per km) to the scenario's known times.

    The scenario's [travel] table must describe the known times (provider = "matrix").
    """
    from polygeo.pipeline import load_inputs, stop_on_errors, travel_provider
    from polygeo.scenario import load_scenario
    from polygeo.travel import calibrate as fit

    _setup_logging(quiet)
    try:
        scn = load_scenario(scenario)
        if scn.travel.get("provider") != "matrix":
            raise InputError(
                f'{scn.source}: calibrate needs known times: set [travel] provider = "matrix" '
                'and matrix = "<file>".'
            )
        inputs = load_inputs(scn)
        stop_on_errors(inputs.report)
        provider, _ = travel_provider(scn, inputs.areas, inputs.sites, progress=False)
        known = provider.travel_times(inputs.areas, inputs.sites, limit=None, progress=False)
        result = fit(
            inputs.areas,
            inputs.sites,
            known,
            max_km=max_km,
            max_minutes=max_minutes,
            through_origin=through_origin,
        )
    except PolygeoError as exc:
        raise _fail(exc) from None
    typer.echo(json.dumps(result.as_dict(), indent=2) if as_json else result.format_text())


@app.command()
def run(
    scenario: ScenarioArg,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Output folder (default [output] dir).")
    ] = None,
    time_limit: Annotated[float | None, typer.Option(help="Solver time limit in seconds.")] = None,
    solver: Annotated[str | None, typer.Option(help="Solver name: highs, cbc, ...")] = None,
    overwrite: Overwrite = False,
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
    quiet: Quiet = False,
) -> None:
    """Optimise a scenario: open hubs, assign every area, write the plan and its check.

    The files are written as one set: into a temporary folder beside the output
    folder, swapped into place when all are written. The previous run's folder is
    kept, renamed with its time stamp, unless --overwrite is given.
    """
    from polygeo.pipeline import run_scenario
    from polygeo.scenario import load_scenario

    _setup_logging(quiet)
    overrides = {
        k: v for k, v in {"time_limit": time_limit, "name": solver}.items() if v is not None
    }
    try:
        result = run_scenario(
            load_scenario(scenario),
            out_dir=out,
            progress=progress,
            overrides=overrides,
            overwrite=overwrite,
        )
    except PolygeoError as exc:
        raise _fail(exc) from None
    _print_result(result)
    if result.violations:
        raise typer.Exit(1)


def _print_result(result) -> None:
    plan = result.plan
    metrics = plan.metrics()
    s = plan.solver
    proven = "proven optimal" if s.get("optimal") else "NOT proven optimal"
    typer.echo(
        f"{metrics['hubs']} hubs cover {metrics['coverage']:.1%} of "
        f"{metrics['population']:,.0f} people; hub population {metrics['hub_population_min']:,.0f}"
        f" to {metrics['hub_population_max']:,.0f}"
    )
    typer.echo(
        f"travel: mean {metrics['mean_minutes']:.1f} min, p95 {metrics['p95_minutes']:.1f}, "
        f"max {metrics['max_minutes']:.1f} (population-weighted); capital "
        f"£{metrics['capital_total']:,.0f}"
    )
    if metrics.get("exceptions"):
        typer.echo(f"exceptions beyond the travel limit: {metrics['exceptions']} areas")
    gap = s.get("gap")
    typer.echo(
        f"solver {s.get('name')}: {s.get('status')} ({proven}), gap "
        f"{'n/a' if gap is None else f'{gap:.2%}'}, build {s.get('build_seconds', 0):.1f} s, "
        f"solve {s.get('solve_seconds', 0):.1f} s"
    )
    if result.violations:
        typer.echo(f"CHECK FAILED: {len(result.violations)} violations", err=True)
        for v in result.violations[:20]:
            typer.echo(f"  - {getattr(v, 'message', v)}", err=True)
    else:
        typer.echo("independent check: every rule holds")
    for role, path in result.files.items():
        typer.echo(f"  {role:12s} {path}")
    if getattr(result, "previous", None) is not None:
        typer.echo(f"the previous run's files were kept in {result.previous}")


@app.command()
def report(
    output_dir: Annotated[
        Path, typer.Argument(help="A folder that `polygeo run` wrote.", show_default=False)
    ],
    map_html: Annotated[bool, typer.Option("--map/--no-map", help="Rebuild map.html too.")] = True,
) -> None:
    """Rebuild report.html (and map.html) from an output folder's files."""
    from polygeo.outputs import rebuild_pages

    try:
        files = rebuild_pages(output_dir, map_html=map_html)
    except PolygeoError as exc:
        raise _fail(exc) from None
    for role, path in files.items():
        typer.echo(f"  {role:12s} {path}")
    if map_html and "map" not in files:
        typer.echo(
            f"map.html not rebuilt: {output_dir} has no catchments.gpkg "
            "(run with [output] geodata = true)",
            err=True,
        )


@app.command()
def demo(
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for the demo inputs and results.")
    ] = Path("polygeo-demo"),
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
    quiet: Quiet = False,
) -> None:
    """Run the whole pipeline offline on the built-in synthetic region "Demoshire"."""
    from polygeo.demo import write_demo
    from polygeo.pipeline import run_scenario
    from polygeo.scenario import load_scenario

    _setup_logging(quiet)
    scenario_path = write_demo(out)
    typer.echo(f"demo region and scenario written to {scenario_path}")
    try:
        scn = load_scenario(scenario_path)
        result = run_scenario(scn, progress=progress, overwrite=True)
    except PolygeoError as exc:
        raise _fail(exc) from None
    report = result.inputs.report if result.inputs else None
    if report is not None:
        typer.echo(report.format_text())
    _print_result(result)
    for role, what in (("map", "the map"), ("report", "the report")):
        if role in result.files:
            typer.echo(f"open {what}: {result.files[role].resolve()}")
    if result.violations:
        raise typer.Exit(1)


@app.command("show-versions")
def show_versions_command() -> None:
    """Print the versions of polygeo and the libraries it uses (for bug reports)."""
    from polygeo import show_versions

    show_versions()


def main() -> None:
    """Entry point of the ``polygeo`` console script: no traceback reaches the user.

    Bad input exits 2 with the message; Ctrl-C exits 130; any other exception is
    a bug: a short message names the file the full traceback was saved to, exit 1.
    """
    import click

    command = typer.main.get_command(app)
    try:
        code = command.main(prog_name="polygeo", standalone_mode=False)
    except (click.exceptions.Abort, KeyboardInterrupt):
        code = _INTERRUPTED
    except click.exceptions.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except PolygeoError as exc:
        sys.exit(_fail(exc).exit_code)
    except Exception as exc:  # the last line of defence: a bug, not bad input
        _ignore_interrupts_from_now_on()
        sys.exit(_internal_error(exc))
    _ignore_interrupts_from_now_on()
    if code == _INTERRUPTED:  # typer turns KeyboardInterrupt into Exit(130)
        typer.echo(
            "interrupted: the output folder holds one complete run's files, the previous "
            "or this one (summary.json names the run)",
            err=True,
        )
    sys.exit(code if isinstance(code, int) else 0)


_INTERRUPTED = 130


def _ignore_interrupts_from_now_on() -> None:
    """The work is done: a Ctrl-C while Python shuts down must not kill it mid-message."""
    import signal

    with contextlib.suppress(ValueError):  # not the main thread
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def _internal_error(exc: BaseException) -> int:
    """Save the traceback to a file, print a short message naming it, return 1."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    text = "".join(traceback.format_exception(exc))
    try:
        fd, name = tempfile.mkstemp(prefix=f"polygeo-error-{stamp}-", suffix=".txt")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(f"polygeo {' '.join(sys.argv[1:])}\n{text}")
        where = f"the full traceback is in {name}"
    except OSError:
        where = "the traceback could not be saved"
    typer.echo(
        f"internal error: {type(exc).__name__}: {exc}\n"
        f"This is a bug in polygeo, not in your input; {where} "
        "(please attach it to a bug report).",
        err=True,
    )
    return 1


if __name__ == "__main__":
    main()
