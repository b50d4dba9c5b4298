"""Embedded metadata: keywords, title, description and location written into the file by photo programs (XMP,
IPTC, EXIF, written here by exiv2 itself) fill the photo on upload and import, never over a member's edit;
the local time zone comes from the camera's offset or the GPS position; hostile metadata never stops an upload."""

from __future__ import annotations

import io
import itertools
import logging
from datetime import datetime, timezone as dt_timezone

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from PIL import Image

from gallery.embedded import read_embedded
from gallery.models import Photo, PhotoTag, Tag
from gallery.services import (
    MAX_TAGS, UploadResult, photo_create_from_bytes, photo_embedded_read, photo_tags_add, photo_update,
)
from tests import images

pytestmark = pytest.mark.django_db

_colours = itertools.count(3, 7)  # (7 is prime to 256: 256 different colours)

LISBON = (38.7223, -9.1393)


def picture(fmt: str = "JPEG", *, exif: Image.Exif | None = None) -> bytes:
    n = next(_colours)
    return images.image_bytes(fmt, colour=(n % 256, (255 - n) % 256, (n * 5) % 256), size=(64, 48), exif=exif)


LIGHTROOM = {
    "Xmp.dc.subject": ["Lisbon", "Tram", "Places", "Portugal"],
    "Xmp.lr.hierarchicalSubject": ["Places|Portugal|Lisbon", "Vehicles|Tram", "People|Grandma Rosa"],
    "Xmp.dc.title": {'lang="x-default"': "Tram 28 up the hill"},
    "Xmp.dc.description": {'lang="x-default"': "The yellow tram climbing to the castle"},
}
IPTC = {
    "Iptc.Application2.Keywords": ["tram", "Holiday"],
    "Iptc.Application2.Caption": "An IPTC caption",
    "Iptc.Application2.City": "Porto",
    "Iptc.Application2.CountryName": "Portugal",
}


def upload(family, user, data: bytes, filename: str = "IMG_0001.jpg", **kwargs) -> Photo:
    result = photo_create_from_bytes(family=family, uploaded_by=user, data=data, filename=filename, **kwargs)
    assert result.outcome == UploadResult.SAVED, result.reason
    return Photo.objects.get(pk=result.photo.pk)


def sources(photo) -> dict[str, str]:
    return {link.tag.name: link.source for link in PhotoTag.objects.filter(photo=photo).select_related("tag")}


def test_xmp_and_iptc_fill_tags_title_description_and_place(family, alice, client_for):
    data = images.with_metadata(picture(), xmp=LIGHTROOM, iptc=IPTC)
    photo = upload(family, alice, data, tags=["Family trip"])

    assert sources(photo) == {
        "Family trip": "member",
        # dc:subject as written, the leaf of each hierarchy, IPTC keywords; case-insensitively once each.
        "Lisbon": "embedded", "Tram": "embedded", "Places": "embedded", "Portugal": "embedded",
        "Grandma Rosa": "embedded", "Holiday": "embedded",
    }
    assert (photo.title, photo.title_source) == ("Tram 28 up the hill", "embedded")  # "IMG 0001" counts as empty
    assert (photo.description, photo.description_source) == ("The yellow tram climbing to the castle", "embedded")
    # No GPS: the IPTC location is the photo's place.
    assert (photo.place_city, photo.place_country, photo.place_country_code, photo.place_source) == \
        ("Porto", "Portugal", "PT", "embedded")
    assert photo.embedded_checked

    body = client_for(alice).get(photo.get_absolute_url()).content.decode()
    assert "Tram 28 up the hill" in body and "The yellow tram climbing" in body and "Porto" in body
    assert body.count('class="tag-source"') == 6  # "from the file" beside each embedded tag, not the member's

    api = client_for(alice).get(reverse("api_photo_detail", args=[photo.pk])).json()
    assert "Family trip" in api["tags"] and "Lisbon" in api["tags"]
    assert {"name": "Lisbon", "source": "embedded"} in api["tag_details"]
    assert {"name": "Family trip", "source": "member"} in api["tag_details"]
    assert (api["title_source"], api["description_source"]) == ("embedded", "embedded")


def test_exif_text_fields_are_read_too(family, alice):
    data = images.with_metadata(picture(), exif={
        "Exif.Image.XPKeywords": "Beach;Sunset", "Exif.Image.XPTitle": "Évora evening",
        "Exif.Image.ImageDescription": "OLYMPUS DIGITAL CAMERA",  # a camera's placeholder: not a description
        "Exif.Photo.UserComment": "charset=Unicode Grandpa's boat",
    })
    photo = upload(family, alice, data)
    assert sources(photo) == {"Beach": "embedded", "Sunset": "embedded"}
    assert photo.title == "Évora evening"
    assert photo.description == "Grandpa's boat"


def user_comment(raw: bytes) -> bytes:
    """A JPEG whose EXIF UserComment holds `raw` (its 8-byte character set, then the text) as Pillow writes it, and
    with it the programs built on it: typed BYTE, not UNDEFINED as a camera's."""
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9286] = raw
    return picture(exif=exif)


@pytest.mark.parametrize("raw, description", [
    (b"ASCII\x00\x00\x00Boat trip" + b"\x00" * 12, "Boat trip"),
    (b"UNICODE\x00" + "Zoë’s bike".encode("utf-16le"), "Zoë’s bike"),
    (b"UNICODE\x00" + "Zoë’s bike".encode("utf-16be"), "Zoë’s bike"),
    (b"\x00" * 8 + "Café".encode(), "Café"),  # undefined: UTF-8, as the text of files is
    (b"JIS\x00\x00\x00\x00\x00" + "家族旅行".encode("shift_jis"), "家族旅行"),
    (b"ASCII\x00\x00\x00" + b" " * 40, ""),  # what a camera writes when nobody wrote anything
    (b"\x00" * 48, ""),
])
def test_a_user_comment_written_as_bytes_is_its_text_not_their_numbers(family, alice, raw, description):
    # exiv2 hands a UserComment typed BYTE over as the bytes' numbers: "65 83 67 73 73 0 0 0 66 111 97 116 ..." was
    # the photo's description, shown on its page and searched.
    photo = upload(family, alice, user_comment(raw))
    assert photo.description == description


def test_a_title_windows_also_wrote_as_the_description_is_the_title_only(family, alice, client_for):
    # Windows Explorer's "Title" goes into XMP dc:title, XPTitle and EXIF ImageDescription alike: every photo a family
    # titled there showed its title twice, once as the description (and was searched as if it said it twice).
    data = images.with_metadata(picture(), exif={
        "Exif.Image.ImageDescription": "Beach day", "Exif.Image.XPTitle": "Beach day"}, xmp={
        "Xmp.dc.title": {'lang="x-default"': "Beach day"}})
    photo = upload(family, alice, data)
    assert (photo.title, photo.title_source) == ("Beach day", "embedded")
    assert (photo.description, photo.description_source) == ("", "")
    # A description that says more than the title stays.
    said_more = images.with_metadata(picture(), exif={
        "Exif.Image.ImageDescription": "Beach day with Grandma", "Exif.Image.XPTitle": "beach  day"})
    assert upload(family, alice, said_more).description == "Beach day with Grandma"
    # Windows' "Comments" (XPComment) is then the description.
    commented = images.with_metadata(picture(), exif={
        "Exif.Image.ImageDescription": "Lake", "Exif.Image.XPTitle": "Lake", "Exif.Image.XPComment": "Grandma's 80th"})
    assert upload(family, alice, commented).description == "Grandma's 80th"


@pytest.mark.parametrize("fields", [
    {"xmp": {"Xmp.dc.title": {'lang="x-default"': "IMG_1234.jpg"}}},  # Flickr's and some exporters' title
    {"iptc": {"Iptc.Application2.Headline": "IMG_1234"}},
    {"exif": {"Exif.Image.XPTitle": "img_1234.JPG"}},
])
def test_a_title_that_is_only_the_files_name_is_no_title(family, alice, fields):
    # A title written as the file's name said nothing, yet was shown as written ("IMG_1234.jpg") and searched as a
    # title a person gave, above the file name's own words.
    photo = upload(family, alice, images.with_metadata(picture(), **fields), filename="IMG_1234.jpg")
    assert (photo.title, photo.title_source) == ("IMG 1234", "")
    # One that says more than the name is a title.
    for title, filename in (("IMG_1234 at the lake", "IMG_1234.jpg"), ("Mr. Smith", "Mr.jpg")):
        said_more = images.with_metadata(picture(), xmp={"Xmp.dc.title": {'lang="x-default"': title}})
        assert upload(family, alice, said_more, filename=filename).title == title
    # Reading the file again takes such a title stored before away.
    Photo.objects.filter(pk=photo.pk).update(title="IMG_1234.jpg", title_source="embedded")
    photo_embedded_read(photo=Photo.objects.get(pk=photo.pk))
    assert Photo.objects.filter(pk=photo.pk).values_list("title", "title_source").get() == ("IMG 1234", "")


