"""A tag name merged away (TagMerge: "Oma" merged into "Grandma") is the tag it went into wherever a tag is given: an
upload's typed tags and its file's keywords, a file read again, the selection bar's and the admin's bulk add, an
accepted suggestion; not only a photo's edit (test_tag_merge_races.py). Before, each of these made "Oma" again,
undoing the merge one photo at a time."""

from __future__ import annotations

import pytest

from gallery.models import PhotoTag, RemovedTag, Tag
from gallery.services import photo_tags_add, photo_update, photos_tag_add, photos_tags_add_many, tags_merge
from tests.factories import photo_factory
from tests.images import jpeg, with_metadata

pytestmark = pytest.mark.django_db


@pytest.fixture
def merged(family, alice):
    """The Smiths' "Oma" merged into "Grandma"."""
    photo_factory(family=family, user=alice, filename="a.jpg", tags=["Grandma"])
    photo_factory(family=family, user=alice, filename="b.jpg", tags=["Oma"])
    tags_merge(into=Tag.objects.get(family=family, name="Grandma"), tags=Tag.objects.filter(family=family, name="Oma"),
               user=alice)
    assert not Tag.objects.filter(family=family, name="Oma").exists()
    return Tag.objects.get(family=family, name="Grandma")


def _tags(photo) -> dict[str, str]:
    return dict(PhotoTag.objects.filter(photo=photo).values_list("tag__name", "source"))


def test_an_upload_typed_with_the_merged_name_is_tagged_as_the_merge_left_it(family, alice, merged):
    photo = photo_factory(family=family, user=alice, filename="c.jpg", tags=["OMA", "sea"])
    assert _tags(photo) == {"Grandma": PhotoTag.Source.MEMBER, "sea": PhotoTag.Source.MEMBER}
    assert not Tag.objects.filter(family=family, name__iexact="oma").exists()


def test_an_uploaded_files_keyword_of_the_merged_name_is_the_tag_it_went_into(family, alice, merged):
    data = with_metadata(jpeg(colour=(10, 200, 90)), xmp={"Xmp.dc.subject": ["Oma", "beach"]})
    photo = photo_factory(family=family, user=alice, data=data, filename="d.jpg", tags=["Grandma"])
    # Typed and read alike: one tag, the member's (typed wins), the file's other keyword the file's.
    assert _tags(photo) == {"Grandma": PhotoTag.Source.MEMBER, "beach": PhotoTag.Source.EMBEDDED}
    data = with_metadata(jpeg(colour=(10, 20, 190)), xmp={"Xmp.dc.subject": ["Oma"]})
    photo = photo_factory(family=family, user=alice, data=data, filename="e.jpg")
    assert _tags(photo) == {"Grandma": PhotoTag.Source.EMBEDDED}
    assert not Tag.objects.filter(family=family, name__iexact="oma").exists()


def test_a_file_read_again_follows_the_merge_but_never_puts_back_what_a_member_took_off(family, alice, merged):
    kept = photo_factory(family=family, user=alice, filename="f.jpg")
    photo_tags_add(photo=kept, names=["oma"], source=PhotoTag.Source.EMBEDDED)
    assert _tags(kept) == {"Grandma": PhotoTag.Source.EMBEDDED}

    taken_off = photo_factory(family=family, user=alice, filename="g.jpg", tags=["Grandma"])
    photo_update(photo=taken_off, tags=[], user=alice)
    assert RemovedTag.objects.filter(photo=taken_off).exists()
    photo_tags_add(photo=taken_off, names=["Oma"], source=PhotoTag.Source.EMBEDDED)
    assert _tags(taken_off) == {}
    assert not Tag.objects.filter(family=family, name__iexact="oma").exists()


def test_bulk_adds_and_an_accepted_suggestion_follow_the_merge(family, alice, merged):
    one, two, three = (photo_factory(family=family, user=alice, filename=f"{n}.jpg") for n in "hij")
    photos_tags_add_many(photos=[one], names=["Oma"], user=alice)  # the selection bar
    assert photos_tag_add(photos=[two], name="oma", user=alice) == 1  # the admin's action
    photo_tags_add(photo=three, names=["Oma"], source=PhotoTag.Source.SUGGESTION, user=alice)
    for photo, source in ((one, PhotoTag.Source.MEMBER), (two, PhotoTag.Source.MEMBER),
                          (three, PhotoTag.Source.SUGGESTION)):
        assert _tags(photo) == {"Grandma": source}
    assert not Tag.objects.filter(family=family, name__iexact="oma").exists()


def test_a_name_merged_away_that_the_family_has_again_is_that_tag(family, alice, merged):
    """Made again on purpose (an admin's new "Oma" tag): the name is that tag now, not the merge's."""
    Tag.objects.create(family=family, name="Oma")
    photo = photo_factory(family=family, user=alice, filename="k.jpg", tags=["Oma"])
    assert _tags(photo) == {"Oma": PhotoTag.Source.MEMBER}


def test_another_familys_merge_is_not_followed(family, alice, merged, other_family, mallory):
    photo = photo_factory(family=other_family, user=mallory, filename="l.jpg", tags=["Oma"])
    assert _tags(photo) == {"Oma": PhotoTag.Source.MEMBER}


def test_a_renamed_tags_old_name_is_the_tag_now_and_renaming_it_back_undoes_that(family, alice):
    """A rename is a merge of one name into a new one (tag_renamed): the old name is followed as a merged one is."""
    from gallery.models import TagMerge
    from gallery.services import tag_renamed

    photo_factory(family=family, user=alice, filename="m.jpg", tags=["Oma"])
    tag = Tag.objects.get(family=family, name="Oma")
    tag.name = "Grandma"
    tag.save()
    tag_renamed(tag=tag, before="Oma", user=alice)
    photo = photo_factory(family=family, user=alice, filename="n.jpg", tags=["oma"])
    assert _tags(photo) == {"Grandma": PhotoTag.Source.MEMBER}
    assert list(TagMerge.objects.filter(family=family).values_list("name", "into")) == [("Oma", tag.pk)]

    tag.name = "Oma"
    tag.save()
    tag_renamed(tag=tag, before="Grandma", user=alice)
    assert list(TagMerge.objects.filter(family=family).values_list("name", "into")) == [("Grandma", tag.pk)]
    photo = photo_factory(family=family, user=alice, filename="o.jpg", tags=["Oma", "grandma"])
    assert _tags(photo) == {"Oma": PhotoTag.Source.MEMBER}
    tag.name = "OMA"  # letter case alone: no name went
    tag.save()
    tag_renamed(tag=tag, before="Oma", user=alice)
    assert list(TagMerge.objects.filter(family=family).values_list("name", flat=True)) == ["Grandma"]
