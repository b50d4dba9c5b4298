"""The SQL function every comparison of names calls, mediasearch_fold (gallery.name_fold): created by migration 0052
with casefold() on PostgreSQL 18 (the embedded server), and with an approximation from lower() on 15 to 17, measured
here against Python's name_folded over every letter: the body 17 would get, created under a scratch name."""

from __future__ import annotations

import importlib
import unicodedata

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from gallery.models import RemovedTag, Tag
from gallery.name_fold import FOLD_FUNCTION, name_folded
from gallery.services import photos_tag_remove
from tests.factories import photo_factory

pytestmark = pytest.mark.django_db

# The bodies as migration 0052 makes them (frozen there).
fold_function_sql = importlib.import_module("gallery.migrations.0052_tag_names_unique_by_case_folding").fold_function_sql

SCRATCH = "mediasearch_fold_measured"

# The letters on which the fallback body (17's) and name_folded differ, each written alone: what it leaves undone.
IOTA_SUBSCRIPT = {chr(cp) for cp in [*range(0x1F80, 0x1FB0), 0x1FB2, 0x1FB3, 0x1FB4, 0x1FB7, 0x1FBC, 0x1FC2, 0x1FC3,
                                     0x1FC4, 0x1FC7, 0x1FCC, 0x1FF2, 0x1FF3, 0x1FF4, 0x1FF7, 0x1FFC]}
FALLBACK_LEFT = IOTA_SUBSCRIPT


def letters() -> list[str]:
    """Every letter (general category L*) Python's unicodedata knows."""
    return [chr(cp) for cp in range(0x110000) if unicodedata.category(chr(cp)).startswith("L")]


def folded_by(function: str, texts: list[str]) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(t) FROM unnest(%s::text[]) WITH ORDINALITY AS given(t, n) ORDER BY n",
                       [texts])
        return [folded for (folded,) in cursor.fetchall()]


def differing(function: str, texts: list[str]) -> set[str]:
    return {text for text, folded in zip(texts, folded_by(function, texts)) if folded != name_folded(text)}


def function_definition(name: str) -> str | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_functiondef(p.oid) FROM pg_proc p WHERE p.proname = %s", [name])
        row = cursor.fetchone()
    return row[0] if row else None


def test_the_migration_made_the_casefold_function_on_postgresql_18():
    assert connection.pg_version >= 180000  # (the embedded server)
    definition = function_definition(FOLD_FUNCTION)
    assert "casefold(" in definition and "IMMUTABLE" in definition and "PARALLEL SAFE" in definition
    assert differing(FOLD_FUNCTION, letters()) == set()


def test_the_fallback_body_of_postgresql_17_agrees_on_every_letter_but_those_documented():
    with connection.cursor() as cursor:
        cursor.execute(fold_function_sql(170000, name=SCRATCH))
    assert "casefold(" not in function_definition(SCRATCH)
    all_letters = letters()
    assert len(all_letters) == 131756  # (Python 3.11's unicodedata, Unicode 14.0: the figure the README gives)
    assert differing(SCRATCH, all_letters) == FALLBACK_LEFT
    assert len(FALLBACK_LEFT) == 63


# Names one by case folding, each set: those the fallback body must fold alike too (tests/test_fold_postgresql15.py
# measures them on a real PostgreSQL 15).
FOLDED_ALIKE_NAMES = [("Straße", "STRASSE", "strasse", "STRAẞE"), ("ǅemal", "ǄEMAL", "ǆemal"),
                      ("ΟΔΟΣ", "οδος", "ΟΔΟς"), ("İstanbul", "istanbul", "i\u0307stanbul"), ("Café", "CAFE\u0301"),
                      ("ﬁsh", "FISH"), ("ﬆop", "STOP"), ("ŉ", "\u02bcN"), ("ǰ", "J\u030c"),
                      ("ΐ", "\u03b9\u0308\u0301"), ("ꭰ", "Ꭰ"), ("ﬓ", "ՄՆ"), ("ẚ", "A\u02be")]


@pytest.mark.parametrize("names", FOLDED_ALIKE_NAMES)
def test_the_fallback_body_folds_names_alike_as_casefold_does(names):
    with connection.cursor() as cursor:
        cursor.execute(fold_function_sql(170000, name=SCRATCH))
    assert len(set(folded_by(SCRATCH, list(names)))) == 1
    assert folded_by(SCRATCH, list(names)) == [name_folded(name) for name in names]


