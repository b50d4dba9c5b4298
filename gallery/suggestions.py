"""Writes of tag suggestions: storing what the search app's scoring found, and members accepting or dismissing.

A suggestion is open until a member decides: accepted (it became an ordinary tag, source "suggestion") or
dismissed. Decided ones are kept as a record, so scoring again (new vocabulary, new model) never offers them
again; nor does it offer a tag the photo already carries."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from gallery.models import Family, Photo, PhotoTag, TagSuggestion
from gallery.selectors import names_folded
from gallery.services import DELETED, MAX_TAGS, member_hold, photo_tags_add
from gallery.signals import photos_changed


@transaction.atomic
def photos_suggestions_replace(*, found: Mapping[int, Mapping[str, float]], model_name: str) -> list[int]:
    """Make the open suggestions of the photos in `found` (photo id -> {tag name: probability}, every photo that
    was scored, with {} for none) exactly what was found, and record the model that scored them.

    Accepted and dismissed suggestions are left alone and never reopened; names the photo already carries as tags
    are not suggested. Returns the ids of photos whose open suggestions changed (their search documents are
    rebuilt through `photos_changed`)."""
    ids = sorted(found)
    if not ids:
        return []
    # Locks the photos' rows, so two scorings of the same photos (a batch and a recompute) take turns.
    ids = list(Photo.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk", flat=True))
    rows, tags = _current(ids), _tags(ids)
    # Names told apart as the unique index of tags tells them apart (names_folded; one query for all): Python's lower()
    # reads "İstanbul" and "istanbul" as two, "Straße" and "STRASSE" as two. (A photo's suggestions' own constraint
    # still compares PostgreSQL's lower(), which tells those apart: one suggestion a key is kept here, not there.)
    spaced = [*(row.name for row in rows), *(name for _, name in tags),
              *(name for photo_id in ids for name in found[photo_id])]
    key_of = dict(zip(spaced, names_folded(" ".join(name.split()) for name in spaced))).__getitem__
    decided, open_, twins = _current_by_key(rows, key_of)
    tagged: dict[int, set[str]] = defaultdict(set)
    for photo_id, name in tags:
        tagged[photo_id].add(key_of(name))
    delete, changed = [row.pk for row in twins], {row.photo_id for row in twins}
    create, update = [], []
    for photo_id in ids:
        wanted = {key_of(name): (name, p) for name, p in found[photo_id].items()
                  if key_of(name) not in decided[photo_id] and key_of(name) not in tagged[photo_id]}
        for key, row in open_[photo_id].items():
            if key not in wanted:
                delete.append(row.pk)
                changed.add(photo_id)
            elif abs(row.probability - wanted[key][1]) > 5e-4 or row.model_name != model_name:
                row.probability, row.model_name = wanted[key][1], model_name
                update.append(row)
                changed.add(photo_id)  # the probability is part of what search weighs
        for key, (name, p) in wanted.items():
            if key not in open_[photo_id]:
                create.append(TagSuggestion(photo_id=photo_id, name=name[:64], probability=p, model_name=model_name))
                changed.add(photo_id)
    # Still open: a member's decision committed since they were read (the delete waited for its row) stands.
    TagSuggestion.objects.filter(pk__in=delete, state=TagSuggestion.State.OPEN).delete()
    TagSuggestion.objects.bulk_update(update, ["probability", "model_name"])
    TagSuggestion.objects.bulk_create(create, ignore_conflicts=True)  # a name only differing in spaces: first wins
    Photo.objects.filter(pk__in=ids).exclude(suggestions_model=model_name).update(suggestions_model=model_name)
    if changed:
        photos_changed.send(sender=Photo, photo_ids=sorted(changed))
    return sorted(changed)


def _current(photo_ids: list[int]) -> list[TagSuggestion]:
    return list(TagSuggestion.objects.filter(photo_id__in=photo_ids).only("pk", "photo_id", "name", "state",
                                                                          "probability", "model_name"))


def _current_by_key(rows: list[TagSuggestion], key: Callable[[str], str]) -> tuple[
        dict[int, set[str]], dict[int, dict[str, TagSuggestion]], list[TagSuggestion]]:
    """The keys decided on each photo, its open suggestions by key, and the open ones beside another of their key:
    twins made apart before the fold (one_suggestion_per_photo_tag_ci is by lower(): "Straße" and "STRASSE"), of
    which the likeliest is kept, the others to be deleted."""
    decided: dict[int, set[str]] = defaultdict(set)
    open_: dict[int, dict[str, TagSuggestion]] = defaultdict(dict)
    twins: list[TagSuggestion] = []
    for row in sorted(rows, key=lambda row: (-row.probability, row.pk)):
        if row.state != TagSuggestion.State.OPEN:
            decided[row.photo_id].add(key(row.name))
        elif key(row.name) in open_[row.photo_id]:
            twins.append(row)
        else:
            open_[row.photo_id][key(row.name)] = row
    return decided, open_, twins


def _tags(photo_ids: list[int]) -> list[tuple[int, str]]:
    """(photo id, tag name) of each tag the photos carry."""
    return list(Photo.tags.through.objects.filter(photo_id__in=photo_ids).values_list("photo_id", "tag__name"))


# --- members' decisions --------------------------------------------------------------------------


@transaction.atomic
def suggestions_accept(*, suggestions: QuerySet[TagSuggestion] | Iterable[TagSuggestion],
                       user: AbstractBaseUser | None, skip_full: bool = False,
                       kept_open: list[str] | None = None) -> int:
    """Accept suggestions: each becomes an ordinary tag of its photo (source "suggestion"). Already accepted ones
    are left as they are; dismissed ones are accepted after all (a member changed their mind). Returns how many
    were accepted now. A photo that would pass the tag limit raises ValidationError (nothing is accepted then), or
    with `skip_full` keeps its suggestions open while the other photos' are accepted, and is named in `kept_open`
    (when given) with the reason, for the caller to say. `user` (the member deciding; None: the system) must still be
    a member of the photos' families (member_hold: PermissionDenied, nothing accepted)."""
    pks = [s.pk for s in suggestions]
    if user is not None:
        for family in Family.objects.filter(photos__tag_suggestions__pk__in=pks).distinct().order_by("pk"):
            member_hold(family=family, user=user)
    return _accept(pks=pks, user=user, skip_full=skip_full, kept_open=kept_open)


