"""polygeo: plan health-care catchments (polysystems) and site polyclinic hubs."""

from __future__ import annotations

__version__ = "0.1.0"
