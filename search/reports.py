"""The two diagnostic reports, the seeds' debug scripts done right: what a search does with a query over one
family (`search_report`) and what the model sees in one photo (`photo_report`).

Selectors: they take the requesting user and show only what that user may see (another family's photo or family
is the same 404 as a missing one). `manage.py search_report` / `photo_report` print exactly what they return
(`search_report_lines`, `photo_report_lines`); the report pages render the same values.

Calibration: every probability here is sigmoid(a · cos + b) with the family's calibration in force, which is the
model's own (a = exp(logit_scale), b = logit_bias) until a fit from the family's judgments is applied; when one is,
the reports show both, and how many photos each puts above one half.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field, replace

import numpy as np
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q
from django.http import Http404
from django.utils.text import get_text_list
from pgvector.django import CosineDistance

from gallery.date_words import MONTHS
from gallery.models import Family, Photo
from gallery.selectors import family_get, family_list, photo_get
from search.calibration import KIND_LABELS, active_calibrations
from search.embedder import Embedder, ModelUnavailable, get_embedder
from search.engine import MAX_QUERY_CHARS, SearchParams, SearchResponse, search_photos, sigmoid
from search.metadata import FIELDS
from search.models import PhotoDocument, PhotoEmbedding, Synonym
from search.quality import judged_data, scores, scoring_now
from search.query_notes import DateWordNote, notes_merged
from search.selectors import family_search_model
from search.suggestions import name_groups, vocabularies
from search.templatetags.search_tags import possessive
from search.text_embeddings import EncodeBudget, term_vectors, term_vectors_within
from search.understanding import understand_search
from vision.concepts import likeliest_of_each_group

COSINE_BINS = 12
PROBABILITY_BINS = 10
TOP_RESULTS = 10
PROFILE_SIZE = 25  # concepts listed at each end of a photo's profile
JUDGED_QUERIES = 10


# --- values the reports are made of ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Calibration:
    scale: float  # a
    bias: float  # b
    source: str  # "model" (the checkpoint's own) or "fitted" (from the family's judgments)

    def probability(self, cosines) -> np.ndarray:
        return sigmoid(self.scale * np.asarray(cosines, dtype=np.float64) + self.bias)


@dataclass(frozen=True)
class Bar:
    low: float
    high: float
    count: int
    percent: float  # of the tallest bar, for drawing


@dataclass(frozen=True)
class Histogram:
    bars: list[Bar]
    total: int

    @classmethod
    def of(cls, values, low: float, high: float, bins: int) -> Histogram:
        values = np.asarray(values, dtype=np.float64)
        if high <= low:
            high = low + 1e-3
        counts, edges = np.histogram(np.clip(values, low, high), bins=bins, range=(low, high))
        tallest = max(int(counts.max()) if len(counts) else 0, 1)
        return cls([Bar(float(edges[i]), float(edges[i + 1]), int(c), 100.0 * int(c) / tallest)
                    for i, c in enumerate(counts)], int(len(values)))


@dataclass(frozen=True)
class TermDistribution:
    """One expanded term against every indexed photo of the family."""

    term: str
    original: bool  # the query as typed (not a synonym's rewrite)
    cosine_min: float
    cosine_median: float
    cosine_max: float
    cosines: Histogram
    probabilities: Histogram  # under the calibration in force
    above_half: int  # photos with p ≥ 0.5
    model_above_half: int  # the same under the model's own calibration (differs once a fit is applied)


@dataclass
class SearchReport:
    query: str
    family: Family
    model_name: str | None
    indexed: int  # photos of the family with an embedding of the search model
    model_calibration: Calibration | None
    fitted_calibration: Calibration | None  # the family's applied fit, if any
    terms: list[TermDistribution] = field(default_factory=list)
    interpreted: dict = field(default_factory=dict)
    # why a holiday or season it searches as a word finds no photo by its date (the search page's notes), a family's
    # no_dated_photos as one (notes_merged)
    date_word_notes: tuple[DateWordNote, ...] = ()
    response: SearchResponse | None = None
    message: str = ""  # why the semantic part is missing, when it is
    # A search of all the user's families (all_families): those it looked in, by name; `family` is the one whose
    # figures (model, calibration, distributions) are shown, and `lead` the one whose photos lead the results.
    searched_families: dict[int, str] = field(default_factory=dict)  # id → name, by name
    lead: int | None = None  # None: no result
    truncated: bool = False  # the query was longer than the search reads: its first MAX_QUERY_CHARS are scored

    @property
    def calibration(self) -> Calibration | None:
        return self.fitted_calibration or self.model_calibration

    @property
    def leads(self) -> bool:
        """Whether the photos of the family whose figures are shown lead the results."""
        return self.lead == self.family.pk

    @property
    def understood(self) -> list[str]:
        """What the box understood, in words: places, dates, exclusions, and the text left to look for, if any."""
        i = self.interpreted or {}
        parts = [f"in {', '.join(i['places'])}"] if i.get("places") else []
        if i.get("not_places"):
            parts.append(f"not in {', '.join(i['not_places'])}")
        for span in i.get("not_dates") or ():
            parts.append(f"not taken {span['taken_after'] or '…'} to {span['taken_before'] or '…'}")
        if i.get("periods"):  # several dates searched as either of them
            parts.append("taken " + " or ".join(f"{span['taken_after']} to {span['taken_before']}"
                                                for span in i["periods"]))
        elif i.get("taken_after") or i.get("taken_before"):
            parts.append(f"taken {i.get('taken_after') or '…'} to {i.get('taken_before') or '…'}")
        if i.get("days_of_year"):
            parts.append(f"taken on {_days_of_year(i['days_of_year'])} of any year")
        if i.get("not_days_of_year"):
            parts.append(f"not taken on {_days_of_year(i['not_days_of_year'])} of any year")
        other = i.get("other_hemisphere") or {}
        if other.get("taken_after") or other.get("taken_before"):  # a season's days across the equator
            parts.append(f"across the equator taken {other.get('taken_after') or '…'} to "
                         f"{other.get('taken_before') or '…'}")
        if i.get("excluded"):
            parts.append(f"without {', '.join(i['excluded'])}")
        # (a date no photo can have, left as words: why, in the page's and the API's words)
        notes = [note.removesuffix(".") for note in i.get("date_notes") or ()]
        return parts + ([f"looking for “{i['text']}”"] if i.get("text") else []) + notes

    @property
    def result_rows(self) -> list[tuple]:
        """Each top result with its score components as (name, value) text."""
        return [(result, explanation_items(result.explanation)) for result in (self.response.results if self.response else [])]


@dataclass(frozen=True)
class ConceptScore:
    name: str
    source: str  # "tag vocabulary" or "synonym table"
    cosine: float
    probability: float  # under the calibration in force
    model_probability: float  # under the model's own


@dataclass(frozen=True)
class FieldWords:
    label: str
    words: list[str]  # the field's lexemes as the metadata search matches them


@dataclass(frozen=True)
class JudgedQuery:
    query: str
    relevant: bool
    # The final score the reader's search gives the photo for the query now (None: not scored yet, its words or the
    # photo wait for the model), whichever model the verdict was given with: the judgment's own stored score is that
    # model's.
    score: float | None
    judges: int  # members who gave this verdict for this query


@dataclass(frozen=True)
class JudgedScoring:
    """What the judged queries were scored with: the family's search model, the reader's weights (semantic,
    metadata) and the calibration in force."""
    model_name: str
    weights: tuple[float, float]
    reader: str  # whose weights (the command reads as a member)
    waiting_queries: int = 0  # not scored yet: the model has still to read their words (a page's budget)


@dataclass
class PhotoReport:
    photo: Photo
    model_name: str | None
    model_calibration: Calibration | None
    fitted_calibration: Calibration | None
    concepts: list[ConceptScore] = field(default_factory=list)  # most probable first
    fields: list[FieldWords] = field(default_factory=list)
    best_queries: list[JudgedQuery] = field(default_factory=list)  # judged right, highest score first
    worst_queries: list[JudgedQuery] = field(default_factory=list)  # judged wrong, highest score first
    judged_with: JudgedScoring | None = None
    message: str = ""

    @property
    def calibration(self) -> Calibration | None:
        return self.fitted_calibration or self.model_calibration

    @property
    def top_concepts(self) -> list[ConceptScore]:
        return self.concepts[:PROFILE_SIZE]

    @property
    def bottom_concepts(self) -> list[ConceptScore]:
        return self.concepts[max(PROFILE_SIZE, len(self.concepts) - PROFILE_SIZE // 5):]


# --- selectors -----------------------------------------------------------------------------------------------------


def report_family(*, user: AbstractBaseUser, family_id: int | None) -> Family:
    """The family a report is about: the given one if the user is a member (else 404), or the user's first."""
    if family_id is not None:
        return family_get(user=user, family_id=family_id)
    families = list(family_list(user=user)[:2])
    if not families:
        raise Http404("You are not in any family.")
    return families[0]


