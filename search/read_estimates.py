"""What reading photos' text costs the OCR worker, as a member reads it before asking for many (the selection bar's
"Read text", the Index page's "Read the N skipped photos"): the photos times what one reading costs on this
installation, the median of the worker's latest readings that worked (search.models.TextReading),
OCR_SECONDS_PER_PHOTO until it has read enough. Importable by selectors and services alike (search.ocr_requests
asks, search.selectors' MetadataProgress estimates)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from django.conf import settings

from search.models import TextReading

# Past this much of the worker's time (200 photos at 3 s), the Index page asks "are you sure?" with the figure first.
CONFIRM_SECONDS = 10 * 60
# The readings a photo's cost is the median of: the latest, so a faster machine or a new OCR model shows within an
# hour of reading; a median, so a few huge scans or a reading slowed by a busy machine do not move it.
READINGS_RECENT = 200
# Fewer readings than this say little (the first photos read may all be one kind): the setting stands in for them.
READINGS_ENOUGH = 20
# The readings kept (the sweep deletes older ones, search.ocr.ocr_missing): the estimate and the readers' turns
# (search.ocr._next_to_read: the family read longest ago first) need the latest only.
READINGS_KEPT = 1000


def seconds_per_photo() -> float:
    """What reading one photo's text costs this installation's OCR worker, in seconds: the median of its latest
    READINGS_RECENT readings that worked, or OCR_SECONDS_PER_PHOTO while it has fewer than READINGS_ENOUGH (a
    failed one may have ended at once, its file missing: no measure of what reading costs)."""
    latest = list(TextReading.objects.filter(succeeded=True).order_by("-read_at")
                  .values_list("seconds", flat=True)[:READINGS_RECENT])
    if len(latest) < READINGS_ENOUGH:
        return settings.OCR_SECONDS_PER_PHOTO
    return statistics.median(latest)


def worker_seconds(photos: int) -> int:
    """What reading this many photos costs the OCR worker, in whole seconds (seconds_per_photo a photo)."""
    return ReadEstimate(photos).seconds


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
    per_photo: float = field(default_factory=seconds_per_photo)  # seconds a photo, looked up once

    @property
    def seconds(self) -> int:
        return round(self.photos * self.per_photo)

    @property
    def words(self) -> str:
        return worker_time_words(self.seconds)

    @property
    def needs_confirming(self) -> bool:
        return self.seconds > CONFIRM_SECONDS
