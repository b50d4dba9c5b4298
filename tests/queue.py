"""Run what is really in the django-q2 ORM queue, in this process: for tests that need the queue's
contents executed without starting a cluster (the crash test starts a real one)."""

from __future__ import annotations

from django.utils.module_loading import import_string
from django_q.brokers import get_broker
from django_q.signing import SignedPackage


def queued_tasks(cluster: str | None = None) -> list[dict]:
    """The tasks of the main queue (or of `cluster`'s own queue), taken off it."""
    broker = get_broker(cluster)
    tasks = []
    while broker.queue_size():  # (dequeue on an empty queue sleeps for the poll interval)
        batch = broker.dequeue() or []
        for ack_id, payload in batch:
            tasks.append(SignedPackage.loads(payload))
            broker.acknowledge(ack_id)
    return tasks


def run_queued_tasks(max_rounds: int = 10, cluster: str | None = None) -> int:
    """Execute queued tasks (and any they queue) until the queue is empty. Returns how many ran."""
    ran = 0
    for _ in range(max_rounds):
        tasks = queued_tasks(cluster)
        if not tasks:
            return ran
        for task in tasks:
            func = task["func"]
            func = import_string(func) if isinstance(func, str) else func
            func(*task["args"], **task["kwargs"])
            ran += 1
    return ran


def text_queued(cluster: str) -> list[int]:
    """What the OCR queue (`cluster`'s) will read, its tasks taken off it: the photos waiting to be read, each once
    (they wait in the database: search.ocr.photos_to_read), when a reader is queued; none when no reader is."""
    from search.ocr import photos_to_read

    if not any(task["func"] == "search.tasks.read_text_task" for task in queued_tasks(cluster)):
        return []
    return sorted(photos_to_read().values_list("pk", flat=True))
