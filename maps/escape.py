"""The one place where values from the data become page text. Every value that reaches a map page
(names, codes, numbers, URLs) goes through the helper for the context it lands in.

Folium writes popups and tooltips into JavaScript template literals (`` `<div>…</div>` ``) that
are then parsed as HTML, and GeoJSON tooltips insert feature properties with `innerHTML`; branca
writes the page title unescaped. So:

- `text` for anything parsed as HTML (page text, `<title>`, attribute values, tooltip properties);
- `template_literal` on top of that for HTML that folium places inside a template literal.

Data that folium embeds in scripts (GeoJSON, options) goes through Jinja's `tojson`, which
already escapes `<`, `>`, `&` and `'`.
"""

from __future__ import annotations

import html


def text(value: object) -> str:
    """HTML text or a quoted attribute value: `& < > " '` escaped."""
    return html.escape(str(value), quote=True)


_TEMPLATE = str.maketrans({"\\": "\\\\", "`": "\\`", "$": "\\$"})


def template_literal(markup: str) -> str:
    """Markup made safe inside a JavaScript template literal: `\\`, backticks and `${` cannot end
    the literal or start an expression. `markup` must already be HTML built with `text`."""
    return markup.translate(_TEMPLATE)
