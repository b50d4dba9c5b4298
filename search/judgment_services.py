"""Writes of judgments: a member's "right" / "wrong" verdict on a search result (search.models.Judgment)."""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TextIO

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils.dateparse import parse_datetime
from django.utils.timezone import is_aware, make_aware

from gallery.models import Family, Membership, Photo
from gallery.services import rows_key_share
from gallery.text import NUL, id_from_text, json_strings
from search.engine import SearchParams, explain_photo
from search.models import Judgment, judgment_query
from search.query_parser import has_words
from search.understanding import understand_search


MODEL_NAME_MAX = Judgment._meta.get_field("model_name").max_length
LINE_MAX_CHARS = 1_000_000  # an exported row with its score components is a few thousand characters
BYTE_ORDER_MARK = "\ufeff"  # how Windows editors (Notepad) start a UTF-8 file


def judgment_components(*, user: AbstractBaseUser, photo: Photo, query: str, load_model: bool) -> dict:
    """Every score component the search for `query` (understood as the search page understands it) gives `photo`,
    searched in the photo's family: Explanation.as_dict(). Always the query's own components, also when the
    verdict was given on a refined search: a refined cosine is not a text-image one, and calibrations are
    fitted from these. Without `load_model`, a model this process has not loaded is not loaded (explain_photo)."""
    understood = understand_search(user=user, params=SearchParams(query=query, family_id=photo.family_id))
    explanation = explain_photo(user=user, params=understood.params, photo_id=photo.pk, load_model=load_model)
    return explanation.as_dict() if explanation else {}


@transaction.atomic
def judgment_record(*, user: AbstractBaseUser, photo: Photo, query: str, relevant: bool) -> tuple[Judgment, bool]:
    """Record (or replace) the user's verdict on `photo` for `query`, with the result's score components now.
    Returns the judgment and whether it is new. A photo the user may not see is a 404, like everywhere. A click: the
    model is never loaded for it (judgment_components), the search that showed the result has cached its words."""
    judgment, created, _ = _judgment_write(user=user, photo=photo, query=query, relevant=relevant, keep_unchanged=False,
                                           load_model=False)
    return judgment, created


@transaction.atomic
def _judgment_write(*, user: AbstractBaseUser, photo: Photo, query: str, relevant: bool,
                    keep_unchanged: bool, load_model: bool) -> tuple[Judgment, bool, bool]:
    """judgment_record's write: the judgment, whether it is new, and whether it was written. `keep_unchanged`: a
    judgment held already with this verdict and these components is left as it is, its updated_at too (`judgments
    import --recompute`: a row written again, dated now, makes the family due for a fit from the judgments its latest
    fit read). `load_model`: whether the model may be loaded for the components (judgment_components)."""
    if not Membership.objects.filter(user_id=user.pk, family_id=photo.family_id).exists():
        raise Http404("No such photo.")
    # Held until the judgment is in: a photo deleted for good meanwhile waits, then takes the judgment along.
    if not rows_key_share(Photo.all_objects.filter(pk=photo.pk).values_list("pk")):
        raise Http404("No such photo.")
    normalised = judgment_query(query)
    if not normalised:
        raise ValidationError({"query": "A judgment needs the query it is about."})
    if not has_words(normalised):
        raise ValidationError({"query": "This search has no word to search for (only punctuation), so it lists no "
                                        "results to judge."})
    components = judgment_components(user=user, photo=photo, query=" ".join(query.split()), load_model=load_model)
    if not components:  # the search names only what to leave out ("-dog", "not in Lisbon"): it lists nothing
        raise ValidationError({"query": "This search only says what to leave out, so it lists no results to judge: "
                                        "add what to look for."})
    written = {"family_id": photo.family_id, "relevant": bool(relevant),
               "model_name": components.get("model_name") or "", "components": components}
    held = Judgment.objects.select_for_update().filter(user=user, photo=photo, query=normalised).first()
    # (The components as the database gives them back: JSON, its tuples lists.)
    if keep_unchanged and held is not None and {name: getattr(held, name) for name in written} == {
            **written, "components": json.loads(json.dumps(components))}:
        return held, False, False
    judgment, created = _judgment_put(held, user=user, photo=photo, query=normalised, values=written)
    return judgment, created, True


