"""The README's nginx server block, run by a real nginx in front of the app (skipped where nginx is not installed):
it must load, and a photo it sends for Django (X-Accel-Redirect) must carry the security headers Django gives every
answer, as a photo Django streams itself does."""

from __future__ import annotations

import os
import re
import shutil
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from django.urls import reverse

from tests.factories import photo_factory
from tests.processes import free_port

ROOT = Path(__file__).resolve().parents[1]
NGINX = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)
SECURITY_HEADERS = ("X-Content-Type-Options", "X-Frame-Options", "Content-Security-Policy", "Referrer-Policy",
                    "Cross-Origin-Opener-Policy")

pytestmark = pytest.mark.skipif(not (NGINX and shutil.which("openssl")), reason="nginx or openssl is not installed")


def _readme_server_block() -> str:
    text = (ROOT / "README.md").read_text()
    section = text.split("### nginx, HTTPS and X-Accel-Redirect", 1)[1]
    block = re.search(r"```nginx\n(.*?)```", section, re.S)
    assert block, "the README no longer shows the nginx server block"
    return block.group(1)


def _nginx_conf(folder: Path, *, https_port: int, http_port: int, upstream: str, media_root: Path,
                another_site: bool = False) -> Path:
    """The README's block as written, with this test's ports, certificate, upstream and media folder (`another_site`:
    after another site's server on its port 80, as nginx reads a sites-enabled/ file named before ours)."""
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=photos.example.org", "-keyout", folder / "key.pem", "-out", folder / "cert.pem"],
                   check=True, capture_output=True)
    block = _readme_server_block()
    block = block.replace("listen 443 ", f"listen 127.0.0.1:{https_port} ").replace("listen 80", f"listen 127.0.0.1:{http_port}")
    if another_site:
        block = f"server {{ listen 127.0.0.1:{http_port}; server_name www.example.org; return 404; }}\n{block}"
    block = re.sub(r"ssl_certificate\s+\S+;", f"ssl_certificate {folder / 'cert.pem'};", block)
    block = re.sub(r"ssl_certificate_key\s+\S+;", f"ssl_certificate_key {folder / 'key.pem'};", block)
    block = block.replace("http://127.0.0.1:8000", upstream).replace("/srv/mediasearch/var/media/", f"{media_root}/")
    temp = "\n".join(f"{kind}_temp_path {folder / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    conf = folder / "nginx.conf"
    conf.write_text(
        ("user root;\n" if os.geteuid() == 0 else "")  # nginx's default user could not read the test's 0600 media
        + f"pid {folder / 'nginx.pid'};\nerror_log {folder / 'error.log'};\nevents {{ worker_connections 32; }}\n"
        + f"http {{\naccess_log off;\n{temp}\n{block}\n}}\n"
    )
    return conf


def _get(url: str, *, cookie: str) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, headers={"Host": "photos.example.org", "Cookie": cookie})
    with urllib.request.urlopen(request, timeout=30, context=_unverified()) as response:
        return response.status, dict(response.headers), response.read()


