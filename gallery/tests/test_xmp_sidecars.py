"""XMP sidecar files beside the photos of a raw workflow's library (darktable, digiKam, Lightroom, Capture One): read
by import_photos as the file's own embedded XMP is, with a new photo or with one already there, before what the file
itself says and never over what a member wrote; a hostile sidecar costs only its own metadata."""

from __future__ import annotations

import io
import logging
from datetime import datetime

import pytest
from django.core.management import call_command

from gallery import xmp_sidecars
from gallery.models import Photo, PhotoTag
from gallery.services import photo_tags_add, photo_update
from tests import images
from tests.files import write

pytestmark = pytest.mark.django_db

_colours = iter(range(5, 250, 3))


def picture(**metadata) -> bytes:
    n = next(_colours)
    data = images.jpeg(colour=(n, 255 - n, (n * 7) % 256), size=(48, 32))
    return images.with_metadata(data, **metadata) if metadata else data


def sidecar_xml(*, subject=(), hierarchical=(), tags_list=(), title="", description="", city="", country="",
                declaration=True, gps: tuple[str, str] | None = None, faces=(), microsoft_faces=()) -> bytes:
    """An XMP sidecar as darktable and digiKam write one (darktable's own keys and history included); `faces` are MWG
    face regions as digiKam writes them (a name, or a (name, type) pair; a type of "" writes none), `microsoft_faces`
    its Microsoft Photo regions' names."""
    def bag(name, items):
        if not items:
            return ""
        return f"<{name}><rdf:Bag>" + "".join(f"<rdf:li>{item}</rdf:li>" for item in items) + f"</rdf:Bag></{name}>"

    def alt(name, text):
        return f'<{name}><rdf:Alt><rdf:li xml:lang="x-default">{text}</rdf:li></rdf:Alt></{name}>' if text else ""

    place = (f' photoshop:City="{city}"' if city else "") + (f' photoshop:Country="{country}"' if country else "")
    if gps:  # as darktable's map view and digiKam's geolocation editor write a position: "38,43.338N"
        place += f' exif:GPSLatitude="{gps[0]}" exif:GPSLongitude="{gps[1]}" exif:GPSVersionID="2.2.0.0"'
    regions = ""
    if faces:
        regions += ('<mwg-rs:Regions rdf:parseType="Resource"><mwg-rs:AppliedToDimensions stDim:w="4000" stDim:h="3000"'
                    ' stDim:unit="pixel"/><mwg-rs:RegionList><rdf:Bag>')
        for face in faces:
            name, kind = (face, "Face") if isinstance(face, str) else face
            typed = f' mwg-rs:Type="{kind}"' if kind else ""
            regions += (f'<rdf:li><rdf:Description mwg-rs:Name="{name}"{typed}><mwg-rs:Area'
                        ' stArea:x="0.5" stArea:y="0.4" stArea:w="0.1" stArea:h="0.2" stArea:unit="normalized"/>'
                        "</rdf:Description></rdf:li>")
        regions += "</rdf:Bag></mwg-rs:RegionList></mwg-rs:Regions>"
    if microsoft_faces:
        regions += "<MP:RegionInfo rdf:parseType=\"Resource\"><MPRI:Regions><rdf:Bag>" + "".join(
            f'<rdf:li MPReg:PersonDisplayName="{name}" MPReg:Rectangle="0.45, 0.3, 0.1, 0.2"/>'
            for name in microsoft_faces) + "</rdf:Bag></MPRI:Regions></MP:RegionInfo>"
    xml = (
        ('<?xml version="1.0" encoding="UTF-8"?>\n' if declaration else "")
        + '<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 4.4.0-Exiv2">\n'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"'
        ' xmlns:lr="http://ns.adobe.com/lightroom/1.0/" xmlns:digiKam="http://www.digikam.org/ns/1.0/"'
        ' xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" xmlns:darktable="http://darktable.sf.net/"'
        ' xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:DateTimeOriginal="2019:07:14 10:11:12"'
        ' xmlns:mwg-rs="http://www.metadataworkinggroup.com/schemas/regions/"'
        ' xmlns:stDim="http://ns.adobe.com/xap/1.0/sType/Dimensions#"'
        ' xmlns:stArea="http://ns.adobe.com/xmp/sType/Area#"'
        ' xmlns:MP="http://ns.microsoft.com/photo/1.2/" xmlns:MPRI="http://ns.microsoft.com/photo/1.2/t/RegionInfo#"'
        ' xmlns:MPReg="http://ns.microsoft.com/photo/1.2/t/Region#"'
        f' darktable:xmp_version="5" darktable:auto_presets_applied="1"{place}>\n'
        + bag("dc:subject", subject) + bag("lr:hierarchicalSubject", hierarchical)
        + bag("digiKam:TagsList", tags_list) + alt("dc:title", title) + alt("dc:description", description) + regions
        + '<darktable:history><rdf:Seq><rdf:li darktable:operation="exposure" darktable:enabled="1"'
        ' darktable:params="0000000000000000"/></rdf:Seq></darktable:history>'
        "</rdf:Description></rdf:RDF></x:xmpmeta>\n"
    )
    return xml.encode()


def _import(directory, *args) -> str:
    out = io.StringIO()
    call_command("import_photos", str(directory), "--family", "Smiths", "--user", "alice", *args, "--no-progress",
                 stdout=out, stderr=io.StringIO())
    return out.getvalue()


def sources(photo: Photo) -> dict[str, str]:
    return {link.tag.name: link.source for link in PhotoTag.objects.filter(photo=photo).select_related("tag")}


def photo_named(name: str) -> Photo:
    return Photo.objects.get(original_filename=name)


def test_darktable_and_lightroom_sidecars_give_their_photos_keywords_title_description_and_place(
        tmp_path, family, alice):
    root = write(tmp_path / "Library", {
        # darktable (and digiKam's default): the whole file's name; its own tags are no keywords
        "2019/IMG_0001.jpg": picture(),
        "2019/IMG_0001.jpg.xmp": sidecar_xml(
            subject=["beach", "Grandma"], title="Beach day", description="Waves at Sagres",
            hierarchical=["darktable|format|jpg", "darktable|changed", "darktable|exported", "People|Grandma",
                          "Places|Portugal|Sagres"], city="Sagres", country="Portugal"),
        # Lightroom, Capture One: the stem's, any case of the extension
        "2019/IMG_0002.JPG": picture(),
        "2019/IMG_0002.XMP": sidecar_xml(subject=["sunset"], title="Last light", declaration=False),
        # digiKam's tag paths, its internal ones left out
        "2019/IMG_0003.jpeg": picture(),
        "2019/img_0003.jpeg.xmp": sidecar_xml(tags_list=["People/Uncle Tom", "_Digikam_Internal_Tags_/Color Label Red"]),
        "2019/IMG_0004.jpg": picture(),  # no sidecar
        "2019/IMG_0005.CR2.xmp": sidecar_xml(subject=["raw"]),  # a raw file's, the raw not there: no photo's
    })

    out = _import(root)

    assert Photo.objects.filter(family=family).count() == 4
    first = photo_named("IMG_0001.jpg")
    assert sources(first) == {"beach": "embedded", "Grandma": "embedded", "Sagres": "embedded"}
    assert (first.title, first.title_source) == ("Beach day", Photo.FieldSource.EMBEDDED)
    assert (first.description, first.description_source) == ("Waves at Sagres", Photo.FieldSource.EMBEDDED)
    assert (first.place_city, first.place_country_code, first.place_source) == ("Sagres", "PT", "embedded")
    second = photo_named("IMG_0002.JPG")
    assert sources(second) == {"sunset": "embedded"} and second.title == "Last light"
    assert sources(photo_named("IMG_0003.jpeg")) == {"Uncle Tom": "embedded"}
    assert sources(photo_named("IMG_0004.jpg")) == {} and photo_named("IMG_0004.jpg").title == "IMG 0004"
    assert "XMP sidecars read: 3 " in out
    # the sidecars beside photos are no files left out; the raw file's, with no photo, is one
    assert "not photos, left out: 1 .xmp" in out
    assert "Imported 4, already there 0, unreadable 0, not photos 1 (of 8 files)" in out


