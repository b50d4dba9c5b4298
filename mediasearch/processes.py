"""Process trees that never leave orphans behind: what `serve` and `manage.py worker` use (Linux; elsewhere the
calls do nothing and `serve` still kills each child's whole process group)."""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections.abc import Callable

PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    return ctypes.CDLL(None, use_errno=True).prctl


def death_signal_setter(sig: signal.Signals) -> Callable[[], None]:
    """A function (e.g. a `preexec_fn`) that makes the calling process receive `sig` when its parent dies.

    Built in the parent, so the child only makes one system call. If the parent died before the call,
    the child gets `sig` at once rather than living on as an orphan."""
    prctl = _prctl()
    parent = os.getpid()

    def set_death_signal() -> None:
        if prctl is None:
            return
        prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
        if os.getppid() != parent:
            os.kill(os.getpid(), sig)

    return set_death_signal


def die_with_parent_at_every_fork() -> None:
    """From now on every process forked from this one dies (SIGKILL) when the process that forked it dies.

    The hooks are inherited by the children, so a whole tree built by forking (django-q2's cluster: sentinel,
    pusher, monitor, workers) unravels from wherever it is cut: no orphan keeps taking tasks."""
    prctl = _prctl()
    if prctl is None:
        return
    forked_by = {}

    def remember_parent() -> None:
        forked_by["pid"] = os.getpid()

    def set_death_signal() -> None:
        prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        if os.getppid() != forked_by.get("pid"):
            os.kill(os.getpid(), signal.SIGKILL)

    os.register_at_fork(before=remember_parent, after_in_child=set_death_signal)


def kill_group(pgid: int, sig: signal.Signals = signal.SIGKILL) -> bool:
    """Send `sig` to a whole process group; False when the group is already empty."""
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def has_exited(pid: int) -> bool:
    """Whether our child `pid` has exited, without reaping it: while it is a zombie its pid (which is its
    process group's id) cannot be reused, so killing the group afterwards cannot hit a stranger."""
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True
