"""The whole score as a probability of relevance: both halves calibrated, then fused (DESIGN.md, "The scoring
contract").

  p_sem  = sigmoid(a · cos + b)                       the model's own (a, b), or the family's fitted (a', b')
  p_k    = sigmoid(c_k + s · log(rank_k / n))         for each kind k of metadata match: a field, whose rank
                                                      counts the query's words found in it, n the query's
                                                      words (so: the share of the query it holds); or a typo
                                                      correction, with its similarity in place of rank / n
  p_meta = 1 − Π_k (1 − p_k)                          over the kinds that matched (any one is evidence)
  score  = 1 − (1 − p_sem)^(2·w_sem) · (1 − p_meta)^(2·w_meta)      w normalised to sum 1
         × the exclusion factor

The fusion is a noisy-OR whose weights are exponents: at equal weights it is the plain noisy-OR of the two
probabilities ("either source finding it is enough"), a weight above ½ lets its source count more than once
and one below less. A weighted mean of probabilities (or of log-odds) could not let a sure tag match alone read
as likely; this can (p_meta 0.95 alone at 0.6/0.4: 0.91), and with no evidence on either side it stays near 0.

The defaults below hold before a family has judged enough results to fit its own (search.quality).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from search.metadata import FIELDS, MetaMatch

TYPO = "typo"
# The kinds of metadata match calibrated apart: each field, and a spelling correction.
KINDS = tuple(f.key for f in FIELDS) + (TYPO,)
KIND_LABELS = {**{f.key: f.label for f in FIELDS}, TYPO: "similar spelling"}

# Probability that a photo is a right result when the query's word is in this field once (rank 1), before any
# fitting. What people wrote about the photo says most; where and when it was taken and the words read in it
# are true of it but often not what a search means; the model's own suggestions are as good as the model; the
# file name least. A spelling correction at similarity 1 counts as a description word, less as it gets weaker.
DEFAULT_PROBABILITIES = {
    "tags": 0.95, "title": 0.92, "description": 0.8, "keywords": 0.85, "place": 0.6, "date": 0.5, "text": 0.6,
    "suggested": 0.7, "filename": 0.35, TYPO: 0.75,
}
# Log-odds per e-fold of the share of the query's words a field holds (a field holding one word of a two-word
# query reads lower: a suggested tag "red" for "red circle": 0.7 → 0.37), and per e-fold of a
# correction's trigram similarity (similarity 0.5, the lowest kept, then reads about 0.25).
DEFAULT_RANK_SLOPE = 2.0
DEFAULT_TYPO_SLOPE = 3.0
# log(rank / n) is clipped to this range: a caption repeating the query's words is not certainty.
LOG_RANK_RANGE = (-3.0, 0.5)


def logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=float)))  # = 1 / (1 + exp(-x)), no overflow warnings


@dataclass(frozen=True)
class MetaCalibration:
    """Per kind of metadata match: the log-odds of relevance at rank 1 (`intercepts`), and how it grows with
    the rank (`rank_slope`) or a correction's similarity (`typo_slope`)."""

    intercepts: tuple[tuple[str, float], ...] = tuple((k, logit(p)) for k, p in DEFAULT_PROBABILITIES.items())
    rank_slope: float = DEFAULT_RANK_SLOPE
    typo_slope: float = DEFAULT_TYPO_SLOPE

    @property
    def by_kind(self) -> dict[str, float]:
        return dict(self.intercepts)

    def kind_probabilities(self, match: MetaMatch, query_words: int = 1) -> dict[str, float]:
        """The probability each kind of match found in the photo gives on its own."""
        x = match_features(match, query_words)
        intercepts = self.by_kind
        return {kind: _sigmoid(intercepts[kind] + (self.typo_slope if kind == TYPO else self.rank_slope) * v)
                for kind, v in x.items()}

    def probability(self, match: MetaMatch, query_words: int = 1) -> float:
        return noisy_or(self.kind_probabilities(match, query_words).values())

    def as_dict(self) -> dict:
        return {"intercepts": self.by_kind, "rank_slope": self.rank_slope, "typo_slope": self.typo_slope}

    @classmethod
    def from_dict(cls, data: Mapping | None) -> MetaCalibration:
        if not data:
            return cls()
        intercepts = {**dict(cls().intercepts), **{k: float(v) for k, v in data.get("intercepts", {}).items()
                                                   if k in KINDS}}
        return cls(tuple(intercepts.items()), float(data.get("rank_slope", DEFAULT_RANK_SLOPE)),
                   float(data.get("typo_slope", DEFAULT_TYPO_SLOPE)))