def _judgment_put(held: Judgment | None, *, user: AbstractBaseUser, photo: Photo, query: str,
                  values: dict) -> tuple[Judgment, bool]:
    """Write `values` into the judgment of (user, photo, query), `held` being that row as this transaction read and
    locked it (select_for_update; None: there was none), without reading it again: update_or_create's work after a
    read. Returns the judgment and whether it is new."""
    if held is not None:
        for name, value in values.items():
            setattr(held, name, value)
        held.save(update_fields=[*values, "updated_at"])
        return held, False
    try:
        with transaction.atomic():
            return Judgment.objects.create(user=user, photo=photo, query=query, **values), True
    except IntegrityError:  # a concurrent click made it meanwhile (there was no row to lock): it is replaced
        return Judgment.objects.update_or_create(user=user, photo=photo, query=query, defaults=values)[0], False


@transaction.atomic
def judgment_delete(*, user: AbstractBaseUser, judgment_id: int) -> None:
    """Take back one of the user's own judgments (undo); another's, or a missing one, is a 404."""
    deleted, _ = Judgment.objects.filter(pk=judgment_id, user_id=user.pk,
                                         family__memberships__user_id=user.pk).delete()
    if not deleted:
        raise Http404("No such judgment.")


@transaction.atomic
def judgment_withdraw(*, user: AbstractBaseUser, photo: Photo, query: str) -> None:
    """Take back the user's verdict on `photo` for `query`, if any (the page's undo, which knows no id)."""
    Judgment.objects.filter(user_id=user.pk, photo=photo, query=judgment_query(query)).delete()


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0  # rows the database held already as the file gives them: nothing written
    recomputed: bool = False  # --recompute: a row is unchanged when held with its verdict and the components now
    written: int = 0  # rows that wrote a judgment (new, updated, or a repeat that changed one): 0 is "nothing changed"
    skipped: list[str] = field(default_factory=list)  # "line 7: no photo with these bytes in family 3"
    repeated: list[str] = field(default_factory=list)  # "line 9 repeats line 2 (…)": written again, counted once
    no_account: Counter[str] = field(default_factory=Counter)  # username → lines skipped: no account of that name
    # (judge, photo, query) → the file's judgment as it now is in the database (its last line's, when repeated)
    judgments: dict[tuple, _Written] = field(default_factory=dict)

    def models(self) -> dict[int, Counter[str]]:
        """family id → model name ("": none) → how many of the file's judgments there were judged with it."""
        found: dict[int, Counter[str]] = {}
        for written in self.judgments.values():
            found.setdefault(written.family_id, Counter())[written.model_name] += 1
        return found

    def outsiders(self) -> dict[int, Counter[str]]:
        """family id → username → how many of the file's judgments were kept as given by someone not in it now."""
        found: dict[int, Counter[str]] = {}
        for written in self.judgments.values():
            if written.outsider:
                found.setdefault(written.family_id, Counter())[written.outsider] += 1
        return found

    def components_kept_in(self) -> set[int]:
        """The families where some of those keep the file's components though --recompute was asked (it searches as
        the judge, who can't search the family)."""
        return {written.family_id for written in self.judgments.values() if written.components_kept}


