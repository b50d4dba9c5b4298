"""HTTPS=on switches on everything a site behind HTTPS needs (secure cookies, HSTS, the redirect) and leaves
`manage.py check --deploy` with nothing to say; off (the default) none of it, so http://localhost works. The proxy
header that says "this came in over HTTPS" is configurable. The schema needs a signed-in user or a token."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[1]
SWITCHED = ["SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS",
            "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD", "SECURE_PROXY_SSL_HEADER",
            "CONTENT_SECURITY_POLICY", "CONTENT_SECURITY_POLICY_REPORT_ONLY"]
# Settings read from a fresh process (the settings module reads the environment once, at import), and the deploy
# checks run there at warning level.
PROBE = f"""
import json, django
from django.conf import settings
from django.core.management import call_command
django.setup()
call_command("check", deploy=True, fail_level="WARNING")
print(json.dumps({{name: getattr(settings, name, None) for name in {SWITCHED!r}}}))
"""


def _settings_with(**env) -> dict:
    environment = {k: v for k, v in os.environ.items()
                   # (the browser tests' DJANGO_ALLOW_ASYNC_UNSAFE is a test-process setting the deploy check refuses)
                   if k not in {"HTTPS", "DEBUG", "SECURE_PROXY_SSL_HEADER", "CSP_REPORT_ONLY", "DJANGO_ALLOW_ASYNC_UNSAFE"}
                   and not k.startswith("SECURE_HSTS")}
    environment.update(env, DJANGO_SETTINGS_MODULE="mediasearch.settings")
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=environment, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_https_on_switches_on_the_secure_settings_and_the_deploy_check_is_clean():
    # (One process for two switches: each start costs seconds. The report-only policy leaves the deploy check as clean.)
    values = _settings_with(HTTPS="on", SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO,https", CSP_REPORT_ONLY="on")

    assert values.pop("CONTENT_SECURITY_POLICY") is None
    report_only = values.pop("CONTENT_SECURITY_POLICY_REPORT_ONLY")["DIRECTIVES"]
    assert report_only["script-src"] == ["'self'"] and report_only["frame-ancestors"] == ["'none'"]
    assert values == {
        "SESSION_COOKIE_SECURE": True, "CSRF_COOKIE_SECURE": True, "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31536000, "SECURE_HSTS_INCLUDE_SUBDOMAINS": True, "SECURE_HSTS_PRELOAD": False,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
    }


@pytest.mark.skipif(bool(os.environ.get("HTTPS")), reason="this run has HTTPS set")
def test_https_off_by_default_so_plain_http_on_localhost_works(client, alice):
    assert not settings.HTTPS
    assert not settings.SESSION_COOKIE_SECURE and not settings.CSRF_COOKIE_SECURE
    assert not settings.SECURE_SSL_REDIRECT and settings.SECURE_HSTS_SECONDS == 0
    # Always on, whatever HTTPS says.
    assert settings.SESSION_COOKIE_HTTPONLY and settings.SESSION_COOKIE_SAMESITE == "Lax"
    response = client.post(reverse("login"), {"username": "alice", "password": "correct horse battery"})
    assert response.status_code == 302
    cookie = response.cookies["sessionid"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and not cookie["secure"]
    assert "Strict-Transport-Security" not in response


def _https_settings(settings) -> None:
    """What HTTPS=on with SECURE_PROXY_SSL_HEADER=HTTP_X_FORWARDED_PROTO,https makes (checked above)."""
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS, settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = 31536000, True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")


def test_static_files_and_every_file_at_the_site_root_are_exempt_from_the_https_redirect_and_nothing_else():
    """The exemptions copied STATIC_URL and the names of WHITENOISE_ROOT's files by hand: a file put there (a
    robots.txt) or a STATIC_URL changed was redirected to https again, its 400 page for a Host not served unstyled
    (SECURE_REDIRECT_EXEMPT is read by SecurityMiddleware: patterns searched in the path without its leading "/")."""
    exempt = [re.compile(pattern) for pattern in settings.SECURE_REDIRECT_EXEMPT]

    def exempted(path: str) -> bool:
        return any(pattern.search(path.lstrip("/")) for pattern in exempt)

    root = [path.name for path in Path(settings.WHITENOISE_ROOT).iterdir() if path.is_file()]
    assert root and all(exempted(f"/{name}") for name in root)
    assert exempted("/health/") and exempted(f"/{settings.STATIC_URL.lstrip('/')}css/site.css")
    assert not any(exempted(path) for path in ["/", "/staticfoo", "/static", "/accounts/login/", "/favicon.ico/x",
                                               "/media/1", "/health/x"])
    assert any(pattern.pattern == "^" + re.escape(settings.STATIC_URL.lstrip("/")) for pattern in exempt)


def test_behind_an_https_proxy_plain_http_is_redirected_and_cookies_are_secure(settings, alice):
    _https_settings(settings)
    client = Client()  # made after the override: its middleware reads the new settings

    plain = client.get("/accounts/login/")
    assert plain.status_code == 301 and plain["Location"] == "https://testserver/accounts/login/"
    # A load balancer's plain-HTTP health check is answered, not redirected.
    assert client.get("/health/").status_code != 301

    proxied = client.get("/accounts/login/", headers={"X-Forwarded-Proto": "https"})
    assert proxied.status_code == 200
    assert proxied["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert proxied.cookies["csrftoken"]["secure"]

    signed_in = client.post("/accounts/login/", {"username": "alice", "password": "correct horse battery"},
                            headers={"X-Forwarded-Proto": "https"})
    assert signed_in.status_code == 302
    assert signed_in.cookies["sessionid"]["secure"] and signed_in.cookies["sessionid"]["httponly"]


def test_a_malformed_proxy_header_setting_stops_start_up_with_a_clear_message():
    environment = {**os.environ, "SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO",
                   "DJANGO_SETTINGS_MODULE": "mediasearch.settings"}
    # Only the settings module is imported: the message comes before anything else would start.
    result = subprocess.run([sys.executable, "-c", "import mediasearch.settings"], cwd=ROOT, env=environment,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "SECURE_PROXY_SSL_HEADER must be HEADER,value" in result.stderr



@pytest.mark.parametrize("written", ["X-Forwarded-Proto,https", "x-forwarded-proto, https", "X_FORWARDED_PROTO,https"])
def test_the_proxy_header_may_be_named_as_the_proxy_sends_it(written):
    """SECURE_PROXY_SSL_HEADER=X-Forwarded-Proto,https (the header as nginx's `proxy_set_header` and every HTTP tool
    name it) was taken as written, a name no request's META has: no request counted as HTTPS, so behind nginx with
    HTTPS=on every page redirected to itself, for ever, and `check --deploy` had nothing to say. A header's name is read
    as Django's META key (HTTP_X_FORWARDED_PROTO) whichever way it is written."""
    read = _settings_with(HTTPS="on", SECURE_PROXY_SSL_HEADER=written)
    assert read["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


@pytest.mark.parametrize(("written", "meant"), [("https://photos.example.org", "photos.example.org"),
                                                ("photos.example.org/", "photos.example.org"),
                                                ("photos.example.org:443", "photos.example.org")])
def test_allowed_hosts_given_a_url_or_a_port_stops_start_up_naming_the_host(written, meant):
    """ALLOWED_HOSTS=https://photos.example.org (the site's address, as CSRF_TRUSTED_ORIGINS beside it wants it) or
    photos.example.org:443 matched no request: every page answered "Bad request", and `check --deploy` said nothing."""
    environment = {**os.environ, "ALLOWED_HOSTS": f"localhost,{written}", "DJANGO_SETTINGS_MODULE": "mediasearch.settings"}
    result = subprocess.run([sys.executable, "-c", "import mediasearch.settings"], cwd=ROOT, env=environment,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert f"ALLOWED_HOSTS lists {written!r}" in result.stderr and f"write {meant}" in result.stderr


def test_allowed_hosts_takes_names_addresses_and_patterns():
    read = subprocess.run([sys.executable, "-c", "import mediasearch.settings as s; print(s.ALLOWED_HOSTS)"], cwd=ROOT,
                          env={**os.environ, "ALLOWED_HOSTS": "photos.example.org,.example.net,192.168.1.20,[::1],*"},
                          capture_output=True, text=True, timeout=120)
    assert read.returncode == 0, read.stderr
    assert read.stdout.strip() == "['photos.example.org', '.example.net', '192.168.1.20', '[::1]', '*']"


@pytest.mark.parametrize("value", ["enabled", "y", "ture", "on # behind nginx"])
def test_a_switch_set_to_a_word_it_does_not_know_stops_start_up_instead_of_reading_as_off(value):
    """HTTPS=enabled (or a typo, or an inline comment a shell would not keep but systemd does) was read as off: the
    site started with cookies sent over plain HTTP and no HSTS, saying nothing. Every on/off variable takes
    on/off, true/false, yes/no, 1/0 (any case); anything else now stops start-up naming the variable."""
    environment = {**os.environ, "HTTPS": value, "DJANGO_SETTINGS_MODULE": "mediasearch.settings"}
    result = subprocess.run([sys.executable, "-c", "import mediasearch.settings"], cwd=ROOT, env=environment,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert f"HTTPS={value!r} is neither on nor off" in result.stderr


def test_switches_read_every_spelling_of_on_and_off_and_blank_as_unset():
    probe = ("import json, mediasearch.settings as s; "
             "print(json.dumps([s.HTTPS, s.OCR_ENABLED, s.EMBEDDED_METADATA, s.DEBUG, s.TAG_SUGGESTIONS_ENABLED]))")
    environment = {**os.environ, "HTTPS": " On ", "OCR_ENABLED": "FALSE", "EMBEDDED_METADATA": "", "DEBUG": "0",
                   "TAG_SUGGESTIONS_ENABLED": "Yes", "DJANGO_SETTINGS_MODULE": "mediasearch.settings"}
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=environment, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    # A blank value is the default, as for every other variable (EMBEDDED_METADATA's is on).
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [True, False, True, False, True]


def _readme_env_file() -> dict[str, str]:
    """The README's /etc/mediasearch.env, read as systemd's EnvironmentFile= reads it: a line starting with # is a
    comment, anything else after the = is the value (an inline "# …" included), trimmed."""
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"`/etc/mediasearch\.env`[^\n]*\n\n```sh\n(.*?)```", readme, re.S)
    assert block, "the README no longer shows /etc/mediasearch.env"
    values = {}
    for line in block.group(1).splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";")):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def test_the_readmes_production_environment_file_passes_the_deploy_check_as_systemd_reads_it(tmp_path):
    """Copied as written, the README's environment file gave HF_HUB_OFFLINE the value "1   # after `manage.py
    download_model`" (systemd keeps an inline comment: huggingface_hub read it as off), and `check --deploy` warned
    four times: it had no HTTPS=on, though the site it describes is behind nginx with TLS."""
    env = _readme_env_file()
    assert [name for name, value in env.items() if "#" in value] == []
    assert env["HF_HUB_OFFLINE"] == "1" and env["HTTPS"] == "on"
    env.update(SECRET_KEY="readme-production-" * 4, MEDIASEARCH_VAR_DIR=str(tmp_path / "var"))
    values = _settings_with(**env)  # runs check --deploy, failing at warning level
    assert values["SECURE_SSL_REDIRECT"] and values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_the_readmes_environment_file_lets_its_nginx_read_the_photos_it_sends():
    """The README's environment file has nginx send the photos (MEDIA_ACCEL=x-accel), but left them 0600 in 0700
    folders inside a 0700 data folder, the service user's only: nginx, another user, answered 403 for every photo.
    The file makes them readable to the service's group (nginx is put in it) and the nginx section has the data
    folder (0700 as the app creates it, fresh or not) opened to that group's search."""
    env = _readme_env_file()
    assert env["MEDIA_ACCEL"] == "x-accel"
    assert int(env["MEDIA_FILE_MODE"], 8) & 0o040 and int(env["MEDIA_DIRECTORY_MODE"], 8) & 0o050 == 0o050
    section = " ".join((ROOT / "README.md").read_text().split("### nginx, HTTPS and X-Accel-Redirect", 1)[1]
                       .split("\n### ", 1)[0].split())
    assert "usermod -aG mediasearch www-data" in section
    assert "chmod g+x /srv/mediasearch /srv/mediasearch/var" in section

