"""Tags remember where they came from: typed by a member, embedded in the file, an accepted suggestion."""

from __future__ import annotations

import logging

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.urls import reverse

from gallery.models import PhotoTag
from gallery.services import MAX_TAGS, photo_tags_add, photo_update, photos_tag_add
from tests.factories import photo_factory
from tests.queries import name_key_reads


def sources(photo) -> dict[str, str]:
    return {link.tag.name: link.source for link in PhotoTag.objects.filter(photo=photo).select_related("tag")}


@pytest.mark.django_db
def test_tags_typed_at_upload_are_the_members(family, alice):
    photo = photo_factory(family=family, user=alice, tags=["Beach"])
    link = PhotoTag.objects.get(photo=photo)
    assert (link.tag.name, link.source, link.added_by) == ("Beach", "member", alice)
    assert link.added_at is not None


@pytest.mark.django_db
def test_embedded_tag_becomes_the_members_when_a_member_types_it(family, alice):
    photo = photo_factory(family=family, user=alice)
    photo_tags_add(photo=photo, names=["Lisbon", "Sea"], source=PhotoTag.Source.EMBEDDED)
    assert sources(photo) == {"Lisbon": "embedded", "Sea": "embedded"}
    photos_tag_add(photos=[photo], name="lisbon", user=alice)
    assert sources(photo) == {"Lisbon": "member", "Sea": "embedded"}
    assert PhotoTag.objects.get(photo=photo, tag__name="Lisbon").added_by == alice


@pytest.mark.django_db
def test_a_members_tag_is_never_demoted(family, alice):
    photo = photo_factory(family=family, user=alice, tags=["Sea"])
    photo_tags_add(photo=photo, names=["SEA"], source=PhotoTag.Source.EMBEDDED)
    photo_tags_add(photo=photo, names=["sea"], source=PhotoTag.Source.SUGGESTION)
    assert sources(photo) == {"Sea": "member"}
    photo_tags_add(photo=photo, names=["Dog"], source=PhotoTag.Source.EMBEDDED)
    photo_tags_add(photo=photo, names=["dog"], source=PhotoTag.Source.SUGGESTION, user=alice)
    assert sources(photo) == {"Sea": "member", "Dog": "suggestion"}


@pytest.mark.django_db
def test_editing_the_tag_list_keeps_the_sources_of_kept_tags(family, alice):
    photo = photo_factory(family=family, user=alice, tags=["Sea"])
    photo_tags_add(photo=photo, names=["Lisbon", "Tram"], source=PhotoTag.Source.EMBEDDED)
    photo_update(photo=photo, tags=["Sea", "Lisbon", "Friends"], user=alice)
    assert sources(photo) == {"Sea": "member", "Lisbon": "embedded", "Friends": "member"}


@pytest.mark.django_db
def test_embedded_keywords_past_the_limit_are_trimmed_with_a_log_line(family, alice, caplog):
    photo = photo_factory(family=family, user=alice, tags=["Mine"])
    names = [f"keyword {i}" for i in range(MAX_TAGS + 20)]
    with caplog.at_level(logging.INFO, logger="gallery.services"):
        photo_tags_add(photo=photo, names=names, source=PhotoTag.Source.EMBEDDED)
    assert photo.tags.count() == MAX_TAGS
    assert "past the 50-tag limit" in caplog.text
    with pytest.raises(ValidationError):
        photo_tags_add(photo=photo, names=names, source=PhotoTag.Source.MEMBER)
    with pytest.raises(ValidationError):
        photo_tags_add(photo=photo, names=["x"], source="robot")


@pytest.mark.django_db
def test_admin_edit_keeps_embedded_tags_and_adds_the_members(client_for, family, alice):
    from django.contrib.auth import get_user_model

    root = get_user_model().objects.create_superuser("root", password="pw-pw-pw-123")
    photo = photo_factory(family=family, user=alice, tags=["Sea"])
    [lisbon] = photo_tags_add(photo=photo, names=["Lisbon"], source=PhotoTag.Source.EMBEDDED)
    [sea] = list(photo.tags.filter(name="Sea"))
    client = client_for(root)
    page = client.get(reverse("admin:gallery_photo_change", args=[photo.pk]))
    assert page.status_code == 200 and "Lisbon" in page.content.decode()
    response = client.post(reverse("admin:gallery_photo_change", args=[photo.pk]),
                           {"title": "T", "description": "", "photo_tags": [lisbon.pk]})
    assert response.status_code == 302
    assert sources(photo) == {"Lisbon": "embedded"}
    assert sea.pk  # removed from the photo, the family's tag stays


