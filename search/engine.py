"""The search itself: expanded-query SigLIP similarity fused with metadata matching.

For query q, user u and candidate photo i with unit embedding v_i (see DESIGN.md, "The scoring contract"):
  p_sem(i)  = max over terms t of sigmoid(a · cos(e_t, v_i) + b)    a, b: the model's own, or the family's fitted
  p_meta(i) = the metadata match's probability (search.calibration, by field and kind of match)
  score(i)  = 1 − (1 − p_sem)^(2·w_sem) · (1 − p_meta)^(2·w_meta)   weights normalised to sum 1 (search.calibration)
Candidates are the union of each term's nearest neighbours and the metadata matches, all inside
the families the user belongs to (and the active filters).
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime

import numpy as np
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction

from gallery.models import Photo
from search.calibration import DEFAULT as DEFAULT_CALIBRATION
from search.calibration import Calibration, active_calibrations, fuse_one, noisy_or, query_word_count
from search.embedder import Embedder, ModelUnavailable, get_embedder, loaded_embedder, model_load_failed
from search.expansion import Term, expand, synonyms_version
from search.metadata import MetaMatch, MetaQuery, metadata_pass, metadata_passes, metadata_queries, metadata_query
from search.models import PhotoEmbedding, SearchPreferences
from search.selectors import (RefinePhoto, SearchContext, StoredModel, family_search_model, refine_photos,
                              search_context, stored_model)
from search.text_embeddings import EncodeBudget, term_vectors, term_vectors_within
from search.scope import Scope, id_array
from search.vector_index import nearest_photos, semantic_hits

MAX_QUERY_CHARS = 300
# A candidate whose image match and metadata score are both below this carries no evidence at all (both read
# 0.00): the nearest-neighbour walk returns the nearest photos even when none is near. Under the minimum score
# such photos are dropped, not offered (and counted) as "weaker matches"; a minimum of 0 still lists everything.
NO_EVIDENCE = 0.005
SORTS = ("relevance", "date")
MAX_EXCLUDED = 8
# Results a search returns at once (the page's, and the API's default `limit`), and the most it may ask for.
PAGE_SIZE, MAX_LIMIT = 60, 500


@dataclass
class SearchParams:
    query: str = ""
    family_id: int | None = None
    uploader_id: int | None = None
    tag: str | None = None
    country: str | None = None  # ISO code of the photo's place
    place: str | None = None  # part of its "city, region, country"
    places: tuple[str, ...] = ()  # places named in the query (search.query_parser): a photo in any of them
    not_places: tuple[str, ...] = ()  # places the query names after a negation ("not in Lisbon"): left out
    not_countries: tuple[str, ...] = ()  # ISO codes, likewise
    not_dates: tuple[tuple[date | None, date | None], ...] = ()  # (first, last day) the query negates: left out
    days_of_year: tuple[tuple[int, int], ...] = ()  # (month, day) of every year the query names ("3 june"): any of them
    not_days_of_year: tuple[tuple[int, int], ...] = ()  # and negates ("not on 3 june"): left out
    excluded: tuple[str, ...] = ()  # concepts the query excludes ("-dog", "without dog"): lowered, not removed
    taken_after: date | None = None
    taken_before: date | None = None
    # Several dates searched as either of them, within taken_after/taken_before (search.scope.Scope.periods).
    periods: tuple[tuple[date, date], ...] = ()
    # A season's days across the equator (search.scope.Scope.other_side): photos taken there are searched in these.
    southern: bool = False
    other_side: tuple[date | None, date | None] | None = None
    other_side_not_dates: tuple[tuple[date | None, date | None], ...] = ()
    favourite: bool = False  # the user's favourites only
    sort: str | None = None  # None: the user's default
    limit: int = PAGE_SIZE
    min_score: float | None = None  # None: the user's preference
    show_hidden: bool = False
    # Preview overrides (the preferences page tries weights before saving them).
    semantic_weight: float | None = None
    metadata_weight: float | None = None
    expansion_enabled: bool | None = None
    # Refine ("more like these / fewer like those"): photos marked right / wrong in this search (ids outside the
    # user's families are ignored), which move the query vector (see _refined).
    like: tuple[int, ...] = ()
    unlike: tuple[int, ...] = ()
    # How many of the query's words a photo matching all it can counts as (search.understanding, for a query made
    # of a filter's alternatives: each year of a range, each place); None: the query's own word count.
    query_words: int | None = None
    # The query is the words every photo of a filter carries (a query of only places and dates: "1900s 1910s …"),
    # not what to look for: no photo is an image match for them (exclusions and a refine still use the image half).
    browse: bool = False


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
    meta_ranks: dict[str, float] = field(default_factory=dict)  # rank of each metadata field that matched
    # The two halves as probabilities (search.calibration) and what fused them into `score`.
    probability_semantic: float = 0.0
    probability_metadata: float = 0.0
    meta_probabilities: dict[str, float] = field(default_factory=dict)  # each kind of metadata match's own
    calibration_fitted: bool = False  # the family's fitted calibration made these probabilities
    # Exclusions ("-dog"): the calibrated probability that an excluded concept is in the photo, the metadata
    # evidence of one (min(1, S) of its words), and the factor both took off the score.
    excluded_probability: float | None = None
    excluded_metadata: float = 0.0
    excluded_fields: list[str] = field(default_factory=list)
    exclusion_factor: float = 1.0

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class SearchResult:
    photo: Photo
    score: float
    explanation: Explanation
    below_minimum: bool = False


@dataclass
class LeftOut:
    """The photos a refine names (SearchParams.like, unlike) that moved nothing, by why: the page and the API say so."""

    not_indexed: list[int] = field(default_factory=list)  # of a family searched, not indexed yet (its search model's)
    failed: list[int] = field(default_factory=list)  # of a family searched, whose indexing failed: waits for a Retry
    # indexed, but their family's search model can't be loaded now (smart search is off): they move nothing
    model_off: list[int] = field(default_factory=list)
    # photo id → its family: one of the user's that the search does not look in (its family filter)
    other_families: dict[int, int] = field(default_factory=dict)
    unseen: int = 0  # how many the user may not see (another family's, in the trash, deleted): never which
    # named in both like and unlike (a hand-made link: a verdict is one or the other): a contradiction, moving nothing
    both_ways: list[int] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.not_indexed or self.failed or self.model_off or self.other_families or self.unseen
                    or self.both_ways)


@dataclass
class SearchResponse:
    query: str
    results: list[SearchResult] = field(default_factory=list)
    hidden_count: int = 0
    more: bool = False  # more photos match than `limit` returned
    candidate_count: int = 0
    terms: list[Term] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    leaves_out: bool = False  # the search names something to leave out or lower (an exclusion, a negated place or date)
    semantic_available: bool = True
    semantic_message: str = ""
    query_truncated: bool = False
    min_score: float = 0.0
    semantic_weight: float = 0.6
    metadata_weight: float = 0.4
    sort: str = "relevance"
    browse: bool = False  # a query of only places and dates (SearchParams.browse): its photos are listed alike
    model_calls: int = 0
    other_models: bool = False  # some family may still be searched with a previous model (SearchContext)
    family_ids: tuple[int, ...] = ()  # the families searched
    search_models: dict[int, str] = field(default_factory=dict)  # family id → the model its photos were searched with
    # Refine: the photos of `like`/`unlike` that moved the query (those the user may see, with an embedding), and
    # those it left out.
    liked: list[int] = field(default_factory=list)
    unliked: list[int] = field(default_factory=list)
    left_out: LeftOut = field(default_factory=LeftOut)
    # What the search was planned as (its families, models, preferences): refine_read reuses it, planning nothing.
    plan: Plan | None = field(default=None, repr=False, compare=False)


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


@dataclass(frozen=True)
class Plan:
    """What a search will do, decided from the request and the user's preferences before anything is matched."""

    query: str
    scope: Scope
    excluded: tuple[str, ...]
    semantic_weight: float
    metadata_weight: float
    min_score: float
    sort: str
    expansion: bool
    limit: int
    show_hidden: bool
    other_models: bool  # whether some family may still be searched with a previous model
    synonyms_version: tuple | None = None  # of the user's families' synonyms (search.expansion)
    calibrated: bool = True  # whether some family may have a fitted calibration in force (search.calibration)
    like: tuple[int, ...] = ()  # refine: photos marked right in this search
    unlike: tuple[int, ...] = ()  # and wrong
    families: tuple[int, ...] = ()  # all the families searched from (the user's): a refine's photo of one left out
    query_words: int | None = None  # SearchParams.query_words
    browse: bool = False  # SearchParams.browse

    def words_of(self, meta_query: MetaQuery) -> int:
        """The query's words as metadata scores count them: as given (a query of only filters), else its tsquery's."""
        return self.query_words or query_word_count(meta_query.tsquery)


