"""System checks of the project as a whole: the database server has what the first migration creates, and folds
names as gallery.name_fold says. (DEBUG with HTTPS=on is refused where settings load, not here: gunicorn started
directly runs no checks.)"""

from __future__ import annotations

from django.core import checks
from django.db import connections

from gallery.name_fold import CASEFOLD_SINCE, FOLD_FUNCTION, PG_C_UTF8_SINCE

# What the first migrations create (gallery 0001): the extension, and the oldest version the code works with.
EXTENSIONS = {"vector": ("pgvector", (0, 8)), "pg_trgm": ("pg_trgm", None), "unaccent": ("unaccent", None)}
# Where each comes from. Debian 12's own packages have no pgvector at all (the PostgreSQL project's apt repository,
# PGDG, has it for every major version), Debian 13's has 0.8; pg_trgm and unaccent ship with the server.
INSTALL = {
    "pgvector": ("Debian 13 or newer: apt-get install postgresql-<major version>-pgvector; Debian 12 and Ubuntu: "
                 "the same package from the PostgreSQL project's own apt repository (PGDG), as their own packages "
                 "have none or one older than 0.8; elsewhere build it from source"),
}
CONTRIB = ("it ships with PostgreSQL: Debian/Ubuntu's postgresql-<major version> package has it, other systems' "
           "postgresql-contrib")


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".") if part.isdigit())


def extension_problems(cursor, required: dict[str, tuple[str, tuple[int, ...] | None]] = EXTENSIONS) -> list[str]:
    """What keeps the database behind `cursor` from holding the `required` extensions, in words: not installed on
    the server, too old, or only a superuser may create it and this role is none."""
    cursor.execute("SELECT name, default_version, installed_version FROM pg_available_extensions "
                   "WHERE name = ANY(%s)", [list(required)])
    found = {name: (default, installed) for name, default, installed in cursor.fetchall()}
    cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
    superuser = cursor.fetchone()[0]
    cursor.execute("SELECT name FROM pg_available_extension_versions WHERE name = ANY(%s) AND superuser "
                   "AND NOT trusted", [list(required)])
    superuser_only = {row[0] for row in cursor.fetchall()}
    problems = []
    for name, (known_as, oldest) in required.items():
        at_least = f" {'.'.join(map(str, oldest))} or newer" if oldest else ""
        if name not in found:
            problems.append(f"the extension {known_as} (“{name}”) is not installed on the PostgreSQL server: "
                            f"install {known_as}{at_least} there ({INSTALL.get(known_as, CONTRIB)}), then, as a "
                            f"superuser, in this database run CREATE EXTENSION IF NOT EXISTS {name};")
            continue
        default, installed = found[name]
        if oldest and _version(installed or default) < oldest:
            problems.append(f"{known_as} {installed or default} is too old: {at_least.strip()} is needed")
        elif not installed and name in superuser_only and not superuser:
            problems.append(f"only a superuser may create the extension “{name}”, and this role is none: as a "
                            f"superuser, in this database, run CREATE EXTENSION IF NOT EXISTS {name};")
    return problems


@checks.register(checks.Tags.database)
def database_has_the_extensions(app_configs=None, databases=None, **kwargs) -> list[checks.CheckMessage]:
    """Run by `migrate` (and `check --database default`): without it, the first migration stopped in a traceback
    ending in PostgreSQL's 'extension "vector" is not available'."""
    messages = []
    for alias in databases or ():
        with connections[alias].cursor() as cursor:
            problems = extension_problems(cursor)
        messages += [checks.Error(f"Database {alias!r}: {problem}.",
                                  hint="README, Production notes: Database.", id="mediasearch.E001")
                     for problem in problems]
    return messages


def fold_problems(*, server_version_num: int, locale_provider: str, ctype: str,
                  fold_definition: str | None) -> list[str]:
    """What keeps the database from folding names as gallery.name_fold's mediasearch_fold should, in words: a server
    older than 15; on 15 and 16 (lower() under the database's collation) a libc "C" or "POSIX" one, which lowers A to Z
    only; on 18 a function made before an in-place upgrade (fold_definition: its pg_get_functiondef, None when not
    created yet), the approximation kept."""
    if server_version_num < 150000:
        return [f"PostgreSQL {server_version_num // 10000} is too old: 15 or newer is needed"]
    if server_version_num < PG_C_UTF8_SINCE and locale_provider == "c" and ctype in ("C", "POSIX"):
        return [f"the database's LC_CTYPE is {ctype!r}: on PostgreSQL {server_version_num // 10000} tag names fold "
                "through lower() under it, which lowers A to Z only (\"É\" and \"é\" stay two tags); a database "
                "made with a UTF-8 locale (CREATE DATABASE … LC_CTYPE 'C.UTF-8' TEMPLATE template0) or PostgreSQL 17 "
                "or newer folds them"]
    if server_version_num >= CASEFOLD_SINCE and fold_definition is not None and "casefold(" not in fold_definition:
        return [f"{FOLD_FUNCTION}() still has the body made for the PostgreSQL before 18 this database was upgraded "
                "from: tag names fold by its approximation of Unicode case folding (63 Greek letters otherwise), not "
                "by casefold()"]
    return []


@checks.register(checks.Tags.database)
def database_folds_names(app_configs=None, databases=None, **kwargs) -> list[checks.CheckMessage]:
    """Run by `migrate` (and `check --database default`): said before gallery migration 0052 makes the function."""
    messages = []
    for alias in databases or ():
        connection = connections[alias]
        with connection.cursor() as cursor:
            # (datlocprovider is 15's: an older server is too old anyway)
            provider = "datlocprovider" if connection.pg_version >= 150000 else "'c'"
            cursor.execute(f"SELECT {provider}, datctype FROM pg_database WHERE datname = current_database()")
            locale_provider, ctype = cursor.fetchone()
            cursor.execute("SELECT pg_get_functiondef(oid) FROM pg_proc WHERE proname = %s "
                           "AND pronamespace = current_schema()::regnamespace", [FOLD_FUNCTION])
            definition = cursor.fetchone()
        # (too old a server is an error: 0052 could not make the function; the rest still works)
        said, said_as = ((checks.Error, "mediasearch.E003") if connection.pg_version < 150000
                         else (checks.Warning, "mediasearch.W001"))
        messages += [said(f"Database {alias!r}: {problem}.", hint="README, Production notes: Database.", id=said_as)
                     for problem in fold_problems(server_version_num=connection.pg_version,
                                                  locale_provider=locale_provider, ctype=ctype,
                                                  fold_definition=definition and definition[0])]
    return messages