@pytest.mark.django_db
def test_embedded_keywords_the_photo_already_has_take_no_room(family, alice):
    photo = photo_factory(family=family, user=alice, tags=[f"mine {i}" for i in range(MAX_TAGS - 1)])
    photo_tags_add(photo=photo, names=["MINE 0", "New"], source=PhotoTag.Source.EMBEDDED)
    assert photo.tags.count() == MAX_TAGS
    assert sources(photo)["New"] == "embedded" and sources(photo)["mine 0"] == "member"


# What the family's unique index of tag names (their case folding: gallery.name_fold) counts as one name:
# "İstanbul" and "istanbul" are one (Python's str.lower() reads "i̇stanbul", two code points); so are "ΟΔΟΣ" and "οδος"
# (Python's lower() and PostgreSQL's lower() kept them apart, "οδος" and "οδοσ"), and "STRASSE" and "Straße"; "Café"
# and "Cafe" are two, as an accent is no letter case.
ONE_NAME = [("İstanbul", "istanbul"), ("istanbul", "İSTANBUL"), ("ΟΔΟΣ", "οδος"), ("STRASSE", "Straße")]
TWO_NAMES = [("Café", "Cafe"), ("Straße", "Strase")]


@pytest.mark.django_db
@pytest.mark.parametrize("removed, given", ONE_NAME)
def test_a_tag_taken_off_is_not_put_back_by_the_file_in_another_case(family, alice, removed, given):
    """RemovedTag was compared by Python's str.lower(): "istanbul" taken off a photo came back when the file gave
    "İstanbul", the very tag to the index (and to search)."""
    from gallery.services import photos_tag_remove

    photo = photo_factory(family=family, user=alice, tags=[removed])
    assert photos_tag_remove(photos=[photo], name=removed, user=alice) == 1
    assert photo_tags_add(photo=photo, names=[given], source=PhotoTag.Source.EMBEDDED) == []
    assert sources(photo) == {}
    photo_update(photo=photo, tags=[given], user=alice)  # a member may still add it again
    assert sources(photo) == {removed: "member"}


@pytest.mark.django_db
@pytest.mark.parametrize("removed, given", TWO_NAMES)
def test_a_tag_taken_off_does_not_keep_another_name_off(family, alice, removed, given):
    """"οδος" is no name the member took off when they removed "ΟΔΟΣ": the file's "οδος" is a tag of its own to the
    index (and to search), and was kept off as if it were that one."""
    photo = photo_factory(family=family, user=alice, tags=[removed])
    photo_update(photo=photo, tags=[], user=alice)
    photo_tags_add(photo=photo, names=[removed, given], source=PhotoTag.Source.EMBEDDED)
    assert sources(photo) == {given: "embedded"}


@pytest.mark.django_db
@pytest.mark.parametrize("first, again", ONE_NAME)
def test_a_name_typed_twice_in_another_case_is_one_tag(family, alice, first, again):
    """Python's lower() kept "İstanbul" and "istanbul" apart, the index made one tag of them: the two counted twice
    against the limit (49 names and these two were "At most 50 tags"), and the photo's edit read as a change."""
    from gallery.services import tags_clean

    assert tags_clean([first, again]) == [first]
    others = [f"tag {i}" for i in range(MAX_TAGS - 1)]
    photo = photo_factory(family=family, user=alice, tags=[*others, first, again])
    assert sorted(sources(photo)) == sorted([*others, first])
    photo_tags_add(photo=photo, names=[again], source=PhotoTag.Source.EMBEDDED)  # the photo has it: takes no room
    assert sorted(sources(photo)) == sorted([*others, first])


