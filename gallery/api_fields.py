"""What the API's input serializers are made of, to read JSON, query strings and form bodies as a script or another
app sends them: numbers that are no true or false, text that is no number, parameters that come once."""

from __future__ import annotations

from rest_framework import serializers
from rest_framework.fields import empty

from gallery.forms import once_message

NOT_A_BOOLEAN = "A number is required, not true or false."


class NumberField(serializers.FloatField):
    """DRF's FloatField (which refuses NaN and Infinity, in JSON or as text), refusing true and false too: Python's
    bool is an int, so DRF read `"min_score": true` as 1.0 (every result hidden) and false as 0.0. Every fractional
    number the API takes is one of these."""

    default_error_messages = {"boolean": NOT_A_BOOLEAN}

    def to_internal_value(self, data) -> float:
        if isinstance(data, bool):
            self.fail("boolean")
        return super().to_internal_value(data)


class TextField(serializers.CharField):
    """DRF's CharField (which refuses true, false, lists and objects), refusing a JSON number too: DRF took
    `"tags": [1, 2]` for the tags "1" and "2" and `"title": 5` for the title "5", where a script had sent ids or the
    value of another field. A query string or a form body (multipart too) holds text only, so "5" there is text as
    ever. Every text the API takes is one of these."""

    default_error_messages = {"number": "Text is required, not a number: send it as a JSON string (\"{value}\")."}

    def to_internal_value(self, data) -> str:
        if isinstance(data, (int, float)) and not isinstance(data, bool):
            self.fail("number", value=data)
        return super().to_internal_value(data)


class ClearableTextField(TextField):
    """A text that may be empty (a photo's title and description, an album's description), which null clears as ""
    does: a JSON Merge Patch (RFC 7396) removes a member by setting it to null, and "This field may not be null." left
    a merge-patch client no way to clear one. (Text that can't be empty keeps refusing null, by its name.)"""

    def __init__(self, **kwargs):
        super().__init__(allow_blank=True, allow_null=True, **kwargs)

    def validate_empty_values(self, data):
        if data is None:
            return True, ""
        return super().validate_empty_values(data)


class TextRegexField(TextField, serializers.RegexField):
    """DRF's RegexField, refusing a JSON number as TextField does."""


class ParamsSerializer(serializers.Serializer):
    """What a query string or a form body (the API takes one beside JSON) carries. A field that takes a single value
    and comes more than once (`family=1&family=2`, how most HTTP libraries send a list) is refused by name: DRF read
    the last alone, answering for one family where a script asked for two, or uploading to the second, without a
    word; so is one sent as a list (`family[]=1`, which DRF ignored). A ListField, or a field that reads every value
    (`repeatable`), takes several. A required true/false missing from a form body is missing, not false. Every
    serializer of a request's query string or body is one of these."""

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        for field in fields.values():
            if isinstance(field, serializers.BooleanField) and field.required:
                # DRF reads one missing from a form body as an unticked checkbox, false: it is required, as in JSON
                field.default_empty_html = empty
        return fields

    def to_internal_value(self, data):
        if hasattr(data, "getlist") and (errors := self._repeats(data)):
            raise serializers.ValidationError(errors)
        return super().to_internal_value(data)

    def _repeats(self, data) -> dict[str, list[str]]:
        single = {name for name, field in self.fields.items()
                  if not isinstance(field, serializers.ListField) and not getattr(field, "repeatable", False)}
        errors = {name: [once_message(name)] for name in single if len(data.getlist(name)) > 1}
        # A list as jQuery and axios write one, family[]=1 or like[0]=1, is a name of no field: DRF ignored it (but
        # for a ListField's own plain[0]=…).
        for key in data:
            name, bracket, index = key.partition("[")
            if not bracket or name not in self.fields or errors.get(name):
                continue
            if name in single:
                errors[name] = [f"“{name}” takes one value: {name}=…, without brackets."]
            elif not (isinstance(self.fields[name], serializers.ListField) and index[:1].isdigit()):
                errors[name] = [f"Repeat “{name}” for each value ({name}=…&{name}=…), without brackets."]
        return dict(sorted(errors.items()))
