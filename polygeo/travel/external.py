"""Travel times from an external matrix (a routing engine's output, a published table).

:meth:`ExternalMatrix.read` reads a matrix in either layout:

* **long**: one row per (origin, destination) pair, with a minutes column
  (e.g. r5py's ``from_id, to_id, travel_time``);
* **wide**: one row per origin, one column per destination (e.g. the SAMueL
  LSOA x stroke-unit matrix).

from CSV, Parquet, or a zip holding one CSV. Origins are areas and
destinations are sites. They are matched by id (``area_id`` / ``site_id``),
or by name through a lookup table (``origin_lookup=("lsoa11-names-codes.csv",
"lsoa", "lsoa_code")``: name column ``lsoa``, id column ``lsoa_code``).
Everything that does not match is reported, on both sides, in
:class:`MatchReport` (logged, and kept as :attr:`ExternalMatrix.last_report`).
"""

from __future__ import annotations

import logging
import os
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from polygeo.errors import InputError
from polygeo.travel._common import area_ids, examples, site_ids
from polygeo.travel.limits import TravelLimit, as_limit
from polygeo.travel.table import make_table

log = logging.getLogger("polygeo")

Layout = Literal["auto", "long", "wide"]
#: A lookup: (file or frame, key column, id column), a mapping key -> id, or a Series.
Lookup = tuple | Mapping | pd.Series

# column names recognised for the long layout, tried in order
_LONG_NAMES = {
    "origin": ("origin", "origin_id", "from_id", "from", "area_id", "area", "o"),
    "destination": ("destination", "destination_id", "to_id", "to", "site_id", "site", "d"),
    "minutes": ("minutes", "travel_time", "time", "duration", "mins", "travel_minutes"),
}


