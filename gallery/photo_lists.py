"""The lists a photo is opened from, so the viewer can step to the previous/next photo of that list and go back to it.

A list context is the list's kind plus its own parameters, carried on the photo page's URL as
`?from=<kind>&<the list's parameters>`: `?from=timeline&family=2&tag=beach`, `?from=search&q=dog+on+the+beach`
(an album plugs in as e.g. `?from=album&album=5`). Each kind is a PhotoListKind registered here at start-up (the
gallery registers the timeline; the search app, which gallery must not import, registers search results from its
AppConfig.ready). A kind answers three questions for a user and a photo: its neighbours in the list, the list's URL
showing that photo, and a label for "Back to …".

Isolation does not rest on each kind: `photo_viewer` keeps only neighbours the user may see (one query), so a
list kind can never lead to another family's photo. The photo itself comes from `photo_get`, which already checked it.
Without a (known) context the list is the whole timeline, and the photo URL stays plain.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.contrib.auth.models import AbstractBaseUser
from django.http import QueryDict
from django.urls import reverse

from gallery.forms import given_twice
from gallery.models import Photo

LIST_PARAM = "from"
DEFAULT_KIND = "timeline"
# A list parameter longer than this is cut (a search query is used up to 300 characters; URLs stay sane).
MAX_PARAM_CHARS = 1000
MAX_PARAM_VALUES = 20


@dataclass(frozen=True)
class ListContext:
    kind: str = DEFAULT_KIND
    params: tuple[tuple[str, str], ...] = ()

    @property
    def query(self) -> str:
        """What follows a photo's URL to open it in this list ("" for the plain timeline)."""
        if self.kind == DEFAULT_KIND and not self.params:
            return ""
        return "?" + urlencode([(LIST_PARAM, self.kind), *self.params])

    def photo_url(self, photo_id: int) -> str:
        return reverse("gallery:photo_detail", args=[photo_id]) + self.query


@dataclass(frozen=True)
class Neighbours:
    previous_id: int | None = None
    next_id: int | None = None
    position: int | None = None  # 1-based, when the kind knows it cheaply
    total: int | None = None
    in_list: bool = True  # False: the photo is not (or no longer) in the list

    @classmethod
    def in_sequence(cls, ids: list[int], photo_id: int) -> Neighbours:
        """The neighbours of `photo_id` in an ordered list of ids (search results, an album)."""
        try:
            index = ids.index(photo_id)
        except ValueError:
            return cls(in_list=False, total=len(ids))
        return cls(previous_id=ids[index - 1] if index else None,
                   next_id=ids[index + 1] if index + 1 < len(ids) else None,
                   position=index + 1, total=len(ids))


class PhotoListKind:
    """One kind of list the viewer can walk. Subclasses set `name` (the value of ?from=) and `params` (the names of
    the list's own URL parameters, kept in this order; any other is dropped) and answer for a user and a photo the
    user may see. `params` reach them as a dict of strings exactly as they came in the URL: parse them leniently
    (a broken value is ignored, as the list page itself does), never raise on them."""

    name: str = ""
    params: tuple[str, ...] = ()
    several: frozenset[str] = frozenset()  # those of `params` that take several values (search's `plain`)

    def label(self, *, user: AbstractBaseUser, params: dict[str, str]) -> str:
        """What the list is, after "Back to": "photos", "search results"."""
        raise NotImplementedError

    def neighbours(self, *, user: AbstractBaseUser, photo: Photo, params: dict[str, str]) -> Neighbours:
        raise NotImplementedError

    def list_url(self, *, user: AbstractBaseUser, photo: Photo, params: dict[str, str],
                 neighbours: Neighbours) -> str:
        """The list's page drawn so that `photo` is on it (the viewer adds the #photo-<id> anchor). `neighbours`:
        what `neighbours` just answered for the photo (its position, when the kind knows it)."""
        raise NotImplementedError

    @staticmethod
    def visible_ids(*, user: AbstractBaseUser, photo_ids: list[int]) -> set[int]:
        """Which of `photo_ids` the user may see now (one query)."""
        from gallery.selectors import photo_list

        if not photo_ids:
            return set()
        return set(photo_list(user=user).prefetch_related(None).filter(pk__in=photo_ids).values_list("pk", flat=True))


