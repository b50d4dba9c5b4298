from __future__ import annotations

import shutil
import tempfile
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
