"""System checks (`manage.py check`, and every start): settings that can't work together are said at start-up."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.core import checks
from django.core.files.storage import FileSystemStorage, default_storage
from rest_framework.throttling import SimpleRateThrottle

from gallery.album_services import SHARE_MAX_DAYS


@checks.register(checks.Tags.files)
def media_accel_needs_the_file_system(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """X-Accel-Redirect / X-Sendfile hand the front web server a file on its disk: with another storage (S3) the
    views stream through Django instead, which works, but the setting is not doing what its writer meant."""
    if settings.MEDIA_ACCEL in ("x-accel", "x-sendfile") and not isinstance(default_storage, FileSystemStorage):
        return [checks.Warning(
            f"MEDIA_ACCEL={settings.MEDIA_ACCEL} is ignored: media is not on the file system "
            f"({default_storage.__class__.__name__}), so Django streams the files itself.",
            hint="Unset MEDIA_ACCEL, or keep media on the file system (MEDIA_STORAGE=filesystem).",
            id="gallery.W001")]
    return []


# Settings that cut a list into pages: a page of 0 photos (or groups) can't be drawn.
PAGE_SIZES = ("GALLERY_PAGE_SIZE", "DUPLICATE_GROUPS_PAGE_SIZE")


@checks.register()
def page_sizes_are_positive(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    return [checks.Error(f"{name}={getattr(settings, name)}: a page must hold at least one item.",
                         hint=f"Set {name} to 1 or more, or unset it for the default.", id="gallery.E001")
            for name in PAGE_SIZES if getattr(settings, name) < 1]


@checks.register()
def api_token_rate_is_readable(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """DRF reads the rate only when a request is throttled: a mistyped one would make every token request a 500."""
    rate = settings.REST_FRAMEWORK.get("DEFAULT_THROTTLE_RATES", {}).get("api_token")
    try:
        SimpleRateThrottle.parse_rate(None, rate)
    except (ValueError, KeyError, IndexError):
        return [checks.Error(f"API_TOKEN_RATE={rate!r} is not a rate: requests per second, minute, hour or day.",
                             hint="Write it as N/second, N/minute, N/hour or N/day (e.g. 20/minute), or unset it.",
                             id="gallery.E002")]
    return []


@checks.register()
def share_days_is_a_lifetime_a_link_may_have(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """SHARE_DAYS is the lifetime of a link made without one of its own, so it must be one the share form accepts."""
    if not 1 <= settings.SHARE_DAYS <= SHARE_MAX_DAYS:
        return [checks.Error(f"SHARE_DAYS={settings.SHARE_DAYS}: a share link lasts from 1 to {SHARE_MAX_DAYS} days.",
                             hint=f"Set SHARE_DAYS between 1 and {SHARE_MAX_DAYS}, or unset it for the default (30).",
                             id="gallery.E003")]
    return []


# Counts and durations none of which can be 0 (it reads like "no limit" to many): environment variable -> its value,
# read from the setting of the same name or, for those that are part of another, from that one (django-q2 reads a 0
# as unset: as many workers as cores, no time limit; django-axes a lockout of 0 minutes as no lockout).
AT_LEAST_ONE: dict[str, Callable[[], int]] = {name: (lambda name=name: getattr(settings, name)) for name in (
    "EMBED_TASK_SIZE", "OCR_TASK_SIZE", "SEARCH_BATCH_SIZE", "THUMBNAIL_SIZE", "DISPLAY_SIZE", "LEASE_SECONDS",
    "WORKER_HEARTBEAT_SECONDS", "EMBED_MAX_ATTEMPTS", "OCR_MAX_ATTEMPTS", "UPLOAD_MAX_FILES", "DOWNLOAD_MAX_PHOTOS",
    "SLIDESHOW_SECONDS", "INVITE_DAYS", "EMBEDDED_TIMEOUT", "OCR_MAX_SIDE", "TAG_SUGGESTION_LIMIT", "WEB_WORKERS",
    "UPLOAD_MAX_BYTES", "UPLOAD_MAX_REQUEST_BYTES", "UPLOAD_MAX_PIXELS", "UPLOAD_MAX_PIXELS_JPEG", "DECODE_MAX_MEMORY",
    "EMBEDDED_MAX_MEMORY", "ALBUM_MAX_PHOTOS", "API_TOKEN_MAX", "SHARE_PASSWORD_TRIES", "SHARE_PASSWORD_WINDOW",
    "DUPLICATE_NEIGHBOURS")} | {
    "SIGNIN_FAILURE_LIMIT": lambda: settings.AXES_FAILURE_LIMIT,
    "Q_WORKERS": lambda: settings.Q_CLUSTER.get("workers", 1),
    "Q_TIMEOUT": lambda: settings.Q_CLUSTER.get("timeout", 1),
    "SIGNIN_LOCKOUT_MINUTES": lambda: settings.AXES_COOLOFF_TIME // timedelta(minutes=1),
}


@checks.register()
def counts_are_at_least_one(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    values = {variable: read() for variable, read in AT_LEAST_ONE.items()}
    return [checks.Error(f"{variable}={value}: it must be 1 or more.",
                         hint=f"Set {variable} to 1 or more, or unset it for the default (README, Configuration).",
                         id="gallery.E004")
            for variable, value in values.items() if value < 1]


@checks.register()
def task_queue_ends_and_redelivers_after_the_timeout(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """django-q2 reads max_attempts 0 as "for ever" (a task that always fails loops without end), and only warns when
    a task would be delivered again while it still runs (retry not above timeout)."""
    queue, errors = settings.Q_CLUSTER, []
    if queue.get("max_attempts", 0) < 1:
        errors.append(checks.Error(
            f"Q_MAX_ATTEMPTS={queue.get('max_attempts', 0)}: the task queue would deliver a failing task for ever.",
            hint="Set Q_MAX_ATTEMPTS to 1 or more (1: no second try), or unset it for the default (3).",
            id="gallery.E005"))
    if queue.get("retry", 0) <= queue.get("timeout", 0):
        errors.append(checks.Error(
            f"Q_RETRY={queue.get('retry')} is not above Q_TIMEOUT={queue.get('timeout')}: a task still running would "
            "be delivered again.", hint="Set Q_RETRY above Q_TIMEOUT (defaults 720 and 600).", id="gallery.E005"))
    return errors


# Numbers of days, each the time until something happens (or how long it lasts): none can be negative, and each must
# leave a date a calendar holds (past the year 9999, the page that computes it is a 500). 100 years is plenty.
DAY_COUNTS = ("MODEL_SWITCH_KEEP_DAYS", "TRASH_DAYS", "INVITE_DAYS", "INVITE_KEEP_DAYS", "API_TOKEN_IDLE_DAYS")
MOST_DAYS = 36_500


@checks.register()
def day_counts_fit_a_calendar(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    return [checks.Error(f"{name}={getattr(settings, name)}: a number of days from 0 to {MOST_DAYS:,} (100 years).",
                         hint=f"Set {name} between 0 and {MOST_DAYS}, or unset it for the default (README, "
                              "Configuration).", id="gallery.E006")
            for name in DAY_COUNTS if not 0 <= getattr(settings, name) <= MOST_DAYS]


@checks.register()
def default_country_is_a_country_code(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """New families take DEFAULT_COUNTRY as their default country (holidays and hemisphere of photos without GPS); one
    that is no country's code was dropped without a word, so "christmas" never found those photos."""
    from gallery.places import country_code_for, country_name

    value = settings.DEFAULT_COUNTRY
    if not value or country_name(value):
        return []
    code = country_code_for(value)
    hint = (f"{country_name(code)}'s code is {code}: set DEFAULT_COUNTRY={code}." if code else
            "Set DEFAULT_COUNTRY to a country's two-letter ISO code (GB, PT, US, …), or unset it.")
    return [checks.Error(f"DEFAULT_COUNTRY={value} is no country's code: new families would start with no default "
                         "country.", hint=hint, id="gallery.E007")]