def search_report(*, user: AbstractBaseUser, query: str, family_id: int | None = None,
                  removed: frozenset[str] = frozenset(), like: tuple[int, ...] = (),
                  unlike: tuple[int, ...] = (), filters: SearchParams | None = None,
                  all_families: bool = False) -> SearchReport:
    """What the search does with `query` in one of the user's families: the terms it expands to, each term's
    cosine and probability over every indexed photo of the family, and the top results with every component.
    `removed`: the chips the search page took back as words (its `plain`), understood as that page did; `like`,
    `unlike`: a refined search's photos (the top results are the refined search's; the terms' distributions are of
    the words alone); `filters`: the search page's filters (uploader, tag, place, dates, favourites), which narrow
    the top results as they narrowed the page's (the distributions are of the whole family); `all_families`: the
    search of all the user's families (a search page's without a family filter: its synonyms, refine and top results
    are those of all of them), the family's being its model, calibration and distributions (with no `family_id`, the
    family whose photos lead its results, as the search page's link to its report names it)."""
    family = report_family(user=user, family_id=family_id) if family_id is not None or not all_families else None
    params = replace(filters or SearchParams(), query=query, family_id=None if all_families else family.pk,
                     limit=TOP_RESULTS, min_score=0.0, like=like, unlike=unlike, sort=None, show_hidden=False)
    understood = understand_search(user=user, params=params, removed=removed, notes=True)
    response = search_photos(user=user, params=understood.params)
    lead = response.results[0].photo.family_id if response.results else None
    family = family or report_family(user=user, family_id=lead)
    # The query as typed (its words left to search may be none: "-dog", "not in 2023"; "Understood" says which).
    report = SearchReport(query=" ".join(query.split())[:MAX_QUERY_CHARS], family=family, model_name=None, indexed=0,
                          model_calibration=None, fitted_calibration=None, interpreted=understood.interpreted(), response=response,
                          message=response.semantic_message, lead=lead,
                          date_word_notes=notes_merged(understood.date_word_notes),
                          truncated=understood.truncated or response.query_truncated)
    if all_families:
        report.searched_families = {f.pk: f.name for f in family_list(user=user) if f.pk in response.family_ids}
    model_name = family_search_model(family_id=family.pk)
    try:
        embedder = get_embedder(model_name)
    except ModelUnavailable as exc:
        report.message = str(exc)
        return report
    report.model_name = model_name
    report.model_calibration, report.fitted_calibration = _calibrations(embedder, family.pk)
    # Counted on its own: a query of only exclusions, places or dates has no term to measure, yet photos to score.
    report.indexed = _family_embeddings(family.pk, model_name).count()
    texts = [term.text for term in response.terms]
    if texts:
        vectors, _ = term_vectors(embedder, texts)
        for term, vector in zip(response.terms, vectors):
            report.terms.append(_distribution(term.text, term.is_original, _family_cosines(family.pk, model_name, vector),
                                              report))
    return report


