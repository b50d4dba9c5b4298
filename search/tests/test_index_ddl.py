"""A family's HNSW index is made in its own short step, committed before the embedding batch's transaction begins:
a failed batch does not take the index with it, a failed index does not take the batch with it, and outside a
transaction the index is built CONCURRENTLY (no lock that stops other workers writing embeddings)."""

from __future__ import annotations

import pytest
from django.db import connection

from gallery.models import Photo
from search import vector_index
from search.models import PhotoEmbedding
from search.services import embed_photos

pytestmark = pytest.mark.django_db(transaction=True)  # commits for real, as a worker does


def _index_state(name: str) -> bool | None:
    """True: the index exists and is valid; False: it exists, invalid (a failed concurrent build); None: absent."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                       "WHERE c.relname = %s", [name])
        row = cursor.fetchone()
    return None if row is None else row[0]


@pytest.fixture
def fresh_index_cache():
    vector_index._ensured.clear()  # another test's index may be gone (dropped, or rolled back with its test)
    yield
    vector_index._ensured.clear()


def test_a_failed_embedding_batch_leaves_the_family_index_in_place(toy_model, add_shape, family, fresh_index_cache):
    photos = [add_shape("red", "circle"), add_shape("blue", "square")]
    name = vector_index.index_name(toy_model, family.pk)
    vector_index.drop_indexes(family_id=family.pk)
    with connection.cursor() as cursor:  # the batch's INSERT fails in the database, as on a full disk
        cursor.execute("CREATE FUNCTION test_refuse_embedding() RETURNS trigger LANGUAGE plpgsql AS "
                       "$$ BEGIN RAISE EXCEPTION 'no space left on device'; END $$")
        cursor.execute(f"CREATE TRIGGER test_refuse BEFORE INSERT ON {PhotoEmbedding._meta.db_table} "
                       "FOR EACH ROW EXECUTE FUNCTION test_refuse_embedding()")
    try:
        with pytest.raises(Exception, match="no space left on device"):
            embed_photos(photo_ids=[p.pk for p in photos])
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TRIGGER test_refuse ON {PhotoEmbedding._meta.db_table}")
            cursor.execute("DROP FUNCTION test_refuse_embedding()")

    assert not PhotoEmbedding.objects.exists()
    assert _index_state(name) is True, "the index went with the failed batch's transaction"


def test_a_failed_index_creation_does_not_lose_the_batch_and_the_next_batch_makes_the_index(
    toy_model, add_shape, family, fresh_index_cache
):
    first = add_shape("red", "circle")
    name = vector_index.index_name(toy_model, family.pk)
    vector_index.drop_indexes(family_id=family.pk)
    with connection.cursor() as cursor:  # CREATE INDEX fails (e.g. out of memory for the graph build)
        cursor.execute("CREATE FUNCTION test_refuse_index() RETURNS event_trigger LANGUAGE plpgsql AS "
                       "$$ BEGIN RAISE EXCEPTION 'out of memory building the graph'; END $$")
        cursor.execute("CREATE EVENT TRIGGER test_refuse_index ON ddl_command_start WHEN TAG IN ('CREATE INDEX') "
                       "EXECUTE FUNCTION test_refuse_index()")
    try:
        report = embed_photos(photo_ids=[first.pk])
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP EVENT TRIGGER test_refuse_index")
            cursor.execute("DROP FUNCTION test_refuse_index()")

    assert report.ready_ids == [first.pk]  # stored all the same: searches read the rows without the graph
    first.refresh_from_db()
    assert first.status == Photo.Status.READY
    assert _index_state(name) is None

    second = add_shape("blue", "square")
    assert embed_photos(photo_ids=[second.pk]).ready_ids == [second.pk]
    assert _index_state(name) is True
    assert PhotoEmbedding.objects.count() == 2


def test_outside_a_transaction_the_index_is_built_concurrently_and_valid(toy_model, add_shape, family, fresh_index_cache):
    photo = add_shape("green", "circle")
    name = vector_index.index_name(toy_model, family.pk)
    vector_index.drop_indexes(family_id=family.pk)
    statements = []

    def record(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        embed_photos(photo_ids=[photo.pk])
    creates = [s for s in statements if "CREATE INDEX" in s]
    assert creates and all("CREATE INDEX CONCURRENTLY" in s for s in creates), creates
    assert _index_state(name) is True


def test_deleting_a_family_runs_no_ddl_in_the_request_the_worker_drops_its_indexes(
    toy_model, add_shape, family, other_family, mallory, fresh_index_cache
):
    from tests.queue import run_queued_tasks

    theirs = add_shape("blue", "square", target_family=other_family, user=mallory)
    embed_photos(photo_ids=[theirs.pk])
    name = vector_index.index_name(toy_model, other_family.pk)
    assert _index_state(name) is True
    statements = []

    def record(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        other_family.delete()  # as the admin's delete does, in the web process
    assert not [s for s in statements if "INDEX" in s.upper()], "DDL in the web request (needs table ownership)"
    assert _index_state(name) is True
    run_queued_tasks()  # the worker
    assert _index_state(name) is None


def test_the_sweep_drops_the_indexes_of_families_that_are_gone(toy_model, add_shape, family, other_family, mallory,
                                                               fresh_index_cache):
    from django_q.models import OrmQ

    mine = add_shape("red", "circle")
    theirs = add_shape("blue", "square", target_family=other_family, user=mallory)
    embed_photos(photo_ids=[mine.pk, theirs.pk])
    gone = vector_index.index_name(toy_model, other_family.pk)
    other_family.delete()
    OrmQ.objects.all().delete()  # the task that would have dropped them is lost (e.g. Redis, a worker killed)
    assert vector_index.drop_orphaned_indexes() >= 1  # (with those of earlier tests' families, if any)
    assert _index_state(gone) is None
    assert _index_state(vector_index.index_name(toy_model, family.pk)) is True