@dataclass
class SemanticMatch:
    cosine: float
    probability: float
    term: str
    model_name: str
    calibration: tuple[float, float]  # the (a, b) that made `probability`: the model's own or the family's fitted
    excluded_probability: float | None = None
    family_calibration: Calibration = DEFAULT_CALIBRATION  # the photo's family's, for its metadata half too
    seen: bool = True  # whether the query is something to see in a photo (not a filter's browse words, SearchParams)


@dataclass
class _Candidate:
    photo_id: int
    score: float
    semantic: SemanticMatch | None
    meta: MetaMatch
    exclusion_factor: float
    p_semantic: float = 0.0
    p_metadata: float = 0.0
    meta_probabilities: dict[str, float] = field(default_factory=dict)
    calibration: Calibration = DEFAULT_CALIBRATION


def search_photos(*, user: AbstractBaseUser | None, params: SearchParams,
                  context: SearchContext | None = None) -> SearchResponse:
    """Plan, expand, find and score candidates (image search, then one metadata pass), rank, and load the page.
    `context`: the families and preferences to search with instead of the user's (a smart album: its one family,
    its owner's weights, whoever looks)."""
    plan, response = _plan(user=user, params=params, context=context)
    if not plan.query or plan.scope.empty:
        return response
    response.terms = expand(plan.query, family_ids=list(plan.scope.family_ids), enabled=plan.expansion,
                            synonyms_version=plan.synonyms_version)
    meta_query = metadata_query(query=plan.query, family_ids=plan.scope.family_ids, excluded=plan.excluded)
    with transaction.atomic():  # SET LOCAL of the index parameters lasts for this block only
        semantic = _SemanticSearch(response, plan)
        found = semantic.walk()
        # One more than the page too, as the walk's: a query of only places and dates has no walk to bring the rest.
        meta = metadata_pass(meta_query, scope=plan.scope, limit=max(settings.SEARCH_CANDIDATES, plan.limit + 1),
                             also_ids=list(found))
        found.update(semantic.score([photo_id for photo_id in meta if photo_id not in found]))
    if not response.semantic_available:
        # The semantic part is unknown: rank by what we do know, and say so.
        response.semantic_weight, response.metadata_weight = 0.0, 1.0
    candidates = _score(response, found, meta, semantic.meta_calibration, plan.words_of(meta_query))
    response.candidate_count = len(candidates)
    response.results = _page(response, plan, candidates)
    return response