def test_a_sidecars_title_or_description_that_holds_lang_is_read_whole(tmp_path, family, alice):
    # As the file's own (test_embedded): a caption quoting HTML lost its tail at ', lang="en" '.
    root = write(tmp_path / "Library", {
        "IMG_0001.jpg": picture(),
        "IMG_0001.jpg.xmp": sidecar_xml(title='Sign, lang="pt" Rua Augusta',
                                        description='&lt;q lang="pt"&gt;, lang="pt" Obrigado&lt;/q&gt;, she said'),
    })

    _import(root)

    photo = photo_named("IMG_0001.jpg")
    assert photo.title == 'Sign, lang="pt" Rua Augusta'
    assert photo.description == '<q lang="pt">, lang="pt" Obrigado</q>, she said'


def test_the_whole_names_sidecar_wins_over_the_stems(tmp_path, family, alice):
    root = write(tmp_path / "Library", {
        "IMG_0001.jpg": picture(),
        "IMG_0001.jpg.xmp": sidecar_xml(subject=["darktable's"]),
        "IMG_0001.xmp": sidecar_xml(subject=["lightroom's"]),  # (the raw file's of a raw+JPEG pair, perhaps)
    })

    out = _import(root)

    assert sources(photo_named("IMG_0001.jpg")) == {"darktable's": "embedded"}
    assert "XMP sidecars read: 1 " in out
    assert "not photos, left out: 1 .xmp" in out  # (the one not read is left out, and counted so)


def test_a_sidecars_title_description_place_position_and_date_win_over_the_files_own(tmp_path, family, alice):
    """darktable, digiKam and Lightroom (set to write sidecars) write a user's later edits into the sidecar, not into
    the file, and Immich reads a sidecar before what is embedded: the file's own title (a camera's, an earlier
    program's) won, and the title the user gave the photo in digiKam was never seen. The sidecar's title, description,
    place, XMP position and XMP date come first now; the keywords of both are the photo's."""
    root = write(tmp_path / "Library", {
        "IMG_0001.jpg": picture(
            xmp={"Xmp.dc.subject": ["Lisbon", "tram"], "Xmp.dc.title": {'lang="x-default"': "The file's title"},
                 "Xmp.dc.description": {'lang="x-default"': "The file's caption"},
                 "Xmp.photoshop.DateCreated": "2001-02-03T04:05:06",
                 "Xmp.exif.GPSLatitude": "52,22.2N", "Xmp.exif.GPSLongitude": "4,53.4E"},  # Amsterdam
            iptc={"Iptc.Application2.City": "Porto", "Iptc.Application2.CountryName": "Portugal",
                  "Iptc.Application2.Headline": "The file's headline"}),
        "IMG_0001.jpg.xmp": sidecar_xml(subject=["Tram", "castle"], title="The sidecar's title",
                                        description="The sidecar's caption", gps=("38,43.338N", "9,8.358W")),
        "IMG_0002.jpg": picture(iptc={"Iptc.Application2.City": "Porto", "Iptc.Application2.CountryName": "Portugal"}),
        "IMG_0002.jpg.xmp": sidecar_xml(city="Sagres", country="Portugal"),
        # What the sidecar does not say, the file's own still gives.
        "IMG_0003.jpg": picture(xmp={"Xmp.dc.title": {'lang="x-default"': "The file's title"}},
                                iptc={"Iptc.Application2.City": "Porto", "Iptc.Application2.CountryName": "Portugal"}),
        "IMG_0003.jpg.xmp": sidecar_xml(subject=["kite"]),
    })

    out = _import(root)

    assert ("XMP sidecars read: 3 (their keywords, title, description, place, position and date, before the file's "
            "own metadata, after the camera's GPS and date; never over a member's edit)") in out
    photo = photo_named("IMG_0001.jpg")
    assert sources(photo) == {"Tram": "embedded", "Lisbon": "embedded", "castle": "embedded"}
    assert (photo.title, photo.title_source) == ("The sidecar's title", Photo.FieldSource.EMBEDDED)
    assert (photo.description, photo.description_source) == ("The sidecar's caption", Photo.FieldSource.EMBEDDED)
    assert (photo.place_city, photo.place_country_code) == ("Lisbon", "PT")  # its position's
    assert (round(photo.latitude, 3), round(photo.longitude, 3)) == (38.722, -9.139)
    assert (photo.taken_at_local.replace(tzinfo=None), photo.taken_at_source) == (datetime(2019, 7, 14, 10, 11, 12),
                                                                                  "xmp")
    assert photo.taken_tz == "Europe/Lisbon"
    placed = photo_named("IMG_0002.jpg")
    assert (placed.place_city, placed.place_country_code, placed.place_source) == ("Sagres", "PT", "embedded")
    filled = photo_named("IMG_0003.jpg")
    assert filled.title == "The file's title" and filled.place_city == "Porto"
    assert sources(filled) == {"kite": "embedded"}

    # Reading the stored files again alone (read_embedded --all) comes to the same.
    call_command("read_embedded", "--all", "--no-progress", stdout=io.StringIO())
    photo = photo_named("IMG_0001.jpg")
    assert (photo.title, photo.description) == ("The sidecar's title", "The sidecar's caption")
    assert photo.taken_at_local.replace(tzinfo=None) == datetime(2019, 7, 14, 10, 11, 12)
    assert photo.place_city == "Lisbon"
    assert photo_named("IMG_0002.jpg").place_city == "Sagres"


def test_a_sidecars_title_that_is_only_the_files_name_hides_no_title_of_the_file(tmp_path, family, alice):
    """A sidecar's title that is only its file's name is no title (gallery.embedded.names_the_file_only): it came
    first in the merge and was thrown away after it, so the file's own real title was lost with it."""
    beach = {"xmp": {"Xmp.dc.title": {'lang="x-default"': "Beach day"}}}
    root = write(tmp_path / "Library", {
        "IMG_0001.jpg": picture(**beach),
        "IMG_0001.jpg.xmp": sidecar_xml(title="IMG_0001.jpg"),
        "IMG_0002.jpg": picture(**beach),
    })
    _import(root)
    assert (photo_named("IMG_0001.jpg").title, photo_named("IMG_0001.jpg").title_source) == ("Beach day", "embedded")

    # A sidecar that appears later saying only the file's name leaves the file's title where it is.
    write(root, {"IMG_0002.jpg.xmp": sidecar_xml(title="img_0002", subject=["sea"])})
    out = _import(root)
    later = photo_named("IMG_0002.jpg")
    assert (later.title, later.title_source, sources(later)) == ("Beach day", "embedded", {"sea": "embedded"})
    assert "title" not in out.split("changed by its sidecar:")[1].splitlines()[0]

    call_command("read_embedded", "--all", "--no-progress", stdout=io.StringIO())
    assert [photo_named(name).title for name in ("IMG_0001.jpg", "IMG_0002.jpg")] == ["Beach day", "Beach day"]