@pytest.mark.parametrize("title, filename, made", [
    ("C:\\Users\\Ann\\Pictures\\IMG_1234.jpg", "IMG_1234.jpg", "IMG 1234"),  # the path some exporters write
    ("/home/ann/Pictures/IMG_1234.JPG", "IMG_1234.jpg", "IMG 1234"),
    ("IMG_1234.jpg", "IMG_1234 (1).jpg", "IMG 1234 (1)"),  # a browser's name for a second download of it
])
def test_a_title_that_is_the_files_name_with_its_folders_or_before_a_browser_renamed_it_is_no_title(
        family, alice, title, filename, made):
    photo = upload(family, alice, images.with_metadata(picture(), xmp={"Xmp.dc.title": {'lang="x-default"': title}}),
                   filename=filename)
    assert (photo.title, photo.title_source) == (made, "")


@pytest.mark.parametrize("typed", ["IMG_1234.jpg", "img 1234", "Grandma at the lake"])
def test_a_title_a_member_typed_stays_when_the_file_says_only_its_name(family, alice, typed):
    # Titles record who wrote them: one a member typed is theirs even when it is the file's name.
    photo = upload(family, alice, images.with_metadata(
        picture(), xmp={"Xmp.dc.title": {'lang="x-default"': "IMG_1234.jpg"}}), filename="IMG_1234.jpg")
    photo_update(photo=photo, title=typed, user=alice)
    photo_embedded_read(photo=Photo.objects.get(pk=photo.pk))
    call_command("read_embedded", "--all", "--no-progress", stdout=io.StringIO())
    assert Photo.objects.filter(pk=photo.pk).values_list("title", "title_source").get() == (typed, "member")


@pytest.mark.parametrize("title, filename", [
    ("Anna.Maria", "Anna.jpg"),  # a dot before a word that names no image format: no file name's extension
    ("Mother-in-law", "Mother in law.jpg"),  # punctuation is the person's (the title made from the name drops it)
    ("Mum/Dad", "Dad.jpg"),  # a slash with no image file's name after it: no folder
])
def test_a_title_that_only_resembles_the_files_name_is_a_title(family, alice, title, filename):
    photo = upload(family, alice, images.with_metadata(picture(), xmp={"Xmp.dc.title": {'lang="x-default"': title}}),
                   filename=filename)
    assert (photo.title, photo.title_source) == (title, "embedded")


def alt(name: bytes, *entries: tuple[bytes, bytes]) -> bytes:
    """An XMP language alternative (dc:title, dc:description) of these (language, text) entries, in this order."""
    items = b"".join(b'<rdf:li xml:lang="%s">%s</rdf:li>' % entry for entry in entries)
    return b"<%s><rdf:Alt>%s</rdf:Alt></%s>" % (name, items, name)


def test_a_blank_x_default_title_or_description_hides_no_other_languages(family, alice):
    # A program that writes the user's language and leaves x-default empty (or a space) gave no title and no
    # description, the German or Portuguese one written beside it unseen. The first alternative that says something
    # is taken, x-default first when it does.
    blank_default = images.with_raw_xmp(picture(), images.xmp_packet(
        alt(b"dc:title", (b"x-default", b""), (b"de-DE", "Straßenbahn 28".encode()), (b"fr-FR", b"Tram 28"))
        + alt(b"dc:description", (b"x-default", b"  "), (b"pt-PT", "O elétrico amarelo".encode()))))
    photo = upload(family, alice, blank_default)
    assert (photo.title, photo.title_source) == ("Straßenbahn 28", "embedded")
    assert (photo.description, photo.description_source) == ("O elétrico amarelo", "embedded")

    default_last = images.with_raw_xmp(picture(), images.xmp_packet(
        alt(b"dc:title", (b"de-DE", "Straßenbahn 28".encode()), (b"x-default", b"Tram 28"))))
    assert upload(family, alice, default_last).title == "Tram 28"


def test_a_title_or_description_that_holds_lang_is_read_whole(family, alice):
    # exiv2 hands a language alternative over as one text, 'lang="x-default" Text, lang="de-DE" Text', which the reader
    # split at each ', lang="…" ': a caption quoting HTML lost its tail as a language of its own, and with a blank
    # x-default that bogus language ("aa", before "de-DE") was the one taken. Each language's text is read apart.
    quoting = 'The sign reads <span lang="pt">, lang="pt" Sé</span>'
    data = images.with_metadata(picture(), xmp={
        "Xmp.dc.title": {'lang="x-default"': 'Menu, lang="fr" du jour', 'lang="de-DE"': "Speisekarte"},
        "Xmp.dc.description": {'lang="x-default"': " ", 'lang="de-DE"': f'{quoting}, lang="aa" Ende'}})
    photo = upload(family, alice, data)
    assert (photo.title, photo.description) == ('Menu, lang="fr" du jour', f'{quoting}, lang="aa" Ende')

    # The same from a packet written by hand (entities, CDATA, a plain dc:title="…", every language in the file's
    # order), as exiv2 reads it; still x-default first, then by language.
    packet = images.xmp_packet(alt(b"dc:description", (b"fr-FR", b"Texte, lang=&quot;en&quot; fin"),
                                   (b"de-DE", b'<![CDATA[Text <b lang="en">, lang="en" </b> Ende]]>'),
                                   (b"x-default", b" ")))
    packet = packet.replace(b'rdf:about=""', b'rdf:about="" dc:title="Plain, lang=&quot;en&quot; title"')
    fields = read_embedded_fields(images.with_raw_xmp(picture(), packet))
    assert fields["Xmp.dc.title"] == ['Plain, lang="en" title']
    assert fields["Xmp.dc.description"] == [" ", 'Text <b lang="en">, lang="en" </b> Ende', 'Texte, lang="en" fin']


def test_a_note_about_the_languages_of_a_title_leaves_the_files_keywords_known_whole():
    """Only what the reader skipped of keywords makes them not known whole (Embedded.keywords_complete: then no tag from
    the file is taken off for lacking). Its note that the packet read for the languages of a title or a description is
    no plain XML began "xmp:", as a whole XMP block lost does, and so kept a keyword taken off the file on the photo."""
    from gallery import embedded_reader
    from gallery.embedded import interpret

    notes: list[str] = []
    embedded_reader.packet_alternatives(images.xmp_entity_bomb(), notes=notes)
    assert notes and interpret({"Xmp.dc.subject": ["beach"]}, skipped=notes).keywords_complete

    lost = embedded_reader.read(images.with_raw_xmp(picture(), images.xmp_entity_bomb()))["skipped"]
    assert lost and not interpret({}, skipped=lost).keywords_complete  # (the XMP exiv2 could not parse)


def test_a_packet_with_a_dtd_gives_no_languages_and_exiv2s_text_is_read_as_before():
    # The packet exiv2 serialises has no DTD; one that had (a bomb) is not expanded, said, and exiv2's own text read.
    from gallery import embedded_reader

    notes: list[str] = []
    assert embedded_reader.packet_alternatives(images.xmp_entity_bomb(), notes=notes) is None
    assert notes == ["Xmp.dc.title, Xmp.dc.description: its packet is no plain XML (a DTD or an entity declaration)"]
    texts = embedded_reader.language_texts('lang="x-default" Tram, lang="de-DE" Bahn', None, key="Xmp.dc.title",
                                           notes=notes)
    assert texts == ["Tram", "Bahn"] and notes[1:] == [
        """Xmp.dc.title: its languages read from exiv2's text, where one holding ', lang="' may be cut"""]


def read_embedded_fields(data: bytes) -> dict:
    """What the reader process sends back for `data`: exiv2's keys and their texts."""
    from gallery import embedded

    fields, skipped = embedded._reader.read(embedded.metadata_bytes(data))
    assert skipped == []
    return fields


# What cameras and phones write into EXIF ImageDescription by themselves: Samsung's compacts and early Galaxies, a model
# in angle brackets, the folder on the card, and Huawei's and Honor's shooting modes (HDR, night, portrait, burst),
# which a family's phone photos carry by the thousand.
CAMERA_DESCRIPTIONS = ("SAMSUNG CAMERA PICTURES", "SAMSUNG DIGITAL CAMERA", "<KENOX S1050 / Samsung S1050>",
                       "<Digimax i5, Samsung #1>", "DCIM\\100OLYMP", "rhdr", "hdrpl", "oznorWO", "fbt", "mde_soft",
                       "sdr_HDRB", "burst", "KODAK Digital Still Camera", "MOULTRIE DIGITAL GAME CAMERA")


