"""Security headers on every page, without a browser: every GET route of the site (found by walking the URL
resolver, so a page added later is covered without touching this file) answers with the Content-Security-Policy,
and no HTML page carries what that policy forbids (an inline script, an on…= handler, a style attribute or element,
a javascript: URL). The browser test (tests/browser/test_csp_browser.py) checks the same with the policy enforced."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from gallery.account_services import invite_create
from gallery.album_services import album_add_photos, album_create, share_create
from gallery.models import Membership
from gallery.tokens import api_token_create
from gallery.trash_services import photos_trash
from tests.factories import photo_factory

pytestmark = pytest.mark.django_db

POLICY = {
    "default-src": "'self'", "script-src": "'self'", "style-src": "'self'", "img-src": "'self' data: blob:",
    "connect-src": "'self'", "frame-ancestors": "'none'", "form-action": "'self'", "base-uri": "'self'",
    "object-src": "'none'",
}


def directives(header: str) -> dict[str, str]:
    parts = (part.strip().split(None, 1) for part in header.split(";") if part.strip())
    return {part[0]: part[1] if len(part) > 1 else "" for part in parts}


class _Forbidden(HTMLParser):
    """What a strict CSP refuses in a page's markup."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self._in_inline_script = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name, value in attrs.items():
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=…> (an inline event handler)")
            if name == "style":
                self.problems.append(f"<{tag} style=\"{value}\"> (a style attribute)")
            if name in ("href", "src", "action", "formaction") and (value or "").strip().lower().startswith("javascript:"):
                self.problems.append(f"<{tag} {name}=\"{value}\"> (a javascript: URL)")
            if name.startswith("hx-on") or name.startswith("data-hx-on"):
                self.problems.append(f"<{tag} {name}=…> (hx-on needs eval)")
        if tag == "style":
            self.problems.append("<style> (an inline style element)")
        # A data block (type="application/json") is not run; any other script must come from a file.
        if tag == "script" and not attrs.get("src") and attrs.get("type", "text/javascript") in (
                "text/javascript", "module", "application/javascript", ""):
            self.problems.append("<script> with an inline body")


def forbidden_markup(html: str) -> list[str]:
    parser = _Forbidden()
    parser.feed(html)
    return parser.problems


