"""Gallery migration 0052's mediasearch_fold on a real PostgreSQL 15 to 17, whose body is the approximation from lower()
(gallery.name_fold; the embedded server is 18, where it is casefold()): created exactly as 0052 creates it on that
server, then compared with Python's name_folded over every letter of Unicode and over the names the fold tests hold
to be one name, or two. gallery/tests/test_fold_function.py measures the same bodies on the embedded server; this is
the proof on the version itself, its lower() under the database's own collation.

Skipped unless PG15_DSN names the database(s) to measure, postgres:// URLs separated by spaces (any role that may
create a function; its database's LC_CTYPE is the one measured). Nothing is left behind: the function is made in a
transaction that is rolled back. As a script it prints the figures:

    .venv/bin/python -m tests.test_fold_postgresql15 postgres://postgres@127.0.0.1:55435/fold_c_utf8 [more URLs]
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field

import django
import psycopg
import pytest

if __name__ == "__main__":  # (as a script: the fold tests' modules imported below import the gallery's models)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    django.setup()

from gallery.name_fold import CASEFOLD_SINCE, FOLD_FUNCTION, name_folded
from gallery.tests.test_case_folding import FOLDED_ALIKE
from gallery.tests.test_fold_function import FALLBACK_LEFT, FOLDED_ALIKE_NAMES, fold_function_sql, letters
from mediasearch.checks import fold_problems

DSNS = os.environ.get("PG15_DSN", "").split()

pytestmark = pytest.mark.skipif(not DSNS, reason="PG15_DSN names no PostgreSQL 15-17 database to measure the fold on")

# Each set one name to case folding: the fold tests' (gallery/tests), and the twins of ß, Σ, dotted I, ligatures and
# Cherokee spelled every way.
ALIKE = [*FOLDED_ALIKE_NAMES, *FOLDED_ALIKE, ("ẞ", "ß", "SS", "ss"), ("Σ", "σ", "ς"),
         ("ΣΟΦΟΣ", "σοφος", "σοφοσ"), ("İ", "i", "I"), ("ﬁ", "FI", "fi", "Fi"), ("ﬀ", "FF"), ("Ᏸ", "ᏸ"), ("ꮿ", "Ꮿ"),
         ("ᏣᎳᎩ", "ꮳꮃꭹ")]
# ... and pairs two names to it: the Turkish dotless ı is no i; an accent is no case.
APART = [("ı", "i"), ("ılık", "ILIK"), ("é", "e"), ("Straße", "Strase")]


@dataclass
class Measured:
    """What one database's mediasearch_fold (0052's body for its server) does against name_folded."""

    server_version_num: int
    locale_provider: str
    ctype: str
    letters: int
    letters_differing: set[str]
    names_differing: list[str] = field(default_factory=list)
    alike_split: list[tuple[str, ...]] = field(default_factory=list)
    apart_joined: list[tuple[str, ...]] = field(default_factory=list)

    @property
    def check_says(self) -> list[str]:
        """What `migrate`'s database check (mediasearch.W001) says of this database."""
        return fold_problems(server_version_num=self.server_version_num, locale_provider=self.locale_provider,
                             ctype=self.ctype, fold_definition=None)


def measured(dsn: str) -> Measured:
    """The function 0052 makes on that server, made there in a transaction rolled back, against name_folded."""
    with psycopg.connect(dsn) as conn:
        server = conn.info.server_version
        provider, ctype = conn.execute("SELECT datlocprovider, datctype FROM pg_database "
                                       "WHERE datname = current_database()").fetchone()
        try:
            conn.execute(fold_function_sql(server))  # (what migration 0052 runs: gallery.name_fold.FOLD_FUNCTION)

            def folded(texts: list[str]) -> list[str]:
                return [row[0] for row in conn.execute(
                    f"SELECT {FOLD_FUNCTION}(t) FROM unnest(%s::text[]) WITH ORDINALITY AS given(t, n) ORDER BY n",
                    [texts])]

            all_letters = letters()
            names = sorted({name for group in (*ALIKE, *APART) for name in group})
            by_database = dict(zip(names, folded(names)))
            return Measured(
                server_version_num=server, locale_provider=provider, ctype=ctype, letters=len(all_letters),
                letters_differing={letter for letter, key in zip(all_letters, folded(all_letters))
                                   if key != name_folded(letter)},
                names_differing=[name for name in names if by_database[name] != name_folded(name)],
                alike_split=[group for group in ALIKE if len({by_database[name] for name in group}) > 1],
                apart_joined=[pair for pair in APART if len({by_database[name] for name in pair}) < 2])
        finally:
            conn.rollback()


@pytest.fixture(scope="module", params=DSNS)
def measured_database(request) -> Measured:
    return measured(request.param)


def test_the_server_is_one_of_those_the_approximation_is_for(measured_database):
    assert 150000 <= measured_database.server_version_num < CASEFOLD_SINCE


def test_every_letter_of_unicode_folds_as_name_folded_but_the_63_documented(measured_database):
    """On a database whose collation is a UTF-8 one; one that lowers A to Z only is the check's to refuse (next)."""
    if measured_database.check_says:
        pytest.skip(f"the database check warns of this database: {measured_database.check_says[0]}")
    assert measured_database.letters == 131756  # (Python 3.11's unicodedata, Unicode 14.0: README's figure)
    assert measured_database.letters_differing == FALLBACK_LEFT
    assert len(FALLBACK_LEFT) == 63


def test_the_names_the_fold_tests_use_fold_as_name_folded(measured_database):
    if measured_database.check_says:
        pytest.skip(f"the database check warns of this database: {measured_database.check_says[0]}")
    assert measured_database.names_differing == []
    assert measured_database.alike_split == [] and measured_database.apart_joined == []


def test_a_database_folding_otherwise_is_one_the_check_warns_of(measured_database):
    """Where mediasearch.W001 says nothing, the fold is as documented; where letters beyond the 63 differ (a C or
    POSIX LC_CTYPE on 15 or 16: lower() lowers A to Z only), the check says so."""
    folds_otherwise = measured_database.letters_differing != FALLBACK_LEFT
    assert bool(measured_database.check_says) == folds_otherwise


def report(dsn: str) -> str:
    found = measured(dsn)
    left = found.letters_differing
    lines = [f"{dsn}: PostgreSQL {found.server_version_num}, locale provider {found.locale_provider!r}, "
             f"LC_CTYPE {found.ctype!r}",
             f"  letters compared: {found.letters}; differing from name_folded: {len(left)} "
             f"({'the 63 documented' if left == FALLBACK_LEFT else f'{len(left - FALLBACK_LEFT)} beyond the 63'})",
             f"  fold-twin sets: {len(ALIKE)}, split: {found.alike_split or 'none'}; "
             f"pairs kept apart: {len(APART)}, joined: {found.apart_joined or 'none'}",
             f"  names differing from name_folded: {found.names_differing or 'none'}",
             f"  the database check (mediasearch.W001): {found.check_says or 'nothing'}"]
    return "\n".join(lines)


if __name__ == "__main__":
    for given in sys.argv[1:] or DSNS:
        print(report(given))
