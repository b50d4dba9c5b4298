"""A model switch keeps the previous model's embeddings (search already uses the new one) until a family admin
confirms it or MODEL_SWITCH_KEEP_DAYS pass; meanwhile `manage.py evaluate --compare` measures both models on the
family's own judgments, and ranks a deliberately worse checkpoint below the real one."""

from __future__ import annotations

import io
import shutil
from datetime import timedelta
from itertools import product

import pytest
import torch
from django.core.management import CommandError, call_command
from django.utils import timezone

from gallery.models import Photo
from search import vector_index
from search.embedder import reset_embedder
from search.model_comparison import compare_models
from search.models import Judgment, ModelSwitch, PhotoEmbedding
from search.selectors import family_search_model
from search.services import embed_missing
from search.tests.conftest import TOY_MODEL
from tests.factories import MembershipFactory, UserFactory
from tests.queue import run_queued_tasks

pytestmark = pytest.mark.django_db

COLOURS, SHAPES = ("red", "blue", "green"), ("circle", "square", "triangle")


@pytest.fixture
def worse_model(tmp_path):
    """The toy model with its text token embeddings shuffled: same image tower (same photo vectors), garbled text."""
    from transformers import AutoModel

    path = tmp_path / "toy-shuffled-text"
    model = AutoModel.from_pretrained(TOY_MODEL)
    weight = model.text_model.embeddings.token_embedding.weight
    generator = torch.Generator().manual_seed(7)
    with torch.no_grad():
        weight.copy_(weight[torch.randperm(weight.shape[0], generator=generator)])
    model.save_pretrained(path)
    for name in TOY_MODEL.iterdir():
        if name.suffix in (".model", ".json") and not (path / name.name).exists():
            shutil.copy(name, path / name.name)
    return str(path)


@pytest.fixture
def switched(toy_model, add_shape, alice, family, settings, worse_model, django_capture_on_commit_callbacks):
    """Nine shapes embedded by the toy model and judged by colour and shape for nine queries, then a switch to the
    worse model, complete (every photo re-embedded) and seen by a sweep."""
    vector_index._ensured.clear()  # an earlier test's index may have been rolled back with its transaction
    with django_capture_on_commit_callbacks(execute=True):
        photos = {f"{c} {s}": add_shape(c, s) for c, s in product(COLOURS, SHAPES)}
    run_queued_tasks()
    Judgment.objects.bulk_create([
        Judgment(user=alice, family=family, photo=photo, query=query, relevant=(name == query), model_name=toy_model)
        for query in photos for name, photo in photos.items()])
    settings.SEARCH_MODEL = worse_model
    reset_embedder()
    with django_capture_on_commit_callbacks(execute=True):
        embed_missing()
    run_queued_tasks()
    with django_capture_on_commit_callbacks(execute=True):
        embed_missing()
    assert not Photo.objects.exclude(status=Photo.Status.READY).exists()
    return photos


def evaluate(*args) -> str:
    out = io.StringIO()
    call_command("evaluate", *args, stdout=out)
    return out.getvalue()


def test_previous_embeddings_stay_until_keep_days_pass(switched, family, toy_model, worse_model, settings):
    assert family_search_model(family_id=family.pk) == worse_model  # search moved on at once
    assert PhotoEmbedding.objects.filter(model_name=toy_model).count() == 9
    switch = ModelSwitch.objects.get(family=family)
    assert (switch.previous_model, switch.model_name, switch.removed_at) == (toy_model, worse_model, None)
    ModelSwitch.objects.filter(pk=switch.pk).update(covered_at=timezone.now() - timedelta(days=settings.MODEL_SWITCH_KEEP_DAYS, minutes=1))
    embed_missing()
    assert not PhotoEmbedding.objects.filter(model_name=toy_model).exists()
    assert ModelSwitch.objects.get(pk=switch.pk).removed_at is not None
    assert family_search_model(family_id=family.pk) == worse_model


def test_a_family_admin_confirms_the_switch_on_the_index_page(switched, family, toy_model, alice, client_for,
                                                            mallory):
    bob = UserFactory(username="bob")
    MembershipFactory(family=family, user=bob)
    page = client_for(alice).get("/indexing/").content.decode()
    assert "are kept so the two can be compared" in page and "Confirm the switch" in page
    assert "Confirm the switch" not in client_for(bob).get("/indexing/").content.decode()  # members see, admins act
    assert client_for(bob).post("/indexing/confirm-switch/", {"family": family.pk}).status_code == 403
    assert client_for(mallory).post("/indexing/confirm-switch/", {"family": family.pk}).status_code == 404
    assert client_for(mallory).post("/indexing/confirm-switch/", {"family": "x"}).status_code == 404
    assert PhotoEmbedding.objects.filter(model_name=toy_model).count() == 9

    response = client_for(alice).post("/indexing/confirm-switch/", {"family": family.pk})
    assert response.status_code == 302
    assert ModelSwitch.objects.get(family=family).confirmed_by == alice
    embed_missing()
    assert not PhotoEmbedding.objects.filter(model_name=toy_model).exists()