def judgments_import(*, lines: Iterable[str], family: Family | None = None, user: AbstractBaseUser | None = None,
                     recompute: bool = False) -> ImportReport:
    """Load judgments exported by `judgments_export_rows` (JSONL), each row on its own: a row that can't be read or
    matched is skipped and reported, never the end of the import. The photo is found in the row's family (or
    `family`) by its id when its bytes are the same, else by its bytes (sha256), else by its perceptual hash.

    The judge is the row's user (or `user`). A member of the family, or someone who is not one now (they left, or
    have not been added back in a new installation) when the row was given in that family (its id, or its name as
    the export wrote it): kept under them as a member's judgments are kept when they leave, out of the family's
    figures and fits until they join it again, so these are the same after an export and an import. Never put in a
    family the row does not say its judge judged in, nor recorded as someone else (a user with no account here is
    skipped, and counted in `no_account`). The recorded components are kept (they are what the search gave then), or
    computed afresh with `recompute` (a member's only: the search is run as its judge). A row the database holds
    already as the file gives it (with `recompute`, its verdict with the components computed now) is left as it is
    (`unchanged`: an import of the same file again changes nothing). A line repeating an earlier line's judgment (same
    judge, photo and query: two exports joined) is written again, its verdict standing, and reported as a repeat rather
    than counted as an update."""
    report = ImportReport(recomputed=recompute)
    state = _ImportState(family=family, user=user, recompute=recompute)
    for number, line in enumerate(lines, start=1):
        if number == 1:
            line = line.removeprefix(BYTE_ORDER_MARK)
        if not line.strip():
            continue
        if len(line) > LINE_MAX_CHARS:
            report.skipped.append(f"line {number}: not a judgment (longer than {LINE_MAX_CHARS:,} characters: an "
                                  "exported row is a few thousand)")
            continue
        if undecoded := _undecoded_byte(line):
            report.skipped.append(f"line {number}: not UTF-8 text (byte 0x{undecoded:02x}): save the file as UTF-8 and "
                                  "import it again")
            continue
        _tally(report, number, _line_outcome(line, state=state, number=number))
    return report


def _line_outcome(line: str, *, state: _ImportState, number: int) -> _Written | _NoAccount | str:
    refused = ""
    try:
        row = json.loads(line, parse_constant=_no_constant, parse_float=_finite_float, parse_int=_float_sized_int)
    except _NumberRefused as exc:
        row, refused = None, str(exc)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than any export writes
        row = None
    if refused:
        return f"not a judgment ({refused})"
    if not isinstance(row, dict):
        return "not a judgment (each line is one JSON object, as `judgments export` writes)"
    if _holds_nul(row):
        return "not a judgment (it holds a NUL character, which the database can't store)"
    try:
        return _import_row(row, state=state, line=number)
    except KeyError as exc:
        return f"not a judgment (it has no “{exc.args[0]}”)"
    except (ValueError, TypeError, AttributeError, ValidationError) as exc:
        return f"not a judgment ({exc})"


def _tally(report: ImportReport, number: int, outcome: _Written | _NoAccount | str) -> None:
    if isinstance(outcome, _NoAccount):
        report.no_account[outcome.username] += 1
        report.skipped.append(f"line {number}: no user called “{outcome.username}” here")
        return
    if isinstance(outcome, str):
        report.skipped.append(f"line {number}: {outcome}")
        return
    report.judgments[outcome.key] = outcome
    report.written += outcome.changed
    if outcome.repeats:
        report.repeated.append(f"line {number} repeats line {outcome.repeats} (the same judge, photo and query): "
                               "its verdict stands")
    elif outcome.created:
        report.created += 1
    elif outcome.changed:
        report.updated += 1
    else:
        report.unchanged += 1


def lines_bounded(stream: TextIO, limit: int = LINE_MAX_CHARS) -> Iterator[str]:
    """The lines of `stream`, each cut after `limit` + 1 characters (judgments_import skips it as too long) and the
    rest of it passed over a piece at a time: a file of one line of hundreds of megabytes is never held whole."""
    while line := stream.readline(limit + 1):
        if len(line) > limit and not line.endswith("\n"):
            while (rest := stream.readline(limit)) and not rest.endswith("\n"):
                pass
        yield line


@dataclass(frozen=True)
class _Written:
    """A row written (a new judgment or an update), found as the database held it already (not `changed`), or a repeat
    of the judgment an earlier line of the file gave."""
    created: bool = False
    changed: bool = True
    model_name: str = ""  # the model it was judged with, as now stored
    components_kept: bool = False  # the file's, though --recompute was asked (the judge can't search the family)
    key: tuple = ()  # (judge id, photo id, query)
    family_id: int = 0
    outsider: str = ""  # the judge's username, when they are not a member of the family now
    repeats: int | None = None  # that earlier line


@dataclass(frozen=True)
class _NoAccount:
    """A row whose judge has no account here (deleted, or not made yet in a new installation)."""
    username: str


