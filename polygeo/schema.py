"""The one declaration of every table and key of a scenario file (and of a sweep file).

Each key is declared once, with its type, default, allowed values and help text;
:func:`check_scenario` checks a parsed file against it in one pass and returns every
problem at once (key, file, and a did-you-mean for misspellings). The README's key
tables are generated from these declarations (:func:`markdown_key_table`) and a test
keeps them equal.

Why a small schema of our own and not pydantic / msgspec / attrs: the messages are for
planners editing a TOML file. msgspec stops at the first error; pydantic reports every
error but in its own words (``Extra inputs are not permitted [type=extra_forbidden]``,
a link to its website) with no did-you-mean and no file name, and rewriting each of its
error types costs as much code as the checks themselves; none of them knows that
``roads`` belongs to ``provider = "network"``. The declarations below are plain data
and the checker is about 150 lines.

Adding a key
------------
Add one :class:`Key` to the table's ``keys`` in :data:`SCENARIO` (or a new
:class:`Table`), then regenerate the README tables with
``python -m polygeo.schema --update-readme README.md`` (the test
``test_readme_tables_match_schema`` fails until you do). Keys of ``[rules]`` and
``[solver]`` must also be fields of :class:`polygeo.optimise.Rules` /
``SolverSettings`` (a test compares them, defaults included).
"""

from __future__ import annotations

import difflib
import json
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from polygeo.errors import InputError

# -- declarations ------------------------------------------------------------------------

#: Type names a key may declare, and what they accept. ``bool`` is never a number.
TYPES: dict[str, Any] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, numbers.Integral) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, numbers.Real) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "table": lambda v: isinstance(v, Mapping),
    "list": lambda v: isinstance(v, list | tuple),
    "path": lambda v: isinstance(v, str),
}


@dataclass(frozen=True)
class Key:
    """One key of a table.

    Parameters
    ----------
    name
        The key as written in the file.
    types
        Accepted type names (see :data:`TYPES`), e.g. ``("number",)``.
    default
        Used when the key is absent (``None``: no default / optional).
    help
        One line for the README and for messages.
    choices
        Allowed values (strings), when the set is closed.
    minimum
        Smallest allowed value for numbers (inclusive unless ``above`` is true).
    above
        The value must be strictly above ``minimum``.
    required
        The key must be given.
    when
        ``(key, value)``: the key applies only when that key of the same table has that
        value (``("provider", "network")``).
    keys
        For a table with fixed keys: its keys (checked like a table's).
    values
        For an open table (any keys): the type name of its values.
    example
        How to write it, shown in messages (``limit_minutes = 20``).
    """

    name: str
    types: tuple[str, ...]
    default: Any = None
    help: str = ""
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    above: bool = False
    required: bool = False
    when: tuple[str, str] | None = None
    keys: tuple[Key, ...] = ()
    values: str | None = None
    example: str = ""


@dataclass(frozen=True)
class Table:
    """A table of a file (``""``: the top level); ``array`` for ``[[name]]`` tables.

    ``extra_keys``: keys beyond ``keys`` are allowed (a sweep's dotted keys, checked
    against the scenario schema separately). ``single``: the keys of the other way to
    write an array table, as one plain table (``[options] path = "options.csv"``).
    """

    name: str
    keys: tuple[Key, ...]
    help: str = ""
    array: bool = False
    required: bool = False
    extra_keys: bool = False
    single: tuple[Key, ...] = ()
    by_name: dict[str, Key] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {k.name: k for k in self.keys})

    @property
    def title(self) -> str:
        """``[name]``, ``[[name]]`` or ``top level``."""
        if not self.name:
            return "top level"
        return f"[[{self.name}]]" if self.array else f"[{self.name}]"


def _k(name: str, types: str, help: str = "", default: Any = None, **kw: Any) -> Key:
    return Key(name, tuple(types.split("|")), default=default, help=help, **kw)


