"""Accounts in a real browser, at desktop width and on a phone: a family admin makes an invitation link, a new
person opens it in another browser, signs up and lands in the family; they change their password; the admin
sees the link used and may set that member's password. Screenshots: test-artifacts/accounts-*-{desktop,mobile}.png."""

from __future__ import annotations

import pytest

from gallery.models import Family, Invite, Membership
from tests.browser.conftest import CHROMIUM, HAVE_CHROMIUM, new_page, sign_in
from tests.browser.test_mobile import DESKTOP, OVERFLOW, PHONE, SMALL_TARGETS
from tests.factories import FamilyFactory, MembershipFactory, UserFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not HAVE_CHROMIUM, reason=f"chromium is not installed (looked for {CHROMIUM})"),
    pytest.mark.django_db(transaction=True),
]

NEW_PASSWORD = "lighthouse-at-dawn-31"
NEWER_PASSWORD = "harbour-lights-at-dusk-77"


def _check(page, name: str, artifacts, prefix: str, width: int) -> None:
    page.screenshot(path=artifacts / f"accounts-{name}-{prefix}.png", full_page=True)
    assert page.evaluate(OVERFLOW, width) == [], f"{name} overflows {width} px"
    if prefix == "mobile":
        assert page.evaluate(SMALL_TARGETS) == [], f"{name}: tap targets under 40 px"


def _open_menu(page, prefix: str) -> None:
    if prefix == "mobile":
        page.locator("details.menu > summary").click()


@pytest.mark.parametrize(("prefix", "options"), [("desktop", DESKTOP), ("mobile", PHONE)], ids=["desktop", "mobile"])
def test_invite_sign_up_and_change_password(browser, live_server, artifacts, prefix, options):
    width = options["viewport"]["width"]
    family = FamilyFactory(name="The Hendersons of Little Whinging-on-the-Marsh")
    grandma = UserFactory(username="grandma")
    MembershipFactory(family=family, user=grandma, role=Membership.Role.ADMIN)
    base = live_server.url

    admin_context, admin = new_page(browser, **options)
    sign_in(admin, live_server, "grandma")
    admin.goto(base + family.get_absolute_url())
    admin.fill("#id_note", "Cousin Ann")
    admin.select_option("#id_role", "member")
    admin.get_by_role("button", name="Make an invitation link").click()
    link = admin.locator("#new-invite-link").input_value()
    assert link.startswith(base + "/invite/")
    # The link, shown this once, has the focus (a screen reader reads it with its label) and is on the screen: the
    # page used to come back at its top, the link below the fold on a phone, where it was easily left unsent.
    assert admin.evaluate("() => document.activeElement.id") == "new-invite-link"
    box = admin.locator("#new-invite-link").bounding_box()
    assert 0 <= box["y"] and box["y"] + box["height"] <= options["viewport"]["height"]
    admin.get_by_role("button", name="Copy link").click()
    admin.get_by_role("button", name="Copied").wait_for()  # the clipboard answers asynchronously
    _check(admin, "invite-made", artifacts, prefix, width)

    # The invitee, in a browser of their own.
    invitee_context, invitee = new_page(browser, **options)
    invitee.goto(link)
    invitee.get_by_role("heading", name=f"Join {family.name}").wait_for()
    invitee.fill("#id_username", "ann")
    invitee.fill("#id_password", NEW_PASSWORD)
    invitee.fill("#id_password_again", NEW_PASSWORD + "x")
    invitee.get_by_role("button", name="Create my account and join").click()
    invitee.get_by_text("The two passwords differ.").wait_for()
    _check(invitee, "invite-signup-error", artifacts, prefix, width)
    invitee.fill("#id_password", NEW_PASSWORD)
    invitee.fill("#id_password_again", NEW_PASSWORD)
    _check(invitee, "invite-signup", artifacts, prefix, width)
    invitee.get_by_role("button", name="Create my account and join").click()

    invitee.wait_for_url(base + family.get_absolute_url())
    invitee.get_by_text(f"Welcome to {family.name}! You are a member.").wait_for()
    assert invitee.locator(".members td", has_text="ann").count() == 1
    assert invitee.locator(".who").text_content() == "ann"
    _check(invitee, "invite-joined", artifacts, prefix, width)

    # The link is spent: opening it again (the invitation in her mail, to reach the gallery) takes her to the family.
    invitee.goto(link)
    invitee.wait_for_url(base + family.get_absolute_url())
    invitee.get_by_text(f"You are in {family.name} already: this invitation was used.").wait_for()

    # Ann changes her password from the account menu.
    invitee.goto(base + "/")
    _open_menu(invitee, prefix)
    _check(invitee, "menu", artifacts, prefix, width)
    invitee.get_by_role("link", name="Change password").click()
    invitee.fill("#id_old_password", NEW_PASSWORD)
    invitee.fill("#id_new_password1", NEWER_PASSWORD)
    invitee.fill("#id_new_password2", NEWER_PASSWORD)
    _check(invitee, "password-change", artifacts, prefix, width)
    invitee.get_by_role("button", name="Change password").click()
    invitee.get_by_role("heading", name="Password changed").wait_for()
    _check(invitee, "password-changed", artifacts, prefix, width)
    invitee_context.clear_cookies()
    sign_in(invitee, live_server, "ann", NEWER_PASSWORD)

    # The admin sees the link used, and may set Ann's password (her only family is one grandma administers).
    admin.goto(base + family.get_absolute_url())
    admin.get_by_text("Used by ann").wait_for()
    _check(admin, "family-admin", artifacts, prefix, width)
    admin.get_by_role("link", name="Set password").click()
    admin.get_by_role("heading", name="New password for ann").wait_for()
    _check(admin, "member-password", artifacts, prefix, width)

    assert Invite.objects.get().used_by.username == "ann"
    assert admin.js_errors == [] and invitee.js_errors == []
    admin_context.close()
    invitee_context.close()