_KINDS: dict[str, PhotoListKind] = {}


def register(kind: PhotoListKind) -> None:
    """Make a list kind known (from an AppConfig.ready). Registering a name again replaces it."""
    _KINDS[kind.name] = kind


def unregister(name: str) -> None:
    _KINDS.pop(name, None)


def list_kind(name: str) -> PhotoListKind:
    return _KINDS[name]


def list_context_from(data: QueryDict) -> ListContext:
    """The list context in a photo page's query string; the timeline when there is none or it is unknown."""
    kind = _KINDS.get(data.get(LIST_PARAM) or DEFAULT_KIND) or _KINDS[DEFAULT_KIND]
    twice = list_params_given_twice(data)  # (left out: photo_viewer says so)
    params = []
    for name in (name for name in kind.params if name not in twice):
        for value in data.getlist(name)[:MAX_PARAM_VALUES]:  # a parameter may repeat (search's `plain`)
            value = value.replace("\x00", "")[:MAX_PARAM_CHARS]
            if value:
                params.append((name, value))
    return ListContext(kind.name, tuple(params))


def list_params_given_twice(data: QueryDict) -> dict[str, str]:
    """The list's parameters of one value that a photo page's query string gives more than once (`family=1&family=2`),
    by name → what to say of it (gallery.forms.given_twice, as the list pages' OneValueEach)."""
    kind = _KINDS.get(data.get(LIST_PARAM) or DEFAULT_KIND) or _KINDS[DEFAULT_KIND]
    return given_twice(data, [name for name in kind.params if name not in kind.several])


@dataclass(frozen=True)
class Viewer:
    """What the photo page needs to walk its list: the neighbours' URLs, where "back" goes, the position."""

    context: ListContext
    photo_id: int
    back_url: str
    back_label: str
    neighbours: Neighbours
    # The list's parameters of one value given more than once, by name → what to say: the list is walked without them.
    given_twice: dict[str, str] = field(default_factory=dict)

    @property
    def previous_url(self) -> str | None:
        return self.context.photo_url(self.neighbours.previous_id) if self.neighbours.previous_id else None

    @property
    def next_url(self) -> str | None:
        return self.context.photo_url(self.neighbours.next_id) if self.neighbours.next_id else None

    @property
    def previous_display_url(self) -> str | None:
        previous = self.neighbours.previous_id
        return reverse("gallery:photo_display", args=[previous]) if previous else None

    @property
    def next_display_url(self) -> str | None:
        following = self.neighbours.next_id
        return reverse("gallery:photo_display", args=[following]) if following else None


def photo_viewer(*, user: AbstractBaseUser, photo: Photo, data: QueryDict) -> Viewer:
    """The viewer of `photo` (which the caller got from photo_get) in the list named by `data`."""
    context = list_context_from(data)
    kind = _KINDS[context.kind]
    params = QueryDict(mutable=True)  # .get gives a parameter's value, .getlist all of a repeated one
    for name, value in context.params:
        params.appendlist(name, value)
    found = kind.neighbours(user=user, photo=photo, params=params)
    neighbours = _visible_only(user, found)
    return Viewer(
        context=context,
        photo_id=photo.pk,
        back_url=f"{kind.list_url(user=user, photo=photo, params=params, neighbours=found)}#photo-{photo.pk}",
        back_label=kind.label(user=user, params=params),
        neighbours=neighbours,
        given_twice=list_params_given_twice(data),
    )


def _visible_only(user: AbstractBaseUser, neighbours: Neighbours) -> Neighbours:
    ids = [pk for pk in (neighbours.previous_id, neighbours.next_id) if pk is not None]
    visible = PhotoListKind.visible_ids(user=user, photo_ids=ids)
    return Neighbours(
        previous_id=neighbours.previous_id if neighbours.previous_id in visible else None,
        next_id=neighbours.next_id if neighbours.next_id in visible else None,
        position=neighbours.position, total=neighbours.total, in_list=neighbours.in_list,
    )
