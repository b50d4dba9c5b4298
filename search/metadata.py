"""Metadata matching: a weighted full-text document per photo, and trigram similarity for typos.

s_meta(i) = max(ts_rank_cd(document, query, 32), TYPO_WEIGHT · word_similarity(query, words))
(the typo part only for queries of up to TYPO_MAX_WORDS words)
where plain words are OR-ed (see _tsquery) and websearch syntax is honoured as written.
ts_rank_cd with normalisation 32 is rank / (rank + 1): already squashed into [0, 1). Field weights:
tags A (1.0), title B (0.4), description C (0.2), file name D (0.1), PostgreSQL's defaults.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db import connection

from search.models import PhotoDocument

TEXT_CONFIG = "english"
# Typo matching is for keyword-like queries: word_similarity compares the whole query with the
# best-matching stretch of a photo's words, so a longer sentence practically never reaches the
# threshold, yet checking it costs a trigram scan over every family's documents.
TYPO_MAX_WORDS = 3
# A typo match is weaker evidence than a real word match, and only counts above this similarity.
TYPO_WEIGHT = 0.5
TYPO_THRESHOLD = 0.5
FIELDS = ("tags", "title", "description", "filename")


def documents_refresh(photo_ids: Iterable[int]) -> None:
    """(Re)build the search documents of these photos from their current metadata."""
    ids = list(photo_ids)
    if not ids:
        return
    table = PhotoDocument._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table} (photo_id, document, words, updated_at)
            SELECT p.id,
                   setweight(to_tsvector(%(cfg)s, unaccent(coalesce(t.names, ''))), 'A')
                || setweight(to_tsvector(%(cfg)s, unaccent(p.title)), 'B')
                || setweight(to_tsvector(%(cfg)s, unaccent(p.description)), 'C')
                || setweight(to_tsvector(%(cfg)s, unaccent(regexp_replace(p.original_filename, '[._-]+', ' ', 'g'))), 'D'),
                   lower(unaccent(concat_ws(' ', t.names, p.title, p.description,
                                            regexp_replace(p.original_filename, '[._-]+', ' ', 'g')))),
                   now()
            FROM gallery_photo p
            LEFT JOIN LATERAL (
                SELECT string_agg(tag.name, ' ') AS names
                FROM gallery_photo_tags pt JOIN gallery_tag tag ON tag.id = pt.tag_id
                WHERE pt.photo_id = p.id
            ) t ON true
            WHERE p.id = ANY(%(ids)s)
            ON CONFLICT (photo_id) DO UPDATE
               SET document = EXCLUDED.document, words = EXCLUDED.words, updated_at = EXCLUDED.updated_at
            """,
            {"cfg": TEXT_CONFIG, "ids": ids},
        )


