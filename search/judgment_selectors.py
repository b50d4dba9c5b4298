"""Reads of judgments: only the requesting user's own, in families they still belong to."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from search.models import Judgment, judgment_query


def judgment_list(*, user: AbstractBaseUser, family_id: int | None = None, query: str | None = None) -> QuerySet[Judgment]:
    if not user.is_authenticated:
        return Judgment.objects.none()
    judgments = Judgment.objects.filter(user_id=user.pk, family__memberships__user_id=user.pk)
    if family_id is not None:
        judgments = judgments.filter(family_id=family_id)
    if query is not None:
        judgments = judgments.filter(query=judgment_query(query))
    return judgments.order_by("-updated_at", "-id")


def judgment_verdicts(*, user: AbstractBaseUser, query: str, photo_ids: Iterable[int]) -> dict[int, bool]:
    """photo id → the user's verdict for `query`, for those of `photo_ids` they judged (a results page's state)."""
    ids = list(photo_ids)
    if not user.is_authenticated or not ids or not judgment_query(query):
        return {}
    return dict(Judgment.objects.filter(user_id=user.pk, query=judgment_query(query), photo_id__in=ids)
                .values_list("photo_id", "relevant"))
