"""Near-duplicates: "Not duplicates: keep all" keeps apart the photos of one action (every two of them), not the
photos of a chain of actions sharing a photo."""

from __future__ import annotations

import importlib
from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from gallery.models import Photo
from search.duplicate_finder import duplicates_scan
from search.duplicates import duplicate_groups, duplicates_dismiss
from search.models import DuplicateDismissal, DuplicatePair
from search.tests.test_duplicates import _photos

pytestmark = pytest.mark.django_db


def test_two_keep_alls_sharing_a_photo_do_not_keep_the_other_two_apart(family, alice):
    """A and B were kept apart, then B and C: A and C (copies of each other nobody looked at together) were kept
    apart too, as one chain. Only the photos of one "keep all" stay apart."""
    a, b, c = _photos(family, alice, ["0123456789abcdef"] * 3)
    DuplicatePair.objects.create(family=family, photo_a=a, photo_b=b, hash_distance=0)
    assert duplicates_dismiss(user=alice, family=family, photo_ids=[a.pk, b.pk]) == 1
    DuplicatePair.objects.create(family=family, photo_a=b, photo_b=c, hash_distance=0)
    assert duplicates_dismiss(user=alice, family=family, photo_ids=[b.pk, c.pk]) == 1

    duplicates_scan(family_id=family.pk)

    assert [sorted(group) for group in duplicate_groups(user=alice, family=family).groups] == [sorted([a.pk, c.pk])]


def test_a_keep_all_keeps_every_two_photos_of_its_group_apart(family, alice):
    """One action on a chain A~B~C keeps A and C apart too (the member kept all three), even with A and C copies."""
    a, b, c = _photos(family, alice, ["0123456789abcdef"] * 3)
    DuplicatePair.objects.create(family=family, photo_a=a, photo_b=b, hash_distance=0)
    DuplicatePair.objects.create(family=family, photo_a=b, photo_b=c, hash_distance=0)
    assert duplicates_dismiss(user=alice, family=family, photo_ids=[a.pk, b.pk, c.pk]) == 2
    duplicates_scan(family_id=family.pk)
    assert duplicate_groups(user=alice, family=family) == []


def test_the_keeper_is_not_ticked_against_a_photo_kept_with_it(family, alice):
    """A, B and C kept all (one action on the chain A~B~C: no pair of A and C stored), then D, a copy of A and C,
    joins A and C in a group: C is not ticked for the trash beside A (the member said they are no duplicates), D
    is."""
    a, b, c, d = _photos(family, alice, ["0123456789abcdef"] * 4)
    Photo.objects.filter(pk=a.pk).update(width=400)
    DuplicatePair.objects.create(family=family, photo_a=a, photo_b=b, hash_distance=0)
    DuplicatePair.objects.create(family=family, photo_a=b, photo_b=c, hash_distance=0)
    duplicates_dismiss(user=alice, family=family, photo_ids=[a.pk, b.pk, c.pk])
    DuplicatePair.objects.create(family=family, photo_a=a, photo_b=d, hash_distance=0)
    DuplicatePair.objects.create(family=family, photo_a=c, photo_b=d, hash_distance=0)

    [group] = duplicate_groups(user=alice, family=family)

    assert [(m.photo.pk, m.trash) for m in group.members] == [(a.pk, False), (c.pk, False), (d.pk, True)]


def test_dismissals_made_before_actions_were_recorded_get_one_action_a_click(family, alice, bob):
    """Migration search 0031 names the action of each dismissal stored before: the rows one click stored (one
    member, one family, within moments) share one; another click, or another member's, is another."""
    photos = _photos(family, alice, ["0123456789abcdef"] * 5)
    rows = []
    for n, (x, y) in enumerate([(0, 1), (1, 2), (2, 3), (3, 4), (0, 4)]):
        rows.append(DuplicateDismissal.objects.create(family=family, photo_a=photos[x], photo_b=photos[y],
                                                      dismissed_by=bob if n == 4 else alice))
    first = rows[0].dismissed_at
    for row, seconds in zip(rows, [0, 0.01, 60, 60.02, 60.01]):  # clicks: rows 0-1, rows 2-3, bob's row 4
        DuplicateDismissal.objects.filter(pk=row.pk).update(dismissed_at=first + timedelta(seconds=seconds))
    DuplicateDismissal.objects.update(action=rows[0].action)  # as AddField leaves them: one value for all

    _run_migration_0031()

    action = dict(DuplicateDismissal.objects.values_list("pk", "action"))
    assert action[rows[0].pk] == action[rows[1].pk] and action[rows[2].pk] == action[rows[3].pk]
    assert len({action[rows[0].pk], action[rows[2].pk], action[rows[4].pk]}) == 3


def test_migration_0031_keeps_two_unrelated_clicks_within_two_seconds_apart(family, alice):
    """One member keeps all of group {a, b} and, a second later (an API script dismissing groups in a loop), group
    {c, d}: before the migration a and c were free to pair (no chain of dismissed pairs joins them); the migration
    made them one action, kept apart. Rows of one click share a chain: split by that too."""
    a, b, c, d = _photos(family, alice, ["0123456789abcdef"] * 4)
    first = DuplicateDismissal.objects.create(family=family, photo_a=a, photo_b=b, dismissed_by=alice)
    second = DuplicateDismissal.objects.create(family=family, photo_a=c, photo_b=d, dismissed_by=alice)
    DuplicateDismissal.objects.filter(pk=second.pk).update(dismissed_at=first.dismissed_at + timedelta(seconds=1))
    DuplicateDismissal.objects.update(action=first.action)

    _run_migration_0031()
    duplicates_scan(family_id=family.pk)

    action = dict(DuplicateDismissal.objects.values_list("pk", "action"))
    assert action[first.pk] != action[second.pk]
    grouped = {pk for group in duplicate_groups(user=alice, family=family).groups for pk in group}
    assert {a.pk, c.pk} <= grouped or {a.pk, d.pk} <= grouped


def _run_migration_0031() -> None:
    """Name the actions as migration search 0031 does, on the rows the test stored."""
    executor = MigrationExecutor(connection)
    migration = executor.loader.get_migration("search", "0031_duplicate_dismissal_action")
    apps = executor.loader.project_state(("search", migration.name), at_end=True).apps
    importlib.import_module(migration.__module__).dismissal_actions_named(apps, None)
