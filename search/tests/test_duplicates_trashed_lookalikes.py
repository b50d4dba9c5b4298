"""Near-duplicates and the trash, on the embedding side: photos in the trash are candidates, ranked after every photo
out of it, as on the hash side (a look-alike uploaded while its original was in the trash is grouped with it once
the original is restored)."""

from __future__ import annotations

import pytest

from gallery.trash_services import photos_restore, photos_trash
from search.duplicates import duplicate_groups
from search.models import DuplicatePair
from search.tests.conftest import shape_png
from search.tests.test_duplicates import _jpeg_copy, _upload
from tests.queue import run_queued_tasks

pytestmark = pytest.mark.django_db


def test_a_lookalike_uploaded_while_its_original_was_in_the_trash_is_grouped_with_it_once_restored(
        toy_model, family, alice, settings, django_capture_on_commit_callbacks):
    """The hash side paired a copy with a photo in the trash (ranked after every photo out of it), so restoring the
    original grouped them; the embedding walk left trashed photos out, so a look-alike only the embeddings see (a
    crop, an edit) stayed apart from the original restored."""
    settings.DUPLICATE_HASH_DISTANCE = -1  # the hash sees nothing: only the embeddings pair
    settings.DUPLICATE_COSINE = 0.0
    original = shape_png("red", "circle", seed=1)
    with django_capture_on_commit_callbacks(execute=True):
        kept = _upload(family, alice, original, "IMG_0001.png")
    run_queued_tasks()
    photos_trash(user=alice, photo_ids=[kept.pk])
    with django_capture_on_commit_callbacks(execute=True):
        copy = _upload(family, alice, _jpeg_copy(original, 192), "IMG_0001 (1).jpg")
    run_queued_tasks()  # embedded, its near-duplicates looked for while the original is in the trash

    photos_restore(user=alice, photo_ids=[kept.pk])

    [group] = duplicate_groups(user=alice, family=family)
    assert {m.photo.pk for m in group.members} == {kept.pk, copy.pk} and group.signals == ["embedding"]


def test_photos_in_the_trash_come_after_every_lookalike_out_of_it(toy_model, family, alice, settings,
                                                                 django_capture_on_commit_callbacks):
    """A trashed photo takes a neighbour slot only when the photos out of the trash leave one."""
    settings.DUPLICATE_HASH_DISTANCE = -1
    settings.DUPLICATE_COSINE = 0.0
    settings.DUPLICATE_NEIGHBOURS = 1
    original = shape_png("red", "circle", seed=1)
    with django_capture_on_commit_callbacks(execute=True):
        trashed = _upload(family, alice, original, "IMG_0001.png")
        live = _upload(family, alice, shape_png("green", "triangle", seed=2), "IMG_0002.png")
    run_queued_tasks()
    photos_trash(user=alice, photo_ids=[trashed.pk])
    DuplicatePair.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        copy = _upload(family, alice, _jpeg_copy(original, 192), "IMG_0001 (1).jpg")
    run_queued_tasks()

    partners = {a if b == copy.pk else b for a, b in DuplicatePair.objects.filter(
        photo_a_id__in=[copy.pk, live.pk, trashed.pk], photo_b_id__in=[copy.pk, live.pk, trashed.pk])
        .values_list("photo_a_id", "photo_b_id") if copy.pk in (a, b)}
    assert trashed.pk not in partners and live.pk in partners


