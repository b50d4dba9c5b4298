"""Exclusions typed in the box ("red -circle", "red without circle") reach the engine through the parser: photos
showing the excluded concept go down, by its calibrated probability, with no tag involved; explain and the API
say so."""

from __future__ import annotations

import pytest

from search.tests.test_search import shapes  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("query", ["red -circle", "red without circle", "red not circle"])
def test_red_minus_circle_puts_red_circles_below_the_other_red_shapes(shapes, alice, client_for, query):
    response = client_for(alice).get("/api/v1/search/", {"q": query, "min_score": 0, "limit": 100})
    assert response.status_code == 200
    body = response.json()
    assert body["interpreted"]["excluded"] == ["circle"] and body["interpreted"]["text"] == "red"
    ranked = [shapes[r["id"]] for r in body["results"]]
    reds = [name for name in ranked if name.startswith("red")]
    assert set(reds[:4]) == {"red square", "red triangle"}, ranked[:8]
    assert reds[4:] == ["red circle", "red circle"]
    circle = next(r for r in body["results"] if shapes[r["id"]] == "red circle")["explanation"]
    assert circle["excluded_probability"] > 0.5 and circle["exclusion_factor"] < 0.5


def test_the_explain_panel_shows_the_exclusion(shapes, alice, client_for):
    page = client_for(alice).get("/search/", {"q": "red -circle", "min_score": "0"}).content.decode()
    assert "Excluded" in page and "“circle”" in page and "that the photo shows it" in page


@pytest.mark.parametrize("query", ["-circle", "without circle -red"])
def test_a_query_of_only_exclusions_says_what_to_add(shapes, alice, client_for, query):
    """Exclusions lower photos; alone they find none, and the page says so instead of its first-visit hint."""
    page = client_for(alice).get("/search/", {"q": query}).content.decode()
    assert "only says what to leave out" in page and "Type what you remember" not in page
