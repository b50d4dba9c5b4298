"""Search quality, measured and tuned from a family's own judgments (issue "relevance you can measure").

Data: every judgment of the family (any member's), each judged (query, photo) re-scored now through exactly the
search's path without its walk (search.engine.judged_components): the raw cosine under the family's model and
the metadata match. From these:

- the fit (`calibration_fit`): the semantic (a', b') by logistic regression on the cosine, starting from (and
  held near, by a weak Gaussian prior) the model's own; the metadata calibration per kind of match (intercepts
  and slopes of search.calibration, held near the defaults); then the weights whose fused score has the lowest
  log-loss. Cross-validated by query (a query is never in its own training fold): the figures "before" (the
  calibration in force, the default weights; on the judgments a fit in force was made from, that fit made again
  without the held-out query) and "after" (the fitted one, the suggested weights if they were
  better on held-out queries, else the default ones) are held-out figures. The fit is applied only when it lowers
  held-out log-loss; every fit is kept (SearchCalibration), the latest applied one is in force.
- the quality figures (`family_quality`): P@5, P@10, nDCG@10 and ECE of the judged queries under the user's
  current settings, and those of the latest fit.
"""

from __future__ import annotations

import hashlib
import zlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from scipy.optimize import minimize

from gallery.models import Membership, Photo
from gallery.services import family_lock, on_commit_collected
from search import evaluation
from search.calibration import (DEFAULT, KINDS, TYPO, Calibration, MetaCalibration, active_calibrations, fuse,
                                match_features, sigmoid)
from search.engine import judged_components, preferences_for
from search.judgment_selectors import family_judgments
from search.models import Judgment, PhotoEmbedding, SearchCalibration, SearchPreferences
from search.selectors import family_search_model
from search.text_embeddings import EncodeBudget
from search.understanding import family_facts

FOLDS = 5
# The fit needs queries to hold out (FOLDS of them at least) and enough verdicts for a dozen parameters. Measured
# with the toy model and a synthetic judge (search/tests/test_quality.py, fits on n judgments measured on queries
# they never saw, 8 draws): at 15 judgments a fit lost to the defaults once, from 30 it won every draw. Real
# judgments are noisier than a synthetic judge: cross-validation still decides whether a fit is applied.
MIN_JUDGMENTS = 30
MIN_QUERIES = FOLDS
WEIGHT_GRID = np.round(np.arange(0.1, 0.91, 0.05), 2)  # candidate semantic weights (metadata: 1 − w)
DEFAULT_WEIGHTS = (SearchPreferences.DEFAULT_SEMANTIC_WEIGHT, SearchPreferences.DEFAULT_METADATA_WEIGHT)
# Prior widths: how far from the model's own calibration and the default table the data must pull.
PRIOR_LOG_SCALE, PRIOR_BIAS, PRIOR_META = 0.5, 4.0, 1.5
# Held-out log-loss must fall by this share to count as better: a new fit replaces the one in force (and new
# weights are suggested) for a real gain, not for the noise of refitting the same judgments (about 2%).
IMPROVEMENT = 0.05
FIT_LOCK_CLASS = 0x4D534346  # "MSCF": the advisory lock a family's fits take turns on (its id the second key)
# Where every fit starts, and what its prior holds it near: the model's own calibration and the default table (never a
# fit in force, which was made from the same judgments: held near it, a fit would see its held-out queries through it).
BASE = DEFAULT


