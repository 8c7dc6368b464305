"""Streams: compressed artifacts read with flat memory, and iterators read ahead."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Protocol, TypeVar, cast

T = TypeVar("T")


@contextmanager
def open_decompressed(path: Path) -> Iterator[IO[bytes]]:
    """A read-only stream of the decompressed content of ``path`` (a .zst artifact)."""
    import zstandard

    dctx = zstandard.ZstdDecompressor()
    with path.open("rb") as fh, dctx.stream_reader(fh) as reader:
        yield cast(IO[bytes], reader)


class ChunkReader:
    """A ``read(n)`` stream over an iterator of chunks (a decompressor, a ``restic dump``)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._buf = b""

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes (all that is left for -1), at most one chunk's worth more than
        what is buffered (a short read, as from a pipe); b"" at the end."""
        if size < 0:
            rest = self._buf + b"".join(self._chunks)
            self._buf = b""
            return rest
        while not self._buf:
            chunk = next(self._chunks, None)
            if chunk is None:
                return b""
            self._buf = chunk
        out, self._buf = self._buf[:size], self._buf[size:]
        return out


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


def read_exact(stream: Readable, size: int) -> bytes:
    """Read exactly ``size`` bytes; raise EOFError if the stream ends first."""
    parts: list[bytes] = []
    missing = size
    while missing:
        block = stream.read(missing)
        if not block:
            raise EOFError(f"artifact ends {missing} bytes early (truncated?)")
        parts.append(block)
        missing -= len(block)
    return b"".join(parts)


@contextmanager
def prefetch(items: Iterable[T], depth: int = 4) -> Iterator[Iterator[T]]:
    """Iterate ``items`` in a background thread, at most ``depth`` ahead of the consumer.

    For a source that mostly waits on a server (network round trips) feeding a consumer that
    mostly computes (framing, compression): the two overlap instead of taking turns. An
    exception in the source is raised in the consumer; leaving the block early stops the
    source at its next item.
    """
    import queue
    import threading

    done = object()
    ahead: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                ahead.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(done)
        except BaseException as exc:  # handed to the consumer, raised there
            put(exc)
        finally:
            close = getattr(items, "close", None)
            if close is not None:  # a generator: run its cleanup now, in this thread
                close()

    def consume() -> Iterator[T]:
        while True:
            item = ahead.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield cast(T, item)

    worker = threading.Thread(target=produce, name="prefetch", daemon=True)
    worker.start()
    try:
        yield consume()
    finally:
        stop.set()
        worker.join()