@pytest.mark.django_db
@pytest.mark.parametrize("first, again", TWO_NAMES)
def test_two_names_the_index_keeps_apart_are_two_tags(family, alice, first, again):
    """"ΟΔΟΣ, οδος" typed together kept only "ΟΔΟΣ" (Python's lower() reads both "οδος"), though the index, a tag
    filter and a removal read two names."""
    from gallery.services import tags_clean

    assert tags_clean([first, again]) == [first, again]
    photo = photo_factory(family=family, user=alice, tags=[first])
    photo_update(photo=photo, tags=[first, again], user=alice)
    assert sources(photo) == {first: "member", again: "member"}
    photo_tags_add(photo=photo, names=[first, again], source=PhotoTag.Source.EMBEDDED)
    assert sources(photo) == {first: "member", again: "member"}


def _full_with(family, alice, name: str):
    """A photo carrying MAX_TAGS tags, `name` from the file among them."""
    photo = photo_factory(family=family, user=alice, tags=[f"tag {i}" for i in range(MAX_TAGS - 1)])
    photo_tags_add(photo=photo, names=[name], source=PhotoTag.Source.EMBEDDED)
    assert photo.tags.count() == MAX_TAGS
    return photo


@pytest.mark.django_db
@pytest.mark.parametrize("have, typed", ONE_NAME)
def test_adding_a_tag_a_full_photo_has_in_another_case_makes_it_the_members(family, alice, have, typed):
    """The admin's bulk action and the selection bar compared the photo's tags by Python's lower(): "İstanbul" was
    no tag of a full photo carrying "istanbul", which was left out ("more than 50 tags") rather than the tag made
    the member's."""
    from gallery.bulk import photos_bulk_apply

    photo = _full_with(family, alice, have)
    assert photos_tag_add(photos=[photo], name=typed, user=alice) == 1
    assert sources(photo)[have] == "member"
    photo_tags_add(photo=photo, names=[have], source=PhotoTag.Source.EMBEDDED)
    [result] = photos_bulk_apply(user=alice, action="add_tags", photo_ids=[photo.pk], tags=[typed])
    assert result.ok and photo.tags.count() == MAX_TAGS and sources(photo)[have] == "member"


@pytest.mark.django_db
@pytest.mark.parametrize("have, typed", TWO_NAMES)
def test_adding_another_name_to_a_full_photo_is_refused(family, alice, have, typed):
    """"οδος" is a tag of its own beside "ΟΔΟΣ": the selection bar read it as one the full photo had and gave the
    photo a 51st tag."""
    from gallery.bulk import photos_bulk_apply

    photo = _full_with(family, alice, have)
    [result] = photos_bulk_apply(user=alice, action="add_tags", photo_ids=[photo.pk], tags=[typed])
    assert not result.ok and "more than 50 tags" in result.reason
    assert photos_tag_add(photos=[photo], name=typed, user=alice) == 0
    assert photo.tags.count() == MAX_TAGS


@pytest.mark.django_db
@pytest.mark.parametrize("before, after, source", [("istanbul", "İstanbul", "embedded"), ("ΟΔΟΣ", "οδος", "embedded"),
                                                   ("STRASSE", "Straße", "embedded"), ("Lisbon", "LISBON", "embedded"),
                                                   ("Café", "Cafe", "member")])
def test_a_tag_renamed_to_the_same_name_in_another_case_stays_the_files(family, alice, before, after, source):
    """A rename that changes letter case alone leaves the tag the file's keyword (the file's name still finds it,
    same_name); one to another name makes it the member's. Python's lower() read "istanbul" to "İstanbul" as a new
    name and "ΟΔΟΣ" to "οδος" as the same one, which the file's "ΟΔΟΣ" no longer finds (a re-read takes it off)."""
    from gallery.services import tag_renamed

    photo = photo_factory(family=family, user=alice)
    [tag] = photo_tags_add(photo=photo, names=[before], source=PhotoTag.Source.EMBEDDED)
    tag.name = after
    tag.save()
    tag_renamed(tag=tag, before=before, user=alice)
    assert sources(photo) == {after: source}