@dataclass
class JudgedData:
    """One row per judgment: its query, verdict, raw cosine (nan: no image match) and metadata features (nan: that
    kind did not match), with the model's own calibration."""

    model_name: str
    model_calibration: tuple[float, float] | None
    queries: list[str] = field(default_factory=list)
    photo_ids: list[int] = field(default_factory=list)
    relevant: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    cosines: np.ndarray = field(default_factory=lambda: np.zeros(0))
    meta: np.ndarray = field(default_factory=lambda: np.zeros((0, len(KINDS))))
    waiting_queries: list[str] = field(default_factory=list)  # left out: their words are with the worker
    waiting_judgments: int = 0  # the judgments of those queries
    unindexed_judgments: int = 0  # left out: judgments of photos waiting for the model to read them
    # What the query excludes ("circle -red"), as the search lowers it: the best cosine of an excluded concept (nan:
    # none) and the excluded words' metadata match (0: none). None: no judged query excludes anything.
    excluded_cosines: np.ndarray | None = None
    excluded_meta: np.ndarray | None = None
    judges: list[int] = field(default_factory=list)  # the users whose judgments these are (sorted ids)
    # Per row: who judged and when the verdict was last given (what a fit in force could have been made from).
    users: list[int] = field(default_factory=list)
    judged_at: list = field(default_factory=list)
    read_at: datetime = field(default_factory=timezone.now)  # when the judgments were read: a fit is as new as this
    # Every judgment read, as (query, verdict), those left out above (waiting for the model) too: a photo's profile
    # counts each verdict's judges from them instead of reading the rows again.
    verdicts: list[tuple[str, bool]] = field(default_factory=list)

    def fingerprint(self) -> str:
        """Which verdicts these are (who said what of which photo for which query, under which model): two fits of the
        same fingerprint were made from the same judgments."""
        rows = sorted(zip(self.queries, self.photo_ids, map(bool, self.relevant), self.users))
        return hashlib.sha256(repr((self.model_name, rows)).encode()).hexdigest()

    def __len__(self) -> int:
        return len(self.queries)

    def subset(self, mask: np.ndarray) -> JudgedData:
        idx = np.flatnonzero(mask)
        return JudgedData(self.model_name, self.model_calibration, [self.queries[i] for i in idx],
                          [self.photo_ids[i] for i in idx], self.relevant[idx], self.cosines[idx], self.meta[idx],
                          excluded_cosines=None if self.excluded_cosines is None else self.excluded_cosines[idx],
                          excluded_meta=None if self.excluded_meta is None else self.excluded_meta[idx])


def judged_data(*, family_id: int, budget: EncodeBudget | None = None, photo_id: int | None = None) -> JudgedData:
    """Every judgment of the family, its evidence re-scored now (search.engine.judged_components: one metadata pass
    per judged query, every judged photo's vector read in one statement). With a `budget` (a web page), the
    judgments of queries whose words it cannot encode in time are left out, their queries listed in
    `waiting_queries`, and their words noted in the budget for the worker. `photo_id`: that photo's judgments only
    (its profile, search.reports)."""
    # A photo in the trash is no result of any search (scored, it would read as a result with no evidence at all):
    # its judgments wait until it is restored.
    judgments = family_judgments(family_id=family_id).filter(photo__trashed_at__isnull=True)
    if photo_id is not None:
        judgments = judgments.filter(photo_id=photo_id)
    rows = list(judgments.order_by("query", "photo_id", "id")
                .values_list("query", "photo_id", "relevant", "user_id", "updated_at"))
    by_query: dict[str, list[int]] = defaultdict(list)
    for query, judged, *_ in rows:
        by_query[query].append(judged)
    model_name = family_search_model(family_id=family_id)
    data = JudgedData(model_name, None, verdicts=[(query, relevant) for query, _, relevant, *_ in rows])
    components = {}
    facts = family_facts(family_id=family_id) if by_query else None  # read once for every judged query
    judged = judged_components(family_id=family_id, judged={q: sorted(set(ids)) for q, ids in by_query.items()},
                               budget=budget, model_name=model_name, facts=facts)
    for query, photo_ids in by_query.items():
        found = judged[query]
        if found.waiting:
            data.waiting_queries.append(query)
            data.waiting_judgments += len(photo_ids)
            continue
        data.model_name, data.model_calibration = found.model_name, found.model_calibration or data.model_calibration
        components[query] = found
    rows = [row for row in rows if row[0] in components]
    # A photo the model has not read yet (pending, processing: a new install's import, a fresh upload) has no cosine,
    # which would read as "no image match": its judgments wait until it is indexed. Failed photos stay in, scored as
    # search scores them (metadata only).
    unread = {judged for query, judged, *_ in rows
              if data.model_calibration is not None and judged not in components[query].cosines}
    if unread:
        waiting = (Photo.Status.PENDING, Photo.Status.PROCESSING)
        unread &= set(Photo.all_objects.filter(pk__in=unread, status__in=waiting)
                      .exclude(pk__in=PhotoEmbedding.objects.filter(model_name=data.model_name, photo_id__in=unread)
                               .values("photo_id"))
                      .values_list("pk", flat=True))
        data.unindexed_judgments = sum(1 for row in rows if row[1] in unread)
        rows = [row for row in rows if row[1] not in unread]
    cosines, meta, excluded_cosines, excluded_meta = [], [], [], []
    for query, judged, *_ in rows:
        found = components[query]
        data.queries.append(query)
        data.photo_ids.append(judged)
        cosines.append(found.cosines.get(judged, np.nan))
        x = match_features(found.meta[judged], found.query_words) if judged in found.meta else {}
        meta.append([x.get(kind, np.nan) for kind in KINDS])
        excluded_cosines.append(found.excluded_cosines.get(judged, np.nan))
        excluded_meta.append(found.meta[judged].excluded if judged in found.meta else 0.0)
    data.relevant = np.array([row[2] for row in rows], dtype=bool)
    data.users, data.judged_at = [row[3] for row in rows], [row[4] for row in rows]
    data.judges = sorted(set(data.users))
    data.cosines = np.array(cosines, dtype=float)
    data.meta = np.array(meta, dtype=float).reshape(len(rows), len(KINDS))
    if any(not np.isnan(c) for c in excluded_cosines) or any(excluded_meta):
        data.excluded_cosines = np.array(excluded_cosines, dtype=float)
        data.excluded_meta = np.array(excluded_meta, dtype=float)
    return data


