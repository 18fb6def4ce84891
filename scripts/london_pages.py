"""Run all of London and time / size the map and report; screenshot them offline.

Usage, from the repository root (needs ../shared/data, Debian chromium + chromedriver):

    python scripts/london_pages.py [--time-limit SECONDS] [--out FOLDER] [--screens FOLDER]

Prints the solve time, the time to write map.html and report.html, their sizes,
and what headless Chromium (networking off) draws: filled catchment polygons,
hub markers, console errors. Figures go to BENCHMARKS.md ("Maps and report").
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--time-limit", type=float, default=600.0)
    parser.add_argument("--out", type=Path, default=Path("london-pages-out"))
    parser.add_argument("--screens", type=Path, default=None)
    args = parser.parse_args()

    from polygeo.outputs import rebuild_pages
    from polygeo.pipeline import run_scenario
    from polygeo.scenario import load_scenario

    start = time.perf_counter()
    scenario = load_scenario(ROOT / "data" / "scenarios" / "london.toml")
    result = run_scenario(
        scenario, out_dir=args.out, progress=False, overrides={"time_limit": args.time_limit}
    )
    run_seconds = time.perf_counter() - start
    plan = result.plan
    print(f"run: {run_seconds:.1f} s; {len(plan.hubs)} hubs; solver {plan.solver.get('status')}")
    print(f"checker: {'valid' if not result.violations else result.violations[:3]}")

    start = time.perf_counter()
    rebuild_pages(args.out)
    print(f"polygeo report (map.html + report.html rebuilt): {time.perf_counter() - start:.1f} s")
    for name in ("map.html", "report.html", "catchments.gpkg"):
        size = (args.out / name).stat().st_size
        print(f"{name}: {size / 1e6:.2f} MB")

    from browser import Browser

    screens = args.screens or args.out
    screens.mkdir(parents=True, exist_ok=True)
    with Browser(1400, 1000) as browser:
        start = time.perf_counter()
        browser.open(args.out / "map.html")
        counts = browser.run(
            "return [document.querySelectorAll('path.pg-catchment').length,"
            " document.querySelectorAll('path.pg-hub').length]"
        )
        print(
            f"map in Chromium (offline): {counts[0]} catchment polygons, {counts[1]} hub "
            f"markers, loaded in {time.perf_counter() - start:.1f} s; console errors: "
            f"{browser.console_errors()}"
        )
        browser.screenshot(screens / "london-map.png")
        browser.open(args.out / "report.html")
        print(f"report console errors: {browser.console_errors()}")
        browser.screenshot(screens / "london-report.png", full_page=True)


if __name__ == "__main__":
    main()
