"""Text embeddings of expanded terms, cached in-process and in the database (shared by all processes).

A term's embedding is the normalised mean of its prompt-template embeddings ("a photo of {}.", "{}"):
the ensemble SigLIP/CLIP zero-shot evaluation uses, steadier than any single phrasing."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from django.conf import settings
from django.core.cache import cache

from search.embedder import Embedder
from search.models import TextEmbedding

if TYPE_CHECKING:
    from search.selectors import StoredModel

_CACHE_SIZE = 4096
_cache: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
_lock = threading.Lock()


def cache_key(term: str) -> str:
    templates = "\x1f".join(settings.SEARCH_PROMPT_TEMPLATES)
    return hashlib.sha256(f"{templates}\x1e{term}".encode()).hexdigest()


def term_vectors(embedder: Embedder, terms: list[str]) -> tuple[np.ndarray, int]:
    """(len(terms), dim) unit vectors, and how many terms needed the model (0 when all were cached)."""
    return _vectors(embedder, terms, None)


# Pages that need the words of many queries at once (the quality and model comparison pages, a photo's profile) must
# not run the text model for all of them inside one web request: after a model switch or an import of judgments none
# is cached, and encoding hundreds of terms takes minutes with a real SigLIP on a CPU, far past a web server's
# timeout. Such a page encodes at most SEARCH_PAGE_ENCODE_TERMS terms itself and its view queues the rest for the
# worker (text_embeddings_task), showing what it could compute meanwhile.
WORKER_TERMS_PER_TASK = 256  # well inside Q_TIMEOUT with a real SigLIP on 2 cores
# How long a term queued for the worker stays claimed: a page reloaded meanwhile queues it no more. Long, as the
# worker may be re-indexing every photo first (a model switch); a lost task is retried once the claim runs out (and
# the nightly fit encodes every judged query's words anyway).
DEFER_CLAIM_SECONDS = 6 * 3600


@dataclass
class EncodeBudget:
    """How many uncached terms a web request may still encode itself, and the terms it left for the worker."""

    terms: int = field(default_factory=lambda: settings.SEARCH_PAGE_ENCODE_TERMS)
    deferred: dict[str, dict[str, None]] = field(default_factory=dict)  # model name → terms, in order

    def __enter__(self) -> EncodeBudget:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        """A page built with the budget (`with EncodeBudget() as budget:`) queues what it left for the worker."""
        if exc_type is None:
            self.defer_to_worker()

    def defer_to_worker(self) -> None:
        """Queue the deferred terms not already queued (by this or an earlier request) for the worker, once the
        current transaction commits."""
        from django.db import transaction
        from mediasearch.task_queue import enqueue

        for model_name, terms in self.deferred.items():
            claimed = [term for term in terms
                       if cache.add(f"text-embeddings:{model_name}:{cache_key(term)}", True, DEFER_CLAIM_SECONDS)]
            for start in range(0, len(claimed), WORKER_TERMS_PER_TASK):
                chunk = claimed[start:start + WORKER_TERMS_PER_TASK]
                transaction.on_commit(lambda chunk=chunk, model_name=model_name: enqueue(
                    "search.tasks.text_embeddings_task", model_name, chunk, group="text embeddings"))


def term_vectors_within(embedder: Embedder | StoredModel, terms: list[str], budget: EncodeBudget | None) -> np.ndarray | None:
    """term_vectors' vectors when every term is cached or the budget can still encode the missing ones; otherwise
    None, with the missing terms noted in the budget for the worker (see EncodeBudget). No budget: always encode
    (the worker, commands). A model this process has not loaded (StoredModel: a verdict's) goes with a budget of 0."""
    return _vectors(embedder, terms, budget)[0]


def _vectors(embedder: Embedder | StoredModel, terms: list[str],
             budget: EncodeBudget | None) -> tuple[np.ndarray | None, int]:
    """The terms' vectors (None when a `budget` can't encode the missing ones) and how many terms the model encoded."""
    keys = [cache_key(term) for term in terms]
    found = _cached(embedder.model_name, keys)
    missing = list(dict.fromkeys((key, term) for key, term in zip(keys, terms) if key not in found))
    if budget is not None:
        if len(missing) > budget.terms:
            budget.deferred.setdefault(embedder.model_name, {}).update(dict.fromkeys(term for _, term in missing))
            return None, 0
        budget.terms -= len(missing)
    found.update(_encode_and_store(embedder, missing))
    return np.stack([found[key] for key in keys]), len(missing)


def _cached(model: str, keys: list[str]) -> dict[str, np.ndarray]:
    """key → vector of the keys cached in this process or in the database (those from the database are kept in the
    process's cache too)."""
    found: dict[str, np.ndarray] = {}
    with _lock:
        for key in keys:
            if (model, key) in _cache:
                _cache.move_to_end((model, key))
                found[key] = _cache[(model, key)]
    missing = [k for k in keys if k not in found]
    if missing:
        rows = {row.key: np.asarray(row.vector, dtype=np.float32)
                for row in TextEmbedding.objects.filter(model_name=model, key__in=missing)}
        found.update(rows)
        _remember(model, rows)
    return found


def _encode_and_store(embedder: Embedder, to_encode: list[tuple[str, str]]) -> dict[str, np.ndarray]:
    """Encode (key, term) pairs with the model, store them in the database and the process's cache: key → vector."""
    if not to_encode:
        return {}
    vectors = encode_terms(embedder, [term for _, term in to_encode])
    TextEmbedding.objects.bulk_create(
        [TextEmbedding(model_name=embedder.model_name, key=key, text=term[:2000], vector=vec)
         for (key, term), vec in zip(to_encode, vectors)],
        ignore_conflicts=True,
    )
    encoded = {key: vec for (key, _), vec in zip(to_encode, vectors)}
    _remember(embedder.model_name, encoded)
    return encoded


def _remember(model: str, vectors: dict[str, np.ndarray]) -> None:
    with _lock:
        for key, vector in vectors.items():
            _cache[(model, key)] = vector
            _cache.move_to_end((model, key))
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)


def encode_terms(embedder: Embedder, terms: list[str]) -> np.ndarray:
    """Each term's vector: the normalised mean over SEARCH_PROMPT_TEMPLATES, uncached."""
    templates = settings.SEARCH_PROMPT_TEMPLATES
    texts = [template.format(term) for term in terms for template in templates]
    encoded = embedder.encode_texts(texts).reshape(len(terms), len(templates), -1).mean(axis=1)
    return (encoded / np.linalg.norm(encoded, axis=1, keepdims=True)).astype(np.float32)


def clear_process_cache() -> None:
    with _lock:
        _cache.clear()
