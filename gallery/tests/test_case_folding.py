"""Names compare by their Unicode case folding (NFC, then str.casefold: "Straße", "STRASSE" and "strasse" are one
name, so are "ǅ", "Ǆ" and "ǆ", and "ΟΔΟΣ", "Οδός"'s "οδος" with its final sigma), not by PostgreSQL's lower(), which
leaves "ß" and a final "ς" as they are. "İstanbul" and "istanbul" stay one name, as they were."""

from __future__ import annotations

import importlib
import re
import unicodedata

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from gallery.models import Album, PhotoTag, Tag
from gallery.name_fold import name_folded
from gallery.selectors import names_folded, same_name
from gallery.services import photo_update, photos_tag_add, smart_albums_tag_renamed, tags_merge
from tests.factories import photo_factory

pytestmark = pytest.mark.django_db

# (first written, then typed): one tag, the first spelling kept
FOLDED_ALIKE = [("Straße", "STRASSE"), ("Straße", "strasse"), ("STRASSE", "straße"), ("ǅemal", "ǄEMAL"),
                ("ǆemal", "ǅemal"), ("ΟΔΟΣ", "οδος"), ("Σίσυφος", "ΣΊΣΥΦΟΣ"), ("İstanbul", "istanbul"),
                ("Cafe\u0301", "CAFÉ")]


def tags_of(photo) -> list[str]:
    return sorted(PhotoTag.objects.filter(photo=photo).values_list("tag__name", flat=True))


@pytest.mark.parametrize("first, typed", FOLDED_ALIKE)
def test_a_name_folding_as_a_familys_tag_is_that_tag(family, alice, first, typed):
    """Typed on another photo, "strasse" made a second tag beside the family's "Straße"."""
    tagged = photo_factory(family=family, user=alice, tags=[first])
    other = photo_factory(family=family, user=alice)
    photos_tag_add(photos=[other], name=typed, user=alice)
    photo_update(photo=photo_factory(family=family, user=alice), tags=[typed], user=alice)
    assert list(Tag.objects.filter(family=family).values_list("name", flat=True)) == [Tag.objects.get().name]
    assert tags_of(other) == tags_of(tagged) == [Tag.objects.get(family=family).name]


@pytest.mark.parametrize("first, typed", FOLDED_ALIKE)
def test_the_database_refuses_two_tags_of_a_family_folding_alike(family, other_family, first, typed):
    Tag.objects.create(family=family, name=first)
    Tag.objects.create(family=other_family, name=typed)  # (another family's: its own)
    with pytest.raises(IntegrityError), transaction.atomic():
        Tag.objects.create(family=family, name=typed)


def test_the_fold_in_python_and_in_the_database_agree():
    names = [name for pair in FOLDED_ALIKE for name in pair] + ["Beach", "ﬁsh", "ẞ", "Ǳ", "ΐ"]
    assert names_folded(names) == [name_folded(name) for name in names]
    assert len({name_folded(a) for a in ("Straße", "STRASSE", "strasse", "STRAẞE")}) == 1


def test_one_photo_typed_two_spellings_has_one_tag(family, alice):
    photo = photo_factory(family=family, user=alice)
    photo_update(photo=photo, tags=["Straße", "STRASSE", "ΟΔΟΣ", "οδος"], user=alice)
    assert tags_of(photo) == ["Straße", "ΟΔΟΣ"]


def test_a_tag_filter_finds_the_tag_by_its_folded_name(family, alice):
    photo_factory(family=family, user=alice, tags=["Straße"])
    assert Tag.objects.filter(same_name("name", "STRASSE")).count() == 1


def test_a_rename_moves_smart_albums_filtering_on_any_spelling(family, alice):
    """A smart album saved filtering on "STRASSE" (the tag "Straße") follows the tag renamed: it is that tag."""
    album = Album.objects.create(family=family, name="Streets", kind=Album.Kind.SMART, search={"tag": "STRASSE"},
                                 created_by=alice)
    assert smart_albums_tag_renamed(family_id=family.pk, names=["Straße"], into="Weg") == 1
    album.refresh_from_db()
    assert album.search["tag"] == "Weg"


def test_a_merge_into_a_tag_keeps_its_photos_once(family, alice):
    street = photo_factory(family=family, user=alice, tags=["Straße", "Road"])
    road = photo_factory(family=family, user=alice, tags=["Road"])
    into = Tag.objects.get(name="Straße")
    assert tags_merge(into=into, tags=Tag.objects.filter(name="Road"), user=alice) == 2
    assert tags_of(street) == tags_of(road) == ["Straße"]
    photos_tag_add(photos=[road], name="STRASSE", user=alice)
    assert tags_of(road) == ["Straße"]


