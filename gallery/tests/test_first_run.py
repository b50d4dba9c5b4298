from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from gallery.models import Family, Membership

pytestmark = pytest.mark.django_db


User = get_user_model()

SETUP = {
    "username": "grandma",
    "email": "grandma@example.org",
    "password": "knitting-by-the-fire-42",
    "password_again": "knitting-by-the-fire-42",
    "family_name": "The Hendersons",
}


@pytest.mark.parametrize("path", ["/", "/accounts/login/", "/upload/", "/families/"])
def test_every_page_leads_to_setup_while_no_account_exists(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == reverse("setup")


def test_setup_page_shows_the_form(client):
    response = client.get(reverse("setup"))
    assert response.status_code == 200
    body = response.content.decode()
    for name in ("username", "password", "password_again", "family_name"):
        assert f'name="{name}"' in body


def test_setup_creates_a_superuser_who_administers_a_new_family_and_is_signed_in(client):
    response = client.post(reverse("setup"), SETUP)

    assert response.status_code == 302 and response["Location"] == reverse("gallery:timeline")
    user = User.objects.get()
    assert user.username == "grandma" and user.email == "grandma@example.org"
    assert user.is_superuser and user.is_staff
    assert user.check_password("knitting-by-the-fire-42")
    family = Family.objects.get()
    assert family.name == "The Hendersons"
    assert Membership.objects.get(family=family, user=user).role == Membership.Role.ADMIN
    # Signed in: the timeline opens instead of bouncing to the login page.
    timeline = client.get(reverse("gallery:timeline"))
    assert timeline.status_code == 200
    assert timeline.context["user"] == user
    assert "No photos yet" in timeline.content.decode()


def test_after_setup_the_page_is_gone_and_cannot_make_a_second_admin(client):
    client.post(reverse("setup"), SETUP)
    stranger = Client()

    assert stranger.get(reverse("setup"))["Location"] == reverse("login")
    response = stranger.post(reverse("setup"), {**SETUP, "username": "intruder", "family_name": "Takeover"})

    assert response.status_code == 302 and response["Location"] == reverse("login")
    assert list(User.objects.values_list("username", flat=True)) == ["grandma"]
    assert list(Family.objects.values_list("name", flat=True)) == ["The Hendersons"]
    assert "_auth_user_id" not in stranger.session
    # The rest of the site is an ordinary signed-out site again.
    assert stranger.get("/accounts/login/").status_code == 200


def test_a_setup_submitted_after_someone_else_finished_it_says_so_on_the_sign_in_page(client):
    """The second of two browsers submitting the first-run form landed on the sign-in page without a word: its
    person then tried the username and password they had just typed (no such account), towards a lockout."""
    client.post(reverse("setup"), SETUP)
    late = Client()
    response = late.post(reverse("setup"), {**SETUP, "username": "grandpa"}, follow=True)
    page = response.content.decode()
    assert response.redirect_chain[-1][0] == reverse("login")
    assert "The first administrator was created meanwhile, so no account was made for “grandpa”" in page
    assert "Sign in with that account" in page
    assert "was created meanwhile" not in Client().get(reverse("setup"), follow=True).content.decode()  # a visit


def test_the_same_setup_submitted_twice_is_not_told_no_account_was_made(client):
    """A double click: the first submit made the account (its answer, with the session, is dropped by the browser),
    the second still carries the old session. Its person signs in as usual, not told their account was not made."""
    Client().post(reverse("setup"), SETUP)
    second = Client()  # the session of the page the form was on
    response = second.post(reverse("setup"), {**SETUP, "username": "Grandma"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("login")
    assert "was created meanwhile" not in response.content.decode()
    assert "_auth_user_id" not in second.session  # no password is tried outside the sign-in page's lockout
    assert User.objects.count() == 1 and Family.objects.count() == 1


def test_the_setup_form_tells_no_stranger_which_usernames_exist(client):
    """A setup form posted once setup was done said "no account was made for …" only for a username no account had,
    so anyone could post names at /setup/ and learn which accounts exist (outside the sign-in lockout). Only the
    first administrator's own name, within minutes of setup (a double click), is answered apart now."""
    from datetime import timedelta

    Client().post(reverse("setup"), SETUP)
    User.objects.create_user("uncle-bob", password="x-long-enough-password-1")

    def told(username: str) -> bool:
        page = Client().post(reverse("setup"), {**SETUP, "username": username}, follow=True).content.decode()
        return "was created meanwhile" in page

    assert told("uncle-bob") and told("UNCLE-BOB") and told("no-such-person")
    User.objects.filter(username="grandma").update(date_joined=User.objects.get(username="grandma").date_joined
                                                   - timedelta(hours=1))
    assert told("grandma")  # (an hour on, no double click of setup's own form)


def test_mismatched_passwords_show_an_error_and_create_nothing(client):
    response = client.post(reverse("setup"), {**SETUP, "password_again": "something-else-entirely-7"})

    assert response.status_code == 200
    assert "The two passwords differ." in response.content.decode()
    assert not User.objects.exists() and not Family.objects.exists()


@pytest.mark.parametrize(
    ("password", "message"),
    [("abc12", "This password is too short"), ("password", "This password is too common"),
     ("83749283749182", "This password is entirely numeric")],
)
def test_weak_password_shows_why_and_creates_nothing(client, password, message):
    response = client.post(reverse("setup"), {**SETUP, "password": password, "password_again": password})

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not User.objects.exists() and not Family.objects.exists()
    # Still in first-run mode: the form can be sent again.
    assert client.get("/")["Location"] == reverse("setup")


def test_an_email_address_longer_than_an_account_holds_is_a_form_error(client):
    """An address of more than 254 characters (the account's column) passed the form and was a 500 on the insert."""
    response = client.post(reverse("setup"), {**SETUP, "email": "x" * 300 + "@example.org"})

    assert response.status_code == 200
    assert "at most 254 characters" in " ".join(response.context["form"].errors["email"])
    assert 'maxlength="254"' in response.content.decode()
    assert not User.objects.exists() and not Family.objects.exists()


def test_missing_family_name_is_required(client):
    response = client.post(reverse("setup"), {**SETUP, "family_name": ""})
    assert response.status_code == 200
    assert response.context["form"].errors["family_name"]
    assert not User.objects.exists()


def test_setup_while_signed_in_goes_to_the_timeline_not_a_sign_in_form(client):
    client.post(reverse("setup"), SETUP)
    response = client.get(reverse("setup"))
    assert response.status_code == 302 and response["Location"] == reverse("gallery:timeline")


def test_setup_signed_out_after_setup_leads_to_sign_in(client):
    client.post(reverse("setup"), SETUP)
    client.logout()
    response = client.get(reverse("setup"))
    assert response.status_code == 302 and response["Location"] == reverse("login")
