"""A photo whose keywords and caption were written into the file (XMP and IPTC, by exiv2 itself) is found by
those words, and only by its own family."""

from __future__ import annotations

import pytest

from gallery.models import Photo
from gallery.services import UploadResult, photo_create_from_bytes
from search.engine import SearchParams, search_photos
from search.tests.conftest import shape_png
from tests import images
from tests.queue import run_queued_tasks

pytestmark = pytest.mark.django_db


@pytest.fixture
def stored(toy_model, add_shape, family, alice, django_capture_on_commit_callbacks):
    """A red circle whose file names it in words no pixel shows, beside plain shapes with nothing embedded."""
    data = images.with_metadata(
        shape_png("red", "circle", seed=99),
        xmp={"Xmp.dc.subject": ["Grandma", "Azulejos"], "Xmp.lr.hierarchicalSubject": ["Places|Portugal|Sintra"],
             **images.face_regions("Aunt Matilde")},  # a person Lightroom or digiKam recognised
        iptc={"Iptc.Application2.Keywords": ["Quinta"], "Iptc.Application2.Caption": "Picnic at the palace garden"},
    )
    with django_capture_on_commit_callbacks(execute=True):
        result = photo_create_from_bytes(family=family, uploaded_by=alice, data=data, filename="IMG_9999.png")
        assert result.outcome == UploadResult.SAVED, result.reason
        tagged = result.photo
        others = [add_shape(colour, "square") for colour in ("red", "blue", "green")]
    run_queued_tasks()
    assert not Photo.objects.exclude(status=Photo.Status.READY).exists()
    return tagged, others


def ids(user, query: str) -> list[int]:
    response = search_photos(user=user, params=SearchParams(query=query, min_score=0.0, limit=50))
    return [result.photo.pk for result in response.results if result.explanation.meta_score > 0]


@pytest.mark.parametrize("query", ["grandma", "azulejos", "sintra", "quinta", "picnic palace", "matilde"])
def test_embedded_keywords_and_caption_are_found_by_search(stored, alice, query):
    tagged, _ = stored
    assert ids(alice, query) == [tagged.pk]


def test_the_embedded_tags_show_in_the_explanation_and_on_the_page(stored, alice, client_for):
    tagged, _ = stored
    [result] = [r for r in search_photos(user=alice, params=SearchParams(query="azulejos", min_score=0.0)).results
                if r.photo.pk == tagged.pk]
    assert result.explanation.meta_fields == ["keywords in the file or Google Photos"]
    assert result.explanation.meta_ranks == {"keywords": 1.0}
    [face] = [r for r in search_photos(user=alice, params=SearchParams(query="aunt matilde", min_score=0.0)).results
              if r.photo.pk == tagged.pk]
    assert face.explanation.meta_fields == ["keywords in the file or Google Photos"]
    # Keywords weigh as a description does: below a tag a member typed, above a place or a date.
    caption = [r for r in search_photos(user=alice, params=SearchParams(query="palace", min_score=0.0)).results
               if r.photo.pk == tagged.pk][0].explanation
    assert caption.meta_fields == ["description"] and caption.meta_score == pytest.approx(result.explanation.meta_score)
    body = client_for(alice).get(tagged.get_absolute_url()).content.decode()
    assert "Azulejos" in body and "Picnic at the palace garden" in body and "from the file" in body
    assert "Aunt Matilde" in body


def test_another_familys_embedded_words_are_never_found(stored, other_family, mallory):
    assert ids(mallory, "azulejos") == []


def test_an_emoji_keyword_or_tag_is_found_by_that_emoji(toy_model, add_shape, family, alice, other_family, mallory,
                                                          django_capture_on_commit_callbacks):
    # A family tags birthdays "🎂" (in Lightroom, on a phone, or typed here): the photo showed the tag, but searching
    # "🎂" found nothing, as the text search reads no symbol as a word.
    from gallery.services import photo_update

    with django_capture_on_commit_callbacks(execute=True):
        cake = photo_create_from_bytes(family=family, uploaded_by=alice, filename="IMG_1.png",
                                       data=images.with_metadata(shape_png("red", "circle", seed=5),
                                                                 xmp={"Xmp.dc.subject": ["🎂", "👨‍👩‍👧 family"]})).photo
        party = add_shape("blue", "square")
        plain = add_shape("green", "square")
        theirs = photo_create_from_bytes(family=other_family, uploaded_by=mallory, filename="IMG_2.png",
                                         data=images.with_metadata(shape_png("red", "circle", seed=6),
                                                                   xmp={"Xmp.dc.subject": ["🎂"]})).photo
    photo_update(photo=party, tags=["🎉"])
    run_queued_tasks()

    assert ids(alice, "🎂") == [cake.pk]  # never the other family's cake
    assert ids(mallory, "🎂") == [theirs.pk]
    assert ids(alice, "🎉") == [party.pk]  # a member's tag as well
    assert ids(alice, "👨‍👩‍👧") == [cake.pk]
    assert plain.pk not in ids(alice, "🎂 🎉")
    # In web-search syntax an emoji means what a word there would: "-🎂" leaves its photos out, '"🎂"' asks for them.
    photo_update(photo=plain, tags=["square"])
    photo_update(photo=party, tags=["🎉", "square"])
    run_queued_tasks()
    assert ids(alice, "square -🎉") == [plain.pk]
    assert ids(alice, '"🎉" square') == [party.pk]
    [result] = [r for r in search_photos(user=alice, params=SearchParams(query="🎂", min_score=0.0)).results
                if r.photo.pk == cake.pk]
    assert result.explanation.meta_fields == ["keywords in the file or Google Photos"]