@pytest.mark.django_db
@pytest.mark.parametrize("have, typed", ONE_NAME)
def test_a_trashed_full_photo_uploaded_again_with_a_tag_it_has_in_another_case_says_nothing_was_left_out(
        family, alice, have, typed):
    from gallery.services import UploadResult, photo_create_from_bytes
    from gallery.trash_services import photos_trash
    from tests.images import jpeg

    data = jpeg(colour=(9, 8, 7), size=(40, 30))
    photo = photo_factory(family=family, user=alice, data=data, tags=[f"tag {i}" for i in range(MAX_TAGS - 1)])
    photo_tags_add(photo=photo, names=[have], source=PhotoTag.Source.EMBEDDED)
    photos_trash(user=alice, photo_ids=[photo.pk])
    result = photo_create_from_bytes(family=family, uploaded_by=alice, data=data, filename="again.jpg", tags=[typed])
    assert result.outcome == UploadResult.RESTORED and "not added" not in result.reason
    assert sources(photo)[have] == "member"


@pytest.mark.django_db
def test_a_tag_of_the_longest_name_with_dotted_capital_is_taken_off_without_a_500(family, alice):
    """The name remembered of a tag taken off was Python's lower() of it, in which "İ" is two characters: a tag of 64
    characters with one in it (a Turkish place name, as long as a name may be) came to 65, past the column's 64, and
    its removal was a 500 (value too long). It is the database's lower(), as the index reads names."""
    name = ("İzmir " * 11)[:64]
    photo = photo_factory(family=family, user=alice, tags=[name])
    photo_update(photo=photo, tags=[], user=alice)  # (the photo page's edit, the API's, the admin's)
    assert sources(photo) == {}
    assert photo_tags_add(photo=photo, names=[name.upper()], source=PhotoTag.Source.EMBEDDED) == []


@pytest.mark.django_db
def test_a_tag_of_the_longest_name_folding_longer_is_taken_off_without_a_500(family, alice):
    """A name's folded key can be longer than the name ("ß" is "ss", "ΐ" three code points): the key remembered of a
    tag of 64 characters taken off is kept whole, not a 500 (value too long)."""
    name = ("Straße " * 10)[:64]
    photo = photo_factory(family=family, user=alice, tags=[name])
    photo_update(photo=photo, tags=[], user=alice)
    assert sources(photo) == {}
    assert photo_tags_add(photo=photo, names=[name.replace("ß", "ẞ").upper()], source=PhotoTag.Source.EMBEDDED) == []



def stored_under_the_databases_lower(photo) -> set[str]:
    """The removals of the photo stored under PostgreSQL's lower() of "İstanbul", "ΟΔΟΣ" or "LISBON"."""
    from django.db.models import Value
    from django.db.models.functions import Lower

    from gallery.models import RemovedTag

    keys = [Lower(Value(name)) for name in ("İstanbul", "ΟΔΟΣ", "LISBON")]
    return set(RemovedTag.objects.filter(photo=photo).filter(
        Q(name=keys[0]) | Q(name=keys[1]) | Q(name=keys[2])).values_list("name", flat=True))


