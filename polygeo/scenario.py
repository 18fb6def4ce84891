"""Scenario files: one TOML file describes a whole run.

The table and key names are a public contract (documented in the README):

.. code-block:: toml

    name = "North-east London"        # optional
    crs = "EPSG:27700"                 # working metric CRS (default British National Grid)
    sites_within_m = 1000              # keep sites within this distance of the areas

    [areas]
    boundaries = "lsoa.shp"            # or points = "areas.csv" with x/y columns
    population = "population.csv"
    id = "LSOA11CD"
    population_column = "Persons_All-Ages"
    group = "LAD11NM"                  # optional
    include_groups = ["Hackney"]       # optional: keep only these groups

    [[sites]]
    path = "Hospital.csv"
    kind = "hospital"

    [travel]   # see polygeo.travel.travel_from_settings
    [rules]    # see polygeo.optimise.Rules
    [solver]   # see polygeo.optimise.SolverSettings
    [[options]]  # capital options, see polygeo.optimise.options_from_settings
    [output]
    dir = "out"

Relative paths resolve against the scenario file's folder. Every key is declared
once in :mod:`polygeo.schema`; unknown keys, wrong types, values out of range and
missing files raise one :class:`~polygeo.errors.InputError` that lists every
problem with its table, key and fix.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from polygeo.errors import InputError
from polygeo.schema import SCENARIO, check_scenario

_TABLES = tuple(t.name for t in SCENARIO[1:])
_PATH_KEYS = {
    "areas": ("boundaries", "points", "population"),
    "sites": ("path",),
    "options": ("path",),
}


def _resolve_paths(table: Mapping[str, Any], name: str, base_dir: Path) -> dict[str, Any]:
    out = dict(table)
    for key in _PATH_KEYS.get(name, ()):
        if key in out:
            out[key] = (base_dir / out[key]).expanduser().resolve()
    return out


def check_finite(data: Any, *, source: str, where: str = "") -> None:
    """Raise an :class:`InputError` naming every ``nan`` or ``inf`` value in ``data``.

    TOML allows ``nan`` and ``inf``; no polygeo setting means anything by them
    (``time_limit = nan`` is not "no limit": leave the key out for that).
    """
    found = list(_non_finite(data, where))
    if found:
        raise InputError(
            f"{source}: " + "; ".join(f"{key} = {value}" for key, value in found) + ": "
            "not a finite number; write a number (leave the key out for the default)"
        )


def _non_finite(data: Any, where: str) -> Iterator[tuple[str, float]]:
    if isinstance(data, float) and not math.isfinite(data):
        yield where or "value", data
    elif isinstance(data, Mapping):
        for key, value in data.items():
            table = key if isinstance(value, Mapping | list) and not where else None
            name = f"[{table}]" if table else (f"{where} {key}" if where else str(key))
            yield from _non_finite(value, name)
    elif isinstance(data, list):
        for n, value in enumerate(data, start=1):
            name = f"[[{where.strip('[]')}]] #{n}" if isinstance(value, Mapping) else where
            yield from _non_finite(value, name)


def _check_capital_tables(
    new_build: dict[str, Any],
    timetable: dict[str, Any],
    evaluation: dict[str, Any],
    source: str,
    base_dir: Path,
) -> None:
    """Checks across keys of ``[new_build]``, ``[timetable]`` and ``[evaluation]``."""
    if new_build:
        if ("grid_m" in new_build) == ("at" in new_build):
            raise InputError(
                f"{source}: [new_build] needs exactly one of grid_m = 1500 or "
                'at = "area_centroids".'
            )
        if "capital_cost" not in new_build:
            raise InputError(f"{source}: [new_build] needs capital_cost = <cost of one new hub>.")
    if timetable and "budgets" not in timetable:
        raise InputError(
            f"{source}: [timetable] needs budgets = {{2009 = 40e6, 2010 = 60e6}} (year = budget)."
        )
    baseline = evaluation.get("baseline")
    if baseline is not None and baseline != "nearest_gp":
        path = (base_dir / baseline).expanduser().resolve()
        if not path.exists():
            raise InputError(
                f'{source}: [evaluation] baseline = {baseline!r}: use "nearest_gp" or a file of '
                f"current assignments (area_id, site_id); file not found ({path})."
            )
        evaluation["baseline"] = path


@dataclass
class Scenario:
    """A parsed, checked scenario.

    Attributes hold the tables, checked against :data:`polygeo.schema.SCENARIO`;
    ``travel``, ``rules``, ``solver`` and ``options`` are passed to their own modules,
    which check what depends on the data (site kinds, area columns).
    """

    source: str
    base_dir: Path
    name: str = "polygeo scenario"
    crs: str | int | None = None
    assume_crs: str | int | None = None
    sites_within_m: float = 1000.0
    areas: dict[str, Any] = field(default_factory=dict)
    sites: list[dict[str, Any]] = field(default_factory=list)
    travel: dict[str, Any] = field(default_factory=dict)
    rules: dict[str, Any] = field(default_factory=dict)
    solver: dict[str, Any] = field(default_factory=dict)
    options: list[dict[str, Any]] = field(default_factory=list)
    options_file: dict[str, Any] = field(default_factory=dict)
    new_build: dict[str, Any] = field(default_factory=dict)
    timetable: dict[str, Any] = field(default_factory=dict)
    evaluation: dict[str, Any] = field(default_factory=dict)
    output: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, base_dir: Path, source: str) -> Scenario:
        """Check a scenario given as a dict (a parsed TOML file).

        Parameters
        ----------
        data
            The parsed file.
        base_dir
            Folder that relative paths resolve against.
        source
            Name of the file, for messages.
        """
        check_finite(data, source=source)
        check_scenario(data, source=source, base_dir=base_dir)
        top = {k: v for k, v in data.items() if k not in _TABLES}
        areas = _resolve_paths(data["areas"], "areas", base_dir)
        sites = [_resolve_paths(s, "sites", base_dir) for s in data.get("sites", [])]
        output = dict(data.get("output", {}))
        options_table = isinstance(data.get("options"), Mapping)
        options_file = _resolve_paths(data["options"], "options", base_dir) if options_table else {}
        new_build = dict(data.get("new_build", {}))
        timetable = dict(data.get("timetable", {}))
        evaluation = dict(data.get("evaluation", {}))
        _check_capital_tables(new_build, timetable, evaluation, source, base_dir)
        return cls(
            source=source,
            base_dir=base_dir,
            name=top.get("name", Path(source).stem),
            crs=top.get("crs"),
            assume_crs=top.get("assume_crs"),
            sites_within_m=float(top.get("sites_within_m", 1000.0)),
            areas=areas,
            sites=sites,
            travel=dict(data.get("travel", {})),
            rules=dict(data.get("rules", {})),
            solver=dict(data.get("solver", {})),
            options=[] if options_table else [dict(o) for o in data.get("options", [])],
            options_file=options_file,
            new_build=new_build,
            timetable=timetable,
            evaluation=evaluation,
            output=output,
        )

    def output_dir(self, override: str | Path | None = None) -> Path:
        """The output folder: ``override``, else ``[output] dir``, else ``<scenario>-out``."""
        if override is not None:
            return Path(override).expanduser().resolve()
        if "dir" in self.output:
            return (self.base_dir / self.output["dir"]).expanduser().resolve()
        return self.base_dir / f"{Path(self.source).stem}-out"


def check_settings(scenario: Scenario) -> None:
    """Check the values of ``[rules]``, ``[solver]`` and ``[travel]`` beyond their keys.

    :func:`load_scenario` checks every key and type against :mod:`polygeo.schema`; this
    also runs the rules' and solver's own value checks (``hubs = {min = 5, max = 2}``,
    an unknown objective) so that ``polygeo validate`` and a sweep catch them before any
    run. Problems that need the data (site kinds, area columns) are found when loading.

    Raises
    ------
    InputError
        Listing every table's problem.
    """
    from polygeo.optimise import Rules, SolverSettings

    problems = []
    for table, read in (("rules", Rules.from_dict), ("solver", SolverSettings.from_dict)):
        try:
            read(getattr(scenario, table), source=f"[{table}]")
        except InputError as exc:
            problems.append(str(exc))
    if len(problems) == 1:
        raise InputError(f"{scenario.source} {problems[0]}")
    if problems:
        raise InputError(f"{scenario.source}:\n  " + "\n  ".join(problems))


def load_scenario(path: str | Path) -> Scenario:
    """Read and check a TOML scenario file.

    Parameters
    ----------
    path
        The ``.toml`` file.

    Returns
    -------
    Scenario

    Raises
    ------
    InputError
        The file is missing, is not valid TOML, or has unknown keys, wrong types or
        missing files (named in the message).
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise InputError(f"scenario file not found: {path}")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path.name} is not valid TOML: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"{path.name} is not UTF-8 text: {exc}") from exc
    return Scenario.from_dict(data, base_dir=path.resolve().parent, source=path.name)
