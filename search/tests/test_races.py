"""Races around the index and the judgments: a double click, an undo racing its mark, two workers (or a retried
task) on one photo, a photo deleted for good while the worker reads it, the trash emptied while a photo is restored.

Real commits on separate connections (tests.races); one interleaving per test, fixed by the database's locks."""

from __future__ import annotations

import pytest

from gallery.models import Favourite, Photo
from gallery.services import family_delete
from gallery.trash_services import photos_favourite, photos_purge, photos_restore, photos_trash, trash_empty
from search import leases, ocr
from search.judgment_services import judgment_record, judgment_withdraw
from search.models import Judgment, PhotoEmbedding, TextReading, WorkLease
from search.services import embed_photos, photos_claim
from search.services import _store as embeddings_store
from search.tests.test_quality import shifted_model  # noqa: F401 - a miscalibrated toy model, which a fit beats
from tests.races import first_holds_then_second, in_threads

pytestmark = pytest.mark.django_db(transaction=True)


def _fails(result) -> bool:
    return isinstance(result, Exception)


# --- judgments and favourites -------------------------------------------------------------------


def test_a_double_click_on_right_records_one_judgment(alice, add_shape):
    photo = add_shape("red", "square")

    run = first_holds_then_second(
        lambda: judgment_record(user=alice, photo=photo, query="red square", relevant=True),
        lambda: judgment_record(user=alice, photo=photo, query="Red  square", relevant=False))

    assert not _fails(run.first) and not _fails(run.second), run
    assert run.second_waited  # on the unique key, then it replaced the first one's verdict
    assert run.first[1] is True and run.second[1] is False
    assert list(Judgment.objects.values_list("query", "relevant")) == [("red square", False)]


def test_many_clicks_at_once_on_right_and_wrong_leave_one_judgment(alice, add_shape):
    photo = add_shape("red", "square")

    results = in_threads(4, lambda i: judgment_record(user=alice, photo=photo, query="red square", relevant=i % 2 == 0))

    assert not any(_fails(r) for r in results), results
    assert Judgment.objects.count() == 1


@pytest.mark.parametrize("order", ["mark first", "undo first"])
def test_an_undo_racing_its_mark_never_fails(alice, add_shape, order):
    photo = add_shape("red", "square")
    judgment_record(user=alice, photo=photo, query="red", relevant=True)
    mark = lambda: judgment_record(user=alice, photo=photo, query="red", relevant=False)  # noqa: E731
    undo = lambda: judgment_withdraw(user=alice, photo=photo, query="red")  # noqa: E731

    run = first_holds_then_second(*((mark, undo) if order == "mark first" else (undo, mark)))

    assert not _fails(run.first) and not _fails(run.second), run
    assert run.second_waited
    # Whichever came second is what stands.
    assert list(Judgment.objects.values_list("relevant", flat=True)) == ([] if order == "mark first" else [False])


def test_a_photo_deleted_for_good_while_it_is_judged_takes_the_judgment_along(alice, bob, add_shape):
    """The judgment's row pointed at a photo deleted before it committed: a 500 on the foreign key. Now the photo
    is held while the judgment is written; the delete waits, then removes it with the photo."""
    photo = add_shape("red", "square", user=bob)

    def trash_and_purge():
        assert photos_trash(user=bob, photo_ids=[photo.pk])[0].ok
        assert photos_purge(user=bob, photo_ids=[photo.pk])[0].ok

    run = first_holds_then_second(lambda: judgment_record(user=alice, photo=photo, query="red", relevant=True),
                                  trash_and_purge)

    assert not _fails(run.first) and not _fails(run.second), run
    assert run.second_waited
    assert not Judgment.objects.exists() and not Photo.all_objects.exists()


def test_a_photo_deleted_for_good_before_it_is_judged_is_a_404(alice, bob, add_shape):
    from django.http import Http404

    photo = add_shape("red", "square", user=bob)
    photos_trash(user=bob, photo_ids=[photo.pk])
    photos_purge(user=bob, photo_ids=[photo.pk])

    with pytest.raises(Http404):
        judgment_record(user=alice, photo=photo, query="red", relevant=True)
    assert not Judgment.objects.exists()


def test_a_favourite_double_toggle_leaves_one_favourite(alice, add_shape):
    photo = add_shape("red", "square")

    results = in_threads(3, lambda i: photos_favourite(user=alice, photo_ids=[photo.pk], on=True))

    assert not any(_fails(r) for r in results), results
    assert Favourite.objects.filter(user=alice, photo=photo).count() == 1


