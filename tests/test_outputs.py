"""Atomic writes leave either the old file or the new one, never half of one."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from polygeo.outputs import write_atomic, write_csv, write_json


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "summary.json"
    write_json(target, {"a": 1})

    def broken(tmp):
        tmp.write_text("{half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_atomic(target, broken)
    assert json.loads(target.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]


def test_csv_puts_contract_columns_first(tmp_path):
    frame = pd.DataFrame({"extra": [1], "site_id": ["S1"], "area_id": ["A1"]})
    path = write_csv(tmp_path / "a.csv", frame, ["area_id", "site_id"])
    assert path.read_text().splitlines()[0] == "area_id,site_id,extra"
    with pytest.raises(KeyError, match=r"missing columns \['minutes'\]"):
        write_csv(tmp_path / "b.csv", frame, ["minutes"])
    assert not (tmp_path / "b.csv").exists()
