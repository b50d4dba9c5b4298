"""One partial HNSW index per model, on the dimension-less `vector` column cast to the model's size.

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
