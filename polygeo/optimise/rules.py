"""The planning rules, capital options and solver settings, as plain data.

:class:`Rules` backs the scenario file's ``[rules]`` table, :class:`SolverSettings`
its ``[solver]`` table and :func:`options_from_settings` its ``[[options]]``
tables. Their key names are a public contract.
"""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np
import pandas as pd

from polygeo.errors import InputError

#: Objective terms and their units.
OBJECTIVE_TERMS: dict[str, str] = {
    "travel": "population-weighted travel minutes (person-minutes)",
    "cost": "capital cost (currency units)",
    "hubs": "number of open hubs",
}

#: Default penalty, in minutes per person, for an area served beyond its travel limit.
#:
#: Four hours per person: larger than any travel time a planner would accept, so
#: that an exception always costs more than any assignment within the limit, yet
#: small enough (about 1e7 for a 40,000-person exception) to keep the objective
#: well scaled for the solver.
DEFAULT_EXCEPTION_PENALTY = 240.0

OPTION_COLUMNS = ["site_id", "option", "capital_cost", "capacity"]


def _closest(key: str, known: Iterable[str]) -> str:
    match = difflib.get_close_matches(str(key), list(known), n=1)
    return f" Did you mean {match[0]!r}?" if match else ""


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_int(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, numbers.Integral):
        return True
    return isinstance(value, float) and value.is_integer()


def _ids(value: Any, key: str, source: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Iterable) and not isinstance(value, Mapping):
        out = []
        for v in value:
            if not isinstance(v, str | numbers.Integral) or isinstance(v, bool):
                raise InputError(
                    f"{source}: {key} must be a list of site ids (strings), got {v!r} in it."
                )
            out.append(str(v).strip())
        return tuple(dict.fromkeys(out))
    raise InputError(f"{source}: {key} must be a list of site ids, got {value!r}.")


def _hub_bounds(value: Any, source: str) -> int | tuple[int | None, int | None] | None:
    """Normalise ``hubs``: ``None``, an int, ``{"min": a, "max": b}`` or ``(a, b)``."""
    if value is None:
        return None
    if _is_int(value):
        if int(value) < 1:
            raise InputError(f"{source}: hubs must be at least 1, got {value!r}.")
        return int(value)
    if isinstance(value, Mapping):
        unknown = set(value) - {"min", "max"}
        if unknown:
            key = sorted(unknown)[0]
            raise InputError(
                f"{source}: unknown key {key!r} in hubs; use {{min = a, max = b}}."
                + _closest(key, ["min", "max"])
            )
        lo, hi = value.get("min"), value.get("max")
    elif isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2:
        lo, hi = value
    else:
        raise InputError(
            f"{source}: hubs must be a whole number, {{min = a, max = b}} or [min, max]; "
            f"got {value!r}."
        )
    for name, v in (("min", lo), ("max", hi)):
        if v is not None and (not _is_int(v) or int(v) < 0):
            raise InputError(f"{source}: hubs {name} must be a whole number >= 0, got {v!r}.")
    lo = None if lo is None else int(lo)
    hi = None if hi is None else int(hi)
    if lo is not None and hi is not None and lo > hi:
        raise InputError(f"{source}: hubs min ({lo}) is larger than hubs max ({hi}).")
    return (lo, hi)


