"""Tag suggestions: the toy model's calibrated probabilities against the tag vocabulary, scored from the stored
embedding right after embedding, recomputed when the vocabulary changes, decided by members on the photo page, the
family page, the admin and the API, never across families."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command

from gallery.models import TagSuggestion
from search.models import TagConcept
from search.services import embed_photos
from search.suggestions import photos_suggest, suggestions_recompute
from tests.queue import queued_tasks, run_queued_tasks

pytestmark = pytest.mark.django_db


def open_suggestions(photo) -> dict[str, float]:
    return dict(TagSuggestion.objects.filter(photo=photo, state=TagSuggestion.State.OPEN)
                .values_list("name", "probability"))


@pytest.fixture(autouse=True)
def colour_concepts(db):
    """The colours the toy model knows, as global concepts (seeded by migration; a transactional test's flush
    elsewhere in the run may have removed the seed)."""
    for name in ("red", "blue", "green"):
        TagConcept.objects.get_or_create(family=None, name=name)


@pytest.fixture
def embedded(toy_model, add_shape):
    """A shape photo stored and embedded (which scores its suggestions)."""
    def make(colour, shape, **kwargs):
        photo = add_shape(colour, shape, **kwargs)
        report = embed_photos(photo_ids=[photo.pk])
        assert report.ready == 1, report
        photo.refresh_from_db()
        return photo
    return make


def test_a_red_circle_is_suggested_red_and_not_blue_right_after_embedding(embedded, toy_model):
    photo = embedded("red", "circle")
    found = open_suggestions(photo)
    assert found.get("red", 0) >= 0.5, found
    assert "blue" not in found
    assert photo.suggestions_model == toy_model
    row = TagSuggestion.objects.get(photo=photo, name="red")
    assert row.model_name == toy_model and row.state == TagSuggestion.State.OPEN



def test_a_tag_the_photo_carries_is_not_suggested(embedded):
    photo = embedded("red", "circle", tags=["Red"])
    assert "red" not in {name.lower() for name in open_suggestions(photo)}


def test_a_tag_typed_after_the_suggestion_hides_it_until_the_next_scoring_removes_it(embedded, alice, api,
                                                                                     client_for):
    photo = embedded("red", "circle")
    client = client_for(alice)
    client.post(f"/photos/{photo.pk}/edit/", {"title": "", "description": "", "tags": "Red"})
    assert 'data-tag="red"' not in client.get(f"/photos/{photo.pk}/").content.decode()
    assert api.get(f"/api/v1/photos/{photo.pk}/").json()["tag_suggestions"] == []
    assert api.get("/api/v1/photos/").json()["results"][0]["tag_suggestions"] == []
    photos_suggest([photo.pk])
    assert not TagSuggestion.objects.filter(photo=photo).exists()


def test_accepted_and_dismissed_suggestions_never_come_back_on_recompute(embedded, alice, client_for):
    from gallery.suggestions import suggestion_dismiss, suggestions_accept

    red = embedded("red", "circle")
    blue = embedded("blue", "square")
    suggestions_accept(suggestions=TagSuggestion.objects.filter(photo=red, name="red"), user=alice)
    suggestion_dismiss(suggestion=TagSuggestion.objects.get(photo=blue, name="blue"), user=alice)
    assert suggestions_recompute() == 2
    assert "red" not in open_suggestions(red) and "blue" not in open_suggestions(blue)
    assert TagSuggestion.objects.get(photo=red, name="red").state == TagSuggestion.State.ACCEPTED
    assert TagSuggestion.objects.get(photo=blue, name="blue").state == TagSuggestion.State.DISMISSED
    # Removing the accepted tag doesn't bring the suggestion back either: the member decided.
    client_for(alice).post(f"/photos/{red.pk}/edit/", {"title": "", "description": "", "tags": ""})
    assert not red.tags.exists()
    photos_suggest([red.pk])
    assert "red" not in open_suggestions(red)


# --- the vocabulary ------------------------------------------------------------------------------


def test_the_vocabulary_is_seeded_from_the_synonym_concepts():
    names = set(TagConcept.objects.filter(family=None).values_list("name", flat=True))
    assert {"dog", "beach", "sunset", "red", "birthday"} <= names
    assert TagConcept.objects.get(family=None, name="sunny").text == "a sunny day"
    assert "holiday" not in names  # not something a camera sees


def test_changing_the_vocabulary_in_the_admin_rescores_in_the_background(
        embedded, admin_client, django_capture_on_commit_callbacks):
    photo = embedded("red", "circle")
    assert "circle" not in open_suggestions(photo)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post("/admin/search/tagconcept/add/",
                                     {"family": "", "name": " Circle ", "prompt": "a circle", "enabled": "on"})
    assert response.status_code == 302, response.content.decode()[:2000]
    tasks = queued_tasks()
    assert [t["func"] for t in tasks] == ["search.tasks.suggestions_recompute_task"]
    for task in tasks:
        from django.utils.module_loading import import_string
        import_string(task["func"])(*task["args"])
    assert open_suggestions(photo).get("Circle", 0) >= 0.5
    # Turned off: the open suggestion goes with it, on the next background run.
    concept = TagConcept.objects.get(name="Circle")
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(f"/admin/search/tagconcept/{concept.pk}/change/",
                          {"family": "", "name": "Circle", "prompt": "a circle"})
    assert run_queued_tasks() == 1
    assert "Circle" not in open_suggestions(photo)


def test_a_family_entry_replaces_the_global_one_for_that_family_only(embedded, family, other_family, mallory):
    TagConcept.objects.create(family=family, name="red", enabled=False)
    TagConcept.objects.create(family=other_family, name="round thing", prompt="a red circle")
    mine = embedded("red", "circle")
    theirs = embedded("red", "circle", target_family=other_family, user=mallory)
    assert "red" not in open_suggestions(mine) and "round thing" not in open_suggestions(mine)
    assert open_suggestions(theirs).get("red", 0) >= 0.5
    assert open_suggestions(theirs).get("round thing", 0) >= 0.5


def test_the_recompute_command_scores_one_family(embedded, family, other_family, mallory):
    mine = embedded("red", "circle")
    theirs = embedded("red", "circle", target_family=other_family, user=mallory)
    TagConcept.objects.create(family=None, name="circle")
    call_command("suggest_tags", "--family", "Smiths", "--no-progress")
    assert "circle" in open_suggestions(mine) and "circle" not in open_suggestions(theirs)


def test_the_sweep_scores_embedded_photos_the_active_model_has_not_scored(embedded, settings, toy_model):
    from search.services import embed_missing

    settings.TAG_SUGGESTIONS_ENABLED = False
    photo = embedded("red", "circle")
    assert not open_suggestions(photo) and photo.suggestions_model == ""
    settings.TAG_SUGGESTIONS_ENABLED = True
    embed_missing()
    photo.refresh_from_db()
    assert "red" in open_suggestions(photo) and photo.suggestions_model == toy_model


def test_with_suggestions_off_nothing_waits_for_them(embedded, settings, client_for, alice):
    # With TAG_SUGGESTIONS_ENABLED off, an indexed photo's page said "Suggestions appear once the photo is indexed."
    # beside "Search index: Ready", and the Index page counted "tag suggestions: 0 of 1 indexed" as work to come,
    # asking for its status every 2 s for ever.
    from django.urls import reverse

    settings.TAG_SUGGESTIONS_ENABLED = False
    photo = embedded("red", "circle")
    client = client_for(alice)
    page = client.get(photo.get_absolute_url()).content.decode()
    assert "Suggestions appear once" not in page and 'id="tag-suggestions"' not in page
    index = client.get(reverse("search:indexing")).content.decode()
    assert "tag suggestions: switched off" in index and "0 of 1 indexed" not in index
    assert "every 2s" not in index
    settings.TAG_SUGGESTIONS_ENABLED = True  # (the same photo, before its scoring: it says they are to come)
    assert "Suggestions appear once" in client.get(photo.get_absolute_url()).content.decode()
    assert "every 2s" in client.get(reverse("search:indexing")).content.decode()


def test_the_family_switching_search_model_rescores_it_in_the_background(
        embedded, other_model, settings, django_capture_on_commit_callbacks):
    from search.embedder import reset_embedder
    from search.models import PhotoEmbedding
    from search.services import photos_retry, previous_models_prune

    photo = embedded("red", "circle")
    old_model = photo.suggestions_model
    settings.SEARCH_MODEL = other_model(32)  # random weights: its suggestions are whatever they are
    reset_embedder()
    photos_retry(photo_ids=[photo.pk])
    embed_photos(photo_ids=[photo.pk])  # re-embedded by the new model, and scored by it at once
    assert PhotoEmbedding.objects.filter(photo=photo).count() == 2
    TagSuggestion.objects.filter(photo=photo).update(model_name=old_model)  # as if that scoring had failed
    queued_tasks()
    with django_capture_on_commit_callbacks(execute=True):
        previous_models_prune()  # the family is searched with the new model from now on
    tasks = queued_tasks()
    assert [(t["func"], t["args"]) for t in tasks] == [("search.tasks.suggestions_recompute_task", (photo.family_id,))]
    from django.utils.module_loading import import_string
    import_string(tasks[0]["func"])(*tasks[0]["args"])
    assert not TagSuggestion.objects.filter(photo=photo, state=TagSuggestion.State.OPEN,
                                            model_name=old_model).exists()
    photo.refresh_from_db()
    assert photo.suggestions_model == settings.SEARCH_MODEL


# --- members' decisions: photo page, family page, admin, API ----------------------------------------


def test_accept_on_the_photo_page_makes_a_tag_with_source_suggestion(embedded, alice, client_for):
    from gallery.models import PhotoTag

    photo = embedded("red", "circle")
    client = client_for(alice)
    page = client.get(f"/photos/{photo.pk}/").content.decode()
    assert 'id="tag-suggestions"' in page and "red" in page and "Accept" in page
    red = TagSuggestion.objects.get(photo=photo, name="red")
    assert f"{round(red.probability * 100)}%" in page
    # Without JavaScript: a plain form post, back to the page.
    response = client.post(f"/photos/{photo.pk}/suggestions/{red.pk}/accept/")
    assert response.status_code == 302 and response["Location"] == photo.get_absolute_url()
    link = PhotoTag.objects.get(photo=photo, tag__name="red")
    assert link.source == PhotoTag.Source.SUGGESTION and link.added_by == alice
    red.refresh_from_db()
    assert red.state == TagSuggestion.State.ACCEPTED and red.decided_by == alice
    page = client.get(f"/photos/{photo.pk}/").content.decode()
    assert 'href="/?tag=red"' in page  # an ordinary tag now


def test_no_suggestions_left_is_said_only_after_the_last_one_was_decided(embedded, alice, client_for):
    photo = embedded("red", "circle")
    client = client_for(alice)
    TagSuggestion.objects.filter(photo=photo).exclude(name="red").delete()
    red = TagSuggestion.objects.get(photo=photo, name="red")
    body = client.post(f"/photos/{photo.pk}/suggestions/{red.pk}/dismiss/", headers={"HX-Request": "true"}
                       ).content.decode()
    assert 'id="tag-suggestions"' in body and "No suggestions left for this photo." in body
    assert "No suggestions left for this photo." in client.get(f"/photos/{photo.pk}/").content.decode()

    never = embedded("blue", "square", filename="never.png")
    TagSuggestion.objects.filter(photo=never).delete()  # scored, and the model suggested nothing
    page = client.get(f"/photos/{never.pk}/").content.decode()
    assert "No suggestions left" not in page
    assert 'id="tag-suggestions"' not in page  # no card for suggestions it never had
    assert never.suggestions_model  # not the "once the photo is indexed" case


def test_dismiss_with_htmx_answers_the_card_and_the_tags(embedded, alice, client_for):
    photo = embedded("red", "circle")
    TagConcept.objects.create(family=None, name="circle")
    photos_suggest([photo.pk])
    red = TagSuggestion.objects.get(photo=photo, name="red")
    client = client_for(alice)
    response = client.post(f"/photos/{photo.pk}/suggestions/{red.pk}/dismiss/", headers={"HX-Request": "true"})
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="tag-suggestions"' in body and 'id="photo-meta"' in body and "<html" not in body
    assert "be suggested again" in body and "circle" in body
    assert TagSuggestion.objects.get(pk=red.pk).state == TagSuggestion.State.DISMISSED
    # Accepting through htmx: the tags part shows the new tag.
    circle = TagSuggestion.objects.get(photo=photo, name="circle")
    body = client.post(f"/photos/{photo.pk}/suggestions/{circle.pk}/accept/", headers={"HX-Request": "true"}
                       ).content.decode()
    assert 'href="/?tag=circle"' in body


def test_the_family_page_accepts_every_suggestion_above_what_the_admin_types(embedded, alice, bob, client_for,
                                                                             family):
    photos = [embedded("red", "circle"), embedded("blue", "square"), embedded("green", "triangle")]
    TagSuggestion.objects.filter(photo=photos[2]).update(probability=0.6)
    page = client_for(bob).get(f"/families/{family.pk}/suggestions/")
    assert page.status_code == 200 and "Accept them" not in page.content.decode()  # members look, admins act
    # (A member: told, not shown a 404 as if the family were gone; an admin demoted with the page open is one.)
    refused = client_for(bob).post(f"/families/{family.pk}/suggestions/", {"min_probability": "0.9"})
    assert refused.status_code == 403 and "You are no longer an admin of Smiths" in refused.content.decode()
    client = client_for(alice)
    assert "Accept them" in client.get(f"/families/{family.pk}/suggestions/").content.decode()
    bad = client.post(f"/families/{family.pk}/suggestions/", {"min_probability": "lots"})
    assert bad.status_code == 422 and "Type a number from 0 to 1" in bad.content.decode()
    assert client.post(f"/families/{family.pk}/suggestions/", {"min_probability": "1.5"}).status_code == 422
    # "Count them" says how many "Accept them" would accept (it showed nothing new at the same threshold: QA).
    counted = " ".join(client.get(f"/families/{family.pk}/suggestions/", {"min_probability": "0.9"})
                       .content.decode().split())
    assert "“Accept them” would accept 2 suggestions (at least 0.9)." in counted
    low = " ".join(client.get(f"/families/{family.pk}/suggestions/", {"min_probability": "0.5"}).content.decode().split())
    assert "would accept 3 suggestions (at least 0.5)." in low
    response = client.post(f"/families/{family.pk}/suggestions/", {"min_probability": "0.9"}, follow=True)
    assert "Accepted 2 suggestions" in response.content.decode()
    assert set(photos[0].tags.values_list("name", flat=True)) == {"red"}
    assert set(photos[1].tags.values_list("name", flat=True)) == {"blue"}
    assert not photos[2].tags.exists() and "green" in open_suggestions(photos[2])


def test_count_them_leaves_the_forms_csrf_token_out_of_the_address(embedded, alice, client_for, family):
    """"Count them" sent the bulk-accept form as a GET: its CSRF token went into the address, and with it into the
    browser's history, the server's access log and any Referer. It posts (the form's token stays in the body), and the
    page of the count is an address of the threshold alone; accepting nothing on the way."""
    photo = embedded("red", "circle")
    client = client_for(alice)
    page = client.get(f"/families/{family.pk}/suggestions/").content.decode()
    count_button = re.search(r"<button[^>]*>Count them</button>", page)[0]
    assert "formmethod" not in count_button and 'name="count"' in count_button
    counted = client.post(f"/families/{family.pk}/suggestions/", {"min_probability": "0.5", "count": "1"})
    assert counted.status_code == 302
    assert counted["Location"] == f"/families/{family.pk}/suggestions/?min_probability=0.5"
    assert not photo.tags.exists()
    bad = client.post(f"/families/{family.pk}/suggestions/", {"min_probability": "lots", "count": "1"})
    assert bad.status_code == 422 and "Type a number from 0 to 1" in bad.content.decode()


def test_the_admin_action_accepts_in_bulk(embedded, admin_client):
    photos = [embedded("red", "circle"), embedded("blue", "square")]
    ids = list(TagSuggestion.objects.filter(photo__in=photos).values_list("pk", flat=True))
    response = admin_client.post("/admin/gallery/tagsuggestion/",
                                 {"action": "accept_selected", "_selected_action": ids}, follow=True)
    assert "Accepted 2 suggestion(s)" in response.content.decode()
    assert {p.tags.get().name for p in photos} == {"red", "blue"}


def test_the_api_lists_accepts_and_dismisses_suggestions(embedded, api, alice):
    photo = embedded("red", "circle")
    TagConcept.objects.create(family=None, name="circle")
    photos_suggest([photo.pk])
    body = api.get(f"/api/v1/photos/{photo.pk}/").json()
    names = [s["tag"] for s in body["tag_suggestions"]]
    assert set(names) == {"red", "circle"} and all(s["probability"] >= 0.5 for s in body["tag_suggestions"])
    assert body["tag_suggestions"] == sorted(body["tag_suggestions"], key=lambda s: -s["probability"])
    red = next(s for s in body["tag_suggestions"] if s["tag"] == "red")
    circle = next(s for s in body["tag_suggestions"] if s["tag"] == "circle")
    response = api.post(f"/api/v1/photos/{photo.pk}/suggestions/{red['id']}/accept/")
    assert response.status_code == 200
    assert "red" in response.json()["tags"] and [s["tag"] for s in response.json()["tag_suggestions"]] == ["circle"]
    response = api.post(f"/api/v1/photos/{photo.pk}/suggestions/{circle['id']}/dismiss/")
    assert response.status_code == 204
    assert api.get(f"/api/v1/photos/{photo.pk}/").json()["tag_suggestions"] == []
    # Listing carries them too.
    assert "tag_suggestions" in api.get("/api/v1/photos/").json()["results"][0]
    # Dismissing what is a tag now says so.
    response = api.post(f"/api/v1/photos/{photo.pk}/suggestions/{red['id']}/dismiss/")
    assert response.status_code == 400 and "remove the tag" in str(response.json())
    assert api.post(f"/api/v1/photos/{photo.pk}/suggestions/999999/accept/").status_code == 404


def test_accepting_past_the_tag_limit_says_so(embedded, api, alice, client_for):
    photo = embedded("red", "circle", tags=[f"tag {n}" for n in range(50)])
    red = TagSuggestion.objects.get(photo=photo, name="red")
    response = api.post(f"/api/v1/photos/{photo.pk}/suggestions/{red.pk}/accept/")
    assert response.status_code == 400 and "at most 50" in str(response.json())
    response = client_for(alice).post(f"/photos/{photo.pk}/suggestions/{red.pk}/accept/", follow=True)
    assert "at most 50" in response.content.decode()
    assert TagSuggestion.objects.get(pk=red.pk).state == TagSuggestion.State.OPEN


def test_accepting_in_bulk_names_the_photos_at_the_tag_limit(embedded, alice, client_for, family, admin_client):
    full = embedded("red", "circle", tags=[f"tag {n}" for n in range(50)])
    room = embedded("blue", "square")
    response = client_for(alice).post(f"/families/{family.pk}/suggestions/", {"min_probability": "0.5"}, follow=True)
    body = response.content.decode()
    assert "Accepted 1 suggestion" in body and f"“{full}” already has 50 tags" in body and "stay open" in body
    assert room.tags.filter(name="blue").exists()
    assert TagSuggestion.objects.get(photo=full, name="red").state == TagSuggestion.State.OPEN
    ids = list(TagSuggestion.objects.filter(photo=full).values_list("pk", flat=True))
    response = admin_client.post("/admin/gallery/tagsuggestion/", {"action": "accept_selected", "_selected_action": ids},
                                 follow=True)
    assert "Accepted 0 suggestion(s)" in response.content.decode() and "already has 50 tags" in response.content.decode()


def test_the_count_before_accepting_in_bulk_leaves_out_photos_at_the_tag_limit(embedded, alice, client_for, family):
    # "Accept them would accept 5 suggestions" when all five were on photos with 50 tags: pressing it accepted none,
    # and the page promised the same five again.
    embedded("red", "circle", tags=[f"tag {n}" for n in range(50)])
    embedded("blue", "square")
    counted = " ".join(client_for(alice).get(f"/families/{family.pk}/suggestions/", {"min_probability": "0.5"})
                       .content.decode().split())
    assert ("“Accept them” would accept 1 suggestion (at least 0.5); 1 more is on photos that already have 50 tags "
            "and stays open.") in counted


def test_the_openapi_schema_documents_suggestions():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    paths = schema["paths"]
    assert "/api/v1/photos/{photo_id}/suggestions/{suggestion_id}/accept/" in paths
    assert "204" in paths["/api/v1/photos/{photo_id}/suggestions/{suggestion_id}/dismiss/"]["post"]["responses"]
    photo = schema["components"]["schemas"]["PhotoOutput"]["properties"]
    assert photo["tag_suggestions"]["items"]["$ref"].endswith("/TagSuggestion")


# --- isolation ------------------------------------------------------------------------------------


def test_another_familys_suggestions_and_vocabulary_never_show(embedded, api, alice, mallory, other_family,
                                                                client_for, family):
    from django.contrib.auth.models import Permission

    theirs = embedded("red", "circle", target_family=other_family, user=mallory)
    TagConcept.objects.create(family=other_family, name="jones secret", prompt="a circle")
    photos_suggest([theirs.pk])
    mine = embedded("red", "circle")
    secret = TagSuggestion.objects.get(photo=theirs, name="jones secret")
    assert "jones secret" not in open_suggestions(mine)
    # Pages and API: 404, whether through their photo or through ours.
    client = client_for(alice)
    for photo_id in (theirs.pk, mine.pk):
        assert client.post(f"/photos/{photo_id}/suggestions/{secret.pk}/accept/").status_code == 404
        assert client.post(f"/photos/{photo_id}/suggestions/{secret.pk}/dismiss/").status_code == 404
        assert api.post(f"/api/v1/photos/{photo_id}/suggestions/{secret.pk}/accept/").status_code == 404
        assert api.post(f"/api/v1/photos/{photo_id}/suggestions/{secret.pk}/dismiss/").status_code == 404
    assert client.get(f"/families/{other_family.pk}/suggestions/").status_code == 404
    assert client.post(f"/families/{other_family.pk}/suggestions/", {"min_probability": "0"}).status_code == 404
    assert "jones secret" not in client.get(f"/families/{family.pk}/suggestions/").content.decode()
    assert TagSuggestion.objects.get(pk=secret.pk).state == TagSuggestion.State.OPEN
    # The admin, for staff who are not superusers: only their own families' rows.
    alice.is_staff = True
    alice.save()
    alice.user_permissions.add(*Permission.objects.filter(codename__in=[
        "view_tagsuggestion", "view_tagconcept", "change_tagconcept", "add_tagconcept"]))
    listing = client_for(alice).get("/admin/gallery/tagsuggestion/").content.decode()
    assert "jones secret" not in listing and "red" in listing
    concepts = client_for(alice).get("/admin/search/tagconcept/").content.decode()
    assert "jones secret" not in concepts
    form = client_for(alice).get("/admin/search/tagconcept/add/").content.decode()
    assert "Joneses" not in form and "Smiths" in form


def test_an_open_suggestion_is_searchable_below_a_tag_and_named_suggested_in_explain(embedded, alice, client_for):
    from search.engine import SearchParams, search_photos
    from search.metadata import FIELDS

    suggested = embedded("red", "circle")
    tagged = embedded("blue", "square", tags=["red"])
    assert "red" in open_suggestions(suggested)
    response = search_photos(user=alice, params=SearchParams(query="red", semantic_weight=0, metadata_weight=1,
                                                             min_score=0, show_hidden=True))
    explained = {r.photo.pk: r.explanation for r in response.results}
    assert explained[suggested.pk].meta_fields == ["suggested tags"]
    assert explained[tagged.pk].meta_fields == ["tags"]
    weight = {f.key: f.weight for f in FIELDS}
    assert weight["suggested"] < weight["tags"]
    assert explained[suggested.pk].meta_score < explained[tagged.pk].meta_score
    page = client_for(alice).get("/search/", {"q": "red", "show_hidden": "1"}).content.decode()
    assert "suggested tags" in page
    # Dismissed, it is no longer in the photo's metadata.
    client_for(alice).post(f"/photos/{suggested.pk}/suggestions/"
                           f"{TagSuggestion.objects.get(photo=suggested, name='red').pk}/dismiss/")
    again = search_photos(user=alice, params=SearchParams(query="red", semantic_weight=0, metadata_weight=1,
                                                          min_score=0, show_hidden=True))
    assert suggested.pk not in {r.photo.pk for r in again.results if r.explanation.meta_score > 0}


def test_the_family_page_ignores_what_is_not_its_threshold_in_the_address(embedded, alice, client_for, family):
    """A link to the family's suggestions carrying anything but a threshold (a search's ?q=…, a tracking parameter)
    bound the form to nothing and answered 422 "This field is required." above the page. The page is the default
    threshold's, as without the parameter; a bad threshold in the address is still told."""
    embedded("red", "circle")
    client = client_for(alice)
    page = client.get(f"/families/{family.pk}/suggestions/", {"q": "red", "utm_source": "mail"})
    body = page.content.decode()
    assert page.status_code == 200 and "This field is required" not in body
    assert body.count("(at least 0.9)") == client.get(f"/families/{family.pk}/suggestions/").content.decode().count(
        "(at least 0.9)")
    bad = client.get(f"/families/{family.pk}/suggestions/", {"min_probability": "lots", "q": "red"})
    assert bad.status_code == 422 and "Type a number from 0 to 1" in bad.content.decode()


