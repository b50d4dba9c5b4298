"""Brute force on the sign-in page and on POST /api/v1/auth/token/: locked per account and per address (django-axes),
with a message saying so and for how long, and unlocked by the administrator's command or admin page."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from tests.factories import UserFactory

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def _limit(settings):
    settings.AXES_FAILURE_LIMIT = 3


def sign_in(client: Client, username: str, password: str, address: str = "10.0.0.1"):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address)


def token(username: str, password: str, address: str = "10.0.0.1"):
    return Client().post(reverse("api_token"), {"username": username, "password": password}, REMOTE_ADDR=address)


def fail(times: int, username: str, address: str = "10.0.0.1") -> None:
    for _ in range(times):
        sign_in(Client(), username, "wrong password", address)


def test_the_sign_in_page_locks_an_account_after_the_failure_limit_and_says_for_how_long(client, alice):
    for _ in range(2):
        response = sign_in(client, "alice", "wrong password")
        assert response.status_code == 200
        assert "correct username and password" in response.content.decode()

    locked = sign_in(client, "alice", "wrong password")  # the third: the limit
    again = sign_in(client, "alice", PASSWORD)  # even the right password, now

    for response in (locked, again):
        page = response.content.decode()
        assert response.status_code == 429
        assert "signing in is locked for 15 minutes" in page
        assert '<form method="post">' in page and 'value="alice"' in page  # the sign-in form, with its message
        assert response["Retry-After"] and int(response["Retry-After"]) <= 15 * 60
    assert "_auth_user_id" not in client.session


def test_the_lockout_time_is_the_setting_and_counts_from_the_last_failure(client, alice, settings):
    from datetime import timedelta

    settings.AXES_COOLOFF_TIME = timedelta(minutes=2)
    fail(3, "alice")
    response = sign_in(client, "alice", PASSWORD)
    assert response.status_code == 429 and "locked for 2 minutes" in response.content.decode()
    AccessAttempt.objects.update(attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=3))
    assert sign_in(client, "alice", PASSWORD).status_code == 302  # the lockout is over


def test_the_time_said_is_when_the_lockout_really_ends_not_the_last_failure_seen(client, alice, bob):
    """alice's account is locked by 3 failures from another address 10 minutes ago (a cool-off of 15): it ends in 5
    minutes, when those expire. One failure for bob from her own address since then (under the limit) doesn't make
    her wait 14 minutes, as the latest failure of either would say."""
    from datetime import timedelta

    from django.utils import timezone

    fail(3, "alice", "10.0.0.2")
    fail(1, "bob")
    now = timezone.now()
    AccessAttempt.objects.filter(username="alice").update(attempt_time=now - timedelta(minutes=10))
    AccessAttempt.objects.filter(username="bob").update(attempt_time=now - timedelta(minutes=1))

    response = sign_in(client, "alice", PASSWORD)
    assert response.status_code == 429
    assert "locked for 5 minutes" in response.content.decode()
    assert 4 * 60 < int(response["Retry-After"]) <= 5 * 60


def test_an_address_locked_by_many_accounts_waits_until_enough_of_them_expire(client, alice, bob):
    """The address holds 2 failures for alice (12 minutes ago) and 1 for bob and 1 for carol (2 and 1 minutes ago):
    4 of a limit of 3. It is locked until alice's expire (3 minutes), when 2 remain."""
    from datetime import timedelta

    from django.utils import timezone

    UserFactory(username="carol")
    fail(2, "alice")
    fail(1, "bob")
    fail(1, "carol")
    now = timezone.now()
    for username, minutes in (("alice", 12), ("bob", 2), ("carol", 1)):
        AccessAttempt.objects.filter(username=username).update(attempt_time=now - timedelta(minutes=minutes))

    response = sign_in(client, "bob", PASSWORD)
    assert response.status_code == 429 and "locked for 3 minutes" in response.content.decode()


def test_failures_under_the_limit_lock_nothing(client, alice):
    fail(2, "alice")
    assert sign_in(client, "alice", PASSWORD).status_code == 302


def test_an_account_is_locked_whatever_address_the_failures_came_from(alice, bob):
    for address in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
        fail(1, "alice", address)

    assert sign_in(Client(), "alice", PASSWORD, "10.9.9.9").status_code == 429
    assert sign_in(Client(), "bob", PASSWORD, "10.9.9.9").status_code == 302  # the address is not locked


def test_an_address_is_locked_whatever_accounts_it_tried(alice, bob):
    for username in ("alice", "carol", "dave"):
        fail(1, username, "10.6.6.6")

    assert sign_in(Client(), "bob", PASSWORD, "10.6.6.6").status_code == 429
    assert sign_in(Client(), "bob", PASSWORD, "10.0.0.7").status_code == 302  # bob, elsewhere: fine