@pytest.mark.parametrize("junk", CAMERA_DESCRIPTIONS)
def test_what_a_camera_or_phone_writes_by_itself_is_no_description(family, alice, junk):
    photo = upload(family, alice, images.with_metadata(picture(), exif={"Exif.Image.ImageDescription": junk}))
    assert (photo.description, photo.description_source) == ("", "")


def test_a_phones_mode_is_no_description_in_exif_alone_and_a_real_one_stays(family, alice):
    # Huawei's mode words are short: a person may write one in a caption of their own (XMP, IPTC); a camera's field
    # that says something else is a description.
    assert upload(family, alice, images.with_metadata(picture(), xmp={
        "Xmp.dc.description": {'lang="x-default"': "burst"}})).description == "burst"
    assert upload(family, alice, images.with_metadata(picture(), exif={
        "Exif.Image.ImageDescription": "Samsung party at the office"})).description == "Samsung party at the office"


def test_reading_the_file_again_takes_away_a_cameras_description_stored_before(family, alice, client_for):
    # Stored by an earlier reader that took "SAMSUNG CAMERA PICTURES" and Huawei's "rhdr" for descriptions: reading
    # the files again (read_embedded --all, the photo page's re-read) leaves those photos without one; a description
    # the file does not hold (a member's, a Takeout caption) stays.
    samsung, huawei, captioned = (
        upload(family, alice, images.with_metadata(picture(), exif={"Exif.Image.ImageDescription": junk}))
        for junk in ("SAMSUNG CAMERA PICTURES", "rhdr", "rhdr"))
    Photo.objects.filter(pk=samsung.pk).update(description="SAMSUNG CAMERA PICTURES", description_source="embedded")
    Photo.objects.filter(pk=huawei.pk).update(description="rhdr", description_source="embedded")
    Photo.objects.filter(pk=captioned.pk).update(description="Our first flat", description_source="embedded")
    call_command("read_embedded", "--all", "--no-progress", stdout=io.StringIO())
    for photo in (samsung, huawei, captioned):
        photo.refresh_from_db()
    assert (samsung.description, samsung.description_source) == ("", "")
    assert (huawei.description, huawei.description_source) == ("", "")
    assert (captioned.description, captioned.description_source) == ("Our first flat", "embedded")
    assert "rhdr" not in client_for(alice).get(huawei.get_absolute_url()).content.decode()


def test_darktable_and_digikam_bookkeeping_tags_are_no_keywords(family, alice):
    # darktable writes the file's format and its own states under "darktable|"; their leaves ("jpg", "changed") were
    # tags of every exported photo. digiKam keeps its colour and pick labels under an internal root.
    data = images.with_metadata(picture(), xmp={
        "Xmp.dc.subject": ["beach", "darktable|exported"],
        "Xmp.lr.hierarchicalSubject": ["darktable|format|jpg", "darktable|changed", "Darktable|exported",
                                       "Places|Sagres"],
        "Xmp.digiKam.TagsList": ["_Digikam_Internal_Tags_/Color Label Red", "People/Grandma"],
    })
    photo = upload(family, alice, data)
    assert sources(photo) == {"beach": "embedded", "Sagres": "embedded", "Grandma": "embedded"}


# --- people named in face regions ----------------------------------------------------------------------------------


def test_the_people_named_in_a_files_mwg_face_regions_are_tags_from_the_file(family, alice, client_for):
    """Lightroom, digiKam, Picasa and Apple write the people they recognised as MWG face regions: a family's years of
    face tagging were lost on upload, as only keywords were read. Each face's name is a tag from the file now, shown
    as one on the photo page; a region of another type (a pet, the focus point) and a face without a name give none
    (a named region without a type is a face: test_a_named_mwg_region_without_a_type_is_a_person)."""
    data = images.with_metadata(picture(), xmp=images.face_regions(
        "Alice Smith", ("Rex", "Pet"), ("Centre", "Focus"), ("", "Face"), ("Tom", "face")))

    response = client_for(alice).post(reverse("gallery:upload"), {
        "family": family.pk, "files": [SimpleUploadedFile("IMG_0001.jpg", data)]})

    assert response.status_code == 200
    photo = Photo.objects.get(family=family, original_filename="IMG_0001.jpg")
    assert sources(photo) == {"Alice Smith": "embedded", "Tom": "embedded"}
    page = client_for(alice).get(photo.get_absolute_url()).content.decode()
    assert "Alice Smith" in page and "from the file" in page


def test_a_named_mwg_region_without_a_type_is_a_person(family, alice):
    """MWG makes a region's type optional (mwg-rs:Type), and Immich reads a named region without one as a person: such
    a region (or one whose type is blank) named nobody here, so the people a program wrote that way were lost. It is
    a face now, under every rule of a face's name (the comma, digiKam's unnamed faces); a pet, the focus point and a
    barcode still name nobody, nor does a type that is no text."""
    data = images.with_metadata(picture(), xmp=images.face_regions(
        ("Grandma Rosa", ""), ("Smith, John", ""), ("Unknown", ""), ("Ignored", ""), ("", ""), ("Rex", "Pet"),
        ("Centre", "Focus"), ("4006381333931", "BarCode"), ("Tom", " ")))
    assert sources(upload(family, alice, data)) == {"Grandma Rosa": "embedded", "Smith John": "embedded",
                                                     "Tom": "embedded"}

    odd = images.xmp_packet(
        b'<mwg-rs:Regions xmlns:mwg-rs="http://www.metadataworkinggroup.com/schemas/regions/" rdf:parseType="Resource">'
        b"<mwg-rs:RegionList><rdf:Bag>"
        b'<rdf:li><rdf:Description mwg-rs:Name="Ann"/></rdf:li>'
        b'<rdf:li rdf:parseType="Resource"><mwg-rs:Name>Bo</mwg-rs:Name><mwg-rs:Type><rdf:Bag><rdf:li>Pet</rdf:li>'
        b"</rdf:Bag></mwg-rs:Type></rdf:li>"
        b"</rdf:Bag></mwg-rs:RegionList></mwg-rs:Regions>")
    assert sources(upload(family, alice, images.with_raw_xmp(picture(), odd), filename="IMG_0002.jpg")) == {
        "Ann": "embedded"}


def test_the_people_named_in_a_files_microsoft_photo_regions_are_tags_from_the_file(family, alice):
    # Windows Live Photo Gallery's people tags (digiKam writes them too): regions without a type, each a person's
    # display name; one it found a face in but nobody named has no name.
    data = images.with_metadata(picture(), xmp=images.face_regions(microsoft=("Grandma Rosa", "", "Uncle Tom")))
    assert sources(upload(family, alice, data)) == {"Grandma Rosa": "embedded", "Uncle Tom": "embedded"}


def test_a_person_named_as_a_face_and_as_a_keyword_path_is_one_tag(family, alice):
    """digiKam writes a person as the tag path "People/Alice" in TagsList and as the face region "Alice", Lightroom as
    "People|Bob" in lr:hierarchicalSubject and as a face: a keyword path gives its leaf, so the two are one tag, once
    whatever the case (the keyword's spelling first); digiKam's MP copy of the same faces adds nothing."""
    data = images.with_metadata(picture(), xmp={
        "Xmp.digiKam.TagsList": ["People/Alice", "Places/Sagres"],
        "Xmp.lr.hierarchicalSubject": ["People|Bob"],
        **images.face_regions("Alice", "bob", "Carol", microsoft=("Alice", "BOB", "Carol")),
    })
    assert sources(upload(family, alice, data)) == {"Alice": "embedded", "Bob": "embedded", "Sagres": "embedded",
                                                     "Carol": "embedded"}


def test_a_face_named_last_name_first_is_one_person_and_digikams_unnamed_faces_are_nobody(family, alice):
    """Lightroom and Picasa users often name people "Smith, John": a keyword's commas make as many tags, so the person
    became two tags "Smith" and "John"; a person is one tag, "Smith John", as a Google Photos person is. digiKam names
    the faces nobody named or confirmed "Unknown", "Unconfirmed" or "Ignored": no person of the family."""
    data = images.with_metadata(picture(), xmp=images.face_regions(
        "Smith, John", "Unknown", "unconfirmed", "Ignored", microsoft=("Doe, Jane",)))
    assert sources(upload(family, alice, data)) == {"Smith John": "embedded", "Doe Jane": "embedded"}


def test_reading_the_files_again_gives_photos_stored_before_the_people_their_faces_name(family, alice):
    # Photos read by the earlier reader, which read no face region: `read_embedded --all` reads them again.
    photo = upload(family, alice, images.with_metadata(picture(), xmp={
        "Xmp.dc.subject": ["beach"], **images.face_regions("Grandma Rosa")}))
    PhotoTag.objects.filter(photo=photo, tag__name="Grandma Rosa").delete()  # as the earlier reader left it
    call_command("read_embedded", "--all", "--no-progress", stdout=io.StringIO())
    assert sources(photo) == {"beach": "embedded", "Grandma Rosa": "embedded"}

