"""The Content-Security-Policy, enforced by a real Chromium, breaks nothing: a member signs in and clicks through every
page of the gallery (timeline, favourites, photo page and viewer, upload, search with an explanation and a judgment,
albums and their share links, trash, families and invitations, account, index, preferences, quality, reports,
duplicates, suggestions, similar photos) and a site admin through the Django admin, while an init script reports
every `securitypolicyviolation` event and the console every "Refused to …": none may happen, nor any page error.
Screenshots: test-artifacts/csp-*.png."""

from __future__ import annotations

import re

import pytest

from gallery.models import Membership, Photo
from gallery.services import UploadResult, photo_create_from_bytes
from search.models import TagConcept
from search.tests.conftest import shape_png, toy_model  # noqa: F401 - toy_model is a fixture
from tests.browser.conftest import CHROMIUM, HAVE_CHROMIUM, new_page, photo_edit_open, sign_in
from tests.factories import FamilyFactory, MembershipFactory, UserFactory
from tests.queue import run_queued_tasks

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not HAVE_CHROMIUM, reason=f"chromium is not installed (looked for {CHROMIUM})"),
]

# Runs in every document before its own scripts: each violation the browser reports becomes a console error the
# test collects (the console survives navigations; a variable in the page would not).
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || "(inline)"} at ${e.sourceFile}:${e.lineNumber} ${e.sample}`);
});
"""


def _watched_page(browser, **options):
    context, page = new_page(browser, **options)
    page.add_init_script(REPORT_VIOLATIONS)
    page.violations = []
    page.visited = []

    def on_console(message):
        text = message.text
        if "CSP violation" in text or "Content Security Policy" in text or text.startswith("Refused to"):
            page.violations.append(f"{page.url}: {text}")

    page.on("console", on_console)
    page.on("framenavigated", lambda frame: page.visited.append(frame.url) if frame == page.main_frame else None)
    return context, page


def _add_shape(family, user, colour: str, shape: str, seed: int, **kwargs) -> Photo:
    result = photo_create_from_bytes(family=family, uploaded_by=user, data=shape_png(colour, shape, seed=seed),
                                     filename=f"{colour}-{shape}-{seed}.png", **kwargs)
    assert result.outcome == UploadResult.SAVED, result.reason
    return result.photo


def _settle(page) -> None:
    page.wait_for_load_state("load")
    page.wait_for_timeout(150)  # a violation event is queued as a task: let it fire before looking


@pytest.mark.django_db(transaction=True)
def test_every_page_works_under_the_enforced_policy_without_a_violation(live_server, browser, artifacts, toy_model):
    smiths = FamilyFactory(name="Smiths")
    alice = UserFactory(username="alice", is_staff=True, is_superuser=True)
    MembershipFactory(family=smiths, user=alice, role=Membership.Role.ADMIN)
    MembershipFactory(family=smiths, user=UserFactory(username="bob"))
    for name in ("red", "blue", "circle", "square"):
        TagConcept.objects.get_or_create(family=None, name=name)
    photos = [_add_shape(smiths, alice, colour, shape, seed=n, tags=["garden"] if n == 0 else ())
              for n, (colour, shape) in enumerate([("red", "circle"), ("red", "circle"), ("blue", "square"),
                                                   ("green", "triangle"), ("red", "square")])]
    run_queued_tasks()
    assert not Photo.objects.exclude(status=Photo.Status.READY).exists()
    base = live_server.url

    context, page = _watched_page(browser, viewport={"width": 1280, "height": 900})
    try:
        # The policy really is enforced on what the browser gets.
        policy = page.goto(base + "/accounts/login/").headers["content-security-policy"]
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy and "unsafe" not in policy
        sign_in(page, live_server, "alice")

        # Timeline: mark a favourite (htmx), then the favourites only.
        page.wait_for_selector("#grid .tile img")
        page.locator(f"#photo-{photos[0].pk} + .heart-form button.heart").click()
        page.wait_for_selector(f"#photo-{photos[0].pk} + .heart-form button.heart[aria-pressed=true]")
        page.get_by_role("link", name="Favourites only").click()
        page.wait_for_url(re.compile(r"favourite"))
        _settle(page)
        page.screenshot(path=artifacts / "csp-timeline.png")

        # Photo page and viewer: step to the next photo (hx-boost), full screen and back, edit in place and cancel.
        page.goto(base + photos[2].get_absolute_url())
        page.wait_for_selector(".photo-view img")
        step = page.locator("[data-viewer-step]").first
        step.click()
        page.wait_for_url(re.compile(r"/photos/\d+/"))
        _settle(page)
        page.get_by_role("button", name="Full screen", exact=True).click()
        page.get_by_role("button", name="Leave full screen").click()
        photo_edit_open(page)
        page.locator("#photo-meta form").wait_for()
        page.locator("#photo-meta").get_by_role("link", name="Cancel").click()
        page.locator("#photo-meta form").wait_for(state="detached")
        page.screenshot(path=artifacts / "csp-photo.png")
        page.goto(base + f"/photos/{photos[0].pk}/similar/")
        _settle(page)

        # Upload a file through the page's script.
        page.goto(base + "/upload/")
        page.set_input_files("#file-input", files=[
            {"name": "new.png", "mimeType": "image/png", "buffer": shape_png("blue", "circle", seed=99)}])
        page.locator("#upload-button").click()
        page.wait_for_selector('#upload-list [data-outcome="saved"]', timeout=20_000)
        _settle(page)
        page.screenshot(path=artifacts / "csp-upload.png")

        # Search: results as you type (htmx), an explanation, a judgment.
        page.goto(base + "/search/")
        page.locator("#search-form input[name=q]").press_sequentially("red circle", delay=20)
        page.wait_for_selector("#results .result")
        first = page.locator("#results .result").first
        first.locator("details.explain summary").click()
        first.locator("details.explain[open]").wait_for()
        photo_id = first.get_attribute("data-photo")
        page.locator(f"#judge-{photo_id} .judge-right").click()
        page.wait_for_selector(f"#judge-{photo_id} .judge-right[aria-pressed=true]")
        _settle(page)
        page.screenshot(path=artifacts / "csp-search.png")

        # Albums: make one, add photos, arrange, share by link, see the shared page.
        page.goto(base + "/albums/")
        page.locator("input[name=name]").fill("Summer")
        page.get_by_role("button", name="Create album").click()
        page.wait_for_url(re.compile(r"/albums/\d+/"))
        album_url = page.url
        page.get_by_role("link", name="Add photos").click()
        _settle(page)
        page.locator("input[type=checkbox][name=photos]").first.check()
        page.locator("input[type=checkbox][name=photos]").nth(1).check()
        page.get_by_role("button", name="Add to album").click()
        page.wait_for_url(album_url)
        _settle(page)
        page.screenshot(path=artifacts / "csp-album.png")
        page.get_by_role("link", name="Share by link").click()
        page.get_by_role("button", name="Make a link").click()
        _settle(page)
        link = page.locator("input.share-link").input_value()
        page.locator("input.share-link").focus()  # its script selects the link for copying

        # Trash: move a photo there from its page, see the trash, restore it.
        page.goto(base + photos[4].get_absolute_url())
        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="Move to trash").click()
        _settle(page)
        page.goto(base + f"/families/{smiths.pk}/trash/")
        page.wait_for_selector(f"#trashed-{photos[4].pk}")
        _settle(page)
        page.screenshot(path=artifacts / "csp-trash.png")

        # Families, members and invitations; the invitation page as its holder sees it.
        page.goto(base + "/families/")
        _settle(page)
        page.goto(base + smiths.get_absolute_url())
        page.get_by_role("button", name="Make an invitation link").click()
        _settle(page)
        invite_url = page.locator("#new-invite-link").input_value()
        page.screenshot(path=artifacts / "csp-family.png")
        page.goto(base + f"/families/{smiths.pk}/suggestions/")
        _settle(page)

        # Account.
        page.goto(base + "/accounts/password/")
        _settle(page)

        # Index, preferences (the live preview), quality, reports, duplicates.
        page.goto(base + "/indexing/")
        page.wait_for_selector("progress.progress")
        _settle(page)
        page.screenshot(path=artifacts / "csp-index.png")
        page.goto(base + "/search/preferences/")
        page.locator("input[name=preview_q]").press_sequentially("red", delay=20)
        page.wait_for_timeout(600)
        _settle(page)
        page.goto(base + "/search/quality/")
        _settle(page)
        page.goto(base + f"/search/quality/{smiths.pk}/")
        _settle(page)
        page.goto(base + "/search/report/?q=red+circle&family=" + str(smiths.pk))
        page.wait_for_selector(".term-report .histogram-row .bar rect")
        _settle(page)
        page.screenshot(path=artifacts / "csp-report.png", full_page=True)
        page.goto(base + f"/photos/{photos[0].pk}/profile/")
        page.wait_for_selector(".concepts .histogram-row")
        _settle(page)
        page.goto(base + f"/families/{smiths.pk}/duplicates/")
        _settle(page)
        page.screenshot(path=artifacts / "csp-duplicates.png")

        # The Django admin: its index, a list, a change page with the photo's preview, an add page.
        page.goto(base + "/admin/")
        _settle(page)
        page.goto(base + "/admin/gallery/photo/")
        page.wait_for_selector("img.photo-thumb")
        page.locator("#action-toggle").check()  # the admin's own script: select all
        _settle(page)
        page.goto(base + f"/admin/gallery/photo/{photos[0].pk}/change/")
        page.wait_for_selector("img.photo-preview")
        _settle(page)
        page.screenshot(path=artifacts / "csp-admin-photo.png", full_page=True)
        page.goto(base + "/admin/search/synonym/add/")
        _settle(page)
        page.goto(base + "/admin/auth/user/")
        _settle(page)

        # Pages for people without an account: sign out, then the invitation and the shared album.
        page.goto(base + "/")
        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url(re.compile(r"/accounts/login/"))
        if invite_url:
            page.goto(invite_url)
            _settle(page)
        if link:
            page.goto(link)
            _settle(page)
            page.screenshot(path=artifacts / "csp-shared.png")
        page.goto(base + "/no-such-page/")
        _settle(page)

        assert page.violations == [], page.violations
        assert page.js_errors == [], page.js_errors
        # The walk did reach every part of the site.
        visited = " ".join(page.visited)
        for part in ("/upload/", "/search/", "/albums/", "/trash/", "/families/", "/accounts/password/", "/indexing/",
                     "/search/preferences/", "/search/quality/", "/search/report/", "/profile/", "/duplicates/",
                     "/admin/gallery/photo/", "/change/", "/similar/", "/suggestions/"):
            assert part in visited, part
        assert invite_url and link
    finally:
        context.close()


@pytest.mark.django_db(transaction=True)
def test_the_check_sees_a_violation_when_there_is_one(live_server, browser):
    """The watch itself works: an inline script the page does not have is refused, and reported."""
    UserFactory(username="alice")
    context, page = _watched_page(browser, viewport={"width": 800, "height": 600})
    try:
        page.goto(live_server.url + "/accounts/login/")
        page.evaluate("""() => {
            const s = document.createElement('div');
            s.setAttribute('style', 'color: red');
            document.body.append(s);
            const el = document.createElement('script');
            el.textContent = 'window.ran = true';
            document.body.append(el);
        }""")
        page.wait_for_timeout(300)
        assert page.evaluate("() => window.ran") is None  # the inline script did not run
        assert any("script-src" in v for v in page.violations), page.violations
        assert any("style-src" in v for v in page.violations), page.violations
    finally:
        context.close()
