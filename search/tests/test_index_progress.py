"""The Index page shows, per family, how far the background has filled each photo's metadata: what was read
from the files, places, text in photos, tag suggestions; only for the user's own families."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from gallery.models import Photo
from search.models import WorkerHeartbeat
from search.selectors import family_metadata_progress
from search.services import embed_photos
from tests.factories import photo_factory

pytestmark = pytest.mark.django_db


def test_the_index_page_counts_what_the_background_filled_per_family(toy_model, add_shape, family, other_family,
                                                                     mallory, client_for, alice, settings):
    settings.OCR_GATE = False
    photos = [add_shape("red", "circle"), add_shape("blue", "square"), add_shape("green", "triangle")]
    Photo.objects.filter(pk=photos[0].pk).update(latitude=38.72, longitude=-9.14)
    add_shape("red", "circle", target_family=other_family, user=mallory)
    embed_photos(photo_ids=[p.pk for p in photos[:2]], fill_to=0)
    progress = family_metadata_progress(family=family)
    assert progress.embedded == 2 and progress.suggestions_scored == 2
    assert progress.with_position == 1 and progress.places_looked_up == 0
    assert progress.text_waiting == 2 and progress.working
    assert progress.files_read == Photo.objects.filter(family=family, embedded_checked=True).count()

    page = client_for(alice).get(reverse("search:indexing")).content.decode()
    section = re.search(rf'data-family="{family.pk}">(.*?)</section>', page, re.S).group(1)
    assert "places: 0 of 1 with GPS looked up" in section and "named" not in section
    assert "tag suggestions: 2 of 2 indexed" in section
    assert "2 waiting" in section
    assert f'data-family="{other_family.pk}"' not in page  # another family's progress is not shown


def test_the_places_line_says_how_many_photos_with_gps_got_a_place(add_shape, family, alice, client_for):
    """"places: 3 of 3 with GPS" read as a promise that each had a place, where a photo taken at sea or at 0,0 is
    looked up and named nowhere (QA): the line says how many of those looked up are in a named place."""
    photos = [add_shape("red", "circle"), add_shape("blue", "square"), add_shape("green", "triangle")]
    Photo.objects.filter(pk__in=[p.pk for p in photos]).update(latitude=0.0, longitude=0.0, place_checked=True)
    Photo.objects.filter(pk=photos[0].pk).update(latitude=38.72, longitude=-9.14, place_city="Lisbon",
                                                  place_country="Portugal", place_country_code="PT")
    Photo.objects.filter(pk=photos[1].pk).update(place_country="Portugal", place_country_code="PT")
    progress = family_metadata_progress(family=family)
    assert (progress.with_position, progress.places_looked_up, progress.placed) == (3, 3, 2)
    page = client_for(alice).get(reverse("search:indexing")).content.decode()
    section = " ".join(re.search(rf'data-family="{family.pk}">(.*?)</section>', page, re.S).group(1).split())
    assert "places: 3 of 3 with GPS looked up, 2 in a named place" in section


def test_with_reading_text_switched_off_photos_are_not_said_to_wait_for_it(toy_model, add_shape, family, alice,
                                                                         client_for, settings):
    # With OCR_ENABLED off, each new photo counted as "1 waiting" for its text, which nothing would ever read, and
    # the page polled every 2 s for it, as if work were going on.
    settings.OCR_GATE = False
    photo = add_shape("red", "circle")
    embed_photos(photo_ids=[photo.pk], fill_to=0)
    settings.OCR_ENABLED = False
    progress = family_metadata_progress(family=family)
    assert progress.text_waiting == 1 and not progress.working

    page = client_for(alice).get(reverse("search:indexing")).content.decode()
    section = " ".join(re.search(rf'data-family="{family.pk}">(.*?)</section>', page, re.S).group(1).split())
    assert "waiting" not in section and "1 not read (reading text is switched off)" in section
    assert "places: no photo has GPS" in section  # (not "0 of 0 with GPS")
    assert 'hx-trigger="every 15s"' in page


def test_a_family_with_no_photos_says_so_instead_of_a_full_bar_of_zeros(family, alice, client_for):
    """An empty family showed a full progress bar, "0 ready · … (100% of 0)" and "Read from the files: 0 of 0 ·
    places: 0 of 0 with GPS · …" (QA): it says there are no photos yet, with the way to the upload page."""
    page = client_for(alice).get(reverse("search:indexing")).content.decode()
    section = " ".join(re.search(rf'data-family="{family.pk}">(.*?)</section>', page, re.S).group(1).split())
    assert "No photos yet." in section and reverse("gallery:upload") in section
    assert "<progress" not in section and "of 0" not in section