# Words of `selector`'s visible text laid out over more than one line: broken inside the word.
WORDS_BROKEN = """(selector) => {
  const broken = [];
  for (const cell of document.querySelectorAll(selector)) {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (node.parentElement.closest('.visually-hidden')) continue;
      for (const m of node.data.matchAll(/\\S+/g)) {
        const range = document.createRange();
        range.setStart(node, m.index);
        range.setEnd(node, m.index + m[0].length);
        const lines = new Set(Array.from(range.getClientRects()).filter((r) => r.width > 0).map((r) => Math.round(r.top)));
        if (lines.size > 1) broken.push(m[0]);
      }
    }
  }
  return broken;
}"""


def test_the_invitation_links_read_whole_words_on_a_phone(browser, live_server, artifacts):
    """At 390 px the links' table squeezed its first column to a few letters: "Cousin Ann" read "Cousi / n Ann",
    "by someone gone" broke inside "someone", each row a column of word pieces."""
    from gallery.account_services import invite_accept_new_account, invite_create, invite_revoke

    family = FamilyFactory(name="The Hendersons")
    grandma = UserFactory(username="grandma")
    MembershipFactory(family=family, user=grandma, role=Membership.Role.ADMIN)
    invite_create(family=family, created_by=grandma, note="Cousin Ann from Leeds")
    invite_revoke(invite=invite_create(family=family, created_by=grandma, note="Uncle Bernard").invite)
    used = invite_create(family=family, created_by=grandma, role=Membership.Role.ADMIN, note="Grandpa Joe")
    invite_accept_new_account(token=used.token, username="grandpa", password=NEW_PASSWORD)

    context, page = new_page(browser, **PHONE)
    sign_in(page, live_server, "grandma")
    page.goto(live_server.url + family.get_absolute_url())
    page.get_by_text("Used by grandpa").wait_for()
    page.locator("#invites").screenshot(path=artifacts / "accounts-invite-links-mobile.png")
    assert page.evaluate(WORDS_BROKEN, ".invites tbody td") == []
    assert page.evaluate(OVERFLOW, PHONE["viewport"]["width"]) == []
    assert page.evaluate(SMALL_TARGETS) == []
    context.close()


EMAIL_NAME = "christopher.montgomery-richardson@family-photos.example.com"  # usernames may be email addresses
LONGEST_NAME = ("Wolfgang.Amadeus.Mozart_" * 7)[:150]  # Django's longest username, one word


