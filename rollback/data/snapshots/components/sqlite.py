"""The SQLite component: the online backup API, an integrity check, then compression.

The backup API copies a consistent database while other connections keep reading and
writing. Restore goes the same way in reverse (backup *into* the live file), so open
connections see the restored data instead of an unlinked file.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from collections.abc import Callable, Iterable
from contextlib import closing
from pathlib import Path

from rollback.data.snapshots.base import Progress
from rollback.data.snapshots.components.base import (
    Artifact,
    DumpResult,
    Opener,
    StreamResult,
    Writer,
)
from rollback.data.snapshots.compress import CHUNK, CompressedWriter, read_chunks
from rollback.data.snapshots.urls import ServiceURL
from rollback.errors import OperationError

PAGES_PER_STEP = 1024


class SQLiteComponent:
    kind = "sqlite"

    def __init__(self, name: str, path: Path) -> None:
        self.name = name
        self.path = path

    @property
    def artifact(self) -> str:
        return f"{self.name}.sqlite.zst"

    def describe(self) -> str:
        return f"sqlite {self.path}"

    def dump(self, dest: Path, progress: Progress) -> DumpResult:
        """Back up the live database into ``dest``, check the copy, compress it."""
        if not self.path.is_file():
            raise OperationError(f"SQLite database {self.path} does not exist")
        copy = dest / f".{self.name}.sqlite.tmp"
        try:
            # read-only URI: a snapshot must never create or change the live file
            live_uri = f"{self.path.resolve().as_uri()}?mode=ro"
            with closing(sqlite3.connect(live_uri, uri=True)) as live:
                _backup(live, copy, self.name, progress)
            _integrity(copy)
            with CompressedWriter(dest / self.artifact) as out, copy.open("rb") as fh:
                while block := fh.read(CHUNK):
                    out.write(block)
        except sqlite3.Error as exc:
            raise OperationError(f"SQLite {self.path}: {exc}") from exc
        finally:
            copy.unlink(missing_ok=True)
        artifact = Artifact(self.artifact, out.size, out.sha256)
        return DumpResult((artifact,), out.raw_bytes, sqlite3.sqlite_version)

    @property
    def stream_name(self) -> str:
        return f"{self.name}.sqlite"

    def dump_stream(self, out: Writer, progress: Progress) -> StreamResult:
        """Back up the live database into a temporary copy, check it, stream it into ``out``."""
        if not self.path.is_file():
            raise OperationError(f"SQLite database {self.path} does not exist")
        with tempfile.TemporaryDirectory(prefix="rollback-sqlite-") as scratch:
            copy = Path(scratch) / "copy.db"
            try:
                live_uri = f"{self.path.resolve().as_uri()}?mode=ro"
                with closing(sqlite3.connect(live_uri, uri=True)) as live:
                    _backup(live, copy, self.name, progress)
                _integrity(copy)
            except sqlite3.Error as exc:
                raise OperationError(f"SQLite {self.path}: {exc}") from exc
            raw = 0
            with copy.open("rb") as fh:
                while block := fh.read(CHUNK):
                    raw += out.write(block)
        return StreamResult(raw, {"raw_bytes": raw}, sqlite3.sqlite_version)

    def check_restore(self, src: Path) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def check_restore_stream(self, meta: dict[str, object], stream: Opener) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def restore(self, src: Path, progress: Progress) -> None:
        """Copy the snapshot into the live database through the backup API."""
        self.restore_stream({}, read_chunks(src / self.artifact), progress)

    def restore_stream(
        self, meta: dict[str, object], chunks: Iterable[bytes], progress: Progress
    ) -> None:
        """Write the stream into a temporary copy beside the live file, then copy it into the
        live database through the backup API."""
        with _written(chunks, self.path.parent) as copy:
            try:
                with (
                    closing(sqlite3.connect(copy)) as source,
                    closing(sqlite3.connect(self.path)) as live,
                ):
                    source.backup(
                        live, pages=PAGES_PER_STEP, progress=_pages(source, self.name, progress)
                    )
            except sqlite3.Error as exc:
                raise OperationError(f"SQLite restore into {self.path}: {exc}") from exc

    def verify(self, src: Path) -> list[str]:
        """Decompress the copy and run ``PRAGMA integrity_check`` on it."""
        return self.verify_stream({}, read_chunks(src / self.artifact))

    def verify_stream(self, meta: dict[str, object], chunks: Iterable[bytes]) -> list[str]:
        """Write the stream into a temporary file and run ``PRAGMA integrity_check`` on it."""
        try:
            with _written(chunks, None) as copy:
                _integrity(copy)
        except (OperationError, sqlite3.Error) as exc:
            return [f"{self.artifact}: {exc}"]
        except Exception as exc:  # zstd raises its own error type on corrupt frames
            return [f"{self.artifact}: {type(exc).__name__}: {exc}"]
        return []


def from_url(name: str, url: ServiceURL) -> SQLiteComponent:
    """Build the component for ``sqlite:///path``."""
    assert url.path is not None
    return SQLiteComponent(name, url.path)


def _pages(
    conn: sqlite3.Connection, name: str, progress: Progress
) -> Callable[[int, int, int], None]:
    # the backup API counts pages; users see bytes
    (page_size,) = conn.execute("PRAGMA page_size").fetchone()

    def report(status: int, remaining: int, total: int) -> None:
        progress(name, (total - remaining) * page_size, total * page_size)

    return report


def _backup(live: sqlite3.Connection, copy: Path, name: str, progress: Progress) -> None:
    with closing(sqlite3.connect(copy)) as target:
        live.backup(target, pages=PAGES_PER_STEP, progress=_pages(live, name, progress))
        target.commit()
    fd = os.open(copy, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _integrity(path: Path) -> None:
    with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as db:
        rows = db.execute("PRAGMA integrity_check").fetchall()
    if [tuple(r) for r in rows] != [("ok",)]:
        first = rows[0][0] if rows else "no answer"
        raise OperationError(f"integrity check of the copy failed: {first}")


class _written:
    """A temporary file holding the stream ``chunks``, removed on exit."""

    def __init__(self, chunks: Iterable[bytes], folder: Path | None) -> None:
        self.chunks = chunks
        self.folder = folder
        self.path: Path | None = None

    def __enter__(self) -> Path:
        fd, name = tempfile.mkstemp(prefix=".rollback-sqlite-", suffix=".db", dir=self.folder)
        self.path = Path(name)
        try:
            with os.fdopen(fd, "wb") as fh:
                for block in self.chunks:
                    fh.write(block)
        except BaseException:
            self.path.unlink(missing_ok=True)  # __exit__ does not run when __enter__ fails
            raise
        return self.path

    def __exit__(self, *exc: object) -> None:
        if self.path is not None:
            self.path.unlink(missing_ok=True)
