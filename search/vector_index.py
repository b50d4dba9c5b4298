"""One partial HNSW index per (model, family) on the dimension-less `vector` column cast to the model's
size, and the nearest-neighbour queries that use them.

A search only ever looks inside the user's families, so each family gets a graph of its own: walking
one shared graph would skip every other family's rows (poor recall with a filter), and the planner
would rather read the family's vectors exactly (slow once a family has thousands of photos).
Queries repeat the index's cast and its `model_name = … AND family_id = …` predicate, as literals,
for PostgreSQL to use it.
"""

from __future__ import annotations

import functools
import hashlib
import time
from collections.abc import Iterable

import numpy as np
import psycopg
from django.db import connection, transaction
from pgvector.psycopg.vector import register_vector_info
from psycopg import sql
from psycopg.types import TypeInfo

from gallery.models import Family, Photo
from search.models import PhotoEmbedding
from search.scope import Scope, id_array

TABLE = PhotoEmbedding._meta.db_table
PHOTOS = Photo._meta.db_table
# HNSW candidate list size for a walk that must return `limit` rows: max(limit, MIN_EF_SEARCH). With 10,000
# photos in a family, recall@20 against exact search is ~0.955 at pgvector's default of 40, ~0.97 at 64
# (bench/search_latency.py); a search's main walk asks for a page of results (60) anyway.
MIN_EF_SEARCH = 64
# A query walks once, with the mean of its terms (walk_vector), for a page of results: a longer candidate list
# keeps each term's own nearest photos in it. At 100,000 photos (10,000 in the family, bench/search_latency.py,
# 20 queries of 7.7 terms), recall@20 of search's image ranking against exact max-over-terms search was 0.952 at
# 64, 0.967 at 100 and 0.982 at 140, for a walk of 7.0, 7.4 and 9.4 ms (a loaded 2-core machine).
QUERY_EF_SEARCH = 100


def _model_tag(model_name: str) -> str:
    """A model's part of its index names (model names are paths or hub ids, too long and odd for names)."""
    return hashlib.sha1(model_name.encode()).hexdigest()[:12]


def index_name(model_name: str, family_id: int) -> str:
    return f"photoembedding_hnsw_{_model_tag(model_name)}_f{int(family_id)}"


_ensured: set[tuple[str, int, int, str]] = set()
# One advisory lock for every build of these indexes, taken by polling (a statement waiting for a lock would hold a
# snapshot that a concurrent build waits for, and two concurrent builds on one table wait for each other's).
BUILD_LOCK = "photoembedding_hnsw"
BUILD_LOCK_POLL = (0.05, 1.0)  # first and longest pause between tries, seconds


def ensure_index(*, model_name: str, dim: int, family_id: int) -> None:
    """Create the (model, family) HNSW index if it does not exist (once per process and database).

    Called before a family's first embeddings of a model are written, so the graph starts (almost) empty and grows
    with each insert. Outside a transaction (a worker, before its batch's own transaction) the index is built
    CONCURRENTLY and committed on its own: nothing else waits for it, a failed batch does not take it with it, and
    a failed build leaves the batch alone. Inside a transaction (tests, benchmarks) it is a plain CREATE INDEX in a
    savepoint of that transaction. Builders wait for each other, so none fails on another's half-made index."""
    key = (model_name, int(dim), int(family_id), connection.settings_dict["NAME"])
    if key in _ensured:
        return
    statement = sql.SQL(
        "CREATE INDEX {concurrently} IF NOT EXISTS {name} ON {table} USING hnsw ((vector::vector({dim})) "
        "vector_cosine_ops) WHERE model_name = {model} AND family_id = {family}"
    ).format(
        concurrently=sql.SQL("" if connection.in_atomic_block else "CONCURRENTLY"),
        name=sql.Identifier(index_name(model_name, family_id)),
        table=sql.Identifier(TABLE),
        dim=sql.Literal(int(dim)),
        model=sql.Literal(model_name),
        family=sql.Literal(int(family_id)),
    )
    if connection.in_atomic_block:
        _create_in_transaction(statement)
    else:
        _create_concurrently(statement, index_name(model_name, family_id))
    _ensured.add(key)