@pytest.mark.django_db
def test_removals_remembered_by_pythons_lower_are_kept_by_the_databases_key_after_migration_0047(
        family, alice, other_family, mallory):
    """Before 7be6577 a tag taken off was remembered under Python's str.lower() ("İstanbul" as "i̇stanbul", "ΟΔΟΣ" as
    "οδος"), and it is looked up now by the database's lower() ("istanbul", "οδοσ"): such a removal no longer held, and
    the file's next reading put the tag back. Migration 0047 adds each such row under the database's key of the name it
    was made from, the old row kept: none where the family's tag of the row's own key is still there ("οδος" taken off
    a photo of a family whose tag is "Οδος" is no removal of "ΟΔΟΣ"), else as Python lowered it back ("i̇" was "İ", "ς"
    was "Σ")."""
    import importlib

    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    from gallery.models import RemovedTag, Tag

    smiths, joneses = photo_factory(family=family, user=alice), photo_factory(family=other_family, user=mallory)
    Tag.objects.create(family=other_family, name="Οδος")
    removed = [(smiths, "İstanbul"), (smiths, "ΟΔΟΣ"), (smiths, "Lisbon"), (joneses, "Οδος")]
    RemovedTag.objects.bulk_create([RemovedTag(photo_id=photo.pk, name=name.lower()) for photo, name in removed])
    # What 0047 mends: of the removals, only "lisbon" is under the database's lower() of its name, the key the code
    # of 0047 to 0051 looked removals up by (read folded since 0052, "i̇stanbul" and "οδος" hold as they are too).
    assert stored_under_the_databases_lower(smiths) == {"lisbon"}

    executor = MigrationExecutor(connection)
    name = "0047_tag_removals_by_the_databases_key"
    migration = executor.loader.get_migration("gallery", name)
    [operation] = migration.operations
    assert operation.reverse_code is operation.noop  # (reversible: the rows added are removals the members made)
    apps = executor.loader.project_state(("gallery", name), at_end=False).apps  # (the models as 0046 left them)
    importlib.import_module(migration.__module__).removals_by_the_databases_key(apps, None)

    assert stored_under_the_databases_lower(smiths) == {"istanbul", "οδοσ", "lisbon"}
    stored = set(RemovedTag.objects.values_list("photo_id", "name"))
    assert stored == {(smiths.pk, "i̇stanbul"), (smiths.pk, "istanbul"), (smiths.pk, "οδος"), (smiths.pk, "οδοσ"),
                      (smiths.pk, "lisbon"), (joneses.pk, "οδος")}
    assert photo_tags_add(photo=smiths, names=["İstanbul", "ΟΔΟΣ", "LISBON"], source=PhotoTag.Source.EMBEDDED) == []
    assert sources(smiths) == {}
    photo_tags_add(photo=joneses, names=["ΟΔΟΣ", "οδος"], source=PhotoTag.Source.EMBEDDED)
    assert sources(joneses) == {}  # (one name folded since 0052: the "Οδος" taken off)


@pytest.mark.django_db
def test_a_tag_taken_off_is_remembered_by_the_key_read_with_it_without_reading_names_again(family, alice):
    """tags_removed_remember put the names its callers had just read from the database through names_folded again (a
    query each time a member took a tag off); its callers read the tags' keys (Lower("tag__name")) and pass them."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from gallery.bulk import photos_bulk_apply
    from gallery.models import RemovedTag, Tag
    from gallery.services import photos_tag_remove, tags_delete

    photos = [photo_factory(family=family, user=alice, tags=["İstanbul", "ΟΔΟΣ", "Lisbon", "Sea"]) for _ in range(2)]
    with CaptureQueriesContext(connection) as removal:
        photos_tag_remove(photos=photos[:1], name="İSTANBUL", user=alice)
    with CaptureQueriesContext(connection) as bulk:
        photos_bulk_apply(user=alice, action="remove_tags", photo_ids=[photos[1].pk], tags=["istanbul"])
    with CaptureQueriesContext(connection) as edit:
        photo_update(photo=photos[0], tags=["Lisbon", "Sea"], user=alice)
    # (the names typed cleaned, once)
    assert [name_key_reads(run.captured_queries) for run in (removal, bulk, edit)] == [0, 1, 1]
    with CaptureQueriesContext(connection) as deleted:
        tags_delete(tags=Tag.objects.filter(name="Sea"))
    assert name_key_reads(deleted.captured_queries) == 0
    assert set(RemovedTag.objects.values_list("photo_id", "name")) == {
        (photos[0].pk, "istanbul"), (photos[0].pk, "οδοσ"), (photos[1].pk, "istanbul"), (photos[0].pk, "sea"),
        (photos[1].pk, "sea")}


@pytest.mark.django_db
def test_names_added_are_read_by_the_database_once(family, alice):
    """The same names went through names_folded two or three times: photo_tags_add keyed them, then tags_get_or_create
    cleaned them again; a file's keywords read again were keyed for what stays, then twice more to be added; an
    upload with tags cleaned them, then photo_tags_add again; the admin's "add a tag" keyed it, then cleaned it. Once
    now, each key passed on."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from gallery.embedded import Embedded
    from gallery.services import _embedded_tags_apply, photo_create_from_bytes
    from tests.images import jpeg

    photo = photo_factory(family=family, user=alice)
    counted = {}
    with CaptureQueriesContext(connection) as counted["embedded"]:
        photo_tags_add(photo=photo, names=["Lisbon", "Sea", "Tram"], source=PhotoTag.Source.EMBEDDED)
    with CaptureQueriesContext(connection) as counted["member"]:
        photo_tags_add(photo=photo, names=["Beach"], source=PhotoTag.Source.MEMBER, user=alice)
    with CaptureQueriesContext(connection) as counted["read again"]:
        _embedded_tags_apply(photo, Embedded(keywords=("Lisbon", "İstanbul"), keywords_complete=True))
    with CaptureQueriesContext(connection) as counted["admin"]:
        photos_tag_add(photos=[photo], name="Tram", user=alice)
    with CaptureQueriesContext(connection) as counted["upload"]:
        photo_create_from_bytes(family=family, uploaded_by=alice, data=jpeg(colour=(1, 2, 3)), filename="a.jpg",
                                tags=["Beach", "Sun"])
    assert {what: name_key_reads(run.captured_queries) for what, run in counted.items()} == dict.fromkeys(counted, 1)
    assert sources(photo) == {"Lisbon": "embedded", "İstanbul": "embedded", "Beach": "member", "Tram": "member"}