def test_signing_in_to_ones_own_account_does_not_reset_the_failures_against_another(alice, bob):
    """axes' reset on success deleted every failure of the signed-in username OR of the address: someone with an
    account of their own guessed alice's password limit-1 times, signed in as themself from the same address, and
    started again (measured on a running site: 16 wrong passwords for one account, never locked). A successful
    sign-in now forgets that account's own failures only."""
    for _ in range(3):
        fail(2, "alice", "10.7.7.7")
        assert sign_in(Client(), "bob", PASSWORD, "10.7.7.7").status_code in (302, 429)
    assert sign_in(Client(), "alice", PASSWORD, "10.8.8.8").status_code == 429  # 6 failures: locked, from anywhere


def test_a_successful_sign_in_forgets_that_accounts_own_failures(alice):
    fail(2, "alice")
    assert sign_in(Client(), "alice", PASSWORD).status_code == 302
    fail(2, "alice")  # two more: under the limit again, as before the sign-in
    assert sign_in(Client(), "alice", PASSWORD).status_code == 302


def test_the_token_endpoint_locks_too_with_a_json_detail(alice):
    for _ in range(2):
        response = token("alice", "wrong password")
        assert response.status_code == 400 and "detail" in response.json()

    locked = token("alice", "wrong password")
    again = token("alice", PASSWORD)

    for response in (locked, again):
        assert response.status_code == 429
        assert response["Content-Type"] == "application/json"
        body = response.json()
        assert "locked for 15 minutes" in body["detail"] and "token" not in body
        assert 0 < body["retry_after"] <= 15 * 60 and response["Retry-After"] == str(body["retry_after"])


def test_failures_on_either_path_count_together(alice):
    fail(2, "alice")
    assert token("alice", "wrong").status_code == 429
    assert sign_in(Client(), "alice", PASSWORD).status_code == 429


def test_the_unlock_commands_restore_sign_in(alice, bob):
    fail(3, "alice", "10.0.0.1")
    fail(3, "mallory", "10.5.5.5")
    assert sign_in(Client(), "alice", PASSWORD, "10.0.0.2").status_code == 429
    assert sign_in(Client(), "bob", PASSWORD, "10.5.5.5").status_code == 429

    call_command("axes_reset_username", "alice")
    call_command("axes_reset_ip", "10.5.5.5")

    assert sign_in(Client(), "alice", PASSWORD, "10.0.0.2").status_code == 302
    assert token("bob", PASSWORD, "10.5.5.5").status_code == 201


def test_a_superuser_unlocks_from_the_admin(alice, client):
    fail(3, "alice")
    assert token("alice", PASSWORD).status_code == 429
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(admin)
    listing = client.get(reverse("admin:axes_accessattempt_changelist"))
    assert listing.status_code == 200 and "alice" in listing.content.decode()

    ids = [str(pk) for pk in AccessAttempt.objects.values_list("pk", flat=True)]
    response = client.post(reverse("admin:axes_accessattempt_changelist"),
                           {"action": "delete_selected", "_selected_action": ids, "post": "yes"})

    assert response.status_code == 302 and not AccessAttempt.objects.exists()
    assert token("alice", PASSWORD).status_code == 201


def test_staff_who_are_not_superusers_see_no_attempts(alice, client):
    fail(1, "alice")
    client.force_login(UserFactory(username="helper", is_staff=True))
    assert client.get(reverse("admin:axes_accessattempt_changelist")).status_code in (302, 403)


def test_behind_a_proxy_the_forwarded_address_is_the_one_locked(alice, bob, settings):
    settings.SIGNIN_PROXY_COUNT = 1
    for username in ("alice", "carol", "dave"):
        Client().post(reverse("login"), {"username": username, "password": "wrong"}, REMOTE_ADDR="127.0.0.1",
                      HTTP_X_FORWARDED_FOR="10.6.6.6")
    # A client can't pick its address: what the proxy appends (the rightmost entry) is what counts.
    spoofed = Client().post(reverse("login"), {"username": "bob", "password": PASSWORD}, REMOTE_ADDR="127.0.0.1",
                            HTTP_X_FORWARDED_FOR="10.1.1.1, 10.6.6.6")
    other = Client().post(reverse("login"), {"username": "bob", "password": PASSWORD}, REMOTE_ADDR="127.0.0.1",
                          HTTP_X_FORWARDED_FOR="10.0.0.9")

    assert spoofed.status_code == 429
    assert other.status_code == 302