def photo_report(*, user: AbstractBaseUser, photo_id: int, budget: EncodeBudget | None = None) -> PhotoReport:
    """One photo's semantic profile: the tag vocabulary's concepts and the synonym table's terms ranked by the
    calibrated probability that the photo shows them, its metadata fields as search matches them, and the queries
    the family's members judged it right and wrong for. With a `budget` (a web page), concepts the model has not
    encoded yet are noted in it for the worker, and the profile says so."""
    photo = photo_get(user=user, photo_id=photo_id)
    report = PhotoReport(photo=photo, model_name=None, model_calibration=None, fitted_calibration=None,
                         fields=_fields(photo), **_judged_queries(photo, user, budget))
    model_name = family_search_model(family_id=photo.family_id)
    row = PhotoEmbedding.objects.filter(photo=photo, model_name=model_name).values_list("vector", flat=True).first()
    if row is None:
        report.message = "This photo is not indexed yet: its profile appears once it is."
        return report
    try:
        embedder = get_embedder(model_name)
    except ModelUnavailable as exc:
        report.message = str(exc)
        return report
    report.model_name = model_name
    report.model_calibration, report.fitted_calibration = _calibrations(embedder, photo.family_id)
    report.concepts = _profile(embedder, photo.family_id, np.asarray(row, dtype=np.float32), report, budget)
    return report