def _accept(*, pks: list[int], user: AbstractBaseUser | None, skip_full: bool,
            kept_open: list[str] | None = None) -> int:
    # (Locked with their photos: one moved to the trash meanwhile has nothing accepted, as nothing else is edited.)
    # The photos in their own order, as tags_delete and every edit take them (in the suggestions' order, a bulk accept
    # and a tag's deletion deadlocked); not their family's row (FOR UPDATE, it held off every upload to it meanwhile).
    # The photos first, then their suggestions, as the scoring (photos_suggestions_replace) and a tag merge
    # (_suggestions_merged) take them: one statement locking each suggestion with its photo took the suggestion first,
    # and deadlocked with a merge holding the photo and writing that suggestion.
    list(Photo.objects.filter(pk__in=TagSuggestion.objects.filter(pk__in=pks).values("photo_id"))
         .order_by("pk").select_for_update().values_list("pk"))
    rows = list(TagSuggestion.objects.select_for_update(of=("self", "photo"))
                .filter(pk__in=pks, photo__trashed_at__isnull=True).exclude(state=TagSuggestion.State.ACCEPTED)
                .select_related("photo__family").order_by("photo_id", "pk"))
    by_photo: dict[int, list[TagSuggestion]] = defaultdict(list)
    for row in rows:
        by_photo[row.photo_id].append(row)
    keys = _tag_keys_of(by_photo)
    accepted: list[int] = []
    for photo_id, rows_of_photo in by_photo.items():
        try:
            _photo_tags_add(rows_of_photo[0].photo, [row.name for row in rows_of_photo], user, keys=keys[photo_id])
        except ValidationError as exc:
            if not skip_full:
                raise
            if kept_open is not None:
                kept_open.append(" ".join(exc.messages))
            continue  # this photo is full: its suggestions stay open, the others go ahead
        accepted += [row.pk for row in rows_of_photo]
    TagSuggestion.objects.filter(pk__in=accepted).update(
        state=TagSuggestion.State.ACCEPTED, decided_at=timezone.now(), decided_by=user)
    changed = sorted({row.photo_id for row in rows if row.pk in set(accepted)})
    if changed:
        photos_changed.send(sender=Photo, photo_ids=changed)
    return len(accepted)


def _tag_keys_of(by_photo: Mapping[int, list[TagSuggestion]]) -> dict[int, tuple[set[str], set[str]]]:
    """For each photo: the keys of the tags it carries and of the names suggested, as the index tells tags apart
    (names_folded), read for all the photos at once (one query for the tags, one for the keys), not two per photo."""
    carried: dict[int, list[str]] = defaultdict(list)
    for photo_id, name in PhotoTag.objects.filter(photo_id__in=list(by_photo)).values_list("photo_id", "tag__name"):
        carried[photo_id].append(name)
    names = {photo_id: (carried[photo_id], [" ".join(row.name.split()) for row in rows])
             for photo_id, rows in by_photo.items()}
    flat = names_folded([name for have, suggested in names.values() for name in (*have, *suggested)])
    out, at = {}, 0
    for photo_id, (have, suggested) in names.items():
        out[photo_id] = (set(flat[at:at + len(have)]), set(flat[at + len(have):at + len(have) + len(suggested)]))
        at += len(have) + len(suggested)
    return out


