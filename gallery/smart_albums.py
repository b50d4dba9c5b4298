"""The search behind smart albums, as the gallery sees it: a small registry the search app fills at start-up
(SearchConfig.ready), since the gallery must not import search.

A smart album keeps its search as JSON (Album.search) that only the registered engine reads: `clean` checks and
normalises what a member asks to save, `photo_ids` runs it, scoped to the album's family alone (whoever looks: a
member, or a visitor through a share link), best first.
"""

from __future__ import annotations

from typing import Protocol

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError

from gallery.models import Album, Family


class SmartAlbumEngine(Protocol):
    def clean(self, *, search: dict, family: Family, owner: AbstractBaseUser | None) -> dict:
        """The search to store (ValidationError with a plain message when it can't be saved)."""

    def photo_ids(self, *, album: Album, limit: int) -> list[int]:
        """The album's photos now, best first, only ever of `album.family`."""

    def describe(self, *, album: Album) -> str:
        """One line saying what the album searches for."""


_engines: dict[str, SmartAlbumEngine] = {}


def register(engine: SmartAlbumEngine) -> None:
    _engines["search"] = engine


def engine() -> SmartAlbumEngine:
    found = _engines.get("search")
    if found is None:
        raise ValidationError("Smart albums need the search app, which is not installed.")
    return found
