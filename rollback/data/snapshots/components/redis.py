"""The Redis component: SCAN + DUMP + PTTL per key, streamed into one compressed artifact.

Framing (after the magic line): per key ``>I`` key length, key, ``>q`` TTL in ms (0 = none),
``>I`` value length, the DUMP payload; then a trailer ``>I 0xFFFFFFFF`` and ``>Q`` key count,
so a truncated artifact is detected. Restore empties the database (FLUSHDB, only ever after
the store's safety snapshot) and RESTOREs every key with REPLACE and its remaining TTL.

Dumping asks for each batch of scanned keys with one Lua call (DUMP and PTTL of every key in
the batch, one reply) sent in the same round trip as the next SCAN: redis-py's pure-Python
pipeline of two commands per key cost three times the server's own work. Where scripting is
refused (ACL, a managed Redis), the per-key pipeline is used instead.
"""

from __future__ import annotations

import secrets
import struct
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rollback.data.snapshots.base import Progress
from rollback.data.snapshots.components.base import (
    Artifact,
    DumpResult,
    Opener,
    StreamResult,
    Writer,
)
from rollback.data.snapshots.components.streams import (
    ChunkReader,
    open_decompressed,
    prefetch,
    read_exact,
)
from rollback.data.snapshots.compress import CHUNK, CompressedWriter
from rollback.data.snapshots.urls import ServiceURL
from rollback.errors import OperationError, RefusedError

if TYPE_CHECKING:
    import redis as redis_mod