def test_photos_waiting_while_no_worker_runs_are_explained_and_the_notice_goes_once_one_beats(
        add_shape, family, alice, client_for, settings):
    """A worker that is down (killed and being restarted, crashing in a loop, or never started by someone running
    the programs themselves) leaves photos pending or "processing" with no word why."""
    from search.worker_heartbeats import heartbeat_beat

    add_shape("red", "circle")  # pending: nothing embeds it in this test
    client = client_for(alice)

    page = client.get(reverse("search:indexing")).content.decode()
    assert "No worker is running" in page and "manage.py worker" in page

    heartbeat_beat(cluster=settings.Q_CLUSTER["name"], host="here", pid=1)
    assert "No worker is running" not in client.get(reverse("search:indexing")).content.decode()
    # Nothing waits: nothing to explain, whether a worker runs or not.
    Photo.objects.update(status=Photo.Status.READY)
    WorkerHeartbeat.objects.all().delete()
    assert "No worker is running" not in client.get(reverse("search:indexing")).content.decode()


@pytest.mark.parametrize("photos", [1, 4])
def test_the_index_and_family_pages_count_by_index_in_the_same_few_queries(family, alice, client_for, photos,
                                                                           django_assert_max_num_queries):
    """Counts by status, of the active model's embeddings and of the live photos come from indexes (gallery 0018,
    search 0020; the page polls every 2 s while it works): the statements are what they were, fewer rows read."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from gallery.trash_services import photos_trash

    made = [photo_factory(family=family, user=alice) for _ in range(photos + 1)]
    photos_trash(user=alice, photo_ids=[made[-1].pk])
    client = client_for(alice)
    client.get(reverse("search:indexing"))
    with django_assert_max_num_queries(14), CaptureQueriesContext(connection) as queries:
        page = client.get(reverse("search:indexing")).content.decode()
    assert f"{photos} pending" in page and f"of {photos})" in page  # the one in the trash is not counted
    with django_assert_max_num_queries(11):
        assert client.get(family.get_absolute_url()).status_code == 200
    # The status count names no column the live index lacks, so PostgreSQL reads the index alone.
    by_status = [q["sql"] for q in queries.captured_queries if 'AS "status", COUNT(' in q["sql"]]
    assert by_status and all('COUNT(*)' in sql for sql in by_status)


@pytest.mark.parametrize("families", [1, 4])
def test_the_index_page_asks_the_same_statements_for_any_number_of_families(alice, client_for, families,
                                                                            django_assert_max_num_queries):
    """Every count grouped by family (it asked six statements per family, every 2 s while it worked)."""
    from gallery.models import Family, Membership
    from tests.factories import photo_factory

    made = []
    for n in range(families):
        family = Family.objects.create(name=f"Family {n}")
        Membership.objects.create(family=family, user=alice, role=Membership.Role.ADMIN if n % 2 else "member")
        made += [photo_factory(family=family, user=alice) for _ in range(n + 1)]
    client = client_for(alice)
    client.get(reverse("search:indexing"))
    with django_assert_max_num_queries(16):
        page = client.get(reverse("search:indexing")).content.decode()
    for n, family in enumerate(Family.objects.filter(name__startswith="Family ").order_by("name")):
        section = re.search(rf'data-family="{family.pk}">(.*?)</section>', page, re.S).group(1)
        assert f"{n + 1} pending" in section


def test_the_index_page_keeps_watching_when_nothing_is_left_to_do(family, alice, client_for):
    """It polled only while photos waited: opened with nothing to do (a new family's first visit, everything indexed),
    it never showed the photos uploaded next (from another tab, by another member) until reloaded, though the README
    says it updates live. Idle, it asks every 15 s; once something waits, every 2 s."""
    from tests.factories import photo_factory

    client = client_for(alice)
    idle = client.get(reverse("search:indexing")).content.decode()
    assert re.search(r'<div id="status-panel" hx-get="/indexing/" hx-trigger="every 15s"', idle)
    photo_factory(family=family, user=alice)  # pending
    working = client.get(reverse("search:indexing"), headers={"HX-Request": "true"}).content.decode()
    assert re.search(r'<div id="status-panel" hx-get="/indexing/" hx-trigger="every 2s"', working)


def test_photos_whose_text_could_not_be_read_are_listed_and_read_again(family, alice, client_for, other_family,
                                                                       mallory):
    """The Index page counted "N failed" for text in photos without naming them (found by helper upl23): it lists
    them with the reason, and reads one or all of them again (the user's families' only)."""
    from gallery.models import Photo
    from search.ocr import OCR_REQUESTED

    mine = [photo_factory(family=family, user=alice) for _ in range(2)]
    theirs = photo_factory(family=other_family, user=mallory)
    Photo.objects.filter(pk__in=[p.pk for p in mine] + [theirs.pk]).update(
        ocr_status=Photo.OcrStatus.FAILED, ocr_reason="The text reader crashed on it.")
    client = client_for(alice)
    body = client.get(reverse("search:indexing")).content.decode()
    assert "Photos whose text could not be read" in body and "The text reader crashed on it." in body
    assert all(p.get_absolute_url() in body for p in mine) and theirs.get_absolute_url() not in body

    client.post(reverse("search:indexing_read_text"), {"photo": str(theirs.pk)})  # another family's: nothing
    client.post(reverse("search:indexing_read_text"), {"photo": str(mine[0].pk)})
    states = dict(Photo.objects.values_list("pk", "ocr_status"))
    assert (states[mine[0].pk], states[mine[1].pk], states[theirs.pk]) == ("pending", "failed", "failed")
    response = client.post(reverse("search:indexing_read_text"), follow=True)
    assert "Reading the text in 1 photo again." in response.content.decode()
    assert Photo.objects.get(pk=mine[1].pk).ocr_reason == OCR_REQUESTED
    assert Photo.objects.get(pk=theirs.pk).ocr_status == "failed"


def test_the_share_indexed_reads_100_only_when_every_photo_is(family):
    """With 221 of 222 photos ready and one failed, the page read "(100% of 222)" under a full bar (QA): the share
    was rounded to the nearest percent, so a large family with photos still pending or failed looked done."""
    from search.selectors import FamilyIndexStatus

    def status(ready, pending=0, failed=0):
        counts = {"ready": ready, "pending": pending, "processing": 0, "failed": failed}
        return FamilyIndexStatus(family=family, counts=counts, total=ready + pending + failed,
                                 search_model="m", active_model="m", active_covered=ready)

    assert status(221, failed=1).percent == 99
    assert status(999, pending=1).percent == 99
    assert status(1, pending=2).percent == 33
    assert status(2, pending=1).percent == 66  # never more than is done
    assert status(222).percent == 100


def test_the_index_page_names_the_model_set_before_any_process_has_loaded_it(family, alice, client_for, settings):
    """Right after SEARCH_MODEL changed (before the worker first loads the new model, up to a sweep later), the page
    said "Model in use: (not loaded yet)", not which model: the one set is named, and that it is not loaded yet."""
    settings.SEARCH_MODEL = "/srv/models/siglip-so400m"

    page = client_for(alice).get(reverse("search:indexing")).content.decode()

    assert re.search(r"Model in use:\s*<code>/srv/models/siglip-so400m</code>\s*\(not loaded yet[):]", page)


def test_during_a_model_switch_the_bar_shows_the_new_models_progress(toy_model, add_shape, family, alice, client_for,
                                                                    settings):
    """Right after SEARCH_MODEL changed, every photo is still "ready" (by the previous model) until the sweep queues
    them: the bar was full beside "0 of 2 done". It shows how far the model now set has read them."""
    from search.selectors import FamilyIndexStatus

    photos = [add_shape("red", "circle"), add_shape("blue", "square")]
    embed_photos(photo_ids=[p.pk for p in photos], fill_to=0)
    settings.SEARCH_MODEL = "/srv/models/siglip-so400m"  # set, not loaded by any process yet

    page = client_for(alice).get(reverse("search:indexing")).content.decode()
    section = re.search(rf'data-family="{family.pk}">(.*?)</section>', page, re.S).group(1)
    assert "(0 of 2 done)" in section
    assert "(the new model: 0% of 2)" in section  # beside "2 ready" (by the previous model)
    assert 'value="0"' in section and 'value="100"' not in section
    switching = FamilyIndexStatus(family=family, counts={"ready": 4, "pending": 0, "processing": 0, "failed": 0},
                                  total=4, search_model="old", active_model="new", active_covered=3)
    assert switching.percent == 75


def test_with_no_worker_running_the_model_not_loaded_says_why(family, alice, client_for, settings):
    """With `serve --no-worker` (or no worker started), the page said the model was "not loaded yet", as if it were
    about to be: nothing loads it until a worker runs."""
    from search.worker_heartbeats import heartbeat_beat

    settings.SEARCH_MODEL = "/srv/models/siglip-so400m"
    client = client_for(alice)
    page = " ".join(client.get(reverse("search:indexing")).content.decode().split())
    assert "(not loaded yet: no worker is running to load it" in page
    heartbeat_beat(cluster=settings.Q_CLUSTER["name"], host="here", pid=1)
    page = " ".join(client.get(reverse("search:indexing")).content.decode().split())
    assert "(not loaded yet)" in page and "no worker is running" not in page
