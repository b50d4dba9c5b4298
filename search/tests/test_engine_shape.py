"""The engine's shape (issue 9, points 0 and 7): one typed scope compiled by each module, one metadata pass per
query, per-field metadata documents with their own weights, and exclusions that lower photos by the calibrated
probability that the excluded concept is in them."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gallery.models import Photo
from gallery.services import photo_update
from search.calibration import fuse
from search.engine import SearchParams, search_photos
from search.metadata import (DOCUMENT_VERSION, FIELDS, documents_outdated_refresh, documents_refresh, metadata_pass,
                             metadata_passes, metadata_queries, metadata_query)
from search.models import PhotoDocument
from search.scope import Scope
from search.tests.test_search import labels, search, shapes  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db


def test_red_minus_circle_pushes_red_circles_below_other_red_shapes_with_no_tag_involved(shapes, alice):
    plain = labels(search(alice, "red", min_score=0, show_hidden=True, limit=100), shapes)
    assert "red circle" in plain[:2]  # without the exclusion, a red circle is among the best
    response = search(alice, "red", excluded=("circle",), min_score=0, show_hidden=True, limit=100)
    ranked = labels(response, shapes)
    reds = [name for name in ranked if name.startswith("red")]
    assert set(reds[:4]) == {"red square", "red triangle"}, ranked[:8]
    assert ranked.index("red circle") > max(i for i, name in enumerate(ranked) if name in ("red square", "red triangle"))
    circle = next(r for r in response.results if shapes[r.photo.pk] == "red circle").explanation
    assert circle.excluded_probability > 0.5 and circle.exclusion_factor < 0.5
    assert circle.score == pytest.approx(float(fuse(circle.probability_semantic, circle.probability_metadata,
                                                    circle.semantic_weight, circle.metadata_weight))
                                         * circle.exclusion_factor)
    square = next(r for r in response.results if shapes[r.photo.pk] == "red square").explanation
    assert square.excluded_probability < 0.5 and square.exclusion_factor > 0.5


def test_an_excluded_word_in_the_metadata_lowers_the_photo_too(shapes, alice, add_shape):
    dog = add_shape("green", "square", tags=["garden", "dog"])
    lawn = add_shape("green", "square", tags=["garden"])
    response = search(alice, "garden", excluded=("dog",), min_score=0, show_hidden=True, limit=100)
    ids = [r.photo.pk for r in response.results]
    assert ids.index(lawn.pk) < ids.index(dog.pk)
    dog_explained = next(r for r in response.results if r.photo.pk == dog.pk).explanation
    assert dog_explained.excluded_fields == ["tags"] and dog_explained.excluded_metadata == 1.0
    assert dog_explained.score == 0  # a tag naming the excluded concept takes the photo out of the running


def test_each_field_is_named_and_weighed_on_its_own(shapes, alice, add_shape):
    tagged = add_shape("green", "square", tags=["picnic"])
    titled = add_shape("green", "square")
    photo_update(photo=titled, title="Picnic")
    described = add_shape("green", "square", description="we had a picnic by the river")
    named = add_shape("green", "square", filename="picnic_0001.png")
    response = search(alice, "picnic", min_score=0, show_hidden=True, limit=100, semantic_weight=0, metadata_weight=1)
    by_id = {r.photo.pk: r.explanation for r in response.results}
    assert by_id[tagged.pk].meta_fields == ["tags"]
    assert by_id[titled.pk].meta_fields == ["title"]
    assert by_id[described.pk].meta_fields == ["description"]
    assert by_id[named.pk].meta_fields == ["file name"]  # the title made from it is nobody's title
    weights = {f.key: f.weight for f in FIELDS}
    assert weights["tags"] == weights["title"] > weights["description"] >= weights["keywords"] > weights["place"]
    assert weights["place"] == weights["date"] == weights["text"] == weights["suggested"] > weights["filename"]
    score = {pk: e.meta_score for pk, e in by_id.items()}
    assert score[tagged.pk] == score[titled.pk] > score[described.pk] > score[named.pk]
    assert by_id[tagged.pk].meta_ranks == {"tags": 1.0}


def test_one_metadata_statement_per_query_and_one_walk_per_model(shapes, alice, add_shape):
    add_shape("green", "square", tags=["birthday"])
    search(alice, "birthday")  # embeds the query's terms, loads the model: not what is counted
    with CaptureQueriesContext(connection) as queries:
        response = search(alice, "birthday")
    assert response.results
    statements = [q["sql"] for q in queries.captured_queries]
    documents = PhotoDocument._meta.db_table
    assert sum(documents in s for s in statements) == 1, statements  # candidates, scores and explain at once
    assert sum("<=>" in s for s in statements) == 1, statements  # one walk of the index
    # Round trips are most of a search's time on a busy machine (bench/search_latency.py): the user's context with
    # the synonyms' version, the query's tsquery and corrections, the index settings, the walk, the metadata pass,
    # the image scores of photos only the metadata found, and the page's rows.
    sent = [s for s in statements if "SAVEPOINT" not in s]  # the test's transaction; BEGIN/COMMIT outside tests
    assert len(sent) <= 7, "\n".join(" ".join(s.split())[:60] for s in sent)


def test_many_queries_metadata_of_some_photos_is_one_statement_giving_what_each_querys_own_pass_gives(
        add_shape, alice, family, other_family, mallory, django_capture_on_commit_callbacks):
    # The quality page and the fit read the metadata of every judged query's photos: one statement per query was
    # most of the page's time (200 judged queries: 200 statements).
    with django_capture_on_commit_callbacks(execute=True):
        picnic = add_shape("green", "square", tags=["picnic", "garden"])
        river = add_shape("green", "square", description="we had a picnic by the river with the dog")
        bakery = add_shape("red", "circle", filename="bakery_0001.png")
        beach = add_shape("blue", "triangle", tags=["beach", "sunglasses"])
        foreign = add_shape("red", "circle", tags=["picnic"], target_family=other_family, user=mallory)
    Photo.objects.filter(pk=bakery.pk).update(text_in_photo="BAKERYOPEN7AM fresh bread")
    documents_refresh([bakery.pk])
    queries = [("picnic", ()), ("pcinic", ()), ("garden", ("dog",)), ("open bread", ()), ("sun-glasses", ()),
               ("picnic river", ("dog", "bakery")), ("nothing like it", ()), ("", ()), ('"fresh bread" or beach', ()),
               ("picnic", ()), ("pcinic rvier", ()), ("gardne", ())]
    ids = [picnic.pk, river.pk, bakery.pk, beach.pk, foreign.pk]
    asked = [ids, ids, ids[1:], ids[2:], ids[3:], ids, ids, ids, ids, [], ids[1:], ids]  # each query its own photos
    metas = metadata_queries(queries, family_ids=[family.pk])
    alone = [metadata_pass(meta, scope=Scope((family.pk,)), limit=0, also_ids=photos)
             for meta, photos in zip(metas, asked)]
    with CaptureQueriesContext(connection) as captured:
        together = metadata_passes(metas, asked, family_ids=[family.pk])
    assert len(captured.captured_queries) == 1
    assert together == alone
    assert {picnic.pk, river.pk} <= set(alone[0]) and foreign.pk not in alone[0]  # another family's photo: nothing
    assert alone[1][picnic.pk].typo > 0 and alone[3][bakery.pk].ranks["text"] > 0  # a correction; glued OCR text
    assert alone[2][river.pk].excluded > 0 and beach.pk in alone[4] and alone[8] and not alone[9]
    assert picnic.pk not in alone[2] and set(alone[3]) == {bakery.pk}  # only the photos asked of each query
    # Several corrections of one query, and each query's own: "rvier" is nobody's correction but the 11th query's.
    assert len(metas[10].corrections) == 2 and set(alone[10]) == {river.pk} and set(alone[11]) == {picnic.pk}
    assert "pcinic → picnic, rvier → river" in alone[10][river.pk].fields[-1]
    assert metadata_passes([], [], family_ids=[family.pk]) == []


def test_the_scope_is_one_typed_value_each_module_compiles(shapes, alice, family):
    scope = Scope((family.pk,), uploader_id=alice.pk, tag="x", country="pt", places=("lisbon",),
                  taken_after=date(2020, 1, 1), taken_before=date(2020, 12, 31))
    assert scope.shape == ("uploader_id", "tag", "country", "places", "taken_after", "taken_before")
    assert scope.skeleton() == Scope((family.pk,), uploader_id=1, tag="y", country="es", places=("porto",),
                                     taken_after=date(2021, 1, 1), taken_before=date(2021, 1, 2)).skeleton()
    assert set(scope.params()) == {"scope_uploader", "scope_tag", "scope_country", "scope_places", "scope_after",
                                   "scope_after_at", "scope_before", "scope_before_at",
                                   # (a month or a year a folder's name tells: in a date filter only whole)
                                   "scope_dayless", "scope_folder_year", "scope_first", "scope_last",
                                   # (the families again, for the timeline index to find a period's photos)
                                   "scope_families"}
    assert not Scope((family.pk,), uploader_id=0).skeleton() == Scope((family.pk,)).skeleton()
    meta = metadata_query(query="red", family_ids=[family.pk])
    assert metadata_pass(meta, scope=Scope(()), limit=10) == {}


def test_days_of_every_year_are_filters_of_the_scope_whose_text_depends_on_their_presence_alone(family):
    """"3 june", "not on christmas eve" (search.query_parser): the scope's own filters, compiled by where() as the
    others are; the statement's text is the same whichever days (its cache key, skeleton(), too)."""
    scope = Scope((family.pk,), days_of_year=((6, 3), (12, 24)), not_days_of_year=((2, 29),))
    assert scope.shape == ("days_of_year", "not_days_of_year") and scope.filtered
    other = Scope((family.pk,), days_of_year=((1, 5),), not_days_of_year=((7, 4), (8, 1)))
    assert scope.skeleton() == other.skeleton() and scope.where().as_string(None) == other.where().as_string(None)
    assert scope.skeleton() != Scope((family.pk,), days_of_year=((6, 3),)).skeleton()
    params = scope.params()
    assert (params["scope_year_months"], params["scope_year_days"]) == ([6, 12], [3, 24])  # (the index's columns)
    assert (params["scope_year_codes"], params["scope_not_year_codes"]) == ([603, 1224], [229])
    assert params["scope_dayless"]  # (a photo dated by its folder's month or year alone is on no day of them)
    assert Scope((family.pk,), days_of_year=((6, 3), (6, 3))).days_of_year == ((6, 3),)


