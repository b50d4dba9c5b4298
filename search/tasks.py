"""django-q2 tasks: thin wrappers that call services."""

from __future__ import annotations

from collections.abc import Sequence

from search import services


def embed_photos_task(photo_ids: list[int]) -> dict:
    report = services.embed_photos(photo_ids=photo_ids)
    return {"ready": report.ready, "failed": report.failed, "model_error": report.model_error}


def embed_missing_task() -> int:
    return services.embed_missing()


def duplicates_find_task(photo_ids: list[int]) -> int:
    from search.duplicate_finder import duplicates_find

    return duplicates_find(photo_ids=photo_ids)


def family_indexes_drop_task(family_id: int) -> int:
    from search.vector_index import drop_indexes

    return drop_indexes(family_id=family_id)


def photos_recover_task() -> int:
    """Every minute: photos dead workers left "processing" (embedding, then reading text) are queued again."""
    from search import ocr

    return services.photos_recover() + ocr.ocr_recover()


def read_text_task(queued_before: Sequence[int] = ()) -> dict:
    """A reader: read the next photos waiting (search.ocr.photos_read_text), then queue the readers still needed.
    `queued_before`: the photo ids a task queued by an earlier version carries (search.ocr.photos_queued_before)."""
    from search import ocr

    ocr.photos_queued_before(queued_before)
    report = ocr.photos_read_text()
    if not report.storage_down:  # (else the next reader would try the store at once, and so on: the sweep will)
        ocr.ocr_readers_start()
    return {"done": report.done, "failed": report.failed, "retry": report.retry}


def read_asked_text_task(family_id: int) -> int:
    """Queued by an earlier version for a family's "Read the N skipped photos": its photos wait in the database, so
    it queues readers."""
    from search import ocr

    return ocr.ocr_readers_start()


def suggestions_recompute_task(family_id: int | None = None) -> int:
    from search.suggestions import suggestions_recompute

    return suggestions_recompute(family_id=family_id)


def calibration_fit_task(family_id: int, asked_after: int | None = None) -> dict:
    """Fit one family's calibration from its judgments (the quality page's button). `asked_after`: the family's latest
    fit when it was asked for (a task queued before it was passed, None)."""
    from gallery.models import Family
    from search.quality import NotEnoughJudgments, calibration_fit

    if not Family.objects.filter(pk=family_id).exists():  # deleted since it was asked for (its last member left)
        return {"family": family_id, "fitted": False, "reason": "The family no longer exists."}
    try:
        fitted = calibration_fit(family_id=family_id, asked_after=asked_after)
    except NotEnoughJudgments as exc:
        return {"family": family_id, "fitted": False, "reason": str(exc)}
    return {"family": family_id, "fitted": True, "applied": fitted.applied, "id": fitted.pk}


def calibrations_fit_task() -> list[dict]:
    """Nightly: fit every family with judgments newer than its latest fit."""
    from search.quality import calibrations_fit_due

    return [calibration_fit_task(family_id) for family_id in calibrations_fit_due()]


def text_embeddings_task(model_name: str, terms: list[str]) -> int:
    """Encode and cache the text embeddings a page left to the worker (search.text_embeddings.EncodeBudget); how many
    the model had to encode (0 when another task got there first)."""
    from search.embedder import ModelUnavailable, get_embedder
    from search.text_embeddings import term_vectors

    try:
        embedder = get_embedder(model_name, allow_download=True)
    except ModelUnavailable:
        return 0  # the page says the model is missing; nothing to cache until it is back
    return term_vectors(embedder, list(terms))[1]
