"""The search quality page in a real browser, at desktop width and on a phone: its figures and both plots render
(inline SVG, no JavaScript needed) and nothing runs off the screen. Screenshots: test-artifacts/quality-*.png."""

from __future__ import annotations

import pytest

from search.quality import calibration_fit
from search.tests.conftest import add_shape, toy_model  # noqa: F401 - fixtures
from search.tests.test_model_switch import switched, worse_model  # noqa: F401 - fixtures
from search.tests.test_quality import judged_family, shifted_model  # noqa: F401 - fixtures
from tests.browser.conftest import CHROMIUM, HAVE_CHROMIUM, new_page, sign_in, width_options
from tests.browser.test_a11y_browser import _audit

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not HAVE_CHROMIUM, reason=f"chromium is not installed (looked for {CHROMIUM})"),
]

# Each plot text's size as drawn: its font size in the SVG's units times the SVG's scale; and its left edge from the
# SVG's own left edge, in those units.
RENDERED_TEXT = """() => Array.from(document.querySelectorAll('svg.plot')).flatMap((svg) => {
  const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
  return Array.from(svg.querySelectorAll('text')).map((t) => ({
    text: t.textContent, px: parseFloat(getComputedStyle(t).fontSize) * scale,
    left: t.getBoundingClientRect().left - svg.getBoundingClientRect().left }));
})"""


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [1280, 390])
def test_the_quality_page_renders_its_plots(live_server, browser, artifacts, judged_family, family, alice, width):
    fitted = calibration_fit(family_id=family.pk)
    assert fitted.applied
    phone = width < 500
    context, page = new_page(browser, **width_options(width))
    try:
        sign_in(page, live_server, "alice")
        page.goto(live_server.url + "/search/quality/")  # the user's (first) family
        assert page.url.endswith(f"/search/quality/{family.pk}/")
        assert page.locator(".count-queries").inner_text() == "19"
        plots = page.locator("svg.plot")
        assert plots.count() == 2
        for n in range(2):
            box = plots.nth(n).bounding_box()
            assert box and box["width"] > 200 and box["height"] > 150, box
            assert box["x"] >= 0 and box["x"] + box["width"] <= width + 1
        # Both series of the reliability diagram, and a dot per judged result in the strips.
        assert page.locator("#reliability .plot-point.series-before").count() > 1
        assert page.locator("#reliability .plot-point.series-after").count() > 1
        assert page.locator("#per-query .plot-right").count() + page.locator("#per-query .plot-wrong").count() \
            == fitted.judgments
        assert page.get_by_role("button", name="Apply suggested weights for me").is_visible()
        overflow = page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= width, overflow
        # Every word in the plots is readable on a phone (11 px or more as drawn, after the SVG's scaling), and
        # none grows to a headline on a desktop; nothing is cut off at the plot's left edge.
        sizes = page.evaluate(RENDERED_TEXT)
        assert sizes and min(s["px"] for s in sizes) >= 11, sorted(sizes, key=lambda s: s["px"])[:3]
        assert max(s["px"] for s in sizes) <= 17, sorted(sizes, key=lambda s: -s["px"])[:3]
        assert min(s["left"] for s in sizes) >= -0.5, sorted(sizes, key=lambda s: s["left"])[:3]
        page.screenshot(path=artifacts / f"quality-{'mobile' if phone else 'desktop'}.png", full_page=True)
        page.get_by_role("button", name="Apply suggested weights for me").click()
        assert "Your searches now weigh the image match" in page.locator("body").inner_text()
        assert page.js_errors == []
    finally:
        context.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [390])
def test_the_quality_page_says_which_queries_are_still_being_prepared(live_server, browser, artifacts, judged_family,
                                                                     family, alice, width, settings):
    from search import text_embeddings
    from search.models import TextEmbedding

    TextEmbedding.objects.all().delete()  # as after a model switch: no judged query's words encoded yet
    text_embeddings.clear_process_cache()
    settings.SEARCH_PAGE_ENCODE_TERMS = 3
    options = {"viewport": {"width": width, "height": 844 if width < 500 else 800}}
    context, page = new_page(browser, **options)
    try:
        sign_in(page, live_server, "alice")
        page.goto(live_server.url + f"/search/quality/{family.pk}/")
        notice = page.locator(".notice.waiting")
        assert notice.is_visible() and "being prepared" in notice.inner_text()
        waiting = int(page.locator(".count-waiting").inner_text())
        assert 0 < waiting < 19 and int(page.locator(".count-queries").inner_text()) == 19 - waiting
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.screenshot(path=artifacts / f"quality-waiting-{width}.png", full_page=True)
        assert page.js_errors == []
    finally:
        context.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [1280, 390])