def test_the_migration_merges_a_familys_tags_that_now_fold_alike(family, other_family, alice, mallory):
    """Tags made apart under lower() ("Straße" and "STRASSE") are one under the folded key: 0052 merges them into the
    oldest, its photos keeping theirs (a photo carrying both keeps one, the member's when either was), then adds the
    unique index on the folded name. What holds names follows: a photo's open suggestion of the name it now carries
    goes, a removal made under the other spelling's lower() key still holds, and the family's twin concepts are one
    (search 0034)."""
    from gallery.models import RemovedTag, TagSuggestion
    from gallery.services import photo_tags_add
    from search.models import TagConcept

    migration_name = "0052_tag_names_unique_by_case_folding"
    executor = MigrationExecutor(connection)
    migration = executor.loader.get_migration("gallery", migration_name)
    concepts_migration = executor.loader.get_migration("search", "0034_tag_concepts_unique_by_case_folding")
    constraints = [(model, constraint) for model in (Tag, TagConcept) for constraint in model._meta.constraints
                   if constraint.name in ("unique_tag_per_family_folded", "unique_family_tag_concept")]
    with connection.schema_editor() as editor:
        for model, constraint in constraints:
            editor.remove_constraint(model, constraint)
    kept = Tag.objects.create(family=family, name="Straße")
    twin = Tag.objects.create(family=family, name="STRASSE")
    third = Tag.objects.create(family=family, name="strasse")
    theirs = Tag.objects.create(family=other_family, name="STRASSE")
    both = photo_factory(family=family, user=alice)
    PhotoTag.objects.create(photo=both, tag=kept, source=PhotoTag.Source.EMBEDDED)
    PhotoTag.objects.create(photo=both, tag=twin, source=PhotoTag.Source.MEMBER, added_by=alice)
    one = photo_factory(family=family, user=alice)
    PhotoTag.objects.create(photo=one, tag=third, source=PhotoTag.Source.EMBEDDED)
    TagSuggestion.objects.create(photo=one, name="Straße", probability=0.9, model_name="m")  # (two to lower())
    taken_off = photo_factory(family=family, user=alice)
    RemovedTag.objects.create(photo=taken_off, name="strasse")  # ("STRASSE" taken off, keyed by lower())
    concept = TagConcept.objects.create(family=family, name="Straße")
    TagConcept.objects.create(family=family, name="STRASSE")
    joneses = photo_factory(family=other_family, user=mallory)
    PhotoTag.objects.create(photo=joneses, tag=theirs, source=PhotoTag.Source.MEMBER)
    TagSuggestion.objects.create(photo=joneses, name="Straße", probability=0.9, model_name="m")

    apps = executor.loader.project_state(("gallery", migration_name), at_end=False).apps
    importlib.import_module(migration.__module__).tags_folding_alike_merged(apps, None)
    importlib.import_module(migration.__module__).suggestions_folding_alike_collapsed(apps, None)
    apps = executor.loader.project_state(("search", concepts_migration.name), at_end=False).apps
    importlib.import_module(concepts_migration.__module__).concepts_and_synonyms_folding_alike_merged(apps, None)

    assert set(Tag.objects.values_list("pk", flat=True)) == {kept.pk, theirs.pk}
    assert [(link.tag_id, link.source) for link in PhotoTag.objects.filter(photo=both)] == [(kept.pk, "member")]
    assert [(link.tag_id, link.source) for link in PhotoTag.objects.filter(photo=one)] == [(kept.pk, "embedded")]
    assert [link.tag_id for link in PhotoTag.objects.filter(photo=joneses)] == [theirs.pk]
    assert not TagSuggestion.objects.exists()  # (each on a photo carrying the name: "Straße" here, "STRASSE" there)
    assert list(TagConcept.objects.filter(family=family).values_list("pk", flat=True)) == [concept.pk]
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # (the test's rows' checks, pending: no index is made then)
    with connection.schema_editor() as editor:
        for model, constraint in constraints:
            editor.add_constraint(model, constraint)  # (no two left to break them)
    assert photo_tags_add(photo=taken_off, names=["Straße"], source=PhotoTag.Source.EMBEDDED) == []


@pytest.mark.parametrize("city, typed", [("Gießen", "GIESSEN"), ("Gießen", "giessen"),
                                        ("Άγιος Νικόλαος", "ΆΓΙΟΣ ΝΙΚΌΛΑΟΣ")])