def test_face_names_are_cleaned_as_keywords_and_a_hostile_region_list_is_limited_with_log_lines(
        family, alice, caplog):
    """A face's name follows a keyword's rules (gallery.text): invisible marks and control characters are dropped,
    one longer than a tag is left out with a log line. A name that is no text (a list, a structure, a language
    alternative) is left out with a log line, and so are the regions past the first thousand: a sidecar or a file
    naming thousands of faces costs its own names past the limit, never the photo nor its other metadata."""
    from gallery.embedded_reader import MAX_ITEMS

    odd = images.xmp_packet(
        b'<mwg-rs:Regions xmlns:mwg-rs="http://www.metadataworkinggroup.com/schemas/regions/" rdf:parseType="Resource">'
        b"<mwg-rs:RegionList><rdf:Bag>"
        b'<rdf:li><rdf:Description mwg-rs:Name="Gran\xe2\x80\x8bdma Ro\xc2\xadsa" mwg-rs:Type="Face"/></rdf:li>'
        b'<rdf:li><rdf:Description mwg-rs:Name="' + b"L" * 80 + b'" mwg-rs:Type="Face"/></rdf:li>'
        b'<rdf:li rdf:parseType="Resource"><mwg-rs:Name><rdf:Bag><rdf:li>Ann</rdf:li><rdf:li>Bo</rdf:li></rdf:Bag>'
        b"</mwg-rs:Name><mwg-rs:Type>Face</mwg-rs:Type></rdf:li>"
        b'<rdf:li rdf:parseType="Resource"><mwg-rs:Name rdf:parseType="Resource"><mwg-rs:X>1</mwg-rs:X></mwg-rs:Name>'
        b"<mwg-rs:Type>Face</mwg-rs:Type></rdf:li>"
        b"</rdf:Bag></mwg-rs:RegionList></mwg-rs:Regions><dc:subject><rdf:Bag><rdf:li>beach</rdf:li></rdf:Bag>"
        b"</dc:subject>")
    with caplog.at_level(logging.WARNING, logger="gallery"):
        photo = upload(family, alice, images.with_raw_xmp(picture(), odd))
    assert sources(photo) == {"Grandma Rosa": "embedded", "beach": "embedded"}
    assert "a 80-character keyword (tags hold 64): LLLL" in caplog.text
    assert caplog.text.count("mwg-rs:Name: not a text") == 2

    crowd = images.xmp_packet(
        b'<mwg-rs:Regions xmlns:mwg-rs="http://www.metadataworkinggroup.com/schemas/regions/" rdf:parseType="Resource">'
        b"<mwg-rs:RegionList><rdf:Bag>" + b"".join(
            b'<rdf:li><rdf:Description mwg-rs:Name="Person %d" mwg-rs:Type="Face"/></rdf:li>' % n
            for n in range(MAX_ITEMS + 500)) + b"</rdf:Bag></mwg-rs:RegionList></mwg-rs:Regions>")
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="gallery"):
        embedded = read_embedded(crowd, label="crowd.xmp")
    assert len(embedded.keywords) == MAX_ITEMS and embedded.keywords[:2] == ("Person 0", "Person 1")
    assert not embedded.keywords_complete  # (what was left out may be a name: no tag is taken off for lacking it)
    assert f"crowd.xmp: embedded metadata skipped: face regions: 500 past the first {MAX_ITEMS}" in caplog.text


def test_invisible_characters_in_a_files_text_are_dropped_so_its_tags_are_the_ones_people_type(family, alice):
    # A byte-order mark before a keyword or caption (tools that write UTF-8 or UTF-16 with one), a zero-width space
    # or a soft hyphen made "\ufeffEaster" a tag of its own beside "Easter", looking the same and never found by
    # typing it; a right-to-left override showed "\u202eevil" as "live".
    data = images.with_metadata(picture(), exif={"Exif.Image.XPKeywords": "\ufeffEaster;Eggs"}, xmp={
        "Xmp.dc.subject": ["Gar\u00adden", "Sun\u200bset", "\u202eevil", "\u2066Grandma\u2069", "👨‍👩‍👧 family"],
        "Xmp.dc.title": {'lang="x-default"': "\ufeffEgg hunt"},
        "Xmp.dc.description": {'lang="x-default"': "\ufeffKids found 12 eggs\u200b"},
    })
    photo = upload(family, alice, data, tags=["Easter"])
    assert sources(photo) == {"Easter": "member", "Eggs": "embedded", "Garden": "embedded", "Sunset": "embedded",
                              "evil": "embedded", "Grandma": "embedded", "👨‍👩‍👧 family": "embedded"}  # (ZWJ kept)
    assert (photo.title, photo.description) == ("Egg hunt", "Kids found 12 eggs")


def test_the_cameras_make_and_model_lose_control_and_invisible_characters_as_the_files_other_text_does(
        family, alice, client_for):
    # EXIF Make and Model were kept as the file wrote them (NUL aside): a terminal's escape codes, a bell and a
    # backspace came out on the photo page and in the API, where the file's title, keywords and caption lose them.
    data = images.with_metadata(picture(), exif={"Exif.Image.Make": "\x1b]0;pwned\x07\x1b[31mCanon\x08",
                                                  "Exif.Image.Model": "EOS\x1b[2J 5D"})
    photo = upload(family, alice, data)
    assert (photo.camera_make, photo.camera_model) == ("]0;pwned[31mCanon", "EOS[2J 5D")
    page = client_for(alice).get(photo.get_absolute_url()).content.decode()
    assert "\x1b" not in page and "\x07" not in page


def test_a_files_decomposed_accents_are_the_tags_people_type(family, alice, client_for):
    # A keyword written with decomposed accents ("e" + U+0301, as macOS file names and some tools write them) was a
    # tag of its own beside the composed "école" a member types or another file holds: two chips alike on the photo
    # page, and the tag filter (?tag=école, as typed) never found the decomposed one.
    data = images.with_metadata(picture(), xmp={
        "Xmp.dc.subject": ["e\u0301cole", "\u00e9cole", "Sa\u0303o Paulo"],
        "Xmp.dc.title": {'lang="x-default"': "Cafe\u0301 da manha\u0303"},
    })
    photo = upload(family, alice, data, tags=["Crème"])
    photo_tags_add(photo=photo, names=["Cre\u0300me"], source=PhotoTag.Source.EMBEDDED)  # as a file gives it
    photo_embedded_read(photo=photo)
    assert sources(photo) == {"\u00e9cole": "embedded", "S\u00e3o Paulo": "embedded", "Crème": "member"}
    assert photo.title == "Caf\u00e9 da manh\u00e3"
    page = client_for(alice).get(reverse("gallery:timeline"), {"tag": "São Paulo"}).content.decode()
    assert photo.get_absolute_url() in page


def test_reading_again_replaces_the_invisible_marks_an_earlier_reader_kept(family, alice, settings):
    # Photos read before the marks were dropped carry "\ufeffEaster"; `read_embedded --all` then added "Easter"
    # beside it, two tags alike on screen: the file's tag is the clean one now, a member's own tags stay.
    data = images.with_metadata(picture(), exif={"Exif.Image.XPKeywords": "\ufeffEaster;Eggs"})
    settings.EMBEDDED_METADATA = False
    photo = upload(family, alice, data, tags=["zero\u200bwidth"])
    settings.EMBEDDED_METADATA = True
    photo_tags_add(photo=photo, names=["\ufeffEaster", "Eggs"], source=PhotoTag.Source.EMBEDDED)  # as read before
    photo_embedded_read(photo=photo)
    assert sources(photo) == {"Easter": "embedded", "Eggs": "embedded", "zero\u200bwidth": "member"}


