"""Redis component against the real server: every type, binary values, TTLs kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from rollback.errors import OperationError
from tests.snapshots.localstore import make_store

pytestmark = pytest.mark.services


def _client(url: str):  # type: ignore[no-untyped-def]
    import redis

    return redis.Redis.from_url(url)


def _value(client, key: bytes) -> object:  # type: ignore[no-untyped-def]
    kind = client.type(key)
    readers = {
        b"string": client.get,
        b"hash": client.hgetall,
        b"list": lambda k: client.lrange(k, 0, -1),
        b"set": client.smembers,
        b"zset": lambda k: client.zrange(k, 0, -1, withscores=True),
    }
    return kind, readers[kind](key)


def _state(client) -> dict[bytes, object]:  # type: ignore[no-untyped-def]
    """Every key's type and exact value (DUMP bytes differ: set encodings reorder members)."""
    return {key: _value(client, key) for key in client.scan_iter()}


def test_round_trip_keeps_values_types_and_ttls(tmp_path: Path, redis_url: str) -> None:
    client = _client(redis_url)
    client.set("plain", "Grüße ✓")
    client.set(b"bin\x00key\xff", bytes(range(256)) * 100)
    client.set("session:1", "expires", px=600_000)
    client.hset("hash", mapping={"a": "1", "b": b"\x00\x01"})
    client.rpush("list", "x", "y", "z")
    client.sadd("set", "m1", "m2")
    client.zadd("zset", {"low": 1.0, "high": 99.5})
    for i in range(1200):  # more than one pipeline batch
        client.set(f"bulk:{i}", i)
    before = _state(client)

    store = make_store(tmp_path / "app", paths=[], services=[{"name": "cache", "url": redis_url}])
    snap = store.create("redis")
    details = store.manifest(snap.id).components[0].details
    assert details["keys"] == str(len(before))

    client.set("plain", "changed")
    client.delete("hash", "bulk:7")
    client.set("added-later", "gone after restore")
    client.persist("session:1")
    client.expire("list", 5)

    result = store.restore(snap.id)
    assert _state(client) == before
    assert client.ttl("plain") == -1  # no TTL stays no TTL
    assert client.ttl("list") == -1
    assert 590 <= client.ttl("session:1") <= 600  # TTL kept within tolerance
    assert result.safety_snapshot is not None
    assert store.verify(result.safety_snapshot.id).ok


def test_truncated_artifact_fails_deep_verify(tmp_path: Path, redis_url: str) -> None:
    client = _client(redis_url)
    client.set("k", "v" * 1000)
    store = make_store(tmp_path / "app", paths=[], services=[{"url": redis_url}])
    snap = store.create()
    comp = store.components[0]
    # rewrite the artifact without its trailer: the sha256 check is bypassed on purpose
    from rollback.data.snapshots.components.streams import open_decompressed
    from rollback.data.snapshots.compress import CompressedWriter

    art = store.store / snap.id / "redis" / "redis.redis.zst"
    with open_decompressed(art) as stream:
        raw = stream.read()
    cut = tmp_path / "cut.zst"
    with CompressedWriter(cut) as out:
        out.write(raw[:-12])
    problems = comp.verify(_folder_with(tmp_path, cut))
    assert problems and "ends" in problems[0]


def _folder_with(tmp_path: Path, artifact: Path) -> Path:
    folder = tmp_path / "cut"
    folder.mkdir()
    artifact.rename(folder / "redis.redis.zst")
    return folder


def test_unreachable_redis_fails_without_snapshot_or_password(tmp_path: Path) -> None:
    store = make_store(
        tmp_path / "app", paths=[], services=[{"url": "redis://:s3cret@127.0.0.1:1/0"}]
    )
    with pytest.raises(OperationError) as info:
        store.create()
    assert "s3cret" not in str(info.value) and "127.0.0.1:1/0" in str(info.value)
    assert "s3cret" not in store.components[0].describe()
    assert store.list() == []


