"""One family never sees another's photos, whichever door they try. "Not yours" looks exactly like "missing"."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from gallery.models import Family, Membership, Photo, Tag
from tests import images
from tests.factories import photo_factory

pytestmark = pytest.mark.django_db



@pytest.fixture
def smiths_photo(family, alice):
    return photo_factory(family=family, user=alice, data=images.jpeg(colour=(250, 10, 10)), filename="smith secret.jpg",
                         tags=["private-smith-tag"], description="Smith family only")


@pytest.fixture
def joneses_photo(other_family, mallory):
    return photo_factory(family=other_family, user=mallory, data=images.jpeg(colour=(10, 250, 10)), filename="jones.jpg")


def _page_requests(photo: Photo, family: Family, member_id: int):
    return [
        ("get", reverse("gallery:photo_detail", args=[photo.pk]), {}),
        ("get", reverse("gallery:photo_thumbnail", args=[photo.pk]), {}),
        ("get", reverse("gallery:photo_display", args=[photo.pk]), {}),
        ("get", reverse("gallery:photo_original", args=[photo.pk]), {}),
        ("get", reverse("gallery:photo_original", args=[photo.pk]) + "?download=1", {}),
        ("get", reverse("gallery:photo_edit", args=[photo.pk]), {}),
        ("post", reverse("gallery:photo_edit", args=[photo.pk]), {"title": "hacked", "tags": "pwned", "description": "x"}),
        ("post", reverse("gallery:photo_delete", args=[photo.pk]), {}),
        ("get", reverse("gallery:family_detail", args=[family.pk]), {}),
        ("post", reverse("gallery:member_role", args=[family.pk, member_id]), {"role": "member"}),
        ("post", reverse("gallery:invite_new", args=[family.pk]), {"role": "admin"}),
        ("get", reverse("gallery:member_password", args=[family.pk, member_id]), {}),
        ("post", reverse("gallery:member_password", args=[family.pk, member_id]),
         {"new_password1": "seaside-kite-flying-9", "new_password2": "seaside-kite-flying-9"}),
        ("post", reverse("gallery:member_remove", args=[family.pk, member_id]), {}),
        ("post", reverse("gallery:upload"), {"family": family.pk, "files": [SimpleUploadedFile("x.png", images.image_bytes("PNG"))]}),
    ]


PAGE_IDS = ["detail", "thumbnail", "display", "original", "download", "edit-get", "edit-post", "delete", "family",
            "member-role", "invite-new", "member-password-get", "member-password-post", "member-remove", "upload-into"]


@pytest.mark.parametrize("index", range(len(PAGE_IDS)), ids=PAGE_IDS)
@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_member_of_another_family_gets_404_for_every_page_of_a_photo_or_family(
    client_for, family, alice, mallory, smiths_photo, index, htmx, settings
):
    method, url, data = _page_requests(smiths_photo, family, alice.pk)[index]
    headers = {"HX-Request": "true"} if htmx else {}
    response = getattr(client_for(mallory), method)(url, data, headers=headers)

    assert response.status_code == 404
    assert b"smith secret" not in response.content and b"Smith family only" not in response.content
    _assert_untouched(smiths_photo, family)


def test_404_for_another_familys_photo_is_the_same_as_for_a_missing_photo(client_for, mallory, smiths_photo):
    client = client_for(mallory)
    missing = Photo.objects.order_by("-pk").first().pk + 1000
    for name in ("gallery:photo_detail", "gallery:photo_thumbnail", "gallery:photo_display", "gallery:photo_original"):
        theirs = client.get(reverse(name, args=[smiths_photo.pk]))
        absent = client.get(reverse(name, args=[missing]))
        assert (theirs.status_code, theirs.content) == (absent.status_code, absent.content) == (404, absent.content)


def test_media_accel_modes_check_membership_before_handing_off(client_for, mallory, smiths_photo, settings):
    for mode in ("x-accel", "x-sendfile"):
        settings.MEDIA_ACCEL = mode
        response = client_for(mallory).get(reverse("gallery:photo_original", args=[smiths_photo.pk]))
        assert response.status_code == 404
        assert "X-Accel-Redirect" not in response and "X-Sendfile" not in response


API_IDS = ["get", "patch", "delete"]


@pytest.mark.parametrize("method", API_IDS)
def test_api_detail_of_another_familys_photo_is_404(client_for, family, mallory, smiths_photo, method):
    client = client_for(mallory)
    url = reverse("api_photo_detail", args=[smiths_photo.pk])
    if method == "patch":
        response = client.patch(url, {"tags": ["pwned"], "description": "hacked"}, content_type="application/json")
    else:
        response = getattr(client, method)(url)

    assert response.status_code == 404
    assert b"smith" not in response.content.lower()
    _assert_untouched(smiths_photo, family)


def test_api_upload_into_another_family_is_404(client_for, family, mallory):
    response = client_for(mallory).post(
        reverse("api_photos"), {"file": SimpleUploadedFile("x.jpg", images.jpeg()), "family": family.pk}
    )
    assert response.status_code == 404
    assert not Photo.objects.filter(family=family).exists()


def test_another_familys_photos_never_appear_in_lists(client_for, family, alice, mallory, smiths_photo, joneses_photo):
    client = client_for(mallory)
    secret_urls = [smiths_photo.get_absolute_url(), smiths_photo.thumbnail_url]

    timelines = [
        client.get(reverse("gallery:timeline")),
        client.get(reverse("gallery:timeline"), {"family": family.pk}),
        client.get(reverse("gallery:timeline"), {"tag": "private-smith-tag"}),
        client.get(reverse("gallery:timeline"), headers={"HX-Request": "true"}),
    ]
    for response in timelines:
        body = response.content.decode()
        assert response.status_code == 200
        assert not any(url in body for url in secret_urls)
        assert "Smiths" not in body  # not even the family's name in the filter menu
    assert joneses_photo.thumbnail_url in timelines[0].content.decode()

    api = client.get(reverse("api_photos")).json()
    assert [p["id"] for p in api["results"]] == [joneses_photo.pk] and api["count"] == 1
    assert client.get(reverse("api_photos"), {"family": family.pk}).json() == {"detail": "No such family."}
    for params in ({"tag": "private-smith-tag"}, {"uploaded_by": alice.pk}):
        filtered = client.get(reverse("api_photos"), params).json()
        assert filtered["count"] == 0 and filtered["results"] == [], params

    families = client.get(reverse("api_families")).json()
    assert families == [{"id": joneses_photo.family_id, "name": "Joneses", "photo_count": 1,
                         "members": [{"id": mallory.pk, "username": "mallory", "role": "admin"}],
                         "uploaders": [{"id": mallory.pk, "username": "mallory"}]}]  # no Smith's

    family_index = client.get(reverse("gallery:families")).content.decode()
    assert "Smiths" not in family_index and family.get_absolute_url() not in family_index


def test_same_tag_name_in_two_families_stays_two_tags(client_for, family, other_family, alice, mallory):
    mine = photo_factory(family=family, user=alice, tags=["Beach"])
    theirs = photo_factory(family=other_family, user=mallory, tags=["beach"])

    assert Tag.objects.filter(name__iexact="beach").count() == 2
    body = client_for(mallory).get(reverse("gallery:timeline"), {"tag": "BEACH"}).content.decode()
    assert theirs.thumbnail_url in body and mine.thumbnail_url not in body


def test_leaving_a_family_takes_away_access(client_for, family, alice, bob, smiths_photo):
    client = client_for(bob)
    assert client.get(smiths_photo.get_absolute_url()).status_code == 200
    Membership.objects.filter(user=bob).delete()
    assert client.get(smiths_photo.get_absolute_url()).status_code == 404
    assert client.get(smiths_photo.thumbnail_url).status_code == 404


# --- anonymous ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["timeline", "upload", "families", "photo_detail", "photo_edit", "photo_thumbnail", "photo_display",
             "photo_original"]
)
def test_anonymous_pages_redirect_to_login(client, alice, smiths_photo, name):
    args = [smiths_photo.pk] if name.startswith("photo_") else []
    url = reverse(f"gallery:{name}", args=args)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"


def test_anonymous_posts_change_nothing(client, family, alice, smiths_photo):
    client.post(reverse("gallery:photo_delete", args=[smiths_photo.pk]))
    client.post(reverse("gallery:photo_edit", args=[smiths_photo.pk]), {"title": "hacked"})
    client.post(reverse("gallery:member_role", args=[family.pk, alice.pk]), {"role": "member"})
    client.post(reverse("gallery:invite_new", args=[family.pk]), {"role": "admin"})
    _assert_untouched(smiths_photo, family)


@pytest.mark.parametrize(
    ("method", "name"),
    [("get", "api_photos"), ("post", "api_photos"), ("get", "api_families"), ("get", "api_photo_detail"),
     ("patch", "api_photo_detail"), ("delete", "api_photo_detail")],
)
def test_anonymous_api_is_refused(client, family, smiths_photo, method, name):
    args = [smiths_photo.pk] if name == "api_photo_detail" else []
    response = getattr(client, method)(reverse(name, args=args))
    assert response.status_code in (401, 403)
    assert b"smith" not in response.content.lower()
    _assert_untouched(smiths_photo, family)


def test_bad_token_is_refused(client, smiths_photo):
    response = client.get(reverse("api_photos"), headers={"Authorization": "Token not-a-real-token"})
    # 403 rather than 401 because SessionAuthentication comes first in DEFAULT_AUTHENTICATION_CLASSES.
    assert response.status_code in (401, 403)
    assert response.json()["detail"] == "Invalid token."


# --- serving one's own files --------------------------------------------------------------------


def _body(response) -> bytes:
    # Consuming streaming_content closes the file (the test client wraps it); no explicit close().
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_own_thumbnail_and_original_are_served_with_type_and_bytes(client_for, bob, smiths_photo):
    client = client_for(bob)  # a plain member, not the uploader

    thumb = client.get(smiths_photo.thumbnail_url)
    assert thumb.status_code == 200 and thumb["Content-Type"] == "image/jpeg"
    thumb_bytes = _body(thumb)
    with smiths_photo.thumbnail.open("rb") as f:
        assert thumb_bytes == f.read()
    assert Image.open(io.BytesIO(thumb_bytes)).format == "JPEG"
    assert thumb["X-Content-Type-Options"] == "nosniff"
    assert "private" in thumb["Cache-Control"]

    original = client.get(smiths_photo.original_url)
    assert original.status_code == 200 and original["Content-Type"] == "image/jpeg"
    assert _body(original) == images.jpeg(colour=(250, 10, 10))
    assert "Content-Disposition" not in original or "attachment" not in original["Content-Disposition"]

    download = client.get(smiths_photo.original_url, {"download": "1"})
    assert download["Content-Disposition"] == "attachment; filename*=UTF-8''smith%20secret.jpg"
    assert _body(download) == images.jpeg(colour=(250, 10, 10))


def test_png_original_keeps_its_own_content_type(client_for, family, alice):
    data = images.image_bytes("PNG", colour=(1, 2, 3))
    photo = photo_factory(family=family, user=alice, data=data, filename="p.png")
    response = client_for(alice).get(photo.original_url)
    assert response["Content-Type"] == "image/png"
    assert _body(response) == data


def test_x_accel_hands_the_file_to_nginx_without_a_body(client_for, alice, smiths_photo, settings):
    settings.MEDIA_ACCEL = "x-accel"
    settings.MEDIA_ACCEL_PREFIX = "/protected-media/"
    client = client_for(alice)

    thumb = client.get(smiths_photo.thumbnail_url)
    assert thumb.status_code == 200 and thumb.content == b""
    assert thumb["X-Accel-Redirect"] == "/protected-media/" + smiths_photo.thumbnail.name
    assert thumb["Content-Type"] == "image/jpeg"

    download = client.get(smiths_photo.original_url, {"download": "1"})
    assert download.content == b""
    assert download["X-Accel-Redirect"] == "/protected-media/" + smiths_photo.original.name
    assert download["Content-Disposition"].startswith("attachment;")
    assert "X-Sendfile" not in download


def test_x_sendfile_names_the_file_path_without_a_body(client_for, alice, smiths_photo, settings):
    settings.MEDIA_ACCEL = "x-sendfile"
    response = client_for(alice).get(smiths_photo.original_url)
    assert response.status_code == 200 and response.content == b""
    assert response["X-Sendfile"] == smiths_photo.original.path
    assert response["Content-Type"] == "image/jpeg"
    assert "X-Accel-Redirect" not in response


def test_a_file_missing_on_disk_is_404_not_500(client_for, alice, smiths_photo):
    smiths_photo.thumbnail.storage.delete(smiths_photo.thumbnail.name)
    assert client_for(alice).get(smiths_photo.thumbnail_url).status_code == 404


def _assert_untouched(photo: Photo, family: Family) -> None:
    fresh = Photo.objects.get(pk=photo.pk)
    assert (fresh.title, fresh.description) == (photo.title, photo.description)
    assert [t.name for t in fresh.tags.all()] == ["private-smith-tag"]
    assert fresh.original.storage.exists(fresh.original.name) and fresh.thumbnail.storage.exists(fresh.thumbnail.name)
    assert dict(family.memberships.values_list("user__username", "role")) == {"alice": "admin"}
    assert Photo.objects.filter(family=family).count() == 1
    assert not family.invites.exists()


@pytest.mark.django_db
def test_a_photo_of_another_family_is_the_sites_own_not_found_page(client_for, alice, settings):
    settings.DEBUG = False
    response = client_for(alice).get("/photos/999999/")
    assert response.status_code == 404
    body = response.content.decode()
    assert 'name="viewport"' in body and "not in any of your families" in body  # readable on a phone too


def test_head_on_a_photo_s_media_answers_as_get_does_and_isolated(client_for, bob, mallory, smiths_photo):
    """`curl -I`, a download manager or a link checker asks HEAD first: a member's thumbnail, display and original
    answered 405 "Method Not Allowed". They answer as GET does (its headers, Content-Length, no body), and another
    family's member still gets the 404 a missing photo gets."""
    urls = [smiths_photo.thumbnail_url, reverse("gallery:photo_display", args=[smiths_photo.pk]),
            smiths_photo.original_url, smiths_photo.original_url + "?download=1"]
    client = client_for(bob)
    for url in urls:
        head, get = client.head(url), client.get(url)
        assert head.status_code == 200, url
        assert head["Content-Type"] == get["Content-Type"] and head.get("Content-Disposition") == get.get(
            "Content-Disposition"), url
        assert _body(head) == b"", url
    for url in urls:
        assert client_for(mallory).head(url).status_code == 404, url
