"""Sweep files: variants of one base scenario, each checked before any runs.

.. code-block:: toml

    base = "london.toml"

    [grid]                                   # every combination is a variant
    "rules.min_population" = [40000, 50000, 60000]
    "travel.limit_minutes" = [15, 20, 30]

    [grid.options]                           # a table of named alternatives
    reuse = [{option = "reuse", capital_cost = 0}]
    refurbish = [{option = "reuse", capital_cost = 0},
                 {option = "refurbish", capital_cost = 2e6, capacity = 120000}]

    [[variant]]                              # and / or named variants
    name = "within-boroughs"
    "rules.within_group" = true

    [set]                                    # applied to every variant
    "solver.time_limit" = 60
    "output.map" = false

    [output]
    dir = "sweeps/london"

Dotted keys name a scenario table and key (``"travel.limit_minutes"``) or a whole
top-level key or table (``"options"``). Running the variants is
:mod:`polygeo.sweep_run`; the comparison is :mod:`polygeo.comparison`.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from polygeo.errors import InputError, PolygeoError
from polygeo.schema import (
    SWEEP,
    Problem,
    all_dotted_names,
    did_you_mean,
    dotted_key,
    find_problems,
    raise_problems,
)


@dataclass
class Variant:
    """One variant of a sweep.

    Attributes
    ----------
    name
        Its name (also its output folder's name).
    changes
        ``dotted key -> label`` of what differs from the base (labels are the values,
        or the names of named alternatives).
    data
        The whole scenario as a parsed TOML file, with the changes applied and the
        output folder set.
    scenario
        The checked :class:`~polygeo.scenario.Scenario`, or ``None`` when ``problem``.
    problem
        Why the variant cannot run (its scenario's check), or ``None``.
    digest
        Hash of the resolved scenario and polygeo's version: a finished variant with
        the same digest is not run again.
    """

    name: str
    changes: dict[str, Any]
    data: dict[str, Any]
    folder: Path
    scenario: Any = None
    problem: str | None = None
    digest: str = ""


@dataclass
class Sweep:
    """A parsed sweep file: its variants, in order, and the output folder."""

    source: str
    base: Path
    name: str
    out_dir: Path
    variants: list[Variant] = field(default_factory=list)

    @property
    def changed_keys(self) -> list[str]:
        """The dotted keys any variant changes, in first-seen order."""
        keys: dict[str, None] = {}
        for v in self.variants:
            keys.update(dict.fromkeys(v.changes))
        return list(keys)


def load_sweep(path: str | Path) -> Sweep:
    """Read a sweep file, build every variant and check each one's scenario.

    Parameters
    ----------
    path
        The sweep ``.toml`` file.

    Returns
    -------
    Sweep
        Variants whose scenario has problems carry them in ``problem`` (they are
        recorded as failed, the others still run).

    Raises
    ------
    InputError
        The sweep file itself is wrong (unknown keys, dotted keys that name no
        scenario key, empty grid lists, duplicate names): every problem at once.
    """
    path = Path(path).expanduser()
    data = _read_toml(path, "sweep file")
    base_dir = path.resolve().parent
    problems = find_problems(data, base_dir=base_dir, tables=SWEEP)
    problems += _dotted_problems(data)
    raise_problems(problems, path.name)
    base = (base_dir / data["base"]).resolve()
    base_data = absolute_paths(_read_toml(base, "base scenario"), base.parent)
    out_dir = (base_dir / data["output"]["dir"]).resolve()
    sweep = Sweep(path.name, base, data.get("name", path.stem), out_dir)
    common = dict(data.get("set", {}))
    for name, changes, values in _variant_changes(data):
        folder = out_dir / "variants" / slug(name)
        absolute = _absolute_changes({**common, **values}, base_dir)
        merged = apply_changes(base_data, absolute, folder)
        sweep.variants.append(Variant(name, changes, merged, folder))
    names = [slug(v.name) for v in sweep.variants]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise InputError(f"{path.name}: variant names repeat: {', '.join(duplicates)}.")
    for variant in sweep.variants:
        _check_variant(variant, base)
    return sweep


def _read_toml(path: Path, what: str) -> dict[str, Any]:
    if not path.is_file():
        raise InputError(f"{what} not found: {path}")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path.name} is not valid TOML: {exc}") from exc


def _dotted_problems(data: Mapping[str, Any]) -> list[Problem]:
    problems = []
    known = all_dotted_names()
    grid = data.get("grid", {})
    for key, values in grid.items() if isinstance(grid, Mapping) else ():
        if dotted_key(key) is None:
            problems.append(Problem(f"[grid] {key!r}", _unknown_dotted(key, known)))
        elif isinstance(values, Mapping) and values or isinstance(values, list) and values:
            continue
        else:
            problems.append(
                Problem(
                    f"[grid] {key!r}",
                    f"expected a non-empty list of values, e.g. {key!r} = [1, 2], or a "
                    f"table of named alternatives, got {values!r}.",
                )
            )
    common = data.get("set", {})
    for key in common if isinstance(common, Mapping) else ():
        if dotted_key(key) is None:
            problems.append(Problem(f"[set] {key!r}", _unknown_dotted(key, known)))
    variants = data.get("variant", [])
    for n, variant in enumerate(variants if isinstance(variants, list) else [], start=1):
        for key in variant if isinstance(variant, Mapping) else ():
            if key != "name" and dotted_key(key) is None:
                problems.append(Problem(f"[[variant]] #{n} {key!r}", _unknown_dotted(key, known)))
    if not grid and not variants:
        problems.append(Problem("[grid]", "no variants: add a [grid] or [[variant]] blocks."))
    return problems


def _unknown_dotted(key: str, known: list[str]) -> str:
    return (
        'names no scenario key; write "table.key" such as "rules.min_population".'
        + did_you_mean(key, known)
    )


def _variant_changes(data: Mapping[str, Any]):
    """``(name, labels, values)`` of every grid combination, then every [[variant]]."""
    grid = data.get("grid", {})
    axes = []
    for key, values in grid.items():
        if isinstance(values, Mapping):
            axes.append([(key, str(label), value) for label, value in values.items()])
        else:
            axes.append([(key, _label(value), value) for value in values])
    if axes:
        for combo in itertools.product(*axes):
            name = ",".join(f"{key.rpartition('.')[2]}={label}" for key, label, _ in combo)
            yield (
                name,
                {key: label for key, label, _ in combo},
                {key: value for key, _, value in combo},
            )
    for variant in data.get("variant", []):
        values = {k: v for k, v in variant.items() if k != "name"}
        yield str(variant["name"]), {k: _label(v) for k, v in values.items()}, values


def _label(value: Any) -> Any:
    if isinstance(value, str | int | float | bool):
        return value
    return json.dumps(value, sort_keys=True, default=str)


def slug(name: str) -> str:
    """A folder name for a variant: letters, digits and ``.=,_-`` kept, the rest ``-``."""
    return re.sub(r"[^A-Za-z0-9.=,_-]+", "-", name).strip("-.") or "variant"


def apply_changes(base: Mapping[str, Any], values: Mapping[str, Any], folder: Path) -> dict:
    """The base scenario with ``dotted key -> value`` changes and ``[output] dir = folder``."""
    data = copy.deepcopy(dict(base))
    for dotted, value in values.items():
        table, _, key = dotted.rpartition(".")
        if table:
            section = data.setdefault(table, {})
            if isinstance(section, dict):
                section[key] = copy.deepcopy(value)
        else:
            data[dotted] = copy.deepcopy(value)
    output = data.setdefault("output", {})
    if isinstance(output, dict):
        output["dir"] = str(folder)
    return data


def _absolute_changes(values: Mapping[str, Any], folder: Path) -> dict[str, Any]:
    """Dotted changes with every path made absolute: a sweep file's paths are relative to it."""
    out = {}
    for dotted, value in values.items():
        table, _, key = dotted.rpartition(".")
        if table:
            out[dotted] = absolute_paths({table: {key: value}}, folder)[table][key]
        else:
            out[dotted] = absolute_paths({dotted: value}, folder)[dotted]
    return out


def absolute_paths(data: Mapping[str, Any], base_dir: Path) -> dict[str, Any]:
    """A parsed scenario with every path key (declared ``path`` in the schema) absolute."""
    from polygeo.schema import SCENARIO

    data = copy.deepcopy(dict(data))

    def fix(table: Any, keys) -> None:
        if not isinstance(table, dict):
            return
        for key in keys:
            value = table.get(key.name)
            if "path" in key.types and isinstance(value, str):
                table[key.name] = str((base_dir / value).expanduser().resolve())
            elif key.keys:
                fix(value, key.keys)

    for table in SCENARIO:
        section = data if not table.name else data.get(table.name)
        for item in section if isinstance(section, list) else [section]:
            fix(item, table.keys)
    return data


def _check_variant(variant: Variant, base: Path) -> None:
    from polygeo.scenario import Scenario, check_settings

    try:
        variant.scenario = Scenario.from_dict(
            variant.data, base_dir=base.parent, source=f"{base.name} (variant {variant.name})"
        )
        check_settings(variant.scenario)
    except InputError as exc:
        variant.scenario = None
        variant.problem = str(exc)
        return
    variant.digest = digest(variant.scenario)


#: The scenario fields that decide which areas and sites a run reads.
INPUT_FIELDS = ("areas", "sites", "crs", "assume_crs", "sites_within_m", "new_build")


@dataclass
class InputSet:
    """One distinct set of areas and sites, read once for every variant that uses it.

    Attributes
    ----------
    variants
        Names of the variants that read it.
    report
        Its :class:`~polygeo.validate.ValidationReport`, or ``None`` when it could
        not be read.
    error
        Why it could not be read (a missing file, a wrong column), or ``None``.
    """

    variants: list[str]
    report: Any = None
    error: str | None = None

    @property
    def problem(self) -> str | None:
        """Why its variants cannot run: the read error or every validation error."""
        if self.error is not None:
            return self.error
        if self.report is None or self.report.ok:
            return None
        errors = "; ".join(f"{f.code}: {f.message}" for f in self.report.errors)
        return f"its areas and sites have {len(self.report.errors)} error(s): {errors}"


def check_inputs(sweep: Sweep) -> list[InputSet]:
    """Read and validate the areas and sites of every variant that checks, each set once.

    Variants whose scenarios read the same files with the same settings share one
    read. A variant whose inputs fail gets that failure as its ``problem``.

    Parameters
    ----------
    sweep
        A loaded sweep (:func:`load_sweep`).

    Returns
    -------
    list of InputSet
        One per distinct set of inputs, in the order of their first variant.
    """
    from polygeo.pipeline import load_inputs

    groups: dict[str, list[Variant]] = {}
    for variant in sweep.variants:
        if not variant.problem:
            fields = {name: getattr(variant.scenario, name) for name in INPUT_FIELDS}
            key = json.dumps(fields, sort_keys=True, default=str)
            groups.setdefault(key, []).append(variant)
    sets = []
    for members in groups.values():
        found = InputSet([v.name for v in members])
        try:
            found.report = load_inputs(members[0].scenario).report
        except PolygeoError as exc:
            found.error = str(exc)
        for variant in members:
            variant.problem = found.problem
        sets.append(found)
    return sets


def digest(scenario: Any) -> str:
    """Hash of a resolved scenario (absolute paths, every table) and polygeo's version.

    The output folder and the scenario's name are left out: they say where results go,
    not what they are.
    """
    from polygeo import __version__

    resolved = asdict(scenario)
    for key in ("source", "name", "output"):
        resolved.pop(key, None)
    text = json.dumps({"polygeo": __version__, "scenario": resolved}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def to_toml(data: Mapping[str, Any]) -> str:
    """A parsed scenario written back as TOML (for each variant's ``scenario.toml``)."""
    lines = [f"{k} = {_toml_value(v)}" for k, v in data.items() if not _is_table(v)]
    for name, value in data.items():
        if isinstance(value, Mapping):
            lines += ["", f"[{name}]"] + [
                f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()
            ]
        elif _is_table(value):
            for item in value:
                lines += ["", f"[[{name}]]"]
                lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in item.items()]
    return "\n".join(lines) + "\n"


def _is_table(value: Any) -> bool:
    return isinstance(value, Mapping) or (
        isinstance(value, list) and bool(value) and all(isinstance(v, Mapping) for v in value)
    )


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str | Path):
        return json.dumps(str(value))
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")
