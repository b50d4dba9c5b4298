"""Backup and restore walk the media through Django's storage API: the same with an S3 bucket (moto's real HTTP
server) as with a folder. Needs boto3, django-storages and moto (pinned where S3 storage is supported)."""

from __future__ import annotations

import hashlib
import json
import socket

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command

from mediasearch.backup import backup_read, media_restore

boto3 = pytest.importorskip("boto3")
pytest.importorskip("storages.backends.s3")
moto_server = pytest.importorskip("moto.server")

FILES = {"originals/1/ab/abc.jpg": b"\xff\xd8 an original " * 500, "thumbnails/1/ab/abc.jpg": b"thumb",
         "displays/1/ab/abc.jpg": b"display", "top-level.txt": b"x"}


@pytest.fixture
def bucket(settings):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    options = {"bucket_name": "media", "endpoint_url": f"http://127.0.0.1:{port}", "access_key": "test",
               "secret_key": "test", "region_name": "us-east-1", "file_overwrite": False}
    client = boto3.client("s3", endpoint_url=options["endpoint_url"], aws_access_key_id="test",
                          aws_secret_access_key="test", region_name="us-east-1")
    client.create_bucket(Bucket="media")
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "storages.backends.s3.S3Storage",
                                                          "OPTIONS": options}}
    yield client
    server.stop()


@pytest.mark.django_db(transaction=True)
def test_every_file_in_a_bucket_is_backed_up_and_restored_byte_for_byte(bucket, tmp_path):
    for name, data in FILES.items():
        assert default_storage.save(name, ContentFile(data)) == name
    assert bucket.list_objects_v2(Bucket="media")["KeyCount"] == len(FILES)  # in the bucket, not on disk

    call_command("backup", str(tmp_path / "backup"))

    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    assert {entry["name"]: entry["sha256"] for entry in manifest["media"]} == {
        name: hashlib.sha256(data).hexdigest() for name, data in FILES.items()}
    for name in FILES:  # the bucket is lost
        default_storage.delete(name)
    assert bucket.list_objects_v2(Bucket="media")["KeyCount"] == 0

    media_restore(source=tmp_path / "backup", manifest=backup_read(tmp_path / "backup"))

    for name, data in FILES.items():
        assert bucket.get_object(Bucket="media", Key=name)["Body"].read() == data, name


@pytest.mark.django_db
def test_health_checks_the_bucket_and_leaves_nothing_in_it(bucket, client, settings):
    from mediasearch.health import health_forget

    settings.HEALTH_CACHE_SECONDS = 0
    health_forget()
    body = json.loads(client.get("/health/").content)
    assert body["checks"]["storage"] == {"status": "ok", "detail": "writable"}
    assert bucket.list_objects_v2(Bucket="media")["KeyCount"] == 0

    bucket.delete_bucket(Bucket="media")  # the bucket is gone: the site cannot store photos
    response = client.get("/health/")
    assert response.status_code == 503 and json.loads(response.content)["checks"]["storage"]["status"] == "down"
