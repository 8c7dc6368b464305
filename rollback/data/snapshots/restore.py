"""Restoring a local snapshot: refuse early, take the safety snapshot, then restore.

Everything that can refuse (unknown id, expired, corrupted, a service the snapshot needs but
the settings lack, a component's preflight) runs before anything is changed. A failure after
that says exactly how to get back: which safety snapshot, which command.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from rollback.data.snapshots.base import Progress, RestoreResult, Snapshot
from rollback.data.snapshots.components.base import Component, named
from rollback.data.snapshots.components.files import FilesComponent
from rollback.errors import Interrupted, OperationError, RefusedError, RollbackError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from rollback.data.snapshots.manifest import Manifest
    from rollback.data.snapshots.settings import LocalSettings

SAFETY_LABEL = "safety"


class Store(Protocol):
    """The parts of ``local.LocalStore`` a restore uses (the store calls in, not the reverse)."""

    settings: LocalSettings
    store: Path

    def manifest(self, snapshot_id: str) -> Manifest: ...

    def _snapshot(self, m: Manifest) -> Snapshot: ...

    def _for_records(self, manifest: Manifest, *, strict: bool) -> list[Component]: ...

    def _check(
        self,
        folder: Path,
        manifest: Manifest,
        components: Sequence[Component] | None,
        *,
        deep: bool = True,
    ) -> list[str]: ...

    def _create(
        self,
        label: str | None,
        *,
        commit: str | None,
        branch: str | None,
        progress: Progress,
        safety_for: str | None = None,
        components: Sequence[Component] | None = None,
    ) -> Snapshot: ...


def undo_command(safety_id: str) -> str:
    """The command that puts back the data a restore replaced."""
    return f"rollback snapshot restore {safety_id}"


def run_restore(
    store: Store,
    snapshot_id: str,
    *,
    safety: bool,
    progress: Progress,
    commit: str | None,
    branch: str | None,
) -> RestoreResult:
    """Restore ``snapshot_id`` of ``store``; the caller holds the store's lock."""
    manifest = store.manifest(snapshot_id)
    snap = store._snapshot(manifest)
    if not snap.restorable:
        raise RefusedError(
            f"snapshot {snapshot_id} expired on {snap.expires_at:%Y-%m-%d %H:%M} UTC "
            f"(snapshots stay restorable {store.settings.retention_days:g} days)",
            hint="nothing was changed; `rollback snapshot prune` removes expired snapshots "
            "and retention_days in [tool.rollback.local] keeps them longer",
        )
    folder = store.store / snapshot_id
    components = store._for_records(manifest, strict=True)
    problems = store._check(folder, manifest, components, deep=False)
    if problems:
        raise RefusedError(
            f"snapshot {snapshot_id} is corrupted: {problems[0]}",
            hint=f"nothing changed; `rollback snapshot verify {snapshot_id}` lists all problems",
        )
    for component in components:
        try:
            component.check_restore(folder / component.name)
        except RollbackError as exc:
            raise RefusedError(
                f"cannot restore {named(component.name, exc.message)}",
                hint=exc.hint or "nothing was changed",
            ) from exc
        except Exception as exc:
            raise RefusedError(
                f"cannot restore {component.name}: {type(exc).__name__}: {exc}",
                hint="nothing was changed",
            ) from exc

    safety_snap: Snapshot | None = None
    if safety:
        try:
            safety_snap = store._create(
                SAFETY_LABEL,
                commit=commit,
                branch=branch,
                progress=progress,
                safety_for=snapshot_id,
                components=[_twin(c, folder / c.name) for c in components],
            )
        except RollbackError as exc:
            raise OperationError(
                f"could not take the safety snapshot, so nothing was restored: {exc.message}",
                hint="fix that first; or restore with --no-safety-snapshot "
                "(the current data is then lost for good)",
            ) from exc

    for component in components:
        try:
            component.restore(folder / component.name, progress)
        except KeyboardInterrupt as exc:
            raise Interrupted(
                _failed(snapshot_id, component.name, "interrupted", safety_snap),
                hint=_way_back(safety_snap),
            ) from exc
        except Exception as exc:
            reason = (
                exc.message if isinstance(exc, RollbackError) else f"{type(exc).__name__}: {exc}"
            )
            raise OperationError(
                _failed(snapshot_id, component.name, reason, safety_snap),
                hint=_way_back(safety_snap),
            ) from exc
    return RestoreResult(snap, safety_snap, skipped_safety=not safety)


def _twin(component: Component, src: Path) -> Component:
    # the safety snapshot must hold exactly what the restore changes: for files, the
    # snapshot's paths (which may differ from today's settings), not the configured ones
    if isinstance(component, FilesComponent):
        return component.for_restore_of(src)
    return component


def _failed(snapshot_id: str, name: str, reason: str, safety: Snapshot | None) -> str:
    reason = reason.removeprefix(f"{name}: ")
    where = (
        f"safety snapshot {safety.id} holds the data from before"
        if safety
        else ("no safety snapshot was taken (--no-safety-snapshot)")
    )
    return f"restore of {snapshot_id} failed in {name}: {reason}; {where}"


def _way_back(safety: Snapshot | None) -> str:
    if safety is None:
        return "the data may be partly restored; restore a snapshot again to get a known state"
    return f"to get back to the state before this restore, run: {undo_command(safety.id)}"
