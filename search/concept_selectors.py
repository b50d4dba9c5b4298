"""Reads of the tag-suggestion vocabulary for those who curate it (the concepts admin): only what the requesting user
may see of other families' entries."""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import OuterRef, Subquery

from gallery.admin_scope import families_live, families_of
from gallery.selectors import same_name
from search.models import TagConcept


def shared_concepts_replaced_in(*, user: AbstractBaseUser, concept_ids: Sequence[int]) -> dict[int, list[str]]:
    """{shared concept id: the names of the user's families (every family for a superuser) that use an entry of their
    own of its name instead}, by family name; a shared concept none of them replaces is left out. An entry unticked
    turns the shared concept off for its family (a merge's doing or its admin's): "every family" alone would say it
    is in force there. One query, none for no concepts; a family the user is not in is never named."""
    if not concept_ids:
        return {}
    families = families_live() if user.is_superuser else families_of(user)
    shared = TagConcept.objects.filter(family=None, pk__in=list(concept_ids))
    entries = (TagConcept.objects.filter(family__in=families)
               .annotate(shared_id=Subquery(shared.filter(same_name("name", OuterRef("name"))).values("pk")[:1]))
               .filter(shared_id__isnull=False).order_by("family__name", "family_id"))
    replaced_in: dict[int, list[str]] = {}
    for shared_id, family_name in entries.values_list("shared_id", "family__name"):
        replaced_in.setdefault(shared_id, []).append(family_name)
    return replaced_in