def test_a_proxy_in_front_while_signin_proxy_count_is_0_is_said_in_the_log_once(alice, settings, caplog,
                                                                                   monkeypatch):
    """Behind nginx with SIGNIN_PROXY_COUNT left at 0 (the README says to set it; nothing said when it was not), every
    client signs in "from 127.0.0.1" and shares one lockout: five wrong passwords anywhere lock the whole family out.
    A request forwarded by a proxy on this machine or network (X-Forwarded-For from a loopback or private address)
    while the count is 0 is said once, as a warning naming the setting."""
    import gallery.signin

    monkeypatch.setattr(gallery.signin, "_proxy_warned", False)
    settings.SIGNIN_PROXY_COUNT = 0
    with caplog.at_level("WARNING", logger="gallery.signin"):
        Client().post(reverse("login"), {"username": "alice", "password": "wrong"}, REMOTE_ADDR="81.2.69.142",
                      HTTP_X_FORWARDED_FOR="10.9.9.9")  # a client on the internet sends what it likes: no proxy
        assert not ours(caplog)
        for _ in range(2):
            Client().post(reverse("login"), {"username": "alice", "password": "wrong"}, REMOTE_ADDR="127.0.0.1",
                          HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert ours(caplog) == [
        "A request came through a proxy (X-Forwarded-For, from 127.0.0.1) but SIGNIN_PROXY_COUNT is 0: every client "
        "is counted as that proxy's address, so a few wrong passwords anywhere lock everyone out. Set "
        "SIGNIN_PROXY_COUNT to the number of proxies in front of the app (README, Configuration)."]
    caplog.clear()
    monkeypatch.setattr(gallery.signin, "_proxy_warned", False)
    settings.SIGNIN_PROXY_COUNT = 1
    with caplog.at_level("WARNING", logger="gallery.signin"):
        Client().post(reverse("login"), {"username": "alice", "password": "wrong"}, REMOTE_ADDR="127.0.0.1",
                      HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert not ours(caplog)


def ours(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == "gallery.signin"]


@pytest.mark.parametrize("forwarded", ["999.1.1.1", "unknown", "10.0.0.1:443", "_hidden"])
def test_a_forwarded_entry_that_is_no_address_counts_as_the_proxys_not_a_500(alice, settings, forwarded):
    """What a proxy forwards is not always an address ("unknown", a port, an obfuscated name: RFC 7239 allows them),
    and axes refused it with a 500 on every sign-in. Such an entry names no client: the proxy's own address counts."""
    settings.SIGNIN_PROXY_COUNT = 1
    for _ in range(3):
        response = Client().post(reverse("login"), {"username": "alice", "password": "wrong"},
                                 REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=forwarded)
        assert response.status_code in (200, 429)
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"127.0.0.1"}
    assert token("alice", "wrong", address="127.0.0.1").status_code == 429


def test_the_token_endpoint_is_throttled_per_address(alice):
    for _ in range(20):
        assert token("alice", PASSWORD).status_code == 201
    response = token("alice", PASSWORD)
    assert response.status_code == 429 and "too many requests" in response.json()["detail"].lower()
    # The body the schema gives this operation's 429 (Locked: detail and retry_after, both required), as a lockout's:
    # DRF's throttle answered {"detail"} alone, which a client generated from the schema refused.
    assert set(response.json()) == {"detail", "retry_after"}
    assert 0 < response.json()["retry_after"] <= 60 and response["Retry-After"] == str(response.json()["retry_after"])
    assert f"{response.json()['retry_after']} second" in response.json()["detail"]
    assert token("alice", PASSWORD, "10.0.0.2").status_code == 201  # another address has its own allowance


@pytest.mark.parametrize("proxies", [0, 1])
def test_the_token_endpoints_throttle_counts_the_address_the_lockout_counts_not_one_the_client_sends(
        alice, settings, proxies):
    """DRF's throttle took the whole X-Forwarded-For header as the address (its NUM_PROXIES unset), so a client that
    sent a new made-up one with each request was never throttled: API_TOKEN_RATE limited nothing. It now counts the
    address the lockout counts (REMOTE_ADDR, or behind SIGNIN_PROXY_COUNT proxies what the outermost one saw)."""
    settings.SIGNIN_PROXY_COUNT = proxies
    client_address = "10.7.7.7" if proxies else "127.0.0.1"
    answers = [Client().post(reverse("api_token"), {"username": "alice", "password": PASSWORD}, REMOTE_ADDR="127.0.0.1",
                             HTTP_X_FORWARDED_FOR=f"10.9.{n}.1, {client_address}" if proxies else f"10.9.{n}.1")
               for n in range(21)]
    assert [a.status_code for a in answers] == [201] * 20 + [429]
    if proxies:  # behind the proxy, another client has its own allowance
        other = Client().post(reverse("api_token"), {"username": "alice", "password": PASSWORD}, REMOTE_ADDR="127.0.0.1",
                              HTTP_X_FORWARDED_FOR="10.9.0.1, 10.8.8.8")
        assert other.status_code == 201


@pytest.mark.parametrize("url", [reverse("login"), reverse("admin:login")], ids=["site", "admin"])
def test_a_username_longer_than_any_account_is_said_on_the_page_not_a_500(alice, url):
    """Django's sign-in form only set the input's maxlength: a longer username reached authenticate(), and axes's
    record of the failure (255 characters) was a 500. It can be no account, so it is refused like any bad field."""
    response = Client().post(url, {"username": "x" * 300, "password": "anything"}, REMOTE_ADDR="10.0.0.1")
    assert response.status_code == 200
    assert "Ensure this value has at most 150 characters (it has 300)." in response.content.decode()
    assert "_auth_user_id" not in Client().session
    assert not AccessAttempt.objects.exists()  # nothing to count: no account was tried


def test_the_change_password_page_counts_wrong_current_passwords_as_the_sign_in_page_does(alice, client_for):
    """The page that changes one's password checks the current one: it did so outside the lockout, so whoever found
    a browser left signed in (a family tablet) could try passwords there without end, learn the real one and sign in
    anywhere with it. Wrong ones count as failed sign-ins of that account now, and past the limit none is checked."""
    client = client_for(alice)
    url = reverse("password_change")
    new = {"new_password1": "a brand new passphrase 9", "new_password2": "a brand new passphrase 9"}
    for _ in range(2):
        wrong = client.post(url, {"old_password": "guess", **new}, REMOTE_ADDR="10.0.0.9")
        assert wrong.status_code == 200 and "Your old password was entered incorrectly" in wrong.content.decode()

    locked = client.post(url, {"old_password": "guess", **new}, REMOTE_ADDR="10.0.0.9")  # the third: the limit
    again = client.post(url, {"old_password": PASSWORD, **new}, REMOTE_ADDR="10.0.0.9")  # even the right one, now

    for response in (locked, again):
        assert "Too many failed sign-ins for this account" in response.content.decode()
        assert 'name="old_password"' in response.content.decode()  # still the page it was, not the sign-in page
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)
    assert "Too many" in sign_in(Client(), "alice", PASSWORD, "10.0.0.5").content.decode()  # the account is locked