@dataclass
class _ImportState:
    family: Family | None  # --family
    user: AbstractBaseUser | None  # --user
    recompute: bool
    users: dict[str, AbstractBaseUser | None] = field(default_factory=dict)
    families: dict[int, Family | None] = field(default_factory=dict)
    lines_of: dict[tuple, int] = field(default_factory=dict)  # (judge, photo, query) → the first line that gave it


def _import_row(row: dict, *, state: _ImportState, line: int) -> _Written | _NoAccount | str:
    """The row written (_Written), or why it can't be (_NoAccount, or a sentence)."""
    if not isinstance(row["query"], str):  # str() of a list or null would be a query nobody made: "['a']", "None"
        return "“query” must be text"
    query, relevant = judgment_query(row["query"]), row["relevant"]
    if not query or not isinstance(relevant, bool):
        return "a judgment needs a query and relevant true or false"
    family_id = state.family.pk if state.family else id_from_text(str(row["family"]))
    if family_id is None:
        return f"“family” must be a family's id, not “{row['family']}” (or give --family)"
    if state.user is None and not isinstance(row["user"], str):  # str() of null or a list names nobody: "None"
        return "“user” must be a username (text), or give --user"
    judge = state.user or _user_named(row["user"], state.users)
    if judge is None:
        return _NoAccount(row["user"])
    member = Membership.objects.filter(user_id=judge.pk, family_id=family_id).exists()
    if not member and (refused := _outsider_refused(row, judge=judge, family_id=family_id, state=state)):
        return refused
    photo = _photo_for(row, family_id)
    if photo is None:
        return f"no photo with these bytes in family {family_id} (photo {row.get('photo')}, sha256 {row.get('sha256')})"
    outcome = _import_written(row, judge=judge, photo=photo, family_id=family_id, query=query, relevant=relevant,
                              recompute=state.recompute and member)
    if isinstance(outcome, str):
        return outcome
    key = (judge.pk, photo.pk, query)
    first = state.lines_of.setdefault(key, line)
    return replace(outcome, key=key, family_id=family_id, outsider="" if member else judge.get_username(),
                   components_kept=state.recompute and not member, repeats=None if first == line else first)


def _outsider_refused(row: dict, *, judge: AbstractBaseUser, family_id: int, state: _ImportState) -> str | None:
    """Why the judgment of someone not a member of the family now can't be kept in it; None when it is kept under
    them (as a member's judgments are when they leave). Only the row's own judge's (not --user's), and only in the
    family the row says it was given in: its id (with --family, the id or the name the export wrote), and its name
    when the export wrote one: never put in a family its judge may never have belonged to."""
    if family_id not in state.families:
        state.families[family_id] = state.family or Family.objects.filter(pk=family_id).first()
    target = state.families[family_id]
    if target is None:
        return f"there is no family {family_id} (give --family)"
    if state.user is not None:
        return f"{judge} (--user) is not a member of {target.name} (family {target.pk})"
    given_id, given_name = id_from_text(str(row.get("family"))), row.get("family_name")
    given_name = given_name.strip() if isinstance(given_name, str) and given_name.strip() else None
    same_name = given_name is not None and given_name.casefold() == target.name.strip().casefold()
    if same_name or (given_id == target.pk and (state.family is not None or given_name is None)):
        return None
    given = given_name or f"family {row.get('family')}"
    return (f"{judge} is not a member of {target.name} (family {target.pk}), and this judgment was given in {given}: "
            "the judgment of someone who is not a member is kept only in the family it was given in")


