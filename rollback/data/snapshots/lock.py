"""One operation at a time per snapshot store: a lock file created with O_EXCL.

The file holds who took it (pid, host, command, time) so a refused caller can name the owner.
A lock whose process is gone (same host, dead pid) is reported as stale, never taken over
silently: the operation it guarded may have stopped half-way, and the user should know.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from rollback.errors import RefusedError

LOCK_NAME = "lock"


def describe_owner(info: dict[str, object]) -> str:
    """'pid 123 on host, `rollback snapshot create`, since 2026-...' from a lock's content."""
    return (
        f"pid {info.get('pid', '?')} on {info.get('host', '?')}, "
        f"`{info.get('command', '?')}`, since {info.get('started_at', '?')}"
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _read(path: Path) -> dict[str, object]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _refuse(path: Path) -> RefusedError:
    info = _read(path)
    pid = info.get("pid")
    local = info.get("host") == socket.gethostname()
    if local and isinstance(pid, int) and not _alive(pid):
        return RefusedError(
            f"the snapshot store is locked by a process that no longer runs "
            f"({describe_owner(info)}): the lock is stale",
            hint=f"its operation may have stopped half-way; check `rollback snapshot list`, "
            f"then remove the lock with: rm {path}",
        )
    return RefusedError(
        f"another snapshot operation is running on this store ({describe_owner(info)})",
        hint=f"wait for it to finish; if that process is gone, remove the lock with: rm {path}",
    )


@contextmanager
def store_lock(store: Path, command: str | None = None) -> Iterator[Path]:
    """Hold the lock of ``store`` for the ``with`` block; raise RefusedError if it is taken."""
    store.mkdir(parents=True, exist_ok=True)
    path = store / LOCK_NAME
    info = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "command": command or " ".join(["rollback", *sys.argv[1:]])[:200],
        "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        raise _refuse(path) from None
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(info, fh)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    try:
        yield path
    finally:
        # only remove our own lock (a user may have removed it and another run taken it)
        if _read(path) == info:
            path.unlink(missing_ok=True)


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