def test_a_merged_tags_own_concept_suggests_the_name_kept(embedded, family, alice, django_capture_on_commit_callbacks):
    """"scarlet" merged into "crimson" in the admin: the family's own concept "scarlet" kept suggesting "scarlet" on
    every red photo scored again or new, and a member accepting it made the merged tag again. The family's concept of
    a merged name is its concept of the name kept now, asking the model what it asked; the photos are scored again."""
    from gallery.models import Tag
    from gallery.services import tags_merge

    TagConcept.objects.filter(family=None, name="red").delete()  # (the global "red" would suggest itself beside it)
    TagConcept.objects.create(family=family, name="Scarlet", prompt="red")
    embedded("red", "circle", tags=["scarlet"])
    embedded("red", "square", tags=["crimson"])
    untagged = embedded("red", "triangle")
    assert open_suggestions(untagged).get("Scarlet", 0) >= 0.5
    queued_tasks()

    with django_capture_on_commit_callbacks(execute=True):
        tags_merge(into=Tag.objects.get(family=family, name="crimson"), tags=Tag.objects.filter(family=family),
                   user=alice)
    assert run_queued_tasks() == 1  # the family's photos scored again with its vocabulary as it is now

    assert list(TagConcept.objects.filter(family=family).values_list("name", "prompt", "enabled")) == [
        ("crimson", "red", True)]
    assert open_suggestions(untagged).get("crimson", 0) >= 0.5 and "Scarlet" not in open_suggestions(untagged)
    assert open_suggestions(embedded("red", "circle")).get("crimson", 0) >= 0.5


