"""Compare search models on a family's own judgments: P@k, nDCG@10 and ECE of the active model and, during a model
switch (the previous model's embeddings are kept: search.models.ModelSwitch), of the previous one, on exactly the
same judged queries and photos. What `manage.py evaluate --family F [--compare]` prints.

What is scored is the part a model changes: the semantic probability p_sem = max over the query's expanded terms of
sigmoid(a · cos + b), with each model's calibration in force for the family (its own a, b, or the family's fit for
it), lowered as search lowers it by what the query excludes ("circle -red"): p_sem · (1 − p_excluded). Metadata matching is the same whichever model runs, so it is left out of the comparison. Judged photos that some
compared model has not embedded are left out for every model (and counted), so both are measured on the same rows.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from django.conf import settings
from django.db.models import Count, Q

from gallery.models import Family
from search.embedder import ModelUnavailable, get_embedder
from search.engine import MAX_EXCLUDED, SearchParams, photo_cosines
from search.evaluation import ece, ndcg_at_k, precision_at_k
from search.expansion import expand
from search.judgment_selectors import family_judgments
from search.models import PhotoEmbedding
from search.reports import Calibration, fitted_calibration
from search.text_embeddings import EncodeBudget, term_vectors_within
from search.understanding import understand_search

PRECISION_KS = (1, 5, 10)


@dataclass(frozen=True)
class ModelEvaluation:
    model_name: str
    role: str  # "active" or "previous"
    calibration: Calibration | None = None
    precision: dict[int, float] = field(default_factory=dict)  # k → mean P@k over queries
    ndcg_at_10: float = 0.0
    ece: float = 0.0
    # ECE under the model's own calibration: like for like when only one compared model has a fit (right after a
    # switch, only the previous one has been fitted from the family's judgments). The rank figures don't change.
    own_ece: float = 0.0
    error: str = ""  # why it could not be evaluated (the model can't be loaded)


@dataclass
class Comparison:
    family: Family
    queries: int = 0  # judged queries evaluated
    judgments: int = 0  # judgments evaluated
    left_out: int = 0  # judgments of photos some compared model has not embedded
    skipped_queries: list[str] = field(default_factory=list)  # only a place or date: nothing for a model to match
    waiting_queries: list[str] = field(default_factory=list)  # left out until the worker has encoded their words
    models: list[ModelEvaluation] = field(default_factory=list)

    @property
    def some_fitted(self) -> bool:
        """Whether a compared model is scored with the family's fit: then ECE is shown under each's own too."""
        return any(m.calibration is not None and m.calibration.source != "model" for m in self.models)


def previous_model(*, family_id: int) -> str | None:
    """The model, other than the active one, with the most embeddings of the family's photos (kept after a switch,
    or still serving during one); None when only the active model has any."""
    active = settings.SEARCH_MODEL
    # Either side of the active model's name: two range probes of the (family, model_name) index, which find nothing
    # but during a switch (`exclude` read every embedding of the family: 110 ms at 100,000 photos).
    row = (PhotoEmbedding.objects.filter(Q(model_name__lt=active) | Q(model_name__gt=active), family_id=family_id)
           .values("model_name").annotate(n=Count("id")).order_by("-n", "model_name").first())
    return row["model_name"] if row else None


def family_model_comparison(*, user, family_id: int, budget: EncodeBudget) -> Comparison:
    """The active model against the family's previous one (when one's embeddings are kept) on its judgments, for a
    member of the family (anyone else: 404). A page: words the models have not encoded yet are noted in its
    `budget` for the worker."""
    from gallery.selectors import family_get

    family = family_get(user=user, family_id=family_id)
    previous = previous_model(family_id=family.pk)
    return compare_models(family=family, model_names=[settings.SEARCH_MODEL] + ([previous] if previous else []),
                          budget=budget)


def compare_models(*, family: Family, model_names: list[str], budget: EncodeBudget | None = None) -> Comparison:
    """Each model's figures over the family's judged queries (the first model is reported as the active one). With
    a `budget` (a web page), queries whose words some model has not encoded yet are left out for every model, and
    their words noted in the budget for the worker (search.text_embeddings.EncodeBudget)."""
    comparison = Comparison(family=family)
    # (as the quality figures: a photo in the trash is no result of any search, its judgments wait for its restore)
    rows = list(family_judgments(family_id=family.pk).filter(photo__trashed_at__isnull=True)
                .values_list("query", "photo_id", "relevant", "user_id").order_by("query", "photo_id", "pk"))
    if not rows:
        comparison.models = [ModelEvaluation(name, _role(n)) for n, name in enumerate(model_names)]
        return comparison
    terms = _query_terms(family, rows, comparison)
    models = {name: _term_matrices(name, terms, budget) for name in model_names}
    comparison.waiting_queries = [query for query in terms
                                  if any(query not in model.matrices for model in models.values() if not model.error)]
    terms = {q: texts for q, texts in terms.items() if q not in comparison.waiting_queries}
    vectors = {name: dict(PhotoEmbedding.objects.filter(family=family, model_name=name,
                                                        photo_id__in={photo for _, photo, _, _ in rows})
                          .values_list("photo_id", "vector")) for name in model_names}
    usable = [r for r in rows if r[0] in terms and all(r[1] in vectors[name] for name in model_names)]
    comparison.left_out = sum(1 for r in rows if r[0] in terms) - len(usable)
    comparison.queries = len({r[0] for r in usable})
    comparison.judgments = len(usable)
    comparison.models = [_evaluate(name, _role(n), family, models[name], vectors[name], usable)
                         for n, name in enumerate(model_names)]
    return comparison


def _role(index: int) -> str:
    return "active" if index == 0 else "previous"


class _Query(NamedTuple):
    terms: list[str]  # the words left for the model, expanded
    excluded: tuple[str, ...]  # the concepts it excludes ("circle -red")


def _query_terms(family: Family, rows: list[tuple], comparison: Comparison) -> dict[str, _Query]:
    """Each judged query's expanded terms and excluded concepts, understood as its first judge's search understood
    it (its places and dates are filters, not words for the model)."""
    from django.contrib.auth import get_user_model

    first_judge: dict[str, int] = {}
    for query, _, _, user_id in rows:
        first_judge.setdefault(query, user_id)
    users = get_user_model().objects.in_bulk(set(first_judge.values()))
    out = {}
    for query, user_id in first_judge.items():
        text, excluded = query, ()
        if user_id in users:
            params = understand_search(user=users[user_id], params=SearchParams(query=query, family_id=family.pk)).params
            text, excluded = params.query, params.excluded[:MAX_EXCLUDED]
        found = [term.text for term in expand(text, family_ids=[family.pk])] if text else []
        if found:
            out[query] = _Query(found, tuple(excluded))
        else:
            comparison.skipped_queries.append(query)
    return out


class _ModelTerms(NamedTuple):
    calibration: tuple[float, float] | None  # the model's own (a, b); None when it could not be loaded
    # query → its terms' vectors and its excluded concepts' (for the queries the model has or may encode now)
    matrices: dict[str, tuple[np.ndarray, np.ndarray]]
    error: str = ""  # why the model could not be loaded


def _term_matrices(model_name: str, terms: dict[str, _Query], budget: EncodeBudget | None) -> _ModelTerms:
    try:
        embedder = get_embedder(model_name)
    except ModelUnavailable as exc:
        return _ModelTerms(None, {}, str(exc))
    matrices = {}
    for query, asked in terms.items():
        matrix = term_vectors_within(embedder, asked.terms + list(asked.excluded), budget)
        if matrix is not None:
            matrix = np.asarray(matrix, dtype=np.float32)
            matrices[query] = (matrix[: len(asked.terms)], matrix[len(asked.terms):])
    return _ModelTerms(tuple(embedder.calibration), matrices)


def _evaluate(model_name: str, role: str, family: Family, model: _ModelTerms, vectors: dict,
              rows: list[tuple]) -> ModelEvaluation:
    if model.error:
        return ModelEvaluation(model_name, role, error=model.error)
    matrices = model.matrices
    a, b = model.calibration
    calibration = fitted_calibration(family_id=family.pk, model_name=model_name) or Calibration(a, b, "model")
    own = Calibration(a, b, "model")
    by_query: dict[str, list[tuple[float, bool]]] = defaultdict(list)
    probabilities, own_probabilities, labels = [], [], []
    for query, (term_matrix, excluded_matrix) in matrices.items():
        judged = [(photo, relevant) for q, photo, relevant, _ in rows if q == query]
        if not judged:
            continue
        best, worst = photo_cosines([vectors[photo] for photo, _ in judged], term_matrix, excluded_matrix)
        p, p_own = (_probability(c, best, worst) for c in (calibration, own))
        by_query[query] = [(float(score), relevant) for score, (_, relevant) in zip(p, judged)]
        probabilities += list(p)
        own_probabilities += list(p_own)
        labels += [relevant for _, relevant in judged]
    if not by_query:
        return ModelEvaluation(model_name, role, calibration)
    precision = {k: float(np.mean([precision_at_k([s for s, _ in r], [y for _, y in r], k) for r in by_query.values()]))
                 for k in PRECISION_KS}
    ndcg = float(np.mean([ndcg_at_k([s for s, _ in r], [y for _, y in r], 10) for r in by_query.values()]))
    return ModelEvaluation(model_name, role, calibration, precision, ndcg, ece(probabilities, labels),
                           ece(own_probabilities, labels))


def _probability(calibration: Calibration, best: np.ndarray, worst: np.ndarray | None) -> np.ndarray:
    """p_sem of each photo under `calibration`, lowered as search lowers it: by the probability that the photo
    shows an excluded concept."""
    p = calibration.probability(best)
    return p if worst is None else p * (1.0 - calibration.probability(worst))


def comparison_lines(comparison: Comparison) -> list[str]:
    lines = [f"{comparison.family.name}: {comparison.queries} judged quer{'y' if comparison.queries == 1 else 'ies'}, "
             f"{comparison.judgments} judgment(s)"
             + (f"; {comparison.left_out} left out (photos a compared model has not embedded)" if comparison.left_out else "")]
    if comparison.skipped_queries:
        lines.append(f"left out (only places or dates): {', '.join(comparison.skipped_queries)}")
    if not comparison.judgments:
        return lines + ["No judgments to evaluate yet: mark search results right or wrong first."]
    fitted = comparison.some_fitted
    header = "".join(f"{'P@' + str(k):>7}" for k in PRECISION_KS) + f"{'nDCG@10':>9}{'ECE':>8}" + (
        f"{'ECE own':>9}" if fitted else "")
    lines += ["", f"{'':10}{header}   model (calibration)"]
    for m in comparison.models:
        if m.error:
            lines.append(f"{m.role:10}{'could not be loaded: ' + m.error}")
            continue
        c = m.calibration
        figures = "".join(f"{m.precision.get(k, 0.0):7.3f}" for k in PRECISION_KS) + f"{m.ndcg_at_10:9.3f}{m.ece:8.3f}"
        figures += f"{m.own_ece:9.3f}" if fitted else ""
        lines.append(f"{m.role:10}{figures}   {m.model_name} ({c.source}: a = {c.scale:.2f}, b = {c.bias:.2f})")
    return lines + ["", "Scores: the semantic probability of each judged photo for its query (the part a model "
                        "changes; metadata matching is the same for every model). ECE: mean gap between predicted "
                        "probability and observed share of right results, in ten bins, under the calibration in force"
                        + ("; ECE own: under each model's own calibration, like for like when only some models have "
                           "a fit from the family's judgments." if fitted else ".")]
