"""System checks: settings that can't work are said at start-up (`manage.py check`, serve, the worker), not as a
500 on the first page that uses them."""

from __future__ import annotations

import pytest
from django.core import checks


@pytest.mark.parametrize("name", ["GALLERY_PAGE_SIZE", "DUPLICATE_GROUPS_PAGE_SIZE"])
def test_a_page_size_below_one_is_an_error_at_start_up(settings, name):
    assert not [m for m in checks.run_checks() if m.id == "gallery.E001"]
    setattr(settings, name, 0)
    errors = [m for m in checks.run_checks() if m.id == "gallery.E001"]
    assert len(errors) == 1 and errors[0].msg.startswith(f"{name}=0")


@pytest.mark.parametrize("rate", ["lots", "20", "20/fortnight", "twenty/minute", "20/"])
def test_an_api_token_rate_that_cannot_be_read_is_an_error_at_start_up(settings, rate):
    """A mistyped API_TOKEN_RATE let the site start, then answered every POST /api/v1/auth/token/ with a 500."""
    assert not [m for m in checks.run_checks() if m.id == "gallery.E002"]
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"api_token": rate}}
    errors = [m for m in checks.run_checks() if m.id == "gallery.E002"]
    assert len(errors) == 1 and errors[0].msg.startswith(f"API_TOKEN_RATE={rate!r}")


@pytest.mark.parametrize("rate", ["20/minute", "5/second", "100/hour", "1000/day", "20/m"])
def test_api_token_rates_drf_reads_pass(settings, rate):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"api_token": rate}}
    assert not [m for m in checks.run_checks() if m.id == "gallery.E002"]


@pytest.mark.parametrize("days", [0, 366, 1000])
def test_a_share_days_default_outside_what_a_link_may_last_is_an_error_at_start_up(settings, days):
    """SHARE_DAYS=1000 started, then refused every new share link made without a lifetime of its own (the API's
    400 named `days`, which the request had not sent)."""
    assert not [m for m in checks.run_checks() if m.id == "gallery.E003"]
    settings.SHARE_DAYS = days
    errors = [m for m in checks.run_checks() if m.id == "gallery.E003"]
    assert len(errors) == 1 and errors[0].msg.startswith(f"SHARE_DAYS={days}")


@pytest.mark.parametrize(("variable", "setting"), [
    ("EMBED_TASK_SIZE", "EMBED_TASK_SIZE"), ("OCR_TASK_SIZE", "OCR_TASK_SIZE"), ("SEARCH_BATCH_SIZE", "SEARCH_BATCH_SIZE"),
    ("THUMBNAIL_SIZE", "THUMBNAIL_SIZE"), ("DISPLAY_SIZE", "DISPLAY_SIZE"), ("LEASE_SECONDS", "LEASE_SECONDS"),
    ("WORKER_HEARTBEAT_SECONDS", "WORKER_HEARTBEAT_SECONDS"), ("EMBED_MAX_ATTEMPTS", "EMBED_MAX_ATTEMPTS"),
    ("OCR_MAX_ATTEMPTS", "OCR_MAX_ATTEMPTS"), ("UPLOAD_MAX_FILES", "UPLOAD_MAX_FILES"),
    ("DOWNLOAD_MAX_PHOTOS", "DOWNLOAD_MAX_PHOTOS"), ("SLIDESHOW_SECONDS", "SLIDESHOW_SECONDS"),
    ("INVITE_DAYS", "INVITE_DAYS"), ("SIGNIN_FAILURE_LIMIT", "AXES_FAILURE_LIMIT"),
    # EMBEDDED_TIMEOUT=0 stopped the metadata reader at once for every file (no keyword, title or place was ever
    # read, a warning per upload); OCR_MAX_SIDE=0 and TAG_SUGGESTION_LIMIT=0 read no text and kept no suggestion.
    ("EMBEDDED_TIMEOUT", "EMBEDDED_TIMEOUT"), ("OCR_MAX_SIDE", "OCR_MAX_SIDE"),
    ("TAG_SUGGESTION_LIMIT", "TAG_SUGGESTION_LIMIT"),
])
def test_a_count_or_duration_below_one_is_an_error_at_start_up(settings, variable, setting):
    """0 reads like "no limit" to many, but none of these can be 0: THUMBNAIL_SIZE=0 made every upload a 500,
    SIGNIN_FAILURE_LIMIT=0 locked every account at its first sign-in (the right password answered 429),
    EMBED_TASK_SIZE=0 failed the queueing of every stored photo (chunks of 0). They are refused at start-up, named."""
    assert not [m for m in checks.run_checks() if m.id == "gallery.E004"]
    setattr(settings, setting, 0)
    errors = [m for m in checks.run_checks() if m.id == "gallery.E004"]
    assert len(errors) == 1 and errors[0].msg.startswith(f"{variable}=0")