def test_a_suggestion_dismissed_before_its_name_was_merged_stays_dismissed_under_the_name_kept(
        embedded, family, alice, django_capture_on_commit_callbacks):
    """A member dismissed "Scarlet" on a photo, then "scarlet" was merged into "crimson": the dismissal stayed under
    the name "Scarlet" while the family's concept, now "crimson", suggested "crimson" on that very photo again. What
    was dismissed is the concept, so the dismissal carries over to the name kept; other photos are suggested it."""
    from gallery.models import Tag
    from gallery.services import tags_merge
    from gallery.suggestions import suggestion_dismiss

    TagConcept.objects.filter(family=None, name="red").delete()  # (the global "red" would suggest itself beside it)
    TagConcept.objects.create(family=family, name="Scarlet", prompt="red")
    embedded("red", "circle", tags=["scarlet"])
    embedded("red", "square", tags=["crimson"])
    dismissed, untouched = embedded("red", "triangle"), embedded("red", "circle")
    suggestion_dismiss(suggestion=TagSuggestion.objects.get(photo=dismissed, name="Scarlet"), user=alice)
    queued_tasks()

    with django_capture_on_commit_callbacks(execute=True):
        tags_merge(into=Tag.objects.get(family=family, name="crimson"), tags=Tag.objects.filter(family=family),
                   user=alice)
    assert run_queued_tasks() == 1  # the family's photos scored again with its vocabulary as it is now

    assert open_suggestions(dismissed) == {}
    assert list(TagSuggestion.objects.filter(photo=dismissed).values_list("name", "state")) == [
        ("crimson", TagSuggestion.State.DISMISSED)]
    assert open_suggestions(untouched).get("crimson", 0) >= 0.5


