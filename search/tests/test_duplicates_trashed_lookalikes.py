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


def _lookalike_uploaded_while_its_original_was_in_the_trash(family, alice, settings, capture_on_commit):
    """A red circle uploaded and trashed, then a JPEG copy of it uploaded, embedded and its near-duplicates looked
    for while the original is in the trash; only the embeddings pair (the hash sees nothing). Returns both."""
    settings.DUPLICATE_HASH_DISTANCE = -1
    settings.DUPLICATE_COSINE = 0.0
    original = shape_png("red", "circle", seed=1)
    with capture_on_commit(execute=True):
        kept = _upload(family, alice, original, "IMG_0001.png")
    run_queued_tasks()
    photos_trash(user=alice, photo_ids=[kept.pk])
    with capture_on_commit(execute=True):
        copy = _upload(family, alice, _jpeg_copy(original, 192), "IMG_0001 (1).jpg")
    run_queued_tasks()
    return kept, copy


def test_a_lookalike_uploaded_while_its_original_was_in_the_trash_is_grouped_with_it_once_restored(
        toy_model, family, alice, settings, django_capture_on_commit_callbacks):
    """The embedding walk leaves trashed photos out, so a look-alike only the embeddings see (a crop, an edit),
    uploaded while its original was in the trash, is paired with other photos or none, never with the original;
    restoring the original looks for its near-duplicates again (a task, once the restore commits) and groups them."""
    kept, copy = _lookalike_uploaded_while_its_original_was_in_the_trash(
        family, alice, settings, django_capture_on_commit_callbacks)
    assert not DuplicatePair.objects.filter(Q(photo_a=kept) | Q(photo_b=kept)).exists()

    with django_capture_on_commit_callbacks(execute=True):
        photos_restore(user=alice, photo_ids=[kept.pk])
    assert not duplicate_groups(user=alice, family=family).groups  # until the worker looks
    run_queued_tasks()

    [group] = duplicate_groups(user=alice, family=family)
    assert {m.photo.pk for m in group.members} == {kept.pk, copy.pk} and group.signals == ["embedding"]


def test_a_restore_whose_find_the_broker_refused_is_done_by_the_sweep_and_nothing_else_is_looked_at_again(
        toy_model, family, alice, settings, django_capture_on_commit_callbacks, monkeypatch):
    """The find a restore queues once it commits is lost when the broker (Redis) does not answer at that moment
    (task_queue.enqueue logs it and goes on): the restored photo was never compared with what was uploaded while it was
    in the trash. The restore records it in its own transaction; the periodic sweep looks for its near-duplicates once
    the queued find had time to run (and did not), and looks at nothing else."""
    from datetime import timedelta

    from django.utils import timezone
    from django_q.conf import Conf

    from search.models import DuplicateFindPending
    from search.services import embed_missing
    from tests.processes import free_port
    from tests.queue import queued_tasks

    kept, copy = _lookalike_uploaded_while_its_original_was_in_the_trash(
        family, alice, settings, django_capture_on_commit_callbacks)

    with monkeypatch.context() as broker_down:  # Redis, nobody answering on its port, as the restore commits
        broker_down.setattr(Conf, "ORM", None)
        broker_down.setattr(Conf, "REDIS", f"redis://127.0.0.1:{free_port()}/0")
        with django_capture_on_commit_callbacks(execute=True):
            photos_restore(user=alice, photo_ids=[kept.pk])
    assert queued_tasks() == []
    embed_missing()  # the sweep at once: the queued find may still be on its way
    assert not duplicate_groups(user=alice, family=family).groups

    DuplicateFindPending.objects.update(since=timezone.now() - timedelta(minutes=10))  # (time passes)
    embed_missing()

    [group] = duplicate_groups(user=alice, family=family)
    assert {m.photo.pk for m in group.members} == {kept.pk, copy.pk}
    found = dict(DuplicatePair.objects.values_list("pk", "found_at"))
    embed_missing()  # nothing left to do: nothing is looked at again
    assert dict(DuplicatePair.objects.values_list("pk", "found_at")) == found
