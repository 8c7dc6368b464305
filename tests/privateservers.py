"""Private database servers for tests that need settings the shared ones lack.

The shared MariaDB runs with binary logging off and must never be reconfigured, so tests of
the log replay start their own ``mariadbd`` (about a second) with ``--log-bin
--binlog-format=ROW`` on a free loopback port with a temporary data folder, once per test
session, and stop and remove it at the end.
"""

from __future__ import annotations

import shutil
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
    log = (folder / "server.log").open("wb")
    server = subprocess.Popen(
        ["mariadbd", "--no-defaults", f"--datadir={data}", f"--port={port}",
         f"--socket={folder / 'sock'}", "--bind-address=127.0.0.1", "--log-bin=binlog",
         "--binlog-format=ROW", "--server-id=1", "--user=root", "--skip-name-resolve",
         "--innodb-buffer-pool-size=64M", "--innodb-log-file-size=16M"],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        for _ in range(300):
            probe = subprocess.run(
                ["mariadb", "-h127.0.0.1", f"-P{port}", "-uroot", "-e", "select 1"],
                capture_output=True, check=False,
            )  # fmt: skip
            if probe.returncode == 0:
                break
            if server.poll() is not None:
                raise RuntimeError((folder / "server.log").read_text()[-2000:])
            time.sleep(0.1)
        else:
            raise RuntimeError("the private mariadbd did not start in 30 s")
        yield port
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
        shutil.rmtree(folder, ignore_errors=True)
