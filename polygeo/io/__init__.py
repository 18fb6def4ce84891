"""Read areas and candidate sites from the files people publish them in.

:func:`read_areas` and :func:`read_sites` return the frames described in
``docs/architecture.md``; :func:`read_table` and :func:`read_nhs_choices` read
the published formats themselves. Everything a loader drops or repairs is kept
in ``frame.attrs["load_report"]`` for :func:`polygeo.validate.validate`.
"""

from __future__ import annotations

from polygeo.io._tables import read_nhs_choices, read_table
from polygeo.io.areas import read_areas
from polygeo.io.sites import read_sites

__all__ = ["read_areas", "read_nhs_choices", "read_sites", "read_table"]
