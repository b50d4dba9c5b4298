from __future__ import annotations

import pytest

from gallery.models import Photo
from search.engine import SearchParams, search_photos
from tests.queue import run_queued_tasks

pytestmark = pytest.mark.django_db

COLOURS = ("red", "green", "blue", "yellow")
SHAPES = ("circle", "square", "triangle")


@pytest.fixture
def shapes(toy_model, add_shape, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        photos = {add_shape(c, s).pk: f"{c} {s}" for c in COLOURS for s in SHAPES for _ in range(3)}
    run_queued_tasks()
    assert not Photo.objects.exclude(status=Photo.Status.READY).exists()
    return photos


def ranked(user, shapes, **kwargs) -> list[str]:
    response = search_photos(user=user, params=SearchParams(min_score=0, show_hidden=True, limit=100, **kwargs))
    return [shapes.get(r.photo.pk, "other") for r in response.results]


def ids_of(shapes, name) -> list[int]:
    return [pk for pk, label in shapes.items() if label == name]


def test_two_right_red_squares_rank_red_squares_first_for_red_shape(shapes, alice):
    like = tuple(ids_of(shapes, "red square")[:2])
    refined = ranked(alice, shapes, query="red shape", like=like)
    assert refined[:3] == ["red square"] * 3, refined[:6]


def test_right_ones_move_a_query_that_did_not_rank_them_first(shapes, alice):
    plain = ranked(alice, shapes, query="shape")
    assert "red square" not in plain[:3], plain[:6]
    like = tuple(ids_of(shapes, "red square")[:2])
    refined = ranked(alice, shapes, query="shape", like=like)
    assert refined[:3] == ["red square"] * 3, refined[:6]


def test_wrong_ones_move_the_query_away(shapes, alice):
    def position(ranking, photo_id):
        return [r.photo.pk for r in ranking.results].index(photo_id)

    params = dict(query="square", min_score=0, show_hidden=True, limit=100)
    plain = search_photos(user=alice, params=SearchParams(**params))
    wrong = plain.results[0].photo.pk
    refined = search_photos(user=alice, params=SearchParams(**params, unlike=(wrong,)))
    assert position(refined, wrong) > position(plain, wrong)
    assert refined.results[0].score < plain.results[0].score or refined.results[0].photo.pk != wrong


def test_foreign_and_unknown_ids_are_ignored(shapes, alice, mallory, other_family, add_shape,
                                             django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        foreign = add_shape("red", "square", target_family=other_family, user=mallory)
    run_queued_tasks()
    plain = search_photos(user=alice, params=SearchParams(query="red shape", min_score=0))
    refined = search_photos(user=alice, params=SearchParams(query="red shape", min_score=0,
                                                            like=(foreign.pk, 10**12), unlike=(-3,)))
    assert [r.photo.pk for r in refined.results] == [r.photo.pk for r in plain.results]
    assert refined.liked == [] and refined.unliked == []
    assert foreign.pk not in [r.photo.pk for r in refined.results]


def test_the_response_says_which_photos_refined_it(shapes, alice):
    like = tuple(ids_of(shapes, "red square")[:2])
    unlike = tuple(ids_of(shapes, "blue circle")[:1])
    response = search_photos(user=alice, params=SearchParams(query="red shape", like=like, unlike=unlike))
    assert response.liked == list(like) and response.unliked == list(unlike)


def test_a_photo_in_the_trash_refines_nothing(shapes, alice):
    """A photo moved to the trash is gone from search, yet `like=` with its id still moved the query by its picture
    (and the response named it among the photos that refined the search): a shared link, or marks given before it
    went to the trash, kept steering results by a photo nobody can see there. Now it is ignored like a foreign id."""
    from gallery.trash_services import photos_trash

    like = ids_of(shapes, "red square")[:1]
    plain = search_photos(user=alice, params=SearchParams(query="shape", min_score=0))
    photos_trash(user=alice, photo_ids=like)
    refined = search_photos(user=alice, params=SearchParams(query="shape", min_score=0, like=tuple(like)))
    assert refined.liked == []
    assert [(r.photo.pk, r.score) for r in refined.results] == [
        (r.photo.pk, r.score) for r in plain.results if r.photo.pk not in like]


def test_a_photo_marked_right_in_one_family_moves_the_search_of_every_family_searched_with_its_model(
        toy_model, add_shape, alice, family, other_family, django_capture_on_commit_callbacks):
    """A search of two families scores each family's photos with its own fitted calibration (one group of families
    per calibration); the refine moved each group's query only by the photos of its own families. Alice, in the
    Smiths and the Joneses, the Joneses with a fit in force, marks a Joneses' red square right: the query for the
    Smiths' photos stayed where it was, and the refine said "more like 1 photo" all the same. Both families are
    searched with the same model, so the photo moves the query for both, as it does when neither has a fit, and it
    is counted once."""
    from search.embedder import get_embedder
    from search.models import SearchCalibration
    from tests.factories import MembershipFactory

    MembershipFactory(family=other_family, user=alice)
    with django_capture_on_commit_callbacks(execute=True):
        theirs = add_shape("red", "square", target_family=other_family)
        mine = {add_shape(colour, shape).pk: f"{colour} {shape}" for colour in COLOURS for shape in SHAPES}
    run_queued_tasks()
    params = dict(query="shape", min_score=0, show_hidden=True, limit=100)

    def cosines(**kwargs) -> dict[int, float]:
        response = search_photos(user=alice, params=SearchParams(**params, **kwargs))
        return {r.photo.pk: r.explanation.cosine for r in response.results if r.photo.pk in mine}, response

    unfitted, response = cosines(like=(theirs.pk,))
    assert response.liked == [theirs.pk]
    a, b = get_embedder().calibration
    SearchCalibration.objects.create(family=other_family, model_name=toy_model, semantic_scale=a, semantic_bias=b - 1,
                                     applied=True)
    fitted, response = cosines(like=(theirs.pk,))
    assert response.liked == [theirs.pk]
    assert fitted == pytest.approx(unfitted)  # the Smiths' photos are scored with the moved query, as before the fit
    plain, _ = cosines()
    assert fitted != pytest.approx(plain)


def test_a_photo_marked_both_right_and_wrong_refines_nothing_and_is_said_left_out(shapes, alice):
    """`like=5&unlike=5` (a hand-edited or made-up link: a verdict is one or the other) counted the photo as wrong only,
    pushing the search away from a photo the link also calls right. It is a contradiction: the photo moves the query
    neither way, and the response says it left it out (the API refuses such a request, naming `unlike`)."""
    both, right = ids_of(shapes, "red square")[0], ids_of(shapes, "blue circle")[0]
    params = dict(query="shape", min_score=0, show_hidden=True, limit=100)
    plain = search_photos(user=alice, params=SearchParams(**params))
    contradicted = search_photos(user=alice, params=SearchParams(**params, like=(both,), unlike=(both,)))
    assert contradicted.liked == [] and contradicted.unliked == []
    assert contradicted.left_out.both_ways == [both] and contradicted.left_out.unseen == 0
    assert [(r.photo.pk, r.score) for r in contradicted.results] == [(r.photo.pk, r.score) for r in plain.results]
    # The others of the link still refine: the photo named both ways alone is left out.
    mixed = search_photos(user=alice, params=SearchParams(**params, like=(both, right), unlike=(both,)))
    alone = search_photos(user=alice, params=SearchParams(**params, like=(right,)))
    assert mixed.liked == [right] and mixed.unliked == [] and mixed.left_out.both_ways == [both]
    assert [(r.photo.pk, r.score) for r in mixed.results] == [(r.photo.pk, r.score) for r in alone.results]
