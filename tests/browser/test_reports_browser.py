"""The search report and the photo profile in a real browser, at desktop width and on a phone: histograms drawn,
nothing wider than the screen, no JavaScript errors. Screenshots: test-artifacts/report-*.png."""

from __future__ import annotations

import pytest

from gallery.models import Membership, Photo
from gallery.services import UploadResult, photo_create_from_bytes
from search.judgment_services import judgment_record
from search.models import TagConcept
from search.tests.conftest import shape_png, toy_model  # noqa: F401 - toy_model is a fixture
from tests.browser.conftest import CHROMIUM, HAVE_CHROMIUM, new_page, sign_in, width_options
from tests.factories import FamilyFactory, MembershipFactory, UserFactory
from tests.queue import run_queued_tasks

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not HAVE_CHROMIUM, reason=f"chromium is not installed (looked for {CHROMIUM})"),
]


@pytest.mark.django_db(transaction=True)
# 320: a small phone, or a larger one zoomed (the width pages must reflow to): each result's figures (cosine,
# probability, calibration) were squeezed into a column two digits wide beside their names, "0.76" over "38".
@pytest.mark.parametrize("width", [1280, 390, 320])
def test_report_pages_render_their_histograms(live_server, browser, artifacts, toy_model, width):
    smiths, alice = FamilyFactory(name="Smiths"), UserFactory(username="alice")
    MembershipFactory(family=smiths, user=alice, role=Membership.Role.ADMIN)
    for name in ("red", "blue", "green", "square", "circle"):
        TagConcept.objects.get_or_create(family=None, name=name)
    photos = []
    for seed, (colour, shape) in enumerate([("red", "square"), ("red", "circle"), ("blue", "square"),
                                            ("green", "triangle"), ("yellow", "circle"), ("purple", "square")]):
        result = photo_create_from_bytes(family=smiths, uploaded_by=alice, data=shape_png(colour, shape, seed=seed),
                                         filename=f"IMG_{seed:04d}.png")
        assert result.outcome == UploadResult.SAVED, result.reason
        photos.append(result.photo)
    run_queued_tasks()
    assert not Photo.objects.exclude(status=Photo.Status.READY).exists()
    judgment_record(user=alice, photo=photos[0], query="red square", relevant=True)
    judgment_record(user=alice, photo=photos[0], query="blue square", relevant=False)

    phone = width < 500
    context, page = new_page(browser, **width_options(width))
    name = "mobile" if phone else "desktop"
    try:
        sign_in(page, live_server, "alice")
        page.goto(live_server.url + "/search/report/")
        page.fill("#id_q", "red square")
        page.get_by_role("button", name="Report").click()
        page.wait_for_selector(".term-report")
        bars = page.locator(".term-report .histogram-row .bar rect")
        assert bars.count() >= 12
        widths = bars.evaluate_all("(els) => els.map((el) => el.getBoundingClientRect().width)")
        assert max(widths) > 40, widths  # the tallest bin is drawn, not just listed
        assert page.locator(".report-result").count() >= 2
        assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
        name = "narrow" if width < 360 else name
        page.screenshot(path=artifacts / f"report-search-{name}.png", full_page=True)
        broken = page.evaluate("""() => Array.from(document.querySelectorAll('.report-result .components dd'))
            .filter((dd) => /^-?[0-9.]+$/.test(dd.textContent.trim()))
            .filter((dd) => { const range = document.createRange(); range.selectNodeContents(dd);
                return new Set(Array.from(range.getClientRects()).map((r) => Math.round(r.top))).size > 1; })
            .map((dd) => dd.textContent.trim())""")
        assert broken == [], f"figures broken over lines: {broken}"

        page.locator(".report-result h3 a").first.click()
        page.wait_for_selector(".photo-report")
        first = page.locator(".concepts .histogram-row .range").first.inner_text()
        assert first in ("red", "square"), first
        assert "red square" in page.locator(".judged-queries").inner_text()
        assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
        page.screenshot(path=artifacts / f"report-photo-{name}.png", full_page=True)
        assert not page.js_errors, page.js_errors
    finally:
        context.close()