def test_a_merge_changes_only_the_familys_own_concepts_of_the_merged_names(family, alice, other_family, mallory):
    """Who keeps suggesting what after a merge, by the vocabulary each family's photos are scored with: the family's
    own concept of a merged name becomes its concept of the name kept (as it asked the model), unless the family's
    vocabulary has that name already (its own entry, or a global one): then it goes, or stays unticked where a global
    concept of the merged name exists (gone, that one would suggest the merged name again). An unticked one stays as
    it is (it keeps the global one off). Global concepts and another family's are not the family's to change."""
    from django.db.models.functions import Lower

    from gallery.models import Tag
    from gallery.services import tags_merge
    from search.suggestions import vocabularies
    from tests.factories import photo_factory

    def merge(names: list[str], into: str) -> None:
        photo_factory(family=family, user=alice, tags=[*names, into])
        tags = Tag.objects.filter(family=family, name__in=[*names, into])
        tags_merge(into=tags.get(name=into), tags=tags, user=alice)

    names = {"puppy", "pup", "hound", "kitty", "cat", "doggy", "doggo", "dog"}
    TagConcept.objects.filter(family=None).annotate(key=Lower("name")).filter(key__in=names).delete()  # (the seed's)
    for name in ("cat", "kitty", "doggo"):
        TagConcept.objects.create(family=None, name=name)
    TagConcept.objects.create(family=family, name="puppy", prompt="a young dog")
    TagConcept.objects.create(family=family, name="pup")  # a second one, no prompt: the name is what it asks
    TagConcept.objects.create(family=family, name="Kitty", prompt="a kitten")
    TagConcept.objects.create(family=family, name="doggy")
    TagConcept.objects.create(family=family, name="doggo", enabled=False)
    TagConcept.objects.create(family=family, name="dog", prompt="a dog")
    TagConcept.objects.create(family=other_family, name="puppy", prompt="a young dog")
    before_global = set(TagConcept.objects.filter(family=None).values_list("name", "prompt", "enabled"))

    merge(["Puppy", "pup"], into="Hound")  # no concept of "Hound": the first becomes it, the second goes
    merge(["kitty"], into="cat")  # a global "cat": "Kitty" goes, unticked (a global "kitty" would come back)
    merge(["doggy", "doggo"], into="dog")  # the family's own "dog": "doggy" goes; "doggo" stays unticked

    ours = {concept.name: concept.text for concept in vocabularies([family.pk])[family.pk]
            if concept.name.lower() in names}
    assert ours == {"cat": "cat", "dog": "a dog", "Hound": "a young dog"}
    assert set(TagConcept.objects.filter(family=family).values_list("name", "prompt", "enabled")) == {
        ("Hound", "a young dog", True), ("Kitty", "a kitten", False), ("doggo", "", False), ("dog", "a dog", True)}
    assert set(TagConcept.objects.filter(family=None).values_list("name", "prompt", "enabled")) == before_global
    assert list(TagConcept.objects.filter(family=other_family).values_list("name", "prompt")) == [
        ("puppy", "a young dog")]