def _plan(*, user: AbstractBaseUser | None, params: SearchParams,
          context: SearchContext | None = None) -> tuple[Plan, SearchResponse]:
    context = context or search_context(user=user)
    prefs = context.preferences
    # NUL can't go into PostgreSQL text; the preferences preview passes its query straight from the URL. Composed
    # (NFC), as the query parser reads it: "é" typed as "e" and a combining accent is the letter é for the model too.
    query = unicodedata.normalize("NFC", " ".join((params.query or "").replace("\x00", " ").split()))
    w_sem, w_meta = normalised_weights(
        prefs.semantic_weight if params.semantic_weight is None else params.semantic_weight,
        prefs.metadata_weight if params.metadata_weight is None else params.metadata_weight,
    )
    scope = Scope(
        family_ids=tuple(f for f in context.family_ids if params.family_id is None or f == params.family_id),
        uploader_id=params.uploader_id, tag=params.tag or None, country=params.country or None,
        place=params.place or None, places=tuple(params.places), not_places=tuple(params.not_places),
        not_countries=tuple(params.not_countries), not_dates=tuple(params.not_dates),
        days_of_year=tuple(params.days_of_year), not_days_of_year=tuple(params.not_days_of_year),
        taken_after=params.taken_after, taken_before=params.taken_before, periods=tuple(params.periods),
        favourite_of=user.pk if params.favourite else None, southern=params.southern, other_side=params.other_side,
        other_side_not_dates=tuple(params.other_side_not_dates),
    )
    excluded = tuple(dict.fromkeys(
        unicodedata.normalize("NFC", " ".join(term.replace("\x00", " ").split()))[:MAX_QUERY_CHARS]
        for term in params.excluded if term and term.strip()))
    plan = Plan(
        query=query[:MAX_QUERY_CHARS], scope=scope, excluded=excluded[:MAX_EXCLUDED],
        semantic_weight=w_sem, metadata_weight=w_meta,
        min_score=prefs.min_score if params.min_score is None else params.min_score,
        sort=params.sort if params.sort in SORTS else prefs.default_sort,
        expansion=prefs.expansion_enabled if params.expansion_enabled is None else params.expansion_enabled,
        limit=max(1, params.limit), show_hidden=params.show_hidden, other_models=context.other_models,
        # The version read covers all the user's families: it versions the cache entry of exactly those.
        synonyms_version=context.synonyms_version if scope.family_ids == tuple(sorted(context.family_ids)) else None,
        calibrated=context.calibrated,
        like=_refine_ids(params.like), unlike=_refine_ids(params.unlike), query_words=params.query_words,
        browse=params.browse, families=tuple(context.family_ids),
    )
    response = SearchResponse(query=plan.query, query_truncated=len(query) > MAX_QUERY_CHARS, min_score=plan.min_score,
                              semantic_weight=w_sem, metadata_weight=w_meta, sort=plan.sort,
                              excluded=list(plan.excluded), other_models=plan.other_models,
                              leaves_out=bool(plan.excluded or scope.not_places or scope.not_countries
                                              or scope.not_dates or scope.not_days_of_year),
                              family_ids=scope.family_ids, browse=plan.browse and not (plan.like or plan.unlike),
                              plan=plan)
    return plan, response


