"""Running a sweep's variants on Dask distributed, sharing inputs, skipping finished ones.

Variants run on a ``dask.distributed`` ``LocalCluster`` (one variant at a time per
worker process, and the solver's threads set so that workers x threads does not exceed
the cores), or on an existing cluster (``scheduler="tcp://host:port"``). Areas and
sites are loaded once per distinct input (``[areas]``, ``[[sites]]``, CRS) and the
travel table is built once per distinct input and ``[travel]`` table, as Dask tasks
whose results the variants share. Each variant writes its own output folder, its
resolved ``scenario.toml`` (so ``polygeo run`` reproduces it) and, last, a marker
``sweep-variant.json`` with the scenario's digest; a rerun skips variants whose marker
matches. A variant that fails is recorded with its message; the others go on.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from polygeo.comparison import figures, write_comparison
from polygeo.errors import InfeasibleError, InputError, PolygeoError, SolverError
from polygeo.sweep import Sweep, Variant, to_toml

log = logging.getLogger("polygeo")

MARKER = "sweep-variant.json"
#: Statuses of a finished variant that a rerun does not repeat (same digest).
FINISHED = ("ok", "check failed", "infeasible")


@dataclass
class SweepResult:
    """What :func:`run_sweep` did: one row per variant (in sweep order) and the files."""

    rows: list[dict[str, Any]]
    files: dict[str, Path] = field(default_factory=dict)
    ran: int = 0
    skipped: int = 0
    interrupted: bool = False

    @property
    def failed(self) -> list[dict[str, Any]]:
        """Rows of variants that did not finish with a checked plan."""
        return [r for r in self.rows if r["status"] != "ok"]


def run_sweep(
    sweep: Sweep,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool = True,
    force: bool = False,
) -> SweepResult:
    """Run every variant not yet finished and write the comparison.

    Parameters
    ----------
    sweep
        From :func:`polygeo.sweep.load_sweep`.
    workers
        Worker processes of the local cluster (default: the cores, at most the
        variants to run). Ignored with ``scheduler``.
    scheduler
        Address of an existing Dask scheduler (``tcp://host:port``); its workers must
        be able to import polygeo and read the input files.
    progress
        A progress bar over variants.
    force
        Run finished variants again.

    Returns
    -------
    SweepResult
        ``interrupted`` is true after Ctrl-C: finished variants are kept, the
        comparison lists the others as ``not run``.
    """
    rows: dict[str, dict[str, Any]] = {}
    todo: list[Variant] = []
    for variant in sweep.variants:
        if variant.problem:
            rows[variant.name] = _row(variant, "invalid", variant.problem)
        elif not force and (done := finished_row(variant)) is not None:
            rows[variant.name] = {**done, "skipped": True}
        else:
            todo.append(variant)
    skipped = sum(1 for r in rows.values() if r.get("skipped"))
    interrupted = False
    if todo:
        interrupted = _run_all(todo, rows, workers, scheduler, progress)
    ordered = [  # a variant that finished as Ctrl-C came has its record on disk
        rows.get(v.name)
        or recorded_row(v, statuses=None)
        or _row(v, "not run", "interrupted before it finished")
        for v in sweep.variants
    ]
    files = write_comparison(ordered, sweep.changed_keys, sweep.out_dir, title=sweep.name)
    ran = sum(1 for v in todo if v.name in rows)
    return SweepResult(ordered, files, ran=ran, skipped=skipped, interrupted=interrupted)


def finished_row(variant: Variant) -> dict[str, Any] | None:
    """The row of a variant finished earlier with the same digest, else ``None``."""
    return recorded_row(variant, statuses=FINISHED)


def recorded_row(variant: Variant, *, statuses: tuple[str, ...] | None) -> dict | None:
    """The row in the variant's marker when its digest matches (and its status is one of
    ``statuses``, unless ``None``), else ``None``."""
    marker = variant.folder / MARKER
    try:
        record = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if record.get("digest") != variant.digest:
        return None
    if statuses is not None and record.get("status") not in statuses:
        return None
    return record.get("row")


def _row(variant: Variant, status: str, message: str = "") -> dict[str, Any]:
    return {"name": variant.name, **variant.changes, "status": status, "message": message}


# -- the cluster ---------------------------------------------------------------------------
def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


@contextlib.contextmanager
def dask_client(
    workers: int | None, scheduler: str | None, variants: int
) -> Iterator[tuple[Any, int | None]]:
    """A Dask client and the solver threads each variant may use (``None``: as given).

    A local cluster has ``workers`` single-threaded worker processes (one variant at
    a time each) and gives each variant's solver ``cores // workers`` threads.
    """
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise InputError(
            'polygeo sweep needs Dask distributed: pip install "polygeo[parallel]"'
        ) from exc
    if scheduler:
        try:
            client = Client(scheduler, timeout="20s")
        except OSError as exc:
            raise InputError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from exc
        with client:
            yield client, None
        return
    cores = _cores()
    n = max(1, workers or min(cores, variants))
    cluster = LocalCluster(
        n_workers=n,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=logging.ERROR,
    )
    try:
        with Client(cluster) as client:
            yield client, max(1, cores // n)
    finally:
        cluster.close()


def _run_all(
    todo: list[Variant],
    rows: dict[str, dict[str, Any]],
    workers: int | None,
    scheduler: str | None,
    progress: bool,
) -> bool:
    """Run the variants; return ``True`` when Ctrl-C stopped them."""
    from dask.distributed import as_completed
    from tqdm.auto import tqdm

    with dask_client(workers, scheduler, len(todo)) as (client, threads):
        futures = _submit(client, todo, threads)
        names = {f.key: v for f, v in futures.items()}
        bar = tqdm(total=len(futures), desc="variants", unit="variant", disable=not progress)
        try:
            for future in as_completed(list(futures)):
                variant = names[future.key]
                rows[variant.name] = _collect(future, variant)
                bar.update()
                bar.set_postfix_str(f"{variant.name}: {rows[variant.name]['status']}")
        except KeyboardInterrupt:
            client.cancel(list(futures))
            return True
        finally:
            bar.close()
    return False


def _collect(future: Any, variant: Variant) -> dict[str, Any]:
    try:
        return future.result()
    except Exception as exc:  # a shared input or travel table failed for this variant
        status = "input error" if isinstance(exc, InputError) else "error"
        return _row(variant, status, str(exc) or type(exc).__name__)


def _key(*parts: Any) -> str:
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _submit(client: Any, todo: list[Variant], threads: int | None) -> dict[Any, Variant]:
    """One task per distinct input, per distinct travel table, and per variant."""
    inputs: dict[str, Any] = {}
    tables: dict[str, Any] = {}
    futures = {}
    for variant in todo:
        scn = variant.scenario
        input_key = _key(scn.areas, scn.sites, scn.crs, scn.assume_crs, scn.sites_within_m)
        if input_key not in inputs:
            inputs[input_key] = client.submit(
                load_shared_inputs, scn, key=f"polygeo-inputs-{input_key}", pure=False
            )
        travel_key = _key(input_key, scn.travel)
        if travel_key not in tables:
            tables[travel_key] = client.submit(
                build_shared_travel,
                scn,
                inputs[input_key],
                key=f"polygeo-travel-{travel_key}",
                pure=False,
            )
        data = variant.data
        if threads is not None and "threads" not in scn.solver:
            data = {**data, "solver": {**data.get("solver", {}), "threads": threads}}
        future = client.submit(
            run_variant,
            variant.name,
            variant.changes,
            data,
            str(variant.scenario.base_dir),
            variant.digest,
            inputs[input_key],
            tables[travel_key],
            key=f"polygeo-variant-{variant.digest[:12]}-{len(futures)}",
            pure=False,
        )
        futures[future] = variant
    return futures


# -- tasks (run on the workers) ---------------------------------------------------------------
def load_shared_inputs(scenario: Any) -> Any:
    """Load and validate a scenario's areas and sites (errors stop its variants)."""
    from polygeo.pipeline import load_inputs, stop_on_errors

    inputs = load_inputs(scenario)
    stop_on_errors(inputs.report)
    return inputs


