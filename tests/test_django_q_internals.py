"""The parts of django-q2 our worker copies or builds on, pinned by their source.

`manage.py worker` (mediasearch/management/commands/worker.py) is qcluster's own `handle` with our cluster in it, and
mediasearch/cluster.py overrides the cluster's stop and the sentinel's restart, relying on how django-q2 starts its
sentinel (by the module-level name `Sentinel`, which `use_restarting_sentinel` replaces), sets the stop event, and marks
a worker that stopped on purpose (`timer.value` 0 after a timeout, -2 after Q_RECYCLE tasks). None of that is a public
API: an upgrade of django-q2 can change it without a word, and our copies would then drift from what they copy.
requirements.txt pins django-q2; whoever raises the pin meets this test, reads the new code of what it names against
ours, mends ours, and then records the new digests here.
"""

from __future__ import annotations

import hashlib
import inspect

import django_q
from django_q import cluster, worker
from django_q.management.commands import qcluster

# Upstream code → sha256 of its source (first 16 hex digits), django-q2 1.11.1, and what of ours depends on it.
PINNED = {
    "qcluster.Command.handle": ("4ccd3a45ff702769", qcluster.Command.handle, "copied in worker.py's handle"),
    "cluster.Cluster.start": ("70fbc24e3cd71bbd", cluster.Cluster.start,
                              "BoundedStopCluster.start; starts `Sentinel` by its module-level name"),
    "cluster.Cluster.stop": ("0230e6a459b68502", cluster.Cluster.stop, "BoundedStopCluster._stop_quietly"),
    "cluster.Cluster.sig_handler": ("e17fb87045374b32", cluster.Cluster.sig_handler,
                                    "replaced by BoundedStopCluster.sig_handler"),
    "cluster.Sentinel.__init__": ("6ddfa0bde90a4a73", cluster.Sentinel.__init__,
                                  "RestartingSentinel.__init__ (the workers are forked from it)"),
    "cluster.Sentinel.reincarnate": ("1c3dc62b7aa35a00", cluster.Sentinel.reincarnate,
                                     "RestartingSentinel.reincarnate"),
    "cluster.Sentinel.guard": ("b48dce5446f6cad6", cluster.Sentinel.guard,
                               "when RestartingSentinel.reincarnate is called, and with which timer values"),
    "worker.worker": ("b30d59f639b088ea", worker.worker, "the timer values TIMED_OUT and RECYCLED in cluster.py"),
}


def digest(obj) -> str:
    return hashlib.sha256(inspect.getsource(obj).encode()).hexdigest()[:16]


def test_the_django_q2_code_our_worker_copies_is_the_code_it_was_written_against():
    changed = [f"django_q.{name} (ours: {ours}): now {digest(obj)}"
               for name, (pinned, obj, ours) in PINNED.items() if digest(obj) != pinned]
    assert not changed, (
        f"django-q2 {'.'.join(map(str, django_q.VERSION))} changed code that mediasearch copies or overrides; read "
        "each against ours, mend ours, then record the new digests in this test:\n  " + "\n  ".join(changed))

