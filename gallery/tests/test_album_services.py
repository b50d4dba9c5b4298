"""Album services: rights (any member adds, creator or admin renames and deletes), order, isolation per family."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from gallery.album_selectors import album_get, album_list, album_photo_ids, album_cover_id
from gallery.album_services import (
    ALREADY, IN_TRASH, NOT_FOUND, NOT_IN_ALBUM, OTHER_FAMILY, album_add_photos, album_create,
    album_create_with_photos, album_delete, album_move_photo, album_remove_photos, album_reorder, album_set_cover,
    album_update,
)
from gallery.models import Album, Membership
from gallery.trash_services import photos_trash
from tests.factories import FamilyFactory, MembershipFactory, UserFactory, photo_factory

pytestmark = pytest.mark.django_db


@pytest.fixture
def photos(family, alice):
    return [photo_factory(family=family, user=alice) for _ in range(4)]


def test_any_member_creates_and_adds_in_order(family, bob, photos):
    album = album_create(user=bob, family=family, name="  Summer   2024 ", description="At the lake")
    assert (album.name, album.created_by, album.kind) == ("Summer 2024", bob, Album.Kind.MANUAL)
    outcomes = album_add_photos(user=bob, album=album, photo_ids=[photos[2].pk, photos[0].pk])
    assert outcomes == [(photos[2].pk, True, ""), (photos[0].pk, True, "")]
    album_add_photos(user=bob, album=album, photo_ids=[photos[1].pk, photos[2].pk])
    assert album_photo_ids(album=album) == [photos[2].pk, photos[0].pk, photos[1].pk]


def test_adding_checks_each_photo_family_and_answers_foreign_like_missing(family, alice, photos, other_family,
                                                                           mallory):
    jones_photo = photo_factory(family=other_family, user=mallory)
    second = FamilyFactory(name="Alice's other family")
    MembershipFactory(family=second, user=alice)
    own_other = photo_factory(family=second, user=alice)
    album = album_create(user=alice, family=family, name="Mixed")
    album_add_photos(user=alice, album=album, photo_ids=[photos[0].pk])
    outcomes = album_add_photos(user=alice, album=album,
                                photo_ids=[jones_photo.pk, 999999, own_other.pk, photos[0].pk, photos[1].pk])
    assert outcomes == [(jones_photo.pk, False, NOT_FOUND), (999999, False, NOT_FOUND),
                        (own_other.pk, False, OTHER_FAMILY), (photos[0].pk, True, ALREADY), (photos[1].pk, True, "")]
    assert album_photo_ids(album=album) == [photos[0].pk, photos[1].pk]


def test_outsiders_cannot_add_or_see(family, alice, photos, mallory):
    album = album_create(user=alice, family=family, name="Ours")
    with pytest.raises(PermissionDenied):
        album_add_photos(user=mallory, album=album, photo_ids=[photos[0].pk])
    with pytest.raises(PermissionDenied):
        album_create(user=mallory, family=family, name="Sneaky")
    with pytest.raises(Http404):
        album_get(user=mallory, album_id=album.pk)
    assert list(album_list(user=mallory)) == []
    assert [a.pk for a in album_list(user=alice)] == [album.pk]


def test_rename_and_delete_are_for_the_creator_or_an_admin(family, alice, bob, photos):
    carol = UserFactory(username="carol")
    MembershipFactory(family=family, user=carol)
    album = album_create(user=bob, family=family, name="Bob's")
    with pytest.raises(PermissionDenied):
        album_update(user=carol, album=album, name="Carol's now")
    album_update(user=bob, album=album, name="Bob's best")
    album_update(user=alice, album=album, description="Admin was here")
    album.refresh_from_db()
    assert (album.name, album.description) == ("Bob's best", "Admin was here")
    with pytest.raises(PermissionDenied):
        album_delete(user=carol, album=album)
    # Carol can still add and arrange: an album is the family's.
    album_add_photos(user=carol, album=album, photo_ids=[photos[0].pk])
    album_delete(user=alice, album=album)
    assert not Album.objects.filter(pk=album.pk).exists()


def test_the_django_admins_rename_and_delete_are_a_superusers_for_any_album_and_the_galleries_for_staff(
        family, alice, bob):
    """The admin's writes (album_update_by_site_admin, album_delete_by_site_admin): a superuser manages an album of a
    family they are not in, under the same rules of names; any other account only as album_update allows."""
    from django.contrib.auth import get_user_model

    from gallery.album_services import album_delete_by_site_admin, album_update_by_site_admin

    root = get_user_model().objects.create_superuser("root", "", "root-password-123")
    carol = UserFactory(username="carol", is_staff=True)
    MembershipFactory(family=family, user=carol)
    album = album_create(user=bob, family=family, name="Bob's")
    with pytest.raises(PermissionDenied):
        album_update_by_site_admin(user=carol, album=album, name="Carol's now", description="")
    with pytest.raises(PermissionDenied):
        album_delete_by_site_admin(user=carol, album=album)
    with pytest.raises(ValidationError):
        album_update_by_site_admin(user=root, album=album, name=" \u200b ", description="")
    album_update_by_site_admin(user=root, album=album, name="  Bob's\tbest ", description="")
    album.refresh_from_db()
    assert album.name == "Bob's best"
    album_delete_by_site_admin(user=root, album=album)
    assert not Album.objects.filter(pk=album.pk).exists()


def test_creator_who_left_the_family_can_no_longer_manage(family, alice, bob):
    album = album_create(user=bob, family=family, name="Bob's")
    Membership.objects.filter(user=bob, family=family).delete()
    with pytest.raises(PermissionDenied):
        album_update(user=bob, album=album, name="Mine still?")


def test_who_manages_an_album_is_one_rule_for_the_gallery_the_api_and_the_django_admin(family, alice, bob,
                                                                                         other_family, mallory):
    """The rule (creator while still in the family, or a family admin) was written twice, as Python over roles in
    album_can_manage and as a query in the Django admin: they could drift apart. Both read albums_manageable."""
    from django.contrib.admin import site
    from django.test import RequestFactory

    from gallery.album_selectors import albums_manageable
    from gallery.album_services import album_can_manage

    carol = UserFactory(username="carol")
    MembershipFactory(family=family, user=carol)
    bobs = album_create(user=bob, family=family, name="Bob's")
    carols = album_create(user=carol, family=family, name="Carol's")
    alices = album_create(user=alice, family=family, name="Alice's")
    theirs = album_create(user=mallory, family=other_family, name="Joneses'")
    Membership.objects.filter(user=carol).delete()  # made it, then left the family
    expected = {alice: {bobs, carols, alices}, bob: {bobs}, carol: set(), mallory: {theirs}}

    album_admin = site._registry[Album]
    for user, albums in expected.items():
        request = RequestFactory().get("/admin/")
        request.user = user
        in_admin = set(Album.objects.filter(album_admin.scope_q(request, changing=True)))
        assert set(albums_manageable(user=user)) == albums == in_admin, user
        assert {album for album in (bobs, carols, alices, theirs) if album_can_manage(user=user, album=album)} == albums


def test_names_are_checked(family, alice):
    with pytest.raises(ValidationError, match="needs a name"):
        album_create(user=alice, family=family, name="   ")
    with pytest.raises(ValidationError, match="at most 100"):
        album_create(user=alice, family=family, name="x" * 101)
    album = album_create(user=alice, family=family, name="a\x00b")
    assert album.name == "ab"


def test_move_reorder_remove_and_cover(family, alice, photos):
    album = album_create(user=alice, family=family, name="Order")
    album_add_photos(user=alice, album=album, photo_ids=[p.pk for p in photos])
    a, b, c, d = (p.pk for p in photos)
    album_move_photo(user=alice, album=album, photo_id=d, to=1)
    assert album_photo_ids(album=album) == [d, a, b, c]
    album_move_photo(user=alice, album=album, photo_id=d, to=99)
    assert album_photo_ids(album=album) == [a, b, c, d]
    album_reorder(user=alice, album=album, photo_ids=[c, a, 424242])
    assert album_photo_ids(album=album) == [c, a, b, d]
    assert album_cover_id(album=album) == c
    album_set_cover(user=alice, album=album, photo_id=b)
    assert album_cover_id(album=album) == b
    with pytest.raises(ValidationError):
        album_set_cover(user=alice, album=album, photo_id=999999)
    assert album_remove_photos(user=alice, album=album, photo_ids=[b, 999999]) == [(b, True, ""),
                                                                                  (999999, False, NOT_IN_ALBUM)]
    album.refresh_from_db()
    assert album.cover_id is None and album_cover_id(album=album) == c
    with pytest.raises(ValidationError):
        album_move_photo(user=alice, album=album, photo_id=b, to=1)


def test_a_photo_can_be_in_several_albums_and_deleting_it_leaves_them(family, alice, photos):
    first = album_create(user=alice, family=family, name="One")
    second = album_create(user=alice, family=family, name="Two")
    for album in (first, second):
        album_add_photos(user=alice, album=album, photo_ids=[photos[0].pk, photos[1].pk])
    photos[0].delete()
    assert album_photo_ids(album=first) == album_photo_ids(album=second) == [photos[1].pk]


def test_bad_ids_are_a_plain_message(family, alice):
    album = album_create(user=alice, family=family, name="Ids")
    with pytest.raises(ValidationError, match="whole numbers"):
        album_add_photos(user=alice, album=album, photo_ids=["x"])
    with pytest.raises(ValidationError, match="At most 500"):
        album_add_photos(user=alice, album=album, photo_ids=range(1, 502))


def test_a_photo_in_the_trash_leaves_the_album_and_comes_back_in_its_place(family, alice, photos):
    from gallery.trash_services import photos_restore, photos_trash

    album = album_create(user=alice, family=family, name="Trash")
    album_add_photos(user=alice, album=album, photo_ids=[p.pk for p in photos])
    a, b, c, d = (p.pk for p in photos)
    photos_trash(user=alice, photo_ids=[b])
    assert album_photo_ids(album=album) == [a, c, d]
    assert album_add_photos(user=alice, album=album, photo_ids=[b]) == [(b, False, IN_TRASH)]  # (said, not hidden)
    album_set_cover(user=alice, album=album, photo_id=c)
    # Moves count the photos the album shows: d one step up lands before c, not before the hidden b.
    album_move_photo(user=alice, album=album, photo_id=d, to=2)
    assert album_photo_ids(album=album) == [a, d, c]
    photos_restore(user=alice, photo_ids=[b])
    assert album_photo_ids(album=album) == [a, b, d, c]


# --- "New album…" of an add-to-album picker (album_create_with_photos) ----------------------------------------------


def test_a_new_album_is_made_in_the_family_named_as_the_album_form_names_it_holding_the_photos(family, bob, photos):
    made = album_create_with_photos(user=bob, family=family, name="  Beach\u00a0  day ",
                                    photo_ids=[photos[1].pk, photos[0].pk])
    assert made.made and (made.album.name, made.album.family, made.album.created_by) == ("Beach day", family, bob)
    assert made.album.kind == Album.Kind.MANUAL
    assert made.outcomes == [(photos[1].pk, True, ""), (photos[0].pk, True, "")]
    assert album_photo_ids(album=made.album) == [photos[1].pk, photos[0].pk]


def test_the_familys_plain_album_of_that_name_is_used_rather_than_a_second_made(family, alice, bob, photos):
    """The same form sent twice (a double click, Back and again), or a name typed that the list above offered: one
    album, the photos at its end."""
    beach = album_create(user=alice, family=family, name="Beach")
    album_add_photos(user=alice, album=beach, photo_ids=[photos[0].pk])
    made = album_create_with_photos(user=bob, family=family, name="BEACH", photo_ids=[photos[1].pk, photos[0].pk])
    assert (made.album, made.made) == (beach, False)
    assert made.outcomes == [(photos[1].pk, True, ""), (photos[0].pk, True, ALREADY)]
    assert Album.objects.filter(family=family).count() == 1
    assert album_photo_ids(album=beach) == [photos[0].pk, photos[1].pk]


def test_a_smart_album_of_that_name_is_named_and_nothing_is_made(family, alice, photos):
    Album.objects.create(family=family, name="Dogs", kind=Album.Kind.SMART, search={"q": "dog"}, created_by=alice)
    with pytest.raises(ValidationError) as refused:
        album_create_with_photos(user=alice, family=family, name="dogs", photo_ids=[photos[0].pk])
    assert "smart album" in " ".join(refused.value.messages) and "Dogs" in " ".join(refused.value.messages)
    assert Album.objects.filter(family=family).count() == 1


@pytest.mark.parametrize("name, said", [
    ("", "An album needs a name."),
    (" \t\u00a0 ", "An album needs a name."),
    ("\x07\x08", "control character"),
    ("x" * 101, "at most 100 characters"),
])
def test_a_name_no_album_may_have_is_refused_as_the_album_form_refuses_it_and_nothing_is_made(
        family, alice, photos, name, said):
    with pytest.raises(ValidationError) as refused:
        album_create_with_photos(user=alice, family=family, name=name, photo_ids=[photos[0].pk])
    assert said in " ".join(refused.value.messages)
    assert not Album.objects.exists()


def test_no_album_is_left_behind_when_none_of_the_photos_can_go_in(family, alice, photos, other_family, mallory):
    jones = photo_factory(family=other_family, user=mallory)
    photos_trash(user=alice, photo_ids=[photos[0].pk])
    with pytest.raises(ValidationError) as refused:
        album_create_with_photos(user=alice, family=family, name="Nothing",
                                 photo_ids=[jones.pk, photos[0].pk, 999999])
    assert not Album.objects.exists()
    said = " ".join(refused.value.messages)
    assert "no album was made" in said.lower() and NOT_FOUND in said and IN_TRASH in said


def test_photos_of_the_users_other_families_are_answered_as_not_added_the_rest_go_in(family, alice, photos):
    second = FamilyFactory(name="Alice's other family")
    MembershipFactory(family=second, user=alice)
    own_other = photo_factory(family=second, user=alice)
    made = album_create_with_photos(user=alice, family=family, name="Mixed", photo_ids=[own_other.pk, photos[0].pk])
    assert made.outcomes == [(own_other.pk, False, OTHER_FAMILY), (photos[0].pk, True, "")]
    assert made.album.family == family and album_photo_ids(album=made.album) == [photos[0].pk]
    # Only photos of another family: nothing made in either.
    with pytest.raises(ValidationError):
        album_create_with_photos(user=alice, family=family, name="Theirs", photo_ids=[own_other.pk])
    assert not Album.objects.filter(name="Theirs").exists()


def test_an_outsider_makes_no_album_in_a_family_not_theirs(family, photos, mallory):
    with pytest.raises(PermissionDenied):
        album_create_with_photos(user=mallory, family=family, name="Mine now", photo_ids=[photos[0].pk])
    assert not Album.objects.exists()
