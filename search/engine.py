"""The search itself: expanded-query SigLIP similarity fused with metadata matching.

For query q, user u and candidate photo i with unit embedding v_i (see DESIGN.md, "The scoring contract"):
  p_sem(i)  = max over terms t of sigmoid(a · cos(e_t, v_i) + b)    a, b: the model's own calibration
  s_meta(i) = metadata score in [0, 1) (search.metadata)
  score(i)  = w_sem · p_sem(i) + w_meta · s_meta(i)                  weights normalised to sum 1
Candidates are the union of each term's nearest neighbours and the metadata matches, all inside
the families the user belongs to (and the active filters).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import numpy as np
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.utils import timezone

from gallery.models import Photo
from search.embedder import ModelUnavailable, get_embedder
from search.expansion import Term, expand
from search.metadata import MetaMatch, MetaQuery, metadata_candidates, metadata_query, metadata_scores
from search.models import PhotoEmbedding, SearchPreferences
from search.selectors import family_search_model, search_context
from search.text_embeddings import term_vectors
from search.vector_index import nearest_for_terms, nearest_photos

MAX_QUERY_CHARS = 300
# A candidate whose image match and metadata score are both below this carries no evidence at all (both read
# 0.00): the nearest-neighbour walk returns the nearest photos even when none is near. Under the minimum score
# such photos are dropped, not offered (and counted) as "weaker matches"; a minimum of 0 still lists everything.
NO_EVIDENCE = 0.005
SORTS = ("relevance", "date")


@dataclass
class SearchParams:
    query: str = ""
    family_id: int | None = None
    uploader_id: int | None = None
    tag: str | None = None
    country: str | None = None  # ISO code of the photo's place
    place: str | None = None  # part of its "city, region, country"
    places: tuple[str, ...] = ()  # places named in the query (search.query_parser): a photo in any of them
    excluded: tuple[str, ...] = ()  # concepts the query excludes ("-dog", "without dog"): lowered, not removed
    taken_after: date | None = None
    taken_before: date | None = None
    sort: str | None = None  # None: the user's default
    limit: int = 60
    min_score: float | None = None  # None: the user's preference
    show_hidden: bool = False
    # Preview overrides (the preferences page tries weights before saving them).
    semantic_weight: float | None = None
    metadata_weight: float | None = None
    expansion_enabled: bool | None = None


@dataclass
class Explanation:
    model_name: str | None
    cosine: float | None
    probability: float | None
    term: str | None
    calibration_scale: float | None
    calibration_bias: float | None
    meta_score: float
    meta_fts: float
    meta_typo: float
    meta_fields: list[str]
    semantic_weight: float
    metadata_weight: float
    score: float

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class SearchResult:
    photo: Photo
    score: float
    explanation: Explanation
    below_minimum: bool = False


@dataclass
class SearchResponse:
    query: str
    results: list[SearchResult] = field(default_factory=list)
    hidden_count: int = 0
    candidate_count: int = 0
    terms: list[Term] = field(default_factory=list)
    semantic_available: bool = True
    semantic_message: str = ""
    query_truncated: bool = False
    min_score: float = 0.0
    semantic_weight: float = 0.6
    metadata_weight: float = 0.4
    sort: str = "relevance"
    model_calls: int = 0


def preferences_for(user: AbstractBaseUser) -> SearchPreferences:
    """The user's saved preferences, or unsaved defaults (no row is written by reading)."""
    prefs = SearchPreferences.objects.filter(user=user).first()
    return prefs or SearchPreferences(user=user)


def normalised_weights(semantic: float, metadata: float) -> tuple[float, float]:
    semantic, metadata = max(0.0, semantic), max(0.0, metadata)
    total = semantic + metadata
    if total <= 0:
        return 0.5, 0.5
    return semantic / total, metadata / total


def sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # = 1 / (1 + exp(-x)), without overflow warnings