MAGIC = b"ROLLBACK-REDIS-1\n"
END = 0xFFFFFFFF
BATCH = 500  # keys per pipeline round trip
SCAN_COUNT = 1000  # SCAN's COUNT hint: about this many keys per batch
# DUMP and PTTL of every key in KEYS, flattened: a key gone since SCAN gives false and -2
DUMP_SCRIPT = (
    "local r = {} for i, k in ipairs(KEYS) do "
    "r[2 * i - 1] = redis.call('DUMP', k); r[2 * i] = redis.call('PTTL', k) end return r"
)
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
            return _guard(result, self.url.safe) if isinstance(result, Iterator) else result
        except redis.RedisError as exc:
            # redis-py messages never contain the password; the URL we show is .safe
            raise OperationError(f"Redis {self.url.safe}: {what} failed: {exc}") from exc

    @property
    def stream_name(self) -> str:
        return f"{self.name}.redis"

    def dump(self, dest: Path, progress: Progress) -> DumpResult:
        """Stream every key of the database into ``<name>.redis.zst``."""
        with CompressedWriter(dest / self.artifact) as out:
            result = self.dump_stream(out, progress)
        artifact = Artifact(self.artifact, out.size, out.sha256)
        return DumpResult((artifact,), result.raw_bytes, result.server_version, result.details)

    def dump_stream(self, out: Writer, progress: Progress) -> StreamResult:
        """Stream every key of the database into ``out`` (the framing above)."""
        client = self._client()
        info = self._call("INFO", client.info, "server")
        total = self._call("DBSIZE", client.dbsize)
        count = 0
        written = out.write(MAGIC)
        # the server answers the next round trip while this thread frames and compresses
        with prefetch(self._batches(client)) as batches:
            for keys, replies in batches:
                added, size = _write_frames(out, keys, replies)
                count += added
                written += size
                progress(self.name, written, None)
        written += out.write(struct.pack(">IQ", END, count))
        progress(self.name, written, written)
        details = {"keys": str(count), "dbsize_at_start": str(total)}
        meta: dict[str, object] = {"keys": count, "raw_bytes": written}
        return StreamResult(written, meta, str(info.get("redis_version")), details)

    def _batches(self, client: redis_mod.Redis) -> Iterator[tuple[list[bytes], list[Any]]]:
        """(keys, [DUMP, PTTL, DUMP, PTTL, ...]) for every key SCAN finds, batch by batch.

        SCAN may return a key twice (rehashing); RESTORE ... REPLACE makes that harmless.
        """
        import redis

        sha = self._load_script(client)
        if sha is None:
            yield from self._pipelined_batches(client)
            return
        cursor, keys = self._call("SCAN", client.scan, 0, None, SCAN_COUNT)
        while keys or cursor != 0:
            pipe = client.pipeline(transaction=False)
            if keys:
                pipe.evalsha(sha, len(keys), *keys)
            if cursor != 0:
                pipe.scan(cursor, None, SCAN_COUNT)  # the next batch, in the same round trip
            try:
                replies = pipe.execute()
            except redis.exceptions.NoScriptError as exc:  # someone ran SCRIPT FLUSH meanwhile
                sha = self._load_script(client)
                if sha is None:
                    raise OperationError(f"Redis {self.url.safe}: DUMP failed: {exc}") from exc
                continue
            except redis.RedisError as exc:
                raise OperationError(f"Redis {self.url.safe}: DUMP failed: {exc}") from exc
            if keys:
                yield keys, replies[0]
            cursor, keys = replies[-1] if cursor != 0 else (0, [])

    def _load_script(self, client: redis_mod.Redis) -> str | None:
        """Load the batch-dump script; None where scripting is refused (ACL, a managed Redis).

        Redis 7 needs the ``no-writes`` flag to run a script on a read-only replica; older
        servers do not know the flag line, and take the script without it.
        """
        import redis

        for script in (f"#!lua flags=no-writes\n{DUMP_SCRIPT}", DUMP_SCRIPT):
            try:
                return str(client.script_load(script))
            except redis.ResponseError:
                continue
            except redis.RedisError as exc:
                raise OperationError(f"Redis {self.url.safe}: SCRIPT LOAD failed: {exc}") from exc
        return None

    def _pipelined_batches(
        self, client: redis_mod.Redis
    ) -> Iterator[tuple[list[bytes], list[Any]]]:
        """The same batches without scripting: DUMP and PTTL per key in one pipeline."""
        batch: list[bytes] = []
        for key in self._call("SCAN", client.scan_iter, None, SCAN_COUNT):
            batch.append(key)
            if len(batch) >= BATCH:
                yield batch, self._dump_pipeline(client, batch)
                batch = []
        if batch:
            yield batch, self._dump_pipeline(client, batch)

    def _dump_pipeline(self, client: redis_mod.Redis, keys: list[bytes]) -> list[Any]:
        pipe = client.pipeline(transaction=False)
        for key in keys:
            pipe.dump(key)
            pipe.pttl(key)
        return list(self._call("DUMP", pipe.execute))

    def check_restore(self, src: Path) -> None:
        """Redis answers, and accepts this snapshot's DUMP format (an older server may not)."""
        self.check_restore_stream({}, lambda: _artifact_chunks(src / self.artifact))

    def check_restore_stream(self, meta: dict[str, object], stream: Opener) -> None:
        """Redis answers, and accepts the stream's DUMP format (an older server may not)."""
        client = self._client()
        try:
            self._call("PING", client.ping)
        except OperationError as exc:
            raise RefusedError(str(exc), hint="start Redis or fix the URL, then retry") from exc
        with stream() as chunks:
            first = next(_frames(chunks, self.stream_name), None)
        for _key, _ttl, value in [first] if first else []:
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
        with _artifact_chunks(src / self.artifact) as chunks:
            self.restore_stream({}, chunks, progress)

    def restore_stream(
        self, meta: dict[str, object], chunks: Iterable[bytes], progress: Progress
    ) -> None:
        """FLUSHDB, then RESTORE every key of the stream with REPLACE and its TTL."""
        client = self._client()
        self._call("FLUSHDB", client.flushdb)
        pipe = client.pipeline(transaction=False)
        pending = size = done = 0
        for key, ttl, value in _frames(chunks, self.stream_name):
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
            with _artifact_chunks(src / self.artifact) as chunks:
                return self.verify_stream({}, chunks)
        except (OSError, EOFError) as exc:
            return [f"{self.artifact}: {exc}"]
        except Exception as exc:  # zstd raises its own error type on corrupt frames
            return [f"{self.artifact}: {type(exc).__name__}: {exc}"]

    def verify_stream(self, meta: dict[str, object], chunks: Iterable[bytes]) -> list[str]:
        """Read every frame up to the trailer; the count must match the recorded one."""
        seen = 0
        try:
            for _ in _frames(chunks, self.stream_name):
                seen += 1
        except (OperationError, EOFError, OSError) as exc:
            return [f"{self.stream_name}: {exc}"]
        keys = meta.get("keys")
        if isinstance(keys, int) and keys != seen:
            return [f"{self.stream_name}: {seen} keys, {keys} recorded"]
        return []


