"""Reading tables and vector files as published, and finding columns in them.

Readers return a :class:`Table`: the frame (column names stripped of whitespace
and byte-order marks), the file name for messages, and how to name a row in a
message (``row 3`` as a spreadsheet shows it, header = row 1; ``feature 3`` for
vector files, counting from 1; ``index 3`` for in-memory frames).
"""

from __future__ import annotations

import contextlib
import csv
import difflib
import functools
import io as _io
import logging
import re
import warnings
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS, Transformer

from polygeo.errors import InputError

PathLike = str | Path

log = logging.getLogger("polygeo")

#: Field separator of the NHS Choices organisation files (0xAC in Latin-1).
NHS_SEPARATOR = "\xac"

_TABLE_SUFFIXES = {".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".xls"}

#: Coordinate column pairs recognised in tables, compared after :func:`norm`;
#: projected pairs first (they are exact), then longitude/latitude.
XY_PAIRS = (("easting", "northing"), ("eastings", "northings"), ("x", "y"), ("east", "north"))
XY_PAIRS += (("xcoord", "ycoord"), ("bnge", "bngn"))
LONLAT_PAIRS = (("longitude", "latitude"), ("lon", "lat"), ("long", "lat"), ("lng", "lat"))
_LON_NAMES = {"longitude", "lon", "long", "lng"}


def norm(name: Any) -> str:
    """A column name reduced for matching: lower case, letters and digits only."""
    return re.sub(r"[^0-9a-z]", "", str(name).lower())


def clean_name(name: Any) -> str:
    return str(name).replace("\ufeff", "").strip()


@dataclass
class Table:
    """A frame read from ``path`` and how to point at its rows in messages."""

    frame: pd.DataFrame
    path: str
    name: str
    unit: str = "row"
    offset: int = 2

    @property
    def noun(self) -> str:
        """What a row is called in a sentence: ``row`` or ``feature``."""
        return "row" if self.unit == "index" else self.unit

    @property
    def is_geo(self) -> bool:
        return isinstance(self.frame, gpd.GeoDataFrame)

    def row(self, pos: int) -> str:
        return f"{self.unit} {self._label(pos)}"

    def rows(self, positions: Sequence[int], n: int = 10) -> str:
        """``"rows 2, 4837"``: the unit, pluralised, then the first ``n`` labels."""
        labels = [self._label(p) for p in positions]
        unit = self.unit if len(labels) == 1 or self.unit == "index" else self.unit + "s"
        return f"{unit} {', '.join(labels[:n])}" + (
            f" and {len(labels) - n:,} more" if len(labels) > n else ""
        )

    def _label(self, pos: int) -> str:
        if self.unit == "index":
            return str(self.frame.index[pos])
        return str(int(pos) + self.offset)


def _columns(table: Table) -> list[str]:
    return [c for c in table.frame.columns if not (table.is_geo and c == table.frame.geometry.name)]


def match(table: Table, name: str) -> str | None:
    """The column of ``table`` called ``name``: exact, else the one equal ignoring case/spaces."""
    columns = _columns(table)
    wanted = clean_name(name)
    if wanted in columns:
        return wanted
    close = [c for c in columns if str(c).lower() == wanted.lower()]
    close = close or [c for c in columns if norm(c) == norm(wanted)]
    return close[0] if len(close) == 1 else None


class ColumnFinder:
    """Find columns by the user's names; collect every missing one, then raise once."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def find(self, table: Table, name: str, role: str) -> str | None:
        """The column of ``table`` called ``name`` (exact, then ignoring case/spaces)."""
        return self.find_any([table], name, role)[1]

    def find_any(self, tables: Sequence[Table], name: str, role: str) -> tuple[int, str | None]:
        """The first of ``tables`` holding column ``name``: (its position, the column)."""
        for i, table in enumerate(tables):
            found = match(table, name)
            if found is not None:
                return i, found
        columns = list(dict.fromkeys(c for t in tables for c in _columns(t)))
        wanted = clean_name(name)
        hint = difflib.get_close_matches(wanted, [str(c) for c in columns], n=1, cutoff=0.6)
        suggestion = f"; did you mean {hint[0]!r}?" if hint else "."
        names = " or ".join(t.name for t in tables)
        self.problems.append(
            f"{names} has no column {wanted!r} ({role}){suggestion} "
            f"Its columns are: {', '.join(map(str, columns))}"
        )
        return 0, None

    def guess(self, table: Table, candidates: Iterable[str]) -> str | None:
        """The first column whose :func:`norm` is one of ``candidates`` (in their order)."""
        by_norm: dict[str, str] = {}
        for c in table.frame.columns:
            by_norm.setdefault(norm(c), c)
        for cand in candidates:
            if norm(cand) in by_norm:
                return by_norm[norm(cand)]
        return None

    def missing(self, table: Table, role: str, looked_for: Iterable[str], how: str) -> None:
        self.problems.append(
            f"{table.name}: cannot tell which column holds the {role} "
            f"(looked for {', '.join(looked_for)}); {how}. "
            f"Its columns are: {', '.join(map(str, table.frame.columns))}"
        )

    def raise_if_missing(self) -> None:
        if self.problems:
            if len(self.problems) == 1:
                raise InputError(self.problems[0])
            raise InputError("\n".join(["Missing columns:"] + [f"  - {p}" for p in self.problems]))


def find_xy(
    table: Table, finder: ColumnFinder, x: str | None, y: str | None
) -> tuple[str | None, str | None, bool]:
    """The coordinate columns of a table and whether they are longitude/latitude."""
    if x is not None or y is not None:
        if x is None or y is None:
            raise InputError("give both x= and y= coordinate column names, or neither")
        xcol, ycol = finder.find(table, x, "x coordinate"), finder.find(table, y, "y coordinate")
        return xcol, ycol, norm(x) in _LON_NAMES
    for pairs, geographic in ((XY_PAIRS, False), (LONLAT_PAIRS, True)):
        for cx, cy in pairs:
            xcol, ycol = finder.guess(table, [cx]), finder.guess(table, [cy])
            if xcol is not None and ycol is not None:
                return xcol, ycol, geographic
    finder.missing(
        table,
        "coordinates",
        ["easting/northing", "x/y", "longitude/latitude", "lon/lat"],
        "name them with x= and y=",
    )
    return None, None, False


@functools.lru_cache(maxsize=16)
def _transformer(source: CRS, target: CRS) -> Transformer:
    """Transformers are slow to build (tens of ms); files usually share one."""
    return Transformer.from_crs(source, target, always_xy=True)


def points_crs(lonlat: bool, assume_crs: Any, target: CRS) -> Any:
    """The CRS of a table's coordinate columns (see :func:`table_points`)."""
    if lonlat:
        if assume_crs is not None and CRS.from_user_input(assume_crs).is_geographic:
            return assume_crs
        return "EPSG:4326"
    return assume_crs if assume_crs is not None else target


def table_points(
    table: Table, xcol: str, ycol: str, lonlat: bool, assume_crs: Any, target: CRS
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Coordinates of a table's rows in the working CRS, and which rows have none.

    Longitude/latitude columns are in EPSG:4326 (or in ``assume_crs`` when that
    is geographic: a projected ``assume_crs`` meant for other files is ignored);
    other columns are in ``assume_crs`` when given, else in the working CRS.
    """
    xs, *_ = parse_numbers(table.frame[xcol])
    ys, *_ = parse_numbers(table.frame[ycol])
    ok = np.isfinite(xs) & np.isfinite(ys)
    if lonlat:
        _in_range(table, ok & ((np.abs(xs) > 180) | (np.abs(ys) > 90)), xcol, ycol, "degrees")
    source = points_crs(lonlat, assume_crs, target)
    if assume_crs is None and not lonlat and ok.any():
        if (np.abs(xs[ok]) <= 180).all() and (np.abs(ys[ok]) <= 90).all():
            raise InputError(
                f"{table.name}: columns {xcol}, {ycol} look like longitude/latitude degrees, "
                "but x/y columns are read in the working CRS; pass assume_crs='EPSG:4326' "
                "or name the columns lon/lat"
            )
    if CRS.from_user_input(source) != target:
        xs, ys = _transformer(CRS.from_user_input(source), target).transform(xs, ys)
        xs, ys = np.asarray(xs, dtype="float64"), np.asarray(ys, dtype="float64")
        _in_range(table, ok & ~(np.isfinite(xs) & np.isfinite(ys)), xcol, ycol, str(source))
    xs, ys = np.where(ok, xs, np.nan), np.where(ok, ys, np.nan)
    return xs, ys, ~ok


def _in_range(table: Table, bad: np.ndarray, xcol: str, ycol: str, crs: str) -> None:
    """Coordinates that cannot be right (latitude 95, an easting of 1e12): an error."""
    if bad.any():
        rows = np.flatnonzero(bad)
        shown = ", ".join(
            f"{table.row(r)} ({table.frame[xcol].iloc[r]}, {table.frame[ycol].iloc[r]})"
            for r in rows[:5]
        )
        raise InputError(
            f"{table.name}: {len(rows):,} rows have coordinates in columns {xcol}, {ycol} "
            f"outside the valid range ({crs}): {shown}; longitude is -180..180 and latitude "
            "-90..90: fix those rows (or check which column is which)"
        )


# -- values -------------------------------------------------------------------


def parse_numbers(s: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parse counts as published: ``"1,632"``, ``" 5 "``, numbers.

    Returns
    -------
    values, blank, bad
        float64 values (NaN where blank or bad); masks of blank cells and of
        cells that are not numbers.
    """
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        values = s.to_numpy(dtype="float64", na_value=np.nan)
        return values, np.isnan(values), np.zeros(len(s), dtype=bool)
    text = s.astype("str").str.replace(r"[\s,]", "", regex=True)
    blank = (text.isna() | (text == "")).to_numpy()
    values = pd.to_numeric(text, errors="coerce").to_numpy(
        dtype="float64", na_value=np.nan, copy=True
    )
    bad = ~np.isfinite(values) & ~blank
    values[bad] = np.nan
    return values, blank, bad


def id_strings(s: pd.Series) -> pd.Series:
    """Ids as stripped strings (``1.0`` read from a number column becomes ``"1"``)."""
    if pd.api.types.is_float_dtype(s):
        present = s.dropna()
        whole = np.isfinite(present) & (present.abs() < 2**53) & (present == present.round())
        if whole.all():  # "inf" or 1e400 stay as they are written
            s = s.astype("Int64")
    out = s.astype("str").str.strip()
    return out.where(out != "", np.nan)


# -- readers ------------------------------------------------------------------


def source_name(source: Any) -> str:
    if isinstance(source, str | Path):
        return Path(source).name
    return f"<{type(source).__name__}>"


def read_table(
    source: PathLike | pd.DataFrame,
    *,
    str_columns: Iterable[str] = (),
    sheet: str | int | None = None,
    layer: str | int | None = None,
) -> Table:
    """Read a CSV, XLSX, NHS Choices ``¬`` file, Parquet table or any vector format.

    Parameters
    ----------
    source
        A path, or a (Geo)DataFrame already in memory.
    str_columns
        Columns to read as text (ids), compared ignoring case and spaces.
    sheet
        Sheet name or number of a spreadsheet (default the first).
    layer
        Layer of a multi-layer vector file (default the first).
    """
    if isinstance(source, pd.DataFrame):
        frame = source.copy()
        frame.columns = [c if c == "geometry" else clean_name(c) for c in frame.columns]
        return Table(frame, source_name(source), source_name(source), unit="index")
    path = Path(source)
    if not path.exists():
        raise InputError(
            f"{path} does not exist; check the path (relative paths start at {Path.cwd()})"
        )
    _check_readable_file(path)
    keep_text = {norm(c) for c in str_columns}
    with _read_errors_named(path):
        return _read_path(path, keep_text, sheet, layer)


def _read_path(
    path: Path, keep_text: set[str], sheet: str | int | None, layer: str | int | None
) -> Table:
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm", ".xls"):
        frame, header = _read_excel(path, keep_text, sheet)
        return Table(frame, str(path), path.name, "row", header + 2)
    if suffix in _TABLE_SUFFIXES:
        if is_nhs_choices(path):
            return Table(read_nhs_choices(path), str(path), path.name)
        return Table(_read_csv(path, keep_text), str(path), path.name)
    if suffix in (".parquet", ".geoparquet"):
        try:
            frame = gpd.read_parquet(path)
        except ValueError:  # a plain Parquet table without geo metadata
            frame = pd.read_parquet(path)
    else:
        frame = _read_vector(path, layer)
    frame.columns = [c if c == "geometry" else clean_name(c) for c in frame.columns]
    unit, offset = ("feature", 1) if isinstance(frame, gpd.GeoDataFrame) else ("row", 1)
    return Table(frame, str(path), path.name, unit, offset)


def _read_vector(path: Path, layer: str | int | None) -> gpd.GeoDataFrame:
    """Read a vector file; GDAL's warnings (a damaged file) are logged, naming the file."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        frame = gpd.read_file(path, layer=layer, use_arrow=True)
    for warning in caught:
        log.warning("%s: %s", path.name, warning.message)
    return frame


#: Folders that are one vector data set (read whole by GDAL).
_FOLDER_FORMATS = {".gdb"}
_SHAPEFILE_PARTS = {".shx": "index", ".dbf": "attribute table"}


def _check_readable_file(path: Path) -> None:
    """A folder, an empty file or a shapefile without its parts: an error saying so."""
    if path.is_dir():
        if path.suffix.lower() in _FOLDER_FORMATS:
            return
        inside = sorted(p.name for p in path.iterdir() if not p.name.startswith("."))[:8]
        raise InputError(
            f"{path} is a folder, not a file; give the path of the file inside it"
            + (f" (it holds: {', '.join(inside)})" if inside else " (it is empty)")
        )
    if path.stat().st_size == 0:
        raise InputError(f"{path.name} is empty (0 bytes); write or download it again ({path})")
    if path.suffix.lower() == ".shp":
        present = {p.name.lower() for p in path.parent.iterdir()}
        for ext, role in _SHAPEFILE_PARTS.items():
            if (path.stem + ext).lower() not in present:
                raise InputError(
                    f"{path.name}: the shapefile's {role} file {path.stem}{ext} is missing "
                    f"beside it in {path.parent}; a shapefile is several files (.shp, .shx, "
                    ".dbf, .prj): copy them all together, or use a GeoPackage"
                )


_FORMATS = {
    ".gpkg": "a GeoPackage",
    ".shp": "a shapefile",
    ".parquet": "a Parquet file",
    ".geoparquet": "a GeoParquet file",
    ".xlsx": "an Excel workbook",
    ".xlsm": "an Excel workbook",
    ".xls": "an Excel workbook",
    ".geojson": "GeoJSON",
    ".json": "GeoJSON",
}


@contextlib.contextmanager
def _read_errors_named(path: Path) -> Iterator[None]:
    """Turn a reader's exception (GDAL, Arrow, zip, OS) into an InputError naming the file."""
    try:
        yield
    except InputError:
        raise
    except (OSError, ValueError, RuntimeError, KeyError, zipfile.BadZipFile) as exc:
        what = _FORMATS.get(path.suffix.lower(), "a table or vector file")
        detail = " ".join(str(exc).split())[:300] or type(exc).__name__
        raise InputError(
            f"{path.name} cannot be read as {what} ({detail}); check that it is a complete "
            f"file in that format (export or download it again): {path}"
        ) from exc


def _read_csv(path: Path, keep_text: set[str]) -> pd.DataFrame:
    sep = "\t" if path.suffix.lower() == ".tsv" else ","
    text = decode_text(path.read_bytes())
    header = pd.read_csv(_io.StringIO(text), nrows=0, sep=sep).columns
    dtype = {c: "str" for c in header if norm(clean_name(c)) in keep_text}
    try:
        with warnings.catch_warnings():  # a row longer than the header loses data
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(
                _io.StringIO(text),
                sep=sep,
                dtype=dtype,
                thousands=",",
                index_col=False,  # rows ending in a separator keep their first column
            )
    except (pd.errors.ParserError, pd.errors.ParserWarning, pd.errors.EmptyDataError) as exc:
        raise InputError(f"{path.name} cannot be read as a table: {exc}") from exc
    frame.columns = [clean_name(c) for c in frame.columns]
    return frame


def decode_text(data: bytes) -> str:
    """Bytes of a text file as published: UTF-8 (with or without BOM), else Windows-1252.

    A file mixing UTF-8 lines with Latin-1/Windows-1252 lines (one edited in two
    programs) is decoded line by line, so no character is lost or garbled.
    """
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    lines = data.split(b"\n")
    if lines and lines[0].startswith(b"\xef\xbb\xbf"):
        lines[0] = lines[0][3:]
    return "\n".join(_decode_line(line) for line in lines)


def _decode_line(line: bytes) -> str:
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        try:
            return line.decode("cp1252")
        except UnicodeDecodeError:
            return line.decode("latin-1")


def _read_excel(
    path: Path, keep_text: set[str], sheet: str | int | None
) -> tuple[pd.DataFrame, int]:
    """Read a sheet whose header may sit below a few title rows (as ONS publishes)."""
    sheet_name = 0 if sheet is None else sheet
    try:
        top = pd.read_excel(path, sheet_name=sheet_name, header=None, nrows=30, dtype=object)
    except ValueError as exc:
        import openpyxl

        names = openpyxl.load_workbook(path, read_only=True).sheetnames
        raise InputError(
            f"{path.name} has no sheet {sheet!r}; its sheets are: {', '.join(names)}"
        ) from exc
    header = 0
    if keep_text:
        for i, row in enumerate(top.itertuples(index=False)):
            if any(norm(v) in keep_text for v in row if isinstance(v, str)):
                header = i
                break
    names = [clean_name(v) for v in top.iloc[header]] if len(top) else []
    dtype = {i: "str" for i, v in enumerate(names) if norm(v) in keep_text}
    frame = pd.read_excel(path, sheet_name=sheet_name, header=header, dtype=dtype)
    frame.columns = [clean_name(c) for c in frame.columns]
    return frame, header


def is_nhs_choices(path: PathLike) -> bool:
    """Whether a file looks like an NHS Choices organisation file (``¬``-separated)."""
    with open(path, "rb") as fh:
        first = fh.readline(65536)
    return b"\xac" in first


def read_nhs_choices(path: PathLike) -> pd.DataFrame:
    """Read an NHS Choices organisation file exactly as published.

    Fields are separated by ``¬`` (byte 0xAC in Latin-1; a file re-saved as UTF-8
    also works), lines end in CRLF and fields are never quoted. Every column is
    read as text, stripped; blanks are empty strings.

    Parameters
    ----------
    path
        ``GPPractices.csv``, ``Hospital.csv``, ``Clinics.csv`` and the like.

    Returns
    -------
    pandas.DataFrame
    """
    data = Path(path).read_bytes()
    text = decode_text(data) if b"\xc2\xac" in data else data.decode("latin-1")
    # The C parser wants a one-byte separator: swap in an ASCII control character
    # the file does not use (the unit separator, in practice).
    unit = next(c for c in "\x1f\x1e\x1d\x1c\x07" if c not in text)
    try:
        with warnings.catch_warnings():  # a row longer than the header loses data: an error
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(
                _io.StringIO(text.replace(NHS_SEPARATOR, unit)),
                sep=unit,
                dtype="str",
                keep_default_na=False,
                quoting=csv.QUOTE_NONE,
                index_col=False,
            )
    except (pd.errors.ParserError, pd.errors.ParserWarning) as exc:
        message = str(exc).replace(repr(unit), "'¬'")
        name = Path(path).name
        raise InputError(f"{name} cannot be read as an NHS Choices file: {message}") from exc
    frame.columns = [clean_name(c) for c in frame.columns]
    for col in frame.columns:
        frame[col] = frame[col].str.strip()
    return frame