def _routes(patterns, prefix: str = ""):
    """(route, name) of every URL pattern below `patterns`, as route strings with their <converters>."""
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _routes(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry.name


@pytest.fixture
def site(family, alice, bob):
    """A family with a photo in an album, a trashed photo, a share link and an invitation: something on every page."""
    alice.is_staff = alice.is_superuser = True
    alice.save()
    photo = photo_factory(family=family, user=alice, filename="beach.jpg")
    trashed = photo_factory(family=family, user=alice, filename="gone.jpg")
    photos_trash(user=alice, photo_ids=[trashed.pk])
    album = album_create(user=alice, family=family, name="Summer")
    album_add_photos(user=alice, album=album, photo_ids=[photo.pk])
    share = share_create(user=alice, album=album, days=7, allow_download=True)
    invite = invite_create(family=family, created_by=alice, role=Membership.Role.MEMBER)
    token, _key = api_token_create(user=alice, label="phone")
    return {"token_id": token.pk, "photo_id": photo.pk, "family_id": family.pk, "album_id": album.pk, "user_id": bob.pk,
            "share_id": share.share.pk, "invite_id": invite.invite.pk, "suggestion_id": 1,
            "shared_token": share.token, "invite_token": invite.token}


def _fill(route: str, site: dict) -> str | None:
    """The route with its parameters filled in from `site`; None when a parameter has no value to fill."""
    def value(match: re.Match) -> str:
        name = match.group(2)
        if name == "token":
            name = "shared_token" if route.startswith("shared/") else "invite_token"
        if name not in site:
            raise KeyError(name)
        return str(site[name])

    try:
        return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", value, route)
    except KeyError:
        return None


def _check(client: Client, url: str, checked: list[str]) -> None:
    response = client.get(url)
    assert response.status_code < 500, f"GET {url} answered {response.status_code}"
    header = response.get("Content-Security-Policy")
    assert header, f"GET {url} has no Content-Security-Policy"
    found = directives(header)
    for name, expected in POLICY.items():
        assert found.get(name) == expected, f"GET {url}: {name} is {found.get(name)!r}, not {expected!r}"
    assert "unsafe" not in header
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    if response.get("Content-Type", "").startswith("text/html") and not response.streaming:
        problems = forbidden_markup(response.content.decode())
        assert problems == [], f"GET {url}: {problems}"
        checked.append(url)


def test_every_page_sends_the_policy_and_nothing_in_it_breaks_the_policy(site, alice):
    client = Client()
    client.force_login(alice)
    checked: list[str] = []
    skipped = []
    for route, name in _routes(get_resolver().url_patterns):
        if route.startswith(("admin/", "api/", "static/")):
            continue
        url = _fill(route, site)
        if url is None:
            skipped.append(route)
            continue
        _check(client, url, checked)
    # Pages of every part of the site were looked at (the resolver walk did find them).
    for page in ("/", "/upload/", "/search/", "/albums/", "/families/", "/indexing/", "/search/preferences/",
                 f"/families/{site['family_id']}/trash/", f"/photos/{site['photo_id']}/"):
        assert page in checked, (page, checked)
    assert len(checked) >= 25, checked
    assert skipped == [], skipped


def test_the_admin_pages_send_the_policy_and_keep_to_it(site, alice):
    client = Client()
    client.force_login(alice)
    checked: list[str] = []
    _check(client, reverse("admin:index"), checked)
    for model in admin.site._registry:
        info = (model._meta.app_label, model._meta.model_name)
        _check(client, reverse("admin:{}_{}_changelist".format(*info)), checked)
    _check(client, reverse("admin:gallery_photo_change", args=[site["photo_id"]]), checked)
    _check(client, reverse("admin:gallery_family_change", args=[site["family_id"]]), checked)
    assert len(checked) >= 5


def test_pages_for_people_without_an_account_send_the_policy(site):
    anonymous = Client()
    checked: list[str] = []
    for url in (reverse("login"), reverse("invite", args=[site["invite_token"]]),
                reverse("shared_album", args=[site["shared_token"]]),
                reverse("shared_photo", args=[site["shared_token"], site["photo_id"]]),
                "/no-such-page/", "/"):
        _check(anonymous, url, checked)
    assert len(checked) == 6


def test_the_policy_is_on_images_and_json_too(site, alice):
    client = Client()
    client.force_login(alice)
    checked: list[str] = []
    _check(client, reverse("gallery:photo_thumbnail", args=[site["photo_id"]]), checked)
    _check(client, reverse("api_families"), checked)
    assert checked == []  # neither is HTML


def test_the_parser_finds_what_the_policy_forbids():
    assert forbidden_markup('<script src="/static/js/site.js"></script><script type="application/json">{}</script>') == []
    assert len(forbidden_markup('<script>alert(1)</script><a onclick="x()" href="javascript:x()">')) == 3
    assert len(forbidden_markup('<span style="width: 5%"></span><style>p{}</style><b hx-on:click="x">')) == 3


def test_a_refused_form_gets_a_page_that_keeps_to_the_policy(alice):
    """Django's own CSRF failure page has an inline <style>: ours replaces it."""
    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("login"), {"username": "alice", "password": "correct horse battery"})
    assert response.status_code == 403
    body = response.content.decode()
    assert "This form could not be sent" in body
    assert forbidden_markup(body) == []
    assert "Content-Security-Policy" in response


def test_the_api_answers_a_browser_with_json_not_the_browsable_pages(client_for, alice):
    """DRF's browsable API pages carry style attributes and a <style> the policy refuses: the API speaks JSON only,
    whatever a browser's Accept header asks for."""
    response = client_for(alice).get("/api/v1/families/", HTTP_ACCEPT="text/html,application/xhtml+xml,*/*;q=0.8")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "Content-Security-Policy" in response
