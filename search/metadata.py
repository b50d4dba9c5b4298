"""Metadata matching: per-field full-text documents per photo, and trigram spelling correction for typos.

Each photo's metadata is kept as one text-search document per field (FIELDS: what people wrote, what the file
carried, where and when it was taken, what the OCR read, what the model suggests, the file name), and as the whole
of them, each field in the weight class that gives its weight. For query q:

  S(i)       = ts_rank_cd(whole document of photo i, q)    with the classes' weights A 1.0, B 0.4, C 0.2, D 0.1:
               about Σ_f weight_f · (occurrences of query words in field f), more for more of the query's words
  s_meta(i)  = max(S / (S + 1), TYPO_WEIGHT · typo(i))     in [0, 1)
  rank_f(i)  = ts_rank_cd(field f of photo i, q), unweighted: what explain shows, and what calibrating each kind
               of match on its own needs

Plain query words are OR-ed (see _tsquery); websearch syntax is honoured as written. A tag naming the query
(S = 1) gives s_meta 0.5; the same word only in the place, the date or the text read in the photo gives 0.17.

Typos: each family keeps a vocabulary of the words in its photos' metadata (SearchWord). A query word
that is not in the vocabulary is matched, by trigram similarity, to the closest vocabulary words
(similarity >= TYPO_THRESHOLD); typo(i) is the similarity of the best such correction found in photo i's
document. Looking words up in a small vocabulary, rather than comparing the query with every
photo's text, keeps this to a millisecond whatever the library's size (bench/search_latency.py).

One pass per query (`metadata_pass`): the candidates (the best matches in scope), their scores, and what
explain shows (which fields matched, which corrections, the words read in the photo) come from one statement,
which also scores the photos the image search found. Every statement reads the family's own rows only.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Q
from psycopg import sql

from gallery.date_words import MONTHS, date_words
from gallery.timezones import zone_info
from gallery.models import Photo, PhotoTag, Tag, TagSuggestion
from gallery.name_fold import folded_unaccented_sql
from gallery.selectors import photos_worked_on
from search.models import PhotoDocument, SearchWord
from search.scope import Scope, id_array

TEXT_CONFIG = "english"
# A spelling correction is weaker evidence than a real word match, and only counts above this similarity.
TYPO_WEIGHT = 0.5
TYPO_THRESHOLD = 0.5
CORRECTIONS_PER_WORD = 2
MIN_WORD_LENGTH = 3  # shorter words have too few trigrams to correct reliably
MAX_WORD_LENGTH = SearchWord._meta.get_field("word").max_length


# PostgreSQL's weight classes and ts_rank's default weight of each.
CLASS_WEIGHTS = {"A": 1.0, "B": 0.4, "C": 0.2, "D": 0.1}


@dataclass(frozen=True)
class Field:
    key: str
    label: str  # as explain names it
    weight_class: str  # its class in the whole document, which gives its weight

    @property
    def weight(self) -> float:
        return CLASS_WEIGHTS[self.weight_class]


# In the order of PhotoDocument.fields. What people wrote (tags, title) weighs most; then the longer text people
# wrote, the keywords their software embedded in the file and the people they named in Google Photos (whose face
# recognition, not a member here, put the name on this photo); then what is true of the photo but says little about
# what it shows (place, date), what the OCR read and the tags the model suggests; the file name least.
FIELDS = (
    Field("tags", "tags", "A"),
    Field("title", "title", "A"),
    Field("description", "description", "B"),
    Field("keywords", "keywords in the file or Google Photos", "B"),
    Field("place", "place", "C"),
    Field("date", "date", "C"),
    Field("text", "text in photo", "C"),
    Field("suggested", "suggested tags", "C"),
    Field("filename", "file name", "D"),
)
FIELD_INDEX = {f.key: n for n, f in enumerate(FIELDS, start=1)}  # PostgreSQL arrays count from 1
_FIELD = {f.key: f for f in FIELDS}
# Documents built by an older layout of FIELDS (or older date words: 6 gives a photo without a position its
# country's season; 7 counts each word of a place once; 8 adds the decade, "1950s"; 9 gives a photo dated by a guess
# no season nor holiday; 10 adds the letters of a word glued to a number in the text read and the file name; 11 names
# holidays without the word "day"; 12 gives a tag's emoji their words, SYMBOL_WORD; 13 folds case as names do,
# folded_unaccented_sql: "Straße" is "strasse", "ΟΔΟΣ" is "οδος") are rebuilt by the sweep
# (documents_outdated_refresh).
DOCUMENT_VERSION = 13

DOCUMENTS = PhotoDocument._meta.db_table
WORDS = SearchWord._meta.db_table
PHOTOS = Photo._meta.db_table
PHOTO_TAGS = Photo.tags.through._meta.db_table
TAGS = Tag._meta.db_table
SUGGESTIONS = TagSuggestion._meta.db_table
_SPLIT_WORDS = "regexp_split_to_table({}, '[^[:alnum:]]+')"
# The query's text and its excluded concepts' (metadata_queries' `asked`), read as the documents are written.
_QUERY_FOLDED, _EXCLUDED_FOLDED = folded_unaccented_sql("a.q"), folded_unaccented_sql("a.excluded")

_FILENAME_WORDS = "regexp_replace(p.original_filename, '[._-]+', ' ', 'g')"


def _letter_runs(word: str) -> str:
    """SQL: `word` (SQL text) with its digits as spaces ("beach2" → "beach ")."""
    return f"regexp_replace({word}, '[[:digit:]]+', ' ', 'g')"


def _with_letter_runs(text: str) -> str:
    """SQL: `text` (SQL text) followed by the letters of each of its words that run letters and digits together.

    People number the photos they rename ("beach1.jpg" … "beach12.jpg") and OCR runs prices into words ("BREAD2.50"):
    such a word is the word it starts with, for every photo alike. Its letters are words of the field too (and of the
    family's vocabulary, so "red" is no typo of "red0"), next to the word as written, which still finds itself. (Not
    its digits: a "3" of "beach3" is no more a word of the photo than of "IMG_0003".)"""
    return (f"concat_ws(' ', {text}, (SELECT string_agg({_letter_runs('w')}, ' ') "
            f"FROM {_SPLIT_WORDS.format(text)} w WHERE w ~ '[[:alpha:]]' AND w ~ '[[:digit:]]'))")


# The text search reads no symbol as a word: a tag "🎂" (typed, or a file's keyword) was found by no search. Each symbol
# (an emoji: Unicode's "other symbol" category) of a tag's name is also written as one word of its own, its code point
# ("🎂" is "u1f382"), in the photo's document and in the query alike (where it stands: "-🎂" leaves such photos out);
# the marks an emoji is drawn with are none ("👍🏽" is "👍").
SYMBOL_WORD = "u{:x}"


def symbol_words(text: str) -> str:
    """The words standing for the symbols in `text` (SYMBOL_WORD), space-separated; "" when it holds none."""
    return " ".join(SYMBOL_WORD.format(ord(char)) for char in text if unicodedata.category(char) == "So")


def _field_sources() -> dict[str, str]:
    """Each field's text, as SQL over the photo `p`, its tag names `t.names` (typed by members or accepted
    suggestions) and `t.keywords` (embedded in the file, or people named in Google Photos: PhotoTag.READ), the names
    of its open tag suggestions `sg.names`, its place/date words `pw` and the words of its tags' symbols `pw`."""
    return {
        "tags": "concat_ws(' ', t.names, pw.tag_symbols)",
        # A title nobody wrote is made from the file name: the file name field has those words already.
        "title": "CASE WHEN p.title_source = '' THEN '' ELSE p.title END",
        "description": "p.description",
        "keywords": "concat_ws(' ', t.keywords, pw.keyword_symbols)",
        "place": "coalesce(pw.place, '')",
        "date": "coalesce(pw.date, '')",
        # Split as the vocabulary is (search words are runs of letters and digits); a word glued to a number
        # ("BREAD2.50", "beach2.jpg") holds the word too (_with_letter_runs).
        "text": _with_letter_runs("regexp_replace(coalesce(p.text_in_photo, ''), '[^[:alnum:]]+', ' ', 'g')"),
        "suggested": "coalesce(sg.names, '')",
        "filename": _with_letter_runs(_FILENAME_WORDS),
    }


