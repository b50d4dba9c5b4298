"""`manage.py backup` then `manage.py restore` into an empty installation (a second database on the same server and
a fresh media folder, restored by a real `manage.py restore` process): everything comes back, byte for byte."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from django.db import connection

from gallery.album_services import album_add_photos, album_create
from gallery.models import Photo
from mediasearch.db import database_url
from search.judgment_services import judgment_record
from search.models import PhotoEmbedding
from search.worker_heartbeats import heartbeat_beat
from tests.queue import run_queued_tasks

ROOT = Path(__file__).resolve().parents[2]
RESTORED_DB = f"{connection.settings_dict['TEST']['NAME']}_restored"
TABLES = ["auth_user", "gallery_family", "gallery_membership", "gallery_photo", "gallery_tag", "gallery_photo_tags",
          "gallery_album", "gallery_albumphoto", "search_judgment", "search_photoembedding", "search_photodocument"]


def _url(name: str) -> str:
    return database_url(connection.settings_dict, name=name)


@pytest.fixture
def empty_database():
    """A second, empty database on the test server: the new installation a restore goes into."""
    with psycopg.connect(_url("postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{RESTORED_DB}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{RESTORED_DB}"')
    yield _url(RESTORED_DB)
    with psycopg.connect(_url("postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{RESTORED_DB}" WITH (FORCE)')


def _restore(backup: Path, database: str, media: Path, *extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database, "MEDIA_ROOT": str(media), "SECRET_KEY": "restore-test-" * 5}
    return subprocess.run([sys.executable, str(ROOT / "manage.py"), "restore", str(backup), *extra], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=300)


def _rows(conn, table: str) -> list[str]:
    return [row[0] for row in conn.execute(f"SELECT row_to_json(t)::text FROM {table} t ORDER BY 1").fetchall()]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.django_db(transaction=True)
def test_backup_then_restore_into_an_empty_installation_brings_everything_back(
        toy_model, add_shape, alice, family, tmp_path, empty_database):
    photos = [add_shape("red", "circle", tags=["ball", "garden"]), add_shape("blue", "square", tags=["box"]),
              add_shape("green", "circle")]
    run_queued_tasks()  # embeds them with the toy model, as the worker would
    assert PhotoEmbedding.objects.count() == 3
    album = album_create(user=alice, family=family, name="Summer")
    album_add_photos(user=alice, album=album, photo_ids=[photos[0].pk, photos[2].pk])
    judgment_record(user=alice, photo=photos[0], query="red circle", relevant=True)
    judgment_record(user=alice, photo=photos[1], query="red circle", relevant=False)

    backup = tmp_path / "backup"
    call_command("backup", str(backup))

    manifest = json.loads((backup / "manifest.json").read_text())
    assert manifest["counts"]["gallery.Photo"] == 3
    assert manifest["counts"]["search.PhotoEmbedding"] == 3
    assert "0019_worker_heartbeat" in manifest["migrations"]["search"]
    # The embedded package's own pg_dump, of the server's major version (an older client refuses a newer server).
    major = manifest["versions"]["postgresql"].split(".")[0]
    assert f"(PostgreSQL) {major}." in manifest["versions"]["pg_dump"]
    names = {entry["name"] for entry in manifest["media"]}
    for photo in photos:
        assert {photo.original.name, photo.thumbnail.name, photo.display.name} <= names
    assert _mode(backup) == 0o700 and _mode(backup / "database.dump") == 0o600
    assert all(_mode(path) == (0o700 if path.is_dir() else 0o600) for path in backup.rglob("*"))

    media = tmp_path / "restored-media"
    result = _restore(backup, empty_database, media)
    assert result.returncode == 0, result.stderr[-3000:]

    with psycopg.connect(_url(connection.settings_dict["NAME"])) as before, psycopg.connect(empty_database) as after:
        for table in TABLES:
            assert _rows(after, table) == _rows(before, table), table
        index_of = "SELECT indexdef FROM pg_indexes WHERE tablename = 'search_photoembedding' ORDER BY 1"
        assert after.execute(index_of).fetchall() == before.execute(index_of).fetchall()  # per-family HNSW too
    assert all(_mode(path) == (0o700 if path.is_dir() else 0o600) for path in [media, *media.rglob("*")])
    source_media = Path(django_settings.STORAGES["default"]["OPTIONS"]["location"])
    for photo in Photo.all_objects.all():
        for field in (photo.original, photo.thumbnail, photo.display):
            assert (media / field.name).read_bytes() == (source_media / field.name).read_bytes(), field.name

    # A second restore into what is now a gallery with photos is refused, plainly, and changes nothing...
    again = _restore(backup, empty_database, media)
    assert again.returncode != 0
    assert "already has 3 photo(s)" in again.stderr
    # ...unless forced: then what is there (tables, rows, files) is replaced, as for a new installation that was
    # started once (migrated, no photos) before the restore.
    with psycopg.connect(empty_database, autocommit=True) as after:
        after.execute("DELETE FROM search_judgment")
    forced = _restore(backup, empty_database, media, "--force")
    assert forced.returncode == 0, forced.stderr[-3000:]
    with psycopg.connect(_url(connection.settings_dict["NAME"])) as before, psycopg.connect(empty_database) as after:
        assert _rows(after, "search_judgment") == _rows(before, "search_judgment") != []
        assert _rows(after, "gallery_photo") == _rows(before, "gallery_photo")


@pytest.mark.django_db(transaction=True)
def test_a_damaged_backup_is_refused_before_anything_is_restored(add_shape, tmp_path, empty_database):
    photo = add_shape("red", "circle")
    backup = tmp_path / "backup"
    call_command("backup", str(backup))
    copy = backup / "media" / photo.original.name
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0xFF
    copy.write_bytes(bytes(data))

    media = tmp_path / "restored-media"
    result = _restore(backup, empty_database, media)

    assert result.returncode != 0
    assert "damaged" in result.stderr and photo.original.name in result.stderr
    with psycopg.connect(empty_database) as after:
        assert after.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()[0] == 0
    assert not media.exists() or not any(media.rglob("*"))


@pytest.mark.django_db
def test_backing_up_into_a_folder_that_holds_something_is_refused(tmp_path):
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "something").write_text("x")
    with pytest.raises(Exception, match="not empty"):
        call_command("backup", str(tmp_path / "old"))



def test_backing_up_a_database_that_was_never_migrated_says_which_and_why(db, tmp_path, empty_database):
    """`manage.py backup` run without the service's environment (no MEDIASEARCH_VAR_DIR or DATABASE_URL) reaches
    another, empty database: that was a traceback ("relation auth_permission does not exist"). It says what it found,
    and where to look, and leaves no folder."""
    env = {**os.environ, "DATABASE_URL": empty_database, "SECRET_KEY": "backup-test-" * 5}
    result = subprocess.run([sys.executable, str(ROOT / "manage.py"), "backup", str(tmp_path / "nightly")], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr[-2000:]
    assert "CommandError: this database has no MediaSearch tables (no migration applied)" in result.stderr
    assert "MEDIASEARCH_VAR_DIR" in result.stderr and "DATABASE_URL" in result.stderr
    assert not (tmp_path / "nightly").exists()


@pytest.mark.django_db
def test_backing_up_into_a_file_or_under_one_is_a_plain_error(tmp_path):
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(CommandError, match="not a folder"):
        call_command("backup", str(tmp_path / "a-file"))
    with pytest.raises(CommandError, match="could not create"):
        call_command("backup", str(tmp_path / "a-file" / "backup"))
    assert (tmp_path / "a-file").read_text() == "x"


@pytest.mark.django_db
@pytest.mark.parametrize("manifest", ["[]", '{"format": 1}', '{"format": 1, "database": {}, "media": [1]}'])
def test_a_manifest_of_the_wrong_shape_is_a_plain_error(tmp_path, manifest):
    (tmp_path / "manifest.json").write_text(manifest)
    with pytest.raises(CommandError, match="manifest.json"):
        call_command("restore", str(tmp_path))


@pytest.mark.django_db(transaction=True)
def test_a_backup_from_a_newer_version_is_refused(add_shape, tmp_path):
    add_shape("red", "circle")  # (and this installation has a photo: two reasons to touch nothing)
    backup = tmp_path / "backup"
    call_command("backup", str(backup))
    manifest = json.loads((backup / "manifest.json").read_text())
    manifest["migrations"]["search"].append("9999_from_the_future")
    (backup / "manifest.json").write_text(json.dumps(manifest))

    with pytest.raises(CommandError, match=r"newer version of MediaSearch .*search\.9999_from_the_future"):
        call_command("restore", str(backup))
    assert Photo.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_backup_naming_migrations_of_an_app_this_version_no_longer_has_is_not_from_a_newer_version(
        add_shape, tmp_path):
    """A backup made before API tokens were hashed lists DRF's `authtoken` migrations, an app this code no longer
    installs: the restore refused it as "from a newer version of MediaSearch … upgrade the code first", with the
    newest code, so no backup of those versions could be restored at all."""
    add_shape("red", "circle")
    backup = tmp_path / "backup"
    call_command("backup", str(backup))
    manifest = json.loads((backup / "manifest.json").read_text())
    manifest["migrations"]["authtoken"] = ["0001_initial", "0002_auto_20160226_1747"]
    (backup / "manifest.json").write_text(json.dumps(manifest))

    with pytest.raises(CommandError) as refused:
        call_command("restore", str(backup))
    assert "newer version" not in str(refused.value)
    assert "already has 1 photo(s)" in str(refused.value)  # the one reason left here


def _manage(database: str, media: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database, "MEDIA_ROOT": str(media), "SECRET_KEY": "restore-test-" * 5}
    return subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)


def _migrate_back_up_and_restore(database: str, tmp_path: Path) -> None:
    """`migrate`, `backup` and `restore` of that backup, each as its own process on `database`: each must succeed."""
    media = tmp_path / "media"
    for args in (("migrate", "-v0"), ("backup", str(tmp_path / "backup")), ("restore", str(tmp_path / "backup"))):
        done = _manage(database, media, *args)
        assert done.returncode == 0, (args[0], done.stderr[-2000:])


@pytest.mark.django_db
def test_a_backup_from_an_older_version_restores_into_a_new_installation_that_was_started_once(
        tmp_path, empty_database):
    """The new machine's `make run` migrates its empty database before the restore. A backup from an older version
    lacks the tables newer migrations made, and `pg_restore --clean` drops only what the dump holds: it failed on
    "cannot drop constraint gallery_photo_pkey … because other objects depend on it" (a newer table's foreign key),
    so an older backup restored only into a database never started. The tables the backup lacks are dropped first;
    the restore's `migrate` makes them again. (And `backup` of a database with a migration of the code pending, as a
    nightly one between an upgrade's `git pull` and its `migrate`, ended in a traceback counting the missing table.)"""
    media = tmp_path / "media"
    for step in (["migrate", "-v0"], ["migrate", "-v0", "search", "0021_everyday_country_names"]):
        assert (done := _manage(empty_database, media, *step)).returncode == 0, done.stderr[-2000:]
    older = tmp_path / "older-backup"  # an installation of the version before duplicate dismissals
    assert (done := _manage(empty_database, media, "backup", str(older))).returncode == 0, done.stderr[-2000:]
    assert (done := _manage(empty_database, media, "migrate", "-v0")).returncode == 0, done.stderr[-2000:]

    restored = _manage(empty_database, media, "restore", str(older))

    assert restored.returncode == 0, restored.stderr[-3000:]
    assert "applying this version's newer migrations" in restored.stdout
    with psycopg.connect(empty_database) as after:
        assert after.execute("SELECT to_regclass('search_duplicatedismissal') IS NOT NULL").fetchone()[0]
        assert after.execute("SELECT count(*) FROM django_migrations WHERE app = 'search' AND "
                             "name = '0022_duplicate_dismissals'").fetchone()[0] == 1


@pytest.mark.django_db
def test_backup_and_restore_reach_the_server_a_database_url_names_in_its_query_string(tmp_path, empty_database):
    """`postgres://user@/db?host=/run/postgresql&port=5433` (libpq's way of writing a socket folder in a URL): Django
    reached that server (dj-database-url puts host and port in OPTIONS), but pg_dump and pg_restore were given only
    HOST and PORT, empty, and went to libpq's default socket: "connection to server on socket
    /tmp/.s.PGSQL.5432 failed", or, where a PostgreSQL answers there, another server's database of that name."""
    from urllib.parse import quote

    db = connection.settings_dict  # (the embedded server's socket folder; DATABASE_URL's host when tests run on one)
    user = quote(db["USER"] or "postgres", safe="") + (f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else "")
    url = f"postgres://{user}@/{RESTORED_DB}?host={quote(db['HOST'], safe='')}&port={db['PORT'] or 5432}"
    _migrate_back_up_and_restore(url, tmp_path)


@pytest.mark.django_db
def test_a_backup_from_a_newer_postgresql_than_the_servers_is_refused_in_words(tmp_path):
    """A backup of the embedded PostgreSQL 18 restored into a distribution's PostgreSQL 15 (DATABASE_URL) failed in
    pg_restore with 'unrecognized configuration parameter "transaction_timeout"': a dump loads only into the same or
    a newer major version. Said before anything is touched, with both versions and the way out."""
    backup = tmp_path / "backup"
    call_command("backup", str(backup))
    manifest = json.loads((backup / "manifest.json").read_text())
    here = manifest["versions"]["postgresql"]
    newer = int(here.split(".")[0]) + 1
    manifest["versions"]["postgresql"] = f"{newer}.0"
    (backup / "manifest.json").write_text(json.dumps(manifest))

    with pytest.raises(CommandError, match=rf"from PostgreSQL {newer}\.0, and this server is PostgreSQL {here}.*"
                                           rf"Restore into PostgreSQL {newer} or newer"):
        call_command("restore", str(backup))


@pytest.mark.django_db
def test_a_pg_dump_that_cannot_run_is_a_plain_error_and_leaves_no_half_backup(settings, tmp_path):
    settings.PG_DUMP = str(tmp_path / "no-such-pg_dump")
    with pytest.raises(CommandError, match="no-such-pg_dump could not be run"):
        call_command("backup", str(tmp_path / "backup"))
    assert not (tmp_path / "backup").exists()


@pytest.mark.django_db(transaction=True)
def test_a_forced_restore_is_refused_while_workers_use_the_database(add_shape, tmp_path):
    add_shape("red", "circle")
    backup = tmp_path / "backup"
    call_command("backup", str(backup))
    heartbeat_beat(cluster="mediasearch", host="another-machine", pid=4242)  # a worker, as it says it is alive

    with pytest.raises(CommandError, match="1 task worker.* use this database right now"):
        call_command("restore", str(backup), "--force")


@pytest.mark.django_db(transaction=True)
def test_a_restore_is_refused_while_a_web_server_holds_connections_to_the_database(add_shape, tmp_path):
    """A web server run by itself (the README's separate units, or `serve --no-worker`) writes no heartbeat, so the
    restore went ahead under it, and pg_restore made the `vector` type again under a new OID: every search of the
    running site then failed with a 500 ("cache lookup failed for type …") on its pooled connections until it was
    restarted. The restore names the other connections to the database and touches nothing."""
    add_shape("red", "circle")
    backup = tmp_path / "backup"
    call_command("backup", str(backup))

    with psycopg.connect(_url(connection.settings_dict["NAME"]), application_name="gunicorn-like") as web:
        web.execute("SELECT 1")
        with pytest.raises(CommandError, match=r"1 other connection.* \(gunicorn-like\); stop the web servers"):
            call_command("restore", str(backup), "--force")
    assert Photo.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_restore_with_a_connection_pool_set_does_not_count_its_own_connections(add_shape, tmp_path, empty_database):
    """With DATABASE_POOL in the environment (an env file shared with the web unit), the restore's own pool held a
    second connection, and the restore refused: "1 other connection(s) to this database are open"."""
    add_shape("red", "circle")
    backup = tmp_path / "backup"
    call_command("backup", str(backup))
    env = {**os.environ, "DATABASE_URL": empty_database, "MEDIA_ROOT": str(tmp_path / "media"),
           "SECRET_KEY": "restore-test-" * 5, "DATABASE_POOL": "4"}

    result = subprocess.run([sys.executable, str(ROOT / "manage.py"), "restore", str(backup)], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)

    assert result.returncode == 0, result.stderr[-3000:]


def test_the_readmes_nightly_backups_run_with_the_services_environment_and_user():
    """The cron alternative ran `manage.py backup` bare: without /etc/mediasearch.env it reached another, new database
    in app/var (making it there) and was refused every night ("this database has no MediaSearch tables"), and as root
    its files would have been root's. Both ways (the timer's unit and cron) read the environment file and run as the
    service's user, as the README's `manage` does; cron's % is escaped."""
    import re

    readme = (ROOT / "README.md").read_text()
    unit = re.search(r"# /etc/systemd/system/mediasearch-backup\.service\n(.*?)\n\n", readme, re.S).group(1)
    assert "EnvironmentFile=/etc/mediasearch.env" in unit and "User=mediasearch" in unit
    cron = re.search(r"`(30 3 \* \* \* [^`]*manage\.py backup[^`]*)`", readme).group(1)
    assert ". /etc/mediasearch.env" in cron and "runuser -u mediasearch" in cron
    assert "%" not in cron.replace("\\%", "")  # cron ends the command at a bare %



def test_the_readmes_backups_name_their_folders_down_to_the_minute():
    """`backup` refuses a folder that is not empty. The README's manual backup (step 1 of every upgrade) and its cron
    line named the folder by the day alone ($(date +%F)): a backup before an upgrade, on a day the nightly one had run,
    was refused ("… is not empty"). Every backup command in the README names it by the day and the time, as the
    timer's unit did."""
    import re

    section = (ROOT / "README.md").read_text().split("### Backups", 1)[1].split("\n### ", 1)[0]
    # The date's format as written: systemd doubles the %, cron escapes it.
    formats = re.findall(r"manage(?:\.py)? backup /srv/backups/mediasearch/\$\(date \+([^)]*)\)", section)
    assert len(formats) == 3, formats  # by hand, the timer's unit, cron
    assert [f.replace("%%", "%").replace("\\%", "%") for f in formats] == ["%F-%H%M"] * 3, formats

@pytest.fixture
def owner_database():
    """An empty database as the README's external PostgreSQL has it: owned by a role that is no superuser, the three
    extensions created in it once by a superuser."""
    role, name = "restore_owner_test", f"{RESTORED_DB}_owned"
    with psycopg.connect(_url("postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f"DROP ROLE IF EXISTS {role}")
        admin.execute(f"DROP ROLE IF EXISTS {role}_worker")
        admin.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{role}'")  # (a server of one's own asks for one)
        admin.execute(f"CREATE ROLE {role}_worker LOGIN")
        admin.execute(f"GRANT {role}_worker TO {role}")
        admin.execute(f'CREATE DATABASE "{name}" OWNER {role}')
    with psycopg.connect(_url(name), autocommit=True) as admin:
        for extension in ("vector", "pg_trgm", "unaccent"):
            admin.execute(f"CREATE EXTENSION IF NOT EXISTS {extension}")
        admin.execute(f"GRANT USAGE, CREATE ON SCHEMA public TO {role}, {role}_worker")
    yield database_url(connection.settings_dict, name=name, user=role, password=role)
    with psycopg.connect(_url("postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f"DROP ROLE IF EXISTS {role}")
        admin.execute(f"DROP ROLE IF EXISTS {role}_worker")


@pytest.mark.django_db
def test_a_restore_by_the_databases_owner_leaves_the_extensions_a_superuser_created(tmp_path, owner_database):
    """With DATABASE_URL naming the README's owner role (no superuser; the extensions created by a superuser),
    every restore failed at once: `pg_restore --clean` began with "DROP EXTENSION IF EXISTS vector" ("must be owner
    of extension vector"). The extensions are the installation's, not the backup's: they stay, and are made first
    where they are missing."""
    _migrate_back_up_and_restore(owner_database, tmp_path)

    with psycopg.connect(owner_database) as after:
        assert after.execute("SELECT count(*) FROM pg_extension WHERE extname IN ('vector', 'pg_trgm', 'unaccent')"
                             ).fetchone()[0] == 3
        assert after.execute("SELECT count(*) FROM django_migrations").fetchone()[0] > 50


@pytest.mark.django_db
def test_a_restore_leaves_the_embeddings_table_to_the_worker_role_that_owned_it(tmp_path, owner_database):
    """The README's external PostgreSQL gives search_photoembedding to the worker's role (it builds and drops the
    families' vector indexes). `pg_restore --no-owner` made the table again as the restoring role: after a restore
    the worker failed every index with "must be owner of table search_photoembedding" (searches of a new model, or
    of a new family, walked no index). The table goes back to the role that owned it."""
    media = tmp_path / "media"
    assert (done := _manage(owner_database, media, "migrate", "-v0")).returncode == 0, done.stderr[-2000:]
    owner = psycopg.conninfo.conninfo_to_dict(owner_database)["user"]
    with psycopg.connect(_url(psycopg.conninfo.conninfo_to_dict(owner_database)["dbname"]), autocommit=True) as admin:
        admin.execute(f"ALTER TABLE search_photoembedding OWNER TO {owner}_worker")  # the README's step, once
    assert (done := _manage(owner_database, media, "backup", str(tmp_path / "backup"))).returncode == 0

    restored = _manage(owner_database, media, "restore", str(tmp_path / "backup"))

    assert restored.returncode == 0, restored.stderr[-2000:]
    with psycopg.connect(owner_database) as after:
        assert after.execute("SELECT tableowner FROM pg_tables WHERE tablename = 'search_photoembedding'"
                             ).fetchone()[0] == f"{owner}_worker"
        assert after.execute("SELECT tableowner FROM pg_tables WHERE tablename = 'gallery_photo'").fetchone()[0] == owner


@pytest.mark.django_db(transaction=True)
def test_the_backed_up_installations_worker_heartbeats_are_not_restored_as_workers_of_this_one(
        add_shape, tmp_path, empty_database):
    """A backup made while the site runs (the nightly one) holds its workers' heartbeats, fresh. Restored, they were
    counted as this installation's workers for half a minute: /health/ said they ran, and a second restore (the
    right backup, with --force) was refused: "2 task worker(s) use this database right now", with none running."""
    add_shape("red", "circle")
    heartbeat_beat(cluster=django_settings.Q_CLUSTER["name"], host="the-old-machine", pid=4242)
    backup = tmp_path / "backup"
    call_command("backup", str(backup))
    media = tmp_path / "media"

    first = _restore(backup, empty_database, media)
    assert first.returncode == 0, first.stderr[-2000:]
    again = _restore(backup, empty_database, media, "--force")

    assert again.returncode == 0, again.stderr[-2000:]
    with psycopg.connect(empty_database) as after:
        assert after.execute("SELECT count(*) FROM search_workerheartbeat").fetchone()[0] == 0