@pytest.mark.parametrize(("prefix", "options"), [("desktop", DESKTOP), ("mobile", PHONE)], ids=["desktop", "mobile"])
def test_a_long_username_leaves_the_menu_and_the_familys_links_in_place(browser, live_server, artifacts, prefix,
                                                                         options):
    """A username is up to 150 characters of one word. Signed in as an email address of 59, the top bar's links
    stacked into three rows at 1280 px (a column of seven at 1024), and as one of 150 the page ran 1,900 px wide,
    Sign out off the screen; on the phone the name ran out of the open menu. The admin's family page then listed the
    link that person used as "Used by <the name>" in one line past the card."""
    from gallery.account_services import invite_accept_new_account, invite_create

    width = options["viewport"]["width"]
    family = FamilyFactory(name="The Hendersons")
    grandma = UserFactory(username="grandma")
    MembershipFactory(family=family, user=grandma, role=Membership.Role.ADMIN)
    for name in (EMAIL_NAME, LONGEST_NAME):
        invite = invite_create(family=family, created_by=grandma, note="Cousin Ann")
        invite_accept_new_account(token=invite.token, username=name, password=NEW_PASSWORD)

    for name in (EMAIL_NAME, LONGEST_NAME):
        context, page = new_page(browser, **options)
        sign_in(page, live_server, name, NEW_PASSWORD)
        _open_menu(page, prefix)
        _check(page, f"long-username-{len(name)}", artifacts, prefix, width)
        who = page.locator(".who")
        box = who.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, box
        if prefix == "desktop":  # the menu's links in one row, as with a short name
            tops = {round(link.bounding_box()["y"]) for link in page.locator("nav[aria-label=Main] a").all()}
            assert len(tops) == 1, tops
        assert who.get_attribute("title") == name  # the whole of it, where the bar shows a part
        context.close()

    context, page = new_page(browser, **options)
    sign_in(page, live_server, "grandma")
    page.goto(live_server.url + family.get_absolute_url())
    page.get_by_text("Used by " + EMAIL_NAME).wait_for()
    _check(page, "long-username-links", artifacts, prefix, width)
    card = page.locator("#invites").bounding_box()
    table = page.locator("table.invites").bounding_box()
    assert table["x"] + table["width"] <= card["x"] + card["width"], (table, card)
    assert page.evaluate(WORDS_BROKEN, ".invites tbody td:first-child") == []  # "Cousin Ann" stays whole
    context.close()


@pytest.mark.parametrize(("form", "field", "value", "message"), [
    ("form[action$='/name/']", "#id_family_name", "Smiths\u0007", "control character"),
    ("form.invite-form", "#id_note", "Cousin\u0007Ann", "control character"),
])
def test_a_refused_family_form_on_a_phone_puts_the_focus_on_the_field_to_fix(browser, live_server, artifacts, form,
                                                                             field, value, message):
    """A family page form sent with a mistake (the family's new name, an invitation's note) came back as the page
    again, at its top: on a phone the field and its message were screens below, and nothing was read out, so it
    looked as if nothing had happened. The first field with an error takes the focus (in view, read with its
    message)."""
    family = FamilyFactory(name="Smiths")
    grandma = UserFactory(username="grandma")
    MembershipFactory(family=family, user=grandma, role=Membership.Role.ADMIN)
    context, page = new_page(browser, **PHONE)
    sign_in(page, live_server, "grandma")
    page.goto(live_server.url + family.get_absolute_url())
    page.locator(f"{form} input[type=text]").first.fill(value)
    page.locator(f"{form} button[type=submit]").click()
    page.wait_for_load_state()
    assert page.evaluate(f"() => document.activeElement.matches('{field}')")
    box = page.locator(field).bounding_box()
    assert 0 <= box["y"] and box["y"] + box["height"] <= PHONE["viewport"]["height"]
    described = page.evaluate("() => document.activeElement.getAttribute('aria-describedby').split(' ')"
                              ".map((id) => document.getElementById(id).textContent).join(' ')")
    assert message in described
    page.screenshot(path=artifacts / f"accounts-refused-{field[4:]}-mobile.png")
    context.close()


DANGLING = """() => Array.from(document.querySelectorAll('[aria-describedby], [aria-labelledby]')).flatMap((el) =>
  ['aria-describedby', 'aria-labelledby'].flatMap((attr) => (el.getAttribute(attr) || '').split(/\\s+/)
    .filter((id) => id && !document.getElementById(id)).map((id) => `${el.id || el.name} ${attr} ${id}`)))"""