def documents_refresh(photo_ids: Iterable[int]) -> None:
    """(Re)build the search documents of these photos from their current metadata, and add their words to
    their family's vocabulary (words that later disappear from every photo stay: a correction to them
    then simply matches nothing)."""
    ids = list(photo_ids)
    if not ids:
        return
    when_where = _when_where(ids)
    symbols = _tag_symbols(ids)
    sources = _field_sources()
    texts = [sources[f.key] for f in FIELDS]
    # The date field also holds the photo's decade ("1950s": what a long span of dates is browsed by), which is no
    # word of the vocabulary: "2020" would be "corrected" to "2020s" and glued into it.
    decade = {"date": f"concat_ws(' ', {sources['date']}, pw.decade)"}
    vectors = ", ".join(f"to_tsvector(%(cfg)s, {folded_unaccented_sql(decade.get(f.key, sources[f.key]))})"
                        for f in FIELDS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {DOCUMENTS} (photo_id, family_id, fields, document, words, version, updated_at)
            SELECT x.id, x.family_id, x.fields,
                   {" || ".join(f"setweight(x.fields[{n}], '{f.weight_class}')" for n, f in enumerate(FIELDS, start=1))},
                   x.words, %(version)s, now()
            FROM (
                SELECT p.id, p.family_id, ARRAY[{vectors}] AS fields,
                       {folded_unaccented_sql(f"concat_ws(' ', {', '.join(texts)})")} AS words
                FROM {PHOTOS} p
                LEFT JOIN unnest(%(pw_ids)s::bigint[], %(pw_place)s::text[], %(pw_date)s::text[],
                                 %(pw_decade)s::text[], %(pw_tag_symbols)s::text[], %(pw_keyword_symbols)s::text[])
                          AS pw(photo_id, place, date, decade, tag_symbols, keyword_symbols) ON pw.photo_id = p.id
                LEFT JOIN LATERAL (
                    SELECT string_agg(tag.name, ' ') FILTER (WHERE pt.source <> ALL(%(read)s)) AS names,
                           string_agg(tag.name, ' ') FILTER (WHERE pt.source = ANY(%(read)s)) AS keywords
                    FROM {PHOTO_TAGS} pt JOIN {TAGS} tag ON tag.id = pt.tag_id
                    WHERE pt.photo_id = p.id
                ) t ON true
                LEFT JOIN LATERAL (
                    SELECT string_agg(s.name, ' ') AS names FROM {SUGGESTIONS} s
                    WHERE s.photo_id = p.id AND s.state = %(open)s
                ) sg ON true
                WHERE p.id = ANY(%(ids)s) AND p.trashed_at IS NULL  -- a photo in the trash has no document
            ) x
            ON CONFLICT (photo_id) DO UPDATE
               SET fields = EXCLUDED.fields, document = EXCLUDED.document, words = EXCLUDED.words,
                   version = EXCLUDED.version, updated_at = EXCLUDED.updated_at
            """,
            {"cfg": TEXT_CONFIG, "ids": ids, "version": DOCUMENT_VERSION, "pw_ids": list(when_where),
             "read": [str(source) for source in PhotoTag.READ], "open": TagSuggestion.State.OPEN,
             "pw_place": [place for place, _, _ in when_where.values()],
             "pw_date": [when for _, when, _ in when_where.values()],
             "pw_decade": [decade for _, _, decade in when_where.values()],
             "pw_tag_symbols": [symbols.get(pk, ("", ""))[0] for pk in when_where],
             "pw_keyword_symbols": [symbols.get(pk, ("", ""))[1] for pk in when_where]},
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


def _when_where(ids: list[int]) -> dict[int, tuple[str, str, str]]:
    """Each photo's place and date in words: (city, region, country; month, season, year and the public holidays
    of its country (the photo's place, else its family's default country) on its local date, in the zone it was
    taken in: Photo.taken_tz; its decade). A photo dated by a guess (Photo.GUESSED_DATES) or by the month its folder's
    name tells has its month, year and decade only; by the year alone its folder's name tells, its year and decade."""
    rows = Photo.objects.filter(pk__in=ids).values_list(
        "pk", "taken_at", "taken_tz", "taken_at_source", "latitude", "place_city", "place_region", "place_country",
        "place_country_code", "family__default_country")
    words = {}
    for pk, taken_at, taken_tz, source, latitude, city, region, country, country_code, default_country in rows:
        day = taken_at.astimezone(zone_info(taken_tz)).date()  # the photo's own local date
        if source == Photo.DateSource.FOLDER_YEAR:  # (1 January stands for the year its folder's name tells)
            when = [str(day.year)]
        elif source in Photo.GUESSED_DATES or source == Photo.DateSource.FOLDER_MONTH:
            # Its month and year, where the timeline and the date filters place it (a search of the filter alone
            # lists it: understanding._browse_words), but no season or holiday: a scan uploaded on Christmas Day
            # is no Christmas photo.
            when = [MONTHS[day.month - 1], str(day.year)]
        else:
            when = date_words(day=day, latitude=latitude, country_code=country_code or default_country)
        words[pk] = (_place_words(city, region, country), " ".join(when), decade_word(day.year))
    return words


