"""The OpenAPI schema as the API really answers, so a client generated from it works unmodified (issue 12, point 8).

drf-spectacular documents what each view declares (its success responses, paginated lists as paginated objects
when the view names its `pagination_class`). What no view declares, the error answers every operation shares, this
AutoSchema adds: 400 (a field's or the request's errors), 401 (no or a bad token), 403, 404, 413 (any request over
the upload limits by its Content-Length; a body over them), 415 (a body of a Content-Type the operation does not read), 429 (throttled, locked out, or the server busy decoding), 503 (the database out of reach, e.g.
restarting: mediasearch/views.py), each with its body. A view that answers
something more (409 on an upload of a photo already there) says so in its own `extend_schema`, which wins.
Integer path parameters get the range the URL and the database accept, so a client never builds a URL that
reaches no view."""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent, build_media_type_object
from rest_framework.permissions import AllowAny

BIGINT_MAX = 2**63 - 1

ERROR = {
    "type": "object",
    "description": "An error the request as a whole met.",
    "properties": {"detail": {"type": "string", "description": "What went wrong, in plain words."}},
    "required": ["detail"],
}
# DRF's validation errors come in the shape of what was validated: an object of field → messages (a nested field's
# messages nest the same way; "detail" or "non_field_errors" for the request as a whole), or a plain list of
# messages when a view checks the request as a whole.
VALIDATION_ERROR = {
    "description": "What is wrong with the request: each field's messages, or a list of messages.",
    "oneOf": [
        {
            "type": "object",
            "properties": {
                "detail": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
                "non_field_errors": {"type": "array", "items": {"type": "string"}},
            },
            "additionalProperties": {"description": "A field's messages (a list, or an object for a nested field)."},
        },
        {"type": "array", "items": {"type": "string"}},
    ],
}

DESCRIPTIONS = {
    "400": "The request is malformed or a field is invalid.",
    "401": "No valid credentials (send `Authorization: Token <key>`).",
    "403": "Signed in, but not allowed to do this.",
    "404": "Not found, or not in one of your families (the two read alike).",
    "413": "The request is over UPLOAD_MAX_REQUEST_BYTES by its Content-Length (any request, before it is read), an "
           "upload over the size or file-count limits, or a JSON body over DATA_UPLOAD_MAX_MEMORY_SIZE.",
    "415": "The body's Content-Type is none this operation reads: application/json (application/merge-patch+json "
           "too for a PATCH; multipart/form-data for an upload).",
    "429": "Too many requests, or the server is busy: try again later (see `Retry-After`).",
    "503": "The database is out of reach (restarting or failing over): try again in a few seconds (see `Retry-After`).",
}


class MediaSearchAutoSchema(AutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code in self._error_codes():
            component = self._error_component(VALIDATION_ERROR if code == "400" else ERROR,
                                              "ValidationError" if code == "400" else "Error")
            responses.setdefault(code, {"description": DESCRIPTIONS[code],
                                        "content": {"application/json": {"schema": component.ref}}})
        return responses

    def _get_serializer(self):
        """None for a DELETE: its view names its body when it reads one (extend_schema's `request`); APIViews have no
        serializer to guess from."""
        return None if self.method == "DELETE" else super()._get_serializer()

    def _get_request_body(self, direction="request"):
        """drf-spectacular documents a body for POST, PUT and PATCH only; DRF reads a DELETE's as any other's
        (DELETE /api/v1/albums/{id}/photos/ takes the photos to take out), so one its view names is documented."""
        if self.method != "DELETE" or self.get_request_serializer() is None:
            return super()._get_request_body(direction)
        schema, required = self._get_request_for_media_type(self.get_request_serializer(), direction)
        return {"content": {media_type: build_media_type_object(schema) for media_type in self.map_parsers()},
                "required": required}

    def _error_codes(self) -> list[str]:
        has_body = self.method in ("POST", "PUT", "PATCH") or (  # (those drf-spectacular documents a body for)
            self.method == "DELETE" and self.get_request_serializer() is not None)
        has_input = has_body or bool(self.get_override_parameters()) or "{" in self.path or self._is_list_view()
        signed_in = not all(isinstance(p, AllowAny) for p in self.view.get_permissions())
        codes = []
        if has_input:
            codes.append("400")
        if signed_in:
            codes += ["401", "403"]
        if has_input and signed_in:
            codes.append("404")
        codes.append("413")  # any request, by its Content-Length (gallery.upload_limits), before a view runs
        if has_body:
            codes.append("415")
        codes += ["429", "503"]
        return codes

    def _error_component(self, schema: dict, name: str) -> ResolvedComponent:
        component = ResolvedComponent(name=name, type=ResolvedComponent.SCHEMA, schema=schema, object=name)
        self.registry.register_on_missing(component)
        return component

    def _resolve_path_parameters(self, variables):
        parameters = super()._resolve_path_parameters(variables)
        for parameter in parameters:
            if parameter["schema"].get("type") == "integer":  # <int:…>: digits only; ids are bigint
                parameter["schema"].update(minimum=1, maximum=BIGINT_MAX)
        return parameters