def read_frame(
    path: str | os.PathLike,
    *,
    sep: str | None = None,
    member: str | None = None,
    what: str = "file",
) -> pd.DataFrame:
    """Read a CSV, Parquet, or zip-of-one-CSV file into a DataFrame (strings kept as str).

    Parameters
    ----------
    path
        The file. ``.parquet`` / ``.pq``: Parquet; ``.zip``: the one CSV inside
        (or ``member``); anything else: CSV (compressed ``.gz`` / ``.bz2`` / ``.xz`` too).
    sep
        CSV field separator (default comma; tab for ``.tsv``).
    member
        The CSV inside a zip holding several.
    what
        What the file is, for messages.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{what} {path} not found")
    suffix = path.suffix.lower()
    if sep is None:
        sep = "\t" if suffix == ".tsv" else ","
    try:
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
        if suffix == ".zip":
            with zipfile.ZipFile(path) as z:
                names = [
                    n
                    for n in z.namelist()
                    if not n.endswith("/") and not n.startswith("__MACOSX") and "/." not in "/" + n
                ]
                if member is None:
                    csvs = [n for n in names if n.lower().endswith((".csv", ".txt", ".tsv"))]
                    if len(csvs) != 1:
                        raise InputError(
                            f"{what} {path} holds {len(csvs)} CSV files ({csvs[:10]}); "
                            "name the one to read with member="
                        )
                    member = csvs[0]
                elif member not in names:
                    raise InputError(
                        f"{what} {path} has no member {member!r}; it holds {names[:10]}"
                    )
                with z.open(member) as f:
                    return pd.read_csv(f, sep=sep, low_memory=False)
        return pd.read_csv(path, sep=sep, low_memory=False)
    except InputError:
        raise
    except Exception as exc:
        raise InputError(f"cannot read {what} {path}: {exc}") from exc


def _clean_keys(values: pd.Series | pd.Index) -> pd.Index:
    """Keys as stripped strings (NaN stays NaN)."""
    s = pd.Series(values, copy=False)
    out = s.astype("str").str.strip()
    out[s.isna().to_numpy()] = np.nan
    return pd.Index(out)


@dataclass
class _Lookup:
    keys: pd.Index  # unique, stripped
    ids: np.ndarray
    source: str


def _load_lookup(lookup: Lookup, *, base_dir: Path | None, side: str) -> _Lookup:
    """Normalise a lookup to unique keys -> ids."""
    what = f"{side}_lookup"
    if isinstance(lookup, pd.Series):
        keys, ids, source = lookup.index, lookup.to_numpy(), f"the {what} Series"
    elif isinstance(lookup, Mapping):
        keys, ids, source = pd.Index(list(lookup.keys())), np.array(list(lookup.values())), what
    elif isinstance(lookup, (tuple, list)) and len(lookup) == 3:
        table, key_col, id_col = lookup
        if isinstance(table, pd.DataFrame):
            frame, source = table, f"the {what} frame"
        else:
            p = Path(table)
            if base_dir is not None and not p.is_absolute():
                p = base_dir / p
            frame, source = read_frame(p, what=f"{what} file"), f"{what} file {p}"
        missing = [c for c in (key_col, id_col) if c not in frame.columns]
        if missing:
            raise InputError(
                f"{source} has no column {', '.join(map(repr, missing))} "
                f"(columns: {list(frame.columns)[:15]})"
            )
        keys, ids = frame[key_col], frame[id_col].to_numpy()
    else:
        raise InputError(
            f"{what} must be (file or frame, key column, id column), a mapping or a Series; "
            f"got {lookup!r}"
        )
    keys = _clean_keys(keys)
    ids = _clean_keys(pd.Index(ids)).to_numpy()
    ok = ~(pd.isna(keys) | pd.isna(ids))
    keys, ids = keys[ok], ids[ok]
    pairs = pd.DataFrame({"k": keys, "v": ids}).drop_duplicates()
    clash = pairs["k"].duplicated(keep=False)
    if clash.any():
        bad = pairs.loc[clash].groupby("k")["v"].apply(list).head(3).to_dict()
        raise InputError(
            f"{source}: {int(pairs.loc[clash, 'k'].nunique())} keys map to more than one id, "
            f"e.g. {bad}; each key must name one id"
        )
    return _Lookup(pd.Index(pairs["k"]), pairs["v"].to_numpy(), source)


@dataclass
class MatchReport:
    """How a matrix matched the areas and sites in one ``travel_times`` call.

    Every ``*_examples``-style list holds the full set of unmatched ids; the
    counts are their lengths. :meth:`format_text` shows the first few.

    Attributes
    ----------
    matrix_origins, matrix_destinations
        Distinct origins / destinations in the matrix (after any lookup).
    origin_keys_without_id, destination_keys_without_id
        Matrix names that have no id in the lookup (dropped when reading).
    origins_not_in_areas
        Matrix origins that are not areas.
    areas_without_row
        Areas the matrix has no row (origin) for.
    destinations_not_in_sites
        Matrix destinations that are not sites.
    sites_without_column
        Sites the matrix has no column (destination) for.
    missing_values
        Pairs with no time in the matrix (empty cells), dropped.
    areas_matched, sites_matched
        Areas / sites present in the matrix.
    pairs_matched, pairs_kept
        Pairs with both ends matched, and of those within the limit.
    limit
        The limit applied (``None``: none).
    """

    source: str = "the matrix"
    matrix_origins: int = 0
    matrix_destinations: int = 0
    origin_keys_without_id: list[str] = field(default_factory=list)
    destination_keys_without_id: list[str] = field(default_factory=list)
    origins_not_in_areas: list[str] = field(default_factory=list)
    areas_without_row: list[str] = field(default_factory=list)
    destinations_not_in_sites: list[str] = field(default_factory=list)
    sites_without_column: list[str] = field(default_factory=list)
    missing_values: int = 0
    areas_matched: int = 0
    sites_matched: int = 0
    pairs_matched: int = 0
    pairs_kept: int = 0
    limit: str | None = None

    _LISTS = (
        ("origin_keys_without_id", "matrix origin names with no id in the lookup"),
        ("destination_keys_without_id", "matrix destination names with no id in the lookup"),
        ("origins_not_in_areas", "matrix origins not in the areas"),
        ("areas_without_row", "areas with no matrix row"),
        ("destinations_not_in_sites", "matrix destinations not in the sites"),
        ("sites_without_column", "sites with no matrix column"),
    )

    @property
    def complete(self) -> bool:
        """True when every area and site has times and nothing was left unmatched."""
        return not any(getattr(self, name) for name, _ in self._LISTS) and not self.missing_values

    def as_dict(self, n_examples: int = 10) -> dict:
        """Counts and the first ``n_examples`` of each unmatched list, JSON-ready."""
        out: dict = {
            k: getattr(self, k)
            for k in (
                "source",
                "matrix_origins",
                "matrix_destinations",
                "areas_matched",
                "sites_matched",
                "pairs_matched",
                "pairs_kept",
                "missing_values",
                "limit",
            )
        }
        for name, _ in self._LISTS:
            values = getattr(self, name)
            out[name] = {"count": len(values), "examples": values[:n_examples]}
        return out

    def format_text(self, n_examples: int = 5) -> str:
        """A readable summary: what matched, and what did not with examples."""
        lines = [
            f"{self.source}: {self.matrix_origins:,} origins x {self.matrix_destinations:,} "
            f"destinations; matched {self.areas_matched:,} areas x {self.sites_matched:,} sites, "
            f"{self.pairs_matched:,} pairs"
            + (f" ({self.pairs_kept:,} within {self.limit})" if self.limit is not None else "")
        ]
        for name, text in self._LISTS:
            values = getattr(self, name)
            if values:
                lines.append(f"  {len(values):,} {text}, e.g. {values[:n_examples]}")
        if self.missing_values:
            lines.append(f"  {self.missing_values:,} empty cells (no time) dropped")
        return "\n".join(lines)


class ExternalMatrix:
    """Known travel times from an external matrix, matched to areas and sites by id.

    Build it with :meth:`read` (a file) or :meth:`from_frame` (a DataFrame).

    Parameters
    ----------
    origins, destinations
        Distinct origin / destination ids.
    origin_code, destination_code
        Per pair, the position in ``origins`` / ``destinations``.
    minutes
        Per pair, the time.
    source
        Name for messages.
    origin_keys_without_id, destination_keys_without_id
        Names a lookup could not translate (for the report).
    missing_values
        Empty cells dropped when reading.
    check_pairs
        Check that no (origin, destination) pair is given twice.
    """

    def __init__(
        self,
        origins: pd.Index,
        destinations: pd.Index,
        origin_code: np.ndarray,
        destination_code: np.ndarray,
        minutes: np.ndarray,
        *,
        source: str = "the matrix",
        origin_keys_without_id: list[str] | None = None,
        destination_keys_without_id: list[str] | None = None,
        missing_values: int = 0,
        check_pairs: bool = True,
    ) -> None:
        self.origins = pd.Index(origins)
        self.destinations = pd.Index(destinations)
        self.origin_code = np.asarray(origin_code, dtype=np.int32)
        self.destination_code = np.asarray(destination_code, dtype=np.int32)
        self.minutes = np.asarray(minutes, dtype=np.float32)
        self.source = source
        self.origin_keys_without_id = list(origin_keys_without_id or [])
        self.destination_keys_without_id = list(destination_keys_without_id or [])
        self.missing_values = int(missing_values)
        self.last_report: MatchReport | None = None
        if check_pairs and len(self.minutes):
            key = self.origin_code.astype(np.int64) * len(self.destinations) + self.destination_code
            dup = pd.Index(key).duplicated()
            if dup.any():
                k = np.flatnonzero(dup)[:3]
                pairs = list(
                    zip(
                        self.origins[self.origin_code[k]],
                        self.destinations[self.destination_code[k]],
                        strict=True,
                    )
                )
                raise InputError(
                    f"{source}: {int(dup.sum())} (origin, destination) pairs appear more than once "
                    f"(after any lookup), e.g. {pairs}; keep one time per pair"
                )
            bad = self.minutes < 0
            if bad.any():
                raise InputError(f"{source}: {int(bad.sum())} negative travel times")

    def __repr__(self) -> str:
        return (
            f"ExternalMatrix({len(self.origins):,} origins x {len(self.destinations):,} "
            f"destinations, {len(self.minutes):,} pairs from {self.source})"
        )

    def __len__(self) -> int:
        return len(self.minutes)

    @classmethod
    def read(
        cls,
        path: str | os.PathLike,
        *,
        layout: Layout = "auto",
        origin_column: str | None = None,
        destination_column: str | None = None,
        minutes_column: str | None = None,
        origin_lookup: Lookup | None = None,
        destination_lookup: Lookup | None = None,
        sep: str | None = None,
        member: str | None = None,
        base_dir: str | os.PathLike | None = None,
    ) -> ExternalMatrix:
        """Read a travel-time matrix file.

        Parameters
        ----------
        path
            CSV, Parquet, or zip holding one CSV.
        layout
            ``"long"`` (origin, destination, minutes columns), ``"wide"`` (one
            row per origin, one column per destination) or ``"auto"``: long when
            ``destination_column`` / ``minutes_column`` are given or the file has
            recognised long-form names (origin/destination/minutes,
            from_id/to_id/travel_time, area_id/site_id/minutes), else wide when
            every column but the origin column is numeric.
        origin_column
            Column of origin keys (wide default: the first column).
        destination_column, minutes_column
            Long layout columns.
        origin_lookup, destination_lookup
            Translate matrix keys (e.g. names, postcodes) to area / site ids:
            ``(file or DataFrame, key column, id column)``, a mapping, or a Series
            indexed by key. Keys missing from the lookup are reported.
        sep
            CSV separator (default comma).
        member
            The CSV inside a zip that holds several.
        base_dir
            Folder that relative lookup paths are resolved against (default:
            the working directory).

        Returns
        -------
        ExternalMatrix
        """
        path = Path(path)
        frame = read_frame(path, sep=sep, member=member, what="travel-time matrix")
        return cls.from_frame(
            frame,
            layout=layout,
            origin_column=origin_column,
            destination_column=destination_column,
            minutes_column=minutes_column,
            origin_lookup=origin_lookup,
            destination_lookup=destination_lookup,
            base_dir=Path(base_dir) if base_dir is not None else None,
            source=f"travel-time matrix {path.name}",
        )

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        *,
        layout: Layout = "auto",
        origin_column: str | None = None,
        destination_column: str | None = None,
        minutes_column: str | None = None,
        origin_lookup: Lookup | None = None,
        destination_lookup: Lookup | None = None,
        base_dir: Path | None = None,
        source: str = "the matrix",
    ) -> ExternalMatrix:
        """Build from a DataFrame in long or wide layout (see :meth:`read`)."""
        if layout not in ("auto", "long", "wide"):
            raise InputError(f"layout must be 'auto', 'long' or 'wide', got {layout!r}")
        cols = list(frame.columns)
        for name, col in (
            ("origin_column", origin_column),
            ("destination_column", destination_column),
            ("minutes_column", minutes_column),
        ):
            if col is not None and col not in cols:
                raise InputError(f"{source} has no column {col!r} ({name}); columns: {cols[:15]}")
        if layout == "auto":
            layout = cls._detect_layout(
                frame, origin_column, destination_column, minutes_column, source
            )
        if layout == "long":
            o_keys, o_code, d_keys, d_code, minutes = cls._long(
                frame, origin_column, destination_column, minutes_column, source
            )
        else:
            o_keys, o_code, d_keys, d_code, minutes = cls._wide(frame, origin_column, source)
        missing = ~np.isfinite(minutes)
        n_missing = int(missing.sum())
        if n_missing:
            log.info("%s: %d empty cells (no time) dropped", source, n_missing)
        o_map, origins, o_unmatched = _apply_lookup(o_keys, origin_lookup, base_dir, "origin")
        d_map, destinations, d_unmatched = _apply_lookup(
            d_keys, destination_lookup, base_dir, "destination"
        )
        if o_unmatched or d_unmatched:
            log.warning(
                "%s: %d origin names (e.g. %s) and %d destination names (e.g. %s) have no id "
                "in the lookup; their times are dropped",
                source,
                len(o_unmatched),
                o_unmatched[:3],
                len(d_unmatched),
                d_unmatched[:3],
            )
        o_map = np.r_[o_map, -1].astype(np.int32)  # code -1 (no key) maps to -1
        d_map = np.r_[d_map, -1].astype(np.int32)
        if layout == "wide":  # a pair repeats only if a row id or a column id does
            n_cols = len(frame.columns) - 1
            _no_repeats(o_map[o_code[::n_cols]], origins, source, "rows (origins)")
            _no_repeats(d_map[d_code[:n_cols]], destinations, source, "columns (destinations)")
        o_final = o_map[o_code]
        d_final = d_map[d_code]
        keep = (o_final >= 0) & (d_final >= 0) & ~missing
        _check_pairs(o_final, d_final, minutes, keep, origins, destinations, source)
        return cls(
            origins,
            destinations,
            o_final[keep],
            d_final[keep],
            minutes[keep],
            source=source,
            origin_keys_without_id=o_unmatched,
            destination_keys_without_id=d_unmatched,
            missing_values=n_missing,
            check_pairs=layout == "long",
        )

    @staticmethod
    def _detect_layout(frame, origin_column, destination_column, minutes_column, source) -> str:
        if destination_column is not None or minutes_column is not None:
            return "long"
        lower = {str(c).lower(): c for c in frame.columns}
        found = {
            role: next((n for n in names if n in lower), None)
            for role, names in _LONG_NAMES.items()
        }
        if found["destination"] and found["minutes"] and (found["origin"] or origin_column):
            return "long"
        first = origin_column if origin_column is not None else frame.columns[0]
        rest = frame.columns.drop(first)
        if len(rest) and all(pd.api.types.is_numeric_dtype(frame[c]) for c in rest):
            return "wide"
        non_numeric = [c for c in rest if not pd.api.types.is_numeric_dtype(frame[c])][:5]
        raise InputError(
            f"cannot tell the layout of {source}: it has no origin/destination/minutes columns "
            f"(long layout) and columns {non_numeric} are not numeric (wide layout). Give "
            "layout='long' with origin_column, destination_column, minutes_column, or "
            "layout='wide' with origin_column"
        )

    @staticmethod
    def _long(frame, origin_column, destination_column, minutes_column, source):
        lower = {str(c).lower(): c for c in frame.columns}
        chosen = {}
        for role, given in (
            ("origin", origin_column),
            ("destination", destination_column),
            ("minutes", minutes_column),
        ):
            if given is None:
                given = next((lower[n] for n in _LONG_NAMES[role] if n in lower), None)
            if given is None:
                raise InputError(
                    f"{source} (long layout) has no {role} column: name it with {role}_column= "
                    f"(columns: {list(frame.columns)[:15]})"
                )
            chosen[role] = given
        m = pd.to_numeric(frame[chosen["minutes"]], errors="coerce")
        bad = m.isna() & frame[chosen["minutes"]].notna()
        if bad.any():
            raise InputError(
                f"{source}: column {chosen['minutes']!r} has {int(bad.sum())} values that are not "
                f"numbers, e.g. {examples(frame.loc[bad, chosen['minutes']])}"
            )
        o_code, o_keys = pd.factorize(_clean_keys(frame[chosen["origin"]]))
        d_code, d_keys = pd.factorize(_clean_keys(frame[chosen["destination"]]))
        return o_keys, o_code, d_keys, d_code, m.to_numpy(dtype="float32", na_value=np.nan)

    @staticmethod
    def _wide(frame, origin_column, source):
        first = origin_column if origin_column is not None else frame.columns[0]
        rest = frame.columns.drop(first)
        if not len(rest):
            raise InputError(f"{source} (wide layout) has no destination columns")
        non_numeric = [c for c in rest if not pd.api.types.is_numeric_dtype(frame[c])]
        if non_numeric:
            raise InputError(
                f"{source} (wide layout): destination columns {non_numeric[:5]} are not numeric; "
                "every column but the origin column must hold minutes"
            )
        values = frame[rest].to_numpy(dtype="float32", na_value=np.nan)
        n_rows, n_cols = values.shape
        row_code, o_keys = pd.factorize(_clean_keys(frame[first]))
        col_code, d_keys = pd.factorize(_clean_keys(pd.Index([str(c) for c in rest])))
        row_code, col_code = row_code.astype(np.int32), col_code.astype(np.int32)
        o_code = np.repeat(row_code, n_cols)
        d_code = np.tile(col_code, n_rows)
        return o_keys, o_code, d_keys, d_code, values.ravel()

    def travel_times(
        self,
        areas: pd.DataFrame,
        sites: pd.DataFrame,
        limit: TravelLimit | float | None = None,
        *,
        progress: bool | None = None,
    ) -> pd.DataFrame:
        """The matrix's times for these areas and sites, within the limit.

        Parameters
        ----------
        areas
            Areas frame (``area_id``).
        sites
            Sites frame (``site_id``; ``kind`` for per-kind limits).
        limit
            A :class:`TravelLimit` (number = global); ``None`` keeps every matched pair.
        progress
            Accepted for the common interface (the work is one vectorised step).

        Returns
        -------
        pandas.DataFrame
            The travel table. What did not match is in :attr:`last_report`
            (and logged as a warning).
        """
        aids, sids = area_ids(areas), site_ids(sites)
        opos = aids.get_indexer(self.origins)
        dpos = sids.get_indexer(self.destinations)
        a = opos[self.origin_code]
        s = dpos[self.destination_code]
        ok = (a >= 0) & (s >= 0)
        a, s, m = a[ok], s[ok], self.minutes[ok]
        n_matched = len(m)
        limit = as_limit(limit)
        if limit is not None:
            keep = m.astype("float64") <= limit.for_pairs(areas, sites, a, s)
            a, s, m = a[keep], s[keep], m[keep]
        has_a = np.zeros(len(aids), dtype=bool)
        has_a[opos[opos >= 0]] = True
        has_s = np.zeros(len(sids), dtype=bool)
        has_s[dpos[dpos >= 0]] = True
        report = MatchReport(
            source=self.source,
            matrix_origins=len(self.origins),
            matrix_destinations=len(self.destinations),
            origin_keys_without_id=self.origin_keys_without_id,
            destination_keys_without_id=self.destination_keys_without_id,
            origins_not_in_areas=self.origins[opos < 0].tolist(),
            areas_without_row=aids[~has_a].tolist(),
            destinations_not_in_sites=self.destinations[dpos < 0].tolist(),
            sites_without_column=sids[~has_s].tolist(),
            missing_values=self.missing_values,
            areas_matched=int(has_a.sum()),
            sites_matched=int(has_s.sum()),
            pairs_matched=n_matched,
            pairs_kept=len(m),
            limit=None if limit is None else limit.describe(),
        )
        self.last_report = report
        # areas or sites left without times are a problem; matrix rows and columns
        # beyond the study area (e.g. Welsh LSOAs for an English plan) are normal
        if report.areas_without_row or report.sites_without_column:
            log.warning("%s", report.format_text())
        else:
            log.info("%s", report.format_text())
        return make_table(a, s, m, area_ids=aids, site_ids=sids)


def _check_pairs(
    o_final: np.ndarray,
    d_final: np.ndarray,
    minutes: np.ndarray,
    keep: np.ndarray,
    origins: pd.Index,
    destinations: pd.Index,
    source: str,
) -> None:
    """Negative or infinite times, and a pair given twice, are errors naming the pairs."""
    matched = (o_final >= 0) & (d_final >= 0)

    def pairs(mask: np.ndarray) -> str:
        rows = np.flatnonzero(mask)[:5]
        return ", ".join(
            f"({origins[o_final[r]]}, {destinations[d_final[r]]}): {minutes[r]:g}" for r in rows
        )

    for mask, what in (
        (matched & (minutes < 0), "negative"),
        (matched & np.isinf(minutes), "infinite"),
    ):
        if mask.any():
            raise InputError(
                f"{source}: {int(mask.sum()):,} {what} travel times, e.g. {pairs(mask)}; "
                "travel times are minutes >= 0: fix or drop those pairs (an empty cell means "
                "no time)"
            )
    key = o_final[keep].astype(np.int64) * max(len(destinations), 1) + d_final[keep]
    repeated = pd.Index(key).duplicated(keep=False)
    if repeated.any():
        mask = np.zeros(len(keep), dtype=bool)
        mask[np.flatnonzero(keep)[repeated]] = True
        raise InputError(
            f"{source}: {int(repeated.sum()):,} rows repeat an (origin, destination) pair, "
            f"e.g. {pairs(mask)}; keep one time per pair"
        )


def _no_repeats(ids_code: np.ndarray, ids: pd.Index, source: str, what: str) -> None:
    """Raise when two wide-layout rows (or columns) name the same id."""
    valid = ids_code[ids_code >= 0]
    counts = np.bincount(valid, minlength=len(ids))
    if (counts > 1).any():
        repeated = ids[counts > 1]
        raise InputError(
            f"{source}: {len(repeated)} ids have more than one of the matrix's {what}, so "
            f"(origin, destination) pairs appear more than once (after any lookup), "
            f"e.g. {examples(repeated)}; keep one per id"
        )


def _apply_lookup(
    keys: pd.Index, lookup: Lookup | None, base_dir: Path | None, side: str
) -> tuple[np.ndarray, pd.Index, list[str]]:
    """Translate distinct keys to ids.

    Returns, per key, the position of its id in the distinct ids (-1 when the
    lookup has no id for it), the distinct ids, and the keys with no id.
    """
    keys = pd.Index(keys, dtype="str")
    if lookup is None:
        return np.arange(len(keys)), keys, []
    lk = _load_lookup(lookup, base_dir=base_dir, side=side)
    pos = lk.keys.get_indexer(keys)
    unmatched = keys[pos < 0].tolist()
    mapped = pd.Index(np.where(pos >= 0, lk.ids[np.maximum(pos, 0)], None), dtype="object")
    code, ids = pd.factorize(mapped)
    return code, pd.Index(ids, dtype="str"), unmatched
