"""A real S3-compatible server for the tests: moto's server mode over HTTP on a free loopback port, started once
per session (not moto's in-process mock decorators: boto3 talks to it exactly as to MinIO or AWS).

`s3_media` gives each test its own bucket and makes it the default storage, configured through the same
`media_storage(env)` that reads MEDIA_STORAGE and S3_* in settings. It wins over conftest's autouse
`_test_settings` (which sets a FileSystemStorage per test) because it runs after it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest

ACCESS_KEY, SECRET_KEY, REGION = "testing", "testing", "us-east-1"


@dataclass
class S3Bucket:
    client: object  # a boto3 S3 client of our own, to look at the bucket from outside the app
    name: str
    prefix: str
    env: dict[str, str]  # the variables that configure the app to use this bucket

    def keys(self) -> list[str]:
        """Every object's key in the bucket, sorted (with the prefix)."""
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.name)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", ()))

    def names(self) -> list[str]:
        """Every object's storage name (its key without the prefix), sorted."""
        return [key.removeprefix(self.prefix + "/") for key in self.keys()]

    def read(self, name: str) -> bytes:
        return self.client.get_object(Bucket=self.name, Key=f"{self.prefix}/{name}")["Body"].read()


@pytest.fixture(scope="session")
def s3_server() -> str:
    """The endpoint URL of a moto S3 server running for the whole session."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_media(s3_server, settings, _test_settings) -> S3Bucket:
    """A fresh private bucket, made the default storage for this test (under the prefix `site`)."""
    import boto3

    from mediasearch.settings import media_storage

    name = f"media-{uuid.uuid4().hex[:12]}"
    client = boto3.client("s3", endpoint_url=s3_server, region_name=REGION,
                          aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)
    client.create_bucket(Bucket=name)
    env = {"MEDIA_STORAGE": "s3", "S3_BUCKET": name, "S3_ENDPOINT_URL": s3_server, "S3_REGION": REGION,
           "S3_ACCESS_KEY_ID": ACCESS_KEY, "S3_SECRET_ACCESS_KEY": SECRET_KEY, "S3_PREFIX": "site",
           "S3_ADDRESSING_STYLE": "path"}
    settings.STORAGES = {**settings.STORAGES, "default": media_storage(env)}
    bucket = S3Bucket(client=client, name=name, prefix="site", env=env)
    yield bucket
    for key in bucket.keys():  # moto keeps objects in memory: leave nothing behind
        client.delete_object(Bucket=name, Key=key)
    client.delete_bucket(Bucket=name)
