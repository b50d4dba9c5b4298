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
from collections.abc import Iterable, Sequence

import numpy as np
import psycopg
from django.db import connection
from pgvector.psycopg.vector import register_vector_info
from psycopg import sql
from psycopg.types import TypeInfo

from search.models import PhotoEmbedding

TABLE = PhotoEmbedding._meta.db_table
# HNSW candidate list size for a walk that must return `limit` rows: max(limit, MIN_EF_SEARCH). With 10,000
# photos in a family, recall@20 against exact search is ~0.955 at pgvector's default of 40, ~0.97 at 64
# (bench/search_latency.py); a search's main walk asks for a page of results (60) anyway.
MIN_EF_SEARCH = 64


def _model_tag(model_name: str) -> str:
    """A model's part of its index names (model names are paths or hub ids, too long and odd for names)."""
    return hashlib.sha1(model_name.encode()).hexdigest()[:12]


def index_name(model_name: str, family_id: int) -> str:
    return f"photoembedding_hnsw_{_model_tag(model_name)}_f{int(family_id)}"


_ensured: set[tuple[str, int, int, str]] = set()


def ensure_index(*, model_name: str, dim: int, family_id: int) -> None:
    """Create the (model, family) HNSW index if it does not exist (once per process and database).

    Called before a family's first embeddings of a model are written, so the graph starts (almost)
    empty and grows with each insert. Two workers creating the same index wait for each other on an
    advisory lock, so neither fails on the other's half-made index. Call inside a transaction."""
    key = (model_name, int(dim), int(family_id), connection.settings_dict["NAME"])
    if key in _ensured:
        return
    name = index_name(model_name, family_id)
    statement = sql.SQL(
        "CREATE INDEX IF NOT EXISTS {name} ON {table} USING hnsw ((vector::vector({dim})) vector_cosine_ops) "
        "WHERE model_name = {model} AND family_id = {family}"
    ).format(
        name=sql.Identifier(name),
        table=sql.Identifier(TABLE),
        dim=sql.Literal(int(dim)),
        model=sql.Literal(model_name),
        family=sql.Literal(int(family_id)),
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [name])
        # Django's foreign keys are checked at commit; DDL refuses to run while such checks are
        # pending, so run them now (the constraints go back to their deferred default after).
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(statement.as_string(cursor.connection))
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    _ensured.add(key)


def drop_indexes(*, family_id: int | None = None, model_name: str | None = None) -> int:
    """Drop the HNSW indexes of a family (all models) or of a model (all families); how many were dropped."""
    pattern = "^photoembedding_hnsw_"
    pattern += _model_tag(model_name) if model_name else "[0-9a-f]{12}"
    pattern += f"_f{int(family_id)}$" if family_id is not None else "_f[0-9]+$"
    # Outside a transaction, without blocking searches and inserts while each index goes.
    drop = "DROP INDEX IF EXISTS {}" if connection.in_atomic_block else "DROP INDEX CONCURRENTLY IF EXISTS {}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = %s AND indexname ~ %s", [TABLE, pattern])
        names = [row[0] for row in cursor.fetchall()]
        for name in names:
            cursor.execute(sql.SQL(drop).format(sql.Identifier(name)).as_string(cursor.connection))
    _ensured.difference_update({key for key in _ensured
                                if (family_id is None or key[2] == family_id)
                                and (model_name is None or key[0] == model_name)})
    return len(names)


