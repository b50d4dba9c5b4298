"""Reading text in bulk in a real browser: the selection bar's "Read text" and the Index page's "Read the N skipped
photos" (with its confirmation), at 1280 and 390 px. Screenshots go to test-artifacts/ (ocr-bulk-*.png)."""

from __future__ import annotations

import pytest

from gallery.models import Photo
from tests.browser.conftest import CHROMIUM, HAVE_CHROMIUM, new_page, sign_in, width_options
from tests.browser.test_select_browser import _gallery, _wait_count

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not HAVE_CHROMIUM, reason=f"chromium is not installed (looked for {CHROMIUM})"),
]


def _skipped(photos) -> None:
    Photo.objects.filter(pk__in=[p.pk for p in photos]).update(status=Photo.Status.READY,
                                                                ocr_status=Photo.OcrStatus.SKIPPED)


@pytest.mark.parametrize("width", [390])
def test_the_bar_reads_the_text_of_the_ticked_photos(live_server, browser, artifacts, settings, width):
    settings.OCR_ENABLED = True
    photos, foreign, album = _gallery(count=6)
    _skipped(photos)
    context, page = new_page(browser, **width_options(width))
    sign_in(page, live_server, "grandma")
    for photo in photos[:2]:
        page.locator(f"input[data-select-box][value='{photo.pk}']").check()
    _wait_count(page, 2)
    bar = page.locator("#bulk-form")
    page.get_by_role("button", name="Read text").click()
    page.wait_for_function("() => /Text of 2 photos queued to be read/.test("
                           "document.querySelector('#bulk-status').textContent)")
    assert "of the worker’s time" in page.locator("#bulk-status").inner_text()
    assert {p.ocr_status for p in Photo.objects.filter(pk__in=[p.pk for p in photos[:2]])} == {
        Photo.OcrStatus.PENDING}
    box = bar.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width  # nothing sideways
    page.screenshot(path=artifacts / f"ocr-bulk-bar-{width}.png")
    assert page.js_errors == []
    context.close()


@pytest.mark.parametrize("width", [1280])
def test_the_index_page_reads_a_familys_skipped_photos_after_confirming(live_server, browser, artifacts, settings,
                                                                        width):
    settings.OCR_ENABLED = True
    settings.OCR_SECONDS_PER_PHOTO = 1200.0  # 6 photos: about 2 hours, so it asks first
    photos, foreign, album = _gallery(count=6)
    _skipped(photos)
    context, page = new_page(browser, **width_options(width))
    sign_in(page, live_server, "grandma")
    page.goto(live_server.url + "/indexing/")
    button = page.get_by_role("button", name="Read the 6 skipped photos")
    assert "about 2 hours of the worker’s time" in page.locator(".read-skipped").inner_text()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    page.screenshot(path=artifacts / f"ocr-bulk-index-{width}.png", full_page=True)

    button.click()
    page.wait_for_selector("#read-skipped-confirm")
    main = page.locator("main").inner_text()
    assert "about 2 hours" in main and "6 × 1200\u00a0s, what reading a photo takes on this server" in main
    assert "New uploads, of every family, are still read first" in main
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    page.screenshot(path=artifacts / f"ocr-bulk-confirm-{width}.png", full_page=True)
    page.click("#read-skipped-confirm")
    page.wait_for_url(live_server.url + "/indexing/")
    assert "Reading the text in 6 photos" in page.content()
    assert page.get_by_role("button", name="Read the 6 skipped photos").count() == 0
    page.screenshot(path=artifacts / f"ocr-bulk-index-queued-{width}.png", full_page=True)
    assert set(Photo.objects.filter(pk__in=[p.pk for p in photos]).values_list("ocr_status", flat=True)) == {
        Photo.OcrStatus.PENDING}
    assert page.js_errors == []
    context.close()