def test_the_city_filter_of_the_timeline_compares_the_city_folded(client_for, family, alice, other_family, mallory,
                                                                 city, typed):
    """?city=GIESSEN found nothing of Gießen: `__iexact` compares upper(), which leaves "ß" as it is."""
    from django.urls import reverse

    from gallery.models import Photo

    there, elsewhere, theirs = (photo_factory(family=family, user=alice), photo_factory(family=family, user=alice),
                                photo_factory(family=other_family, user=mallory))
    Photo.objects.filter(pk__in=[there.pk, theirs.pk]).update(place_city=city, place_country_code="DE")
    Photo.objects.filter(pk=elsewhere.pk).update(place_city="Berlin", place_country_code="DE")
    body = client_for(alice).get(reverse("gallery:timeline"), {"city": typed}).content.decode()
    assert [int(pk) for pk in re.findall(r'<a class="tile" id="photo-(\d+)"', body)] == [there.pk]


def test_explore_shows_one_tile_for_a_tag_of_two_families_folding_alike(family, other_family, alice, mallory):
    """Explore merged the user's families' tags by Python's lower(): "Straße" of one and "STRASSE" of the other were
    two tiles, whose ?tag= links (same_name) both find the photos of both."""
    from gallery.explore import explore
    from gallery.models import Membership
    from tests.factories import MembershipFactory

    MembershipFactory(family=other_family, user=alice, role=Membership.Role.MEMBER)
    for _ in range(2):
        photo_factory(family=family, user=alice, tags=["Straße"])
    photo_factory(family=other_family, user=mallory, tags=["STRASSE"])
    assert [(spot.name, spot.count) for spot in explore(user=alice).tags] == [("Straße", 3)]


def test_the_admins_rename_to_a_name_folding_as_another_tag_is_refused_not_a_500(family, alice):
    """The admin's tag form looked for a twin by lower(): renaming "Road" to "STRASSE" beside "Straße" passed it and
    the unique index refused the save (IntegrityError, a 500)."""
    from gallery.admin.tags import TagForm

    photo_factory(family=family, user=alice, tags=["Straße", "Road"])
    road = Tag.objects.get(name="Road")
    form = TagForm(data={"family": family.pk, "name": "STRASSE"}, instance=road)
    assert not form.is_valid() and "already has a tag of this name" in form.errors["name"][0]
    assert TagForm(data={"family": family.pk, "name": "Strasse Nord"}, instance=road).is_valid()


# --- album names: compared by the one rule of tag names ---------------------------------------------------------


@pytest.mark.parametrize("first, typed", [*FOLDED_ALIKE, ("STRAẞE", "straße")])
def test_new_album_named_as_the_familys_album_folds_is_that_album(family, alice, other_family, mallory, first, typed):
    """Album names compared by `__iexact` (PostgreSQL's upper(), which leaves "ß" as it is): "New album…" named
    "STRASSE" beside the family's "Straße" made a second album, though they are one tag name. Another family's album
    of that name (made first) is never the one found."""
    from gallery.album_services import album_create, album_find_or_create

    album_create(user=mallory, family=other_family, name=first)
    ours = album_create(user=alice, family=family, name=first)
    album, made = album_find_or_create(user=alice, family=family, name=typed)
    assert (album.pk, made) == (ours.pk, False)
    assert Album.objects.filter(family=family).count() == 1


def test_new_album_named_as_a_smart_album_folds_is_refused(family, alice):
    from django.core.exceptions import ValidationError

    from gallery.album_services import album_create, album_find_or_create

    album_create(user=alice, family=family, name="Straße", search={"q": "street"})
    with pytest.raises(ValidationError, match="has a smart album named"):
        album_find_or_create(user=alice, family=family, name="STRASSE")
    assert Album.objects.filter(family=family).count() == 1


def test_an_album_form_sent_again_under_a_name_folding_alike_is_the_album_it_made(family, alice):
    """The albums page's "Create album" sent again (a double click, Back and Create again) finds the album it made
    a moment ago by its name in any case: "STRASSE" is "Straße" there too."""
    from gallery.album_services import album_create_unless_repeated

    made = album_create_unless_repeated(user=alice, family=family, name="Straße", description="Old town")
    again = album_create_unless_repeated(user=alice, family=family, name="STRASSE", description="Old town")
    assert made[1] is True and again == (made[0], False)


