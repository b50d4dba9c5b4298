"""Queuing a task for the worker, on whichever broker Q_BROKER names.

With Redis as the broker, a Redis that does not answer (restarted, down for a moment) made every request that queues
a task a 500, an upload included, although its photos were stored. What is queued here is also found again by a
sweep (photos waiting to be embedded or read, families being deleted, vector indexes of deleted families,
suggestions, calibrations, query terms to prepare): a task the broker refused is logged and left to it. On the
database broker a failure to queue is a database error, answered as every other one (503)."""

from __future__ import annotations

import logging

from django_q.tasks import async_task

logger = logging.getLogger(__name__)


def _broker_errors() -> tuple[type[Exception], ...]:
    try:
        from redis.exceptions import RedisError
    except ImportError:  # no Redis client installed: only the database broker can be in use
        return ()
    return (RedisError,)


def enqueue(func: str, *args, **kwargs) -> str | None:
    """django-q2's async_task; None when the broker does not answer (the sweep queues the work again later)."""
    try:
        return async_task(func, *args, **kwargs)
    except _broker_errors() as exc:
        logger.warning("the task queue does not answer (%s): %s is left to the next sweep", exc, func)
        return None


def queue_size(cluster: str) -> int | None:
    """How many tasks wait on `cluster`'s queue, as its broker says; None when the broker does not answer."""
    from django_q.brokers import get_broker

    try:
        return get_broker(cluster).queue_size()
    except _broker_errors() as exc:
        logger.warning("the task queue does not answer (%s)", exc)
        return None