def test_a_merged_name_of_the_shared_vocabulary_is_turned_off_for_the_family_and_asked_as_the_name_kept(
        embedded, family, alice, other_family, django_capture_on_commit_callbacks):
    """The seeded vocabulary is all global: "scarlet" merged into "crimson" left the global "scarlet" in the family's
    vocabulary, so every red photo was suggested "scarlet" again and accepting it made the merged tag again. The
    family turns the global concept off (its own unticked entry, as the concepts admin does it) and has a concept of
    the name kept asking what the global one asked; other families keep the global one."""
    from gallery.models import Tag
    from gallery.services import tags_merge
    from gallery.suggestions import suggestions_accept
    from search.suggestions import vocabularies

    TagConcept.objects.filter(family=None, name="red").delete()  # (the global "red" would suggest itself beside it)
    TagConcept.objects.create(family=None, name="scarlet", prompt="red")
    embedded("red", "circle", tags=["scarlet"])
    embedded("red", "square", tags=["crimson"])
    queued_tasks()

    with django_capture_on_commit_callbacks(execute=True):
        tags_merge(into=Tag.objects.get(family=family, name="crimson"), tags=Tag.objects.filter(family=family),
                   user=alice)
    assert run_queued_tasks() == 1

    assert set(TagConcept.objects.filter(family=family).values_list("name", "prompt", "enabled")) == {
        ("scarlet", "red", False), ("crimson", "red", True)}
    assert {concept.name for concept in vocabularies([family.pk])[family.pk]} & {"scarlet", "crimson"} == {"crimson"}
    assert "scarlet" in {concept.name for concept in vocabularies([other_family.pk])[other_family.pk]}
    new = embedded("red", "triangle")
    assert open_suggestions(new).get("crimson", 0) >= 0.5 and "scarlet" not in open_suggestions(new)
    suggestions_accept(suggestions=TagSuggestion.objects.filter(photo=new), user=alice)
    assert not Tag.objects.filter(family=family, name__iexact="scarlet").exists()