def match_features(match: MetaMatch, query_words: int = 1) -> dict[str, float]:
    """Each kind of match in `match` → its strength: log(rank / query words) of a field (ts_rank_cd of an OR-ed
    query counts the occurrences of its words), log(similarity) of a correction."""
    n = max(1, query_words)
    low, high = LOG_RANK_RANGE
    x = {key: min(high, max(low, math.log(rank / n)))
         for key, rank in match.ranks.items() if rank > 0 and key in KIND_LABELS}
    if match.typo > 0:
        x[TYPO] = math.log(min(1.0, match.typo))
    return x


def query_word_count(tsquery: str) -> int:
    """How many distinct words a metadata tsquery (search.metadata.MetaQuery.tsquery) holds, as ts_rank_cd counts
    its matches: each lexeme, and a phrase as one (a quoted "hot dog", or a word PostgreSQL splits into a phrase:
    'well-known' <-> 'well' <-> 'known', 'o' <-> 'brien'), which one occurrence matches whole."""
    text = tsquery or ""
    phrases = {" ".join(_LEXEME.findall(phrase)) for phrase in _PHRASE.findall(text)}
    return len(phrases) + len(set(_LEXEME.findall(_PHRASE.sub(" ", text))))


_LEXEME = re.compile(r"'((?:[^']|'')+)'")
_PHRASE = re.compile(r"'(?:[^']|'')+'(?:\s*<(?:\d+|-)>\s*'(?:[^']|'')+')+")


def noisy_or(probabilities: Iterable[float]) -> float:
    miss = 1.0
    for p in probabilities:
        miss *= 1.0 - p
    return 1.0 - miss


@dataclass(frozen=True)
class Calibration:
    """What turns a family's matches into probabilities: its fitted semantic (a', b') or None for the model's
    own, and its metadata calibration. `id`: the SearchCalibration row it came from (None: the defaults)."""

    semantic: tuple[float, float] | None = None
    meta: MetaCalibration = field(default_factory=MetaCalibration)
    id: int | None = None

    def semantic_for(self, model_calibration: tuple[float, float]) -> tuple[float, float]:
        return self.semantic or model_calibration


DEFAULT = Calibration()


def _sigmoid(x: float) -> float:
    return 0.5 * (1.0 + math.tanh(0.5 * x))


def fuse_one(p_semantic: float, p_metadata: float, w_semantic: float, w_metadata: float) -> float:
    """`fuse` for one candidate, in plain floats (search scores hundreds per query: numpy's per-call cost shows)."""
    total = w_semantic + w_metadata
    w_semantic, w_metadata = (0.5, 0.5) if total <= 0 else (w_semantic / total, w_metadata / total)
    miss_sem, miss_meta = min(1.0, max(0.0, 1.0 - p_semantic)), min(1.0, max(0.0, 1.0 - p_metadata))
    return 1.0 - miss_sem ** (2 * w_semantic) * miss_meta ** (2 * w_metadata)


def fuse(p_semantic, p_metadata, w_semantic: float, w_metadata: float):
    """score = 1 − (1 − p_sem)^(2·w_sem) · (1 − p_meta)^(2·w_meta), the weights normalised to sum 1 (arrays or
    numbers)."""
    total = w_semantic + w_metadata
    w_semantic, w_metadata = (0.5, 0.5) if total <= 0 else (w_semantic / total, w_metadata / total)
    miss_sem = np.clip(1.0 - np.asarray(p_semantic, dtype=float), 0.0, 1.0)
    miss_meta = np.clip(1.0 - np.asarray(p_metadata, dtype=float), 0.0, 1.0)
    return 1.0 - miss_sem ** (2 * w_semantic) * miss_meta ** (2 * w_metadata)


def active_calibrations(pairs: Iterable[tuple[int, str]]) -> dict[tuple[int, str], Calibration]:
    """The applied calibration of each (family, model) pair that has one: its latest applied fit."""
    from search.models import SearchCalibration

    pairs = set(pairs)
    if not pairs:
        return {}
    found: dict[tuple[int, str], Calibration] = {}
    rows = (SearchCalibration.objects.filter(family_id__in={f for f, _ in pairs},
                                             model_name__in={m for _, m in pairs}, applied=True)
            .order_by("family_id", "model_name", "-created_at", "-id"))
    for row in rows:
        key = (row.family_id, row.model_name)
        if key in pairs and key not in found:
            found[key] = row.calibration
    return found