def _photo_tags_add(photo: Photo, names: list[str], user: AbstractBaseUser | None, *,
                    keys: tuple[set[str], set[str]]) -> None:
    """`keys`: of the tags the photo carries and of `names` (_tag_keys_of)."""
    have, adding = keys
    if len(have | adding) > MAX_TAGS:
        raise ValidationError(f"“{photo}” already has {len(have)} tags: at most {MAX_TAGS} per photo. "
                              "Remove a tag before accepting more.")
    photo_tags_add(photo=photo, names=names, source=PhotoTag.Source.SUGGESTION, user=user)


PHOTO_GONE = "This photo is no longer there: it was moved to the trash or deleted meanwhile."


def suggestion_gone(name: str) -> str:
    """What a member is told of a suggestion of `name` that went while they decided: a tag merge took it (the photo
    had a suggestion of the name kept), or the photo was scored again without it."""
    return (f"“{name}” is no longer suggested for this photo: its suggestions changed meanwhile (a tag merged into "
            "another one, or the photo scored again). Its suggestions now are shown.")


def _suggestion_lock(suggestion: TagSuggestion) -> TagSuggestion:
    """The suggestion's row as it is now, locked with its photo (the photo first, as _accept takes them: see there)
    until the caller's transaction ends; refused (code DELETED) when its photo went to the trash or was deleted
    meanwhile (PHOTO_GONE), or it went while its photo stayed (a merge, a scoring: suggestion_gone)."""
    if not list(Photo.objects.filter(pk=suggestion.photo_id).select_for_update().values_list("pk")):
        raise ValidationError(PHOTO_GONE, code=DELETED)
    row = TagSuggestion.objects.select_for_update().filter(pk=suggestion.pk).first()
    if row is None:
        raise ValidationError(suggestion_gone(suggestion.name), code=DELETED)
    return row


@transaction.atomic
def suggestion_accept(*, suggestion: TagSuggestion, user: AbstractBaseUser | None) -> int:
    """Accept one suggestion (the photo page's Accept, the API's), as suggestions_accept does (1: accepted now, 0: it
    was already), refused as suggestion_dismiss refuses one gone meanwhile (code DELETED), never a silent nothing
    that its caller would report as a tag added."""
    member_hold(family=suggestion.photo.family, user=user)
    _suggestion_lock(suggestion)
    return _accept(pks=[suggestion.pk], user=user, skip_full=False)


@transaction.atomic
def suggestion_dismiss(*, suggestion: TagSuggestion, user: AbstractBaseUser | None) -> TagSuggestion:
    """Dismiss an open suggestion: it is no longer shown nor searched, and never suggested again for this photo.
    An accepted one is a tag by now: remove the tag instead. One whose photo went to the trash or was deleted
    meanwhile is refused (the photo's row is locked with it: a trash or a delete under way is waited for), and so is
    one gone while its photo stayed (a merge, a scoring: suggestion_gone), each with code DELETED; and one by a member
    removed from the family since (member_hold: PermissionDenied)."""
    member_hold(family=suggestion.photo.family, user=user)
    row = _suggestion_lock(suggestion)
    if row.state == TagSuggestion.State.ACCEPTED:
        raise ValidationError(f"“{row.name}” was accepted and is a tag of this photo now: remove the tag instead.")
    if row.state == TagSuggestion.State.OPEN:
        row.state, row.decided_at, row.decided_by = TagSuggestion.State.DISMISSED, timezone.now(), user
        row.save(update_fields=["state", "decided_at", "decided_by"])
        photos_changed.send(sender=Photo, photo_ids=[row.photo_id])
    return row


@transaction.atomic
def suggestions_accept_above(*, family: Family, min_probability: float, user: AbstractBaseUser | None,
                             kept_open: list[str] | None = None) -> int:
    """Accept every open suggestion of the family's photos at or above `min_probability` (the family page's
    "accept all above 0.9"). Photos at the tag limit keep theirs open (each named in `kept_open`, when given, with
    the reason); returns how many were accepted. `user`: refused (PermissionDenied) when no longer a member."""
    member_hold(family=family, user=user)
    if not 0.0 <= min_probability <= 1.0:
        raise ValidationError("The probability is a number from 0 to 1, e.g. 0.9.")
    pks = list(TagSuggestion.objects.filter(photo__family=family, state=TagSuggestion.State.OPEN,
                                            probability__gte=min_probability).values_list("pk", flat=True))
    return _accept(pks=pks, user=user, skip_full=True, kept_open=kept_open)