# --- the trash ----------------------------------------------------------------------------------


def test_a_restore_racing_empty_trash_keeps_the_photo_when_the_restore_came_first(alice, bob, add_shape):
    photo = add_shape("red", "square", user=bob)
    photos_trash(user=bob, photo_ids=[photo.pk])

    run = first_holds_then_second(lambda: photos_restore(user=bob, photo_ids=[photo.pk]),
                                  lambda: trash_empty(user=alice, family=photo.family))

    assert not _fails(run.first) and not _fails(run.second), run
    assert run.second_waited and run.second == 0
    assert Photo.objects.filter(pk=photo.pk).exists()


def test_a_restore_racing_empty_trash_says_the_photo_is_gone_when_the_empty_came_first(alice, bob, add_shape):
    photo = add_shape("red", "square", user=bob)
    photos_trash(user=bob, photo_ids=[photo.pk])

    run = first_holds_then_second(lambda: trash_empty(user=alice, family=photo.family),
                                  lambda: photos_restore(user=bob, photo_ids=[photo.pk]))

    assert not _fails(run.first) and not _fails(run.second), run
    assert run.second_waited and run.first == 1
    assert [result.ok for result in run.second] == [False]
    assert not Photo.all_objects.filter(pk=photo.pk).exists()


# --- the worker ---------------------------------------------------------------------------------


def test_two_workers_on_the_same_photo_embed_it_once(toy_model, add_shape):
    photos = [add_shape("red", "square"), add_shape("blue", "circle")]
    ids = [p.pk for p in photos]

    reports = in_threads(2, lambda i: embed_photos(photo_ids=ids))

    assert not any(_fails(r) for r in reports), reports
    assert sorted(pk for r in reports for pk in r.ready_ids) == sorted(ids)  # each photo by one of them
    assert PhotoEmbedding.objects.count() == 2
    assert set(Photo.objects.values_list("status", flat=True)) == {Photo.Status.READY}
    assert embed_photos(photo_ids=ids).ready_ids == []  # a retried task finds nothing left to do
    assert PhotoEmbedding.objects.count() == 2


def test_a_task_naming_a_photo_deleted_since_it_was_queued_embeds_the_others(alice, toy_model, add_shape):
    gone, kept = add_shape("red", "square"), add_shape("blue", "circle")
    photos_trash(user=alice, photo_ids=[gone.pk])
    photos_purge(user=alice, photo_ids=[gone.pk])

    report = embed_photos(photo_ids=[gone.pk, kept.pk])

    assert report.ready_ids == [kept.pk] and report.failed == 0
    assert list(PhotoEmbedding.objects.values_list("photo_id", flat=True)) == [kept.pk]
    assert not WorkLease.objects.exists()  # nothing left held


@pytest.mark.parametrize("how", ["purged from the trash", "family deleted"])
def test_a_photo_deleted_for_good_while_the_worker_embeds_it_gets_no_embedding(alice, toy_model, add_shape, how):
    photo = add_shape("red", "square")
    owner = leases.lease_owner()
    assert photos_claim(photo_ids=[photo.pk], owner=owner) == [photo]  # the worker has it, and runs the model
    if how == "purged from the trash":
        photos_trash(user=alice, photo_ids=[photo.pk])
        delete = lambda: photos_purge(user=alice, photo_ids=[photo.pk])  # noqa: E731
    else:
        delete = lambda: family_delete(family=photo.family)  # noqa: E731

    run = first_holds_then_second(delete, lambda: embeddings_store("toy", [photo], [[1.0, 0.0, 0.0]], owner=owner))

    assert not _fails(run.first) and not _fails(run.second), run
    assert run.second == []
    # A live photo's row is locked by the delete: the worker waits for it, then finds the photo gone.
    assert run.second_waited == (how == "family deleted")
    assert not PhotoEmbedding.objects.exists() and not Photo.all_objects.exists()