def _create_in_transaction(statement: sql.Composed) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [BUILD_LOCK])
        # Django's foreign keys are checked at commit; DDL refuses to run while such checks are
        # pending, so run them now (the constraints go back to their deferred default after).
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(statement.as_string(cursor.connection))
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def _create_concurrently(statement: sql.Composed, name: str) -> None:
    with connection.cursor() as cursor:
        pause = BUILD_LOCK_POLL[0]
        while not _try_lock(cursor):
            time.sleep(pause)
            pause = min(pause * 2, BUILD_LOCK_POLL[1])
        try:
            cursor.execute("SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                           "WHERE c.relname = %s", [name])
            row = cursor.fetchone()
            if row is not None and not row[0]:  # a concurrent build that failed leaves an invalid index behind
                cursor.execute(sql.SQL("DROP INDEX CONCURRENTLY IF EXISTS {}").format(sql.Identifier(name))
                               .as_string(cursor.connection))
            if row is None or not row[0]:
                cursor.execute(statement.as_string(cursor.connection))
        finally:
            cursor.execute("SELECT pg_advisory_unlock(hashtext(%s))", [BUILD_LOCK])


def _try_lock(cursor) -> bool:
    cursor.execute("SELECT pg_try_advisory_lock(hashtext(%s))", [BUILD_LOCK])
    return cursor.fetchone()[0]


def _index_names(*, family_id: int | None = None, model_name: str | None = None) -> list[str]:
    """The HNSW indexes there are of a family (all models), of a model (all families), or all of them."""
    pattern = "^photoembedding_hnsw_"
    pattern += _model_tag(model_name) if model_name else "[0-9a-f]{12}"
    pattern += f"_f{int(family_id)}$" if family_id is not None else "_f[0-9]+$"
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = %s AND indexname ~ %s", [TABLE, pattern])
        return [row[0] for row in cursor.fetchall()]


def drop_indexes(*, family_id: int | None = None, model_name: str | None = None) -> int:
    """Drop the HNSW indexes of a family (all models) or of a model (all families); how many were dropped."""
    names = _index_names(family_id=family_id, model_name=model_name)
    # Outside a transaction, without blocking searches and inserts while each index goes.
    drop = "DROP INDEX IF EXISTS {}" if connection.in_atomic_block else "DROP INDEX CONCURRENTLY IF EXISTS {}"
    with connection.cursor() as cursor:
        for name in names:
            cursor.execute(sql.SQL(drop).format(sql.Identifier(name)).as_string(cursor.connection))
    _ensured.difference_update({key for key in _ensured
                                if (family_id is None or key[2] == family_id)
                                and (model_name is None or key[0] == model_name)})
    return len(names)


def drop_orphaned_indexes() -> int:
    """Drop the HNSW indexes of families that no longer exist (their rows went with them); how many went. The
    sweep's safety net for a lost family_indexes_drop_task (Redis has no delivery receipts; a worker may die)."""
    indexed = {int(name.rsplit("_f", 1)[1]) for name in _index_names()}
    gone = indexed - set(Family.objects.filter(pk__in=indexed).values_list("pk", flat=True))
    return sum(drop_indexes(family_id=family_id) for family_id in sorted(gone))


def _knn_union(model_name: str, dim: int, scope: Scope, vector: str, limit: str, *, exclude: bool = False,
               with_vectors: bool = False) -> sql.Composed:
    """`(nearest in family 1) UNION ALL (nearest in family 2) …`: rows (photo_id, distance[, v: the photo's
    vector]), each arm a walk of that family's own index, inside the scope's filters. `vector` and `limit` are SQL
    for the query vector and row count."""
    join = sql.SQL("JOIN {photos} p ON p.id = e.photo_id").format(photos=sql.Identifier(PHOTOS)) if scope.filtered \
        else sql.SQL("")
    vectors = ", e.vector::vector({dim}) AS v" if with_vectors else ""
    arms = [
        sql.SQL(
            "(SELECT e.photo_id, (e.vector::vector({dim})) <=> {vector} AS distance" + vectors + " "
            "FROM {table} e {join} "
            "WHERE e.model_name = {model} AND e.family_id = {family} AND NOT e.trashed{filter}{exclude} "
            "ORDER BY (e.vector::vector({dim})) <=> {vector} LIMIT {limit})"
        ).format(
            dim=sql.Literal(int(dim)), vector=sql.SQL(vector), table=sql.Identifier(TABLE), join=join,
            model=sql.Literal(model_name), family=sql.Literal(int(family_id)),
            filter=sql.SQL(" AND ({})").format(scope.where("p")) if scope.filtered else sql.SQL(""),
            exclude=sql.SQL(" AND e.photo_id <> %(exclude_id)s" if exclude else ""),
            limit=sql.SQL(limit),
        )
        for family_id in scope.family_ids
    ]
    return sql.SQL(" UNION ALL ").join(arms)


class _UnpreparedCursor(psycopg.Cursor):
    """Binds parameters server-side, and never as a prepared statement: a generic plan could not see the
    LIMIT, and might prefer reading the family exactly to walking its index."""

    def execute(self, query, params=None, *, prepare=None, binary=None):
        return super().execute(query, params, prepare=False, binary=binary)


_vector_types: dict[str, TypeInfo] = {}


def _cursor():
    """A Django cursor (query logging and execute wrappers still see it) whose vectors travel in pgvector's
    binary form: 3 KB of floats per 768-d vector instead of ~10 KB of text for both sides to format and
    parse, which was a third of a search's time with a dozen term vectors."""
    connection.ensure_connection()
    raw = _UnpreparedCursor(connection.connection)
    database = connection.settings_dict["NAME"]
    if database not in _vector_types:
        _vector_types[database] = TypeInfo.fetch(connection.connection, "vector")
    register_vector_info(raw, _vector_types[database])
    return connection.make_debug_cursor(raw) if connection.queries_logged else connection.make_cursor(raw)


def _vector(vector) -> np.ndarray:
    return np.asarray(vector, dtype=np.float32)


def _set_index_parameters(cursor, rows: int, floor: int = MIN_EF_SEARCH) -> None:
    # Iterative scan: when a filter rejects rows, the walk goes on until `rows` pass (or max_scan_tuples).
    # set_config(…, true) is SET LOCAL; both in one statement, one round trip.
    cursor.execute("SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true), "
                   f"set_config('hnsw.ef_search', '{min(1000, max(floor, int(rows)))}', true)")


def nearest_photos(*, model_name: str, dim: int, vector, scope: Scope, limit: int,
                   exclude_id: int | None = None) -> dict[int, float]:
    """The `limit` photos nearest to `vector` in the scope: photo id → cosine, best first.

    Call inside a transaction (for the SET LOCAL of the index parameters)."""
    if scope.empty:
        return {}
    statement = _nearest_sql(model_name, int(dim), scope.skeleton(), exclude_id is not None)
    params = {**scope.params(), "query_vector": _vector(vector), "limit": int(limit), "exclude_id": exclude_id}
    with _cursor() as cursor:
        _set_index_parameters(cursor, limit)
        cursor.execute(statement, params)
        return {photo_id: float(cosine) for photo_id, cosine in cursor.fetchall()}


# Composed once per process and shape, not on every keystroke.
@functools.lru_cache(maxsize=512)
def _nearest_sql(model_name: str, dim: int, shape: Scope, exclude: bool) -> str:
    arms = _knn_union(model_name, dim, shape, f"%(query_vector)b::vector({dim})", "%(limit)s", exclude=exclude)
    return sql.SQL("SELECT photo_id, 1 - distance FROM ({arms}) n ORDER BY distance LIMIT %(limit)s").format(
        arms=arms).as_string()


def walk_vector(vectors) -> np.ndarray:
    """What a query walks each family's index with: the unit mean of its terms' vectors. The expansions of a query
    are near each other (synonyms, rephrasings), so the photos nearest to any of them lie around their mean.
    Measured with bench/search_latency.py's data at 100,000 photos (a page of 60, ef_search 64), recall@20 of
    search's image ranking was 0.952 for this one walk, 0.963 for the query as typed plus the mean of the others,
    0.978 for a walk per term, for a walk statement of about 3-5, 9-16 and 33 ms (a loaded 2-core machine); with
    the longer candidate list of QUERY_EF_SEARCH the one walk gives 0.967."""
    mean = np.mean(np.asarray(vectors, dtype=np.float32), axis=0)
    norm = float(np.linalg.norm(mean))
    return mean / norm if norm > 0 else np.asarray(vectors[0], dtype=np.float32)


def semantic_hits(*, model_name: str, dim: int, vectors, scope: Scope, limit: int, also_ids: Iterable[int] = (),
                  excluded=(), walk: bool = True) -> dict[int, tuple[float, int, float | None]]:
    """A query's candidates, scored: a walk of each family's index with `walk_vector(vectors)` for `limit`
    photos (when `walk`), plus the photos of `also_ids` (found by other means) in these families, each compared
    with every term vector and every `excluded` vector, in one statement. Returns photo id → (best cosine of a
    term, index of that term, best cosine of an excluded concept or None). Call inside a transaction (for the
    SET LOCAL of the index parameters)."""
    if scope.empty or not len(vectors) or (not walk and not also_ids):
        return {}
    terms = [_vector(v) for v in vectors]
    params = {**scope.params(), "walk_vector": walk_vector(terms), "term_vectors": terms + [_vector(v) for v in excluded],
              "positive": len(terms), "limit": int(limit), "also_ids": id_array(sorted(set(also_ids))),
              "families": list(scope.family_ids)}
    with _cursor() as cursor:
        if walk:
            _set_index_parameters(cursor, limit, floor=QUERY_EF_SEARCH)
        cursor.execute(_hits_sql(model_name, int(dim), scope.skeleton(), walk, bool(len(excluded))), params)
        return {photo_id: (float(cosine), int(i), None if excluded_cosine is None else float(excluded_cosine))
                for photo_id, i, cosine, excluded_cosine in cursor.fetchall()}


@functools.lru_cache(maxsize=512)
def _hits_sql(model_name: str, dim: int, shape: Scope, walk: bool, excluded: bool) -> str:
    # The walk returns each photo's vector with it, so scoring reads no row twice.
    arms = _knn_union(model_name, dim, shape, f"%(walk_vector)b::vector({dim})", "%(limit)s", with_vectors=True)
    walked = sql.SQL("SELECT n.photo_id, n.v FROM ({arms}) n UNION ALL ").format(arms=arms) if walk else sql.SQL("")
    worst = sql.SQL("(SELECT max(-(h.v <#> t.v)) FROM t WHERE t.i >= %(positive)s)") if excluded else sql.SQL("NULL::float8")
    return sql.SQL(
        "WITH t AS MATERIALIZED (SELECT v, i::int - 1 AS i "
        "                        FROM unnest(%(term_vectors)b::vector({dim})[]) WITH ORDINALITY AS t(v, i)), "
        "hits AS ({walked}"
        "         SELECT e.photo_id, e.vector::vector({dim}) AS v FROM {table} e WHERE e.model_name = {model} "
        "         AND e.family_id = ANY(%(families)s) AND e.photo_id = ANY(%(also_ids)s::bigint[]) AND NOT e.trashed) "
        "SELECT h.photo_id, best.i, best.cosine, {worst} FROM (SELECT photo_id, any_value(v) AS v FROM hits GROUP BY photo_id) h "
        "CROSS JOIN LATERAL (SELECT t.i, -(h.v <#> t.v) AS cosine FROM t WHERE t.i < %(positive)s "
        "                    ORDER BY 2 DESC, 1 LIMIT 1) best"
    ).format(dim=sql.Literal(dim), walked=walked, table=sql.Identifier(TABLE), model=sql.Literal(model_name),
             worst=worst).as_string()
