"""Near-duplicates and colour: the perceptual hash is taken of the grey picture, so every flat picture has the same
hash whatever its colour (a red, a green, a blue and a yellow square were one group "Same picture: perceptual hashes
identical", three ticked for the trash). A hash match counts only when the photos' mean colours agree too; copies of
one flat picture (600 blank scans) still do."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from gallery.models import Photo
from search.duplicate_finder import duplicates_scan
from search.duplicates import duplicate_groups
from search.models import DuplicatePair
from search.tests.test_duplicates import _jpeg_copy, _upload
from tests.queue import run_queued_tasks

pytestmark = pytest.mark.django_db

SQUARES = {"red": (220, 30, 30), "green": (30, 200, 40), "blue": (30, 40, 210), "yellow": (240, 220, 20)}


def flat_png(rgb: tuple[int, int, int], size: int = 96) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (size, size), rgb).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def flat_squares(toy_model, family, alice, django_capture_on_commit_callbacks):
    """Four flat squares of four colours, each its own upload, and a real copy of the red one (a smaller JPEG),
    embedded by the worker, which looks for their near-duplicates."""
    with django_capture_on_commit_callbacks(execute=True):
        photos = {name: _upload(family, alice, flat_png(rgb), f"{name}.png") for name, rgb in SQUARES.items()}
        photos["red copy"] = _upload(family, alice, _jpeg_copy(flat_png(SQUARES["red"]), 64), "red (1).jpg")
    run_queued_tasks()
    assert {p.status for p in Photo.objects.all()} == {Photo.Status.READY}
    assert len({p.phash for p in Photo.objects.all()}) == 1  # the hash is blind to their colours
    return photos


def test_flat_squares_of_different_colours_are_no_duplicates_and_a_real_copy_still_is(flat_squares, family, alice):
    [group] = duplicate_groups(user=alice, family=family)
    assert {m.photo.pk for m in group.members} == {flat_squares["red"].pk, flat_squares["red copy"].pk}
    assert group.keep.pk == flat_squares["red"].pk  # the larger
    [copy] = group.rest
    assert group.members[1].trash
    assert group.members[1].reason.startswith("Same picture: perceptual hashes identical, mean colours ")


def test_a_rescan_pairs_no_two_colours_either(flat_squares, family, alice):
    duplicates_scan(family_id=family.pk)
    paired = {pk for pair in DuplicatePair.objects.values_list("photo_a_id", "photo_b_id") for pk in pair}
    assert paired == {flat_squares["red"].pk, flat_squares["red copy"].pk}


def test_photos_stored_before_mean_colours_were_kept_are_given_theirs_by_the_sweep_and_looked_at_again(
        flat_squares, family, alice):
    """Photos stored before: no mean colour, and their pairs as the hash alone made them (one group of five, its
    reasons saying the colours were not compared). The sweep reads each one's colour from its thumbnail and looks
    for its near-duplicates again: the red square and its copy stay a group, the other colours leave it."""
    from search.services import embed_missing

    Photo.all_objects.update(mean_colour="")
    duplicates_scan(family_id=family.pk)
    [before] = duplicate_groups(user=alice, family=family)
    assert before.size == 5 and "colours not compared yet" in before.members[1].reason

    embed_missing()

    assert {p.mean_colour[:2] for p in Photo.objects.filter(original_filename__startswith="red")} == {"dc"}
    [group] = duplicate_groups(user=alice, family=family)
    assert {m.photo.pk for m in group.members} == {flat_squares["red"].pk, flat_squares["red copy"].pk}


def test_a_photo_whose_thumbnail_cannot_be_read_is_not_tried_again_every_sweep(flat_squares, family, alice):
    from gallery.colour_services import UNREADABLE, photos_mean_colour_fill

    Photo.all_objects.update(mean_colour="")
    blue = Photo.objects.get(pk=flat_squares["blue"].pk)
    blue.thumbnail.storage.delete(blue.thumbnail.name)
    assert sorted(photos_mean_colour_fill()) == sorted(p.pk for p in flat_squares.values() if p.pk != blue.pk)
    assert Photo.objects.get(pk=blue.pk).mean_colour == UNREADABLE
    assert photos_mean_colour_fill() == []


def test_copies_of_one_blank_scan_stay_one_group_with_all_but_the_keeper_ticked(toy_model, family, alice,
                                                                                django_capture_on_commit_callbacks):
    """Scans of blank pages of one paper: a level or two apart, saved at other sizes and qualities."""
    def blank(shade: int, size: int, quality: int) -> bytes:
        out = io.BytesIO()
        Image.new("RGB", (size, size), (shade, shade - 2, shade - 7)).save(out, "JPEG", quality=quality)
        return out.getvalue()

    with django_capture_on_commit_callbacks(execute=True):
        scans = [_upload(family, alice, blank(244 + n % 3, 80 + 8 * n, 70 + 5 * n), f"scan-{n}.jpg") for n in range(6)]
    run_queued_tasks()

    [group] = duplicate_groups(user=alice, family=family)
    assert group.size == 6 and group.keep.pk == scans[-1].pk
    assert all(member.trash for member in group.members[1:])
