"""All five component kinds in one local store against the real servers: create, change,
restore, equal. The MySQL and PostgreSQL components have their own detailed tests; this one
proves the store drives them like the others (one manifest, one safety snapshot, one restore).
"""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.snapshots.localstore import make_store, sqlite_state, tree_state

pytestmark = pytest.mark.services


def _mysql(url: str, sql: str) -> str:
    parts = urlsplit(url)
    args = ["mariadb", "-h", parts.hostname or "", "-P", str(parts.port), "-uroot", "-N", "-B"]
    args.append("--default-character-set=utf8mb4")
    return subprocess.run(
        [*args, parts.path.lstrip("/"), "-e", sql], capture_output=True, text=True, check=True
    ).stdout


def _psql(url: str, sql: str) -> str:
    return subprocess.run(
        ["psql", url, "-v", "ON_ERROR_STOP=1", "-Atq", "-c", sql],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


MYSQL_STATE = "SELECT id, name, HEX(img) FROM product ORDER BY id; SHOW TABLES;"
PG_STATE = (
    "SELECT id, name, encode(img, 'hex') FROM product ORDER BY id;"
    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1;"
)


def test_five_kinds_round_trip_together(
    tmp_path: Path, mysql_url: str, postgres_url: str, redis_url: str
) -> None:
    import redis

    root = tmp_path / "shop"
    (root / "pub" / "media").mkdir(parents=True)
    (root / "pub" / "media" / "a.jpg").write_bytes(b"\xff\xd8 image")
    with sqlite3.connect(root / "app.db") as db:
        db.execute("CREATE TABLE t (x TEXT)")
        db.execute("INSERT INTO t VALUES ('Grüße')")
    db.close()
    _mysql(
        mysql_url,
        "CREATE TABLE product (id INT PRIMARY KEY, name VARCHAR(50), img BLOB) CHARSET utf8mb4;"
        "INSERT INTO product VALUES (1, 'Grüße 😀', 0x00FF10), (2, 'plain', NULL);",
    )
    _psql(
        postgres_url,
        "CREATE TABLE product (id int PRIMARY KEY, name text, img bytea);"
        "INSERT INTO product VALUES (1, 'Grüße 😀', '\\x00ff10'), (2, 'plain', NULL);",
    )
    cache = redis.Redis.from_url(redis_url)
    cache.set("k", b"\x00v", px=300_000)

    store = make_store(
        root,
        paths=["pub/media"],
        services=[
            {"url": "sqlite:///app.db"},
            {"name": "shop", "url": mysql_url},
            {"url": postgres_url},
            {"url": redis_url},
        ],
    )
    before = (
        tree_state(root / "pub" / "media"),
        sqlite_state(root / "app.db"),
        _mysql(mysql_url, MYSQL_STATE),
        _psql(postgres_url, PG_STATE),
        cache.get("k"),
    )
    snap = store.create("all five")
    assert snap.components == ("files", "sqlite", "shop", "postgres", "redis")
    versions = {c.name: c.server_version for c in store.manifest(snap.id).components}
    assert versions["shop"] and versions["postgres"] and versions["redis"]

    (root / "pub" / "media" / "a.jpg").unlink()
    with sqlite3.connect(root / "app.db") as db:
        db.execute("DROP TABLE t")
    db.close()
    _mysql(mysql_url, "UPDATE product SET name = 'x'; CREATE TABLE added (i INT);")
    _psql(postgres_url, "DELETE FROM product; CREATE TABLE added (i int);")
    cache.flushdb()

    result = store.restore(snap.id)
    after = (
        tree_state(root / "pub" / "media"),
        sqlite_state(root / "app.db"),
        _mysql(mysql_url, MYSQL_STATE),
        _psql(postgres_url, PG_STATE),
        cache.get("k"),
    )
    assert after == before
    assert 290 <= cache.ttl("k") <= 300
    assert result.safety_snapshot is not None
    assert store.verify(result.safety_snapshot.id).ok