def _tag_symbols(ids: list[int]) -> dict[int, tuple[str, str]]:
    """Each photo's symbol words (symbol_words) of its tags' names: (those typed by members or accepted suggestions,
    those read from its file or Google Photos, PhotoTag.READ), for the photos with any."""
    found: dict[int, tuple[list[str], list[str]]] = {}
    rows = PhotoTag.objects.filter(photo_id__in=ids).values_list("photo_id", "tag__name", "source")
    for photo_id, name, source in rows:
        if words := symbol_words(name):
            found.setdefault(photo_id, ([], []))[source in PhotoTag.READ].append(words)
    return {photo_id: (" ".join(typed), " ".join(read)) for photo_id, (typed, read) in found.items()}


def decade_word(year: int) -> str:
    """The decade a year is in, as a photo's date words carry it: 1955 → "1950s"."""
    return f"{year // 10 * 10}s"


def _place_words(*parts: str) -> str:
    """The place's words, each once: GeoNames often names a region after its city ("Lisbon, Lisbon", "New York City,
    New York"), and a word said twice would rank (and read as likely) twice as high as the same place elsewhere."""
    seen, words = set(), []
    for word in " ".join(part for part in parts if part).split():
        if word.casefold() not in seen:
            seen.add(word.casefold())
            words.append(word)
    return " ".join(words)


def documents_outdated_refresh(limit: int = 5000) -> int:
    """Build documents for photos that have none (photos from before this feature, or a lost hook) or whose
    document has an older layout (DOCUMENT_VERSION); not those of a family being deleted (gallery.selectors.
    photos_worked_on), whose deletion takes them away."""
    outdated = Q(search_document__isnull=True) | Q(search_document__version__lt=DOCUMENT_VERSION)
    # (Out of the trash: the live manager. Any of them: no order to sort them all by.)
    ids = list(photos_worked_on().filter(outdated).order_by().values_list("pk", flat=True)[:limit])
    documents_refresh(ids)
    return len(ids)


@dataclass
class MetaMatch:
    score: float = 0.0  # s_meta
    fts: float = 0.0  # S / (S + 1), the word-match part
    typo: float = 0.0  # similarity of the best spelling correction found
    ranks: dict[str, float] = field(default_factory=dict)  # rank_f of each field that matched
    fields: list[str] = field(default_factory=list)  # what explain says matched
    excluded: float = 0.0  # min(1, S) of the excluded concepts' words: how surely the photo holds one
    excluded_fields: list[str] = field(default_factory=list)


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
    excluded: str = ""  # a tsquery OR-ing the words of the excluded concepts
    excluded_glued: str = ""  # as `glued`, for the excluded concepts' words
    compounds: str = ""  # a tsquery OR-ing the query's words as the family writes them joined or split (COMPOUND_*)

    @property
    def matching(self) -> str:
        """The tsquery that matches and ranks: the query's words or their compounds. (`tsquery` alone is what
        counts the query's words, n: "sunglasses" found as "sun glasses" holds the query's one word.)"""
        return f"( {self.tsquery} ) | {self.compounds}" if self.tsquery and self.compounds else self.tsquery


# Plain words match if ANY of them matches (ts_rank_cd rewards photos that match more of them):
# "kids on the beach at sunset" should still find the photo tagged "beach". A query that uses
# websearch syntax ("quoted phrase", -word, or) keeps exactly what it says (metadata_queries' `plain`).
_SYNTAX = re.compile(r"[\"-]|\bor\b", re.IGNORECASE)


# websearch_to_tsquery nests a NOT for every "-" and fails past 32 in a row ("tsquery stack too small"): a run of
# dashes, spaces between them or not, says no more than one.
_DASH_RUN = re.compile(r"-(?:\s*-)+")


def metadata_query(*, query: str, family_ids: Sequence[int], excluded: Sequence[str] = ()) -> MetaQuery:
    """The query's tsquery, spelling corrections for its words that no photo of these families uses, and the
    family's words that contain a query word (see GLUED_*), and the query's words as the family writes them joined
    or split (see COMPOUND_*), in one statement. The excluded concepts' words are read by the same steps (`typed`,
    `glued`, `compounds`), so an exclusion reaches what the same words searched for find.

    Only content words of plain queries are corrected (a query in websearch syntax says exactly what it
    means); each gets its CORRECTIONS_PER_WORD closest vocabulary words."""
    return metadata_queries([(query, tuple(excluded))], family_ids=family_ids)[0]


def metadata_queries(queries: Sequence[tuple[str, Sequence[str]]], *, family_ids: Sequence[int]) -> list[MetaQuery]:
    """metadata_query of each (query, excluded concepts), in one statement for them all (search quality reads every
    judged query of a family)."""
    metas = [MetaQuery(text=query) for query, _ in queries]
    asked = [n for n, (query, excluded) in enumerate(queries) if (query.strip() or any(excluded)) and family_ids]
    if not asked:
        return metas
    with connection.cursor() as cursor:
        cursor.execute(
            _QUERIES_SQL,
            {"q": [_with_symbol_words(_DASH_RUN.sub("-", queries[n][0])) for n in asked],
             "plain": [not _SYNTAX.search(queries[n][0]) for n in asked],
             "excluded": [_with_symbol_words(" ".join(term.replace('"', " ").replace("-", " ")
                                                      for term in queries[n][1])) for n in asked],
             "cfg": TEXT_CONFIG, "families": list(family_ids), "threshold": TYPO_THRESHOLD,
             "per_word": CORRECTIONS_PER_WORD, "shortest": MIN_WORD_LENGTH, "longest": MAX_WORD_LENGTH,
             "glued_shortest": GLUED_MIN_LENGTH, "glued_per_word": GLUED_PER_WORD,
             "compound_part": COMPOUND_PART_LENGTH, "edit_similarity": EDIT_SIMILARITY,
             "edit_shortest": EDIT_MIN_LENGTH, "letters": list(_LETTERS)},
        )
        rows = cursor.fetchall()
    for n, (tsquery, excluded, corrections, glued, excluded_glued, compounds, excluded_compounds) in zip(asked, rows):
        meta = metas[n]
        meta.tsquery, meta.excluded = tsquery, excluded
        meta.corrections = [Correction(word, replacement, float(sim), tsq)
                            for word, replacement, sim, tsq in corrections]
        meta.glued = _any_of(glued)
        meta.compounds = _any_of(compounds)
        if meta.excluded:
            meta.excluded_glued = _any_of(excluded_glued)
            if excluded_compounds:
                meta.excluded = f"( {meta.excluded} ) | {_any_of(excluded_compounds)}"
    return metas


