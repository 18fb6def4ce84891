"""A small Demoshire (60 areas, 96,031 people) whose scenario solves in well under a second."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

from polygeo.demo import write_demo


def write_tiny(folder: Path, *, min_population: int = 8000, extra: str = "") -> Path:
    """Write the small region and its scenario (``scenario.toml``) into ``folder``."""
    scenario = write_demo(folder, n_areas=60)
    text = scenario.read_text()
    text = text.replace("min_population = 50000", f"min_population = {min_population}")
    text = re.sub(r"(?m)^time_limit = [\d.]+$", "time_limit = 10", text)
    text = re.sub(r"(?m)^gap = [\d.]+$", "gap = 0.2", text)
    assert "time_limit = 10" in text and "gap = 0.2" in text, "the demo scenario changed"
    scenario.write_text(text + extra)
    return scenario


def read_set(folder: Path) -> dict:
    """The run id of an output folder, its hubs and the hubs its assignments use."""
    summary = json.loads((folder / "summary.json").read_text())
    with (folder / "hubs.csv").open(newline="") as fh:
        hubs = {row["site_id"] for row in csv.DictReader(fh)}
    with (folder / "assignments.csv").open(newline="") as fh:
        used = {row["site_id"] for row in csv.DictReader(fh)}
    return {"id": summary["run"]["id"], "hubs": hubs, "used": used, "summary": summary}
