"""Smart albums: a saved search whose results, in the album's family only, are the album's photos whenever it is
looked at (registered with gallery.smart_albums by SearchConfig.ready).

What is saved (Album.search, JSON): the query, the search page's filters, the minimum score, and the owner's
weights at save time (`"weights": {"semantic", "metadata", "expansion"}`) or `"weights": "live"` (the owner's
preferences when the album is looked at; the defaults once the owner has left the album's family or their account is
gone).

Isolation rests on the scope, not on who looks: the search runs with a context holding the album's family alone,
so a smart album never shows another family's photo, whatever families its owner or the visitor belong to.
"""

from __future__ import annotations

from datetime import date

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ValidationError
from django.core.validators import ProhibitNullCharactersValidator
from django.db.models import Exists, Q

from gallery.models import Album, Family, Membership, Photo, Tag
from gallery.selectors import same_name
from gallery.text import NUL, id_from_text
from search.engine import MAX_QUERY_CHARS, SearchParams, preferences_for, search_photos
from search.models import PhotoEmbedding, SearchPreferences
from search.query_parser import has_words
from search.selectors import SearchContext
from search.understanding import understand_family_search
from django.conf import settings

TEXT_FILTERS = {"tag": 64, "place": 100}
LIVE = "live"
MAX_PLAIN = 20
KEYS = ("q", "tag", "uploader", "country", "place", "after", "before", "min_score", "plain", "weights")
# The search API's names for what a saved search calls otherwise (or does not keep), for a message that says so.
API_NAMES = {"taken_after": "after", "taken_before": "before", "uploaded_by": "uploader"}


def _text(value, limit: int, name: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationError(f"“{name}” must be text.")
    if NUL in value:  # refused as on the search page: dropping it would save a search for other words
        raise ValidationError(f"“{name}”: {ProhibitNullCharactersValidator.message}")
    value = " ".join(value.split())
    if len(value) > limit:
        raise ValidationError(f"“{name}” can be at most {limit} characters.")
    return value


def _day(value, name: str) -> str:
    if value in (None, ""):
        return ""
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError as exc:
        raise ValidationError(f"“{name}” must be a date like 2024-06-14.") from exc


def _number(value, name: str, *, low: float, high: float) -> float:
    if isinstance(value, bool):  # a JSON true is Python's 1 (as NumberField refuses it in the API's serializers)
        raise ValidationError(f"“{name}” must be a number.")
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"“{name}” must be a number.") from exc
    if not low <= number <= high:
        raise ValidationError(f"“{name}” must be between {low:g} and {high:g}.")
    return number


def _user_id(value, name: str) -> int | None:
    """A user's id as JSON gives it (a whole number, not true) or a page's URL does ("3"); None when not given."""
    if value in (None, ""):
        return None
    user_id = value if type(value) is int and 0 < value < 2**63 else id_from_text(value)
    if user_id is None:
        raise ValidationError(f"“{name}” must be a user's id.")
    return user_id


def _flag(value, name: str) -> bool:
    if not isinstance(value, bool):  # bool("false") is True
        raise ValidationError(f"“{name}” must be true or false.")
    return value


def _known_keys(search: dict) -> None:
    """Refuse a key the saved search does not know: dropping it would save another search than was asked for (a
    "taken_after" left out saves no date at all)."""
    unknown = [key for key in search if key not in KEYS]
    if unknown:
        raise ValidationError([
            f"“{key}” is not part of a smart album's search" + (f": its name here is “{API_NAMES[key]}”."
                                                                if key in API_NAMES else ".")
            for key in unknown[:MAX_PLAIN]
        ] + [f"A smart album's search takes {', '.join(f'“{key}”' for key in KEYS)}."])


def _family_account(family_id: int, user_id: int):
    """The account `user_id` if it is a member of the family or uploaded photos to it (the uploaders a smart album of
    that family may name), else None."""
    uploaded = Photo.all_objects.filter(family_id=family_id, uploaded_by_id=user_id)
    member = Membership.objects.filter(family_id=family_id, user_id=user_id)
    return get_user_model().objects.filter(Q(pk=user_id) & (Q(Exists(uploaded)) | Q(Exists(member)))).first()


