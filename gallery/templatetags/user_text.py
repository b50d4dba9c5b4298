"""Template filters for text people type (titles, names, tags, queries), a builtin of every template (settings)."""

from __future__ import annotations

from django import template

from gallery.text import text_isolated

register = template.Library()


@register.filter
def isolated(value) -> str:
    """People's text, so it can't lay out the page around it: gallery.text.text_isolated. Not for a form field's
    `value` (what is sent back would hold the isolate) nor data the scripts read."""
    return text_isolated(value)
