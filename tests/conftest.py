"""Shared fixtures: where the real public data lives, and how its absence is handled.

Tests that read ``../shared/data`` carry ``@pytest.mark.shared_data``. Where the
folder is absent (a newcomer's clone) they are skipped with the reason; under
``CI=true`` its absence stops the whole run instead.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
_MISSING = (
    f"the real public data is not at {SHARED_DATA}; clone polygeo beside shared/ "
    "(README, 'Real data') to run these tests"
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if SHARED_DATA.is_dir():
        return
    if any("shared_data" in item.keywords for item in items) and os.environ.get("CI") == "true":
        raise pytest.UsageError(f"CI=true but {_MISSING}")
    skip = pytest.mark.skip(reason=_MISSING)
    for item in items:
        if "shared_data" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path of ``../shared/data`` (use with ``@pytest.mark.shared_data``)."""
    return SHARED_DATA
