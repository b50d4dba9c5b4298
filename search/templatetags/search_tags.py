from __future__ import annotations

import os

from django import template

register = template.Library()


@register.filter
def signed(value) -> str:
    """'+ 1.23' or '− 16.50', for writing a formula out."""
    if value is None:
        return ""
    value = float(value)
    return f"+ {value:.2f}" if value >= 0 else f"− {abs(value):.2f}"


@register.filter
def basename(path) -> str:
    """A model's short name: a hub id stays as it is, a local directory shows its last part."""
    text = str(path or "")
    return os.path.basename(text.rstrip("/")) if text.startswith(("/", ".")) else text


@register.filter
def get_item(mapping, key):
    """mapping[key], or None: a result's verdict from the page's {photo id: verdict}."""
    return mapping.get(key) if hasattr(mapping, "get") else None
