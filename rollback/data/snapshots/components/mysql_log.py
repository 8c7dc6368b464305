"""The MariaDB component's log: its position now (deploy marks) and the replay after a restore.

``session`` reads and checks the log before anything changes (every refusal is raised there);
``Session.apply`` runs after the snapshot is restored: the log from the snapshot's position
to the mark, whole; then, with ``keep_writes``, the writes after the mark to the tables the
release did not touch, each table checked first against the restored schema.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rollback.data.snapshots.base import Progress
from rollback.data.snapshots.components import binlog, binlog_replay
from rollback.data.snapshots.components.mysql import MySQLComponent, option_file
from rollback.data.snapshots.components.pipeline import feed
from rollback.data.snapshots.logreplay import ComponentReplay, TableOutcome
from rollback.errors import OperationError, RefusedError
from rollback.proc import ProcessError


def position(component: MySQLComponent) -> dict[str, str]:
    """The log position now (``SHOW MASTER STATUS`` and its GTIDs), or why there is none."""
    with option_file(component.url) as cnf:
        client = binlog.Client(cnf)
        try:
            why = binlog.logging_state(client)
            if why:
                return {"binlog": f"not recorded: {why}"}
            return binlog.current_position(client).details()
        except ProcessError as exc:
            return {"binlog": f"not recorded: {exc}"}


def _start(details: dict[str, str], what: str) -> binlog.LogPosition:
    found = binlog.LogPosition.from_details(details)
    if found is None:
        why = details.get("binlog", "").removeprefix("not recorded: ") or "none was recorded"
        raise RefusedError(f"the {what} has no binary log position: {why}")
    return found


class Session:
    """The log read and checked; ``apply`` replays it into the restored database."""

    def __init__(
        self, component: MySQLComponent, cnf: Path, prepared: binlog.Prepared, keep: bool
    ) -> None:
        self.component = component
        self.cnf = cnf
        self.prepared = prepared
        self.keep = keep and not prepared.plan.no_keep
        self.database = component.database
        if self.keep:
            binlog_replay.decide_rows(prepared.plan, self.database, {})

    def outcome(self) -> ComponentReplay:
        plan = self.prepared.plan
        tables = tuple(
            TableOutcome(name, r.kept, r.skipped, r.reason)
            for name, r in sorted(plan.tables.items())
        )
        return ComponentReplay(
            component=self.component.name,
            kind=self.component.kind,
            to_mark=len(plan.to_mark),
            after_mark=len(plan.after_mark),
            keep_writes=self.keep,
            tables=tables if self.keep else (),
            skipped_ddl=tuple(q[:200] for q in plan.skipped_ddl),
            note=plan.no_keep,
        )

    def apply(self, progress: Progress) -> ComponentReplay:
        plan = self.prepared.plan
        self._feed(binlog_replay.render_to_mark(plan, self.database), progress)
        if self.keep:
            unfit = binlog.unfit_tables(plan, self._columns())
            binlog_replay.decide_rows(plan, self.database, unfit)
            self._feed(binlog_replay.render_after(plan), progress)
        return self.outcome()

    def _columns(self) -> dict[str, list[tuple[str, int | None, int | None, int | None]]]:
        where = f"WHERE TABLE_SCHEMA = {binlog.literal(self.database)}"  # an escaped literal
        rows = binlog.Client(self.cnf).rows(
            "SELECT TABLE_NAME, DATA_TYPE, CHARACTER_OCTET_LENGTH, NUMERIC_PRECISION, "  # noqa: S608
            "NUMERIC_SCALE FROM information_schema.COLUMNS "
            + where
            + " ORDER BY TABLE_NAME, ORDINAL_POSITION"
        )
        out: dict[str, list[tuple[str, int | None, int | None, int | None]]] = {}
        for table, data_type, octets, precision, scale in rows:
            out.setdefault(table, []).append(
                (data_type.lower(), _int(octets), _int(precision), _int(scale))
            )
        return out

    def _feed(self, chunks: Iterator[bytes], progress: Progress) -> None:
        args = [binlog.Client(self.cnf).tool, f"--defaults-extra-file={self.cnf}", "--binary-mode"]
        args += ["--max-allowed-packet=1G", self.database]
        try:
            feed([args], chunks, tick=lambda n: progress(f"{self.component.name} log", n, None))
        except ProcessError as exc:
            raise OperationError(
                f"{self.component.name}: replaying the binary log failed: {exc}"
            ) from exc


def _int(text: str) -> int | None:
    return int(text) if text.isdigit() else None


@contextmanager
def session(
    component: MySQLComponent,
    snapshot: dict[str, str],
    mark: dict[str, str],
    *,
    keep_writes: bool,
) -> Iterator[Session]:
    """Read and check the log from the snapshot's position to now; refuse before any change."""
    start = _start(snapshot, "snapshot")
    at = _start(mark, "deploy mark")
    with option_file(component.url) as cnf:
        client = binlog.Client(cnf)
        ready = False
        try:
            with binlog.prepare(
                client, component.database, start=start, mark=at, keep_writes=keep_writes
            ) as prepared:
                ready = True
                yield Session(component, cnf, prepared, keep_writes)
        except ProcessError as exc:
            if ready:
                raise
            raise RefusedError(f"cannot read the binary log: {exc}") from exc