@pytest.mark.parametrize(("variable", "setting"), [
    ("WEB_WORKERS", "WEB_WORKERS"), ("UPLOAD_MAX_BYTES", "UPLOAD_MAX_BYTES"),
    ("UPLOAD_MAX_REQUEST_BYTES", "UPLOAD_MAX_REQUEST_BYTES"), ("UPLOAD_MAX_PIXELS", "UPLOAD_MAX_PIXELS"),
    ("UPLOAD_MAX_PIXELS_JPEG", "UPLOAD_MAX_PIXELS_JPEG"), ("DECODE_MAX_MEMORY", "DECODE_MAX_MEMORY"),
    ("EMBEDDED_MAX_MEMORY", "EMBEDDED_MAX_MEMORY"), ("ALBUM_MAX_PHOTOS", "ALBUM_MAX_PHOTOS"),
    ("API_TOKEN_MAX", "API_TOKEN_MAX"), ("SHARE_PASSWORD_TRIES", "SHARE_PASSWORD_TRIES"),
    ("SHARE_PASSWORD_WINDOW", "SHARE_PASSWORD_WINDOW"), ("DUPLICATE_NEIGHBOURS", "DUPLICATE_NEIGHBOURS"),
])
def test_a_size_or_limit_of_zero_the_readme_says_stops_start_up_does(settings, variable, setting):
    """README, Configuration: "a value that can't work (a size, limit or time of 0 …) stops start-up". These started
    and failed quietly: UPLOAD_MAX_BYTES=0 refused every file as too large, UPLOAD_MAX_PIXELS=0 every picture,
    API_TOKEN_MAX=0 kept no token, ALBUM_MAX_PHOTOS=0 showed every smart album empty, SHARE_PASSWORD_WINDOW=0 counted
    no share-link password try (guesses without end), WEB_WORKERS=0 started a web server that never answers."""
    assert not [m for m in checks.run_checks() if m.id == "gallery.E004"]
    setattr(settings, setting, 0)
    errors = [m for m in checks.run_checks() if m.id == "gallery.E004"]
    assert len(errors) == 1 and errors[0].msg.startswith(f"{variable}=0:")


@pytest.mark.parametrize("variable", ["Q_WORKERS", "Q_TIMEOUT", "SIGNIN_LOCKOUT_MINUTES"])
def test_a_worker_count_timeout_or_lockout_of_zero_stops_start_up(settings, variable):
    """SIGNIN_LOCKOUT_MINUTES=0 switched the sign-in lockout off without a word (django-axes counts only the failures
    newer than now minus the lockout: none). django-q2 reads 0 as "unset": Q_WORKERS=0 ran as many worker processes
    as the machine has cores (each loading the model), Q_TIMEOUT=0 let a task run without a limit, so one still
    running was delivered again after Q_RETRY (django-q2 only printed a warning)."""
    from datetime import timedelta

    assert not [m for m in checks.run_checks() if m.id == "gallery.E004"]
    if variable == "SIGNIN_LOCKOUT_MINUTES":
        settings.AXES_COOLOFF_TIME = timedelta(0)
    else:
        settings.Q_CLUSTER = {**settings.Q_CLUSTER, variable.removeprefix("Q_").lower(): 0}
    errors = [m for m in checks.run_checks() if m.id == "gallery.E004"]
    assert len(errors) == 1 and errors[0].msg.startswith(f"{variable}=0:")

@pytest.mark.parametrize(("change", "said"), [
    ({"max_attempts": 0}, "Q_MAX_ATTEMPTS=0"),
    ({"timeout": 900, "retry": 720}, "Q_RETRY=720"),
    ({"timeout": 720, "retry": 720}, "Q_RETRY=720"),
])
def test_a_task_queue_that_would_loop_or_run_a_task_twice_is_an_error_at_start_up(settings, change, said):
    """Q_MAX_ATTEMPTS=0 (meant as "don't retry") is django-q2's "retry for ever": a task that always fails (a poison
    photo) looped without end. Q_RETRY not above Q_TIMEOUT delivered a task again while it still ran (django-q2 only
    printed a warning)."""
    assert not [m for m in checks.run_checks() if m.id == "gallery.E005"]
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, **change}
    errors = [m for m in checks.run_checks() if m.id == "gallery.E005"]
    assert len(errors) == 1 and errors[0].msg.startswith(said)


@pytest.mark.parametrize(("variable", "value"), [
    ("MODEL_SWITCH_KEEP_DAYS", -1), ("MODEL_SWITCH_KEEP_DAYS", 99_999_999_999), ("TRASH_DAYS", -5),
    ("TRASH_DAYS", 10_000_000), ("INVITE_DAYS", 5_000_000), ("API_TOKEN_IDLE_DAYS", -1),
    ("API_TOKEN_IDLE_DAYS", 4_000_000), ("INVITE_KEEP_DAYS", -1), ("INVITE_KEEP_DAYS", 40_000),
])
def test_a_number_of_days_past_any_calendar_or_below_zero_is_an_error_at_start_up(settings, variable, value):
    """MODEL_SWITCH_KEEP_DAYS=99999999999 started, then made the Index page a 500 (a date past the year 9999), and a
    negative one showed the previous model "kept until" a day gone by; so with the other numbers of days."""
    assert not [m for m in checks.run_checks() if m.id == "gallery.E006"]
    setattr(settings, variable, value)
    errors = [m for m in checks.run_checks() if m.id == "gallery.E006"]
    assert len(errors) == 1 and errors[0].msg.startswith(f"{variable}={value}")


