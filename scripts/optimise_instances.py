"""Real instances for the optimiser benchmarks, loaded as ``polygeo run`` loads them.

Used by ``scripts/bench_bound.py`` and ``scripts/bench_london.py``. Each instance is
``(areas, sites, table, rules, far_times)`` built from a scenario in
``data/scenarios`` (paths point at ../shared/data, see data/README.md)::

    demo        the built-in Demoshire region (polygeo demo)
    hackney     London at 20 minutes, Hackney's areas only
    london-ne   the north-east sector (london-north-east.toml)
    london-ne-contiguous   the same with contiguous catchments (london-north-east-contiguous.toml)
    london      all of London (london.toml)
    london-contiguous   all of London with contiguous catchments (london-contiguous.toml)
    boroughs    London but the City with within_group = true (boroughs)
    england     every English LSOA and NHS site, 30 minutes (england.toml)
"""

from __future__ import annotations

import dataclasses
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from polygeo.optimise import Rules  # noqa: E402
from polygeo.pipeline import far_times_from, load_inputs, travel_table  # noqa: E402
from polygeo.scenario import load_scenario  # noqa: E402

SCENARIOS = ROOT / "data" / "scenarios"

INSTANCES = {
    "demo": (None, {}),
    "hackney": ("london.toml", {"include_groups": ["Hackney"]}),
    "london-ne": ("london-north-east.toml", {}),
    "london-ne-contiguous": ("london-north-east-contiguous.toml", {}),
    "london": ("london.toml", {}),
    "london-contiguous": ("london-contiguous.toml", {}),
    # the City of London (8,700 people) cannot hold a hub of its own: left out; one
    # Bromley area reaches no site that can fill a hub in its borough: an exception
    "boroughs": (
        "london.toml",
        {"within_group": True, "exclude_groups": ["City of London"], "allow_exceptions": True},
    ),
    "england": ("england.toml", {}),
}


def scenario_path(name: str) -> Path:
    """The scenario file of an instance (the demo's is written to a temporary folder)."""
    file, _ = INSTANCES[name]
    if file is None:
        from polygeo.demo import write_demo

        return write_demo(Path(tempfile.mkdtemp(prefix="polygeo-demo-")))
    return SCENARIOS / file


def load(name: str) -> tuple[Any, Any, Any, Rules, Any, Any]:
    """``(areas, sites, table, rules, far_times, solver_settings)`` of an instance."""
    from polygeo.optimise import SolverSettings

    _, extra = INSTANCES[name]
    scenario = load_scenario(scenario_path(name))
    if "include_groups" in extra:
        scenario.areas["include_groups"] = extra["include_groups"]
    inputs = load_inputs(scenario)
    if "exclude_groups" in extra:
        keep = ~inputs.areas["group"].astype(str).isin(extra["exclude_groups"])
        inputs.areas = inputs.areas[keep].reset_index(drop=True)
    provider, _, table = travel_table(scenario, inputs.areas, inputs.sites, progress=False)
    rules = Rules.from_dict(scenario.rules)
    if extra.get("within_group"):
        rules = dataclasses.replace(rules, within_group=True)
    if extra.get("allow_exceptions"):
        rules = dataclasses.replace(rules, allow_exceptions=True)
    far = far_times_from(provider, inputs.areas, inputs.sites)
    settings = SolverSettings.from_dict(scenario.solver)
    return inputs.areas, inputs.sites, table, rules, far, settings