def test_payload_the_server_cannot_load_is_refused_before_flushdb(
    tmp_path: Path, redis_url: str
) -> None:
    import struct

    from rollback.data.snapshots.components.redis import END, MAGIC, RedisComponent
    from rollback.data.snapshots.compress import CompressedWriter
    from rollback.data.snapshots.urls import parse_service_url
    from rollback.errors import RefusedError

    client = _client(redis_url)
    client.set("live", "keep me")
    folder = tmp_path / "snap"
    folder.mkdir()
    with CompressedWriter(folder / "cache.redis.zst") as out:
        bad = b"\x00\x03abc\xff\xff" + b"not a valid dump payload"
        out.write(MAGIC + struct.pack(">I", 1) + b"k" + struct.pack(">qI", 0, len(bad)) + bad)
        out.write(struct.pack(">IQ", END, 1))
    component = RedisComponent("cache", parse_service_url(redis_url, root=tmp_path))
    assert component.verify(folder) == []  # the framing is fine; the payload is not
    with pytest.raises(RefusedError, match="cannot load this snapshot's data"):
        component.check_restore(folder)
    assert client.get("live") == b"keep me"
    assert client.dbsize() == 1  # the probe key is gone


def _fill(client, n: int) -> None:  # type: ignore[no-untyped-def]
    client.set("session:ttl", "expires", px=600_000)
    client.hset("hash", mapping={"a": "1"})
    pipe = client.pipeline(transaction=False)
    for i in range(n):
        pipe.set(f"bulk:{i}", i)
    pipe.execute()


def _evalsha_calls(client) -> int:  # type: ignore[no-untyped-def]
    return int(client.info("commandstats").get("cmdstat_evalsha", {}).get("calls", 0))


def _round_trip(tmp_path: Path, url: str, admin, progress=None) -> None:  # type: ignore[no-untyped-def]
    from rollback.data.snapshots.components.redis import RedisComponent
    from rollback.data.snapshots.urls import parse_service_url

    before = _state(admin)
    component = RedisComponent("cache", parse_service_url(url, root=tmp_path))
    folder = tmp_path / "snap"
    folder.mkdir()
    result = component.dump(folder, progress or (lambda *a: None))
    assert result.details["keys"] == str(len(before))
    admin.flushdb()
    component.restore(folder, lambda *a: None)
    assert _state(admin) == before
    assert 590 <= admin.ttl("session:ttl") <= 600


def test_dump_batches_keys_through_one_script_call_each(
    tmp_path: Path, private_redis_url: str
) -> None:
    redis_url = private_redis_url  # counts EVALSHA server-wide: no other test run may add some
    client = _client(redis_url)
    _fill(client, 3000)
    calls = _evalsha_calls(client)
    _round_trip(tmp_path, redis_url, client)
    assert 2 <= _evalsha_calls(client) - calls <= 10  # a few batches, not a call per key


def test_dump_survives_script_flush_midway(tmp_path: Path, redis_url: str) -> None:
    client = _client(redis_url)
    _fill(client, 12_000)  # ~12 batches; the reader is at most 6 ahead when the flush comes
    flushed: list[int] = []

    def flush_scripts(name: str, done: int, total: int | None) -> None:
        if not flushed:
            client.script_flush()  # as another client (or a failover) could, mid-dump
            flushed.append(done)

    _round_trip(tmp_path, redis_url, client, flush_scripts)
    assert flushed


def test_dump_without_scripting_permission_uses_plain_commands(
    tmp_path: Path, private_redis_url: str
) -> None:
    import secrets

    redis_url = private_redis_url  # counts EVALSHA server-wide: no other test run may add some
    client = _client(redis_url)
    _fill(client, 1200)
    user, password = f"rbtest_{secrets.token_hex(5)}", secrets.token_hex(12)
    # a managed Redis may refuse scripting: this user can do anything else
    client.acl_setuser(
        user,
        enabled=True,
        passwords=[f"+{password}"],
        keys=["*"],
        commands=["+@all", "-@scripting"],
    )
    try:
        calls = _evalsha_calls(client)
        url = redis_url.replace("redis://", f"redis://{user}:{password}@")
        _round_trip(tmp_path, url, client)
        assert _evalsha_calls(client) == calls
    finally:
        client.acl_deluser(user)
