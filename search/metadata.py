"""Metadata matching: a weighted full-text document per photo, and trigram spelling correction for typos.

s_meta(i) = max(ts_rank_cd(document, query, 32), TYPO_WEIGHT · typo(i))
where plain words are OR-ed (see _tsquery) and websearch syntax is honoured as written.
ts_rank_cd with normalisation 32 is rank / (rank + 1): already squashed into [0, 1). Field weights:
tags A (1.0), title B (0.4), description C (0.2), file name D (0.1), PostgreSQL's defaults.
Place and date words ("lisbon portugal december winter 2023 christmas day", see _when_where) weigh D too: they
are true of the photo but say little about what it shows, so a tag or title naming the query ranks higher.

Typos: each family keeps a vocabulary of the words in its photos' metadata (SearchWord). A query word
that is not in the vocabulary is matched, by trigram similarity, to the closest vocabulary words
(similarity >= TYPO_THRESHOLD); typo(i) is the similarity of the best such correction found in photo i's
document. Looking words up in a small vocabulary, rather than comparing the query with every
photo's text, keeps this to a millisecond whatever the library's size (bench/search_latency.py).
Every query goes through the family's own rows only (PhotoDocument carries the photo's family).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db import connection
from django.utils import timezone

from gallery.date_words import date_words
from gallery.models import Photo
from search.models import PhotoDocument, SearchWord

TEXT_CONFIG = "english"
# A spelling correction is weaker evidence than a real word match, and only counts above this similarity.
TYPO_WEIGHT = 0.5
TYPO_THRESHOLD = 0.5
CORRECTIONS_PER_WORD = 2
MIN_WORD_LENGTH = 3  # shorter words have too few trigrams to correct reliably
MAX_WORD_LENGTH = SearchWord._meta.get_field("word").max_length
FIELDS = ("tags", "title", "description", "filename")
FIELD_WEIGHTS = ("a", "b", "c", "d")

DOCUMENTS = PhotoDocument._meta.db_table
WORDS = SearchWord._meta.db_table
_SPLIT_WORDS = "regexp_split_to_table({}, '[^[:alnum:]]+')"


def documents_refresh(photo_ids: Iterable[int]) -> None:
    """(Re)build the search documents of these photos from their current metadata, and add their words to
    their family's vocabulary (words that later disappear from every photo stay: a correction to them
    then simply matches nothing)."""
    ids = list(photo_ids)
    if not ids:
        return
    when_where = _when_where(ids)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {DOCUMENTS} (photo_id, family_id, document, words, updated_at)
            SELECT p.id, p.family_id,
                   setweight(to_tsvector(%(cfg)s, unaccent(coalesce(t.names, ''))), 'A')
                || setweight(to_tsvector(%(cfg)s, unaccent(p.title)), 'B')
                || setweight(to_tsvector(%(cfg)s, unaccent(p.description)), 'C')
                || setweight(to_tsvector(%(cfg)s, unaccent(regexp_replace(p.original_filename, '[._-]+', ' ', 'g'))), 'D')
                || setweight(to_tsvector(%(cfg)s, unaccent(coalesce(ww.words, ''))), 'D')
                || setweight(to_tsvector(%(cfg)s, unaccent(coalesce(p.text_in_photo, ''))), 'D'),
                   lower(unaccent(concat_ws(' ', t.names, p.title, p.description,
                                            regexp_replace(p.original_filename, '[._-]+', ' ', 'g'), ww.words,
                                            p.text_in_photo))),
                   now()
            FROM gallery_photo p
            LEFT JOIN unnest(%(ww_ids)s::bigint[], %(ww_words)s::text[]) AS ww(photo_id, words) ON ww.photo_id = p.id
            LEFT JOIN LATERAL (
                SELECT string_agg(tag.name, ' ') AS names
                FROM gallery_photo_tags pt JOIN gallery_tag tag ON tag.id = pt.tag_id
                WHERE pt.photo_id = p.id
            ) t ON true
            WHERE p.id = ANY(%(ids)s)
            ON CONFLICT (photo_id) DO UPDATE
               SET document = EXCLUDED.document, words = EXCLUDED.words, updated_at = EXCLUDED.updated_at
            """,
            {"cfg": TEXT_CONFIG, "ids": ids, "ww_ids": list(when_where), "ww_words": list(when_where.values())},
        )
        cursor.execute(
            f"""
            INSERT INTO {WORDS} (family_id, word)
            SELECT DISTINCT d.family_id, w FROM {DOCUMENTS} d CROSS JOIN LATERAL {_SPLIT_WORDS.format("d.words")} w
            WHERE d.photo_id = ANY(%(ids)s) AND length(w) BETWEEN %(shortest)s AND %(longest)s
            ON CONFLICT (family_id, word) DO NOTHING
            """,
            {"ids": ids, "shortest": MIN_WORD_LENGTH, "longest": MAX_WORD_LENGTH},
        )