def search_photos(*, user: AbstractBaseUser, params: SearchParams) -> SearchResponse:
    context = search_context(user=user)
    prefs = context.preferences
    # NUL can't go into PostgreSQL text; the preferences preview passes its query straight from the URL.
    query = " ".join((params.query or "").replace("\x00", " ").split())
    response = SearchResponse(query=query[:MAX_QUERY_CHARS], query_truncated=len(query) > MAX_QUERY_CHARS)
    query = response.query
    w_sem, w_meta = normalised_weights(
        prefs.semantic_weight if params.semantic_weight is None else params.semantic_weight,
        prefs.metadata_weight if params.metadata_weight is None else params.metadata_weight,
    )
    response.min_score = prefs.min_score if params.min_score is None else params.min_score
    response.sort = params.sort if params.sort in SORTS else prefs.default_sort
    family_ids = [f for f in context.family_ids if params.family_id is None or f == params.family_id]
    if not query or not family_ids:
        response.semantic_weight, response.metadata_weight = w_sem, w_meta
        return response

    expansion = prefs.expansion_enabled if params.expansion_enabled is None else params.expansion_enabled
    response.terms = expand(query, family_ids=family_ids, enabled=expansion)
    filter_sql, filter_params = _filters(params)

    meta_query = metadata_query(query=query, family_ids=family_ids)
    meta_hits = metadata_candidates(meta_query, family_ids=family_ids, filter_sql=filter_sql,
                                    filter_params=filter_params, limit=settings.SEARCH_CANDIDATES)
    with transaction.atomic():  # SET LOCAL of the index parameters lasts for this block only
        sem_scores, calibrations = _semantic_candidates(response, family_ids, filter_sql, filter_params,
                                                        params.limit, meta_hits, context.other_models)
    candidate_ids = set(meta_hits) | set(sem_scores)
    response.candidate_count = len(candidate_ids)
    if not response.semantic_available:
        w_sem, w_meta = 0.0, 1.0  # semantic part unknown: rank by what we do know, and say so
    response.semantic_weight, response.metadata_weight = w_sem, w_meta
    if not candidate_ids:
        return response

    meta_known = _candidate_meta_scores(meta_query, family_ids, candidate_ids, meta_hits)
    scored = []
    for photo_id in candidate_ids:
        sem = sem_scores.get(photo_id)
        meta = meta_known.get(photo_id) or MetaMatch()
        p_sem = sem[1] if sem else 0.0
        score = w_sem * p_sem + w_meta * meta.score
        scored.append((photo_id, score, sem, meta))
    shown = [row for row in scored if row[1] >= response.min_score]
    weaker = [row for row in scored if row[1] < response.min_score and _has_evidence(row)]
    response.hidden_count = len(weaker)
    rows = shown + weaker if params.show_hidden else shown
    # Sort every candidate on its date (one cheap query), but build Photo objects and the per-field metadata
    # explanation only for the page that is returned: a query has a few hundred candidates.
    taken = _taken_at([row[0] for row in rows])
    rows = [row for row in rows if row[0] in taken]
    if response.sort == "date":
        rows.sort(key=lambda row: (taken[row[0]], row[0]), reverse=True)
    else:
        rows.sort(key=lambda row: (row[1], taken[row[0]], row[0]), reverse=True)
    rows = rows[: max(1, params.limit)]
    photos = _photos(rows)
    page_meta = metadata_scores(meta_query, photo_ids=[row[0] for row in rows])
    results = []
    for photo_id, score, sem, meta in rows:
        if photo_id not in photos:
            continue
        meta = page_meta.get(photo_id) or meta  # the same score, plus which fields matched
        results.append(SearchResult(
            photo=photos[photo_id],
            score=score,
            below_minimum=score < response.min_score,
            explanation=Explanation(
                model_name=sem[3] if sem else None,
                cosine=sem[0] if sem else None,
                probability=sem[1] if sem else None,
                term=sem[2] if sem else None,
                calibration_scale=calibrations[sem[3]][0] if sem else None,
                calibration_bias=calibrations[sem[3]][1] if sem else None,
                meta_score=meta.score, meta_fts=meta.fts, meta_typo=meta.typo, meta_fields=meta.fields,
                semantic_weight=w_sem, metadata_weight=w_meta, score=score,
            ),
        ))
    response.results = results[: max(1, params.limit)]
    return response


def _has_evidence(row) -> bool:
    _, _, sem, meta = row
    return max(sem[1] if sem else 0.0, meta.score) >= NO_EVIDENCE


def _filters(params: SearchParams) -> tuple[str, dict]:
    """A SQL predicate on gallery_photo `p` for the active filters other than family ('' when none)."""
    clauses, values = [], {}
    if params.uploader_id is not None:
        clauses.append("p.uploaded_by_id = %(scope_uploader)s")
        values["scope_uploader"] = params.uploader_id
    if params.tag:
        clauses.append(
            "EXISTS (SELECT 1 FROM gallery_photo_tags pt JOIN gallery_tag t ON t.id = pt.tag_id "
            "WHERE pt.photo_id = p.id AND lower(t.name) = lower(%(scope_tag)s))"
        )
        values["scope_tag"] = params.tag
    if params.country:
        clauses.append("p.place_country_code = upper(%(scope_country)s)")
        values["scope_country"] = params.country
    places = [name for name in ([params.place] if params.place else []) + list(params.places) if name]
    if places:
        clauses.append("EXISTS (SELECT 1 FROM unnest(%(scope_places)s::text[]) AS named(name) WHERE "
                       "strpos(lower(unaccent(concat_ws(', ', p.place_city, p.place_region, p.place_country))), "
                       "lower(unaccent(named.name))) > 0)")
        values["scope_places"] = places
    if params.taken_after:
        clauses.append("p.taken_at >= %(scope_after)s")
        values["scope_after"] = _day_start(params.taken_after)
    if params.taken_before:
        clauses.append("p.taken_at < %(scope_before)s")
        values["scope_before"] = _day_start(params.taken_before + timedelta(days=1))
    return " AND ".join(clauses), values


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, datetime.min.time()))


