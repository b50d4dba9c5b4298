"""A tag merge beside what members and the worker commit meanwhile: scoring, a dismissal, an acceptance."""
import itertools
import threading
from contextlib import contextmanager

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, connections, transaction

from gallery.models import Tag, TagSuggestion
from gallery.services import tags_merge
from tests.factories import photo_factory

S = TagSuggestion.State
STATES = [None, S.OPEN, S.DISMISSED, S.ACCEPTED]


@pytest.mark.django_db
@pytest.mark.parametrize("keep, one, two", list(itertools.product(STATES, repeat=3)))
def test_merge_carry_over_never_breaks_the_unique_index(family, alice, keep, one, two):
    photo_factory(family=family, user=alice, filename="t.jpg", tags=["Grandma", "Oma", "granny"])
    photo = photo_factory(family=family, user=alice, filename="p.jpg")
    for name, state in (("Grandma", keep), ("Oma", one), ("granny", two)):
        if state:
            TagSuggestion.objects.create(photo=photo, name=name, probability=0.8, model_name="toy", state=state)
    tags_merge(into=Tag.objects.get(family=family, name="Grandma"), tags=Tag.objects.filter(family=family), user=alice)
    rows = list(TagSuggestion.objects.filter(photo=photo).values_list("name", "state"))
    assert sum(1 for name, _ in rows if name == "Grandma") <= 1


@contextmanager
def _interleave(sql_marker: str, other):
    """Start `other` (in another thread, own connection, own transaction) right before this connection first runs SQL
    containing `sql_marker`, and let it run for a few seconds before that SQL: unhindered it commits then (the race);
    waiting for a lock this transaction holds, it goes on once this one has committed. Yields the outcome: what
    `other` returned ("returned") or the ValidationError it raised ("refused"); it is waited for on leaving. Any
    other exception of it fails the test."""
    outcome: dict = {}
    threads: list[threading.Thread] = []

    def run():
        try:
            with transaction.atomic():
                outcome["returned"] = other()
        except ValidationError as exc:
            outcome["refused"] = exc
        except Exception as exc:  # noqa: BLE001
            outcome["error"] = exc
        finally:
            connections.close_all()

    def wrapper(execute, sql, params, many, context):
        if not threads and sql_marker in sql:
            threads.append(threading.Thread(target=run))
            threads[0].start()
            threads[0].join(3)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield outcome
    assert threads, f"the merge ran no {sql_marker}"
    threads[0].join(30)
    assert not threads[0].is_alive(), "still waiting after the merge"
    assert "error" not in outcome, outcome["error"]


@pytest.mark.django_db(transaction=True)
def test_a_dismissal_committed_during_a_merge_is_deleted(family, alice):
    """Merge reads "Oma" as open on a photo that has a "Grandma" suggestion already (so: dropped); a member dismissed
    "Oma" meanwhile: the merge's DELETE (by pk only) removed the member's dismissal. Now the merge holds the photos of
    the suggestions it moves from its first read: the dismissal, waiting, finds the open "Oma" gone and says so."""
    from gallery.suggestions import suggestion_dismiss

    photo_factory(family=family, user=alice, filename="t.jpg", tags=["Grandma", "Oma"])
    photo = photo_factory(family=family, user=alice, filename="p.jpg")
    TagSuggestion.objects.create(photo=photo, name="Grandma", probability=0.8, model_name="toy")
    oma = TagSuggestion.objects.create(photo=photo, name="Oma", probability=0.7, model_name="toy")
    with _interleave('DELETE FROM "gallery_tagsuggestion"',
                     lambda: suggestion_dismiss(suggestion=TagSuggestion.objects.get(pk=oma.pk), user=alice)) as dismissal:
        tags_merge(into=Tag.objects.get(family=family, name="Grandma"), tags=Tag.objects.filter(family=family),
                   user=alice)
    if "returned" in dismissal:
        assert TagSuggestion.objects.filter(pk=oma.pk, state=S.DISMISSED).exists(), "the member's dismissal was deleted"
    assert list(TagSuggestion.objects.filter(photo=photo, state=S.OPEN).values_list("name", flat=True)) == ["Grandma"]


