"""The per-page badge: a small flat SVG ("label | count"), text escaped, no script, no external refs."""

from __future__ import annotations

from html import escape

MAX_LABEL = 40
CHAR_WIDTH = 7  # an approximate width of one character of 11 px Verdana-like text
PADDING = 10


def _width(text: str) -> int:
    return len(text) * CHAR_WIDTH + 2 * PADDING


def render(label: str, value: str) -> str:
    """An SVG badge; ``label`` is cut to ``MAX_LABEL`` characters, both texts are XML-escaped."""
    label = label[:MAX_LABEL] or "visits"
    left, right = _width(label), _width(value)
    total = left + right
    safe_label, safe_value = escape(label, quote=True), escape(value, quote=True)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="20" role="img" '
        f'aria-label="{safe_label}: {safe_value}">'
        f"<title>{safe_label}: {safe_value}</title>"
        f'<rect width="{left}" height="20" fill="#555"/>'
        f'<rect x="{left}" width="{right}" height="20" fill="#2b7bb9"/>'
        '<g fill="#fff" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11">'
        f'<text x="{PADDING}" y="14">{safe_label}</text>'
        f'<text x="{left + PADDING}" y="14">{safe_value}</text>'
        "</g></svg>"
    )
