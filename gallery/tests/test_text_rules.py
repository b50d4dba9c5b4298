"""One rule for names and text, on every path that writes them (page, API, admin, files).

Tag names hold no comma: the pages type tags comma-separated, so a name with a comma set through the API split in
two the next time the photo was saved from its page. Names, titles and descriptions hold no control character: a
person's text with one is refused with the codes named; text read from a file loses them."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from gallery.album_services import album_add_photos, album_create
from gallery.models import Album, Family, Membership, Photo, PhotoTag, Tag
from gallery.services import family_create, photo_update
from search.models import TagConcept
from tests import images
from tests.factories import api_token_key, photo_factory

pytestmark = pytest.mark.django_db

BELL = "\x07"


@pytest.fixture
def api(client, alice):
    client.defaults["HTTP_AUTHORIZATION"] = f"Token {api_token_key(alice)}"
    return client


@pytest.fixture
def root(client):
    user = get_user_model().objects.create_superuser("root", "root@example.org", "admin-password-123")
    client.force_login(user)
    return client


def names(photo: Photo) -> set[str]:
    return set(Photo.objects.get(pk=photo.pk).tags.values_list("name", flat=True))


# --- a. tag names: no comma ---------------------------------------------------------------------------------------


def test_the_api_refuses_a_tag_with_a_comma_and_changes_nothing(api, family, alice):
    photo = photo_factory(family=family, user=alice, tags=["sea"])
    response = api.patch(f"/api/v1/photos/{photo.pk}/", {"tags": ["Smith, John"], "title": "Beach"},
                         content_type="application/json")
    assert response.status_code == 400
    assert "comma" in response.json()["tags"][0] and "Smith, John" in response.json()["tags"][0]
    assert names(photo) == {"sea"} and Photo.objects.get(pk=photo.pk).title != "Beach"
    assert not Tag.objects.filter(name__contains=",").exists()


def test_a_tag_set_through_the_api_survives_a_save_from_the_page(api, client_for, family, alice):
    photo = photo_factory(family=family, user=alice)
    assert api.patch(f"/api/v1/photos/{photo.pk}/", {"tags": ["Smith John", "beach"]},
                     content_type="application/json").status_code == 200
    form = client_for(alice).get(reverse("gallery:photo_edit", args=[photo.pk])).content.decode()
    assert 'value="Smith John, beach"' in form or 'value="beach, Smith John"' in form
    client_for(alice).post(reverse("gallery:photo_edit", args=[photo.pk]),
                           {"title": "t", "description": "", "tags": "Smith John, beach"})
    assert names(photo) == {"Smith John", "beach"}


def test_the_upload_api_and_bulk_api_refuse_nothing_typed_comma_separated(api, family, alice):
    photo = photo_factory(family=family, user=alice)
    response = api.post("/api/v1/photos/bulk/", {"action": "add_tags", "photos": [photo.pk], "tags": ["a,b"]},
                        content_type="application/json")
    assert response.status_code == 400 and "comma" in str(response.json())
    assert names(photo) == set()


def test_a_tag_name_over_64_characters_is_refused_everywhere_not_cut_short(api, client_for, family, alice):
    """The API refused a tag name of more than 64 characters (a tag holds 64), but the photo page, the upload page's
    tags, the upload API and the selection bar cut it to its first 64 without a word: two long names alike in their
    first 64 characters became one tag. They refuse it too, saying so, and change nothing."""
    long = "Grandma's 80th birthday party at the lake house with all the cousins"  # 68 characters
    photo = photo_factory(family=family, user=alice, tags=["keep"])
    page = client_for(alice).post(reverse("gallery:photo_edit", args=[photo.pk]),
                                  {"title": "t", "description": "", "tags": f"keep, {long}"})
    assert "at most 64 characters" in page.content.decode()
    assert names(photo) == {"keep"}
    response = api.post("/api/v1/photos/bulk/", {"action": "add_tags", "photos": [photo.pk], "tags": [long]},
                        content_type="application/json")
    assert response.status_code == 400 and "64 characters" in str(response.json())  # (the serializer's words)
    response = api.post("/api/v1/photos/", {"family": family.pk, "tags": long,
                                            "file": SimpleUploadedFile("a.jpg", images.jpeg(colour=(1, 2, 3)))})
    assert response.status_code == 400 and "at most 64 characters" in str(response.json())
    assert names(photo) == {"keep"} and not Tag.objects.filter(name__startswith="Grandma").exists()
    assert Photo.objects.count() == 1


def test_the_admin_refuses_a_tag_name_with_a_comma(root, family, alice):
    tag = Tag.objects.create(family=family, name="Sea")
    response = root.post(reverse("admin:gallery_tag_change", args=[tag.pk]), {"name": "Sea, sand"})
    assert response.status_code == 200 and "can&#x27;t contain a comma" in response.content.decode()
    assert Tag.objects.get(pk=tag.pk).name == "Sea"


def test_the_admin_add_tag_action_refuses_a_comma(root, family, alice):
    from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME

    photo = photo_factory(family=family, user=alice)
    response = root.post(reverse("admin:gallery_photo_changelist"),
                         {"action": "add_tag", ACTION_CHECKBOX_NAME: [photo.pk], "apply": "1", "tag": "a, b"})
    assert response.status_code == 200 and "comma" in response.content.decode()
    assert names(photo) == set()


def test_a_suggestion_concept_named_with_a_comma_is_refused(root, family):
    response = root.post(reverse("admin:search_tagconcept_add"), {"name": "dog, cat", "prompt": "", "enabled": "on"})
    assert response.status_code == 200 and "comma" in response.content.decode()
    assert not TagConcept.objects.filter(name__contains=",").exists()


def test_a_suggestion_concepts_prompt_is_checked_as_other_typed_text(root, family):
    """A concept's prompt (what the image model is asked, shown in the admin's list) took any text: a control character
    or a direction override ("\u202egod" shows as "dog") was kept. It follows the rule of every text people type: refused
    with its code named, nothing saved; a line break is a space as before."""
    for prompt, code in (("a dog\x07", "U+0007"), ("a \u202egod", "U+202E")):
        response = root.post(reverse("admin:search_tagconcept_add"), {"name": "pup", "prompt": prompt,
                                                                       "enabled": "on"})
        assert response.status_code == 200 and code in response.content.decode()
    assert not TagConcept.objects.filter(name="pup").exists()
    root.post(reverse("admin:search_tagconcept_add"), {"name": "pup", "prompt": "a small\ndog", "enabled": "on"})
    assert TagConcept.objects.get(name="pup").prompt == "a small dog"


def test_a_suggestion_concepts_prompt_is_checked_by_its_field_as_its_name_is(family):
    """The rule is the model field's (NoControlCharacters, as the concept's name has), not a line of the admin's form:
    any form made over the model checks it, with the prompt named."""
    for prompt, code in (("a dog\x07", "U+0007"), ("a \u202egod", "U+202E")):
        with pytest.raises(ValidationError) as refused:
            TagConcept(family=family, name="pup", prompt=prompt).full_clean()
        assert list(refused.value.message_dict) == ["prompt"] and code in refused.value.message_dict["prompt"][0]
    TagConcept(family=family, name="pup", prompt="a \u2066small\u2069 dog").full_clean()


def test_embedded_keywords_with_commas_are_as_many_tags_and_lose_control_characters(family, alice):
    data = images.with_metadata(images.jpeg(colour=(9, 99, 199)), iptc={
        "Iptc.Application2.Keywords": ["Beach, Summer", f"Grand{BELL}ma"],
        "Iptc.Application2.Caption": f"A caption{BELL}\nsecond line",
        "Iptc.Application2.Headline": f"Title{BELL}",
    })
    photo = photo_factory(family=family, user=alice, data=data)
    assert names(photo) == {"Beach", "Summer", "Grandma"}
    photo.refresh_from_db()
    assert photo.description == "A caption\nsecond line" and photo.title == "Title"


# --- d. control characters ------------------------------------------------------------------------------------------


def test_a_family_name_with_a_control_character_is_refused_on_the_page(client_for, family, alice):
    response = client_for(alice).post(reverse("gallery:families"), {"name": f"The{BELL} Smiths"})
    assert "control characters" in response.content.decode() and "U+0007" in response.content.decode()
    assert not Family.objects.filter(name__contains=BELL).exists()


def test_the_service_refuses_and_tabs_are_spaces(alice):
    with pytest.raises(Exception, match="control characters"):
        family_create(name=f"Esc\x1b[31m", admin=alice)
    assert family_create(name="Tab\tbed", admin=alice).name == "Tab bed"


def test_the_admin_refuses_a_family_name_with_a_control_character(root, family, alice):
    response = root.get(reverse("admin:gallery_family_change", args=[family.pk]))
    assert response.status_code == 200
    form = {"name": f"Smiths{BELL}", "memberships-TOTAL_FORMS": "0", "memberships-INITIAL_FORMS": "0"}
    response = root.post(reverse("admin:gallery_family_change", args=[family.pk]), form)
    assert response.status_code == 200 and "control characters" in response.content.decode()
    assert Family.objects.get(pk=family.pk).name == "Smiths"


@pytest.mark.parametrize(("field", "value"), [("title", f"A{BELL}"), ("description", f"x\x1b"),
                                               ("tags", [f"t{BELL}"])])
def test_the_photo_api_refuses_control_characters(api, family, alice, field, value):
    photo = photo_factory(family=family, user=alice)
    response = api.patch(f"/api/v1/photos/{photo.pk}/", {field: value}, content_type="application/json")
    assert response.status_code == 400 and "control characters" in str(response.json()[field])


def test_a_description_keeps_its_lines_and_a_title_is_one_line(family, alice):
    photo = photo_factory(family=family, user=alice)
    photo_update(photo=photo, title="Two\nlines", description="first\n\tsecond")
    photo.refresh_from_db()
    assert (photo.title, photo.description) == ("Two lines", "first\n\tsecond")


def test_the_photo_page_refuses_control_characters_beside_the_field(client_for, family, alice):
    photo = photo_factory(family=family, user=alice, tags=["keep"])
    response = client_for(alice).post(reverse("gallery:photo_edit", args=[photo.pk]),
                                      {"title": f"T{BELL}", "description": "", "tags": "keep"})
    assert response.status_code == 200 and "U+0007" in response.content.decode()
    assert Photo.objects.get(pk=photo.pk).title != f"T{BELL}"


def test_albums_refuse_control_characters_on_the_page_and_the_api(api, client_for, family, alice):
    response = api.post("/api/v1/albums/", {"family": family.pk, "name": f"Trip{BELL}"},
                        content_type="application/json")
    assert response.status_code == 400 and "control characters" in str(response.json())
    page = client_for(alice).post(reverse("gallery:albums"), {"family": family.pk, "name": f"Trip{BELL}"})
    assert "control characters" in page.content.decode()
    assert not Album.objects.filter(name__contains=BELL).exists()


@pytest.mark.parametrize("name", ["\u200b", "\ufeff \u2060", "\u202e\u00ad"])
def test_a_name_of_nothing_but_invisible_marks_is_no_name(api, client_for, family, alice, name):
    """A zero-width space pasted alone (or a byte-order mark, a direction override) made a family, an album or a tag
    whose name shows as nothing: its link on the families page was not there to click. It is blank, as spaces are."""
    page = client_for(alice).post(reverse("gallery:families"), {"name": name})
    assert "A family needs a name." in page.content.decode()
    assert Family.objects.count() == 1
    response = api.post("/api/v1/albums/", {"family": family.pk, "name": name}, content_type="application/json")
    assert response.status_code == 400 and not Album.objects.exists()
    photo = photo_factory(family=family, user=alice)
    photo_update(photo=photo, tags=["beach", name])
    assert list(PhotoTag.objects.filter(photo=photo).values_list("tag__name", flat=True)) == ["beach"]


def test_names_of_nothing_but_invisible_marks_stored_before_are_named_again(client_for, family, alice):
    """A family or album named only with invisible marks before they counted as blank (a6083cb) showed as nothing,
    and its "type its name to confirm" could not be typed: a family could not be deleted without renaming it first.
    Migration 0040 names them by their number; such a tag goes, and such a title is empty (the file's name shows)."""
    import importlib

    from django.apps import apps

    from search.metadata import documents_outdated_refresh
    from search.models import PhotoDocument

    hidden = Family.objects.create(name="\u200b")
    Family.objects.filter(pk=family.pk).update(name="Smiths\u200b")  # a mark among letters: kept as it is
    album = Album.objects.create(family=family, name="\ufeff \u2060", created_by=alice)
    photo = photo_factory(family=family, user=alice, filename="beach.jpg")
    photo_update(photo=photo, tags=["beach"])
    blank_tag = Tag.objects.create(family=family, name="\u202e\u00ad")
    PhotoTag.objects.create(photo=photo, tag=blank_tag)
    Photo.objects.filter(pk=photo.pk).update(title="\u200b", title_source="member")
    PhotoDocument.objects.filter(photo=photo).delete()
    documents_outdated_refresh()
    assert PhotoDocument.objects.filter(photo=photo).exists()

    importlib.import_module("gallery.migrations.0040_name_invisible_names").name_invisible_names(apps, None)

    assert Family.objects.get(pk=hidden.pk).name == f"Family {hidden.pk}"
    assert Family.objects.get(pk=family.pk).name == "Smiths\u200b"
    assert Album.objects.get(pk=album.pk).name == f"Album {album.pk}"
    assert list(PhotoTag.objects.filter(photo=photo).values_list("tag__name", flat=True)) == ["beach"]
    assert not Tag.objects.filter(pk=blank_tag.pk).exists()
    photo.refresh_from_db()
    assert (photo.title, photo.title_source) == ("", "")
    assert not PhotoDocument.objects.filter(photo=photo).exists() and documents_outdated_refresh() == 1
    # The family can now be deleted by typing its name.
    Membership.objects.create(family=hidden, user=alice, role=Membership.Role.ADMIN)
    client_for(alice).post(reverse("gallery:family_delete", args=[hidden.pk]), {"name": f"Family {hidden.pk}"})
    assert Family.objects.get(pk=hidden.pk).deleting_since is not None


def test_usernames_with_control_characters_are_refused():
    from django.core.exceptions import ValidationError

    from gallery.services import user_create

    with pytest.raises(ValidationError):
        user_create(username=f"eve{BELL}", password="correct horse battery")


def test_a_file_name_with_control_characters_gives_a_clean_title(family, alice):
    photo = photo_factory(family=family, user=alice, filename=f"beach{BELL}day.jpg")
    assert Photo.objects.get(pk=photo.pk).title == "beachday"
    assert PhotoTag.objects.filter(photo=photo).count() == 0
    # A tab or a line break in the name parts its words, as a space would (trial29: "beachday").
    for n, name in enumerate(("beach\tday.jpg", "beach\nday.jpg", "beach\r\n day.jpg")):
        photo = photo_factory(family=family, user=alice, filename=name)
        assert Photo.objects.get(pk=photo.pk).title == "beach day"


# --- b. re-uploading a photo that is in the trash -------------------------------------------------------------------


def test_a_reupload_of_a_trashed_photo_brings_it_back_with_the_new_tags_and_description(family, alice, bob):
    from gallery.services import UploadResult, photo_create_from_bytes
    from gallery.trash_services import photos_trash

    data = images.jpeg(colour=(4, 5, 6), size=(40, 30))
    photo = photo_factory(family=family, user=alice, data=data, tags=["beach"])
    photos_trash(user=alice, photo_ids=[photo.pk])
    result = photo_create_from_bytes(family=family, uploaded_by=bob, data=data, filename="again.jpg",
                                     tags=["Holiday", "BEACH"], description="Grandma's birthday")
    assert result.outcome == UploadResult.RESTORED and "trash" in result.reason
    photo = Photo.objects.get(pk=photo.pk)
    assert names(photo) == {"beach", "Holiday"} and photo.description == "Grandma's birthday"
    assert PhotoTag.objects.get(photo=photo, tag__name="Holiday").added_by == bob


def test_a_restored_photos_own_description_is_kept_and_the_upload_says_so(api, family, alice):
    from gallery.trash_services import photos_trash
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = images.jpeg(colour=(7, 8, 9), size=(40, 30))
    photo = photo_factory(family=family, user=alice, data=data, description="Written before")
    photos_trash(user=alice, photo_ids=[photo.pk])
    response = api.post("/api/v1/photos/", {"family": family.pk, "tags": "sea, sun", "description": "New words",
                                            "file": SimpleUploadedFile("a.jpg", data)})
    assert response.status_code == 200, response.content
    assert set(response.json()["tags"]) == {"sea", "sun"}
    assert Photo.objects.get(pk=photo.pk).description == "Written before"


def test_the_upload_page_says_a_photo_came_back_from_the_trash_with_its_new_tags(client_for, family, alice):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from gallery.trash_services import photos_trash

    data = images.jpeg(colour=(10, 11, 12), size=(40, 30))
    photo = photo_factory(family=family, user=alice, data=data)
    photos_trash(user=alice, photo_ids=[photo.pk])
    page = client_for(alice).post(reverse("gallery:upload"), {"family": family.pk, "tags": "found again",
                                                              "files": [SimpleUploadedFile("a.jpg", data)]})
    assert "Restored from the trash" in page.content.decode()
    assert names(photo) == {"found again"}


def test_a_plain_duplicate_says_its_tags_were_not_applied(family, alice):
    from gallery.services import UploadResult, photo_create_from_bytes

    data = images.jpeg(colour=(13, 14, 15), size=(40, 30))
    photo_factory(family=family, user=alice, data=data)
    result = photo_create_from_bytes(family=family, uploaded_by=alice, data=data, filename="b.jpg", tags=["x"])
    assert result.outcome == UploadResult.DUPLICATE and "not applied" in result.reason


def test_the_migration_renames_old_tags_with_commas_and_merges_into_an_existing_name(family, alice):
    import importlib

    from django.apps import apps

    migration = importlib.import_module("gallery.migrations.0020_tag_names_without_commas")
    one, two = photo_factory(family=family, user=alice, tags=["Smith John"]), photo_factory(family=family, user=alice)
    old = Tag.objects.create(family=family, name="Smith, John")  # as the API let it be written before
    other = Tag.objects.create(family=family, name="a,b")
    PhotoTag.objects.create(photo=one, tag=old)
    PhotoTag.objects.create(photo=two, tag=old)
    PhotoTag.objects.create(photo=two, tag=other)
    migration.rename_tags_with_commas(apps, None)
    assert names(one) == {"Smith John"} and names(two) == {"Smith John", "a b"}
    assert not Tag.objects.filter(name__contains=",").exists()


# --- two members editing one photo -------------------------------------------------------------------------------


def test_a_form_without_what_it_showed_still_saves_everything_typed(client_for, family, alice):
    photo = photo_factory(family=family, user=alice, tags=["beach"])
    client_for(alice).post(reverse("gallery:photo_edit", args=[photo.pk]),
                           {"title": "New", "description": "d", "tags": "sea"})
    photo = Photo.objects.get(pk=photo.pk)
    assert (photo.title, photo.description, names(photo)) == ("New", "d", {"sea"})


# --- direction codes: no override typed, none shown, nothing spilling into the page ------------------------------

RLO = "\u202e"  # right-to-left override: "\u202eevil" shows as "live"
FSI, PDI = "\u2068", "\u2069"  # first-strong isolate … pop directional isolate: what <bdi> does


def test_a_typed_direction_override_is_refused_with_its_code_on_every_path(api, client_for, family, alice):
    photo = photo_factory(family=family, user=alice, tags=["keep"])
    page = client_for(alice).post(reverse("gallery:photo_edit", args=[photo.pk]),
                                  {"title": f"{RLO}evil", "description": "", "tags": "keep"})
    assert page.status_code == 200 and "direction overrides" in page.content.decode()
    assert "U+202E" in page.content.decode()
    response = api.patch(f"/api/v1/photos/{photo.pk}/", {"description": f"see {RLO}txt.exe"},
                         content_type="application/json")
    assert response.status_code == 400 and "U+202E" in str(response.json()["description"])
    response = api.post("/api/v1/albums/", {"family": family.pk, "name": f"Trip{RLO}"},
                        content_type="application/json")
    assert response.status_code == 400 and "direction" in str(response.json())
    page = client_for(alice).post(reverse("gallery:families"), {"name": f"{RLO}shtimS"})
    assert "U+202E" in page.content.decode()
    with pytest.raises(ValidationError, match="U\\+202E"):
        photo_update(photo=photo, tags=[f"{RLO}gat"])
    assert not Album.objects.exists() and not Family.objects.filter(name__contains=RLO).exists()
    photo.refresh_from_db()
    assert RLO not in photo.title + photo.description and names(photo) == {"keep"}


def test_an_isolate_left_open_is_refused_and_one_closed_is_kept_as_are_the_marks(family, alice):
    """Right-to-left writers need the marks (RLM), and chat apps paste names wrapped in isolates: closed, they lay out
    only what they hold. Left open, one reaches past the title into the page."""
    photo = photo_factory(family=family, user=alice)
    with pytest.raises(ValidationError, match="not closed.*U\\+2067"):
        photo_update(photo=photo, title="Trip with \u2067דוד")
    with pytest.raises(ValidationError, match="U\\+2069"):
        family_create(name="Smiths\u2069", admin=alice)
    photo_update(photo=photo, title="Trip with \u2067דוד\u2069 \u200f(2)")
    photo.refresh_from_db()
    assert photo.title == "Trip with \u2067דוד\u2069 \u200f(2)"


def test_text_stored_with_an_override_before_shows_isolated_without_it(client_for, family, alice):
    """A title, album or tag name stored before overrides were refused: each page shows it without its override and
    inside an isolate, so "· 1 photo" and the sentences quoting it read in order after it."""
    photo = photo_factory(family=family, user=alice, tags=["sea"])
    Photo.objects.filter(pk=photo.pk).update(title=f"{RLO}evil")
    Tag.objects.filter(name="sea").update(name=f"{RLO}aes")
    album = album_create(user=alice, family=family, name="Trip")
    album_add_photos(user=alice, album=album, photo_ids=[photo.pk])
    Album.objects.filter(pk=album.pk).update(name=f"{RLO}pirT")
    client = client_for(alice)
    pages = {"photo": client.get(reverse("gallery:photo_detail", args=[photo.pk])).content.decode(),
             "album": client.get(album.get_absolute_url()).content.decode(),
             "albums": client.get(reverse("gallery:albums")).content.decode()}
    for name, html in pages.items():  # (an edit form's field holds the text as stored: saved, it says the code)
        assert RLO not in re.sub(r'value="[^"]*"', "", html), name
    assert f"{FSI}evil{PDI}" in pages["photo"] and f"{FSI}aes{PDI}" in pages["photo"]
    assert f"<h1>{FSI}pirT{PDI}</h1>" in pages["album"] and f"{FSI}pirT{PDI}</a>" in pages["albums"]
    trashed = client.post(reverse("gallery:photo_delete", args=[photo.pk]), follow=True).content.decode()
    assert f"Moved “{FSI}evil{PDI}” to the trash" in trashed and RLO not in trashed


def test_direction_codes_stored_before_they_were_refused_are_taken_out_by_the_migration(client_for, family, alice):
    """Text stored before overrides and unclosed codes were refused showed reversed in its own edit field (a form input
    can't be isolated), and saving the form refused it until the member found the invisible code. Migration 0044
    takes out what the rule refuses (direction_codes_loose) from every field the rule covers, and keeps the codes a
    person may type (closed isolates, the marks): two tags that become one name are merged, as 0020 merged names
    with commas, and the changed photos' search documents go for the sweep to rebuild."""
    import importlib
    from datetime import timedelta

    from django.apps import apps
    from django.utils import timezone

    from gallery.models import AlbumShare, Invite, RemovedTag, TagSuggestion
    from gallery.text import control_characters_refuse
    from search.metadata import documents_outdated_refresh
    from search.models import PhotoDocument

    one = photo_factory(family=family, user=alice, tags=["sea", "\u2067דוד\u2069"])
    two = photo_factory(family=family, user=alice)
    blank = photo_factory(family=family, user=alice)
    kept = photo_factory(family=family, user=alice, tags=["kept"])
    Photo.objects.filter(pk=one.pk).update(title=f"{RLO}evil", title_source="member",
                                           description=f"Line {RLO}one\nwith \u2066x\u2069 and \u202b\u05d0")
    Photo.objects.filter(pk=blank.pk).update(title=f"{RLO} \u2069", title_source="member")
    Photo.objects.filter(pk=kept.pk).update(title="Trip with \u2067דוד\u2069 \u200f(2)", title_source="member")
    dirty = Tag.objects.create(family=family, name=f"{RLO}Sea")  # "sea" once the override goes: one tag
    PhotoTag.objects.create(photo=one, tag=dirty)
    PhotoTag.objects.create(photo=two, tag=dirty)
    lone = Tag.objects.create(family=family, name=f"{RLO}aes  \u2066")
    PhotoTag.objects.create(photo=two, tag=lone)
    RemovedTag.objects.create(photo=two, name=f"{RLO}x")
    TagSuggestion.objects.create(photo=one, name="Dog", probability=0.9, model_name="m")
    TagSuggestion.objects.create(photo=one, name=f"{RLO}dog", probability=0.8, model_name="m")
    TagSuggestion.objects.create(photo=two, name=f"cat{RLO}", probability=0.8, model_name="m")
    Family.objects.filter(pk=family.pk).update(name=f"{RLO}shtimS")
    hidden = Family.objects.create(name="\u2066 \u202d")
    album = album_create(user=alice, family=family, name="Trip")
    Album.objects.filter(pk=album.pk).update(name=f"Trip\u2067", description=f"{RLO}sey\n\u2068ok\u2069")
    week = timezone.now() + timedelta(days=7)
    invite = Invite.objects.create(family=family, note=f"{RLO}nimda", token_hash="a" * 64, expires_at=week)
    share = AlbumShare.objects.create(album=album, note=f"Gran\u202c", token_hash="b" * 64, expires_at=week)
    PhotoDocument.objects.all().delete()
    documents_outdated_refresh()

    importlib.import_module("gallery.migrations.0044_direction_codes_stored_before").direction_codes_out(apps, None)

    one.refresh_from_db(), blank.refresh_from_db(), kept.refresh_from_db()
    assert (one.title, one.title_source) == ("evil", "member")
    assert one.description == "Line one\nwith \u2066x\u2069 and \u05d0"
    assert (blank.title, blank.title_source) == ("", "")
    assert kept.title == "Trip with \u2067דוד\u2069 \u200f(2)"  # closed isolates and marks are the writer's
    assert names(one) == {"sea", "\u2067דוד\u2069"} and names(two) == {"sea", "aes"}
    assert not Tag.objects.filter(pk=dirty.pk).exists() and Tag.objects.get(pk=lone.pk).name == "aes"
    assert list(RemovedTag.objects.filter(photo=two).values_list("name", flat=True)) == ["x"]
    assert sorted(TagSuggestion.objects.values_list("photo_id", "name")) == [(one.pk, "Dog"), (two.pk, "cat")]
    assert Family.objects.get(pk=family.pk).name == "shtimS"
    assert Family.objects.get(pk=hidden.pk).name == f"Family {hidden.pk}"
    album.refresh_from_db()
    assert (album.name, album.description) == ("Trip", "sey\n\u2068ok\u2069")
    assert Invite.objects.get(pk=invite.pk).note == "nimda" and AlbumShare.objects.get(pk=share.pk).note == "Gran"
    # What is left passes the rule the pages apply.
    for text in [one.title, kept.title, album.name, *Tag.objects.values_list("name", flat=True),
                 *Family.objects.values_list("name", flat=True)]:
        control_characters_refuse(text, what="A name")
    control_characters_refuse(one.description, what="A description", multiline=True)
    # The changed photos' documents go, for the sweep to rebuild them; the others stay.
    assert set(PhotoDocument.objects.values_list("photo_id", flat=True)) == {kept.pk}
    assert documents_outdated_refresh() == 3
    # The photo's own edit form saves as it shows it now.
    client_for(alice).post(reverse("gallery:photo_edit", args=[one.pk]),
                           {"title": one.title, "description": "d", "tags": "sea"})
    assert Photo.objects.get(pk=one.pk).description == "d"


@pytest.mark.parametrize("chunk", [2000, 2])  # (2: five photos read, changed and their documents gone in three goes)
def test_file_names_stored_before_they_were_cleaned_are_cleaned_by_the_migration(family, alice, chunk, monkeypatch):
    """A file's name loses its control characters and invisible marks (overrides, isolates, a byte-order mark, a
    zero-width space) and has its accents composed since e253975 (services.upload_filename), but a name stored before
    kept them: shown isolated, never cleaned, so "IMG\u202egpj.exe" still read turned around wherever a page could not
    isolate it (a form's field, a download's name). Migration 0045 puts every stored name through upload_filename, the
    photos in the trash too; the title made from a name (nobody's) follows it, a title someone wrote stays; the changed
    photos' search documents go for the sweep to rebuild them."""
    import importlib

    from django.apps import apps
    from django.utils import timezone

    from gallery.services import upload_filename
    from search.metadata import documents_outdated_refresh
    from search.models import PhotoDocument

    rlo = photo_factory(family=family, user=alice)
    marks = photo_factory(family=family, user=alice)
    written = photo_factory(family=family, user=alice)
    trashed = photo_factory(family=family, user=alice)
    clean = photo_factory(family=family, user=alice)
    Photo.objects.filter(pk=rlo.pk).update(original_filename=f"IMG{RLO}gpj.exe.jpg", title=f"IMG{RLO}gpj.exe",
                                           title_source="")
    Photo.objects.filter(pk=marks.pk).update(original_filename="\ufeffbeach\u200b day\x07.jpg",
                                             title="\ufeffbeach\u200b day", title_source="")
    Photo.objects.filter(pk=written.pk).update(original_filename="E\u0301cole\u2066.jpg", title="Our school",
                                               title_source="member")
    Photo.all_objects.filter(pk=trashed.pk).update(original_filename=f"{RLO}old.jpg", title="",
                                                   trashed_at=timezone.now())
    Photo.objects.filter(pk=clean.pk).update(original_filename="IMG_0001.jpg", title="IMG 0001", title_source="")
    PhotoDocument.objects.all().delete()
    documents_outdated_refresh()

    migration = importlib.import_module("gallery.migrations.0045_file_names_stored_before_cleaned")
    monkeypatch.setattr(migration, "CHUNK", chunk)
    migration.file_names_cleaned(apps, None)

    stored = {pk: (name, title, source) for pk, name, title, source in Photo.all_objects.values_list(
        "pk", "original_filename", "title", "title_source")}
    assert stored == {rlo.pk: ("IMGgpj.exe.jpg", "IMGgpj.exe", ""), marks.pk: ("beach day.jpg", "beach day", ""),
                      written.pk: ("\u00c9cole.jpg", "Our school", "member"), trashed.pk: ("old.jpg", "", ""),
                      clean.pk: ("IMG_0001.jpg", "IMG 0001", "")}
    assert all(upload_filename(name) == name for name, _, _ in stored.values())  # as new input is stored
    assert set(PhotoDocument.objects.values_list("photo_id", flat=True)) == {clean.pk}
    assert documents_outdated_refresh() == 3  # (the one in the trash has none)


def test_the_admin_shows_text_without_the_codes_that_turn_it_around(root, family, alice):
    """The Django admin printed stored text as it is: a title "\u202eevil" read "live" in the change list, and a tag
    list "beach, \u202eaes, 海" turned around after the override ("beach, 海 ,sea"); a file name imported before
    e253975 likewise, and the page's title ("evil | Change photo | …" reversed whole). Each cell of a change list shows its
    text without the overrides and unclosed codes (text_isolated's rule: a cell is a paragraph of its own, so it
    reaches no other column), and the page title and heading naming the object isolate it."""
    photo = photo_factory(family=family, user=alice, tags=["beach", "sea", "海"])
    named = photo_factory(family=family, user=alice)
    hebrew = photo_factory(family=family, user=alice)
    Photo.objects.filter(pk=photo.pk).update(title=f"{RLO}evil")
    Photo.objects.filter(pk=named.pk).update(original_filename=f"IMG{RLO}gpj.exe.jpg", title="")
    Photo.objects.filter(pk=hebrew.pk).update(title="טיול \u2067דוד\u2069 (2)")
    Tag.objects.filter(name="sea").update(name=f"{RLO}aes")

    def results(name: str) -> str:
        page = root.get(reverse(f"admin:{name}_changelist")).content.decode()
        start = page.index('<table id="result_list">')
        return page[start:page.index("</table>", start)]

    rows = results("gallery_photo")
    assert ">evil</a>" in rows and "beach, aes, 海" in rows and RLO not in rows
    assert "טיול \u2067דוד\u2069 (2)" in rows  # closed codes are the writer's: kept
    rows = results("search_indexedphoto")
    assert "IMGgpj.exe.jpg" in rows and RLO not in rows
    rows = results("gallery_tag")
    assert ">aes</a>" in rows and RLO not in rows

    page = root.get(reverse("admin:gallery_photo_change", args=[photo.pk])).content.decode()
    assert f"<title>{FSI}evil{PDI} | Change photo |" in page and f"<h2>{FSI}evil{PDI}</h2>" in page


def test_the_admin_names_an_object_isolated_in_its_breadcrumbs_delete_pages_messages_and_recent_actions(
        root, family, alice):
    """Beyond its change lists and page titles, the Django admin printed the names of objects as stored: a tag
    "\u202eaes" read "sea" turned around (and turned what followed) in the breadcrumbs of its change, history and
    delete pages, in "Are you sure you want to delete the tag …?" and the list of what goes with it, in the bulk delete's
    list, in "The tag … was deleted successfully." and in the index's "Recent actions", whose entries keep the name as
    it was at the time (LogEntry.object_repr). Each names it isolated (the `isolated` filter), or, alone on its line
    (a list's item, a message), without the codes that turn it around, as the change list's cells do."""
    from django.contrib.admin.models import LogEntry

    photo = photo_factory(family=family, user=alice, tags=["sea", "sky"])
    Photo.objects.filter(pk=photo.pk).update(title=f"{RLO}evil")
    Family.objects.filter(pk=family.pk).update(name=f"{RLO}shtimS")
    sea, sky = Tag.objects.get(name="sea"), Tag.objects.get(name="sky")
    Tag.objects.filter(pk=sea.pk).update(name=f"{RLO}aes")
    Tag.objects.filter(pk=sky.pk).update(name=f"{RLO}yks")

    def breadcrumbs(url: str) -> str:
        page = root.get(url).content.decode()
        start = page.index('<div class="breadcrumbs">')
        return page[start:page.index("</div>", start)]

    for view, pk, shown in (("gallery_photo", photo.pk, "evil"), ("gallery_family", family.pk, "shtimS"),
                            ("gallery_tag", sea.pk, "aes")):
        for kind in ("change", "history", "delete"):
            crumbs = breadcrumbs(reverse(f"admin:{view}_{kind}", args=[pk]))
            assert f"{FSI}{shown}{PDI}" in crumbs and RLO not in crumbs, (view, kind)

    page = root.get(reverse("admin:gallery_tag_delete", args=[sea.pk])).content.decode()
    assert f"Delete the tag “{FSI}aes{PDI}”?" in page and RLO not in page  # (a tag's own question)
    page = root.get(reverse("admin:gallery_family_delete", args=[family.pk])).content.decode()
    assert f"delete the family \"{FSI}shtimS{PDI}\"?" in page and RLO not in page  # (Django's question)
    assert ">shtimS</a>" in page  # the list of what goes with it
    page = root.post(reverse("admin:gallery_tag_changelist"), {
        "action": "delete_selected", "_selected_action": [sky.pk]}).content.decode()
    assert ">yks</a>" in page and RLO not in page

    page = root.post(reverse("admin:gallery_tag_delete", args=[sea.pk]), {"post": "yes"}, follow=True)
    assert "The tag “aes” was deleted successfully." in page.content.decode()
    assert RLO not in page.content.decode()
    assert LogEntry.objects.get(object_id=str(sea.pk)).object_repr == f"{RLO}aes"  # (as Django keeps it)
    page = root.get(reverse("admin:index")).content.decode()
    assert f"{FSI}aes{PDI}" in page and RLO not in page


def test_the_admins_change_and_history_pages_name_related_objects_without_the_codes_that_turn_them_around(
        root, family, alice):
    """A tag's change page showed its family, read-only, as stored ("\u202eshtimS" read "Smiths"), a family's page each
    membership's row as "alice in \u202eshtimS (admin)", and a history page its title "Change history: \u202eaes" (the
    page's <title> and heading) reversed after the colon. A read-only value and an inline's row name (each a block of
    its own) lose the codes that turn text around, as a change list's cell does; the title is isolated."""
    tag = Tag.objects.create(family=family, name="sea")
    Family.objects.filter(pk=family.pk).update(name=f"{RLO}shtimS")
    Tag.objects.filter(pk=tag.pk).update(name=f"{RLO}aes")

    def shown(url: str) -> str:  # (a form's fields hold the text as stored: not shown text)
        return re.sub(r'value="[^"]*"', "", root.get(url).content.decode())

    page = shown(reverse("admin:gallery_tag_change", args=[tag.pk]))
    assert ">shtimS</a></div>" in page and RLO not in page
    page = shown(reverse("admin:gallery_family_change", args=[family.pk]))
    assert "alice in shtimS (admin)" in page and RLO not in page
    page = shown(reverse("admin:gallery_tag_history", args=[tag.pk]))
    assert f"<h1>{FSI}Change history: aes{PDI}</h1>" in page and RLO not in page


def test_the_admins_choices_of_a_family_name_it_isolated(root, family, alice):
    """The family picker of the admin's add forms (a tag, a suggestion concept) offered "\u202eshtimS", which reads
    "Smiths": an <option> names its object isolated, as the gallery's pickers do."""
    Family.objects.filter(pk=family.pk).update(name=f"{RLO}shtimS")
    for url in (reverse("admin:gallery_tag_add"), reverse("admin:search_tagconcept_add")):
        page = root.get(url).content.decode()
        assert f'<option value="{family.pk}">{FSI}shtimS{PDI}</option>' in page and RLO not in page


def test_a_file_name_stored_with_an_override_before_shows_isolated_without_it(client_for, family, alice):
    """A file's name loses its direction codes since e253975, but one imported before keeps them: the photo page showed
    it raw, as its heading when it has no title and beside "File", so "IMG<U+202E>1234.jpg" read "IMGgpj.4321" and
    turned around what came after it. It is shown as every other text of people's is (the `isolated` filter)."""
    photo = photo_factory(family=family, user=alice)
    Photo.objects.filter(pk=photo.pk).update(original_filename=f"IMG{RLO}1234.jpg", title="")
    html = client_for(alice).get(reverse("gallery:photo_detail", args=[photo.pk])).content.decode()
    assert RLO not in re.sub(r'value="[^"]*"', "", html)
    assert f'<h1 class="photo-title">{FSI}IMG1234.jpg{PDI}</h1>' in html and f"<dd>{FSI}IMG1234.jpg{PDI}</dd>" in html