@pytest.mark.django_db
@pytest.mark.parametrize("carried, found", ONE_NAME)
def test_a_photo_is_not_suggested_a_tag_it_carries_in_another_case(family, alice, carried, found):
    """The scoring's writer (photos_suggestions_replace) told the photo's tags from the names found by Python's
    lower(): a photo tagged "istanbul" was suggested "İstanbul", the very tag to the index, and accepting it added
    nothing. It reads names as the index does now."""
    from gallery.models import TagSuggestion
    from gallery.suggestions import photos_suggestions_replace

    photo = photo_factory(family=family, user=alice, tags=[carried])
    photos_suggestions_replace(found={photo.pk: {found: 0.9}}, model_name="toy")
    assert not TagSuggestion.objects.filter(photo=photo).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("carried, found", TWO_NAMES)
def test_a_photo_is_suggested_a_name_the_index_tells_from_its_tags(family, alice, carried, found):
    """"οδος" is a tag of its own beside "ΟΔΟΣ" to the index: Python's lower() read it as the photo's tag and never
    suggested it."""
    from gallery.models import TagSuggestion
    from gallery.suggestions import photos_suggestions_replace

    photo = photo_factory(family=family, user=alice, tags=[carried])
    photos_suggestions_replace(found={photo.pk: {found: 0.9}}, model_name="toy")
    assert list(TagSuggestion.objects.filter(photo=photo).values_list("name", flat=True)) == [found]


@pytest.mark.django_db
@pytest.mark.parametrize("dismissed, found, suggested", [("ΟΔΟΣ", "οδος", False), ("Café", "Cafe", True)])
def test_a_name_folding_as_a_dismissed_one_is_not_suggested(family, alice, dismissed, found, suggested):
    """A dismissed "ΟΔΟΣ" keeps "οδος" off (one name, folded), not "Cafe" after "Café" (another name)."""
    from gallery.models import TagSuggestion
    from gallery.suggestions import photos_suggestions_replace

    photo = photo_factory(family=family, user=alice)
    TagSuggestion.objects.create(photo=photo, name=dismissed, probability=0.9, model_name="toy",
                                 state=TagSuggestion.State.DISMISSED)
    photos_suggestions_replace(found={photo.pk: {found: 0.9}}, model_name="toy")
    assert set(TagSuggestion.objects.filter(photo=photo).values_list("name", "state")) == {
        (dismissed, TagSuggestion.State.DISMISSED), *([(found, TagSuggestion.State.OPEN)] if suggested else [])}