@pytest.mark.django_db(transaction=True)
def test_a_scoring_committed_during_a_merge_makes_it_fail(family, alice):
    """Merge read that the photo had no "Grandma" suggestion (so: rename its "Oma"); the worker's scoring committed a
    "Grandma" suggestion on it meanwhile; the merge's UPDATE broke one_suggestion_per_photo_tag_ci: IntegrityError
    (the admin action catches only ValidationError: a 500). Now the scoring waits for the merge's lock of the photo."""
    from gallery.suggestions import photos_suggestions_replace

    photo_factory(family=family, user=alice, filename="t.jpg", tags=["Grandma", "Oma"])
    photo = photo_factory(family=family, user=alice, filename="p.jpg")
    TagSuggestion.objects.create(photo=photo, name="Oma", probability=0.7, model_name="toy")
    with _interleave('UPDATE "gallery_tagsuggestion"',
                     lambda: photos_suggestions_replace(found={photo.pk: {"Oma": 0.7, "Grandma": 0.9}},
                                                        model_name="toy")):
        try:
            tags_merge(into=Tag.objects.get(family=family, name="Grandma"), tags=Tag.objects.filter(family=family),
                       user=alice)
        except IntegrityError as exc:
            pytest.fail(f"merge failed: {exc}")
    assert dict(TagSuggestion.objects.filter(photo=photo, state=S.OPEN).values_list("name", "probability")) == {
        "Grandma": 0.9, "Oma": 0.7}  # (the scoring's, written after the merge)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("taken", [True, False])
def test_an_accept_during_a_merge(family, alice, taken):
    """A member accepting "Oma" while it is merged into "Grandma": an acceptance that says it accepted is never
    deleted by the merge (it was, when the photo had a "Grandma" suggestion: the merge's DELETE by pk)."""
    from gallery.suggestions import suggestions_accept

    photo_factory(family=family, user=alice, filename="t.jpg", tags=["Grandma", "Oma"])
    photo = photo_factory(family=family, user=alice, filename="p.jpg")
    if taken:
        TagSuggestion.objects.create(photo=photo, name="Grandma", probability=0.8, model_name="toy")
    oma = TagSuggestion.objects.create(photo=photo, name="Oma", probability=0.7, model_name="toy")
    marker = 'DELETE FROM "gallery_tagsuggestion"' if taken else 'UPDATE "gallery_tagsuggestion"'
    with _interleave(marker, lambda: suggestions_accept(suggestions=TagSuggestion.objects.filter(pk=oma.pk),
                                                        user=alice)) as accepting:
        tags_merge(into=Tag.objects.get(family=family, name="Grandma"), tags=Tag.objects.filter(family=family),
                   user=alice)
    if accepting.get("returned"):
        assert TagSuggestion.objects.filter(photo=photo, state=S.ACCEPTED).exists(), "the member's acceptance was deleted"
        assert "Grandma" in set(photo.tags.values_list("name", flat=True))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("where", ["api", "page"])
@pytest.mark.parametrize("decision", ["dismiss", "accept"])
def test_a_decision_waiting_for_a_merge_that_took_its_suggestion_says_so(family, alice, bob, where, decision):
    """bob dismisses (or accepts) "Oma" on a photo with a "Grandma" suggestion, while an admin merges "Oma" into
    "Grandma" (the photo's "Oma" suggestion goes: it has one of "Grandma" already). The dismissal waited for the merge, found
    no suggestion and said "This photo is no longer there" (the photo is there), a 400 over the API. It says the
    suggestion is gone with the photo's suggestions changed; the API answers 404 (the suggestion is missing now).
    An acceptance waiting so said "Added the tag “Oma”." (the API 200) though nothing was accepted: it says the same
    as the dismissal, with the same status."""
    import html

    from django.test import Client
    from django.urls import reverse

    from tests.factories import api_token_key
    from tests.races import first_holds_then_second

    photo_factory(family=family, user=alice, filename="t.jpg", tags=["Grandma", "Oma"])
    photo = photo_factory(family=family, user=alice, filename="p.jpg")
    TagSuggestion.objects.create(photo=photo, name="Grandma", probability=0.8, model_name="toy")
    oma = TagSuggestion.objects.create(photo=photo, name="Oma", probability=0.7, model_name="toy")
    if where == "api":
        client = Client(headers={"Authorization": f"Token {api_token_key(bob)}"})
        url = f"/api/v1/photos/{photo.pk}/suggestions/{oma.pk}/{decision}/"
        headers = {}
    else:
        client = Client()
        client.force_login(bob)
        url = reverse(f"gallery:suggestion_{decision}", args=[photo.pk, oma.pk])
        headers = {"HX-Request": "true"}

    run = first_holds_then_second(
        lambda: tags_merge(into=Tag.objects.get(family=family, name="Grandma"), tags=Tag.objects.filter(family=family),
                           user=alice),
        lambda: client.post(url, headers=headers))

    assert run.second_waited and not isinstance(run.first, Exception) and not isinstance(run.second, Exception), run
    said = html.unescape(run.second.content.decode())
    assert "no longer there" not in said and "Added the tag" not in said
    gone = "“Oma” is no longer suggested for this photo: its suggestions changed meanwhile"
    if where == "api":
        assert run.second.status_code == 404 and run.second.json()["detail"].startswith(gone), said
    else:
        assert run.second.status_code == 422 and gone in said and "Grandma" in said
    assert list(TagSuggestion.objects.filter(photo=photo).values_list("name", "state")) == [("Grandma", S.OPEN)]