def _import_written(row: dict, *, judge: AbstractBaseUser, photo: Photo, family_id: int, query: str, relevant: bool,
                    recompute: bool) -> _Written | str:
    if recompute:  # left as it is when the verdict and the components computed now are those held
        judgment, created, changed = _judgment_write(user=judge, photo=photo, query=query, relevant=relevant,
                                                     keep_unchanged=True, load_model=True)
        return _Written(created=created, changed=changed, model_name=judgment.model_name)
    components = row.get("components") or {}
    if not isinstance(components, dict):
        return "components must be an object"
    if not isinstance(row.get("model_name") or "", str):  # str() of an object would be a model nobody ran
        return "“model_name” must be text"
    model_name = row.get("model_name") or ""
    if len(model_name) > MODEL_NAME_MAX:
        return f"“model_name” is longer than {MODEL_NAME_MAX} characters"
    given = parse_datetime(str(row["created_at"])) if row.get("created_at") else None
    if given is not None and not _readable_back(given):
        return f"“created_at” {row['created_at']} is before the year 1 or after 9999 in UTC"
    given = given if given is None or is_aware(given) else make_aware(given)
    with transaction.atomic():
        held = Judgment.objects.select_for_update().filter(user=judge, photo=photo, query=query).first()
        if held is not None and (held.family_id, held.relevant, held.model_name, held.components) == (
                family_id, relevant, model_name, components) and given in (None, held.created_at):
            # As the file gives it already (the same file imported again): left as it is, its updated_at too, which
            # would make the family due for a fit from the judgments its latest fit read.
            return _Written(changed=False, model_name=model_name)
        judgment, created = _judgment_put(held, user=judge, photo=photo, query=query, values={
            "family_id": family_id, "relevant": relevant, "model_name": model_name, "components": components})
        # When the verdict was given stays; updated_at is now, this row's write here: the nightly fit takes in
        # judgments newer than the family's latest fit, and an imported set is new to it whatever its age.
        if given is not None:
            Judgment.objects.filter(pk=judgment.pk).update(created_at=given)
    return _Written(created=created, model_name=model_name)


def _undecoded_byte(line: str) -> int | None:
    """The first byte of `line` that was no UTF-8 (read with errors="surrogateescape", which keeps such a byte as a
    lone surrogate: U+DC80-U+DCFF), else None. (A surrogate JSON escapes, "\\udc80", is six characters of text.)"""
    return next((ord(ch) - 0xDC00 for ch in line if "\udc80" <= ch <= "\udcff"), None)


class _NumberRefused(ValueError):
    pass


def _no_constant(name: str):
    raise _NumberRefused(f"{name} is no number JSON allows")  # NaN, Infinity: Python writes them, jsonb refuses them


def _finite_float(text: str) -> float:
    # 1e400 reads as infinity, which jsonb refuses like the word Infinity.
    value = float(text)
    if not math.isfinite(value):
        raise _NumberRefused(f"{text} is a number too large for a score")
    return value


def _float_sized_int(text: str) -> int:
    # jsonb holds a 400-digit integer, but every reader of a score makes it a float (photo_report: OverflowError).
    value = int(text)
    try:
        float(value)
    except OverflowError:
        raise _NumberRefused(f"{text[:20]}… is a number too large for a score") from None
    return value


def _readable_back(given: datetime) -> bool:
    # PostgreSQL stores "0001-01-01T00:00+05:00" as year 0 in UTC (and 9999's last hours west of it as 10000),
    # which psycopg can't read back: every list of judgments was then a DataError.
    try:
        (given if is_aware(given) else make_aware(given)).astimezone(UTC)
    except OverflowError:
        return False
    return True


def _holds_nul(value) -> bool:
    return any(NUL in text for text in json_strings(value))


def _user_named(username: str, users: dict) -> AbstractBaseUser | None:
    if username not in users:
        users[username] = get_user_model().objects.filter(username=username).first()
    return users[username]


def _photo_for(row: dict, family_id: int) -> Photo | None:
    # The trash too: a photo there keeps its judgments (they wait until it is restored), and missed here its row
    # fell through to the perceptual hash, i.e. to another photo that looks alike.
    photos = Photo.all_objects.filter(family_id=family_id)
    sha, phash, photo_id = str(row.get("sha256") or ""), str(row.get("phash") or ""), row.get("photo")
    if type(photo_id) is int and 0 < photo_id < 2**63:  # (not a JSON true, which Python reads as 1)
        same = photos.filter(pk=photo_id).first()
        if same is not None and (not sha or same.sha256 == sha):
            return same
    if sha:
        found = photos.filter(sha256=sha).first()
        if found is not None:
            return found
    if phash:
        return photos.filter(phash=phash).order_by("pk").first()
    return None
