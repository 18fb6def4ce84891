"""The notebooks run top to bottom in a real Jupyter kernel (nbclient), as a reader runs them.

Each notebook asserts its own results (a checked plan, 100% coverage, every variant of
the sweep finished); a check cell added here (not saved) asserts more. The London
notebooks read ``../shared/data`` and use short solver time limits in their scenarios.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import SHARED_DATA

nbformat = pytest.importorskip("nbformat", reason='pip install -e ".[dev]" (nbclient)')
nbclient = pytest.importorskip("nbclient", reason='pip install -e ".[dev]" (nbclient)')

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
CELL_TIMEOUT = 300  # seconds per cell; each notebook takes about a minute

CHECKS = {
    "quickstart.ipynb": """
assert violations == []
assert plan.metrics()["coverage"] == 1.0
assert m.get_root().render().count("catchments") >= 1
""",
    "01_london_polysystems.ipynb": """
assert len(areas) == 1023 and violations == []
assert plan.metrics()["coverage"] == 1.0
assert m.get_root().render().count("catchments") >= 1
""",
    "02_capital_options.ipynb": """
assert len(comparison) == 3 and set(comparison["status"]) == {"ok"}
rows = comparison.set_index("name")
for variant in sweep.variants:  # recomputed from each variant's own hubs.csv
    hubs = pd.read_csv(variant.folder / "hubs.csv")
    assert abs(hubs["capital_cost"].sum() - rows.loc[variant.name, "capital_total"]) < 1e-6
    assert rows.loc[variant.name, "polysystems"] == len(hubs)
    if variant.name == "options=hospitals-clinics":
        assert set(hubs["kind"]) <= {"hospital", "clinic"}
""",
}


def _execute(path: Path, tmp_path: Path) -> None:
    """Run a copy of the notebooks folder, placed as in a clone beside ``shared/``.

    The copy keeps the outputs the notebooks write out of the repository, and a fresh
    folder makes the sweep run its variants rather than skip finished ones.
    """
    work = tmp_path / "clone" / "notebooks"
    shutil.copytree(NOTEBOOKS, work, ignore=shutil.ignore_patterns("*-out"))
    (tmp_path / "shared").symlink_to(SHARED_DATA.parent, target_is_directory=True)
    notebook = nbformat.read(work / path.name, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(CHECKS[path.name]))
    client = nbclient.NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(work)}},
    )
    client.execute()


def test_quickstart_runs(tmp_path):
    _execute(NOTEBOOKS / "quickstart.ipynb", tmp_path)


@pytest.mark.shared_data
@pytest.mark.slow
@pytest.mark.parametrize("name", ["01_london_polysystems.ipynb", "02_capital_options.ipynb"])
def test_london_notebook_runs(name, tmp_path):
    _execute(NOTEBOOKS / name, tmp_path)


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("*.ipynb")), ids=lambda p: p.name)
def test_notebooks_are_stored_without_outputs(path):
    cells = json.loads(path.read_text())["cells"]
    for cell in cells:
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [] and cell.get("execution_count") is None, path.name
    assert path.name in CHECKS, "add the notebook's checks to CHECKS"
