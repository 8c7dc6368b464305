"""Magento Cloud snapshots, driven through the ``magento-cloud`` CLI.

Every call goes through ``rollback.proc.run`` with an argument list and ``-p PROJECT
-e ENVIRONMENT`` when configured. What we rely on comes from the two seed documents in
``shared/seeds`` (see docs/snapshots-magento-cloud.md): the table layouts, the create output,
the 7-day restore window, the restore-time figures, and that Pro Staging and Production
environments cannot be snapshotted. Output parsing lives in ``magento_cloud_output``.
"""

from __future__ import annotations

import builtins
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

from rollback import proc
from rollback.config import Config
from rollback.data.snapshots import magento_cloud_output as out
from rollback.data.snapshots.base import (
    Progress,
    RestoreResult,
    Snapshot,
    VerifyResult,
    no_progress,
)
from rollback.data.snapshots.magento_cloud_output import (
    estimate_restore_seconds,
    restore_estimate_text,
)
from rollback.data.snapshots.magento_cloud_settings import SECTION, DbDump, MagentoCloudSettings
from rollback.errors import OperationError, RefusedError, RollbackError, UsageError
from rollback.proc import ProcessError

__all__ = [
    "DbDump",
    "MagentoCloudProvider",
    "MagentoCloudSettings",
    "estimate_restore_seconds",
    "restore_estimate_text",
]

CSV_COLUMNS = ("created_at", "id", "restorable", "commit_id")
# Seeds: "You cannot snapshot Pro Staging or Production environments."
NO_SNAPSHOT = ("staging", "production")
INSTALL_HINT = (
    "install it (curl -sS https://accounts.magento.cloud/cli/installer | php) or set "
    "`executable` in [tool.rollback.magento-cloud]"
)
CANNOT_DOWNLOAD = "contents not checked: Magento Cloud snapshots cannot be downloaded"
_ID_RE = re.compile(r"^[^\s-]\S*$")