def test_every_forms_help_text_is_read_with_its_field(browser, live_server):
    """Django points each field with a help text at it (aria-describedby="id_note_helptext"), but our pages write the
    help text themselves, without that id: on the invitation, family, suggestions, share, password and photo pages a
    screen reader read the field without what the page says beside it ("Letters, digits and @ . + - _ only.", the
    password rules, "comma separated"). Each reference now finds its text."""
    from gallery.account_services import invite_create
    from gallery.album_services import album_create
    from tests.factories import photo_factory

    family = FamilyFactory(name="Smiths")
    grandma, ann = UserFactory(username="grandma"), UserFactory(username="ann")
    MembershipFactory(family=family, user=grandma, role=Membership.Role.ADMIN)
    MembershipFactory(family=family, user=ann)
    album = album_create(user=grandma, family=family, name="Summer")
    photo = photo_factory(family=family, user=grandma)
    token = invite_create(family=family, created_by=grandma).token
    context, page = new_page(browser, **PHONE)
    found = []
    page.goto(live_server.url + f"/invite/{token}/")
    found += page.evaluate(DANGLING)
    sign_in(page, live_server, "grandma")
    for path in (family.get_absolute_url(), f"/families/{family.pk}/suggestions/", f"/albums/{album.pk}/shares/",
                 "/accounts/password/", f"/families/{family.pk}/members/{ann.pk}/password/",
                 f"/photos/{photo.pk}/edit/"):
        page.goto(live_server.url + path)
        found += [f"{path}: {problem}" for problem in page.evaluate(DANGLING)]
    assert found == []
    context.close()


@pytest.mark.parametrize(("prefix", "options"), [("desktop", DESKTOP)], ids=["desktop"])
def test_links_whose_maker_or_family_is_gone_say_so_alike_everywhere(browser, live_server, artifacts, prefix, options):
    """A link of an admin made inactive reads withdrawn on its page, naming no one who can't sign in, and in the
    family page's list; so does one whose maker stopped being an admin with nothing withdrawing it (a shell, or a
    link made meanwhile); a link of a deleted family says the family was deleted."""
    from django.contrib.auth import get_user_model

    from gallery.account_services import invite_create
    from gallery.services import family_delete_by_member, invites_withdraw_made_by

    width = options["viewport"]["width"]
    family = FamilyFactory(name="The Hendersons of Little Whinging-on-the-Marsh")
    grandma, grandpa = UserFactory(username="grandma"), UserFactory(username="grandpa")
    for admin in (grandma, grandpa):
        MembershipFactory(family=family, user=admin, role=Membership.Role.ADMIN)
    withdrawn = invite_create(family=family, created_by=grandma, note="Cousin Ann").token
    get_user_model().objects.filter(pk=grandma.pk).update(is_active=False)
    invites_withdraw_made_by(user_ids=[grandma.pk])  # (as the Django admin's "Active" box unticked does)
    aunt = UserFactory(username="aunt")
    MembershipFactory(family=family, user=aunt, role=Membership.Role.ADMIN)
    unvouched = invite_create(family=family, created_by=aunt, note="Cousin Bill").token
    Membership.objects.filter(family=family, user=aunt).update(role=Membership.Role.MEMBER)  # her link not withdrawn
    gone = FamilyFactory(name="The Dursleys")
    MembershipFactory(family=gone, user=grandpa, role=Membership.Role.ADMIN)
    deleted = invite_create(family=gone, created_by=grandpa, note="Dudley").token
    family_delete_by_member(family=gone, user=grandpa, name="The Dursleys")
    base = live_server.url

    invitee_context, invitee = new_page(browser, **options)
    invitee.goto(f"{base}/invite/{withdrawn}/")
    invitee.get_by_text("This invitation link was withdrawn. Ask the family's admin for a new one.").wait_for()
    assert "grandma" not in invitee.content()
    _check(invitee, "invite-maker-inactive", artifacts, prefix, width)
    invitee.goto(f"{base}/invite/{unvouched}/")
    invitee.get_by_text("This invitation link was withdrawn. Ask the family's admin for a new one.").wait_for()
    assert "aunt" not in invitee.content()
    invitee.goto(f"{base}/invite/{deleted}/")
    invitee.get_by_text("The family this invitation was for was deleted.").wait_for()
    _check(invitee, "invite-family-deleted", artifacts, prefix, width)

    admin_context, admin = new_page(browser, **options)
    sign_in(admin, live_server, "grandpa")
    admin.goto(base + family.get_absolute_url() + "#invites")
    row = admin.locator("tr.invite-revoked", has_text="Cousin Ann")
    row.wait_for()
    assert "Withdrawn" in row.text_content() and row.get_by_role("button").count() == 0
    row = admin.locator("tr.invite-revoked", has_text="Cousin Bill")
    assert "Withdrawn (its maker no longer administers the family)" in " ".join(row.text_content().split())
    assert row.get_by_role("button").count() == 0
    _check(admin, "invite-list-withdrawn", artifacts, prefix, width)
    # The Django admin's list of links says so too (grandpa made a superuser).
    get_user_model().objects.filter(pk=grandpa.pk).update(is_staff=True, is_superuser=True)
    admin.goto(base + "/admin/gallery/invite/")
    row = admin.locator("#result_list tbody tr", has_text="Cousin Bill")
    assert "Withdrawn" in row.text_content() and "Waiting" not in row.text_content()
    admin.screenshot(path=artifacts / f"accounts-admin-invites-{prefix}.png", full_page=True)
    invitee_context.close()
    admin_context.close()


