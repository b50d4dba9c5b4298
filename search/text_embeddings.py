"""Text embeddings of expanded terms, cached in-process and in the database (shared by all processes).

A term's embedding is the normalised mean of its prompt-template embeddings ("a photo of {}.", "{}"):
the ensemble SigLIP/CLIP zero-shot evaluation uses, steadier than any single phrasing."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

import numpy as np
from django.conf import settings

from search.embedder import Embedder
from search.models import TextEmbedding

_CACHE_SIZE = 4096
_cache: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
_lock = threading.Lock()


def cache_key(term: str) -> str:
    templates = "\x1f".join(settings.SEARCH_PROMPT_TEMPLATES)
    return hashlib.sha256(f"{templates}\x1e{term}".encode()).hexdigest()


def term_vectors(embedder: Embedder, terms: list[str]) -> tuple[np.ndarray, int]:
    """(len(terms), dim) unit vectors, and how many terms needed the model (0 when all were cached)."""
    model = embedder.model_name
    keys = [cache_key(term) for term in terms]
    found: dict[str, np.ndarray] = {}
    with _lock:
        for key in keys:
            if (model, key) in _cache:
                _cache.move_to_end((model, key))
                found[key] = _cache[(model, key)]
    missing = [k for k in keys if k not in found]
    if missing:
        for row in TextEmbedding.objects.filter(model_name=model, key__in=missing):
            found[row.key] = np.asarray(row.vector, dtype=np.float32)
    to_encode = [(key, term) for key, term in zip(keys, terms) if key not in found]
    if to_encode:
        vectors = encode_terms(embedder, [term for _, term in to_encode])
        TextEmbedding.objects.bulk_create(
            [TextEmbedding(model_name=model, key=key, text=term[:2000], vector=vec) for (key, term), vec in zip(to_encode, vectors)],
            ignore_conflicts=True,
        )
        found.update({key: vec for (key, _), vec in zip(to_encode, vectors)})
    with _lock:
        for key in keys:
            _cache[(model, key)] = found[key]
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return np.stack([found[key] for key in keys]), len(to_encode)


def encode_terms(embedder: Embedder, terms: list[str]) -> np.ndarray:
    """Each term's vector: the normalised mean over SEARCH_PROMPT_TEMPLATES, uncached."""
    templates = settings.SEARCH_PROMPT_TEMPLATES
    texts = [template.format(term) for term in terms for template in templates]
    encoded = embedder.encode_texts(texts).reshape(len(terms), len(templates), -1).mean(axis=1)
    return (encoded / np.linalg.norm(encoded, axis=1, keepdims=True)).astype(np.float32)


def clear_process_cache() -> None:
    with _lock:
        _cache.clear()