def test_reading_again_takes_off_a_keyword_the_file_no_longer_gives_never_a_members_tag(family, alice, settings):
    """A tag from the file that the file no longer gives (an earlier reader took darktable's "darktable|format|nef"
    by its leaf, "nef") leaves the photo when the file is read again (read_embedded, the photo page's "read the
    file again"), its search document with it; a member's tag, an accepted suggestion and what the file gives stay.
    Nothing leaves when the file can't be read (the reader failed, the file is gone), nor from a photo whose XMP
    sidecar was read: the file alone can't tell that sidecar's keywords."""
    from search.models import PhotoDocument

    data = images.with_metadata(picture(), xmp={"Xmp.dc.subject": ["Lisbon", "Tram"],
                                                "Xmp.lr.hierarchicalSubject": ["darktable|format|nef"]})
    photo = upload(family, alice, data, tags=["Grandma"])
    photo_tags_add(photo=photo, names=["nef", "exported", "tram stop"], source=PhotoTag.Source.EMBEDDED)  # as read
    photo_tags_add(photo=photo, names=["tram stop"], source=PhotoTag.Source.SUGGESTION, user=alice)  # accepted
    photo_tags_add(photo=photo, names=["exported"], source=PhotoTag.Source.MEMBER, user=alice)  # re-typed

    settings.EMBEDDED_MAX_MEMORY = 1  # the reader can't start: nothing is known of the file's keywords
    photo_embedded_read(photo=Photo.objects.get(pk=photo.pk))
    assert "nef" in sources(photo)
    settings.EMBEDDED_MAX_MEMORY = 512 * 1024 * 1024

    photo_embedded_read(photo=Photo.objects.get(pk=photo.pk))

    assert sources(photo) == {"Lisbon": "embedded", "Tram": "embedded", "Grandma": "member",
                              "tram stop": "suggestion", "exported": "member"}
    assert "nef" not in PhotoDocument.objects.get(photo=photo).words.split()

    with_sidecar = upload(family, alice, images.with_metadata(picture(), xmp={"Xmp.dc.subject": ["Lisbon"]}))
    photo_tags_add(photo=with_sidecar, names=["castle"], source=PhotoTag.Source.EMBEDDED)  # its sidecar's
    Photo.objects.filter(pk=with_sidecar.pk).update(xmp_sidecar_sha256="ab" * 32)
    gone = upload(family, alice, images.with_metadata(picture(), xmp={"Xmp.dc.subject": ["Lisbon"]}),
                  filename="IMG_0002.jpg")
    photo_tags_add(photo=gone, names=["castle"], source=PhotoTag.Source.EMBEDDED)
    gone.original.storage.delete(gone.original.name)
    call_command("read_embedded", "--all", "--no-progress", stdout=io.StringIO())
    assert sources(with_sidecar) == {"Lisbon": "embedded", "castle": "embedded"}
    assert sources(gone) == {"Lisbon": "embedded", "castle": "embedded"}


def test_a_gps_place_wins_over_the_iptc_location(family, alice):
    data = images.with_metadata(images.gps_jpeg(*LISBON), iptc=IPTC)
    photo = upload(family, alice, data)
    assert (photo.place_city, photo.place_source) == ("Lisbon", "gps")


def test_a_member_title_or_description_is_never_replaced(family, alice, client_for, settings):
    data = images.with_metadata(picture(), xmp=LIGHTROOM)
    # Typed at upload: the member's.
    photo = upload(family, alice, data, description="Our day out")
    assert (photo.description, photo.description_source) == ("Our day out", "member")
    assert photo.title_source == "embedded"
    # Edited through the API: the member's, and reading the file again changes nothing.
    response = client_for(alice).patch(reverse("api_photo_detail", args=[photo.pk]), {"title": "Tram!"},
                                       content_type="application/json")
    assert response.status_code == 200 and response.json()["title_source"] == "member"
    call_command("read_embedded", "--all", "--no-progress", stdout=io.StringIO())
    photo.refresh_from_db()
    assert (photo.title, photo.title_source, photo.description) == ("Tram!", "member", "Our day out")
    # Re-typing an embedded tag makes it the member's; reading the file again keeps it so.
    photo_update(photo=photo, tags=["Lisbon", "Tram", "Boat"], user=alice)
    assert sources(photo) == {"Lisbon": "embedded", "Tram": "embedded", "Boat": "member"}


def test_a_keyword_a_member_removed_never_comes_back_when_the_file_is_read_again(family, alice, client_for):
    from gallery.services import photos_tag_remove, tags_delete

    # Lightroom writes the parents too ("Places", "Portugal"): a family cleans them up, by every way there is.
    photos = [upload(family, alice, images.with_metadata(picture(), xmp=LIGHTROOM), filename=f"IMG_{n}.jpg")
              for n in range(4)]
    photo_update(photo=photos[0], tags=["Lisbon", "Tram", "Grandma Rosa"], user=alice)  # page, API PATCH, admin
    response = client_for(alice).post(reverse("api_photos_bulk"), {
        "action": "remove_tags", "photos": [photos[1].pk], "tags": ["places", "PORTUGAL"]},
        content_type="application/json")
    assert response.status_code == 200, response.content
    photos_tag_remove(photos=[photos[2]], name="Places", user=alice)  # the admin's action
    photos_tag_remove(photos=[photos[2]], name="Portugal", user=alice)
    tags_delete(tags=Tag.objects.filter(family=family, name="Places"))  # gone from the family: from photo 3 too

    call_command("read_embedded", "--all", "--no-progress", stdout=io.StringIO())
    for photo in photos[:3]:
        assert client_for(alice).post(reverse("api_photo_read_metadata", args=[photo.pk])).status_code == 200
    for photo in photos[:3]:
        assert sources(photo) == {"Lisbon": "embedded", "Tram": "embedded", "Grandma Rosa": "embedded"}, photo
    assert sources(photos[3]) == {"Lisbon": "embedded", "Tram": "embedded", "Grandma Rosa": "embedded",
                                  "Portugal": "embedded"}  # only the tag deleted stays away
    # A member may always put one back: then it is theirs.
    photo_update(photo=photos[0], tags=["Lisbon", "Tram", "Grandma Rosa", "Portugal"], user=alice)
    assert sources(photos[0])["Portugal"] == "member"


def test_page_form_and_admin_edits_are_the_members(family, alice, client_for):
    from django.contrib.auth import get_user_model

    photo = upload(family, alice, images.with_metadata(picture(), xmp=LIGHTROOM))
    client = client_for(alice)
    response = client.post(reverse("gallery:photo_edit", args=[photo.pk]),
                           {"title": photo.title, "description": "Mine now", "tags": "Lisbon"})
    assert response.status_code in (200, 302)
    photo.refresh_from_db()
    # An unchanged title stays the file's; the changed description is the member's.
    assert (photo.title_source, photo.description_source) == ("embedded", "member")

    root = get_user_model().objects.create_superuser("root", password="pw-pw-pw-123")
    response = client_for(root).post(reverse("admin:gallery_photo_change", args=[photo.pk]),
                                     {"title": "Admin title", "description": "Mine now", "photo_tags": []})
    assert response.status_code == 302
    photo.refresh_from_db()
    assert (photo.title, photo.title_source) == ("Admin title", "member")


def test_reimporting_a_folder_keeps_member_edits(family, alice, tmp_path):
    folder = tmp_path / "import"
    folder.mkdir()
    (folder / "tram.jpg").write_bytes(images.with_metadata(picture(), xmp=LIGHTROOM, iptc=IPTC))
    call_command("import_photos", str(folder), family="Smiths", user="alice", no_progress=True, stdout=io.StringIO())
    photo = Photo.objects.get(family=family)
    assert photo.title == "Tram 28 up the hill" and sources(photo)["Lisbon"] == "embedded"

    photo_update(photo=photo, title="Grandma's tram", description="", tags=["Tram"], user=alice)
    call_command("import_photos", str(folder), family="Smiths", user="alice", no_progress=True, stdout=io.StringIO())
    call_command("read_embedded", "--all", "--no-progress", stdout=io.StringIO())
    photo.refresh_from_db()
    assert (photo.title, photo.description) == ("Grandma's tram", "")
    assert (photo.title_source, photo.description_source) == ("member", "member")


def test_read_embedded_fills_photos_stored_before_and_is_idempotent(family, alice, other_family, mallory, settings):
    settings.EMBEDDED_METADATA = False
    ours = upload(family, alice, images.with_metadata(picture(), xmp=LIGHTROOM))
    theirs = upload(other_family, mallory, images.with_metadata(picture(), iptc=IPTC))
    assert not ours.embedded_checked and not ours.tags.exists()
    settings.EMBEDDED_METADATA = True

    out = io.StringIO()
    call_command("read_embedded", "--family", "smiths", "--no-progress", stdout=out)
    assert "1 photo(s)" in out.getvalue()
    ours.refresh_from_db()
    theirs.refresh_from_db()
    assert ours.embedded_checked and ours.title == "Tram 28 up the hill"
    assert sources(ours)["Grandma Rosa"] == "embedded"
    assert not theirs.embedded_checked and not theirs.tags.exists()  # --family: the Joneses wait

    call_command("read_embedded", "--no-progress", stdout=out)  # the rest: the Joneses' photo only
    call_command("read_embedded", "--all", "--no-progress", stdout=out)  # again: nothing changes
    theirs.refresh_from_db()
    assert sources(theirs) == {"tram": "embedded", "Holiday": "embedded"}
    assert sources(ours) == {name: "embedded" for name in ("Lisbon", "Tram", "Places", "Portugal", "Grandma Rosa")}