def test_reading_the_files_again_takes_away_a_file_name_title_stored_before_also_on_a_photo_with_a_sidecar(
        tmp_path, family, alice):
    """Before names_the_file_only, a sidecar's (or a file's) title that was only the file's name was stored as the
    photo's title. read_embedded --all takes it away, also on a photo whose sidecar was read (which fills only what
    nothing wrote, so it never looked at the title): never a member's, even when it is the file's name."""
    root = write(tmp_path / "Library", {
        name: content for number in ("0001", "0002", "0003") for name, content in (
            (f"IMG_{number}.jpg", picture()), (f"IMG_{number}.jpg.xmp", sidecar_xml(title=f"IMG_{number}.jpg")))})
    _import(root)
    Photo.objects.filter(original_filename="IMG_0001.jpg").update(
        title="IMG_0001.jpg", title_source=Photo.FieldSource.EMBEDDED)  # as the version before stored it
    photo_update(photo=photo_named("IMG_0002.jpg"), user=alice, title="IMG_0002.jpg")  # a member's, though the name
    photo_update(photo=photo_named("IMG_0003.jpg"), user=alice, title="img_0003")

    call_command("read_embedded", "--all", "--no-progress", stdout=io.StringIO())

    titles = Photo.objects.order_by("original_filename").values_list("title", "title_source")
    assert list(titles) == [("IMG 0001", ""), ("IMG_0002.jpg", "member"), ("img_0003", "member")]


def test_a_title_edited_in_digikam_after_the_import_replaces_the_one_read_before(tmp_path, family, alice):
    """A sidecar that changed since its photo was imported is read again (Photo.xmp_sidecar_sha256): what it says now
    replaces what was read from the file and the sidecar before, never a member's edit; reading the stored file again
    alone (read_embedded --all) can't tell the sidecar's from the file's and keeps them."""
    file_says = {"xmp": {"Xmp.dc.title": {'lang="x-default"': "The camera's title"},
                         "Xmp.dc.description": {'lang="x-default"': "The camera's caption"}},
                 "iptc": {"Iptc.Application2.City": "Porto", "Iptc.Application2.CountryName": "Portugal"}}
    root = write(tmp_path / "Library", {"IMG_0001.jpg": picture(**file_says), "IMG_0002.jpg": picture(**file_says)})
    _import(root)
    assert photo_named("IMG_0001.jpg").title == "The camera's title"
    photo_update(photo=photo_named("IMG_0002.jpg"), user=alice, title="Our title", description="Ours")
    write(root, {name + ".xmp": sidecar_xml(title="Edited in digiKam", description="Caption from digiKam",
                                            city="Sagres", country="Portugal")
                 for name in ("IMG_0001.jpg", "IMG_0002.jpg")})

    out = _import(root)

    edited, members = photo_named("IMG_0001.jpg"), photo_named("IMG_0002.jpg")
    assert (edited.title, edited.description, edited.place_city) == ("Edited in digiKam", "Caption from digiKam",
                                                                     "Sagres")
    assert (members.title, members.description, members.place_city) == ("Our title", "Ours", "Sagres")
    assert ("2 photos were already there and changed by their sidecars: 1 title replaced, 1 description replaced, "
            "2 places replaced, 2 dates replaced") in out

    write(root, {"IMG_0001.jpg.xmp": sidecar_xml(title="Edited again", description="Caption from digiKam",
                                                 city="Sagres", country="Portugal")})
    out = _import(root)
    assert photo_named("IMG_0001.jpg").title == "Edited again"
    assert "XMP sidecars unchanged since they were last read: 1 " in out

    call_command("read_embedded", "--all", "--no-progress", stdout=io.StringIO())
    edited = photo_named("IMG_0001.jpg")
    assert (edited.title, edited.description, edited.place_city) == ("Edited again", "Caption from digiKam", "Sagres")
    assert (edited.title_source, edited.place_source) == (Photo.FieldSource.EMBEDDED, "embedded")


def test_a_sidecar_found_later_adds_what_it_says_but_never_over_a_members_edit(tmp_path, family, alice):
    root = write(tmp_path / "Library", {"IMG_0001.jpg": picture(), "IMG_0002.jpg": picture()})
    _import(root)
    photo = photo_named("IMG_0001.jpg")
    photo_update(photo=photo, user=alice, title="Our title", tags=["picnic"])
    write(root, {
        "IMG_0001.jpg.xmp": sidecar_xml(subject=["meadow", "picnic"], title="digiKam's title",
                                        description="digiKam's caption"),
        "IMG_0002.xmp": sidecar_xml(subject=["kite"]),
    })

    out = _import(root)

    photo.refresh_from_db()
    assert (photo.title, photo.title_source) == ("Our title", Photo.FieldSource.MEMBER)
    assert (photo.description, photo.description_source) == ("digiKam's caption", Photo.FieldSource.EMBEDDED)
    assert sources(photo) == {"picnic": "member", "meadow": "embedded"}  # a member's tag stays the member's
    assert sources(photo_named("IMG_0002.jpg")) == {"kite": "embedded"}
    assert "XMP sidecars read: 2 " in out
    assert ("2 photos were already there and changed by their sidecars: 1 description given, 2 dates replaced, "
            "2 keywords added") in out
    assert "Imported 0, already there 2," in out

    # A member takes a keyword off: the next run does not put it back, and a sidecar that adds nothing writes nothing.
    photo_update(photo=photo_named("IMG_0002.jpg"), user=alice, tags=[])
    out = _import(root)
    assert sources(photo_named("IMG_0002.jpg")) == {}
    assert "XMP sidecars unchanged since they were last read: 2 (not read again)" in out
    assert "XMP sidecars read" not in out and "already there and changed" not in out

    # The sidecar changes (a keyword added in darktable): the next run adds it.
    write(root, {"IMG_0001.jpg.xmp": sidecar_xml(subject=["meadow", "picnic", "Grandpa"], title="digiKam's title",
                                                 description="digiKam's caption")})
    out = _import(root)
    assert sources(photo_named("IMG_0001.jpg")) == {"picnic": "member", "meadow": "embedded", "Grandpa": "embedded"}
    assert "1 photo was already there and changed by its sidecar: 1 keyword added" in out


def _words(photo: Photo) -> str:
    from search.models import PhotoDocument

    return PhotoDocument.objects.get(photo=photo).words.lower()


# A sidecar that says nothing we read (digiKam keeps its rating there): no keyword, title, place or date.
EMPTY_SIDECAR = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/">'
                 b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
                 b'<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:Rating="0"/>'
                 b'</rdf:RDF></x:xmpmeta>')