def _kind_counts(value: Any, source: str) -> dict[str, int]:
    """Normalise ``min_hubs_by_kind``: a table of kind -> whole number >= 0."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InputError(
            f"{source}: min_hubs_by_kind must be a table such as {{hospital = 6}}, got {value!r}."
        )
    out: dict[str, int] = {}
    for kind, n in value.items():
        if not _is_int(n) or int(n) < 0:
            raise InputError(
                f"{source}: min_hubs_by_kind {kind} must be a whole number >= 0, got {n!r}."
            )
        out[str(kind)] = int(n)
    return out


def _kind(value: Any, source: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InputError(
            f'{source}: kind_in_every_group must be a site kind such as "hospital", got {value!r}.'
        )
    return value.strip()


def _objective(value: Any, source: str) -> str | dict[str, float]:
    if isinstance(value, str):
        if value not in OBJECTIVE_TERMS:
            raise InputError(
                f"{source}: unknown objective {value!r}; use one of "
                f"{', '.join(map(repr, OBJECTIVE_TERMS))} or a table of weights."
                + _closest(value, OBJECTIVE_TERMS)
            )
        return value
    if isinstance(value, Mapping):
        weights: dict[str, float] = {}
        for key, w in value.items():
            if key not in OBJECTIVE_TERMS:
                raise InputError(
                    f"{source}: unknown objective term {key!r}; terms are "
                    f"{', '.join(map(repr, OBJECTIVE_TERMS))}." + _closest(key, OBJECTIVE_TERMS)
                )
            if not _is_number(w) or not math.isfinite(w) or w < 0:
                raise InputError(
                    f"{source}: objective weight {key!r} must be a number >= 0, got {w!r}."
                )
            weights[str(key)] = float(w)
        if not any(w > 0 for w in weights.values()):
            raise InputError(f"{source}: objective weights must include one above 0.")
        return weights
    raise InputError(
        f"{source}: objective must be 'travel', 'cost', 'hubs' or a table of weights such as "
        f"{{travel = 1, cost = 0.001}}; got {value!r}."
    )


@dataclass(frozen=True)
class Rules:
    """The rules every plan must obey, and what it optimises.

    Parameters
    ----------
    min_population
        Least population of a hub's catchment (polysystem); 50,000 by default.
    max_population
        Largest population of a catchment, or ``None``.
    required_sites
        Site ids that must open as hubs (existing polyclinics, named hospitals).
    forbidden_sites
        Site ids that must not open.
    budget
        Most total capital cost of the open hubs' options, or ``None``.
    hubs
        Number of hubs: ``None`` (free), a whole number (exact), or bounds given as
        ``{"min": a, "max": b}`` or ``(a, b)`` (either may be ``None``).
    within_group
        Keep every catchment inside one group (the areas' ``group`` column:
        borough, PCT).
    contiguous
        Make every catchment one connected set of areas on the boundary adjacency
        (its hub's home area, the one holding the site, included).
    allow_exceptions
        Serve areas that no viable hub can reach within the travel limit from one of
        their nearest viable sites anyway, flagged ``exception=True`` and penalised,
        so that the plan still covers everyone. Exceptions are exempt from
        contiguity.
    exception_penalty
        Penalty in minutes per person served beyond the limit, added to the travel
        term's weight in the objective (default 240: four hours per person).
    objective
        ``"travel"`` (population-weighted minutes, default), ``"cost"`` (capital),
        ``"hubs"`` (number of hubs), or weights such as
        ``{"travel": 1, "cost": 1e-4}``. Single-term ``"cost"`` and ``"hubs"``
        break ties by travel with a weight too small to trade a hub or one
        currency unit for it.
    min_hubs_by_kind
        At least this many hubs on sites of each kind, e.g. ``{"hospital": 6}``
        (primary-care-led urgent care on hospital sites).
    kind_in_every_group
        A site kind (e.g. ``"hospital"``): every group (the areas' ``group``
        column) has at least one hub on a site of this kind located in it (a
        site's group is the sites' ``group`` column, else the group of the area
        holding it; see :mod:`polygeo.optimise.kinds`).

    Examples
    --------
    >>> Rules(min_population=50_000, hubs={"min": 5, "max": 8}).hub_bounds
    (5, 8)
    """

    min_population: float = 50_000
    max_population: float | None = None
    required_sites: tuple[str, ...] = ()
    forbidden_sites: tuple[str, ...] = ()
    budget: float | None = None
    hubs: int | tuple[int | None, int | None] | None = None
    within_group: bool = False
    contiguous: bool = False
    allow_exceptions: bool = False
    exception_penalty: float = DEFAULT_EXCEPTION_PENALTY
    objective: str | dict[str, float] = "travel"
    min_hubs_by_kind: dict[str, int] = field(default_factory=dict)
    kind_in_every_group: str | None = None

    def __post_init__(self) -> None:
        src = "Rules"
        set_ = object.__setattr__
        for name in ("min_population", "exception_penalty"):
            v = getattr(self, name)
            if not _is_number(v) or not math.isfinite(v) or v < 0:
                raise InputError(f"{src}: {name} must be a number >= 0, got {v!r}.")
            set_(self, name, float(v))
        for name in ("max_population", "budget"):
            v = getattr(self, name)
            if v is not None:
                if not _is_number(v) or not math.isfinite(v) or v < 0:
                    raise InputError(f"{src}: {name} must be a number >= 0 or None, got {v!r}.")
                set_(self, name, float(v))
        for name in ("within_group", "contiguous", "allow_exceptions"):
            v = getattr(self, name)
            if not isinstance(v, bool | np.bool_):
                raise InputError(f"{src}: {name} must be true or false, got {v!r}.")
            set_(self, name, bool(v))
        set_(self, "required_sites", _ids(self.required_sites, "required_sites", src))
        set_(self, "forbidden_sites", _ids(self.forbidden_sites, "forbidden_sites", src))
        set_(self, "hubs", _hub_bounds(self.hubs, src))
        set_(self, "objective", _objective(self.objective, src))
        set_(self, "min_hubs_by_kind", _kind_counts(self.min_hubs_by_kind, src))
        set_(self, "kind_in_every_group", _kind(self.kind_in_every_group, src))

    # -- derived -------------------------------------------------------------------------
    @property
    def hub_bounds(self) -> tuple[int | None, int | None]:
        """``(min, max)`` number of hubs; ``None`` where free."""
        if self.hubs is None:
            return (None, None)
        if isinstance(self.hubs, int):
            return (self.hubs, self.hubs)
        return self.hubs

    def objective_weights(self) -> dict[str, float]:
        """Weight of every term (``travel``, ``cost``, ``hubs``) in the objective."""
        weights = dict.fromkeys(OBJECTIVE_TERMS, 0.0)
        if isinstance(self.objective, str):
            weights[self.objective] = 1.0
        else:
            weights.update(self.objective)
        return weights

    # -- (de)serialisation ----------------------------------------------------------------
    @classmethod
    def keys(cls) -> tuple[str, ...]:
        """The accepted keys of :meth:`from_dict` (the ``[rules]`` table)."""
        return tuple(f.name for f in fields(cls))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None, *, source: str = "[rules]") -> Rules:
        """Rules from a mapping such as the scenario file's ``[rules]`` table.

        Parameters
        ----------
        data
            Keys as in :class:`Rules` (``exception_penalty_minutes`` is accepted for
            ``exception_penalty``).
        source
            Where the mapping came from, for messages.

        Raises
        ------
        InputError
            Naming the unknown or ill-typed key, with the closest known key.
        """
        data = dict(data or {})
        if "exception_penalty_minutes" in data:
            if "exception_penalty" in data:
                raise InputError(
                    f"{source}: give exception_penalty or exception_penalty_minutes, not both."
                )
            data["exception_penalty"] = data.pop("exception_penalty_minutes")
        known = cls.keys()
        for key in data:
            if key not in known:
                raise InputError(
                    f"{source}: unknown key {key!r}; known keys: {', '.join(known)}."
                    + _closest(key, known)
                )
        for key in ("within_group", "contiguous", "allow_exceptions"):
            if key in data and not isinstance(data[key], bool):
                raise InputError(f"{source}: {key} must be true or false, got {data[key]!r}.")
        for key in ("min_population", "max_population", "budget", "exception_penalty"):
            v = data.get(key)
            if v is not None and (not _is_number(v) or not math.isfinite(v) or v < 0):
                raise InputError(f"{source}: {key} must be a number >= 0, got {v!r}.")
        for key in ("required_sites", "forbidden_sites"):
            if key in data:
                data[key] = _ids(data[key], key, source)
        if "hubs" in data:
            data["hubs"] = _hub_bounds(data["hubs"], source)
        if "objective" in data:
            data["objective"] = _objective(data["objective"], source)
        if "min_hubs_by_kind" in data:
            data["min_hubs_by_kind"] = _kind_counts(data["min_hubs_by_kind"], source)
        if "kind_in_every_group" in data:
            data["kind_in_every_group"] = _kind(data["kind_in_every_group"], source)
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict that :meth:`from_dict` reads back."""
        out = asdict(self)
        out["required_sites"] = list(self.required_sites)
        out["forbidden_sites"] = list(self.forbidden_sites)
        if isinstance(self.hubs, tuple):
            out["hubs"] = {"min": self.hubs[0], "max": self.hubs[1]}
        if isinstance(self.objective, dict):
            out["objective"] = dict(self.objective)
        out["min_hubs_by_kind"] = dict(self.min_hubs_by_kind)
        return out


# -- solver settings ----------------------------------------------------------------------
@dataclass(frozen=True)
class SolverSettings:
    """Which MIP solver to use and its limits (the ``[solver]`` table).

    Parameters
    ----------
    name
        ``"highs"`` (default: HiGHS through highspy, the model passed as arrays),
        ``"cbc"`` (CBC bundled with PuLP), or any PuLP solver name such as
        ``"HiGHS_CMD"``, ``"GLPK_CMD"``, ``"COIN_CMD"`` (see ``pulp.listSolvers()``).
    time_limit
        Seconds of wall time for the search after the model is built: start plan,
        large-neighbourhood search and solver, all contiguity rounds; ``None``
        for no limit. HiGHS may overrun it by the time of one LP solve.
    gap
        Relative MIP gap at which to stop (``0.01`` = 1%); ``None`` keeps the
        solver's default (HiGHS and CBC: 1e-4 relative).
    threads
        Threads for the solver, or ``None`` for its default.
    msg
        Show the solver's log.
    extra
        Solver-specific options: HiGHS option names and values for ``"highs"``
        (e.g. ``{"mip_max_nodes": 1}``), keyword arguments of the PuLP solver class
        otherwise.
    """

    name: str = "highs"
    time_limit: float | None = None
    gap: float | None = None
    threads: int | None = None
    msg: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        src = "SolverSettings"
        if not isinstance(self.name, str) or not self.name.strip():
            raise InputError(f"{src}: name must be a solver name such as 'highs' or 'cbc'.")
        if self.time_limit is not None and (not _is_number(self.time_limit) or self.time_limit < 0):
            raise InputError(f"{src}: time_limit must be seconds >= 0, got {self.time_limit!r}.")
        if self.gap is not None and (not _is_number(self.gap) or not 0 <= self.gap < 1):
            raise InputError(
                f"{src}: gap is a relative gap between 0 and 1 (0.01 = 1%), got {self.gap!r}."
            )
        if self.threads is not None and (not _is_int(self.threads) or self.threads < 1):
            raise InputError(f"{src}: threads must be a whole number >= 1, got {self.threads!r}.")
        if not isinstance(self.msg, bool):
            raise InputError(f"{src}: msg must be true or false, got {self.msg!r}.")
        if not isinstance(self.extra, Mapping):
            raise InputError(f"{src}: extra must be a table of solver options.")
        object.__setattr__(self, "extra", dict(self.extra))

    @classmethod
    def keys(cls) -> tuple[str, ...]:
        """The accepted keys of :meth:`from_dict` (the ``[solver]`` table)."""
        return tuple(f.name for f in fields(cls))

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any] | None, *, source: str = "[solver]"
    ) -> SolverSettings:
        """Settings from the ``[solver]`` table: ``name, time_limit, gap, threads, msg, extra``.

        Raises
        ------
        InputError
            Naming the unknown or ill-typed key.
        """
        data = dict(data or {})
        known = cls.keys()
        for key in data:
            if key not in known:
                raise InputError(
                    f"{source}: unknown key {key!r}; known keys: {', '.join(known)}."
                    + _closest(key, known)
                )
        try:
            return cls(**data)
        except InputError as exc:
            raise InputError(str(exc).replace("SolverSettings", source, 1)) from None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


