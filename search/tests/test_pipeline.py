from __future__ import annotations

import numpy as np
import pytest
import torch
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django_q.models import OrmQ
from PIL import Image
from transformers import AutoModel, AutoProcessor

from gallery.models import Photo
from search import vector_index
from search.embedder import Embedder
from search.models import EmbeddingModel, PhotoEmbedding
from search.services import embed_missing, photos_retry
from tests.queue import run_queued_tasks

pytestmark = pytest.mark.django_db(transaction=False)


def test_uploaded_red_circle_becomes_ready_with_a_unit_vector_equal_to_a_direct_encode(
    toy_model, add_shape, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        photo = add_shape("red", "circle")
    assert OrmQ.objects.count() == 1  # queued after commit
    run_queued_tasks()

    photo.refresh_from_db()
    assert photo.status == Photo.Status.READY and photo.status_reason == ""
    stored = np.array(PhotoEmbedding.objects.get(photo=photo, model_name=toy_model).vector)
    assert abs(np.linalg.norm(stored) - 1) < 1e-5
    # The worker embeds from the display rendition (an upright JPEG, cheap to decode whatever the original).
    with photo.display.open("rb") as f:
        direct = Embedder(toy_model, dtype="float32").encode_images([Image.open(f).convert("RGB")])[0]
    np.testing.assert_allclose(stored, direct, atol=1e-5)


def _hnsw_indexes() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE indexname LIKE 'photoembedding_hnsw_%%'")
        return {row[0] for row in cursor.fetchall()}


def test_each_family_gets_its_own_vector_index_which_goes_with_the_family(
    toy_model, add_shape, family, other_family, mallory, django_capture_on_commit_callbacks
):
    vector_index._ensured.clear()  # an earlier test's index may have been rolled back with its transaction
    with django_capture_on_commit_callbacks(execute=True):
        mine = add_shape("red", "circle")
        theirs = add_shape("blue", "square", target_family=other_family, user=mallory)
    run_queued_tasks()
    assert PhotoEmbedding.objects.get(photo=mine).family_id == family.pk
    assert PhotoEmbedding.objects.get(photo=theirs).family_id == other_family.pk
    ours, joneses = vector_index.index_name(toy_model, family.pk), vector_index.index_name(toy_model, other_family.pk)
    assert {ours, joneses} <= _hnsw_indexes()

    with django_capture_on_commit_callbacks(execute=True):
        other_family.delete()
    run_queued_tasks()  # the worker drops them (no DDL in the web request)
    assert joneses not in _hnsw_indexes() and ours in _hnsw_indexes()
    assert not PhotoEmbedding.objects.filter(photo_id=theirs.pk).exists()


def test_calibrated_probability_equals_transformers_sigmoid_of_logits(toy_model, add_shape, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        photo = add_shape("red", "circle")
    run_queued_tasks()
    state = EmbeddingModel.objects.get(name=toy_model)
    assert state.available and state.dim

    text = "a photo of a red circle"
    embedder = Embedder(toy_model, dtype="float32")
    image_vector = np.array(PhotoEmbedding.objects.get(photo=photo).vector)
    cos = float(embedder.encode_texts([text])[0] @ image_vector)
    ours = 1 / (1 + np.exp(-(state.calibration_scale * cos + state.calibration_bias)))

    model, processor = AutoModel.from_pretrained(toy_model), AutoProcessor.from_pretrained(toy_model)
    with photo.display.open("rb") as stream:  # what the worker reads
        shown = Image.open(stream).convert("RGB")
    inputs = processor(text=[text], images=[shown],
                       padding="max_length", max_length=model.config.text_config.max_position_embeddings,
                       truncation=True, return_tensors="pt")
    with torch.inference_mode():
        reference = torch.sigmoid(model(**inputs).logits_per_image)[0, 0].item()
    assert ours == pytest.approx(reference, abs=1e-5)
    assert ours > 0.5  # and the toy model does recognise its red circle


def _remove_files(photo: Photo) -> None:
    """The photo's original and its display rendition (which the worker would embed from) vanish."""
    for field in (photo.original, photo.display):
        field.storage.delete(field.name)


def test_a_photo_whose_file_vanished_fails_with_a_reason_while_its_batch_mates_are_ready(
    toy_model, add_shape, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        photos = [add_shape("red", "circle"), add_shape("blue", "square"), add_shape("green", "triangle")]
    _remove_files(photos[1])
    for callback in callbacks:
        callback()
    run_queued_tasks()

    statuses = {p.pk: (p.status, p.status_reason) for p in Photo.objects.all()}
    assert statuses[photos[0].pk][0] == statuses[photos[2].pk][0] == Photo.Status.READY
    assert statuses[photos[1].pk] == (Photo.Status.FAILED, "The original file is missing from storage.")
    assert PhotoEmbedding.objects.count() == 2


def test_missing_model_is_recorded_once_photos_stay_pending_and_every_page_says_why(
    settings, add_shape, client_for, alice, django_capture_on_commit_callbacks
):
    from search.embedder import reset_embedder

    settings.SEARCH_MODEL = "/nonexistent/siglip-model"
    reset_embedder()
    with django_capture_on_commit_callbacks(execute=True):
        photos = [add_shape("red", "circle"), add_shape("blue", "square")]
    run_queued_tasks()

    assert set(Photo.objects.values_list("status", flat=True)) == {Photo.Status.PENDING}
    state = EmbeddingModel.objects.get()
    assert not state.available and "/nonexistent/siglip-model" in state.error
    client = client_for(alice)
    for url in (reverse("gallery:timeline"), reverse("gallery:upload"), photos[0].get_absolute_url(), reverse("search:indexing")):
        body = client.get(url).content.decode()
        assert "Smart search is off" in body, url
    reset_embedder()


def test_an_import_of_many_photos_queues_a_few_batch_sized_tasks(toy_model, family, alice, tmp_path, settings, django_capture_on_commit_callbacks):
    from search.tests.conftest import shape_png

    settings.EMBED_TASK_SIZE = 16
    folder = tmp_path / "import"
    folder.mkdir()
    for i in range(40):
        (folder / f"{i}.png").write_bytes(shape_png("red" if i % 2 else "blue", "circle", seed=i))
    with django_capture_on_commit_callbacks(execute=True):
        call_command("import_photos", str(folder), family=family.name, user=alice.username, no_progress=True)
    assert OrmQ.objects.count() == 3  # 40 photos, 16 per task
    run_queued_tasks()
    assert Photo.objects.filter(status=Photo.Status.READY).count() == 40


def test_model_switch_re_embeds_while_the_old_model_keeps_serving_then_goes(
    toy_model, add_shape, family, alice, settings, other_model, django_capture_on_commit_callbacks
):
    from search.embedder import reset_embedder
    from search.selectors import family_search_model, search_context
    from search.services import model_switch_confirm

    vector_index._ensured.clear()  # an earlier test's index may have been rolled back with its transaction

    with django_capture_on_commit_callbacks(execute=True):
        for colour in ("red", "blue", "green"):
            add_shape(colour, "circle")
    run_queued_tasks()
    assert family_search_model(family_id=family.pk) == toy_model

    other = other_model(projection_dim=24)
    settings.SEARCH_MODEL = other
    reset_embedder()
    with django_capture_on_commit_callbacks(execute=True):
        embed_missing()
    assert Photo.objects.filter(status=Photo.Status.PENDING).count() == 3
    assert family_search_model(family_id=family.pk) == toy_model  # not covered yet: old model serves

    run_queued_tasks()
    assert family_search_model(family_id=family.pk) == other
    dims = {e.model_name: len(e.vector) for e in PhotoEmbedding.objects.all()}
    assert dims[other] == 24 and dims[toy_model] != 24
    assert PhotoEmbedding.objects.filter(model_name=other).count() == 3

    # The next sweep keeps the old model's embeddings (to compare the two on the family's judgments) while search
    # serves the new one; once a family admin confirms the switch, the sweep after clears them and their index away.
    old_index = vector_index.index_name(toy_model, family.pk)
    assert old_index in _hnsw_indexes()
    with django_capture_on_commit_callbacks(execute=True):
        embed_missing()
    assert PhotoEmbedding.objects.filter(model_name=toy_model).count() == 3
    assert family_search_model(family_id=family.pk) == other
    model_switch_confirm(user=alice, family=family)
    with django_capture_on_commit_callbacks(execute=True):
        embed_missing()
    assert set(PhotoEmbedding.objects.values_list("model_name", flat=True)) == {other}
    assert old_index not in _hnsw_indexes() and vector_index.index_name(other, family.pk) in _hnsw_indexes()
    assert search_context(user=alice).other_models is False  # searches are back on the fast path


def test_status_page_shows_counts_polls_while_working_and_retries_failures(
    toy_model, add_shape, client_for, alice, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        add_shape("red", "circle")
        broken = add_shape("blue", "square")
    client = client_for(alice)
    page = client.get(reverse("search:indexing")).content.decode()
    assert "2 pending" in page and 'hx-trigger="every 2s"' in page

    _remove_files(broken)
    run_queued_tasks()
    page = client.get(reverse("search:indexing"), headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in page and "1 ready" in page and "1 failed" in page
    assert "every 2s" not in page  # nothing left to wait for: polling stops
    assert "The original file is missing from storage." in page

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("search:indexing_retry"), {"photo": broken.pk})
    assert response.status_code == 302
    broken.refresh_from_db()
    assert broken.status == Photo.Status.PENDING and broken.embed_attempts == 0
    assert OrmQ.objects.count() == 1


def test_retry_never_touches_another_familys_photos(toy_model, add_shape, other_family, mallory, client_for, alice):
    theirs = add_shape("red", "circle", target_family=other_family, user=mallory)
    Photo.objects.filter(pk=theirs.pk).update(status=Photo.Status.FAILED, status_reason="x")
    client_for(alice).post(reverse("search:indexing_retry"), {"photo": theirs.pk})
    client_for(alice).post(reverse("search:indexing_retry"))
    theirs.refresh_from_db()
    assert theirs.status == Photo.Status.FAILED
    assert photos_retry(photo_ids=[]) == 0


def test_a_model_that_cannot_load_says_what_to_do_and_the_index_page_does_not_promise_a_re_read(
    toy_model, settings, add_shape, client_for, alice, bob, django_capture_on_commit_callbacks
):
    from gallery.models import Membership
    from search.embedder import reset_embedder
    from tests.factories import MembershipFactory, UserFactory

    with django_capture_on_commit_callbacks(execute=True):
        add_shape("red", "circle")
    run_queued_tasks()
    assert Photo.objects.get().status == Photo.Status.READY  # embedded by the toy model

    settings.SEARCH_MODEL = "/nonexistent/siglip-model"  # the administrator's typo, then a restart
    reset_embedder()
    embed_missing()
    run_queued_tasks()
    assert not EmbeddingModel.objects.get(name="/nonexistent/siglip-model").available

    root = UserFactory(username="root", is_superuser=True, is_staff=True)
    MembershipFactory(family=alice.memberships.get().family, user=root, role=Membership.Role.ADMIN)
    admin_page = client_for(root).get(reverse("gallery:timeline")).content.decode()
    # The family is still searched with the model it had (its photo's embedding): search is not off, but the
    # person who can fix the new model is told how: the setting, and where the README explains it.
    assert "Smart search is off" not in admin_page and "The search model can't load" in admin_page
    assert "set <code>SEARCH_MODEL</code>" in admin_page and "Using a real SigLIP model" in admin_page
    member_page = client_for(bob).get(reverse("gallery:timeline")).content.decode()
    assert "Smart search is off" not in member_page and "can't load" not in member_page
    assert "set <code>SEARCH_MODEL</code>" not in member_page
    # Shown on every page, the banner is one short line; the error and the fix fold behind "Why", so that on a phone
    # it doesn't push each page's content below the first screen. Members, whose search works, see none.
    banner = admin_page.split('<div class="banner"', 1)[1].split("</div>", 1)[0]
    headline, folded = banner.split("<details", 1)
    assert "The search model can't load" in headline and "/nonexistent/siglip-model" not in headline
    assert "/nonexistent/siglip-model" in folded and "<summary>" in folded
    assert '<div class="banner"' not in member_page

    index = client_for(alice).get(reverse("search:indexing")).content.decode()
    assert "re-reads the photos" not in index  # it reads nothing while it can't load
    assert "can&#x27;t be loaded" in index or "can't be loaded" in index
    reset_embedder()


def test_the_photos_of_a_family_being_deleted_are_not_embedded_or_read(toy_model, add_shape, family, other_family,
                                                                      mallory, django_capture_on_commit_callbacks):
    """A family deleted right after a big import (the wrong family) kept the worker embedding its photos, every
    queued task of them ahead of its deletion: with a real model, hours of work on photos being deleted. Its photos
    are no longer claimed (embedding, text reading) nor queued by the sweep; another family's are."""
    from gallery.services import family_delete_start
    from search import ocr
    from search.services import embed_photos

    read = add_shape("yellow", "circle")
    embed_photos(photo_ids=[read.pk])
    Photo.objects.filter(pk=read.pk).update(ocr_status=Photo.OcrStatus.PENDING, ocr_reason=ocr.OCR_QUEUED)
    doomed = [add_shape("red", "circle"), add_shape("blue", "square")]
    kept = add_shape("green", "triangle", target_family=other_family, user=mallory)
    with django_capture_on_commit_callbacks(execute=False):
        family_delete_start(family=family)
    OrmQ.objects.all().delete()
    report = embed_photos(photo_ids=[p.pk for p in doomed] + [kept.pk], fill_to=10)
    assert set(report.ready_ids) == {kept.pk}
    assert set(Photo.objects.filter(pk__in=[p.pk for p in doomed]).values_list("status", flat=True)) == {"pending"}
    assert ocr._claim(photo_id=read.pk, owner="test") is None
    OrmQ.objects.all().delete()
    embed_missing()
    queued = " ".join(str(task.task["args"]) for task in OrmQ.objects.all() if "embed_photos" in str(task.task["func"]))
    assert not any(str(p.pk) in queued for p in doomed), queued


def test_the_worker_s_other_paths_leave_the_photos_of_a_family_being_deleted_alone(
        toy_model, add_shape, family, other_family, mallory, settings, django_capture_on_commit_callbacks):
    """f12c214 left them out of the claims and the embedding sweep only: text reading still waited (up to 120 s a
    photo) while any of them was pending, which none would stop being until the deletion ended, and the OCR and
    suggestion sweeps, a recompute and the release of abandoned photos still took them."""
    from gallery.services import family_delete_start
    from search import ocr
    from search.models import WorkLease
    from search.services import _photos_release_abandoned, embed_photos
    from search.suggestions import suggestions_missing, suggestions_recompute

    settings.OCR_ENABLED = settings.TAG_SUGGESTIONS_ENABLED = True
    read = [add_shape("yellow", "circle"), add_shape("red", "square")]
    embed_photos(photo_ids=[p.pk for p in read])
    pending = add_shape("blue", "circle")
    stuck = add_shape("green", "square")
    Photo.objects.filter(pk=stuck.pk).update(status=Photo.Status.PROCESSING)
    Photo.objects.filter(pk__in=[p.pk for p in read[:1]]).update(ocr_status=Photo.OcrStatus.PENDING,
                                                                  suggestions_model="")  # never looked at
    Photo.objects.filter(pk__in=[p.pk for p in read[1:]]).update(ocr_status=Photo.OcrStatus.PENDING,
                                                                  ocr_reason=ocr.OCR_QUEUED, suggestions_model="")
    WorkLease.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=False):
        family_delete_start(family=family)
    OrmQ.objects.all().delete()
    assert Photo.objects.filter(pk=pending.pk, status=Photo.Status.PENDING).exists()
    assert not ocr._embedding_waits()
    assert ocr.ocr_missing() == 0 and not OrmQ.objects.exists()  # no gate, no reader for those waiting
    assert ocr.photos_read_text().done == 0
    assert suggestions_missing() == 0 and suggestions_recompute(family_id=family.pk) == 0
    assert _photos_release_abandoned() == []
    assert Photo.objects.get(pk=stuck.pk).status == Photo.Status.PROCESSING
    add_shape("purple", "circle", target_family=other_family, user=mallory)
    assert ocr._embedding_waits()  # another family's photo waiting: text reading gives way to it


def test_the_documents_sweep_leaves_the_photos_of_a_family_being_deleted_alone(
        add_shape, family, other_family, mallory, django_capture_on_commit_callbacks):
    """The sweep that builds missing or outdated search documents still rebuilt the photos of a family being deleted
    (a batch of 5,000 at a time: work for nothing, on rows its deletion is taking away). Another family's it builds."""
    from gallery.services import family_delete_start
    from search.metadata import documents_outdated_refresh
    from search.models import PhotoDocument

    doomed = add_shape("red", "circle")
    kept = add_shape("green", "triangle", target_family=other_family, user=mallory)
    PhotoDocument.objects.filter(photo_id__in=[doomed.pk, kept.pk]).delete()
    with django_capture_on_commit_callbacks(execute=False):
        family_delete_start(family=family)
    assert documents_outdated_refresh() == 1
    assert set(PhotoDocument.objects.filter(photo_id__in=[doomed.pk, kept.pk]).values_list("photo_id", flat=True)) \
        == {kept.pk}