# --- steps ---------------------------------------------------------------------------------------------------------


def _calibrations(embedder: Embedder, family_id: int) -> tuple[Calibration, Calibration | None]:
    a, b = embedder.calibration
    return Calibration(a, b, "model"), fitted_calibration(family_id=family_id, model_name=embedder.model_name)


def fitted_calibration(*, family_id: int, model_name: str) -> Calibration | None:
    """The family's applied semantic calibration for the model, fitted from its judgments; None while the model's
    own is in force."""
    fitted = active_calibrations([(family_id, model_name)]).get((family_id, model_name))
    semantic = getattr(fitted, "semantic", None)
    return Calibration(semantic[0], semantic[1], "fitted") if semantic else None


def _family_embeddings(family_id: int, model_name: str):
    """The embeddings of the family's photos the search can return: those in the trash keep theirs (a restore needs
    no new one) but are no longer searched, so the report neither counts nor measures them."""
    return PhotoEmbedding.objects.filter(family_id=family_id, model_name=model_name, photo__trashed_at__isnull=True)


def _family_cosines(family_id: int, model_name: str, vector: np.ndarray) -> np.ndarray:
    """The term's cosine with every photo of the family that the model has embedded (one exact scan: a report
    reads the whole family on purpose)."""
    distances = (_family_embeddings(family_id, model_name)
                 .annotate(distance=CosineDistance("vector", [float(x) for x in vector]))
                 .values_list("distance", flat=True))
    return 1.0 - np.asarray(list(distances), dtype=np.float64)


def _distribution(text: str, original: bool, cosines: np.ndarray, report: SearchReport) -> TermDistribution:
    probabilities = report.calibration.probability(cosines)
    empty = not len(cosines)
    low, high = (0.0, 0.0) if empty else (float(cosines.min()), float(cosines.max()))
    return TermDistribution(
        term=text, original=original, cosine_min=low, cosine_median=0.0 if empty else float(np.median(cosines)),
        cosine_max=high, cosines=Histogram.of(cosines, low, high, COSINE_BINS),
        probabilities=Histogram.of(probabilities, 0.0, 1.0, PROBABILITY_BINS),
        above_half=int((probabilities >= 0.5).sum()),
        model_above_half=int((report.model_calibration.probability(cosines) >= 0.5).sum()),
    )


