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


# Each label of the report's form and the control it names: the label's box and the control's, as drawn.
LABEL_BOXES = """() => Array.from(document.querySelectorAll('.report-form label[for]')).map((label) => {
  const control = document.getElementById(label.htmlFor);
  const a = label.getBoundingClientRect(), b = control.getBoundingClientRect();
  return {label: label.textContent.trim(), gap: b.left - a.right, rowGap: Math.abs((a.top + a.bottom) / 2 - (b.top + b.bottom) / 2),
          below: b.top >= a.bottom - 1, leftAligned: Math.abs(a.left - b.left) < 2, right: Math.max(a.right, b.right)};
})"""


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [1280, 390])
def test_the_report_form_keeps_each_label_beside_or_above_its_field(live_server, browser, artifacts, toy_model, width):
    """At 1280 px the "Family" label ended the query's row, its select alone at the start of the next one (the query
    box grows to fill each row, so the row broke between the two). Each label stays with its field: beside it, or on
    a phone just above it, and nothing runs off the screen."""
    smiths, greens, alice = FamilyFactory(name="Smiths"), FamilyFactory(name="Greens"), UserFactory(username="alice")
    MembershipFactory(family=smiths, user=alice, role=Membership.Role.ADMIN)
    MembershipFactory(family=greens, user=alice)
    context, page = new_page(browser, **width_options(width))
    try:
        sign_in(page, live_server, "alice")
        page.goto(live_server.url + f"/search/report/?q=red+square&family={smiths.pk}", timeout=60_000)  # (loads the model)
        page.wait_for_selector(".report-summary")
        boxes = page.evaluate(LABEL_BOXES)
        assert [box["label"] for box in boxes] == ["Query", "Family"]
        for box in boxes:
            beside = box["rowGap"] < 4 and 0 <= box["gap"] < 24
            above = box["below"] and box["leftAligned"]
            assert beside or above, box
            assert box["right"] <= width, box
        assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
        page.screenshot(path=artifacts / f"report-form-{'mobile' if width < 500 else 'desktop'}.png")
        assert not page.js_errors, page.js_errors
    finally:
        context.close()