# metadata_queries' statement: every step keyed by the query's number `qn` (one row per query asked, in order).
_QUERIES_SQL = f"""
    WITH asked AS (
        SELECT qn, q, plain, excluded
        FROM unnest(%(q)s::text[], %(plain)s::boolean[], %(excluded)s::text[]) WITH ORDINALITY AS a(q, plain, excluded, qn)
    ), said AS (
        -- The query's words (excluded false), and the excluded concepts' words (true), in order.
        SELECT a.qn, false AS excluded, w, n FROM asked a,
               {_SPLIT_WORDS.format(_QUERY_FOLDED)} WITH ORDINALITY AS t(w, n)
        WHERE a.plain
        UNION ALL
        SELECT a.qn, true, w, n FROM asked a, {_SPLIT_WORDS.format(_EXCLUDED_FOLDED)} WITH ORDINALITY AS t(w, n)
    ), typed AS (
        SELECT DISTINCT qn, excluded, w FROM said
        WHERE length(w) BETWEEN %(shortest)s AND %(longest)s AND to_tsvector(%(cfg)s, w) <> ''::tsvector
    ), hyphenated AS (
        -- A word written with a hyphen ("sun-glasses", "t-shirt"), which PostgreSQL reads as a phrase of itself and
        -- its parts ('sun-glass' <-> 'sun' <-> 'glass') that the word written as two or as one does not hold.
        SELECT DISTINCT a.qn, tok FROM asked a, regexp_split_to_table({_QUERY_FOLDED}, '[[:space:]]+') tok
        WHERE tok ~ '^[[:alnum:]]+(-[[:alnum:]]+)+$'
    ), punctuated AS (
        -- A word holding dots, slashes or an @ ("example.com", "www.example.com/shop", "help@example.co.uk"), which
        -- PostgreSQL reads as one host, path or e-mail lexeme, while the text read in a photo is indexed as its words
        -- (FIELDS' "text" source: "WWW EXAMPLE COM SHOP"): a receipt's web address was found by "example" only.
        SELECT DISTINCT a.qn, tok FROM asked a, regexp_split_to_table({_QUERY_FOLDED}, '[[:space:]]+') tok
        WHERE tok ~ '[[:alnum:]][^[:alnum:]-]+[[:alnum:]]'
    ), compounds AS (
        -- A hyphenated word as two words ("sun glasses") and, when the family writes it so, as one ("sunglasses") ...
        SELECT h.qn, false AS excluded, phraseto_tsquery(%(cfg)s, replace(h.tok, '-', ' '))::text AS tsq
        FROM hyphenated h
        UNION
        -- ... a punctuated word as the phrase of its words ("www example com shop") ...
        SELECT p.qn, false, phraseto_tsquery(%(cfg)s, regexp_replace(p.tok, '[^[:alnum:]]+', ' ', 'g'))::text
        FROM punctuated p
        UNION
        SELECT h.qn, false, plainto_tsquery(%(cfg)s, replace(h.tok, '-', ''))::text FROM hyphenated h
        CROSS JOIN LATERAL (
            SELECT 1 FROM {WORDS} s WHERE s.word = replace(h.tok, '-', '') AND s.family_id = ANY(%(families)s) LIMIT 1
        ) known
        UNION
        -- ... two neighbouring words the family writes as one ("sun glasses": its photos say "sunglasses") ...
        -- (each candidate looked up in the vocabulary's unique index, as `edits` does)
        SELECT DISTINCT c.qn, c.excluded, plainto_tsquery(%(cfg)s, c.word)::text FROM (
            SELECT a.qn, a.excluded, a.w || b.w AS word
            FROM said a JOIN said b ON b.qn = a.qn AND b.excluded = a.excluded AND b.n = a.n + 1
            WHERE length(a.w) >= %(compound_part)s AND length(b.w) >= %(compound_part)s
        ) c CROSS JOIN LATERAL (
            SELECT 1 FROM {WORDS} s WHERE s.word = c.word AND s.family_id = ANY(%(families)s) LIMIT 1
        ) known
        UNION
        -- ... and one word the family writes as two ("sunglasses": its photos say "sun glasses").
        SELECT DISTINCT c.qn, c.excluded, phraseto_tsquery(%(cfg)s, c.head || ' ' || c.tail)::text FROM (
            SELECT t.qn, t.excluded, left(t.w, i) AS head, substr(t.w, i + 1) AS tail
            FROM typed t CROSS JOIN generate_series(%(compound_part)s, length(t.w) - %(compound_part)s) i
            -- Both halves content words: the phrase drops a stopword ("outdoor" as "out door" is "door").
            WHERE to_tsvector(%(cfg)s, left(t.w, i)) <> ''::tsvector
              AND to_tsvector(%(cfg)s, substr(t.w, i + 1)) <> ''::tsvector
        ) c CROSS JOIN LATERAL (
            SELECT 1 FROM {WORDS} s WHERE s.word = c.head AND s.family_id = ANY(%(families)s) LIMIT 1
        ) head CROSS JOIN LATERAL (
            SELECT 1 FROM {WORDS} s WHERE s.word = c.tail AND s.family_id = ANY(%(families)s) LIMIT 1
        ) tail
    ), unknown AS (
        -- (a word with a digit is what it says: "2002" is no typo of "2020", nor "2020s" of "2020")
        SELECT DISTINCT qn, w FROM typed
        WHERE NOT typed.excluded AND typed.w !~ '[0-9]'
          AND NOT EXISTS (SELECT 1 FROM {WORDS} s WHERE s.word = typed.w AND s.family_id = ANY(%(families)s))
    ), trigram AS (
        SELECT u.qn, u.w, c.word, c.similarity
        FROM unknown u CROSS JOIN LATERAL (
            SELECT s.word, max(similarity(u.w, s.word)) AS similarity FROM {WORDS} s
            WHERE s.word %% u.w AND s.family_id = ANY(%(families)s)
            GROUP BY s.word HAVING max(similarity(u.w, s.word)) >= %(threshold)s
            ORDER BY 2 DESC, 1 LIMIT %(per_word)s
        ) c
    ), edits AS (
        SELECT DISTINCT u.qn, u.w, s.word, greatest(similarity(u.w, s.word), %(edit_similarity)s) AS similarity
        FROM unknown u CROSS JOIN LATERAL (
            SELECT left(u.w, i - 1) || substr(u.w, i + 1, 1) || substr(u.w, i, 1) || substr(u.w, i + 2) AS v
            FROM generate_series(1, length(u.w) - 1) i
            UNION ALL SELECT left(u.w, i - 1) || substr(u.w, i + 1) FROM generate_series(1, length(u.w)) i
            UNION ALL SELECT left(u.w, i) || letter || substr(u.w, i + 1)
            FROM generate_series(0, length(u.w)) i, unnest(%(letters)s::text[]) letter
        ) e CROSS JOIN LATERAL (
            SELECT s.word FROM {WORDS} s WHERE s.word = e.v AND s.family_id = ANY(%(families)s) LIMIT 1
        ) s
        WHERE length(u.w) >= %(edit_shortest)s AND e.v <> u.w
    ), corrections AS (
        SELECT qn, w, word, similarity, plainto_tsquery(%(cfg)s, word)::text AS tsq FROM (
            SELECT qn, w, word, similarity,
                   row_number() OVER (PARTITION BY qn, w ORDER BY similarity DESC, word) AS n
            FROM (SELECT qn, w, word, max(similarity) AS similarity FROM (
                      SELECT * FROM trigram UNION ALL SELECT * FROM edits) c GROUP BY qn, w, word) c
        ) ranked WHERE n <= %(per_word)s
    ), glued AS (
        SELECT DISTINCT t.qn, t.excluded, plainto_tsquery(%(cfg)s, g.word)::text AS tsq FROM typed t CROSS JOIN LATERAL (
            SELECT DISTINCT s.word FROM {WORDS} s
            WHERE length(t.w) >= %(glued_shortest)s AND s.family_id = ANY(%(families)s)
              AND s.word LIKE '%%' || t.w || '%%' AND s.word <> t.w
              -- (not a word that is this one glued to a number: its document holds this word; _with_letter_runs)
              AND s.word !~ ('(^|[0-9])' || t.w || '([0-9]|$)')
            ORDER BY s.word LIMIT %(glued_per_word)s
        ) g
    )
    SELECT CASE WHEN a.plain  -- plain words: any of them (see _SYNTAX)
                THEN replace(websearch_to_tsquery(%(cfg)s, {_QUERY_FOLDED})::text, ' & ', ' | ')::tsquery::text
                ELSE websearch_to_tsquery(%(cfg)s, {_QUERY_FOLDED})::text END,
           replace(websearch_to_tsquery(%(cfg)s, {_EXCLUDED_FOLDED})::text, ' & ', ' | '),
           ARRAY(SELECT ARRAY[w, word, similarity::text, tsq] FROM corrections c WHERE c.qn = a.qn AND tsq <> ''
                 ORDER BY w, similarity DESC, word),
           ARRAY(SELECT tsq FROM glued g WHERE g.qn = a.qn AND NOT excluded AND tsq <> '' ORDER BY tsq),
           ARRAY(SELECT tsq FROM glued g WHERE g.qn = a.qn AND excluded AND tsq <> '' ORDER BY tsq),
           ARRAY(SELECT tsq FROM compounds c WHERE c.qn = a.qn AND NOT excluded AND tsq <> '' ORDER BY tsq),
           ARRAY(SELECT tsq FROM compounds c WHERE c.qn = a.qn AND excluded AND tsq <> '' ORDER BY tsq)
    FROM asked a ORDER BY a.qn
"""


