"""Taking one component into a restic snapshot set: folders as a tree, streams via stdin."""

from __future__ import annotations

import json

from rollback.data.snapshots.base import Progress
from rollback.data.snapshots.components.base import Component, StreamComponent, named
from rollback.data.snapshots.components.files import FilesComponent, index_entry
from rollback.data.snapshots.manifest import ComponentRecord, Manifest
from rollback.data.snapshots.restic.driver import Message, Outcome, Restic, error_text
from rollback.data.snapshots.restic.parts import MANIFEST_FILE
from rollback.data.snapshots.restic.sets import MANIFEST, as_int, part_tags
from rollback.errors import OperationError, RollbackError, UsageError


def backup(
    restic: Restic, component: Component, sid: str, when: str, progress: Progress
) -> ComponentRecord:
    """Store ``component`` as part ``component.name`` of set ``sid``; its manifest record."""
    tags = [*part_tags(sid, component.name), "--time", when]
    try:
        if isinstance(component, FilesComponent):
            return _files(restic, component, tags, progress)
        if hasattr(component, "dump_stream"):
            return _stream(restic, component, tags, progress)  # type: ignore[arg-type]
    except RollbackError as exc:
        exc.message = named(component.name, exc.message)
        exc.args = (exc.message,)
        raise
    except Exception as exc:
        raise OperationError(f"{component.name}: {type(exc).__name__}: {exc}") from exc
    raise UsageError(f"{component.name}: the restic provider cannot snapshot {component.kind}")


def _files(
    restic: Restic, component: FilesComponent, tags: list[str], progress: Progress
) -> ComponentRecord:
    entries = [index_entry(component.root, rel) for rel in component.paths]
    present = [e["path"] for e in entries if e["kind"] != "absent"]
    details = {"index": json.dumps(entries)}
    describe = component.describe()
    if not present:  # every listed path is absent: a restore removes them; nothing to store
        details.update(restic_snapshot="", files="0", added_bytes="0")
        return ComponentRecord(component.name, "files", describe, 0, (), None, details)

    def status(message: Message) -> None:
        if message.get("message_type") == "status":
            total = message.get("total_bytes")
            done = int(message.get("bytes_done") or 0)
            progress(component.name, done, int(total) if total else None)

    outcome = restic.run(["backup", *tags, "--", *present], on_message=status, ok_codes=(0, 3))
    _accept_vanished(outcome)
    summary = _summary(outcome)
    details.update(
        restic_snapshot=str(summary["snapshot_id"]),
        files=str(summary.get("total_files_processed", 0)),
        added_bytes=str(added(summary)),
    )
    raw = int(summary.get("total_bytes_processed", 0))
    progress(component.name, raw, raw)
    return ComponentRecord(component.name, "files", describe, raw, (), None, details)


def _stream(
    restic: Restic, component: StreamComponent, tags: list[str], progress: Progress
) -> ComponentRecord:
    args = ["--stdin-filename", component.stream_name, *tags]
    with restic.backup_stdin(args, on_message=lambda _m: None) as sink:
        result = component.dump_stream(sink, progress)
    summary = _summary(sink.outcome)
    details = {
        **(result.details or {}),
        "meta": json.dumps(result.meta, sort_keys=True),
        "stream": component.stream_name,
        "restic_snapshot": str(summary["snapshot_id"]),
        "added_bytes": str(added(summary)),
    }
    return ComponentRecord(
        component.name,
        component.kind,
        component.describe(),
        result.raw_bytes,
        (),
        result.server_version,
        details,
    )


def write_manifest(restic: Restic, manifest: Manifest, when: str) -> None:
    """The last part of a set: the manifest, with what ``list`` shows as tags."""
    records = manifest.components
    extra: dict[str, str | None] = {
        "rollback-label": manifest.label,
        "rollback-commit": manifest.commit,
        "rollback-branch": manifest.branch,
        "rollback-safety-for": manifest.safety_for,
        "rollback-components": "+".join(c.name for c in records),
        "rollback-size": str(sum(c.raw_bytes for c in records)),
        "rollback-added": str(sum(as_int(c.details.get("added_bytes")) or 0 for c in records)),
    }
    tags = part_tags(manifest.id, MANIFEST, extra)
    args = ["--stdin-filename", MANIFEST_FILE, *tags, "--time", when]
    body = json.dumps(manifest.to_dict(), indent=2, ensure_ascii=False).encode() + b"\n"
    with restic.backup_stdin(args, on_message=lambda _m: None) as sink:
        sink.write(body)


def _summary(outcome: Outcome) -> Message:
    if outcome.summary is None or not outcome.summary.get("snapshot_id"):
        raise OperationError("restic backup ended without saving a snapshot")
    return outcome.summary


def added(summary: Message) -> int:
    """Bytes the backup added to the repository (after compression where restic says it)."""
    return int(summary.get("data_added_packed") or summary.get("data_added") or 0)


def _accept_vanished(outcome: Outcome) -> None:
    """Exit code 3 (some files unreadable) is fine only for files deleted while restic walked
    the folder (caches, sessions): like the local store, they were not there when reached."""
    if outcome.code != 3:
        return
    for error in outcome.errors:
        text = error_text(error).lower()
        inner = error.get("error")
        errno = inner.get("Err") if isinstance(inner, dict) else None
        if errno != 2 and "no such file" not in text:
            raise OperationError(f"restic could not read {error_text(error)}")
