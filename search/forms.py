from __future__ import annotations

import functools

from django import forms
from django.core.validators import ProhibitNullCharactersValidator

from gallery.forms import GIVEN_TWICE, OneValueEach
from gallery.text import NUL, id_from_text
from search.engine import MAX_LIMIT, MAX_QUERY_CHARS, PAGE_SIZE, SearchParams
from search.models import SearchPreferences
from search.query_parser import normalise

MAX_PLAIN = 20  # un-chipped phrases kept in the URL
NUL_ERROR = ProhibitNullCharactersValidator.code
NUL_MESSAGE = str(ProhibitNullCharactersValidator.message)  # "Null characters are not allowed."


def refine_text(data, name: str) -> str | None:
    """A refine parameter (like, unlike) of a query string as one text of ids: each value of a repeated one counts
    (`like=1&like=2`, how most HTTP libraries send a list; the last alone was read, dropping the first without a word),
    as the ids of one value do ("1,2"). None when it is not there."""
    values = data.getlist(name) if hasattr(data, "getlist") else [data.get(name)]
    values = [value for value in values if value is not None]
    return ",".join(values) if values else None


class RefineInput(forms.HiddenInput):
    def value_from_datadict(self, data, files, name):
        return refine_text(data, name)


def photo_ids(text: str | None, *, strict: bool = False) -> tuple[int, ...]:
    """Photo ids separated by commas ("12,15"), as refine's like/unlike carry them. What is not an id is dropped
    (a page never fails on a hand-edited URL), or with `strict` (the API) raises ValueError."""
    ids = []
    for part in (text or "").split(","):
        part = part.strip()
        if (photo_id := id_from_text(part)) is not None:
            ids.append(photo_id)
        elif part and strict:
            raise ValueError(part)
    return tuple(dict.fromkeys(ids))


class SearchForm(OneValueEach, forms.Form):
    """The search page's GET parameters. Invalid filters are dropped, never a 500; one of one value given twice is
    refused (refused())."""

    several = frozenset({"like", "unlike"})  # (refine_text reads each value)

    q = forms.CharField(required=False, strip=True, label="Search")
    family = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    uploader = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    tag = forms.CharField(required=False, max_length=64)
    country = forms.ChoiceField(required=False)
    place = forms.CharField(required=False, max_length=100, strip=True)
    after = forms.DateField(required=False, label="Taken from", widget=forms.DateInput(attrs={"type": "date"}))
    before = forms.DateField(required=False, label="Taken until", widget=forms.DateInput(attrs={"type": "date"}))
    sort = forms.ChoiceField(required=False, choices=[("", "Default"), *SearchPreferences.Sort.choices])
    show_hidden = forms.BooleanField(required=False)
    favourite = forms.BooleanField(required=False, label="Favourites only")
    # Refine: results marked right (like) and wrong (unlike) in this search, "12,15"; unreadable ids are dropped. No
    # length limit (the server's on the request line bounds it): one dropped the whole list, the first ids with it,
    # while the search reads the first 50 of each (search.engine.MAX_REFINE).
    like = forms.CharField(required=False, widget=RefineInput, label="Marked right")
    unlike = forms.CharField(required=False, widget=RefineInput, label="Marked wrong")
    # How many results the page shows: its "Show more" link asks for the next page's worth too.
    limit = forms.IntegerField(required=False, min_value=1, max_value=MAX_LIMIT, widget=forms.HiddenInput)

    def __init__(self, *args, families=(), uploaders=(), countries=(), **kwargs):
        """`uploaders` and `countries` (or a function giving them) are read only when the page draws their lists or
        a value sent is checked: a search as one types, its "Show more" and the viewer's steps send neither, and the
        two lists cost about 0.1 s at 100,000 photos."""
        super().__init__(*args, **kwargs)
        self.fields["family"].choices = [("", "All my families")] + [(f.pk, f.label) for f in families]
        self.fields["uploader"].choices = functools.cache(lambda: [("", "Anyone")] + [
            (u.pk, u.username) for u in (uploaders() if callable(uploaders) else uploaders)])
        self.fields["country"].choices = functools.cache(
            lambda: [("", "Anywhere")] + list(countries() if callable(countries) else countries))

    def params(self) -> SearchParams:
        if not self.is_bound or self.refused():
            # nothing is searched: an empty query string (search_form binds none) asks for nothing, and the rest of
            # a refused form alone is not what was asked
            return SearchParams()
        data = self.cleaned_data if self.is_valid() else {}
        if not self.is_valid():
            # Keep what is valid: a bad date should not throw the query away.
            data = {name: self.cleaned_data.get(name) for name in self.fields if name not in self.errors}
        return SearchParams(
            query=data.get("q") or "",
            family_id=data.get("family"),
            uploader_id=data.get("uploader"),
            tag=data.get("tag") or None,
            country=data.get("country") or None,
            place=data.get("place") or None,
            taken_after=data.get("after"),
            taken_before=data.get("before"),
            sort=data.get("sort") or None,
            show_hidden=bool(data.get("show_hidden")),
            favourite=bool(data.get("favourite")),
            like=photo_ids(data.get("like")),
            unlike=photo_ids(data.get("unlike")),
            limit=data.get("limit") or PAGE_SIZE,
        )


    def refused(self) -> dict[str, str]:
        """The text the search can't take, by parameter → the message: a NUL character in any text field (Django's
        CharField refuses it) or in a `plain` phrase, and a parameter of one value given twice (`family=1&family=2`,
        of which the last alone was read). Unlike an invalid filter, which is dropped, such text is said and nothing
        is searched: dropping or mangling it would search for something else than was asked."""
        if not self.is_bound:
            return {}
        self.is_valid()
        codes = (NUL_ERROR, GIVEN_TWICE)
        refused = {name: " ".join(message for error in errors if error.code in codes for message in error.messages)
                   for name, errors in self.errors.as_data().items()
                   if any(error.code in codes for error in errors)}
        if hasattr(self.data, "getlist") and any(NUL in value for value in self.data.getlist("plain")):
            refused["plain"] = NUL_MESSAGE
        return refused

    def refused_labels(self) -> list[tuple[str, str]]:
        """refused() as (what the user calls the field, message), for the notice above the results."""
        return [(self.fields[name].label or name.capitalize() if name in self.fields else "Searched as plain words",
                 message) for name, message in self.refused().items()]

    def removed(self) -> frozenset[str]:
        """The phrases the user un-chipped (`plain`, repeated): searched as words, not as places or dates."""
        return plain_phrases(self.data)