def test_the_sweep_reads_photos_stored_before(family, alice, settings):
    from gallery.services import photos_embedded_sweep

    settings.EMBEDDED_METADATA = False
    photo = upload(family, alice, images.with_metadata(picture(), iptc=IPTC))
    settings.EMBEDDED_METADATA = True
    assert photos_embedded_sweep() == 1
    assert photos_embedded_sweep() == 0
    assert sources(photo) == {"tram": "embedded", "Holiday": "embedded"}


def test_tags_and_sources_stay_inside_their_family(family, alice, other_family, mallory, client_for):
    data = images.with_metadata(picture(), xmp=LIGHTROOM)
    ours = upload(family, alice, data, tags=["Lisbon"])  # typed by Alice as well
    theirs = upload(other_family, mallory, data)  # the same file in another family
    assert sources(ours)["Lisbon"] == "member"
    assert sources(theirs)["Lisbon"] == "embedded"
    assert {tag.family_id for tag in theirs.tags.all()} == {other_family.pk}
    assert Tag.objects.filter(name__iexact="lisbon").count() == 2
    # Neither family's API shows the other's photo or tags.
    assert client_for(mallory).get(reverse("api_photo_detail", args=[ours.pk])).status_code == 404
    listing = client_for(alice).get(reverse("api_photos")).json()["results"]
    assert [p["id"] for p in listing] == [ours.pk]
    assert all(detail["source"] == "member" for detail in listing[0]["tag_details"] if detail["name"] == "Lisbon")


def test_many_keywords_are_trimmed_never_refused(family, alice, caplog):
    keywords = [f"keyword {i:03d}" for i in range(MAX_TAGS + 30)]
    data = images.with_metadata(picture(), iptc={"Iptc.Application2.Keywords": keywords})
    with caplog.at_level(logging.INFO, logger="gallery"):
        photo = upload(family, alice, data, tags=["mine"])
    assert photo.tags.count() == MAX_TAGS
    assert sources(photo)["mine"] == "member"
    assert "past the 50-tag limit" in caplog.text


# --- time zones ---------------------------------------------------------------------------------


def exif_when(taken: str, offset: str | None = None) -> Image.Exif:
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = taken
    if offset:
        exif.get_ifd(0x8769)[0x9011] = offset
    return exif


def test_offset_time_original_is_honoured(family, alice, client_for):
    photo = upload(family, alice, picture(exif=exif_when("2023:07:14 12:00:00", "+05:30")))
    assert photo.taken_tz == "+05:30"
    assert photo.taken_at == datetime(2023, 7, 14, 6, 30, tzinfo=dt_timezone.utc)
    body = client_for(alice).get(photo.get_absolute_url()).content.decode()
    assert "14 Jul 2023 12:00" in body  # the local time, not the server's
    api = client_for(alice).get(reverse("api_photo_detail", args=[photo.pk])).json()
    assert api["taken_at_local"] == "2023-07-14T12:00:00+05:30" and api["taken_tz"] == "+05:30"


def test_without_an_offset_the_gps_position_gives_the_zone(family, alice, settings, client_for):
    settings.TIME_ZONE = "UTC"
    lisbon = upload(family, alice, images.gps_jpeg(*LISBON, taken="2023:07:14 12:00:00"))
    assert lisbon.taken_tz == "Europe/Lisbon"
    assert lisbon.taken_at == datetime(2023, 7, 14, 11, 0, tzinfo=dt_timezone.utc)  # WEST, UTC+1
    assert "14 Jul 2023 12:00" in client_for(alice).get(lisbon.get_absolute_url()).content.decode()
    nowhere = upload(family, alice, images.gps_jpeg(None, None, taken="2023:07:14 12:00:00"))
    assert nowhere.taken_tz == "UTC" and nowhere.taken_at == datetime(2023, 7, 14, 12, tzinfo=dt_timezone.utc)


def iptc_place(city: str, country: str, taken: str = "2021:06:14 23:30:00") -> bytes:
    return images.with_metadata(picture(exif=exif_when(taken)), iptc={"Iptc.Application2.City": city,
                                                                     "Iptc.Application2.CountryName": country})


@pytest.mark.parametrize("country, code", [
    ("Espana", "ES"), ("Osterreich", "AT"), ("Turkiye", "TR"), ("Cote d'Ivoire", "CI"),  # accents a tool left out
    ("Viet Nam", "VN"), ("Russian Federation", "RU"), ("Iran, Islamic Republic of", "IR"),  # ISO 3166's own names
])
def test_a_country_written_without_its_accents_or_by_its_iso_name_is_known(family, alice, country, code):
    # Cameras and older tools write ASCII alone ("Espana"), and others ISO 3166's names ("Viet Nam"): the photo kept
    # the text with no country, so it was in no country's filter and had no holidays nor a country's clock.
    photo = upload(family, alice, iptc_place("", country))
    assert photo.place_country_code == code


def test_a_place_the_file_names_without_a_position_gives_the_zone_of_a_country_with_one(family, alice, settings,
                                                                                        client_for):
    # An IPTC-only place set no zone: a camera's 23:30 in Berlin was read as 23:30 UTC, a day off for the search's
    # date filters and words once past midnight.
    settings.TIME_ZONE = "UTC"
    berlin = upload(family, alice, iptc_place("Berlin", "Deutschland"))
    assert berlin.place_country_code == "DE" and berlin.taken_tz == "Europe/Berlin"  # (and Busingen keeps its clock)
    assert berlin.taken_at == datetime(2021, 6, 14, 21, 30, tzinfo=dt_timezone.utc)  # CEST, UTC+2
    assert not berlin.taken_zone_assumed
    assert "14 Jun 2021 23:30" in client_for(alice).get(berlin.get_absolute_url()).content.decode()
    # A country whose zones keep different clocks tells none: the zone is assumed, as without a place.
    for city, country in (("Porto", "Portugal"), ("Boston", "USA"), ("Strelsau", "Ruritania")):
        photo = upload(family, alice, iptc_place(city, country))
        assert photo.taken_tz == "UTC" and photo.taken_zone_assumed, country
    # Reading the file again (read_embedded, a photo stored before) gives the same zone.
    Photo.objects.filter(pk=berlin.pk).update(taken_tz="", embedded_checked=False)
    photo_embedded_read(photo=Photo.objects.get(pk=berlin.pk))
    again = Photo.objects.get(pk=berlin.pk)
    assert again.taken_tz == "Europe/Berlin" and again.taken_at == berlin.taken_at


def test_dates_in_words_use_the_photos_own_zone(family, alice, settings):
    from search.metadata import _when_where

    settings.TIME_ZONE = "UTC"
    # 00:30 on New Year's Day in India is still 31 December in UTC.
    photo = upload(family, alice, picture(exif=exif_when("2024:01:01 00:30:00", "+05:30")))
    words = _when_where([photo.pk])[photo.pk][1].split()  # (place words, date words)
    assert "january" in words and "2024" in words and "december" not in words


# --- hostile metadata ---------------------------------------------------------------------------


def test_hostile_metadata_never_stops_an_upload(client_for, family, alice, caplog):
    png = io.BytesIO()
    Image.new("RGB", (40, 30), (9, 9, 9)).save(png, "PNG")
    huge_keyword = images.with_metadata(png.getvalue(), xmp={"Xmp.dc.subject": ["k" * 100_000, "Kept"]})
    invalid_utf8 = images.with_raw_xmp(
        images.with_metadata(picture(), iptc={"Iptc.Application2.Keywords": ["Survivor"]}),
        images.xmp_packet(b"<dc:subject><rdf:Bag><rdf:li>caf\xe9 \xff\xfe</rdf:li></rdf:Bag></dc:subject>"))
    bomb = images.with_raw_xmp(
        images.with_metadata(picture(), exif={"Exif.Image.XPKeywords": "AfterTheBomb"}), images.xmp_entity_bomb())
    deep = images.with_raw_xmp(picture(), images.xmp_packet(
        b"<dc:subject>" + b"<rdf:Bag><rdf:li>" * 1500 + b"x" + b"</rdf:li></rdf:Bag>" * 1500 + b"</dc:subject>"))
    good = images.with_metadata(picture(), xmp={"Xmp.dc.subject": ["Fine"]})
    files = [SimpleUploadedFile(name, data) for name, data in (
        ("huge.png", huge_keyword), ("utf8.jpg", invalid_utf8), ("bomb.jpg", bomb), ("deep.jpg", deep),
        ("good.jpg", good))]

    with caplog.at_level(logging.WARNING, logger="gallery"):
        response = client_for(alice).post(reverse("gallery:upload"), {"family": family.pk, "files": files})

    assert response.status_code == 200
    stored = {photo.original_filename: photo for photo in Photo.objects.filter(family=family)}
    assert set(stored) == {"huge.png", "utf8.jpg", "bomb.jpg", "deep.jpg", "good.jpg"}
    assert sources(stored["huge.png"]) == {"Kept": "embedded"}  # the 100 KB keyword alone is skipped
    assert sources(stored["utf8.jpg"]) == {"Survivor": "embedded"}  # the bad XMP alone is skipped
    assert sources(stored["bomb.jpg"]) == {"AfterTheBomb": "embedded"}
    assert sources(stored["good.jpg"]) == {"Fine": "embedded"}
    assert "huge.png: embedded metadata skipped: Xmp.dc.subject: a keyword of at least 20000 characters" in caplog.text
    assert "bomb.jpg: embedded metadata skipped: xmp:" in caplog.text
    assert "utf8.jpg: embedded metadata skipped: xmp:" in caplog.text


