"""`manage.py worker`: django-q2's `qcluster`, except that none of its processes can outlive the one that forked it."""

from __future__ import annotations

from django_q.management.commands.qcluster import Command as QclusterCommand

from mediasearch.processes import die_with_parent_at_every_fork


class Command(QclusterCommand):
    help = ("Run the task worker (django-q2's qcluster) so that if any of its processes dies, everything it "
            "started dies too: no orphaned sentinel, pusher or worker keeps taking tasks. `serve` runs this.")

    def handle(self, *args, **options):
        die_with_parent_at_every_fork()
        return super().handle(*args, **options)