def _with_symbol_words(text: str) -> str:
    """`text` with each of its symbols as its word (symbol_words), where it stands, so that what web-search syntax
    says of it ("-🎂", '"🎂 party"') it says of the word; the marks an emoji is drawn with (skin tones, joiners,
    variation selectors) left out."""
    if not symbol_words(text):
        return text
    out: list[str] = []
    for char in text:
        if unicodedata.category(char) == "So":
            out.append(("" if not out or not out[-1][-1:].isalnum() else " ") + SYMBOL_WORD.format(ord(char)) + " ")
        elif not _emoji_mark(char):
            out.append(char)
    return "".join(out)


def _emoji_mark(char: str) -> bool:
    """Whether `char` only changes how an emoji is drawn: a joiner, a variation selector, a keycap, a skin tone, a
    subdivision flag's tag."""
    code = ord(char)
    return char in "\u200d\ufe0e\ufe0f\u20e3" or 0x1F3FB <= code <= 0x1F3FF or 0xE0020 <= code <= 0xE007F


def _any_of(tsqueries: Sequence[str]) -> str:
    return " | ".join(f"( {tsq} )" for tsq in tsqueries)


# A word is written as one or as two ("sunglasses", "sun glasses"; "sunset", "sun set"): two neighbouring query
# words whose concatenation is in the family's vocabulary also match that word, and a query word that is two
# vocabulary words of COMPOUND_PART_LENGTH letters or more, one after the other, also matches them as a phrase, in
# every field (it is the same word). The query still counts as the words typed (MetaQuery.tsquery).
COMPOUND_PART_LENGTH = 3


# Typos people make, which trigrams miss in short words ("sqaure" shares 3 of 11 trigrams with "square"): one
# transposition of neighbouring letters, one dropped letter, one extra (doubled) letter, in a word of
# EDIT_MIN_LENGTH letters or more. The variants of each query word the family's vocabulary lacks (about 28 per
# letter; usually no word is unknown and none are made) are looked up in the vocabulary with its unique index, in
# the same statement as the trigram corrections. A variant found is one edit away, as telling as a close trigram
# match: its similarity is at least EDIT_SIMILARITY.
EDIT_MIN_LENGTH = 4
EDIT_SIMILARITY = 0.7
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


