"""The site's error pages (400, 403, 404, 500) are drawn in the normal layout: the menu for a signed-in person (a
way back other than the browser's), a sign-in link otherwise; without leaking anything, and the 500 page without
the database."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import SuspiciousOperation
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from gallery.models import Photo
from mediasearch.views import bad_request, server_error
from gallery.album_services import album_create
from tests.factories import photo_factory

pytestmark = pytest.mark.django_db

MENU = ('<nav aria-label="Main">', 'href="/albums/"', 'href="/upload/"')


def _has_menu(body: str, username: str) -> bool:
    return all(part in body for part in MENU) and f'<span class="who" title="{username}">{username}</span>' in body


def test_404_for_a_signed_in_person_has_the_menu(client_for, alice):
    response = client_for(alice).get(reverse("gallery:photo_detail", args=[999999]))
    body = response.content.decode()
    assert response.status_code == 404
    assert "<h1>Not found</h1>" in body and _has_menu(body, "alice")
    assert 'href="/accounts/login/"' not in body


def test_404_for_another_familys_photo_is_the_same_bytes_as_for_a_missing_one(client_for, alice, mallory,
                                                                            other_family):
    theirs = photo_factory(family=other_family, user=mallory, filename="jones-beach.jpg")
    missing = Photo.objects.order_by("-pk").first().pk + 1000
    client = client_for(alice)
    not_mine = client.get(reverse("gallery:photo_detail", args=[theirs.pk]))
    absent = client.get(reverse("gallery:photo_detail", args=[missing]))
    assert not_mine.status_code == absent.status_code == 404
    assert not_mine.content == absent.content
    assert _has_menu(not_mine.content.decode(), "alice")
    assert "jones-beach" not in not_mine.content.decode() and "Joneses" not in not_mine.content.decode()


def test_404_for_someone_signed_out_offers_to_sign_in(client, alice):
    response = client.get("/no-such-page/")
    body = response.content.decode()
    assert response.status_code == 404
    assert "<h1>Not found</h1>" in body and 'href="/accounts/login/"' in body
    assert '<nav aria-label="Main">' not in body


def test_403_has_the_menu(client_for, family, alice, bob):
    album = album_create(user=alice, family=family, name="Holidays")
    response = client_for(bob).get(reverse("gallery:album_shares", args=[album.pk]))
    body = response.content.decode()
    assert response.status_code == 403
    assert "Only the album" in body and _has_menu(body, "bob")


def test_a_403_is_one_line_in_the_log_not_a_traceback(client_for, family, alice, bob, caplog):
    """Django logs a refusal (PermissionDenied: a member on an admin's form, the album's share page) with the
    exception's whole traceback, at WARNING: every such click put 20 lines in the log of a site that works as meant,
    where an administrator looks for tracebacks to find what broke. The line stays; the traceback goes. A 500
    keeps its own."""
    album = album_create(user=alice, family=family, name="Holidays")
    with caplog.at_level("WARNING", logger="django.request"):
        assert client_for(bob).get(reverse("gallery:album_shares", args=[album.pk])).status_code == 403
    [record] = [r for r in caplog.records if r.name == "django.request"]
    assert "Forbidden (Permission denied)" in record.getMessage() and record.exc_info is None
    assert "Traceback" not in caplog.text



def test_a_request_for_a_host_the_site_does_not_serve_is_one_line_in_the_log(client, settings):
    """Behind the README's nginx, every request by the server's IP address (scanners, all day) or another name reaches
    Django, and Django logs each refusal (django.security.DisallowedHost, a 400) at ERROR with the whole traceback of
    the middleware that refused it: 15 lines a request, in the log where an administrator looks for tracebacks to find
    what broke. The line stays, naming the host; the traceback goes (the site's handler leaves it out)."""
    import io
    import logging

    [console] = [h for h in logging.getLogger().handlers if isinstance(h, logging.StreamHandler)
                 and getattr(h.formatter, "_fmt", "") == "%(asctime)s %(levelname)s %(name)s: %(message)s"]
    settings.ALLOWED_HOSTS = ["photos.example.org"]
    stream = io.StringIO()
    previous = console.setStream(stream)
    try:
        assert client.get("/accounts/login/", HTTP_HOST="203.0.113.7").status_code == 400
    finally:
        console.setStream(previous)
    logged = stream.getvalue()
    assert "ERROR django.security.DisallowedHost: Invalid HTTP_HOST header: '203.0.113.7'" in logged
    assert "Traceback" not in logged, logged


class _EveryConsole:
    """What every stream handler a record of `logger_name` reaches (the site's console, and any other: Django's own
    `console` prints django.* records while DEBUG is on) writes, into one text."""

    def __init__(self, logger_name: str) -> None:
        import io
        import logging

        self.stream, self.previous = io.StringIO(), []
        logger = logging.getLogger(logger_name)
        while logger is not None:
            self.previous += [(h, h.setStream(self.stream)) for h in logger.handlers  # (not pytest's capturing ones)
                              if type(h) is logging.StreamHandler and h not in dict(self.previous)]
            logger = logger.parent if logger.propagate else None

    def __enter__(self) -> _EveryConsole:
        return self

    def __exit__(self, *exc) -> None:
        for handler, stream in self.previous:
            handler.setStream(stream)

    def lines(self) -> list[str]:
        return self.stream.getvalue().splitlines()


def test_a_host_the_site_does_not_serve_is_its_400_page_and_one_line_with_debug_on(settings):
    """A developer running `make run` with DEBUG=on and opening it by a LAN name ALLOWED_HOSTS does not list got
    Django's debug page for the refusal and, in the terminal, its whole traceback through Django's own console
    handler (which prints django.* records while DEBUG is on) beside the site's line. The site's 400 page, and the
    site's one line naming the host (which says what to add to ALLOWED_HOSTS)."""
    settings.DEBUG = True
    settings.ALLOWED_HOSTS = ["localhost"]
    with _EveryConsole("django.security.DisallowedHost") as console:
        response = Client(raise_request_exception=False).get("/accounts/login/", HTTP_HOST="nas.local:8000")
    body = response.content.decode()
    assert response.status_code == 400
    assert "<h1>Bad request</h1>" in body and "MediaSearch" in body and "DisallowedHost" not in body
    assert console.lines() == [console.lines()[0]] and "Traceback" not in console.stream.getvalue()
    assert ("ERROR django.security.DisallowedHost: Invalid HTTP_HOST header: 'nas.local:8000'. You may need to add "
            "'nas.local' to ALLOWED_HOSTS.") in console.lines()[0]


def test_a_host_the_site_does_not_serve_over_plain_http_with_https_on_is_its_400_page_with_its_stylesheet(settings):
    """gunicorn opened directly (no nginx) by a name ALLOWED_HOSTS does not list, with HTTPS=on: the page was the
    site's 400 page, but each of its stylesheet, scripts and icons was refused too (the redirect to https asks the
    Host first), so it showed unstyled, and the log had a line for each. Static files are never redirected (public,
    the same bytes over either): the page has its stylesheet, the log one line."""
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.ALLOWED_HOSTS = ["photos.example.org"]
    settings.WHITENOISE_USE_FINDERS = settings.WHITENOISE_AUTOREFRESH = True  # (no collectstatic in the tests)
    client = Client(raise_request_exception=False, HTTP_HOST="nas.local:8000")
    with _EveryConsole("django.security.DisallowedHost") as console:
        page = client.get("/")
        body = page.content.decode()
        files = [*re.findall(r'<(?:link|script)[^>]* (?:href|src)="(/[^"]+)"', body)]
        answers = {path: client.get(path) for path in files}
    assert page.status_code == 400 and "<h1>Bad request</h1>" in body
    assert any(path.endswith(".css") for path in files) and "/favicon.ico" in files
    assert {path: answer.status_code for path, answer in answers.items()} == dict.fromkeys(files, 200)
    assert len(console.lines()) == 1 and "Invalid HTTP_HOST header: 'nas.local:8000'" in console.lines()[0]
    assert client.get("/accounts/login/", HTTP_HOST="photos.example.org").status_code == 301  # the site's: redirected


def _failing(request, exc: Exception, handler):
    """Call a handler as Django does: inside the `except` block of the exception it answers."""
    try:
        raise exc
    except Exception:
        return handler(request) if handler is server_error else handler(request, exc)


def _signed_in_request(user):
    request = RequestFactory().get("/photos/")
    request.user = user  # resolved during the request, as any signed-in page does before it fails
    return request


def test_500_has_the_menu_and_asks_nothing_of_the_database(alice):
    request = _signed_in_request(alice)
    with CaptureQueriesContext(connection) as queries:
        response = _failing(request, RuntimeError("boom"), server_error)
    body = response.content.decode()
    assert response.status_code == 500
    assert len(queries) == 0
    assert "Something went wrong" in body and _has_menu(body, "alice")
    assert "boom" not in body  # the exception stays in the log


def test_500_before_the_user_is_known_shows_no_menu_and_does_not_look_them_up(client_for, alice):
    session_key = client_for(alice).session.session_key
    request = RequestFactory().get("/photos/")
    from django.conf import settings
    from django.contrib.auth.middleware import AuthenticationMiddleware
    from django.contrib.sessions.middleware import SessionMiddleware

    request.COOKIES[settings.SESSION_COOKIE_NAME] = session_key
    SessionMiddleware(lambda r: None).process_request(request)
    AuthenticationMiddleware(lambda r: None).process_request(request)  # request.user is lazy, not looked up yet
    with CaptureQueriesContext(connection) as queries:
        response = _failing(request, RuntimeError("boom"), server_error)
    body = response.content.decode()
    assert response.status_code == 500 and len(queries) == 0
    assert "Something went wrong" in body and '<nav aria-label="Main">' not in body
    assert 'href="/accounts/login/"' in body


def test_500_from_a_view_is_the_sites_page(client_for, alice, settings):
    """End to end: a view that fails answers the 500 page in the layout (not Django's bare one)."""
    settings.ROOT_URLCONF = "tests.error_urls"
    client = Client(raise_request_exception=False)
    client.force_login(alice)
    response = client.get("/fail/")
    body = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong" in body and _has_menu(body, "alice")


def test_500_and_400_under_the_api_answer_json_like_every_other_api_error(client_for, alice, settings):
    """README: every API error is {"detail": "…"}. A bug in an API view, or a request refused as suspicious (a Host the
    site does not serve, too many fields), answered the site's HTML page, which a client reading JSON can't parse."""
    settings.ROOT_URLCONF = "tests.error_urls"
    client = Client(raise_request_exception=False)
    client.force_login(alice)
    failed = client.get("/api/v1/fail/")
    assert failed.status_code == 500 and failed["Content-Type"] == "application/json"
    assert failed.json() == {"detail": "The server failed to answer; the problem is logged for the site's administrator."}
    refused = client.get("/api/v1/photos/", HTTP_HOST="not-this-site.example")
    assert refused.status_code == 400 and refused["Content-Type"] == "application/json"
    assert refused.json() == {"detail": "Bad request."}

def test_400_has_the_menu_when_the_user_is_known(alice):
    response = _failing(_signed_in_request(alice), SuspiciousOperation("x"), bad_request)
    body = response.content.decode()
    assert response.status_code == 400
    assert "<h1>Bad request</h1>" in body and _has_menu(body, "alice")


def test_400_for_a_bad_host_is_the_sites_page(alice):
    client = Client(raise_request_exception=False, HTTP_HOST="not-this-site.example")
    client.force_login(alice)
    response = client.get("/")
    body = response.content.decode()
    assert response.status_code == 400
    assert "<h1>Bad request</h1>" in body and "MediaSearch" in body


def test_error_pages_hold_no_inline_script_or_style(client_for, alice):
    body = client_for(alice).get("/no-such-page/").content.decode()
    assert "<style" not in body and " style=" not in body
    assert "<script>" not in body and " onclick=" not in body


def test_the_500_page_still_answers_when_its_template_can_not_be_drawn(alice, settings, tmp_path, caplog):
    """Static files not collected (a manifest without the stylesheet): the layout's {% static %} raises, and the
    person still gets a page that says what happened."""
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STORAGES = {**settings.STORAGES,
                         "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"}}
    response = _failing(_signed_in_request(alice), RuntimeError("boom"), server_error)
    body = response.content.decode()
    assert response.status_code == 500
    assert "<h1>Something went wrong</h1>" in body and "boom" not in body
    assert any("could not be drawn" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("path", ["/api/v1/photos/abc/", "/api/v1/search/judgments/abc/", "/api/v1/no-such-thing/",
                                  "/api/"])
def test_an_api_path_that_matches_no_url_answers_json_like_every_other_api_error(alice, path):
    """README: every API error is {"detail": "…"}; a URL no route matches (a word where an id goes) was the site's
    HTML page."""
    from tests.factories import api_token_key

    response = Client(headers={"Authorization": f"Token {api_token_key(alice)}"}).get(path)
    assert response.status_code == 404 and response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


def test_a_page_that_matches_no_url_is_still_the_sites_page(client_for, alice):
    response = client_for(alice).get("/no-such-page/")
    assert response.status_code == 404 and "<h1>Not found</h1>" in response.content.decode()