class MagentoCloudProvider:
    """The ``Provider`` for Magento Cloud: list, create, restore, verify (delete is refused)."""

    name = "magento-cloud"

    def __init__(
        self,
        settings: MagentoCloudSettings | None = None,
        *,
        notify: Callable[[str], None] | None = None,
        clock: Callable[[], datetime] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.settings = settings or MagentoCloudSettings()
        self.cwd = cwd  # without -p/-e the CLI reads the project and branch of this folder
        self._notify = notify or (lambda _line: None)
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        self._csv_ok: bool | None = None  # None: not tried yet; False: the CLI rejected it
        self._env_type: str | None = None
        self._env_type_known = False

    @classmethod
    def from_config(
        cls, config: Config, *, notify: Callable[[str], None] | None = None
    ) -> MagentoCloudProvider:
        """Build from ``[tool.rollback.magento-cloud]``; ``notify`` receives one-line notices."""
        settings = MagentoCloudSettings.from_section(
            config.section(SECTION), config.where_table(SECTION)
        )
        return cls(settings, notify=notify, cwd=config.root)

    # -- running the CLI -------------------------------------------------------------------

    def _target(self) -> builtins.list[str]:
        args: builtins.list[str] = []
        if self.settings.project:
            args += ["-p", self.settings.project]
        if self.settings.environment:
            args += ["-e", self.settings.environment]
        return args

    def _call(self, *args: str) -> proc.Completed:
        """Run the CLI; raise the raw ProcessError so callers can decide (e.g. fall back)."""
        exe = self.settings.executable
        if os.sep in exe and not os.path.isabs(exe) and self.cwd is not None:
            exe = str(self.cwd / exe)  # a relative path in the config is relative to the project
        if shutil.which(exe) is None:
            raise OperationError(
                f"{self.settings.executable} CLI not found; install it or fix PATH",
                hint=INSTALL_HINT,
            )
        # input="" gives the CLI a closed, non-terminal stdin: it never waits on a hidden prompt.
        return proc.run([exe, *args], cwd=self.cwd, input="")

    def _classify(self, error: ProcessError) -> RollbackError:
        return out.classify(
            error, project=self.settings.project, environment=self.settings.environment
        )

    def _run(self, *args: str) -> proc.Completed:
        try:
            return self._call(*args)
        except ProcessError as exc:
            raise self._classify(exc) from exc

    # -- listing ---------------------------------------------------------------------------

    def _listing(self) -> out.Listing:
        if self._csv_ok is not False:
            columns = ",".join(CSV_COLUMNS)
            try:
                done = self._call(
                    "snapshot:list",
                    "--format",
                    "csv",
                    "--no-header",
                    "-c",
                    columns,
                    *self._target(),
                )
                self._csv_ok = True
                listing = out.parse_csv(done.stdout, CSV_COLUMNS)
                if listing.environment_type:
                    self._env_type, self._env_type_known = listing.environment_type, True
                return listing
            except ProcessError as exc:
                if not out.rejects_option(exc):
                    raise self._classify(exc) from exc
                self._csv_ok = False  # an older CLI: read its human table from now on
        return self._table_listing()

    def _table_listing(self) -> out.Listing:
        done = self._run("snapshot:list", *self._target())
        listing = out.parse_table(done.stdout + "\n" + done.stderr)
        self._env_type, self._env_type_known = listing.environment_type, True
        return listing

    def list(self) -> builtins.list[Snapshot]:
        """Every snapshot of the environment, newest first."""
        now = self._clock()
        extra = {k: v for k, v in self._where().items() if v}
        snaps = [
            out.snapshot_from_row(
                row, retention_days=self.settings.retention_days, now=now, extra=extra
            )
            for row in self._listing().rows
        ]
        return sorted(snaps, key=lambda s: s.created_at, reverse=True)

    def _where(self) -> dict[str, str]:
        return {
            "project": self.settings.project or "",
            "environment": self.settings.environment or "",
        }

    def _describe(self) -> str:
        env = self.settings.environment or "the current environment"
        return f"{env} of project {self.settings.project}" if self.settings.project else env

    def _find(self, snapshot_id: str) -> Snapshot:
        if not _ID_RE.match(snapshot_id):
            raise UsageError(f"not a snapshot id: {snapshot_id!r}")
        for snap in self.list():
            # also accept the id as the 2018 table printed it ("abc.", see snapshot_from_row)
            if snapshot_id in (snap.id, snap.extra.get("listed_id")):
                return snap
        raise RefusedError(
            f"snapshot {snapshot_id} not found on {self._describe()}",
            hint="list them with `rollback snapshot list --provider magento-cloud`",
        )

    # -- refusals --------------------------------------------------------------------------

    def db_dump_command(self) -> DbDump:
        """The database dump command for this environment; nothing is run."""
        return DbDump(
            (
                self.settings.executable,
                "ssh",
                *self._target(),
                "--",
                "vendor/bin/ece-tools",
                "db-dump",
            )
        )

    def dump_database(self) -> DbDump:
        """Run ``vendor/bin/ece-tools db-dump`` on the environment through ``magento-cloud ssh``."""
        dump = self.db_dump_command()
        done = self._run(*dump.command[1:])
        found = re.findall(r"dump-[\w.:-]+?\.sql\.gz", done.stdout + "\n" + done.stderr)
        return replace(dump, output=done.stdout, dump_file=found[-1] if found else None)

    def _refusal(self, *, ask_cli: bool) -> str | None:
        s = self.settings
        if s.plan == "starter":
            return None  # seeds: snapshots are available for all Starter environments
        if s.environment_type in NO_SNAPSHOT:
            return f"{s.environment_type} (configured environment_type)"
        if s.plan == "pro" and (s.environment or "").lower() in NO_SNAPSHOT:
            return f"{s.environment} (Pro environment)"
        if s.environment_type or not ask_cli:
            return None
        if not self._env_type_known:
            self._table_listing()  # the 2023 preamble says "(type: ...)"
        if self._env_type in NO_SNAPSHOT:
            return f"{self._env_type} (type reported by magento-cloud snapshot:list)"
        return None

    def _refuse_unsupported(self, action: str, *, ask_cli: bool = True) -> None:
        why = self._refusal(ask_cli=ask_cli)
        if why is None:
            return
        dump = self.db_dump_command()
        raise RefusedError(
            f"cannot {action} {self._describe()}: Magento Cloud does not snapshot Pro Staging "
            f"or Production environments; this one is {why}",
            hint=f"take a database dump instead: {dump.text} ({'; '.join(dump.notes)})",
        )

    # -- the protocol ----------------------------------------------------------------------

    def create(
        self,
        label: str | None = None,
        *,
        live: bool = True,
        commit: str | None = None,
        branch: str | None = None,
        progress: Progress = no_progress,
    ) -> Snapshot:
        """``snapshot:create [--live]``, waiting for completion (the CLI's default)."""
        self._refuse_unsupported("snapshot")
        started = self._clock()
        progress("magento-cloud snapshot", 0, None)  # the CLI reports no byte counts
        args = ["snapshot:create", *(["--live"] if live else []), *self._target()]
        try:
            done = self._call(*args)
        except ProcessError as exc:
            if live and out.rejects_option(exc):
                raise OperationError(
                    "this magento-cloud CLI does not know --live (without it the environment "
                    "stops during the snapshot)",
                    hint="update the CLI: magento-cloud self:update",
                ) from exc
            raise self._classify(exc) from exc
        extra = {k: v for k, v in self._where().items() if v}
        snap_id = out.created_id(done.stdout + "\n" + done.stderr)
        if snap_id is None:  # the 2018 CLI prints no id: take the snapshot that just appeared
            recent = [s for s in self.list() if s.created_at >= started - timedelta(minutes=10)]
            if not recent:
                raise OperationError(
                    "magento-cloud snapshot:create printed no snapshot id and none is listed",
                    hint="check `magento-cloud snapshot:list` before relying on this snapshot",
                )
            snap_id, started = recent[0].id, recent[0].created_at
            extra["id_source"] = "newest listed snapshot"
        progress("magento-cloud snapshot", 1, 1)
        return Snapshot(
            id=snap_id,
            provider=self.name,
            created_at=started,
            label=label,
            commit=commit,
            branch=branch or self.settings.environment,
            expires_at=started + timedelta(days=self.settings.retention_days),
            extra=extra,
        )

    def restore(
        self, snapshot_id: str, *, safety: bool = True, progress: Progress = no_progress
    ) -> RestoreResult:
        """``snapshot:restore --yes -- <id>``, after checks, an estimate and a safety snapshot."""
        self._refuse_unsupported("restore", ask_cli=False)  # config alone: before any call
        target = self._find(snapshot_id)
        if not target.restorable or target.status != "complete":
            raise RefusedError(
                f"snapshot {target.id} is not restorable (status {target.status}, created "
                f"{target.created_at:%Y-%m-%d %H:%M %Z})",
                hint=f"Magento Cloud restores snapshots for {self.settings.retention_days} days "
                "only; pick a newer one",
            )
        self._refuse_unsupported("restore")
        estimate = restore_estimate_text(target.size_bytes)
        self._notify(estimate)
        safety_snap = None
        if safety:
            try:
                safety_snap = self.create(
                    f"safety before restoring {target.id}", live=True, progress=progress
                )
            except RollbackError as exc:
                kind = RefusedError if isinstance(exc, RefusedError) else OperationError
                raise kind(
                    f"safety snapshot failed, restore of {target.id} not started: {exc}",
                    hint=exc.hint,
                ) from exc
        seconds = estimate_restore_seconds(target.size_bytes)
        # The label carries the estimate too, for callers that show progress but no notices.
        label = "magento-cloud restore (" + (
            f"estimate: about {out.format_duration(seconds)})" if seconds else "time unknown)"
        )
        progress(label, 0, None)
        try:
            # --yes: we asked already; "--": the id is never read as an option.
            self._call("snapshot:restore", "--yes", *self._target(), "--", target.id)
        except ProcessError as exc:
            error = self._classify(exc)
            if safety_snap is not None:
                error.hint = (
                    (f"{error.hint}; " if error.hint else "")
                    + f"the data from before is in safety snapshot {safety_snap.id}: "
                    f"rollback snapshot restore --provider magento-cloud {safety_snap.id}"
                )
            raise error from exc
        progress(label, 1, 1)
        restored = replace(target, extra={**target.extra, "restore_estimate": estimate})
        return RestoreResult(restored, safety_snap, skipped_safety=not safety)

    def verify(self, snapshot_id: str) -> VerifyResult:
        """Listed, complete and restorable. The contents cannot be checked: no download."""
        try:
            snap = self._find(snapshot_id)
        except RefusedError as exc:
            return VerifyResult(snapshot_id, False, (str(exc), CANNOT_DOWNLOAD))
        problems: builtins.list[str] = []
        if snap.status != "complete":
            problems.append(f"status is {snap.status}, not complete")
        if not snap.restorable:
            problems.append(
                f"not restorable any more (the platform keeps snapshots restorable for "
                f"{self.settings.retention_days} days)"
            )
        if problems:
            problems.append(CANNOT_DOWNLOAD)
        return VerifyResult(snapshot_id, not problems, tuple(problems))

    def delete(self, snapshot_id: str) -> None:
        """Refused: the seeds document no delete; snapshots expire on the platform."""
        raise UsageError(
            f"cannot delete magento-cloud snapshot {snapshot_id} from rollback: snapshots "
            "expire on the platform",
            hint=f"Magento Cloud keeps them restorable for {self.settings.retention_days} days; "
            "use the Project Web Interface to manage them",
        )
