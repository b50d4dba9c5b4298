"""`manage.py worker`: django-q2's `qcluster`, except that none of its processes can outlive the one that forked it,
that it ends (to be started afresh) when one of them dies by itself (mediasearch.cluster), and that it says it is
alive (search.worker_heartbeats) for `/health/`."""

from __future__ import annotations

import os

from django.conf import settings
from django.core.management.base import CommandError
from django.db import connections
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.management.commands.qcluster import Command as QclusterCommand
from django_q.scheduler import scheduler

from mediasearch.cluster import BoundedStopCluster, use_restarting_sentinel
from mediasearch.health import unapplied_migrations
from mediasearch.processes import die_with_parent_at_every_fork
from search.services import embed_sweep_now
from search.worker_heartbeats import beat_while_cluster_runs


def broker_unreachable() -> str:
    """What to say when the task queue's broker does not answer (a Redis down or restarting); empty when it does (the
    database broker answers whenever the migrations check above could run)."""
    try:
        from redis.exceptions import RedisError
    except ImportError:  # no Redis client: the database broker
        return ""
    try:
        get_broker().ping()
    except RedisError as exc:
        return (f"the task queue's Redis server (Q_BROKER) does not answer ({str(exc).rstrip('.')}): start it, or "
                "check Q_BROKER.")
    return ""


class Command(QclusterCommand):
    help = ("Run the task worker (django-q2's qcluster) so that if any of its processes dies, everything it "
            "started dies too: no orphaned sentinel, pusher or worker keeps taking tasks. `serve` runs this.")

    def handle(self, *args, **options):
        if missing := unapplied_migrations():
            # Before the first `migrate` (separate units started first) or between an upgrade's pull and its migrate:
            # the cluster would fail on every table it reads, in tracebacks, and its pusher would end it.
            raise CommandError(f"{missing} migration(s) of this code are not applied to the database yet: run "
                               "`manage.py migrate` (with the site's environment) first, then start the worker.")
        if problem := broker_unreachable():
            raise CommandError(problem)  # one line, rather than the cluster's tracebacks at every restart
        # What waits for the embedding sweep (photos after a model switch, photos whose tasks were lost while no
        # worker ran) starts now rather than at the sweep's next turn, up to 5 minutes away; and it is queued here,
        # with whatever else is due, rather than at the cluster's first scheduler turn, 30 s after its start
        # (django-q2's guard loop). Other clusters' turns take none of them twice: the scheduler locks the rows.
        embed_sweep_now()
        if Conf.SCHEDULER:
            scheduler(broker=get_broker())
        # The cluster's processes are forked: they make connections of their own. With DATABASE_POOL, closing a
        # connection only hands it back to the pool, whose idle socket every forked process would share: closed too.
        # (Nothing may open a connection from here to the fork: the first process to close the shared socket would
        # close this process's, and its heartbeat with it.)
        connections.close_all()
        for alias in connections:
            connections[alias].close_pool()
        die_with_parent_at_every_fork()
        use_restarting_sentinel()
        # qcluster's own handle, with a cluster whose stop never blocks this process (mediasearch.cluster).
        settings.SECRET_KEY  # noqa: B018 - as qcluster: the queue's messages are signed with it
        if options.get("cluster_name"):
            os.environ["Q_CLUSTER_NAME"] = options["cluster_name"]
        q = BoundedStopCluster()
        try:
            q.start()  # returns once the cluster runs (its sentinel is our child process)
        except RuntimeError:
            if q.stop_asked_at is None:
                raise
            return  # stopped while starting (its sentinel killed with the rest of the process group): nothing runs
        if options.get("run_once"):
            q.stop()
            return
        # The main process only waited for the sentinel until now; it beats while it waits instead. A SIGTERM or
        # SIGINT reaches the cluster's handler, which stops the sentinel without blocking; the loop then ends.
        beat_while_cluster_runs(Conf.CLUSTER_NAME, tick=q.kill_if_overdue)