def _when_where(ids: list[int]) -> dict[int, str]:
    """Each photo's place and date in words: city, region, country; month, season, year and the public holidays
    of its country (the photo's place, else its family's default country) on its local date (in the zone it was
    taken in: Photo.taken_tz)."""
    from gallery.timezones import zone_info

    rows = Photo.objects.filter(pk__in=ids).values_list(
        "pk", "taken_at", "taken_tz", "latitude", "place_city", "place_region", "place_country", "place_country_code",
        "family__default_country")
    words = {}
    for pk, taken_at, taken_tz, latitude, city, region, country, country_code, default_country in rows:
        day = taken_at.astimezone(zone_info(taken_tz)).date()  # the photo's own local date
        when = date_words(day=day, latitude=latitude, country_code=country_code or default_country)
        words[pk] = " ".join([part for part in (city, region, country) if part] + when)
    return words


def documents_missing_refresh(limit: int = 5000) -> int:
    """Build documents for photos that have none (photos from before this feature, or a lost hook)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT p.id FROM gallery_photo p LEFT JOIN {DOCUMENTS} d ON d.photo_id = p.id "
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


@dataclass(frozen=True)
class Correction:
    word: str  # as typed (lower-cased, without accents)
    replacement: str  # a word of the family's vocabulary
    similarity: float
    tsquery: str = ""  # the replacement as a tsquery


@dataclass
class MetaQuery:
    """A query made ready for metadata matching: its tsquery and its spelling corrections.

    The tsqueries are parsed once, here, and go into the matching statements as constants: written as
    expressions, PostgreSQL would parse them again for every row it ranks (most of the time, measured)."""

    text: str
    tsquery: str = ""
    corrections: list[Correction] = field(default_factory=list)
    glued: str = ""  # a tsquery OR-ing the family's words that contain a query word (see GLUED_*)


# Plain words match if ANY of them matches (ts_rank_cd rewards photos that match more of them):
# "kids on the beach at sunset" should still find the photo tagged "beach". A query that uses
# websearch syntax ("quoted phrase", -word, or) keeps exactly what it says.
_ALL_WORDS = "websearch_to_tsquery(%(cfg)s, unaccent(%(q)s))"
_ANY_WORD = "replace(websearch_to_tsquery(%(cfg)s, unaccent(%(q)s))::text, ' & ', ' | ')::tsquery"
_SYNTAX = re.compile(r"[\"-]|\bor\b", re.IGNORECASE)


def _tsquery(query: str) -> str:
    return _ALL_WORDS if _SYNTAX.search(query) else _ANY_WORD


def metadata_query(*, query: str, family_ids: Sequence[int]) -> MetaQuery:
    """Look up spelling corrections for the query's words that no photo of these families uses.

    Only content words of plain queries are corrected (a query in websearch syntax says exactly what it
    means); each gets its CORRECTIONS_PER_WORD closest vocabulary words."""
    meta = MetaQuery(text=query)
    if not query.strip() or not family_ids:
        return meta
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT ({_tsquery(query)})::text", {"cfg": TEXT_CONFIG, "q": query})
        meta.tsquery = cursor.fetchone()[0]
        if _SYNTAX.search(query):
            return meta
        cursor.execute(
            f"""
            WITH typed AS (
                SELECT DISTINCT w FROM {_SPLIT_WORDS.format("lower(unaccent(%(q)s))")} w
                WHERE length(w) BETWEEN %(shortest)s AND %(longest)s AND to_tsvector(%(cfg)s, w) <> ''::tsvector
            ), unknown AS (
                SELECT w FROM typed
                WHERE NOT EXISTS (SELECT 1 FROM {WORDS} s WHERE s.word = typed.w AND s.family_id = ANY(%(families)s))
            )
            SELECT u.w, c.word, c.similarity, plainto_tsquery(%(cfg)s, c.word)::text
            FROM unknown u CROSS JOIN LATERAL (
                SELECT s.word, max(similarity(u.w, s.word)) AS similarity FROM {WORDS} s
                WHERE s.word %% u.w AND s.family_id = ANY(%(families)s)
                GROUP BY s.word HAVING max(similarity(u.w, s.word)) >= %(threshold)s
                ORDER BY 2 DESC, 1 LIMIT %(per_word)s
            ) c
            ORDER BY 1, 3 DESC, 2
            """,
            {"q": query, "cfg": TEXT_CONFIG, "families": list(family_ids), "threshold": TYPO_THRESHOLD,
             "per_word": CORRECTIONS_PER_WORD, "shortest": MIN_WORD_LENGTH, "longest": MAX_WORD_LENGTH},
        )
        meta.corrections = [Correction(word, replacement, float(sim), tsquery)
                            for word, replacement, sim, tsquery in cursor.fetchall() if tsquery]
        cursor.execute(_GLUED_SQL, {"q": query, "cfg": TEXT_CONFIG, "families": list(family_ids),
                                    "shortest": GLUED_MIN_LENGTH, "longest": MAX_WORD_LENGTH,
                                    "per_word": GLUED_PER_WORD})
        meta.glued = " | ".join(f"( {tsq} )" for (tsq,) in cursor.fetchall() if tsq)
    return meta


# Text read in photos (OCR) often runs words together ("BAKERYOPEN7AM": the recogniser drops spaces), and so do
# file names. A query word of GLUED_MIN_LENGTH letters or more also matches, in those two fields only (weight D),
# the family's words that contain it, up to GLUED_PER_WORD of them (the vocabulary's trigram index answers LIKE).
GLUED_MIN_LENGTH = 4
GLUED_PER_WORD = 5
_GLUED_SQL = f"""
    WITH typed AS (
        SELECT DISTINCT w FROM {_SPLIT_WORDS.format("lower(unaccent(%(q)s))")} w
        WHERE length(w) BETWEEN %(shortest)s AND %(longest)s AND to_tsvector(%(cfg)s, w) <> ''::tsvector
    )
    SELECT DISTINCT plainto_tsquery(%(cfg)s, g.word)::text FROM typed t CROSS JOIN LATERAL (
        SELECT DISTINCT s.word FROM {WORDS} s
        WHERE s.family_id = ANY(%(families)s) AND s.word LIKE '%%' || t.w || '%%' AND s.word <> t.w
        ORDER BY s.word LIMIT %(per_word)s
    ) g
