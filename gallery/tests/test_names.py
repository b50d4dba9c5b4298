"""Usernames follow Django's rules wherever an account is made; family names repeat across the site (only one
person's own families must be told apart), and nothing tells a family admin which accounts exist elsewhere."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from gallery.management.families import family_from_option
from gallery.models import Family, Membership
from gallery.services import family_create, user_create
from tests.factories import FamilyFactory, UserFactory

pytestmark = pytest.mark.django_db

User = get_user_model()
BAD_USERNAMES = ["a b/c", "semi;colon", "x" * 151, "<script>"]


@pytest.mark.parametrize("username", BAD_USERNAMES)
def test_the_service_refuses_usernames_djangos_validators_refuse(username):
    with pytest.raises(ValidationError):
        user_create(username=username, password="knitting-by-the-fire-42")
    assert not User.objects.exists()


def test_the_service_takes_what_django_allows():
    user = user_create(username="anna.maria+1@home_x-y", password="knitting-by-the-fire-42")
    assert user.username == "anna.maria+1@home_x-y"


@pytest.mark.parametrize("username", ["a b/c", "x" * 151])
def test_the_first_run_page_refuses_a_bad_username_on_the_form(client, username):
    response = client.post(reverse("setup"), {
        "username": username, "email": "", "password": "knitting-by-the-fire-42",
        "password_again": "knitting-by-the-fire-42", "family_name": "Hendersons"})

    page = response.content.decode()
    assert response.status_code == 200
    assert "Enter a valid username" in page or "at most 150 characters" in page
    # Said once: the field's own length check and Django's rules for usernames both counted the characters.
    assert page.count("Enter a valid username") + page.count("at most 150 characters") == 1
    assert not User.objects.exists() and not Family.objects.exists()


def test_the_admin_refuses_a_bad_username(client):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    response = client.post(reverse("admin:auth_user_add"), {
        "username": "a b/c", "password1": "knitting-by-the-fire-42", "password2": "knitting-by-the-fire-42",
        "usable_password": "true"})
    assert response.status_code == 200 and "Enter a valid username" in response.content.decode()
    assert not User.objects.filter(username="a b/c").exists()


# --- no member by username ------------------------------------------------------------------------


def test_the_family_page_adds_people_only_by_invitation(client_for, family, alice, mallory):
    page = client_for(alice).get(family.get_absolute_url()).content.decode()

    assert "Make an invitation link" in page
    assert 'name="username"' not in page and "mallory" not in page


def test_member_urls_answer_alike_for_an_account_elsewhere_and_one_that_does_not_exist(client_for, family, alice,
                                                                                       mallory):
    client = client_for(alice)
    missing = max(User.objects.values_list("pk", flat=True)) + 100
    for name in ("gallery:member_role", "gallery:member_remove", "gallery:member_password"):
        elsewhere = client.post(reverse(name, args=[family.pk, mallory.pk]), {"role": "member"})
        nobody = client.post(reverse(name, args=[family.pk, missing]), {"role": "member"})
        assert elsewhere.status_code == nobody.status_code == 404
        assert elsewhere.content == nobody.content
    assert not Membership.objects.filter(family=family, user=mallory).exists()


# --- family names ---------------------------------------------------------------------------------


def test_two_families_may_have_the_same_name(client_for, family, alice, mallory):
    response = client_for(mallory).post(reverse("gallery:families"), {"name": "smiths"})

    assert response.status_code == 302
    assert Family.objects.filter(name__iexact="smiths").count() == 2
    theirs = Family.objects.get(name="smiths")
    assert list(theirs.memberships.values_list("user__username", "role")) == [("mallory", "admin")]
    # Each sees their own only.
    assert client_for(alice).get(theirs.get_absolute_url()).status_code == 404


def test_ones_own_families_keep_distinct_names(client_for, family, alice):
    response = client_for(alice).post(reverse("gallery:families"), {"name": "SMITHS"})

    assert response.status_code == 200
    assert "You already have a family called “SMITHS”" in response.content.decode()
    assert Family.objects.count() == 1


def test_the_first_run_may_name_a_family_like_any_other(client):
    FamilyFactory(name="Hendersons")  # e.g. made by a command before anyone signed up
    response = client.post(reverse("setup"), {
        "username": "grandma", "email": "", "password": "knitting-by-the-fire-42",
        "password_again": "knitting-by-the-fire-42", "family_name": "Hendersons"})
    assert response.status_code == 302 and Family.objects.filter(name="Hendersons").count() == 2


def test_create_family_reruns_update_the_admins_own_family_and_others_get_their_own(capsys):
    uma, vic = UserFactory(username="uma"), UserFactory(username="vic")

    call_command("create_family", "Millers", "--admin", "uma")
    call_command("create_family", "Millers", "--admin", "vic")
    call_command("create_family", "millers", "--admin", "uma", "--member", "vic")

    umas, vics = Family.objects.get(memberships__user=uma, memberships__role="admin"), \
        Family.objects.get(memberships__user=vic, memberships__role="admin")
    assert umas != vics and Family.objects.filter(name="Millers").count() == 2
    assert set(umas.memberships.values_list("user__username", flat=True)) == {"uma", "vic"}


def test_commands_name_a_family_by_id_when_its_name_is_shared():
    first, second = FamilyFactory(name="Millers"), FamilyFactory(name="millers")
    only = FamilyFactory(name="Lones")

    with pytest.raises(CommandError, match=rf"2 families are called “Millers” \(ids {first.pk}, {second.pk}\)"):
        family_from_option("Millers")
    assert family_from_option(str(second.pk)) == second
    assert family_from_option("lones") == only
    with pytest.raises(CommandError, match="No family called “Nobody”"):
        family_from_option("Nobody")


@pytest.mark.parametrize("name, key", [("Straße", "STRASSE"), ("ΟΔΟΣ", "οδος"), ("İnan", "Inan"),
                                       ("Smiths", "ＳＭＩＴＨＳ"), ("Smi\u200bths", "smiths"), ("ταΐζω", "ΤΑΪ́ΖΩ"),
                                       ("ᾼ", "αι"), ("Ꭰ", "ꭰ")])
def test_a_family_option_reads_names_as_create_family_does(name, key):
    """Every command's --family matched names by PostgreSQL's upper case (`iexact`), while create_family reads them by
    name_key: `--family STRASSE` was "No family called" for the family "Straße" that `create_family STRASSE` finds,
    and "Inan" missed "İnan". The option reads a name as name_key does, and two families it reads alike still ask
    for the id."""
    family = FamilyFactory(name=name)
    assert family_from_option(key) == family
    twin = FamilyFactory(name=key)
    with pytest.raises(CommandError, match=rf"2 families are called “{key}” \(ids {family.pk}, {twin.pk}\)"):
        family_from_option(key)
    with pytest.raises(CommandError, match=f"No family called “{key}x”"):
        family_from_option(f"{key}x")


@pytest.mark.parametrize("key", ["²", "፩", "9" * 20])
def test_a_family_option_that_only_looks_like_an_id_is_no_such_family(key):
    FamilyFactory(name="Millers")
    with pytest.raises(CommandError, match=f"No family called “{key}”"):
        family_from_option(key)
    with pytest.raises(CommandError, match=f"No family called “{key}”"):
        call_command("read_text", "--family", key)


def test_a_command_with_a_shared_family_name_stops_with_the_ids():
    FamilyFactory(name="Millers")
    FamilyFactory(name="Millers")
    with pytest.raises(CommandError, match="give the id instead"):
        call_command("read_text", "--family", "Millers")


def test_the_service_allows_a_name_taken_in_another_family():
    alice, bob = UserFactory(username="alice2"), UserFactory(username="bob2")
    family_create(name="Home", admin=alice)
    family_create(name="Home", admin=bob)
    with pytest.raises(ValidationError, match="already have a family"):
        family_create(name="home", admin=alice)


@pytest.mark.parametrize("command", [
    ["read_text"], ["fill_places"], ["read_embedded"], ["make_renditions"], ["suggest_tags"], ["fit_calibration"],
    ["embed_photos"], ["find_duplicates"], ["judgments", "export"],
])
def test_an_empty_family_option_is_no_family_not_every_family(command, settings):
    """`--family ""` (an unset shell variable) read as "every family" in most commands: OCR or re-embedding of the
    whole site instead of one family. It names no family, as find_duplicates already said."""
    settings.SEARCH_MODEL = "no/such-model"  # a command that loaded its model first would fail on it, not on --family
    FamilyFactory(name="Millers")
    with pytest.raises(CommandError, match="No family called “”"):
        call_command(*command, "--family", "")


def test_the_admin_names_a_family_by_the_rules_of_the_family_page():
    """The admin's family form saved the name as typed: a tab stayed in it (every other path makes it a space), and
    a family admin (made staff) could give one of their families the name of another of theirs, which the family
    page refuses, so their family pickers showed two alike."""
    sam = UserFactory(username="sam", is_staff=True)
    sam.user_permissions.set(Permission.objects.filter(content_type__app_label="gallery"))
    home, cabin = family_create(name="Home", admin=sam), family_create(name="Cabin", admin=sam)
    client = Client()
    client.force_login(sam)
    url = reverse("admin:gallery_family_change", args=[cabin.pk])
    form = {"memberships-TOTAL_FORMS": "0", "memberships-INITIAL_FORMS": "0"}

    response = client.post(url, {**form, "name": "HOME"})

    assert response.status_code == 200 and "You already have a family called “HOME”" in response.content.decode()
    assert Family.objects.get(pk=cabin.pk).name == "Cabin"
    assert client.post(url, {**form, "name": "Lake\tcabin"}).status_code == 302
    assert Family.objects.get(pk=cabin.pk).name == "Lake cabin" and Family.objects.get(pk=home.pk).name == "Home"


def test_the_pages_that_make_an_account_keep_a_phone_from_capitalising_the_username(client):
    """Usernames sign in as typed (Django's sign-in compares them exactly), and the sign-in page's input keeps a
    phone's keyboard from capitalising the first letter. The first-run and invitation pages' inputs did not: an
    account made on a phone was "Grandma", and "grandma" typed on the sign-in page failed, towards the lockout."""
    from gallery.account_services import invite_create

    first_run = client.get(reverse("setup")).content.decode()  # while nobody has signed up
    alice = UserFactory(username="alice")
    family = family_create(name="Smiths", admin=alice)
    key = invite_create(family=family, created_by=alice).token
    invite = client.get(reverse("invite", args=[key])).content.decode()

    for page in (first_run, invite):
        username = re.search(r'<input[^>]*name="username"[^>]*>', page).group(0)
        assert 'autocapitalize="none"' in username and 'autocomplete="username"' in username
        assert len(re.findall(r'<input[^>]*autocomplete="new-password"[^>]*>', page)) == 2


def test_a_family_name_that_only_looks_like_another_of_ones_own_is_refused(client_for, family, alice):
    """"Smіths" with a Cyrillic і (or a Greek ο, a Cyrillic С) reads as "Smiths" on every page: made beside alice's
    Smiths, her switcher, upload target and search filter showed two families she could not tell apart."""
    for lookalike in ("Sm\u0456ths", "\u0405miths", "Smith\u0455", "SM\u0406THS"):
        response = client_for(alice).post(reverse("gallery:families"), {"name": lookalike})
        assert "You already have a family called" in response.content.decode(), lookalike
    with pytest.raises(ValidationError, match="Smiths"):
        family_create(name="Sm\u0456ths", admin=alice)
    assert Family.objects.count() == 1
    assert family_create(name="Смитс", admin=alice).name == "Смитс"  # Russian for it reads otherwise: it is no twin