@pytest.mark.parametrize(("variable", "value"), [("MODEL_SWITCH_KEEP_DAYS", 0), ("TRASH_DAYS", 0),
                                                 ("API_TOKEN_IDLE_DAYS", 0), ("MODEL_SWITCH_KEEP_DAYS", 3650)])
def test_days_that_make_sense_pass(settings, variable, value):
    setattr(settings, variable, value)
    assert not [m for m in checks.run_checks() if m.id == "gallery.E006"]


@pytest.mark.parametrize(("value", "hint"), [("UK", "GB"), ("PORTUGAL", "PT"), ("XX", "two-letter")])
def test_a_default_country_that_is_no_country_code_is_an_error_at_start_up(settings, value, hint):
    """DEFAULT_COUNTRY=UK (the United Kingdom's code is GB) started without a word, and every new family then had no
    default country: "christmas" never found its photos without GPS, and nothing said why."""
    assert not [m for m in checks.run_checks() if m.id == "gallery.E007"]
    settings.DEFAULT_COUNTRY = value
    errors = [m for m in checks.run_checks() if m.id == "gallery.E007"]
    assert len(errors) == 1 and errors[0].msg.startswith(f"DEFAULT_COUNTRY={value}") and hint in errors[0].hint


@pytest.mark.parametrize("value", ["", "GB", "PT", "NZ"])
def test_a_default_country_code_or_none_passes(settings, value):
    settings.DEFAULT_COUNTRY = value
    assert not [m for m in checks.run_checks() if m.id == "gallery.E007"]


@pytest.mark.parametrize("name", ["RENDITION_SWEEP_LIMIT", "PLACE_SWEEP_LIMIT", "EMBEDDED_SWEEP_LIMIT",
                                  "EMBED_SWEEP_LIMIT"])
def test_a_negative_sweep_limit_is_an_error_at_start_up(settings, name):
    """PLACE_SWEEP_LIMIT=-5 started, then the periodic sweep raised "Negative indexing is not supported" every time,
    before it queued the photos still to embed (0 stays: that share of the sweep does nothing)."""
    assert not [m for m in checks.run_checks() if m.id == "gallery.E008"]
    setattr(settings, name, 0)
    assert not [m for m in checks.run_checks() if m.id == "gallery.E008"]
    setattr(settings, name, -5)
    errors = [m for m in checks.run_checks() if m.id == "gallery.E008"]
    assert len(errors) == 1 and errors[0].msg.startswith(f"{name}=-5")


@pytest.mark.parametrize("name", ["TAG_SUGGESTION_THRESHOLD", "OCR_MIN_CONFIDENCE"])
@pytest.mark.parametrize("value", [50.0, 1.5, -0.1, float("nan")])
def test_a_probability_outside_0_to_1_is_an_error_at_start_up(settings, name, value):
    """TAG_SUGGESTION_THRESHOLD=50 (meant as 50 %) started and no photo was ever suggested a tag, and
    OCR_MIN_CONFIDENCE=50 dropped every line read ("None found" on a photo of a sign), both without a word."""
    assert not [m for m in checks.run_checks() if m.id == "gallery.E009"]
    setattr(settings, name, value)
    errors = [m for m in checks.run_checks() if m.id == "gallery.E009"]
    assert len(errors) == 1 and errors[0].msg.startswith(f"{name}={value}")


@pytest.mark.parametrize("value", [0.0, 0.5, 1.0])
def test_probabilities_from_0_to_1_pass(settings, value):
    settings.TAG_SUGGESTION_THRESHOLD = settings.OCR_MIN_CONFIDENCE = value
    assert not [m for m in checks.run_checks() if m.id == "gallery.E009"]


@pytest.mark.parametrize("value", [float("nan"), float("inf"), 0.0, -3.0])
def test_seconds_per_photo_read_is_a_finite_time_at_start_up(settings, value):
    """OCR_SECONDS_PER_PHOTO=nan or inf started (float() reads both) and the Index page was a 500 for every family
    with a skipped photo (round(nan) in its estimate); 0 or less made every bulk read "under a minute"."""
    assert not [m for m in checks.run_checks() if m.id == "gallery.E010"]
    settings.OCR_SECONDS_PER_PHOTO = value
    errors = [m for m in checks.run_checks() if m.id == "gallery.E010"]
    assert len(errors) == 1 and errors[0].msg.startswith(f"OCR_SECONDS_PER_PHOTO={value}")
    settings.OCR_SECONDS_PER_PHOTO = 0.5
    assert not [m for m in checks.run_checks() if m.id == "gallery.E010"]