# -- capital options ----------------------------------------------------------------------
def default_options(sites: pd.DataFrame) -> pd.DataFrame:
    """One option ``reuse`` at cost 0 and unlimited capacity for every site."""
    ids = sites["site_id"].astype(str).to_numpy(dtype=object)
    return pd.DataFrame(
        {
            "site_id": pd.Series(ids, dtype=object),
            "option": pd.Series(["reuse"] * len(ids), dtype=object),
            "capital_cost": np.zeros(len(ids)),
            "capacity": np.full(len(ids), np.nan),
        }
    )


_OPTION_KEYS = ("option", "capital_cost", "capacity", "ready_year", "kind", "sites")


def options_from_settings(
    settings: Sequence[Mapping[str, Any]] | None,
    sites: pd.DataFrame,
    *,
    source: str = "[[options]]",
) -> pd.DataFrame:
    """Capital options per site from the scenario file's ``[[options]]`` tables.

    Each entry has ``option`` (a name such as ``reuse``, ``refurbish``,
    ``new build``), ``capital_cost`` (>= 0), optional ``capacity`` (most
    population the option can serve), optional ``ready_year`` (first year the
    option can open, for the timetable), and applies to the sites of one ``kind``,
    to a list of ``sites`` (ids), or to every site when neither is given. A later
    entry for the same site and option replaces an earlier one.

    A site no entry applies to gets no option and cannot open; add
    ``{option = "reuse", capital_cost = 0}`` first to keep every site available.

    Parameters
    ----------
    settings
        The entries; ``None`` or empty gives :func:`default_options`.
    sites
        The sites frame (``site_id``, ``kind``).
    source
        Where the entries came from, for messages.

    Returns
    -------
    pandas.DataFrame
        ``site_id, option, capital_cost, capacity, ready_year`` (capacity NaN =
        unlimited, ready_year NaN = ready now).
    """
    if not settings:
        return default_options(sites)
    site_ids = sites["site_id"].astype(str).to_numpy(dtype=object)
    kinds = (
        sites["kind"].astype(str).to_numpy(dtype=object)
        if "kind" in sites
        else np.full(len(sites), "", dtype=object)
    )
    known_ids = set(site_ids)
    rows: dict[tuple[str, str], tuple[float, float, float]] = {}
    for n, entry in enumerate(settings, start=1):
        where = f"{source} entry {n}"
        if not isinstance(entry, Mapping):
            raise InputError(f"{where}: must be a table, got {entry!r}.")
        for key in entry:
            if key not in _OPTION_KEYS:
                raise InputError(
                    f"{where}: unknown key {key!r}; known keys: {', '.join(_OPTION_KEYS)}."
                    + _closest(key, _OPTION_KEYS)
                )
        if "option" not in entry or not isinstance(entry["option"], str) or not entry["option"]:
            raise InputError(f'{where}: needs option = "reuse" (or another name).')
        cost = entry.get("capital_cost", 0.0)
        if not _is_number(cost) or not math.isfinite(cost) or cost < 0:
            raise InputError(f"{where}: capital_cost must be a number >= 0, got {cost!r}.")
        cap = entry.get("capacity")
        if cap is not None and (not _is_number(cap) or not cap > 0):
            raise InputError(f"{where}: capacity must be a number > 0, got {cap!r}.")
        ready = entry.get("ready_year")
        if ready is not None and not _is_int(ready):
            raise InputError(f"{where}: ready_year must be a whole year, got {ready!r}.")
        if "kind" in entry and "sites" in entry:
            raise InputError(f"{where}: give kind or sites, not both.")
        if "kind" in entry:
            kind = entry["kind"]
            if not isinstance(kind, str):
                raise InputError(f"{where}: kind must be a string, got {kind!r}.")
            chosen = site_ids[kinds == kind]
            if len(chosen) == 0:
                present = sorted(set(kinds))
                raise InputError(
                    f"{where}: no site has kind {kind!r}; kinds present: {', '.join(present)}."
                    + _closest(kind, present)
                )
        elif "sites" in entry:
            chosen = np.array(_ids(entry["sites"], "sites", where), dtype=object)
            unknown = [s for s in chosen if s not in known_ids]
            if unknown:
                raise InputError(
                    f"{where}: unknown site ids {', '.join(unknown[:5])}"
                    + (" ..." if len(unknown) > 5 else "")
                    + "."
                    + _closest(unknown[0], known_ids)
                )
        else:
            chosen = site_ids
        for sid in chosen:
            rows[(str(sid), entry["option"])] = (
                float(cost),
                float("nan") if cap is None else float(cap),
                float("nan") if ready is None else float(ready),
            )
    out = pd.DataFrame(
        {
            "site_id": pd.Series([k[0] for k in rows], dtype=object),
            "option": pd.Series([k[1] for k in rows], dtype=object),
            "capital_cost": np.array([v[0] for v in rows.values()], dtype=float),
            "capacity": np.array([v[1] for v in rows.values()], dtype=float),
            "ready_year": np.array([v[2] for v in rows.values()], dtype=float),
        }
    )
    order = {s: i for i, s in enumerate(site_ids)}
    out["_o"] = out["site_id"].map(order)
    return out.sort_values(["_o"], kind="stable").drop(columns="_o").reset_index(drop=True)


