"""One component of a restic snapshot set, as the shared restore flow sees it.

``restore.run_restore`` (the local store's refusals, safety snapshot and failure messages)
calls ``check_restore``, ``restore`` and ``verify`` with a folder; here the data comes from
the repository instead: folders through ``restic restore`` into a staging folder followed by
the same swap as the local store, streams through ``restic dump`` into the component's own
restore client.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from rollback.data.snapshots.base import Progress
from rollback.data.snapshots.components.base import DumpResult, StreamComponent
from rollback.data.snapshots.components.files import (
    FilesComponent,
    remove_path,
    stage_dir,
    stage_single,
    swap_dir,
    swap_single,
)
from rollback.data.snapshots.restic.driver import Message, Restic
from rollback.errors import OperationError, RefusedError

MANIFEST_FILE = "rollback-manifest.json"


class StreamPart:
    """A database or Redis stream stored as ``/<name>.<kind>`` in its own restic snapshot."""

    def __init__(
        self, component: StreamComponent, restic: Restic, snapshot: str, details: dict[str, str]
    ) -> None:
        self.component = component
        self.kind = component.kind
        self.name = component.name
        self.restic = restic
        self.snapshot = snapshot
        self.path = "/" + details.get("stream", component.stream_name)
        try:
            meta = json.loads(details.get("meta", "{}"))
        except ValueError as exc:
            raise RefusedError(f"{self.name}: the snapshot's meta is unreadable") from exc
        self.meta: dict[str, object] = meta if isinstance(meta, dict) else {}

    def describe(self) -> str:
        return self.component.describe()

    def dump(self, dest: Path, progress: Progress) -> DumpResult:
        raise OperationError(f"{self.name}: a stored part is restored, never dumped")

    def _open(self) -> AbstractContextManager[Iterator[bytes]]:
        return self.restic.dump(self.snapshot, self.path)

    def check_restore(self, src: Path) -> None:
        self.component.check_restore_stream(self.meta, self._open)

    def restore(self, src: Path, progress: Progress) -> None:
        with self._open() as chunks:
            self.component.restore_stream(self.meta, chunks, progress)

    def verify(self, src: Path) -> list[str]:
        try:
            with self._open() as chunks:
                return self.component.verify_stream(self.meta, chunks)
        except OperationError as exc:  # restic could not read it back: damaged, not a crash
            return [f"{self.path.lstrip('/')}: {exc.message}"]


class FilesPart(FilesComponent):
    """The project's folders stored as one restic file tree (paths relative to the root)."""

    def __init__(
        self,
        root: Path,
        restic: Restic,
        snapshot: str | None,
        details: dict[str, str],
        raw_bytes: int = 0,
    ) -> None:
        try:
            entries = json.loads(details["index"])
            assert isinstance(entries, list)
        except (KeyError, ValueError, AssertionError) as exc:
            raise RefusedError("files: the snapshot's index of paths is unreadable") from exc
        super().__init__(root, tuple(str(e["path"]) for e in entries), "files")
        self.entries: list[dict[str, Any]] = entries
        self.restic = restic
        self.snapshot = snapshot  # None when every path was absent
        self.files = int(details.get("files", "-1"))
        self.raw_bytes = raw_bytes

    def for_restore_of(self, src: Path) -> FilesComponent:
        return FilesComponent(self.root, self.paths, self.name)

    def check_restore(self, src: Path) -> None:
        for entry in self.entries:
            live = self.root / entry["path"]
            if live.is_mount() and entry["kind"] != "dir":
                raise RefusedError(f"{entry['path']} is a mount point; it can only hold a folder")

    def restore(self, src: Path, progress: Progress) -> None:
        """Each path: ``restic restore`` into a staging folder beside it, then the swap."""
        for entry in self.entries:
            rel = str(entry["path"])
            live = self.root / rel
            if entry["kind"] == "absent":
                remove_path(live)
            elif entry["kind"] == "dir":
                staging = stage_dir(live)
                try:
                    self._restore_into(staging, rel, progress)
                except BaseException:
                    shutil.rmtree(staging, ignore_errors=True)
                    raise
                swap_dir(live, staging, staging / rel, entry)
            else:
                staging = stage_single(live)
                try:
                    self._restore_into(staging, rel, progress)
                    swap_single(live, staging / rel, f"restic snapshot {self.snapshot}")
                finally:
                    shutil.rmtree(staging, ignore_errors=True)
        # restic 0.14 reports no restore progress: the whole size once the paths are back
        progress(self.name, self.raw_bytes, self.raw_bytes)

    def _restore_into(self, staging: Path, rel: str, progress: Progress) -> None:
        assert self.snapshot is not None
        args = ["restore", self.snapshot, "--target", str(staging), "--include", f"/{rel}"]

        def status(message: Message) -> None:  # restic 0.16+: bytes restored so far
            if message.get("message_type") == "status":
                total = message.get("total_bytes")
                done = int(message.get("bytes_restored") or 0)
                progress(self.name, done, int(total) if total else None)

        self.restic.run(args, on_message=status)
        if not (staging / rel).exists() and not (staging / rel).is_symlink():
            raise OperationError(f"files: restic restored nothing for {rel}")

    def verify(self, src: Path) -> list[str]:
        """The tree must list as many files as the backup recorded."""
        if self.snapshot is None:
            return []
        count = 0

        def node(message: Message) -> None:  # ls prints one JSON node per line
            nonlocal count
            kind = message.get("message_type") or message.get("struct_type")
            if kind == "node" and message.get("type") == "file":
                count += 1

        self.restic.run(["ls", self.snapshot], on_message=node)
        if self.files >= 0 and count != self.files:
            return [f"files: the tree holds {count} files, {self.files} recorded"]
        return []