def test_a_keyword_removed_from_a_changed_sidecar_leaves_the_photo_but_never_a_members_tag(tmp_path, family, alice):
    """A keyword taken off in digiKam (which rewrites the sidecar) stayed on the photo for ever as a tag "from the
    file". A tag that came only from the file or its sidecar, and that neither gives any more, leaves the photo when
    the changed sidecar is read (its search document with it); one a member typed or re-typed, an accepted
    suggestion, and the file's own keywords stay. The file taking it off is no member taking it off: the keyword
    comes back when the sidecar gives it again."""
    root = write(tmp_path / "Library", {
        "IMG_0001.jpg": picture(xmp={"Xmp.dc.subject": ["Lisbon"]}),
        "IMG_0001.jpg.xmp": sidecar_xml(subject=["Holiday", "beach", "picnic", "dog"], title="Beach day"),
        "IMG_0002.jpg": picture(),
        "IMG_0002.jpg.xmp": sidecar_xml(subject=["kite"]),
    })
    _import(root)
    photo = photo_named("IMG_0001.jpg")
    photo_tags_add(photo=photo, names=["picnic"], source=PhotoTag.Source.MEMBER, user=alice)  # re-typed
    photo_tags_add(photo=photo, names=["dog"], source=PhotoTag.Source.SUGGESTION, user=alice)  # accepted
    photo_update(photo=photo_named("IMG_0001.jpg"), user=alice,
                 tags=["Holiday", "beach", "picnic", "dog", "Lisbon", "Grandma"])  # typed one more, kept the rest
    assert "holiday" in _words(photo_named("IMG_0001.jpg"))
    write(root, {"IMG_0001.jpg.xmp": sidecar_xml(subject=["beach", "kite"], title="Beach day"),
                 "IMG_0002.jpg.xmp": EMPTY_SIDECAR})  # every keyword taken off (and the rest)

    out = _import(root)

    photo = photo_named("IMG_0001.jpg")
    assert sources(photo) == {"beach": "embedded", "kite": "embedded", "Lisbon": "embedded", "picnic": "member",
                              "dog": "suggestion", "Grandma": "member"}
    assert "holiday" not in _words(photo)
    assert sources(photo_named("IMG_0002.jpg")) == {}
    assert ("2 photos were already there and changed by their sidecars: 1 keyword added, 2 keywords removed"
            in out)

    write(root, {"IMG_0001.jpg.xmp": sidecar_xml(subject=["beach", "kite", "Holiday"], title="Beach day")})
    assert "1 photo was already there and changed by its sidecar: 1 keyword added" in _import(root)
    assert sources(photo_named("IMG_0001.jpg"))["Holiday"] == "embedded"

    # Reading the stored file again alone can't tell its sidecar's keywords: they stay.
    call_command("read_embedded", "--all", "--no-progress", stdout=io.StringIO())
    assert set(sources(photo_named("IMG_0001.jpg"))) == {"beach", "kite", "Holiday", "Lisbon", "picnic", "dog",
                                                          "Grandma"}


def test_the_people_named_in_face_regions_are_tags_from_the_file_and_a_name_digikam_drops_leaves(tmp_path, family,
                                                                                                alice):
    """The people digiKam, Lightroom or Picasa recognised, written as face regions into a photo or its XMP sidecar,
    were lost on import. Their names are tags from the file as keywords are: the file's and its sidecar's together,
    only faces (not a pet), one tag for a person digiKam also writes as "People/Alice"; a name taken off in digiKam
    leaves the photo on the next import, never a tag a member typed, and the file's own names stay."""
    root = write(tmp_path / "Library", {
        "IMG_0001.jpg": picture(xmp=images.face_regions("Grandma Rosa")),
        "IMG_0001.jpg.xmp": sidecar_xml(tags_list=["People/Alice"], faces=["Alice", "Bob", "Dora", ("Rex", "Pet")],
                                        microsoft_faces=["Alice", "Carol"]),
        "IMG_0002.jpg": picture(xmp=images.face_regions(microsoft=("Dan",))),  # no sidecar
    })

    _import(root)

    photo = photo_named("IMG_0001.jpg")
    assert sources(photo) == {"Grandma Rosa": "embedded", "Alice": "embedded", "Bob": "embedded",
                              "Carol": "embedded", "Dora": "embedded"}
    assert sources(photo_named("IMG_0002.jpg")) == {"Dan": "embedded"}
    photo_tags_add(photo=photo, names=["Bob"], source=PhotoTag.Source.MEMBER, user=alice)  # re-typed: the member's
    write(root, {"IMG_0001.jpg.xmp": sidecar_xml(tags_list=["People/Alice"], faces=["Alice", ("Rex", "Pet")])})

    out = _import(root)

    assert sources(photo_named("IMG_0001.jpg")) == {"Grandma Rosa": "embedded", "Alice": "embedded",
                                                    "Bob": "member"}
    assert "carol" not in _words(photo_named("IMG_0001.jpg"))
    assert "1 photo was already there and changed by its sidecar: 2 keywords removed" in out

def test_a_sidecar_the_earlier_reader_read_is_read_once_more_and_gives_the_people_its_faces_name(tmp_path, family,
                                                                                                    alice):
    """An import skips a sidecar whose bytes it read before, so a library imported before face regions were read kept
    its sidecars' people out for good (re-running the import said "unchanged", and read_embedded reads the stored file
    alone). What an earlier reader read is told apart (xmp_sidecars.READER_VERSION): the next import reads it once more,
    and the one after that skips it again."""
    from gallery.images import sha256_of
    from gallery.models import PhotoXmpSidecar

    xmp = sidecar_xml(subject=["beach"], faces=["Alice"])
    root = write(tmp_path / "Library", {"IMG_0001.jpg": picture(), "IMG_0001.jpg.xmp": xmp})
    _import(root)
    photo = photo_named("IMG_0001.jpg")
    # As the import before this reader left it: the sidecar's keywords, no people, and its bytes' SHA-256.
    PhotoTag.objects.filter(photo=photo, tag__name="Alice").delete()
    assert PhotoXmpSidecar.objects.filter(photo=photo).update(sha256=sha256_of(xmp)) == 1
    Photo.all_objects.filter(pk=photo.pk).update(xmp_sidecar_sha256=sha256_of(xmp))

    _import(root)

    assert sources(photo_named("IMG_0001.jpg")) == {"beach": "embedded", "Alice": "embedded"}
    assert "unchanged since they were last read: 1" in _import(root)


def test_a_sidecar_read_before_named_regions_without_a_type_were_faces_is_read_once_more(tmp_path, family, alice):
    """A named MWG region without a type is a person (gallery.embedded_reader.face_names); a sidecar the reader before
    that (READER_VERSION 2) read gave its photo no such person, and an unchanged sidecar is not read again: the next
    import reads it once more, and the one after that skips it again."""
    from gallery.images import sha256_of
    from gallery.models import PhotoXmpSidecar

    xmp = sidecar_xml(subject=["beach"], faces=[("Alice", ""), ("Rex", "Pet")])
    root = write(tmp_path / "Library", {"IMG_0001.jpg": picture(), "IMG_0001.jpg.xmp": xmp})
    _import(root)
    photo = photo_named("IMG_0001.jpg")
    assert sources(photo) == {"beach": "embedded", "Alice": "embedded"}
    # As the import by the reader before left it: the sidecar's keywords, no Alice, its version 2 fingerprint.
    PhotoTag.objects.filter(photo=photo, tag__name="Alice").delete()
    before = sha256_of(b"xmp sidecar reader 2\n" + xmp)
    assert PhotoXmpSidecar.objects.filter(photo=photo).update(sha256=before) == 1
    Photo.all_objects.filter(pk=photo.pk).update(xmp_sidecar_sha256=before)

    _import(root)

    assert sources(photo_named("IMG_0001.jpg")) == {"beach": "embedded", "Alice": "embedded"}
    assert "unchanged since they were last read: 1" in _import(root)


