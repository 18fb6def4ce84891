"""map.html, report.html and the geodata of a run, checked against the plan.

One small demo run whose site names, one site kind and the scenario name are
hostile strings; the pages must show them as text (raw HTML here, and in headless
Chromium in the ``browser`` tests).
"""

from __future__ import annotations

import html
import json
import re
import time

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from browser import Browser, skip_browser
from typer.testing import CliRunner

from polygeo.cli import app
from polygeo.demo import write_demo
from polygeo.pipeline import run_scenario
from polygeo.scenario import load_scenario

HOSTILE = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "</script>",
    "${alert(1)}`\\u",
]
HOSTILE_KIND = 'clinic"><img src=x onerror=alert(2)>'
HOSTILE_SCENARIO = "<script>alert(3)</script> Shire"


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    path = write_demo(folder, n_areas=120, seed=7)
    text = path.read_text()
    text = text.replace('name = "Demoshire"', f"name = {json.dumps(HOSTILE_SCENARIO)}", 1)
    text = text.replace('kind = "clinic"', f"kind = {json.dumps(HOSTILE_KIND)}")
    text = text.replace("min_population = 50000", "min_population = 20000")
    text = text.replace("[output]", "[output]\ngeoparquet = true")
    path.write_text(text)
    n = 0
    for kind in ("hospital", "clinic", "community", "gp"):
        sites = pd.read_csv(folder / f"{kind}.csv", dtype=str)
        names = []
        for name in sites["name"]:
            names.append(f"{HOSTILE[n % len(HOSTILE)]} {name}")
            n += 1
        sites["name"] = names
        sites.to_csv(folder / f"{kind}.csv", index=False)
    scenario = load_scenario(path)
    result = run_scenario(scenario, progress=False, overrides={"time_limit": 20})
    assert result.violations == []
    return scenario.output_dir(), result


def _read(out):
    hubs = pd.read_csv(out / "hubs.csv", dtype={"site_id": str, "name": str, "kind": str})
    assignments = pd.read_csv(out / "assignments.csv", dtype={"area_id": str, "site_id": str})
    return hubs, assignments, json.loads((out / "summary.json").read_text())


# -- raw HTML ---------------------------------------------------------------------------
def test_map_is_one_offline_file_with_every_user_string_escaped(hostile_run):
    out, result = hostile_run
    page = (out / "map.html").read_text(encoding="utf-8")
    # nothing is fetched but the optional base tiles
    assert not re.search(r"<script[^>]+src=", page)
    assert not re.search(r"<link[^>]+href=", page)
    hosts = set(re.findall(r"https?://([\w.-]+)", page))
    assert hosts <= {
        "leafletjs.com",
        "tile.openstreetmap.org",
        "www.openstreetmap.org",
        "bugzilla.mozilla.org",
        "www.w3.org",
    }
    # no hostile string survives raw, and no script element is closed early
    lowered = page.lower()
    assert "<img src=x" not in lowered
    assert "alert(1)</script" not in lowered and "alert(3)</script" not in lowered
    assert lowered.count("<script") == lowered.count("</script>")
    assert "${alert(1)}" not in page and "\\u " not in page
    # the legend and title carry the escaped scenario name and kind
    assert f"<title>{html.escape(HOSTILE_SCENARIO)}</title>" in page
    assert html.escape(HOSTILE_KIND) in page
    assert "Leaflet" in page and "L.map(" in page  # the library itself is inlined


def test_map_legend_states_the_plans_figures(hostile_run):
    out, _ = hostile_run
    hubs, _, summary = _read(out)
    page = (out / "map.html").read_text(encoding="utf-8")
    legend = page[page.index("id='polygeo-legend'") :]
    pops = hubs["population"]
    assert f"{len(hubs):,} polysystems, {pops.min():,.0f} to {pops.max():,.0f} people" in legend
    assert "minimum per polysystem: 20,000 (all above it)" in legend
    for kind, count in hubs["kind"].value_counts().items():
        assert f"{html.escape(kind)}: {count} hub{'' if count == 1 else 's'}</div>" in legend
    for option, group in hubs.groupby("option"):
        assert f"{option} ({len(group)}, £{group['capital_cost'].sum():,.0f})" in legend
    # each hub's escaped name is in the page (inside the GeoJSON: < > & are \u-escaped)
    for name in hubs["name"]:
        escaped = html.escape(name).replace("`", "&#96;").replace("$", "&#36;")
        escaped = escaped.replace("\\", "&#92;")
        assert escaped.replace("&", "\\u0026").replace("<", "\\u003c") in page