def test_a_title_or_description_too_long_is_trimmed_with_a_log_line(family, alice, caplog):
    data = images.with_metadata(picture(), xmp={"Xmp.dc.title": {'lang="x-default"': "Long " * 100},
                                                "Xmp.dc.description": {'lang="x-default"': "word " * 2_500}})
    with caplog.at_level(logging.WARNING, logger="gallery"):
        photo = upload(family, alice, data, filename="long.jpg")
    assert photo.title.startswith("Long Long") and len(photo.title) <= 255
    assert photo.description.startswith("word word") and len(photo.description) <= 10_000
    assert "long.jpg: embedded metadata skipped: Xmp.dc.title: a 499-character text cut to 255" in caplog.text
    assert "long.jpg: embedded metadata skipped: Xmp.dc.description: a 12499-character text cut to 10000" in caplog.text


def test_a_language_alternative_longer_than_the_reader_keeps_is_logged_as_such(family, alice, caplog):
    # The reader cut the raw value, 'lang="x-default" ' included, so a 30,000-character caption was logged as "a
    # 19983-character text", a size it never had.
    data = images.with_metadata(picture(), xmp={"Xmp.dc.description": {'lang="x-default"': "word " * 6_000}})
    with caplog.at_level(logging.WARNING, logger="gallery"):
        photo = upload(family, alice, data, filename="huge.jpg")
    assert photo.description.startswith("word word") and len(photo.description) <= 10_000
    assert ("huge.jpg: embedded metadata skipped: Xmp.dc.description: a text of at least 20000 characters cut to "
            "10000") in caplog.text


def test_iptc_text_an_old_windows_program_wrote_keeps_its_quotes_dashes_and_euro_sign(family, alice, client_for):
    # IPTC without a declared character set is read as Latin-1, but what old Windows programs (Photoshop, ACDSee,
    # Picasa) wrote there is the system's code page, Windows-1252, which puts ’ “ ” – … € where Latin-1 has control
    # characters: "Grandma’s garden" was read with a control character, which text from files loses: "Grandmas garden".
    data = images.with_metadata(picture(), iptc={
        "Iptc.Application2.Keywords": ["Grandma’s garden", "Café"],
        "Iptc.Application2.Caption": "Kids’ party – “best day” … 5 €",
        "Iptc.Application2.City": "Düsseldorf",
    }, iptc_encoding="cp1252")
    photo = upload(family, alice, data)
    assert sources(photo) == {"Grandma’s garden": "embedded", "Café": "embedded"}
    assert photo.description == "Kids’ party – “best day” … 5 €"
    assert photo.place_city == "Düsseldorf"
    # Bytes Windows-1252 leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D) are Latin-1's, as before: controls, dropped.
    latin1 = images.with_metadata(picture(), iptc={"Iptc.Application2.Caption": "Zoë\x81 at home"},
                                  iptc_encoding="latin-1")
    assert upload(family, alice, latin1, filename="IMG_0002.jpg").description == "Zoë at home"
    # A file that declares UTF-8 (ESC % G) but holds Windows-1252 (a program that set the one and wrote the other) lost
    # every keyword and caption, each "not valid text": none of it is UTF-8, so it is read as the other.
    mislabelled = images.with_metadata(picture(), iptc={
        "Iptc.Envelope.CharacterSet": "\x1b%G", "Iptc.Application2.Keywords": ["Müller", "Straße"],
        "Iptc.Application2.Caption": "Oma’s Kaffee"}, iptc_encoding="cp1252")
    photo = upload(family, alice, mislabelled, filename="IMG_0003.jpg")
    assert sources(photo) == {"Müller": "embedded", "Straße": "embedded"}
    assert photo.description == "Oma’s Kaffee"


def test_invalid_utf8_in_an_exif_field_skips_that_field_only(family, alice, caplog):
    exif = Image.Exif()
    exif[0x010E] = b"caf\xe9 \xff"  # ImageDescription, not UTF-8
    exif[0x9C9E] = "Kept".encode("utf-16le")  # XPKeywords
    with caplog.at_level(logging.WARNING, logger="gallery"):
        photo = upload(family, alice, picture(exif=exif))
    assert sources(photo) == {"Kept": "embedded"}
    assert photo.description == ""
    assert "Exif.Image.ImageDescription: not valid text" in caplog.text


def test_xp_keywords_of_an_odd_byte_count_keep_their_whole_characters(family, alice, caplog):
    # XPKeywords is UCS-2: two bytes a character. One ended by a single NUL (a program that wrote a C string's
    # terminator) or cut a byte short was "not valid text", every keyword in it lost. The whole characters are read,
    # the byte left over dropped with a log line.
    exif = Image.Exif()
    exif[0x9C9E] = "Beach;Sunset".encode("utf-16le") + b"\x00"  # XPKeywords, 25 bytes
    exif[0x9C9B] = "Évora".encode("utf-16le") + b"\xc9"  # XPTitle, 11 bytes
    with caplog.at_level(logging.WARNING, logger="gallery"):
        photo = upload(family, alice, picture(exif=exif))
    assert sources(photo) == {"Beach": "embedded", "Sunset": "embedded"}
    assert (photo.title, photo.title_source) == ("Évora", "embedded")
    assert "Exif.Image.XPKeywords: a byte left over after 12 UCS-2 characters, dropped" in caplog.text
    assert "Exif.Image.XPTitle: a byte left over after 5 UCS-2 characters, dropped" in caplog.text
    assert "not valid text" not in caplog.text


def test_a_reader_that_crashes_or_times_out_costs_only_the_metadata(family, alice, settings, caplog):
    data = images.with_metadata(picture(), xmp=LIGHTROOM)
    settings.EMBEDDED_MAX_MEMORY = 1  # the child can't even start Python within this
    with caplog.at_level(logging.WARNING, logger="gallery"):
        crashed = upload(family, alice, data)
    assert not crashed.tags.exists() and crashed.title == "IMG 0001"
    assert "the metadata reader failed" in caplog.text

    settings.EMBEDDED_MAX_MEMORY = 512 * 1024 * 1024
    settings.EMBEDDED_TIMEOUT = 0  # no time at all: stopped at once
    assert not read_embedded(data, label="slow.jpg")
    assert "slow.jpg: embedded metadata skipped: the metadata reader took over 0 s and was stopped" in caplog.text


def test_files_without_metadata_skip_the_reader(family, alice):
    from gallery.images import inspect_image

    assert not inspect_image(images.jpeg()).has_metadata
    assert inspect_image(images.with_metadata(picture(), iptc=IPTC)).has_metadata
    assert inspect_image(images.with_metadata(picture(), xmp=LIGHTROOM)).has_metadata


def test_a_reader_killed_between_files_is_replaced(family, alice):
    import os
    import signal

    from gallery import embedded

    data = images.with_metadata(picture(), iptc=IPTC)
    assert read_embedded(data).keywords == ("tram", "Holiday")
    first = embedded._reader._process
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    # The dead reader costs at most the file it was given; the next one gets a fresh reader.
    second = read_embedded(data)
    assert second.keywords == ("tram", "Holiday") or not second
    assert read_embedded(data).keywords == ("tram", "Holiday")
    assert embedded._reader._process.pid != first.pid


def test_the_openapi_schema_describes_tag_sources(client, alice):
    client.force_login(alice)  # the schema is for signed-in users
    schema = client.get("/api/v1/schema/", {"format": "json"}).json()
    photo = schema["components"]["schemas"]["PhotoOutput"]["properties"]
    assert {"tag_details", "title_source", "description_source", "taken_tz", "taken_at_local"} <= set(photo)
    detail = schema["components"]["schemas"]["TagDetail"]["properties"]
    assert set(detail) == {"name", "source"}