@pytest.mark.parametrize(("prefix", "options"), [("desktop", DESKTOP), ("mobile", PHONE)], ids=["desktop", "mobile"])
def test_every_state_of_an_invitation_links_page(browser, live_server, artifacts, prefix, options):
    """Each state of the link's page (valid, withdrawn, expired, used, its family deleted, made up), signed out and
    signed in: fits the width, and offers signing in only where it leads to the family (valid: to join with the account;
    used, withdrawn, expired: to a family one may be in), never for a family deleted or a made-up link.
    Screenshots: accounts-link-<state>-<who>-{desktop,mobile}.png."""
    from datetime import timedelta

    from django.utils import timezone

    from gallery.account_services import invite_create, invite_token_hash
    from gallery.models import DeletedFamilyInvite

    width = options["viewport"]["width"]
    family = FamilyFactory(name="The Hendersons of Little Whinging-on-the-Marsh")
    grandma = UserFactory(username="grandma")
    MembershipFactory(family=family, user=grandma, role=Membership.Role.ADMIN)
    UserFactory(username="visitor")
    now = timezone.now()

    def link_of(**state) -> str:
        made = invite_create(family=family, created_by=grandma, note="Cousin Ann")
        Invite.objects.filter(pk=made.invite.pk).update(**state)
        return f"/invite/{made.token}/"

    links = {"valid": link_of(), "withdrawn": link_of(revoked_at=now),
             "expired": link_of(expires_at=now - timedelta(days=1)), "used": link_of(used_at=now, used_by=grandma)}
    DeletedFamilyInvite.objects.create(token_hash=invite_token_hash("gone-family-token"))
    links |= {"deleted-family": "/invite/gone-family-token/", "made-up": "/invite/made-up-token/"}
    # A used link of a family whose deletion is under way (its row kept while its photos go): deleted, as the others.
    # (made by its admin before: no link is made for a family being deleted)
    going = FamilyFactory(name="The Joneses")
    MembershipFactory(family=going, user=grandma, role=Membership.Role.ADMIN)
    used = invite_create(family=going, created_by=grandma)
    Invite.objects.filter(pk=used.invite.pk).update(used_at=now, used_by=grandma)
    Family.objects.filter(pk=going.pk).update(deleting_since=now)
    Membership.objects.filter(family=going).delete()  # (as family_delete_start does)
    links["used-family-being-deleted"] = f"/invite/{used.token}/"
    signing_in_helps = {"valid", "withdrawn", "expired", "used"}  # (valid: to join with an account one has)

    for who in ("signed-out", "signed-in"):
        context, page = new_page(browser, **options)
        if who == "signed-in":
            sign_in(page, live_server, "visitor")
        for state, link in links.items():
            page.goto(live_server.url + link)
            card = page.locator(".invite-page")
            card.wait_for()
            _check(page, f"link-{state}-{who}", artifacts, prefix, width)
            if "deleted" in state:
                assert "was deleted" in card.inner_text() and "Ask" not in card.inner_text(), state
            offers = card.get_by_role("link", name="Sign in").count() > 0
            assert offers == (who == "signed-out" and state in signing_in_helps), (state, who)
            if state != "valid" and who == "signed-in":
                assert card.get_by_role("link", name="Go to your photos").count() == 1, state
        context.close()