# What digiKam leaves of a sidecar once its keywords, title and rating are all taken off: no property at all.
BARE_SIDECAR = (b'<?xml version="1.0" encoding="UTF-8"?>\n'
                b'<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 4.4.0-Exiv2">\n'
                b' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
                b'  <rdf:Description rdf:about=""/>\n </rdf:RDF>\n</x:xmpmeta>\n')


@pytest.mark.parametrize("bare", [
    pytest.param(BARE_SIDECAR, id="empty description"),
    pytest.param(BARE_SIDECAR.replace(b'<rdf:Description rdf:about=""/>', b""), id="no description"),
    pytest.param(b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>' + BARE_SIDECAR[39:]
                 + b'<?xpacket end="w"?>', id="xpacket"),
])
def test_a_sidecar_with_no_property_left_is_read_as_saying_nothing(tmp_path, family, alice, caplog, bare):
    """A sidecar emptied of every property (`<rdf:Description rdf:about=""/>`) was "could not be read" on every run
    (exiv2 reads no property of it, which looked like a packet it could not parse), and the keywords it no longer gave
    stayed on the photo. It says nothing: its photo loses the tags from the file it gave, as with a sidecar emptied of
    its keywords alone, and a re-run does not read it again. One that is no XML stays unreadable."""
    root = write(tmp_path / "Library", {"IMG_0001.jpg": picture(xmp={"Xmp.dc.subject": ["Lisbon"]}),
                                        "IMG_0001.jpg.xmp": sidecar_xml(subject=["beach", "kite"], title="Beach day"),
                                        "IMG_0002.jpg": picture(), "IMG_0002.jpg.xmp": sidecar_xml(subject=["dog"])})
    _import(root)
    write(root, {"IMG_0001.jpg.xmp": bare,
                 "IMG_0002.jpg.xmp": BARE_SIDECAR.replace(b"</rdf:RDF>", b"")})  # cut short: no XML

    with caplog.at_level(logging.WARNING):
        out = _import(root)

    assert sources(photo_named("IMG_0001.jpg")) == {"Lisbon": "embedded"}
    assert sources(photo_named("IMG_0002.jpg")) == {"dog": "embedded"}  # unreadable: nothing taken off
    assert "XMP sidecars read: 1 " in out and "1 could not be read" in out
    assert "2 keywords removed" in out
    assert "IMG_0001.jpg.xmp" not in caplog.text and "IMG_0002.jpg.xmp (XMP sidecar): embedded metadata skipped" \
        in caplog.text
    again = _import(root)
    assert "XMP sidecars unchanged since they were last read: 1 (not read again)" in again
    assert "changed by" not in again


def test_a_tag_renamed_in_the_admin_is_no_keyword_a_changed_sidecar_takes_off(tmp_path, family, alice, client):
    """A tag from the file renamed in the admin ("Holiday" to "Algarve 2019") carries a name no file gave: the next
    changed sidecar took it off as a keyword no longer given, undoing the rename on the photo. A renamed tag is the
    member's on each photo now."""
    from django.contrib.auth import get_user_model
    from django.urls import reverse

    from gallery.models import Tag

    root = write(tmp_path / "Library", {"IMG_0001.jpg": picture(),
                                        "IMG_0001.jpg.xmp": sidecar_xml(subject=["Holiday", "beach"])})
    _import(root)
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.org", "admin-password-123"))
    tag = Tag.objects.get(family=family, name="Holiday")
    assert client.post(reverse("admin:gallery_tag_change", args=[tag.pk]), {"name": "Algarve 2019"}).status_code == 302
    write(root, {"IMG_0001.jpg.xmp": sidecar_xml(subject=["beach", "kite"])})

    _import(root)

    assert sources(photo_named("IMG_0001.jpg")) == {"Algarve 2019": "member", "beach": "embedded", "kite": "embedded"}


def test_a_keyword_taken_off_one_copys_sidecar_stays_while_another_copy_gives_it(tmp_path, family, alice):
    """The same photo in two folders, each with a sidecar of its own (a library and an older copy of it): what either
    gives stays, whichever is read first."""
    data = picture()
    root = write(tmp_path / "Library", {"A/IMG_0001.jpg": data, "A/IMG_0001.jpg.xmp": sidecar_xml(subject=["beach"]),
                                        "B/IMG_0001.jpg": data, "B/IMG_0001.jpg.xmp": sidecar_xml(subject=["kite"])})
    _import(root)
    assert set(sources(photo_named("IMG_0001.jpg"))) == {"beach", "kite"}

    write(root, {"A/IMG_0001.jpg.xmp": sidecar_xml(subject=["beach", "sand"])})
    _import(root)

    assert set(sources(photo_named("IMG_0001.jpg"))) == {"beach", "sand", "kite"}


def test_a_photo_in_two_folders_with_sidecars_of_their_own_changes_only_when_one_of_them_does(
        tmp_path, family, alice, monkeypatch):
    """The same file in two folders, each with a sidecar of its own (beach, kite): one sidecar hash was kept per photo,
    so each run read both again, the first taking off the other's keyword and the second putting it back (tag rows
    recreated, the search document rebuilt twice, "1 keyword added, 1 keyword removed" every run). Each sidecar's
    hash is kept by its path: a re-run reads neither, and a change in either is read, taking off only what no
    sidecar of the photo gives any more."""
    from search.models import PhotoDocument

    data = picture()
    root = write(tmp_path / "Library", {"A/IMG_0001.jpg": data, "A/IMG_0001.jpg.xmp": sidecar_xml(subject=["beach"]),
                                        "B/IMG_0001.jpg": data, "B/IMG_0001.jpg.xmp": sidecar_xml(subject=["kite"])})
    _import(root)
    photo = photo_named("IMG_0001.jpg")
    links = set(PhotoTag.objects.filter(photo=photo).values_list("pk", flat=True))
    built = PhotoDocument.objects.get(photo=photo).updated_at
    reads = []
    real_read = xmp_sidecars.read_embedded
    monkeypatch.setattr(xmp_sidecars, "read_embedded", lambda data, **kw: reads.append(data) or real_read(data, **kw))

    for _ in range(2):
        out = _import(root)
        assert reads == [] and "XMP sidecars unchanged since they were last read: 2 (not read again)" in out
        assert "changed by" not in out and "XMP sidecars read" not in out
    assert set(PhotoTag.objects.filter(photo=photo).values_list("pk", flat=True)) == links
    assert PhotoDocument.objects.get(photo=photo).updated_at == built

    write(root, {"A/IMG_0001.jpg.xmp": sidecar_xml(subject=["sand"])})  # beach taken off, sand given, in A
    out = _import(root)
    assert sources(photo_named("IMG_0001.jpg")) == {"sand": "embedded", "kite": "embedded"}
    assert len(reads) == 1 and "XMP sidecars unchanged since they were last read: 1 " in out
    assert "1 photo was already there and changed by its sidecar: 1 keyword added, 1 keyword removed" in out
    assert "changed by" not in _import(root) and len(reads) == 1

    write(root, {"B/IMG_0001.jpg.xmp": sidecar_xml(subject=["sand"])})  # kite taken off in B
    assert "1 keyword removed" in _import(root)
    assert sources(photo_named("IMG_0001.jpg")) == {"sand": "embedded"}

    write(root, {"A/IMG_0001.jpg.xmp": sidecar_xml(subject=["sand", "dune"]),  # both changed: one photo changed
                 "B/IMG_0001.jpg.xmp": sidecar_xml(subject=["sand", "kite"])})
    assert "1 photo was already there and changed by its sidecar: 2 keywords added" in _import(root)
    assert "gone since" not in _import(root / "A")  # (B's sidecar is not below the folder imported: not gone)


