"""``report.html``: one self-contained page a commissioner can read.

The report is rendered from what a run writes (the ``summary.json`` dict, the hubs
and assignments tables, the catchment polygons, an optional ``timetable.csv``), so
``polygeo report OUTPUT_DIR`` can rebuild it from a folder. Plots are inline SVG
drawn here (bar charts, a histogram, a static map): no plotting library, no network,
crisp text. Every user string is escaped with :func:`polygeo.htmlsafe.safe_text`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from polygeo.htmlsafe import safe_text

BAND_MINUTES = 5
_W, _H = 760, 260  # plot size in px


# -- small formatting helpers ------------------------------------------------------------
def _fmt(value: Any, digits: int = 1) -> str:
    """A number with thousands separators (whole numbers without decimals); text escaped."""
    if value is None:
        return "–"
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    if isinstance(value, float | np.floating):
        if not math.isfinite(float(value)):
            return "–"
        if float(value).is_integer() and abs(value) >= 1:
            return f"{float(value):,.0f}"
        return f"{float(value):,.{digits}f}"
    return safe_text(value)


def _pct(value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{100 * float(value):.1f}%"


def _money(value: Any) -> str:
    if value is None or pd.isna(value):
        return "–"
    return f"£{float(value):,.0f}"


def _table(frame: pd.DataFrame, *, formats: Mapping[str, Any] | None = None) -> str:
    """An HTML table of ``frame`` (every header and cell escaped)."""
    formats = formats or {}
    head = "".join(f"<th>{safe_text(str(c).replace('_', ' '))}</th>" for c in frame.columns)
    body = []
    for row in frame.itertuples(index=False):
        cells = []
        for column, value in zip(frame.columns, row, strict=True):
            fmt = formats.get(column, _fmt)
            numeric = isinstance(value, int | float | np.integer | np.floating)
            cells.append(f"<td{' class=num' if numeric else ''}>{fmt(value)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _pairs(rows: Iterable[tuple[str, str]]) -> str:
    """A two-column key/value table; keys and values must already be escaped."""
    body = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    return f"<table class=kv>{body}</table>"


def flatten(data: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Nested dicts as ``("a / b / c", value)`` pairs; lists of dicts become ``a [i]``.

    Examples
    --------
    >>> flatten({"access": {"mean": 7.5, "within": {"15": 0.9}}, "ids": ["a", "b"]})
    [('access / mean', 7.5), ('access / within / 15', 0.9), ('ids', ['a', 'b'])]
    """
    out: list[tuple[str, Any]] = []
    if isinstance(data, Mapping):
        for key, value in data.items():
            out.extend(flatten(value, f"{prefix} / {key}" if prefix else str(key)))
    elif isinstance(data, list) and data and all(isinstance(v, Mapping) for v in data):
        for i, value in enumerate(data):
            out.extend(flatten(value, f"{prefix} [{i + 1}]"))
    else:
        out.append((prefix, data))
    return out


def _cell(value: Any, digits: int) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(_fmt(v, digits) for v in value)
    return _fmt(value, digits)


def _kv_table(data: Any, digits: int = 3) -> str:
    return _pairs((safe_text(k), _cell(v, digits)) for k, v in flatten(data))


# -- SVG plots --------------------------------------------------------------------------
def _svg(body: str, title: str, width: int = _W, height: int = _H) -> str:
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width} {height}' "
        f"width='{width}' height='{height}' role='img' aria-label='{safe_text(title)}'>"
        f"<title>{safe_text(title)}</title>{body}</svg>"
    )