def test_the_rescore_a_merge_queues_does_not_bring_a_shared_merged_name_back(
        embedded, family, alice, django_capture_on_commit_callbacks):
    """The family's own concept of one merged name ("ruby") changed, so the merge queued a re-score; the global
    "scarlet", another merged name, was still in the family's vocabulary, and the re-score replaced the open
    suggestions the merge had renamed to "crimson": every red photo was suggested "scarlet" again at once."""
    from gallery.models import Tag
    from gallery.services import tags_merge

    TagConcept.objects.filter(family=None, name="red").delete()
    TagConcept.objects.create(family=None, name="scarlet", prompt="red")
    TagConcept.objects.create(family=family, name="ruby", prompt="red")
    embedded("red", "circle", tags=["scarlet"])
    embedded("red", "square", tags=["ruby", "crimson"])
    photo = embedded("red", "triangle")
    assert {"scarlet", "ruby"} <= set(open_suggestions(photo))
    queued_tasks()

    with django_capture_on_commit_callbacks(execute=True):
        tags_merge(into=Tag.objects.get(family=family, name="crimson"), tags=Tag.objects.filter(family=family),
                   user=alice)
    assert run_queued_tasks() == 1

    assert set(open_suggestions(photo)) & {"scarlet", "ruby", "crimson"} == {"crimson"}


def test_a_tag_renamed_in_the_admin_takes_the_familys_concept_of_its_old_name_along(
        embedded, family, alice, other_family, client, django_capture_on_commit_callbacks):
    """A rename is a merge of one name into a new one, as far as the vocabulary goes: "scarlet" renamed "crimson"
    in the admin kept the global "scarlet" suggesting "scarlet" on every red photo (and the family's own concept of
    it too), and accepting one made the old tag again beside the renamed one."""
    from django.contrib.auth import get_user_model
    from django.urls import reverse

    from gallery.models import Tag
    from search.suggestions import vocabularies

    TagConcept.objects.filter(family=None, name="red").delete()
    TagConcept.objects.create(family=None, name="scarlet", prompt="red")
    TagConcept.objects.create(family=family, name="ruby", prompt="red")
    embedded("red", "circle", tags=["scarlet", "ruby"])
    photo = embedded("red", "triangle")
    assert {"scarlet", "ruby"} <= set(open_suggestions(photo))
    queued_tasks()
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.org", "admin-password-123"))

    def rename(name: str, to: str) -> None:
        tag = Tag.objects.get(family=family, name=name)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(reverse("admin:gallery_tag_change", args=[tag.pk]),
                                   {"family": family.pk, "name": to})
        assert response.status_code == 302, response.content.decode()[:2000]

    rename("scarlet", "crimson")  # a global concept, no concept of the new name: asked as "crimson" now
    rename("ruby", "garnet")  # the family's own concept: the same
    assert run_queued_tasks() == 2

    assert set(TagConcept.objects.filter(family=family).values_list("name", "prompt", "enabled")) == {
        ("scarlet", "red", False), ("crimson", "red", True), ("garnet", "red", True)}
    assert "scarlet" in {concept.name for concept in vocabularies([other_family.pk])[other_family.pk]}
    assert set(open_suggestions(photo)) & {"scarlet", "ruby", "crimson", "garnet"} == {"crimson", "garnet"}


def test_a_merged_name_ticked_on_again_in_the_concepts_admin_suggests_the_name_kept(
        embedded, family, alice, client, django_capture_on_commit_callbacks):
    """"scarlet" merged into "crimson" turned the shared "scarlet" off for the family (its own unticked entry). A
    family admin ticking that entry on again in the concepts admin brought "scarlet" back as a suggested tag on every
    red photo, and accepting one made the merged tag again beside "crimson". The merge is remembered on the entry
    ("merged into crimson", said on its page): ticked on, it asks the model what it asks and suggests "crimson";
    emptied, the entry suggests its own name again."""
    from django.contrib.auth import get_user_model
    from django.urls import reverse

    from gallery.models import Tag
    from gallery.services import tags_merge
    from gallery.suggestions import suggestions_accept

    TagConcept.objects.filter(family=None, name="red").delete()  # (the global "red" would suggest itself beside it)
    TagConcept.objects.create(family=None, name="scarlet", prompt="red")
    embedded("red", "circle", tags=["scarlet"])
    embedded("red", "square", tags=["crimson"])
    with django_capture_on_commit_callbacks(execute=True):
        tags_merge(into=Tag.objects.get(family=family, name="crimson"), tags=Tag.objects.filter(family=family),
                   user=alice)
    run_queued_tasks()
    entry = TagConcept.objects.get(family=family, name="scarlet")
    assert not entry.enabled
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.org", "admin-password-123"))
    page = client.get(reverse("admin:search_tagconcept_change", args=[entry.pk])).content.decode()
    assert "merged into “crimson”" in page

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:search_tagconcept_change", args=[entry.pk]), {
            "family": family.pk, "name": "scarlet", "prompt": "red", "enabled": "on", "merged_into": "crimson"})
    assert response.status_code == 302, response.content.decode()[:3000]
    run_queued_tasks()

    photo = embedded("red", "triangle")
    assert open_suggestions(photo).get("crimson", 0) >= 0.5 and "scarlet" not in open_suggestions(photo)
    suggestions_accept(suggestions=TagSuggestion.objects.filter(photo=photo), user=alice)
    assert not Tag.objects.filter(family=family, name__iexact="scarlet").exists()


def test_a_merged_name_stays_off_for_the_family_when_its_shared_concept_is_ticked_on_later(family, alice):
    """The shared "puppy" was unticked for every family when the Smiths merged "puppy" into "dog": the merge left it
    alone, as it suggested nothing then, so when the site administrator ticked it on again the Smiths were suggested
    "puppy" again, unlike a family whose merge came while it was ticked. A shared concept of a merged name, ticked or
    not, is turned off for the family by its own entry, marked merged into "dog"."""
    from django.db.models.functions import Lower

    from gallery.models import Tag
    from gallery.services import tags_merge
    from search.suggestions import vocabularies
    from tests.factories import photo_factory

    TagConcept.objects.annotate(key=Lower("name")).filter(key__in=["puppy", "dog"]).delete()  # (the seed's)
    shared = TagConcept.objects.create(family=None, name="puppy", enabled=False)
    photo_factory(family=family, user=alice, tags=["puppy", "dog"])
    tags_merge(into=Tag.objects.get(family=family, name="dog"), tags=Tag.objects.filter(family=family), user=alice)

    shared.enabled = True
    shared.save()
    assert "puppy" not in {concept.name for concept in vocabularies([family.pk])[family.pk]}
    assert list(TagConcept.objects.filter(family=family).values_list("name", "enabled", "merged_into")) == [
        ("puppy", False, "dog")]


