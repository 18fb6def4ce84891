"""What one solver run gives back, whichever backend ran it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class SolveResult:
    """What one solver run gives back."""

    status: str  # optimal | limit_feasible | time_limit_feasible | infeasible | no_solution | error
    values: np.ndarray | None
    bound: float | None
    gap: float | None
    detail: str = ""
    hit_time_limit: bool = False
