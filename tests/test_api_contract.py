"""The OpenAPI schema is a contract a generated client can rely on (issue 12, point 8).

schemathesis generates requests from the schema for every operation, sends them with a signed-in token to the
real WSGI application (real database, real models: the repo's toy SigLIP), and checks that no answer is a 500,
that every status answered is one the schema names, and that every body matches the schema of its status."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
import schemathesis
from schemathesis import GenerationMode
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from tests import images
from tests.factories import api_token_key, photo_factory

TOY_MODEL = Path(__file__).resolve().parent / "fixtures" / "toy-siglip"
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
EXAMPLES = 10  # per operation: about 30 s for all of them on one core


def api_schema() -> dict:
    """The schema exactly as `/api/v1/schema/` serves it (drf-spectacular's own generator and JSON renderer)."""
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    return json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))


# Loaded when the module is collected: schemathesis' lazy loader (from_fixture) reads a pytest internal that pytest
# 9 no longer has.
schema = schemathesis.openapi.from_dict(api_schema())


@pytest.fixture
def wsgi_app(settings):
    """The real WSGI application, called in this thread so it sees the test's transaction. Django closes a
    connection after each request when it finds it inside a transaction; the test client switches that off the same
    way (django.test.client.ClientHandler)."""
    from mediasearch.wsgi import application

    settings.SEARCH_MODEL = str(TOY_MODEL)
    settings.SEARCH_DTYPE = "float32"
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield application
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@dataclass
class Known:
    token: str
    ids: dict[str, list[int]]  # parameter or field name → ids that exist, so requests reach real objects too
    files: list[bytes]  # real images to upload (the second upload of one is a 409)


@pytest.fixture
def known(wsgi_app, family, alice, bob) -> Known:
    """alice's token, and something to find: photos of her family (one in the trash), an empty album, a smart album,
    a judgment, a share link."""
    from gallery.album_services import album_create, share_create
    from gallery.trash_services import photos_trash
    from search.judgment_services import judgment_record

    photos = [photo_factory(family=family, user=alice, filename=f"IMG_{n}.jpg") for n in range(3)]
    album = album_create(user=alice, family=family, name="Holidays")
    smart = album_create(user=alice, family=family, name="Red", search={"q": "a red circle"})  # its saved search too
    photos_trash(user=alice, photo_ids=[photos[2].pk])
    judgment, _ = judgment_record(user=alice, photo=photos[0], query="a red circle", relevant=True)
    share = share_create(user=alice, album=album, days=3).share
    photo_ids = [p.pk for p in photos]
    return Known(token=api_token_key(alice), ids={
        "photo_id": photo_ids, "photo": photo_ids, "photos": photo_ids, "album_id": [album.pk, smart.pk], "album": [album.pk],
        "judgment_id": [judgment.pk], "family": [family.pk], "family_id": [family.pk], "share_id": [share.pk],
    }, files=[images.jpeg(colour=(10, 200, 90)), images.image_bytes("PNG", colour=(90, 10, 200))])


def _known_ids(case, data, known: Known) -> None:
    """Half the time, each id parameter or body field names an object that exists (a random id is almost always a
    404, which would leave the answers about real objects untested)."""
    body = case.body if isinstance(case.body, dict) else {}
    for values in (case.path_parameters, case.query, body):
        for name in list(values or {}):
            if name in known.ids and data.draw(st.booleans()):
                ids = st.sampled_from(known.ids[name])
                values[name] = data.draw(st.lists(ids, min_size=1, max_size=3) if name == "photos" else ids)
            elif name == "file" and data.draw(st.booleans()):
                values[name] = data.draw(st.sampled_from(known.files))


def fuzz(wsgi_app, known: Known, *, mode: GenerationMode, checks: list, examples: int) -> list[str]:
    """A bounded run per operation, all inside one test so the data is made once. Returns each operation's first
    failure."""
    failures = []
    # What removes objects (deletes, bulk trashing, emptying the trash) runs last, so the other operations find them.
    operations = sorted((result.ok() for result in schema.get_all_operations()),
                        key=lambda op: (op.method.upper() == "DELETE" or op.path.endswith(("/bulk/", "/empty/")),
                                        op.path))
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode), data=st.data())
        @hypothesis_settings(max_examples=examples, deadline=None, database=None, derandomize=True,
                             suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
        def answers_as_documented(case, data):
            if mode == GenerationMode.POSITIVE:
                _known_ids(case, data, known)
            case.call_and_validate(app=wsgi_app, headers={"Authorization": f"Token {known.token}"}, checks=checks)

        try:
            answers_as_documented()
        except Unsatisfiable:
            assert mode == GenerationMode.NEGATIVE, operation.label  # nothing to get wrong (no parameters)
        except Exception as exc:  # noqa: BLE001 - collected, reported below with the operation it belongs to
            failures.append(f"{operation.label}:\n{exc}")
    return failures


def test_every_operation_answers_as_the_schema_says(wsgi_app, known):
    """Requests the schema admits: never a 500, only documented statuses, bodies as documented."""
    failures = fuzz(wsgi_app, known, mode=GenerationMode.POSITIVE, checks=CHECKS, examples=EXAMPLES)
    assert not failures, "\n\n".join(failures)


@pytest.mark.slow
def test_requests_the_schema_refuses_are_never_a_server_error(wsgi_app, known):
    """Requests outside the schema (wrong types, missing fields, out of range): a 4xx, never a 500."""
    failures = fuzz(wsgi_app, known, mode=GenerationMode.NEGATIVE, checks=[not_a_server_error], examples=EXAMPLES)
    assert not failures, "\n\n".join(failures)
