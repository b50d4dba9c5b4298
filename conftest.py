from __future__ import annotations

import shutil
import tempfile
import threading
import warnings
from pathlib import Path

import pytest

from gallery.models import Membership
from tests.factories import FamilyFactory, MembershipFactory, UserFactory

# s3_server, s3_media: a real S3-compatible server (moto) for the storage tests.
pytest_plugins = ["tests.s3"]


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path):
    """Each test stores files in its own folder, never in the developer's var/media; passwords are
    hashed cheaply (the production hasher costs ~0.25 s per user and no test is about hashing)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "gallery.storage.MediaFileSystemStorage", "OPTIONS": {"location": tmp_path / "media"}},
    }
    settings.MEDIA_ROOT = tmp_path / "media"
    # Throttle counts (DRF keeps them in the cache) belong to one test: the next starts from none.
    from django.core.cache import cache

    cache.clear()


class _RequestsRunning:
    """Counts the requests a live server's threads are handling. socketserver keeps no track of the daemon threads
    Django's ThreadedWSGIServer starts, one per connection, so the server's two steps are wrapped: a request counts
    from its acceptance (`process_request`, in the server's own thread) until its thread is done with it."""

    def __init__(self, httpd) -> None:
        self.running = 0
        self.changed = threading.Condition()
        accept, handle = httpd.process_request, httpd.process_request_thread

        def process_request(request, client_address):
            with self.changed:
                self.running += 1
            try:
                accept(request, client_address)
            except BaseException:
                self._done()
                raise

        def process_request_thread(request, client_address):
            try:
                handle(request, client_address)
            finally:
                self._done()

        httpd.process_request, httpd.process_request_thread = process_request, process_request_thread

    def _done(self) -> None:
        with self.changed:
            self.running -= 1
            self.changed.notify_all()

    def wait(self, timeout: float) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: self.running == 0, timeout)


@pytest.fixture(autouse=True)
def _live_server_requests_done(request):
    """A test with the live server ends before the browser's last requests do: closing a page leaves the requests it
    had started (a lazy partial, a thumbnail) running in the server's threads, where they met the database's flush
    between tests. On a busy machine the flush failed beside them (in CI: the next test found the last one's photos
    and failed too), and a late request read a database already handed to the next test. So the
    flush waits until the server handles no request (the browser context is closed by then, so no thread waits on a
    kept-alive connection), at most 30 s."""
    if "live_server" not in request.fixturenames:
        yield
        return
    request.getfixturevalue("transactional_db")  # set up before this one, so its flush runs after this teardown
    httpd = request.getfixturevalue("live_server").thread.httpd
    if not hasattr(httpd, "requests_running"):
        httpd.requests_running = _RequestsRunning(httpd)
    yield
    if not httpd.requests_running.wait(timeout=30):
        warnings.warn(f"the live server still handles {httpd.requests_running.running} request(s) after 30 s")


@pytest.fixture
def server_tmp():
    """A temporary folder an embedded PostgreSQL (which runs as its own system user) can reach for its data: not
    under pytest's tmp_path, whose shared parent (/tmp/pytest-of-USER) any other pytest run on the machine sets back
    to mode 0700."""
    folder = Path(tempfile.mkdtemp(prefix="mediasearch-test-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def family(db):
    return FamilyFactory(name="Smiths")


@pytest.fixture
def alice(family):
    """Admin of the Smiths."""
    user = UserFactory(username="alice")
    MembershipFactory(family=family, user=user, role=Membership.Role.ADMIN)
    return user


@pytest.fixture
def bob(family):
    """Plain member of the Smiths."""
    user = UserFactory(username="bob")
    MembershipFactory(family=family, user=user)
    return user


@pytest.fixture
def other_family(db):
    return FamilyFactory(name="Joneses")


@pytest.fixture
def mallory(other_family):
    """Member of the Joneses only."""
    user = UserFactory(username="mallory")
    MembershipFactory(family=other_family, user=user, role=Membership.Role.ADMIN)
    return user


@pytest.fixture
def client_for(client):
    def login(user):
        client.force_login(user)
        return client

    return login