# Text read in photos (OCR) often runs words together ("BAKERYOPEN7AM": the recogniser drops spaces), and so do
# file names. A query word of GLUED_MIN_LENGTH letters or more also matches, in those two fields only, the
# family's words that contain it, up to GLUED_PER_WORD of them (the vocabulary's trigram index answers LIKE).
GLUED_MIN_LENGTH = 4
GLUED_PER_WORD = 5
GLUED_FIELDS = ("text", "filename")


def metadata_pass(meta: MetaQuery, *, scope: Scope, limit: int, also_ids: Sequence[int] = ()) -> dict[int, MetaMatch]:
    """The query's metadata matches in scope: the best `limit` of them, and every photo of `also_ids` (found by the
    image search) that matches at all, each with its score and what explain shows. One statement: the matches are
    ranked on the whole document (its field classes carry the field weights), and only the rows returned are
    broken down by field."""
    if not meta.tsquery or scope.empty:
        return {}
    params = {**scope.params(), "tsq": meta.matching, "glued": meta.glued or "", "excluded": meta.excluded,
              "excluded_glued": meta.excluded_glued,
              "families": list(scope.family_ids), "limit": int(limit), "also": id_array(sorted(set(also_ids))),
              "typo_weight": TYPO_WEIGHT,
              "cfg": TEXT_CONFIG, "text_words": TEXT_WORDS_SHOWN,
              "lexemes": _lexemes(meta)}
    for n, correction in enumerate(meta.corrections):
        params[f"fix_{n}"], params[f"sim_{n}"] = correction.tsquery, correction.similarity
    statement = _pass_sql(scope.skeleton(), bool(meta.glued), len(meta.corrections), bool(meta.excluded),
                          bool(meta.excluded_glued), only_also=limit <= 0)
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        rows = cursor.fetchall()
    return {photo_id: _match(meta, s, ranks, excluded, typo, typo_hits, text_words)
            for photo_id, s, ranks, excluded, typo, typo_hits, text_words in rows}


@functools.lru_cache(maxsize=256)
def _pass_sql(shape: Scope, glued: bool, corrections: int, excluded: bool, excluded_glued: bool,
              only_also: bool = False) -> str:
    """metadata_pass's statement for a scope's shape and a query's parts (composed once per process and shape).
    `only_also`: no best matches are asked for, only the photos of `also`: the documents read are theirs alone (not
    every match of the family, ranked and then dropped: what explaining or judging one result, or measuring a family's
    judged queries, would cost)."""
    tests = [sql.SQL("d.document @@ %(tsq)s::tsquery")]
    glued_s = sql.SQL("")
    if glued:
        tests.append(sql.SQL("d.document @@ %(glued)s::tsquery"))
        glued_s = sql.SQL(" + {}").format(_glued_score(sql.SQL("q.glued")))
    fixes = [sql.SQL("d.document @@ {}::tsquery").format(sql.Placeholder(f"fix_{n}")) for n in range(corrections)]
    typo = sql.SQL("greatest({})::real").format(sql.SQL(", ").join(
        sql.SQL("CASE WHEN {} THEN {} ELSE 0 END").format(test, sql.Placeholder(f"sim_{n}"))
        for n, test in enumerate(fixes))) if fixes else sql.SQL("0::real")
    also_excluded = [sql.SQL("(d.photo_id = ANY(%(also)s::bigint[]) AND d.document @@ {})").format(
        sql.SQL("(%(excluded)s::tsquery || %(excluded_glued)s::tsquery)") if excluded_glued
        else sql.SQL("%(excluded)s::tsquery"))] if excluded else []
    excluded_ranks = _field_ranks(sql.SQL("%(excluded)s::tsquery"), sql.SQL("%(excluded_glued)s::tsquery")
                                  if excluded_glued else None, excluded=True) if excluded else sql.SQL("NULL::real[]")
    return sql.SQL(_PASS_SQL).format(
        glued_s=glued_s, ranks=_field_ranks(sql.SQL("q.tsq"), sql.SQL("q.glued") if glued else None,
                                            lexemes=sql.SQL("q.lexemes")),
        excluded_ranks=excluded_ranks, typo=typo, typo_hits=sql.SQL(", ").join(fixes),
        documents=sql.Identifier(DOCUMENTS),
        join=sql.SQL("JOIN {} p ON p.id = d.photo_id").format(sql.Identifier(PHOTOS)) if shape.filtered else sql.SQL(""),
        order_columns=sql.SQL(", p.taken_at") if shape.filtered else sql.SQL(""),
        ties=sql.SQL(_TIES if shape.filtered else "m.photo_id DESC"),
        scope=shape.where("p") if shape.filtered else sql.SQL("TRUE"),
        match=sql.SQL(" OR ").join(tests + fixes + also_excluded),
        only=sql.SQL(" AND d.photo_id = ANY(%(also)s::bigint[])") if only_also else sql.SQL(""),
        text_words=_text_words("(SELECT lexemes FROM q)"),
    ).as_string()


def _glued_score(glued: sql.Composable) -> sql.Composable:
    """What the family's words containing a query word (`glued`) add to the document row `d`'s score: they count in
    the text read in the photo and the file name only (GLUED_FIELDS), at those fields' weights."""
    return sql.SQL("CASE WHEN d.document @@ {} THEN {} ELSE 0 END").format(glued, sql.SQL(" + ").join(
        sql.SQL("{} * {}").format(sql.Literal(_FIELD[key].weight), _rank(_field("d", key), glued))
        for key in GLUED_FIELDS))


def _field_ranks(tsq: sql.Composable, glued: sql.Composable | None, *, excluded: bool = False,
                 glued_if: sql.Composable | None = None, lexemes: sql.Composable | None = None) -> sql.Composable:
    """Each field's rank of the document row `k` for `tsq`, plus for `glued` in GLUED_FIELDS (only where `glued_if`
    holds, when given), as a real[] with one element per field, written out: unnesting the fields and aggregating
    them back cost more than the ranking (0.6 ms of the pass at 100,000 photos). `excluded`: each capped at 1 (how
    surely the field holds an excluded concept); the excluded words rank as the query's do. `lexemes` (the query's,
    a text[]): a field's rank for `tsq` is at most the number of them it holds (_rank)."""
    def rank(f: Field) -> sql.Composable:
        own = _rank(_field("k", f.key), tsq, lexemes=lexemes)
        if glued is None or f.key not in GLUED_FIELDS:
            return own
        extra = _rank(_field("k", f.key), glued)
        if glued_if is not None:
            extra = sql.SQL("CASE WHEN {} THEN {} ELSE 0 END").format(glued_if, extra)
        return sql.SQL("{} + {}").format(own, extra)

    return sql.SQL("ARRAY[{}]::real[]").format(sql.SQL(", ").join(
        sql.SQL("least(1.0, {})").format(rank(f)) if excluded else rank(f) for f in FIELDS))


