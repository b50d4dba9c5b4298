"""gallery.services.on_commit_collected: what a transaction collected is flushed once after it commits, and what a
transaction that rolled back collected is never flushed (found by helper rel28: the items stayed on the connection and
went out with the next transaction's, so photos never stored were queued for embedding)."""

from __future__ import annotations

from contextlib import suppress

import pytest
from django.db import transaction

from gallery.services import on_commit_collected

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_transaction_flushes_its_items_once_after_it_commits():
    flushed = []
    with transaction.atomic():
        on_commit_collected("probe_commit", [1, 2], flushed.append)
        on_commit_collected("probe_commit", [2, 3], flushed.append)
        assert flushed == []
    assert flushed == [{1, 2, 3}]


def test_what_a_rolled_back_transaction_collected_is_not_flushed_with_the_next_one():
    flushed = []
    with suppress(RuntimeError), transaction.atomic():
        on_commit_collected("probe_rollback", [1], flushed.append)
        raise RuntimeError
    with transaction.atomic():
        on_commit_collected("probe_rollback", [2], flushed.append)
    assert flushed == [{2}]


def test_what_only_a_rolled_back_savepoint_collected_is_not_flushed():
    flushed = []
    with transaction.atomic():
        with suppress(RuntimeError), transaction.atomic():
            on_commit_collected("probe_savepoint", [1], flushed.append)
            raise RuntimeError
        on_commit_collected("probe_savepoint", [2], flushed.append)
    assert flushed == [{2}]
