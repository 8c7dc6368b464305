"""Exclusive lock files that name their owner and detect a dead one (borg and restic do so).

The file holds who took it (pid, host, command, time), so that a refused caller can name the
owner, and a later caller can tell that the owner is gone (same host, pid no longer running).
What to do about a dead owner is the caller's choice: the snapshot store reports it as stale;
a rollback run reports its run as interrupted, and ``resume``/``abort`` take the lock over.

Taking and taking over happen under ``flock`` on the lock's folder, so two callers never both
decide that a lock is free or that its dead owner may be replaced. A temporary file per caller
(``mkstemp``) is renamed into place: no two writers share a temporary name.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path


@dataclass(frozen=True)
class Owner:
    """Who holds (or held) a lock."""

    pid: int | None
    host: str | None
    command: str
    started_at: str

    def describe(self) -> str:
        """'pid 123 on host, `rollback apply ...`, since 2026-...'"""
        return (
            f"pid {self.pid if self.pid is not None else '?'} on {self.host or '?'}, "
            f"`{self.command}`, since {self.started_at}"
        )

    def alive(self) -> bool | None:
        """Whether the owner still runs: None when it runs on another host (cannot tell)."""
        if self.host != socket.gethostname() or self.pid is None:
            return None
        return pid_alive(self.pid)

    def as_dict(self) -> dict[str, object]:
        return {
            "pid": self.pid,
            "host": self.host,
            "command": self.command,
            "started_at": self.started_at,
        }


class LockTaken(Exception):
    """The lock is held; ``owner`` says by whom, ``dead`` whether that process is gone."""

    def __init__(self, path: Path, owner: Owner | None) -> None:
        super().__init__(f"{path} is locked")
        self.path = path
        self.owner = owner
        self.dead = owner is not None and owner.alive() is False


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def me(command: str | None = None) -> Owner:
    return Owner(
        pid=os.getpid(),
        host=socket.gethostname(),
        command=command or " ".join(["rollback", *sys.argv[1:]])[:200],
        started_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )


def owner_from(data: object) -> Owner | None:
    if not isinstance(data, dict):
        return None
    pid = data.get("pid")
    return Owner(
        pid=pid if isinstance(pid, int) and not isinstance(pid, bool) else None,
        host=str(data["host"]) if data.get("host") else None,
        command=str(data.get("command", "?")),
        started_at=str(data.get("started_at", "?")),
    )


def read_owner(path: Path) -> Owner | None:
    """The owner named in the lock file, or None when there is no (readable) lock file."""
    try:
        return owner_from(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return None


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file of our own, fsync, rename."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def _folder_guard(folder: Path) -> Iterator[None]:
    import fcntl

    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the flock


def acquire(path: Path, owner: Owner, *, take_dead: bool = False) -> Owner | None:
    """Take the lock at ``path`` for ``owner``; return the dead owner taken over, if any.

    Raises ``LockTaken`` when someone holds it (and, with ``take_dead``, is not known dead).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with _folder_guard(path.parent):
        previous = read_owner(path) if path.exists() else None
        if path.exists():
            taken = LockTaken(path, previous)
            if not (take_dead and taken.dead):
                raise taken
        write_atomic(path, json.dumps(owner.as_dict()))
        return previous


def release(path: Path, owner: Owner) -> None:
    """Remove the lock if it is still ours (a user may have removed it and another taken it)."""
    with _folder_guard(path.parent):
        if read_owner(path) == owner:
            path.unlink(missing_ok=True)


@contextmanager
def hold(
    path: Path, command: str | None = None, *, take_dead: bool = False
) -> Iterator[Owner | None]:
    """Hold the lock at ``path`` for the ``with`` block; yields the dead owner taken over."""
    owner = me(command)
    previous = acquire(path, owner, take_dead=take_dead)
    try:
        yield previous
    finally:
        release(path, owner)