def _knn_union(model_name: str, dim: int, family_ids: tuple[int, ...], vector: str, limit: str, filter_sql: str,
               *, exclude: bool = False, with_vectors: bool = False) -> sql.Composed:
    """`(nearest in family 1) UNION ALL (nearest in family 2) …`: rows (photo_id, distance[, v: the photo's
    vector]), each arm a walk of that family's own index. `vector` and `limit` are SQL for the query vector
    and row count; `filter_sql`, when given, is a predicate on the photo `p` (uploader, tag, dates)."""
    join = "JOIN gallery_photo p ON p.id = e.photo_id" if filter_sql else ""
    vectors = ", e.vector::vector({dim}) AS v" if with_vectors else ""
    arms = [
        sql.SQL(
            "(SELECT e.photo_id, (e.vector::vector({dim})) <=> {vector} AS distance" + vectors + " "
            "FROM {table} e {join} "
            "WHERE e.model_name = {model} AND e.family_id = {family}{filter}{exclude} "
            "ORDER BY (e.vector::vector({dim})) <=> {vector} LIMIT {limit})"
        ).format(
            dim=sql.Literal(int(dim)), vector=sql.SQL(vector), table=sql.Identifier(TABLE), join=sql.SQL(join),
            model=sql.Literal(model_name), family=sql.Literal(int(family_id)),
            filter=sql.SQL(f" AND ({filter_sql})" if filter_sql else ""),
            exclude=sql.SQL(" AND e.photo_id <> %(exclude_id)s" if exclude else ""),
            limit=sql.SQL(limit),
        )
        for family_id in family_ids
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
    cursor.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
    cursor.execute(f"SET LOCAL hnsw.ef_search = {min(1000, max(floor, int(rows)))}")


def nearest_photos(*, model_name: str, dim: int, vector, family_ids: Sequence[int], limit: int,
                   filter_sql: str = "", filter_params: dict | None = None,
                   exclude_id: int | None = None) -> dict[int, float]:
    """The `limit` photos nearest to `vector` in the given families: photo id → cosine, best first.

    Call inside a transaction (for the SET LOCAL of the index parameters)."""
    if not family_ids:
        return {}
    statement = _nearest_sql(model_name, int(dim), tuple(sorted(set(family_ids))), filter_sql, exclude_id is not None)
    params = {**(filter_params or {}), "query_vector": _vector(vector), "limit": int(limit),
              "exclude_id": exclude_id}
    with _cursor() as cursor:
        _set_index_parameters(cursor, limit)
        cursor.execute(statement, params)
        return {photo_id: float(cosine) for photo_id, cosine in cursor.fetchall()}


# The statements depend only on the model, the families and the filter's SQL (values travel as parameters):
# composed once per process, not on every keystroke.
@functools.lru_cache(maxsize=512)
def _nearest_sql(model_name: str, dim: int, family_ids: tuple[int, ...], filter_sql: str, exclude: bool) -> str:
    arms = _knn_union(model_name, dim, family_ids, f"%(query_vector)b::vector({dim})", "%(limit)s", filter_sql,
                      exclude=exclude)
    return sql.SQL("SELECT photo_id, 1 - distance FROM ({arms}) n ORDER BY distance LIMIT %(limit)s").format(
        arms=arms).as_string()


def nearest_for_terms(*, model_name: str, dim: int, vectors, family_ids: Sequence[int], first_limit: int,
                      limit: int, filter_sql: str = "", filter_params: dict | None = None,
                      also_ids: Iterable[int] = ()) -> dict[int, tuple[float, int]]:
    """Candidates for a query's terms, scored.

    The first term (the query as typed) walks each family's index for its `first_limit` nearest photos, with
    a candidate list at least that long (nearest_photos). Its expansions, which mostly find the same photos,
    walk for `limit` each with a list of just `limit`: together they are most of a search's time, which
    grows with the list. Then every photo found, and every photo of `also_ids` (found by other means) in
    these families, is compared with every term, in the same statement as the expansions' walks.
    Returns photo id → (best cosine, index of the term that gave it). Call inside a transaction."""
    if not family_ids or not len(vectors):
        return {}
    first = nearest_photos(model_name=model_name, dim=dim, vector=vectors[0], family_ids=family_ids,
                           limit=first_limit, filter_sql=filter_sql, filter_params=filter_params)
    params = {**(filter_params or {}), "term_vectors": [_vector(v) for v in vectors], "limit": int(limit),
              "also_ids": sorted(set(also_ids) | set(first)), "families": list(family_ids)}
    with _cursor() as cursor:
        _set_index_parameters(cursor, limit, floor=1)
        cursor.execute(_terms_sql(model_name, int(dim), tuple(sorted(set(family_ids))), filter_sql), params)
        return {photo_id: (float(cosine), int(i)) for photo_id, i, cosine in cursor.fetchall()}


@functools.lru_cache(maxsize=512)
def _terms_sql(model_name: str, dim: int, family_ids: tuple[int, ...], filter_sql: str) -> str:
    # The walks return each photo's vector with it, so scoring reads no row twice.
    arms = _knn_union(model_name, dim, family_ids, "t.v", "%(limit)s", filter_sql, with_vectors=True)
    return sql.SQL(
        "WITH t AS MATERIALIZED (SELECT v, i::int - 1 AS i "
        "                        FROM unnest(%(term_vectors)b::vector({dim})[]) WITH ORDINALITY AS t(v, i)), "
        "hits AS (SELECT n.photo_id, n.v FROM t CROSS JOIN LATERAL ({arms}) n WHERE t.i > 0 "
        "         UNION ALL "
        "         SELECT e.photo_id, e.vector::vector({dim}) FROM {table} e WHERE e.model_name = {model} "
        "         AND e.family_id = ANY(%(families)s) AND e.photo_id = ANY(%(also_ids)s)) "
        "SELECT h.photo_id, best.i, best.cosine FROM (SELECT photo_id, any_value(v) AS v FROM hits GROUP BY photo_id) h "
        "CROSS JOIN LATERAL (SELECT t.i, -(h.v <#> t.v) AS cosine FROM t ORDER BY 2 DESC, 1 LIMIT 1) best"
    ).format(dim=sql.Literal(dim), arms=arms, table=sql.Identifier(TABLE), model=sql.Literal(model_name)).as_string()