class _SemanticSearch:
    """The image half of a search, per search model (families mid-switch keep their previous model): the query's
    walk of each family's index, then scores for photos found by metadata alone."""

    def __init__(self, response: SearchResponse, plan: Plan, *, load: bool = True) -> None:
        """`load`: whether a model this process has not loaded is loaded (a search); without (a verdict's components,
        explain_photo), it is scored from what its load recorded and the query's cached vectors (_model_known)."""
        self.response, self.plan = response, plan
        self.groups = []  # (model name, embedder, scope of its families, term vectors, excluded vectors, calibration)
        models = _search_models(plan)
        response.search_models = models
        refine = {}
        if plan.like or plan.unlike:  # one read of the refine's photos, for every model's families
            refine, response.left_out = _refine_read(plan, models, vectors=True, load=load)
            response.liked, response.unliked = _moving(plan.like, plan.unlike, _refining(refine, response.left_out))
        # Families with a fitted calibration (search.calibration) are scored with it: one group per calibration.
        fitted = active_calibrations(models.items()) if plan.calibrated else {}
        by_model: dict[tuple[str, Calibration], list[int]] = defaultdict(list)
        for family_id, model_name in models.items():
            by_model[(model_name, fitted.get((family_id, model_name), DEFAULT_CALIBRATION))].append(family_id)
        # What a photo found by metadata alone is calibrated with: its families' only calibration, if they share one.
        self.meta_calibration = (next(iter(by_model))[1] if len({c for _, c in by_model}) == 1
                                 else DEFAULT_CALIBRATION)
        # A filter's browse words are nothing to see in a photo (a refine's moved vector is: it holds the photos):
        # no walk, and no image scored unless an exclusion lowers what shows it, or the photos' families are
        # calibrated apart (each photo's metadata half is scored with its own family's: SemanticMatch).
        self.sees = not plan.browse or bool(plan.like or plan.unlike)
        self.scores = self.sees or bool(plan.excluded) or len({c for _, c in by_model}) > 1
        texts = [term.text for term in response.terms]
        for (model_name, calibration), family_ids in by_model.items():
            try:
                embedder = get_embedder(model_name) if load else _model_known(model_name)
                vectors = self._vectors(embedder, texts + list(plan.excluded)) if self.scores else None
            except ModelUnavailable as exc:
                # Image search is off for these families' photos; families with none (a new family while the
                # others are searched with the previous model during a switch) lose nothing, and say nothing.
                if Photo.objects.filter(family_id__in=family_ids).exists():
                    response.semantic_available, response.semantic_message = False, str(exc)
                continue
            if vectors is None:
                continue
            if plan.like or plan.unlike:  # by the photos of every family searched with this model, whatever its fit
                vectors = _refined(models, plan, refine, embedder.calibration[0], model_name, vectors, len(texts))
            self.groups.append((model_name, embedder, replace(plan.scope, family_ids=tuple(family_ids)),
                                vectors[: len(texts)], vectors[len(texts):], calibration))

    def _vectors(self, embedder: Embedder | StoredModel, terms: list[str]) -> np.ndarray:
        """The terms' vectors: encoded where missing by a loaded model, else all cached or ModelUnavailable."""
        if isinstance(embedder, StoredModel):  # (encodes nothing: the words not cached are queued for the worker)
            with EncodeBudget(terms=0) as budget:
                vectors = term_vectors_within(embedder, terms, budget)
            if vectors is None:
                raise ModelUnavailable("The search model is not loaded in this process and some words of this search "
                                       "are not encoded yet: no image match is known without them.")
            return vectors
        vectors, calls = term_vectors(embedder, terms)
        self.response.model_calls += calls
        return vectors

    def walk(self) -> dict[int, SemanticMatch]:
        return self._hits(walk=True, also_ids=()) if self.sees else {}

    def score(self, photo_ids: list[int]) -> dict[int, SemanticMatch]:
        return self._hits(walk=False, also_ids=photo_ids) if photo_ids else {}

    def _hits(self, *, walk: bool, also_ids) -> dict[int, SemanticMatch]:
        found = {}
        texts = [term.text for term in self.response.terms]
        matches = self.sees
        for model_name, embedder, scope, vectors, excluded, family_calibration in self.groups:
            a, b = family_calibration.semantic_for(embedder.calibration)
            hits = semantic_hits(model_name=model_name, dim=embedder.dim, vectors=vectors, excluded=excluded,
                                 # One more than the page: whether more photos match than it holds.
                                 scope=scope, limit=max(self.plan.limit + 1, settings.SEARCH_NEIGHBOURS),
                                 also_ids=also_ids, walk=walk)
            found.update({photo_id: SemanticMatch(
                cosine=cosine, probability=float(sigmoid(a * cosine + b)) if matches else 0.0, term=texts[term],
                model_name=model_name,
                calibration=(a, b), family_calibration=family_calibration,
                excluded_probability=None if worst is None else float(sigmoid(a * worst + b)), seen=matches,
            ) for photo_id, (cosine, term, worst) in hits.items()})
        return found


# Refine, Rocchio-style: each term vector q of the query moves towards the photos marked right in this search
# and away from those marked wrong, then back to unit length; the walk and every candidate's score use the moved
# vectors (one extra input to the same single walk, no extra pass):
#     q' = α·q + λ·(β·mean(right) − γ·mean(wrong)),   q' ← q' / |q'|
# α 1, β 0.75, γ 0.25: the classic relevance-feedback weights (Rocchio/SMART; Manning et al., "Introduction to
# Information Retrieval" §9.1.1: γ < β, what people mark wrong says less than what they mark right).
# λ = REFINE_LOGITS / a puts the images' part on the text's scale. Image vectors sit in their own cone (the
# modality gap): photos are 0.5-0.9 alike where a query and its photo are 0.1-0.2, so unscaled right photos would
# swamp the words and push calibrated probabilities to exactly 1.0 (ties). Scaled, a photo identical to the mean
# of the right ones gains about β·REFINE_LOGITS = 15 in logit, whatever the model's scale a: about the span
# between an unrelated and a relevant photo for the words alone, so right photos count about as much as the
# words. The probability is the model's calibration applied to the moved vector.
REFINE_ALPHA, REFINE_BETA, REFINE_GAMMA = 1.0, 0.75, 0.25
REFINE_LOGITS = 20.0
MAX_REFINE = 50  # photos per side a URL may name


def _refine_ids(ids) -> tuple[int, ...]:
    """Valid photo ids of a refine, in order, without repeats; anything else is dropped (never sent to SQL)."""
    kept = dict.fromkeys(i for i in ids if isinstance(i, int) and 0 < i < 2**63)
    return tuple(kept)[:MAX_REFINE]


