"""SQLite component: online backup, integrity check, restore into the live file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from rollback.errors import OperationError
from tests.snapshots.localstore import make_store, sqlite_state


def _seed(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE product (id INTEGER PRIMARY KEY, name TEXT, image BLOB)")
        conn.executemany(
            "INSERT INTO product (name, image) VALUES (?, ?)",
            [("Grüße 日本語 ✓ 😀", bytes(range(256))), ("plain", b"\x00\x01" * 5000)],
        )
        conn.execute("CREATE INDEX product_name ON product (name)")
    conn.close()


def test_round_trip_while_a_connection_stays_open(tmp_path: Path) -> None:
    root = tmp_path / "app"
    root.mkdir()
    db = root / "shop.db"
    _seed(db)
    store = make_store(root, paths=[], services=[{"url": "sqlite:///shop.db"}])
    before = sqlite_state(db)
    snap = store.create("v1")
    manifest = store.manifest(snap.id)
    assert manifest.components[0].server_version == sqlite3.sqlite_version

    reader = sqlite3.connect(db)  # an application's connection, open across the restore
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM product WHERE name = 'plain'")
        conn.execute("ALTER TABLE product ADD COLUMN price REAL")
        conn.execute("CREATE TABLE added (x)")
        conn.execute("UPDATE product SET image = x'ff'")
    conn.close()
    assert sqlite_state(db) != before

    result = store.restore(snap.id)
    assert sqlite_state(db) == before
    assert reader.execute("SELECT count(*) FROM product").fetchone() == (2,)
    reader.close()
    assert result.safety_snapshot is not None
    assert result.safety_snapshot.extra == {"safety_for": snap.id}
    assert store.verify(result.safety_snapshot.id).ok


def test_a_file_that_is_not_a_database_leaves_no_snapshot(tmp_path: Path) -> None:
    root = tmp_path / "app"
    (root / "var").mkdir(parents=True)
    (root / "var" / "a.txt").write_text("a")
    (root / "broken.db").write_bytes(b"this is not a database" * 100)
    store = make_store(root, paths=["var"], services=[{"url": "sqlite:///broken.db"}])
    with pytest.raises(OperationError, match="sqlite") as info:
        store.create("fails")
    assert info.value.hint and "no snapshot was created" in info.value.hint
    assert store.list() == []
    assert [p.name for p in store.store.iterdir()] == [".gitignore"]  # no temp folder left


def test_wal_database_with_an_open_writer(tmp_path: Path) -> None:
    root = tmp_path / "app"
    root.mkdir()
    writer = sqlite3.connect(root / "wal.db")
    writer.execute("PRAGMA journal_mode=wal")
    writer.execute("CREATE TABLE t (x)")
    writer.execute("INSERT INTO t VALUES ('committed, still only in the WAL')")
    writer.commit()
    store = make_store(root, paths=[], services=[{"url": "sqlite:///wal.db"}])
    snap = store.create()
    writer.execute("DELETE FROM t")
    writer.commit()
    store.restore(snap.id)
    assert writer.execute("SELECT x FROM t").fetchall() == [("committed, still only in the WAL",)]
    writer.close()
