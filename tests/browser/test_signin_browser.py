"""Sign-in lockout and the API tokens page in a real browser, at desktop width and on a phone.
Screenshots: test-artifacts/signin-*-{desktop,mobile}.png."""

from __future__ import annotations

import pytest

from gallery.models import ApiToken
from tests.browser.conftest import CHROMIUM, HAVE_CHROMIUM, new_page, sign_in
from tests.browser.test_mobile import DESKTOP, OVERFLOW, PHONE, SMALL_TARGETS
from tests.factories import FamilyFactory, MembershipFactory, UserFactory, api_token_key

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not HAVE_CHROMIUM, reason=f"chromium is not installed (looked for {CHROMIUM})"),
    pytest.mark.django_db(transaction=True),
]
SIZES = [("desktop", DESKTOP), ("mobile", PHONE)]
LONG_AGENT = ("Mozilla/5.0 (Linux; Android 14; Pixel 8 Pro Build/AP2A.240805.005) AppleWebKit/537.36 "
              "(KHTML, like Gecko) Chrome/127.0.6533.103 Mobile Safari/537.36")


def _check(page, name: str, artifacts, prefix: str, width: int) -> None:
    page.screenshot(path=artifacts / f"signin-{name}-{prefix}.png", full_page=True)
    assert page.evaluate(OVERFLOW, width) == [], f"{name} overflows {width} px"
    if prefix == "mobile":
        assert page.evaluate(SMALL_TARGETS) == [], f"{name}: tap targets under 40 px"


@pytest.mark.parametrize(("prefix", "options"), SIZES, ids=["desktop", "mobile"])
def test_the_lockout_reads_on_the_sign_in_form(browser, live_server, artifacts, settings, prefix, options):
    settings.AXES_FAILURE_LIMIT = 2
    UserFactory(username="grandma")
    context, page = new_page(browser, **options)
    for _ in range(2):
        page.goto(live_server.url + "/accounts/login/")
        page.fill("#id_username", "grandma")
        page.fill("#id_password", "not my password")
        page.click("button[type=submit]")

    alert = page.get_by_role("alert")
    assert "signing in is locked for 15 minutes" in alert.inner_text()
    assert page.locator("#id_username").input_value() == "grandma"  # the form is still there, filled in
    _check(page, "locked", artifacts, prefix, options["viewport"]["width"])
    assert page.js_errors == []
    context.close()


@pytest.mark.parametrize(("prefix", "options"), SIZES[1:], ids=["mobile"])
def test_the_tokens_page_lists_and_revokes(browser, live_server, artifacts, prefix, options):
    family = FamilyFactory(name="Hendersons")
    grandma = UserFactory(username="grandma")
    MembershipFactory(family=family, user=grandma, role="admin")
    api_token_key(grandma, LONG_AGENT)
    api_token_key(grandma, "backup script on the NAS")
    context, page = new_page(browser, **options)
    sign_in(page, live_server, "grandma")

    if prefix == "mobile":
        page.locator("details.menu > summary").click()
        _check(page, "menu", artifacts, prefix, options["viewport"]["width"])
    page.get_by_role("link", name="API tokens").click()
    page.wait_for_url(live_server.url + "/accounts/tokens/")
    assert page.get_by_text("backup script on the NAS").is_visible()
    _check(page, "tokens", artifacts, prefix, options["viewport"]["width"])

    page.once("dialog", lambda dialog: dialog.accept())  # "Revoke this token? …"
    page.locator("tr", has_text="backup script").get_by_role("button", name="Revoke").click()
    page.wait_for_selector("text=no longer works")
    assert list(ApiToken.objects.values_list("label", flat=True)) == [LONG_AGENT]
    _check(page, "tokens-revoked", artifacts, prefix, options["viewport"]["width"])
    assert page.js_errors == []
    context.close()
