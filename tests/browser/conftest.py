"""Browser tests: Debian's chromium driven through Playwright's sync API against pytest-django's live server.

Widths: what a page looks like is checked at a 390 px phone and at a desktop (test_mobile.py and test_a11y_browser.py
walk every page at both; a test about a page's layout is parametrized by both). A test whose subject is behaviour (a
race, a refusal, a click sent twice) runs at one of them, phone and desktop taken in turn across such tests: a second
width ran the same flow again for a few seconds each, about 100 s of the suite in all."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; Django refuses ORM calls from a thread with a
# running loop unless told that is fine (it is: the loop belongs to Playwright, not to async Django code).
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

# CHROMIUM_PATH: a chromium installed elsewhere (scripts/setup.sh then installs none).
CHROMIUM = os.environ.get("CHROMIUM_PATH", "").strip() or shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
HAVE_CHROMIUM = os.path.exists(CHROMIUM)


@pytest.fixture(scope="module")
def browser():
    # Module scope: Playwright's loop must not outlive the browser tests and leak into the rest of the suite.
    if not HAVE_CHROMIUM:
        pytest.skip(f"chromium is not installed (looked for {CHROMIUM})")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        )
        yield browser
        browser.close()


def new_page(browser, **options):
    """A page in a browser context of its own (`options`: viewport, is_mobile, …) whose uncaught JavaScript
    errors collect in `page.js_errors`. Returns (context, page); close the context when done."""
    context = browser.new_context(**options)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.js_errors = []
    page.on("pageerror", lambda exc: page.js_errors.append(str(exc)))
    return context, page


def width_options(width: int) -> dict:
    """new_page's options for a page `width` px wide: a phone's (touch, 2× pixels) below 500, else a desktop's."""
    if width < 500:
        return {"viewport": {"width": width, "height": 844}, "is_mobile": True, "has_touch": True,
                "device_scale_factor": 2}
    return {"viewport": {"width": width, "height": 800}}


@pytest.fixture
def page(browser):
    context, page = new_page(browser, viewport={"width": 1200, "height": 800})
    yield page
    context.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS



def sign_in(page, live_server, username: str, password: str = "correct horse battery") -> None:
    """Sign in through the sign-in page, as a person would, and land on the timeline."""
    page.goto(live_server.url + "/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(live_server.url + "/")


def photo_edit_open(page) -> None:
    """Open a photo page's in-place edit form, as a person would: click Edit, then wait until the title field has
    the focus. htmx focuses the form's autofocus field when the swap settles (about 20 ms later); text typed into
    another field before that lands in the title, so a test that types at once must wait as a person does."""
    page.get_by_role("link", name="Edit title, tags and description").click()
    page.wait_for_function("() => document.activeElement && document.activeElement.matches('#photo-meta input[name=title]')")