def _axis_ticks(top: float, n: int = 4) -> list[float]:
    if top <= 0:
        return [0.0]
    step = 10 ** math.floor(math.log10(top / n))
    for mult in (1, 2, 2.5, 5, 10):
        if top / (step * mult) <= n:
            step *= mult
            break
    return [step * i for i in range(int(top // step) + 1)]


def bar_chart(
    values: list[float],
    labels: list[str],
    *,
    title: str,
    y_label: str,
    line: float | None = None,
    line_label: str = "",
    colour: str = "#4a7ab5",
    tick_labels: bool = True,
) -> str:
    """A vertical bar chart as SVG; an optional horizontal reference line (e.g. 50,000)."""
    left, bottom, top_pad = 86, 40, 20
    plot_w, plot_h = _W - left - 10, _H - bottom - top_pad
    top = max([*values, line or 0, 1e-9]) * 1.08
    n = max(len(values), 1)
    bar = plot_w / n
    parts = []
    for tick in _axis_ticks(top):
        y = top_pad + plot_h * (1 - tick / top)
        parts.append(
            f"<line x1='{left}' x2='{_W - 10}' y1='{y:.1f}' y2='{y:.1f}' stroke='#ddd'/>"
            f"<text x='{left - 4}' y='{y + 4:.1f}' text-anchor='end' font-size='11'>"
            f"{tick:,.0f}</text>"
        )
    show_every = max(1, math.ceil(n / 30))
    for i, (value, label) in enumerate(zip(values, labels, strict=True)):
        h = plot_h * value / top
        x = left + i * bar
        parts.append(
            f"<rect x='{x + bar * 0.1:.2f}' y='{top_pad + plot_h - h:.2f}' "
            f"width='{max(bar * 0.8, 0.5):.2f}' height='{h:.2f}' fill='{colour}'>"
            f"<title>{safe_text(label)}: {value:,.1f}</title></rect>"
        )
        if tick_labels and i % show_every == 0 and n <= 40:
            parts.append(
                f"<text x='{x + bar / 2:.1f}' y='{_H - bottom + 14}' text-anchor='middle' "
                f"font-size='10'>{safe_text(label)}</text>"
            )
    if line is not None:
        y = top_pad + plot_h * (1 - line / top)
        parts.append(
            f"<line x1='{left}' x2='{_W - 10}' y1='{y:.1f}' y2='{y:.1f}' stroke='#c00000' "
            f"stroke-width='2' stroke-dasharray='6 3'/><text x='{_W - 12}' y='{y - 5:.1f}' "
            f"text-anchor='end' font-size='11' fill='#c00000'>{safe_text(line_label)}</text>"
        )
    parts.append(
        f"<text x='14' y='{top_pad + plot_h / 2}' font-size='11' text-anchor='middle' "
        f"transform='rotate(-90 14 {top_pad + plot_h / 2})'>{safe_text(y_label)}</text>"
    )
    return _svg("".join(parts), title)


def _path(geom: Any, transform: Any) -> str:
    polygons = getattr(geom, "geoms", [geom])
    out = []
    for polygon in polygons:
        if polygon.geom_type != "Polygon":
            continue
        for ring in [polygon.exterior, *polygon.interiors]:
            xy = transform(np.asarray(ring.coords))
            out.append("M" + "L".join(f"{x:.0f} {y:.0f}" for x, y in xy) + "Z")
    return "".join(out)


def catchment_svg(
    catchments: gpd.GeoDataFrame, hubs: pd.DataFrame, colours: list[str], width: int = _W
) -> str:
    """A static map of the catchments (fill by adjacency colour) with hub dots."""
    west, south, east, north = catchments.total_bounds
    span = max(east - west, north - south, 1e-9)
    scale = (width - 20) / max(east - west, 1e-9)
    height = int((north - south) * scale) + 20
    if height > 900:
        scale = 880 / max(north - south, 1e-9)
        height = 900

    def transform(xy: np.ndarray) -> np.ndarray:
        return np.column_stack([10 + (xy[:, 0] - west) * scale, 10 + (north - xy[:, 1]) * scale])

    simplified = catchments.geometry.simplify(span / 600)
    parts = []
    for geom, colour_index, name, pop in zip(
        simplified,
        catchments["colour"],
        catchments.get("name", catchments["site_id"]),
        catchments["population"],
        strict=True,
    ):
        if geom is None or geom.is_empty:
            continue
        fill = colours[int(colour_index) % len(colours)] if len(colours) else "#ccc"
        if geom.geom_type in ("Polygon", "MultiPolygon"):
            parts.append(
                f"<path class='catchment' d='{_path(geom, transform)}' fill='{fill}' "
                f"stroke='#444' stroke-width='0.6' fill-rule='evenodd'><title>"
                f"{safe_text(name)}: {pop:,.0f} people</title></path>"
            )
        else:
            for point in getattr(geom, "geoms", [geom]):
                x, y = transform(np.array([[point.x, point.y]]))[0]
                parts.append(f"<circle cx='{x:.0f}' cy='{y:.0f}' r='2' fill='{fill}'/>")
    for hub in hubs.itertuples():
        x, y = transform(np.array([[hub.x, hub.y]]))[0]
        parts.append(
            f"<circle class='hub' cx='{x:.1f}' cy='{y:.1f}' r='3' fill='#111' stroke='#fff' "
            f"stroke-width='1'><title>{safe_text(hub.name)}</title></circle>"
        )
    return _svg("".join(parts), "static map of the catchments", width, height)


# -- figures ----------------------------------------------------------------------------
def band_shares(
    minutes: np.ndarray, weights: np.ndarray, limit: float | None = None
) -> pd.DataFrame:
    """Population and share of people in each 5-minute band, with the cumulative share."""
    minutes = np.asarray(minutes, dtype=float)
    weights = np.asarray(weights, dtype=float)
    top = float(np.nanmax(minutes)) if len(minutes) else 0.0
    edges = np.arange(0, max(top, limit or 0) + BAND_MINUTES, BAND_MINUTES)
    if len(edges) < 2:
        edges = np.array([0.0, float(BAND_MINUTES)])
    index = np.clip(np.ceil(minutes / BAND_MINUTES).astype(int) - 1, 0, len(edges) - 2)
    population = np.bincount(index, weights=weights, minlength=len(edges) - 1)
    total = weights.sum() or 1.0
    return pd.DataFrame(
        {
            "minutes": [f"{a:g}-{b:g}" for a, b in zip(edges[:-1], edges[1:], strict=True)],
            "population": population,
            "share": population / total,
            "share_within": np.cumsum(population) / total,
        }
    )


def deprivation_means(assignments: pd.DataFrame, column: str) -> pd.DataFrame | None:
    """Population-weighted mean minutes per deprivation decile (None without the column)."""
    if column not in assignments.columns:
        return None
    frame = assignments.dropna(subset=[column, "minutes"])
    if frame.empty:
        return None
    w = frame["population"].astype(float)
    grouped = (
        frame.assign(_wm=frame["minutes"].astype(float) * w, _w=w)
        .groupby(column)[["_wm", "_w"]]
        .sum()
    )
    return pd.DataFrame(
        {
            "decile": grouped.index,
            "population": grouped["_w"].to_numpy(),
            "mean_minutes": (grouped["_wm"] / grouped["_w"].where(grouped["_w"] > 0)).to_numpy(),
        }
    )


def deprivation_column(columns: Iterable[str]) -> str | None:
    """The first column that looks like a deprivation decile (``imd_decile``, ...)."""
    for column in columns:
        if "decile" in str(column).lower():
            return str(column)
    return None


# -- sections ---------------------------------------------------------------------------
def _headline(summary: Mapping[str, Any], hubs: pd.DataFrame, bands: pd.DataFrame) -> str:
    rules = summary.get("rules") or {}
    minutes = summary.get("minutes") or {}
    pops = hubs["population"].astype(float) if len(hubs) else pd.Series([], dtype=float)
    min_pop = rules.get("min_population")
    under = int((pops < float(min_pop) - 1e-6).sum()) if min_pop else 0
    rows = [
        ("Coverage (share of people assigned a hub)", _pct(summary.get("coverage"))),
        ("Coverage within the travel limit", _pct(summary.get("coverage_within_limit"))),
        ("People", _fmt(summary.get("population"))),
        ("Polysystems (hubs)", _fmt(len(hubs))),
        (
            "People per polysystem",
            f"smallest {_fmt(pops.min() if len(pops) else None)}, median "
            f"{_fmt(pops.median() if len(pops) else None)}, largest "
            f"{_fmt(pops.max() if len(pops) else None)}",
        ),
    ]
    if min_pop:
        rows.append(
            (
                "Minimum per polysystem",
                f"{_fmt(float(min_pop))}: "
                + ("every polysystem reaches it" if under == 0 else f"{under} below it"),
            )
        )
    rows += [
        (
            "Travel (population-weighted)",
            f"mean {_fmt(minutes.get('mean'))} min, 95th percentile {_fmt(minutes.get('p95'))} "
            f"min, max {_fmt(minutes.get('max'))} min",
        ),
        ("Capital total", _money(summary.get("capital_total"))),
    ]
    exceptions = summary.get("exceptions") or {}
    if exceptions.get("count"):
        rows.append(
            (
                "Exception areas (beyond the travel limit)",
                f"{_fmt(exceptions.get('count'))} areas, "
                f"{_fmt(exceptions.get('population'))} people",
            )
        )
    within = "; ".join(
        f"{b.split('-')[1]} min: {_pct(s)}"
        for b, s in zip(bands["minutes"], bands["share_within"], strict=True)
    )
    rows.append(("Share of people within", within))
    return "<h2>Headline figures</h2>" + _pairs(rows)


def _capital_by_option(hubs: pd.DataFrame) -> str:
    if not len(hubs):
        return ""
    grouped = (
        hubs.groupby(hubs["option"].astype(str))
        .agg(
            hubs=("site_id", "count"),
            capital_cost=("capital_cost", "sum"),
            population=("population", "sum"),
        )
        .reset_index()
    )
    return "<h3>Capital by option</h3>" + _table(grouped, formats={"capital_cost": _money})


def _solver(summary: Mapping[str, Any]) -> str:
    s = summary.get("solver") or {}
    check = summary.get("check")
    if check is None:
        verdict = "not run"
    elif check.get("valid"):
        verdict = "<span class=ok>valid: every rule holds</span>"
    else:
        listed = "".join(f"<li>{safe_text(v)}</li>" for v in check.get("violations", []))
        verdict = (
            f"<span class=bad>{len(check.get('violations', []))} violations</span><ul>{listed}</ul>"
        )
    rows = [
        ("Solver", safe_text(s.get("name"))),
        ("Status", safe_text(s.get("status"))),
        ("Proven optimal", _fmt(bool(s.get("optimal")))),
        ("Objective", _fmt(s.get("objective"), 2)),
        ("Bound", _fmt(s.get("bound"), 2)),
        ("Gap", _gap_text(s.get("gap"))),
        (
            "Build / solve seconds",
            f"{_fmt(s.get('build_seconds'))} / {_fmt(s.get('solve_seconds'))}",
        ),
        ("Independent checker", verdict),
    ]
    return "<h2>Solver and check</h2>" + _pairs(rows) + _parts(s.get("parts"))


def _parts(parts: Any) -> str:
    """Each independent part (a group under ``within_group``) with its own gap."""
    if not parts or not _is_records(parts):
        return ""
    frame = pd.DataFrame(parts)
    columns = [c for c in ("name", "areas", "status", "objective", "bound", "gap") if c in frame]

    def gap(value: Any) -> str:
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return "–"
        return f"{100 * float(value):.2f}%"

    return "<h3>Parts solved apart</h3><p>Each part's gap is against its own bound.</p>" + _table(
        frame[columns], formats={"gap": gap}
    )


def _gap_text(gap: Any) -> str:
    if gap is None:
        return "–"
    if float(gap) >= 0.999:
        return "no useful bound was proven in the time given (the plan is valid, not proven best)"
    return f"{_pct(gap)}: a plan at most this much better might exist (0% = proven best)"


def _rules_inputs(summary: Mapping[str, Any]) -> str:
    out = ["<h2>Rules and inputs</h2>"]
    out.append("<h3>Rules</h3>" + _kv_table(summary.get("rules") or {}))
    inputs = dict(summary.get("inputs") or {})
    if summary.get("crs"):
        inputs["crs"] = summary["crs"]
    out.append("<h3>Inputs</h3>" + _kv_table(inputs))
    if summary.get("travel"):
        out.append("<h3>Travel</h3>" + _kv_table(summary["travel"]))
    return "".join(out)


def _evaluation(summary: Mapping[str, Any]) -> str:
    evaluation = summary.get("evaluation")
    if not evaluation:
        return ""
    parts = ["<h2 id=evaluation>Evaluation</h2>"]
    for key, value in evaluation.items():
        parts.append(f"<h3>{safe_text(str(key).replace('_', ' '))}</h3>")
        tables = (
            {k: v for k, v in value.items() if _is_records(v)} if isinstance(value, Mapping) else {}
        )
        rest = (
            {k: v for k, v in value.items() if k not in tables}
            if isinstance(value, Mapping)
            else value
        )
        if rest:
            parts.append(_figures_table(rest))
        for name, records in tables.items():
            parts.append(f"<h4>{safe_text(name)}</h4>" + _table(pd.DataFrame(records)))
    return "".join(parts)


def _figures_table(data: Any) -> str:
    """Evaluation figures in words: ``share within minutes / 15`` as a percentage."""
    rows = []
    for key, value in flatten(data):
        is_share = "share" in key and isinstance(value, float | int) and not isinstance(value, bool)
        shown = f"{100 * value:.1f}%" if is_share else _cell(value, 3)
        rows.append((safe_text(key.replace("_", " ")), shown))
    return _pairs(rows)


def _is_records(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, Mapping) for v in value)


def _timetable(timetable: pd.DataFrame | None) -> str:
    if timetable is None:
        return ""
    money = {c: _money for c in timetable.columns if "cost" in str(c)}
    return "<h2 id=timetable>Timetable</h2>" + _table(timetable, formats=money)


def _catchment_table(hubs: pd.DataFrame, exceptions: pd.Series | None) -> str:
    cols = [
        c
        for c in ["site_id", "name", "population", "areas", "mean_minutes", "max_minutes"]
        if c in hubs
    ]
    table = hubs[cols].sort_values("population", ascending=False)
    if exceptions is not None:
        table = table.assign(exception_areas=table["site_id"].map(exceptions).fillna(0).astype(int))
    return "<h2>Catchments</h2>" + _table(table)


def _hub_table(hubs: pd.DataFrame) -> str:
    money = {"capital_cost": _money}
    whole = {c: (lambda v: _fmt(v, 0)) for c in ("x", "y")}
    return "<h2>Hubs</h2>" + _table(hubs.sort_values("site_id"), formats=money | whole)


_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:980px;color:#222;
padding:0 16px}h1{font-size:24px;margin-bottom:4px}
h2{border-bottom:2px solid #4a7ab5;padding-bottom:2px;margin-top:28px}
table{border-collapse:collapse;margin:8px 0;font-size:13px}
th,td{border:1px solid #ccc;padding:3px 7px;text-align:left;vertical-align:top}
thead th{background:#eef2f8}td.num{text-align:right}
table.kv th{background:#f6f6f6;font-weight:600;width:280px}.ok{color:#17752c;font-weight:600}
.bad{color:#b00;font-weight:600}.figure{margin:10px 0 18px}.caption{color:#555;font-size:12px}
.scroll{max-height:520px;overflow:auto}nav a{margin-right:12px}
"""


def render_report(
    summary: Mapping[str, Any],
    hubs: pd.DataFrame,
    assignments: pd.DataFrame,
    *,
    catchments: gpd.GeoDataFrame | None = None,
    timetable: pd.DataFrame | None = None,
    colours: list[str] | None = None,
) -> str:
    """The report page as one HTML string.

    Parameters
    ----------
    summary
        The ``summary.json`` dict (``rules``, ``solver``, ``check``, ``minutes``, ...;
        an ``evaluation`` dict is rendered generically when present).
    hubs
        ``hubs.csv`` (every column present is shown).
    assignments
        ``assignments.csv`` with ``population`` (and a ``*decile*`` column for the
        deprivation plot when the areas carry one).
    catchments
        The ``catchments`` layer (with ``colour``) for the static map.
    timetable
        ``timetable.csv`` when the run wrote one.
    colours
        Fill colours of the catchment colour classes (the map's).

    Returns
    -------
    str
    """
    title = f"polygeo plan: {summary.get('scenario') or 'plan'}"
    weights = (
        assignments["population"].fillna(0).to_numpy(dtype=float)
        if "population" in assignments
        else np.ones(len(assignments))
    )
    bands = band_shares(assignments["minutes"].to_numpy(dtype=float), weights)
    exceptions = None
    if "exception" in assignments:
        exceptions = assignments[assignments["exception"].astype(bool)].groupby("site_id").size()
    parts = [
        f"<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>{safe_text(title)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{safe_text(title)}</h1>",
        _nav(summary, timetable),
        _headline(summary, hubs, bands),
        _capital_by_option(hubs),
        _solver(summary),
        _evaluation(summary),
        _timetable(timetable),
        "<h2 id=figures>Figures</h2>",
        *_figures(summary, hubs, assignments, bands, catchments, colours),
        "<div id=catchments></div>",
        "<div class=scroll>" + _catchment_table(hubs, exceptions) + "</div>",
        "<div class=scroll>" + _hub_table(hubs) + "</div>",
        _rules_inputs(summary),
        "<h3>Share of people by travel time</h3>"
        + _table(bands, formats={"share": _pct, "share_within": _pct}),
        "</body></html>",
    ]
    return "".join(parts)


def _nav(summary: Mapping[str, Any], timetable: pd.DataFrame | None) -> str:
    return (
        "<nav><a href='#figures'>Figures</a><a href='#catchments'>Catchments</a>"
        + ("<a href='#evaluation'>Evaluation</a>" if summary.get("evaluation") else "")
        + ("<a href='#timetable'>Timetable</a>" if timetable is not None else "")
        + "<a href='map.html'>Interactive map</a></nav>"
    )


def _figure(svg: str, caption: str) -> str:
    return f"<div class=figure>{svg}<div class=caption>{caption}</div></div>"


def _figures(
    summary: Mapping[str, Any],
    hubs: pd.DataFrame,
    assignments: pd.DataFrame,
    bands: pd.DataFrame,
    catchments: gpd.GeoDataFrame | None,
    colours: list[str] | None,
) -> list[str]:
    """People per polysystem, travel-time bands, minutes by deprivation, the static map."""
    rules = summary.get("rules") or {}
    minimum = rules.get("min_population")
    ordered = hubs.sort_values("population", ascending=False) if len(hubs) else hubs
    out = [
        _figure(
            bar_chart(
                ordered["population"].astype(float).tolist(),
                [str(n) for n in ordered["name"]],
                title="people per polysystem",
                y_label="people",
                line=float(minimum) if minimum else None,
                line_label=f"minimum {float(minimum or 0):,.0f}",
                tick_labels=False,
            ),
            "People per polysystem, largest first; the dashed line is the minimum.",
        ),
        _figure(
            bar_chart(
                bands["population"].tolist(),
                bands["minutes"].tolist(),
                title="travel-time distribution",
                y_label="people",
                colour="#e6894a",
            ),
            "People by travel time to their hub, in 5-minute bands.",
        ),
    ]
    column = deprivation_column(assignments.columns)
    by_decile = deprivation_means(assignments, column) if column else None
    if by_decile is not None:
        chart = bar_chart(
            by_decile["mean_minutes"].tolist(),
            [_fmt(d) for d in by_decile["decile"]],
            title="mean minutes by deprivation decile",
            y_label="mean minutes",
            colour="#7a5ab5",
        )
        caption = f"Population-weighted mean minutes by {safe_text(column)} (1 = most deprived)."
        out.append(_figure(chart, caption))
    if catchments is not None and len(catchments):
        svg = catchment_svg(
            catchments, hubs, colours or ["#8dd3c7", "#ffffb3", "#bebada", "#fb8072"]
        )
        caption = (
            "The catchments (neighbours never share a colour) and hubs (dots). "
            "The interactive map.html has the details."
        )
        out.append(_figure(svg, caption))
    return out