_LOOKUP = (
    _k("path", "path", "the lookup file", required=True),
    _k("key", "string", "column holding the matrix's code", required=True),
    _k("id", "string", "column holding the area or site id", required=True),
)
_NETWORK = ("provider", "network")
_LINE = ("provider", "straight_line")
_MATRIX = ("provider", "matrix")

TOP = Table(
    "",
    (
        _k("name", "string", "a title for outputs and reports"),
        _k("description", "string", "free text"),
        _k("crs", "string|integer", "working metric CRS", default="EPSG:27700"),
        _k("assume_crs", "string|integer", "CRS of inputs that declare none"),
        _k(
            "sites_within_m",
            "number",
            "keep sites within this distance of the areas",
            1000,
            minimum=0,
        ),
    ),
)
AREAS = Table(
    "areas",
    (
        _k("boundaries", "path", "polygons (shapefile, GeoPackage, GeoJSON)"),
        _k("points", "path", "a table of area points with x/y columns (instead of boundaries)"),
        _k("population", "path", "population per area (CSV / Excel)"),
        _k("id", "string", "the area code column"),
        _k("population_id", "string", "the code column of the population file (default id)"),
        _k("population_column", "string", "the population column"),
        _k("group", "string", "column of groups (borough, PCT)"),
        _k("include_groups", "list", "keep only these groups"),
        _k("keep", "list", "extra columns to keep"),
        _k("x", "string", "x column of a point table"),
        _k("y", "string", "y column of a point table"),
        _k("origin_x", "string", "population-weighted centroid x column"),
        _k("origin_y", "string", "population-weighted centroid y column"),
        _k("sheet", "string|integer", "Excel sheet"),
        _k("layer", "string|integer", "GeoPackage layer"),
        _k("area_pattern", "string", "regular expression the area codes match"),
        _k("assume_crs", "string|integer", "CRS of this file when it declares none"),
    ),
    help="where the areas and their population come from",
    required=True,
)
SITES = Table(
    "sites",
    (
        _k("path", "path", "a file of candidate sites", required=True),
        _k("kind", "string", "the kind of every site in the file (gp, hospital, clinic)"),
        _k("id", "string", "the site id column"),
        _k("name", "string", "the site name column"),
        _k("x", "string", "x / longitude column"),
        _k("y", "string", "y / latitude column"),
        _k("sheet", "string|integer", "Excel sheet"),
        _k("layer", "string|integer", "GeoPackage layer"),
        _k("assume_crs", "string|integer", "CRS of this file when it declares none"),
    ),
    help="candidate hub sites, one block per file",
    array=True,
)
TRAVEL = Table(
    "travel",
    (
        _k(
            "provider",
            "string",
            "how travel times are made",
            "straight_line",
            choices=("straight_line", "network", "matrix"),
        ),
        _k(
            "limit_minutes",
            "number",
            "the longest acceptable trip",
            required=True,
            minimum=0,
            above=True,
            example="limit_minutes = 20",
        ),
        _k(
            "limit_by_kind",
            "table",
            "limits by site kind",
            values="number",
            example="limit_by_kind = {hospital = 25}",
        ),
        _k(
            "limit_by_area",
            "table",
            "limits by an area column",
            keys=(
                _k("column", "string", "the areas' column", required=True),
                _k("values", "table", "column value -> minutes", required=True, values="number"),
            ),
            example='limit_by_area = {column = "imd_decile", values = {"1" = 15}}',
        ),
        _k(
            "minutes_per_km",
            "number",
            "straight line: minutes per km",
            when=_LINE,
            minimum=0,
            above=True,
        ),
        _k(
            "intercept_minutes",
            "number",
            "straight line: minutes added to every trip",
            0,
            when=_LINE,
            minimum=0,
        ),
        _k(
            "speed_kmh",
            "number",
            "straight line: speed (with circuity)",
            when=_LINE,
            minimum=0,
            above=True,
        ),
        _k(
            "circuity",
            "number",
            "straight line: road / straight distance ratio",
            1.0,
            when=_LINE,
            minimum=0,
            above=True,
        ),
        _k("roads", "path", "network: road lines file", when=_NETWORK),
        _k("graphml", "path", "network: OSMnx GraphML file", when=_NETWORK),
        _k(
            "road_speed_kmh",
            "number",
            "network: road speed",
            30.0,
            when=_NETWORK,
            minimum=0,
            above=True,
        ),
        _k("speed_column", "string", "network: column of road speeds", when=_NETWORK),
        _k(
            "access_speed_kmh",
            "number",
            "network: speed off the network",
            15.0,
            when=_NETWORK,
            minimum=0,
            above=True,
        ),
        _k(
            "snap_to_largest",
            "boolean",
            "network: snap to the largest component",
            False,
            when=_NETWORK,
        ),
        _k(
            "direct_access",
            "boolean",
            "network: allow a direct trip off-network",
            True,
            when=_NETWORK,
        ),
        _k(
            "join_tolerance_m",
            "number",
            "network: join line ends this close",
            1.0,
            when=_NETWORK,
            minimum=0,
        ),
        _k("matrix", "path", "matrix: the travel-time file", when=_MATRIX),
        _k(
            "layout",
            "string",
            "matrix: table layout",
            "auto",
            when=_MATRIX,
            choices=("auto", "long", "wide"),
        ),
        _k("origin_column", "string", "matrix: origin column", when=_MATRIX),
        _k("destination_column", "string", "matrix: destination column", when=_MATRIX),
        _k("minutes_column", "string", "matrix: minutes column", when=_MATRIX),
        _k("origin_lookup", "table", "matrix: origin code lookup", when=_MATRIX, keys=_LOOKUP),
        _k(
            "destination_lookup",
            "table",
            "matrix: destination code lookup",
            when=_MATRIX,
            keys=_LOOKUP,
        ),
        _k("sep", "string", "matrix: CSV separator", when=_MATRIX),
        _k("member", "string", "matrix: the CSV inside a zip", when=_MATRIX),
    ),
    help="travel times and limits",
)
RULES = Table(
    "rules",
    (
        _k("min_population", "number", "least population of a polysystem", 50_000, minimum=0),
        _k("max_population", "number", "most population of a polysystem", minimum=0),
        _k("required_sites", "list|string", "site ids that must open", []),
        _k("forbidden_sites", "list|string", "site ids that must not open", []),
        _k("budget", "number", "most total capital cost", minimum=0),
        _k(
            "hubs",
            "integer|table|list",
            "number of hubs, or {min = 5, max = 8}",
            example="hubs = {min = 5, max = 8}",
        ),
        _k("within_group", "boolean", "keep every catchment inside one group", False),
        _k("contiguous", "boolean", "make every catchment connected", False),
        _k("allow_exceptions", "boolean", "serve unreachable areas anyway, flagged", False),
        _k(
            "exception_penalty",
            "number",
            "minutes per person served beyond the limit",
            240.0,
            minimum=0,
        ),
        _k("exception_penalty_minutes", "number", "the same as exception_penalty", minimum=0),
        _k(
            "objective",
            "string|table",
            "travel, cost, hubs or {travel = 1, cost = 1e-4}",
            "travel",
            example='objective = "travel"',
        ),
        _k(
            "min_hubs_by_kind",
            "table",
            "at least N hubs on sites of a kind",
            {},
            values="integer",
            example="min_hubs_by_kind = {hospital = 6}",
        ),
        _k(
            "kind_in_every_group",
            "string",
            "every group has a polysystem whose hub is on a site of this kind",
            example='kind_in_every_group = "hospital"',
        ),
    ),
    help="the planning rules",
)
SOLVER = Table(
    "solver",
    (
        _k("name", "string", "highs, cbc or a PuLP solver name", "highs"),
        _k("time_limit", "number", "seconds for the search", minimum=0),
        _k("gap", "number", "relative MIP gap to stop at (0.01 = 1%)", minimum=0),
        _k(
            "threads",
            "integer",
            "solver threads; above 1, also worker processes for parts and neighbourhoods",
            minimum=1,
        ),
        _k("msg", "boolean", "show the solver's log", False),
        _k("extra", "table", "solver-specific options"),
    ),
    help="which MIP solver and its limits",
)
OPTIONS = Table(
    "options",
    (
        _k(
            "option",
            "string",
            "reuse / refurbish / new build",
            required=True,
            example='option = "reuse"',
        ),
        _k("capital_cost", "number", "capital cost of the option", 0, minimum=0),
        _k("capacity", "number", "most population the option serves", minimum=0, above=True),
        _k("ready_year", "integer", "first year the option can open (empty: ready now)"),
        _k("kind", "string", "applies to sites of this kind"),
        _k("sites", "list|string", "applies to these site ids"),
    ),
    help="capital options (every site when neither kind nor sites is given)",
    array=True,
    single=(
        _k(
            "path",
            "path",
            "an options table: option, capital_cost, site_id and/or kind [, capacity, ready_year]",
            required=True,
            example='path = "options.csv"',
        ),
        _k("sheet", "string|integer", "Excel sheet of the options table"),
    ),
)
NEW_BUILD = Table(
    "new_build",
    (
        _k(
            "grid_m",
            "number",
            "candidates on a grid of this spacing (metres)",
            minimum=0,
            above=True,
        ),
        _k("at", "string", "candidates at these points", choices=("area_centroids",)),
        _k(
            "capital_cost",
            "number",
            "capital cost of one new hub",
            required=True,
            minimum=0,
            example="capital_cost = 12e6",
        ),
        _k("capacity", "number", "most population a new hub serves", minimum=0, above=True),
        _k("ready_year", "integer", "first year a new hub can open"),
        _k("option", "string", "the option's name", "new build"),
        _k("groups", "list", "place candidates only in these groups"),
        _k("areas", "list", "place candidates only in these areas"),
    ),
    help="generated new-build candidate sites (kind new)",
)
TIMETABLE = Table(
    "timetable",
    (
        _k(
            "budgets",
            "table",
            "capital budget per year",
            required=True,
            values="number",
            example="budgets = {2009 = 40e6, 2010 = 60e6}",
        ),
        _k("carry_over", "boolean", "unspent budget carries over to the next year", False),
    ),
    help="phase the hub openings under annual budgets",
)
EVALUATION = Table(
    "evaluation",
    (
        _k("deprivation", "string", "areas column of deprivation deciles (1 = most deprived)"),
        _k("baseline", "string", 'today\'s access: "nearest_gp" or a CSV of current assignments'),
        _k("reuse_options", "list", "option names that reuse existing estate", ["reuse"]),
    ),
    help="access, value for money and inequality figures",
)
OUTPUT = Table(
    "output",
    (
        _k("dir", "string", "output folder", "<scenario>-out"),
        _k("map", "boolean", "write map.html", True),
        _k("report", "boolean", "write report.html", True),
        _k("geodata", "boolean", "write catchments.gpkg", True),
        _k("geoparquet", "boolean", "also write the layers as GeoParquet", False),
    ),
    help="where results go",
)

