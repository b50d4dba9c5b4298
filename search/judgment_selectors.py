"""Reads of judgments: only the requesting user's own, in families they still belong to."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Exists, OuterRef, QuerySet
from django.http import Http404

from gallery.models import Membership
from search.models import Judgment, judgment_query


def family_judgments(*, family_id: int | None = None) -> QuerySet[Judgment]:
    """The judgments that speak for a family (one, or each): those of its members now. A member removed or gone
    takes theirs out of its fits, figures and reports (kept, they count again if they come back)."""
    judgments = Judgment.objects.filter(Exists(Membership.objects.filter(family_id=OuterRef("family_id"),
                                                                         user_id=OuterRef("user_id"))))
    return judgments if family_id is None else judgments.filter(family_id=family_id)


def judgment_list(*, user: AbstractBaseUser, family_id: int | None = None, query: str | None = None) -> QuerySet[Judgment]:
    if not user.is_authenticated:
        return Judgment.objects.none()
    judgments = Judgment.objects.filter(user_id=user.pk, family__memberships__user_id=user.pk)
    if family_id is not None:
        judgments = judgments.filter(family_id=family_id)
    if query is not None:
        judgments = judgments.filter(query=judgment_query(query))
    return judgments.order_by("-updated_at", "-id")


def judgment_get(*, user: AbstractBaseUser, judgment_id: int) -> Judgment:
    judgment = judgment_list(user=user).filter(pk=judgment_id).first()
    if judgment is None:
        raise Http404("No such judgment.")
    return judgment


def judgment_refine_ids(*, user: AbstractBaseUser, query: str, limit: int = 50) -> tuple[list[int], list[int]]:
    """The photos the user marked right and wrong for `query` (most recent first, up to `limit` each): what
    "more like these / fewer like those" refines the search with. A photo in the trash refines nothing (search
    ignores it): its mark waits until it is restored."""
    if not user.is_authenticated or not judgment_query(query):
        return [], []
    rows = judgment_list(user=user, query=query).filter(photo__trashed_at__isnull=True).values_list(
        "photo_id", "relevant")
    right = [photo_id for photo_id, relevant in rows if relevant][:limit]
    wrong = [photo_id for photo_id, relevant in rows if not relevant][:limit]
    return right, wrong


def judgment_verdicts(*, user: AbstractBaseUser, query: str, photo_ids: Iterable[int]) -> dict[int, bool]:
    """photo id → the user's verdict for `query`, for those of `photo_ids` they judged (a results page's state)."""
    ids = list(photo_ids)
    if not user.is_authenticated or not ids or not judgment_query(query):
        return {}
    return dict(Judgment.objects.filter(user_id=user.pk, query=judgment_query(query), photo_id__in=ids)
                .values_list("photo_id", "relevant"))


def judgments_export_rows(*, family_id: int | None = None, username: str | None = None) -> Iterator[dict]:
    """Every judgment (of one family and/or user) as a JSON-ready row for `manage.py judgments export`. The photo is
    named by its id, its family and its content (sha256 of its bytes, perceptual hash), so an import finds it again
    after a model switch, a restore or in another installation holding the same photos."""
    judgments = Judgment.objects.select_related("user", "family", "photo").order_by("id")
    if family_id is not None:
        judgments = judgments.filter(family_id=family_id)
    if username is not None:
        judgments = judgments.filter(user__username=username)
    for j in judgments.iterator(chunk_size=500):
        yield {
            "user": j.user.get_username(), "family": j.family_id, "family_name": j.family.name,
            "photo": j.photo_id, "sha256": j.photo.sha256, "phash": j.photo.phash,
            "original_filename": j.photo.original_filename, "query": j.query, "relevant": j.relevant,
            "model_name": j.model_name, "components": j.components,
            "created_at": j.created_at.isoformat(), "updated_at": j.updated_at.isoformat(),
        }
