"""Right / wrong on the search page, undo, and refine by URL (issue 10, points 2 and 7)."""

from __future__ import annotations

import json

import pytest

from gallery.models import Photo
from search.models import Judgment
from tests.queue import run_queued_tasks

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


@pytest.fixture
def shapes(toy_model, add_shape, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        photos = {name: add_shape(*name.split()) for name in ("red square", "red circle", "blue circle")}
    run_queued_tasks()
    assert not Photo.objects.exclude(status=Photo.Status.READY).exists()
    return photos


def judge(client, photo, verdict, q="red shape", search="q=red+shape", htmx=True):
    return client.post("/search/judge/", {"photo": photo.pk, "q": q, "verdict": verdict, "search": search},
                       headers=HTMX if htmx else {})


def test_every_result_has_right_and_wrong_buttons_showing_the_verdict(client_for, alice, shapes):
    client = client_for(alice)
    judge(client, shapes["red square"], "right")
    page = client.get("/search/", {"q": "red shape", "min_score": 0}).content.decode()
    assert page.count('<form class="judge') == page.count('class="tile"') >= 2
    assert f'id="judge-{shapes["red square"].pk}"' in page and "judged-right" in page
    assert page.count('aria-pressed="true"') == 1


def test_one_click_marks_and_swaps_the_buttons_and_the_refine_bar(client_for, alice, shapes, family):
    client = client_for(alice)
    response = judge(client, shapes["red square"], "right")
    html = response.content.decode()
    assert response.status_code == 200 and "judged-right" in html and 'value="undo"' in html
    assert 'id="refine" class="refine" hx-swap-oob="true"' in html
    assert f"like={shapes['red square'].pk}" in html and "More like these" in html
    judgment = Judgment.objects.get()
    assert judgment.relevant and judgment.query == "red shape" and judgment.family == family
    assert judgment.components["probability"] is not None

    html = judge(client, shapes["blue circle"], "wrong").content.decode()
    assert "judged-wrong" in html and "fewer like those" in html and f"unlike={shapes['blue circle'].pk}" in html


def test_clicking_the_pressed_verdict_again_or_undo_takes_it_back(client_for, alice, shapes):
    client = client_for(alice)
    judge(client, shapes["red square"], "right")
    html = judge(client, shapes["red square"], "undo").content.decode()
    assert not Judgment.objects.exists()
    assert 'aria-pressed="true"' not in html and "More like these" not in html


def test_without_javascript_the_search_page_comes_back(client_for, alice, shapes):
    client = client_for(alice)
    response = judge(client, shapes["red square"], "wrong", htmx=False)
    assert response.status_code == 302 and response["Location"].startswith("/search/?q=red+shape")
    assert Judgment.objects.get().relevant is False


def test_foreign_photos_and_bad_posts(client_for, alice, mallory, other_family, add_shape, toy_model):
    client = client_for(alice)
    foreign = add_shape("red", "square", target_family=other_family, user=mallory)
    assert judge(client, foreign, "right").status_code == 404
    bad = client.post("/search/judge/", {"photo": "x", "q": "red", "verdict": "maybe"}, headers=HTMX)
    assert bad.status_code == 400 and "could not be read" in bad.content.decode()
    assert client.get("/search/judge/").status_code == 405
    assert not Judgment.objects.exists()


def test_a_verdict_posted_without_the_search_it_came_from_is_recorded_not_a_server_error(client_for, alice, shapes):
    """The judge form's `search` (the page's query string) is optional, and a client that posts none (a script, a
    verdict form kept from before htmx drew its search) got a 500: the refine bar read the search of an empty query
    string through a form that was never bound (QA). The verdict is recorded and the buttons come back, with the bar
    of a search of nothing refined."""
    response = judge(client_for(alice), shapes["red square"], "right", search="")
    assert response.status_code == 200 and "judged-right" in response.content.decode()
    assert Judgment.objects.get().relevant is True


@pytest.mark.parametrize("htmx", [True, False])
def test_a_verdict_on_a_query_that_only_leaves_out_is_refused_not_a_server_error(client_for, alice, shapes, htmx):
    """The API refuses a judgment of "-red" with a 400 saying why; the page's judge view let the same refusal out
    as a 500 (a form left open from before the query changed, a crafted post: QA). It answers 400 with the reason,
    which the page shows in its problem bar, and records nothing."""
    response = judge(client_for(alice), shapes["red square"], "right", q="-red", search="q=-red", htmx=htmx)
    assert response.status_code == 400 and "only says what to leave out" in response.content.decode()
    assert response["Content-Type"].startswith("text/plain")  # what the problem bar shows as it is (site.js)
    assert not Judgment.objects.exists()


def test_refine_url_is_shareable_and_ignores_foreign_ids(client_for, alice, mallory, other_family, add_shape, shapes):
    foreign = add_shape("red", "square", target_family=other_family, user=mallory)
    client = client_for(alice)
    url = f"/search/?q=red+shape&like={shapes['red square'].pk},{foreign.pk},junk&unlike={shapes['blue circle'].pk}"
    page = client.get(url).content.decode()
    # Said by what moved the search (alice marked none of these herself: a shared link), foreign ids not counted.
    assert "Refined: more like 1 photo, fewer like 1 photo." in page and "Show the search without refining" in page
    assert "your marks" not in page
    first = page.index('class="result')
    assert f'data-photo="{shapes["red square"].pk}"' in page[first:first + 200]
    assert f'data-photo="{foreign.pk}"' not in page
    # Photos open in the viewer on the same refined results.
    assert f"like={shapes['red square'].pk}" in page.split('class="tile" href="', 1)[1].split('"', 1)[0]


def test_a_refine_link_naming_many_photos_refines_by_those_it_may_and_says_so_after_a_verdict_too(client_for, alice,
                                                                                                 shapes):
    """A refine link whose like list ran past 2,000 characters (a hand-made one, or one naming hundreds of photos: ids
    of another family's, deleted ones) lost the whole list without a word: the search was not refined by the photos
    it named first, and the bar a verdict then swapped in said "Refined: more like 1 photo" of a search that was
    not. Like the API's refine, the first 50 ids of each side count, and the page and the bar say which refined it."""
    right, wrong = shapes["red square"].pk, shapes["blue circle"].pk
    padding = ",".join(str(10**9 + i) for i in range(300))  # 3,300 characters of ids nobody may see
    search = f"q=red+shape&like={right},{padding}&unlike={wrong}"
    page = client_for(alice).get(f"/search/?{search}&min_score=0").content.decode()
    assert "Refined: more like 1 photo, fewer like 1 photo." in page
    bar = client_for(alice).post("/search/judge/", {"photo": right, "q": "red shape", "verdict": "right",
                                                    "search": search}, headers=HTMX).content.decode()
    assert "Refined: more like 1 photo, fewer like 1 photo." in bar


def test_the_quality_link_opens_the_family_that_has_judgments_not_the_first_by_name(client_for, alice, shapes,
                                                                                    family):
    """Search preferences' "Search quality" link opened the user's first family by name: one just made, with no
    photos, read "0 judged queries" while the Smiths had them (QA). It opens the family with the most judgments."""
    from django.urls import reverse

    from gallery.models import Membership
    from search.judgment_services import judgment_record
    from tests.factories import FamilyFactory

    empty = FamilyFactory(name="Aardvarks")  # first by name
    Membership.objects.create(family=empty, user=alice, role=Membership.Role.ADMIN)
    client = client_for(alice)
    assert client.get(reverse("search:quality_index"))["Location"] == reverse("search:quality", args=[empty.pk])
    judgment_record(user=alice, photo=shapes["red circle"], query="red shape", relevant=True)
    assert client.get(reverse("search:quality_index"))["Location"] == reverse("search:quality", args=[family.pk])


def test_the_quality_link_counts_only_the_judgments_of_the_family_s_members_now(
        client_for, alice, bob, shapes, family, add_shape, django_capture_on_commit_callbacks):
    """It counted every judgment a family ever had: one whose judging member left (their judgments are out of its
    fits and figures, family_judgments) still won over the family whose members judge, and the link opened a page of
    none."""
    from django.urls import reverse

    from gallery.models import Membership
    from search.judgment_services import judgment_record
    from tests.factories import FamilyFactory

    left = FamilyFactory(name="Aardvarks")
    Membership.objects.create(family=left, user=alice, role=Membership.Role.ADMIN)
    Membership.objects.create(family=left, user=bob, role=Membership.Role.MEMBER)
    with django_capture_on_commit_callbacks(execute=True):
        theirs = [add_shape(colour, "circle", target_family=left, user=bob) for colour in ("red", "blue")]
    for photo in theirs:
        judgment_record(user=bob, photo=photo, query="red shape", relevant=True)
    judgment_record(user=alice, photo=shapes["red circle"], query="red shape", relevant=True)
    client = client_for(alice)
    assert client.get(reverse("search:quality_index"))["Location"] == reverse("search:quality", args=[left.pk])
    Membership.objects.filter(family=left, user=bob).delete()
    assert client.get(reverse("search:quality_index"))["Location"] == reverse("search:quality", args=[family.pk])


def test_a_refine_link_whose_photos_are_all_foreign_does_not_say_it_refined(client_for, alice, mallory, shapes,
                                                                              other_family, add_shape,
                                                                              django_capture_on_commit_callbacks):
    """Alice's shared refine link opened by someone of another family: their search is not refined (the ids are
    ignored), and the page said "Refined by your marks" all the same, with a link to undo a refine that never
    happened (QA)."""
    with django_capture_on_commit_callbacks(execute=True):
        add_shape("red", "circle", target_family=other_family, user=mallory)
    run_queued_tasks()
    url = f"/search/?q=red+shape&like={shapes['red square'].pk}&unlike={shapes['blue circle'].pk}"
    page = client_for(mallory).get(url).content.decode()
    assert "1 photo for" in page or "1 photos for" in page or 'class="tile"' in page
    assert "Refined" not in page and "Show the search without refining" not in page
    # Nor the refine bar a verdict swaps in.
    theirs = client_for(mallory).post("/search/judge/", {"photo": shapes["red square"].pk, "q": "red shape",
                                                         "verdict": "right", "search": url.split("?", 1)[1]},
                                      headers=HTMX)
    assert theirs.status_code == 404


def test_a_mark_on_a_photo_now_in_the_trash_is_no_refine(client_for, alice, shapes):
    """The refine bar counted marks on photos since moved to the trash ("You marked 1 right") and its link refined by
    them; the photo is gone from search, so its mark waits (as the quality page lets it wait) until it is restored."""
    from gallery.trash_services import photos_trash

    client = client_for(alice)
    judge(client, shapes["red square"], "right")
    judge(client, shapes["blue circle"], "wrong")
    photos_trash(user=alice, photo_ids=[shapes["red square"].pk])
    page = client.get("/search/", {"q": "red shape", "min_score": 0}).content.decode()
    assert "You marked 0 right and 1 wrong" in page
    assert f"like={shapes['red square'].pk}" not in page and "More like these" not in page
    assert f"unlike={shapes['blue circle'].pk}" in page


def test_the_search_page_leads_to_search_quality(client_for, alice, shapes):
    """The README sends people to "Search → Quality", but the search page had no way there: only a link in the
    text of the preferences page led to it. It sits beside "Search preferences" now."""
    from django.urls import reverse

    page = client_for(alice).get("/search/", {"q": "red shape"}).content.decode()
    assert f'href="{reverse("search:quality_index")}">Search quality</a>' in page
    assert f'href="{reverse("search:preferences")}">Search preferences</a>' in page


def test_the_search_pages_quality_link_opens_the_family_the_search_is_filtered_to(client_for, alice, mallory, shapes,
                                                                                  family, other_family):
    """"Search quality" on a search filtered to one family opened the family with the most judgments, another one's
    page (QA). The link carries the family filter (the page's script keeps it in step with the filter's select), and
    the index opens that family's page; a family not the user's is the quality page's own 404."""
    from django.urls import reverse

    from gallery.models import Membership
    from search.judgment_services import judgment_record
    from tests.factories import FamilyFactory

    quiet = FamilyFactory(name="Aardvarks")
    Membership.objects.create(family=quiet, user=alice, role=Membership.Role.ADMIN)
    judgment_record(user=alice, photo=shapes["red circle"], query="red shape", relevant=True)
    client = client_for(alice)
    index = reverse("search:quality_index")
    page = client.get("/search/", {"q": "red shape", "family": quiet.pk}).content.decode()
    assert f'href="{index}?family={quiet.pk}"' in page
    assert client.get(index, {"family": quiet.pk})["Location"] == reverse("search:quality", args=[quiet.pk])
    assert client.get(index)["Location"] == reverse("search:quality", args=[family.pk])  # (unfiltered: as before)
    assert client.get(index, {"family": "x"})["Location"] == reverse("search:quality", args=[family.pk])
    assert client.get(client.get(index, {"family": other_family.pk})["Location"]).status_code == 404
    page = client.get("/search/", {"q": "red shape"}).content.decode()
    assert f'href="{index}"' in page


def test_the_refine_button_starts_with_a_capital_when_only_wrong_marks_are_given(client_for, alice, shapes):
    """With only "wrong" marks the button read "fewer like those", the tail of "More like these, fewer like those"."""
    client = client_for(alice)
    judge(client, shapes["blue circle"], "wrong")
    page = client.get("/search/", {"q": "red shape"}).content.decode()
    assert 'hx-push-url="true">Fewer like those</a>' in page
    judge(client, shapes["red square"], "right")
    page = client.get("/search/", {"q": "red shape"}).content.decode()
    assert 'hx-push-url="true">More like these, fewer like those</a>' in page


def test_the_explanation_of_a_refined_result_says_its_term_was_moved(client_for, alice, shapes):
    """On refined results the explain panel showed the cosine with the moved query vector as the cosine of the
    term as typed ("Best term “red shape”", 0.81 where the report of the same words said 0.68), with no word of
    the refine. It says the term was moved."""
    client = client_for(alice)
    refined = client.get("/search/", {"q": "red shape", "like": shapes["red square"].pk, "min_score": 0}).content.decode()
    assert "moved by the refine" in refined
    assert "moved by the refine" not in client.get("/search/", {"q": "red shape", "min_score": 0}).content.decode()


def test_a_refine_link_says_how_many_of_its_photos_it_left_out(client_for, alice, mallory, other_family, add_shape,
                                                               shapes, django_capture_on_commit_callbacks):
    """A refine link naming photos the user may not see (another family's, one in the trash, one deleted) refined
    by the others and left those out without a word: the bar counted only the photos that refined it. The page, the
    bar a verdict swaps in and the API say how many were left out, naming none of them."""
    from gallery.trash_services import photos_trash

    with django_capture_on_commit_callbacks(execute=True):
        foreign = add_shape("red", "circle", target_family=other_family, user=mallory)
    run_queued_tasks()
    photos_trash(user=alice, photo_ids=[shapes["red circle"].pk])
    right, wrong = shapes["red square"].pk, shapes["blue circle"].pk
    search = f"q=red+shape&like={right},{foreign.pk},{10**9},{right}&unlike={wrong},{shapes['red circle'].pk}"
    said = "3 photos in the link are not yours to see, in the trash or deleted: left out."
    page = client_for(alice).get(f"/search/?{search}&min_score=0").content.decode()
    assert "Refined: more like 1 photo, fewer like 1 photo." in page and said in page
    assert str(other_family) not in page
    bar = client_for(alice).post("/search/judge/", {"photo": right, "q": "red shape", "verdict": "right",
                                                    "search": search}, headers=HTMX).content.decode()
    assert "Refined: more like 1 photo, fewer like 1 photo." in bar and said in bar
    api = client_for(alice).get(f"/api/v1/search/?{search}").json()
    assert api["like"] == [right] and api["unlike"] == [wrong] and api["left_out"] == 3
    # Nothing left out: nothing said. One photo: said in the singular.
    assert "left out" not in client_for(alice).get(f"/search/?q=red+shape&like={right}").content.decode()
    assert client_for(alice).get(f"/api/v1/search/?q=red+shape&like={right}").json()["left_out"] == 0
    theirs = client_for(mallory).get(f"/search/?q=red+shape&like={right}").content.decode()
    assert "1 photo in the link is not yours to see, in the trash or deleted: left out." in theirs
    assert "Refined" not in theirs


def refine_bar(html: str) -> str:
    """The refine bar of a page or of what a verdict swaps in."""
    start = html.index('<div id="refine"')
    return html[start:html.index("</div>", start)]


def test_a_refine_counts_only_the_photos_the_search_has_indexed_and_says_why_one_is_left_out(
        client_for, alice, shapes, add_shape, django_capture_on_commit_callbacks):
    """A photo not indexed yet (just uploaded, or the worker behind: no embedding of the family's search model) moves
    no query, yet the bar a verdict swapped in counted it: "Refined: more like 2 photos" of a search refined by 1,
    and with every mark in the link the page said "(all your marks)" of a refine that left one out without a word
    (as did the API's `like`). The page, the bar after a verdict and the API count the photos that refined the
    search and say that one is left out until it is indexed."""
    from search.models import PhotoEmbedding

    with django_capture_on_commit_callbacks() as queued:
        new = add_shape("red", "square")  # its embedding is not queued yet: the worker is behind
    assert not PhotoEmbedding.objects.filter(photo=new).exists()
    right = shapes["red square"].pk
    client = client_for(alice)
    judge(client, shapes["red square"], "right")
    judge(client, new, "right")
    search = f"q=red+shape&like={new.pk},{right}"  # the link "More like these" gives (the newest mark first)
    said = "1 photo in the link is not indexed yet: left out until it is."
    page = client.get(f"/search/?{search}&min_score=0").content.decode()
    assert "More like these" not in refine_bar(page)  # (the link is the marks': nothing more to offer)
    assert "Refined: more like 1 photo." in page and said in page and "all your marks" not in page
    bar = judge(client, shapes["blue circle"], "wrong", search=search).content.decode()
    assert "Refined: more like 1 photo." in bar and said in bar
    api = client.get(f"/api/v1/search/?{search}").json()
    assert api["like"] == [right] and api["left_out_not_indexed"] == [new.pk]
    assert api["left_out"] == 0 and api["left_out_other_family"] == []
    # Once indexed, it refines, and nothing is said.
    for callback in queued:
        callback()
    run_queued_tasks()
    page = client.get(f"/search/?{search}&min_score=0").content.decode()
    assert "Refined: more like 2 photos." in page and "left out" not in page
    assert client.get(f"/api/v1/search/?{search}").json()["left_out_not_indexed"] == []


def test_a_refine_link_naming_a_photo_of_another_of_your_families_says_the_family_filter_left_it_out(
        client_for, alice, family, shapes, add_shape, django_capture_on_commit_callbacks):
    """Alice belongs to two families: a photo of the Greens she marked right (or a link naming it) refined nothing
    once she filtered the search to the Smiths, without a word. The page, the bar after a verdict and the API say it
    was left out, and why, in words she knows (the families are hers)."""
    from gallery.models import Membership
    from tests.factories import FamilyFactory

    greens = FamilyFactory(name="Greens")
    Membership.objects.create(family=greens, user=alice, role=Membership.Role.MEMBER)
    with django_capture_on_commit_callbacks(execute=True):
        theirs = add_shape("red", "square", target_family=greens)
    run_queued_tasks()
    right = shapes["red square"].pk
    client = client_for(alice)
    search = f"q=red+shape&family={family.pk}&like={theirs.pk},{right}"
    said = "1 photo in the link is in Greens, and this search looks only in Smiths: left out."
    page = client.get(f"/search/?{search}&min_score=0").content.decode()
    assert "Refined: more like 1 photo." in page and said in page
    bar = judge(client, shapes["blue circle"], "wrong", search=search).content.decode()
    assert "Refined: more like 1 photo." in bar and said in bar
    api = client.get(f"/api/v1/search/?{search}").json()
    assert api["like"] == [right] and api["left_out_other_family"] == [theirs.pk]
    assert api["left_out"] == 0 and api["left_out_not_indexed"] == []
    # Searching all her families, it refines.
    page = client.get(f"/search/?q=red+shape&like={theirs.pk},{right}&min_score=0").content.decode()
    assert "Refined: more like 2 photos." in page and "left out" not in page


def test_the_refine_bar_isolates_the_family_names_it_quotes(
        client_for, alice, family, shapes, add_shape, django_capture_on_commit_callbacks):
    """The bar's "… is in Greens, and this search looks only in Smiths" quoted the families' names as they are: a
    right-to-left name (a Hebrew family's) laid out the words after it backwards, as the page's other people's text
    no longer does (gallery.text.text_isolated). Each name is isolated."""
    from gallery.models import Membership
    from gallery.text import text_isolated
    from tests.factories import FamilyFactory

    hebrew = FamilyFactory(name="\u05de\u05e9\u05e4\u05d7\u05d4")
    Membership.objects.create(family=hebrew, user=alice, role=Membership.Role.MEMBER)
    with django_capture_on_commit_callbacks(execute=True):
        theirs = add_shape("red", "square", target_family=hebrew)
    run_queued_tasks()
    search = f"q=red+shape&family={family.pk}&like={theirs.pk},{shapes['red square'].pk}"
    page = client_for(alice).get(f"/search/?{search}&min_score=0").content.decode()
    assert f"1 photo in the link is in {text_isolated(hebrew.name)}, and this search looks only in Smiths" in page


def test_another_family_s_photo_in_a_refine_link_reads_exactly_as_a_missing_one(
        client_for, alice, family, mallory, other_family, shapes, add_shape, django_capture_on_commit_callbacks):
    """Isolation: a photo of a family Alice is not in, indexed or not, or whose indexing failed, with the family filter
    on or off, is told apart from an id no photo has by nothing: the page's refine bar, the bar after a verdict and
    the API answer the same, and never say it is in another family, waiting to be indexed or failed."""
    with django_capture_on_commit_callbacks(execute=True):
        indexed = add_shape("red", "square", target_family=other_family, user=mallory)
    run_queued_tasks()
    failed = _failed_photo(add_shape, django_capture_on_commit_callbacks, target_family=other_family, user=mallory)
    waiting = add_shape("red", "square", target_family=other_family, user=mallory)  # not indexed
    missing = 10**12
    right = shapes["red square"].pk
    client = client_for(alice)
    for extra in ("", f"&family={family.pk}"):
        pages, bars, apis = [], [], []
        for named in (indexed.pk, waiting.pk, failed.pk, missing):
            search = f"q=red+shape{extra}&like={named},{right}"
            pages.append(refine_bar(client.get(f"/search/?{search}&min_score=0").content.decode()))
            verdict = {"photo": right, "q": "red shape", "verdict": "right", "search": search}
            bars.append(refine_bar(client.post("/search/judge/", verdict, headers=HTMX).content.decode()))
            client.post("/search/judge/", {"photo": right, "q": "red shape", "verdict": "undo", "search": search})
            apis.append(client.get(f"/api/v1/search/?{search}").json())
        assert pages[0] == pages[1] == pages[2] == pages[3], pages
        assert bars[0] == bars[1] == bars[2] == bars[3], bars
        assert apis[0] == apis[1] == apis[2] == apis[3]
        assert "1 photo in the link is not yours to see, in the trash or deleted: left out." in pages[0]
        assert "indexed" not in pages[0] and "Joneses" not in pages[0] and "looks only in" not in pages[0]
        assert "Retry" not in pages[0]
        assert apis[0]["left_out"] == 1
        assert apis[0]["left_out_other_family"] == apis[0]["left_out_not_indexed"] == apis[0]["left_out_failed"] == []


def _greens(alice):
    """A second family of Alice's, first by name."""
    from gallery.models import Membership
    from tests.factories import FamilyFactory

    greens = FamilyFactory(name="Greens")
    Membership.objects.create(family=greens, user=alice, role=Membership.Role.MEMBER)
    return greens


def test_the_bar_says_before_the_click_which_marks_the_filtered_search_will_leave_out(
        client_for, alice, family, shapes, add_shape, django_capture_on_commit_callbacks):
    """Alice marked a Greens photo and a Smiths photo right in a search of all her families, then filtered it to the
    Smiths: the bar said "You marked 2 right … More like these", and only after the click that one was left out. It
    says before the click what the refine will use under the filter and what it will leave out, in the words the bar
    says after it; with nothing left to refine with, it offers no refine."""
    greens = _greens(alice)
    with django_capture_on_commit_callbacks(execute=True):
        theirs = add_shape("red", "square", target_family=greens)
    run_queued_tasks()
    client = client_for(alice)
    judge(client, theirs, "right")
    judge(client, shapes["red square"], "right")
    filtered = f"q=red+shape&family={family.pk}"
    said = "1 photo you marked is in Greens, and this search looks only in Smiths: left out."
    bar = refine_bar(client.get(f"/search/?{filtered}&min_score=0").content.decode())
    assert "You marked 2 right and 0 wrong for “red shape”: the refine will use 1 of them." in bar
    assert said in bar and "More like these" in bar
    swapped = refine_bar(judge(client, shapes["blue circle"], "wrong", search=filtered).content.decode())
    assert "You marked 2 right and 1 wrong for “red shape”: the refine will use 2 of them." in swapped
    assert said in swapped and "More like these, fewer like those" in swapped
    # The click leaves out what the bar said it would.
    link = swapped[swapped.index('href="') + 6:].split('"')[0].replace("&amp;", "&")
    after = refine_bar(client.get(link).content.decode())
    assert "Refined: more like 1 photo, fewer like 1 photo." in after
    assert "1 photo in the link is in Greens, and this search looks only in Smiths: left out." in after
    # All her families: nothing is left out, nothing said.
    bar = refine_bar(client.get("/search/?q=red+shape&min_score=0").content.decode())
    assert "You marked 2 right and 1 wrong for “red shape”." in bar and "left out" not in bar
    # Only the Greens' mark left: nothing refines the Smiths' search, and no refine is offered.
    judge(client, shapes["red square"], "undo")
    judge(client, shapes["blue circle"], "undo")
    bar = refine_bar(client.get(f"/search/?{filtered}&min_score=0").content.decode())
    assert "You marked 1 right and 0 wrong for “red shape”: it cannot refine this search." in bar
    assert said in bar and "More like these" not in bar and "like=" not in bar


def _failed_photo(add_shape, django_capture_on_commit_callbacks, **kwargs):
    """A photo whose indexing failed: its files vanished before the worker read it."""
    with django_capture_on_commit_callbacks() as queued:
        photo = add_shape("red", "square", **kwargs)
    for field in (photo.original, photo.display):
        field.storage.delete(field.name)
    for callback in queued:
        callback()
    run_queued_tasks()
    photo.refresh_from_db()
    assert photo.status == Photo.Status.FAILED
    return photo


def test_a_photo_whose_indexing_failed_is_told_from_one_waiting_to_be_indexed(
        client_for, alice, shapes, add_shape, django_capture_on_commit_callbacks):
    """A photo whose indexing failed read "not indexed yet: left out until it is", which comes true only after a
    Retry. The bar (before and after the click, and after a verdict) says it could not be indexed and links the
    Index page, where its Retry is; the API lists it apart."""
    failed = _failed_photo(add_shape, django_capture_on_commit_callbacks)
    client = client_for(alice)
    judge(client, failed, "right")
    judge(client, shapes["red square"], "right")
    retry = '<a href="/indexing/">Retry it on the Index page</a>.'
    before = refine_bar(client.get("/search/?q=red+shape&min_score=0").content.decode())
    assert "the refine will use 1 of them" in before
    assert f"1 photo you marked could not be indexed: left out. {retry}" in before
    search = f"q=red+shape&like={shapes['red square'].pk},{failed.pk}"
    for bar in (refine_bar(client.get(f"/search/?{search}&min_score=0").content.decode()),
                refine_bar(judge(client, shapes["blue circle"], "wrong", search=search).content.decode())):
        assert "Refined: more like 1 photo." in bar
        assert f"1 photo in the link could not be indexed: left out. {retry}" in bar
        assert "not indexed yet" not in bar
    api = client.get(f"/api/v1/search/?{search}").json()
    assert api["like"] == [shapes["red square"].pk] and api["left_out_failed"] == [failed.pk]
    assert api["left_out_not_indexed"] == []


def test_with_smart_search_off_the_bar_says_marks_refine_nothing(
        settings, tmp_path, client_for, alice, add_shape, django_capture_on_commit_callbacks):
    """With the search model unavailable the search refines nothing (no query vector to move), yet the bar a verdict
    swapped in counted the indexed photos of the link: "Refined: more like 1 photo". It says they refine nothing
    while smart search is off, before the click and after it, and offers no refine."""
    import shutil

    from search.embedder import reset_embedder
    from search.tests.conftest import TOY_MODEL

    model = tmp_path / "siglip"
    shutil.copytree(TOY_MODEL, model)
    settings.SEARCH_MODEL, settings.SEARCH_DTYPE = str(model), "float32"
    reset_embedder()
    with django_capture_on_commit_callbacks(execute=True):
        photos = [add_shape("red", "square"), add_shape("blue", "circle")]
    run_queued_tasks()
    shutil.rmtree(model)  # the model is gone (a disk swapped, an offline machine's cache cleared)
    reset_embedder()
    client = client_for(alice)
    judge(client, photos[0], "right")
    search = f"q=red+shape&like={photos[0].pk}"
    off = "1 photo {} refines nothing while smart search is off"
    page = client.get(f"/search/?{search}&min_score=0").content.decode()
    assert "Smart search is off" in page
    assert "Refined" not in refine_bar(page) and off.format("in the link") in refine_bar(page)
    bar = refine_bar(judge(client, photos[1], "right", search=search).content.decode())
    # (her new mark too, once: search.views._left_out_text)
    assert "Refined" not in bar
    assert "1 photo in the link and 1 you marked refine nothing while smart search is off" in bar
    before = refine_bar(client.get("/search/?q=red+shape&min_score=0").content.decode())
    assert "You marked 2 right and 0 wrong for “red shape”: none of them can refine this search." in before
    assert "2 photos you marked refine nothing while smart search is off" in before
    assert "More like these" not in before
    api = client.get(f"/api/v1/search/?{search}").json()
    assert api["like"] == [] and api["left_out_model_off"] == [photos[0].pk] and not api["semantic_available"]


def test_a_link_naming_your_marks_in_another_order_is_the_refine_they_make(client_for, alice, shapes):
    """A link naming the same marks in another order (shared, or typed) refines as the marks do, yet the bar offered
    "More like these" again, and said what the marks would leave out a second time beside what the link left out."""
    client = client_for(alice)
    judge(client, shapes["red square"], "right")
    judge(client, shapes["red circle"], "right")
    search = f"q=red+shape&like={shapes['red square'].pk},{shapes['red circle'].pk}"  # (the marks: newest first)
    bar = refine_bar(client.get(f"/search/?{search}&min_score=0").content.decode())
    assert "More like these" not in bar and "Refined: more like 2 photos (all your marks)." in bar


def _model_loads(monkeypatch) -> list:
    """The model loads from now on (each one a call of transformers' loader, which every load goes through)."""
    from transformers import AutoModel

    loads = []
    original = AutoModel.from_pretrained.__func__
    monkeypatch.setattr(AutoModel, "from_pretrained",
                        classmethod(lambda cls, *args, **kwargs: loads.append(args) or original(cls, *args, **kwargs)))
    return loads


def test_a_verdict_never_waits_for_the_model_to_load(client_for, alice, shapes, monkeypatch):
    """A verdict's refine bar asked whether the model of each photo of the link loads (search.engine._model_loads),
    and in a web process that had not loaded it yet (a fresh one: a restart, another gunicorn worker) that loaded it,
    seconds of it, for a click that searches nothing. The bar takes what this process knows: a model whose load
    failed refines nothing (the test with smart search off), any other does; the search the refine link opens loads
    it, as every search does."""
    from search.embedder import reset_embedder

    right, wrong = shapes["red square"], shapes["blue circle"]
    client = client_for(alice)
    judge(client, wrong, "wrong")
    search = f"q=red+shape&like={right.pk}"
    reset_embedder()  # a web process that has not loaded the model yet
    loads = _model_loads(monkeypatch)
    bar = refine_bar(judge(client, wrong, "undo", search=search).content.decode())
    assert loads == []
    assert "Refined: more like 1 photo." in bar and "left out" not in bar
    # The search does load it, and refines with the photo.
    page = client.get(f"/search/?{search}&min_score=0").content.decode()
    assert len(loads) == 1 and "Refined: more like 1 photo." in refine_bar(page)


def test_a_verdict_never_loads_the_model_and_records_what_the_search_gave(client_for, alice, shapes, monkeypatch):
    """Right / wrong recorded the result's score components through explain_photo, which encoded the query with the
    model, so a web process that had not loaded it (a restart, another gunicorn worker) loaded it, seconds of it with
    a real SigLIP, for one click. The query's vectors are those the search that showed the result cached (in the
    database, for every process) and the model's own (a, b) and size are what its load recorded: the verdict records
    the same components from them, and the model stays unloaded."""
    from search import text_embeddings
    from search.embedder import reset_embedder
    from search.judgment_services import judgment_components

    client = client_for(alice)
    photo = shapes["red square"]
    text_embeddings.clear_process_cache()  # (what earlier tests cached here: this database has never held it)
    client.get("/search/?q=red+shape&min_score=0")  # the search that showed it (another process, maybe)
    loaded = judgment_components(user=alice, photo=photo, query="red shape", load_model=True)
    assert loaded["model_name"] and loaded["cosine"] is not None
    reset_embedder()  # a web process that has not loaded the model yet
    text_embeddings.clear_process_cache()
    loads = _model_loads(monkeypatch)
    assert judge(client, photo, "right").status_code == 200
    assert loads == []
    judgment = Judgment.objects.get()
    assert judgment.components == json.loads(json.dumps(loaded)) and judgment.model_name == loaded["model_name"]


def test_a_verdict_on_words_never_encoded_is_recorded_without_the_image_half(client_for, alice, shapes, monkeypatch,
                                                                            django_capture_on_commit_callbacks):
    """A verdict on a query whose words no process has encoded (an API client judging a search it never ran) can't
    have its image half without the model: it is recorded all the same, at once, with the metadata half, and says no
    model scored it (a blank model_name, no cosine), as a judgment given while smart search is off does; its words go
    to the worker to encode, as a page's that can't encode them all do."""
    from search import text_embeddings
    from search.embedder import reset_embedder

    client = client_for(alice)
    reset_embedder()
    text_embeddings.clear_process_cache()
    loads = _model_loads(monkeypatch)
    with django_capture_on_commit_callbacks(execute=True):
        assert judge(client, shapes["red square"], "right", q="crimson block").status_code == 200
    assert loads == []
    judgment = Judgment.objects.get()
    assert judgment.model_name == "" and judgment.components["model_name"] is None
    assert judgment.components["cosine"] is None and judgment.components["probability_semantic"] == 0
    assert judgment.components["semantic_weight"] == 0 and judgment.components["metadata_weight"] == 1
    # Its words were queued for the worker (which has the model), so the next verdict on them has its image half.
    assert run_queued_tasks() == 1
    reset_embedder()
    text_embeddings.clear_process_cache()
    loads = _model_loads(monkeypatch)
    assert judge(client, shapes["red square"], "wrong", q="crimson block").status_code == 200
    assert loads == []
    judgment = Judgment.objects.get()
    assert judgment.model_name and judgment.components["cosine"] is not None and not judgment.relevant


def test_a_shared_refine_link_and_your_own_marks_say_each_photo_once(
        client_for, alice, bob, shapes, add_shape, django_capture_on_commit_callbacks):
    """Alice shared a refined link naming a photo whose indexing failed; Bob, of the same family, had marked it right
    too, with another photo that failed and one not indexed yet. The bar said the link's notes and the marks' notes
    one after the other: "1 photo you marked could not be indexed: left out. Retry it on the Index page." then "1
    photo in the link could not be indexed: left out. Retry it on the Index page.", the same photo twice, and two
    Retry links. It says each photo once, one note for each reason (the link's photos, then Bob's others), on the
    page and in the bar a verdict swaps in; what the refine will use of his marks is counted as before."""
    failed = _failed_photo(add_shape, django_capture_on_commit_callbacks)
    also_failed = _failed_photo(add_shape, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks():
        waiting = add_shape("red", "circle")  # not indexed yet
    red_square, red_circle = shapes["red square"].pk, shapes["red circle"].pk
    link = f"q=red+shape&like={red_square},{failed.pk}"  # Alice's "More like these"
    client = client_for(bob)
    for photo in (failed, also_failed, waiting, shapes["red circle"]):
        judge(client, photo, "right")
    page = refine_bar(client.get(f"/search/?{link}&min_score=0").content.decode())
    swapped = refine_bar(judge(client, shapes["blue circle"], "wrong", search=link).content.decode())
    for bar, marks in ((page, "You marked 4 right and 0 wrong for “red shape”: the refine will use 1 of them."),
                       (swapped, "You marked 4 right and 1 wrong for “red shape”: the refine will use 2 of them.")):
        text = " ".join(bar.split())
        assert marks in text, text
        assert "More like these" in text and "Refined: more like 1 photo." in text
        assert ('1 photo in the link and 1 you marked could not be indexed: left out. '
                '<a href="/indexing/">Retry them on the Index page</a>.') in text, text
        assert text.count("could not be indexed") == 1 and text.count("Retry") == 1
        assert "1 photo you marked is not indexed yet: left out until it is." in text
        assert text.count("not indexed yet") == 1
    # Bob's marks alone (no link): said as before.
    alone = " ".join(refine_bar(client.get("/search/?q=red+shape&min_score=0").content.decode()).split())
    assert "2 photos you marked could not be indexed: left out." in alone and "in the link" not in alone
    # The link alone (Alice's marks are the link): said as before.
    theirs = " ".join(refine_bar(client_for(alice).get(f"/search/?{link}&min_score=0").content.decode()).split())
    assert "1 photo in the link could not be indexed: left out." in theirs and "you marked" not in theirs


def _search_context_reads(captured) -> int:
    """The statements that plan a search (search.selectors.search_context's one read)."""
    return sum("sp.default_sort" in q["sql"] for q in captured.captured_queries)


def test_the_refine_bar_plans_no_search_of_its_own(client_for, alice, bob, shapes):
    """With a refine link other than the viewer's marks, the bar asked what the marks would refine (refine_of), which
    planned the search again (its search_context read) on the page that had just run it, and planned it twice after a
    verdict (once for the link, once for the marks), each time reading the photos apart. The page reuses its search's
    plan; a verdict plans once and reads the link's photos and the marks' in one statement (refine_read)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(bob)
    judge(client, shapes["red circle"], "right")
    mine = f"q=red+shape&like={shapes['red circle'].pk}"  # his marks' own link: no offer to compute
    link = f"q=red+shape&like={shapes['red square'].pk}"  # Alice's
    plans = []
    for search in (mine, link):
        with CaptureQueriesContext(connection) as captured:
            page = client.get(f"/search/?{search}&min_score=0").content.decode()
        plans.append(_search_context_reads(captured))
    assert "More like these" in refine_bar(page)
    assert plans[0] == plans[1] >= 1, plans
    with CaptureQueriesContext(connection) as captured:
        bar = refine_bar(judge(client, shapes["blue circle"], "undo", search=link).content.decode())
    assert "More like these" in bar and "Refined: more like 1 photo." in bar
    assert _search_context_reads(captured) == 1
    refine_reads = [q["sql"] for q in captured.captured_queries
                    if 'FROM "gallery_photo"' in q["sql"] and '"search_photoembedding"' in q["sql"]]
    assert len(refine_reads) == 1, refine_reads


def test_a_verdict_does_not_score_with_a_model_whose_latest_load_failed(client_for, alice, shapes, monkeypatch):
    """A worker whose load of the model failed marks it unavailable and keeps its old size and calibration: a verdict
    in a process without the model scored the photo with them all the same, while search showed smart search off.
    It is recorded with its metadata half, as search would score it."""
    from search import text_embeddings
    from search.embedder import reset_embedder
    from search.models import EmbeddingModel

    client = client_for(alice)
    client.get("/search/?q=red+shape&min_score=0")  # its words encoded and stored
    assert EmbeddingModel.objects.filter(available=True).update(available=False) == 1
    reset_embedder()
    text_embeddings.clear_process_cache()
    loads = _model_loads(monkeypatch)
    assert judge(client, shapes["red square"], "right").status_code == 200
    assert loads == []
    judgment = Judgment.objects.get()
    assert judgment.model_name == "" and judgment.components["cosine"] is None


def test_a_link_marking_a_photo_both_right_and_wrong_says_so_and_refines_by_the_others(client_for, alice, shapes):
    """`like=5&unlike=5` counted the photo as wrong only, without a word. A photo is right or wrong: the page refines
    by the link's other photos, and its bar (and the search's report) says the contradicted one was left out."""
    both, right = shapes["red square"].pk, shapes["red circle"].pk
    client = client_for(alice)
    page = client.get(f"/search/?q=red+shape&like={both},{right}&unlike={both}").content.decode()
    said = "1 photo in the link is marked both right and wrong: left out (a photo is right or wrong, not both)."
    assert "Refined: more like 1 photo." in page and said in page
    only = client.get(f"/search/?q=red+shape&like={both}&unlike={both}").content.decode()
    assert "Refined" not in only and said in only
    report = client.get(f"/search/report/?q=red+shape&like={both},{right}&unlike={both}").content.decode()
    assert "Refined: more like 1 photo" in report and said in report
