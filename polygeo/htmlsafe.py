"""Escaping user strings for HTML pages (map and report).

Every string that comes from user data (names, ids, kinds, options, group and file
names) goes through :func:`safe_text` before it enters a page. Besides HTML's
``& < > " '`` it also encodes the backtick, ``$`` and the backslash, because folium
puts tooltip and popup HTML inside JavaScript template literals, where those would
end the string, interpolate ``${...}`` or start an escape sequence.
"""

from __future__ import annotations

import html
import math
from typing import Any

_EXTRA = str.maketrans({"`": "&#96;", "$": "&#36;", "\\": "&#92;"})


def safe_text(value: Any) -> str:
    """``value`` as text that is safe in HTML text, attributes and JS template literals.

    ``None`` and NaN become the empty string.

    Examples
    --------
    >>> safe_text('<script>alert(1)</script>')
    '&lt;script&gt;alert(1)&lt;/script&gt;'
    >>> safe_text("${x}`")
    '&#36;{x}&#96;'
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return html.escape(str(value), quote=True).translate(_EXTRA)


def script_safe(code: str) -> str:
    """JavaScript or CSS text that cannot end its ``<script>``/``<style>`` element early."""
    return code.replace("</", "<\\/")