def test_the_fallback_body_of_postgresql_15_and_16_under_the_databases_collation():
    """15 and 16 lower() under the database's collation (here the C library's C.UTF-8): the same letters differ."""
    with connection.cursor() as cursor:
        cursor.execute(fold_function_sql(160000, name=SCRATCH))
    assert 'COLLATE' not in function_definition(SCRATCH)
    left = differing(SCRATCH, letters())
    assert left == FALLBACK_LEFT  # (on this machine's C library; another's may lower some letters otherwise)


def migrated_back_to_0051() -> None:
    """What `migrate gallery 0051` does (the test's transaction rolls it back): the pending foreign-key checks of the
    rows the test made run first, as PostgreSQL alters no table with them pending."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    MigrationExecutor(connection).migrate([("gallery", "0051_album_share_link_name")])


def test_reversing_the_migration_drops_the_function(family, alice):
    photo = photo_factory(family=family, user=alice, tags=["Straße"])
    photos_tag_remove(photos=[photo], name="Straße", user=alice)
    migrated_back_to_0051()
    assert function_definition(FOLD_FUNCTION) is None


def test_reversing_the_migration_keys_removed_tags_by_lower_as_before(family, alice):
    """RemovedTag.name holds the folded key, up to 192 characters: "Große Straße" and 52 letters more (64, a name's
    most) is 66 ("ß" is "ss"), which the 64 characters before 0052 refused (DataError); and 0051's code compares it
    with lower() of the name: "große straße …", never "grosse strasse …". A removed tag the family still has is keyed
    by lower() of its name; one it no longer has by lower() of its key, where that fits, else forgotten."""
    long_name = "Große Straße " + "x" * 51
    photo = photo_factory(family=family, user=alice, tags=[long_name, "ΟΔΟΣ", "Beach"])
    for name in (long_name, "ΟΔΟΣ", "Beach"):
        photos_tag_remove(photos=[photo], name=name, user=alice)
    assert max(len(key) for key in RemovedTag.objects.values_list("name", flat=True)) == 66
    Tag.objects.filter(family=family, name="Beach").delete()
    RemovedTag.objects.create(photo=photo, name="y" * 65 + "ss")  # (a tag gone, its key longer than 64)
    migrated_back_to_0051()
    assert sorted(RemovedTag.objects.filter(photo=photo).values_list("name", flat=True)) == \
        sorted([long_name.lower(), "οδοσ", "beach"])  # (the database's lower(): no final "ς")


def test_reversing_the_migration_has_the_search_documents_built_again(family, alice):
    """Documents built by the folding code are at search.metadata.DOCUMENT_VERSION 13, which 0051's code (12) never
    rebuilds: reversed, they are marked to be (version 0), as documents of a layout before theirs."""
    from search.metadata import documents_refresh
    from search.models import PhotoDocument

    photo = photo_factory(family=family, user=alice, tags=["Straße"])
    documents_refresh([photo.pk])
    assert PhotoDocument.objects.get(photo=photo).version == 13
    migrated_back_to_0051()
    assert PhotoDocument.objects.get(photo=photo).version == 0


def fold_messages() -> list:
    from django.core import checks

    return [m for m in checks.run_checks(databases=["default"], tags=[checks.Tags.database])
            if m.id in ("mediasearch.W001", "mediasearch.E003")]


def test_the_database_check_says_nothing_of_the_fold_on_postgresql_18():
    assert fold_messages() == []


def test_the_database_check_warns_of_the_approximation_kept_after_an_in_place_upgrade_to_18():
    """The function 0052 made on 17 stays when the server is upgraded in place: `migrate` says so."""
    with connection.cursor() as cursor:
        cursor.execute(fold_function_sql(170000))  # (what 0052 made on 17; the index keeps using it)
    [warning] = fold_messages()
    assert warning.id == "mediasearch.W001" and "upgraded from" in warning.msg and "not by casefold()" in warning.msg


@pytest.mark.parametrize("version, provider, ctype, said", [
    (140000, "c", "C.UTF-8", "PostgreSQL 14 is too old"), (160000, "c", "C", "LC_CTYPE is 'C'"),
    (150000, "c", "POSIX", "lowers A to Z only"), (160000, "c", "en_US.UTF-8", None), (160000, "i", "C", None),
    (170000, "c", "C", None), (180000, "c", "C", None)])
def test_what_keeps_a_server_from_folding_names(version, provider, ctype, said):
    """On 15 and 16 the fallback lowers under the database's collation: a libc "C" one lowers A to Z only."""
    from mediasearch.checks import fold_problems

    problems = fold_problems(server_version_num=version, locale_provider=provider, ctype=ctype,
                             fold_definition=None)
    assert [said in problem for problem in problems] == ([True] if said else [])
