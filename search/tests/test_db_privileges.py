"""The database privileges README "Production notes" gives each role are enough, and the web's are DML only: the
web role uploads and deletes a family without DDL, the worker role (owner of the embeddings table only) embeds and
builds and drops the per-family vector indexes."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.backends.signals import connection_created
from django.db.utils import ProgrammingError

from gallery.models import Family, Photo
from search import vector_index
from search.models import PhotoEmbedding
from search.services import embed_photos
from tests.queue import run_queued_tasks

pytestmark = pytest.mark.django_db(transaction=True)

WEB, WORKER = "mediasearch_test_web", "mediasearch_test_worker"
EMBEDDINGS = PhotoEmbedding._meta.db_table


def _execute(*statements: str) -> None:
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


@pytest.fixture
def roles():
    """The README's grants, in their form for tables that already exist (the test database is migrated)."""
    owner = connection.settings_dict["USER"] or "postgres"
    _execute(
        f"CREATE ROLE {WEB}", f"CREATE ROLE {WORKER}",
        f"GRANT USAGE ON SCHEMA public TO {WEB}",
        f"GRANT USAGE, CREATE ON SCHEMA public TO {WORKER}",  # an index is made in its table's schema
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {WEB}, {WORKER}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {WEB}, {WORKER}",
        f"GRANT {WORKER} TO {owner}",
        f"ALTER TABLE {EMBEDDINGS} OWNER TO {WORKER}",
    )
    vector_index._ensured.clear()
    try:
        yield
    finally:
        vector_index._ensured.clear()
        _execute("RESET ROLE", f"ALTER TABLE {EMBEDDINGS} OWNER TO {owner}",
                 f"DROP OWNED BY {WEB}, {WORKER}", f"DROP ROLE {WEB}", f"DROP ROLE {WORKER}")


@pytest.fixture
def as_role(roles):
    """as_role(name): this connection, and every one opened from now on (other threads, reconnects), acts as
    that role, as a process whose DATABASE_URL names it would."""
    current = {"role": None}

    def on_connect(sender, connection, **kwargs):
        if current["role"]:
            with connection.cursor() as cursor:
                cursor.execute(f"SET ROLE {current['role']}")

    connection_created.connect(on_connect)

    def switch(role: str) -> None:
        current["role"] = role
        _execute(f"SET ROLE {role}")

    try:
        yield switch
    finally:
        connection_created.disconnect(on_connect)
        _execute("RESET ROLE")


def test_the_web_role_needs_only_dml_and_the_worker_role_owns_only_the_embeddings(
    as_role, toy_model, add_shape, family, other_family, mallory
):
    as_role(WEB)  # what a web process does: uploads, a family deleted by an admin
    mine = add_shape("red", "circle")
    theirs = add_shape("blue", "square", target_family=other_family, user=mallory)
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        assert cursor.fetchone()[0] == WEB
    with pytest.raises(ProgrammingError, match="must be owner"):  # the web role can't build an index
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE INDEX test_web_ddl ON {EMBEDDINGS} (photo_id)")

    as_role(WORKER)  # the worker: embeds, building each family's index
    assert sorted(embed_photos(photo_ids=[mine.pk, theirs.pk]).ready_ids) == sorted([mine.pk, theirs.pk])
    gone = vector_index.index_name(toy_model, other_family.pk)
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = %s", [EMBEDDINGS])
        assert gone in {row[0] for row in cursor.fetchall()}

    as_role(WEB)
    Family.objects.get(pk=other_family.pk).delete()
    as_role(WORKER)
    run_queued_tasks()  # the family's index drop, among the embedding tasks the uploads queued
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = %s", [EMBEDDINGS])
        assert gone not in {row[0] for row in cursor.fetchall()}
    assert Photo.objects.get(pk=mine.pk).status == Photo.Status.READY
