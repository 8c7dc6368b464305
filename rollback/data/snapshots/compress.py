"""Streaming compression for snapshot artifacts: compress, hash and count in one pass.

zstd at a low level keeps up with the dump tools (a dump is the bottleneck, not compression);
memory stays flat whatever the size of the data.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, cast

import zstandard

# Chosen by benchmarks/compression.py (200 MB of SQL dump + media tar, one thread):
# zstd -1 266 MB/s ratio 2.28; zstd -3 193 MB/s 2.33; gzip -1 88 MB/s 2.13; gzip -6 33 MB/s 2.35.
# Level 1 is 38% faster than 3 for 2% more bytes: on a 200 GB database that is minutes saved.
LEVEL = 1
CHUNK = 1 << 20
SUFFIX = ".zst"


class CompressedWriter:
    """Write-only file object: bytes in, zstd frames to ``path``, sha256 of what lands on disk."""

    def __init__(self, path: Path, *, level: int = LEVEL, threads: int = 0) -> None:
        self.path = path
        self._raw = path.open("wb")
        self._hash = hashlib.sha256()
        self.raw_bytes = 0
        cctx = zstandard.ZstdCompressor(level=level, threads=threads)
        self._writer = cctx.stream_writer(
            cast(IO[bytes], _HashingFile(self._raw, self._hash)), closefd=False
        )

    def write(self, data: bytes) -> int:
        self.raw_bytes += len(data)
        self._writer.write(data)
        return len(data)

    def close(self) -> None:
        if self._raw.closed:
            return
        self._writer.flush(zstandard.FLUSH_FRAME)
        self._writer.close()  # type: ignore[no-untyped-call]
        self._raw.flush()
        os.fsync(self._raw.fileno())
        self._raw.close()

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    @property
    def size(self) -> int:
        return self.path.stat().st_size

    def __enter__(self) -> CompressedWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self._raw.close()


class _HashingFile:
    def __init__(self, fh: IO[bytes], digest: hashlib._Hash) -> None:
        self._fh = fh
        self._digest = digest

    def write(self, data: bytes) -> int:
        self._digest.update(data)
        return self._fh.write(data)

    def flush(self) -> None:
        self._fh.flush()


def read_chunks(path: Path, chunk: int = CHUNK) -> Iterator[bytes]:
    """Decompressed content of ``path`` in chunks of at most ``chunk`` bytes."""
    dctx = zstandard.ZstdDecompressor()
    with path.open("rb") as fh, dctx.stream_reader(fh) as reader:
        while True:
            block = reader.read(chunk)
            if not block:
                return
            yield block


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()