def test_the_familys_entries_of_merged_names_follow_later_merges_and_a_merge_undone(family, alice):
    """What the entries the merges leave say (the concepts admin's "Merged into" column) stays true: "pup" merged
    into "puppy", then "puppy" into "dog", says "dog" (ticked on, it suggests "dog", not the merged "puppy"); "dog"
    merged back into "puppy" makes the unticked "puppy" the family's concept of "puppy" again, ticked, where it kept
    the family's vocabulary without any concept of it (the name it is merged into counted as its concept)."""
    from django.db.models.functions import Lower

    from gallery.models import Tag
    from gallery.services import tags_merge
    from search.suggestions import vocabularies
    from tests.factories import photo_factory

    def merge(name: str, into: str) -> None:
        for made in (name, into):  # (a name merged away is made again as the admin makes a tag: see _merge)
            if not Tag.objects.filter(family=family, name__iexact=made).exists():
                Tag.objects.create(family=family, name=made)
        photo_factory(family=family, user=alice, tags=[name, into])
        tags = Tag.objects.filter(family=family, name__in=[name, into])
        tags_merge(into=tags.get(name=into), tags=tags, user=alice)

    TagConcept.objects.annotate(key=Lower("name")).filter(key__in=["pup", "puppy", "dog"]).delete()  # (the seed's)
    for name in ("pup", "puppy"):
        TagConcept.objects.create(family=None, name=name)

    merge("pup", into="puppy")
    merge("puppy", into="dog")
    assert set(TagConcept.objects.filter(family=family).values_list("name", "enabled", "merged_into")) == {
        ("pup", False, "dog"), ("puppy", False, "dog"), ("dog", True, "")}
    TagConcept.objects.filter(family=family, name="pup").update(enabled=True)  # a family admin ticks it on
    assert {concept.name for concept in vocabularies([family.pk])[family.pk]} & {"pup", "puppy", "dog"} == {"dog"}

    merge("dog", into="puppy")
    assert {concept.name for concept in vocabularies([family.pk])[family.pk]} & {"pup", "puppy", "dog"} == {"puppy"}
    assert TagConcept.objects.get(family=family, name="puppy").enabled


def test_the_concepts_admin_says_which_families_a_shared_concept_is_off_for_and_what_a_merged_entry_asks(
        family, alice, other_family, client):
    """After "puppy" was merged into "dog", a family admin on staff found in the concepts list the shared "puppy"
    reading "used by: every family", ticked, beside an unticked "puppy" of their own with no prompt that nobody had
    typed: the list did not say the shared one was off for their family, the entry ticked on asked the model "puppy"
    rather than what the shared concept asked ("a young dog"), and its page said of its name "The tag it suggests"
    (it suggests "dog"). The shared row names the families of the reader's that use an entry of their own instead;
    the entry asks what the shared concept asked; its name is said to be merged."""
    from django.contrib.auth.models import Permission
    from django.db.models.functions import Lower
    from django.urls import reverse

    from gallery.models import Membership, Tag
    from gallery.services import tags_merge
    from search.suggestions import vocabularies
    from tests.factories import MembershipFactory, UserFactory, photo_factory

    TagConcept.objects.annotate(key=Lower("name")).filter(key__in=["puppy", "dog"]).delete()  # (the seed's)
    TagConcept.objects.create(family=None, name="puppy", prompt="a young dog")
    TagConcept.objects.create(family=other_family, name="puppy", enabled=False)  # (not the reader's family)
    photo_factory(family=family, user=alice, tags=["puppy", "dog"])
    tags_merge(into=Tag.objects.get(family=family, name="dog"), tags=Tag.objects.filter(family=family), user=alice)
    sam = UserFactory(username="sam", is_staff=True)
    sam.user_permissions.set(Permission.objects.filter(content_type__app_label="search"))
    MembershipFactory(family=family, user=sam, role=Membership.Role.ADMIN)
    client.force_login(sam)

    listed = client.get(reverse("admin:search_tagconcept_changelist"), {"q": "puppy"}).content.decode()
    assert "every family but Smiths (its own entry)" in listed and "Joneses" not in listed
    entry = TagConcept.objects.get(family=family, name="puppy")
    assert (entry.prompt, entry.enabled, entry.merged_into) == ("a young dog", False, "dog")
    page = client.get(reverse("admin:search_tagconcept_change", args=[entry.pk])).content.decode()
    assert "The tag it suggests, as members should see it." not in page
    TagConcept.objects.filter(pk=entry.pk).update(enabled=True)
    TagConcept.objects.filter(family=family, name="dog").delete()  # (the merge's concept of "dog" aside: the entry's)
    assert {(concept.name, concept.text) for concept in vocabularies([family.pk])[family.pk]
            if concept.text == "a young dog"} == {("dog", "a young dog")}


# --- two concepts suggesting one name, and merges over earlier merges ------------------------------


def _merge(family, user, name: str, into: str) -> None:
    """A member's "Merge the selected tags" of `name` into `into` (a photo carrying both made for it; a name merged
    away before made again as the admin makes a tag, since a photo's tag of that name is the tag it went into)."""
    from gallery.models import Tag
    from gallery.services import tags_merge
    from tests.factories import photo_factory

    for made in (name, into):
        if not Tag.objects.filter(family=family, name__iexact=made).exists():
            Tag.objects.create(family=family, name=made)
    photo_factory(family=family, user=user, tags=[name, into])
    tags = Tag.objects.filter(family=family, name__in=[name, into])
    tags_merge(into=tags.get(name=into), tags=tags, user=user)


def _merge_tags(family, user, *, into: str) -> None:
    """Every tag of the family merged into `into` (tags its photos carry already)."""
    from gallery.models import Tag
    from gallery.services import tags_merge

    tags = Tag.objects.filter(family=family)
    tags_merge(into=tags.get(name=into), tags=tags, user=user)


def _suggested_names(family) -> set[str]:
    from search.suggestions import vocabularies

    return {concept.name for concept in vocabularies([family.pk])[family.pk]}


def _open_by_key(photo) -> dict[str, float]:
    return {name.lower(): probability for name, probability in open_suggestions(photo).items()}


def test_two_concepts_suggesting_one_name_in_other_letter_case_give_the_photo_the_likelier(embedded, family, alice):
    """The shared "crimson" asks "red"; the family's "scarlet", merged into its tag "Crimson" and ticked on again,
    asks "red circle": both suggest crimson. The scoring kept the two names apart ("Crimson", "crimson") and the
    gallery keeps one suggestion a name, the last: the photo got the less likely. It gets the likelier."""
    TagConcept.objects.filter(family=None, name="red").delete()  # (it would suggest itself beside them)
    crimson = TagConcept.objects.create(family=None, name="crimson", prompt="red")
    TagConcept.objects.create(family=None, name="scarlet", prompt="red circle")
    embedded("red", "square", tags=["scarlet", "Crimson"])
    _merge_tags(family, alice, into="Crimson")
    entry = TagConcept.objects.get(family=family, name="scarlet")
    assert (entry.enabled, entry.merged_into) == (False, "Crimson")
    TagConcept.objects.filter(pk=entry.pk).update(enabled=True)  # a family admin ticks it on again
    photo = embedded("red", "circle")
    both = _open_by_key(photo)["crimson"]

    TagConcept.objects.filter(pk=entry.pk).update(enabled=False)
    photos_suggest([photo.pk])
    asked_red = _open_by_key(photo)["crimson"]
    TagConcept.objects.filter(pk=entry.pk).update(enabled=True)
    TagConcept.objects.filter(pk=crimson.pk).update(enabled=False)
    photos_suggest([photo.pk])
    asked_red_circle = _open_by_key(photo)["crimson"]

    assert asked_red != asked_red_circle
    assert both == max(asked_red, asked_red_circle), (both, asked_red, asked_red_circle)