# How many photos each share of the periodic sweep takes: 0 takes none, a negative number can't slice a query (the
# sweep raised before it queued the photos still to embed).
SWEEP_LIMITS = ("RENDITION_SWEEP_LIMIT", "PLACE_SWEEP_LIMIT", "EMBEDDED_SWEEP_LIMIT", "EMBED_SWEEP_LIMIT")


@checks.register()
def sweep_limits_are_not_negative(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    return [checks.Error(f"{name}={getattr(settings, name)}: a number of photos, 0 or more.",
                         hint=f"Set {name} to 0 or more, or unset it for the default (README, Configuration).",
                         id="gallery.E008")
            for name in SWEEP_LIMITS if getattr(settings, name) < 0]


# A calibrated probability and a confidence the model's numbers are compared with: from 0 to 1. One written as a
# percentage (50) or past 1 matches nothing, silently: no suggestion, no text line kept. (OCR_GATE_THRESHOLD past 1
# is a way to read text only when asked, and the Index page counts the photos it skips.)
PROBABILITIES = ("TAG_SUGGESTION_THRESHOLD", "OCR_MIN_CONFIDENCE")


@checks.register()
def probabilities_are_from_0_to_1(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    return [checks.Error(f"{name}={getattr(settings, name)}: a probability, from 0 to 1 (0.5 is 50 %).",
                         hint=f"Set {name} between 0 and 1, or unset it for the default (README, Configuration).",
                         id="gallery.E009")
            for name in PROBABILITIES if not 0 <= getattr(settings, name) <= 1]


@checks.register()
def seconds_per_photo_read_is_a_time(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """OCR_SECONDS_PER_PHOTO: float() reads nan and inf, which made the Index page's estimate a 500 (round(nan)), and
    0 or less an estimate of nothing before a member asks for hours of the worker's time."""
    seconds = settings.OCR_SECONDS_PER_PHOTO
    if math.isfinite(seconds) and seconds > 0:
        return []
    return [checks.Error(f"OCR_SECONDS_PER_PHOTO={seconds}: the seconds reading one photo's text takes, more than 0.",
                         hint="Set OCR_SECONDS_PER_PHOTO to a number above 0 (bench/ocr_throughput.py measures it), "
                              "or unset it for the default (README, Configuration).", id="gallery.E010")]