def test_documents_of_an_older_layout_are_rebuilt_by_the_sweep(shapes, alice, add_shape):
    photo = add_shape("green", "square", tags=["lantern"])
    PhotoDocument.objects.filter(photo=photo).update(version=DOCUMENT_VERSION - 1, fields=None)
    PhotoDocument.objects.filter(photo__in=Photo.objects.exclude(pk=photo.pk)).update(version=DOCUMENT_VERSION)
    assert documents_outdated_refresh() == 1
    document = PhotoDocument.objects.get(photo=photo)
    assert document.version == DOCUMENT_VERSION and len(document.fields) == len(FIELDS)
    assert [r.photo.pk for r in search(alice, "lantern", semantic_weight=0, metadata_weight=1).results] == [photo.pk]


def test_a_scope_filter_reaches_the_walk_and_the_metadata_pass(shapes, alice, bob, family, add_shape):
    from gallery.models import Membership

    Membership.objects.get_or_create(family=family, user=bob)
    bobs = add_shape("red", "circle", user=bob, tags=["red"])
    response = search_photos(user=alice, params=SearchParams(query="red circle", uploader_id=bob.pk, min_score=0,
                                                             show_hidden=True, limit=100))
    assert [r.photo.pk for r in response.results] == [bobs.pk]
    photo_update(photo=bobs, tags=["blue"])
    assert bobs.pk not in [r.photo.pk for r in search_photos(user=alice, params=SearchParams(
        query="blue", uploader_id=alice.pk, min_score=0, show_hidden=True, limit=100)).results]
    assert bobs.pk in [r.photo.pk for r in search_photos(user=alice, params=SearchParams(
        query="blue", uploader_id=bob.pk, semantic_weight=0, metadata_weight=1)).results]