def test_the_readmes_production_environment_file_reads_the_client_address_behind_its_nginx():
    """The README's site sits behind nginx (which appends the client to X-Forwarded-For), but its environment file
    left SIGNIN_PROXY_COUNT at 0: every sign-in came from nginx's 127.0.0.1, so five wrong passwords typed anywhere
    (a child on a tablet) locked the whole family out, and the token endpoint's rate was shared by everyone."""
    readme = (ROOT / "README.md").read_text()
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in readme
    assert _readme_env_file().get("SIGNIN_PROXY_COUNT") == "1"


# --- the API schema -----------------------------------------------------------------------------------------------


def test_the_schema_needs_sign_in_or_a_token(client, alice):
    url = reverse("schema")
    anonymous = client.get(url)
    assert anonymous.status_code == 401

    token = client.post(reverse("api_token"), {"username": "alice", "password": "correct horse battery"}).json()["token"]
    with_token = Client(headers={"Authorization": f"Token {token}"}).get(url)
    assert with_token.status_code == 200 and b"openapi" in with_token.content

    client.force_login(alice)
    assert client.get(url).status_code == 200


@pytest.mark.parametrize("https, debug, refused", [("on", "on", True), ("on", "off", False), ("off", "on", False)])
def test_debug_on_a_site_behind_https_stops_every_process_where_settings_load(tmp_path, https, debug, refused):
    """HTTPS=on says the site is deployed (reached over HTTPS); DEBUG there showed Django's debug page (the settings,
    the traceback, the URL patterns) to anyone, e.g. for a request with a Host the site does not serve, which the
    redirect to https refuses before the site's own 400 page can answer. A system check refused the two only in
    manage.py commands: gunicorn started directly (the README's separate units) loads mediasearch.wsgi, which runs
    no checks, and served the debug page. Refused where settings load, every process stops; DEBUG is for `make run`
    on http://localhost."""
    environment = {k: v for k, v in os.environ.items() if k not in {"HTTPS", "DEBUG"}}
    environment.update(HTTPS=https, DEBUG=debug, DJANGO_SETTINGS_MODULE="mediasearch.settings",
                       MEDIASEARCH_VAR_DIR=str(tmp_path / "var"))
    result = subprocess.run([sys.executable, "-c", "import mediasearch.wsgi"], cwd=ROOT, env=environment,
                            capture_output=True, text=True, timeout=120)
    if refused:
        assert result.returncode != 0
        assert "ImproperlyConfigured: DEBUG=on with HTTPS=on" in result.stderr, result.stderr[-3000:]
    else:
        assert result.returncode == 0, result.stderr[-3000:]