def check_options(options: pd.DataFrame | None, sites: pd.DataFrame) -> pd.DataFrame:
    """Validate an options frame against the sites; ``None`` gives the default.

    Raises
    ------
    InputError
        Missing columns, unknown site ids, duplicate (site, option) pairs, negative
        costs or non-positive capacities.
    """
    if options is None:
        return default_options(sites)
    missing = [c for c in ("site_id", "option", "capital_cost") if c not in options]
    if missing:
        raise InputError(
            f"capital options need columns {', '.join(OPTION_COLUMNS)}; missing "
            f"{', '.join(missing)}."
        )
    out = pd.DataFrame(
        {
            "site_id": options["site_id"].astype(str).to_numpy(dtype=object),
            "option": options["option"].astype(str).to_numpy(dtype=object),
            "capital_cost": pd.to_numeric(options["capital_cost"], errors="coerce").to_numpy(
                dtype=float
            ),
            "capacity": (
                pd.to_numeric(options["capacity"], errors="coerce").to_numpy(dtype=float)
                if "capacity" in options
                else np.full(len(options), np.nan)
            ),
        }
    )
    known = set(sites["site_id"].astype(str))
    unknown = sorted(set(out["site_id"]) - known)
    if unknown:
        raise InputError(
            f"capital options name unknown site ids: {', '.join(unknown[:5])}"
            + (" ..." if len(unknown) > 5 else "")
            + "."
        )
    dup = out.duplicated(["site_id", "option"])
    if dup.any():
        first = out[dup].iloc[0]
        raise InputError(
            f"capital options list site {first['site_id']!r} option {first['option']!r} twice."
        )
    bad = ~np.isfinite(out["capital_cost"].to_numpy()) | (out["capital_cost"].to_numpy() < 0)
    if bad.any():
        first = out[bad].iloc[0]
        raise InputError(
            f"capital options: capital_cost of site {first['site_id']!r} option "
            f"{first['option']!r} must be a number >= 0."
        )
    cap = out["capacity"].to_numpy()
    if (cap <= 0).any():
        first = out[cap <= 0].iloc[0]
        raise InputError(
            f"capital options: capacity of site {first['site_id']!r} option "
            f"{first['option']!r} must be > 0 (NaN = unlimited)."
        )
    return out