def build_shared_travel(scenario: Any, inputs: Any) -> tuple[Any, Any, Any]:
    """The ``(provider, limit, table)`` of a scenario's ``[travel]`` table."""
    from polygeo.pipeline import travel_table

    return travel_table(scenario, inputs.areas, inputs.sites, progress=False)


def run_variant(
    name: str,
    changes: dict[str, Any],
    data: dict[str, Any],
    base_dir: str,
    digest: str,
    inputs: Any,
    travel: tuple[Any, Any, Any],
) -> dict[str, Any]:
    """Run one variant into its folder and return its comparison row (never raises)."""
    from polygeo.outputs import write_json
    from polygeo.pipeline import run_scenario
    from polygeo.scenario import Scenario

    scenario = Scenario.from_dict(data, base_dir=Path(base_dir), source=f"variant {name}")
    folder = scenario.output_dir()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "scenario.toml").write_text(to_toml(data), encoding="utf-8")
    start = time.perf_counter()
    row: dict[str, Any] = {"name": name, **changes}
    try:
        result = run_scenario(scenario, progress=False, inputs=inputs, travel=travel)
    except PolygeoError as exc:
        row.update(status=_status(exc), message=str(exc))
    except Exception as exc:
        row.update(status="error", message=f"{type(exc).__name__}: {exc}")
    else:
        summary = json.loads(Path(result.files["summary"]).read_text(encoding="utf-8"))
        valid = not result.violations
        message = "" if valid else "; ".join(str(v) for v in result.violations[:5])
        row.update(status="ok" if valid else "check failed", message=message, **figures(summary))
    row["seconds"] = round(time.perf_counter() - start, 2)
    record = {"digest": digest, "status": row["status"], "row": row, "scenario": asdict(scenario)}
    write_json(folder / MARKER, json.loads(json.dumps(record, default=str)))
    return row


def _status(exc: PolygeoError) -> str:
    if isinstance(exc, InfeasibleError):
        return "infeasible"
    if isinstance(exc, SolverError):
        return "solver error"
    return "input error"
