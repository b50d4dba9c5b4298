"""The one rule by which names and search words compare: Unicode case folding of their NFC form (Python's
str.casefold), written NFC again, in Python and in SQL alike. The NFC after folding closes the rule: casefold can write
apart what NFC writes whole ("Ϊ́", "ΐ" in capitals, folds to "ϊ" and an acute, that is "ΐ", which folds to three code
points), and without it a name in capitals, or a key folded again (a removed tag's, RemovedTag.name), was another key.
Every letter in capitals folds as the letter but the dotless "ı" (its capital "I" is "i").

"Straße", "STRASSE" and "strasse" are one name, so are "ǅ", "Ǆ" and "ǆ", and a Greek final "ς", "σ" and "Σ"; a
letter written whole ("é") or as a letter and its accent ("e" and U+0301) reads the same. PostgreSQL's lower() (and
upper(), and `__iexact`) do none of the first three and the embedded server has no ICU for a nondeterministic
collation, but PostgreSQL 18's casefold() under its built-in "pg_unicode_fast" collation folds exactly as
str.casefold does (immutable, so a unique index can use it). One exception, kept from the lower() rule before it:
"İ" (a capital I with a dot) folds to "i", not to "i" and a combining dot, so "İstanbul" is still "istanbul".

In SQL the rule is one function, mediasearch_fold(text), which gallery migration 0052 creates (before the unique index
of tag names that uses it) with the body its server can run (its fold_function_sql, frozen there): on PostgreSQL 18
and later the casefold() above; on 15 to 17, which have neither casefold() nor "pg_unicode_fast", an approximation: lower() (under
the built-in "pg_c_utf8" collation on 17, Unicode's simple lower-case mapping; under the database's own collation on
15 and 16, which must be a UTF-8 one, not "C") and then what case folding does beyond lower-casing for the letters
that matter: "ß" and "ẞ" are "ss", a final "ς" is "σ", Greek letter variants ("ϐ", "ϑ", "ϕ", "ϖ", "ϰ", "ϱ", "ϵ"),
"µ", "ſ", "ẛ", the old Cyrillic variants "ᲀ"-"ᲈ" and Cherokee (folded to its capitals, as Unicode does) map as
casefold maps them, and the ligatures "ﬀ" "ﬁ" "ﬂ" "ﬃ" "ﬄ" "ﬅ" "ﬆ", the Armenian "և" and "ﬓ"-"ﬗ", "ŉ" and "ẚ"
expand as it expands them, then NFC. Measured over every letter Python's unicodedata knows
(Unicode 14.0: 131,756 letters; gallery/tests/test_fold_function.py, on the embedded server, with 17's body and with
15's under its C.UTF-8), it agrees with name_folded on all but 63, each a polytonic Greek letter with an iota
subscript or a prosgegrammeni ("ᾳ" and "ᾼ" fold to "αι"; ᾀ-ᾯ, ᾲ-ᾴ, ᾷ, ᾼ, ῂ-ῄ, ῇ, ῌ, ῲ-ῴ, ῷ, ῼ): names differing only
there are two tags on such a server, one on PostgreSQL 18. A server upgraded in place to 18 keeps the body the
migration chose (the unique index and every query still agree, all calling the one function); a later migration can
swap in casefold() only by dropping every index on the function (the unique indexes of tags, of concepts and of
synonyms), re-creating the function, merging what then folds alike, as 0052 and search 0034 do, and creating the
indexes again: CREATE OR REPLACE of a function an index uses leaves the index's entries as the old body folded them.
"""

from __future__ import annotations

import unicodedata

from django.db.models import F, Func, TextField

# The SQL function every comparison of names calls (NameFolded, NAME_FOLDED_SQL), created by gallery migration 0052.
FOLD_FUNCTION = "mediasearch_fold"

# PostgreSQL 18's server_version_num: casefold() and the "pg_unicode_fast" collation; 17's: the "pg_c_utf8" collation
# (what mediasearch.checks reads of the server; gallery migration 0052 keeps its own copy, as of the body it makes).
CASEFOLD_SINCE = 180000
PG_C_UTF8_SINCE = 170000

# What str.casefold writes for "İ", a dotted capital I (Unicode's full folding), read as a plain "i": the Turkic
# folding of that one letter, which PostgreSQL's lower() gave and the gallery's tags kept.
_DOTTED_I_FOLDED = "i\u0307"


def name_folded(name: str) -> str:
    """The name as it compares with others: NFC, case-folded (str.casefold), "i" and a combining dot as "i", NFC again
    (casefold can write a letter apart that NFC writes whole: "Ϊ́" folds to "ϊ" and an acute, which is "ΐ", folding to
    three code points; without it a key folded again, or a name in capitals, would be another key)."""
    folded = unicodedata.normalize("NFC", name).casefold().replace(_DOTTED_I_FOLDED, "i")
    return unicodedata.normalize("NFC", folded)


class NameFolded(Func):
    """name_folded in SQL, for a text expression (a column: NameFolded("name"), or a Value): the unique index of a
    family's tags and every comparison of tag names by their key."""

    function = FOLD_FUNCTION
    output_field = TextField()
    arity = 1


def name_folded_index_key(field: str) -> Func:
    """NameFolded of the column `field` as a unique index writes it: Django's own Func, not NameFolded, so that the
    migrations making the indexes (gallery 0052, search 0034) write the same expression without importing this app's
    code (a migration must not change when the app does), and `makemigrations` sees no change."""
    return Func(F(field), function=FOLD_FUNCTION, output_field=TextField())


# NameFolded's SQL around a column or placeholder of raw SQL (search's statements): "{}" is what it folds.
NAME_FOLDED_SQL = FOLD_FUNCTION + "({})"


def folded_unaccented_sql(text: str) -> str:
    """SQL: the text `text` (SQL) as search compares words and places: folded (NAME_FOLDED_SQL: "Straße" is "strasse",
    a final "ς" is "σ", which the 'english' text search configuration, lowering with lower(), keeps apart), then
    unaccented (the unaccent extension) and lowered again (unaccent writes some letters as capitals: "℃" is "°C")."""
    return f"lower(unaccent({NAME_FOLDED_SQL.format(text)}))"