def _profile(embedder: Embedder, family_id: int, vector: np.ndarray, report: PhotoReport,
             budget: EncodeBudget | None) -> list[ConceptScore]:
    """Each name of the family's tag vocabulary and of the synonym table scored once: of concepts suggesting one
    name, the likelier, as the photo's suggestion takes it (search.suggestions._score); a synonym only where no
    concept has its name."""
    terms = Synonym.objects.filter(Q(family=None) | Q(family_id=family_id)).order_by("term")
    named = [(concept.name, concept.text, "tag vocabulary") for concept in vocabularies([family_id])[family_id]]
    named += [(term, term, "synonym table") for term in terms.values_list("term", flat=True)]
    if not named:
        return []
    groups = name_groups([name for name, _, _ in named])
    of_the_vocabulary = {group for group, (_, _, source) in zip(groups, named) if source == "tag vocabulary"}
    kept = [j for j, group in enumerate(groups) if named[j][2] == "tag vocabulary" or group not in of_the_vocabulary]
    named, groups = [named[j] for j in kept], np.unique(groups[kept], return_inverse=True)[1]  # (numbered anew)
    vectors = term_vectors_within(embedder, [text for _, text, _ in named], budget)
    if vectors is None:
        report.message = ("The search model is still reading the words of the tag vocabulary and the synonym table "
                          "(in the background, after a model switch or a change to them; re-indexing photos comes "
                          "first): this profile appears once it is done. Reload the page later.")
        return []
    cosines = vectors @ vector
    probabilities = report.calibration.probability(cosines)
    model_probabilities = report.model_calibration.probability(cosines)
    _, winners = likeliest_of_each_group(probabilities[None, :], groups)
    scores = [ConceptScore(named[j][0], named[j][2], float(cosines[j]), float(probabilities[j]),
                           float(model_probabilities[j])) for j in winners[0]]
    return sorted(scores, key=lambda s: (-s.probability, -s.cosine, s.name))


def _fields(photo: Photo) -> list[FieldWords]:
    document = PhotoDocument.objects.filter(photo=photo).values_list("fields", flat=True).first() or []
    out = []
    for spec, vector in zip(FIELDS, document):
        words = _lexemes(vector)
        if words:
            out.append(FieldWords(spec.label, words))
    return out


def _lexemes(tsvector: str | None) -> list[str]:
    """"'red':1 'squar':2A" → ["red", "squar"] (the stemmed words the full-text search matches).

    PostgreSQL writes each lexeme in single quotes, a quote inside it doubled and a backslash escaped,
    followed by its positions (":1,2A") when it has any."""
    if not tsvector:
        return []
    return [word.replace("''", "'").replace("\\\\", "\\")
            for word in _TSVECTOR_LEXEME.findall(str(tsvector)) if word]


_TSVECTOR_LEXEME = re.compile(r"'((?:[^'\\]|''|\\.)*)'(?::[0-9A-D,]+)?")


def _judged_queries(photo: Photo, user: AbstractBaseUser, budget: EncodeBudget | None) -> dict:
    """The queries the family's members judged the photo right and wrong for, each scored as the user's search scores
    the photo for it now, the way the quality figures and the fit score every judgment (search.quality.judged_data:
    the family's search model whichever model a row was judged with, one read of the photo's judgments and of its
    vector and one metadata pass for them all; the calibration in force, the user's weights), highest first."""
    data = judged_data(family_id=photo.family_id, budget=budget, photo_id=photo.pk)
    calibration, weights = scoring_now(user=user, family_id=photo.family_id, model_name=data.model_name)
    now = dict(zip(data.queries, scores(data, calibration, weights).tolist())) if len(data) else {}
    verdicts = Counter(data.verdicts)  # (the rows judged_data read: not read again)
    judged = [JudgedQuery(query, relevant, now.get(query), judges) for (query, relevant), judges in verdicts.items()]
    judged.sort(key=lambda j: (-(j.score if j.score is not None else -1.0), j.query))
    return {"best_queries": [j for j in judged if j.relevant][:JUDGED_QUERIES],
            "worst_queries": [j for j in judged if not j.relevant][:JUDGED_QUERIES],
            "judged_with": JudgedScoring(data.model_name, weights, user.get_username(), len(data.waiting_queries))}


# --- as text (the commands) ----------------------------------------------------------------------------------------