def refine_both_ways(like, unlike) -> list[int]:
    """The photos a refine names both right (`like`) and wrong (`unlike`), in `like`'s order. Such a photo says
    nothing of what is wanted: the search leaves it out (LeftOut.both_ways) and the page says so; the API refuses it.
    (It counted as wrong alone, pushing the search away from a photo the same link called right.)"""
    wrong = set(unlike)
    return [i for i in dict.fromkeys(like) if i in wrong]


def _search_models(plan: Plan) -> dict[int, str]:
    """Each family searched → the model its photos are searched with (mid-switch, maybe the previous one)."""
    return {f: family_search_model(family_id=f, other_models=plan.other_models) for f in plan.scope.family_ids}


def _refine_read(plan: Plan, models: dict[int, str], *, vectors: bool,
                 load: bool) -> tuple[dict[int, RefinePhoto], LeftOut]:
    """The refine's photos the user may see (search.selectors.refine_photos: one read), and those left out, by why:
    not indexed yet under their family's search model, or whose indexing failed (nothing indexes it until a Retry),
    indexed under a model that can't be loaded now (smart search is off: no vector is moved), in another of the
    user's families than those searched, or not the user's to see (counted only: another family's photo reads as a
    missing one). The photos that refine are the rest: `_refining`. `vectors`: with their embeddings. With `load` (a
    search, which loads its models anyway) a model not loaded yet is loaded to tell; without (the refine bar, which a
    verdict redraws, and a verdict's components: neither may wait for a load), one this process failed to load is
    off and any other is taken to load."""
    both = refine_both_ways(plan.like, plan.unlike)
    named = [i for i in dict.fromkeys(plan.like + plan.unlike) if i not in both]
    photos = refine_photos(photo_ids=named, family_ids=list(plan.families), search_models=models, vectors=vectors)
    seen = [i for i in named if i in photos]
    searched = [i for i in seen if photos[i].family_id in models]
    waiting = [i for i in searched if not photos[i].indexed]
    loads = _model_loads if load else (lambda model_name: not model_load_failed(model_name))
    off = {m for m in {models[photos[i].family_id] for i in searched if photos[i].indexed} if not loads(m)}
    return photos, LeftOut(
        not_indexed=[i for i in waiting if not photos[i].failed], failed=[i for i in waiting if photos[i].failed],
        model_off=[i for i in searched if photos[i].indexed and models[photos[i].family_id] in off],
        other_families={i: photos[i].family_id for i in seen if photos[i].family_id not in models},
        unseen=len(named) - len(seen), both_ways=both)


def _refining(photos: dict[int, RefinePhoto], left_out: LeftOut) -> set[int]:
    """The photos of a refine (_refine_read's) that move its query: those of the families searched, indexed under a
    model that loads."""
    return {i for i, photo in photos.items() if photo.indexed and i not in left_out.model_off
            and i not in left_out.other_families}


def _moving(like, unlike, used: set[int]) -> tuple[list[int], list[int]]:
    """The photos of a refine's `like` and `unlike` that move its query (`used`: _refining's), in their order: a
    photo marked both ways moves it neither way (refine_both_ways)."""
    return [i for i in like if i in used and i not in unlike], [i for i in unlike if i in used and i not in like]


def _model_known(model_name: str) -> Embedder | StoredModel:
    """`model_name` as this process knows it without loading it: its embedder when loaded, else what its load
    recorded (search.selectors.stored_model). ModelUnavailable when this process failed to load it or none loaded it."""
    embedder = loaded_embedder(model_name)
    if embedder is not None:
        return embedder
    stored = stored_model(model_name=model_name)
    if stored is None:
        raise ModelUnavailable(f"The search model {model_name} has not been loaded yet.")
    return stored


def _model_loads(model_name: str) -> bool:
    """Whether image search can use `model_name` now (a failed load is remembered: search.embedder)."""
    try:
        get_embedder(model_name)
    except ModelUnavailable:
        return False
    return True


@dataclass
class RefineRead:
    """Photos as the refine of a search reads them (refine_read): those the user may see and those left out, by why.
    What a photo does to the search depends on the photo and the search alone, not on which list names it."""

    searched: bool  # the search has something to refine (a query, a family to look in)
    photos: dict[int, RefinePhoto] = field(default_factory=dict)
    left_out: LeftOut = field(default_factory=LeftOut)

    def of(self, like, unlike) -> tuple[list[int], list[int], LeftOut]:
        """What the photos `like` and `unlike` (all of them read) do as the search's refine: those that move its query,
        as its response's `liked` and `unliked` would be, and those it leaves out."""
        like, unlike = _refine_ids(like), _refine_ids(unlike)
        if not self.searched or not (like or unlike):
            return [], [], LeftOut()
        both = refine_both_ways(like, unlike)
        named, out = (set(like) | set(unlike)) - set(both), self.left_out
        return (*_moving(like, unlike, _refining(self.photos, out)), LeftOut(
            not_indexed=[i for i in out.not_indexed if i in named], failed=[i for i in out.failed if i in named],
            model_off=[i for i in out.model_off if i in named],
            other_families={i: f for i, f in out.other_families.items() if i in named},
            unseen=sum(1 for i in named if i not in self.photos), both_ways=both))