def documents_missing_refresh(limit: int = 5000) -> int:
    """Build documents for photos that have none (photos from before this feature, or a lost hook)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT p.id FROM gallery_photo p LEFT JOIN {PhotoDocument._meta.db_table} d ON d.photo_id = p.id "
            "WHERE d.photo_id IS NULL LIMIT %s",
            [limit],
        )
        ids = [row[0] for row in cursor.fetchall()]
    documents_refresh(ids)
    return len(ids)


@dataclass
class MetaMatch:
    score: float = 0.0
    fts: float = 0.0
    typo: float = 0.0
    fields: list[str] = field(default_factory=list)


# Plain words match if ANY of them matches (ts_rank_cd rewards photos that match more of them):
# "kids on the beach at sunset" should still find the photo tagged "beach". A query that uses
# websearch syntax ("quoted phrase", -word, or) keeps exactly what it says.
_ALL_WORDS = "websearch_to_tsquery(%(cfg)s, unaccent(%(q)s))"
_ANY_WORD = "replace(websearch_to_tsquery(%(cfg)s, unaccent(%(q)s))::text, ' & ', ' | ')::tsquery"
_SYNTAX = re.compile(r"[\"-]|\bor\b", re.IGNORECASE)


def _tsquery(query: str) -> str:
    return _ALL_WORDS if _SYNTAX.search(query) else _ANY_WORD


def typo_enabled(query: str) -> bool:
    return len(query.split()) <= TYPO_MAX_WORDS


def _typo_sql(query: str) -> str:
    return "word_similarity(q.words, d.words)" if typo_enabled(query) else "0::real"


def _candidate_sql(scope_sql: str, query: str) -> str:
    return f"""
        WITH q AS (SELECT {_tsquery(query)} AS tsq, lower(unaccent(%(q)s)) AS words)
        SELECT d.photo_id,
               CASE WHEN d.document @@ q.tsq THEN ts_rank_cd(d.document, q.tsq, 32) ELSE 0 END AS fts,
               {_typo_sql(query)} AS typo
        FROM {PhotoDocument._meta.db_table} d JOIN gallery_photo p ON p.id = d.photo_id, q
        WHERE ({scope_sql}) AND (d.document @@ q.tsq{" OR q.words <%% d.words" if typo_enabled(query) else ""})
    """


def metadata_candidates(*, query: str, scope_sql: str, scope_params: dict, limit: int) -> dict[int, MetaMatch]:
    """Photos whose metadata matches `query`, within the scope (a SQL predicate on `p`), best first."""
    sql = (f"SELECT photo_id, fts, typo FROM ({_candidate_sql(scope_sql, query)}) m "
           "ORDER BY greatest(m.fts, m.typo * %(typo_weight)s) DESC LIMIT %(limit)s")
    params = {**scope_params, "cfg": TEXT_CONFIG, "q": query, "limit": limit, "typo_weight": TYPO_WEIGHT}
    with connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL pg_trgm.word_similarity_threshold = {TYPO_THRESHOLD}")
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return {photo_id: _match(fts, typo) for photo_id, fts, typo in rows}


def metadata_scores(*, query: str, photo_ids: Sequence[int]) -> dict[int, MetaMatch]:
    """s_meta and the matching fields for given photos (candidates found by the image search too)."""
    if not photo_ids or not query.strip():
        return {}
    sql = f"""
        WITH q AS (SELECT {_tsquery(query)} AS tsq, lower(unaccent(%(q)s)) AS words)
        SELECT p.id,
               coalesce(CASE WHEN d.document @@ q.tsq THEN ts_rank_cd(d.document, q.tsq, 32) END, 0),
               coalesce({_typo_sql(query)}, 0),
               to_tsvector(%(cfg)s, unaccent(coalesce(t.names, ''))) @@ q.tsq,
               to_tsvector(%(cfg)s, unaccent(p.title)) @@ q.tsq,
               to_tsvector(%(cfg)s, unaccent(p.description)) @@ q.tsq,
               to_tsvector(%(cfg)s, unaccent(regexp_replace(p.original_filename, '[._-]+', ' ', 'g'))) @@ q.tsq
        FROM gallery_photo p
        LEFT JOIN {PhotoDocument._meta.db_table} d ON d.photo_id = p.id
        LEFT JOIN LATERAL (
            SELECT string_agg(tag.name, ' ') AS names
            FROM gallery_photo_tags pt JOIN gallery_tag tag ON tag.id = pt.tag_id WHERE pt.photo_id = p.id
        ) t ON true, q
        WHERE p.id = ANY(%(ids)s)
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, {"cfg": TEXT_CONFIG, "q": query, "ids": list(photo_ids)})
        rows = cursor.fetchall()
    out = {}
    for photo_id, fts, typo, *field_hits in rows:
        match = _match(fts, typo)
        match.fields = [name for name, hit in zip(FIELDS, field_hits) if hit]
        if not match.fields and match.typo:
            match.fields = ["similar spelling"]
        out[photo_id] = match
    return out


def _match(fts: float, typo: float) -> MetaMatch:
    typo = typo if typo >= TYPO_THRESHOLD else 0.0
    return MetaMatch(score=max(float(fts), TYPO_WEIGHT * float(typo)), fts=float(fts), typo=float(typo))
