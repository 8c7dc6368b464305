"""Reading compressed artifacts as streams: memory stays flat whatever their size."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, cast


@contextmanager
def open_decompressed(path: Path) -> Iterator[IO[bytes]]:
    """A read-only stream of the decompressed content of ``path`` (a .zst artifact)."""
    import zstandard

    dctx = zstandard.ZstdDecompressor()
    with path.open("rb") as fh, dctx.stream_reader(fh) as reader:
        yield cast(IO[bytes], reader)


def read_exact(stream: IO[bytes], size: int) -> bytes:
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
