"""`manage.py ocr_worker`: the worker of the OCR queue (settings.OCR_CLUSTER), at low CPU priority.

django-q2 picks a cluster's queue from Q_CLUSTER_NAME when it is first imported, so without it set this command
starts itself again with it; `serve` runs this when OCR_ENABLED."""

from __future__ import annotations

import os
import sys

from django.conf import settings

from mediasearch.management.commands.worker import Command as WorkerCommand

NICENESS = 10  # OCR yields the CPU to the web server and to embedding


class Command(WorkerCommand):
    help = "Run the OCR task worker: `manage.py worker` on the OCR queue, at niceness 10."

    def handle(self, *args, **options):
        if os.environ.get("Q_CLUSTER_NAME") != settings.OCR_CLUSTER:
            os.execve(sys.executable, [sys.executable, *sys.argv],
                      {**os.environ, "Q_CLUSTER_NAME": settings.OCR_CLUSTER})
        os.nice(max(0, NICENESS - os.nice(0)))
        return super().handle(*args, **options)