class SmartAlbumSearch:
    """The search app's side of smart albums (gallery.smart_albums.SmartAlbumEngine)."""

    def clean(self, *, search: dict, family: Family, owner: AbstractBaseUser | None) -> dict:
        if not isinstance(search, dict):
            raise ValidationError("A smart album's search must be an object with at least “q”.")
        _known_keys(search)
        query = _text(search.get("q"), MAX_QUERY_CHARS, "q")
        if not has_words(query):  # (nor punctuation alone, "?!": the search lists nothing)
            raise ValidationError("A smart album needs something to search for (“q”).")
        prefs = preferences_for(owner) if owner is not None and owner.is_authenticated else SearchPreferences()
        cleaned = {"q": query, **{name: _text(search.get(name), limit, name) for name, limit in TEXT_FILTERS.items()}}
        country = _text(search.get("country"), 2, "country").upper()
        if country and not (len(country) == 2 and country.isalpha()):
            raise ValidationError("“country” must be a two-letter country code.")
        cleaned["country"] = country
        cleaned["uploader"] = _user_id(search.get("uploader"), "uploader")
        if cleaned["uploader"] is not None and _family_account(family.pk, cleaned["uploader"]) is None:
            # Any other account, of another family or none, alike: the album would always be empty.
            raise ValidationError("“uploader” must be a member of the album's family or someone whose photos are in "
                                  "it.")
        cleaned["after"], cleaned["before"] = _day(search.get("after"), "after"), _day(search.get("before"), "before")
        if cleaned["after"] and cleaned["before"] and cleaned["after"] > cleaned["before"]:
            raise ValidationError("“after” must not be later than “before”.")
        min_score = search.get("min_score")
        cleaned["min_score"] = (prefs.min_score if min_score in (None, "")
                                else _number(min_score, "min_score", low=0, high=1))
        plain = search.get("plain") or []
        if not isinstance(plain, list) or not all(isinstance(phrase, str) for phrase in plain):
            raise ValidationError("“plain” must be a list of phrases.")
        if len(plain) > MAX_PLAIN:
            raise ValidationError(f"“plain” holds at most {MAX_PLAIN} phrases.")
        cleaned["plain"] = [_text(p, 200, "plain") for p in plain if p.strip()]
        weights = search.get("weights", "saved")
        if weights == LIVE:
            cleaned["weights"] = LIVE
        elif weights in (None, "", "saved"):
            cleaned["weights"] = {"semantic": prefs.semantic_weight, "metadata": prefs.metadata_weight,
                                  "expansion": prefs.expansion_enabled}
        elif isinstance(weights, dict):
            cleaned["weights"] = {"semantic": _number(weights.get("semantic"), "weights.semantic", low=0, high=1),
                                  "metadata": _number(weights.get("metadata"), "weights.metadata", low=0, high=1),
                                  "expansion": _flag(weights.get("expansion", True), "weights.expansion")}
            if cleaned["weights"]["semantic"] == cleaned["weights"]["metadata"] == 0:
                raise ValidationError("At least one weight must be above zero.")
        else:
            raise ValidationError("“weights” is “saved” (the owner's now), “live”, or "
                                  "{\"semantic\", \"metadata\", \"expansion\"}.")
        return cleaned

    def photo_ids(self, *, album: Album, limit: int) -> list[int]:
        search = album.search or {}
        if not search.get("q"):
            return []
        params, prefs = self._params(album, limit)
        understood = understand_family_search(family_id=album.family_id, params=params,
                                              removed=frozenset(search.get("plain") or ()))
        context = SearchContext(family_ids=[album.family_id], preferences=prefs, other_models=_other_models())
        response = search_photos(user=AnonymousUser(), params=understood.params, context=context)
        return [result.photo.pk for result in response.results if result.photo.family_id == album.family_id]

    def describe(self, *, album: Album) -> str:
        search = album.search or {}
        parts = [f"“{search.get('q', '')}”"]
        if search.get("uploader"):
            account = _family_account(album.family_id, search["uploader"])
            parts.append(f"uploaded by {account.username if account else 'a former account'}")
        for name, label in (("tag", "tagged"), ("place", "in"), ("country", "in"), ("after", "from"),
                            ("before", "until")):
            if search.get(name):
                parts.append(f"{label} {search[name]}{_gone(album, name)}")
        parts.append(f"score at least {float(search.get('min_score') or 0):.2f}")
        if search.get("weights") != LIVE:
            parts.append("weights saved with it")
        elif _steering_owner(album) is not None:
            parts.append("the owner's current weights")
        else:  # (as _params searches then)
            parts.append("the default weights (its owner is no longer in the family)")
        return ", ".join(parts)

    @staticmethod
    def _params(album: Album, limit: int) -> tuple[SearchParams, SearchPreferences]:
        search = album.search
        owner = _steering_owner(album)
        prefs = preferences_for(owner) if owner is not None else SearchPreferences()
        weights = search.get("weights")
        if isinstance(weights, dict):
            prefs = SearchPreferences(semantic_weight=weights["semantic"], metadata_weight=weights["metadata"],
                                      expansion_enabled=weights["expansion"], min_score=prefs.min_score)
        params = SearchParams(
            query=search["q"], family_id=album.family_id, uploader_id=search.get("uploader"),
            tag=search.get("tag") or None, country=search.get("country") or None, place=search.get("place") or None,
            taken_after=date.fromisoformat(search["after"]) if search.get("after") else None,
            taken_before=date.fromisoformat(search["before"]) if search.get("before") else None,
            sort="relevance", limit=limit, min_score=search.get("min_score"),
            semantic_weight=prefs.semantic_weight, metadata_weight=prefs.metadata_weight,
            expansion_enabled=prefs.expansion_enabled,
        )
        return params, prefs


def _gone(album: Album, name: str) -> str:
    """What describe adds to the album's tag filter when the family has no such tag (deleted: the album stays empty,
    its filter kept, smart_albums_tag_renamed), else nothing."""
    if name != "tag" or Tag.objects.filter(same_name("name", album.search["tag"]), family_id=album.family_id).exists():
        return ""
    return " (a tag the family no longer has)"


def _steering_owner(album: Album):
    """The album's owner while they are in its family (their preferences steer its search), else None: out of the
    family (left, removed, their account deleted), their preferences no longer steer the family's album."""
    owner = album.created_by
    if owner is None or not Membership.objects.filter(family_id=album.family_id, user=owner).exists():
        return None
    return owner


def _other_models() -> bool:
    """Whether embeddings of a model other than the active one exist (a switch under way), as search_context asks."""
    active = settings.SEARCH_MODEL
    return PhotoEmbedding.objects.filter(Q(model_name__lt=active) | Q(model_name__gt=active)).exists()