#: The scenario file: its top-level keys and tables, in README order.
SCENARIO: tuple[Table, ...] = (
    TOP,
    AREAS,
    SITES,
    TRAVEL,
    RULES,
    SOLVER,
    OPTIONS,
    NEW_BUILD,
    TIMETABLE,
    EVALUATION,
    OUTPUT,
)

#: The sweep file (``polygeo sweep``): a base scenario and the variants.
SWEEP: tuple[Table, ...] = (
    Table(
        "",
        (
            _k("base", "path", "the base scenario file", required=True),
            _k("name", "string", "a title for the comparison"),
        ),
    ),
    Table(
        "grid",
        (),
        help='"table.key" = [values] or a table of named values: every combination is a variant',
    ),
    Table("set", (), help='"table.key" = value: applied to every variant (not compared)'),
    Table(
        "variant",
        (_k("name", "string", "the variant's name (its output folder)", required=True),),
        help='a named variant: name plus "table.key" = value lines',
        array=True,
        extra_keys=True,
    ),
    Table(
        "output",
        (_k("dir", "string", "the sweep's output folder", required=True),),
        help="where variant folders and the comparison go",
        required=True,
    ),
)


# -- checking ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Problem:
    """One problem in a file: where (``[rules] min_population``) and what (with the fix)."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


def did_you_mean(word: str, choices: Sequence[str]) -> str:
    """`` Did you mean 'x'?`` for the closest choice (difflib, else one containing word)."""
    choices = [str(c) for c in choices]
    match = difflib.get_close_matches(str(word), choices, n=1, cutoff=0.6)
    if not match and len(str(word)) >= 3:
        match = [c for c in choices if str(word).lower() in c.lower()][:1]
    return f" Did you mean {match[0]!r}?" if match else ""


def _type_text(types: tuple[str, ...]) -> str:
    names = {
        "path": "a file path (string)",
        "list": "a list [...]",
        "table": "a table {...}",
        "integer": "a whole number",
        "boolean": "true or false",
    }
    return " or ".join(names.get(t, f"a {t}") for t in types)


def _value_text(value: Any) -> str:
    kind = {str: "string", bool: "boolean", int: "number", float: "number", list: "list"}
    name = kind.get(type(value), "table" if isinstance(value, Mapping) else type(value).__name__)
    return f"{value!r} ({name})"


class _Checker:
    def __init__(self, base_dir: Path | None) -> None:
        self.base_dir = base_dir
        self.problems: list[Problem] = []

    def add(self, where: str, message: str) -> None:
        self.problems.append(Problem(where, message))

    def table(
        self,
        data: Mapping[str, Any],
        keys: Mapping[str, Key],
        where: str,
        *,
        extra_keys: bool = False,
    ) -> None:
        suggested = set()
        for name, value in data.items():
            key = keys.get(str(name))
            label = f"{where}{name}" if where.endswith(".") else f"{where} {name}".strip()
            if key is None and extra_keys:
                continue
            if key is None:
                hint = did_you_mean(str(name), list(keys))
                suggested.add(hint.partition("'")[2].rpartition("'")[0])
                self.add(label, f"unknown key.{hint} Known keys: {', '.join(keys)}.")
                continue
            if key.when is not None:
                other, wanted = key.when
                given = data.get(other, keys[other].default)
                known = not keys[other].choices or given in keys[other].choices
                if given != wanted and known:
                    self.add(
                        label,
                        f'applies to {other} = "{wanted}", not "{given}"; remove it '
                        f"or change {other}.",
                    )
                    continue
            self.value(key, value, label)
        for key in keys.values():
            if key.required and key.name not in data and key.name not in suggested:
                hint = f", e.g. {key.example}" if key.example else ""
                label = f"{where}{key.name}" if where.endswith(".") else f"{where} {key.name}"
                self.add(label.strip(), f"missing: add {key.name} ({key.help}){hint}.")

    def value(self, key: Key, value: Any, label: str) -> None:
        if not any(TYPES[t](value) for t in key.types):
            hint = f" e.g. {key.example}" if key.example else ""
            self.add(label, f"expected {_type_text(key.types)}, got {_value_text(value)}.{hint}")
            return
        if key.choices and value not in key.choices:
            self.add(
                label,
                f"{value!r} is not one of {', '.join(key.choices)}."
                + did_you_mean(str(value), key.choices),
            )
        if key.minimum is not None and TYPES["number"](value):
            low = value <= key.minimum if key.above else value < key.minimum
            if low or not math.isfinite(value):
                op = ">" if key.above else ">="
                self.add(label, f"must be {op} {key.minimum:g}, got {value!r}.")
        if "path" in key.types and isinstance(value, str) and self.base_dir is not None:
            path = (self.base_dir / value).expanduser()
            if not path.exists() and Path(value).expanduser().is_absolute():
                self.add(label, f"file not found: {value}.")
            elif not path.exists():
                self.add(
                    label,
                    f"file not found: {value!r} is {path.resolve()} (relative paths "
                    "resolve against the scenario file's folder).",
                )
        if isinstance(value, Mapping) and key.keys:
            self.table(value, {k.name: k for k in key.keys}, label + ".")
        elif isinstance(value, Mapping) and key.values:
            for name, item in value.items():
                if not TYPES[key.values](item):
                    self.add(
                        f"{label}.{name}",
                        f"expected {_type_text((key.values,))}, got {_value_text(item)}.",
                    )

    def document(self, data: Mapping[str, Any], tables: Sequence[Table]) -> None:
        top = tables[0]
        named = {t.name: t for t in tables[1:]}
        loose = {k: v for k, v in data.items() if k not in named}
        for name in list(loose):
            if name not in top.by_name and isinstance(loose[name], Mapping | list):
                self.add(
                    f"[{name}]",
                    "unknown table."
                    + did_you_mean(name, list(named))
                    + f" Tables: {', '.join(t.title for t in tables[1:])}.",
                )
                del loose[name]
        self.table(loose, top.by_name, "")
        for table in tables[1:]:
            if table.name not in data:
                if table.required:
                    self.add(table.title, f"missing table: add {table.title} ({table.help}).")
                continue
            self.section(table, data[table.name])

    def section(self, table: Table, value: Any) -> None:
        if table.array and table.single and isinstance(value, Mapping):
            self.table(value, {k.name: k for k in table.single}, f"[{table.name}]")
        elif table.array:
            if not (isinstance(value, list) and all(isinstance(t, Mapping) for t in value)):
                alt = f" or one [{table.name}] table" if table.single else ""
                self.add(
                    table.title, f"must be an array of tables: write {table.title} blocks{alt}."
                )
                return
            for n, item in enumerate(value, start=1):
                self.table(item, table.by_name, f"{table.title} #{n}", extra_keys=table.extra_keys)
        elif not isinstance(value, Mapping):
            self.add(table.title, f"must be a table: write {table.title} on its own line.")
        elif table.keys:
            self.table(value, table.by_name, table.title)


def find_problems(
    data: Mapping[str, Any],
    *,
    base_dir: str | Path | None = None,
    tables: Sequence[Table] = SCENARIO,
) -> list[Problem]:
    """Every problem of a parsed file, in file order.

    Parameters
    ----------
    data
        The parsed TOML file.
    base_dir
        Folder relative paths resolve against; ``None`` skips the file-exists checks.
    tables
        The file's declaration: :data:`SCENARIO` or :data:`SWEEP`.
    """
    checker = _Checker(None if base_dir is None else Path(base_dir))
    checker.document(data, tables)
    if tables is SCENARIO and isinstance(data.get("areas"), Mapping):
        areas = data["areas"]
        if ("boundaries" in areas) == ("points" in areas):
            checker.add(
                "[areas]",
                "give exactly one of boundaries (polygons) or points (a table with x/y columns).",
            )
        elif "boundaries" in areas and "population" not in areas:
            checker.add(
                "[areas] population",
                'missing: boundaries need a population file, e.g. population = "population.csv".',
            )
    return checker.problems


def raise_problems(problems: Sequence[Problem], source: str) -> None:
    """Raise one :class:`InputError` listing every problem, or return when there are none.

    One problem reads ``london.toml [rules] min_populaton: unknown key. Did you mean
    'min_population'? ...``; several are listed one per line under ``london.toml: 3 problems:``.
    """
    if not problems:
        return
    if len(problems) == 1:
        raise InputError(f"{source} {problems[0]}".replace(" : ", ": "))
    lines = "\n  ".join(str(p).removeprefix(": ") for p in problems)
    raise InputError(f"{source}: {len(problems)} problems:\n  {lines}")


def check_scenario(data: Mapping[str, Any], *, source: str, base_dir: str | Path | None) -> None:
    """Check a parsed scenario file; raise one :class:`InputError` listing every problem."""
    raise_problems(find_problems(data, base_dir=base_dir), source)


def check_table_keys(data: Mapping[str, Any], table: Table, source: str) -> None:
    """Check one table's keys, types and values (for code given a table without its file).

    Used by :class:`~polygeo.optimise.Rules`, ``SolverSettings``, the travel settings and
    the site loader, so that a table passed from Python gets the scenario file's messages.
    """
    checker = _Checker(None)
    given = {k: v for k, v in data.items() if v is not None}  # None: unset, from Python
    checker.table(given, table.by_name, "")
    raise_problems(checker.problems, source)


def check_key_names(data: Mapping[str, Any], table: Table, source: str) -> None:
    """Check only which keys a table holds (unknown ones, required ones missing).

    For Python callers whose values may be objects a file cannot hold (a ``Path``, a
    DataFrame), such as the site loader's source dicts.
    """
    checker = _Checker(None)
    missing = [k.name for k in table.keys if k.required and k.name not in data]
    for name in data:
        if name not in table.by_name:
            hint = did_you_mean(str(name), list(table.by_name))
            checker.add(str(name), f"unknown key.{hint} Known keys: {', '.join(table.by_name)}.")
    for name in missing:
        checker.add(name, f"missing: add {name} ({table.by_name[name].help}).")
    raise_problems(checker.problems, source)


def table_named(name: str) -> Table:
    """The scenario table called ``name`` (``""`` for the top level)."""
    for table in SCENARIO:
        if table.name == name:
            return table
    raise KeyError(name)


def dotted_key(dotted: str) -> Key | Table | None:
    """The declaration a sweep's ``"table.key"`` names (a whole table such as ``options``)."""
    table_name, _, key_name = dotted.rpartition(".")
    if not table_name:
        top = table_named("")
        if dotted in top.by_name:
            return top.by_name[dotted]
        return next((t for t in SCENARIO[1:] if t.name == dotted), None)
    try:
        table = table_named(table_name)
    except KeyError:
        return None
    return None if table.array else table.by_name.get(key_name)