# --- probabilities over arrays (the same formulas as search.calibration, vectorised) ---

def semantic_probabilities(cosines: np.ndarray, a: float, b: float) -> np.ndarray:
    return np.where(np.isnan(cosines), 0.0, sigmoid(a * np.nan_to_num(cosines) + b))


def meta_probabilities(meta: np.ndarray, calibration: MetaCalibration) -> np.ndarray:
    intercepts = np.array([calibration.by_kind[k] for k in KINDS])
    slopes = np.array([calibration.typo_slope if k == TYPO else calibration.rank_slope for k in KINDS])
    p = sigmoid(intercepts + slopes * np.nan_to_num(meta))
    miss = np.where(np.isnan(meta), 1.0, 1.0 - p)
    return 1.0 - miss.prod(axis=1)


def scores(data: JudgedData, calibration: Calibration, weights: tuple[float, float]) -> np.ndarray:
    a, b = calibration.semantic_for(data.model_calibration or (1.0, 0.0))
    fused = fuse(semantic_probabilities(data.cosines, a, b), meta_probabilities(data.meta, calibration.meta), *weights)
    if data.excluded_cosines is None:
        return fused
    # As the search: lowered by the calibrated probability that the photo shows what the query excludes, and by the
    # excluded words' metadata match (search.engine._score).
    return fused * (1.0 - semantic_probabilities(data.excluded_cosines, a, b)) * (1.0 - data.excluded_meta)


# --- the fit ---

def _log_loss_sum(p: np.ndarray, y: np.ndarray) -> float:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).sum())


def fit_semantic(cosines: np.ndarray, relevant: np.ndarray, start: tuple[float, float]) -> tuple[float, float]:
    """(a', b') = (a·e^u, b + v) minimising log-loss on the judgments with an image match, under a Gaussian prior
    on (u, v) around the model's own calibration."""
    mask = ~np.isnan(cosines)
    if not mask.any():
        return start
    c, y = cosines[mask], relevant[mask].astype(float)
    a0, b0 = start

    def loss(params):
        u, v = params
        return (_log_loss_sum(sigmoid(a0 * np.exp(u) * c + b0 + v), y)
                + 0.5 * (u / PRIOR_LOG_SCALE) ** 2 + 0.5 * (v / PRIOR_BIAS) ** 2)

    u, v = minimize(loss, np.zeros(2), method="L-BFGS-B", bounds=[(-3, 3), (-40, 40)]).x
    return float(a0 * np.exp(u)), float(b0 + v)


def fit_metadata(meta: np.ndarray, relevant: np.ndarray, start: MetaCalibration) -> MetaCalibration:
    """Intercepts per kind and the two slopes minimising the log-loss of p_meta on the judgments with a metadata
    match, under a Gaussian prior around `start` (kinds never matched keep their start value)."""
    mask = ~np.isnan(meta).all(axis=1)
    if not mask.any():
        return start
    x, y = meta[mask], relevant[mask].astype(float)
    theta0 = np.array([start.by_kind[k] for k in KINDS] + [start.rank_slope, start.typo_slope])

    def calibration(theta) -> MetaCalibration:
        return MetaCalibration(tuple(zip(KINDS, map(float, theta[:len(KINDS)]))), float(theta[-2]), float(theta[-1]))

    def loss(theta):
        return _log_loss_sum(meta_probabilities(x, calibration(theta)), y) + 0.5 * (((theta - theta0) / PRIOR_META) ** 2).sum()

    theta = minimize(loss, theta0, method="L-BFGS-B",
                     bounds=[(-12, 12)] * len(KINDS) + [(0, 10), (0, 20)]).x
    return calibration(theta)


def suggest_weights(data: JudgedData, calibration: Calibration) -> tuple[float, float]:
    """The weights (on WEIGHT_GRID) whose fused score has the lowest log-loss."""
    y = data.relevant.astype(float)
    losses = [_log_loss_sum(scores(data, calibration, (w, 1 - w)), y) for w in WEIGHT_GRID]
    w = float(WEIGHT_GRID[int(np.argmin(losses))])
    return w, round(1 - w, 2)