def histogram_lines(histogram: Histogram, *, width: int = 40, digits: int = 3) -> list[str]:
    """A terminal histogram: one row per bin, `low–high  ████  count`."""
    tallest = max((bar.count for bar in histogram.bars), default=0) or 1
    return [f"  {bar.low:+.{digits}f} – {bar.high:+.{digits}f}  {'█' * round(width * bar.count / tallest):<{width}}  "
            f"{bar.count}" for bar in histogram.bars]


def _calibration_line(report: SearchReport | PhotoReport) -> str:
    model, fitted = report.model_calibration, report.fitted_calibration
    line = f"calibration: model a = {model.scale:.2f}, b = {model.bias:.2f}"
    if fitted is None:
        return line + "; no fit from the family's judgments is in force (the model's own calibration is)"
    return line + f"; fitted from the family's judgments a' = {fitted.scale:.2f}, b' = {fitted.bias:.2f} (in force)"


def search_report_lines(report: SearchReport, *, reader: str = "your") -> list[str]:
    """The report as text; `reader`: whose families a search of all of them names ("alice's": the command's)."""
    if len(report.searched_families) > 1:  # (the top results below are the search's own, from every family)
        names = get_text_list(sorted(report.searched_families.values()), "and")
        lines = [f"Search report for “{report.query}” in all {reader} families: {names}",
                 f"model, calibration and term distributions: those of {report.family.name}"
                 + (", whose photos lead the results" if report.leads else "")]
    else:
        lines = [f"Search report for “{report.query}” in {report.family.name}"]
    if report.truncated:
        lines.append(f"the query was longer than the search reads: its first {MAX_QUERY_CHARS} characters are scored")
    if report.interpreted:
        places, excluded = report.interpreted.get("places"), report.interpreted.get("excluded")
        after, before = report.interpreted.get("taken_after"), report.interpreted.get("taken_before")
        if places:
            lines.append(f"places: {', '.join(places)}")
        if report.interpreted.get("not_places"):
            lines.append(f"not in: {', '.join(report.interpreted['not_places'])}")
        for span in report.interpreted.get("not_dates") or ():
            lines.append(f"not taken: {span['taken_after'] or '…'} to {span['taken_before'] or '…'}")
        if report.interpreted.get("periods"):
            lines.append("taken: " + " or ".join(f"{span['taken_after']} to {span['taken_before']}"
                                                  for span in report.interpreted["periods"]))
        elif after or before:
            lines.append(f"taken: {after or '…'} to {before or '…'}")
        if report.interpreted.get("days_of_year"):
            lines.append(f"taken on, any year: {_days_of_year(report.interpreted['days_of_year'])}")
        if report.interpreted.get("not_days_of_year"):
            lines.append(f"not taken on, any year: {_days_of_year(report.interpreted['not_days_of_year'])}")
        other = report.interpreted.get("other_hemisphere") or {}
        if other.get("taken_after") or other.get("taken_before"):
            lines.append(f"taken across the equator: {other.get('taken_after') or '…'} to "
                         f"{other.get('taken_before') or '…'}")
        if excluded:
            lines.append(f"excluded: {', '.join(excluded)}")
        lines += [f"date: {note}" for note in report.interpreted.get("date_notes") or ()]
    lines += [f"date word: {note.text}" for note in report.date_word_notes]
    if report.model_name is None:
        return lines + [f"semantic search is off: {report.message}", ""] + _results_lines(report)
    lines += [f"model: {report.model_name}; {report.indexed} indexed photo(s)", _calibration_line(report), ""]
    lines.append(f"expanded terms ({len(report.terms)}):" if report.terms
                 else "expanded terms (0): none, the query has no words to look for")
    for t in report.terms:
        lines.append(f"  {'*' if t.original else '-'} {t.term}")
    if not report.indexed:
        return lines + ["", f"no photo of {report.family.name} is indexed yet: there is nothing to score."]
    for t in report.terms:
        lines += ["", f"term “{t.term}”: cosine min {t.cosine_min:+.4f}, median {t.cosine_median:+.4f}, "
                      f"max {t.cosine_max:+.4f}; {t.above_half} photo(s) with p ≥ 0.5"
                      + ("" if report.fitted_calibration is None else f" ({t.model_above_half} under the model's own)"),
                  "cosine:"]
        lines += histogram_lines(t.cosines, digits=3)
        lines.append("probability:")
        lines += histogram_lines(t.probabilities, digits=2)
    return lines + [""] + _results_lines(report)


