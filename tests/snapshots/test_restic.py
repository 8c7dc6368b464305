"""The restic provider against real restic: a REST backend (rclone serve restic, with basic
auth) and local-path repositories. Folders go in as restic trees, databases and Redis as the
streams of the same dump commands the local store runs.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest

from rollback.config import load_config
from rollback.data.snapshots.restic.provider import ResticProvider
from tests.cli import rollback
from tests.conftest import RESTIC_PASSWORD, free_port
from tests.snapshots.dbprobe import child_processes, unless_ended
from tests.snapshots.localstore import sqlite_state, toml_value, tree_state
from tests.snapshots.test_local_mysql_pg import MYSQL_STATE, PG_STATE, _mysql, _psql

pytestmark = pytest.mark.services


def project(root: Path, repository: str, **restic: Any) -> Path:
    """A project folder with ``.rollback.toml`` choosing the restic provider."""
    root.mkdir(parents=True, exist_ok=True)
    lines = ['provider = "restic"', "[restic]", f"repository = {json.dumps(repository)}"]
    for key, value in restic.items():
        if isinstance(value, list):
            lines.append(f"{key} = [" + ", ".join(toml_value(v) for v in value) + "]")
        else:
            lines.append(f"{key} = {toml_value(value)}")
    (root / ".rollback.toml").write_text("\n".join(lines) + "\n")
    return root


def provider(root: Path) -> ResticProvider:
    return ResticProvider.from_config(load_config(root))


def restic(repo: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RESTIC_PASSWORD": RESTIC_PASSWORD, "RESTIC_REPOSITORY": repo}
    return subprocess.run(["restic", *args], env=env, capture_output=True, text=True, check=True)


def media(root: Path, count: int = 3, size: int = 2000) -> None:
    folder = root / "pub" / "media"
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        (folder / f"img-{i:03d}.jpg").write_bytes(os.urandom(size))
    (root / "pub" / "media" / "link.jpg").symlink_to("img-000.jpg")


def test_databases_redis_and_folders_round_trip_through_a_rest_server(
    tmp_path: Path, rest_repo: str, mysql_url: str, postgres_url: str, redis_url: str
) -> None:
    import redis

    root = project(
        tmp_path / "shop",
        rest_repo,
        paths=["pub/media"],
        services=[{"url": mysql_url}, {"url": postgres_url}, {"url": redis_url}],
    )
    media(root)
    _mysql(mysql_url, "CREATE TABLE product (id INT PRIMARY KEY, name VARCHAR(50), img BLOB);"
           "INSERT INTO product VALUES (1, 'Grüße 😀', 0x00FF10), (2, 'plain', NULL);")  # fmt: skip
    _psql(postgres_url, "CREATE TABLE product (id INT PRIMARY KEY, name TEXT, img BYTEA);"
          "INSERT INTO product VALUES (1, 'Grüße', '\\x00ff10'), (2, 'plain', NULL);")  # fmt: skip
    cache = redis.Redis.from_url(redis_url)
    cache.set("price:1", b"\x00\xff9.99", px=3_600_000)
    before = (
        tree_state(root / "pub/media"), _mysql(mysql_url, MYSQL_STATE),
        _psql(postgres_url, PG_STATE), cache.get("price:1"),
    )  # fmt: skip

    seen: list[list[str]] = []

    def watch(name: str, done: int, total: int | None) -> None:
        for pid, argv in child_processes():
            if argv and argv[0] == "restic":
                with unless_ended(pid):
                    environ = Path(f"/proc/{pid}/environ").read_bytes()
                    assert f"RESTIC_PASSWORD={RESTIC_PASSWORD}".encode() in environ
                    seen.append(argv)

    store = provider(root)
    snap = store.create(
        "before deploy", commit="c0ffee" * 6 + "abcd", branch="main", progress=watch
    )
    assert snap.components == ("files", "mysql", "postgres", "redis")
    assert snap.added_bytes and snap.size_bytes and snap.label == "before deploy"
    assert [s.id for s in store.list()] == [snap.id]
    assert store.list()[0].commit == "c0ffee" * 6 + "abcd"
    # one restic snapshot per component plus the manifest, tied by tags
    listed = json.loads(
        restic(rest_repo, "snapshots", "--json", "--tag", f"rollback-id={snap.id}").stdout
    )
    parts = sorted(t for s in listed for t in s["tags"] if t.startswith("rollback-part="))
    assert parts == [
        f"rollback-part={p}" for p in ("files", "manifest", "mysql", "postgres", "redis")
    ]
    dumped = restic(
        rest_repo,
        "dump",
        next(s["id"] for s in listed if "rollback-part=mysql" in s["tags"]),
        "/mysql.sql",
    )
    assert "CREATE TABLE `product`" in dumped.stdout  # the raw dump: restic deduplicates it
    assert seen and all(
        RESTIC_PASSWORD not in a and "s3cret-rest" not in a for argv in seen for a in argv
    )

    (root / "pub/media/img-001.jpg").unlink()
    (root / "pub/media/new.jpg").write_bytes(b"uploaded after the snapshot")
    _mysql(mysql_url, "UPDATE product SET name = 'changed'; CREATE TABLE extra (x INT);")
    _psql(postgres_url, "DELETE FROM product WHERE id = 2; CREATE TABLE extra (x INT);")
    cache.flushdb()
    cache.set("other", "x")

    result = store.restore(snap.id, safety=False)
    assert result.safety_snapshot is None
    after = (
        tree_state(root / "pub/media"), _mysql(mysql_url, MYSQL_STATE),
        _psql(postgres_url, PG_STATE), cache.get("price:1"),
    )  # fmt: skip
    assert after == before
    assert cache.get("other") is None and 0 < cache.pttl("price:1") <= 3_600_000
    assert not list((root / "pub/media").glob(".rollback-restore-*"))  # staging removed


def test_plan_sized_folder_snapshot_after_one_percent_changed_costs_a_fraction(
    tmp_path: Path, restic_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = project(tmp_path / "shop", str(restic_repo), paths=["pub/media"])
    media(root, count=100, size=20_000)
    first = rollback(capsys, "snapshot", "create", "-C", str(root), "--json")
    assert first.code == 0, first.err
    full = json.loads(first.out)
    assert full["added_bytes"] >= 100 * 20_000  # random data: everything is new

    (root / "pub/media/img-007.jpg").write_bytes(os.urandom(20_000))  # 1 % of the files
    second = rollback(capsys, "snapshot", "create", "-C", str(root), "--label", "again")
    assert second.code == 0, second.err
    listed = json.loads(rollback(capsys, "snapshot", "list", "-C", str(root), "--json").out)
    delta = next(s for s in listed if s["label"] == "again")
    assert delta["size_bytes"] == full["size_bytes"]  # the same data is in both
    assert 20_000 <= delta["added_bytes"] <= 0.03 * full["added_bytes"]
    shown = f"({delta['added_bytes'] / 1000:.1f} KB added to the repository)"
    assert shown in " ".join(second.out.split()), second.out


def test_restic_failures_map_to_our_exit_codes(
    tmp_path: Path, restic_repo: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    root = project(tmp_path / "shop", str(restic_repo), paths=["var"])
    (root / "var").mkdir()
    (root / "var" / "a").write_text("a")

    def run(*args: str) -> Any:
        return rollback(capsys, *args, "-C", str(root))

    missing = project(tmp_path / "nowhere", str(tmp_path / "no-repo"), paths=[])
    gone = rollback(capsys, "snapshot", "list", "-C", str(missing))
    assert gone.code == 2 and f"no restic repository at {tmp_path / 'no-repo'}" in gone.err
    assert f"restic -r {tmp_path / 'no-repo'} init" in gone.err

    monkeypatch.setenv("RESTIC_PASSWORD", "wrong")
    wrong = run("snapshot", "list")
    assert wrong.code == 2 and "wrong password for restic repository" in wrong.err
    monkeypatch.delenv("RESTIC_PASSWORD")
    unset = run("snapshot", "list")
    assert unset.code == 2 and "environment variable RESTIC_PASSWORD is empty" in unset.err

    # the password from a command, which restic runs itself (never on its command line)
    project(root, str(restic_repo), paths=["var"], password_command=f"echo {RESTIC_PASSWORD}")
    made = run("snapshot", "create", "--json")
    assert made.code == 0, made.err
    sid = json.loads(made.out)["id"]

    # another restic holds the repository: refused (3), nothing changed
    env = {**os.environ, "RESTIC_PASSWORD": RESTIC_PASSWORD}
    holder = subprocess.Popen(
        ["restic", "-r", str(restic_repo), "backup", "--stdin", "-q"],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )  # fmt: skip
    try:
        for _ in range(100):  # its lock file appears once it has opened the repository
            if any((restic_repo / "locks").iterdir()):
                break
            subprocess.run(["sleep", "0.05"], check=True)
        locked = run("snapshot", "verify", sid)  # restic check needs an exclusive lock
        assert locked.code == 3 and "is locked by another restic" in locked.err
        assert "restic -r" in locked.err and "unlock" in locked.err
    finally:
        holder.kill()
        holder.wait()

    unreachable = project(tmp_path / "far", f"rest:http://127.0.0.1:{free_port()}/r/", paths=[])
    monkeypatch.setenv("RESTIC_PASSWORD", RESTIC_PASSWORD)
    far = rollback(capsys, "snapshot", "list", "-C", str(unreachable))
    assert far.code == 1 and "cannot be reached" in far.err

    bad = project(tmp_path / "bad", str(restic_repo), check_subset="half")
    assert rollback(capsys, "snapshot", "list", "-C", str(bad)).code == 2
    inside = project(tmp_path / "inside", "var/repo", paths=["var"])
    refused = rollback(capsys, "snapshot", "list", "-C", str(inside))
    assert refused.code == 2 and "contains the snapshot store" in refused.err


def test_an_interrupted_create_is_never_listed_and_prune_removes_it(
    tmp_path: Path, restic_repo: Path, mysql_url: str
) -> None:
    root = project(
        tmp_path / "shop",
        str(restic_repo),
        paths=["var"],
        services=[{"url": mysql_url.rsplit("/", 1)[0] + "/no_such_db"}],
        retention_days=1,
    )
    (root / "var").mkdir()
    (root / "var" / "a").write_text("a")
    store = provider(root)
    with pytest.raises(Exception, match="no_such_db") as failed:
        store.create("doomed")
    assert "no snapshot was created" in str(getattr(failed.value, "hint", ""))
    assert store.list() == []
    left = json.loads(restic(str(restic_repo), "snapshots", "--json", "--tag", "rollback").stdout)
    assert left == []  # the parts already written were forgotten at once

    # a set killed before its manifest (kill -9): parts without a manifest
    subprocess.run(
        ["restic", "-r", str(restic_repo), "backup", "--stdin", "--stdin-filename", "x.sql",
         "--tag", "rollback", "--tag", "rollback-id=20260101-000000-killed",
         "--tag", "rollback-part=mysql", "-q"],
        input=b"partial", check=True, env={**os.environ, "RESTIC_PASSWORD": RESTIC_PASSWORD},
    )  # fmt: skip
    project(root, str(restic_repo), paths=["var"], retention_days=1)
    store = provider(root)
    kept = store.create("kept")
    assert [s.id for s in store.list()] == [kept.id]
    assert store.prune() == ["20260101-000000-killed (incomplete)"]
    left = json.loads(restic(str(restic_repo), "snapshots", "--json", "--tag", "rollback").stdout)
    assert {t for s in left for t in s["tags"] if t.startswith("rollback-id=")} == {
        f"rollback-id={kept.id}"
    }
    # expired (retention_days = 1): prune forgets the whole set
    old = ResticProvider(store.restic_settings, clock=lambda: kept.created_at.replace(year=2100))
    assert old.list()[0].restorable is False
    assert old.prune() == [kept.id]
    assert provider(root).list() == []


def test_sqlite_and_a_single_file_restore_with_a_safety_snapshot(
    tmp_path: Path, restic_repo: Path
) -> None:
    root = project(
        tmp_path / "shop",
        str(restic_repo),
        paths=["app/etc/env.php", "var/gone"],
        services=[{"url": "sqlite:///var/app.db"}],
    )
    (root / "app/etc").mkdir(parents=True)
    (root / "app/etc/env.php").write_text("<?php return ['db' => 'a'];")
    (root / "var").mkdir()
    with sqlite3.connect(root / "var/app.db") as db:
        db.execute("CREATE TABLE t (x TEXT)")
        db.execute("INSERT INTO t VALUES ('before')")
    db.close()
    store = provider(root)
    snap = store.create("base")
    state = sqlite_state(root / "var/app.db")

    (root / "app/etc/env.php").write_text("<?php return ['db' => 'b'];")
    (root / "var/gone").mkdir()  # recorded absent: the restore removes it again
    with sqlite3.connect(root / "var/app.db") as db:
        db.execute("INSERT INTO t VALUES ('after')")
    db.close()
    result = store.restore(snap.id)
    assert (root / "app/etc/env.php").read_text() == "<?php return ['db' => 'a'];"
    assert not (root / "var/gone").exists()
    assert sqlite_state(root / "var/app.db") == state
    assert result.safety_snapshot is not None
    assert result.safety_snapshot.extra["safety_for"] == snap.id
    verified = store.verify(snap.id)  # restic check plus the components' own checks
    assert verified.ok, verified.problems

    undone = provider(root).restore(result.safety_snapshot.id, safety=False)
    assert undone.snapshot.id == result.safety_snapshot.id
    assert (root / "app/etc/env.php").read_text() == "<?php return ['db' => 'b'];"
    assert (root / "var/gone").is_dir()
    assert ("after",) in sqlite3.connect(root / "var/app.db").execute("SELECT x FROM t").fetchall()


def test_two_snapshots_in_the_same_second_with_the_same_label_get_distinct_ids(
    tmp_path: Path, restic_repo: Path
) -> None:
    from datetime import datetime, timezone

    root = project(tmp_path / "shop", str(restic_repo), paths=["var"])
    (root / "var").mkdir()
    (root / "var" / "a").write_text("a")
    when = datetime(2026, 12, 2, 10, 0, 0, tzinfo=timezone.utc)
    store = ResticProvider(provider(root).restic_settings, clock=lambda: when)
    first = store.create("deploy")
    assert store.get(first.id).id == first.id  # listed right after its create
    again = ResticProvider(store.restic_settings, clock=lambda: when).create("deploy")
    assert first.id == "20261202-100000-deploy" and again.id.startswith(first.id + "-")
    assert {s.id for s in store.list()} == {first.id, again.id}
    assert all(s.created_at == when for s in store.list())

    store.delete(again.id)  # forget --prune of every part of the set
    assert [s.id for s in store.list()] == [first.id]
    left = json.loads(restic(str(restic_repo), "snapshots", "--json").stdout)
    assert {t for s in left for t in s["tags"] if t.startswith("rollback-id=")} == {
        f"rollback-id={first.id}"
    }


def test_verify_reports_a_damaged_repository_and_restore_changes_nothing(
    tmp_path: Path, restic_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = project(
        tmp_path / "shop",
        str(restic_repo),
        paths=[],
        services=[{"url": "sqlite:///app.db"}],
        check_subset="100%",
    )
    with sqlite3.connect(root / "app.db") as db:
        db.execute("CREATE TABLE t (x BLOB)")
        db.execute("INSERT INTO t VALUES (randomblob(300000))")
    db.close()
    sid = provider(root).create("base").id
    assert provider(root).verify(sid).ok
    packs = sorted((restic_repo / "data").rglob("*"), key=lambda p: p.stat().st_size)
    damaged = bytearray(packs[-1].read_bytes())  # the largest pack holds the database
    damaged[len(damaged) // 2] ^= 0xFF
    packs[-1].chmod(0o644)
    packs[-1].write_bytes(bytes(damaged))

    shown = rollback(capsys, "snapshot", "verify", sid, "-C", str(root))
    assert shown.code == 3, shown.err
    assert "restic check --read-data-subset 100%" in shown.out
    assert "sqlite.sqlite" in shown.out  # the component's own read-back failed too
    before = sqlite_state(root / "app.db")
    with sqlite3.connect(root / "app.db") as db:
        db.execute("DELETE FROM t")
    db.close()
    changed = sqlite_state(root / "app.db")
    assert changed != before
    failed = rollback(capsys, "snapshot", "restore", sid, "--yes", "-C", str(root))
    assert failed.code == 1 and "safety snapshot" in failed.err
    assert sqlite_state(root / "app.db") == changed  # the damaged stream never reached it


def test_creation_time_survives_a_daylight_saving_hour_in_the_users_zone(
    tmp_path: Path, restic_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import datetime, timezone

    monkeypatch.setenv("TZ", "Europe/Berlin")  # 02:30 local on 2026-10-25 happens twice
    root = project(tmp_path / "shop", str(restic_repo), paths=["var"])
    (root / "var").mkdir()
    (root / "var" / "a").write_text("a")
    when = datetime(2026, 10, 25, 1, 30, 0, tzinfo=timezone.utc)  # 02:30 CET, the second one
    snap = ResticProvider(provider(root).restic_settings, clock=lambda: when).create("dst")
    assert snap.created_at == when
    assert provider(root).list()[0].created_at == when
