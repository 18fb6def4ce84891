"""Exceptions raised by polygeo.

Every error a user can cause is an :class:`InputError` (also a ``ValueError``)
whose message names the file, column, row or area and says how to fix it.
"""

from __future__ import annotations

from typing import Any


class PolygeoError(Exception):
    """Base class of every error polygeo raises on purpose."""


class InputError(ValueError, PolygeoError):
    """Bad input: a file, column, key or value the user can correct."""


class CRSError(InputError):
    """A missing or unusable coordinate reference system."""


class InfeasibleError(PolygeoError):
    """No plan can satisfy the rules.

    Parameters
    ----------
    message
        A readable summary.
    diagnosis
        The structured reasons (see :mod:`polygeo.optimise.diagnose`).
    """

    def __init__(self, message: str, diagnosis: Any = None) -> None:
        super().__init__(message)
        self.diagnosis = diagnosis


class SolverError(PolygeoError):
    """The solver failed or stopped without a feasible plan."""