@pytest.mark.django_db(transaction=True)
def test_the_admins_dismiss_action_waiting_for_a_merge_that_took_a_suggestion_says_so(family, alice, bob):
    """The Django admin's "Dismiss the selected suggestions" read "Oma" open, then waited for a merge of "Oma" into
    "Grandma" that took it: suggestion_dismiss's refusal was not caught, a 500. The action dismisses the others and
    tells the admin user which one went, and why (messages)."""
    import html

    from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import reverse

    from tests.races import first_holds_then_second

    photo_factory(family=family, user=alice, filename="t.jpg", tags=["Grandma", "Oma"])
    photo = photo_factory(family=family, user=alice, filename="p.jpg")
    other = photo_factory(family=family, user=alice, filename="q.jpg")
    TagSuggestion.objects.create(photo=photo, name="Grandma", probability=0.8, model_name="toy")
    oma = TagSuggestion.objects.create(photo=photo, name="Oma", probability=0.7, model_name="toy")
    beach = TagSuggestion.objects.create(photo=other, name="beach", probability=0.9, model_name="toy")
    root = get_user_model().objects.create_superuser("root", "root@example.org", "admin-password-123")
    client = Client(raise_request_exception=False)
    client.force_login(root)
    url = reverse("admin:gallery_tagsuggestion_changelist")

    run = first_holds_then_second(
        lambda: tags_merge(into=Tag.objects.get(family=family, name="Grandma"), tags=Tag.objects.filter(family=family),
                           user=alice),
        lambda: client.post(url, {"action": "dismiss_selected", "index": "0",
                                  ACTION_CHECKBOX_NAME: [oma.pk, beach.pk]}, follow=True))

    assert run.second_waited and not isinstance(run.first, Exception) and not isinstance(run.second, Exception), run
    assert run.second.status_code == 200, run.second.content.decode()[:2000]
    said = html.unescape(run.second.content.decode())
    assert "“Oma” is no longer suggested for this photo: its suggestions changed meanwhile" in said
    assert "Dismissed 1 suggestion(s)." in said
    assert TagSuggestion.objects.get(pk=beach.pk).state == S.DISMISSED


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("where", ["api", "page"])
def test_a_tag_save_waiting_for_a_merge_never_makes_the_merged_name_again(family, alice, bob, where):
    """bob saves a photo's tags with "Oma" in them while an admin merges "Oma" into "Grandma": his save waited for the
    merge (the tag's lock), found no "Oma" and made it again, undoing the merge for that photo (over the API, the photo
    carrying "Oma" then lost the "Grandma" the merge gave it). A name merged away is the tag it went into: his other
    edits are kept, "Oma" is not made again."""
    import re

    from django.test import Client
    from django.urls import reverse

    from tests.factories import api_token_key
    from tests.races import first_holds_then_second

    photo_factory(family=family, user=alice, filename="t.jpg", tags=["Grandma"])
    if where == "api":  # the photo carries "Oma"; bob sends the list he read with one tag added, no If-Match
        photo = photo_factory(family=family, user=alice, filename="p.jpg", tags=["Oma"])
        client = Client(headers={"Authorization": f"Token {api_token_key(bob)}"})

        def save():
            return client.patch(f"/api/v1/photos/{photo.pk}/", {"tags": ["Oma", "sea"]},
                                content_type="application/json")
    else:  # bob types "Oma" on a photo without it, in the form drawn before the merge
        photo_factory(family=family, user=alice, filename="o.jpg", tags=["Oma"])
        photo = photo_factory(family=family, user=alice, filename="p.jpg", tags=["sea"])
        client = Client()
        client.force_login(bob)
        url = reverse("gallery:photo_edit", args=[photo.pk])
        seen = re.search(r'name="seen" value="([^"]+)"', client.get(url, headers={"HX-Request": "true"})
                         .content.decode()).group(1)

        def save():
            return client.post(url, {"title": "", "description": "", "tags": "sea, Oma", "seen": seen},
                               headers={"HX-Request": "true"})

    run = first_holds_then_second(
        lambda: tags_merge(into=Tag.objects.get(family=family, name="Grandma"),
                           tags=Tag.objects.filter(family=family, name="Oma"), user=alice),
        save)

    assert run.second_waited and not isinstance(run.first, Exception) and not isinstance(run.second, Exception), run
    assert run.second.status_code == 200, run.second.content.decode()[:2000]
    assert set(photo.tags.values_list("name", flat=True)) == {"Grandma", "sea"}
    assert not Tag.objects.filter(family=family, name__iexact="oma").exists(), "the merge was undone"