def refine_read(*, user: AbstractBaseUser, params: SearchParams,
                also: tuple[tuple[int, ...], tuple[int, ...]] = ((), ()),
                response: SearchResponse | None = None) -> RefineRead:
    """The photos of the refine of the search `params` (its like and unlike) and of `also` (other photos marked right
    and wrong: the refine bar's marks) as that search reads them, without running it, in one read (no model is loaded:
    _refine_read). `response`: the search that ran as `params` (its plan serves; none is made again)."""
    ran = response.plan if response is not None else None
    plan = replace(ran or _plan(user=user, params=params)[0],
                   like=tuple(dict.fromkeys(_refine_ids(params.like) + _refine_ids(also[0]))),
                   unlike=tuple(dict.fromkeys(_refine_ids(params.unlike) + _refine_ids(also[1]))))
    if not (plan.like or plan.unlike) or not plan.query or plan.scope.empty:
        return RefineRead(searched=bool(plan.query) and not plan.scope.empty)
    photos, left_out = _refine_read(plan, response.search_models if ran else _search_models(plan), vectors=False,
                                    load=False)
    return RefineRead(True, photos, left_out)


def _refined(models: dict[int, str], plan: Plan, refine: dict[int, RefinePhoto], scale: float, model_name: str,
             vectors, terms: int) -> np.ndarray:
    """The query's term vectors moved by the refine's photos searched with `model_name` (`refine`: those the user may
    see, not in the trash, with their embedding of their family's search model, _refine_read), the excluded concepts'
    vectors after them unchanged. Families calibrated apart are searched with the same moved vectors (which photos
    moved them, the response's liked and unliked, is worked out once for every group: _moving)."""
    rows = {i: photo.vector for i, photo in refine.items()
            if photo.indexed and models.get(photo.family_id) == model_name}
    right_ids, wrong_ids = _moving(plan.like, plan.unlike, rows.keys())
    right = [np.asarray(rows[i], dtype=np.float32) for i in right_ids]
    wrong = [np.asarray(rows[i], dtype=np.float32) for i in wrong_ids]
    if not right and not wrong:
        return vectors
    vectors = np.array(vectors, dtype=np.float32)
    shift = np.zeros(vectors.shape[1], dtype=np.float32)
    image_scale = REFINE_LOGITS / scale if scale > 0 else 1.0  # λ
    if right:
        shift += image_scale * REFINE_BETA * np.mean(right, axis=0)
    if wrong:
        shift -= image_scale * REFINE_GAMMA * np.mean(wrong, axis=0)
    moved = REFINE_ALPHA * vectors[:terms] + shift
    norms = np.linalg.norm(moved, axis=1, keepdims=True)
    vectors[:terms] = np.where(norms > 0, moved / np.where(norms > 0, norms, 1), vectors[:terms])
    return vectors


def _score(response: SearchResponse, found: dict[int, SemanticMatch], meta: dict[int, MetaMatch],
           meta_calibration: Calibration = DEFAULT_CALIBRATION, query_words: int = 1) -> list[_Candidate]:
    """score = fuse(p_sem, p_meta) · (1 − p_excluded) · (1 − excluded metadata) (search.calibration.fuse)."""
    w_sem, w_meta = response.semantic_weight, response.metadata_weight
    candidates = []
    for photo_id in set(found) | set(meta):
        sem, match = found.get(photo_id), meta.get(photo_id) or MetaMatch()
        p_excluded = sem.excluded_probability if sem and sem.excluded_probability is not None else 0.0
        factor = (1.0 - p_excluded) * (1.0 - match.excluded)
        calibration = sem.family_calibration if sem else meta_calibration
        kinds = calibration.meta.kind_probabilities(match, query_words) if photo_id in meta else {}
        p_sem, p_meta = (sem.probability if sem else 0.0), noisy_or(kinds.values())
        # Smart search off: the metadata's probability is all that is known, and is the score.
        fused = p_meta if not response.semantic_available else fuse_one(p_sem, p_meta, w_sem, w_meta)
        score = fused * factor
        candidates.append(_Candidate(photo_id, score, sem, match, factor, p_sem, p_meta, kinds, calibration))
    return candidates


def _page(response: SearchResponse, plan: Plan, candidates: list[_Candidate]) -> list[SearchResult]:
    """The candidates above the minimum score (and, on request, the weaker ones with some evidence), sorted, and
    the page of them returned, with their photos: one statement reads every candidate's date and the page's rows."""
    shown = [c for c in candidates if c.score >= plan.min_score]
    weaker = [c for c in candidates if c.score < plan.min_score and _has_evidence(c)]
    response.hidden_count = len(weaker)
    rows = shown + weaker if plan.show_hidden else shown
    values = _photo_rows([c.photo_id for c in rows])
    rows = [c for c in rows if c.photo_id in values]  # deleted meanwhile
    response.more = len(rows) > plan.limit
    # The page is the best matches whatever the order shown: the candidates are the nearest photos and the best
    # metadata matches, not every photo that matches, so the newest of them need not be the newest matches.
    rows.sort(key=lambda c: (c.score, values[c.photo_id][-1], c.photo_id), reverse=True)
    rows = rows[: plan.limit]
    if plan.sort == "date":
        rows.sort(key=lambda c: (values[c.photo_id][-1], c.photo_id), reverse=True)
    return [SearchResult(photo=_photo(values[c.photo_id]), score=c.score, below_minimum=c.score < plan.min_score,
                         explanation=_explanation(response, c))
            for c in rows]