def test_catchments_layer_has_hub_facts_and_no_neighbours_share_a_colour(hostile_run):
    out, result = hostile_run
    hubs, assignments, summary = _read(out)
    catchments = gpd.read_file(out / "catchments.gpkg", layer="catchments")
    areas = gpd.read_file(out / "catchments.gpkg", layer="areas")
    assert catchments.crs.to_string() == summary["crs"] == "EPSG:27700"
    merged = catchments.merge(hubs, on="site_id", suffixes=("", "_hub"))
    assert len(merged) == len(hubs) == len(catchments)
    for column in ("name", "kind", "option", "mean_minutes", "max_minutes", "population"):
        left, right = merged[column], merged[f"{column}_hub"]
        if not pd.api.types.is_numeric_dtype(left):
            assert (left == right).all(), column
        else:
            np.testing.assert_allclose(left, right, rtol=1e-9, err_msg=column)
    per_site = assignments.groupby("site_id")["population"].sum()
    np.testing.assert_allclose(catchments.set_index("site_id")["population"], per_site)
    # neighbours found independently: two touching areas with different hubs
    colour = dict(zip(catchments["site_id"], catchments["colour"], strict=True))
    left, right = areas.sindex.query(areas.geometry.buffer(1.0), predicate="intersects")
    site = areas["site_id"].to_numpy()
    pairs = {(site[a], site[b]) for a, b in zip(left, right, strict=True) if site[a] != site[b]}
    assert len(pairs) >= len(hubs)  # the catchments do touch each other
    assert all(colour[a] != colour[b] for a, b in pairs)
    # GeoParquet layers equal the GeoPackage ones
    parquet = gpd.read_parquet(out / "catchments.parquet")
    assert parquet.crs == catchments.crs
    assert sorted(parquet["site_id"]) == sorted(catchments["site_id"])
    assert set(summary["files"]) >= {"geoparquet_catchments", "geoparquet_areas", "report", "map"}


def _band_shares(assignments):
    w = assignments["population"].to_numpy(float)
    m = assignments["minutes"].to_numpy(float)
    return {upper: w[m <= upper + 1e-9].sum() / w.sum() for upper in (5, 10, 15, 20)}


def test_report_states_the_plans_figures_names_and_check(hostile_run):
    out, result = hostile_run
    hubs, assignments, summary = _read(out)
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "<script" not in page.lower().replace("&lt;script", "")  # no script at all
    assert "<img" not in page.lower() and "http" not in page.replace("http://www.w3.org", "")
    assert f"<h1>polygeo plan: {html.escape(HOSTILE_SCENARIO)}</h1>" in page
    metrics = result.plan.metrics()
    assert f"<th>Polysystems (hubs)</th><td>{len(hubs)}</td>" in page
    assert f"<th>People</th><td>{metrics['population']:,.0f}</td>" in page
    assert f"mean {metrics['mean_minutes']:,.1f} min" in page
    assert f"largest {hubs['population'].max():,.0f}" in page
    assert "every polysystem reaches it" in page
    assert "valid: every rule holds" in page
    assert f"<th>Status</th><td>{summary['solver']['status']}</td>" in page
    for upper, share in _band_shares(assignments).items():
        assert f"{upper} min: {100 * share:.1f}%" in page
    for name in hubs["name"]:
        assert (
            f"<td>{html.escape(name).replace('`', '&#96;').replace('$', '&#36;')}".replace(
                "\\", "&#92;"
            )
            in page
        )
    # figures: population bars (one per hub), travel-time bars, deprivation, static map
    assert page.count("<svg") == 4
    assert page.count("class='catchment'") == len(hubs)
    assert "mean minutes by deprivation decile" in page
    # every run appraises its plan: the evaluation section shows summary.json's figures
    evaluation = page[page.index("id=evaluation") :]
    access = summary["evaluation"]["access"]
    assert f"<th>mean minutes</th><td>{access['mean_minutes']:,.1f}" in evaluation
    assert "id=timetable" not in page  # no [timetable], no timetable.csv


