"""One operation at a time per snapshot store: an exclusive lock file (``rollback.lockfile``).

The file holds who took it (pid, host, command, time) so a refused caller can name the owner.
A lock whose process is gone (same host, dead pid) is reported as stale, never taken over
silently: the operation it guarded may have stopped half-way, and the user should know.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rollback import lockfile
from rollback.errors import RefusedError

LOCK_NAME = "lock"


def describe_owner(info: dict[str, object]) -> str:
    """'pid 123 on host, `rollback snapshot create`, since 2026-...' from a lock's content."""
    owner = lockfile.owner_from(info)
    return owner.describe() if owner else "an unknown owner"


def _refuse(taken: lockfile.LockTaken) -> RefusedError:
    path, owner = taken.path, taken.owner
    who = owner.describe() if owner else "an unknown owner"
    if taken.dead:
        return RefusedError(
            f"the snapshot store is locked by a process that no longer runs ({who}): "
            "the lock is stale",
            hint=f"its operation may have stopped half-way; check `rollback snapshot list`, "
            f"then remove the lock with: rm {path}",
        )
    return RefusedError(
        f"another snapshot operation is running on this store ({who})",
        hint=f"wait for it to finish; if that process is gone, remove the lock with: rm {path}",
    )


@contextmanager
def store_lock(store: Path, command: str | None = None) -> Iterator[Path]:
    """Hold the lock of ``store`` for the ``with`` block; raise RefusedError if it is taken.

    A dead owner's lock is reported as stale, never taken over: the operation it guarded may
    have stopped half-way (``lockfile`` is shared with the rollback run's lock).
    """
    path = store / LOCK_NAME
    try:
        with lockfile.hold(path, command):
            yield path
    except lockfile.LockTaken as taken:
        if taken.path != path:
            raise
        raise _refuse(taken) from None


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within the block, ``kill PID`` (SIGTERM) stops the work like Ctrl-C does.

    Python's default SIGTERM ends the process at once, skipping ``finally`` blocks: the
    temporary folder and the lock would stay behind. As KeyboardInterrupt they are cleaned.
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