def test_a_search_saved_as_a_smart_album_again_under_a_name_folding_alike_is_that_album(family, alice):
    from gallery.album_services import smart_album_find_or_create

    search = {"q": "orange", "weights": "live"}
    made = smart_album_find_or_create(user=alice, family=family, name="Straße", search=dict(search))
    again = smart_album_find_or_create(user=alice, family=family, name="STRASSE", search=dict(search))
    assert made[1] is True and again == (made[0], False)


def test_the_fold_of_album_names_and_of_tag_names_is_one(family, alice):
    """Import's keys of album names (AlbumNameKeys: a Picasa file's albums told apart) are the tag names' keys."""
    from gallery.selectors import AlbumNameKeys

    names = [name for pair in FOLDED_ALIKE for name in pair] + ["STRAẞE", "Straße", "Strase"]
    assert AlbumNameKeys().of(names) == names_folded(names) == [name_folded(name) for name in names]


# --- the fold is closed: a key folds to itself, a name in capitals to the name's key --------------------------------

# The one letter whose capital folds otherwise: the dotless "ı" (its capital "I" is "i"; "İ" folding to "i" is the
# rule kept from lower(), see gallery.name_fold).
UPPER_FOLDS_OTHERWISE = {"ı"}


def every_letter() -> list[str]:
    return [chr(cp) for cp in range(0x110000) if unicodedata.category(chr(cp)).startswith("L")]


def test_a_key_folded_again_is_the_same_key_for_every_letter_and_its_capital():
    """casefold of an NFC text is not always NFC: "Ϊ́" (U+03AA and an acute, "ΐ" in capitals) folded to "ϊ" and the
    acute, which folded again is three code points."""
    texts = [*every_letter(), *(letter.upper() for letter in every_letter()), "ΤΑΪ́ΖΩ", "İ\u0301", "ΐ"]
    assert [text for text in texts if name_folded(name_folded(text)) != name_folded(text)] == []


def test_a_letter_in_capitals_folds_as_the_letter_for_every_letter_but_the_dotless_i():
    assert {letter for letter in every_letter() if name_folded(letter.upper()) != name_folded(letter)} == \
        UPPER_FOLDS_OTHERWISE


def test_the_database_folds_a_key_again_to_the_same_key_for_every_letter_and_its_capital():
    texts = [*every_letter(), *(letter.upper() for letter in every_letter()), "ΤΑΪ́ΖΩ", "İ\u0301"]
    keys = names_folded(texts)
    assert keys == [name_folded(text) for text in texts]
    assert [key for key, again in zip(keys, names_folded(keys)) if key != again] == []


def test_a_greek_word_and_its_capitals_are_one_tag(family, alice):
    """"ταΐζω" (ΐ: U+0390) in capitals is "ΤΑΪ́ΖΩ" (Ϊ U+03AA and a combining acute): one name in another case."""
    small, capitals = "ταΐζω", "ταΐζω".upper()
    assert name_folded(small) == name_folded(capitals)
    photo = photo_factory(family=family, user=alice, tags=[small])
    photos_tag_add(photos=[photo_factory(family=family, user=alice)], name=capitals, user=alice)
    assert list(Tag.objects.filter(family=family).values_list("name", flat=True)) == [small]
    assert tags_of(photo) == [small]


def test_a_removed_keyword_in_capitals_stays_off(family, alice):
    """The removal is kept by its key (RemovedTag.name), folded again where it is read."""
    from gallery.services import photo_tags_add, photos_tag_remove

    name = "ΤΑΪ́ΖΩ"
    photo = photo_factory(family=family, user=alice)
    photo_tags_add(photo=photo, names=[name], source=PhotoTag.Source.EMBEDDED)
    photos_tag_remove(photos=[photo], name=name, user=alice)
    assert photo_tags_add(photo=photo, names=[name], source=PhotoTag.Source.EMBEDDED) == []
    assert tags_of(photo) == []


def test_new_tags_are_inserted_in_the_order_of_their_folded_keys(family):
    """Concurrent inserts take the unique index's entries in one order, its keys' (else two uploads, one with
    "Straße" and "Strasse 2", the other with "STRASSE" and "Strasse 2", each waited for the other's entry): str.lower
    put "strasse 2" before "straße", the folded keys put "strasse" first. The insert gives ids in its order."""
    from gallery.services import tags_get_or_create

    tags = tags_get_or_create(family=family, names=["Strasse 2", "Straße", "Zebra", "ǅemal"])
    assert [tag.name for tag in sorted(tags, key=lambda tag: tag.pk)] == ["Straße", "Strasse 2", "Zebra", "ǅemal"]