def test_the_admins_change_password_page_is_the_sites_own_with_its_lockout(alice, client_for):
    """The Django admin's own "Change password" (/admin/password_change/, for staff) checked the current password
    outside the lockout too: it is the site's page, which counts wrong ones."""
    alice.is_staff = alice.is_superuser = True
    alice.save()
    client = client_for(alice)

    response = client.get(reverse("admin:password_change"))
    assert response.status_code == 302 and response["Location"] == reverse("password_change")
    posted = client.post(reverse("admin:password_change"), {"old_password": PASSWORD, "new_password1": "x new one 77",
                                                             "new_password2": "x new one 77"})
    assert posted.status_code == 302 and posted["Location"] == reverse("password_change")  # nothing checked there
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


def test_the_sign_in_page_opened_while_signed_in_goes_on_to_where_it_leads(alice, client_for):
    """A signed-in person opening the sign-in page (a bookmark of it, the back button after signing in, a link with
    ?next=) was shown an empty sign-in form under a menu saying they were signed in. They go on to the page the link
    leads to, or to the photos; a next that leads off the site is not followed."""
    client = client_for(alice)
    response = client.get(reverse("login"))
    assert response.status_code == 302 and response["Location"] == reverse("gallery:timeline")
    response = client.get(reverse("login"), {"next": reverse("gallery:families")})
    assert response.status_code == 302 and response["Location"] == reverse("gallery:families")
    response = client.get(reverse("login"), {"next": "https://elsewhere.example/"})
    assert response.status_code == 302 and response["Location"] == reverse("gallery:timeline")
    assert Client().get(reverse("login")).status_code == 200  # signed out: the form


def test_a_daily_task_clears_expired_sessions(alice, bob):
    """Nothing ran `clearsessions`, so every sign-in left a row in django_session for good (Django deletes an
    expired session only when its own browser comes back). A daily task deletes the expired ones; live ones stay."""
    from datetime import timedelta

    from django.contrib.sessions.models import Session
    from django.utils import timezone
    from django_q.models import Schedule

    from gallery.tasks import sessions_clear_task

    for user in (alice, bob):
        Client().force_login(user)
    assert Session.objects.count() == 2
    expired = Session.objects.order_by("pk").first()
    Session.objects.filter(pk=expired.pk).update(expire_date=timezone.now() - timedelta(seconds=1))

    sessions_clear_task()

    assert Session.objects.count() == 1 and not Session.objects.filter(pk=expired.pk).exists()
    schedule = Schedule.objects.get(func="gallery.tasks.sessions_clear_task")
    assert schedule.repeats < 0 and schedule.schedule_type == Schedule.DAILY