def fit(data: JudgedData, start: Calibration) -> tuple[Calibration, tuple[float, float]]:
    """Fit both halves and the weights on `data`."""
    a, b = fit_semantic(data.cosines, data.relevant, start.semantic_for(data.model_calibration or (1.0, 0.0)))
    meta = fit_metadata(data.meta, data.relevant, start.meta)
    calibration = Calibration(semantic=(a, b), meta=meta)
    return calibration, suggest_weights(data, calibration)


def folds(queries: list[str], k: int = FOLDS) -> np.ndarray:
    """Each row's fold, by query: a stable hash of the query orders them, then they are dealt round robin."""
    distinct = sorted(set(queries), key=lambda q: (zlib.crc32(q.encode()), q))
    fold_of = {q: n % k for n, q in enumerate(distinct)}
    return np.array([fold_of[q] for q in queries], dtype=int)


@dataclass
class HeldOut:
    before: np.ndarray  # the calibration in force at the default weights
    fitted_default: np.ndarray  # the fitted calibration at the default weights
    fitted_suggested: np.ndarray  # the fitted calibration at the weights each fold suggested


def seen_by(data: JudgedData, in_force: SearchCalibration | None) -> np.ndarray:
    """Which rows the fit in force (if any) could have been made from: verdicts given before it by its judges (all
    judges, for a fit made before they were recorded). For those it is no held-out predictor."""
    if in_force is None:
        return np.zeros(len(data), dtype=bool)
    judges = None if in_force.judges is None else set(in_force.judges)
    return np.array([at <= in_force.created_at and (judges is None or user in judges)
                     for user, at in zip(data.users, data.judged_at)], dtype=bool)


def cross_validate(data: JudgedData, current: Calibration, seen: np.ndarray | None = None) -> HeldOut:
    """Every figure held out, by query. Fits start from the model's own calibration and the default table (BASE),
    never from the fit in force, which was made from these judgments. The fit in force scores the rows it never saw
    as it is; on those it was made from (`seen`), it is made again without the held-out fold's queries, as this fit
    is, so that "before" is no in-sample figure flattering it."""
    fold = folds(data.queries)
    seen = np.zeros(len(data), dtype=bool) if seen is None else seen
    out = HeldOut(*(np.zeros(len(data)) for _ in range(3)))
    out.before = scores(data, current, DEFAULT_WEIGHTS)
    for k in np.unique(fold):
        train, test = data.subset(fold != k), data.subset(fold == k)
        calibration, weights = fit(train, BASE)
        out.fitted_default[fold == k] = scores(test, calibration, DEFAULT_WEIGHTS)
        out.fitted_suggested[fold == k] = scores(test, calibration, weights)
        if (remade := seen & (fold == k)).any():
            in_force_without_k, _ = fit(data.subset(seen & (fold != k)), BASE)
            out.before[remade] = scores(data.subset(remade), in_force_without_k, DEFAULT_WEIGHTS)
    return out


def figures(data: JudgedData, predicted: np.ndarray) -> dict:
    ranking = evaluation.ranking_metrics(data.queries, predicted, data.relevant)
    return {"log_loss": evaluation.log_loss(predicted, data.relevant), "ece": evaluation.ece(predicted, data.relevant),
            "precision_at_5": ranking.precision_at_5, "precision_at_10": ranking.precision_at_10,
            "ndcg_at_10": ranking.ndcg_at_10,
            "bins": [b.__dict__ for b in evaluation.reliability_bins(predicted, data.relevant)]}


def needed(judgments: int, queries: int) -> int:
    """How many more judgments a fit needs (each new query counts: at least MIN_QUERIES are needed)."""
    return max(MIN_JUDGMENTS - judgments, MIN_QUERIES - queries, 0)


def fit_judgments_needed(*, family_id: int) -> int:
    """needed() for the family's judgments as the quality page counts them (its members', of photos not in the
    trash), without scoring them: whether a fit asked for now can run."""
    rows = family_judgments(family_id=family_id).filter(photo__trashed_at__isnull=True)
    return needed(rows.count(), rows.values("query").distinct().count())


class NotEnoughJudgments(Exception):
    pass


