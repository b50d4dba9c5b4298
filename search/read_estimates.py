"""What reading photos' text costs the OCR worker, as a member reads it before asking for many (the selection bar's
"Read text", the Index page's "Read the N skipped photos"): plain arithmetic on OCR_SECONDS_PER_PHOTO, importable by
selectors and services alike (search.ocr_requests asks, search.selectors' MetadataProgress estimates)."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

# Past this much of the worker's time (200 photos at 3 s), the Index page asks "are you sure?" with the figure first.
CONFIRM_SECONDS = 10 * 60


def worker_seconds(photos: int) -> int:
    """What reading this many photos costs the OCR worker, in whole seconds (OCR_SECONDS_PER_PHOTO a photo)."""
    return round(photos * settings.OCR_SECONDS_PER_PHOTO)


def worker_time_words(seconds: float) -> str:
    """A duration as a member reads an estimate: "under a minute", "about 2 minutes", "about an hour", "about 2
    hours", "about 3 days" (rounded to the nearest unit; an estimate has no more precision than that)."""
    for unit, length, one in (("day", 86400, "a day"), ("hour", 3600, "an hour"), ("minute", 60, "a minute")):
        if seconds >= (1.5 if unit == "minute" else 0.95) * length:
            n = round(seconds / length)
            return f"about {one}" if n == 1 else f"about {n} {unit}s"
    return "under a minute" if seconds < 45 else "about a minute"


@dataclass(frozen=True)
class ReadEstimate:
    """What asking for these photos' text costs the worker."""

    photos: int

    @property
    def seconds(self) -> int:
        return worker_seconds(self.photos)

    @property
    def words(self) -> str:
        return worker_time_words(self.seconds)

    @property
    def needs_confirming(self) -> bool:
        return self.seconds > CONFIRM_SECONDS
