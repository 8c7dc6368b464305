"""Private database servers for tests that need settings the shared ones lack.

The shared MariaDB runs with binary logging off and must never be reconfigured, so tests of
the log replay start their own ``mariadbd`` (about a second) with ``--log-bin
--binlog-format=ROW`` on a free loopback port with a temporary data folder, once per test
session, and stop and remove it at the end.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def missing(*tools: str) -> str | None:
    absent = [t for t in tools if shutil.which(t) is None]
    return f"{', '.join(absent)} not installed" if absent else None


@contextmanager
def mariadb_with_binlog() -> Iterator[int]:
    """A private MariaDB with ROW binary logging; yields its port (root, no password)."""
    folder = Path(tempfile.mkdtemp(prefix="rollback-test-mariadb-"))
    data = folder / "data"
    subprocess.run(
        ["mariadb-install-db", "--no-defaults", f"--datadir={data}", "--user=root",
         "--auth-root-authentication-method=normal"],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    port = free_port()
    log = folder / "server.log"
    args = ["mariadbd", "--no-defaults", f"--datadir={data}", f"--port={port}",
            f"--socket={folder / 'sock'}", "--bind-address=127.0.0.1", "--log-bin=binlog",
            "--binlog-format=ROW", "--server-id=1", "--user=root", "--skip-name-resolve",
            "--innodb-buffer-pool-size=64M", "--innodb-log-file-size=16M"]  # fmt: skip
    # started through a shell that exits at once: the server is not a child of the test
    # process, whose own children some tests count (tests/snapshots/dbprobe.py)
    started = subprocess.run(
        ["sh", "-c", 'log="$1"; shift; "$@" >"$log" 2>&1 & echo $!', "sh", str(log), *args],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    pid = int(started.stdout.strip())
    try:
        for _ in range(300):
            probe = subprocess.run(
                ["mariadb", "-h127.0.0.1", f"-P{port}", "-uroot", "-e", "select 1"],
                capture_output=True, check=False,
            )  # fmt: skip
            if probe.returncode == 0:
                break
            if not _alive(pid):
                raise RuntimeError(log.read_text()[-2000:])
            time.sleep(0.1)
        else:
            raise RuntimeError("the private mariadbd did not start in 30 s")
        yield port
    finally:
        _stop(pid)
        shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _stop(pid: int) -> None:
    """SIGTERM the server this module started (by its pid), then SIGKILL after 30 s."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    for _ in range(300):
        if not _alive(pid):
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


@contextmanager
def private_redis() -> Iterator[int]:
    """A private Redis with nothing on disk; yields its port.

    For tests that read server-wide counters (INFO commandstats): on the shared server another
    test run on the same machine moves them too.
    """
    folder = Path(tempfile.mkdtemp(prefix="rollback-test-redis-"))
    port = free_port()
    started = subprocess.run(
        ["sh", "-c", 'cd "$1" && redis-server --port "$2" --bind 127.0.0.1 --save "" '
         '--appendonly no >server.log 2>&1 & echo $!', "sh", str(folder), str(port)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    pid = int(started.stdout.strip())
    try:
        for _ in range(300):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            if not _alive(pid):
                raise RuntimeError((folder / "server.log").read_text()[-2000:])
            time.sleep(0.05)
        else:
            raise RuntimeError("the private redis-server did not start in 15 s")
        yield port
    finally:
        _stop(pid)
        shutil.rmtree(folder, ignore_errors=True)
