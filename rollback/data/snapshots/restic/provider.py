"""The ``restic`` provider: one rollback snapshot = one set of restic snapshots.

Each component is its own restic snapshot, tagged ``rollback``, ``rollback-id=<id>`` and
``rollback-part=<component>``: the folders as a file tree (``restic backup PATHS``, so the
next snapshot reads only changed files and stores only new chunks), each database or Redis
as the raw stream of the same dump commands the local store runs (``backup --stdin``). The
manifest (the local store's format) comes last, as ``rollback-manifest.json`` in a part
tagged ``rollback-part=manifest`` that also carries the label, commit, branch and sizes as
tags, so ``list`` is one ``restic snapshots`` call. A set without its manifest is an
interrupted create: never listed, removed by ``prune``.

Restores go through the local store's ``run_restore`` (refusals first, safety snapshot,
then the components; failures say which safety snapshot puts the data back).
"""

from __future__ import annotations

import builtins
import json
import os
import socket
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta, timezone
from pathlib import Path

from rollback import __version__
from rollback.config import Config
from rollback.data.snapshots.base import (
    Progress,
    RestoreResult,
    Snapshot,
    VerifyResult,
    no_progress,
)
from rollback.data.snapshots.components.base import Component, named
from rollback.data.snapshots.lock import store_lock
from rollback.data.snapshots.manifest import Manifest, ManifestError, check_id, new_id
from rollback.data.snapshots.restic.create import backup, write_manifest
from rollback.data.snapshots.restic.driver import Restic
from rollback.data.snapshots.restic.parts import MANIFEST_FILE, FilesPart, StreamPart
from rollback.data.snapshots.restic.sets import TAG, SnapshotSet, as_int, parse_sets
from rollback.data.snapshots.restic.settings import ResticSettings
from rollback.errors import RefusedError, RollbackError, UsageError

GITIGNORE = "# rollback's lock for the restic provider; never belongs in git\n*\n"
REUSE_S = 10.0  # how long one provider reuses its own listing (one command, one run step)
LAST_ID = "last-id"
STALE = timedelta(days=1)  # an incomplete set of another host is left alone this long


