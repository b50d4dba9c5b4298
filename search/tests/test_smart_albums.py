"""Smart albums: a saved search, current as photos arrive, in the album's family only, whoever looks and whatever
families its owner joins or leaves; weights saved or live."""

from __future__ import annotations

from html import unescape

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from gallery.album_selectors import album_photo_ids
from gallery.album_services import album_add_photos, album_create
from gallery.models import Membership
from search.models import SearchPreferences
from search.services import preferences_update
from tests.factories import FamilyFactory, MembershipFactory
from tests.queue import run_queued_tasks

pytestmark = pytest.mark.django_db


@pytest.fixture
def indexed(django_capture_on_commit_callbacks):
    """Store photos through `add` and index them (the queue run in this process)."""

    def add(add_shape, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            photo = add_shape(*args, **kwargs)
        run_queued_tasks()
        return photo

    return add


def test_a_smart_album_shows_its_search_and_a_new_matching_upload(toy_model, family, alice, add_shape, indexed):
    circles = [indexed(add_shape, "red", "circle") for _ in range(2)]
    square = indexed(add_shape, "blue", "square")
    album = album_create(user=alice, family=family, name="Red circles", search={"q": "a red circle", "min_score": 0.3})
    assert album.is_smart and album.search["weights"]["semantic"] == SearchPreferences.DEFAULT_SEMANTIC_WEIGHT
    assert set(album_photo_ids(album=album)) == {p.pk for p in circles}
    newcomer = indexed(add_shape, "red", "circle")
    ids = album_photo_ids(album=album)
    assert newcomer.pk in ids and square.pk not in ids


def test_a_smart_album_never_shows_another_familys_photo_as_its_owner_joins_and_leaves(
        toy_model, family, alice, bob, add_shape, indexed, other_family, mallory):
    ours = indexed(add_shape, "red", "circle")
    theirs = [indexed(add_shape, "red", "circle", target_family=other_family, user=mallory) for _ in range(2)]
    album = album_create(user=bob, family=family, name="Circles", search={"q": "a red circle", "min_score": 0.3})
    assert album_photo_ids(album=album) == [ours.pk]
    MembershipFactory(family=other_family, user=bob)  # the owner joins the Joneses
    assert album_photo_ids(album=album) == [ours.pk]
    Membership.objects.filter(family=family, user=bob).delete()  # and leaves the Smiths
    assert album_photo_ids(album=album) == [ours.pk]
    third = FamilyFactory(name="Third")
    MembershipFactory(family=third, user=bob)
    assert not set(album_photo_ids(album=album)) & {p.pk for p in theirs}


def test_weights_saved_or_live(toy_model, family, alice, bob):
    saved = album_create(user=alice, family=family, name="Saved", search={"q": "dog"})
    live = album_create(user=alice, family=family, name="Live", search={"q": "dog", "weights": "live"})
    assert saved.search["weights"] == {"semantic": 0.6, "metadata": 0.4, "expansion": True}
    assert live.search["weights"] == "live"
    preferences_update(user=alice, semantic_weight=0.2, metadata_weight=0.8, min_score=0.5, expansion_enabled=False,
                       default_sort="relevance")
    from search.smart_albums import SmartAlbumSearch

    params, _ = SmartAlbumSearch._params(saved, 10)
    assert (params.semantic_weight, params.metadata_weight) == (0.6, 0.4)
    params, _ = SmartAlbumSearch._params(live, 10)
    assert (params.semantic_weight, params.metadata_weight, params.expansion_enabled) == (0.2, 0.8, False)


def test_live_weights_are_the_owners_only_while_they_are_in_the_albums_family(toy_model, family, alice, bob):
    """A member made a smart album with live weights, then left (or was removed): their preferences, changed from
    anywhere, still decided what the family's album showed. Out of the family, the album takes the defaults, as it
    does once their account is gone."""
    from gallery.services import membership_remove
    from search.smart_albums import SmartAlbumSearch

    live = album_create(user=bob, family=family, name="Live", search={"q": "dog", "weights": "live"})
    preferences_update(user=bob, semantic_weight=0.2, metadata_weight=0.8, min_score=0.5, expansion_enabled=False,
                       default_sort="relevance")
    params, _ = SmartAlbumSearch._params(live, 10)
    assert (params.semantic_weight, params.metadata_weight, params.expansion_enabled) == (0.2, 0.8, False)
    membership_remove(family=family, user=bob)
    params, _ = SmartAlbumSearch._params(live, 10)
    assert (params.semantic_weight, params.metadata_weight, params.expansion_enabled) == (0.6, 0.4, True)


def test_a_live_smart_album_whose_owner_left_says_it_takes_the_default_weights(toy_model, family, alice, bob,
                                                                              client_for):
    """Once its owner left, a live smart album searches with the default weights (above), yet its page still said
    "the owner's current weights": the family read that bob's settings steered it. It says what it takes now."""
    from gallery.services import membership_add, membership_remove, users_delete

    live = album_create(user=bob, family=family, name="Live", search={"q": "dog", "weights": "live"})
    url = reverse("gallery:album_detail", args=[live.pk])
    assert "the owner's current weights" in unescape(client_for(alice).get(url).content.decode())

    membership_remove(family=family, user=bob)
    page = unescape(client_for(alice).get(url).content.decode())
    assert "the owner's current weights" not in page
    assert "the default weights (its owner is no longer in the family)" in page

    membership_add(family=family, user=bob)  # back: his weights again
    assert "the owner's current weights" in unescape(client_for(alice).get(url).content.decode())
    users_delete(users=type(bob).objects.filter(pk=bob.pk))
    assert "the default weights (its owner is no longer in the family)" in unescape(client_for(alice).get(url).content.decode())


@pytest.mark.parametrize("search, message", [
    ({}, "needs something to search for"),
    ({"q": "?!"}, "needs something to search for"),  # (punctuation alone: nothing to search for, it lists nothing)
    ({"q": "dog", "min_score": 2}, "between 0 and 1"),
    ({"q": "dog", "after": "yesterday"}, "must be a date"),
    ({"q": "dog", "after": "2024-05-01", "before": "2024-01-01"}, "must not be later"),
    ({"q": "dog", "weights": "sometimes"}, "weights"),
    # A JSON true is no number (float(True) is 1.0: a minimum score hiding everything, user 1 as the uploader), a
    # fraction no user, and the text "false" no false (bool("false") is True).
    ({"q": "dog", "min_score": True}, "“min_score” must be a number."),
    ({"q": "dog", "weights": {"semantic": True, "metadata": 0.5}}, "“weights.semantic” must be a number."),
    ({"q": "dog", "weights": {"semantic": 0.5, "metadata": False}}, "“weights.metadata” must be a number."),
    ({"q": "dog", "uploader": True}, "“uploader” must be a user's id."),
    ({"q": "dog", "uploader": 1.7}, "“uploader” must be a user's id."),
    ({"q": "dog", "weights": {"semantic": 0.5, "metadata": 0.5, "expansion": "false"}},
     "“weights.expansion” must be true or false."),
    # A phrase that is no text was dropped without a word (the album searched "1999" as a date).
    ({"q": "dog 1999", "plain": [1999]}, "“plain” must be a list of phrases."),
    ({"q": "dog", "plain": ["beach", None]}, "“plain” must be a list of phrases."),
    # Past the search's own limit the phrases were dropped without a word (the search API refuses them too).
    ({"q": "dog", "plain": [f"p{n}" for n in range(21)]}, "“plain” holds at most 20 phrases."),
    ({"q": "dog", "country": "Portugal"}, "country"),
    ("dog", "must be an object"),
    # A NUL character is refused, never dropped (that would save a search for other words than were typed).
    ({"q": "do\x00g"}, "“q”: Null characters are not allowed."),
    ({"q": "dog", "tag": "pe\x00ts"}, "“tag”: Null characters are not allowed."),
    ({"q": "dog", "place": "Lis\x00bon"}, "“place”: Null characters are not allowed."),
    ({"q": "dog", "country": "P\x00"}, "“country”: Null characters are not allowed."),
    ({"q": "dog", "plain": ["lis\x00bon"]}, "“plain”: Null characters are not allowed."),
])
def test_bad_searches_are_plain_messages(family, alice, search, message):
    with pytest.raises(ValidationError, match=message):
        album_create(user=alice, family=family, name="Bad", search=search)


def test_a_smart_album_until_the_last_day_a_date_can_name_shows_its_photos_and_its_lists_answer(
        toy_model, family, alice, add_shape, indexed, client_for):
    """Saved with "before": "9999-12-31", the album's search failed on the day after it (a 500 on every page that
    lists the album, for as long as the album was there)."""
    tagged = indexed(add_shape, "red", "circle", tags=["dog"])
    album = album_create(user=alice, family=family, name="Forever", search={"q": "dog", "before": "9999-12-31"})
    assert album_photo_ids(album=album) == [tagged.pk]
    client = client_for(alice)
    for url in (reverse("gallery:albums"), reverse("gallery:album_detail", args=[album.pk]), reverse("api_albums")):
        assert client.get(url).status_code == 200, url


def test_a_smart_album_of_dates_joined_by_or_shows_the_photos_of_either_not_those_between(
        toy_model, family, alice, add_shape, indexed):
    """A smart album keeps its query and reads it again each time: "red circle 2019 or 2024" shows the circles of
    either year, and no longer those of the years between (the span that covered both)."""
    circles = {year: indexed(add_shape, "red", "circle") for year in (2019, 2021, 2024)}
    for year, photo in circles.items():
        photo.taken_at = photo.taken_at.replace(year=year, month=6, day=15)
        photo.save(update_fields=["taken_at"])
    album = album_create(user=alice, family=family, name="Then", search={"q": "red circle 2019 or 2024",
                                                                        "min_score": 0})
    assert set(album_photo_ids(album=album)) == {circles[2019].pk, circles[2024].pk}


def test_a_smart_albums_photos_are_not_added_by_hand(family, alice):
    album = album_create(user=alice, family=family, name="Smart", search={"q": "dog"})
    with pytest.raises(ValidationError, match="come from its search"):
        album_add_photos(user=alice, album=album, photo_ids=[1])


def test_save_as_smart_album_from_the_search_page(client_for, family, alice, other_family):
    from django.urls import reverse

    from gallery.models import Album

    client = client_for(alice)
    page = client.get(reverse("search:search"), {"q": "dog in Lisbon", "tag": "pets"}).content.decode()
    assert "Save as smart album" in page
    url = reverse("search:smart_album_save")
    response = client.post(url, {"q": "dog in Lisbon", "tag": "pets", "plain": ["lisbon"], "name": "Dogs",
                                 "family": family.pk, "min_score": "0.25", "weights": "live"})
    album = Album.objects.get(name="Dogs")
    assert response.url == album.get_absolute_url()
    assert (album.family, album.search["q"], album.search["tag"], album.search["plain"], album.search["min_score"],
            album.search["weights"]) == (family, "dog in Lisbon", "pets", ["lisbon"], 0.25, "live")
    assert "Smart album" in client.get(album.get_absolute_url()).content.decode()
    # Bad input is a plain message and no album; another family is a 404.
    response = client.post(url, {"q": "", "name": "Empty", "family": family.pk}, follow=True)
    assert "not saved" in response.content.decode() and not Album.objects.filter(name="Empty").exists()
    assert client.post(url, {"q": "dog", "name": "Theirs", "family": other_family.pk}).status_code == 404
    assert client.post(url, {"q": "dog", "name": "No family"}).status_code == 302
    response = client.post(url, {"q": "dog", "tag": "pe\x00ts", "name": "Nul", "family": family.pk}, follow=True)
    page = response.content.decode()
    assert "Null characters are not allowed." in page and "not saved" in page
    assert not Album.objects.filter(name="Nul").exists()


def test_a_photo_in_the_trash_never_shows_in_a_smart_album(toy_model, family, alice, add_shape, indexed):
    from gallery.trash_services import photos_restore, photos_trash

    circles = [indexed(add_shape, "red", "circle") for _ in range(2)]
    album = album_create(user=alice, family=family, name="Circles", search={"q": "a red circle", "min_score": 0.3})
    photos_trash(user=alice, photo_ids=[circles[0].pk])
    assert album_photo_ids(album=album) == [circles[1].pk]
    photos_restore(user=alice, photo_ids=[circles[0].pk])
    assert set(album_photo_ids(album=album)) == {p.pk for p in circles}


def test_a_smart_album_searches_once_for_its_page_and_not_again_while_scrolled_or_stepped_through(
        toy_model, family, alice, add_shape, indexed, client_for, settings):
    """Its next pages (HTMX, as it is scrolled) and the viewer's steps through it use the list its page searched
    for, so they neither rerun the search each time nor show a list that changed under the visitor; loading the
    page again searches again (a photo just tagged shows)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    settings.GALLERY_PAGE_SIZE = 1
    circles = [indexed(add_shape, "red", "circle") for _ in range(2)]
    album = album_create(user=alice, family=family, name="Red circles", search={"q": "a red circle", "min_score": 0.3})
    client = client_for(alice)

    def searches(url, **headers) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url, headers=headers).status_code == 200
        return sum("ORDER BY (e.vector" in q["sql"] for q in queries.captured_queries)  # walks of the index

    url = album.get_absolute_url()
    assert searches(url) == 1
    assert searches(url + "?page=2", **{"HX-Request": "true"}) == 0
    assert searches(f"{circles[1].get_absolute_url()}?from=album&album={album.pk}") == 0
    assert searches(url) == 1


def test_a_smart_album_filtered_by_uploader_says_whose_and_takes_only_someone_of_its_family(
        client_for, family, alice, bob, other_family, mallory):
    """The page described a smart album of bob's uploads as if it held everyone's; and any account id was saved
    (one of another family: an album always empty, and its name would have shown)."""
    album = album_create(user=alice, family=family, name="Bob's", search={"q": "dog", "uploader": bob.pk})

    page = client_for(alice).get(album.get_absolute_url()).content.decode()

    assert "Smart album: “dog”, uploaded by bob," in page
    for someone in (mallory.pk, 10**9):  # another family's account and no account are refused alike
        with pytest.raises(ValidationError) as refused:
            album_create(user=alice, family=family, name="Theirs", search={"q": "dog", "uploader": someone})
        assert refused.value.messages == ["“uploader” must be a member of the album's family or someone whose photos "
                                          "are in it."]


def test_a_smart_album_whose_tag_was_deleted_says_so(client_for, family, alice):
    """A tag deleted (the admin) left its smart albums filtering on it, empty with no word why. The filter stays (taken
    off, the album would show photos its owner never chose), and the album's page says no photo carries the tag."""
    from gallery.models import Tag
    from gallery.services import tags_delete
    from tests.factories import photo_factory

    photo_factory(family=family, user=alice, filename="o.jpg", tags=["Oma"])
    album = album_create(user=alice, family=family, name="Oma", search={"q": "grandmother", "tag": "oma"})
    assert "Smart album: “grandmother”, tagged oma, score" in unescape(
        client_for(alice).get(album.get_absolute_url()).content.decode())
    tags_delete(tags=Tag.objects.filter(family=family, name="Oma"))

    page = unescape(client_for(alice).get(album.get_absolute_url()).content.decode())

    assert "Smart album: “grandmother”, tagged oma (a tag the family no longer has), score" in page


def test_saving_a_favourites_only_search_as_a_smart_album_says_the_favourites_are_not_kept(client_for, family,
                                                                                            alice):
    """A smart album is the family's (favourites are each person's own): the filter was dropped without a word."""
    page = client_for(alice).get(reverse("search:search"), {"q": "dog", "favourite": "1"}).content.decode()
    form = page[page.index('class="save-smart card"'):]
    form = form[:form.index("</details>")]

    assert "shows every match in the family, not only your favourites" in form
    assert 'name="favourite"' not in form
    plain = client_for(alice).get(reverse("search:search"), {"q": "dog"}).content.decode()
    assert "not only your favourites" not in plain


def test_saving_a_refined_search_as_a_smart_album_says_the_refine_is_not_kept(client_for, toy_model, family, alice,
                                                                             add_shape, indexed):
    """A smart album keeps the words and filters; "more like these, fewer like those" moved the search by photos
    marked right and wrong, which it does not keep. The form carried like/unlike along and the album dropped them
    without a word, so it showed other photos than the refined results it was saved from."""
    right = indexed(add_shape, "red", "circle")
    refined = {"q": "circle", "like": str(right.pk)}
    page = client_for(alice).get(reverse("search:search"), refined).content.decode()
    form = page[page.index('class="save-smart card"'):]
    form = form[:form.index("</details>")]

    assert "not the refining by the photos you marked" in form
    assert 'name="like"' not in form and 'name="unlike"' not in form
    plain = client_for(alice).get(reverse("search:search"), {"q": "circle"}).content.decode()
    assert "not the refining" not in plain


def test_save_as_smart_album_sent_twice_makes_one_album(client_for, family, alice):
    """A double click on "Save" (or Back and Save again) made two smart albums of one name and search (QA): the
    second save of the same form now finds the first, as "New album…" of a selection does."""
    from gallery.models import Album

    client = client_for(alice)
    form = {"q": "orange", "name": "Orange things", "family": family.pk, "min_score": "0.05", "weights": "saved"}
    first = client.post(reverse("search:smart_album_save"), form)
    second = client.post(reverse("search:smart_album_save"), form, follow=True)
    album = Album.objects.get(family=family)  # raised MultipleObjectsReturned: two albums
    assert first.url == album.get_absolute_url() and second.redirect_chain[-1][0] == album.get_absolute_url()
    assert "is saved already" in unescape(second.content.decode())
    # Another search under the same name is still an album of its own, as before.
    client.post(reverse("search:smart_album_save"), {**form, "q": "blue"})
    assert Album.objects.filter(family=family, name="Orange things").count() == 2
