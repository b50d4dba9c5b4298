"""How a command names a family: its id, or its name when no other family has it (names are not unique)."""

from __future__ import annotations

from django.core.management.base import CommandError

from gallery.models import Family
from gallery.selectors import name_key_sql
from gallery.text import id_from_text, name_key


def family_from_option(key: str) -> Family:
    """The family `key` names (an id, or a name as it reads: name_key, as create_family finds one: "STRASSE" is
    "Straße"), or a CommandError saying what to type instead."""
    key = key.strip()
    if (family_id := id_from_text(key)) is not None:
        found = list(Family.objects.filter(pk=family_id, deleting_since__isnull=True))
    else:  # a family being deleted is no more (gallery.services.family_delete_start)
        found = list(Family.objects.annotate(key=name_key_sql("name"))
                     .filter(key=name_key(key), deleting_since__isnull=True).order_by("pk"))
    if not found:
        raise CommandError(f"No family called “{key}”.")
    if len(found) > 1:
        ids = ", ".join(str(family.pk) for family in found)
        raise CommandError(f"{len(found)} families are called “{key}” (ids {ids}): give the id instead.")
    return found[0]
