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

Relative paths resolve against the scenario file's folder. Unknown keys, wrong
types and missing files raise :class:`~polygeo.errors.InputError` naming the
key and the file.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from polygeo.errors import InputError

# key -> (accepted types, is a path to an existing file)
_Spec = dict[str, tuple[tuple[type, ...], bool]]

_TOP: _Spec = {
    "name": ((str,), False),
    "description": ((str,), False),
    "crs": ((str, int), False),
    "assume_crs": ((str, int), False),
    "sites_within_m": ((int, float), False),
}
_TABLES = (
    "areas",
    "sites",
    "travel",
    "rules",
    "solver",
    "options",
    "new_build",
    "timetable",
    "evaluation",
    "output",
)

_AREAS: _Spec = {
    "boundaries": ((str,), True),
    "points": ((str,), True),
    "population": ((str,), True),
    "id": ((str,), False),
    "population_id": ((str,), False),
    "population_column": ((str,), False),
    "group": ((str,), False),
    "include_groups": ((list,), False),
    "keep": ((list,), False),
    "x": ((str,), False),
    "y": ((str,), False),
    "origin_x": ((str,), False),
    "origin_y": ((str,), False),
    "sheet": ((str, int), False),
    "layer": ((str, int), False),
    "area_pattern": ((str,), False),
    "assume_crs": ((str, int), False),
}
_SITE: _Spec = {
    "path": ((str,), True),
    "kind": ((str,), False),
    "id": ((str,), False),
    "name": ((str,), False),
    "x": ((str,), False),
    "y": ((str,), False),
    "sheet": ((str, int), False),
    "layer": ((str, int), False),
    "assume_crs": ((str, int), False),
}
_OPTIONS_FILE: _Spec = {
    "path": ((str,), True),
    "sheet": ((str, int), False),
}
_NEW_BUILD: _Spec = {
    "grid_m": ((int, float), False),
    "at": ((str,), False),
    "option": ((str,), False),
    "capital_cost": ((int, float), False),
    "capacity": ((int, float), False),
    "ready_year": ((int,), False),
    "groups": ((list,), False),
    "areas": ((list,), False),
}
_TIMETABLE: _Spec = {
    "budgets": ((dict,), False),
    "carry_over": ((bool,), False),
}
_EVALUATION: _Spec = {
    "deprivation": ((str,), False),
    "baseline": ((str,), False),
    "reuse_options": ((list,), False),
}
_OUTPUT: _Spec = {
    "dir": ((str,), False),
    "map": ((bool,), False),
    "geodata": ((bool,), False),
}


def _closest(key: str, known: Mapping[str, Any] | tuple[str, ...]) -> str:
    match = difflib.get_close_matches(key, list(known), n=1)
    return f" Did you mean {match[0]!r}?" if match else ""


def check_keys(
    table: Mapping[str, Any], spec: _Spec, *, where: str, source: str, base_dir: Path
) -> dict[str, Any]:
    """Check a TOML table against a spec and resolve its paths.

    Parameters
    ----------
    table
        The table as parsed.
    spec
        Accepted keys: ``key -> (types, is_path)``.
    where
        The table's name for messages, e.g. ``"[areas]"``.
    source
        The scenario file's name for messages.
    base_dir
        Folder that relative paths resolve against.

    Returns
    -------
    dict
        The table with path values replaced by absolute :class:`~pathlib.Path` objects.
    """
    out: dict[str, Any] = {}
    problems = []
    for key, value in table.items():
        if key not in spec:
            problems.append(
                f"unknown key {where} {key}.{_closest(key, tuple(spec))} "
                f"Accepted keys: {', '.join(sorted(spec))}."
            )
            continue
        types, is_path = spec[key]
        if isinstance(value, bool) and bool not in types or not isinstance(value, types):
            names = " or ".join(t.__name__ for t in types)
            problems.append(
                f"{where} {key} must be {names}, not {type(value).__name__} ({value!r})."
            )
            continue
        if is_path:
            path = (base_dir / value).expanduser().resolve()
            if not path.exists():
                problems.append(
                    f"{where} {key} = {value!r}: file not found ({path}). "
                    "Relative paths resolve against the scenario file's folder."
                )
                continue
            value = path
        out[key] = value
    if problems:
        raise InputError(f"{source}:\n  " + "\n  ".join(problems))
    return out


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

    Attributes hold the checked tables; ``travel``, ``rules``, ``solver`` and
    ``options`` are passed to their own modules, which check their keys.
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
        top = {k: v for k, v in data.items() if k not in _TABLES}
        top = check_keys(top, _TOP, where="top-level key", source=source, base_dir=base_dir)
        problems = []
        for name in ("areas", "travel", "rules", "solver", "new_build", "timetable"):
            if name in data and not isinstance(data[name], Mapping):
                problems.append(f"[{name}] must be a table, e.g. [{name}] on its own line.")
        for name in ("evaluation", "output"):
            if name in data and not isinstance(data[name], Mapping):
                problems.append(f"[{name}] must be a table, e.g. [{name}] on its own line.")
        options_table = isinstance(data.get("options"), Mapping)
        for name in ("sites",) if options_table else ("sites", "options"):
            if name in data and not (
                isinstance(data[name], list) and all(isinstance(t, Mapping) for t in data[name])
            ):
                problems.append(f"[[{name}]] must be an array of tables: write [[{name}]] blocks.")
        if "areas" not in data:
            problems.append("missing [areas] table: say where the areas come from.")
        if problems:
            raise InputError(f"{source}:\n  " + "\n  ".join(problems))

        areas = check_keys(data["areas"], _AREAS, where="[areas]", source=source, base_dir=base_dir)
        if ("boundaries" in areas) == ("points" in areas):
            raise InputError(
                f"{source}: [areas] needs exactly one of 'boundaries' (polygons) or 'points' "
                "(a table with x/y columns)."
            )
        if "boundaries" in areas and "population" not in areas:
            raise InputError(
                f'{source}: [areas] boundaries need a population file: add population = "...".'
            )
        sites = [
            check_keys(s, _SITE, where=f"[[sites]] #{n}", source=source, base_dir=base_dir)
            for n, s in enumerate(data.get("sites", []), start=1)
        ]
        for n, site in enumerate(sites, start=1):
            if "path" not in site:
                raise InputError(f'{source}: [[sites]] #{n} has no path = "...".')
        output = check_keys(
            data.get("output", {}), _OUTPUT, where="[output]", source=source, base_dir=base_dir
        )
        options_file: dict[str, Any] = {}
        if options_table:
            options_file = check_keys(
                data["options"], _OPTIONS_FILE, where="[options]", source=source, base_dir=base_dir
            )
            if "path" not in options_file:
                raise InputError(
                    f'{source}: [options] needs path = "options.csv", or write [[options]] blocks.'
                )
        new_build = check_keys(
            data.get("new_build", {}),
            _NEW_BUILD,
            where="[new_build]",
            source=source,
            base_dir=base_dir,
        )
        timetable = check_keys(
            data.get("timetable", {}),
            _TIMETABLE,
            where="[timetable]",
            source=source,
            base_dir=base_dir,
        )
        evaluation = check_keys(
            data.get("evaluation", {}),
            _EVALUATION,
            where="[evaluation]",
            source=source,
            base_dir=base_dir,
        )
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