def test_a_sidecar_read_through_another_path_to_the_same_folder_is_the_same_sidecar(tmp_path, family, alice):
    """A library imported once by its path and once through a link to it (or another mount of the share): the
    sidecar read before under the other path keeps no keyword its own change took off."""
    root = write(tmp_path / "Library", {"IMG_0001.jpg": picture(),
                                        "IMG_0001.jpg.xmp": sidecar_xml(subject=["beach", "kite"])})
    _import(root)
    (tmp_path / "Link").symlink_to(root)
    write(root, {"IMG_0001.jpg.xmp": sidecar_xml(subject=["beach"])})

    assert "1 keyword removed" in _import(tmp_path / "Link")
    assert sources(photo_named("IMG_0001.jpg")) == {"beach": "embedded"}


def test_a_photos_sidecar_hash_kept_before_each_path_had_its_own_still_spares_a_read(tmp_path, family, alice,
                                                                                      monkeypatch):
    """A photo imported before the hashes were kept by path holds the one hash of its sidecar: a re-run does not read
    that sidecar again while it is unchanged, and reads it once it changed."""
    from gallery.models import PhotoXmpSidecar

    root = write(tmp_path / "Library", {"IMG_0001.jpg": picture(),
                                        "IMG_0001.jpg.xmp": sidecar_xml(subject=["beach", "kite"])})
    _import(root)
    PhotoXmpSidecar.objects.all().delete()  # as the photos of the earlier version are
    assert photo_named("IMG_0001.jpg").xmp_sidecar_sha256
    reads = []
    real_read = xmp_sidecars.read_embedded
    monkeypatch.setattr(xmp_sidecars, "read_embedded", lambda data, **kw: reads.append(data) or real_read(data, **kw))

    assert "XMP sidecars unchanged since they were last read: 1 " in _import(root)
    assert "XMP sidecars unchanged since they were last read: 1 " in _import(root)
    write(root, {"IMG_0001.jpg.xmp": sidecar_xml(subject=["beach"])})
    assert "1 keyword removed" in _import(root) and len(reads) == 1
    assert sources(photo_named("IMG_0001.jpg")) == {"beach": "embedded"}


def test_a_sidecar_deleted_since_it_was_read_leaves_what_it_gave_and_the_summary_says_so(tmp_path, family, alice,
                                                                                          settings):
    """Deleting a sidecar is no statement about keywords (darktable's "reset" deletes it, digiKam may stop writing
    them; both keep the keywords in their own database): what it gave stays on the photo, the summary says once that
    it is gone, and reading the stored file again takes none of it off either."""
    root = write(tmp_path / "Library", {"IMG_0001.jpg": picture(), "IMG_0002.jpg": picture(),
                                        "IMG_0001.jpg.xmp": sidecar_xml(subject=["beach"], title="Beach day"),
                                        "IMG_0002.jpg.xmp": sidecar_xml(subject=["kite"])})
    _import(root)
    (root / "IMG_0001.jpg.xmp").unlink()

    out = _import(root)

    assert ("XMP sidecars gone since they were last read: 1 (what they gave stays on their photos: take a tag off on "
            "the photo's page)") in out
    assert sources(photo_named("IMG_0001.jpg")) == {"beach": "embedded"}
    assert photo_named("IMG_0001.jpg").title == "Beach day"
    assert "gone since" not in _import(root)
    call_command("read_embedded", "--all", "--no-progress", stdout=io.StringIO())
    assert sources(photo_named("IMG_0001.jpg")) == {"beach": "embedded"}
    settings.UPLOAD_MAX_BYTES = 100  # photos that can't be read now: their sidecars are not gone
    assert "gone since" not in _import(root)


def test_a_sidecar_that_replaced_a_title_says_so_in_the_summary(tmp_path, family, alice):
    root = write(tmp_path / "Library", {
        "IMG_0001.jpg": picture(), "IMG_0001.jpg.xmp": sidecar_xml(subject=["beach"], title="Beach day"),
        "IMG_0002.jpg": picture(), "IMG_0002.jpg.xmp": sidecar_xml(subject=["kite"], title="Kites"),
        "IMG_0003.jpg": picture(),
    })
    _import(root)
    write(root, {"IMG_0001.jpg.xmp": sidecar_xml(subject=["beach"], title="At Sagres"),
                 "IMG_0002.jpg.xmp": sidecar_xml(subject=["kite"], title="Kites over the dunes",
                                                 description="Windy"),
                 "IMG_0003.jpg.xmp": sidecar_xml(title="Scan", city="Sagres", country="Portugal")})

    out = _import(root)

    assert photo_named("IMG_0001.jpg").title == "At Sagres"
    assert ("3 photos were already there and changed by their sidecars: 2 titles replaced, 1 title given, "
            "1 description given, 1 place given, 1 date replaced") in out
    assert "given now what" not in out


def test_a_re_run_reads_no_sidecar_that_did_not_change_since_it_was_read(tmp_path, family, alice, monkeypatch):
    """A nightly import of a darktable library (a sidecar beside every photo) read each photo's sidecar and its file's
    metadata again on every run, two exiv2 reads and a locked row a photo (with the next test's cost, 300 photos
    took 2.5 s to find nothing new, 0.03 s without sidecars; review29). A sidecar whose bytes are those read before is not read again;
    one that changed is, and one that could not be read is tried again."""
    root = write(tmp_path / "Library", {
        "IMG_0001.jpg": picture(), "IMG_0001.jpg.xmp": sidecar_xml(subject=["meadow"]),
        "IMG_0002.jpg": picture(), "IMG_0002.xmp": sidecar_xml(subject=["kite"]),
        "IMG_0003.jpg": picture(), "IMG_0003.jpg.xmp": b"\x00 not xml",
    })
    assert "XMP sidecars read: 2 " in _import(root)
    reads = []
    real_read = xmp_sidecars.read_embedded
    monkeypatch.setattr(xmp_sidecars, "read_embedded", lambda data, **kw: reads.append(data) or real_read(data, **kw))

    out = _import(root)

    assert reads == []  # (the bad one is no XMP: refused before exiv2, as before)
    assert "XMP sidecars unchanged since they were last read: 2 (not read again)" in out
    assert "1 could not be read (skipped, its photo imported: the log says why)" in out

    write(root, {"IMG_0002.xmp": sidecar_xml(subject=["kite", "beach"])})
    out = _import(root)
    assert len(reads) == 1 and sources(photo_named("IMG_0002.jpg")) == {"kite": "embedded", "beach": "embedded"}
    assert "XMP sidecars read: 1 " in out and "XMP sidecars unchanged since they were last read: 1 " in out
    assert "1 photo was already there and changed by its sidecar: 1 keyword added" in out
    assert "XMP sidecars unchanged since they were last read: 2 " in _import(root) and len(reads) == 1