class ResticProvider:
    """The ``Provider`` backed by a restic repository (a path, REST, S3, SFTP, ...)."""

    name = "restic"

    def __init__(
        self,
        settings: ResticSettings,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.restic_settings = settings
        self.settings = settings.data  # paths, services, retention (the run_restore Store)
        self.store = settings.data.store  # our lock folder
        self._now = clock or (lambda: datetime.now(timezone.utc))
        self._components: list[Component] | None = None
        self._sets: dict[str, SnapshotSet] | None = None
        self._listed_at = 0.0  # time.monotonic() of the last listing
        self.restic = Restic(
            settings.executable,
            settings.repository,
            settings.safe_repository,
            _password_env(settings),
            cwd=settings.data.root,
        )

    @classmethod
    def from_config(cls, config: Config) -> ResticProvider:
        """The provider configured by ``[tool.rollback.restic]`` of ``config``."""
        from rollback.data.snapshots.restic.settings import parse_restic

        return cls(parse_restic(config))

    @property
    def components(self) -> list[Component]:
        """The components of the current settings (built on first use)."""
        if self._components is None:
            from rollback.data.snapshots.components.build import build_components

            self._components = build_components(self.settings)
        return self._components

    # --- reading ------------------------------------------------------------------------

    def snapshot_sets(self, *, reuse: bool = False) -> dict[str, SnapshotSet]:
        """Every rollback set in the repository, complete or not (one ``restic snapshots``).

        ``reuse``: the listing this provider made in the last few seconds, if any. Each restic
        process pays the repository's key derivation (~0.5 s): a restore that lists to check
        its id, reads the manifest and takes a safety snapshot lists once, not three times.
        """
        if reuse and self._sets is not None and time.monotonic() - self._listed_at < REUSE_S:
            return self._sets
        found = parse_sets(self.restic.json_document(["snapshots", "--tag", TAG]))
        self._listed_at = time.monotonic()
        self._sets = found
        return found

    def list(self) -> builtins.list[Snapshot]:
        """Complete snapshot sets, newest first."""
        snaps = [self._from_tags(s) for s in self.snapshot_sets().values() if s.manifest]
        return sorted(snaps, key=lambda s: (s.created_at, s.id), reverse=True)

    def get(self, snapshot_id: str) -> Snapshot:
        """The ``Snapshot`` of ``snapshot_id``; UsageError when there is none."""
        return self._from_tags(self._set(snapshot_id))

    def _set(self, snapshot_id: str) -> SnapshotSet:
        found = self.snapshot_sets(reuse=True).get(check_id(snapshot_id))
        if found is None:
            raise UsageError(
                f"no snapshot {snapshot_id} in restic repository {self.restic.safe}",
                hint="see `rollback snapshot list` for the snapshots you can use",
            )
        if found.manifest is None:
            raise RefusedError(
                f"snapshot {snapshot_id} is incomplete (its create was interrupted)",
                hint="`rollback snapshot prune` removes it",
            )
        return found

    def _from_tags(self, snap_set: SnapshotSet) -> Snapshot:
        assert snap_set.manifest is not None
        tags = snap_set.manifest.tags
        components = tuple(c for c in tags.get("rollback-components", "").split("+") if c)
        missing = [c for c in components if c not in snap_set.parts]
        return self._value(
            snap_set.id,
            snap_set.manifest.time,
            label=tags.get("rollback-label"),
            commit=tags.get("rollback-commit"),
            branch=tags.get("rollback-branch"),
            safety_for=tags.get("rollback-safety-for"),
            components=components,
            size=as_int(tags.get("rollback-size")),
            added=as_int(tags.get("rollback-added")),
            status=f"damaged: {', '.join(missing)} missing" if missing else "complete",
        )

    def _value(
        self,
        sid: str,
        created: datetime,
        *,
        label: str | None,
        commit: str | None,
        branch: str | None,
        safety_for: str | None,
        components: tuple[str, ...],
        size: int | None,
        added: int | None,
        status: str = "complete",
    ) -> Snapshot:
        expires = created + timedelta(days=self.settings.retention_days)
        extra = {"repository": self.restic.safe}
        if safety_for:
            extra["safety_for"] = safety_for
        return Snapshot(
            id=sid,
            provider=self.name,
            created_at=created,
            label=label,
            commit=commit,
            branch=branch,
            restorable=status == "complete" and self._now() < expires,
            expires_at=expires,
            size_bytes=size,
            components=components,
            status=status,
            extra=extra,
            added_bytes=added,
        )

    def manifest(self, snapshot_id: str) -> Manifest:
        """The manifest of ``snapshot_id``, read from the repository."""
        snap_set = self._set(snapshot_id)
        assert snap_set.manifest is not None
        with self.restic.dump(snap_set.manifest.restic_id, "/" + MANIFEST_FILE) as chunks:
            text = b"".join(chunks)
        try:
            manifest = Manifest.from_dict(json.loads(text))
            if manifest.id != snapshot_id:
                raise ManifestError(f"it records the id {manifest.id}")
        except (ValueError, ManifestError) as exc:
            raise RefusedError(f"snapshot {snapshot_id} is damaged: {exc}") from exc
        return manifest

    def _snapshot(self, m: Manifest) -> Snapshot:
        added = sum(as_int(c.details.get("added_bytes")) or 0 for c in m.components)
        return self._value(
            m.id,
            m.created_at,
            label=m.label,
            commit=m.commit,
            branch=m.branch,
            safety_for=m.safety_for,
            components=tuple(c.name for c in m.components),
            size=sum(c.raw_bytes for c in m.components),
            added=added,
        )

    # --- create -------------------------------------------------------------------------

    def create(
        self,
        label: str | None = None,
        *,
        live: bool = True,
        commit: str | None = None,
        branch: str | None = None,
        progress: Progress = no_progress,
    ) -> Snapshot:
        """Take a snapshot of every configured component now, into the repository."""
        with self._lock():
            return self._create(label, commit=commit, branch=branch, progress=progress)

    def _last_id(self) -> str:
        try:
            return (self.store / LAST_ID).read_text().strip()
        except OSError:
            return ""

    def _lock(self) -> AbstractContextManager[Path]:
        self.store.mkdir(parents=True, exist_ok=True)
        ignore = self.store / ".gitignore"
        if not ignore.exists():
            ignore.write_text(GITIGNORE)
        return store_lock(self.store)

    def _create(
        self,
        label: str | None,
        *,
        commit: str | None,
        branch: str | None,
        progress: Progress,
        safety_for: str | None = None,
        components: Sequence[Component] | None = None,
    ) -> Snapshot:
        chosen = [_live(c) for c in (self.components if components is None else components)]
        if not chosen:
            raise UsageError(
                "nothing to snapshot: no paths exist and no services are configured",
                hint="set paths or services in [tool.rollback.restic]; see docs/config.md",
            )
        now = self._now().astimezone(timezone.utc).replace(microsecond=0)
        # no listing for the id: ids differ by second and label, creates from this project
        # are serialised by our lock, and the last id it made is kept beside the lock
        taken = set(self._sets or ()) | {self._last_id()}
        sid = new_id(now, label, taken)
        when = now.strftime("%Y-%m-%d %H:%M:%S")  # UTC: restic runs with TZ=UTC
        written: list[str] = []
        self._sets = None  # the repository changes: the next question lists it again
        try:
            records = []
            for component in chosen:
                record = backup(self.restic, component, sid, when, progress)
                written.append(record.details["restic_snapshot"])
                records.append(record)
            manifest = Manifest(
                id=sid,
                created_at=now,
                components=tuple(records),
                label=label,
                commit=commit,
                branch=branch,
                tool_version=__version__,
                safety_for=safety_for,
            )
            (self.store / LAST_ID).write_text(sid + "\n")  # before: a failure here keeps nothing
            write_manifest(self.restic, manifest, when)
        except BaseException as exc:
            self._forget_quietly(written)
            untouched = "no snapshot was created; existing snapshots are untouched"
            if isinstance(exc, RollbackError) and exc.hint is None:
                exc.hint = untouched
            raise
        return self._snapshot(manifest)

    def _forget_quietly(self, restic_ids: builtins.list[str]) -> None:
        ids = [i for i in restic_ids if i]
        if ids:
            try:
                self.restic.run(["forget", *ids])
            except (RollbackError, KeyboardInterrupt):
                return  # `rollback snapshot prune` removes the incomplete set later

    # --- verify -------------------------------------------------------------------------

    def verify(self, snapshot_id: str) -> VerifyResult:
        """``restic check --read-data-subset``, then each component's own check, reading its
        whole stream (restic checks every chunk it reads against its hash)."""
        manifest = self.manifest(snapshot_id)
        problems = self._check(self.store / snapshot_id, manifest, None)
        return VerifyResult(snapshot_id, not problems, tuple(problems))

    def _check(
        self,
        folder: Path,
        manifest: Manifest,
        components: Sequence[Component] | None,
        *,
        deep: bool = True,
    ) -> builtins.list[str]:
        snap_set = self._set(manifest.id)
        problems = [
            f"{r.name}: its restic snapshot is missing from the repository"
            for r in manifest.components
            if r.details.get("restic_snapshot") and r.name not in snap_set.parts
        ]
        if problems or not deep:
            return problems
        from rollback.proc import ProcessError

        subset = self.restic_settings.check_subset
        try:
            self.restic.run(["check", "--read-data-subset", subset])
        except ProcessError as exc:
            problems.append(f"restic check --read-data-subset {subset}: {exc.message}")
        for part in components or self._for_records(manifest, strict=False):
            problems += [named(part.name, p) for p in part.verify(folder / part.name)]
        return problems

    def _for_records(self, manifest: Manifest, *, strict: bool) -> builtins.list[Component]:
        """The stored components, bound to their restic snapshots and configured services."""
        snap_set = self._set(manifest.id)
        by_name = {c.name: c for c in self.components}
        matched: list[Component] = []
        for record in manifest.components:
            part = snap_set.parts.get(record.name)
            restic_id = part.restic_id if part else None
            if record.details.get("restic_snapshot") and restic_id is None:
                if strict:
                    raise RefusedError(
                        f"snapshot {manifest.id}: the restic snapshot of {record.name} is "
                        "missing from the repository",
                        hint=f"`rollback snapshot verify {manifest.id}` lists all problems",
                    )
                continue
            if record.kind == "files":
                matched.append(
                    FilesPart(
                        self.settings.root, self.restic, restic_id, record.details, record.raw_bytes
                    )
                )
                continue
            component = by_name.get(record.name)
            if component is None or component.kind != record.kind or restic_id is None:
                if strict:
                    raise RefusedError(
                        f"snapshot {manifest.id} holds {record.kind} data "
                        f"({record.describe}) that no configured service matches",
                        hint=f"add a {record.kind} service named {record.name!r} "
                        "to [tool.rollback.restic] services",
                    )
                continue
            stream = component  # a configured service of the same kind streams the same way
            matched.append(StreamPart(stream, self.restic, restic_id, record.details))  # type: ignore[arg-type]
        return matched

    # --- restore, delete, prune -----------------------------------------------------------

    def restore(
        self,
        snapshot_id: str,
        *,
        safety: bool = True,
        progress: Progress = no_progress,
        commit: str | None = None,
        branch: str | None = None,
    ) -> RestoreResult:
        """Restore ``snapshot_id`` after taking a safety snapshot (unless ``safety=False``)."""
        from rollback.data.snapshots.restore import run_restore

        with self._lock():
            return run_restore(
                self, snapshot_id, safety=safety, progress=progress, commit=commit, branch=branch
            )

    def delete(self, snapshot_id: str) -> None:
        """Forget every restic snapshot of the set and prune the data only it used."""
        with self._lock():
            snap_set = self.snapshot_sets().get(check_id(snapshot_id))
            if snap_set is None:
                raise UsageError(
                    f"no snapshot {snapshot_id} in restic repository {self.restic.safe}"
                )
            self._sets = None
            self.restic.run(["forget", "--prune", *snap_set.ids()])

    def prune(self) -> builtins.list[str]:
        """Forget expired sets and interrupted creates, then prune the repository.

        The retention is ours (``retention_days`` from each set's creation time), not
        ``forget --keep-within``, which counts from the newest snapshot instead of now.
        """
        removed: list[str] = []
        doomed: list[str] = []
        host = socket.gethostname()
        with self._lock():
            now = self._now()
            for snap_set in sorted(self.snapshot_sets().values(), key=lambda s: s.id):
                if snap_set.manifest is None:
                    newest = max(p.time for p in snap_set.parts.values())
                    mine = all(p.host == host for p in snap_set.parts.values())
                    if mine or now - newest > STALE:  # we hold the lock: no create of ours runs
                        removed.append(f"{snap_set.id} (incomplete)")
                        doomed += snap_set.ids()
                elif not self._from_tags(snap_set).restorable:
                    removed.append(snap_set.id)
                    doomed += snap_set.ids()
            if doomed:
                self._sets = None
                self.restic.run(["forget", "--prune", *doomed])
        return removed


def _password_env(settings: ResticSettings) -> dict[str, str]:
    if settings.password_command:
        return {"RESTIC_PASSWORD_COMMAND": settings.password_command}
    name = settings.password_env or "RESTIC_PASSWORD"
    value = os.environ.get(name)
    if value is None:
        raise UsageError(
            f"the restic password is not set: environment variable {name} is empty",
            hint="export it, or set password_env or password_command in [tool.rollback.restic]",
        )
    return {"RESTIC_PASSWORD": value}


def _live(component: Component) -> Component:
    """The component to snapshot: a stored part (safety snapshot of a restore) streams from
    the configured service it restores into."""
    return component.component if isinstance(component, StreamPart) else component
