"""django-q2's cluster, restarted whole when one of its processes dies by itself.

django-q2's sentinel replaces a dead worker, pusher or monitor with a new one on the same multiprocessing queues.
That is only safe when the process died holding none of their locks, and an idle worker holds one: it waits for a
task inside `task_queue.get()`, with the queue's read lock taken. Killed there (`kill -9`, the OOM killer choosing
the process that holds the model), it takes the lock with it; the worker started in its place waits for that lock
forever, and the cluster looks alive but never runs a task again (django-q2 issue #23, open upstream). A pusher or
monitor killed while writing or reading a queue does the same.

So a process that died without django-q2 stopping it ends the sentinel instead; the cluster's other processes die
with it (mediasearch.processes.die_with_parent_at_every_fork), `manage.py worker` then exits, and whatever runs it
(`serve`, systemd's Restart=) starts a fresh cluster with fresh queues. Tasks it had taken come back: embedding by
its leases and the recovery task, any task by the broker's redelivery (ORM broker) or the sweeps (Redis).
"""

from __future__ import annotations

import logging
import os

from django_q import cluster

logger = logging.getLogger(__name__)

RECYCLED = -2  # django-q2's timer value of a worker that stopped after Q_RECYCLE tasks, on purpose
TIMED_OUT = 0  # its timer value of a worker whose task ran past Q_TIMEOUT: the sentinel stops it itself


class RestartingSentinel(cluster.Sentinel):
    def reincarnate(self, process):
        if process in self.pool and process.timer.value in (TIMED_OUT, RECYCLED):
            # Stopped by django-q2 itself, outside any queue operation (running a task, or done with them).
            return super().reincarnate(process)
        logger.critical(
            "cluster process %s (pid %s) died by itself (exit code %s); it may have held a lock of the task queues, "
            "so the whole cluster stops and is started afresh", process.name, process.pid, process.exitcode,
        )
        os._exit(1)  # no clean-up: it would wait on those locks too; the children die with this process


def use_restarting_sentinel() -> None:
    """Make clusters started from now on in this process use RestartingSentinel (django-q2's Cluster.start names its
    sentinel class at module level, and has no setting for it)."""
    cluster.Sentinel = RestartingSentinel
