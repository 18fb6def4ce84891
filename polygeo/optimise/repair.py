"""A contiguous plan from a solution whose catchments are in pieces.

Between two rounds of contiguity cuts the solver's plan usually has a few stray
pieces. Moving each piece whole to a bordering hub
(:func:`~polygeo.optimise.start.repair_contiguity`) often gives a contiguous plan
that meets every rule: an incumbent for the next round, and the plan returned
when the time runs out before the cuts are done.
"""

from __future__ import annotations

import numpy as np

from polygeo.optimise.model import Model


def pair_choice(model: Model, values: np.ndarray) -> np.ndarray:
    """The chosen pair column per area (``-1`` for areas without one)."""
    p = model.problem
    x = np.flatnonzero(np.asarray(values)[: model.n_x] > 0.5)
    choice = np.full(p.n_areas, -1, dtype=np.int64)
    choice[p.pair_area[x]] = x
    return choice


def is_contiguous(model: Model, choice: np.ndarray) -> bool:
    """Whether every catchment of the assignment is connected to its home area."""
    from polygeo.optimise.contiguity import disconnected_parts

    p = model.problem
    site_of = np.where(choice >= 0, p.pair_site[np.maximum(choice, 0)], -1)
    exempt = (choice >= 0) & p.pair_exception[np.maximum(choice, 0)]
    return not disconnected_parts(site_of, p.adjacency, p.home, exempt=exempt)


def contiguous_plan(model: Model, values: np.ndarray) -> np.ndarray | None:
    """A contiguous plan meeting every row of ``model`` near ``values``, or ``None``."""
    from polygeo.optimise.start import repair_contiguity, start_vector

    choice = repair_contiguity(model, pair_choice(model, values))
    if not is_contiguous(model, choice):
        return None
    return start_vector(model, choice)