def _semantic_candidates(response: SearchResponse, family_ids, filter_sql, filter_params, limit: int, also_ids,
                         other_models: bool):
    """Nearest neighbours per term and search model (families mid-switch keep their previous model), scored
    along with `also_ids` (the metadata matches).

    Returns ({photo id: (cosine, p_sem, winning term, model)}, {model: (a, b)})."""
    by_model: dict[str, list[int]] = defaultdict(list)
    for family_id in family_ids:
        by_model[family_search_model(family_id=family_id, other_models=other_models)].append(family_id)
    scores: dict[int, tuple] = {}
    calibrations: dict[str, tuple[float, float]] = {}
    problems = []
    for model_name, model_families in by_model.items():
        try:
            embedder = get_embedder(model_name)
        except ModelUnavailable as exc:
            problems.append(str(exc))
            continue
        texts = [term.text for term in response.terms]
        vectors, calls = term_vectors(embedder, texts)
        response.model_calls += calls
        a, b = calibrations[model_name] = embedder.calibration
        found = nearest_for_terms(
            model_name=model_name, dim=embedder.dim, vectors=vectors, family_ids=model_families,
            first_limit=max(limit, settings.SEARCH_NEIGHBOURS), limit=settings.SEARCH_NEIGHBOURS,
            filter_sql=filter_sql, filter_params=filter_params, also_ids=also_ids)
        scores.update({photo_id: (cosine, float(sigmoid(a * cosine + b)), texts[term], model_name)
                       for photo_id, (cosine, term) in found.items()})
    if problems:
        response.semantic_available = False
        response.semantic_message = problems[0]
    return scores, calibrations


def _candidate_meta_scores(meta_query: MetaQuery, family_ids: list[int], candidate_ids: set[int],
                           meta_hits: dict[int, MetaMatch]) -> dict[int, MetaMatch]:
    """s_meta of every candidate (without the per-field breakdown, which only the returned page needs).

    `meta_hits` holds every metadata match in scope unless it stopped at its limit: then any other candidate
    has no match (s_meta 0). Otherwise the candidates it left out are matched on their own (same SQL)."""
    rest = [photo_id for photo_id in candidate_ids if photo_id not in meta_hits]
    if len(meta_hits) < settings.SEARCH_CANDIDATES or not rest:
        return meta_hits
    more = metadata_candidates(meta_query, family_ids=family_ids, photo_ids=rest, limit=len(rest))
    return {**meta_hits, **more}


def _taken_at(photo_ids: list[int]) -> dict[int, float]:
    """photo id → when it was taken (epoch seconds), for sorting; photos deleted meanwhile are left out.
    Plain SQL: a query has hundreds of candidates, and the ORM's datetimes cost more than the query."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, extract(epoch FROM taken_at)::float8 FROM gallery_photo WHERE id = ANY(%s)",
                       [photo_ids])
        return dict(cursor.fetchall())


# What result pages and the API show of a photo (its name, date, family and the URLs made from its id).
# Loading only these keeps a page of 60 results cheap; reading another field would cost a query per photo.
# In the model's field order, which Model.from_db expects.
RESULT_FIELDS = tuple(f.attname for f in Photo._meta.concrete_fields
                      if f.attname in {"id", "family_id", "title", "original_filename", "taken_at"})


def _photos(rows) -> dict[int, Photo]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(RESULT_FIELDS)} FROM {Photo._meta.db_table} WHERE id = ANY(%s)",
                       [[row[0] for row in rows]])
        photos = [Photo.from_db("default", RESULT_FIELDS, values) for values in cursor.fetchall()]
    return {photo.pk: photo for photo in photos}



@dataclass
class SimilarResult:
    photo: Photo
    cosine: float
    model_name: str


def similar_photos(*, user: AbstractBaseUser, photo: Photo, limit: int = 12) -> tuple[list[SimilarResult], str]:
    """Photos that look like `photo` (image-to-image cosine), inside the user's families.

    `photo` must come from a selector that already checked the user may see it. Returns the results and,
    when there are none to give, why. The text calibration (a, b) is for text-image pairs only, so
    image-to-image scores are plain cosines."""
    context = search_context(user=user)
    model_name = family_search_model(family_id=photo.family_id, other_models=context.other_models)
    source = PhotoEmbedding.objects.filter(photo=photo, model_name=model_name).first()
    if source is None:
        return [], "This photo is not indexed yet: similar photos appear once it is."
    vector = np.asarray(source.vector, dtype=np.float32)
    family_ids = [f for f in context.family_ids
                  if family_search_model(family_id=f, other_models=context.other_models) == model_name]
    with transaction.atomic():
        cosines = nearest_photos(model_name=model_name, dim=len(vector), vector=vector, family_ids=family_ids,
                                 limit=limit, exclude_id=photo.pk)
    photos = _photos([(pid,) for pid in cosines])
    results = [SimilarResult(photos[pid], c, model_name) for pid, c in cosines.items() if pid in photos]
    results.sort(key=lambda r: r.cosine, reverse=True)
    return results, "" if results else "No other indexed photos to compare with yet."