def test_two_concepts_of_one_name_take_one_place_of_the_limit(embedded, family, alice, settings):
    """TAG_SUGGESTION_LIMIT counted concepts, not names: the shared "red" and the family's "scarlet" merged into
    "red" and ticked on again took two places of a limit of 2, and "zz red", a third name above the threshold, was
    left out; the photo got one suggestion. Each name takes one place."""
    TagConcept.objects.filter(family=None, name="red").update(prompt="red", enabled=True)
    TagConcept.objects.create(family=None, name="zz red", prompt="a red circle")
    TagConcept.objects.create(family=None, name="scarlet", prompt="circle")
    embedded("red", "square", tags=["scarlet", "red"])
    _merge_tags(family, alice, into="red")
    TagConcept.objects.filter(family=family, name="scarlet").update(enabled=True)  # ticked on: it suggests "red"
    photo = embedded("red", "circle")
    assert {"red", "zz red"} <= set(open_suggestions(photo))

    settings.TAG_SUGGESTION_LIMIT = 2
    photos_suggest([photo.pk])
    assert set(open_suggestions(photo)) == {"red", "zz red"}, open_suggestions(photo)


def test_a_merge_into_a_name_whose_only_entry_is_an_earlier_merges_leftover_keeps_a_concept(family, alice):
    """"dog" merged into "canine" left the family's unticked "dog" entry (merged into "canine"). Later a member tags
    photos "dog" again and merges "puppy", a concept of the family's own, into it: the leftover counted as the
    family's concept of "dog", "puppy" went, and nothing suggested "dog" any more. The tag "dog" exists again, so the
    leftover is its concept again, ticked as it was before the earlier merge."""
    from django.db.models.functions import Lower

    TagConcept.objects.annotate(key=Lower("name")).filter(key__in=["puppy", "dog", "canine"]).delete()  # (seed's)
    TagConcept.objects.create(family=None, name="dog", prompt="a dog")
    TagConcept.objects.create(family=family, name="puppy", prompt="a young dog")
    _merge(family, alice, "dog", into="canine")
    assert "dog" not in _suggested_names(family)

    _merge(family, alice, "puppy", into="dog")
    assert {"dog", "canine"} <= _suggested_names(family) and "puppy" not in _suggested_names(family)
    assert TagConcept.objects.filter(family=family, name="dog").values_list("enabled", "merged_into").get() == (
        True, "")


def test_a_merge_undone_keeps_an_entry_the_family_admin_had_unticked(family, alice):
    """The Smiths' admin had turned the shared "dog" off for them (their unticked entry). "dog" merged into "puppy"
    and then "puppy" back into "dog" ticked it on: the merge undone could not tell an entry the merge unticked from
    one that was off already. It stays off; an entry the merge did untick is ticked again."""
    from django.db.models.functions import Lower

    TagConcept.objects.annotate(key=Lower("name")).filter(key__in=["puppy", "dog", "pup"]).delete()  # (the seed's)
    for name in ("dog", "puppy", "pup"):
        TagConcept.objects.create(family=None, name=name)
    TagConcept.objects.create(family=family, name="dog", enabled=False)  # the family admin's choice
    assert "dog" not in _suggested_names(family)

    _merge(family, alice, "dog", into="puppy")
    _merge(family, alice, "puppy", into="dog")
    assert "dog" not in _suggested_names(family)
    assert TagConcept.objects.filter(family=family, name="dog").values_list("enabled", "merged_into").get() == (
        False, "")

    _merge(family, alice, "pup", into="puppy")  # the merge unticks "pup" for the family ...
    _merge(family, alice, "puppy", into="pup")  # ... and, undone, ticks it on again
    assert "pup" in _suggested_names(family)


def test_only_a_familys_own_concept_is_merged_into_another_name(family):
    """A shared concept is every family's: no merge marks it (merged into a name of one family's tags). The admin form
    refused it; the database refuses it on every path."""
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        TagConcept.objects.create(family=None, name="hound", merged_into="dog")
    TagConcept.objects.create(family=family, name="hound", merged_into="dog")


def test_a_concept_inserted_by_the_version_before_migration_0029_is_stored(family):
    """Migration 0029 runs while the old version keeps serving (README, "Upgrades"), whose inserts of a concept (the
    concepts admin, a merge) name neither merged_into nor merge_unticked: without a database default each failed on
    NOT NULL until that version was stopped."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {TagConcept._meta.db_table} (family_id, name, prompt, enabled, updated_at) "
                       "VALUES (%s, 'hound', '', true, now())", [family.pk])
    hound = TagConcept.objects.get(family=family, name="hound")
    assert (hound.merged_into, hound.merge_unticked) == ("", False)


@pytest.mark.parametrize("n", [1, 10])
def test_accepting_reads_the_tag_keys_of_all_the_photos_at_once(family, alice, n):
    """Accepting suggestions on many photos (the family page's "accept above") read each photo's tags and their keys
    (names_folded) one photo at a time: two queries a photo more than needed. Read at once now; what is left per
    photo is photo_tags_add's own (its names cleaned and keyed, the tags made and put on)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from gallery.suggestions import suggestions_accept
    from tests.factories import photo_factory

    photos = [photo_factory(family=family, user=alice, filename=f"{i}.jpg", tags=["a", "b"]) for i in range(n)]
    for photo in photos:
        for name, p in (("dog", 0.9), ("cat", 0.8)):
            TagSuggestion.objects.create(photo=photo, name=name, probability=p, model_name="toy")
    with CaptureQueriesContext(connection) as accepting:
        assert suggestions_accept(suggestions=TagSuggestion.objects.filter(photo__in=photos), user=alice) == 2 * n
    keyed = sum("unnest" in query["sql"] for query in accepting.captured_queries)
    assert keyed == 2 + n  # (the suggestions' keys for all, another once, and photo_tags_add's own of each photo)
    # (21 + 8 a photo before; one more as the tags are made: the names merged away, _names_merged_followed)
    assert len(accepting.captured_queries) <= 21 + 6 * n
    assert all(set(photo.tags.values_list("name", flat=True)) == {"a", "b", "dog", "cat"} for photo in photos)
