"""End to end in a real browser: first-run setup, sign in, upload with the page's script, timeline thumbnails."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from gallery.middleware import first_run_forget

from gallery.models import Family, Membership, Photo
from tests import images
from tests.browser.conftest import CHROMIUM, HAVE_CHROMIUM, sign_in
from tests.factories import FamilyFactory, MembershipFactory, UserFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not HAVE_CHROMIUM, reason=f"chromium is not installed (looked for {CHROMIUM})"),
]

ALL_IMAGES_LOADED = """(expected) => {
  const imgs = Array.from(document.querySelectorAll('.tile img'));
  return imgs.length === expected && imgs.every((img) => img.complete && img.naturalWidth > 0);
}"""


@pytest.mark.django_db(transaction=True)
def test_first_run_creates_the_admin_and_lands_on_the_empty_timeline(live_server, page, artifacts):
    assert not get_user_model().objects.exists()
    # The live server runs in this process for the whole session and remembers that accounts existed in an
    # earlier test; its database was emptied since.
    first_run_forget()

    page.goto(live_server.url + "/")
    assert page.url == live_server.url + "/setup/"
    assert page.get_by_role("heading", name="Welcome to MediaSearch").is_visible()

    page.fill("#id_username", "grandma")
    page.fill("#id_email", "grandma@example.org")
    page.fill("#id_password", "knitting-by-the-fire-42")
    page.fill("#id_password_again", "knitting-by-the-fire-4")  # typo: the page must say so
    page.fill("#id_family_name", "The Hendersons")
    page.click("button[type=submit]")
    assert page.get_by_text("The two passwords differ.").is_visible()
    page.screenshot(path=artifacts / "first-run-error.png", full_page=True)

    page.fill("#id_password", "knitting-by-the-fire-42")
    page.fill("#id_password_again", "knitting-by-the-fire-42")
    page.screenshot(path=artifacts / "first-run.png", full_page=True)
    page.click("button[type=submit]")

    page.wait_for_url(live_server.url + "/")
    assert page.get_by_text("No photos yet.").is_visible()
    assert page.locator(".who").inner_text() == "grandma"
    assert page.get_by_role("link", name="Admin").is_visible()  # a superuser
    assert page.locator("select[name=family] option", has_text="The Hendersons").count() == 1
    page.screenshot(path=artifacts / "first-run-timeline.png", full_page=True)
    assert page.js_errors == []

    user = get_user_model().objects.get()
    assert user.is_superuser
    assert Membership.objects.get(user=user).family == Family.objects.get(name="The Hendersons")


@pytest.mark.django_db(transaction=True)
def test_member_signs_in_uploads_with_progress_and_sees_thumbnails(live_server, page, artifacts):
    family = FamilyFactory(name="Smiths")
    bob = UserFactory(username="bob")
    MembershipFactory(family=family, user=bob)

    page.goto(live_server.url + "/")
    assert page.url.startswith(live_server.url + "/accounts/login/")
    page.fill("#id_username", "bob")
    page.fill("#id_password", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_url(live_server.url + "/")

    page.get_by_role("link", name="Upload", exact=True).click()
    page.wait_for_url(live_server.url + "/upload/")

    # Hold the uploads at the network so the progress rows can be seen before the answers arrive.
    held = []
    page.route("**/upload/", lambda route: held.append(route) if route.request.method == "POST" else route.continue_())
    page.set_input_files("#file-input", files=[
        {"name": "sunset.jpg", "mimeType": "image/jpeg", "buffer": images.jpeg(colour=(240, 120, 40), size=(320, 240))},
        {"name": "meadow.png", "mimeType": "image/png", "buffer": images.image_bytes("PNG", colour=(60, 170, 80), size=(240, 320))},
        {"name": "broken.jpg", "mimeType": "image/jpeg", "buffer": images.truncated_jpeg()},
    ])
    # Choosing files only lists them: nothing is sent until the person confirms.
    page.wait_for_timeout(300)
    assert held == [] and page.locator("#upload-list .upload-row.waiting").count() == 3
    page.get_by_role("button", name="Upload 3 photos to Smiths").click()
    for _ in range(100):
        if len(held) == 3:
            break
        page.wait_for_timeout(50)
    assert len(held) == 3
    assert page.locator("#upload-list progress").count() == 3
    assert sorted(page.locator("#upload-list .filename").all_inner_texts()) == ["broken.jpg", "meadow.png", "sunset.jpg"]
    page.screenshot(path=artifacts / "upload-progress.png", full_page=True)
    for route in held:
        route.continue_()

    page.wait_for_function("() => document.querySelectorAll('#upload-list [data-outcome]').length === 3")
    assert page.locator("#upload-list progress").count() == 0
    saved = page.locator('#upload-list [data-outcome="saved"]')
    rejected = page.locator('#upload-list [data-outcome="rejected"]')
    assert saved.count() == 2 and rejected.count() == 1
    assert sorted(saved.locator(".filename").all_inner_texts()) == ["meadow.png", "sunset.jpg"]
    assert rejected.locator(".filename").inner_text() == "broken.jpg"
    reason = rejected.locator(".reason")
    assert reason.is_visible()
    assert reason.inner_text().startswith("The file is incomplete (cut off): broken.jpg")
    assert "bytes not processed" not in reason.inner_text()
    page.wait_for_function("() => Array.from(document.querySelectorAll('#upload-list img.mini'))"
                           ".every((img) => img.complete && img.naturalWidth > 0)")
    page.screenshot(path=artifacts / "upload.png", full_page=True)

    page.get_by_role("link", name="Photos", exact=True).click()
    page.wait_for_url(live_server.url + "/")
    page.wait_for_function(ALL_IMAGES_LOADED, arg=2)
    page.screenshot(path=artifacts / "timeline.png", full_page=True)
    assert page.js_errors == []

    assert sorted(Photo.objects.filter(family=family, uploaded_by=bob).values_list("original_filename", flat=True)) == [
        "meadow.png", "sunset.jpg"]


def _files(*names: str) -> list[dict]:
    return [{"name": name, "mimeType": "image/jpeg", "buffer": images.jpeg(colour=(20 * n, 90, 200 - 20 * n), size=(64, 48))}
            for n, name in enumerate(names)]


@pytest.mark.django_db(transaction=True)
def test_the_upload_summary_counts_duplicates(live_server, page, artifacts):
    """The line read out as files finish (role=status) said "3 of 3 done." when two of the three were already in the
    family, so their tags typed were not applied: a screen reader heard nothing of it, only the rows below said so.
    The summary counts them, as it counts the rejected ones."""
    smiths, carol = FamilyFactory(name="Smiths"), UserFactory(username="carol")
    MembershipFactory(family=smiths, user=carol)
    sign_in(page, live_server, "carol")
    page.goto(live_server.url + "/upload/")
    page.set_input_files("#file-input", files=_files("a.jpg", "b.jpg"))
    page.get_by_role("button", name="Upload 2 photos to Smiths").click()
    page.wait_for_function("() => document.getElementById('upload-progress').textContent.includes('2 of 2 done')")
    page.goto(live_server.url + "/upload/")
    page.set_input_files("#file-input", files=_files("a.jpg", "b.jpg", "c.jpg"))
    page.fill("input[name=tags]", "beach")
    page.get_by_role("button", name="Upload 3 photos to Smiths").click()
    page.wait_for_function("() => document.getElementById('upload-progress').textContent.includes('3 of 3 done')")
    assert page.locator('#upload-list [data-outcome="duplicate"]').count() == 2
    assert page.locator("#upload-progress").inner_text() == (
        "3 of 3 done; 2 already in the family (duplicates)."), page.locator("#upload-progress").inner_text()
    assert page.js_errors == []


@pytest.mark.django_db(transaction=True)
def test_upload_starts_on_the_last_used_family_and_uses_tags_typed_after_choosing(live_server, page, artifacts):
    aardvarks, smiths = FamilyFactory(name="Aardvarks"), FamilyFactory(name="Smiths")  # Aardvarks sorts first
    carol = UserFactory(username="carol")
    MembershipFactory(family=aardvarks, user=carol)
    MembershipFactory(family=smiths, user=carol)
    from tests.factories import photo_factory
    photo_factory(family=smiths, user=carol)  # her last upload went to the Smiths

    sign_in(page, live_server, "carol")
    page.goto(live_server.url + "/upload/")
    assert page.locator("input[name=family]:checked").get_attribute("data-name") == "Smiths"
    assert page.locator("#upload-target").inner_text() == "Smiths"

    notes = {"name": "notes.jpg", "mimeType": "image/jpeg", "buffer": b"not a picture at all"}
    page.set_input_files("#file-input", files=_files("a.jpg", "b.jpg") + [notes])
    page.fill("input[name=tags]", "beach, summer")  # typed after choosing the files: must still apply
    page.screenshot(path=artifacts / "upload-confirm.png", full_page=True)
    page.get_by_role("button", name="Upload 3 photos to Smiths").click()
    page.wait_for_function("() => document.getElementById('upload-progress').textContent.includes('3 of 3 done')")
    assert page.locator('#upload-list [data-outcome="saved"]').count() == 2
    # "Done" is not "saved": the summary counts the files the server turned down.
    assert page.locator("#upload-progress").inner_text() == "3 of 3 done; 1 rejected, not kept: notes.jpg (why is under it)."
    assert page.js_errors == []

    new = Photo.objects.filter(original_filename__in=["a.jpg", "b.jpg"])
    assert {p.family_id for p in new} == {smiths.pk}
    assert all(sorted(t.name for t in p.tags.all()) == ["beach", "summer"] for p in new)


@pytest.mark.django_db(transaction=True)
def test_files_refused_for_the_tags_wait_to_be_sent_again_once_the_tags_are_fixed(live_server, page, artifacts):
    """Bad tags refused every file with "fix the tags and try again", but the files were gone from the list: after
    fixing the tags, "Upload" said "Choose some photos first." and every photo had to be chosen again."""
    family = FamilyFactory(name="Smiths")
    erin = UserFactory(username="erin")
    MembershipFactory(family=family, user=erin)
    sign_in(page, live_server, "erin")
    page.goto(live_server.url + "/upload/")

    page.set_input_files("#file-input", files=_files("a.jpg", "b.jpg"))
    page.fill("input[name=tags]", ", ".join(f"tag{n}" for n in range(60)))  # more than a photo may carry
    page.get_by_role("button", name="Upload 2 photos to Smiths").click()
    page.wait_for_function("() => document.querySelectorAll('#upload-list .upload-row.waiting .reason').length === 2")
    assert "At most 50 tags per photo." in page.locator("#upload-list .reason").first.inner_text()
    assert page.locator("#upload-progress").inner_text() == (
        "Nothing was sent: fix what is said under the files, then upload them again.")
    page.screenshot(path=artifacts / "upload-bad-tags.png", full_page=True)
    assert not Photo.objects.exists()

    page.fill("input[name=tags]", "beach")
    page.get_by_role("button", name="Upload 2 photos to Smiths").click()
    page.wait_for_function("() => document.querySelectorAll('#upload-list [data-outcome=saved]').length === 2")
    assert page.locator("#upload-progress").inner_text() == "2 of 2 done."
    assert page.locator("#upload-list .upload-row").count() == 2
    assert page.js_errors == []
    assert sorted(Photo.objects.values_list("original_filename", "tags__name")) == [
        ("a.jpg", "beach"), ("b.jpg", "beach")]


@pytest.mark.django_db(transaction=True)
def test_at_most_three_in_flight_failures_say_why_in_plain_words_and_retry(live_server, page, artifacts):
    family = FamilyFactory(name="Smiths")
    dave = UserFactory(username="dave")
    MembershipFactory(family=family, user=dave)
    sign_in(page, live_server, "dave")
    page.goto(live_server.url + "/upload/")

    held, seen, retried = [], [], []

    def hold(route):
        if route.request.method != "POST":
            return route.continue_()
        body = route.request.post_data_buffer or b""
        seen.append(body)
        name = next((n for n in ("down.jpg", "boom.jpg") if n.encode() in body), None)
        if name == "down.jpg" and not retried:
            return route.abort("internetdisconnected")
        if name == "boom.jpg" and not retried:
            return route.fulfill(status=500, body="<h1>Server Error (500)</h1>")
        held.append(route)

    page.route("**/upload/", hold)
    page.set_input_files("#file-input", files=_files("one.jpg", "two.jpg", "three.jpg", "four.jpg", "down.jpg", "boom.jpg"))
    page.get_by_role("button", name="Upload 6 photos to Smiths").click()
    page.wait_for_timeout(500)
    assert len(held) <= 3, "more than three uploads in flight"
    while len(seen) < 6:  # release the held ones as they come; the pool sends the rest
        for _ in range(100):
            if held:
                break
            page.wait_for_timeout(50)
        while held:
            held.pop().continue_()
    page.wait_for_function("() => document.getElementById('upload-progress').textContent.includes('4 of 6 done')")
    page.wait_for_function("() => document.querySelectorAll('#upload-list [data-outcome=failed]').length === 2")
    failed = page.locator('#upload-list [data-outcome="failed"]')
    reasons = " ".join(failed.locator(".reason").all_inner_texts())
    assert "Could not reach the server" in reasons and "The server had a problem storing this file" in reasons
    body = page.locator("body").inner_text()
    assert "answered" not in body and "500" not in body
    assert "2 failed" in page.locator("#upload-progress").inner_text()
    page.screenshot(path=artifacts / "upload-failed.png", full_page=True)

    retried.append(True)
    retry = page.locator("#upload-list").get_by_role("button", name="Retry")
    assert retry.count() == 2
    while retry.count():  # each click sends its file again (and takes its button away)
        retry.first.click()
    for _ in range(100):
        while held:
            held.pop().continue_()
        if page.locator("#upload-progress").inner_text().startswith("6 of 6 done"):
            break
        page.wait_for_timeout(50)
    assert page.locator("#upload-progress").inner_text() == "6 of 6 done."
    assert page.locator('#upload-list [data-outcome="saved"]').count() == 6
    assert Photo.objects.filter(family=family).count() == 6
    assert page.js_errors == []


@pytest.mark.django_db(transaction=True)
def test_after_the_server_was_down_upload_sends_every_failed_file_again(live_server, page, artifacts):
    """`make run` stopped in the middle of an upload of 40 photos: 33 rows read "Could not reach the server", each
    with its own Retry, and the Upload button, pressed once the server was back, said "Choose some photos first."
    (QA). The button now offers to send them all again ("Retry 3 failed photos"), and does."""
    family = FamilyFactory(name="Smiths")
    MembershipFactory(family=family, user=UserFactory(username="dave"))
    sign_in(page, live_server, "dave")
    page.goto(live_server.url + "/upload/")
    down = [True]
    page.route("**/upload/", lambda route: route.abort("connectionreset")
               if route.request.method == "POST" and down[0] else route.continue_())
    page.set_input_files("#file-input", files=_files("one.jpg", "two.jpg", "three.jpg"))
    page.get_by_role("button", name="Upload 3 photos to Smiths").click()
    page.wait_for_function("() => document.querySelectorAll('#upload-list [data-outcome=failed]').length === 3")
    assert "3 failed" in page.locator("#upload-progress").inner_text()
    page.screenshot(path=artifacts / "upload-server-down.png", full_page=True)

    down[0] = False  # the server is back
    page.get_by_role("button", name="Retry 3 failed photos").click()
    page.wait_for_function("() => document.getElementById('upload-progress').textContent === '3 of 3 done.'")
    assert page.locator('#upload-list [data-outcome="saved"]').count() == 3
    assert page.locator("#upload-list").get_by_role("button", name="Retry").count() == 0
    assert page.locator("#upload-button").inner_text() == "Upload"
    assert Photo.objects.filter(family=family).count() == 3
    assert page.js_errors == []


@pytest.mark.django_db(transaction=True)
def test_with_several_families_and_no_history_nothing_is_sent_until_a_family_is_chosen(live_server, page):
    aardvarks, cousins = FamilyFactory(name="Aardvarks"), FamilyFactory(name="Cousins")
    erin = UserFactory(username="erin")
    MembershipFactory(family=aardvarks, user=erin)
    MembershipFactory(family=cousins, user=erin)
    sign_in(page, live_server, "erin")
    page.goto(live_server.url + "/upload/")
    assert page.locator("input[name=family]:checked").count() == 0
    assert page.locator("#upload-target").inner_text() == "Choose a family above"

    posts = []
    page.on("request", lambda request: posts.append(request) if request.method == "POST" else None)
    page.set_input_files("#file-input", files=_files("c.jpg"))
    page.get_by_role("button", name="Upload 1 photo").click()
    assert "Choose the family these photos belong to first." in page.locator("#upload-progress").inner_text()
    page.wait_for_timeout(300)
    assert posts == []

    page.get_by_text("Cousins", exact=True).click()
    assert page.locator("#upload-target").inner_text() == "Cousins"
    page.get_by_role("button", name="Upload 1 photo to Cousins").click()
    page.wait_for_function("() => document.getElementById('upload-progress').textContent === '1 of 1 done.'")
    assert Photo.objects.get(original_filename="c.jpg").family == cousins
    assert page.js_errors == []


@pytest.mark.django_db(transaction=True)
def test_chosen_files_are_listed_in_the_order_chosen(live_server, page):
    family = FamilyFactory(name="Smiths")
    bob = UserFactory(username="bob")
    MembershipFactory(family=family, user=bob)
    sign_in(page, live_server, "bob")
    page.goto(live_server.url + "/upload/")

    def png(name, colour):
        return {"name": name, "mimeType": "image/png", "buffer": images.image_bytes("PNG", colour=colour, size=(40, 30))}

    page.set_input_files("#file-input", files=[png("1-first.png", (200, 0, 0)), png("2-second.png", (0, 200, 0)),
                                               png("3-third.png", (0, 0, 200))])
    page.wait_for_function("() => document.querySelectorAll('#upload-list .upload-row.waiting').length === 3")
    # A second choice goes after the first, and removing one keeps the others' order.
    page.set_input_files("#file-input", files=[png("4-fourth.png", (9, 9, 9)), png("5-fifth.png", (99, 99, 99))])
    page.wait_for_function("() => document.querySelectorAll('#upload-list .upload-row.waiting').length === 5")
    assert page.locator("#upload-list .filename").all_inner_texts() == [
        "1-first.png", "2-second.png", "3-third.png", "4-fourth.png", "5-fifth.png"]
    page.locator("#upload-list .upload-row", has_text="5-fifth.png").get_by_role("button", name="Remove").click()
    page.set_input_files("#file-input", files=[png("6-sixth.png", (1, 2, 3))])
    page.wait_for_function("() => document.querySelectorAll('#upload-list .upload-row.waiting').length === 5")
    assert page.locator("#upload-list .filename").all_inner_texts() == [
        "1-first.png", "2-second.png", "3-third.png", "4-fourth.png", "6-sixth.png"]
    assert page.js_errors == []


# --- requests that fail under an open page ------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [390])
def test_an_htmx_request_the_server_refuses_or_that_never_arrives_says_so(live_server, browser, artifacts, width):
    """A search typed while the server restarted (503), a heart on a photo someone had just removed (404), a click
    while the connection was down: htmx swaps nothing in for those, so the page stayed as it was, the box saying
    "blue" over the results for "red", and nothing said why. A bar now says it in plain words, until the next request
    that works."""
    from tests.browser.conftest import new_page
    from tests.factories import photo_factory

    family = FamilyFactory(name="Hendersons")
    grandma = UserFactory(username="grandma")
    MembershipFactory(family=family, user=grandma, role="admin")
    photo_factory(family=family, user=grandma)
    context, page = new_page(browser, viewport={"width": width, "height": 844})
    sign_in(page, live_server, "grandma")
    problem = page.locator("#request-problem")

    page.goto(live_server.url + "/search/?q=red")
    context.route(lambda url: "q=blue" in url, lambda route: route.fulfill(status=503, headers={"Retry-After": "5"},
                                                                            body="<h1>Service unavailable</h1>"))
    page.fill("input[name=q]", "blue")
    problem.get_by_text("The server is busy or restarting").wait_for()
    assert problem.get_attribute("role") == "alert"
    page.screenshot(path=artifacts / f"request-problem-{width}.png")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width

    page.fill("input[name=q]", "green")  # the next request works: the bar goes
    problem.wait_for(state="hidden")

    context.route(lambda url: "q=yellow" in url, lambda route: route.abort("connectionrefused"))
    page.fill("input[name=q]", "yellow")
    problem.get_by_text("could not be reached").wait_for()
    problem.get_by_role("button", name="Close").click()
    problem.wait_for(state="hidden")

    page.goto(live_server.url + "/")
    context.route("**/favourite/", lambda route: route.fulfill(status=404, body="gone"))
    page.locator("form[action$='/favourite/'] button").first.click()
    problem.get_by_text("no longer there").wait_for()
    assert page.js_errors == []
    context.close()


@pytest.mark.django_db(transaction=True)
def test_a_search_typed_after_the_session_ended_goes_to_sign_in_and_back(live_server, page):
    family = FamilyFactory(name="Hendersons")
    MembershipFactory(family=family, user=UserFactory(username="grandma"), role="admin")
    sign_in(page, live_server, "grandma")
    page.goto(live_server.url + "/search/?q=red")
    page.context.clear_cookies()  # the session ended (expired, or signed out in another tab)
    page.fill("input[name=q]", "blue")
    # Back to the search as typed (before, to the one the page last showed, "red": the words typed were lost).
    page.wait_for_url(lambda url: "/accounts/login/?next=/search/%3F" in url and "q%3Dblue" in url)
    assert page.locator("header.topbar").count() == 1  # the sign-in page itself, not one inside the search page
    page.fill("#id_username", "grandma")
    page.fill("#id_password", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/search/?" in url and "q=blue" in url)


def _drop_paths(page, selector: str, paths: list[str]) -> None:
    """Drop files and folders on an element as a person drags them from the desktop: Chromium's own drag (DevTools
    Input.dispatchDragEvent), so a folder arrives as the browser gives one, not as a script would build it."""
    box = page.locator(selector).bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    cdp = page.context.new_cdp_session(page)
    data = {"items": [], "files": paths, "dragOperationsMask": 1}
    for kind in ("dragEnter", "dragOver", "drop"):
        cdp.send("Input.dispatchDragEvent", {"type": kind, "x": x, "y": y, "data": data})
    cdp.detach()


@pytest.mark.django_db(transaction=True)
def test_a_folder_dropped_on_the_upload_page_uploads_the_photos_in_it(live_server, page, artifacts, tmp_path):
    """Photos are kept in folders, and people drag the folder: it arrived as one unreadable "file" named after the
    folder, listed as "Ready", then "Not uploaded: Could not reach the server. Check your connection, then retry."
    with a Retry that could never work (QA, a real drag in Chromium). The files in it (and in its folders; not
    hidden ones) are listed instead, as if chosen one by one."""
    family = FamilyFactory(name="Smiths")
    MembershipFactory(family=family, user=UserFactory(username="dora"))
    holiday = tmp_path / "Holiday 2024"
    (holiday / "day two").mkdir(parents=True)
    (holiday / "beach.jpg").write_bytes(images.jpeg(colour=(200, 30, 30)))
    (holiday / "day two" / "hotel.jpg").write_bytes(images.jpeg(colour=(30, 200, 30)))
    (holiday / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    loose = tmp_path / "loose.jpg"
    loose.write_bytes(images.jpeg(colour=(30, 30, 200)))

    sign_in(page, live_server, "dora")
    page.goto(live_server.url + "/upload/")
    _drop_paths(page, "#dropzone", [str(holiday), str(loose)])
    page.get_by_role("button", name="Upload 3 photos to Smiths").wait_for()
    assert sorted(page.locator("#upload-list .filename").all_inner_texts()) == ["beach.jpg", "hotel.jpg", "loose.jpg"]
    page.get_by_role("button", name="Upload 3 photos to Smiths").click()
    page.wait_for_function("() => document.getElementById('upload-progress').textContent.includes('3 of 3 done')")
    assert page.locator('#upload-list [data-outcome="saved"]').count() == 3
    page.screenshot(path=artifacts / "upload-dropped-folder.png", full_page=True)
    assert page.js_errors == []
    assert sorted(Photo.objects.values_list("original_filename", flat=True)) == ["beach.jpg", "hotel.jpg", "loose.jpg"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [1280])
def test_photos_uploaded_with_shared_keywords_show_each_keyword_as_the_database_tells_names_apart(
        live_server, browser, artifacts, width):
    """Three photos whose files carry the same keywords, uploaded with typed tags: each shows the typed tags and one
    tag per keyword name as the database tells them apart (by the fold of tag names: "ΟΔΟΣ" and "οδος" one, the
    spelling met first kept, as "Beach" and "beach" are one)."""
    from tests.browser.conftest import new_page, width_options

    smiths, carol = FamilyFactory(name="Smiths"), UserFactory(username="carol")
    MembershipFactory(family=smiths, user=carol)
    context, page = new_page(browser, **width_options(width))
    sign_in(page, live_server, "carol")
    page.goto(live_server.url + "/upload/")
    page.set_input_files("#file-input", files=[
        {"name": f"{n}.jpg", "mimeType": "image/jpeg", "buffer": images.with_metadata(
            images.jpeg(colour=(40 * n, 90, 200 - 40 * n)),
            xmp={"Xmp.dc.subject": ["ΟΔΟΣ", "Beach"]}, iptc={"Iptc.Application2.Keywords": ["οδος", "beach"]})}
        for n in range(3)])
    page.fill("input[name=tags]", "trip, Kids")
    page.get_by_role("button", name="Upload 3 photos to Smiths").click()
    page.wait_for_function("() => document.getElementById('upload-progress').textContent.includes('3 of 3 done')")
    page.wait_for_function("() => Array.from(document.querySelectorAll('#upload-list img'))"
                           ".every((img) => img.complete && img.naturalWidth > 0)")
    page.screenshot(path=artifacts / f"upload-shared-keywords-{width}.png", full_page=True)
    assert page.locator('#upload-list [data-outcome="saved"]').count() == 3

    photo = Photo.objects.get(original_filename="1.jpg")
    page.goto(live_server.url + photo.get_absolute_url())
    page.screenshot(path=artifacts / f"photo-shared-keywords-{width}.png", full_page=True)
    assert sorted(photo.tags.values_list("name", flat=True)) == ["Beach", "Kids", "trip", "ΟΔΟΣ"]
    for name in ("ΟΔΟΣ", "Beach", "Kids", "trip"):
        assert page.get_by_role("link", name=name, exact=True).count() >= 1, name
    assert page.js_errors == []
    context.close()
