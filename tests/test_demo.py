"""The built-in demo region is deterministic, realistic and matches data/demo."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from polygeo.demo import make_demo_region

REPO = Path(__file__).resolve().parents[1]


def test_demo_region_is_deterministic_and_lsoa_like():
    a = make_demo_region()
    b = make_demo_region()
    assert a.areas["area_code"].tolist() == b.areas["area_code"].tolist()
    assert np.array_equal(a.population["population"], b.population["population"])
    assert a.areas.geometry.geom_equals_exact(b.areas.geometry, tolerance=0).all()

    areas = a.areas
    assert len(areas) == 360
    assert areas["area_code"].is_unique
    assert areas.geometry.is_valid.all()
    # the cells tile the 24 x 18 km region exactly
    assert abs(areas.geometry.area.sum() - 24_000 * 18_000) < 1_000
    pop = a.population["population"]
    assert pop.between(1000, 2900).all()
    assert 1500 < pop.mean() < 1800
    assert areas["imd_decile"].value_counts().sort_index().index.tolist() == list(range(1, 11))
    assert areas["borough"].nunique() == 5
    assert {k: len(v) for k, v in a.sites.items()} == {
        "gp": 48,
        "clinic": 14,
        "community": 8,
        "hospital": 4,
    }


def test_committed_demo_files_match_the_generator():
    region = make_demo_region()
    published = pd.read_csv(REPO / "data" / "demo" / "population.csv", thousands=",")
    assert published["Area Codes"].tolist() == region.population["area_code"].tolist()
    assert published["All Ages"].tolist() == region.population["population"].tolist()
    for kind, table in region.sites.items():
        committed = pd.read_csv(REPO / "data" / "demo" / f"{kind}.csv")
        assert committed["code"].tolist() == table["code"].tolist()
        assert np.allclose(committed[["easting", "northing"]], table[["easting", "northing"]])
