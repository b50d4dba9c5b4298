"""Writes of judgments: a member's "right" / "wrong" verdict on a search result (search.models.Judgment)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404

from gallery.models import Membership, Photo
from search.engine import MAX_QUERY_CHARS, SearchParams, explain_photo
from search.models import Judgment, judgment_query
from search.understanding import understand_search


def judgment_components(*, user: AbstractBaseUser, photo: Photo, query: str) -> dict:
    """Every score component the search for `query` (understood as the search page understands it) gives `photo`,
    searched in the photo's family: Explanation.as_dict(). Always the query's own components, also when the
    verdict was given on a refined search: a refined cosine is not a text-image one, and calibrations are
    fitted from these."""
    understood = understand_search(user=user, params=SearchParams(query=query, family_id=photo.family_id))
    explanation = explain_photo(user=user, params=understood.params, photo_id=photo.pk)
    return explanation.as_dict() if explanation else {}


@transaction.atomic
def judgment_record(*, user: AbstractBaseUser, photo: Photo, query: str, relevant: bool) -> tuple[Judgment, bool]:
    """Record (or replace) the user's verdict on `photo` for `query`, with the result's score components now.
    Returns the judgment and whether it is new. A photo the user may not see is a 404, like everywhere."""
    if not Membership.objects.filter(user_id=user.pk, family_id=photo.family_id).exists():
        raise Http404("No such photo.")
    normalised = judgment_query(query)
    if not normalised:
        raise ValidationError({"query": "A judgment needs the query it is about."})
    if len(normalised) > MAX_QUERY_CHARS:
        raise ValidationError({"query": f"A query is at most {MAX_QUERY_CHARS} characters."})
    components = judgment_components(user=user, photo=photo, query=" ".join(query.split()))
    judgment, created = Judgment.objects.update_or_create(
        user=user, photo=photo, query=normalised,
        defaults={"family_id": photo.family_id, "relevant": bool(relevant),
                  "model_name": components.get("model_name") or "", "components": components},
    )
    return judgment, created


@transaction.atomic
def judgment_delete(*, user: AbstractBaseUser, judgment_id: int) -> None:
    """Take back one of the user's own judgments (undo); another's, or a missing one, is a 404."""
    deleted, _ = Judgment.objects.filter(pk=judgment_id, user_id=user.pk,
                                         family__memberships__user_id=user.pk).delete()
    if not deleted:
        raise Http404("No such judgment.")


@transaction.atomic
def judgment_withdraw(*, user: AbstractBaseUser, photo: Photo, query: str) -> None:
    """Take back the user's verdict on `photo` for `query`, if any (the page's undo, which knows no id)."""
    Judgment.objects.filter(user_id=user.pk, photo=photo, query=judgment_query(query)).delete()
