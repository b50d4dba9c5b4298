"""The OpenAPI schema is a contract a generated client can rely on (issue 12, point 8).

schemathesis generates requests from the schema for every operation, sends them with a signed-in token to the
real WSGI application (real database, real models: the repo's toy SigLIP), and checks that no answer is a 500,
that every status answered is one the schema names, and that every body matches the schema of its status."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import schemathesis
from schemathesis import GenerationMode
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from tests.factories import photo_factory

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


@pytest.fixture
def token(family, alice, bob):
    """alice's token, with something to find: photos of her family (one in the trash) and an empty album."""
    from gallery.album_services import album_create
    from gallery.trash_services import photos_trash

    photos = [photo_factory(family=family, user=alice, filename=f"IMG_{n}.jpg") for n in range(3)]
    album_create(user=alice, family=family, name="Holidays")
    photos_trash(user=alice, photo_ids=[photos[2].pk])
    return Token.objects.create(user=alice).key


def fuzz(wsgi_app, token: str, *, mode: GenerationMode, checks: list, examples: int) -> list[str]:
    """A bounded run per operation, all inside one test so the data is made once. Returns each operation's first
    failure."""
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy(generation_mode=mode))
        @hypothesis_settings(max_examples=examples, deadline=None, database=None, derandomize=True,
                             suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
        def answers_as_documented(case):
            case.call_and_validate(app=wsgi_app, headers={"Authorization": f"Token {token}"}, checks=checks)

        try:
            answers_as_documented()
        except Unsatisfiable:
            assert mode == GenerationMode.NEGATIVE, operation.label  # nothing to get wrong (no parameters)
        except Exception as exc:  # noqa: BLE001 - collected, reported below with the operation it belongs to
            failures.append(f"{operation.label}:\n{exc}")
    return failures


def test_every_operation_answers_as_the_schema_says(wsgi_app, token):
    """Requests the schema admits: never a 500, only documented statuses, bodies as documented."""
    failures = fuzz(wsgi_app, token, mode=GenerationMode.POSITIVE, checks=CHECKS, examples=EXAMPLES)
    assert not failures, "\n\n".join(failures)


@pytest.mark.slow
def test_requests_the_schema_refuses_are_never_a_server_error(wsgi_app, token):
    """Requests outside the schema (wrong types, missing fields, out of range): a 4xx, never a 500."""
    failures = fuzz(wsgi_app, token, mode=GenerationMode.NEGATIVE, checks=[not_a_server_error], examples=EXAMPLES)
    assert not failures, "\n\n".join(failures)