def _field(alias: str, key: str) -> sql.Composable:
    """A field's own tsvector in a document row (PostgreSQL arrays count from 1)."""
    return sql.SQL("{}.fields[{}]").format(sql.Identifier(alias), sql.Literal(FIELD_INDEX[key]))


def _rank(vector: sql.Composable, query: sql.Composable, *, lexemes: sql.Composable | None = None) -> sql.Composable:
    """How well `vector` matches `query`, 0 when it does not: every occurrence counts the same (the field's weight
    is applied by whoever adds the ranks up). With the query's `lexemes` (a text[]), at most the number of them the
    field holds (at least 1: a phrase is one match of several lexemes): ts_rank_cd of an OR-ed query counts each
    occurrence, so a word named twice counted twice, and "Maria Parker" matched "Tom Parker, Lucy Parker" as fully as
    Maria's own tag (match_features reads the rank against the query's words): a family's last name found everyone
    in it."""
    rank = sql.SQL("ts_rank_cd('{{1,1,1,1}}', {v}, {q})").format(v=vector, q=query)
    if lexemes is not None:
        # (how many of them it holds: its distinct lexemes less those left once they are deleted)
        rank = sql.SQL("least({rank}, greatest(1, length({v}) - length(ts_delete({v}, {lexemes}))))").format(
            rank=rank, v=vector, lexemes=lexemes)
    return sql.SQL("CASE WHEN {v} @@ {q} THEN {rank} ELSE 0 END").format(v=vector, q=query, rank=rank)


# Matches that rank alike, past the limit: the newest first, as the page lists them (engine._page: score, then when
# taken), where the photo is read (a filter: always so for a query of only places and dates, whose photos all rank
# alike); else the last uploaded. The oldest uploads came first before, so "2023" in a library of thousands of
# photos from 2023 listed the newest of the first 200 uploaded, not the newest of 2023.
_TIES = "m.taken_at DESC, m.photo_id DESC"
_LEXEME = re.compile(r"'((?:[^']|'')+)'")  # a lexeme in a tsquery's text form
_PASS_SQL = """
    WITH q AS (SELECT %(tsq)s::tsquery AS tsq, %(glued)s::tsquery AS glued, %(lexemes)s::text[] AS lexemes),
    matched AS (
        SELECT d.photo_id, d.fields,
               CASE WHEN d.document @@ q.tsq THEN ts_rank_cd(d.document, q.tsq) ELSE 0 END{glued_s} AS s,
               {typo} AS typo, ARRAY[{typo_hits}]::boolean[] AS typo_hits{order_columns}
        FROM {documents} d {join} CROSS JOIN q
        WHERE d.family_id = ANY(%(families)s) AND {scope} AND ({match}){only}
    ), best AS (
        SELECT * FROM matched m WHERE m.s > 0 OR m.typo > 0
        ORDER BY greatest(m.s / (m.s + 1), m.typo * %(typo_weight)s) DESC, {ties} LIMIT %(limit)s
    ), kept AS (
        SELECT * FROM best
        UNION ALL
        SELECT * FROM matched m WHERE m.photo_id = ANY(%(also)s::bigint[]) AND m.photo_id NOT IN (SELECT photo_id FROM best)
    )
    SELECT k.photo_id, k.s, detail.ranks, detail.excluded, k.typo, k.typo_hits, {text_words}
    FROM kept k CROSS JOIN q
    CROSS JOIN LATERAL (SELECT {ranks} AS ranks, {excluded_ranks} AS excluded) detail
"""
# The words read in the photo `k` (OCR) that hold one of the query's lexemes, as written, when its text matched.
_TEXT_WORDS = """
           CASE WHEN detail.ranks[{text}] > 0 THEN ARRAY(
               SELECT w FROM {photos} tp,
                    regexp_split_to_table(coalesce(tp.text_in_photo, ''), '[^[:alnum:]]+') WITH ORDINALITY AS t(w, n)
               WHERE tp.id = k.photo_id AND w <> ''
                 AND tsvector_to_array(to_tsvector(%(cfg)s, {folded_parts})) && {lexemes}
               ORDER BY n LIMIT %(text_words)s) END"""


def _text_words(lexemes: str) -> sql.Composable:
    return sql.SQL(_TEXT_WORDS).format(text=sql.Literal(FIELD_INDEX["text"]), photos=sql.Identifier(PHOTOS),
                                       lexemes=sql.SQL(lexemes),
                                       folded_parts=sql.SQL(folded_unaccented_sql(f"w || ' ' || {_letter_runs('w')}")))


def _lexemes(meta: MetaQuery) -> list[str]:
    """The lexemes of what the query matches with (its words, their compounds and glued forms), to pick out the words
    read in a photo that matched."""
    return sorted({m.replace("''", "'") for m in _LEXEME.findall(f"{meta.matching} {meta.glued}")})


def metadata_passes(metas: Sequence[MetaQuery], photo_ids: Sequence[Sequence[int]], *,
                    family_ids: Sequence[int]) -> list[dict[int, MetaMatch]]:
    """`metadata_pass(meta, scope=Scope(family_ids), limit=0, also_ids=ids)` for each (meta, ids) pair, in one
    statement: the matches of some photos for many queries at once (the quality page and the fit read every judged
    query's; one statement each was most of the page's time). The queries' parts are rows of the statement, so one
    plan serves every mix of corrections, glued words and exclusions."""
    found: list[dict[int, MetaMatch]] = [{} for _ in metas]
    asked = [n for n, (meta, ids) in enumerate(zip(metas, photo_ids, strict=True)) if meta.tsquery and len(ids)]
    if not asked or not family_ids:
        return found
    fixes = [(n, k, c.tsquery, c.similarity) for n in asked for k, c in enumerate(metas[n].corrections)]
    params = {
        "q_n": id_array(asked), "q_ids": [id_array(sorted(set(photo_ids[n]))) for n in asked],
        "q_tsq": [metas[n].matching for n in asked], "q_glued": [metas[n].glued for n in asked],
        "q_excluded": [metas[n].excluded for n in asked], "q_excluded_glued": [metas[n].excluded_glued for n in asked],
        "q_lexemes": ["\x1f".join(_lexemes(metas[n])) for n in asked],
        "fix_n": id_array(f[0] for f in fixes), "fix_k": id_array(f[1] for f in fixes),
        "fix_tsq": [f[2] for f in fixes], "fix_sim": [float(f[3]) for f in fixes],
        "families": list(family_ids), "cfg": TEXT_CONFIG, "text_words": TEXT_WORDS_SHOWN,
    }
    with connection.cursor() as cursor:
        cursor.execute(_passes_sql(), params)
        rows = cursor.fetchall()
    for n, photo_id, s, s_glued, ranks, excluded, typo, typo_hits, text_words in rows:
        found[n][photo_id] = _match(metas[n], s if s_glued is None else s_glued, ranks, excluded, typo, typo_hits,
                                    text_words)
    return found


