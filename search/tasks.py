"""django-q2 tasks: thin wrappers that call services."""

from __future__ import annotations

from search import services


def embed_photos_task(photo_ids: list[int]) -> dict:
    report = services.embed_photos(photo_ids=photo_ids)
    return {"ready": report.ready, "failed": report.failed, "model_error": report.model_error}


def embed_missing_task() -> int:
    return services.embed_missing()


def photos_recover_task() -> int:
    return services.photos_recover()


def read_text_task(photo_ids: list[int]) -> dict:
    from search import ocr

    report = ocr.photos_read_text(photo_ids=photo_ids)
    return {"done": report.done, "failed": report.failed, "retry": report.retry}


def suggestions_recompute_task(family_id: int | None = None) -> int:
    from search.suggestions import suggestions_recompute

    return suggestions_recompute(family_id=family_id)