def test_a_photo_deleted_for_good_while_it_is_read_for_text_gets_no_text_and_the_queue_goes_on(
        alice, toy_model, add_shape, settings):
    gone, other = add_shape("red", "square"), add_shape("blue", "circle")
    Photo.objects.update(status=Photo.Status.READY, ocr_status=Photo.OcrStatus.PENDING,
                         ocr_reason=ocr.OCR_QUEUED)  # embedded, waiting to be read
    owner = leases.lease_owner()
    assert ocr._claim(photo_id=gone.pk, owner=owner) is not None  # the reader has it
    photos_trash(user=alice, photo_ids=[gone.pk])

    run = first_holds_then_second(lambda: photos_purge(user=alice, photo_ids=[gone.pk]),
                                  lambda: ocr._store(gone, "STOP", owner=owner))

    assert not _fails(run.first) and not _fails(run.second), run
    assert run.second is False
    assert not Photo.all_objects.filter(pk=gone.pk).exists()
    # A task naming the deleted photo and a live one: the live one is read, nothing fails.
    report = ocr.photos_read_text(photo_ids=[gone.pk, other.pk])
    other.refresh_from_db()
    assert other.ocr_status == Photo.OcrStatus.DONE, report


def test_a_family_deleted_while_its_photo_is_read_for_text_gets_no_text_and_nothing_fails(alice, add_shape, settings):
    settings.OCR_ENABLED = True
    photo = add_shape("red", "square")
    Photo.objects.update(status=Photo.Status.READY, ocr_status=Photo.OcrStatus.PENDING, ocr_reason=ocr.OCR_QUEUED)
    owner = leases.lease_owner()
    claimed = ocr._claim(photo_id=photo.pk, owner=owner)  # the reader has it, and reads

    run = first_holds_then_second(lambda: family_delete(family=photo.family),
                                  lambda: ocr._store(claimed, "STOP", owner=owner))

    assert not _fails(run.first) and not _fails(run.second), run
    assert run.second is False and run.second_waited  # it waited for the photo's row, then found it gone
    assert not Photo.all_objects.exists()


def test_two_readers_claiming_at_once_take_different_photos_and_neither_waits(add_shape, settings):
    """A reader claims the next photo with SELECT ... FOR UPDATE SKIP LOCKED: a second reader, on its own connection
    while the first's claim is not committed yet, takes the next photo without waiting for the first's lock, and
    finds none when that was the last one (never the photo the first one holds)."""
    settings.OCR_ENABLED = True
    first_photo, second_photo = add_shape("red", "square"), add_shape("blue", "circle")
    Photo.objects.update(status=Photo.Status.READY, ocr_status=Photo.OcrStatus.PENDING, ocr_reason=ocr.OCR_QUEUED)

    run = first_holds_then_second(lambda: ocr._claim_next(owner="first:1:ocr", photo_ids=None, tried=set()),
                                  lambda: ocr._claim_next(owner="second:2:ocr", photo_ids=None, tried=set()))

    assert not _fails(run.first) and not _fails(run.second), run
    assert not run.second_waited
    assert {run.first.pk, run.second.pk} == {first_photo.pk, second_photo.pk}
    assert sorted(WorkLease.objects.values_list("owner", flat=True)) == ["first:1:ocr", "second:2:ocr"]

    Photo.objects.filter(pk=run.second.pk).update(ocr_status=Photo.OcrStatus.DONE)
    WorkLease.objects.all().delete()
    Photo.objects.filter(pk=run.first.pk).update(ocr_status=Photo.OcrStatus.PENDING)
    run = first_holds_then_second(lambda: ocr._claim_next(owner="first:3:ocr", photo_ids=None, tried=set()),
                                  lambda: ocr._claim_next(owner="second:4:ocr", photo_ids=None, tried=set()))
    assert not run.second_waited and run.second is None, run
    assert list(WorkLease.objects.values_list("owner", flat=True)) == ["first:3:ocr"]


def test_two_readers_running_at_once_read_each_waiting_photo_once(add_shape, settings):
    settings.OCR_ENABLED = True
    settings.OCR_TASK_SIZE = 3
    photos = [add_shape(colour, "square") for colour in ("red", "blue", "green", "yellow")]
    Photo.objects.update(status=Photo.Status.READY, ocr_status=Photo.OcrStatus.PENDING, ocr_reason=ocr.OCR_QUEUED)

    reports = in_threads(2, lambda i: ocr.photos_read_text())

    assert not any(_fails(r) for r in reports), reports
    assert sum(r.done for r in reports) == len(photos)
    assert sorted(TextReading.objects.values_list("photo_id", flat=True)) == sorted(p.pk for p in photos)
    assert set(Photo.objects.values_list("ocr_status", "ocr_attempts")) == {(Photo.OcrStatus.DONE, 1)}
    assert not WorkLease.objects.exists()


