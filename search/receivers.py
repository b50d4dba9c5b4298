"""The search app's answers to gallery events: index new and edited photos, look for restored photos' near-duplicates,
drop a deleted family's vector indexes, take a leaving member's judgments out of the family's fit, and a returning
one's back in, have a family's suggested-tag concepts follow its tag merges."""

from __future__ import annotations

from django.db import transaction

from gallery.services import on_commit_collected
from search.duplicate_finder import duplicates_find_pending_add
from search.family_places import family_places_add
from search.metadata import documents_refresh
from search.models import PhotoDocument, PhotoEmbedding
from search.quality import calibration_fit_for_joiners, calibrations_withdraw_for_leavers
from search.services import duplicates_find_later, family_indexes_drop_later, photos_enqueue, photos_retry
from search.suggestions import vocabulary_tags_merged


def on_photos_changed(sender, photo_ids, **kwargs) -> None:
    """Metadata edits: rebuild the search documents in the same transaction (one cheap statement)."""
    documents_refresh(photo_ids)
    family_places_add(photo_ids=photo_ids)  # a place filled in later (fill_places, the sweep)


def on_photos_trashed(sender, photo_ids, **kwargs) -> None:
    """Gone from every search at once: the walks skip embeddings marked trashed (no join with the photo table),
    the metadata pass finds no document. The vectors stay, so a restore needs no model."""
    ids = list(photo_ids)
    PhotoEmbedding.objects.filter(photo_id__in=ids).update(trashed=True)
    PhotoDocument.objects.filter(photo_id__in=ids).delete()


def on_photos_restored(sender, photo_ids, **kwargs) -> None:
    """Back in search: the embeddings unmarked, the documents rebuilt from the current metadata; their
    near-duplicates looked for again once this commits (the finder's embedding walk leaves trashed photos out: a
    look-alike uploaded while they were in the trash), or by the sweep when that task is not queued."""
    ids = list(photo_ids)
    PhotoEmbedding.objects.filter(photo_id__in=ids).update(trashed=False)
    documents_refresh(ids)
    duplicates_find_pending_add(photo_ids=ids)  # for the sweep, should the task never run (the broker down)
    on_commit_collected("photos_restored_duplicates", ids, _duplicates_find_later)


def on_photos_rotated(sender, photo_ids, **kwargs) -> None:
    """A member turned them: embed them again as they now look (pending, queued on commit). The old embedding keeps
    serving searches until the new one replaces it; the worker then finds their near-duplicates again."""
    photos_retry(photo_ids=list(photo_ids))


def on_family_deleted(sender, instance, **kwargs) -> None:
    """A deleted family's embeddings went with it (cascade); its HNSW indexes go too, dropped by the worker once the
    deletion commits (no DDL in the web request: the web's database role needs no ownership of the table)."""
    family_id = instance.pk
    transaction.on_commit(lambda: family_indexes_drop_later(family_id=family_id))


def on_members_leaving(sender, family_id, user_ids, **kwargs) -> None:
    """People leave a family (removed, leaving, their accounts deleted): their judgments stop counting in its fit."""
    calibrations_withdraw_for_leavers(family_id=family_id, user_ids=user_ids)


def on_members_joined(sender, family_id, user_ids, **kwargs) -> None:
    """People join a family (or come back to it): judgments of theirs in it count again, so it is fitted again."""
    calibration_fit_for_joiners(family_id=family_id, user_ids=user_ids)


def on_tags_merged(sender, family_id, names, into, user=None, **kwargs) -> None:
    """A family merged or renamed tags (the admin): its tag-suggestion vocabulary suggests the name kept instead
    (refused to a `user` who is not the family's admin: VocabularyRefused)."""
    vocabulary_tags_merged(family_id=family_id, names=names, into=into, user=user)


def on_photos_added(sender, photo_ids, **kwargs) -> None:
    """Index the new photos' metadata now; collect their ids per transaction and queue embedding once
    it commits, so an import that adds many photos in one transaction makes a few batch-sized
    tasks rather than one task per photo."""
    documents_refresh(photo_ids)
    family_places_add(photo_ids=photo_ids)
    on_commit_collected("photos_to_embed", photo_ids, _enqueue, robust=False)


def _enqueue(photo_ids: set[int]) -> None:
    photos_enqueue(sorted(photo_ids))


def _duplicates_find_later(photo_ids: set[int]) -> None:
    duplicates_find_later(sorted(photo_ids))
