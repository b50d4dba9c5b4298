"""Search results as a list the photo viewer walks (registered with gallery.photo_lists by SearchConfig.ready).

The list context is the search page's own query string (`?from=search&q=…&family=…`): the neighbours come from
running that search again for the same user, so the viewer steps through the results in the order the page showed
them, scoped exactly as the page was (search_photos only ever returns the user's families' photos).
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.models import AbstractBaseUser
from django.http import QueryDict
from django.urls import reverse

from gallery.models import Photo
from gallery.photo_lists import ListContext, Neighbours, PhotoListKind
from search.engine import search_photos
from search.forms import SearchForm, search_form
from search.understanding import understand_search


class SearchList(PhotoListKind):
    name = "search"
    params = (*SearchForm.base_fields, "plain")  # the search page's parameters, in the form's order, and un-chipped words
    several = SearchForm.several | {"plain"}

    @classmethod
    def context(cls, data: QueryDict) -> ListContext:
        """The list context of the search page with these GET parameters (what its tiles add to photo URLs)."""
        return ListContext(cls.name, tuple((name, value) for name in cls.params for value in data.getlist(name) if value))

    def label(self, *, user: AbstractBaseUser, params: dict[str, str]) -> str:
        return "search results"

    def neighbours(self, *, user: AbstractBaseUser, photo: Photo, params: dict[str, str]) -> Neighbours:
        if not params.get("q"):
            return Neighbours(in_list=False)
        form = search_form(user=user, data=params)
        # As the page does: what the query's words name (places, dates, exclusions), less what the user un-chipped.
        understood = understand_search(user=user, params=form.params(), removed=form.removed())
        response = search_photos(user=user, params=understood.params)
        return Neighbours.in_sequence([result.photo.pk for result in response.results], photo.pk)

    def list_url(self, *, user: AbstractBaseUser, photo: Photo, params: dict[str, str],
                 neighbours: Neighbours) -> str:
        query = params.urlencode() if hasattr(params, "urlencode") else urlencode(list(params.items()))
        return reverse("search:search") + (f"?{query}" if query else "")
