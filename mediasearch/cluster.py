"""django-q2's cluster, restarted whole when one of its processes dies by itself.

django-q2's sentinel replaces a dead worker, pusher or monitor with a new one on the same multiprocessing queues.
That is only safe when the process died holding none of their locks, and an idle worker holds one: it waits for a
task inside `task_queue.get()`, with the queue's read lock taken. Killed there (`kill -9`, the OOM killer choosing
the process that holds the model), it takes the lock with it; the worker started in its place waits for that lock
forever, and the cluster looks alive but never runs a task again (django-q2 issue #23, open upstream). A pusher or
monitor killed while writing or reading a queue does the same.

Stopping is bounded too (BoundedStopCluster): a SIGTERM sent to every process of the worker at once (systemd's default
KillMode, `kill -TERM -PGID`, a container stopping) kills the sentinel while it waits on the stop event between its
rounds, and django-q2's handler in the main process then sets that event, which waits for the sleepers it wakes to say
so: a dead one never does, and the worker hung there for ever.

So a process that died without django-q2 stopping it ends the sentinel instead; the cluster's other processes die
with it (mediasearch.processes.die_with_parent_at_every_fork), `manage.py worker` then exits, and whatever runs it
(`serve`, systemd's Restart=) starts a fresh cluster with fresh queues. Tasks it had taken come back: embedding by
its leases and the recovery task, any task by the broker's redelivery (ORM broker) or the sweeps (Redis).
"""

from __future__ import annotations

import logging
import os
import threading
import time

from django_q import cluster

logger = logging.getLogger(__name__)

RECYCLED = -2  # django-q2's timer value of a worker that stopped after Q_RECYCLE tasks, on purpose
TIMED_OUT = 0  # its timer value of a worker whose task ran past Q_TIMEOUT: the sentinel stops it itself


# The stop event of the cluster this process belongs to (set in its sentinel, inherited by the workers it forks).
_stop_event = None


def cluster_stopping() -> bool:
    """Whether the cluster running this task has been asked to stop. django-q2 lets a stopping cluster's workers run
    every task they hold (the one running, the one in their queue, the one the pusher fetched) before they stop: a
    long task checks this between its steps and hands back what it has not done, so a stop takes seconds. False
    outside a cluster."""
    return _stop_event is not None and _stop_event.is_set()


class RestartingSentinel(cluster.Sentinel):
    def __init__(self, stop_event, *args, **kwargs):
        global _stop_event
        _stop_event = stop_event  # before the workers are forked (django-q2 starts them from __init__)
        super().__init__(stop_event, *args, **kwargs)

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


# How long an orderly stop (each worker finishes the task it runs, the queues are drained) may take before what is
# left of the cluster is killed: within `serve`'s 30 s and the README units' TimeoutStopSec=45.
STOP_SECONDS = 25


class BoundedStopCluster(cluster.Cluster):
    """django-q2's Cluster, stopped without ever blocking the main process. Its SIGTERM/SIGINT handler asks the
    sentinel to stop from a thread of its own (Cluster.stop: set the stop event, wait for the sentinel), so the main
    process goes on watching: it ends once the sentinel has (`multiprocessing.active_children()`, as the worker's
    heartbeat loop waits), whether the sentinel stopped in order or died with everyone else of a process group, in
    which case setting the event may wait for ever on the dead one (a daemon thread: it does not hold the exit up).
    A stop that takes longer than STOP_SECONDS kills the sentinel (its processes die with it): `kill_if_overdue`."""

    stop_asked_at: float | None = None
    stopping: threading.Thread | None = None  # the thread that stops the sentinel, once there is one to stop

    def sig_handler(self, signum, frame):
        logger.info("worker got signal %s: stopping the cluster", signum)
        if self.stop_asked_at is not None:
            return  # already stopping (a second signal, or the same one sent to the group and passed on)
        self.stop_asked_at = time.monotonic()
        if self.sentinel is not None and self.sentinel.pid is not None:
            self._stop_in_background()
        # else asked before start() started the sentinel (a SIGTERM as the worker starts): start() stops it

    def start(self) -> int:
        pid = super().start()
        if self.stop_asked_at is not None and self.stopping is None:
            # The stop asked for found no sentinel, and django-q2 started the cluster all the same: stopped in order
            # now, its STOP_SECONDS counted from here (it would otherwise run on until killed mid-task).
            self.stop_asked_at = time.monotonic()
            self._stop_in_background()
        return pid

    def _stop_in_background(self) -> None:
        self.stopping = threading.Thread(target=self._stop_quietly, name="cluster-stop", daemon=True)
        self.stopping.start()

    def _stop_quietly(self) -> None:
        try:
            self.stop()
        except Exception:  # noqa: BLE001 - e.g. the sentinel gone between the check and the join: nothing to stop
            logger.warning("stopping the cluster", exc_info=True)

    def kill_if_overdue(self) -> None:
        """Called while the main process waits for the sentinel: kill it when a stop asked for takes too long."""
        if self.stop_asked_at is None or time.monotonic() - self.stop_asked_at < STOP_SECONDS:
            return
        sentinel = self.sentinel
        if sentinel is not None and sentinel.is_alive():
            logger.error("the cluster did not stop within %s s; killing it (a task it ran comes back)", STOP_SECONDS)
            sentinel.kill()
