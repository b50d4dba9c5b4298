"""One partial HNSW index per model, on the dimension-less `vector` column cast to the model's size,
and the nearest-neighbour queries that use it.

Queries must repeat the same cast and `model_name = …` predicate for PostgreSQL to use the index.
"""

from __future__ import annotations

import hashlib

from django.db import connection
from psycopg import sql

from search.models import PhotoEmbedding


def index_name(model_name: str) -> str:
    return "photoembedding_hnsw_" + hashlib.sha1(model_name.encode()).hexdigest()[:12]


_ensured: set[tuple[str, int, str]] = set()


def ensure_index(*, model_name: str, dim: int) -> None:
    """Create the model's HNSW index if it does not exist (once per process and database)."""
    key = (model_name, dim, connection.settings_dict["NAME"])
    if key in _ensured:
        return
    table = PhotoEmbedding._meta.db_table
    statement = sql.SQL(
        "CREATE INDEX IF NOT EXISTS {name} ON {table} USING hnsw ((vector::vector({dim})) vector_cosine_ops) "
        "WHERE model_name = {model}"
    ).format(
        name=sql.Identifier(index_name(model_name)),
        table=sql.Identifier(table),
        dim=sql.Literal(int(dim)),
        model=sql.Literal(model_name),
    )
    with connection.cursor() as cursor:
        if connection.in_atomic_block:
            # Django's foreign keys are checked at commit; DDL refuses to run while such checks are
            # pending, so run them now (the constraints go back to their deferred default after).
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(statement.as_string(cursor.connection))
        if connection.in_atomic_block:
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    _ensured.add(key)


def nearest_photo_ids(*, model_name: str, dim: int, vector, scope_sql: str, scope_params: dict, limit: int,
                      exclude_id: int | None = None) -> set[int]:
    """HNSW nearest neighbours of `vector` among one model's embeddings, filtered by `scope_sql`.

    Iterative scan lets a restrictive filter still fill `limit` rows; the cast and the literal model
    name repeat the partial index's definition so the planner can use it. Call inside a transaction."""
    statement = _nearest_statement(model_name, dim, scope_sql, exclude=bool(exclude_id))
    params = {**scope_params, "query_vector": _vector_literal(vector), "limit": limit, "exclude_id": exclude_id}
    with connection.cursor() as cursor:
        _set_index_parameters(cursor, limit)
        cursor.execute(statement.as_string(cursor.connection), params)
        return {row[0] for row in cursor.fetchall()}


def _nearest_statement(model_name: str, dim: int, scope_sql: str, *, exclude: bool = False) -> sql.Composed:
    return sql.SQL(
        "SELECT e.photo_id FROM search_photoembedding e JOIN gallery_photo p ON p.id = e.photo_id "
        "WHERE e.model_name = {model} AND {scope} {exclude} "
        "ORDER BY (e.vector::vector({dim})) <=> %(query_vector)s::vector({dim}) LIMIT %(limit)s"
    ).format(
        model=sql.Literal(model_name),
        dim=sql.Literal(int(dim)),
        scope=sql.SQL(scope_sql),
        exclude=sql.SQL("AND p.id <> %(exclude_id)s" if exclude else ""),
    )


def _set_index_parameters(cursor, limit: int) -> None:
    cursor.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
    cursor.execute(f"SET LOCAL hnsw.ef_search = {min(1000, max(40, limit))}")


# Room for the scope's vectors in memory (about 3 KB each at 768 dimensions: 64 MB holds ~20,000), so the
# single exact pass below does not spill them to a temporary file. A ceiling, not an allocation.
EXACT_PASS_WORK_MEM = "64MB"


def nearest_for_terms(*, model_name: str, dim: int, vectors, scope_sql: str, scope_params: dict,
                       limit: int) -> set[int]:
    """The union of every term's `limit` nearest photos in scope: nearest_photo_ids for each term, in one pass
    when the planner would read the scope exactly anyway.

    When the scope is a small share of the model's embeddings (one family among several), PostgreSQL rightly
    prefers reading every embedding in scope and sorting by distance to walking the HNSW index, which would
    have to skip all the other families' rows. Done per term, that reads and de-TOASTs the same vectors once
    per term (several ms per 1,000 photos, every time). Then read them once, keep them in memory, and take each
    term's `limit` nearest from there: the same ordering on the same rows, so the same photos. When the
    planner would walk the index, each term keeps its own index walk. Call inside a transaction."""
    if len(vectors) > 1:
        statement = _nearest_statement(model_name, dim, scope_sql)
        params = {**scope_params, "query_vector": _vector_literal(vectors[0]), "limit": limit}
        with connection.cursor() as cursor:
            _set_index_parameters(cursor, limit)
            cursor.execute("EXPLAIN " + statement.as_string(cursor.connection), params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        if index_name(model_name) not in plan:
            return _nearest_exact_pass(model_name=model_name, dim=dim, vectors=vectors, scope_sql=scope_sql,
                                       scope_params=scope_params, limit=limit)
    ids: set[int] = set()
    for vector in vectors:
        ids |= nearest_photo_ids(model_name=model_name, dim=dim, vector=vector, scope_sql=scope_sql,
                                 scope_params=scope_params, limit=limit)
    return ids


def _nearest_exact_pass(*, model_name: str, dim: int, vectors, scope_sql: str, scope_params: dict,
                        limit: int) -> set[int]:
    statement = sql.SQL(
        "WITH scoped AS MATERIALIZED ("
        "  SELECT e.photo_id, e.vector::vector({dim}) AS v"
        "  FROM search_photoembedding e JOIN gallery_photo p ON p.id = e.photo_id"
        "  WHERE e.model_name = {model} AND {scope}) "
        "SELECT DISTINCT nearest.photo_id FROM unnest(%(term_vectors)s::vector({dim})[]) AS t(v) "
        "CROSS JOIN LATERAL (SELECT s.photo_id FROM scoped s ORDER BY s.v <=> t.v LIMIT %(limit)s) nearest"
    ).format(model=sql.Literal(model_name), dim=sql.Literal(int(dim)), scope=sql.SQL(scope_sql))
    params = {**scope_params, "term_vectors": [_vector_literal(v) for v in vectors], "limit": limit}
    with connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL work_mem = '{EXACT_PASS_WORK_MEM}'")
        cursor.execute(statement.as_string(cursor.connection), params)
        return {row[0] for row in cursor.fetchall()}


def _vector_literal(vector) -> str:
    return "[" + ",".join(f"{float(x):.7g}" for x in vector) + "]"
