"""The OpenAPI schema itself: valid, and saying what the API really answers (issue 12, point 8). The fuzzing of
every operation against it is tests/test_api_contract.py; each mismatch it found has its plain test here."""

from __future__ import annotations

import json
import re

import pytest
from django.core.management import call_command
from django.urls import reverse

from tests.factories import api_token_key


@pytest.fixture(scope="module")
def api_schema() -> dict:
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    return json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))


def operation(api_schema: dict, path: str, method: str) -> dict:
    return api_schema["paths"][path][method]


def component(api_schema: dict, ref: str) -> dict:
    return api_schema["components"]["schemas"][ref.removeprefix("#/components/schemas/")]


def test_the_schema_validates_without_a_warning(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))


@pytest.mark.parametrize("path", ["/api/v1/photos/", "/api/v1/albums/{album_id}/photos/", "/api/v1/trash/",
                                  "/api/v1/search/judgments/"])
def test_paginated_lists_are_typed_as_paginated_objects(api_schema, path):
    get = operation(api_schema, path, "get")
    page = component(api_schema, get["responses"]["200"]["content"]["application/json"]["schema"]["$ref"])

    assert page["type"] == "object"
    assert {"count", "next", "previous", "results"} <= set(page["properties"])
    assert page["properties"]["results"]["type"] == "array"
    assert "page" in {p["name"] for p in get["parameters"]}


def test_every_operation_names_its_error_answers_with_their_bodies(api_schema):
    for path, methods in api_schema["paths"].items():
        for method, op in methods.items():
            codes = set(op["responses"])
            assert "429" in codes, (method, path)
            assert "503" in codes, (method, path)  # the database out of reach (mediasearch/views.py)
            if path != "/api/v1/auth/token/":
                assert {"401", "403"} <= codes, (method, path)
            if "{" in path or method in ("post", "patch", "put"):
                assert {"400", "404"} <= codes or path == "/api/v1/auth/token/", (method, path)
            for code in codes - {"200", "201", "204"}:
                assert "application/json" in op["responses"][code]["content"], (method, path, code)
    upload = operation(api_schema, "/api/v1/photos/", "post")["responses"]
    assert {"400", "409", "413"} <= set(upload)
    conflict = component(api_schema, upload["409"]["content"]["application/json"]["schema"]["$ref"])
    assert set(conflict["properties"]) == {"detail", "photo"}


def test_integer_path_parameters_admit_only_ids_that_reach_a_view(api_schema):
    for parameter in operation(api_schema, "/api/v1/photos/{photo_id}/", "get")["parameters"]:
        if parameter["in"] == "path":
            assert parameter["schema"] == {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}


def test_an_album_without_photos_has_a_null_cover_and_the_schema_allows_it(api_schema, client, family, alice):
    """Found by the fuzzer: the cover was typed as a plain integer."""
    from gallery.album_services import album_create

    album_create(user=alice, family=family, name="Empty")
    token = api_token_key(alice)

    body = client.get(reverse("api_albums"), headers={"Authorization": f"Token {token}"}).json()

    assert body["results"][0]["cover"] is None
    assert component(api_schema, "AlbumOutput")["properties"]["cover"].get("nullable") is True


@pytest.mark.django_db
def test_every_operation_without_credentials_answers_the_documented_401(api_schema, client):
    for path, methods in api_schema["paths"].items():
        if path == "/api/v1/auth/token/":
            continue
        url = re.sub(r"\{[^}]+\}", "1", path)
        for method, op in methods.items():
            response = client.generic(method.upper(), url)
            assert response.status_code == 401, (method, url)
            assert set(response.json()) == {"detail"}, (method, url)
            assert "401" in op["responses"], (method, path)


@pytest.mark.parametrize("path", ["/api/v1/photos/{photo_id}/", "/api/v1/albums/{album_id}/",
                                  "/api/v1/search/preferences/"])
def test_every_patch_takes_a_json_merge_patch(api_schema, path):
    """RFC 7396 clients send a PATCH as `application/merge-patch+json`: it was a 415, which the schema named nowhere."""
    assert "application/merge-patch+json" in operation(api_schema, path, "patch")["requestBody"]["content"]


def test_a_delete_that_reads_a_body_documents_it_its_answer_and_its_413(api_schema):
    """DELETE /api/v1/albums/{id}/photos/ reads the photos to take out of its body, and a body over 2.5 MB is a 413:
    the schema showed no body, no 413, and "204 No response body" for its 200 with the results (so did the
    favourite's DELETE, which answers 200 with the photo's state)."""
    remove = operation(api_schema, "/api/v1/albums/{album_id}/photos/", "delete")
    assert "application/json" in remove["requestBody"]["content"]
    assert {"200", "400", "413"} <= set(remove["responses"]) and "204" not in remove["responses"]
    unfavourite = operation(api_schema, "/api/v1/photos/{photo_id}/favourite/", "delete")
    assert "200" in unfavourite["responses"] and "204" not in unfavourite["responses"]
    for path, methods in api_schema["paths"].items():
        for method, op in methods.items():
            if "requestBody" in op:
                assert "413" in op["responses"], (method, path)


@pytest.mark.django_db
def test_every_operation_that_reads_a_body_documents_its_415_and_every_one_its_413(api_schema, client, family, alice):
    """A body sent as something no parser reads (text/plain, a form to a JSON-only view) is a 415, and any request
    whose Content-Length is over UPLOAD_MAX_REQUEST_BYTES a 413 before a view runs (gallery.upload_limits): the
    schema named no 415 anywhere, and the 413 only where it documented a body. Each operation is asked both ways,
    signed in (ids that name nothing: a 404 there comes first and tells nothing)."""
    token = api_token_key(alice)
    missing = []
    for path, methods in api_schema["paths"].items():
        url = re.sub(r"\{[^}]+\}", "999999", path)
        for method, op in methods.items():
            wrong_type = client.generic(method.upper(), url, b"photos=1", content_type="text/plain",
                                        headers={"Authorization": f"Token {token}"})
            if wrong_type.status_code == 415:
                assert set(wrong_type.json()) == {"detail"}, (method, path)
                if "415" not in op["responses"]:
                    missing.append(f"{method} {path}: 415 answered, not documented")
            elif "requestBody" in op and wrong_type.status_code != 404:  # (404: the id was looked up first)
                missing.append(f"{method} {path}: a text/plain body answered {wrong_type.status_code}, not 415")
            too_large = client.generic(method.upper(), url, b"{}", content_type="application/json",
                                       headers={"Authorization": f"Token {token}"},
                                       CONTENT_LENGTH=str(2 * 1024**3 + 1))
            assert too_large.status_code == 413 and set(too_large.json()) == {"detail"}, (method, path)
            if "413" not in op["responses"]:
                missing.append(f"{method} {path}: 413 answered, not documented")
    assert not missing, "\n".join(missing)


def test_the_bulk_actions_listed_are_those_registered_at_start_up(api_schema):
    """read_text is registered by search at start-up (gallery can't import search): the schema lists it."""
    body = operation(api_schema, "/api/v1/photos/bulk/", "post")["requestBody"]["content"]["application/json"]
    fields = component(api_schema, body["schema"]["$ref"])["properties"]
    action = fields["action"]
    choices = action.get("enum") or component(api_schema, action["allOf"][0]["$ref"] if "allOf" in action
                                              else action["$ref"])["enum"]
    assert "read_text" in choices and "add_tags" in choices
