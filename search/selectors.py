"""Reads of the search app. Like the gallery's, they take the requesting user where scope matters."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, Q

from gallery.models import Family, Photo
from gallery.selectors import family_list, family_status_counts
from search.models import EmbeddingModel, PhotoEmbedding


def active_model_state() -> EmbeddingModel | None:
    return EmbeddingModel.objects.filter(name=settings.SEARCH_MODEL).first()


def family_search_model(*, family_id: int) -> str:
    """The model whose embeddings search should use for this family.

    The active model once it covers every photo that can be embedded; until then, during a model
    switch, the previous model with the best coverage keeps serving."""
    active = settings.SEARCH_MODEL
    # Usually no other model has embeddings at all, and then the answer is the active model whatever the
    # coverage. Two range probes of the (model_name, photo) index say so in well under a millisecond; the
    # coverage check below reads every photo of the family (tens of ms at 10,000 photos), on every search.
    if not PhotoEmbedding.objects.filter(Q(model_name__lt=active) | Q(model_name__gt=active)).exists():
        return active
    embeddable = Photo.objects.filter(family_id=family_id).exclude(status=Photo.Status.FAILED)
    if not embeddable.exclude(embeddings__model_name=active).exists():
        return active
    previous = (
        PhotoEmbedding.objects.filter(family_id=family_id)
        .exclude(model_name=active)
        .values("model_name")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    active_count = PhotoEmbedding.objects.filter(family_id=family_id, model_name=active).count()
    if previous and previous["n"] > active_count:
        return previous["model_name"]
    return active


@dataclass
class FamilyIndexStatus:
    family: Family
    counts: dict[str, int]
    total: int
    search_model: str
    active_model: str
    active_covered: int

    @property
    def done(self) -> int:
        return self.counts["ready"] + self.counts["failed"]

    @property
    def remaining(self) -> int:
        return self.counts["pending"] + self.counts["processing"]

    @property
    def percent(self) -> int:
        return 100 if not self.total else round(100 * self.counts["ready"] / self.total)

    @property
    def switching(self) -> bool:
        return self.search_model != self.active_model


def index_status(*, user: AbstractBaseUser) -> list[FamilyIndexStatus]:
    statuses = []
    for family in family_list(user=user):
        counts = family_status_counts(family=family)
        statuses.append(FamilyIndexStatus(
            family=family,
            counts=counts,
            total=sum(counts.values()),
            search_model=family_search_model(family_id=family.pk),
            active_model=settings.SEARCH_MODEL,
            active_covered=PhotoEmbedding.objects.filter(family=family, model_name=settings.SEARCH_MODEL).count(),
        ))
    return statuses


def failed_photos(*, user: AbstractBaseUser, limit: int = 200):
    return (
        Photo.objects.filter(family__memberships__user=user, status=Photo.Status.FAILED)
        .select_related("family")
        .order_by("-status_changed_at", "-id")[:limit]
    )


def failed_photo_ids(*, user: AbstractBaseUser, photo_ids: list[int] | None = None) -> list[int]:
    """Ids of the user's failed photos, optionally only among `photo_ids`."""
    qs = Photo.objects.filter(family__memberships__user=user, status=Photo.Status.FAILED)
    if photo_ids is not None:
        qs = qs.filter(pk__in=photo_ids)
    return list(qs.values_list("pk", flat=True))