@pytest.mark.parametrize("latitude, longitude, expected", [
    ("38,43.338N", "9,8.358W", (38.7223, -9.1393)),  # darktable's, digiKam's: degrees and decimal minutes
    ("35,41,22.2N", "139,41,30.1E", (35.6895, 139.6917)),  # degrees, minutes and seconds
    ("33,52.1S", "151,12.6E", (-33.8683, 151.21)),
    ("91,0N", "9,0W", None),  # no such latitude
    ("38,43.338E", "9,8.358W", None),  # a longitude's hemisphere for a latitude
    ("38,61N", "9,0W", None),
    ("nonsense", "9,0W", None),
    ("38,43.338N", "", None),  # half a position is none
    ("38,43.338", "9,8.358W", None),  # no hemisphere: none, as an EXIF position without its reference
    ("38,43.338N", "9,8.358", None),
])
def test_an_xmp_gps_position_is_read_and_nonsense_is_not(latitude, longitude, expected):
    from gallery.embedded import interpret

    fields = {"Xmp.exif.GPSLatitude": [latitude]} | ({"Xmp.exif.GPSLongitude": [longitude]} if longitude else {})
    read = interpret(fields)
    if expected is None:
        assert (read.latitude, read.longitude) == (None, None) and read.problems
    else:
        assert (round(read.latitude, 4), round(read.longitude, 4)) == expected


@pytest.mark.parametrize("latitude, longitude", [("0,0N", "0,0E"), ("0,0.0S", "0,0W")])
def test_an_xmp_gps_position_of_0_0_is_none_as_exifs_and_takeouts(latitude, longitude):
    """0°, 0° is what a camera or a phone without a fix writes: no position (as the EXIF and the Takeout readers take
    it, one rule: gallery.places.gps_position), and no problem to log."""
    from gallery.embedded import interpret
    from gallery.places import gps_position

    read = interpret({"Xmp.exif.GPSLatitude": [latitude], "Xmp.exif.GPSLongitude": [longitude]})

    assert (read.latitude, read.longitude, read.problems) == (None, None, ())
    assert gps_position(0.0, -0.0) is None and gps_position(0.0, 9.5) == (0.0, 9.5)
    assert gps_position(float("nan"), 1.0) is None and gps_position(91.0, 1.0) is None


@pytest.mark.parametrize("fields, expected", [
    ({"Xmp.photoshop.DateCreated": ["2021-05-04T10:33:05"]}, (datetime(2021, 5, 4, 10, 33, 5), "")),
    ({"Xmp.photoshop.DateCreated": ["2021-05-04T10:33:05.250+05:30"]}, (datetime(2021, 5, 4, 10, 33, 5), "+05:30")),
    ({"Xmp.exif.DateTimeOriginal": ["2021-05-04T10:33Z"]}, (datetime(2021, 5, 4, 10, 33), "+00:00")),
    ({"Xmp.exif.DateTimeOriginal": ["2019:07:14 10:11:12.000"]}, (datetime(2019, 7, 14, 10, 11, 12), "")),  # darktable
    ({"Xmp.photoshop.DateCreated": ["2019-07-14"]}, (datetime(2019, 7, 14, 12), "")),  # a day: its noon
    # The date taken before the day its content was made, when both are there.
    ({"Xmp.photoshop.DateCreated": ["2001-01-01"], "Xmp.exif.DateTimeOriginal": ["2019-07-14T10:11:12"]},
     (datetime(2019, 7, 14, 10, 11, 12), "")),
    ({"Xmp.photoshop.DateCreated": ["2019-07"]}, (None, "")),  # a month or a year alone: no date taken
    ({"Xmp.photoshop.DateCreated": ["2019"]}, (None, "")),
    ({"Xmp.photoshop.DateCreated": ["0001-01-01T00:00:00"]}, (None, "")),  # a clock never set
    ({"Xmp.photoshop.DateCreated": ["9999-12-31T23:59:59-05:00"]}, (None, "")),
    ({"Xmp.photoshop.DateCreated": ["2019-02-30T10:00:00"]}, (None, "")),
    ({"Xmp.photoshop.DateCreated": ["yesterday"]}, (None, "")),
    ({"Xmp.photoshop.DateCreated": ["2019-07-14T10:11:12+25:00"]}, (datetime(2019, 7, 14, 10, 11, 12), "")),  # (as EXIF's)
])
def test_the_date_taken_an_xmp_packet_tells_is_read_and_nonsense_is_not(fields, expected):
    """iPhone screenshots (PNG) and files dated in digiKam, darktable or Lightroom tell their date in XMP alone
    (photoshop:DateCreated, exif:DateTimeOriginal), in ISO 8601 or EXIF's own way of writing it."""
    from gallery.embedded import interpret

    read = interpret(fields)
    assert (read.taken_local, read.taken_offset) == expected
    assert bool(read) is (expected[0] is not None)


def test_a_file_whose_date_is_in_its_xmp_alone_is_dated_by_it_over_the_upload_time(family, alice, client_for):
    """An iPhone screenshot (PNG, named IMG_1234.PNG) has no EXIF date: its date taken is photoshop:DateCreated in its
    XMP, and it was dated by the upload. A date in EXIF, in the file's name, or a folder's comes first."""
    screenshot = upload(family, alice, images.with_metadata(picture("PNG"), xmp={
        "Xmp.photoshop.DateCreated": "2021-05-04T10:33:05", "Xmp.exif.UserComment": "Screenshot"}),
        filename="IMG_1234.PNG")
    assert screenshot.taken_at_source == "xmp"
    assert screenshot.taken_at_local.replace(tzinfo=None) == datetime(2021, 5, 4, 10, 33, 5)
    page = client_for(alice).get(screenshot.get_absolute_url()).content.decode()
    assert "4 May 2021 10:33" in page and "(no EXIF date: the date taken in its XMP metadata)" in page

    camera = upload(family, alice, images.with_metadata(picture(exif=exif_when("2020:01:02 03:04:05")), xmp={
        "Xmp.photoshop.DateCreated": "2021-05-04T10:33:05"}))
    assert (camera.taken_at_source, camera.taken_at_local.replace(tzinfo=None)) == ("exif", datetime(2020, 1, 2, 3, 4, 5))
    named = upload(family, alice, images.with_metadata(picture(), xmp={
        "Xmp.photoshop.DateCreated": "2021-05-04T10:33:05"}), filename="IMG-20200102-WA0001.jpg")
    assert named.taken_at_source == "filename"


def test_reading_the_files_of_photos_stored_before_dates_those_dated_by_a_guess(family, alice, settings):
    from gallery.services import photos_embedded_sweep

    settings.EMBEDDED_METADATA = False
    photo = upload(family, alice, images.with_metadata(picture(), xmp={
        "Xmp.exif.DateTimeOriginal": "2021-05-04T10:33:05+02:00"}))
    assert photo.taken_at_source == "upload"
    settings.EMBEDDED_METADATA = True
    assert photos_embedded_sweep() == 1
    photo.refresh_from_db()
    assert photo.taken_at_source == "xmp"
    assert photo.taken_at == datetime(2021, 5, 4, 8, 33, 5, tzinfo=dt_timezone.utc)


@pytest.mark.parametrize("subject, keyword, tagged", [
    ("ΟΔΟΣ", "οδος", ["ΟΔΟΣ"]),  # one name folded (gallery.name_fold), as the database's key reads it: one tag
    ("Café", "Cafe", ["Café", "Cafe"]),  # two names: two tags
    ("İstanbul", "istanbul", ["İstanbul"]),  # two names to str.lower(), one to the database: one tag, the first's
])
def test_a_files_keywords_are_told_apart_as_the_database_tells_tag_names_apart(family, alice, subject, keyword,
                                                                                tagged):
    """The reader kept a file's keywords once by Python's str.lower(), which reads "ΟΔΟΣ" as "οδος" where the unique
    index of tags (PostgreSQL's lower()) reads "οδοσ": the file's "οδος" was dropped, though a member typing both gets
    both. Names are told apart where they become tags, by the database's key (names_folded), as a member's are."""
    from gallery.services import tags_keyed

    data = images.with_metadata(picture(), xmp={"Xmp.dc.subject": [subject]},
                                iptc={"Iptc.Application2.Keywords": [keyword]})
    photo = upload(family, alice, data)

    assert sorted(sources(photo)) == sorted(tagged) == sorted(tags_keyed([subject, keyword]).values())


@pytest.mark.parametrize("how", ["command", "sweep"])
def test_reading_the_files_of_many_photos_again_reads_their_names_keys_once(family, alice, how):
    """read_embedded (the command, and the sweep's share) read each photo's keywords' keys (names_folded) again, a query
    a photo; the keys are kept for the run, as an import's are."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from gallery.services import photos_embedded_sweep
    from tests.queries import name_key_reads

    for data in images.jpegs_sharing_keywords(6):
        upload(family, alice, data)
    Photo.objects.filter(family=family).update(embedded_checked=False)
    with CaptureQueriesContext(connection) as run:
        if how == "command":
            call_command("read_embedded", "--no-progress", stdout=io.StringIO())
        else:
            assert photos_embedded_sweep() == 6
    assert name_key_reads(run.captured_queries) == 1
    assert PhotoTag.objects.filter(photo__family=family, source="embedded").count() == 6 * 4