def _explanation(response: SearchResponse, c: _Candidate) -> Explanation:
    sem, meta = c.semantic, c.meta
    image = sem if sem and sem.seen else None  # (a filter's browse words: no image match to show)
    calibration = image.calibration if image else (None, None)
    return Explanation(
        model_name=image.model_name if image else None, cosine=image.cosine if image else None,
        probability=image.probability if image else None, term=image.term if image else None,
        calibration_scale=calibration[0], calibration_bias=calibration[1],
        meta_score=meta.score, meta_fts=meta.fts, meta_typo=meta.typo, meta_fields=meta.fields,
        meta_ranks=meta.ranks, semantic_weight=response.semantic_weight, metadata_weight=response.metadata_weight,
        probability_semantic=c.p_semantic, probability_metadata=c.p_metadata, meta_probabilities=c.meta_probabilities,
        calibration_fitted=c.calibration.id is not None,
        score=c.score, excluded_probability=sem.excluded_probability if sem else None,
        excluded_metadata=meta.excluded, excluded_fields=meta.excluded_fields, exclusion_factor=c.exclusion_factor,
    )


def explain_photo(*, user: AbstractBaseUser, params: SearchParams, photo_id: int,
                  load_model: bool) -> Explanation | None:
    """How the search `params` scores one photo, every component as a result's explain shows it, without walking
    any index: the same plan, expansion, scoring and fusion as `search_photos`, for that photo alone (what a
    judgment records). The caller has checked the user may see the photo; None when the query is empty. Without
    `load_model` (a verdict, which must not wait seconds for a load) a model this process has not loaded scores
    from what its load recorded and the query's cached vectors; with none cached, the photo has no image half and
    says so as with smart search off (model_name None)."""
    plan, response = _plan(user=user, params=params)
    if not plan.query or plan.scope.empty:
        return None
    response.terms = expand(plan.query, family_ids=list(plan.scope.family_ids), enabled=plan.expansion)
    meta_query = metadata_query(query=plan.query, family_ids=plan.scope.family_ids, excluded=plan.excluded)
    with transaction.atomic():
        semantic = _SemanticSearch(response, plan, load=load_model)
        found = semantic.score([photo_id])
        meta = metadata_pass(meta_query, scope=plan.scope, limit=0, also_ids=[photo_id])
    if not response.semantic_available:
        response.semantic_weight, response.metadata_weight = 0.0, 1.0
    meta.setdefault(photo_id, MetaMatch())  # scored even when neither half matched it
    candidate = next(c for c in _score(response, found, meta, semantic.meta_calibration, plan.words_of(meta_query))
                     if c.photo_id == photo_id)
    return _explanation(response, candidate)


def _has_evidence(c: _Candidate) -> bool:
    return max(c.p_semantic, c.p_metadata) >= NO_EVIDENCE


def _photo_rows(photo_ids: list[int]) -> dict[int, tuple]:
    """photo id → the values of RESULT_FIELDS, with when it was taken as fixed-width UTC text (which sorts as the
    dates do), last too for sorting; photos deleted meanwhile are left out. One plain statement for every
    candidate (hundreds): Photo objects and parsed datetimes cost more than the query, so only the returned page
    becomes Photos (`_photo`)."""
    columns = [f"to_char({name} AT TIME ZONE 'UTC', '{_UTC_TEXT}')" if name == "taken_at" else name
               for name in RESULT_FIELDS]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(columns)} FROM {Photo._meta.db_table} WHERE id = ANY(%s::bigint[]) "
                       "AND trashed_at IS NULL", [id_array(photo_ids)])  # trashed meanwhile: gone too
        return {values[0]: (*values, values[_TAKEN]) for values in cursor.fetchall()}


_UTC_TEXT = 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'


def _photo(values: tuple) -> Photo:
    values = list(values[:-1])
    values[_TAKEN] = datetime.fromisoformat(values[_TAKEN])
    return Photo.from_db("default", RESULT_FIELDS, values)


# What result pages and the API show of a photo (its name, date, family and the URLs made from its id).
# Loading only these keeps a page of 60 results cheap; reading another field would cost a query per photo.
# In the model's field order, which Model.from_db expects.
RESULT_FIELDS = tuple(f.attname for f in Photo._meta.concrete_fields
                      if f.attname in {"id", "family_id", "title", "original_filename", "taken_at", "taken_tz",
                                       "rotation"})
_TAKEN = RESULT_FIELDS.index("taken_at")



@dataclass
class JudgedComponents:
    """What a family's search sees of some photos for one query, before calibration: the raw cosine of each
    (best term) under the family's search model and that model's own (a, b), and their metadata matches."""

    model_name: str
    model_calibration: tuple[float, float] | None  # None: the model could not be loaded
    query_words: int  # the query's words as metadata matching counts them
    cosines: dict[int, float]
    meta: dict[int, MetaMatch]
    waiting: bool = False  # its terms' text embeddings are left to the worker (search.text_embeddings)
    excluded_cosines: dict[int, float] = field(default_factory=dict)  # best cosine of a concept the query excludes