def test_the_now_row_of_the_figures_reads_on_a_phone(live_server, browser, artifacts, judged_family, family, alice,
                                                      width):
    """With a fit in force, the figures' "Now" row carried its whole note in its heading cell ("your weights …; not
    held out: scored by the fit in force, made from the family's judgments as they were then"): at 390 px, squeezed
    beside four columns of figures, it ran to about 8 lines. The row's heading is its name, the note (weights
    included) is said under the table, and every column of figures stays on the screen."""
    assert calibration_fit(family_id=family.pk).applied
    context, page = new_page(browser, **width_options(width))
    try:
        sign_in(page, live_server, "alice")
        page.goto(live_server.url + f"/search/quality/{family.pk}/")
        page.locator("#quality-figures").screenshot(path=artifacts / f"quality-now-row-{width}.png")
        heading = page.locator(".row-current th")
        # Its lines: the distinct baselines of its text (a line's small and normal text differ by a few px).
        tops = sorted(heading.evaluate("(th) => { const r = document.createRange(); r.selectNodeContents(th); "
                                       "return Array.from(r.getClientRects()).map((c) => c.bottom); }"))
        lines = [b for n, b in enumerate(tops) if n == 0 or b - tops[n - 1] > 6]
        assert len(lines) <= 2, (len(lines), heading.inner_text())
        assert "not held out: scored by the fit in force" in page.locator("#quality-figures").inner_text()
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        # Every column of figures on the screen: the table does not scroll sideways inside its box.
        assert page.locator("#quality-figures .table-scroll").evaluate("(box) => box.scrollWidth <= box.clientWidth")
        assert page.js_errors == []
    finally:
        context.close()


@pytest.mark.django_db(transaction=True)
def test_fit_now_looks_unavailable_until_there_are_enough_judgments(live_server, browser, family, alice):
    context, page = new_page(browser, viewport={"width": 390, "height": 844})
    try:
        sign_in(page, live_server, "alice")
        page.goto(live_server.url + f"/search/quality/{family.pk}/")
        fit = page.get_by_role("button", name="Fit now")
        assert fit.is_disabled()
        style = fit.evaluate("(b) => { const s = getComputedStyle(b); return [s.opacity, s.cursor]; }")
        assert float(style[0]) < 1 and style[1] == "not-allowed", style  # not a button that silently does nothing
    finally:
        context.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [1280, 390])
def test_the_model_comparison_shows_every_figure_on_a_phone(live_server, browser, artifacts, switched, family, alice,
                                                            width):
    """At 390 px the table's model column (a model path and its calibration) squeezed to a few letters a line
    ("Activ/e", "calibrati/on"), its ECE column lay off the screen to the right, and the confirm button ran out of
    its card. Every heading and figure is on the screen now, and the button inside its card."""
    from tests.queue import run_queued_tasks

    context, page = new_page(browser, **width_options(width))
    try:
        sign_in(page, live_server, "alice")
        page.goto(live_server.url + f"/indexing/compare/{family.pk}/")
        run_queued_tasks()  # the judged queries' words the page left to the worker
        page.reload()
        assert "9 judged queries, 81 judgments" in page.locator("main").inner_text()
        cells = page.locator(".model-comparison th, .model-comparison td")
        assert cells.count() >= 12
        for n in range(cells.count()):
            box = cells.nth(n).bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= width + 1, (cells.nth(n).inner_text(), box)
        assert page.get_by_role("columnheader", name="ECE").is_visible()
        assert page.get_by_text("Active", exact=True).bounding_box()["height"] < 30  # one line, not "Activ/e"
        card = page.locator("section.model-comparison").bounding_box()
        button = page.get_by_role("button", name="Confirm the switch").bounding_box()
        assert button["x"] >= card["x"] and button["x"] + button["width"] <= card["x"] + card["width"] + 0.5, \
            (button, card)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        assert _audit(page, f"model-comparison-{width}") == []  # the table's groups of rows and their headers
        page.screenshot(path=artifacts / f"model-comparison-{width}.png", full_page=True)
        assert page.js_errors == []
    finally:
        context.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [1280])
def test_search_quality_from_a_search_opens_the_family_it_is_filtered_to(live_server, browser, artifacts,
                                                                         judged_family, family, alice, width):
    """The family filter changed on the search page (the results redrawn, not the filters): "Search quality" opens
    that family's page, not the family with the most judgments (static/js/site.js: data-href-with)."""
    from gallery.models import Membership
    from tests.factories import FamilyFactory

    quiet = FamilyFactory(name="Aardvarks")
    Membership.objects.create(family=quiet, user=alice, role=Membership.Role.ADMIN)
    context, page = new_page(browser, **width_options(width))
    try:
        sign_in(page, live_server, "alice")
        page.goto(live_server.url + "/search/?q=red+shape")
        if width < 500:
            page.locator("details.filters-fold > summary").click()
        with page.expect_response(lambda r: "/search/" in r.url and "family=" in r.url):
            page.select_option("#search-form select[name=family]", str(quiet.pk))
        page.screenshot(path=artifacts / f"search-quality-link-{width}.png", full_page=True)
        page.get_by_role("link", name="Search quality").click()
        page.wait_for_url(f"**/search/quality/{quiet.pk}/")
        page.go_back()
        page.wait_for_load_state()
        page.locator("#search-form select[name=family]").select_option("")
        page.get_by_role("link", name="Search quality").click()
        page.wait_for_url(f"**/search/quality/{family.pk}/")  # (all families: the one with the judgments)
        assert page.js_errors == []
    finally:
        context.close()
