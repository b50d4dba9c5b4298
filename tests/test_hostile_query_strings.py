"""Every URL the site answers GET on, walked with hostile query strings (NUL, invalid UTF-8, numbers past bigint,
impossible dates, 10,000 characters, repeated and array-style parameters): a page, a message or a 4xx, never a 500.

The URLs come from the URL configuration itself, so a new page is walked without being listed here; a URL whose
argument this module cannot fill fails the test, to be added to ARGUMENTS. Odd search text (search/tests/
test_odd_queries.py), other families' ids (gallery/tests/test_isolation.py, search/tests/test_search_isolation.py)
and the API's own schema-driven fuzzing (tests/test_api_contract.py) are covered next to what they test."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from gallery.account_services import invite_create
from gallery.album_services import album_add_photos, album_create, share_create
from gallery.models import TagSuggestion
from gallery.tokens import api_token_create
from search.judgment_services import judgment_record
from tests.factories import api_token_key, photo_factory

pytestmark = pytest.mark.django_db

# The names of every parameter the pages and the API read, each given the same hostile value at once, so that a value
# no form refuses first reaches every reader.
PARAMETERS = (
    "q family uploader uploaded_by tag country place after before taken_after taken_before month near sort show_hidden "
    "favourite like unlike plain chip chip_place chip_after chip_before preview_q semantic_weight metadata_weight "
    "min_score expansion_enabled default_sort min_probability page page_size limit from album photo photos download "
    "cancel next"
).split()

# Raw query-string values (already percent-encoded where they must be).
HOSTILE = {
    "empty": "",
    "whitespace": "%20%09%20",
    "nul": "a%00b",
    "invalid-utf8": "%ff%fe",
    "lone-surrogate": "%ed%a0%80",
    "rtl-emoji": "%E2%80%AE%F0%9F%98%80",
    "negative": "-1",
    "zero": "0",
    "past-bigint": "99999999999999999999",
    "float": "1.5",
    "nan": "nan",
    "zero-date": "0000-00-00",
    "last-date": "9999-12-31",
    "impossible-date": "2023-02-30",
    "long": "x" * 10000,
}
REPEATED = ("{name}=1&{name}=2&{name}=abc", "{name}[]=1&{name}[]=2")

# Not pages of the product, or not for a signed-in member: Django's admin (its own code) and the API schema.
SKIPPED_PREFIXES = ("admin/", "api/v1/schema/")


def _get_patterns(resolver: URLResolver | None = None, prefix: str = "", namespace: str = ""):
    """(pattern text, URL name to reverse, its argument names) of every named URL."""
    for entry in (resolver or get_resolver()).url_patterns:
        text = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _get_patterns(entry, text, inner)
        elif isinstance(entry, URLPattern) and entry.name and not text.startswith(SKIPPED_PREFIXES):
            yield text, namespace + entry.name, list(entry.pattern.regex.groupindex)


@pytest.fixture
def objects(family, alice, bob):
    """One of everything a URL can name, in alice's family."""
    photo = photo_factory(family=family, user=alice, tags=["beach"])
    other = photo_factory(family=family, user=alice)
    album = album_create(user=alice, family=family, name="Holidays")
    album_add_photos(user=alice, album=album, photo_ids=[photo.pk, other.pk])
    share = share_create(user=alice, album=album, days=7)
    suggestion = TagSuggestion.objects.create(photo=photo, name="sea", probability=0.9, model_name="toy")
    judgment, _ = judgment_record(user=alice, photo=photo, query="beach", relevant=True)
    invite = invite_create(family=family, created_by=alice)
    token, _ = api_token_create(user=alice, label="walk")
    return {"photo_id": photo.pk, "album_id": album.pk, "family_id": family.pk, "user_id": bob.pk,
            "suggestion_id": suggestion.pk, "judgment_id": judgment.pk, "share_id": share.share.pk,
            "invite_id": invite.invite.pk, "token_id": token.pk, "shared_token": share.token,
            "invite_token": invite.token}


def _urls(objects) -> list[str]:
    urls, unknown = [], []
    for text, name, arguments in _get_patterns():
        kwargs = {}
        for argument in arguments:
            key = ("shared_token" if name.startswith("shared") else "invite_token") if argument == "token" else argument
            if key not in objects:
                unknown.append((text, argument))
            kwargs[argument] = objects.get(key, 1)
        urls.append(reverse(name, kwargs=kwargs))
    assert unknown == [], "add these URL arguments to the objects fixture"
    return sorted(set(urls))


def test_no_get_url_answers_a_hostile_query_string_with_a_500(objects, alice, settings):
    settings.DEBUG = False
    page = Client(raise_request_exception=True)
    page.force_login(alice)
    api = Client(raise_request_exception=True, headers={"Authorization": f"Token {api_token_key(alice)}"})
    walked, problems = 0, []
    for url in _urls(objects):
        client = api if url.startswith("/api/") else page
        if client.get(url).status_code == 405:  # a POST-only URL
            continue
        walked += 1
        queries = ["&".join(f"{name}={value}" for name in PARAMETERS) for value in HOSTILE.values()]
        queries += ["&".join(form.format(name=name) for name in PARAMETERS) for form in REPEATED]
        for query in queries:
            for headers in ({}, {"HX-Request": "true"}) if client is page else ({},):
                try:
                    status = client.get(f"{url}?{query}", headers=headers).status_code
                except Exception as exc:  # noqa: BLE001 - collected: one run names every URL that fails
                    problems.append((url, query[:60], headers, f"{type(exc).__name__}: {exc}"[:200]))
                    continue
                if status >= 500:
                    problems.append((url, query[:60], headers, status))
    assert walked > 40  # the walk reached the pages (not all 405s or sign-in redirects)
    assert problems == []
