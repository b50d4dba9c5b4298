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


@register.filter
def exponent(weight) -> str:
    """A fusion weight w as the exponent it becomes, 2·w (search.calibration.fuse)."""
    return f"{2 * float(weight or 0):.2f}"


@register.filter
def match_kind(kind) -> str:
    """A kind of metadata match as explain names it (search.calibration.KIND_LABELS)."""
    from search.calibration import KIND_LABELS

    return KIND_LABELS.get(kind, kind)


@register.filter
def log_loss(value) -> str:
    """A log-loss with the digits that tell two apart (search.quality.log_loss_text)."""
    from search.quality import log_loss_text

    return "" if value is None else log_loss_text(float(value))


@register.filter
def possessive(name) -> str:
    """A name's possessive, as English writes it: "Alice's trash", and "The Smiths' trash" for a name ending in s."""
    text = str(name)
    return f"{text}'" if text[-1:] in ("s", "S") else f"{text}'s"