def judged_components(*, family_id: int, model_name: str, judged: dict[str, list[int]],
                      budget: EncodeBudget | None = None, facts=None) -> dict[str, JudgedComponents]:
    """The uncalibrated evidence for judged results (search.quality fits and measures with it), for each query of
    `judged` and its judged photos: the same expansion, text embeddings, cosines and metadata matching a search of
    this family uses, for these photos only (no walk). With a `budget` (a web page), a query whose terms it cannot
    encode is left to the worker and comes back `waiting`, with no evidence. `model_name`: the family's search model
    (family_search_model). Each query is understood as the search page understands it (its places and dates taken
    out of its words, its exclusions lowering what shows them): what was judged is what that search gave. `facts`:
    the family's (search.understanding.family_facts), read once for many queries. One statement makes every query's
    metadata query, one reads every judged photo's vector, and one matches every query's metadata
    (search.metadata.metadata_passes)."""
    from search.understanding import understand_family_search

    try:
        embedder = get_embedder(model_name)
    except ModelUnavailable:
        embedder = None
    asked = {}  # query: (its words, its excluded concepts, its terms, their vectors)
    found = {}
    synonyms = synonyms_version(family_ids=[family_id]) if embedder is not None and judged else None
    for query in judged:
        understood = understand_family_search(
            family_id=family_id, params=SearchParams(query=query, family_id=family_id), facts=facts)
        text, excluded = understood.params.query, understood.params.excluded[:MAX_EXCLUDED]
        terms, vectors = [], None
        if embedder is not None:
            terms = [term.text for term in expand(text, family_ids=[family_id], synonyms_version=synonyms)]
            vectors = term_vectors_within(embedder, terms + list(excluded), budget)
            if vectors is None:
                found[query] = JudgedComponents(model_name, tuple(embedder.calibration), 0, {}, {}, waiting=True)
                continue
        asked[query] = (understood, text, excluded, terms, vectors)
    meta_queries = metadata_queries([(text, excluded) for _, text, excluded, _, _ in asked.values()],
                                    family_ids=[family_id])
    # Every judged photo's vector in one read (as the search's scoring statement reads them: the family's, not in the
    # trash), compared with each query's terms here.
    photo_vectors = {} if embedder is None else dict(
        PhotoEmbedding.objects.filter(model_name=model_name, family_id=family_id, trashed=False,
                                      photo_id__in={pid for query in asked for pid in judged[query]})
        .values_list("photo_id", "vector"))
    metas = metadata_passes(meta_queries, [judged[query] for query in asked], family_ids=[family_id])
    for (query, (understood, _, excluded, terms, vectors)), meta_query, meta in zip(asked.items(), meta_queries,
                                                                                  metas):
        photo_ids = judged[query]
        words = understood.params.query_words or query_word_count(meta_query.tsquery)
        if embedder is None:
            found[query] = JudgedComponents(model_name, None, words, {}, meta)
            continue
        read = [pid for pid in photo_ids if pid in photo_vectors]
        best, worst = photo_cosines([photo_vectors[pid] for pid in read], vectors[: len(terms)], vectors[len(terms):])
        # A filter's browse words are no image match in search (SearchParams.browse): no cosine, "no image match".
        cosines = {} if understood.params.browse else dict(zip(read, best.tolist()))
        found[query] = JudgedComponents(
            model_name, tuple(embedder.calibration), words, cosines, meta,
            excluded_cosines={} if worst is None else dict(zip(read, worst.tolist())))
    return found


def photo_cosines(photo_vectors, term_vectors, excluded_vectors=()) -> tuple[np.ndarray, np.ndarray | None]:
    """Each photo's best cosine with a query's terms, and with the concepts it excludes (None: it excludes none), as
    the search's scoring statement computes them (search.vector_index.semantic_hits; unit vectors: the dot product)."""
    if not len(photo_vectors) or not len(term_vectors):  # (a query of only what it excludes: no image match)
        return np.zeros(0, dtype=np.float32), None
    photos = np.asarray(np.stack([np.asarray(v, dtype=np.float32) for v in photo_vectors]))
    best = (photos @ np.asarray(term_vectors, dtype=np.float32).T).max(axis=1)
    if not len(excluded_vectors):
        return best, None
    return best, (photos @ np.asarray(excluded_vectors, dtype=np.float32).T).max(axis=1)


@dataclass
class SimilarResult:
    photo: Photo
    cosine: float  # image-to-image, uncalibrated: no (a, b) exists for it, so it is no probability
    model_name: str

    @property
    def similarity(self) -> float:
        """How alike the two pictures look, 0 to 1: the cosine, below 0 taken as 0 (pictures that look nothing alike
        have cosines around 0, a few below; what sign they have says nothing to a reader)."""
        return min(1.0, max(0.0, self.cosine))

    @property
    def similarity_percent(self) -> int:
        return round(100 * self.similarity)


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
        cosines = nearest_photos(model_name=model_name, dim=len(vector), vector=vector, scope=Scope(family_ids),
                                 limit=limit, exclude_id=photo.pk)
    rows = _photo_rows(list(cosines))
    results = [SimilarResult(_photo(rows[pid]), c, model_name) for pid, c in cosines.items() if pid in rows]
    results.sort(key=lambda r: r.cosine, reverse=True)
    return results, "" if results else "No other indexed photos to compare with yet."