def all_dotted_names() -> list[str]:
    """Every ``"table.key"`` a sweep may vary."""
    names = list(table_named("").by_name)
    for table in SCENARIO[1:]:
        names.append(table.name)
        if not table.array:
            names += [f"{table.name}.{k}" for k in table.by_name]
    return names


# -- documentation -----------------------------------------------------------------------
def markdown_key_table(tables: Sequence[Table] = SCENARIO) -> str:
    """The README's key table: one row per key (table, key, type, default, meaning)."""
    rows = ["| table | key | type | default | meaning |", "| --- | --- | --- | --- | --- |"]
    for table in tables:
        if not table.keys or table.extra_keys:
            rows.append(f'| `{table.title}` | `"table.key"` | any |  | {table.help} |')
        title = table.title if table.name else "(top)"
        rows += [_key_row(title, key) for key in table.keys]
        rows += [_key_row(f"[{table.name}]", key) for key in table.single]
    return "\n".join(rows)


def _key_row(title: str, key: Key) -> str:
    types = " or ".join(key.types)
    default = "" if key.default is None else f"`{json.dumps(key.default)}`"
    meaning = key.help + (f" ({', '.join(key.choices)})" if key.choices else "")
    if key.required:
        meaning += "; required"
    if key.keys:
        meaning += "; keys " + ", ".join(f"`{k.name}`" for k in key.keys)
    return f"| `{title}` | `{key.name}` | {types} | {default} | {meaning} |"


README_TABLES = {"scenario": SCENARIO, "sweep": SWEEP}


def readme_with_tables(text: str) -> str:
    """``text`` (the README) with each ``<!-- schema:NAME -->`` block regenerated."""
    for name, tables in README_TABLES.items():
        begin, end = f"<!-- schema:{name} -->", f"<!-- /schema:{name} -->"
        if begin in text and end in text:
            head, _, rest = text.partition(begin)
            _, _, tail = rest.partition(end)
            text = f"{head}{begin}\n{markdown_key_table(tables)}\n{end}{tail}"
    return text


if __name__ == "__main__":  # pragma: no cover - a developer's helper
    import sys

    if len(sys.argv) == 3 and sys.argv[1] == "--update-readme":
        readme = Path(sys.argv[2])
        readme.write_text(readme_with_tables(readme.read_text(encoding="utf-8")), encoding="utf-8")
    else:
        print(markdown_key_table())
