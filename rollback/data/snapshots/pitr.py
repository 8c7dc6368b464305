"""Restore a snapshot to a deploy mark: restore it, then replay the databases' logs.

A deploy mark (``rollback checkpoint --mark-only``) records where each database's log stood
the moment before a release ran. Restoring snapshot S "to mark M" restores S, then replays
each database's log from S's position to M's, so the data is what it was just before the
release; with ``keep_writes`` it also replays the writes made after M to the tables the
release did not touch. Every check that can refuse runs before anything changes; the
components without a log (files, SQLite, Redis) are restored as of S.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, ExitStack, contextmanager
from typing import TYPE_CHECKING

from rollback.data.snapshots.base import Progress, RestoreResult, no_progress
from rollback.data.snapshots.logreplay import ComponentReplay, Session
from rollback.errors import OperationError, RefusedError, RollbackError

if TYPE_CHECKING:
    from rollback.data.snapshots.components.base import Component
    from rollback.data.snapshots.local import LocalStore

LOGGED = ("mysql", "postgres")


def positions(store: LocalStore) -> dict[str, dict[str, str]]:
    """Each database component's log position now, or why there is none (no dump: ms)."""
    out = {}
    for component in store.components:
        if component.kind in LOGGED:
            out[component.name] = _position(component)
    return out


def _position(component: Component) -> dict[str, str]:
    if component.kind == "mysql":
        from rollback.data.snapshots.components import mysql_log
        from rollback.data.snapshots.components.mysql import MySQLComponent

        assert isinstance(component, MySQLComponent)
        return mysql_log.position(component)
    from rollback.data.snapshots.components import pg_logical
    from rollback.data.snapshots.components.postgres import PostgresComponent

    assert isinstance(component, PostgresComponent)
    return pg_logical.position(component)


@contextmanager
def sessions(
    store: LocalStore,
    snapshot_id: str,
    mark: Mapping[str, Mapping[str, str]],
    *,
    keep_writes: bool,
) -> Iterator[list[Session]]:
    """Read and check every database's log from the snapshot to now; refuse in one line."""
    manifest = store.manifest(snapshot_id)
    components = {c.name: c for c in store._for_records(manifest, strict=True)}
    logged = [r for r in manifest.components if r.kind in LOGGED]
    if not logged:
        raise RefusedError(f"snapshot {snapshot_id} holds no database whose log can be replayed")
    with ExitStack() as stack:
        found: list[Session] = []
        for record in logged:
            at = mark.get(record.name)
            if at is None:
                raise RefusedError(f"the deploy mark has no log position for {record.name}")
            try:
                found.append(
                    stack.enter_context(
                        _session(components[record.name], record.details, dict(at), keep_writes)
                    )
                )
            except RollbackError as exc:
                raise RefusedError(
                    f"cannot replay {record.name}'s log: {exc.message}", hint=exc.hint
                ) from exc
        yield found


def _session(
    component: Component, snapshot: dict[str, str], mark: dict[str, str], keep: bool
) -> AbstractContextManager[Session]:
    if component.kind == "mysql":
        from rollback.data.snapshots.components import mysql_log
        from rollback.data.snapshots.components.mysql import MySQLComponent

        assert isinstance(component, MySQLComponent)
        return mysql_log.session(component, snapshot, mark, keep_writes=keep)
    from rollback.data.snapshots.components import pg_logical
    from rollback.data.snapshots.components.postgres import PostgresComponent

    assert isinstance(component, PostgresComponent)
    return pg_logical.session(component, snapshot, mark, keep_writes=keep)


def preview(
    store: LocalStore,
    snapshot_id: str,
    mark: Mapping[str, Mapping[str, str]],
    *,
    keep_writes: bool,
) -> tuple[ComponentReplay, ...]:
    """What a restore to the mark would replay now; RefusedError (one line) when it cannot."""
    with sessions(store, snapshot_id, mark, keep_writes=keep_writes) as found:
        return tuple(s.outcome() for s in found)


def restore_to_mark(
    store: LocalStore,
    snapshot_id: str,
    mark: Mapping[str, Mapping[str, str]],
    *,
    keep_writes: bool,
    safety: bool = True,
    progress: Progress = no_progress,
    commit: str | None = None,
    branch: str | None = None,
) -> tuple[RestoreResult, tuple[ComponentReplay, ...]]:
    """Restore ``snapshot_id``, then replay each database's log to the mark (and after)."""
    with sessions(store, snapshot_id, mark, keep_writes=keep_writes) as found:
        result = store.restore(
            snapshot_id, safety=safety, progress=progress, commit=commit, branch=branch
        )
        done = []
        for session in found:
            try:
                done.append(session.apply(progress))
            except RollbackError as exc:
                back = result.safety_snapshot
                raise OperationError(
                    f"snapshot {snapshot_id} was restored, but {exc.message}",
                    hint=(
                        f"the data from before is in safety snapshot {back.id}: "
                        f"rollback snapshot restore {back.id}"
                        if back
                        else "restore a snapshot again to get a known state"
                    ),
                ) from exc
        return result, tuple(done)