def plain_phrases(data) -> frozenset[str]:
    """The `plain` phrases (repeated) of a search's GET parameters, normalised as chip keys are."""
    values = data.getlist("plain") if hasattr(data, "getlist") else []
    return frozenset(key for value in values[:MAX_PLAIN] if (key := plain_key(value)))


def plain_key(value: str) -> str:
    """The chip key a `plain` value names (normalised as chip keys are)."""
    return normalise(value[:200])


class JudgeForm(forms.Form):
    """A verdict on one search result: right, wrong, or undo (take the verdict back)."""

    photo = forms.IntegerField(min_value=1, max_value=2**63 - 1)
    q = forms.CharField(max_length=5000)
    verdict = forms.ChoiceField(choices=[("right", "Right"), ("wrong", "Wrong"), ("undo", "Undo")])
    search = forms.CharField(required=False, max_length=10000)  # the search page's query string, to refine it


class ChipEditForm(forms.Form):
    """A chip changed on the search page: its key and the new place name, date range, or day and month (a day of
    every year's chip: "3 june"; with a year, that one day)."""

    chip = forms.CharField(max_length=300)
    chip_place = forms.CharField(required=False, max_length=100, strip=True)
    chip_after = forms.DateField(required=False)
    chip_before = forms.DateField(required=False)
    chip_day = forms.IntegerField(required=False, min_value=1, max_value=31)
    chip_month = forms.IntegerField(required=False, min_value=1, max_value=12)
    # (any number: one no photo can be from is the parser's to say, as in the box: "No photo is from 9999 yet")
    chip_year = forms.IntegerField(required=False, min_value=0, max_value=10**6)


def search_form(*, user, data, form_class: type[SearchForm] = SearchForm, families=None) -> SearchForm:
    """The search page's form for `data` (its GET parameters), with the user's own families, uploaders and
    countries as choices: the page, the viewer walking its results and the report of it read a query the same way."""
    from gallery.selectors import family_list, family_uploaders, place_countries

    return form_class(data or None, families=family_list(user=user) if families is None else families,
                      uploaders=functools.partial(family_uploaders, user=user),
                      countries=functools.partial(place_countries, user=user))


class PreferencesForm(forms.Form):
    semantic_weight = forms.FloatField(min_value=0, max_value=1, widget=forms.NumberInput(attrs={"type": "range", "step": "0.05", "min": "0", "max": "1"}))
    metadata_weight = forms.FloatField(min_value=0, max_value=1, widget=forms.NumberInput(attrs={"type": "range", "step": "0.05", "min": "0", "max": "1"}))
    min_score = forms.FloatField(min_value=0, max_value=1, label="Minimum score", widget=forms.NumberInput(attrs={"type": "range", "step": "0.01", "min": "0", "max": "1"}))
    expansion_enabled = forms.BooleanField(required=False, label="Expand queries with synonyms")
    default_sort = forms.ChoiceField(choices=SearchPreferences.Sort.choices)

    def clean(self):
        data = super().clean()
        weights_check(data)
        return data


def weights_check(data: dict) -> None:
    """What the preferences page and the admin both refuse: no weight at all (the range 0–1 is each field's)."""
    if data.get("semantic_weight") == 0 and data.get("metadata_weight") == 0:
        raise forms.ValidationError("At least one weight must be above zero.")


class PreferencesAdminForm(forms.ModelForm):
    """The admin's form of a user's preferences, refusing what the preferences page refuses."""

    semantic_weight = forms.FloatField(min_value=0, max_value=1)
    metadata_weight = forms.FloatField(min_value=0, max_value=1)
    min_score = forms.FloatField(min_value=0, max_value=1)

    class Meta:
        model = SearchPreferences
        fields = ["user", "semantic_weight", "metadata_weight", "min_score", "expansion_enabled", "default_sort"]

    def clean(self):
        data = super().clean()
        weights_check(data)
        return data


class SearchReportForm(SearchForm):
    """The search report page's GET parameters: a query, one of the user's families, and the rest of the search
    page's (its filters, refine and un-chipped words: the search page links its report with all of them), read as
    that page reads them, so the report scores the search the page showed."""

    # The first MAX_QUERY_CHARS of a longer query are scored, as the search page searches them (and both say so): a
    # report refusing it would score nothing of the search its page showed. The box takes no more when typed into.
    q = forms.CharField(required=False, strip=True, label="Query",
                        widget=forms.TextInput(attrs={"maxlength": MAX_QUERY_CHARS}))
    family = forms.TypedChoiceField(coerce=int, label="Family")
    # The search page's search of all the user's families: scored as it ran (top results from each), with `family`'s
    # figures (model, calibration, distributions).
    all_families = forms.BooleanField(required=False, label="Search all my families")

    def __init__(self, *args, families=(), **kwargs):
        super().__init__(*args, families=families, **kwargs)
        self.fields["family"].choices = [(f.pk, f.label) for f in families]
        self.fields["family"].error_messages["invalid_choice"] = "Pick one of your families."