def test_evaluate_compare_ranks_the_worse_checkpoint_below_the_real_one(switched, family, toy_model, worse_model):
    comparison = compare_models(family=family, model_names=[worse_model, toy_model])
    assert comparison.queries == 9 and comparison.judgments == 81 and comparison.left_out == 0
    worse, real = comparison.models
    assert (worse.role, real.role) == ("active", "previous")
    assert real.precision[1] == 1.0 and real.ndcg_at_10 > 0.95 and real.ece < 0.1
    assert worse.ndcg_at_10 < real.ndcg_at_10 - 0.2 and worse.precision[1] < real.precision[1]

    output = evaluate("--family", "Smiths", "--compare")
    assert "9 judged queries, 81 judgment(s)" in output
    rows = {line.split()[0]: [float(x) for x in line.split()[1:6]] for line in output.splitlines()
            if line.startswith(("active", "previous"))}
    assert rows["previous"][3] > rows["active"][3]  # nDCG@10
    assert worse_model in output and toy_model in output
    assert "previous" not in evaluate("--family", str(family.pk)).split("model (calibration)")[1]


def test_the_comparison_leaves_out_judgments_of_photos_in_the_trash(switched, family, alice, toy_model, worse_model):
    """As the quality figures do: a photo in the trash is no result of any search, so its judgments wait until it
    is restored (they were scored like any other)."""
    from gallery.trash_services import photos_restore, photos_trash

    photos_trash(user=alice, photo_ids=[switched["red circle"].pk])
    comparison = compare_models(family=family, model_names=[worse_model, toy_model])
    assert (comparison.queries, comparison.judgments, comparison.left_out) == (9, 72, 0)
    photos_restore(user=alice, photo_ids=[switched["red circle"].pk])
    assert compare_models(family=family, model_names=[worse_model, toy_model]).judgments == 81


def test_the_comparison_scores_a_query_with_an_exclusion_as_search_does(toy_model, add_shape, family, alice,
                                                                        django_capture_on_commit_callbacks):
    """"circle -red" judged: the red circle wrong, the others right. The comparison scored it as "circle" (the
    exclusion ignored), ranking the red circle with the right ones; search lowers it by the excluded concept's
    probability, p_sem · (1 − p_red), and so does the comparison now."""
    with django_capture_on_commit_callbacks(execute=True):
        circles = {colour: add_shape(colour, "circle") for colour in COLOURS}
    run_queued_tasks()
    Judgment.objects.bulk_create([Judgment(user=alice, family=family, photo=photo, query="circle -red",
                                           relevant=colour != "red") for colour, photo in circles.items()])
    [model] = compare_models(family=family, model_names=[toy_model]).models
    assert model.precision[1] == 1.0 and model.ndcg_at_10 == pytest.approx(1.0)
    assert model.ece < 0.3


def test_evaluate_says_what_is_missing(toy_model, family, alice):
    assert "No judgments to evaluate yet" in evaluate("--family", "Smiths")
    with pytest.raises(CommandError, match="no embeddings of a previous model"):
        evaluate("--family", "Smiths", "--compare")
    with pytest.raises(CommandError, match="No family"):
        evaluate("--family", "Nobody")


def test_switching_back_and_forth_never_serves_a_model_without_embeddings(
        switched, family, toy_model, worse_model, settings, alice, django_capture_on_commit_callbacks):
    from search.services import model_switch_confirm

    settings.SEARCH_MODEL = toy_model  # back to the real model: its embeddings were kept, so it covers at once
    reset_embedder()
    embed_missing()
    assert family_search_model(family_id=family.pk) == toy_model
    model_switch_confirm(user=alice, family=family)
    embed_missing()
    assert not PhotoEmbedding.objects.filter(model_name=worse_model).exists()

    settings.SEARCH_MODEL = worse_model  # and forth again: it has nothing now, the real model serves meanwhile
    reset_embedder()
    assert family_search_model(family_id=family.pk) == toy_model
    with django_capture_on_commit_callbacks(execute=True):
        embed_missing()
    run_queued_tasks()
    embed_missing()
    assert family_search_model(family_id=family.pk) == worse_model


def test_the_comparison_page_for_members_only(switched, family, client_for, alice, mallory, toy_model, worse_model,
                                             django_capture_on_commit_callbacks):
    page = client_for(alice).get("/indexing/").content.decode()
    assert f"/indexing/compare/{family.pk}/" in page
    with django_capture_on_commit_callbacks(execute=True):  # the first view leaves the new model's words to the worker
        client_for(alice).get(f"/indexing/compare/{family.pk}/")
    run_queued_tasks()
    html = client_for(alice).get(f"/indexing/compare/{family.pk}/").content.decode()
    assert "9 judged queries, 81 judgments" in html and worse_model in html and toy_model in html
    assert 'class="model-previous"' in html and "Confirm the switch" in html
    assert client_for(mallory).get(f"/indexing/compare/{family.pk}/").status_code == 404