@functools.cache
def _passes_sql() -> str:
    """metadata_passes' statement: metadata_pass's (only_also) with each query's parts read from its row (`a`, `k`)."""
    return sql.SQL(_PASSES_SQL).format(
        glued_s=_glued_score(sql.SQL("a.glued")), documents=sql.Identifier(DOCUMENTS),
        ranks=_field_ranks(sql.SQL("k.tsq"), sql.SQL("k.glued"), glued_if=sql.SQL("k.has_glued"),
                           lexemes=sql.SQL("k.lexemes")),
        excluded_ranks=_field_ranks(sql.SQL("k.excluded"), sql.SQL("k.excluded_glued"), excluded=True,
                                    glued_if=sql.SQL("k.has_excluded_glued")),
        text_words=_text_words("k.lexemes"),
    ).as_string()


_PASSES_SQL = """
    WITH fixes AS (
        -- Each query's spelling corrections, in order, gathered on its row (each photo is tested against its own).
        SELECT n, array_agg(tsq::tsquery ORDER BY k) AS tsqs, array_agg(sim ORDER BY k) AS sims
        FROM unnest(%(fix_n)s::int[], %(fix_k)s::int[], %(fix_tsq)s::text[], %(fix_sim)s::float8[]) AS f(n, k, tsq, sim)
        GROUP BY n
    ), a AS MATERIALIZED (
        SELECT a.n, ids::bigint[] AS ids, tsq::tsquery AS tsq, glued::tsquery AS glued, glued <> '' AS has_glued,
               coalesce(fixes.tsqs, ARRAY[]::tsquery[]) AS fixes, coalesce(fixes.sims, ARRAY[]::float8[]) AS sims,
               excluded::tsquery AS excluded, excluded <> '' AS has_excluded,
               excluded_glued::tsquery AS excluded_glued, excluded_glued <> '' AS has_excluded_glued,
               excluded::tsquery || excluded_glued::tsquery AS excluded_any,
               string_to_array(lexemes, E'\\x1f') AS lexemes
        FROM unnest(%(q_n)s::int[], %(q_ids)s::text[], %(q_tsq)s::text[], %(q_glued)s::text[],
                    %(q_excluded)s::text[], %(q_excluded_glued)s::text[], %(q_lexemes)s::text[])
             AS a(n, ids, tsq, glued, excluded, excluded_glued, lexemes)
        LEFT JOIN fixes ON fixes.n = a.n
    ), k AS (
        -- Each query's photos that match it at all: per query, as metadata_pass finds them (the photos' keys), with
        -- one plan for all. Each row carries its query's parts for the ranks below.
        SELECT a.*, d.photo_id, d.fields,
               CASE WHEN d.document @@ a.tsq THEN ts_rank_cd(d.document, a.tsq) ELSE 0 END AS s,
               -- (apart: the sum is a float8 where the words alone are a real, as in metadata_pass)
               CASE WHEN a.has_glued THEN {glued_s} END AS s_glued,
               coalesce(fx.typo, 0)::real AS typo, coalesce(fx.hits, ARRAY[]::boolean[]) AS typo_hits
        FROM a
        JOIN LATERAL (
            SELECT d.photo_id, d.document, d.fields FROM {documents} d
            WHERE d.photo_id = ANY(a.ids) AND d.family_id = ANY(%(families)s)
              AND (d.document @@ a.tsq OR (a.has_glued AND d.document @@ a.glued) OR d.document @@ ANY(a.fixes)
                   OR (a.has_excluded AND d.document @@ a.excluded_any))
        ) d ON true
        LEFT JOIN LATERAL (SELECT max(f.sim) FILTER (WHERE d.document @@ f.tsq) AS typo,
                                  array_agg(d.document @@ f.tsq ORDER BY f.k) AS hits
                           FROM unnest(a.fixes, a.sims) WITH ORDINALITY AS f(tsq, sim, k)) fx ON true
    )
    SELECT k.n, k.photo_id, CASE WHEN k.s_glued IS NULL THEN k.s END, k.s + k.s_glued, detail.ranks, detail.excluded,
           k.typo, k.typo_hits, {text_words}
    FROM k CROSS JOIN LATERAL (SELECT {ranks} AS ranks,
                                      CASE WHEN k.has_excluded THEN {excluded_ranks} END AS excluded) detail
"""


# How many of the words read in a photo (OCR) that match the query explain shows, as written in the photo.
TEXT_WORDS_SHOWN = 5


def _match(meta: MetaQuery, s, ranks, excluded, typo, typo_hits, text_words) -> MetaMatch:
    s, typo = float(s or 0), float(typo or 0)
    fts = s / (s + 1)
    match = MetaMatch(score=max(fts, TYPO_WEIGHT * typo), fts=fts, typo=typo,
                      ranks={f.key: float(rank) for f, rank in zip(FIELDS, ranks or []) if rank})
    for f in FIELDS:
        if f.key not in match.ranks:
            continue
        if f.key == "text" and text_words:
            match.fields.append("text in photo: " + " ".join(f"“{word}”" for word in dict.fromkeys(text_words)))
        else:
            match.fields.append(f.label)
    if excluded and any(excluded):
        match.excluded = min(1.0, sum(f.weight * float(rank) for f, rank in zip(FIELDS, excluded)))
        match.excluded_fields = [f.label for f, rank in zip(FIELDS, excluded) if rank]
    if typo:  # named also beside another field's match: the correction counts in p_metadata all the same
        fixes = [c for c, hit in zip(meta.corrections, typo_hits or []) if hit]
        match.fields.append("similar spelling (" + ", ".join(f"{c.word} → {c.replacement}" for c in fixes) + ")")
    return match