def from_url(name: str, url: ServiceURL) -> RedisComponent:
    """Build the component for ``redis://host:port/db``."""
    return RedisComponent(name, url)


def _write_frames(out: Writer, keys: list[bytes], replies: list[Any]) -> tuple[int, int]:
    """Frame each key with its TTL and DUMP payload, one write per batch.

    Returns (keys written, bytes written).

    One compressor call per key cost 4 µs each: a million keys spent seconds there.
    """
    head, tail = struct.Struct(">I").pack, struct.Struct(">qI").pack
    parts: list[bytes] = []
    for i, key in enumerate(keys):
        value, ttl = replies[2 * i], int(replies[2 * i + 1])
        if not value or ttl == -2:
            continue  # expired or deleted between SCAN and DUMP (the script gives false)
        # -1 (no TTL) is stored as 0, RESTORE's "no expiry"
        parts += (head(len(key)), key, tail(max(ttl, 0), len(value)), value)
    size = out.write(b"".join(parts)) if parts else 0
    return len(parts) // 4, size


def _guard(keys: Iterator[bytes], where: str) -> Iterator[bytes]:
    import redis

    try:
        yield from keys
    except redis.RedisError as exc:
        raise OperationError(f"Redis {where}: SCAN failed: {exc}") from exc


@contextmanager
def _artifact_chunks(path: Path) -> Iterator[Iterator[bytes]]:
    """The decompressed content of a local artifact, in chunks."""
    with open_decompressed(path) as stream:
        yield iter(lambda: stream.read(CHUNK), b"")


def _frames(chunks: Iterable[bytes], label: str) -> Iterator[tuple[bytes, int, bytes]]:
    """(key, TTL in ms, DUMP payload) of every frame, checked against the trailer.

    The stream is read in 1 MB blocks and frames are cut from the buffer: four small reads
    per key through the decompressor cost more than the restore itself.
    """
    head, tail = struct.Struct(">I"), struct.Struct(">qI")
    stream = ChunkReader(chunks)
    if read_exact(stream, len(MAGIC)) != MAGIC:
        raise OperationError(f"{label} is not a rollback Redis stream")
    buf, pos, seen = b"", 0, 0

    def need(n: int) -> None:
        """Make ``buf[pos:pos + n]`` available, reading more blocks as needed."""
        nonlocal buf, pos
        if len(buf) - pos >= n:
            return
        blocks = [buf[pos:]]
        have = len(blocks[0])
        while have < n:
            block = stream.read(max(CHUNK, n - have))
            if not block:
                raise EOFError(f"artifact ends {n - have} bytes early (truncated?)")
            blocks.append(block)
            have += len(block)
        buf, pos = b"".join(blocks), 0

    while True:
        need(4)
        (klen,) = head.unpack_from(buf, pos)
        pos += 4
        if klen == END:
            need(8)
            (count,) = struct.unpack_from(">Q", buf, pos)
            if count != seen:
                raise OperationError(f"{label}: {seen} keys read, trailer says {count}")
            if len(buf) > pos + 8 or stream.read(1):
                raise OperationError(f"{label}: data after the trailer")
            return
        need(klen + 12)
        key = buf[pos : pos + klen]
        ttl, vlen = tail.unpack_from(buf, pos + klen)
        pos += klen + 12
        need(vlen)
        value = buf[pos : pos + vlen]
        pos += vlen
        seen += 1
        yield key, ttl, value
