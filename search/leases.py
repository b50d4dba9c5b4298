"""Leases on work items: how a task says "I am working on this" so that no other worker takes it while the task
lives, and any worker may take it soon after the task dies.

One task run is one owner. It acquires leases when it claims work, a heartbeat thread renews them while it
runs, and it releases them when done. Every time here is the database's clock (`statement_timestamp()`), so
machines with skewed clocks agree on what has expired.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.db import connection, connections
from django.db.models import Exists, OuterRef, QuerySet
from django.db.models.functions import Now

from search.models import WorkLease

logger = logging.getLogger(__name__)

EMBED = "embed"  # object_id is a Photo id
OCR = "ocr"  # object_id is a Photo id whose text is being read


def lease_owner() -> str:
    """A name for one task run, unique across machines and runs; readable in the admin and logs."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def live_lease(kind: str) -> Exists:
    """True for rows whose primary key holds an unexpired lease of `kind` (for `.filter()`/`.exclude()`)."""
    return Exists(WorkLease.objects.filter(kind=kind, object_id=OuterRef("pk"), expires_at__gt=Now()))


@dataclass(frozen=True)
class Abandoned:
    """Items a dead worker left in progress (leases_abandoned): those to try again, and those to give up on."""

    retry: list[int]
    give_up: list[int]  # it died on them `max_attempts` times: an item that kills its worker would loop forever


def leases_abandoned(queryset: QuerySet, *, kind: str, attempts: str, max_attempts: int) -> Abandoned:
    """The rows of `queryset` (items left in progress) that hold no live lease of `kind`: their worker died. Those
    whose `attempts` field (a try counted at each claim) reached `max_attempts` are to be given up on, the others
    tried again; a claim never takes an item past that limit, so only this recovery does, to fail it (the embedding's
    and the OCR readers' alike). Locked until the transaction ends (rows another transaction holds are skipped: that
    one is busy with them); the expired leases of `kind` go, as they protect nothing (the next claim overwrites
    them), with those of deleted items."""
    candidates = list(queryset.select_for_update(skip_locked=True).filter(~live_lease(kind)).values_list("pk", attempts))
    # With the rows locked, look again with a fresh snapshot: a claim that committed meanwhile holds a lease.
    live = set(WorkLease.objects.filter(kind=kind, object_id__in=[pk for pk, _ in candidates], expires_at__gt=Now())
               .values_list("object_id", flat=True))
    WorkLease.objects.filter(kind=kind, expires_at__lte=Now()).delete()
    dead = [(pk, n) for pk, n in candidates if pk not in live]
    return Abandoned(retry=[pk for pk, n in dead if n < max_attempts],
                     give_up=[pk for pk, n in dead if n >= max_attempts])


def leases_acquire(*, kind: str, object_ids: Iterable[int], owner: str, seconds: int) -> set[int]:
    """Take the leases on these items that nobody holds (never held, released, or expired); returns their ids.

    One statement: a lease row held by a live owner is left alone even if its holder commits a moment
    after this transaction began (ON CONFLICT locks and re-reads the row), so two workers never both win."""
    ids = sorted(set(object_ids))
    if not ids:
        return set()
    table = connection.ops.quote_name(WorkLease._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table} AS lease (kind, object_id, owner, expires_at)
            SELECT %s, item, %s, statement_timestamp() + make_interval(secs => %s)
            FROM unnest(%s::bigint[]) AS item
            ON CONFLICT (kind, object_id) DO UPDATE
                SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at
                WHERE lease.expires_at <= statement_timestamp()
            RETURNING object_id
            """,
            [kind, owner, seconds, ids],
        )
        return {row[0] for row in cursor.fetchall()}


def leases_held(*, kind: str, object_ids: Iterable[int], owner: str) -> set[int]:
    """Which of these items `owner` still holds. Expired but not taken by anyone counts as held: nobody
    else has started on it, so the owner's result is still the only one."""
    return set(WorkLease.objects.filter(kind=kind, owner=owner, object_id__in=list(object_ids))
               .values_list("object_id", flat=True))


def leases_renew(*, owner: str, seconds: int) -> int:
    """Push back the expiry of every lease `owner` holds; returns how many it still holds."""
    return WorkLease.objects.filter(owner=owner).update(expires_at=Now() + timedelta(seconds=seconds))


def leases_release(*, owner: str, kind: str | None = None, object_ids: Iterable[int] | None = None) -> int:
    """Give up `owner`'s leases (all, or these items); returns how many went."""
    held = WorkLease.objects.filter(owner=owner)
    if kind is not None:
        held = held.filter(kind=kind)
    if object_ids is not None:
        held = held.filter(object_id__in=list(object_ids))
    return held.delete()[0]


class LeaseHeartbeat:
    """Renews `owner`'s leases every third of their length while the `with` block runs, then releases them.

    The thread has its own database connection (Django's are per thread) and closes it when it stops. A
    failed renewal is logged and tried again at the next beat: two beats may be missed before a lease runs out.
    """

    def __init__(self, *, owner: str, seconds: int):
        self.owner = owner
        self.seconds = seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease heartbeat {owner}", daemon=True)

    def __enter__(self) -> LeaseHeartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()
        leases_release(owner=self.owner)

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.seconds / 3):
                try:
                    leases_renew(owner=self.owner, seconds=self.seconds)
                except Exception:  # noqa: BLE001 - a database blip must not end the heartbeat
                    logger.exception("could not renew the leases of %s", self.owner)
                    connections.close_all()  # a broken connection is reopened at the next beat
        finally:
            connections.close_all()
