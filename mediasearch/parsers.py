"""The API's JSON parser (REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"])."""

from __future__ import annotations

import sys
from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError

from gallery.text import json_strings


def _has_lone_surrogate(value: Any) -> bool:
    return not all(_encodable(text) for text in json_strings(value))


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class JSONParser(parsers.JSONParser):
    """DRF's, refusing JSON nested past Python's recursion limit (a RecursionError, which DRF doesn't take for a
    parse error), an integer of thousands of digits in the client's terms, and a lone surrogate ("\\ud800"). JSON
    may spell one, but it is no character: no field can take it, and whichever reached it failed (an error message
    echoing it could not be encoded as UTF-8, nor could a row holding it). Form and query-string text never holds
    one: Django decodes it with replacement characters."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:  # Python's decoder takes one call per level
            raise ParseError("JSON parse error - nested too deeply.") from None
        except ParseError as exc:
            # Python's own words for an integer past its limit advise the server's code (sys.set_int_max_str_digits())
            if "integer string conversion" in str(exc.__context__):
                raise ParseError(f"JSON parse error - a number of more than {sys.get_int_max_str_digits()} digits: "
                                 "no id or value is that long.") from None
            raise
        if _has_lone_surrogate(data):
            raise ParseError("JSON parse error - a string holds a lone surrogate (\\ud800 to \\udfff), which is no "
                             "character: send text as UTF-8.")
        return data


class MergePatchParser(JSONParser):
    """A JSON Merge Patch (RFC 7396), `application/merge-patch+json`, as such clients send a PATCH: read as the JSON it
    is. Every PATCH endpoint merges already (a member left out keeps its value; null clears what may be cleared: a
    position, an album's cover, a title or description: api_fields.ClearableTextField; a field that can't be empty
    refuses null by its name); a nested object (an album's `search`) is replaced whole, as with application/json."""

    media_type = "application/merge-patch+json"
