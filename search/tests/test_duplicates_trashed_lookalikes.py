"""Near-duplicates and the trash, on the embedding side: the walk leaves photos in the trash out (reading every
trashed embedding exactly, per photo looked at, made a find of 64 photos 4 times slower with 8,000 in the trash);
restoring photos queues a find of their near-duplicates, so a look-alike uploaded while its original was in the trash
is grouped with it once the worker has run."""

from __future__ import annotations

import pytest
from django.db.models import Q

from gallery.trash_services import photos_restore, photos_trash
from search.duplicates import duplicate_groups
from search.models import DuplicatePair
from search.tests.conftest import shape_png
from search.tests.test_duplicates import _jpeg_copy, _upload
from tests.queue import run_queued_tasks

pytestmark = pytest.mark.django_db


def test_a_lookalike_uploaded_while_its_original_was_in_the_trash_is_grouped_with_it_once_restored(
        toy_model, family, alice, settings, django_capture_on_commit_callbacks):
    """The embedding walk leaves trashed photos out, so a look-alike only the embeddings see (a crop, an edit),
    uploaded while its original was in the trash, is paired with other photos or none, never with the original;
    restoring the original looks for its near-duplicates again (a task, once the restore commits) and groups them."""
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
    assert not DuplicatePair.objects.filter(Q(photo_a=kept) | Q(photo_b=kept)).exists()

    with django_capture_on_commit_callbacks(execute=True):
        photos_restore(user=alice, photo_ids=[kept.pk])
    assert not duplicate_groups(user=alice, family=family).groups  # until the worker looks
    run_queued_tasks()

    [group] = duplicate_groups(user=alice, family=family)
    assert {m.photo.pk for m in group.members} == {kept.pk, copy.pk} and group.signals == ["embedding"]