def _days_of_year(days: list[dict]) -> str:
    """[{"month": 6, "day": 3}, …] (the API's `interpreted`) → "3 June or 24 December"."""
    return " or ".join(f"{d['day']} {MONTHS[d['month'] - 1].title()}" for d in days)


def _results_lines(report: SearchReport) -> list[str]:
    results = report.response.results if report.response else []
    lines = [f"top {len(results)} result(s):"]
    names = report.searched_families if len(report.searched_families) > 1 else {}
    for n, result in enumerate(results, start=1):
        family = f" ({names[result.photo.family_id]})" if result.photo.family_id in names else ""
        lines.append(f"{n:3}. photo {result.photo.pk} “{result.photo}”{family}  score {result.score:.4f}")
        for name, value in explanation_items(result.explanation):
            lines.append(f"       {name}: {value}")
    return lines


def explanation_items(explanation) -> list[tuple[str, str]]:
    """Every component of a result's score, as (name, value) text, whatever the engine's explanation carries."""
    items = []
    for name, value in explanation.as_dict().items():
        if isinstance(value, float):
            text = f"{value:.4f}"
        elif isinstance(value, dict):  # by kind of metadata match: named as explain names them
            text = ", ".join(f"{KIND_LABELS.get(k, k)} " + (f"{v:.4f}" if isinstance(v, float) else str(v))
                             for k, v in value.items()) or "—"
        elif isinstance(value, (list, tuple)):
            text = ", ".join(map(str, value)) or "—"
        else:
            text = "—" if value is None else str(value)
        items.append((name.replace("_", " "), text))
    return items


def photo_report_lines(report: PhotoReport) -> list[str]:
    photo = report.photo
    lines = [f"Photo report for photo {photo.pk} “{photo}” ({photo.family.name})"]
    if report.model_name is None:
        lines.append(f"no semantic profile: {report.message}")
    else:
        lines += [f"model: {report.model_name}", _calibration_line(report), "",
                  f"semantic profile ({len(report.concepts)} concepts of the tag vocabulary and the synonym table, "
                  "most probable first):"]
        lines += [_concept_line(c, report) for c in report.top_concepts]
        if report.bottom_concepts:
            lines += ["  …", "least probable:"] + [_concept_line(c, report) for c in report.bottom_concepts]
    lines += ["", "metadata fields (the words search matches):"]
    lines += [f"  {f.label}: {' '.join(f.words)}" for f in report.fields] or ["  (none)"]
    scoring = report.judged_with
    lines += ["", "judged queries, scored now as the family's search scores this photo for them (with "
                  f"{scoring.model_name}, the calibration in force and {possessive(scoring.reader)} weights, semantic "
                  f"{scoring.weights[0]:.2f}, metadata {scoring.weights[1]:.2f}), as the search quality figures score "
                  "them, whichever model each was judged with:"]
    if scoring.waiting_queries:
        lines.append(f"  ({scoring.waiting_queries} not scored yet: the model is still reading their words)")
    for title, judged in (("judged right for", report.best_queries), ("judged wrong for", report.worst_queries)):
        lines += ["", f"{title}:"]
        lines += [f"  “{j.query}”  score now {'—' if j.score is None else f'{j.score:.4f}'}"
                  f"{f'  ({j.judges} members)' if j.judges > 1 else ''}" for j in judged] or ["  (no judgments)"]
    return lines


def _concept_line(c: ConceptScore, report: PhotoReport) -> str:
    bar = "█" * round(20 * c.probability)
    fitted = "" if report.fitted_calibration is None else f"  (model's own {c.model_probability:.3f})"
    return f"  {c.probability:6.3f} {bar:<20} {c.name}  [{c.source}, cos {c.cosine:+.4f}]{fitted}"