def test_polygeo_report_rebuilds_pages_with_evaluation_and_timetable(hostile_run, tmp_path):
    out, _ = hostile_run
    summary = json.loads((out / "summary.json").read_text())
    summary["evaluation"] = {
        "access": {"mean_minutes": 7.25, "share_within_minutes": {"15": 0.9125}},
        "inequality": {"by_decile": [{"decile": 1, "population": 1234, "mean_minutes": 6.5}]},
    }
    folder = tmp_path / "copy"
    folder.mkdir()
    for name in ("hubs.csv", "assignments.csv", "catchments.gpkg"):
        (folder / name).write_bytes((out / name).read_bytes())
    (folder / "summary.json").write_text(json.dumps(summary))
    pd.DataFrame(
        {"year": [2027], "site_id": ["S1"], "name": ["</script>New & Co"], "capital_cost": [5e6]}
    ).to_csv(folder / "timetable.csv", index=False)
    result = CliRunner().invoke(app, ["report", str(folder)])
    assert result.exit_code == 0, result.output
    page = (folder / "report.html").read_text()
    evaluation = page[page.index("id=evaluation") : page.index("id=timetable")]
    assert "<th>mean minutes</th><td>7.2" in evaluation
    assert "<th>share within minutes / 15</th><td>91.2%" in evaluation
    assert "<td class=num>1,234</td><td class=num>6.5</td>" in evaluation
    assert "&lt;/script&gt;New &amp; Co" in page and "£5,000,000" in page
    assert (folder / "map.html").stat().st_size > 100_000
    assert (folder / "map.html").read_text().count("pg-catchment") >= 1

    (folder / "catchments.gpkg").unlink()
    (folder / "map.html").unlink()
    result = CliRunner().invoke(app, ["report", str(folder)])
    assert result.exit_code == 0
    assert "map.html not rebuilt: " in result.output and "has no catchments.gpkg" in result.output
    assert not (folder / "map.html").exists() and (folder / "report.html").exists()

    bad = CliRunner().invoke(app, ["report", str(tmp_path / "nowhere")])
    assert bad.exit_code == 2
    assert "not a polygeo output folder, it lacks summary.json, hubs.csv" in bad.output


def test_explore_needs_no_argument_and_adds_to_a_given_map(hostile_run):
    import folium

    _, result = hostile_run
    plan = result.plan
    m = plan.explore()
    assert isinstance(m, folium.Map)
    names = [getattr(c, "layer_name", None) for c in m._children.values()]
    assert {"catchments", "hubs", "areas by travel time"} <= set(names)
    base = folium.Map()
    before = len(base._children)
    assert plan.explore(m=base, travel_times=False) is base
    added = [getattr(c, "layer_name", None) for c in list(base._children.values())[before:]]
    assert "catchments" in added and "hubs" in added
    assert not any(isinstance(c, folium.LayerControl) for c in base._children.values())


# -- in the browser ---------------------------------------------------------------------
needs_browser = pytest.mark.skipif(skip_browser() is not None, reason=str(skip_browser()))


@pytest.mark.browser
@needs_browser
def test_map_renders_offline_in_chromium_with_names_as_text(hostile_run, tmp_path):
    out, _ = hostile_run
    hubs, _, _ = _read(out)
    with Browser() as browser:
        browser.open(out / "map.html")
        counts = browser.run(
            "return [document.querySelectorAll('path.pg-catchment').length,"
            " document.querySelectorAll('path.pg-hub').length,"
            " document.querySelectorAll('.leaflet-control-layers').length,"
            " document.querySelectorAll('#polygeo-legend').length,"
            " document.querySelectorAll('img[src=x]').length]"
        )
        assert counts == [len(hubs), len(hubs), 1, 1, 0]
        layers = browser.run(
            "return [...document.querySelectorAll('.leaflet-control-layers-overlays label')]"
            ".map(e => e.textContent.trim())"
        )
        assert layers == [
            "areas by travel time",
            "catchments",
            "candidate sites not chosen",
            "hubs",
        ]
        legend = browser.run("return document.getElementById('polygeo-legend').innerText")
        assert HOSTILE_SCENARIO in legend and HOSTILE_KIND in legend
        # open every hub's popup: the hostile names show as text, no element is injected
        texts = browser.run(
            """
            const out = [];
            for (const path of document.querySelectorAll('path.pg-hub')) {
              path.dispatchEvent(new MouseEvent('click', {bubbles: true}));
              const box = document.querySelector('.leaflet-popup-content');
              out.push([box.innerText, box.querySelectorAll('img,script').length]);
            }
            return out;"""
        )
        assert len(texts) == len(hubs)
        shown = " ".join(t for t, _ in texts)
        assert all(n == 0 for _, n in texts)
        for name in hubs["name"]:
            assert name in shown
        assert all("catchment population:" in t for t, _ in texts)
        # hovering shows the name and people only, not the popup's lines a second time
        tips = browser.run(
            """
            const out = [];
            for (const path of document.querySelectorAll('path.pg-hub')) {
              path.dispatchEvent(new MouseEvent('mouseover', {bubbles: true}));
              const tips = document.querySelectorAll('.leaflet-tooltip');
              out.push(tips[tips.length - 1].innerText);
              path.dispatchEvent(new MouseEvent('mouseout', {bubbles: true}));
            }
            return out;"""
        )
        expected = [
            f"{h.name} ({h.site_id}): {h.population:,.0f} people" for h in hubs.itertuples()
        ]
        assert sorted(tips) == sorted(expected)
        assert browser.alert_text() is None
        assert browser.console_errors() == []
        shot = browser.screenshot(tmp_path / "map.png")
    assert shot.stat().st_size > 10_000