def test_a_reader_claiming_while_another_reads_takes_the_other_familys_turn(alice, family, mallory, other_family,
                                                                          settings):
    """A family's turn was recorded only as its reading ended (TextReading): a second reader (another machine's)
    claiming while the first one reads, seconds, took the same family, the one read longest ago, while the other
    waited. A family whose photo is being read (a live lease) counts as served now."""
    from tests.factories import photo_factory

    settings.OCR_ENABLED = True
    smiths = [photo_factory(family=family, user=alice) for _ in range(2)]
    joneses = [photo_factory(family=other_family, user=mallory) for _ in range(2)]
    Photo.objects.update(status=Photo.Status.READY, ocr_status=Photo.OcrStatus.PENDING, ocr_reason=ocr.OCR_QUEUED)
    TextReading.objects.create(photo_id=smiths[0].pk, family_id=family.pk, seconds=1.0)  # read before: the Joneses
    TextReading.objects.create(photo_id=joneses[0].pk, family_id=other_family.pk, seconds=1.0)  # were read last

    first = ocr._claim_next(owner="first:1:ocr", photo_ids=None, tried=set())  # committed: the first reads it now
    [second] = in_threads(1, lambda i: ocr._claim_next(owner="second:2:ocr", photo_ids=None, tried=set()))

    assert not _fails(second), second
    assert first.family_id == family.pk
    assert second.family_id == other_family.pk, "both readers read the Smiths while the Joneses waited"


def test_a_photo_trashed_while_it_is_read_for_text_keeps_its_text_for_when_it_is_restored(alice, add_shape, settings):
    """The reader found the photo gone from the live photos and dropped its text, leaving it "being read" with no
    lease: restored, the recovery took it for a reader killed on it (failed after OCR_MAX_ATTEMPTS, "the worker
    stopped"), and it was read again. The trash keeps a photo whole: its text too."""
    settings.OCR_ENABLED = True
    photo = add_shape("red", "square")
    Photo.objects.filter(pk=photo.pk).update(status=Photo.Status.READY, ocr_status=Photo.OcrStatus.PENDING,
                                             ocr_reason=ocr.OCR_QUEUED)
    owner = leases.lease_owner()
    claimed = ocr._claim(photo_id=photo.pk, owner=owner)  # the reader has it, and reads
    photos_trash(user=alice, photo_ids=[photo.pk])

    assert ocr._store(claimed, "STOP", owner=owner) is True

    photos_restore(user=alice, photo_ids=[photo.pk])
    photo.refresh_from_db()
    assert (photo.ocr_status, photo.text_in_photo, photo.ocr_reason) == (Photo.OcrStatus.DONE, "STOP", "")


# --- search preferences -------------------------------------------------------------------------


def test_two_preference_patches_of_different_fields_keep_both(alice):
    """An app changing the minimum score while another turns expansion off: the API read the preferences before
    taking their row, so the later PATCH wrote back the minimum it had read and the first change was lost."""
    from django.test import Client

    from search.models import SearchPreferences
    from tests.factories import api_token_key

    def patch(data, device):  # each app its own token (one token's requests wait for each other on its row)
        key = api_token_key(alice, label=device)
        return lambda: Client(headers={"Authorization": f"Token {key}"}).patch(
            "/api/v1/search/preferences/", data, content_type="application/json").status_code

    SearchPreferences.objects.create(user=alice)
    run = first_holds_then_second(patch({"min_score": 0.3}, "phone"), patch({"expansion_enabled": False}, "tablet"))

    assert (run.first, run.second) == (200, 200), run
    assert run.second_waited, run
    prefs = SearchPreferences.objects.get(user=alice)
    assert (prefs.min_score, prefs.expansion_enabled) == (0.3, False)


# --- fitting a family's calibration -------------------------------------------------------------


def test_two_fits_of_a_family_asked_at_once_leave_one_in_force(alice, bob, family, shifted_model, add_shape):
    """"Fit now" pressed in two tabs (or by two admins, or with the nightly fit) ran two fits at once on two worker
    processes: each measured itself against the calibration in force when it began (the model's own, the other's not
    stored yet), both beat it, and both were stored applied: two fits in force, so "Roll back the fit in force"
    withdrew one and the page then said the other, the same fit, applied again. Fits of one family now take turns,
    and one that waited for another made from the same judgments makes none of its own: the first is the answer to
    both (a second, measured against the first, would be kept "not applied" and shown as the latest fit)."""
    from search.models import SearchCalibration
    from search.quality import calibration_fit
    from tests.queue import run_queued_tasks

    photos = {(c, s): add_shape(c, s) for c in ("red", "green", "blue") for s in ("circle", "square", "triangle")}
    run_queued_tasks()
    queries = ["red", "green", "blue", "circle", "square", "red circle"]
    Judgment.objects.bulk_create(
        Judgment(user=judge, family=family, photo=photo, query=q, relevant=all(w in (c, s) for w in q.split()))
        for q in queries for (c, s), photo in photos.items() for judge in (alice, bob) if judge is alice or q == "red")

    run = first_holds_then_second(lambda: calibration_fit(family_id=family.pk),
                                  lambda: calibration_fit(family_id=family.pk))

    assert not _fails(run.first) and not _fails(run.second), run
    assert run.first.applied, run.first.metrics  # (the shifted model's own calibration is beaten)
    assert run.second_waited
    assert list(SearchCalibration.objects.values_list("pk", "applied")) == [(run.first.pk, True)]
    assert run.second.pk == run.first.pk

    # A fit asked for afterwards, from the same judgments, is made and measured against it, as before.
    again = calibration_fit(family_id=family.pk)
    assert again.pk != run.first.pk and not again.applied


