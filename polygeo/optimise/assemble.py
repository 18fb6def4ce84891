"""The last step: a solution vector of the model turned into a :class:`~polygeo.plan.Plan`."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from polygeo.optimise.model import Model
from polygeo.plan import ASSIGNMENT_COLUMNS, HUB_COLUMNS, Plan


def make_plan(model: Model, values: np.ndarray, solver: dict[str, Any]) -> Plan:
    """Turn a solution vector into a :class:`~polygeo.plan.Plan`."""
    p = model.problem
    x = values[: model.n_x] > 0.5
    y = values[model.n_x : model.n_x + model.n_y] > 0.5
    k = np.flatnonzero(x)
    k = k[np.lexsort((p.pair_site[k], p.pair_area[k]))]
    assignments = pd.DataFrame(
        {
            "area_id": p.area_ids[p.pair_area[k]],
            "site_id": p.site_ids[p.pair_site[k]],
            "minutes": p.pair_minutes[k].astype(float),
            "exception": p.pair_exception[k].astype(bool),
        },
        columns=ASSIGNMENT_COLUMNS,
    )
    o = np.flatnonzero(y)
    sites = p.opt_site[o]
    order = np.argsort(sites, kind="stable")
    o, sites = o[order], sites[order]
    a_site = p.pair_site[k]
    w = p.population[p.pair_area[k]]
    t = p.pair_minutes[k]
    m = p.n_sites
    pop = np.bincount(a_site, weights=w, minlength=m)
    count = np.bincount(a_site, minlength=m)
    wt = np.bincount(a_site, weights=w * t, minlength=m)
    tsum = np.bincount(a_site, weights=t, minlength=m)
    tmax = np.full(m, np.nan)
    if len(k):
        tmax_all = np.full(m, -np.inf)
        np.maximum.at(tmax_all, a_site, t)
        tmax = np.where(np.isfinite(tmax_all), tmax_all, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(pop > 0, wt / np.where(pop > 0, pop, 1), tsum / np.maximum(count, 1))
    mean = np.where(count > 0, mean, np.nan)
    hubs = pd.DataFrame(
        {
            "site_id": p.site_ids[sites],
            "name": p.site_name[sites],
            "kind": p.site_kind[sites],
            "option": p.opt_name[o],
            "capital_cost": p.opt_cost[o],
            "x": p.site_x[sites] if len(p.site_x) else np.zeros(len(sites)),
            "y": p.site_y[sites] if len(p.site_y) else np.zeros(len(sites)),
            "population": pop[sites],
            "areas": count[sites].astype(np.int64),
            "mean_minutes": mean[sites],
            "max_minutes": tmax[sites],
        },
        columns=HUB_COLUMNS,
    )
    terms = model.objective_terms(values)
    population = pd.Series(p.population, index=pd.Index(p.area_ids, name="area_id"))
    stats = dict(p.stats)
    stats.update(
        {
            "rows": int(model.n_rows),
            "columns": int(model.n_cols),
            "nonzeros": int(model.A.nnz),
            "linking": model.linking,
            "weights": dict(model.weights),
        }
    )
    return Plan(
        assignments=assignments,
        hubs=hubs,
        solver=solver,
        objective_terms=terms,
        rules=p.rules,
        crs=p.crs,
        population=population,
        stats=stats,
        diagnosis=p.diagnosis,
    )
