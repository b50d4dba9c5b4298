"""Two API clients editing one photo: GET gives an ETag of what a PATCH can change, and a PATCH with `If-Match`
is refused (412) when someone else saved the photo since, instead of silently replacing their edit (the web form's
edit conflict, for scripts and apps). A PATCH without `If-Match` still simply applies (the last one stands)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from django.urls import reverse

from gallery.services import photo_update
from django.test import Client

from tests.factories import api_token_key, photo_factory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(alice):
    return Client(headers={"Authorization": f"Token {api_token_key(alice)}"})


def _patch(api, photo, data, **headers):
    return api.patch(reverse("api_photo_detail", args=[photo.pk]), data, content_type="application/json",
                     headers=headers)


def test_get_gives_an_etag_that_a_patch_with_if_match_needs_to_match(api, family, alice):
    photo = photo_factory(family=family, user=alice, tags=["beach"])
    url = reverse("api_photo_detail", args=[photo.pk])
    etag = api.get(url).headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"') and not etag.startswith("W/")
    assert api.get(url).headers["ETag"] == etag  # nothing changed: the same
    saved = _patch(api, photo, {"title": "Sunset"}, if_match=etag)
    assert saved.status_code == 200, saved.content
    assert saved.headers["ETag"] != etag and saved.headers["ETag"] == api.get(url).headers["ETag"]
    # The old tag no longer matches: this client's view is out of date.
    stale = _patch(api, photo, {"title": "Dawn"}, if_match=etag)
    assert stale.status_code == 412, stale.content
    assert "Sunset" in stale.json()["detail"]
    photo.refresh_from_db()
    assert photo.title == "Sunset"


def test_someone_elses_edit_in_between_is_not_overwritten(api, family, alice, bob):
    photo = photo_factory(family=family, user=alice, tags=["beach"])
    etag = api.get(reverse("api_photo_detail", args=[photo.pk])).headers["ETag"]
    photo_update(photo=photo, tags=["beach", "grandma"], user=bob)  # on the photo page, meanwhile
    response = _patch(api, photo, {"tags": ["beach", "sea"]}, if_match=etag)
    assert response.status_code == 412
    assert sorted(photo.tags.values_list("name", flat=True)) == ["beach", "grandma"]
    # A date, a position or a rotation changed meanwhile counts too: the PATCH can change those as well.
    etag = api.get(reverse("api_photo_detail", args=[photo.pk])).headers["ETag"]
    api.patch(reverse("api_photo_detail", args=[photo.pk]), {"taken_at": "2020-06-01T12:00:00+00:00"},
              content_type="application/json")
    assert _patch(api, photo, {"title": "x"}, if_match=etag).status_code == 412
    photo.refresh_from_db()
    assert photo.taken_at == datetime(2020, 6, 1, 12, tzinfo=timezone.utc) and photo.title != "x"


def test_if_match_star_and_no_header_apply_and_garbage_is_refused(api, family, alice):
    photo = photo_factory(family=family, user=alice)
    assert _patch(api, photo, {"title": "One"}).status_code == 200  # no precondition: applies
    assert _patch(api, photo, {"title": "Two"}, if_match="*").status_code == 200
    assert _patch(api, photo, {"title": "Three"}, if_match='"nonsense"').status_code == 412
    assert _patch(api, photo, {"title": "Four"}, if_match='W/"weak"').status_code == 412  # If-Match is strong
    photo.refresh_from_db()
    assert photo.title == "Two"


def test_a_list_of_tags_in_if_match_matches_any_of_them(api, family, alice):
    photo = photo_factory(family=family, user=alice)
    etag = api.get(reverse("api_photo_detail", args=[photo.pk])).headers["ETag"]
    assert _patch(api, photo, {"title": "One"}, if_match=f'"older", {etag}').status_code == 200


def test_another_familys_photo_is_a_404_whatever_the_precondition(api, other_family, mallory):
    photo = photo_factory(family=other_family, user=mallory)
    assert _patch(api, photo, {"title": "x"}, if_match="*").status_code == 404
    assert api.get(reverse("api_photo_detail", args=[photo.pk])).status_code == 404


# --- the photo list by date (a sync client fetches what changed in a period; the search API had the filters) ---

def test_the_photo_list_filters_by_the_local_day_taken(api, family, alice, other_family, mallory):
    from gallery.correction_services import photo_date_set

    photos = {}
    for day in ("2023-06-30T23:30:00", "2023-07-01T00:30:00", "2023-07-31T12:00:00", "2023-08-01T08:00:00"):
        photo = photo_factory(family=family, user=alice)
        photos[day] = photo_date_set(photo=photo, taken_at=datetime.fromisoformat(day)).pk  # local wall-clock time
    photo_date_set(photo=photo_factory(family=other_family, user=mallory),
                   taken_at=datetime.fromisoformat("2023-07-15T12:00:00"))
    url = reverse("api_photos")
    july = api.get(url, {"taken_after": "2023-07-01", "taken_before": "2023-07-31"}).json()["results"]
    assert [p["id"] for p in july] == [photos["2023-07-31T12:00:00"], photos["2023-07-01T00:30:00"]]
    since = api.get(url, {"taken_after": "2023-07-31"}).json()["results"]
    assert [p["id"] for p in since] == [photos["2023-08-01T08:00:00"], photos["2023-07-31T12:00:00"]]
    until = api.get(url, {"taken_before": "2023-06-30"}).json()["results"]
    assert [p["id"] for p in until] == [photos["2023-06-30T23:30:00"]]
    bad = api.get(url, {"taken_after": "last summer"})
    assert bad.status_code == 400 and "taken_after" in bad.json()
    backwards = api.get(url, {"taken_after": "2023-08-01", "taken_before": "2023-07-01"})
    assert backwards.status_code == 400 and "taken_before" in backwards.json()


# --- the services' refusals, however a view forgets to map them ---

def test_a_services_refusal_reaching_drf_unmapped_is_a_400_or_403_never_a_500():
    from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError

    from gallery.apis import exception_handler

    plain = exception_handler(ValidationError("Choose an album."), {})
    assert (plain.status_code, plain.data) == (400, {"detail": ["Choose an album."]})
    fields = exception_handler(ValidationError({"name": ["Too long."], NON_FIELD_ERRORS: ["Not now."]}), {})
    assert (fields.status_code, fields.data) == (400, {"name": ["Too long."], "non_field_errors": ["Not now."]})
    refused = exception_handler(PermissionDenied("Only a family admin can empty the trash."), {})
    assert (refused.status_code, refused.data["detail"]) == (403, "Only a family admin can empty the trash.")
    assert exception_handler(PermissionDenied(), {}).status_code == 403


def test_a_plain_member_emptying_the_trash_is_told_why(bob, family):
    from django.test import Client

    body = Client(headers={"Authorization": f"Token {api_token_key(bob)}"}).post(
        reverse("api_trash_empty"), {"family": family.pk}, content_type="application/json")
    assert body.status_code == 403 and "admin" in body.json()["detail"]


def test_a_rotation_that_fails_leaves_the_rest_of_the_patch_unsaved(api, family, alice):
    """All or nothing, the rotation too: its original can't be read (gone from storage), so the title and tags sent
    with it are not saved either, and no rendition file is left behind."""
    photo = photo_factory(family=family, user=alice, tags=["beach"])
    photo.original.storage.delete(photo.original.name)
    files_before, title = _stored_files(photo), photo.title
    response = _patch(api, photo, {"title": "Turned", "tags": ["sea"], "rotation": 90})
    assert response.status_code == 400 and "rotation" in response.json(), response.content
    photo.refresh_from_db()
    assert (photo.title, photo.rotation) == (title, 0)
    assert list(photo.tags.values_list("name", flat=True)) == ["beach"]
    assert _stored_files(photo) == files_before


def test_a_rotation_with_an_out_of_date_etag_or_a_refused_date_keeps_nothing(api, family, alice):
    """Refused before the picture is decoded (a stale ETag), or inside the request's transaction after its
    renditions were written (a date no calendar has): the photo stays as it was, and no rendition file is left."""
    photo = photo_factory(family=family, user=alice)
    url = reverse("api_photo_detail", args=[photo.pk])
    etag = api.get(url).headers["ETag"]
    assert _patch(api, photo, {"title": "Meanwhile"}).status_code == 200
    files = _stored_files(photo)
    assert _patch(api, photo, {"rotation": 90}, if_match=etag).status_code == 412
    refused = _patch(api, photo, {"rotation": 90, "title": "Turned", "taken_at": "1700-01-01T00:00:00Z"})
    assert refused.status_code == 400 and "taken_at" in refused.json()
    photo.refresh_from_db()
    assert (photo.rotation, photo.title) == (0, "Meanwhile")
    assert _stored_files(photo) == files


def test_a_rotation_to_where_the_photo_already_is_changes_nothing(api, family, alice):
    photo = photo_factory(family=family, user=alice)
    assert _patch(api, photo, {"rotation": 90}).status_code == 200
    files = _stored_files(photo)
    photo.refresh_from_db()
    names = (photo.thumbnail.name, photo.display.name)
    response = _patch(api, photo, {"rotation": 90, "title": "Same way up"})
    assert response.status_code == 200 and response.json()["rotation"] == 90
    photo.refresh_from_db()
    assert (photo.thumbnail.name, photo.display.name) == names and photo.title == "Same way up"
    assert _stored_files(photo) == files


def _stored_files(photo) -> set[str]:
    import os

    root = photo.original.storage.location
    return {os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs}