@pytest.mark.django_db
def test_twin_open_suggestions_of_before_the_fold_are_all_cleared_by_a_scoring_finding_nothing(family, alice):
    """Before gallery 0052 one photo could hold open suggestions "Straße" and "STRASSE" (two names to lower()): the
    scoring kept one row a key and never cleared the other."""
    from gallery.models import TagSuggestion
    from gallery.suggestions import photos_suggestions_replace

    photo = photo_factory(family=family, user=alice)
    TagSuggestion.objects.create(photo=photo, name="Straße", probability=0.9, model_name="m")
    TagSuggestion.objects.create(photo=photo, name="STRASSE", probability=0.8, model_name="m")
    assert photos_suggestions_replace(found={photo.pk: {}}, model_name="m") == [photo.pk]
    assert not TagSuggestion.objects.filter(photo=photo).exists()


@pytest.mark.django_db
def test_twin_open_suggestions_of_before_the_fold_keep_one_when_scored_again(family, alice):
    from gallery.models import TagSuggestion
    from gallery.suggestions import photos_suggestions_replace

    photo = photo_factory(family=family, user=alice)
    TagSuggestion.objects.create(photo=photo, name="Straße", probability=0.9, model_name="m")
    TagSuggestion.objects.create(photo=photo, name="STRASSE", probability=0.8, model_name="m")
    photos_suggestions_replace(found={photo.pk: {"strasse": 0.7}}, model_name="m")
    assert len(TagSuggestion.objects.filter(photo=photo, state=TagSuggestion.State.OPEN)) == 1


@pytest.mark.django_db
def test_migration_0052_keeps_one_suggestion_of_a_name_per_photo_as_a_merge_ranks_them(
        family, alice, other_family, mallory):
    """Suggestions of a photo folding alike (two names to lower()'s one_suggestion_per_photo_tag_ci) are one: the
    accepted, else the dismissed, else the likeliest open one stays; the other open ones go, decided ones stay (a
    record); an open one of a name the photo carries as a tag goes. Another family's are its own."""
    import importlib

    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    from gallery.models import TagSuggestion

    State = TagSuggestion.State
    likeliest, dismissed, accepted, both, tagged = (photo_factory(family=family, user=alice) for _ in range(5))
    theirs = photo_factory(family=other_family, user=mallory)
    rows = [(likeliest, "Straße", State.OPEN, 0.6), (likeliest, "STRASSE", State.OPEN, 0.9),
            (likeliest, "straſſe", State.OPEN, 0.7), (dismissed, "Straße", State.OPEN, 0.9),
            (dismissed, "strasse", State.DISMISSED, 0.5), (accepted, "ΟΔΟΣ", State.ACCEPTED, 0.5),
            (accepted, "οδος", State.OPEN, 0.9), (both, "Straße", State.DISMISSED, 0.5),
            (both, "STRASSE", State.ACCEPTED, 0.5), (tagged, "STRASSE", State.OPEN, 0.9),
            (theirs, "Straße", State.OPEN, 0.9), (theirs, "Beach", State.OPEN, 0.9)]
    for photo, name, state, probability in rows:
        TagSuggestion.objects.create(photo=photo, name=name, state=state, probability=probability, model_name="m")
    photo_tags_add(photo=tagged, names=["Straße"], source=PhotoTag.Source.EMBEDDED)

    executor = MigrationExecutor(connection)
    name = "0052_tag_names_unique_by_case_folding"
    migration = executor.loader.get_migration("gallery", name)
    apps = executor.loader.project_state(("gallery", name), at_end=False).apps
    importlib.import_module(migration.__module__).suggestions_folding_alike_collapsed(apps, None)

    left = {(photo_id, name, state) for photo_id, name, state in
            TagSuggestion.objects.values_list("photo_id", "name", "state")}
    assert left == {(likeliest.pk, "STRASSE", State.OPEN), (dismissed.pk, "strasse", State.DISMISSED),
                    (accepted.pk, "ΟΔΟΣ", State.ACCEPTED), (both.pk, "Straße", State.DISMISSED),
                    (both.pk, "STRASSE", State.ACCEPTED), (theirs.pk, "Straße", State.OPEN),
                    (theirs.pk, "Beach", State.OPEN)}