"""


# The full-text part of s_meta, for a document `d` against the query's tsquery `q.tsq` and, in the file name and
# the text in the photo (weight D), its glued words `q.glued`.
_GLUED_HIT = "(d.document @@ q.glued AND ts_filter(d.document, '{d}') @@ q.glued)"
_FTS = (f"greatest(CASE WHEN d.document @@ q.tsq THEN ts_rank_cd(d.document, q.tsq, 32) ELSE 0 END, "
        f"CASE WHEN {_GLUED_HIT} THEN ts_rank_cd(ts_filter(d.document, '{{d}}'), q.glued, 32) ELSE 0 END)")
_Q = "WITH q AS (SELECT %(tsq)s::tsquery AS tsq, %(glued)s::tsquery AS glued)"


def _typo_parts(meta: MetaQuery) -> tuple[list[str], dict]:
    """One SQL test per correction, `d.document @@ <the corrected word>`, and their parameters."""
    tests, params = [], {}
    for n, correction in enumerate(meta.corrections):
        tests.append(f"d.document @@ %(fix_{n})s::tsquery")
        params[f"fix_{n}"] = correction.tsquery
    return tests, params


def _typo_sql(tests: list[str]) -> str:
    if not tests:
        return "0::real"
    cases = ", ".join(f"CASE WHEN {test} THEN %(sim_{n})s ELSE 0 END" for n, test in enumerate(tests))
    return f"greatest({cases})::real"


def _params(meta: MetaQuery, typo_params: dict) -> dict:
    sims = {f"sim_{n}": c.similarity for n, c in enumerate(meta.corrections)}
    return {"tsq": meta.tsquery, "glued": meta.glued, **typo_params, **sims}


def metadata_candidates(meta: MetaQuery, *, family_ids: Sequence[int], limit: int, filter_sql: str = "",
                        filter_params: dict | None = None, photo_ids: Sequence[int] | None = None) -> dict[int, MetaMatch]:
    """Photos of these families whose metadata matches, best first (`filter_sql`: a predicate on the photo `p`;
    `photo_ids`: only among these)."""
    if not meta.tsquery or not family_ids:
        return {}
    tests, typo_params = _typo_parts(meta)
    match = " OR ".join(["d.document @@ q.tsq", _GLUED_HIT, *tests])
    join = "JOIN gallery_photo p ON p.id = d.photo_id" if filter_sql else ""
    sql = f"""
        {_Q}
        SELECT photo_id, fts, typo FROM (
            SELECT d.photo_id, {_FTS} AS fts,
                   {_typo_sql(tests)} AS typo
            FROM {DOCUMENTS} d {join}, q
            WHERE d.family_id = ANY(%(families)s) {f"AND ({filter_sql})" if filter_sql else ""}
              {"AND d.photo_id = ANY(%(only)s)" if photo_ids is not None else ""} AND ({match})
        ) m
        ORDER BY greatest(m.fts, m.typo * %(typo_weight)s) DESC, m.photo_id LIMIT %(limit)s
    """
    params = {**(filter_params or {}), **_params(meta, typo_params), "families": list(family_ids),
              "only": list(photo_ids or []), "limit": limit, "typo_weight": TYPO_WEIGHT}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return {photo_id: _match(fts, typo) for photo_id, fts, typo in rows}


def metadata_scores(meta: MetaQuery, *, photo_ids: Sequence[int]) -> dict[int, MetaMatch]:
    """s_meta and the matching fields for given photos (candidates found by the image search too)."""
    if not photo_ids or not meta.tsquery:
        return {}
    tests, typo_params = _typo_parts(meta)
    # The file name and the text in the photo share weight D: the file name is tested on its own.
    field_hits = ", ".join(f"ts_filter(d.document, '{{{weight}}}') @@ q.tsq" for weight in FIELD_WEIGHTS[:-1])
    typo_hits = ", ".join(tests) or "NULL"
    sql = f"""
        WITH q AS (SELECT %(tsq)s::tsquery AS tsq, %(glued)s::tsquery AS glued,
                          ARRAY(SELECT (regexp_matches(%(tsq)s || ' ' || %(glued)s, '''([^'']+)''', 'g'))[1]) AS lexemes)
        SELECT d.photo_id, {_FTS},
               {_typo_sql(tests)}, ARRAY[{field_hits}, {_FILENAME_HIT}], ARRAY[{typo_hits}], {_TEXT_WORDS},
               ts_filter(d.document, '{{d}}') @@ q.tsq
        FROM {DOCUMENTS} d JOIN gallery_photo p ON p.id = d.photo_id, q
        WHERE d.photo_id = ANY(%(ids)s)
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, {**_params(meta, typo_params), "ids": list(photo_ids), "cfg": TEXT_CONFIG,
                             "text_words": TEXT_WORDS_SHOWN})
        rows = cursor.fetchall()
    out = {}
    for photo_id, fts, typo, hits, typo_hits, text_words, d_hit in rows:
        match = _match(fts, typo)
        match.fields = [name for name, hit in zip(FIELDS, hits) if hit]
        if text_words:
            match.fields.append("text in photo: " + " ".join(f"“{word}”" for word in dict.fromkeys(text_words)))
        elif d_hit and "filename" not in match.fields:  # weight D also holds the place and date words
            match.fields.append("place or date")
        if not match.fields and match.typo:
            fixes = [c for c, hit in zip(meta.corrections, typo_hits) if hit]
            match.fields = ["similar spelling (" + ", ".join(f"{c.word} → {c.replacement}" for c in fixes) + ")"]
        out[photo_id] = match
    return out


_FILENAME_HIT = ("to_tsvector(%(cfg)s, unaccent(regexp_replace(p.original_filename, '[._-]+', ' ', 'g')))"
                 " @@ q.tsq")
# The words of the photo's text (OCR) that match a word of the query, as written in the photo, for the explain.
TEXT_WORDS_SHOWN = 5
_TEXT_WORDS = """ARRAY(
    SELECT w FROM regexp_split_to_table(coalesce(p.text_in_photo, ''), '[^[:alnum:]]+') WITH ORDINALITY AS t(w, n)
    WHERE w <> '' AND tsvector_to_array(to_tsvector(%(cfg)s, unaccent(w))) && q.lexemes
    ORDER BY n LIMIT %(text_words)s)"""


def _match(fts: float, typo: float) -> MetaMatch:
    return MetaMatch(score=max(float(fts), TYPO_WEIGHT * float(typo)), fts=float(fts), typo=float(typo))