def test_the_quality_page_says_a_fit_is_being_made_while_one_is(alice, family):
    """After "Fit now" the page said "the figures below update in a minute or so", and reloaded while the worker made
    the fit (a minute and more for a large family: every judged query is scored) it showed the figures before it, with
    nothing to say a fit was under way: "Fit now" again queued another. While a fit of the family is being made, the
    page says so."""
    from django.test import Client
    from django.urls import reverse

    from search.quality import _fits_take_turns

    client = Client()
    client.force_login(alice)
    url = reverse("search:quality", args=[family.pk])
    assert "being made now" not in client.get(url).content.decode()

    run = first_holds_then_second(lambda: _fits_take_turns(family_id=family.pk),
                                  lambda: client.get(url).content.decode())

    assert not _fails(run.first) and not _fails(run.second), run
    assert "A fit of this family is being made now: reload the page in a minute to see it." in run.second
    assert "being made now" not in client.get(url).content.decode()


# --- the tag-suggestion vocabulary following a tag merge ------------------------------------------


def _merge_puppy_into_dog(family) -> int:
    """The admin's "Merge the selected tags" of "puppy" into "dog" (tags_merge in a transaction of its own)."""
    from django.db import transaction

    from gallery.models import Tag
    from gallery.services import tags_merge

    with transaction.atomic():
        return tags_merge(into=Tag.objects.get(family=family, name="dog"),
                          tags=Tag.objects.filter(family=family, name__in=["puppy", "dog"]))


@pytest.mark.parametrize("added, after", [
    ("dog", {("dog", "", True, ""), ("puppy", "a young dog", False, "dog")}),
    ("puppy", {("dog", "a young dog", True, ""), ("puppy", "", False, "dog")}),
], ids=["the kept name", "the merged name"])
def test_a_concept_added_while_a_merge_moves_the_vocabulary_leaves_one_concept_of_each_name(
        alice, family, added, after):
    """A family admin adds the concept "dog" (or "puppy") in the concepts admin at the moment another merges the tag
    "puppy" into "dog". The merge read the family's vocabulary before the other insert committed, then inserted its own
    "dog" (the merged concept asked as the name kept) or its unticked "puppy" (turning the shared one off for the
    family): the unique index made it wait for the other transaction, then raised IntegrityError, a 500 on the merge
    page, nothing merged. The merge takes the concept that is there: one concept of each name, the merged name
    unticked, and the merge done."""
    from gallery.models import Tag
    from search.models import TagConcept
    from tests.factories import photo_factory

    TagConcept.objects.filter(family=None, name__iexact="dog").delete()  # (the seed's: "dog" is to be made)
    TagConcept.objects.update_or_create(family=None, name="puppy", defaults={"prompt": "a young dog",
                                                                             "enabled": True})
    if added == "dog":  # the family's own "puppy": the merge makes its "dog" from it
        TagConcept.objects.create(family=family, name="puppy", prompt="a young dog")
    photo_factory(family=family, user=alice, filename="p.jpg", tags=["puppy"])
    photo_factory(family=family, user=alice, filename="d.jpg", tags=["dog"])

    run = first_holds_then_second(lambda: TagConcept.objects.create(family=family, name=added),
                                  lambda: _merge_puppy_into_dog(family))

    assert not _fails(run.first) and not _fails(run.second), run
    assert run.second_waited, run
    assert set(TagConcept.objects.filter(family=family).values_list("name", "prompt", "enabled", "merged_into")) == after
    assert list(Tag.objects.filter(family=family).values_list("name", flat=True)) == ["dog"]
