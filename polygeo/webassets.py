"""Leaflet's JavaScript and CSS, read from a packaged copy to inline into pages.

The copy is the ``XStatic-Leaflet`` package (PyPI): Leaflet 1.9.3, the version
folium itself links, packaged as plain files with no dependencies. Inlining it
makes ``map.html`` one file that renders with no network.
"""

from __future__ import annotations

import base64
import re
from functools import cache
from pathlib import Path


def _leaflet_dir() -> Path:
    try:
        import xstatic.pkg.leaflet as leaflet
    except ImportError as exc:  # pragma: no cover - a core dependency
        raise ImportError(
            "the self-contained map needs XStatic-Leaflet: pip install xstatic-leaflet"
        ) from exc
    return Path(leaflet.BASE_DIR)


@cache
def leaflet_version() -> str:
    """The version of the packaged Leaflet."""
    import xstatic.pkg.leaflet as leaflet

    return str(leaflet.VERSION)


@cache
def leaflet_js() -> str:
    """Leaflet's minified JavaScript, without its source-map comment."""
    text = (_leaflet_dir() / "leaflet.js").read_text(encoding="utf-8")
    return re.sub(r"//# sourceMappingURL=\S+\s*$", "", text)


@cache
def leaflet_css() -> str:
    """Leaflet's CSS with its images inlined as data URIs."""
    folder = _leaflet_dir()
    text = (folder / "leaflet.css").read_text(encoding="utf-8")

    def inline(match: re.Match[str]) -> str:
        data = base64.b64encode((folder / match.group(1)).read_bytes()).decode("ascii")
        return f"url(data:image/png;base64,{data})"

    return re.sub(r"url\((images/[\w.-]+\.png)\)", inline, text)