def test_a_sidecar_imported_while_reading_metadata_was_off_is_read_once_it_is_on(tmp_path, family, alice, settings):
    settings.EMBEDDED_METADATA = False
    root = write(tmp_path / "Library", {"IMG_0001.jpg": picture(), "IMG_0001.jpg.xmp": sidecar_xml(subject=["kite"])})
    _import(root)
    assert sources(photo_named("IMG_0001.jpg")) == {}
    settings.EMBEDDED_METADATA = True
    assert "1 photo was already there and changed by its sidecar: 1 date replaced, 1 keyword added" in _import(root)
    assert sources(photo_named("IMG_0001.jpg")) == {"kite": "embedded"}


def test_a_re_run_over_photos_and_their_sidecars_costs_no_query_per_photo(tmp_path, family, alice):
    """Each sidecar file also went through the upload's path as a photo that might be one (a decode, the checks of
    the family and the uploader, 2.8 ms), once the sidecar of a photo: a file named .xmp or .json whose bytes are an
    XMP packet or a Takeout record is no image, and is counted among the files left out as before."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    root = write(tmp_path / "Library", {f"IMG_000{n}.jpg": picture() for n in range(2)}
                 | {f"IMG_000{n}.jpg.xmp": sidecar_xml(subject=[f"k{n}"]) for n in range(2)}
                 | {"IMG_0000.jpg.json": b'{"title": "IMG_0000.jpg", "photoTakenTime": {"timestamp": "1563100000"}}'})
    _import(root)

    def queries() -> int:
        with CaptureQueriesContext(connection) as run:
            out = _import(root)
        assert "Imported 0, already there " in out
        return len(run.captured_queries)

    few = queries()
    write(root, {f"IMG_001{n}.jpg": picture() for n in range(4)}
          | {f"IMG_001{n}.jpg.xmp": sidecar_xml(subject=[f"k{n}"]) for n in range(4)})
    _import(root)
    assert queries() == few


@pytest.mark.parametrize("hostile, said", [
    pytest.param(b"\x00\x01not xml at all\xff", "skipped: no XMP file", id="garbage"),
    pytest.param(images.xmp_entity_bomb(), "embedded metadata skipped", id="entity bomb"),
    pytest.param(sidecar_xml(subject=["ok"]).replace(b"<rdf:RDF", b"<rdf:RDF \xff\xfe"), "embedded metadata skipped",
                 id="bad utf-8"),
])
def test_a_hostile_sidecar_is_skipped_with_a_log_line_and_its_photo_stored(tmp_path, family, alice, caplog, hostile,
                                                                           said):
    root = write(tmp_path / "Library", {"IMG_0001.jpg": picture(), "IMG_0001.jpg.xmp": hostile})

    with caplog.at_level(logging.WARNING):
        out = _import(root)

    photo = photo_named("IMG_0001.jpg")
    assert sources(photo) == {} and "Imported 1," in out
    assert f"IMG_0001.jpg.xmp (XMP sidecar): {said}" in caplog.text


def test_a_sidecar_too_large_to_be_one_is_not_read(tmp_path, family, alice, caplog, monkeypatch):
    monkeypatch.setattr(xmp_sidecars, "MAX_BYTES", 1000)
    root = write(tmp_path / "Library", {"IMG_0001.jpg": picture(),
                                        "IMG_0001.jpg.xmp": sidecar_xml(subject=["big"], description="x" * 2000)})

    with caplog.at_level(logging.WARNING):
        _import(root)

    assert sources(photo_named("IMG_0001.jpg")) == {}
    assert "IMG_0001.jpg.xmp (XMP sidecar): skipped: larger than" in caplog.text


def test_the_summary_counts_a_sidecar_that_could_not_be_read_apart(tmp_path, family, alice):
    root = write(tmp_path / "Library", {"IMG_0001.jpg": picture(), "IMG_0001.jpg.xmp": b"\x00 not xml",
                                        "IMG_0002.jpg": picture(), "IMG_0002.jpg.xmp": sidecar_xml(subject=["kite"])})

    out = _import(root)

    assert "XMP sidecars read: 1 " in out
    assert "1 could not be read (skipped, its photo imported: the log says why)" in out


def test_an_empty_sidecar_file_is_a_sidecar_that_could_not_be_read_not_a_photo_that_could_not(tmp_path, family, alice):
    """A sidecar file of no bytes (a write cut short, a sync tool's placeholder) was also tried as a photo: the summary
    named it "skipped IMG_0001.jpg.xmp: The file is empty." and counted it unreadable beside its photo. It is a
    sidecar that could not be read (nothing taken off its photo), as one that is no XMP."""
    root = write(tmp_path / "Library", {"IMG_0001.jpg": picture(), "IMG_0001.jpg.xmp": sidecar_xml(subject=["kite"]),
                                        "IMG_0002.jpg": picture(), "IMG_0002.jpg.json": b""})
    _import(root)
    write(root, {"IMG_0001.jpg.xmp": b""})

    out = _import(root)

    assert "skipped IMG" not in out and "1 could not be read (skipped, its photo imported" in out
    assert "Imported 0, already there 2, unreadable 0 (of 4 files)" in out
    assert sources(photo_named("IMG_0001.jpg")) == {"kite": "embedded"}


def test_a_position_set_in_darktable_or_digikam_is_read_from_the_sidecar(tmp_path, family, alice):
    """darktable's map view and digiKam's geolocation editor write the position into the sidecar alone: the photo
    has its place (and the zone its camera's clock is read in), with a new photo or one already there; a position in
    the file itself comes first."""
    root = write(tmp_path / "Library", {
        "IMG_0001.jpg": images.gps_jpeg(None, None, taken="2019:07:14 18:30:00", colour=(9, 90, 9)),
        "IMG_0001.jpg.xmp": sidecar_xml(gps=("38,43.338N", "9,8.358W")),  # Lisbon
        "IMG_0002.jpg": images.gps_jpeg(None, None, taken="2019:07:15 18:30:00", colour=(90, 9, 9)),
        "IMG_0003.jpg": images.gps_jpeg(52.37, 4.89, taken="2019:07:16 18:30:00", colour=(9, 9, 90)),  # Amsterdam, by the camera
        "IMG_0003.jpg.xmp": sidecar_xml(gps=("38,43.338N", "9,8.358W")),
    })
    _import(root)
    write(root, {"IMG_0002.jpg.xmp": sidecar_xml(gps=("35,41,22.2N", "139,41,30.1E"))})  # Tokyo, geotagged later

    out = _import(root)

    lisbon, tokyo, amsterdam = (photo_named(f"IMG_000{n}.jpg") for n in (1, 2, 3))
    assert (round(lisbon.latitude, 3), round(lisbon.longitude, 3)) == (38.722, -9.139)
    assert (lisbon.place_city, lisbon.place_country_code, lisbon.taken_tz) == ("Lisbon", "PT", "Europe/Lisbon")
    assert lisbon.taken_at_local.hour == 18  # the camera's clock, read where it was
    assert (round(tokyo.latitude, 3), round(tokyo.longitude, 3)) == (35.689, 139.692)
    assert (tokyo.place_country_code, tokyo.taken_tz, tokyo.taken_at_local.hour) == ("JP", "Asia/Tokyo", 18)
    assert amsterdam.place_country_code == "NL"
    assert "1 photo was already there and changed by its sidecar: 1 place given" in out


def test_a_fifo_named_as_a_sidecar_or_a_link_to_one_is_none_and_the_import_goes_on(tmp_path, family, alice):
    """Opening a FIFO waits for a writer for ever: a `.xmp` that is no file (or a link to none) is no sidecar, as a
    Takeout `.json` that is none (one listing for both: gallery.sidecars.files_named)."""
    import os
    import signal

    root = write(tmp_path / "Library", {"IMG_0001.jpg": picture(), "IMG_0002.jpg": picture(),
                                        "IMG_0003.jpg": picture(), "IMG_0003.jpg.xmp": sidecar_xml(subject=["kite"])})
    os.mkfifo(root / "IMG_0001.jpg.xmp")
    (root / "IMG_0002.xmp").symlink_to(root / "IMG_0001.jpg.xmp")

    class Hung(BaseException):  # (no OSError, which the reader would take for a file it could not read)
        pass

    def hung(signum, frame):
        raise Hung("the import waited on a FIFO")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(20)
    try:
        out = _import(root)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)

    assert "Imported 3," in out and "XMP sidecars read: 1 " in out
    assert sources(photo_named("IMG_0003.jpg")) == {"kite": "embedded"}


def test_a_file_named_xmp_that_is_no_xmp_is_not_read(tmp_path, family, alice, caplog):
    """A JPEG renamed `.xmp` carries EXIF and IPTC that exiv2 reads as well as XMP: it is no sidecar, and nothing
    of it is applied to the photo beside it (it is imported as the photo it is, by what it holds)."""
    renamed = picture(iptc={"Iptc.Application2.Keywords": ["stolen"], "Iptc.Application2.Caption": "Not this"},
                      xmp={"Xmp.dc.subject": ["borrowed"]})
    root = write(tmp_path / "Library", {"IMG_0001.jpg": picture(), "IMG_0001.xmp": renamed})

    with caplog.at_level(logging.WARNING):
        out = _import(root)

    photo = photo_named("IMG_0001.jpg")
    assert sources(photo) == {} and photo.description == "" and "Imported 2," in out
    assert "IMG_0001.xmp (XMP sidecar): skipped: no XMP file" in caplog.text
    assert "1 could not be read" in out


def test_a_sidecars_date_taken_dates_a_file_that_tells_none_after_a_folders(tmp_path, family, alice):
    """darktable and digiKam write the date taken into the sidecar (exif:DateTimeOriginal; every sidecar_xml here says
    2019-07-14 10:11:12): a scan with no date of its own is dated by it rather than by its file's modified time, and
    so is one imported before, on the next run. A folder's date comes first: a sidecar's may be its program's guess."""
    root = write(tmp_path / "Library", {
        "Unsorted/scan001.jpg": picture(), "Unsorted/scan001.jpg.xmp": sidecar_xml(subject=["scan"]),
        "Unsorted/camera.jpg": picture(exif={"Exif.Photo.DateTimeOriginal": "2001:02:03 04:05:06"}),
        "Unsorted/camera.jpg.xmp": sidecar_xml(),
        "1987-07-04 Beach/scan002.jpg": picture(), "1987-07-04 Beach/scan002.jpg.xmp": sidecar_xml(),
        "Later/scan003.jpg": picture(),
    })
    _import(root)

    def dated(name):
        photo = photo_named(name)
        return photo.taken_at_local.replace(tzinfo=None), photo.taken_at_source

    assert dated("scan001.jpg") == (datetime(2019, 7, 14, 10, 11, 12), "xmp")
    assert dated("camera.jpg") == (datetime(2001, 2, 3, 4, 5, 6), "exif")  # the file's own first
    assert dated("scan002.jpg")[1] == "folder_day"
    assert dated("scan003.jpg")[1] == "file"

    write(root, {"Later/scan003.jpg.xmp": sidecar_xml()})  # dated in darktable since
    _import(root)
    assert dated("scan003.jpg") == (datetime(2019, 7, 14, 10, 11, 12), "xmp")
    # Filed later in a folder named by its day: the folder's date replaces the sidecar's, as on a first import.
    (root / "1987-07-05 Picnic").mkdir()
    for name in ("scan003.jpg", "scan003.jpg.xmp"):
        (root / "Later" / name).rename(root / "1987-07-05 Picnic" / name)
    _import(root)
    assert dated("scan003.jpg") == (datetime(1987, 7, 5, 12), "folder_day")


def test_a_description_taken_off_a_sidecar_clears_the_one_it_wrote(tmp_path, family, alice):
    """dc:description taken off in digiKam left the description the sidecar wrote on the photo for good (only a
    description given replaced one): the one it wrote, nobody having edited it since, is cleared, as a Picasa
    caption taken off is; the file's own comes back where it has one; a member's stays."""
    root = write(tmp_path / "Library", {
        "IMG_0001.jpg": picture(), "IMG_0001.jpg.xmp": sidecar_xml(subject=["kite"], description="digiKam's"),
        "IMG_0002.jpg": picture(xmp={"Xmp.dc.description": {'lang="x-default"': "The camera's caption"}}),
        "IMG_0002.jpg.xmp": sidecar_xml(subject=["kite"], description="digiKam's too"),
        "IMG_0003.jpg": picture(), "IMG_0003.jpg.xmp": sidecar_xml(subject=["kite"], description="Theirs")})
    _import(root)
    photo_update(photo=photo_named("IMG_0003.jpg"), user=alice, description="Ours")
    write(root, {f"IMG_000{n}.jpg.xmp": sidecar_xml(subject=["kite"]) for n in (1, 2, 3)})

    out = _import(root)

    assert {name: (photo_named(name).description, photo_named(name).description_source)
            for name in ("IMG_0001.jpg", "IMG_0002.jpg", "IMG_0003.jpg")} == {
        "IMG_0001.jpg": ("", ""), "IMG_0002.jpg": ("The camera's caption", "embedded"),
        "IMG_0003.jpg": ("Ours", "member")}
    assert "2 photos were already there and changed by their sidecars: 1 description replaced, 1 description " \
           "removed" in out
    assert "XMP sidecars unchanged since they were last read: 3 " in _import(root)


def test_a_sidecars_keyword_the_database_reads_as_another_name_takes_no_keyword_of_the_file_off(tmp_path, family,
                                                                                                 alice):
    """The file's keywords and its sidecar's were merged once by Python's str.lower(), to which the sidecar's "Straße"
    is not the file's "STRASSE" ("straße" and "strasse"), one name to the database's key (folded): the merge kept both,
    a tag of one of them is the other's. They are merged by that key, each the file's tag spelt as it was."""
    root = write(tmp_path / "Library", {"IMG_0001.jpg": picture(xmp={"Xmp.dc.subject": ["STRASSE", "οδος", "Athens"]})})
    _import(root)
    write(root, {"IMG_0001.jpg.xmp": sidecar_xml(subject=["Straße", "ΟΔΟΣ", "athens"])})

    _import(root)

    # (each one name to both: the file's tag stays, spelt as it was)
    assert sources(photo_named("IMG_0001.jpg")) == {"STRASSE": "embedded", "οδος": "embedded", "Athens": "embedded"}