@transaction.atomic
def calibration_fit(*, family_id: int, data: JudgedData | None = None, asked_after: int | None = None
                    ) -> SearchCalibration:
    """Fit the family's calibration from its judgments, measure it on held-out queries, and keep it; applied when
    it lowers held-out log-loss. The weights are suggested only when they beat the default ones held out.

    Fits of one family take turns, from reading the fit in force to storing their own: two at once ("Fit now" in two
    tabs, two admins, the nightly fit) each beat the calibration in force when they began and were both applied. The
    second is measured against the first, as one asked for after it is; or, when the first was made from the same
    judgments, the second makes none and the first is returned: it answers both. `asked_after`: the family's latest
    fit when this one was asked for (calibration_fit_request): one made since from the same judgments answers it too
    (two clicks queue two tasks, the worker may take the second once the first is stored)."""
    waited_after = _fits_take_turns(family_id=family_id)
    since = asked_after if asked_after is not None else waited_after
    data = data if data is not None else judged_data(family_id=family_id)
    if since is not None and (same := SearchCalibration.objects.filter(
            family_id=family_id, model_name=data.model_name, pk__gt=since,
            metrics__judged=data.fingerprint()).first()):
        return same
    queries = len(set(data.queries))
    if missing := needed(len(data), queries):
        raise NotEnoughJudgments(f"{missing} more judgments are needed before a fit.")
    if data.model_calibration is None:
        raise NotEnoughJudgments("The family's image model is not available.")
    current = active_calibrations([(family_id, data.model_name)]).get((family_id, data.model_name), DEFAULT)
    in_force = SearchCalibration.objects.filter(pk=current.id).first() if current.id else None
    held = cross_validate(data, current, seen_by(data, in_force))
    before, at_default, at_suggested = (figures(data, p) for p in (held.before, held.fitted_default,
                                                                  held.fitted_suggested))
    weights_better = _better(at_suggested, than=at_default)
    after = at_suggested if weights_better else at_default
    calibration, weights = fit(data, BASE)
    return _calibration_store(family_id=family_id, data=data, calibration=calibration,
                              weights=weights if weights_better else None,
                              metrics={"before": before, "after": after, "after_default_weights": at_default,
                                       "folds": int(min(FOLDS, queries)), "judged": data.fingerprint(),
                                     "read_at": data.read_at.isoformat()},
                              # The calibrations compared at the same (default) weights: what the weights add is
                              # the suggestion's, which each member applies or not.
                              applied=_better(at_default, than=before))


def _fits_take_turns(*, family_id: int) -> int | None:
    """Wait for the family's fit being made, if any (None: there was none), and return the id of the latest fit
    (0: none) from before the wait: those after it were made meanwhile."""
    # An advisory lock, held until the fit's transaction ends: the family's row lock (family_lock) would make a member
    # leaving the family wait for the whole fit, when it need only wait for the fit's store (_calibration_store).
    latest = latest_fit_id(family_id=family_id)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [FIT_LOCK_CLASS, family_id])
        if cursor.fetchone()[0]:
            return None
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [FIT_LOCK_CLASS, family_id])
    return latest


