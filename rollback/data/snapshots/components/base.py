"""The protocol every local-store component follows.

The store (``rollback/data/snapshots/local.py``) creates a temporary snapshot folder, asks each
component to ``dump`` into it, fsyncs, writes ``manifest.json`` last and renames the folder into
place. A component never writes outside the folder it is given and never prints.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from rollback.data.snapshots.base import Progress
from rollback.data.snapshots.urls import ServiceURL
from rollback.errors import RefusedError


@dataclass(frozen=True)
class Artifact:
    """One file a component wrote into the snapshot folder."""

    name: str  # file name relative to the snapshot folder, e.g. "mysql-main.sql.zst"
    size: int  # bytes on disk
    sha256: str  # of the bytes on disk


@dataclass(frozen=True)
class DumpResult:
    artifacts: tuple[Artifact, ...]
    raw_bytes: int  # size of the data before compression
    server_version: str | None = None
    details: dict[str, str] | None = None  # e.g. definers, table count; never credentials


class Component(Protocol):
    kind: str  # "files" | "sqlite" | "mysql" | "postgres" | "redis"
    name: str  # unique within a store, e.g. "files", "mysql", "postgres-main"

    def describe(self) -> str:
        """One line for users, without credentials, e.g. 'mysql root@127.0.0.1:3306/shop'."""
        ...

    def dump(self, dest: Path, progress: Progress) -> DumpResult:
        """Write this component's artifacts into ``dest`` (an existing folder); raise on failure."""
        ...

    def check_restore(self, src: Path) -> None:
        """Preflight before a restore (tools, privileges): raise RefusedError if it cannot work."""
        ...

    def restore(self, src: Path, progress: Progress) -> None:
        """Make the live data equal to the artifacts in ``src``."""
        ...

    def verify(self, src: Path) -> list[str]:
        """Checks beyond the sha256 the store does (e.g. pg_restore --list); return problems."""
        ...


class DatabaseComponent:
    """What the MariaDB/MySQL and PostgreSQL components share: one database behind a URL,
    a compressed dump artifact and a small meta file beside it."""

    kind = ""
    dump_suffix = ""

    def __init__(self, name: str, url: ServiceURL) -> None:
        self.name = name
        self.url = url
        self.database = url.database or ""

    @property
    def dump_file(self) -> str:
        return f"{self.name}{self.dump_suffix}"

    @property
    def meta_file(self) -> str:
        return f"{self.name}.meta.json"

    def describe(self) -> str:
        """One line for users, never with the password."""
        return f"{self.kind} {self.url.safe.split('://', 1)[1]}"

    def _meta(self, src: Path) -> dict[str, object]:
        """The meta file written beside the dump; refused when it or the dump is missing."""
        try:
            meta = json.loads((src / self.meta_file).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise RefusedError(f"{self.name}: {self.meta_file} is missing or unreadable") from exc
        if not (src / self.dump_file).is_file():
            raise RefusedError(f"{self.name}: {self.dump_file} is missing from the snapshot")
        return dict(meta)


def named(name: str, message: str) -> str:
    """``name: message``, unless the component already named itself."""
    return message if message.startswith(f"{name}: ") else f"{name}: {message}"


class Writer(Protocol):
    """Where a stream goes: a compressed artifact (local store) or a restic backup's stdin."""

    def write(self, data: bytes, /) -> int: ...


# Opens the stream of a stored component again (for a preflight that reads its first bytes).
Opener = Callable[[], AbstractContextManager[Iterator[bytes]]]


@dataclass(frozen=True)
class StreamResult:
    """What ``dump_stream`` reports: the meta a restore needs before reading the stream."""

    raw_bytes: int
    meta: dict[str, object]  # JSON-able, never credentials
    server_version: str | None = None
    details: dict[str, str] | None = None


class StreamComponent(Component, Protocol):
    """A component whose data is one byte stream plus a small meta (databases, Redis).

    The local store writes the stream into a compressed artifact and the meta beside it;
    a streaming store (restic) sends the raw stream to its own storage. Both call the same
    four methods, so every store dumps and restores with the same commands.
    """

    stream_name: str  # e.g. "mysql.sql": the stream's file name in a streaming store

    def dump_stream(self, out: Writer, progress: Progress) -> StreamResult:
        """Write the raw dump into ``out``; raise (before the end) if it is incomplete."""
        ...

    def check_restore_stream(self, meta: dict[str, object], stream: Opener) -> None:
        """Preflight before a restore from a stream: raise RefusedError if it cannot work."""
        ...

    def restore_stream(
        self, meta: dict[str, object], chunks: Iterable[bytes], progress: Progress
    ) -> None:
        """Make the live data equal to the stream."""
        ...

    def verify_stream(self, meta: dict[str, object], chunks: Iterable[bytes]) -> list[str]:
        """Read the whole stream and check it against its meta; return problems."""
        ...


def no_stream() -> AbstractContextManager[Iterator[bytes]]:
    """An ``Opener`` for preflights that ask the server, never the stream (databases)."""
    return nullcontext(iter(()))
