"""The Redis component: SCAN + DUMP + PTTL per key, streamed into one compressed artifact.

Framing (after the magic line): per key ``>I`` key length, key, ``>q`` TTL in ms (0 = none),
``>I`` value length, the DUMP payload; then a trailer ``>I 0xFFFFFFFF`` and ``>Q`` key count,
so a truncated artifact is detected. Restore empties the database (FLUSHDB, only ever after
the store's safety snapshot) and RESTOREs every key with REPLACE and its remaining TTL.
"""

from __future__ import annotations

import secrets
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rollback.errors import OperationError, RefusedError
from rollback.snapshots.base import Progress
from rollback.snapshots.components.base import Artifact, DumpResult
from rollback.snapshots.components.streams import open_decompressed, read_exact
from rollback.snapshots.compress import CompressedWriter
from rollback.snapshots.urls import ServiceURL

if TYPE_CHECKING:
    import redis as redis_mod

MAGIC = b"ROLLBACK-REDIS-1\n"
END = 0xFFFFFFFF
BATCH = 500  # keys per pipeline round trip
BATCH_BYTES = 8 << 20  # flush a restore pipeline at this many payload bytes


class RedisComponent:
    kind = "redis"

    def __init__(self, name: str, url: ServiceURL) -> None:
        self.name = name
        self.url = url

    @property
    def artifact(self) -> str:
        return f"{self.name}.redis.zst"

    def describe(self) -> str:
        return f"redis {self.url.safe}"

    def _client(self) -> redis_mod.Redis:
        import redis
        from redis.backoff import ExponentialBackoff
        from redis.retry import Retry

        return redis.Redis(
            # two quick retries: ride out a blip, but fail in about a second when Redis is down
            retry=Retry(ExponentialBackoff(cap=1.0, base=0.2), 2),
            host=self.url.host or "127.0.0.1",
            port=self.url.port or 6379,
            db=int(self.url.database or 0),
            username=self.url.user,
            password=self.url.password,
            socket_connect_timeout=10,
        )

    def _call(self, what: str, fn: Any, *args: Any) -> Any:
        import redis

        try:
            result = fn(*args)
            # scan_iter is lazy: wrap it so errors while iterating are mapped too
            return _guard(result, self.url.safe) if what == "SCAN" else result
        except redis.RedisError as exc:
            # redis-py messages never contain the password; the URL we show is .safe
            raise OperationError(f"Redis {self.url.safe}: {what} failed: {exc}") from exc

    def dump(self, dest: Path, progress: Progress) -> DumpResult:
        """Stream every key of the database into ``<name>.redis.zst``."""
        client = self._client()
        info = self._call("INFO", client.info, "server")
        total = self._call("DBSIZE", client.dbsize)
        count = 0
        with CompressedWriter(dest / self.artifact) as out:
            out.write(MAGIC)
            batch: list[bytes] = []
            # SCAN may return a key twice (rehashing); RESTORE ... REPLACE makes that harmless
            for key in self._call("SCAN", client.scan_iter, None, 1000):
                batch.append(key)
                if len(batch) >= BATCH:
                    count += self._dump_batch(client, batch, out)
                    batch = []
                    progress(self.name, out.raw_bytes, None)
            count += self._dump_batch(client, batch, out)
            out.write(struct.pack(">IQ", END, count))
        progress(self.name, out.raw_bytes, out.raw_bytes)
        artifact = Artifact(self.artifact, out.size, out.sha256)
        details = {"keys": str(count), "dbsize_at_start": str(total)}
        return DumpResult((artifact,), out.raw_bytes, str(info.get("redis_version")), details)

    def _dump_batch(self, client: redis_mod.Redis, keys: list[bytes], out: CompressedWriter) -> int:
        if not keys:
            return 0
        pipe = client.pipeline(transaction=False)
        for key in keys:
            pipe.dump(key)
            pipe.pttl(key)
        replies = self._call("DUMP", pipe.execute)
        written = 0
        for i, key in enumerate(keys):
            value, ttl = replies[2 * i], int(replies[2 * i + 1])
            if value is None or ttl == -2:
                continue  # expired or deleted between SCAN and DUMP
            ttl = max(ttl, 0)  # -1: no TTL, stored as 0 (RESTORE's "no expiry")
            out.write(struct.pack(">I", len(key)) + key + struct.pack(">qI", ttl, len(value)))
            out.write(value)
            written += 1
        return written

    def check_restore(self, src: Path) -> None:
        """Redis answers, and accepts this snapshot's DUMP format (an older server may not)."""
        client = self._client()
        try:
            self._call("PING", client.ping)
        except OperationError as exc:
            raise RefusedError(str(exc), hint="start Redis or fix the URL, then retry") from exc
        for _key, _ttl, value in _frames(src / self.artifact):
            # RESTORE one value under a throw-away name (expiring in a minute even if we
            # die here) before FLUSHDB: a server that cannot read the format refuses now
            probe = f"__rollback_probe_{secrets.token_hex(8)}__"
            try:
                self._call("RESTORE", client.restore, probe, 60_000, value)
            except OperationError as exc:
                raise RefusedError(
                    f"Redis {self.url.safe} cannot load this snapshot's data: {exc}",
                    hint="restore into a Redis of the same or a newer version",
                ) from exc
            finally:
                self._call("DEL", client.delete, probe)
            break

    def restore(self, src: Path, progress: Progress) -> None:
        """FLUSHDB, then RESTORE every key with REPLACE and its TTL."""
        client = self._client()
        self._call("FLUSHDB", client.flushdb)
        pipe = client.pipeline(transaction=False)
        pending = size = done = 0
        for key, ttl, value in _frames(src / self.artifact):
            pipe.restore(key, ttl, value, replace=True)
            pending += 1
            size += len(key) + len(value)
            if pending >= BATCH or size >= BATCH_BYTES:
                self._call("RESTORE", pipe.execute)
                done += size
                pending = size = 0
                progress(self.name, done, None)
        if pending:
            self._call("RESTORE", pipe.execute)
        progress(self.name, done + size, done + size)

    def verify(self, src: Path) -> list[str]:
        """Read every frame up to the trailer."""
        try:
            for _ in _frames(src / self.artifact):
                pass
        except (OperationError, EOFError, OSError) as exc:
            return [f"{self.artifact}: {exc}"]
        except Exception as exc:  # zstd raises its own error type on corrupt frames
            return [f"{self.artifact}: {type(exc).__name__}: {exc}"]
        return []


def from_url(name: str, url: ServiceURL) -> RedisComponent:
    """Build the component for ``redis://host:port/db``."""
    return RedisComponent(name, url)


def _guard(keys: Iterator[bytes], where: str) -> Iterator[bytes]:
    import redis

    try:
        yield from keys
    except redis.RedisError as exc:
        raise OperationError(f"Redis {where}: SCAN failed: {exc}") from exc


def _frames(path: Path) -> Iterator[tuple[bytes, int, bytes]]:
    with open_decompressed(path) as stream:
        if read_exact(stream, len(MAGIC)) != MAGIC:
            raise OperationError(f"{path.name} is not a rollback Redis artifact")
        seen = 0
        while True:
            (klen,) = struct.unpack(">I", read_exact(stream, 4))
            if klen == END:
                (count,) = struct.unpack(">Q", read_exact(stream, 8))
                if count != seen:
                    raise OperationError(f"{path.name}: {seen} keys read, trailer says {count}")
                if stream.read(1):
                    raise OperationError(f"{path.name}: data after the trailer")
                return
            key = read_exact(stream, klen)
            ttl, vlen = struct.unpack(">qI", read_exact(stream, 12))
            value = read_exact(stream, vlen)
            seen += 1
            yield key, ttl, value
