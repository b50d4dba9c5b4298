"""Folders of files for import tests, and the Django admin's forms as a browser posts them back."""

from __future__ import annotations

from pathlib import Path


def write(root: Path, files: dict[str, bytes]) -> Path:
    """Write `files` (relative path → bytes) under `root`, making the folders: the tree an import reads."""
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def admin_change_form_data(response) -> dict:
    """What the browser would post back from an admin change page (`response`), unchanged."""
    data = {}
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        forms += [inline.formset.management_form, *inline.formset.forms]
    for form in forms:
        for name in form.fields:
            value = form[name].value()
            if value is not None and value is not False:  # (0 == False: a formset's INITIAL_FORMS of 0 is sent)
                data[form.add_prefix(name)] = value
    return data


def admin_inline_row(data: dict, user) -> str:
    """The index of `user`'s membership row among the inline forms of `data` (admin_change_form_data)."""
    return next(key.split("-")[1] for key, value in data.items() if key.endswith("-user") and value == user.pk)
