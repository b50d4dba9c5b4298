"""API tokens: listed and revoked by their owner only, ended by idle time (each use pushes the end back)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from gallery.models import ApiToken
from gallery.tokens import LABEL_MAX, api_token_create
from tests.factories import api_token_key, photo_factory

PASSWORD = "correct horse battery"


def with_token(key: str) -> Client:
    return Client(headers={"Authorization": f"Token {key}"})


def test_the_token_endpoint_answers_the_key_once_and_keeps_only_its_hash(alice):
    response = Client().post(reverse("api_token"), {"username": "alice", "password": PASSWORD, "label": "backup script"},
                             content_type="application/json")

    body = response.json()
    stored = ApiToken.objects.get(pk=body["id"])
    assert response.status_code == 201 and set(body) == {"token", "id", "expires"}
    assert response["Location"] == f"http://testserver/api/v1/auth/tokens/{body['id']}/"  # what DELETE revokes
    assert len(body["token"]) == 64 and body["token"] not in stored.digest
    assert stored.user == alice and stored.label == "backup script"
    assert with_token(body["token"]).get(reverse("api_photos")).status_code == 200


def test_a_token_made_without_a_label_is_labelled_with_the_client(alice):
    Client(headers={"User-Agent": "photo-sync/2.1"}).post(reverse("api_token"),
                                                          {"username": "alice", "password": PASSWORD})
    assert ApiToken.objects.get(user=alice).label == "photo-sync/2.1"


def test_a_username_in_full_width_letters_buys_a_token_as_it_signs_in(alice):
    """The sign-in page reads a username as Django stores them (NFKC: "ａｌｉｃｅ" is alice); the token endpoint
    compared it as typed, so the same name and password were refused there."""
    response = Client().post(reverse("api_token"), {"username": "ａｌｉｃｅ", "password": PASSWORD})
    assert response.status_code == 201 and ApiToken.objects.get(user=alice)


def test_a_typed_label_is_checked_as_other_typed_text_and_the_clients_name_cleaned(alice):
    """Labels are shown in the token list. A typed one follows the rule of every name people type (gallery.text's
    control_characters_refuse): a line break is a space, but a control character (an escape code) or a direction
    override, which turns the label around ("\u202epot" shows as "top"), is refused with its code named, where it was
    silently cut out of the label (the override kept); nothing is made. The client's User-Agent, which nobody typed,
    loses them instead."""
    def made(label: str, **headers):
        return Client(headers=headers).post(reverse("api_token"), {"username": "alice", "password": PASSWORD,
                                                                   "label": label}, content_type="application/json")

    response = made("laptop\x1b[31m backup")
    assert response.status_code == 400 and "U+001B" in response.json()["detail"]
    response = made("\u202epot laptop")
    assert response.status_code == 400 and "U+202E" in response.json()["detail"]
    assert not ApiToken.objects.exists()

    assert made("laptop\nbackup").status_code == 201
    assert made("", **{"User-Agent": "sync\x1b[2J/\u202e1.2"}).status_code == 201
    assert sorted(ApiToken.objects.filter(user=alice).values_list("label", flat=True)) == [
        "laptop backup", "sync[2J/1.2"]


def test_a_clients_name_cut_to_the_labels_length_keeps_no_half_of_a_closed_isolate(alice):
    """A User-Agent longer than a label holds is cut to it: cleaned before the cut, an isolate closed in the whole
    name but opened at character 200 and closed past it was kept, open, at the label's end (reaching into the token
    list around it). It is cleaned after the cut: the opening code, closing nothing there, goes."""
    token, _ = api_token_create(user=alice, label="a" * 199 + "\u2066x\u2069")
    token.refresh_from_db()
    assert token.label == "a" * 199
    token, _ = api_token_create(user=alice, label="b" * 198 + "\u2066x\u2069")
    token.refresh_from_db()
    assert token.label == "b" * 198 + "x"
    token, _ = api_token_create(user=alice, label=" ".join(["word"] * 50) + "  tail")
    token.refresh_from_db()
    assert len(token.label) < LABEL_MAX and token.label == token.label.strip()  # (the cut's last space goes)


def test_the_owner_lists_their_tokens_without_the_secrets(alice, bob):
    mine = api_token_key(alice, "laptop")
    api_token_key(alice, "phone")
    api_token_key(bob, "bob's")

    response = with_token(mine).get(reverse("api_tokens"))

    rows = response.json()
    assert response.status_code == 200
    assert [row["label"] for row in rows] == ["phone", "laptop"]
    assert set(rows[0]) == {"id", "label", "created", "last_used", "expires", "current"}
    assert [row["current"] for row in rows] == [False, True]
    assert mine not in response.content.decode() and mine[:15] not in response.content.decode()
    assert rows[1]["last_used"] is not None and rows[0]["last_used"] is None


def test_a_signed_in_browser_lists_tokens_too(client_for, alice):
    api_token_key(alice, "laptop")
    rows = client_for(alice).get(reverse("api_tokens")).json()
    assert [row["label"] for row in rows] == ["laptop"] and rows[0]["current"] is False


def test_the_owner_revokes_a_token_and_it_stops_working(alice):
    keep, revoke = api_token_key(alice, "keep"), api_token_key(alice, "revoke")
    revoke_id = ApiToken.objects.get(label="revoke").pk

    response = with_token(keep).delete(reverse("api_token_detail", args=[revoke_id]))

    assert response.status_code == 204
    assert with_token(revoke).get(reverse("api_photos")).status_code == 401
    assert with_token(keep).get(reverse("api_photos")).status_code == 200
    assert with_token(keep).delete(reverse("api_token_detail", args=[revoke_id])).status_code == 404


def test_another_users_token_is_a_404_and_keeps_working(alice, mallory):
    alices = api_token_key(alice)
    alice_token_id = ApiToken.objects.get(user=alice).pk
    mallorys = api_token_key(mallory)

    response = with_token(mallorys).delete(reverse("api_token_detail", args=[alice_token_id]))
    missing = with_token(mallorys).delete(reverse("api_token_detail", args=[alice_token_id + 1000]))

    assert response.status_code == 404 and missing.status_code == 404
    assert response.json() == missing.json()  # "not yours" and "missing" read the same
    assert with_token(alices).get(reverse("api_photos")).status_code == 200
    assert [row["id"] for row in with_token(mallorys).get(reverse("api_tokens")).json()] != [alice_token_id]


def test_the_token_endpoints_need_a_signed_in_caller(alice):
    assert Client().get(reverse("api_tokens")).status_code == 401
    assert Client().delete(reverse("api_token_detail", args=[1])).status_code == 401


def test_each_use_pushes_the_idle_expiry_back(alice, settings):
    key = api_token_key(alice)
    soon = timezone.now() + timedelta(minutes=5)
    ApiToken.objects.update(expiry=soon, last_used=None)

    assert with_token(key).get(reverse("api_photos")).status_code == 200

    token = ApiToken.objects.get()
    assert token.expiry > timezone.now() + timedelta(days=settings.API_TOKEN_IDLE_DAYS - 1)
    assert token.last_used is not None and timezone.now() - token.last_used < timedelta(minutes=1)


def test_an_idle_token_stops_working_and_leaves_the_list(alice):
    idle, fresh = api_token_key(alice, "idle"), api_token_key(alice, "fresh")
    ApiToken.objects.filter(label="idle").update(expiry=timezone.now() - timedelta(seconds=1))

    response = with_token(idle).get(reverse("api_photos"))

    assert response.status_code == 401 and response["WWW-Authenticate"] == "Token"
    assert [row["label"] for row in with_token(fresh).get(reverse("api_tokens")).json()] == ["fresh"]


def test_a_dead_token_on_the_media_urls_the_api_gives_is_a_401_not_a_sign_in_page(family, alice):
    """A script follows the thumbnail, display and original URLs with its token. Once the token is revoked or has
    run out, those URLs answered a redirect to the sign-in page: a client following it (as most do) got a 200 HTML
    page and saved it as the photo. A token that fails is a 401 there, as on the API; no token at all is still a
    browser, sent to sign in."""
    photo = photo_factory(family=family, user=alice)
    idle, revoked = api_token_key(alice, "idle"), api_token_key(alice, "revoked")
    ApiToken.objects.filter(label="idle").update(expiry=timezone.now() - timedelta(seconds=1))
    ApiToken.objects.filter(label="revoked").delete()
    urls = [reverse(f"gallery:{name}", args=[photo.pk]) for name in ("photo_thumbnail", "photo_display", "photo_original")]

    for key in (idle, revoked, "not-a-token"):
        for url in urls:
            response = with_token(key).get(url)
            assert response.status_code == 401, (url, response.status_code)
            assert response["WWW-Authenticate"] == "Token" and response.json() == {"detail": "Invalid token."}
    assert Client().get(urls[0]).status_code == 302  # a browser without a session: the sign-in page


def test_the_idle_time_is_the_setting(alice, settings):
    settings.REST_KNOX = {**settings.REST_KNOX, "TOKEN_TTL": timedelta(days=2)}
    body = Client().post(reverse("api_token"), {"username": "alice", "password": PASSWORD}).json()
    expires = ApiToken.objects.get(pk=body["id"]).expiry
    assert timedelta(days=2) - timedelta(minutes=1) < expires - timezone.now() <= timedelta(days=2)


# --- the account page ---------------------------------------------------------------------------


def test_the_account_page_lists_my_tokens_with_a_revoke_button(client_for, alice, bob):
    api_token_key(alice, "laptop sync")
    api_token_key(bob, "bobs secret script")
    mine = ApiToken.objects.get(user=alice)

    page = client_for(alice).get(reverse("api_tokens_page")).content.decode()

    assert "laptop sync" in page and "bobs secret script" not in page
    assert f'action="{reverse("api_token_revoke", args=[mine.pk])}"' in page
    assert f'href="{reverse("api_tokens_page")}"' in page  # the account menu links it


def test_revoking_from_the_account_page(client_for, alice, bob):
    key = api_token_key(alice, "laptop")
    bobs = api_token_key(bob, "bob")
    client = client_for(alice)

    others = client.post(reverse("api_token_revoke", args=[ApiToken.objects.get(user=bob).pk]))
    response = client.post(reverse("api_token_revoke", args=[ApiToken.objects.get(user=alice).pk]), follow=True)

    assert others.status_code == 404 and with_token(bobs).get(reverse("api_photos")).status_code == 200
    assert response.status_code == 200 and "no longer works" in response.content.decode()
    assert with_token(key).get(reverse("api_photos")).status_code == 401


# --- the upgrade ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_migration_keeps_drf_tokens_working(alice):
    import importlib

    from django.apps import apps

    migration = importlib.import_module("gallery.migrations.0016_apitoken")
    old_key = "0123456789abcdef0123456789abcdef01234567"
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, created timestamptz NOT NULL, "
                       "user_id integer NOT NULL)")
        cursor.execute("INSERT INTO authtoken_token VALUES (%s, now() - interval '1 year', %s)", [old_key, alice.pk])

    with connection.schema_editor() as editor:
        migration.keep_drf_tokens(apps, editor)

    token = ApiToken.objects.get(user=alice)
    assert token.created < timezone.now() - timedelta(days=300) and old_key not in token.digest
    assert with_token(old_key).get(reverse("api_photos")).status_code == 200
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM authtoken_token")
        assert cursor.fetchone()[0] == 0


def test_no_table_of_knoxs_own_model_is_made(db):
    """knox's migrations would make a table for the model ours replaces, which then blocks Django's flush."""
    assert "knox_authtoken" not in connection.introspection.table_names()


def test_the_schema_describes_the_token_endpoints_as_they_answer(client_for, alice):
    schema = client_for(alice).get("/api/v1/schema/", {"format": "json"}).json()
    paths, components = schema["paths"], schema["components"]["schemas"]

    def body(operation, status):
        ref = operation["responses"][status]["content"]["application/json"]["schema"]
        ref = ref.get("items", ref)["$ref"].rsplit("/", 1)[1]
        return set(components[ref]["properties"])

    obtain = paths["/api/v1/auth/token/"]["post"]
    assert body(obtain, "201") == {"token", "id", "expires"}
    assert body(obtain, "400") == {"detail"} and body(obtain, "429") == {"detail", "retry_after"}
    listing = paths["/api/v1/auth/tokens/"]["get"]
    assert body(listing, "200") == {"id", "label", "created", "last_used", "expires", "current"}
    revoke = paths["/api/v1/auth/tokens/{token_id}/"]["delete"]
    assert {"204", "401", "404"} <= set(revoke["responses"]) and body(revoke, "404") == {"detail"}
    assert {"tokenAuth": []} in listing["security"]
    assert schema["components"]["securitySchemes"]["tokenAuth"]["name"] == "Authorization"


@pytest.mark.parametrize("data", [
    {"username": "ali\x00ce", "password": PASSWORD},
    {"username": "alice", "password": PASSWORD, "label": "x\x00y"},
    {"username": "alice", "password": PASSWORD, "label": "x" * 201},
    {"username": ["alice"], "password": PASSWORD},
    {"username": "x" * 151, "password": PASSWORD},
    {"username": "alice"},
    {},
], ids=["nul-username", "nul-label", "long-label", "list-username", "long-username", "no-password", "empty"])
def test_bad_token_requests_are_400_with_a_reason(alice, data):
    response = Client().post(reverse("api_token"), data, content_type="application/json")
    assert response.status_code == 400 and set(response.json()) == {"detail"}  # the one 400 body the schema names
    assert not ApiToken.objects.exists()


def test_a_bad_label_is_not_said_to_be_a_missing_username_or_password(alice):
    """The 400 for a label too long read "Give a username and a password (label: …)": both had been given."""
    response = Client().post(reverse("api_token"), {"username": "alice", "password": PASSWORD, "label": "x" * 201},
                             content_type="application/json")
    detail = response.json()["detail"]
    assert response.status_code == 400 and "Give a username and a password" not in detail
    assert detail.startswith("label: Ensure this field has no more than 200 characters")
    missing = Client().post(reverse("api_token"), {"username": "alice"}, content_type="application/json")
    assert missing.json()["detail"] == "Give a username and a password (password: This field is required.)."


def test_beyond_the_most_tokens_a_user_keeps_the_least_recently_used_go(alice, bob, settings):
    settings.API_TOKEN_MAX = 3
    in_use = api_token_key(alice, "in use")
    for label in ("old 1", "old 2"):
        api_token_key(alice, label)
    bobs = api_token_key(bob, "bob's")
    ApiToken.objects.filter(label="in use").update(last_used=timezone.now())
    ApiToken.objects.filter(label="old 1").update(created=timezone.now() - timedelta(days=3))

    newest = api_token_key(alice, "new")

    assert set(ApiToken.objects.filter(user=alice).values_list("label", flat=True)) == {"in use", "old 2", "new"}
    for key in (in_use, newest, bobs):
        assert with_token(key).get(reverse("api_photos")).status_code == 200


def test_an_id_past_any_integer_is_a_404(client_for, alice):
    key = api_token_key(alice)
    assert with_token(key).delete(f"/api/v1/auth/tokens/{2**70}/").status_code == 404
    assert client_for(alice).post(f"/accounts/tokens/{2**70}/revoke/").status_code == 404


@pytest.mark.parametrize("key", ["\u00ff", "caf\u00e9" * 16, "\u00ff" + "a" * 63], ids=["byte", "accents", "key-length"])
def test_a_key_that_is_not_ascii_is_an_invalid_token_not_a_500(alice, key):
    """knox decoded the key as UTF-8, and a header byte that is none (HTTP headers arrive as Latin-1) was a 500. A key
    is hex: anything else is no key."""
    response = with_token(key).get(reverse("api_photos"))
    assert response.status_code in (401, 403)
    assert response.json() == {"detail": "Invalid token."}
