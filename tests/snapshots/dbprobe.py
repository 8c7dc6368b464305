"""Look at our own child processes through /proc, as ``ps`` would show them to any user."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def child_processes() -> list[tuple[int, list[str]]]:
    """(pid, argv) of every live child of this process (zombies have no argv and are skipped)."""
    me = os.getpid()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            # the command name may contain spaces and parentheses: parse after the last ")"
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid != me:
                continue
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError, IndexError):
            continue  # the process ended while we looked
        args = [a.decode("utf-8", "replace") for a in argv if a]
        if args:
            found.append((int(entry.name), args))
    return found


def running(pid: int) -> bool:
    """Whether ``pid`` still runs: not ended, and not a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@contextmanager
def unless_ended(pid: int) -> Iterator[None]:
    """Run the block; a failure because ``pid`` ended while we looked is a race, not a finding.

    Reading another process's /proc files, or the temporary files it uses, races with its exit:
    the file may vanish, or a zombie shows an empty environment. Such a failure is dropped when
    the process no longer runs; while it runs, every failure is raised. Callers record what they
    saw only after their checks pass, and assert afterwards that each process was seen.
    """
    try:
        yield
    except (OSError, AssertionError):
        if running(pid):
            raise