def _unverified() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    return context


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _wait_listening(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        assert process.poll() is None, "nginx stopped"
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError("nginx does not listen")


def test_the_readmes_nginx_block_loads(tmp_path, settings):
    """`http2 on;` is nginx 1.25.1's: Debian 12's nginx (1.22) refused the whole file ("unknown directive")."""
    conf = _nginx_conf(tmp_path, https_port=free_port(), http_port=free_port(), upstream="http://127.0.0.1:9",
                       media_root=Path(settings.MEDIA_ROOT))
    checked = subprocess.run([NGINX, "-t", "-p", str(tmp_path), "-c", str(conf)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr


def test_a_photo_nginx_sends_for_django_keeps_djangos_security_headers(tmp_path, settings, live_server, family,
                                                                      alice, client_for):
    """X-Accel-Redirect: nginx answers with the file and keeps only a few of Django's headers (Content-Type,
    Content-Disposition, Cache-Control, ...): the photos went out without X-Content-Type-Options: nosniff, the
    Content-Security-Policy, X-Frame-Options and the rest that every other answer carries."""
    settings.ALLOWED_HOSTS = ["photos.example.org"]
    photo = photo_factory(family=family, user=alice)
    path = reverse("gallery:photo_thumbnail", args=[photo.pk])
    streamed = client_for(alice).get(path, HTTP_HOST="photos.example.org")
    assert streamed.status_code == 200
    cookie = f"sessionid={client_for(alice).cookies['sessionid'].value}"

    settings.MEDIA_ACCEL, settings.MEDIA_ACCEL_PREFIX = "x-accel", "/protected-media/"
    https_port = free_port()
    conf = _nginx_conf(tmp_path, https_port=https_port, http_port=free_port(), upstream=live_server.url,
                       media_root=Path(settings.MEDIA_ROOT))
    nginx = subprocess.Popen([NGINX, "-p", str(tmp_path), "-c", str(conf), "-g", "daemon off;"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_listening(https_port, nginx)
        status, headers, body = _get(f"https://127.0.0.1:{https_port}{path}", cookie=cookie)
    finally:
        nginx.terminate()
        nginx.wait(timeout=10)
    assert status == 200 and body == photo.thumbnail.open("rb").read()
    assert "X-Accel-Redirect" not in headers  # nginx sent the file itself
    missing = {name: streamed[name] for name in SECURITY_HEADERS if headers.get(name) != streamed[name]}
    assert not missing, f"nginx sent the photo without {missing}"


def test_signing_in_through_the_readmes_nginx_on_a_port_of_its_own(tmp_path, settings, live_server, alice):
    """A home server's HTTPS often listens on another port than 443 (8443: the router forwards it). nginx passed
    Django the Host without its port (`proxy_set_header Host $host;`), while the browser's Origin has it: Django's
    CSRF check refused every form, so nobody could sign in ("This form could not be sent"), with the README's
    CSRF_TRUSTED_ORIGINS or not. The block passes the Host as the browser sent it ($http_host)."""
    https_port = free_port()
    site = f"photos.example.org:{https_port}"
    settings.ALLOWED_HOSTS = ["photos.example.org"]
    settings.CSRF_TRUSTED_ORIGINS = ["https://photos.example.org"]  # the README's environment file
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    conf = _nginx_conf(tmp_path, https_port=https_port, http_port=free_port(), upstream=live_server.url,
                       media_root=Path(settings.MEDIA_ROOT))
    nginx = subprocess.Popen([NGINX, "-p", str(tmp_path), "-c", str(conf), "-g", "daemon off;"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=_unverified()), _NoRedirect(),
                                         urllib.request.HTTPCookieProcessor())
    url = f"https://127.0.0.1:{https_port}/accounts/login/"
    try:
        _wait_listening(https_port, nginx)
        with opener.open(urllib.request.Request(url, headers={"Host": site}), timeout=30) as page:
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.read().decode()).group(1)
        form = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "username": "alice",
                                       "password": "correct horse battery"}).encode()
        signing_in = urllib.request.Request(url, data=form, headers={
            "Host": site, "Origin": f"https://{site}", "Referer": f"https://{site}/accounts/login/"})
        try:
            status = opener.open(signing_in, timeout=30).status
        except urllib.error.HTTPError as answer:
            status = answer.code
    finally:
        nginx.terminate()
        nginx.wait(timeout=10)
    assert status == 302, f"signing in answered {status}"


@pytest.mark.django_db
def test_a_plain_http_probe_of_health_through_the_readmes_nginx_is_answered_not_redirected(tmp_path, settings,
                                                                                          live_server):
    """Django answers /health/ over plain HTTP with HTTPS=on (SECURE_REDIRECT_EXEMPT), but the README's port-80
    server sent every request to https first: a load balancer or an uptime probe on plain HTTP saw a 301. It answers
    /health/ itself (also a probe asking by the server's address, as load balancers do, which Django's ALLOWED_HOSTS
    does not list); every other address still goes to https. A probe by address reaches nginx's default server for
    the port, the first one read unless one says default_server: with another site read before ours it got that
    site's answer; the README's server is the default now."""
    from mediasearch.health import health_forget

    settings.ALLOWED_HOSTS = ["photos.example.org"]  # the README's environment file, HTTPS=on
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.HEALTH_CACHE_SECONDS = 0
    health_forget()
    http_port = free_port()
    conf = _nginx_conf(tmp_path, https_port=free_port(), http_port=http_port, upstream=live_server.url,
                       media_root=Path(settings.MEDIA_ROOT), another_site=True)
    nginx = subprocess.Popen([NGINX, "-p", str(tmp_path), "-c", str(conf), "-g", "daemon off;"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    opener = urllib.request.build_opener(_NoRedirect())

    def answer(path: str, host: str) -> tuple[int, str, bytes]:
        request = urllib.request.Request(f"http://127.0.0.1:{http_port}{path}", headers={"Host": host})
        try:
            with opener.open(request, timeout=30) as response:
                return response.status, response.headers.get("Location", ""), response.read()
        except urllib.error.HTTPError as refused:
            return refused.code, refused.headers.get("Location", ""), refused.read()

    try:
        _wait_listening(http_port, nginx)
        by_name = answer("/health/", "photos.example.org")
        by_address = answer("/health/", f"127.0.0.1:{http_port}")
        other = answer("/accounts/login/", "photos.example.org")
    finally:
        nginx.terminate()
        nginx.wait(timeout=10)
        health_forget()
    for status, location, body in (by_name, by_address):
        assert (status, location) == (200, ""), f"/health/ over plain HTTP answered {status} {location}"
        assert b'"database"' in body
    assert other[:2] == (301, "https://photos.example.org/accounts/login/")