@pytest.mark.browser
@needs_browser
def test_report_renders_offline_in_chromium_with_names_as_text(hostile_run, tmp_path):
    out, _ = hostile_run
    hubs, _, _ = _read(out)
    with Browser() as browser:
        start = time.perf_counter()
        browser.open(out / "report.html")
        assert time.perf_counter() - start < 30
        title = browser.run("return document.querySelector('h1').innerText")
        assert title == f"polygeo plan: {HOSTILE_SCENARIO}"
        text = browser.run("return document.body.innerText")
        for name in hubs["name"]:
            assert name.strip() in text
        assert browser.run("return document.querySelectorAll('img,script').length") == 0
        assert browser.run("return document.querySelectorAll('svg').length") == 4
        assert browser.alert_text() is None
        assert browser.console_errors() == []
        shot = browser.screenshot(tmp_path / "report.png", full_page=True)
    assert shot.stat().st_size > 10_000


def test_explore_draws_point_areas_and_says_when_no_geometry_is_kept():
    import geopandas as gpd

    from polygeo.optimise import Rules, solve
    from polygeo.optimise.synthetic import grid_instance

    areas, sites, table = grid_instance(4, 4)
    plan = solve(areas, sites, table, Rules(min_population=areas["population"].sum() / 4))
    assert plan.areas is areas and plan.sites is sites
    points = areas.assign(geometry=gpd.points_from_xy(areas["origin_x"], areas["origin_y"]))
    page = plan.explore(areas=points).get_root().render()
    assert page.count("pg-catchment") >= 1 and "polygeo-legend" in page
    plan.areas = None
    with pytest.raises(ValueError, match=r"keeps no area geometry: pass the areas"):
        plan.explore()


def test_report_escapes_rule_lists_and_evaluation_text_exactly_once():
    from polygeo.report import render_report

    hubs = pd.DataFrame(
        {
            "site_id": ["S1"],
            "name": ["B&Q <Clinic>"],
            "kind": ["gp"],
            "option": ["reuse"],
            "capital_cost": [0.0],
            "x": [0.0],
            "y": [0.0],
            "population": [60.0],
            "areas": [2],
            "mean_minutes": [4.0],
            "max_minutes": [6.0],
        }
    )
    assignments = pd.DataFrame(
        {
            "area_id": ["a", "b"],
            "site_id": ["S1", "S1"],
            "minutes": [2.0, 6.0],
            "exception": [False, False],
            "population": [20.0, 40.0],
        }
    )
    summary = {
        "scenario": "x",
        "rules": {"min_population": 50, "required_sites": ["<b>S1</b>", "A&B"]},
        "evaluation": {"baseline": {"name": "</script>nearest", "change": {"mean": -1.5}}},
    }
    page = render_report(summary, hubs, assignments)
    assert "<th>required_sites</th><td>&lt;b&gt;S1&lt;/b&gt;, A&amp;B</td>" in page
    assert "<th>name</th><td>&lt;/script&gt;nearest</td>" in page
    assert "<th>change / mean</th><td>-1.500</td>" in page
    assert "<td>B&amp;Q &lt;Clinic&gt;</td>" in page
    # 20 of 60 people within 5 minutes, all within 10
    assert "5 min: 33.3%; 10 min: 100.0%" in page
    assert "amp;amp;" not in page and "&amp;lt;" not in page


def test_report_lists_each_part_with_its_own_gap_and_escapes_its_name():
    from polygeo.report import render_report

    hubs = pd.DataFrame(columns=["site_id", "name", "kind", "option", "capital_cost", "x", "y",
                                 "population", "areas", "mean_minutes", "max_minutes"])  # fmt: skip
    assignments = pd.DataFrame(columns=["area_id", "site_id", "minutes", "exception", "population"])
    parts = [
        {"name": "Hackney", "areas": 144, "status": "optimal", "objective": 679793.3,
         "bound": 679793.3, "gap": 0.0},
        {"name": "<b>Brent</b>", "areas": 173, "status": "gap_limit", "objective": 1125890.0,
         "bound": 1120444.0, "gap": 0.0048371},
    ]  # fmt: skip
    page = render_report({"scenario": "x", "solver": {"parts": parts}}, hubs, assignments)
    assert "<h3>Parts solved apart</h3>" in page
    assert "<td>&lt;b&gt;Brent&lt;/b&gt;</td>" in page and "<b>Brent</b>" not in page
    assert "<td class=num>0.48%</td>" in page
    assert page.count("<tr><td>") >= 2
