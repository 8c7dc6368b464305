"""Hermetic test environment and real-service fixtures.

Every test runs with HOME and XDG folders in a temporary directory, no system or global git
config, a fixed identity and ``GIT_EDITOR=false``. Service fixtures create uniquely named
databases on the real servers of this machine and drop them afterwards; when a server is not
reachable they skip with the reason, or fail when ``ROLLBACK_REQUIRE_SERVICES=1``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.gitrepo import Repo

REQUIRE_SERVICES = os.environ.get("ROLLBACK_REQUIRE_SERVICES") == "1"
MYSQL_HOST = os.environ.get("ROLLBACK_TEST_MYSQL_HOST", "127.0.0.1")
PG_HOST = os.environ.get("ROLLBACK_TEST_PG_HOST", "127.0.0.1")
REDIS_HOST = os.environ.get("ROLLBACK_TEST_REDIS_HOST", "127.0.0.1")


@pytest.fixture(autouse=True)
def hermetic(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path_factory.mktemp("home")
    for key in list(os.environ):
        if key.startswith(("GIT_", "ROLLBACK_")) and key != "ROLLBACK_REQUIRE_SERVICES":
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Ada Tester")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "ada@example.com")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Ada Tester")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "ada@example.com")
    monkeypatch.setenv("GIT_EDITOR", "false")
    monkeypatch.setenv("GIT_TERMINAL_PROMPT", "0")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "120")
    monkeypatch.setenv("TZ", "UTC")
    (home / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n[gc]\n\tauto = 0\n")


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repo:
    """An empty repository on branch main; the current directory is its work tree."""
    r = Repo.init(tmp_path / "work")
    monkeypatch.chdir(r.path)
    return r


def _service_unavailable(reason: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"service required (ROLLBACK_REQUIRE_SERVICES=1) but {reason}")
    pytest.skip(reason)


def _probe(args: list[str]) -> str | None:
    """Run a client probe; return None when it works, else why not."""
    if shutil.which(args[0]) is None:
        return f"{args[0]} is not installed"
    proc = subprocess.run(args, capture_output=True, text=True, timeout=20, check=False)
    if proc.returncode != 0:
        return f"{' '.join(args[:3])}...: {proc.stderr.strip() or proc.returncode}"
    return None


def _mysql(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["mariadb", "-h", MYSQL_HOST, "-P", "3306", "-uroot", *args],
        capture_output=True,
        text=True,
        check=True,
    )


@pytest.fixture
def mysql_url() -> Iterator[str]:
    """A fresh, empty MariaDB/MySQL database; yields its URL and drops it afterwards."""
    why = _probe(["mariadb", "-h", MYSQL_HOST, "-uroot", "-e", "select 1"])
    if why:
        _service_unavailable(f"MariaDB not reachable at {MYSQL_HOST}:3306: {why}")
    name = f"rbtest_{uuid.uuid4().hex[:12]}"
    _mysql("-e", f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    try:
        yield f"mysql://root@{MYSQL_HOST}:3306/{name}"
    finally:
        _mysql("-e", f"DROP DATABASE IF EXISTS `{name}`")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database; yields its URL and drops it afterwards."""
    why = _probe(["psql", "-h", PG_HOST, "-U", "postgres", "-Atc", "select 1", "postgres"])
    if why:
        _service_unavailable(f"PostgreSQL not reachable at {PG_HOST}:5432: {why}")
    name = f"rbtest_{uuid.uuid4().hex[:12]}"
    psql = ["psql", "-h", PG_HOST, "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-q", "postgres"]
    subprocess.run([*psql, "-c", f'CREATE DATABASE "{name}"'], check=True, capture_output=True)
    try:
        yield f"postgresql://postgres@{PG_HOST}:5432/{name}"
    finally:
        subprocess.run(
            [*psql, "-c", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'],
            check=True,
            capture_output=True,
        )


@pytest.fixture
def redis_url() -> Iterator[str]:
    """An empty Redis logical database (1-15), flushed before and after; yields its URL."""
    import redis

    try:
        client = redis.Redis(host=REDIS_HOST, port=6379, socket_connect_timeout=3)
        client.ping()
    except Exception as exc:  # any connection failure means: not available
        _service_unavailable(f"Redis not reachable at {REDIS_HOST}:6379: {exc}")
    lock = None
    for db in range(1, 16):
        candidate = redis.Redis(host=REDIS_HOST, port=6379, db=db)
        # claim the db with a marker key so parallel test runs do not share one
        marker = f"rollback-test-claim-{uuid.uuid4().hex}"
        if candidate.dbsize() == 0 and candidate.set("__rollback_test_claim__", marker, nx=True):
            lock = (candidate, db)
            break
    if lock is None:
        _service_unavailable("no empty Redis database (1-15) is free for a test")
        raise AssertionError("unreachable")
    candidate, db = lock
    candidate.delete("__rollback_test_claim__")
    try:
        yield f"redis://{REDIS_HOST}:6379/{db}"
    finally:
        candidate.flushdb()


@pytest.fixture(scope="session")
def binlog_server() -> Iterator[int]:
    """A private MariaDB with ROW binary logging, shared by the session; yields its port."""
    from tests.privateservers import mariadb_with_binlog, missing

    why = missing("mariadb-install-db", "mariadbd", "mariadb", "mariadb-binlog")
    if why:
        _service_unavailable(f"a private MariaDB with binary logging needs {why}")
    with mariadb_with_binlog() as port:
        yield port


@pytest.fixture
def binlog_url(binlog_server: int) -> Iterator[str]:
    """A fresh database on the private binlog server; yields its URL and drops it afterwards."""
    name = f"rbtest_{uuid.uuid4().hex[:12]}"
    base = ["mariadb", "-h127.0.0.1", f"-P{binlog_server}", "-uroot", "-e"]
    subprocess.run([*base, f"CREATE DATABASE `{name}`"], check=True, capture_output=True)
    try:
        yield f"mysql://root@127.0.0.1:{binlog_server}/{name}"
    finally:
        subprocess.run(
            [*base, f"DROP DATABASE IF EXISTS `{name}`"], check=True, capture_output=True
        )


@pytest.fixture(scope="session")
def private_redis_port() -> Iterator[int]:
    """A private Redis for the session (tests that count server-wide commands)."""
    from tests.privateservers import missing, private_redis

    why = missing("redis-server")
    if why:
        _service_unavailable(f"a private Redis needs {why}")
    with private_redis() as port:
        yield port


@pytest.fixture
def private_redis_url(private_redis_port: int) -> Iterator[str]:
    """Database 0 of the private Redis, flushed before and after; yields its URL."""
    import redis

    client = redis.Redis(host="127.0.0.1", port=private_redis_port)
    client.flushall()
    try:
        yield f"redis://127.0.0.1:{private_redis_port}/0"
    finally:
        client.flushall()


# -- restic ------------------------------------------------------------------------------------

RESTIC_PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="session")
def _restic_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One initialised repository per session: ``restic init`` costs 2 s, a copy nothing."""
    if shutil.which("restic") is None:
        _service_unavailable("restic is not installed (apt-get install restic)")
    path = tmp_path_factory.mktemp("restic-template") / "repo"
    env = {**os.environ, "RESTIC_PASSWORD": RESTIC_PASSWORD}
    subprocess.run(["restic", "-r", str(path), "init", "-q"], env=env, check=True, timeout=60)
    from tests.restickey import cheapen_keys

    cheapen_keys(path, RESTIC_PASSWORD)  # 0.5 s less for every restic command of the tests
    return path


@pytest.fixture
def restic_repo(_restic_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh local-path restic repository; its password is in RESTIC_PASSWORD."""
    path = tmp_path / "restic-repo"
    shutil.copytree(_restic_template, path)
    monkeypatch.setenv("RESTIC_PASSWORD", RESTIC_PASSWORD)
    return path


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def rest_server(
    _restic_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path]]:
    """A real restic REST backend: ``rclone serve restic`` on a free loopback port, with
    basic auth (user ``rb``, password ``s3cret-rest``). Yields (base URL without the
    credentials, the folder it serves); a test copies the template repository below it."""
    import time
    import urllib.error
    import urllib.request

    if shutil.which("rclone") is None:
        _service_unavailable("rclone is not installed (apt-get install rclone)")
    folder = tmp_path_factory.mktemp("rest-server")
    port = free_port()
    log = folder.parent / "rclone.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            ["rclone", "serve", "restic", "--addr", f"127.0.0.1:{port}", "--user", "rb",
             "--pass", "s3cret-rest", "--config", "/dev/null", str(folder)],
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(100):  # until it answers (401 without credentials)
            try:
                urllib.request.urlopen(base, timeout=1)
            except urllib.error.HTTPError:
                break
            except OSError:
                if proc.poll() is not None:
                    _service_unavailable(f"rclone serve restic exited: {log.read_text()[-300:]}")
                time.sleep(0.05)
        yield base, folder
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def rest_repo(
    rest_server: tuple[str, Path], _restic_template: Path, monkeypatch: pytest.MonkeyPatch
) -> str:
    """A fresh repository on the REST server; returns its ``rest:`` URL with credentials."""
    base, folder = rest_server
    name = f"repo-{uuid.uuid4().hex[:10]}"
    shutil.copytree(_restic_template, folder / name)
    monkeypatch.setenv("RESTIC_PASSWORD", RESTIC_PASSWORD)
    return "rest:" + base.replace("http://", "http://rb:s3cret-rest@") + name + "/"