def fit_being_made(*, family_id: int) -> bool:
    """Whether a fit of the family is being made now (by whichever process: it holds _fits_take_turns' lock)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted "
                       "AND classid = %s AND objid = %s AND objsubid = 2)", [FIT_LOCK_CLASS, family_id])
        return cursor.fetchone()[0]


FIT_TASK = "search.tasks.calibration_fit_task"
FIT_QUEUE_READ = 500  # queued tasks fit_waiting reads (about 14 µs each)


def fit_waiting(*, family_id: int) -> bool:
    """Whether a fit of the family waits in the task queue for the worker to take it ("Fit now" with the worker busy
    embedding an import, or making another fit): asked for, not started. One query of the database broker's queue,
    its tasks not taken yet (a task's function and arguments are in its signed payload, read here); with Redis as the
    broker, not known (False: the page then says a fit is under way only once it is being made)."""
    from django.conf import settings
    from django_q.brokers import get_broker
    from django_q.models import OrmQ
    from django_q.signing import BadSignature, SignedPackage

    if settings.Q_BROKER != "orm":
        return False
    queued = OrmQ.objects.filter(key=get_broker().list_key, lock__lte=timezone.now()).order_by("-id")
    # The newest FIT_QUEUE_READ only (a fit asked for is among the newest): an import queues thousands of tasks, and
    # reading every one cost the page 140 ms at 10,000. One older still waits unseen: the page says it once it runs.
    for payload in queued.values_list("payload", flat=True)[:FIT_QUEUE_READ]:
        try:
            task = SignedPackage.loads(payload)
        except (BadSignature, ValueError, TypeError):  # (another site's key: the worker drops it too)
            continue
        if task.get("func") == FIT_TASK and tuple(task.get("args") or ())[:1] == (family_id,):
            return True
    return False


def latest_fit_id(*, family_id: int) -> int:
    """The id of the family's latest fit (of any model; 0: none): fits made after a moment have greater ids."""
    fits = SearchCalibration.objects.filter(family_id=family_id).order_by("-pk")
    return fits.values_list("pk", flat=True).first() or 0


def log_loss_text(value: float) -> str:
    """A log-loss as the page and the command print it: 3 decimals, or 3 significant digits below 0.1, so that two a
    fit's rule tells apart (5% lower) are not both "0.001"."""
    return f"{value:.3f}" if value >= 0.1 else f"{value:.3g}"


def _better(figures: dict, *, than: dict) -> bool:
    return figures["log_loss"] < (1 - IMPROVEMENT) * than["log_loss"]


def judges_gone(*, family_id: int, judges: list[int]) -> list[int]:
    """Those of a fit's judges who are no longer members of the family (left, removed, their accounts deleted)."""
    members = Membership.objects.filter(family_id=family_id, user_id__in=list(judges)).values_list("user_id", flat=True)
    return sorted(set(judges) - set(members))


@transaction.atomic
def _calibration_store(*, family_id: int, data: JudgedData, calibration: Calibration,
                       weights: tuple[float, float] | None, metrics: dict, applied: bool) -> SearchCalibration:
    """Keep the fit with the judges whose judgments it was made from. Someone of them may have left the family while
    it ran (the withdrawal then found nothing of it in force): such a fit is kept but not applied, and says who left.
    The family's row lock orders this against the leaving (gallery.services.memberships_end takes it too): stored
    first, the fit is in force when the leaving withdraws it; stored after, it finds them gone, and the family is
    fitted again from the judgments of those who remain."""
    family_lock(family_id=family_id)
    if gone := judges_gone(family_id=family_id, judges=data.judges):
        metrics, applied = {**metrics, "judges_gone": gone}, False
        calibration_fit_request(family_id=family_id)  # (their leaving may have found no fit in force to withdraw)
    a, b = calibration.semantic
    return SearchCalibration.objects.create(
        family_id=family_id, model_name=data.model_name, semantic_scale=a, semantic_bias=b,
        metadata=calibration.meta.as_dict(),
        suggested_semantic_weight=weights[0] if weights else None,
        suggested_metadata_weight=weights[1] if weights else None,
        judgments=len(data), judged_queries=len(set(data.queries)), metrics=metrics, applied=applied,
        judges=list(data.judges))


@transaction.atomic
def calibration_rollback(*, family_id: int, seen: int | None = None) -> SearchCalibration | None:
    """Withdraw the family's calibration in force (that of the model search uses for it: a fit is per model): the one
    applied before it (or the defaults) is used again. `seen`: the id of the fit the admin's page showed in force:
    when another is in force now (rolled back meanwhile: by another admin, or the same form sent again), nothing is
    withdrawn (ValidationError): each click withdraws the fit it was shown, never the one before it too. Rollbacks of
    one family take turns (its row's lock)."""
    family_lock(family_id=family_id)
    latest = (SearchCalibration.objects
              .filter(family_id=family_id, model_name=family_search_model(family_id=family_id), applied=True)
              .order_by("-created_at", "-id").first())
    if seen is not None and (latest is None or latest.pk != seen):
        raise ValidationError("The fit this page showed in force was rolled back meanwhile: nothing more was "
                              "withdrawn. Look at what is in force now, then roll back again if you still want to.")
    if latest is not None:
        latest.applied = False
        # Said on the quality page: a fit withdrawn by an admin is not one that lost on held-out queries.
        latest.metrics = {**latest.metrics, "rolled_back_at": timezone.now().isoformat()}
        latest.save(update_fields=["applied", "metrics"])
    return latest


@transaction.atomic
def calibrations_withdraw_for_leavers(*, family_id: int, user_ids: list[int]) -> int:
    """Members who judged leave the family (removed, leaving, their accounts deleted): the fits in force made with their
    judgments (of any model: those whose judges include them, and those fitted before judges were recorded) stop
    applying at once, the model's own calibration serves, and the family is fitted again in the worker from the
    judgments of those who remain (family_judgments), also when no fit was withdrawn if they are enough for one. A fit
    in force made from others' judgments alone stays. How many fits were withdrawn."""
    if not Judgment.objects.filter(family_id=family_id, user_id__in=list(user_ids)).exists():
        return 0
    withdrawn = 0
    made_with_theirs = Q(judges__isnull=True) | Q(judges__overlap=list(user_ids))
    for fit_row in (SearchCalibration.objects.filter(made_with_theirs, family_id=family_id, applied=True)
                    .select_for_update()):
        fit_row.applied = False
        fit_row.metrics = {**fit_row.metrics, "withdrawn_at": timezone.now().isoformat()}
        fit_row.save(update_fields=["applied", "metrics"])
        withdrawn += 1
    # Their judgments are out of what the family's fits read: fitted again when a fit was withdrawn, or when those who
    # remain have enough for one (the nightly fit looks only for judgments newer than the latest fit).
    if withdrawn or (family_judgments(family_id=family_id).exclude(user_id__in=list(user_ids)).count()
                     >= MIN_JUDGMENTS):
        calibration_fit_request(family_id=family_id)
    return withdrawn


def calibration_fit_for_joiners(*, family_id: int, user_ids: list[int]) -> bool:
    """People join (or rejoin) a family: judgments they gave in it before count again (family_judgments), so the family
    is fitted again in the worker, as when someone leaves, if they judged there and it has enough judgments for a fit
    (the nightly fit would not: it looks for judgments newer than the latest fit). Whether a fit was queued."""
    if not Judgment.objects.filter(family_id=family_id, user_id__in=list(user_ids)).exists():
        return False
    if family_judgments(family_id=family_id).count() < MIN_JUDGMENTS:
        return False
    calibration_fit_request(family_id=family_id)
    return True


def calibrations_fit_due() -> list[int]:
    """Families with enough judgments and none fitted for the model search uses for them (a fit is per model: after a
    switch, the previous model's says nothing), or judgments newer than those that fit read (a judgment given while it
    was being made is newer than what it read, though older than the fit)."""
    from django.db.models import Count, Max

    rows = (family_judgments().values("family_id").annotate(n=Count("id"), newest=Max("updated_at"))
            .filter(n__gte=MIN_JUDGMENTS).order_by("family_id"))
    due = []
    for row in rows:
        latest = (SearchCalibration.objects
                  .filter(family_id=row["family_id"], model_name=family_search_model(family_id=row["family_id"]))
                  .order_by("-created_at").values_list("created_at", "metrics__read_at").first())
        if latest is None:
            due.append(row["family_id"])
            continue
        created_at, read_at = latest
        # (a fit stored before fits recorded when they read the judgments: when it was stored)
        if row["newest"] > (parse_datetime(read_at) if isinstance(read_at, str) else created_at):
            due.append(row["family_id"])
    return due


# --- what the quality page and API show ---

@dataclass
class QueryScores:
    query: str
    right: list[float]
    wrong: list[float]


@dataclass
class Quality:
    family_id: int
    judged_queries: int
    judgments: int
    needed: int
    current: dict  # figures of the judged queries under the user's settings now
    weights: tuple[float, float]  # the user's
    fit: SearchCalibration | None  # the latest fit, applied or not
    per_query: list[QueryScores]
    waiting_queries: int = 0  # judged queries left out until the worker has encoded their words
    in_force_id: int | None = None  # the fit search uses now (None: the model's own calibration, default table)
    in_force: SearchCalibration | None = None  # that fit (the latest, or an earlier one: after a rollback)
    fit_running: bool = False  # a fit of the family is being made now
    fit_waiting: bool = False  # a fit of the family waits in the queue for the worker (asked for, not started)
    # The weights the fit in force suggests: chosen for its calibration, they mean nothing under another (a fit that
    # did not apply, or was rolled back, suggests none).
    suggested_weights: tuple[float, float] | None = None
    queries_needed: int = 0  # of the judgments still needed, how many must be on searches not judged yet
    unindexed_judgments: int = 0  # left out until the model has read their photos

    @property
    def fit_rolled_back(self) -> bool:
        return bool(self.fit and not self.fit.applied and self.fit.metrics.get("rolled_back_at"))

    @property
    def fit_withdrawn(self) -> bool:
        """Withdrawn as someone whose judgments it was made with left the family (calibrations_withdraw_for_leavers)."""
        return bool(self.fit and not self.fit.applied and self.fit.metrics.get("withdrawn_at"))

    @property
    def fit_judges_gone(self) -> bool:
        """Not applied as someone whose judgments it was made with left the family while it was being made."""
        return bool(self.fit and not self.fit.applied and self.fit.metrics.get("judges_gone"))

    @property
    def fit_log_loss(self) -> tuple[float, float] | None:
        """Held-out log-loss before the fit and after it (at the default weights): what decided whether it applies."""
        metrics = self.fit.metrics if self.fit else {}
        before, after = (metrics.get(key, {}).get("log_loss") for key in ("before", "after_default_weights"))
        return (before, after) if before is not None and after is not None else None

    @property
    def improvement_percent(self) -> int:
        return round(IMPROVEMENT * 100)

    @property
    def suggested_weights_mine(self) -> bool:
        """Whether the user's weights are the suggested ones already (as the page shows them, to 2 decimals)."""
        suggested = self.suggested_weights
        return suggested is not None and all(round(mine, 2) == round(them, 2)
                                             for mine, them in zip(self.weights, suggested))

    def as_api(self) -> dict:
        fitted = None
        if self.fit is not None:
            after = self.fit.metrics.get("after", {})
            fitted = {key: after.get(key) for key in ("ece", "precision_at_5", "precision_at_10", "ndcg_at_10")}
            fitted["applied"] = self.fit.applied
            fitted["rolled_back"] = self.fit_rolled_back
            fitted["judge_left"] = self.fit_withdrawn or self.fit_judges_gone
        weights = self.suggested_weights
        return {"judged_queries": self.judged_queries, "judgments": self.judgments, "needed": self.needed,
                "waiting_queries": self.waiting_queries, "unindexed_judgments": self.unindexed_judgments,
                # Nothing judged, nothing measured: 0.0 would read as "finds nothing, perfectly calibrated".
                **{key: self.current[key] if self.judgments else None
                   for key in ("precision_at_5", "precision_at_10", "ndcg_at_10", "ece")},
                "fitted": fitted,
                "suggested_weights": {"semantic": weights[0], "metadata": weights[1]} if weights else None}


def family_quality(*, user: AbstractBaseUser, family_id: int, budget: EncodeBudget | None = None) -> Quality:
    """The family's judged queries scored as this user's searches score them now, and its latest fit. The caller
    has checked that the user belongs to the family. `budget`: a page's (see judged_data)."""
    data = judged_data(family_id=family_id, budget=budget)
    current, weights = scoring_now(user=user, family_id=family_id, model_name=data.model_name)
    predicted = scores(data, current, weights) if len(data) else np.zeros(0)
    per_query: dict[str, QueryScores] = {}
    for query, p, y in zip(data.queries, predicted, data.relevant):
        entry = per_query.setdefault(query, QueryScores(query, [], []))
        (entry.right if y else entry.wrong).append(float(p))
    fit_row = SearchCalibration.objects.filter(family_id=family_id, model_name=data.model_name).first()
    queries = len(per_query)
    # What a fit needs counts the waiting queries' judgments too (the fit runs in the worker, with all of them), and
    # those of photos not indexed yet (they count once the worker has read them).
    return Quality(family_id=family_id, judged_queries=queries, judgments=len(data),
                   needed=needed(len(data) + data.waiting_judgments + data.unindexed_judgments,
                                 queries + len(data.waiting_queries)),
                   current=figures(data, predicted), weights=weights,
                   fit=fit_row, per_query=sorted(per_query.values(), key=lambda q: q.query),
                   waiting_queries=len(data.waiting_queries), in_force_id=current.id,
                   in_force=(fit_row if fit_row and fit_row.pk == current.id
                             else SearchCalibration.objects.filter(pk=current.id).first() if current.id else None),
                   queries_needed=max(MIN_QUERIES - queries - len(data.waiting_queries), 0),
                   unindexed_judgments=data.unindexed_judgments,
                   suggested_weights=suggested_weights(family_id=family_id),
                   fit_running=fit_being_made(family_id=family_id), fit_waiting=fit_waiting(family_id=family_id))


def scoring_now(*, user: AbstractBaseUser, family_id: int, model_name: str) -> tuple[Calibration, tuple[float, float]]:
    """What this user's searches of the family score its photos with now: the family's calibration in force for the
    model (the default one while no fit is) and the user's weights (semantic, metadata)."""
    prefs = preferences_for(user)
    current = active_calibrations([(family_id, model_name)]).get((family_id, model_name), DEFAULT)
    return current, (prefs.semantic_weight, prefs.metadata_weight)


def calibration_fit_request(*, family_id: int) -> None:
    """Fit the family's calibration in the worker, once the current transaction commits: once per family, however
    many times one transaction asks (two members taken out in one save of the admin)."""
    on_commit_collected("calibration_fit", [family_id], _calibration_fits_queue, robust=False)


def _calibration_fits_queue(family_ids: set[int]) -> None:
    from mediasearch.task_queue import enqueue

    for family_id in sorted(family_ids):
        enqueue(FIT_TASK, family_id, asked_after=latest_fit_id(family_id=family_id),
                group="calibration")


def suggested_weights(*, family_id: int) -> tuple[float, float] | None:
    """The weights the family's fit in force (for its search model) suggests, if it suggests any: chosen for that
    fit's calibration, they are not suggested under another."""
    in_force = SearchCalibration.objects.filter(family_id=family_id, applied=True,
                                                model_name=family_search_model(family_id=family_id)).first()
    return in_force.suggested_weights if in_force else None
