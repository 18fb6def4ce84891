"""All of London (4,835 areas): map.html stays well under 10 MB and renders offline.

The solver gets a few seconds (its start plan is a valid plan); the full solve and
its timings are in scripts/london_pages.py and BENCHMARKS.md.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import pandas as pd
import pytest
from browser import Browser, skip_browser

from polygeo.pipeline import run_scenario
from polygeo.scenario import load_scenario

SCENARIO = Path(__file__).resolve().parents[1] / "data" / "scenarios" / "london.toml"


@pytest.fixture(scope="module")
def london_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("london")
    result = run_scenario(
        load_scenario(SCENARIO), out_dir=out, progress=False, overrides={"time_limit": 5}
    )
    assert result.violations == []
    return out, result


@pytest.mark.shared_data
@pytest.mark.slow
def test_london_pages_state_the_plan(london_run):
    out, result = london_run
    hubs = pd.read_csv(out / "hubs.csv", dtype={"site_id": str, "name": str})
    summary = json.loads((out / "summary.json").read_text())
    assert summary["inputs"]["areas"] == 4835 and summary["coverage"] == 1.0
    size = (out / "map.html").stat().st_size
    assert size < 8_000_000, f"map.html is {size / 1e6:.1f} MB"
    page = (out / "map.html").read_text(encoding="utf-8")
    pops = hubs["population"]
    assert f"{len(hubs):,} polysystems, {pops.min():,.0f} to {pops.max():,.0f} people" in page
    assert "minimum per polysystem: 50,000 (all above it)" in page
    report = (out / "report.html").read_text(encoding="utf-8")
    assert f"<th>Polysystems (hubs)</th><td>{len(hubs)}</td>" in report
    assert f"<th>People</th><td>{summary['population']:,.0f}</td>" in report
    assert report.count("class='catchment'") == len(hubs)
    for name in hubs["name"].head(20):
        assert f"<td>{html.escape(name)}</td>" in report


@pytest.mark.shared_data
@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.skipif(skip_browser() is not None, reason=str(skip_browser()))
def test_london_map_renders_offline_with_a_polygon_per_catchment(london_run, tmp_path):
    out, result = london_run
    n_hubs = len(result.plan.hubs)
    with Browser(1400, 1000) as browser:
        browser.open(out / "map.html")
        counts = browser.run(
            "return [document.querySelectorAll('path.pg-catchment').length,"
            " [...document.querySelectorAll('path.pg-catchment')]"
            "   .filter(p => (p.getAttribute('d') || '').length > 20"
            "     && p.getAttribute('fill') !== 'none').length,"
            " document.querySelectorAll('path.pg-hub').length]"
        )
        assert counts == [n_hubs, n_hubs, n_hubs]
        assert browser.console_errors() == []
        browser.screenshot(tmp_path / "london-map.png")
        browser.open(out / "report.html")
        assert browser.console_errors() == []
        browser.screenshot(tmp_path / "london-report.png", full_page=True)
    assert (tmp_path / "london-map.png").stat().st_size > 50_000