def test_the_comparison_page_leaves_uncached_words_to_the_worker(switched, family, client_for, alice, settings,
                                                                 django_capture_on_commit_callbacks):
    """Right after a switch the new model has encoded none of the judged queries' words: the page encodes a few and
    the worker the rest, instead of running both models over every query inside the request."""
    from search import text_embeddings
    from search.models import TextEmbedding

    TextEmbedding.objects.all().delete()
    text_embeddings.clear_process_cache()
    settings.SEARCH_PAGE_ENCODE_TERMS = 2
    with django_capture_on_commit_callbacks(execute=True):
        html = client_for(alice).get(f"/indexing/compare/{family.pk}/").content.decode()
    assert TextEmbedding.objects.count() <= 2
    assert 'class="count-waiting">' in html and "being prepared" in html and "9 judged queries" not in html
    assert run_queued_tasks() >= 1
    html = client_for(alice).get(f"/indexing/compare/{family.pk}/").content.decode()
    assert "9 judged queries, 81 judgments" in html and "being prepared" not in html


def test_the_quality_page_leads_to_the_comparison_during_a_switch(switched, family, client_for, alice, toy_model,
                                                                  worse_model):
    """The issue puts the two models' figures on the quality page too; it said nothing of the switch, and the only
    way to the comparison was the Index page (QA). It now says which two models the family has and links to them
    compared on its judgments; before any switch it says nothing of it."""
    html = client_for(alice).get(f"/search/quality/{family.pk}/").content.decode()
    assert f'href="/indexing/compare/{family.pk}/"' in html
    assert toy_model in html and worse_model in html
    ModelSwitch.objects.all().delete()
    PhotoEmbedding.objects.filter(model_name=toy_model).delete()
    html = client_for(alice).get(f"/search/quality/{family.pk}/").content.decode()
    assert "/indexing/compare/" not in html


def test_the_comparison_measures_ece_like_for_like_when_only_one_model_is_fitted(switched, family, toy_model,
                                                                                 worse_model, client_for, alice):
    """Right after a switch only the previous model may have a calibration fitted from the family's judgments: its
    ECE (fitted) stood beside the new model's (its own calibration, not fitted yet), so the new model looked worse
    calibrated for want of a fit. Each model's ECE under its own calibration is shown too, and says so."""
    from search.models import SearchCalibration

    plain = {m.model_name: m.ece for m in compare_models(family=family, model_names=[worse_model, toy_model]).models}
    SearchCalibration.objects.create(family=family, model_name=toy_model, semantic_scale=27.0, semantic_bias=-30.0,
                                     applied=True)
    worse, real = compare_models(family=family, model_names=[worse_model, toy_model]).models
    assert real.calibration.source == "fitted" and real.ece != pytest.approx(plain[toy_model])
    assert real.own_ece == pytest.approx(plain[toy_model])
    assert worse.own_ece == pytest.approx(worse.ece) == pytest.approx(plain[worse_model])

    output = evaluate("--family", "Smiths", "--compare")
    assert "ECE own" in output and "under each model's own calibration" in output
    html = client_for(alice).get(f"/indexing/compare/{family.pk}/").content.decode()
    assert "ECE, model's own" in html and f"{real.own_ece:.3f}" in html


@pytest.mark.django_db
def test_health_does_not_say_search_is_off_while_the_previous_model_serves(
        client, settings, toy_model, add_shape, django_capture_on_commit_callbacks):
    """SEARCH_MODEL changed to a model that can't load (a hub name, offline): every family is still searched with the
    previous model's embeddings, as the banner says, but /health/ said "semantic search is off"."""
    import json

    from mediasearch.health import health_forget
    from search.models import EmbeddingModel

    vector_index._ensured.clear()  # an earlier test's index may have been rolled back with its transaction
    with django_capture_on_commit_callbacks(execute=True):
        add_shape("red", "circle")
    run_queued_tasks()  # embedded with the toy model: the previous model once the setting changes
    assert PhotoEmbedding.objects.filter(model_name=toy_model).exists()
    settings.SEARCH_MODEL = "mediasearch-tests/never-downloaded-siglip"
    settings.HEALTH_CACHE_SECONDS = 0
    EmbeddingModel.objects.create(name=settings.SEARCH_MODEL, available=False, error="not in the cache")
    health_forget()

    model = json.loads(client.get("/health/").content)["checks"]["model"]

    assert model["status"] == "down"
    assert "semantic search is off" not in model["detail"] and "previous model" in model["detail"]
    # The previous model can't load either (two switches gone wrong): nothing serves, and it says so.
    EmbeddingModel.objects.filter(name=toy_model).delete()
    EmbeddingModel.objects.create(name=toy_model, available=False, error="removed from the disk")
    health_forget()
    model = json.loads(client.get("/health/").content)["checks"]["model"]
    assert "semantic search is off" in model["detail"]
