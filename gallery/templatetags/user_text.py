"""Template filters for text people type (titles, names, tags, queries), a builtin of every template (settings)."""

from __future__ import annotations

import re

from django import template
from django.utils.html import escape, strip_tags
from django.utils.safestring import SafeString, mark_safe

from gallery.text import text_isolated, without_loose_direction_codes

register = template.Library()


@register.filter
def isolated(value) -> str:
    """People's text, so it can't lay out the page around it: gallery.text.text_isolated. Not for a form field's
    `value` (what is sent back would hold the isolate) nor data the scripts read."""
    return text_isolated(value)


_EDITABLE_FIELD = re.compile(r'name="form-\d+-')  # (list_editable: the change list's formset, prefix "form")


@register.filter(is_safe=True)
def admin_cell_isolated(cell) -> str:
    """A cell of the Django admin's change list (templates/admin/change_list_results.html: Django renders each as
    `<td class="field-title">…</td>`, the values escaped) without the overrides and unclosed direction codes
    text_isolated leaves out: a title of an override (U+202E) and "evil" reads "evil", not "live", and the tags listed
    after such a tag read in order. A cell is a paragraph of its own (a table cell is a block), so nothing in it lays
    out another column. Codes are no markup: taking them out of the cell's HTML leaves it whole. A cell holding a field
    to edit (list_editable) is left as it is: a field holds the text as stored."""
    html = str(cell)
    return cell if _EDITABLE_FIELD.search(html) else without_loose_direction_codes(html)


_CELL_OPENING = re.compile(r"^(\s*<t[dh]\b)")


@register.filter
def admin_cells_labelled(result, headers) -> list[SafeString]:
    """The cells of a change list's row (templates/admin/change_list_results.html, for a model admin with
    `list_cells_labelled`), each with its column's name in `data-label`: a list laid out on a phone as one block a
    row (static/css/admin.css) shows each value under it, the header row no longer beside it. The action checkbox's
    column has no name, its cell no label."""
    labelled = []
    for cell, header in zip(result, headers):
        name = " ".join(strip_tags(str(header["text"])).split())
        label = f' data-label="{escape(name[:1].upper() + name[1:])}"' if name else ""
        labelled.append(mark_safe(_CELL_OPENING.sub(lambda opening: opening[1] + label, str(cell), count=1)))
    return labelled
